//! The conformance run: which checks exist, which are selected, and running them against a
//! target, confirming after each one that the server still lives and answers. This is
//! also the library entry point for users' own tests:
//!
//! ```no_run
//! let report = unblocked::kit::run::check::Check::server("target/debug/my-server --port {port}")
//!     .run()
//!     .expect("the server starts");
//! report.assert_conforming();
//! ```

use crate::kit::checks::concurrency;
use crate::kit::checks::fixtures::{self, Case};
use crate::kit::checks::fuzz;
use crate::kit::checks::pages;
use crate::kit::report::Report;
use crate::kit::report::baseline::{Baseline, BaselineError};
use crate::kit::run::schedule;
use crate::kit::run::target::{SetupError, Target, TargetSpec};
use crate::pages::Pages;
use std::sync::Arc;
use std::time::Instant;

pub use crate::kit::run::context::{Calibration, CheckInfo, Context, Progress, Silent};
pub use crate::kit::run::settings::{ConcurrencySettings, FuzzSettings, Settings};

pub use crate::kit::run::context::EXIT_WAIT;

/// A conformance run against one target.
#[derive(Debug, Clone)]
pub struct Check {
    pub spec: TargetSpec,
    pub settings: Settings,
}

impl Check {
    /// A server command; `{port}` (or `$PORT`) is replaced by the port the kit picks.
    pub fn server(command: &str) -> Self {
        Self::new(TargetSpec::Command(command.to_string()))
    }

    /// A server already listening at `HOST:PORT`.
    pub fn addr(addr: &str) -> Self {
        Self::new(TargetSpec::Addr(addr.to_string()))
    }

    pub fn new(spec: TargetSpec) -> Self {
        Check {
            spec,
            settings: Settings::default(),
        }
    }

    pub fn strict(mut self, strict: bool) -> Self {
        self.settings.strict = strict;
        self
    }

