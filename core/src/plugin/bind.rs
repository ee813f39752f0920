//! Arguments bound to the request: a grant can say that a value must come
//! from what alca asked for in the export call in progress.
//!
//! An argv policy alone cannot stop a plugin allowed `--volume=*` from
//! mounting `/`. But the host knows what it asked for: the spec given to
//! `create`, the container given to `start`/`stop`/`remove`/`inspect`/`exec`,
//! the selector given to `list-containers`, the network given to the optional
//! `networks` interface. A placeholder such as `{mount}`
//! in a rule says "this value must be one of the request's mounts", compared
//! the way the engine compares it (capability names case-insensitively and
//! with an optional `CAP_`, paths component by component in normal form,
//! sizes and CPU counts as numbers...). A rule marked `creates = true` must
//! moreover express every field of the spec whose omission would weaken the
//! container (dropped capabilities, network, user, limits, entrypoint), so a
//! plugin cannot loosen the sandbox by leaving an option out.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use crate::container;

/// How a placeholder is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value (of an option, or one operand).
    Value,
    /// A boolean option, allowed only when the request's field is true.
    Bool,
    /// The remaining operands (written `{name...}`, last in `operands`).
    Rest,
}

/// What a value can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placeholder {
    Name,
    Label,
    Env,
    Workdir,
    User,
    Entrypoint,
    Mount,
    MountFields,
    Tmpfs,
    Port,
    Cpus,
    Memory,
    CapDrop,
    CapDropEach,
    CapAdd,
    Restart,
    Network,
    Init,
    Image,
    Command,
    Container,
    Containers,
    Selector,
    LabelFilter,
    Argv,
    Tty,
    Interactive,
    NetworkName,
    NetworkLabel,
    BridgeNameOption,
}

const TABLE: &[(&str, Placeholder, Kind)] = &[
    ("name", Placeholder::Name, Kind::Value),
    ("label", Placeholder::Label, Kind::Value),
    ("env", Placeholder::Env, Kind::Value),
    ("workdir", Placeholder::Workdir, Kind::Value),
    ("user", Placeholder::User, Kind::Value),
    ("entrypoint", Placeholder::Entrypoint, Kind::Value),
    ("mount", Placeholder::Mount, Kind::Value),
    ("mount-fields", Placeholder::MountFields, Kind::Value),
    ("tmpfs", Placeholder::Tmpfs, Kind::Value),
    ("port", Placeholder::Port, Kind::Value),
    ("cpus", Placeholder::Cpus, Kind::Value),
    ("memory", Placeholder::Memory, Kind::Value),
    ("cap-drop", Placeholder::CapDrop, Kind::Value),
    ("cap-drop-each", Placeholder::CapDropEach, Kind::Value),
    ("cap-add", Placeholder::CapAdd, Kind::Value),
    ("restart", Placeholder::Restart, Kind::Value),
    ("network", Placeholder::Network, Kind::Value),
    ("init", Placeholder::Init, Kind::Bool),
    ("image", Placeholder::Image, Kind::Value),
    ("command...", Placeholder::Command, Kind::Rest),
    ("container", Placeholder::Container, Kind::Value),
    ("container...", Placeholder::Containers, Kind::Rest),
    ("selector", Placeholder::Selector, Kind::Value),
    ("label-filter", Placeholder::LabelFilter, Kind::Value),
    ("argv...", Placeholder::Argv, Kind::Rest),
    ("tty", Placeholder::Tty, Kind::Bool),
    ("interactive", Placeholder::Interactive, Kind::Bool),
    ("network-name", Placeholder::NetworkName, Kind::Value),
    ("network-label", Placeholder::NetworkLabel, Kind::Value),
    ("bridge-name-option", Placeholder::BridgeNameOption, Kind::Value),
];

impl Placeholder {
    /// Parses `{mount}`; `None` when `s` is not in braces.
    pub fn parse(s: &str) -> Option<Result<Placeholder, String>> {
        let inner = s.strip_prefix('{')?.strip_suffix('}')?;
        Some(TABLE.iter().find(|(n, _, _)| *n == inner).map(|(_, p, _)| *p).ok_or_else(|| {
            format!(
                "unknown placeholder `{s}`; known: {}",
                TABLE.iter().map(|(n, _, _)| format!("{{{n}}}")).collect::<Vec<_>>().join(", ")
            )
        }))
    }

    pub fn kind(self) -> Kind {
        TABLE.iter().find(|(_, p, _)| *p == self).map(|(_, _, k)| *k).expect("every placeholder is in TABLE")
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = TABLE.iter().find(|(_, p, _)| p == self).map(|(n, _, _)| *n).unwrap_or("?");
        write!(f, "{{{name}}}")
    }
}

/// What alca asked for in the export call in progress.
#[derive(Debug, Clone, Default)]
pub enum Request {
    /// `info`, `detect`: nothing to bind to.
    #[default]
    None,
    Image(String),
    Create(Box<container::ContainerSpec>),
    Container(String),
    List(Vec<container::LabelSelector>),
    Exec(Box<container::ExecRequest>),
    /// `networks.create`.
    NetworkCreate(Box<container::NetworkRequest>),
    /// `networks.remove`: the network's name.
    NetworkRemove(String),
}

impl Request {
    /// A call of the optional `networks` interface.
    pub fn is_network(&self) -> bool {
        matches!(self, Request::NetworkCreate(_) | Request::NetworkRemove(_))
    }
}

/// At most this many container references are remembered per call.
const MAX_YIELDED: usize = 10_000;
/// At most this many strings a network call's commands printed are
/// remembered, each at most this long.
const MAX_PRINTED: usize = 4096;
const MAX_PRINTED_LEN: usize = 256;

/// The docker option that names a bridge network's host interface.
pub const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// The export call in progress, as the grant sees it.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// `create`, `list-containers`...
    pub function: &'static str,
    pub request: Request,
    /// Containers this call's own `creates`/`lists` commands printed.
    pub yielded: Vec<String>,
    /// Containers a JSON listing (an engine that cannot filter) printed,
    /// with their labels as the engine printed them. Not containers of the
    /// call: only what `list-containers` may return.
    pub listed: Vec<(String, Vec<(String, String)>)>,
    /// In a `networks` call: the strings the engine printed (the JSON
    /// strings of its output, or its whitespace-separated words). What the
    /// plugin reports about the network must be among them.
    pub printed: Vec<String>,
}

impl CallContext {
    pub fn new(function: &'static str, request: Request) -> CallContext {
        CallContext { function, request, yielded: Vec::new(), listed: Vec::new(), printed: Vec::new() }
    }

    /// Remembers the container references a `creates`/`lists` command
    /// printed: one per line, a single token each.
    pub fn remember(&mut self, stdout: &[u8]) {
        let text = String::from_utf8_lossy(stdout);
        for line in text.lines().map(str::trim) {
            if self.yielded.len() >= MAX_YIELDED {
                return;
            }
            if !line.is_empty() && !line.contains(char::is_whitespace) && !self.yielded.iter().any(|y| y == line) {
                self.yielded.push(line.to_string());
            }
        }
    }

