//! `unblocked` under faults and bad input: nothing is lost (unwritable outputs, signals,
//! setup errors), no process is left behind, messages say what happened, and nonsense is
//! refused before anything runs.

mod common;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use common::{
    Guarded, IO_TIMEOUT, ServerProcess, bin_command, eventually, marked_processes, unique_marker,
    wait_for_file,
};
use nix::sys::signal::Signal;
use predicates::prelude::*;
use std::io::Write;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A whole run may take a while on a busy machine; this only bounds a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn unblocked() -> Command {
    let mut command = Command::cargo_bin("unblocked").unwrap();
    command.timeout(RUN_TIMEOUT).env("NO_COLOR", "1");
    command
}

fn hello(args: &str) -> String {
    bin_command("hello-server", &format!("--quiet {args}"))
}

/// A server command that records that it was started (a file in `dir`), then serves.
fn recording_server(dir: &std::path::Path) -> String {
    let started = dir.join("started");
    format!(
        "sh -c 'echo $$ > {}; exec {} --bind 127.0.0.1:$PORT --quiet --sleep 300ms'",
        started.display(),
        cargo_bin("hello-server").display()
    )
}

#[test]
fn an_unwritable_output_is_a_usage_error_before_any_check_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(dir.path());
    for output in [
        "/proc/no-such-dir/report.json".to_string(),
        dir.path().display().to_string(),
    ] {
        let started = Instant::now();
        unblocked()
            .args(["check", "--server", &server, "--output", &output])
            .args(["--format", "json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("--output {output}")));
        assert!(
            !dir.path().join("started").exists(),
            "the server was started"
        );
        assert!(started.elapsed() < IO_TIMEOUT, "{:?}", started.elapsed());
    }
}

#[test]
fn a_report_file_is_written_whole_and_leaves_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    unblocked()
        .args(["check", "--server", &hello("--bind 127.0.0.1:{port}")])
        .args([
            "--only",
            "fixtures.get-root",
            "--format",
            "json",
            "--output",
        ])
        .arg(&file)
        .assert()
        .code(0);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).expect("one whole document");
    assert_eq!(doc["checks"][0]["id"], "fixtures.get-root");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.json"]);
}

#[test]
fn stdout_that_cannot_be_written_is_a_clear_error_not_a_panic() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut kit = Guarded(
        std::process::Command::new(cargo_bin("unblocked"))
            .args(["check", "--server", &hello("--bind 127.0.0.1:{port}")])
            .args(["--only", "fixtures.get-root"])
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let status = kit.wait_within(RUN_TIMEOUT).expect("the kit finishes");
    let mut stderr = String::new();
    std::io::Read::read_to_string(kit.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the report on stdout: No space left on device"),
        "{stderr}"
    );
}

