//! What alca costs the engine (issue 9), counted, never timed: the engine
//! CLI spawns of a command are the `spawn: docker ...` / `spawn: podman ...`
//! lines of its `-v` log (core/src/plugin/broker.rs). `nft` (the host's
//! firewall) and other programs are not the engine and are not counted.
//!
//! * `alca run true`, container running: one spawn, the exec itself;
//! * `alca status`, container running: one spawn, the inspect;
//! * `alca list`: the same count with 1 and with 5 alca containers (one
//!   list, one batched inspect per runtime);
//! * `alca up` on a running container: one spawn;
//! * commands that need no plugin (`--version`, `completion`, a
//!   configuration error): no spawn, and no WebAssembly engine (the `-vv`
//!   line `time: wasmtime engine created` never appears).

mod support;

use std::process::Command;

use support::{Run, TestEnv, engine_out, require_engine, test_image};

/// The filter `-v` sets, for commands whose behaviour `-v` changes
/// (`alca status -v` also asks the engine its version).
const V_LOG: &str = "warn,alca=debug,alca_core=debug";

/// The engine CLI invocations among the `spawn:` lines of a log: the
/// command lines (program first) whose program is docker or podman.
fn engine_spawns(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("debug: ")?;
            // Spawns a plugin causes carry its id: `[docker] spawn: ...`.
            let rest = match rest.strip_prefix('[') {
                Some(tagged) => tagged.split_once("] ")?.1,
                None => rest,
            };
            rest.strip_prefix("spawn: ").map(command_of)
        })
        .filter(|cmd| matches!(cmd.split_whitespace().next(), Some("docker" | "podman")))
        .collect()
}

/// The command of a `spawn:` line, without alca's note on how it runs.
fn command_of(spawned: &str) -> String {
    for note in [" (replacing alca)", " (attached to the terminal)"] {
        if let Some(cmd) = spawned.strip_suffix(note) {
            return cmd.to_string();
        }
    }
    match spawned.rsplit_once(" (timeout ") {
        Some((cmd, rest)) if rest.ends_with(')') && !rest.contains(' ') => cmd.to_string(),
        _ => spawned.to_string(),
    }
}

/// Those of `engine` only.
fn spawns_of(log: &str, engine: &str) -> Vec<String> {
    engine_spawns(log).into_iter().filter(|c| c.split_whitespace().next() == Some(engine)).collect()
}

fn project(engine: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\nruntime = \"{engine}\"\n", test_image()));
    env
}

/// `alca <args>` with the `-v` log on, whatever the flags.
fn logged(env: &TestEnv, args: &[&str]) -> Run {
    let mut cmd = env.alca(args);
    cmd.env("ALCA_LOG", V_LOG);
    Run::of(cmd)
}

/// What a command cost, for the test's output (and the table).
fn report(engine: &str, what: &str, spawns: &[String]) {
    eprintln!("{engine}: `{what}`: {} engine spawn(s)", spawns.len());
    for s in spawns {
        eprintln!("    {s}");
    }
}