    /// Remembers what a JSON listing printed: each element's id and string
    /// labels, read at the rule's JSON pointers (elements without a string
    /// id are skipped).
    pub fn remember_json(&mut self, stdout: &[u8], listing: &crate::plugin::manifest::JsonListing) {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_slice::<serde_json::Value>(stdout) else {
            tracing::debug!("a JSON listing printed something that is not a JSON array; nothing listed");
            return;
        };
        for item in items {
            if self.listed.len() >= MAX_YIELDED {
                return;
            }
            let Some(id) = item.pointer(&listing.id).and_then(|v| v.as_str()) else { continue };
            let labels = item
                .pointer(&listing.labels)
                .and_then(|v| v.as_object())
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                .unwrap_or_default();
            self.listed.push((id.to_string(), labels));
        }
    }

    /// Remembers what a command of a `networks` call printed: every string
    /// of its JSON output, or its words when it is not JSON.
    pub fn remember_printed(&mut self, stdout: &[u8]) {
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
                serde_json::Value::Object(map) => map.values().for_each(|i| strings(i, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        match serde_json::from_slice::<serde_json::Value>(stdout) {
            Ok(v) => strings(&v, &mut found),
            Err(_) => found.extend(String::from_utf8_lossy(stdout).split_whitespace().map(str::to_string)),
        }
        for s in found {
            if self.printed.len() >= MAX_PRINTED {
                return;
            }
            if !s.is_empty() && s.len() <= MAX_PRINTED_LEN && !self.printed.contains(&s) {
                self.printed.push(s);
            }
        }
    }

    /// Did the engine print `value` in this call?
    pub fn printed(&self, value: &str) -> bool {
        self.printed.iter().any(|p| p == value)
    }

    fn network(&self) -> Option<&container::NetworkRequest> {
        match &self.request {
            Request::NetworkCreate(req) => Some(req),
            _ => None,
        }
    }

    fn spec(&self) -> Option<&container::ContainerSpec> {
        match &self.request {
            Request::Create(spec) => Some(spec),
            _ => None,
        }
    }

    fn exec(&self) -> Option<&container::ExecRequest> {
        match &self.request {
            Request::Exec(req) => Some(req),
            _ => None,
        }
    }

    pub(crate) fn lacks(&self, what: &str) -> String {
        format!("alca's `{}` request has no {what}", self.function)
    }
}

/// The value `v` is bound to `p`: does the request allow it?
pub fn check_value(p: Placeholder, v: &str, ctx: &CallContext) -> Result<(), String> {
    let spec = ctx.spec();
    match p {
        Placeholder::Name => {
            let spec = spec.ok_or_else(|| ctx.lacks("container name"))?;
            eq(v, &spec.name, "the container name alca asked for")
        }
        Placeholder::Label => {
            let spec = spec.ok_or_else(|| ctx.lacks("labels"))?;
            let (key, value) = v.split_once('=').unwrap_or((v, ""));
            if spec.labels.iter().any(|kv| kv.key == key && kv.value == value) {
                Ok(())
            } else {
                Err(format!("label `{v}` is not one alca asked for"))
            }
        }
        Placeholder::Env => {
            let env = match (&ctx.request, ctx.exec()) {
                (Request::Create(spec), _) => &spec.env,
                (_, Some(req)) => &req.env,
                _ => return Err(ctx.lacks("environment")),
            };
            let Some((key, value)) = v.split_once('=') else {
                return Err(format!(
                    "`{v}` would copy the variable from the engine CLI's own environment; only `KEY=value` pairs alca asked for are allowed"
                ));
            };
            if env.iter().any(|kv| kv.key == key && kv.value == value) {
                Ok(())
            } else {
                Err(format!("environment variable `{key}` with that value is not one alca asked for"))
            }
        }
        Placeholder::Workdir | Placeholder::User => {
            type Field<T> = fn(&T) -> &Option<String>;
            let (what, of_spec, of_exec): (&str, Field<container::ContainerSpec>, Field<container::ExecRequest>) =
                match p {
                    Placeholder::Workdir => ("working directory", |s| &s.workdir, |r| &r.workdir),
                    _ => ("user", |s| &s.user, |r| &r.user),
                };
            let wanted = match (spec, ctx.exec()) {
                (Some(spec), _) => of_spec(spec),
                (_, Some(req)) => of_exec(req),
                _ => return Err(ctx.lacks(what)),
            };
            match wanted {
                Some(w) => eq(v, w, &format!("the {what} alca asked for")),
                None => Err(format!("alca did not ask for a {what}, got `{v}`")),
            }
        }
        Placeholder::Entrypoint => {
            let spec = spec.ok_or_else(|| ctx.lacks("entrypoint"))?;
            match spec.entrypoint.as_ref().and_then(|e| e.first()) {
                Some(first) => eq(v, first, "the entrypoint alca asked for"),
                None => Err(format!("alca did not ask to override the image's entrypoint, got `{v}`")),
            }
        }
        Placeholder::Mount => check_mount(v, spec.ok_or_else(|| ctx.lacks("mounts"))?),
        Placeholder::MountFields => check_mount_fields(v, spec.ok_or_else(|| ctx.lacks("mounts"))?),
        Placeholder::Tmpfs => check_tmpfs(v, spec.ok_or_else(|| ctx.lacks("mounts"))?),
        Placeholder::Port => check_port(v, spec.ok_or_else(|| ctx.lacks("ports"))?),
        Placeholder::Cpus => {
            let spec = spec.ok_or_else(|| ctx.lacks("CPU limit"))?;
            let wanted = spec.resources.cpus.ok_or_else(|| format!("alca did not ask for a CPU limit, got `{v}`"))?;
            match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && (n - wanted).abs() <= 1e-9 * wanted.abs().max(1.0) => Ok(()),
                _ => Err(format!("CPU limit `{v}` is not the {wanted} alca asked for")),
            }
        }
        Placeholder::Memory => {
            let spec = spec.ok_or_else(|| ctx.lacks("memory limit"))?;
            let wanted =
                spec.resources.memory_bytes.ok_or_else(|| format!("alca did not ask for a memory limit, got `{v}`"))?;
            match parse_ram_bytes(v) {
                Some(n) if n == wanted => Ok(()),
                _ => Err(format!("memory limit `{v}` is not the {wanted} bytes alca asked for")),
            }
        }
        Placeholder::CapDrop | Placeholder::CapAdd => {
            let spec = spec.ok_or_else(|| ctx.lacks("capabilities"))?;
            let (list, verb) = if p == Placeholder::CapDrop {
                (&spec.capabilities.drop, "drop")
            } else {
                (&spec.capabilities.add, "add")
            };
            let cap = capability(v);
            if list.iter().any(|c| capability(c) == cap) {
                Ok(())
            } else {
                Err(format!("alca did not ask to {verb} capability {cap} (`{v}`)"))
            }
        }
        Placeholder::CapDropEach => {
            let spec = spec.ok_or_else(|| ctx.lacks("capabilities"))?;
            let cap = exact_capability(v)?;
            let all = spec.capabilities.drop.iter().any(|c| capability(c) == "ALL");
            if all || spec.capabilities.drop.iter().any(|c| capability(c) == cap) {
                Ok(())
            } else {
                Err(format!("alca did not ask to drop capability {cap} (`{v}`)"))
            }
        }
        Placeholder::Restart => {
            let spec = spec.ok_or_else(|| ctx.lacks("restart policy"))?;
            let wanted = match spec.restart {
                container::RestartPolicy::No => "no",
                container::RestartPolicy::UnlessStopped => "unless-stopped",
            };
            eq(v, wanted, "the restart policy alca asked for")
        }
        Placeholder::Network => check_network(v, spec.ok_or_else(|| ctx.lacks("network"))?),
        Placeholder::Image => match (&ctx.request, spec) {
            (Request::Image(image), _) => eq(v, image, "the image alca asked for"),
            (_, Some(spec)) => eq(v, &spec.image, "the image alca asked for"),
            _ => Err(ctx.lacks("image")),
        },
        Placeholder::Container => {
            let asked = match (&ctx.request, ctx.exec()) {
                (Request::Container(id), _) => Some(id.as_str()),
                (Request::Create(spec), _) => Some(spec.name.as_str()),
                (_, Some(req)) => Some(req.container.as_str()),
                _ => None,
            };
            if asked == Some(v) || ctx.yielded.iter().any(|y| y == v) {
                return Ok(());
            }
            Err(match asked {
                Some(a) => format!(
                    "container `{v}` is neither the one alca asked about (`{a}`) nor one this call created or listed"
                ),
                None => format!("container `{v}` was not created or listed by this call"),
            })
        }
        Placeholder::Selector => {
            let Request::List(selectors) = &ctx.request else { return Err(ctx.lacks("label selector")) };
            if selectors.iter().any(|s| selector_text(s) == v) {
                Ok(())
            } else {
                Err(format!("filter `{v}` is not one of the label selectors alca asked for"))
            }
        }
        Placeholder::LabelFilter => {
            let Request::List(selectors) = &ctx.request else { return Err(ctx.lacks("label selector")) };
            let wanted = label_filter_text(selectors)?;
            eq(v, &wanted, "the containerd filter of the label selectors alca asked for")
        }
        Placeholder::NetworkName => {
            let name = match &ctx.request {
                Request::NetworkCreate(req) => &req.name,
                Request::NetworkRemove(name) => name,
                _ => return Err(ctx.lacks("network")),
            };
            eq(v, name, "the network alca asked for")
        }
        Placeholder::NetworkLabel => {
            let req = ctx.network().ok_or_else(|| ctx.lacks("network labels"))?;
            let (key, value) = v.split_once('=').unwrap_or((v, ""));
            if v.contains('=') && req.labels.iter().any(|(k, w)| k == key && w == value) {
                Ok(())
            } else {
                Err(format!("network label `{v}` is not one alca asked for"))
            }
        }
        Placeholder::BridgeNameOption => {
            let req = ctx.network().ok_or_else(|| ctx.lacks("bridge interface"))?;
            if req.interface.is_empty() {
                return Err(format!("alca did not ask for a bridge interface name, got `{v}`"));
            }
            eq(v, &format!("{BRIDGE_NAME_OPTION}={}", req.interface), "the bridge interface alca asked for")
        }
        Placeholder::Init | Placeholder::Tty | Placeholder::Interactive => check_flag(p, true, ctx),
        Placeholder::Command | Placeholder::Containers | Placeholder::Argv => {
            unreachable!("rest placeholders are checked by check_rest")
        }
    }
}

/// A boolean option bound to `p` was given as `on`.
pub fn check_flag(p: Placeholder, on: bool, ctx: &CallContext) -> Result<(), String> {
    if !on {
        return Ok(()); // `--init=false` asks for nothing
    }
    let (asked, what) = match p {
        Placeholder::Init => (ctx.spec().map(|s| s.init), "an init process"),
        Placeholder::Tty => (ctx.exec().map(|r| r.tty), "a terminal"),
        Placeholder::Interactive => (ctx.exec().map(|r| r.interactive), "an open stdin"),
        other => unreachable!("{other} is not a boolean placeholder"),
    };
    match asked {
        Some(true) => Ok(()),
        Some(false) => Err(format!("alca did not ask for {what}")),
        None => Err(ctx.lacks(what)),
    }
}

/// The remaining operands, bound to a rest placeholder.
pub fn check_rest(p: Placeholder, operands: &[String], ctx: &CallContext) -> Result<(), String> {
    match p {
        Placeholder::Command => {
            let spec = ctx.spec().ok_or_else(|| ctx.lacks("command"))?;
            let mut wanted: Vec<&String> = spec.entrypoint.iter().flat_map(|e| e.iter().skip(1)).collect();
            wanted.extend(spec.command.iter());
            if operands.iter().eq(wanted.iter().copied()) {
                Ok(())
            } else {
                Err(format!("the command line {} is not the one alca asked for", show_list(operands)))
            }
        }
        Placeholder::Argv => {
            let req = ctx.exec().ok_or_else(|| ctx.lacks("command"))?;
            if operands == req.argv.as_slice() {
                Ok(())
            } else {
                Err(format!("the command line {} is not the one alca asked to run", show_list(operands)))
            }
        }
        Placeholder::Containers => {
            if operands.is_empty() {
                return Err("no container given".into());
            }
            operands.iter().try_for_each(|o| check_value(Placeholder::Container, o, ctx))
        }
        other => unreachable!("{other} is not a rest placeholder"),
    }
}

/// For a `creates` rule: every field of the spec whose omission would
/// weaken the container must have been expressed. `given` lists the
/// placeholders the command used (with their values).
pub fn check_complete(given: &[(Placeholder, String)], ctx: &CallContext) -> Result<(), String> {
    let spec = ctx.spec().ok_or_else(|| ctx.lacks("container spec"))?;
    let used = |p: Placeholder| given.iter().any(|(q, _)| *q == p);
    let dropped: BTreeSet<String> =
        given.iter().filter(|(p, _)| *p == Placeholder::CapDrop).map(|(_, v)| capability(v)).collect();
    // `{cap-drop-each}`: the engine knows no `ALL`, so dropping all means
    // dropping every capability Linux defines but those the spec adds back.
    let each: BTreeSet<String> =
        given.iter().filter(|(p, _)| *p == Placeholder::CapDropEach).map(|(_, v)| capability(v)).collect();
    let added: BTreeSet<String> = spec.capabilities.add.iter().map(|c| capability(c)).collect();
    for cap in &spec.capabilities.drop {
        let cap = capability(cap);
        if dropped.contains(&cap) {
            continue;
        }
        // With `{cap-drop-each}` a capability the spec adds back stays (the
        // contract drops before it adds; such engines add first).
        let kept = |c: &str| !each.is_empty() && added.contains(c);
        let missing: Vec<&str> = if cap == "ALL" {
            LINUX_CAPABILITIES.iter().copied().filter(|c| !kept(c) && !each.contains(*c)).collect()
        } else if kept(&cap) || each.contains(&cap) {
            Vec::new()
        } else {
            vec![cap.as_str()]
        };
        if !missing.is_empty() {
            let how = if each.is_empty() {
                "`{cap-drop}`".to_string()
            } else {
                format!("`{{cap-drop-each}}` misses {}", missing.join(", "))
            };
            return Err(format!("alca asked to drop capability {cap}, and the command does not ({how})"));
        }
    }
    let required: [(bool, Placeholder, &str); 5] = [
        (!matches!(spec.network, container::NetworkMode::Default), Placeholder::Network, "its network"),
        (spec.user.is_some(), Placeholder::User, "its user"),
        (spec.resources.cpus.is_some(), Placeholder::Cpus, "its CPU limit"),
        (spec.resources.memory_bytes.is_some(), Placeholder::Memory, "its memory limit"),
        (spec.entrypoint.is_some(), Placeholder::Entrypoint, "its entrypoint"),
    ];
    for (needed, p, what) in required {
        if needed && !used(p) {
            return Err(format!("alca asked for {what}, and the command does not set it (`{p}`)"));
        }
    }
    Ok(())
}

/// For a `lists` rule: every label selector alca asked for must be passed,
/// or the listing (and everything it lets the plugin touch) is wider than
/// the request.
pub fn check_selectors_complete(given: &[(Placeholder, String)], ctx: &CallContext) -> Result<(), String> {
    let Request::List(selectors) = &ctx.request else { return Err(ctx.lacks("label selector")) };
    // `{label-filter}` is checked to be the conjunction of all of them.
    if !selectors.is_empty() && given.iter().any(|(p, _)| *p == Placeholder::LabelFilter) {
        return Ok(());
    }
    for s in selectors {
        let text = selector_text(s);
        if !given.iter().any(|(p, v)| *p == Placeholder::Selector && *v == text) {
            return Err(format!("the listing does not filter by `{text}`, which alca asked for (`{{selector}}`)"));
        }
    }
    Ok(())
}

fn eq(v: &str, wanted: &str, what: &str) -> Result<(), String> {
    if v == wanted { Ok(()) } else { Err(format!("`{v}` is not {what} (`{wanted}`)")) }
}

fn show_list(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().take(8).map(|s| format!("{s:?}")).collect();
    let more = if items.len() > 8 { format!(", … ({} more)", items.len() - 8) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

/// `label=key=value` or `label=key`, as docker and podman filters read it.
pub fn selector_text(s: &container::LabelSelector) -> String {
    match &s.value {
        Some(v) => format!("label={}={v}", s.key),
        None => format!("label={}", s.key),
    }
}

/// Every capability Linux defines, in the kernel's order: a capability's number
/// is its index (`include/uapi/linux/capability.h`).
pub const LINUX_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// `{cap-drop-each}`: spelled exactly as an engine that compares strings
/// (containerd's ctr) needs it, `CAP_` and upper case; never `ALL`.
fn exact_capability(v: &str) -> Result<String, String> {
    let name = v.strip_prefix("CAP_").unwrap_or("");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        return Err(format!("`{v}` is not spelled `CAP_` and an upper-case name, which this engine needs"));
    }
    if name == "ALL" {
        return Err(format!("`{v}`: this engine knows no ALL; drop each capability by name"));
    }
    Ok(name.to_string())
}

/// containerd's filter for `selectors`, all of them (`,` is AND; separate
/// filters would be OR): `labels."k"=="v"` or `labels."k"`.
pub fn label_filter_text(selectors: &[container::LabelSelector]) -> Result<String, String> {
    let quote = |s: &str| {
        if s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
            Err(format!("label `{s}` cannot be written into a containerd filter"))
        } else {
            Ok(format!("\"{s}\""))
        }
    };
    let mut parts = Vec::new();
    for s in selectors {
        let mut part = format!("labels.{}", quote(&s.key)?);
        if let Some(v) = &s.value {
            part.push_str("==");
            part.push_str(&quote(v)?);
        }
        parts.push(part);
    }
    Ok(parts.join(","))
}

/// A capability as the engines compare them: upper case, without `CAP_`.
pub fn capability(s: &str) -> String {
    let upper = s.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

/// Is `p` an absolute path in normal form: no `.` or `..` components, no
/// empty ones, no trailing `/`? Only such paths are compared: `<dir>/..`
/// must never pass for `<dir>` (a symlink below `<dir>` would make the
/// kernel resolve it elsewhere).
pub fn is_normal_path(p: &str) -> bool {
    if p == "/" {
        return true;
    }
    let Some(rest) = p.strip_prefix('/') else { return false };
    rest.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

fn normal_path(p: &str, what: &str) -> Result<(), String> {
    if is_normal_path(p) {
        Ok(())
    } else {
        Err(format!("{what} `{p}` is not an absolute path in normal form (no `.`, `..`, `//` or trailing `/`)"))
    }
}

/// `source:target[:options]` of `--volume` on docker and podman.
fn check_mount(v: &str, spec: &container::ContainerSpec) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, o] => (*s, *t, *o),
        _ => return Err(format!("mount `{v}` is not `source:target[:options]` as alca asked for")),
    };
    let bind = source.starts_with('/');
    if bind {
        normal_path(source, "mount source")?;
    }
    normal_path(target, "mount target")?;
    let kind = if bind { container::MountKind::Bind } else { container::MountKind::Volume };
    let Some(m) = spec.mounts.iter().find(|m| m.kind == kind && m.source == source && m.target == target) else {
        return Err(format!("mount `{v}` is not one alca asked for"));
    };
    check_mount_options(v, options, m.read_only)
}

