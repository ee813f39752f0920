//! From a failed CLI invocation to the contract's typed error, by the texts
//! the engines print (container-cli-contracts §2.5).

use alca_plugin_sdk::{CommandFailure, RuntimeError};

use crate::Flavor;

/// Engine unreachable: the daemon (docker) or the machine/socket (podman).
const NOT_AVAILABLE: &[&str] = &[
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "permission denied while trying to connect to the docker daemon",
    "cannot connect to podman",
    "unable to connect to podman socket",
    "error during connect",
];

/// The object does not exist.
const NOT_FOUND: &[&str] = &[
    "no such container",
    "no such object",
    "no such image",
    "image not known",
    "no container with name or id",
    "failed to find image",
];

/// Name taken, or the container is in the wrong state for the operation.
const CONFLICT: &[&str] =
    &["is already in use", "container state improper", "is not running", "is paused", "is restarting"];

/// Classifies a failure; anything unrecognised stays `command-failed` with
/// the stderr tail, so the user still sees what the engine said.
pub fn classify(flavor: &Flavor, failure: CommandFailure) -> RuntimeError {
    let text = failure.stderr_tail.to_lowercase();
    let first_line =
        || failure.stderr_tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    if NOT_AVAILABLE.iter().any(|m| text.contains(m)) {
        return RuntimeError::NotAvailable(format!("the {} engine is not reachable: {}", flavor.name, first_line()));
    }
    if NOT_FOUND.iter().any(|m| text.contains(m)) {
        return RuntimeError::NotFound(first_line());
    }
    if CONFLICT.iter().any(|m| text.contains(m)) {
        return RuntimeError::Conflict(first_line());
    }
    RuntimeError::CommandFailed(failure)
}
