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
//!
//! # Starting siblings
//!
//! Siblings are the kit's idea, so a sibling that does not come up is the kit's problem,
//! never a verdict on the server: the main instance has already answered. The first
//! instance's start-up time `m` (measured alone) sets how many siblings may start at once:
//! as many as could start one after another within half the start-up timeout (at least
//! one), each given the larger of the timeout and 3 m from its turn. A check whose sibling
//! still does not come up runs again after the lanes, on a sibling started alone; only if
//! that one does not start either is the check skipped, saying so, and the report's notes
//! name the start-up problem.

use crate::kit::checks::concurrency;
use crate::kit::checks::fixtures::{self, Case};
use crate::kit::checks::fuzz;
use crate::kit::checks::pages;
use crate::kit::report::{CheckResult, Verdict};
use crate::kit::run::context::{Before, Calibration, CheckInfo, Context, MAX_STOPS, Progress};
use crate::kit::run::settings::Settings;
use crate::kit::run::target::{SetupError, StartGate, Target, TargetOptions, TargetSpec};
use crate::kit::verdict::RuleId;
use crate::pages::Pages;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most siblings started at once, however fast the server starts.
const MAX_PARALLEL_STARTS: usize = 64;
/// A sibling gets this many times the first instance's start-up time, if that is more than
/// the start-up timeout: it starts beside the main lane's work.
const SIBLING_START_FACTOR: u32 = 3;

/// What every check of a run shares.
pub struct Run<'a> {
    pub spec: &'a TargetSpec,
    pub settings: &'a Settings,
    pub cases: &'a [Case],
    /// Pages given by the user (or bundled), as opposed to learned.
    pub given_pages: Option<Pages>,
    pub progress: &'a dyn Progress,
    /// The checks at which the server (any instance) stopped answering, in every lane.
    pub stopped_answering: Mutex<Vec<String>>,
}

/// How siblings are started: their gate and their start-up timeout.
#[derive(Clone)]
struct Siblings {
    gate: Arc<StartGate>,
    options: TargetOptions,
}

impl Siblings {
    /// For a server whose first instance started in `first`, alone.
    fn after(first: Duration, options: &TargetOptions) -> Siblings {
        let timeout = options.startup_timeout;
        let options = TargetOptions {
            startup_timeout: timeout.max(first * SIBLING_START_FACTOR),
            ..options.clone()
        };
        Siblings {
            gate: Arc::new(StartGate::new(parallel_starts(first, timeout))),
            options,
        }
    }
}

