//! The shared verifier: one connection, the plan of its requests, one verdict. Fixtures and
//! fuzzing both judge through [`judge`], so a rule is written once; every rule is in
//! [`RULES`] with the policy clause (see [`crate::kit::expect`]) and the RFC section or
//! book listing behind it.

use crate::kit::expect::{Allowed, Because, Expectation, FeatureId, Grade, Outcome, Page, Plan};
use crate::kit::raw::{Ending, Exchange};
use crate::kit::report::Verdict;
use crate::kit::response::{BodyFraming, Message, Next};
use crate::pages::Pages;

/// The verdict on one connection, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Stable rule id (see [`RULES`]); `None` for a plain pass.
    pub rule: Option<&'static str>,
    pub detail: String,
    /// What the server did with the first request.
    pub outcome: Option<Outcome>,
    /// The request (index in the plan) whose answer decided the verdict.
    pub request: usize,
}

/// A rule: its id, its verdict, what it means, and why (policy clause and source).
pub struct Rule {
    pub id: &'static str,
    pub verdict: Verdict,
    pub meaning: &'static str,
    pub why: &'static str,
}

/// Every rule a connection can break, printed in the README.
pub const RULES: &[Rule] = &[
    Rule {
        id: "no-response",
        verdict: Verdict::Fail,
        meaning: "the server closed without answering a request that is owed an answer",
        why: "policy (b): RFC 9112 9.6, a server closes only after answering what it read",
    },
    Rule {
        id: "no-response-in-time",
        verdict: Verdict::Fail,
        meaning: "no complete response before the timeout",
        why: "policy (c): a hang",
    },
    Rule {
        id: "reset-before-response",
        verdict: Verdict::Fail,
        meaning: "the connection was reset before the response was complete",
        why: "policy (b): a reset destroys the response (RFC 9112 9.6)",
    },
    Rule {
        id: "malformed-response",
        verdict: Verdict::Fail,
        meaning: "the response is not a valid HTTP/1.x response (status line, fields, Content-Length or chunked coding)",
        why: "policy (b): RFC 9112 4, 5, 6.3 and 7.1",
    },
    Rule {
        id: "status-not-allowed",
        verdict: Verdict::Fail,
        meaning: "the status is not one the request's features allow",
        why: "policy (a): the book's contract, as the expectations derive it",
    },
    Rule {
        id: "wrong-content-length",
        verdict: Verdict::Fail,
        meaning: "the body is shorter or longer than its framing says",
        why: "policy (b): RFC 9112 6.3, a misframed body",
    },
    Rule {
        id: "body-after-head",
        verdict: Verdict::Fail,
        meaning: "a response to HEAD carried a body",
        why: "policy (b): RFC 9110 9.3.2, the server MUST NOT send content in a response to HEAD",
    },
    Rule {
        id: "body-after-head-before-close",
        verdict: Verdict::NonStrict,
        meaning: "a response to HEAD that said Connection: close carried a body, then the server closed",
        why: "RFC 9110 9.3.2 MUST NOT, but no client can read the body as the next response: policy (b) needs harm",
    },
    Rule {
        id: "wrong-page",
        verdict: Verdict::Fail,
        meaning: "a 200 that is not the hello page, a 404 that is not the 404 page, or the hello page where it is not allowed",
        why: "policy (a): the book's contract",
    },
    Rule {
        id: "redirect-elsewhere",
        verdict: Verdict::Fail,
        meaning: "a redirect whose Location is not the normalised path",
        why: "policy (a): RFC 3986 6.2.2 allows only a redirect to the same resource",
    },
    Rule {
        id: "unrequested-response",
        verdict: Verdict::Fail,
        meaning: "more responses than requests sent",
        why: "policy (b): RFC 9112 9.3.2, responses answer requests in order, one each",
    },
    Rule {
        id: "unframed-response-never-ends",
        verdict: Verdict::Fail,
        meaning: "no Content-Length or chunked coding, and the connection never closes, so the body never ends",
        why: "policy (b): RFC 9112 6.3 item 8",
    },
    Rule {
        id: "status-non-strict",
        verdict: Verdict::NonStrict,
        meaning: "an allowed status, but not the reference server's",
        why: "policy: non-strict; the feature that allows it is named in the detail",
    },
    Rule {
        id: "status-line-http-1.0",
        verdict: Verdict::NonStrict,
        meaning: "the status line says HTTP/1.0",
        why: "RFC 9110 2.5: a server SHOULD send the highest version it conforms to (1.1)",
    },
    Rule {
        id: "missing-content-length",
        verdict: Verdict::NonStrict,
        meaning: "the body is ended by closing the connection (legal, but a client cannot tell a truncated body)",
        why: "RFC 9112 6.3 item 8 allows it; the reference frames every body",
    },
    Rule {
        id: "missing-connection-close",
        verdict: Verdict::NonStrict,
        meaning: "the server closed after a response to a well-formed HTTP/1.1 request that did not say Connection: close",
        why: "RFC 9112 9.3: a server that does not keep connections open MUST send close; the book's listings omit it harmlessly",
    },
    Rule {
        id: "reset-after-response",
        verdict: Verdict::NonStrict,
        meaning: "complete responses, then a reset instead of a clean close (some clients lose the response)",
        why: "RFC 9112 9.6 describes the staged close that avoids it; the book's listings reset when they leave a request unread",
    },
    Rule {
        id: "ignores-half-close",
        verdict: Verdict::NonStrict,
        meaning: "after the client half-closed an incomplete request, the server neither answered nor closed",
        why: "RFC 9112 8: an incomplete message may be answered or closed; waiting on is harmless",
    },
    Rule {
        id: "no-answer-after-half-close",
        verdict: Verdict::NonStrict,
        meaning: "a complete request followed by the client's half-close was closed without an answer",
        why: "RFC 9112 does not require an answer once the client has half-closed, and deployed stacks close",
    },
    Rule {
        id: "server-died",
        verdict: Verdict::Fail,
        meaning: "the server process exited",
        why: "policy (c): a crash",
    },
    Rule {
        id: "stopped-answering",
        verdict: Verdict::Fail,
        meaning: "the server process lives, but GET / no longer gets an answer",
        why: "policy (c): a hang",
    },
];

