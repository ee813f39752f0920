//! One file's settings (a layer), the loading of `extends`/`includes`, and
//! the merge of layers.
//!
//! Precedence: `extends` (lowest; the first listed wins among them) < the
//! file itself < `includes` (the last listed wins). Per key:
//! - `image`, `workdir`, `runtime`, `resources.*`, `hooks.*`,
//!   `network.proxy`: the overlay wins if it sets the key;
//! - `mounts`, `network.ports`, `network.lan-access`: appended (identical
//!   entries once);
//! - `envs`: merged by name, the overlay's entry replaces the base's;
//! - `commands.*`: the overlay replaces, or appends with `append = true`;
//! - `caps`: a table replaces; an array adds to what the base has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{ConfigError, Loc, SourceFile};
use super::raw::{ListOrTable, RawFile, Sp, StringOrTable};
use super::{CommandConfig, EnvVar, LoadContext, MountConfig, PortConfig, RuntimeChoice, env, mounts, network, ports};

/// A configuration larger than this is not one.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Loading more files than this (diamonds multiply) is a mistake.
const MAX_FILES: usize = 256;

/// `caps` as one file says it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CapsSetting {
    /// An array: these on top of the defaults (or of the base's setting).
    Add(Vec<String>),
    /// A table: exactly these.
    Full { drop: Vec<String>, add: Vec<String> },
}

/// What one file (with what it extends and includes) sets.
#[derive(Debug, Clone, Default)]
pub(super) struct Layer {
    pub image: Option<(String, Loc)>,
    pub workdir: Option<(String, Loc)>,
    pub runtime: Option<RuntimeChoice>,
    pub mounts: Vec<(MountConfig, Loc)>,
    pub up: Option<CommandConfig>,
    pub enter: Option<CommandConfig>,
    pub envs: BTreeMap<String, EnvVar>,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub ports: Vec<(PortConfig, Loc)>,
    /// `network.lan-access` entries as written (checked).
    pub lan_access: Vec<(String, Loc)>,
    /// `network.proxy` as written (checked; never empty).
    pub proxy: Option<(String, Loc)>,
    pub caps: Option<CapsSetting>,
    pub post_up: Option<String>,
    pub pre_down: Option<String>,
    /// Every file read, in load order.
    pub files: Vec<PathBuf>,
}

impl Layer {
    /// `over` merged over `self`.
    pub fn merge(mut self, over: Layer) -> Layer {
        fn or<T>(base: Option<T>, over: Option<T>) -> Option<T> {
            over.or(base)
        }
        self.image = or(self.image, over.image);
        self.workdir = or(self.workdir, over.workdir);
        self.runtime = or(self.runtime, over.runtime);
        // Appended; what the base has already (a file reached twice, through
        // a diamond) only once.
        let base = self.mounts.len();
        for m in over.mounts {
            if !self.mounts[..base].iter().any(|(have, _)| *have == m.0) {
                self.mounts.push(m);
            }
        }
        self.up = merge_command(self.up, over.up);
        self.enter = merge_command(self.enter, over.enter);
        self.envs.extend(over.envs);
        self.memory = or(self.memory, over.memory);
        self.cpus = or(self.cpus, over.cpus);
        let base = self.ports.len();
        for p in over.ports {
            if !self.ports[..base].iter().any(|(have, _)| *have == p.0) {
                self.ports.push(p);
            }
        }
        let base = self.lan_access.len();
        for rule in over.lan_access {
            if !self.lan_access[..base].iter().any(|(have, _)| have.trim() == rule.0.trim()) {
                self.lan_access.push(rule);
            }
        }
        self.proxy = or(self.proxy, over.proxy);
        self.caps = match (self.caps, over.caps) {
            (base, None) => base,
            (Some(CapsSetting::Add(mut base)), Some(CapsSetting::Add(more))) => {
                extend_unique(&mut base, more);
                Some(CapsSetting::Add(base))
            }
            (Some(CapsSetting::Full { drop, mut add }), Some(CapsSetting::Add(more))) => {
                extend_unique(&mut add, more);
                Some(CapsSetting::Full { drop, add })
            }
            (_, over) => over,
        };
        self.post_up = or(self.post_up, over.post_up);
        self.pre_down = or(self.pre_down, over.pre_down);
        for f in over.files {
            if !self.files.contains(&f) {
                self.files.push(f);
            }
        }
        self
    }
}

