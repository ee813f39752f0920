//! `alca list`: every alca container (running or not) in every runtime
//! alca can use, each runtime asked concurrently.
//!
//! An alca container is one carrying the `alca.project.id` label. A runtime
//! that cannot be asked (its engine is not installed or not running, its
//! plugin cannot be loaded, its listing failed) is reported, not an error,
//! unless no runtime at all could be asked.

use serde::Serialize;

use crate::container::{self, ContainerInfo};
use crate::plugin::PluginInstance;
use crate::spec::{self, LABEL_PROJECT_ID, LABEL_PROJECT_PATH};
use crate::{Alca, Error, runtime};

#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// Every alca container found, by runtime (in the registry's order:
    /// the built-ins, then installed plugins), then by name.
    pub containers: Vec<ListedContainer>,
    /// Runtimes whose containers could not be listed, and why.
    pub unavailable: Vec<UnavailableRuntime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedContainer {
    /// The id of the plugin whose runtime holds it.
    pub runtime: String,
    pub name: String,
    pub id: String,
    /// `running`, `exited`, `created`...
    pub state: String,
    pub running: bool,
    pub image: String,
    /// Its `alca.project.id` label.
    pub project_id: String,
    /// Its `alca.project.path` label (`None` when missing or empty).
    pub project_path: Option<String>,
    /// When the engine created it, as the engine reports it.
    pub created: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnavailableRuntime {
    pub runtime: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ListedContainer {
    fn of(runtime: &str, info: &ContainerInfo) -> ListedContainer {
        ListedContainer {
            runtime: runtime.to_string(),
            name: info.name.clone(),
            id: info.id.clone(),
            state: spec::state_name(info.state).to_string(),
            running: info.state == container::ContainerState::Running,
            image: info.image.clone(),
            project_id: spec::label(info, LABEL_PROJECT_ID).unwrap_or_default().to_string(),
            project_path: spec::label(info, LABEL_PROJECT_PATH).filter(|p| !p.is_empty()).map(str::to_string),
            created: info.created_at.clone(),
        }
    }
}

/// The selector for "every alca container".
pub(crate) fn all_alca_containers() -> [container::LabelSelector; 1] {
    [container::LabelSelector { key: LABEL_PROJECT_ID.into(), value: None }]
}

/// One runtime's answer: its containers, or why there are none to show.
/// The listing costs the engine a constant number of spawns, whatever the
/// number of containers (docker and podman: one `ls`, one `inspect` of all
/// it listed); only when it fails is the runtime probed (`detect`), to say
/// why.
async fn list_one(alca: &Alca, id: &str) -> Result<Vec<ListedContainer>, UnavailableRuntime> {
    let unavailable =
        |reason: String, hint: Option<String>| UnavailableRuntime { runtime: id.to_string(), reason, hint };
    let mut plugin: PluginInstance = match alca.load_plugin(id).await {
        Ok(p) => p,
        Err(e) => return Err(unavailable(e.to_string(), e.hint())),
    };
    let failure = match plugin.list_containers(&all_alca_containers(), true).await {
        Ok(infos) => {
            let mut rows: Vec<ListedContainer> = infos.iter().map(|i| ListedContainer::of(id, i)).collect();
            rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
            return Ok(rows);
        }
        Err(e) => e,
    };
    // A plugin that crashed or overran its budget cannot be asked again.
    let availability = match plugin.detect().await {
        Ok(a) => a,
        Err(_) => return Err(unavailable(format!("listing its containers failed: {failure}"), failure.hint())),
    };
    if !availability.available {
        let a = availability;
        return Err(unavailable(a.reason.unwrap_or_else(|| "not available".into()), a.hint));
    }
    Err(unavailable(format!("listing its containers failed: {failure}"), failure.hint()))
}

/// A built-in plugin outside this platform's auto-detection order.
fn foreign_builtin(alca: &Alca, id: &str) -> bool {
    let builtin = alca.registry.is_builtin(id);
    builtin && !runtime::preference().contains(&id)
}

/// Every alca container in every runtime alca can load (or in `only`, when
/// it names some), queried concurrently. Fails only when not one runtime
/// could be asked.
pub async fn list(alca: &Alca, only: &[String]) -> Result<ListReport, Error> {
    let ids = if only.is_empty() {
        alca.registry.ids()
    } else {
        let mut ids: Vec<String> = Vec::new();
        for id in only {
            if ids.contains(id) {
                continue;
            }
            if !alca.registry.knows(id) {
                return Err(Error::unknown_runtime_arg(id, alca.registry.ids()));
            }
            ids.push(id.clone());
        }
        ids
    };
    let answers = futures::future::join_all(ids.iter().map(|id| list_one(alca, id))).await;
    let mut report = ListReport { containers: Vec::new(), unavailable: Vec::new() };
    let mut asked = 0;
    for answer in answers {
        match answer {
            Ok(rows) => {
                asked += 1;
                report.containers.extend(rows);
            }
            // A built-in runtime this platform never picks by itself (Apple's
            // `container` on Linux) is not worth a note when it is absent,
            // unless it was asked for by name.
            Err(u) if only.is_empty() && foreign_builtin(alca, &u.runtime) => {}
            Err(u) => report.unavailable.push(u),
        }
    }
    // Installed plugins alca will not load (changed since the user
    // consented) may hold containers too: say so. (A runtime named with
    // `only` that cannot be loaded was reported when it was asked.)
    let unusable = if only.is_empty() { alca.registry.all_unusable() } else { &[] };
    for u in unusable.iter().filter(|u| u.installed) {
        report.unavailable.push(UnavailableRuntime {
            runtime: u.id.clone(),
            reason: format!("plugin `{}` cannot be used: {}", u.id, u.reason),
            hint: Some(u.hint.clone()),
        });
    }
    if asked == 0 {
        return Err(Error::NoRuntime {
            tried: report.unavailable.into_iter().map(|u| (u.runtime, u.reason, u.hint)).collect(),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{ContainerState, KeyValue};

    fn info(labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: "0123abcd".into(),
            name: "alca-0123456789ab".into(),
            image: "busybox".into(),
            state: ContainerState::Exited,
            labels: labels.iter().map(|(k, v)| KeyValue { key: k.to_string(), value: v.to_string() }).collect(),
            exit_code: Some(0),
            created_at: Some("2026-01-02T03:04:05.123Z".into()),
            started_at: None,
            ip_addresses: Vec::new(),
        }
    }

    #[test]
    fn rows_carry_the_labels() {
        let row = ListedContainer::of("podman", &info(&[(LABEL_PROJECT_ID, "p-1"), (LABEL_PROJECT_PATH, "/src/p")]));
        assert_eq!(row.runtime, "podman");
        assert_eq!(row.state, "exited");
        assert!(!row.running);
        assert_eq!(row.project_id, "p-1");
        assert_eq!(row.project_path.as_deref(), Some("/src/p"));
        assert_eq!(row.created.as_deref(), Some("2026-01-02T03:04:05.123Z"));
    }

    #[test]
    fn an_empty_path_label_is_no_path() {
        let row = ListedContainer::of("docker", &info(&[(LABEL_PROJECT_ID, "p-1"), (LABEL_PROJECT_PATH, "")]));
        assert_eq!(row.project_path, None);
        let row = ListedContainer::of("docker", &info(&[(LABEL_PROJECT_ID, "p-1")]));
        assert_eq!(row.project_path, None);
    }
}
