//! Network isolation (issue 10) end to end, on docker and podman, as root.
//!
//! Every byte of test traffic goes to addresses this suite creates: each test
//! builds a network namespace joined to the host by a veth pair, with its own
//! /24 (10.213.<n>.0/24: host end .1, namespace end .2 and .3), and listens
//! inside it on 10.213.<n>.2, ports 8080, 8081 and 3128 (the stand-in proxy),
//! and on the host's own end, 10.213.<n>.1:8082 (the host must be refused
//! too). The listeners record every connection they accept and answer
//! `alca-test <port>`; nothing listens on .3. A connection counts as refused
//! only when the command failed at once with a refusal (not a timeout) and
//! the listener, which accepts everything that reaches it, saw nothing; each
//! test first proves with a plain container (no alca) that the listener is
//! reachable, so a refusal is the isolation's doing and not a broken fixture.
//!
//! Needs `ip` (iproute2) and `nft` (nftables), which scripts/provision.sh
//! installs. The dockerd restart case stops and starts the daemon, so it
//! takes the suite's engine lock exclusively (all other cases share it).

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Run, TestEnv, engine_out, require_engine, test_image};

/// Where alca writes the rules it loads, for the boot-time reload.
const RULES_DIR: &str = "/etc/alca/nftables.d";

/// All cases share the engines; restarting dockerd needs them alone.
static ENGINES: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    ENGINES.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ENGINES.write().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// The fixture: a namespace with listeners, reachable only from this host.

