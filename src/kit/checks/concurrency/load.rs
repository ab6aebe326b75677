//! The clients the concurrency checks put on a server: surf requests through
//! [`TimedClient`] (one fresh connection each, instants recorded by a [`Probe`]), and raw
//! TCP connections that stay silent, trickle, never read, or disconnect halfway.
//!
//! Every client is an async-std task with a bound on each socket operation; a scenario
//! gives up on the tasks still running at its deadline by cancelling them, which closes
//! their connections. All instants are offsets from the scenario's one `origin`.

use crate::kit::http::timed_client::{Marks, Probe, TimedClient};
use async_std::future::timeout;
use async_std::net::TcpStream;
use async_std::task::{self, JoinHandle};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a scenario looks whether its clients got where it waits for them: the events
/// (a request fully sent, a connection established) happen inside the clients and have no
/// notification of their own.
const POLL: Duration = Duration::from_millis(2);
/// Pause between the bytes of a trickled request.
pub const TRICKLE_PAUSE: Duration = Duration::from_millis(100);
/// Most response bytes a raw client reads (it only needs the status line).
const RAW_READ_LIMIT: usize = 64 * 1024;

/// What a client is for; also the timeline's `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Slow,
    Fast,
    Idle,
    Trickle,
    Unread,
    Aborted,
    Bad,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Slow => "slow",
            Role::Fast => "fast",
            Role::Idle => "idle",
            Role::Trickle => "trickle",
            Role::Unread => "unread",
            Role::Aborted => "aborted",
            Role::Bad => "bad",
        }
    }
}

/// How a client ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response with this status (for raw clients: its status line arrived).
    Status(u16),
    /// The connection failed or the response was not HTTP (connect refused, reset...).
    Error(String),
    /// Still running when the kit gave up on it, at this offset from the origin.
    GaveUp(Duration),
    /// A raw client the kit closed on purpose (idle, unread, aborted) at this offset.
    Closed(Duration),
}

/// A finished client: its marks and how it ended.
#[derive(Debug, Clone)]
pub struct Landed {
    pub label: String,
    pub role: Role,
    pub marks: Marks,
    pub outcome: Outcome,
}

impl Landed {
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Status(status) => Some(status),
            _ => None,
        }
    }

    /// From the client's start to its end (or to when the kit gave up or closed it).
    pub fn latency(&self) -> Option<Duration> {
        let start = self.marks.start?;
        Some(self.last_instant()?.saturating_sub(start))
    }

    /// The end, or when the kit stopped waiting.
    pub fn last_instant(&self) -> Option<Duration> {
        match self.outcome {
            Outcome::GaveUp(at) | Outcome::Closed(at) => Some(at),
            _ => self.marks.end,
        }
    }

    pub fn gave_up(&self) -> bool {
        matches!(self.outcome, Outcome::GaveUp(_))
    }
}

/// The one clock and client of a scenario.
#[derive(Clone)]
pub struct Bench {
    pub origin: Instant,
    pub addr: SocketAddr,
    client: surf::Client,
    /// Bound on connecting and on each raw socket operation.
    pub io_timeout: Duration,
}

impl Bench {
    pub fn new(addr: SocketAddr, io_timeout: Duration) -> Self {
        let origin = Instant::now();
        Bench {
            origin,
            addr,
            client: TimedClient::new(origin)
                .with_connect_timeout(io_timeout)
                .surf_client(),
            io_timeout,
        }
    }

    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Starts `GET path` with surf at `at` (or now), giving up after `limit`.
    pub fn request(
        &self,
        path: &str,
        role: Role,
        label: String,
        at: Option<Instant>,
        limit: Duration,
    ) -> Flight {
        let probe = Probe::new();
        let url = format!("http://{}{path}", self.addr);
        let (client, origin, task_probe) = (self.client.clone(), self.origin, probe.clone());
        let handle = task::spawn(async move {
            if let Some(at) = at {
                // The request's place in the schedule, not a synchronisation.
                task::sleep(at.saturating_duration_since(Instant::now())).await;
            }
            fetch(client, origin, &url, task_probe, limit).await
        });
        Flight {
            label,
            role,
            probe,
            handle,
        }
    }

