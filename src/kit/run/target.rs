//! target: launching and reaching the server under test.
//!
//! A target is either a command the kit starts (`--server`), the bundled reference server,
//! or a server that is already running (`--addr`). A started server runs in its own process
//! group, so that tearing it down also ends whatever it started (an `sh -c` wrapper and its
//! children); its stdout and stderr are read continuously into a ring buffer, so a chatty
//! server never blocks on a full pipe, and the last lines can go into the report.
//!
//! On Linux a started server also gets a parent-death signal (SIGKILL). PDEATHSIG fires
//! when the *thread* that spawned the process exits, not the whole process: a [`Target`]
//! must therefore be started and dropped on the same long-lived thread (the CLI's main
//! thread, or one test's thread).

use crate::kit::http::escape::escape_text;
use crate::kit::http::raw::{self, Probe};
use crate::kit::report::TargetInfo;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lowest port the kit picks for a `--server` command.
const PORT_LOW: u16 = 10000;
/// Start of the ephemeral range when `/proc/sys/net/ipv4/ip_local_port_range` cannot be read.
const DEFAULT_EPHEMERAL_LOW: u16 = 32768;
/// How many times a command that reports its address in use is started on another port.
const PORT_TRIES: usize = 5;
/// Longest line kept from the server's output, in characters.
const MAX_LINE_CHARS: usize = 1000;
/// Bytes read for one line before the rest of it is skipped (a character is at most 4 bytes).
const MAX_LINE_BYTES: u64 = 4 * MAX_LINE_CHARS as u64;
/// Output lines quoted in a start-up error.
const ERROR_TAIL_LINES: usize = 20;
/// Longest single readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pauses between readiness probes that found nothing listening yet: doubling from the
/// first to the last, so that a server that binds in a millisecond (and is restarted often,
/// while fuzzing one that dies) is not kept waiting.
const PROBE_INTERVAL_FIRST: Duration = Duration::from_millis(1);
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Time a server gets to end after SIGTERM before its group gets SIGKILL: longer than the
/// supervisor's own grace and its SIGKILL rounds, so that it has ended every process of the
/// tree (those that left the group too, by `setsid` or a double fork) before the kit kills
/// it. Waiting ends as soon as the server has gone.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Same, when the kit itself was interrupted by a signal.
const SIGNAL_GRACE: Duration = STOP_GRACE;
/// How often a stopping process is checked.
const STOP_POLL: Duration = Duration::from_millis(15);
/// How long to wait for the output readers to reach end of file once a process has ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Process-group ids of every live server the kit started.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Whether [`install_signal_teardown`] already ran.
static SIGNALS_INSTALLED: Mutex<bool> = Mutex::new(false);

/// What to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// `--server 'COMMAND ARGS'`: `{port}` in any word is replaced by the port the kit
    /// picked; the port is also exported as PORT.
    Command(String),
    /// `--addr HOST:PORT`: a server already running; the kit cannot restart it.
    Addr(String),
    /// The bundled reference server: `<exe> serve --bind 127.0.0.1:0 --sleep <sleep>`,
    /// address read from its `listening on` line.
    Bundled { exe: PathBuf, sleep: Duration },
}

/// How a target is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetOptions {
    /// How long a server gets to answer `GET /` after it is started.
    pub startup_timeout: Duration,
    /// How many of the server's last output lines are kept.
    pub output_lines: usize,
    /// Extra environment for the server (e.g. `ASYNC_STD_THREAD_COUNT`).
    pub env: Vec<(String, String)>,
    /// The working directory of a server the kit starts (`--server-dir`); the kit's own
    /// when `None` (book servers open `hello.html` relative to it).
    pub dir: Option<PathBuf>,
    /// The `unblocked` executable, to run a started server under `unblocked supervise`, so
    /// that nothing it starts outlives the kit ([`crate::kit::run::supervise`]). Without it, the
    /// server gets a parent-death signal itself, which does not reach its own children.
    pub supervisor: Option<PathBuf>,
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            startup_timeout: Duration::from_secs(10),
            output_lines: 200,
            env: Vec::new(),
            dir: None,
            supervisor: find_supervisor(),
        }
    }
}

/// The target could not be started or reached (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SetupError {
    pub message: String,
}

impl SetupError {
    pub fn new(message: impl Into<String>) -> Self {
        SetupError {
            message: message.into(),
        }
    }
}

