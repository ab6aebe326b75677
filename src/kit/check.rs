//! The conformance run: which checks exist, which are selected, and running them against a
//! target. This is also the library entry point for users' own tests:
//!
//! ```no_run
//! let report = unblocked::kit::check::Check::server("target/debug/my-server --port {port}")
//!     .run()
//!     .expect("the server starts");
//! report.assert_conforming();
//! ```

use crate::kit::concurrency::{self, ConcurrencySettings};
use crate::kit::escape::replay_command;
use crate::kit::fixtures::{self, Case};
use crate::kit::fuzz::{self, FuzzSettings};
use crate::kit::judge::judge;
use crate::kit::raw::{self, Delivery, Timing};
use crate::kit::report::{CheckResult, Evidence, Report, Verdict};
use crate::kit::target::{SetupError, Target, TargetOptions, TargetSpec};
use crate::pages::Pages;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// After a check whose connection was refused or reset before any answer, how long the kit
/// waits to see whether the server process is exiting, so that the death is blamed on
/// that check (`server-died`) rather than found one check later. A live server costs it.
const EXIT_WAIT: Duration = Duration::from_millis(300);
/// How often the process is polled meanwhile.
const EXIT_POLL: Duration = Duration::from_millis(10);

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

/// A check that can run: its stable id, group and what it tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    pub id: String,
    pub group: &'static str,
    pub description: String,
}

/// What a running check may use.
pub struct Context<'a> {
    pub target: &'a mut Target,
    pub settings: &'a Settings,
    /// The pages bodies are compared with, when known.
    pub pages: Option<Pages>,
    /// What the concurrency checks keep across checks (the calibrated sleep S).
    pub concurrency: concurrency::State,
}

impl Context<'_> {
    /// Socket timeouts for one request.
    pub fn timing(&self, slow: bool) -> Timing {
        Timing {
            response: if slow {
                self.settings.slow_timeout
            } else {
                self.settings.timeout
            },
            ..Timing::default()
        }
    }

    /// If the server process died, restarts it when the target allows, and returns what
    /// happened (exit status and its last output lines) for the check that killed it.
    pub fn revive(&mut self) -> Option<String> {
        self.revive_within(Duration::ZERO)
    }

    /// [`Self::revive`], waiting up to `wait` for a process that is exiting to be gone:
    /// a refused or reset connection is often the first sign of a death not yet reaped.
    pub fn revive_within(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        let death = loop {
            match self.target.exit_description() {
                Some(death) => break death,
                None if Instant::now() >= deadline || !self.target.restartable() => return None,
                None => std::thread::sleep(EXIT_POLL),
            }
        };
        // Only the dead process's own lines: an earlier run's would blame the wrong input.
        let last = self.target.process_output_tail(10);
        let mut text = format!("the server {death}");
        if !last.is_empty() {
            text.push_str(&format!("; its last output:\n{}", last.join("\n")));
        }
        if self.target.restartable() {
            match self.target.restart() {
                Ok(()) => text.push_str("\n(restarted for the next checks)"),
                Err(e) => text.push_str(&format!("\n(could not restart it: {e})")),
            }
        }
        Some(text)
    }
}

/// Called as checks run, e.g. to draw a progress bar.
pub trait Progress {
    fn begin(&self, _total: usize) {}
    fn check_started(&self, _info: &CheckInfo) {}
    fn check_done(&self, _result: &CheckResult) {}
    fn end(&self) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

/// A conformance run against one target.
#[derive(Debug, Clone)]
pub struct Check {
    pub spec: TargetSpec,
    pub settings: Settings,
}

impl Check {
    /// A server command; `{port}` is replaced by the port the kit picks.
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

    /// The selected checks, in run order, without running anything.
    pub fn list(&self) -> Result<Vec<CheckInfo>, SetupError> {
        let cases = self.cases()?;
        Ok(self.plan(&cases))
    }

    fn cases(&self) -> Result<Vec<Case>, SetupError> {
        let setup = |e: fixtures::FixtureError| SetupError {
            message: e.to_string(),
        };
        let bundled = fixtures::bundled().map_err(setup)?;
        Ok(match &self.settings.cases_dir {
            Some(dir) => fixtures::merge(bundled, fixtures::load_dir(dir).map_err(setup)?),
            None => bundled,
        })
    }