/// `type=bind,src=/a,dst=/b,options=rbind:ro`: the key=value form of a bind
/// mount that containerd's `ctr --mount` reads. Every key at most once, only
/// these keys, only `rbind`/`bind` and `ro`/`rw` as options.
fn check_mount_fields(v: &str, spec: &container::ContainerSpec) -> Result<(), String> {
    let (mut kind, mut source, mut target, mut options) = (None, None, None, None);
    for field in v.split(',') {
        let Some((key, value)) = field.split_once('=') else {
            return Err(format!("mount `{v}`: `{field}` is not key=value"));
        };
        let slot = match key {
            "type" => &mut kind,
            "src" | "source" => &mut source,
            "dst" | "destination" | "target" => &mut target,
            "options" => &mut options,
            other => return Err(format!("mount `{v}`: key `{other}` is not allowed")),
        };
        if slot.replace(value).is_some() {
            return Err(format!("mount `{v}`: `{key}` is given twice"));
        }
    }
    if kind != Some("bind") {
        return Err(format!("mount `{v}` must say `type=bind`"));
    }
    let (Some(source), Some(target)) = (source, target) else {
        return Err(format!("mount `{v}` must name its source and its destination"));
    };
    normal_path(source, "mount source")?;
    normal_path(target, "mount target")?;
    let Some(m) =
        spec.mounts.iter().find(|m| m.kind == container::MountKind::Bind && m.source == source && m.target == target)
    else {
        return Err(format!("mount `{v}` is not one alca asked for"));
    };
    let mut ro = false;
    for o in options.unwrap_or("").split(':').filter(|o| !o.is_empty()) {
        match o {
            "rbind" | "bind" => {}
            "ro" if m.read_only => ro = true,
            "rw" if !m.read_only => {}
            other => return Err(format!("mount option `{other}` in `{v}` is not allowed")),
        }
    }
    if m.read_only && !ro {
        return Err(format!("mount `{v}` must be read-only (`options=rbind:ro`), as alca asked"));
    }
    Ok(())
}

