//! A raw HTTP/1.1 client on a plain TCP stream: it sends exact bytes (in pieces, with
//! pauses, optionally half-closing) and reads exact bytes back, framing the response itself
//! so that no framing error is hidden by a client library. Every socket operation has a
//! timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Most bytes read from one response; a server that sends more is cut off here.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// Longest response head parsed; more header fields than fit are a malformed response.
const MAX_RESPONSE_HEADERS: usize = 64;

/// How a request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Sent in order; one piece for a plain request.
    pub pieces: Vec<Vec<u8>>,
    /// Pause between pieces.
    pub pause: Duration,
    /// Shut down the write side once everything is sent.
    pub half_close: bool,
}

impl Delivery {
    pub fn whole(bytes: impl Into<Vec<u8>>) -> Self {
        Delivery {
            pieces: vec![bytes.into()],
            pause: Duration::ZERO,
            half_close: false,
        }
    }

    /// All the bytes, as one.
    pub fn bytes(&self) -> Vec<u8> {
        self.pieces.concat()
    }
}

/// How long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub connect: Duration,
    /// For the whole response, from the end of sending.
    pub response: Duration,
    /// After a response framed by `Content-Length`, how long to watch for the close (or
    /// for bytes that should not be there). Only informs; a keep-alive server is legal.
    pub linger: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(5),
            linger: Duration::from_millis(250),
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
    /// No complete response by the deadline.
    TimedOut,
    /// A complete response, and the connection still open after the linger time.
    KeptOpen,
}

impl Ending {
    pub fn describe(self) -> &'static str {
        match self {
            Ending::Closed => "closed by the server",
            Ending::Reset => "reset",
            Ending::TimedOut => "timed out",
            Ending::KeptOpen => "left open by the server after a complete response",
        }
    }
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub delivery: Delivery,
    /// How many bytes of the request were written before the server stopped taking them.
    pub written: usize,
    pub received: Vec<u8>,
    pub ending: Ending,
    /// Length of the complete response within `received`, once framed.
    pub complete: Option<usize>,
    /// Time from connect to the last byte (or to the end).
    pub elapsed: Duration,
    /// Time from connect to the first response byte.
    pub first_byte: Option<Duration>,
}

/// Sends `delivery` to `addr` and reads the answer. Fails only when the connection cannot
/// be made; everything after that is part of the exchange.
pub fn send(
    addr: SocketAddr,
    delivery: &Delivery,
    timing: &Timing,
    head_request: bool,
) -> io::Result<Exchange> {
    let mut stream = TcpStream::connect_timeout(&addr, timing.connect)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(timing.response))?;
    let started = Instant::now();
    let mut written = 0;
    let mut send_failed = false;
    for (i, piece) in delivery.pieces.iter().enumerate() {
        if i > 0 && !delivery.pause.is_zero() {
            std::thread::sleep(delivery.pause); // the pause is part of the request's delivery
        }
        match stream.write_all(piece) {
            Ok(()) => written += piece.len(),
            Err(_) => {
                // The server closed or reset while we were sending: what it answered, if
                // anything, is still worth reading.
                send_failed = true;
                break;
            }
        }
    }
    if delivery.half_close && !send_failed {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut exchange = Exchange {
        delivery: delivery.clone(),
        written,
        received: Vec::new(),
        ending: Ending::TimedOut,
        complete: None,
        elapsed: Duration::ZERO,
        first_byte: None,
    };
    read_response(&mut stream, &mut exchange, timing, head_request, started);
    exchange.elapsed = started.elapsed();
    Ok(exchange)
}

