//! `unblocked-bench`: the reference server side by side with a tokio peer and nginx.
//!
//! `unblocked-bench run --hello PATH [--nginx PATH] [--wrk PATH]` starts every server on a
//! free port, measures them and prints one markdown table (`ci/bench.sh` runs it). The
//! client parts also run alone against any server: `load` (throughput and latency, one
//! connection per request) and `hold` (many slow or idle connections, fast latency
//! meanwhile). `unblocked-bench help` lists the options.

mod client;
mod procfs;
mod servers;
mod wrk;

use client::{Held, HoldReport, LoadReport};
use servers::Server;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage:
  unblocked-bench run --hello PATH [--tokio PATH] [--nginx PATH] [--wrk PATH]
        [--rounds 6] [--duration 4s] [--connections 32] [--threads 2] [--server-threads 1]
        [--scale 10000] [--sleep 10s] [--read-timeout 5s] [--window 5s]
  unblocked-bench load --addr HOST:PORT [--path /] [--connections 32] [--threads 2] [--duration 5s]
  unblocked-bench hold --addr HOST:PORT --held slow|idle [--count 10000] [--ends-after 10s]
        [--window 5s] [--pid PID]...

run:  every server on a free port; GET / throughput with wrk and with the own client (rounds
      interleaved across servers), server CPU per request, fast GET / latency while 1,000 and
      10,000 slow /sleep requests are in flight and while 10,000 idle connections are open,
      resident memory; one markdown table on stdout, progress on stderr. --rounds 0 skips
      the throughput part, --scale 0 the slow and idle part. --threads sizes the load
      client, --server-threads every server alike (executor threads of hello-server and the
      tokio peer, nginx's worker processes; 0 is one per CPU core for each, nginx's `auto`).
load: one connection per request, read to EOF; requests/s, latency p50/p99.
hold: opens COUNT slow (GET /sleep) or idle connections, sends fast GET / requests every 1 ms
      while they are held (until ENDS-AFTER - 0.5 s at most), then reports how they ended;
      --pid gives the server's processes for RSS.";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    procfs::raise_open_file_limit();
    let result = Args::parse(rest)
        .map_err(Failure::from)
        .and_then(|mut args| match command.as_str() {
            "run" => run(&mut args),
            "load" => load_command(&mut args),
            "hold" => hold_command(&mut args),
            "help" | "--help" | "-h" => {
                println!("{USAGE}");
                Ok(())
            }
            other => Err(format!("unknown command {other}").into()),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("unblocked-bench: {}", failure.message);
            if failure.show_usage {
                eprintln!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}

/// Why a command failed; a bad option also shows the usage.
struct Failure {
    message: String,
    show_usage: bool,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            show_usage: true,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// `--name value` options (a name may repeat).
struct Args(Vec<(String, String)>);

impl Args {
    fn parse(argv: &[String]) -> Result<Args, String> {
        let mut pairs = Vec::new();
        let mut it = argv.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag}"))?;
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            pairs.push((name.to_string(), value.clone()));
        }
        Ok(Args(pairs))
    }

    fn all(&mut self, name: &str) -> Vec<String> {
        let (taken, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(n, _)| n == name);
        self.0 = kept;
        taken.into_iter().map(|(_, v)| v).collect()
    }

    fn text(&mut self, name: &str) -> Option<String> {
        self.all(name).pop()
    }

    fn get<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v}: {e}")),
        }
    }

    /// The required `--addr HOST:PORT`.
    fn addr(&mut self) -> Result<SocketAddr, String> {
        self.text("addr")
            .ok_or("--addr is required")?
            .parse()
            .map_err(|e| format!("--addr: {e}"))
    }

    fn duration(&mut self, name: &str, default: Duration) -> Result<Duration, String> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => humantime::parse_duration(&v).map_err(|e| format!("--{name} {v}: {e}")),
        }
    }

    fn finish(&self) -> Result<(), String> {
        match self.0.first() {
            None => Ok(()),
            Some((name, _)) => Err(format!("unknown option --{name}")),
        }
    }
}

fn load_command(args: &mut Args) -> Result<(), Failure> {
    let addr = args.addr()?;
    let path = args.text("path").unwrap_or_else(|| "/".into());
    let connections = args.get("connections", 32)?;
    let threads = args.get("threads", 2)?;
    let duration = args.duration("duration", Duration::from_secs(5))?;
    args.finish()?;
    let report = client::load(addr, &path, connections, threads, duration);
    println!(
        "{:.0} requests/s ({} in {:?}), latency p50 {} ms, p99 {} ms, errors {:?}",
        report.rate(),
        report.requests,
        report.duration,
        ms(report.latencies.quantile_ms(0.5)),
        ms(report.latencies.quantile_ms(0.99)),
        report.errors
    );
    Ok(())
}

