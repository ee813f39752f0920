//! One operation per command. Each returns data; rendering is the front end's.

mod down;
mod plugins;
mod run;
mod status;
mod up;

pub use down::{DownReport, down};
pub use plugins::{PluginReport, plugins};
pub use run::{RunOptions, run};
pub use status::{ContainerReport, RuntimeReport, StateReport, StatusReport, status};
pub use up::{UpOptions, UpReport, up};

use crate::Error;
use crate::plugin::{PluginInstance, wit};
use crate::project::Project;
use crate::spec::{self, LABEL_PROJECT_ID, LABEL_PROJECT_PATH};
use crate::state::State;

/// Reads the process environment (what `${VAR}` in `envs` refers to).
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The project's container: by the id or name in the state, else by its
/// project label (a container created by a run that crashed before saving
/// its id).
pub(crate) async fn find_container(
    plugin: &mut PluginInstance,
    state: &State,
) -> Result<Option<wit::ContainerInfo>, Error> {
    if let Some(info) = plugin.inspect(state.container_ref()).await? {
        return Ok(Some(info));
    }
    if state.container_id.is_some()
        && let Some(info) = plugin.inspect(&state.container_name).await?
    {
        return Ok(Some(info));
    }
    let mut labelled = project_containers(plugin, state).await?;
    labelled.sort_by_key(|c| c.state != wit::ContainerState::Running);
    Ok(labelled.into_iter().next())
}

/// Every container (running or not) labelled with the project's id.
pub(crate) async fn project_containers(
    plugin: &mut PluginInstance,
    state: &State,
) -> Result<Vec<wit::ContainerInfo>, Error> {
    let selector = [wit::LabelSelector { key: LABEL_PROJECT_ID.into(), value: Some(state.project_id.clone()) }];
    Ok(plugin.list_containers(&selector, true).await?)
}

/// A container made for this project in another directory mounts that
/// directory, not this one: refuse to use it.
pub(crate) fn check_not_moved(project: &Project, info: &wit::ContainerInfo) -> Result<(), Error> {
    match spec::label(info, LABEL_PROJECT_PATH) {
        Some(path) if !path.is_empty() && project.root != std::path::Path::new(path) => {
            Err(Error::ProjectMoved { old: path.into(), new: project.root.clone() })
        }
        _ => Ok(()),
    }
}
