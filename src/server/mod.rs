//! The reference server: the book's `hello` server, strict and robust.
//!
//! The caller binds (so tests can use port 0) and hands the listener to [`run`] with a
//! shutdown future. async-std is the runtime the book's chapter is about; it is deprecated
//! upstream (RUSTSEC-2025-0052), so its use stays in this module and its submodules, behind
//! `TcpListener`, `TcpStream`, `task::spawn`, `task::sleep` and `io::timeout`, plus
//! [`set_executor_threads`], which sizes async-std's executor through the crate it runs on
//! (`async-global-executor`).
//!
//! - [`head`]: request-head parser with its limits.
//! - [`response`]: statuses and encoded responses.
//! - [`connection`]: one task per connection: read, route, answer, close cleanly.
//! - [`log`]: a logger that never blocks the server.
//! - [`cli`]: the `hello-server` command line, shared with `unblocked serve`.

pub mod cli;
mod connection;
pub mod head;
pub mod log;
pub mod response;

use crate::pages::Pages;
use async_std::channel;
use async_std::net::TcpListener;
use async_std::task;
use connection::Connection;
use log::Logger;
use response::PageResponses;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Pending connections the kernel queues for us. The default of std's listeners (128)
/// overflows when a thousand clients connect at once and costs them 1-3 s SYN retries.
pub const LISTEN_BACKLOG: i32 = 1024;
/// Largest request body read (and discarded) before answering; larger ones get 413.
pub const MAX_BODY: u64 = 1024 * 1024;
/// After answering, how long the server drains what the client still sends before closing.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
/// ... and how many bytes at most.
pub const DRAIN_LIMIT: usize = 256 * 1024;
/// File descriptors kept free beyond the connection limit (listener, stdio, log, accept).
pub const FD_HEADROOM: u64 = 64;
/// Added to the sleep duration to bound the wait for in-flight requests on shutdown.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// How the server behaves; `Default` is the documented command-line default.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long `GET /sleep` waits before answering.
    pub sleep: Duration,
    /// Time allowed for a complete request head (and, separately, for its body).
    pub read_timeout: Duration,
    /// Open connections beyond which new ones get an immediate 503.
    pub max_connections: usize,
    pub pages: Pages,
    /// Where request lines are logged; `None` is `--quiet`.
    pub logger: Option<Logger>,
    /// When to close in stages (shut down the write side, drain, close).
    pub lingering_close: LingeringClose,
}

/// When the server closes a connection in stages (RFC 9112 section 9.6): shut down its
/// write side, drain what the client still sends, then close. A client still sending when
/// the server closes outright gets a TCP reset, which can discard the response it has not
/// read yet; the staged close costs a wait for the client's FIN (about a fifth of the
/// server's CPU time per request in `ci/bench.sh`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LingeringClose {
    /// After every response: no client ever gets a reset instead of its answer.
    #[default]
    Always,
    /// Only when the client may still be sending (nginx's `lingering_close on`): after an
    /// error response, or when bytes beyond the request arrived, read or still waiting in
    /// the socket. A request read exactly, the common case, is followed by an immediate
    /// close; bytes the client sends after that close get a reset.
    Auto,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sleep: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            max_connections: 16384,
            pages: Pages::bundled(),
            logger: None,
            lingering_close: LingeringClose::Always,
        }
    }
}

/// State every connection task sees.
pub(crate) struct Shared {
    config: Config,
    pages: PageResponses,
    open: AtomicUsize,
}

/// Binds `addr` with an explicit listen backlog ([`LISTEN_BACKLOG`]).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from(std::net::TcpListener::from(socket)))
}

/// Serves connections from `listener` until `shutdown` completes, then stops accepting and
/// waits for in-flight requests (at most the sleep duration plus [`SHUTDOWN_MARGIN`]).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let grace = config.sleep + SHUTDOWN_MARGIN;
    let shared = Arc::new(Shared {
        pages: PageResponses::new(&config.pages),
        config,
        open: AtomicUsize::new(0),
    });
    // Every connection task holds a sender; `recv` fails once they are all gone.
    let (in_flight, all_done) = channel::bounded::<()>(1);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            (&mut shutdown).await;
            None
        })
        .await;
        let (stream, peer) = match accepted {
            None => break,
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) => {
                // Out of descriptors or memory: back off instead of spinning on the error.
                if let Some(logger) = &shared.config.logger {
                    logger.log(format!("accept failed: {e}"));
                }
                task::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if shared.open.load(Ordering::Acquire) >= shared.config.max_connections {
            task::spawn(connection::refuse(stream));
            continue;
        }
        let connection = Connection::new(stream, peer, Arc::clone(&shared));
        let alive = in_flight.clone();
        task::spawn(async move {
            connection.serve().await;
            drop(alive);
        });
    }
    drop(listener);
    drop(in_flight);
    let _ = async_std::future::timeout(grace, all_done.recv()).await;
    Ok(())
}

/// Sizes async-std's executor to `threads` threads. Call it before anything else uses
/// async-std: the first configuration wins, and async-std's own (one thread per core, or
/// `ASYNC_STD_THREAD_COUNT`) is then ignored.
pub fn set_executor_threads(threads: usize) -> Result<(), String> {
    // The configuration below keeps async-std's variable, which wins over its thread
    // count: refuse two answers to one question rather than ignore either.
    if let Some(value) = std::env::var_os(EXECUTOR_THREADS_VARIABLE) {
        return Err(format!(
            "--threads {threads} and {EXECUTOR_THREADS_VARIABLE}={} both set: choose one",
            value.to_string_lossy()
        ));
    }
    async_global_executor::init_with_config(
        async_global_executor::GlobalExecutorConfig::default()
            .with_env_var(EXECUTOR_THREADS_VARIABLE)
            .with_min_threads(threads)
            .with_max_threads(threads)
            .with_thread_name_fn(|| "async-std/runtime".to_string()),
    );
    Ok(())
}

/// The variable async-std sizes its executor with.
const EXECUTOR_THREADS_VARIABLE: &str = "ASYNC_STD_THREAD_COUNT";

/// Raises the soft open-file limit to the hard limit; returns the limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok(hard);
    }
    Ok(soft)
}

/// The connection limit that fits in `open_files` descriptors, leaving [`FD_HEADROOM`].
pub fn fit_connection_limit(requested: usize, open_files: u64) -> usize {
    let fits = open_files.saturating_sub(FD_HEADROOM).max(1);
    requested.min(usize::try_from(fits).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limit_leaves_headroom() {
        assert_eq!(fit_connection_limit(16384, 1024), 960);
        assert_eq!(fit_connection_limit(100, 20000), 100);
        assert_eq!(fit_connection_limit(100, 10), 1);
    }
}
