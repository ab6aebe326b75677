use super::*;
use crate::kit::http::raw::{Delivery, Later};
use crate::kit::http::response;
use crate::kit::verdict::rules::{RULES, markdown_rules, rule as rule_named};
use std::time::Duration;

/// The exchange a raw client would have recorded for `received` and `ending`.
fn exchange(delivery: Delivery, plan: &Plan, received: &[u8], ending: Ending) -> Exchange {
    let closed = ending == Ending::Closed;
    let (responses, rest) = response::all(received, &plan.heads(), closed);
    Exchange {
        later_sent: delivery.later.len(),
        delivery,
        written: 1,
        received: received.to_vec(),
        ending,
        responses,
        rest,
        elapsed: Duration::ZERO,
        first_byte: None,
        truncated: false,
    }
}

fn response(status: &str, body: &[u8], content_length: bool) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\n").into_bytes();
    if content_length {
        r.extend(format!("Content-Length: {}\r\n", body.len()).bytes());
    }
    r.extend(b"\r\n");
    r.extend(body);
    r
}

fn pages() -> Pages {
    Pages::bundled()
}

fn hello() -> Vec<u8> {
    response("200 OK", &pages().hello, true)
}

fn not_found() -> Vec<u8> {
    response("404 NOT FOUND", &pages().not_found, true)
}

/// The judgement on `delivery` answered with `received`, against the bundled pages.
fn judged(delivery: Delivery, received: &[u8], ending: Ending) -> Judgement {
    let plan = Plan::of(&delivery);
    let ex = exchange(delivery, &plan, received, ending);
    judge(&plan, &ex, Some(&pages()))
}

fn verdict_with(
    delivery: Delivery,
    received: &[u8],
    ending: Ending,
) -> (Verdict, Option<&'static str>) {
    let j = judged(delivery, received, ending);
    (j.verdict, j.rule.map(RuleId::name))
}

fn verdict(request: &[u8], received: &[u8], ending: Ending) -> (Verdict, Option<&'static str>) {
    verdict_with(Delivery::whole(request), received, ending)
}

fn half_closed(request: &[u8]) -> Delivery {
    let mut d = Delivery::whole(request);
    d.half_close = true;
    d
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const NOPE: &[u8] = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
const HEAD: &[u8] = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn the_reference_answer_passes() {
    let with_close = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ".as_slice(),
        pages().hello.len().to_string().as_bytes(),
        b"\r\n\r\n",
        &pages().hello,
    ]
    .concat();
    assert_eq!(
        verdict(GET, &with_close, Ending::Closed),
        (Verdict::Pass, None)
    );
    assert_eq!(
        verdict(GET, &hello(), Ending::KeptOpen),
        (Verdict::Pass, None),
        "keep-alive is legal"
    );
    let chunked = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".as_slice(),
        format!("{:x}\r\n", pages().hello.len()).as_bytes(),
        &pages().hello,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    assert_eq!(
        verdict(GET, &chunked, Ending::KeptOpen),
        (Verdict::Pass, None)
    );
    let interim = [b"HTTP/1.1 100 Continue\r\n\r\n".as_slice(), &hello()].concat();
    assert_eq!(
        verdict(GET, &interim, Ending::KeptOpen),
        (Verdict::Pass, None)
    );
}

/// A request, what came back, how the connection ended, and the verdict and rule expected.
type RuleCase<'a> = (&'a [u8], Vec<u8>, Ending, Verdict, &'a str);

