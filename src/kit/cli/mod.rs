//! The `unblocked` command line, behind a thin `src/bin/unblocked.rs`: options and their
//! validation ([`args`]), the report's delivery ([`output`]), the progress line and the
//! record an interrupt prints from ([`terminal`]), and the subcommands.
//!
//! Exit codes: 0 conforming, 1 not conforming, 2 usage or setup error (or a report that could
//! not be given), 130/143 interrupted by SIGINT/SIGTERM.

pub mod args;
pub mod matrix;
pub mod output;
pub mod terminal;

use crate::kit::checks::fuzz;
use crate::kit::http::raw::{self, Delivery};
use crate::kit::report::baseline::Baseline;
use crate::kit::report::{Report, TargetInfo};
use crate::kit::run::check::Check;
use crate::kit::run::target::{self, Target, TargetSpec};
use args::{CapacityArgs, CheckArgs, Cli, Command, MatrixArgs, ReplayArgs, ReportArgs};
use clap::Parser;
use std::process::ExitCode;
use terminal::Terminal;

/// Exit code for a run that found the target not conforming.
pub const NOT_CONFORMING: u8 = 1;
/// Exit code for usage and setup errors (as clap uses for usage).
pub const SETUP_ERROR: u8 = 2;

/// How a command ended.
pub enum Ended {
    Conforming,
    NotConforming,
    /// A setup error, not said yet.
    Setup(String),
    /// An error already said (or a closed pipe).
    Reported,
}

impl From<output::Failure> for Ended {
    fn from(_: output::Failure) -> Ended {
        Ended::Reported
    }
}

/// The `unblocked` program. `serve` runs the reference server, which the binary passes in:
/// the kit itself never depends on the server's code.
pub fn main(serve: impl FnOnce(&[String]) -> ExitCode) -> ExitCode {
    let cli = Cli::parse();
    let ended = match cli.command {
        Some(Command::Serve { args }) => return serve(&args),
        Some(Command::Supervise { command }) => return crate::kit::run::supervise::run(&command),
        Some(Command::Check(args)) => run_check(&args),
        Some(Command::Capacity(args)) => run_capacity(&args),
        Some(Command::Matrix(args)) => run_matrix(&args),
        Some(Command::Replay(args)) => replay(&args),
        None => run_check(&cli.check),
    };
    match ended {
        Ended::Conforming => ExitCode::SUCCESS,
        Ended::NotConforming => ExitCode::from(NOT_CONFORMING),
        Ended::Setup(message) => {
            output::say(&message);
            ExitCode::from(SETUP_ERROR)
        }
        Ended::Reported => ExitCode::from(SETUP_ERROR),
    }
}

/// `unblocked check` (and no subcommand).
pub fn run_check(args: &CheckArgs) -> Ended {
    // Without --seed, a baseline's own seed replays the cases it was written from.
    let recorded = match (&args.seed, &args.baseline.baseline) {
        (None, Some(path)) => crate::kit::report::baseline::Baseline::load(path)
            .ok()
            .and_then(|b| b.fuzz_seed),
        _ => None,
    };
    let seed = args.seed.or(recorded).unwrap_or_else(fuzz::random_seed);
    let target_name = target_name(&args.target.server, &args.target.addr);
    let check = match args.check(seed) {
        Ok(check) => check,
        Err(message) => return setup_error(message, &target_name, &args.report),
    };
    if args.list {
        return list(&check);
    }
    let check = match with_baseline(check, &args.baseline) {
        Ok(check) => check,
        Err(message) => return setup_error(message, &target_name, &args.report),
    };
    let whose = if recorded.is_some() {
        "the baseline's; "
    } else {
        ""
    };
    let announce = check
        .plan_is_fuzzing()
        .then(|| format!("fuzz seed: {seed} ({whose}the same --seed replays the same cases)"));
    execute(&check, &args.report, &target_name, &args.baseline, announce)
}

