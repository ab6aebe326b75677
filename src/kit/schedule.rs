//! Running a plan of checks against a target: in order on one server, or, for a server the
//! kit starts, in lanes on sibling instances of it, so that a full check takes seconds.
//!
//! # Lanes
//!
//! Most of a run's wall time is waiting: each request to `/sleep` takes S, and so does each
//! concurrency check. A server the kit starts can be started again, so the checks that
//! mostly wait run at the same time, each on a fresh instance of its own ("a sibling"):
//!
//! 1. On the main instance, in order: the pages, the fixtures that do not sleep, fuzzing.
//!    At the same time, each sleeping fixture and the calibration of S
//!    (`concurrency.sleep-is-slow`) on a sibling each.
//! 2. Then each concurrency check on a sibling each, all at once, with the S just measured.
//! 3. A concurrency check that failed in step 2 is run again alone, on a fresh sibling: its
//!    neighbours' load must never be what fails a server. The capacity search (`--capacity`)
//!    always runs alone, last: its figure is a measurement.
//!
//! A check's verdict does not depend on its lane: a sibling is the same server started the
//! same way, and a failure seen under load is confirmed without it. What a lane changes is
//! the blame for a server's accumulated damage: a fixture on its own instance cannot be
//! harmed by the checks before it (which also makes a death easier to pin on its input).
//! `--addr` targets, and `--sequential`, run everything in order on the one server.

use crate::kit::concurrency;
use crate::kit::context::{Calibration, CheckInfo, Context, Hangs, Progress};
use crate::kit::fixtures::{self, Case};
use crate::kit::fuzz;
use crate::kit::learn;
use crate::kit::report::{CheckResult, Verdict};
use crate::kit::settings::Settings;
use crate::kit::target::{Target, TargetSpec};
use crate::pages::Pages;
use std::time::Instant;

/// What every check of a run shares.
pub struct Run<'a> {
    pub spec: &'a TargetSpec,
    pub settings: &'a Settings,
    pub cases: &'a [Case],
    /// Pages given by the user (or bundled), as opposed to learned.
    pub given_pages: Option<Pages>,
    pub progress: &'a dyn Progress,
}

/// The results in plan order, and what the kit changed to fit the machine.
pub struct Ran {
    pub results: Vec<CheckResult>,
    pub notes: Vec<String>,
}

