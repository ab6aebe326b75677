//! Property-based fuzzing with proptest: four generator families, each its own check
//! (`fuzz.request-line`, `fuzz.bytes`, `fuzz.mutation`, `fuzz.delivery`), one
//! [`TestRunner`] each, since a runner stops at its first failure.
//!
//! The oracle is the fixture checks' own: [`analyze`] finds the row of the expectations
//! table, [`judge`] decides; nothing here restates a rule. A case fails the property only
//! when the verdict is `fail`; a non-strict answer is counted, and the shortest example is
//! kept for the report. proptest shrinks a failing input to a minimal one.
//!
//! # Time
//! Before a family runs, [`measure_deadline`] times [`BASELINE_ROUNDS`] `GET /` round trips;
//! a case may take [`DEADLINE_FACTOR`] times their 90th percentile, within
//! [`MIN_CASE_DEADLINE`] and the run's `--timeout`. A case that times out at that deadline
//! is tried again with the whole `--timeout` before it counts as a failure, so a busy
//! machine does not produce false failures. (While shrinking, a case is not tried again;
//! instead the minimal input is confirmed with the whole timeout at the end, and if it
//! does not fail then, the first confirmed failure is reported.) These timeouts are socket
//! timeouts: proptest's own `Config::timeout` would fork.
//!
//! # A server that dies
//! After every failing case and every [`PROBE_EVERY`] cases, a probe checks that the
//! process still runs and answers `GET /`. Once it does not, shrinking is meaningless:
//! every further call of the property fails at once without touching the network, the
//! input that was being sent is reported as it was (rule `server-died`, with the exit
//! status and the server's last output), and a restartable target is restarted for the
//! next family.

pub mod strategies;

use crate::kit::context::{CheckInfo, Context};
use crate::kit::escape::{escape, replay_command};
use crate::kit::expect::{Kind, Plan};
use crate::kit::fixtures;
use crate::kit::judge::{Judgement, judge};
use crate::kit::raw::{self, Delivery, Ending, Exchange, Timing};
use crate::kit::report::{CheckResult, Evidence, Verdict};
pub use crate::kit::settings::FuzzSettings;
use crate::kit::target::Target;
use crate::pages::Pages;
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{
    Config, RngAlgorithm, TestCaseError, TestCaseResult, TestError, TestRng, TestRunner,
};
use serde_json::json;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use strategies::Input;

pub use crate::kit::settings::DEFAULT_FUZZ_CASES as DEFAULT_CASES;
/// A liveness probe (`GET /`) runs after this many passing cases, and after every failure.
pub const PROBE_EVERY: u32 = 100;
/// `GET /` round trips timed before a family runs.
pub const BASELINE_ROUNDS: usize = 20;
/// A case may take this many times the baseline's 90th percentile...
pub const DEADLINE_FACTOR: u32 = 20;
/// ...but never less than this (nor more than `--timeout`).
pub const MIN_CASE_DEADLINE: Duration = Duration::from_millis(300);
/// After a complete response, how long to watch how the connection ends (for bytes that
/// should not be there, or a reset): twice the baseline's 90th percentile, within these
/// bounds. A server that closes ends the watch at once...
pub const MIN_LINGER: Duration = Duration::from_millis(20);
pub const MAX_LINGER: Duration = Duration::from_millis(250);
/// ...and one that keeps connections open is watched this long, since it costs that much
/// per case.
pub const KEEP_ALIVE_LINGER: Duration = Duration::from_millis(5);
/// Shrinking stops after this long (proptest's `max_shrink_time`)...
pub const MAX_SHRINK_TIME: Duration = Duration::from_secs(10);
/// ...or after this many steps (`max_shrink_iters`).
pub const MAX_SHRINK_ITERS: u32 = 2048;
/// The verifier's rule for a server that neither answers nor closes after a half-close.
const IGNORES_HALF_CLOSE: &str = "ignores-half-close";
/// How long a server that stopped answering gets to be seen as exited.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// A generator family: one check, one runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    RequestLine,
    Bytes,
    Mutation,
    Delivery,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::RequestLine,
        Family::Bytes,
        Family::Mutation,
        Family::Delivery,
    ];

    /// `request-line`, `bytes`, `mutation`, `delivery`.
    pub fn name(self) -> &'static str {
        match self {
            Family::RequestLine => "request-line",
            Family::Bytes => "bytes",
            Family::Mutation => "mutation",
            Family::Delivery => "delivery",
        }
    }

    /// The check id, `fuzz.<name>`.
    pub fn id(self) -> String {
        format!("fuzz.{}", self.name())
    }

    pub fn from_id(id: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.id() == id)
    }

    /// What the check tests, in words.
    pub fn description(self) -> &'static str {
        match self {
            Family::RequestLine => {
                "Requests from the HTTP/1.1 grammar, with random methods, targets, versions, separators, line endings, field lines and bodies, each get an answer the expectations table allows"
            }
            Family::Bytes => {
                "Arbitrary bytes (non-UTF-8, NUL, control characters, up to 32 KiB) get an answer the expectations table allows, and never crash or hang the server"
            }
            Family::Mutation => {
                "Valid requests with bytes inserted, deleted, flipped, replaced or duplicated get an answer the expectations table allows"
            }
            Family::Delivery => {
                "Requests split into random pieces, now and then a few milliseconds apart, get the answer the table allows for the whole request"
            }
        }
    }

    /// The family's generator.
    pub fn strategy(self) -> BoxedStrategy<Input> {
        match self {
            Family::RequestLine => strategies::request_line_input().boxed(),
            Family::Bytes => strategies::bytes_input().boxed(),
            Family::Mutation => strategies::mutation_input().boxed(),
            Family::Delivery => strategies::delivery_input().boxed(),
        }
    }

    fn index(self) -> u64 {
        Family::ALL.iter().position(|&f| f == self).unwrap_or(0) as u64
    }
}

