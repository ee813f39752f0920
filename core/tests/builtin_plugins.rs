//! The built-in plugins, loaded from the components embedded in alca, get no
//! exemption: with a narrower manifest they are refused like anyone else.
//! Also: the compiled-component cache recovers from anything on disk.

use std::sync::Arc;

use alca_core::container;
use alca_core::plugin::{CacheOutcome, PluginError, PluginHost, PluginSource, cache};

fn host() -> PluginHost {
    PluginHost::new(None).expect("plugin host")
}

/// The docker-compatible built-ins (docker, podman). The Apple plugin
/// needs Apple's `container` to do anything at all: its grant's refusals are
/// tested in `core/src/plugin/grant/tests.rs` and its behaviour end to end
/// against the fake CLI in `tests/apple.rs`.
fn docker_compatible() -> Vec<PluginSource> {
    PluginSource::builtins().into_iter().filter(|b| b.id() != "apple").collect()
}

fn with_manifest(source: &PluginSource, edit: impl FnOnce(&mut alca_core::plugin::Manifest)) -> PluginSource {
    let mut m = (*source.manifest).clone();
    edit(&mut m);
    PluginSource { manifest: Arc::new(m), ..source.clone() }
}

#[tokio::test]
async fn builtins_without_grants_can_do_nothing() {
    let host = host();
    for builtin in docker_compatible() {
        let id = builtin.id().to_string();
        let source = with_manifest(&builtin, |m| m.programs.clear());
        let mut plugin = host.instantiate(&source, Default::default()).await.expect("instantiate");
        // detect cannot even find the program: it is not granted.
        let availability = plugin.detect().await.unwrap();
        assert!(!availability.available, "{id}: {availability:?}");
        let err = plugin.list_containers(&[], true).await.unwrap_err();
        match &err {
            // The host reports its own refusal, not the plugin's account of it.
            PluginError::Denied(d) => {
                let msg = d.to_string();
                assert!(msg.contains(&format!("plugin `{id}` may not run `{id} container ls")), "{msg}");
                assert!(msg.contains("is not among the programs its manifest grants"), "{msg}");
            }
            other => panic!("{id}: expected a denial, got {other}"),
        }
        assert_eq!(plugin.denials().len(), 1, "{id}: the host recorded the refusal");
    }
}

