//! The side-by-side table of a matrix run ([`crate::kit::run::matrix`]): one row per check,
//! one column per implementation, the rows where they disagree first; human, JSON, HTML.

use crate::kit::report::{Verdict, html, json};
use crate::kit::run::matrix::Matrix;
use crate::kit::verdict::RuleId;
use std::fmt::Write as _;

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

/// Implementations side by side in one table; more are shown in further tables.
pub const COLUMNS_PER_TABLE: usize = 8;

/// The table for people, within [`HUMAN_WIDTH`] columns: names and ids abbreviated to fit,
/// at most [`COLUMNS_PER_TABLE`] implementations a table, a legend of the columns under it.
pub fn render_human(matrix: &Matrix) -> String {
    let n = matrix.columns.len();
    let mut out = String::new();
    for start in (0..n.max(1)).step_by(COLUMNS_PER_TABLE) {
        let end = (start + COLUMNS_PER_TABLE).min(n);
        if n > COLUMNS_PER_TABLE {
            let _ = writeln!(out, "implementations {}-{end} of {n}:", start + 1);
        }
        table(&mut out, matrix, start..end);
        let _ = writeln!(out);
    }
    for (i, column) in matrix.columns.iter().enumerate() {
        let status = match &column.outcome {
            Ok(report) => format!("{}: {}", report.summary().counts(), report.conclusion()),
            Err(e) => format!(
                "could not be checked: {}",
                e.lines().next().unwrap_or_default()
            ),
        };
        let line = format!("{}: {}: {status}", i + 1, column.name);
        let _ = writeln!(out, "{}", cut(&line, HUMAN_WIDTH));
    }
    let disagreeing = matrix.rows.iter().filter(|r| r.disagree).count();
    let _ = writeln!(
        out,
        "{} checks, {disagreeing} where the implementations disagree (listed first);\nn-s = non-strict, -- = not run",
        matrix.rows.len()
    );
    if matrix.interrupted {
        let _ = writeln!(
            out,
            "interrupted: only the {n} implementations above were checked"
        );
    }
    out
}

/// The table of the columns in `shown`.
fn table(out: &mut String, matrix: &Matrix, shown: std::ops::Range<usize>) {
    let n = shown.len().max(1);
    let cell = ((HUMAN_WIDTH / 2) / n).clamp(5, 12);
    let id_width = HUMAN_WIDTH.saturating_sub((cell + 1) * n).clamp(16, 60);
    let _ = write!(out, "{:<id_width$}", "check");
    for i in shown.clone() {
        let name = &matrix.columns[i].name;
        let _ = write!(out, " {:<cell$}", cut(&format!("{}:{name}", i + 1), cell));
    }
    out.push('\n');
    let mut shown_agree = false;
    for row in &matrix.rows {
        if !row.disagree && !shown_agree {
            let line = "-".repeat((id_width + (cell + 1) * n).min(HUMAN_WIDTH));
            let _ = writeln!(out, "{line}");
            shown_agree = true;
        }
        let _ = write!(out, "{:<id_width$}", cut(&row.check, id_width));
        for cell_value in &row.cells[shown.clone()] {
            let word = match cell_value {
                Some((verdict, _)) => short(*verdict),
                None => "--",
            };
            let _ = write!(out, " {word:<cell$}");
        }
        out.push('\n');
    }
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
        "interrupted": matrix.interrupted,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::report::Report;
    use crate::kit::report::{CheckResult, TargetInfo};
    use crate::kit::run::matrix::{Column, rows};
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
        Matrix {
            columns,
            rows,
            interrupted: false,
        }
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
        let two = Matrix::of(matrix.columns[..2].to_vec(), false);
        let order: Vec<&str> = two.rows.iter().map(|r| r.check.as_str()).collect();
        assert_eq!(order, ["g.b", "g.a"]);
        assert!(two.rows[0].disagree && !two.rows[1].disagree);
    }

    #[test]
    fn the_human_table_fits_100_columns() {
        let mut matrix = sample();
        for i in 0..47 {
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
        // Issue 20 §15: 50 implementations made a table 316 columns wide.
        assert!(
            text.lines().all(|l| l.chars().count() <= HUMAN_WIDTH),
            "{text}"
        );
        assert!(text.contains("implementations 49-50 of 50:"), "{text}");
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
