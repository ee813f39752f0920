//! Git presets: `.alca.*.toml` files kept in a git repository, downloaded
//! into a project by `alca init git+<url>` and refreshed by
//! `alca init --update`.
//!
//! A preset URL is `git+<clone-url>[#[<commit>][:<dir>]]`. Repositories are
//! cached as bare, shallow repositories under alca's cache directory
//! (`<cache>/presets/...`); alca runs the host's own `git` for them, never
//! with a terminal to prompt on and always with a time limit.
//!
//! Every downloaded file starts with a source comment,
//! `# Alcatraz Preset Source: git+<url>#<commit>:<path>` (the prefix the
//! reference tool writes, so its files are managed too); `--update` refreshes
//! the files that carry one.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sha2::Digest;

/// The first words of the source comment of a managed preset file.
pub const SOURCE_PREFIX: &str = "# Alcatraz Preset Source: ";

/// A preset file larger than this is not one (the config limit).
pub const MAX_PRESET_BYTES: u64 = crate::config::MAX_CONFIG_BYTES;

/// The URL schemes alca hands to git (never git's `ext::` or other
/// command-running transports).
pub const SCHEMES: &[&str] = &["https", "http", "ssh", "git", "file"];

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a local git command may take.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a preset could not be fetched, listed or read, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PresetError {
    pub message: String,
    pub hint: Option<String>,
}

