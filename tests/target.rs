//! The kit's targets: starting a server command, the bundled reference server, or reaching
//! a running server; and tearing every started process group down again.
//!
//! Every target is started and dropped on the test's own thread (the parent-death signal
//! is tied to the spawning thread). Nothing here sleeps to synchronise: waits poll for a
//! real event (a process group gone, an output line arrived) under a deadline.

use assert_cmd::cargo::cargo_bin;
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::time::{Duration, Instant};
use unblocked::kit::http::raw;
use unblocked::kit::report::TargetInfo;
use unblocked::kit::run::target::{Target, TargetOptions, TargetSpec};

/// Bound on every socket operation, start-up and wait: generous, since CI machines are busy.
const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between two looks at something the test is waiting for.
const POLL: Duration = Duration::from_millis(10);

fn options() -> TargetOptions {
    TargetOptions {
        startup_timeout: IO_TIMEOUT,
        ..TargetOptions::default()
    }
}

fn quoted_bin(name: &str) -> String {
    shell_words::quote(&cargo_bin(name).to_string_lossy()).into_owned()
}

fn hello_server() -> String {
    quoted_bin("hello-server")
}

/// Polls `condition` until it holds or `IO_TIMEOUT` passes.
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL); // polling a real event, not synchronising
    }
}

fn group_exists(pgid: u32) -> bool {
    killpg(Pid::from_raw(pgid as i32), None) != Err(Errno::ESRCH)
}

fn assert_group_gone(pgid: u32) {
    assert!(
        eventually(|| !group_exists(pgid)),
        "process group {pgid} still exists: {:?}",
        group_members(pgid)
    );
}

/// The processes in a process group, as `(pid, state)`, read from /proc (Linux).
fn group_members(pgid: u32) -> Vec<(u32, char)> {
    let entries = std::fs::read_dir("/proc").expect("these tests need /proc (Linux)");
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|f| f.parse::<u32>().ok()) == Some(pgid) {
            members.push((pid, fields[0].chars().next().unwrap_or('?')));
        }
    }
    members
}

fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

fn has_listening_line(target: &Target) -> bool {
    target
        .output_tail()
        .iter()
        .any(|line| line.starts_with("out| listening on http://"))
}

fn start_error(spec: TargetSpec, options: TargetOptions) -> String {
    match Target::start(spec, options) {
        Ok(target) => panic!("started, at {}", target.addr()),
        Err(e) => e.message,
    }
}

#[test]
fn a_command_gets_a_port_below_the_ephemeral_range_and_its_group_is_torn_down() {
    let template = format!("{} --bind 127.0.0.1:{{port}} --sleep 100ms", hello_server());
    let mut target = Target::start(TargetSpec::Command(template.clone()), options()).unwrap();
    let addr = target.addr();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert!(
        (10000..ephemeral_low()).contains(&addr.port()),
        "port {} is not in [10000, {})",
        addr.port(),
        ephemeral_low()
    );
    assert!(raw::answers_get_root(addr, IO_TIMEOUT));
    assert_eq!(target.info(), TargetInfo::Command(template));
    assert!(target.restartable());
    assert_eq!(target.exit_description(), None);
    assert!(
        eventually(|| has_listening_line(&target)),
        "{:?}",
        target.output_tail()
    );
    let pid = target.pid().expect("a started target has a pid");
    assert!(group_exists(pid));
    drop(target);
    assert_group_gone(pid);
    assert!(!raw::answers_get_root(addr, Duration::from_secs(1)));
}

#[test]
fn a_shell_wrapper_and_its_children_are_torn_down_together() {
    let script = format!("{} --bind 127.0.0.1:$PORT & wait", hello_server());
    let template = format!("sh -c {}", shell_words::quote(&script));
    let target = Target::start(TargetSpec::Command(template), options()).unwrap();
    assert!(raw::answers_get_root(target.addr(), IO_TIMEOUT));
    let pgid = target.pid().unwrap();
    // The supervisor, sh and hello-server share the group.
    let members = group_members(pgid);
    assert!(members.len() >= 3, "{members:?}");
    drop(target);
    assert_group_gone(pgid);
    for (pid, _) in members {
        assert!(
            eventually(|| kill(Pid::from_raw(pid as i32), None) == Err(Errno::ESRCH)),
            "process {pid} survived"
        );
    }
}

