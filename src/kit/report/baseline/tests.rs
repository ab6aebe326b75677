use super::*;
use crate::kit::report::{Evidence, FailureClass, Load, TargetInfo};
use std::time::Duration;

fn check(id: &str, verdict: Verdict, rule: Option<&str>) -> CheckResult {
    let mut c = CheckResult::new(id, id.split('.').next().unwrap_or("g"), "d");
    c.verdict = verdict;
    c.rule = rule.map(|r| RuleId::parse(r).expect("a rule"));
    c
}

fn report(checks: Vec<CheckResult>) -> Report {
    Report {
        target: TargetInfo::Command("srv".into()),
        strict: false,
        checks,
        server_output: Vec::new(),
        duration: Duration::ZERO,
        interrupted: false,
        notes: Vec::new(),
    }
}

fn load(fast_ms: &[f64]) -> Load {
    Load {
        fast_ms: Some(fast_ms.iter().map(|&f| Some(f)).collect()),
        ..Load::new(16, Duration::from_secs(1), Duration::from_millis(100))
    }
}

fn fast(id: &str, fast_ms: &[f64]) -> CheckResult {
    let mut c = check(id, Verdict::Pass, None);
    c.data = Some(Measurement::Load(Box::new(load(fast_ms))));
    c
}

/// A check whose first attempt measured `first`.
fn retried(id: &str, first: &[f64], second: &[f64]) -> CheckResult {
    let mut c = check(id, Verdict::Pass, None);
    c.data = Some(Measurement::Load(Box::new(Load {
        first_attempt_data: Some(Box::new(load(first))),
        ..load(second)
    })));
    c
}

fn class(rule: &str, kind: &str) -> FailureClass {
    FailureClass {
        rule: RuleId::parse(rule).expect("a rule"),
        kind: kind.into(),
        verdict: Verdict::Fail,
        count: 3,
        evidence: Evidence::default(),
        shrunk: true,
        detail: String::new(),
    }
}

#[test]
fn a_baseline_round_trips_sorted_and_keeps_reasons() {
    let mut fuzz = check("fuzz.bytes", Verdict::Fail, Some("server-died"));
    fuzz.classes = vec![
        class("server-died", "malformed"),
        class("no-response", "hello"),
    ];
    let run = report(vec![
        check("fixtures.z", Verdict::Fail, Some("wrong-page")),
        check("fixtures.a", Verdict::NonStrict, Some("status-non-strict")),
        check("fixtures.ok", Verdict::Pass, None),
        fuzz,
        fast("concurrency.slow-does-not-delay-fast", &[1.0, 2.0, 3.0]),
    ]);
    let mut old = Baseline::from_report(&run, None);
    old.failures[2].reason = Some("the book's HEAD, fixed next week".into());
    let text = Baseline::from_report(&run, Some(&old)).to_toml();
    let back: Baseline = toml::from_str(&text).unwrap();
    let checks: Vec<&str> = back.failures.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(checks, ["fixtures.a", "fixtures.z", "fuzz.bytes"]);
    assert_eq!(
        back.failures[2].classes,
        ["no-response on hello", "server-died on malformed"]
    );
    assert_eq!(
        back.failures[2].reason.as_deref(),
        Some("the book's HEAD, fixed next week")
    );
    let names: Vec<&str> = back.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["fast_median_ms", "fast_worst_ms"]);
    assert!(text.starts_with("# unblocked baseline"));
}

#[test]
fn known_new_fixed_and_changed_failures() {
    let baseline = Baseline::from_report(
        &report(vec![
            check("fixtures.head", Verdict::Fail, Some("body-after-head")),
            check("fixtures.gone", Verdict::Fail, Some("wrong-page")),
            check("fixtures.rule", Verdict::Fail, Some("wrong-page")),
        ]),
        None,
    );
    let mut run = report(vec![
        check("fixtures.head", Verdict::Fail, Some("body-after-head")),
        check("fixtures.gone", Verdict::Pass, None),
        check("fixtures.rule", Verdict::Fail, Some("no-response")),
        check("fixtures.new", Verdict::Fail, Some("wrong-page")),
    ]);
    baseline.apply(&mut run);
    let verdicts: Vec<Verdict> = run.checks.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Known, Verdict::Fixed, Verdict::Fail, Verdict::Fail]
    );
    assert!(run.checks[1].detail.contains("remove it from the baseline"));
    assert!(
        run.checks[2]
            .detail
            .contains("records this check failing with wrong-page")
    );
    assert!(!run.conforming());
    let mut known_only = report(vec![check(
        "fixtures.head",
        Verdict::Fail,
        Some("body-after-head"),
    )]);
    baseline.apply(&mut known_only);
    assert!(known_only.conforming());
    assert_eq!(known_only.summary().known, 1);
}

#[test]
fn a_new_fuzz_class_is_a_new_failure() {
    let mut recorded = check("fuzz.bytes", Verdict::Fail, Some("server-died"));
    recorded.classes = vec![class("server-died", "malformed")];
    let baseline = Baseline::from_report(&report(vec![recorded.clone()]), None);
    let mut same = report(vec![recorded.clone()]);
    baseline.apply(&mut same);
    assert_eq!(same.checks[0].verdict, Verdict::Known);
    recorded.classes.push(class("wrong-page", "hello"));
    let mut more = report(vec![recorded]);
    baseline.apply(&mut more);
    assert_eq!(more.checks[0].verdict, Verdict::Fail);
    assert!(
        more.checks[0]
            .detail
            .contains("new failure classes: wrong-page on hello")
    );
}

