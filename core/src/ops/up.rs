//! `alca up`: create (or start) the project's sandbox container.

use std::path::PathBuf;

use crate::config::Config;
use crate::container;
use crate::drift::{Blueprint, Change};
use crate::plugin::PluginInstance;
use crate::project::Project;
use crate::report::Reporter;
use crate::runtime::{self, Selected};
use crate::spec::{self, state_name};
use crate::state::State;
use crate::{Alca, Error};

use super::{check_not_moved, find_container, process_env};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Capture `commands.up` output (shown only if it fails).
    pub quiet: bool,
    /// Rebuild the container without asking when the configuration drifted.
    pub force: bool,
    /// alca's stdout carries a report (JSON): hooks write to stderr.
    pub json: bool,
    /// Run hooks the user has not approved yet (approving them).
    pub allow_hooks: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UpReport {
    pub runtime: String,
    pub container_name: String,
    pub container_id: String,
    /// What `up` did: `created`, `rebuilt`, `started`, `already-running`,
    /// or `adopted` (a container Alcatraz created).
    pub action: &'static str,
    pub setup_ran: bool,
    /// How the configuration differs from what the container was created
    /// from (empty after a rebuild).
    pub drift: Vec<Change>,
    pub post_up_ran: bool,
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

    // A project whose container the runtime already holds: ask it about the
    // container first, and whether it is available only if more is needed.
    let known = !state.is_alcatraz() && state.container_id.is_some();
    let mut selected = match runtime::pinned(&config.runtime, state.runtime.as_deref()).filter(|_| known) {
        Some(id) => runtime::unprobed(alca, id).await?,
        None => runtime::select(alca, &config.runtime, state.runtime.as_deref(), reporter).await?,
    };
    reporter.step(&format!("Using {}", selected.describe()));
    if let Some(old) = state.runtime.clone().filter(|old| old != selected.id()) {
        check_old_runtime(alca, &project, &state, &old, selected.id()).await?;
        state.container_id = None;
        state.setup_done_for = None;
        state.created_from = None;
    }
    state.runtime = Some(selected.id().to_string());

    let sources = mount_sources(&project, &config, reporter)?;

    let mut existing = match find_container(&mut selected.plugin, &project, &state).await {
        Ok(found) => found,
        Err(e) if !selected.probed => {
            // Say "not running" when that is why.
            selected.ensure_probed().await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let mut adopted = false;
    if let Some(info) = &existing {
        check_not_moved(&project, &state, info)?;
        if state.is_alcatraz() {
            // Found by its name (Alcatraz records no id): the engine's id
            // comes from the label listing, which alca checks.
            let listed = super::project_containers(&mut selected.plugin, &project, &state).await?;
            let id = listed.iter().find(|c| c.name == info.name).map_or_else(|| info.id.clone(), |c| c.id.clone());
            adopt(&project, &mut state, &id, &info.name, reporter);
            adopted = true;
        }
    }
    if let Some(info) = existing.as_mut()
        && let Some(id) = state.container_id.as_ref().filter(|_| adopted)
    {
        info.id = id.clone();
    }

    // Drift: only against a container that exists (after `down` the next
    // `up` simply creates one from the configuration).
    let wanted = Blueprint::of(&project, &config, &state);
    let mut drift = match (&existing, &state.created_from) {
        (Some(_), Some(was)) => was.changes(&wanted),
        _ => Vec::new(),
    };
    let mut rebuild = false;
    if let Some(info) = existing.as_ref().filter(|_| !drift.is_empty()) {
        let lines: Vec<String> = drift.iter().map(|c| format!("  {c}")).collect();
        reporter.warn(&format!(
            "the configuration changed since container {} was created:\n{}",
            info.name,
            lines.join("\n")
        ));
        if options.force {
            reporter.step("Rebuilding the container with the new configuration (-f)");
            rebuild = true;
        } else if reporter.confirm("Rebuild the container with the new configuration?") {
            rebuild = true;
        } else {
            reporter.step("Keeping the existing container; run `alca up -f` to rebuild it with the new configuration");
        }
    }
    if rebuild && let Some(info) = existing.take() {
        selected.ensure_probed().await?;
        // Before the old container goes: a new one this runtime cannot
        // create would leave the project with none.
        spec::fit(&mut spec::container_spec(&project, &config, &state, &process_env), &target(&selected, &config))?;
        reporter.step(&format!("Removing container {} for the rebuild", info.name));
        super::stop_and_remove(&mut selected.plugin, &info, options.force, reporter).await?;
        state.container_id = None;
        state.setup_done_for = None;
        state.created_from = None;
        state.save(&project)?;
        drift.clear();
    }

    // Network isolation: in force before the container is created or
    // started. A container created without it is not started as it is.
    let isolate = crate::netiso::wanted(&config);
    if isolate {
        if let Some(info) = &existing
            && !super::network::created_on_network(&state)
        {
            return Err(Error::Isolation {
                message: format!(
                    "container {} was created without a network of its own, so the firewall cannot isolate it",
                    info.name
                ),
                hint: format!("run `alca up -f` to recreate it isolated; {}", crate::netiso::OPT_OUT),
            });
        }
        super::network::prepare(&mut selected.plugin, &project, &config, &mut state, existing.is_some(), reporter)
            .await?;
    }

    let (info, action) = match existing {
        Some(info) => match info.state {
            container::ContainerState::Running => {
                reporter.step(&format!("Container {} is already running", info.name));
                (info, if adopted { "adopted" } else { "already-running" })
            }
            container::ContainerState::Created | container::ContainerState::Exited => {
                selected.ensure_probed().await?;
                reporter.step(&format!("Starting stopped container {}", info.name));
                selected.plugin.start(&info.id).await?;
                (info, if adopted { "adopted" } else { "started" })
            }
            container::ContainerState::Dead | container::ContainerState::Removing => {
                selected.ensure_probed().await?;
                spec::fit(
                    &mut spec::container_spec(&project, &config, &state, &process_env),
                    &target(&selected, &config),
                )?;
                reporter.step(&format!("Replacing container {} (it is {})", info.name, state_name(info.state)));
                selected.plugin.remove(&info.id, true).await?;
                drift.clear();
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
        None => {
            selected.ensure_probed().await?;
            let info = create(&mut selected, &project, &config, &sources, &mut state, reporter).await?;
            (info, if rebuild { "rebuilt" } else { "created" })
        }
    };

    if state.container_id.as_deref() != Some(info.id.as_str()) {
        state.container_id = Some(info.id.clone());
    }
    state.save(&project)?;
    if isolate {
        super::network::verify(&mut selected.plugin, &info, &state).await?;
    } else if state.network.is_some() && !super::network::created_on_network(&state) {
        // Isolation was turned off and the container left the network.
        super::network::teardown(&mut selected.plugin, &state.container_name.clone(), true, reporter).await;
        state.network = None;
        state.save(&project)?;
    }

    // `alca run` may now exec into this container without asking first.
    crate::state::RunRecord {
        project_id: state.project_id.clone(),
        project_root: project.root.clone(),
        runtime: selected.id().to_string(),
        container_id: info.id.clone(),
    }
    .save(alca.dirs.run_records().as_deref());

    let mut setup_ran = false;
    if let Some(up_cmd) = &config.commands.up
        && state.setup_done_for.as_deref() != Some(info.id.as_str())
    {
        reporter.step("Running commands.up...");
        run_setup(&mut selected.plugin, &info, &config, &up_cmd.command, options.quiet || options.json).await?;
        state.setup_done_for = Some(info.id.clone());
        state.save(&project)?;
        setup_ran = true;
    }

    let mut post_up_ran = false;
    if let Some(hook) = &config.hooks.post_up {
        let policy = super::HookPolicy { allow: options.allow_hooks, to_stderr: options.json };
        super::hooks::run(alca, &project, "post_up", hook, policy, reporter).await?;
        post_up_ran = true;
    }

    reporter.success("Environment ready");
    Ok(UpReport {
        runtime: selected.id().to_string(),
        container_name: info.name.clone(),
        container_id: info.id.clone(),
        action,
        setup_ran,
        drift,
        post_up_ran,
    })
}

/// Takes over a container Alcatraz (the Go tool) created: its `commands.up`
/// ran when Alcatraz created it, and its configuration snapshot says what
/// it was made from.
fn adopt(project: &Project, state: &mut State, id: &str, name: &str, reporter: &dyn Reporter) {
    reporter.step(&format!("Adopting container {name} (created by Alcatraz)"));
    state.container_id = Some(id.to_string());
    state.setup_done_for = Some(id.to_string());
    state.created_from = state.alcatraz_config.as_ref().and_then(|v| {
        let text = crate::state::alcatraz_config_toml(v)?;
        let env = |k: &str| std::env::var(k).ok();
        let ctx = crate::config::LoadContext { project_root: &project.root, env: &env, home: None };
        let was = Config::parse(&text, &project.config_path, &ctx).ok()?;
        let mut blueprint = Blueprint::of(project, &was, state);
        // Alcatraz put its containers on the engine's default network.
        blueprint.spec["network"] = serde_json::json!("default");
        Some(blueprint)
    });
    state.format = 1;
}

/// The runtime as `detect` described it, for [`spec::fit`].
fn target<'a>(selected: &'a Selected, config: &Config) -> spec::Target<'a> {
    spec::Target {
        info: &selected.info,
        availability: Some(&selected.availability),
        default_caps: Some(config.caps.is_default()),
    }
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
    let blueprint = Blueprint::of(project, config, state);
    let mut spec = spec::container_spec(project, config, state, &process_env);
    // Mount the real directories, resolved now (`mount_sources`).
    for (mount, source) in spec.mounts.iter_mut().skip(1).zip(sources) {
        mount.source = source.display().to_string();
    }
    // Before any pull or create: a refusal leaves nothing behind.
    for warning in spec::fit(&mut spec, &target(selected, config))? {
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
    state.created_from = Some(blueprint);
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
