//! A small reader that walks raw JSON into typed values while collecting
//! field-level errors ("data.name: missing") instead of stopping at the first.
//!
//! Missing and `null` optional fields take their defaults; a value of the wrong
//! type is always an error. Keys a reader did not ask for are handed back by
//! [`Obj::rest`], so nothing unknown is lost.

use std::cell::RefCell;
use std::fmt;

use serde_json::{Map, Value};

/// One problem found in one field of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path to the field, e.g. `data.character_book.entries[2].keys`.
    pub path: String,
    /// What is wrong with it, e.g. `missing` or `expected a string, found a number`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every field error found in one input, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().take(10).map(ToString::to_string).collect();
        write!(f, "{}", shown.join("; "))?;
        if self.0.len() > 10 {
            write!(f, "; and {} more", self.0.len() - 10)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Collects errors while one document is read.
#[derive(Default)]
pub struct Errors(RefCell<Vec<FieldError>>);

impl Errors {
    pub fn push(&self, path: impl Into<String>, message: impl Into<String>) {
        self.0.borrow_mut().push(FieldError { path: path.into(), message: message.into() });
    }

    /// `Ok(value)` when nothing was reported, otherwise every error.
    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        let errors = self.0.into_inner();
        if errors.is_empty() { Ok(value) } else { Err(FieldErrors(errors)) }
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A JSON object being read at `path`.
pub struct Obj<'a> {
    pub path: String,
    map: &'a Map<String, Value>,
    errors: &'a Errors,
    taken: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    pub fn new(path: impl Into<String>, map: &'a Map<String, Value>, errors: &'a Errors) -> Self {
        Obj { path: path.into(), map, errors, taken: Vec::new() }
    }

    /// Reads `value` as an object at `path`, reporting an error if it is not one.
    pub fn of(path: impl Into<String>, value: &'a Value, errors: &'a Errors) -> Option<Self> {
        let path = path.into();
        match value {
            Value::Object(map) => Some(Obj::new(path, map, errors)),
            other => {
                errors.push(path, format!("expected an object, found {}", kind(other)));
                None
            }
        }
    }

    fn field(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) {
        self.errors.push(join(&self.path, key), format!("expected {expected}, found {}", kind(found)));
    }

    pub fn error(&self, key: &str, message: impl Into<String>) {
        self.errors.push(join(&self.path, key), message);
    }

    /// A string that must be present and not blank.
    pub fn required_string(&mut self, key: &'static str) -> String {
        match self.field(key) {
            None => {
                self.error(key, "missing");
                String::new()
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(key, "must not be empty");
                String::new()
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                self.wrong(key, "a string", other);
                String::new()
            }
        }
    }

    pub fn opt_string(&mut self, key: &'static str) -> Option<String> {
        match self.field(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong(key, "a string", other);
                None
            }
        }
    }

    /// A string that defaults to `""`.
    pub fn string(&mut self, key: &'static str) -> String {
        self.opt_string(key).unwrap_or_default()
    }

    pub fn opt_strings(&mut self, key: &'static str) -> Option<Vec<String>> {
        let value = self.field(key)?;
        let Value::Array(items) = value else {
            self.wrong(key, "an array of strings", value);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => self.errors.push(
                    format!("{}[{i}]", join(&self.path, key)),
                    format!("expected a string, found {}", kind(other)),
                ),
            }
        }
        Some(out)
    }

    /// An array of strings that defaults to empty.
    pub fn strings(&mut self, key: &'static str) -> Vec<String> {
        self.opt_strings(key).unwrap_or_default()
    }

    pub fn opt_bool(&mut self, key: &'static str) -> Option<bool> {
        match self.field(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "a boolean", other);
                None
            }
        }
    }

    /// An integer; a float with no fractional part is accepted (some editors write `100.0`).
    pub fn opt_i64(&mut self, key: &'static str) -> Option<i64> {
        let value = self.field(key)?;
        let number = value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64));
        if number.is_none() {
            self.wrong(key, "an integer", value);
        }
        number
    }

    pub fn opt_u32(&mut self, key: &'static str) -> Option<u32> {
        let n = self.opt_i64(key)?;
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(key, format!("must be between 0 and {}, found {n}", u32::MAX));
                None
            }
        }
    }

    /// An object that defaults to empty.
    pub fn object(&mut self, key: &'static str) -> Map<String, Value> {
        match self.field(key) {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                self.wrong(key, "an object", other);
                Map::new()
            }
        }
    }

    /// The raw value of a field, for callers that read it themselves.
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.field(key)
    }

    /// A nested object, read with its own path.
    pub fn child(&mut self, key: &'static str) -> Option<Obj<'a>> {
        let value = self.field(key)?;
        Obj::of(join(&self.path, key), value, self.errors)
    }

    /// The keys nobody asked for, in their original order.
    pub fn rest(&self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !self.taken.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn errors(&self) -> &'a Errors {
        self.errors
    }
}
