//! `alca init`: a new `.alca.toml` from a template, preset files from a git
//! repository (`git+<url>`), or a refresh of the preset files already here
//! (`--update`). Always in the current directory (no walk-up).
//!
//! The front end asks the questions (which template, which preset files,
//! whether to overwrite); these functions never prompt.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Alca;
use crate::config::{FILE_NAME, SCHEMA_URL};
use crate::preset::{self, Cache, PresetError, PresetUrl};
use crate::report::Reporter;

/// The lines `alca init` adds to `.gitignore`.
pub const GITIGNORE_ENTRIES: [&str; 4] = [".alca/", ".alca.local.toml", ".alca.*.local.toml", ".alca.mounts/"];

/// Shown when a preset URL carries credentials.
pub const CREDENTIALS_WARNING: &str = "The URL contains credentials that will be stored in downloaded files. \
These files may be committed to version control. Consider using SSH keys or git credential helpers instead.";

/// Why `alca init` failed, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InitError {
    pub message: String,
    pub hint: Option<String>,
}

impl InitError {
    pub fn new(message: impl Into<String>) -> InitError {
        InitError { message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> InitError {
        self.hint = Some(hint.into());
        self
    }
}

impl From<PresetError> for InitError {
    fn from(e: PresetError) -> InitError {
        InitError { message: e.message, hint: e.hint }
    }
}

/// The templates of `alca init -t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Alpine,
    DebianMise,
    DebianSlim,
    Nix,
}

impl Template {
    /// In the order the choice is offered.
    pub const ALL: [Template; 4] = [Template::Alpine, Template::DebianMise, Template::Nix, Template::DebianSlim];

    pub fn name(self) -> &'static str {
        match self {
            Template::Alpine => "alpine",
            Template::DebianMise => "debian-mise",
            Template::DebianSlim => "debian-slim",
            Template::Nix => "nix",
        }
    }

