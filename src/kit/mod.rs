//! The conformance kit: it judges any server, the reference one too, as a black box
//! through a socket. Nothing here imports [`crate::server`]; the two share only
//! [`crate::pages`].
//!
//! # Layout
//!
//! The folders are layers; each uses only those below it.
//! - [`cli`]: the `unblocked` command line: arguments, delivering reports, the matrix.
//! - [`run`]: running a plan: the library entry point [`run::check::Check`], settings, the
//!   context a check may use, the schedule (lanes on sibling instances), the target.
//! - [`checks`]: the groups: pages, fixtures, fuzz and concurrency, over the context.
//! - [`report`]: results as data; the human, JSON, JUnit and HTML renderers; baselines and
//!   replay commands.
//! - [`verdict`]: what is right: the expectations of a request, the shared verifier of an
//!   exchange, the rules and the requirement ledger they rest on.
//! - [`http`]: the raw client, the one response parser, the surf backend, the escapes.
//! - [`files`]: reading and writing the user's files without damage.

pub mod checks;
pub mod cli;
pub mod files;
pub mod http;
pub mod report;
pub mod run;
pub mod verdict;

/// docs/policy.md shows the tables the kit actually uses (a unit test, so that mutation
/// testing of the table code with `--lib` sees it).
#[cfg(test)]
mod readme_tables {
    #[test]
    fn readme_prints_the_rows_the_features_and_the_rules() {
        let readme = include_str!("../../docs/policy.md");
        for (what, table) in [
            ("rows", super::verdict::expect::markdown_rows()),
            (
                "features",
                super::verdict::expect::features::markdown_table(),
            ),
            ("rules", super::verdict::rules::markdown_rules()),
            ("ledger", super::verdict::rules::markdown_ledger()),
        ] {
            assert!(
                readme.contains(&table),
                "docs/policy.md is out of date; paste these {what}:\n{table}"
            );
        }
    }
}
