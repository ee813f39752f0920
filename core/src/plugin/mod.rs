//! The plugin host: loads runtime plugins (WebAssembly components), confines
//! them, and calls them.
//!
//! * [`manifest`]: what a plugin is and may do (its grant).
//! * [`grant`]: the one place that decides, on [`argparse`]'s one parse of
//!   the argv, with values bound to the request by [`bind`].
//! * [`broker`]: the one place that spawns.
//! * [`cache`]: compiled components on disk.
//! * [`host`]: the store's data, the WIT imports, the call clock.
//! * [`text`]: plugin text made safe for a terminal.
//! * this module: the engine, plugin sources, instances, calls and errors.
//!   Every value a plugin returns is checked and cleaned here before the
//!   rest of alca sees it.

pub mod argparse;
pub mod bind;
pub mod broker;
pub mod cache;
pub mod compat;
pub mod grant;
mod host;
pub mod manifest;
pub mod text;
mod v0_1;
mod v0_2;

#[cfg(test)]
mod fuzz;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, Store, UpdateDeadline};

pub use broker::{AttachedCommand, Broker, SpawnError};
pub use cache::CacheOutcome;
pub use grant::Denial;
pub use host::Fault;
pub use manifest::{Limits, Manifest};

use crate::container;
use bind::{CallContext, Request};
pub use compat::ApiVersion;
use compat::Exports;
use host::{CallClock, PluginState};

/// How often the epoch ticks; deadlines are checked at this granularity.
const TICK: Duration = Duration::from_millis(10);
/// Default wall-clock budget of one export call, waits for processes included.
const DEFAULT_CALL_WALL: Duration = Duration::from_secs(30 * 60);
/// `image-pull` may take longer: its rule may allow an hour.
const PULL_CALL_WALL: Duration = Duration::from_secs(2 * 60 * 60);
/// A component larger than this is refused before it is read.
pub const MAX_COMPONENT_BYTES: u64 = 256 * 1024 * 1024;
/// The most container entries alca takes from one `list-containers`.
const MAX_LISTED: usize = 4096;
/// WebAssembly stack per instance.
const MAX_WASM_STACK: usize = 1024 * 1024;

/// The built-in plugins, compiled by `build.rs` from `plugins/` and embedded.
/// Each built-in: its id (the manifest's, tested), its manifest, its
/// component and the component's sha256 (computed when alca was built).
const BUILTINS: &[(&str, &str, &[u8], &str)] = &[
    (
        "docker",
        include_str!("../../../plugins/docker/alca-plugin.toml"),
        include_bytes!(concat!(env!("OUT_DIR"), "/docker.wasm")),
        include_str!(concat!(env!("OUT_DIR"), "/docker.sha256")),
    ),
    (
        "podman",
        include_str!("../../../plugins/podman/alca-plugin.toml"),
        include_bytes!(concat!(env!("OUT_DIR"), "/podman.wasm")),
        include_str!(concat!(env!("OUT_DIR"), "/podman.sha256")),
    ),
    (
        "apple",
        include_str!("../../../plugins/apple/alca-plugin.toml"),
        include_bytes!(concat!(env!("OUT_DIR"), "/apple.wasm")),
        include_str!(concat!(env!("OUT_DIR"), "/apple.sha256")),
    ),
];

/// Each built-in's manifest, parsed the first time that plugin is asked for:
/// a command parses only the manifest of the plugin it uses.
static PARSED_BUILTINS: [std::sync::OnceLock<PluginSource>; BUILTINS.len()] =
    [const { std::sync::OnceLock::new() }; BUILTINS.len()];

/// Where a plugin comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    Builtin,
    /// Installed under the plugin directory; the manifest's path.
    Installed(PathBuf),
    /// A plugin's own directory (`alca plugin test <dir>`); the manifest's
    /// path.
    Directory(PathBuf),
}

/// The component bytes of a plugin.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// Embedded in alca, with its sha256 (computed at build time).
    Static(&'static [u8], &'static str),
    File(PathBuf),
}

/// A plugin alca knows about (not loaded yet).
#[derive(Debug, Clone)]
pub struct PluginSource {
    pub manifest: Arc<Manifest>,
    pub component: ComponentSource,
    pub origin: Origin,
    /// For an installed plugin: what the user consented to. A component
    /// with another sha256 is refused.
    pub consent: Option<Arc<crate::installed::Consent>>,
}

fn builtin_at(i: usize) -> PluginSource {
    PARSED_BUILTINS[i]
        .get_or_init(|| {
            let (_, manifest, wasm, sha256) = BUILTINS[i];
            let m = Manifest::parse(manifest, "the built-in manifest").expect("built-in manifests are tested");
            let origin = format!("the manifest of the built-in `{}` plugin", m.id);
            PluginSource {
                manifest: Arc::new(Manifest { origin, ..m }),
                component: ComponentSource::Static(wasm, sha256),
                origin: Origin::Builtin,
                consent: None,
            }
        })
        .clone()
}

impl PluginSource {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The built-in plugins.
    pub fn builtins() -> Vec<PluginSource> {
        (0..BUILTINS.len()).map(builtin_at).collect()
    }