/// How many instances may start at once: as many as could start one after another, each
/// taking `first`, within half of `timeout`; at least one.
fn parallel_starts(first: Duration, timeout: Duration) -> usize {
    let first = first.max(Duration::from_millis(1));
    let fits = ((timeout / 2).as_secs_f64() / first.as_secs_f64()).floor() as usize;
    fits.clamp(1, MAX_PARALLEL_STARTS)
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
            progress: self.progress,
            notes: Vec::new(),
            closed_before: None,
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
            let mut learned = pages::run(ctx, &pages::info(), false);
            let before = learned.detail.clone();
            // A death while learning is no check's fault, but the user must hear of it.
            let _ = confirm_alive(ctx, &mut learned);
            ctx.closed_before = Some(Before::Learning);
            if matches!(
                learned.rule,
                Some(RuleId::ServerDied | RuleId::StoppedAnswering)
            ) {
                ctx.closed_before = None;
                let seen = learned
                    .detail
                    .strip_prefix(&before)
                    .unwrap_or(&learned.detail);
                ctx.note(format!(
                    "while the kit learned the pages (GET / and GET {}, before any check): {}",
                    pages::MISSING_PATH,
                    seen.trim_start()
                ));
            }
        }
    }

    /// Everything in order on the one server.
    fn in_order(&self, target: &mut Target, plan: &[CheckInfo]) -> Ran {
        let mut ctx = self.context(target);
        self.learn_pages_if_needed(&mut ctx, plan);
        let mut results = vec![None; plan.len()];
        let all: Vec<usize> = (0..plan.len()).collect();
        self.in_order_on(&mut ctx, plan, &all, &mut results);
        Ran {
            results: complete(results),
            notes: ctx.notes,
        }
    }

    /// Runs the checks at `indices` of the plan in order on `ctx`'s server; once the server
    /// is gone for good (an `--addr` server that stopped, a server that did not start
    /// again), the rest are skipped with the reason.
    fn in_order_on(
        &self,
        ctx: &mut Context<'_>,
        plan: &[CheckInfo],
        indices: &[usize],
        results: &mut [Option<CheckResult>],
    ) {
        let mut gone: Option<String> = None;
        for &i in indices {
            let result = match &gone {
                Some(reason) => {
                    let result = skipped(&plan[i], reason);
                    self.progress.check_done(&result);
                    result
                }
                None => {
                    let (mut result, stopped) = self.one(ctx, &plan[i]);
                    gone = stopped;
                    if gone.is_none()
                        && let Some(before) = ctx.closed_before.take()
                        && died_unanswered(&result)
                    {
                        result = self.blame_again(ctx, &plan[i], result, before, results);
                    }
                    result
                }
            };
            let closed = result.group == "pages"
                || result.evidence.as_ref().is_some_and(|e| e.closed_by_server);
            ctx.closed_before =
                (closed && result.rule != Some(RuleId::ServerDied)).then_some(Before::Check(i));
            results[i] = Some(result);
        }
    }

    /// A death seen at a check that got no answer at all, right after a check whose
    /// connection the server closed, may be the earlier one's: a server that exits right
    /// after an answer can still answer the kit's probe before it is gone. The check runs
    /// again on the restarted server; if it is answered this time, the death is blamed on
    /// the earlier check (`before`), with the reason.
    fn blame_again(
        &self,
        ctx: &mut Context<'_>,
        info: &CheckInfo,
        died: CheckResult,
        before: Before,
        results: &mut [Option<CheckResult>],
    ) -> CheckResult {
        let (again, stopped) = self.one(ctx, info);
        // Answered on a fresh server, the request did not kill it before its answer (it
        // may still kill it after, which `again` then says).
        let answered = again
            .evidence
            .as_ref()
            .is_some_and(|e| e.response.is_some());
        if stopped.is_some() || !answered {
            return died;
        }
        let death = died
            .detail
            .lines()
            .skip_while(|l| !l.starts_with("the server "))
            .collect::<Vec<_>>()
            .join("\n");
        let Before::Check(earlier) = before else {
            ctx.note(format!(
                "while the kit learned the pages (GET / and GET {}, before any check): {death}\n(it showed at {}, which passed when run again on a fresh server)",
                pages::MISSING_PATH,
                info.id
            ));
            return again;
        };
        let Some(earlier) = results[earlier].as_mut() else {
            return died;
        };
        earlier.verdict = Verdict::Fail;
        earlier.rule = Some(RuleId::ServerDied);
        earlier.detail = format!(
            "{}{}{death}\n(the death showed at the next check, {}, which passed when run again on a fresh server: it came right after this request's answer)",
            earlier.detail,
            if earlier.detail.is_empty() { "" } else { "\n" },
            info.id
        );
        again
    }

    /// Runs one check, times it, confirms the server lives, and says so to the progress.
    /// Returns why the remaining checks cannot run, if the server is gone for good.
    fn one(&self, ctx: &mut Context<'_>, info: &CheckInfo) -> (CheckResult, Option<String>) {
        if let Some(reason) = self.unresponsive() {
            let result = skipped(info, &reason);
            self.progress.check_done(&result);
            return (result, None);
        }
        self.progress.check_started(info);
        let begun = Instant::now();
        let pages_given = self.given_pages.is_some();
        let mut result = run_one(ctx, info, self.cases, pages_given);
        let mut stopped = confirm_alive(ctx, &mut result);
        if let (None, Some(why)) = (&stopped, ctx.target.unavailable()) {
            let reason = format!("the server did not start again after {}: {why}", info.id);
            ctx.note(format!("start-up: {reason}"));
            stopped = Some(reason);
        }
        result.duration = begun.elapsed();
        if result.rule == Some(RuleId::StoppedAnswering) {
            lock(&self.stopped_answering).push(info.id.clone());
        }
        self.progress.check_done(&result);
        (result, stopped)
    }

    /// Why the remaining checks are not run, once the server has stopped answering
    /// [`MAX_STOPS`] times.
    fn unresponsive(&self) -> Option<String> {
        let stops = lock(&self.stopped_answering);
        (stops.len() >= MAX_STOPS).then(|| {
            format!(
                "not run: the server stopped answering GET / {} times (at {}), restarts did not keep it answering, and each further check would only wait out its timeouts",
                stops.len(),
                stops.join(", ")
            )
        })
    }

    /// One check on a fresh sibling instance of the target, stopped afterwards; the pages and
    /// calibration of the main run. A sibling that does not start is an error for the
    /// scheduler to deal with, not a verdict.
    fn on_sibling(
        &self,
        info: &CheckInfo,
        pages: Option<&Pages>,
        calibration: &Calibration,
        siblings: &Siblings,
    ) -> Result<OnSibling, SetupError> {
        if let Some(reason) = self.unresponsive() {
            let result = skipped(info, &reason);
            self.progress.check_done(&result);
            return Ok(OnSibling {
                result,
                notes: Vec::new(),
                calibration: calibration.clone(),
            });
        }
        let mut sibling = Target::start_gated(
            self.spec.clone(),
            siblings.options.clone(),
            Some(Arc::clone(&siblings.gate)),
        )?;
        let mut ctx = self.context(&mut sibling);
        ctx.pages = pages.cloned();
        ctx.calibration = calibration.clone();
        let (result, _) = self.one(&mut ctx, info);
        let ran = OnSibling {
            result,
            notes: ctx.notes,
            calibration: ctx.calibration,
        };
        sibling.stop();
        Ok(ran)
    }

    fn in_lanes(&self, target: &mut Target, plan: &[CheckInfo]) -> Ran {
        let siblings = Siblings::after(target.started_in(), &self.settings.target);
        let mut lanes = Lanes {
            results: vec![None; plan.len()],
            notes: Vec::new(),
            deferred: Vec::new(),
        };
        let of = |wanted: Lane| -> Vec<usize> {
            (0..plan.len())
                .filter(|&i| lane(&plan[i], self.cases) == wanted)
                .collect()
        };
        let mut main = self.context(target);
        // The pages first: every lane judges bodies with them.
        let (pages_checks, main_rest): (Vec<usize>, Vec<usize>) = of(Lane::Main)
            .into_iter()
            .partition(|&i| plan[i].group == "pages");
        self.in_order_on(&mut main, plan, &pages_checks, &mut lanes.results);
        self.learn_pages_if_needed(&mut main, plan);
        let pages = main.pages.clone();
        let pages = pages.as_ref();

        // 1. The main lane, and the sleeping checks beside it.
        let mut calibration = Calibration::default();
        let beside = std::thread::scope(|scope| {
            let waiting: Vec<_> = of(Lane::Sibling)
                .into_iter()
                .map(|i| {
                    let (info, siblings) = (&plan[i], &siblings);
                    let none = Calibration::default();
                    (
                        i,
                        scope.spawn(move || self.on_sibling(info, pages, &none, siblings)),
                    )
                })
                .collect();
            self.in_order_on(&mut main, plan, &main_rest, &mut lanes.results);
            joined(waiting)
        });
        for (i, ran) in beside {
            if let Some(ran) = lanes.take(i, ran)
                && plan[i].id == concurrency::SLEEP_IS_SLOW
            {
                calibration = ran;
            }
        }
        lanes.notes.append(&mut main.notes);

        // 2. The concurrency checks, all at once, each on its own instance.
        let together = std::thread::scope(|scope| {
            let handles: Vec<_> = of(Lane::Together)
                .into_iter()
                .map(|i| {
                    let (info, calibration, siblings) = (&plan[i], &calibration, &siblings);
                    (
                        i,
                        scope.spawn(move || self.on_sibling(info, pages, calibration, siblings)),
                    )
                })
                .collect();
            joined(handles)
        });

        // 3. What failed among others, again alone; then what must run alone.
        let baseline = self.settings.baseline.as_deref();
        for (i, ran) in together {
            let first = match ran {
                Ok(first) => {
                    lanes.notes.extend(first.notes);
                    first.result
                }
                Err(e) => {
                    lanes.deferred.push((i, e));
                    continue;
                }
            };
            let confirm = first.verdict == Verdict::Fail
                || baseline.is_some_and(|b| b.regresses(&first.id, first.data.as_ref()));
            if !confirm {
                lanes.results[i] = Some(first);
                continue;
            }
            let alone = self.on_sibling(&plan[i], pages, &calibration, &siblings);
            if lanes.take(i, alone).is_some()
                && let Some(result) = lanes.results[i].as_mut()
            {
                result.detail.push_str(&format!(
                    "\n(run again alone: it was {} among the other concurrency checks)",
                    first.verdict.as_str()
                ));
            }
        }
        for i in of(Lane::Alone) {
            let ran = self.on_sibling(&plan[i], pages, &calibration, &siblings);
            lanes.take(i, ran);
        }
        self.deferred(&mut lanes, plan, pages, &calibration, &siblings);
        lanes.notes.dedup();
        Ran {
            results: complete(lanes.results),
            notes: lanes.notes,
        }
    }

    /// The checks whose sibling did not start beside the others, each on a sibling started
    /// alone; skipped, saying why, when that one does not start either.
    fn deferred(
        &self,
        lanes: &mut Lanes,
        plan: &[CheckInfo],
        pages: Option<&Pages>,
        calibration: &Calibration,
        siblings: &Siblings,
    ) {
        let deferred = std::mem::take(&mut lanes.deferred);
        if deferred.is_empty() {
            return;
        }
        let ids: Vec<&str> = deferred.iter().map(|(i, _)| plan[*i].id.as_str()).collect();
        lanes.notes.push(format!(
            "start-up: {} sibling instance(s) did not start beside the others within {}; their checks ran after the lanes, on instances started alone: {}",
            deferred.len(),
            humantime::format_duration(siblings.options.startup_timeout),
            ids.join(", ")
        ));
        for (i, beside) in deferred {
            match self.on_sibling(&plan[i], pages, calibration, siblings) {
                Ok(ran) => {
                    lanes.notes.extend(ran.notes);
                    lanes.results[i] = Some(ran.result);
                }
                Err(alone) => {
                    let reason = format!(
                        "no instance of the server started for this check: beside the others, {}; alone, {}",
                        beside.message, alone.message
                    );
                    lanes
                        .notes
                        .push(format!("start-up: {}: {reason}", plan[i].id));
                    let result = skipped(&plan[i], &reason);
                    self.progress.check_done(&result);
                    lanes.results[i] = Some(result);
                }
            }
        }
    }
}

