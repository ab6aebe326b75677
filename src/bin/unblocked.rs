//! `unblocked`: the kit's command line, a thin layer over `unblocked::kit`.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use unblocked::kit::check::{Check, CheckInfo, Progress, Settings};
use unblocked::kit::concurrency::ConcurrencySettings;
use unblocked::kit::fuzz::FuzzSettings;
use unblocked::kit::report::{CheckResult, Report, human, json, junit};
use unblocked::kit::target::{self, TargetOptions, TargetSpec};
use unblocked::server::cli::{ServeArgs, serve};

/// Exit code for a run that found the target not conforming.
const NOT_CONFORMING: u8 = 1;
/// Exit code for usage and setup errors (as clap uses for usage).
const SETUP_ERROR: u8 = 2;

/// A conformance kit for the concurrent HTTP/1.1 server of the async Rust book.
///
/// With no subcommand, runs `check` against the bundled reference server.
#[derive(Parser)]
#[command(name = "unblocked", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the conformance suite (the default).
    Check(CheckArgs),
    /// Find the largest number of slow requests during which fast ones still meet the budget.
    Capacity(CheckArgs),
    /// Run the bundled reference server (the same server as `hello-server`).
    Serve(ServeArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Junit,
}

#[derive(Args, Clone)]
struct CheckArgs {
    /// The server to start: `{port}` is replaced by a free port (also exported as PORT).
    /// Split like a shell would.
    #[arg(long, value_name = "COMMAND", conflicts_with = "addr")]
    server: Option<String>,
    /// A server that is already running; checks that need a fresh server are skipped.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// The bundled reference server's sleep, when neither --server nor --addr is given.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    sleep: Duration,
    /// Count non-strict verdicts as failures.
    #[arg(long)]
    strict: bool,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Write the report to FILE; the human report still goes to the terminal.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the selected check ids and exit.
    #[arg(long)]
    list: bool,
    /// Run only these groups or check ids (repeatable, or comma-separated).
    #[arg(long, value_name = "GROUP_OR_ID", value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these groups or check ids (repeatable, or comma-separated).
    #[arg(long, value_name = "GROUP_OR_ID", value_delimiter = ',')]
    skip: Vec<String>,
    /// Compare bodies with DIR/hello.html and DIR/404.html instead of learning the pages.
    #[arg(long, value_name = "DIR")]
    pages: Option<PathBuf>,
    /// Add (or replace, by id) fixture cases from the *.toml files of DIR.
    #[arg(long, value_name = "DIR")]
    cases: Option<PathBuf>,
    /// Time allowed for a complete response (the slow route excepted).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Time allowed for the server to answer its first GET /.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    startup_timeout: Duration,
    /// Fuzz cases per generator family (0: the default).
    #[arg(long, value_name = "N", default_value_t = 0)]
    fuzz_cases: u32,
    /// Seed of the fuzz generators (printed on every run; the same seed gives the same cases).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Write each minimal failing fuzz input as a fixture file in DIR (replay with --cases).
    #[arg(long, value_name = "DIR")]
    save_failures: Option<PathBuf>,
    /// Concurrent slow requests K (default: the larger of 16 and 4 x CPUs).
    #[arg(long, value_name = "K")]
    slow: Option<usize>,
    /// Time a fast request may take (default: the larger of 50ms and S/10).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fast_budget: Option<Duration>,
    /// Also run the capacity search (`concurrency.capacity`).
    #[arg(long)]
    capacity: bool,
    /// Largest K the capacity search tries.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// Show details under every check, not only under the failing ones.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Check(args)) => exit(run_check(args, false)),
        Some(Command::Capacity(args)) => exit(run_check(args, true)),
        None => exit(run_check(cli.check, false)),
    }
}

fn exit(result: Result<bool, String>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(NOT_CONFORMING),
        Err(message) => {
            eprintln!("unblocked: {message}");
            ExitCode::from(SETUP_ERROR)
        }
    }
}