    /// The names, as `-t` takes them.
    pub fn names() -> Vec<&'static str> {
        vec!["alpine", "debian-mise", "debian-slim", "nix"]
    }

    /// One line for the choice.
    pub fn description(self) -> &'static str {
        match self {
            Template::Alpine => "Alpine - Lightweight Alpine environment with mise",
            Template::DebianMise => "Debian+mise - Pre-built Debian image with mise, build-essential",
            Template::Nix => "Nix - NixOS-based development environment",
            Template::DebianSlim => "Debian slim - Plain Debian (bookworm-slim), nothing preinstalled",
        }
    }

    pub fn from_name(name: &str) -> Result<Template, InitError> {
        Template::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            InitError::new(format!("unknown template {name:?}, valid options: {}", Template::names().join(", ")))
        })
    }

    fn spec(self) -> TemplateSpec {
        const EXTRA_BIN: (&str, &str) = (".alca.mounts/extra-bin", "/extra-bin");
        const EXTRA_SCRIPTS: (&str, &str) = (".alca.mounts/extra-scripts", "/extra-scripts");
        const MISE_HOME: (&str, &str) = (".alca.mounts/mise", "/root/.local/share/mise");
        const SANDBOX: (&str, &str) = ("IS_SANDBOX", "1");
        match self {
            Template::Alpine => TemplateSpec {
                image_comment: &[],
                image: "alpine:3.21",
                mounts: &[MISE_HOME, EXTRA_BIN, EXTRA_SCRIPTS],
                up_comment: "prepare the environment (runs once, when the container is created)",
                up: ALPINE_UP,
                enter: ALPINE_ENTER,
                envs: &[SANDBOX],
            },
            Template::DebianMise => TemplateSpec {
                image_comment: &[
                    "Built from https://github.com/bolasblack/alcatraz/blob/master/dockerfiles/debian-mise.dockerfile",
                    "by https://github.com/bolasblack/alcatraz/blob/master/.github/workflows/docker-build.yml",
                ],
                image: "ghcr.io/bolasblack/alca-debian:latest",
                mounts: &[(".alca.mounts/mise", "/mise"), EXTRA_BIN, EXTRA_SCRIPTS],
                up_comment: "prepare the environment (runs once, when the container is created)",
                up: DEBIAN_MISE_UP,
                enter: DEBIAN_ENTER,
                envs: &[SANDBOX],
            },
            Template::DebianSlim => TemplateSpec {
                image_comment: &[],
                image: "debian:bookworm-slim",
                mounts: &[EXTRA_BIN, EXTRA_SCRIPTS],
                up_comment: "prepare the environment (runs once, when the container is created)",
                up: DEBIAN_SLIM_UP,
                enter: DEBIAN_ENTER,
                envs: &[SANDBOX],
            },
            Template::Nix => TemplateSpec {
                image_comment: &[],
                image: "nixos/nix",
                mounts: &[MISE_HOME],
                up_comment: "build the flake's dev shell now, so that entering it later is quick",
                up: NIX_UP,
                enter: NIX_ENTER,
                envs: &[
                    SANDBOX,
                    ("NIXPKGS_ALLOW_UNFREE", "1"),
                    ("NIX_CONFIG", "extra-experimental-features = nix-command flakes"),
                ],
            },
        }
    }

    /// The `.alca.toml` this template writes.
    pub fn render(self) -> String {
        self.spec().render()
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const ALPINE_UP: &str = r#"set -e
apk add --no-cache mise
# mise's shims and /extra-bin go first on PATH, for every login shell.
if ! grep -qs 'alca-init: PATH' ~/.profile; then
  cat >> ~/.profile <<'PROFILE'
# alca-init: PATH for mise shims and /extra-bin
export PATH="$HOME/.local/share/mise/shims:$PATH"
export PATH="/extra-bin:$PATH"
PROFILE
fi
. ~/.profile
# Your own scripts, from .alca.mounts/extra-scripts (make them executable to use them).
if [ -x /extra-scripts/source.sh ]; then . /extra-scripts/source.sh; fi
mise trust -a
mise install
if [ -x /extra-scripts/init.sh ]; then /extra-scripts/init.sh || true; fi
"#;

const ALPINE_ENTER: &str = r#"if [ -x /extra-scripts/source.sh ]; then . /extra-scripts/source.sh; fi
. ~/.profile
"#;

const DEBIAN_MISE_UP: &str = r#"set -e
# /extra-bin goes first on PATH, for every bash shell.
if ! grep -qs 'alca-init: PATH' ~/.bashrc; then
  cat >> ~/.bashrc <<'BASHRC'
# alca-init: PATH for /extra-bin
export PATH="/extra-bin:$PATH"
BASHRC
fi
. ~/.bashrc
# Your own scripts, from .alca.mounts/extra-scripts (make them executable to use them).
if [ -x /extra-scripts/source.sh ]; then . /extra-scripts/source.sh; fi
mise trust -a
mise install
if [ -x /extra-scripts/init.sh ]; then /extra-scripts/init.sh || true; fi
"#;

const DEBIAN_SLIM_UP: &str = r#"set -e
# /extra-bin goes first on PATH, for every bash shell.
if ! grep -qs 'alca-init: PATH' ~/.bashrc; then
  cat >> ~/.bashrc <<'BASHRC'
# alca-init: PATH for /extra-bin
export PATH="/extra-bin:$PATH"
BASHRC
fi
. ~/.bashrc
# Your own scripts, from .alca.mounts/extra-scripts (make them executable to use them).
if [ -x /extra-scripts/source.sh ]; then . /extra-scripts/source.sh; fi
if [ -x /extra-scripts/init.sh ]; then /extra-scripts/init.sh || true; fi
"#;

const DEBIAN_ENTER: &str = r#"if [ -x /extra-scripts/source.sh ]; then . /extra-scripts/source.sh; fi
. ~/.bashrc
"#;

const NIX_UP: &str = r#"if [ -f flake.nix ]; then
  nix develop --profile /nix/var/nix/profiles/devshell --command true
fi
"#;

/// `alca run` appends the command's words: they become the function's
/// arguments, run inside the flake's dev shell when there is a flake.
const NIX_ENTER: &str = r#"alca_enter() {
  if [ -f flake.nix ]; then
    exec nix develop --profile /nix/var/nix/profiles/devshell --command "$@"
  fi
  exec "$@"
}
alca_enter"#;