    fn plan(&self, cases: &[Case]) -> Vec<CheckInfo> {
        let mut all = vec![plan_learning_info()];
        all.extend(cases.iter().map(|case| CheckInfo {
            id: format!("fixtures.{}", case.id),
            group: "fixtures",
            description: case.description.clone(),
        }));
        all.extend(fuzz::checks(&self.settings.fuzz));
        all.extend(concurrency::checks(&self.settings.concurrency));
        all.retain(|info| self.settings.selects(&info.id, info.group));
        all
    }

    /// Starts the target, runs the selected checks, stops the target.
    pub fn run(&self) -> Result<Report, SetupError> {
        self.run_with(&Silent)
    }

    pub fn run_with(&self, progress: &dyn Progress) -> Result<Report, SetupError> {
        let started = Instant::now();
        let cases = self.cases()?;
        let plan = self.plan(&cases);
        let given_pages = match (&self.settings.pages_dir, &self.spec) {
            (Some(dir), _) => Some(Pages::from_dir(dir).map_err(|e| SetupError {
                message: e.to_string(),
            })?),
            (None, TargetSpec::Bundled { .. }) => Some(Pages::bundled()),
            (None, _) => None,
        };
        let mut target = Target::start(self.spec.clone(), self.settings.target.clone())?;
        let mut context = Context {
            target: &mut target,
            settings: &self.settings,
            pages: given_pages.clone(),
            concurrency: concurrency::State::default(),
        };
        let pages_selected = plan.iter().any(|c| c.group == "pages");
        let bodies_judged = plan
            .iter()
            .any(|c| c.group == "fixtures" || c.group == "fuzz");
        if context.pages.is_none() && !pages_selected && bodies_judged {
            // Bodies are judged against the pages even when the check that reports on them
            // was not selected.
            let learning = &plan_learning_info();
            let _ = learn_pages(&mut context, learning, false);
        }
        progress.begin(plan.len());
        let mut results = Vec::with_capacity(plan.len());
        for info in &plan {
            progress.check_started(info);
            let begun = Instant::now();
            let mut result = match info.group {
                "pages" => learn_pages(&mut context, info, given_pages.is_some()),
                "fixtures" => {
                    let case = cases
                        .iter()
                        .find(|c| info.id == format!("fixtures.{}", c.id))
                        .expect("planned from these cases");
                    run_case(&mut context, info, case)
                }
                "fuzz" => fuzz::run(&mut context, info),
                _ => concurrency::run(&mut context, info),
            };
            // A connection refused or reset before any answer: maybe the server is dying.
            let suspicious = matches!(
                result.rule.as_deref(),
                Some("no-response" | "reset-before-response")
            );
            let wait = if suspicious {
                EXIT_WAIT
            } else {
                Duration::ZERO
            };
            if let Some(death) = context.revive_within(wait) {
                result.verdict = Verdict::Fail;
                result.rule = Some("server-died".into());
                result.detail = if result.detail.is_empty() {
                    death
                } else {
                    format!("{}\n{death}", result.detail)
                };
            }
            result.duration = begun.elapsed();
            progress.check_done(&result);
            results.push(result);
        }
        progress.end();
        let report = Report {
            target: target.info(),
            strict: self.settings.strict,
            checks: results,
            server_output: target.output_tail(),
            duration: started.elapsed(),
        };
        target.stop();
        Ok(report)
    }
}

fn plan_learning_info() -> CheckInfo {
    CheckInfo {
        id: "pages.learned".into(),
        group: "pages",
        description: "GET / answers a hello page and an unknown path a different 404 page; later checks compare bodies with them".into(),
    }
}

fn new_result(info: &CheckInfo) -> CheckResult {
    CheckResult::new(info.id.clone(), info.group, info.description.clone())
}

/// Finds the pages to compare bodies with: given (`--pages`, bundled), or learned from the
/// target.
fn learn_pages(ctx: &mut Context<'_>, info: &CheckInfo, given: bool) -> CheckResult {
    let mut result = new_result(info);
    let addr = ctx.target.addr();
    let timing = ctx.timing(false);
    let fetch = |path: &str| -> Result<(u16, Vec<u8>), String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let ex = raw::send(addr, &Delivery::whole(request), &timing, false)
            .map_err(|e| format!("cannot connect: {e}"))?;
        let complete = ex.complete.ok_or_else(|| {
            format!(
                "no complete response to GET {path} ({})",
                ex.ending.describe()
            )
        })?;
        let head = raw::Response::parse(&ex.received)
            .ok()
            .flatten()
            .ok_or_else(|| format!("no valid response to GET {path}"))?;
        Ok((head.status, head.body(&ex.received, complete)))
    };
    let learned = fetch("/")
        .and_then(|hello| fetch("/unblocked-no-such-page").map(|missing| (hello, missing)));
    match learned {
        Err(e) => {
            result.verdict = Verdict::Fail;
            result.rule = Some("no-response".into());
            result.detail = format!("{e}; bodies will not be compared");
        }
        Ok(((hello_status, hello), (missing_status, missing))) => {
            if given {
                result.verdict = Verdict::Info;
                result.detail = format!(
                    "bodies are compared with the given pages (GET / answered {hello_status} with {} bytes)",
                    hello.len()
                );
            } else if hello_status != 200 || missing_status != 404 {
                result.verdict = Verdict::Fail;
                result.rule = Some("status-not-allowed".into());
                result.detail = format!(
                    "GET / answered {hello_status} and GET /unblocked-no-such-page answered {missing_status}, not 200 and 404; bodies will not be compared"
                );
            } else if hello.is_empty() || hello == missing {
                result.verdict = Verdict::Fail;
                result.rule = Some("wrong-page".into());
                result.detail = "the hello and 404 pages must be non-empty and differ".into();
            } else {
                result.detail = format!(
                    "learned a hello page of {} bytes and a 404 page of {} bytes",
                    hello.len(),
                    missing.len()
                );
                ctx.pages = Some(Pages {
                    hello: hello.into(),
                    not_found: missing.into(),
                });
            }
        }
    }
    result
}