/// `unblocked capacity`.
fn run_capacity(args: &CapacityArgs) -> Ended {
    let target_name = target_name(&args.target.server, &args.target.addr);
    let check = match args.check() {
        Ok(check) => check,
        Err(message) => return setup_error(message, &target_name, &args.report),
    };
    let check = match with_baseline(check, &args.baseline) {
        Ok(check) => check,
        Err(message) => return setup_error(message, &target_name, &args.report),
    };
    execute(&check, &args.report, &target_name, &args.baseline, None)
}

/// Runs a validated check: the output path is checked first, an interrupt prints what
/// finished, the report is given as asked, and the baseline applied and written.
fn execute(
    check: &Check,
    report_args: &ReportArgs,
    target_name: &TargetInfo,
    baseline_args: &args::BaselineArgs,
    announce: Option<String>,
) -> Ended {
    if let Some(path) = &report_args.output
        && let Err(message) = output::check_writable(path)
    {
        return setup_error(message, target_name, report_args);
    }
    if let Some(path) = baseline_args.write_baseline.as_ref()
        && let Err(message) = output::check_writable(path)
    {
        return setup_error(
            message.replace("--output", "--write-baseline"),
            target_name,
            report_args,
        );
    }
    if let Some(message) = files_clash(report_args, baseline_args) {
        return setup_error(message, target_name, report_args);
    }
    if let Some(dir) = &check.settings.fuzz.save_failures
        && let Err(message) = crate::kit::files::check_directory(dir)
    {
        return setup_error(
            format!("--save-failures {message}"),
            target_name,
            report_args,
        );
    }
    // Said once the run is sure to start, so that a usage error is all a mistyped line gets.
    if let Some(announce) = announce {
        output::say(&announce);
    }
    let terminal = Terminal::new(check.settings.strict);
    let on_signal = {
        let (terminal, report_args) = (terminal.clone(), report_args.clone());
        move |_signal| terminal.deliver_partial(&report_args, Vec::new())
    };
    if let Err(e) = target::install_signal_teardown(on_signal) {
        return Ended::Setup(format!("cannot install signal handlers: {e}"));
    }
    let report = match check.run_with(&terminal) {
        Ok(report) => report,
        Err(e) => return setup_error(e.to_string(), target_name, report_args),
    };
    terminal.delivering();
    let given = output::deliver(&report, report_args)
        .map(|()| write_baseline(&report, check.settings.baseline.as_deref(), baseline_args));
    terminal.delivered();
    match given {
        Err(failure) => return failure.into(),
        Ok(Err(message)) => {
            output::say(&message);
            return Ended::Reported;
        }
        Ok(Ok(())) => {}
    }
    if report.conforming() {
        Ended::Conforming
    } else {
        Ended::NotConforming
    }
}

/// Two outputs that are one file: the second write would silently destroy the first.
fn files_clash(report_args: &ReportArgs, baseline_args: &args::BaselineArgs) -> Option<String> {
    let report = report_args.output.as_ref()?;
    let baseline = match (&baseline_args.write_baseline, baseline_args.update_baseline) {
        (Some(path), _) => path,
        (None, true) => baseline_args.baseline.as_ref()?,
        (None, false) => return None,
    };
    crate::kit::files::same_file(report, baseline).then(|| {
        format!(
            "--output {} is also the baseline file: give them different paths",
            report.display()
        )
    })
}

fn with_baseline(check: Check, args: &args::BaselineArgs) -> Result<Check, String> {
    match &args.baseline {
        Some(path) => check.baseline(path).map_err(|e| e.to_string()),
        None => Ok(check),
    }
}

/// `--write-baseline FILE`, or `--update-baseline` (the `--baseline` file, reasons kept).
fn write_baseline(
    report: &Report,
    old: Option<&Baseline>,
    args: &args::BaselineArgs,
) -> Result<(), String> {
    let path = match (&args.write_baseline, args.update_baseline, &args.baseline) {
        (Some(path), _, _) => path,
        (None, true, Some(path)) => path,
        _ => return Ok(()),
    };
    let text = Baseline::from_report(report, old).to_toml();
    output::write_atomically(path, &text).map_err(|e| format!("cannot write the baseline {e}"))?;
    output::say(&format!("baseline written to {}", path.display()));
    Ok(())
}