#[test]
fn each_rule_can_fire() {
    let hello_page = pages().hello;
    let (head_get, get_nope) = ([HEAD, GET].concat(), [GET, NOPE].concat());
    let cases: Vec<RuleCase> = vec![
        (
            NOPE,
            hello(),
            Ending::Closed,
            Verdict::Fail,
            "status-not-allowed",
        ),
        (
            GET,
            response("200 OK", b"other", true),
            Ending::KeptOpen,
            Verdict::Fail,
            "wrong-page",
        ),
        (
            NOPE,
            response("404 Not Found", b"other", true),
            Ending::KeptOpen,
            Verdict::Fail,
            "wrong-page",
        ),
        (GET, vec![], Ending::Closed, Verdict::Fail, "no-response"),
        (
            GET,
            vec![],
            Ending::Reset,
            Verdict::Fail,
            "reset-before-response",
        ),
        (
            GET,
            vec![],
            Ending::TimedOut,
            Verdict::Fail,
            "no-response-in-time",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc".to_vec(),
            Ending::Closed,
            Verdict::Fail,
            "wrong-content-length",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc".to_vec(),
            Ending::Reset,
            Verdict::Fail,
            "reset-before-response",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc".to_vec(),
            Ending::TimedOut,
            Verdict::Fail,
            "no-response-in-time",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Len".to_vec(),
            Ending::Closed,
            Verdict::Fail,
            "malformed-response",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Len".to_vec(),
            Ending::Reset,
            Verdict::Fail,
            "reset-before-response",
        ),
        (
            GET,
            b"HTTP/1.1 200 OK\r\nContent-Len".to_vec(),
            Ending::TimedOut,
            Verdict::Fail,
            "no-response-in-time",
        ),
        (
            GET,
            b"hello".to_vec(),
            Ending::Closed,
            Verdict::Fail,
            "malformed-response",
        ),
        (
            GET,
            b"HTTP/2 200\r\n\r\n".to_vec(),
            Ending::Closed,
            Verdict::Fail,
            "malformed-response",
        ),
        (
            GET,
            response("200 OK", &hello_page, false),
            Ending::TimedOut,
            Verdict::Fail,
            "unframed-response-never-ends",
        ),
        (
            GET,
            response("200 OK", &hello_page, false),
            Ending::Reset,
            Verdict::Fail,
            "reset-before-response",
        ),
        (
            GET,
            [hello(), b"xx".to_vec()].concat(),
            Ending::Closed,
            Verdict::Fail,
            "wrong-content-length",
        ),
        (
            GET,
            [hello(), not_found()].concat(),
            Ending::KeptOpen,
            Verdict::Fail,
            "unrequested-response",
        ),
        (
            HEAD,
            [response("200 OK", b"", false), hello_page.to_vec()].concat(),
            Ending::Closed,
            Verdict::Fail,
            "body-after-head",
        ),
        (
            HEAD,
            response("404 NOT FOUND", &pages().not_found, true),
            Ending::Closed,
            Verdict::Fail,
            "body-after-head",
        ),
        (
            &head_get,
            [response("404 NOT FOUND", &pages().not_found, true), hello()].concat(),
            Ending::KeptOpen,
            Verdict::Fail,
            "body-after-head",
        ),
        (
            &get_nope,
            [hello(), b"xyz".to_vec(), not_found()].concat(),
            Ending::KeptOpen,
            Verdict::Fail,
            "wrong-content-length",
        ),
        (
            GET,
            response("200 OK", &hello_page, false),
            Ending::Closed,
            Verdict::NonStrict,
            "missing-content-length",
        ),
        (
            HEAD,
            [
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".as_slice(),
                b"bad",
            ]
            .concat(),
            Ending::Closed,
            Verdict::NonStrict,
            "body-after-head-before-close",
        ),
        (
            GET,
            hello(),
            Ending::Reset,
            Verdict::NonStrict,
            "reset-after-response",
        ),
        (
            GET,
            hello(),
            Ending::Closed,
            Verdict::NonStrict,
            "missing-connection-close",
        ),
        (
            GET,
            [b"HTTP/1.0".as_slice(), &hello()[8..]].concat(),
            Ending::KeptOpen,
            Verdict::NonStrict,
            "status-line-http-1.0",
        ),
        (
            HEAD,
            response("405 Method Not Allowed", b"", true),
            Ending::KeptOpen,
            Verdict::NonStrict,
            "status-non-strict",
        ),
        (
            b"GET // HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Ending::KeptOpen,
            Verdict::Fail,
            "redirect-elsewhere",
        ),
        (
            b"OPTIONS * HTTP/1.1\r\n\r\n",
            hello(),
            Ending::KeptOpen,
            Verdict::Fail,
            "wrong-page",
        ),
    ];
    for (request, received, ending, expected_verdict, expected_rule) in cases {
        let (v, rule) = verdict(request, &received, ending);
        let what = format!(
            "{:?} -> {:?} {ending:?}",
            String::from_utf8_lossy(request),
            String::from_utf8_lossy(&received)
        );
        assert_eq!(
            (v, rule.unwrap_or("")),
            (expected_verdict, expected_rule),
            "{what}"
        );
        if let Some(id) = rule {
            assert!(rule_named(id).is_some(), "{id} is documented");
        }
    }
}

