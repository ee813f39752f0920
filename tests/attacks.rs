//! A hostile plugin holding the built-in docker or podman grant, on the
//! real engines. The rogue plugin (tests/plugins/rogue) is the built-in
//! plugin's own code with an attacker choosing one argv; it is installed
//! with the built-in manifest, unchanged but for its id. Every attack must
//! end with alca refusing (a clear error naming the value that was not in
//! the request), and the test asks the engine what exists afterwards: no
//! container the configuration did not describe, and no change to a
//! container that is not the project's.

mod support;

use std::process::Command;

use serde_json::json;
use support::{Run, TestEnv, engine_out, require_engine, rogue_plugin, test_image};

/// A container the project does not own, made with the engine's own CLI.
struct Victim {
    engine: &'static str,
    name: String,
}

impl Victim {
    fn new(engine: &'static str, tag: &str) -> Victim {
        let name = format!("alca-victim-{tag}-{}", std::process::id());
        let _ = Command::new(engine).args(["rm", "-f", &name]).output();
        engine_out(engine, &["run", "-d", "--name", &name, &test_image(), "sleep", "100000"]);
        Victim { engine, name }
    }

    fn status(&self) -> String {
        engine_out(self.engine, &["container", "inspect", "--format", "{{.State.Status}}", &self.name])
            .trim()
            .to_string()
    }

    fn has_file(&self, path: &str) -> bool {
        Command::new(self.engine).args(["exec", &self.name, "test", "-e", path]).status().unwrap().success()
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = Command::new(self.engine).args(["rm", "-f", &self.name]).output();
    }
}

fn rogue_env(engine: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.install_plugin(&rogue_plugin(engine));
    env.write_config(&format!("image = \"{}\"\nruntime = \"rogue-{engine}\"\n", test_image()));
    env.set_env("ROGUE_ENGINE", engine);
    env
}

/// `alca <args>` with the rogue plugin running `attack`, whatever the outcome.
fn under_attack(env: &TestEnv, attack: &serde_json::Value, args: &[&str]) -> Run {
    let mut cmd = env.alca(args);
    cmd.env("ROGUE_ATTACK", attack.to_string());
    Run::of(cmd)
}

/// `alca status` with the rogue plugin's `detect` running `attack`: the
/// call is refused, and `status`, a report, says no runtime is available
/// and exits 0. Returns the run.
fn status_reports(env: &TestEnv, attack: &serde_json::Value) -> Run {
    let r = under_attack(env, attack, &["status"]);
    assert_eq!(r.code, Some(0), "alca status reports, under attack {attack}\n{r}");
    assert!(!r.stderr.contains("LEAKED") && !r.stdout.contains("LEAKED"), "the attack {attack} got through\n{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    r
}

/// `alca <args>` with the rogue plugin running `attack`; it must fail
/// cleanly, without a leak. Returns the run.
fn attempt(env: &TestEnv, attack: &serde_json::Value, args: &[&str]) -> Run {
    let r = under_attack(env, attack, args);
    assert_eq!(r.code, Some(1), "alca {args:?} must fail under attack {attack}\n{r}");
    assert!(!r.stderr.contains("LEAKED"), "the attack {attack} got through\n{r}");
    assert!(r.stderr.contains("error: "), "one clear error\n{r}");
    r
}

fn project_id(env: &TestEnv) -> String {
    let text = std::fs::read_to_string(env.project.join(".alca/state.json")).expect("state");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["project_id"].as_str().unwrap().to_string()
}

fn project_containers(engine: &str, id: &str) -> Vec<String> {
    let label = format!("label=alca.project.id={id}");
    engine_out(engine, &["ps", "-a", "-q", "--no-trunc", "--filter", &label]).lines().map(String::from).collect()
}

fn inspect(engine: &str, name: &str) -> Option<serde_json::Value> {
    let out = Command::new(engine).args(["container", "inspect", name]).output().unwrap();
    out.status.success().then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone())
}

