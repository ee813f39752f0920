//! `alca plugin new` and `alca plugin build`: start a runtime plugin from a
//! working template, and turn a plugin's sources into the component alca
//! loads.
//!
//! The templates are real projects under `plugins/templates/<lang>/`,
//! embedded here; each is a complete Docker backend with the built-in
//! Docker plugin's grant, so a new plugin builds, passes `alca plugin test`
//! and installs before its author changes a line. Placeholders are
//! `{{id}}` (the plugin id), `{{crate}}` (the id as a Rust identifier),
//! `{{repository}}` and `{{alca-version}}`.
//!
//! `build` runs the manifest's `[build]` commands in the plugin's directory,
//! without a shell, with the terminal's output streams (the commands' stdout
//! goes to alca's stderr, so alca's stdout holds only the result), and then
//! checks the component the manifest names.

use std::fmt;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::Reporter;
use crate::plugin::{MAX_COMPONENT_BYTES, PluginSource, manifest::Manifest};

/// The manifest's file name in a plugin's directory.
const MANIFEST: &str = "alca-plugin.toml";
/// The component file when the manifest names none.
const DEFAULT_COMPONENT: &str = "plugin.wasm";
/// The Rust target of a component.
const WASM_TARGET: &str = "wasm32-wasip2";
/// The componentize-py the Python template is written and tested for.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// The newest contract: what the Python and JavaScript scaffolds build against.
const NEWEST_WIT: &str = include_str!("../../../wit/since_v0.2.0/runtime.wit");
/// The workspace manifest, for the repository URL the Rust scaffold's SDK
/// dependency points at.
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");
/// The Rust template's SDK dependency line; `--sdk` replaces it.
const SDK_LINE_PREFIX: &str = "alca-plugin-sdk = ";

/// One file of a template: its path in the new plugin, and its text.
struct TemplateFile {
    path: &'static str,
    text: &'static str,
}

const fn file(path: &'static str, text: &'static str) -> TemplateFile {
    TemplateFile { path, text }
}

const RUST: &[TemplateFile] = &[
    // Not named Cargo.toml in the repository: cargo reads every Cargo.toml of
    // a git dependency's checkout, and would report this one's placeholders.
    file("Cargo.toml", include_str!("../../../plugins/templates/rust/Cargo.toml.in")),
    file("src/lib.rs", include_str!("../../../plugins/templates/rust/src/lib.rs")),
    file(MANIFEST, include_str!("../../../plugins/templates/rust/alca-plugin.toml")),
    file("rustfmt.toml", include_str!("../../../plugins/templates/rust/rustfmt.toml")),
    file(".gitignore", include_str!("../../../plugins/templates/rust/.gitignore")),
    file("README.md", include_str!("../../../plugins/templates/rust/README.md")),
];

const PYTHON: &[TemplateFile] = &[
    file("app.py", include_str!("../../../plugins/templates/python/app.py")),
    file(MANIFEST, include_str!("../../../plugins/templates/python/alca-plugin.toml")),
    file("wit/runtime.wit", NEWEST_WIT),
    file(".gitignore", include_str!("../../../plugins/templates/python/.gitignore")),
    file("README.md", include_str!("../../../plugins/templates/python/README.md")),
];

