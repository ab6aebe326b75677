//! `unblocked matrix FILE`: the suite on several implementations, one after another, each
//! on a fresh start, and a side-by-side table of their verdicts: one row per check, one
//! column per implementation, the rows where they disagree first.
//!
//! The file lists the implementations:
//!
//! ```toml
//! [[implementation]]
//! name = "node-http"                          # the column's name
//! server = "node peers/node-http/server.js {port}"
//! # dir = "path"                              # the server's working directory
//! # timeout = "5s", slow = 16, fuzz_cases = 300, pages = "dir", strict = true,
//! # only = ["fixtures"], skip = ["fuzz"]      # per-implementation options
//! ```
//!
//! The other options are the command line's, for every implementation. An implementation
//! that cannot start is shown as such in its column and does not stop the others.

use crate::kit::check::Check;
use crate::kit::cli::args::{Format, MatrixArgs};
use crate::kit::cli::{Ended, output};
use crate::kit::context::Silent;
use crate::kit::report::{Report, Verdict, html, json};
use crate::kit::settings::{FuzzSettings, Settings};
use crate::kit::target::{TargetOptions, TargetSpec};
use crate::kit::verdict::RuleId;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The matrix file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    #[serde(rename = "implementation")]
    pub implementations: Vec<Implementation>,
}

/// One implementation and its own options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Implementation {
    pub name: String,
    pub server: String,
    pub dir: Option<PathBuf>,
    pub timeout: Option<String>,
    pub slow: Option<usize>,
    pub fuzz_cases: Option<u32>,
    pub pages: Option<PathBuf>,
    pub strict: Option<bool>,
    #[serde(default)]
    pub only: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
}

/// What one implementation gave: its report, or why it could not be checked.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub outcome: Result<Report, String>,
}

/// A row: one check's verdict (and rule) in each column, `None` where it did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub check: String,
    pub cells: Vec<Option<(Verdict, Option<RuleId>)>>,
    pub disagree: bool,
}

/// The matrix of a run.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl MatrixFile {
    pub fn load(path: &Path) -> Result<MatrixFile, String> {
        let text = crate::kit::files::read_text(path, crate::kit::files::MAX_INPUT_FILE)
            .map_err(|e| format!("matrix file {}: {e}", path.display()))?;
        let file: MatrixFile = toml::from_str(&text).map_err(|e| {
            format!(
                "matrix file {}: {}",
                path.display(),
                e.to_string().trim_end()
            )
        })?;
        if file.implementations.is_empty() {
            return Err(format!(
                "matrix file {}: no [[implementation]]",
                path.display()
            ));
        }
        Ok(file)
    }
}

impl Implementation {
    /// The check of this implementation: `base` with its own options on top.
    pub fn check(&self, base: &Settings) -> Result<Check, String> {
        let mut settings = base.clone();
        if let Some(timeout) = &self.timeout {
            settings.timeout = humantime::parse_duration(timeout)
                .map_err(|e| format!("{}: timeout {timeout:?}: {e}", self.name))?;
        }
        if let Some(slow) = self.slow {
            settings.concurrency.slow = Some(slow);
        }
        if let Some(cases) = self.fuzz_cases {
            settings.fuzz.cases = cases;
        }
        if let Some(pages) = &self.pages {
            settings.pages_dir = Some(pages.clone());
        }
        if let Some(strict) = self.strict {
            settings.strict = strict;
        }
        if !self.only.is_empty() {
            settings.only = self.only.clone();
        }
        settings.skip.extend(self.skip.iter().cloned());
        settings.target = TargetOptions {
            dir: self.dir.clone(),
            ..settings.target
        };
        let check = Check::new(TargetSpec::Command(self.server.clone())).settings(settings);
        crate::kit::cli::args::validate_selection(&check)?;
        Ok(check)
    }
}

/// Checks every implementation in turn.
pub fn run(file: &MatrixFile, base: &Settings, mut on_done: impl FnMut(&Column)) -> Matrix {
    let mut columns = Vec::new();
    for implementation in &file.implementations {
        let outcome = implementation
            .check(base)
            .and_then(|check| check.run_with(&Silent).map_err(|e| e.to_string()));
        let column = Column {
            name: implementation.name.clone(),
            outcome,
        };
        on_done(&column);
        columns.push(column);
    }
    let rows = rows(&columns);
    Matrix { columns, rows }
}