#[test]
fn rules_are_documented_with_their_reason() {
    for r in RULES {
        assert!(!r.harm.is_empty() && !r.meaning.is_empty(), "{}", r.name);
    }
    assert_eq!(
        rule_named("wrong-page").map(|r| r.verdict),
        Some(Verdict::Fail)
    );
    assert!(rule_named("nope").is_none());
    let table = markdown_rules();
    assert!(RULES.iter().all(|r| table.contains(&format!(
        "| `{}` | {} |",
        r.name,
        r.verdict.as_str()
    ))));
}

#[test]
fn what_widely_used_stacks_send_is_not_a_failure() {
    // An HTTP/1.0 status line is only a SHOULD.
    let v10 = [b"HTTP/1.0".as_slice(), &hello()[8..]].concat();
    assert_eq!(verdict(GET, &v10, Ending::Closed).0, Verdict::NonStrict);
    // A stack's own 400 page for a malformed request line, then its close: the reference's
    // status; and its own 403 page, another 4xx.
    let page = response("400 Bad Request", b"<h1>Bad Request</h1>", true);
    assert_eq!(
        verdict(b"GET  / HTTP/1.1\r\n\r\n", &page, Ending::Closed),
        (Verdict::Pass, None)
    );
    let forbidden = response("403 Forbidden", b"<h1>Forbidden</h1>", true);
    assert_eq!(
        verdict(b"GET  / HTTP/1.1\r\n\r\n", &forbidden, Ending::Closed),
        (Verdict::NonStrict, Some("status-non-strict"))
    );
    // Its own 404 page for a request the table calls malformed.
    let own404 = response("404 Not Found", b"Cannot GET", true);
    assert_eq!(
        verdict(b"GET index.html HTTP/1.1\r\n\r\n", &own404, Ending::Closed).0,
        Verdict::NonStrict
    );
    // A redirect to the normalised path.
    let redirect = b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://localhost/\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        verdict(b"GET // HTTP/1.1\r\n\r\n", redirect, Ending::KeptOpen),
        (Verdict::NonStrict, Some("status-non-strict"))
    );
    // The hello page for a path a normalising server serves as `/`.
    assert_eq!(
        verdict(b"GET /./ HTTP/1.1\r\n\r\n", &hello(), Ending::KeptOpen).0,
        Verdict::NonStrict
    );
    // 200 with an Allow field to OPTIONS *.
    let options = b"HTTP/1.1 200 OK\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        verdict(b"OPTIONS * HTTP/1.1\r\n\r\n", options, Ending::KeptOpen).0,
        Verdict::NonStrict
    );
}

