//! `mounts`: host paths in the container.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LoadContext;
use super::raw::{MountTable, StringOrTable};

/// A bind mount, its source resolved to an absolute host path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountConfig {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// One entry of `mounts`; a relative source is relative to `base` (the
/// directory of the file declaring it). Errors are plain text; the caller
/// locates them.
pub(super) fn parse(m: &StringOrTable<MountTable>, base: &Path, ctx: &LoadContext<'_>) -> Result<MountConfig, String> {
    let (source, target, read_only) = match m {
        StringOrTable::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            let read_only = match parts.as_slice() {
                [_, _] => false,
                [_, _, "ro"] => true,
                [_, _, "rw"] => false,
                [_, _, other] => {
                    return Err(format!("invalid mount option {other:?} in {s:?}: expected `ro` or `rw`"));
                }
                _ => return Err(format!("invalid mount {s:?}: expected \"source:target\" or \"source:target:ro\"")),
            };
            (parts[0].to_string(), parts[1].to_string(), read_only)
        }
        StringOrTable::Table(t) => {
            if t.exclude.as_ref().is_some_and(|e| !e.get().is_empty()) {
                return Err("`exclude` is not supported by this version of alca yet; remove it (alca will not \
                            ignore it silently)"
                    .into());
            }
            (t.source.get().clone(), t.target.get().clone(), t.readonly.as_ref().is_some_and(|r| *r.get()))
        }
    };
    if source.is_empty() {
        return Err("the source is empty".into());
    }
    if !target.starts_with('/') {
        return Err(format!("the target must be an absolute path in the container, got {target:?}"));
    }
    if target.contains([',', '\0']) {
        return Err(format!("the target {target:?} cannot contain `,`"));
    }
    // As the engines read it: `.`, `..` and repeated `/` resolved.
    let target = match crate::fsutil::lexical(&target) {
        t if t == "/" => return Err("the target cannot be `/`".into()),
        t => t,
    };
    let source = resolve_source(&source, base, ctx)?;
    Ok(MountConfig { source, target, read_only })
}

/// Expands `~` and `$VAR`/`${VAR}` (an unset variable is an error) and makes
/// a relative path relative to `base`.
fn resolve_source(raw: &str, base: &Path, ctx: &LoadContext<'_>) -> Result<PathBuf, String> {
    let expanded = ctx.expand(raw).map_err(|e| format!("source {raw:?}: {e}"))?;
    if expanded.contains(['\0', ':']) {
        return Err(format!("source {raw:?} expands to {expanded:?}, which contains `:`"));
    }
    if expanded.starts_with('~') {
        return Err(format!("source {raw:?}: cannot expand `~` (HOME is not set)"));
    }
    let path = Path::new(&expanded);
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    Ok(PathBuf::from(crate::fsutil::lexical(&joined.to_string_lossy())))
}
