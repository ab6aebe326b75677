//! Baselines in CI: known failures do not fail a run, new ones do, fixed ones are said, and
//! measured figures that get worse beyond their noise margins are `regressed`.

mod common;

use assert_cmd::Command;
use common::bin_command;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A whole run may take a while on a busy machine; this only bounds a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn broken(flaws: &str) -> String {
    bin_command(
        "broken-server",
        &format!("--bind 127.0.0.1:{{port}} --sleep 300ms --flaw {flaws}"),
    )
}

fn reference(extra: &str) -> String {
    bin_command(
        "hello-server",
        &format!("--bind 127.0.0.1:{{port}} --sleep 300ms --quiet {extra}"),
    )
}

/// `unblocked check --server SERVER ARGS... --format json`: the exit code and the report.
fn check(server: &str, args: &[&str]) -> (i32, Value) {
    let output = Command::cargo_bin("unblocked")
        .unwrap()
        .args(["check", "--server", server, "--format", "json"])
        .args(args)
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), report)
}

fn check_of<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn verdict_of<'a>(report: &'a Value, id: &str) -> &'a str {
    check_of(report, id)["verdict"].as_str().unwrap()
}

fn with_verdict<'a>(report: &'a Value, verdict: &str) -> Vec<&'a str> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == verdict)
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

const CONFORMANCE: [&str; 4] = ["--only", "pages,fixtures,fuzz", "--fuzz-cases", "50"];

fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn known_failures_pass_new_ones_fail_and_fixed_ones_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&CONFORMANCE[..], extra].concat()
    }

    // Written from a run that fails: the run still exits 1, the file lists its failures.
    let (code, _) = check(
        &broken("lowercase-get"),
        &args(&["--write-baseline", path_arg(&file)]),
    );
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("check = \"fixtures.lowercase-get-root\""),
        "{text}"
    );
    assert!(text.contains("fuzz_seed = "), "{text}");

    // The same server against it: every failure known, the run passes.
    let (code, report) = check(
        &broken("lowercase-get"),
        &args(&["--baseline", path_arg(&file)]),
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdict_of(&report, "fixtures.lowercase-get-root"), "known");
    assert_eq!(report["summary"]["fail"], 0);
    assert!(report["summary"]["known"].as_u64() > Some(0));

    // A second defect: the new failure fails the run, by name; the known one stays known.
    let (code, report) = check(
        &broken("lowercase-get,not-found-as-ok"),
        &args(&["--baseline", path_arg(&file)]),
    );
    assert_eq!(code, 1);
    assert_eq!(verdict_of(&report, "fixtures.get-nope"), "fail");
    assert_eq!(verdict_of(&report, "fixtures.lowercase-get-root"), "known");

    // The defect fixed: said, and not a failure.
    let (code, report) = check(&broken("none"), &args(&["--baseline", path_arg(&file)]));
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdict_of(&report, "fixtures.lowercase-get-root"), "fixed");
    let fixed = check_of(&report, "fixtures.lowercase-get-root");
    assert!(
        fixed["detail"]
            .as_str()
            .unwrap()
            .contains("remove it from the baseline"),
        "{fixed}"
    );
}

#[test]
fn update_baseline_rewrites_the_file_and_keeps_the_reasons_written_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    let only = ["--only", "fixtures.lowercase-get-root,fixtures.get-nope"];
    check(
        &broken("lowercase-get,not-found-as-ok"),
        &[&only[..], &["--write-baseline", path_arg(&file)]].concat(),
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let reasoned = text.replace(
        "check = \"fixtures.lowercase-get-root\"\n",
        "check = \"fixtures.lowercase-get-root\"\nreason = \"the framework folds case; issue 12\"\n",
    );
    assert_ne!(text, reasoned, "{text}");
    std::fs::write(&file, reasoned).unwrap();

    // The 404 defect is fixed; the update drops it and keeps the reason of the other.
    let (code, report) = check(
        &broken("lowercase-get"),
        &[
            &only[..],
            &["--baseline", path_arg(&file), "--update-baseline"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{report}");
    let known = check_of(&report, "fixtures.lowercase-get-root");
    assert!(
        known["detail"]
            .as_str()
            .unwrap()
            .contains("(reason: the framework folds case; issue 12)"),
        "{known}"
    );
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(
        rewritten.contains("reason = \"the framework folds case; issue 12\""),
        "{rewritten}"
    );
    assert!(!rewritten.contains("fixtures.get-nope"), "{rewritten}");
}

#[test]
fn a_capacity_lost_to_a_connection_limit_is_regressed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    let capacity = [
        "--only",
        "concurrency.capacity",
        "--capacity",
        "--max",
        "256",
    ];
    let (code, report) = check(
        &reference(""),
        &[&capacity[..], &["--write-baseline", path_arg(&file)]].concat(),
    );
    assert_eq!(code, 0, "{report}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("name = \"capacity\"\nvalue = 256"), "{text}");

    let (code, report) = check(
        &reference("--max-connections 64"),
        &[&capacity[..], &["--baseline", path_arg(&file)]].concat(),
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(with_verdict(&report, "regressed"), ["concurrency.capacity"]);
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("capacity"), "{detail}");
}

#[test]
fn fast_requests_20_ms_slower_are_regressed_and_the_reference_never_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    let concurrency = ["--only", "concurrency"];
    let (code, _) = check(
        &broken("none"),
        &[&concurrency[..], &["--write-baseline", path_arg(&file)]].concat(),
    );
    assert_eq!(code, 0);

    // Every fast GET / answered 20 ms later: within every fixed budget, but regressed.
    let (code, report) = check(
        &broken("slower-fast"),
        &[&concurrency[..], &["--baseline", path_arg(&file)]].concat(),
    );
    assert_eq!(code, 1, "{report}");
    let regressed = with_verdict(&report, "regressed");
    assert!(
        regressed.contains(&"concurrency.slow-does-not-delay-fast"),
        "{regressed:?}: {report}"
    );
    assert!(with_verdict(&report, "fail").is_empty(), "{report}");

    // The unchanged server, again and again: never regressed.
    for run in 1..=4 {
        let (code, report) = check(
            &broken("none"),
            &[&concurrency[..], &["--baseline", path_arg(&file)]].concat(),
        );
        assert_eq!(code, 0, "run {run}: {report}");
        assert!(with_verdict(&report, "regressed").is_empty(), "run {run}");
    }
}

/// Issue 20 §14: a baseline entry for a check the run does not have would never apply; it
/// is refused before the server starts, and so is a meaningless value.
#[test]
fn a_baseline_naming_unknown_checks_or_values_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("base.toml");
    for (text, says) in [
        (
            "schema = 1\n[[failure]]\ncheck = \"fixtures.get-rooot\"\nverdict = \"fail\"\nrule = \"wrong-page\"\n",
            "fixtures.get-rooot",
        ),
        (
            "schema = 1\n[[figure]]\ncheck = \"concurrency.slow-does-not-delay-fast\"\nname = \"fast_median_ms\"\nvalue = nan\n",
            "not a finite number",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let output = Command::cargo_bin("unblocked")
            .unwrap()
            .args(["check", "--server", &reference(""), "--baseline"])
            .arg(&path)
            .timeout(RUN_TIMEOUT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
