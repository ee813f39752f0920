//! `alca plugin test <dir | id>`: a conformance suite for runtime plugins,
//! run against the real engine.
//!
//! Each check calls the plugin through the same host alca uses (grant,
//! limits, cleaning of what the plugin returns), with requests shaped like
//! alca's own, and compares what comes back with the contract
//! (`wit/runtime.wit`). Containers it makes are named
//! `alca-conformance-<random>` and are force-removed at the end, whatever
//! happened before.
//!
//! It speaks alca's own container types (`crate::container`), as every operation does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::container;
use crate::plugin::{AttachedCommand, LimitOverrides, Origin, PluginError, PluginHost, PluginInstance, PluginSource};
use crate::project::Project;
use crate::report::Reporter;
use crate::spec::{self, LABEL_PROJECT_ID, LABEL_PROJECT_PATH, LABEL_VERSION};
use crate::{Alca, Error};

/// Prefix of every container (and temporary directory) the suite makes.
pub const NAME_PREFIX: &str = "alca-conformance-";

/// Where the test container mounts its temporary directory; also its workdir.
const WORKDIR: &str = "/alca-conformance";
const RO_TARGET: &str = "/alca-conformance-ro";
const TMPFS_TARGET: &str = "/alca-conformance-tmp";
const PROBE_FILE: &str = "probe.txt";
const PROBE_TEXT: &str = "written on the host by alca plugin test";
/// A value with spaces, `=` and quotes: it must reach the container intact.
const ENV_KEY: &str = "ALCA_CONFORMANCE";
const ENV_VALUE: &str = "a value with spaces, = signs and 'quotes'";
const MEMORY_BYTES: u64 = 256 * 1024 * 1024;
const STOP_GRACE_SECS: u32 = 10;
/// How long the non-interactive run of an exec plan may take.
const PLAN_RUN_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// The image to create containers from; `None`: the current project's.
    pub image: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub name: &'static str,
    pub outcome: Outcome,
    /// On a failure: what the contract requires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// On a failure: what happened instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// On a skip: why the check could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On a pass: a fact worth showing (the engine's version...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub plugin: String,
    /// `built-in`, or the plugin's directory.
    pub source: String,
    pub image: String,
    /// The name of the container the run made (`alca-conformance-<random>`).
    pub container: String,
    pub checks: Vec<CheckReport>,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub duration_ms: u64,
}

impl TestReport {
    /// No check failed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Runs the suite on the plugin in directory `target` (holding
/// `alca-plugin.toml`) or on the plugin alca knows by the id `target`.
pub async fn plugin_test(
    alca: &Alca,
    target: &str,
    options: &TestOptions,
    reporter: &dyn Reporter,
) -> Result<TestReport, Error> {
    let started = Instant::now();
    let source = resolve_target(alca, target)?;
    let image = match &options.image {
        Some(image) => image.clone(),
        None => project_image(alca)?,
    };
    let host = alca.host().await?;
    let limits = alca.settings.limits_for(source.id());
    let fixture = Fixture::new(image.clone())?;
    reporter.step(&format!(
        "Testing plugin `{}` with image {image}; its container is named {}",
        source.id(),
        fixture.name
    ));

    let mut session = Session { host, source: source.clone(), limits, instance: None };
    let mut checks = Checks::default();
    let mut made = Made::default();
    suite(&mut session, &mut checks, &fixture, &mut made).await;
    // Whatever happened above, nothing the suite made stays behind.
    cleanup(&mut session, &mut checks, &fixture, &made, reporter).await;

    let count = |o: Outcome| checks.list.iter().filter(|c| c.outcome == o).count();
    Ok(TestReport {
        plugin: source.id().to_string(),
        source: match &source.origin {
            Origin::Builtin => "built-in".into(),
            Origin::Installed(manifest) | Origin::Directory(manifest) => {
                manifest.parent().map(|p| p.display().to_string()).unwrap_or_else(|| manifest.display().to_string())
            }
        },
        image,
        container: fixture.name.clone(),
        passed: count(Outcome::Pass),
        failed: count(Outcome::Fail),
        skipped: count(Outcome::Skip),
        checks: checks.list,
        duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
    })
}

/// A directory with a manifest, or the id of a plugin alca knows.
fn resolve_target(alca: &Alca, target: &str) -> Result<PluginSource, Error> {
    let dir = alca.cwd.join(target);
    let looks_like_path = target.contains('/') || target == "." || target == "..";
    if !looks_like_path && let Some(source) = alca.registry.get(target) {
        return Ok(source);
    }
    if looks_like_path || dir.join("alca-plugin.toml").is_file() {
        if !dir.join("alca-plugin.toml").is_file() {
            return Err(Error::io(
                format!("cannot test the plugin in {}", dir.display()),
                std::io::Error::new(std::io::ErrorKind::NotFound, "it holds no alca-plugin.toml"),
            ));
        }
        return Ok(PluginSource::from_dir(&dir)?);
    }
    Err(Error::unknown_runtime_arg(target, alca.registry.ids()))
}

/// The image of the project alca runs in.
fn project_image(alca: &Alca) -> Result<String, Error> {
    match Project::discover(&alca.cwd) {
        Ok(project) => Ok(project.load_config()?.image),
        Err(Error::NoProject { .. }) => Err(Error::io(
            "no image to test with",
            std::io::Error::other(format!(
                "there is no {} here naming one; pass --image <ref> with an image the engine already has (the test never pulls)",
                crate::config::FILE_NAME
            )),
        )),
        Err(e) => Err(e),
    }
}

/// The plugin, re-instantiated after a failure that poisons its instance.
struct Session<'a> {
    host: &'a PluginHost,
    source: PluginSource,
    limits: LimitOverrides,
    instance: Option<PluginInstance>,
}

