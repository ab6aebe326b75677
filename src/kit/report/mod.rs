//! What a run found, as data first; [`human`], [`json`], [`junit`] and [`html`] render it.

pub mod baseline;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod measurement;
pub mod replay;

pub use measurement::{Load, Measurement};

use crate::kit::verdict::RuleId;
use serde::Serialize;
use std::time::Duration;

/// A measured duration for people: whole milliseconds under a second, else seconds with
/// two decimals (`17 ms`, `1.50 s`), never `17ms 483us 750ns`.
pub fn duration_text(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// The verdict of one check. Ordered by severity, so the worst of several is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The server did what the reference server does.
    Pass,
    /// Nothing to judge; the check reports a measurement.
    Info,
    /// A failure recorded in the baseline that now passes ("remove it from the baseline").
    Fixed,
    /// The check did not run (the reason is in the detail).
    Skip,
    /// Allowed by RFC 9110/9112 or the book, but not what the reference server does.
    NonStrict,
    /// A failure recorded in the baseline, failing the same way: shown, not a failure.
    Known,
    /// The server broke a rule.
    Fail,
    /// A measured figure worse than the baseline's beyond its noise margin.
    Regressed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
            Verdict::NonStrict => "non-strict",
            Verdict::Fail => "fail",
            Verdict::Known => "known",
            Verdict::Fixed => "fixed",
            Verdict::Regressed => "regressed",
        }
    }

    /// Under `--strict`, a non-strict verdict is a failure.
    pub fn under(self, strict: bool) -> Verdict {
        if strict && self == Verdict::NonStrict {
            Verdict::Fail
        } else {
            self
        }
    }
}

/// Most bytes of a request or a response kept as evidence whole; of a longer one, the first
/// [`EXCERPT_HEAD`] and the last [`EXCERPT_TAIL`] are kept, with its length. A server can send
/// 4 MiB to every one of a hundred checks: the report stays small.
pub const EXCERPT_MAX: usize = 16 * 1024;
pub const EXCERPT_HEAD: usize = 12 * 1024;
pub const EXCERPT_TAIL: usize = 4 * 1024;

/// Bytes kept as evidence: all of them, or the first and the last of a long stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excerpt {
    /// The bytes, or the first [`EXCERPT_HEAD`] of them.
    pub head: Vec<u8>,
    /// The last [`EXCERPT_TAIL`] bytes, when the rest was not kept.
    pub tail: Vec<u8>,
    /// How many bytes there were in all.
    pub len: usize,
}

impl Excerpt {
    pub fn of(bytes: &[u8]) -> Excerpt {
        if bytes.len() <= EXCERPT_MAX {
            return Excerpt {
                head: bytes.to_vec(),
                tail: Vec::new(),
                len: bytes.len(),
            };
        }
        Excerpt {
            head: bytes[..EXCERPT_HEAD].to_vec(),
            tail: bytes[bytes.len() - EXCERPT_TAIL..].to_vec(),
            len: bytes.len(),
        }
    }

    /// Whether every byte was kept.
    pub fn is_whole(&self) -> bool {
        self.head.len() == self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Escaped for reports ([`crate::kit::http::escape`]), the head cut at `max` characters; a
    /// long stream shows where bytes were left out, and how many.
    pub fn escaped(&self, max: usize) -> String {
        use crate::kit::http::escape::{escape, escape_truncated};
        if self.is_whole() {
            return escape_truncated(&self.head, max);
        }
        let left_out = self.len - self.head.len() - self.tail.len();
        format!(
            "{} [... {left_out} bytes of {} not kept ...] {}",
            escape_truncated(&self.head, max),
            self.len,
            escape(&self.tail)
        )
    }
}

/// The bytes behind a verdict, so a person can see and replay what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The bytes sent (or, for a long request, the first and the last of them).
    pub request: Excerpt,
    /// The bytes received, or `None` when nothing came back.
    pub response: Option<Excerpt>,
    /// How the exchange ended (e.g. "closed by the server", "reset", "timed out after 5s").
    pub ending: String,
    /// What the expectations table allowed, in words.
    pub expected: String,
    /// A one-line shell command that sends the same bytes.
    pub replay: String,
    /// The server closed or reset the connection: a server that dies right after
    /// answering shows it only now (the kit then confirms it still answers).
    pub closed_by_server: bool,
}