/// The meaning of a rule id, for reports.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// What was found, the worst first.
struct Findings {
    verdict: Verdict,
    rule: Option<&'static str>,
    request: usize,
    notes: Vec<String>,
}

impl Findings {
    fn add(&mut self, request: usize, verdict: Verdict, rule: &'static str, note: String) {
        if verdict > self.verdict {
            self.verdict = verdict;
            self.rule = Some(rule);
            self.request = request;
        }
        self.notes.push(note);
    }

    fn fail(&mut self, request: usize, rule: &'static str, note: String) {
        self.add(request, Verdict::Fail, rule, note);
    }

    fn non_strict(&mut self, request: usize, rule: &'static str, note: String) {
        self.add(request, Verdict::NonStrict, rule, note);
    }
}

/// Everything the rules look at.
struct Case<'a> {
    plan: &'a Plan,
    ex: &'a Exchange,
    pages: Option<&'a Pages>,
    /// More requests may follow that the kit cannot count (a body it cannot frame).
    open_ended: bool,
}

/// Judges one connection against its plan. With `pages`, bodies must be the pages where
/// the expectations say so.
pub fn judge(plan: &Plan, ex: &Exchange, pages: Option<&Pages>) -> Judgement {
    let case = Case {
        plan,
        ex,
        pages,
        open_ended: plan.open_ended(),
    };
    let mut found = Findings {
        verdict: Verdict::Pass,
        rule: None,
        request: 0,
        notes: Vec::new(),
    };
    let mut outcome = None;
    for (i, expectation) in plan.requests.iter().enumerate() {
        let this = match ex.responses.get(i) {
            Some(message) => {
                answered(&case, &mut found, i, expectation, message);
                Some(Outcome::Status(message.head.status))
            }
            None => {
                unanswered(&case, &mut found, i, expectation);
                None
            }
        };
        if i == 0 {
            outcome = this.or((ex.ending == Ending::Closed).then_some(Outcome::SilentClose));
        }
        if this.is_none() {
            break;
        }
    }
    if ex.responses.len() >= plan.requests.len() {
        surplus(&case, &mut found);
    }
    connection_end(&case, &mut found);
    Judgement {
        verdict: found.verdict,
        rule: found.rule,
        detail: found.notes.join("; "),
        outcome,
        request: found.request,
    }
}

