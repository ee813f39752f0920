//! How alca talks to people: progress on stderr, results on stdout, errors
//! with a hint, JSON when asked.

/// `println!`, except that a reader that went away (`alca plugin list |
/// head`) ends alca quietly instead of making it fail to print.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }};
}

use alca_core::Error;
use alca_core::ops::{PluginReport, StatusReport};
use alca_core::plugin::text;
use alca_core::report::Reporter;

/// Progress lines (`→ ...`, `✓ ...`) on stderr, so stdout stays for results.
pub struct Progress {
    pub quiet: bool,
}

impl Reporter for Progress {
    fn step(&self, message: &str) {
        if !self.quiet {
            eprintln!("→ {message}");
        }
    }

    fn success(&self, message: &str) {
        if !self.quiet {
            eprintln!("✓ {message}");
        }
    }

    fn warn(&self, message: &str) {
        warn(message);
    }

    /// Asks on the terminal; without one (or with `-q`), nobody can answer.
    fn confirm(&self, question: &str) -> bool {
        use std::io::IsTerminal;
        if self.quiet || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return false;
        }
        dialoguer::Confirm::new().with_prompt(question).default(false).interact().unwrap_or(false)
    }
}

/// Every message alca prints may carry text it did not write (a plugin's,
/// an engine's, a file's): control characters are shown escaped.
fn safe(message: &str) -> String {
    text::block(message)
}

/// One line on stdout (a reader that went away ends alca quietly).
pub fn out_line(line: &str) {
    out!("{line}");
}

/// One line of text from an engine or a file, safe to show on a terminal.
pub fn safe_line(s: &str) -> String {
    text::line(s)
}

pub fn warn(message: &str) {
    eprintln!("warning: {}", safe(message));
}

pub fn error(e: &Error) {
    eprintln!("error: {}", safe(&e.to_string()));
    if let Error::SetupFailed { output, .. } = e
        && !output.trim().is_empty()
    {
        // The end of the output says why it failed.
        let output = output.trim_end();
        let mut start = output.len().saturating_sub(text::BLOCK);
        while !output.is_char_boundary(start) {
            start += 1;
        }
        if start > 0 {
            eprintln!("… ({start} bytes of output before this)");
        }
        eprintln!("{}", safe(&output[start..]));
    }
    if let Some(hint) = e.hint() {
        for (i, line) in safe(&hint).lines().enumerate() {
            eprintln!("{}{line}", if i == 0 { "hint: " } else { "      " });
        }
    }
}

