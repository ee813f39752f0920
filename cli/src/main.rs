//! The `alca` command: parse arguments, call an operation of `alca-core`,
//! render its result. No orchestration lives here.

mod containers;
mod init;
mod render;

use std::io::IsTerminal;
use std::process::ExitCode;

use alca_core::{Alca, Error, ops};
use clap::{CommandFactory, Parser, Subcommand};

/// Run AI coding agents unrestricted, but fearlessly: your project in a
/// container, container runtimes as sandboxed plugins.
#[derive(Parser)]
#[command(name = "alca", version, long_version = alca_core::LONG_VERSION, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Show what alca does (-v: debug log, including every command plugins run; -vv: trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create .alca.toml from a template, or download preset files from a git repository
    ///
    /// In the current directory. Without arguments: a new .alca.toml from a template (chosen on a
    /// terminal, or with -t), and alca's entries added to .gitignore; an existing .alca.toml is
    /// never overwritten. With git+<url>[#[<commit>][:<dir>]]: .alca.*.toml preset files from
    /// that repository (chosen on a terminal; without one, all but the .example files, and none
    /// that exists here). With --update: the preset files here refreshed from their repositories.
    Init {
        /// The template for .alca.toml
        #[arg(short, long, value_name = "NAME", value_parser = init::template_parser(), conflicts_with_all = ["source", "update"])]
        template: Option<String>,
        /// A git repository of preset files: git+<url>[#[<commit>][:<dir>]]
        #[arg(value_name = "git+URL", conflicts_with = "update")]
        source: Option<String>,
        /// Refresh the preset files here that came from a git repository
        #[arg(long)]
        update: bool,
        /// Print a JSON report of what was written and skipped
        #[arg(long)]
        json: bool,
    },
    /// Create and start the project's sandbox container (or start the stopped one)
    Up {
        /// Print no progress; show commands.up output only if it fails
        #[arg(short, long)]
        quiet: bool,
        /// If the configuration changed since the container was created, rebuild it without asking
        #[arg(short, long)]
        force: bool,
        /// Print a JSON report (progress is not shown)
        #[arg(long)]
        json: bool,
        /// Run the post_up hook even if you have not approved it yet (approving it); needed without a terminal
        #[arg(long)]
        allow_hooks: bool,
    },
    /// Run a command in the sandbox, attached to the terminal; exits with its status
    #[command(trailing_var_arg = true)]
    Run {
        /// The command and its arguments (no `--` needed)
        #[arg(required = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Show the project's sandbox: runtime, container, state
    Status {
        /// Print the status as JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop and remove the project's sandbox container (the project's files stay)
    Down {
        /// Remove it at once, without giving it time to stop
        #[arg(long)]
        force: bool,
        /// Print a JSON report (progress is not shown)
        #[arg(long)]
        json: bool,
        /// Run the pre_down hook even if you have not approved it yet (approving it); needed without a terminal
        #[arg(long)]
        allow_hooks: bool,
    },
    /// The configuration: its JSON Schema, or the merged result of .alca.toml and what it extends and includes
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// List every alca container (running or not) in every available runtime
    List {
        /// Only this runtime's containers (a plugin id: docker, podman...; repeat for several).
        /// Default: every runtime alca can use
        #[arg(long = "runtime", value_name = "ID")]
        runtimes: Vec<String>,
        /// Print the list as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove orphan containers: those whose project directory or state file is gone
    ///
    /// An orphan is an alca container, in any available runtime, whose project is gone: it has no
    /// project path label, its project directory does not exist, the directory has no
    /// .alca/state.json, that file cannot be read or is empty, or it names another project id.
    /// A stopped container of a live project is not an orphan.
    ///
    /// On a terminal you choose the orphans to remove (all are preselected); with --all, all of
    /// them after one confirmation. Without a terminal nothing is removed unless --yes is given.
    Cleanup {
        /// Select every orphan without the selection prompt (a terminal still asks to confirm, unless --yes)
        #[arg(long)]
        all: bool,
        /// Remove every orphan without asking (needed without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print the report as JSON; without --yes nothing is removed (a dry run)
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (e.g. `alca completion bash > /etc/bash_completion.d/alca`)
    Completion {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print alca's man pages (roff: `alca man | man -l -`), or write one file per command
    Man {
        /// Write alca.1, alca-up.1, ... into this directory instead
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Manage runtime plugins: list, install, remove; write, build and test your own
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the JSON Schema of .alca.toml (for editors; `alca init` points files at it)
    Schema,
    /// Print the configuration alca uses: .alca.toml merged with what it extends and includes
    Show {
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// List the plugins alca knows (built-in and installed) and what each may do
    List {
        /// Print the list as JSON
        #[arg(long)]
        json: bool,
        /// Also ask each plugin whether its runtime is available now (concurrently)
        #[arg(long)]
        check: bool,
    },
    /// Show one plugin: its grant, where it is installed, what you consented to
    Info {
        /// The plugin's id
        id: String,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
        /// Also ask the plugin whether its runtime is available now
        #[arg(long)]
        check: bool,
    },
    /// Install a plugin from its directory or a .tar.gz archive, after you consent to its grant
    Install {
        /// The plugin's directory (holding alca-plugin.toml and its component) or a .tar.gz of it
        #[arg(value_name = "DIR | ARCHIVE")]
        path: std::path::PathBuf,
        /// Consent to the grant without being asked (needed without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// The sha256 the component must have (as its author publishes it)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// Remove an installed plugin, its recorded consent and its compiled code
    Remove {
        /// The plugin's id
        id: String,
    },
    /// Create a new runtime plugin from a template: a working Docker backend to adapt
    New {
        /// The plugin's id: lowercase letters, digits and `-`
        name: String,
        /// The language to write it in
        #[arg(long, value_name = "LANG", default_value = "rust", value_parser = ["rust", "python", "js"])]
        lang: String,
        /// Where to create it (default: ./<NAME>); must not exist, or be empty
        #[arg(long, value_name = "PATH")]
        dir: Option<std::path::PathBuf>,
        /// Depend on a local alca-plugin-sdk (its directory, or an alca checkout) instead of
        /// alca's git repository (Rust only)
        #[arg(long, value_name = "PATH")]
        sdk: Option<std::path::PathBuf>,
    },
    /// Build a plugin with the commands of its manifest's [build] table
    Build {
        /// The plugin's directory (default: the current directory)
        dir: Option<std::path::PathBuf>,
    },
    /// Run the conformance suite on a plugin against the real engine (exits 1 if a check fails)
    Test {
        /// A directory holding alca-plugin.toml, or the id of a plugin alca knows
        #[arg(value_name = "DIR | ID")]
        target: String,
        /// The image to create test containers from; it must be in the engine already
        /// (default: the image of the project's .alca.toml)
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    alca_core::timing::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `alca run`'s usage errors are alca's failures too (see `dispatch`).
            let code = if e.use_stderr() && invoked_run() { RUN_FAILED } else { e.exit_code() as u8 };
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    // The commands an agent runs over and over (`run`, `status`, `list`) wait
    // on engine CLIs and nothing else: one thread serves them, without the
    // cost of starting worker threads. The others may compile several
    // plugins at once, and get two.
    let light = matches!(cli.command, Command::Run { .. } | Command::Status { .. } | Command::List { .. });
    let mut builder = if light {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            render::error(&Error::io("cannot start alca's async runtime", e));
            return ExitCode::FAILURE;
        }
    };
    // `alca run` waits for its command whatever signals the terminal sends
    // (the command gets them too and decides); other commands stop on Ctrl-C.
    let attached = matches!(cli.command, Command::Run { .. });
    runtime.block_on(async {
        if attached {
            return dispatch(cli).await;
        }
        tokio::select! {
            code = dispatch(cli) => code,
            _ = tokio::signal::ctrl_c() => {
                // Dropping the operation kills any process a plugin started.
                eprintln!();
                render::warn("interrupted");
                ExitCode::from(130)
            }
        }
    })
}

/// `alca run` exits with its command's status; when alca itself fails it
/// exits 125 (as `docker run` does), so a caller can tell the two apart.
const RUN_FAILED: u8 = 125;

/// Whether the command line is `alca [-v...] run ...` (the top level has
/// no option taking a value, so the first operand is the subcommand).
fn invoked_run() -> bool {
    std::env::args_os().skip(1).find(|a| !a.to_string_lossy().starts_with('-')).is_some_and(|a| a == "run")
}

async fn dispatch(cli: Cli) -> ExitCode {
    let failure =
        if matches!(cli.command, Command::Run { .. }) { ExitCode::from(RUN_FAILED) } else { ExitCode::FAILURE };
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            render::error(&e);
            failure
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let verbose = cli.verbose;
    // Generated from the definitions above; they need no project or runtime.
    let command = match cli.command {
        Command::Completion { shell } => return containers::completion(shell, Cli::command()),
        Command::Man { dir } => return containers::man(Cli::command(), dir.as_deref()),
        Command::Config { command: ConfigCommand::Schema } => {
            render::json(&alca_core::config::schema());
            return Ok(ExitCode::SUCCESS);
        }
        command => command,
    };
    let alca = Alca::from_env()?;
    alca_core::timing::mark("settings and plugin registry read");
    match command {
        Command::Init { template, source, update, json } => {
            return init::init(&alca, init::InitArgs { template, source, update, json }).await;
        }
        Command::Up { quiet, force, json, allow_hooks } => {
            let reporter = render::Progress { quiet: quiet || json };
            let report = ops::up(&alca, &ops::UpOptions { quiet, force, json, allow_hooks }, &reporter).await?;
            if json {
                render::json(&report);
            }
        }
        Command::Run { command } => {
            let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            // The command's own exit status (128 + N for signal N) is alca's.
            let options = ops::RunOptions { argv: command, tty, interactive: tty || ops::stdin_has_input() };
            let code = ops::run(&alca, &options).await?;
            // Exit now: tearing down the plugin's instance, the wasmtime
            // engine and the async runtime would only delay the caller, once
            // per command an agent runs (nothing is left to flush or remove).
            use std::io::Write;
            let _ = std::io::stderr().flush();
            std::process::exit(code);
        }
        Command::Status { json } => {
            let report = ops::status(&alca, verbose > 0).await?;
            if json {
                render::json(&report);
            } else {
                render::status(&report);
                if verbose > 0 {
                    // What alca's own firewall may run (docs/security.md).
                    let grant = std::sync::Arc::new(alca_core::netiso::manifest());
                    render::firewall_grant(&ops::manifest_report(&alca, &grant));
                }
            }
            alca_core::timing::mark("report printed");
            // As for `run`: the report is out; skip the teardown.
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            std::process::exit(0);
        }
        Command::Down { force, json, allow_hooks } => {
            let options = ops::DownOptions { force, json, allow_hooks };
            let report = ops::down(&alca, &options, &render::Progress { quiet: json }).await?;
            if json {
                render::json(&report);
            }
        }
        Command::Config { command: ConfigCommand::Schema } => unreachable!("handled above"),
        Command::Config { command: ConfigCommand::Show { json } } => {
            let config = ops::config_show(&alca)?;
            if json {
                render::json(&config);
            } else {
                render::config(&config);
            }
        }
        Command::List { runtimes, json } => return containers::list(&alca, &runtimes, json).await,
        Command::Cleanup { all, yes, json } => return containers::cleanup(&alca, all, yes, json).await,
        Command::Completion { .. } | Command::Man { .. } => unreachable!("handled above"),
        Command::Plugin { command: PluginCommand::List { json, check } } => {
            let plugins = ops::plugins(&alca, check).await;
            if json {
                render::json(&plugins);
            } else {
                render::plugins(&plugins);
            }
        }
        Command::Plugin { command: PluginCommand::Info { id, json, check } } => {
            let plugin = ops::plugin_info(&alca, &id, check).await?;
            if json {
                render::json(&plugin);
            } else {
                render::plugins(std::slice::from_ref(&plugin));
            }
        }
        Command::Plugin { command: PluginCommand::Install { path, yes, sha256 } } => {
            install(&alca, &path, yes, sha256.as_deref()).await?;
        }
        Command::Plugin { command: PluginCommand::Remove { id } } => {
            let report = ops::plugin_remove(&alca, &id).await?;
            render::removed(&report);
        }
        Command::Plugin { command: PluginCommand::New { name, lang, dir, sdk } } => {
            let made =
                lang.parse().and_then(|lang| ops::plugin_new(&alca.cwd, &ops::NewOptions { id: name, lang, dir, sdk }));
            match made {
                Ok(report) => render::plugin_new(&report),
                Err(e) => return Ok(render::scaffold_error(&e)),
            }
        }
        Command::Plugin { command: PluginCommand::Build { dir } } => {
            match ops::plugin_build(&alca.cwd, dir.as_deref(), &render::Progress { quiet: false }).await {
                Ok(report) => render::plugin_build(&report),
                Err(e) => return Ok(render::scaffold_error(&e)),
            }
        }
        Command::Plugin { command: PluginCommand::Test { target, image, json } } => {
            let options = ops::TestOptions { image };
            let report = ops::plugin_test(&alca, &target, &options, &render::Progress { quiet: json }).await?;
            if json {
                render::json(&report);
            } else {
                render::plugin_test(&report);
            }
            if !report.ok() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `alca plugin install`: check (compiling with a spinner), show the grant,
/// ask, install.
async fn install(alca: &Alca, path: &std::path::Path, yes: bool, sha256: Option<&str>) -> Result<(), Error> {
    let spinner = render::spinner(&format!("Checking and compiling {}", path.display()));
    let prepared = ops::install_prepare(alca, path, sha256).await;
    spinner.finish_and_clear();
    let prepared = prepared?;
    render::prepared(alca, &prepared);
    if prepared.needs_consent() {
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !yes {
            if !terminal {
                return Err(Error::ConsentRequired { id: prepared.manifest.id.clone() });
            }
            let question = format!("Install `{}` with this grant?", prepared.manifest.id);
            let agreed = dialoguer::Confirm::new().with_prompt(question).default(false).interact().unwrap_or(false);
            if !agreed {
                return Err(Error::ConsentRefused { id: prepared.manifest.id.clone() });
            }
        }
    }
    let report = ops::install_commit(alca, prepared).await?;
    render::installed(&report);
    Ok(())
}

/// Warnings by default; with `-v` alca's debug log (every program alca or a
/// plugin starts: `spawn: ...`), with `-vv` also its timing (`time: ...`).
/// Other crates (wasmtime, cranelift...) only ever show warnings.
/// `ALCA_LOG` (e.g. `ALCA_LOG=alca_core=trace,wasmtime=debug`) overrides.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "warn,alca=debug,alca_core=debug",
        _ => "warn,alca=trace,alca_core=trace",
    };
    let filter = EnvFilter::try_from_env("ALCA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(render::LogFormat)
        .init();
    alca_core::timing::mark("arguments parsed, log ready");
}
