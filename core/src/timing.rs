//! alca's own time, phase by phase, for `-vv`: every line starts with
//! `time: ` and ends with how long after the process started (more exactly:
//! after the front end called [`start`]) the phase ended.
//!
//! Only alca's own phases are here (configuration, state, plugin load,
//! instantiation, export calls); the programs it spawns are timed by their
//! `spawn:` / `exit` lines at `-v` (see [`crate::plugin::broker`]).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();

/// Marks the start of the process; the front end calls it first thing.
/// Later calls change nothing.
pub fn start() {
    START.get_or_init(Instant::now);
}

/// How long since [`start`] (since the first use of this module when the
/// front end did not call it, e.g. in tests).
pub fn since_start() -> Duration {
    START.get_or_init(Instant::now).elapsed()
}

/// Milliseconds, for log lines.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Logs (at trace level: `-vv`) that `phase` is done.
pub fn mark(phase: impl std::fmt::Display) {
    tracing::trace!("time: {phase} (at {:.1} ms)", ms(since_start()));
}

/// Logs (at trace level: `-vv`) that `what` took `took`.
pub fn took(what: impl std::fmt::Display, took: Duration) {
    tracing::trace!("time: {what} in {:.2} ms (at {:.1} ms)", ms(took), ms(since_start()));
}