/// One row per check (in the order the checks first appear), the disagreeing ones first.
pub fn rows(columns: &[Column]) -> Vec<Row> {
    let mut ids: Vec<String> = Vec::new();
    for column in columns {
        if let Ok(report) = &column.outcome {
            for check in &report.checks {
                if !ids.contains(&check.id) {
                    ids.push(check.id.clone());
                }
            }
        }
    }
    let mut rows: Vec<Row> = ids
        .into_iter()
        .map(|id| {
            let cells: Vec<Option<(Verdict, Option<RuleId>)>> = columns
                .iter()
                .map(|c| {
                    let report = c.outcome.as_ref().ok()?;
                    let check = report.check(&id)?;
                    Some((report.verdict_of(check), check.rule))
                })
                .collect();
            let verdicts: Vec<Option<Verdict>> =
                cells.iter().map(|c| c.as_ref().map(|(v, _)| *v)).collect();
            let disagree = verdicts.windows(2).any(|w| w[0] != w[1]);
            Row {
                check: id,
                cells,
                disagree,
            }
        })
        .collect();
    // Stable: within each part, the checks keep their run order.
    rows.sort_by_key(|r| !r.disagree);
    rows
}

impl Matrix {
    /// Every implementation ran and conforms.
    pub fn conforming(&self) -> bool {
        self.columns
            .iter()
            .all(|c| c.outcome.as_ref().is_ok_and(Report::conforming))
    }
}

/// The width the human table fits in.
pub const HUMAN_WIDTH: usize = 100;

/// A short verdict for a narrow cell.
fn short(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::NonStrict => "n-s",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "skip",
        Verdict::Info => "info",
        Verdict::Known => "known",
        Verdict::Fixed => "fixed",
        Verdict::Regressed => "REGR",
    }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('~');
    cut
}

/// The table for people, within [`HUMAN_WIDTH`] columns: names and ids abbreviated to fit,
/// a legend of the columns under it.
pub fn render_human(matrix: &Matrix) -> String {
    let n = matrix.columns.len().max(1);
    let cell = ((HUMAN_WIDTH / 2) / n).clamp(5, 12);
    let id_width = HUMAN_WIDTH.saturating_sub((cell + 1) * n).clamp(16, 60);
    let mut out = String::new();
    let _ = write!(out, "{:<id_width$}", "check");
    for (i, column) in matrix.columns.iter().enumerate() {
        let _ = write!(
            out,
            " {:<cell$}",
            cut(&format!("{}:{}", i + 1, column.name), cell)
        );
    }
    out.push('\n');
    let mut shown_agree = false;
    for row in &matrix.rows {
        if !row.disagree && !shown_agree {
            let _ = writeln!(
                out,
                "{}",
                "-".repeat((id_width + (cell + 1) * n).min(HUMAN_WIDTH))
            );
            shown_agree = true;
        }
        let _ = write!(out, "{:<id_width$}", cut(&row.check, id_width));
        for cell_value in &row.cells {
            let word = match cell_value {
                Some((verdict, _)) => short(*verdict),
                None => "--",
            };
            let _ = write!(out, " {word:<cell$}");
        }
        out.push('\n');
    }
    let _ = writeln!(out);
    for (i, column) in matrix.columns.iter().enumerate() {
        let status = match &column.outcome {
            Ok(report) => output::summary_line(report),
            Err(e) => format!(
                "could not be checked: {}",
                e.lines().next().unwrap_or_default()
            ),
        };
        let _ = writeln!(out, "{}: {}: {status}", i + 1, column.name);
    }
    let disagreeing = matrix.rows.iter().filter(|r| r.disagree).count();
    let _ = writeln!(
        out,
        "{} checks, {disagreeing} where the implementations disagree (listed first); n-s = non-strict, -- = not run",
        matrix.rows.len()
    );
    out
}

/// For programs: every implementation's report (or error) and the matrix.
pub fn render_json(matrix: &Matrix) -> String {
    let implementations: Vec<serde_json::Value> = matrix
        .columns
        .iter()
        .map(|c| match &c.outcome {
            Ok(report) => serde_json::json!({"name": c.name, "report": json::render(report)}),
            Err(e) => serde_json::json!({"name": c.name, "error": e}),
        })
        .collect();
    let rows: Vec<serde_json::Value> = matrix
        .rows
        .iter()
        .map(|r| {
            let cells: Vec<serde_json::Value> = r
                .cells
                .iter()
                .map(|c| match c {
                    Some((verdict, rule)) => {
                        serde_json::json!({"verdict": verdict.as_str(), "rule": rule})
                    }
                    None => serde_json::Value::Null,
                })
                .collect();
            serde_json::json!({"check": r.check, "disagree": r.disagree, "cells": cells})
        })
        .collect();
    let document = serde_json::json!({
        "schema_version": json::SCHEMA_VERSION,
        "conforming": matrix.conforming(),
        "implementations": implementations,
        "matrix": {
            "columns": matrix.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "rows": rows,
        },
    });
    serde_json::to_string_pretty(&document).expect("the matrix serializes") + "\n"
}