/// The server under test, started or reached.
pub struct Target {
    kind: Kind,
    options: TargetOptions,
    addr: SocketAddr,
    output: Arc<Mutex<Ring>>,
    /// The current (or last) process, for a target the kit started.
    process: Option<Process>,
    /// Starts of this target wait here for their turn (siblings share one gate).
    gate: Option<Arc<StartGate>>,
    /// How long the current process took from its spawn to its first answer.
    started_in: Duration,
    /// Whether anything but the readiness probe has used the current process.
    used: AtomicBool,
    /// Why the server cannot be used any more: a restart that failed.
    unavailable: Option<String>,
}

/// At most `permits` starts at once: a machine starting many instances of a slow starter
/// (a JVM, an interpreter importing its framework) at the same time makes each of them
/// slower, and one that misses its start-up timeout says nothing about the server.
#[derive(Debug)]
pub struct StartGate {
    free: Mutex<usize>,
    freed: Condvar,
}

impl StartGate {
    pub fn new(permits: usize) -> Self {
        StartGate {
            free: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a permit, held until the returned guard is dropped.
    fn enter(&self) -> StartPermit<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *free -= 1;
        StartPermit(self)
    }
}

struct StartPermit<'a>(&'a StartGate);

impl Drop for StartPermit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}

enum Kind {
    Command {
        template: String,
        words: Vec<String>,
    },
    Addr(String),
    Bundled {
        exe: PathBuf,
        sleep: Duration,
    },
}

impl Target {
    /// Starts the server (or reaches it, for [`TargetSpec::Addr`]) and waits until it
    /// answers `GET /`.
    pub fn start(spec: TargetSpec, options: TargetOptions) -> Result<Target, SetupError> {
        Self::start_gated(spec, options, None)
    }

    /// [`Self::start`], each start (and restart) of the process waiting at `gate` for its
    /// turn; the start-up timeout runs from then.
    pub fn start_gated(
        spec: TargetSpec,
        options: TargetOptions,
        gate: Option<Arc<StartGate>>,
    ) -> Result<Target, SetupError> {
        let output = Arc::new(Mutex::new(Ring::new(options.output_lines)));
        let kind = match spec {
            TargetSpec::Command(template) => {
                let words = split_command(&template)?;
                Kind::Command { template, words }
            }
            TargetSpec::Addr(text) => {
                let addr = resolve(&text)?;
                let begun = Instant::now();
                wait_for_addr(addr, &text, options.startup_timeout)?;
                return Ok(Target {
                    kind: Kind::Addr(text),
                    options,
                    addr,
                    output,
                    process: None,
                    gate,
                    started_in: begun.elapsed(),
                    used: AtomicBool::new(true),
                    unavailable: None,
                });
            }
            TargetSpec::Bundled { exe, sleep } => Kind::Bundled { exe, sleep },
        };
        let (process, addr, started_in) = launch_gated(&kind, &options, &output, gate.as_deref())?;
        Ok(Target {
            kind,
            options,
            addr,
            output,
            process: Some(process),
            gate,
            started_in,
            used: AtomicBool::new(false),
            unavailable: None,
        })
    }

    /// Where the server listens. Asking counts as using the instance (see
    /// [`Self::is_fresh`]): every request starts here.
    pub fn addr(&self) -> SocketAddr {
        self.used.store(true, Ordering::Relaxed);
        self.addr
    }

    /// Whether the current process is a fresh start that nothing but the readiness probe
    /// has talked to, so that a check needing a fresh server can use it as it is.
    pub fn is_fresh(&self) -> bool {
        !self.used.load(Ordering::Relaxed)
            && self.unavailable.is_none()
            && self.process.as_ref().is_some_and(|p| !p.stopped)
    }