    /// Opens a raw connection that behaves as `kind` says.
    pub fn raw(&self, kind: RawKind, label: String, hold: Duration) -> RawFlight {
        let track = Tracker::default();
        let (addr, origin, io_timeout, task_track) =
            (self.addr, self.origin, self.io_timeout, track.clone());
        let handle = task::spawn(async move {
            raw_client(addr, kind, task_track, origin, io_timeout, hold).await;
        });
        RawFlight {
            label,
            role: kind.role(),
            track,
            handle,
        }
    }
}

/// A surf request in flight.
pub struct Flight {
    pub label: String,
    pub role: Role,
    pub probe: Probe,
    handle: JoinHandle<Outcome>,
}

impl Flight {
    /// Fully sent, or already over (a request that failed never gets `sent`).
    pub fn sent_or_over(&self) -> bool {
        let marks = self.probe.marks();
        marks.sent.is_some() || marks.end.is_some()
    }

    /// Waits for the request until `deadline`, then gives up on it.
    pub async fn land(mut self, bench: &Bench, deadline: Instant) -> Landed {
        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = match timeout(left, &mut self.handle).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let at = bench.now();
                self.handle.cancel().await;
                Outcome::GaveUp(at)
            }
        };
        Landed {
            label: self.label,
            role: self.role,
            marks: self.probe.marks(),
            outcome,
        }
    }
}

/// Sends one request and reads the whole response, within `limit`.
async fn fetch(
    client: surf::Client,
    origin: Instant,
    url: &str,
    probe: Probe,
    limit: Duration,
) -> Outcome {
    let mut req = client.get(url).build();
    req.set_ext(probe.clone());
    let exchange = async {
        let mut res = client.send(req).await.map_err(|e| e.to_string())?;
        let status = u16::from(res.status());
        // The concurrency checks judge status and timing; body checks belong to the raw
        // fixtures, so a body that cannot be read does not change the outcome.
        let _ = res.body_bytes().await;
        Ok::<u16, String>(status)
    };
    match timeout(limit, exchange).await {
        Ok(result) => {
            probe.mark_end(origin);
            match result {
                Ok(status) => Outcome::Status(status),
                Err(error) => Outcome::Error(error),
            }
        }
        Err(_) => Outcome::GaveUp(origin.elapsed()),
    }
}

/// Waits, polling every [`POLL`], until `done` holds or `deadline` passes; whether it holds.
pub async fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        task::sleep(POLL).await; // polls for an event that has no notification
    }
}

/// What a raw connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    /// Connects and sends nothing.
    Idle,
    /// Sends a `GET /` request one byte every [`TRICKLE_PAUSE`].
    Trickle,
    /// Sends a whole `GET /` request and never reads the response.
    Unread,
    /// Sends `GET /sleep` and waits; the scenario closes it halfway, with a reset (SO_LINGER
    /// 0) when `reset`, else with a FIN.
    Aborted { reset: bool },
    /// A client of the kind that panics a handler written like the book's: it connects and
    /// leaves, sends a request line that is not UTF-8, or resets in the middle of a request.
    Bad(BadClient),
}

/// The bad clients of `concurrency.capacity-survives-bad-clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadClient {
    /// Connects and closes at once, sending nothing.
    Empty,
    /// Sends a complete request whose line is not UTF-8, and reads the answer.
    NonUtf8,
    /// Sends the start of a request line, then resets the connection.
    ResetMidRequest,
}

impl BadClient {
    pub const ALL: [BadClient; 3] = [
        BadClient::Empty,
        BadClient::NonUtf8,
        BadClient::ResetMidRequest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BadClient::Empty => "empty",
            BadClient::NonUtf8 => "non-UTF-8",
            BadClient::ResetMidRequest => "reset mid-request",
        }
    }
}

