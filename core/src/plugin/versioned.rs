// One contract version's boundary: included by `v0_1.rs` and `v0_2.rs`,
// right after their `bindgen!`, so that every name below resolves to that
// version's generated types. The host side of the imports is shared
// (`PluginState::process_run` and friends); what is here only converts.
//
// A version that changes a type gets its own conversion in its module and
// this file stops using the shared one; nothing outside the plugin host
// ever sees generated types.

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Linker};

use self::alca::runtime::{host as wit_host, process as wit_process, types as wit};
use super::broker::{OutputMode, SpawnOutput, SpawnRequest};
use super::host::{PluginState, RunFailure};
use crate::container as c;

// ---- imports -----------------------------------------------------------

impl wit::Host for PluginState {}

impl wit_process::Host for PluginState {
    async fn run(
        &mut self,
        req: wit_process::RunRequest,
    ) -> wasmtime::Result<Result<wit_process::RunOutput, wit_process::SpawnError>> {
        let mode = |m: wit_process::OutputMode| match m {
            wit_process::OutputMode::Capture => OutputMode::Capture,
            wit_process::OutputMode::ToUser => OutputMode::ToUser,
            wit_process::OutputMode::Discard => OutputMode::Discard,
        };
        let request = SpawnRequest {
            program: req.program,
            args: req.args,
            env: req.env.into_iter().map(|kv| (kv.key, kv.value)).collect(),
            stdin: req.stdin,
            timeout: req.timeout_ms.map(|ms| std::time::Duration::from_millis(ms.into())),
            stdout: mode(req.stdout),
            stderr: mode(req.stderr),
        };
        Ok(match self.process_run(request).await? {
            Ok(out) => Ok(run_output(out)),
            Err(RunFailure::Denied(text)) => Err(wit_process::SpawnError::Denied(text)),
            Err(RunFailure::ProgramNotFound(text)) => Err(wit_process::SpawnError::ProgramNotFound(text)),
            Err(RunFailure::TimedOut(out)) => Err(wit_process::SpawnError::TimedOut(run_output(out))),
            Err(RunFailure::Io(text)) => Err(wit_process::SpawnError::Io(text)),
        })
    }

    fn locate(&mut self, program: String) -> wasmtime::Result<Option<String>> {
        Ok(self.locate_program(&program))
    }
}

fn run_output(out: SpawnOutput) -> wit_process::RunOutput {
    wit_process::RunOutput {
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        truncated: out.truncated,
        duration_ms: super::host::duration_ms(out.duration),
    }
}

fn level(level: wit_host::Level) -> tracing::Level {
    match level {
        wit_host::Level::Trace => tracing::Level::TRACE,
        wit_host::Level::Debug => tracing::Level::DEBUG,
        wit_host::Level::Info => tracing::Level::INFO,
        wit_host::Level::Warn => tracing::Level::WARN,
        wit_host::Level::Error => tracing::Level::ERROR,
    }
}

impl wit_host::Host for PluginState {
    fn log(&mut self, l: wit_host::Level, message: String) -> wasmtime::Result<()> {
        PluginState::log(self, level(l), &message);
        Ok(())
    }

    fn info(&mut self) -> wasmtime::Result<wit_host::HostInfo> {
        let (os, arch, alca_version) = super::host::host_facts();
        Ok(wit_host::HostInfo { os, arch, alca_version })
    }

    fn env(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.host_env(&name))
    }
}

