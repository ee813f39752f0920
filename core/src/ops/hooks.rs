//! `[hooks]`: the user's commands, run on the host around `up` and `down`.
//!
//! `sh -c <hook>` in the project directory, stdin closed, output shown (on
//! stderr when alca's stdout carries JSON). They are the user's own
//! commands, run with the user's rights, exactly as if typed in the shell;
//! plugins never see them.

use std::process::Stdio;

use crate::Error;
use crate::project::Project;
use crate::report::Reporter;

pub(crate) async fn run(
    project: &Project,
    hook: &'static str,
    command: &str,
    stdout_to_stderr: bool,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    reporter.step(&format!("Running {hook} hook..."));
    tracing::debug!("{hook} hook: sh -c {command:?} in {}", project.root.display());
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(&project.root).stdin(Stdio::null()).kill_on_drop(true);
    if stdout_to_stderr {
        cmd.stdout(std::io::stderr());
    }
    let status = cmd.status().await.map_err(|e| Error::io(format!("cannot run the {hook} hook with sh"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::HookFailed { hook, command: command.to_string(), code: status.code() })
    }
}
