//! Lorebook activation: which entries a conversation triggers, in which order,
//! within the book's token budget.
//!
//! Rules (Character Card V2/V3): disabled entries never fire; `constant`
//! entries always do; otherwise a key must appear in the last `scan_depth`
//! messages (case-insensitive unless `case_sensitive`; a `/regex/flags` key
//! when `use_regex`), and a `selective` entry also needs one of its
//! `secondary_keys`. With `recursive_scanning`, the text of fired entries is
//! scanned again. Over the token budget, lower `priority` entries go first;
//! the survivors are inserted by ascending `insertion_order`. Lines starting
//! with `@@` are decorators, not content.

use regex::RegexBuilder;

use crate::agent::{LoreEntry, Lorebook};

/// Messages scanned when the book does not say.
pub const DEFAULT_SCAN_DEPTH: usize = 4;

/// An entry that fired, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Activated {
    pub content: String,
    pub before_char: bool,
    pub insertion_order: i64,
}

/// Compiles a `/pattern/flags` key (JavaScript style: its own flags decide the
/// case); `None` if it is not one or does not compile.
fn regex_key(key: &str) -> Option<regex::Regex> {
    let body = key.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(1 << 20)
        .build()
        .ok()
}

fn key_matches(entry: &LoreEntry, key: &str, text: &str, lowered: &str) -> bool {
    let key = key.trim();
    if key.is_empty() {
        return false;
    }
    if entry.use_regex {
        return regex_key(key).is_some_and(|re| re.is_match(text));
    }
    if entry.case_sensitive.unwrap_or(false) { text.contains(key) } else { lowered.contains(&key.to_lowercase()) }
}

fn fires(entry: &LoreEntry, text: &str, lowered: &str) -> bool {
    if !entry.keys.iter().any(|k| key_matches(entry, k, text, lowered)) {
        return false;
    }
    match (&entry.selective, &entry.secondary_keys) {
        (Some(true), Some(secondary)) if !secondary.is_empty() => {
            secondary.iter().any(|k| key_matches(entry, k, text, lowered))
        }
        _ => true,
    }
}

/// The content of an entry without its `@@decorator` lines.
pub fn content_of(entry: &LoreEntry) -> String {
    entry.content.lines().filter(|l| !l.trim_start().starts_with("@@")).collect::<Vec<_>>().join("\n").trim().to_owned()
}

/// The entries `recent` (newest last) triggers, in insertion order, within
/// the budget. `count_tokens` measures an entry's content.
pub fn activate(book: &Lorebook, recent: &[&str], count_tokens: &dyn Fn(&str) -> usize) -> Vec<Activated> {
    let depth = book.scan_depth.map_or(DEFAULT_SCAN_DEPTH, |d| d as usize);
    let mut text = recent[recent.len().saturating_sub(depth)..].join("\n");
    let mut fired = vec![false; book.entries.len()];
    let passes = if book.recursive_scanning == Some(true) { 3 } else { 1 };
    for _ in 0..passes {
        let lowered = text.to_lowercase();
        let mut added = String::new();
        for (i, entry) in book.entries.iter().enumerate() {
            if fired[i] || !entry.enabled {
                continue;
            }
            if entry.constant == Some(true) || fires(entry, &text, &lowered) {
                fired[i] = true;
                added.push('\n');
                added.push_str(&entry.content);
            }
        }
        if added.is_empty() {
            break;
        }
        text.push_str(&added);
    }
    let mut chosen: Vec<&LoreEntry> = book.entries.iter().zip(&fired).filter(|(_, f)| **f).map(|(e, _)| e).collect();
    if let Some(budget) = book.token_budget.filter(|b| *b > 0) {
        // Highest priority first; among equals, the earlier insertion order.
        chosen.sort_by(|a, b| {
            b.priority.unwrap_or(0).cmp(&a.priority.unwrap_or(0)).then(a.insertion_order.cmp(&b.insertion_order))
        });
        let mut used = 0;
        chosen.retain(|e| {
            let cost = count_tokens(&content_of(e));
            if used + cost <= budget as usize {
                used += cost;
                true
            } else {
                false
            }
        });
    }
    chosen.sort_by_key(|e| e.insertion_order);
    chosen
        .into_iter()
        .map(|e| Activated {
            content: content_of(e),
            before_char: e.position.as_deref() == Some("before_char"),
            insertion_order: e.insertion_order,
        })
        .filter(|a| !a.content.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(keys: &[&str], content: &str) -> LoreEntry {
        LoreEntry {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            content: content.into(),
            enabled: true,
            ..Default::default()
        }
    }

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn fired(book: &Lorebook, recent: &[&str]) -> Vec<String> {
        activate(book, recent, &words).into_iter().map(|a| a.content).collect()
    }

    #[test]
    fn keys_case_and_regex() {
        let mut sensitive = entry(&["Bell"], "case sensitive");
        sensitive.case_sensitive = Some(true);
        let mut regex = entry(&["/sync(ing)? (error|fail(ed|s)?)/i"], "regex");
        regex.use_regex = true;
        let book = Lorebook { entries: vec![entry(&["dragon"], "dragons"), sensitive, regex], ..Default::default() };
        assert_eq!(fired(&book, &["A DRAGON appears"]), ["dragons"]);
        assert!(fired(&book, &["the bell rings"]).is_empty());
        assert_eq!(fired(&book, &["the Bell rings"]), ["case sensitive"]);
        assert_eq!(fired(&book, &["Syncing FAILED again"]), ["regex"]);
        assert!(fired(&book, &["synced fine"]).is_empty());
    }

    #[test]
    fn selective_constant_disabled_and_scan_depth() {
        let mut selective = entry(&["bell"], "sunken bell");
        selective.selective = Some(true);
        selective.secondary_keys = Some(vec!["lake".into()]);
        let mut constant = entry(&[], "always");
        constant.constant = Some(true);
        let mut off = entry(&["bell"], "disabled");
        off.enabled = false;
        let book = Lorebook { scan_depth: Some(1), entries: vec![selective, constant, off], ..Default::default() };
        assert_eq!(fired(&book, &["a bell"]), ["always"]);
        assert_eq!(fired(&book, &["a bell by the lake"]), ["sunken bell", "always"]);
        assert_eq!(
            fired(&book, &["a bell by the lake", "nothing here"]),
            ["always"],
            "only the last message is scanned"
        );
    }

    #[test]
    fn budget_drops_low_priority_and_order_follows_insertion_order() {
        let mut a = entry(&["x"], "one two three");
        a.insertion_order = 20;
        a.priority = Some(1);
        let mut b = entry(&["x"], "four five");
        b.insertion_order = 10;
        b.priority = Some(5);
        let mut c = entry(&["x"], "six seven eight");
        c.insertion_order = 5;
        c.priority = Some(3);
        let book = Lorebook { token_budget: Some(5), entries: vec![a, b, c], ..Default::default() };
        assert_eq!(fired(&book, &["x"]), ["six seven eight", "four five"]);
    }

    #[test]
    fn recursion_and_decorators() {
        let first = entry(&["castle"], "@@depth 2\nThe castle has a moat.");
        let second = entry(&["moat"], "The moat hides an eel.");
        let mut book = Lorebook { entries: vec![first, second], ..Default::default() };
        assert_eq!(fired(&book, &["the castle"]), ["The castle has a moat."]);
        book.recursive_scanning = Some(true);
        assert_eq!(fired(&book, &["the castle"]), ["The castle has a moat.", "The moat hides an eel."]);
    }
}
