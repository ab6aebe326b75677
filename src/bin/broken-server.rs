//! `broken-server`: a test fixture for the conformance kit, not a server to use.
//!
//! It is a small HTTP/1.1 server in the style of the async Rust book's chapter
//! (async-std, one task per connection) that, with `--flaw none`, behaves
//! correctly (it is *not* the book's listing: it reads the whole head and any
//! body, answers HEAD without a body and never panics). Every other value of
//! `--flaw NAME` changes one thing so that it imitates a real-world bug; running
//! the kit against each flaw proves that every check of the kit can fail.
//! Flaws combine (`--flaw lowercase-get,panic-on-non-utf8`), to show that the kit
//! reports independent defects separately. `--flaw book-pool` and `--flaw book-single` instead behave exactly like the
//! Rust book's own listings (written here from their behaviour, not copied), so
//! that what the kit reports on them can be checked against the real thing.
//! `broken-server --help` lists the flaws.
//!
//! It deliberately does not use the `unblocked` library: it is a black box with
//! its own pages. Right after binding it prints `listening on http://IP:PORT`
//! on stdout and nothing else; it logs nothing.

#![forbid(unsafe_code)]

use std::io::{Read as _, Write as _};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use async_std::io::{self, BufReader, prelude::*};
use async_std::net::{TcpListener, TcpStream};
use async_std::task;
use clap::{Parser, ValueEnum};

const HELLO: &str = "<!DOCTYPE html>
<html lang=\"en\">
  <head>
    <meta charset=\"utf-8\">
    <title>broken-server</title>
  </head>
  <body>
    <p>Hello from broken-server</p>
  </body>
</html>
";

const NOT_FOUND: &str = "<!DOCTYPE html>
<html lang=\"en\">
  <head>
    <meta charset=\"utf-8\">
    <title>broken-server: 404</title>
  </head>
  <body>
    <p>broken-server: nothing here</p>
  </body>
</html>
";

const TOO_LARGE: &str = "<!DOCTYPE html>
<html lang=\"en\">
  <head>
    <meta charset=\"utf-8\">
    <title>broken-server: 431</title>
  </head>
  <body>
    <p>broken-server: request head too large</p>
  </body>
</html>
";