    /// The ids of the built-in plugins (no manifest is parsed).
    pub fn builtin_ids() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|b| b.0)
    }

    /// Whether `id` is a built-in plugin's (no manifest is parsed).
    pub fn is_builtin(id: &str) -> bool {
        Self::builtin_ids().any(|b| b == id)
    }

    /// The built-in plugin `id`, if there is one (only its manifest is parsed).
    pub fn builtin(id: &str) -> Option<PluginSource> {
        BUILTINS.iter().position(|b| b.0 == id).map(builtin_at)
    }

    /// A plugin installed in `dir` (`alca-plugin.toml` plus its component).
    /// The component must be a regular file inside `dir`: a symlink that
    /// leads out of it is refused.
    pub fn from_dir(dir: &Path) -> Result<PluginSource, PluginError> {
        let path = dir.join("alca-plugin.toml");
        let plugin = dir.file_name().map(|n| text::line(&n.to_string_lossy())).unwrap_or_default();
        let load = |message: String| PluginError::Load { plugin: plugin.clone(), message };
        let manifest = Manifest::load(&path).map_err(|e| load(e.to_string()))?;
        let relative = manifest.component.clone().unwrap_or_else(|| PathBuf::from("plugin.wasm"));
        let root = dir.canonicalize().map_err(|e| load(format!("cannot resolve {}: {e}", dir.display())))?;
        let component = dir
            .join(&relative)
            .canonicalize()
            .map_err(|e| load(format!("cannot find its component {}: {e}", dir.join(&relative).display())))?;
        if !component.starts_with(&root) {
            return Err(load(format!(
                "its component {} leads outside the plugin's directory (to {})",
                dir.join(&relative).display(),
                component.display()
            )));
        }
        Ok(PluginSource {
            manifest: Arc::new(manifest),
            component: ComponentSource::File(component),
            origin: Origin::Directory(path),
            consent: None,
        })
    }
}

/// Per-plugin limits the user set, overriding the manifest's requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitOverrides {
    pub memory_mib: Option<u32>,
    pub cpu_ms: Option<u32>,
    /// A ceiling on every spawn's timeout, below the grant's.
    pub max_timeout_secs: Option<u32>,
}

/// Everything that can go wrong with a plugin, each naming the plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot load plugin `{plugin}`: {message}")]
    Load { plugin: String, message: String },
    #[error("plugin `{plugin}` crashed in `{function}`: {message}")]
    Trap { plugin: String, function: &'static str, message: String },
    #[error("plugin `{plugin}` exceeded its memory limit of {cap_mib} MiB in `{function}` and was stopped")]
    Memory { plugin: String, function: &'static str, cap_mib: u32 },
    #[error(
        "plugin `{plugin}` used more than {budget:?} of its time in `{function}` (running, or waiting on anything but a program it started) and was stopped"
    )]
    Cpu { plugin: String, function: &'static str, budget: Duration },
    #[error("plugin `{plugin}` ran for longer than {budget:?} in `{function}` and was stopped")]
    Wall { plugin: String, function: &'static str, budget: Duration },
    #[error("plugin `{plugin}` cannot be called again after an earlier failure (in `{function}`)")]
    Poisoned { plugin: String, function: &'static str },
    #[error("plugin `{plugin}`: {}", runtime_error_text(.error))]
    Runtime { plugin: String, function: &'static str, error: container::RuntimeError },
    #[error("{0}")]
    Denied(Denial),
}

impl PluginError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            PluginError::Load { .. } => format!(
                "reinstall the plugin (`alca plugin install <its source>`), or check that it was built for a supported contract ({}); `alca plugin list` shows what is installed",
                compat::supported()
            ),
            PluginError::Trap { plugin, .. } | PluginError::Poisoned { plugin, .. } => format!(
                "this is a bug in the `{plugin}` plugin; run with `-v` to see its log and report it to its author"
            ),
            PluginError::Memory { plugin, .. } => format!(
                "if the plugin really needs more, raise it in the alca config file: [plugins.{plugin}] memory-mib = 128"
            ),
            PluginError::Cpu { plugin, .. } => format!(
                "the plugin is probably stuck in a loop or sleeping; if it is only slow, raise [plugins.{plugin}] cpu-ms in the alca config file"
            ),
            PluginError::Wall { .. } => "the engine may be hanging; check it with its own CLI".into(),
            PluginError::Runtime { error, .. } => return runtime_error_hint(error),
            PluginError::Denied(_) => DENIAL_HINT.into(),
        })
    }

    /// The runtime error inside, if the plugin itself reported one.
    pub fn runtime_error(&self) -> Option<&container::RuntimeError> {
        match self {
            PluginError::Runtime { error, .. } => Some(error),
            _ => None,
        }
    }
}

const DENIAL_HINT: &str = "the plugin asked for something its manifest does not grant; this is a bug in the plugin or an attempt to escape its sandbox";

pub fn runtime_error_text(e: &container::RuntimeError) -> String {
    use container::RuntimeError as E;
    match e {
        E::NotAvailable(s) => format!("the runtime is not available: {s}"),
        E::NotFound(s) => format!("not found: {s}"),
        E::Conflict(s) => format!("conflict: {s}"),
        E::InvalidSpec(s) => format!("the runtime cannot express this configuration: {s}"),
        E::Unsupported(s) => format!("unsupported: {s}"),
        E::Denied(s) => format!("refused by alca: {s}"),
        E::CommandFailed(f) => {
            let mut s = format!("`{}` failed", grant::render_command(&f.program, &f.args));
            match f.exit_code {
                Some(c) => s.push_str(&format!(" with exit code {c}")),
                None => s.push_str(" (killed by a signal)"),
            }
            if !f.stderr_tail.is_empty() {
                s.push_str(":\n");
                s.push_str(&f.stderr_tail);
            }
            s
        }
        E::TimedOut(s) => format!("timed out: {s}"),
        E::Parse(s) => format!("could not understand the runtime's output: {s}"),
    }
}

fn runtime_error_hint(e: &container::RuntimeError) -> Option<String> {
    use container::RuntimeError as E;
    match e {
        E::NotAvailable(_) => {
            Some("check that the engine is installed and running (`alca status` says which runtime alca uses)".into())
        }
        E::TimedOut(_) => Some(
            "the engine may be overloaded or hanging; check it with its own CLI (a timeout ceiling can be set in the alca config file: [plugins.<id>] max-timeout-secs)"
                .into(),
        ),
        E::Denied(_) => Some(DENIAL_HINT.into()),
        E::InvalidSpec(_) => Some("change the configuration in .alca.toml, or use another runtime".into()),
        E::Parse(_) => {
            Some("the engine's version may be newer than the plugin understands; run with `-v` for details".into())
        }
        _ => None,
    }
}

