//! The conformance kit: it judges any server, the reference one too, as a black box
//! through a socket. Nothing here imports [`crate::server`]; the two share only
//! [`crate::pages`].
//!
//! - [`check`]: the run: which checks exist, selection, liveness, the library entry point.
//! - [`schedule`]: running the plan, in order or in lanes on sibling instances.
//! - [`settings`] and [`context`]: what tunes a run and what a running check may use; the
//!   groups depend on these, never on the runner.
//! - [`target`]: launching and reaching the server under test; [`supervise`], the
//!   supervisor it runs a server under so that nothing outlives the kit.
//! - [`learn`]: the `pages` group, the pages bodies are compared with.
//! - [`fixtures`]: the fixture cases, their file format and their runner.
//! - [`fuzz`]: proptest generators and the fuzz checks.
//! - [`concurrency`]: the concurrency checks, with surf clients.
//! - [`expect`]: the verdict policy, the per-feature table and the request analyzer.
//! - [`response`]: the one HTTP/1.x response parser of the whole kit.
//! - [`raw`]: a raw TCP client that frames responses with it.
//! - [`judge`]: the shared verifier of one exchange against the table.
//! - [`escape`]: the byte escape syntax of fixtures, reports and replay commands.
//! - [`replay`]: the command a report gives to reproduce what a check sent.
//! - [`report`]: results as data, and the human, JSON, JUnit and HTML renderers.
//! - [`baseline`]: known failures and measured figures to judge a run against.
//! - [`matrix`]: several implementations checked one after another, side by side.
//! - [`cli`]: the `unblocked` command line.
//! - [`timed_client`]: a surf backend that records connect, sent and first-byte instants.

pub mod baseline;
pub mod check;
pub mod cli;
pub mod concurrency;
pub mod context;
pub mod escape;
pub mod expect;
pub mod files;
pub mod fixtures;
pub mod fuzz;
pub mod judge;
pub mod learn;
pub mod matrix;
pub mod raw;
pub mod replay;
pub mod report;
pub mod response;
pub mod schedule;
pub mod settings;
pub mod supervise;
pub mod target;
pub mod timed_client;
pub mod verdict;

/// The README shows the tables the kit actually uses (a unit test, so that mutation
/// testing of the table code with `--lib` sees it).
#[cfg(test)]
mod readme_tables {
    #[test]
    fn readme_prints_the_rows_the_features_and_the_rules() {
        let readme = include_str!("../../README.md");
        for (what, table) in [
            ("rows", super::expect::markdown_rows()),
            ("features", super::expect::features::markdown_table()),
            ("rules", super::verdict::rules::markdown_rules()),
            ("ledger", super::verdict::rules::markdown_ledger()),
        ] {
            assert!(
                readme.contains(&table),
                "README.md is out of date; paste these {what}:\n{table}"
            );
        }
    }
}
