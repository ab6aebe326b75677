//! The capacity search: the largest number K of concurrent slow requests at which every
//! fast request still meets the budget.
//!
//! K doubles from 1 (1, 2, 4, ...) up to the maximum (the maximum itself is always tried),
//! then bisects between the last K that held and the first that did not. Each step is the
//! `slow-does-not-delay-fast` load on a fresh server (for servers the kit starts), with the
//! same re-run rule as the checks, so a step only fails when two attempts both fail.
//!
//! A server with a fixed pool of N workers holds at K = N − 1 (one worker stays free for the
//! fast request) and fails at N; a server that awaits each connection in its accept loop
//! fails at K = 1; a server with a task (or thread) per connection holds at every K.

use super::checks::{self, Attempt};
use super::scenario::{self, Params};
use super::timeline::{human, ms};
use super::{CAPACITY, after, fill, limits, with_rerun};
use crate::kit::context::Context;
use crate::kit::report::{CheckResult, Verdict};
use serde_json::{Map, Value, json};

/// The design a capacity suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Even one slow request delays a fast one.
    Sequential,
    /// Fast requests meet the budget up to `workers − 1` slow requests.
    BoundedPool { workers: usize },
    /// No limit found up to the maximum tried.
    PerConnection { max: usize },
}

impl Classification {
    /// In plain words, for the report.
    pub fn describe(&self) -> String {
        match self {
            Classification::Sequential => {
                "sequential: a single slow request delays every other request \
                 (the accept loop awaits each connection, or a single worker serves them all)"
                    .to_string()
            }
            Classification::BoundedPool { workers } => format!(
                "a bounded pool of about {workers} workers: with {} in flight a worker is still free \
                 for a fast one, with {workers} none is (a thread pool, or an executor whose threads block)",
                slow_requests(workers - 1)
            ),
            Classification::PerConnection { max } => format!(
                "per-connection tasks (or threads): no limit found up to {max} concurrent slow requests"
            ),
        }
    }

    /// A short stable name for programs: `sequential`, `bounded-pool`, `per-connection`.
    pub fn name(&self) -> &'static str {
        match self {
            Classification::Sequential => "sequential",
            Classification::BoundedPool { .. } => "bounded-pool",
            Classification::PerConnection { .. } => "per-connection",
        }
    }
}

/// "1 slow request", "3 slow requests".
fn slow_requests(n: usize) -> String {
    format!("{n} slow request{}", if n == 1 { "" } else { "s" })
}

/// What a capacity says about the design, given the largest K tried.
pub fn classify(capacity: usize, max: usize) -> Classification {
    if capacity == 0 {
        Classification::Sequential
    } else if capacity >= max {
        Classification::PerConnection { max }
    } else {
        Classification::BoundedPool {
            workers: capacity + 1,
        }
    }
}

/// One K tried.
struct Step {
    k: usize,
    attempts: Vec<Attempt>,
}

impl Step {
    fn held(&self) -> bool {
        self.attempts.last().is_some_and(|a| a.passed)
    }

    fn last(&self) -> &Attempt {
        self.attempts.last().expect("at least one attempt")
    }

    fn slowest_fast(&self) -> String {
        let slowest = self
            .last()
            .data
            .get("fast_ms")
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .map(|v| v.as_f64().unwrap_or(f64::INFINITY))
                    .reduce(f64::max)
            });
        match slowest {
            Some(ms) if ms.is_finite() => format!("{ms:.0} ms"),
            Some(_) => "no response".to_string(),
            None => "-".to_string(),
        }
    }

    fn data(&self) -> Value {
        json!({
            "k": self.k,
            "held": self.held(),
            "attempts": self.attempts.len(),
            "fast_ms": self.last().data.get("fast_ms").cloned().unwrap_or(Value::Null),
        })
    }
}

/// Why the search stopped before it was done.
type Stop = String;

fn step(ctx: &mut Context<'_>, params: &Params, k: usize) -> Result<Step, Stop> {
    let attempts = with_rerun(ctx, CAPACITY, |ctx| {
        // After the restart: a started server moves to a new port each time.
        let addr = ctx.target.addr();
        async_std::task::block_on(async {
            let run = scenario::slow_load(addr, params, k).await;
            checks::slow_does_not_delay_fast(&run, params, k)
        })
    })?;
    let step = Step { k, attempts };
    if let Some(death) = ctx.target.exit_description() {
        return Err(format!("the server {death} at K = {k}"));
    }
    if !ctx.target.restartable() && step.last().gave_up > 0 {
        return Err(format!(
            "K = {k} left requests the server may still be working on, and the kit cannot restart a server it did not start (--addr)"
        ));
    }
    Ok(step)
}