impl Run<'_> {
    /// Runs `plan` against `target` (started and answering): in lanes when the target can be
    /// started again and `--sequential` was not given, otherwise in order.
    pub fn plan(&self, target: &mut Target, plan: &[CheckInfo]) -> Ran {
        self.progress.begin(plan.len());
        let ran = if target.restartable() && !self.settings.sequential {
            self.in_lanes(target, plan)
        } else {
            self.in_order(target, plan)
        };
        self.progress.end();
        ran
    }

    fn context<'t>(&'t self, target: &'t mut Target) -> Context<'t> {
        Context {
            target,
            settings: self.settings,
            pages: self.given_pages.clone(),
            calibration: Calibration::default(),
            hangs: Hangs::default(),
            progress: self.progress,
            notes: Vec::new(),
        }
    }

    /// Bodies are judged against the pages even when the check that reports on them was
    /// not selected: learned first, quietly, if need be.
    fn learn_pages_if_needed(&self, ctx: &mut Context<'_>, plan: &[CheckInfo]) {
        let learning_selected = plan.iter().any(|c| c.group == "pages");
        let bodies_judged = plan
            .iter()
            .any(|c| c.group == "fixtures" || c.group == "fuzz");
        if ctx.pages.is_none() && !learning_selected && bodies_judged {
            let _ = learn::run(ctx, &learn::info(), false);
        }
    }

    /// Everything in order on the one server; once a server the kit cannot restart is gone,
    /// the remaining checks are skipped with the reason.
    fn in_order(&self, target: &mut Target, plan: &[CheckInfo]) -> Ran {
        let mut ctx = self.context(target);
        self.learn_pages_if_needed(&mut ctx, plan);
        let mut results = Vec::with_capacity(plan.len());
        let mut gone: Option<String> = None;
        for info in plan {
            let result = match &gone {
                Some(reason) => {
                    let result = skipped(info, reason);
                    self.progress.check_done(&result);
                    result
                }
                None => {
                    let (result, stopped) = self.one(&mut ctx, info);
                    gone = stopped;
                    result
                }
            };
            results.push(result);
        }
        Ran {
            results,
            notes: ctx.notes,
        }
    }

    /// Runs one check, times it, confirms the server lives, and says so to the progress.
    /// Returns why the remaining checks cannot run, if the server is gone for good.
    fn one(&self, ctx: &mut Context<'_>, info: &CheckInfo) -> (CheckResult, Option<String>) {
        self.progress.check_started(info);
        let begun = Instant::now();
        let pages_given = self.given_pages.is_some();
        let mut result = run_one(ctx, info, self.cases, pages_given);
        let stopped = confirm_alive(ctx, &mut result);
        result.duration = begun.elapsed();
        self.progress.check_done(&result);
        (result, stopped)
    }

    /// One check on a fresh sibling instance of the target, stopped afterwards; the pages and
    /// calibration of the main run. A sibling that does not start fails the check.
    fn on_sibling(
        &self,
        info: &CheckInfo,
        pages: Option<&Pages>,
        calibration: &Calibration,
    ) -> (CheckResult, Vec<String>, Calibration) {
        let mut sibling = match Target::start(self.spec.clone(), self.settings.target.clone()) {
            Ok(target) => target,
            Err(e) => {
                let mut result = info.result();
                result.verdict = Verdict::Fail;
                result.rule = Some("no-fresh-server".into());
                result.detail = format!("a fresh instance of the server did not start: {e}");
                self.progress.check_done(&result);
                return (result, Vec::new(), calibration.clone());
            }
        };
        let mut ctx = self.context(&mut sibling);
        ctx.pages = pages.cloned();
        ctx.calibration = calibration.clone();
        let (result, _) = self.one(&mut ctx, info);
        let (notes, calibration) = (ctx.notes, ctx.calibration);
        sibling.stop();
        (result, notes, calibration)
    }

    fn in_lanes(&self, target: &mut Target, plan: &[CheckInfo]) -> Ran {
        let mut results: Vec<Option<CheckResult>> = vec![None; plan.len()];
        let mut notes = Vec::new();
        let lane_of = |info: &CheckInfo| lane(info, self.cases);
        let of = |wanted: Lane| -> Vec<usize> {
            (0..plan.len())
                .filter(|&i| lane_of(&plan[i]) == wanted)
                .collect()
        };
        let mut main = self.context(target);
        // The pages first: every lane judges bodies with them.
        let (pages_checks, main_rest): (Vec<usize>, Vec<usize>) = of(Lane::Main)
            .into_iter()
            .partition(|&i| plan[i].group == "pages");
        for &i in &pages_checks {
            results[i] = Some(self.one(&mut main, &plan[i]).0);
        }
        self.learn_pages_if_needed(&mut main, plan);
        let pages = main.pages.clone();

        // 1. The main lane, and the sleeping checks beside it.
        let mut calibration = Calibration::default();
        std::thread::scope(|scope| {
            let waiting: Vec<_> = of(Lane::Sibling)
                .into_iter()
                .map(|i| {
                    let (info, pages) = (&plan[i], pages.as_ref());
                    let handle =
                        scope.spawn(move || self.on_sibling(info, pages, &Calibration::default()));
                    (i, handle)
                })
                .collect();
            for i in main_rest {
                results[i] = Some(self.one(&mut main, &plan[i]).0);
            }
            for (i, handle) in waiting {
                let (result, lane_notes, measured) = handle.join().expect("a lane panicked");
                if plan[i].id == concurrency::SLEEP_IS_SLOW {
                    calibration = measured;
                }
                notes.extend(lane_notes);
                results[i] = Some(result);
            }
        });
        notes.append(&mut main.notes);

        // 2. The concurrency checks, all at once, each on its own instance.
        let together = of(Lane::Together);
        let first: Vec<(usize, CheckResult)> = std::thread::scope(|scope| {
            let handles: Vec<_> = together
                .iter()
                .map(|&i| {
                    let (info, pages, calibration) = (&plan[i], pages.as_ref(), &calibration);
                    (
                        i,
                        scope.spawn(move || self.on_sibling(info, pages, calibration)),
                    )
                })
                .collect();
            handles
                .into_iter()
                .map(|(i, handle)| {
                    let (result, lane_notes, _) = handle.join().expect("a lane panicked");
                    notes.extend(lane_notes);
                    (i, result)
                })
                .collect()
        });

        // 3. What failed among others, again alone; then what must run alone.
        let baseline = self.settings.baseline.as_deref();
        for (i, result) in first {
            let confirm = result.verdict == Verdict::Fail
                || baseline.is_some_and(|b| b.regresses(&result.id, &result.data));
            results[i] = Some(if !confirm {
                result
            } else {
                let (mut alone, lane_notes, _) =
                    self.on_sibling(&plan[i], pages.as_ref(), &calibration);
                notes.extend(lane_notes);
                alone.detail.push_str(&format!(
                    "\n(run again alone: it was {} among the other concurrency checks)",
                    result.verdict.as_str()
                ));
                alone
            });
        }
        for i in of(Lane::Alone) {
            let (result, lane_notes, _) = self.on_sibling(&plan[i], pages.as_ref(), &calibration);
            notes.extend(lane_notes);
            results[i] = Some(result);
        }
        notes.dedup();
        Ran {
            results: results
                .into_iter()
                .map(|r| r.expect("every planned check ran"))
                .collect(),
            notes,
        }
    }
}