/// Longest request head (request line and headers) read before answering 431.
const MAX_HEAD: usize = 16 * 1024;
/// Most request-body bytes read and discarded before answering.
const MAX_BODY: u64 = 1024 * 1024;
/// Most bytes drained after the response before the socket is dropped.
const MAX_DRAIN: u64 = 64 * 1024;
/// Socket read timeout while reading a request; on expiry the connection is closed.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Socket write timeout while writing a response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read timeout while draining what the client still sends after the response.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// A deliberately broken HTTP/1.1 server: a test fixture for the conformance kit.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    bind: String,
    /// How long GET /sleep waits before answering (e.g. 1s, 500ms)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    sleep: Duration,
    /// Which flaw to show; several, comma-separated or repeated, combine (not with the
    /// designs: pool-2, book-pool, book-single, thread-per-connection)
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        value_delimiter = ',',
        default_value = "none"
    )]
    flaw: Vec<Flaw>,
    /// Before listening, do DURATION of start-up work, shared fairly with every other
    /// instance starting at the same time (as a JVM or an interpreter loading its framework
    /// shares the machine's CPUs): n instances starting together each take n x DURATION
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "start_dir")]
    slow_start: Option<Duration>,
    /// The directory the instances of --slow-start share to see each other (created if need be)
    #[arg(long, value_name = "DIR")]
    start_dir: Option<std::path::PathBuf>,
    /// With --slow-start: the first instance ever started with this --start-dir starts at once
    #[arg(long, requires = "slow_start")]
    fast_first_start: bool,
    /// A worker of --flaw prefork: serves the listening socket it gets as its stdin
    #[arg(long, hide = true)]
    prefork_worker: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// No flaw: a correct book-style server
    None,
    /// Content-Length is 10 more than the body's length
    WrongContentLength,
    /// The 404 page is sent with status 200 OK
    NotFoundAsOk,
    /// Any request line starting with "GET /" gets 200 and the hello page
    OkToEverything,
    /// The method is compared case-insensitively ("get / HTTP/1.1" gets 200)
    LowercaseGet,
    /// No Content-Length header; the body ends when the connection closes (legal, not strict)
    NoContentLength,
    /// A request line that is not UTF-8 panics, and the panic ends the whole process
    PanicOnNonUtf8,
    /// A request line that is not "METHOD TARGET HTTP/..." is closed without any response
    /// (non-strict: RFC 9112 2.2 only says SHOULD answer 400)
    SilentOnGarbage,
    /// Never reads a request body and resets the connection (SO_LINGER 0) after answering
    ResetOnBody,
    /// Handles one connection at a time: accepts the next only when the last is done
    Sequential,
    /// Waits in the accept loop for the request's first bytes, then spawns the rest
    ReadInAcceptLoop,
    /// A fixed pool of 2 worker threads with blocking I/O (the book's ThreadPool)
    #[value(name = "pool-2")]
    Pool2,
    /// /sleep blocks an executor thread with std::thread::sleep (run with ASYNC_STD_THREAD_COUNT=2)
    BlockingSleep,
    /// A request line not starting with an uppercase letter is held open forever, unanswered
    HangOnGarbage,
    /// Serves the first request, then exits with status 3
    ExitAfterFirst,
    /// Exits with status 3 right after answering with the 404 page (a crash in an error
    /// path once the answer is out)
    ExitAfterNotFound,
    /// Answers the first 4 connections of each process, then accepts connections and
    /// never answers them (a server whose workers have all hung)
    SilentAfterStart,
    /// Speaks only HTTP/2: answers every connection with a SETTINGS frame, then closes
    Http2Only,
    /// A HEAD request gets the body too, as the book's listings send it
    BodyAfterHead,
    /// GET / is answered 20 ms late (a regression a baseline must catch, not a conformance
    /// failure)
    SlowerFast,
    /// The Rust book's final listing (without its demo `take(2)`): a pool of 4 threads; the
    /// request line read by `BufReader::lines().next().unwrap().unwrap()`, so an empty
    /// connection or a non-UTF-8 line panics a worker, which dies; with all 4 dead, the next
    /// connection panics main and the pool's drop aborts the process
    BookPool,
    /// The Rust book's single-threaded listing: one connection at a time; a panic ends it all
    BookSingle,
    /// The book's handler on a thread per connection: a panic loses only that thread
    ThreadPerConnection,
    /// The book's handler on a pool of 4 threads that replaces a worker whose job panicked
    /// (as pool crates do): a pool that is small, but loses nothing to bad clients
    RespawningPool,
    /// 4 worker processes sharing one listening socket, each handling one connection at a
    /// time with a blocking sleep (a prefork server); a panicking request loses nothing
    Prefork,
}

/// The flaws a server shows together.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Flaws(u32);

impl Flaws {
    fn of(flaws: &[Flaw]) -> Flaws {
        Flaws(flaws.iter().fold(0, |set, &f| set | (1 << f as u32)))
    }

    fn has(self, flaw: Flaw) -> bool {
        self.0 & (1 << flaw as u32) != 0
    }
}

impl Flaw {
    /// A design replaces the whole server, so it combines with no other flaw.
    fn is_design(self) -> bool {
        matches!(
            self,
            Flaw::Pool2
                | Flaw::BookPool
                | Flaw::BookSingle
                | Flaw::ThreadPerConnection
                | Flaw::RespawningPool
                | Flaw::Prefork
        )
    }
}

/// How much later `slower-fast` answers `GET /`.
const SLOWER_FAST_DELAY: Duration = Duration::from_millis(20);

#[derive(Clone, Copy)]
struct Config {
    flaws: Flaws,
    sleep: Duration,
}

/// What the request line asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Hello,
    Sleep,
    NotFound,
}

