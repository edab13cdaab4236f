//! Tokenizers built from a GGUF file's own `tokenizer.ggml.*` metadata, so any
//! GGUF from LM Studio or Ollama works without a `tokenizer.json`.
//!
//! Two vocabularies, as llama.cpp implements them (its token ids are the
//! reference; the parity test checks them against llama-cpp-python):
//! - `gpt2`: byte-level BPE. Text is split by the pre-tokenizer regexes named by
//!   `tokenizer.ggml.pre`, each piece mapped to byte-level characters, then merged
//!   by merge rank.
//! - `llama`: SentencePiece. Spaces become `▁`, symbols merge by vocabulary
//!   score, and unknown pieces fall back to `<0xXX>` byte tokens.
//!
//! Special tokens (control and user-defined) are matched in the text first,
//! longest first; control tokens only when asked to (`parse_special`).

use std::collections::{BinaryHeap, HashMap};

use candle_core::quantized::gguf_file::{Content, Value};
use fancy_regex::Regex;

use crate::InferError;

/// Token type codes of `tokenizer.ggml.token_type`.
mod kind {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const BYTE: i32 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Bpe,
    Spm,
}

/// What a tokenizer is built from, whichever file it came from.
struct Vocab {
    model: Model,
    tokens: Vec<String>,
    types: Vec<i32>,
    scores: Vec<f32>,
    merges: Vec<(String, String)>,
    patterns: Vec<String>,
    ignore_merges: bool,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    add_bos: Option<bool>,
    add_space_prefix: Option<bool>,
}

/// A tokenizer for one model.
pub struct Tokenizer {
    model: Model,
    tokens: Vec<String>,
    types: Vec<i32>,
    scores: Vec<f32>,
    ids: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    regexes: Vec<Regex>,
    /// Special tokens, longest first, with whether they are control tokens.
    specials: Vec<(String, u32, bool)>,
    byte_tokens: [Option<u32>; 256],
    byte_encoder: [char; 256],
    byte_decoder: HashMap<char, u8>,
    ignore_merges: bool,
    add_space_prefix: bool,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    /// End-of-generation tokens: `eos`, `eot` and the ones named like it.
    pub stop_tokens: Vec<u32>,
    pub add_bos: bool,
}

fn md<'a>(content: &'a Content, key: &str) -> Option<&'a Value> {
    content.metadata.get(key)
}

fn md_u32(content: &Content, key: &str) -> Option<u32> {
    md(content, key).and_then(|v| v.to_u32().ok().or_else(|| v.to_i32().ok().map(|i| i as u32)))
}

