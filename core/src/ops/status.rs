//! `alca status`: what alca knows about the project's sandbox.

use std::path::PathBuf;

use serde::Serialize;

use crate::container;
use crate::drift::{Blueprint, Change};
use crate::project::Project;
use crate::spec::state_name;
use crate::state::State;
use crate::{Alca, Error, runtime};

use super::find_container;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Whether a `.alca.toml` was found (walking up from the current
    /// directory); when not, the other fields are empty.
    pub initialized: bool,
    pub project_root: PathBuf,
    pub config_path: PathBuf,
    /// Why no runtime could be used (the report stops there).
    pub runtime_error: Option<String>,
    /// Why the state file could not be read (the report stops there).
    pub state_error: Option<String>,
    /// Why the runtime could not say how the container is.
    pub container_error: Option<String>,
    pub runtime: Option<RuntimeReport>,
    /// `None` until the first `alca up`.
    pub state: Option<StateReport>,
    /// `None` when there is no container.
    pub container: Option<ContainerReport>,
    /// Configuration changes the container does not have yet.
    /// How the configuration differs from what the container was created
    /// from (`alca up -f` rebuilds it).
    pub drift: Vec<Change>,
    /// Network isolation (`None` when the configuration was not read).
    pub network: Option<super::NetworkStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuntimeReport {
    pub id: String,
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub project_id: String,
    pub container_name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerReport {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `running`, `exited`, `created`...
    pub state: String,
    pub running: bool,
    pub started_at: Option<String>,
    pub ip_addresses: Vec<String>,
}

/// The project's status. Like the reference tool's, it is a report, not a
/// check: only a configuration that does not load is an error; no project,
/// no runtime or an unreadable state are reported (and exit 0).
/// `detect`: ask the runtime whether it is available and its version
/// (`alca status -v`). Without it, a project whose container the state
/// names costs one engine spawn: the inspect (the runtime is probed only if
/// that fails, to say why).
pub async fn status(alca: &Alca, detect: bool) -> Result<StatusReport, Error> {
    let mut report = StatusReport {
        initialized: false,
        project_root: alca.cwd.clone(),
        config_path: alca.cwd.join(crate::config::FILE_NAME),
        runtime_error: None,
        state_error: None,
        container_error: None,
        runtime: None,
        state: None,
        container: None,
        drift: Vec::new(),
        network: None,
    };
    let project = match Project::discover(&alca.cwd) {
        Ok(p) => p,
        Err(Error::NoProject { .. }) => return Ok(report),
        Err(e) => return Err(e),
    };
    report.initialized = true;
    report.project_root = project.root.clone();
    report.config_path = project.config_path.clone();
    let config = project.load_config()?;
    let state = match State::load(&project) {
        Ok(s) => s,
        Err(e) => {
            report.state_error = Some(match e.hint() {
                Some(hint) => format!("{e}\n{hint}"),
                None => e.to_string(),
            });
            return Ok(report);
        }
    };
    report = StatusReport {
        state: state.as_ref().map(|s| StateReport {
            project_id: s.project_id.clone(),
            container_name: s.container_name.clone(),
            created_at: s.created_at.to_string(),
        }),
        ..report
    };

    report.network = Some(super::network::status(&config, state.as_ref(), false).await);
    let sticky = state.as_ref().and_then(|s| s.runtime.as_deref());

    // The fast path: the runtime the state names, asked only for the
    // container (with the firewall read at the same time).
    if !detect
        && let (Some(id), Some(st)) = (runtime::pinned(&config.runtime, sticky), state.as_ref())
        && st.container_id.is_some()
        && let Ok(mut plugin) = alca.load_plugin(id).await
    {
        let (found, network) =
            tokio::join!(find_container(&mut plugin, &project, st), super::network::status(&config, Some(st), true));
        crate::timing::mark("container and firewall asked");
        if let Ok(found) = found {
            report.runtime =
                Some(RuntimeReport { id: id.to_string(), name: plugin.info().name.clone(), version: None });
            report.network = Some(match &found {
                Some(_) => network,
                None => super::network::status(&config, Some(st), false).await,
            });
            fill_container(&mut report, &project, &config, st, found);
            crate::timing::mark("drift compared");
            return Ok(report);
        }
    }

    let mut selected = match runtime::select(alca, &config.runtime, sticky, &crate::Silent).await {
        Ok(s) => s,
        Err(e) => {
            report.runtime_error = Some(match e.hint() {
                Some(hint) => format!("{e}\n{hint}"),
                None => e.to_string(),
            });
            return Ok(report);
        }
    };
    report.runtime = Some(RuntimeReport {
        id: selected.id().to_string(),
        name: selected.info.name.clone(),
        version: selected.availability.version.clone(),
    });
    let Some(state) = state else { return Ok(report) };
    let found = match find_container(&mut selected.plugin, &project, &state).await {
        Ok(found) => found,
        Err(e) => {
            report.container_error = Some(match e.hint() {
                Some(hint) => format!("{e}\n{hint}"),
                None => e.to_string(),
            });
            return Ok(report);
        }
    };
    report.network = Some(super::network::status(&config, Some(&state), found.is_some()).await);
    fill_container(&mut report, &project, &config, &state, found);
    Ok(report)
}

fn fill_container(
    report: &mut StatusReport,
    project: &Project,
    config: &crate::config::Config,
    state: &State,
    found: Option<container::ContainerInfo>,
) {
    if let Some(info) = found {
        report.container = Some(ContainerReport {
            running: info.state == container::ContainerState::Running,
            state: state_name(info.state).to_string(),
            id: info.id,
            name: info.name,
            image: info.image,
            started_at: info.started_at,
            ip_addresses: info.ip_addresses,
        });
        if let Some(was) = &state.created_from {
            report.drift = was.changes(&Blueprint::of(project, config, state));
        }
    }
}