/// The checks of the group, in run order.
pub fn checks() -> Vec<CheckInfo> {
    Family::ALL
        .into_iter()
        .map(|family| CheckInfo {
            id: family.id(),
            group: "fuzz",
            description: family.description().to_string(),
        })
        .collect()
}

/// Cases per family for these settings.
pub fn cases_per_family(settings: &FuzzSettings) -> u32 {
    settings.cases()
}

/// The run's seed: the given one, or one picked at random once per process (so every
/// family of a run reports the same seed, and `--seed` with it replays them all).
pub fn run_seed(settings: &FuzzSettings) -> u64 {
    static RANDOM: OnceLock<u64> = OnceLock::new();
    settings.seed.unwrap_or_else(|| {
        *RANDOM.get_or_init(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            // Short enough to type: 32 bits are plenty for a fuzzing seed.
            splitmix64(nanos ^ (u64::from(std::process::id()) << 32)) >> 32
        })
    })
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The deterministic RNG of one family under one run seed (ChaCha, seeded from the run
/// seed and the family, so families do not repeat each other's choices).
pub fn family_rng(family: Family, seed: u64) -> TestRng {
    let mut state = seed ^ (family.index() + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        state = splitmix64(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The runner configuration of `unblocked check`: no failure persistence, no fork, no
/// proptest timeout (cases time out in their sockets), bounded shrinking, quiet.
pub fn runner_config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        source_file: None,
        test_name: None,
        fork: false,
        timeout: 0,
        max_shrink_time: MAX_SHRINK_TIME.as_millis() as u32,
        max_shrink_iters: MAX_SHRINK_ITERS,
        verbose: 0,
        ..Config::default()
    }
}

/// The runner of one family, deterministic given the seed.
pub fn runner(family: Family, seed: u64, cases: u32) -> TestRunner {
    TestRunner::new_with_rng(runner_config(cases), family_rng(family, seed))
}

/// The first `n` inputs a run of `family` with `seed` sends (as long as none fails).
pub fn sample(family: Family, seed: u64, n: u32) -> Vec<Input> {
    let mut runner = runner(family, seed, n);
    let inputs = RefCell::new(Vec::new());
    let _ = runner.run(&family.strategy(), |input| {
        inputs.borrow_mut().push(input);
        Ok(())
    });
    inputs.into_inner()
}

/// A stable hash (64-bit FNV-1a) of a sequence of inputs: equal runs, equal fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn add(&mut self, input: &Input) {
        let d = &input.delivery;
        self.write(&(d.pieces.len() as u64).to_le_bytes());
        for piece in &d.pieces {
            self.write(&(piece.len() as u64).to_le_bytes());
            self.write(piece);
        }
        self.write(&(d.pause.as_micros() as u64).to_le_bytes());
        self.write(&[u8::from(d.half_close)]);
    }

    pub fn of<'a>(inputs: impl IntoIterator<Item = &'a Input>) -> Fingerprint {
        let mut fingerprint = Fingerprint::default();
        for input in inputs {
            fingerprint.add(input);
        }
        fingerprint
    }

    /// 16 hex digits.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// How long cases may take against one server, from a measured baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// 90th percentile of the `GET /` round trips; `None` if one went unanswered.
    pub baseline_p90: Option<Duration>,
    /// Response timeout of a case.
    pub case: Duration,
    /// Response timeout of a second try, and of a confirmation: the run's `--timeout`.
    pub full: Duration,
    /// How long to watch the connection after a complete response.
    pub linger: Duration,
    /// Whether the server left the connection of a `GET /` open after answering.
    pub keeps_alive: bool,
    /// The server was seen to ignore a half-close for the full timeout (`ignores-half-close`,
    /// non-strict): later cases that time out the same way are judged at the case deadline
    /// instead of being retried, or a server that hangs on garbage costs minutes.
    pub ignores_half_close: bool,
}

