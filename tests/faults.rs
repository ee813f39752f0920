//! Faults a user meets: the engine gone mid-use, its CLI missing or
//! hanging, several alca at once, alca killed mid-`up`, a broken state
//! file, a read-only project, a garbage config. Each ends with one clear
//! message (and a way out), and nothing is left behind.

mod support;

use std::time::{Duration, Instant};

use support::{Run, TestEnv, engine_out, processes_with, require_engine, test_image};

fn project_env(engine: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
    env
}

fn project_id(env: &TestEnv) -> String {
    let text = std::fs::read_to_string(env.project.join(".alca/state.json")).expect("state");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["project_id"].as_str().unwrap().to_string()
}

fn containers_of(engine: &str, id: &str) -> Vec<String> {
    let label = format!("label=alca.project.id={id}");
    engine_out(engine, &["ps", "-a", "-q", "--no-trunc", "--filter", &label]).lines().map(String::from).collect()
}

#[test]
fn engine_stopped_mid_use() {
    if !require_engine("docker") {
        return;
    }
    let env = project_env("docker");
    env.ok(&["up"]);
    let dead = format!("unix://{}/stopped.sock", env.root.display());
    for args in [&["run", "true"][..], &["down"], &["up"]] {
        let mut cmd = env.alca(args);
        cmd.env("DOCKER_HOST", &dead);
        let r = Run::of(cmd);
        // `run` exits 125 when alca itself fails, as docker does.
        let code = if args[0] == "run" { 125 } else { 1 };
        assert_eq!(r.code, Some(code), "{args:?}: {r}");
        assert!(r.stderr.contains("the Docker engine is not reachable"), "{args:?}: {r}");
        assert!(r.stderr.contains("hint: "), "{args:?}: {r}");
    }
    // `status` is a report: it says so, with what to do, and exits 0.
    let mut cmd = env.alca(&["status"]);
    cmd.env("DOCKER_HOST", &dead);
    let r = Run::of(cmd);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    assert!(r.stdout.contains("the Docker engine is not reachable"), "{r}");
    assert!(r.stdout.contains("start the Docker engine"), "{r}");
    // The engine is back: everything works, nothing was lost.
    env.ok(&["run", "true"]);
    env.ok(&["down"]);
}

#[test]
fn engine_cli_missing_mid_use() {
    for engine in ["docker", "podman"] {
        if !require_engine(engine) {
            return;
        }
        let env = project_env(engine);
        env.ok(&["up"]);
        for args in [&["run", "true"][..], &["down"]] {
            let mut cmd = env.alca(args);
            cmd.env("PATH", "/nonexistent");
            let r = Run::of(cmd);
            // `run` exits 125 when alca itself fails, as docker does.
            let code = if args[0] == "run" { 125 } else { 1 };
            assert_eq!(r.code, Some(code), "{engine} {args:?}: {r}");
            assert!(r.stderr.contains(&format!("`{engine}` was not found on PATH")), "{engine} {args:?}: {r}");
        }
        // `status` is a report: it says so and exits 0.
        let mut cmd = env.alca(&["status"]);
        cmd.env("PATH", "/nonexistent");
        let r = Run::of(cmd);
        assert_eq!(r.code, Some(0), "{engine} status: {r}");
        assert!(r.stdout.contains("Runtime:   none available"), "{engine} status: {r}");
        assert!(r.stdout.contains(&format!("`{engine}` was not found on PATH")), "{engine} status: {r}");
        env.ok(&["down"]);
    }
}

