//! The concurrency group against real servers, through the library: the reference server
//! (or `UNBLOCKED_SERVER='COMMAND {port}'`) passes every check, K = 1000 included, and
//! reaches the maximum capacity; each broken server fails the check its flaw breaks.
//!
//! Tests that expect a pass take the CPU lock exclusively, so that no other test of this
//! file loads the cores meanwhile; tests of broken servers share it (they miss by far, and
//! the kit re-runs a failed attempt anyway). K derives from the open-file limit when it
//! is low.

mod common;

use common::{ServerProcess, bin_command, open_file_hard_limit};
use serde_json::Value;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use unblocked::kit::checks::concurrency::{
    ABORTED_SLOW_REQUEST, CAPACITY, CAPACITY_SURVIVES_BAD_CLIENTS, IDLE_CLIENT_DOES_NOT_DELAY_FAST,
    SLEEP_IS_SLOW, SLOW_DOES_NOT_DELAY_FAST, SLOW_REQUESTS_OVERLAP,
};
use unblocked::kit::report::{CheckResult, Report, Verdict, human};
use unblocked::kit::run::check::{Check, Settings};

static CPU: RwLock<()> = RwLock::new(());

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    CPU.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn shared() -> RwLockReadGuard<'static, ()> {
    CPU.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Descriptors left for everything but the connections (the kit's and the server's).
const FD_RESERVE: u64 = 400;

/// `wanted` units of `per_k` connections each; a machine whose open-file limit cannot hold
/// them fails the test, loudly, rather than letting it pass for a smaller K than its name.
fn fitting(wanted: usize, per_k: u64) -> usize {
    let room = open_file_hard_limit().saturating_sub(FD_RESERVE) / per_k;
    assert!(
        room >= wanted as u64,
        "the open-file hard limit {} holds K = {room}, not {wanted}: raise it (ulimit -Hn)",
        open_file_hard_limit()
    );
    wanted
}

/// The server under test: `UNBLOCKED_SERVER`, or the reference server sleeping `sleep`.
fn server_under_test(sleep: &str) -> String {
    std::env::var("UNBLOCKED_SERVER").unwrap_or_else(|_| {
        bin_command(
            "hello-server",
            &format!("--bind 127.0.0.1:{{port}} --quiet --sleep {sleep}"),
        )
    })
}

fn broken(flaw: &str, sleep: &str) -> String {
    bin_command(
        "broken-server",
        &format!("--bind 127.0.0.1:{{port}} --sleep {sleep} --flaw {flaw}"),
    )
}

fn settings(k: Option<usize>) -> Settings {
    let mut settings = Settings::default();
    settings.concurrency.slow = k;
    settings
}

fn run(check: Check) -> Report {
    check.run().expect("the server starts")
}

fn result<'r>(report: &'r Report, id: &str) -> &'r CheckResult {
    report.check(id).unwrap_or_else(|| {
        panic!(
            "no {id} in:\n{}",
            human::render(report, &human::Style::plain())
        )
    })
}

#[track_caller]
fn assert_verdict(report: &Report, id: &str, verdict: Verdict, rule: Option<&str>) {
    let check = result(report, id);
    if check.verdict != verdict || check.rule.map(|r| r.name()) != rule {
        let verbose = human::Style {
            verbose: true,
            ..human::Style::plain()
        };
        panic!(
            "{id}: expected {verdict:?} {rule:?}, got {:?} {:?}\n{}",
            check.verdict,
            check.rule,
            human::render(report, &verbose)
        );
    }
}

fn number(check: &CheckResult, key: &str) -> f64 {
    check
        .data_json()
        .get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{key} in {:?}", check.data))
}

/// Prints the measured latencies, for the record (`cargo test -- --nocapture`).
fn log(report: &Report) {
    for check in &report.checks {
        let fast = check
            .data_json()
            .get("fast_ms")
            .map(Value::to_string)
            .unwrap_or_default();
        eprintln!(
            "{} {:?} {} ms; fast_ms {fast}",
            check.id,
            check.verdict,
            check.duration.as_millis()
        );
    }
}