    /// How long the current process took from its spawn to its first answer (for `--addr`,
    /// how long the address took to answer).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Why the kit can no longer use the server: a restart that did not come up.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// The process id of the current (or last) server process, which is also its process
    /// group id; `None` for a target the kit did not start.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.child.id())
    }

    /// What was tested, for the report.
    pub fn info(&self) -> TargetInfo {
        match &self.kind {
            Kind::Command { template, .. } => TargetInfo::Command(template.clone()),
            Kind::Addr(text) => TargetInfo::Addr(text.clone()),
            Kind::Bundled { exe, sleep } => {
                TargetInfo::Command(shell_words::join(bundled_words(exe, *sleep)))
            }
        }
    }

    /// Whether the kit can restart the server (not for `--addr`).
    pub fn restartable(&self) -> bool {
        !matches!(self.kind, Kind::Addr(_))
    }

    /// `None` while running (or for Addr targets); `Some("exited with status 101")` or
    /// `Some("killed by signal SIGKILL")` once the process has ended.
    pub fn exit_description(&mut self) -> Option<String> {
        self.process.as_mut()?.exit_description()
    }

    /// Stops the process (if any) and starts it again (on a new port for a command).
    /// An error for a target the kit did not start.
    pub fn restart(&mut self) -> Result<(), SetupError> {
        if let Kind::Addr(text) = &self.kind {
            return Err(SetupError::new(format!(
                "cannot restart the server at {text}: the kit did not start it (--addr)"
            )));
        }
        self.stop();
        match launch_gated(
            &self.kind,
            &self.options,
            &self.output,
            self.gate.as_deref(),
        ) {
            Ok((process, addr, started_in)) => {
                self.process = Some(process);
                self.addr = addr;
                self.started_in = started_in;
                self.used.store(false, Ordering::Relaxed);
                self.unavailable = None;
                Ok(())
            }
            Err(e) => {
                self.unavailable = Some(e.message.clone());
                Err(e)
            }
        }
    }

    /// Restarts the server unless the current process is still fresh ([`Self::is_fresh`]).
    pub fn restart_unless_fresh(&mut self) -> Result<(), SetupError> {
        if self.is_fresh() {
            return Ok(());
        }
        self.restart()
    }

    /// The last lines the server printed on stdout and stderr (prefixed `out| ` and
    /// `err| `), oldest first.
    pub fn output_tail(&self) -> Vec<String> {
        lock(&self.output).lines.iter().cloned().collect()
    }

    /// At most `n` of the last lines printed by the current process (not by those it
    /// replaced on a restart), oldest first.
    pub fn process_output_tail(&self, n: usize) -> Vec<String> {
        let since = self.process.as_ref().map_or(0, |p| p.first_line);
        lock(&self.output).tail_since(since, n)
    }

    /// Stops the server: SIGTERM to its process group, then SIGKILL after a grace period.
    /// Does nothing the second time, or for a target the kit did not start.
    pub fn stop(&mut self) {
        if let Some(process) = &mut self.process {
            process.stop();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Installs SIGINT, SIGTERM and SIGHUP handlers (once; later calls do nothing): on a
/// signal, `on_signal` runs (the CLI prints the partial report there: first, so that no
/// check cut short by the teardown counts), every live server process group is torn down
/// (SIGTERM, then SIGKILL after a grace period), and the process exits with 128 + the
/// signal number (130 for SIGINT, 143 for SIGTERM).
pub fn install_signal_teardown(on_signal: impl Fn(i32) + Send + 'static) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut installed = lock(&SIGNALS_INSTALLED);
    if *installed {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("target-teardown".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                on_signal(signal);
                // Held until exit: no server is started once the teardown has begun.
                let live = lock(&LIVE);
                teardown_groups(&live);
                std::process::exit(128 + signal);
            }
        })?;
    *installed = true;
    Ok(())
}

/// SIGTERM to every group, a grace period, then SIGKILL to what is left.
fn teardown_groups(groups: &[i32]) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    for &pgid in groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + SIGNAL_GRACE;
    let mut remaining: Vec<i32> = groups.to_vec();
    while !remaining.is_empty() && Instant::now() < deadline {
        remaining.retain(|&pgid| {
            // The group leader is our child: reap it, or its zombie keeps the group alive.
            // The process exits right after, so taking the status from `Child` is harmless.
            let _ = waitpid(Pid::from_raw(pgid), Some(WaitPidFlag::WNOHANG));
            killpg(Pid::from_raw(pgid), None) != Err(Errno::ESRCH)
        });
        if !remaining.is_empty() {
            std::thread::sleep(STOP_POLL); // polls for the groups to end
        }
    }
    for &pgid in &remaining {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// A started server process.
struct Process {
    child: Child,
    pgid: i32,
    status: Option<ExitStatus>,
    stopped: bool,
    /// Set when a line of its output says an address is in use.
    addr_in_use: Arc<AtomicBool>,
    /// Each output reader sends once, at end of file.
    readers_done: mpsc::Receiver<()>,
    /// Index in the ring of its first output line.
    first_line: u64,
}

impl Process {
    /// Spawns `words` in its own process group with piped output. For the bundled server,
    /// `first_line` receives the first stdout line.
    fn spawn(
        words: &[String],
        env: &[(String, String)],
        options: &TargetOptions,
        output: &Arc<Mutex<Ring>>,
        first_line: Option<mpsc::Sender<String>>,
    ) -> Result<Process, SetupError> {
        let (program, args) = words
            .split_first()
            .ok_or_else(|| SetupError::new("the server command is empty"))?;
        if let Some(dir) = &options.dir
            && !dir.is_dir()
        {
            return Err(SetupError::new(format!(
                "--server-dir {} is not a directory",
                dir.display()
            )));
        }
        let found = find_program(program, options.dir.as_deref()).ok_or_else(|| {
            SetupError::new(format!(
                "cannot start `{program}`: {}",
                why_not_a_program(program, options.dir.as_deref())
            ))
        })?;
        let mut command = match &options.supervisor {
            Some(supervisor) => {
                let mut command = Command::new(supervisor);
                command
                    .args([crate::kit::run::supervise::SUBCOMMAND, "--"])
                    .arg(&found)
                    .args(args);
                die_with_parent(&mut command, Signal::SIGTERM);
                command
            }
            None => {
                let mut command = Command::new(&found);
                command.args(args);
                die_with_parent(&mut command, Signal::SIGKILL);
                command
            }
        };
        if let Some(dir) = &options.dir {
            command.current_dir(dir);
        }
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let first_index = lock(output).total;
        let mut child = {
            // Spawned and registered under the lock, so a teardown on a signal never
            // misses a group.
            let mut live = lock(&LIVE);
            let child = command
                .spawn()
                .map_err(|e| SetupError::new(format!("cannot start `{program}`: {e}")))?;
            live.push(child.id() as i32);
            child
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (done, readers_done) = mpsc::channel();
        let mut process = Process {
            pgid: child.id() as i32,
            child,
            status: None,
            stopped: false,
            addr_in_use: Arc::new(AtomicBool::new(false)),
            readers_done,
            first_line: first_index,
        };
        let streams: [(Option<Box<dyn Read + Send>>, &'static str, _); 2] = [
            (
                stdout.map(|s| Box::new(s) as Box<dyn Read + Send>),
                "out| ",
                first_line,
            ),
            (
                stderr.map(|s| Box::new(s) as Box<dyn Read + Send>),
                "err| ",
                None,
            ),
        ];
        for (stream, prefix, first_line) in streams {
            let Some(stream) = stream else { continue };
            let reader = OutputReader {
                output: Arc::clone(output),
                prefix,
                addr_in_use: Arc::clone(&process.addr_in_use),
                first_line,
                done: done.clone(),
            };
            // Detached: it ends at end of file, once every process holding the pipe is gone.
            let spawned = std::thread::Builder::new()
                .name(format!("target-{}", prefix.trim_end_matches("| ")))
                .spawn(move || reader.run(stream));
            if let Err(e) = spawned {
                process.stop();
                return Err(SetupError::new(format!(
                    "cannot start an output reader thread: {e}"
                )));
            }
        }
        Ok(process)
    }

    /// The exit status, once the process has ended.
    fn poll_exit(&mut self) -> Option<Result<ExitStatus, String>> {
        if let Some(status) = self.status {
            return Some(Ok(status));
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.status = Some(status);
                Some(Ok(status))
            }
            Ok(None) => None,
            Err(e) => Some(Err(format!("ended (its status cannot be read: {e})"))),
        }
    }

    fn exit_description(&mut self) -> Option<String> {
        Some(match self.poll_exit()? {
            Ok(status) => describe_status(status),
            Err(description) => description,
        })
    }

    /// Waits (boundedly) until both output readers have reached end of file, so that what
    /// the process printed before it ended is in the ring.
    fn drain_output(&self) {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.readers_done.recv_timeout(left).is_err() {
                return;
            }
        }
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = Pid::from_raw(self.pgid);
        // The group is signalled even when the leader has ended: an `sh -c` wrapper may
        // leave children behind. Its id cannot be reused while any of them lives.
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while self.poll_exit().is_none() && Instant::now() < deadline {
            std::thread::sleep(STOP_POLL); // polls for the process to end
        }
        let _ = killpg(group, Signal::SIGKILL);
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        lock(&LIVE).retain(|&pgid| pgid != self.pgid);
    }
}

/// Reads one output stream line by line into the ring.
struct OutputReader {
    output: Arc<Mutex<Ring>>,
    prefix: &'static str,
    addr_in_use: Arc<AtomicBool>,
    first_line: Option<mpsc::Sender<String>>,
    done: mpsc::Sender<()>,
}

impl OutputReader {
    fn run(mut self, stream: Box<dyn Read + Send>) {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while let Ok(true) = next_line(&mut reader, &mut buf) {
            let line = clean_line(&buf);
            if mentions_addr_in_use(&line) {
                self.addr_in_use.store(true, Ordering::Relaxed);
            }
            // Kept before it is announced: whoever waits for the first line finds it kept.
            lock(&self.output).push(format!("{}{line}", self.prefix));
            if let Some(first) = self.first_line.take() {
                let _ = first.send(line);
            }
        }
        let _ = self.done.send(());
    }
}

/// Reads one line (through `\n`) into `buf`, keeping at most [`MAX_LINE_BYTES`] bytes of
/// it and skipping the rest. `false` at end of file.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    let n = reader
        .by_ref()
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') && n as u64 == MAX_LINE_BYTES {
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    reader.consume(i + 1);
                    break;
                }
                None => {
                    let len = available.len();
                    reader.consume(len);
                }
            }
        }
    }
    Ok(true)
}

