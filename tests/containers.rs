//! `alca list`, `alca cleanup`, `alca completion`, `alca man` and the exit
//! status of `alca run`, against the real Docker and Podman engines.
//!
//! `alca cleanup --yes` removes every orphan on the host, whoever made it:
//! the tests that make orphans hold one lock, so they do not remove each
//! other's before looking at them.

mod support;

use std::sync::Mutex;

use serde_json::Value;
use support::{Run, TestEnv, engine_out, require_engine, test_image};

static ORPHAN_TESTS: Mutex<()> = Mutex::new(());

fn orphan_lock() -> std::sync::MutexGuard<'static, ()> {
    ORPHAN_TESTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn project_env(engine: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
    env
}

fn state(env: &TestEnv) -> Value {
    let text = std::fs::read_to_string(env.project.join(".alca/state.json")).expect("state.json");
    serde_json::from_str(&text).expect("state JSON")
}

fn project_id(env: &TestEnv) -> String {
    state(env)["project_id"].as_str().expect("project_id").to_string()
}

/// Every container (running or not) with this project id, by full id.
fn containers_of(engine: &str, project_id: &str) -> Vec<String> {
    let label = format!("label=alca.project.id={project_id}");
    engine_out(engine, &["ps", "-a", "-q", "--no-trunc", "--filter", &label]).lines().map(String::from).collect()
}

/// Removes, when dropped, the containers of project ids whose project can
/// no longer take them down itself (directory or state file deleted).
struct Leftovers(Vec<(String, String)>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for (engine, id) in &self.0 {
            for c in containers_of(engine, id) {
                let _ = std::process::Command::new(engine).args(["rm", "-f", &c]).output();
            }
        }
    }
}

/// The entries of a `list --json` or `cleanup --json` array with this project id.
fn with_project<'a>(entries: &'a Value, project_id: &str) -> Vec<&'a Value> {
    entries.as_array().expect("an array").iter().filter(|c| c["project_id"] == project_id).collect()
}