#[test]
fn setup_errors_still_give_a_document_in_machine_formats() {
    let crash = "sh -c 'echo cannot open config >&2; exit 7'";
    let json = unblocked()
        .args(["check", "--server", crash, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["target"]["command"], crash);
    assert_eq!(doc["conforming"], false);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("exited with status 7")
    );
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("cannot open config")
    );

    let addr = unused_addr();
    let junit = unblocked()
        .args(["check", "--addr", &addr, "--startup-timeout", "200ms"])
        .args(["--format", "junit"])
        .output()
        .unwrap();
    assert_eq!(junit.status.code(), Some(2));
    let text = String::from_utf8(junit.stdout).unwrap();
    assert!(text.contains(r#"errors="1""#), "{text}");
    assert!(text.contains(r#"type="setup-error""#), "{text}");
    assert!(
        text.contains(&format!("nothing answered GET / at {addr}")),
        "{text}"
    );
}

/// A port nothing listens on (bound, then freed).
fn unused_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Starts the kit on a server that records its pid and its port, and waits until that
/// server answers: the run is under way.
fn kit_under_way(
    dir: &std::path::Path,
    extra: &[&str],
    marker: &(String, String),
) -> (Guarded, u32) {
    let (pid_file, log) = (dir.join("pid"), dir.join("log"));
    let server = format!(
        "sh -c 'echo $$ > {}; exec {} --bind 127.0.0.1:$PORT --sleep 1s 2> {}'",
        pid_file.display(),
        cargo_bin("hello-server").display(),
        log.display()
    );
    let kit = std::process::Command::new(cargo_bin("unblocked"))
        .args(["check", "--server", &server])
        .args(extra)
        .env(&marker.0, &marker.1)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kit = Guarded(kit);
    // The server logs a line per request on stderr. Start-up sends a few; ten say the checks are
    // under way (answering a probe of our own would not: the kit may still be starting).
    assert!(
        eventually(|| std::fs::read_to_string(&log).is_ok_and(|text| text.lines().count() >= 10)),
        "the kit never got to its checks"
    );
    let pid: u32 = wait_for_file(&pid_file).parse().unwrap();
    (kit, pid)
}

#[test]
fn an_interrupted_run_reports_the_checks_that_finished_and_exits_128_plus_the_signal() {
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let dir = tempfile::tempdir().unwrap();
        let marker = unique_marker();
        let report = dir.path().join("report.json");
        let extra = ["--format", "json", "--output", report.to_str().unwrap()];
        let (mut kit, _) = kit_under_way(dir.path(), &extra, &marker);
        kit.signal(signal);
        let status = kit
            .wait_within(IO_TIMEOUT)
            .expect("the kit exits on the signal");
        assert_eq!(status.code(), Some(code), "{signal}");
        let stdout = std::fs::read(&report).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&stdout)
            .unwrap_or_else(|e| panic!("{signal}: {e}: {}", String::from_utf8_lossy(&stdout)));
        assert_eq!(doc["interrupted"], true);
        assert_eq!(doc["conforming"], false);
        // No check cut short by the teardown is reported as the server's failure.
        for check in doc["checks"].as_array().unwrap() {
            assert_ne!(check["verdict"], "fail", "{signal}: {check}");
        }
        assert!(
            eventually(|| marked_processes(&format!("{}={}", marker.0, marker.1)).is_empty()),
            "{signal}: processes left behind"
        );
    }
}

/// The places a report may go are written, never replaced: `/dev/null` stays a device, a
/// symlink stays a link; two outputs that are one file, or a `--save-failures` directory
/// that cannot be made, are refused before the server starts.
#[test]
fn outputs_are_written_without_damage_and_clashes_refused_before_the_run() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let server = hello("--bind 127.0.0.1:{port}");
    unblocked()
        .args(["check", "--server", &server, "--only", "fixtures.get-root"])
        .args(["--format", "json", "--output", "/dev/null"])
        .assert()
        .code(0);
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");
    let target = dir.path().join("real.json");
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    unblocked()
        .args(["check", "--server", &server, "--only", "fixtures.get-root"])
        .args(["--format", "json", "--output", link.to_str().unwrap()])
        .assert()
        .code(0);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(doc["conforming"], true);
    let recorder = recording_server(dir.path());
    let same = dir.path().join("same.toml");
    for (extra, says) in [
        (
            vec![
                "--output",
                same.to_str().unwrap(),
                "--write-baseline",
                same.to_str().unwrap(),
            ],
            "is also the baseline file",
        ),
        (
            vec!["--save-failures", "/proc/self/no-such-dir/saved"],
            "--save-failures /proc/self/no-such-dir/saved",
        ),
    ] {
        unblocked()
            .args(["check", "--server", &recorder])
            .args(&extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
        assert!(
            !dir.path().join("started").exists(),
            "the server was started"
        );
        assert!(!same.exists());
    }
}

/// A signal while the final document is being written (stdout is a pipe nobody reads yet,
/// so the kit is blocked in the middle of it): the one document is finished, whole.
#[test]
fn a_signal_during_the_final_write_lets_the_document_finish() {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::io::Read;
    use std::os::fd::AsFd;
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let mut kit = std::process::Command::new(cargo_bin("unblocked"))
            .args(["check", "--server", &hello("--bind 127.0.0.1:{port}")])
            .args(["--only", "fixtures", "--format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = kit.stdout.take().unwrap();
        let mut kit = Guarded(kit);
        // The document starts once every check is done; it is larger than the pipe holds.
        let timeout = PollTimeout::try_from(RUN_TIMEOUT.as_millis() as i32).unwrap();
        let mut ready = [PollFd::new(stdout.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut ready, timeout), Ok(1), "no document came");
        kit.signal(signal);
        let mut document = Vec::new();
        stdout.read_to_end(&mut document).unwrap();
        kit.wait_within(IO_TIMEOUT).expect("the kit exits");
        let doc: serde_json::Value = serde_json::from_slice(&document)
            .unwrap_or_else(|e| panic!("{signal}: {e} after {} bytes", document.len()));
        assert!(
            document.len() > 64 * 1024,
            "{} bytes fit the pipe",
            document.len()
        );
        assert_eq!(doc["interrupted"], false, "{signal}: the final report");
        assert!(doc["checks"].as_array().unwrap().len() > 100);
    }
}

/// A server whose children leave its process group (`setsid`, a double fork) and ignore
/// SIGTERM: an interrupted kit waits for the supervisor to end them all before it exits.
#[test]
fn an_interrupted_kit_leaves_no_daemon_of_the_server_behind() {
    let hello = cargo_bin("hello-server").display().to_string();
    let daemonising = format!(
        "sh -c 'setsid sh -c \"trap \\\"\\\" TERM; (setsid sleep 1000 &); exec sleep 1000\" & exec {hello} --bind 127.0.0.1:$PORT --quiet'"
    );
    let in_own_session = format!("setsid {hello} --bind 127.0.0.1:{{port}} --quiet --sleep 2s");
    for (server, signal) in [
        (daemonising, Signal::SIGINT),
        (in_own_session, Signal::SIGTERM),
    ] {
        let marker = unique_marker();
        let pair = format!("{}={}", marker.0, marker.1);
        let mut kit = Guarded(
            std::process::Command::new(cargo_bin("unblocked"))
                .args(["check", "--server", &server, "--only", "concurrency"])
                .env(&marker.0, &marker.1)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        assert!(
            eventually(|| marked_processes(&pair).iter().any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == "hello-server")
            })),
            "{server}: the server never ran"
        );
        kit.signal(signal);
        kit.wait_within(IO_TIMEOUT)
            .expect("the kit exits on the signal");
        assert!(
            eventually(|| marked_processes(&pair).is_empty()),
            "{server}: left behind: {:?}",
            marked_processes(&pair)
        );
    }
}