/// The JavaScript scaffold is alca's example plugin `docker-js`, made into a
/// plugin of its own on the newest contract by [`adapt_js`].
const JS: &[TemplateFile] = &[
    file("package.json", include_str!("../../../plugins/examples/docker-js/package.json")),
    file("package-lock.json", include_str!("../../../plugins/examples/docker-js/package-lock.json")),
    file("build.mjs", include_str!("../../../plugins/examples/docker-js/build.mjs")),
    file("src/plugin.js", include_str!("../../../plugins/examples/docker-js/src/plugin.js")),
    file("src/argv.js", include_str!("../../../plugins/examples/docker-js/src/argv.js")),
    file("src/parse.js", include_str!("../../../plugins/examples/docker-js/src/parse.js")),
    file("src/errors.js", include_str!("../../../plugins/examples/docker-js/src/errors.js")),
    file("test/argv.test.js", include_str!("../../../plugins/examples/docker-js/test/argv.test.js")),
    file("test/parse.test.js", include_str!("../../../plugins/examples/docker-js/test/parse.test.js")),
    file("test/errors.test.js", include_str!("../../../plugins/examples/docker-js/test/errors.test.js")),
    file(MANIFEST, include_str!("../../../plugins/examples/docker-js/alca-plugin.toml")),
    file("wit/runtime.wit", NEWEST_WIT),
    file(".gitignore", include_str!("../../../plugins/examples/docker-js/.gitignore")),
    file("README.md", include_str!("../../../plugins/templates/js/README.md")),
];

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Rust, Lang::Python, Lang::Js];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// What building a plugin in this language needs.
    pub fn toolchain(self) -> &'static str {
        match self {
            Lang::Rust => "Rust 1.95+ with the wasm32-wasip2 target (`rustup target add wasm32-wasip2`)",
            Lang::Python => "componentize-py 0.25.1 (`pip install componentize-py==0.25.1`)",
            Lang::Js => "Node.js 20+ with npm",
        }
    }

    fn templates(self) -> &'static [TemplateFile] {
        match self {
            Lang::Rust => RUST,
            Lang::Python => PYTHON,
            Lang::Js => JS,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Lang {
    type Err = ScaffoldError;

    fn from_str(s: &str) -> Result<Lang, ScaffoldError> {
        Lang::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            ScaffoldError::new(format!("unknown language {s:?}")).hint("choose one of: rust, python, js")
        })
    }
}

/// Why `plugin new` or `plugin build` failed, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScaffoldError {
    pub message: String,
    pub hint: Option<String>,
}

impl ScaffoldError {
    fn new(message: impl Into<String>) -> ScaffoldError {
        ScaffoldError { message: message.into(), hint: None }
    }

    fn hint(mut self, hint: impl Into<String>) -> ScaffoldError {
        self.hint = Some(hint.into());
        self
    }

    fn io(context: impl fmt::Display, e: std::io::Error) -> ScaffoldError {
        ScaffoldError::new(format!("{context}: {e}"))
    }
}

/// What `alca plugin new` is asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The plugin id, `[a-z0-9-]+`.
    pub id: String,
    pub lang: Lang,
    /// Where to create it (default: `./<id>`).
    pub dir: Option<PathBuf>,
    /// A local `alca-plugin-sdk` (its directory, or an alca checkout) for a
    /// path dependency instead of the git one (Rust only).
    pub sdk: Option<PathBuf>,
}

/// What `alca plugin new` created.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub id: String,
    pub lang: Lang,
    /// The new plugin's directory, absolute.
    pub dir: PathBuf,
    /// The directory as the user would type it (`cd` it), shell-quoted.
    pub shown: String,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
    /// What the build runs (the manifest's `[build]` commands).
    pub build: Vec<String>,
    /// How the Rust scaffold gets the SDK (`git … tag …` or a path).
    pub sdk: Option<String>,
}