/// Where a check runs when the target can be started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// In order on the main instance.
    Main,
    /// On a sibling, beside the main lane: checks that mostly wait.
    Sibling,
    /// On a sibling, with the other concurrency checks, after the main lane.
    Together,
    /// On a sibling, alone, last.
    Alone,
}

fn lane(info: &CheckInfo, cases: &[Case]) -> Lane {
    match info.group {
        "fixtures" if find_case(cases, info).plan.slow() => Lane::Sibling,
        "concurrency" if info.id == concurrency::SLEEP_IS_SLOW => Lane::Sibling,
        "concurrency" if info.id == concurrency::CAPACITY => Lane::Alone,
        "concurrency" => Lane::Together,
        _ => Lane::Main,
    }
}

fn find_case<'c>(cases: &'c [Case], info: &CheckInfo) -> &'c Case {
    cases
        .iter()
        .find(|c| info.id == fixtures::check_id(c))
        .expect("planned from these cases")
}

fn run_one(
    ctx: &mut Context<'_>,
    info: &CheckInfo,
    cases: &[Case],
    pages_given: bool,
) -> CheckResult {
    match info.group {
        "pages" => learn::run(ctx, info, pages_given),
        "fixtures" => fixtures::run(ctx, info, find_case(cases, info)),
        "fuzz" => fuzz::run(ctx, info),
        _ => concurrency::run(ctx, info),
    }
}

fn skipped(info: &CheckInfo, reason: &str) -> CheckResult {
    let mut result = info.result();
    result.verdict = Verdict::Skip;
    result.detail = reason.to_string();
    result
}

/// Whether a check's connection ended without an answer: the moment a dying server shows.
fn suspicious(result: &CheckResult) -> bool {
    let unanswered = result
        .evidence
        .as_ref()
        .is_some_and(|e| e.response.is_none());
    let rule = matches!(
        result.rule.as_deref(),
        Some(
            "no-response" | "reset-before-response" | "no-response-in-time" | "ignores-half-close"
        )
    );
    unanswered || rule
}

/// After a check: if its connection ended without an answer, confirms that the server still
/// runs and answers `GET /`; in any case, notices a process that has exited. A death (or a
/// server that stopped answering) is blamed on this check, and a server the kit started is
/// restarted. Returns why the remaining checks cannot run, when the kit cannot restart it.
fn confirm_alive(ctx: &mut Context<'_>, result: &mut CheckResult) -> Option<String> {
    let finding = if suspicious(result) {
        ctx.liveness()
    } else {
        ctx.revive().map(|text| ("server-died", text))
    };
    let (rule, text) = finding?;
    result.verdict = Verdict::Fail;
    result.rule = Some(rule.into());
    result.detail = if result.detail.is_empty() {
        text.clone()
    } else {
        format!("{}\n{text}", result.detail)
    };
    (!ctx.target.restartable())
        .then(|| format!("the server stopped answering at {}: {text}", result.id))
}