#[test]
fn list_shows_both_runtimes_at_once() {
    if !require_engine("docker") || !require_engine("podman") {
        return;
    }
    let on_docker = project_env("docker");
    let on_podman = project_env("podman");
    on_docker.ok(&["up"]);
    on_podman.ok(&["up"]);
    let (docker_id, podman_id) = (project_id(&on_docker), project_id(&on_podman));
    // A stopped container is listed too.
    let podman_container = containers_of("podman", &podman_id);
    assert_eq!(podman_container.len(), 1);
    engine_out("podman", &["stop", "-t", "0", &podman_container[0]]);

    // Listed from anywhere (no project needed), with either world's plugins.
    let r = Run::of(on_docker.alca_in(&on_docker.root, &["list", "--json"]));
    assert_eq!(r.code, Some(0), "{r}");
    let list = r.json();
    // Only Apple's `container` (macOS only, absent here) may be unavailable.
    assert!(list["unavailable"].as_array().expect("unavailable").iter().all(|u| u["runtime"] == "apple"), "{list}");
    let d = with_project(&list["containers"], &docker_id);
    let p = with_project(&list["containers"], &podman_id);
    assert_eq!((d.len(), p.len()), (1, 1), "{list}");
    let (d, p) = (d[0], p[0]);
    assert_eq!(d["runtime"], "docker");
    assert_eq!(d["state"], "running");
    assert_eq!(d["running"], true);
    assert_eq!(d["name"], state(&on_docker)["container_name"]);
    assert_eq!(d["project_path"], on_docker.project.display().to_string());
    assert_eq!(d["image"], test_image());
    assert!(d["created"].as_str().is_some_and(|c| c.starts_with("20")), "{d}");
    assert_eq!(containers_of("docker", &docker_id), vec![d["id"].as_str().unwrap().to_string()]);
    assert_eq!(p["runtime"], "podman");
    assert_eq!(p["state"], "exited");
    assert_eq!(p["running"], false);
    assert_eq!(p["id"], podman_container[0]);
    assert_eq!(p["project_path"], on_podman.project.display().to_string());

    // `--runtime` asks only the runtimes it names; an unknown one is an error.
    let only = on_docker.ok(&["list", "--runtime", "podman", "--json"]).json();
    let rows = only["containers"].as_array().expect("containers");
    assert!(rows.iter().all(|c| c["runtime"] == "podman"), "{only}");
    assert_eq!(with_project(&only["containers"], &podman_id).len(), 1, "{only}");
    assert!(with_project(&only["containers"], &docker_id).is_empty(), "{only}");
    let r = on_docker.run(&["list", "--runtime", "nerdctl"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("unknown runtime \"nerdctl\"") && r.stderr.contains("docker, podman"), "{r}");
    // A runtime named on the command line: the way out is not .alca.toml.
    assert!(r.stderr.contains("alca plugin list") && !r.stderr.contains(".alca.toml"), "{r}");

    // The table: a header and one row per container, with its runtime.
    let r = on_podman.ok(&["list"]);
    let header = r.stdout.lines().next().unwrap_or_default();
    for column in ["NAME", "RUNTIME", "STATUS", "PROJECT ID", "PROJECT PATH", "CREATED"] {
        assert!(header.contains(column), "{r}");
    }
    let row = |name: &Value| {
        let name = name.as_str().unwrap();
        r.stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no row for {name}:\n{r}")).to_string()
    };
    let docker_row = row(&d["name"]);
    let cols: Vec<&str> = docker_row.split_whitespace().collect();
    assert_eq!(cols[1..4], ["docker", "running", &docker_id[..12]], "{docker_row}");
    assert!(docker_row.contains(&on_docker.project.display().to_string()), "{docker_row}");
    let podman_row = row(&p["name"]);
    let cols: Vec<&str> = podman_row.split_whitespace().collect();
    assert_eq!(cols[1..4], ["podman", "exited", &podman_id[..12]], "{podman_row}");

    on_docker.ok(&["down"]);
    on_podman.ok(&["down"]);
    let list = on_docker.ok(&["list", "--json"]).json();
    assert!(with_project(&list["containers"], &docker_id).is_empty(), "{list}");
    assert!(with_project(&list["containers"], &podman_id).is_empty(), "{list}");
}

/// A world where docker is unreachable and podman keeps its containers in
/// an empty storage of its own.
fn isolated(env: &mut TestEnv) {
    let storage = env.root.join("podman-storage");
    std::fs::create_dir_all(&storage).unwrap();
    let conf = storage.join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
            storage.display()
        ),
    )
    .unwrap();
    env.set_env("CONTAINERS_STORAGE_CONF", &conf.display().to_string());
    env.set_env("DOCKER_HOST", &format!("unix://{}/no-docker.sock", env.root.display()));
}