impl PresetError {
    pub fn new(message: impl Into<String>) -> PresetError {
        PresetError { message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> PresetError {
        self.hint = Some(hint.into());
        self
    }
}

/// A parsed `git+<url>[#[<commit>][:<dir>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetUrl {
    /// The clone URL as written (after `git+`, before `#`), credentials
    /// included: what git fetches from and what source comments record.
    pub url: String,
    pub scheme: String,
    /// Host (and port), empty for `file:` URLs.
    pub host: String,
    /// `user[:password]`, if the URL carries credentials.
    pub userinfo: Option<String>,
    /// The repository path, as the URL parser normalised it.
    pub path: String,
    /// A hexadecimal commit (lowercase; possibly abbreviated).
    pub commit: Option<String>,
    /// A directory (or, in a source comment, a file) inside the repository,
    /// without leading or trailing `/`.
    pub dir: Option<String>,
}

impl PresetUrl {
    /// Parses a preset URL (`git+` included).
    pub fn parse(spec: &str) -> Result<PresetUrl, PresetError> {
        let example = "e.g. git+https://github.com/me/presets or git+https://github.com/me/presets#<commit>:<dir>";
        let Some(rest) = spec.strip_prefix("git+") else {
            return Err(PresetError::new(format!("invalid preset URL {:?}: it must start with `git+`", redact(spec)))
                .hint(example));
        };
        let (base, fragment) = match rest.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (rest, None),
        };
        let invalid = |why: String| PresetError::new(format!("invalid preset URL {:?}: {why}", redact(spec)));
        if base.is_empty() {
            return Err(invalid("the URL after `git+` is empty".into()).hint(example));
        }
        if base.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("it contains spaces or control characters".into()));
        }
        if base.contains('\\') {
            return Err(invalid("it contains `\\`".into()));
        }
        // The URL parser forgives what git does not (`https:///x` is read as
        // host `x`): the authority must be there as written.
        let Some((_, after_scheme)) = base.split_once("://") else {
            return Err(invalid("expected <scheme>://<host>/<path>".into()).hint(example));
        };
        let authority = &after_scheme[..after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len())];
        let raw_host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let parsed = url::Url::parse(base).map_err(|e| invalid(e.to_string()).hint(example))?;
        let scheme = parsed.scheme().to_string();
        if !SCHEMES.contains(&scheme.as_str()) {
            return Err(
                invalid(format!("unsupported scheme `{scheme}` (supported: {})", SCHEMES.join(", "))).hint(example)
            );
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        if scheme == "file" {
            if !(host.is_empty() || host == "localhost") || !(raw_host.is_empty() || raw_host == "localhost") {
                return Err(invalid(format!("a file: URL cannot name a host ({host}); write file:///absolute/path")));
            }
        } else if host.is_empty() || raw_host.is_empty() {
            return Err(invalid("missing host".into()).hint(example));
        }
        if host.starts_with('-') {
            return Err(invalid("the host cannot start with `-`".into()));
        }
        let userinfo = match (parsed.username(), parsed.password()) {
            ("", None) => None,
            (user, None) => Some(user.to_string()),
            (user, Some(pass)) => Some(format!("{user}:{pass}")),
        };
        let path = parsed.path().to_string();
        if path.trim_matches('/').is_empty() {
            return Err(invalid("the URL names no repository (its path is empty)".into()).hint(example));
        }

        let (mut commit, mut dir) = (None, None);
        if let Some(fragment) = fragment {
            let (c, d) = match fragment.split_once(':') {
                Some((c, d)) => (c, Some(d)),
                None => (fragment, None),
            };
            if !c.is_empty() {
                if !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(PresetError::new(format!(
                        "invalid commit hash in fragment: {c:?} (must be hexadecimal)"
                    ))
                    .hint("write git+<url>#<commit>:<dir>, with the commit as a hexadecimal hash"));
                }
                if !(4..=64).contains(&c.len()) {
                    return Err(PresetError::new(format!(
                        "invalid commit hash in fragment: {c:?} (must be 4 to 64 hexadecimal digits)"
                    )));
                }
                commit = Some(c.to_ascii_lowercase());
            }
            if let Some(d) = d {
                dir = Some(repo_path(d)?);
            }
        }
        Ok(PresetUrl { url: base.to_string(), scheme, host, userinfo, path, commit, dir })
    }

    pub fn has_credentials(&self) -> bool {
        self.userinfo.is_some()
    }

    /// The clone URL with any credentials replaced by `***`: for messages.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }

    /// `git+<url>`, without fragment.
    pub fn source(&self) -> String {
        format!("git+{}", self.url)
    }

    /// The first line of a file downloaded from `path` at `commit`.
    pub fn source_comment(&self, commit: &str, path: &str) -> String {
        format!("{SOURCE_PREFIX}git+{}#{commit}:{path}", self.url)
    }

    /// Where this repository is cached under `root` (alca's cache
    /// directory): `presets/<host>/<scheme>/<credentials>/<path>`, every
    /// part made a safe file name. Credentials are never part of a file
    /// name: URLs that carry some get a digest of them instead.
    pub fn cache_dir(&self, root: &Path) -> PathBuf {
        let mut dir = root.join("presets");
        dir.push(component(if self.host.is_empty() { "local" } else { &self.host }));
        dir.push(component(&self.scheme));
        match &self.userinfo {
            None => dir.push("-"),
            Some(u) => {
                let digest = sha2::Sha256::digest(u.as_bytes());
                let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                dir.push(format!("cred-{hex}"));
            }
        }
        let mut parts = self.path.split('/').filter(|p| !p.is_empty()).peekable();
        if parts.peek().is_none() {
            dir.push("-");
        }
        for part in parts {
            dir.push(component(&part.replace('.', "-")));
        }
        dir
    }
}

/// A directory (or file) inside the repository, as a fragment names it:
/// no `:`, not blank, no `.` or `..` parts; leading and trailing `/`
/// dropped.
fn repo_path(d: &str) -> Result<String, PresetError> {
    let trimmed = d.trim_matches('/');
    if d.trim().is_empty() || trimmed.is_empty() {
        return Err(PresetError::new(format!("invalid directory in fragment: {d:?} (it is blank)"))
            .hint("write git+<url>#<commit>:<dir>, or leave out `:<dir>` for the repository's root"));
    }
    if d.contains(':') {
        return Err(PresetError::new(format!("invalid directory in fragment: {d:?} (it cannot contain `:`)")));
    }
    if d.chars().any(char::is_control) {
        return Err(PresetError::new(format!("invalid directory in fragment: {d:?} (control characters)")));
    }
    if trimmed.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
        return Err(PresetError::new(format!(
            "invalid directory in fragment: {d:?} (empty, `.` or `..` path components)"
        )));
    }
    Ok(trimmed.to_string())
}

