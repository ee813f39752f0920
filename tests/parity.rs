//! Parity with the reference tool (Alcatraz, ../shared/reference/alcatraz-behaviour.md)
//! end to end: every configuration field with a visible effect and every
//! command, run by the real `alca` binary against the real Docker and
//! Podman engines. The assertions look at what the ENGINE created
//! (`container inspect`) and at what happens inside the container
//! (`alca run ...`), not only at what alca prints.
//!
//! Every scenario is a function taking the engine, with an `_on_docker`
//! and an `_on_podman` test calling it.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Run, TestEnv, engine_out, require_engine, test_image};

// ---------------------------------------------------------------------------
// Helpers

/// `image` and `runtime` (pinning the engine), then `rest`.
fn config(engine: &str, rest: &str) -> String {
    format!("image = \"{}\"\nruntime = \"{engine}\"\n{rest}", test_image())
}

/// Removes every container made for the project, whatever happened to the
/// test (TestEnv's own `alca down` needs a loadable configuration and a
/// state alca understands; this does not).
struct Sweep {
    engine: String,
    project: PathBuf,
}

impl Sweep {
    fn new(engine: &str, env: &TestEnv) -> Sweep {
        Sweep { engine: engine.to_string(), project: env.project.clone() }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        for id in containers_of(&self.engine, &self.project) {
            let mut rm = Command::new(&self.engine);
            rm.arg("rm").arg("-f");
            if self.engine == "podman" {
                rm.args(["-t", "0"]);
            }
            let _ = rm.arg(&id).output();
        }
    }
}

/// Ids of the containers (running or not) labelled with `project` as their
/// project path.
fn containers_of(engine: &str, project: &Path) -> Vec<String> {
    let filter = format!("label=alca.project.path={}", project.display());
    let out = Command::new(engine).args(["ps", "-a", "-q", "--no-trunc", "--filter", &filter]).output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// The project's one container, as the engine sees it.
fn the_container(engine: &str, env: &TestEnv) -> String {
    let ids = containers_of(engine, &env.project);
    assert_eq!(ids.len(), 1, "expected exactly one container for the project, found {ids:?}");
    ids[0].clone()
}

/// `<engine> container inspect <id>`, the one object.
fn inspect(engine: &str, id: &str) -> Value {
    let out = engine_out(engine, &["container", "inspect", id]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("inspect is not JSON ({e}): {out}"));
    v[0].clone()
}

fn exists(engine: &str, id: &str) -> bool {
    Command::new(engine).args(["container", "inspect", id]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Two container ids name the same container (one may be abbreviated).
fn same_id(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// `alca run <args>` must succeed; its stdout.
fn run_out(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    env.ok(&all).stdout
}

/// `alca run sh -c <script>`.
fn sh(env: &TestEnv, script: &str) -> Run {
    env.run(&["run", "sh", "-c", script])
}

/// Destination → (source, writable) of the container's mounts.
fn mounts(c: &Value) -> Vec<(String, String, bool)> {
    c["Mounts"]
        .as_array()
        .expect("Mounts")
        .iter()
        .map(|m| {
            (
                m["Destination"].as_str().unwrap_or_default().to_string(),
                m["Source"].as_str().unwrap_or_default().to_string(),
                m["RW"].as_bool().expect("RW"),
            )
        })
        .collect()
}

fn mount_at<'a>(all: &'a [(String, String, bool)], target: &str) -> &'a (String, String, bool) {
    let found: Vec<_> = all.iter().filter(|m| m.0 == target).collect();
    assert_eq!(found.len(), 1, "expected one mount at {target}, got {all:?}");
    found[0]
}

/// The container's environment as NAME=VALUE strings.
fn env_list(c: &Value) -> Vec<String> {
    c["Config"]["Env"].as_array().expect("Config.Env").iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind").local_addr().unwrap().port()
}

/// GETs `path` from 127.0.0.1:`port` until the answer contains `want`
/// (the listener and the engine's forwarding may take a moment).
fn http_get_until(port: u16, path: &str, want: &str) -> String {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(15) {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes());
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.contains(want) {
                return buf;
            }
            last = buf;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("127.0.0.1:{port}{path} never answered with {want:?}; last answer: {last:?}");
}

/// The effective capability mask of a process in the container.
fn cap_eff(env: &TestEnv) -> u64 {
    let status = run_out(env, &["cat", "/proc/self/status"]);
    let line = status.lines().find(|l| l.starts_with("CapEff:")).expect("CapEff line");
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).expect("hex mask")
}

/// Capability numbers (linux/capability.h).
fn cap_bit(name: &str) -> u64 {
    let n = match name {
        "CHOWN" => 0,
        "DAC_OVERRIDE" => 1,
        "FOWNER" => 3,
        "KILL" => 5,
        "SETGID" => 6,
        "SETUID" => 7,
        "NET_RAW" => 13,
        "SYS_CHROOT" => 18,
        other => panic!("no bit for {other}"),
    };
    1 << n
}

const DEFAULT_CAPS: [&str; 6] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID"];

fn mask(names: &[&str]) -> u64 {
    names.iter().map(|n| cap_bit(n)).fold(0, |a, b| a | b)
}

/// A list of capability names from inspect, without `CAP_`, sorted.
fn cap_names(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().trim_start_matches("CAP_").to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The `drift` array of a status or up report, as field names; every entry
/// must be a `{field, old, new}` object.
fn drift_fields(report: &Value) -> Vec<String> {
    let drift = report["drift"].as_array().unwrap_or_else(|| panic!("no `drift` array in {report}"));
    drift
        .iter()
        .map(|d| {
            assert!(
                d.is_object() && d.get("field").is_some() && d.get("old").is_some() && d.get("new").is_some(),
                "a drift entry is not a {{field, old, new}} object: {d} (in {report})"
            );
            d["field"].as_str().unwrap_or_else(|| panic!("field is not a string: {d}")).to_string()
        })
        .collect()
}

fn drift_entry<'a>(report: &'a Value, field: &str) -> &'a Value {
    report["drift"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["field"] == field))
        .unwrap_or_else(|| panic!("no drift entry for {field} in {report}"))
}

