//! alca's own, runtime-neutral view of containers: what it asks a runtime
//! plugin for and what it gets back.
//!
//! These types mirror the `alca:runtime` contract but belong to alca: the
//! plugin host converts every supported contract version to and from them
//! at the plugin boundary (`plugin::v0_1`, `plugin::v0_2`), so operations,
//! the spec, the state and the config never see generated bindings, and
//! can grow without touching a released contract.

/// An ordered key/value pair (labels, environment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub kind: MountKind,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    pub cpus: Option<f64>,
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    pub drop: Vec<String>,
    pub add: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    UnlessStopped,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    Default,
    None,
    Named(String),
}

/// The container alca wants.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: Vec<KeyValue>,
    pub env: Vec<KeyValue>,
    pub mounts: Vec<Mount>,
    pub ports: Vec<PortMapping>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Vec<String>,
    pub resources: Resources,
    pub capabilities: Capabilities,
    pub restart: RestartPolicy,
    pub network: NetworkMode,
    pub init: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

/// A container as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    pub labels: Vec<KeyValue>,
    pub exit_code: Option<i32>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub ip_addresses: Vec<String>,
}

/// Containers carrying label `key` (with `value`, if given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    pub container: String,
    pub argv: Vec<String>,
    pub tty: bool,
    pub interactive: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub env: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

/// An invocation a plugin proposes for the terminal; alca checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPlan {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<KeyValue>,
}

/// What a runtime can express beyond the basics. A plugin built against
/// `alca:runtime@0.1.0` cannot say anything about the abilities added
/// later; alca takes them as present, as that contract required the plugin
/// to refuse (`invalid-spec`) what it could not express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    pub ports: bool,
    pub resource_limits: bool,
    pub capabilities: bool,
    pub restart_policy: bool,
    pub named_networks: bool,
    pub volumes: bool,
    pub tmpfs: bool,
    pub init: bool,
    pub read_only_mounts: bool,
    pub fractional_cpus: bool,
    pub port_host_ip: bool,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub id: String,
    pub name: String,
    pub runtime: String,
    pub version: String,
    pub features: Features,
}

/// Whether a runtime can be used right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub available: bool,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub hint: Option<String>,
    /// What the runtime, at the version detected, can express (when less
    /// than its plugin's `features`).
    pub features: Option<Features>,
    /// The smallest memory limit the runtime accepts.
    pub min_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailure {
    pub program: String,
    pub args: Vec<String>,
    pub exit_code: Option<i32>,
    pub stderr_tail: String,
}

/// A runtime's typed failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeError {
    NotAvailable(String),
    NotFound(String),
    Conflict(String),
    InvalidSpec(String),
    Unsupported(String),
    Denied(String),
    CommandFailed(CommandFailure),
    TimedOut(String),
    Parse(String),
}

/// A bridge network alca wants for a project (the optional `networks`
/// interface of the contract, since 0.2.0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkRequest {
    /// `alca-<12 hex>`.
    pub name: String,
    /// Put on the network; alca always sets `alca.project.id`.
    pub labels: Vec<(String, String)>,
    /// The host-side bridge interface alca would like (at most 15
    /// characters); a runtime that cannot choose it reports its own.
    pub interface: String,
}

/// A project's network as the runtime reports it. alca has checked that the
/// engine itself printed the interface, subnets and gateways in the call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkInfo {
    pub name: String,
    /// The host-side bridge interface carrying the network; `None` when it
    /// is not a bridge on this host (an engine in a VM).
    pub interface: Option<String>,
    /// CIDR subnets, e.g. `10.89.3.0/24`.
    pub subnets: Vec<String>,
    /// The host's addresses on the network.
    pub gateways: Vec<String>,
}