/// `run`, `status` and `up` against a running container, on one engine.
/// Every count is checked, and all are reported before the first failure.
fn running_container_costs(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = project(engine);
    env.ok(&["up"]);
    let mut wrong = Vec::new();
    let mut check = |what: &str, r: &Run, spawns: Vec<String>, want: usize, kind: &str| {
        report(engine, what, &spawns);
        if r.code != Some(0) {
            wrong.push(format!("`{what}` failed:\n{r}"));
        } else if spawns.len() != want || !spawns.iter().any(|s| s.contains(kind)) {
            wrong.push(format!("`{what}`: {} engine spawns, expected {want} ({kind}): {spawns:#?}", spawns.len()));
        }
    };

    let r = env.run(&["-v", "run", "true"]);
    let spawns = engine_spawns(&r.stderr);
    // stdin is /dev/null here: the engine is not asked to keep a stdin open.
    let asked_for_stdin = spawns.iter().any(|s| s.contains("--interactive"));
    check("alca -v run true", &r, spawns, 1, " exec ");

    // `-v` makes status ask for the engine's version too: the log alone,
    // with the filter `-v` sets, shows what a plain `alca status` costs.
    let r = logged(&env, &["status"]);
    check("alca status", &r, engine_spawns(&r.stderr), 1, " inspect ");
    let r = env.run(&["-v", "status"]);
    report(engine, "alca -v status", &engine_spawns(&r.stderr));

    let r = env.run(&["-v", "up"]);
    check("alca -v up (running)", &r, engine_spawns(&r.stderr), 1, " inspect ");

    // (Reported here: `check` holds `wrong` until its last use above.)
    if asked_for_stdin {
        wrong.push("`alca run` with stdin /dev/null asked the engine for --interactive".into());
    }

    // Still the same container, still running: nothing above changed it.
    let r = env.ok(&["run", "echo", "still here"]);
    assert_eq!(r.stdout, "still here\n", "{r}");

    // Input on stdin reaches the command (and only then is the exec interactive).
    let mut child = env
        .alca(&["-v", "run", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"from stdin\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!((out.status.code(), stdout.as_ref()), (Some(0), "from stdin\n"), "{stderr}");
    assert!(engine_spawns(&stderr).iter().any(|s| s.contains("--interactive")), "{stderr}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn docker_run_status_and_up_cost_one_spawn() {
    running_container_costs("docker");
}

#[test]
fn podman_run_status_and_up_cost_one_spawn() {
    running_container_costs("podman");
}

/// Removes the labelled containers a test created, when dropped.
struct Created(&'static str, Vec<String>);

impl Drop for Created {
    fn drop(&mut self) {
        if !self.1.is_empty() {
            let _ = Command::new(self.0).args(["rm", "-f"]).args(&self.1).output();
        }
    }
}

/// `alca list` costs the same with 1 and with 5 alca containers of this
/// test on `engine`: one `ls` and one `inspect` of all of them.
fn list_is_flat(engine: &'static str) {
    if !require_engine(engine) {
        return;
    }
    let env = project(engine);
    env.ok(&["up"]);
    let project_id = {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(env.project.join(".alca/state.json")).unwrap()).unwrap();
        state["project_id"].as_str().unwrap().to_string()
    };
    let prefix = format!("spawns-test-{}-", std::process::id());
    let mine = |id: &str| id == project_id || id.starts_with(&prefix);
    let count = |want_at_least: usize| {
        let r = env.run(&["-v", "list", "--json"]);
        assert_eq!(r.code, Some(0), "{r}");
        let listed = r.json()["containers"].as_array().expect("containers").clone();
        let on_engine = listed.iter().filter(|c| c["runtime"] == engine).count();
        let ours =
            listed.iter().filter(|c| c["runtime"] == engine && c["project_id"].as_str().is_some_and(mine)).count();
        assert!(ours >= want_at_least, "{ours} of this test's containers listed, expected {want_at_least}:\n{r}");
        let spawns = spawns_of(&r.stderr, engine);
        report(engine, &format!("alca -v list ({on_engine} alca containers on {engine})"), &spawns);
        spawns
    };

    let one = count(1);

    // Four more alca containers (labelled as alca labels them; created, not
    // started: `list` shows stopped ones too).
    let mut created = Created(engine, Vec::new());
    for i in 0..4 {
        let id = format!("{prefix}{engine}-{i}");
        let out = engine_out(
            engine,
            &[
                "container",
                "create",
                "--label",
                &format!("alca.project.id={id}"),
                "--label",
                &format!("alca.project.path={}", env.root.join(&id).display()),
                &test_image(),
                "true",
            ],
        );
        created.1.push(out.trim().to_string());
    }
    let five = count(5);

    assert_eq!(one.len(), five.len(), "{engine}: `alca list` spawns grew with the containers: {one:#?} then {five:#?}");
    assert_eq!(five.len(), 2, "{engine}: one list and one batched inspect: {five:#?}");
    assert!(five[0].contains(" ls ") && five[1].contains(" inspect "), "{five:#?}");

    // Naming the runtime asks that engine alone: the same two spawns, and
    // no other program.
    let r = env.run(&["-v", "list", "--runtime", engine, "--json"]);
    assert_eq!(r.code, Some(0), "{r}");
    let listed = r.json()["containers"].as_array().expect("containers").clone();
    assert!(listed.len() >= 5 && listed.iter().all(|c| c["runtime"] == engine), "{r}");
    let all = engine_spawns(&r.stderr);
    assert_eq!(all, spawns_of(&r.stderr, engine), "{engine}: only {engine} was asked: {all:#?}");
    assert_eq!(all.len(), 2, "{engine}: one list and one batched inspect: {all:#?}");
}

#[test]
fn docker_list_is_flat() {
    list_is_flat("docker");
}

#[test]
fn podman_list_is_flat() {
    list_is_flat("podman");
}

/// No spawn and no WebAssembly engine for commands that need no plugin;
/// the engine's creation is logged when a command does need one.
#[test]
fn commands_without_plugins_make_no_engine() {
    const ENGINE_LINE: &str = "time: wasmtime engine created";
    let env = TestEnv::new();
    let quiet = |r: &Run, what: &str| {
        assert!(!r.stderr.contains(ENGINE_LINE), "`{what}` created the wasmtime engine:\n{r}");
        assert!(!r.stderr.contains("spawn: "), "`{what}` spawned:\n{r}");
    };

    let r = env.ok(&["-vv", "--version"]);
    assert!(r.stdout.starts_with("alca "), "{r}");
    quiet(&r, "alca -vv --version");

    let r = env.ok(&["-vv", "completion", "bash"]);
    assert!(r.stdout.contains("alca"), "{r}");
    quiet(&r, "alca -vv completion bash");

    env.write_config("image = 3\n");
    for args in [&["-vv", "status"][..], &["-vv", "run", "true"], &["-vv", "up"]] {
        let r = env.run(args);
        assert_ne!(r.code, Some(0), "{args:?}: {r}");
        assert!(r.stderr.contains(".alca.toml"), "{args:?}: a configuration error names the file:\n{r}");
        quiet(&r, &format!("alca {}", args.join(" ")));
        assert!(r.stderr.contains("time: config refused"), "{args:?}: {r}");
    }
}

/// `-vv`: alca's own phases, timed; nothing of other crates (wasmtime,
/// cranelift...), whose debug output the old `-vv` let through.
#[test]
fn vv_shows_alcas_phases_only() {
    if !require_engine("docker") {
        return;
    }
    let env = project("docker");
    let r = env.run(&["-vv", "list", "--json"]);
    assert_eq!(r.code, Some(0), "{r}");
    for phase in [
        "time: arguments parsed, log ready (at ",
        "time: wasmtime engine created in ",
        "time: plugin `docker`: component (embedded, ",
        "time: plugin `docker`: instantiated in ",
        "time: plugin `docker`: `info` returned in ",
        "time: plugin `docker`: `list-containers` returned in ",
    ] {
        assert!(r.stderr.contains(phase), "no {phase:?} line:\n{r}");
    }
    assert!(
        r.stderr.contains("KiB component loaded from the compiled cache in ")
            || r.stderr.contains("KiB component compiled now"),
        "no plugin load line:\n{r}"
    );
    // Every spawn has its end, with its duration.
    let docker = spawns_of(&r.stderr, "docker");
    assert!(!docker.is_empty(), "{r}");
    for s in &docker {
        assert!(
            r.stderr.lines().any(|l| l.contains(" after ") && l.ends_with(s.as_str())),
            "no exit line for {s}:\n{r}"
        );
    }
    for line in r.stderr.lines() {
        let known =
            ["trace: ", "debug: ", "info: ", "warning: ", "error: ", "note: "].iter().any(|p| line.starts_with(p));
        assert!(known, "a line that is not alca's log: {line:?}\n{r}");
        // `log.target=` marks every line bridged from the `log` crate.
        for noise in ["log.target=", "cranelift", "wasmtime_", "regalloc", "wasmtime::", "wasi"] {
            assert!(
                !line.to_lowercase().contains(noise) || line.contains("wasmtime engine created"),
                "third-party noise: {line:?}"
            );
        }
    }
}
