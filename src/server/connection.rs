//! One connection: read a request head, route it, answer, close cleanly.

use crate::server::head::{self, MAX_REQUEST_LINE, RequestHead};
use crate::server::log::escape;
use crate::server::response::{Encoded, Status};
use crate::server::{DRAIN_LIMIT, DRAIN_TIMEOUT, LingeringClose, MAX_BODY, Shared};
use async_std::io::{self, ReadExt, WriteExt};
use async_std::net::{Shutdown, TcpStream};
use async_std::task;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Smallest read; reads grow with the buffer so a slow client costs little memory.
const MIN_READ: usize = 512;
/// Below this size the head is re-parsed after every read (cheap); above, only when a line
/// ends or a limit is crossed, so that byte-by-byte delivery stays linear.
const EAGER_PARSE: usize = 1024;

/// What the server makes of the bytes a client sent.
enum Request {
    Routed {
        head: RequestHead,
        route: Route,
        /// Bytes beyond the request (and its body) arrived: the client may send more.
        surplus: bool,
    },
    Rejected {
        status: Status,
        line: Vec<u8>,
    },
    /// Nothing was received, or the connection failed: nothing to answer.
    Silent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Hello,
    Slow,
    NotFound,
}

/// A live connection; dropping it releases its slot in the connection count.
pub(crate) struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    accepted: Instant,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connection {
    /// Takes a slot in the connection count; the caller has checked there is one.
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) -> Self {
        shared.open.fetch_add(1, Ordering::AcqRel);
        Connection {
            stream,
            peer,
            shared,
            accepted: Instant::now(),
        }
    }

    pub(crate) async fn serve(mut self) {
        let mut buf = Vec::new();
        let (response, head_only, line, may_still_send) = match self.read_request(&mut buf).await {
            Request::Silent => return,
            // Part of the request may still be on its way.
            Request::Rejected { status, line } => {
                let head_only = head::names_head(&line);
                (Encoded::error(status), head_only, line, true)
            }
            Request::Routed {
                head,
                route,
                surplus,
            } => {
                let pages = &self.shared.pages;
                let response = match route {
                    Route::Hello => pages.hello.clone(),
                    Route::Slow => {
                        task::sleep(self.shared.config.sleep).await;
                        pages.hello.clone()
                    }
                    Route::NotFound => pages.not_found.clone(),
                };
                (response, head.method == b"HEAD", head.request_line, surplus)
            }
        };
        let linger = match self.shared.config.lingering_close {
            LingeringClose::Always => true,
            LingeringClose::Auto => may_still_send,
        };
        let sent = self
            .answer(response.bytes(head_only), &mut buf, linger)
            .await;
        if let Some(logger) = &self.shared.config.logger {
            let outcome = match sent {
                Ok(()) => String::new(),
                Err(e) => format!(" (not delivered: {e})"),
            };
            logger.log(format!(
                "{} \"{}\" {} {}ms{outcome}",
                self.peer,
                escape(&line[..line.len().min(200)]),
                response.status.code(),
                self.accepted.elapsed().as_millis(),
            ));
        }
    }

    async fn read_request(&mut self, buf: &mut Vec<u8>) -> Request {
        let read_timeout = self.shared.config.read_timeout;
        let deadline = self.accepted + read_timeout;
        let mut parse_now = true;
        let head = loop {
            if parse_now {
                match head::parse(buf) {
                    Ok(Some(head)) => break head,
                    Ok(None) => {}
                    Err(e) => {
                        return Request::Rejected {
                            status: e.status(),
                            line: first_line(buf),
                        };
                    }
                }
            }
            let before = buf.len();
            match read_some(&mut self.stream, buf, deadline).await {
                Ok(0) if before == 0 => return Request::Silent,
                // The client closed its write side before the head was complete.
                Ok(0) => return rejected(Status::BadRequest, buf),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return rejected(Status::RequestTimeout, buf);
                }
                Err(_) => return Request::Silent,
            }
            let fresh = &buf[before..];
            parse_now = buf.len() <= EAGER_PARSE
                || fresh.contains(&b'\n')
                || (before <= MAX_REQUEST_LINE + 1) != (buf.len() <= MAX_REQUEST_LINE + 1)
                || buf.len() > head::MAX_HEAD;
        };

        // Read and discard the body so that closing never resets the connection while the
        // client is still sending.
        if head.content_length > MAX_BODY {
            return rejected(Status::ContentTooLarge, buf);
        }
        let received = (buf.len() - head.head_len) as u64;
        let mut surplus = received > head.content_length;
        let mut missing = head.content_length.saturating_sub(received);
        let body_deadline = Instant::now() + read_timeout;
        while missing > 0 {
            buf.clear();
            match read_some(&mut self.stream, buf, body_deadline).await {
                Ok(0) => return rejected(Status::BadRequest, &head.request_line),
                Ok(n) => {
                    surplus = n as u64 > missing;
                    missing = missing.saturating_sub(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return rejected(Status::RequestTimeout, &head.request_line);
                }
                Err(_) => return Request::Silent,
            }
        }
        match route(&head) {
            Ok(route) => Request::Routed {
                head,
                route,
                surplus,
            },
            Err(status) => Request::Rejected {
                status,
                line: head.request_line,
            },
        }
    }

    /// Writes the response; with `linger`, or when unread bytes are waiting, closes in
    /// stages: shut down the write side and drain what the client still sends, so its
    /// kernel sees a FIN and never a reset that could discard the response before it is
    /// read. Otherwise the drop closes at once.
    async fn answer(&mut self, bytes: &[u8], buf: &mut Vec<u8>, linger: bool) -> io::Result<()> {
        let write_timeout = self.shared.config.read_timeout;
        io::timeout(write_timeout, self.stream.write_all(bytes)).await?;
        if !linger && !self.unread_bytes_waiting() {
            return Ok(());
        }
        self.stream.shutdown(Shutdown::Write)?;
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let mut drained = 0;
        while drained < DRAIN_LIMIT {
            buf.clear();
            match read_some(&mut self.stream, buf, deadline).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
        Ok(())
    }
}