/// What the legitimate plugin passes (labels alca needs, the project
/// mount, dropped capabilities), with `extra` inserted before `--pull`.
fn create(extra: &[&str]) -> serde_json::Value {
    let mut argv: Vec<String> = [
        "container",
        "create",
        "--name",
        "$NAME",
        "--label",
        "alca.project.id=$PID",
        "--label",
        "alca.project.path=$PROJECT",
        "--volume",
        "$PROJECT:/workspace",
        "--workdir",
        "/workspace",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "--restart",
        "unless-stopped",
        // Network isolation (the default): the project's own network,
        // named like the container.
        "--network",
        "$NAME",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.extend(["--pull=never", "--", "$IMAGE", "$COMMAND..."].map(String::from));
    json!({ "call": "create", "argv": argv })
}

/// Attacks on `create`: each is refused, the refusal names what was not
/// asked for, and the engine holds no container for the project.
fn create_attacks(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let attacks: &[(&[&str], &str)] = &[
        // The argv is read as the engine reads it.
        (&["--label", "--", "--network=host", "--cap-add=ALL"], "`--network host` is denied"),
        (&["--label=--", "--network", "host"], "`--network host` is denied"),
        (&["--label", "--", "--cap-add=SYS_ADMIN"], "label `--` is not one alca asked for"),
        (&["--label=x=y", "--cap-add=SYS_ADMIN"], "label `x=y`"),
        (&["-v/:/host"], "option `-v`"),
        (&["--mount", "type=bind,src=/,dst=/host"], "option `--mount`"),
        // Values compared as the engine compares them.
        (&["--cap-add", "sys_admin"], "capability SYS_ADMIN"),
        (&["--cap-add=cap_sys_ptrace"], "capability SYS_PTRACE"),
        (&["--cap-add=all"], "is denied"),
        (&["--network=container:$TARGET"], "is denied"),
        (&["--network", "HOST"], "is not the network alca asked for"),
        (&["--network=bridge"], "is not the network alca asked for"),
        (&["--network=ns:/proc/1/ns/net"], "is not the network alca asked for"),
        (&["--network=slirp4netns"], "is not the network alca asked for"),
        (&["--network=pasta"], "is not the network alca asked for"),
        (&["--volume=/:/host"], "mount `/:/host` is not one alca asked for"),
        (&["--volume", "$PROJECT/../..:/up"], "normal form"),
        (&["--volume", "$PROJECT/.:/workspace"], "normal form"),
        (&["--volume", "$PROJECT:/workspace:rshared"], "mount option `rshared`"),
        (&["--volume", "$PROJECT:/workspace:ro,suid"], "mount option"),
        (&["--tmpfs", "/run:exec"], "tmpfs `/run:exec`"),
        (&["--publish", "0.0.0.0:2222:22"], "published port"),
        (&["--env", "LD_PRELOAD=/workspace/x.so"], "LD_PRELOAD"),
        (&["--env", "HOME"], "copy the variable"),
        (&["--user", "0"], "did not ask for a user"),
        (&["--entrypoint", "sh"], "entrypoint"),
        (&["--init"], "init process"),
        (&["--restart", "always"], "restart policy"),
        (&["--memory", "1g"], "memory limit"),
        (&["--label", "alca.project.id=someone-else"], "label `alca.project.id=someone-else`"),
        // Options outside the table, however spelled.
        (&["--privileged"], "option `--privileged`"),
        (&["--privileged=false"], "option `--privileged`"),
        (&["--security-opt", "seccomp=unconfined"], "option `--security-opt`"),
        (&["--pid=host"], "option `--pid`"),
        (&["--userns=host"], "option `--userns`"),
        (&["--device", "/dev/null"], "option `--device`"),
        (&["--net=host"], "option `--net`"),
        (&["--runtime", "/workspace/evil"], "option `--runtime`"),
        (&["--pull=always"], "value `always`"),
    ];
    let mut failures = Vec::new();
    for (extra, needle) in attacks {
        let mut env = rogue_env(engine);
        env.set_env("ROGUE_TARGET", &format!("alca-victim-{}", std::process::id()));
        let r = attempt(&env, &create(extra), &["up"]);
        if !r.stderr.contains(needle) {
            failures.push(format!("{extra:?}: expected {needle:?} in:\n{}", r.stderr));
        }
        let id = project_id(&env);
        assert_eq!(project_containers(engine, &id), Vec::<String>::new(), "{engine}: {extra:?} created a container");
    }

    // Leaving out what keeps the container confined is refused too.
    let env = rogue_env(engine);
    let mut attack = create(&[]);
    let argv: Vec<serde_json::Value> = attack["argv"].as_array().unwrap().clone();
    let i = argv.iter().position(|a| a == "--cap-drop").unwrap();
    let without: Vec<serde_json::Value> = argv[..i].iter().chain(&argv[i + 2..]).cloned().collect();
    attack["argv"] = without.into();
    let r = attempt(&env, &attack, &["up"]);
    assert!(r.stderr.contains("drop capability ALL"), "{r}");
    assert!(project_containers(engine, &project_id(&env)).is_empty());

    // Another image, another command, arguments after the image.
    for (from, to, needle) in [
        ("$IMAGE", "docker.io/library/evil:latest", "is not the image"),
        ("$COMMAND...", "--privileged", "command line"),
    ] {
        let env = rogue_env(engine);
        let mut attack = create(&[]);
        let argv: Vec<serde_json::Value> =
            attack["argv"].as_array().unwrap().iter().map(|a| if a == from { json!(to) } else { a.clone() }).collect();
        attack["argv"] = argv.into();
        let r = attempt(&env, &attack, &["up"]);
        assert!(r.stderr.contains(needle), "{r}");
        assert!(project_containers(engine, &project_id(&env)).is_empty());
    }
    // Network isolation: a create that leaves the project's network out
    // (the engine's default bridge, where the firewall does not look).
    let env = rogue_env(engine);
    let mut attack = create(&[]);
    let mut argv: Vec<serde_json::Value> = attack["argv"].as_array().unwrap().clone();
    let at = argv.iter().position(|a| a == "--network").unwrap();
    argv.drain(at..at + 2);
    attack["argv"] = argv.into();
    let r = attempt(&env, &attack, &["up"]);
    assert!(r.stderr.contains("alca asked for its network, and the command does not set it"), "{r}");
    assert!(project_containers(engine, &project_id(&env)).is_empty());

    assert!(failures.is_empty(), "{engine}: refusals that do not name the value:\n{}", failures.join("\n"));
}

#[test]
fn create_attacks_on_docker() {
    create_attacks("docker");
}

#[test]
fn create_attacks_on_podman() {
    create_attacks("podman");
}

/// The same container spelled differently is allowed, and what the engine
/// made of it is exactly what the spec describes.
fn equivalent_spellings(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let env = rogue_env(engine);
    let mut attack = create(&[]);
    let argv: Vec<serde_json::Value> = attack["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a.as_str() {
            Some("ALL") => json!("all"),
            Some("CHOWN") => json!("cap_chown"),
            _ => a.clone(),
        })
        .filter(|a| a != "--")
        .collect();
    attack["argv"] = argv.into();
    let r = under_attack(&env, &attack, &["up"]);
    assert_eq!(r.code, Some(0), "{r}");
    let id = project_id(&env);
    let made = project_containers(engine, &id);
    assert_eq!(made.len(), 1, "{made:?}");
    let info = inspect(engine, &made[0]).expect("inspect");
    let host = &info["HostConfig"];
    assert_eq!(host["Privileged"], false, "{host}");
    let caps = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().map(|c| c.as_str().unwrap().to_ascii_uppercase()).collect()).unwrap_or_default()
    };
    assert!(caps(&host["CapAdd"]).iter().all(|c| c == "CAP_CHOWN" || c == "CHOWN"), "{host}");
    let binds = info["Mounts"].as_array().unwrap();
    assert_eq!(binds.len(), 1, "only the project is mounted: {binds:?}");
    assert_eq!(binds[0]["Destination"], "/workspace");
    assert_eq!(binds[0]["Source"], env.project.display().to_string());
    // On the project's own network only (isolation), named like the container.
    let name = info["Name"].as_str().unwrap_or("").trim_start_matches('/');
    let networks: Vec<&String> =
        info["NetworkSettings"]["Networks"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(networks, [name], "{}", info["NetworkSettings"]);
    // The effective capabilities inside: only CHOWN.
    let r = env.ok(&["run", "sh", "-c", "grep CapEff /proc/self/status"]);
    assert!(r.stdout.contains("0000000000000001"), "CAP_CHOWN only: {r}");
    env.ok(&["down"]);
}