/// `kill -9` of the kit runs no handler: the supervisor between the kit and the server
/// gets a parent-death signal and kills every process the server started.
#[test]
fn a_killed_kit_leaves_no_process_of_the_servers_tree_behind() {
    let hello = cargo_bin("hello-server").display().to_string();
    let two_deep = format!("sh -c '{hello} --bind 127.0.0.1:$PORT --quiet; echo done'");
    let three_deep = format!(
        "sh -c \"sh -c '{hello} --bind 127.0.0.1:\\$PORT --quiet; echo inner'; echo outer\""
    );
    for server in [two_deep, three_deep] {
        let marker = unique_marker();
        let pair = format!("{}={}", marker.0, marker.1);
        let mut kit = Guarded(
            std::process::Command::new(cargo_bin("unblocked"))
                .args(["check", "--server", &server, "--only", "concurrency"])
                .env(&marker.0, &marker.1)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // The server runs once a hello-server carries the marker.
        assert!(
            eventually(|| marked_processes(&pair).iter().any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == "hello-server")
            })),
            "{server}: the server never ran"
        );
        kit.0.kill().unwrap();
        kit.0.wait().unwrap();
        assert!(
            eventually(|| marked_processes(&pair).is_empty()),
            "{server}: left behind: {:?}",
            marked_processes(&pair)
        );
    }
}

