//! The built-in `apple` plugin end to end, against the fake of Apple's
//! `container` CLI in tests/fakes/apple/container (a Python program that
//! behaves like the real CLI as container-cli-contracts §1 and §4 describe
//! it; nothing here runs the real CLI, which needs macOS 26 on Apple
//! silicon). Every test runs for each version the fake models: 0.9.0 (the
//! oldest alca drives: no capabilities, no init, `notFound: "…"` errors,
//! the old JSON), 1.2.2 (the new JSON, errors without the code prefix) and
//! 1.5.0 (the nested `system status` JSON).
//!
//! Each test gets its own fake: a state directory and a `container` on
//! PATH that runs the fake with the version knob set (the plugin's child
//! processes get a minimal environment, so the knobs cannot come from
//! alca's). Docker and Podman are pointed at sockets that do not exist, so
//! `alca list` and `alca cleanup` see only the fake.
//!
//! On a Mac, `ALCA_TEST_APPLE=real cargo test -p alca --test apple` runs the
//! same tests against the real `container` on PATH instead: each test once,
//! as the version generation the real CLI belongs to (0.x: the 0.9.0 tests;
//! 1.x: the 1.2.2 tests); `system_not_started` stops and restarts the real
//! system service (docs/runtimes/apple.md).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Run, TestEnv, repo_root};

/// Apple `container` has no networks alca's firewall can key rules on, so
/// alca refuses it unless the project opts out of network isolation
/// (docs/security.md); every project here says so.
const UNISOLATED: &str = "\n[network]\nlan-access = [\"*\"]\n";

/// Any reference: the fake "pulls" it when alca asks.
const IMAGE: &str = "docker.io/library/alpine:3.20";

fn fake_program() -> PathBuf {
    repo_root().join("tests/fakes/apple/container")
}

/// `ALCA_TEST_APPLE=real`: the real CLI on PATH, not the fake.
fn real() -> bool {
    std::env::var("ALCA_TEST_APPLE").as_deref() == Ok("real")
}

/// Whether the tests written for `version` run: all of them against the
/// fake; against the real CLI, those of its generation (0.x or 1.x).
fn runs(version: &str) -> bool {
    if !real() {
        return true;
    }
    let out = Command::new("container").arg("--version").output().expect("run the real `container --version`");
    let text = String::from_utf8_lossy(&out.stdout);
    let found = text.strip_prefix("container CLI version ").unwrap_or("").split_whitespace().next().unwrap_or("");
    let generation = |v: &str| if v.starts_with("0.") { "0" } else { "1" };
    !found.is_empty() && generation(found) == generation(version) && (version == "0.9.0" || version == "1.2.2")
}

/// A fake Apple `container` CLI of one version, with its own state.
struct Fake {
    dir: tempfile::TempDir,
    version: &'static str,
}

impl Fake {
    /// The fake, its system service not started.
    fn new(version: &'static str) -> Fake {
        if real() {
            let dir = tempfile::Builder::new().prefix("alca-apple-real-").tempdir().expect("temp dir");
            return Fake { dir, version };
        }
        let program = fake_program();
        assert!(program.exists(), "the fake Apple CLI {} is missing: it is part of the repository", program.display());
        let dir = tempfile::Builder::new().prefix("alca-apple-fake-").tempdir().expect("temp dir");
        let fake = Fake { dir, version };
        std::fs::create_dir_all(fake.state()).unwrap();
        std::fs::create_dir_all(fake.bin()).unwrap();
        let wrapper = fake.bin().join("container");
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
        // The system's Python without `site` starts in ~20 ms; a version
        // manager's shim for `python3` costs ~100 ms a call.
        let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3 -S" } else { "python3" };
        support::write_executable(
            &wrapper,
            &format!(
                "#!/bin/sh\nFAKE_CONTAINER_VERSION={version}\nFAKE_CONTAINER_STATE={}\nexport FAKE_CONTAINER_VERSION FAKE_CONTAINER_STATE\nexec {python} {} \"$@\"\n",
                quote(&fake.state()),
                quote(&program)
            ),
        );
        fake
    }

