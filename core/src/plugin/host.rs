//! The store's data and the host side of the WIT imports (`process`, `host`).
//!
//! Everything a plugin can do goes through here: `process.run` goes to the
//! [`Broker`] with the call in progress (so arguments can be bound to what
//! alca asked for), `host.env` to the grant's `[host] env`, `host.log` to
//! alca's log. WASI is linked (toolchains import it) but grants nothing.
//!
//! Whatever the plugin does, what alca keeps or prints on its behalf is
//! bounded: refusal records, log lines, its own stdout/stderr.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::bind::CallContext;
use super::broker::{Broker, SpawnError, SpawnOutput, SpawnRequest};
use super::grant::{self, Denial};
use super::manifest::Role;
use super::text;

/// How much of a guest's own stdout/stderr alca keeps per call.
const GUEST_OUTPUT_CAP: usize = 64 * 1024;
/// Refusals kept for the error report (the rest are counted).
const MAX_DENIALS: usize = 32;
/// A table element costs wasmtime a pointer.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();
/// Bytes a plugin may pipe into one spawn.
pub const MAX_STDIN_BYTES: usize = 16 * 1024 * 1024;

/// Why a call was cut short by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Memory {
        cap_mib: u32,
    },
    /// The plugin ran (or waited on anything but a process it started) for
    /// longer than its budget.
    Cpu {
        budget: Duration,
    },
    Wall {
        budget: Duration,
    },
}

/// The clock of the export call in progress, on the host's clock. Guest
/// time is everything but the time spent waiting for spawned processes
/// (that wait is bounded by the spawn's own timeout): running wasm, host
/// calls, and WASI waits such as `sleep` all count. Shared with the
/// watchdog that enforces it while the plugin is blocked.
#[derive(Debug)]
pub(crate) struct CallClock {
    state: Mutex<ClockState>,
    pub guest_budget: Duration,
    pub wall_budget: Duration,
}

#[derive(Debug)]
struct ClockState {
    started: Instant,
    spawn_since: Option<Instant>,
    spawned: Duration,
}

impl CallClock {
    pub fn new(guest_budget: Duration, wall_budget: Duration) -> CallClock {
        let state = ClockState { started: Instant::now(), spawn_since: None, spawned: Duration::ZERO };
        CallClock { state: Mutex::new(state), guest_budget, wall_budget }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the clock for a new export call.
    pub fn restart(&self) {
        *self.lock() = ClockState { started: Instant::now(), spawn_since: None, spawned: Duration::ZERO };
    }

    fn spawn_started(&self) {
        self.lock().spawn_since = Some(Instant::now());
    }

    fn spawn_finished(&self) {
        let mut s = self.lock();
        if let Some(since) = s.spawn_since.take() {
            s.spawned += since.elapsed();
        }
    }

    pub fn guest_time(&self) -> Duration {
        let s = self.lock();
        let waiting = s.spawn_since.map(|t| t.elapsed()).unwrap_or_default();
        s.started.elapsed().saturating_sub(s.spawned + waiting)
    }

    /// Wall-clock time since the call began.
    pub fn elapsed(&self) -> Duration {
        self.lock().started.elapsed()
    }

    pub fn wall_left(&self) -> Duration {
        self.wall_budget.saturating_sub(self.lock().started.elapsed())
    }

    /// The fault, if a budget is used up.
    pub fn check(&self) -> Option<Fault> {
        if self.wall_left().is_zero() {
            return Some(Fault::Wall { budget: self.wall_budget });
        }
        (self.guest_time() > self.guest_budget).then_some(Fault::Cpu { budget: self.guest_budget })
    }
}

/// Resolves when the call in progress has used up a budget: the deadline
/// holds even while the plugin is blocked in a host call (a WASI sleep, a
/// poll), where the epoch interruption cannot reach it.
pub(crate) async fn watchdog(clock: Arc<CallClock>) -> Fault {
    loop {
        if let Some(fault) = clock.check() {
            return fault;
        }
        let left = clock.guest_budget.saturating_sub(clock.guest_time()).min(clock.wall_left());
        tokio::time::sleep(left.clamp(Duration::from_millis(5), Duration::from_millis(100))).await;
    }
}

/// What a plugin may print through alca, per instance: a few lines by
/// default, more with `-v`, never megabytes.
#[derive(Debug, Default)]
pub(crate) struct Chatter {
    lines: usize,
    bytes: usize,
    pub suppressed: usize,
}

impl Chatter {
    const QUIET: (usize, usize) = (8, 8 * 1024);
    const VERBOSE: (usize, usize) = (2_000, 1024 * 1024);

