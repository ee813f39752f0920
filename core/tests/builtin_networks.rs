//! The optional `networks` interface of the built-in plugins, on the real
//! engines: a project's own bridge network is created (idempotently),
//! reported with the interface the host keys its firewall on, refused while
//! a container uses it, and removed. Networks are named `alca-t<hex>` and
//! removed whatever happens.

use std::process::Command;
use std::sync::Arc;

use alca_core::container::{NetworkInfo, NetworkRequest, RuntimeError};
use alca_core::plugin::{PluginError, PluginHost, PluginInstance, PluginSource};

const IMAGE: &str = "alca-test-busybox:latest";

/// Is `engine` running? Outside CI, `ALCA_TEST_SKIP_MISSING_ENGINES=1` skips
/// the engine's part instead of failing (as in tests/support).
fn require_engine(engine: &str) -> bool {
    let ok = Command::new(engine).arg("version").output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        return true;
    }
    let may_skip =
        std::env::var("ALCA_TEST_SKIP_MISSING_ENGINES").as_deref() == Ok("1") && std::env::var_os("CI").is_none();
    if may_skip {
        eprintln!("SKIPPED: the {engine} engine is not available (ALCA_TEST_SKIP_MISSING_ENGINES=1)");
        return false;
    }
    panic!("the {engine} engine is not available; run scripts/provision.sh (as root) to install and start it");
}

fn hex12() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Removes what a test made on `engine`, even when it fails.
struct Cleanup {
    engine: &'static str,
    containers: Vec<String>,
    networks: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = force_remove(self.engine, c);
        }
        for n in &self.networks {
            let _ = Command::new(self.engine).args(["network", "rm", n]).output();
        }
    }
}

fn engine(engine: &str, args: &[&str]) -> std::process::Output {
    Command::new(engine).args(args).output().expect("run the engine CLI")
}

/// `rm -f`, without podman's 10 s of waiting for busybox's PID 1 to stop.
fn force_remove(id: &str, container: &str) -> std::process::Output {
    match id {
        "podman" => engine(id, &["rm", "-f", "-t", "0", container]),
        _ => engine(id, &["rm", "-f", container]),
    }
}

fn builtin(id: &str) -> PluginSource {
    PluginSource::builtins().into_iter().find(|b| b.id() == id).expect("built-in plugin")
}

async fn plugin(source: &PluginSource) -> PluginInstance {
    PluginHost::new(None).unwrap().instantiate(source, Default::default()).await.expect("instantiate")
}

fn request(name: &str, interface: &str, project: &str) -> NetworkRequest {
    NetworkRequest {
        name: name.to_string(),
        labels: vec![("alca.project.id".into(), project.into()), ("alca.version".into(), "test".into())],
        interface: interface.to_string(),
    }
}

fn runtime_error(e: &PluginError) -> &RuntimeError {
    e.runtime_error().unwrap_or_else(|| panic!("expected the plugin's own error, got {e}"))
}

