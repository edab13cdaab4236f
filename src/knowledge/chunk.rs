//! Chunking: each section of a document is cut into pieces of at most
//! `max_tokens` of the embedding model's own tokens, with `overlap` tokens
//! shared between neighbours, along the text's structure (Markdown headings,
//! paragraphs, code blocks; then sentences, then words) by `text-splitter`.
//! A chunk never spans two pages or two sections, so its location is exact.

use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::extract::Extracted;

/// Sizes text in the embedding model's tokens (without special tokens).
pub struct TokenSizer<'a>(pub &'a tokenizers::Tokenizer);

impl TokenSizer<'_> {
    pub fn count(&self, text: &str) -> usize {
        self.0.encode_fast(text, false).map(|e| e.len()).unwrap_or_else(|_| text.len().div_ceil(4))
    }
}

impl ChunkSizer for TokenSizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        self.count(chunk)
    }
}

/// One chunk of a document, ready to embed.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub page: Option<u32>,
    pub section: Option<String>,
    pub text: String,
    pub tokens: usize,
}

impl Piece {
    /// What is embedded and indexed: the section's heading gives a chunk its context.
    pub fn embedding_text(&self) -> String {
        match &self.section {
            Some(section) if !self.text.starts_with(section.rsplit(" › ").next().unwrap_or(section)) => {
                format!("{section}\n{}", self.text)
            }
            _ => self.text.clone(),
        }
    }
}

/// Cuts a document into pieces.
pub fn split(doc: &Extracted, tokenizer: &tokenizers::Tokenizer, max_tokens: usize, overlap: usize) -> Vec<Piece> {
    let sizer = TokenSizer(tokenizer);
    let config = || {
        ChunkConfig::new(max_tokens)
            .with_sizer(TokenSizer(tokenizer))
            .with_overlap(overlap.min(max_tokens.saturating_sub(1)))
            .expect("overlap below capacity")
    };
    let (text_splitter, markdown_splitter) = (TextSplitter::new(config()), MarkdownSplitter::new(config()));
    let mut pieces = Vec::new();
    for section in &doc.sections {
        let chunks: Vec<&str> = if section.markdown {
            markdown_splitter.chunks(&section.text).collect()
        } else {
            text_splitter.chunks(&section.text).collect()
        };
        for chunk in chunks {
            let text = chunk.trim();
            if text.is_empty() {
                continue;
            }
            pieces.push(Piece {
                page: section.page,
                section: section.heading.clone(),
                text: text.to_owned(),
                tokens: sizer.count(text),
            });
        }
    }
    pieces
}
