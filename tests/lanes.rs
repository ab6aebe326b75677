//! Checks run in lanes on sibling instances of a server the kit starts (the default) give
//! exactly the verdicts they give in order on one server (`--sequential`), only sooner.

mod common;

use common::bin_command;
use std::collections::BTreeMap;
use unblocked::kit::check::{Check, FuzzSettings, Settings};
use unblocked::kit::report::{Report, human};

fn verdicts(report: &Report) -> BTreeMap<String, (String, Option<String>)> {
    report
        .checks
        .iter()
        .map(|c| {
            let verdict = report.verdict_of(c).as_str().to_string();
            (c.id.clone(), (verdict, c.rule.clone()))
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