#[test]
fn equivalent_spellings_on_docker() {
    equivalent_spellings("docker");
}

#[test]
fn equivalent_spellings_on_podman() {
    equivalent_spellings("podman");
}

/// Attacks on containers that are not the project's: reading, listing
/// widely, exec'ing, stopping, removing. The victim is unchanged.
fn other_containers(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let victim = Victim::new(engine, engine);
    let mut env = rogue_env(engine);
    env.set_env("ROGUE_TARGET", &victim.name);
    env.ok(&["up"]);

    let a = |call: &str, argv: &[&str]| json!({ "call": call, "argv": argv });
    let victim_ref = "container `alca-victim-";
    // (attack, alca command, text of the refusal, alca's exit code; `run`
    // exits 125 when alca itself fails, as docker does; `status` reports
    // the refusal and exits 0, as the reference's does)
    let cases: Vec<(serde_json::Value, &[&str], &str, i32)> = vec![
        (a("inspect", &["container", "inspect", "--", "$TARGET"]), &["status"], victim_ref, 0),
        (a("inspect", &["container", "inspect", "--", "$ID", "$TARGET"]), &["status"], victim_ref, 0),
        (
            a("list-containers", &["container", "ls", "--quiet", "--no-trunc", "--all"]),
            &["down"],
            "does not filter by",
            1,
        ),
        (
            a(
                "list-containers",
                &["container", "ls", "--quiet", "--no-trunc", "--all", "--filter", "label=alca.project.id"],
            ),
            &["down"],
            "not one of the label selectors",
            1,
        ),
        (
            a("exec-plan", &["container", "exec", "--", "$TARGET", "touch", "/tmp/pwned"]),
            &["run", "true"],
            victim_ref,
            125,
        ),
        (
            a("exec-plan", &["container", "exec", "--", "$ID", "touch", "/tmp/pwned"]),
            &["run", "true"],
            "command line",
            125,
        ),
        (
            a("exec-plan", &["container", "exec", "--privileged", "--", "$ID", "true"]),
            &["run", "true"],
            "option `--privileged`",
            125,
        ),
        (
            a("exec-plan", &["container", "exec", "--user", "0", "--", "$ID", "true"]),
            &["run", "true"],
            "did not ask for a user",
            125,
        ),
        // The tests' stdin is /dev/null: alca asks for no open stdin, and
        // an exec that keeps one anyway is refused.
        (
            a("exec-plan", &["container", "exec", "--interactive", "--", "$ID", "true"]),
            &["run", "true"],
            "did not ask for an open stdin",
            125,
        ),
        (
            a("exec-plan", &["--host", "unix:///run/other.sock", "container", "exec", "--", "$ID", "true"]),
            &["run", "true"],
            "no `allow` rule",
            125,
        ),
        (a("remove", &["container", "rm", "--force", "--", "$TARGET"]), &["down"], victim_ref, 1),
        (a("start", &["container", "start", "--", "$TARGET"]), &["up"], victim_ref, 1),
        // `down` removes the project's container even when the stop was
        // refused; the refusal is shown.
        (a("stop", &["container", "stop", "--", "$TARGET"]), &["down"], victim_ref, 0),
    ];
    for (attack, args, needle, code) in cases {
        env.ok(&["up"]);
        if attack["call"] == "start" {
            let id = env.ok(&["status", "--json"]).json()["container"]["id"].as_str().unwrap().to_string();
            engine_out(engine, &["stop", "-t", "1", &id]);
        }
        let r = under_attack(&env, &attack, args);
        assert_eq!(r.code, Some(code), "{engine}: {attack}\n{r}");
        let said = format!("{}{}", r.stderr, r.stdout);
        assert!(!said.contains("LEAKED"), "{engine}: {attack} got through\n{r}");
        assert!(said.contains(needle), "{engine}: {attack}: expected {needle:?}\n{r}");
        assert_eq!(victim.status(), "running", "{engine}: {attack} changed the victim");
        assert!(!victim.has_file("/tmp/pwned"), "{engine}: {attack} ran in the victim");
    }
    // The project's own container was not harmed by the refusals.
    env.ok(&["up"]);
    env.ok(&["run", "true"]);
    env.ok(&["down"]);
    assert_eq!(victim.status(), "running");
}