#[test]
fn an_address_is_waited_for_and_what_answered_is_quoted() {
    // Nothing there: the wait lasts the startup timeout and says what the probes saw.
    let addr = unused_addr();
    let started = Instant::now();
    unblocked()
        .args(["check", "--addr", &addr, "--startup-timeout", "1s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "nothing answered GET / at {addr} within 1s"
        )))
        .stderr(predicate::str::contains("refused the connection"));
    assert!(started.elapsed() >= Duration::from_secs(1));

    // Something that is not HTTP: its first bytes are quoted.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
        }
    });
    unblocked()
        .args(["check", "--addr", &addr, "--startup-timeout", "2s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            r#"it starts with "SSH-2.0-OpenSSH_9.6\r\n""#,
        ));

    // A server that comes up while the kit waits is checked.
    let port = unused_addr();
    let kit = std::process::Command::new(cargo_bin("unblocked"))
        .args(["check", "--addr", &port, "--startup-timeout", "60s"])
        .args(["--only", "fixtures.get-root"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut kit = Guarded(kit);
    let _server = ServerProcess::start("hello-server", &["--bind", &port, "--quiet"]);
    let status = kit.wait_within(RUN_TIMEOUT).expect("the kit finishes");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn nonsense_is_refused_before_anything_runs() {
    let cases: &[(&[&str], &str)] = &[
        (&["check", "--timeout", "0"], "must be more than zero"),
        (
            &["check", "--startup-timeout", "0"],
            "must be more than zero",
        ),
        (&["check", "--sleep", "0"], "must be more than zero"),
        (&["check", "--slow", "0"], "'--slow <K>'"),
        (&["check", "--max", "0"], "'--max <N>'"),
        (&["capacity", "--max", "0"], "'--max <N>'"),
        (
            &["check", "--server", "x", "--sleep", "1s"],
            "cannot be used with",
        ),
        (
            &["check", "--only", "fixtures.no-such-case"],
            "no check or group has this name",
        ),
        (&["check", "--server-dir", "/tmp"], "--server"),
    ];
    for (args, message) in cases {
        unblocked()
            .args(*args)
            .timeout(IO_TIMEOUT)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*message));
    }
    for args in [["--read-timeout", "0"], ["--max-connections", "0"]] {
        Command::cargo_bin("hello-server")
            .unwrap()
            .args(args)
            .timeout(IO_TIMEOUT)
            .assert()
            .code(2);
    }
}

#[test]
fn port_variables_in_a_server_command_are_substituted_without_a_shell() {
    for placeholder in ["{port}", "$PORT", "${PORT}"] {
        let server = bin_command(
            "hello-server",
            &format!("--bind 127.0.0.1:{placeholder} --quiet"),
        );
        unblocked()
            .args(["check", "--server", &server, "--only", "fixtures.get-root"])
            .assert()
            .code(0);
    }
}

#[test]
fn server_dir_is_the_working_directory_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.html"), "<p>hi</p>").unwrap();
    // Like the book's server, it needs its page in its working directory.
    let server = format!(
        "sh -c 'test -f hello.html || exit 9; exec {} --bind 127.0.0.1:$PORT --quiet'",
        cargo_bin("hello-server").display()
    );
    unblocked()
        .args(["check", "--server", &server, "--only", "fixtures.get-root"])
        .arg("--server-dir")
        .arg(dir.path())
        .assert()
        .code(0);
    unblocked()
        .args(["check", "--server", &server, "--only", "fixtures.get-root"])
        .current_dir(std::env::temp_dir())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exited with status 9"));
}

/// With `--addr` the kit cannot restart the server: once it is gone, one check says where
/// it stopped and every later one is skipped for that reason.
#[test]
fn a_server_gone_under_addr_stops_the_run_with_one_reason() {
    let server = ServerProcess::start(
        "broken-server",
        &["--bind", "127.0.0.1:0", "--flaw", "exit-after-first"],
    );
    let output = unblocked()
        .args([
            "check",
            "--addr",
            &server.addr.to_string(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    // The kit's wait for the address was the one answer; the first check finds it gone.
    assert_eq!(checks[0]["rule"], "stopped-answering", "{}", checks[0]);
    let reason = format!(
        "the server stopped answering at {}",
        checks[0]["id"].as_str().unwrap()
    );
    for check in &checks[1..] {
        assert_eq!(check["verdict"], "skip", "{check}");
        assert!(
            check["detail"].as_str().unwrap().starts_with(&reason),
            "{check}"
        );
    }
    let human = unblocked()
        .args(["check", "--addr", &server.addr.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.lines()
            .filter(|l| l.contains("stopped answering"))
            .count()
            <= 4,
        "one reason per group, not one per check:\n{text}"
    );
}

/// A server that stops (SIGSTOP) mid-run gets a verdict within the timeouts: the check
/// that met it fails, the kit restarts it, and the run goes on.
#[test]
fn a_stopped_server_gets_a_verdict_within_the_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique_marker();
    let report = dir.path().join("report.json");
    let (mut kit, pid) = kit_under_way(
        dir.path(),
        &[
            "--sequential",
            "--only",
            "fixtures",
            "--timeout",
            "1s",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
        ],
        &marker,
    );
    let started = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGSTOP).unwrap();
    let status = kit.wait_within(Duration::from_secs(120)).expect("no hang");
    eprintln!("finished {:?} after the stop", started.elapsed());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{doc}");
    let stopped: Vec<_> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "stopped-answering")
        .collect();
    assert_eq!(stopped.len(), 1, "{doc}");
    assert!(stopped[0]["detail"].as_str().unwrap().contains("restarted"));
}

#[test]
fn k_lowered_to_fit_the_open_file_limit_is_said_in_the_normal_report() {
    let kit = cargo_bin("unblocked").display().to_string();
    let script = format!(
        "ulimit -n 256 && exec {kit} check --sleep 300ms --only concurrency.slow-does-not-delay-fast --slow 1000"
    );
    Command::new("sh")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .timeout(RUN_TIMEOUT)
        .assert()
        .stdout(
            predicate::str::is_match(
                r"(?m)^note: concurrency\.slow-does-not-delay-fast: K lowered from 1000 to \d+",
            )
            .unwrap(),
        );
}

#[test]
fn a_fixture_pause_longer_than_the_timeout_skips_the_case_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.toml"),
        "[[case]]\nid = \"an-hour-apart\"\ndescription = \"pieces an hour apart\"\n\
         kind = \"hello\"\nchunks = [\"GET / HTTP/1.1\\r\\n\", \"\\r\\n\"]\npause = \"1h\"\n",
    )
    .unwrap();
    let started = Instant::now();
    unblocked()
        .args([
            "check",
            "--sleep",
            "300ms",
            "--only",
            "fixtures.an-hour-apart",
            "--cases",
        ])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("SKIP"))
        .stdout(predicate::str::contains(
            "shorten its pause or raise --timeout",
        ));
    assert!(started.elapsed() < IO_TIMEOUT);
}