/// `target[:options]` of `--tmpfs`.
fn check_tmpfs(v: &str, spec: &container::ContainerSpec) -> Result<(), String> {
    let (target, options) = v.split_once(':').unwrap_or((v, ""));
    normal_path(target, "tmpfs target")?;
    let Some(m) = spec.mounts.iter().find(|m| m.kind == container::MountKind::Tmpfs && m.target == target) else {
        return Err(format!("tmpfs `{v}` is not one alca asked for"));
    };
    check_mount_options(v, options, m.read_only)
}

/// Only `ro` (required for a read-only mount) and `rw` (for a writable
/// one): propagation, relabelling, ownership, exec and suid options all
/// change what the container can do to the host.
fn check_mount_options(v: &str, options: &str, read_only: bool) -> Result<(), String> {
    let mut ro = false;
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" if read_only => ro = true,
            "rw" if !read_only => {}
            other => return Err(format!("mount option `{other}` in `{v}` is not allowed")),
        }
    }
    if read_only && !ro {
        return Err(format!("mount `{v}` must be read-only (`:ro`), as alca asked"));
    }
    Ok(())
}

/// `[ip:]host-port:container-port[/protocol]`, with `[v6]` brackets.
fn check_port(v: &str, spec: &container::ContainerSpec) -> Result<(), String> {
    let bad = || format!("published port `{v}` is not one alca asked for");
    let (main, proto) = v.rsplit_once('/').unwrap_or((v, "tcp"));
    let (ip, rest): (Option<&str>, &str) = if let Some(after) = main.strip_prefix('[') {
        let (ip, rest) = after.split_once("]:").ok_or_else(bad)?;
        (Some(ip), rest)
    } else {
        match main.split(':').count() {
            3 => main.split_once(':').map(|(ip, rest)| (Some(ip), rest)).ok_or_else(bad)?,
            _ => (None, main),
        }
    };
    let (host, container) = rest.split_once(':').ok_or_else(bad)?;
    let host: u16 = host.parse().map_err(|_| bad())?;
    let container: u16 = container.parse().map_err(|_| bad())?;
    let ip: Option<IpAddr> = match ip {
        Some(text) => Some(text.parse().map_err(|_| bad())?),
        None => None,
    };
    let proto = proto.to_ascii_lowercase();
    let found = spec.ports.iter().any(|p| {
        let want_ip: Option<IpAddr> = p.host_ip.as_deref().and_then(|s| s.parse().ok());
        let want_proto = match p.protocol {
            container::Protocol::Tcp => "tcp",
            container::Protocol::Udp => "udp",
        };
        p.host_ip.is_some() == want_ip.is_some()
            && want_ip == ip
            && p.host_port.unwrap_or(p.container_port) == host
            && p.container_port == container
            && proto == want_proto
    });
    if found { Ok(()) } else { Err(bad()) }
}

