//! The concurrency checks (group `concurrency`): a slow request must never delay a fast
//! one. Clients are surf requests through [`crate::kit::http::timed_client::TimedClient`] (one
//! fresh connection per request, never pooled, so the kit's own client is never the
//! bottleneck, with the instants each request connected, was fully sent, got its first
//! response byte and ended), plus raw TCP connections where surf cannot misbehave enough.
//!
//! # The checks
//!
//! | id | what | fails with |
//! | --- | --- | --- |
//! | `concurrency.sleep-is-slow` | a lone `GET /sleep` takes S ≥ 200 ms (calibration) | `sleep-not-slow`, `no-response`, `wrong-status` |
//! | `concurrency.slow-does-not-delay-fast` | K `GET /sleep` in flight (all fully sent), then n = 5 `GET /` spread over the first half of S: each answers 200 within the budget | `fast-request-delayed`, `fast-request-failed` |
//! | `concurrency.slow-requests-overlap` | the same load: each slow request answers 200 within 2 S of being sent (1.5 S for K = 2) | `slow-requests-serialized` |
//! | `concurrency.idle-client-does-not-delay-fast` | K silent connections, K trickling `GET /` a byte every 100 ms, K never reading their response; then the fast requests | `fast-request-delayed`, `fast-request-failed` |
//! | `concurrency.aborted-slow-request` | K clients leave halfway through `GET /sleep` (half FIN, half reset); a later `GET /sleep` still answers 200 within 2 S, then the fast requests meet the budget | `slow-request-failed`, `fast-request-*`, `server-died` |
//! | `concurrency.capacity` (with `--capacity`) | the largest K at which the fast requests still meet the budget: a measurement (`info`) | — |
//!
//! K defaults to max(16, 4 × CPUs) (`--slow K`); the kit raises its own soft open-file limit
//! to the hard one and lowers K, with a note, when K connections still do not fit. The
//! budget defaults to max(50 ms, S/10) (`--fast-budget`). Every timing threshold derives
//! from the measured S; the only constants are the 200 ms floor on S and the 50 ms floor of
//! the budget. The kit waits (with a 10 s deadline) until all K slow requests are fully sent
//! (their `sent` instant, not just spawned) before the first fast request; fast request i
//! of n starts at i·S/2n after that. A fast request is given up on after
//! max(2 × budget, min(`--timeout`, 2 S)), slow requests 2.5 S after the fast phase began.
//! A check is skipped, saying why, when no fresh server starts for it: a start-up
//! problem is not a verdict on the server's concurrency.
//!
//! # Timeline
//!
//! Each result carries a timeline: per request, on the check's one monotonic clock, when it
//! started, connected, was fully sent, got its first response byte and ended (the human
//! report draws it, the JSON report has the milliseconds). A late fast request says where
//! it waited: `connecting`, `waiting for the first response byte` or `receiving the rest`.
//! Beyond 12 requests of a role the timeline shows a sample (spread over the start order,
//! with the last to end); `data.slow_marks_ms` then has every slow request as
//! `[start, connected, sent, first_byte, end, status]`.
//!
//! # Calibration
//!
//! S is measured once per run, by `sleep-is-slow` or, when that check is not selected, by
//! the first concurrency check that needs it, and kept in [`State`]. When S is under
//! 200 ms (or `GET /sleep` does not answer 200) nothing can be judged: the other
//! concurrency checks are reported as `skip`.
//!
//! # Fresh servers
//!
//! A failed check leaves a server in a bad state (a sequential server still owes K × S of
//! sleeping). For a server the kit starts (`--server`, the bundled one), every concurrency
//! check and every re-run starts on a freshly restarted server, and the server is restarted
//! after a failure. A server at `--addr` cannot be restarted: its checks run one after
//! another on the same process, and a check is *skipped* ("needs a fresh server") once an
//! earlier one gave up on requests the server may still be working on; checks whose
//! requests all ended leave a clean server and the next check runs.
//!
//! # Noise
//!
//! The verdicts must not flip on a loaded machine. Broken servers miss by far: a
//! sequential server delays every fast request by at least the rest of S, a bounded pool or
//! a blocked executor by about S per round of slow requests, so every fast request of every
//! attempt misses. A correct server answers in a few milliseconds, 10–100× under the
//! budget, and misses only when the scheduler parks the server or the kit for longer than
//! the budget. So an attempt fails if any fast request misses, and a failed attempt is run
//! once more, on a fresh server where possible (for `--addr`, only when the first left no
//! request behind); the check fails only if the re-run fails too. The detail reports both
//! attempts. A sequential server fails every attempt, so it never passes. The same rule
//! holds for each step of the capacity search.
//!
//! Measured on a 2-core machine with both cores kept busy by two shell loops, 20 runs of
//! the group each (release build, S = 1 s, budget 100 ms): the reference server passed
//! 20/20 with K = 16 and 20/20 with K = 1000, never needing a re-run (slowest fast request
//! 41 ms and 45 ms; slowest slow request 1.19 S after being sent, limit 2 S);
//! `broken-server --flaw sequential` failed all four judged checks in 20/20 runs.