#[test]
fn replay_sends_pieces_with_their_pause_and_prints_the_answer() {
    let server = ServerProcess::reference(&[]);
    unblocked()
        .args([
            "replay",
            "--addr",
            &server.addr.to_string(),
            "--pause",
            "50ms",
        ])
        .args(["--", r"GET / HT", r"TP/1.1\r\n\r\n"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(r"HTTP/1.1 200 OK\r\n"));
}

/// Issue 20 §13: the server's output lines went raw into the report: a hostile server could
/// set the terminal's title, clear it or reorder what the user reads.
#[test]
fn the_servers_output_cannot_drive_the_users_terminal() {
    let server = format!(
        r#"sh -c 'printf "\033]0;pwned\007\033[2J\342\200\256evil\n"; exec {} --flaw not-found-as-ok --bind 127.0.0.1:$PORT'"#,
        cargo_bin("broken-server").display()
    );
    let output = unblocked()
        .args(["check", "--server", &server, "--only", "fixtures.get-nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("server output"), "{text}");
    assert!(
        text.contains(r"\x1b]0;pwned\x07\x1b[2J\u{202e}evil"),
        "the line is shown, escaped: {text}"
    );
    assert!(
        !text
            .chars()
            .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'),
        "{text:?}"
    );
}

/// Issue 20 §8: a server that accepts and never answers (once past its start) made a full
/// check practically endless: each check waited out its timeout, two probes and a restart
/// (over 15 minutes). After the server stopped answering a few times, the rest is skipped
/// with the reason, and the run ends in bounded time.
#[test]
fn a_server_that_stops_answering_gets_a_verdict_in_bounded_time() {
    let server = bin_command(
        "broken-server",
        "--bind 127.0.0.1:{port} --sleep 200ms --flaw silent-after-start",
    );
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let output = unblocked()
        .args([
            "check",
            "--server",
            &server,
            "--timeout",
            "1s",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let skipped: Vec<&serde_json::Value> =
        checks.iter().filter(|c| c["verdict"] == "skip").collect();
    assert!(
        skipped.len() > checks.len() / 2,
        "{} of {} skipped",
        skipped.len(),
        checks.len()
    );
    assert!(
        skipped[0]["detail"]
            .as_str()
            .unwrap()
            .contains("stopped answering GET / 3 times"),
        "{}",
        skipped[0]["detail"]
    );
    // Each stop costs a timeout, two probes and a restart; a few stops per lane, with
    // room for a busy machine: far below one timeout per check.
    let bound = timeout * 60;
    assert!(took < bound, "the run took {took:?}");
}
