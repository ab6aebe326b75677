//! One family's run: every case is sent whatever came before, failures are grouped into
//! classes (the rule broken and the row of the request that broke it), the first input of
//! each class is shrunk to a minimal one within a time budget, and a server that dies or
//! stops answering is one more class: its input is reported as it was, the server is
//! restarted, and the family goes on.
//!
//! The generator is a proptest [`TestRunner`] driven from here: each case is a fresh
//! [`ValueTree`], so that a class's first failure can be shrunk with proptest's own
//! `simplify`/`complicate` while the run keeps its place in the seeded sequence.

use super::{
    Checked, Deadline, Family, Fingerprint, Input, check_input, fixture_text, hang_key,
    measure_deadline, run_seed, runner,
};
use crate::kit::report::measurement::FuzzStats;
use crate::kit::report::{CheckResult, Excerpt, FailureClass, Measurement, Verdict};
use crate::kit::run::context::{CheckInfo, Context, MAX_STOPS};
use crate::kit::verdict::RuleId;
use crate::kit::verdict::expect::Kind;
use proptest::strategy::{Strategy, ValueTree};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A liveness probe (`GET /`) runs after this many cases, and after every case that ended
/// without an answer.
pub const PROBE_EVERY: u32 = 100;
/// Shrinking one class stops after this long...
pub const SHRINK_PER_CLASS: Duration = Duration::from_secs(2);
/// ...and all the shrinking of one family after this long.
pub const SHRINK_PER_FAMILY: Duration = Duration::from_secs(6);
/// Most shrink steps for one class (proptest's `max_shrink_iters`).
pub const MAX_SHRINK_STEPS: u32 = 2048;
/// How often the progress line is updated, in cases.
const PROGRESS_EVERY: u32 = 25;

/// What identifies a class: the rule and the row of the request it was blamed on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    rule: RuleId,
    kind: Kind,
}

/// A class while the family runs.
struct Class {
    key: Key,
    verdict: Verdict,
    count: u32,
    /// The minimal input found (the first one when not shrunk), and the verifier's word.
    minimal: Checked,
    detail: String,
    shrunk: bool,
    note: String,
}

/// The state of one family's run.
struct Campaign<'c, 'a> {
    ctx: &'c mut Context<'a>,
    deadline: Deadline,
    classes: Vec<Class>,
    cases: u32,
    non_strict: u32,
    retries: u32,
    /// Cases taken to hang like earlier ones of their class (see [`Deadline::hangs`]).
    assumed_hangs: u32,
    restarts: u32,
    /// Times the server stopped answering (at [`MAX_STOPS`], the family ends).
    stops: u32,
    since_probe: u32,
    shrink_spent: Duration,
    /// The server is gone and cannot be restarted (`--addr`): the family stops.
    stopped: Option<String>,
}

/// Runs one family against the context's target.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = info.result();
    let Some(family) = Family::from_id(&info.id) else {
        result.verdict = Verdict::Skip;
        result.detail = format!("no fuzz family is called {}", info.id);
        return result;
    };
    let settings = ctx.settings;
    let seed = run_seed(&settings.fuzz);
    let total = settings.fuzz.cases;
    let mut deadline = measure_deadline(ctx.target.addr(), settings.timeout);
    deadline.max_bytes = ctx.timing(false).max_bytes;
    let strategy = family.strategy();
    let mut generator = runner(family, seed, total);
    let mut campaign = Campaign {
        ctx,
        deadline,
        classes: Vec::new(),
        cases: 0,
        non_strict: 0,
        retries: 0,
        assumed_hangs: 0,
        restarts: 0,
        stops: 0,
        since_probe: 0,
        shrink_spent: Duration::ZERO,
        stopped: None,
    };
    let mut fingerprint = Fingerprint::default();
    let started = Instant::now();
    let mut gave_up = None;
    while campaign.cases < total && campaign.stopped.is_none() {
        let mut tree = match strategy.new_tree(&mut generator) {
            Ok(tree) => tree,
            Err(reason) => {
                gave_up = Some(reason.to_string());
                break;
            }
        };
        let input = tree.current();
        fingerprint.add(&input);
        campaign.cases += 1;
        campaign.case(&mut tree, input);
        if campaign.cases.is_multiple_of(PROGRESS_EVERY) {
            campaign.progress(total);
        }
    }
    let generation = started.elapsed().saturating_sub(campaign.shrink_spent);
    campaign.report(&mut result, family, seed, fingerprint, generation, gave_up);
    result
}

