//! An HTTP/1.1 client for surf that records when things happen on the wire.
//!
//! surf offers no hooks for "connected", "request fully sent" or "first
//! response byte", and its stock h1 backend pools connections per host (up to
//! 50, reused with keep-alive), which would hide how a server treats *new*
//! connections. [`TimedClient`] is a replacement backend
//! ([`http_client::HttpClient`]) that opens one fresh TCP connection per
//! request, never pools or reuses it, speaks HTTP/1.1 on it with the kit's own
//! parser, and writes the instants it observes into a [`Probe`] that
//! the caller attached to the request as an extension.
//!
//! All instants are offsets from one `origin` [`Instant`] shared by the caller
//! and the client, so the marks of concurrent requests can be compared.
//!
//! # Example
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use unblocked::kit::http::timed_client::{Probe, TimedClient};
//!
//! # async fn demo(url: &str) -> surf::Result<()> {
//! let origin = Instant::now();
//! let client = TimedClient::new(origin).surf_client();
//!
//! let probe = Probe::new();
//! let mut req = client.get(url).build();
//! req.set_ext(probe.clone());
//! let mut res = async_std::future::timeout(Duration::from_secs(5), client.send(req))
//!     .await
//!     .map_err(|e| surf::Error::from_str(surf::StatusCode::GatewayTimeout, e))??;
//! let body = res.body_bytes().await?;
//! probe.mark_end(origin);
//!
//! let marks = probe.marks();
//! println!("{} bytes, {marks:?}", body.len());
//! # Ok(()) }
//! ```
//!
//! # One parser
//!
//! The client writes the request itself and reads the answer with the kit's one response
//! parser ([`crate::kit::http::response`]), so the concurrency checks accept exactly the
//! responses the raw fixtures accept: an HTTP/1.0 status line, interim `1xx` responses, a
//! chunked body, a body delimited by the close. The whole body is read before the response
//! is handed to surf (the kit's pages are small); `sent` is when the last request byte was
//! handed to the kernel, `first_byte` the first non-empty read.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most bytes read for one response.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

use crate::kit::http::response::{self, Next};
use async_std::net::{TcpStream, ToSocketAddrs};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use http_client::http_types::url::{Host, Url};
use http_client::http_types::{Method, StatusCode, Version};
use http_client::{Config, Error, HttpClient, Request, Response};

/// Instants observed for one request, on one monotonic clock (offsets from a
/// shared origin [`Instant`]).
///
/// A mark is `None` when the request never got that far (for example
/// `connected` is `None` when the connection was refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Marks {
    /// The client began handling the request.
    pub start: Option<Duration>,
    /// The TCP connection was established.
    pub connected: Option<Duration>,
    /// The whole request had been written to the socket, i.e. handed to the
    /// kernel.
    pub sent: Option<Duration>,
    /// The first non-empty read of response bytes completed. The client only
    /// reads after sending, so bytes a server sends early are seen here, not
    /// when they arrived.
    pub first_byte: Option<Duration>,
    /// The caller finished with the response (see [`Probe::mark_end`]).
    pub end: Option<Duration>,
}

impl Marks {
    /// The marks in chronological order: start, connected, sent, first_byte, end.
    pub fn in_order(&self) -> [Option<Duration>; 5] {
        [
            self.start,
            self.connected,
            self.sent,
            self.first_byte,
            self.end,
        ]
    }

    /// Whether the marks that are present never go backwards in time.
    pub fn is_ordered(&self) -> bool {
        let present: Vec<Duration> = self.in_order().into_iter().flatten().collect();
        present.windows(2).all(|pair| pair[0] <= pair[1])
    }
}

/// Which mark to write.
#[derive(Debug, Clone, Copy)]
enum Mark {
    Start,
    Connected,
    Sent,
    FirstByte,
}

/// A shared recorder the caller attaches to a surf request (as a request
/// extension, `req.set_ext(probe.clone())`) and reads afterwards.
///
/// One probe is meant for one request. The client writes each of `start`,
/// `connected`, `sent` and `first_byte` only the first time it happens;
/// [`Probe::mark_end`] always overwrites `end`.
#[derive(Debug, Clone, Default)]
pub struct Probe(Arc<Mutex<Marks>>);