impl Deadline {
    /// The deadline for a baseline: `clamp(DEADLINE_FACTOR x p90, MIN_CASE_DEADLINE,
    /// full)`; the full timeout when the baseline is unknown.
    pub fn from_baseline(
        baseline_p90: Option<Duration>,
        full: Duration,
        keeps_alive: bool,
    ) -> Deadline {
        let (case, linger) = match baseline_p90 {
            Some(p90) => (
                (p90 * DEADLINE_FACTOR).max(MIN_CASE_DEADLINE).min(full),
                (p90 * 2).clamp(MIN_LINGER, MAX_LINGER),
            ),
            None => (full, MAX_LINGER),
        };
        Deadline {
            baseline_p90,
            case,
            full,
            linger: if keeps_alive {
                KEEP_ALIVE_LINGER
            } else {
                linger
            },
            keeps_alive,
            ignores_half_close: false,
        }
    }

    fn timing(&self, response: Duration) -> Timing {
        Timing {
            connect: self.full,
            response,
            linger: self.linger,
            close_wait: self.full.min(raw::DEFAULT_CLOSE_WAIT),
        }
    }
}

/// Times [`BASELINE_ROUNDS`] `GET /` round trips (connect to complete response) against
/// `addr`, each bounded by `full`, stopping at the first one without a complete answer;
/// then watches one more for [`MAX_LINGER`] to see whether the server closes.
pub fn measure_deadline(addr: SocketAddr, full: Duration) -> Deadline {
    let request = Delivery::whole(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    let mut timing = Timing {
        connect: full,
        response: full,
        linger: Duration::ZERO,
        close_wait: Duration::ZERO,
    };
    let mut times = Vec::with_capacity(BASELINE_ROUNDS);
    for _ in 0..BASELINE_ROUNDS {
        let started = Instant::now();
        match raw::send(addr, &request, &timing, &[false]) {
            Ok(ex) if !ex.responses.is_empty() => times.push(started.elapsed()),
            _ => return Deadline::from_baseline(None, full, false),
        }
    }
    times.sort();
    let p90 = times[(times.len() * 9).div_ceil(10) - 1];
    timing.linger = MAX_LINGER;
    let keeps_alive =
        raw::send(addr, &request, &timing, &[false]).is_ok_and(|ex| ex.ending == Ending::KeptOpen);
    Deadline::from_baseline(Some(p90), full, keeps_alive)
}

/// One input, sent and judged.
#[derive(Debug, Clone)]
pub struct Checked {
    pub input: Input,
    pub plan: Plan,
    /// `None` when no connection could be made.
    pub exchange: Option<Exchange>,
    pub judgement: Judgement,
    /// The response timeout of the exchange.
    pub waited: Duration,
    /// Whether it timed out at the case deadline and was tried again.
    pub retried: bool,
}

impl Checked {
    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict
    }

    fn timed_out(&self) -> bool {
        self.exchange
            .as_ref()
            .is_some_and(|ex| ex.ending == Ending::TimedOut)
    }

    /// `rule: detail (input ...)`, one line, for proptest's messages.
    pub fn summary(&self) -> String {
        match self.judgement.rule {
            Some(rule) => format!("{rule}: {} (input {:?})", self.judgement.detail, self.input),
            None => format!("{}: {:?}", self.verdict().as_str(), self.input),
        }
    }

    /// The evidence for a report, with a replay command for `addr`.
    pub fn evidence(&self, addr: SocketAddr) -> Evidence {
        let request = self.input.bytes();
        let replay = replay_command(
            &request,
            &addr.ip().to_string(),
            addr.port(),
            self.input.delivery.half_close,
        );
        let (response, ending) = match &self.exchange {
            None => (None, "no connection".to_string()),
            Some(ex) => (
                (!ex.received.is_empty()).then(|| ex.received.clone()),
                match ex.ending {
                    Ending::TimedOut => format!(
                        "timed out after {}",
                        humantime::format_duration(self.waited)
                    ),
                    other => other.describe().to_string(),
                },
            ),
        };
        Evidence {
            request,
            response,
            ending,
            expected: self.plan.describe(),
            replay,
        }
    }
}

