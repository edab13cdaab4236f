//! Chunking: each section of a document is cut into pieces of at most
//! `max_tokens` of the embedding model's own tokens, with `overlap` tokens
//! shared between neighbours, along the text's structure (Markdown headings,
//! paragraphs, code blocks; then sentences, then words) by `text-splitter`.
//! A chunk never spans two pages or two sections, so its location is exact.

use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::extract::Extracted;

/// Sizes text in the embedding model's tokens (without special tokens).
///
/// The splitter measures many overlapping candidates, so a BERT-style
/// tokenizer (whose pre-tokenizer splits at whitespace first, so a text's
/// count is the sum of its words' counts) is measured word by word through a
/// cache; other tokenizers encode the whole candidate.
pub struct TokenSizer<'a> {
    tokenizer: &'a tokenizers::Tokenizer,
    words: Option<std::cell::RefCell<std::collections::HashMap<String, usize>>>,
}

impl<'a> TokenSizer<'a> {
    pub fn new(tokenizer: &'a tokenizers::Tokenizer) -> TokenSizer<'a> {
        use tokenizers::PreTokenizerWrapper;
        let by_word = matches!(tokenizer.get_pre_tokenizer(), Some(PreTokenizerWrapper::BertPreTokenizer(_)));
        TokenSizer { tokenizer, words: by_word.then(Default::default) }
    }

    fn encode(&self, text: &str) -> usize {
        self.tokenizer.encode_fast(text, false).map(|e| e.len()).unwrap_or_else(|_| text.len().div_ceil(4))
    }

    pub fn count(&self, text: &str) -> usize {
        let Some(words) = &self.words else { return self.encode(text) };
        let mut cache = words.borrow_mut();
        text.split_whitespace()
            .map(|w| match cache.get(w) {
                Some(&n) => n,
                None => {
                    let n = self.encode(w);
                    cache.insert(w.to_owned(), n);
                    n
                }
            })
            .sum()
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
    let sizer = TokenSizer::new(tokenizer);
    let config = || {
        ChunkConfig::new(max_tokens)
            .with_sizer(TokenSizer::new(tokenizer))
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

#[cfg(test)]
mod tests {
    #[test]
    fn counting_word_by_word_agrees_with_the_tokenizer() {
        let path = crate::models::bundled_embedding_dir().expect("run scripts/fetch-models.sh").join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(path).unwrap();
        // As the embedding engine hands it out: no padding, no truncation.
        tokenizer.with_padding(None).with_truncation(None).unwrap();
        let sizer = super::TokenSizer::new(&tokenizer);
        assert!(sizer.words.is_some(), "MiniLM's tokenizer is BERT-style");
        for text in
            ["Hello, world!", "Café déjà-vu: naïve (résumé) x86_64 foo.bar", "東京は 日本の首都", "  a\tb\n\nc  ", ""]
        {
            let whole = tokenizer.encode_fast(text, false).unwrap().len();
            assert_eq!(sizer.count(text), whole, "{text:?}");
            assert_eq!(sizer.count(text), whole, "{text:?} (cached)");
        }
    }
}