mod capacity;
mod checks;
mod limits;
mod load;
mod scenario;
mod timeline;

pub use capacity::{Classification, classify};
pub use limits::raise_open_file_limit;

use crate::kit::report::measurement;
use crate::kit::report::{CheckResult, Measurement, Verdict};
use crate::kit::run::context::{CheckInfo, Context};
pub use crate::kit::run::settings::{
    ConcurrencySettings, DEFAULT_MAX, MIN_BUDGET, MIN_SLEEP, default_slow,
};
use crate::kit::verdict::RuleId;
use checks::Attempt;
use scenario::Params;
use std::time::Duration;
use timeline::human;

pub const SLEEP_IS_SLOW: &str = "concurrency.sleep-is-slow";
pub const SLOW_DOES_NOT_DELAY_FAST: &str = "concurrency.slow-does-not-delay-fast";
pub const SLOW_REQUESTS_OVERLAP: &str = "concurrency.slow-requests-overlap";
pub const IDLE_CLIENT_DOES_NOT_DELAY_FAST: &str = "concurrency.idle-client-does-not-delay-fast";
pub const ABORTED_SLOW_REQUEST: &str = "concurrency.aborted-slow-request";
pub const CAPACITY_SURVIVES_BAD_CLIENTS: &str = "concurrency.capacity-survives-bad-clients";
/// Bad clients per unit of K in `capacity-survives-bad-clients`: a pool of K workers loses
/// them all even if only one bad client in four kills one.
pub const BAD_CLIENTS_PER_K: usize = 4;
pub const CAPACITY: &str = "concurrency.capacity";

/// Fast requests per attempt.
pub const FAST_REQUESTS: usize = 5;
/// Bound on connecting, on each raw socket operation, and on the wait for a load to be in
/// place (SYN retries after a full accept queue take 1 s, then 3 s, then 7 s).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The checks of the group, in run order.
pub fn checks(settings: &ConcurrencySettings) -> Vec<CheckInfo> {
    let k = settings.k();
    let info = |id: &str, description: String| CheckInfo {
        id: id.to_string(),
        group: "concurrency",
        description,
    };
    let mut all = vec![
        info(
            SLEEP_IS_SLOW,
            format!(
                "a lone GET /sleep takes at least {}; its duration S sets every other concurrency threshold",
                human(MIN_SLEEP)
            ),
        ),
        info(
            SLOW_DOES_NOT_DELAY_FAST,
            format!(
                "with {k} GET /sleep requests in flight, {FAST_REQUESTS} fast GET / requests each answer within the fast budget"
            ),
        ),
        info(
            SLOW_REQUESTS_OVERLAP,
            format!(
                "{k} concurrent GET /sleep requests are served together: each answers within 2 S of being sent"
            ),
        ),
        info(
            IDLE_CLIENT_DOES_NOT_DELAY_FAST,
            format!(
                "{k} silent connections, {k} trickling a request and {k} never reading their response do not delay fast GET / requests"
            ),
        ),
        info(
            ABORTED_SLOW_REQUEST,
            format!(
                "{k} clients that leave in the middle of GET /sleep neither crash the server nor stop it serving"
            ),
        ),
        info(
            CAPACITY_SURVIVES_BAD_CLIENTS,
            format!(
                "after {} bad clients (connecting and leaving, a non-UTF-8 request line, a reset mid-request), {k} GET /sleep requests still do not delay fast GET / requests",
                BAD_CLIENTS_PER_K * k
            ),
        ),
    ];
    if settings.capacity {
        all.push(capacity_info(settings));
    }
    all
}