#[test]
fn pipelined_requests_are_answered_in_order_or_closed() {
    let two = [GET, NOPE].concat();
    // Both answered, in order, on a connection kept open.
    assert_eq!(
        verdict(&two, &[hello(), not_found()].concat(), Ending::KeptOpen),
        (Verdict::Pass, None)
    );
    // The first answered with close announced, then the close: what the reference does.
    let closing = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ".as_slice(),
        pages().hello.len().to_string().as_bytes(),
        b"\r\n\r\n",
        &pages().hello,
    ]
    .concat();
    assert_eq!(
        verdict(&two, &closing, Ending::Closed),
        (Verdict::Pass, None)
    );
    // The answers swapped: the second answer is judged against the second request.
    assert_eq!(
        verdict(&two, &[not_found(), hello()].concat(), Ending::KeptOpen).1,
        Some("status-not-allowed")
    );
    // The first answered, the second left hanging on an open connection.
    assert_eq!(
        verdict(&two, &hello(), Ending::TimedOut),
        (Verdict::Fail, Some("no-response-in-time"))
    );
    // A reuse after the first answer.
    let mut reuse = Delivery::whole(GET);
    reuse.later.push(Later {
        after_responses: 1,
        bytes: NOPE.to_vec(),
    });
    assert_eq!(
        verdict_with(
            reuse.clone(),
            &[hello(), not_found()].concat(),
            Ending::KeptOpen
        ),
        (Verdict::Pass, None)
    );
    assert_eq!(
        verdict_with(reuse, &[hello(), hello()].concat(), Ending::KeptOpen).1,
        Some("status-not-allowed")
    );
}

#[test]
fn a_half_close_after_a_complete_request_may_be_closed_non_strictly() {
    assert_eq!(
        verdict_with(half_closed(GET), &hello(), Ending::Closed),
        (Verdict::Pass, None)
    );
    assert_eq!(
        verdict_with(half_closed(GET), b"", Ending::Closed),
        (Verdict::NonStrict, Some("no-answer-after-half-close"))
    );
    assert_eq!(
        verdict_with(half_closed(GET), b"", Ending::TimedOut),
        (Verdict::Fail, Some("no-response-in-time"))
    );
}

#[test]
fn incomplete_and_empty_requests() {
    assert_eq!(
        verdict_with(half_closed(b""), b"", Ending::Closed),
        (Verdict::Pass, None)
    );
    assert_eq!(
        verdict_with(half_closed(b""), b"", Ending::Reset),
        (Verdict::NonStrict, Some("reset-after-response"))
    );
    let part = half_closed(b"GET / HT");
    assert_eq!(
        verdict_with(part.clone(), b"", Ending::Closed),
        (Verdict::NonStrict, Some("status-non-strict"))
    );
    assert_eq!(
        verdict_with(part.clone(), b"", Ending::TimedOut),
        (Verdict::NonStrict, Some("ignores-half-close"))
    );
    let bad = response("400 Bad Request", b"", true);
    assert_eq!(
        verdict_with(part, &bad, Ending::Closed),
        (Verdict::Pass, None)
    );
    // Not half-closed: a server rightly waits for the rest.
    assert_eq!(
        verdict(b"GET / HT", b"", Ending::TimedOut),
        (Verdict::Pass, None)
    );
    // A complete request, then the start of another, then the half-close: the complete one
    // is answered by the reference; a close is what stacks that stop at a half-close do.
    let then_part = half_closed(&[GET, b"GE"].concat());
    assert_eq!(
        verdict_with(then_part.clone(), &hello(), Ending::Closed),
        (Verdict::Pass, None)
    );
    assert_eq!(
        verdict_with(then_part, b"", Ending::Closed).1,
        Some("no-answer-after-half-close")
    );
    // Without the half-close, the complete request is owed its answer.
    assert_eq!(
        verdict(&[GET, b"GE"].concat(), b"", Ending::Closed).1,
        Some("no-response")
    );
}

#[test]
fn an_error_page_for_a_defective_head_request_may_carry_its_body() {
    let request = b"HEAD  / HTTP/1.1\r\n\r\n";
    let with_length = response("400 Bad Request", b"<p>bad</p>", true);
    assert_eq!(
        verdict(request, &with_length, Ending::Closed).0,
        Verdict::Pass
    );
    let until_close = response("400 Bad Request", b"<p>bad</p>", false);
    assert_eq!(
        verdict(request, &until_close, Ending::Closed).0,
        Verdict::Pass
    );
    let without = response("400 Bad Request", b"", true);
    assert_eq!(verdict(request, &without, Ending::Closed).0, Verdict::Pass);
    // More than the error page's length, then the close, after a refused request: no
    // further response could follow, so no client is misled.
    let longer = [with_length.clone(), b"x".to_vec()].concat();
    assert_eq!(
        verdict(request, &longer, Ending::Closed),
        (Verdict::NonStrict, Some("body-after-head-before-close"))
    );
    // A clean HEAD gets no body, error or not.
    let clean = b"HEAD /nope HTTP/1.1\r\n\r\n";
    assert_eq!(
        verdict(
            clean,
            &[
                response("404 NOT FOUND", b"", false),
                pages().not_found.to_vec()
            ]
            .concat(),
            Ending::Closed
        )
        .1,
        Some("body-after-head")
    );
}

