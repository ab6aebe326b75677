//! The kit's command-line options, and their validation: nonsense is refused before anything
//! runs, with a message that says what is wrong (exit code 2).

use crate::kit::run::check::Check;
use crate::kit::run::settings::{
    ConcurrencySettings, DEFAULT_FUZZ_CASES, DEFAULT_MAX, FuzzSettings, Settings, parse_duration,
    parse_pause,
};
use crate::kit::run::target::{TargetOptions, TargetSpec};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// A conformance kit for the concurrent HTTP/1.1 server of the async Rust book.
///
/// With no subcommand, runs `check` against the bundled reference server.
#[derive(Parser)]
#[command(name = "unblocked", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the conformance suite (the default).
    Check(CheckArgs),
    /// Find the largest number of slow requests during which fast ones still meet the budget.
    Capacity(CapacityArgs),
    /// Run the suite on every implementation listed in a file and compare them side by side.
    Matrix(MatrixArgs),
    /// Send a request exactly as a check did (in pieces, with pauses) and print the answer.
    Replay(ReplayArgs),
    /// Run the bundled reference server (the same server and flags as `hello-server`).
    #[command(disable_help_flag = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a server command so that nothing it starts outlives the kit (used by the kit).
    #[command(hide = true)]
    Supervise {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
        command: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Html,
}

/// Which server to check.
#[derive(Args, Clone, Debug)]
pub struct TargetArgs {
    /// The server to start: `{port}` (or `$PORT`) is replaced by a free port, also exported
    /// as PORT. Split like a shell would.
    #[arg(long, value_name = "COMMAND", conflicts_with = "addr")]
    pub server: Option<String>,
    /// A server that is already running; checks that need a fresh server are skipped.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// The working directory of the server command [default: the kit's].
    #[arg(long, value_name = "DIR", requires = "server")]
    pub server_dir: Option<PathBuf>,
    /// The bundled reference server's sleep (only when neither --server nor --addr is given).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, conflicts_with_all = ["server", "addr"])]
    pub sleep: Duration,
    /// Time allowed for the server to answer its first GET / (also for --addr).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
}

/// How the report is given.
#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// Report format on stdout (or in --output).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE (atomically); the human report still goes to the terminal.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show details under every check, not only under the failing ones.
    #[arg(long, short)]
    pub verbose: bool,
    /// Count non-strict verdicts as failures.
    #[arg(long)]
    pub strict: bool,
}

/// Regression checking against a baseline of known failures and measured figures.
#[derive(Args, Clone, Debug, Default)]
pub struct BaselineArgs {
    /// Judge against a baseline: known failures are `known`, worse figures `regressed`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write a baseline of this run's failures and figures to FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "update_baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Rewrite the --baseline file from this run, keeping the reasons written in it.
    #[arg(long, requires = "baseline")]
    pub update_baseline: bool,
}

/// Which checks run.
#[derive(Args, Clone, Debug)]
pub struct SelectionArgs {
    /// Run only these groups or check ids (repeatable, or comma-separated).
    #[arg(long, value_name = "GROUP_OR_ID", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these groups or check ids (repeatable, or comma-separated).
    #[arg(long, value_name = "GROUP_OR_ID", value_delimiter = ',')]
    pub skip: Vec<String>,
}

#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    /// Print the selected check ids and exit.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Compare bodies with DIR/hello.html and DIR/404.html instead of learning the pages.
    #[arg(long, value_name = "DIR")]
    pub pages: Option<PathBuf>,
    /// Add (or replace, by id) fixture cases from the *.toml files of DIR.
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Time allowed for a complete response (the slow route excepted).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Fuzz cases per generator family.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_FUZZ_CASES, value_parser = clap::value_parser!(u32).range(1..))]
    pub fuzz_cases: u32,
    /// Seed of the fuzz generators [default: random, printed; the same seed gives the same cases].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Write one fixture file per fuzz failure class in DIR (replay with --cases).
    #[arg(long, value_name = "DIR")]
    pub save_failures: Option<PathBuf>,
    /// Concurrent slow requests K [default: the larger of 16 and 4 x CPUs].
    #[arg(long, value_name = "K", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub slow: Option<usize>,
    /// Time a fast request may take [default: the larger of 50ms and S/10].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub fast_budget: Option<Duration>,
    /// Also run the capacity search (`concurrency.capacity`).
    #[arg(long)]
    pub capacity: bool,
    /// Largest K the capacity search tries.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max: usize,
    /// Run every check in order on one server, none at the same time on sibling instances
    /// (for a server that cannot run twice at once).
    #[arg(long)]
    pub sequential: bool,
}

