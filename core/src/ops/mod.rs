//! One operation per command. Each returns data; rendering is the front end's.

mod cleanup;
mod conformance;
mod down;
mod hooks;
mod init;
mod install;
mod list;
mod network;
mod plugins;
mod run;
mod scaffold;
mod status;
mod up;

pub use cleanup::{CleanupReport, Orphan, Removal, cleanup_remove, cleanup_scan, orphan_reason};
pub use conformance::{CHECKS, CheckReport, Outcome, TestOptions, TestReport, plugin_test};
pub use down::{DownOptions, DownReport, down};
pub use hooks::HookPolicy;
pub use init::{
    GitignoreReport, InitError, InitReport, PresetCandidate, PresetChoice, PresetFetch, SkippedFile, Template,
    WrittenFile, init_check, init_template, init_update, preset_fetch, preset_write,
};
pub use install::{InstallReport, Prepared, RemoveReport, install_commit, install_prepare, plugin_remove, prune_cache};
pub use list::{ListReport, ListedContainer, UnavailableRuntime, list};
pub use network::NetworkStatus;
pub use plugins::{AvailabilityReport, PluginReport, ProgramReport, manifest_report, plugin_info, plugins};
pub use run::{RunOptions, run, stdin_has_input};
pub use scaffold::{BuildReport, Lang, NewOptions, NewReport, ScaffoldError, plugin_build, plugin_new};
pub use status::{ContainerReport, RuntimeReport, StateReport, StatusReport, status};
pub use up::{UpOptions, UpReport, up};

use std::path::PathBuf;

use crate::Error;
use crate::container;
use crate::plugin::PluginInstance;
use crate::project::Project;
use crate::spec::{self, LABEL_PROJECT_ID, LABEL_PROJECT_PATH};
use crate::state::State;

/// Reads the process environment (what `${VAR}` in `envs` refers to).
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whose a container is, by its labels. The state file lives in the
/// project directory, where the agent can write: alca never takes its word
/// alone for which container is the project's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// Made for this project, here.
    Ours,
    /// Made for this project in a directory it has left (no project with
    /// this id lives there any more).
    Moved(PathBuf),
    /// Another project's (or no project's) container.
    Foreign,
}

pub(crate) fn ownership(project: &Project, state: &State, info: &container::ContainerInfo) -> Ownership {
    if spec::label(info, LABEL_PROJECT_ID) != Some(state.project_id.as_str()) {
        return Ownership::Foreign;
    }
    let Some(path) = spec::label(info, LABEL_PROJECT_PATH).filter(|p| !p.is_empty()).map(PathBuf::from) else {
        return Ownership::Foreign;
    };
    if path == project.root {
        return Ownership::Ours;
    }
    // A copy of the project (same id) still living at the other path owns it.
    let there = Project { root: path.clone(), config_path: path.join(crate::config::FILE_NAME) };
    match State::load(&there) {
        Ok(Some(other)) if other.project_id == state.project_id => Ownership::Foreign,
        _ => Ownership::Moved(path),
    }
}

/// The project's container: by the id or name in the state, else by its
/// project label (a container created by a run that crashed before saving
/// its id). Containers that are not this project's are never returned.
pub(crate) async fn find_container(
    plugin: &mut PluginInstance,
    project: &Project,
    state: &State,
) -> Result<Option<container::ContainerInfo>, Error> {
    let mine = |info: &container::ContainerInfo| ownership(project, state, info) != Ownership::Foreign;
    if let Some(info) = plugin.inspect(state.container_ref()).await?.filter(mine) {
        return Ok(Some(info));
    }
    if state.container_id.is_some()
        && let Some(info) = plugin.inspect(&state.container_name).await?.filter(mine)
    {
        return Ok(Some(info));
    }
    let mut labelled = project_containers(plugin, project, state).await?;
    labelled.sort_by_key(|c| c.state != container::ContainerState::Running);
    Ok(labelled.into_iter().next())
}

/// Every container (running or not) labelled with the project's id that is
/// this project's (here, or left behind by a move).
pub(crate) async fn project_containers(
    plugin: &mut PluginInstance,
    project: &Project,
    state: &State,
) -> Result<Vec<container::ContainerInfo>, Error> {
    let selector = [container::LabelSelector { key: LABEL_PROJECT_ID.into(), value: Some(state.project_id.clone()) }];
    let mut found = plugin.list_containers(&selector, true).await?;
    found.retain(|info| match ownership(project, state, info) {
        Ownership::Foreign => {
            tracing::warn!(
                "container {} carries this project's id but belongs to the project at {}; left alone",
                info.name,
                spec::label(info, LABEL_PROJECT_PATH).unwrap_or("(no path)")
            );
            false
        }
        _ => true,
    });
    Ok(found)
}

/// A container made for this project in another directory mounts that
/// directory, not this one: refuse to use it.
pub(crate) fn check_not_moved(project: &Project, state: &State, info: &container::ContainerInfo) -> Result<(), Error> {
    match ownership(project, state, info) {
        Ownership::Moved(old) => Err(Error::ProjectMoved { old, new: project.root.clone() }),
        _ => Ok(()),
    }
}

/// `alca config show`: the project's configuration, merged and resolved.
pub fn config_show(alca: &crate::Alca) -> Result<crate::config::Config, Error> {
    Ok(Project::discover(&alca.cwd)?.load_config()?)
}

/// Seconds a container gets to stop before the engine kills it.
const STOP_GRACE_SECS: u32 = 10;

/// Stops (unless `now`: no grace period) and removes a container; one that
/// is already gone counts as removed.
pub(crate) async fn stop_and_remove(
    plugin: &mut PluginInstance,
    info: &container::ContainerInfo,
    now: bool,
    reporter: &dyn crate::report::Reporter,
) -> Result<(), Error> {
    let gone = |e: &crate::plugin::PluginError| matches!(e.runtime_error(), Some(container::RuntimeError::NotFound(_)));
    if info.state == container::ContainerState::Running && !now {
        match plugin.stop(&info.id, Some(STOP_GRACE_SECS)).await {
            Ok(()) => {}
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => reporter.warn(&format!("stopping {} failed ({e}); removing it anyway", info.name)),
        }
    }
    match plugin.remove(&info.id, true).await {
        Err(e) if gone(&e) => Ok(()),
        other => Ok(other?),
    }
}