impl Session<'_> {
    async fn instance(&mut self) -> Result<&mut PluginInstance, PluginError> {
        if self.instance.is_none() {
            self.instance = Some(self.host.instantiate(&self.source, self.limits).await?);
        }
        Ok(self.instance.as_mut().expect("just instantiated"))
    }

    /// A trapped instance (or one over a limit) cannot be called again: the
    /// next call gets a fresh one.
    fn settle<T>(&mut self, r: Result<T, PluginError>) -> Result<T, PluginError> {
        if let Err(e) = &r
            && matches!(
                e,
                PluginError::Trap { .. }
                    | PluginError::Memory { .. }
                    | PluginError::Cpu { .. }
                    | PluginError::Wall { .. }
                    | PluginError::Poisoned { .. }
            )
        {
            self.instance = None;
        }
        r
    }
}

/// `call!(session, p => p.start(id))`: one export call on a live instance.
macro_rules! call {
    ($session:expr, $p:ident => $e:expr) => {{
        let r = match $session.instance().await {
            Ok($p) => $e.await,
            Err(e) => Err(e),
        };
        $session.settle(r)
    }};
}

#[derive(Default)]
struct Checks {
    list: Vec<CheckReport>,
}

impl Checks {
    fn push(&mut self, name: &'static str, outcome: Outcome) -> &mut CheckReport {
        self.list.push(CheckReport { name, outcome, expected: None, actual: None, reason: None, note: None });
        self.list.last_mut().expect("just pushed")
    }

    fn pass(&mut self, name: &'static str) {
        self.push(name, Outcome::Pass);
    }

    fn pass_with(&mut self, name: &'static str, note: impl Into<String>) {
        self.push(name, Outcome::Pass).note = Some(note.into());
    }

    fn fail(&mut self, name: &'static str, expected: impl Into<String>, actual: impl Into<String>) {
        let c = self.push(name, Outcome::Fail);
        c.expected = Some(expected.into());
        c.actual = Some(actual.into());
    }

    fn skip(&mut self, name: &'static str, reason: impl Into<String>) {
        self.push(name, Outcome::Skip).reason = Some(reason.into());
    }

    fn skip_all(&mut self, names: &'static [&'static str], reason: &str) {
        for name in names {
            self.skip(name, reason);
        }
    }

    /// `Ok(())` → pass; `Err((expected, actual))` → fail.
    fn record(&mut self, name: &'static str, r: Result<(), (String, String)>) -> bool {
        match r {
            Ok(()) => {
                self.pass(name);
                true
            }
            Err((expected, actual)) => {
                self.fail(name, expected, actual);
                false
            }
        }
    }
}

/// Every check, in the order they run.
pub const CHECKS: &[&str] = &[
    "load",
    "info",
    "detect",
    "image-exists",
    "image-exists-missing",
    "create",
    "inspect-created",
    "start",
    "list-containers",
    "list-containers-other",
    "exec",
    "exec-environment",
    "exec-writes-mount",
    "exec-overrides",
    "exec-plan",
    "features-capabilities",
    "features-read-only-mounts",
    "features-tmpfs",
    "features-resource-limits",
    "stop",
    "list-containers-stopped",
    "stop-stopped",
    "start-missing",
    "create-conflict",
    "remove",
    "remove-removed",
    "inspect-missing",
    "cleanup",
];

/// The checks from `first` up to (not including) `until`.
fn span(first: &str, until: &str) -> &'static [&'static str] {
    let at = |name: &str| CHECKS.iter().position(|c| *c == name).unwrap_or(CHECKS.len());
    let (from, to) = (at(first), at(until));
    &CHECKS[from.min(to)..to]
}

/// What the suite made, for the cleanup.
#[derive(Default)]
struct Made {
    /// Container ids `create` returned.
    ids: Vec<String>,
    /// Whether a create was attempted (names to remove).
    names: Vec<String>,
}

/// The test's inputs: names, a project id, the directories it mounts.
struct Fixture {
    image: String,
    /// `alca-conformance-<8 hex>`.
    name: String,
    project_id: String,
    /// Held to delete the temporary directories with the fixture.
    _dirs: [tempfile::TempDir; 2],
    /// The mounted directory, canonical (what the engine sees).
    dir_path: PathBuf,
    /// The directory mounted read-only.
    ro_path: PathBuf,
}

