//! The supervisor: `unblocked supervise -- COMMAND...` (a hidden subcommand), the process the
//! kit starts instead of a server command, so that no process of the server's tree can
//! outlive the kit, however deep it starts children and whatever groups they join.
//!
//! It makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`), so every orphan of the tree
//! becomes its child; the kit gives it a parent-death signal, so it learns when the kit
//! dies, even by SIGKILL. It then runs the command and waits:
//! - when the command ends, it ends every process left in the tree and exits with the
//!   command's status (re-raising the signal that killed it), so the kit sees the server's
//!   own exit;
//! - on SIGTERM, SIGINT or SIGHUP (the kit's teardown, or the kit's death), it ends the
//!   whole tree: SIGTERM, a grace period, then SIGKILL to what is left.

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The subcommand's name on the kit's command line.
pub const SUBCOMMAND: &str = "supervise";
/// Time the tree gets to end after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);
/// How often the tree is looked at.
const POLL: Duration = Duration::from_millis(10);

/// Runs `command` under supervision; the exit code mirrors the command's.
pub fn run(command: &[String]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("unblocked supervise: no command given");
        return ExitCode::from(2);
    };
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("unblocked supervise: cannot become a subreaper: {e}");
    }
    // The number of the termination signal received, 0 until one is.
    let signalled = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) =
            signal_hook::flag::register_usize(signal, Arc::clone(&signalled), signal as usize)
        {
            eprintln!("unblocked supervise: cannot handle signal {signal}: {e}");
        }
    }
    let child = match Command::new(program).args(args).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("unblocked supervise: cannot start `{program}`: {e}");
            return ExitCode::from(127);
        }
    };
    let main = Pid::from_raw(child.id() as i32);
    loop {
        let signal = signalled.load(Ordering::SeqCst);
        if signal != 0 {
            end_tree(GRACE);
            return ExitCode::from(128u8.wrapping_add(signal as u8));
        }
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == main => {
                end_tree(GRACE);
                return ExitCode::from(code as u8);
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == main => {
                end_tree(GRACE);
                // Dies of the same signal, so the kit sees how the server ended.
                let _ = signal_hook::low_level::emulate_default_handler(signal as i32);
                return ExitCode::from(128u8.wrapping_add(signal as u8));
            }
            _ => {}
        }
        std::thread::sleep(POLL); // polls the tree: waitpid with WNOHANG has no timeout
    }
}

/// Ends every descendant: SIGTERM, up to `grace` for them to go, then SIGKILL; reaps them.
fn end_tree(grace: Duration) {
    let me = std::process::id() as i32;
    for pid in descendants(me) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !descendants(me).is_empty() {
        reap();
        std::thread::sleep(POLL); // polls for the tree to end
    }
    for _ in 0..3 {
        let left = descendants(me);
        if left.is_empty() {
            break;
        }
        for pid in left {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(POLL);
        reap();
    }
    reap();
}

fn reap() {
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Every live process below `root`, read from `/proc/*/stat` (zombies excluded).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command name is in parentheses and may hold spaces: parse after it.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            if state != "Z" {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found.remove(0);
    found
}