/// The regexes llama.cpp applies for each `tokenizer.ggml.pre` value.
fn pre_regexes(pre: &str) -> (Vec<&'static str>, bool) {
    const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    match pre {
        "llama3" | "llama-v3" | "llama-bpe" | "dbrx" | "smaug-bpe" | "chatglm-bpe" => (vec![LLAMA3], true),
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b" => {
            (vec![r"\p{N}", GPT2], false)
        }
        "gpt-2" | "gpt2" | "mpt" | "olmo" | "jais" | "trillion" => (vec![GPT2], false),
        "qwen2" | "stablelm2" | "hunyuan" => (vec![QWEN2], false),
        "falcon" => (vec![r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"], false),
        _ => (vec![r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"], false),
    }
}

/// GPT-2's map from bytes to printable characters.
fn byte_encoder() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        map[b as usize] = if printable {
            char::from_u32(b).unwrap_or('?')
        } else {
            n += 1;
            char::from_u32(255 + n).unwrap_or('?')
        };
    }
    map
}

/// Splits `text` by `re`, keeping both the matches and the text between them.
fn split_keep(text: &str, re: &Regex) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut at = 0;
    while at <= text.len() {
        let Ok(Some(m)) = re.find_from_pos(text, at) else { break };
        if m.start() > last {
            out.push((last, m.start()));
        }
        if m.end() > m.start() {
            out.push((m.start(), m.end()));
            last = m.end();
            at = m.end();
        } else {
            // An empty match: step over one character.
            at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if last < text.len() {
        out.push((last, text.len()));
    }
    out
}

impl Tokenizer {
    /// Builds the tokenizer described by a GGUF file's metadata.
    pub fn from_gguf(content: &Content) -> Result<Tokenizer, InferError> {
        let missing = |k: &str| InferError::Model(format!("the model file has no `{k}`; it needs a tokenizer"));
        let model_name = md(content, "tokenizer.ggml.model")
            .and_then(|v| v.to_string().ok())
            .ok_or_else(|| missing("tokenizer.ggml.model"))?;
        let model = match model_name.as_str() {
            "gpt2" => Model::Bpe,
            "llama" => Model::Spm,
            other => {
                return Err(InferError::Unsupported(format!(
                    "tokenizer `{other}` (supported: gpt2-style BPE and llama-style SentencePiece)"
                )));
            }
        };
        let tokens: Vec<String> = md(content, "tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .ok_or_else(|| missing("tokenizer.ggml.tokens"))?
            .iter()
            .map(|v| v.to_string().cloned().unwrap_or_default())
            .collect();
        let types: Vec<i32> = match md(content, "tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok()) {
            Some(values) => values.iter().map(|v| v.to_i32().unwrap_or(kind::NORMAL)).collect(),
            None => vec![kind::NORMAL; tokens.len()],
        };
        let scores: Vec<f32> = match md(content, "tokenizer.ggml.scores").and_then(|v| v.to_vec().ok()) {
            Some(values) => values.iter().map(|v| v.to_f32().unwrap_or(0.0)).collect(),
            None => vec![0.0; tokens.len()],
        };
        if types.len() != tokens.len() || scores.len() != tokens.len() {
            return Err(InferError::Model("the tokenizer's token, type and score lists differ in length".into()));
        }
        let mut merges = Vec::new();
        if model == Model::Bpe {
            let list = md(content, "tokenizer.ggml.merges")
                .and_then(|v| v.to_vec().ok())
                .ok_or_else(|| missing("tokenizer.ggml.merges"))?;
            for merge in list {
                let merge = merge.to_string().map_err(|_| InferError::Model("a BPE merge is not a string".into()))?;
                if let Some((a, b)) = merge.split_once(' ') {
                    merges.push((a.to_owned(), b.to_owned()));
                }
            }
        }
        let pre = md(content, "tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).map_or("default", |s| s.as_str());
        let (patterns, ignore_merges) = pre_regexes(pre);
        Tokenizer::build(Vocab {
            model,
            tokens,
            types,
            scores,
            merges,
            patterns: patterns.into_iter().map(str::to_owned).collect(),
            ignore_merges,
            bos: md_u32(content, "tokenizer.ggml.bos_token_id"),
            eos: md_u32(content, "tokenizer.ggml.eos_token_id"),
            eot: md_u32(content, "tokenizer.ggml.eot_token_id"),
            add_bos: md(content, "tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()),
            add_space_prefix: md(content, "tokenizer.ggml.add_space_prefix").and_then(|v| v.to_bool().ok()),
        })
    }

    /// Builds the tokenizer of a Hugging Face `tokenizer.json` (byte-level BPE,
    /// as Llama 3, Qwen and SmolLM ship), with `tokenizer_config.json` for the
    /// BOS/EOS tokens.
    pub fn from_hf_json(tokenizer_json: &str, config_json: Option<&str>) -> Result<Tokenizer, InferError> {
        let bad = |what: &str| InferError::Model(format!("tokenizer.json: {what}"));
        let root: serde_json::Value = serde_json::from_str(tokenizer_json).map_err(|e| bad(&e.to_string()))?;
        let config: serde_json::Value =
            config_json.and_then(|c| serde_json::from_str(c).ok()).unwrap_or(serde_json::Value::Null);
        let model = &root["model"];
        if model["type"] != "BPE" || model["byte_fallback"] == true {
            return Err(InferError::Unsupported(
                "tokenizer.json of this kind (only byte-level BPE is read; use the model's GGUF instead)".into(),
            ));
        }
        let vocab = model["vocab"].as_object().ok_or_else(|| bad("no model.vocab"))?;
        let mut size = vocab.values().filter_map(|v| v.as_u64()).max().map_or(0, |m| m as usize + 1);
        let added = root["added_tokens"].as_array().cloned().unwrap_or_default();
        for t in &added {
            size = size.max(t["id"].as_u64().map_or(0, |i| i as usize + 1));
        }
        let mut tokens = vec![String::new(); size];
        let mut types = vec![kind::NORMAL; size];
        for (text, id) in vocab {
            let id = id.as_u64().ok_or_else(|| bad("a vocabulary id is not a number"))? as usize;
            tokens[id] = text.clone();
        }
        for t in &added {
            let (Some(id), Some(text)) = (t["id"].as_u64(), t["content"].as_str()) else { continue };
            tokens[id as usize] = text.to_owned();
            types[id as usize] = if t["special"] == true { kind::CONTROL } else { kind::USER_DEFINED };
        }
        let merges = model["merges"]
            .as_array()
            .ok_or_else(|| bad("no model.merges"))?
            .iter()
            .filter_map(|m| match m {
                serde_json::Value::String(s) => s.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())),
                serde_json::Value::Array(pair) => {
                    Some((pair.first()?.as_str()?.to_owned(), pair.get(1)?.as_str()?.to_owned()))
                }
                _ => None,
            })
            .collect();
        // The pre-tokenizer's own split regexes, in order.
        let mut patterns = Vec::new();
        let pre = &root["pre_tokenizer"];
        let steps = pre["pretokenizers"].as_array().cloned().unwrap_or_else(|| vec![pre.clone()]);
        for step in &steps {
            if step["type"] == "Split"
                && let Some(p) = step["pattern"]["Regex"].as_str()
            {
                patterns.push(p.to_owned());
            }
        }
        if patterns.is_empty() {
            patterns = pre_regexes("gpt2").0.into_iter().map(str::to_owned).collect();
        }
        let token_id = |key: &str| -> Option<u32> {
            let v = &config[key];
            let text = v.as_str().or_else(|| v["content"].as_str())?;
            tokens.iter().position(|t| t == text).map(|i| i as u32)
        };
        Tokenizer::build(Vocab {
            model: Model::Bpe,
            scores: vec![0.0; size],
            merges,
            patterns,
            ignore_merges: model["ignore_merges"] == true,
            bos: token_id("bos_token"),
            eos: token_id("eos_token"),
            eot: None,
            add_bos: config["add_bos_token"].as_bool(),
            add_space_prefix: Some(false),
            tokens,
            types,
        })
    }

    fn build(v: Vocab) -> Result<Tokenizer, InferError> {
        let Vocab { model, tokens, types, scores, merges, patterns, ignore_merges, .. } = v;
        let ids: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let ranks: HashMap<(String, String), usize> =
            merges.into_iter().enumerate().map(|(rank, m)| (m, rank)).collect();
        let regexes = patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| InferError::Model(format!("pre-tokenizer regex: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut specials: Vec<(String, u32, bool)> = types
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(**t, kind::CONTROL | kind::USER_DEFINED | kind::UNKNOWN))
            .filter(|(i, _)| !tokens[*i].is_empty())
            .map(|(i, t)| (tokens[i].clone(), i as u32, *t != kind::USER_DEFINED))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let encoder = byte_encoder();
        let mut byte_tokens = [None; 256];
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            *slot = match model {
                Model::Spm => ids.get(&format!("<0x{b:02X}>")).copied(),
                Model::Bpe => ids.get(&encoder[b].to_string()).copied(),
            };
        }
        let mut stop_tokens: Vec<u32> = [v.eos, v.eot].into_iter().flatten().collect();
        for (i, t) in tokens.iter().enumerate() {
            let is_end =
                matches!(t.as_str(), "<|eot_id|>" | "<|im_end|>" | "<|end|>" | "<end_of_turn>" | "<|endoftext|>");
            if is_end && types[i] == kind::CONTROL && !stop_tokens.contains(&(i as u32)) {
                stop_tokens.push(i as u32);
            }
        }
        Ok(Tokenizer {
            model,
            tokens,
            types,
            scores,
            ids,
            ranks,
            regexes,
            specials,
            byte_tokens,
            byte_encoder: encoder,
            byte_decoder: encoder.iter().enumerate().map(|(b, c)| (*c, b as u8)).collect(),
            ignore_merges,
            add_space_prefix: v.add_space_prefix.unwrap_or(model == Model::Spm),
            bos: v.bos,
            eos: v.eos,
            stop_tokens,
            add_bos: v.add_bos.unwrap_or(model == Model::Spm),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Splits the text around special tokens: `Ok(id)` for a special token,
    /// `Err(text)` for plain text.
    fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Result<u32, &'t str>> {
        let mut out: Vec<Result<u32, &'t str>> = Vec::new();
        let mut rest = text;
        'outer: while !rest.is_empty() {
            // The earliest special token; the longest one when several start there.
            let mut best: Option<(usize, &(String, u32, bool))> = None;
            for special in &self.specials {
                if special.2 && !parse_special {
                    continue;
                }
                if let Some(pos) = rest.find(special.0.as_str())
                    && best.is_none_or(|(p, s)| pos < p || (pos == p && special.0.len() > s.0.len()))
                {
                    best = Some((pos, special));
                }
            }
            match best {
                Some((pos, special)) => {
                    if pos > 0 {
                        out.push(Err(&rest[..pos]));
                    }
                    out.push(Ok(special.1));
                    rest = &rest[pos + special.0.len()..];
                    continue 'outer;
                }
                None => {
                    out.push(Err(rest));
                    break;
                }
            }
        }
        out
    }

    /// Encodes text. `add_bos` prepends the BOS token when the model wants one;
    /// `parse_special` lets control tokens written in the text (`<|im_start|>`) count.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if add_bos
            && self.add_bos
            && let Some(bos) = self.bos
        {
            out.push(bos);
        }
        let mut first = true;
        for part in self.partition(text, parse_special) {
            match part {
                Ok(id) => out.push(id),
                Err(text) => match self.model {
                    Model::Bpe => self.encode_bpe(text, &mut out),
                    Model::Spm => {
                        let prefixed;
                        let text = if self.add_space_prefix && first {
                            prefixed = format!(" {text}");
                            prefixed.as_str()
                        } else {
                            text
                        };
                        self.encode_spm(text, &mut out);
                    }
                },
            }
            first = false;
        }
        out
    }

    fn encode_bpe(&self, text: &str, out: &mut Vec<u32>) {
        let mut pieces = vec![(0, text.len())];
        for re in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len());
            for (start, end) in pieces {
                next.extend(split_keep(&text[start..end], re).into_iter().map(|(s, e)| (start + s, start + e)));
            }
            pieces = next;
        }
        for (start, end) in pieces {
            let word: String = text[start..end].bytes().map(|b| self.byte_encoder[b as usize]).collect();
            if self.ignore_merges
                && let Some(id) = self.ids.get(&word)
            {
                out.push(*id);
                continue;
            }
            for symbol in self.bpe_merge(&word) {
                match self.ids.get(&symbol) {
                    Some(id) => out.push(*id),
                    None => {
                        for c in symbol.chars() {
                            if let Some(id) = self.ids.get(&c.to_string()) {
                                out.push(*id);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Merges the characters of a word by BPE rank, lowest rank first, leftmost on ties.
    fn bpe_merge(&self, word: &str) -> Vec<String> {
        let mut symbols: Vec<String> = word.chars().map(String::from).collect();
        loop {
            let mut best: Option<(usize, usize)> = None;
            for i in 0..symbols.len().saturating_sub(1) {
                if let Some(&rank) = self.ranks.get(&(symbols[i].clone(), symbols[i + 1].clone()))
                    && best.is_none_or(|(r, _)| rank < r)
                {
                    best = Some((rank, i));
                }
            }
            let Some((_, i)) = best else { break };
            let right = symbols.remove(i + 1);
            symbols[i].push_str(&right);
        }
        symbols
    }

    /// SentencePiece as llama.cpp does it: characters linked in a list, and the
    /// adjacent pair whose union scores best merged first (leftmost on ties).
    fn encode_spm(&self, text: &str, out: &mut Vec<u32>) {
        let text = text.replace(' ', "\u{2581}");
        struct Sym {
            start: usize,
            len: usize,
            prev: Option<usize>,
            next: Option<usize>,
        }
        #[derive(PartialEq)]
        struct Pair {
            score: f32,
            left: usize,
            right: usize,
            size: usize,
        }
        impl Eq for Pair {}
        impl PartialOrd for Pair {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Pair {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.score.total_cmp(&other.score).then(other.left.cmp(&self.left))
            }
        }
        let mut syms: Vec<Sym> = Vec::new();
        for (start, c) in text.char_indices() {
            let i = syms.len();
            syms.push(Sym { start, len: c.len_utf8(), prev: i.checked_sub(1), next: None });
            if i > 0 {
                syms[i - 1].next = Some(i);
            }
        }
        let mut heap = BinaryHeap::new();
        let try_pair = |syms: &[Sym], heap: &mut BinaryHeap<Pair>, left: Option<usize>, right: Option<usize>| {
            let (Some(left), Some(right)) = (left, right) else { return };
            let piece = &text[syms[left].start..syms[right].start + syms[right].len];
            if let Some(&id) = self.ids.get(piece) {
                heap.push(Pair { score: self.scores[id as usize], left, right, size: piece.len() });
            }
        };
        for i in 1..syms.len() {
            try_pair(&syms, &mut heap, Some(i - 1), Some(i));
        }
        while let Some(pair) = heap.pop() {
            let (l, r) = (pair.left, pair.right);
            if syms[l].len == 0 || syms[r].len == 0 || syms[l].len + syms[r].len != pair.size {
                continue;
            }
            syms[l].len += syms[r].len;
            syms[r].len = 0;
            syms[l].next = syms[r].next;
            if let Some(n) = syms[r].next {
                syms[n].prev = Some(l);
            }
            try_pair(&syms, &mut heap, syms[l].prev, Some(l));
            try_pair(&syms, &mut heap, Some(l), syms[l].next);
        }
        let mut at = if syms.is_empty() { None } else { Some(0) };
        while let Some(i) = at {
            let piece = &text[syms[i].start..syms[i].start + syms[i].len];
            match self.ids.get(piece) {
                Some(id) => out.push(*id),
                None => {
                    for b in piece.bytes() {
                        if let Some(id) = self.byte_tokens[b as usize] {
                            out.push(id);
                        }
                    }
                }
            }
            at = syms[i].next;
        }
    }

    /// The bytes a token stands for. Control tokens give their text only
    /// when `special` is set.
    pub fn token_bytes(&self, id: u32, special: bool) -> Vec<u8> {
        let Some(text) = self.tokens.get(id as usize) else { return Vec::new() };
        let kind = self.types[id as usize];
        if kind == kind::CONTROL || kind == kind::UNKNOWN {
            return if special { text.as_bytes().to_vec() } else { Vec::new() };
        }
        if kind == kind::USER_DEFINED {
            return text.as_bytes().to_vec();
        }
        match self.model {
            Model::Bpe => text.chars().map(|c| self.byte_decoder.get(&c).copied().unwrap_or(b'?')).collect(),
            Model::Spm => {
                if kind == kind::BYTE
                    && let Some(hex) = text.strip_prefix("<0x").and_then(|t| t.strip_suffix('>'))
                    && let Ok(b) = u8::from_str_radix(hex, 16)
                {
                    return vec![b];
                }
                text.replace('\u{2581}', " ").into_bytes()
            }
        }
    }

    /// Decodes tokens to text (invalid UTF-8 is replaced).
    pub fn decode(&self, ids: &[u32], special: bool) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|id| self.token_bytes(*id, special)).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if self.model == Model::Spm && self.add_space_prefix {
            text.strip_prefix(' ').map(str::to_owned).unwrap_or(text)
        } else {
            text
        }
    }

    /// The text of a token as written in the vocabulary.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }
}

/// Turns a stream of token bytes into text without ever splitting a UTF-8 character.
#[derive(Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds bytes; returns the text that is complete so far.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Invalid bytes that no continuation can fix: replace them now.
            Err(_) => {
                let text = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                return text;
            }
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        text
    }

    /// Whatever is left at the end.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multibyte_character_split_across_tokens_is_held_back() {
        let mut s = Utf8Stream::default();
        let bytes = "é🙂".as_bytes();
        assert_eq!(s.push(&bytes[..1]), "");
        assert_eq!(s.push(&bytes[1..3]), "é");
        assert_eq!(s.push(&bytes[3..5]), "");
        assert_eq!(s.push(&bytes[5..]), "🙂");
        assert_eq!(s.finish(), "");
    }

    #[test]
    fn splitting_keeps_matches_and_gaps() {
        let re = Regex::new(r"\p{N}").unwrap();
        let text = "ab12c";
        let parts: Vec<&str> = split_keep(text, &re).into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(parts, ["ab", "1", "2", "c"]);
    }
}
