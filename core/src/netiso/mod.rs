//! Network isolation on Linux: the container reaches public addresses, not
//! the user's LAN, the host, or cloud metadata.
//!
//! The design (docs/security.md, "Network isolation"):
//! - each isolated project has a bridge network of its own, made by its
//!   runtime plugin through the optional `networks` interface;
//! - the host loads one nftables table per project, `inet alca-<12 hex>`,
//!   whose chains match that bridge by name ([`rules`]), from a file in
//!   [`RULES_DIR`]; a systemd unit loads the same files at boot, before the
//!   engines start their `unless-stopped` containers;
//! - `nft` (and, when alca is not root, `sudo`) is spawned through the same
//!   checked path as a plugin's commands, against the written grant
//!   `grant.toml` (`alca plugin info firewall`).

#[cfg(target_os = "linux")]
mod netlink;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::plugin::broker::{Broker, OutputMode, SpawnError, SpawnRequest};
use crate::plugin::manifest::Manifest;

pub use rules::Ruleset;

/// Where the rule files live, one per project: `alca-<12 hex>.nft`.
pub const RULES_DIR: &str = "/etc/alca/nftables.d";
/// What the boot unit loads: every rule file.
pub const BOOT_CONF: &str = "/etc/alca/nftables.conf";
pub const UNIT: &str = "/etc/systemd/system/alca-nftables.service";
const UNIT_LINK: &str = "/etc/systemd/system/multi-user.target.wants/alca-nftables.service";

/// The firewall's grant, as shipped.
pub const GRANT: &str = include_str!("grant.toml");

/// How long one firewall command may take.
const BUDGET: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FirewallError {
    pub message: String,
    pub hint: String,
}

fn fail(message: impl Into<String>, hint: impl Into<String>) -> FirewallError {
    FirewallError { message: message.into(), hint: hint.into() }
}

/// The way out that always exists, for hints.
pub const OPT_OUT: &str =
    "to run this project without isolation instead, say so in .alca.toml: [network] lan-access = [\"*\"]";

/// Whether the project gets a network of its own and firewall rules:
/// always, unless `lan-access` holds `*` and there is no proxy.
pub fn wanted(config: &crate::config::Config) -> bool {
    !config.network.allows_all() || config.network.proxy.is_some()
}

/// The host-side bridge name alca asks for: at most 15 characters.
pub fn interface_name(container_name: &str) -> String {
    container_name.chars().take(15).collect()
}

/// The parsed grant.
pub fn manifest() -> Manifest {
    Manifest::parse(GRANT, "alca's firewall (core/src/netiso/grant.toml)").expect("the firewall's grant parses")
}

/// What `nft -j list table` says about a project's table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TableStatus {
    /// Connection attempts refused since the rules were loaded.
    pub refused: u64,
    /// The most recently refused destinations, newest first
    /// (`10.0.0.2:8080/tcp`, `[fd00::1]:22/tcp`, `10.0.0.2/icmp`).
    pub recent: Vec<String>,
}

pub struct Firewall {
    broker: Broker,
    /// Not root: every command goes through `sudo -n`.
    sudo: bool,
}

impl Default for Firewall {
    fn default() -> Firewall {
        Firewall::new()
    }
}

impl Firewall {
    /// The firewall with alca's environment (where `nft` and `sudo` are
    /// looked up), spawning as root directly or else through `sudo -n`.
    pub fn new() -> Firewall {
        Firewall { broker: Broker::new(Arc::new(manifest())), sudo: !rustix::process::geteuid().is_root() }
    }

    /// Whether isolation can be applied here at all; the reason if not.
    pub fn preflight(&self) -> Result<(), FirewallError> {
        if !cfg!(target_os = "linux") {
            return Err(fail(
                format!("alca applies network isolation with nftables on Linux, and this is {}", std::env::consts::OS),
                format!("see docs/security.md for what alca isolates on this platform; {OPT_OUT}"),
            ));
        }
        if self.broker.locate("nft").is_none() {
            return Err(fail(
                "`nft` was not found on PATH",
                format!(
                    "install nftables (Debian/Ubuntu: sudo apt-get install nftables; Fedora: sudo dnf install nftables); {OPT_OUT}"
                ),
            ));
        }
        if self.sudo && self.broker.locate("sudo").is_none() {
            return Err(fail(
                "alca is not running as root and `sudo` was not found; loading firewall rules needs root",
                format!("run alca as root, or install sudo; {OPT_OUT}"),
            ));
        }
        Ok(())
    }