async fn lifecycle(id: &'static str) {
    if !require_engine(id) {
        return;
    }
    let hex = hex12();
    let name = format!("alca-t{hex}");
    let interface = format!("alt{hex}");
    let container = format!("{name}-c");
    let _cleanup = Cleanup { engine: id, containers: vec![container.clone()], networks: vec![name.clone()] };
    let mut p = plugin(&builtin(id)).await;
    assert!(p.has_networks(), "{id} exports networks");
    let req = request(&name, &interface, &hex);

    let info: NetworkInfo = p.network_create(&req).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(info.name, name);
    let iface = info.interface.clone().expect("the engine's bridges are on this host");
    match id {
        // docker takes the name alca asks for...
        "docker" => assert_eq!(iface, interface),
        // ...podman 4 chooses its own (`podman<N>`).
        _ => assert!(iface.starts_with("podman") || iface == interface, "{iface}"),
    }
    assert!(!info.subnets.is_empty() && info.subnets.iter().all(|s| s.contains('/')), "{info:?}");
    assert!(!info.gateways.is_empty(), "{info:?}");
    // The engine's own view: a bridge with alca's labels.
    let inspect = String::from_utf8_lossy(&engine(id, &["network", "inspect", &name]).stdout).into_owned();
    assert!(inspect.contains(&format!("\"alca.project.id\": \"{hex}\"")), "{inspect}");
    assert!(inspect.contains("\"bridge\""), "{inspect}");

    // Idempotent: the same network again.
    let again = p.network_create(&req).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(again, info);

    // A container on it: the bridge is on the host, and the network cannot go.
    let run = engine(id, &["run", "-d", "--name", &container, "--network", &name, IMAGE, "sleep", "300"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(std::path::Path::new(&format!("/sys/class/net/{iface}/bridge")).exists(), "{iface} is a host bridge");
    let err = p.network_remove(&name).await.unwrap_err();
    assert!(matches!(runtime_error(&err), RuntimeError::Conflict(_)), "{id}: {err}");

    let rm = force_remove(id, &container);
    assert!(rm.status.success(), "{}", String::from_utf8_lossy(&rm.stderr));
    p.network_remove(&name).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert!(!engine(id, &["network", "inspect", &name]).status.success(), "{id}: removed");
    // Removing what is not there is not an error.
    p.network_remove(&name).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert!(p.denials().is_empty(), "{id}: {:?}", p.denials());
}

#[tokio::test]
async fn docker_gives_a_project_its_own_bridge() {
    lifecycle("docker").await;
}

#[tokio::test]
async fn podman_gives_a_project_its_own_bridge() {
    lifecycle("podman").await;
}

/// A network of that name that is not the project's (no alca labels, or
/// another driver) is not taken over.
#[tokio::test]
async fn a_foreign_network_of_that_name_is_a_conflict() {
    for id in ["docker", "podman"] {
        if !require_engine(id) {
            continue;
        }
        let hex = hex12();
        let name = format!("alca-t{hex}");
        let _cleanup = Cleanup { engine: id, containers: vec![], networks: vec![name.clone()] };
        let made = engine(id, &["network", "create", "--label", "alca.project.id=someone-else", &name]);
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let mut p = plugin(&builtin(id)).await;
        let err = p.network_create(&request(&name, &format!("alt{hex}"), &hex)).await.unwrap_err();
        assert!(matches!(runtime_error(&err), RuntimeError::Conflict(m) if m.contains("labels")), "{id}: {err}");
    }
}

/// The grant binds every value: with the `network create` rule gone, the
/// call is refused by the host, and nothing is created.
#[tokio::test]
async fn network_commands_are_held_to_the_grant() {
    for id in ["docker", "podman"] {
        if !require_engine(id) {
            continue;
        }
        let hex = hex12();
        let name = format!("alca-t{hex}");
        let _cleanup = Cleanup { engine: id, containers: vec![], networks: vec![name.clone()] };
        let source = builtin(id);
        let mut m = (*source.manifest).clone();
        for p in &mut m.programs {
            p.allow.retain(|r| !(r.source.contains("\"network\"") && r.source.contains("\"create\"")));
        }
        let source = PluginSource { manifest: Arc::new(m), ..source };
        let mut p = plugin(&source).await;
        let err = p.network_create(&request(&name, &format!("alt{hex}"), &hex)).await.unwrap_err();
        assert!(matches!(err, PluginError::Denied(_)), "{id}: {err}");
        assert!(err.to_string().contains("network create"), "{id}: {err}");
        assert!(!engine(id, &["network", "inspect", &name]).status.success(), "{id}: nothing was created");
    }
}

/// A runtime without the interface: alca says so without calling the plugin.
#[tokio::test]
async fn a_runtime_without_networks_says_so() {
    let mut p = plugin(&builtin("apple")).await;
    assert!(!p.has_networks());
    let err = p.network_create(&request("alca-t0", "alt0", "p")).await.unwrap_err();
    match runtime_error(&err) {
        RuntimeError::Unsupported(m) => assert!(m.contains("cannot give a project a network of its own"), "{m}"),
        other => panic!("{other:?}"),
    }
    let err = p.network_remove("alca-t0").await.unwrap_err();
    assert!(matches!(runtime_error(&err), RuntimeError::Unsupported(_)), "{err}");
}