/// The line as text safe to print ([`escape_text`]: a server's output could otherwise
/// drive the user's terminal), without its line ending, cut at [`MAX_LINE_CHARS`].
fn clean_line(mut bytes: &[u8]) -> String {
    while let [rest @ .., b'\n' | b'\r'] = bytes {
        bytes = rest;
    }
    let mut line = escape_text(bytes);
    if let Some((cut, _)) = line.char_indices().nth(MAX_LINE_CHARS) {
        line.truncate(cut);
    }
    line
}

fn mentions_addr_in_use(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains("in use") || lower.contains("eaddrinuse")
}

/// The last lines of output, with a running count of every line ever pushed.
struct Ring {
    lines: VecDeque<String>,
    capacity: usize,
    total: u64,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Ring {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            total: 0,
        }
    }

    fn push(&mut self, line: String) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// At most `n` of the last lines pushed at index `since` or later.
    fn tail_since(&self, since: u64, n: usize) -> Vec<String> {
        let first_kept = self.total - self.lines.len() as u64;
        let skip = since.saturating_sub(first_kept) as usize;
        let relevant = self.lines.len().saturating_sub(skip);
        self.lines
            .iter()
            .skip(skip + relevant.saturating_sub(n))
            .cloned()
            .collect()
    }
}