#[test]
fn unavailable_runtimes_are_reported_not_fatal() {
    if !require_engine("docker") || !require_engine("podman") {
        return;
    }
    let mut env = TestEnv::new();
    isolated(&mut env);

    let list = env.ok(&["list", "--json"]).json();
    assert_eq!(list["containers"], serde_json::json!([]), "{list}");
    let unavailable: Vec<&Value> =
        list["unavailable"].as_array().unwrap().iter().filter(|u| u["runtime"] != "apple").collect();
    assert_eq!(unavailable.len(), 1, "{list}");
    assert_eq!(unavailable[0]["runtime"], "docker");
    assert!(unavailable[0]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{list}");

    let r = env.ok(&["list"]);
    assert_eq!(r.stdout, "No alca containers found.\n", "{r}");
    assert!(r.stderr.contains("note: runtime `docker`"), "{r}");

    let r = env.ok(&["cleanup"]);
    assert_eq!(r.stdout, "No orphan containers.\n", "{r}");
    let report = env.ok(&["cleanup", "--json"]).json();
    assert_eq!(report["orphans"], serde_json::json!([]), "{report}");
    assert_eq!(report["dry_run"], true);

    // No runtime at all: a clear error.
    for args in [&["list"][..], &["cleanup", "--yes"]] {
        let mut cmd = env.alca(args);
        cmd.env("PATH", "/nonexistent");
        let r = Run::of(cmd);
        assert_eq!(r.code, Some(1), "{args:?}: {r}");
        assert!(r.stderr.contains("no container runtime is available"), "{args:?}: {r}");
        assert!(r.stderr.contains("docker:") && r.stderr.contains("podman:"), "{args:?}: {r}");
    }
}

/// The project directory is deleted: its container is an orphan, removed
/// only with consent; live projects' containers (running or stopped) stay.
#[test]
fn cleanup_removes_the_container_of_a_deleted_project() {
    if !require_engine("docker") {
        return;
    }
    let _serial = orphan_lock();
    let gone = project_env("docker");
    let live = project_env("docker");
    let stopped = project_env("docker");
    for env in [&gone, &live, &stopped] {
        env.ok(&["up"]);
    }
    let (gone_id, live_id, stopped_id) = (project_id(&gone), project_id(&live), project_id(&stopped));
    let _leftovers = Leftovers(vec![("docker".into(), gone_id.clone())]);
    let orphan = containers_of("docker", &gone_id);
    assert_eq!(orphan.len(), 1);
    let stopped_container = containers_of("docker", &stopped_id);
    engine_out("docker", &["stop", "-t", "0", &stopped_container[0]]);
    std::fs::remove_dir_all(&gone.project).unwrap();

    // A dry run: reported, not removed.
    let report = live.ok(&["cleanup", "--json"]).json();
    assert_eq!(report["dry_run"], true, "{report}");
    let found = with_project(&report["orphans"], &gone_id);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["reason"], "project directory does not exist");
    assert_eq!(found[0]["runtime"], "docker");
    assert_eq!(found[0]["id"], orphan[0]);
    assert_eq!(found[0]["project_path"], gone.project.display().to_string());
    for id in [&live_id, &stopped_id] {
        assert!(with_project(&report["orphans"], id).is_empty(), "{report}");
    }
    assert!(report["removals"].as_array().unwrap().is_empty());
    assert_eq!(containers_of("docker", &gone_id), orphan);

    // No terminal, no --yes: listed, refused, nothing removed.
    let r = live.run(&["cleanup"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stdout.contains("orphan container(s):"), "{r}");
    assert!(r.stdout.contains(&gone.project.display().to_string()), "{r}");
    assert!(r.stdout.contains("Reason: project directory does not exist"), "{r}");
    assert!(r.stderr.contains("nothing was removed") && r.stderr.contains("--yes"), "{r}");
    let r = live.run(&["cleanup", "--all"]);
    assert_eq!(r.code, Some(1), "--all still needs consent:\n{r}");
    assert_eq!(containers_of("docker", &gone_id), orphan, "the orphan is still there");

    // --yes: removed; the live projects' containers are not.
    let r = live.ok(&["cleanup", "--yes"]);
    assert!(r.stderr.contains(&format!("Removing {}", name_of(found[0]))), "{r}");
    assert!(r.stdout.contains("✓ Removed"), "{r}");
    assert!(containers_of("docker", &gone_id).is_empty(), "the orphan was removed");
    assert_eq!(containers_of("docker", &live_id).len(), 1, "the live project's container stays");
    assert_eq!(containers_of("docker", &stopped_id), stopped_container, "the stopped project's container stays");
    let report = live.ok(&["cleanup", "--json"]).json();
    assert!(with_project(&report["orphans"], &gone_id).is_empty(), "{report}");

    live.ok(&["down"]);
    stopped.ok(&["down"]);
}

fn name_of(entry: &Value) -> String {
    entry["name"].as_str().unwrap().to_string()
}

/// The state file is deleted: the container is an orphan; after another
/// `up` (a new project id) the old container's reason is the id mismatch
/// and the new one is not an orphan. `--json --yes` removes and reports.
#[test]
fn cleanup_after_the_state_file_is_deleted() {
    if !require_engine("podman") {
        return;
    }
    let _serial = orphan_lock();
    let env = project_env("podman");
    env.ok(&["up"]);
    let old_id = project_id(&env);
    let _leftovers = Leftovers(vec![("podman".into(), old_id.clone())]);
    let old = containers_of("podman", &old_id);
    assert_eq!(old.len(), 1);
    std::fs::remove_file(env.project.join(".alca/state.json")).unwrap();

    let report = env.ok(&["cleanup", "--json"]).json();
    let found = with_project(&report["orphans"], &old_id);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["reason"], "state file (.alca/state.json) does not exist");
    assert_eq!(found[0]["runtime"], "podman");

    // A new sandbox for the same directory, under a new project id.
    env.ok(&["up"]);
    let new_id = project_id(&env);
    assert_ne!(new_id, old_id);
    let report = env.ok(&["cleanup", "--json"]).json();
    let found = with_project(&report["orphans"], &old_id);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["reason"], "project ID mismatch");
    assert!(with_project(&report["orphans"], &new_id).is_empty(), "{report}");

    let report = env.ok(&["cleanup", "--json", "--yes"]).json();
    assert_eq!(report["dry_run"], false, "{report}");
    let removals = report["removals"].as_array().unwrap();
    let ours: Vec<&Value> = removals.iter().filter(|r| r["id"] == old[0]).collect();
    assert_eq!(ours.len(), 1, "{report}");
    assert_eq!(ours[0]["removed"], true, "{report}");
    assert_eq!(ours[0]["runtime"], "podman");
    assert!(containers_of("podman", &old_id).is_empty(), "the old container was removed");
    assert_eq!(containers_of("podman", &new_id).len(), 1, "the new one stays");
    env.ok(&["run", "true"]);
    env.ok(&["down"]);
}

