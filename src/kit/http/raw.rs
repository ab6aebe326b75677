//! A raw HTTP/1.1 client on a plain TCP stream: it sends exact bytes (in pieces, with
//! pauses, optionally more requests once earlier ones are answered, optionally
//! half-closing) and reads exact bytes back, framing every response with the kit's one
//! parser ([`crate::kit::http::response`]) so that no framing error is hidden by a client
//! library. Every socket operation has a timeout.
//!
//! The connection may stay open: a persistent connection is the HTTP/1.1 default (RFC 9112
//! section 9.3). After the responses the caller is owed, the client watches the connection
//! only as long as there is something to learn, and stops on the event: a server that
//! announced the close (`Connection: close`, or HTTP/1.0) is waited on until its close
//! arrives; one that keeps the connection open is watched for [`Timing::linger`], long
//! enough for bytes that should not be there to arrive in the same flight.

use crate::kit::http::response::{self, Message, Next};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Most bytes read on one connection, unless the pages compared with need more
/// ([`read_limit`]); a server that sends more is cut off there.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// How many bytes to read on one connection when the largest page is `largest_page` bytes:
/// [`MAX_RESPONSE`], or room for two answers carrying it (a pipelined pair), so that a large
/// page given with `--pages` is judged like a small one.
pub fn read_limit(largest_page: usize) -> usize {
    MAX_RESPONSE.max(largest_page.saturating_mul(2).saturating_add(64 * 1024))
}

/// How a request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Sent in order; one piece for a plain request.
    pub pieces: Vec<Vec<u8>>,
    /// Pause between pieces.
    pub pause: Duration,
    /// Shut down the write side once everything is sent.
    pub half_close: bool,
    /// More requests on the same connection, each sent once enough responses are complete.
    pub later: Vec<Later>,
}

/// A request sent on the same connection once `after_responses` responses are complete (a
/// connection reused after an answer, RFC 9112 section 9.3). Pipelined requests need no
/// `Later`: they are part of the first pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Later {
    pub after_responses: usize,
    pub bytes: Vec<u8>,
}

impl Delivery {
    pub fn whole(bytes: impl Into<Vec<u8>>) -> Self {
        Delivery {
            pieces: vec![bytes.into()],
            pause: Duration::ZERO,
            half_close: false,
            later: Vec::new(),
        }
    }

    /// The bytes of the first send, as one.
    pub fn bytes(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    /// Every byte the delivery may send, later requests included, in order.
    pub fn all_bytes(&self) -> Vec<u8> {
        let mut all = self.bytes();
        for later in &self.later {
            all.extend_from_slice(&later.bytes);
        }
        all
    }
}

/// The answers a caller expects on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// For each request in order, whether it is `HEAD`: its answer is framed without a body.
    pub heads: Vec<bool>,
    /// How many answers are owed (complete requests); reading stops once they are in.
    pub count: usize,
}

impl Owed {
    /// One answer to one `GET`.
    pub fn one_get() -> Owed {
        Owed {
            heads: vec![false],
            count: 1,
        }
    }
}

/// How long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub connect: Duration,
    /// For each owed response, from the end of sending (or from the previous response).
    pub response: Duration,
    /// After the owed responses, on a connection the server keeps open: how long to watch
    /// for bytes that should not be there, a reset, or a late close.
    pub linger: Duration,
    /// After the owed responses, when the server announced the close: how long to wait for
    /// it (the wait ends when it comes).
    pub close_wait: Duration,
    /// Most bytes read ([`read_limit`]).
    pub max_bytes: usize,
}

/// Bytes handed to one `write(2)`: each is given the time left of the send's deadline.
const WRITE_SLICE: usize = 64 * 1024;

/// The default watch on a kept-open connection: loopback bytes of the same flight arrive
/// within microseconds; 20 ms leaves room for a busy machine.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(20);
/// The default wait for an announced close.
pub const DEFAULT_CLOSE_WAIT: Duration = Duration::from_secs(1);

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(5),
            linger: DEFAULT_LINGER,
            close_wait: DEFAULT_CLOSE_WAIT,
            max_bytes: MAX_RESPONSE,
        }
    }
}

