//! Judging one attempt of a check from what its scenario saw. Pure functions of the
//! clients' marks and outcomes, so each rule is tested without a server.

use super::load::BadClient;
use super::load::{Landed, Outcome, Role};
use super::scenario::{AbortRun, BadRun, IdleRun, Params, SlowRun, overlap_limit};
use super::timeline::{self, human};
use crate::kit::report::TimelineEntry;
use crate::kit::report::measurement::{self, Load};
use crate::kit::verdict::RuleId;
use std::time::Duration;

/// One run of a check's scenario, judged.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub passed: bool,
    /// The broken rule, when not passed.
    pub rule: Option<RuleId>,
    /// What happened, in a sentence or two.
    pub summary: String,
    pub timeline: Vec<TimelineEntry>,
    pub data: Load,
    /// Requests the kit gave up on: the server may still be working on them.
    pub gave_up: usize,
    /// Why nothing could be judged (the check is skipped, not passed or failed).
    pub unjudged: Option<String>,
    /// A fast request waited about as long as a slow one ([`Params::queued_delay`]): not
    /// scheduling noise, but a server that served it behind a slow request.
    pub queued: bool,
}

/// The verdict on the fast requests of an attempt.
#[derive(Debug, Clone)]
pub struct FastJudgement {
    pub passed: bool,
    pub rule: Option<RuleId>,
    pub text: String,
    /// Per request: it missed the budget (as opposed to passing, or failing otherwise).
    pub late: Vec<bool>,
    /// Per request: start to end (or to when the kit gave up), in ms.
    pub latencies: Vec<Option<f64>>,
    /// The slowest fast request (or how long the kit waited for it).
    pub slowest: Duration,
}

impl FastJudgement {
    /// Whether a fast request waited as one queued behind a slow request does.
    pub fn queued(&self, params: &Params) -> bool {
        !self.passed && self.slowest >= params.queued_delay()
    }
}

/// Every fast request must answer 200 within the budget.
pub fn judge_fast(fast: &[Landed], budget: Duration) -> FastJudgement {
    let mut late = Vec::new();
    let mut problems = Vec::new();
    // Where each late request waited: (how long, "waiting for the first response byte", gave up).
    let mut phases = Vec::new();
    let mut slowest = Duration::ZERO;
    for request in fast {
        let latency = request.latency().unwrap_or_default();
        slowest = slowest.max(latency);
        let problem = match &request.outcome {
            Outcome::Status(200) if latency <= budget => None,
            Outcome::Status(200) => Some((true, format!("took {}", human(latency)))),
            Outcome::Status(status) => {
                Some((false, format!("answered {status} after {}", human(latency))))
            }
            Outcome::Error(error) => {
                Some((false, format!("failed after {}: {error}", human(latency))))
            }
            Outcome::GaveUp(_) | Outcome::Closed(_) => {
                Some((true, format!("had no response within {}", human(latency))))
            }
        };
        late.push(matches!(problem, Some((true, _))));
        if let Some((is_late, text)) = problem {
            let phase = if is_late {
                timeline::wait_phase(request)
            } else {
                None
            };
            phases.extend(phase);
            problems.push((request.label.clone(), text, phase));
        }
    }
    let n = fast.len();
    let latencies = fast
        .iter()
        .map(|r| r.latency().map(measurement::ms))
        .collect();
    if problems.is_empty() {
        return FastJudgement {
            passed: true,
            rule: None,
            text: format!(
                "all {n} fast GET / requests answered 200 within the {} budget (slowest: {})",
                human(budget),
                human(slowest)
            ),
            late,
            latencies,
            slowest,
        };
    }
    let first_phase = phases.first().map(|p| p.1);
    let one_phase = phases.iter().all(|p| Some(p.1) == first_phase);
    let listed: Vec<String> = problems
        .iter()
        .map(|(label, text, phase)| match (phase, one_phase) {
            (Some((spent, phase, _)), false) => {
                format!("{label} {text} ({} {phase})", human(*spent))
            }
            _ => format!("{label} {text}"),
        })
        .collect();
    let common = match first_phase {
        Some(phase) if one_phase => {
            let who = if phases.len() == 1 {
                "it was"
            } else {
                "they were"
            };
            format!("; {who} {phase} most of the time")
        }
        _ => String::new(),
    };
    FastJudgement {
        passed: false,
        rule: Some(if late.contains(&true) {
            RuleId::FastRequestDelayed
        } else {
            RuleId::FastRequestFailed
        }),
        text: format!(
            "{} of {n} fast GET / requests missed the {} budget: {}{common}",
            problems.len(),
            human(budget),
            listed.join(", ")
        ),
        late,
        latencies,
        slowest,
    }
}

