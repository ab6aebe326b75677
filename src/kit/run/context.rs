//! What a running check may use: the target, the settings, the pages bodies are compared
//! with, and what the groups keep across checks. The groups (fixtures, fuzz, concurrency)
//! depend on this, never on the runner ([`crate::kit::run::check`]) that calls them.

use crate::kit::http::raw::{self, DEFAULT_CLOSE_WAIT, DEFAULT_LINGER, Probe, Timing};
use crate::kit::report::CheckResult;
use crate::kit::run::settings::Settings;
use crate::kit::run::target::Target;
use crate::kit::verdict::RuleId;
use crate::pages::Pages;
use std::time::{Duration, Instant};

/// How often an exiting process is polled.
const EXIT_POLL: Duration = Duration::from_millis(10);
/// When a server no longer answers `GET /`, how long the kit waits to see whether its
/// process is exiting (a panicking process may take a moment to unwind, print and abort),
/// so that a death is reported as one. The wait ends as soon as the process is gone.
/// After the server stopped answering this often (restarts notwithstanding), the rest of
/// the run, or of a fuzz family, is not run: each further check would only wait out its
/// timeouts and probes (about 15 s each with the defaults), and the verdict is already
/// `fail`.
pub const MAX_STOPS: usize = 3;

pub const EXIT_WAIT: Duration = Duration::from_secs(1);
/// The same wait after a first probe, before the second.
const FIRST_EXIT_WAIT: Duration = Duration::from_millis(100);
/// Lines of a dead server's output quoted with its death.
const DEATH_LINES: usize = 10;
/// Of those, how many follow the last line that starts an error report.
const DEATH_MESSAGE_LINES: usize = 3;

/// The lines to quote for a death: the last `n`, and, when the last error report (a Rust
/// panic, a Go panic, a Python traceback...) starts before them, its first lines too, so
/// that a long backtrace never hides the message that says what happened.
pub fn death_excerpt(lines: &[String], n: usize) -> Vec<String> {
    let tail_start = lines.len().saturating_sub(n);
    let starts_report = |line: &String| {
        let body = line
            .split_once("| ")
            .map_or(line.as_str(), |(_, rest)| rest);
        [
            "panicked at",
            "panic:",
            "Traceback",
            "Exception",
            "Error",
            "error:",
            "FATAL",
            "fatal error",
            "Segmentation fault",
            "Aborted",
        ]
        .iter()
        .any(|marker| body.contains(marker))
    };
    let report = lines.iter().rposition(starts_report);
    match report {
        Some(at) if at < tail_start => {
            let message_end = (at + DEATH_MESSAGE_LINES).min(tail_start);
            let mut excerpt = lines[at..message_end].to_vec();
            if message_end < tail_start {
                excerpt.push(format!("... ({} lines)", tail_start - message_end));
            }
            excerpt.extend_from_slice(&lines[tail_start + DEATH_MESSAGE_LINES.min(n - 1)..]);
            excerpt
        }
        _ => lines[tail_start..].to_vec(),
    }
}

/// A check that can run: its stable id, group and what it tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    pub id: String,
    pub group: &'static str,
    pub description: String,
}

impl CheckInfo {
    pub fn new(id: impl Into<String>, group: &'static str, description: impl Into<String>) -> Self {
        CheckInfo {
            id: id.into(),
            group,
            description: description.into(),
        }
    }

    /// An empty result for this check, passing until told otherwise.
    pub fn result(&self) -> CheckResult {
        CheckResult::new(self.id.clone(), self.group, self.description.clone())
    }
}

/// Called as checks run, e.g. to draw a progress line.
pub trait Progress: Sync {
    /// The server under test answers; `target` says which it is.
    fn target_started(&self, _target: &crate::kit::report::TargetInfo) {}
    fn begin(&self, _total: usize) {}
    fn check_started(&self, _info: &CheckInfo) {}
    /// What a long check is doing now ("412/1000 cases, 2 failure classes").
    fn step(&self, _what: &str) {}
    fn check_done(&self, _result: &CheckResult) {}
    fn end(&self) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

/// The calibrated sleep S of the concurrency group, kept across its checks.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    /// S, or why it could not be measured; `None` until calibrated.
    pub sleep: Option<Result<Duration, String>>,
    /// For an `--addr` target: why later checks need a fresh server.
    pub tainted: Option<String>,
}

/// What a running check may use.
pub struct Context<'a> {
    pub target: &'a mut Target,
    pub settings: &'a Settings,
    /// The pages bodies are compared with, when known.
    pub pages: Option<Pages>,
    pub calibration: Calibration,
    pub progress: &'a dyn Progress,
    /// What the kit changed to fit the machine, for the report's notes (once each).
    pub notes: Vec<String>,
    /// What last ended a connection on this server, when the server closed it: a death
    /// that shows at the next check may be its doing.
    pub closed_before: Option<Before>,
}