#[test]
fn completion_scripts_know_the_subcommands() {
    let env = TestEnv::new();
    let r = env.ok(&["completion", "bash"]);
    for word in ["_alca", "list", "cleanup", "completion", "man", "up", "down", "run", "status", "plugin"] {
        assert!(r.stdout.contains(word), "bash completion lacks {word:?}");
    }
    assert!(r.stdout.contains("complete -F _alca"), "a bash completion script");
    assert!(r.stdout.contains("--yes") && r.stdout.contains("--all"), "cleanup's options are completed");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let r = env.ok(&["completion", shell]);
        assert!(r.stdout.contains("cleanup"), "{shell}: {r}");
    }
    let r = env.run(&["completion", "tcsh"]);
    assert_eq!(r.code, Some(2), "{r}");
}

#[test]
fn man_pages_are_roff_with_the_subcommands() {
    let env = TestEnv::new();
    let r = env.ok(&["man"]);
    assert!(r.stdout.starts_with(".ie \\n(.g .ds Aq") || r.stdout.starts_with(".TH"), "roff:\n{}", &r.stdout[..200]);
    assert!(r.stdout.contains(".TH alca 1"), "the page for alca");
    for sub in ["list", "cleanup", "completion", "up", "down", "run", "status", "plugin"] {
        assert!(r.stdout.contains(&format!(".TH alca-{sub} 1")), "a page for {sub}");
    }
    assert!(r.stdout.contains("\\-\\-yes") || r.stdout.contains("\\-y"), "cleanup's options are documented");

    let dir = env.root.join("man1");
    env.ok(&["man", "--dir", &dir.display().to_string()]);
    for page in ["alca.1", "alca-list.1", "alca-cleanup.1", "alca-plugin-install.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}

/// `alca run` exits with the command's status, and 125 when alca itself
/// fails (as `docker run` does); other commands still fail with 1.
#[test]
fn run_exit_status_tells_alca_failures_from_the_command() {
    let env = project_env("docker");
    let r = env.run(&["run", "true"]);
    assert_eq!(r.code, Some(125), "not up:\n{r}");
    assert!(r.stderr.contains("no sandbox yet"), "{r}");
    let r = env.run(&["run"]);
    assert_eq!(r.code, Some(125), "usage error:\n{r}");
    let r = env.run(&["-v", "run"]);
    assert_eq!(r.code, Some(125), "usage error:\n{r}");
    let r = env.run(&["status", "--bogus"]);
    assert_eq!(r.code, Some(2), "other commands keep clap's usage status:\n{r}");
    let r = Run::of(env.alca_in(&env.root, &["run", "true"]));
    assert_eq!(r.code, Some(125), "no project:\n{r}");
    let r = Run::of(env.alca_in(&env.root, &["up"]));
    assert_eq!(r.code, Some(1), "other commands still fail with 1:\n{r}");
    // `status` reports instead (as the reference tool's does).
    let r = Run::of(env.alca_in(&env.root, &["status"]));
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("not initialized"), "{r}");

    if !require_engine("docker") {
        return;
    }
    env.ok(&["up"]);
    let r = env.run(&["run", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, Some(3), "{r}");
    let r = env.run(&["run", "sh", "-c", "exit 125"]);
    assert_eq!(r.code, Some(125), "the command's own 125 passes through:\n{r}");
    let container = containers_of("docker", &project_id(&env));
    engine_out("docker", &["stop", "-t", "0", &container[0]]);
    let r = env.run(&["run", "true"]);
    assert_eq!(r.code, Some(125), "stopped:\n{r}");
    assert!(r.stderr.contains("not running"), "{r}");
    env.ok(&["down"]);
}