    /// The fake with its system service running.
    fn started(version: &'static str) -> Fake {
        let fake = Fake::new(version);
        fake.ok(&["system", "start", "--enable-kernel-install"]);
        fake
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// The fake (or the real CLI), run directly.
    fn run(&self, args: &[&str]) -> Output {
        let program = if real() { PathBuf::from("container") } else { self.bin().join("container") };
        Command::new(program).args(args).output().expect("run the container CLI")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "fake `container {args:?}` ({}) failed: {}{}",
            self.version,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every container the fake has, as its `list --all --format json` says.
    fn containers(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.ok(&["list", "--all", "--format", "json"])).expect("list JSON");
        v.as_array().expect("a JSON array").clone()
    }

    /// The ids of the fake's containers labelled with `project_id`.
    fn containers_of(&self, project_id: &str) -> Vec<String> {
        self.containers()
            .iter()
            .filter(|c| c["configuration"]["labels"]["alca.project.id"] == project_id)
            .map(|c| c["configuration"]["id"].as_str().expect("an id").to_string())
            .collect()
    }

    /// A project whose alca sees this fake as `container`, and no engine
    /// but it.
    fn env(&self) -> TestEnv {
        let mut env = TestEnv::new();
        let path = std::env::var("PATH").unwrap_or_default();
        if !real() {
            env.set_env("PATH", &format!("{}:{path}", self.bin().display()));
        }
        env.set_env("DOCKER_HOST", "unix:///nonexistent/alca-apple-test/docker.sock");
        env.set_env("CONTAINER_HOST", "unix:///nonexistent/alca-apple-test/podman.sock");
        env.write_config(&format!("image = \"{IMAGE}\"\nruntime = \"apple\"\n{UNISOLATED}"));
        env
    }
}

fn project_id(env: &TestEnv) -> String {
    let text = std::fs::read_to_string(env.project.join(".alca/state.json")).expect("state.json");
    let state: Value = serde_json::from_str(&text).expect("state JSON");
    state["project_id"].as_str().expect("project_id").to_string()
}

fn with_project<'a>(entries: &'a Value, project_id: &str) -> Vec<&'a Value> {
    entries.as_array().expect("an array").iter().filter(|c| c["project_id"] == project_id).collect()
}

/// One test per version of the fake.
macro_rules! per_version {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn v0_9_0() {
                if super::runs("0.9.0") {
                    super::$name("0.9.0");
                }
            }
            #[test]
            fn v1_2_2() {
                if super::runs("1.2.2") {
                    super::$name("1.2.2");
                }
            }
            #[test]
            fn v1_5_0() {
                if super::runs("1.5.0") {
                    super::$name("1.5.0");
                }
            }
        }
    )*};
}

per_version!(lifecycle, cleanup_of_an_orphan, system_not_started, unsupported_fields, conformance);