#[test]
fn the_first_request_outcome_and_the_blamed_request_are_reported() {
    let two = [GET, NOPE].concat();
    let plan = Plan::of(&Delivery::whole(two.clone()));
    let ex = exchange(
        Delivery::whole(two),
        &plan,
        &[hello(), hello()].concat(),
        Ending::KeptOpen,
    );
    let j = judge(&plan, &ex, Some(&pages()));
    assert_eq!((j.outcome, j.request), (Some(Outcome::Status(200)), 1));
    assert!(
        j.detail.starts_with("request 2: status 200 is not allowed"),
        "{}",
        j.detail
    );
    let plan = Plan::of(&half_closed(b""));
    let ex = exchange(half_closed(b""), &plan, b"", Ending::Closed);
    assert_eq!(judge(&plan, &ex, None).outcome, Some(Outcome::SilentClose));
}

#[test]
fn without_pages_bodies_are_not_compared_but_redirects_still_are() {
    let plan = Plan::of(&Delivery::whole(GET));
    let other = response("200 OK", b"something", true);
    let ex = exchange(Delivery::whole(GET), &plan, &other, Ending::KeptOpen);
    assert_eq!(judge(&plan, &ex, None).verdict, Verdict::Pass);
    let dots = b"GET /./ HTTP/1.1\r\n\r\n";
    let plan = Plan::of(&Delivery::whole(&dots[..]));
    let redirect = b"HTTP/1.1 308 Permanent Redirect\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n";
    let ex = exchange(
        Delivery::whole(&dots[..]),
        &plan,
        redirect,
        Ending::KeptOpen,
    );
    assert_eq!(judge(&plan, &ex, None).rule, Some(RedirectElsewhere));
}

fn judgement(request: &[u8], received: &[u8], ending: Ending) -> Judgement {
    judged(Delivery::whole(request), received, ending)
}

#[test]
fn the_first_of_equal_findings_is_blamed() {
    // Two non-strict findings on one answer: the HTTP/1.0 status line comes first.
    let v10_until_close = [
        b"HTTP/1.0 200 OK\r\n\r\n".as_slice(),
        pages().hello.as_ref(),
    ]
    .concat();
    let j = judgement(GET, &v10_until_close, Ending::Closed);
    assert_eq!(
        (j.verdict, j.rule),
        (Verdict::NonStrict, Some(StatusLineHttp10))
    );
    assert!(j.detail.contains("no Content-Length"), "{}", j.detail);
}

#[test]
fn notes_say_what_was_expected_and_why_it_is_allowed() {
    // One request: no "request 1: " prefix.
    let j = judgement(NOPE, &hello(), Ending::KeptOpen);
    assert!(
        j.detail.starts_with("status 200 is not allowed"),
        "{}",
        j.detail
    );
    // Allowed only non-strictly: the note names the feature that allows it, and only it.
    let j = judgement(b"GET /./ HTTP/1.1\r\n\r\n", &hello(), Ending::KeptOpen);
    assert_eq!(j.rule, Some(StatusNonStrict));
    assert!(
        j.detail
            .starts_with("status 200 is allowed (the route a tolerant server serves), but"),
        "{}",
        j.detail
    );
    // Wrong pages: what came and what was expected.
    let other = response("200 OK", b"something", true);
    assert_eq!(
        judgement(GET, &other, Ending::KeptOpen).detail,
        "the 200 carried a body of 9 bytes, where the hello page was expected"
    );
    let hello_as_404 = response("404 NOT FOUND", &pages().hello, true);
    assert_eq!(
        judgement(NOPE, &hello_as_404, Ending::KeptOpen).detail,
        "the 404 carried the hello page, where the 404 page was expected"
    );
    let options = response("200 OK", &pages().hello, true);
    let j = judgement(b"OPTIONS * HTTP/1.1\r\n\r\n", &options, Ending::KeptOpen);
    assert_eq!(
        (j.rule, j.detail.as_str()),
        (
            Some(WrongPage),
            "the 200 carried the hello page, where anything but the hello page was expected"
        )
    );
}

