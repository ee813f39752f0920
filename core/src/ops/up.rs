//! `alca up`: create (or start) the project's sandbox container.

use std::path::PathBuf;

use crate::config::Config;
use crate::container;
use crate::plugin::PluginInstance;
use crate::project::Project;
use crate::report::Reporter;
use crate::runtime::{self, Selected};
use crate::spec::{self, state_name};
use crate::state::{Snapshot, State};
use crate::{Alca, Error};

use super::{check_not_moved, find_container, process_env};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Capture `commands.up` output (shown only if it fails).
    pub quiet: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UpReport {
    pub runtime: String,
    pub container_name: String,
    pub container_id: String,
    /// What `up` did: `created`, `started` or `already-running`.
    pub action: &'static str,
    pub setup_ran: bool,
    /// Configuration changes the running container does not have.
    pub drift: Vec<String>,
}

pub async fn up(alca: &Alca, options: &UpOptions, reporter: &dyn Reporter) -> Result<UpReport, Error> {
    let project = Project::discover(&alca.cwd)?;
    let config = project.load_config()?;
    let _lock = project.lock(|| reporter.step("Waiting for another alca command on this project to finish..."))?;

    let mut state = match State::load(&project)? {
        Some(s) => s,
        None => {
            let s = State::new();
            s.save(&project)?;
            reporter.step(&format!("Created {}", State::path(&project).display()));
            s
        }
    };

    let mut selected = runtime::select(alca, &config.runtime, state.runtime.as_deref(), reporter).await?;
    reporter.step(&format!("Using {}", selected.describe()));
    if let Some(old) = state.runtime.clone().filter(|old| old != selected.id()) {
        check_old_runtime(alca, &project, &state, &old, selected.id()).await?;
        state.container_id = None;
        state.setup_done_for = None;
    }
    state.runtime = Some(selected.id().to_string());

    let sources = mount_sources(&project, &config, reporter)?;

    let existing = find_container(&mut selected.plugin, &project, &state).await?;
    if let Some(info) = &existing {
        check_not_moved(&project, &state, info)?;
    }
    let (info, action) = match existing {
        Some(info) => match info.state {
            container::ContainerState::Running => {
                reporter.step(&format!("Container {} is already running", info.name));
                (info, "already-running")
            }
            container::ContainerState::Created | container::ContainerState::Exited => {
                reporter.step(&format!("Starting stopped container {}", info.name));
                selected.plugin.start(&info.id).await?;
                (info, "started")
            }
            container::ContainerState::Dead | container::ContainerState::Removing => {
                reporter.step(&format!("Replacing container {} (it is {})", info.name, state_name(info.state)));
                selected.plugin.remove(&info.id, true).await?;
                (create(&mut selected, &project, &config, &sources, &mut state, reporter).await?, "created")
            }
            other => {
                return Err(Error::BadContainerState {
                    name: info.name.clone(),
                    state: state_name(other).into(),
                    hint: format!(
                        "wait for it or resolve it with {}'s own CLI, or run `alca down` and `alca up` to recreate it",
                        selected.info.name
                    ),
                });
            }
        },
        None => (create(&mut selected, &project, &config, &sources, &mut state, reporter).await?, "created"),
    };

    if state.container_id.as_deref() != Some(info.id.as_str()) {
        state.container_id = Some(info.id.clone());
        if state.config.is_none() || action == "created" {
            state.config = Some(Snapshot::of(&config));
        }
    }
    state.save(&project)?;

    let drift = state.config.as_ref().map(|s| s.changes(&Snapshot::of(&config))).unwrap_or_default();
    if !drift.is_empty() {
        reporter.warn(&format!(
            "the configuration changed since container {} was created ({}); run `alca down` and `alca up` to apply it",
            state.container_name,
            drift.join(", ")
        ));
    }

    let mut setup_ran = false;
    if let Some(up_cmd) = &config.commands.up
        && state.setup_done_for.as_deref() != Some(info.id.as_str())
    {
        reporter.step("Running commands.up...");
        run_setup(&mut selected.plugin, &info, &config, &up_cmd.command, options.quiet).await?;
        state.setup_done_for = Some(info.id.clone());
        state.save(&project)?;
        setup_ran = true;
    }

    reporter.success("Environment ready");
    Ok(UpReport {
        runtime: selected.id().to_string(),
        container_name: info.name.clone(),
        container_id: info.id.clone(),
        action,
        setup_ran,
        drift,
    })
}

