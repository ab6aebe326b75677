//! The suite on several implementations (`unblocked matrix FILE`), one after another, each
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

use crate::kit::report::{Report, Verdict};
use crate::kit::run::check::Check;
use crate::kit::run::context::Silent;
use crate::kit::run::settings::{Settings, parse_duration};
use crate::kit::run::target::{TargetOptions, TargetSpec};
use crate::kit::verdict::RuleId;
use serde::Deserialize;
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
    /// A signal ended the run: the columns are those that finished.
    pub interrupted: bool,
}

impl Matrix {
    /// The matrix of these columns.
    pub fn of(columns: Vec<Column>, interrupted: bool) -> Matrix {
        Matrix {
            rows: rows(&columns),
            columns,
            interrupted,
        }
    }
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
            settings.timeout = parse_duration(timeout)
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
        // The command line's bounds hold for a file's options too.
        settings
            .validate()
            .map_err(|e| format!("{}: {e}", self.name))?;
        let check = Check::new(TargetSpec::Command(self.server.clone())).settings(settings);
        check
            .validate_selection()
            .map_err(|e| format!("{}: {e}", self.name))?;
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
    Matrix::of(columns, false)
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
        !self.interrupted
            && self
                .columns
                .iter()
                .all(|c| c.outcome.as_ref().is_ok_and(Report::conforming))
    }
}