/// The capacity check, for `unblocked capacity`: run it through
/// `Check::...settings(s).only(&["concurrency.capacity"])` with `s.concurrency.capacity`
/// set, or call [`capacity`] with a [`Context`].
pub fn capacity_info(settings: &ConcurrencySettings) -> CheckInfo {
    CheckInfo {
        id: CAPACITY.to_string(),
        group: "concurrency",
        description: format!(
            "the largest number of concurrent GET /sleep requests (up to {}) at which fast GET / requests still meet the budget",
            settings.max()
        ),
    }
}

/// Runs one check of the group.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    match info.id.as_str() {
        SLEEP_IS_SLOW => calibration_check(ctx, info),
        CAPACITY => capacity(ctx, info),
        SLOW_DOES_NOT_DELAY_FAST
        | SLOW_REQUESTS_OVERLAP
        | IDLE_CLIENT_DOES_NOT_DELAY_FAST
        | ABORTED_SLOW_REQUEST
        | CAPACITY_SURVIVES_BAD_CLIENTS => judged_check(ctx, info),
        _ => {
            let mut result = new_result(info);
            result.verdict = Verdict::Skip;
            result.detail = format!("unknown concurrency check {}", info.id);
            result
        }
    }
}

/// The capacity search (`check --capacity`, `unblocked capacity`); its result is `info`
/// with the capacity, the fast latency at each step and a classification in `data`.
pub fn capacity(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = new_result(info);
    match prepare(ctx, &mut result) {
        Some(params) => capacity::search(ctx, params, result),
        None => result,
    }
}

fn new_result(info: &CheckInfo) -> CheckResult {
    CheckResult::new(info.id.clone(), info.group, info.description.clone())
}

/// Restarts the server when the kit started it, unless nothing has used it since it
/// started; a no-op for `--addr`.
fn fresh(ctx: &mut Context<'_>) -> Result<(), String> {
    if ctx.target.restartable() {
        ctx.target
            .restart_unless_fresh()
            .map_err(|e| format!("no fresh server started for it: {e}"))?;
    }
    Ok(())
}

/// Measures S on a fresh server and records it.
/// S, or why it could not be measured and the rule broken (`None`: no fresh server
/// started, a start-up problem rather than a verdict).
type Measured = Result<Duration, (String, Option<RuleId>)>;

fn calibrate(ctx: &mut Context<'_>) -> Measured {
    ctx.progress.step("measuring GET /sleep");
    let outcome = measure(ctx);
    ctx.calibration.sleep = Some(outcome.clone().map_err(|(text, _)| text));
    outcome
}

fn measure(ctx: &mut Context<'_>) -> Measured {
    fresh(ctx).map_err(|e| (e, None))?;
    let limit = ctx.settings.slow_timeout;
    let addr = ctx.target.addr();
    let landed = async_std::task::block_on(scenario::calibrate(addr, IO_TIMEOUT, limit));
    let outcome = match (&landed.outcome, landed.latency()) {
        (load::Outcome::Status(200), Some(s)) if s >= MIN_SLEEP => Ok(s),
        (load::Outcome::Status(200), Some(s)) => Err((
            format!(
                "a lone GET /sleep answered in {}, under {}: the route is not slow, so nothing else can be judged",
                human(s),
                human(MIN_SLEEP)
            ),
            Some(RuleId::SleepNotSlow),
        )),
        (load::Outcome::Status(status), _) => Err((
            format!("GET /sleep answered {status}, not 200"),
            Some(RuleId::WrongStatus),
        )),
        (load::Outcome::Error(e), _) => {
            Err((format!("GET /sleep failed: {e}"), Some(RuleId::NoResponse)))
        }
        (_, _) => Err((
            format!("GET /sleep got no response within {}", human(limit)),
            Some(RuleId::NoResponse),
        )),
    };
    if landed.gave_up() && !ctx.target.restartable() {
        ctx.calibration.tainted = Some("the kit gave up on GET /sleep during calibration".into());
    }
    outcome
}