impl Probe {
    /// A probe with no marks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the marks recorded so far.
    pub fn marks(&self) -> Marks {
        self.lock().clone()
    }

    /// Records `end` as now, relative to `origin` (call it once the response
    /// body has been read, or once the request has failed or timed out).
    pub fn mark_end(&self, origin: Instant) {
        self.lock().end = Some(origin.elapsed());
    }

    fn record(&self, mark: Mark, origin: Instant) {
        let at = origin.elapsed();
        let mut marks = self.lock();
        let slot = match mark {
            Mark::Start => &mut marks.start,
            Mark::Connected => &mut marks.connected,
            Mark::Sent => &mut marks.sent,
            Mark::FirstByte => &mut marks.first_byte,
        };
        slot.get_or_insert(at);
    }

    fn lock(&self) -> MutexGuard<'_, Marks> {
        // The marks stay consistent even if a holder panicked.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A surf-compatible HTTP/1.1 client (`http://` only) that uses one fresh TCP
/// connection per request and records [`Marks`] into the request's [`Probe`]
/// extension, if it has one.
///
/// Of the [`http_client::Config`] it honours `tcp_no_delay` (default `true`)
/// and `timeout` (default `None`; when set, it bounds connecting plus
/// receiving the response head). `http_keep_alive` and
/// `max_connections_per_host` are ignored: connections are never pooled.
#[derive(Debug, Clone)]
pub struct TimedClient {
    origin: Instant,
    connect_timeout: Duration,
    config: Config,
}

impl TimedClient {
    /// The connect timeout used unless [`TimedClient::with_connect_timeout`]
    /// says otherwise.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client whose marks are offsets from `origin`.
    pub fn new(origin: Instant) -> Self {
        Self {
            origin,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            config: Config::new()
                .set_http_keep_alive(false)
                .set_tcp_no_delay(true)
                .set_timeout(None),
        }
    }

    /// Sets how long resolving the host and establishing the TCP connection
    /// may take.
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// The instant all marks are measured from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The connect timeout in force.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// A `surf::Client` sending through this client.
    ///
    /// `surf::Client::with_http_client` installs no middleware (surf's logger
    /// is only added with its `middleware-logger` feature, which is off here),
    /// so redirects are not followed and nothing else touches the requests.
    pub fn surf_client(self) -> surf::Client {
        surf::Client::with_http_client(self)
    }