/// Runs the search and fills `result` (an `info` verdict: a measurement).
pub(super) fn search(
    ctx: &mut Context<'_>,
    params: Params,
    mut result: CheckResult,
) -> CheckResult {
    let (max, max_note) = limits::fit(
        ctx.settings.concurrency.max(),
        1,
        params.fast + 1,
        "the largest K",
    );
    let mut steps: Vec<Step> = Vec::new();
    let mut stopped: Option<Stop> = None;
    let mut good = 0;
    let mut bad = None;
    let mut k = 1;
    loop {
        ctx.progress.step(&format!("trying K = {k}"));
        match step(ctx, &params, k) {
            Err(stop) => {
                stopped = Some(stop);
                break;
            }
            Ok(done) => {
                let held = done.held();
                steps.push(done);
                if !held {
                    bad = Some(k);
                    break;
                }
                good = k;
                if k >= max {
                    break;
                }
                k = (k * 2).min(max);
            }
        }
    }
    if let Some(mut first_bad) = bad {
        while stopped.is_none() && first_bad - good > 1 {
            let mid = good + (first_bad - good) / 2;
            match step(ctx, &params, mid) {
                Err(stop) => stopped = Some(stop),
                Ok(done) => {
                    if done.held() {
                        good = mid;
                    } else {
                        first_bad = mid;
                    }
                    steps.push(done);
                }
            }
        }
        bad = Some(first_bad);
    }
    if let Some(last) = steps.last() {
        after(ctx, CAPACITY, last.last());
    }

    let classification = classify(good, max);
    // The most telling timeline: the smallest K that failed, else the largest that held.
    let shown = steps
        .iter()
        .filter(|s| !s.held())
        .min_by_key(|s| s.k)
        .or_else(|| steps.iter().filter(|s| s.held()).max_by_key(|s| s.k));
    if let Some(shown) = shown {
        fill(&mut result, &shown.attempts, ctx.target.restartable());
    }
    result.verdict = Verdict::Info;
    result.rule = None;
    let mut data = Map::new();
    data.insert("capacity".into(), Value::from(good));
    data.insert("max".into(), Value::from(max));
    data.insert("classification".into(), Value::from(classification.name()));
    data.insert("sleep_ms".into(), ms(params.sleep));
    data.insert("budget_ms".into(), ms(params.budget));
    data.insert(
        "steps".into(),
        Value::Array(steps.iter().map(Step::data).collect()),
    );
    if let Some(shown) = shown {
        data.insert("timeline_k".into(), Value::from(shown.k));
        data.insert(
            "timeline_fast_ms".into(),
            shown
                .last()
                .data
                .get("fast_ms")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let mut detail = match (bad, &stopped) {
        (_, Some(stop)) => {
            format!(
                "capacity at least {} at once; the search stopped: {stop}",
                slow_requests(good)
            )
        }
        (Some(bad), None) => format!(
            "capacity: {} at once, the largest K at which every fast GET / request \
             met the {} budget (K = {bad} delayed them); this looks like {}",
            slow_requests(good),
            human(params.budget),
            classification.describe()
        ),
        (None, None) => format!(
            "capacity: {} at once, the maximum tried: every fast GET / request met the {} budget \
             at every K; this looks like {}",
            slow_requests(good),
            human(params.budget),
            classification.describe()
        ),
    };
    let summary: Vec<String> = steps
        .iter()
        .map(|s| {
            format!(
                "K = {}: {} (slowest fast {}{})",
                s.k,
                if s.held() { "held" } else { "delayed" },
                s.slowest_fast(),
                if s.attempts.len() > 1 { ", re-run" } else { "" }
            )
        })
        .collect();
    detail.push_str(&format!("\nsteps: {}", summary.join("; ")));
    if let Some(shown) = shown {
        detail.push_str(&format!(
            "\nthe timeline is the one at K = {}: {}",
            shown.k,
            shown.last().summary
        ));
    }
    if let Some(note) = max_note {
        detail.push_str(&format!("\n{note}"));
        data.insert("max_note".into(), Value::from(note.clone()));
        ctx.note(format!("{}: {note}", result.id));
    }
    result.detail = detail;
    result.data = data;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_in_plain_words() {
        assert_eq!(classify(0, 1024), Classification::Sequential);
        assert_eq!(
            classify(1, 1024),
            Classification::BoundedPool { workers: 2 }
        );
        assert_eq!(
            classify(1024, 1024),
            Classification::PerConnection { max: 1024 }
        );
        assert!(
            classify(1, 1024)
                .describe()
                .contains("about 2 workers: with 1 slow request in flight")
        );
        assert!(classify(0, 8).describe().starts_with("sequential"));
        assert_eq!(classify(8, 8).name(), "per-connection");
    }
}