#[test]
fn a_location_is_judged_by_its_path() {
    assert_eq!(location_path(b"/a/b"), b"/a/b");
    assert_eq!(location_path(b"http://h/a/b"), b"/a/b");
    assert_eq!(location_path(b"https://example.com/x"), b"/x");
    assert_eq!(location_path(b"http://example.com"), b"/");
}

#[test]
fn bytes_on_a_connection_that_sent_no_request_are_malformed() {
    // No request, so no answer owed: bytes that start no response are the server's fault.
    let j = judgement(b"", b"garbage", Ending::Closed);
    assert_eq!(
        (j.verdict, j.rule, j.request),
        (Verdict::Fail, Some(MalformedResponse), 0),
        "{j:?}"
    );
}

/// Issue 19, section 2: each class of false alarm, judged by the principle behind it, with
/// the cases on either side of the line.
#[test]
fn a_body_after_head_fails_only_where_a_client_could_read_it_as_the_next_response() {
    let page_404 = response("404 NOT FOUND", &pages().not_found, true);
    // HTTP/1.0 without keep-alive: both sides know the connection ends (RFC 9112 9.3).
    let v10 = verdict(b"HEAD / HTTP/1.0\r\n\r\n", &page_404, Ending::Closed);
    assert_eq!(
        v10,
        (Verdict::NonStrict, Some("body-after-head-before-close"))
    );
    // The request said close.
    let close = b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(
        verdict(close, &page_404, Ending::Closed).0,
        Verdict::NonStrict
    );
    // A framed error page after a HEAD the server refused, then the close.
    let error = response("400 Bad Request", b"<p>bad</p>", true);
    for refused in [
        &b"HEAD / HTTP/2.0\r\n\r\n"[..],
        &[
            b"HEAD / HTTP/1.1\r\nX: ".as_slice(),
            &vec![b'a'; 17 * 1024],
            b"\r\n\r\n",
        ]
        .concat(),
    ] {
        assert_eq!(
            verdict(refused, &error, Ending::Closed).0,
            Verdict::NonStrict
        );
    }
    let incomplete = half_closed(b"HEAD / HTTP/1.1\r\nHost: x\r\nX: y");
    assert_eq!(
        verdict_with(incomplete, &error, Ending::Closed).0,
        Verdict::NonStrict
    );
    // The client had half-closed after a complete HEAD.
    let after_half_close = half_closed(HEAD);
    assert_eq!(
        verdict_with(after_half_close, &hello(), Ending::Closed).1,
        Some("body-after-head-before-close")
    );
    // A well-formed HTTP/1.1 HEAD, a connection kept open, no close announced: a client
    // reads the body as the next response.
    assert_eq!(
        verdict(HEAD, &page_404, Ending::KeptOpen),
        (Verdict::Fail, Some("body-after-head"))
    );
    assert_eq!(
        verdict(HEAD, &page_404, Ending::Closed),
        (Verdict::Fail, Some("body-after-head"))
    );
}