#[test]
fn figures_regress_only_beyond_their_margins() {
    let was = |n: f64| FigureValue::Number(n);
    assert!(
        regressed("fast_worst_ms", &was(1.0), &was(5.9)).is_none(),
        "within 5 ms"
    );
    assert!(
        regressed("fast_worst_ms", &was(1.0), &was(21.0)).is_some(),
        "20 ms added"
    );
    assert!(
        regressed("fast_median_ms", &was(10.0), &was(49.0)).is_none(),
        "within 4x"
    );
    assert!(regressed("fast_median_ms", &was(10.0), &was(51.0)).is_some());
    assert!(regressed("capacity", &was(1024.0), &was(513.0)).is_none());
    assert!(regressed("capacity", &was(1024.0), &was(63.0)).is_some());
    assert!(regressed("overlap_s", &was(1.1), &was(2.1)).is_none());
    assert!(regressed("overlap_s", &was(1.1), &was(2.3)).is_some());
    assert!(
        regressed("sleep_ms", &was(1000.0), &was(9000.0)).is_none(),
        "information only"
    );
    let word = |w: &str| FigureValue::Word(w.into());
    assert!(regressed("design", &word("per-connection"), &word("bounded-pool")).is_some());
    assert!(regressed("design", &word("per-connection"), &word("per-connection")).is_none());
}

#[test]
fn a_regression_needs_both_attempts() {
    let baseline =
        Baseline::from_report(&report(vec![fast("concurrency.x", &[1.0, 1.0, 2.0])]), None);
    let slow_twice = retried("concurrency.x", &[24.0, 26.0, 28.0], &[25.0, 25.0, 30.0]);
    let once = retried("concurrency.x", &[1.0, 1.5, 2.0], &[25.0, 25.0, 30.0]);
    let mut run = report(vec![slow_twice, once]);
    baseline.apply(&mut run);
    assert_eq!(run.checks[0].verdict, Verdict::Regressed);
    assert_eq!(run.checks[0].rule, Some(RuleId::Regressed));
    assert!(
        run.checks[0].detail.contains("on both attempts"),
        "{}",
        run.checks[0].detail
    );
    assert_eq!(
        run.checks[1].verdict,
        Verdict::Pass,
        "the better attempt is within the margin"
    );
    assert!(baseline.regresses(
        "concurrency.x",
        fast("concurrency.x", &[30.0]).data.as_ref()
    ));
    assert!(!baseline.regresses("concurrency.x", fast("concurrency.x", &[1.5]).data.as_ref()));
}

#[test]
fn a_bad_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.toml");
    std::fs::write(&path, "schema = 9\n").unwrap();
    let e = Baseline::load(&path).unwrap_err().to_string();
    assert!(e.contains("b.toml") && e.contains("schema 9"), "{e}");
    std::fs::write(&path, "schema = 1\n[[failure]]\ncheck = 3\n").unwrap();
    assert!(Baseline::load(&path).is_err());
}

/// Issue 20 §14: `nan` silently disabled a comparison, `inf` always regressed, and an
/// unknown verdict, rule or figure was accepted without a word.
#[test]
fn meaningless_entries_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.toml");
    let figure = |name: &str, value: &str| {
        format!(
            "schema = 1\n[[figure]]\ncheck = \"concurrency.x\"\nname = \"{name}\"\nvalue = {value}\n"
        )
    };
    let failure = |verdict: &str, rule: &str, classes: &str| {
        format!(
            "schema = 1\n[[failure]]\ncheck = \"fuzz.bytes\"\nverdict = \"{verdict}\"\nrule = \"{rule}\"\nclasses = [{classes}]\n"
        )
    };
    for (text, says) in [
        (figure("fast_median_ms", "nan"), "not a finite number"),
        (figure("fast_median_ms", "inf"), "not a finite number"),
        (figure("fast_median_ms", "-3.0"), "at least 0"),
        (figure("capacity", "\"many\""), "not a number"),
        (figure("design", "4.0"), "not a word"),
        (figure("speed", "1.0"), "not a figure the kit measures"),
        (failure("banana", "server-died", ""), "neither \"fail\""),
        (
            failure("fail", "no-such-rule", ""),
            "not a rule of this kit",
        ),
        (
            failure("fail", "server-died", "\"bogus on get\""),
            "does not start with a rule",
        ),
    ] {
        std::fs::write(&path, &text).unwrap();
        let e = Baseline::load(&path).unwrap_err().to_string();
        assert!(e.contains("b.toml") && e.contains(says), "{text}: {e}");
    }
    std::fs::write(&path, figure("fast_median_ms", "3.5")).unwrap();
    let good = Baseline::load(&path).unwrap();
    std::fs::write(&path, failure("non-strict", "status-non-strict", "")).unwrap();
    Baseline::load(&path).unwrap();
    assert_eq!(good.unknown_checks(&["concurrency.y"]), ["concurrency.x"]);
    assert!(good.unknown_checks(&["concurrency.x"]).is_empty());
}