fn read_response(
    stream: &mut TcpStream,
    ex: &mut Exchange,
    timing: &Timing,
    head_request: bool,
    started: Instant,
) {
    let deadline = Instant::now() + timing.response;
    let mut chunk = vec![0u8; 64 * 1024];
    // Phase 1: until the response is complete, or the connection ends.
    loop {
        if let Framing::Complete(n) = frame(&ex.received, head_request) {
            ex.complete = Some(n);
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || ex.received.len() >= MAX_RESPONSE {
            ex.ending = Ending::TimedOut;
            return;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut chunk) {
            Ok(0) => {
                ex.ending = Ending::Closed;
                // A body delimited by the close is complete now.
                if let Framing::UntilClose = frame(&ex.received, head_request) {
                    ex.complete = Some(ex.received.len());
                }
                return;
            }
            Ok(n) => {
                ex.first_byte.get_or_insert_with(|| started.elapsed());
                ex.received.extend_from_slice(&chunk[..n]);
            }
            Err(e) => {
                ex.ending = match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Ending::TimedOut,
                    _ => Ending::Reset,
                };
                return;
            }
        }
    }
    // Phase 2: a framed response; watch briefly how the connection ends.
    let linger_end = Instant::now() + timing.linger;
    loop {
        let left = linger_end.saturating_duration_since(Instant::now());
        if left.is_zero() || ex.received.len() >= MAX_RESPONSE {
            ex.ending = Ending::KeptOpen;
            return;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut chunk) {
            Ok(0) => {
                ex.ending = Ending::Closed;
                return;
            }
            Ok(n) => ex.received.extend_from_slice(&chunk[..n]),
            Err(e) => {
                ex.ending = match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Ending::KeptOpen,
                    _ => Ending::Reset,
                };
                return;
            }
        }
    }
}

/// Where the response stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// More bytes are needed.
    Incomplete,
    /// The response (head and body) is the first `n` bytes.
    Complete(usize),
    /// The head is complete and has no length: the body ends with the connection.
    UntilClose,
    /// Not an HTTP/1.x response.
    Invalid(String),
}

/// Frames a response by RFC 9112 section 6.3.
pub fn frame(bytes: &[u8], head_request: bool) -> Framing {
    let parsed = match Response::parse(bytes) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Framing::Incomplete,
        Err(e) => return Framing::Invalid(e),
    };
    if head_request || parsed.status < 200 || parsed.status == 204 || parsed.status == 304 {
        return Framing::Complete(parsed.head_len);
    }
    if parsed.chunked {
        return match dechunk(&bytes[parsed.head_len..]) {
            Ok(Some((_, used))) => Framing::Complete(parsed.head_len + used),
            Ok(None) => Framing::Incomplete,
            Err(e) => Framing::Invalid(e),
        };
    }
    match parsed.content_length {
        Some(Ok(len)) => {
            let total = parsed
                .head_len
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            if bytes.len() >= total {
                Framing::Complete(total)
            } else {
                Framing::Incomplete
            }
        }
        Some(Err(())) => Framing::Invalid("invalid Content-Length".into()),
        None => Framing::UntilClose,
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub head_len: usize,
    /// `None` when absent; `Err` when present but not one valid number.
    pub content_length: Option<Result<u64, ()>>,
    pub chunked: bool,
}

impl Response {
    /// Parses a response head strictly; `Ok(None)` while incomplete.
    pub fn parse(bytes: &[u8]) -> Result<Option<Response>, String> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut slots);
        let head_len = match parsed.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("not an HTTP/1.x response head: {e}")),
        };
        let headers: Vec<(String, Vec<u8>)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect();
        let mut content_length = None;
        for (_, value) in headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            let this = std::str::from_utf8(value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(());
            content_length = match (content_length, this) {
                (None, this) => Some(this),
                (Some(Ok(a)), Ok(b)) if a == b => Some(Ok(a)),
                _ => Some(Err(())),
            };
        }
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase()
                    .trim_ascii_end()
                    .ends_with(b"chunked")
        });
        Ok(Some(Response {
            minor_version: parsed.version.unwrap_or(0),
            status: parsed.code.unwrap_or(0),
            reason: parsed.reason.unwrap_or("").to_string(),
            headers,
            head_len,
            content_length,
            chunked,
        }))
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The body within `bytes` (the whole received response), decoded if chunked.
    pub fn body(&self, bytes: &[u8], complete: usize) -> Vec<u8> {
        let raw = &bytes[self.head_len.min(bytes.len())..complete.min(bytes.len())];
        if self.chunked {
            dechunk(raw)
                .ok()
                .flatten()
                .map(|(body, _)| body)
                .unwrap_or_default()
        } else {
            raw.to_vec()
        }
    }
}