/// The matrix as a self-contained page: the table (each cell a link to that implementation's
/// evidence, its rule on hover), then each implementation's report.
pub fn render_html(matrix: &Matrix) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    let mut body = String::from("<h1>unblocked matrix</h1>\n");
    let _ = writeln!(
        body,
        "<p class=\"verdict {}\">{}</p>",
        if matrix.conforming() { "ok" } else { "bad" },
        if matrix.conforming() {
            "every implementation conforms"
        } else {
            "NOT every implementation conforms"
        }
    );
    let _ = writeln!(body, "<table class=\"matrix\"><tr><th>check</th>");
    for (i, column) in matrix.columns.iter().enumerate() {
        let _ = write!(
            body,
            "<th><a href=\"#impl-{i}\">{}</a></th>",
            text(&column.name)
        );
    }
    let _ = writeln!(body, "</tr>");
    for row in &matrix.rows {
        let class = if row.disagree { "failing" } else { "passing" };
        let _ = write!(
            body,
            "<tr class=\"{class}\"><td><code>{}</code></td>",
            text(&row.check)
        );
        for (i, cell) in row.cells.iter().enumerate() {
            match cell {
                Some((verdict, rule)) => {
                    let _ = write!(
                        body,
                        "<td><a href=\"#{}\" title=\"{}\">{}</a></td>",
                        attr(&html::anchor(&format!("impl-{i}"), &row.check)),
                        attr(rule.map_or(verdict.as_str(), RuleId::name)),
                        html::badge(*verdict)
                    );
                }
                None => body.push_str("<td>--</td>"),
            }
        }
        let _ = writeln!(body, "</tr>");
    }
    let _ = writeln!(body, "</table>");
    for (i, column) in matrix.columns.iter().enumerate() {
        let _ = writeln!(
            body,
            "<hr id=\"impl-{i}\">\n<h2>{}</h2>",
            text(&column.name)
        );
        match &column.outcome {
            Ok(report) => body.push_str(&html::report_body(report, &format!("impl-{i}"))),
            Err(e) => {
                let _ = writeln!(
                    body,
                    "<p class=\"verdict bad\">could not be checked</p><pre>{}</pre>",
                    text(e)
                );
            }
        }
    }
    html::page("unblocked matrix", &body)
}

