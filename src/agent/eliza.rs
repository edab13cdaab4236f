//! elizaOS character files: the current schema (`name`, `bio`, `system`,
//! `messageExamples`, `style`, …) and the legacy v0 one (`lore`,
//! `modelProvider`, `clients`, `{user, content}` examples), in and out.
//!
//! Mapping (from the elizaOS docs): `bio` ↔ `description`, `adjectives` ↔
//! `personality`, `messageExamples` ↔ `mes_example`, `system` ↔
//! `system_prompt`, `style.chat` ↔ `post_history_instructions`. The whole
//! original file (less its secrets) is kept under `extensions["familiar/eliza"]`
//! with the values derived from it, so an export of an unedited agent gives
//! the original fields back exactly, and an edited field is re-derived.

use serde_json::{Map, Value, json};

use super::CardError;
use super::fields::{Errors, FieldErrors, Obj, kind};
use super::spec::AgentSpec;

pub const EXT: &str = "familiar/eliza";

/// Keys of the current (strict) elizaOS character schema.
const SCHEMA_KEYS: &[&str] = &[
    "id",
    "name",
    "username",
    "system",
    "templates",
    "bio",
    "messageExamples",
    "postExamples",
    "topics",
    "adjectives",
    "knowledge",
    "plugins",
    "settings",
    "secrets",
    "style",
];

/// An elizaOS character has a `bio` and no card `spec`.
pub fn is_eliza(value: &Value) -> bool {
    value.get("spec").is_none() && value.get("bio").is_some()
}

fn is_legacy(root: &Map<String, Value>) -> bool {
    ["lore", "modelProvider", "clients"].iter().any(|k| root.contains_key(*k))
        || example_conversations(root.get("messageExamples"))
            .iter()
            .flatten()
            .any(|m| m.get("user").is_some() && m.get("name").is_none())
}