/// `unblocked capacity`: only what the capacity search uses.
#[derive(Args, Clone, Debug)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    /// Time allowed for a complete response.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Time a fast request may take [default: the larger of 50ms and S/10].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub fast_budget: Option<Duration>,
    /// Largest K the search tries.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max: usize,
}

/// `unblocked matrix FILE`.
#[derive(Args, Clone, Debug)]
pub struct MatrixArgs {
    /// The implementations: a TOML file of `[[implementation]]` tables with `name`,
    /// `server` and optionally `dir` and per-implementation options.
    pub file: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Time allowed for a complete response (the slow route excepted).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Time allowed for each server to answer its first GET /.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
    /// Fuzz cases per generator family.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_FUZZ_CASES, value_parser = clap::value_parser!(u32).range(1..))]
    pub fuzz_cases: u32,
    /// Seed of the fuzz generators [default: random, printed, the same for every implementation].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `unblocked replay`: the bytes of a check, sent the same way.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// The server to start for the replay (`{port}` as for check), stopped afterwards.
    #[arg(
        long,
        value_name = "COMMAND",
        conflicts_with = "addr",
        required_unless_present = "addr"
    )]
    pub server: Option<String>,
    /// A server that is already running.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// The server command's working directory.
    #[arg(long, value_name = "DIR", requires = "server")]
    pub server_dir: Option<PathBuf>,
    /// Pause between the pieces.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_pause)]
    pub pause: Duration,
    /// Shut down the sending side once everything is sent.
    #[arg(long)]
    pub half_close: bool,
    /// A request sent on the same connection once the requests before it are answered
    /// (repeatable, in order).
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub later: Vec<String>,
    /// Time allowed for the answer.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// The pieces to send, in the kit's escape syntax (`\r`, `\n`, `\xHH`, `\{N:TEXT}`).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    pub pieces: Vec<String>,
}

impl TargetArgs {
    /// The target these options name.
    pub fn spec(&self) -> Result<TargetSpec, String> {
        Ok(match (&self.server, &self.addr) {
            (Some(command), _) => TargetSpec::Command(command.clone()),
            (None, Some(addr)) => TargetSpec::Addr(addr.clone()),
            (None, None) => TargetSpec::Bundled {
                exe: std::env::current_exe()
                    .map_err(|e| format!("cannot find my own executable: {e}"))?,
                sleep: self.sleep,
            },
        })
    }

    pub fn options(&self) -> TargetOptions {
        TargetOptions {
            startup_timeout: self.startup_timeout,
            dir: self.server_dir.clone(),
            ..TargetOptions::default()
        }
    }
}

impl CheckArgs {
    /// The run these options describe, validated.
    pub fn check(&self, seed: u64) -> Result<Check, String> {
        let settings = Settings {
            strict: self.report.strict,
            timeout: self.timeout,
            pages_dir: self.pages.clone(),
            cases_dir: self.cases.clone(),
            only: self.selection.only.clone(),
            skip: self.selection.skip.clone(),
            target: self.target.options(),
            fuzz: FuzzSettings {
                cases: self.fuzz_cases,
                seed: Some(seed),
                save_failures: self.save_failures.clone(),
            },
            concurrency: ConcurrencySettings {
                slow: self.slow,
                fast_budget: self.fast_budget,
                capacity: self.capacity,
                max: Some(self.max),
            },
            sequential: self.sequential,
            ..Settings::default()
        };
        let check = Check::new(self.target.spec()?).settings(settings);
        check.validate_selection()?;
        Ok(check)
    }
}

impl CapacityArgs {
    pub fn check(&self) -> Result<Check, String> {
        let settings = Settings {
            strict: self.report.strict,
            timeout: self.timeout,
            only: vec![crate::kit::checks::concurrency::CAPACITY.to_string()],
            target: self.target.options(),
            concurrency: ConcurrencySettings {
                fast_budget: self.fast_budget,
                capacity: true,
                max: Some(self.max),
                ..ConcurrencySettings::default()
            },
            ..Settings::default()
        };
        Ok(Check::new(self.target.spec()?).settings(settings))
    }
}