#[test]
fn other_containers_on_docker() {
    other_containers("docker");
}

#[test]
fn other_containers_on_podman() {
    other_containers("podman");
}

/// The engine's own configuration comes from the user: a plugin can
/// neither point the CLI at another engine nor give it another config.
fn engine_environment(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let env = rogue_env(engine);
    let (key, value) = match engine {
        "docker" => ("DOCKER_HOST", "unix:///run/other.sock"),
        _ => ("CONTAINERS_CONF", "/workspace/evil.conf"),
    };
    let attack = json!({ "call": "detect", "argv": ["version"], "env": [[key, value]] });
    let r = status_reports(&env, &attack);
    assert!(r.stderr.contains(&format!("environment variable {key} comes from the user's environment")), "{r}");
    let global: &[&str] = match engine {
        "docker" => &["--context", "other", "version"],
        _ => &["--runtime", "/workspace/evil", "version"],
    };
    let r = status_reports(&env, &json!({ "call": "detect", "argv": global }));
    assert!(r.stderr.contains("no `allow` rule"), "{r}");
}

#[test]
fn engine_environment_on_docker() {
    engine_environment("docker");
}

#[test]
fn engine_environment_on_podman() {
    engine_environment("podman");
}

/// A plugin that lies about container ids, to have alca hand it a
/// container that is not the project's: alca uses only ids the engine
/// itself printed in the call, or the references it chose.
fn forged_references(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let victim = Victim::new(engine, &format!("{engine}-forge"));
    let mut env = rogue_env(engine);
    env.set_env("ROGUE_TARGET", &victim.name);
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"rogue-{engine}\"\n[commands]\nup = \"touch /tmp/pwned\"\n",
        test_image()
    ));
    let forge = |call: &str| json!({ "forge": call });

    // create returns the victim's name: refused before anything uses it.
    let r = attempt(&env, &forge("create"), &["up"]);
    assert!(r.stderr.contains("which the engine did not report creating"), "{r}");
    assert!(!victim.has_file("/tmp/pwned"), "{engine}: setup ran in the victim");
    env.ok(&["down"]);
    env.ok(&["up"]);

    // inspect reports the victim's id: alca keeps using its own reference.
    let r = under_attack(&env, &forge("inspect"), &["run", "touch", "/tmp/run-pwned"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(!victim.has_file("/tmp/run-pwned"), "{engine}: `run` went into the victim");
    env.ok(&["run", "test", "-e", "/tmp/run-pwned"]);

    // the listing adds the victim: alca removes only what the engine listed.
    let r = under_attack(&env, &forge("list-containers"), &["down"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stderr.contains("the engine did not list for the selector"), "{r}");
    assert_eq!(victim.status(), "running", "{engine}: the victim was stopped or removed");
}

#[test]
fn forged_references_on_docker() {
    forged_references("docker");
}

#[test]
fn forged_references_on_podman() {
    forged_references("podman");
}

/// A network the project does not own, made with the engine's own CLI.
struct VictimNetwork {
    engine: &'static str,
    name: String,
}

impl VictimNetwork {
    fn new(engine: &'static str) -> VictimNetwork {
        let name = format!("alca-victim-net-{engine}-{}", std::process::id());
        let _ = Command::new(engine).args(["network", "rm", &name]).output();
        engine_out(engine, &["network", "create", &name]);
        VictimNetwork { engine, name }
    }

    fn exists(&self) -> bool {
        Command::new(self.engine).args(["network", "inspect", &self.name]).output().unwrap().status.success()
    }
}

impl Drop for VictimNetwork {
    fn drop(&mut self) {
        let _ = Command::new(self.engine).args(["network", "rm", &self.name]).output();
    }
}

/// The optional `networks` export under attack, through alca's plugin host
/// (the rogue plugin with the built-in grant): every command outside the
/// project's own network is refused, and a bridge the engine did not report
/// is never handed to the firewall.
fn network_attacks(engine: &'static str) {
    use alca_core::container::{NetworkRequest, RuntimeError};
    use alca_core::plugin::{PluginError, PluginHost, PluginSource};
    if !require_engine(engine) {
        return;
    }
    let victim = VictimNetwork::new(engine);
    let source = PluginSource::from_dir(&rogue_plugin(engine)).expect("rogue plugin");
    let tag = format!("{:06x}{}", std::process::id() & 0xff_ffff, if engine == "docker" { "d0c4e7" } else { "90d3a2" });
    let req = NetworkRequest {
        name: format!("alca-t{tag}"),
        labels: vec![("alca.project.id".into(), tag.clone())],
        interface: format!("alt{tag}"),
    };
    let cleanup = || {
        let _ = Command::new(engine).args(["network", "rm", &req.name]).output();
    };
    cleanup();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let call = |attack: serde_json::Value, remove: bool| -> Result<(), PluginError> {
        let mut env: std::collections::HashMap<String, std::ffi::OsString> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))).collect();
        env.insert("ROGUE_ENGINE".into(), engine.into());
        env.insert("ROGUE_ATTACK".into(), attack.to_string().into());
        env.insert("ROGUE_TARGET".into(), victim.name.clone().into());
        let host = PluginHost::new(None).unwrap().with_environment(env);
        rt.block_on(async {
            let mut p = host.instantiate(&source, Default::default()).await.expect("instantiate");
            assert!(p.has_networks());
            if remove { p.network_remove(&req.name).await } else { p.network_create(&req).await.map(drop) }
        })
    };
    let denied = |attack: serde_json::Value, remove: bool, needle: &str| {
        match call(attack.clone(), remove) {
            Err(PluginError::Denied(d)) => assert!(d.to_string().contains(needle), "{engine}: {attack}: {d}"),
            other => panic!("{engine}: {attack} must be refused, got {other:?}"),
        }
        assert!(victim.exists(), "{engine}: {attack} removed the victim's network");
    };
    let create = |extra: &[&str]| {
        let mut argv = vec!["network", "create", "--driver", "bridge", "--label", "alca.project.id=$PID"];
        argv.extend(extra);
        argv.extend(["--", "$NETWORK"]);
        json!({ "call": "network-create", "argv": argv })
    };

    for (attack, needle) in [
        (create(&["--driver", "macvlan"]), "value `macvlan`"),
        (create(&["--internal=false"]), "option `--internal`"),
        (create(&["--subnet", "192.168.1.0/24"]), "option `--subnet`"),
        (create(&["--label", "alca.project.id=someone-else"]), "network label"),
        (create(&["--opt", "com.docker.network.bridge.name=eth0"]), "--opt"),
        (create(&["--opt", "com.docker.network.bridge.enable_ip_masquerade=false"]), "--opt"),
        (json!({ "call": "network-create", "argv": ["network", "rm", "$TARGET"] }), "not the network alca asked for"),
        (
            json!({ "call": "network-create", "argv": ["network", "create", "--", "$TARGET"] }),
            "not the network alca asked for",
        ),
        (json!({ "call": "network-create", "argv": ["network", "connect", "$TARGET", "x"] }), "no `allow` rule"),
    ] {
        denied(attack, false, needle);
        assert!(
            !Command::new(engine).args(["network", "inspect", &req.name]).output().unwrap().status.success(),
            "{engine}: nothing is created"
        );
    }
    for (attack, needle) in [
        (json!({ "call": "network-remove", "argv": ["network", "rm", "$TARGET"] }), "not the network alca asked for"),
        (json!({ "call": "network-remove", "argv": ["network", "rm", "--force", "$NETWORK"] }), "option `--force`"),
        (json!({ "call": "network-remove", "argv": ["network", "prune", "--force"] }), "no `allow` rule"),
    ] {
        denied(attack, true, needle);
    }

    // A bridge the engine did not report is refused, whatever it is.
    for forged in ["eth0", "lo", "docker0", "alt000000000000"] {
        match call(json!({ "forge": "network-create", "interface": forged }), false) {
            Err(e @ PluginError::Runtime { .. }) => {
                assert!(matches!(e.runtime_error(), Some(RuntimeError::Parse(m)) if m.contains("did not print")), "{e}")
            }
            other => panic!("{engine}: the forged interface {forged} was accepted: {other:?}"),
        }
    }
    // The honest plugin: the project's network, then gone.
    call(json!({}), false).unwrap_or_else(|e| panic!("{engine}: {e}"));
    call(json!({}), true).unwrap_or_else(|e| panic!("{engine}: {e}"));
    assert!(
        !Command::new(engine).args(["network", "inspect", &req.name]).output().unwrap().status.success(),
        "{engine}: removed"
    );
    cleanup();
}

#[test]
fn network_attacks_on_docker() {
    network_attacks("docker");
}

#[test]
fn network_attacks_on_podman() {
    network_attacks("podman");
}