fn calibration_check(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = new_result(info);
    match calibrate(ctx) {
        Ok(sleep) => {
            let budget = ctx.settings.concurrency.budget(sleep);
            result.detail = format!(
                "a lone GET /sleep took S = {}; fast budget {}; K = {}",
                human(sleep),
                human(budget),
                ctx.settings.concurrency.k()
            );
            result.data = Some(Measurement::Calibration {
                budget_ms: measurement::ms(budget),
                sleep_ms: measurement::ms(sleep),
            });
        }
        Err((text, None)) => {
            result.verdict = Verdict::Skip;
            result.detail = text;
        }
        Err((text, Some(rule))) => {
            result.verdict = Verdict::Fail;
            result.rule = Some(rule);
            result.detail = text;
        }
    }
    result
}

/// What every judged check needs first: a clean server and S. `None` (with the result set
/// to skip or fail) when the check cannot run.
fn prepare(ctx: &mut Context<'_>, result: &mut CheckResult) -> Option<Params> {
    if ctx.calibration.tainted.is_none() && ctx.calibration.sleep.is_none() {
        // Measured here when the calibration check is not selected; it fails there.
        let _ = calibrate(ctx);
    }
    if let Some(reason) = &ctx.calibration.tainted {
        result.verdict = Verdict::Skip;
        result.detail = format!(
            "needs a fresh server: {reason}, the server may still be working on it, and the kit \
             cannot restart a server it did not start (--addr)"
        );
        return None;
    }
    let sleep = match ctx.calibration.sleep.clone() {
        Some(Ok(sleep)) => sleep,
        None => unreachable!("calibrated above"),
        Some(Err(why)) => {
            result.verdict = Verdict::Skip;
            result.detail = format!("nothing can be judged: {why}");
            return None;
        }
    };
    let budget = ctx.settings.concurrency.budget(sleep);
    Some(Params {
        sleep,
        budget,
        fast: FAST_REQUESTS,
        fast_limit: (budget * 2).max(ctx.settings.timeout.min(sleep * 2)),
        io_timeout: IO_TIMEOUT,
    })
}

/// K for a check that opens `per_k` connections per unit of K.
fn fitted_k(ctx: &Context<'_>, per_k: usize, extra: usize) -> (usize, Option<String>) {
    limits::fit(ctx.settings.concurrency.k(), per_k, extra, "K")
}

/// Runs one attempt of a judged check.
fn attempt(ctx: &mut Context<'_>, id: &str, params: &Params, k: usize) -> Attempt {
    if id == CAPACITY_SURVIVES_BAD_CLIENTS {
        return capacity_attempt(ctx, params, k);
    }
    let addr = ctx.target.addr();
    async_std::task::block_on(async {
        match id {
            SLOW_DOES_NOT_DELAY_FAST => checks::slow_does_not_delay_fast(
                &scenario::slow_load(addr, params, k).await,
                params,
                k,
            ),
            SLOW_REQUESTS_OVERLAP => checks::slow_requests_overlap(
                &scenario::slow_load(addr, params, k).await,
                params,
                k,
            ),
            IDLE_CLIENT_DOES_NOT_DELAY_FAST => checks::idle_client_does_not_delay_fast(
                &scenario::idle_load(addr, params, k).await,
                params,
                k,
            ),
            _ => checks::aborted_slow_request(
                &scenario::aborted_load(addr, params, k).await,
                params,
                k,
            ),
        }
    })
}