impl Fixture {
    fn new(image: String) -> Result<Fixture, Error> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{NAME_PREFIX}{}", &token[..8]);
        let make = || {
            tempfile::Builder::new()
                .prefix(NAME_PREFIX)
                .tempdir()
                .map_err(|e| Error::io("cannot create a temporary directory for the test", e))
        };
        let (dir, ro_dir) = (make()?, make()?);
        let canonical =
            |p: &Path| p.canonicalize().map_err(|e| Error::io(format!("cannot resolve {}", p.display()), e));
        let (dir_path, ro_path) = (canonical(dir.path())?, canonical(ro_dir.path())?);
        std::fs::write(dir_path.join(PROBE_FILE), format!("{PROBE_TEXT}\n"))
            .map_err(|e| Error::io("cannot write the test's probe file", e))?;
        std::fs::write(ro_path.join(PROBE_FILE), format!("{PROBE_TEXT}\n"))
            .map_err(|e| Error::io("cannot write the test's probe file", e))?;
        Ok(Fixture {
            image,
            name,
            project_id: uuid::Uuid::new_v4().to_string(),
            _dirs: [dir, ro_dir],
            dir_path,
            ro_path,
        })
    }

    fn missing_name(&self) -> String {
        format!("{}-missing", self.name)
    }

    /// A spec like alca's own (`spec::container_spec`), plus what the
    /// plugin's features let the suite check.
    fn spec(&self, features: container::Features) -> container::ContainerSpec {
        let kv = |k: &str, v: &str| container::KeyValue { key: k.into(), value: v.into() };
        let mut mounts = vec![container::Mount {
            kind: container::MountKind::Bind,
            source: self.dir_path.display().to_string(),
            target: WORKDIR.into(),
            read_only: false,
        }];
        if features.read_only_mounts {
            mounts.push(container::Mount {
                kind: container::MountKind::Bind,
                source: self.ro_path.display().to_string(),
                target: RO_TARGET.into(),
                read_only: true,
            });
        }
        if features.tmpfs {
            mounts.push(container::Mount {
                kind: container::MountKind::Tmpfs,
                source: String::new(),
                target: TMPFS_TARGET.into(),
                read_only: false,
            });
        }
        let capabilities = if features.capabilities {
            container::Capabilities {
                drop: vec!["ALL".into()],
                add: spec::CAPS_ADD.iter().map(|s| s.to_string()).collect(),
            }
        } else {
            container::Capabilities { drop: Vec::new(), add: Vec::new() }
        };
        let resources = if features.resource_limits {
            container::Resources { cpus: Some(cpus_for(features)), memory_bytes: Some(MEMORY_BYTES) }
        } else {
            container::Resources { cpus: None, memory_bytes: None }
        };
        container::ContainerSpec {
            name: self.name.clone(),
            image: self.image.clone(),
            labels: vec![
                kv(LABEL_PROJECT_ID, &self.project_id),
                kv(LABEL_PROJECT_PATH, &self.dir_path.display().to_string()),
                kv(LABEL_VERSION, crate::VERSION),
            ],
            env: vec![kv(ENV_KEY, ENV_VALUE), kv("ALCA_CONFORMANCE_SECOND", "2")],
            mounts,
            ports: Vec::new(),
            workdir: Some(WORKDIR.into()),
            user: None,
            entrypoint: None,
            command: spec::KEEP_ALIVE.iter().map(|s| s.to_string()).collect(),
            resources,
            capabilities,
            restart: if features.restart_policy {
                container::RestartPolicy::UnlessStopped
            } else {
                container::RestartPolicy::No
            },
            network: container::NetworkMode::Default,
            init: false,
        }
    }

    fn exec(&self, container: &str, argv: &[&str]) -> container::ExecRequest {
        container::ExecRequest {
            container: container.to_string(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            tty: false,
            interactive: false,
            user: None,
            workdir: None,
            env: Vec::new(),
        }
    }

    fn selector(&self, project_id: &str) -> Vec<container::LabelSelector> {
        vec![container::LabelSelector { key: LABEL_PROJECT_ID.into(), value: Some(project_id.to_string()) }]
    }
}

fn cpus_for(features: container::Features) -> f64 {
    if features.fractional_cpus { 0.5 } else { 1.0 }
}

/// An error as the report shows it: the contract's variant name first.
fn describe(e: &PluginError) -> String {
    match e.runtime_error() {
        Some(r) => format!("runtime-error `{}`: {e}", variant(r)),
        None => e.to_string(),
    }
}

fn variant(e: &container::RuntimeError) -> &'static str {
    use container::RuntimeError as E;
    match e {
        E::NotAvailable(_) => "not-available",
        E::NotFound(_) => "not-found",
        E::Conflict(_) => "conflict",
        E::InvalidSpec(_) => "invalid-spec",
        E::Unsupported(_) => "unsupported",
        E::Denied(_) => "denied",
        E::CommandFailed(_) => "command-failed",
        E::TimedOut(_) => "timed-out",
        E::Parse(_) => "parse",
    }
}

/// `"x"` with escapes: what a container printed, shown exactly.
fn shown(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// MAJOR.MINOR.PATCH, with an optional `-pre.release` and `+build`.
pub fn is_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.').all(|id| ident(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || numeric(id)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// Image references compare after the engine's own completions
/// (`localhost/`, `docker.io/library/`, `:latest`).
fn same_image(a: &str, b: &str) -> bool {
    fn normal(s: &str) -> String {
        let mut s = s.trim();
        for prefix in ["docker.io/library/", "docker.io/", "localhost/"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
                break;
            }
        }
        let last = s.rsplit('/').next().unwrap_or(s);
        if last.contains(':') || last.contains('@') { s.to_string() } else { format!("{s}:latest") }
    }
    normal(a) == normal(b)
}

fn state_is(info: &container::ContainerInfo, wanted: &[container::ContainerState]) -> bool {
    wanted.contains(&info.state)
}

fn states(wanted: &[container::ContainerState]) -> String {
    wanted.iter().map(|s| format!("`{}`", spec::state_name(*s))).collect::<Vec<_>>().join(" or ")
}

