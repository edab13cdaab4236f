//! Chat templates: the Jinja template a model ships in `tokenizer.chat_template`,
//! rendered with minijinja the way Hugging Face does (`messages`,
//! `add_generation_prompt`, `bos_token`, `eos_token`, `raise_exception`,
//! Python string methods, trimmed blocks).
//!
//! Fallback: a model with no template gets ChatML, which most small chat
//! models (SmolLM, Qwen) use. A template that fails to render is an error that
//! names the problem; nothing is guessed silently.

use minijinja::{Environment, Error as JinjaError, ErrorKind, Value, context};
use serde::Serialize;

use crate::InferError;

pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// One message of a conversation, as templates see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message { role: role.to_owned(), content: content.into() }
    }
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Whether this is the model's own template (`false`: the ChatML fallback).
    pub from_model: bool,
    bos: String,
    eos: String,
}

fn raise_exception(message: String) -> Result<Value, JinjaError> {
    Err(JinjaError::new(ErrorKind::InvalidOperation, message))
}

impl ChatTemplate {
    /// Compiles `source`, or ChatML when the model has no template.
    pub fn new(source: Option<&str>, bos: &str, eos: &str) -> Result<ChatTemplate, InferError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |format: String| -> String {
            // Templates use it for "today's date" lines; a fixed, neutral date keeps prompts reproducible.
            format
                .replace("%Y", "2026")
                .replace("%m", "01")
                .replace("%d", "01")
                .replace("%B", "January")
                .replace("%b", "Jan")
        });
        let from_model = source.is_some_and(|s| !s.trim().is_empty());
        let text = if from_model { source.unwrap_or(CHATML) } else { CHATML };
        env.add_template_owned("chat", text.to_owned())
            .map_err(|e| InferError::Template(format!("the model's chat template does not compile: {e}")))?;
        Ok(ChatTemplate { env, from_model, bos: bos.to_owned(), eos: eos.to_owned() })
    }

    /// Compiles `source` (or ChatML) with the tokenizer's BOS and EOS tokens.
    pub fn for_tokenizer(source: Option<&str>, tokenizer: &crate::Tokenizer) -> Result<ChatTemplate, InferError> {
        let token = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i)).unwrap_or_default().to_owned();
        ChatTemplate::new(source, &token(tokenizer.bos), &token(tokenizer.eos))
    }

    /// Renders the conversation, ending with the assistant's turn when
    /// `add_generation_prompt` is set.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, InferError> {
        let template = self.env.get_template("chat").map_err(|e| InferError::Template(e.to_string()))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(|e| {
                let detail = match e.detail() {
                    Some(d) => format!("{}: {d}", e.kind()),
                    None => e.to_string(),
                };
                InferError::Template(format!("the chat template failed to render: {detail}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_is_the_fallback() {
        let t = ChatTemplate::new(None, "", "").unwrap();
        assert!(!t.from_model);
        let text = t.render(&[Message::new("system", "Be brief."), Message::new("user", "Hi")], true).unwrap();
        assert_eq!(
            text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn hugging_face_idioms_render() {
        // raise_exception, python string methods, loop.first, bos_token.
        let source = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tools') }}{% endif %}\
            {% if loop.first and m['role'] == 'system' %}[SYS]{{ m['content'].strip() }}[/SYS]{% else %}{{ m['role'].upper() }}: {{ m['content'] }}\n{% endif %}{% endfor %}\
            {% if add_generation_prompt %}ASSISTANT:{% endif %}";
        let t = ChatTemplate::new(Some(source), "<s>", "</s>").unwrap();
        let out = t.render(&[Message::new("system", "  x  "), Message::new("user", "hi")], true).unwrap();
        assert_eq!(out, "<s>[SYS]x[/SYS]USER: hi\nASSISTANT:");
        let err = t.render(&[Message::new("tool", "x")], false).unwrap_err().to_string();
        assert!(err.contains("no tools"), "{err}");
    }

    #[test]
    fn a_broken_template_is_a_clear_error() {
        let err = ChatTemplate::new(Some("{% for %}"), "", "").err().unwrap().to_string();
        assert!(err.starts_with("the model's chat template does not compile"), "{err}");
    }
}