pub fn json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out!("{text}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

pub fn status(r: &StatusReport) {
    if !r.initialized {
        out!("Status:    not initialized (no {} here or in a parent directory)", alca_core::config::FILE_NAME);
        out!();
        out!("Run `alca init` to create one.");
        return;
    }
    out!("Project:   {}", r.project_root.display());
    out!("Config:    {}", r.config_path.display());
    if let Some(e) = &r.state_error {
        out!("State:     cannot be read: {}", safe(e));
        return;
    }
    if let Some(e) = &r.runtime_error {
        out!("Runtime:   none available");
        out!();
        out!("{}", safe(e));
        return;
    }
    if let Some(rt) = &r.runtime {
        match &rt.version {
            Some(v) => out!("Runtime:   {} {v} (plugin `{}`)", rt.name, rt.id),
            None => out!("Runtime:   {} (plugin `{}`)", rt.name, rt.id),
        }
    }
    let Some(state) = &r.state else {
        out!("Sandbox:   not created yet");
        out!();
        out!("Run `alca up` to create it.");
        return;
    };
    out!("Project ID: {}", state.project_id);
    if let Some(e) = &r.container_error {
        out!("Container: {} (cannot get its status)", state.container_name);
        out!();
        out!("{}", safe(e));
        return;
    }
    match &r.container {
        None => {
            out!("Container: {} (not created)", state.container_name);
            out!();
            out!("Run `alca up` to create it.");
        }
        Some(c) => {
            out!("Container: {} ({})", c.name, c.state);
            out!("  ID:      {}", c.id);
            out!("  Image:   {}", c.image);
            if let Some(started) = &c.started_at {
                out!("  Started: {started}");
            }
            if !c.ip_addresses.is_empty() {
                out!("  IP:      {}", c.ip_addresses.join(", "));
            }
            if let Some(n) = &r.network {
                network_status(n);
            }
            if !r.drift.is_empty() {
                out!();
                out!("The configuration changed since the container was created:");
                for d in &r.drift {
                    out!("  {}", safe(&d.to_string()));
                }
                out!();
                out!("Run `alca up -f` to rebuild it with the new configuration.");
            }
            out!();
            if c.running {
                out!("Run `alca run <command>` to execute commands in it.");
            } else {
                out!("Run `alca up` to start it.");
            }
        }
    }
}

/// The `Network:` lines of `alca status`.
fn network_status(n: &alca_core::ops::NetworkStatus) {
    let rules = if n.rules.is_empty() { String::new() } else { format!("; allowed: {}", n.rules.join(", ")) };
    match n.isolation {
        "active" => {
            let bridge = n.interface.as_deref().map(|i| format!(" (bridge {i})")).unwrap_or_default();
            out!("Network:   isolated from private addresses{bridge}{}", safe(&rules));
            let last = if n.recent.is_empty() { String::new() } else { format!("; last: {}", n.recent.join(", ")) };
            out!("  Refused: {} connection attempt(s){}", n.refused, safe(&last));
        }
        "off" => out!("Network:   NOT isolated: network.lan-access = [\"*\"] lets the container reach your LAN"),
        other => out!("Network:   isolation {other}{}", safe(&rules)),
    }
    if let Some(p) = &n.proxy {
        out!("  Proxy:   all outbound TCP goes to {}", safe(p));
    }
    if let Some(note) = n.note.as_deref().filter(|_| n.isolation != "off") {
        out!("  Note:    {}", safe(note));
    }
}

/// `alca config show`: what alca makes of the configuration files.
pub fn config(c: &alca_core::config::Config) {
    use alca_core::config::{EnvValue, RuntimeChoice};
    let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
    out!("files:     {}", safe(&files.join(", ")));
    out!("image:     {}", safe(&c.image));
    out!("workdir:   {}", safe(&c.workdir));
    out!(
        "runtime:   {}",
        match &c.runtime {
            RuntimeChoice::Auto => "auto".to_string(),
            RuntimeChoice::Named(id) => id.clone(),
        }
    );
    for m in &c.mounts {
        let ro = if m.read_only { " (read-only)" } else { "" };
        out!("mount:     {} → {}{ro}", safe(&m.source.display().to_string()), safe(&m.target));
    }
    for e in &c.envs {
        let value = match &e.value {
            EnvValue::Literal(v) => format!("{v:?}"),
            EnvValue::Host(name) => {
                format!("${{{name}}} (from the host{})", if e.override_on_enter { ", at every run" } else { "" })
            }
        };
        out!("env:       {}={}", safe(&e.name), safe(&value));
    }
    for p in &c.ports {
        out!("port:      {p}");
    }
    if c.network.allows_all() {
        out!("network:   NOT isolated (lan-access holds \"*\")");
    } else {
        out!("network:   isolated from private addresses");
    }
    for e in &c.network.lan_access {
        out!("  allow:   {} ({})", safe(&e.text), safe(&e.at));
    }
    if let Some(p) = &c.network.proxy {
        out!("  proxy:   {} ({})", safe(&p.text), safe(&p.at));
    }
    if let Some(m) = c.resources.memory_bytes {
        out!("memory:    {} MiB", m as f64 / (1u64 << 20) as f64);
    }
    if let Some(cpus) = c.resources.cpus {
        out!("cpus:      {cpus}");
    }
    out!("caps:      drop {}; add {}", c.caps.drop.join(", "), c.caps.add.join(", "));
    let commands = [
        ("up", c.commands.up.as_ref().map(|c| &c.command)),
        ("enter", c.commands.enter.as_ref().map(|c| &c.command)),
        ("post_up", c.hooks.post_up.as_ref()),
        ("pre_down", c.hooks.pre_down.as_ref()),
    ];
    for (name, command) in commands {
        let Some(command) = command else { continue };
        let text = safe(command.trim_matches('\n'));
        match text.lines().count() {
            1 => out!("{:<10} {text}", format!("{name}:")),
            _ => {
                out!("{name}:");
                for line in text.lines() {
                    out!("    {line}");
                }
            }
        }
    }
}

pub fn plugins(list: &[PluginReport]) {
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            out!();
        }
        if let Some(problem) = &p.problem {
            out!("{}  ({}) {}", p.id, p.status, safe(&p.source));
            out!("  not loaded: {}", safe(problem));
            if let Some(hint) = &p.hint {
                out!("  hint: {}", safe(hint));
            }
            continue;
        }
        let origin = match p.status.as_str() {
            "built-in" => "built-in".to_string(),
            status => format!("{status}, {}", safe(&p.source)),
        };
        out!("{}  {} {} ({origin})", p.id, safe(&p.name), safe(&p.version));
        if !p.description.is_empty() {
            out!("  {}", safe(&p.description));
        }
        if let Some(api) = &p.api {
            out!("  implements alca:runtime@{api}");
        }
        if let Some(sha) = &p.component_sha256 {
            let when = p.installed_at.as_deref().map(|t| format!(", consented {t}")).unwrap_or_default();
            out!("  component sha256 {sha}{when}");
        }
        if let Some(a) = &p.availability {
            match (a.available, &a.version) {
                (true, Some(v)) => out!("  available: {}", safe(v)),
                (true, None) => out!("  available"),
                (false, _) => {
                    out!("  not available: {}", safe(a.reason.as_deref().unwrap_or("it did not say why")));
                    if let Some(h) = &a.hint {
                        out!("    hint: {}", safe(h));
                    }
                }
            }
        }
        for line in grant(p) {
            out!("{line}");
        }
    }
}