#[test]
fn the_server_under_test_passes_every_concurrency_check_with_k_1000() {
    let _cpu = exclusive();
    let k = fitting(1000, 3);
    let report = run(Check::server(&server_under_test("1s"))
        .settings(settings(Some(k)))
        .only(&["concurrency"]));
    log(&report);
    for id in [
        SLEEP_IS_SLOW,
        SLOW_DOES_NOT_DELAY_FAST,
        SLOW_REQUESTS_OVERLAP,
        IDLE_CLIENT_DOES_NOT_DELAY_FAST,
        ABORTED_SLOW_REQUEST,
    ] {
        assert_verdict(&report, id, Verdict::Pass, None);
    }
    let fast = result(&report, SLOW_DOES_NOT_DELAY_FAST);
    assert_eq!(
        number(fast, "k") as usize,
        k,
        "K was not lowered: {:?}",
        fast.data_json().get("k_note")
    );
    let budget = number(fast, "budget_ms");
    let fast_data = fast.data_json();
    let latencies = fast_data["fast_ms"].as_array().expect("fast_ms");
    assert_eq!(latencies.len(), 5);
    assert!(
        latencies
            .iter()
            .all(|ms| ms.as_f64().is_some_and(|ms| ms <= budget)),
        "{latencies:?}"
    );
    // The timeline: every fast request, a sample of the slow ones, all of them in the data.
    let roles = |role: &str| fast.timeline.iter().filter(|e| e.role == role).count();
    assert_eq!(roles("fast"), 5);
    assert!((1..=12).contains(&roles("slow")), "{}", roles("slow"));
    let marks = fast_data["slow_marks_ms"]
        .as_array()
        .expect("slow_marks_ms");
    assert_eq!(marks.len(), k);
    let entry = fast.timeline.iter().find(|e| e.role == "fast").unwrap();
    assert!(
        entry.start <= entry.connected
            && entry.connected <= entry.sent
            && entry.sent <= entry.first_byte
    );
    assert!(entry.first_byte <= entry.end && entry.end.is_some() && entry.waited.is_none());
    // Every slow request was fully sent before the first fast one started.
    let first_fast = fast
        .timeline
        .iter()
        .filter(|e| e.role == "fast")
        .filter_map(|e| e.start)
        .min();
    let first_fast = first_fast.expect("the fast requests started");
    let sent: Vec<f64> = marks.iter().filter_map(|m| m[2].as_f64()).collect();
    assert_eq!(sent.len(), k, "every slow request has its sent mark");
    let last_sent = sent.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        last_sent <= first_fast.as_secs_f64() * 1000.0,
        "{last_sent} ms"
    );
}

#[test]
fn the_server_under_test_has_the_maximum_capacity() {
    let _cpu = exclusive();
    let max = fitting(1024, 1);
    let mut settings = settings(None);
    settings.concurrency.capacity = true;
    settings.concurrency.max = Some(max);
    // S = 1 s gives fast requests a 100 ms budget (S/10): on a busy 2-core machine 1024
    // connections have made a fast answer take 45 ms, too close to the 50 ms of a shorter S.
    let report = run(Check::server(&server_under_test("1s"))
        .settings(settings)
        .only(&[CAPACITY]));
    let capacity = result(&report, CAPACITY);
    eprintln!(
        "{}\n{:?}",
        capacity.detail,
        capacity.data_json().get("steps")
    );
    assert_verdict(&report, CAPACITY, Verdict::Info, None);
    assert_eq!(
        number(capacity, "capacity") as usize,
        max,
        "{}",
        capacity.detail
    );
    assert_eq!(capacity.data_json()["classification"], "per-connection");
    // Doubling from 1: 1, 2, 4, ... and the maximum itself.
    let capacity_data = capacity.data_json();
    let steps = capacity_data["steps"].as_array().unwrap();
    assert_eq!(steps[0]["k"], 1);
    assert_eq!(steps.last().unwrap()["k"].as_u64(), Some(max as u64));
}

#[test]
fn a_correct_book_style_server_passes_every_concurrency_check() {
    let _cpu = exclusive();
    let report = run(Check::server(&broken("none", "500ms")).only(&["concurrency"]));
    log(&report);
    for check in &report.checks {
        assert_verdict(&report, &check.id, Verdict::Pass, None);
    }
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            SLEEP_IS_SLOW,
            SLOW_DOES_NOT_DELAY_FAST,
            SLOW_REQUESTS_OVERLAP,
            IDLE_CLIENT_DOES_NOT_DELAY_FAST,
            ABORTED_SLOW_REQUEST,
            CAPACITY_SURVIVES_BAD_CLIENTS,
        ]
    );
}

/// The checks that judge how a server serves (not its capacity), with K = 4, logged.
fn serving_checks(command: &str) -> Report {
    let report = run(Check::server(command).settings(settings(Some(4))).only(&[
        SLEEP_IS_SLOW,
        SLOW_DOES_NOT_DELAY_FAST,
        SLOW_REQUESTS_OVERLAP,
        IDLE_CLIENT_DOES_NOT_DELAY_FAST,
    ]));
    log(&report);
    report
}