fn extend_unique(list: &mut Vec<String>, more: Vec<String>) {
    for c in more {
        if !list.contains(&c) {
            list.push(c);
        }
    }
}

/// The reference's rule: an appending overlay joins the base with a space
/// (and no longer appends); otherwise the overlay replaces.
fn merge_command(base: Option<CommandConfig>, over: Option<CommandConfig>) -> Option<CommandConfig> {
    match (base, over) {
        (Some(base), Some(over)) if over.append => {
            Some(CommandConfig { command: format!("{} {}", base.command, over.command), append: false })
        }
        (base, over) => over.or(base),
    }
}

/// Loads `path` with everything it extends and includes.
pub(super) fn load_tree(path: &Path, ctx: &LoadContext<'_>) -> Result<Layer, ConfigError> {
    let mut loader = Loader { ctx, chain: Vec::new(), seen: Default::default(), loaded: 0 };
    let file = read(path, None)?;
    loader.load(file)
}

/// Parses `text` as the file at `path` (its references still come from the
/// filesystem).
pub(super) fn load_text(text: &str, path: &Path, ctx: &LoadContext<'_>) -> Result<Layer, ConfigError> {
    let mut loader = Loader { ctx, chain: Vec::new(), seen: Default::default(), loaded: 0 };
    check_text(path, text)?;
    loader.load(Arc::new(SourceFile { path: path.to_path_buf(), text: text.to_string() }))
}

struct Loader<'a, 'c> {
    ctx: &'a LoadContext<'c>,
    /// The files being loaded, outermost first (a file in here again is a cycle).
    chain: Vec<PathBuf>,
    /// Every file loaded so far (a glob skips them).
    seen: std::collections::HashSet<PathBuf>,
    loaded: usize,
}

impl Loader<'_, '_> {
    fn load(&mut self, file: Arc<SourceFile>) -> Result<Layer, ConfigError> {
        self.loaded += 1;
        if self.loaded > MAX_FILES {
            return Err(ConfigError::file(
                &file.path,
                format!("more than {MAX_FILES} files loaded through `extends`/`includes`; simplify them"),
            ));
        }
        let raw = parse_raw(&file)?;
        let own = layer_of(&raw, &file, self.ctx)?;
        let dir = file.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let identity = file.path.canonicalize().unwrap_or_else(|_| file.path.clone());
        self.seen.insert(identity.clone());
        self.chain.push(identity);

        let mut extends = Vec::new();
        for entry in &raw.extends {
            extends.extend(self.references(&file, &dir, entry)?);
        }
        let mut layer = Layer::default();
        for (path, at) in extends.into_iter().rev() {
            layer = layer.merge(self.child(&path, &at)?);
        }
        layer = layer.merge(own);
        for entry in &raw.includes {
            for (path, at) in self.references(&file, &dir, entry)? {
                layer = layer.merge(self.child(&path, &at)?);
            }
        }
        self.chain.pop();
        layer.files.insert(0, file.path.clone());
        Ok(layer)
    }

    fn child(&mut self, path: &Path, at: &Loc) -> Result<Layer, ConfigError> {
        let identity = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(first) = self.chain.iter().position(|p| *p == identity) {
            let mut cycle: Vec<String> = self.chain[first..].iter().map(|p| p.display().to_string()).collect();
            cycle.push(identity.display().to_string());
            return Err(at.error(format!("circular reference: {}", cycle.join(" → "))));
        }
        let file = read(path, Some(at))?;
        self.load(file)
    }