/// Decodes a chunked body: `Ok(Some((body, bytes used)))`, `Ok(None)` while incomplete.
fn dechunk(mut bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let total = bytes.len();
    let mut body = Vec::new();
    loop {
        let Some(lf) = bytes.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let line = bytes[..lf].strip_suffix(b"\r").unwrap_or(&bytes[..lf]);
        let size_text = line.split(|&b| b == b';').next().unwrap_or(b"");
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| "invalid chunk size".to_string())?;
        bytes = &bytes[lf + 1..];
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(lf) = bytes.iter().position(|&b| b == b'\n') else {
                    return Ok(None);
                };
                let empty = bytes[..lf]
                    .strip_suffix(b"\r")
                    .unwrap_or(&bytes[..lf])
                    .is_empty();
                bytes = &bytes[lf + 1..];
                if empty {
                    return Ok(Some((body, total - bytes.len())));
                }
            }
        }
        if bytes.len() < size + 1 {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size..];
        bytes = if let Some(rest) = bytes.strip_prefix(b"\r\n") {
            rest
        } else if let Some(rest) = bytes.strip_prefix(b"\n") {
            rest
        } else if bytes.len() < 2 {
            return Ok(None);
        } else {
            return Err("chunk not followed by CRLF".into());
        };
    }
}

/// Whether `GET / HTTP/1.1` gets a response (a complete, valid head; whether the body is
/// right is for the checks to judge): the readiness probe for servers.
pub fn answers_get_root(addr: SocketAddr, timeout: Duration) -> bool {
    let timing = Timing {
        connect: timeout,
        response: timeout,
        linger: Duration::ZERO,
    };
    let request = Delivery::whole(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    send(addr, &request, &timing, false)
        .is_ok_and(|ex| matches!(Response::parse(&ex.received), Ok(Some(_))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_follows_content_length_chunked_or_close() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(frame(full, false), Framing::Complete(full.len()));
        assert_eq!(frame(&full[..full.len() - 1], false), Framing::Incomplete);
        assert_eq!(frame(&full[..10], false), Framing::Incomplete);
        assert_eq!(frame(full, true), Framing::Complete(full.len() - 3));
        assert_eq!(
            frame(b"HTTP/1.1 404 NOT FOUND\r\n\r\nx", false),
            Framing::UntilClose
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(frame(chunked, false), Framing::Complete(chunked.len()));
        let parsed = Response::parse(chunked).unwrap().unwrap();
        assert_eq!(parsed.body(chunked, chunked.len()), b"abc");
        assert!(matches!(
            frame(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false),
            Framing::Invalid(_)
        ));
        assert!(matches!(
            frame(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false
            ),
            Framing::Invalid(_)
        ));
        assert!(matches!(
            frame(b"HTTP/2 200\r\n\r\n", false),
            Framing::Invalid(_)
        ));
        assert!(matches!(frame(b"<html>", false), Framing::Invalid(_)));
    }

    #[test]
    fn the_book_reason_phrase_and_http10_parse() {
        let r = Response::parse(b"HTTP/1.0 404 NOT FOUND\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.minor_version, r.status, r.reason.as_str()),
            (0, 404, "NOT FOUND")
        );
    }

    #[test]
    fn exchanges_read_until_close_and_see_resets() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            // 1: close-delimited body. 2: reset after the response.
            for reset in [false, true] {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).unwrap();
                s.write_all(b"HTTP/1.1 200 OK\r\n\r\nhello").unwrap();
                if reset {
                    socket2::SockRef::from(&s)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                }
            }
        });
        let timing = Timing::default();
        let ex = send(
            addr,
            &Delivery::whole(&b"GET / HTTP/1.1\r\n\r\n"[..]),
            &timing,
            false,
        )
        .unwrap();
        assert_eq!(ex.ending, Ending::Closed);
        assert_eq!(ex.complete, Some(ex.received.len()));
        assert!(ex.received.ends_with(b"hello"));
        let ex = send(
            addr,
            &Delivery::whole(&b"GET / HTTP/1.1\r\n\r\n"[..]),
            &timing,
            false,
        )
        .unwrap();
        // On Linux the bytes before a reset are still read; the reset may be seen or not.
        assert!(
            matches!(ex.ending, Ending::Reset | Ending::Closed),
            "{:?}",
            ex.ending
        );
        server.join().unwrap();
    }
}
