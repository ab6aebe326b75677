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
use super::timeline::human;
use super::{CAPACITY, after, fill, limits, with_rerun};
use crate::kit::report::measurement::{self, Capacity, CapacityStep};
use crate::kit::report::{CheckResult, Measurement, Verdict};
use crate::kit::run::context::Context;

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

    fn fast_ms(&self) -> Option<Vec<Option<f64>>> {
        self.last().data.fast_ms.clone()
    }

    fn slowest_fast(&self) -> String {
        let slowest = self.fast_ms().and_then(|all| {
            all.iter()
                .map(|v| v.unwrap_or(f64::INFINITY))
                .reduce(f64::max)
        });
        match slowest {
            Some(ms) if ms.is_finite() => format!("{ms:.0} ms"),
            Some(_) => "no response".to_string(),
            None => "-".to_string(),
        }
    }

    fn data(&self) -> CapacityStep {
        CapacityStep {
            attempts: self.attempts.len(),
            fast_ms: self.fast_ms(),
            held: self.held(),
            k: self.k,
        }
    }
}

/// Why the search stopped before it was done.
type Stop = String;

/// What a search found: the largest K that held, the smallest that did not (if one was
/// tried), and why it stopped early (if it did).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    good: usize,
    bad: Option<usize>,
    stopped: Option<Stop>,
}

/// The search itself, over any `try_k` (whether K held, or why the search must stop):
/// K doubles from 1 up to `max` (always tried), then bisects between the last K that held
/// and the first that did not.
fn bisect(max: usize, mut try_k: impl FnMut(usize) -> Result<bool, Stop>) -> Found {
    let mut found = Found {
        good: 0,
        bad: None,
        stopped: None,
    };
    let mut k = 1;
    loop {
        match try_k(k) {
            Err(stop) => {
                found.stopped = Some(stop);
                return found;
            }
            Ok(false) => {
                found.bad = Some(k);
                break;
            }
            Ok(true) if k >= max => {
                found.good = k;
                return found;
            }
            Ok(true) => {
                found.good = k;
                k = (k * 2).min(max);
            }
        }
    }
    while let Some(bad) = found.bad.filter(|&bad| bad - found.good > 1) {
        let mid = found.good + (bad - found.good) / 2;
        match try_k(mid) {
            Err(stop) => {
                found.stopped = Some(stop);
                return found;
            }
            Ok(true) => found.good = mid,
            Ok(false) => found.bad = Some(mid),
        }
    }
    found
}

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
    let found = bisect(max, |k| {
        ctx.progress.step(&format!("trying K = {k}"));
        let done = step(ctx, &params, k)?;
        let held = done.held();
        steps.push(done);
        Ok(held)
    });
    if let Some(last) = steps.last() {
        after(ctx, CAPACITY, last.last());
    }
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
    result.detail = describe(&found, max, &params, &steps, shown);
    if let Some(note) = &max_note {
        result.detail.push_str(&format!("\n{note}"));
        ctx.note(format!("{}: {note}", result.id));
    }
    result.data = Some(Measurement::Capacity(Box::new(Capacity {
        budget_ms: measurement::ms(params.budget),
        capacity: found.good,
        classification: classify(found.good, max).name().to_string(),
        max,
        max_note,
        sleep_ms: measurement::ms(params.sleep),
        steps: steps.iter().map(Step::data).collect(),
        timeline_fast_ms: shown.map(Step::fast_ms),
        timeline_k: shown.map(|s| s.k),
    })));
    result
}

/// The search's result in words: the capacity, the design it looks like, every step.
fn describe(
    found: &Found,
    max: usize,
    params: &Params,
    steps: &[Step],
    shown: Option<&Step>,
) -> String {
    let classification = classify(found.good, max);
    let good = slow_requests(found.good);
    let budget = human(params.budget);
    let mut detail = match (found.bad, &found.stopped) {
        (_, Some(stop)) => format!("capacity at least {good} at once; the search stopped: {stop}"),
        (Some(bad), None) => format!(
            "capacity: {good} at once, the largest K at which every fast GET / request \
             met the {budget} budget (K = {bad} delayed them); this looks like {}",
            classification.describe()
        ),
        (None, None) => format!(
            "capacity: {good} at once, the maximum tried: every fast GET / request met the {budget} budget \
             at every K; this looks like {}",
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
    detail
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

    /// A server of capacity `c` (holds for K <= c): the search finds it, trying few Ks.
    fn searched(capacity: usize, max: usize) -> (Found, Vec<usize>) {
        let mut tried = Vec::new();
        let found = bisect(max, |k| {
            tried.push(k);
            Ok(k <= capacity)
        });
        (found, tried)
    }

    #[test]
    fn the_bisection_finds_the_capacity_by_doubling_then_halving() {
        for (capacity, max) in [
            (0, 1024),
            (1, 1024),
            (3, 1024),
            (255, 1024),
            (1024, 1024),
            (5, 6),
        ] {
            let (found, tried) = searched(capacity, max);
            assert_eq!(found.good, capacity.min(max), "capacity {capacity}");
            assert_eq!(found.bad.is_none(), capacity >= max, "capacity {capacity}");
            assert!(tried.len() <= 2 * 11, "{tried:?}");
            assert!(tried.windows(2).all(|w| w[0] != w[1]), "{tried:?}");
        }
        assert_eq!(searched(3, 1024).1, [1, 2, 4, 3]);
        assert_eq!(searched(0, 1024).1, [1]);
        assert_eq!(
            searched(1024, 1024).1.last(),
            Some(&1024),
            "the maximum is tried"
        );
        let stopped = bisect(1024, |k| if k < 8 { Ok(true) } else { Err("died".into()) });
        assert_eq!(
            (stopped.good, stopped.stopped.as_deref()),
            (4, Some("died"))
        );
    }
}