    /// The files an `extends`/`includes` entry names: `$VAR` and `~`
    /// expanded, relative to the declaring file, globs matched (sorted; no
    /// match is fine). A plain path must exist.
    fn references(
        &self,
        file: &Arc<SourceFile>,
        dir: &Path,
        entry: &Sp<String>,
    ) -> Result<Vec<(PathBuf, Loc)>, ConfigError> {
        let at = Loc { file: file.clone(), span: entry.span() };
        let raw = entry.get();
        let expanded = self.ctx.expand(raw).map_err(|e| at.error(format!("{raw:?}: {e}")))?;
        let path = normal(&dir.join(&expanded));
        if !expanded.contains(['*', '?', '[']) {
            return match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Ok(vec![(path, at)]),
                Ok(_) => Err(at.error(format!("{} is not a file", path.display()))),
                Err(e) => Err(at.error(format!("cannot read {}: {e}", path.display()))),
            };
        }
        let pattern = path.to_string_lossy().into_owned();
        let matches = glob::glob(&pattern).map_err(|e| at.error(format!("invalid pattern {raw:?}: {}", e.msg)))?;
        let mut found: Vec<PathBuf> = matches.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        found.sort();
        // A glob names the files that match and are not loaded yet: never
        // the file declaring it (`./.alca.*.toml` in `.alca.x.toml`), one it
        // is loaded from, or a sibling fragment that another fragment's
        // glob already brought in (fragments that all include
        // `./.alca.*.toml` would otherwise include each other).
        found.retain(|p| !self.seen.contains(&p.canonicalize().unwrap_or_else(|_| p.clone())));
        Ok(found.into_iter().map(|p| (p, at.clone())).collect())
    }
}

/// The file's text as [`RawFile`]; a serde error names the key it is about.
fn parse_raw(file: &SourceFile) -> Result<RawFile, ConfigError> {
    let de = toml::Deserializer::parse(&file.text).map_err(|e| ConfigError::from_toml(file, &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        let err = ConfigError::from_toml(file, e.inner());
        // For an unknown key the path ends with the key, which the message names.
        let path = match err.message.starts_with("unknown key") {
            true => path.rsplit_once('.').map(|(parent, _)| parent.to_string()).unwrap_or_default(),
            false => path,
        };
        if path.is_empty() || path == "." { err } else { err.context(&path) }
    })
}

/// Reads a configuration file: a regular file (a FIFO never blocks alca),
/// at most [`MAX_CONFIG_BYTES`], UTF-8 text without NUL.
fn read(path: &Path, from: Option<&Loc>) -> Result<Arc<SourceFile>, ConfigError> {
    let fail = |message: String| match from {
        Some(at) => at.error(format!("{}: {message}", path.display())),
        None => ConfigError::file(path, message),
    };
    let bytes = crate::fsutil::read_regular(path, MAX_CONFIG_BYTES, true)
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = SourceFile { path: path.to_path_buf(), text };
            return Err(ConfigError::at(&file, valid..valid, "the file is not UTF-8 text"));
        }
    };
    check_text(path, &text)?;
    Ok(Arc::new(SourceFile { path: path.to_path_buf(), text }))
}

fn check_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    if let Some(offset) = text.find('\0') {
        let file = SourceFile { path: path.to_path_buf(), text: text.replace('\0', " ") };
        return Err(ConfigError::at(
            &file,
            offset..offset + 1,
            "the file contains a NUL byte; it is not a TOML text file",
        ));
    }
    Ok(())
}

