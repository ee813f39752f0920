//! `envs`: environment variables of the container.

use serde::{Deserialize, Serialize};

use super::raw::{EnvTable, StringOrTable};

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

/// One entry of `envs`; errors are plain text, prefixed `envs.NAME`.
pub(super) fn parse(name: &str, v: &StringOrTable<EnvTable>) -> Result<EnvVar, String> {
    if name.is_empty() || name.contains(['=', '\0']) || name.chars().any(char::is_whitespace) {
        return Err(format!("envs: {name:?} is not a valid variable name"));
    }
    let (text, override_on_enter) = match v {
        StringOrTable::String(s) => (s.clone(), false),
        StringOrTable::Table(t) => (
            t.value.as_ref().map(|v| v.get().clone()).unwrap_or_default(),
            t.override_on_enter.as_ref().is_some_and(|o| *o.get()),
        ),
    };
    let value = match whole_reference(&text) {
        Some(var) => EnvValue::Host(var.to_string()),
        None if text.contains("${") => {
            return Err(format!(
                "envs.{name}: `${{...}}` must be the whole value (e.g. \"${{HOME}}\"); {text:?} mixes it with text"
            ));
        }
        None => EnvValue::Literal(text),
    };
    Ok(EnvVar { name: name.to_string(), value, override_on_enter })
}

/// `NAME` if `text` is exactly `${NAME}`.
fn whole_reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then_some(name)
}