/// `up` (pulling the image itself), `run` with the project at the workdir
/// and the exit status passed through, `status`, `list`, `down`; all
/// idempotent.
fn lifecycle(version: &'static str) {
    let fake = Fake::started(version);
    let env = fake.env();
    std::fs::write(env.project.join("notes.txt"), "written on the host\n").unwrap();

    let r = env.ok(&["up"]);
    // Apple has no restart policy: always a warning, never an error.
    assert!(r.stderr.contains("restart policy") && r.stderr.contains("apple"), "{r}");
    // 0.9 cannot drop capabilities: alca's defaults are a warning there.
    let caps_warning = r.stderr.contains("cannot drop Linux capabilities");
    assert_eq!(caps_warning, version == "0.9.0", "{r}");
    let out = fake.run(&["image", "inspect", IMAGE]);
    assert!(out.status.success(), "alca pulled the image into the fake: {}", String::from_utf8_lossy(&out.stderr));
    let pid = project_id(&env);
    let ours = fake.containers_of(&pid);
    assert_eq!(ours.len(), 1, "one container for the project: {:?}", fake.containers());
    let name = ours[0].clone();
    assert!(name.starts_with("alca-"), "{name}");

    // The exit status passes through; the project is at the workdir.
    let r = env.run(&["run", "sh", "-c", "cat notes.txt; pwd; echo to-stderr >&2; exit 7"]);
    assert_eq!(r.code, Some(7), "{r}");
    assert_eq!(r.stdout, "written on the host\n/workspace\n", "{r}");
    assert!(r.stderr.contains("to-stderr"), "{r}");
    env.ok(&["run", "sh", "-c", "echo from the container > made.txt"]);
    assert_eq!(std::fs::read_to_string(env.project.join("made.txt")).unwrap(), "from the container\n");
    let r = env.run(&["run", "false"]);
    assert_eq!(r.code, Some(1), "{r}");

    // The version only when asked (`-v`): a plain status costs one inspect.
    let status = env.ok(&["-v", "status", "--json"]).json();
    assert_eq!(status["runtime"]["id"], "apple", "{status}");
    assert_eq!(status["runtime"]["version"], version, "{status}");
    let status = env.ok(&["status", "--json"]).json();
    assert_eq!(status["runtime"]["version"], serde_json::Value::Null, "{status}");
    assert_eq!(status["container"]["name"], name.as_str(), "{status}");
    assert_eq!(status["container"]["running"], true, "{status}");
    assert_eq!(status["container"]["state"], "running", "{status}");
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("Apple container") && r.stdout.contains("running"), "{r}");

    let list = env.ok(&["list", "--json"]).json();
    let rows = with_project(&list["containers"], &pid);
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["runtime"], "apple", "{list}");
    assert_eq!(rows[0]["name"], name.as_str(), "{list}");
    assert_eq!(rows[0]["running"], true, "{list}");
    assert_eq!(rows[0]["project_path"], env.project.display().to_string(), "{list}");

    // `up` again: the same container, still running.
    env.ok(&["up"]);
    assert_eq!(fake.containers_of(&pid), vec![name.clone()]);

    env.ok(&["down"]);
    assert!(fake.containers_of(&pid).is_empty(), "down removed it: {:?}", fake.containers());
    let status = env.ok(&["status", "--json"]).json();
    assert!(status["container"].is_null(), "{status}");
    env.ok(&["down"]);

    // Up again after down; a stopped container is started, not recreated.
    env.ok(&["up"]);
    let again = fake.containers_of(&pid);
    assert_eq!(again.len(), 1);
    fake.ok(&["stop", &again[0]]);
    env.ok(&["up"]);
    assert_eq!(fake.containers_of(&pid), again, "started again, not recreated");
    assert_eq!(env.ok(&["status", "--json"]).json()["container"]["running"], true);
    let r = env.ok(&["run", "cat", "notes.txt"]);
    assert_eq!(r.stdout, "written on the host\n");
    env.ok(&["down"]);
    assert!(fake.containers_of(&pid).is_empty());
}

/// The project directory is deleted: its container is an orphan, which
/// `cleanup --yes` removes from the fake; a live project's stays.
fn cleanup_of_an_orphan(version: &'static str) {
    let fake = Fake::started(version);
    let live = fake.env();
    let gone = fake.env();
    live.ok(&["up"]);
    gone.ok(&["up"]);
    let (live_id, gone_id) = (project_id(&live), project_id(&gone));
    assert_eq!(fake.containers_of(&gone_id).len(), 1);
    std::fs::remove_dir_all(&gone.project).unwrap();

    let report = live.ok(&["cleanup", "--json"]).json();
    let found = with_project(&report["orphans"], &gone_id);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["runtime"], "apple", "{report}");
    assert_eq!(found[0]["reason"], "project directory does not exist", "{report}");
    assert!(with_project(&report["orphans"], &live_id).is_empty(), "{report}");
    assert_eq!(fake.containers_of(&gone_id).len(), 1, "a dry run removes nothing");

    let r = live.ok(&["cleanup", "--yes"]);
    assert!(r.stdout.contains("✓ Removed"), "{r}");
    assert!(fake.containers_of(&gone_id).is_empty(), "the orphan was removed: {:?}", fake.containers());
    assert_eq!(fake.containers_of(&live_id).len(), 1, "the live project's container stays");
    live.ok(&["down"]);
}

