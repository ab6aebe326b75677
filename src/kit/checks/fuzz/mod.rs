//! Property-based fuzzing with proptest: four generator families, each its own check
//! (`fuzz.request-line`, `fuzz.bytes`, `fuzz.mutation`, `fuzz.delivery`).
//!
//! The oracle is the fixture checks' own: [`crate::kit::verdict::expect::Plan`] derives what each
//! request may get, [`judge`] decides; nothing here restates a rule. Every case of a
//! family runs, whatever it finds ([`campaign`]): failures are grouped into classes, the
//! first input of each class is shrunk to a minimal one, and the check's verdict is the
//! worst class's.
//!
//! # Time
//! Before a family runs, [`measure_deadline`] times [`BASELINE_ROUNDS`] `GET /` round trips;
//! a case may take [`DEADLINE_FACTOR`] times their 90th percentile, within
//! [`MIN_CASE_DEADLINE`] and the run's `--timeout`. A case that times out at that deadline
//! is tried again with the whole `--timeout` before it counts as a failure, so a busy
//! machine does not produce false failures. (While shrinking, a case is not tried again;
//! instead the minimal input is confirmed with the whole timeout at the end.) These
//! timeouts are socket timeouts: proptest's own `Config::timeout` would fork.
//!
//! # A server that dies
//! After every case that ended without an answer, and every [`PROBE_EVERY`] cases, a probe
//! checks that the process still runs and answers `GET /`. Once it does not, the input
//! that was being sent is one more class (`server-died` or `stopped-answering`), reported
//! as it was; a server the kit started is restarted and the family goes on.

mod campaign;
pub mod strategies;

pub use campaign::{MAX_SHRINK_STEPS, PROBE_EVERY, SHRINK_PER_CLASS, SHRINK_PER_FAMILY, run};

use crate::kit::checks::fixtures;
use crate::kit::http::escape::escape;
use crate::kit::http::raw::{self, Delivery, Ending, Exchange, Timing};
use crate::kit::report::replay;
use crate::kit::report::{Evidence, Excerpt, TargetInfo, Verdict};
use crate::kit::run::context::CheckInfo;
pub use crate::kit::run::settings::FuzzSettings;
use crate::kit::verdict::RuleId;
use crate::kit::verdict::expect::{Kind, Plan};
use crate::kit::verdict::judge::{Judgement, judge};
use crate::pages::Pages;
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use strategies::Input;

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

/// The run's seed: the given one, or one picked at random once per process (so every
/// family of a run reports the same seed, and `--seed` with it replays them all).
pub fn run_seed(settings: &FuzzSettings) -> u64 {
    static RANDOM: OnceLock<u64> = OnceLock::new();
    settings
        .seed
        .unwrap_or_else(|| *RANDOM.get_or_init(random_seed))
}

/// A fresh random seed, short enough to type (32 bits are plenty for a fuzzing seed).
pub fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    splitmix64(nanos ^ (u64::from(std::process::id()) << 32)) >> 32
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
        max_shrink_time: SHRINK_PER_CLASS.as_millis() as u32,
        max_shrink_iters: MAX_SHRINK_STEPS,
        verbose: 0,
        ..Config::default()
    }
}

/// The runner of one family, deterministic given the seed.
pub fn runner(family: Family, seed: u64, cases: u32) -> TestRunner {
    TestRunner::new_with_rng(runner_config(cases), family_rng(family, seed))
}

