//! Baselines: the known failures of a server and its measured concurrency figures, written
//! once (`--write-baseline`), committed next to the server, and judged against on every
//! run (`--baseline`), so that a CI job can stay on while known defects are fixed and a
//! change that makes the server worse fails its build.
//!
//! With a baseline, a check that fails as recorded is `known` (shown, counted, not a failure
//! of the run); a new failure, or a known one whose rule (or fuzz failure classes) changed,
//! stays a failure; a recorded failure that now passes is `fixed`; and a measured figure
//! worse than recorded beyond its noise margin is `regressed` (a failure of the run).
//!
//! # Noise margins
//!
//! Derived from what a busy 2-core machine does to a correct server, and conservative:
//! - capacity: regressed below half the recorded one, or when the design class changes
//!   (`per-connection` to `bounded-pool`...);
//! - fast-request latency (median and worst): regressed when worse by more than
//!   max([`LATENCY_FLOOR`], [`LATENCY_FACTOR`] x recorded), on both attempts: a check whose
//!   figure regresses is run a second time, and the better attempt counts;
//! - overlap (slowest slow request after being sent, in S): regressed when worse by more
//!   than max(0.5, recorded).
//!
//! The calibrated sleep and the fuzz rate are recorded for information only.

use crate::kit::report::Measurement;
use crate::kit::report::{CheckResult, Report, Verdict};
use crate::kit::verdict::RuleId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// The version of the file format below.
pub const SCHEMA: u32 = 1;
/// A latency regression must exceed this much...
pub const LATENCY_FLOOR: Duration = Duration::from_millis(5);
/// ...and this many times the recorded latency.
pub const LATENCY_FACTOR: f64 = 4.0;

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub schema: u32,
    /// The fuzz seed of the run that wrote it: a run judged against the baseline without a
    /// seed of its own fuzzes with this one, so that the same cases find the same failure
    /// classes (another seed may find classes the baseline cannot know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzz_seed: Option<u64>,
    #[serde(default, rename = "failure")]
    pub failures: Vec<KnownFailure>,
    #[serde(default, rename = "figure")]
    pub figures: Vec<Figure>,
}

/// A check that did not pass when the baseline was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    pub check: String,
    /// `fail` or `non-strict`.
    pub verdict: String,
    pub rule: String,
    /// For a fuzz check: its failure classes, `rule on kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Why it is accepted for now, written by the user; kept on rewrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A measured figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub check: String,
    /// `capacity`, `design`, `fast_median_ms`, `fast_worst_ms`, `overlap_s`, `sleep_ms`,
    /// `cases_per_second`.
    pub name: String,
    pub value: FigureValue,
}

/// A number, or a word (the capacity search's design class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FigureValue {
    Number(f64),
    Word(String),
}

/// The figures a baseline records, and whether each is a number.
const FIGURES: &[(&str, bool)] = &[
    ("capacity", true),
    ("design", false),
    ("fast_median_ms", true),
    ("fast_worst_ms", true),
    ("overlap_s", true),
    ("sleep_ms", true),
    ("cases_per_second", true),
];

impl Figure {
    fn validate(&self) -> Result<(), String> {
        let at = format!("figure {:?} of {:?}", self.name, self.check);
        let Some(&(_, numeric)) = FIGURES.iter().find(|(n, _)| *n == self.name) else {
            let names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "{at}: not a figure the kit measures ({})",
                names.join(", ")
            ));
        };
        match (&self.value, numeric) {
            (FigureValue::Number(n), true) if n.is_finite() && *n >= 0.0 => Ok(()),
            (FigureValue::Number(n), true) => {
                Err(format!("{at}: {n} is not a finite number of at least 0"))
            }
            (FigureValue::Word(_), false) => Ok(()),
            (FigureValue::Word(w), true) => Err(format!("{at}: {w:?} is not a number")),
            (FigureValue::Number(n), false) => Err(format!("{at}: {n} is not a word")),
        }
    }
}