/// Which response to send.
#[derive(Clone, Copy)]
enum Page {
    Hello,
    NotFound,
    TooLarge,
}

/// The lines of a request head, each with its line ending, without the blank line.
#[derive(Default)]
struct Head {
    lines: Vec<Vec<u8>>,
    size: usize,
}

/// How reading a request head ended.
enum Request {
    /// EOF before any byte: the client connected and left.
    Closed,
    /// More than `MAX_HEAD` bytes without the end of the head; whether it was a `HEAD`.
    TooLarge(bool),
    Head(Head),
}

/// What to do after one `read_until` result has been fed to a `Head`.
enum Feed {
    More,
    Done,
    Closed,
    TooLarge,
}

impl Head {
    /// How many more head bytes may be read.
    fn room(&self) -> u64 {
        (MAX_HEAD - self.size) as u64
    }

    /// Takes what one `read_until(b'\n')` (limited to `room()`) returned.
    fn feed(&mut self, line: Vec<u8>) -> Feed {
        if line.is_empty() {
            // EOF at a line boundary.
            return if self.size == 0 {
                Feed::Closed
            } else {
                Feed::Done
            };
        }
        self.size += line.len();
        if line.ends_with(b"\n") {
            if line == b"\r\n" || line == b"\n" {
                return Feed::Done;
            }
            self.lines.push(line);
            if self.size >= MAX_HEAD {
                Feed::TooLarge
            } else {
                Feed::More
            }
        } else if self.size >= MAX_HEAD {
            Feed::TooLarge
        } else {
            // EOF in the middle of a line.
            self.lines.push(line);
            Feed::Done
        }
    }

    /// The first line, without its trailing "\r\n" or "\n".
    fn request_line(&self) -> &[u8] {
        let line = self.lines.first().map_or(&[][..], Vec::as_slice);
        match line.strip_suffix(b"\n") {
            Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
            None => line,
        }
    }

    /// The value of the first valid `Content-Length` header (name compared case-insensitively).
    fn content_length(&self) -> Option<u64> {
        self.lines.iter().skip(1).find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            if !line[..colon].eq_ignore_ascii_case(b"content-length") {
                return None;
            }
            std::str::from_utf8(&line[colon + 1..])
                .ok()?
                .trim()
                .parse()
                .ok()
        })
    }
}

/// Routes a request line exactly like the book, apart from the routing flaws.
fn route(line: &[u8], flaws: Flaws) -> Route {
    let mut line = line.to_vec();
    if flaws.has(Flaw::LowercaseGet) {
        // Imitates servers that normalise the method's case, although methods are case-sensitive.
        let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        line[..method_end].make_ascii_uppercase();
    }
    match line.as_slice() {
        b"GET / HTTP/1.1" => Route::Hello,
        b"GET /sleep HTTP/1.1" => Route::Sleep,
        // Imitates a catch-all route (or a prefix match) that serves the home page for any path.
        l if flaws.has(Flaw::OkToEverything) && l.starts_with(b"GET /") => Route::Hello,
        _ => Route::NotFound,
    }
}

/// Whether a request line has three non-empty space-separated parts, the last starting "HTTP/".
fn looks_like_http(line: &[u8]) -> bool {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) && parts[2].starts_with(b"HTTP/")
}

