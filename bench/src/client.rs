//! The benchmark's own client: one connection per request, the response read to EOF.
//!
//! - [`load`]: fixed concurrency for a fixed duration; requests/s and latency from connect
//!   to EOF.
//! - [`hold`]: opens many slow (`GET /sleep`) or idle (nothing sent) connections, then sends
//!   fast `GET /` requests at a steady rate in the window while all of them are held, and
//!   finally collects how each held connection ended.

use crate::procfs;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Connections being opened at once: well under the servers' listen backlog (1024), so a
/// burst never costs SYN retries.
const OPENING_AT_ONCE: usize = 256;

/// Latency samples in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn push(&mut self, elapsed: Duration) {
        self.0
            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
    }

    fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// The `q` quantile (0..=1) in milliseconds, nearest rank; `None` without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(f64::from(sorted[rank - 1]) / 1000.0)
    }
}

/// `GET PATH HTTP/1.1` with a Host field, as a browser or curl would send it.
pub fn request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// One exchange: connect, send `request`, read to EOF; the status of a well-framed response.
async fn exchange(addr: SocketAddr, request: &[u8], buf: &mut Vec<u8>) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("write: {}", e.kind()))?;
    buf.clear();
    stream
        .read_to_end(buf)
        .await
        .map_err(|e| format!("read: {}", e.kind()))?;
    status_of(buf)
}

/// The status of a complete response whose body matches its Content-Length.
fn status_of(bytes: &[u8]) -> Result<u16, String> {
    if bytes.is_empty() {
        return Err("closed without a response".into());
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err("malformed response".into()),
    };
    let declared = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    if declared.is_some_and(|length| length != bytes.len() - head_len) {
        return Err("body length differs from Content-Length".into());
    }
    response.code.ok_or_else(|| "no status".into())
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Complete 200 responses within the duration.
    pub requests: u64,
    /// Failed exchanges (and non-200 answers), by kind.
    pub errors: BTreeMap<String, u64>,
    pub duration: Duration,
    pub latencies: Latencies,
}

impl LoadReport {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.duration.as_secs_f64()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// `connections` clients, spread over `threads` threads (one single-threaded runtime each),
/// each sending `GET path` again and again for `duration`.
pub fn load(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    threads: usize,
    duration: Duration,
) -> LoadReport {
    let request: Arc<[u8]> = request(path).into();
    let threads = threads.clamp(1, connections.max(1));
    let start = Instant::now() + Duration::from_millis(20);
    let deadline = start + duration;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let request = Arc::clone(&request);
            let share = connections / threads + usize::from(t < connections % threads);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let tasks: Vec<_> = (0..share)
                        .map(|_| {
                            let request = Arc::clone(&request);
                            tokio::spawn(client_loop(addr, request, start, deadline))
                        })
                        .collect();
                    let mut report = LoadReport::default();
                    for task in tasks {
                        let (requests, errors, latencies) = task.await.expect("a client task");
                        report.requests += requests;
                        report.latencies.extend(latencies);
                        for (kind, n) in errors {
                            *report.errors.entry(kind).or_default() += n;
                        }
                    }
                    report
                })
            })
        })
        .collect();
    let mut report = LoadReport {
        duration,
        ..LoadReport::default()
    };
    for worker in workers {
        let part = worker.join().expect("a client thread");
        report.requests += part.requests;
        report.latencies.extend(part.latencies);
        for (kind, n) in part.errors {
            *report.errors.entry(kind).or_default() += n;
        }
    }
    report
}