/// `request 2 ` when the plan has several, for notes.
fn which(case: &Case<'_>, i: usize) -> String {
    if case.plan.requests.len() > 1 {
        format!("request {}: ", i + 1)
    } else {
        String::new()
    }
}

/// The rules for an answer: version, status, body, framing.
fn answered(case: &Case<'_>, found: &mut Findings, i: usize, e: &Expectation, m: &Message) {
    let at = which(case, i);
    if m.head.minor_version == 0 {
        found.non_strict(
            i,
            "status-line-http-1.0",
            format!("{at}the status line says HTTP/1.0, not HTTP/1.1"),
        );
    }
    let status = m.head.status;
    let entries = e.entries(Outcome::Status(status));
    if entries.is_empty() {
        found.fail(
            i,
            "status-not-allowed",
            format!(
                "{at}status {status} is not allowed; expected {}",
                e.describe()
            ),
        );
    } else {
        let body = (!e.head_request).then(|| m.body(&case.ex.received));
        let fitting: Vec<&Allowed> = entries
            .iter()
            .filter(|a| page_fits(a.page, body.as_deref(), m, e, case.pages))
            .collect();
        match fitting.iter().map(|a| a.grade).min() {
            Some(Grade::Strict) => {}
            Some(Grade::NonStrict) => found.non_strict(
                i,
                "status-non-strict",
                format!(
                    "{at}status {status} is allowed ({}), but the reference answers {}",
                    reasons(&fitting),
                    e.describe()
                ),
            ),
            None => wrong_body(found, i, &at, &entries, body.as_deref(), m, e, case.pages),
        }
    }
    if m.framing == BodyFraming::UntilClose {
        found.non_strict(
            i,
            "missing-content-length",
            format!("{at}no Content-Length: the body is ended by closing the connection"),
        );
    }
}

/// Why the allowed entries allow: feature names, or "the route".
fn reasons(entries: &[&Allowed]) -> String {
    let mut names: Vec<&str> = entries
        .iter()
        .filter(|a| a.grade == Grade::NonStrict)
        .map(|a| match a.because {
            Because::Route => "the route a tolerant server serves",
            Because::Feature(f) => f.name(),
            Because::Fixture => "the fixture's expectation",
        })
        .collect();
    names.dedup();
    names.join(", ")
}

/// Whether the answer's body (`None` for a `HEAD`) meets `page`.
fn page_fits(
    page: Page,
    body: Option<&[u8]>,
    m: &Message,
    e: &Expectation,
    pages: Option<&Pages>,
) -> bool {
    match (page, body, pages) {
        (Page::RedirectToNormal, _, _) => {
            let location = m.head.field("location").unwrap_or_default();
            e.normal_path
                .as_deref()
                .is_some_and(|path| location_path(location) == path)
        }
        (Page::Any, _, _) | (_, None, _) | (_, _, None) => true,
        (Page::Hello, Some(body), Some(p)) => body == p.hello.as_ref(),
        (Page::NotFound, Some(body), Some(p)) => body == p.not_found.as_ref(),
        (Page::NotHello, Some(body), Some(p)) => body != p.hello.as_ref(),
    }
}

/// The path of a `Location` value: as is for `/path`, after the authority for a URL.
fn location_path(location: &[u8]) -> &[u8] {
    let Some(sep) = location.windows(3).position(|w| w == b"://") else {
        return location;
    };
    let rest = &location[sep + 3..];
    match rest.iter().position(|&b| b == b'/') {
        Some(slash) => &rest[slash..],
        None => b"/",
    }
}

/// The status is allowed, but not with this body (or this Location).
#[allow(clippy::too_many_arguments)]
fn wrong_body(
    found: &mut Findings,
    i: usize,
    at: &str,
    entries: &[Allowed],
    body: Option<&[u8]>,
    m: &Message,
    e: &Expectation,
    pages: Option<&Pages>,
) {
    let status = m.head.status;
    if entries.iter().all(|a| a.page == Page::RedirectToNormal) {
        let location = String::from_utf8_lossy(m.head.field("location").unwrap_or_default());
        let normal = String::from_utf8_lossy(e.normal_path.as_deref().unwrap_or_default());
        found.fail(
            i,
            "redirect-elsewhere",
            format!("{at}a {status} to \"{location}\", not to the normalised path \"{normal}\""),
        );
        return;
    }
    let body = body.unwrap_or_default();
    let is_hello = pages.is_some_and(|p| body == p.hello.as_ref());
    let what = if entries.iter().any(|a| a.page == Page::Hello) {
        "the hello page"
    } else if entries.iter().any(|a| a.page == Page::NotFound) {
        "the 404 page"
    } else {
        "anything but the hello page"
    };
    let got = if is_hello {
        "the hello page".to_string()
    } else {
        format!("a body of {} bytes", body.len())
    };
    found.fail(
        i,
        "wrong-page",
        format!("{at}the {status} carried {got}, where {what} was expected"),
    );
}