    /// Runs only these groups or check ids.
    pub fn only(mut self, selection: &[&str]) -> Self {
        self.settings.only = selection.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn skip(mut self, selection: &[&str]) -> Self {
        self.settings.skip = selection.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Judges against a baseline file ([`crate::kit::report::baseline`]): known failures are not
    /// failures, worse figures are. `UNBLOCKED_BASELINE=FILE` does the same for a run
    /// without one.
    pub fn baseline(mut self, path: impl AsRef<std::path::Path>) -> Result<Self, BaselineError> {
        let baseline = Baseline::load(path.as_ref())?;
        // Fuzzing with the seed the baseline was written with finds the classes it knows.
        self.settings.fuzz.seed = self.settings.fuzz.seed.or(baseline.fuzz_seed);
        self.settings.baseline = Some(Arc::new(baseline));
        Ok(self)
    }

    /// Every check that exists for these settings, before `--only` and `--skip`.
    pub fn all_checks(&self) -> Result<Vec<CheckInfo>, SetupError> {
        let cases = self.cases()?;
        Ok(self.every_check(&cases))
    }

    /// Whether every `--only` and `--skip` entry names a group or check id that exists
    /// (with the nearest name suggested when one is close), and every setting is in bounds.
    pub fn validate_selection(&self) -> Result<(), String> {
        validate_selection(self)
    }

    /// The selected checks, in run order, without running anything.
    pub fn list(&self) -> Result<Vec<CheckInfo>, SetupError> {
        let cases = self.cases()?;
        Ok(self.plan(&cases))
    }

    fn cases(&self) -> Result<Vec<Case>, SetupError> {
        self.settings.validate().map_err(SetupError::new)?;
        let setup = |e: fixtures::FixtureError| SetupError::new(e.to_string());
        let bundled = fixtures::bundled().map_err(setup)?;
        Ok(match &self.settings.cases_dir {
            Some(dir) => fixtures::merge(bundled, fixtures::load_dir(dir).map_err(setup)?),
            None => bundled,
        })
    }

    fn every_check(&self, cases: &[Case]) -> Vec<CheckInfo> {
        let mut all = vec![pages::info()];
        all.extend(cases.iter().map(fixtures::info));
        all.extend(fuzz::checks());
        all.extend(concurrency::checks(&self.settings.concurrency));
        all
    }

    fn plan(&self, cases: &[Case]) -> Vec<CheckInfo> {
        let mut all = self.every_check(cases);
        all.retain(|info| self.settings.selects(&info.id, info.group));
        all
    }

    /// Whether a fuzz check is selected (its seed is worth printing).
    pub fn plan_is_fuzzing(&self) -> bool {
        self.list()
            .is_ok_and(|plan| plan.iter().any(|c| c.group == "fuzz"))
    }

    /// Starts the target, runs the selected checks, stops the target.
    pub fn run(&self) -> Result<Report, SetupError> {
        self.run_with(&Silent)
    }

    pub fn run_with(&self, progress: &dyn Progress) -> Result<Report, SetupError> {
        let started = Instant::now();
        let from_env;
        let settings = match (
            &self.settings.baseline,
            std::env::var_os("UNBLOCKED_BASELINE"),
        ) {
            (None, Some(path)) => {
                let baseline = Baseline::load(std::path::Path::new(&path))
                    .map_err(|e| SetupError::new(e.to_string()))?;
                let mut fuzz = self.settings.fuzz.clone();
                fuzz.seed = fuzz.seed.or(baseline.fuzz_seed);
                from_env = Settings {
                    baseline: Some(Arc::new(baseline)),
                    fuzz,
                    ..self.settings.clone()
                };
                &from_env
            }
            _ => &self.settings,
        };
        let cases = self.cases()?;
        if let Some(baseline) = &settings.baseline {
            let every = self.every_check(&cases);
            let known: Vec<&str> = every.iter().map(|c| c.id.as_str()).collect();
            let unknown = baseline.unknown_checks(&known);
            if !unknown.is_empty() {
                return Err(SetupError::new(format!(
                    "the baseline names checks this run does not have: {} (a typo, a check this kit no longer has, or fixtures not given with --cases?)",
                    unknown.join(", ")
                )));
            }
        }
        let plan = self.plan(&cases);
        let given_pages = match (&settings.pages_dir, &self.spec) {
            (Some(dir), _) => {
                Some(Pages::from_dir(dir).map_err(|e| SetupError::new(e.to_string()))?)
            }
            (None, TargetSpec::Bundled { .. }) => Some(Pages::bundled()),
            (None, _) => None,
        };
        let mut target = Target::start(self.spec.clone(), settings.target.clone())?;
        progress.target_started(&target.info());
        let run = schedule::Run {
            spec: &self.spec,
            settings,
            cases: &cases,
            given_pages,
            progress,
            stopped_answering: Default::default(),
        };
        let ran = run.plan(&mut target, &plan);
        let mut report = Report {
            target: target.info(),
            strict: settings.strict,
            checks: ran.results,
            server_output: target.output_tail(),
            duration: started.elapsed(),
            interrupted: false,
            notes: ran.notes,
        };
        target.stop();
        if let Some(baseline) = &settings.baseline {
            baseline.apply(&mut report);
        }
        Ok(report)
    }
}

/// How alike a name and a typo of it are (Jaro-Winkler): below this, no suggestion is
/// better than a wrong one (`no-such-group` is not a typo of `fixtures`).
const SUGGESTION_SIMILARITY: f64 = 0.85;

/// The known name a misspelt one most likely meant, if any is close enough.
fn nearest_name<'a>(known: &'a [String], name: &str) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(k, name), k))
        .filter(|(similarity, _)| *similarity >= SUGGESTION_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.as_str())
}

/// Every `--only` and `--skip` entry must name a group or check id that exists.
fn validate_selection(check: &Check) -> Result<(), String> {
    let all = check.all_checks().map_err(|e| e.to_string())?;
    let mut known: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
    for info in &all {
        if !known.iter().any(|k| k == info.group) {
            known.push(info.group.to_string());
        }
    }
    let settings = &check.settings;
    for (flag, list) in [("--only", &settings.only), ("--skip", &settings.skip)] {
        for name in list {
            let exists = known
                .iter()
                .any(|k| k == name || k.starts_with(&format!("{name}.")));
            if !exists {
                let nearest = nearest_name(&known, name)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "{flag} {name}: no check or group has this name{nearest} (see --list)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_has_stable_ids_for_every_case() {
        let check = Check::addr("127.0.0.1:1");
        let plan = check.list().unwrap();
        assert_eq!(plan[0].id, "pages.learned");
        assert!(plan.iter().any(|c| c.id == "fixtures.get-root"));
        let skipped = check.clone().skip(&["fixtures"]).list().unwrap();
        assert!(skipped.iter().all(|c| c.group != "fixtures"));
    }
}