/// A drift value as text, whether alca reports it as a string or not.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `<repository>:<tag>` of the test image, with another tag.
fn image_with_tag(tag: &str) -> String {
    let image = test_image();
    let repo = match image.rsplit_once(':') {
        Some((repo, t)) if !t.contains('/') => repo.to_string(),
        _ => image,
    };
    format!("{repo}:{tag}")
}

/// A second tag of the test image, removed when dropped.
struct Tag {
    engine: String,
    name: String,
}

impl Tag {
    fn new(engine: &str, name: String) -> Tag {
        engine_out(engine, &["tag", &test_image(), &name]);
        Tag { engine: engine.into(), name }
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        // `podman untag <image>` alone would remove every name of the image.
        let args: &[&str] =
            if self.engine == "podman" { &["untag", &self.name, &self.name] } else { &["rmi", &self.name] };
        let _ = Command::new(&self.engine).args(args).output();
    }
}

// ---------------------------------------------------------------------------
// 1. Mounts persist across down/up; string and object forms; relative, `~`
//    and `$VAR` sources.

fn mount_persistence(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let mut env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    let vars = env.root.join("var-sources");
    env.set_env("PARITY_MOUNTS", &vars.display().to_string());
    // Sources outside the project must exist (alca creates only those inside it).
    for d in [env.home.join("hs"), env.home.join("ho"), vars.join("vs"), vars.join("vo")] {
        std::fs::create_dir_all(d).unwrap();
    }
    env.write_config(&config(
        engine,
        r#"mounts = [
  "data:/data",
  { source = "objdata", target = "/objdata" },
  "~/hs:/hs",
  { source = "~/ho", target = "/ho" },
  "$PARITY_MOUNTS/vs:/vs",
  { source = "${PARITY_MOUNTS}/vo", target = "/vo" },
]
"#,
    ));
    env.ok(&["up"]);
    let first = the_container(engine, &env);

    // The engine mounts what the sources name.
    let c = inspect(engine, &first);
    let all = mounts(&c);
    let expect = [
        ("/workspace", env.project.clone()),
        ("/data", env.project.join("data")),
        ("/objdata", env.project.join("objdata")),
        ("/hs", env.home.join("hs")),
        ("/ho", env.home.join("ho")),
        ("/vs", vars.join("vs")),
        ("/vo", vars.join("vo")),
    ];
    for (target, source) in &expect {
        let m = mount_at(&all, target);
        assert_eq!(Path::new(&m.1), source.as_path(), "source of {target}: {all:?}");
        assert!(m.2, "{target} is writable: {all:?}");
    }

    // The container writes; the files land in the sources on the host.
    env.ok(&[
        "run",
        "sh",
        "-c",
        "for d in /workspace /data /objdata /hs /ho /vs /vo; do echo \"kept in $d\" > $d/persist.txt; done",
    ]);
    for (target, source) in &expect {
        assert_eq!(
            std::fs::read_to_string(source.join("persist.txt")).unwrap(),
            format!("kept in {target}\n"),
            "{target} is {}",
            source.display()
        );
    }

    // down removes the container; up makes a new one that sees the files.
    env.ok(&["down"]);
    assert!(containers_of(engine, &env.project).is_empty(), "down removed the container");
    env.ok(&["up"]);
    let second = the_container(engine, &env);
    assert_ne!(first, second, "a new container after down/up");
    let r =
        run_out(&env, &["sh", "-c", "for d in /workspace /data /objdata /hs /ho /vs /vo; do cat $d/persist.txt; done"]);
    let want: String = expect.iter().map(|(t, _)| format!("kept in {t}\n")).collect();
    assert_eq!(r, want);
    env.ok(&["down"]);
}

#[test]
fn mount_persistence_on_docker() {
    mount_persistence("docker");
}

#[test]
fn mount_persistence_on_podman() {
    mount_persistence("podman");
}

// ---------------------------------------------------------------------------
// 2. Read-only mounts are read-only.

fn readonly_mounts(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    std::fs::create_dir_all(env.project.join("x")).unwrap();
    std::fs::write(env.project.join("x/f"), "original\n").unwrap();
    env.write_config(&config(
        engine,
        "mounts = [\"x:/ro:ro\", { source = \"x\", target = \"/ro2\", readonly = true }, \"w:/rw\"]\n",
    ));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    let all = mounts(&c);
    assert!(!mount_at(&all, "/ro").2, "/ro is RW=false: {all:?}");
    assert!(!mount_at(&all, "/ro2").2, "/ro2 is RW=false: {all:?}");
    assert!(mount_at(&all, "/rw").2, "/rw is writable: {all:?}");
    assert!(mount_at(&all, "/workspace").2, "the workdir is writable: {all:?}");

    // Root in the container (with DAC_OVERRIDE) still cannot write.
    for target in ["/ro", "/ro2"] {
        for script in
            [format!("echo changed > {target}/f"), format!("echo new > {target}/new"), format!("rm {target}/f")]
        {
            let r = sh(&env, &script);
            assert_ne!(r.code, Some(0), "`{script}` must fail on a read-only mount:\n{r}");
        }
        assert_eq!(run_out(&env, &["cat", &format!("{target}/f")]), "original\n", "{target} is readable");
    }
    assert_eq!(std::fs::read_to_string(env.project.join("x/f")).unwrap(), "original\n");
    assert!(!env.project.join("x/new").exists());
    env.ok(&["run", "sh", "-c", "echo written > /rw/f"]);
    assert_eq!(std::fs::read_to_string(env.project.join("w/f")).unwrap(), "written\n");
    env.ok(&["down"]);
}

#[test]
fn readonly_mounts_on_docker() {
    readonly_mounts("docker");
}

#[test]
fn readonly_mounts_on_podman() {
    readonly_mounts("podman");
}

// ---------------------------------------------------------------------------
// 3. Published ports, string and object forms, reachable from the host.