/// Sends `input` to `addr` and judges the answer with the shared verifier. With `retry`,
/// an exchange that timed out at the case deadline is tried again with the full timeout.
pub fn check_input(
    addr: SocketAddr,
    input: &Input,
    deadline: &Deadline,
    pages: Option<&Pages>,
    retry: bool,
) -> Checked {
    let plan = Plan::of(&input.delivery);
    let first = exchange(addr, input, &plan, deadline, deadline.case, pages);
    let known_to_ignore =
        deadline.ignores_half_close && first.judgement.rule == Some(IGNORES_HALF_CLOSE);
    if retry && first.timed_out() && deadline.case < deadline.full && !known_to_ignore {
        let mut second = exchange(addr, input, &plan, deadline, deadline.full, pages);
        second.retried = true;
        return second;
    }
    first
}

fn exchange(
    addr: SocketAddr,
    input: &Input,
    plan: &Plan,
    deadline: &Deadline,
    response: Duration,
    pages: Option<&Pages>,
) -> Checked {
    let (exchange, judgement) = match raw::send(
        addr,
        &input.delivery,
        &deadline.timing(response),
        &plan.heads(),
    ) {
        Ok(ex) => {
            let judgement = judge(plan, &ex, pages);
            (Some(ex), judgement)
        }
        Err(e) => (
            None,
            Judgement {
                verdict: Verdict::Fail,
                rule: Some("no-response"),
                detail: format!("cannot connect to {addr}: {e}"),
                outcome: None,
                request: 0,
            },
        ),
    };
    Checked {
        input: input.clone(),
        plan: plan.clone(),
        exchange,
        judgement,
        waited: response,
        retried: false,
    }
}

/// Why the server can no longer be fuzzed.
#[derive(Debug, Clone)]
enum Gone {
    /// The process ended: "exited with status 101".
    Exited(String),
    /// It runs but does not answer `GET /` any more.
    Unresponsive,
}

struct Death {
    gone: Gone,
    /// The case being sent when the probe found the server gone.
    checked: Checked,
    /// The input sent before it.
    previous: Option<Input>,
}

/// The state of one family's run, shared by the property's calls.
struct FamilyRun<'t> {
    target: &'t mut Target,
    addr: SocketAddr,
    pages: Option<Pages>,
    deadline: Deadline,
    started: Instant,
    /// Cases generated until the first failure (shrinking steps excluded).
    cases: u32,
    fingerprint: Fingerprint,
    generation: Option<Duration>,
    since_probe: u32,
    retries: u32,
    non_strict: u32,
    non_strict_example: Option<Checked>,
    first_failure: Option<Checked>,
    shrink_steps: u32,
    shrink_started: Option<Instant>,
    previous: Option<Input>,
    death: Option<Death>,
}

