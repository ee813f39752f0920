use std::fmt;

use crate::{CommandFailure, RuntimeError, SpawnError};

/// The last `max` bytes of `bytes`, lossily decoded and trimmed: enough to say
/// what went wrong without flooding the user.
pub fn stderr_tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

impl RuntimeError {
    pub fn unsupported(operation: &str) -> Self {
        RuntimeError::Unsupported(format!("this runtime plugin does not implement `{operation}`"))
    }

    pub fn parse(what: impl fmt::Display) -> Self {
        RuntimeError::Parse(what.to_string())
    }

    /// What went wrong, for a person: the message, or the failed command
    /// with its exit code and the end of its stderr.
    pub fn text(&self) -> String {
        match self {
            RuntimeError::CommandFailed(failure) => failure.to_string(),
            RuntimeError::NotAvailable(s)
            | RuntimeError::NotFound(s)
            | RuntimeError::Conflict(s)
            | RuntimeError::InvalidSpec(s)
            | RuntimeError::Unsupported(s)
            | RuntimeError::Denied(s)
            | RuntimeError::TimedOut(s)
            | RuntimeError::Parse(s) => s.clone(),
        }
    }

    /// A short name for the variant, for logs and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeError::NotAvailable(_) => "not-available",
            RuntimeError::NotFound(_) => "not-found",
            RuntimeError::Conflict(_) => "conflict",
            RuntimeError::InvalidSpec(_) => "invalid-spec",
            RuntimeError::Unsupported(_) => "unsupported",
            RuntimeError::Denied(_) => "denied",
            RuntimeError::CommandFailed(_) => "command-failed",
            RuntimeError::TimedOut(_) => "timed-out",
            RuntimeError::Parse(_) => "parse",
        }
    }
}

impl fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{} {}` failed", self.program, self.args.join(" "))?;
        match self.exit_code {
            Some(code) => write!(f, " with exit code {code}")?,
            None => write!(f, " (killed by a signal)")?,
        }
        if !self.stderr_tail.is_empty() {
            write!(f, ": {}", self.stderr_tail)?;
        }
        Ok(())
    }
}

/// How a refused or failed spawn looks to alca: the program's absence is the
/// runtime's absence; a denial stays a denial so alca can show the grant.
impl From<SpawnError> for RuntimeError {
    fn from(err: SpawnError) -> Self {
        match err {
            SpawnError::Denied(msg) => RuntimeError::Denied(msg),
            SpawnError::ProgramNotFound(msg) => RuntimeError::NotAvailable(msg),
            SpawnError::TimedOut(out) => RuntimeError::TimedOut(format!(
                "the command ran out of time after {} ms{}",
                out.duration_ms,
                match stderr_tail(&out.stderr, 512) {
                    tail if tail.is_empty() => String::new(),
                    tail => format!("; it had printed: {tail}"),
                }
            )),
            SpawnError::Io(msg) => RuntimeError::NotAvailable(msg),
        }
    }
}
