//! Deaths are blamed on the input that caused them: after any check whose connection ended
//! without an answer, the kit confirms the server still lives before moving on, and the
//! same input gets the same blame on every run.

mod common;

use common::bin_command;
use unblocked::kit::report::{Report, Verdict, human};
use unblocked::kit::run::check::Check;

fn broken(flaw: &str) -> String {
    bin_command(
        "broken-server",
        &format!("--bind 127.0.0.1:{{port}} --sleep 500ms --flaw {flaw}"),
    )
}

fn render(report: &Report) -> String {
    human::render(report, &human::Style::plain())
}

/// The checks blamed for a death or a dead listener, in order.
fn blamed(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| {
            matches!(
                c.rule.map(|r| r.name()),
                Some("server-died" | "stopped-answering")
            )
        })
        .map(|c| c.id.as_str())
        .collect()
}

/// Regression: the book's single-threaded listing dies on an empty connection
/// (`lines().next().unwrap()` on `None`); the silent close passes as allowed, and the death
/// was reported one to four checks later, on a harmless request, differently each run.
#[test]
fn a_death_on_an_empty_connection_is_blamed_on_that_fixture_every_time() {
    const RUNS: usize = 5;
    for run in 1..=RUNS {
        let report = Check::server(&broken("book-single"))
            .only(&["fixtures"])
            .run()
            .expect("the server starts");
        let text = render(&report);
        assert_eq!(
            blamed(&report),
            ["fixtures.empty-connection", "fixtures.non-utf8-target"],
            "run {run}:\n{text}"
        );
        let empty = report.check("fixtures.empty-connection").unwrap();
        assert_eq!(empty.verdict, Verdict::Fail);
        assert!(
            empty.detail.contains("exited with status 101"),
            "{}",
            empty.detail
        );
        assert!(empty.detail.contains("restarted"), "{}", empty.detail);
        // Restarted, the server serves every later check.
        let last = report.checks.last().unwrap();
        assert_ne!(
            last.rule.map(|r| r.name()),
            Some("no-response"),
            "run {run}:\n{text}"
        );
    }
}