/// Calls export `$method` as function `$name` for `$request`, under the
/// call's deadlines: the epoch interruption stops a busy guest, the
/// watchdog stops one that is blocked in a host call.
macro_rules! call {
    ($self:ident, $name:literal, $request:expr, $method:ident ( $($arg:expr),* )) => {{
        $self.begin($name, $request)?;
        let clock = $self.store.data().clock.clone();
        let bindings = $self.bindings.as_ref().expect("bindings exist after instantiation");
        let outcome = tokio::select! {
            result = bindings.$method(&mut $self.store $(, $arg)*) => Ok(result),
            fault = host::watchdog(clock) => Err(fault),
        };
        let result = $self.settle(outcome);
        $self.finish($name, result)
    }};
}

/// A component loaded (from the cache or compiled) and linked, ready to
/// instantiate.
struct Prepared {
    pre: wasmtime::component::InstancePre<PluginState>,
    version: ApiVersion,
    outcome: CacheOutcome,
    /// Time spent making the linker (once per process), which the load's
    /// own timing leaves out.
    linker_made: Duration,
}

/// The process-wide WebAssembly engine, its linker and the component cache.
pub struct PluginHost {
    engine: Engine,
    /// Made on first use: [0] for components that do not import `wasi:http`
    /// (linking it costs more than the rest), [1] for those that do.
    linkers: [std::sync::OnceLock<Result<Linker<PluginState>, String>>; 2],
    cache_dir: Option<PathBuf>,
    /// What plugins' programs see as alca's environment (default: the
    /// process's own).
    env: Option<HashMap<String, OsString>>,
}