/// What a check on a sibling left: its result, its notes, and the calibration it measured.
struct OnSibling {
    result: CheckResult,
    notes: Vec<String>,
    calibration: Calibration,
}

/// The results of a run in lanes as they come in.
struct Lanes {
    results: Vec<Option<CheckResult>>,
    notes: Vec<String>,
    /// Checks whose sibling did not start, with why: they run again after the lanes.
    deferred: Vec<(usize, SetupError)>,
}

impl Lanes {
    /// Keeps a sibling's result, or defers the check when its sibling did not start;
    /// returns the calibration the check measured.
    fn take(&mut self, i: usize, ran: Result<OnSibling, SetupError>) -> Option<Calibration> {
        match ran {
            Ok(ran) => {
                self.notes.extend(ran.notes);
                self.results[i] = Some(ran.result);
                Some(ran.calibration)
            }
            Err(e) => {
                self.results[i] = None;
                self.deferred.push((i, e));
                None
            }
        }
    }
}

/// Every lane thread's result, in the order the threads were started.
fn joined<T>(handles: Vec<(usize, std::thread::ScopedJoinHandle<'_, T>)>) -> Vec<(usize, T)> {
    handles
        .into_iter()
        .map(|(i, handle)| (i, handle.join().expect("a lane panicked")))
        .collect()
}

/// The results in plan order, once every planned check has one.
fn complete(results: Vec<Option<CheckResult>>) -> Vec<CheckResult> {
    results
        .into_iter()
        .map(|r| r.expect("every planned check ran"))
        .collect()
}

/// Where a check runs when the target can be started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// In order on the main instance.
    Main,
    /// On a sibling, beside the main lane: checks that mostly wait, and the fuzz families.
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
        // Each family learns the server on its own instance, beside the fixtures.
        "fuzz" => Lane::Sibling,
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
        "pages" => pages::run(ctx, info, pages_given),
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

/// Whether a check's connection ended without an answer, or was ended by the server: the
/// moment a dying server shows (one that exits right after an answer is otherwise blamed
/// on the next check).
fn suspicious(result: &CheckResult) -> bool {
    let unanswered = result
        .evidence
        .as_ref()
        .is_some_and(|e| e.response.is_none() || e.closed_by_server);
    // Learning the pages keeps no evidence, but its connections end as the server likes.
    let learning = result.group == "pages";
    let rule = matches!(
        result.rule,
        Some(
            RuleId::NoResponse
                | RuleId::ResetBeforeResponse
                | RuleId::NoResponseInTime
                | RuleId::IgnoresHalfClose
                | RuleId::NoAnswerToInvalidRequest
        )
    );
    unanswered || rule || learning
}

/// Whether the check failed because the server died, without any answer to its request.
fn died_unanswered(result: &CheckResult) -> bool {
    result.rule == Some(RuleId::ServerDied)
        && result
            .evidence
            .as_ref()
            .is_some_and(|e| e.response.is_none())
}

/// After a check: if its connection ended without an answer, confirms that the server still
/// runs and answers `GET /`; in any case, notices a process that has exited. A death (or a
/// server that stopped answering) is blamed on this check, and a server the kit started is
/// restarted. Returns why the remaining checks cannot run, when the kit cannot restart it.
fn confirm_alive(ctx: &mut Context<'_>, result: &mut CheckResult) -> Option<String> {
    let finding = if suspicious(result) {
        ctx.liveness()
    } else {
        ctx.revive().map(|text| (RuleId::ServerDied, text))
    };
    let (rule, text) = finding?;
    result.verdict = Verdict::Fail;
    result.rule = Some(rule);
    result.detail = if result.detail.is_empty() {
        text.clone()
    } else {
        format!("{}\n{text}", result.detail)
    };
    (!ctx.target.restartable())
        .then(|| format!("the server stopped answering at {}: {text}", result.id))
}

/// Locks, ignoring poisoning: a list of check ids stays consistent between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