impl Campaign<'_, '_> {
    fn check(&mut self, input: &Input, retry: bool) -> Checked {
        let checked = check_input(
            self.ctx.target.addr(),
            input,
            &self.deadline,
            self.ctx.pages.as_ref(),
            retry,
        );
        self.retries += u32::from(checked.retried);
        self.assumed_hangs += u32::from(checked.assumed_hang);
        let confirmed = checked.retried || !self.deadline.hangs.is_empty();
        if confirmed
            && checked.timed_out()
            && let Some(key) = hang_key(
                &checked.plan,
                &checked.input.delivery,
                checked.judgement.request,
            )
            && checked.judgement.rule == Some(key.0)
            && !self.deadline.hangs.contains(&key)
        {
            self.deadline.hangs.push(key);
        }
        checked
    }

    /// Sends one generated case and files it.
    fn case(&mut self, tree: &mut impl ValueTree<Value = Input>, input: Input) {
        let checked = self.check(&input, true);
        if let Some(death) = self.alive_after(&checked) {
            self.file_death(checked, death);
            return;
        }
        let verdict = checked.verdict();
        if verdict == Verdict::NonStrict {
            self.non_strict += 1;
        }
        let Some(key) = key_of(&checked) else {
            return;
        };
        if let Some(class) = self.classes.iter_mut().find(|c| c.key == key) {
            class.count += 1;
            let shorter = checked.input.len() < class.minimal.input.len();
            if !class.shrunk && shorter && verdict == class.verdict {
                class.detail = checked.judgement.detail.clone();
                class.minimal = checked;
            }
            return;
        }
        let shrink = verdict == Verdict::Fail || self.ctx.settings.strict;
        let mut class = Class {
            key,
            verdict,
            count: 1,
            detail: checked.judgement.detail.clone(),
            minimal: checked,
            shrunk: false,
            note: String::new(),
        };
        if shrink {
            self.shrink(tree, &mut class);
        }
        self.classes.push(class);
    }

    /// After a case that ended without an answer, and every [`PROBE_EVERY`] cases: whether
    /// the server still lives and answers (`None`), or the rule and what was seen.
    fn alive_after(&mut self, checked: &Checked) -> Option<(RuleId, String)> {
        self.since_probe += 1;
        let silent = checked.received.as_ref().is_none_or(Excerpt::is_empty);
        if !silent && self.since_probe < PROBE_EVERY {
            return None;
        }
        self.since_probe = 0;
        let death = self.ctx.liveness()?;
        self.stops += u32::from(death.0 == RuleId::StoppedAnswering);
        if !self.ctx.target.restartable() {
            self.stopped = Some(death.1.clone());
            return Some(death);
        }
        self.restarts += 1;
        if self.stops as usize >= MAX_STOPS {
            self.stopped = Some(format!(
                "the server stopped answering GET / {} times in this family, and restarts did not keep it answering",
                self.stops
            ));
        }
        Some(death)
    }

    /// The input the server died (or stopped answering) on: reported as it was sent.
    /// Deaths are one class, whatever the row of the input: the first input is kept.
    fn file_death(&mut self, checked: Checked, (rule, text): (RuleId, String)) {
        if let Some(class) = self.classes.iter_mut().find(|c| c.key.rule == rule) {
            class.count += 1;
            return;
        }
        let key = Key {
            rule,
            kind: checked.plan.first().kind,
        };
        self.classes.push(Class {
            key,
            verdict: Verdict::Fail,
            count: 1,
            detail: text,
            minimal: checked,
            shrunk: false,
            note: "the input as it was sent when the server went away (deaths are not shrunk)"
                .into(),
        });
    }