/// `capacity-survives-bad-clients`: first the load the server carries without bad clients,
/// then the bad clients and the same load again. A load is carried when the fast requests
/// meet the budget *and* its slow requests were all served at once (a server that served
/// them one after another left fast ones alone by luck of where they queued): K, or else
/// one fewer than it served at once, measured again on a fresh server. Capacity lost is a
/// load carried before and not after; a server that carries none gets its failures from
/// the other checks, and this one says it could not be judged.
fn capacity_attempt(ctx: &mut Context<'_>, params: &Params, k: usize) -> Attempt {
    use async_std::task::block_on;
    let before = block_on(scenario::slow_load(ctx.target.addr(), params, k));
    let carried = match carried(&before, params, k) {
        Ok(()) => k,
        Err(why) => match carried_fewer(ctx, params, k, &before, why) {
            Ok(fewer) => fewer,
            Err(why) => return checks::capacity_unjudged(why, params, k),
        },
    };
    let run = block_on(scenario::bad_clients_then_slow_load(
        ctx.target.addr(),
        params,
        carried,
        BAD_CLIENTS_PER_K * k,
    ));
    checks::capacity_survives_bad_clients(&run, params, carried)
}

/// Whether the server carried `run`'s `k` slow requests, or why not.
fn carried(run: &scenario::SlowRun, params: &Params, k: usize) -> Result<(), String> {
    let together = checks::served_together(run, params);
    if !checks::judge_fast(&run.fast, params.budget).passed {
        Err(format!(
            "without bad clients, {k} slow requests already delayed fast ones (it served {together} at once)"
        ))
    } else if together < k {
        Err(format!(
            "without bad clients, it served only {together} of {k} slow requests at once"
        ))
    } else {
        Ok(())
    }
}

/// One fewer slow requests than the server served at once, on a fresh server (the first
/// load left it busy): the load to compare with, or why there is none.
fn carried_fewer(
    ctx: &mut Context<'_>,
    params: &Params,
    k: usize,
    before: &scenario::SlowRun,
    why: String,
) -> Result<usize, String> {
    let fewer = checks::served_together(before, params)
        .saturating_sub(1)
        .min(k - 1);
    if fewer == 0 {
        return Err(why);
    }
    if !ctx.target.restartable() {
        return Err(format!(
            "{why}, and a smaller load needs a fresh server, which the kit cannot start (--addr)"
        ));
    }
    if let Err(e) = ctx.target.restart() {
        return Err(format!("{why}, and no fresh server started: {e}"));
    }
    let again = async_std::task::block_on(scenario::slow_load(ctx.target.addr(), params, fewer));
    carried(&again, params, fewer).map_err(|also| format!("{why}; {also}"))?;
    Ok(fewer)
}