/// Runs a command that must succeed (fixture plumbing).
fn sh(program: &str, args: &[&str]) -> String {
    let out =
        Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); scripts/provision.sh installs iproute2 and nftables")
        });
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command whose failure does not matter (cleanup).
fn quietly(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One accepted connection: the port, and where it came from (for messages).
#[derive(Clone, Debug)]
#[allow(dead_code, reason = "the peer is shown in failure messages")]
struct Seen {
    port: u16,
    peer: IpAddr,
}

/// A network namespace at 10.213.<n>.2 and .3, routed through the host's
/// end of a veth pair at 10.213.<n>.1, with listeners on .2.
struct Lan {
    ns: String,
    host_if: String,
    net: u8,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    listener: Option<JoinHandle<()>>,
}

/// Listeners in the namespace, on 10.213.<n>.2; 3128 stands in for a proxy.
const PORTS: [u16; 3] = [8080, 8081, 3128];
/// A listener on the host itself, on 10.213.<n>.1 (the veth's host end):
/// the container must not reach the host either.
const HOST_PORT: u16 = 8082;

impl Lan {
    /// Builds the namespace for subnet `n` (unique per test, so tests run in
    /// parallel) and starts its listeners. Leftovers of a killed earlier run
    /// with the same `n` are removed first.
    fn new(n: u8) -> Lan {
        let ns = format!("alcatest-net{n}");
        let host_if = format!("alcatn{n}h");
        let ns_if = format!("alcatn{n}n");
        quietly("ip", &["netns", "del", &ns]);
        quietly("ip", &["link", "del", &host_if]);
        let mut lan = Lan {
            ns: ns.clone(),
            host_if: host_if.clone(),
            net: n,
            stop: Arc::new(AtomicBool::new(false)),
            seen: Arc::new(Mutex::new(Vec::new())),
            listener: None,
        };
        let (host_ip, a, b) = (format!("10.213.{n}.1"), format!("10.213.{n}.2/24"), format!("10.213.{n}.3/24"));
        sh("ip", &["netns", "add", &ns]);
        sh("ip", &["link", "add", &host_if, "type", "veth", "peer", "name", &ns_if]);
        sh("ip", &["link", "set", &ns_if, "netns", &ns]);
        sh("ip", &["addr", "add", &format!("{host_ip}/24"), "dev", &host_if]);
        sh("ip", &["link", "set", &host_if, "up"]);
        sh("ip", &["-n", &ns, "addr", "add", &a, "dev", &ns_if]);
        sh("ip", &["-n", &ns, "addr", "add", &b, "dev", &ns_if]);
        sh("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        sh("ip", &["-n", &ns, "link", "set", &ns_if, "up"]);
        sh("ip", &["-n", &ns, "route", "add", "default", "via", &host_ip]);
        lan.listener = Some(lan.listen());
        lan
    }

    /// Starts a thread that binds the host's listener, enters the namespace
    /// (setns applies to the calling thread only), binds the namespace's
    /// listeners there, and serves them all until `stop`.
    fn listen(&self) -> JoinHandle<()> {
        let (ready, ready_rx) = mpsc::channel::<Result<(), String>>();
        let path = format!("/run/netns/{}", self.ns);
        let (host, addr) = (Ipv4Addr::new(10, 213, self.net, 1), Ipv4Addr::new(10, 213, self.net, 2));
        let (stop, seen) = (self.stop.clone(), self.seen.clone());
        let handle = std::thread::spawn(move || {
            let bound = (|| -> Result<Vec<(u16, TcpListener)>, String> {
                let bind = |ip: Ipv4Addr, port: u16| -> Result<(u16, TcpListener), String> {
                    let l = TcpListener::bind((ip, port)).map_err(|e| format!("bind {ip}:{port}: {e}"))?;
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok((port, l))
                };
                let mut listeners = vec![bind(host, HOST_PORT)?];
                let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
                // SAFETY: setns on a namespace fd we own; it changes only
                // this thread's network namespace.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
                }
                for port in PORTS {
                    listeners.push(bind(addr, port)?);
                }
                Ok(listeners)
            })();
            let listeners = match bound {
                Ok(l) => {
                    ready.send(Ok(())).unwrap();
                    l
                }
                Err(e) => {
                    ready.send(Err(e)).unwrap();
                    return;
                }
            };
            while !stop.load(Ordering::Relaxed) {
                let mut idle = true;
                for (port, l) in &listeners {
                    if let Ok((mut conn, peer)) = l.accept() {
                        idle = false;
                        seen.lock().unwrap().push(Seen { port: *port, peer: peer.ip() });
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
                        let _ = conn.write_all(format!("alca-test {port}\n").as_bytes());
                        // Dropped: the client reads the line, then EOF.
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        if let Err(e) = ready_rx.recv().expect("listener thread") {
            panic!("the test listeners could not start: {e}");
        }
        handle
    }

    /// 10.213.<n>.<host>
    fn ip(&self, host: u8) -> String {
        format!("10.213.{}.{host}", self.net)
    }

    /// Connections accepted on `port` so far.
    fn count(&self, port: u16) -> usize {
        self.seen.lock().unwrap().iter().filter(|s| s.port == port).count()
    }

    fn log(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The address of the listener on `port`.
    fn addr_of(&self, port: u16) -> String {
        self.ip(if port == HOST_PORT { 1 } else { 2 })
    }

    /// Proves the fixture: a plain container of `engine` on its default
    /// network, without alca, reaches the listener on `port`.
    fn prove_reachable(&self, engine: &str, port: u16) {
        let before = self.count(port);
        let out = Command::new(engine)
            .args(["run", "--rm", &test_image(), "nc", "-w", "3", &self.addr_of(port), &port.to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("run the engine");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("alca-test {port}")),
            "the fixture is broken: a plain {engine} container (no alca) cannot reach {}:{port}: {}{}",
            self.addr_of(port),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(self.count(port), before + 1, "the listener recorded the control connection");
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.listener.take() {
            let _ = h.join();
        }
        quietly("ip", &["netns", "del", &self.ns]);
        quietly("ip", &["link", "del", &self.host_if]);
    }
}

// ---------------------------------------------------------------------------
// A project under test, and what the engine and the host hold for it.

struct Project {
    env: TestEnv,
    engine: &'static str,
    /// The name `up` gave, kept for the cleanup should the project
    /// directory (and its state) be gone.
    named: std::cell::RefCell<Option<String>>,
}

impl Project {
    /// A project on `engine` whose .alca.toml ends with `extra`.
    fn new(engine: &'static str, extra: &str) -> Project {
        let env = TestEnv::new();
        env.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n{extra}", test_image()));
        Project { env, engine, named: Default::default() }
    }

    /// The container's (and the network's, and the table's) name, once
    /// `up` has written the state.
    fn name(&self) -> Option<String> {
        let read = || -> Option<String> {
            let text = std::fs::read_to_string(self.env.project.join(".alca/state.json")).ok()?;
            let state: Value = serde_json::from_str(&text).ok()?;
            state["container_name"].as_str().map(str::to_string)
        };
        read().or_else(|| self.named.borrow().clone())
    }

    fn up(&self) -> String {
        self.env.ok(&["up"]);
        let name = self.name().expect("up wrote the state");
        *self.named.borrow_mut() = Some(name.clone());
        name
    }

    /// `alca run nc` from inside the container; the listener answers.
    fn connect(&self, ip: &str, port: u16) -> Run {
        Run::within(self.env.alca(&["run", "nc", "-w", "3", ip, &port.to_string()]), Duration::from_secs(60))
    }

    fn network_status(&self) -> Value {
        let status = self.env.ok(&["status", "--json"]).json();
        assert!(status.get("network").is_some(), "`status --json` has no \"network\" object:\n{status:#}");
        status["network"].clone()
    }

    /// Polls the status until `pred` holds (counters may lag a moment).
    fn wait_status(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let n = self.network_status();
            if pred(&n) {
                return n;
            }
            if start.elapsed() > Duration::from_secs(5) {
                panic!("status never showed {what}:\n{n:#}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Project {
    /// `alca down`, then whatever it left: the container, the network, the
    /// table and the rule file (a failed test must not leave rules behind).
    fn drop(&mut self) {
        let Some(name) = self.name() else { return };
        let _ = self.env.alca(&["down"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        remove_leftovers(self.engine, &name);
    }
}

fn remove_leftovers(engine: &str, name: &str) {
    quietly(engine, &["rm", "-f", name]);
    quietly(engine, &["network", "rm", name]);
    for table in tables_of(name) {
        let mut args = vec!["delete", "table"];
        args.extend(table.split_whitespace());
        quietly("nft", &args);
    }
    for file in rule_files_of(name) {
        let _ = std::fs::remove_file(file);
    }
}

/// The 12 hex digits that name a project's container, network and table.
fn hex(name: &str) -> &str {
    name.strip_prefix("alca-").expect("an alca container name")
}

/// `family name` of every nft table whose name holds the project's id.
fn tables_of(name: &str) -> Vec<String> {
    sh("nft", &["list", "tables"])
        .lines()
        .filter_map(|l| l.trim().strip_prefix("table "))
        .filter(|t| t.contains(hex(name)))
        .map(str::to_string)
        .collect()
}

fn rule_files_of(name: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(RULES_DIR) else { return Vec::new() };
    dir.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().contains(hex(name))).collect()
}

fn engine_networks(engine: &str) -> Vec<String> {
    engine_out(engine, &["network", "ls", "--format", "{{.Name}}"]).lines().map(str::to_string).collect()
}

/// The networks the engine attached the container to.
fn container_networks(engine: &str, name: &str) -> Vec<String> {
    let inspect: Value = serde_json::from_str(&engine_out(engine, &["inspect", "--type", "container", name])).unwrap();
    let nets = inspect[0]["NetworkSettings"]["Networks"].as_object().cloned().unwrap_or_default();
    nets.keys().cloned().collect()
}

/// The host interface of the engine's network `name`, from the engine.
fn bridge_of(engine: &str, name: &str) -> String {
    let inspect: Value = serde_json::from_str(&engine_out(engine, &["network", "inspect", name])).unwrap();
    let net = &inspect[0];
    if engine == "podman" {
        return net["network_interface"].as_str().expect("podman network_interface").to_string();
    }
    match net["Options"]["com.docker.network.bridge.name"].as_str() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("br-{}", &net["Id"].as_str().expect("docker network Id")[..12]),
    }
}

/// What `up` must have installed for an isolated project: its own network
/// with the container on it (and only on it), the table matching that
/// network's bridge, and the rule file; and the status saying so.
fn assert_isolated_setup(p: &Project, name: &str) -> Value {
    let engine = p.engine;
    assert!(engine_networks(engine).contains(&name.to_string()), "{engine} has no network {name}");
    assert_eq!(container_networks(engine, name), vec![name.to_string()], "the container is on its own network only");
    let bridge = bridge_of(engine, name);
    assert!(std::path::Path::new("/sys/class/net").join(&bridge).exists(), "no host interface {bridge}");

    assert_eq!(tables_of(name), vec![format!("inet {name}")], "one nft table for the project");
    let table = sh("nft", &["list", "table", "inet", name]);
    assert!(table.contains(&format!("iifname \"{bridge}\"")), "the table matches the bridge {bridge}:\n{table}");
    let file = PathBuf::from(RULES_DIR).join(format!("{name}.nft"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(text.contains(name) && text.contains(&bridge), "{} holds the project's table:\n{text}", file.display());

    let net = p.network_status();
    assert_eq!(net["isolation"], "active", "{net:#}");
    assert_eq!(net["interface"].as_str(), Some(bridge.as_str()), "{net:#}");
    let text = p.env.ok(&["status"]).stdout;
    let line = text.lines().find(|l| l.trim_start().starts_with("Network:")).unwrap_or_else(|| panic!("{text}"));
    assert!(!line.to_lowercase().contains("not isolated"), "{line}");
    net
}

/// After `alca down`: nothing of the project remains anywhere.
fn assert_nothing_left(engine: &str, name: &str) {
    assert_eq!(tables_of(name), Vec::<String>::new(), "nft tables left behind");
    assert_eq!(rule_files_of(name), Vec::<PathBuf>::new(), "rule files left behind in {RULES_DIR}");
    assert!(!engine_networks(engine).contains(&name.to_string()), "{engine} network {name} left behind");
    let left = engine_out(engine, &["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]);
    assert_eq!(left.trim(), "", "container {name} left behind");
}

/// Reached = `nc` printed the answer of the listener on `arrives_at`, which
/// recorded exactly this one connection.
fn reaches(p: &Project, lan: &Lan, ip: &str, port: u16, arrives_at: u16) {
    let before = lan.count(arrives_at);
    let r = p.connect(ip, port);
    assert_eq!(r.code, Some(0), "the connection to {ip}:{port} should go through:\n{r}");
    assert!(r.stdout.contains(&format!("alca-test {arrives_at}")), "answered by the listener on {arrives_at}:\n{r}");
    assert_eq!(lan.count(arrives_at), before + 1, "the listener on {arrives_at} recorded it: {:?}", lan.log());
}

/// Refused = the command failed at once with a refusal (a TCP reset,
/// "Connection refused", or ICMP admin-prohibited, "No route to host"; not
/// a timeout), and the listener, which accepts every connection that
/// reaches it, recorded nothing new: the refusal came from in between.
fn assert_refused(lan: &Lan, r: &Run, port: u16, before: usize) {
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(lan.count(port), before, "the listener on {port} saw the connection: {:?}\n{r}", lan.log());
    assert_ne!(r.code, Some(0), "the connection to port {port} should be refused:\n{r}");
    assert!(
        r.stderr.contains("Connection refused") || r.stderr.contains("No route to host"),
        "refused at once (a reset or ICMP admin-prohibited), not left to time out:\n{r}"
    );
}

fn refused_now(p: &Project, lan: &Lan, port: u16) {
    let before = lan.count(port);
    let r = p.connect(&lan.addr_of(port), port);
    assert_refused(lan, &r, port, before);
}

fn recent_has(net: &Value, dest: &str) -> bool {
    net["recent"].as_array().is_some_and(|a| a.iter().any(|d| d == dest))
}

fn refused_count(net: &Value) -> u64 {
    net["refused"].as_u64().unwrap_or(0)
}

macro_rules! on_both_engines {
    ($case:ident, $net:literal) => {
        mod $case {
            #[test]
            fn docker() {
                super::$case("docker", $net);
            }
            #[test]
            fn podman() {
                super::$case("podman", $net + 1);
            }
        }
    };
}

// ---------------------------------------------------------------------------
// The cases.

/// The fixture alone, without alca: a plain container reaches every
/// listener, and nothing answers on .3 (so the proxy case's success can only
/// come from the redirect).
fn fixture(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    for port in PORTS.into_iter().chain([HOST_PORT]) {
        lan.prove_reachable(engine, port);
    }
    let out = Command::new(engine)
        .args(["run", "--rm", &test_image(), "nc", "-w", "3", &lan.ip(3), "80"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "nothing listens on {}:80", lan.ip(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Connection refused"), "{out:?}");
    assert_eq!(lan.log().len(), PORTS.len() + 1, "one connection per control: {:?}", lan.log());
}
on_both_engines!(fixture, 10);

/// Case 1 and 7: no `[network]` at all isolates; `down` removes it all.
fn default_isolation(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    lan.prove_reachable(engine, 8080);
    lan.prove_reachable(engine, HOST_PORT);
    let p = Project::new(engine, "");
    let name = p.up();
    let net = assert_isolated_setup(&p, &name);
    assert_eq!(net["rules"], serde_json::json!([]), "{net:#}");
    assert!(net["proxy"].is_null(), "{net:#}");
    assert_eq!(refused_count(&net), 0, "nothing refused yet:\n{net:#}");

    // Another machine on the LAN, and the host itself.
    for port in [8080, 8081, HOST_PORT] {
        refused_now(&p, &lan, port);
    }
    let dests: Vec<String> =
        [8080, 8081, HOST_PORT].iter().map(|&port| format!("{}:{port}/tcp", lan.addr_of(port))).collect();
    p.wait_status(&format!("refused >= 3 and {dests:?} in recent"), |n| {
        refused_count(n) >= 3 && dests.iter().all(|d| recent_has(n, d))
    });

    p.env.ok(&["down"]);
    assert_nothing_left(engine, &name);
}
on_both_engines!(default_isolation, 20);

/// Case 2: an allow rule for one address and port lets that through, only.
fn allow_one_port(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    lan.prove_reachable(engine, 8081);
    let rule = format!("{}:8080", lan.ip(2));
    let p = Project::new(engine, &format!("\n[network]\nlan-access = [\"{rule}\"]\n"));
    let name = p.up();
    let net = assert_isolated_setup(&p, &name);
    assert_eq!(net["rules"], serde_json::json!([rule]), "the rules as written:\n{net:#}");

    reaches(&p, &lan, &lan.ip(2), 8080, 8080);
    refused_now(&p, &lan, 8081);
    let dest = format!("{}:8081/tcp", lan.ip(2));
    let net = p.wait_status(&format!("{dest} in recent"), |n| refused_count(n) >= 1 && recent_has(n, &dest));
    assert!(!recent_has(&net, &format!("{}:8080/tcp", lan.ip(2))), "the allowed port is not refused:\n{net:#}");

    p.env.ok(&["down"]);
    assert_nothing_left(engine, &name);
}
on_both_engines!(allow_one_port, 30);

/// Case 3: `["*"]` turns isolation off: the engine's default network, no
/// table, and the status says so.
fn allow_all(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    let p = Project::new(engine, "\n[network]\nlan-access = [\"*\"]\n");
    let name = p.up();
    for port in [8080, 8081] {
        reaches(&p, &lan, &lan.ip(2), port, port);
    }
    let net = p.network_status();
    assert_eq!(net["isolation"], "off", "{net:#}");
    let text = p.env.ok(&["status"]).stdout;
    let line = text.lines().find(|l| l.trim_start().starts_with("Network:")).unwrap_or_else(|| panic!("{text}"));
    let said = line.to_lowercase();
    assert!(said.contains("not isolated") || said.contains("off"), "the Network: line says isolation is off: {line}");

    assert_eq!(tables_of(&name), Vec::<String>::new(), "no table when isolation is off");
    assert!(!engine_networks(engine).contains(&name), "no project network when isolation is off");
    let default_net = if engine == "docker" { "bridge" } else { "podman" };
    assert_eq!(container_networks(engine, &name), vec![default_net.to_string()]);

    p.env.ok(&["down"]);
    assert_nothing_left(engine, &name);
}
on_both_engines!(allow_all, 40);

/// Case 4: the proxy gets every outbound TCP connection, and is allowed.
fn proxy(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    lan.prove_reachable(engine, 3128);
    let proxy = format!("{}:3128", lan.ip(2));
    let p = Project::new(engine, &format!("\n[network]\nproxy = \"{proxy}\"\n"));
    let name = p.up();
    let net = assert_isolated_setup(&p, &name);
    assert_eq!(net["proxy"].as_str(), Some(proxy.as_str()), "{net:#}");

    // Nothing listens on .3: only the redirect can answer.
    reaches(&p, &lan, &lan.ip(3), 80, 3128);
    assert_eq!(lan.count(3128), 2, "the control and the redirected connection: {:?}", lan.log());
    // The proxy itself is allowed through the block.
    reaches(&p, &lan, &lan.ip(2), 3128, 3128);
    // The proxy's host is reachable only at the proxy's port (whether the
    // connection is refused or redirected to the proxy is the design's
    // choice; it must not reach the other listener).
    let r = p.connect(&lan.ip(2), 8081);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(lan.count(8081), 0, "the proxy's host, another port: {:?}\n{r}", lan.log());
    assert!(!r.stdout.contains("alca-test 8081"), "{r}");

    p.env.ok(&["down"]);
    assert_nothing_left(engine, &name);
}
on_both_engines!(proxy, 50);

/// Case 5: restarting the container (its IP may change) keeps it isolated.
fn container_restart(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let lan = Lan::new(n);
    lan.prove_reachable(engine, 8080);
    let p = Project::new(engine, "");
    let name = p.up();
    assert_isolated_setup(&p, &name);
    refused_now(&p, &lan, 8080);

    engine_out(engine, &["restart", "-t", "1", &name]);
    assert_isolated_setup(&p, &name);
    refused_now(&p, &lan, 8080);

    p.env.ok(&["down"]);
    assert_nothing_left(engine, &name);
}
on_both_engines!(container_restart, 60);

/// Case 6 (docker only): dockerd restarts; the container comes back by its
/// restart policy and is still isolated.
#[test]
fn dockerd_restart() {
    if !require_engine("docker") {
        return;
    }
    let _engines = exclusive();
    let lan = Lan::new(70);
    lan.prove_reachable("docker", 8080);
    let p = Project::new("docker", "");
    let name = p.up();
    assert_isolated_setup(&p, &name);
    refused_now(&p, &lan, 8080);

    restart_dockerd();
    let start = Instant::now();
    while engine_out("docker", &["inspect", "-f", "{{.State.Running}}", &name]).trim() != "true" {
        assert!(start.elapsed() < Duration::from_secs(60), "the container did not come back after dockerd restarted");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_isolated_setup(&p, &name);
    refused_now(&p, &lan, 8080);
    lan.prove_reachable("docker", 8080);

    p.env.ok(&["down"]);
    assert_nothing_left("docker", &name);
}

/// Stops dockerd and starts it again: through systemd where it runs the
/// daemon, otherwise with the running daemon's own command line (which
/// scripts/provision.sh started: `nohup dockerd <options> >log 2>&1 &`).
fn restart_dockerd() {
    if quietly("systemctl", &["is-active", "--quiet", "docker"]) {
        sh("systemctl", &["restart", "docker"]);
    } else {
        let (pid, argv) = dockerd_process().expect("no dockerd process to restart");
        // SAFETY: a signal to the daemon's pid, read from /proc just now.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill dockerd");
        let start = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
            assert!(start.elapsed() < Duration::from_secs(60), "dockerd did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open("/var/log/alca-dockerd.log").unwrap();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir("/").stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log);
        // Its own session, like nohup ... &: the daemon outlives the test.
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start dockerd");
        std::mem::forget(child);
    }
    let start = Instant::now();
    while !quietly("docker", &["version"]) {
        assert!(start.elapsed() < Duration::from_secs(60), "dockerd did not come back; see /var/log/alca-dockerd.log");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
        .unwrap_or(true)
}

fn dockerd_process() -> Option<(i32, Vec<String>)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != "dockerd" || is_zombie(pid) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        let argv: Vec<String> =
            cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into()).collect();
        if !argv.is_empty() {
            return Some((pid, argv));
        }
    }
    None
}

/// `alca cleanup` removes an orphan's network, table and rule file with its
/// container (the project directory was deleted, so `down` cannot).
fn cleanup_of_a_deleted_project(engine: &'static str, _n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let p = Project::new(engine, "");
    let name = p.up();
    assert_isolated_setup(&p, &name);
    std::fs::remove_dir_all(&p.env.project).unwrap();
    let other = TestEnv::new();
    other.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
    let r = other.ok(&["cleanup", "--yes"]);
    assert!(r.stderr.contains(&name) || r.stdout.contains(&name), "the orphan is removed:\n{r}");
    assert_nothing_left(engine, &name);
}
on_both_engines!(cleanup_of_a_deleted_project, 90);

/// Case 8: a bad rule is a config error at its position; nothing is created.
fn bad_rule(engine: &'static str, n: u8) {
    if !require_engine(engine) {
        return;
    }
    let _engines = shared();
    let good = format!("\"10.213.{n}.2:8080\"");
    for (list, index) in [
        (format!("[\"10.213.{n}.2:70000\"]"), 0),
        (format!("[{good}, \"10.213.{n}.300\"]"), 1),
        (format!("[{good}, \"[fe80::1\"]"), 1),
        (format!("[\"tcp://[10.213.{n}.2]:80\"]"), 0),
        ("[\"\"]".to_string(), 0),
    ] {
        let line = format!("lan-access = {list}");
        let p = Project::new(engine, &format!("\n[network]\n{line}\n"));
        // The column of the bad element's opening quote (1-based).
        let col = if index == 0 { "lan-access = [".len() + 1 } else { "lan-access = [".len() + good.len() + 3 };
        let r = p.env.run(&["up"]);
        assert_ne!(r.code, Some(0), "{line}: up must fail\n{r}");
        assert!(r.stderr.contains(&format!("lan-access[{index}]")), "{line}: the error names the rule\n{r}");
        assert!(r.stderr.contains(&format!(".alca.toml:5:{col}")), "{line}: the error points at 5:{col}\n{r}");
        assert!(!r.stderr.contains("panicked"), "{r}");
        let label = format!("label=alca.project.path={}", p.env.project.display());
        assert_eq!(engine_out(engine, &["ps", "-a", "-q", "--filter", &label]).trim(), "", "{line}: no container");
        assert_eq!(engine_out(engine, &["network", "ls", "-q", "--filter", &label]).trim(), "", "{line}: no network");
        assert!(!p.env.project.join(".alca/state.json").exists(), "{line}: no state");
        if let Some(name) = p.name() {
            assert_nothing_left(engine, &name);
        }
    }
}
on_both_engines!(bad_rule, 80);