/// How the connection ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server closed (EOF).
    Closed,
    /// The connection was reset.
    Reset,
    /// An owed response was not complete by its deadline.
    TimedOut,
    /// Every owed response arrived, and the connection was still open after the watch.
    KeptOpen,
}

impl Ending {
    pub fn describe(self) -> &'static str {
        match self {
            Ending::Closed => "closed by the server",
            Ending::Reset => "reset",
            Ending::TimedOut => "timed out",
            Ending::KeptOpen => "left open by the server after the responses",
        }
    }
}

/// One connection: what was sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub delivery: Delivery,
    /// How many bytes of the first send were written before the server stopped taking them.
    pub written: usize,
    /// How many of the later requests were sent.
    pub later_sent: usize,
    pub received: Vec<u8>,
    pub ending: Ending,
    /// The complete responses, in order.
    pub responses: Vec<Message>,
    /// What followed the last complete response.
    pub rest: Next,
    /// Time from connect to the end.
    pub elapsed: Duration,
    /// Time from connect to the first response byte.
    pub first_byte: Option<Duration>,
    /// Reading stopped at [`Timing::max_bytes`]: the server sent more than the kit reads.
    pub truncated: bool,
}

impl Exchange {
    /// Whether the server answered at all.
    pub fn answered(&self) -> bool {
        !self.received.is_empty()
    }

    /// How many of the `planned` requests were sent: all but those of the later sends the
    /// client did not make (a response announced the close before them).
    pub fn requests_sent(&self, planned: usize) -> usize {
        self.delivery
            .later
            .get(self.later_sent)
            .map_or(planned, |unsent| unsent.after_responses.min(planned))
    }
}

/// Sends `delivery` to `addr` and reads the answers; reading stops once the `owed` ones are
/// complete and the connection has been watched. Fails only when the connection cannot be
/// made; everything after that is part of the exchange.
pub fn send(
    addr: SocketAddr,
    delivery: &Delivery,
    timing: &Timing,
    owed: &Owed,
) -> io::Result<Exchange> {
    let stream = TcpStream::connect_timeout(&addr, timing.connect)?;
    stream.set_nodelay(true)?;
    let mut conn = Connection {
        stream,
        max_bytes: timing.max_bytes,
        started: Instant::now(),
        owed,
        ex: Exchange {
            delivery: delivery.clone(),
            written: 0,
            later_sent: 0,
            received: Vec::new(),
            ending: Ending::TimedOut,
            responses: Vec::new(),
            rest: Next::Nothing,
            elapsed: Duration::ZERO,
            first_byte: None,
            truncated: false,
        },
        closed: None,
    };
    conn.run(timing);
    conn.ex.elapsed = conn.started.elapsed();
    Ok(conn.ex)
}

/// One connection while it runs.
struct Connection<'a> {
    stream: TcpStream,
    max_bytes: usize,
    started: Instant,
    owed: &'a Owed,
    ex: Exchange,
    /// How the server ended the connection, once it has.
    closed: Option<Ending>,
}