    /// Lets `sudo -n` work for the commands that follow: on a terminal,
    /// `sudo -v` asks for the password there (once; sudo remembers it).
    pub async fn authorize(&self, terminal: bool) -> Result<(), FirewallError> {
        if !self.sudo || !terminal {
            return Ok(());
        }
        let ctx = Default::default();
        let cmd = self.broker.plan("sudo", &["-v".to_string()], &[], &ctx).map_err(|e| spawn_failure("sudo -v", e))?;
        match cmd.run().await {
            Ok(status) if status.success() => Ok(()),
            _ => Err(fail(
                "sudo did not grant the root privileges the firewall rules need",
                format!("run `sudo -v` and try again; {OPT_OUT}"),
            )),
        }
    }

    /// Writes the project's rule file, makes sure the boot unit loads it,
    /// and loads it (replacing the project's table).
    pub async fn apply(&self, ruleset: &Ruleset<'_>) -> Result<(), FirewallError> {
        self.install_boot_unit().await?;
        let file = rule_file(ruleset.table);
        self.write(&file, ruleset.render().as_bytes()).await?;
        let file = file.display().to_string();
        self.nft(&["-f", &file], None).await?;
        Ok(())
    }

    /// Whether the project's table is loaded now with the rules `ruleset`
    /// gives (the file on disk is what was loaded last).
    pub async fn is_current(&self, ruleset: &Ruleset<'_>) -> bool {
        let on_disk = crate::fsutil::read_regular(&rule_file(ruleset.table), 1 << 20, false).ok();
        on_disk.as_deref() == Some(ruleset.render().as_bytes())
            && matches!(self.table(ruleset.table).await, Ok(Some(_)))
    }

    /// Removes a project's table and its file; both may already be gone.
    pub async fn remove(&self, table: &str) -> Result<(), FirewallError> {
        check_table_name(table)?;
        match self.nft(&["delete", "table", "inet", table], None).await {
            Ok(_) => {}
            Err(e) if e.message.contains("No such file or directory") => {}
            Err(e) => return Err(e),
        }
        let file = rule_file(table);
        if file.symlink_metadata().is_ok() {
            if self.sudo {
                self.sudo(&["rm", "-f", &file.display().to_string()], None).await?;
            } else {
                std::fs::remove_file(&file)
                    .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
                    .map_err(|e| fail(format!("cannot remove {}: {e}", file.display()), "remove it by hand"))?;
            }
        }
        Ok(())
    }