/// The facts every attempt reports.
fn base_data(params: &Params, k: usize) -> Load {
    Load::new(k, params.sleep, params.budget)
}

fn gave_up(requests: &[Landed]) -> usize {
    requests.iter().filter(|r| r.gave_up()).count()
}

/// The timeline of a slow load: the slow requests (sampled) and every fast one.
fn slow_timeline(run: &SlowRun, fast: &FastJudgement, data: &mut Load) -> Vec<TimelineEntry> {
    let (mut rows, note) = timeline::sampled(&run.slow, Role::Slow);
    if let Some(note) = note {
        data.timeline_note = Some(format!("{note}; slow_marks_ms has them all"));
        data.slow_marks_ms = Some(run.slow.iter().map(timeline::raw_marks).collect());
    }
    rows.extend(
        run.fast
            .iter()
            .zip(&fast.late)
            .map(|(f, &late)| timeline::entry(f, late)),
    );
    rows
}

fn unsent_note(unsent: usize, k: usize, what: &str, params: &Params) -> String {
    if unsent == 0 {
        String::new()
    } else {
        format!(
            " ({unsent} of the {k} {what} were still not in place after {}; the fast requests went anyway)",
            human(params.io_timeout)
        )
    }
}

/// `concurrency.slow-does-not-delay-fast`.
pub fn slow_does_not_delay_fast(run: &SlowRun, params: &Params, k: usize) -> Attempt {
    let fast = judge_fast(&run.fast, params.budget);
    let mut data = base_data(params, k);
    data.fast_ms = Some(fast.latencies.clone());
    data.all_sent_ms = Some(measurement::ms(run.t0));
    data.unsent = Some(run.unsent);
    let timeline = slow_timeline(run, &fast, &mut data);
    Attempt {
        passed: fast.passed,
        rule: fast.rule,
        summary: format!(
            "with {k} GET /sleep requests in flight (S = {}), {}{}",
            human(params.sleep),
            fast.text,
            unsent_note(run.unsent, k, "slow requests", params)
        ),
        timeline,
        data,
        gave_up: gave_up(&run.slow) + gave_up(&run.fast),
        unjudged: None,
        queued: fast.queued(params),
    }
}

/// How many slow requests the server served at once, as one load shows it: those answered
/// within 1.5 S of being sent (a pool of W answers W at about S, the next W at about 2 S).
pub fn served_together(run: &SlowRun, params: &Params) -> usize {
    let first_round = params.sleep + params.sleep / 2;
    run.slow
        .iter()
        .filter(|r| r.status() == Some(200))
        .filter(|r| {
            r.marks
                .sent
                .zip(r.last_instant())
                .is_some_and(|(sent, end)| end.saturating_sub(sent) <= first_round)
        })
        .count()
}

/// `concurrency.capacity-survives-bad-clients` when no load showed what the server carried
/// before the bad clients: nothing to compare with, so nothing is judged.
pub fn capacity_unjudged(why: String, params: &Params, k: usize) -> Attempt {
    Attempt {
        passed: true,
        summary: format!(
            "not judged: {why}; the capacity it has is judged by slow-does-not-delay-fast, and only capacity lost to bad clients by this check"
        ),
        data: base_data(params, k),
        unjudged: Some(why),
        ..Attempt::default()
    }
}

/// `concurrency.capacity-survives-bad-clients`: after a burst of bad clients, `carried`
/// slow requests (a load the server carried before them) still do not delay fast ones. A
/// pool whose workers die with the jobs that panic them (the book's `ThreadPool`) has lost
/// them by now; a pool that is merely small has lost nothing.
pub fn capacity_survives_bad_clients(run: &BadRun, params: &Params, carried: usize) -> Attempt {
    let k = carried;
    let fast = judge_fast(&run.load.fast, params.budget);
    let mut data = base_data(params, k);
    data.fast_ms = Some(fast.latencies.clone());
    let kinds: Vec<String> = BadClient::ALL
        .iter()
        .zip(run.sent)
        .map(|(kind, n)| format!("{n} {}", kind.name()))
        .collect();
    let total: usize = run.sent.iter().sum();
    data.bad_clients = Some(total);
    let [empty, non_utf8, reset] = run.sent;
    (
        data.bad_empty,
        data.bad_non_utf8,
        data.bad_reset_mid_request,
    ) = (Some(empty), Some(non_utf8), Some(reset));
    let (mut timeline, note) = timeline::sampled(&run.bad, Role::Bad);
    if let Some(note) = note {
        data.bad_timeline_note = Some(note);
    }
    timeline.extend(slow_timeline(&run.load, &fast, &mut data));
    let lost = if fast.passed {
        String::new()
    } else {
        format!(
            "; before the bad clients the same {k} slow requests did not delay them: the server lost capacity to the bad clients, as a pool whose workers die with the jobs that panic them does"
        )
    };
    Attempt {
        passed: fast.passed,
        rule: (!fast.passed).then_some(RuleId::CapacityLost),
        summary: format!(
            "after {total} bad clients ({}), with {k} GET /sleep requests in flight (S = {}), {}{lost}{}",
            kinds.join(", "),
            human(params.sleep),
            fast.text,
            unsent_note(run.load.unsent, k, "slow requests", params)
        ),
        timeline,
        data,
        gave_up: gave_up(&run.load.slow) + gave_up(&run.load.fast),
        unjudged: None,
        queued: fast.queued(params),
    }
}