/// The whole response: status line, headers, blank line and body (no body for `HEAD`).
fn response(page: Page, flaws: Flaws, head_only: bool) -> Vec<u8> {
    let (status, body) = match page {
        Page::Hello => ("HTTP/1.1 200 OK", HELLO),
        // Imitates an error page served with the default status 200 ("soft 404").
        Page::NotFound if flaws.has(Flaw::NotFoundAsOk) => ("HTTP/1.1 200 OK", NOT_FOUND),
        Page::NotFound => ("HTTP/1.1 404 NOT FOUND", NOT_FOUND),
        Page::TooLarge => ("HTTP/1.1 431 Request Header Fields Too Large", TOO_LARGE),
    };
    let mut head = format!("{status}\r\n");
    if flaws.has(Flaw::NoContentLength) {
        // Imitates a server that leaves the length out and lets the close end the body.
    } else if flaws.has(Flaw::WrongContentLength) {
        // Imitates a length computed from the wrong thing (e.g. before the body was edited).
        head += &format!("Content-Length: {}\r\n", body.len() + 10);
    } else {
        head += &format!("Content-Length: {}\r\n", body.len());
    }
    head += "Content-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n";
    let mut bytes = head.into_bytes();
    if !head_only || flaws.has(Flaw::BodyAfterHead) {
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

/// A `HEAD` request gets the headers of the `GET` answer and no body (RFC 9110 9.3.2).
fn is_head(request_line: &[u8]) -> bool {
    request_line.starts_with(b"HEAD ")
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.prefork_worker {
        return book::prefork_worker(args.sleep);
    }
    let flaws = Flaws::of(&args.flaw);
    let design = args.flaw.iter().copied().find(|f| f.is_design());
    if let Some(design) = design.filter(|_| args.flaw.len() > 1) {
        eprintln!(
            "broken-server: --flaw {}: a design combines with no other flaw",
            design
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string())
        );
        return std::process::ExitCode::from(2);
    }
    if flaws.has(Flaw::PanicOnNonUtf8) {
        // A book server has one thread; when it panics, the whole process is gone.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("broken-server: {info}");
            std::process::exit(101);
        }));
    }
    if let (Some(work), Some(dir)) = (args.slow_start, &args.start_dir)
        && let Err(err) = slow_start(work, dir, args.fast_first_start)
    {
        eprintln!("broken-server: --start-dir {}: {err}", dir.display());
        return std::process::ExitCode::from(2);
    }
    let listener = match std::net::TcpListener::bind(&args.bind) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("broken-server: cannot bind {}: {err}", args.bind);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("broken-server: no local address: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();

    let config = Config {
        flaws,
        sleep: args.sleep,
    };
    if design == Some(Flaw::Pool2) {
        serve_pool(listener, config.sleep);
    } else if let Some(design) = design.and_then(book::Design::of) {
        book::serve(listener, design, config.sleep);
    } else {
        task::block_on(serve(TcpListener::from(listener), config));
    }
    std::process::ExitCode::SUCCESS
}

/// How often a slow start looks at how many instances share the machine.
const START_TICK: Duration = Duration::from_millis(10);

/// `--slow-start`: `work` of start-up, done at 1/n speed while n instances (files in `dir`)
/// are starting. The first instance of `dir` skips it with `fast_first`.
fn slow_start(work: Duration, dir: &std::path::Path, fast_first: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let first = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("first"))
        .is_ok();
    if first && fast_first {
        return Ok(());
    }
    let me = dir.join(format!("starting-{}", std::process::id()));
    std::fs::write(&me, b"")?;
    let mut done = Duration::ZERO;
    while done < work {
        std::thread::sleep(START_TICK); // the emulated work: a share of each tick
        // Instances killed while starting leave their file: only live ones count.
        let starting = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("starting-").map(str::to_string)
            })
            .filter(|pid| std::path::Path::new("/proc").join(pid).exists())
            .count()
            .max(1);
        done += START_TICK / starting as u32;
    }
    std::fs::remove_file(&me)
}

// ---------------------------------------------------------------------------
// The async server (every flaw but pool-2).
// ---------------------------------------------------------------------------

async fn serve(listener: TcpListener, config: Config) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: wait a little instead of spinning.
                task::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if config.flaws.has(Flaw::Sequential) {
            // Imitates the code the book warns about: awaiting the handler in the accept loop.
            let _ = handle(stream, config).await;
        } else if config.flaws.has(Flaw::ReadInAcceptLoop) {
            // Imitates reading the request before spawning its handler: slow requests still
            // overlap, but a client that sends nothing holds up every client after it.
            let _ = io::timeout(READ_TIMEOUT, stream.peek(&mut [0; 1])).await;
            task::spawn(async move {
                let _ = handle(stream, config).await;
            });
        } else {
            task::spawn(async move {
                let _ = handle(stream, config).await;
            });
        }
    }
}

