//! `tokio-hello`: the reference server's contract on tokio, one task per connection.
//!
//! A benchmark peer of `hello-server`, written the same way: the same listen backlog
//! (1024), the same bytes on the wire (status line, `Content-Length`, `Content-Type`,
//! `Connection: close`, the same pages), a read timeout answered with 408, a connection
//! limit answered with 503, and the same graceful close (shut down the write side, then
//! drain what the client still sends, bounded in bytes and time). The head is parsed with
//! `httparse` plus the few request-line rules the reference applies first, so
//! `unblocked check` finds it conforming, with non-strict answers on some edge cases
//! (absolute-form and other unusual targets, over-long targets without a line end). It
//! never logs (`--quiet` is accepted).
//!
//! `tokio-hello --bind 127.0.0.1:0` prints `listening on http://ADDR` first on stdout.

#[path = "../procfs.rs"]
#[allow(dead_code)] // Only the open-file limit is needed here.
mod procfs;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, timeout, timeout_at};

const HELLO: &[u8] = include_bytes!("../../../fixtures/hello.html");
const NOT_FOUND: &[u8] = include_bytes!("../../../fixtures/404.html");

/// Pending connections the kernel queues (as the reference server).
const LISTEN_BACKLOG: u32 = 1024;
/// Longest request head; longer ones get 431.
const MAX_HEAD: usize = 16 * 1024;
/// Longest request line; longer ones get 414.
const MAX_REQUEST_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 100;
/// Largest body read and discarded; larger ones get 413.
const MAX_BODY: u64 = 1024 * 1024;
/// Smallest read; reads grow with the buffer, up to `MAX_READ`.
const MIN_READ: usize = 512;
const MAX_READ: usize = 8 * 1024;
/// After answering, how long and how much the server drains before closing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
const DRAIN_LIMIT: usize = 256 * 1024;
/// File descriptors kept free beyond the connection limit.
const FD_HEADROOM: u64 = 64;

struct Options {
    bind: SocketAddr,
    sleep: Duration,
    read_timeout: Duration,
    max_connections: usize,
    /// Runtime worker threads; `None` is tokio's default (one per CPU core).
    threads: Option<usize>,
}

/// A response encoded once at start: head, then body (left out for `HEAD`).
struct Encoded {
    bytes: Vec<u8>,
    head_len: usize,
}

impl Encoded {
    fn new(code: u16, reason: &str, body: &[u8]) -> Self {
        let mut bytes = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        let head_len = bytes.len();
        bytes.extend_from_slice(body);
        Encoded { bytes, head_len }
    }

    fn error(code: u16, reason: &str) -> Self {
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n  <head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\n  <body><h1>{code} {reason}</h1></body>\n</html>\n"
        );
        Self::new(code, reason, body.as_bytes())
    }

    fn bytes(&self, head_only: bool) -> &[u8] {
        if head_only {
            &self.bytes[..self.head_len]
        } else {
            &self.bytes
        }
    }
}

struct Responses {
    hello: Encoded,
    not_found: Encoded,
    bad_request: Encoded,
    timed_out: Encoded,
    too_large: Encoded,
    uri_too_long: Encoded,
    head_too_large: Encoded,
    not_implemented: Encoded,
    unavailable: Encoded,
    version: Encoded,
}

struct Shared {
    sleep: Duration,
    read_timeout: Duration,
    max_connections: usize,
    responses: Responses,
    open: AtomicUsize,
}

/// Releases a connection's slot when its task ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

enum Route {
    Hello,
    Slow,
    NotFound,
}

/// What to answer: a response (and whether only its head), or nothing.
enum Answer<'a> {
    Send(&'a Encoded, bool),
    Slow(bool),
    Silent,
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("tokio-hello: {message}");
            eprintln!(
                "usage: tokio-hello [--bind ADDR] [--sleep 5s] [--read-timeout 10s] [--max-connections N] [--threads N] [--quiet]"
            );
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = options.threads {
        builder.worker_threads(threads);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio-hello: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokio-hello: {message}");
            ExitCode::from(2)
        }
    }
}