/// The rules for a request that got no complete response.
fn unanswered(case: &Case<'_>, found: &mut Findings, i: usize, e: &Expectation) {
    let at = which(case, i);
    let ex = case.ex;
    let partial = i == ex.responses.len();
    match (&ex.rest, partial) {
        // Bytes after a complete answer that start no response: the answer before them was
        // longer than its framing said.
        (Next::Invalid(_), true) if i > 0 => return surplus_after(case, found, i - 1),
        (Next::Invalid(error), true) => {
            return found.fail(i, "malformed-response", format!("{at}{error}"));
        }
        (Next::Incomplete { head }, true) => return incomplete(found, i, &at, head.is_some(), ex),
        (Next::UntilClose(m), true) if ex.ending == Ending::Reset => {
            return reset_until_close(found, i, &at, m.head.status);
        }
        (Next::UntilClose(_), true) => {
            return found.fail(
                i,
                "unframed-response-never-ends",
                format!(
                    "{at}no Content-Length, and the connection was not closed before the timeout"
                ),
            );
        }
        _ => {}
    }
    silent(case, found, i, &at, e);
}

/// A body delimited by the close, ended by a reset: the client cannot tell it whole (RFC
/// 9112 section 8). For a page that is harm; for an error answer, whose status arrived, it
/// is only non-strict.
fn reset_until_close(found: &mut Findings, i: usize, at: &str, status: u16) {
    let text = format!(
        "{at}the body was to end with the close, but the connection was reset: a client cannot tell it from a truncated one"
    );
    if status >= 400 {
        found.non_strict(i, "reset-after-response", text);
    } else {
        found.fail(i, "reset-before-response", text);
    }
}

/// Part of a response arrived.
fn incomplete(found: &mut Findings, i: usize, at: &str, head_done: bool, ex: &Exchange) {
    let part = if head_done { "body" } else { "head" };
    match ex.ending {
        Ending::Reset => found.fail(
            i,
            "reset-before-response",
            format!("{at}the connection was reset before the response {part} was complete"),
        ),
        Ending::Closed if head_done => found.fail(
            i,
            "wrong-content-length",
            format!("{at}the connection closed before the body its framing announces was complete"),
        ),
        Ending::Closed => found.fail(
            i,
            "malformed-response",
            format!("{at}the connection closed before the response head was complete"),
        ),
        Ending::TimedOut | Ending::KeptOpen => found.fail(
            i,
            "no-response-in-time",
            format!("{at}the response {part} was not complete before the timeout"),
        ),
    }
}

/// Nothing arrived for this request: a close, a reset or a wait.
fn silent(case: &Case<'_>, found: &mut Findings, i: usize, at: &str, e: &Expectation) {
    let ex = case.ex;
    let half_closed = ex.delivery.half_close;
    let close = e.grade(Outcome::SilentClose);
    match (ex.ending, close) {
        (Ending::Closed, Some(Grade::Strict)) => {}
        (Ending::Closed, Some(Grade::NonStrict)) => {
            let rule = if e.features.contains(&FeatureId::HalfClosedAfter) {
                "no-answer-after-half-close"
            } else {
                "status-non-strict"
            };
            found.non_strict(
                i,
                rule,
                format!("{at}the server closed without answering; expected {}", e.describe()),
            );
        }
        (Ending::Reset, Some(_)) => found.non_strict(
            i,
            "reset-after-response",
            format!("{at}the connection was reset instead of closed; expected {}", e.describe()),
        ),
        (Ending::Closed | Ending::KeptOpen, None) => found.fail(
            i,
            "no-response",
            format!("{at}the server closed the connection without answering; expected {}", e.describe()),
        ),
        (Ending::Reset, None) => found.fail(
            i,
            "reset-before-response",
            format!("{at}the connection was reset before any response; expected {}", e.describe()),
        ),
        (Ending::TimedOut, Some(_)) if !e.complete && half_closed => found.non_strict(
            i,
            "ignores-half-close",
            format!("{at}the client half-closed an incomplete request, and the server neither answered nor closed before the timeout"),
        ),
        // An incomplete request the client did not half-close: the server rightly waits.
        (Ending::TimedOut, _) if !e.complete && !half_closed => {}
        (Ending::TimedOut, _) => found.fail(
            i,
            "no-response-in-time",
            format!("{at}no response before the timeout; expected {}", e.describe()),
        ),
        (Ending::KeptOpen, Some(_)) => {}
    }
}

