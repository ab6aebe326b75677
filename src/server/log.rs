//! Request logging that can never block the server.
//!
//! stderr may be a pipe nobody reads for a while; a task that wrote to it directly would
//! stall, and with it an executor thread. Tasks hand lines to a bounded channel instead;
//! one dedicated thread writes them, and lines that find the channel full are dropped and
//! counted, the count reported once the writer catches up.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

/// Lines buffered before new ones are dropped.
pub const LOG_QUEUE: usize = 4096;

/// A cheap, cloneable handle to the log writer thread.
#[derive(Debug, Clone)]
pub struct Logger {
    lines: SyncSender<String>,
    /// Lines dropped since the start (never reset, so it can be read at any time).
    dropped: Arc<AtomicU64>,
}

impl Logger {
    /// Starts the writer thread, writing to `out` (stderr for the server).
    pub fn spawn(mut out: impl Write + Send + 'static) -> Self {
        let (lines, incoming) = sync_channel::<String>(LOG_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                let mut reported = 0;
                for line in incoming {
                    let lost = counter.load(Ordering::Relaxed) - reported;
                    if lost > 0 {
                        reported += lost;
                        let _ = writeln!(out, "({lost} log lines dropped: stderr was not read)");
                    }
                    let _ = writeln!(out, "{line}");
                }
            })
            .expect("spawn log writer thread");
        Logger { lines, dropped }
    }

    /// Queues a line, or counts it as dropped when the queue is full.
    pub fn log(&self, line: String) {
        match self.lines.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Escapes request bytes for a log line: printable ASCII as is, everything else `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone)]
    struct Blocked(Arc<Mutex<Vec<u8>>>);
    impl Write for Blocked {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_instead_of_blocking() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        // Hold the sink's lock so the writer thread stalls like an unread pipe.
        let guard = sink.lock().unwrap();
        let logger = Logger::spawn(Blocked(Arc::clone(&sink)));
        for i in 0..LOG_QUEUE * 2 + 10 {
            logger.log(format!("line {i}"));
        }
        let dropped = logger.dropped.load(Ordering::Relaxed);
        drop(guard);
        assert!(dropped >= LOG_QUEUE as u64, "dropped {dropped}");
    }

    #[test]
    fn escape_keeps_text_and_escapes_bytes() {
        assert_eq!(escape(b"GET /\xff\r"), "GET /\\xff\\r");
    }
}
