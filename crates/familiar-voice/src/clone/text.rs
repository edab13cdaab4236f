//! Text for MetaVoice: its normalisation (typographic punctuation to ASCII,
//! whitespace collapsed) and its tiktoken-style BPE of 512 tokens, read from
//! `first_stage.meta.json` and checked so that every id it can produce fits the
//! first stage's vocabulary (a hostile file cannot make ids overflow).

use std::path::Path;

use candle_transformers::models::metavoice::tokenizers::BPE;

use super::CloneError;

/// The end-of-text token of MetaVoice's BPE, before the offset.
const END_OF_TEXT: u64 = 512;

/// The tokenizer of the first stage.
pub(crate) struct Tokenizer {
    bpe: BPE,
}

impl Tokenizer {
    /// Reads `first_stage.meta.json`: `{"tokenizer": {"pat_str", "mergeable_ranks", "offset", …}}`.
    /// `vocab` is the first stage's vocabulary size.
    pub(crate) fn load(path: &Path, vocab: usize) -> Result<Tokenizer, CloneError> {
        let file = path.display().to_string();
        let bad = |reason: String| CloneError::BadFile { file: file.clone(), reason };
        let bytes = std::fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CloneError::NotInstalled(file.clone())
            } else {
                bad(e.to_string())
            }
        })?;
        let meta: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let tokenizer = meta.get("tokenizer").ok_or_else(|| bad("no \"tokenizer\" object".into()))?;
        let offset = tokenizer
            .get("offset")
            .and_then(|o| o.as_u64())
            .ok_or_else(|| bad("tokenizer.offset is not a non-negative integer".into()))?;
        let end_of_text = tokenizer
            .get("special_tokens")
            .and_then(|s| s.get("<|endoftext|>"))
            .and_then(|v| v.as_u64())
            .unwrap_or(END_OF_TEXT);
        let ranks = tokenizer
            .get("mergeable_ranks")
            .and_then(|r| r.as_object())
            .ok_or_else(|| bad("tokenizer.mergeable_ranks is not an object".into()))?;
        let mut largest = end_of_text.max(255);
        for (piece, rank) in ranks {
            let rank = rank.as_u64().ok_or_else(|| bad(format!("the rank of {piece:?} is not an integer")))?;
            largest = largest.max(rank);
        }
        if offset.saturating_add(largest) >= vocab as u64 {
            return Err(bad(format!(
                "ids up to {} do not fit the first stage's vocabulary of {vocab}",
                offset.saturating_add(largest)
            )));
        }
        let bpe = BPE::from_json(tokenizer, end_of_text as usize).map_err(|e| bad(e.to_string()))?;
        Ok(Tokenizer { bpe })
    }

    /// The ids of `text` (already normalised), ending with the end-of-text id.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>, CloneError> {
        self.bpe.encode(text).map_err(|source| CloneError::Model { context: "tokenizing".into(), source })
    }
}

/// MetaVoice's text normalisation: typographic quotes, dashes and ellipses to
/// ASCII, tabs, newlines and `*` to spaces, runs of spaces to one. MetaVoice
/// refuses characters beyond Latin-1; a spoken reply drops them instead (emoji).
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let replacement = match c {
            '\u{1FEF}' | '\u{1FFD}' | '\u{1FFE}' | '\u{2018}' | '\u{2019}' | '\u{2032}' | '\u{2035}' | '\u{00B4}' => {
                "'"
            }
            '\u{2010}'..='\u{2015}' => "-",
            '\u{2016}' => "||",
            '\u{201A}' => ",",
            '\u{201B}' => "`",
            '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' | '\u{2036}' => "\"",
            '\u{201E}' => ",,",
            '\u{2024}' => ".",
            '\u{2025}' => "..",
            '\u{2026}' => "...",
            '\u{2122}' => "TM",
            '\t' | '\n' | '\r' | '*' => " ",
            c if (c as u32) < 256 => {
                out.push(c);
                continue;
            }
            _ => continue,
        };
        out.push_str(replacement);
    }
    out.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// MetaVoice supports utterances of up to 220 characters (`sample_utterance`).
pub(crate) const MAX_CHARS: usize = 220;

/// A normalised sentence in pieces of at most [`MAX_CHARS`] characters, each cut
/// after the last clause mark (`,` `;` `:`) before the limit, else at the last space.
pub(crate) fn pieces(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sentence.trim();
    while let Some((limit, _)) = rest.char_indices().nth(MAX_CHARS) {
        let head = &rest[..limit];
        let cut =
            head.rfind([',', ';', ':']).map(|i| i + 1).or_else(|| head.rfind(' ')).filter(|&i| i > 0).unwrap_or(limit);
        out.push(rest[..cut].trim().to_owned());
        rest = rest[cut..].trim();
    }
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// A small but valid `first_stage.meta.json` for the tiny models: GPT-2's
/// pre-tokenizer pattern, the 256 byte tokens, a few merges, end of text 512.
pub(crate) fn tiny_meta(offset: u64) -> serde_json::Value {
    let merges = ["th", "he", "e ", " t", "in", "er", "an", "the", " the", "ou", "re", "on", "is", "s ", "ll"];
    let mut ranks = serde_json::Map::new();
    for b in 0u8..=255 {
        if b.is_ascii_graphic() || b == b' ' {
            ranks.insert((b as char).to_string(), serde_json::json!(b));
        }
    }
    for (i, merge) in merges.iter().enumerate() {
        ranks.insert((*merge).to_owned(), serde_json::json!(256 + i));
    }
    serde_json::json!({
        "tokenizer": {
            "name": "tiny",
            "pat_str": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
            "mergeable_ranks": ranks,
            "special_tokens": {"<|endoftext|>": END_OF_TEXT},
            "offset": offset,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_metavoice() {
        assert_eq!(normalize("\u{201C}Hi\u{201D} \u{2014} it\u{2019}s  *me*\u{2026}\n"), "\"Hi\" - it's me ...");
        assert_eq!(normalize("caf\u{e9} \u{1F600} ok"), "caf\u{e9} ok");
    }

    #[test]
    fn long_sentences_are_cut_at_clauses_then_spaces() {
        assert_eq!(pieces("Short enough."), vec!["Short enough."]);
        let clause = format!("{}, and then {}", "word ".repeat(30).trim(), "more ".repeat(20).trim());
        let cut = pieces(&clause);
        assert_eq!(cut.len(), 2);
        assert!(cut[0].ends_with(',') && cut[1].starts_with("and then"), "{cut:?}");
        let spaces = "\u{e9}t\u{e9} ".repeat(100);
        let cut = pieces(&spaces);
        assert!(cut.iter().all(|p| p.chars().count() <= MAX_CHARS && !p.starts_with(' ')), "{cut:?}");
        assert_eq!(cut.concat().replace(' ', ""), spaces.replace(' ', ""));
        let unbroken = "x".repeat(500);
        assert_eq!(pieces(&unbroken).iter().map(|p| p.len()).collect::<Vec<_>>(), vec![220, 220, 60]);
    }
}
