//! From a failed `container` invocation to the contract's typed error, by
//! the texts Apple prints (container-cli-contracts §1.2 and §1.3).
//!
//! Two generations of error text: ≤ 0.9 prints `Error: notFound: "…"`
//! (the code, then the quoted message); ≥ 0.10 prints `Error: <message>`,
//! with nested causes as `(cause: "notFound: "…"")`, and multi-ID
//! commands (stop, delete) print each inner error with its code. Matching
//! is by substring, case-insensitively, never by exact text.

use alca_plugin_sdk::{CommandFailure, RuntimeError};

/// Why a runtime whose service does not answer is not available.
pub const NOT_STARTED_REASON: &str = "the container system service is not running";
/// What to do about it.
pub const NOT_STARTED_HINT: &str = "run `container system start` (the first time, `container system start --enable-kernel-install` also installs the Linux kernel the containers boot without asking)";

/// The service is not started: any output that mentions the XPC failure
/// or the hint Apple appends to it ("Ensure container system service has
/// been started with `container system start`.").
pub fn is_not_started(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("xpc connection error")
        || t.contains("container system start")
        || t.contains("apiserver is not running")
        || t.contains("failed to get a response from apiserver")
}

/// `container X not found` or `container with id X not found`, anywhere.
fn container_x_not_found(t: &str) -> bool {
    t.match_indices("container ").any(|(i, m)| {
        let rest = &t[i + m.len()..];
        let rest = rest.strip_prefix("with id ").unwrap_or(rest);
        let token_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        token_end > 0 && rest[token_end..].starts_with(" not found")
    })
}

/// The container or image does not exist, in any generation's words.
fn is_not_found(t: &str) -> bool {
    t.contains("container not found")
        || t.contains("image not found")
        || container_x_not_found(t)
        // ≤ 0.10 `delete`: notFound: "failed to delete one or more containers: ["foo"]"
        || t.contains("failed to delete one or more containers")
        // ≤ 0.9: the code prefix of any not-found error, also as a cause.
        || t.contains("notfound: \"")
}

const CONFLICT: &[&str] = &[
    "already exists",
    "is running and can not be deleted",
    "is not running",
    "invalidstate: \"",
    "attach is currently unsupported on already running containers",
];

/// Values the spec had that Apple refused.
const INVALID: &[&str] = &[
    "minimum memory amount allowed",
    "invalid label format",
    "is not a valid container id",
    "invalid publish",
    "invalid volume",
];

/// The line that says what went wrong: the first `Error: …` line (without
/// the prefix), or the last non-empty line.
pub fn message(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    if let Some(line) = lines().find_map(|l| l.strip_prefix("Error:")) {
        return line.trim().to_string();
    }
    lines().next_back().unwrap_or("").to_string()
}

/// Classifies a failure; anything unrecognised stays `command-failed` with
/// the stderr tail, so the user still sees what Apple said.
pub fn classify(failure: CommandFailure) -> RuntimeError {
    let text = failure.stderr_tail.to_ascii_lowercase();
    if is_not_started(&text) {
        return RuntimeError::NotAvailable(format!(
            "{NOT_STARTED_REASON}; {NOT_STARTED_HINT} ({})",
            message(&failure.stderr_tail)
        ));
    }
    if is_not_found(&text) {
        return RuntimeError::NotFound(message(&failure.stderr_tail));
    }
    if CONFLICT.iter().any(|m| text.contains(m)) {
        return RuntimeError::Conflict(message(&failure.stderr_tail));
    }
    if INVALID.iter().any(|m| text.contains(m)) {
        return RuntimeError::InvalidSpec(format!("Apple's `container` refused it: {}", message(&failure.stderr_tail)));
    }
    RuntimeError::CommandFailed(failure)
}

/// After `container exec` exited 1: was it Apple that failed (the
/// container is missing or stopped, the service is down) rather than the
/// command? Only `Error:` lines about this very container count, so a
/// command that fails with exit status 1 keeps its status.
pub fn exec_failure(container: &str, stderr: &str) -> Option<RuntimeError> {
    let id = container.to_ascii_lowercase();
    let errors: Vec<String> = stderr
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("Error:"))
        .map(|l| l.trim().to_ascii_lowercase())
        .collect();
    if errors.is_empty() {
        return None;
    }
    let any = |f: &dyn Fn(&str) -> bool| errors.iter().any(|e| f(e));
    if any(&|e| e.contains("xpc connection error") || e.contains("failed to get a response from apiserver"))
        || (is_not_started(stderr) && any(&|e| e.contains("interrupted")))
    {
        return Some(RuntimeError::NotAvailable(format!("{NOT_STARTED_REASON}; {NOT_STARTED_HINT}")));
    }
    if any(&|e| {
        e.contains(&format!("container {id} not found"))
            || e.contains(&format!("container with id {id} not found"))
            || e.contains(&format!("container not found: {id}"))
    }) {
        return Some(RuntimeError::NotFound(message(stderr)));
    }
    if any(&|e| e.contains(&format!("container {id} is not running"))) {
        return Some(RuntimeError::Conflict(message(stderr)));
    }
    None
}