impl FamilyRun<'_> {
    fn case(&mut self, input: Input) -> TestCaseResult {
        if self.death.is_some() {
            return Err(TestCaseError::fail(
                "the server is gone; nothing more is sent",
            ));
        }
        let shrinking = self.first_failure.is_some();
        if shrinking {
            self.shrink_steps += 1;
        } else {
            self.cases += 1;
            self.fingerprint.add(&input);
        }
        let checked = check_input(
            self.addr,
            &input,
            &self.deadline,
            self.pages.as_ref(),
            !shrinking,
        );
        self.retries += u32::from(checked.retried);
        if checked.retried && checked.judgement.rule == Some(IGNORES_HALF_CLOSE) {
            self.deadline.ignores_half_close = true;
        }
        match checked.verdict() {
            Verdict::Fail => {
                if !shrinking {
                    self.generation = Some(self.started.elapsed());
                }
                if let Some(gone) = self.probe() {
                    return Err(self.died(gone, checked));
                }
                let message = checked.summary();
                self.previous = Some(input);
                if self.first_failure.is_none() {
                    self.first_failure = Some(checked);
                    self.shrink_started = Some(Instant::now());
                }
                Err(TestCaseError::fail(message))
            }
            verdict => {
                if !shrinking && verdict == Verdict::NonStrict {
                    self.non_strict += 1;
                    if self
                        .non_strict_example
                        .as_ref()
                        .is_none_or(|e| input.len() < e.input.len())
                    {
                        self.non_strict_example = Some(checked.clone());
                    }
                }
                self.since_probe += u32::from(!shrinking);
                // A silent close is allowed for some inputs, but it is also how a dying
                // server ends a connection: look at once, to blame the right input.
                let silent = checked
                    .exchange
                    .as_ref()
                    .is_none_or(|ex| ex.received.is_empty());
                if silent || self.since_probe >= PROBE_EVERY {
                    self.since_probe = 0;
                    if let Some(gone) = self.probe() {
                        if !shrinking {
                            self.generation = Some(self.started.elapsed());
                        }
                        return Err(self.died(gone, checked));
                    }
                }
                self.previous = Some(input);
                Ok(())
            }
        }
    }

    fn died(&mut self, gone: Gone, checked: Checked) -> TestCaseError {
        let message = format!("the server is gone after {:?}", checked.input);
        self.death = Some(Death {
            gone,
            checked,
            previous: self.previous.take(),
        });
        TestCaseError::fail(message)
    }

    /// `None` while the server runs and answers `GET /`.
    fn probe(&mut self) -> Option<Gone> {
        if let Some(exit) = self.target.exit_description() {
            return Some(Gone::Exited(exit));
        }
        if raw::answers_get_root(self.addr, self.deadline.full) {
            return None;
        }
        // A process that just closed its sockets may still be exiting.
        if self.target.pid().is_some() {
            let until = Instant::now() + EXIT_GRACE;
            while Instant::now() < until {
                if let Some(exit) = self.target.exit_description() {
                    return Some(Gone::Exited(exit));
                }
                std::thread::sleep(Duration::from_millis(10)); // polling an exit
            }
        }
        Some(Gone::Unresponsive)
    }
}

