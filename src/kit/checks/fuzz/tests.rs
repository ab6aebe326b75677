//! Unit tests of the generators and of the run's pieces that need no server.

use super::strategies::*;
use super::*;
use crate::kit::verdict::expect::{Kind, Outcome, Plan, analyze};
use proptest::prelude::any;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestError};
use std::collections::HashMap;

const SEED: u64 = 20_241_125;

fn kinds(inputs: &[Input]) -> HashMap<Kind, usize> {
    let mut counts = HashMap::new();
    for input in inputs {
        *counts.entry(input.analysis().first().kind).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_same_seed_generates_the_same_inputs_and_another_seed_others() {
    for family in Family::ALL {
        let first = sample(family, SEED, 20);
        assert_eq!(first.len(), 20, "{family:?}");
        assert_eq!(first, sample(family, SEED, 20), "{family:?}");
        assert_ne!(first, sample(family, SEED + 1, 20), "{family:?}");
        assert_eq!(
            Fingerprint::of(&first),
            Fingerprint::of(&sample(family, SEED, 20))
        );
        assert_ne!(
            Fingerprint::of(&first),
            Fingerprint::of(&sample(family, SEED + 1, 20))
        );
    }
}

#[test]
fn families_draw_from_different_seeds() {
    use proptest::prelude::RngCore;
    let mut firsts: Vec<u64> = Family::ALL
        .iter()
        .map(|&f| family_rng(f, SEED).next_u64())
        .collect();
    assert_eq!(firsts[0], family_rng(Family::RequestLine, SEED).next_u64());
    firsts.sort();
    firsts.dedup();
    assert_eq!(firsts.len(), 4);
}

#[test]
fn no_input_may_be_slow_and_incomplete_ones_half_close() {
    for family in Family::ALL {
        let inputs = sample(family, SEED, 1000);
        assert_eq!(inputs.len(), 1000);
        for input in inputs {
            let analysis = input.analysis();
            assert!(
                analysis.requests.iter().all(|r| !r.may_be_slow),
                "{family:?} generated a slow request: {input:?}"
            );
            assert!(is_fuzzable(&analysis), "{family:?}: {input:?}");
            assert_eq!(
                input.delivery.half_close,
                needs_half_close(&analysis),
                "{input:?}"
            );
            if !analysis.last().complete {
                assert!(
                    input.delivery.half_close,
                    "{family:?}: incomplete but not half-closed: {input:?}"
                );
            }
            let pieces = &input.delivery.pieces;
            assert!(
                pieces.len() == 1 || pieces.iter().all(|p| !p.is_empty()),
                "{input:?}"
            );
            assert!(pieces.len() <= MAX_PIECES, "{input:?}");
            if family != Family::Delivery {
                assert_eq!(pieces.len(), 1, "{input:?}");
            }
        }
    }
}

#[test]
fn the_families_reach_many_rows_of_the_table() {
    let request_lines = kinds(&sample(Family::RequestLine, SEED, 600));
    assert!(request_lines.len() >= 10, "{request_lines:?}");
    for kind in [
        Kind::Hello,
        Kind::NotFound,
        Kind::OtherMethod,
        Kind::Malformed,
        Kind::Incomplete,
        Kind::LongTarget,
    ] {
        assert!(
            request_lines.contains_key(&kind),
            "no {kind} in {request_lines:?}"
        );
    }
    // `GET / HTTP/1.1` itself is common but does not dominate.
    assert!(request_lines[&Kind::Hello] < 300, "{request_lines:?}");
    for family in [Family::Mutation, Family::Delivery] {
        let seen = kinds(&sample(family, SEED, 600));
        assert!(seen.len() >= 5, "{family:?}: {seen:?}");
    }
    // Arbitrary bytes are mostly garbage, but complete heads too, not only incomplete ones.
    let bytes = kinds(&sample(Family::Bytes, SEED, 600));
    assert!(
        bytes.len() >= 3 && bytes[&Kind::Incomplete] < 500,
        "{bytes:?}"
    );
    let long = sample(Family::Bytes, SEED, 600)
        .iter()
        .map(Input::len)
        .max()
        .unwrap();
    assert!(long > 10 * 1024, "the longest byte input has {long} bytes");
    let non_utf8 = sample(Family::RequestLine, SEED, 600)
        .iter()
        .filter(|i| std::str::from_utf8(&i.bytes()).is_err())
        .count();
    assert!(non_utf8 > 0, "the request-line family never leaves UTF-8");
    let paused = sample(Family::Delivery, SEED, 600)
        .iter()
        .filter(|i| !i.delivery.pause.is_zero())
        .count();
    assert!(
        paused > 0 && paused < 200,
        "{paused} of 600 deliveries pause"
    );
}

#[test]
fn few_generated_values_are_filtered_out() {
    let mut runner = TestRunner::new_with_rng(runner_config(1), family_rng(Family::Bytes, SEED));
    for (name, strategy) in [
        ("grammar", grammar_request().boxed()),
        ("bytes", arbitrary_bytes().boxed()),
        ("mutated", mutated_request().boxed()),
    ] {
        let rejected = (0..1000)
            .filter(|_| {
                let bytes = strategy.new_tree(&mut runner).unwrap().current();
                !is_fuzzable(&Input::from_bytes(bytes).analysis())
            })
            .count();
        assert!(rejected < 20, "{name}: {rejected} of 1000 rejected");
    }
}

#[test]
fn requests_that_may_mean_sleep_are_rewritten() {
    for bytes in [
        &b"GET /sleep HTTP/1.1\r\n\r\n"[..],
        b"GET /%73leep HTTP/1.1\r\n\r\n",
        b"GET /SLEEP HTTP/1.1\n\n",
        b"\r\nGET http://h/sleep HTTP/1.1\r\n\r\n",
        b"POST /s/l/e/e/p HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a%",
        b"GET /sleep",
    ] {
        assert!(
            analyze(bytes).requests.iter().any(|r| r.may_be_slow),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        let input = Input::from_bytes(bytes.to_vec());
        assert!(
            input.analysis().requests.iter().all(|r| !r.may_be_slow),
            "{input:?}"
        );
        assert_eq!(input.len(), bytes.len());
    }
    // The first fix is the gentlest: only `%` changes when that is enough.
    assert_eq!(Input::from_bytes(b"GET /a%".to_vec()).bytes(), b"GET /a_");
    // Field lines are left alone.
    let input = Input::from_bytes(b"GET /sleep HTTP/1.1\r\nHost: s\r\n\r\n".to_vec());
    assert_eq!(input.bytes(), b"GET /zleep HTTP/1.1\r\nHost: s\r\n\r\n");
    // Requests that cannot mean /sleep are not touched.
    for bytes in [
        &b"GET /sleeq HTTP/1.1\r\n\r\n"[..],
        b"GET /%41 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert_eq!(Input::from_bytes(bytes.to_vec()).bytes(), bytes);
    }
}

#[test]
fn incomplete_heads_and_bare_lf_half_close() {
    for (bytes, half_close) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], false),
        (b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\n", true),
        (b"GET / HT", true),
        (b"", true),
        (b"GET / HTTP/1.1\n\n", true),
        (b"GET /x HTTP/1.1\r\nHost: x\n\r\n", true),
    ] {
        let input = Input::from_bytes(bytes.to_vec());
        assert_eq!(input.delivery.half_close, half_close, "{input:?}");
    }
}

#[test]
fn mutations_change_lengths_as_described() {
    let mut runner = TestRunner::deterministic();
    let strategy = (valid_request(), mutation());
    for _ in 0..500 {
        let (bytes, edit) = strategy.new_tree(&mut runner).unwrap().current();
        let mut edited = bytes.clone();
        edit.apply(&mut edited);
        let (before, after) = (bytes.len(), edited.len());
        match &edit {
            Mutation::Insert(_, new) => assert_eq!(after, before + new.len()),
            Mutation::Delete(_, n) => assert!(after < before && after + n >= before),
            Mutation::Flip(..) | Mutation::Replace(..) => assert_eq!(after, before),
            Mutation::Duplicate(_, n) => assert!(after > before && after <= before + n),
        }
        if let Mutation::Flip(..) = edit {
            let differing = bytes.iter().zip(&edited).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 1);
        }
    }
    // Edits of nothing change nothing (but an insertion).
    let mut runner = TestRunner::deterministic();
    let index = any::<proptest::sample::Index>()
        .new_tree(&mut runner)
        .unwrap()
        .current();
    for edit in [
        Mutation::Delete(index, 2),
        Mutation::Flip(index, 3),
        Mutation::Duplicate(index, 2),
        Mutation::Replace(index, 0),
    ] {
        let mut empty = Vec::new();
        edit.apply(&mut empty);
        assert!(empty.is_empty());
    }
    let mut empty = Vec::new();
    Mutation::Insert(index, b"ab".to_vec()).apply(&mut empty);
    assert_eq!(empty, b"ab");
}

