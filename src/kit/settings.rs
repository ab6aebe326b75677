//! Everything that tunes a run, as plain data: the runner, every group and the command
//! line share it without depending on each other.

use crate::kit::baseline::Baseline;
use crate::kit::target::TargetOptions;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything that tunes a run; `Default` is the command line's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--strict`: non-strict verdicts count as failures.
    pub strict: bool,
    /// Time allowed for a complete response (the slow route excepted).
    pub timeout: Duration,
    /// Time allowed for a response that may come from the slow route.
    pub slow_timeout: Duration,
    /// Compare bodies with `DIR/hello.html` and `DIR/404.html`.
    pub pages_dir: Option<PathBuf>,
    /// Extra fixture cases.
    pub cases_dir: Option<PathBuf>,
    /// Run only these groups or ids (all when empty).
    pub only: Vec<String>,
    /// Never run these groups or ids.
    pub skip: Vec<String>,
    pub target: TargetOptions,
    pub fuzz: FuzzSettings,
    pub concurrency: ConcurrencySettings,
    /// Known failures and figures to judge against (`--baseline`, `UNBLOCKED_BASELINE`).
    pub baseline: Option<Arc<Baseline>>,
    /// `--sequential`: every check in order on one server, none on sibling instances
    /// ([`crate::kit::schedule`]).
    pub sequential: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strict: false,
            timeout: Duration::from_secs(5),
            slow_timeout: Duration::from_secs(30),
            pages_dir: None,
            cases_dir: None,
            only: Vec::new(),
            skip: Vec::new(),
            target: TargetOptions::default(),
            fuzz: FuzzSettings::default(),
            concurrency: ConcurrencySettings::default(),
            baseline: None,
            sequential: false,
        }
    }
}

impl Settings {
    /// Whether a check is selected by `--only` and `--skip`.
    pub fn selects(&self, id: &str, group: &str) -> bool {
        let matches = |pattern: &String| {
            pattern == id || pattern == group || id.starts_with(&format!("{pattern}."))
        };
        (self.only.is_empty() || self.only.iter().any(matches)) && !self.skip.iter().any(matches)
    }
}

/// Cases per fuzz family when none is given: against the reference server (release build,
/// two cores) the four families take one to three seconds in all.
pub const DEFAULT_FUZZ_CASES: u32 = 1000;

/// Options of the fuzz group.
#[derive(Debug, Clone, Default)]
pub struct FuzzSettings {
    /// Cases per generator family; 0 means [`DEFAULT_FUZZ_CASES`].
    pub cases: u32,
    /// Seed of the run; a random one is chosen (and reported) when `None`.
    pub seed: Option<u64>,
    /// Write one fixture file per failure class here.
    pub save_failures: Option<PathBuf>,
}

impl FuzzSettings {
    /// Cases per family.
    pub fn cases(&self) -> u32 {
        if self.cases == 0 {
            DEFAULT_FUZZ_CASES
        } else {
            self.cases
        }
    }
}

/// Below this, `GET /sleep` is not slow enough to judge anything.
pub const MIN_SLEEP: Duration = Duration::from_millis(200);
/// The smallest default fast budget.
pub const MIN_BUDGET: Duration = Duration::from_millis(50);
/// The capacity search's default largest K.
pub const DEFAULT_MAX: usize = 1024;

/// `--slow K` and the other options of the concurrency group.
#[derive(Debug, Clone, Default)]
pub struct ConcurrencySettings {
    /// `--slow K`: concurrent slow requests (default: the larger of 16 and 4 x CPUs).
    pub slow: Option<usize>,
    /// `--fast-budget`: time a fast request may take (default: the larger of 50 ms and S/10).
    pub fast_budget: Option<Duration>,
    /// `--capacity`: also run the capacity search.
    pub capacity: bool,
    /// `--max`: the largest K the capacity search tries (default 1024 when `None`).
    pub max: Option<usize>,
}

impl ConcurrencySettings {
    /// K: `--slow`, or the larger of 16 and 4 × the CPUs.
    pub fn k(&self) -> usize {
        self.slow.unwrap_or_else(default_slow).max(1)
    }

    /// The fast budget for a measured sleep S: `--fast-budget`, or max(50 ms, S/10).
    pub fn budget(&self, sleep: Duration) -> Duration {
        self.fast_budget
            .unwrap_or_else(|| MIN_BUDGET.max(sleep / 10))
    }

    /// The capacity search's largest K.
    pub fn max(&self) -> usize {
        self.max.unwrap_or(DEFAULT_MAX).max(1)
    }
}

/// The larger of 16 and 4 × the machine's CPUs: a blocking sleep only shows once K exceeds
/// the executor's threads.
pub fn default_slow() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    16.max(4 * cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_group_id_and_prefix() {
        let mut s = Settings::default();
        assert!(s.selects("fixtures.get-root", "fixtures"));
        s.only = vec!["fixtures".into()];
        assert!(s.selects("fixtures.get-root", "fixtures"));
        assert!(!s.selects("fuzz.bytes", "fuzz"));
        s.only = vec!["fuzz.bytes".into()];
        assert!(s.selects("fuzz.bytes", "fuzz") && !s.selects("fuzz.mutation", "fuzz"));
        s.only.clear();
        s.skip = vec!["concurrency".into()];
        assert!(!s.selects("concurrency.capacity", "concurrency"));
        assert!(s.selects("fixtures.get-root", "fixtures"));
        // A prefix only matches whole id segments.
        s.skip = vec!["fix".into()];
        assert!(s.selects("fixtures.get-root", "fixtures"));
    }

    #[test]
    fn concurrency_defaults_derive_from_the_machine_and_from_s() {
        let settings = ConcurrencySettings::default();
        assert!(settings.k() >= 16 && settings.k() % 4 == 0);
        assert_eq!(settings.budget(Duration::from_millis(300)), MIN_BUDGET);
        assert_eq!(
            settings.budget(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
        let given = ConcurrencySettings {
            fast_budget: Some(Duration::from_millis(7)),
            slow: Some(0),
            ..Default::default()
        };
        assert_eq!(
            given.budget(Duration::from_secs(5)),
            Duration::from_millis(7)
        );
        assert_eq!(given.k(), 1);
        assert_eq!(given.max(), DEFAULT_MAX);
        assert_eq!(FuzzSettings::default().cases(), DEFAULT_FUZZ_CASES);
    }
}