/// Creates a new plugin from the language's template.
pub fn plugin_new(cwd: &Path, opts: &NewOptions) -> Result<NewReport, ScaffoldError> {
    check_id(&opts.id)?;
    if opts.sdk.is_some() && opts.lang != Lang::Rust {
        return Err(ScaffoldError::new(format!(
            "--sdk is for Rust plugins; a {} plugin has no SDK dependency",
            opts.lang
        ))
        .hint("drop --sdk, or use --lang rust"));
    }
    let (dir, shown) = match &opts.dir {
        Some(d) => (cwd.join(d), quoted(&d.display().to_string())),
        None => (cwd.join(&opts.id), opts.id.clone()),
    };
    let repository = repository()?;
    let sdk = match opts.lang {
        Lang::Rust => Some(match &opts.sdk {
            Some(path) => SdkSource::Path(sdk_path(&cwd.join(path))?),
            None => SdkSource::Git { repository: repository.clone(), tag: format!("v{}", crate::VERSION) },
        }),
        _ => None,
    };
    let rendered = render(opts.lang, &opts.id, &repository, sdk.as_ref())?;
    let created = prepare_dir(&dir)?;
    let mut files = Vec::new();
    let mut write_all = || -> Result<(), ScaffoldError> {
        for (path, text) in &rendered {
            write_new(&dir.join(path), text)?;
            files.push(path.to_string());
        }
        Ok(())
    };
    if let Err(e) = write_all() {
        // Leave nothing half-made behind in a directory we created.
        if created {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Err(e);
    }
    let manifest = Manifest::load(&dir.join(MANIFEST))
        .map_err(|e| ScaffoldError::new(format!("the template's manifest is invalid (a bug in alca): {e}")))?;
    let build = manifest.build.map(|b| b.commands.iter().map(|c| command_line(c)).collect()).unwrap_or_default();
    Ok(NewReport { id: opts.id.clone(), lang: opts.lang, dir, shown, files, build, sdk: sdk.map(|s| s.describe()) })
}

enum SdkSource {
    Git { repository: String, tag: String },
    Path(PathBuf),
}

impl SdkSource {
    /// The value of the `alca-plugin-sdk` dependency in Cargo.toml.
    fn dependency(&self) -> String {
        match self {
            SdkSource::Git { repository, tag } => {
                format!("{{ git = {}, tag = {} }}", toml_string(repository), toml_string(tag))
            }
            SdkSource::Path(path) => format!("{{ path = {} }}", toml_string(&path.to_string_lossy())),
        }
    }

    fn describe(&self) -> String {
        match self {
            SdkSource::Git { repository, tag } => format!("git {repository}, tag {tag}"),
            SdkSource::Path(path) => format!("path {}", path.display()),
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `workspace.package.repository` of alca's Cargo.toml.
fn repository() -> Result<String, ScaffoldError> {
    let doc: toml::Table = toml::from_str(WORKSPACE_MANIFEST)
        .map_err(|e| ScaffoldError::new(format!("alca's own Cargo.toml is unreadable (a bug in alca): {e}")))?;
    doc.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("repository"))
        .and_then(|r| r.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            ScaffoldError::new("alca's Cargo.toml names no repository (a bug in alca)")
                .hint("pass --sdk <path to alca>/plugins/sdk")
        })
}

/// The SDK crate's directory: `path` itself, or `path/plugins/sdk` when
/// `path` is an alca checkout. Absolute and canonical.
fn sdk_path(path: &Path) -> Result<PathBuf, ScaffoldError> {
    let is_sdk = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .and_then(|t| t.get("package")?.get("name")?.as_str().map(|n| n == "alca-plugin-sdk"))
            .unwrap_or(false)
    };
    let dir = [path.to_path_buf(), path.join("plugins/sdk")].into_iter().find(|d| is_sdk(d)).ok_or_else(|| {
        ScaffoldError::new(format!("{} is not the alca-plugin-sdk crate", path.display()))
            .hint("pass the SDK's directory (plugins/sdk in alca's repository) or an alca checkout")
    })?;
    let dir = dir.canonicalize().map_err(|e| ScaffoldError::io(format!("cannot resolve {}", dir.display()), e))?;
    if dir.to_str().is_none() {
        return Err(ScaffoldError::new(format!(
            "the SDK's path {} is not UTF-8, which Cargo.toml cannot hold",
            dir.display()
        )));
    }
    Ok(dir)
}

/// A plugin id as the manifest requires it, with a reason when it is not.
fn check_id(id: &str) -> Result<(), ScaffoldError> {
    let invalid = |why: String| {
        // The nearest valid id, as the example.
        let mut near = String::new();
        for c in id.chars().map(|c| c.to_ascii_lowercase()) {
            let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
            if !(c == '-' && (near.is_empty() || near.ends_with('-'))) {
                near.push(c);
            }
        }
        let near = near.trim_end_matches('-');
        let example = if near.is_empty() || near.len() > 64 { "my-runtime" } else { near };
        ScaffoldError::new(format!("invalid plugin name {id:?}: {why}")).hint(format!(
            "a plugin id is 1-64 characters of a-z, 0-9 and `-`, not starting with `-`, e.g. `{example}`"
        ))
    };
    if id.is_empty() {
        return Err(invalid("it is empty".into()));
    }
    if id.len() > 64 {
        return Err(invalid(format!("it is {} characters long; at most 64", id.len())));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        let why = if c.is_ascii_uppercase() {
            format!("it contains the capital {c:?}; ids are lowercase")
        } else {
            format!("it contains {c:?}; ids are lowercase letters, digits and `-`")
        };
        return Err(invalid(why));
    }
    if id.starts_with('-') {
        return Err(invalid("it starts with `-`".into()));
    }
    if PluginSource::is_builtin(id) {
        return Err(ScaffoldError::new(format!(
            "`{id}` is the id of a built-in plugin; an installed plugin cannot take it"
        ))
        .hint(format!("choose another name, e.g. `my-{id}`")));
    }
    Ok(())
}

/// Makes sure `dir` exists and is empty; returns whether it was created.
fn prepare_dir(dir: &Path) -> Result<bool, ScaffoldError> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| ScaffoldError::io(format!("cannot read {}", dir.display()), e))?;
            if entries.next().is_some() {
                return Err(ScaffoldError::new(format!(
                    "{} already exists and is not empty; alca does not overwrite it",
                    dir.display()
                ))
                .hint("choose another name or --dir, or remove that directory first"));
            }
            Ok(false)
        }
        Ok(_) => Err(ScaffoldError::new(format!("{} already exists and is not a directory", dir.display()))
            .hint("choose another name or --dir")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| ScaffoldError::io(format!("cannot create {}", dir.display()), e))?;
            Ok(true)
        }
        Err(e) => Err(ScaffoldError::io(format!("cannot inspect {}", dir.display()), e)),
    }
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ScaffoldError::io(format!("cannot create {}", parent.display()), e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| ScaffoldError::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(text.as_bytes()).map_err(|e| ScaffoldError::io(format!("cannot write {}", path.display()), e))
}