/// The container `inspect` shows in one of `wanted`.
async fn expect_state(
    session: &mut Session<'_>,
    id: &str,
    wanted: &[container::ContainerState],
) -> Result<container::ContainerInfo, (String, String)> {
    let expected = format!("inspect shows the container {}", states(wanted));
    match call!(session, p => p.inspect(id)) {
        Ok(Some(info)) if state_is(&info, wanted) => Ok(info),
        Ok(Some(info)) => Err((expected, format!("it is `{}`", spec::state_name(info.state)))),
        Ok(None) => Err((expected, "inspect says the container does not exist".into())),
        Err(e) => Err((expected, describe(&e))),
    }
}

/// Does `info` name the container the suite made?
fn is_ours(info: &container::ContainerInfo, id: &str, name: &str) -> bool {
    info.id == id || info.name == name
}

fn listed(infos: &[container::ContainerInfo]) -> String {
    if infos.is_empty() {
        return "nothing".into();
    }
    infos.iter().map(|i| format!("{} ({})", i.name, i.id)).collect::<Vec<_>>().join(", ")
}

/// Lists by the project label and expects exactly the suite's container
/// (`Some`) or nothing (`None`).
async fn expect_listing(
    session: &mut Session<'_>,
    selector: &[container::LabelSelector],
    include_stopped: bool,
    ours: Option<(&str, &str)>,
) -> Result<(), (String, String)> {
    let what = format!(
        "list-containers({}, include-stopped: {include_stopped})",
        selector.iter().map(crate::plugin::bind::selector_text).collect::<Vec<_>>().join(", ")
    );
    let expected = match ours {
        Some((_, name)) => format!("{what} returns exactly the container {name}"),
        None => format!("{what} returns nothing"),
    };
    let infos = call!(session, p => p.list_containers(selector, include_stopped))
        .map_err(|e| (expected.clone(), describe(&e)))?;
    match ours {
        None if infos.is_empty() => Ok(()),
        Some((id, name)) if infos.len() == 1 && is_ours(&infos[0], id, name) => {
            let info = &infos[0];
            let missing: Vec<&str> = [LABEL_PROJECT_ID, LABEL_PROJECT_PATH, LABEL_VERSION]
                .into_iter()
                .filter(|k| spec::label(info, k).is_none())
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err((expected, format!("the listed container lacks the labels {}", missing.join(", "))))
            }
        }
        _ => Err((expected, format!("it returned {}", listed(&infos)))),
    }
}

/// Runs `argv` in the container and returns its output (exit code, stdout, stderr).
async fn exec(session: &mut Session<'_>, req: &container::ExecRequest) -> Result<container::ExecOutput, String> {
    call!(session, p => p.exec(req)).map_err(|e| describe(&e))
}

/// Runs a checked plan without a terminal, capturing its output.
async fn run_plan(cmd: &AttachedCommand) -> Result<std::process::Output, String> {
    use std::os::unix::process::CommandExt;
    let mut std_cmd = std::process::Command::new(&cmd.path);
    std_cmd.arg0(&cmd.program).args(&cmd.args).env_clear().envs(cmd.env.iter().map(|(k, v)| (k, v))).current_dir("/");
    let mut command = tokio::process::Command::from(std_cmd);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    match tokio::time::timeout(PLAN_RUN_TIMEOUT, command.output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("cannot run `{}`: {e}", cmd.display())),
        Err(_) => Err(format!("`{}` did not finish within {PLAN_RUN_TIMEOUT:?}", cmd.display())),
    }
}

/// The capability numbers of the names in `names` (without `CAP_`).
fn capability_mask(names: &[&str]) -> Option<u64> {
    // In the kernel's order: a capability's number is its index.
    const CAPS: &[&str] = crate::plugin::bind::LINUX_CAPABILITIES;
    names.iter().try_fold(0u64, |mask, name| Some(mask | 1 << CAPS.iter().position(|c| c == name)?))
}

fn capability_names(mask: u64) -> String {
    let known = spec::CAPS_ADD;
    let named: Vec<&str> =
        known.iter().copied().filter(|n| capability_mask(&[n]).is_some_and(|m| mask & m != 0)).collect();
    let rest = mask & !capability_mask(&named).unwrap_or(0);
    let mut s = named.join(", ");
    if rest != 0 {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&format!("others (0x{rest:x})"));
    }
    if s.is_empty() { "none".into() } else { s }
}