fn hold_command(args: &mut Args) -> Result<(), Failure> {
    let addr = args.addr()?;
    let held = match args.text("held").as_deref() {
        Some("slow") => Held::Slow,
        Some("idle") => Held::Idle,
        _ => return Err("--held slow or --held idle is required".into()),
    };
    let count = args.get("count", 10_000)?;
    let ends_after = args.duration("ends-after", Duration::from_secs(10))?;
    let window = args.duration("window", Duration::from_secs(5))?;
    let pids = args
        .all("pid")
        .iter()
        .map(|p| p.parse::<u32>().map_err(|e| format!("--pid {p}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    args.finish()?;
    let report = client::hold(addr, held, count, ends_after, window, FAST_EVERY, &pids);
    println!("{}", describe_hold(&report));
    Ok(())
}

/// One fast request every millisecond during a hold window.
const FAST_EVERY: Duration = Duration::from_millis(1);

fn describe_hold(r: &HoldReport) -> String {
    format!(
        "{} of {} opened in {:.2} s (all accepted: {}); fast GET /: {} in {:.2} s, p50 {} ms, p99 {} ms, max {} ms, errors {:?}, window clean: {}; RSS {} -> {} KiB ({:.1} KiB per connection); endings {:?} between {:.2} s and {:.2} s",
        r.opened,
        r.count,
        r.open_time.as_secs_f64(),
        r.all_accepted,
        r.fast.len(),
        r.window.as_secs_f64(),
        ms(r.fast.quantile_ms(0.5)),
        ms(r.fast.quantile_ms(0.99)),
        ms(r.fast.quantile_ms(1.0)),
        r.fast_errors,
        r.window_clean,
        r.rss_before_kib,
        r.rss_held_kib,
        r.kib_per_held(),
        r.endings,
        r.first_end.unwrap_or_default().as_secs_f64(),
        r.last_end.unwrap_or_default().as_secs_f64(),
    )
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Which server a column is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Peer {
    Hello,
    /// hello-server with `--lingering-close auto`: throughput only, to measure what the
    /// staged close of every connection costs (the slow and idle paths are the same).
    HelloAuto,
    Tokio,
    Nginx,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Hello => "hello-server",
            Peer::HelloAuto => "hello-server --lingering-close auto",
            Peer::Tokio => "tokio-hello",
            Peer::Nginx => "nginx",
        }
    }
}

/// Everything measured about one server.
#[derive(Default)]
struct Column {
    wrk: Vec<wrk::WrkReport>,
    wrk_cpu_us: Vec<f64>,
    own: Vec<LoadReport>,
    own_cpu_us: Vec<f64>,
    slow: BTreeMap<usize, HoldReport>,
    idle: Option<HoldReport>,
    notes: Vec<String>,
}

struct Plan {
    hello: PathBuf,
    tokio: Option<PathBuf>,
    nginx: Option<PathBuf>,
    wrk: Option<PathBuf>,
    rounds: usize,
    duration: Duration,
    connections: usize,
    threads: usize,
    /// Executor threads (worker processes for nginx) of every server; 0 is their default.
    server_threads: usize,
    scale: usize,
    sleep: Duration,
    read_timeout: Duration,
    window: Duration,
}

fn run(args: &mut Args) -> Result<(), Failure> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let plan = Plan {
        hello: args.text("hello").ok_or("--hello PATH is required")?.into(),
        tokio: Some(
            args.text("tokio")
                .map_or_else(|| exe_dir.join("tokio-hello"), PathBuf::from),
        ),
        nginx: args.text("nginx").map(PathBuf::from),
        wrk: args.text("wrk").map(PathBuf::from),
        rounds: args.get("rounds", 6)?,
        duration: args.duration("duration", Duration::from_secs(4))?,
        connections: args.get("connections", 32)?,
        threads: args.get("threads", 2)?,
        server_threads: args.get("server-threads", 1)?,
        scale: args.get("scale", 10_000)?,
        sleep: args.duration("sleep", Duration::from_secs(10))?,
        read_timeout: args.duration("read-timeout", Duration::from_secs(5))?,
        window: args.duration("window", Duration::from_secs(5))?,
    };
    args.finish()?;
    let work = std::env::temp_dir().join(format!("unblocked-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let began = Instant::now();
    let result = measure(&plan, &work);
    let _ = std::fs::remove_dir_all(&work);
    let columns = result.map_err(|message| Failure {
        message,
        show_usage: false,
    })?;
    println!("{}", table(&plan, &columns));
    eprintln!("bench: done in {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}

fn peers(plan: &Plan) -> Vec<Peer> {
    let mut peers = vec![Peer::Hello];
    if plan.rounds > 0 {
        peers.push(Peer::HelloAuto);
    }
    if plan.tokio.is_some() {
        peers.push(Peer::Tokio);
    }
    if plan.nginx.is_some() {
        peers.push(Peer::Nginx);
    }
    peers
}

/// Starts `peer`; hello-server and the tokio peer take the same flags.
fn start(plan: &Plan, peer: Peer, work: &Path) -> Result<Server, String> {
    let mut flags = vec![
        "--bind".to_string(),
        "127.0.0.1:0".into(),
        "--quiet".into(),
        "--sleep".into(),
        format!("{}ms", plan.sleep.as_millis()),
        "--read-timeout".into(),
        format!("{}ms", plan.read_timeout.as_millis()),
    ];
    if plan.server_threads > 0 {
        flags.extend(["--threads".to_string(), plan.server_threads.to_string()]);
    }
    match peer {
        Peer::Hello => Server::start_listening(peer.name(), &plan.hello, &flags, work),
        Peer::HelloAuto => {
            flags.extend(["--lingering-close".to_string(), "auto".into()]);
            Server::start_listening(peer.name(), &plan.hello, &flags, work)
        }
        Peer::Tokio => {
            let program = plan.tokio.as_ref().expect("tokio peer planned");
            Server::start_listening(peer.name(), program, &flags, work)
        }
        Peer::Nginx => {
            let program = plan.nginx.as_ref().expect("nginx planned");
            let page = include_bytes!("../../fixtures/hello.html");
            Server::start_nginx(program, page, plan.read_timeout, plan.server_threads, work)
        }
    }
}

fn measure(plan: &Plan, work: &Path) -> Result<HashMap<Peer, Column>, String> {
    let peers = peers(plan);
    let mut columns: HashMap<Peer, Column> =
        peers.iter().map(|&p| (p, Column::default())).collect();
    let ticks = procfs::ticks_per_second() as f64;

    // Throughput: every server up at once, rounds interleaved (A B C A B C ...).
    let mut servers = Vec::new();
    for &peer in peers.iter().filter(|_| plan.rounds > 0) {
        let server = start(plan, peer, work)?;
        eprintln!("bench: {} listening on {}", peer.name(), server.addr);
        servers.push((peer, server));
    }
    for (peer, server) in &servers {
        eprintln!("bench: warming up {}", peer.name());
        client::load(
            server.addr,
            "/",
            plan.connections,
            plan.threads,
            Duration::from_secs(1),
        );
    }
    for round in 1..=plan.rounds {
        for (peer, server) in &mut servers {
            let column = columns.get_mut(peer).expect("a column per peer");
            let pids = server.pids();
            if let Some(wrk) = &plan.wrk {
                let before = procfs::cpu_ticks(&pids);
                let report = wrk::run(
                    wrk,
                    server.addr,
                    plan.threads,
                    plan.connections,
                    plan.duration,
                )?;
                let cpu = (procfs::cpu_ticks(&pids) - before) as f64 / ticks;
                column
                    .wrk_cpu_us
                    .push(cpu * 1e6 / report.requests.max(1) as f64);
                eprintln!(
                    "bench: round {round} {} wrk: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms {}",
                    peer.name(),
                    report.rate,
                    report.p50_ms,
                    report.p99_ms,
                    report.errors.join("; ")
                );
                column.wrk.push(report);
            }
            let before = procfs::cpu_ticks(&pids);
            let report = client::load(
                server.addr,
                "/",
                plan.connections,
                plan.threads,
                plan.duration,
            );
            let cpu = (procfs::cpu_ticks(&pids) - before) as f64 / ticks;
            column
                .own_cpu_us
                .push(cpu * 1e6 / report.requests.max(1) as f64);
            eprintln!(
                "bench: round {round} {} own client: {:.0} requests/s, p50 {} ms, p99 {} ms, errors {:?}",
                peer.name(),
                report.rate(),
                ms(report.latencies.quantile_ms(0.5)),
                ms(report.latencies.quantile_ms(0.99)),
                report.errors
            );
            column.own.push(report);
            server.check_alive()?;
        }
    }
    drop(servers);

    if plan.scale > 0 {
        measure_scale(plan, work, &peers, &mut columns)?;
    }
    for column in columns.values_mut() {
        for report in &column.own {
            if report.error_count() > 0 {
                column
                    .notes
                    .push(format!("own client errors {:?}", report.errors));
            }
        }
        for report in &column.wrk {
            column
                .notes
                .extend(report.errors.iter().map(|e| format!("wrk: {e}")));
        }
    }
    Ok(columns)
}

/// Scale: slow requests in flight, then idle connections; a fresh server for each part so
/// that resident memory starts from an unused server.
fn measure_scale(
    plan: &Plan,
    work: &Path,
    peers: &[Peer],
    columns: &mut HashMap<Peer, Column>,
) -> Result<(), String> {
    let mut sizes = vec![plan.scale];
    if plan.scale > 1000 {
        sizes.push(1000);
    }
    for &peer in peers.iter().filter(|&&p| p != Peer::HelloAuto) {
        let column = columns.get_mut(&peer).expect("a column per peer");
        if peer != Peer::Nginx {
            let mut server = start(plan, peer, work)?;
            for &count in &sizes {
                eprintln!(
                    "bench: {} with {count} slow requests in flight",
                    peer.name()
                );
                let report = client::hold(
                    server.addr,
                    Held::Slow,
                    count,
                    plan.sleep,
                    plan.window,
                    FAST_EVERY,
                    &server.pids(),
                );
                eprintln!("bench:   {}", describe_hold(&report));
                column.slow.insert(count, report);
                server.check_alive()?;
            }
        }
        let mut server = start(plan, peer, work)?;
        eprintln!(
            "bench: {} with {} idle connections",
            peer.name(),
            plan.scale
        );
        let report = client::hold(
            server.addr,
            Held::Idle,
            plan.scale,
            plan.read_timeout,
            plan.window,
            FAST_EVERY,
            &server.pids(),
        );
        eprintln!("bench:   {}", describe_hold(&report));
        column.idle = Some(report);
        server.check_alive()?;
    }
    Ok(())
}

fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// `12,345`.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pair_ms(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{a:.2} / {b:.2} ms"),
        _ => "-".into(),
    }
}

fn fast_cell(report: Option<&HoldReport>) -> String {
    let Some(r) = report else {
        return "n/a".into();
    };
    let mut cell = pair_ms(r.fast.quantile_ms(0.5), r.fast.quantile_ms(0.99));
    let errors: usize = r.fast_errors.values().map(|&n| n as usize).sum();
    if errors > 0 {
        cell.push_str(&format!(" ({errors} failed)"));
    }
    if !r.window_clean {
        cell.push_str(" (window overlapped)");
    }
    cell
}

fn endings_cell(r: &HoldReport) -> String {
    r.endings
        .iter()
        .map(|(how, n)| format!("{} x {how}", thousands(*n as f64)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(plan: &Plan, columns: &HashMap<Peer, Column>) -> String {
    let peers = peers(plan);
    let header: Vec<String> = peers
        .iter()
        .map(|p| {
            let (name, unit) = match p {
                Peer::Hello => ("hello-server (async-std", "thread"),
                Peer::HelloAuto => ("hello-server `--lingering-close auto` (async-std", "thread"),
                Peer::Tokio => ("tokio peer (tokio-hello", "thread"),
                Peer::Nginx => ("nginx (keep-alive off", "worker"),
            };
            match plan.server_threads {
                0 => format!("{name}, default {unit}s)"),
                1 => format!("{name}, 1 {unit})"),
                n => format!("{name}, {n} {unit}s)"),
            }
        })
        .collect();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: String, cell: &dyn Fn(&Column) -> String| {
        let cells = peers.iter().map(|p| cell(&columns[p])).collect();
        rows.push((label, cells));
    };
    if plan.rounds > 0 {
        let runs = format!(
            "median of {} x {} s, {} connections",
            plan.rounds,
            plan.duration.as_secs(),
            plan.connections
        );
        if plan.wrk.is_some() {
            row(format!("`GET /` requests/s, wrk ({runs})"), &|c| {
                median(c.wrk.iter().map(|r| r.rate)).map_or("-".into(), thousands)
            });
            row("`GET /` latency p50 / p99, wrk".into(), &|c| {
                pair_ms(
                    median(c.wrk.iter().map(|r| r.p50_ms)),
                    median(c.wrk.iter().map(|r| r.p99_ms)),
                )
            });
        }
        row(
            format!("`GET /` requests/s, own client (one connection per request, {runs})"),
            &|c| median(c.own.iter().map(LoadReport::rate)).map_or("-".into(), thousands),
        );
        row(
            "`GET /` latency p50 / p99, own client (connect to EOF)".into(),
            &|c| {
                pair_ms(
                    median(c.own.iter().filter_map(|r| r.latencies.quantile_ms(0.5))),
                    median(c.own.iter().filter_map(|r| r.latencies.quantile_ms(0.99))),
                )
            },
        );
        row("server CPU per request, own client".into(), &|c| {
            median(c.own_cpu_us.iter().copied()).map_or("-".into(), |v| format!("{v:.1} us"))
        });
        if plan.wrk.is_some() {
            row("server CPU per request, wrk".into(), &|c| {
                median(c.wrk_cpu_us.iter().copied()).map_or("-".into(), |v| format!("{v:.1} us"))
            });
        }
    }
    if plan.scale > 0 {
        let sizes = if plan.scale > 1000 {
            vec![1000, plan.scale]
        } else {
            vec![plan.scale]
        };
        for &count in &sizes {
            row(
                format!(
                    "fast `GET /` p50 / p99, {} slow `/sleep` in flight",
                    thousands(count as f64)
                ),
                &|c| fast_cell(c.slow.get(&count)),
            );
        }
        row(
            format!("slow requests answered ({} s sleep)", plan.sleep.as_secs()),
            &|c| {
                if c.slow.is_empty() {
                    return "n/a (no `/sleep`)".into();
                }
                sizes
                    .iter()
                    .filter_map(|n| c.slow.get(n))
                    .map(endings_cell)
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        );
        row(
            format!(
                "RSS: idle -> {} slow in flight",
                thousands(plan.scale as f64)
            ),
            &|c| match c.slow.get(&plan.scale) {
                Some(r) => format!(
                    "{:.1} -> {:.1} MiB",
                    r.rss_before_kib as f64 / 1024.0,
                    r.rss_held_kib as f64 / 1024.0
                ),
                None => "n/a".into(),
            },
        );
        row("RSS per in-flight slow request".into(), &|c| {
            c.slow
                .get(&plan.scale)
                .map_or("n/a".into(), |r| format!("{:.1} KiB", r.kib_per_held()))
        });
        row(
            format!(
                "fast `GET /` p50 / p99, {} idle connections",
                thousands(plan.scale as f64)
            ),
            &|c| fast_cell(c.idle.as_ref()),
        );
        row(
            format!(
                "idle connections after the {} s read timeout",
                plan.read_timeout.as_secs()
            ),
            &|c| {
                c.idle.as_ref().map_or("-".into(), |r| {
                    format!(
                        "{} (at {:.1}-{:.1} s)",
                        endings_cell(r),
                        r.first_end.unwrap_or_default().as_secs_f64(),
                        r.last_end.unwrap_or_default().as_secs_f64()
                    )
                })
            },
        );
        row("RSS per idle connection".into(), &|c| {
            c.idle
                .as_ref()
                .map_or("-".into(), |r| format!("{:.1} KiB", r.kib_per_held()))
        });
    }

    let mut out = String::new();
    out.push_str(&format!("| | {} |\n", header.join(" | ")));
    out.push_str(&format!("| --- |{}\n", " --- |".repeat(peers.len())));
    for (label, cells) in rows {
        out.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    }
    let mut notes = Vec::new();
    for peer in &peers {
        let column = &columns[peer];
        for note in &column.notes {
            notes.push(format!("- {}: {note}", peer.name()));
        }
        for (count, r) in column
            .slow
            .iter()
            .map(|(n, r)| (*n, r))
            .chain(column.idle.as_ref().map(|r| (0, r)))
        {
            let what = if count == 0 {
                format!("{} idle", thousands(r.count as f64))
            } else {
                format!("{} slow", thousands(count as f64))
            };
            notes.push(format!(
                "- {}, {what}: opened in {:.2} s{}, {} fast requests in a {:.1} s window (max {} ms)",
                peer.name(),
                r.open_time.as_secs_f64(),
                if r.all_accepted { "" } else { " (not all seen accepted)" },
                r.fast.len(),
                r.window.as_secs_f64(),
                ms(r.fast.quantile_ms(1.0)),
            ));
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    out
}