#[tokio::test]
async fn builtins_are_held_to_each_rule() {
    let host = host();
    for builtin in docker_compatible() {
        let id = builtin.id().to_string();
        // Everything but `container ls`.
        let source = with_manifest(&builtin, |m| {
            for p in &mut m.programs {
                p.allow.retain(|r| !r.source.contains("\"ls\""));
            }
        });
        let mut plugin = host.instantiate(&source, Default::default()).await.expect("instantiate");
        let err = plugin.list_containers(&[], false).await.unwrap_err().to_string();
        assert!(err.contains("no `allow` rule"), "{id}: {err}");
        assert!(err.contains(r#"{ args = ["container", "ls", "**"] }"#), "{id}: {err}");
    }
}

#[tokio::test]
async fn exec_plans_of_builtins_are_checked() {
    let host = host();
    for builtin in PluginSource::builtins() {
        let id = builtin.id().to_string();
        let source = with_manifest(&builtin, |m| {
            for p in &mut m.programs {
                for r in &mut p.allow {
                    r.interactive = false;
                }
            }
        });
        let mut plugin = host.instantiate(&source, Default::default()).await.expect("instantiate");
        let req = container::ExecRequest {
            container: "c".into(),
            argv: vec!["sh".into()],
            tty: true,
            interactive: true,
            user: None,
            workdir: None,
            env: vec![],
        };
        match plugin.exec_plan(&req).await {
            Err(PluginError::Denied(d)) => assert!(d.to_string().contains("not `interactive = true`"), "{id}: {d}"),
            Err(other) => panic!("{id}: expected a denial, got {other}"),
            Ok(cmd) => panic!("{id}: plan accepted: {}", cmd.display()),
        }
    }
}

#[test]
fn cache_recovers_from_missing_corrupt_and_stale_entries() {
    let host = host();
    let engine = host.engine();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("compiled");
    let builtin = &PluginSource::builtins()[0];
    let alca_core::plugin::ComponentSource::Static(bytes, _) = builtin.component else {
        panic!("built-ins are embedded")
    };
    let sha = cache::sha256_hex(bytes);
    let load = || cache::load(engine, bytes, &sha, Some(&dir)).map(|(_, o)| o).unwrap();

    assert_eq!(load(), CacheOutcome::Compiled);
    assert_eq!(load(), CacheOutcome::Hit);
    let entry = cache::entry_path(&dir, &sha, engine);
    let good = std::fs::read(&entry).unwrap();

    // Truncated (a crash mid-write by something else), garbage, one flipped bit.
    std::fs::write(&entry, &good[..good.len() / 2]).unwrap();
    assert_eq!(load(), CacheOutcome::Recompiled);
    std::fs::write(&entry, b"definitely not a compiled component").unwrap();
    assert_eq!(load(), CacheOutcome::Recompiled);
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0x10;
    std::fs::write(&entry, &flipped).unwrap();
    assert_eq!(load(), CacheOutcome::Recompiled);
    // ...and each time the entry was rewritten whole.
    assert_eq!(load(), CacheOutcome::Hit);

    // An entry for another engine configuration is simply another file.
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "the entry and its sidecar, no temporaries: {names:?}");
    assert!(names[0].to_string_lossy().starts_with(&sha));

    // An entry compiled from another component, put under this one's name,
    // is never loaded: entries are bound to the digest they were made from.
    let other = &PluginSource::builtins()[1];
    let alca_core::plugin::ComponentSource::Static(other_bytes, _) = other.component else { panic!() };
    let other_sha = cache::sha256_hex(other_bytes);
    std::fs::copy(&entry, cache::entry_path(&dir, &other_sha, engine)).unwrap();
    let outcome = cache::load(engine, other_bytes, &other_sha, Some(&dir)).unwrap().1;
    assert_eq!(outcome, CacheOutcome::Recompiled);

    // A FIFO where an entry should be neither hangs nor is used.
    std::fs::remove_file(&entry).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&entry).status().unwrap();
    assert!(status.success());
    assert_eq!(load(), CacheOutcome::Recompiled);
    assert_eq!(load(), CacheOutcome::Hit, "replaced by a real entry");
}

#[test]
fn a_cache_others_can_use_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let host = host();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("compiled");
    let builtin = &PluginSource::builtins()[0];
    let alca_core::plugin::ComponentSource::Static(bytes, _) = builtin.component else { panic!() };
    let sha = cache::sha256_hex(bytes);
    let load = || cache::load(host.engine(), bytes, &sha, Some(&dir)).map(|(_, o)| o).unwrap();
    assert_eq!(load(), CacheOutcome::Compiled);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(load(), CacheOutcome::Uncached, "a world-writable cache is never trusted");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let entry = cache::entry_path(&dir, &sha, host.engine());
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(load(), CacheOutcome::Recompiled, "an entry others can write is not used");
    assert_eq!(load(), CacheOutcome::Hit);
}

#[tokio::test]
async fn a_pinned_digest_must_match() {
    let host = host();
    let builtin = &PluginSource::builtins()[0];
    let source = with_manifest(builtin, |m| m.sha256 = Some("0".repeat(64)));
    let err = host.instantiate(&source, Default::default()).await.err().expect("refused").to_string();
    assert!(err.contains("but its manifest pins"), "{err}");
}

