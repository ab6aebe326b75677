//! The loads the checks put on a server, as async functions; each returns every client's
//! marks and outcome for the checks to judge. Timing rules shared by all of them:
//!
//! - the scenario waits (with a deadline) until its background clients are where it needs
//!   them (slow requests fully sent, raw connections established or sending) before any
//!   fast request starts;
//! - fast requests start at `t0 + i * S / (2 n)`, i = 1..=n, so they are spread over the
//!   first half of the sleep S, the first one leaving the server S/2n to take in the load;
//! - a fast request is given up on after [`Params::fast_limit`], a slow one at
//!   `t0 + overlap limit + S/2`: enough to show how late it was, bounded for broken servers.

use super::load::{BadClient, Bench, Flight, Landed, RawFlight, RawKind, Role, wait_until};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The timing of one check, all derived from the measured sleep S.
#[derive(Debug, Clone)]
pub struct Params {
    /// S: how long a lone `GET /sleep` took.
    pub sleep: Duration,
    /// The time a fast request may take.
    pub budget: Duration,
    /// Fast requests per attempt.
    pub fast: usize,
    /// When a fast request is given up on.
    pub fast_limit: Duration,
    /// Bound on connecting and on each raw socket operation; also how long the scenario
    /// waits for its background clients to be in place.
    pub io_timeout: Duration,
}

impl Params {
    /// A fast request that takes this long waited about as long as a slow request (half of
    /// S, and at least five budgets): the delay of a server that served it behind a slow
    /// one, which no scheduler adds to a correct server (measured: under 50 ms with both
    /// cores of a 2-core machine kept busy).
    pub fn queued_delay(&self) -> Duration {
        (self.sleep / 2).max(self.budget * 5)
    }

    /// The instants the fast requests start at.
    fn fast_schedule(&self, t0: Instant) -> Vec<Instant> {
        let n = self.fast.max(1) as u32;
        (1..=n).map(|i| t0 + self.sleep * i / (2 * n)).collect()
    }
}

/// Slow requests must each end within this time of being sent: S + S·min(1, (K−1)/2), i.e.
/// 2 S from K = 3 on (a server that serves them one after another needs K·S for the last),
/// 1.5 S for K = 2.
pub fn overlap_limit(sleep: Duration, k: usize) -> Duration {
    match k {
        0 | 1 => sleep,
        2 => sleep + sleep / 2,
        _ => sleep * 2,
    }
}

/// Starts the fast requests of `params` on their schedule from `t0` and waits for them.
async fn fast_phase(bench: &Bench, params: &Params, t0: Instant) -> Vec<Landed> {
    let schedule = params.fast_schedule(t0);
    let last_start = *schedule.last().unwrap_or(&t0);
    let flights: Vec<Flight> = schedule
        .into_iter()
        .enumerate()
        .map(|(i, at)| {
            bench.request(
                "/",
                Role::Fast,
                format!("fast {}", i + 1),
                Some(at),
                params.fast_limit,
            )
        })
        .collect();
    // Each request gives up by itself after `fast_limit`; this is only a backstop.
    let deadline = last_start + params.fast_limit + Duration::from_secs(1);
    land_all(flights, bench, deadline).await
}

async fn land_all(flights: Vec<Flight>, bench: &Bench, deadline: Instant) -> Vec<Landed> {
    let mut landed = Vec::with_capacity(flights.len());
    for flight in flights {
        landed.push(flight.land(bench, deadline).await);
    }
    landed
}

async fn close_all(raw: Vec<RawFlight>, bench: &Bench) -> Vec<Landed> {
    let mut landed = Vec::with_capacity(raw.len());
    for flight in raw {
        landed.push(flight.close(bench).await);
    }
    landed
}

/// A lone `GET /sleep`, given up on after `limit`.
pub async fn calibrate(addr: SocketAddr, io_timeout: Duration, limit: Duration) -> Landed {
    let bench = Bench::new(addr, io_timeout);
    let flight = bench.request("/sleep", Role::Slow, "sleep".into(), None, limit);
    flight
        .land(&bench, Instant::now() + limit + Duration::from_secs(1))
        .await
}

