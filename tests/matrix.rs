//! `unblocked matrix`: several implementations side by side, the disagreements first.

mod common;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use std::time::Duration;

/// A whole run may take a while on a busy machine; this only bounds a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn matrix_file(dir: &std::path::Path) -> std::path::PathBuf {
    let hello = cargo_bin("hello-server").display().to_string();
    let broken = cargo_bin("broken-server").display().to_string();
    let text = format!(
        r#"
[[implementation]]
name = "reference"
server = "{hello} --bind 127.0.0.1:{{port}} --quiet"

[[implementation]]
name = "lowercase"
server = "{broken} --bind 127.0.0.1:{{port}} --flaw lowercase-get"

[[implementation]]
name = "soft-404"
server = "{broken} --bind 127.0.0.1:{{port}} --flaw not-found-as-ok"

[[implementation]]
name = "missing"
server = "/nonexistent/server {{port}}"
"#
    );
    let path = dir.join("impls.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const ONLY: [&str; 2] = [
    "--only",
    "fixtures.get-root,fixtures.get-nope,fixtures.lowercase-get-root,fixtures.head-root",
];

#[test]
fn the_matrix_puts_disagreements_first_and_fails_unless_all_conform() {
    let dir = tempfile::tempdir().unwrap();
    let file = matrix_file(dir.path());
    let output = Command::cargo_bin("unblocked")
        .unwrap()
        .arg("matrix")
        .arg(&file)
        .args(ONLY)
        .args(["--format", "json"])
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    // Not every implementation conforms (and one could not start): 1, not a setup error.
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        doc["matrix"]["columns"],
        serde_json::json!(["reference", "lowercase", "soft-404", "missing"])
    );
    let rows = doc["matrix"]["rows"].as_array().unwrap();
    let order: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["check"].as_str().unwrap(),
                r["disagree"].as_bool().unwrap(),
            )
        })
        .collect();
    // Every row disagrees here (the missing column is empty), in run order; a check each
    // flaw fails is where it differs from the reference.
    let verdicts = |check: &str| -> Vec<serde_json::Value> {
        rows.iter().find(|r| r["check"] == check).unwrap()["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["verdict"].clone())
            .collect()
    };
    assert_eq!(
        verdicts("fixtures.lowercase-get-root"),
        // The soft 404 answers 200 to anything it does not route, lowercase methods too.
        serde_json::json!(["pass", "fail", "fail", null])
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(
        verdicts("fixtures.get-nope"),
        serde_json::json!(["pass", "pass", "fail", null])
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(order.len(), 4, "{order:?}");
    let implementations = doc["implementations"].as_array().unwrap();
    assert!(
        implementations[3]["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/server")
    );
    assert_eq!(implementations[0]["report"]["conforming"], true);
}

#[test]
fn the_human_matrix_fits_100_columns_and_lists_agreement_after_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    let file = matrix_file(dir.path());
    // Without the missing one, rows where all three agree come after a rule.
    let text = std::fs::read_to_string(&file).unwrap();
    let present = text
        .split("[[implementation]]\nname = \"missing\"")
        .next()
        .unwrap();
    std::fs::write(&file, present).unwrap();
    let output = Command::cargo_bin("unblocked")
        .unwrap()
        .arg("matrix")
        .arg(&file)
        .args(ONLY)
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8(output.stdout).unwrap();
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    let lines: Vec<&str> = table.lines().collect();
    let rule = lines
        .iter()
        .position(|l| l.starts_with("---"))
        .expect("a rule");
    let position = |id: &str| lines.iter().position(|l| l.starts_with(id)).unwrap();
    assert!(position("fixtures.lowercase-get-root") < rule, "{table}");
    assert!(position("fixtures.get-nope") < rule, "{table}");
    assert!(position("fixtures.get-root") > rule, "{table}");
}

#[test]
fn a_matrix_of_conforming_implementations_exits_0_and_bad_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let hello = cargo_bin("hello-server").display().to_string();
    let file = dir.path().join("ok.toml");
    std::fs::write(
        &file,
        format!(
            "[[implementation]]\nname = \"a\"\nserver = \"{hello} --bind 127.0.0.1:{{port}} --quiet\"\n\
             [[implementation]]\nname = \"b\"\nserver = \"{hello} --bind 127.0.0.1:{{port}} --quiet --threads 1\"\n"
        ),
    )
    .unwrap();
    Command::cargo_bin("unblocked")
        .unwrap()
        .arg("matrix")
        .arg(&file)
        .args(ONLY)
        .timeout(RUN_TIMEOUT)
        .assert()
        .code(0);
    let bad = dir.path().join("bad.toml");
    // Issue 20 §15: options the command line refuses were accepted from the file.
    for (text, says) in [
        ("[[implementation]]\nname = \"x\"\n", "server"),
        (
            "[[implementation]]\nname = \"x\"\nserver = \"s {port}\"\ntimeout = \"0s\"\n",
            "must be more than zero",
        ),
        (
            "[[implementation]]\nname = \"x\"\nserver = \"s {port}\"\nslow = 0\n",
            "slow (K): must be at least 1",
        ),
        (
            "[[implementation]]\nname = \"x\"\nserver = \"s {port}\"\nfuzz_cases = 0\n",
            "fuzz cases: must be at least 1",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        Command::cargo_bin("unblocked")
            .unwrap()
            .arg("matrix")
            .arg(&bad)
            .timeout(RUN_TIMEOUT)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}

/// Issue 20 §15: `--format junit` was offered by `--help` and refused; a matrix is one JUnit
/// document, a suite per implementation and group, an implementation that could not start
/// one errored case.
#[test]
fn a_matrix_in_junit_has_the_suites_of_every_implementation() {
    let dir = tempfile::tempdir().unwrap();
    let file = matrix_file(dir.path());
    let output = Command::cargo_bin("unblocked")
        .unwrap()
        .arg("matrix")
        .arg(&file)
        .args(ONLY)
        .args(["--format", "junit"])
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let xml = String::from_utf8(output.stdout).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let suites: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
    for name in [
        "reference: fixtures",
        "lowercase: fixtures",
        "soft-404: fixtures",
        "missing: setup",
    ] {
        assert!(suites.contains(&name), "{suites:?}");
    }
    assert_eq!(junit.errors, 1, "the implementation that could not start");
    assert!(junit.failures >= 2, "lowercase and soft-404 fail: {xml}");
}

/// Issue 20 §15: a SIGINT during a matrix gave no report; now the implementations that
/// finished are given, marked interrupted, with exit 130, and no server is left behind.
#[test]
fn an_interrupted_matrix_gives_the_implementations_that_finished() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let hello = cargo_bin("hello-server").display().to_string();
    let broken = cargo_bin("broken-server").display().to_string();
    let file = dir.path().join("two.toml");
    let start_dir = dir.path().join("starts");
    std::fs::write(
        &file,
        format!(
            "[[implementation]]\nname = \"quick\"\nserver = \"{hello} --bind 127.0.0.1:{{port}} --quiet\"\n\
             [[implementation]]\nname = \"slow-to-start\"\nserver = \"{broken} --bind 127.0.0.1:{{port}} --slow-start 100s --start-dir {}\"\n",
            start_dir.display()
        ),
    )
    .unwrap();
    let marker = common::unique_marker();
    let mut kit = std::process::Command::new(cargo_bin("unblocked"))
        .arg("matrix")
        .arg(&file)
        .args(["--only", "fixtures.get-root", "--format", "json"])
        .args(["--startup-timeout", "200s"])
        .env(&marker.0, &marker.1)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = kit.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut kit = common::Guarded(kit);
    let first_done = std::iter::from_fn(|| rx.recv_timeout(RUN_TIMEOUT).ok())
        .any(|line| line.contains("[1/2] quick"));
    assert!(first_done, "the first implementation never finished");
    kit.signal(nix::sys::signal::Signal::SIGINT);
    let status = kit
        .wait_within(common::IO_TIMEOUT)
        .expect("the kit exits on the signal");
    assert_eq!(status.code(), Some(130));
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(kit.0.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stdout)));
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["conforming"], false);
    let names: Vec<&str> = doc["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["quick"]);
    assert!(
        common::eventually(
            || common::marked_processes(&format!("{}={}", marker.0, marker.1)).is_empty()
        ),
        "processes left behind"
    );
}