impl fmt::Display for FigureValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FigureValue::Number(n) => write!(f, "{n}"),
            FigureValue::Word(w) => f.write_str(w),
        }
    }
}

/// A baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("baseline {path}: {message}")]
pub struct BaselineError {
    pub path: String,
    pub message: String,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let error = |message: String| BaselineError {
            path: path.display().to_string(),
            message,
        };
        let text =
            crate::kit::files::read_text(path, crate::kit::files::MAX_INPUT_FILE).map_err(error)?;
        let baseline: Baseline =
            toml::from_str(&text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
        if baseline.schema != SCHEMA {
            return Err(error(format!(
                "schema {} is not {SCHEMA}, the one this kit reads",
                baseline.schema
            )));
        }
        baseline.validate().map_err(error)?;
        Ok(baseline)
    }

    /// Every entry means something: a verdict and a rule the kit gives, a figure it
    /// measures, a finite number (`nan` would disable a comparison, `inf` always regress).
    fn validate(&self) -> Result<(), String> {
        for f in &self.failures {
            let at = format!("failure of {:?}", f.check);
            if !matches!(f.verdict.as_str(), "fail" | "non-strict") {
                return Err(format!(
                    "{at}: verdict {:?} is neither \"fail\" nor \"non-strict\"",
                    f.verdict
                ));
            }
            if !f.rule.is_empty() && RuleId::parse(&f.rule).is_none() {
                return Err(format!("{at}: {:?} is not a rule of this kit", f.rule));
            }
            for class in &f.classes {
                let rule = class.split(" on ").next().unwrap_or_default();
                if RuleId::parse(rule).is_none() {
                    return Err(format!(
                        "{at}: class {class:?} does not start with a rule of this kit"
                    ));
                }
            }
        }
        self.figures.iter().try_for_each(Figure::validate)
    }