/// Links this version's imports. `host.log` is replaced by one that reads
/// the message where it lies in the guest's memory and keeps a bounded
/// prefix: a plugin that logs 32 MiB does not make alca copy 32 MiB.
pub(crate) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    use wasmtime::component::{HasSelf, WasmStr};
    RuntimePlugin::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    linker.allow_shadowing(true);
    linker.instance(&format!("alca:runtime/host@{VERSION}"))?.func_wrap(
        "log",
        |mut store: wasmtime::StoreContextMut<'_, PluginState>, (l, message): (wit_host::Level, WasmStr)| {
            let message = match message.to_str(&store) {
                Ok(m) => super::text::line(&m),
                Err(_) => "(a log message that is not UTF-8)".to_string(),
            };
            store.data_mut().log(level(l), &message);
            Ok(())
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

// ---- exports -----------------------------------------------------------

/// This version's `runtime` export, and its optional `networks` export
/// where the version has one and the component exports it, called with
/// alca's own types.
pub(crate) struct Exports {
    runtime: RuntimePlugin,
    networks: Option<NetworksExport>,
}

type Call<T> = wasmtime::Result<Result<T, c::RuntimeError>>;

fn result<T, U>(r: wasmtime::Result<Result<T, wit::RuntimeError>>, f: impl FnOnce(T) -> U) -> Call<U> {
    Ok(r?.map(f).map_err(runtime_error))
}

impl Exports {
    pub async fn instantiate(pre: &InstancePre<PluginState>, store: &mut Store<PluginState>) -> wasmtime::Result<Self> {
        let indices = RuntimePluginIndices::new(pre)?;
        let instance: Instance = pre.instantiate_async(&mut *store).await?;
        let runtime = indices.load(&mut *store, &instance)?;
        let networks = load_networks(pre, store, &instance)?;
        Ok(Exports { runtime, networks })
    }

    fn rt(&self) -> &exports::alca::runtime::runtime::Guest {
        self.runtime.alca_runtime_runtime()
    }

    /// Does the component export the optional `networks` interface?
    pub fn has_networks(&self) -> bool {
        self.networks.is_some()
    }

    pub async fn info(&self, store: &mut Store<PluginState>) -> wasmtime::Result<c::PluginInfo> {
        let i = self.rt().call_info(store).await?;
        Ok(c::PluginInfo {
            id: i.id,
            name: i.name,
            runtime: i.runtime,
            version: i.version,
            features: features(i.features),
        })
    }

    pub async fn detect(&self, store: &mut Store<PluginState>) -> wasmtime::Result<c::Availability> {
        let a = self.rt().call_detect(store).await?;
        Ok(availability(a))
    }

    pub async fn image_exists(&self, store: &mut Store<PluginState>, image: &str) -> Call<bool> {
        result(self.rt().call_image_exists(store, image).await, |b| b)
    }

    pub async fn image_pull(&self, store: &mut Store<PluginState>, image: &str) -> Call<()> {
        result(self.rt().call_image_pull(store, image).await, |()| ())
    }

    pub async fn create(&self, store: &mut Store<PluginState>, spec: &c::ContainerSpec) -> Call<String> {
        result(self.rt().call_create(store, &container_spec(spec)).await, |id| id)
    }

    pub async fn start(&self, store: &mut Store<PluginState>, id: &str) -> Call<()> {
        result(self.rt().call_start(store, &id.to_string()).await, |()| ())
    }

    pub async fn stop(&self, store: &mut Store<PluginState>, id: &str, grace_secs: Option<u32>) -> Call<()> {
        result(self.rt().call_stop(store, &id.to_string(), grace_secs).await, |()| ())
    }

    pub async fn remove(&self, store: &mut Store<PluginState>, id: &str, force: bool) -> Call<()> {
        result(self.rt().call_remove(store, &id.to_string(), force).await, |()| ())
    }

    pub async fn inspect(&self, store: &mut Store<PluginState>, id: &str) -> Call<Option<c::ContainerInfo>> {
        result(self.rt().call_inspect(store, &id.to_string()).await, |i| i.map(container_info))
    }

    pub async fn list_containers(
        &self,
        store: &mut Store<PluginState>,
        selector: &[c::LabelSelector],
        include_stopped: bool,
    ) -> Call<Vec<c::ContainerInfo>> {
        let selector: Vec<wit::LabelSelector> =
            selector.iter().map(|s| wit::LabelSelector { key: s.key.clone(), value: s.value.clone() }).collect();
        result(self.rt().call_list_containers(store, &selector, include_stopped).await, |l| {
            l.into_iter().map(container_info).collect()
        })
    }

    pub async fn exec(&self, store: &mut Store<PluginState>, req: &c::ExecRequest) -> Call<c::ExecOutput> {
        result(self.rt().call_exec(store, &exec_request(req)).await, |o| c::ExecOutput {
            exit_code: o.exit_code,
            stdout: o.stdout,
            stderr: o.stderr,
            truncated: o.truncated,
        })
    }

    pub async fn exec_plan(&self, store: &mut Store<PluginState>, req: &c::ExecRequest) -> Call<c::CommandPlan> {
        result(self.rt().call_exec_plan(store, &exec_request(req)).await, |p| c::CommandPlan {
            program: p.program,
            args: p.args,
            env: p.env.into_iter().map(key_value_in).collect(),
        })
    }
}

// ---- conversions -------------------------------------------------------

fn key_value(kv: &c::KeyValue) -> wit::KeyValue {
    wit::KeyValue { key: kv.key.clone(), value: kv.value.clone() }
}

fn key_value_in(kv: wit::KeyValue) -> c::KeyValue {
    c::KeyValue { key: kv.key, value: kv.value }
}

fn container_spec(s: &c::ContainerSpec) -> wit::ContainerSpec {
    wit::ContainerSpec {
        name: s.name.clone(),
        image: s.image.clone(),
        labels: s.labels.iter().map(key_value).collect(),
        env: s.env.iter().map(key_value).collect(),
        mounts: s
            .mounts
            .iter()
            .map(|m| wit::Mount {
                kind: match m.kind {
                    c::MountKind::Bind => wit::MountKind::Bind,
                    c::MountKind::Volume => wit::MountKind::Volume,
                    c::MountKind::Tmpfs => wit::MountKind::Tmpfs,
                },
                source: m.source.clone(),
                target: m.target.clone(),
                read_only: m.read_only,
            })
            .collect(),
        ports: s
            .ports
            .iter()
            .map(|p| wit::PortMapping {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port,
                container_port: p.container_port,
                protocol: match p.protocol {
                    c::Protocol::Tcp => wit::Protocol::Tcp,
                    c::Protocol::Udp => wit::Protocol::Udp,
                },
            })
            .collect(),
        workdir: s.workdir.clone(),
        user: s.user.clone(),
        entrypoint: s.entrypoint.clone(),
        command: s.command.clone(),
        resources: wit::Resources { cpus: s.resources.cpus, memory_bytes: s.resources.memory_bytes },
        capabilities: wit::Capabilities { drop: s.capabilities.drop.clone(), add: s.capabilities.add.clone() },
        restart: match s.restart {
            c::RestartPolicy::No => wit::RestartPolicy::No,
            c::RestartPolicy::UnlessStopped => wit::RestartPolicy::UnlessStopped,
        },
        network: match &s.network {
            c::NetworkMode::Default => wit::NetworkMode::Default,
            c::NetworkMode::None => wit::NetworkMode::None,
            c::NetworkMode::Named(n) => wit::NetworkMode::Named(n.clone()),
        },
        init: s.init,
    }
}

fn container_info(i: wit::ContainerInfo) -> c::ContainerInfo {
    use wit::ContainerState as S;
    c::ContainerInfo {
        id: i.id,
        name: i.name,
        image: i.image,
        state: match i.state {
            S::Created => c::ContainerState::Created,
            S::Running => c::ContainerState::Running,
            S::Paused => c::ContainerState::Paused,
            S::Restarting => c::ContainerState::Restarting,
            S::Removing => c::ContainerState::Removing,
            S::Exited => c::ContainerState::Exited,
            S::Dead => c::ContainerState::Dead,
            S::Unknown => c::ContainerState::Unknown,
        },
        labels: i.labels.into_iter().map(key_value_in).collect(),
        exit_code: i.exit_code,
        created_at: i.created_at,
        started_at: i.started_at,
        ip_addresses: i.ip_addresses,
    }
}

fn exec_request(r: &c::ExecRequest) -> wit::ExecRequest {
    wit::ExecRequest {
        container: r.container.clone(),
        argv: r.argv.clone(),
        tty: r.tty,
        interactive: r.interactive,
        user: r.user.clone(),
        workdir: r.workdir.clone(),
        env: r.env.iter().map(key_value).collect(),
    }
}

fn runtime_error(e: wit::RuntimeError) -> c::RuntimeError {
    use wit::RuntimeError as E;
    match e {
        E::NotAvailable(s) => c::RuntimeError::NotAvailable(s),
        E::NotFound(s) => c::RuntimeError::NotFound(s),
        E::Conflict(s) => c::RuntimeError::Conflict(s),
        E::InvalidSpec(s) => c::RuntimeError::InvalidSpec(s),
        E::Unsupported(s) => c::RuntimeError::Unsupported(s),
        E::Denied(s) => c::RuntimeError::Denied(s),
        E::CommandFailed(f) => c::RuntimeError::CommandFailed(c::CommandFailure {
            program: f.program,
            args: f.args,
            exit_code: f.exit_code,
            stderr_tail: f.stderr_tail,
        }),
        E::TimedOut(s) => c::RuntimeError::TimedOut(s),
        E::Parse(s) => c::RuntimeError::Parse(s),
    }
}
