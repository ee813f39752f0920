//! `alca run <cmd...>`: a command in the sandbox, attached to the terminal.

use crate::container;
use crate::plugin::AttachedCommand;
use crate::project::Project;
use crate::spec::{self, state_name};
use crate::state::State;
use crate::{Alca, Error, runtime};

use super::{check_not_moved, find_container, process_env};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub argv: Vec<String>,
    /// Allocate a terminal in the container (alca's stdin and stdout are terminals).
    pub tty: bool,
}

/// Prepares the checked command; the caller runs it (replacing alca, so the
/// command's exit status is alca's).
pub async fn run(alca: &Alca, options: &RunOptions) -> Result<AttachedCommand, Error> {
    let project = Project::discover(&alca.cwd)?;
    let config = project.load_config()?;
    let state = State::load(&project)?.ok_or(Error::NotUp)?;

    // The container lives where the state says; no need to probe others.
    let mut plugin = match &state.runtime {
        Some(id) => alca.load_plugin(id).await?,
        None => runtime::select(alca, &config.runtime, None, &crate::Silent).await?.plugin,
    };
    let info = find_container(&mut plugin, &project, &state)
        .await?
        .ok_or_else(|| Error::ContainerMissing { name: state.container_name.clone() })?;
    check_not_moved(&project, &state, &info)?;
    if info.state != container::ContainerState::Running {
        return Err(Error::NotRunning { name: info.name.clone(), state: state_name(info.state).into() });
    }

    let req = container::ExecRequest {
        container: info.id.clone(),
        argv: spec::run_argv(&config, &options.argv),
        tty: options.tty,
        interactive: true,
        user: None,
        workdir: Some(config.workdir.clone()),
        env: spec::enter_env(&config, &process_env),
    };
    let cmd = plugin.exec_plan(&req).await?;
    tracing::debug!("exec: {}", cmd.display());
    Ok(cmd)
}