    /// May one more line of `len` bytes be shown?
    fn admit(&mut self, len: usize) -> bool {
        let (max_lines, max_bytes) = if tracing::enabled!(tracing::Level::DEBUG) { Self::VERBOSE } else { Self::QUIET };
        if self.lines < max_lines && self.bytes + len <= max_bytes {
            self.lines += 1;
            self.bytes += len;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

pub(crate) struct PluginState {
    pub plugin: String,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_hooks: DenyHttp,
    table: ResourceTable,
    pub broker: Arc<Broker>,
    pub memory_cap: usize,
    /// Bytes of linear memory and tables, all of the plugin's together.
    memory_used: usize,
    pub clock: Arc<CallClock>,
    pub fault: Option<Fault>,
    /// The export call in progress: what alca asked for, and the containers
    /// the call's own commands created or listed.
    pub call: CallContext,
    /// Refusals of this instance (the first [`MAX_DENIALS`]).
    pub denials: Vec<Denial>,
    pub denials_dropped: usize,
    /// Refusals in the call in progress (the first few), shown as the
    /// call's error or, if the plugin carries on, as warnings.
    pub call_denials: Vec<Denial>,
    /// The last spawn of the call that ran out of time.
    pub call_timeout: Option<String>,
    pub chatter: Chatter,
    pub guest_output: GuestOutput,
}

impl PluginState {
    pub fn new(broker: Arc<Broker>, memory_mib: u32, clock: Arc<CallClock>) -> PluginState {
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
            http: WasiHttpCtx::new(),
            http_hooks: DenyHttp,
            table: ResourceTable::new(),
            broker,
            memory_cap: memory_mib as usize * 1024 * 1024,
            memory_used: 0,
            clock,
            fault: None,
            call: CallContext::default(),
            denials: Vec::new(),
            denials_dropped: 0,
            call_denials: Vec::new(),
            call_timeout: None,
            chatter: Chatter::default(),
            guest_output,
        }
    }

    /// Starts a new export call.
    pub fn begin_call(&mut self, call: CallContext) {
        self.clock.restart();
        self.fault = None;
        self.call = call;
        self.call_denials.clear();
        self.call_timeout = None;
    }

    /// Prints a line for the plugin, within its budget (lines the log
    /// level hides cost nothing).
    pub fn say(&mut self, level: tracing::Level, message: &str) {
        let shown = match level {
            tracing::Level::TRACE => tracing::enabled!(tracing::Level::TRACE),
            tracing::Level::DEBUG => tracing::enabled!(tracing::Level::DEBUG),
            tracing::Level::INFO => tracing::enabled!(tracing::Level::INFO),
            tracing::Level::WARN => tracing::enabled!(tracing::Level::WARN),
            tracing::Level::ERROR => tracing::enabled!(tracing::Level::ERROR),
        };
        if !shown || !self.chatter.admit(message.len()) {
            return;
        }
        let plugin = &self.plugin;
        match level {
            tracing::Level::TRACE => tracing::trace!(%plugin, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(%plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(%plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(%plugin, "{message}"),
            tracing::Level::ERROR => tracing::error!(%plugin, "{message}"),
        }
    }

    fn record_denial(&mut self, d: Denial) {
        tracing::debug!(plugin = %self.plugin, "refused: {}", d.command);
        if self.denials.len() < MAX_DENIALS {
            self.denials.push(d.clone());
        } else {
            self.denials_dropped += 1;
        }
        if self.call_denials.len() < 4 {
            self.call_denials.push(d);
        } else {
            self.denials_dropped += 1;
        }
    }

    /// Shows the call's refusals that will not be its error: a plugin that
    /// swallows a refusal cannot hide it.
    pub fn warn_call_denials(&mut self) {
        for d in std::mem::take(&mut self.call_denials) {
            self.say(tracing::Level::WARN, &d.to_string());
        }
    }

    fn grow(&mut self, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_sub(current).saturating_add(desired);
        if total > self.memory_cap {
            let cap_mib = (self.memory_cap / (1024 * 1024)) as u32;
            self.fault = Some(Fault::Memory { cap_mib });
            return Err(wasmtime::Error::msg(format!("memory limit of {cap_mib} MiB reached")));
        }
        self.memory_used = total;
        Ok(true)
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Memory limits: every memory and table of the plugin counts against one
/// cap; a growth past it traps the guest and records why.
/// `wasi:http` is linked because some toolchains' components import it
/// (StarlingMonkey, for JavaScript), and grants nothing: every outgoing
/// request fails with `HTTP-request-denied`.
struct DenyHttp;

impl WasiHttpHooks for DenyHttp {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_hooks }
    }
}

impl wasmtime::ResourceLimiter for PluginState {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.grow(current.saturating_mul(TABLE_ELEMENT_BYTES), desired.saturating_mul(TABLE_ELEMENT_BYTES))
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

/// Why a `process.run` did not produce an exit, in alca's terms (each
/// contract version converts it to its own `spawn-error`).
pub(crate) enum RunFailure {
    Denied(String),
    ProgramNotFound(String),
    TimedOut(SpawnOutput),
    Io(String),
}

/// The host side of the imports, for every contract version: the version
/// modules (`v0_1`, `v0_2`) convert their generated types and call these.
impl PluginState {
    /// `process.run`: the broker decides and spawns, on the call's clock.
    pub(crate) async fn process_run(
        &mut self,
        request: SpawnRequest,
    ) -> wasmtime::Result<Result<SpawnOutput, RunFailure>> {
        let budget = self.clock.wall_left();
        if budget.is_zero() {
            self.fault = Some(Fault::Wall { budget: self.clock.wall_budget });
            return Err(wasmtime::Error::msg("the call's time budget is used up"));
        }
        let stdin_bytes = request.stdin.as_ref().map_or(0, Vec::len);
        if stdin_bytes > MAX_STDIN_BYTES {
            let d = Denial::new(
                &self.plugin,
                &request.program,
                &request.args,
                format!("its stdin is too large ({stdin_bytes} bytes; at most {MAX_STDIN_BYTES})"),
                "No grant allows that.".into(),
            );
            let text = d.for_plugin();
            self.record_denial(d);
            return Ok(Err(RunFailure::Denied(text)));
        }
        let shown = grant::render_command(&request.program, &request.args);
        let broker = self.broker.clone();
        self.clock.spawn_started();
        let result = broker.run(request, budget, &self.call).await;
        self.clock.spawn_finished();
        Ok(match result {
            Ok((out, role)) => {
                match &role {
                    // What a network call reports must be what the engine
                    // printed about that network.
                    Role::Network if out.exit_code == Some(0) && self.call.request.is_network() => {
                        self.call.remember_printed(&out.stdout)
                    }
                    Role::Creates | Role::Lists if out.exit_code == Some(0) => self.call.remember(&out.stdout),
                    Role::ListsJson(listing) if out.exit_code == Some(0) => {
                        self.call.remember_json(&out.stdout, listing)
                    }
                    _ => {}
                }
                Ok(out)
            }
            Err(SpawnError::Denied(d)) => {
                let text = d.for_plugin();
                self.record_denial(d);
                Err(RunFailure::Denied(text))
            }
            Err(SpawnError::ProgramNotFound(p)) => {
                Err(RunFailure::ProgramNotFound(format!("`{p}` was not found on PATH")))
            }
            Err(SpawnError::TimedOut(out)) => {
                self.call_timeout = Some(format!("`{shown}` was stopped after {:.1} s", out.duration.as_secs_f64()));
                Err(RunFailure::TimedOut(out))
            }
            Err(SpawnError::Io(e)) => Err(RunFailure::Io(e)),
        })
    }

    /// `process.locate`.
    pub(crate) fn locate_program(&self, program: &str) -> Option<String> {
        self.broker.locate(program).map(|p| p.display().to_string())
    }

    /// `host.log`, from a message still in the guest's memory or already
    /// copied out.
    pub(crate) fn log(&mut self, level: tracing::Level, message: &str) {
        self.say(level, &text::line(message));
    }

    /// `host.env`: only what `[host] env` grants.
    pub(crate) fn host_env(&mut self, name: &str) -> Option<String> {
        let value = self.broker.host_env(name);
        if value.is_none() && !self.broker.manifest().host_env.contains(name) {
            let name = text::line(name);
            self.say(
                tracing::Level::WARN,
                &format!(
                    "refused to tell the plugin the environment variable {name}: it is not in `[host] env` of its manifest"
                ),
            );
        }
        value
    }
}

/// `host.info`: (os, arch, alca's version).
pub(crate) fn host_facts() -> (String, String, String) {
    (std::env::consts::OS.to_string(), std::env::consts::ARCH.to_string(), env!("CARGO_PKG_VERSION").to_string())
}

/// `process.run`'s duration, as the contract carries it.
pub(crate) fn duration_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::manifest::Manifest;

    fn store(memory_mib: u32) -> (wasmtime::Engine, wasmtime::Store<PluginState>) {
        let mut config = wasmtime::Config::new();
        config.wasm_multi_memory(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let manifest = Manifest::parse("id = \"t\"\nname = \"T\"\nversion = \"1\"\nruntime = \"t\"\n", "t").unwrap();
        let broker = Arc::new(Broker::with_env(Arc::new(manifest), Default::default()));
        let clock = Arc::new(CallClock::new(Duration::from_secs(5), Duration::from_secs(60)));
        let mut store = wasmtime::Store::new(&engine, PluginState::new(broker, memory_mib, clock));
        store.limiter(|s| s);
        (engine, store)
    }

    fn instantiate(wat: &str) -> Result<(), String> {
        let (engine, mut store) = store(64);
        let module = wasmtime::Module::new(&engine, wat).unwrap();
        wasmtime::Instance::new(&mut store, &module, &[]).map(drop).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn memories_and_tables_share_one_cap() {
        // 400 pages are 25 MiB: two fit in 64 MiB, three do not.
        instantiate("(module (memory 400) (memory 400))").unwrap();
        let e = instantiate("(module (memory 400) (memory 400) (memory 400))").unwrap_err();
        assert!(e.contains("memory limit of 64 MiB"), "{e}");
        // Tables count too: ten million elements are 80 MB of pointers.
        let e = instantiate("(module (table 10000000 funcref))").unwrap_err();
        assert!(e.contains("memory limit of 64 MiB"), "{e}");
        let e = instantiate("(module (memory 600) (table 4000000 funcref))").unwrap_err();
        assert!(e.contains("memory limit of 64 MiB"), "{e}");
        instantiate("(module (memory 100) (table 1000 funcref))").unwrap();
    }

    #[test]
    fn growth_is_counted_across_memories() {
        let (engine, mut store) = store(64);
        let wat = r#"(module (memory (export "a") 1) (memory (export "b") 1)
            (func (export "grow") (param i32 i32) (result i32)
              (drop (memory.grow 0 (local.get 0)))
              (memory.grow 1 (local.get 1))))"#;
        let module = wasmtime::Module::new(&engine, wat).unwrap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let grow = instance.get_typed_func::<(i32, i32), i32>(&mut store, "grow").unwrap();
        // 30 MiB in each: fine. 30 more in each: the sum passes the cap.
        assert!(grow.call(&mut store, (480, 480)).unwrap() >= 0);
        assert!(grow.call(&mut store, (480, 480)).is_err());
        assert_eq!(store.data().fault, Some(Fault::Memory { cap_mib: 64 }));
    }

    #[test]
    fn the_clock_counts_everything_but_spawns() {
        let clock = CallClock::new(Duration::from_millis(50), Duration::from_secs(60));
        clock.spawn_started();
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(clock.check(), None, "waiting for a program is not the plugin's time");
        clock.spawn_finished();
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(clock.check(), Some(Fault::Cpu { budget: Duration::from_millis(50) }));
        let wall = CallClock::new(Duration::from_secs(60), Duration::from_millis(30));
        wall.spawn_started();
        std::thread::sleep(Duration::from_millis(50));
        assert!(matches!(wall.check(), Some(Fault::Wall { .. })), "the wall clock runs during spawns");
    }
}