/// `concurrency.slow-requests-overlap`: each slow request ends within the overlap limit of
/// being sent.
pub fn slow_requests_overlap(run: &SlowRun, params: &Params, k: usize) -> Attempt {
    let limit = overlap_limit(params.sleep, k);
    let mut problems = Vec::new();
    let mut slowest = Duration::ZERO;
    for request in &run.slow {
        let Some(sent) = request.marks.sent else {
            problems.push(format!("{} was never fully sent", request.label));
            continue;
        };
        let after = request.last_instant().unwrap_or(sent).saturating_sub(sent);
        slowest = slowest.max(after);
        match &request.outcome {
            Outcome::Status(200) if after <= limit => {}
            Outcome::Status(200) => problems.push(format!(
                "{} ended {} after being sent",
                request.label,
                human(after)
            )),
            Outcome::Status(status) => {
                problems.push(format!("{} answered {status}", request.label))
            }
            Outcome::Error(error) => problems.push(format!("{} failed: {error}", request.label)),
            Outcome::GaveUp(_) | Outcome::Closed(_) => problems.push(format!(
                "{} had no response {} after being sent",
                request.label,
                human(after)
            )),
        }
    }
    let fast = judge_fast(&run.fast, params.budget);
    let mut data = base_data(params, k);
    data.overlap_limit_ms = Some(measurement::ms(limit));
    data.slowest_after_sent_ms = Some(measurement::ms(slowest));
    let timeline = slow_timeline(run, &fast, &mut data);
    let first_start = run.slow.iter().filter_map(|r| r.marks.start).min();
    let last_answer = run
        .slow
        .iter()
        .filter(|r| r.status().is_some())
        .filter_map(|r| r.marks.end)
        .max();
    let span = match (first_start, last_answer) {
        (Some(a), Some(b)) if !params.sleep.is_zero() => format!(
            "; the last answer came {:.1} S after the first request started",
            b.saturating_sub(a).as_secs_f64() / params.sleep.as_secs_f64()
        ),
        _ => String::new(),
    };
    let limit_text = format!("{} (S = {})", human(limit), human(params.sleep));
    let (passed, summary) = if problems.is_empty() {
        (
            true,
            format!(
                "all {k} concurrent GET /sleep requests answered 200 within {limit_text} of being sent (slowest: {}){span}",
                human(slowest)
            ),
        )
    } else {
        let shown = problems.len().min(5);
        let more = if problems.len() > shown {
            format!("; and {} more", problems.len() - shown)
        } else {
            String::new()
        };
        (
            false,
            format!(
                "{} of {k} concurrent GET /sleep requests did not answer 200 within {limit_text} of being sent, \
                 as when they are served one after another or a few at a time: {}{more}{span}",
                problems.len(),
                problems[..shown].join("; ")
            ),
        )
    };
    Attempt {
        passed,
        rule: (!passed).then_some(RuleId::SlowRequestsSerialized),
        summary: summary + &unsent_note(run.unsent, k, "slow requests", params),
        timeline,
        data,
        gave_up: gave_up(&run.slow) + gave_up(&run.fast),
        unjudged: None,
        queued: false,
    }
}