/// `alca status -v`: the grant alca's firewall runs under.
pub fn firewall_grant(p: &PluginReport) {
    out!();
    out!("Firewall (network isolation) grant, core/src/netiso/grant.toml:");
    for line in grant(p) {
        out!("{line}");
    }
}

/// What a plugin may do, in words, one line each.
fn grant(p: &PluginReport) -> Vec<String> {
    let mut out = vec![format!("  limits: {} MiB of memory, {} ms of its own time per call", p.memory_mib, p.cpu_ms)];
    if !p.host_env.is_empty() {
        out.push(format!("  may read the environment variables: {}", p.host_env.join(", ")));
    }
    if p.programs.is_empty() {
        out.push("  may run no program".into());
    }
    for prog in &p.programs {
        let at = prog.located.as_deref().unwrap_or("not found on PATH");
        out.push(format!(
            "  may run `{}` ({at}), each run at most {} s, capturing at most {} MiB of output",
            prog.name, prog.max_timeout_secs, prog.max_output_mib
        ));
        if !prog.env.is_empty() {
            out.push(format!("    passing from your environment: {}", prog.env.join(", ")));
        }
        if !prog.set_env.is_empty() {
            out.push(format!("    setting, to values of its choice: {}", prog.set_env.join(", ")));
        }
        if !prog.deny.is_empty() {
            out.push(format!("    never with: {}", prog.deny.join(", ")));
        }
        for (j, rule) in prog.allow.iter().enumerate() {
            out.push(format!("    {} {rule}", if j == 0 { "only as:" } else { "        " }));
        }
    }
    out.iter().map(|l| safe(l)).collect()
}

/// A spinner on stderr while alca works (hidden when stderr is not a
/// terminal).
pub fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// What `alca plugin install` found, and the grant it asks for.
pub fn prepared(alca: &alca_core::Alca, p: &alca_core::ops::Prepared) {
    let m = &p.manifest;
    eprintln!(
        "Plugin `{}`: {} {} for runtime `{}`, implementing alca:runtime@{}",
        m.id,
        safe(&m.name),
        safe(&m.version),
        safe(&m.runtime),
        p.api
    );
    eprintln!(
        "  component: {:.1} MiB, sha256 {}; compiled in {:.1} s ({:?})",
        p.component_bytes as f64 / (1024.0 * 1024.0),
        p.component_sha256,
        p.compile_time.as_secs_f64(),
        p.compiled
    );
    match (&p.previous, p.wider.is_empty()) {
        (Some(prev), true) => {
            eprintln!(
                "Its grant is the same as, or narrower than, what you consented to for version {}: no need to ask again.",
                safe(&prev.version)
            );
            return;
        }
        (Some(prev), false) => {
            eprintln!("It asks for more than you consented to for version {}:", safe(&prev.version));
            for w in &p.wider {
                eprintln!("  + {}", safe(w));
            }
        }
        (None, _) => {}
    }
    eprintln!("It asks for this grant (alca refuses everything else):");
    for line in grant(&alca_core::ops::manifest_report(alca, m)) {
        eprintln!("{line}");
    }
}

pub fn installed(r: &alca_core::ops::InstallReport) {
    let replaced = r.replaced.as_deref().map(|v| format!(", replacing version {}", safe(v))).unwrap_or_default();
    eprintln!("✓ Installed plugin `{}` {}{replaced} in {}", r.id, safe(&r.version), r.directory.display());
    eprintln!("  use it with `runtime = \"{}\"` in .alca.toml (or `alca plugin test {}` first)", r.id, r.id);
}

