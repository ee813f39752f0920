//! A plugin that tries to get out of its box. `HOSTILE_MODE` (read through
//! the granted `host.env`) picks the attack; it runs in `detect` (so `alca
//! status` and `alca up` trigger it) or, for plans, in `exec-plan` (`alca
//! run`). Without a mode it is a well-behaved fake runtime, which lets the
//! tests reach `exec-plan` through the real `up` and `run` paths.
//!
//! Every attack reports what it managed: if one ever succeeds, the plugin
//! says "available" with a version starting with `LEAKED`, so alca exits 0
//! and the test fails.

use alca_plugin_sdk::{
    Availability, Command, CommandPlan, ContainerInfo, ContainerSpec, ContainerState, ExecRequest, Features,
    PluginInfo, Runtime, RuntimeError, host,
};

struct Hostile;

fn mode() -> String {
    host::env("HOSTILE_MODE").unwrap_or_default()
}

fn marker() -> String {
    host::env("HOSTILE_MARKER").unwrap_or_else(|| "987.654".into())
}

fn refused(reason: String) -> Availability {
    Availability {
        available: false,
        version: None,
        reason: Some(reason),
        hint: None,
        features: None,
        min_memory_bytes: None,
    }
}

fn leaked(what: String) -> Availability {
    Availability {
        available: true,
        version: Some(format!("LEAKED {what}")),
        reason: None,
        hint: None,
        features: None,
        min_memory_bytes: None,
    }
}

fn spawn_result(cmd: Command) -> Availability {
    match cmd.run() {
        Ok(out) => leaked(format!("{} ran with exit {:?}", cmd.program(), out.exit_code)),
        Err(e) => refused(format!("spawn failed: {:?}", RuntimeError::from(e))),
    }
}

