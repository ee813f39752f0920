//! The project's network isolation in `up`, `down`, `cleanup` and `status`
//! (the firewall itself is `crate::netiso`).

use crate::Error;
use crate::config::Config;
use crate::container;
use crate::netiso::{self, Firewall, Ruleset};
use crate::plugin::PluginInstance;
use crate::project::Project;
use crate::report::Reporter;
use crate::state::{ProjectNetwork, State};

fn isolation_error(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Isolation { message: message.into(), hint: hint.into() }
}

/// The runtime has no networks for the firewall to key its rules on.
fn no_networks(plugin: &PluginInstance, detail: &str) -> Error {
    isolation_error(
        format!("the `{}` runtime cannot give the project a network of its own{detail}", plugin.id()),
        format!("use the built-in `docker` or `podman` runtime on Linux; {}", netiso::OPT_OUT),
    )
}

/// Before the container is created or started: the project's network
/// exists and its firewall rules are loaded (so they are in force before
/// anything runs in the container). Records the network in the state.
/// `container_on_it`: an existing container uses the network the state
/// records, so it exists and need not be asked for again.
pub(super) async fn prepare(
    plugin: &mut PluginInstance,
    project: &Project,
    config: &Config,
    state: &mut State,
    container_on_it: bool,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let fw = Firewall::new();
    fw.preflight()?;
    if !plugin.has_networks() {
        return Err(no_networks(plugin, ", which alca's firewall rules need"));
    }
    fw.authorize(std::io::IsTerminal::is_terminal(&std::io::stderr())).await?;
    for table in fw.sweep_stale().await {
        reporter.step(&format!("Removed stale firewall rules {table} (their project is gone)"));
    }
    if container_on_it && state.network.is_some() {
        return apply(&fw, project, config, state, reporter).await;
    }
    let name = state.container_name.clone();
    let request = container::NetworkRequest {
        name: name.clone(),
        labels: vec![
            (crate::spec::LABEL_PROJECT_ID.to_string(), state.project_id.clone()),
            (crate::spec::LABEL_PROJECT_PATH.to_string(), project.root.display().to_string()),
        ],
        interface: netiso::interface_name(&name),
    };
    let info = match plugin.network_create(&request).await {
        Ok(info) => info,
        Err(e) if matches!(e.runtime_error(), Some(container::RuntimeError::Unsupported(_))) => {
            return Err(no_networks(plugin, &format!(" ({e})")));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(interface) = info.interface.filter(|i| valid_interface(i)) else {
        return Err(isolation_error(
            format!(
                "the `{}` runtime's network {name} is not a bridge on this host (a rootless engine, or one in a VM)",
                plugin.id()
            ),
            format!("use a rootful docker or podman engine on this machine; {}", netiso::OPT_OUT),
        ));
    };
    let network = ProjectNetwork { name, interface, subnets: info.subnets, gateways: info.gateways };
    if state.network.as_ref() != Some(&network) {
        state.network = Some(network);
        state.save(project)?;
    }
    apply(&fw, project, config, state, reporter).await
}

/// Loads the rules the configuration gives, unless exactly those are loaded.
async fn apply(
    fw: &Firewall,
    project: &Project,
    config: &Config,
    state: &State,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let Some(network) = &state.network else { return Ok(()) };
    let host_ip = network.gateways.iter().filter_map(|g| g.parse::<std::net::IpAddr>().ok()).find(|ip| ip.is_ipv4());
    let resolved = config
        .network
        .resolve(host_ip)
        .map_err(|m| isolation_error(m, "fix `network` in .alca.toml and run `alca up` again"))?;
    let dir = project.root.display().to_string();
    let ruleset = Ruleset {
        table: &state.container_name,
        interface: &network.interface,
        project_dir: &dir,
        project_id: &state.project_id,
        isolate: !resolved.allow_all,
        allow: &resolved.rules,
        proxy: resolved.proxy,
        subnets: &network.subnets,
    };
    if fw.is_current(&ruleset).await {
        return Ok(());
    }
    match (ruleset.isolate, resolved.proxy) {
        (true, Some(p)) => reporter
            .step(&format!("Applying network isolation rules and the transparent proxy (TCP → {}:{})", p.ip, p.port)),
        (true, None) => reporter.step("Applying network isolation rules"),
        (false, Some(p)) => reporter.step(&format!("Applying transparent proxy rules (TCP → {}:{})", p.ip, p.port)),
        (false, None) => {}
    }
    fw.apply(&ruleset).await?;
    Ok(())
}

/// After the container started: its network's bridge is on this host, where
/// the rules see it. If not (a rootless engine's or a VM's network), the
/// container is stopped: it must not run unisolated.
pub(super) async fn verify(
    plugin: &mut PluginInstance,
    info: &container::ContainerInfo,
    state: &State,
) -> Result<(), Error> {
    let Some(network) = &state.network else { return Ok(()) };
    let bridge = std::path::Path::new("/sys/class/net").join(&network.interface).join("bridge");
    if bridge.is_dir() {
        return Ok(());
    }
    let _ = plugin.stop(&info.id, Some(0)).await;
    Err(isolation_error(
        format!(
            "the network's bridge `{}` is not on this host's network stack, where the firewall rules apply (a rootless engine, or one in a VM); alca stopped container {}",
            network.interface, info.name
        ),
        format!("use a rootful docker or podman engine on this machine; {}", netiso::OPT_OUT),
    ))
}

/// Removes what `up` installed for a project whose container is gone: its
/// firewall table and file, and its network. Failures are warnings: the
/// container is already removed, and a later `down` or `cleanup` (or the
/// stale-rule sweep of any `up`) retries.
pub(super) async fn teardown(plugin: &mut PluginInstance, table: &str, had_network: bool, reporter: &dyn Reporter) {
    let fw = Firewall::new();
    if had_network || netiso::rule_file(table).exists() {
        match fw.remove(table).await {
            Ok(()) => reporter.step(&format!("Removed firewall rules {table}")),
            Err(e) => reporter.warn(&format!("could not remove firewall rules {table}: {e} ({})", e.hint)),
        }
    }
    if had_network && plugin.has_networks() {
        match plugin.network_remove(table).await {
            Ok(()) => reporter.step(&format!("Removed network {table}")),
            Err(e) => reporter.warn(&format!("could not remove network {table}: {e}")),
        }
    }
    if netiso::has_rule_files() {
        for stale in fw.sweep_stale().await {
            reporter.step(&format!("Removed stale firewall rules {stale} (their project is gone)"));
        }
    }
}

/// What `alca status` says about the project's isolation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetworkStatus {
    /// `active`, `off` (lan-access = ["*"]), `missing` (the rules should be
    /// loaded and are not), `not-applied` (no container, or one created
    /// without isolation), or `unknown` (the firewall could not be read).
    pub isolation: &'static str,
    pub interface: Option<String>,
    /// `lan-access` as written.
    pub rules: Vec<String>,
    pub proxy: Option<String>,
    /// Connection attempts refused since the rules were loaded.
    pub refused: u64,
    /// The newest refused destinations first.
    pub recent: Vec<String>,
    /// Why, when not active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub(super) async fn status(config: &Config, state: Option<&State>, container_exists: bool) -> NetworkStatus {
    let mut s = NetworkStatus {
        isolation: "active",
        interface: state.and_then(|st| st.network.as_ref()).map(|n| n.interface.clone()),
        rules: config.network.lan_access.iter().map(|e| e.text.clone()).collect(),
        proxy: config.network.proxy.as_ref().map(|e| e.text.clone()),
        refused: 0,
        recent: Vec::new(),
        note: None,
    };
    if config.network.allows_all() {
        s.isolation = "off";
        s.note = Some("network.lan-access holds \"*\": the container can reach private addresses".into());
        if s.proxy.is_none() {
            return s;
        }
    }
    let Some(state) = state.filter(|_| container_exists) else {
        s.isolation = if s.isolation == "off" { "off" } else { "not-applied" };
        s.note.get_or_insert_with(|| "no container; `alca up` applies it".into());
        return s;
    };
    if state.network.is_none() || !created_on_network(state) {
        if s.isolation != "off" {
            s.isolation = "not-applied";
            s.note = Some(
                "the container was created without a network of its own; `alca up -f` recreates it isolated".into(),
            );
        }
        return s;
    }
    let fw = Firewall::new();
    match fw.table(&state.container_name).await {
        Ok(Some(t)) => {
            s.refused = t.refused;
            s.recent = t.recent;
        }
        Ok(None) => {
            s.isolation = "missing";
            s.note = Some(format!(
                "the firewall rules are not loaded (was the ruleset flushed?); `alca up` loads them again from {}",
                netiso::rule_file(&state.container_name).display()
            ));
        }
        Err(e) => {
            s.isolation = "unknown";
            s.note = Some(format!("{e}"));
        }
    }
    s
}

/// Whether the container was created on the project's own network.
pub(super) fn created_on_network(state: &State) -> bool {
    state.created_from.as_ref().and_then(|b| b.spec.get("network")).is_some_and(|n| n.get("named").is_some())
}

/// An interface name the firewall can match: what Linux accepts.
fn valid_interface(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}