impl PluginHost {
    /// One engine per process; the epoch ticker runs for the process's life.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<PluginHost, PluginError> {
        let load_err = |e: wasmtime::Error| PluginError::Load { plugin: "(host)".into(), message: e.to_string() };
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        let started = Instant::now();
        let engine = Engine::new(&config).map_err(load_err)?;
        start_ticker(&engine);
        // Commands that need no plugin never get here (tests/spawns.rs
        // looks for this line).
        crate::timing::took("wasmtime engine created", started.elapsed());
        Ok(PluginHost { engine, linkers: Default::default(), cache_dir, env: None })
    }

    /// The linker for a component: WASI, alca's host imports and, when the
    /// component imports it, `wasi:http` (JavaScript components do).
    fn linker(&self, http: bool) -> Result<&Linker<PluginState>, String> {
        let made = self.linkers[usize::from(http)].get_or_init(|| {
            let started = Instant::now();
            let mut linker: Linker<PluginState> = Linker::new(&self.engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| e.to_string())?;
            if http {
                wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(|e| e.to_string())?;
            }
            compat::add_to_linker(&mut linker).map_err(|e| e.to_string())?;
            let with = if http { " (with wasi:http)" } else { "" };
            crate::timing::took(format_args!("plugin linker{with} made"), started.elapsed());
            Ok(linker)
        });
        made.as_ref().map_err(|e| format!("alca cannot link plugins: {e}"))
    }

    /// Plugins' programs see `env` as alca's environment (for tests and
    /// embedders; alca itself passes its own).
    pub fn with_environment(mut self, env: HashMap<String, OsString>) -> PluginHost {
        self.env = Some(env);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A plugin's component, ready to load: its sha256 (embedded: computed
    /// when alca was built; a file: remembered in the cache directory for
    /// the file's fingerprint, or read from it and hashed) and its bytes, or
    /// how to read them (from the descriptor opened here) if it must be
    /// compiled.
    fn loadable(&self, source: &PluginSource) -> Result<Loadable, PluginError> {
        let load_err = |path: &Path, e: std::io::Error| PluginError::Load {
            plugin: source.id().to_string(),
            message: format!("cannot read {}: {e}", path.display()),
        };
        Ok(match &source.component {
            ComponentSource::Static(b, sha256) if !b.is_empty() => Loadable {
                sha256: sha256.to_string(),
                size: b.len() as u64,
                wasm: cache::Wasm::from(*b),
                how: "hashed when alca was built",
            },
            ComponentSource::Static(b, _) => Loadable {
                sha256: cache::sha256_hex(b),
                size: b.len() as u64,
                wasm: cache::Wasm::from(*b),
                how: "read and hashed",
            },
            ComponentSource::File(path) => {
                let file = cache::ComponentFile::open(path, MAX_COMPONENT_BYTES).map_err(|e| load_err(path, e))?;
                let dir = self.cache_dir.clone();
                let (sha256, bytes) = cache::component_sha256(dir.as_deref(), &file).map_err(|e| load_err(path, e))?;
                let size = file.len();
                match bytes {
                    Some(bytes) => Loadable { sha256, size, wasm: cache::Wasm::from(bytes), how: "read and hashed" },
                    None => {
                        let (path, sha) = (path.clone(), sha256.clone());
                        let wasm = cache::Wasm::lazy(move || {
                            cache::read_component(dir.as_deref(), &file, &sha)
                                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                        });
                        Loadable { sha256, size, wasm, how: "unchanged since hashed: sha256 remembered, not read" }
                    }
                }
            }
        })
    }

    /// Loads a component from the cache (or compiles it, reading `wasm`
    /// only then, and stores it there) and checks that it is a component
    /// this host can run: which contract version it implements, and that
    /// the host provides everything it imports. The message says what is
    /// wrong.
    /// `label` names the component in `-vv` timing lines. Also returns how
    /// long making the process's linker took, when this call made it (a
    /// per-process cost, not this component's).
    fn prepare(&self, wasm: cache::Wasm<'_>, sha256: &str, size: u64, label: &str) -> Result<Prepared, String> {
        let started = Instant::now();
        let (component, outcome) =
            cache::load(&self.engine, wasm, sha256, self.cache_dir.as_deref()).map_err(|e| e.to_string())?;
        tracing::debug!("component {sha256}: {outcome:?}");
        let how = match outcome {
            CacheOutcome::Hit => "loaded from the compiled cache",
            CacheOutcome::Compiled | CacheOutcome::Recompiled => "compiled now (and cached)",
            CacheOutcome::Uncached => "compiled now (no usable cache)",
        };
        crate::timing::took(format_args!("{label}: {} KiB component {how}", size / 1024), started.elapsed());
        let http = component.component_type().imports(&self.engine).any(|(name, _)| name.starts_with("wasi:http/"));
        let started = Instant::now();
        let linker = self.linker(http)?;
        let linker_made = started.elapsed();
        let started = Instant::now();
        let version = compat::check(&self.engine, &component)?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            format!(
                "it needs something alca does not provide ({e}); it may target a newer version of alca:runtime than this alca supports ({})",
                compat::supported()
            )
        })?;
        crate::timing::took(format_args!("{label}: contract {version} checked, imports linked"), started.elapsed());
        Ok(Prepared { pre, version, outcome, linker_made })
    }

    /// Checks a component before it is installed (see [`Self::prepare`]),
    /// leaving its compiled form in the cache so its first use is fast.
    pub fn check_component(&self, bytes: &[u8], sha256: &str) -> Result<(ApiVersion, CacheOutcome), String> {
        self.prepare(bytes.into(), sha256, bytes.len() as u64, "component being checked")
            .map(|p| (p.version, p.outcome))
    }

    /// The cache of compiled components, if alca has one.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Compiles (or loads from the cache) and instantiates a plugin, in a
    /// fresh store with its limits.
    pub async fn instantiate(
        &self,
        source: &PluginSource,
        overrides: LimitOverrides,
    ) -> Result<PluginInstance, PluginError> {
        let plugin = source.id().to_string();
        let load_err = |message: String| PluginError::Load { plugin: plugin.clone(), message };
        let reading = Instant::now();
        let Loadable { sha256, size, wasm, how } = self.loadable(source)?;
        let label = format!("plugin `{plugin}`");
        let stored = if matches!(source.component, ComponentSource::Static(..)) { "embedded" } else { "file" };
        crate::timing::took(
            format_args!("{label}: component ({stored}, {} KiB) {how}", size / 1024),
            reading.elapsed(),
        );
        if let Some(consented) = source.consent.as_ref().map(|c| &c.component_sha256)
            && *consented != sha256
        {
            return Err(load_err(format!(
                "its component changed after you installed it (sha256 {sha256}, you consented to {consented}); run `alca plugin install <its source>` again to review it, or `alca plugin remove {plugin}`"
            )));
        }
        if let Some(pin) = &source.manifest.sha256
            && *pin != sha256
        {
            return Err(load_err(format!(
                "its component's sha256 is {sha256}, but its manifest pins {pin}; the file was changed after installation"
            )));
        }
        let loading = Instant::now();
        let Prepared { pre, version, outcome, linker_made } =
            self.prepare(wasm, &sha256, size, &label).map_err(load_err)?;
        // The linker is made once per process, whichever plugin comes first.
        let loaded = loading.elapsed().saturating_sub(linker_made);

        let limits = source.manifest.limits;
        let memory_mib = overrides.memory_mib.unwrap_or(limits.memory_mib);
        let guest = Duration::from_millis(overrides.cpu_ms.unwrap_or(limits.cpu_ms).into());
        let broker = match &self.env {
            Some(env) => Broker::with_env(source.manifest.clone(), env.clone()),
            None => Broker::new(source.manifest.clone()),
        }
        .cap_timeouts(overrides.max_timeout_secs.map(|s| Duration::from_secs(s.into())));
        let clock = Arc::new(CallClock::new(guest, DEFAULT_CALL_WALL));
        let mut store = Store::new(&self.engine, PluginState::new(Arc::new(broker), memory_mib, clock.clone()));
        store.limiter(|s| s);
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            if let Some(fault) = s.clock.check() {
                s.fault = Some(fault);
                return Err(wasmtime::Error::msg("time budget exceeded"));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        store.data_mut().begin_call(CallContext::new("instantiate", Request::None));
        let instantiating = Instant::now();
        let instantiated = tokio::select! {
            result = Exports::instantiate(version, &pre, &mut store) => Ok(result),
            fault = host::watchdog(clock) => Err(fault),
        };
        crate::timing::took(format_args!("{label}: instantiated"), instantiating.elapsed());
        let mut instance = PluginInstance {
            store,
            bindings: None,
            source: source.clone(),
            poisoned: false,
            info: None,
            guest,
            api: version,
        };
        let bindings = match instance.settle(instantiated) {
            Ok(b) => b,
            Err(e) => return Err(instance.fail("instantiate", e)),
        };
        instance.bindings = Some(bindings);
        let mut info = call!(instance, "info", Request::None, info())?;
        instance.store.data_mut().warn_call_denials();
        clean_info(&mut info);
        if info.id != source.manifest.id {
            return Err(load_err(format!(
                "the component says its id is `{}` but its manifest says `{}`",
                info.id, source.manifest.id
            )));
        }
        instance.info = Some(info);
        tracing::debug!(
            %plugin,
            "{version}, {} KiB: loaded in {:.1} ms ({outcome:?}), instantiated and answered `info` in {:.1} ms",
            size / 1024,
            loaded.as_secs_f64() * 1000.0,
            (loading.elapsed() - loaded - linker_made).as_secs_f64() * 1000.0
        );
        Ok(instance)
    }
}

/// See [`PluginHost::loadable`].
struct Loadable {
    sha256: String,
    size: u64,
    wasm: cache::Wasm<'static>,
    /// How the sha256 was found, for `-vv`.
    how: &'static str,
}

fn start_ticker(engine: &Engine) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("alca-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
    });
}