/// Creates and starts the container; the state records it before it starts,
/// so an interruption leaves nothing `up` or `down` cannot find.
async fn create(
    selected: &mut Selected,
    project: &Project,
    config: &Config,
    sources: &[PathBuf],
    state: &mut State,
    reporter: &dyn Reporter,
) -> Result<container::ContainerInfo, Error> {
    let mut spec = spec::container_spec(project, config, state, &process_env);
    // Mount the real directories, resolved now (`mount_sources`).
    for (mount, source) in spec.mounts.iter_mut().skip(1).zip(sources) {
        mount.source = source.display().to_string();
    }
    // Before any pull or create: a refusal leaves nothing behind.
    for warning in spec::fit_to_features(&mut spec, &selected.info)? {
        reporter.warn(&warning);
    }
    let plugin = &mut selected.plugin;
    if !plugin.image_exists(&config.image).await? {
        reporter.step(&format!("Pulling image {}", config.image));
        plugin.image_pull(&config.image).await?;
    }
    reporter.step(&format!("Creating container {}", state.container_name));
    let id = plugin.create(&spec).await?;
    state.container_id = Some(id.clone());
    state.config = Some(Snapshot::of(config));
    state.setup_done_for = None;
    state.save(project)?;
    plugin.start(&id).await?;
    let info =
        plugin.inspect(&id).await?.ok_or_else(|| Error::ContainerMissing { name: state.container_name.clone() })?;
    if info.state != container::ContainerState::Running {
        return Err(Error::NotRunning { name: info.name.clone(), state: state_name(info.state).into() });
    }
    reporter.step("Container started");
    Ok(info)
}

async fn run_setup(
    plugin: &mut PluginInstance,
    info: &container::ContainerInfo,
    config: &Config,
    command: &str,
    quiet: bool,
) -> Result<(), Error> {
    let req = container::ExecRequest {
        container: info.id.clone(),
        argv: vec!["sh".into(), "-c".into(), command.to_string()],
        tty: false,
        interactive: false,
        user: None,
        workdir: Some(config.workdir.clone()),
        env: spec::enter_env(config, &process_env),
    };
    let (code, output) = if quiet {
        let out = plugin.exec(&req).await?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (Some(out.exit_code), text)
    } else {
        let cmd = plugin.exec_plan(&req).await?;
        let status = cmd.run().await.map_err(|e| Error::io(format!("cannot run `{}`", cmd.display()), e))?;
        (status.code(), String::new())
    };
    if code == Some(0) { Ok(()) } else { Err(Error::SetupFailed { code, output }) }
}

/// The project's container may still be in the runtime the state names; do
/// not silently orphan it when the configuration switches runtimes.
async fn check_old_runtime(alca: &Alca, project: &Project, state: &State, old: &str, new: &str) -> Result<(), Error> {
    let Ok(mut previous) = runtime::probe(alca, old).await else { return Ok(()) };
    if !previous.availability.available {
        return Ok(());
    }
    if find_container(&mut previous.plugin, project, state).await?.is_some() {
        return Err(Error::RuntimeChanged {
            name: state.container_name.clone(),
            old: old.to_string(),
            new: new.to_string(),
        });
    }
    Ok(())
}

/// Bind sources must exist: inside the project alca creates missing ones (as
/// Docker would, but on every engine and owned by the user); outside it
/// refuses rather than let an engine create root-owned directories.
///
/// Returns each source resolved to the real directory it names. A source
/// inside the project must stay inside it once symbolic links are followed:
/// the agent can write the project, and a link it planted there must not
/// make the next container mount `/`.
fn mount_sources(project: &Project, config: &Config, reporter: &dyn Reporter) -> Result<Vec<PathBuf>, Error> {
    let mut resolved = Vec::with_capacity(config.mounts.len());
    for m in &config.mounts {
        let lexical = PathBuf::from(crate::fsutil::lexical(&m.source.display().to_string()));
        let inside = lexical.starts_with(&project.root);
        if !m.source.exists() {
            if !inside {
                return Err(Error::MountSource { path: m.source.clone(), config: config.path.clone() });
            }
            std::fs::create_dir_all(&lexical)
                .map_err(|e| Error::io(format!("cannot create mount source {}", m.source.display()), e))?;
            reporter.step(&format!("Created missing mount source {}", m.source.display()));
        }
        let real = lexical
            .canonicalize()
            .map_err(|e| Error::io(format!("cannot resolve mount source {}", m.source.display()), e))?;
        if inside && !real.starts_with(&project.root) {
            return Err(Error::MountEscapes { path: m.source.clone(), real, root: project.root.clone() });
        }
        resolved.push(real);
    }
    Ok(resolved)
}
