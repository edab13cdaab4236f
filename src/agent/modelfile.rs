//! Ollama Modelfiles as personas: `SYSTEM` becomes the system prompt,
//! `MESSAGE`s the example dialogue, `PARAMETER`s the sampling settings.
//! `FROM`, `TEMPLATE` (a Go template, not Jinja), `ADAPTER`, `LICENSE` and
//! parameters without a Familiar equivalent are kept under
//! `extensions["familiar/ollama"]`.
//!
//! Syntax as Ollama parses it: one instruction per line, case-insensitive;
//! `#` starts a comment line; an argument is bare text to the end of the
//! line, a `"quoted string"`, or a `"""multi-line string"""`.

use serde_json::{Map, Value, json};

use super::CardError;
use super::spec::{AgentSpec, ModelSettings, Sampling};

pub const EXT: &str = "familiar/ollama";

const INSTRUCTIONS: &[&str] = &["FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES"];

/// The text of `bytes` if it reads as a Modelfile: UTF-8 whose first
/// instruction line starts with a known instruction.
pub fn looks_like(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let word = first.split_whitespace().next()?;
    INSTRUCTIONS.iter().any(|i| i.eq_ignore_ascii_case(word)).then_some(text)
}

#[derive(Debug, PartialEq)]
struct Instruction {
    line: usize,
    name: String,
    args: String,
}

fn err(line: usize, message: impl Into<String>) -> CardError {
    CardError::Modelfile { line, message: message.into() }
}

/// Reads one argument starting at `rest` (the remainder of line `line`).
/// Returns the argument and how many extra lines a `"""` block consumed.
fn argument(rest: &str, following: &[&str], line: usize) -> Result<(String, usize), CardError> {
    let rest = rest.trim_start();
    if let Some(body) = rest.strip_prefix("\"\"\"") {
        if let Some(end) = body.find("\"\"\"") {
            return Ok((body[..end].to_owned(), 0));
        }
        let mut text = body.to_owned();
        for (i, next) in following.iter().enumerate() {
            if let Some(end) = next.find("\"\"\"") {
                text.push('\n');
                text.push_str(&next[..end]);
                return Ok((text, i + 1));
            }
            text.push('\n');
            text.push_str(next);
        }
        return Err(err(line, "a \"\"\" string is never closed"));
    }
    if let Some(body) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => break,
                },
                '"' => return Ok((out, 0)),
                c => out.push(c),
            }
        }
        return Err(err(line, "a quoted string is never closed"));
    }
    Ok((rest.trim_end().to_owned(), 0))
}

fn parse(text: &str) -> Result<Vec<Instruction>, CardError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let name = word.to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&name.as_str()) {
            return Err(err(number, format!("unknown instruction `{word}`")));
        }
        let (args, consumed) = argument(rest, &lines[i..], number)?;
        i += consumed;
        out.push(Instruction { line: number, name, args });
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(line: usize, key: &str, value: &str) -> Result<T, CardError> {
    value.trim().parse().map_err(|_| err(line, format!("PARAMETER {key}: `{value}` is not a valid number")))
}