/// The service is not started: `up`, `run` and `status` say so and how to
/// start it; `plugin list --check` says why apple is not available.
fn system_not_started(version: &'static str) {
    let fake = Fake::new(version);
    let env = fake.env();
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("container system service is not running"), "{r}");
    assert!(r.stderr.contains("container system start"), "{r}");
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("not running") && r.stdout.contains("container system start"), "{r}");
    let r = env.ok(&["plugin", "list", "--check"]);
    let apple = &r.stdout[r.stdout.find("apple ").expect("apple is listed")..];
    assert!(apple.contains("not available") && apple.contains("container system start"), "{r}");

    // Started, it works; stopped under a running sandbox, alca says so.
    fake.ok(&["system", "start", "--enable-kernel-install"]);
    env.ok(&["up"]);
    fake.ok(&["system", "stop"]);
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("container system start"), "{r}");
    let r = env.run(&["run", "true"]);
    assert_ne!(r.code, Some(0), "{r}");
    assert!(r.stderr.contains("container system start"), "{r}");
    fake.ok(&["system", "start", "--enable-kernel-install"]);
    env.ok(&["down"]);
}

/// What Apple cannot express: a warning where ignoring it weakens nothing,
/// an error naming the field where it would.
fn unsupported_fields(version: &'static str) {
    let fake = Fake::started(version);
    let refused = |extra: &str, needles: &[&str]| {
        let env = fake.env();
        env.write_config(&format!("image = \"{IMAGE}\"\nruntime = \"apple\"\n{extra}{UNISOLATED}"));
        let r = env.run(&["up"]);
        assert_eq!(r.code, Some(1), "{extra}: {r}");
        for needle in needles {
            assert!(r.stderr.contains(needle), "{extra}: {needle:?} missing:\n{r}");
        }
        assert!(fake.containers().is_empty(), "{extra}: nothing was created: {:?}", fake.containers());
    };
    refused("[resources]\ncpus = 1.5\n", &["resources.cpus = 1.5", "apple"]);
    refused("[resources]\nmemory = \"128m\"\n", &["resources.memory", "200 MiB"]);
    // Apple sets memory in whole MiB: the plugin refuses anything else.
    refused("[resources]\nmemory = \"300.5m\"\n", &["resources.memory", "whole MiB"]);

    // Network isolation (the default) needs a network alca's firewall can
    // key rules on, which Apple does not have: refused, nothing created.
    let env = fake.env();
    env.write_config(&format!("image = \"{IMAGE}\"\nruntime = \"apple\"\n"));
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("network isolation cannot be applied"), "{r}");
    assert!(r.stderr.contains("lan-access = [\"*\"]"), "the way out is named: {r}");
    assert!(fake.containers().is_empty(), "nothing was created: {:?}", fake.containers());

    // The user's own capabilities: an error where they cannot be applied.
    let caps = "caps = [\"CHOWN\", \"NET_BIND_SERVICE\"]\n";
    if version == "0.9.0" {
        refused(caps, &["caps", "apple"]);
    } else {
        let env = fake.env();
        env.write_config(&format!("image = \"{IMAGE}\"\nruntime = \"apple\"\n{caps}{UNISOLATED}"));
        let r = env.ok(&["up"]);
        assert!(!r.stderr.contains("capabilities"), "{r}");
        let name = fake.containers_of(&project_id(&env)).remove(0);
        let inspect: Value = serde_json::from_str(&fake.ok(&["inspect", &name])).unwrap();
        let config = &inspect[0]["configuration"];
        let text = config.to_string().to_ascii_uppercase();
        assert!(text.contains("CHOWN") && text.contains("NET_BIND_SERVICE"), "{config}");
        env.ok(&["down"]);
    }

    // Whole CPUs and whole MiB are expressed as asked.
    let env = fake.env();
    env.write_config(&format!(
        "image = \"{IMAGE}\"\nruntime = \"apple\"\n[resources]\ncpus = 2\nmemory = \"512m\"\n{UNISOLATED}"
    ));
    env.ok(&["up"]);
    let name = fake.containers_of(&project_id(&env)).remove(0);
    let inspect: Value = serde_json::from_str(&fake.ok(&["inspect", &name])).unwrap();
    let resources = &inspect[0]["configuration"]["resources"];
    assert_eq!(resources["cpus"], 2, "{inspect}");
    assert_eq!(resources["memoryInBytes"], 512 * 1024 * 1024, "{inspect}");
    env.ok(&["down"]);
}