/// A class of failures a fuzz check found: one rule broken by one kind of request, with
/// the minimal input that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureClass {
    /// The rule broken (`status-not-allowed`, `server-died`...).
    pub rule: RuleId,
    /// The row of the request that broke it (`other-method`...).
    pub kind: String,
    pub verdict: Verdict,
    /// How many generated cases fell in the class.
    pub count: u32,
    /// The minimal input, what came back, and how to replay it.
    pub evidence: Evidence,
    /// Whether the evidence is a shrunk input (otherwise the first one found).
    pub shrunk: bool,
    /// What the verifier said about the minimal input.
    pub detail: String,
}

/// One request in a concurrency timeline; instants are offsets from the check's start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineEntry {
    /// e.g. "slow 3", "fast 1", "idle 2".
    pub label: String,
    /// "slow", "fast", "idle", "trickle", "unread", "aborted".
    pub role: String,
    pub start: Option<Duration>,
    pub connected: Option<Duration>,
    pub sent: Option<Duration>,
    pub first_byte: Option<Duration>,
    pub end: Option<Duration>,
    /// Status code received, if any.
    pub status: Option<u16>,
    /// Set on a fast request that missed its budget: where it waited, as far as a client can
    /// see ("connecting", "waiting for the first response byte", "receiving the rest").
    pub waited: Option<String>,
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Stable id, `group.name`, e.g. `fixtures.get-root`.
    pub id: String,
    /// The group: `fixtures`, `fuzz`, `concurrency`, `pages`.
    pub group: String,
    /// What the check tests, in words (the requirement).
    pub description: String,
    pub verdict: Verdict,
    /// The rule broken (or bent, for non-strict), e.g. `status-not-allowed`.
    pub rule: Option<RuleId>,
    /// Why, in one or a few sentences.
    pub detail: String,
    pub duration: Duration,
    pub evidence: Option<Evidence>,
    /// Requests of a concurrency check, in start order.
    pub timeline: Vec<TimelineEntry>,
    /// What the check measured (fuzz seed and cases, K, S, budget...), typed.
    pub data: Option<Measurement>,
    /// For a fuzz check: every class of failures found, the worst first.
    pub classes: Vec<FailureClass>,
    /// The verdict before a baseline turned it into `known`, `fixed` or `regressed`: what
    /// the check itself found, which a rewritten baseline records.
    pub found: Option<Verdict>,
}

impl CheckResult {
    pub fn new(
        id: impl Into<String>,
        group: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        CheckResult {
            id: id.into(),
            group: group.into(),
            description: description.into(),
            verdict: Verdict::Pass,
            rule: None,
            detail: String::new(),
            duration: Duration::ZERO,
            evidence: None,
            timeline: Vec::new(),
            data: None,
            classes: Vec::new(),
            found: None,
        }
    }

    /// What the check measured, as the JSON object the report writes (empty when nothing).
    pub fn data_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.data
            .as_ref()
            .map(Measurement::to_map)
            .unwrap_or_default()
    }

    /// The measurement of a concurrency check, if it made one.
    pub fn load(&self) -> Option<&Load> {
        self.data.as_ref().and_then(Measurement::load)
    }
}

/// What was tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetInfo {
    /// A server command the kit started (`--server`, or the bundled reference server).
    Command(String),
    /// A server that was already running (`--addr`).
    Addr(String),
}

impl TargetInfo {
    /// The command or the address, as the user gave it.
    pub fn name(&self) -> &str {
        match self {
            TargetInfo::Command(name) | TargetInfo::Addr(name) => name,
        }
    }
}

/// Counts of verdicts, after `--strict` is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub non_strict: usize,
    pub fail: usize,
    pub skip: usize,
    pub info: usize,
    /// With a baseline: failures as recorded (not failures of the run).
    pub known: usize,
    /// With a baseline: recorded failures that now pass.
    pub fixed: usize,
    /// With a baseline: figures worse than recorded (failures of the run).
    pub regressed: usize,
}