/// Imports a Modelfile; `fallback_name` names the agent (a Modelfile has no name).
pub fn import(text: &str, fallback_name: Option<&str>) -> Result<(AgentSpec, Vec<String>), CardError> {
    let instructions = parse(text)?;
    if instructions.is_empty() {
        return Err(CardError::Empty);
    }
    let mut warnings = Vec::new();
    let mut sampling = Sampling::default();
    let mut model = ModelSettings::default();
    let mut kept = Map::new();
    let mut other_params = Map::new();
    let mut system = Vec::new();
    let mut dialogue = Vec::new();
    let mut licenses = Vec::new();
    for ins in &instructions {
        let (line, args) = (ins.line, ins.args.as_str());
        match ins.name.as_str() {
            "FROM" => {
                kept.insert("from".into(), args.into());
            }
            "TEMPLATE" => {
                kept.insert("template".into(), args.into());
            }
            "ADAPTER" => {
                kept.insert("adapter".into(), args.into());
            }
            "REQUIRES" => {
                kept.insert("requires".into(), args.into());
            }
            "LICENSE" => licenses.push(args.to_owned()),
            "SYSTEM" => system.push(args.to_owned()),
            "MESSAGE" => {
                let (role, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                let (content, _) = argument(rest, &[], line)?;
                match role.to_ascii_lowercase().as_str() {
                    "system" => system.push(content),
                    "user" => dialogue.push(format!("{{{{user}}}}: {content}")),
                    "assistant" => dialogue.push(format!("{{{{char}}}}: {content}")),
                    other => return Err(err(line, format!("MESSAGE role `{other}` is not system, user or assistant"))),
                }
            }
            "PARAMETER" => {
                let (key, raw) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                let (value, _) = argument(raw, &[], line)?;
                let v = value.as_str();
                match key {
                    "temperature" => sampling.temperature = Some(number(line, key, v)?),
                    "top_k" => sampling.top_k = Some(number(line, key, v)?),
                    "top_p" => sampling.top_p = Some(number(line, key, v)?),
                    "min_p" => sampling.min_p = Some(number(line, key, v)?),
                    "repeat_penalty" => sampling.repetition_penalty = Some(number(line, key, v)?),
                    "presence_penalty" => sampling.presence_penalty = Some(number(line, key, v)?),
                    "frequency_penalty" => sampling.frequency_penalty = Some(number(line, key, v)?),
                    "seed" => sampling.seed = Some(number(line, key, v)?),
                    "num_predict" => {
                        let n: i64 = number(line, key, v)?;
                        sampling.max_tokens = u32::try_from(n).ok();
                    }
                    "num_ctx" => model.context_length = Some(number(line, key, v)?),
                    "stop" => sampling.stop.push(value.clone()),
                    "" => return Err(err(line, "PARAMETER needs a name and a value")),
                    other => {
                        other_params.insert(other.into(), value.clone().into());
                    }
                }
            }
            _ => {}
        }
    }
    if !kept.contains_key("from") {
        warnings.push("the Modelfile has no FROM line; choose a model for the agent".to_owned());
    }
    if !other_params.is_empty() {
        kept.insert("parameters".into(), Value::Object(other_params));
    }
    if !licenses.is_empty() {
        kept.insert("license".into(), json!(licenses));
    }
    let from_name = kept
        .get("from")
        .and_then(Value::as_str)
        .map(|f| f.rsplit('/').next().unwrap_or(f).split(':').next().unwrap_or(f).to_owned());
    let name = fallback_name
        .map(str::to_owned)
        .or(from_name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Ollama agent".to_owned());
    let mut extensions = Map::new();
    extensions.insert(EXT.into(), Value::Object(kept));
    let mut spec = AgentSpec {
        name,
        system_prompt: system.join("\n\n"),
        mes_example: if dialogue.is_empty() { String::new() } else { format!("<START>\n{}", dialogue.join("\n")) },
        extensions,
        ..AgentSpec::default()
    };
    if sampling != Sampling::default() {
        spec.familiar.sampling = Some(sampling);
    }
    if model != ModelSettings::default() {
        spec.familiar.model = Some(model);
    }
    Ok((spec, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triple_quoted_blocks_may_hold_lines_that_look_like_instructions() {
        let text = "FROM llama3.2\nSYSTEM \"\"\"You write Dockerfiles.\nFROM nginx\n# not a comment\n\"\"\"\nPARAMETER stop \"<|end|>\"\nPARAMETER stop <|eot|>";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[1].args, "You write Dockerfiles.\nFROM nginx\n# not a comment\n");
        let (spec, _) = import(text, None).unwrap();
        assert_eq!(spec.name, "llama3.2");
        assert_eq!(spec.familiar.sampling.unwrap().stop, ["<|end|>", "<|eot|>"]);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let e = import("FROM x\nPARAMETER temperature hot", None).unwrap_err().to_string();
        assert_eq!(e, "invalid Modelfile, line 2: PARAMETER temperature: `hot` is not a valid number");
        let e = import("FROM x\nSYSTEM \"\"\"never closed", None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("never closed"), "{e}");
        let e = import("FROM x\nBOGUS y", None).unwrap_err().to_string();
        assert!(e.contains("unknown instruction `BOGUS`"), "{e}");
    }
}
