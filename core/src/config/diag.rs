//! Configuration errors: `file:line:col`, the offending line with a caret,
//! and a hint (the nearest valid key for a typo).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A configuration file's text, kept so errors can show it.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Where a value is: its file and byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: Arc<SourceFile>,
    pub span: Range<usize>,
}

impl Loc {
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(&self.file, self.span.clone(), message)
    }
}

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do about it (e.g. the key that was probably meant).
    pub help: Option<String>,
    /// The lines holding the error, the number of the first, and the
    /// error's byte span within them.
    snippet: Option<Box<(String, usize, Range<usize>)>>,
}

impl ConfigError {
    /// An error about the whole file (it cannot be read, or lacks a key).
    pub fn file(path: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError { path: path.to_path_buf(), line: 1, column: 1, message: message.into(), help: None, snippet: None }
    }

    /// An error at `span` of `file`.
    pub fn at(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let text = &file.text;
        let start = floor_char(text, span.start.min(text.len()));
        let end = floor_char(text, span.end.clamp(start, text.len()));
        let (line, column) = line_col(text, start);
        // The lines the span covers (at most three), for the snippet.
        let first = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let mut last = text[end..].find('\n').map_or(text.len(), |i| end + i);
        if text[first..last].matches('\n').count() >= 3 {
            last = text[start..].find('\n').map_or(text.len(), |i| start + i);
        }
        let shown = text[first..last].to_string();
        let local = (start - first)..(end.min(last) - first);
        ConfigError {
            path: file.path.clone(),
            line,
            column,
            message: message.into(),
            help: None,
            snippet: Some(Box::new((shown, line, local))),
        }
    }

    /// `file:line:col: message` on one line (no snippet, no help).
    pub fn short(&self) -> String {
        format!("{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> ConfigError {
        self.help = Some(help.into());
        self
    }

    /// The same error, its message prefixed (e.g. with the key it is about).
    pub fn context(mut self, prefix: &str) -> ConfigError {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    /// A TOML or serde error of `file`, made readable: an unknown key gets
    /// the nearest valid one as a hint.
    pub fn from_toml(file: &SourceFile, e: &toml::de::Error) -> ConfigError {
        let raw = e.message().trim();
        let (message, help) = match unknown_key(raw) {
            Some((key, expected)) => {
                let message = format!("unknown key `{key}`");
                let best = expected
                    .iter()
                    .map(|c| (strsim::jaro_winkler(&key.to_lowercase(), &c.to_lowercase()), c))
                    .filter(|(score, _)| *score > 0.75)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, c)| c.clone());
                let all = expected.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
                let help = match best {
                    Some(best) => format!("did you mean `{best}`? (valid keys here: {all})"),
                    None => format!("valid keys here: {all}"),
                };
                (message, Some(help))
            }
            None => {
                let text = raw
                    .replacen("missing field", "missing key", 1)
                    .replace("expected i64", "expected an integer")
                    .replace("expected f64", "expected a number")
                    .replace("expected a boolean", "expected true or false")
                    .replace("expected a sequence", "expected an array");
                (text, None)
            }
        };
        let err = match e.span() {
            Some(span) => ConfigError::at(file, span, message),
            None => ConfigError::file(&file.path, message),
        };
        ConfigError { help, ..err }
    }
}

/// `unknown field `x`, expected one of `a`, `b`` (serde's text) → the key
/// and the valid ones.
fn unknown_key(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected: Vec<String> = rest.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((key.to_string(), expected))
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((text, line, span)) = self.snippet.as_deref() else {
            write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)?;
            if let Some(help) = &self.help {
                write!(f, "\n  = help: {help}")?;
            }
            return Ok(());
        };
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
        let path = self.path.display().to_string();
        // A zero-width span still gets a caret.
        let span = match text[span.start..].chars().next() {
            Some(c) if span.is_empty() => span.start..span.start + c.len_utf8(),
            _ => span.clone(),
        };
        let mut group = Level::ERROR.primary_title(&self.message).element(
            Snippet::source(text.as_str())
                .line_start(*line)
                .path(path.as_str())
                .annotation(AnnotationKind::Primary.span(span)),
        );
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let rendered = Renderer::plain().render(&[group]);
        // The caller says "error: " itself.
        f.write_str(rendered.strip_prefix("error: ").unwrap_or(&rendered))
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