/// One file's own settings, each checked where it is written.
fn layer_of(raw: &RawFile, file: &Arc<SourceFile>, ctx: &LoadContext<'_>) -> Result<Layer, ConfigError> {
    let loc = |span: std::ops::Range<usize>| Loc { file: file.clone(), span };
    let at = |span: std::ops::Range<usize>, message: String| ConfigError::at(file, span, message);
    let dir = file.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut layer = Layer::default();

    if let Some(image) = &raw.image {
        let value = image.get().trim();
        if value.is_empty() {
            return Err(at(image.span(), "`image` is empty".into()));
        }
        layer.image = Some((value.to_string(), loc(image.span())));
    }

    if let Some(w) = &raw.workdir {
        layer.workdir = Some((super::check_workdir(w.get()).map_err(|m| at(w.span(), m))?, loc(w.span())));
    }

    if let Some(excl) = &raw.workdir_exclude
        && !excl.get().is_empty()
    {
        return Err(not_yet(file, excl.span(), "workdir_exclude"));
    }

    // An empty value sets nothing (an included file does not reset the
    // base's choice).
    if let Some(r) = raw.runtime.as_ref().filter(|r| !r.get().is_empty()) {
        layer.runtime = Some(super::runtime_choice(r.get()).map_err(|m| at(r.span(), m))?);
    }

    for (i, m) in raw.mounts.iter().enumerate() {
        let mount = mounts::parse(m.get(), &dir, ctx).map_err(|e| at(m.span(), format!("mounts[{i}]: {e}")))?;
        layer.mounts.push((mount, loc(m.span())));
    }

    if let Some(c) = &raw.commands {
        layer.up = c.up.as_ref().and_then(command);
        layer.enter = c.enter.as_ref().and_then(command);
    }

    for (key, value) in &raw.envs {
        let var = env::parse(key, value.get()).map_err(|m| at(value.span(), m))?;
        layer.envs.insert(var.name.clone(), var);
    }

    if let Some(r) = &raw.resources {
        if let Some(m) = &r.memory {
            layer.memory = super::parse_memory(m.get()).map_err(|e| at(m.span(), format!("resources.memory: {e}")))?;
        }
        if let Some(c) = &r.cpus {
            let cpus = *c.get();
            if !cpus.is_finite() || !(0.0..=4096.0).contains(&cpus) {
                return Err(at(c.span(), format!("resources.cpus: {cpus} is not a number of CPUs (e.g. 2 or 1.5)")));
            }
            layer.cpus = (cpus > 0.0).then_some(cpus);
        }
    }

    if let Some(n) = &raw.network {
        if let Some(rules) = &n.lan_access {
            for (i, rule) in rules.get().iter().enumerate() {
                network::check_rule(rule.get())
                    .map_err(|m| at(rule.span(), format!("network.lan-access[{i}]: {m}")))?;
                layer.lan_access.push((rule.get().clone(), loc(rule.span())));
            }
        }
        // An empty value sets nothing (an included file does not reset the
        // base's proxy).
        if let Some(proxy) = n.proxy.as_ref().filter(|p| !p.get().is_empty()) {
            network::check_proxy(proxy.get()).map_err(|m| at(proxy.span(), format!("network.proxy: {m}")))?;
            layer.proxy = Some((proxy.get().clone(), loc(proxy.span())));
        }
        for (i, p) in n.ports.iter().enumerate() {
            let port = ports::parse(p.get()).map_err(|m| at(p.span(), format!("network: ports[{i}]: {m}")))?;
            layer.ports.push((port, loc(p.span())));
        }
    }

    if let Some(caps) = &raw.caps {
        let names = |list: &[Sp<String>], field: &str, all_ok: bool| -> Result<Vec<String>, ConfigError> {
            let mut out = Vec::new();
            for c in list {
                let name = super::capability(c.get(), all_ok).map_err(|m| at(c.span(), format!("{field}: {m}")))?;
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            Ok(out)
        };
        layer.caps = Some(match caps.get() {
            ListOrTable::List(list) => CapsSetting::Add(names(list, "caps", false)?),
            // An empty table sets nothing (the defaults, or the base's).
            ListOrTable::Table(t) if t.drop.is_empty() && t.add.is_empty() => return Ok(layer_hooks(raw, layer)),
            ListOrTable::Table(t) => {
                CapsSetting::Full { drop: names(&t.drop, "caps.drop", true)?, add: names(&t.add, "caps.add", false)? }
            }
        });
    }

    Ok(layer_hooks(raw, layer))
}

fn layer_hooks(raw: &RawFile, mut layer: Layer) -> Layer {
    if let Some(h) = &raw.hooks {
        let hook = |h: &Option<Sp<String>>| h.as_ref().map(|s| s.get().clone()).filter(|s| !s.trim().is_empty());
        layer.post_up = hook(&h.post_up);
        layer.pre_down = hook(&h.pre_down);
    }
    layer
}

/// `path` with `.` and `..` resolved lexically (as shown and compared).
fn normal(path: &Path) -> PathBuf {
    PathBuf::from(crate::fsutil::lexical(&path.to_string_lossy()))
}

fn command(v: &Sp<StringOrTable<super::raw::CommandTable>>) -> Option<CommandConfig> {
    let cmd = match v.get() {
        StringOrTable::String(s) => CommandConfig { command: s.clone(), append: false },
        StringOrTable::Table(t) => {
            CommandConfig { command: t.command.get().clone(), append: t.append.as_ref().is_some_and(|a| *a.get()) }
        }
    };
    (!cmd.command.trim().is_empty()).then_some(cmd)
}

fn not_yet(file: &SourceFile, span: std::ops::Range<usize>, key: &str) -> ConfigError {
    ConfigError::at(file, span, format!("`{key}` is not supported by this version of alca yet"))
        .with_help("remove it (alca will not ignore it silently)")
}