fn ports_published(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    let (p1, p2) = (free_port(), free_port());
    assert_ne!(p1, p2);
    env.write_config(&config(
        engine,
        &format!(
            "[network]\nports = [\"127.0.0.1:{p1}:8080\", {{ port = 8081, hostPort = {p2}, hostIp = \"127.0.0.1\" }}]\n"
        ),
    ));
    for (dir, body) in [("www1", "served on 8080"), ("www2", "served on 8081")] {
        std::fs::create_dir_all(env.project.join(dir)).unwrap();
        std::fs::write(env.project.join(dir).join("index.html"), format!("{body}\n")).unwrap();
    }
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    let bindings = &c["HostConfig"]["PortBindings"];
    for (port, host_port) in [("8080/tcp", p1), ("8081/tcp", p2)] {
        let b = &bindings[port];
        assert_eq!(b.as_array().map(Vec::len), Some(1), "{port}: {bindings}");
        assert_eq!(b[0]["HostIp"], "127.0.0.1", "{port}: {bindings}");
        assert_eq!(b[0]["HostPort"], host_port.to_string(), "{port}: {bindings}");
    }
    assert_eq!(bindings.as_object().map(|o| o.len()), Some(2), "only the configured ports: {bindings}");

    // Listeners in the container (busybox httpd daemonizes), reached from the host.
    env.ok(&[
        "run",
        "sh",
        "-c",
        "busybox httpd -p 8080 -h /workspace/www1 && busybox httpd -p 8081 -h /workspace/www2",
    ]);
    let r = http_get_until(p1, "/index.html", "served on 8080");
    assert!(r.starts_with("HTTP/1."), "{r}");
    http_get_until(p2, "/index.html", "served on 8081");
    env.ok(&["down"]);
}

#[test]
fn ports_published_on_docker() {
    ports_published("docker");
}

#[test]
fn ports_published_on_podman() {
    ports_published("podman");
}

// ---------------------------------------------------------------------------
// 4. Memory and CPU limits.

/// The container's memory limit in bytes and CPU quota as (quota, period),
/// read from its cgroup (v2, else v1).
fn cgroup_limits(env: &TestEnv) -> (String, String) {
    let out = run_out(
        env,
        &[
            "sh",
            "-c",
            "if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max; \
             else cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
             echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); fi",
        ],
    );
    let mut lines = out.lines();
    (lines.next().unwrap_or_default().to_string(), lines.next().unwrap_or_default().to_string())
}

fn resources(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    env.write_config(&config(engine, "[resources]\nmemory = \"256m\"\ncpus = 1\n"));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    assert_eq!(c["HostConfig"]["Memory"], 268435456u64, "{}", c["HostConfig"]);
    assert_eq!(c["HostConfig"]["NanoCpus"], 1_000_000_000u64, "{}", c["HostConfig"]);
    let (memory, cpu) = cgroup_limits(&env);
    assert_eq!(memory, "268435456");
    assert_eq!(cpu, "100000 100000", "one CPU: the quota is the period");
    env.ok(&["down"]);

    // A fractional CPU count is accepted too.
    env.write_config(&config(engine, "[resources]\nmemory = \"256m\"\ncpus = 0.5\n"));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    assert_eq!(c["HostConfig"]["NanoCpus"], 500_000_000u64, "{}", c["HostConfig"]);
    let (_, cpu) = cgroup_limits(&env);
    assert_eq!(cpu, "50000 100000", "half a CPU");
    env.ok(&["down"]);
}

#[test]
fn resources_on_docker() {
    resources("docker");
}

#[test]
fn resources_on_podman() {
    resources("podman");
}

// ---------------------------------------------------------------------------
// 5. Capabilities: defaults, the additive array, full control.

/// What the engine says the container's capabilities are: docker lists
/// `--cap-drop`/`--cap-add` as given; podman lists the effective set.
fn check_caps_inspect(engine: &str, c: &Value, drop: &[&str], add: &[&str], effective: Option<&[&str]>) {
    let h = &c["HostConfig"];
    if engine == "docker" {
        assert_eq!(cap_names(&h["CapDrop"]), sorted(drop), "CapDrop: {h}");
        assert_eq!(cap_names(&h["CapAdd"]), sorted(add), "CapAdd: {h}");
    }
    if engine == "podman"
        && let Some(effective) = effective
    {
        assert_eq!(cap_names(&c["EffectiveCaps"]), sorted(effective), "EffectiveCaps: {}", c["EffectiveCaps"]);
    }
}

/// The engine's own default capability mask (a container run without alca).
fn engine_default_caps(engine: &str) -> u64 {
    let out = engine_out(engine, &["run", "--rm", &test_image(), "cat", "/proc/self/status"]);
    let line = out.lines().find(|l| l.starts_with("CapEff:")).expect("CapEff");
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

fn caps(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);

    // No `caps`: drop ALL, add back the six defaults.
    env.write_config(&config(engine, ""));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    check_caps_inspect(engine, &c, &["ALL"], &DEFAULT_CAPS, Some(&DEFAULT_CAPS));
    assert_eq!(cap_eff(&env), mask(&DEFAULT_CAPS), "CapEff with the default caps");
    env.ok(&["down"]);

    // Additive array: the defaults plus NET_RAW.
    env.write_config(&config(engine, "caps = [\"NET_RAW\"]\n"));
    env.ok(&["up"]);
    let with_raw = [&DEFAULT_CAPS[..], &["NET_RAW"]].concat();
    let c = inspect(engine, &the_container(engine, &env));
    check_caps_inspect(engine, &c, &["ALL"], &with_raw, Some(&with_raw));
    assert_eq!(cap_eff(&env), mask(&with_raw), "CapEff with caps = [\"NET_RAW\"]");
    env.ok(&["down"]);

    // Full control, drop only: the engine's defaults minus those. (Podman's
    // defaults lack NET_RAW; both engines grant SYS_CHROOT.)
    env.write_config(&config(engine, "[caps]\ndrop = [\"NET_RAW\", \"SYS_CHROOT\"]\n"));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    check_caps_inspect(engine, &c, &["NET_RAW", "SYS_CHROOT"], &[], None);
    let defaults = engine_default_caps(engine);
    assert_ne!(
        defaults & cap_bit("SYS_CHROOT"),
        0,
        "the engine grants SYS_CHROOT by default (else this proves nothing)"
    );
    assert_eq!(
        cap_eff(&env),
        defaults & !cap_bit("NET_RAW") & !cap_bit("SYS_CHROOT"),
        "CapEff with [caps] drop = [\"NET_RAW\", \"SYS_CHROOT\"]"
    );
    env.ok(&["down"]);

    // Full control, both lists: exactly what is given.
    env.write_config(&config(engine, "[caps]\ndrop = [\"ALL\"]\nadd = [\"CHOWN\", \"NET_RAW\"]\n"));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    check_caps_inspect(engine, &c, &["ALL"], &["CHOWN", "NET_RAW"], Some(&["CHOWN", "NET_RAW"]));
    assert_eq!(cap_eff(&env), mask(&["CHOWN", "NET_RAW"]), "CapEff with drop ALL, add CHOWN, NET_RAW");
    env.ok(&["down"]);
}