/// Runs one family against the context's target.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = CheckResult::new(info.id.clone(), info.group, info.description.clone());
    let Some(family) = Family::from_id(&info.id) else {
        result.verdict = Verdict::Skip;
        result.detail = format!("no fuzz family is called {}", info.id);
        return result;
    };
    let settings = ctx.settings;
    let seed = run_seed(&settings.fuzz);
    let cases = cases_per_family(&settings.fuzz);
    let addr = ctx.target.addr();
    let deadline = measure_deadline(addr, settings.timeout);
    let strategy = family.strategy();
    let mut runner = runner(family, seed, cases);

    let state = RefCell::new(FamilyRun {
        target: &mut *ctx.target,
        addr,
        pages: ctx.pages.clone(),
        deadline,
        started: Instant::now(),
        cases: 0,
        fingerprint: Fingerprint::default(),
        generation: None,
        since_probe: 0,
        retries: 0,
        non_strict: 0,
        non_strict_example: None,
        first_failure: None,
        shrink_steps: 0,
        shrink_started: None,
        previous: None,
        death: None,
    });
    let outcome = runner.run(&strategy, |input| state.borrow_mut().case(input));
    let FamilyRun {
        started,
        cases: ran,
        fingerprint,
        generation,
        retries,
        non_strict,
        non_strict_example,
        first_failure,
        shrink_steps,
        shrink_started,
        death,
        pages,
        ..
    } = state.into_inner();

    let generation = generation.unwrap_or_else(|| started.elapsed());
    let per_second = f64::from(ran) / generation.as_secs_f64().max(1e-6);
    let summary = format!("{ran} cases, seed {seed}, {per_second:.0} cases/s");
    let data = &mut result.data;
    data.insert("seed".into(), json!(seed));
    data.insert("cases".into(), json!(ran));
    data.insert(
        "cases_per_second".into(),
        json!((per_second * 10.0).round() / 10.0),
    );
    data.insert("non_strict_cases".into(), json!(non_strict));
    data.insert("fingerprint".into(), json!(fingerprint.hex()));
    data.insert(
        "case_deadline_ms".into(),
        json!(deadline.case.as_millis() as u64),
    );
    if let Some(p90) = deadline.baseline_p90 {
        data.insert(
            "baseline_p90_ms".into(),
            json!((p90.as_secs_f64() * 1e6).round() / 1e3),
        );
    }
    data.insert("retries".into(), json!(retries));
    data.insert("keeps_alive".into(), json!(deadline.keeps_alive));

    let failed: Option<(Checked, String)> = if let Some(death) = death {
        // Reported unshrunk: shrinking against a dead server means nothing.
        let mut detail = format!(
            "{} The input that was being sent is shown as it was, unshrunk ({summary}).",
            match &death.gone {
                Gone::Exited(_) => "The server died during this input.".to_string(),
                Gone::Unresponsive =>
                    "After this input the server no longer answers GET /.".to_string(),
            }
        );
        let answered = death
            .checked
            .exchange
            .as_ref()
            .is_some_and(|ex| !ex.received.is_empty());
        if death.checked.verdict() != Verdict::Fail && answered {
            detail.push_str(
                " (This input itself was answered; it was the last one before the probe.)",
            );
        }
        if let Some(previous) = &death.previous {
            detail.push_str(&format!(" The input sent before it: {previous:?}."));
        }
        match death.gone {
            Gone::Exited(exit) => {
                result.rule = Some("server-died".into());
                // The exit status, the server's last output, and whether it was restarted.
                let text = ctx.revive().unwrap_or_else(|| format!("the server {exit}"));
                detail.push_str(&format!("\n{text}"));
            }
            Gone::Unresponsive => {
                result.rule = Some("no-response".into());
                if ctx.target.restartable() {
                    match ctx.target.restart() {
                        Ok(()) => detail.push_str("\n(restarted for the next checks)"),
                        Err(e) => detail.push_str(&format!("\n(could not restart it: {e})")),
                    }
                }
            }
        }
        data.insert("shrunk".into(), json!(false));
        Some((death.checked, detail))
    } else {
        match outcome {
            Ok(()) => None,
            Err(TestError::Abort(reason)) => {
                result.verdict = Verdict::Skip;
                result.detail = format!("proptest gave up: {reason} ({summary})");
                return result;
            }
            Err(TestError::Fail(_, minimal)) => {
                let shrink_time = shrink_started.map(|s| s.elapsed()).unwrap_or_default();
                let first =
                    first_failure.expect("a failure was recorded before proptest reported one");
                let confirmed = check_input(addr, &minimal, &deadline, pages.as_ref(), true);
                let (checked, note) = if confirmed.verdict() == Verdict::Fail {
                    let note = format!(
                        "Minimal input after {shrink_steps} shrink steps ({} ms), from a {}-byte input; {summary}.",
                        shrink_time.as_millis(),
                        first.input.len()
                    );
                    (confirmed, note)
                } else {
                    let note = format!(
                        "The input as generated: its shrunk form did not fail again when confirmed; {summary}."
                    );
                    (first.clone(), note)
                };
                let data = &mut result.data;
                data.insert("shrunk".into(), json!(checked.input != first.input));
                data.insert("shrink_steps".into(), json!(shrink_steps));
                data.insert("shrink_ms".into(), json!(shrink_time.as_millis() as u64));
                data.insert("original_length".into(), json!(first.input.len()));
                let detail = format!("{}. {note}", checked.judgement.detail);
                result.rule = checked.judgement.rule.map(str::to_string);
                Some((checked, detail))
            }
        }
    };

    match failed {
        Some((checked, mut detail)) => {
            result.verdict = Verdict::Fail;
            if result.rule.is_none() {
                result.rule = checked.judgement.rule.map(str::to_string);
            }
            detail.push_str(&delivery_note(&checked.input));
            result
                .data
                .insert("minimal_length".into(), json!(checked.input.len()));
            result
                .data
                .insert("kind".into(), json!(checked.plan.first().kind.to_string()));
            if let Some(dir) = &settings.fuzz.save_failures {
                let rule = result.rule.clone().unwrap_or_default();
                match save_failure(dir, family, seed, &checked, &rule) {
                    Ok(path) => {
                        result
                            .data
                            .insert("saved_to".into(), json!(path.display().to_string()));
                    }
                    Err(e) => detail.push_str(&format!(
                        "\n(could not save the input in {}: {e})",
                        dir.display()
                    )),
                }
            }
            result.evidence = Some(checked.evidence(addr));
            result.detail = detail;
        }
        None => match non_strict_example {
            Some(example) => {
                if settings.strict
                    && let Some(dir) = &settings.fuzz.save_failures
                {
                    // Under --strict a non-strict answer fails: keep its input too.
                    let rule = example.judgement.rule.unwrap_or_default();
                    if let Ok(path) = save_failure(dir, family, seed, &example, rule) {
                        result
                            .data
                            .insert("saved_to".into(), json!(path.display().to_string()));
                    }
                }
                result.verdict = Verdict::NonStrict;
                result.rule = example.judgement.rule.map(str::to_string);
                result.detail = format!(
                    "{non_strict} of {ran} cases got an answer that is allowed but not the reference's; the shortest: {}{} ({summary})",
                    example.judgement.detail,
                    delivery_note(&example.input)
                );
                result.evidence = Some(example.evidence(addr));
            }
            None => {
                result.verdict = Verdict::Pass;
                result.detail = summary;
            }
        },
    }
    result
}