/// Runs `one` on a fresh server, and once more (fresh again where possible) if it failed;
/// the second verdict is final. Returns the attempts made.
fn with_rerun(
    ctx: &mut Context<'_>,
    id: &str,
    mut one: impl FnMut(&mut Context<'_>) -> Attempt,
) -> Result<Vec<Attempt>, String> {
    fresh(ctx)?;
    let first = one(ctx);
    // A figure worse than the baseline's counts only if a second attempt agrees.
    let regresses =
        ctx.settings.baseline.as_ref().is_some_and(|b| {
            b.regresses(id, Some(&Measurement::Load(Box::new(first.data.clone()))))
        });
    if (first.passed && !regresses) || !rerun_possible(ctx, &first) {
        return Ok(vec![first]);
    }
    fresh(ctx)?;
    let second = one(ctx);
    Ok(vec![first, second])
}

/// A failed attempt is run again unless the server died (the run reports that) or, at
/// `--addr`, the attempt left requests behind.
fn rerun_possible(ctx: &mut Context<'_>, failed: &Attempt) -> bool {
    ctx.target.exit_description().is_none() && (ctx.target.restartable() || failed.gave_up == 0)
}

/// After a check: restart a server left failing (if it is alive: a dead one is reported and
/// revived by the run), or remember that an `--addr` server may still be busy.
fn after(ctx: &mut Context<'_>, id: &str, last: &Attempt) {
    if last.passed {
        return;
    }
    if ctx.target.restartable() {
        if ctx.target.exit_description().is_none() {
            let _ = ctx.target.restart();
        }
    } else if last.gave_up > 0 {
        ctx.calibration.tainted = Some(format!("{id} gave up on {} request(s)", last.gave_up));
    }
}

fn judged_check(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = new_result(info);
    let Some(params) = prepare(ctx, &mut result) else {
        return result;
    };
    let id = info.id.as_str();
    let (k, k_note) = match id {
        IDLE_CLIENT_DOES_NOT_DELAY_FAST => fitted_k(ctx, 3, params.fast),
        CAPACITY_SURVIVES_BAD_CLIENTS => fitted_k(ctx, BAD_CLIENTS_PER_K, params.fast + 1),
        _ => fitted_k(ctx, 1, params.fast + 1),
    };
    if id == SLOW_REQUESTS_OVERLAP && k < 2 {
        result.verdict = Verdict::Skip;
        result.detail = format!("needs at least 2 slow requests to see them overlap (K = {k})");
        return result;
    }
    ctx.progress.step(&format!("{k} slow requests in flight"));
    let attempts = match with_rerun(ctx, id, |ctx| attempt(ctx, id, &params, k)) {
        Ok(attempts) => attempts,
        Err(e) => {
            result.verdict = Verdict::Skip;
            result.detail = e;
            return result;
        }
    };
    let last = attempts.last().expect("at least one attempt");
    after(ctx, id, last);
    fill(&mut result, &attempts, ctx.target.restartable());
    if let Some(note) = k_note {
        result.detail.push_str(&format!("\n{note}"));
        if let Some(Measurement::Load(load)) = &mut result.data {
            load.k_note = Some(note.clone());
        }
        ctx.note(format!("{id}: {note}"));
    }
    result
}

/// The result from the attempts: the last one's verdict, timeline and data; the detail
/// tells both when there was a re-run.
fn fill(result: &mut CheckResult, attempts: &[Attempt], restartable: bool) {
    let last = attempts.last().expect("at least one attempt");
    result.verdict = match (&last.unjudged, last.passed) {
        (Some(_), _) => Verdict::Skip,
        (None, true) => Verdict::Pass,
        (None, false) => Verdict::Fail,
    };
    result.rule = last.rule;
    result.timeline = last.timeline.clone();
    let mut data = last.data.clone();
    data.attempts = Some(attempts.len());
    result.detail = match attempts {
        [only] => only.summary.clone(),
        [first, second] => {
            data.first_attempt = Some(first.summary.clone());
            data.first_attempt_data = Some(Box::new(first.data.clone()));
            if second.passed && first.queued && !first.passed {
                // The attempt that saw it is the evidence.
                result.verdict = Verdict::Fail;
                result.rule = first.rule;
                result.timeline = first.timeline.clone();
            }
            two_attempts(first, second, restartable)
        }
        _ => unreachable!("one or two attempts"),
    };
    result.data = Some(Measurement::Load(Box::new(data)));
}

/// What two attempts say together.
fn two_attempts(first: &Attempt, second: &Attempt, restartable: bool) -> String {
    let on = if restartable {
        " on a fresh server"
    } else {
        ""
    };
    if first.passed {
        format!(
            "{}\n(run twice: the first attempt's figures were worse than the baseline's, so a second attempt was made; the first attempt: {})",
            second.summary, first.summary
        )
    } else if second.passed && first.queued {
        format!(
            "{}\n(failed in one of two attempts: a fast request waited about as long as a slow one, \
             which no scheduling noise does, so the server sometimes serves fast requests behind \
             slow ones (as a pool of workers that each take connections in batches does); \
             the re-run{on} passed: {})",
            first.summary, second.summary
        )
    } else if second.passed {
        format!(
            "{}\n(a first attempt failed and the re-run{on} passed, so that failure is taken for \
             scheduling noise; the first attempt: {})",
            second.summary, first.summary
        )
    } else {
        format!(
            "{}\n(failed twice: a first attempt and a re-run{on}; this is the re-run, data.first_attempt has the first)",
            second.summary
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_has_stable_ids_and_capacity_only_on_request() {
        let plain = checks(&ConcurrencySettings::default());
        let ids: Vec<&str> = plain.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                SLEEP_IS_SLOW,
                SLOW_DOES_NOT_DELAY_FAST,
                SLOW_REQUESTS_OVERLAP,
                IDLE_CLIENT_DOES_NOT_DELAY_FAST,
                ABORTED_SLOW_REQUEST,
                CAPACITY_SURVIVES_BAD_CLIENTS
            ]
        );
        assert!(plain.iter().all(|c| c.group == "concurrency"));
        let with = checks(&ConcurrencySettings {
            capacity: true,
            slow: Some(7),
            ..Default::default()
        });
        assert_eq!(with.last().unwrap().id, CAPACITY);
        assert!(with[1].description.contains("with 7 GET /sleep"));
    }

    #[test]
    fn a_rerun_is_reported_with_both_attempts() {
        let failed = Attempt {
            summary: "one was late".into(),
            rule: Some(RuleId::FastRequestDelayed),
            ..Attempt::default()
        };
        let passed = Attempt {
            passed: true,
            summary: "all in time".into(),
            ..Attempt::default()
        };
        let mut result = CheckResult::new("concurrency.x", "concurrency", "d");
        fill(&mut result, &[failed.clone(), passed], true);
        assert_eq!(result.verdict, Verdict::Pass);
        assert_eq!(result.rule, None);
        assert!(
            result.detail.starts_with("all in time\n"),
            "{}",
            result.detail
        );
        assert!(
            result
                .detail
                .contains("the re-run on a fresh server passed")
        );
        assert!(result.detail.contains("the first attempt: one was late"));
        assert_eq!(result.load().unwrap().attempts, Some(2));
        fill(&mut result, &[failed.clone(), failed], false);
        assert_eq!(result.verdict, Verdict::Fail);
        assert_eq!(result.rule, Some(RuleId::FastRequestDelayed));
        assert!(
            result
                .detail
                .contains("failed twice: a first attempt and a re-run;"),
            "{}",
            result.detail
        );
        assert_eq!(
            result.load().unwrap().first_attempt.as_deref(),
            Some("one was late")
        );
    }

    #[test]
    fn a_retry_excuses_noise_but_not_a_fast_request_queued_behind_a_slow_one() {
        let queued = Attempt {
            summary: "fast 1 took 900 ms".into(),
            rule: Some(RuleId::FastRequestDelayed),
            queued: true,
            ..Attempt::default()
        };
        let passed = Attempt {
            passed: true,
            summary: "all in time".into(),
            ..Attempt::default()
        };
        let mut result = CheckResult::new("concurrency.x", "concurrency", "d");
        fill(&mut result, &[queued, passed.clone()], true);
        assert_eq!(result.verdict, Verdict::Fail, "{}", result.detail);
        assert_eq!(result.rule, Some(RuleId::FastRequestDelayed));
        assert!(
            result.detail.starts_with("fast 1 took 900 ms"),
            "{}",
            result.detail
        );
        assert!(
            result.detail.contains("no scheduling noise does"),
            "{}",
            result.detail
        );
        let unjudged = Attempt {
            passed: true,
            unjudged: Some("nothing to compare".into()),
            ..Attempt::default()
        };
        fill(&mut result, &[unjudged], true);
        assert_eq!(result.verdict, Verdict::Skip);
    }

    #[test]
    fn a_queued_delay_is_half_a_sleep_and_at_least_five_budgets() {
        let params = |sleep: u64, budget: u64| scenario::Params {
            sleep: Duration::from_millis(sleep),
            budget: Duration::from_millis(budget),
            fast: FAST_REQUESTS,
            fast_limit: Duration::from_secs(2),
            io_timeout: IO_TIMEOUT,
        };
        assert_eq!(params(1000, 100).queued_delay(), Duration::from_millis(500));
        assert_eq!(params(200, 50).queued_delay(), Duration::from_millis(250));
    }
}