/// Locks, ignoring poisoning: every structure here stays consistent between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until `GET /` at `addr` gets an answer, probing again while nothing listens, until
/// `timeout`; the error says what the last probe saw.
fn wait_for_addr(addr: SocketAddr, text: &str, timeout: Duration) -> Result<(), SetupError> {
    let deadline = Instant::now() + timeout;
    let mut pause = PROBE_INTERVAL_FIRST;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let probe = raw::probe_get_root(addr, left.clamp(Duration::from_millis(1), PROBE_TIMEOUT));
        match probe {
            Probe::Answered(_) => return Ok(()),
            Probe::NotHttp(_) => {
                return Err(SetupError::new(format!(
                    "the server at {text} {}",
                    probe.describe()
                )));
            }
            _ if Instant::now() >= deadline => {
                return Err(SetupError::new(format!(
                    "nothing answered GET / at {text} within {} (probed until then; the last probe: it {})",
                    humantime::format_duration(timeout),
                    probe.describe()
                )));
            }
            _ => {}
        }
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))); // polls for the server to come up
        pause = (pause * 2).min(PROBE_INTERVAL);
    }
}

/// The `unblocked` executable to supervise servers with: this process when it is the kit,
/// or the kit next to a test binary of this package (`target/*/deps/..`).
fn find_supervisor() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("UNBLOCKED_SUPERVISOR") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    if exe.file_stem().is_some_and(|s| s == "unblocked") {
        return Some(exe);
    }
    let sibling = exe.parent()?.parent()?.join("unblocked");
    sibling.is_file().then_some(sibling)
}

/// [`launch`] after waiting at `gate`; also says how long the start took from the spawn.
fn launch_gated(
    kind: &Kind,
    options: &TargetOptions,
    output: &Arc<Mutex<Ring>>,
    gate: Option<&StartGate>,
) -> Result<(Process, SocketAddr, Duration), SetupError> {
    let _turn = gate.map(StartGate::enter);
    let begun = Instant::now();
    let (process, addr) = launch(kind, options, output)?;
    Ok((process, addr, begun.elapsed()))
}

/// Starts the process of a command or bundled target and waits until it answers.
fn launch(
    kind: &Kind,
    options: &TargetOptions,
    output: &Arc<Mutex<Ring>>,
) -> Result<(Process, SocketAddr), SetupError> {
    match kind {
        Kind::Command { words, .. } => launch_command(words, options, output),
        Kind::Bundled { exe, sleep } => launch_bundled(exe, *sleep, options, output),
        Kind::Addr(_) => unreachable!("an --addr target has no process"),
    }
}

