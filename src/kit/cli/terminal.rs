//! What a person sees while the kit runs, and what is kept if it is interrupted: a progress
//! line on a terminal (which check, and inside long checks what they are doing), and a
//! record of every finished check, from which a SIGINT or SIGTERM prints the partial report.

use super::args::ReportArgs;
use super::output;
use crate::kit::report::{CheckResult, Report, TargetInfo};
use crate::kit::run::context::{CheckInfo, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the run has done so far.
#[derive(Default)]
struct Record {
    target: Option<TargetInfo>,
    checks: Vec<CheckResult>,
    /// The final report is being given: an interrupt then only waits for it.
    delivering: bool,
    /// The final report (and the baseline) is given: an interrupt may end the process.
    delivered: bool,
}

/// The longest an interrupt waits for the final report to be given before it exits anyway.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// The progress line and the record; cheap to clone (shared with the signal thread).
#[derive(Clone)]
pub struct Terminal {
    bar: Option<ProgressBar>,
    record: Arc<Mutex<Record>>,
    /// Signalled when the final report is given.
    given: Arc<Condvar>,
    started: Instant,
    strict: bool,
}

impl Terminal {
    /// A progress line on stderr when it is a terminal (not under `TERM=dumb`).
    pub fn new(strict: bool) -> Terminal {
        use std::io::IsTerminal;
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let bar = (std::io::stderr().is_terminal() && !dumb).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Terminal {
            bar,
            record: Arc::default(),
            given: Arc::default(),
            started: Instant::now(),
            strict,
        }
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The final report is about to be given.
    pub fn delivering(&self) {
        self.record().delivering = true;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The final report (and the baseline) is given: an interrupt no longer waits.
    pub fn delivered(&self) {
        self.record().delivered = true;
        self.given.notify_all();
    }

    /// On a signal: the report of the checks that finished, marked interrupted, given as
    /// asked; when the final report is already being given, waits (boundedly) until it is,
    /// so that the one document is never cut off by the exit that follows.
    pub fn deliver_partial(&self, args: &ReportArgs, notes: Vec<String>) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let report = {
            let mut record = self.record();
            if record.delivering {
                let _ = self
                    .given
                    .wait_timeout_while(record, DELIVERY_WAIT, |r| !r.delivered);
                return;
            }
            record.delivering = true;
            Report {
                target: record
                    .target
                    .clone()
                    .unwrap_or(TargetInfo::Command("(not started)".into())),
                strict: self.strict,
                checks: record.checks.clone(),
                server_output: Vec::new(),
                duration: self.started.elapsed(),
                interrupted: true,
                notes,
            }
        };
        let _ = output::deliver(&report, args);
    }
}

impl Progress for Terminal {
    fn target_started(&self, target: &TargetInfo) {
        self.record().target = Some(target.clone());
    }
    fn begin(&self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }
    fn check_started(&self, info: &CheckInfo) {
        if let Some(bar) = &self.bar {
            bar.set_message(info.id.clone());
        }
    }
    fn step(&self, what: &str) {
        if let Some(bar) = &self.bar {
            let id = bar.message();
            let id = id.split(':').next().unwrap_or_default().to_string();
            bar.set_message(format!("{id}: {what}"));
        }
    }
    fn check_done(&self, result: &CheckResult) {
        let mut record = self.record();
        // Once the report is being given, a check still running was cut short: not a result.
        if record.delivering {
            return;
        }
        record.checks.push(result.clone());
        drop(record);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
    fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