#[test]
fn caps_on_docker() {
    caps("docker");
}

#[test]
fn caps_on_podman() {
    caps("podman");
}

// ---------------------------------------------------------------------------
// 6. Restart policy.

fn restart_policy(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    env.write_config(&config(engine, ""));
    env.ok(&["up"]);
    let c = inspect(engine, &the_container(engine, &env));
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped", "{}", c["HostConfig"]["RestartPolicy"]);
    env.ok(&["down"]);
}

#[test]
fn restart_policy_on_docker() {
    restart_policy("docker");
}

#[test]
fn restart_policy_on_podman() {
    restart_policy("podman");
}

// ---------------------------------------------------------------------------
// 7. `commands.enter` prefixes every `alca run` (args single-quoted).

fn enter_prefix(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    env.write_config(&config(engine, "[commands]\nenter = \"export FOO=bar;\"\n"));
    env.ok(&["up"]);
    assert_eq!(run_out(&env, &["sh", "-c", "echo $FOO"]), "bar\n");
    // Arguments arrive verbatim after the prefix: spaces, both quotes, `$`.
    assert_eq!(
        run_out(&env, &["sh", "-c", "printf '<%s>' \"$@\"", "_", "a  b", "it's", "\"dq\"", "$HOME", "x;y", ""]),
        "<a  b><it's><\"dq\"><$HOME><x;y><>"
    );
    assert_eq!(run_out(&env, &["echo", "two  spaces", "it's"]), "two  spaces it's\n");
    // The exit status of the command is alca's.
    assert_eq!(sh(&env, "exit 5").code, Some(5));

    // Read at each run, not baked in: the object form, changed without a new container.
    let id = the_container(engine, &env);
    env.write_config(&config(engine, "[commands]\nenter = { command = \"export FOO=baz;\" }\n"));
    assert_eq!(run_out(&env, &["sh", "-c", "echo $FOO"]), "baz\n");
    assert_eq!(the_container(engine, &env), id);
    env.ok(&["down"]);
}

#[test]
fn enter_prefix_on_docker() {
    enter_prefix("docker");
}

#[test]
fn enter_prefix_on_podman() {
    enter_prefix("podman");
}

// ---------------------------------------------------------------------------
// 8. `envs`: `${VAR}` from alca's environment; `override_on_enter`.

fn envs_override_on_enter(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    env.write_config(&config(
        engine,
        "[envs]\nA = { value = \"${HOSTVAR}\", override_on_enter = true }\nB = \"${HOSTVAR}\"\nLIT = \"a literal $HOME\"\n",
    ));
    let mut up = env.alca(&["up"]);
    up.env("HOSTVAR", "at-creation");
    let r = Run::of(up);
    assert_eq!(r.code, Some(0), "{r}");

    let c = inspect(engine, &the_container(engine, &env));
    let vars = env_list(&c);
    for want in ["A=at-creation", "B=at-creation", "LIT=a literal $HOME"] {
        assert!(vars.iter().any(|v| v == want), "{want} in the container's env: {vars:?}");
    }

    let show = |hostvar: Option<&str>| {
        let mut cmd = env.alca(&["run", "sh", "-c", "echo \"$A|$B|$LIT\""]);
        match hostvar {
            Some(v) => cmd.env("HOSTVAR", v),
            None => cmd.env_remove("HOSTVAR"),
        };
        let r = Run::of(cmd);
        assert_eq!(r.code, Some(0), "{r}");
        r.stdout
    };
    assert_eq!(show(Some("at-run")), "at-run|at-creation|a literal $HOME\n", "A follows the host, B does not");
    // Unset (or empty) on the host: not passed, so the creation-time value stays (§2.3.8).
    assert_eq!(show(None), "at-creation|at-creation|a literal $HOME\n");
    env.ok(&["down"]);
}

#[test]
fn envs_override_on_enter_on_docker() {
    envs_override_on_enter("docker");
}

#[test]
fn envs_override_on_enter_on_podman() {
    envs_override_on_enter("podman");
}

// ---------------------------------------------------------------------------
// 9. Hooks run on the host, in the project root, with the reference's
//    failure semantics.