impl Runtime for Hostile {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            id: "hostile".into(),
            name: "Hostile".into(),
            runtime: "fake".into(),
            version: "0.1.0".into(),
            features: Features::empty(),
        }
    }

    fn detect(&self) -> Availability {
        match mode().as_str() {
            "undeclared" => spawn_result(Command::new("curl").arg("https://example.com")),
            "denied-arg" => spawn_result(Command::new("echo").args(["--privileged", "hi"])),
            "denied-arg-eq" => spawn_result(Command::new("echo").args(["--network=host", "hi"])),
            "denied-arg-pair" => spawn_result(Command::new("echo").args(["--network", "host"])),
            "path-program" => spawn_result(Command::new("/bin/echo").arg("hi")),
            "ungranted-env" => spawn_result(Command::new("echo").arg("hi").env("LD_PRELOAD", "/tmp/evil.so")),
            "sleep-forever" => spawn_result(Command::new("sleep").arg(marker())),
            "group" => spawn_result(
                Command::new("sh").args(["-c".to_string(), format!("sleep {m} & sleep {m}", m = marker())]),
            ),
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => {
                #[allow(unconditional_panic)]
                let v: Vec<u8> = Vec::new();
                let i = std::hint::black_box(7);
                refused(format!("index survived: {}", v[i]))
            }
            "wasi-fs" => {
                let mut report = Vec::new();
                for path in ["/etc/passwd", "/etc/hostname", ".", "/"] {
                    match std::fs::read_to_string(path) {
                        Ok(text) => return leaked(format!("read {path}: {}", text.lines().next().unwrap_or(""))),
                        Err(e) => report.push(format!("{path}: {e}")),
                    }
                    if let Ok(entries) = std::fs::read_dir(path) {
                        return leaked(format!("listed {path}: {} entries", entries.count()));
                    }
                }
                if std::fs::write("/tmp/alca-hostile-was-here", b"x").is_ok() {
                    return leaked("wrote /tmp/alca-hostile-was-here".into());
                }
                refused(format!("filesystem closed: {}", report.join("; ")))
            }
            "wasi-env" => {
                let vars: Vec<(String, String)> = std::env::vars().collect();
                if !vars.is_empty() {
                    return leaked(format!("saw {} variables, e.g. {}", vars.len(), vars[0].0));
                }
                if let Ok(home) = std::env::var("HOME") {
                    return leaked(format!("HOME={home}"));
                }
                if std::env::args().count() > 0 {
                    return leaked(format!("args: {:?}", std::env::args().collect::<Vec<_>>()));
                }
                if let Some(home) = host::env("HOME") {
                    return leaked(format!("host.env HOME={home}"));
                }
                refused("environment closed: no WASI variables, no args, host.env refuses HOME".into())
            }
            "wasi-net" => {
                let port = host::env("HOSTILE_PORT").unwrap_or_else(|| "9".into());
                match std::net::TcpStream::connect(format!("127.0.0.1:{port}")) {
                    Ok(_) => leaked(format!("connected to 127.0.0.1:{port}")),
                    Err(e) => refused(format!("network closed: {e}")),
                }
            }
            "flood" => {
                let chunk = "flooding alca's log\n".repeat(4096);
                for _ in 0..16 {
                    print!("{chunk}");
                    eprint!("{chunk}");
                }
                refused("flooded stdout and survived".into())
            }
            // Blocked in the host rather than looping: the deadline must hold.
            "sleep-hour" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                leaked("slept an hour".into())
            }
            "sleep-in-steps" => {
                for _ in 0..600 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                leaked("slept a minute in steps".into())
            }
            "spawn-then-sleep" => {
                let _ = Command::new("sh").args(["-c", "true"]).run();
                std::thread::sleep(std::time::Duration::from_secs(3600));
                leaked("slept after a spawn".into())
            }
            // Floods of what the host keeps or prints on the plugin's behalf.
            "deny-flood" => {
                let huge = "x".repeat(1 << 20);
                let mut seen = 0;
                for _ in 0..1000 {
                    if Command::new("curl").arg(&huge).run().is_err() {
                        seen += 1;
                    }
                }
                refused(format!("{seen} refusals and still here"))
            }
            "log-flood" => {
                host::warn(&"w".repeat(32 << 20));
                for i in 0..20_000 {
                    host::warn(&format!("warning number {i}"));
                }
                refused("logged 32 MiB and 20000 warnings".into())
            }
            "escapes" => {
                host::warn("\x1b]0;pwned\x07\x1b[2J\rforged line\u{202e}txet");
                let _ = Command::new("\x1b[31mred\rprogram").run();
                Availability {
                    available: false,
                    version: Some("1\x1b[8m".into()),
                    reason: Some("reason\r\x1b[1Aover the previous line\u{9b}2J".into()),
                    hint: Some("hint\x07".into()),
                    features: None,
                    min_memory_bytes: None,
                }
            }
            "what-the-plugin-sees" => {
                let denied = match Command::new("echo").arg("--privileged").run() {
                    Err(alca_plugin_sdk::SpawnError::Denied(text)) => text,
                    other => format!("{other:?}"),
                };
                let missing = match Command::new("not-granted").run() {
                    Err(alca_plugin_sdk::SpawnError::Denied(text)) => text,
                    other => format!("{other:?}"),
                };
                refused(format!("SAW[{denied}][{missing}]"))
            }
            "background" => spawn_result(
                Command::new("sh").args(["-c".to_string(), format!("sleep {m} > /dev/null 2>&1 &", m = marker())]),
            ),
            _ => Availability {
                available: true,
                version: Some("0.0.0-fake".into()),
                reason: None,
                hint: None,
                features: None,
                min_memory_bytes: None,
            },
        }
    }

    fn image_exists(&self, _image: &str) -> Result<bool, RuntimeError> {
        Ok(true)
    }

    /// The fake creates nothing: the container is known by the spec's name
    /// (the only id alca accepts from a plugin whose engine printed none).
    fn create(&self, spec: ContainerSpec) -> Result<String, RuntimeError> {
        Ok(spec.name)
    }

    fn start(&self, _id: &str) -> Result<(), RuntimeError> {
        Ok(())
    }

    fn stop(&self, _id: &str, _grace: Option<u32>) -> Result<(), RuntimeError> {
        Ok(())
    }

    fn remove(&self, _id: &str, _force: bool) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// The fake container carries the labels of the project the test set
    /// up (`HOSTILE_PROJECT` = `<id>|<path>`), as an engine would report them.
    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        if mode() == "big-error" {
            // A 40 MiB error message.
            return Err(RuntimeError::Conflict("e".repeat(40 << 20)));
        }
        let project = host::env("HOSTILE_PROJECT").unwrap_or_default();
        let Some((pid, path)) = project.split_once('|') else { return Ok(None) };
        let labels = vec![
            alca_plugin_sdk::KeyValue::new("alca.project.id", pid),
            alca_plugin_sdk::KeyValue::new("alca.project.path", path),
        ];
        Ok(Some(ContainerInfo {
            id: id.to_string(),
            name: "fake".into(),
            image: "fake".into(),
            state: ContainerState::Running,
            labels,
            exit_code: None,
            created_at: None,
            started_at: None,
            ip_addresses: Vec::new(),
        }))
    }

    fn list_containers(
        &self,
        s: Vec<alca_plugin_sdk::LabelSelector>,
        _all: bool,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        if mode() != "big-list" {
            return Ok(Vec::new());
        }
        // Many entries, most of them not matching what alca asked for.
        let labels: Vec<alca_plugin_sdk::KeyValue> = s
            .iter()
            .map(|s| alca_plugin_sdk::KeyValue::new(s.key.clone(), s.value.clone().unwrap_or_default()))
            .collect();
        Ok((0..100_000)
            .map(|i| ContainerInfo {
                id: format!("fake-{i}"),
                name: format!("n{i}"),
                image: "fake".into(),
                state: ContainerState::Exited,
                labels: if i == 0 { labels.clone() } else { Vec::new() },
                exit_code: None,
                created_at: None,
                started_at: None,
                ip_addresses: Vec::new(),
            })
            .collect())
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        let (program, args): (&str, Vec<String>) = match mode().as_str() {
            "plan-undeclared" => ("bash", vec!["-i".into()]),
            "plan-not-interactive" => ("sh", vec!["-c".into(), "id".into()]),
            "plan-denied-arg" => ("echo", vec!["--privileged".into()]),
            _ => ("echo", req.argv),
        };
        Ok(CommandPlan { program: program.into(), args, env: Vec::new() })
    }
}

alca_plugin_sdk::export_runtime!(Hostile = Hostile);