fn launch_command(
    template: &[String],
    options: &TargetOptions,
    output: &Arc<Mutex<Ring>>,
) -> Result<(Process, SocketAddr), SetupError> {
    let mut attempt = 1;
    loop {
        let port = pick_port()?;
        let words = with_port(template, port);
        let mut env = options.env.clone();
        env.push(("PORT".into(), port.to_string()));
        let mut process = Process::spawn(&words, &env, options, output, None)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + options.startup_timeout;
        match wait_ready(&mut process, addr, deadline) {
            Ok(()) => return Ok((process, addr)),
            Err(reason) => {
                process.stop();
                process.drain_output();
                let exited = matches!(reason, NotReady::Exited(_));
                if exited && attempt < PORT_TRIES && process.addr_in_use.load(Ordering::Relaxed) {
                    attempt += 1;
                    continue;
                }
                return Err(start_error(&process, reason, options, output));
            }
        }
    }
}

fn launch_bundled(
    exe: &std::path::Path,
    sleep: Duration,
    options: &TargetOptions,
    output: &Arc<Mutex<Ring>>,
) -> Result<(Process, SocketAddr), SetupError> {
    let words = bundled_words(exe, sleep);
    let deadline = Instant::now() + options.startup_timeout;
    let (line_tx, line_rx) = mpsc::channel();
    let mut process = Process::spawn(&words, &options.env, options, output, Some(line_tx))?;
    let first = line_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let addr = match first {
        Ok(line) => match parse_listening_line(&line) {
            Some(addr) => addr,
            None => {
                process.stop();
                process.drain_output();
                return Err(SetupError::new(format!(
                    "the reference server's first line is not `listening on http://ADDR`: {line:?}{}",
                    tail_text(&process, output)
                )));
            }
        },
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // Its stdout ended without a line: it has ended, or is about to.
            let wait_until = Instant::now() + DRAIN_TIMEOUT;
            let mut ended = process.exit_description();
            while ended.is_none() && Instant::now() < wait_until {
                std::thread::sleep(STOP_POLL); // polls for the process to end
                ended = process.exit_description();
            }
            process.stop();
            process.drain_output();
            return Err(match ended {
                Some(description) => {
                    start_error(&process, NotReady::Exited(description), options, output)
                }
                None => SetupError::new(format!(
                    "the reference server closed its stdout without a `listening on` line{}",
                    tail_text(&process, output)
                )),
            });
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            process.stop();
            process.drain_output();
            return Err(SetupError::new(format!(
                "the reference server did not print its `listening on` line within {}{}",
                humantime::format_duration(options.startup_timeout),
                tail_text(&process, output)
            )));
        }
    };
    match wait_ready(&mut process, addr, deadline) {
        Ok(()) => Ok((process, addr)),
        Err(reason) => {
            process.stop();
            process.drain_output();
            Err(start_error(&process, reason, options, output))
        }
    }
}

/// The command line of the bundled reference server.
fn bundled_words(exe: &std::path::Path, sleep: Duration) -> Vec<String> {
    vec![
        exe.to_string_lossy().into_owned(),
        "serve".into(),
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--sleep".into(),
        humantime::format_duration(sleep).to_string(),
    ]
}

/// The address in `listening on http://ADDR`.
fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("listening on http://")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

enum NotReady {
    Exited(String),
    /// With what the last probe saw.
    TimedOut(Option<Probe>),
    /// What answered is not HTTP/1.x (TLS, HTTP/2): waiting longer will not change it.
    NotHttp(Probe),
}