async fn serve(options: Options) -> Result<(), String> {
    let mut max_connections = options.max_connections;
    let open_files = procfs::raise_open_file_limit();
    let fits = usize::try_from(open_files.saturating_sub(FD_HEADROOM).max(1)).unwrap_or(usize::MAX);
    if fits < max_connections {
        eprintln!(
            "tokio-hello: warning: open-file limit is {open_files}; --max-connections lowered from {max_connections} to {fits}"
        );
        max_connections = fits;
    }
    let listener =
        bind(options.bind).map_err(|e| format!("cannot listen on {}: {e}", options.bind))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{local}")
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    let shared = Arc::new(Shared {
        sleep: options.sleep,
        read_timeout: options.read_timeout,
        max_connections,
        responses: Responses {
            hello: Encoded::new(200, "OK", HELLO),
            not_found: Encoded::new(404, "NOT FOUND", NOT_FOUND),
            bad_request: Encoded::error(400, "Bad Request"),
            timed_out: Encoded::error(408, "Request Timeout"),
            too_large: Encoded::error(413, "Content Too Large"),
            uri_too_long: Encoded::error(414, "URI Too Long"),
            head_too_large: Encoded::error(431, "Request Header Fields Too Large"),
            not_implemented: Encoded::error(501, "Not Implemented"),
            unavailable: Encoded::error(503, "Service Unavailable"),
            version: Encoded::error(505, "HTTP Version Not Supported"),
        },
        open: AtomicUsize::new(0),
    });
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Out of descriptors or memory: back off instead of spinning on the error.
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        if shared.open.load(Ordering::Acquire) >= shared.max_connections {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                close_after(
                    stream,
                    shared.responses.unavailable.bytes(false),
                    &mut buf,
                    DRAIN_TIMEOUT,
                )
                .await;
            });
            continue;
        }
        shared.open.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            let _slot = Slot(&shared.open);
            connection(stream, &shared).await;
        });
    }
}

/// One connection: read a request head, route it, answer, close cleanly.
async fn connection(mut stream: TcpStream, shared: &Shared) {
    let mut buf = Vec::new();
    let (response, head_only) = match read_request(&mut stream, &mut buf, shared).await {
        Answer::Silent => return,
        Answer::Send(response, head_only) => (response, head_only),
        Answer::Slow(head_only) => {
            sleep(shared.sleep).await;
            (&shared.responses.hello, head_only)
        }
    };
    close_after(
        stream,
        response.bytes(head_only),
        &mut buf,
        shared.read_timeout,
    )
    .await;
}

async fn read_request<'a>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &'a Shared,
) -> Answer<'a> {
    let responses = &shared.responses;
    let deadline = Instant::now() + shared.read_timeout;
    let (route, head_only, head_len, content_length) = loop {
        if !buf.is_empty() {
            if let Some(response) = check_request_line(buf, responses) {
                return Answer::Send(response, false);
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let mut content_length = 0u64;
                    for header in request.headers.iter() {
                        if header.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Answer::Send(&responses.not_implemented, false);
                        }
                        if header.name.eq_ignore_ascii_case("content-length") {
                            match std::str::from_utf8(header.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                            {
                                Some(length) => content_length = length,
                                None => return Answer::Send(&responses.bad_request, false),
                            }
                        }
                    }
                    let method = request.method.unwrap_or_default();
                    let path = request.path.unwrap_or_default();
                    let serves_pages = method == "GET" || method == "HEAD";
                    let route = match (serves_pages, request.version, path) {
                        (true, Some(1), "/") => Route::Hello,
                        (true, Some(1), "/sleep") => Route::Slow,
                        _ => Route::NotFound,
                    };
                    break (route, method == "HEAD", head_len, content_length);
                }
                Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                    return Answer::Send(&responses.head_too_large, false);
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Answer::Send(&responses.head_too_large, false);
                }
                Err(httparse::Error::Version) => match version_error(buf, responses) {
                    Some(answer) => return answer,
                    None if buf.len() > MAX_HEAD => {
                        return Answer::Send(&responses.head_too_large, false);
                    }
                    // The request line is not complete yet: read on.
                    None => {}
                },
                Err(_) => return Answer::Send(&responses.bad_request, false),
            }
        }
        let before = buf.len();
        match read_some(stream, buf, deadline).await {
            Ok(0) if before == 0 => return Answer::Silent,
            Ok(0) => return Answer::Send(&responses.bad_request, false),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Answer::Send(&responses.timed_out, false);
            }
            Err(_) => return Answer::Silent,
        }
    };
    // Read and discard the body so that closing never resets a client still sending.
    if content_length > MAX_BODY {
        return Answer::Send(&responses.too_large, false);
    }
    let mut missing = content_length.saturating_sub((buf.len() - head_len) as u64);
    let body_deadline = Instant::now() + shared.read_timeout;
    while missing > 0 {
        buf.clear();
        match read_some(stream, buf, body_deadline).await {
            Ok(0) => return Answer::Send(&responses.bad_request, false),
            Ok(n) => missing = missing.saturating_sub(n as u64),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Answer::Send(&responses.timed_out, false);
            }
            Err(_) => return Answer::Silent,
        }
    }
    match route {
        Route::Hello => Answer::Send(&responses.hello, head_only),
        Route::Slow => Answer::Slow(head_only),
        Route::NotFound => Answer::Send(&responses.not_found, head_only),
    }
}