/// What came before a check on the same server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// The check at this index of the plan.
    Check(usize),
    /// The kit learning the pages, before any check.
    Learning,
}

impl Context<'_> {
    /// Says in the report that the kit changed something to fit the machine.
    pub fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Socket timeouts for one request.
    pub fn timing(&self, slow: bool) -> Timing {
        Timing {
            connect: self.settings.timeout,
            response: if slow {
                self.settings.slow_timeout
            } else {
                self.settings.timeout
            },
            linger: DEFAULT_LINGER,
            close_wait: DEFAULT_CLOSE_WAIT,
            max_bytes: raw::read_limit(self.pages.as_ref().map_or(0, Pages::largest)),
        }
    }

    /// If the server process died, restarts it when the target allows, and returns what
    /// happened (exit status and its last output lines) for the check that killed it.
    pub fn revive(&mut self) -> Option<String> {
        self.revive_within(Duration::ZERO)
    }

    /// [`Self::revive`], waiting up to `wait` for a process that is exiting to be gone:
    /// a refused or reset connection is often the first sign of a death not yet reaped.
    pub fn revive_within(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        let death = loop {
            match self.target.exit_description() {
                Some(death) => break death,
                None if Instant::now() >= deadline || !self.target.restartable() => return None,
                None => std::thread::sleep(EXIT_POLL), // polls for the process to end
            }
        };
        // Only the dead process's own lines: an earlier run's would blame the wrong input.
        let last = death_excerpt(&self.target.process_output_tail(usize::MAX), DEATH_LINES);
        let mut text = format!("the server {death}");
        if !last.is_empty() {
            text.push_str(&format!("; its last output:\n{}", last.join("\n")));
        }
        text.push_str(&self.restart_note());
        Some(text)
    }

    /// Probes the server: `None` while it answers `GET /`; otherwise `server-died` (the
    /// process exited, within [`EXIT_WAIT`]) or `stopped-answering`, with what was seen. A
    /// server the kit started is restarted.
    ///
    /// A probe that gets no answer is sent once more: a pool whose last worker just died
    /// may drop one connection and only crash on the next one it accepts.
    pub fn liveness(&mut self) -> Option<(RuleId, String)> {
        let mut probe = None;
        for wait in [FIRST_EXIT_WAIT, EXIT_WAIT] {
            let seen = raw::probe_get_root(self.target.addr(), self.settings.timeout);
            if let Probe::Answered(_) = seen {
                return self.revive().map(|text| (RuleId::ServerDied, text));
            }
            // Nothing listens, yet the process lives: most likely it is dying (printing a
            // backtrace, unwinding), so one death gets one label.
            let wait = match seen {
                Probe::Refused(_) => wait.max(self.settings.timeout),
                _ => wait,
            };
            if let Some(text) = self.revive_within(wait) {
                return Some((RuleId::ServerDied, text));
            }
            probe = Some(seen);
        }
        let seen = probe.map(|p| p.describe()).unwrap_or_default();
        let mut text = format!("the server no longer answers GET /: it {seen}");
        text.push_str(&self.restart_note());
        Some((RuleId::StoppedAnswering, text))
    }

    /// Restarts a server the kit started; says how that went (empty for `--addr`).
    pub fn restart_note(&mut self) -> String {
        if !self.target.restartable() {
            return String::new();
        }
        match self.target.restart() {
            Ok(()) => "\n(restarted for the next checks)".into(),
            Err(e) => format!("\n(could not restart it: {e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_death_is_quoted_with_its_message_however_long_the_backtrace() {
        let mut output = lines(&[
            "err| thread 'main' panicked at src/main.rs:9:5:",
            "err| called `Result::unwrap()` on an `Err` value: Connection reset by peer",
            "err| stack backtrace:",
        ]);
        output.extend((0..40).map(|i| format!("err|   {i}: frame")));
        let excerpt = death_excerpt(&output, 10);
        assert_eq!(excerpt.len(), 11, "{excerpt:#?}");
        assert!(excerpt[0].contains("panicked at"));
        assert!(excerpt[1].contains("Connection reset by peer"));
        assert!(excerpt[3].starts_with("... ("), "{excerpt:#?}");
        assert_eq!(excerpt.last().unwrap(), "err|   39: frame");
        // A short output, or one whose report is in the tail, is quoted as it is.
        let short = lines(&["out| listening", "err| Error: boom"]);
        assert_eq!(death_excerpt(&short, 10), short);
        let plain: Vec<String> = (0..30).map(|i| format!("out| line {i}")).collect();
        assert_eq!(death_excerpt(&plain, 10), plain[20..]);
    }
}
