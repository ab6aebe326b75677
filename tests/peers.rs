//! The peer corpus: the book's server on widely used HTTP stacks (`peers/`), each checked by
//! `unblocked check` and held to `peers/expected.toml`: a conforming peer fails nothing,
//! and the others fail only on their listed real defects. When a verdict changes, this test
//! says whether a false alarm was fixed (a listed fixture stopped failing) or introduced
//! (a failure nobody listed).
//!
//! `UNBLOCKED_PEERS=a,b` runs only the peers named; `UNBLOCKED_PEERS_HOG=N` keeps N
//! threads spinning meanwhile, to show that no verdict changes on a busy machine (one per
//! core loads it fully). A peer whose toolchain is missing is
//! skipped with a printed reason; with
//! `UNBLOCKED_PEERS_REQUIRED=1` (what `.ci/run` sets, after `ci/install-peers.sh`) a skip
//! fails the test, so CI never passes by running none.

use assert_cmd::cargo::CommandCargoExt;
use serde::Deserialize;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    peer: Vec<Peer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Peer {
    name: String,
    server: String,
    requires: Vec<String>,
    conforming: bool,
    #[serde(default)]
    defect: Vec<Defect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defect {
    checks: Vec<String>,
    rule: String,
    why: String,
}

impl Defect {
    fn covers(&self, check: &str, rule: &str) -> bool {
        rule == self.rule && self.checks.iter().any(|pattern| matches(pattern, check))
    }
}

/// `fuzz.*` matches every fuzz check; anything else is an exact id.
fn matches(pattern: &str, check: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => check.starts_with(prefix),
        None => pattern == check,
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why the peer cannot run here, if it cannot: a program not on PATH or a file missing.
fn missing(peer: &Peer) -> Option<String> {
    peer.requires.iter().find_map(|need| {
        let found = if need.contains('/') {
            root().join(need).exists()
        } else {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(need).is_file())
            })
        };
        (!found).then(|| format!("{need} is missing (ci/install-peers.sh installs it)"))
    })
}

/// One failure the report holds: a fixture or concurrency check's rule, or a failing fuzz
/// class's.
struct Failure {
    check: String,
    rule: String,
    what: String,
}

fn failures(report: &serde_json::Value) -> Vec<Failure> {
    let mut found = Vec::new();
    for check in report["checks"].as_array().expect("checks") {
        if check["verdict"] != "fail" {
            continue;
        }
        let id = check["id"].as_str().unwrap_or_default().to_string();
        let classes = check["data"]["failure_classes"].as_array();
        match classes {
            Some(classes) if !classes.is_empty() => {
                for class in classes.iter().filter(|c| c["verdict"] == "fail") {
                    found.push(Failure {
                        check: id.clone(),
                        rule: class["rule"].as_str().unwrap_or_default().to_string(),
                        what: format!(
                            "{} on {}: {}",
                            class["rule"].as_str().unwrap_or_default(),
                            class["kind"].as_str().unwrap_or_default(),
                            class["minimal_request"].as_str().unwrap_or_default()
                        ),
                    });
                }
            }
            _ => found.push(Failure {
                check: id,
                rule: check["rule"].as_str().unwrap_or_default().to_string(),
                what: check["detail"].as_str().unwrap_or_default().to_string(),
            }),
        }
    }
    found
}

/// Runs the kit on one peer; the problems found, empty when it says what is expected.
fn judge_peer(peer: &Peer) -> Vec<String> {
    let output = Command::cargo_bin("unblocked")
        .expect("the kit is built")
        .current_dir(root())
        .args([
            "check",
            "--server",
            &peer.server,
            "--seed",
            "1",
            "--format",
            "json",
        ])
        .output()
        .expect("the kit runs");
    let report: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(e) => {
            return vec![format!(
                "no JSON report ({e}); exit {:?}; stderr:\n{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            )];
        }
    };
    let mut problems = Vec::new();
    let found = failures(&report);
    for failure in &found {
        let explained = peer
            .defect
            .iter()
            .any(|d| d.covers(&failure.check, &failure.rule));
        if !explained {
            problems.push(format!(
                "{} failed, and no listed defect explains it (a false alarm?): {}",
                failure.check,
                first_line(&failure.what)
            ));
        }
    }
    for defect in &peer.defect {
        for check in defect.checks.iter().filter(|c| !c.ends_with('*')) {
            let failed = found
                .iter()
                .any(|f| &f.check == check && f.rule == defect.rule);
            if !failed {
                problems.push(format!(
                    "{check} no longer fails with {} (fixed in the stack, or a detection lost?): {}",
                    defect.rule, defect.why
                ));
            }
        }
    }
    let conforming = report["conforming"].as_bool();
    if conforming != Some(peer.conforming) {
        problems.push(format!(
            "the report says conforming = {conforming:?}, expected {}",
            peer.conforming
        ));
    }
    let code = output.status.code();
    let expected_code = if peer.conforming { 0 } else { 1 };
    if code != Some(expected_code) {
        problems.push(format!("exit code {code:?}, expected {expected_code}"));
    }
    problems
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Threads that keep the CPUs busy until dropped.
struct Hog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hog {
    fn start(threads: usize) -> Hog {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Hog { stop, threads }
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[test]
fn every_peer_gets_the_verdicts_its_stack_deserves() {
    let text = std::fs::read_to_string(root().join("peers/expected.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).expect("peers/expected.toml parses");
    assert!(corpus.peer.iter().filter(|p| p.conforming).count() >= 3);
    assert!(
        corpus
            .peer
            .iter()
            .filter(|p| !p.conforming && !p.defect.is_empty())
            .count()
            >= 2
    );
    let required = std::env::var("UNBLOCKED_PEERS_REQUIRED").is_ok_and(|v| v == "1");
    let hog_threads = std::env::var("UNBLOCKED_PEERS_HOG").map_or(0, |n| {
        n.parse()
            .expect("UNBLOCKED_PEERS_HOG is a number of threads")
    });
    let _hog = Hog::start(hog_threads);
    let mut report = Vec::new();
    let mut ran = 0;
    let only = std::env::var("UNBLOCKED_PEERS").ok();
    let selected = |name: &str| {
        only.as_ref()
            .is_none_or(|o| o.split(',').any(|n| n == name))
    };
    for peer in corpus.peer.iter().filter(|p| selected(&p.name)) {
        if let Some(why) = missing(peer) {
            eprintln!("peers: SKIPPED {}: {why}", peer.name);
            if required {
                report.push(format!("{}: skipped although required: {why}", peer.name));
            }
            continue;
        }
        ran += 1;
        let problems = judge_peer(peer);
        eprintln!(
            "peers: {} {}",
            peer.name,
            if problems.is_empty() {
                "as expected"
            } else {
                "NOT as expected"
            }
        );
        report.extend(problems.into_iter().map(|p| format!("{}: {p}", peer.name)));
    }
    eprintln!("peers: {ran} of {} run", corpus.peer.len());
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn defect_patterns_match_ids_and_fuzz_families() {
    assert!(matches("fuzz.*", "fuzz.bytes"));
    assert!(!matches("fuzz.*", "fixtures.get-root"));
    assert!(matches("fixtures.get-root", "fixtures.get-root"));
    assert!(!matches("fixtures.get-root", "fixtures.get-root-with-host"));
}