/// A live plugin: one store, one instance, for the duration of an alca command.
pub struct PluginInstance {
    store: Store<PluginState>,
    bindings: Option<Exports>,
    source: PluginSource,
    poisoned: bool,
    /// What the plugin said about itself when it was loaded.
    info: Option<container::PluginInfo>,
    /// Its time budget per call.
    guest: Duration,
    /// The contract version it implements.
    api: ApiVersion,
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        let state = self.store.data();
        let (suppressed, dropped) = (state.chatter.suppressed, state.denials_dropped);
        if suppressed > 0 || dropped > 0 {
            tracing::warn!(
                plugin = %state.plugin,
                "{} more messages from this plugin were not shown{}",
                suppressed + dropped,
                if tracing::enabled!(tracing::Level::DEBUG) { "" } else { " (run with -v to see more)" }
            );
        }
    }
}

impl PluginInstance {
    pub fn id(&self) -> &str {
        self.source.id()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.source.manifest
    }

    pub fn source(&self) -> &PluginSource {
        &self.source
    }

    /// The contract version the plugin implements.
    pub fn api(&self) -> ApiVersion {
        self.api
    }

    fn begin(&mut self, function: &'static str, request: Request) -> Result<(), PluginError> {
        if self.poisoned {
            return Err(PluginError::Poisoned { plugin: self.id().to_string(), function });
        }
        let state = self.store.data_mut();
        state.begin_call(CallContext::new(function, request));
        // image-pull may run as long as its rule allows.
        let wall = if function == "image-pull" { PULL_CALL_WALL } else { DEFAULT_CALL_WALL };
        if state.clock.wall_budget != wall {
            state.clock = Arc::new(CallClock::new(self.guest, wall));
        }
        self.store.set_epoch_deadline(1);
        Ok(())
    }

    /// The result of a call raced against the watchdog.
    fn settle<T>(&mut self, outcome: Result<wasmtime::Result<T>, Fault>) -> wasmtime::Result<T> {
        match outcome {
            Ok(result) => result,
            Err(fault) => {
                self.store.data_mut().fault = Some(fault);
                Err(wasmtime::Error::msg("the call ran out of time"))
            }
        }
    }

    fn finish<T>(&mut self, function: &'static str, result: wasmtime::Result<T>) -> Result<T, PluginError> {
        if tracing::enabled!(tracing::Level::TRACE) {
            let clock = &self.store.data().clock;
            let (total, own) = (clock.elapsed(), clock.guest_time());
            tracing::trace!(
                "time: plugin `{}`: `{function}` returned in {:.2} ms, {:.2} ms of it outside the programs it ran (at {:.1} ms)",
                self.id(),
                crate::timing::ms(total),
                crate::timing::ms(own),
                crate::timing::ms(crate::timing::since_start())
            );
        }
        self.flush_guest_output(function);
        result.map_err(|e| {
            self.store.data_mut().warn_call_denials();
            self.fail(function, e)
        })
    }

    fn flush_guest_output(&mut self, function: &str) {
        let out = self.store.data().guest_output.take();
        if !out.is_empty() {
            let text = String::from_utf8_lossy(&out).into_owned();
            let state = self.store.data_mut();
            for line in text.lines() {
                state.say(tracing::Level::DEBUG, &format!("({function}) {}", text::line(line)));
            }
        }
    }

    fn fail(&mut self, function: &'static str, e: wasmtime::Error) -> PluginError {
        self.poisoned = true;
        let plugin = self.id().to_string();
        match self.store.data().fault {
            Some(Fault::Memory { cap_mib }) => PluginError::Memory { plugin, function, cap_mib },
            Some(Fault::Cpu { budget }) => PluginError::Cpu { plugin, function, budget },
            Some(Fault::Wall { budget }) => PluginError::Wall { plugin, function, budget },
            None => {
                let message = match e.downcast_ref::<wasmtime::Trap>() {
                    Some(trap) => trap.to_string(),
                    None => format!("{e}"),
                };
                PluginError::Trap { plugin, function, message: text::block(&message) }
            }
        }
    }

    /// A plugin's answer, cleaned; an error is told in the host's own words
    /// when the host knows better (a refusal or a timeout in this call).
    fn runtime<T>(&mut self, function: &'static str, r: Result<T, container::RuntimeError>) -> Result<T, PluginError> {
        let state = self.store.data_mut();
        let mut error = match r {
            Ok(value) => {
                state.warn_call_denials();
                return Ok(value);
            }
            Err(error) => error,
        };
        if !state.call_denials.is_empty() {
            let first = state.call_denials.remove(0);
            state.warn_call_denials();
            return Err(PluginError::Denied(first));
        }
        if let (Some(killed), container::RuntimeError::TimedOut(_)) = (&state.call_timeout, &error) {
            error = container::RuntimeError::TimedOut(killed.clone());
        }
        clean_error(&mut error);
        Err(PluginError::Runtime { plugin: self.id().to_string(), function, error })
    }

    /// Refusals the broker issued during this instance's life (the first
    /// few dozen).
    pub fn denials(&self) -> &[Denial] {
        &self.store.data().denials
    }

    /// The plugin's `info()`, as it answered when it was loaded.
    pub fn info(&self) -> &container::PluginInfo {
        self.info.as_ref().expect("info is read at instantiation")
    }

    pub async fn detect(&mut self) -> Result<container::Availability, PluginError> {
        let mut a = call!(self, "detect", Request::None, detect())?;
        self.store.data_mut().warn_call_denials();
        for s in [&mut a.version, &mut a.reason, &mut a.hint].into_iter().flatten() {
            *s = text::line(s);
        }
        Ok(a)
    }

    pub async fn image_exists(&mut self, image: &str) -> Result<bool, PluginError> {
        let r = call!(self, "image-exists", Request::Image(image.into()), image_exists(image))?;
        self.runtime("image-exists", r)
    }

    pub async fn image_pull(&mut self, image: &str) -> Result<(), PluginError> {
        let r = call!(self, "image-pull", Request::Image(image.into()), image_pull(image))?;
        self.runtime("image-pull", r)
    }