/// Probes `addr` until the server answers `GET /`, it exits, or the deadline passes.
fn wait_ready(process: &mut Process, addr: SocketAddr, deadline: Instant) -> Result<(), NotReady> {
    let mut pause = PROBE_INTERVAL_FIRST;
    let mut last = None;
    loop {
        if let Some(description) = process.exit_description() {
            return Err(NotReady::Exited(description));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(NotReady::TimedOut(last));
        }
        match raw::probe_get_root(addr, (deadline - now).min(PROBE_TIMEOUT)) {
            Probe::Answered(_) => return Ok(()),
            probe @ Probe::NotHttp(_) => return Err(NotReady::NotHttp(probe)),
            probe => last = Some(probe),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        // Polls for the server to come up; nothing listened yet.
        std::thread::sleep(left.min(pause));
        pause = (pause * 2).min(PROBE_INTERVAL);
    }
}

/// The error for a process that ended, or did not answer, during start-up. The process has
/// been stopped and its output drained.
fn start_error(
    process: &Process,
    reason: NotReady,
    options: &TargetOptions,
    output: &Arc<Mutex<Ring>>,
) -> SetupError {
    let what = match reason {
        NotReady::Exited(description) => {
            format!("the server exited during start-up ({description})")
        }
        NotReady::TimedOut(last) => format!(
            "the server did not answer GET / within {}{}",
            humantime::format_duration(options.startup_timeout),
            last.map(|p| format!(" (the last probe: it {})", p.describe()))
                .unwrap_or_default()
        ),
        NotReady::NotHttp(probe) => format!(
            "the server {} (is it TLS or HTTP/2 only? the kit speaks HTTP/1.1 over TCP)",
            probe.describe()
        ),
    };
    SetupError::new(format!("{what}{}", tail_text(process, output)))
}

/// The last output lines of `process`, as an indented block for an error message.
fn tail_text(process: &Process, output: &Arc<Mutex<Ring>>) -> String {
    let lines = lock(output).tail_since(process.first_line, ERROR_TAIL_LINES);
    if lines.is_empty() {
        return "\n(it printed nothing)".into();
    }
    let mut text = String::from("\nlast lines of its output:");
    for line in lines {
        text.push_str("\n  ");
        text.push_str(&line);
    }
    text
}

/// "exited with status N" or "killed by signal SIGNAME".
fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(sig) => match Signal::try_from(sig) {
            Ok(signal) => format!("killed by signal {}", signal.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        },
        None => format!("ended ({status})"),
    }
}

/// Splits a `--server` command like a shell would.
fn split_command(template: &str) -> Result<Vec<String>, SetupError> {
    let words = shell_words::split(template).map_err(|e| {
        SetupError::new(format!("cannot parse the server command `{template}`: {e}"))
    })?;
    if words.is_empty() {
        return Err(SetupError::new("the server command is empty"));
    }
    Ok(words)
}

/// Every word, with `{port}`, `$PORT` and `${PORT}` replaced (the kit runs no shell, so it
/// substitutes them itself).
fn with_port(words: &[String], port: u16) -> Vec<String> {
    let port = port.to_string();
    words
        .iter()
        .map(|w| {
            w.replace("{port}", &port)
                .replace("${PORT}", &port)
                .replace("$PORT", &port)
        })
        .collect()
}

/// Resolves `HOST:PORT` to its first address.
fn resolve(text: &str) -> Result<SocketAddr, SetupError> {
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| SetupError::new(format!("`{text}` resolves to no address"))),
        Err(e) => Err(SetupError::new(format!(
            "cannot resolve `{text}` (expected HOST:PORT): {e}"
        ))),
    }
}

/// The first port of the ephemeral range, where the kernel picks ports for port 0.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL_LOW)
}