/// Spellings that select a namespace mode rather than a network by name
/// (docker and podman): never a "named network".
fn is_network_mode(v: &str) -> bool {
    let head = v.split(':').next().unwrap_or(v);
    matches!(head, "host" | "none" | "bridge" | "default" | "container" | "ns" | "slirp4netns" | "pasta" | "private")
}

fn check_network(v: &str, spec: &container::ContainerSpec) -> Result<(), String> {
    match &spec.network {
        container::NetworkMode::Default => Err(format!("alca asked for the runtime's default network, not `{v}`")),
        container::NetworkMode::None => eq(v, "none", "the network alca asked for"),
        container::NetworkMode::Named(name) if is_network_mode(name) => {
            Err(format!("alca asked for a network named `{name}`, which the engine would read as a namespace mode"))
        }
        container::NetworkMode::Named(name) => eq(v, name, "the network alca asked for"),
    }
}

/// go-units `RAMInBytes`, which docker and podman use for `--memory`:
/// a decimal number, an optional space, an optional binary unit
/// (`k`, `m`, `g`, `t`, `p`, any case), an optional `i`, an optional `b`.
pub fn parse_ram_bytes(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, mut rest) = s.split_at(digits_end);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') || number.contains("..") {
        return None;
    }
    let value: f64 = number.split('.').take(2).collect::<Vec<_>>().join(".").parse().ok()?;
    rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut chars = rest.chars().peekable();
    let mult: f64 = match chars.peek().map(|c| c.to_ascii_lowercase()) {
        Some('k') => 1024f64,
        Some('m') => 1024f64.powi(2),
        Some('g') => 1024f64.powi(3),
        Some('t') => 1024f64.powi(4),
        Some('p') => 1024f64.powi(5),
        _ => 1.0,
    };
    if mult > 1.0 {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let bytes = value * mult;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> container::KeyValue {
        container::KeyValue { key: k.into(), value: v.into() }
    }

    pub(crate) fn spec() -> container::ContainerSpec {
        container::ContainerSpec {
            name: "alca-0123456789ab".into(),
            image: "img:1".into(),
            labels: vec![kv("alca.project.id", "p1"), kv("alca.project.path", "/home/u/proj")],
            env: vec![kv("A", "1"), kv("EMPTY", "")],
            mounts: vec![
                container::Mount {
                    kind: container::MountKind::Bind,
                    source: "/home/u/proj".into(),
                    target: "/workspace".into(),
                    read_only: false,
                },
                container::Mount {
                    kind: container::MountKind::Bind,
                    source: "/data".into(),
                    target: "/data".into(),
                    read_only: true,
                },
                container::Mount {
                    kind: container::MountKind::Tmpfs,
                    source: String::new(),
                    target: "/tmp".into(),
                    read_only: false,
                },
            ],
            ports: vec![container::PortMapping {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(8080),
                container_port: 80,
                protocol: container::Protocol::Tcp,
            }],
            workdir: Some("/workspace".into()),
            user: None,
            entrypoint: None,
            command: vec!["sleep".into(), "inf".into()],
            resources: container::Resources { cpus: Some(1.5), memory_bytes: Some(2 * 1024 * 1024 * 1024) },
            capabilities: container::Capabilities {
                drop: vec!["ALL".into()],
                add: vec!["CHOWN".into(), "KILL".into()],
            },
            restart: container::RestartPolicy::UnlessStopped,
            network: container::NetworkMode::Default,
            init: false,
        }
    }

    fn create() -> CallContext {
        CallContext::new("create", Request::Create(Box::new(spec())))
    }

    fn ok(p: Placeholder, v: &str, ctx: &CallContext) {
        if let Err(e) = check_value(p, v, ctx) {
            panic!("{p} {v:?} should pass: {e}");
        }
    }

    fn no(p: Placeholder, v: &str, ctx: &CallContext) -> String {
        check_value(p, v, ctx).expect_err(&format!("{p} {v:?} should be refused"))
    }

    #[test]
    fn placeholders_parse() {
        assert_eq!(Placeholder::parse("{mount}"), Some(Ok(Placeholder::Mount)));
        assert_eq!(Placeholder::parse("{argv...}").unwrap().unwrap().kind(), Kind::Rest);
        assert!(Placeholder::parse("{nope}").unwrap().is_err());
        assert_eq!(Placeholder::parse("mount"), None);
        assert_eq!(Placeholder::CapDrop.to_string(), "{cap-drop}");
    }

    #[test]
    fn mounts_compare_as_paths_in_normal_form() {
        let c = create();
        ok(Placeholder::MountFields, "type=bind,src=/home/u/proj,dst=/workspace,options=rbind:rw", &c);
        ok(Placeholder::MountFields, "type=bind,source=/home/u/proj,destination=/workspace", &c);
        ok(Placeholder::MountFields, "type=bind,src=/data,dst=/data,options=rbind:ro", &c);
        for bad in [
            "type=bind,src=/,dst=/workspace",
            "type=bind,src=/home/u/proj,dst=/workspace,src=/",
            "type=bind,src=/home/u/proj/.,dst=/workspace",
            "type=bind,src=/home/u/proj,dst=/workspace,options=rbind:rshared",
            "type=bind,src=/home/u/proj,dst=/workspace,readonly=false",
            "type=volume,src=/home/u/proj,dst=/workspace",
            "src=/home/u/proj,dst=/workspace",
            "type=bind,src=/home/u/proj",
            "type=bind,src=/data,dst=/data,options=rbind",
            "type=bind,src=/data,dst=/data,options=rbind:rw",
        ] {
            no(Placeholder::MountFields, bad, &c);
        }
        ok(Placeholder::Mount, "/home/u/proj:/workspace", &c);
        ok(Placeholder::Mount, "/home/u/proj:/workspace:rw", &c);
        ok(Placeholder::Mount, "/data:/data:ro", &c);
        for bad in [
            "/:/host",
            "/home/u/proj/../..:/workspace",
            "/home/u/proj/sub/..:/workspace",
            "/home/u/proj/:/workspace",
            "//home/u/proj:/workspace",
            "/home/u/proj/.:/workspace",
            "/home/u/proj:/workspace/../etc",
            "/home/u:/workspace",
            "/home/u/projX:/workspace",
            "/home/u/proj:/workspace:rshared",
            "/home/u/proj:/workspace:z",
            "/home/u/proj:/workspace:U",
            "/home/u/proj:/workspace:ro,suid",
            "/data:/data",
            "/data:/data:rw",
            "/workspace",
            "proj:/workspace",
            "/home/u/proj:/workspace:ro:x",
        ] {
            no(Placeholder::Mount, bad, &c);
        }
        assert!(no(Placeholder::Mount, "/data:/data", &c).contains("must be read-only"));
        ok(Placeholder::Tmpfs, "/tmp", &c);
        no(Placeholder::Tmpfs, "/tmp:exec", &c);
        no(Placeholder::Tmpfs, "/run", &c);
    }

    #[test]
    fn capabilities_compare_like_the_engine() {
        let c = create();
        for v in ["CHOWN", "chown", "cap_chown", "CAP_CHOWN", "Kill"] {
            ok(Placeholder::CapAdd, v, &c);
        }
        for v in ["ALL", "all", "SYS_ADMIN", "cap_sys_admin", "sys_ptrace", "NET_RAW"] {
            no(Placeholder::CapAdd, v, &c);
        }
        ok(Placeholder::CapDrop, "all", &c);
        no(Placeholder::CapDrop, "CHOWN", &c);
    }

    #[test]
    fn capabilities_each_by_exact_name() {
        let c = create();
        for v in ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_RAW"] {
            ok(Placeholder::CapDropEach, v, &c); // the spec drops ALL
        }
        for v in ["CAP_ALL", "CAP_chown", "cap_chown", "CHOWN", "CAP_", "CAP_A B"] {
            no(Placeholder::CapDropEach, v, &c);
        }
        let each = |caps: &[&str]| -> Vec<(Placeholder, String)> {
            let mut g: Vec<(Placeholder, String)> =
                caps.iter().map(|c| (Placeholder::CapDropEach, format!("CAP_{c}"))).collect();
            g.extend([(Placeholder::Cpus, "1.5".to_string()), (Placeholder::Memory, "2g".to_string())]);
            g
        };
        let but_added: Vec<&str> =
            LINUX_CAPABILITIES.iter().copied().filter(|c| !["CHOWN", "KILL"].contains(c)).collect();
        assert!(check_complete(&each(&but_added), &c).is_ok());
        assert!(check_complete(&each(LINUX_CAPABILITIES), &c).is_ok(), "dropping more is never weaker");
        let short: Vec<&str> = but_added.iter().copied().filter(|c| *c != "NET_RAW").collect();
        assert!(check_complete(&each(&short), &c).unwrap_err().contains("misses NET_RAW"));
        let mut s = spec();
        s.capabilities = container::Capabilities { drop: vec!["NET_RAW".into()], add: vec![] };
        let named = CallContext::new("create", Request::Create(Box::new(s)));
        no(Placeholder::CapDropEach, "CAP_CHOWN", &named);
        assert!(check_complete(&each(&["NET_RAW"]), &named).is_ok());
        assert!(check_complete(&each(&["CHOWN"]), &named).is_err());
    }

    #[test]
    fn label_filter_is_the_conjunction_of_every_selector() {
        let sel = |k: &str, v: Option<&str>| container::LabelSelector { key: k.into(), value: v.map(Into::into) };
        let c = CallContext::new(
            "list-containers",
            Request::List(vec![sel("alca.project.id", Some("p1")), sel("x", None)]),
        );
        ok(Placeholder::LabelFilter, r#"labels."alca.project.id"=="p1",labels."x""#, &c);
        for bad in [
            r#"labels."alca.project.id"=="p1""#,
            r#"labels."x",labels."alca.project.id"=="p1""#,
            r#"labels."alca.project.id"==p1,labels."x""#,
            r#"labels."alca.project.id"=="p1"|labels."x""#,
            "",
        ] {
            no(Placeholder::LabelFilter, bad, &c);
        }
        let given = vec![(Placeholder::LabelFilter, r#"labels."alca.project.id"=="p1",labels."x""#.to_string())];
        assert!(check_selectors_complete(&given, &c).is_ok());
        let q = CallContext::new("list-containers", Request::List(vec![sel("k", Some("a\"b"))]));
        assert!(no(Placeholder::LabelFilter, r#"labels."k"=="a\"b""#, &q).contains("cannot be written"));
    }

    #[test]
    fn networks_and_their_spellings() {
        let c = create();
        for v in ["host", "HOST", "bridge", "container:x", "ns:/proc/1/ns/net", "slirp4netns", "pasta", "none"] {
            no(Placeholder::Network, v, &c);
        }
        let mut s = spec();
        s.network = container::NetworkMode::None;
        let none = CallContext::new("create", Request::Create(Box::new(s.clone())));
        ok(Placeholder::Network, "none", &none);
        no(Placeholder::Network, "NONE", &none);
        no(Placeholder::Network, "host", &none);
        s.network = container::NetworkMode::Named("host".into());
        let tricky = CallContext::new("create", Request::Create(Box::new(s)));
        assert!(no(Placeholder::Network, "host", &tricky).contains("namespace mode"));
    }

    #[test]
    fn sizes_numbers_ports() {
        let c = create();
        for v in ["2147483648b", "2147483648", "2g", "2G", "2gb", "2GiB", "2048m", "2097152k"] {
            ok(Placeholder::Memory, v, &c);
        }
        for v in ["2g ", "1g", "0", "-2g", "2x", ".2g", "2..0g", ""] {
            no(Placeholder::Memory, v, &c);
        }
        ok(Placeholder::Cpus, "1.5", &c);
        ok(Placeholder::Cpus, "1.50", &c);
        no(Placeholder::Cpus, "2", &c);
        no(Placeholder::Cpus, "NaN", &c);
        ok(Placeholder::Port, "127.0.0.1:8080:80", &c);
        ok(Placeholder::Port, "127.0.0.1:8080:80/tcp", &c);
        for v in ["8080:80", "0.0.0.0:8080:80", "127.0.0.1::80", "80", "127.0.0.1:8080:80/udp", "[::1]:8080:80", "x"] {
            no(Placeholder::Port, v, &c);
        }
        assert_eq!(parse_ram_bytes("1.5k"), Some(1536));
        assert_eq!(parse_ram_bytes("1 kib"), Some(1024));
    }

    #[test]
    fn names_labels_env_and_the_rest() {
        let c = create();
        ok(Placeholder::Name, "alca-0123456789ab", &c);
        no(Placeholder::Name, "alca-other", &c);
        ok(Placeholder::Label, "alca.project.id=p1", &c);
        no(Placeholder::Label, "alca.project.id=p2", &c);
        no(Placeholder::Label, "alca.project.id", &c);
        ok(Placeholder::Env, "A=1", &c);
        ok(Placeholder::Env, "EMPTY=", &c);
        assert!(no(Placeholder::Env, "A", &c).contains("copy the variable"));
        no(Placeholder::Env, "A=2", &c);
        no(Placeholder::Env, "LD_PRELOAD=/x.so", &c);
        ok(Placeholder::Workdir, "/workspace", &c);
        no(Placeholder::User, "root", &c);
        no(Placeholder::Entrypoint, "sh", &c);
        ok(Placeholder::Restart, "unless-stopped", &c);
        no(Placeholder::Restart, "always", &c);
        ok(Placeholder::Image, "img:1", &c);
        no(Placeholder::Image, "img:2", &c);
        ok(Placeholder::Container, "alca-0123456789ab", &c);
        no(Placeholder::Container, "victim", &c);
        assert!(check_flag(Placeholder::Init, true, &c).is_err());
        assert!(check_flag(Placeholder::Init, false, &c).is_ok());
        let cmd =
            |ops: &[&str]| check_rest(Placeholder::Command, &ops.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &c);
        assert!(cmd(&["sleep", "inf"]).is_ok());
        assert!(cmd(&["sleep"]).is_err());
        assert!(cmd(&["sleep", "inf", "--privileged"]).is_err());
        // Nothing in a request without that field.
        let detect = CallContext::new("detect", Request::None);
        assert!(no(Placeholder::Image, "img:1", &detect).contains("`detect` request has no image"));
    }

    #[test]
    fn json_listings_are_read_at_the_rules_pointers_and_vouch_for_nothing() {
        let listing = crate::plugin::manifest::JsonListing {
            id: "/configuration/id".into(),
            labels: "/configuration/labels".into(),
        };
        let mut c = CallContext::new("list-containers", Request::List(vec![]));
        let out = br#"[{"configuration":{"id":"a","labels":{"k":"v","n":3}}},{"configuration":{"labels":{}}},{"configuration":{"id":"b"}},"junk"]"#;
        c.remember_json(out, &listing);
        assert_eq!(
            c.listed,
            vec![("a".to_string(), vec![("k".to_string(), "v".to_string())]), ("b".to_string(), vec![])]
        );
        assert!(c.yielded.is_empty(), "a listing that cannot filter names no container of the call");
        let mut c = CallContext::new("list-containers", Request::List(vec![]));
        c.remember_json(b"not json", &listing);
        c.remember_json(br#"{"configuration":{"id":"a"}}"#, &listing);
        assert!(c.listed.is_empty());
    }

    #[test]
    fn containers_are_the_requested_one_or_yielded_ones() {
        let mut c = CallContext::new(
            "list-containers",
            Request::List(vec![container::LabelSelector { key: "alca.project.id".into(), value: Some("p1".into()) }]),
        );
        no(Placeholder::Container, "abc", &c);
        c.remember(b"abc\n  def  \n\nnot one\nCONTAINER ID   IMAGE\n");
        ok(Placeholder::Container, "abc", &c);
        ok(Placeholder::Container, "def", &c);
        no(Placeholder::Container, "not", &c);
        no(Placeholder::Container, "not one", &c);
        ok(Placeholder::Selector, "label=alca.project.id=p1", &c);
        no(Placeholder::Selector, "label=alca.project.id", &c);
        no(Placeholder::Selector, "name=x", &c);
        assert!(check_selectors_complete(&[], &c).is_err());
        assert!(check_selectors_complete(&[(Placeholder::Selector, "label=alca.project.id=p1".into())], &c).is_ok());
        let exec = CallContext::new(
            "exec",
            Request::Exec(Box::new(container::ExecRequest {
                container: "c1".into(),
                argv: vec!["sh".into()],
                tty: false,
                interactive: true,
                user: None,
                workdir: None,
                env: vec![],
            })),
        );
        ok(Placeholder::Container, "c1", &exec);
        no(Placeholder::Container, "c2", &exec);
        assert!(check_flag(Placeholder::Tty, true, &exec).is_err());
        assert!(check_flag(Placeholder::Interactive, true, &exec).is_ok());
    }

    pub(crate) fn network_request() -> container::NetworkRequest {
        container::NetworkRequest {
            name: "alca-0123456789ab".into(),
            labels: vec![("alca.project.id".into(), "p1".into()), ("alca.version".into(), "0.2.0".into())],
            interface: "alca0123456789a".into(),
        }
    }

    #[test]
    fn networks_are_the_requested_one() {
        let c = CallContext::new("network-create", Request::NetworkCreate(Box::new(network_request())));
        ok(Placeholder::NetworkName, "alca-0123456789ab", &c);
        for bad in ["alca-other", "alca-0123456789ab ", "ALCA-0123456789AB", "bridge", "host", ""] {
            no(Placeholder::NetworkName, bad, &c);
        }
        ok(Placeholder::NetworkLabel, "alca.project.id=p1", &c);
        ok(Placeholder::NetworkLabel, "alca.version=0.2.0", &c);
        for bad in
            ["alca.project.id=p2", "alca.project.id", "alca.project.id=", "com.docker.network.internal=true", "=p1"]
        {
            no(Placeholder::NetworkLabel, bad, &c);
        }
        ok(Placeholder::BridgeNameOption, "com.docker.network.bridge.name=alca0123456789a", &c);
        for bad in [
            "com.docker.network.bridge.name=eth0",
            "com.docker.network.bridge.name=docker0",
            "com.docker.network.bridge.name=alca0123456789a ",
            "com.docker.network.bridge.name",
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "com.docker.network.bridge.enable_icc=true",
            "com.docker.network.driver.mtu=9000",
            "com.docker.network.bridge.host_binding_ipv4=0.0.0.0",
            "com.docker.network.bridge.gateway_mode_ipv4=routed",
            "alca0123456789a",
        ] {
            no(Placeholder::BridgeNameOption, bad, &c);
        }
        let mut unnamed = network_request();
        unnamed.interface.clear();
        let u = CallContext::new("network-create", Request::NetworkCreate(Box::new(unnamed)));
        assert!(no(Placeholder::BridgeNameOption, "com.docker.network.bridge.name=", &u).contains("did not ask"));

        // `network rm`: only the network alca names, and nothing to create it with.
        let r = CallContext::new("network-remove", Request::NetworkRemove("alca-0123456789ab".into()));
        ok(Placeholder::NetworkName, "alca-0123456789ab", &r);
        no(Placeholder::NetworkName, "alca-fedcba987654", &r);
        no(Placeholder::NetworkName, "bridge", &r);
        assert!(no(Placeholder::NetworkLabel, "alca.project.id=p1", &r).contains("`network-remove` request has no"));
        no(Placeholder::BridgeNameOption, "com.docker.network.bridge.name=alca0123456789a", &r);

        // In other calls the network placeholders bind nothing, and the
        // container placeholders nothing in network calls.
        for other in [create(), CallContext::new("detect", Request::None)] {
            no(Placeholder::NetworkName, "alca-0123456789ab", &other);
            no(Placeholder::NetworkLabel, "alca.project.id=p1", &other);
            no(Placeholder::BridgeNameOption, "com.docker.network.bridge.name=alca0123456789a", &other);
        }
        for p in
            [Placeholder::Name, Placeholder::Container, Placeholder::Label, Placeholder::Network, Placeholder::Image]
        {
            no(p, "alca-0123456789ab", &c);
            no(p, "alca-0123456789ab", &r);
        }
        assert!(c.request.is_network() && r.request.is_network() && !create().request.is_network());
    }

    #[test]
    fn what_a_network_command_printed_is_remembered() {
        let mut c = CallContext::new("network-create", Request::NetworkCreate(Box::new(network_request())));
        c.remember_printed(br#"[{"Name":"n","Options":{"com.docker.network.bridge.name":"alca0"},"IPAM":{"Config":[{"Subnet":"172.23.0.0/16","Gateway":"172.23.0.1"}]},"EnableIPv6":false,"n":3}]"#);
        for printed in ["n", "alca0", "172.23.0.0/16", "172.23.0.1"] {
            assert!(c.printed(printed), "{printed}");
        }
        // Keys and non-strings are not printed values.
        for not in ["Name", "Options", "com.docker.network.bridge.name", "false", "3", ""] {
            assert!(!c.printed(not), "{not}");
        }
        // Not JSON (docker's `network create` prints the id): its words.
        c.remember_printed(b"c76c650eeb3e\n");
        c.remember_printed(b"abc def\n");
        assert!(c.printed("abc") && c.printed("def") && !c.printed("abc def"));
        // Bounded.
        let many: String = (0..10_000).map(|i| format!("w{i} ")).collect();
        c.remember_printed(many.as_bytes());
        assert!(c.printed.len() <= MAX_PRINTED);
        c.remember_printed(format!("\"{}\"", "x".repeat(MAX_PRINTED_LEN + 1)).as_bytes());
        assert!(c.printed.iter().all(|p| p.len() <= MAX_PRINTED_LEN));
    }

    #[test]
    fn creates_must_express_what_would_weaken_the_container() {
        let c = create();
        let drop_all = vec![(Placeholder::CapDrop, "all".to_string())];
        let mut full = drop_all.clone();
        full.extend([(Placeholder::Cpus, "1.5".to_string()), (Placeholder::Memory, "2g".to_string())]);
        assert!(check_complete(&full, &c).is_ok());
        assert!(check_complete(&full[1..], &c).unwrap_err().contains("drop capability ALL"));
        assert!(check_complete(&drop_all, &c).unwrap_err().contains("CPU limit"));
        let mut s = spec();
        s.network = container::NetworkMode::None;
        s.user = Some("1000".into());
        let c = CallContext::new("create", Request::Create(Box::new(s)));
        assert!(check_complete(&drop_all, &c).unwrap_err().contains("its network"));
        let mut given = drop_all.clone();
        given.push((Placeholder::Network, "none".into()));
        assert!(check_complete(&given, &c).unwrap_err().contains("its user"));
        given.push((Placeholder::User, "1000".into()));
        // cpus and memory are set in spec() too
        assert!(check_complete(&given, &c).unwrap_err().contains("CPU"));
    }
}