impl Summary {
    /// `101 pass, 12 non-strict, 1 fail, 0 skip, 0 info` (and the baseline's counts when
    /// there are any): the one wording of every report's summary.
    pub fn counts(&self) -> String {
        let mut text = format!(
            "{} pass, {} non-strict, {} fail, {} skip, {} info",
            self.pass, self.non_strict, self.fail, self.skip, self.info
        );
        if self.known + self.fixed + self.regressed > 0 {
            text.push_str(&format!(
                ", {} known, {} fixed, {} regressed",
                self.known, self.fixed, self.regressed
            ));
        }
        text
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: TargetInfo,
    pub strict: bool,
    pub checks: Vec<CheckResult>,
    /// The last lines the server printed (stdout and stderr), when the kit started it.
    pub server_output: Vec<String>,
    pub duration: Duration,
    /// The run was interrupted (SIGINT, SIGTERM): only the checks that finished are here.
    pub interrupted: bool,
    /// What the kit changed to fit the machine (K lowered under the open-file limit...).
    pub notes: Vec<String>,
}

impl Report {
    /// The subcommand the report is titled after: `capacity` for a run of the capacity
    /// search alone (what `unblocked capacity` runs), `check` otherwise.
    pub fn command(&self) -> &'static str {
        let capacity_only = !self.checks.is_empty()
            && self
                .checks
                .iter()
                .all(|c| matches!(c.data, Some(Measurement::Capacity(_))));
        if capacity_only { "capacity" } else { "check" }
    }

    /// A check's verdict once `--strict` is applied.
    pub fn verdict_of(&self, check: &CheckResult) -> Verdict {
        check.verdict.under(self.strict)
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for check in &self.checks {
            match self.verdict_of(check) {
                Verdict::Pass => summary.pass += 1,
                Verdict::NonStrict => summary.non_strict += 1,
                Verdict::Fail => summary.fail += 1,
                Verdict::Skip => summary.skip += 1,
                Verdict::Info => summary.info += 1,
                Verdict::Known => summary.known += 1,
                Verdict::Fixed => summary.fixed += 1,
                Verdict::Regressed => summary.regressed += 1,
            }
        }
        summary
    }

    /// `conforming`, `NOT conforming` or `interrupted`.
    pub fn conclusion(&self) -> &'static str {
        if self.interrupted {
            "interrupted"
        } else if self.conforming() {
            "conforming"
        } else {
            "NOT conforming"
        }
    }

    /// No check failed or regressed (non-strict counts as a failure under `--strict`), and
    /// the run was not interrupted.
    pub fn conforming(&self) -> bool {
        let summary = self.summary();
        summary.fail == 0 && summary.regressed == 0 && !self.interrupted
    }

    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Panics with the human report unless the target conforms: for users' own tests.
    #[track_caller]
    pub fn assert_conforming(&self) {
        if !self.conforming() {
            panic!(
                "the server does not conform:\n{}",
                human::render(self, &human::Style::plain())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdicts: &[Verdict], strict: bool) -> Report {
        Report {
            target: TargetInfo::Addr("127.0.0.1:1".into()),
            strict,
            checks: verdicts
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let mut c = CheckResult::new(format!("g.c{i}"), "g", "d");
                    c.verdict = v;
                    c
                })
                .collect(),
            server_output: Vec::new(),
            duration: Duration::ZERO,
            interrupted: false,
            notes: Vec::new(),
        }
    }

    #[test]
    fn strict_turns_non_strict_into_fail() {
        let lenient = report(&[Verdict::Pass, Verdict::NonStrict, Verdict::Skip], false);
        assert!(lenient.conforming());
        assert_eq!(lenient.summary().non_strict, 1);
        let strict = report(&[Verdict::Pass, Verdict::NonStrict, Verdict::Skip], true);
        assert!(!strict.conforming());
        assert_eq!(strict.summary().fail, 1);
    }

    #[test]
    fn severity_orders_verdicts() {
        assert_eq!(
            [Verdict::Pass, Verdict::NonStrict, Verdict::Info]
                .into_iter()
                .max(),
            Some(Verdict::NonStrict)
        );
        assert!(Verdict::Fail > Verdict::NonStrict);
    }
}