/// `alca plugin test apple` against the fake: every check passes but the
/// tmpfs one (the fake's exec runs in a chroot with the container's mounts,
/// capabilities and cgroup limits, but its `--tmpfs` is a directory).
fn conformance(version: &'static str) {
    let fake = Fake::started(version);
    let env = fake.env();
    env.ok(&["up"]); // pulls the image into the fake; the suite never pulls
    env.ok(&["down"]);
    let r = env.run(&["plugin", "test", "apple", "--image", IMAGE, "--json"]);
    let report = r.json();
    let checks = report["checks"].as_array().expect("checks");
    let outcome = |name: &str| -> String {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["outcome"].as_str().unwrap_or("?").to_string())
            .unwrap_or_else(|| "absent".into())
    };
    for c in checks {
        eprintln!("apple {version}: {} {}", c["name"].as_str().unwrap_or("?"), c);
    }
    // Every check alca has passes, but the tmpfs one (the fake mounts a
    // directory for `--tmpfs`, so /proc/mounts cannot show a tmpfs) and, on
    // 0.9, the capability one: the suite fits its spec to what `detect`
    // reports, and 0.9 cannot drop capabilities, so it is skipped there.
    let mut must_pass: Vec<&str> = alca_core::ops::CHECKS.iter().copied().filter(|c| *c != "features-tmpfs").collect();
    if version == "0.9.0" {
        assert_eq!(outcome("features-capabilities"), "skip", "{report:#}");
        must_pass.retain(|c| *c != "features-capabilities");
    }
    for name in must_pass {
        assert_eq!(outcome(name), "pass", "{version}: check {name}:\n{report:#}");
    }
    assert!(fake.containers().is_empty(), "the suite removed its containers: {:?}", fake.containers());
}

/// The apple plugin's grant names one program, `container`, and nothing
/// else; `runtime = "apple"` is accepted everywhere and says why it cannot
/// run where there is no `container`.
#[test]
fn the_grant_is_container_only_and_apple_is_explained_where_it_is_missing() {
    let env = TestEnv::new();
    let info = env.ok(&["plugin", "info", "apple", "--json"]).json();
    assert_eq!(info["id"], "apple");
    assert_eq!(info["source"], "built-in");
    let programs: Vec<&str> =
        info["programs"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(programs, ["container"], "{info}");
    let program = &info["programs"][0];
    assert!(program["env"].as_array().unwrap().is_empty() && program["set_env"].as_array().unwrap().is_empty());
    for denied in ["--virtualization", "--rosetta", "--ssh", "--publish-socket", "--kernel", "--mount"] {
        assert!(program["deny"].as_array().unwrap().iter().any(|d| d == denied), "{denied}: {program}");
    }

    // No `container` on PATH (PATH without the fake).
    let mut env = TestEnv::new();
    env.set_env("PATH", "/usr/local/sbin:/usr/sbin:/sbin");
    env.write_config(&format!("image = \"{IMAGE}\"\nruntime = \"apple\"\n{UNISOLATED}"));
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("`container` was not found on PATH"), "{r}");
    if cfg!(target_os = "linux") {
        assert!(r.stderr.contains("macOS 26") && r.stderr.contains("runtime = \"docker\""), "{r}");
    }
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("`container` was not found on PATH"), "{r}");
    let r = Run::of(env.alca(&["plugin", "list", "--check"]));
    assert!(r.stdout.contains("apple") && r.stdout.contains("`container` was not found on PATH"), "{r}");
}