/// The files of a new plugin `id` in `lang`, with their text.
fn render(
    lang: Lang,
    id: &str,
    repository: &str,
    sdk: Option<&SdkSource>,
) -> Result<Vec<(&'static str, String)>, ScaffoldError> {
    let crate_ident = id.replace('-', "_");
    let vars = [
        ("{{id}}", id),
        ("{{crate}}", crate_ident.as_str()),
        ("{{alca-version}}", crate::VERSION),
        ("{{repository}}", repository),
    ];
    lang.templates()
        .iter()
        .map(|t| {
            let mut text = fill(t.text, &vars);
            if lang == Lang::Rust
                && t.path == "Cargo.toml"
                && let Some(sdk) = sdk
            {
                text = set_sdk_dependency(&text, &sdk.dependency());
            }
            if lang == Lang::Js {
                text = adapt_js(t.path, text, id, repository).map_err(|e| {
                    ScaffoldError::new(format!(
                        "the JavaScript template no longer fits plugins/examples/docker-js (a bug in alca): {e}"
                    ))
                })?;
            }
            Ok((t.path, text))
        })
        .collect()
}

/// Makes a file of the example plugin `docker-js` (built against the frozen
/// contract 0.1.0) a file of the new plugin `id`, built against the newest.
fn adapt_js(path: &str, text: String, id: &str, repository: &str) -> Result<String, String> {
    let edit = |text: String, from: &str, to: &str| -> Result<String, String> {
        if text.contains(from) { Ok(text.replace(from, to)) } else { Err(format!("{path} has no {from:?}")) }
    };
    let text = text.replace("alca-plugin-docker-js", &format!("alca-plugin-{id}"));
    match path {
        "src/plugin.js" => {
            let text = edit(text, "id: 'docker-js',", &format!("id: '{id}',"))?;
            let text = edit(text, "name: 'Docker (JavaScript)',", &format!("name: '{id}',"))?;
            // The import specifiers (`alca:runtime/process@0.1.0`) and the comments.
            let text = edit(text, "@0.1.0'", "@0.2.0'")?;
            let text = text.replace("alca:runtime@0.1.0", "alca:runtime@0.2.0");
            // What 0.2.0 can say and docker can do.
            edit(
                text,
                "        init: true,\n      },",
                "        init: true,\n\
                 \x20       readOnlyMounts: true,\n\
                 \x20       fractionalCpus: true,\n\
                 \x20       portHostIp: true,\n      },",
            )
        }
        MANIFEST => {
            // A header of its own, and its own identity; the grant stays.
            let mut out = format!(
                "# The manifest of the alca runtime plugin `{id}`: who it is and what it may\n\
                 # do. alca checks every program the plugin runs against this grant; the\n\
                 # rules are in docs/plugins/manifest.md of alca's repository ({repository}).\n"
            );
            let mut in_header = true;
            let mut top_level = true;
            for line in text.lines() {
                if in_header && line.starts_with('#') {
                    continue;
                }
                in_header = false;
                top_level &= !line.starts_with('[');
                let line = match line.split_once(" = ") {
                    Some(("id", _)) if top_level => format!("id = \"{id}\""),
                    Some(("name", _)) if top_level => format!("name = \"{id}\""),
                    Some(("description", _)) if top_level => {
                        "description = \"Containers on a Docker engine, through the docker CLI\"".to_string()
                    }
                    _ => line.to_string(),
                };
                out.push_str(&line);
                out.push('\n');
            }
            Ok(out)
        }
        _ => Ok(text),
    }
}

fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(text.to_string(), |text, (key, value)| text.replace(key, value))
}

fn set_sdk_dependency(cargo_toml: &str, dependency: &str) -> String {
    let mut out = String::with_capacity(cargo_toml.len() + dependency.len());
    for line in cargo_toml.lines() {
        if line.starts_with(SDK_LINE_PREFIX) {
            out.push_str(SDK_LINE_PREFIX);
            out.push_str(dependency);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `s` as one word of a shell command line.
fn quoted(s: &str) -> String {
    shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| s.to_string())
}

fn command_line(words: &[String]) -> String {
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

/// What `alca plugin build` produced.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub id: String,
    /// The plugin's directory, absolute.
    pub dir: PathBuf,
    /// The directory as the user would type it in the next commands,
    /// shell-quoted.
    pub shown: String,
    /// The commands that ran.
    pub commands: Vec<String>,
    pub component: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub duration: Duration,
    /// The manifest pins another digest than the component's.
    pub stale_pin: Option<String>,
}

/// Builds the plugin in `dir` (default: `cwd`) with its manifest's `[build]`
/// commands, then checks the component it names.
pub async fn plugin_build(
    cwd: &Path,
    dir: Option<&Path>,
    reporter: &dyn Reporter,
) -> Result<BuildReport, ScaffoldError> {
    let started = Instant::now();
    let (dir, shown) = match dir {
        Some(d) => (cwd.join(d), quoted(&d.display().to_string())),
        None => (cwd.to_path_buf(), ".".to_string()),
    };
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.exists() {
        let hint = "run this in a plugin's directory or name one (`alca plugin build <dir>`); \
                    `alca plugin new <name>` creates a plugin";
        return Err(ScaffoldError::new(format!("no {MANIFEST} in {}", dir.display())).hint(hint));
    }
    let manifest = Manifest::load(&manifest_path).map_err(|e| ScaffoldError::new(e.to_string()))?;
    let Some(build) = &manifest.build else {
        let message =
            format!("{} has no [build] table, so alca does not know how to build it", manifest_path.display());
        let hint = format!(
            "add one naming the commands that produce `{}`, run in the plugin's directory without a shell, e.g.\n\n\
             [build]\ncommand = \"cargo build --release --target wasm32-wasip2\"\n\n\
             or, for several steps, command = [\"npm ci\", \"node build.mjs\"]",
            component_name(&manifest).display()
        );
        return Err(ScaffoldError::new(message).hint(hint));
    };

    let path_var = std::env::var_os("PATH");
    let mut commands = Vec::new();
    for words in &build.commands {
        let line = command_line(words);
        let program = &words[0];
        let resolved = which::which_in(program, path_var.as_ref(), &dir).map_err(|_| {
            ScaffoldError::new(format!("cannot run `{line}`: `{program}` was not found on PATH"))
                .hint(install_hint(program))
        })?;
        if is_cargo(program) && words.iter().any(|w| w.contains(WASM_TARGET)) {
            check_wasm_target(&dir).await?;
        }
        reporter.step(&format!("Running `{line}` in {}", dir.display()));
        let stdout = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(std::process::Stdio::from)
            .unwrap_or_else(|_| std::process::Stdio::inherit());
        let status = tokio::process::Command::new(&resolved)
            .args(&words[1..])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|e| ScaffoldError::io(format!("cannot run `{line}`"), e))?;
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "a signal".to_string(),
            };
            return Err(ScaffoldError::new(format!("`{line}` failed with {how}; the build stopped there"))
                .hint("its output above says why; fix that and run `alca plugin build` again"));
        }
        commands.push(line);
    }

    let relative = component_name(&manifest);
    let component = dir.join(&relative);
    let bytes = match crate::fsutil::read_regular(&component, MAX_COMPONENT_BYTES, true) {
        Ok(bytes) => bytes,
        Err(e) => {
            let mut hint = format!(
                "`component` in {MANIFEST} must name the file the build writes, relative to the plugin's directory"
            );
            if build.commands.iter().any(|c| is_cargo(&c[0])) {
                hint.push_str(&format!(
                    "; cargo writes target/{WASM_TARGET}/release/<crate name with `_` for `-`>.wasm"
                ));
                if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
                    hint.push_str(&format!(
                        ", but CARGO_TARGET_DIR={} moves it: unset it for this build",
                        Path::new(&t).display()
                    ));
                }
            }
            return Err(ScaffoldError::new(format!(
                "the build finished, but the component {} ({}) cannot be read: {e}",
                relative.display(),
                component.display()
            ))
            .hint(hint));
        }
    };
    check_component(&bytes, &component)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let stale_pin = manifest.sha256.clone().filter(|pin| *pin != sha256);
    if let Some(pin) = &stale_pin {
        reporter.warn(&format!(
            "{MANIFEST} pins sha256 = \"{pin}\", but the component just built is {sha256}: \
             update or remove the pin before installing"
        ));
    }
    Ok(BuildReport {
        id: manifest.id.clone(),
        dir,
        shown,
        commands,
        component,
        size: bytes.len() as u64,
        sha256,
        duration: started.elapsed(),
        stale_pin,
    })
}