/// The first `n` inputs a run of `family` with `seed` sends: drawn one tree at a time from
/// the family's runner, as the campaign draws them (shrinking draws nothing from it).
pub fn sample(family: Family, seed: u64, n: u32) -> Vec<Input> {
    let mut generator = runner(family, seed, n);
    let strategy = family.strategy();
    (0..n)
        .map_while(|_| strategy.new_tree(&mut generator).ok())
        .map(|tree| tree.current())
        .collect()
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

/// A case with nothing back at this multiple of the baseline's 90th percentile is taken to
/// hang like the earlier cases of its class that were seen to hang for the whole timeout...
pub const QUICK_FACTOR: u32 = 10;
/// ...but never sooner than this.
pub const MIN_QUICK: Duration = Duration::from_millis(10);

/// What a case that gets nothing back is judged as: the rule and the row of its request.
pub type HangKey = (RuleId, Kind);

/// How long cases may take against one server, from a measured baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// How long a case of a class known to hang is given before it is taken to hang too.
    pub quick: Duration,
    /// The classes seen to get nothing back (`no-response-in-time`, `ignores-half-close`):
    /// the first for the whole timeout, the others (once one has) by the case deadline.
    /// Later cases of one of them are given only [`Self::quick`] and not retried, or a
    /// server that hangs on garbage would cost an hour.
    pub hangs: Vec<HangKey>,
    /// Most bytes read per case ([`raw::read_limit`] for the pages judged with).
    pub max_bytes: usize,
}

impl Deadline {
    /// The deadline for a baseline: `clamp(DEADLINE_FACTOR x p90, MIN_CASE_DEADLINE,
    /// full)`; the full timeout when the baseline is unknown.
    pub fn from_baseline(
        baseline_p90: Option<Duration>,
        full: Duration,
        keeps_alive: bool,
    ) -> Deadline {
        let (case, linger, quick) = match baseline_p90 {
            Some(p90) => (
                (p90 * DEADLINE_FACTOR).max(MIN_CASE_DEADLINE).min(full),
                (p90 * 2).clamp(MIN_LINGER, MAX_LINGER),
                (p90 * QUICK_FACTOR).max(MIN_QUICK).min(full),
            ),
            None => (full, MAX_LINGER, full),
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
            quick,
            hangs: Vec::new(),
            max_bytes: raw::MAX_RESPONSE,
        }
    }

    fn timing(&self, response: Duration) -> Timing {
        Timing {
            connect: self.full,
            response,
            linger: self.linger,
            close_wait: self.full.min(raw::DEFAULT_CLOSE_WAIT),
            max_bytes: self.max_bytes,
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
        max_bytes: raw::MAX_RESPONSE,
    };
    let mut times = Vec::with_capacity(BASELINE_ROUNDS);
    for _ in 0..BASELINE_ROUNDS {
        let started = Instant::now();
        match raw::send(addr, &request, &timing, &raw::Owed::one_get()) {
            Ok(ex) if !ex.responses.is_empty() => times.push(started.elapsed()),
            _ => return Deadline::from_baseline(None, full, false),
        }
    }
    times.sort();
    let p90 = times[(times.len() * 9).div_ceil(10) - 1];
    timing.linger = MAX_LINGER;
    let keeps_alive = raw::send(addr, &request, &timing, &raw::Owed::one_get())
        .is_ok_and(|ex| ex.ending == Ending::KeptOpen);
    Deadline::from_baseline(Some(p90), full, keeps_alive)
}

/// One input, sent and judged.
#[derive(Debug, Clone)]
pub struct Checked {
    pub input: Input,
    pub plan: Plan,
    /// `None` when no connection could be made. Its bytes are not kept (see `received`).
    pub exchange: Option<Exchange>,
    /// What came back, as an excerpt; `None` when no connection could be made.
    pub received: Option<Excerpt>,
    pub judgement: Judgement,
    /// The response timeout of the exchange.
    pub waited: Duration,
    /// Whether it timed out at the case deadline and was tried again.
    pub retried: bool,
    /// Whether it got nothing back within [`Deadline::quick`], in a class known to hang,
    /// and was taken to hang too.
    pub assumed_hang: bool,
}

impl Checked {
    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict
    }