fn hooks(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    let sub = env.project.join("nested/dir");
    std::fs::create_dir_all(&sub).unwrap();
    let hooks = |post_up: &str, pre_down: &str| {
        config(engine, &format!("[hooks]\npost_up = '{post_up}'\npre_down = '{pre_down}'\n"))
    };
    // pre_down records whether the container still exists when it runs.
    let pre_down = format!(
        "echo down >> hook.log; {engine} ps -q --filter \"label=alca.project.path=$(pwd)\" | wc -l > predown.count"
    );
    env.write_config(&hooks(
        "echo up >> hook.log; pwd > hook.pwd; cat /proc/sys/kernel/hostname > hook.host",
        &pre_down,
    ));
    let log = || std::fs::read_to_string(env.project.join("hook.log")).unwrap_or_default();

    // The sandbox can write .alca.toml: an unapproved hook does not run
    // without a terminal; `--allow-hooks` approves it.
    let r = env.run(&["up"]);
    assert_ne!(r.code, Some(0), "an unapproved post_up fails up without a terminal:\n{r}");
    assert!(r.stderr.contains("post_up"), "{r}");
    assert_eq!(log(), "", "the unapproved hook did not run");

    env.ok(&["up", "--allow-hooks"]);
    assert_eq!(log(), "up\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(std::fs::read_to_string(env.project.join("hook.host")).unwrap(), host, "post_up runs on the host");
    assert_eq!(
        std::fs::read_to_string(env.project.join("hook.pwd")).unwrap().trim_end(),
        env.project.display().to_string(),
        "post_up runs in the project root"
    );
    let id = the_container(engine, &env);

    // Again, already running, from a subdirectory, approved now: the hook
    // runs again, in the root.
    let r = Run::of(env.alca_in(&sub, &["up"]));
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(log(), "up\nup\n", "post_up runs on every successful up");
    assert!(!sub.join("hook.log").exists(), "the hook ran in the project root, not the cwd");
    assert_eq!(the_container(engine, &env), id);

    // pre_down runs first, while the container still exists.
    env.ok(&["down", "--allow-hooks"]);
    assert_eq!(log(), "up\nup\ndown\n");
    assert_eq!(std::fs::read_to_string(env.project.join("predown.count")).unwrap().trim(), "1");
    assert!(containers_of(engine, &env.project).is_empty());

    // A failing post_up fails up (naming the hook); the container stays.
    env.write_config(&hooks("exit 3", "true"));
    let r = env.run(&["up", "--allow-hooks"]);
    assert_ne!(r.code, Some(0), "a failing post_up fails up:\n{r}");
    assert!(r.stderr.contains("post_up"), "the error names the hook:\n{r}");
    let id = the_container(engine, &env);
    assert_eq!(inspect(engine, &id)["State"]["Running"], true, "the container stays");
    // Hooks are not part of the container: the next up keeps it.
    env.write_config(&hooks("echo again >> hook.log", "exit 4"));
    env.ok(&["up", "--allow-hooks"]);
    assert_eq!(the_container(engine, &env), id);
    assert!(log().ends_with("again\n"));

    // A failing pre_down only warns; down still removes the container.
    let r = env.run(&["down", "--allow-hooks"]);
    assert_eq!(r.code, Some(0), "a failing pre_down does not fail down:\n{r}");
    assert!(r.stderr.contains("pre_down"), "the warning names the hook:\n{r}");
    assert!(!exists(engine, &id), "down removed the container despite the failing hook");
    assert!(containers_of(engine, &env.project).is_empty());

    // An unapproved pre_down does not run, and down still removes the container.
    env.write_config(&hooks("echo again >> hook.log", "echo unapproved >> hook.log"));
    env.ok(&["up"]);
    let id = the_container(engine, &env);
    let r = env.run(&["down"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stderr.contains("pre_down"), "the warning names the hook:\n{r}");
    assert!(!log().contains("unapproved"), "the unapproved hook did not run");
    assert!(!exists(engine, &id));
}

#[test]
fn hooks_on_docker() {
    hooks("docker");
}

#[test]
fn hooks_on_podman() {
    hooks("podman");
}

// ---------------------------------------------------------------------------
// 10. extends / includes: precedence, merge rules, a diamond, a cycle.

fn extends_includes(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let mut env = TestEnv::new();
    let elsewhere = env.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    env.set_env("PARITY_INC", &elsewhere.display().to_string());
    let _sweep = Sweep::new(engine, &env);
    let p = &env.project;
    let (p_base, p_inc) = (free_port(), free_port());
    std::fs::create_dir_all(p.join("shared")).unwrap();
    // Lowest: extended by the main file. Its image does not exist: the
    // main file's wins over it, and an include's over both.
    std::fs::write(
        p.join("shared/.alca.base.toml"),
        format!(
            "extends = [\"./deeper.toml\"]\n\
             image = \"parity-no-such-image:base\"\nruntime = \"{engine}\"\nmounts = [\"basedata:/basedata\"]\n\
             [network]\nports = [\"127.0.0.1:{p_base}:8080\"]\n\
             [envs]\nWHO = \"base\"\nMID = \"base\"\nFROM_BASE = \"base\"\n"
        ),
    )
    .unwrap();
    env.write_config(
        "extends = [\"./shared/.alca.base.toml\"]\nincludes = [\"./.alca.*.toml\", \"${PARITY_INC}/extra.toml\"]\n\
         image = \"parity-no-such-image:self\"\nmounts = [\"selfdata:/selfdata\"]\n\
         [envs]\nWHO = \"self\"\nMID = \"self\"\n",
    );
    // Extended by the base: found relative to the base's directory; below it.
    std::fs::write(p.join("shared/deeper.toml"), "[envs]\nDEEP = \"deep\"\nMID = \"deeper\"\nFROM_BASE = \"deeper\"\n")
        .unwrap();
    // The last include (through an environment variable): above the glob's files.
    std::fs::write(elsewhere.join("extra.toml"), "[envs]\nEXTRA = \"extra\"\nONE = \"extra-one\"\n").unwrap();
    // A diamond: both includes extend the same file.
    std::fs::write(p.join("shared/common.toml"), "[envs]\nCOMMON = \"common\"\nWHO = \"common\"\n").unwrap();
    std::fs::write(
        p.join(".alca.one.toml"),
        "extends = [\"./shared/common.toml\"]\nmounts = [\"incdata:/incdata\"]\n[envs]\nONE = \"one\"\n",
    )
    .unwrap();
    std::fs::write(
        p.join(".alca.two.toml"),
        format!(
            "extends = [\"./shared/common.toml\"]\nimage = \"{}\"\n\
             [network]\nports = [\"127.0.0.1:{p_base}:8080\", \"127.0.0.1:{p_inc}:8081\"]\n\
             [envs]\nWHO = \"include\"\n",
            test_image()
        ),
    )
    .unwrap();

    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(0), "extends + includes with a diamond is accepted:\n{r}");
    let id = the_container(engine, &env);
    let c = inspect(engine, &id);
    let image = c["Config"]["Image"].as_str().unwrap();
    assert!(image.ends_with(&test_image()), "the last include's image wins: {image}");

    // envs: extends < self < includes, key by key.
    assert_eq!(
        run_out(&env, &["sh", "-c", "echo \"$WHO $MID $FROM_BASE $DEEP $COMMON $ONE $EXTRA\""]),
        "include self base deep common extra-one extra\n"
    );
    // mounts: appended, each once (the main file is not included again by
    // the glob); a relative source is relative to the file declaring it
    // (alca's documented choice; the reference used the project root).
    let all = mounts(&c);
    for (target, source) in [
        ("/basedata", p.join("shared/basedata")),
        ("/selfdata", p.join("selfdata")),
        ("/incdata", p.join("incdata")),
        ("/workspace", p.clone()),
    ] {
        assert_eq!(Path::new(&mount_at(&all, target).1), source.as_path(), "{all:?}");
    }
    assert_eq!(all.len(), 4, "exactly the workdir and the three mounts: {all:?}");
    // ports: appended, an entry identical to the base's kept once (alca's
    // documented choice, docs/configuration.md; the reference's code
    // replaced the base's list).
    let bindings = &c["HostConfig"]["PortBindings"];
    assert_eq!(bindings.as_object().map(|o| o.len()), Some(2), "{bindings}");
    assert_eq!(bindings["8080/tcp"].as_array().map(Vec::len), Some(1), "{bindings}");
    assert_eq!(bindings["8080/tcp"][0]["HostPort"], p_base.to_string(), "{bindings}");
    assert_eq!(bindings["8081/tcp"][0]["HostPort"], p_inc.to_string(), "{bindings}");
    env.ok(&["down"]);
    assert!(containers_of(engine, p).is_empty());

    // A cycle fails before anything is created, naming the files.
    let cyc = TestEnv::new();
    let _sweep_cyc = Sweep::new(engine, &cyc);
    cyc.write_config(&format!("extends = [\"./a.toml\"]\nimage = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
    std::fs::write(cyc.project.join("a.toml"), "extends = [\"./b.toml\"]\n").unwrap();
    std::fs::write(cyc.project.join("b.toml"), "extends = [\"./a.toml\"]\n").unwrap();
    let r = cyc.run(&["up"]);
    assert_ne!(r.code, Some(0), "a cycle is an error:\n{r}");
    assert!(r.stderr.contains("a.toml") && r.stderr.contains("b.toml"), "the error names the files:\n{r}");
    assert!(r.stderr.to_lowercase().contains("cycl") || r.stderr.to_lowercase().contains("circular"), "{r}");
    assert!(containers_of(engine, &cyc.project).is_empty(), "nothing was created");
}

#[test]
fn extends_includes_on_docker() {
    extends_includes("docker");
}

#[test]
fn extends_includes_on_podman() {
    extends_includes("podman");
}

// ---------------------------------------------------------------------------
// 11. Drift: reported per field, kept without a terminal, rebuilt with -f.

fn drift(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let new_image = image_with_tag(&format!("parity-drift-{}", std::process::id()));
    let _tag = Tag::new(engine, new_image.clone());
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    let write = |image: &str, lit: &str, memory: &str, extra_top: &str, extra: &str| {
        env.write_config(&format!(
            "image = \"{image}\"\nruntime = \"{engine}\"\n{extra_top}\
             [resources]\nmemory = \"{memory}\"\n\
             [envs]\nLIT = \"{lit}\"\nOV = {{ value = \"${{HOSTVAR}}\", override_on_enter = true }}\n{extra}"
        ))
    };
    let base_hooks = "[hooks]\npost_up = \"true\"\n";
    write(&test_image(), "one", "256m", "", base_hooks);
    env.ok(&["up", "--allow-hooks"]);
    let first = the_container(engine, &env);
    let s = env.ok(&["status", "--json"]).json();
    assert_eq!(drift_fields(&s), Vec::<String>::new(), "no drift right after up: {s}");

    // Not drift: hooks, commands.enter, override_on_enter, a ${VAR}'s value.
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\
         [resources]\nmemory = \"256m\"\n\
         [envs]\nLIT = \"one\"\nOV = {{ value = \"${{HOSTVAR}}\", override_on_enter = false }}\n\
         [hooks]\npost_up = \"echo changed > /dev/null\"\npre_down = \"true\"\n\
         [commands]\nenter = \"true;\"\n",
        test_image()
    ));
    let mut st = env.alca(&["status", "--json"]);
    st.env("HOSTVAR", "another value");
    let s = Run::of(st).json();
    assert_eq!(drift_fields(&s), Vec::<String>::new(), "hooks, enter and override_on_enter are not drift: {s}");
    let r = env.ok(&["up", "--allow-hooks"]);
    assert_eq!(the_container(engine, &env), first, "no rebuild without drift:\n{r}");

    // Drift: the image, an env literal, the memory limit.
    write(&new_image, "two", "512m", "", base_hooks);
    let s = env.ok(&["status", "--json"]).json();
    let mut fields = drift_fields(&s);
    fields.sort();
    assert_eq!(fields, ["envs.LIT", "image", "resources.memory"], "{s}");
    let d = drift_entry(&s, "image");
    assert!(text(&d["old"]).ends_with(&test_image()) && text(&d["new"]).ends_with(&new_image), "{d}");
    let d = drift_entry(&s, "envs.LIT");
    assert!(text(&d["old"]).contains("one") && text(&d["new"]).contains("two"), "{d}");
    let d = drift_entry(&s, "resources.memory");
    let (old, new) = (text(&d["old"]), text(&d["new"]));
    assert!(old.contains("256") || old.contains("268435456"), "{d}");
    assert!(new.contains("512") || new.contains("536870912"), "{d}");

    // Without a terminal, up keeps the old container and says so.
    let r = env.ok(&["up", "--allow-hooks"]);
    assert_eq!(the_container(engine, &env), first, "kept without a terminal:\n{r}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.to_lowercase().contains("keep"), "up says it kept the container:\n{r}");
    assert!(all.contains("image") && all.contains("resources.memory"), "up shows the drifted fields:\n{r}");
    assert!(inspect(engine, &first)["Config"]["Image"].as_str().unwrap().ends_with(&test_image()));
    let s = env.ok(&["status", "--json"]).json();
    assert_eq!(drift_fields(&s).len(), 3, "still drifted: {s}");

    // -f rebuilds from the new configuration.
    env.ok(&["up", "-f", "--allow-hooks"]);
    let second = the_container(engine, &env);
    assert_ne!(second, first, "a new container");
    assert!(!exists(engine, &first), "the old one is gone");
    let c = inspect(engine, &second);
    let image = c["Config"]["Image"].as_str().unwrap();
    assert!(image.ends_with(&new_image), "the new image: {image}");
    assert_eq!(c["HostConfig"]["Memory"], 536870912u64);
    assert!(env_list(&c).iter().any(|v| v == "LIT=two"), "{:?}", env_list(&c));
    assert_eq!(run_out(&env, &["sh", "-c", "echo $LIT"]), "two\n");
    let s = env.ok(&["status", "--json"]).json();
    assert_eq!(drift_fields(&s), Vec::<String>::new(), "no drift after the rebuild: {s}");

    // Every other field that shapes the container is drift, named by its key.
    std::fs::create_dir_all(env.project.join("m")).unwrap();
    let port = free_port();
    for (field, top, extra) in [
        ("mounts", "mounts = [\"m:/m\"]\n", ""),
        ("network.ports", "", &*format!("[network]\nports = [\"127.0.0.1:{port}:80\"]\n")),
        ("caps", "caps = [\"NET_RAW\"]\n", ""),
        ("commands.up", "", "[commands]\nup = \"true\"\n"),
        ("workdir", "workdir = \"/elsewhere\"\n", ""),
    ] {
        write(&new_image, "two", "512m", top, &format!("{base_hooks}{extra}"));
        let s = env.ok(&["status", "--json"]).json();
        // Named by the key, or a key inside it (`caps` as `caps.add`).
        let under =
            |f: &String| f == field || f.starts_with(&format!("{field}.")) || f.starts_with(&format!("{field}["));
        let fields = drift_fields(&s);
        assert!(fields.iter().any(under), "{field} is drift: {s}");
        if field != "workdir" {
            assert!(fields.iter().all(under), "only {field}: {s}");
        }
    }
    write(&new_image, "two", "512m", "", base_hooks);
    env.ok(&["down"]);
}

#[test]
fn drift_on_docker() {
    drift("docker");
}

#[test]
fn drift_on_podman() {
    drift("podman");
}

// ---------------------------------------------------------------------------
// 12. Every command from a nested subdirectory.

fn subdirectory(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    env.write_config(&config(engine, ""));
    let sub = env.project.join("a/b/c");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(env.project.join("top.txt"), "at the root\n").unwrap();
    let from_sub = |args: &[&str]| {
        let r = Run::of(env.alca_in(&sub, args));
        assert_eq!(r.code, Some(0), "alca {args:?} from a subdirectory:\n{r}");
        r
    };

    from_sub(&["up"]);
    assert!(env.project.join(".alca/state.json").exists(), "the state is in the project root");
    assert!(!sub.join(".alca").exists(), "no state in the subdirectory");
    let id = the_container(engine, &env);
    let c = inspect(engine, &id);
    assert_eq!(Path::new(&mount_at(&mounts(&c), "/workspace").1), env.project.as_path(), "the root is mounted");

    assert_eq!(from_sub(&["run", "cat", "/workspace/top.txt"]).stdout, "at the root\n");
    assert_eq!(from_sub(&["run", "pwd"]).stdout, "/workspace\n");
    let s = from_sub(&["status", "--json"]).json();
    assert!(same_id(s["container"]["id"].as_str().unwrap_or_default(), &id), "{s}");
    assert_eq!(s["container"]["running"], true, "{s}");
    assert_eq!(Path::new(s["project_root"].as_str().unwrap()), env.project.as_path(), "{s}");

    from_sub(&["down"]);
    assert!(!exists(engine, &id), "down from the subdirectory removed the container");
}

#[test]
fn subdirectory_on_docker() {
    subdirectory("docker");
}

#[test]
fn subdirectory_on_podman() {
    subdirectory("podman");
}

// ---------------------------------------------------------------------------
// 13. `up --json` and `down --json`.

fn json_reports(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    // Hooks and commands.up print to stdout: with --json, stdout must still be
    // the report alone.
    let write = |lit: &str| {
        env.write_config(&config(
            engine,
            &format!(
                "[envs]\nLIT = \"{lit}\"\n[commands]\nup = \"echo setup-output\"\n\
                 [hooks]\npost_up = \"echo post-up-output\"\npre_down = \"echo pre-down-output\"\n"
            ),
        ))
    };
    write("one");
    let up = |args: &[&str]| {
        let r = env.ok(args);
        let v = r.json();
        assert!(v["container_id"].is_string(), "{v}");
        assert!(v["drift"].is_array(), "{v}");
        (v["action"].as_str().unwrap_or_else(|| panic!("no action: {v}")).to_string(), v)
    };

    let (action, v) = up(&["up", "--json", "--allow-hooks"]);
    assert_eq!(action, "created", "{v}");
    let id = the_container(engine, &env);
    assert!(same_id(v["container_id"].as_str().unwrap(), &id), "{v} vs {id}");
    assert_eq!(drift_fields(&v), Vec::<String>::new());

    let (action, v) = up(&["up", "--json", "--allow-hooks"]);
    assert_eq!(action, "already-running", "{v}");
    assert!(same_id(v["container_id"].as_str().unwrap(), &id));

    engine_out(engine, &["stop", "-t", "1", &id]);
    let (action, v) = up(&["up", "--json", "--allow-hooks"]);
    assert_eq!(action, "started", "{v}");
    assert!(same_id(v["container_id"].as_str().unwrap(), &id));

    // Drift without a terminal: kept, and the report lists it.
    write("two");
    let (action, v) = up(&["up", "--json", "--allow-hooks"]);
    assert_eq!(action, "already-running", "{v}");
    assert!(same_id(v["container_id"].as_str().unwrap(), &id));
    assert_eq!(drift_fields(&v), ["envs.LIT"], "{v}");

    let (action, v) = up(&["up", "-f", "--json", "--allow-hooks"]);
    assert_eq!(action, "rebuilt", "{v}");
    let new_id = the_container(engine, &env);
    assert!(!same_id(&new_id, &id));
    assert!(same_id(v["container_id"].as_str().unwrap(), &new_id), "{v} vs {new_id}");

    let r = env.ok(&["down", "--json", "--allow-hooks"]);
    let v = r.json();
    assert!(v.is_object(), "{v}");
    assert!(containers_of(engine, &env.project).is_empty(), "down --json removed the container");
    // Nothing to do is still a JSON answer.
    let v = env.ok(&["down", "--json", "--allow-hooks"]).json();
    assert!(v.is_object(), "{v}");
}

#[test]
fn json_reports_on_docker() {
    json_reports("docker");
}

#[test]
fn json_reports_on_podman() {
    json_reports("podman");
}

// ---------------------------------------------------------------------------
// 14. A project brought up by the Go tool: its state read, its container
//     adopted, `commands.up` not run again.

fn go_state_adoption(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let _sweep = Sweep::new(engine, &env);
    let root = env.project.display().to_string();
    let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid").unwrap().trim().to_string();
    let name = format!("alca-{}", &uuid[..12]);
    let display = if engine == "docker" { "Docker" } else { "Podman" };
    let up_cmd = "echo ran > up-marker";
    env.write_config(&config(engine, &format!("[commands]\nup = \"{up_cmd}\"\n")));

    // The state file as Alcatraz writes it (§3.2: Go field names).
    let state = serde_json::json!({
        "project_id": uuid,
        "container_name": name,
        "created_at": "2026-01-02T03:04:05.123456789Z",
        "runtime": display,
        "config": {
            "Image": test_image(),
            "Workdir": "/workspace",
            "Runtime": engine,
            "Commands": { "up": { "command": up_cmd } },
            "Mounts": [ { "source": ".", "target": "/workspace" } ],
            "Resources": {},
            "Network": {},
            "Caps": { "drop": ["ALL"], "add": DEFAULT_CAPS },
            "Hooks": {}
        }
    });
    std::fs::create_dir_all(env.project.join(".alca")).unwrap();
    std::fs::write(env.project.join(".alca/state.json"), serde_json::to_string_pretty(&state).unwrap()).unwrap();

    // The container as Alcatraz creates it.
    let go_id = engine_out(
        engine,
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &format!("alca.project.id={uuid}"),
            "--label",
            &format!("alca.project.path={root}"),
            "--label",
            "alca.version=1",
            "-w",
            "/workspace",
            "-v",
            &format!("{root}:/workspace"),
            &test_image(),
            "sleep",
            "infinity",
        ],
    )
    .trim()
    .to_string();

    // Alcatraz put its containers on the engine's default network, where
    // alca's firewall cannot isolate them (its network isolation is on by
    // default): `up` refuses to use it as it is, and touches nothing.
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("network isolation cannot be applied") && r.stderr.contains("alca up -f"), "{r}");
    assert_eq!(inspect(engine, &go_id)["State"]["Running"], true, "the Go container is left as it was");
    assert!(!env.project.join("up-marker").exists(), "{r}");
    // A project that opts out of isolation (or `up -f`, which recreates
    // the container on a network of its own) goes on with it.
    env.write_config(&config(engine, &format!("[commands]\nup = \"{up_cmd}\"\n[network]\nlan-access = [\"*\"]\n")));
    let r = env.ok(&["up"]);
    assert_eq!(containers_of(engine, &env.project), std::slice::from_ref(&go_id), "the Go container is adopted:\n{r}");
    assert_eq!(inspect(engine, &go_id)["State"]["Running"], true);
    assert!(!env.project.join("up-marker").exists(), "commands.up is not run again on adoption:\n{r}");
    let s = env.ok(&["status", "--json"]).json();
    // The Go snapshot describes this very configuration: nothing drifted.
    assert_eq!(drift_fields(&s), Vec::<String>::new(), "{s}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(env.project.join(".alca/state.json")).unwrap()).unwrap();
    assert_eq!(state["project_id"], uuid, "the project keeps its id: {state}");

    assert_eq!(run_out(&env, &["cat", "/proc/1/cmdline"]), "sleep\0infinity\0", "alca runs in the Go container");
    env.ok(&["run", "sh", "-c", "echo from alca > adopted.txt"]);
    assert_eq!(std::fs::read_to_string(env.project.join("adopted.txt")).unwrap(), "from alca\n");
    // A second up still keeps it and still does not run commands.up.
    env.ok(&["up"]);
    assert!(!env.project.join("up-marker").exists(), "commands.up is not run on a later up either");
    assert_eq!(containers_of(engine, &env.project), std::slice::from_ref(&go_id));

    // Reports name the container by its engine id, as for any other.
    let s = env.ok(&["status", "--json"]).json();
    assert!(same_id(s["container"]["id"].as_str().unwrap_or_default(), &go_id), "status reports the id: {s}");

    env.ok(&["down"]);
    assert!(!exists(engine, &go_id), "down removes the adopted container");
}

#[test]
fn go_state_adoption_on_docker() {
    go_state_adoption("docker");
}

#[test]
fn go_state_adoption_on_podman() {
    go_state_adoption("podman");
}