async fn suite(session: &mut Session<'_>, checks: &mut Checks, fx: &Fixture, made: &mut Made) {
    use container::ContainerState as S;

    // load: the component compiles and instantiates within its limits.
    let info = match session.instance().await {
        Ok(p) => {
            checks.pass("load");
            p.info().clone()
        }
        Err(e) => {
            checks.fail("load", "the component loads and instantiates within its limits", e.to_string());
            checks.skip_all(span("info", "cleanup"), "the plugin did not load");
            return;
        }
    };
    let manifest = session.source.manifest.clone();

    // info: who the plugin says it is.
    let mut problems = Vec::new();
    if info.id != manifest.id {
        problems.push(format!("its id is `{}`, its manifest's `{}`", info.id, manifest.id));
    }
    if !is_semver(&info.version) {
        problems.push(format!("its version `{}` is not semver (MAJOR.MINOR.PATCH)", info.version));
    }
    if info.name.trim().is_empty() {
        problems.push("its name is empty".into());
    }
    if info.runtime.trim().is_empty() {
        problems.push("its runtime is empty".into());
    }
    if problems.is_empty() {
        checks.pass_with("info", format!("{} {}", info.name, info.version));
    } else {
        checks.fail("info", "id equal to the manifest's, a semver version, a name and a runtime", problems.join("; "));
    }

    // detect: the engine is there (the rest needs it). What the version it
    // found can express replaces the plugin's features.
    let mut features = info.features;
    match call!(session, p => p.detect()) {
        Ok(a) if a.available => {
            if let Some(detected) = a.features {
                features = detected;
            }
            match &a.version {
                Some(v) => checks.pass_with("detect", format!("engine {v}")),
                None => checks.pass("detect"),
            }
        }
        Ok(a) => {
            let mut actual = format!("not available: {}", a.reason.as_deref().unwrap_or("(no reason given)"));
            if let Some(hint) = &a.hint {
                actual.push_str(&format!(" (hint: {hint})"));
            }
            checks.fail("detect", "available: true (the tests need a running engine)", actual);
            checks.skip_all(span("image-exists", "cleanup"), "the runtime is not available");
            return;
        }
        Err(e) => {
            checks.fail("detect", "an availability record", describe(&e));
            checks.skip_all(span("image-exists", "cleanup"), "detect failed");
            return;
        }
    }

    // image-exists: true for the test image, false for a missing one.
    let mut have_image = true;
    match call!(session, p => p.image_exists(&fx.image)) {
        Ok(true) => checks.pass("image-exists"),
        Ok(false) => {
            have_image = false;
            checks.fail(
                "image-exists",
                format!("true for {} (pass --image with an image the engine has; the test never pulls)", fx.image),
                "false",
            );
        }
        Err(e) => checks.fail("image-exists", format!("true for {}", fx.image), describe(&e)),
    }
    let missing_image = format!("{}-no-such-image:never", fx.name);
    match call!(session, p => p.image_exists(&missing_image)) {
        Ok(false) => checks.pass("image-exists-missing"),
        Ok(true) => checks.fail("image-exists-missing", format!("false for {missing_image}"), "true"),
        Err(e) => {
            checks.fail("image-exists-missing", format!("false (not an error) for {missing_image}"), describe(&e))
        }
    }

    if !have_image {
        without_container(session, checks, fx, "create", "the test image is not in the engine").await;
        return;
    }

    // create: alca's kind of spec.
    let spec = fx.spec(features);
    made.names.push(spec.name.clone());
    let id = match call!(session, p => p.create(&spec)) {
        Ok(id) => {
            made.ids.push(id.clone());
            checks.pass("create");
            id
        }
        Err(e) => {
            checks.fail("create", "a container id", describe(&e));
            without_container(session, checks, fx, "inspect-created", "create failed").await;
            return;
        }
    };

    // inspect-created: what was created is what was asked for.
    let r = match expect_state(session, &id, &[S::Created, S::Exited]).await {
        Err(e) => Err(e),
        Ok(c) => {
            let mut problems = Vec::new();
            if c.name != spec.name {
                problems.push(format!("its name is `{}`, not `{}`", c.name, spec.name));
            }
            if !same_image(&c.image, &spec.image) {
                problems.push(format!("its image is `{}`, not `{}`", c.image, spec.image));
            }
            for kv in &spec.labels {
                match spec::label(&c, &kv.key) {
                    Some(v) if v == kv.value => {}
                    Some(v) => problems.push(format!("label {} is `{v}`, not `{}`", kv.key, kv.value)),
                    None => problems.push(format!("label {} is missing", kv.key)),
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(("the spec's name, image and labels".into(), problems.join("; ")))
            }
        }
    };
    checks.record("inspect-created", r);

    // start → running.
    let running = match call!(session, p => p.start(&id)) {
        Err(e) => Err(("start succeeds".to_string(), describe(&e))),
        Ok(()) => expect_state(session, &id, &[S::Running]).await.map(drop),
    };
    let running = checks.record("start", running);

    // list-containers: by the project label.
    let r = expect_listing(session, &fx.selector(&fx.project_id), false, Some((&id, &fx.name))).await;
    let r = match r {
        Ok(()) => {
            // Several selectors: all must match.
            let mut both = fx.selector(&fx.project_id);
            both.push(container::LabelSelector { key: LABEL_VERSION.into(), value: Some(crate::VERSION.into()) });
            expect_listing(session, &both, true, Some((&id, &fx.name))).await
        }
        e => e,
    };
    checks.record("list-containers", r);
    let other = uuid::Uuid::new_v4().to_string();
    let r = expect_listing(session, &fx.selector(&other), true, None).await;
    checks.record("list-containers-other", r);

    // exec: only in a running container.
    if !running {
        checks.skip_all(span("exec", "stop"), "the container is not running");
    } else {
        exec_suite(session, checks, fx, &id, features).await;
    }

    // stop → exited; listed only with include-stopped.
    let stopped = match call!(session, p => p.stop(&id, Some(STOP_GRACE_SECS))) {
        Err(e) => Err(("stop succeeds".to_string(), describe(&e))),
        Ok(()) => expect_state(session, &id, &[S::Exited]).await.map(drop),
    };
    let stopped = checks.record("stop", stopped);
    if stopped {
        let r = match expect_listing(session, &fx.selector(&fx.project_id), false, None).await {
            Ok(()) => expect_listing(session, &fx.selector(&fx.project_id), true, Some((&id, &fx.name))).await,
            e => e,
        };
        checks.record("list-containers-stopped", r);
        let r = match call!(session, p => p.stop(&id, Some(STOP_GRACE_SECS))) {
            Ok(()) => Ok(()),
            Err(e) => Err(("stopping a stopped container succeeds".to_string(), describe(&e))),
        };
        checks.record("stop-stopped", r);
    } else {
        checks.skip_all(span("list-containers-stopped", "start-missing"), "the container did not stop");
    }

    start_missing(session, checks, fx).await;

    // create-conflict: the name is taken.
    let r = match call!(session, p => p.create(&spec)) {
        Err(e) if e.runtime_error().is_some_and(|r| matches!(r, container::RuntimeError::Conflict(_))) => Ok(()),
        Err(e) => Err(describe(&e)),
        Ok(second) => {
            made.ids.push(second.clone());
            Err(format!("it created another container, `{second}`"))
        }
    };
    checks.record(
        "create-conflict",
        r.map_err(|actual| (format!("runtime-error `conflict` for a second container named {}", fx.name), actual)),
    );

    // remove (force) → gone; removing again succeeds.
    let r = match call!(session, p => p.remove(&id, true)) {
        Err(e) => Err(("remove succeeds".to_string(), describe(&e))),
        Ok(()) => match call!(session, p => p.inspect(&id)) {
            Ok(None) => Ok(()),
            Ok(Some(c)) => Err((
                "inspect says the container does not exist".to_string(),
                format!("it is still there, `{}`", spec::state_name(c.state)),
            )),
            Err(e) => Err(("inspect returns none".to_string(), describe(&e))),
        },
    };
    let removed = checks.record("remove", r);
    if removed {
        let r = match call!(session, p => p.remove(&id, true)) {
            Ok(()) => Ok(()),
            Err(e) => Err(("removing a removed container succeeds".to_string(), describe(&e))),
        };
        checks.record("remove-removed", r);
    } else {
        checks.skip("remove-removed", "remove failed");
    }
    inspect_missing(session, checks, fx).await;
}

/// `start-missing`: starting a container that does not exist is `not-found`.
async fn start_missing(session: &mut Session<'_>, checks: &mut Checks, fx: &Fixture) {
    let missing = fx.missing_name();
    let r = match call!(session, p => p.start(&missing)) {
        Err(e) if e.runtime_error().is_some_and(|r| matches!(r, container::RuntimeError::NotFound(_))) => Ok(()),
        Err(e) => Err(describe(&e)),
        Ok(()) => Err("it succeeded".into()),
    };
    checks.record("start-missing", r.map_err(|a| (format!("runtime-error `not-found` for {missing}"), a)));
}

/// `inspect-missing`: inspecting a container that does not exist is `none`.
async fn inspect_missing(session: &mut Session<'_>, checks: &mut Checks, fx: &Fixture) {
    let r = match call!(session, p => p.inspect(&fx.missing_name())) {
        Ok(None) => Ok(()),
        Ok(Some(c)) => Err(format!("it returned {} ({})", c.name, c.id)),
        Err(e) => Err(describe(&e)),
    };
    checks.record(
        "inspect-missing",
        r.map_err(|a| (format!("none (not an error) for the missing container {}", fx.missing_name()), a)),
    );
}

/// Without a container: skips the checks that need one (from `first` on)
/// and runs those that do not.
async fn without_container(session: &mut Session<'_>, checks: &mut Checks, fx: &Fixture, first: &str, reason: &str) {
    checks.skip_all(span(first, "start-missing"), reason);
    start_missing(session, checks, fx).await;
    checks.skip_all(span("create-conflict", "inspect-missing"), reason);
    inspect_missing(session, checks, fx).await;
}

async fn exec_suite(
    session: &mut Session<'_>,
    checks: &mut Checks,
    fx: &Fixture,
    id: &str,
    features: container::Features,
) {
    // exec: exit code and both streams.
    let req = fx.exec(id, &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let r = match exec(session, &req).await {
        Ok(o) if o.exit_code == 7 && o.stdout == b"out\n" && o.stderr == b"err\n" => Ok(()),
        Ok(o) => Err(format!("exit code {}, stdout {}, stderr {}", o.exit_code, shown(&o.stdout), shown(&o.stderr))),
        Err(e) => Err(e),
    };
    checks.record("exec", r.map_err(|a| ("exit code 7, stdout \"out\\n\", stderr \"err\\n\"".to_string(), a)));

    // exec-environment: the spec's env, workdir and mount.
    let script = format!("printf '%s\\n' \"${ENV_KEY}\" \"$ALCA_CONFORMANCE_SECOND\"; pwd; cat {PROBE_FILE}");
    let want = format!("{ENV_VALUE}\n2\n{WORKDIR}\n{PROBE_TEXT}\n");
    let r = match exec(session, &fx.exec(id, &["sh", "-c", &script])).await {
        Ok(o) if o.exit_code == 0 && o.stdout == want.as_bytes() => Ok(()),
        Ok(o) => Err(format!("exit code {}, stdout {}, stderr {}", o.exit_code, shown(&o.stdout), shown(&o.stderr))),
        Err(e) => Err(e),
    };
    checks.record(
        "exec-environment",
        r.map_err(|a| {
            (
                format!(
                    "the spec's env, the workdir {WORKDIR} and the mounted file: stdout {}",
                    shown(want.as_bytes())
                ),
                a,
            )
        }),
    );

    // exec-writes-mount: what the container writes reaches the host.
    let written = fx.dir_path.join("from-container.txt");
    let r = match exec(session, &fx.exec(id, &["sh", "-c", "echo from the container > from-container.txt"])).await {
        Err(e) => Err(e),
        Ok(o) if o.exit_code != 0 => {
            Err(format!("the write failed: exit code {}, stderr {}", o.exit_code, shown(&o.stderr)))
        }
        Ok(_) => match std::fs::read(&written) {
            Ok(b) if b == b"from the container\n" => Ok(()),
            Ok(b) => Err(format!("the host reads {}", shown(&b))),
            Err(e) => Err(format!("the host cannot read it: {e}")),
        },
    };
    checks.record(
        "exec-writes-mount",
        r.map_err(|a| (format!("a file written in the workdir appears in {}", written.display()), a)),
    );

    // exec-overrides: the request's env and workdir win.
    let mut req = fx.exec(id, &["sh", "-c", &format!("printf '%s\\n' \"${ENV_KEY}\" \"$ALCA_CONFORMANCE_EXEC\"; pwd")]);
    req.env = vec![
        container::KeyValue { key: ENV_KEY.into(), value: "overridden by the exec request".into() },
        container::KeyValue { key: "ALCA_CONFORMANCE_EXEC".into(), value: "set by the exec request".into() },
    ];
    req.workdir = Some("/".into());
    let want = "overridden by the exec request\nset by the exec request\n/\n";
    // A runtime that cannot set a command's environment must say so
    // (`unsupported`), never run the command without it.
    let r = match call!(session, p => p.exec(&req)) {
        Ok(o) if o.exit_code == 0 && o.stdout == want.as_bytes() => Ok(()),
        Ok(o) => Err(format!("exit code {}, stdout {}, stderr {}", o.exit_code, shown(&o.stdout), shown(&o.stderr))),
        Err(e) => match e.runtime_error() {
            Some(container::RuntimeError::Unsupported(why)) => {
                checks.skip("exec-overrides", format!("the plugin says its runtime cannot: {why}"));
                Ok(())
            }
            _ => Err(describe(&e)),
        },
    };
    if !checks.list.iter().any(|c| c.name == "exec-overrides") {
        checks.record("exec-overrides", r.map_err(|a| (format!("stdout {}", shown(want.as_bytes())), a)));
    }

    // exec-plan: alca's own kind of plan (terminal, stdin) is accepted by
    // the grant; a plan without a terminal runs and does what it should.
    let mut interactive = fx.exec(id, &["sh"]);
    interactive.tty = true;
    interactive.interactive = true;
    interactive.workdir = Some(WORKDIR.into());
    let r = match call!(session, p => p.exec_plan(&interactive)) {
        Err(e) => Err(("an interactive plan (tty, stdin) the grant accepts".to_string(), describe(&e))),
        Ok(_) => {
            let plain = fx.exec(id, &["sh", "-c", "echo plan ran; exit 3"]);
            match call!(session, p => p.exec_plan(&plain)) {
                Err(e) => Err(("a plan without a terminal the grant accepts".to_string(), describe(&e))),
                Ok(cmd) => {
                    let expected = format!("`{}` prints \"plan ran\\n\" and exits with 3", cmd.display());
                    match run_plan(&cmd).await {
                        Ok(o) if o.status.code() == Some(3) && o.stdout == b"plan ran\n" => Ok(()),
                        Ok(o) => Err((
                            expected,
                            format!(
                                "exit {:?}, stdout {}, stderr {}",
                                o.status.code(),
                                shown(&o.stdout),
                                shown(&o.stderr)
                            ),
                        )),
                        Err(e) => Err((expected, e)),
                    }
                }
            }
        }
    };
    checks.record("exec-plan", r);

    features_suite(session, checks, fx, id, features).await;
}

async fn features_suite(
    session: &mut Session<'_>,
    checks: &mut Checks,
    fx: &Fixture,
    id: &str,
    features: container::Features,
) {
    let undeclared = |f: &str| format!("the plugin does not declare the `{f}` feature");

    // capabilities: drop ALL, add a few → exactly those.
    if features.capabilities {
        let want = capability_mask(spec::CAPS_ADD).expect("alca's capabilities are known");
        let r = exec(session, &fx.exec(id, &["sh", "-c", "grep '^CapBnd:' /proc/self/status"])).await;
        let expected = format!("the bounding set is exactly {} (0x{want:x})", spec::CAPS_ADD.join(", "));
        match r {
            Ok(o) if o.exit_code == 0 => {
                let text = String::from_utf8_lossy(&o.stdout);
                match text.split_whitespace().nth(1).and_then(|h| u64::from_str_radix(h, 16).ok()) {
                    Some(mask) if mask == want => checks.pass("features-capabilities"),
                    Some(mask) => checks.fail(
                        "features-capabilities",
                        expected,
                        format!("it is {} (0x{mask:x})", capability_names(mask)),
                    ),
                    None => checks.fail(
                        "features-capabilities",
                        expected,
                        format!("/proc/self/status says {}", shown(&o.stdout)),
                    ),
                }
            }
            Ok(_) => checks.skip("features-capabilities", "the image cannot show /proc/self/status"),
            Err(e) => checks.fail("features-capabilities", expected, e),
        }
    } else {
        checks.skip("features-capabilities", undeclared("capabilities"));
    }

    // read-only-mounts: writes to the read-only mount fail.
    if features.read_only_mounts {
        let script = format!("cat {RO_TARGET}/{PROBE_FILE} && ! echo x > {RO_TARGET}/written 2>/dev/null");
        let r = match exec(session, &fx.exec(id, &["sh", "-c", &script])).await {
            Err(e) => Err(e),
            Ok(o) if o.stdout != format!("{PROBE_TEXT}\n").as_bytes() => {
                Err(format!("the mount does not show the host's file: stdout {}", shown(&o.stdout)))
            }
            Ok(_) if fx.ro_path.join("written").exists() => Err("a file written in it appeared on the host".into()),
            Ok(o) if o.exit_code != 0 => Err(format!("the write did not fail: exit code {}", o.exit_code)),
            Ok(_) => Ok(()),
        };
        checks.record(
            "features-read-only-mounts",
            r.map_err(|a| (format!("{RO_TARGET} shows the host's directory and refuses writes"), a)),
        );
    } else {
        checks.skip("features-read-only-mounts", undeclared("read-only-mounts"));
    }

    // tmpfs: the mount is a tmpfs.
    if features.tmpfs {
        let r = match exec(session, &fx.exec(id, &["cat", "/proc/mounts"])).await {
            Err(e) => Err(e),
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout);
                let line = text.lines().find(|l| l.split_whitespace().nth(1) == Some(TMPFS_TARGET));
                match line {
                    Some(l) if l.split_whitespace().nth(2) == Some("tmpfs") => Ok(()),
                    Some(l) => Err(format!("it is mounted as `{l}`")),
                    None => Err("nothing is mounted there".into()),
                }
            }
        };
        checks.record("features-tmpfs", r.map_err(|a| (format!("a tmpfs at {TMPFS_TARGET}"), a)));
    } else {
        checks.skip("features-tmpfs", undeclared("tmpfs"));
    }

    // resource-limits: the cgroup shows the memory and CPU limits.
    if features.resource_limits {
        let cpus = cpus_for(features);
        let expected =
            format!("a memory limit of {MEMORY_BYTES} bytes and a CPU quota of {cpus} CPUs in the container's cgroup");
        let script = "if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max; \
                      else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; fi";
        match exec(session, &fx.exec(id, &["sh", "-c", script])).await {
            Err(e) => checks.fail("features-resource-limits", expected, e),
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                let words: Vec<&str> = text.split_whitespace().collect();
                match words.as_slice() {
                    [memory, quota, period] if o.exit_code == 0 => {
                        let memory_ok = memory.parse::<u64>().ok() == Some(MEMORY_BYTES);
                        let ratio = match (quota.parse::<f64>(), period.parse::<f64>()) {
                            (Ok(q), Ok(p)) if p > 0.0 && q > 0.0 => Some(q / p),
                            _ => None,
                        };
                        let cpus_ok = ratio.is_some_and(|r| (r - cpus).abs() < 0.01);
                        if memory_ok && cpus_ok {
                            checks.pass("features-resource-limits");
                        } else {
                            checks.fail(
                                "features-resource-limits",
                                expected,
                                format!("memory limit {memory}, CPU quota {quota} per {period}"),
                            );
                        }
                    }
                    _ => checks.skip("features-resource-limits", "the container's cgroup limits are not readable"),
                }
            }
        }
    } else {
        checks.skip("features-resource-limits", undeclared("resource-limits"));
    }
}