/// A setup error: a document that says why for machine formats, then the message.
fn setup_error(message: String, target: &TargetInfo, report_args: &ReportArgs) -> Ended {
    output::deliver_setup_error(&message, target, report_args);
    Ended::Setup(message)
}

fn target_name(server: &Option<String>, addr: &Option<String>) -> TargetInfo {
    match (server, addr) {
        (Some(command), _) => TargetInfo::Command(command.clone()),
        (None, Some(addr)) => TargetInfo::Addr(addr.clone()),
        (None, None) => TargetInfo::Command("the bundled reference server".into()),
    }
}

/// `--list`: the selected checks, one per line.
fn list(check: &Check) -> Ended {
    let plan = match check.list() {
        Ok(plan) => plan,
        Err(e) => return Ended::Setup(e.to_string()),
    };
    let width = plan.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut text = String::new();
    for info in &plan {
        text.push_str(&format!("{:<width$}  {}\n", info.id, info.description));
    }
    match output::print(&text) {
        Ok(()) => Ended::Conforming,
        Err(failure) => failure.into(),
    }
}

/// `unblocked matrix`.
fn run_matrix(args: &MatrixArgs) -> Ended {
    crate::kit::cli::matrix::run_cli(args)
}

/// `unblocked replay`: sends the pieces as a check did and prints what came back, escaped.
fn replay(args: &ReplayArgs) -> Ended {
    let mut pieces = Vec::with_capacity(args.pieces.len());
    for (i, piece) in args.pieces.iter().enumerate() {
        match crate::kit::http::escape::unescape(piece) {
            Ok(bytes) => pieces.push(bytes),
            Err(e) => return Ended::Setup(format!("piece {}: {e}", i + 1)),
        }
    }
    let spec = match (&args.server, &args.addr) {
        (Some(command), _) => TargetSpec::Command(command.clone()),
        (None, Some(addr)) => TargetSpec::Addr(addr.clone()),
        (None, None) => return Ended::Setup("give --server or --addr".into()),
    };
    let options = crate::kit::run::target::TargetOptions {
        dir: args.server_dir.clone(),
        ..Default::default()
    };
    let target = match Target::start(spec, options) {
        Ok(target) => target,
        Err(e) => return Ended::Setup(e.to_string()),
    };
    let mut delivery = Delivery {
        pieces,
        pause: args.pause,
        half_close: args.half_close,
        later: Vec::new(),
    };
    let mut answered_before = crate::kit::verdict::expect::analyze(&delivery.bytes())
        .requests
        .len();
    for (i, text) in args.later.iter().enumerate() {
        let bytes = match crate::kit::http::escape::unescape(text) {
            Ok(bytes) => bytes,
            Err(e) => return Ended::Setup(format!("--later {}: {e}", i + 1)),
        };
        let requests = crate::kit::verdict::expect::analyze(&bytes).requests.len();
        delivery.later.push(raw::Later {
            after_responses: answered_before,
            bytes,
        });
        answered_before += requests;
    }
    let plan = crate::kit::verdict::expect::Plan::of(&delivery);
    let timing = raw::Timing {
        response: args.timeout,
        ..raw::Timing::default()
    };
    let text = match raw::send(target.addr(), &delivery, &timing, &plan.owed()) {
        Ok(ex) => format!(
            "{}\n({}, {} ms)\n",
            crate::kit::http::escape::escape(&ex.received),
            ex.ending.describe(),
            ex.elapsed.as_millis()
        ),
        Err(e) => return Ended::Setup(format!("cannot connect to {}: {e}", target.addr())),
    };
    drop(target);
    match output::print(&text) {
        Ok(()) => Ended::Conforming,
        Err(failure) => failure.into(),
    }
}