struct TemplateSpec {
    image_comment: &'static [&'static str],
    image: &'static str,
    mounts: &'static [(&'static str, &'static str)],
    up_comment: &'static str,
    up: &'static str,
    enter: &'static str,
    envs: &'static [(&'static str, &'static str)],
}

impl TemplateSpec {
    fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "#:schema {SCHEMA_URL}");
        out.push('\n');
        let _ = writeln!(out, "includes = [{}]", toml_string("./.alca.*.toml"));
        for line in self.image_comment {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "image = {}", toml_string(self.image));
        out.push_str(
            "# workdir_exclude (hiding .env and .alca.mounts from the container) is not supported by alca yet.\n",
        );
        out.push_str("mounts = [\n");
        for (source, target) in self.mounts {
            let _ = writeln!(out, "  {},", toml_string(&format!("{source}:{target}")));
        }
        out.push_str("]\n\n[commands]\n");
        let _ = writeln!(out, "# {}", self.up_comment);
        let _ = writeln!(out, "up = {}", toml_string(self.up));
        let _ = writeln!(out, "enter = {}", toml_string(self.enter));
        out.push_str("\n[envs]\n");
        for (key, value) in self.envs {
            let _ = writeln!(out, "{key} = {}", toml_string(value));
        }
        out
    }
}

/// `s` as a TOML string: a literal string (`'…'`, `'''…'''` over several
/// lines) when it can be one, else a basic string with escapes.
pub fn toml_string(s: &str) -> String {
    let plain = !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if plain && !s.contains('\n') && !s.contains('\'') {
        return format!("'{s}'");
    }
    // A multi-line literal cannot hold `'''` nor end in `'` (it would run
    // into the closing delimiter).
    if plain && !s.contains("'''") && !s.ends_with('\'') {
        // The newline right after the opening delimiter is not part of the value.
        return format!("'''\n{s}'''");
    }
    let mut escaped = String::with_capacity(s.len() + 2);
    escaped.push('"');
    for c in s.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            '\r' => escaped.push_str("\\r"),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped.push('"');
    escaped
}

/// What `alca init` did: for `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InitReport {
    /// `template`, `preset` or `update`.
    pub mode: String,
    pub template: Option<String>,
    /// The preset repository (credentials redacted) and the commit used.
    pub source: Option<String>,
    pub commit: Option<String>,
    pub files: Vec<WrittenFile>,
    pub skipped: Vec<SkippedFile>,
    pub gitignore: Option<GitignoreReport>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub name: String,
    pub path: PathBuf,
    /// `created`, `overwritten`, `updated` or `unchanged`.
    pub action: String,
    /// For preset files: `<repository>#<commit>:<path>` (credentials redacted).
    pub source: Option<String>,
    /// For `--update`: the commit the file came from before.
    pub previous_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    pub name: String,
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitignoreReport {
    pub path: PathBuf,
    /// Whether alca created the file.
    pub created: bool,
    /// The lines alca added (none when all were there).
    pub added: Vec<String>,
}

impl InitReport {
    fn warn(&mut self, reporter: &dyn Reporter, message: String) {
        reporter.warn(&message);
        self.warnings.push(message);
    }

    fn skip(&mut self, reporter: &dyn Reporter, dir: &Path, name: &str, reason: String) {
        self.warn(reporter, format!("{name}: {reason}"));
        self.skipped.push(SkippedFile { name: name.to_string(), path: dir.join(name), reason });
    }
}

/// Refuses when `dir` already has a `.alca.toml` (of any kind, even a
/// dangling link): `init` never overwrites one.
pub fn init_check(dir: &Path) -> Result<(), InitError> {
    let path = dir.join(FILE_NAME);
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(exists_error(&path));
    }
    Ok(())
}

