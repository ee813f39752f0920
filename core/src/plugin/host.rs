//! The store's data and the host side of the WIT imports (`process`, `host`).
//!
//! Everything a plugin can do goes through here: `process.run` goes to the
//! [`Broker`], `host.env` to the grant's `[host] env`, `host.log` to alca's
//! log. WASI is linked (toolchains import it) but grants nothing.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::broker::{Broker, OutputMode, SpawnError, SpawnOutput, SpawnRequest};
use super::grant::Denial;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "runtime-plugin",
        imports: {
            "alca:runtime/process.run": async | trappable,
            default: trappable,
        },
        exports: { default: async },
    });
}

use bindings::alca::runtime::{host as wit_host, process as wit_process, types as wit};

/// How much of a guest's own stdout/stderr alca keeps for its log.
const GUEST_OUTPUT_CAP: usize = 256 * 1024;

/// Why a call was cut short by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Memory { cap_mib: u32 },
    Cpu { budget: Duration },
    Wall { budget: Duration },
}

/// The clock of the export call in progress: guest time is wall time minus
/// time spent inside host calls (waiting for processes is not the guest's
/// fault).
#[derive(Debug, Clone)]
pub(crate) struct CallClock {
    pub started: Instant,
    pub in_host: Duration,
    pub cpu_budget: Duration,
    pub wall_budget: Duration,
}

impl CallClock {
    fn new(cpu_budget: Duration, wall_budget: Duration) -> CallClock {
        CallClock { started: Instant::now(), in_host: Duration::ZERO, cpu_budget, wall_budget }
    }

    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }

    pub fn wall_left(&self) -> Duration {
        self.wall_budget.saturating_sub(self.started.elapsed())
    }
}

pub(crate) struct PluginState {
    pub plugin: String,
    wasi: WasiCtx,
    table: ResourceTable,
    pub broker: Arc<Broker>,
    pub memory_cap: usize,
    pub clock: CallClock,
    pub fault: Option<Fault>,
    pub denials: Vec<Denial>,
    pub guest_output: GuestOutput,
}

impl PluginState {
    pub fn new(broker: Arc<Broker>, memory_mib: u32, cpu_budget: Duration, wall_budget: Duration) -> PluginState {
        let guest_output = GuestOutput::default();
        // No preopens, no env, no args, no network, stdin closed; the guest's
        // stdout and stderr land in alca's log.
        let wasi = WasiCtx::builder()
            .stdout(guest_output.clone())
            .stderr(guest_output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        PluginState {
            plugin: broker.manifest().id.clone(),
            wasi,
            table: ResourceTable::new(),
            broker,
            memory_cap: memory_mib as usize * 1024 * 1024,
            clock: CallClock::new(cpu_budget, wall_budget),
            fault: None,
            denials: Vec::new(),
            guest_output,
        }
    }

    /// Starts the clock for a new export call.
    pub fn begin_call(&mut self) {
        self.clock = CallClock::new(self.clock.cpu_budget, self.clock.wall_budget);
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Memory limits: a growth past the cap traps the guest and records why.
impl wasmtime::ResourceLimiter for PluginState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            let cap_mib = (self.memory_cap / (1024 * 1024)) as u32;
            self.fault = Some(Fault::Memory { cap_mib });
            return Err(wasmtime::Error::msg(format!("memory limit of {cap_mib} MiB reached")));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        // componentize-py components need ~17 core instances.
        100
    }

    fn tables(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        100
    }
}

impl wit::Host for PluginState {}

impl wit_process::Host for PluginState {
    async fn run(
        &mut self,
        req: wit_process::RunRequest,
    ) -> wasmtime::Result<Result<wit_process::RunOutput, wit_process::SpawnError>> {
        let budget = self.clock.wall_left();
        if budget.is_zero() {
            self.fault = Some(Fault::Wall { budget: self.clock.wall_budget });
            return Err(wasmtime::Error::msg("the call's time budget is used up"));
        }
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
            timeout: req.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
            stdout: mode(req.stdout),
            stderr: mode(req.stderr),
        };
        let entered = Instant::now();
        let broker = self.broker.clone();
        let result = broker.run(request, budget).await;
        self.clock.in_host += entered.elapsed();
        Ok(match result {
            Ok(out) => Ok(run_output(out)),
            Err(SpawnError::Denied(d)) => {
                let text = d.to_string();
                self.denials.push(d);
                Err(wit_process::SpawnError::Denied(text))
            }
            Err(SpawnError::ProgramNotFound(p)) => {
                Err(wit_process::SpawnError::ProgramNotFound(format!("`{p}` was not found on PATH")))
            }
            Err(SpawnError::TimedOut(out)) => Err(wit_process::SpawnError::TimedOut(run_output(out))),
            Err(SpawnError::Io(e)) => Err(wit_process::SpawnError::Io(e)),
        })
    }

    fn locate(&mut self, program: String) -> wasmtime::Result<Option<String>> {
        Ok(self.broker.locate(&program).map(|p| p.display().to_string()))
    }
}

fn run_output(out: SpawnOutput) -> wit_process::RunOutput {
    wit_process::RunOutput {
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        truncated: out.truncated,
        duration_ms: u32::try_from(out.duration.as_millis()).unwrap_or(u32::MAX),
    }
}

impl wit_host::Host for PluginState {
    fn log(&mut self, level: wit_host::Level, message: String) -> wasmtime::Result<()> {
        let plugin = &self.plugin;
        let message: String = message.chars().take(4096).collect();
        match level {
            wit_host::Level::Trace => tracing::trace!(%plugin, "{message}"),
            wit_host::Level::Debug => tracing::debug!(%plugin, "{message}"),
            wit_host::Level::Info => tracing::info!(%plugin, "{message}"),
            wit_host::Level::Warn => tracing::warn!(%plugin, "{message}"),
            wit_host::Level::Error => tracing::error!(%plugin, "{message}"),
        }
        Ok(())
    }

    fn info(&mut self) -> wasmtime::Result<wit_host::HostInfo> {
        Ok(wit_host::HostInfo {
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            alca_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    fn env(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.broker.host_env(&name))
    }
}

/// The guest's own stdout/stderr: kept (capped) for alca's log.
#[derive(Clone, Default)]
pub(crate) struct GuestOutput(Arc<Mutex<Vec<u8>>>);

impl GuestOutput {
    /// Takes what the guest wrote since the last call.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let room = GUEST_OUTPUT_CAP.saturating_sub(out.len());
        out.extend_from_slice(&buf[..buf.len().min(room)]);
        // Accept everything: a chatty plugin is cut, not crashed.
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
