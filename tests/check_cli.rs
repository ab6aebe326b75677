//! `unblocked check` as a user runs it: targets, reports, exit codes, bad input.
//!
//! The conformance tests here honour `UNBLOCKED_SERVER='COMMAND {port}'`: they then judge
//! that implementation instead of the reference server. Tests of broken servers and of the
//! kit's own errors do not.

mod common;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use common::IO_TIMEOUT;
use predicates::prelude::*;
use std::time::Duration;
use unblocked::kit::run::check::Check;

/// A whole run may take a while on a busy machine; this only bounds a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn unblocked() -> Command {
    let mut command = Command::cargo_bin("unblocked").unwrap();
    command.timeout(RUN_TIMEOUT).env("NO_COLOR", "1");
    command
}

/// The server under test: `UNBLOCKED_SERVER`, or the reference server.
fn server_under_test() -> String {
    std::env::var("UNBLOCKED_SERVER").unwrap_or_else(|_| {
        format!(
            "{} --bind 127.0.0.1:{{port}} --sleep 1s --quiet",
            cargo_bin("hello-server").display()
        )
    })
}

fn broken(flaw: &str) -> String {
    format!(
        "{} --bind 127.0.0.1:{{port}} --sleep 500ms --flaw {flaw}",
        cargo_bin("broken-server").display()
    )
}

#[test]
fn the_fixture_suite_passes_through_the_library_entry_point() {
    let report = Check::server(&server_under_test())
        .only(&["pages", "fixtures"])
        .run()
        .expect("the server starts");
    report.assert_conforming();
    // Every bundled case ran, after the pages were learned.
    let cases = unblocked::kit::checks::fixtures::bundled().unwrap();
    assert_eq!(report.checks.len(), 1 + cases.len());
    for case in &cases {
        assert!(
            report.check(&format!("fixtures.{}", case.id)).is_some(),
            "{}",
            case.id
        );
    }
}

#[test]
fn the_reference_server_conforms_strictly_to_the_fixtures() {
    if std::env::var_os("UNBLOCKED_SERVER").is_some() {
        return; // Other implementations may be non-strict; this pins the reference.
    }
    let report = Check::server(&server_under_test())
        .only(&["pages", "fixtures"])
        .strict(true)
        .run()
        .unwrap();
    report.assert_conforming();
}

#[test]
fn json_report_follows_the_documented_schema() {
    let output = unblocked()
        .args([
            "check",
            "--server",
            &server_under_test(),
            "--only",
            "pages,fixtures",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("exactly one JSON document");
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["interrupted"], false);
    assert_eq!(doc["target"]["command"], server_under_test());
    assert_eq!(doc["strict"], false);
    assert_eq!(doc["conforming"], true);
    let summary = doc["summary"].as_object().unwrap();
    let mut keys: Vec<_> = summary.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "fail",
            "fixed",
            "info",
            "known",
            "non_strict",
            "pass",
            "regressed",
            "skip"
        ]
    );
    let checks = doc["checks"].as_array().unwrap();
    let root = checks
        .iter()
        .find(|c| c["id"] == "fixtures.get-root")
        .expect("stable id");
    assert_eq!(root["group"], "fixtures");
    assert!(["pass", "non-strict"].contains(&root["verdict"].as_str().unwrap()));
    assert!(root["duration_ms"].is_number());
    assert!(root["detail"].is_string());
    let counted: u64 = summary.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(counted as usize, checks.len());
    // Human text goes to stderr, never into the document.
    assert!(String::from_utf8_lossy(&output.stderr).contains("conforming"));
}

#[test]
fn junit_report_goes_to_a_file_and_the_human_report_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    unblocked()
        .args([
            "check",
            "--server",
            &server_under_test(),
            "--only",
            "pages,fixtures",
            "--format",
            "junit",
        ])
        .arg("--output")
        .arg(&file)
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("fixtures.get-root")
                .and(predicate::str::contains("conforming")),
        );
    let xml = std::fs::read_to_string(&file).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let suite = parsed
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "fixtures")
        .unwrap();
    assert!(
        suite
            .test_cases
            .iter()
            .any(|c| c.name.as_str() == "fixtures.get-root")
    );
    assert_eq!(suite.failures, 0);
}