/// What the reference rejects in a request line before anything else: bytes that are not
/// visible ASCII (400) and lines over 8 KiB (414). Leading empty lines are skipped.
fn check_request_line<'a>(buf: &[u8], responses: &'a Responses) -> Option<&'a Encoded> {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let rest = &buf[start..];
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]),
        None => rest.strip_suffix(b"\r").unwrap_or(rest),
    };
    if line.iter().any(|&b| !(b == b' ' || b.is_ascii_graphic())) {
        return Some(&responses.bad_request);
    }
    (line.len() > MAX_REQUEST_LINE).then_some(&responses.uri_too_long)
}

/// httparse knows only HTTP/1.0 and HTTP/1.1; answer other versions as
/// the reference does once the head is complete: 505 for another major version, 404 for
/// another 1.x, else 400.
fn version_error<'a>(buf: &[u8], responses: &'a Responses) -> Option<Answer<'a>> {
    // Answer only once the whole head is in, as for any other request.
    let head_complete =
        buf.windows(3).any(|w| w == b"\n\r\n") || buf.windows(2).any(|w| w == b"\n\n");
    if !head_complete {
        return None;
    }
    let end = buf.iter().position(|&b| b == b'\n')?;
    let line = &buf[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let answer = match parts.as_slice() {
        [
            method,
            _,
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor],
        ] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            if *major == b'1' {
                Answer::Send(&responses.not_found, *method == b"HEAD")
            } else {
                Answer::Send(&responses.version, false)
            }
        }
        _ => Answer::Send(&responses.bad_request, false),
    };
    Some(answer)
}

/// Writes `bytes`, shuts down the write side, then drains what the client still sends so
/// that its kernel sees a FIN and never a reset that could discard the response.
async fn close_after(
    mut stream: TcpStream,
    bytes: &[u8],
    buf: &mut Vec<u8>,
    write_timeout: Duration,
) {
    if !matches!(
        timeout(write_timeout, stream.write_all(bytes)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    if stream.shutdown().await.is_err() {
        return;
    }
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut drained = 0;
    while drained < DRAIN_LIMIT {
        buf.clear();
        match read_some(&mut stream, buf, deadline).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// Appends one read's worth of bytes to `buf`, failing with `TimedOut` at `deadline`.
async fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> std::io::Result<usize> {
    let start = buf.len();
    buf.resize(start + start.clamp(MIN_READ, MAX_READ), 0);
    let result = match timeout_at(deadline, stream.read(&mut buf[start..])).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    };
    buf.truncate(start + *result.as_ref().unwrap_or(&0));
    result
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        bind: "127.0.0.1:7878".parse().expect("a valid address"),
        sleep: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        max_connections: 16384,
        threads: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--quiet" {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--bind" => options.bind = value.parse().map_err(|e| bad(&e))?,
            "--sleep" => {
                options.sleep =
                    humantime::parse_duration(&value).map_err(|e| bad(&e.to_string()))?
            }
            "--read-timeout" => {
                options.read_timeout =
                    humantime::parse_duration(&value).map_err(|e| bad(&e.to_string()))?
            }
            "--max-connections" => options.max_connections = value.parse().map_err(|e| bad(&e))?,
            "--threads" => match value.parse() {
                Ok(0) => return Err(format!("{flag} {value}: at least 1")),
                Ok(threads) => options.threads = Some(threads),
                Err(e) => return Err(bad(&e)),
            },
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(options)
}