fn component_name(manifest: &Manifest) -> PathBuf {
    manifest.component.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_COMPONENT))
}

fn is_cargo(program: &str) -> bool {
    Path::new(program).file_name().is_some_and(|n| n == "cargo")
}

/// What to install when a build program is missing.
fn install_hint(program: &str) -> String {
    let name = Path::new(program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.as_str() {
        "cargo" | "rustc" | "rustup" => {
            format!("install Rust with rustup (https://rustup.rs), then `rustup target add {WASM_TARGET}`")
        }
        "componentize-py" => format!(
            "install it with `pip install {COMPONENTIZE_PY}` (in a virtual environment, activate it first) \
             and make sure its `bin` directory is on PATH"
        ),
        "npm" | "node" | "npx" => "install Node.js 20 or newer (it comes with npm)".into(),
        _ => format!("install `{program}`, or change [build] in {MANIFEST}"),
    }
}

/// A cargo build for wasm32-wasip2 needs that target's standard library in
/// the toolchain that will build (`rustc` run in the plugin's directory, so
/// a rust-toolchain file there is honoured).
async fn check_wasm_target(dir: &Path) -> Result<(), ScaffoldError> {
    let out = tokio::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let Ok(out) = out.map_err(drop).and_then(|o| if o.status.success() { Ok(o) } else { Err(()) }) else {
        // No rustc to ask: cargo will say what is wrong.
        return Ok(());
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }
    Err(ScaffoldError::new(format!(
        "the Rust target {WASM_TARGET} is not installed in the toolchain at {}",
        sysroot.display()
    ))
    .hint(format!("add it with `rustup target add {WASM_TARGET}` (run in {}), then build again", dir.display())))
}

/// The file must be a WebAssembly component, not a core module.
fn check_component(bytes: &[u8], path: &Path) -> Result<(), ScaffoldError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(ScaffoldError::new(format!("{} is not WebAssembly", path.display()))
            .hint("`component` in alca-plugin.toml must name the .wasm file the build writes"));
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    if bytes[6..8] == [0, 0] {
        return Err(ScaffoldError::new(format!("{} is a core WebAssembly module, not a component", path.display()))
            .hint(format!(
                "alca loads components: build for {WASM_TARGET} (Rust), or with componentize-py or componentize-js"
            )));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_with_a_reason() {
        for (id, why) in [
            ("", "empty"),
            ("My-Runtime", "capital"),
            ("my_runtime", "'_'"),
            ("my runtime", "' '"),
            ("-x", "starts with `-`"),
            (&"x".repeat(65), "65 characters"),
        ] {
            let e = check_id(id).unwrap_err();
            assert!(e.message.contains(why), "{id:?}: {}", e.message);
            assert!(e.hint.is_some());
        }
        assert!(check_id("My_Plugin!").unwrap_err().hint.unwrap().ends_with("e.g. `my-plugin`"));
        assert!(check_id("docker").unwrap_err().message.contains("built-in"));
        check_id("my-runtime-2").unwrap();
    }

    fn rendered(lang: Lang) -> Vec<(&'static str, String)> {
        render(lang, "x-1", "https://example.org/alca", None).unwrap()
    }

    fn manifest_of(lang: Lang) -> Manifest {
        let files = rendered(lang);
        let text = &files.iter().find(|(p, _)| *p == MANIFEST).unwrap().1;
        Manifest::parse(text, "template").unwrap()
    }

    #[test]
    fn every_placeholder_is_filled() {
        for lang in Lang::ALL {
            for (path, text) in rendered(lang) {
                for p in ["{{id", "{{crate", "{{alca", "{{repo"] {
                    assert!(!text.contains(p), "{lang} {path}: {p} is left");
                }
                if path != "README.md" {
                    assert!(!text.contains("docker-js"), "{lang} {path}: the example's id is left");
                }
            }
        }
    }

    #[test]
    fn the_rust_template_has_one_sdk_line() {
        let cargo = RUST.iter().find(|t| t.path == "Cargo.toml").unwrap().text;
        assert_eq!(cargo.lines().filter(|l| l.starts_with(SDK_LINE_PREFIX)).count(), 1);
        let sdk = SdkSource::Path(PathBuf::from("/sdk"));
        let files = render(Lang::Rust, "x", "https://example.org/alca", Some(&sdk)).unwrap();
        let doc: toml::Table = files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1.parse().unwrap();
        assert_eq!(doc["dependencies"]["alca-plugin-sdk"]["path"].as_str(), Some("/sdk"));
        assert_eq!(doc["package"]["name"].as_str(), Some("alca-plugin-x"));
        assert!(doc.contains_key("workspace"), "a scaffold must never join a parent workspace");
        let git = SdkSource::Git { repository: "https://example.org/alca".into(), tag: "v9.9.9".into() };
        let files = render(Lang::Rust, "x", "https://example.org/alca", Some(&git)).unwrap();
        let doc: toml::Table = files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1.parse().unwrap();
        assert_eq!(doc["dependencies"]["alca-plugin-sdk"]["tag"].as_str(), Some("v9.9.9"));
    }

    #[test]
    fn the_repository_comes_from_the_workspace() {
        assert!(repository().unwrap().starts_with("https://"));
    }

    #[test]
    fn every_template_manifest_is_valid_and_builds() {
        for lang in Lang::ALL {
            let m = manifest_of(lang);
            assert_eq!((m.id.as_str(), m.name.as_str()), ("x-1", "x-1"), "{lang}");
            assert!(m.build.is_some(), "{lang}");
            assert!(m.component.is_some(), "{lang}");
        }
        assert_eq!(
            manifest_of(Lang::Rust).component.unwrap(),
            Path::new("target/wasm32-wasip2/release/alca_plugin_x_1.wasm")
        );
    }

    #[test]
    fn the_grant_is_the_built_in_docker_grant() {
        let mut builtin = Manifest::parse(include_str!("../../../plugins/docker/alca-plugin.toml"), "docker").unwrap();
        // The templates implement the plain runtime world: the rules of the
        // optional `networks` interface (and its `info` probe) are not theirs.
        for p in &mut builtin.programs {
            p.allow.retain(|r| {
                !r.source.starts_with("{ args = [\"network\"") && !r.source.starts_with("{ args = [\"info\"]")
            });
        }
        let grant = |m: &Manifest| {
            m.programs
                .iter()
                .map(|p| {
                    let deny: Vec<&str> = p.deny.iter().map(|d| d.source.as_str()).collect();
                    let allow: Vec<&str> = p.allow.iter().map(|r| r.source.as_str()).collect();
                    format!(
                        "{} {:?} {:?} {} {} {deny:?} {allow:?}",
                        p.name, p.env, p.set_env, p.max_timeout_secs, p.max_output_bytes
                    )
                })
                .collect::<Vec<_>>()
        };
        for lang in Lang::ALL {
            let m = manifest_of(lang);
            assert_eq!(grant(&m), grant(&builtin), "{lang}: the template's grant drifted from plugins/docker");
            assert_eq!((m.limits, &m.host_env), (builtin.limits, &builtin.host_env), "{lang}");
        }
    }

    #[test]
    fn the_js_scaffold_is_on_the_newest_contract() {
        let files = rendered(Lang::Js);
        let file = |path: &str| &files.iter().find(|(p, _)| *p == path).unwrap().1;
        let plugin = file("src/plugin.js");
        assert!(plugin.contains("from 'alca:runtime/process@0.2.0'"), "{plugin}");
        assert!(!plugin.contains("@0.1.0"));
        assert!(plugin.contains("id: 'x-1',") && plugin.contains("readOnlyMounts: true,"));
        assert!(file("wit/runtime.wit").contains("package alca:runtime@0.2.0;"));
        let package: serde_json::Value = serde_json::from_str(file("package.json")).unwrap();
        assert_eq!(package["name"], "alca-plugin-x-1");
        let lock: serde_json::Value = serde_json::from_str(file("package-lock.json")).unwrap();
        assert_eq!(lock["name"], "alca-plugin-x-1");
        assert!(file(MANIFEST).starts_with("# The manifest of the alca runtime plugin `x-1`"));
    }

    #[test]
    fn components_are_told_from_modules() {
        let p = Path::new("x.wasm");
        check_component(b"\0asm\x0d\0\x01\0rest", p).unwrap();
        assert!(check_component(b"\0asm\x01\0\0\0rest", p).unwrap_err().message.contains("core WebAssembly module"));
        assert!(check_component(b"ELF", p).unwrap_err().message.contains("not WebAssembly"));
    }
}