pub fn removed(r: &alca_core::ops::RemoveReport) {
    let version = r.version.as_deref().map(|v| format!(" {}", safe(v))).unwrap_or_default();
    eprintln!(
        "✓ Removed plugin `{}`{version} ({}), its consent and {} compiled entr{}",
        r.id,
        r.directory.display(),
        r.cache_entries,
        if r.cache_entries == 1 { "y" } else { "ies" }
    );
}

/// `alca plugin test`: one line per check (`✓`; `✗` with what was expected
/// and what happened; `–` with why it was skipped), then a summary.
pub fn plugin_test(r: &alca_core::ops::TestReport) {
    use std::fmt::Write as _;
    use std::io::Write as _;

    use alca_core::ops::Outcome;
    // Continuation lines of a multi-line detail (an engine's stderr), indented.
    let indented = |s: &str| safe(s).lines().collect::<Vec<_>>().join("\n    ");
    let mut out = String::new();
    for c in &r.checks {
        let _ = match c.outcome {
            Outcome::Pass => match &c.note {
                Some(note) => writeln!(out, "✓ {} ({})", c.name, text::line(note)),
                None => writeln!(out, "✓ {}", c.name),
            },
            Outcome::Fail => writeln!(
                out,
                "✗ {}: expected {}; got {}",
                c.name,
                indented(c.expected.as_deref().unwrap_or("-")),
                indented(c.actual.as_deref().unwrap_or("-"))
            ),
            Outcome::Skip => writeln!(out, "– {} (skipped: {})", c.name, indented(c.reason.as_deref().unwrap_or("-"))),
        };
    }
    let _ = writeln!(
        out,
        "{}: {} passed, {} failed, {} skipped ({:.1}s; plugin `{}`, {}, image {})",
        if r.ok() { "ok" } else { "FAILED" },
        r.passed,
        r.failed,
        r.skipped,
        r.duration_ms as f64 / 1000.0,
        text::line(&r.plugin),
        text::line(&r.source),
        text::line(&r.image),
    );
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

/// `alca plugin new`: what was made, and the loop that follows.
pub fn plugin_new(r: &alca_core::ops::NewReport) {
    out!("Created the {} plugin `{}` in {}:", r.lang, r.id, r.dir.display());
    for f in &r.files {
        out!("  {f}");
    }
    if let Some(sdk) = &r.sdk {
        out!("SDK: alca-plugin-sdk from {sdk}");
    }
    out!("Building needs {}.", r.lang.toolchain());
    out!();
    out!("Next:");
    out!("  cd {}", r.shown);
    out!("  alca plugin build                    # {}", r.build.join(", then "));
    out!("  alca plugin test . --image <IMAGE>   # conformance checks on the real engine");
    out!("  alca plugin install .");
}

/// `alca plugin build`: the component, its size and digest, and what next.
pub fn plugin_build(r: &alca_core::ops::BuildReport) {
    let kib = r.size as f64 / 1024.0;
    let size = if r.size < 1024 {
        String::new()
    } else if kib < 1024.0 {
        format!(" ({kib:.0} KiB)")
    } else {
        format!(" ({:.1} MiB)", kib / 1024.0)
    };
    out!("✓ Built plugin `{}` in {:.1}s", r.id, r.duration.as_secs_f64());
    out!("  component: {}", r.component.display());
    out!("  size:      {} bytes{size}", r.size);
    out!("  sha256:    {}", r.sha256);
    out!();
    out!("Next: alca plugin test {} --image <IMAGE>, then alca plugin install {}", r.shown, r.shown);
}

/// A failed `alca plugin new` or `build`: the error and what to do.
pub fn scaffold_error(e: &alca_core::ops::ScaffoldError) -> std::process::ExitCode {
    eprintln!("error: {}", safe(&e.message));
    if let Some(hint) = &e.hint {
        for (i, line) in safe(hint).lines().enumerate() {
            eprintln!("{}{line}", if i == 0 { "hint: " } else { "      " });
        }
    }
    std::process::ExitCode::FAILURE
}

/// Log lines as alca's own messages: `warning: ...`, `error: ...`, and
/// `debug: [plugin] ...` for the `-v` log.
pub struct LogFormat;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LogFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        write!(writer, "{level}: ")?;
        if let Some(plugin) = &visitor.plugin {
            write!(writer, "[{}] ", text::line(plugin))?;
        }
        writeln!(writer, "{}", safe(&visitor.message))
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    plugin: Option<String>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "plugin" => self.plugin = Some(value.to_string()),
            other => self.message.push_str(&format!(" {other}={value}")),
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "plugin" => self.plugin = Some(format!("{value:?}").trim_matches('"').to_string()),
            other => self.message.push_str(&format!(" {other}={value:?}")),
        }
    }
}
