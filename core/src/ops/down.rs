//! `alca down`: stop and remove the project's sandbox container.

use crate::plugin::wit;
use crate::project::Project;
use crate::report::Reporter;
use crate::state::State;
use crate::{Alca, Error, runtime};

use super::project_containers;

/// Seconds the engine gives the container's processes to exit.
const STOP_GRACE_SECS: u32 = 10;

#[derive(Debug, Clone, serde::Serialize)]
pub struct DownReport {
    pub runtime: Option<String>,
    /// Names of the containers removed.
    pub removed: Vec<String>,
}

pub async fn down(alca: &Alca, reporter: &dyn Reporter) -> Result<DownReport, Error> {
    let project = Project::discover(&alca.cwd)?;
    let Some(mut state) = State::load(&project)? else {
        reporter.step("No sandbox was created for this project; nothing to stop");
        return Ok(DownReport { runtime: None, removed: Vec::new() });
    };
    let _lock = project.lock(|| reporter.step("Waiting for another alca command on this project to finish..."))?;

    // The container lives where the state says. Without that, ask the
    // configuration (which may be broken: down must still work).
    let mut plugin = match &state.runtime {
        Some(id) => alca.load_plugin(id).await?,
        None => {
            let choice = project.load_config().map(|c| c.runtime).unwrap_or(crate::config::RuntimeChoice::Auto);
            runtime::select(alca, &choice, None, reporter).await?.plugin
        }
    };

    // Every container alca made for this project carries its id as a label
    // (labels cannot change), including any a crashed `up` left behind.
    let targets: Vec<wit::ContainerInfo> = project_containers(&mut plugin, &state).await?;
    let mut removed = Vec::new();
    for info in targets {
        reporter.step(&format!("Stopping container {}", info.name));
        if info.state == wit::ContainerState::Running {
            match plugin.stop(&info.id, Some(STOP_GRACE_SECS)).await {
                Ok(()) => {}
                Err(e) if matches!(e.runtime_error(), Some(wit::RuntimeError::NotFound(_))) => {}
                Err(e) => reporter.warn(&format!("stopping {} failed ({e}); removing it anyway", info.name)),
            }
        }
        plugin.remove(&info.id, true).await?;
        removed.push(info.name);
    }

    state.container_id = None;
    state.setup_done_for = None;
    state.config = None;
    state.save(&project)?;
    if removed.is_empty() {
        reporter.success("No container was running");
    } else {
        reporter.success("Container stopped and removed");
    }
    Ok(DownReport { runtime: Some(plugin.id().to_string()), removed })
}