impl RawKind {
    pub fn role(self) -> Role {
        match self {
            RawKind::Idle => Role::Idle,
            RawKind::Trickle => Role::Trickle,
            RawKind::Unread => Role::Unread,
            RawKind::Aborted { .. } => Role::Aborted,
            RawKind::Bad(_) => Role::Bad,
        }
    }
}

/// What a raw client has done so far.
#[derive(Debug, Default)]
struct Track {
    marks: Marks,
    /// In the state the scenario waits for before its fast requests: connected (idle),
    /// first byte written (trickle), request written (unread, aborted); or already over.
    ready: bool,
    status: Option<u16>,
    error: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Tracker(Arc<Mutex<Track>>);

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, Track> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn at(&self, origin: Instant, set: impl FnOnce(&mut Track, Duration)) {
        let at = origin.elapsed();
        set(&mut self.lock(), at);
    }

    fn fail(&self, origin: Instant, error: String) {
        self.at(origin, |t, at| {
            t.error.get_or_insert(error);
            t.marks.end.get_or_insert(at);
            t.ready = true;
        });
    }
}

/// A raw connection in flight.
pub struct RawFlight {
    pub label: String,
    pub role: Role,
    track: Tracker,
    handle: JoinHandle<()>,
}

impl RawFlight {
    pub fn ready(&self) -> bool {
        self.track.lock().ready
    }

    /// The connection is over (closed by the server, failed, or closed by the client).
    pub fn ended(&self) -> bool {
        let track = self.track.lock();
        track.marks.end.is_some() || track.error.is_some()
    }

    /// Closes the connection now (if the client is still running) and reports it.
    pub async fn close(self, bench: &Bench) -> Landed {
        let at = bench.now();
        self.handle.cancel().await;
        let track = self.track.lock();
        let outcome = match (&track.error, track.status) {
            (Some(error), _) => Outcome::Error(error.clone()),
            (None, Some(status)) => Outcome::Status(status),
            (None, None) if track.marks.end.is_some() => {
                Outcome::Error("closed by the server without a response".into())
            }
            (None, None) => Outcome::Closed(at),
        };
        let mut marks = track.marks.clone();
        if let Outcome::Closed(at) = outcome {
            marks.end = Some(at);
        }
        Landed {
            label: self.label,
            role: self.role,
            marks,
            outcome,
        }
    }
}

async fn raw_client(
    addr: SocketAddr,
    kind: RawKind,
    track: Tracker,
    origin: Instant,
    io_timeout: Duration,
    hold: Duration,
) {
    track.at(origin, |t, at| t.marks.start = Some(at));
    let mut stream = match timeout(io_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return track.fail(origin, format!("cannot connect: {e}")),
        Err(_) => return track.fail(origin, format!("no connection within {io_timeout:?}")),
    };
    track.at(origin, |t, at| {
        t.marks.connected = Some(at);
        t.ready |= kind == RawKind::Idle;
    });
    let _ = stream.set_nodelay(true);
    if let RawKind::Bad(bad) = kind {
        return bad_client(stream, bad, &track, origin, hold).await;
    }
    if let RawKind::Aborted { reset: true } = kind {
        stream = match with_reset_on_close(stream) {
            Ok(stream) => stream,
            Err(e) => return track.fail(origin, format!("cannot set SO_LINGER: {e}")),
        };
    }
    let request: &[u8] = match kind {
        RawKind::Idle => b"",
        RawKind::Trickle => {
            b"GET / HTTP/1.1\r\nHost: unblocked\r\nUser-Agent: unblocked-trickle\r\n\r\n"
        }
        RawKind::Unread => {
            b"GET / HTTP/1.1\r\nHost: unblocked\r\nUser-Agent: unblocked-unread\r\n\r\n"
        }
        RawKind::Aborted { .. } => {
            b"GET /sleep HTTP/1.1\r\nHost: unblocked\r\nUser-Agent: unblocked-aborted\r\n\r\n"
        }
        RawKind::Bad(_) => b"",
    };
    if kind == RawKind::Trickle {
        for (i, byte) in request.iter().enumerate() {
            if i > 0 {
                task::sleep(TRICKLE_PAUSE).await; // the pace of the delivery
            }
            if let Err(e) = write(&mut stream, std::slice::from_ref(byte), io_timeout).await {
                return track.fail(origin, e);
            }
            track.at(origin, |t, _| t.ready = true);
        }
    } else if !request.is_empty()
        && let Err(e) = write(&mut stream, request, io_timeout).await
    {
        return track.fail(origin, e);
    }
    if !request.is_empty() {
        track.at(origin, |t, at| {
            t.marks.sent = Some(at);
            t.ready = true;
        });
    }
    if kind == RawKind::Unread {
        // Holds the connection open without reading until the scenario closes it.
        task::sleep(hold).await;
        return;
    }
    read_response(&mut stream, &track, origin, hold).await;
}