/// A fake `docker` that answers `version` (or not) and hangs on the rest.
fn hanging_docker(env: &TestEnv, hang_on_version: bool, marker: &str) -> String {
    let bin = env.root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let version = if hang_on_version {
        format!("exec sleep {marker}")
    } else {
        r#"echo '{"Client":{"Version":"28.0.0"},"Server":{"Version":"28.0.0"}}'"#.to_string()
    };
    let script = format!("#!/bin/sh\ncase \"$1\" in\n  version) {version} ;;\n  *) exec sleep {marker} ;;\nesac\n");
    let path = bin.join("docker");
    support::write_executable(&path, &script);
    // The user's ceiling on how long alca waits for one engine command.
    std::fs::create_dir_all(env.config.join("alca")).unwrap();
    std::fs::write(env.config.join("alca/config.toml"), "[plugins.docker]\nmax-timeout-secs = 2\n").unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn a_hanging_cli_is_stopped_and_named() {
    let marker = format!("3600.{}1", std::process::id());
    let env = project_env("docker");
    let path = hanging_docker(&env, false, &marker);
    let mut cmd = env.alca(&["up"]);
    cmd.env("PATH", &path);
    let started = Instant::now();
    let r = Run::within(cmd, Duration::from_secs(60));
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("timed out: `docker container inspect -- alca-"), "names the command: {r}");
    assert!(r.stderr.contains("was stopped after 2.0 s"), "{r}");
    assert!(r.stderr.contains("max-timeout-secs"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(processes_with(&marker).is_empty(), "the hung CLI was killed: {:?}", processes_with(&marker));

    let marker = format!("3600.{}2", std::process::id());
    let env = project_env("docker");
    let path = hanging_docker(&env, true, &marker);
    let mut cmd = env.alca(&["status"]);
    cmd.env("PATH", &path);
    let r = Run::within(cmd, Duration::from_secs(60));
    // `status` is a report: it names the runtime's problem and exits 0.
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    assert!(r.stdout.contains("runtime `docker` is not available: `docker version` did not answer"), "{r}");
    assert!(processes_with(&marker).is_empty());
}

/// Five `alca up` at once in one project: one container, all succeed.
#[test]
fn concurrent_ups_make_one_container() {
    for engine in ["docker", "podman"] {
        if !require_engine(engine) {
            return;
        }
        let env = project_env(engine);
        let children: Vec<_> = (0..5)
            .map(|_| {
                env.alca(&["up", "-q"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{engine}: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert_eq!(containers_of(engine, &project_id(&env)).len(), 1, "{engine}: exactly one container");
        env.ok(&["down"]);
        assert!(containers_of(engine, &project_id(&env)).is_empty());
    }
}

/// `kill -9` of alca at any point of `up`: the next `down` removes
/// everything (no orphan container, no orphan engine CLI), and `up` works.
#[test]
fn killed_during_up_is_recovered() {
    for engine in ["docker", "podman"] {
        if !require_engine(engine) {
            return;
        }
        for delay_ms in [150, 400, 800, 1500] {
            let env = TestEnv::new();
            env.write_config(&format!(
                "image = \"{}\"\nruntime = \"{engine}\"\n[commands]\nup = \"sleep 30\"\n",
                test_image()
            ));
            let mut child = env.alca(&["up", "-q"]).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(delay_ms));
            let _ = child.kill();
            let _ = child.wait();
            // Engine CLIs alca had started die with it.
            std::thread::sleep(Duration::from_millis(300));
            let cli = processes_with(&format!("{engine} container"));
            let ours: Vec<_> = cli.iter().filter(|p| p.contains(&env.project.display().to_string())).collect();
            assert!(ours.is_empty(), "{engine} {delay_ms} ms: left {ours:?}");

            if !env.project.join(".alca/state.json").exists() {
                continue; // killed before it saved anything: nothing to recover
            }
            let id = project_id(&env);
            let r = env.run(&["down"]);
            assert_eq!(r.code, Some(0), "{engine} {delay_ms} ms: {r}");
            assert!(containers_of(engine, &id).is_empty(), "{engine} {delay_ms} ms: orphaned container");
            env.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
            env.ok(&["up"]);
            assert_eq!(containers_of(engine, &id).len(), 1, "{engine} {delay_ms} ms");
            env.ok(&["down"]);
        }
    }
}

/// A state file that cannot be read: a clear message, and `alca down` as
/// the way out (it removes the containers made for this directory and sets
/// the file aside).
#[test]
fn an_unreadable_state_has_a_way_out() {
    if !require_engine("docker") {
        return;
    }
    type Break = fn(&std::path::Path);
    let breakers: [(&str, Break); 5] = [
        ("truncated", |p| {
            let text = std::fs::read(p).unwrap();
            std::fs::write(p, &text[..text.len() / 2]).unwrap();
        }),
        ("empty", |p| std::fs::write(p, b"").unwrap()),
        ("garbage", |p| std::fs::write(p, b"\x00\xff\x1b[2J\xfe binary").unwrap()),
        ("fifo", |p| {
            std::fs::remove_file(p).unwrap();
            assert!(std::process::Command::new("mkfifo").arg(p).status().unwrap().success());
        }),
        ("directory", |p| {
            std::fs::remove_file(p).unwrap();
            std::fs::create_dir(p).unwrap();
        }),
    ];
    for (what, break_it) in breakers {
        let env = project_env("docker");
        env.ok(&["up"]);
        let id = project_id(&env);
        let state = env.project.join(".alca/state.json");
        break_it(&state);
        for args in [&["run", "true"][..], &["up"]] {
            let r = Run::within(env.alca(args), Duration::from_secs(60));
            // `run` exits 125 when alca itself fails, as docker does.
            let code = if args[0] == "run" { 125 } else { 1 };
            assert_eq!(r.code, Some(code), "{what} {args:?}: {r}");
            assert!(r.stderr.contains("state file") && r.stderr.contains("is unreadable"), "{what}: {r}");
            assert!(r.stderr.contains("hint: run `alca down`"), "{what}: {r}");
            assert!(!r.stderr.contains('\x1b'), "{what}: {:?}", r.stderr);
        }
        // `status` is a report: it says the state cannot be read, with the
        // way out, and exits 0.
        let r = Run::within(env.alca(&["status"]), Duration::from_secs(60));
        assert_eq!(r.code, Some(0), "{what} status: {r}");
        assert!(r.stdout.contains("State:     cannot be read: "), "{what} status: {r}");
        assert!(r.stdout.contains("state file") && r.stdout.contains("is unreadable"), "{what} status: {r}");
        assert!(r.stdout.contains("run `alca down`"), "{what} status: the way out is shown: {r}");
        assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'), "{what}: {r}");
        let r = Run::within(env.alca(&["down"]), Duration::from_secs(60));
        assert_eq!(r.code, Some(0), "{what}: {r}");
        assert!(containers_of("docker", &id).is_empty(), "{what}: the container was removed");
        let aside = std::fs::read_dir(env.project.join(".alca"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("state.json.unreadable-"))
            .count();
        assert_eq!(aside, 1, "{what}: the file is kept aside");
        env.ok(&["up"]);
        env.ok(&["run", "true"]);
        env.ok(&["down"]);
    }
}

/// What the agent may put where alca keeps its lock: a FIFO, a link out of
/// the project. No hang, nothing created elsewhere, a clear message.
#[test]
fn a_planted_lock_file() {
    let env = project_env("docker");
    std::fs::create_dir_all(env.project.join(".alca")).unwrap();
    let lock = env.project.join(".alca/lock");
    assert!(std::process::Command::new("mkfifo").arg(&lock).status().unwrap().success());
    let r = Run::within(env.alca(&["up"]), Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("not a regular file") && r.stderr.contains("remove it"), "{r}");
    std::fs::remove_file(&lock).unwrap();
    let outside = env.root.join("outside");
    std::os::unix::fs::symlink(&outside, &lock).unwrap();
    let r = Run::within(env.alca(&["up"]), Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("remove it"), "{r}");
    assert!(!outside.exists(), "alca created a file through the link");
}

/// A read-only project: `up` fails before creating anything; with a
/// sandbox already up, `run` and `status` still work.
#[test]
fn a_read_only_project() {
    if !require_engine("docker") {
        return;
    }
    let env = project_env("docker");
    {
        let _ro = ReadOnly::new(&env.project);
        let r = env.run(&["up"]);
        assert_eq!(r.code, Some(1), "{r}");
        assert!(r.stderr.contains("must be writable"), "{r}");
    }
    assert!(!env.project.join(".alca/state.json").exists());
    env.ok(&["up"]);
    let id = project_id(&env);
    {
        let _ro = ReadOnly::new(&env.project);
        env.ok(&["run", "true"]);
        let r = env.ok(&["status"]);
        assert!(r.stdout.contains("(running)"), "{r}");
        let r = env.run(&["down"]);
        assert_eq!(r.code, Some(1), "{r}");
        assert!(r.stderr.contains("must be writable"), "{r}");
        assert_eq!(containers_of("docker", &id).len(), 1, "nothing changed");
    }
    env.ok(&["down"]);
}

/// Makes a directory read-only for as long as it lives: a read-only bind
/// mount as root (root ignores permissions), permissions otherwise.
struct ReadOnly(std::path::PathBuf, bool);

impl ReadOnly {
    fn new(dir: &std::path::Path) -> ReadOnly {
        let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if root {
            let d = dir.to_str().unwrap();
            for args in [&["--bind", d, d][..], &["-o", "remount,bind,ro", d]] {
                assert!(std::process::Command::new("mount").args(args).status().unwrap().success(), "mount {args:?}");
            }
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        ReadOnly(dir.to_path_buf(), root)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

/// A config that is binary garbage, or text with terminal escapes: one
/// clear error with the position, nothing raw on the terminal, no engine
/// touched.
#[test]
fn garbage_configs() {
    let env = TestEnv::new();
    let cases: [(&[u8], &str); 5] = [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", "NUL byte"),
        (b"image = \"x\"\n\xff\xfe\xfd", "not UTF-8"),
        (b"image = \"\x1b]0;pwned\x07\"\n", ".alca.toml:1:"),
        (b"\x1b[2J\rimage = 1", ".alca.toml:1:"),
        (b"[[[[[[[[[[[[[[[[[[[[[[[[", ".alca.toml:1:"),
    ];
    for (bytes, needle) in cases {
        std::fs::write(env.project.join(".alca.toml"), bytes).unwrap();
        for args in [&["status"][..], &["up"], &["run", "true"]] {
            let r = Run::within(env.alca(args), Duration::from_secs(30));
            // `run` exits 125 when alca itself fails, as docker does.
            let code = if args[0] == "run" { 125 } else { 1 };
            assert_eq!(r.code, Some(code), "{bytes:?} {args:?}: {r}");
            assert!(r.stderr.contains(needle), "{bytes:?}: expected {needle:?}\n{r}");
            for bad in ['\x1b', '\r', '\x07', '\0'] {
                assert!(!r.stderr.contains(bad), "{bytes:?}: raw {bad:?} on the terminal: {:?}", r.stderr);
            }
        }
    }
    assert!(!env.project.join(".alca").exists(), "nothing was created");
}