/// Connections this process has accepted (for `--flaw silent-after-start`).
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Connections answered before `--flaw silent-after-start` falls silent: the kit's start-up
/// probe and a few more.
const ANSWERED_AFTER_START: usize = 4;

async fn handle(stream: TcpStream, config: Config) -> io::Result<()> {
    let flaws = config.flaws;
    if flaws.has(Flaw::Http2Only) {
        // Imitates an h2c-only server: its connection preface is a SETTINGS frame.
        const SETTINGS: &[u8] = b"\0\0\x06\x04\0\0\0\0\0\0\x03\0\0\0\x64";
        return (&stream).write_all(SETTINGS).await;
    }
    if flaws.has(Flaw::SilentAfterStart)
        && ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= ANSWERED_AFTER_START
    {
        // Imitates a server whose every worker hangs: the connection is held, unanswered.
        futures_lite::future::pending::<()>().await;
    }
    let mut reader = BufReader::new(&stream);
    let head = match read_head(&mut reader).await? {
        Request::Closed => return Ok(()),
        Request::TooLarge(head_only) => {
            send(&stream, Page::TooLarge, flaws, head_only).await?;
            close_gracefully(&stream, &mut reader).await;
            return Ok(());
        }
        Request::Head(head) => head,
    };
    let line = head.request_line();

    if flaws.has(Flaw::SilentOnGarbage) && !looks_like_http(line) {
        // Imitates a parser that gives up on a malformed request without answering 400.
        close_gracefully(&stream, &mut reader).await;
        return Ok(());
    }
    if flaws.has(Flaw::HangOnGarbage) && !line.first().is_some_and(u8::is_ascii_uppercase) {
        // Imitates a server that waits for a "real" request that never comes, with no timeout.
        futures_lite::future::pending::<()>().await;
    }
    let route = if flaws.has(Flaw::PanicOnNonUtf8) {
        // Imitates the book's `String::from_utf8(...).unwrap()` on the request line.
        let text = String::from_utf8(line.to_vec()).unwrap();
        route(text.as_bytes(), flaws)
    } else {
        route(line, flaws)
    };

    if !flaws.has(Flaw::ResetOnBody) {
        let body = head.content_length().unwrap_or(0).min(MAX_BODY);
        discard(&mut reader, body, READ_TIMEOUT).await?;
    }
    if route == Route::Sleep {
        if flaws.has(Flaw::BlockingSleep) {
            // Imitates blocking code in an async task: the executor thread sleeps with it.
            std::thread::sleep(config.sleep);
        } else {
            task::sleep(config.sleep).await;
        }
    }
    let page = match route {
        Route::Hello | Route::Sleep => Page::Hello,
        Route::NotFound => Page::NotFound,
    };
    let exit_after = flaws.has(Flaw::ExitAfterNotFound) && route == Route::NotFound;
    if route == Route::Hello && flaws.has(Flaw::SlowerFast) {
        // Imitates a change that makes every fast answer a little slower.
        task::sleep(SLOWER_FAST_DELAY).await;
    }
    send(&stream, page, flaws, is_head(line)).await?;

    if flaws.has(Flaw::ResetOnBody) {
        // Imitates a server that drops the socket with the request body still unread,
        // which makes the kernel send a reset; SO_LINGER 0 makes the reset certain.
        drop(reader);
        reset(stream);
        return Ok(());
    }
    close_gracefully(&stream, &mut reader).await;
    if flaws.has(Flaw::ExitAfterFirst) || exit_after {
        // Imitates a server that dies (crash, `return` from main) after its first answer.
        std::process::exit(3);
    }
    Ok(())
}

