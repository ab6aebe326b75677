//! Checks run in lanes on sibling instances of a server the kit starts (the default) give
//! exactly the verdicts they give in order on one server (`--sequential`), only sooner.

mod common;

use common::bin_command;
use std::collections::BTreeMap;
use unblocked::kit::report::{Report, Verdict, human};
use unblocked::kit::run::check::{Check, FuzzSettings, Settings};
use unblocked::kit::verdict::RuleId;

fn verdicts(report: &Report) -> BTreeMap<String, (String, Option<RuleId>)> {
    report
        .checks
        .iter()
        .map(|c| {
            let verdict = report.verdict_of(c).as_str().to_string();
            (c.id.clone(), (verdict, c.rule))
        })
        .collect()
}

fn run(command: &str, sequential: bool) -> Report {
    let settings = Settings {
        sequential,
        fuzz: FuzzSettings {
            cases: 50,
            seed: Some(1),
            save_failures: None,
        },
        ..Settings::default()
    };
    Check::server(command)
        .settings(settings)
        .run()
        .expect("the server starts")
}

#[test]
fn lanes_give_the_verdicts_of_a_sequential_run() {
    for command in [
        bin_command(
            "hello-server",
            "--bind 127.0.0.1:{port} --sleep 500ms --quiet",
        ),
        // Fails every concurrency check but the calibration: failures seen among the other
        // checks are confirmed alone.
        bin_command(
            "broken-server",
            "--bind 127.0.0.1:{port} --sleep 500ms --flaw sequential",
        ),
        // Dies on some inputs: deaths are blamed in their lane, as in order.
        bin_command(
            "broken-server",
            "--bind 127.0.0.1:{port} --sleep 500ms --flaw panic-on-non-utf8,lowercase-get",
        ),
    ] {
        let in_lanes = run(&command, false);
        let in_order = run(&command, true);
        let style = human::Style::plain();
        assert_eq!(
            verdicts(&in_lanes),
            verdicts(&in_order),
            "{command}\nin lanes:\n{}\nin order:\n{}",
            human::render(&in_lanes, &style),
            human::render(&in_order, &style)
        );
        // Lanes keep the plan's order in the report.
        let ids = |r: &Report| r.checks.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&in_lanes), ids(&in_order));
    }
}

/// A server whose instances start slowly when several start at once (as a JVM compiling
/// its source does on two cores): the siblings the kit starts are its own business, so
/// the verdicts are those of a sequential run, and none is a start-up failure.
#[test]
fn siblings_that_start_slowly_change_no_verdict() {
    // The first instance starts at once and every later one does 500 ms of start-up work
    // (shared with those starting beside it): the kit cannot foresee it, so siblings that
    // start beside the others miss the 1.5 s timeout, and their checks run again alone.
    // Then every instance does 400 ms of work: measured on the first, the kit starts no
    // more siblings at once than fit the 2 s timeout, and none misses it.
    for (fast_first, timeout, deferred) in [(true, "1500ms", true), (false, "2s", false)] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let work = if fast_first { "500ms" } else { "400ms" };
        let command = bin_command(
            "broken-server",
            &format!(
                "--bind 127.0.0.1:{{port}} --sleep 500ms --slow-start {work} --start-dir {}{}",
                shell_words::quote(&dir.path().to_string_lossy()),
                if fast_first {
                    " --fast-first-start"
                } else {
                    ""
                }
            ),
        );
        let run = |sequential: bool| {
            let mut settings = Settings {
                sequential,
                ..Settings::default()
            };
            settings.target.startup_timeout = humantime::parse_duration(timeout).unwrap();
            Check::server(&command)
                .settings(settings)
                .only(&[
                    "fixtures.get-root",
                    "fixtures.get-sleep",
                    "fixtures.head-sleep",
                    "concurrency",
                ])
                .run()
                .expect("the first instance starts")
        };
        let in_lanes = run(false);
        let in_order = run(true);
        let style = human::Style::plain();
        let shown = human::render(&in_lanes, &style);
        assert_eq!(
            verdicts(&in_lanes),
            verdicts(&in_order),
            "{command}\n{shown}"
        );
        assert!(
            in_lanes.checks.iter().all(|c| c.verdict != Verdict::Fail),
            "a start-up problem failed a check:\n{shown}"
        );
        let noted = in_lanes.notes.iter().any(|n| n.starts_with("start-up:"));
        assert_eq!(noted, deferred, "{:?}\n{shown}", in_lanes.notes);
    }
}