impl Connection<'_> {
    fn run(&mut self, timing: &Timing) {
        if !self.send_first(timing) {
            self.read_until(Instant::now() + timing.response, |_| false);
            self.finish(false);
            return;
        }
        for i in 0..self.ex.delivery.later.len() {
            let after = self.ex.delivery.later[i].after_responses;
            let deadline = Instant::now() + timing.response;
            if !self.read_until(deadline, |c| c.ex.responses.len() >= after) {
                self.finish(false);
                return;
            }
            // RFC 9112 9.3: a client sends no more once a response announced the close.
            if self
                .ex
                .responses
                .last()
                .is_some_and(|m| !m.head.persistent())
            {
                break;
            }
            let bytes = self.ex.delivery.later[i].bytes.clone();
            if self.write_before(&bytes, Instant::now() + timing.response) < bytes.len() {
                break;
            }
            self.ex.later_sent += 1;
        }
        if self.ex.delivery.half_close {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        // With nothing owed (an empty or incomplete request), an answer is still read whole.
        let owed = self.ex.requests_sent(self.owed.count).max(1);
        let all_owed = self.read_until(Instant::now() + timing.response, |c| {
            c.ex.responses.len() >= owed
        });
        if all_owed {
            self.watch(timing);
        }
        self.finish(all_owed);
    }

    /// Sends the first pieces; `false` when the server stopped taking them. The pauses
    /// together last at most the response timeout, so no delivery holds a run up for longer.
    fn send_first(&mut self, timing: &Timing) -> bool {
        let pause = self.ex.delivery.pause;
        let deadline = self.started + timing.response;
        for i in 0..self.ex.delivery.pieces.len() {
            if i > 0 && !pause.is_zero() {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(pause.min(left)); // the pause is part of the delivery
            }
            let piece = self.ex.delivery.pieces[i].clone();
            let written = self.write_before(&piece, deadline);
            self.ex.written += written;
            // The server closed, reset or stopped reading while we were sending: what it
            // answered, if anything, is still worth reading.
            if written < piece.len() {
                return false;
            }
        }
        true
    }

    /// Writes `bytes` in slices, each bounded by what is left until `deadline`, so a server
    /// that reads slowly cannot stretch a send past it (a write timeout alone bounds each
    /// `write(2)`, not the whole); returns how many bytes were written.
    fn write_before(&mut self, bytes: &[u8], deadline: Instant) -> usize {
        let mut written = 0;
        while written < bytes.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_write_timeout(Some(left)).is_err() {
                break;
            }
            let end = bytes.len().min(written + WRITE_SLICE);
            match self.stream.write(&bytes[written..end]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(0) | Err(_) => break,
                Ok(n) => written += n,
            }
        }
        written
    }

    /// Reads until `done` holds (`true`), or the server ends the connection, the deadline
    /// passes or the limit is reached (`false`).
    fn read_until(&mut self, deadline: Instant, done: impl Fn(&Self) -> bool) -> bool {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            self.parse();
            if done(self) {
                return true;
            }
            if self.closed.is_some() {
                return false;
            }
            if self.ex.received.len() >= self.max_bytes {
                self.ex.truncated = true;
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.read_some(&mut chunk, left) {
                return false;
            }
        }
    }

    /// One read, bounded by `left`; `false` on a timeout.
    fn read_some(&mut self, chunk: &mut [u8], left: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(left));
        match self.stream.read(chunk) {
            Ok(0) => self.closed = Some(Ending::Closed),
            Ok(n) => {
                self.ex
                    .first_byte
                    .get_or_insert_with(|| self.started.elapsed());
                self.ex.received.extend_from_slice(&chunk[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => self.closed = Some(Ending::Reset),
        }
        true
    }

    /// Re-reads the responses received so far.
    fn parse(&mut self) {
        let closed = self.closed == Some(Ending::Closed);
        let (responses, rest) = response::all(&self.ex.received, &self.owed.heads, closed);
        self.ex.responses = responses;
        self.ex.rest = rest;
    }

    /// After the owed responses: wait for an announced close, or watch a kept-open
    /// connection briefly.
    fn watch(&mut self, timing: &Timing) {
        let announced_close = self
            .ex
            .responses
            .last()
            .is_some_and(|m| !m.head.persistent());
        let wait = if announced_close {
            timing.close_wait
        } else {
            timing.linger
        };
        let _ = self.read_until(Instant::now() + wait, |_| false);
    }

    fn finish(&mut self, all_owed: bool) {
        self.parse();
        self.ex.ending = match self.closed {
            Some(ending) => ending,
            None if all_owed => Ending::KeptOpen,
            None => Ending::TimedOut,
        };
    }
}

/// What a lone `GET / HTTP/1.1` gets: the readiness probe for servers, and the liveness
/// probe between checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A complete, valid response with this status.
    Answered(u16),
    /// Nothing could connect.
    Refused(String),
    /// Connected, but no complete response: how it ended.
    NoAnswer(Ending),
    /// Bytes that are not an HTTP/1.x response (quoted in the error).
    NotHttp(response::ParseError),
}