/// `concurrency.idle-client-does-not-delay-fast`.
pub fn idle_client_does_not_delay_fast(run: &IdleRun, params: &Params, k: usize) -> Attempt {
    let fast = judge_fast(&run.fast, params.budget);
    let mut data = base_data(params, k);
    data.fast_ms = Some(fast.latencies.clone());
    data.unready = Some(run.unready);
    let mut timeline = Vec::new();
    let mut notes = Vec::new();
    for role in [Role::Idle, Role::Trickle, Role::Unread] {
        let (rows, note) = timeline::sampled(&run.raw, role);
        timeline.extend(rows);
        notes.extend(note);
    }
    if !notes.is_empty() {
        data.timeline_note = Some(notes.join("; "));
    }
    timeline.extend(
        run.fast
            .iter()
            .zip(&fast.late)
            .map(|(f, &late)| timeline::entry(f, late)),
    );
    Attempt {
        passed: fast.passed,
        rule: fast.rule,
        summary: format!(
            "with {k} silent connections, {k} trickling a request one byte every {} and {k} never reading their response, {}{}",
            human(super::load::TRICKLE_PAUSE),
            fast.text,
            unsent_note(run.unready, 3 * k, "connections", params)
        ),
        timeline,
        data,
        gave_up: gave_up(&run.fast),
        unjudged: None,
        queued: fast.queued(params),
    }
}