/// ` Sent in pieces of 3+15, 2 ms apart.` for a split delivery; empty otherwise.
fn delivery_note(input: &Input) -> String {
    let d = &input.delivery;
    if d.pieces.len() < 2 {
        return String::new();
    }
    let sizes: Vec<String> = d.pieces.iter().map(|p| p.len().to_string()).collect();
    let mut note = format!(" Sent in pieces of {} bytes", sizes.join("+"));
    if !d.pause.is_zero() {
        note.push_str(&format!(", {} ms apart", d.pause.as_millis()));
    }
    note.push('.');
    note
}

/// The fixture file for one failing input: [`fixtures::case_file`], with the pieces and
/// pause of a split delivery.
pub fn fixture_text(id: &str, description: &str, kind: Kind, input: &Input) -> String {
    let d = &input.delivery;
    let bytes = input.bytes();
    let text = fixtures::case_file(id, description, kind, &bytes, d.half_close);
    if d.pieces.len() < 2 {
        return text;
    }
    let whole = format!("request = '{}'\n", escape(&bytes));
    let chunks: Vec<String> = d
        .pieces
        .iter()
        .map(|p| format!("'{}'", escape(p)))
        .collect();
    let mut split = format!("chunks = [{}]\n", chunks.join(", "));
    if !d.pause.is_zero() {
        split.push_str(&format!("pause = \"{}ms\"\n", d.pause.as_millis()));
    }
    text.replacen(&whole, &split, 1)
}

/// Writes `DIR/fuzz-<family>-<seed>.toml`.
fn save_failure(
    dir: &Path,
    family: Family,
    seed: u64,
    checked: &Checked,
    rule: &str,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let id = format!("fuzz-{}-{seed}", family.name());
    let first_line = checked.judgement.detail.lines().next().unwrap_or("");
    let description = format!(
        "Found by {} with seed {seed}: {rule}: {first_line}",
        family.id()
    );
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(
        &path,
        fixture_text(&id, &description, checked.plan.first().kind, &checked.input),
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests;