    /// Creates the container; its id must be one the engine printed in
    /// this call (through the grant's `creates` rule) or the spec's name: a
    /// plugin cannot hand alca another container to start, exec into or
    /// remove later.
    pub async fn create(&mut self, spec: &container::ContainerSpec) -> Result<String, PluginError> {
        let r = call!(self, "create", Request::Create(Box::new(spec.clone())), create(spec))?;
        let id = self.runtime("create", r)?;
        let id = self.container_id("create", id)?;
        if id != spec.name && !self.vouched(&id) {
            return Err(PluginError::Runtime {
                plugin: self.id().to_string(),
                function: "create",
                error: container::RuntimeError::Parse(format!(
                    "the plugin returned container `{id}`, which the engine did not report creating; alca will not use it"
                )),
            });
        }
        Ok(id)
    }

    /// Did the engine name `id` in the call just made (the output of a
    /// `creates` or `lists` rule)?
    fn vouched(&self, id: &str) -> bool {
        self.store.data().call.yielded.iter().any(|y| y == id)
    }

    pub async fn start(&mut self, id: &str) -> Result<(), PluginError> {
        let id = id.to_string();
        let r = call!(self, "start", Request::Container(id.clone()), start(&id))?;
        self.runtime("start", r)
    }

    pub async fn stop(&mut self, id: &str, grace_secs: Option<u32>) -> Result<(), PluginError> {
        let id = id.to_string();
        let r = call!(self, "stop", Request::Container(id.clone()), stop(&id, grace_secs))?;
        self.runtime("stop", r)
    }

    pub async fn remove(&mut self, id: &str, force: bool) -> Result<(), PluginError> {
        let id = id.to_string();
        let r = call!(self, "remove", Request::Container(id.clone()), remove(&id, force))?;
        self.runtime("remove", r)
    }

    pub async fn inspect(&mut self, id: &str) -> Result<Option<container::ContainerInfo>, PluginError> {
        let id = id.to_string();
        let r = call!(self, "inspect", Request::Container(id.clone()), inspect(&id))?;
        let mut info = self.runtime("inspect", r)?;
        if let Some(info) = &mut info {
            clean_container(info);
            // alca goes on addressing the container by the reference it asked
            // about, unless the engine itself named the id the plugin gives.
            if info.id != id && !self.vouched(&info.id) {
                tracing::debug!(plugin = %self.id(), "inspected `{id}`; the id `{}` is not used", info.id);
                info.id = id;
            }
        }
        Ok(info)
    }

    /// The containers matching every selector. alca checks the labels
    /// itself: an entry the plugin returns that does not match is dropped.
    pub async fn list_containers(
        &mut self,
        selector: &[container::LabelSelector],
        include_stopped: bool,
    ) -> Result<Vec<container::ContainerInfo>, PluginError> {
        let request = Request::List(selector.to_vec());
        let r = call!(self, "list-containers", request, list_containers(selector, include_stopped))?;
        let mut infos = self.runtime("list-containers", r)?;
        if infos.len() > MAX_LISTED {
            tracing::warn!(plugin = %self.id(), "listed {} containers; alca looks at the first {MAX_LISTED}", infos.len());
            infos.truncate(MAX_LISTED);
        }
        let before = infos.len();
        let call = &self.store.data().call;
        let matches = |labels: &[(&str, &str)]| {
            selector.iter().all(|s| labels.iter().any(|(k, v)| *k == s.key && s.value.as_ref().is_none_or(|w| w == v)))
        };
        infos.retain_mut(|info| {
            // Only containers the engine itself listed in this call, with
            // the labels alca asked for...
            if call.yielded.contains(&info.id) {
                let labels: Vec<(&str, &str)> =
                    info.labels.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())).collect();
                return matches(&labels);
            }
            // ...or, from an engine that cannot filter, with the labels the
            // engine printed for it (which replace the plugin's).
            let Some((_, engine)) = call.listed.iter().find(|(id, _)| *id == info.id) else { return false };
            let labels: Vec<(&str, &str)> = engine.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if !matches(&labels) {
                return false;
            }
            info.labels =
                engine.iter().map(|(k, v)| container::KeyValue { key: k.clone(), value: v.clone() }).collect();
            true
        });
        if infos.len() != before {
            tracing::warn!(
                plugin = %self.id(),
                "listed {} containers that the engine did not list for the selector; ignored",
                before - infos.len()
            );
        }
        infos.iter_mut().for_each(clean_container);
        Ok(infos)
    }

    pub async fn exec(&mut self, req: &container::ExecRequest) -> Result<container::ExecOutput, PluginError> {
        let r = call!(self, "exec", Request::Exec(Box::new(req.clone())), exec(req))?;
        let mut out = self.runtime("exec", r)?;
        for bytes in [&mut out.stdout, &mut out.stderr] {
            if bytes.len() > MAX_EXEC_OUTPUT {
                bytes.truncate(MAX_EXEC_OUTPUT);
                out.truncated = true;
            }
        }
        Ok(out)
    }

    /// Asks for an exec plan and checks it against the grant (as an
    /// interactive use, bound to `req`); the result is ready to run on the
    /// terminal.
    pub async fn exec_plan(&mut self, req: &container::ExecRequest) -> Result<AttachedCommand, PluginError> {
        let r = call!(self, "exec-plan", Request::Exec(Box::new(req.clone())), exec_plan(req))?;
        let plan = self.runtime("exec-plan", r)?;
        let env: Vec<(String, String)> = plan.env.into_iter().map(|kv| (kv.key, kv.value)).collect();
        let broker = self.store.data().broker.clone();
        let checked = broker.plan(&plan.program, &plan.args, &env, &self.store.data().call);
        checked.map_err(|e| match e {
            SpawnError::Denied(d) => PluginError::Denied(d),
            other => PluginError::Runtime {
                plugin: self.id().to_string(),
                function: "exec-plan",
                error: container::RuntimeError::NotAvailable(other.to_string()),
            },
        })
    }

    /// Does the plugin export the optional `networks` interface (contract
    /// 0.2.0)? One that does may still decline a call with `unsupported`
    /// (a runtime that cannot do it on this host); without it,
    /// [`Self::network_create`] and [`Self::network_remove`] fail with
    /// `unsupported` without calling the plugin.
    pub fn has_networks(&self) -> bool {
        self.bindings.as_ref().is_some_and(Exports::has_networks)
    }

    fn no_networks(&self, function: &'static str) -> PluginError {
        PluginError::Runtime {
            plugin: self.id().to_string(),
            function,
            error: container::RuntimeError::Unsupported(format!(
                "{} cannot give a project a network of its own",
                self.info().name
            )),
        }
    }

    /// Creates the project's bridge network, or reports the existing one of
    /// that name. What the plugin reports is checked: the name is the one
    /// asked for, and the interface, subnets and gateways are well formed
    /// and were printed by the engine in this call (alca keys its firewall on
    /// them, so a plugin cannot point it at another interface).
    pub async fn network_create(
        &mut self,
        req: &container::NetworkRequest,
    ) -> Result<container::NetworkInfo, PluginError> {
        const F: &str = "network-create";
        if !self.has_networks() {
            return Err(self.no_networks(F));
        }
        let r = call!(self, "network-create", Request::NetworkCreate(Box::new(req.clone())), network_create(req))?;
        let info = self.runtime(F, r)?;
        check_network(info, req, &self.store.data().call).map_err(|message| PluginError::Runtime {
            plugin: self.id().to_string(),
            function: F,
            error: container::RuntimeError::Parse(message),
        })
    }

    /// Removes the project's network; one that does not exist is not an
    /// error, one that containers use is a `conflict`.
    pub async fn network_remove(&mut self, name: &str) -> Result<(), PluginError> {
        const F: &str = "network-remove";
        if !self.has_networks() {
            return Err(self.no_networks(F));
        }
        let r = call!(self, "network-remove", Request::NetworkRemove(name.to_string()), network_remove(name))?;
        self.runtime(F, r)
    }

    /// A container id from the plugin: one token of printable characters.
    fn container_id(&self, function: &'static str, id: String) -> Result<String, PluginError> {
        let valid = !id.is_empty() && id.len() <= 256 && id.chars().all(|c| c.is_ascii_graphic());
        if valid {
            Ok(id)
        } else {
            Err(PluginError::Runtime {
                plugin: self.id().to_string(),
                function,
                error: container::RuntimeError::Parse(format!(
                    "the plugin returned an invalid container id `{}`",
                    text::line(&id)
                )),
            })
        }
    }
}

