//! `alca down`: stop and remove the project's sandbox container.

use crate::config::RuntimeChoice;
use crate::container;
use crate::plugin::PluginInstance;
use crate::project::Project;
use crate::report::Reporter;
use crate::spec::LABEL_PROJECT_PATH;
use crate::state::State;
use crate::{Alca, Error, runtime};

use super::project_containers;

/// Seconds the engine gives the container's processes to exit.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Remove the container at once, without the grace period for it to stop.
    pub force: bool,
    /// alca's stdout carries a report (JSON): hooks write to stderr.
    pub json: bool,
    /// Run hooks the user has not approved yet (approving them).
    pub allow_hooks: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DownReport {
    pub runtime: Option<String>,
    /// Names of the containers removed.
    pub removed: Vec<String>,
    /// Where an unreadable state file was set aside, if it was.
    pub state_set_aside: Option<std::path::PathBuf>,
}

pub async fn down(alca: &Alca, options: &DownOptions, reporter: &dyn Reporter) -> Result<DownReport, Error> {
    let project = Project::discover(&alca.cwd)?;
    if !State::path(&project).exists() {
        reporter.step("No sandbox was created for this project; nothing to stop");
        return Ok(DownReport { runtime: None, removed: Vec::new(), state_set_aside: None });
    }
    let _lock = project.lock(|| reporter.step("Waiting for another alca command on this project to finish..."))?;
    let mut state = match State::load(&project) {
        Ok(Some(state)) => state,
        Ok(None) => return Ok(DownReport { runtime: None, removed: Vec::new(), state_set_aside: None }),
        Err(Error::State { path, message }) => return recover(alca, &project, path, message, reporter).await,
        Err(e) => return Err(e),
    };

    // The container lives where the state says. Without that, ask the
    // configuration (which may be broken: down must still work).
    let mut plugin = match &state.runtime {
        Some(id) => alca.load_plugin(id).await?,
        None => configured_runtime(alca, &project, reporter).await?,
    };

    // Every container alca made for this project carries its id as a label
    // (labels cannot change), including any a crashed `up` left behind.
    let targets = project_containers(&mut plugin, &project, &state).await?;
    // The hook runs while the container still exists (e.g. to copy
    // something out of it); its failure does not keep the container.
    if !targets.is_empty() {
        match project.load_config() {
            Ok(config) => {
                if let Some(hook) = &config.hooks.pre_down
                    && let Err(e) = super::hooks::run(
                        alca,
                        &project,
                        "pre_down",
                        hook,
                        super::HookPolicy { allow: options.allow_hooks, to_stderr: options.json },
                        reporter,
                    )
                    .await
                {
                    let how = match e {
                        Error::HookNotApproved { .. } => {
                            " (approve it on a terminal or with `alca down --allow-hooks`)"
                        }
                        _ => "",
                    };
                    reporter.warn(&format!("{e}; removing the container anyway{how}"));
                }
            }
            Err(e) => reporter.warn(&format!("pre_down hook not run: the configuration does not load ({})", e.short())),
        }
    }
    crate::state::RunRecord::remove(alca.dirs.run_records().as_deref(), &state.project_id);
    let removed = remove_all(&mut plugin, targets, options.force, reporter).await?;
    // Then what `up` installed around the container (network isolation).
    let had_network = state.network.is_some();
    super::network::teardown(&mut plugin, &state.container_name.clone(), had_network, reporter).await;

    state.container_id = None;
    state.setup_done_for = None;
    state.created_from = None;
    state.network = None;
    state.save(&project)?;
    if removed.is_empty() {
        reporter.success("No container was running");
    } else {
        reporter.success("Container stopped and removed");
    }
    Ok(DownReport { runtime: Some(plugin.id().to_string()), removed, state_set_aside: None })
}

async fn configured_runtime(alca: &Alca, project: &Project, reporter: &dyn Reporter) -> Result<PluginInstance, Error> {
    let choice = project.load_config().map(|c| c.runtime).unwrap_or(RuntimeChoice::Auto);
    Ok(runtime::select(alca, &choice, None, reporter).await?.plugin)
}

async fn remove_all(
    plugin: &mut PluginInstance,
    targets: Vec<container::ContainerInfo>,
    now: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    for info in targets {
        reporter.step(&format!("Stopping container {}", info.name));
        super::stop_and_remove(plugin, &info, now, reporter).await?;
        removed.push(info.name);
    }
    Ok(removed)
}

async fn recover(
    alca: &Alca,
    project: &Project,
    path: std::path::PathBuf,
    message: String,
    reporter: &dyn Reporter,
) -> Result<DownReport, Error> {
    reporter.warn(&format!(
        "the state file {} is unreadable ({message}); removing the containers made for {} and setting the file aside",
        path.display(),
        project.root.display()
    ));
    let mut plugin = configured_runtime(alca, project, reporter).await?;
    let selector =
        [container::LabelSelector { key: LABEL_PROJECT_PATH.into(), value: Some(project.root.display().to_string()) }];
    let targets = plugin.list_containers(&selector, true).await?;
    let removed = remove_all(&mut plugin, targets, false, reporter).await?;
    for name in &removed {
        super::network::teardown(&mut plugin, name, true, reporter).await;
    }
    let aside =
        path.with_file_name(format!("{}.unreadable-{}", crate::state::FILE_NAME, jiff::Timestamp::now().as_second()));
    std::fs::rename(&path, &aside).map_err(|e| Error::io(format!("cannot move {} aside", path.display()), e))?;
    reporter.success(&format!(
        "Removed {} container(s); the unreadable state is now {}",
        removed.len(),
        aside.display()
    ));
    Ok(DownReport { runtime: Some(plugin.id().to_string()), removed, state_set_aside: Some(aside) })
}