fn exists_error(path: &Path) -> InitError {
    InitError::new(format!("configuration file already exists: {}", path.display()))
        .hint("edit it, or remove it first to start again from a template")
}

/// Writes `.alca.toml` from `template` in `dir` (never over an existing
/// one) and adds alca's entries to `.gitignore`.
pub fn init_template(dir: &Path, template: Template) -> Result<InitReport, InitError> {
    init_check(dir)?;
    let config = dir.join(FILE_NAME);
    let gitignore = dir.join(".gitignore");
    // Read it first: an unreadable .gitignore fails before anything is written.
    let existing = read_gitignore(&gitignore)?;
    write_file(&config, template.render().as_bytes(), false).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists_error(&config),
        _ => InitError::new(format!("cannot write {}: {e}", config.display())),
    })?;
    let added = match append_gitignore(&gitignore, existing.as_deref()) {
        Ok(added) => added,
        Err(e) => {
            let _ = std::fs::remove_file(&config);
            return Err(e);
        }
    };
    Ok(InitReport {
        mode: "template".into(),
        template: Some(template.name().into()),
        files: vec![WrittenFile {
            name: FILE_NAME.into(),
            path: config,
            action: "created".into(),
            source: None,
            previous_commit: None,
        }],
        gitignore: Some(GitignoreReport { path: gitignore, created: existing.is_none(), added }),
        ..InitReport::default()
    })
}

/// The lines of [`GITIGNORE_ENTRIES`] that `existing` lacks (compared
/// trimmed), as the text to append: on a line of their own.
pub fn gitignore_addition(existing: &str) -> (String, Vec<String>) {
    let present: Vec<&str> = existing.lines().map(str::trim).collect();
    let added: Vec<String> = GITIGNORE_ENTRIES.iter().filter(|e| !present.contains(e)).map(|e| e.to_string()).collect();
    if added.is_empty() {
        return (String::new(), added);
    }
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        text.push('\n');
    }
    for e in &added {
        text.push_str(e);
        text.push('\n');
    }
    (text, added)
}