/// Captured output of `exec` alca keeps, per stream.
const MAX_EXEC_OUTPUT: usize = 4 * 1024 * 1024;

fn clean_info(info: &mut container::PluginInfo) {
    for s in [&mut info.id, &mut info.name, &mut info.runtime, &mut info.version] {
        *s = text::line(s);
    }
}

fn clean_container(info: &mut container::ContainerInfo) {
    for s in [&mut info.id, &mut info.name, &mut info.image] {
        *s = text::line(s);
    }
    for s in [&mut info.created_at, &mut info.started_at].into_iter().flatten() {
        *s = text::line(s);
    }
    info.labels.truncate(512);
    for kv in &mut info.labels {
        kv.key = text::line(&kv.key);
        kv.value = text::line(&kv.value);
    }
    info.ip_addresses.truncate(64);
    for ip in &mut info.ip_addresses {
        *ip = text::line(ip);
    }
}

/// At most this many subnets and gateways alca takes from a network.
const MAX_NETWORK_ADDRESSES: usize = 16;

/// What a plugin reported about a network, checked against the request and
/// against what the engine printed in the call (`call.printed`).
fn check_network(
    info: container::NetworkInfo,
    req: &container::NetworkRequest,
    call: &CallContext,
) -> Result<container::NetworkInfo, String> {
    let shown = |s: &str| text::line(s);
    if info.name != req.name {
        return Err(format!("the plugin reported network `{}` when alca asked for `{}`", shown(&info.name), req.name));
    }
    if let Some(iface) = &info.interface {
        if !is_interface_name(iface) {
            return Err(format!("the plugin reported `{}`, which is not a network interface name", shown(iface)));
        }
        if !call.printed(iface) && !docker_default_bridge(iface, call) {
            return Err(format!(
                "the plugin reported bridge interface `{iface}`, which the engine did not print in this call; alca will not key its firewall on it"
            ));
        }
    }
    let (subnets, gateways) = (&info.subnets, &info.gateways);
    if subnets.len() > MAX_NETWORK_ADDRESSES || gateways.len() > MAX_NETWORK_ADDRESSES {
        return Err(format!("the plugin reported more than {MAX_NETWORK_ADDRESSES} subnets or gateways"));
    }
    for (list, what, valid) in [
        (subnets, "subnet", is_cidr as fn(&str) -> bool),
        (gateways, "gateway", |s: &str| s.parse::<std::net::IpAddr>().is_ok()),
    ] {
        for value in list {
            if !valid(value) {
                return Err(format!("the plugin reported {what} `{}`, which is not an address", shown(value)));
            }
            if !call.printed(value) {
                return Err(format!(
                    "the plugin reported {what} `{value}`, which the engine did not print in this call"
                ));
            }
        }
    }
    Ok(info)
}

/// A Linux network interface name (`dev_valid_name`): 1 to 15 bytes, not
/// `.` or `..`, no `/`, `:` or whitespace. alca also wants it printable.
pub fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars().all(|c| c.is_ascii_graphic() && c != '/' && c != ':')
}