#[test]
fn split_deliveries_keep_the_bytes() {
    let inputs = sample(Family::Delivery, SEED, 300);
    assert!(
        inputs
            .iter()
            .filter(|i| i.delivery.pieces.len() > 1)
            .count()
            > 200
    );
    for input in inputs {
        let whole = Input::from_bytes(input.bytes());
        assert_eq!(whole.bytes(), input.bytes());
        assert_eq!(whole.delivery.half_close, input.delivery.half_close);
    }
}

/// An offline stand-in for a server that answers 200 to every `GET /...` line: the request
/// line family finds it, and shrinks to a short input.
#[test]
fn a_prefix_matching_server_is_caught_with_a_short_input() {
    let mut runner = runner(Family::RequestLine, SEED, 500);
    let result = runner.run(&Family::RequestLine.strategy(), |input| {
        let bytes = input.bytes();
        let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let plan = Plan::of(&input.delivery);
        if line.starts_with(b"GET /") && !plan.first().allows(Outcome::Status(200)) {
            return Err(TestCaseError::fail("200 not allowed"));
        }
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, minimal)) => assert!(minimal.len() < 20, "{minimal:?}"),
        other => panic!("not found: {other:?}"),
    }
}

#[test]
fn failing_inputs_become_fixture_files_that_read_back() {
    let mut inputs = vec![
        Input::from_bytes(b"GET /a HTTP/1.1\r\n\r\n".to_vec()),
        Input::from_bytes(b"GET /\xff'\x00 HT".to_vec()),
    ];
    inputs.extend(
        sample(Family::Delivery, SEED, 50)
            .into_iter()
            .filter(|i| i.delivery.pieces.len() > 2)
            .take(3),
    );
    assert!(inputs.iter().any(|i| !i.delivery.pause.is_zero()) || inputs.len() == 5);
    for input in inputs {
        let kind = input.analysis().first().kind;
        let text = fixture_text(
            "fuzz-request-line-7",
            "Found by \"fuzz\": it's here",
            kind,
            &input,
        );
        let cases =
            fixtures::parse_file("saved.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].delivery, input.delivery, "{text}");
        assert_eq!(cases[0].kind, kind);
        assert_eq!(cases[0].id, "fuzz-request-line-7");
    }
}

#[test]
fn deadlines_follow_the_baseline_within_bounds() {
    let full = Duration::from_secs(5);
    let at =
        |p90_ms: u64| Deadline::from_baseline(Some(Duration::from_millis(p90_ms)), full, false);
    assert_eq!(at(1).case, MIN_CASE_DEADLINE);
    assert_eq!(at(1).linger, MIN_LINGER);
    assert_eq!(at(50).case, Duration::from_secs(1));
    assert_eq!(at(50).linger, Duration::from_millis(100));
    assert_eq!(at(1000).case, full);
    assert_eq!(at(1000).linger, MAX_LINGER);
    assert_eq!(Deadline::from_baseline(None, full, false).case, full);
    assert_eq!(
        Deadline::from_baseline(Some(Duration::from_millis(50)), full, true).linger,
        KEEP_ALIVE_LINGER
    );
}

#[test]
fn the_group_has_four_checks_and_one_seed_per_run() {
    let settings = FuzzSettings::default();
    let ids: Vec<String> = checks().into_iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "fuzz.request-line",
            "fuzz.bytes",
            "fuzz.mutation",
            "fuzz.delivery"
        ]
    );
    assert!(
        checks()
            .iter()
            .all(|c| c.group == "fuzz" && c.description.len() > 40)
    );
    for family in Family::ALL {
        assert_eq!(Family::from_id(&family.id()), Some(family));
    }
    assert_eq!(run_seed(&settings), run_seed(&settings));
    assert!(run_seed(&settings) < 1 << 32);
    let given = FuzzSettings {
        seed: Some(7),
        ..FuzzSettings::default()
    };
    assert_eq!(run_seed(&given), 7);
}