async fn client_loop(
    addr: SocketAddr,
    request: Arc<[u8]>,
    start: Instant,
    deadline: Instant,
) -> (u64, BTreeMap<String, u64>, Latencies) {
    tokio::time::sleep_until(start.into()).await;
    let mut buf = Vec::with_capacity(1024);
    let mut requests = 0;
    let mut errors = BTreeMap::new();
    let mut latencies = Latencies::default();
    loop {
        let began = Instant::now();
        if began >= deadline {
            break;
        }
        let result = exchange(addr, &request, &mut buf).await;
        let ended = Instant::now();
        if ended > deadline {
            break;
        }
        match result {
            Ok(200) => {
                requests += 1;
                latencies.push(ended - began);
            }
            Ok(status) => *errors.entry(format!("status {status}")).or_default() += 1,
            Err(e) => {
                let connect_failed = e.starts_with("connect");
                *errors.entry(e).or_default() += 1;
                if connect_failed {
                    // Out of ports or descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    (requests, errors, latencies)
}

/// What the held connections do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// `GET /sleep`, sent at once.
    Slow,
    /// Connected, sending nothing.
    Idle,
}

/// What a hold run measured.
#[derive(Debug, Default)]
pub struct HoldReport {
    pub count: usize,
    /// Connections opened (and for slow ones, request sent).
    pub opened: usize,
    /// Time to open them all.
    pub open_time: Duration,
    /// Whether the server's descriptor count showed every connection accepted.
    pub all_accepted: bool,
    pub rss_before_kib: u64,
    pub rss_held_kib: u64,
    /// Fast `GET /` latencies in the window.
    pub fast: Latencies,
    pub fast_errors: BTreeMap<String, u64>,
    /// Length of the fast window.
    pub window: Duration,
    /// Whether every fast request ended before the first held connection did.
    pub window_clean: bool,
    /// How the held connections ended: `200`, `408`, `closed silently`, errors...
    pub endings: BTreeMap<String, usize>,
    /// Earliest and latest end, from the start of the run.
    pub first_end: Option<Duration>,
    pub last_end: Option<Duration>,
}

impl HoldReport {
    /// Resident memory added per held connection, in KiB.
    pub fn kib_per_held(&self) -> f64 {
        (self.rss_held_kib as f64 - self.rss_before_kib as f64) / self.count.max(1) as f64
    }
}

/// Holds `count` connections of kind `held` open against the server `pids` listening on
/// `addr`, then sends a fast `GET /` every `fast_every` during the window (at most
/// `window_max`, and ending 0.5 s before the server should end the first held connection,
/// `ends_after` from the start), then waits for every held connection to end.
pub fn hold(
    addr: SocketAddr,
    held: Held,
    count: usize,
    ends_after: Duration,
    window_max: Duration,
    fast_every: Duration,
    pids: &[u32],
) -> HoldReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let pids = pids.to_vec();
    runtime.block_on(hold_async(
        addr, held, count, ends_after, window_max, fast_every, pids,
    ))
}

async fn hold_async(
    addr: SocketAddr,
    held: Held,
    count: usize,
    ends_after: Duration,
    window_max: Duration,
    fast_every: Duration,
    pids: Vec<u32>,
) -> HoldReport {
    let mut report = HoldReport {
        count,
        rss_before_kib: procfs::rss_kib(&pids),
        ..HoldReport::default()
    };
    let fds_before = procfs::open_fds(&pids);
    let slow_request: Arc<[u8]> = request("/sleep").into();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let settled = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let first_end: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let start = Instant::now();
    let answer_within = ends_after + Duration::from_secs(60);
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (opening, settled, opened, first_end) = (
                Arc::clone(&opening),
                Arc::clone(&settled),
                Arc::clone(&opened),
                Arc::clone(&first_end),
            );
            let slow_request = Arc::clone(&slow_request);
            tokio::spawn(async move {
                let permit = opening.acquire_owned().await.expect("semaphore open");
                let stream = async {
                    let mut stream = TcpStream::connect(addr).await?;
                    if held == Held::Slow {
                        stream.write_all(&slow_request).await?;
                    }
                    Ok::<_, std::io::Error>(stream)
                }
                .await;
                drop(permit);
                let mut stream = match stream {
                    Ok(stream) => stream,
                    Err(e) => {
                        settled.fetch_add(1, Ordering::AcqRel);
                        return (format!("not opened: {}", e.kind()), None);
                    }
                };
                opened.fetch_add(1, Ordering::AcqRel);
                settled.fetch_add(1, Ordering::AcqRel);
                let mut buf = Vec::new();
                let read = tokio::time::timeout(answer_within, stream.read_to_end(&mut buf)).await;
                let ended = Instant::now();
                first_end.get_or_init(|| ended);
                let ending = match read {
                    Err(_) => "no end in time".to_string(),
                    Ok(Err(e)) => format!("error: {}", e.kind()),
                    Ok(Ok(_)) if buf.is_empty() => "closed silently".to_string(),
                    Ok(Ok(_)) => match status_of(&buf) {
                        Ok(status) => status.to_string(),
                        Err(e) => e,
                    },
                };
                (ending, Some(ended))
            })
        })
        .collect();

    // Every connection opened (or failed to).
    let open_deadline = start + Duration::from_secs(60);
    while settled.load(Ordering::Acquire) < count && Instant::now() < open_deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    report.opened = opened.load(Ordering::Acquire);
    report.open_time = start.elapsed();
    // ... and accepted by the server: one more descriptor each (3 s at most).
    let accept_deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if procfs::open_fds(&pids) >= fds_before + report.opened {
            report.all_accepted = true;
            break;
        }
        if Instant::now() >= accept_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    report.rss_held_kib = procfs::rss_kib(&pids);

    // The fast window: a request every `fast_every`, each measured on its own (open loop).
    let fast_request: Arc<[u8]> = request("/").into();
    let now = Instant::now();
    let window_end =
        (now + window_max).min(start + ends_after.saturating_sub(Duration::from_millis(500)));
    let mut fast = Vec::new();
    let mut tick = tokio::time::interval(fast_every);
    while Instant::now() < window_end && first_end.get().is_none() {
        tick.tick().await;
        let fast_request = Arc::clone(&fast_request);
        fast.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1024);
            let began = Instant::now();
            let result = exchange(addr, &fast_request, &mut buf).await;
            (result, began.elapsed(), Instant::now())
        }));
    }
    report.window = now.elapsed();
    let mut last_fast_end = now;
    for task in fast {
        let (result, elapsed, ended) = task.await.expect("a fast request task");
        last_fast_end = last_fast_end.max(ended);
        match result {
            Ok(200) => report.fast.push(elapsed),
            Ok(status) => {
                *report
                    .fast_errors
                    .entry(format!("status {status}"))
                    .or_default() += 1
            }
            Err(e) => *report.fast_errors.entry(e).or_default() += 1,
        }
    }
    report.rss_held_kib = report.rss_held_kib.max(procfs::rss_kib(&pids));
    report.window_clean = first_end.get().is_none_or(|&first| first >= last_fast_end);

    for task in tasks {
        let (ending, ended) = task.await.expect("a held connection task");
        *report.endings.entry(ending).or_default() += 1;
        if let Some(ended) = ended {
            let at = ended - start;
            report.first_end = Some(report.first_end.map_or(at, |t| t.min(at)));
            report.last_end = Some(report.last_end.map_or(at, |t| t.max(at)));
        }
    }
    report
}