#[test]
fn a_414_is_a_limit_the_server_may_have_at_any_length() {
    for len in [2083, 4094, 8200] {
        let request = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(len));
        let refused = response("414 URI Too Long", b"", true);
        let (v, _) = verdict(request.as_bytes(), &refused, Ending::KeptOpen);
        assert!(v <= Verdict::NonStrict, "{len}: {v:?}");
        let served = verdict(request.as_bytes(), &not_found(), Ending::KeptOpen);
        assert!(served.0 <= Verdict::NonStrict, "{len}: 404 {served:?}");
    }
    let short = verdict(
        GET,
        &response("414 URI Too Long", b"", true),
        Ending::KeptOpen,
    );
    assert_eq!(short, (Verdict::NonStrict, Some("status-non-strict")));
    // A 200 is still judged by its page.
    let other = response("200 OK", b"x", true);
    assert_eq!(
        verdict(
            &[
                b"GET /".as_slice(),
                &[b'a'; 3000],
                b" HTTP/1.1\r\nHost: x\r\n\r\n"
            ]
            .concat(),
            &other,
            Ending::KeptOpen
        )
        .0,
        Verdict::Fail
    );
}

#[test]
fn no_request_is_sent_or_owed_after_a_response_that_announced_the_close() {
    let mut delivery = Delivery::whole(GET);
    delivery.later.push(Later {
        after_responses: 1,
        bytes: NOPE.to_vec(),
    });
    let plan = Plan::of(&delivery);
    let closing =
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    // The raw client sent nothing more: the server that waits for the client's close is
    // right, and only the first answer is judged.
    let mut ex = exchange(delivery, &plan, &closing, Ending::TimedOut);
    ex.later_sent = 0;
    let j = judge(&plan, &ex, None);
    assert_eq!((j.verdict, j.rule), (Verdict::Pass, None), "{}", j.detail);
    assert_eq!(ex.requests_sent(plan.requests.len()), 1);
}