    pub fn timed_out(&self) -> bool {
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

    /// The evidence for a report, with a replay command for `target` at `addr`.
    pub fn evidence(&self, target: &TargetInfo, addr: SocketAddr) -> Evidence {
        let request = Excerpt::of(&self.input.bytes());
        let replay = replay::command(target, addr, &self.input.delivery);
        let (response, ending) = match &self.exchange {
            None => (None, "no connection".to_string()),
            Some(ex) => (
                self.received.clone().filter(|r| !r.is_empty()),
                match ex.ending {
                    Ending::TimedOut if self.assumed_hang => format!(
                        "nothing within {}: judged at once, since requests of this class already hung for the whole --timeout",
                        crate::kit::report::duration_text(self.waited)
                    ),
                    Ending::TimedOut => format!(
                        "timed out after {}",
                        crate::kit::report::duration_text(self.waited)
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
            closed_by_server: self
                .exchange
                .as_ref()
                .is_some_and(|ex| matches!(ex.ending, Ending::Closed | Ending::Reset)),
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
    // A pipelined case may hang on any of its requests, as an earlier case of the class did.
    let known_hang = hang_keys(&plan, &input.delivery)
        .iter()
        .any(|k| deadline.hangs.contains(k));
    let wait = if known_hang {
        deadline.quick
    } else {
        deadline.case
    };
    let mut first = exchange(addr, input, &plan, deadline, wait, pages);
    if known_hang && first.timed_out() {
        first.assumed_hang = true;
        return first;
    }
    // Once the server has hung for the whole timeout on one class, a case of another class
    // that gets nothing by its deadline is taken to hang too, not given the whole timeout.
    if retry && first.timed_out() && deadline.case < deadline.full && deadline.hangs.is_empty() {
        let mut second = exchange(addr, input, &plan, deadline, deadline.full, pages);
        second.retried = true;
        return second;
    }
    first
}

/// The class request `i` of a case falls in when nothing comes back for it: an owed answer
/// that never comes, or an incomplete request the client half-closed and the server
/// ignores; the rule is the one the verifier gives that wait. `None` when waiting on is
/// right (an incomplete request the client did not half-close).
pub fn hang_key(plan: &Plan, delivery: &Delivery, i: usize) -> Option<HangKey> {
    let e = plan.requests.get(i)?;
    let last = i + 1 == plan.requests.len();
    if e.complete && e.invalid.is_some() {
        // What the verifier says of a wait on an invalid request (non-strict).
        Some((RuleId::NoAnswerToInvalidRequest, e.kind))
    } else if e.complete {
        Some((RuleId::NoResponseInTime, e.kind))
    } else if delivery.half_close && last {
        Some((RuleId::IgnoresHalfClose, e.kind))
    } else {
        None
    }
}

/// The classes a case's requests fall in, should nothing come back for them.
fn hang_keys(plan: &Plan, delivery: &Delivery) -> Vec<HangKey> {
    (0..plan.requests.len())
        .filter_map(|i| hang_key(plan, delivery, i))
        .collect()
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
        &plan.owed(),
    ) {
        Ok(mut ex) => {
            let judgement = judge(plan, &ex, pages);
            // Only an excerpt is kept: a class holds its input for as long as the family
            // runs, and a hostile server sends megabytes to every case.
            let received = std::mem::take(&mut ex.received);
            ex.responses.clear();
            ex.rest = crate::kit::http::response::Next::Nothing;
            (Some((ex, Excerpt::of(&received))), judgement)
        }
        Err(e) => (
            None,
            Judgement {
                verdict: Verdict::Fail,
                rule: Some(RuleId::NoResponse),
                detail: format!("cannot connect to {addr}: {e}"),
                outcome: None,
                request: 0,
            },
        ),
    };
    let (exchange, received) = match exchange {
        Some((ex, received)) => (Some(ex), Some(received)),
        None => (None, None),
    };
    Checked {
        input: input.clone(),
        plan: plan.clone(),
        exchange,
        received,
        judgement,
        waited: response,
        retried: false,
        assumed_hang: false,
    }
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

#[cfg(test)]
mod tests;