/// `unblocked matrix FILE`: exit 0 when every implementation conforms, 1 otherwise, 2 for
/// a file that cannot be used.
pub fn run_cli(args: &MatrixArgs) -> Ended {
    if args.report.format == Format::Junit {
        // One JUnit document per implementation would be several files.
        return Ended::Setup("--format junit is not available for matrix: use json or html".into());
    }
    let file = match MatrixFile::load(&args.file) {
        Ok(file) => file,
        Err(message) => return Ended::Setup(message),
    };
    if let Some(path) = &args.report.output
        && let Err(message) = output::check_writable(path)
    {
        return Ended::Setup(message);
    }
    let seed = args.seed.unwrap_or_else(crate::kit::fuzz::random_seed);
    let base = Settings {
        strict: args.report.strict,
        timeout: args.timeout,
        only: args.selection.only.clone(),
        skip: args.selection.skip.clone(),
        target: TargetOptions {
            startup_timeout: args.startup_timeout,
            ..TargetOptions::default()
        },
        fuzz: FuzzSettings {
            cases: args.fuzz_cases,
            seed: Some(seed),
            save_failures: None,
        },
        ..Settings::default()
    };
    for implementation in &file.implementations {
        if let Err(message) = implementation.check(&base) {
            return Ended::Setup(format!("matrix file {}: {message}", args.file.display()));
        }
    }
    output::say(&format!(
        "fuzz seed: {seed}, the same for every implementation"
    ));
    let total = file.implementations.len();
    let mut done = 0;
    let matrix = run(&file, &base, |column| {
        done += 1;
        let status = match &column.outcome {
            Ok(report) => output::summary_line(report),
            Err(e) => format!(
                "could not be checked: {}",
                e.lines().next().unwrap_or_default()
            ),
        };
        output::say(&format!("[{done}/{total}] {}: {status}", column.name));
    });
    let rendered = match args.report.format {
        Format::Human => render_human(&matrix),
        Format::Json | Format::Junit => render_json(&matrix),
        Format::Html => render_html(&matrix),
    };
    let delivered = match &args.report.output {
        Some(path) => match output::write_atomically(path, &rendered) {
            Ok(()) => output::print(&render_human(&matrix)),
            Err(e) => {
                let _ = output::print(&rendered);
                output::say(&format!(
                    "cannot write {e}; the matrix is on stdout instead"
                ));
                return Ended::Reported;
            }
        },
        None => output::print(&rendered),
    };
    if let Err(failure) = delivered {
        return failure.into();
    }
    if matrix.conforming() {
        Ended::Conforming
    } else {
        Ended::NotConforming
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::report::{CheckResult, TargetInfo};
    use std::time::Duration;

    fn report(verdicts: &[(&str, Verdict)]) -> Report {
        Report {
            target: TargetInfo::Command("x".into()),
            strict: false,
            checks: verdicts
                .iter()
                .map(|(id, v)| {
                    let mut c = CheckResult::new(*id, "g", "d");
                    c.verdict = *v;
                    if *v == Verdict::Fail {
                        c.rule = Some(RuleId::StatusNotAllowed);
                    }
                    c
                })
                .collect(),
            server_output: Vec::new(),
            duration: Duration::ZERO,
            interrupted: false,
            notes: Vec::new(),
        }
    }

    fn sample() -> Matrix {
        let columns = vec![
            Column {
                name: "reference".into(),
                outcome: Ok(report(&[("g.a", Verdict::Pass), ("g.b", Verdict::Pass)])),
            },
            Column {
                name: "broken".into(),
                outcome: Ok(report(&[("g.a", Verdict::Pass), ("g.b", Verdict::Fail)])),
            },
            Column {
                name: "absent".into(),
                outcome: Err("cannot start `nope`".into()),
            },
        ];
        let rows = rows(&columns);
        Matrix { columns, rows }
    }

    #[test]
    fn disagreeing_rows_come_first_and_absent_columns_show() {
        let matrix = sample();
        let order: Vec<&str> = matrix.rows.iter().map(|r| r.check.as_str()).collect();
        assert_eq!(
            order,
            ["g.a", "g.b"],
            "both disagree: the absent column has no verdict"
        );
        assert!(matrix.rows.iter().all(|r| r.cells[2].is_none()));
        assert!(!matrix.conforming());
        let two = Matrix {
            rows: rows(&matrix.columns[..2]),
            columns: matrix.columns[..2].to_vec(),
        };
        let order: Vec<&str> = two.rows.iter().map(|r| r.check.as_str()).collect();
        assert_eq!(order, ["g.b", "g.a"]);
        assert!(two.rows[0].disagree && !two.rows[1].disagree);
    }

    #[test]
    fn the_human_table_fits_100_columns() {
        let mut matrix = sample();
        for i in 0..9 {
            matrix.columns.push(Column {
                name: format!("implementation-with-a-long-name-{i}"),
                outcome: Ok(report(&[(
                    "fixtures.a-very-long-check-id-that-goes-on-and-on",
                    Verdict::NonStrict,
                )])),
            });
        }
        matrix.rows = rows(&matrix.columns);
        let text = render_human(&matrix);
        let table: Vec<&str> = text.lines().take(1 + matrix.rows.len() + 1).collect();
        assert!(
            table.iter().all(|l| l.chars().count() <= HUMAN_WIDTH),
            "{text}"
        );
        assert!(text.contains("FAIL") && text.contains("could not be checked"));
    }

    #[test]
    fn json_and_html_hold_every_implementation() {
        let matrix = sample();
        let value: serde_json::Value = serde_json::from_str(&render_json(&matrix)).unwrap();
        assert_eq!(value["matrix"]["columns"][1], "broken");
        assert_eq!(value["implementations"][2]["error"], "cannot start `nope`");
        assert_eq!(
            value["matrix"]["rows"][1]["cells"][1]["rule"],
            "status-not-allowed"
        );
        let page = render_html(&matrix);
        assert!(page.contains("href=\"#impl-1-g.b\""), "{page}");
        assert!(page.contains("title=\"status-not-allowed\""));
    }
}
