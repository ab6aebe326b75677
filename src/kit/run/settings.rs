//! Everything that tunes a run, as plain data, and the one place it is validated: the
//! command line, a matrix file and the library all go through [`Settings::validate`] (run
//! by [`crate::kit::run::check::Check`] before anything starts), and parse durations with
//! [`parse_duration`], so no way in accepts what another refuses.

use crate::kit::report::baseline::Baseline;
use crate::kit::run::target::TargetOptions;
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
    /// ([`crate::kit::run::schedule`]).
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

/// The longest duration any setting may have: a day. Longer ones are typos (`5000000h`)
/// and would overflow the arithmetic of deadlines.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A duration setting (`5s`, `250ms`, `1m 30s`): more than zero and at most
/// [`MAX_DURATION`]; the command line's value parser and the matrix file's reader.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_pause(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

/// A pause (zero allowed), at most [`MAX_DURATION`].
pub fn parse_pause(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    check_duration(duration)?;
    Ok(duration)
}

fn check_duration(duration: Duration) -> Result<(), String> {
    if duration > MAX_DURATION {
        return Err(format!(
            "{} is more than the longest duration the kit takes, {}",
            humantime::format_duration(duration),
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(())
}

impl Settings {
    /// Every setting within its bounds, wherever it was set; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("timeout", Some(self.timeout)),
            ("slow timeout", Some(self.slow_timeout)),
            ("startup timeout", Some(self.target.startup_timeout)),
            ("fast budget", self.concurrency.fast_budget),
        ] {
            match value {
                Some(d) if d.is_zero() => return Err(format!("{name}: must be more than zero")),
                Some(d) => check_duration(d).map_err(|e| format!("{name}: {e}"))?,
                None => {}
            }
        }
        let counts = [
            ("fuzz cases", Some(self.fuzz.cases as usize)),
            ("slow (K)", self.concurrency.slow),
            ("max", self.concurrency.max),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, n)| *n == Some(0)) {
            return Err(format!("{name}: must be at least 1"));
        }
        Ok(())
    }

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
#[derive(Debug, Clone)]
pub struct FuzzSettings {
    /// Cases per generator family (at least 1).
    pub cases: u32,
    /// Seed of the run; a random one is chosen (and reported) when `None`.
    pub seed: Option<u64>,
    /// Write one fixture file per failure class here.
    pub save_failures: Option<PathBuf>,
}

impl Default for FuzzSettings {
    fn default() -> Self {
        FuzzSettings {
            cases: DEFAULT_FUZZ_CASES,
            seed: None,
            save_failures: None,
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
    /// K: `--slow`, or the larger of 16 and 4 × the CPUs ([`Settings::validate`] refuses 0).
    pub fn k(&self) -> usize {
        self.slow.unwrap_or_else(default_slow)
    }

    /// The fast budget for a measured sleep S: `--fast-budget`, or max(50 ms, S/10).
    pub fn budget(&self, sleep: Duration) -> Duration {
        self.fast_budget
            .unwrap_or_else(|| MIN_BUDGET.max(sleep / 10))
    }

    /// The capacity search's largest K.
    pub fn max(&self) -> usize {
        self.max.unwrap_or(DEFAULT_MAX)
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
            slow: Some(3),
            ..Default::default()
        };
        assert_eq!(
            given.budget(Duration::from_secs(5)),
            Duration::from_millis(7)
        );
        assert_eq!(given.k(), 3);
        assert_eq!(given.max(), DEFAULT_MAX);
        assert_eq!(FuzzSettings::default().cases, DEFAULT_FUZZ_CASES);
    }

    #[test]
    fn every_way_in_is_held_to_the_same_bounds() {
        assert!(Settings::default().validate().is_ok());
        let refused = |change: fn(&mut Settings)| {
            let mut s = Settings::default();
            change(&mut s);
            s.validate().unwrap_err()
        };
        assert!(refused(|s| s.timeout = Duration::ZERO).contains("timeout: must be more"));
        assert!(refused(|s| s.fuzz.cases = 0).contains("fuzz cases"));
        assert!(refused(|s| s.concurrency.slow = Some(0)).contains("slow (K)"));
        assert!(refused(|s| s.concurrency.max = Some(0)).contains("max"));
        assert!(
            refused(|s| s.target.startup_timeout = MAX_DURATION * 2).contains("longest duration")
        );
        assert!(refused(|s| s.concurrency.fast_budget = Some(Duration::ZERO)).contains("budget"));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").unwrap_err().contains("more than zero"));
        assert!(parse_duration("500000000000years").is_err());
        assert!(parse_duration("18446744073709551615s").is_err());
        assert!(
            parse_duration("2d")
                .unwrap_err()
                .contains("longest duration")
        );
        assert_eq!(parse_pause("0s"), Ok(Duration::ZERO));
    }
}