/// The conversations of `messageExamples`, in either shape: `[[msg…]…]` or
/// the newest `[{examples: [msg…]}…]`.
fn example_conversations(value: Option<&Value>) -> Vec<Vec<&Value>> {
    let Some(Value::Array(convs)) = value else { return Vec::new() };
    convs
        .iter()
        .filter_map(|c| match c {
            Value::Array(msgs) => Some(msgs.iter().collect()),
            Value::Object(o) => match o.get("examples") {
                Some(Value::Array(msgs)) => Some(msgs.iter().collect()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn text_lines(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// Checks the field types of the current schema that we map (`name`, `bio`
/// and the lists), so a broken file fails with a field-level error.
fn validate(root: &Map<String, Value>) -> Result<(), FieldErrors> {
    let errors = Errors::default();
    let mut obj = Obj::new("", root, &errors);
    obj.required_string("name");
    match obj.raw("bio") {
        None => obj.error("bio", "missing"),
        Some(Value::String(_)) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_string() {
                    errors.push(format!("bio[{i}]"), format!("expected a string, found {}", kind(item)));
                }
            }
        }
        Some(other) => obj.error("bio", format!("expected a string or an array of strings, found {}", kind(other))),
    }
    obj.opt_string("system");
    for key in ["postExamples", "topics", "adjectives", "plugins"] {
        obj.opt_strings(key);
    }
    if let Some(mut style) = obj.child("style") {
        for key in ["all", "chat", "post"] {
            if let Some(v) = style.raw(key)
                && !v.is_string()
                && !v.is_array()
            {
                style.error(key, format!("expected a string or an array of strings, found {}", kind(v)));
            }
        }
    }
    if let Some(v) = root.get("messageExamples")
        && !v.is_array()
    {
        errors.push("messageExamples", format!("expected an array, found {}", kind(v)));
    }
    errors.finish(())
}

/// Brings a legacy v0 character to the current schema, as the official
/// migration does: `lore` joins `bio`, `{user}` becomes `{name}`. Fields
/// with no place in the current schema are returned apart.
fn migrate_legacy(mut root: Map<String, Value>) -> (Map<String, Value>, Map<String, Value>) {
    let mut legacy = Map::new();
    for key in ["modelProvider", "clients", "lore"] {
        if let Some(v) = root.shift_remove(key) {
            legacy.insert(key.into(), v);
        }
    }
    let mut bio = text_lines(root.get("bio"));
    bio.extend(text_lines(legacy.get("lore")));
    root.insert("bio".into(), json!(bio));
    if let Some(Value::Array(convs)) = root.get_mut("messageExamples") {
        for conv in convs.iter_mut() {
            if let Value::Array(msgs) = conv {
                for msg in msgs.iter_mut() {
                    if let Value::Object(m) = msg
                        && !m.contains_key("name")
                        && let Some(user) = m.shift_remove("user")
                    {
                        m.insert("name".into(), user);
                    }
                }
            }
        }
    }
    (root, legacy)
}

/// The values a card takes from an elizaOS character.
fn derive(root: &Map<String, Value>) -> Map<String, Value> {
    let name = root.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut blocks = Vec::new();
    for conv in example_conversations(root.get("messageExamples")) {
        let mut lines = vec!["<START>".to_owned()];
        for msg in conv {
            let speaker = msg.get("name").or_else(|| msg.get("user")).and_then(Value::as_str).unwrap_or_default();
            let text = msg.pointer("/content/text").and_then(Value::as_str).unwrap_or_default();
            let who = if speaker == name || speaker == "{{agentName}}" || speaker == "{{char}}" {
                "{{char}}"
            } else {
                "{{user}}"
            };
            lines.push(format!("{who}: {text}"));
        }
        blocks.push(lines.join("\n"));
    }
    let mut d = Map::new();
    d.insert("description".into(), text_lines(root.get("bio")).join("\n").into());
    d.insert("personality".into(), text_lines(root.get("adjectives")).join(", ").into());
    d.insert("system_prompt".into(), root.get("system").and_then(Value::as_str).unwrap_or_default().into());
    d.insert("mes_example".into(), blocks.join("\n").into());
    d.insert(
        "post_history_instructions".into(),
        text_lines(root.get("style").and_then(|s| s.get("chat"))).join("\n").into(),
    );
    d
}

/// Imports an elizaOS character. Returns the spec, whether the file was
/// legacy v0, and warnings for what was dropped.
pub fn import(value: &Value) -> Result<(AgentSpec, bool, Vec<String>), CardError> {
    let Value::Object(root) = value else {
        return Err(CardError::NotAnAgent("expected a JSON object at the top level".into()));
    };
    let legacy = is_legacy(root);
    let (mut root, legacy_fields) = if legacy { migrate_legacy(root.clone()) } else { (root.clone(), Map::new()) };
    validate(&root)?;
    let mut warnings = Vec::new();
    if root.shift_remove("secrets").is_some() {
        warnings.push("dropped `secrets`: keys and tokens are never stored in an agent".to_owned());
    }
    if let Some(Value::Object(settings)) = root.get_mut("settings")
        && settings.shift_remove("secrets").is_some()
    {
        warnings.push("dropped `settings.secrets`: keys and tokens are never stored in an agent".to_owned());
    }
    let derived = derive(&root);
    let get = |k: &str| derived.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut ext = Map::new();
    ext.insert("original".into(), Value::Object(root.clone()));
    ext.insert("derived".into(), Value::Object(derived.clone()));
    if !legacy_fields.is_empty() {
        ext.insert("legacy".into(), Value::Object(legacy_fields));
    }
    let mut extensions = Map::new();
    extensions.insert(EXT.into(), Value::Object(ext));
    let spec = AgentSpec {
        name: root.get("name").and_then(Value::as_str).unwrap_or_default().trim().to_owned(),
        description: get("description"),
        personality: get("personality"),
        system_prompt: get("system_prompt"),
        mes_example: get("mes_example"),
        post_history_instructions: get("post_history_instructions"),
        tags: text_lines(root.get("topics")),
        extensions,
        ..AgentSpec::default()
    };
    Ok((spec, legacy, warnings))
}

fn lines(text: &str) -> Value {
    json!(text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>())
}

/// `mes_example` back to `[[{name, content: {text}}]]`.
fn examples(mes_example: &str, name: &str) -> Value {
    let mut convs: Vec<Vec<Value>> = Vec::new();
    for block in mes_example.split("<START>") {
        let mut conv: Vec<Value> = Vec::new();
        for line in block.lines() {
            let line = line.trim();
            let (who, text) = if let Some(t) = strip_speaker(line, &["{{char}}:", "<BOT>:"]) {
                (name.to_owned(), t)
            } else if let Some(t) = strip_speaker(line, &["{{user}}:", "<USER>:"]) {
                ("{{user1}}".to_owned(), t)
            } else if let Some(last) = conv.last_mut() {
                // A continuation line belongs to the previous message.
                if let Some(Value::String(t)) = last.pointer_mut("/content/text")
                    && !line.is_empty()
                {
                    t.push('\n');
                    t.push_str(line);
                }
                continue;
            } else {
                continue;
            };
            conv.push(json!({ "name": who, "content": { "text": text } }));
        }
        if !conv.is_empty() {
            convs.push(conv);
        }
    }
    json!(convs)
}

fn strip_speaker<'a>(line: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| {
        let head = line.get(..p.len())?;
        head.eq_ignore_ascii_case(p).then(|| line[p.len()..].trim())
    })
}

/// The agent as an elizaOS character in the current schema.
pub fn export(spec: &AgentSpec) -> Value {
    let saved = spec.extensions.get(EXT);
    let original = saved.and_then(|e| e.get("original")).and_then(Value::as_object).cloned().unwrap_or_default();
    let derived = saved.and_then(|e| e.get("derived")).and_then(Value::as_object);
    // A field the user did not edit since import is given back exactly as it was.
    let unchanged = |key: &str, now: &str| derived.and_then(|d| d.get(key)).and_then(Value::as_str) == Some(now);
    let mut out: Map<String, Value> =
        original.into_iter().filter(|(k, _)| SCHEMA_KEYS.contains(&k.as_str()) && k != "secrets").collect();
    out.insert("name".into(), spec.name.clone().into());
    if !unchanged("description", &spec.description) || !out.contains_key("bio") {
        out.insert("bio".into(), lines(&spec.description));
    }
    if !unchanged("personality", &spec.personality) {
        let adjectives: Vec<&str> =
            spec.personality.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect();
        out.insert("adjectives".into(), json!(adjectives));
    }
    if !unchanged("system_prompt", &spec.system_prompt) {
        if spec.system_prompt.is_empty() {
            out.shift_remove("system");
        } else {
            out.insert("system".into(), spec.system_prompt.clone().into());
        }
    }
    if !unchanged("mes_example", &spec.mes_example) {
        out.insert("messageExamples".into(), examples(&spec.mes_example, &spec.name));
    }
    if !unchanged("post_history_instructions", &spec.post_history_instructions) {
        let style = out.entry("style").or_insert_with(|| json!({}));
        if let Value::Object(style) = style {
            style.insert("chat".into(), lines(&spec.post_history_instructions));
        }
    }
    if !out.contains_key("topics") && !spec.tags.is_empty() {
        out.insert("topics".into(), json!(spec.tags));
    }
    // Present the keys in the schema's order.
    let mut ordered = Map::new();
    for key in SCHEMA_KEYS {
        if let Some(v) = out.shift_remove(*key) {
            ordered.insert((*key).into(), v);
        }
    }
    Value::Object(ordered)
}
