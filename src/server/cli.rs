//! The `hello-server` command line, also run by `unblocked serve`.

use crate::pages::Pages;
use crate::server::{self, Config, LingeringClose, log::Logger};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Options of the reference server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (read it from the first stdout line).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub bind: SocketAddr,
    /// How long `GET /sleep` waits before answering (e.g. 250ms, 2s).
    #[arg(long, default_value = "5s", value_parser = bounded_duration)]
    pub sleep: Duration,
    /// Serve DIR/hello.html and DIR/404.html instead of the bundled pages.
    #[arg(long, value_name = "DIR")]
    pub pages: Option<PathBuf>,
    /// Time allowed for a complete request head; slower clients get 408.
    #[arg(long, default_value = "10s", value_parser = positive_duration)]
    pub read_timeout: Duration,
    /// Open connections beyond which new ones get an immediate 503.
    #[arg(long, default_value_t = 16384, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// When to shut down the write side and drain before closing: after every response,
    /// or only when the client may still be sending (as nginx does).
    #[arg(long, value_enum, default_value_t = LingeringClose::Always)]
    pub lingering_close: LingeringClose,
    /// Do not log requests on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Executor threads [default: async-std's, one per CPU core, or ASYNC_STD_THREAD_COUNT].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// The longest duration the server takes: a day (a longer one is a typo, and would
/// overflow the deadline of every connection).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A duration of at most [`MAX_DURATION`].
pub fn bounded_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d > MAX_DURATION {
        return Err(format!(
            "more than the longest duration the server takes, {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

/// A duration that must not be zero (`0s` would make every client time out at once).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    match bounded_duration(text)? {
        d if d.is_zero() => Err("must be more than zero".into()),
        d => Ok(d),
    }
}

/// `unblocked serve ARGS...`: the same options as `hello-server`.
pub fn serve_command_line(args: &[String]) -> ExitCode {
    use clap::Parser;
    #[derive(Parser)]
    #[command(name = "unblocked serve")]
    struct Serve {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let words = std::iter::once("unblocked serve".to_string()).chain(args.iter().cloned());
    match Serve::try_parse_from(words) {
        Ok(parsed) => serve(parsed.serve),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
    }
}

/// Runs the server until SIGINT or SIGTERM. Exit code 2 when it cannot start.
pub fn serve(args: ServeArgs) -> ExitCode {
    match start(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hello-server: {message}");
            ExitCode::from(2)
        }
    }
}

fn start(args: ServeArgs) -> Result<(), String> {
    if let Some(threads) = args.threads {
        server::set_executor_threads(usize::from(threads))?;
    }
    let pages = match &args.pages {
        Some(dir) => Pages::from_dir(dir).map_err(|e| e.to_string())?,
        None => Pages::bundled(),
    };
    let mut max_connections = args.max_connections;
    match server::raise_open_file_limit() {
        Ok(open_files) => {
            let fitted = server::fit_connection_limit(max_connections, open_files);
            if fitted < max_connections {
                eprintln!(
                    "hello-server: warning: open-file limit is {open_files}; --max-connections lowered from {max_connections} to {fitted}"
                );
                max_connections = fitted;
            }
        }
        Err(e) => eprintln!("hello-server: warning: cannot read the open-file limit: {e}"),
    }
    let listener =
        server::bind(args.bind).map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{local}")
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    let config = Config {
        sleep: args.sleep,
        read_timeout: args.read_timeout,
        max_connections,
        pages,
        logger: (!args.quiet).then(|| Logger::spawn(std::io::stderr())),
        lingering_close: args.lingering_close,
    };
    let shutdown = shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    // The accept loop is a task on the executor, like the connections it spawns: on the
    // main thread, every spawn handed the connection to an executor thread and woke it
    // (with one executor thread: 58-78 us of CPU per request before, 50-53 us after).
    let accept_loop = async_std::task::spawn(server::run(listener, config, async move {
        let _ = shutdown.recv().await;
    }));
    async_std::task::block_on(accept_loop).map_err(|e| e.to_string())
}

/// A channel that receives one message on the first SIGINT or SIGTERM.
fn shutdown_signal() -> std::io::Result<async_std::channel::Receiver<()>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let (notify, received) = async_std::channel::bounded(1);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                eprintln!("hello-server: signal {signal}: finishing in-flight requests");
                let _ = notify.try_send(());
            }
        })?;
    Ok(received)
}