    /// The checks the baseline names that are not among `known` (a typo, or a check this
    /// kit no longer has: its entry would never apply).
    pub fn unknown_checks<'a>(&'a self, known: &[&str]) -> Vec<&'a str> {
        let named = self.failures.iter().map(|f| f.check.as_str());
        let mut unknown: Vec<&str> = named
            .chain(self.figures.iter().map(|f| f.check.as_str()))
            .filter(|c| !known.contains(c))
            .collect();
        unknown.sort();
        unknown.dedup();
        unknown
    }

    /// The baseline of a run: its non-passing checks and its figures, sorted; reasons of an
    /// `old` baseline kept for the checks still listed.
    pub fn from_report(report: &Report, old: Option<&Baseline>) -> Baseline {
        let mut failures: Vec<KnownFailure> = report
            .checks
            .iter()
            .filter(|c| matches!(base_verdict(c), Verdict::Fail | Verdict::NonStrict))
            .map(|c| KnownFailure {
                check: c.id.clone(),
                verdict: base_verdict(c).as_str().to_string(),
                rule: c.rule.map(|r| r.name().to_string()).unwrap_or_default(),
                classes: class_keys(c),
                reason: old
                    .and_then(|o| o.failures.iter().find(|f| f.check == c.id))
                    .and_then(|f| f.reason.clone()),
            })
            .collect();
        failures.sort_by(|a, b| a.check.cmp(&b.check));
        let mut figures: Vec<Figure> = report.checks.iter().flat_map(figures_of).collect();
        figures.sort_by(|a, b| (&a.check, &a.name).cmp(&(&b.check, &b.name)));
        let fuzz_seed = report.checks.iter().find_map(|c| match &c.data {
            Some(Measurement::Fuzz(fuzz)) => Some(fuzz.seed),
            _ => None,
        });
        Baseline {
            schema: SCHEMA,
            fuzz_seed,
            failures,
            figures,
        }
    }

    /// The file's text: a comment that says what it is, then sorted TOML.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# unblocked baseline: the known failures of this server and its measured figures.\n\
             # Commit it; `unblocked check --baseline FILE` judges against it, and\n\
             # `--update-baseline` rewrites it. Add a `reason = \"...\"` to any failure.\n{body}"
        )
    }

    fn failure(&self, check: &str) -> Option<&KnownFailure> {
        self.failures.iter().find(|f| f.check == check)
    }

    fn figure(&self, check: &str, name: &str) -> Option<&FigureValue> {
        self.figures
            .iter()
            .find(|f| f.check == check && f.name == name)
            .map(|f| &f.value)
    }

    /// Judges the report against the baseline: `known`, `fixed` and `regressed` verdicts.
    pub fn apply(&self, report: &mut Report) {
        for check in &mut report.checks {
            self.judge(check);
        }
    }

    fn judge(&self, check: &mut CheckResult) {
        let verdict = base_verdict(check);
        let recorded = self.failure(&check.id);
        match (verdict, recorded) {
            (Verdict::Fail | Verdict::NonStrict, Some(known)) => {
                let same_rule = check.rule.map(RuleId::name) == Some(known.rule.as_str());
                let new_classes: Vec<String> = class_keys(check)
                    .into_iter()
                    .filter(|k| !known.classes.contains(k))
                    .collect();
                if same_rule && new_classes.is_empty() && verdict.as_str() == known.verdict {
                    mark(
                        check,
                        Verdict::Known,
                        "known failure, as recorded in the baseline",
                    );
                    if let Some(reason) = &known.reason {
                        check.detail.push_str(&format!(" (reason: {reason})"));
                    }
                } else {
                    let what = if !same_rule {
                        format!(
                            "the baseline records this check failing with {}, not {}",
                            known.rule,
                            check.rule.map_or("?", RuleId::name)
                        )
                    } else {
                        format!("new failure classes: {}", new_classes.join(", "))
                    };
                    check.detail = format!("{what}\n{}", check.detail);
                }
            }
            (Verdict::Pass | Verdict::Info, Some(known)) => {
                let text = format!(
                    "fixed: the baseline records it failing with {}; remove it from the baseline (or run with --update-baseline)",
                    known.rule
                );
                mark(check, Verdict::Fixed, &text);
            }
            (Verdict::Pass | Verdict::Info, None) => self.judge_figures(check),
            _ => {}
        }
    }

    /// Compares the figures of a check that passed with the recorded ones.
    fn judge_figures(&self, check: &mut CheckResult) {
        let mut regressions = Vec::new();
        for measured in best_figures(check) {
            let Some(recorded) = self.figure(&check.id, &measured.name) else {
                continue;
            };
            if let Some(why) = regressed(&measured.name, recorded, &measured.value) {
                regressions.push(why);
            }
        }
        if !regressions.is_empty() {
            check.rule = Some(RuleId::Regressed);
            mark(check, Verdict::Regressed, &regressions.join("; "));
        }
    }

    /// Whether a check's figures regress (to decide on a second attempt).
    pub fn regresses(&self, check_id: &str, data: Option<&Measurement>) -> bool {
        figures_from(check_id, data).iter().any(|measured| {
            self.figure(check_id, &measured.name)
                .is_some_and(|recorded| {
                    regressed(&measured.name, recorded, &measured.value).is_some()
                })
        })
    }
}

/// The check's verdict before any baseline.
fn base_verdict(check: &CheckResult) -> Verdict {
    check.found.unwrap_or(check.verdict)
}

fn mark(check: &mut CheckResult, verdict: Verdict, text: &str) {
    check.found.get_or_insert(check.verdict);
    check.verdict = verdict;
    check.detail = if check.detail.is_empty() {
        text.to_string()
    } else {
        format!("{text}\n{}", check.detail)
    };
}

/// `rule on kind` for each failing class of a fuzz check.
fn class_keys(check: &CheckResult) -> Vec<String> {
    let mut keys: Vec<String> = check
        .classes
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| format!("{} on {}", c.rule, c.kind))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The figures a check measured (from its data).
fn figures_of(check: &CheckResult) -> Vec<Figure> {
    figures_from(&check.id, check.data.as_ref())
}