/// Reads the request head line by line, as bytes, each read bounded by `READ_TIMEOUT`.
async fn read_head(reader: &mut BufReader<&TcpStream>) -> io::Result<Request> {
    let mut head = Head::default();
    loop {
        let mut line = Vec::new();
        let mut limited = (&mut *reader).take(head.room());
        io::timeout(READ_TIMEOUT, limited.read_until(b'\n', &mut line)).await?;
        match head.feed(line) {
            Feed::More => {}
            Feed::Done => return Ok(Request::Head(head)),
            Feed::Closed => return Ok(Request::Closed),
            Feed::TooLarge => return Ok(Request::TooLarge(is_head(head.request_line()))),
        }
    }
}

/// Reads and throws away up to `limit` bytes, stopping early at EOF.
async fn discard(
    reader: &mut BufReader<&TcpStream>,
    limit: u64,
    per_read: Duration,
) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    let mut left = limit;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = io::timeout(per_read, reader.read(&mut buf[..want])).await?;
        if n == 0 {
            break;
        }
        left -= n as u64;
    }
    Ok(())
}

async fn send(stream: &TcpStream, page: Page, flaws: Flaws, head_only: bool) -> io::Result<()> {
    let bytes = response(page, flaws, head_only);
    let mut writer = stream;
    io::timeout(WRITE_TIMEOUT, writer.write_all(&bytes)).await?;
    io::timeout(WRITE_TIMEOUT, writer.flush()).await
}

/// Sends FIN, then drains what the client still sends, so that dropping the
/// socket does not turn unread input into a reset that could destroy the response.
async fn close_gracefully(stream: &TcpStream, reader: &mut BufReader<&TcpStream>) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = discard(reader, MAX_DRAIN, DRAIN_TIMEOUT).await;
}

/// Drops the socket with SO_LINGER 0, so the kernel sends a reset instead of FIN.
fn reset(stream: TcpStream) {
    // async-std only implements `AsFd` with its `io_safety` feature; go through std's stream.
    if let Ok(stream) = std::net::TcpStream::try_from(stream) {
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    }
}

// ---------------------------------------------------------------------------
// pool-2: the book's ThreadPool with 2 workers and blocking std I/O.
// ---------------------------------------------------------------------------

