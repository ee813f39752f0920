//! `[hooks]`: the user's commands, run on the host around `up` and `down`.
//!
//! `sh -c <hook>` in the project directory, stdin closed, output shown (on
//! stderr when alca's stdout carries JSON). They run with the user's rights,
//! outside the sandbox; plugins never see them.
//!
//! The sandbox can write the project directory, so it can write
//! `.alca.toml` (or drop a `.alca.x.toml` that an `includes` glob picks
//! up): a hook is code the agent could plant to run on the host at the next
//! `alca up`. So a hook runs only once the user approved that exact
//! command for that project: alca asks on a terminal (showing it), and
//! records the approval in its own data directory, which the sandbox cannot
//! write. Without a terminal an unapproved hook does not run (`up` fails,
//! `down` warns) unless `--allow-hooks` says the user approves it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use sha2::{Digest, Sha256};

use crate::project::Project;
use crate::report::Reporter;
use crate::{Alca, Error};

/// How hooks may run in this command.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookPolicy {
    /// The user approves every hook of this run (`--allow-hooks`).
    pub allow: bool,
    /// alca's stdout carries a report (JSON): hooks write to stderr.
    pub to_stderr: bool,
}

pub(crate) async fn run(
    alca: &Alca,
    project: &Project,
    hook: &'static str,
    command: &str,
    policy: HookPolicy,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    approve(alca, project, hook, command, policy, reporter)?;
    reporter.step(&format!("Running {hook} hook..."));
    tracing::debug!("{hook} hook: sh -c {command:?} in {}", project.root.display());
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(&project.root).stdin(Stdio::null()).kill_on_drop(true);
    if policy.to_stderr {
        cmd.stdout(std::io::stderr());
    }
    let status = cmd.status().await.map_err(|e| Error::io(format!("cannot run the {hook} hook with sh"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::HookFailed { hook, command: command.to_string(), code: status.code() })
    }
}

/// Checks (or asks for, and records) the user's approval of `command`.
fn approve(
    alca: &Alca,
    project: &Project,
    hook: &'static str,
    command: &str,
    policy: HookPolicy,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let file = alca.dirs.approved_hooks();
    let key = project.root.display().to_string();
    let digest = format!("{hook}:{:x}", Sha256::digest(command.as_bytes()));
    let mut approved = file.as_deref().map(read).unwrap_or_default();
    if approved.get(&key).is_some_and(|list| list.contains(&digest)) {
        return Ok(());
    }
    if !(policy.allow || reporter.confirm(&question(hook, command))) {
        return Err(Error::HookNotApproved { hook, command: command.to_string() });
    }
    // No data directory: nowhere to remember; ask every time.
    let Some(file) = file else { return Ok(()) };
    let list = approved.entry(key).or_default();
    // The previous approval of this hook no longer applies.
    list.retain(|d| !d.starts_with(&format!("{hook}:")));
    list.push(digest);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let text = serde_json::to_string_pretty(&approved).expect("approvals serialize") + "\n";
    crate::fsutil::write_atomic(&file, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot record the hook's approval in {}", file.display()), e))
}

fn question(hook: &str, command: &str) -> String {
    format!(
        "The {hook} hook of this project runs on your machine, outside the sandbox:\n\n    {}\n\n\
         The sandbox can write .alca.toml; run this hook (and again until it changes)?",
        command.replace('\n', "\n    ")
    )
}

fn read(file: &Path) -> BTreeMap<String, Vec<String>> {
    crate::fsutil::read_regular(file, 4 << 20, true)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}
