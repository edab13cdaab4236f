//! Character Card V1, V2 and V3 as JSON, in and out.

use serde_json::{Map, Value, json};

use super::spec::AgentSpec;
use super::{CardError, limits};
use crate::agent::fields::{FieldError, FieldErrors};

/// Parses JSON text with the hostile-input limits: bounded size, valid UTF-8,
/// bounded nesting (serde_json stops at 128 levels).
pub fn parse_json(bytes: &[u8]) -> Result<Value, CardError> {
    if bytes.is_empty() {
        return Err(CardError::Empty);
    }
    if bytes.len() > limits::MAX_CARD_JSON_BYTES {
        return Err(CardError::TooLarge(bytes.len(), limits::MAX_CARD_JSON_BYTES));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| CardError::Utf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(CardError::Empty);
    }
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("recursion limit") {
            CardError::Json(format!("nested too deeply ({msg})"))
        } else {
            CardError::Json(msg)
        }
    })
}

/// Which Character Card generation a JSON document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardVersion {
    V1,
    V2,
    V3,
}

/// Reads a V1, V2 or V3 card. V2 and V3 read `data.*` (root-level V1 mirrors
/// are ignored, as the V2 spec advises).
pub fn spec_from_card(value: &Value) -> Result<(AgentSpec, CardVersion), CardError> {
    let Value::Object(root) = value else {
        return Err(CardError::NotAnAgent("expected a JSON object at the top level".into()));
    };
    let version = match root.get("spec") {
        None | Some(Value::Null) => CardVersion::V1,
        Some(Value::String(s)) if s == "chara_card_v3" => CardVersion::V3,
        Some(Value::String(s)) if s == "chara_card_v2" => CardVersion::V2,
        Some(Value::String(s)) if s == "lorebook_v3" => {
            return Err(CardError::NotAnAgent(
                "this is a standalone lorebook (lorebook_v3), not an agent card; add it to an agent's lorebook instead"
                    .into(),
            ));
        }
        Some(Value::String(s)) => return Err(CardError::NotAnAgent(format!("unsupported card spec `{s}`"))),
        Some(_) => {
            return Err(
                FieldErrors(vec![FieldError { path: "spec".into(), message: "expected a string".into() }]).into()
            );
        }
    };
    let spec = match version {
        CardVersion::V1 => AgentSpec::from_data("", value)?,
        CardVersion::V2 | CardVersion::V3 => match root.get("data") {
            Some(data) if !data.is_null() => AgentSpec::from_data("data", data)?,
            _ => return Err(FieldErrors(vec![FieldError { path: "data".into(), message: "missing".into() }]).into()),
        },
    };
    Ok((spec, version))
}

/// The spec as a Character Card V3 document.
pub fn to_v3_json(spec: &AgentSpec) -> Value {
    json!({ "spec": "chara_card_v3", "spec_version": "3.0", "data": spec.to_data() })
}

/// The spec as a Character Card V2 document, with the V1 fields mirrored at
/// the root for old readers. V3-only fields stay in `data`, where V2 readers
/// ignore them, so nothing is lost.
pub fn to_v2_json(spec: &AgentSpec) -> Value {
    let mut root = Map::new();
    root.insert("spec".into(), "chara_card_v2".into());
    root.insert("spec_version".into(), "2.0".into());
    for (key, value) in [
        ("name", &spec.name),
        ("description", &spec.description),
        ("personality", &spec.personality),
        ("scenario", &spec.scenario),
        ("first_mes", &spec.first_mes),
        ("mes_example", &spec.mes_example),
    ] {
        root.insert(key.into(), value.clone().into());
    }
    root.insert("data".into(), spec.to_data());
    Value::Object(root)
}

/// Pretty JSON bytes, ending with a newline.
pub fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}