/// `concurrency.aborted-slow-request`.
pub fn aborted_slow_request(run: &AbortRun, params: &Params, k: usize) -> Attempt {
    let limit = overlap_limit(params.sleep, 3);
    let fast = judge_fast(&run.fast, params.budget);
    let witness = &run.witness;
    let after_sent = witness
        .marks
        .sent
        .zip(witness.last_instant())
        .map(|(sent, end)| end.saturating_sub(sent));
    let witness_ok = witness.status() == Some(200) && after_sent.is_some_and(|d| d <= limit);
    let witness_text = match (&witness.outcome, after_sent) {
        (Outcome::Status(status), Some(d)) => {
            format!("answered {status} {} after being sent", human(d))
        }
        (Outcome::Error(e), _) => format!("failed: {e}"),
        (_, Some(d)) => format!("had no response {} after being sent", human(d)),
        (_, None) => "was never fully sent".to_string(),
    };
    let mut data = base_data(params, k);
    data.fast_ms = Some(fast.latencies.clone());
    data.witness_ms = Some(after_sent.map(measurement::ms));
    let (mut timeline, note) = timeline::sampled(&run.aborted, Role::Aborted);
    if let Some(note) = note {
        data.timeline_note = Some(note);
    }
    timeline.push(timeline::entry(witness, false));
    timeline.extend(
        run.fast
            .iter()
            .zip(&fast.late)
            .map(|(f, &late)| timeline::entry(f, late)),
    );
    let resets = k / 2;
    let passed = witness_ok && fast.passed;
    let rule = if !witness_ok {
        Some(RuleId::SlowRequestFailed)
    } else {
        fast.rule
    };
    let witness_verdict = if witness_ok {
        String::new()
    } else {
        format!(
            " (it must answer 200 within {} of being sent)",
            human(limit)
        )
    };
    Attempt {
        passed,
        rule,
        summary: format!(
            "{k} clients sent GET /sleep and left halfway through S = {} ({} with a FIN, {resets} with a reset); \
             a GET /sleep sent after them {witness_text}{witness_verdict}; afterwards {}{}",
            human(params.sleep),
            k - resets,
            fast.text,
            unsent_note(run.unready, k + 1, "slow requests", params)
        ),
        timeline,
        data,
        gave_up: gave_up(std::slice::from_ref(witness)) + gave_up(&run.fast),
        unjudged: None,
        queued: fast.queued(params),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::http::timed_client::Marks;

    fn at(ms: u64) -> Option<Duration> {
        Some(Duration::from_millis(ms))
    }

    fn request(
        role: Role,
        label: &str,
        start: u64,
        sent: u64,
        end: u64,
        outcome: Outcome,
    ) -> Landed {
        Landed {
            label: label.into(),
            role,
            marks: Marks {
                start: at(start),
                connected: at(start),
                sent: at(sent),
                first_byte: at(end),
                end: at(end),
            },
            outcome,
        }
    }

    fn params() -> Params {
        Params {
            sleep: Duration::from_millis(1000),
            budget: Duration::from_millis(100),
            fast: 2,
            fast_limit: Duration::from_secs(2),
            io_timeout: Duration::from_secs(10),
        }
    }

    fn slow_run(slow_ends: &[u64], fast: Vec<Landed>) -> SlowRun {
        SlowRun {
            slow: slow_ends
                .iter()
                .enumerate()
                .map(|(i, &end)| {
                    request(
                        Role::Slow,
                        &format!("slow {}", i + 1),
                        0,
                        5,
                        end,
                        Outcome::Status(200),
                    )
                })
                .collect(),
            fast,
            unsent: 0,
            t0: Duration::from_millis(5),
        }
    }

    #[test]
    fn one_late_fast_request_fails_and_says_where_it_waited() {
        let fast = vec![
            request(Role::Fast, "fast 1", 100, 100, 103, Outcome::Status(200)),
            request(Role::Fast, "fast 2", 200, 200, 1005, Outcome::Status(200)),
        ];
        let attempt = slow_does_not_delay_fast(&slow_run(&[1005, 1006], fast), &params(), 2);
        assert!(!attempt.passed);
        assert_eq!(attempt.rule, Some(RuleId::FastRequestDelayed));
        assert!(
            attempt
                .summary
                .contains("1 of 2 fast GET / requests missed the 100 ms budget"),
            "{}",
            attempt.summary
        );
        assert!(
            attempt.summary.contains(
                "fast 2 took 805 ms; it was waiting for the first response byte most of the time"
            ),
            "{}",
            attempt.summary
        );
        let late = attempt
            .timeline
            .iter()
            .find(|e| e.label == "fast 2")
            .unwrap();
        assert!(
            late.waited
                .as_deref()
                .unwrap()
                .contains("waiting for the first response byte")
        );
        assert!(
            attempt
                .timeline
                .iter()
                .find(|e| e.label == "fast 1")
                .unwrap()
                .waited
                .is_none()
        );
        assert_eq!(attempt.data.fast_ms.as_ref().unwrap()[1], Some(805.0));
    }

    #[test]
    fn fast_requests_within_budget_pass_and_wrong_statuses_fail() {
        let good = vec![request(
            Role::Fast,
            "fast 1",
            100,
            100,
            200,
            Outcome::Status(200),
        )];
        let attempt = slow_does_not_delay_fast(&slow_run(&[1005], good), &params(), 1);
        assert!(attempt.passed, "{}", attempt.summary);
        assert!(attempt.summary.contains("slowest: 100 ms"));
        let refused = vec![request(
            Role::Fast,
            "fast 1",
            100,
            100,
            101,
            Outcome::Status(503),
        )];
        let judged = judge_fast(&refused, Duration::from_millis(100));
        assert_eq!(
            (judged.passed, judged.rule),
            (false, Some(RuleId::FastRequestFailed))
        );
        let gave_up = vec![Landed {
            outcome: Outcome::GaveUp(Duration::from_millis(2100)),
            marks: Marks {
                start: at(100),
                connected: at(100),
                sent: at(100),
                ..Marks::default()
            },
            ..refused[0].clone()
        }];
        let judged = judge_fast(&gave_up, Duration::from_millis(100));
        assert_eq!(judged.rule, Some(RuleId::FastRequestDelayed));
        assert!(judged.text.contains("fast 1 had no response within 2.00 s; it was waiting for the first response byte most of the time"), "{}", judged.text);
    }

    #[test]
    fn serialized_slow_requests_fail_the_overlap_check() {
        let overlapping = slow_run(&[1005, 1010, 1020, 1900], Vec::new());
        let attempt = slow_requests_overlap(&overlapping, &params(), 4);
        assert!(attempt.passed, "{}", attempt.summary);
        let serial = slow_run(&[1005, 2005, 3005, 4005], Vec::new());
        let attempt = slow_requests_overlap(&serial, &params(), 4);
        assert!(!attempt.passed);
        assert_eq!(attempt.rule, Some(RuleId::SlowRequestsSerialized));
        assert!(attempt.summary.contains("2 of 4"), "{}", attempt.summary);
        assert!(
            attempt
                .summary
                .contains("the last answer came 4.0 S after the first request started"),
            "{}",
            attempt.summary
        );
    }

    #[test]
    fn a_failed_witness_fails_the_aborted_check() {
        let run = AbortRun {
            aborted: vec![request(
                Role::Aborted,
                "aborted 1",
                0,
                1,
                500,
                Outcome::Closed(Duration::from_millis(500)),
            )],
            witness: request(
                Role::Slow,
                "witness",
                2,
                3,
                3,
                Outcome::Error("reset".into()),
            ),
            fast: vec![request(
                Role::Fast,
                "fast 1",
                1100,
                1100,
                1101,
                Outcome::Status(200),
            )],
            unready: 0,
        };
        let attempt = aborted_slow_request(&run, &params(), 1);
        assert!(!attempt.passed);
        assert_eq!(attempt.rule, Some(RuleId::SlowRequestFailed));
        assert!(
            attempt.summary.contains("failed: reset"),
            "{}",
            attempt.summary
        );
        let healthy = AbortRun {
            witness: request(Role::Slow, "witness", 2, 3, 1003, Outcome::Status(200)),
            ..run
        };
        assert!(aborted_slow_request(&healthy, &params(), 1).passed);
    }
}
