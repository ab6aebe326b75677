use super::*;
use crate::kit::verdict::expect::features::FeatureId::*;
use proptest::prelude::*;

fn first(bytes: &[u8]) -> Expectation {
    Plan::of(&Delivery::whole(bytes)).requests.remove(0)
}

fn half_closed(bytes: &[u8]) -> Expectation {
    let mut delivery = Delivery::whole(bytes);
    delivery.half_close = true;
    Plan::of(&delivery).requests.remove(0)
}

fn kind(bytes: &[u8]) -> Kind {
    analyze(bytes).first().kind
}

fn strict_and_non_strict(e: &Expectation) -> (Vec<Outcome>, Vec<Outcome>) {
    (e.strict(), e.non_strict())
}

#[test]
fn every_row_and_feature_is_listed_once() {
    for row in ROWS {
        assert_eq!(ROWS.iter().filter(|r| r.kind == row.kind).count(), 1);
        let json = serde_json::to_string(&row.kind).unwrap();
        assert_eq!(
            json,
            format!("\"{}\"", row.name),
            "serde name is the row name"
        );
    }
    for f in FEATURES {
        assert_eq!(FEATURES.iter().filter(|o| o.id == f.id).count(), 1);
        assert!(
            f.why.contains("RFC") || f.why.contains("book"),
            "{} cites nothing",
            f.name
        );
    }
}