/// `s` as one safe file-name component: each of `/ \ : * ? " < > | +`
/// and control characters becomes `-`; an empty, `.` or `..` name becomes
/// `-`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '+' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect()
}

fn component(s: &str) -> String {
    match sanitize(s) {
        s if s.is_empty() || s == "." || s == ".." => "-".into(),
        s => s,
    }
}

/// `url` with any `user:password@` replaced by `***@`.
pub fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

/// Whether `name` is a preset file name: `Some(false)` for `.alca.*.toml`,
/// `Some(true)` for `.alca.*.toml.example`, `None` otherwise.
pub fn preset_kind(name: &str) -> Option<bool> {
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return None;
    }
    if let Some(stem) = name.strip_suffix(".toml.example")
        && stem.starts_with(".alca.")
    {
        return Some(true);
    }
    match name.strip_suffix(".toml") {
        Some(stem) if stem.starts_with(".alca.") => Some(false),
        _ => None,
    }
}

/// The source comment of a managed file: the first line starting with
/// [`SOURCE_PREFIX`] among the file's leading `#` lines. `None` (the file
/// is not managed) when there is none or it is malformed.
pub fn find_source(text: &str) -> Option<(PresetUrl, String, String)> {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if !line.starts_with('#') {
            return None;
        }
        if let Some(rest) = line.strip_prefix(SOURCE_PREFIX) {
            let url = PresetUrl::parse(rest.trim()).ok()?;
            let commit = url.commit.clone()?;
            let path = url.dir.clone()?;
            return Some((url, commit, path));
        }
    }
    None
}

/// A preset file in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Its name (the file alca writes in the project).
    pub name: String,
    /// Its path in the repository.
    pub path: String,
    pub size: u64,
    /// `.alca.*.toml.example` (written with the suffix kept).
    pub example: bool,
}