/// Runs the suite; `Ok(conforming)`, or `Err` for a setup error.
fn run_check(args: CheckArgs, capacity_only: bool) -> Result<bool, String> {
    let spec = match (&args.server, &args.addr) {
        (Some(command), _) => TargetSpec::Command(command.clone()),
        (None, Some(addr)) => TargetSpec::Addr(addr.clone()),
        (None, None) => TargetSpec::Bundled {
            exe: std::env::current_exe()
                .map_err(|e| format!("cannot find my own executable: {e}"))?,
            sleep: args.sleep,
        },
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut only = args.only.clone();
    if capacity_only {
        only = vec!["concurrency.capacity".to_string()];
    }
    let settings = Settings {
        strict: args.strict,
        timeout: args.timeout,
        pages_dir: args.pages.clone(),
        cases_dir: args.cases.clone(),
        only,
        skip: args.skip.clone(),
        target: TargetOptions {
            startup_timeout: args.startup_timeout,
            ..TargetOptions::default()
        },
        fuzz: FuzzSettings {
            cases: args.fuzz_cases,
            seed: Some(seed),
            save_failures: args.save_failures.clone(),
        },
        concurrency: ConcurrencySettings {
            slow: args.slow,
            fast_budget: args.fast_budget,
            capacity: args.capacity || capacity_only,
            max: args.max,
        },
        ..Settings::default()
    };
    let check = Check::new(spec).settings(settings);
    let plan = check.list().map_err(|e| e.to_string())?;
    if args.list {
        let width = plan.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let mut out = std::io::stdout().lock();
        for info in &plan {
            let _ = writeln!(out, "{:<width$}  {}", info.id, info.description);
        }
        return Ok(true);
    }
    if plan.is_empty() {
        return Err("--only and --skip leave no check to run (see --list)".into());
    }
    target::install_signal_teardown()
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    if plan.iter().any(|c| c.group == "fuzz") {
        eprintln!("fuzz seed: {seed} (the same --seed replays the same cases)");
    }
    let progress = Bar::new(std::io::stderr().is_terminal());
    let report = check.run_with(&progress).map_err(|e| e.to_string())?;
    deliver(&report, &args)?;
    Ok(report.conforming())
}

/// Prints and writes the report as asked.
fn deliver(report: &Report, args: &CheckArgs) -> Result<(), String> {
    let rendered = match args.format {
        Format::Human => human::render(
            report,
            &human::Style {
                color: false,
                verbose: args.verbose,
            },
        ),
        Format::Json => json::to_string(report) + "\n",
        Format::Junit => junit::render(report),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &rendered)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            print!(
                "{}",
                human::render(report, &human::Style::detect(args.verbose))
            );
        }
        None if args.format == Format::Human => {
            print!(
                "{}",
                human::render(report, &human::Style::detect(args.verbose))
            );
        }
        None => {
            print!("{rendered}");
            // The document owns stdout; people get one line on stderr.
            eprintln!("{}", summary_line(report));
        }
    }
    Ok(())
}

fn summary_line(report: &Report) -> String {
    let s = report.summary();
    format!(
        "unblocked: {} pass, {} non-strict, {} fail, {} skip, {} info: {}",
        s.pass,
        s.non_strict,
        s.fail,
        s.skip,
        s.info,
        if report.conforming() {
            "conforming"
        } else {
            "NOT conforming"
        }
    )
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Spread the bits so that seeds of close runs look unrelated.
    (nanos ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1
}

/// A progress bar on stderr, drawn only on a terminal.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(terminal: bool) -> Self {
        Bar(terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        }))
    }
}

impl Progress for Bar {
    fn begin(&self, total: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
        }
    }
    fn check_started(&self, info: &CheckInfo) {
        if let Some(bar) = &self.0 {
            bar.set_message(info.id.clone());
        }
    }
    fn check_done(&self, _result: &CheckResult) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
    fn end(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
