//! `alca cleanup`: find the alca containers whose project is gone (orphans)
//! in every runtime alca can use, and remove those the user chose.
//!
//! The orphan rules, evaluated in order (the first that matches gives the
//! reason), are the reference tool's:
//! 1. the `alca.project.path` label is missing or empty;
//! 2. the project directory does not exist (other errors, such as a
//!    permission error, do not make an orphan);
//! 3. `<path>/.alca/state.json` does not exist;
//! 4. the state file cannot be read or parsed, or is empty;
//! 5. the state's project id is not the container's `alca.project.id`.
//!
//! A stopped container of a live project is not an orphan. Asking the user
//! is the front end's: [`cleanup_scan`] only finds, [`cleanup_remove`] only
//! removes what it is given (checking each again first).

use std::path::Path;

use serde::Serialize;

use crate::container::RuntimeError;
use crate::project::STATE_DIR;
use crate::state::{FILE_NAME, State};
use crate::{Alca, Error};

use super::list::{ListedContainer, UnavailableRuntime, list};

pub const NO_PATH_LABEL: &str = "no project path label";
pub const NO_PROJECT_DIR: &str = "project directory does not exist";
pub const NO_STATE_FILE: &str = "state file (.alca/state.json) does not exist";
pub const STATE_UNREADABLE: &str = "failed to load state file";
pub const STATE_EMPTY: &str = "state file is empty";
pub const ID_MISMATCH: &str = "project ID mismatch";

#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    #[serde(flatten)]
    pub container: ListedContainer,
    /// Why it is an orphan (one of the reasons above; an unreadable state
    /// file's reason says why it is unreadable).
    pub reason: String,
}

/// What `alca cleanup` found, and (unless it was a dry run) what it removed.
#[derive(Debug, Clone, Serialize)]
pub struct CleanupReport {
    pub orphans: Vec<Orphan>,
    /// alca containers that are not orphans (left alone).
    pub kept: usize,
    /// Runtimes that could not be asked, and why.
    pub unavailable: Vec<UnavailableRuntime>,
    /// Only found, not removed (`alca cleanup --json` without `--yes`).
    pub dry_run: bool,
    /// One entry per orphan that removal was attempted for.
    pub removals: Vec<Removal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub runtime: String,
    pub name: String,
    pub id: String,
    pub removed: bool,
    /// Why it was not removed.
    pub error: Option<String>,
}

/// Why the container labelled with `project_id` and `project_path` is an
/// orphan, or `None` if it is not.
pub fn orphan_reason(project_id: &str, project_path: Option<&str>) -> Option<String> {
    let Some(path) = project_path.filter(|p| !p.is_empty()) else {
        return Some(NO_PATH_LABEL.into());
    };
    let root = Path::new(path);
    match std::fs::metadata(root) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(NO_PROJECT_DIR.into()),
        // Cannot tell (permissions...): not an orphan.
        Err(_) => return None,
    }
    let state_path = root.join(STATE_DIR).join(FILE_NAME);
    if let Err(e) = std::fs::symlink_metadata(&state_path)
        && e.kind() == std::io::ErrorKind::NotFound
    {
        return Some(NO_STATE_FILE.into());
    }
    match State::load_from(&state_path) {
        Ok(None) => Some(NO_STATE_FILE.into()),
        Ok(Some(state)) if state.project_id != project_id => Some(ID_MISMATCH.into()),
        Ok(Some(_)) => None,
        Err(Error::State { message, .. }) if message == "it is empty" => Some(STATE_EMPTY.into()),
        Err(Error::State { message, .. }) => Some(format!("{STATE_UNREADABLE}: {message}")),
        Err(e) => Some(format!("{STATE_UNREADABLE}: {e}")),
    }
}

/// Every orphan in every runtime alca can ask (concurrently). Removes
/// nothing.
pub async fn cleanup_scan(alca: &Alca) -> Result<CleanupReport, Error> {
    let listed = list(alca, &[]).await?;
    let mut orphans = Vec::new();
    let mut kept = 0;
    for c in listed.containers {
        match orphan_reason(&c.project_id, c.project_path.as_deref()) {
            Some(reason) => orphans.push(Orphan { container: c, reason }),
            None => kept += 1,
        }
    }
    Ok(CleanupReport { orphans, kept, unavailable: listed.unavailable, dry_run: true, removals: Vec::new() })
}