/// The other side of the grant's strictness: whatever spec alca asks for,
/// the built-in plugins' real argv is allowed. Run against a fake engine
/// CLI that accepts everything (the argv never reaches a real engine).
#[test]
fn builtins_may_create_every_spec() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;

    let bin = tempfile::tempdir().unwrap();
    for program in ["docker", "podman"] {
        let path = bin.path().join(program);
        // Written by another process: a descriptor this process held for
        // writing could leak into a child forked by a parallel test and make
        // the exec fail with "Text file busy".
        let source = bin.path().join(format!("{program}.source"));
        std::fs::write(&source, "#!/bin/sh\necho 0123456789abcdef\n").unwrap();
        let status =
            std::process::Command::new("install").arg("-m").arg("755").arg(&source).arg(&path).status().unwrap();
        assert!(status.success());
    }
    let env = [("PATH".to_string(), std::ffi::OsString::from(bin.path()))].into_iter().collect();
    let host = PluginHost::new(None).unwrap().with_environment(env);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let word = "[a-z0-9][a-z0-9._-]{0,8}";
    let path = prop::collection::vec(word, 1..4).prop_map(|c| format!("/{}", c.join("/")));
    let kv = |k: &str, v: String| container::KeyValue { key: k.to_string(), value: v };
    let mount =
        (0..3u8, path.clone(), path.clone(), word, any::<bool>()).prop_map(|(kind, source, target, volume, ro)| {
            match kind {
                0 => container::Mount { kind: container::MountKind::Bind, source, target, read_only: ro },
                1 => container::Mount { kind: container::MountKind::Volume, source: volume, target, read_only: ro },
                _ => {
                    container::Mount { kind: container::MountKind::Tmpfs, source: String::new(), target, read_only: ro }
                }
            }
        });
    let port = (
        prop::option::of(prop_oneof![Just("127.0.0.1"), Just("::1"), Just("0.0.0.0")]),
        prop::option::of(1u16..),
        1u16..,
        any::<bool>(),
    )
        .prop_map(|(ip, host_port, container_port, udp)| container::PortMapping {
            host_ip: ip.map(str::to_string),
            host_port,
            container_port,
            protocol: if udp { container::Protocol::Udp } else { container::Protocol::Tcp },
        });
    // Adding ALL is on the built-in grants' deny list: alca never asks for it.
    let cap = prop_oneof![Just("CHOWN"), Just("NET_BIND_SERVICE"), Just("cap_kill"), Just("setuid")];
    let spec = (
        prop::collection::vec(("[A-Z_][A-Z0-9_]{0,6}", "[ -~]{0,12}"), 0..4),
        prop::collection::vec(mount, 0..4),
        prop::collection::vec(port, 0..3),
        (prop::option::of(word), prop::option::of(prop::collection::vec(word, 1..3))),
        prop::collection::vec("[ -~]{0,8}", 1..4),
        (prop::option::of(0.1f64..64.0), prop::option::of(1u64..(1u64 << 40))),
        (prop::collection::vec(prop_oneof![Just("ALL"), cap.clone()], 0..3), prop::collection::vec(cap, 0..3)),
        (any::<bool>(), 0..3u8, word, any::<bool>()),
    )
        .prop_map(
            move |(
                env,
                mounts,
                ports,
                (user, entrypoint),
                command,
                (cpus, memory),
                (drop, add),
                (restart, net, name, init),
            )| {
                container::ContainerSpec {
                    name: "alca-0123456789ab".into(),
                    image: "docker.io/library/busybox:1".into(),
                    labels: vec![kv("alca.project.id", "p".into()), kv("alca.project.path", "/home/u/p".into())],
                    env: env.into_iter().map(|(k, v)| kv(&k, v)).collect(),
                    mounts,
                    ports,
                    workdir: Some("/workspace".into()),
                    user,
                    entrypoint,
                    command,
                    resources: container::Resources { cpus, memory_bytes: memory },
                    capabilities: container::Capabilities {
                        drop: drop.into_iter().map(str::to_string).collect(),
                        add: add.into_iter().map(str::to_string).collect(),
                    },
                    restart: if restart {
                        container::RestartPolicy::UnlessStopped
                    } else {
                        container::RestartPolicy::No
                    },
                    network: match net {
                        0 => container::NetworkMode::Default,
                        1 => container::NetworkMode::None,
                        _ => container::NetworkMode::Named(format!("net-{name}")),
                    },
                    init,
                }
            },
        );

    for builtin in docker_compatible() {
        let plugin = RefCell::new(rt.block_on(host.instantiate(&builtin, Default::default())).unwrap());
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let result = runner.run(&spec, |s| {
            let created = rt.block_on(plugin.borrow_mut().create(&s));
            match created {
                Ok(id) => prop_assert_eq!(id, "0123456789abcdef"),
                // The plugin may find a spec inexpressible (its own check), never the grant.
                Err(PluginError::Runtime { error: container::RuntimeError::InvalidSpec(_), .. }) => {}
                Err(e) => prop_assert!(false, "{}: refused {:?}: {}", builtin.id(), s, e),
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
