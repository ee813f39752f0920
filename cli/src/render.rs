//! How alca talks to people: progress on stderr, results on stdout, errors
//! with a hint, JSON when asked.

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
}

/// Every message alca prints may carry text it did not write (a plugin's,
/// an engine's, a file's): control characters are shown escaped.
fn safe(message: &str) -> String {
    text::block(message)
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
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

pub fn status(r: &StatusReport) {
    println!("Project:   {}", r.project_root.display());
    println!("Config:    {}", r.config_path.display());
    if let Some(rt) = &r.runtime {
        match &rt.version {
            Some(v) => println!("Runtime:   {} {v} (plugin `{}`)", rt.name, rt.id),
            None => println!("Runtime:   {} (plugin `{}`)", rt.name, rt.id),
        }
    }
    let Some(state) = &r.state else {
        println!("Sandbox:   not created yet");
        println!();
        println!("Run `alca up` to create it.");
        return;
    };
    println!("Project ID: {}", state.project_id);
    match &r.container {
        None => {
            println!("Container: {} (not created)", state.container_name);
            println!();
            println!("Run `alca up` to create it.");
        }
        Some(c) => {
            println!("Container: {} ({})", c.name, c.state);
            println!("  ID:      {}", c.id);
            println!("  Image:   {}", c.image);
            if let Some(started) = &c.started_at {
                println!("  Started: {started}");
            }
            if !c.ip_addresses.is_empty() {
                println!("  IP:      {}", c.ip_addresses.join(", "));
            }
            if !r.drift.is_empty() {
                println!();
                println!("The configuration changed since the container was created:");
                for d in &r.drift {
                    println!("  {d}");
                }
                println!("Run `alca down` and `alca up` to apply it.");
            }
            println!();
            if c.running {
                println!("Run `alca run <command>` to execute commands in it.");
            } else {
                println!("Run `alca up` to start it.");
            }
        }
    }
}

pub fn plugins(list: &[PluginReport]) {
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}  {} {} ({})", p.id, p.name, p.version, p.source);
        if !p.description.is_empty() {
            println!("  {}", p.description);
        }
        println!("  limits: memory {} MiB, {} ms of its own time per call", p.memory_mib, p.cpu_ms);
        if !p.host_env.is_empty() {
            println!("  may read: {}", p.host_env.join(", "));
        }
        for prog in &p.programs {
            let at = prog.located.as_deref().unwrap_or("not found on PATH");
            println!(
                "  program `{}` ({at}), timeout ≤ {}s, output ≤ {} MiB",
                prog.name, prog.max_timeout_secs, prog.max_output_mib
            );
            if !prog.env.is_empty() {
                println!("    env:   {} (from your environment)", prog.env.join(", "));
            }
            if !prog.set_env.is_empty() {
                println!("    sets:  {} (values of the plugin's choice)", prog.set_env.join(", "));
            }
            if !prog.deny.is_empty() {
                println!("    deny:  {}", prog.deny.join(", "));
            }
            for (j, rule) in prog.allow.iter().enumerate() {
                println!("    {} {rule}", if j == 0 { "allow:" } else { "      " });
            }
        }
    }
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
    println!("Created the {} plugin `{}` in {}:", r.lang, r.id, r.dir.display());
    for f in &r.files {
        println!("  {f}");
    }
    if let Some(sdk) = &r.sdk {
        println!("SDK: alca-plugin-sdk from {sdk}");
    }
    println!("Building needs {}.", r.lang.toolchain());
    println!();
    println!("Next:");
    println!("  cd {}", r.shown);
    println!("  alca plugin build                    # {}", r.build.join(", then "));
    println!("  alca plugin test . --image <IMAGE>   # conformance checks on the real engine");
    println!("  alca plugin install .");
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
    println!("✓ Built plugin `{}` in {:.1}s", r.id, r.duration.as_secs_f64());
    println!("  component: {}", r.component.display());
    println!("  size:      {} bytes{size}", r.size);
    println!("  sha256:    {}", r.sha256);
    println!();
    println!("Next: alca plugin test {} --image <IMAGE>, then alca plugin install {}", r.shown, r.shown);
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