/// A free port in [10000, start of the ephemeral range), picked pseudo-randomly so that
/// parallel runs rarely collide. Free when checked; a server that finds it taken meanwhile
/// is started again on another one.
fn pick_port() -> Result<u16, SetupError> {
    let low = PORT_LOW;
    let mut high = ephemeral_low();
    if high <= low + 100 {
        // A very wide ephemeral range: no port is outside it; stay in the usual gap.
        high = DEFAULT_EPHEMERAL_LOW;
    }
    let span = u64::from(high - low);
    for _ in 0..100 {
        let port = low + (next_random() % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(SetupError::new(format!(
        "cannot find a free port in [{low}, {high}) on 127.0.0.1"
    )))
}

/// A pseudo-random number from the time, the process id and a counter (splitmix64).
fn next_random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z =
        nanos ^ (u64::from(std::process::id()) << 32) ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Makes the process get `signal` when the thread that spawned it ends (Linux only).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command, signal: Signal) {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe functions may be called. It makes one prctl(2) call, which is
    // async-signal-safe, and nothing else (turning an errno into an io::Error does not
    // allocate).
    unsafe {
        command.pre_exec(move || nix::sys::prctl::set_pdeathsig(signal).map_err(io::Error::from));
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command, _signal: Signal) {}

/// Where `program` is: a path (relative to `dir`, or the kit's directory) when it has a
/// slash, else the first match on PATH.
/// Why `program` cannot be run, in words.
fn why_not_a_program(program: &str, dir: Option<&std::path::Path>) -> &'static str {
    if !program.contains('/') {
        return "no such program in PATH";
    }
    let path = match dir {
        Some(dir) if !program.starts_with('/') => dir.join(program),
        _ => PathBuf::from(program),
    };
    if path.is_dir() {
        "it is a directory, not a program"
    } else if path.exists() {
        "it is not a regular file"
    } else {
        "no such file"
    }
}

fn find_program(program: &str, dir: Option<&std::path::Path>) -> Option<PathBuf> {
    if program.contains('/') {
        let path = match dir {
            Some(dir) if !program.starts_with('/') => dir.join(program),
            _ => PathBuf::from(program),
        };
        return path.is_file().then(|| PathBuf::from(program));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn lines_of(input: &[u8]) -> Vec<String> {
        let mut reader = BufReader::with_capacity(7, Cursor::new(input.to_vec()));
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while next_line(&mut reader, &mut buf).unwrap() {
            lines.push(clean_line(&buf));
        }
        lines
    }

    #[test]
    fn lines_are_split_cleaned_and_cut() {
        assert_eq!(lines_of(b"a\r\nb\n\nlast"), ["a", "b", "", "last"]);
        assert_eq!(lines_of(b"caf\xc3\xa9 \xff\n"), ["caf\u{e9} \\xff"]);
        let mut long = vec![b'x'; 10_000];
        long.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&long);
        assert_eq!(lines.len(), 2, "the rest of an overlong line is skipped");
        assert_eq!(lines[0].chars().count(), MAX_LINE_CHARS);
        assert_eq!(lines[1], "next");
        let wide = "\u{e9}".repeat(3000);
        let lines = lines_of(wide.as_bytes());
        assert_eq!(lines[0].chars().count(), MAX_LINE_CHARS);
    }

    #[test]
    fn ring_keeps_the_last_lines_and_counts_all() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i.to_string());
        }
        assert_eq!(ring.lines, ["2", "3", "4"]);
        assert_eq!(ring.total, 5);
        assert_eq!(ring.tail_since(0, 20), ["2", "3", "4"]);
        assert_eq!(ring.tail_since(3, 20), ["3", "4"]);
        assert_eq!(ring.tail_since(3, 1), ["4"]);
        assert!(ring.tail_since(5, 20).is_empty());
        let mut empty = Ring::new(0);
        empty.push("x".into());
        assert!(empty.lines.is_empty());
        assert_eq!(empty.total, 1);
    }

    #[test]
    fn address_in_use_is_recognised() {
        assert!(mentions_addr_in_use(
            "Error: Address already in use (os error 98)"
        ));
        assert!(mentions_addr_in_use("listen EADDRINUSE: 127.0.0.1:12345"));
        assert!(mentions_addr_in_use("PORT IN USE"));
        assert!(!mentions_addr_in_use("listening on http://127.0.0.1:1"));
    }

    #[test]
    fn commands_split_like_a_shell_and_take_the_port() {
        let words = split_command("srv --bind '127.0.0.1:{port}' \"a b\" x{port}y").unwrap();
        assert_eq!(
            with_port(&words, 12345),
            ["srv", "--bind", "127.0.0.1:12345", "a b", "x12345y"]
        );
        let shell = split_command("srv $PORT ${PORT} 'sh -c \"x $PORT\"'").unwrap();
        assert_eq!(with_port(&shell, 7), ["srv", "7", "7", "sh -c \"x 7\""]);
        assert!(split_command("").unwrap_err().message.contains("empty"));
        assert!(split_command("   ").unwrap_err().message.contains("empty"));
        let unterminated = split_command("srv 'oops").unwrap_err().message;
        assert!(unterminated.contains("cannot parse"), "{unterminated}");
    }

    #[test]
    fn picked_ports_are_free_and_below_the_ephemeral_range() {
        let high = ephemeral_low().max(PORT_LOW + 101);
        let ports: Vec<u16> = (0..20).map(|_| pick_port().unwrap()).collect();
        assert!(
            ports.iter().all(|&p| (PORT_LOW..high).contains(&p)),
            "{ports:?}"
        );
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 1, "{ports:?}");
    }

    #[test]
    fn listening_lines_and_statuses_are_read() {
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4321"),
            Some(SocketAddr::from(([127, 0, 0, 1], 4321)))
        );
        assert_eq!(
            parse_listening_line("listening on http://[::1]:80/"),
            "[::1]:80".parse().ok()
        );
        assert_eq!(parse_listening_line("hello"), None);
        assert_eq!(
            describe_status(ExitStatus::from_raw(101 << 8)),
            "exited with status 101"
        );
        assert_eq!(
            describe_status(ExitStatus::from_raw(9)),
            "killed by signal SIGKILL"
        );
    }

    #[test]
    fn bad_addresses_are_setup_errors() {
        let err = Target::start(
            TargetSpec::Addr("not an address".into()),
            TargetOptions::default(),
        );
        assert!(err.err().unwrap().message.contains("not an address"));
    }
}