/// What [`slow_load`] saw.
pub struct SlowRun {
    pub slow: Vec<Landed>,
    pub fast: Vec<Landed>,
    /// Slow requests still not fully sent when the fast ones started.
    pub unsent: usize,
    /// When the fast phase began (all slow requests sent, or the wait over), from the origin.
    pub t0: Duration,
}

/// K concurrent `GET /sleep`, then the fast requests once all K are fully sent.
pub async fn slow_load(addr: SocketAddr, params: &Params, k: usize) -> SlowRun {
    slow_load_on(&Bench::new(addr, params.io_timeout), params, k).await
}

async fn slow_load_on(bench: &Bench, params: &Params, k: usize) -> SlowRun {
    let limit = overlap_limit(params.sleep, k);
    // Each slow request's own bound; the scenario gives up on them earlier, at its deadline.
    let backstop = params.io_timeout * 2 + limit * 2;
    let slow: Vec<Flight> = (0..k)
        .map(|i| {
            bench.request(
                "/sleep",
                Role::Slow,
                format!("slow {}", i + 1),
                None,
                backstop,
            )
        })
        .collect();
    wait_until(Instant::now() + params.io_timeout, || {
        slow.iter().all(Flight::sent_or_over)
    })
    .await;
    let unsent = slow.iter().filter(|f| !f.sent_or_over()).count();
    let t0 = Instant::now();
    let t0_offset = bench.now();
    let fast = fast_phase(bench, params, t0).await;
    let slow = land_all(slow, bench, t0 + limit + params.sleep / 2).await;
    SlowRun {
        slow,
        fast,
        unsent,
        t0: t0_offset,
    }
}

/// What [`idle_load`] saw.
pub struct IdleRun {
    pub raw: Vec<Landed>,
    pub fast: Vec<Landed>,
    /// Raw connections not in place when the fast requests started.
    pub unready: usize,
}

/// K silent connections, K that trickle `GET /`, K that send it and never read; then the
/// fast requests once all are connected (and the trickling ones have sent a byte, the
/// unread ones their whole request). The raw connections are closed at the end.
pub async fn idle_load(addr: SocketAddr, params: &Params, k: usize) -> IdleRun {
    let bench = Bench::new(addr, params.io_timeout);
    let hold = params.io_timeout * 2 + params.sleep + params.fast_limit * 2;
    let kinds = [
        (RawKind::Idle, "idle"),
        (RawKind::Trickle, "trickle"),
        (RawKind::Unread, "unread"),
    ];
    let raw: Vec<RawFlight> = kinds
        .iter()
        .flat_map(|&(kind, name)| (0..k).map(move |i| (kind, format!("{name} {}", i + 1))))
        .map(|(kind, label)| bench.raw(kind, label, hold))
        .collect();
    wait_until(Instant::now() + params.io_timeout, || {
        raw.iter().all(RawFlight::ready)
    })
    .await;
    let unready = raw.iter().filter(|r| !r.ready()).count();
    let fast = fast_phase(&bench, params, Instant::now()).await;
    let raw = close_all(raw, &bench).await;
    IdleRun { raw, fast, unready }
}

/// What [`bad_clients_then_slow_load`] saw.
pub struct BadRun {
    pub bad: Vec<Landed>,
    /// How many of each kind of bad client, in [`BadClient::ALL`] order.
    pub sent: [usize; 3],
    pub load: SlowRun,
}