#[test]
fn commands_that_cannot_start_are_setup_errors() {
    let missing = start_error(
        TargetSpec::Command("/nonexistent/not-a-server --port {port}".into()),
        options(),
    );
    assert!(
        missing.contains("cannot start `/nonexistent/not-a-server`: no such file"),
        "{missing}"
    );
    // Issue 20 §16: a directory was "no such program".
    let dir = tempfile::tempdir().unwrap();
    let directory = start_error(
        TargetSpec::Command(format!("{} {{port}}", dir.path().display())),
        options(),
    );
    assert!(
        directory.contains("it is a directory, not a program"),
        "{directory}"
    );
    // Issue 20 §16: a server that speaks HTTP/2 only got "did not answer GET /" after the
    // whole start-up timeout; what it sent is quoted at once.
    let h2 = start_error(
        TargetSpec::Command(format!(
            "{} --bind 127.0.0.1:{{port}} --flaw http2-only",
            assert_cmd::cargo::cargo_bin("broken-server").display()
        )),
        options(),
    );
    assert!(
        h2.contains(r#"not an HTTP/1.x response: it starts with "\0\0\x06\x04"#)
            && h2.contains("HTTP/2"),
        "{h2}"
    );
    let unknown = start_error(
        TargetSpec::Command("no-such-server-program-anywhere {port}".into()),
        options(),
    );
    assert!(unknown.contains("no such program in PATH"), "{unknown}");

    for bad in ["", "   ", "server 'unterminated"] {
        let message = start_error(TargetSpec::Command(bad.into()), options());
        assert!(
            message.contains("empty") || message.contains("cannot parse"),
            "{bad:?}: {message}"
        );
    }

    let crashed = start_error(
        TargetSpec::Command("sh -c 'echo boom >&2; exit 3'".into()),
        options(),
    );
    assert!(
        crashed.contains("exited during start-up")
            && crashed.contains("status 3")
            && crashed.contains("err| boom"),
        "{crashed}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // `exec` keeps the shell's pid, which is also the process group id.
    let script = format!(
        "echo $$ > {}; exec sleep 30",
        shell_words::quote(&pid_file.to_string_lossy())
    );
    let started = Instant::now();
    let message = start_error(
        TargetSpec::Command(format!("sh -c {}", shell_words::quote(&script))),
        TargetOptions {
            startup_timeout: Duration::from_millis(500),
            ..TargetOptions::default()
        },
    );
    assert!(
        message.contains("did not answer GET / within 500ms"),
        "{message}"
    );
    assert!(started.elapsed() < IO_TIMEOUT, "{:?}", started.elapsed());
    let pgid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_group_gone(pgid);
}

#[test]
fn a_port_in_use_is_retried_on_another_port() {
    let dir = tempfile::tempdir().unwrap();
    let marker = shell_words::quote(&dir.path().join("tried").to_string_lossy()).into_owned();
    let script = format!(
        "if [ ! -e {marker} ]; then echo $PORT > {marker}; echo 'Error: Address already in use (os error 98)' >&2; exit 1; fi; exec {} --bind 127.0.0.1:$PORT",
        hello_server()
    );
    let target = Target::start(
        TargetSpec::Command(format!("sh -c {}", shell_words::quote(&script))),
        options(),
    )
    .unwrap();
    let refused: u16 = std::fs::read_to_string(dir.path().join("tried"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(target.addr().port(), refused, "retried on the same port");
    assert!(raw::answers_get_root(target.addr(), IO_TIMEOUT));
    drop(target);

    let tries = dir.path().join("tries");
    let script = format!(
        "echo $PORT >> {}; echo 'listen EADDRINUSE' >&2; exit 1",
        shell_words::quote(&tries.to_string_lossy())
    );
    let message = start_error(
        TargetSpec::Command(format!("sh -c {}", shell_words::quote(&script))),
        options(),
    );
    assert!(
        message.contains("status 1") && message.contains("EADDRINUSE"),
        "{message}"
    );
    let ports = std::fs::read_to_string(&tries).unwrap();
    let mut distinct: Vec<&str> = ports.lines().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!((ports.lines().count(), distinct.len()), (5, 5), "{ports}");
}

#[test]
fn the_bundled_server_restarts_and_reports_how_it_ended() {
    let exe = cargo_bin("unblocked");
    let spec = TargetSpec::Bundled {
        exe: exe.clone(),
        sleep: Duration::from_millis(200),
    };
    let mut target = Target::start(spec, options()).unwrap();
    assert!(raw::answers_get_root(target.addr(), IO_TIMEOUT));
    match target.info() {
        TargetInfo::Command(command) => assert!(
            command.contains("serve") && command.contains("--sleep 200ms"),
            "{command}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        target
            .output_tail()
            .iter()
            .any(|l| l.contains("listening on"))
    );
    assert!(target.restartable());

    let first_pid = target.pid().unwrap();
    target.restart().unwrap();
    let pid = target.pid().unwrap();
    assert_ne!(pid, first_pid);
    // The output of a process is told apart from the one it replaced.
    let listening = |lines: Vec<String>| {
        lines
            .into_iter()
            .filter(|l| l.contains("listening on"))
            .collect::<Vec<_>>()
    };
    assert_eq!(listening(target.output_tail()).len(), 2);
    let own = listening(target.process_output_tail(100));
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(own[0].contains(&target.addr().to_string()), "{own:?}");
    assert_group_gone(first_pid);
    assert!(raw::answers_get_root(target.addr(), IO_TIMEOUT));
    assert_eq!(target.exit_description(), None);

    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    let mut ended = None;
    assert!(eventually(|| {
        ended = target.exit_description();
        ended.is_some()
    }));
    let ended = ended.unwrap();
    assert!(
        ended.contains("SIGKILL") || ended.contains("signal 9"),
        "{ended}"
    );
    target.stop();
    target.stop();
    assert_eq!(target.exit_description(), Some(ended));
    assert_group_gone(pid);
}

#[test]
fn a_crash_after_start_up_is_described_with_its_status() {
    let script = format!(
        "{} --bind 127.0.0.1:$PORT & server=$!; wait $server; exit 101",
        hello_server()
    );
    let mut target = Target::start(
        TargetSpec::Command(format!("sh -c {}", shell_words::quote(&script))),
        options(),
    )
    .unwrap();
    assert_eq!(target.exit_description(), None);
    // It answered, so the server runs: in the group, under the supervisor and the wrapper.
    let server = group_members(target.pid().unwrap())
        .into_iter()
        .map(|(pid, _)| pid)
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == "hello-server")
        })
        .expect("the server in the target's group");
    // The wrapper ends with status 101 once its server is gone.
    kill(Pid::from_raw(server as i32), Signal::SIGKILL).unwrap();
    let mut ended = None;
    assert!(eventually(|| {
        ended = target.exit_description();
        ended.is_some()
    }));
    assert_eq!(ended.unwrap(), "exited with status 101");
}

#[test]
fn a_running_server_is_reached_by_address() {
    let template = format!("{} --bind 127.0.0.1:{{port}} --quiet", hello_server());
    let server = Target::start(TargetSpec::Command(template), options()).unwrap();
    let text = server.addr().to_string();
    let mut target = Target::start(TargetSpec::Addr(text.clone()), options()).unwrap();
    assert_eq!(target.addr(), server.addr());
    assert_eq!(target.info(), TargetInfo::Addr(text));
    assert!(!target.restartable());
    assert!(target.restart().is_err());
    assert_eq!(target.pid(), None);
    assert_eq!(target.exit_description(), None);
    assert!(target.output_tail().is_empty());
    target.stop();
    assert!(raw::answers_get_root(server.addr(), IO_TIMEOUT));

    // An address is waited for (a server may still be starting), then given up on.
    let briefly = TargetOptions {
        startup_timeout: Duration::from_millis(300),
        ..options()
    };
    let nothing = start_error(TargetSpec::Addr("127.0.0.1:1".into()), briefly);
    assert!(
        nothing.contains("nothing answered GET / at 127.0.0.1:1 within 300ms")
            && nothing.contains("refused the connection"),
        "{nothing}"
    );
    let bad = start_error(TargetSpec::Addr("no-port-here".into()), options());
    assert!(bad.contains("no-port-here"), "{bad}");
}

#[test]
fn a_chatty_server_never_blocks_and_its_output_is_bounded() {
    // 5 MB on stderr before the server starts: it would block on a pipe nobody reads.
    let script = format!(
        "yes spam | head -c 5000000 >&2; echo \"var=$UNBLOCKED_TEST_VAR\" >&2; exec {} --bind 127.0.0.1:$PORT --quiet",
        hello_server()
    );
    let options = TargetOptions {
        startup_timeout: Duration::from_secs(60),
        output_lines: 50,
        env: vec![("UNBLOCKED_TEST_VAR".into(), "passed".into())],
        ..TargetOptions::default()
    };
    let target = Target::start(
        TargetSpec::Command(format!("sh -c {}", shell_words::quote(&script))),
        options,
    )
    .unwrap();
    assert!(raw::answers_get_root(target.addr(), IO_TIMEOUT));
    // Lines of stderr arrive in order, after the spam: once the last one is in, all are.
    assert!(
        eventually(|| target.output_tail().iter().any(|l| l == "err| var=passed")),
        "{:?}",
        target.output_tail()
    );
    let tail = target.output_tail();
    assert!(tail.len() <= 50, "{} lines kept", tail.len());
    assert!(tail.iter().any(|l| l == "err| spam"), "{tail:?}");
}