impl Probe {
    pub fn answered(&self) -> bool {
        matches!(self, Probe::Answered(_))
    }

    /// What happened, in words.
    pub fn describe(&self) -> String {
        match self {
            Probe::Answered(status) => format!("answered {status}"),
            Probe::Refused(e) => format!("refused the connection ({e})"),
            Probe::NoAnswer(Ending::TimedOut) => {
                "accepted the connection but did not answer".into()
            }
            Probe::NoAnswer(ending) => {
                format!(
                    "accepted the connection, then {} without answering",
                    ending.describe()
                )
            }
            Probe::NotHttp(e) => format!("answered something else: {e}"),
        }
    }
}

/// Sends `GET / HTTP/1.1` to `addr` and says what came back (a complete, valid head is an
/// answer; whether the body is right is for the checks to judge).
pub fn probe_get_root(addr: SocketAddr, timeout: Duration) -> Probe {
    let timing = Timing {
        connect: timeout,
        response: timeout,
        linger: Duration::ZERO,
        close_wait: Duration::ZERO,
        max_bytes: MAX_RESPONSE,
    };
    let request = Delivery::whole(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    match send(addr, &request, &timing, &Owed::one_get()) {
        Err(e) => Probe::Refused(e.to_string()),
        Ok(ex) => match (ex.responses.first(), &ex.rest) {
            (Some(m), _) => Probe::Answered(m.head.status),
            (None, Next::Invalid(e)) => Probe::NotHttp(e.clone()),
            (
                None,
                Next::Incomplete { head: Some(h) }
                | Next::UntilClose(response::Message { head: h, .. }),
            ) => Probe::Answered(h.status),
            (None, _) => Probe::NoAnswer(ex.ending),
        },
    }
}

/// Whether `GET / HTTP/1.1` gets a response.
pub fn answers_get_root(addr: SocketAddr, timeout: Duration) -> bool {
    probe_get_root(addr, timeout).answered()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server thread: accepts once, reads once, writes `answer`, then closes,
    /// or resets with `reset`.
    fn serve_once(answer: &'static [u8], reset: bool) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(answer).unwrap();
            if reset {
                socket2::SockRef::from(&s)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
        });
        (addr, server)
    }

    fn get() -> Delivery {
        Delivery::whole(&b"GET / HTTP/1.1\r\n\r\n"[..])
    }

    #[test]
    fn a_body_delimited_by_the_close_is_read_to_the_end() {
        let (addr, server) = serve_once(b"HTTP/1.1 200 OK\r\n\r\nhello", false);
        let ex = send(addr, &get(), &Timing::default(), &Owed::one_get()).unwrap();
        server.join().unwrap();
        assert_eq!(ex.ending, Ending::Closed);
        assert_eq!(ex.responses.len(), 1);
        assert_eq!(ex.responses[0].body(&ex.received), b"hello");
    }

    /// Issue 20 §7: a write timeout bounds each `write(2)`, so a server that keeps reading,
    /// slowly, held a large send for as long as it read; the send now has a deadline.
    #[test]
    fn a_server_that_reads_slowly_cannot_stretch_a_send_past_its_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let mut buf = [0u8; 16 * 1024];
            // About 300 KB/s for at most 20 s: far less than the send, far longer than
            // its deadline.
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until && done_rx.try_recv().is_err() {
                if matches!(s.read(&mut buf), Ok(0)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let body = vec![b'a'; 64 * 1024 * 1024];
        let head = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len());
        let delivery = Delivery::whole([head.into_bytes(), body].concat());
        let timing = Timing {
            response: Duration::from_millis(500),
            ..Timing::default()
        };
        let started = Instant::now();
        let ex = send(addr, &delivery, &timing, &Owed::one_get()).unwrap();
        let took = started.elapsed();
        let _ = done_tx.send(()); // the reader may have given up already
        server.join().unwrap();
        assert!(
            ex.written < delivery.bytes().len(),
            "{} written",
            ex.written
        );
        // The send's deadline, then the wait for the answer: two timeouts, with room.
        assert!(took < Duration::from_secs(5), "the exchange took {took:?}");
    }

    #[test]
    fn a_reset_after_the_response_is_seen() {
        let (addr, server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true);
        let ex = send(addr, &get(), &Timing::default(), &Owed::one_get()).unwrap();
        server.join().unwrap();
        assert_eq!(
            ex.responses.len(),
            1,
            "the response before the reset is kept"
        );
        assert_eq!(ex.ending, Ending::Reset, "the server reset the connection");
    }

    #[test]
    fn a_kept_open_connection_is_watched_briefly_then_left() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            // Holds the connection until the client is done.
            let _ = done_rx.recv_timeout(Duration::from_secs(10));
        });
        let started = Instant::now();
        let ex = send(addr, &get(), &Timing::default(), &Owed::one_get()).unwrap();
        let took = started.elapsed();
        let _ = done_tx.send(()); // the reader may have given up already
        server.join().unwrap();
        assert_eq!(ex.ending, Ending::KeptOpen);
        assert!(took < Duration::from_secs(2), "watched for {took:?}");
    }

    #[test]
    fn a_later_request_is_sent_once_the_first_is_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            for answer in [&b"first"[..], b"second"] {
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).unwrap();
                got.push(buf[..n].to_vec());
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    answer.len()
                );
                s.write_all(&[head.as_bytes(), answer].concat()).unwrap();
            }
            got
        });
        let mut delivery = get();
        delivery.later.push(Later {
            after_responses: 1,
            bytes: b"GET /again HTTP/1.1\r\n\r\n".to_vec(),
        });
        let owed = Owed {
            heads: vec![false, false],
            count: 2,
        };
        let ex = send(addr, &delivery, &Timing::default(), &owed).unwrap();
        let got = server.join().unwrap();
        assert_eq!(
            got[1], b"GET /again HTTP/1.1\r\n\r\n",
            "sent after the first answer"
        );
        assert_eq!(ex.later_sent, 1);
        let bodies: Vec<Vec<u8>> = ex.responses.iter().map(|m| m.body(&ex.received)).collect();
        assert_eq!(bodies, [b"first".to_vec(), b"second".to_vec()]);
    }

    #[test]
    fn probes_say_what_came_back() {
        let (addr, server) = serve_once(b"SSH-2.0-OpenSSH_9.6\r\n", false);
        let probe = probe_get_root(addr, Duration::from_secs(5));
        server.join().unwrap();
        assert!(
            probe.describe().contains("SSH-2.0-OpenSSH_9.6"),
            "{probe:?}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = listener.local_addr().unwrap();
        drop(listener);
        assert!(matches!(
            probe_get_root(closed, Duration::from_secs(1)),
            Probe::Refused(_)
        ));
    }

    #[test]
    fn no_later_request_is_sent_after_a_response_that_announced_the_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = vec![0u8; 256];
            let n = s.read(&mut got).unwrap();
            got.truncate(n);
            s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            // Like a server that discards what follows until the client leaves.
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            (got, rest)
        });
        let mut delivery = get();
        delivery.later.push(Later {
            after_responses: 1,
            bytes: b"GET /again HTTP/1.1\r\n\r\n".to_vec(),
        });
        let owed = Owed {
            heads: vec![false, false],
            count: 2,
        };
        let timing = Timing {
            close_wait: Duration::from_millis(100),
            ..Timing::default()
        };
        let ex = send(addr, &delivery, &timing, &owed).unwrap();
        let (first, rest) = server.join().unwrap();
        assert_eq!(first, b"GET / HTTP/1.1\r\n\r\n");
        assert!(rest.is_empty(), "sent after the close: {rest:?}");
        assert_eq!((ex.later_sent, ex.requests_sent(2)), (0, 1));
        assert_eq!(ex.ending, Ending::KeptOpen);
    }
}