/// A cached bare repository of presets.
pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    pub fn new(root: &Path, url: &PresetUrl) -> Cache {
        Cache { dir: url.cache_dir(root) }
    }

    /// Whether the cache repository exists.
    pub fn exists(&self) -> bool {
        self.dir.join("HEAD").is_file()
    }

    async fn create(&self) -> Result<(), PresetError> {
        if self.exists() {
            return Ok(());
        }
        crate::fsutil::create_private_dir(&self.dir)
            .map_err(|e| PresetError::new(format!("cannot create the preset cache {}: {e}", self.dir.display())))?;
        git(None, &[OsStr::new("init"), OsStr::new("--bare"), OsStr::new("-q"), self.dir.as_os_str()], LOCAL_TIMEOUT)
            .await
            .map_err(|e| e.context(&format!("cannot create the preset cache {}", self.dir.display())))?;
        Ok(())
    }

    async fn git(&self, args: &[&str], timeout: Duration) -> Result<String, GitFailure> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = git(Some(&self.dir), &args, timeout).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The full hash of `rev` as a commit, if the cache has it.
    pub async fn resolve(&self, rev: &str) -> Option<String> {
        if !self.exists() {
            return None;
        }
        let out = self.git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")], LOCAL_TIMEOUT).await;
        out.ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// Makes the cache hold the commit `url` asks for (its pinned commit,
    /// else the repository's HEAD) and returns its full hash. A pinned
    /// commit already in the cache needs no network.
    pub async fn fetch(&self, url: &PresetUrl) -> Result<String, PresetError> {
        self.create().await?;
        let failed = |e: GitFailure| e.context(&format!("fetching from {}", url.redacted()));
        let Some(want) = &url.commit else {
            self.fetch_head(url).await.map_err(failed)?;
            return self.resolve("refs/alca/head").await.ok_or_else(|| {
                PresetError::new(format!("fetching from {}: git fetched nothing for HEAD", url.redacted()))
            });
        };
        if let Some(full) = self.resolve(want).await {
            return Ok(full);
        }
        // A full hash can be fetched by itself, if the server allows it.
        if matches!(want.len(), 40 | 64) {
            let by_hash = ["fetch", "-q", "--no-tags", "--depth", "1", "--", &url.url, want];
            match self.git(&by_hash, FETCH_TIMEOUT).await {
                Ok(_) => {
                    if let Some(full) = self.resolve(want).await {
                        return Ok(full);
                    }
                }
                Err(GitFailure::Missing) => return Err(GitFailure::Missing.context("")),
                Err(e) => tracing::debug!("fetching {want} by hash failed: {}", e.context("")),
            }
        }
        // An abbreviated hash, or a server that refuses fetching by hash:
        // every branch and tag, with their history.
        let shallow = self.git(&["rev-parse", "--is-shallow-repository"], LOCAL_TIMEOUT).await.map_err(failed)?;
        let mut args = vec!["fetch", "-q", "--no-tags"];
        if shallow.trim() == "true" {
            args.push("--unshallow");
        }
        args.extend(["--", &url.url, "+refs/heads/*:refs/alca/heads/*", "+refs/tags/*:refs/alca/tags/*"]);
        self.git(&args, FETCH_TIMEOUT).await.map_err(failed)?;
        self.resolve(want).await.ok_or_else(|| {
            PresetError::new(format!("commit {want} is not in {} (on no branch or tag)", url.redacted()))
                .hint("check the hash; a commit must be reachable from a branch or a tag")
        })
    }

    /// Fetches the repository's HEAD (shallow) into `refs/alca/head`.
    async fn fetch_head(&self, url: &PresetUrl) -> Result<(), GitFailure> {
        let shallow = ["fetch", "-q", "--no-tags", "--depth", "1", "--", &url.url, "+HEAD:refs/alca/head"];
        match self.git(&shallow, FETCH_TIMEOUT).await {
            Ok(_) => Ok(()),
            Err(e @ (GitFailure::Missing | GitFailure::Timeout)) => Err(e),
            Err(e) if url.scheme == "file" || e.mentions_depth() => {
                tracing::debug!("shallow fetch failed ({}); fetching everything", e.context(""));
                let full = ["fetch", "-q", "--no-tags", "--", &url.url, "+HEAD:refs/alca/head"];
                self.git(&full, FETCH_TIMEOUT).await.map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// Fetches HEAD again (for `--update`).
    pub async fn refresh(&self, url: &PresetUrl) -> Result<String, PresetError> {
        let mut head = url.clone();
        head.commit = None;
        self.fetch(&head).await
    }

    /// The newest commit the cache knows without the network: the HEAD of
    /// the last successful fetch, else `FETCH_HEAD`.
    pub async fn cached_head(&self) -> Option<String> {
        match self.resolve("refs/alca/head").await {
            Some(c) => Some(c),
            None => self.resolve("FETCH_HEAD").await,
        }
    }

    /// The preset files in `dir` (the root when `None`) at `commit`: regular
    /// files named `.alca.*.toml` or `.alca.*.toml.example`, by name.
    pub async fn list(&self, commit: &str, dir: Option<&str>) -> Result<Vec<RepoFile>, PresetError> {
        let tree = format!("{commit}:{}", dir.unwrap_or(""));
        let out = self.git(&["ls-tree", "-l", "-z", &tree], LOCAL_TIMEOUT).await.map_err(|e| match dir {
            Some(d) => PresetError::new(format!(
                "directory {d:?} does not exist in commit {} ({})",
                short(commit),
                e.context("").message.trim_start_matches(": ")
            ))
            .hint("name a directory of the repository after the `:` (#<commit>:<dir>, or #:<dir>)"),
            None => e.context("cannot list the repository"),
        })?;
        let mut files = Vec::new();
        for entry in out.split('\0').filter(|e| !e.is_empty()) {
            let Some((meta, name)) = entry.split_once('\t') else { continue };
            let fields: Vec<&str> = meta.split_whitespace().collect();
            let [mode, "blob", _object, size] = fields.as_slice() else { continue };
            if !matches!(*mode, "100644" | "100755") {
                continue;
            }
            let Some(example) = preset_kind(name) else { continue };
            let path = match dir {
                Some(d) => format!("{d}/{name}"),
                None => name.to_string(),
            };
            files.push(RepoFile { name: name.to_string(), path, size: size.parse().unwrap_or(u64::MAX), example });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Whether `path` is a file at `commit`.
    pub async fn has_file(&self, commit: &str, path: &str) -> bool {
        matches!(
            self.git(&["cat-file", "-t", &format!("{commit}:{path}")], LOCAL_TIMEOUT).await,
            Ok(t) if t.trim() == "blob"
        )
    }

    /// The content of `path` at `commit` (at most [`MAX_PRESET_BYTES`]).
    pub async fn read(&self, commit: &str, path: &str) -> Result<Vec<u8>, PresetError> {
        let object = format!("{commit}:{path}");
        let cannot = |e: GitFailure| e.context(&format!("cannot read {path} at commit {}", short(commit)));
        let size = self.git(&["cat-file", "-s", &object], LOCAL_TIMEOUT).await.map_err(cannot)?;
        let size: u64 = size.trim().parse().unwrap_or(u64::MAX);
        if size > MAX_PRESET_BYTES {
            return Err(PresetError::new(format!(
                "{path} at commit {} is {size} bytes, larger than a configuration may be ({MAX_PRESET_BYTES} bytes)",
                short(commit)
            )));
        }
        let args = [OsStr::new("cat-file"), OsStr::new("blob"), OsStr::new(&object)];
        git(Some(&self.dir), &args, LOCAL_TIMEOUT).await.map_err(cannot)
    }
}

/// The first 12 digits of a commit hash.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Why a git command failed.
#[derive(Debug)]
enum GitFailure {
    Missing,
    Spawn(std::io::Error),
    Timeout,
    Failed { status: std::process::ExitStatus, stderr: String },
}

impl GitFailure {
    fn mentions_depth(&self) -> bool {
        matches!(self, GitFailure::Failed { stderr, .. } if stderr.contains("shallow") || stderr.contains("depth"))
    }

    /// As a [`PresetError`] behind `context` (`context: what git said`).
    fn context(self, context: &str) -> PresetError {
        match self {
            GitFailure::Missing => PresetError::new("git is not installed (alca runs `git` to download presets)")
                .hint("install git and run the command again"),
            GitFailure::Spawn(e) => PresetError::new(format!("{context}: cannot run git: {e}")),
            GitFailure::Timeout => {
                PresetError::new(format!("{context}: git did not finish within {} seconds", FETCH_TIMEOUT.as_secs()))
                    .hint("check your network connection and the URL")
            }
            GitFailure::Failed { status, stderr } => {
                PresetError::new(format!("{context}: {}", redact_all(&git_said(&stderr, status))))
            }
        }
    }
}

/// What git's stderr says, in one line: its `fatal:` and `error:` lines
/// (else its last lines), without those prefixes.
fn git_said(stderr: &str, status: std::process::ExitStatus) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let errors: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("fatal: ").or_else(|| l.strip_prefix("error: ")))
        .map(|l| l.trim_end_matches('.'))
        .collect();
    let said = if errors.is_empty() { lines[lines.len().saturating_sub(3)..].to_vec() } else { errors };
    match said.len() {
        0 => format!("git failed ({status})"),
        n => said[n.saturating_sub(4)..].join("; "),
    }
}

/// Every URL-looking part of a message with its credentials redacted.
fn redact_all(message: &str) -> String {
    message.split(' ').map(|w| if w.contains("://") { redact(w) } else { w.to_string() }).collect::<Vec<_>>().join(" ")
}

/// Runs `git [--git-dir <repo>] <args>`: no terminal prompts, no stdin, a
/// time limit (the process is killed when it is exceeded), none of the
/// caller's `GIT_*` repository variables.
async fn git(repo: Option<&Path>, args: &[&OsStr], timeout: Duration) -> Result<Vec<u8>, GitFailure> {
    let mut cmd = tokio::process::Command::new("git");
    if let Some(repo) = repo {
        cmd.arg("--git-dir").arg(repo).current_dir(repo);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_COMMON_DIR",
        "GIT_SHALLOW_FILE",
    ] {
        cmd.env_remove(var);
    }
    tracing::debug!("running git {}", args.iter().map(|a| redact(&a.to_string_lossy())).collect::<Vec<_>>().join(" "));
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GitFailure::Missing,
        _ => GitFailure::Spawn(e),
    })?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => return Err(GitFailure::Timeout),
        Ok(Err(e)) => return Err(GitFailure::Spawn(e)),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        return Err(GitFailure::Failed {
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_url_grammar() {
        let u = PresetUrl::parse("git+https://github.com/me/presets.git").unwrap();
        assert_eq!(u.url, "https://github.com/me/presets.git");
        assert_eq!((u.scheme.as_str(), u.host.as_str(), u.path.as_str()), ("https", "github.com", "/me/presets.git"));
        assert_eq!((u.commit, u.dir, u.userinfo), (None, None, None));

        let u = PresetUrl::parse("git+https://github.com/me/presets#ABCdef12:configs/dev/").unwrap();
        assert_eq!(u.url, "https://github.com/me/presets");
        assert_eq!(u.commit.as_deref(), Some("abcdef12"));
        assert_eq!(u.dir.as_deref(), Some("configs/dev"));

        let u = PresetUrl::parse("git+https://github.com/me/presets#:configs").unwrap();
        assert_eq!((u.commit.as_deref(), u.dir.as_deref()), (None, Some("configs")));
        let u = PresetUrl::parse("git+https://github.com/me/presets#abcd").unwrap();
        assert_eq!((u.commit.as_deref(), u.dir.as_deref()), (Some("abcd"), None));
        let u = PresetUrl::parse("git+https://github.com/me/presets#").unwrap();
        assert_eq!((u.commit, u.dir), (None, None));

        let u = PresetUrl::parse("git+ssh://git@example.com:2222/me/p.git").unwrap();
        assert_eq!((u.host.as_str(), u.userinfo.as_deref()), ("example.com:2222", Some("git")));

        let u = PresetUrl::parse("git+file:///srv/presets#:a").unwrap();
        assert_eq!((u.scheme.as_str(), u.host.as_str(), u.path.as_str()), ("file", "", "/srv/presets"));
        assert_eq!(u.url, "file:///srv/presets");
    }

    #[test]
    fn preset_url_errors() {
        let err = |s: &str| PresetUrl::parse(s).unwrap_err().message;
        assert!(err("https://github.com/me/p").contains("must start with `git+`"));
        assert!(err("git+").contains("empty"));
        assert!(err("git+https:///me/p").contains("missing host"), "{}", err("git+https:///me/p"));
        assert!(err("git+not a url").contains("spaces"));
        assert!(err("git+presets").contains("invalid preset URL"));
        assert!(err("git+ext::sh -c touch% /tmp/x").contains("invalid preset URL"));
        assert!(err("git+ftp://example.com/p").contains("unsupported scheme `ftp`"));
        assert!(err("git+file://otherhost/p").contains("cannot name a host"));
        assert!(err("git+https://example.com/").contains("names no repository"));
        assert_eq!(
            err("git+https://example.com/p#xyz:dir"),
            "invalid commit hash in fragment: \"xyz\" (must be hexadecimal)"
        );
        assert!(err("git+https://example.com/p#abc").contains("4 to 64"));
        assert!(err("git+https://example.com/p#abcd:a:b").contains("cannot contain `:`"));
        assert!(err("git+https://example.com/p#abcd:").contains("blank"));
        assert!(err("git+https://example.com/p#abcd:  ").contains("blank"));
        assert!(err("git+https://example.com/p#:/").contains("blank"));
        assert!(err("git+https://example.com/p#:a/../b").contains("`..`"));
        // Credentials are never echoed back.
        let e = err("git+https://user:secret@example.com/p#zz");
        assert!(!e.contains("secret"), "{e}");
        let e = err("git+ftp://user:secret@example.com/p");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn credentials_are_redacted_and_kept_out_of_cache_paths() {
        let u = PresetUrl::parse("git+https://user:pa:ss@example.com/me/p.git#abcd:x").unwrap();
        assert!(u.has_credentials());
        assert_eq!(u.redacted(), "https://***@example.com/me/p.git");
        assert_eq!(
            u.source_comment("abcdef", "x/.alca.a.toml"),
            format!("{SOURCE_PREFIX}git+https://user:pa:ss@example.com/me/p.git#abcdef:x/.alca.a.toml")
        );
        let dir = u.cache_dir(Path::new("/c"));
        assert!(!dir.display().to_string().contains("user"), "{}", dir.display());
        assert!(!dir.display().to_string().contains("ss@"));
        assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
        assert_eq!(redact("no url"), "no url");
    }

    #[test]
    fn sanitizing_cache_paths() {
        assert_eq!(sanitize(r#"a/b\c:d*e?f"g<h>i|j+k"#), "a-b-c-d-e-f-g-h-i-j-k");
        assert_eq!(sanitize("git+https"), "git-https");
        let u = PresetUrl::parse("git+https://example.com:8443/team/presets.git").unwrap();
        assert_eq!(u.cache_dir(Path::new("/c")), Path::new("/c/presets/example.com-8443/https/-/team/presets-git"));
        let u = PresetUrl::parse("git+file:///srv/my.presets/../x").unwrap();
        let dir = u.cache_dir(Path::new("/c"));
        assert!(dir.starts_with("/c/presets/local/file/-/"), "{}", dir.display());
        assert!(dir.components().all(|c| !matches!(c, std::path::Component::ParentDir)));
        // Dots never make `.` or `..` components.
        let u = PresetUrl::parse("git+ssh://h/../..%2F/x").unwrap();
        for c in u.cache_dir(Path::new("/c")).components().skip(1) {
            assert!(matches!(c, std::path::Component::Normal(_)), "{c:?}");
        }
    }

    #[test]
    fn preset_names() {
        assert_eq!(preset_kind(".alca.node.toml"), Some(false));
        assert_eq!(preset_kind(".alca.a.b.toml"), Some(false));
        assert_eq!(preset_kind(".alca.node.toml.example"), Some(true));
        assert_eq!(preset_kind(".alca.toml"), None);
        assert_eq!(preset_kind(".alca.toml.example"), None);
        assert_eq!(preset_kind("alca.node.toml"), None);
        assert_eq!(preset_kind(".alca.node.toml.bak"), None);
        assert_eq!(preset_kind(".alca.x\n.toml"), None);
    }

    #[test]
    fn source_comments() {
        let text = format!(
            "# a comment\n{SOURCE_PREFIX}git+https://example.com/p.git#0123abcd:dir/.alca.x.toml\nimage = 'x'\n"
        );
        let (url, commit, path) = find_source(&text).unwrap();
        assert_eq!(
            (url.url.as_str(), commit.as_str(), path.as_str()),
            ("https://example.com/p.git", "0123abcd", "dir/.alca.x.toml")
        );
        // Only among the leading comment lines; malformed means unmanaged.
        assert!(find_source(&format!("image = 'x'\n{SOURCE_PREFIX}git+https://e.com/p#0123abcd:f\n")).is_none());
        assert!(find_source(&format!("{SOURCE_PREFIX}git+https://e.com/p\n")).is_none());
        assert!(find_source(&format!("{SOURCE_PREFIX}https://e.com/p#0123abcd:f\n")).is_none());
        assert!(find_source("# just a comment\n").is_none());
        // CRLF files too.
        assert!(find_source(&format!("{SOURCE_PREFIX}git+https://e.com/p#0123abcd:f\r\nimage = 'x'\r\n")).is_some());
    }
}