    /// Shrinks a new class's first input with proptest's `simplify`/`complicate`, keeping a
    /// simpler input only when it falls in the same class, within the time budgets; then
    /// confirms the minimal input with the whole timeout.
    fn shrink(&mut self, tree: &mut impl ValueTree<Value = Input>, class: &mut Class) {
        let started = Instant::now();
        let budget = SHRINK_PER_CLASS.min(SHRINK_PER_FAMILY.saturating_sub(self.shrink_spent));
        let first = class.minimal.clone();
        let mut best = first.clone();
        let mut steps = 0;
        while started.elapsed() < budget && steps < MAX_SHRINK_STEPS {
            if !tree.simplify() {
                break;
            }
            steps += 1;
            let candidate = self.check(&tree.current(), false);
            if let Some(death) = self.alive_after(&candidate) {
                // A simpler input killed the server: its own class; stop shrinking this one.
                self.file_death(candidate, death);
                break;
            }
            let same = candidate.verdict() == class.verdict
                && key_of(&candidate).as_ref() == Some(&class.key);
            if same {
                best = candidate;
            } else if !tree.complicate() {
                break;
            }
        }
        let confirmed = self.check(&best.input, true);
        let shrink_ms = started.elapsed().as_millis();
        if confirmed.verdict() == class.verdict && key_of(&confirmed).as_ref() == Some(&class.key) {
            class.shrunk = confirmed.input != first.input;
            class.note = format!(
                "minimal input after {steps} shrink steps ({shrink_ms} ms), from a {}-byte input",
                first.input.len()
            );
            class.detail = confirmed.judgement.detail.clone();
            class.minimal = confirmed;
        } else {
            class.note =
                "the input as generated: its shrunk form did not fail the same way when confirmed"
                    .into();
        }
        self.shrink_spent += started.elapsed();
    }

    fn progress(&self, total: u32) {
        let failing = self
            .classes
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count();
        self.ctx.progress.step(&format!(
            "{}/{total} cases, {failing} failure class{}",
            self.cases,
            if failing == 1 { "" } else { "es" }
        ));
    }

    /// The check's result: the worst class decides; every class is listed.
    fn report(
        mut self,
        result: &mut CheckResult,
        family: Family,
        seed: u64,
        fingerprint: Fingerprint,
        generation: Duration,
        gave_up: Option<String>,
    ) {
        let strict = self.ctx.settings.strict;
        // The worst first: by verdict, then by the harm of the rule (a death before a body
        // after HEAD), then in the order found.
        self.classes
            .sort_by_key(|c| (std::cmp::Reverse(c.verdict.under(strict)), c.key.rule));
        let per_second = f64::from(self.cases) / generation.as_secs_f64().max(1e-6);
        let summary = format!("{} cases, seed {seed}, {per_second:.0} cases/s", self.cases);
        let saved = self.save(family, seed);
        result.classes = self.failure_classes();
        let stats = self.stats(&result.classes, seed, per_second, fingerprint, saved);
        result.data = Some(Measurement::Fuzz(Box::new(stats)));
        if self.classes.is_empty() {
            result.verdict = if gave_up.is_some() && self.cases == 0 {
                Verdict::Skip
            } else {
                Verdict::Pass
            };
            result.detail = match gave_up {
                Some(reason) => format!("{summary}; proptest gave up generating: {reason}"),
                None => summary,
            };
            return;
        }
        self.blame_the_worst(result, &summary);
    }

    /// Every class, as the report holds it.
    fn failure_classes(&self) -> Vec<FailureClass> {
        let addr = self.ctx.target.addr();
        let target = self.ctx.target.info();
        self.classes
            .iter()
            .map(|c| FailureClass {
                rule: c.key.rule,
                kind: c.key.kind.to_string(),
                verdict: c.verdict,
                count: c.count,
                evidence: c.minimal.evidence(&target, addr),
                shrunk: c.shrunk,
                detail: if c.note.is_empty() {
                    c.detail.clone()
                } else {
                    format!("{}\n({})", c.detail, c.note)
                },
            })
            .collect()
    }