/// docker names the bridge of a network created without
/// `com.docker.network.bridge.name` `br-` and the first 12 hex digits of the
/// network's id: such an interface is vouched for by the id the engine
/// printed.
fn docker_default_bridge(iface: &str, call: &CallContext) -> bool {
    let Some(short) = iface.strip_prefix("br-") else { return false };
    short.len() == 12
        && short.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && call
            .printed
            .iter()
            .any(|p| p.len() == 64 && p.starts_with(short) && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `10.89.3.0/24`, `fd00::/64`.
fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else { return false };
    let Ok(addr) = addr.parse::<std::net::IpAddr>() else { return false };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    !len.starts_with('+') && len.parse::<u8>().is_ok_and(|l| l <= max)
}

fn clean_error(e: &mut container::RuntimeError) {
    use container::RuntimeError as E;
    match e {
        E::CommandFailed(f) => {
            f.program = text::line(&f.program);
            f.args.truncate(256);
            for a in &mut f.args {
                *a = text::line(a);
            }
            f.stderr_tail = text::block(&f.stderr_tail);
        }
        E::NotAvailable(s)
        | E::NotFound(s)
        | E::Conflict(s)
        | E::InvalidSpec(s)
        | E::Unsupported(s)
        | E::Denied(s)
        | E::TimedOut(s)
        | E::Parse(s) => *s = text::block(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sha256 alca trusts for a built-in (computed at build time) is the
    /// component's: loading never hashes it again.
    #[test]
    fn built_in_hashes_are_the_components() {
        for source in PluginSource::builtins() {
            let ComponentSource::Static(bytes, sha256) = source.component else { panic!("built-ins are embedded") };
            assert_eq!(cache::sha256_hex(bytes), sha256, "{}", source.id());
        }
    }

    /// The ids listed beside the built-ins are their manifests' (lookups by
    /// id parse no manifest).
    #[test]
    fn built_in_ids_are_their_manifests() {
        let ids: Vec<&str> = PluginSource::builtin_ids().collect();
        let manifests: Vec<String> = PluginSource::builtins().iter().map(|b| b.id().to_string()).collect();
        assert_eq!(ids, manifests);
        for id in ids {
            assert_eq!(PluginSource::builtin(id).map(|b| b.id().to_string()).as_deref(), Some(id));
        }
        assert!(PluginSource::builtin("nerdctl").is_none());
    }

    fn request() -> container::NetworkRequest {
        bind::tests::network_request()
    }

    fn info(interface: Option<&str>, subnets: &[&str], gateways: &[&str]) -> container::NetworkInfo {
        container::NetworkInfo {
            name: request().name,
            interface: interface.map(str::to_string),
            subnets: subnets.iter().map(|s| s.to_string()).collect(),
            gateways: gateways.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn call(printed: &[&[u8]]) -> CallContext {
        let mut c = CallContext::new("network-create", Request::NetworkCreate(Box::new(request())));
        for p in printed {
            c.remember_printed(p);
        }
        c
    }

    const DOCKER: &[u8] = br#"[{"Name":"alca-0123456789ab","Id":"4e940ccfa0a835f2d513de1004b6cc5e5b287391a0819a5b88df4d9b0363666b","Driver":"bridge","IPAM":{"Config":[{"Subnet":"172.24.0.0/16","Gateway":"172.24.0.1"}]},"Options":{"com.docker.network.bridge.name":"alca0123456789a"},"Labels":{"alca.project.id":"p1"}}]"#;

    #[test]
    fn what_a_plugin_reports_about_a_network_is_what_the_engine_printed() {
        let c = call(&[DOCKER]);
        let good = info(Some("alca0123456789a"), &["172.24.0.0/16"], &["172.24.0.1"]);
        assert_eq!(check_network(good.clone(), &request(), &c), Ok(good));
        // docker's own bridge name, from the id it printed.
        check_network(info(Some("br-4e940ccfa0a8"), &[], &[]), &request(), &c).unwrap();
        // Not a bridge on this host.
        check_network(info(None, &["172.24.0.0/16"], &[]), &request(), &c).unwrap();

        for (bad, needle) in [
            (info(Some("eth0"), &[], &[]), "did not print"),
            (info(Some("docker0"), &[], &[]), "did not print"),
            // Even the interface alca asked for: the engine must say it is the network's.
            (info(Some("alca0123456789a"), &[], &[]), "did not print"),
            (info(Some("br-000000000000"), &[], &[]), "did not print"),
            (info(Some("br-4E940CCFA0A8"), &[], &[]), "did not print"),
            (info(Some("alca0123456789ab"), &[], &[]), "not a network interface name"),
            (info(Some("a/b"), &[], &[]), "not a network interface name"),
            (info(Some(""), &[], &[]), "not a network interface name"),
            (info(Some("a\nb"), &[], &[]), "not a network interface name"),
            (info(None, &["10.0.0.0/8"], &[]), "did not print"),
            (info(None, &["172.24.0.0/33"], &[]), "not an address"),
            (info(None, &["172.24.0.1"], &[]), "not an address"),
            (info(None, &[], &["192.168.1.1"]), "did not print"),
            (info(None, &[], &["alca0123456789a"]), "not an address"),
            (container::NetworkInfo { name: "alca-other".into(), ..info(None, &[], &[]) }, "alca-other"),
        ] {
            let c = if bad.interface.as_deref() == Some("alca0123456789a") { call(&[]) } else { call(&[DOCKER]) };
            let e = check_network(bad.clone(), &request(), &c).expect_err(&format!("{bad:?}"));
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
        let many: Vec<String> = (0..20).map(|i| format!("10.0.{i}.0/24")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(check_network(info(None, &many, &[]), &request(), &c).unwrap_err().contains("more than"));
    }

    #[test]
    fn interface_names_and_cidrs() {
        for ok in ["podman1", "br-4e940ccfa0a8", "alca0123456789a", "cni-podman1", "a"] {
            assert!(is_interface_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "a\tb", "0123456789abcdef", "é"] {
            assert!(!is_interface_name(bad), "{bad}");
        }
        for ok in ["10.89.3.0/24", "0.0.0.0/0", "fd00::/64", "::/128"] {
            assert!(is_cidr(ok), "{ok}");
        }
        for bad in ["10.89.3.0", "10.89.3.0/", "10.89.3.0/+8", "10.89.3.0/33", "fd00::/129", "x/8", "/8"] {
            assert!(!is_cidr(bad), "{bad}");
        }
    }
}