/// The figures of a check, the better attempt's when it ran twice.
fn best_figures(check: &CheckResult) -> Vec<Figure> {
    let last = figures_of(check);
    let Some(first) = check.load().and_then(|l| l.first_attempt_data.as_deref()) else {
        return last;
    };
    let first = figures_from(&check.id, Some(&Measurement::Load(Box::new(first.clone()))));
    last.into_iter()
        .map(|figure| {
            let other = first.iter().find(|f| f.name == figure.name);
            match (&figure.value, other.map(|o| &o.value)) {
                (FigureValue::Number(a), Some(FigureValue::Number(b)))
                    if better(&figure.name, *b, *a) =>
                {
                    Figure {
                        value: FigureValue::Number(*b),
                        ..figure
                    }
                }
                _ => figure,
            }
        })
        .collect()
}

/// Whether `a` is a better value than `b` of the figure `name`.
fn better(name: &str, a: f64, b: f64) -> bool {
    if name == "capacity" { a > b } else { a < b }
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The figures a measurement holds: a load's fast-request latencies (median, worst) and
/// overlap, S, a capacity and its design, a fuzz family's rate.
fn figures_from(check: &str, data: Option<&Measurement>) -> Vec<Figure> {
    let mut figures = Vec::new();
    let mut push = |name: &str, value: FigureValue| {
        figures.push(Figure {
            check: check.to_string(),
            name: name.to_string(),
            value,
        })
    };
    match data {
        Some(Measurement::Load(load)) => {
            if let Some(fast) = &load.fast_ms {
                let mut values: Vec<f64> = fast.iter().filter_map(|v| *v).collect();
                if !values.is_empty() && values.len() == fast.len() {
                    values.sort_by(f64::total_cmp);
                    let median = values[values.len() / 2];
                    push("fast_median_ms", FigureValue::Number(round(median)));
                    let worst = values[values.len() - 1];
                    push("fast_worst_ms", FigureValue::Number(round(worst)));
                }
            }
            if let Some(slowest) = load.slowest_after_sent_ms
                && load.sleep_ms > 0.0
            {
                let overlap = (slowest / load.sleep_ms * 100.0).round() / 100.0;
                push("overlap_s", FigureValue::Number(overlap));
            }
        }
        Some(Measurement::Calibration { sleep_ms, .. }) => {
            push("sleep_ms", FigureValue::Number(round(*sleep_ms)));
        }
        Some(Measurement::Capacity(capacity)) => {
            push("capacity", FigureValue::Number(capacity.capacity as f64));
            push("design", FigureValue::Word(capacity.classification.clone()));
        }
        Some(Measurement::Fuzz(fuzz)) => {
            push(
                "cases_per_second",
                FigureValue::Number(round(fuzz.cases_per_second)),
            );
        }
        Some(Measurement::Fixture { .. }) | None => {}
    }
    figures
}

/// Why `measured` is a regression from `recorded`, beyond the noise margin of `name`.
pub fn regressed(name: &str, recorded: &FigureValue, measured: &FigureValue) -> Option<String> {
    let (FigureValue::Number(was), FigureValue::Number(now)) = (recorded, measured) else {
        return match (recorded, measured) {
            (FigureValue::Word(was), FigureValue::Word(now)) if name == "design" && was != now => {
                Some(format!("the design class changed from {was} to {now}"))
            }
            _ => None,
        };
    };
    let (was, now) = (*was, *now);
    match name {
        "capacity" if now < was / 2.0 => Some(format!(
            "capacity {now} is below half the recorded {was} (margin: half)"
        )),
        "fast_median_ms" | "fast_worst_ms" => {
            let margin = (LATENCY_FLOOR.as_secs_f64() * 1e3).max(LATENCY_FACTOR * was);
            (now > was + margin).then(|| {
                format!(
                    "{name} {now} ms is worse than the recorded {was} ms by more than the margin of {margin:.1} ms (max(5 ms, 4 x recorded)), on both attempts"
                )
            })
        }
        "overlap_s" => {
            let margin = 0.5f64.max(was);
            (now > was + margin).then(|| {
                format!(
                    "overlap {now} S is worse than the recorded {was} S by more than {margin} S"
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