    /// The campaign's figures.
    fn stats(
        &self,
        classes: &[FailureClass],
        seed: u64,
        per_second: f64,
        fingerprint: Fingerprint,
        saved: Vec<PathBuf>,
    ) -> FuzzStats {
        FuzzStats {
            assumed_hangs: self.assumed_hangs,
            baseline_p90_ms: self
                .deadline
                .baseline_p90
                .map(|p90| (p90.as_secs_f64() * 1e6).round() / 1e3),
            case_deadline_ms: self.deadline.case.as_millis() as u64,
            cases: self.cases,
            cases_per_second: (per_second * 10.0).round() / 10.0,
            failure_classes: classes.iter().map(class_json).collect(),
            fingerprint: fingerprint.hex(),
            keeps_alive: self.deadline.keeps_alive,
            non_strict_cases: self.non_strict,
            restarts: self.restarts,
            retries: self.retries,
            saved_to: (!saved.is_empty())
                .then(|| saved.iter().map(|p| p.display().to_string()).collect()),
            seed,
        }
    }

    /// The worst class decides the verdict and the evidence; the detail lists every class.
    fn blame_the_worst(&self, result: &mut CheckResult, summary: &str) {
        let strict = self.ctx.settings.strict;
        let worst = &self.classes[0];
        result.verdict = worst.verdict;
        result.rule = Some(worst.key.rule);
        result.evidence = Some(
            worst
                .minimal
                .evidence(&self.ctx.target.info(), self.ctx.target.addr()),
        );
        let lines: Vec<String> = self
            .classes
            .iter()
            .map(|c| {
                format!(
                    "{} {} on {}: {} case{}",
                    c.verdict.under(strict).as_str(),
                    c.key.rule,
                    c.key.kind,
                    c.count,
                    if c.count == 1 { "" } else { "s" }
                )
            })
            .collect();
        let mut detail = format!(
            "{summary}; {} class{}:\n{}",
            lines.len(),
            if lines.len() == 1 { "" } else { "es" },
            lines.join("\n")
        );
        if let Some(stopped) = &self.stopped {
            detail.push_str(&format!("\nthe family stopped: {}", first_line(stopped)));
        }
        detail.push_str(&format!(
            "\nthe worst, minimal: {}",
            first_line(&worst.detail)
        ));
        result.detail = detail;
    }

    /// `--save-failures DIR`: one fixture file per class that fails (under `--strict`, per
    /// non-strict class too).
    fn save(&self, family: Family, seed: u64) -> Vec<PathBuf> {
        let Some(dir) = &self.ctx.settings.fuzz.save_failures else {
            return Vec::new();
        };
        let strict = self.ctx.settings.strict;
        let mut saved = Vec::new();
        for (n, class) in self.classes.iter().enumerate() {
            if class.verdict.under(strict) != Verdict::Fail {
                continue;
            }
            let id = format!("fuzz-{}-{seed}-{}", family.name(), n + 1);
            let description = format!(
                "Found by {} with seed {seed}: {} on {}: {}",
                family.id(),
                class.key.rule,
                class.key.kind,
                first_line(&class.detail)
            );
            let text = fixture_text(
                &id,
                &description,
                class.minimal.plan.first().kind,
                &class.minimal.input,
            );
            let path = dir.join(format!("{id}.toml"));
            if std::fs::create_dir_all(dir)
                .and_then(|()| crate::kit::files::write(&path, text.as_bytes()))
                .is_ok()
            {
                saved.push(path);
            }
        }
        saved
    }
}

/// The class of a case that did not pass: its rule and the row of the request it was
/// blamed on.
fn key_of(checked: &Checked) -> Option<Key> {
    if checked.verdict() == Verdict::Pass {
        return None;
    }
    let request = checked
        .judgement
        .request
        .min(checked.plan.requests.len() - 1);
    Some(Key {
        rule: checked.judgement.rule.unwrap_or(RuleId::StatusNotAllowed),
        kind: checked.plan.requests[request].kind,
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// `{rule, kind, verdict, count, minimal_request, response, ending, expected, replay, shrunk}`.
fn class_json(class: &FailureClass) -> Value {
    json!({
        "rule": class.rule,
        "kind": class.kind,
        "verdict": class.verdict.as_str(),
        "count": class.count,
        "minimal_request": class.evidence.request.escaped(usize::MAX),
        "response": class.evidence.response.as_ref().map(|r| r.escaped(usize::MAX)),
        "ending": class.evidence.ending,
        "expected": class.evidence.expected,
        "replay": class.evidence.replay,
        "shrunk": class.shrunk,
        "detail": class.detail,
    })
}
