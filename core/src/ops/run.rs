//! `alca run <cmd...>`: a command in the sandbox, attached to the terminal.
//!
//! The happy path costs one engine CLI spawn, the exec itself: the
//! container's id comes from the state, trusted because `alca up` left a
//! record of it outside the project ([`RunRecord`]). Only when the engine
//! refuses the exec does alca inspect, to say why (container gone, stopped,
//! moved); a command that ran exits with its own status.

use std::process::ExitStatus;

use crate::container;
use crate::plugin::{AttachedCommand, PluginInstance};
use crate::project::Project;
use crate::spec::{self, state_name};
use crate::state::{RunRecord, State};
use crate::{Alca, Error, runtime};

use super::{check_not_moved, find_container, process_env};

/// What the engine CLIs exit with when they, not the command, failed (a
/// missing or stopped container: docker and Apple `container` 1, podman
/// 125). A command may exit so too: alca then asks the engine, once.
const ENGINE_FAILED: [i32; 2] = [1, 125];

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub argv: Vec<String>,
    /// Allocate a terminal in the container (alca's stdin and stdout are terminals).
    pub tty: bool,
    /// Pass alca's stdin to the command ([`stdin_has_input`]).
    pub interactive: bool,
}

/// Whether alca's stdin can give the command anything: not when it is
/// closed or `/dev/null` (as agents often start their tools), where the
/// engine then need not hold a stdin stream open for the exec.
pub fn stdin_has_input() -> bool {
    let Ok(stdin) = rustix::fs::fstat(std::io::stdin()) else { return false };
    let Ok(null) = rustix::fs::stat("/dev/null") else { return true };
    let is_char = |st: &rustix::fs::Stat| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice
    };
    !(is_char(&stdin) && is_char(&null) && stdin.st_rdev == null.st_rdev)
}

/// Runs the command in the project's container, attached to alca's
/// terminal, and returns its exit status (128 + the signal when a signal
/// ended it).
pub async fn run(alca: &Alca, options: &RunOptions) -> Result<i32, Error> {
    let project = Project::discover(&alca.cwd)?;
    let config = project.load_config()?;
    let state = State::load(&project)?.ok_or(Error::NotUp)?;
    crate::timing::mark("state read");

    // The container lives where the state says; no need to probe others.
    let load = || async {
        match &state.runtime {
            Some(id) => alca.load_plugin(id).await,
            None => Ok(runtime::select(alca, &config.runtime, None, &crate::Silent).await?.plugin),
        }
    };
    let mut plugin = load().await?;
    let request = |id: &str| container::ExecRequest {
        container: id.to_string(),
        argv: spec::run_argv(&config, &options.argv),
        tty: options.tty,
        interactive: options.interactive,
        user: None,
        workdir: Some(config.workdir.clone()),
        env: spec::enter_env(&config, &process_env),
    };

    if let Some(record) = RunRecord::trusted(alca.dirs.run_records().as_deref(), &project, &state) {
        let cmd = plugin.exec_plan(&request(&record.container_id)).await?;
        // Freed before the command starts (about 0.2 ms here) rather than
        // held for as long as it runs, which for an agent's session may be
        // hours: the plugin's memory and compiled code. Any warning it has
        // left to print comes out now, not in the middle of the command's
        // output.
        drop(plugin);
        crate::timing::mark("plugin freed");
        let code = attached(&cmd).await?;
        crate::timing::mark("command exited");
        if !ENGINE_FAILED.contains(&code) {
            return Ok(code);
        }
        // The engine may have refused: explain it if so; otherwise the
        // command itself exited so.
        explain(&mut load().await?, &project, &state).await?;
        return Ok(code);
    }

    let info = explain(&mut plugin, &project, &state).await?;
    let cmd = plugin.exec_plan(&request(&info.id)).await?;
    attached(&cmd).await
}

/// The project's running container, or why there is none to run in.
async fn explain(
    plugin: &mut PluginInstance,
    project: &Project,
    state: &State,
) -> Result<container::ContainerInfo, Error> {
    let info = find_container(plugin, project, state)
        .await?
        .ok_or_else(|| Error::ContainerMissing { name: state.container_name.clone() })?;
    check_not_moved(project, state, &info)?;
    if info.state != container::ContainerState::Running {
        return Err(Error::NotRunning { name: info.name.clone(), state: state_name(info.state).into() });
    }
    Ok(info)
}

/// Runs `cmd` in the foreground; its exit status, 128 + N for signal N.
async fn attached(cmd: &AttachedCommand) -> Result<i32, Error> {
    let status = cmd.run_in_foreground().await.map_err(|e| Error::io(format!("cannot run `{}`", cmd.display()), e))?;
    Ok(exit_code(status))
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