#[test]
fn a_server_that_awaits_each_connection_fails_fast_overlap_and_idle() {
    let _cpu = shared();
    let report = serving_checks(&broken("sequential", "300ms"));
    assert_verdict(&report, SLEEP_IS_SLOW, Verdict::Pass, None);
    // A silent connection holds the accept loop: no fast request gets through.
    assert_verdict(
        &report,
        IDLE_CLIENT_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
    assert_verdict(
        &report,
        SLOW_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
    assert_verdict(
        &report,
        SLOW_REQUESTS_OVERLAP,
        Verdict::Fail,
        Some("slow-requests-serialized"),
    );
    let fast = result(&report, SLOW_DOES_NOT_DELAY_FAST);
    // Both attempts failed, and every fast request was late, each saying where it waited.
    assert_eq!(fast.data_json()["attempts"], 2);
    let late: Vec<_> = fast.timeline.iter().filter(|e| e.role == "fast").collect();
    assert_eq!(late.len(), 5);
    assert!(late.iter().all(|e| e.waited.is_some()), "{late:?}");
    assert!(
        fast.detail
            .contains("5 of 5 fast GET / requests missed the 50 ms budget"),
        "{}",
        fast.detail
    );
}

#[test]
fn a_server_that_reads_in_the_accept_loop_fails_only_the_idle_client_check() {
    // Exclusive: three of its checks must pass within their budgets.
    let _cpu = exclusive();
    let report = serving_checks(&broken("read-in-accept-loop", "300ms"));
    // Every request sends its bytes at once, so only a silent client exposes the flaw.
    assert_verdict(&report, SLEEP_IS_SLOW, Verdict::Pass, None);
    assert_verdict(&report, SLOW_DOES_NOT_DELAY_FAST, Verdict::Pass, None);
    assert_verdict(&report, SLOW_REQUESTS_OVERLAP, Verdict::Pass, None);
    assert_verdict(
        &report,
        IDLE_CLIENT_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
}

#[test]
fn a_pool_of_two_workers_fails_and_its_capacity_is_exactly_1() {
    let _cpu = shared();
    let mut settings = settings(Some(4));
    settings.concurrency.capacity = true;
    settings.concurrency.max = Some(8);
    let report = run(Check::server(&broken("pool-2", "300ms"))
        .settings(settings)
        .only(&[SLOW_DOES_NOT_DELAY_FAST, CAPACITY]));
    log(&report);
    assert_verdict(
        &report,
        SLOW_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
    assert_verdict(&report, CAPACITY, Verdict::Info, None);
    let capacity = result(&report, CAPACITY);
    eprintln!("{}", capacity.detail);
    assert_eq!(number(capacity, "capacity"), 1.0, "{}", capacity.detail);
    assert_eq!(capacity.data_json()["classification"], "bounded-pool");
    assert!(
        capacity.detail.contains("about 2 workers"),
        "{}",
        capacity.detail
    );
}

#[test]
fn a_blocking_sleep_on_two_executor_threads_fails_slow_does_not_delay_fast() {
    let _cpu = shared();
    let mut settings = settings(Some(4));
    settings.target.env = vec![("ASYNC_STD_THREAD_COUNT".into(), "2".into())];
    let report = run(Check::server(&broken("blocking-sleep", "300ms"))
        .settings(settings)
        .only(&[SLOW_DOES_NOT_DELAY_FAST]));
    log(&report);
    assert_verdict(
        &report,
        SLOW_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
}

#[test]
fn a_route_that_does_not_sleep_fails_calibration_and_nothing_else_is_judged() {
    let _cpu = shared();
    let report = run(Check::server(&broken("none", "0s")).only(&["concurrency"]));
    assert_verdict(
        &report,
        SLEEP_IS_SLOW,
        Verdict::Fail,
        Some("sleep-not-slow"),
    );
    let others: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.id != SLEEP_IS_SLOW)
        .collect();
    assert_eq!(others.len(), 5, "every other concurrency check is listed");
    for check in others {
        assert_eq!(check.verdict, Verdict::Skip, "{}", check.id);
        assert!(
            check.detail.starts_with("nothing can be judged"),
            "{}",
            check.detail
        );
    }
}

#[test]
fn at_an_address_the_checks_after_a_failure_that_left_requests_behind_are_skipped() {
    let _cpu = shared();
    let server = ServerProcess::start(
        "broken-server",
        &[
            "--bind",
            "127.0.0.1:0",
            "--sleep",
            "300ms",
            "--flaw",
            "sequential",
        ],
    );
    let report = run(Check::addr(&server.addr.to_string())
        .settings(settings(Some(4)))
        .only(&["concurrency"]));
    log(&report);
    assert_verdict(&report, SLEEP_IS_SLOW, Verdict::Pass, None);
    assert_verdict(
        &report,
        SLOW_DOES_NOT_DELAY_FAST,
        Verdict::Fail,
        Some("fast-request-delayed"),
    );
    // No re-run: the server may still be busy with what the first attempt left behind.
    assert_eq!(
        result(&report, SLOW_DOES_NOT_DELAY_FAST).data_json()["attempts"],
        1
    );
    for id in [
        SLOW_REQUESTS_OVERLAP,
        IDLE_CLIENT_DOES_NOT_DELAY_FAST,
        ABORTED_SLOW_REQUEST,
    ] {
        let check = result(&report, id);
        assert_eq!(check.verdict, Verdict::Skip, "{id}");
        assert!(
            check.detail.contains("needs a fresh server"),
            "{}",
            check.detail
        );
        assert!(check.detail.contains("--addr"), "{}", check.detail);
    }
}

#[test]
fn capacity_steps_are_bounded_in_time_for_a_sequential_server() {
    // A sequential server fails at K = 1: capacity 0, classified as sequential, quickly.
    let _cpu = shared();
    let mut settings = settings(None);
    settings.concurrency.capacity = true;
    settings.concurrency.max = Some(64);
    let started = std::time::Instant::now();
    let report = run(Check::server(&broken("sequential", "300ms"))
        .settings(settings)
        .only(&[CAPACITY]));
    let capacity = result(&report, CAPACITY);
    assert_eq!(number(capacity, "capacity"), 0.0, "{}", capacity.detail);
    assert_eq!(capacity.data_json()["classification"], "sequential");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// The book's pool loses a worker to each job that panics; bad clients empty it, and the
/// server stops serving (the final listing then aborts). A thread per connection loses
/// only the panicking thread, and the reference loses nothing.
#[test]
fn capacity_survives_bad_clients_fails_a_pool_whose_workers_die() {
    let _cpu = exclusive();
    let check = |command: &str| {
        let report = run(Check::server(command)
            .settings(settings(Some(4)))
            .only(&[CAPACITY_SURVIVES_BAD_CLIENTS]));
        log(&report);
        report
    };
    let pool = check(&broken("book-pool", "500ms"));
    let lost = result(&pool, CAPACITY_SURVIVES_BAD_CLIENTS);
    assert_eq!(lost.verdict, Verdict::Fail, "{}", lost.detail);
    assert!(
        matches!(
            lost.rule.map(|r| r.name()),
            Some("server-died" | "capacity-lost")
        ),
        "{:?}",
        lost.rule
    );
    // Says how many bad clients it took, of which kinds.
    assert!(
        lost.detail.contains("after 16 bad clients"),
        "{}",
        lost.detail
    );
    assert!(lost.detail.contains("non-UTF-8"), "{}", lost.detail);
    for command in [
        broken("thread-per-connection", "500ms"),
        server_under_test("500ms"),
    ] {
        let report = check(&command);
        assert_verdict(&report, CAPACITY_SURVIVES_BAD_CLIENTS, Verdict::Pass, None);
    }
    // Pools that lose nothing to bad clients are not blamed for their size: a pool of 4
    // that replaces panicked workers carries 3 slow requests before the bad clients and
    // after; 4 prefork processes, each taking connections in batches, carry 3 or (when its
    // slow requests queued in one process) could not be judged, never lost.
    let report = check(&broken("respawning-pool", "500ms"));
    let kept = result(&report, CAPACITY_SURVIVES_BAD_CLIENTS);
    assert_eq!(kept.verdict, Verdict::Pass, "{}", kept.detail);
    assert!(kept.detail.contains("with 3 GET /sleep"), "{}", kept.detail);
    for _ in 0..3 {
        let report = check(&broken("prefork", "500ms"));
        let kept = result(&report, CAPACITY_SURVIVES_BAD_CLIENTS);
        assert!(
            matches!(kept.verdict, Verdict::Pass | Verdict::Skip),
            "prefork: {}",
            kept.detail
        );
    }
    // A sequential server carries no slow request at all: nothing to compare, not judged.
    let report = check(&broken("sequential", "500ms"));
    let unjudged = result(&report, CAPACITY_SURVIVES_BAD_CLIENTS);
    assert_eq!(unjudged.verdict, Verdict::Skip, "{}", unjudged.detail);
    assert!(
        unjudged.detail.contains("already delayed"),
        "{}",
        unjudged.detail
    );
}