#[test]
fn a_wrong_content_length_is_caught_with_its_check_and_rule() {
    unblocked()
        .args([
            "check",
            "--server",
            &broken("wrong-content-length"),
            "--only",
            "fixtures.get-root",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL        fixtures.get-root")
                .and(predicate::str::contains("[wrong-content-length]"))
                .and(predicate::str::contains("NOT conforming")),
        );
}

#[test]
fn the_404_page_served_with_200_is_caught() {
    unblocked()
        .args([
            "check",
            "--server",
            &broken("not-found-as-ok"),
            "--only",
            "pages,fixtures.get-nope",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::is_match(r"FAIL +fixtures\.get-nope .*\[status-not-allowed\]")
                .unwrap()
                .and(predicate::str::is_match(r"FAIL +pages\.learned").unwrap()),
        );
}

/// The Rust book's final listing (`broken-server --flaw book-pool` does what it does) is
/// reported with each of its real defects, on the check that shows it, and nothing else:
/// a body after `HEAD` where a next response may follow, a panic on a non-UTF-8 request
/// line (the process aborted once its workers are gone; the silence itself, to an invalid
/// request line, is non-strict), the pool of 4 (fast requests wait behind slow ones),
/// capacity lost to bad clients, and no `Connection: close` (non-strict).
#[test]
fn the_books_pool_is_reported_with_its_real_defects_and_nothing_else() {
    use unblocked::kit::checks::fuzz::FuzzSettings;
    use unblocked::kit::report::Verdict;
    use unblocked::kit::run::check::Settings;
    let settings = Settings {
        fuzz: FuzzSettings {
            cases: 100,
            seed: Some(1),
            save_failures: None,
        },
        ..Settings::default()
    };
    let report = Check::server(&broken("book-pool"))
        .settings(settings)
        .run()
        .expect("the server starts");
    let text = unblocked::kit::report::human::render(
        &report,
        &unblocked::kit::report::human::Style::plain(),
    );
    let failing = |group: &str| -> Vec<(String, String)> {
        report
            .checks
            .iter()
            .filter(|c| c.group == group && c.verdict == Verdict::Fail)
            .map(|c| {
                (
                    c.id.clone(),
                    c.rule.map(|r| r.name().to_string()).unwrap_or_default(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(id, rule)| (id.to_string(), rule.to_string()))
            .collect()
    };
    assert_eq!(failing("pages"), pairs(&[]), "{text}");
    assert_eq!(
        failing("fixtures"),
        pairs(&[
            ("fixtures.pipelined-head-then-root", "body-after-head"),
            ("fixtures.head-root", "body-after-head"),
            ("fixtures.head-root-curl", "body-after-head"),
            ("fixtures.head-sleep", "body-after-head"),
        ]),
        "{text}"
    );
    assert_eq!(
        failing("concurrency"),
        pairs(&[
            (
                "concurrency.slow-does-not-delay-fast",
                "fast-request-delayed"
            ),
            (
                "concurrency.slow-requests-overlap",
                "slow-requests-serialized"
            ),
            (
                "concurrency.idle-client-does-not-delay-fast",
                "fast-request-delayed"
            ),
            ("concurrency.aborted-slow-request", "slow-request-failed"),
            ("concurrency.capacity-survives-bad-clients", "server-died"),
        ]),
        "{text}"
    );
    // Fuzzing finds the same defects, whichever inputs reach them first.
    let defects = [
        "body-after-head",
        "no-response",
        "reset-before-response",
        "server-died",
    ];
    let lenient = [
        "missing-connection-close",
        "status-non-strict",
        "reset-after-response",
        "no-answer-after-half-close",
        "no-answer-to-invalid-request",
        "body-after-head-before-close",
    ];
    for check in report.checks.iter().filter(|c| c.group == "fuzz") {
        assert_eq!(check.verdict, Verdict::Fail, "{text}");
        for class in &check.classes {
            let allowed: &[&str] = match class.verdict {
                Verdict::Fail => &defects,
                _ => &lenient,
            };
            assert!(
                allowed.contains(&class.rule.name()),
                "{}: {} on {}",
                check.id,
                class.rule,
                class.kind
            );
        }
    }
    for check in report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::NonStrict)
    {
        let rule = check.rule.map_or("", |r| r.name());
        assert!(lenient.contains(&rule), "{}: {rule}", check.id);
    }
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.rule.map(|r| r.name()) == Some("missing-connection-close")),
        "{text}"
    );
}

#[test]
fn a_careful_book_style_server_conforms_but_not_strictly() {
    unblocked()
        .args([
            "check",
            "--server",
            &broken("none"),
            "--only",
            "pages,fixtures",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NON-STRICT"));
    unblocked()
        .args([
            "check",
            "--server",
            &broken("none"),
            "--only",
            "pages,fixtures",
            "--strict",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("(strict)"));
}

#[test]
fn list_prints_stable_ids_and_runs_nothing() {
    unblocked()
        .args([
            "check",
            "--server",
            "/nonexistent/never-started",
            "--list",
            "--only",
            "fixtures",
        ])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("fixtures.get-root")
                .and(predicate::str::contains("pages.learned").not()),
        );
}

#[test]
fn bad_flags_and_empty_selections_are_usage_errors() {
    unblocked()
        .args(["check", "--no-such-flag"])
        .assert()
        .code(2);
    unblocked()
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    unblocked()
        .args(["check", "--server", "x", "--addr", "127.0.0.1:1"])
        .assert()
        .code(2);
    unblocked()
        .args([
            "check",
            "--server",
            &server_under_test(),
            "--only",
            "no-such-group",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no check or group has this name"))
        .stderr(predicate::str::contains("did you mean").not());
    unblocked()
        .args(["check", "--addr", "127.0.0.1:1", "--skip", "concurency"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `concurrency`?"));
}

#[test]
fn a_server_that_cannot_start_is_a_setup_error_with_its_output() {
    unblocked()
        .args(["check", "--server", "/nonexistent/my-server --port {port}"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/my-server"));
    unblocked()
        .args([
            "check",
            "--server",
            "sh -c 'echo cannot open config >&2; exit 7'",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("cannot open config")
                .and(predicate::str::contains("exited with status 7")),
        );
}

#[test]
fn nothing_listening_at_an_address_is_a_setup_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    unblocked()
        .args(["check", "--addr", &addr, "--startup-timeout", "1s"])
        .timeout(IO_TIMEOUT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(addr.as_str()));
}

#[test]
fn a_fixture_file_with_a_syntax_error_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "[[case]]\nid = \"mine\"\ndescription = oops\n").unwrap();
    unblocked()
        .args(["check", "--list", "--cases"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mine.toml").and(predicate::str::contains("line 3")));
}

#[test]
fn extra_cases_run_next_to_the_bundled_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "[[case]]\nid = \"my-teapot\"\ndescription = \"a path of my own\"\nkind = \"not-found\"\nrequest = 'GET /teapot HTTP/1.1\\r\\n\\r\\n'\n",
    )
    .unwrap();
    unblocked()
        .args([
            "check",
            "--server",
            &server_under_test(),
            "--only",
            "fixtures.my-teapot,fixtures.get-root",
            "--cases",
        ])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("fixtures.my-teapot")
                .and(predicate::str::contains("fixtures.get-root")),
        );
}

#[test]
fn pages_given_by_the_user_are_compared_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.html"),
        "not the page the server sends",
    )
    .unwrap();
    std::fs::write(dir.path().join("404.html"), "nor this one").unwrap();
    unblocked()
        .args([
            "check",
            "--server",
            &server_under_test(),
            "--only",
            "fixtures.get-root",
            "--pages",
        ])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[wrong-page]"));
}

/// Every flaw of `broken-server` that a fixture can expose, with the check and the rule
/// that catch it (the concurrency flaws and `panic-on-non-utf8` have their own tests in
/// `tests/concurrency.rs` and `tests/fuzz.rs`). The non-strict ones are legal but fragile:
/// they pass by default and fail `--strict`.
#[test]
fn every_flaw_is_caught_by_its_check_and_rule() {
    use unblocked::kit::report::Verdict::{self, Fail, NonStrict};
    let cases: &[(&str, &str, Verdict, &str)] = &[
        (
            "wrong-content-length",
            "get-root",
            Fail,
            "wrong-content-length",
        ),
        ("not-found-as-ok", "get-nope", Fail, "status-not-allowed"),
        ("ok-to-everything", "get-nope", Fail, "status-not-allowed"),
        (
            "lowercase-get",
            "lowercase-get-root",
            Fail,
            "status-not-allowed",
        ),
        (
            // Silence to an invalid request line: RFC 9112 2.2 only says SHOULD 400.
            "silent-on-garbage",
            "double-space-after-method",
            NonStrict,
            "no-answer-to-invalid-request",
        ),
        (
            "hang-on-garbage",
            "lowercase-get-root",
            Fail,
            "no-response-in-time",
        ),
        // The kit's first request (learning the pages) was its one answer.
        ("exit-after-first", "get-root", Fail, "server-died"),
        (
            "no-content-length",
            "get-root",
            NonStrict,
            "missing-content-length",
        ),
        (
            "reset-on-body",
            "post-root-body",
            NonStrict,
            "reset-after-response",
        ),
    ];
    for &(flaw, case, verdict, rule) in cases {
        let id = format!("fixtures.{case}");
        for strict in [false, true] {
            let report = Check::server(&broken(flaw))
                .only(&[id.as_str()])
                .strict(strict)
                .run()
                .expect("the server starts");
            let check = report.check(&id).expect("the check ran");
            assert_eq!(
                (check.verdict, check.rule.map(|r| r.name())),
                (verdict, Some(rule)),
                "--flaw {flaw}: {}",
                check.detail
            );
            assert_eq!(
                report.conforming(),
                verdict == NonStrict && !strict,
                "--flaw {flaw}, strict {strict}"
            );
        }
    }
}