/// `n` bad clients at once (connecting and leaving, a non-UTF-8 request line, a reset in
/// the middle of a request, in turn), each ended by the server's close or after S; then the
/// slow-does-not-delay-fast load on the same server.
pub async fn bad_clients_then_slow_load(
    addr: SocketAddr,
    params: &Params,
    k: usize,
    n: usize,
) -> BadRun {
    let bench = Bench::new(addr, params.io_timeout);
    let hold = params.sleep;
    let mut sent = [0; 3];
    let bad: Vec<RawFlight> = (0..n)
        .map(|i| {
            let kind = BadClient::ALL[i % 3];
            sent[i % 3] += 1;
            bench.raw(
                RawKind::Bad(kind),
                format!("bad {} ({})", i + 1, kind.name()),
                hold,
            )
        })
        .collect();
    let in_place = Instant::now() + params.io_timeout;
    wait_until(in_place, || bad.iter().all(RawFlight::ready)).await;
    let bad = land_raw(bad, &bench, Instant::now() + hold).await;
    let load = slow_load_on(&bench, params, k).await;
    BadRun { bad, sent, load }
}

/// Waits for raw clients to end by themselves until `deadline`, then closes the others.
async fn land_raw(raw: Vec<RawFlight>, bench: &Bench, deadline: Instant) -> Vec<Landed> {
    wait_until(deadline, || raw.iter().all(RawFlight::ended)).await;
    close_all(raw, bench).await
}

/// What [`aborted_load`] saw.
pub struct AbortRun {
    pub aborted: Vec<Landed>,
    /// A `GET /sleep` sent after the aborted ones and left to finish.
    pub witness: Landed,
    /// Fast requests sent after the witness's response.
    pub fast: Vec<Landed>,
    pub unready: usize,
}

/// K `GET /sleep` on raw connections (half closed with a FIN, half reset) that the kit
/// closes S/2 after they were all sent; a witness `GET /sleep` sent after them, whose
/// response shows the server's sleeps for the aborted ones are over (it answers to closed
/// connections by then); then the fast requests.
pub async fn aborted_load(addr: SocketAddr, params: &Params, k: usize) -> AbortRun {
    let bench = Bench::new(addr, params.io_timeout);
    let limit = overlap_limit(params.sleep, 3);
    let hold = params.io_timeout * 2 + limit * 2;
    let aborted: Vec<RawFlight> = (0..k)
        .map(|i| {
            bench.raw(
                RawKind::Aborted { reset: i % 2 == 1 },
                format!("aborted {}", i + 1),
                hold,
            )
        })
        .collect();
    let in_place = Instant::now() + params.io_timeout;
    wait_until(in_place, || aborted.iter().all(RawFlight::ready)).await;
    let witness = bench.request("/sleep", Role::Slow, "witness".into(), None, hold);
    wait_until(in_place, || witness.sent_or_over()).await;
    let unready =
        aborted.iter().filter(|r| !r.ready()).count() + usize::from(!witness.sent_or_over());
    let t0 = Instant::now();
    // Halfway through their sleep: the moment the clients leave, by design.
    async_std::task::sleep((t0 + params.sleep / 2).saturating_duration_since(Instant::now())).await;
    let aborted = close_all(aborted, &bench).await;
    let witness = witness.land(&bench, t0 + limit + params.sleep / 2).await;
    let fast = fast_phase(&bench, params, Instant::now()).await;
    AbortRun {
        aborted,
        witness,
        fast,
        unready,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_requests_spread_over_the_first_half_of_the_sleep() {
        let params = Params {
            sleep: Duration::from_secs(1),
            budget: Duration::from_millis(100),
            fast: 5,
            fast_limit: Duration::from_secs(2),
            io_timeout: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        let offsets: Vec<u128> = params
            .fast_schedule(t0)
            .iter()
            .map(|at| (*at - t0).as_millis())
            .collect();
        assert_eq!(offsets, [100, 200, 300, 400, 500]);
    }

    #[test]
    fn the_overlap_limit_is_well_under_k_sleeps() {
        let s = Duration::from_millis(400);
        assert_eq!(overlap_limit(s, 2), Duration::from_millis(600));
        assert_eq!(overlap_limit(s, 3), Duration::from_millis(800));
        assert_eq!(overlap_limit(s, 1000), Duration::from_millis(800));
    }
}