/// Sends one fixture case and judges the answer.
fn run_case(ctx: &mut Context<'_>, info: &CheckInfo, case: &Case) -> CheckResult {
    let mut result = new_result(info);
    let addr = ctx.target.addr();
    let expectation = &case.expectation;
    let timing = ctx.timing(expectation.slow);
    let request = case.delivery.bytes();
    let replay = replay_command(
        &request,
        &addr.ip().to_string(),
        addr.port(),
        case.delivery.half_close,
    );
    match raw::send(addr, &case.delivery, &timing, expectation.head_request) {
        Err(e) => {
            result.verdict = Verdict::Fail;
            result.rule = Some("no-response".into());
            result.detail = format!("cannot connect to {addr}: {e}");
            result.evidence = Some(Evidence {
                request,
                response: None,
                ending: "no connection".into(),
                expected: expectation.describe(),
                replay,
            });
        }
        Ok(exchange) => {
            let judgement = judge(expectation, &exchange, ctx.pages.as_ref());
            result.verdict = judgement.verdict;
            result.rule = judgement.rule.map(str::to_string);
            result.detail = judgement.detail;
            result.evidence = Some(Evidence {
                request,
                response: (!exchange.received.is_empty()).then(|| exchange.received.clone()),
                ending: match exchange.ending {
                    raw::Ending::TimedOut => format!(
                        "timed out after {}",
                        humantime::format_duration(timing.response)
                    ),
                    other => other.describe().to_string(),
                },
                expected: expectation.describe(),
                replay,
            });
            result.data.insert(
                "kind".into(),
                serde_json::Value::String(case.kind.to_string()),
            );
        }
    }
    result
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
    fn the_plan_has_stable_ids_for_every_case() {
        let check = Check::addr("127.0.0.1:1");
        let plan = check.list().unwrap();
        assert_eq!(plan[0].id, "pages.learned");
        assert!(plan.iter().any(|c| c.id == "fixtures.get-root"));
        let skipped = check.clone().skip(&["fixtures"]).list().unwrap();
        assert!(skipped.iter().all(|c| c.group != "fixtures"));
    }
}