    /// The project's table as loaded now; `None` when it is not loaded.
    /// As root it is read over netlink (read-only dump requests, well under
    /// a millisecond, so it is not worth a thread); `nft -j list table` is
    /// the fallback, and the only way through `sudo`.
    pub async fn table(&self, table: &str) -> Result<Option<TableStatus>, FirewallError> {
        check_table_name(table)?;
        #[cfg(target_os = "linux")]
        if !self.sudo {
            let start = std::time::Instant::now();
            match netlink::read_table(table) {
                Ok(status) => {
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    tracing::debug!(plugin = "firewall", "read table inet {table} over netlink in {ms:.1} ms");
                    return Ok(status);
                }
                Err(e) => {
                    tracing::debug!(plugin = "firewall", "reading table inet {table} over netlink: {e}; asking nft")
                }
            }
        }
        match self.nft(&["-j", "list", "table", "inet", table], None).await {
            Ok(out) => Ok(Some(parse_table(&out))),
            Err(e) if e.message.contains("No such file or directory") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Rule files whose project is gone (its directory, its state, or a
    /// state with another project id): their tables are deleted and the
    /// files removed. Returns the tables removed.
    pub async fn sweep_stale(&self) -> Vec<String> {
        let mut removed = Vec::new();
        let Ok(entries) = std::fs::read_dir(RULES_DIR) else { return removed };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(table) = name.strip_suffix(".nft") else { continue };
            if check_table_name(table).is_err() {
                continue;
            }
            let text = crate::fsutil::read_regular(&entry.path(), 1 << 20, false)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if is_stale(&text) && self.remove(table).await.is_ok() {
                tracing::info!("removed stale firewall rules {table}");
                removed.push(table.to_string());
            }
        }
        removed
    }

    async fn install_boot_unit(&self) -> Result<(), FirewallError> {
        let conf = format!(
            "# Loads alca's network isolation rules (one file per project); see {UNIT}.\ninclude \"{RULES_DIR}/*.nft\"\n"
        );
        let nft = self.broker.locate("nft").unwrap_or_else(|| PathBuf::from("/usr/sbin/nft"));
        let unit = format!(
            "# Written by alca: re-loads its network isolation rules at boot, before the\n\
             # container engines restart their containers. Removing it is safe only when no\n\
             # alca container has a restart policy (see docs/security.md).\n\
             [Unit]\n\
             Description=alca network isolation rules (nftables)\n\
             DefaultDependencies=no\n\
             Before=network-pre.target docker.service podman.service podman-restart.service containerd.service\n\
             Wants=network-pre.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             RemainAfterExit=yes\n\
             ExecStart={} -f {BOOT_CONF}\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n",
            nft.display()
        );
        let current = |path: &str, text: &str| {
            crate::fsutil::read_regular(Path::new(path), 1 << 20, false).ok().as_deref() == Some(text.as_bytes())
        };
        if self.sudo {
            self.sudo(&["mkdir", "-p", RULES_DIR], None).await?;
        } else {
            std::fs::create_dir_all(RULES_DIR)
                .map_err(|e| fail(format!("cannot create {RULES_DIR}: {e}"), "alca needs to write there as root"))?;
        }
        if !current(BOOT_CONF, &conf) {
            self.write(Path::new(BOOT_CONF), conf.as_bytes()).await?;
        }
        if Path::new("/etc/systemd/system").is_dir() {
            if !current(UNIT, &unit) {
                self.write(Path::new(UNIT), unit.as_bytes()).await?;
            }
            if std::fs::read_link(UNIT_LINK).ok().as_deref() != Some(Path::new(UNIT)) {
                if self.sudo {
                    self.sudo(&["ln", "-s", "-f", "-n", UNIT, UNIT_LINK], None).await?;
                } else {
                    let _ = std::fs::create_dir_all(Path::new(UNIT_LINK).parent().unwrap_or(Path::new("/")));
                    let _ = std::fs::remove_file(UNIT_LINK);
                    std::os::unix::fs::symlink(UNIT, UNIT_LINK)
                        .map_err(|e| fail(format!("cannot enable {UNIT}: {e}"), "check /etc/systemd/system"))?;
                }
            }
        }
        Ok(())
    }

    async fn write(&self, path: &Path, data: &[u8]) -> Result<(), FirewallError> {
        if self.sudo {
            self.sudo(&["tee", &path.display().to_string()], Some(data.to_vec())).await?;
            return Ok(());
        }
        crate::fsutil::write_atomic(path, data)
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display()), "alca needs to write there as root"))
    }

    async fn nft(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<Vec<u8>, FirewallError> {
        if self.sudo {
            let mut full = vec!["nft"];
            full.extend_from_slice(args);
            return self.sudo(&full, stdin).await;
        }
        self.spawn("nft", args.iter().map(|s| s.to_string()).collect(), stdin).await
    }

    async fn sudo(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<Vec<u8>, FirewallError> {
        let mut full = vec!["-n".to_string(), "--".to_string()];
        full.extend(args.iter().map(|s| s.to_string()));
        self.spawn("sudo", full, stdin).await
    }

    /// One checked spawn; its stdout, or an error with its stderr.
    async fn spawn(&self, program: &str, args: Vec<String>, stdin: Option<Vec<u8>>) -> Result<Vec<u8>, FirewallError> {
        let shown = crate::plugin::grant::render_command(program, &args);
        let req = SpawnRequest {
            program: program.to_string(),
            args,
            env: Vec::new(),
            stdin,
            timeout: None,
            stdout: OutputMode::Capture,
            stderr: OutputMode::Capture,
        };
        let out = self.broker.run(req, BUDGET, &Default::default()).await.map_err(|e| spawn_failure(&shown, e))?;
        if out.0.exit_code == Some(0) {
            return Ok(out.0.stdout);
        }
        let stderr = String::from_utf8_lossy(&out.0.stderr).trim().to_string();
        let hint = if self.sudo && stderr.contains("password") {
            format!("run `sudo -v` first (alca never types a password), or run alca as root; {OPT_OUT}")
        } else {
            format!("see `{shown}`'s message; {OPT_OUT}")
        };
        Err(fail(format!("`{shown}` failed: {}", crate::plugin::text::line(&stderr)), hint))
    }
}

impl From<FirewallError> for crate::Error {
    fn from(e: FirewallError) -> crate::Error {
        crate::Error::Isolation { message: e.message, hint: e.hint }
    }
}

fn spawn_failure(shown: &str, e: SpawnError) -> FirewallError {
    fail(format!("cannot run `{shown}`: {e}"), OPT_OUT)
}

/// Whether any rule file exists (so a sweep has something to look at).
pub fn has_rule_files() -> bool {
    std::fs::read_dir(RULES_DIR).is_ok_and(|mut d| d.next().is_some())
}

pub fn rule_file(table: &str) -> PathBuf {
    Path::new(RULES_DIR).join(format!("{table}.nft"))
}

/// Tables alca manages are named like its containers: `alca-` and 12 hex
/// digits. Nothing else is ever deleted.
fn check_table_name(table: &str) -> Result<(), FirewallError> {
    let ok = table
        .strip_prefix("alca-")
        .is_some_and(|h| h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    if ok { Ok(()) } else { Err(fail(format!("{table:?} is not an alca table name"), "this is a bug in alca")) }
}

/// Whether a rule file's project is gone (§7.1 of the reference: its
/// directory, its state, or a state of another project).
fn is_stale(text: &str) -> bool {
    let (Some(dir), Some(id)) = (rules::header(text, "project-dir"), rules::header(text, "project-id")) else {
        return true;
    };
    let state = Path::new(dir).join(".alca").join("state.json");
    // Only proof of absence counts: a state alca may not read (another
    // user's project) is not a gone project.
    let bytes = match crate::fsutil::read_regular(&state, 1 << 20, false) {
        Ok(b) => b,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    value.get("project_id").and_then(|v| v.as_str()).is_some_and(|v| v != id)
}

/// Reads the refusal counter and the memory of recent refusals from
/// `nft -j list table`.
fn parse_table(json: &[u8]) -> TableStatus {
    let mut status = TableStatus::default();
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else { return status };
    let Some(items) = value.get("nftables").and_then(|v| v.as_array()) else { return status };
    let mut recent: Vec<(u64, String)> = Vec::new();
    for item in items {
        if let Some(rule) = item.get("rule")
            && rule.get("chain").and_then(|c| c.as_str()) == Some("refuse")
        {
            for expr in rule.get("expr").and_then(|e| e.as_array()).into_iter().flatten() {
                if let Some(n) = expr.pointer("/counter/packets").and_then(|p| p.as_u64()) {
                    status.refused += n;
                }
            }
        }
        if let Some(set) = item.get("set")
            && matches!(set.get("name").and_then(|n| n.as_str()), Some("recent4" | "recent6"))
        {
            let v6 = set.get("name").and_then(|n| n.as_str()) == Some("recent6");
            for elem in set.get("elem").and_then(|e| e.as_array()).into_iter().flatten() {
                let (val, expires) = match elem.get("elem") {
                    Some(e) => (e.get("val"), e.get("expires").and_then(|x| x.as_u64()).unwrap_or(0)),
                    None => (Some(elem), 0),
                };
                let Some(parts) = val.and_then(|v| v.get("concat")).and_then(|c| c.as_array()) else { continue };
                let text = |v: &serde_json::Value| {
                    v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string()))
                };
                let (Some(addr), Some(proto), Some(port)) =
                    (parts.first().and_then(text), parts.get(1).and_then(text), parts.get(2).and_then(text))
                else {
                    continue;
                };
                let host = if v6 { format!("[{addr}]") } else { addr };
                let shown = match proto.as_str() {
                    "tcp" | "udp" | "sctp" | "dccp" => format!("{host}:{port}/{proto}"),
                    _ => format!("{}/{proto}", host.trim_start_matches('[').trim_end_matches(']')),
                };
                recent.push((expires, shown));
            }
        }
    }
    // The newest refusal has the most time left before it expires.
    recent.sort_by_key(|r| std::cmp::Reverse(r.0));
    status.recent = recent.into_iter().map(|(_, s)| s).take(5).collect();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_parses_and_allows_what_the_firewall_runs() {
        let m = manifest();
        let ctx = Default::default();
        let check = |program: &str, args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            crate::plugin::grant::check(&m, program, &args, &[], crate::plugin::grant::Use::Spawn, &ctx).map(|_| ())
        };
        let ok = [
            ("nft", vec!["-f", "/etc/alca/nftables.d/alca-0123456789ab.nft"]),
            ("nft", vec!["-j", "list", "table", "inet", "alca-0123456789ab"]),
            ("nft", vec!["delete", "table", "inet", "alca-0123456789ab"]),
            ("sudo", vec!["-n", "--", "nft", "-f", "/etc/alca/nftables.d/alca-0123456789ab.nft"]),
            ("sudo", vec!["-n", "--", "tee", "/etc/alca/nftables.d/alca-0123456789ab.nft"]),
            ("sudo", vec!["-n", "--", "tee", BOOT_CONF]),
            ("sudo", vec!["-n", "--", "tee", UNIT]),
            ("sudo", vec!["-n", "--", "ln", "-s", "-f", "-n", UNIT, UNIT_LINK]),
            ("sudo", vec!["-n", "--", "rm", "-f", "/etc/alca/nftables.d/alca-0123456789ab.nft"]),
            ("sudo", vec!["-n", "--", "mkdir", "-p", RULES_DIR]),
        ];
        for (p, a) in &ok {
            assert!(check(p, a).is_ok(), "{p} {a:?}: {:?}", check(p, a).err().map(|d| d.for_plugin()));
        }
        let refused = [
            ("nft", vec!["flush", "ruleset"]),
            ("nft", vec!["-f", "/tmp/x.nft"]),
            ("nft", vec!["-f", "/etc/alca/nftables.d/../../shadow"]),
            ("nft", vec!["delete", "table", "inet", "filter"]),
            ("nft", vec!["delete", "table", "ip", "alca-0123456789ab"]),
            ("nft", vec!["-f", "-"]),
            ("nft", vec!["list", "table", "inet", "alca-1", "-f", "/etc/passwd"]),
            ("sudo", vec!["-n", "--", "sh", "-c", "id"]),
            ("sudo", vec!["-n", "--", "tee", "/etc/sudoers"]),
            ("sudo", vec!["-n", "--", "tee", "-a", "/etc/alca/nftables.d/x.nft"]),
            ("sudo", vec!["-n", "--", "rm", "-rf", "/"]),
            ("sudo", vec!["-n", "--", "ln", "-s", "-f", "-n", "/bin/sh", UNIT_LINK]),
            ("sudo", vec!["nft", "flush", "ruleset"]),
            ("sh", vec!["-c", "nft flush ruleset"]),
        ];
        for (p, a) in &refused {
            assert!(check(p, a).is_err(), "{p} {a:?} must be refused");
        }
    }

    #[test]
    fn only_alca_tables_are_touched() {
        assert!(check_table_name("alca-0123456789ab").is_ok());
        for bad in ["filter", "alca-", "alca-0123456789abc", "alca-0123456789AB", "alca-../../x", "nat"] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stale_files_are_those_whose_project_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(project.join(".alca")).unwrap();
        let header = |id: &str| format!("# project-dir: {}\n# project-id: {id}\n", project.display());
        assert!(is_stale("table inet alca-x {}"), "no header");
        assert!(is_stale(&header("a")), "no state");
        std::fs::write(project.join(".alca/state.json"), r#"{"project_id":"a"}"#).unwrap();
        assert!(!is_stale(&header("a")));
        assert!(is_stale(&header("b")), "another project in that directory");
        std::fs::write(project.join(".alca/state.json"), "not json").unwrap();
        assert!(!is_stale(&header("a")), "an unreadable state is not proof the project is gone");
        std::fs::remove_file(project.join(".alca/state.json")).unwrap();
        std::fs::create_dir(project.join(".alca/state.json")).unwrap();
        assert!(!is_stale(&header("a")), "neither is a state alca cannot read");
    }

    #[test]
    fn refusals_are_read_from_the_table() {
        let json = br#"{"nftables":[{"metainfo":{}},
          {"set":{"family":"inet","name":"recent4","table":"alca-0123456789ab","type":["ipv4_addr","inet_proto","inet_service"],
            "elem":[{"elem":{"val":{"concat":["10.213.7.2","tcp",8081]},"timeout":86400,"expires":86000}},
                    {"elem":{"val":{"concat":["192.168.1.1","udp",53]},"timeout":86400,"expires":86390}},
                    {"elem":{"val":{"concat":["10.0.0.9","icmp",0]},"timeout":86400,"expires":100}}]}},
          {"set":{"family":"inet","name":"recent6","table":"alca-0123456789ab","elem":[{"elem":{"val":{"concat":["fd00::1","tcp",22]},"expires":86200}}]}},
          {"rule":{"chain":"refuse","expr":[{"counter":{"packets":4,"bytes":240}},{"reject":{"type":"icmpx","expr":"admin-prohibited"}}]}},
          {"rule":{"chain":"outbound","expr":[{"counter":{"packets":99,"bytes":1}}]}}]}"#;
        let s = parse_table(json);
        assert_eq!(s.refused, 4);
        assert_eq!(s.recent, ["192.168.1.1:53/udp", "[fd00::1]:22/tcp", "10.213.7.2:8081/tcp", "10.0.0.9/icmp"]);
        assert_eq!(parse_table(b"garbage"), TableStatus::default());
    }

    /// The rendered rules load into this kernel (`nft -c` checks without
    /// applying). Needs root and nft, which CI has.
    #[test]
    fn the_rules_are_valid_nftables() {
        use crate::config::network::{LanTarget, ProxyAddr, parse_rule};
        if !rustix::process::geteuid().is_root() || which::which("nft").is_err() {
            eprintln!("SKIPPED: needs root and nft");
            return;
        }
        let allow: Vec<_> =
            ["10.213.7.2:8080", "udp://10.0.0.1:53", "*://192.168.0.0/16:443", "10.0.0.0/8", "[fd00::1]:22", "fe80::1"]
                .iter()
                .map(|t| match parse_rule(t).unwrap() {
                    LanTarget::Rule(r) => r,
                    LanTarget::All => unreachable!(),
                })
                .collect();
        let subnets = ["10.89.3.0/24".to_string()];
        let mut set = Ruleset {
            table: "alca-0123456789ab",
            interface: "alca-0123456789",
            project_dir: "/p",
            project_id: "x",
            isolate: true,
            allow: &allow,
            proxy: Some(ProxyAddr { ip: "10.213.7.2".parse().unwrap(), port: 3128 }),
            subnets: &subnets,
        };
        for isolate in [true, false] {
            set.isolate = isolate;
            let text = set.render();
            let out = std::process::Command::new("nft")
                .args(["-c", "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(text.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            assert!(out.status.success(), "{}\n{text}", String::from_utf8_lossy(&out.stderr));
        }
    }
}