/// Removes `chosen` (forcibly: a running orphan is killed), each through
/// its runtime's plugin; runtimes are worked on concurrently. A container
/// that is no longer an orphan (its project came back since the scan) is
/// left alone; one that is already gone counts as removed. Returns one
/// entry per container, in the order given.
pub async fn cleanup_remove(alca: &Alca, chosen: &[Orphan]) -> Vec<Removal> {
    let mut runtimes: Vec<&str> = Vec::new();
    for o in chosen {
        if !runtimes.contains(&o.container.runtime.as_str()) {
            runtimes.push(&o.container.runtime);
        }
    }
    let per_runtime = runtimes.iter().map(|rt| {
        let mine: Vec<&Orphan> = chosen.iter().filter(|o| o.container.runtime == *rt).collect();
        remove_in(alca, rt, mine)
    });
    let done: Vec<Removal> = futures::future::join_all(per_runtime).await.into_iter().flatten().collect();
    // Back in the order the caller gave.
    let mut ordered = Vec::with_capacity(done.len());
    for o in chosen {
        if let Some(r) = done.iter().find(|r| r.runtime == o.container.runtime && r.id == o.container.id) {
            ordered.push(r.clone());
        }
    }
    ordered
}

async fn remove_in(alca: &Alca, runtime: &str, orphans: Vec<&Orphan>) -> Vec<Removal> {
    let outcome = |o: &Orphan, error: Option<String>| Removal {
        runtime: runtime.to_string(),
        name: o.container.name.clone(),
        id: o.container.id.clone(),
        removed: error.is_none(),
        error,
    };
    let mut plugin = match alca.load_plugin(runtime).await {
        Ok(p) => p,
        Err(e) => return orphans.into_iter().map(|o| outcome(o, Some(e.to_string()))).collect(),
    };
    let mut out = Vec::new();
    for o in orphans {
        let c = &o.container;
        if orphan_reason(&c.project_id, c.project_path.as_deref()).is_none() {
            out.push(outcome(o, Some("it is no longer an orphan (its project is back); left alone".into())));
            continue;
        }
        let error = match plugin.remove(&c.id, true).await {
            Ok(()) => None,
            Err(e) if matches!(e.runtime_error(), Some(RuntimeError::NotFound(_))) => None,
            Err(e) if e.to_string().to_ascii_lowercase().contains("no such container") => None,
            Err(e) => Some(e.to_string()),
        };
        if error.is_none() {
            // What `up` installed around it: its firewall rules and network.
            super::network::teardown(&mut plugin, &c.name, true, &crate::report::Silent).await;
        }
        out.push(outcome(o, error));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_with_state(state: Option<&str>) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        if let Some(text) = state {
            std::fs::create_dir_all(tmp.path().join(".alca")).unwrap();
            std::fs::write(tmp.path().join(".alca/state.json"), text).unwrap();
        }
        tmp
    }

    fn state_of(id: &str) -> String {
        let mut s = State::new();
        s.project_id = id.into();
        serde_json::to_string(&s).unwrap()
    }

    fn reason(id: &str, dir: &tempfile::TempDir) -> Option<String> {
        orphan_reason(id, Some(dir.path().to_str().unwrap()))
    }

    #[test]
    fn a_live_project_is_not_an_orphan() {
        let p = project_with_state(Some(&state_of("id-1")));
        assert_eq!(reason("id-1", &p), None);
    }

    #[test]
    fn rules_in_order() {
        assert_eq!(orphan_reason("id-1", None).as_deref(), Some(NO_PATH_LABEL));
        assert_eq!(orphan_reason("id-1", Some("")).as_deref(), Some(NO_PATH_LABEL));

        let gone = tempfile::tempdir().unwrap();
        let path = gone.path().join("deleted-project");
        assert_eq!(orphan_reason("id-1", Some(path.to_str().unwrap())).as_deref(), Some(NO_PROJECT_DIR));

        let p = project_with_state(None);
        assert_eq!(reason("id-1", &p).as_deref(), Some(NO_STATE_FILE));

        let p = project_with_state(Some(""));
        assert_eq!(reason("id-1", &p).as_deref(), Some(STATE_EMPTY));
        let p = project_with_state(Some("  \n"));
        assert_eq!(reason("id-1", &p).as_deref(), Some(STATE_EMPTY));

        let p = project_with_state(Some("{ not json"));
        let r = reason("id-1", &p).unwrap();
        assert!(r.starts_with(&format!("{STATE_UNREADABLE}: ")), "{r}");

        let p = project_with_state(Some(&state_of("id-2")));
        assert_eq!(reason("id-1", &p).as_deref(), Some(ID_MISMATCH));
    }

    #[test]
    fn a_state_directory_that_is_a_file_is_unreadable() {
        let p = project_with_state(None);
        std::fs::write(p.path().join(".alca"), "not a directory").unwrap();
        let r = reason("id-1", &p).unwrap();
        assert!(r.starts_with(STATE_UNREADABLE), "{r}");
    }
}
