//! `alca status`: what alca knows about the project's sandbox.

use std::path::PathBuf;

use serde::Serialize;

use crate::container;
use crate::project::Project;
use crate::spec::state_name;
use crate::state::{Snapshot, State};
use crate::{Alca, Error, runtime};

use super::find_container;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub project_root: PathBuf,
    pub config_path: PathBuf,
    pub runtime: Option<RuntimeReport>,
    /// `None` until the first `alca up`.
    pub state: Option<StateReport>,
    /// `None` when there is no container.
    pub container: Option<ContainerReport>,
    /// Configuration changes the container does not have yet.
    pub drift: Vec<String>,
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

pub async fn status(alca: &Alca) -> Result<StatusReport, Error> {
    let project = Project::discover(&alca.cwd)?;
    let config = project.load_config()?;
    let state = State::load(&project)?;
    let mut report = StatusReport {
        project_root: project.root.clone(),
        config_path: project.config_path.clone(),
        runtime: None,
        state: state.as_ref().map(|s| StateReport {
            project_id: s.project_id.clone(),
            container_name: s.container_name.clone(),
            created_at: s.created_at.to_string(),
        }),
        container: None,
        drift: Vec::new(),
    };

    let sticky = state.as_ref().and_then(|s| s.runtime.as_deref());
    let mut selected = runtime::select(alca, &config.runtime, sticky, &crate::Silent).await?;
    report.runtime = Some(RuntimeReport {
        id: selected.id().to_string(),
        name: selected.info.name.clone(),
        version: selected.availability.version.clone(),
    });
    let Some(state) = state else { return Ok(report) };
    if let Some(info) = find_container(&mut selected.plugin, &project, &state).await? {
        report.container = Some(ContainerReport {
            running: info.state == container::ContainerState::Running,
            state: state_name(info.state).to_string(),
            id: info.id,
            name: info.name,
            image: info.image,
            started_at: info.started_at,
            ip_addresses: info.ip_addresses,
        });
        if let Some(snapshot) = &state.config {
            report.drift = snapshot.changes(&Snapshot::of(&config));
        }
    }
    Ok(report)
}