/// What a bad client does once connected; the connection then ends on the server's close,
/// or when `hold` runs out.
async fn bad_client(
    mut stream: TcpStream,
    bad: BadClient,
    track: &Tracker,
    origin: Instant,
    hold: Duration,
) {
    let sent: &[u8] = match bad {
        BadClient::Empty => b"",
        BadClient::NonUtf8 => b"GET /\xff\xfe\xfd HTTP/1.1\r\nHost: unblocked\r\n\r\n",
        BadClient::ResetMidRequest => b"GET /sle",
    };
    if !sent.is_empty() && write(&mut stream, sent, hold).await.is_err() {
        return track.at(origin, |t, at| {
            t.marks.end.get_or_insert(at);
            t.ready = true;
        });
    }
    track.at(origin, |t, at| {
        t.marks.sent = Some(at);
        t.ready = true;
    });
    match bad {
        BadClient::Empty => {
            drop(stream);
            track.at(origin, |t, at| t.marks.end = Some(at));
        }
        BadClient::ResetMidRequest => {
            if let Ok(stream) = with_reset_on_close(stream) {
                drop(stream);
            }
            track.at(origin, |t, at| t.marks.end = Some(at));
        }
        BadClient::NonUtf8 => read_response(&mut stream, track, origin, hold).await,
    }
}

async fn write(stream: &mut TcpStream, bytes: &[u8], limit: Duration) -> Result<(), String> {
    match timeout(limit, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("sending failed: {e}")),
        Err(_) => Err(format!("sending took longer than {limit:?}")),
    }
}

/// Reads until the response head is complete (recording `first_byte` and the status), then
/// to the close, all within `hold`.
async fn read_response(stream: &mut TcpStream, track: &Tracker, origin: Instant, hold: Duration) {
    let deadline = Instant::now() + hold;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return,
            Ok(Ok(0)) => {
                track.at(origin, |t, at| t.marks.end = Some(at));
                return;
            }
            Ok(Ok(n)) => {
                track.at(origin, |t, at| {
                    t.marks.first_byte.get_or_insert(at);
                });
                if received.len() < RAW_READ_LIMIT {
                    received.extend_from_slice(&chunk[..n]);
                    if let Ok(Some(head)) = crate::kit::http::response::Head::parse(&received) {
                        track.at(origin, |t, _| t.status = Some(head.status));
                    }
                }
            }
            Ok(Err(e)) => return track.fail(origin, format!("reading failed: {e}")),
        }
    }
}

/// The same connection, set to be reset instead of closed with a FIN when dropped.
fn with_reset_on_close(stream: TcpStream) -> std::io::Result<TcpStream> {
    // async-std implements `AsFd` only with a feature; go through std's stream.
    let std_stream = std::net::TcpStream::try_from(stream)?;
    socket2::SockRef::from(&std_stream).set_linger(Some(Duration::ZERO))?;
    Ok(TcpStream::from(std_stream))
}