#[test]
fn inputs_print_escaped_and_short() {
    let input = Input::from_bytes(b"GET /\xff HTTP/1.1\r\n".to_vec());
    assert_eq!(
        format!("{input:?}"),
        r#"Input("GET /\xff HTTP/1.1\r\n", then half-close)"#
    );
    let long = Input::from_bytes(vec![b'a'; 5000]);
    assert!(format!("{long:?}").len() < 400);
}

/// The hang shortcut learns a class only when the verifier's rule is the key's: a key
/// that differs from what the verifier says of a wait is never learned, and every case of
/// its class waits the whole timeout (ruby-thin: 13 invalid, half-closed requests, 65 s).
#[test]
fn hang_keys_name_the_rule_the_verifier_gives_a_wait() {
    use crate::kit::http::raw::{Ending, Exchange};
    use crate::kit::http::response::Next;
    for (bytes, half_close) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], false),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
        (b"\x01\x02 junk\r\n\r\n", false),
        (b"\x01\x02 junk", true),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Field\r\n", true),
        (b"GET /nope HT", true),
    ] {
        let mut delivery = Delivery::whole(bytes);
        delivery.half_close = half_close;
        let plan = Plan::of(&delivery);
        let Some((rule, kind)) = hang_key(&plan, &delivery, 0) else {
            panic!(
                "{:?}: a wait here is judged",
                String::from_utf8_lossy(bytes)
            );
        };
        let ex = Exchange {
            later_sent: 0,
            delivery,
            written: bytes.len(),
            received: Vec::new(),
            ending: Ending::TimedOut,
            responses: Vec::new(),
            rest: Next::Nothing,
            elapsed: Duration::ZERO,
            first_byte: None,
            truncated: false,
        };
        let judged = crate::kit::verdict::judge::judge(&plan, &ex, None);
        assert_eq!(
            (judged.rule, kind),
            (Some(rule), plan.first().kind),
            "{:?} half-closed {half_close}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// A pipelined case whose second request hangs is learned by that request's class (a key
/// taken from the first request never matched: ruby-thin waited 5 s on each such case).
#[test]
fn a_hang_on_a_later_request_is_keyed_by_that_request() {
    use crate::kit::http::raw::{Ending, Exchange};
    use crate::kit::http::response;
    let bytes = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1 extra\r\nHost: x\r\n\r\n";
    let delivery = Delivery::whole(&bytes[..]);
    let plan = Plan::of(&delivery);
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec();
    let (responses, rest) = response::all(&answer, &plan.heads(), false);
    let ex = Exchange {
        later_sent: 0,
        delivery: delivery.clone(),
        written: bytes.len(),
        received: answer,
        ending: Ending::TimedOut,
        responses,
        rest,
        elapsed: Duration::ZERO,
        first_byte: None,
        truncated: false,
    };
    let judged = crate::kit::verdict::judge::judge(&plan, &ex, None);
    assert_eq!(judged.request, 1, "{}", judged.detail);
    let key = hang_key(&plan, &delivery, judged.request).unwrap();
    assert_eq!(Some(key.0), judged.rule);
    assert_eq!(key.1, plan.requests[1].kind);
}