    /// Resolves the URL's host and connects to the first address that accepts.
    async fn connect(&self, url: &Url) -> Result<TcpStream, Error> {
        let port = url.port_or_known_default().ok_or_else(|| {
            Error::from_str(StatusCode::BadRequest, format!("no port in URL {url}"))
        })?;
        let host = url.host().ok_or_else(|| {
            Error::from_str(StatusCode::BadRequest, format!("no host in URL {url}"))
        })?;
        let attempt = async {
            let addrs: Vec<SocketAddr> = match host {
                Host::Ipv4(ip) => vec![SocketAddr::from((ip, port))],
                Host::Ipv6(ip) => vec![SocketAddr::from((ip, port))],
                Host::Domain(name) => (name, port).to_socket_addrs().await?.collect(),
            };
            let mut last_error = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(error) => last_error = Some(error),
                }
            }
            Err(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "host resolved to no address")
            }))
        };
        match async_std::future::timeout(self.connect_timeout, attempt).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(error)) => Err(Error::new(StatusCode::BadGateway, error)),
            Err(_) => Err(Error::new(
                StatusCode::GatewayTimeout,
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "connecting to {}:{port} took longer than {:?}",
                        url.host_str().unwrap_or_default(),
                        self.connect_timeout
                    ),
                ),
            )),
        }
    }

    /// Connects, sends the request and reads the whole response.
    async fn exchange(&self, mut req: Request, probe: Option<Probe>) -> Result<Response, Error> {
        if req.url().scheme() != "http" {
            return Err(Error::from_str(
                StatusCode::BadRequest,
                format!("unsupported URL scheme {:?}", req.url().scheme()),
            ));
        }
        let mut stream = self.connect(req.url()).await?;
        let mark = |mark| {
            if let Some(probe) = &probe {
                probe.record(mark, self.origin);
            }
        };
        mark(Mark::Connected);
        if self.config.tcp_no_delay {
            // Only a latency tweak: not worth failing the request over.
            let _ = stream.set_nodelay(true);
        }
        let is_head = req.method() == Method::Head;
        let bytes = encode(&mut req).await?;
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        mark(Mark::Sent);
        let mut received = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut closed = false;
        loop {
            match response::next(&received, 0, is_head, closed) {
                Next::Complete(message) => return to_surf(&message, &received),
                Next::Invalid(e) => {
                    return Err(Error::from_str(StatusCode::BadGateway, e.to_string()));
                }
                _ if closed => {
                    return Err(Error::from_str(
                        StatusCode::BadGateway,
                        format!(
                            "the connection closed after {} bytes, before the response was complete",
                            received.len()
                        ),
                    ));
                }
                _ if received.len() >= MAX_RESPONSE => {
                    return Err(Error::from_str(
                        StatusCode::BadGateway,
                        "the response is too large",
                    ));
                }
                _ => {}
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                closed = true;
            } else {
                mark(Mark::FirstByte);
                received.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// The request's bytes: its line, its fields, `Host` and `Connection: close` unless given,
/// and its body with a `Content-Length`.
async fn encode(req: &mut Request) -> Result<Vec<u8>, Error> {
    let url = req.url().clone();
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let body = req.take_body().into_bytes().await?;
    let mut head = format!("{} {target} HTTP/1.1\r\n", req.method());
    let has = |name: &str| req.header(name).is_some();
    let (host, connection, length) = (has("host"), has("connection"), has("content-length"));
    if !host {
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        head.push_str(&format!(
            "Host: {}{port}\r\n",
            url.host_str().unwrap_or_default()
        ));
    }
    for (name, values) in req.iter() {
        for value in values.iter() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if !connection {
        head.push_str("Connection: close\r\n");
    }
    if !length && !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// The parsed message as a surf response.
fn to_surf(message: &response::Message, received: &[u8]) -> Result<Response, Error> {
    let head = &message.head;
    let status = StatusCode::try_from(head.status).map_err(|_| {
        Error::from_str(
            StatusCode::BadGateway,
            format!("status {} is not one surf knows", head.status),
        )
    })?;
    let mut res = Response::new(status);
    res.set_version(Some(if head.minor_version == 0 {
        Version::Http1_0
    } else {
        Version::Http1_1
    }));
    for (name, value) in &head.fields {
        if let Ok(value) = std::str::from_utf8(value) {
            res.append_header(name.as_str(), value.trim());
        }
    }
    res.set_body(message.body(received));
    Ok(res)
}

#[async_trait::async_trait]
impl HttpClient for TimedClient {
    async fn send(&self, req: Request) -> Result<Response, Error> {
        let probe = req.ext().get::<Probe>().cloned();
        if let Some(probe) = &probe {
            probe.record(Mark::Start, self.origin);
        }
        match self.config.timeout {
            None => self.exchange(req, probe).await,
            Some(limit) => async_std::future::timeout(limit, self.exchange(req, probe))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        StatusCode::GatewayTimeout,
                        io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("no response head within {limit:?}"),
                        ),
                    ))
                }),
        }
    }

    fn set_config(&mut self, config: Config) -> Result<(), Error> {
        self.config = config;
        Ok(())
    }

    fn config(&self) -> &Config {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_std::net::TcpListener;
    use async_std::task;
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads one request head and answers by path:
    /// `/sleep` after one second, `/nolength` without Content-Length (closing
    /// the connection to end the body), `/echo` with the request head as body,
    /// anything else `hello` at once.
    async fn serve(listener: TcpListener) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            task::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let response = match path.as_str() {
                    "/sleep" => {
                        task::sleep(Duration::from_secs(1)).await;
                        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nslept"
                            .to_owned()
                    }
                    "/http10" => "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
                    "/interim-chunked" => "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n".to_owned(),
                    "/nolength" => {
                        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nno length given".to_owned()
                    }
                    "/echo" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                        head.len()
                    ),
                    _ => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                        .to_owned(),
                };
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.close().await;
            });
        }
    }

    async fn start_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        task::spawn(serve(listener));
        addr
    }

    async fn fetch(client: surf::Client, origin: Instant, url: String) -> (String, Marks) {
        let probe = Probe::new();
        let mut req = client.get(url).build();
        req.set_ext(probe.clone());
        let mut res = async_std::future::timeout(Duration::from_secs(20), client.send(req))
            .await
            .expect("request timed out")
            .expect("request failed");
        let body = res.body_string().await.expect("body");
        probe.mark_end(origin);
        (body, probe.marks())
    }

    #[async_std::test]
    async fn fast_requests_pass_a_slow_one_and_marks_are_ordered() {
        let addr = start_server().await;
        let origin = Instant::now();
        let client = TimedClient::new(origin)
            .with_connect_timeout(Duration::from_secs(5))
            .surf_client();

        let slow = task::spawn(fetch(
            client.clone(),
            origin,
            format!("http://{addr}/sleep"),
        ));
        task::sleep(Duration::from_millis(50)).await;
        let fast: Vec<_> = (0..3)
            .map(|_| task::spawn(fetch(client.clone(), origin, format!("http://{addr}/"))))
            .collect();

        let mut fast_results = Vec::new();
        for handle in fast {
            fast_results.push(handle.await);
        }
        let (slow_body, slow_marks) = slow.await;
        assert_eq!(slow_body, "slept");

        for (body, marks) in fast_results
            .iter()
            .chain([&(slow_body, slow_marks.clone())])
        {
            assert!(marks.in_order().iter().all(Option::is_some), "{marks:?}");
            assert!(marks.is_ordered(), "{marks:?}");
            assert!(!body.is_empty());
        }
        for (body, marks) in &fast_results {
            assert_eq!(body, "hello");
            // The slow response is held back for a second; the fast ones
            // must all be complete before it even starts arriving.
            assert!(
                marks.end.unwrap() < slow_marks.first_byte.unwrap(),
                "{marks:?} vs {slow_marks:?}"
            );
        }
    }

    #[async_std::test]
    async fn body_without_content_length_is_read_to_eof() {
        let addr = start_server().await;
        let origin = Instant::now();
        let client = TimedClient::new(origin).surf_client();
        let (body, marks) = fetch(client, origin, format!("http://{addr}/nolength")).await;
        assert_eq!(body, "no length given");
        assert!(marks.in_order().iter().all(Option::is_some) && marks.is_ordered());
    }

    /// Regression: the concurrency clients gave up on an HTTP/1.0 status line, so the key
    /// property was never judged on an HTTP/1.0 server. They read what the raw client reads.
    #[async_std::test]
    async fn http10_interim_and_chunked_responses_are_read() {
        let addr = start_server().await;
        let origin = Instant::now();
        for path in ["/http10", "/interim-chunked"] {
            let client = TimedClient::new(origin).surf_client();
            let (body, _) = fetch(client, origin, format!("http://{addr}{path}")).await;
            assert_eq!(body, "hello", "{path}");
        }
    }

    #[async_std::test]
    async fn sends_connection_close_and_works_without_probe() {
        let addr = start_server().await;
        let client = TimedClient::new(Instant::now()).surf_client();
        let mut res = client
            .send(client.get(format!("http://{addr}/echo")))
            .await
            .unwrap();
        let echoed = res.body_string().await.unwrap().to_ascii_lowercase();
        assert!(echoed.contains("\r\nconnection: close\r\n"), "{echoed}");
    }

    #[async_std::test]
    async fn refused_connection_is_an_error_with_only_start_marked() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let origin = Instant::now();
        let client = TimedClient::new(origin).surf_client();
        let probe = Probe::new();
        let mut req = client.get(format!("http://{addr}/")).build();
        req.set_ext(probe.clone());
        let error = client.send(req).await.unwrap_err();
        assert!(error.downcast_ref::<io::Error>().is_some(), "{error:?}");
        let marks = probe.marks();
        assert!(
            marks.start.is_some() && marks.connected.is_none(),
            "{marks:?}"
        );
    }
}