fn read_gitignore(path: &Path) -> Result<Option<String>, InitError> {
    match crate::fsutil::read_regular(path, 16 * 1024 * 1024, true) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InitError::new(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Appends what `existing` lacks (creating the file when it is missing).
fn append_gitignore(path: &Path, existing: Option<&str>) -> Result<Vec<String>, InitError> {
    let (text, added) = gitignore_addition(existing.unwrap_or(""));
    if text.is_empty() {
        return Ok(added);
    }
    let cannot = |e: std::io::Error| InitError::new(format!("cannot update {}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new().append(true).create(true).mode(0o644).open(path).map_err(cannot)?;
    file.write_all(text.as_bytes()).map_err(cannot)?;
    Ok(added)
}

/// Writes `data` to `path` atomically (a temporary file renamed into
/// place), mode 0644 (less the umask) or the replaced file's mode. Without
/// `replace` an existing file is never touched: `AlreadyExists`.
fn write_file(path: &Path, data: &[u8], replace: bool) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mode = match std::fs::metadata(path) {
        Ok(m) if replace => m.permissions().mode() & 0o777,
        _ => 0o644,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".alca-init-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    if replace {
        tmp.persist(path).map_err(|e| e.error)?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// alca's cache directory, where preset repositories are kept.
fn cache_root(alca: &Alca) -> Result<PathBuf, InitError> {
    alca.dirs.cache.clone().ok_or_else(|| {
        InitError::new("alca has no cache directory to keep preset repositories in").hint("set HOME or XDG_CACHE_HOME")
    })
}

fn require_git() -> Result<(), InitError> {
    match which::which("git") {
        Ok(_) => Ok(()),
        Err(_) => Err(InitError::new("git is not installed (alca runs `git` to download presets)")
            .hint("install git and run the command again")),
    }
}

/// A preset file on offer.
#[derive(Debug, Clone, Serialize)]
pub struct PresetCandidate {
    pub name: String,
    /// Its path in the repository.
    pub path: String,
    pub example: bool,
    /// Whether the project already has a file of that name.
    pub exists: bool,
}

/// A fetched preset repository and the files it offers.
#[derive(Debug, Clone)]
pub struct PresetFetch {
    pub url: PresetUrl,
    pub commit: String,
    pub files: Vec<PresetCandidate>,
    cache: PathBuf,
    warnings: Vec<String>,
}

/// A file to write, and whether an existing one may be replaced.
#[derive(Debug, Clone)]
pub struct PresetChoice {
    pub name: String,
    pub overwrite: bool,
}

/// `alca init git+<url>`, first half: parse the URL, fetch the commit and
/// list the preset files it offers.
pub async fn preset_fetch(alca: &Alca, spec: &str, reporter: &dyn Reporter) -> Result<PresetFetch, InitError> {
    let url = PresetUrl::parse(spec)?;
    let mut warnings = Vec::new();
    if url.has_credentials() {
        reporter.warn(CREDENTIALS_WARNING);
        warnings.push(CREDENTIALS_WARNING.to_string());
    }
    require_git()?;
    let cache = Cache::new(&cache_root(alca)?, &url);
    reporter.step(&format!(
        "Fetching {}{}",
        url.redacted(),
        url.commit.as_deref().map(|c| format!(" at {c}")).unwrap_or_default()
    ));
    let commit = cache.fetch(&url).await?;
    let listed = cache.list(&commit, url.dir.as_deref()).await?;
    if listed.is_empty() {
        let place = match &url.dir {
            Some(d) => format!("directory {d:?}"),
            None => "the repository's root".into(),
        };
        return Err(InitError::new(format!(
            "no preset files (.alca.*.toml) found in {place} of {} at commit {}",
            url.redacted(),
            preset::short(&commit)
        ))
        .hint("preset files are named .alca.<name>.toml (or .alca.<name>.toml.example); name their directory with #<commit>:<dir> or #:<dir>"));
    }
    let files = listed
        .into_iter()
        .map(|f| PresetCandidate {
            exists: std::fs::symlink_metadata(alca.cwd.join(&f.name)).is_ok(),
            name: f.name,
            path: f.path,
            example: f.example,
        })
        .collect();
    Ok(PresetFetch { url, commit, files, cache: cache.dir, warnings })
}

/// `alca init git+<url>`, second half: write the chosen files, each with
/// its source comment as line 1. An existing file is replaced only if its
/// choice says so; otherwise it is skipped, with a warning.
pub async fn preset_write(
    alca: &Alca,
    fetched: PresetFetch,
    choices: &[PresetChoice],
    reporter: &dyn Reporter,
) -> Result<InitReport, InitError> {
    let cache = Cache { dir: fetched.cache.clone() };
    let mut report = InitReport {
        mode: "preset".into(),
        source: Some(fetched.url.redacted()),
        commit: Some(fetched.commit.clone()),
        warnings: fetched.warnings.clone(),
        ..InitReport::default()
    };
    for choice in choices {
        let Some(file) = fetched.files.iter().find(|f| f.name == choice.name) else {
            return Err(InitError::new(format!("{} is not a preset file of this repository", choice.name)));
        };
        let target = alca.cwd.join(&file.name);
        let existed = std::fs::symlink_metadata(&target).is_ok();
        if existed && !choice.overwrite {
            report.skip(reporter, &alca.cwd, &file.name, "already exists here; left unchanged".into());
            continue;
        }
        let data = cache.read(&fetched.commit, &file.path).await?;
        let mut content = fetched.url.source_comment(&fetched.commit, &file.path).into_bytes();
        content.push(b'\n');
        content.extend_from_slice(&data);
        match write_file(&target, &content, choice.overwrite) {
            Ok(()) => report.files.push(WrittenFile {
                name: file.name.clone(),
                path: target,
                action: if existed { "overwritten" } else { "created" }.into(),
                source: Some(format!("{}#{}:{}", fetched.url.redacted(), fetched.commit, file.path)),
                previous_commit: None,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                report.skip(reporter, &alca.cwd, &file.name, "already exists here; left unchanged".into());
            }
            Err(e) => return Err(InitError::new(format!("cannot write {}: {e}", target.display()))),
        }
    }
    Ok(report)
}

/// A managed preset file found in the project.
struct Managed {
    name: String,
    url: PresetUrl,
    commit: String,
    path: String,
    content: Vec<u8>,
}

/// `alca init --update`: refresh every managed preset file here (those
/// with a source comment) to its repository's current HEAD. When a fetch
/// fails, the newest commit the cache holds is used, and said so; without
/// one the files are left as they are.
pub async fn init_update(alca: &Alca, reporter: &dyn Reporter) -> Result<InitReport, InitError> {
    let mut report = InitReport { mode: "update".into(), ..InitReport::default() };
    let managed = managed_files(&alca.cwd)?;
    if managed.is_empty() {
        return Ok(report);
    }
    require_git()?;
    let root = cache_root(alca)?;
    let mut groups: std::collections::BTreeMap<String, Vec<Managed>> = Default::default();
    for m in managed {
        groups.entry(m.url.url.clone()).or_default().push(m);
    }
    for files in groups.values() {
        let url = &files[0].url;
        let cache = Cache::new(&root, url);
        reporter.step(&format!("Fetching {}", url.redacted()));
        let head = match cache.refresh(url).await {
            Ok(head) => head,
            Err(e) => match cache.cached_head().await {
                Some(head) => {
                    let why = e.message.trim_start_matches(&format!("fetching from {}: ", url.redacted())).to_string();
                    report.warn(
                        reporter,
                        format!(
                            "failed to fetch {}: {}. Using the cached version (commit {}, from an earlier fetch).",
                            url.redacted(),
                            why,
                            preset::short(&head)
                        ),
                    );
                    head
                }
                None => {
                    let why = e.message.trim_start_matches(&format!("fetching from {}: ", url.redacted())).to_string();
                    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                    report.warn(
                        reporter,
                        format!(
                            "failed to fetch {}: {why}. No cached version is available; {} left unchanged.",
                            url.redacted(),
                            names.join(", ")
                        ),
                    );
                    for f in files {
                        report.skipped.push(SkippedFile {
                            name: f.name.clone(),
                            path: alca.cwd.join(&f.name),
                            reason: format!("cannot fetch {}; left unchanged", url.redacted()),
                        });
                    }
                    continue;
                }
            },
        };
        for f in files {
            let target = alca.cwd.join(&f.name);
            if !cache.has_file(&head, &f.path).await {
                report.skip(
                    reporter,
                    &alca.cwd,
                    &f.name,
                    format!(
                        "no longer exists in {} (as {} at commit {}); leaving the local file untouched",
                        url.redacted(),
                        f.path,
                        preset::short(&head)
                    ),
                );
                continue;
            }
            let data = cache.read(&head, &f.path).await?;
            let mut content = url.source_comment(&head, &f.path).into_bytes();
            content.push(b'\n');
            content.extend_from_slice(&data);
            let action = if content == f.content {
                "unchanged"
            } else {
                write_file(&target, &content, true)
                    .map_err(|e| InitError::new(format!("cannot write {}: {e}", target.display())))?;
                "updated"
            };
            report.files.push(WrittenFile {
                name: f.name.clone(),
                path: target,
                action: action.into(),
                source: Some(format!("{}#{}:{}", url.redacted(), head, f.path)),
                previous_commit: Some(f.commit.clone()),
            });
        }
    }
    Ok(report)
}

/// The preset files in `dir` (not below it) that carry a source comment,
/// by name. Links, directories and unreadable files are not managed.
fn managed_files(dir: &Path) -> Result<Vec<Managed>, InitError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InitError::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| preset::preset_kind(n).is_some())
        .collect();
    names.sort();
    let mut managed = Vec::new();
    for name in names {
        let Ok(content) = crate::fsutil::read_regular(&dir.join(&name), preset::MAX_PRESET_BYTES + 4096, false) else {
            continue;
        };
        let Some((url, commit, path)) = preset::find_source(&String::from_utf8_lossy(&content)) else { continue };
        managed.push(Managed { name, url, commit, path, content });
    }
    Ok(managed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path) -> Result<crate::config::Config, crate::config::ConfigError> {
        let env = |_: &str| None;
        let ctx = crate::config::LoadContext { project_root: dir, env: &env, home: Some(PathBuf::from("/root")) };
        crate::config::Config::load(&dir.join(FILE_NAME), &ctx)
    }

    #[test]
    fn init_templates_are_valid_toml_with_the_documented_content() {
        for t in Template::ALL {
            let text = t.render();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(format!("#:schema {SCHEMA_URL}").as_str()), "{t}");
            assert_eq!(lines.next(), Some(""), "{t}");
            let value: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{t}: {e}\n{text}"));
            assert_eq!(value["includes"].as_array().unwrap()[0].as_str(), Some("./.alca.*.toml"));
            assert!(!value.contains_key("workdir_exclude"), "{t}");
            assert!(text.contains("workdir_exclude"), "{t}: says it is not supported yet");
            let spec = t.spec();
            assert_eq!(value["image"].as_str(), Some(spec.image));
            let mounts: Vec<&str> = value["mounts"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
            let expected: Vec<String> = spec.mounts.iter().map(|(s, t)| format!("{s}:{t}")).collect();
            assert_eq!(mounts, expected, "{t}");
            assert_eq!(value["commands"]["up"].as_str(), Some(spec.up), "{t}");
            assert_eq!(value["commands"]["enter"].as_str(), Some(spec.enter), "{t}");
            let envs = value["envs"].as_table().unwrap();
            assert_eq!(envs.len(), spec.envs.len());
            for (k, v) in spec.envs {
                assert_eq!(envs[*k].as_str(), Some(*v), "{t}");
            }
            assert_eq!(envs["IS_SANDBOX"].as_str(), Some("1"));
        }
        assert!(Template::Nix.render().contains("NIX_CONFIG = 'extra-experimental-features = nix-command flakes'"));
        assert!(Template::DebianMise.render().contains("debian-mise.dockerfile"));
    }

    #[test]
    fn init_templates_shell_commands_parse() {
        // `sh -n` checks the syntax; the enter prefix gets arguments appended.
        for t in Template::ALL {
            let spec = t.spec();
            for script in [spec.up.to_string(), format!("{} 'echo' 'hi'", spec.enter)] {
                let out = std::process::Command::new("sh").arg("-n").arg("-c").arg(&script).output().unwrap();
                assert!(out.status.success(), "{t}: {}\n{script}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }

    #[test]
    fn init_templates_load_with_alcas_config_loader() {
        for t in Template::ALL {
            let dir = tempfile::tempdir().unwrap();
            let report = init_template(dir.path(), t).unwrap();
            assert_eq!(report.files[0].path, dir.path().join(FILE_NAME));
            let config = load(dir.path()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(config.image, t.spec().image);
            assert_eq!(config.mounts.len(), t.spec().mounts.len());
            assert!(config.commands.up.is_some() && config.commands.enter.is_some());
        }
    }

    #[test]
    fn init_template_names() {
        assert_eq!(Template::from_name("debian-mise").unwrap(), Template::DebianMise);
        let e = Template::from_name("ubuntu").unwrap_err();
        assert_eq!(e.message, "unknown template \"ubuntu\", valid options: alpine, debian-mise, debian-slim, nix");
        for t in Template::ALL {
            assert_eq!(Template::from_name(t.name()).unwrap(), t);
            assert!(Template::names().contains(&t.name()));
        }
    }

    #[test]
    fn init_toml_strings() {
        for s in ["plain", "it's", "a\nb", "ends'", "x'''y", "tab\there", "bell\u{7}", "quote\"\\", "\n", "", "a\r\nb"]
        {
            let text = format!("v = {}\n", toml_string(s));
            let v: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
            assert_eq!(v["v"].as_str(), Some(s), "{text}");
        }
        assert_eq!(toml_string("alpine:3.21"), "'alpine:3.21'");
    }

    #[test]
    fn init_gitignore_merging() {
        let (text, added) = gitignore_addition("");
        assert_eq!(text, ".alca/\n.alca.local.toml\n.alca.*.local.toml\n.alca.mounts/\n");
        assert_eq!(added.len(), 4);
        let (text, added) = gitignore_addition("target\n  .alca/  \n.alca.mounts/");
        assert_eq!(text, "\n.alca.local.toml\n.alca.*.local.toml\n");
        assert_eq!(added, vec![".alca.local.toml", ".alca.*.local.toml"]);
        let (text, added) = gitignore_addition(".alca/\n.alca.local.toml\n.alca.*.local.toml\n.alca.mounts/\n");
        assert!(text.is_empty() && added.is_empty());
        // A commented or negated entry is not the entry.
        let (_, added) = gitignore_addition("# .alca/\n!.alca/\n");
        assert_eq!(added.len(), 4);
    }

    #[test]
    fn init_template_writes_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "target").unwrap();
        let report = init_template(dir.path(), Template::Alpine).unwrap();
        let gi = report.gitignore.unwrap();
        assert!(!gi.created);
        assert_eq!(
            std::fs::read_to_string(&gi.path).unwrap(),
            "target\n.alca/\n.alca.local.toml\n.alca.*.local.toml\n.alca.mounts/\n"
        );
        let config = dir.path().join(FILE_NAME);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), Template::Alpine.render());
        // 0644 less the umask, like any file an editor makes (not a temporary file's 0600).
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask =
            status.lines().find_map(|l| l.strip_prefix("Umask:")).map(|u| u32::from_str_radix(u.trim(), 8).unwrap());
        assert_eq!(mode, 0o644 & !umask.unwrap_or(0o022), "{mode:o}");

        std::fs::write(&config, "image = 'mine'\n").unwrap();
        let e = init_template(dir.path(), Template::Nix).unwrap_err();
        assert_eq!(e.message, format!("configuration file already exists: {}", config.display()));
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "image = 'mine'\n");
        // A dangling link counts as existing too.
        let other = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexistent", other.path().join(FILE_NAME)).unwrap();
        assert!(init_template(other.path(), Template::Nix).is_err());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn init_template_creates_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let report = init_template(dir.path(), Template::DebianSlim).unwrap();
        let gi = report.gitignore.unwrap();
        assert!(gi.created);
        assert_eq!(gi.added.len(), 4);
        assert!(std::fs::read_to_string(dir.path().join(".gitignore")).unwrap().starts_with(".alca/\n"));
    }

    #[test]
    fn init_write_file_never_clobbers_without_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_file(&path, b"one", false).unwrap();
        assert_eq!(write_file(&path, b"two", false).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn init_update_finds_managed_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let managed = format!("{}git+file:///srv/p#0123abcd:.alca.a.toml\nimage = 'x'\n", preset::SOURCE_PREFIX);
        std::fs::write(dir.path().join(".alca.a.toml"), &managed).unwrap();
        std::fs::write(dir.path().join(".alca.b.toml"), "image = 'x'\n").unwrap();
        std::fs::write(dir.path().join(".alca.c.toml.example"), &managed).unwrap();
        std::fs::write(dir.path().join("other.toml"), &managed).unwrap();
        std::os::unix::fs::symlink(dir.path().join(".alca.a.toml"), dir.path().join(".alca.link.toml")).unwrap();
        let found: Vec<String> = managed_files(dir.path()).unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(found, vec![".alca.a.toml", ".alca.c.toml.example"]);
    }
}