/// Imitates the book's chapter-21 ThreadPool: 2 threads, so a third client waits.
fn serve_pool(listener: std::net::TcpListener, sleep: Duration) {
    let (sender, receiver) = mpsc::channel::<std::net::TcpStream>();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..2 {
        let receiver = Arc::clone(&receiver);
        std::thread::spawn(move || {
            loop {
                let message = receiver
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .recv();
                match message {
                    Ok(stream) => {
                        let _ = handle_blocking(stream, sleep);
                    }
                    Err(_) => return,
                }
            }
        });
    }
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if sender.send(stream).is_err() {
                    return;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The base behaviour with blocking std I/O.
fn handle_blocking(stream: std::net::TcpStream, sleep: Duration) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut reader = std::io::BufReader::new(&stream);
    let head = match read_head_blocking(&mut reader)? {
        Request::Closed => return Ok(()),
        Request::TooLarge(head_only) => {
            (&stream).write_all(&response(Page::TooLarge, Flaws::default(), head_only))?;
            close_gracefully_blocking(&stream, &mut reader);
            return Ok(());
        }
        Request::Head(head) => head,
    };
    let route = route(head.request_line(), Flaws::default());
    let body = head.content_length().unwrap_or(0).min(MAX_BODY);
    std::io::copy(&mut (&mut reader).take(body), &mut std::io::sink())?;
    if route == Route::Sleep {
        std::thread::sleep(sleep);
    }
    let page = match route {
        Route::Hello | Route::Sleep => Page::Hello,
        Route::NotFound => Page::NotFound,
    };
    (&stream).write_all(&response(
        page,
        Flaws::default(),
        is_head(head.request_line()),
    ))?;
    close_gracefully_blocking(&stream, &mut reader);
    Ok(())
}

fn read_head_blocking(
    reader: &mut std::io::BufReader<&std::net::TcpStream>,
) -> std::io::Result<Request> {
    use std::io::BufRead as _;
    let mut head = Head::default();
    loop {
        let mut line = Vec::new();
        (&mut *reader)
            .take(head.room())
            .read_until(b'\n', &mut line)?;
        match head.feed(line) {
            Feed::More => {}
            Feed::Done => return Ok(Request::Head(head)),
            Feed::Closed => return Ok(Request::Closed),
            Feed::TooLarge => return Ok(Request::TooLarge(is_head(head.request_line()))),
        }
    }
}

fn close_gracefully_blocking(
    stream: &std::net::TcpStream,
    reader: &mut std::io::BufReader<&std::net::TcpStream>,
) {
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_read_timeout(Some(DRAIN_TIMEOUT)).is_ok() {
        let _ = std::io::copy(&mut reader.take(MAX_DRAIN), &mut std::io::sink());
    }
}

// ---------------------------------------------------------------------------
// The book's listings, by their behaviour.
// ---------------------------------------------------------------------------

mod book {
    use super::{Flaw, HELLO, NOT_FOUND};
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::Duration;

    /// How the book's handler is run.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Design {
        /// The final listing's `ThreadPool::new(4)`.
        Pool,
        /// The single-threaded listing: the accept loop calls the handler.
        Single,
        /// `thread::spawn` per connection, the book's first attempt at concurrency.
        ThreadPerConnection,
        /// A pool of [`WORKERS`] threads whose workers outlive the jobs that panic.
        RespawningPool,
        /// [`WORKERS`] processes accepting on one shared socket.
        Prefork,
    }

    impl Design {
        pub fn of(flaw: Flaw) -> Option<Design> {
            match flaw {
                Flaw::BookPool => Some(Design::Pool),
                Flaw::BookSingle => Some(Design::Single),
                Flaw::ThreadPerConnection => Some(Design::ThreadPerConnection),
                Flaw::RespawningPool => Some(Design::RespawningPool),
                Flaw::Prefork => Some(Design::Prefork),
                _ => None,
            }
        }
    }

    /// The book's workers, as many as its listing starts.
    const WORKERS: usize = 4;

    type Job = Box<dyn FnOnce() + Send + 'static>;

    pub fn serve(listener: TcpListener, design: Design, sleep: Duration) {
        if design == Design::Prefork {
            return prefork(listener, sleep);
        }
        let pool = matches!(design, Design::Pool | Design::RespawningPool)
            .then(|| Pool::new(WORKERS, design == Design::RespawningPool));
        for stream in listener.incoming() {
            // The book unwraps every accepted stream.
            let stream = stream.unwrap();
            match (design, &pool) {
                (Design::Pool | Design::RespawningPool, Some(pool)) => {
                    pool.execute(move || handle(stream, sleep))
                }
                (Design::ThreadPerConnection, _) => {
                    std::thread::spawn(move || handle(stream, sleep));
                }
                _ => handle(stream, sleep),
            }
        }
    }

    /// The book's handler: the first line as UTF-8 text (a panic for an empty connection or
    /// invalid UTF-8), an exact match on it, the page with only a Content-Length, and the
    /// stream dropped. No timeout: a silent client holds its thread.
    fn handle(mut stream: TcpStream, sleep: Duration) {
        let first = BufReader::new(&stream).lines().next();
        let line = first.unwrap().unwrap();
        let (status, page) = match line.as_str() {
            "GET / HTTP/1.1" => ("HTTP/1.1 200 OK", HELLO),
            "GET /sleep HTTP/1.1" => {
                std::thread::sleep(sleep);
                ("HTTP/1.1 200 OK", HELLO)
            }
            _ => ("HTTP/1.1 404 NOT FOUND", NOT_FOUND),
        };
        let answer = format!("{status}\r\nContent-Length: {}\r\n\r\n{page}", page.len());
        stream.write_all(answer.as_bytes()).unwrap();
    }

    /// The book's final `ThreadPool`: workers share one receiver; a panicking job ends its
    /// worker's thread, and with it that worker's handle on the receiver. Dropping the pool
    /// (the graceful shutdown of the final listing) joins every worker and unwraps the join.
    struct Pool {
        sender: Option<mpsc::Sender<Job>>,
        workers: Vec<std::thread::JoinHandle<()>>,
    }

    impl Pool {
        /// With `respawning`, a job that panics leaves its worker serving (the panic is
        /// caught where a pool crate would start a new thread).
        fn new(size: usize, respawning: bool) -> Pool {
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            let workers = (0..size)
                .map(|id| {
                    let receiver = Arc::clone(&receiver);
                    std::thread::spawn(move || {
                        loop {
                            let message = receiver.lock().unwrap().recv();
                            match message {
                                Ok(job) if respawning => {
                                    let job = std::panic::AssertUnwindSafe(job);
                                    let _ = std::panic::catch_unwind(move || {
                                        let job = job;
                                        (job.0)()
                                    });
                                }
                                Ok(job) => {
                                    println!("Worker {id} got a job; executing.");
                                    job();
                                }
                                Err(_) => {
                                    println!("Worker {id} disconnected; shutting down.");
                                    break;
                                }
                            }
                        }
                    })
                })
                .collect();
            Pool {
                sender: Some(sender),
                workers,
            }
        }

        /// Once every worker is gone, the receiver is too, and this panics the caller; the
        /// unwinding drops the pool, whose join of a dead worker panics again: an abort.
        fn execute(&self, job: impl FnOnce() + Send + 'static) {
            self.sender.as_ref().unwrap().send(Box::new(job)).unwrap();
        }
    }

    impl Drop for Pool {
        fn drop(&mut self) {
            drop(self.sender.take());
            for (id, worker) in self.workers.drain(..).enumerate() {
                println!("Shutting down worker {id}");
                worker.join().unwrap();
            }
        }
    }

    /// `--flaw prefork`: [`WORKERS`] processes of this program, each given the listening
    /// socket as its stdin; a worker that exits is started again.
    fn prefork(listener: TcpListener, sleep: Duration) {
        let start = || {
            let socket = listener.try_clone().ok()?;
            std::process::Command::new(std::env::current_exe().ok()?)
                .args(["--prefork-worker", "--sleep"])
                .arg(humantime::format_duration(sleep).to_string())
                .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(
                    socket,
                )))
                .spawn()
                .ok()
        };
        let mut workers: Vec<std::process::Child> = (0..WORKERS).filter_map(|_| start()).collect();
        loop {
            for worker in &mut workers {
                if let Ok(Some(_)) = worker.try_wait()
                    && let Some(again) = start()
                {
                    *worker = again;
                }
            }
            std::thread::sleep(Duration::from_millis(100)); // a supervisor's poll
        }
    }

    /// One prefork worker on the socket it inherited as stdin: like an event loop running
    /// a blocking handler, it takes up to [`WORKERS`] of the connections waiting when it
    /// looks, then serves them one at a time with the book's handler (a request that panics
    /// it loses only that request). A fast request taken by a busy worker waits behind the
    /// slow ones it holds.
    pub fn prefork_worker(sleep: Duration) -> std::process::ExitCode {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let Ok(socket) = std::io::stdin().as_fd().try_clone_to_owned() else {
            return std::process::ExitCode::from(2);
        };
        let listener = TcpListener::from(socket);
        if listener.set_nonblocking(true).is_err() {
            return std::process::ExitCode::from(2);
        }
        std::panic::set_hook(Box::new(|_| {}));
        let mut taken = std::collections::VecDeque::new();
        loop {
            for _ in 0..WORKERS {
                match listener.accept() {
                    Ok((stream, _)) => taken.push_back(stream),
                    Err(_) => break,
                }
            }
            match taken.pop_front() {
                Some(stream) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = std::panic::catch_unwind(move || handle(stream, sleep));
                }
                None => {
                    let mut ready = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
                    let _ = poll(&mut ready, PollTimeout::NONE);
                }
            }
        }
    }
}