/// Force-removes everything the suite made (a fresh instance if the last
/// one is poisoned) and checks that nothing is left.
async fn cleanup(session: &mut Session<'_>, checks: &mut Checks, fx: &Fixture, made: &Made, reporter: &dyn Reporter) {
    if made.names.is_empty() && made.ids.is_empty() {
        checks.skip("cleanup", "no container was created");
        return;
    }
    let mut targets: Vec<String> = made.ids.clone();
    targets.extend(made.names.iter().cloned());
    targets.dedup();
    let mut left = Vec::new();
    for target in &targets {
        let _ = call!(session, p => p.remove(target, true));
        match call!(session, p => p.inspect(target)) {
            Ok(None) => {}
            Ok(Some(c)) => left.push(format!("{} ({})", c.name, c.id)),
            Err(e) => left.push(format!("{target} (inspect failed: {})", describe(&e))),
        }
    }
    if left.is_empty() {
        checks.pass("cleanup");
    } else {
        reporter.warn(&format!(
            "containers made by the test may be left behind: {}; remove them with the engine's CLI (their names start with {})",
            left.join(", "),
            fx.name
        ));
        checks.fail("cleanup", "every container the test made is removed", format!("left: {}", left.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver() {
        for v in ["0.1.0", "1.2.3", "10.20.30", "1.0.0-alpha.1", "1.0.0+build.5", "1.0.0-rc.1+x-y"] {
            assert!(is_semver(v), "{v}");
        }
        for v in ["", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "v1.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b"]
        {
            assert!(!is_semver(v), "{v}");
        }
    }

    #[test]
    fn images_compare_like_the_engine_completes_them() {
        assert!(same_image("alca-test-busybox:latest", "localhost/alca-test-busybox:latest"));
        assert!(same_image("busybox", "docker.io/library/busybox:latest"));
        assert!(same_image("registry:5000/a/b", "registry:5000/a/b:latest"));
        assert!(!same_image("busybox:1", "busybox:2"));
    }

    #[test]
    fn capability_masks() {
        assert_eq!(capability_mask(spec::CAPS_ADD), Some(0xeb));
        assert_eq!(capability_mask(&["NO_SUCH"]), None);
        assert_eq!(
            capability_names(0xeb | 1 << 21),
            "CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETUID, SETGID, others (0x200000)"
        );
    }

    #[test]
    fn spans_follow_the_order() {
        assert_eq!(span("image-exists", "cleanup").last(), Some(&"inspect-missing"));
        assert_eq!(span("create", "start-missing").last(), Some(&"stop-stopped"));
        assert_eq!(span("exec", "stop").last(), Some(&"features-resource-limits"));
        assert_eq!(span("create-conflict", "inspect-missing"), ["create-conflict", "remove", "remove-removed"]);
        assert!(span("nonsense", "stop").is_empty());
    }
}
