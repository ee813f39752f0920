//! `mounts`: host paths in the container.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{ConfigError, LoadContext, Source};

/// A bind mount, its source resolved to an absolute host path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountConfig {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

pub(super) fn parse(
    src: &Source<'_>,
    m: &Spanned<toml::Value>,
    ctx: &LoadContext<'_>,
) -> Result<MountConfig, ConfigError> {
    let err = |msg: String| src.error(m.span(), msg);
    let (source, target, read_only) = match m.get_ref() {
        toml::Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            let read_only = match parts.as_slice() {
                [_, _] => false,
                [_, _, "ro"] => true,
                [_, _, "rw"] => false,
                [_, _, other] => {
                    return Err(err(format!("invalid mount option {other:?} in {s:?}: expected `ro` or `rw`")));
                }
                _ => {
                    return Err(err(format!(
                        "invalid mount {s:?}: expected \"source:target\" or \"source:target:ro\""
                    )));
                }
            };
            (parts[0].to_string(), parts[1].to_string(), read_only)
        }
        toml::Value::Table(t) => {
            if let Some(unknown) =
                t.keys().find(|k| !matches!(k.as_str(), "source" | "target" | "readonly" | "exclude"))
            {
                return Err(err(format!("unknown key `{unknown}` (expected `source`, `target`, `readonly`)")));
            }
            if t.contains_key("exclude") {
                return Err(err("`exclude` is not supported by this version of alca yet; remove it (alca will not ignore it silently)".into()));
            }
            let string = |key: &str| match t.get(key) {
                Some(toml::Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(err(format!("`{key}`: expected a string, got {}", other.type_str()))),
                None => Err(err(format!("`{key}` is required"))),
            };
            let read_only = match t.get("readonly") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(other) => {
                    return Err(err(format!("`readonly`: expected true or false, got {}", other.type_str())));
                }
            };
            (string("source")?, string("target")?, read_only)
        }
        other => return Err(err(format!("expected a string or a table, got {}", other.type_str()))),
    };
    if source.is_empty() {
        return Err(err("the source is empty".into()));
    }
    if !target.starts_with('/') {
        return Err(err(format!("the target must be an absolute path in the container, got {target:?}")));
    }
    if target.contains([',', '\0']) {
        return Err(err(format!("the target {target:?} cannot contain `,`")));
    }
    // As the engines read it: `.`, `..` and repeated `/` resolved.
    let target = match crate::fsutil::lexical(&target) {
        t if t == "/" => return Err(err("the target cannot be `/`".into())),
        t => t,
    };
    let source = resolve_source(&source, ctx).map_err(err)?;
    Ok(MountConfig { source, target, read_only })
}

/// Expands `~` and `$VAR`/`${VAR}` (an unset variable is an error) and makes
/// a relative path relative to the project root.
fn resolve_source(raw: &str, ctx: &LoadContext<'_>) -> Result<PathBuf, String> {
    let home = || ctx.home.as_ref().map(|h| h.display().to_string());
    let expanded = shellexpand::full_with_context(raw, home, |var: &str| match (ctx.env)(var) {
        Some(v) => Ok(Some(v)),
        None => Err(format!("environment variable ${var} is not set")),
    })
    .map_err(|e| format!("source {raw:?}: {}", e.cause))?;
    if expanded.contains(['\0', ':']) {
        return Err(format!("source {raw:?} expands to {expanded:?}, which contains `:`"));
    }
    if expanded.starts_with('~') {
        return Err(format!("source {raw:?}: cannot expand `~` (HOME is not set)"));
    }
    let path = Path::new(expanded.as_ref());
    Ok(if path.is_absolute() { path.to_path_buf() } else { ctx.project_root.join(path) })
}