impl Connection {
    /// Whether bytes the server has not read are waiting in the socket (sent after the
    /// request, during the sleep or the write): closing now would answer them with a
    /// reset. One non-blocking peek, without registering for readiness.
    fn unread_bytes_waiting(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::uninit()];
        matches!(
            socket2::SockRef::from(&self.stream).peek(&mut byte),
            Ok(1..)
        )
    }
}

/// Answers 503 to a connection over the limit, without reading its request.
pub(crate) async fn refuse(mut stream: TcpStream) {
    let response = Encoded::error(Status::ServiceUnavailable);
    if io::timeout(DRAIN_TIMEOUT, stream.write_all(response.bytes(false)))
        .await
        .is_ok()
    {
        let _ = stream.shutdown(Shutdown::Write);
        let mut buf = Vec::new();
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while let Ok(1..) = read_some(&mut stream, &mut buf, deadline).await {
            if buf.len() > DRAIN_LIMIT {
                break;
            }
        }
    }
}

fn rejected(status: Status, received: &[u8]) -> Request {
    Request::Rejected {
        status,
        line: first_line(received),
    }
}

fn first_line(bytes: &[u8]) -> Vec<u8> {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..end];
    line.strip_suffix(b"\r").unwrap_or(line).to_vec()
}

/// Appends one read's worth of bytes to `buf`, failing with `TimedOut` at `deadline`.
async fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left == Duration::ZERO {
        return Err(io::ErrorKind::TimedOut.into());
    }
    let start = buf.len();
    let want = start.clamp(MIN_READ, 8 * 1024);
    buf.resize(start + want, 0);
    let result = io::timeout(left, stream.read(&mut buf[start..])).await;
    buf.truncate(start + *result.as_ref().unwrap_or(&0));
    result
}

/// The book's routes; where the book is silent, RFC 9110 (HEAD is GET without a body).
fn route(head: &RequestHead) -> Result<Route, Status> {
    if head.version.0 != 1 {
        return Err(Status::VersionNotSupported);
    }
    let method_serves_pages = head.method == b"GET" || head.method == b"HEAD";
    if !method_serves_pages || head.version != (1, 1) || head.has_query {
        return Ok(Route::NotFound);
    }
    Ok(match head.path.as_slice() {
        b"/" => Route::Hello,
        b"/sleep" => Route::Slow,
        _ => Route::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(request: &[u8]) -> Result<Route, Status> {
        route(&head::parse(request).unwrap().unwrap())
    }

    #[test]
    fn routes_follow_the_book() {
        assert_eq!(route_of(b"GET / HTTP/1.1\r\n\r\n"), Ok(Route::Hello));
        assert_eq!(route_of(b"HEAD / HTTP/1.1\r\n\r\n"), Ok(Route::Hello));
        assert_eq!(
            route_of(b"GET http://x/ HTTP/1.1\r\n\r\n"),
            Ok(Route::Hello)
        );
        assert_eq!(route_of(b"GET /sleep HTTP/1.1\r\n\r\n"), Ok(Route::Slow));
        assert_eq!(
            route_of(b"GET /sleep/ HTTP/1.1\r\n\r\n"),
            Ok(Route::NotFound)
        );
        assert_eq!(route_of(b"GET /?x=1 HTTP/1.1\r\n\r\n"), Ok(Route::NotFound));
        assert_eq!(route_of(b"get / HTTP/1.1\r\n\r\n"), Ok(Route::NotFound));
        assert_eq!(route_of(b"POST / HTTP/1.1\r\n\r\n"), Ok(Route::NotFound));
        assert_eq!(route_of(b"OPTIONS * HTTP/1.1\r\n\r\n"), Ok(Route::NotFound));
        assert!(head::parse(b"GET * HTTP/1.1\r\n\r\n").is_err());
        assert_eq!(route_of(b"GET / HTTP/1.0\r\n\r\n"), Ok(Route::NotFound));
        assert_eq!(
            route_of(b"GET / HTTP/2.0\r\n\r\n"),
            Err(Status::VersionNotSupported)
        );
    }

    #[test]
    fn first_line_strips_the_line_end() {
        assert_eq!(first_line(b"GET / HTTP/1.1\r\nHost: x"), b"GET / HTTP/1.1");
        assert_eq!(first_line(b"partial"), b"partial");
    }
}