/// Bytes after the last expected response.
fn surplus(case: &Case<'_>, found: &mut Findings) {
    let ex = case.ex;
    // A plan holds at least one request: an empty send is the `empty` request.
    let n = case.plan.requests.len();
    let i = n - 1;
    let extra_responses = ex.responses.len() - n;
    if extra_responses > 0 && !case.open_ended {
        found.fail(
            i,
            "unrequested-response",
            format!("{extra_responses} response(s) more than the {n} request(s) sent"),
        );
        return;
    }
    let ends = ex.responses.last().map_or(0, |last| last.end);
    if ex.received.len() > ends && !case.open_ended && extra_responses == 0 {
        surplus_after(case, found, i);
    }
}

/// Bytes followed the complete answer to request `i` where no answer starts.
fn surplus_after(case: &Case<'_>, found: &mut Findings, i: usize) {
    let ex = case.ex;
    let last = &ex.responses[i];
    let after = ex.received.len() - last.end;
    let e = &case.plan.requests[i];
    if excused_error_body(e, last, after, ex.ending) {
        return;
    }
    let at = which(case, i);
    let ended = matches!(ex.ending, Ending::Closed | Ending::Reset);
    if e.head_request && !last.head.persistent() && ended {
        return found.non_strict(
            i,
            "body-after-head-before-close",
            format!("{at}{after} bytes followed a response to HEAD that announced the close, then the close"),
        );
    }
    let (rule, what) = if e.head_request {
        ("body-after-head", "a response to HEAD")
    } else {
        (
            "wrong-content-length",
            "a response framed by its Content-Length or chunked coding",
        )
    };
    found.fail(i, rule, format!("{at}{after} bytes followed {what}"));
}

/// A server that refused a defective `HEAD` request may not have read its method: its error
/// page may follow the head, framed by its Content-Length or by the close.
fn excused_error_body(e: &Expectation, m: &Message, after: usize, ending: Ending) -> bool {
    if !(e.error_body_allowed && m.head.status >= 400) {
        return false;
    }
    match m.head.content_length() {
        Ok(Some(length)) => length == after as u64,
        Ok(None) => matches!(ending, Ending::Closed | Ending::Reset),
        Err(_) => false,
    }
}

/// How the connection ended after the responses.
fn connection_end(case: &Case<'_>, found: &mut Findings) {
    let ex = case.ex;
    let Some(last) = ex.responses.last() else {
        return;
    };
    let i = ex.responses.len() - 1;
    let at = which(case, i);
    let all_answered = ex.responses.len() >= case.plan.requests.len();
    if ex.ending == Ending::Reset && all_answered {
        found.non_strict(
            i,
            "reset-after-response",
            format!("{at}the connection was reset after the response instead of closed cleanly"),
        );
    }
    let expected_more = case
        .plan
        .requests
        .get(i)
        .is_some_and(|e| e.expects_persistence);
    if ex.ending == Ending::Closed
        && !ex.delivery.half_close
        && expected_more
        && last.head.persistent()
        && last.framing != BodyFraming::UntilClose
    {
        found.non_strict(
            i,
            "missing-connection-close",
            format!("{at}the server closed the connection after a response without Connection: close (RFC 9112 9.3)"),
        );
    }
}

/// The rules as Markdown, for the README (a test keeps the README in step with it).
pub fn markdown_rules() -> String {
    let mut text = String::from("| rule | verdict | meaning | why |\n| --- | --- | --- | --- |\n");
    for r in RULES {
        text.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.id,
            r.verdict.as_str(),
            r.meaning,
            r.why
        ));
    }
    text
}

#[cfg(test)]
mod tests;