#[test]
fn silence_fails_only_where_a_must_or_the_contract_owes_an_answer() {
    for invalid in [
        &b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
        b"GET index.html HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
    ] {
        let what = String::from_utf8_lossy(invalid);
        assert_eq!(
            verdict(invalid, b"", Ending::Closed),
            (Verdict::NonStrict, Some("no-answer-to-invalid-request")),
            "{what}"
        );
        assert_eq!(
            verdict(invalid, b"", Ending::Reset).0,
            Verdict::NonStrict,
            "{what}"
        );
    }
    for (owed, cited) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], "RFC 9112 \u{a7}3.2 MUST"),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "RFC 9112 \u{a7}3.2 MUST",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: *\\%xAoq\r\n\r\n",
            "RFC 9112 \u{a7}3.2 MUST",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nAccept : */*\r\n\r\n",
            "RFC 9112 \u{a7}5.1 MUST",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
            "RFC 9112 \u{a7}5.2 MUST",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
            "RFC 9112 \u{a7}6.3 MUST",
        ),
        (GET, "the contract"),
        (NOPE, "the contract"),
    ] {
        let j = judged(Delivery::whole(owed), b"", Ending::Closed);
        let what = String::from_utf8_lossy(owed);
        assert_eq!(
            (j.verdict, j.rule),
            (Verdict::Fail, Some(NoResponse)),
            "{what}"
        );
        assert!(j.detail.contains(cited), "{what}: {}", j.detail);
    }
    // The MUST answer is 400, as strict as serving (the book serves a missing Host).
    let bad_host = b"GET / HTTP/1.1\r\nHost: *\\%xAoq\r\n\r\n";
    let refused = response("400 Bad Request", b"", true);
    assert_eq!(
        verdict(bad_host, &refused, Ending::KeptOpen),
        (Verdict::Pass, None)
    );
}

#[test]
fn an_http09_answer_is_non_strict_only_for_a_request_line_without_a_version() {
    let body_only = b"<html>hello</html>".to_vec();
    for simple in [
        &b"GET /HTTP/1.1\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / FOO\r\n\r\n",
    ] {
        assert_eq!(
            verdict(simple, &body_only, Ending::Closed),
            (Verdict::NonStrict, Some("http-0.9-answer")),
            "{}",
            String::from_utf8_lossy(simple)
        );
    }
    for versioned in [
        &b"GET / HTTP/1.10\r\n\r\n"[..],
        b"GET / HTTP/1.1 x\r\n\r\n",
        b"GET / http/1.1\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
    ] {
        assert_eq!(
            verdict(versioned, &body_only, Ending::Closed),
            (Verdict::Fail, Some("malformed-response")),
            "{}",
            String::from_utf8_lossy(versioned)
        );
    }
}

#[test]
fn any_error_answers_an_invalid_request_non_strictly() {
    let not_implemented = response("501 Not Implemented", b"", true);
    assert_eq!(
        verdict(
            b"GET\t / HTTP/1.1\r\nHost: x\r\n\r\n",
            &not_implemented,
            Ending::Closed
        )
        .0,
        Verdict::NonStrict
    );
    let unsupported = response("505 HTTP Version Not Supported", b"", true);
    assert_eq!(
        verdict(
            b"GET / 0 HTTP/3.0\r\nHost: x\r\n\r\n",
            &unsupported,
            Ending::Closed
        )
        .0,
        Verdict::NonStrict
    );
    // A valid request gets no such licence.
    assert_eq!(
        verdict(
            GET,
            &response("500 Internal Server Error", b"", true),
            Ending::KeptOpen
        )
        .1,
        Some("status-not-allowed")
    );
}

#[test]
fn a_later_minor_version_in_the_status_line_fails_unless_it_echoes_the_request() {
    let v12 = [b"HTTP/1.2".as_slice(), &hello()[8..]].concat();
    let j = judged(Delivery::whole(GET), &v12, Ending::KeptOpen);
    assert_eq!(
        (j.verdict, j.rule),
        (Verdict::Fail, Some(StatusLineUnaskedMinor))
    );
    assert!(
        j.detail.contains("HTTP/1.2") && j.detail.contains("MUST NOT"),
        "{}",
        j.detail
    );
    let echo = judged(
        Delivery::whole(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n"),
        &v12,
        Ending::KeptOpen,
    );
    assert_eq!(
        (echo.verdict, echo.rule),
        (Verdict::NonStrict, Some(StatusLineLaterMinor))
    );
    assert!(echo.detail.contains("SHOULD"), "{}", echo.detail);
    // An echo whatever the line's shape (Starman echoes ` / HTTP/1.2`, no method).
    let odd = judged(
        Delivery::whole(b" / HTTP/1.2\r\n\r\n"),
        &[b"HTTP/1.2".as_slice(), &not_found()[8..]].concat(),
        Ending::Closed,
    );
    assert_ne!(odd.rule, Some(StatusLineUnaskedMinor), "{}", odd.detail);
    // Another later minor than the one asked for is not an echo.
    let v13 = [b"HTTP/1.3".as_slice(), &hello()[8..]].concat();
    let other = judged(
        Delivery::whole(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n"),
        &v13,
        Ending::KeptOpen,
    );
    assert_eq!(other.rule, Some(StatusLineUnaskedMinor));
}

#[test]
fn a_body_answered_as_a_request_after_a_spaced_content_length_fails() {
    let smuggled =
        b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length : 18\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let refused = response("400 Bad Request", b"", true);
    assert_eq!(
        verdict(smuggled, &refused, Ending::Closed),
        (Verdict::Pass, None)
    );
    // Served once, the body read as its body: the request itself is only non-strict.
    assert_eq!(
        verdict(smuggled, &not_found(), Ending::KeptOpen).0,
        Verdict::NonStrict
    );
    let twice = [not_found(), hello()].concat();
    assert_eq!(
        verdict(smuggled, &twice, Ending::KeptOpen),
        (Verdict::Fail, Some("body-answered-as-request"))
    );
    // A spaced field that does not frame the body keeps the old tolerance of whatever
    // follows an uncountable body.
    let spaced_other = b"POST /nope HTTP/1.1\r\nHost: x\r\nX-Note : 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_ne!(
        verdict(spaced_other, &twice, Ending::KeptOpen).1,
        Some("body-answered-as-request")
    );
}