#[test]
fn the_book_routes_are_strict_and_exact() {
    let get = first(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(strict_and_non_strict(&get), (vec![S(200)], vec![]));
    assert!(get.any_client_error.is_none());
    let slow = first(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(slow.slow && slow.strict() == [S(200)]);
    let nope = first(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(strict_and_non_strict(&nope), (vec![S(404)], vec![]));
    for not_hello in [
        &b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /SLEEP HTTP/1.1\r\n\r\n",
        b"GET /sleep/ HTTP/1.1\r\n\r\n",
        b"GET /index.html HTTP/1.1\r\n\r\n",
        b"GET index.html HTTP/1.1\r\n\r\n",
        b"GET * HTTP/1.1\r\n\r\n",
        b"GET / HT",
        b"HEAD /",
    ] {
        let e = first(not_hello);
        assert!(
            !e.entries(S(200)).iter().any(|a| a.page == Page::Hello),
            "{:?} may get the hello page: {e:?}",
            String::from_utf8_lossy(not_hello)
        );
    }
}

#[test]
fn rows_are_found_from_bytes() {
    for (bytes, expected) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], Kind::Hello),
        (b"\r\nGET / HTTP/1.1\r\n\r\n", Kind::Hello),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            Kind::Hello,
        ),
        (b"GET /sleep HTTP/1.1\r\n\r\n", Kind::Slow),
        (b"GET http://h/sleep HTTP/1.1\r\n\r\n", Kind::Slow),
        (b"HEAD / HTTP/1.1\r\n\r\n", Kind::HeadHello),
        (b"HEAD /sleep HTTP/1.1\r\n\r\n", Kind::HeadSlow),
        (
            b"GET http://localhost/ HTTP/1.1\r\n\r\n",
            Kind::AbsoluteHello,
        ),
        (
            b"GET http://localhost/nope HTTP/1.1\r\n\r\n",
            Kind::NotFound,
        ),
        (b"GET /sleep/ HTTP/1.1\r\n\r\n", Kind::NotFound),
        (b"GET /?x=1 HTTP/1.1\r\n\r\n", Kind::WithQuery),
        (b"GET // HTTP/1.1\r\n\r\n", Kind::NormalizedPath),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
            Kind::OtherMethod,
        ),
        (b"OPTIONS * HTTP/1.1\r\n\r\n", Kind::OtherMethod),
        (b"get / HTTP/1.1\r\n\r\n", Kind::OtherMethod),
        (b"GET / HTTP/1.0\r\n\r\n", Kind::OtherMinorVersion),
        (b"GET /sleep HTTP/1.0\r\n\r\n", Kind::OtherMinorVersion),
        (b"GET / HTTP/3.0\r\n\r\n", Kind::UnsupportedVersion),
        (b"GET / HTTP/1.1\n\n", Kind::BareLf),
        (b"GET / HTTP/1.10\r\n\r\n", Kind::Malformed),
        (b"GET / http/1.1\r\n\r\n", Kind::Malformed),
        (b"GET /\0 HTTP/1.1\r\n\r\n", Kind::Malformed),
        (b"GET /HTTP/1.1\r\n\r\n", Kind::Malformed),
        (b"GET / HTTP/1.1\r\nName : v\r\n\r\n", Kind::MalformedHeader),
        (b"GET  / HTTP/1.1\r\n\r\n", Kind::LooseWhitespace),
        (b"GET\t/ HTTP/1.1\r\n\r\n", Kind::LooseWhitespace),
        (b" GET / HTTP/1.1\r\n\r\n", Kind::LooseWhitespace),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", Kind::MalformedHeader),
        (
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            Kind::MalformedHeader,
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            Kind::MalformedHeader,
        ),
        (b"GET index.html HTTP/1.1\r\n\r\n", Kind::BadTarget),
        (b"CONNECT h:443 HTTP/1.1\r\n\r\n", Kind::BadTarget),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", Kind::Incomplete),
        (b"GET / HT", Kind::Incomplete),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab",
            Kind::Incomplete,
        ),
        (b"", Kind::Empty),
    ] {
        assert_eq!(
            kind(bytes),
            expected,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// The false alarms seen on widely used stacks (issue 10, section 3): each is allowed.
#[test]
fn what_widely_used_stacks_answer_is_allowed() {
    let allowed = |bytes: &[u8], outcomes: &[Outcome]| {
        let e = first(bytes);
        for &o in outcomes {
            assert!(
                e.allows(o),
                "{:?} should allow {o}: {}",
                String::from_utf8_lossy(bytes),
                e.describe()
            );
        }
    };
    // 400 or 505 to a later minor version; 200, 400 or 505 to another major version.
    allowed(
        b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
        &[S(200), S(400), S(404), S(505)],
    );
    allowed(
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        &[S(200), S(400), S(505)],
    );
    allowed(
        b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
        &[S(200), S(400), S(505)],
    );
    // A stack's own error page: any 4xx to what the table calls malformed, loose or a bad
    // target.
    for bytes in [
        &b"G@T / HTTP/1.1\r\n\r\n"[..],
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET index.html HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo Colon\r\n\r\n",
    ] {
        allowed(bytes, &[S(400), S(403), S(404), S(431)]);
    }
    // 501 or 405 for a malformed method; 404 to an empty connection.
    allowed(b"G@T / HTTP/1.1\r\n\r\n", &[S(405), S(501)]);
    assert!(half_closed(b"").allows(S(404)));
    // Path normalisation: served as `/`, or redirected.
    for bytes in [
        &b"GET // HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /./ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%2e%2e/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let e = first(bytes);
        assert_eq!(e.strict(), [S(404)], "the reference matches the exact path");
        assert!(e.entries(S(200)).iter().any(|a| a.page == Page::Hello));
        assert!(e.allows(S(301)) && e.allows(S(308)));
        assert_eq!(e.normal_path.as_deref(), Some(&b"/"[..]));
    }
    // HEAD /sleep, GET /sleep HTTP/1.0 and HEAD / HTTP/1.0 are like their / counterparts.
    let head_sleep = first(b"HEAD /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head_sleep.slow && head_sleep.head_request && head_sleep.strict() == [S(200)]);
    let sleep10 = first(b"GET /sleep HTTP/1.0\r\n\r\n");
    assert!(sleep10.slow && sleep10.allows(S(200)));
    let head10 = first(b"HEAD / HTTP/1.0\r\n\r\n");
    assert!(head10.head_request && head10.allows(S(200)) && head10.strict() == [S(404)]);
    // OPTIONS * is a valid request, not a bad target: 404 strict, 200 without the page.
    let options = first(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!options.features.contains(&BadTarget));
    assert_eq!(options.strict(), [S(404)]);
    assert!(
        options
            .entries(S(200))
            .iter()
            .all(|a| a.page == Page::NotHello)
    );
    assert!(options.allows(S(204)) && options.allows(S(405)));
}

#[test]
fn a_bad_percent_sign_blocks_the_route_only_in_the_path() {
    let query = first(b"GET /?% HTTP/1.0\r\n\r\n");
    assert_eq!(query.strict(), [S(400)]);
    assert!(query.entries(S(200)).iter().any(|a| a.page == Page::Hello));
    let path = first(b"GET /% HTTP/1.1\r\n\r\n");
    assert_eq!(path.strict(), [S(400)]);
    assert!(!path.allows(S(200)) && path.allows(S(404)));
}

/// Tolerances compose (issue 10, section 2).
#[test]
fn two_tolerated_features_allow_what_each_allows() {
    // A query on an HTTP/1.0 request.
    let e = first(b"GET /?x=1 HTTP/1.0\r\n\r\n");
    assert_eq!(e.strict(), [S(404)]);
    assert!(e.allows(S(200)));
    // A 10 KiB query, which RFC 9112 3 lets a server accept.
    let long = format!("GET /?{} HTTP/1.1\r\n\r\n", "q".repeat(10 * 1024));
    let e = first(long.as_bytes());
    assert!(e.strict().contains(&S(414)));
    assert!(e.allows(S(200)) && e.allows(S(404)));
    // A request line ending in a bare CR at the client's half-close.
    let e = half_closed(b"GET / HTTP/1.1\r");
    assert!(
        e.entries(S(200)).iter().any(|a| a.page == Page::Hello),
        "{e:?}"
    );
    assert_eq!(e.strict(), [S(400)]);
}

#[test]
fn a_request_line_ended_by_the_half_close_may_get_its_route() {
    for (bytes, route) in [
        (&b"GET / HTTP/1.1"[..], S(200)),
        (b"GET /nope HTTP/1.1", S(404)),
        (b"\r\nGET / HTTP/1.1", S(200)),
        (b"GET / HTTP/1.1\r\n", S(200)),
        // A Simple-Request cut off by the half-close, as the book's `lines()` reads it.
        (b"GET /", S(200)),
        (b"GET /nope", S(404)),
    ] {
        let e = half_closed(bytes);
        assert_eq!(e.kind, Kind::Incomplete);
        assert_eq!(
            e.strict(),
            [S(400)],
            "the reference: something arrived, then the close"
        );
        assert!(
            e.allows(route) && e.allows(S(408)) && e.allows(CLOSE),
            "{e:?}"
        );
    }
    for cut in [
        &b"GET / HTTP/1."[..],
        b"G@T / HTTP/1.1",
        b"GET /slee",
        b"HEAD /",
        b"get / HTTP/1.1",
    ] {
        assert!(
            !half_closed(cut).allows(S(200)),
            "{:?}",
            String::from_utf8_lossy(cut)
        );
    }
    let empty = half_closed(b"");
    assert_eq!(strict_and_non_strict(&empty).0, [CLOSE]);
    assert!(empty.allows(S(400)) && !empty.allows(S(200)));
}

/// Issue 11: a complete request followed by the half-close: answering is what the
/// reference does; a silent close is non-strict; a complete request without the half-close
/// must be answered.
#[test]
fn a_complete_request_then_the_half_close_may_be_closed_non_strictly() {
    let e = half_closed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(e.strict(), [S(200)]);
    assert_eq!(e.grade(CLOSE), Some(Grade::NonStrict));
    assert!(e.features.contains(&HalfClosedAfter));
    assert!(!first(b"GET / HTTP/1.1\r\n\r\n").allows(CLOSE));
}

#[test]
fn pipelined_requests_are_read_one_after_another() {
    let bytes = b"GET / HTTP/1.1\r\n\r\nHEAD /nope HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET /sleep HTTP/1.1\r\n\r\nGE";
    let analysis = analyze(bytes);
    let kinds: Vec<Kind> = analysis.requests.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Hello, Kind::NotFound, Kind::Slow, Kind::Incomplete]
    );
    let plan = Plan::of(&Delivery::whole(&bytes[..]));
    assert_eq!(plan.heads(), [false, true, false, false]);
    assert_eq!(plan.owed().count, 3);
    // The reference closes after its first answer: a close is strict for the others.
    for later in &plan.requests[1..3] {
        assert_eq!(later.grade(CLOSE), Some(Grade::Strict));
    }
    assert_eq!(plan.requests[0].grade(CLOSE), None);
    // A body the kit cannot frame ends the count: what follows is not judged.
    let chunked =
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let plan = Plan::of(&Delivery::whole(&chunked[..]));
    assert_eq!(plan.requests.len(), 1);
    assert!(plan.open_ended());
}

#[test]
fn a_full_buffer_may_be_refused_at_the_limit() {
    let line = [b"GET /".as_slice(), &vec![b'a'; LONG_REQUEST_LINE + 10]].concat();
    assert!(half_closed(&line).strict().contains(&S(414)));
    let shorter = &line[..LONG_REQUEST_LINE];
    assert!(!half_closed(shorter).strict().contains(&S(414)));
    // A complete line: the reference refuses over 8 KiB; 414 is allowed over 8,000 octets.
    let complete = |len: usize| {
        let target = "a".repeat(len - "GET / HTTP/1.1".len());
        format!("GET /{target} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
    };
    let over = first(&complete(LONG_REQUEST_LINE + 1));
    assert_eq!(over.strict(), [S(414)]);
    assert!(over.allows(S(404)) && over.allows(S(400)));
    let at = first(&complete(LONG_REQUEST_LINE));
    assert_eq!(at.strict(), [S(404)]);
    assert!(at.allows(S(414)));
    // RFC 9112 3 sets no length below which 414 is wrong: a limit of the server's own.
    let short = first(&complete(MIN_LINE_LIMIT - 10));
    assert_eq!(short.grade(S(414)), Some(Grade::NonStrict));
    assert!(!short.describe().contains("414"), "{}", short.describe());
    let head = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &vec![b'a'; LARGE_HEAD]].concat();
    assert!(half_closed(&head).strict().contains(&S(431)));
    let many = format!(
        "GET /x HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-F: 1\r\n".repeat(MANY_FIELDS)
    );
    assert_eq!(first(many.as_bytes()).strict(), [S(431)]);
    let few = format!(
        "GET /x HTTP/1.1\r\n{}\r\n",
        "X-F: 1\r\n".repeat(MANY_FIELDS)
    );
    // RFC 9110 5.4 sets no size below which 431 is wrong: a limit of the server's own.
    let few = first(few.as_bytes());
    assert_eq!(few.grade(S(431)), Some(Grade::NonStrict));
    assert!(
        few.entries(S(431))
            .iter()
            .all(|a| a.because == Because::Limit)
    );
}

#[test]
fn a_malformed_length_that_a_lenient_server_may_wait_on_allows_a_close() {
    let short = b"HEAD / HTTP/1.1\r\nContent-Length: 40\r\r\n\r\nabc";
    let facts = analyze(short);
    assert!(facts.first().has(LenientContentLength), "{facts:?}");
    let e = half_closed(short);
    assert_eq!(e.strict(), [S(400)]);
    assert!(e.allows(CLOSE) && e.allows(S(408)) && e.allows(S(200)));
    for lenient in [&b"+40"[..], b"\xc2\xa040", b"40\x0b"] {
        let request = [
            b"GET / HTTP/1.1\r\nContent-Length: ".as_slice(),
            lenient,
            b"\r\n\r\nabc",
        ]
        .concat();
        assert!(
            analyze(&request).first().has(LenientContentLength),
            "{lenient:?}"
        );
    }
    let valid = b"GET / HTTP/1.1\r\nContent-Length: 3\r\nNo Colon\r\n\r\nabc";
    assert!(!analyze(valid).first().has(LenientContentLength));
}

#[test]
fn two_defects_allow_either_answer() {
    let e = first(b"GET %2F HTTP/9.9\r\n\r\n");
    assert_eq!(e.strict(), [S(400), S(505)]);
    let e = first(b"G@T / HTTP/2.0\r\n\r\n");
    assert_eq!(e.strict(), [S(400), S(505)]);
    // An invalid request line: any error answer is non-strict (RFC 9112 2.2 says SHOULD).
    let invalid = first(b"G@T / HTTP/1.1\r\n\r\n");
    assert_eq!(invalid.grade(S(505)), Some(Grade::NonStrict));
    assert_eq!(invalid.grade(S(500)), Some(Grade::NonStrict));
    assert_eq!(invalid.grade(CLOSE), Some(Grade::NonStrict));
    assert!(!invalid.allows(S(200)) && !invalid.allows(S(302)));
}

#[test]
fn slow_requests_are_seen_through_disguises() {
    for bytes in [
        &b"GET /sleep HTTP/1.1\n\n"[..],
        b"\r\n\r\nGET /sleep HTTP/1.1\r\n\r\n",
        b"GET http://localhost/sleep HTTP/1.1\r\n\r\n",
        b"GET /%73leep HTTP/1.1\r\n\r\n",
        b"GET /SLEEP HTTP/1.1\r\n\r\n",
        b"GET //sleep HTTP/1.1\r\n\r\n",
        b"get /sleep HTTP/1.1\r\n\r\n",
        b"GET  /sleep  HTTP/1.1\r\n\r\n",
        b"GET /sleep?x HTTP/1.1\r\n\r\n",
        b"GET /sleep HTTP/1.1\r\nHost",
    ] {
        assert!(
            analyze(bytes).first().may_be_slow,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert!(!analyze(b"GET /nope HTTP/1.1\r\n\r\n").first().may_be_slow);
}

#[test]
fn a_head_method_is_seen_in_any_request_line() {
    for bytes in [
        &b"HEAD / HTTP/1.1\r\n\r\n"[..],
        b"HEAD / \r\n",
        b"HEAD\t/ HTTP/1.1\r\n\r\n",
        b"\r\nHEAD x",
        b"HEAD",
    ] {
        assert!(
            analyze(bytes).first().head_request,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    for bytes in [
        &b"HEADX / HTTP/1.1\r\n\r\n"[..],
        b"head / HTTP/1.1\r\n\r\n",
        b"GET / HEAD\r\n\r\n",
        b"",
    ] {
        assert!(
            !analyze(bytes).first().head_request,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn an_error_body_after_head_is_excused_only_for_a_malformed_line() {
    assert!(first(b"HEAD  / HTTP/1.1\r\n\r\n").error_body_allowed);
    assert!(first(b"\r\nHEAD / HTTP/1.1\r\n\r\n").error_body_allowed);
    assert!(!first(b"HEAD /nope HTTP/1.1\r\n\r\n").error_body_allowed);
    assert!(!first(b"HEAD / HTTP/1.1\r\nNo Colon\r\n\r\n").error_body_allowed);
    assert!(!first(b"GET  / HTTP/1.1\r\n\r\n").error_body_allowed);
}

#[test]
fn the_missing_host_and_bare_lf_are_tolerated_both_ways() {
    // RFC 9112 3.2's MUST: 400 is as strict as serving the request, as the book does.
    let no_host = first(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        strict_and_non_strict(&no_host),
        (vec![S(200), S(400)], vec![])
    );
    assert!(!no_host.allows(CLOSE), "the MUST asks for an answer");
    let lf = half_closed(b"GET / HTTP/1.1\nHost: x\n\n");
    assert_eq!(lf.strict(), [S(200)]);
    assert!(lf.allows(S(400)) && lf.allows(S(408)) && lf.allows(CLOSE));
    assert!(
        !first(b"GET / HTTP/1.0\r\n\r\n").allows(S(400)),
        "HTTP/1.0 needs no Host"
    );
}

#[test]
fn persistence_is_expected_only_of_well_formed_http11_requests() {
    assert!(first(b"GET / HTTP/1.1\r\n\r\n").expects_persistence);
    assert!(!first(b"GET / HTTP/1.0\r\n\r\n").expects_persistence);
    assert!(!first(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").expects_persistence);
    assert!(!first(b"G@T / HTTP/1.1\r\n\r\n").expects_persistence);
    assert!(!half_closed(b"GET / HTTP/1.1\r\n\r\n").expects_persistence);
}

#[test]
fn explicit_expectations_replace_the_derived_ones() {
    let base = first(b"GET / HTTP/1.1\r\n\r\n");
    let e = Expectation::explicit(&base, &[S(200), CLOSE], &[S(404)]);
    assert_eq!(
        strict_and_non_strict(&e),
        (vec![S(200), CLOSE], vec![S(404)])
    );
    assert!(!e.allows(S(400)));
    assert!(
        e.describe()
            .starts_with("200, close (hello); non-strict: 404"),
        "{}",
        e.describe()
    );
}

#[test]
fn an_explicit_expectation_allows_only_what_it_lists_with_the_route_pages() {
    // A malformed line, whose derived expectation allows any client error.
    let loose = first(b"GET  / HTTP/1.1\r\n\r\n");
    assert!(loose.allows(S(403)));
    let e = Expectation::explicit(&loose, &[S(200)], &[S(404)]);
    assert!(!e.allows(S(403)) && !e.allows(S(400)));
    let pages = |e: &Expectation| {
        [S(200), S(404)].map(|o| e.entries(o).iter().map(|a| a.page).collect::<Vec<_>>())
    };
    assert_eq!(pages(&e), [vec![Page::Hello], vec![Page::NotFound]]);
    // A HEAD answer has no body to compare.
    let head = Expectation::explicit(&first(b"HEAD / HTTP/1.1\r\n\r\n"), &[S(200)], &[S(404)]);
    assert_eq!(pages(&head), [vec![Page::Any], vec![Page::Any]]);
}

#[test]
fn allowed_entries_are_kept_once_per_outcome_grade_and_page() {
    let entry = |grade, page| Allowed {
        outcome: S(200),
        grade,
        page,
        because: Because::Route,
    };
    let mut e = first(b"GET / HTTP/1.1\r\n\r\n");
    e.set_allowed(vec![
        entry(Grade::NonStrict, Page::Hello),
        entry(Grade::Strict, Page::Hello),
        entry(Grade::Strict, Page::Hello),
        entry(Grade::Strict, Page::Any),
    ]);
    let kept: Vec<_> = e.allowed.iter().map(|a| (a.grade, a.page)).collect();
    assert_eq!(
        kept,
        [
            (Grade::Strict, Page::Hello),
            (Grade::Strict, Page::Any),
            (Grade::NonStrict, Page::Hello)
        ]
    );
}

#[test]
fn the_references_limits_hold_what_any_server_must_accept() {
    // RFC 9112 section 3 recommends request lines of at least 8,000 octets; the reference
    // refuses only longer ones, and its head limit holds such a line.
    // Above SMALL_HEAD any mature server may refuse; the reference accepts more.
    let limits = [
        ("request line", LONG_REQUEST_LINE + 2, RECOMMENDED_LINE),
        ("head holding such a line", SMALL_HEAD, RECOMMENDED_LINE),
        ("reference's head", LARGE_HEAD, SMALL_HEAD + 1),
    ];
    for (what, accepted, must_accept) in limits {
        assert!(
            accepted >= must_accept,
            "{what}: {accepted} < {must_accept}"
        );
    }
}

#[test]
fn a_head_is_refused_once_it_holds_more_than_the_limit_ended_or_not() {
    // Measured on hello-server: a half-closed head of exactly LARGE_HEAD bytes gets 400
    // (it ended early), one byte more gets 431; an unended request line gets 414 once it
    // holds more than the limit and a CR.
    let head = |len: usize| {
        let start = b"GET / HTTP/1.1\r\nX: ";
        [start.as_slice(), &vec![b'a'; len - start.len()]].concat()
    };
    assert_eq!(half_closed(&head(LARGE_HEAD)).strict(), [S(400)]);
    assert!(
        half_closed(&head(LARGE_HEAD + 1))
            .strict()
            .contains(&S(431))
    );
    let line = |len: usize| [b"GET /".as_slice(), &vec![b'a'; len - 5]].concat();
    assert!(
        !half_closed(&line(LONG_REQUEST_LINE + 1))
            .strict()
            .contains(&S(414))
    );
    assert!(
        half_closed(&line(LONG_REQUEST_LINE + 2))
            .strict()
            .contains(&S(414))
    );
}

#[test]
fn requests_after_an_invalid_field_line_are_not_counted() {
    // A server may read the invalid line otherwise and see other request boundaries.
    let two = b"GET / HTTP/1.1\r\nBad Field: 1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let plan = Plan::of(&Delivery::whole(&two[..]));
    assert_eq!(plan.requests.len(), 1);
    assert!(plan.open_ended());
}

#[test]
fn a_later_send_follows_a_request_and_a_plan_knows_when_it_may_be_slow() {
    let mut delivery = Delivery::whole(&b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
    delivery.later.push(crate::kit::http::raw::Later {
        after_responses: 1,
        bytes: b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    });
    let plan = Plan::of(&delivery);
    let follows = |e: &Expectation| e.features.iter().filter(|&&f| f == FollowsARequest).count();
    assert_eq!(
        plan.requests.iter().map(follows).collect::<Vec<_>>(),
        [0, 1]
    );
    assert!(plan.slow());
    assert!(!Plan::of(&Delivery::whole(&b"GET / HTTP/1.1\r\n\r\n"[..])).slow());
    assert_eq!(
        plan.describe(),
        "#1: 200 (slow); #2: 404, close (not-found)"
    );
    assert_eq!(plan.requests[1].feature_names(), "follows-a-request");
    assert_eq!(
        first(b"HEAD / HTTP/1.0\r\n\r\n").feature_names(),
        "head-method, http-1.0"
    );
}

#[test]
fn any_client_error_is_described_after_the_listed_outcomes() {
    let mut loose = first(b"GET  / HTTP/1.1\r\n\r\n");
    assert!(
        loose.describe().ends_with(", any 4xx or 5xx"),
        "{}",
        loose.describe()
    );
    let strict_400 = Allowed {
        outcome: S(400),
        grade: Grade::Strict,
        page: Page::Any,
        because: Because::Route,
    };
    loose.set_allowed(vec![strict_400]);
    assert!(
        loose.describe().ends_with("; non-strict: any 4xx or 5xx"),
        "{}",
        loose.describe()
    );
}

#[test]
fn bytes_after_the_last_request_on_a_connection_are_data_after_close() {
    // RFC 9112 section 9.3: HTTP/1.0 closes unless keep-alive is asked; section 9.6: no
    // request follows `Connection: close`.
    let after = |head: &str| {
        let bytes = format!("{head}\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        first(bytes.as_bytes()).features.contains(&DataAfterClose)
    };
    assert!(after("GET / HTTP/1.0"));
    assert!(!after("GET / HTTP/1.0\r\nConnection: keep-alive"));
    assert!(after("GET / HTTP/1.1\r\nConnection: close"));
    assert!(!after("GET / HTTP/1.1"));
    assert!(!after("GET / HTTP/1.1\r\nConnection: keep-alive"));
    // Nothing after: nothing to say.
    assert!(
        !first(b"GET / HTTP/1.0\r\n\r\n")
            .features
            .contains(&DataAfterClose)
    );
}

#[test]
fn the_reference_refuses_a_body_over_one_mebibyte() {
    // The documented limit of hello-server (docs/internals.md, "The contract"): 1 MiB.
    let post = |len: u64| {
        let head = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
        first(head.as_bytes())
    };
    assert!(!post(1 << 20).features.contains(&LargeBody));
    let over = post((1 << 20) + 1);
    assert!(over.features.contains(&LargeBody));
    assert!(over.strict().contains(&S(413)));
}

/// The facts of the first request in `bytes`: features, route and normalised path.
fn facts(bytes: &[u8]) -> (Vec<FeatureId>, Route, Option<String>) {
    let f = analyze(bytes).first().clone();
    let normal = f.normal_path.map(|p| String::from_utf8(p).unwrap());
    (f.features, f.route, normal)
}

#[test]
fn each_request_line_feature_is_found_where_it_is_and_only_there() {
    let line = |l: &str| format!("{l}\r\nHost: x\r\n\r\n").into_bytes();
    let slash = || Some("/sleep".to_string());
    for (request, features, route, normal) in [
        ("GET /sleep HTTP/1.1", vec![], Route::Slow, None),
        ("HEAD /sleep HTTP/1.1", vec![HeadMethod], Route::Slow, None),
        // RFC 9110 9.3: only GET and HEAD are the book's routes.
        ("POST / HTTP/1.1", vec![OtherMethod], Route::NotFound, None),
        (
            "POST /sleep HTTP/1.1",
            vec![OtherMethod],
            Route::NotFound,
            None,
        ),
        // RFC 9112 3.2.3-3.2.4: authority-form is for CONNECT, asterisk-form for OPTIONS.
        (
            "CONNECT h:80 HTTP/1.1",
            vec![OtherMethod, AuthorityForm],
            Route::NotFound,
            None,
        ),
        ("GET h:80 HTTP/1.1", vec![BadTarget], Route::NotFound, None),
        (
            "OPTIONS * HTTP/1.1",
            vec![OptionsMethod],
            Route::NotFound,
            None,
        ),
        ("GET * HTTP/1.1", vec![BadTarget], Route::NotFound, None),
        (
            "GET /sleep/ HTTP/1.1",
            vec![TrailingSlash],
            Route::NotFound,
            slash(),
        ),
        (
            "GET /a/../sleep HTTP/1.1",
            vec![NonNormalPath],
            Route::Slow,
            slash(),
        ),
        (
            "GET /?a=%zz HTTP/1.1",
            vec![Query, BadPercentInQuery],
            Route::Hello,
            None,
        ),
        (
            "GET /%zz?a HTTP/1.1",
            vec![MalformedTarget, Query],
            Route::NotFound,
            None,
        ),
        (
            "G@T / HTTP/1.1",
            vec![MalformedMethod],
            Route::NotFound,
            None,
        ),
        ("GET / HTTP/1.0", vec![Http10], Route::Hello, None),
        (
            "GET / HTTP/1.2",
            vec![LaterMinorVersion],
            Route::Hello,
            None,
        ),
        (
            "GET / HTTP/2.0",
            vec![UnsupportedMajorVersion],
            Route::Hello,
            None,
        ),
        ("GET / HTTP/1", vec![MalformedVersion], Route::Hello, None),
    ] {
        let mut features = features;
        features.sort();
        assert_eq!(
            facts(&line(request)),
            (features, route, normal),
            "{request}"
        );
    }
}

#[test]
fn each_field_and_body_feature_is_found_where_it_is_and_only_there() {
    let head = |fields: &str, body: &str| format!("GET / HTTP/1.1\r\n{fields}\r\n{body}");
    for (fields, body, features) in [
        ("Host: x\r\nHost: x\r\n", "", vec![InvalidHost]),
        // RFC 9110 8.6: identical Content-Length values may be read as one.
        (
            "Host: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n",
            "abc",
            vec![],
        ),
        (
            "Host: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n",
            "abc",
            vec![InvalidContentLength],
        ),
        // A lenient server reads `+3` as 3: with 3 bytes sent it has all it waits for.
        (
            "Host: x\r\nContent-Length: +3\r\n",
            "abc",
            vec![InvalidContentLength],
        ),
        (
            "Host: x\r\nContent-Length: +4\r\n",
            "abc",
            vec![InvalidContentLength, LenientContentLength],
        ),
    ] {
        let bytes = head(fields, body);
        assert_eq!(facts(bytes.as_bytes()).0, features, "{fields:?}");
    }
    // An invalid field line beside a valid length: the body is still awaited.
    let waiting =
        analyze(head("Host: x\r\nBad Field: 1\r\nContent-Length: 5\r\n", "ab").as_bytes());
    assert!(!waiting.first().complete);
    assert!(waiting.first().has(IncompleteHead));
}

#[test]
fn size_features_start_just_above_their_limits() {
    // A complete request line of `len` octets (without CRLF) and a head of `len` octets.
    let line = |len: usize| {
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(len - 14)).into_bytes()
    };
    let head = |len: usize| {
        let start = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
        format!("{start}{}\r\n\r\n", "a".repeat(len - start.len() - 4)).into_bytes()
    };
    let has = |bytes: Vec<u8>, f: FeatureId| analyze(&bytes).first().has(f);
    assert!(!has(line(MIN_LINE_LIMIT - 2), LongRequestLine));
    assert!(has(line(MIN_LINE_LIMIT - 1), LongRequestLine));
    assert!(!has(head(SMALL_HEAD), BigHead));
    assert!(has(head(SMALL_HEAD + 1), BigHead));
    assert!(!has(head(LARGE_HEAD), OversizedHead));
    assert!(has(head(LARGE_HEAD + 1), OversizedHead));
}

#[test]
fn markdown_tables_list_every_row_and_feature() {
    let rows = markdown_rows();
    let features = features::markdown_table();
    assert!(ROWS.iter().all(|r| rows.contains(&format!("`{}`", r.name))));
    assert!(
        FEATURES
            .iter()
            .all(|f| features.contains(&format!("`{}`", f.name)))
    );
    assert!(features.contains("| `other-method` |"));
}

/// Requests built from the features a server may tolerate, on `/` or `/sleep` or a path.
fn tolerated_variant() -> impl Strategy<Value = (&'static str, &'static str, &'static str)> {
    let paths = prop::sample::select(vec!["/", "/sleep", "/nope", "//", "/./", "/%2e%2e/"]);
    let versions = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/1.2"]);
    let shapes = prop::sample::select(vec![
        "plain", "query", "absolute", "loose", "lf", "leading", "no-host", "head",
    ]);
    (paths, versions, shapes)
}

fn build(path: &str, version: &str, shapes: &[&str]) -> Vec<u8> {
    let mut target = path.to_string();
    let mut method = "GET".to_string();
    let (mut sep, mut end, mut lead, mut host) = (" ", "\r\n", "", "Host: x\r\n");
    let (mut version, mut extra) = (format!(" {version}"), "");
    let mut shapes = shapes.to_vec();
    shapes.dedup();
    for shape in shapes {
        match shape {
            "query" => target.push_str("?q=1"),
            "absolute" => target = format!("http://localhost{target}"),
            "loose" => sep = "  ",
            "lf" => end = "\n",
            "leading" => lead = "\r\n",
            "no-host" => host = "",
            "head" => method = "HEAD".into(),
            // The malformed shapes: a word too many, no version, a bad byte after the method.
            "extra-word" => extra = " x",
            "no-version" => version.clear(),
            "bad-byte" => method.push('\x01'),
            _ => {}
        }
    }
    let host = host.replace("\r\n", end);
    format!("{lead}{method}{sep}{target}{version}{extra}{end}{host}{end}").into_bytes()
}

/// The shapes a request line may break the grammar in.
const MALFORMED: &[&str] = &["extra-word", "no-version", "bad-byte"];

proptest! {
    /// For any two tolerated features, their combination allows what each allows alone
    /// (the route the tolerant reading serves is the same), and a 200 only ever carries the
    /// hello page when the tolerant reading is `/` or `/sleep`.
    #[test]
    fn tolerances_compose((path, version, a) in tolerated_variant(), b in prop::sample::select(vec!["plain", "query", "absolute", "loose", "lf", "leading", "no-host", "head"])) {
        let both = half_closed(&build(path, version, &[a, b]));
        for alone in [half_closed(&build(path, version, &[a])), half_closed(&build(path, version, &[b]))] {
            for allowed in &alone.allowed {
                prop_assert!(
                    both.entries(allowed.outcome).iter().any(|x| x.page == allowed.page),
                    "{path} {version} {a}+{b}: {} alone allows {:?}, together: {}",
                    alone.feature_names(), allowed, both.describe()
                );
            }
        }
        let hello = both.entries(S(200)).iter().any(|x| x.page == Page::Hello);
        let normal = grammar::normalize_path(path.as_bytes());
        prop_assert_eq!(hello, normal == b"/" || normal == b"/sleep", "{} {} {}+{}", path, version, a, b);
    }

    /// Whatever the bytes, a 200 with the hello page is allowed only for `GET` or `HEAD`
    /// of a path that normalises to `/` or `/sleep`, with a well-formed version of major 1
    /// (or another major a server may answer as 1.1).
    #[test]
    fn the_hello_page_is_never_allowed_for_another_route(bytes in prop::collection::vec(prop::sample::select(b"GETHOPSTgethd /%.?:\r\n\t1.0x*".to_vec()), 0..40)) {
        let facts = analyze(&bytes).first().clone();
        let e = Expectation::derive(&facts, true);
        {
            if e.entries(S(200)).iter().any(|a| a.page == Page::Hello) {
                let line = bytes.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty()).unwrap_or_default();
                let words: Vec<&[u8]> = line.split(|&b| grammar::is_line_whitespace(b)).filter(|w| !w.is_empty()).collect();
                prop_assert!(words.len() == 3, "{:?}", String::from_utf8_lossy(&bytes));
                prop_assert!(words[0] == b"GET" || words[0] == b"HEAD", "{:?}", String::from_utf8_lossy(&bytes));
                prop_assert!(grammar::parse_version(words[2]).is_some(), "{:?}", String::from_utf8_lossy(&bytes));
            }
        }
    }

    /// A malformed shape composes with every other: whatever refusal (an error status or a
    /// close) either allows alone, the two together allow; a request that may be slow, or
    /// is a HEAD, alone is so together (a word too many, no version or a bad byte after the
    /// method never hide the rest of the line).
    #[test]
    fn malformed_shapes_compose_with_the_rest((path, version, tolerated) in tolerated_variant(), malformed in prop::sample::select(MALFORMED.to_vec())) {
        let both = half_closed(&build(path, version, &[tolerated, malformed]));
        for alone in [half_closed(&build(path, version, &[tolerated])), half_closed(&build(path, version, &[malformed]))] {
            for allowed in alone.allowed.iter().filter(|a| matches!(a.outcome, CLOSE | S(400..=599))) {
                prop_assert!(
                    both.allows(allowed.outcome),
                    "{path} {version} {tolerated}+{malformed}: {} alone allows {:?}, together: {}",
                    alone.feature_names(), allowed, both.describe()
                );
            }
            prop_assert!(!alone.slow || both.slow, "{path} {tolerated}+{malformed}: slow alone, not together");
        }
        if tolerated == "head" && malformed != "bad-byte" {
            prop_assert!(both.head_request, "{path} {version} head+{malformed}: {}", both.feature_names());
        }
        // Only a Simple-Request (GET and a target, no version) may be served as its route.
        let simple = malformed == "no-version" && tolerated != "head";
        if !simple {
            prop_assert!(!both.entries(S(200)).iter().any(|a| a.page == Page::Hello), "{path} {tolerated}+{malformed}: the hello page for a malformed line");
        }
    }
}

/// The duty of every feature cites a requirement of the matching level, and a feature that
/// only a SHOULD owes an answer lets silence and any error through, never the hello page.
#[test]
fn every_duty_cites_a_requirement_of_its_level() {
    use crate::kit::verdict::requirements::{Level, requirement};
    for f in FEATURES {
        match f.owed {
            Duty::Contract => {}
            Duty::Must(id) => assert!(
                matches!(requirement(id).level, Level::Must | Level::MustNot),
                "{}: {id}",
                f.name
            ),
            Duty::Should(id) => assert!(
                matches!(
                    requirement(id).level,
                    Level::Should | Level::Recommended | Level::May
                ),
                "{}: {id}",
                f.name
            ),
        }
    }
    for invalid in [
        &b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /nope HTTP/0.9\r\n\r\n",
        b"GET /nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nbad\r\n\r\n",
    ] {
        let e = first(invalid);
        let what = String::from_utf8_lossy(invalid);
        assert!(e.invalid.is_some() && e.owed_by.is_none(), "{what}");
        for o in [CLOSE, S(500), S(503), S(418)] {
            assert_eq!(e.grade(o), Some(Grade::NonStrict), "{what}: {o}");
        }
        let line_invalid = !what.contains("bad");
        assert!(
            !line_invalid || !e.entries(S(200)).iter().any(|a| a.page == Page::Hello),
            "{what}"
        );
    }
    // A Simple-Request for the route may be served as it, in either form.
    let simple = first(b"GET /\r\n\r\n");
    assert!(simple.simple_request && simple.features.contains(&SimpleRequest));
    assert_eq!(simple.grade(S(200)), Some(Grade::NonStrict));
    assert!(first(b"GET /sleep\r\n\r\n").slow);
    assert!(
        !first(b"HEAD /\r\n\r\n").allows(S(200)),
        "HTTP/0.9 had only GET"
    );
    let v09 = first(b"GET / HTTP/0.9\r\n\r\n");
    assert!(v09.simple_request && v09.grade(S(200)) == Some(Grade::NonStrict));
}
