//! Shared helpers for the integration tests: a guard that owns a server process and kills
//! it on drop, and a raw TCP client with a timeout on every operation.
#![allow(dead_code)] // Each test file uses its own subset.

use assert_cmd::cargo::CommandCargoExt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Bound on every socket operation and on a server's start-up: generous, since CI machines
/// are busy; a test that hits it has failed anyway.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// Pause between two looks at something a test waits for.
const POLL: Duration = Duration::from_millis(10);

/// Polls `condition` until it holds (true) or `IO_TIMEOUT` passes (false): for events a
/// test cannot be told about, such as a thread being named.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL); // polling a real event, not synchronising
    }
}

/// A running server process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts one of this package's binaries and waits for its `listening on` line.
    pub fn start(bin: &str, args: &[&str]) -> Self {
        let mut command = Command::cargo_bin(bin).expect("binary built by cargo");
        command.args(args);
        Self::spawn(command)
    }

    /// The reference server on a free port, quiet, with extra arguments. Without the
    /// developer's `ASYNC_STD_THREAD_COUNT`, which `--threads` refuses to second-guess.
    pub fn reference(args: &[&str]) -> Self {
        let mut command = Command::cargo_bin("hello-server").expect("binary built by cargo");
        command
            .args(["--bind", "127.0.0.1:0", "--quiet"])
            .args(args)
            .env_remove("ASYNC_STD_THREAD_COUNT");
        Self::spawn(command)
    }

    pub fn spawn(mut command: Command) -> Self {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        let mut child = command.spawn().expect("start server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = line_tx.send(line);
            }
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match line_rx.recv_timeout(IO_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("server printed no `listening on` line (exit: {status:?})");
            }
        };
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("socket address");
        ServerProcess { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. SIGTERM) to the server.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal server");
    }

    /// Waits for the server to exit on its own, within `IO_TIMEOUT`.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20)); // polling an exit, not synchronising
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects with timeouts set on every later read and write.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Reads until the server closes the connection.
pub fn read_to_close(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    Ok(received)
}

/// Sends `request` and reads the whole answer, up to the server's close.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).expect("send request");
    read_to_close(&mut stream).expect("read response")
}

/// Like [`exchange`], but half-closes the client's side after sending.
pub fn exchange_half_closed(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).expect("send request");
    stream.shutdown(Shutdown::Write).expect("half-close");
    read_to_close(&mut stream).expect("read response")
}

/// A response split into its parts, parsed strictly by httparse.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub head: Vec<u8>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn parse(bytes: &[u8]) -> Response {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut slots);
        let head_len = match parsed.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "not a complete response ({other:?}): {:?}",
                String::from_utf8_lossy(bytes)
            ),
        };
        Response {
            status: parsed.code.unwrap(),
            reason: parsed.reason.unwrap().to_string(),
            headers: parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            head: bytes[..head_len].to_vec(),
            body: bytes[head_len..].to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The pages as shipped in `fixtures/`, read from disk (not through the library), so the
/// tests also check that the binary embeds the right files.
pub fn fixture_page(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("fixture page")
}

/// A shell-quoted path to one of this package's binaries, followed by `args`: a server
/// command for `unblocked::kit::run::check::Check::server`.
pub fn bin_command(bin: &str, args: &str) -> String {
    let path = assert_cmd::cargo::cargo_bin(bin);
    format!("{} {args}", shell_words::quote(&path.to_string_lossy()))
}

/// The hard open-file limit, which a process can raise its soft limit to (the kit and the
/// reference server both do).
pub fn open_file_hard_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(_, hard)| hard)
}

/// Processes whose environment holds `marker` (a `NAME=VALUE` pair the test gave the kit,
/// which every process the kit starts inherits): what a test looks for once everything
/// should be gone. Unreadable entries (other users' processes, exited ones) are skipped.
pub fn marked_processes(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("/proc is needed to look for leftover processes");
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|pair| pair == marker.as_bytes())
            })
        })
        .filter(|pid| {
            // A zombie is gone for every purpose but its parent's bookkeeping.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                !stat
                    .rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        })
        .collect()
}

/// A unique `NAME=VALUE` marker for [`marked_processes`].
pub fn unique_marker() -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (
        "UNBLOCKED_TEST_MARKER".into(),
        format!("{}-{nanos}", std::process::id()),
    )
}

/// A process started by a test that is killed (SIGKILL) when dropped, if still running.
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Guarded {
    /// Waits for the process to exit, within `within`; `None` if it did not.
    pub fn wait_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20)); // polling an exit, not synchronising
        }
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal the process");
    }
}

/// Waits for a file a server writes when it starts (its pid, its port), within `IO_TIMEOUT`.
pub fn wait_for_file(path: &std::path::Path) -> String {
    let mut text = String::new();
    assert!(
        eventually(|| {
            text = std::fs::read_to_string(path).unwrap_or_default();
            text.ends_with('\n')
        }),
        "{} was never written",
        path.display()
    );
    text.trim().to_string()
}
