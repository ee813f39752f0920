//! `envs`: environment variables of the container.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{ConfigError, Source};

/// Variables alca passes from the host unless the config says otherwise;
/// refreshed on every `alca run`.
pub const DEFAULT_ENVS: &[&str] = &[
    "TERM",
    "COLORTERM",
    "LANG",
    "LC_ALL",
    "LC_COLLATE",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_MONETARY",
    "LC_NUMERIC",
    "LC_TIME",
];

/// A value: literal text, or `${NAME}` (the host's variable, read when the
/// container is created and, with `override_on_enter`, at every `alca run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvValue {
    Literal(String),
    Host(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
    pub override_on_enter: bool,
}

impl EnvVar {
    /// The value now: a literal as written (even empty); a host variable
    /// only if set (unset variables are left out, not set to "").
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match &self.value {
            EnvValue::Literal(s) => Some(s.clone()),
            EnvValue::Host(name) => env(name),
        }
    }
}

pub(super) fn parse(src: &Source<'_>, key: &Spanned<String>, v: &Spanned<toml::Value>) -> Result<EnvVar, ConfigError> {
    let name = key.get_ref();
    if name.is_empty() || name.contains(['=', '\0']) || name.chars().any(char::is_whitespace) {
        return Err(src.error(key.span(), format!("envs: {name:?} is not a valid variable name")));
    }
    let (text, override_on_enter) = match v.get_ref() {
        toml::Value::String(s) => (s.clone(), false),
        toml::Value::Table(t) => {
            if let Some(unknown) = t.keys().find(|k| !matches!(k.as_str(), "value" | "override_on_enter")) {
                return Err(src.error(
                    v.span(),
                    format!("envs.{name}: unknown key `{unknown}` (expected `value` and `override_on_enter`)"),
                ));
            }
            let value = match t.get("value") {
                Some(toml::Value::String(s)) => s.clone(),
                None => String::new(),
                Some(other) => {
                    return Err(
                        src.error(v.span(), format!("envs.{name}.value: expected a string, got {}", other.type_str()))
                    );
                }
            };
            let ooe = match t.get("override_on_enter") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(other) => {
                    return Err(src.error(
                        v.span(),
                        format!("envs.{name}.override_on_enter: expected true or false, got {}", other.type_str()),
                    ));
                }
            };
            (value, ooe)
        }
        other => {
            return Err(
                src.error(v.span(), format!("envs.{name}: expected a string or a table, got {}", other.type_str()))
            );
        }
    };
    let value = match whole_reference(&text) {
        Some(var) => EnvValue::Host(var.to_string()),
        None if text.contains("${") => {
            return Err(src.error(
                v.span(),
                format!(
                    "envs.{name}: `${{...}}` must be the whole value (e.g. \"${{HOME}}\"); {text:?} mixes it with text"
                ),
            ));
        }
        None => EnvValue::Literal(text),
    };
    Ok(EnvVar { name: name.clone(), value, override_on_enter })
}

/// `NAME` if `text` is exactly `${NAME}`.
fn whole_reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then_some(name)
}
