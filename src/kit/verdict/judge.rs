//! The shared verifier: one connection, the plan of its requests, one verdict. Fixtures and
//! fuzzing both judge through [`judge`], so a rule is written once; every rule is in
//! [`crate::kit::verdict::rules::RULES`] with the requirements of the ledger it rests on.

use crate::kit::http::raw::{Ending, Exchange};
use crate::kit::http::response::{BodyFraming, Message, Next, ParseError};
use crate::kit::report::Verdict;
use crate::kit::verdict::RuleId::{self, *};
use crate::kit::verdict::expect::{
    Allowed, Because, Expectation, FeatureId, Grade, Outcome, Page, Plan,
};
use crate::kit::verdict::requirements::cite;
use crate::pages::Pages;

/// The verdict on one connection, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The rule that decided it; `None` for a plain pass.
    pub rule: Option<RuleId>,
    pub detail: String,
    /// What the server did with the first request.
    pub outcome: Option<Outcome>,
    /// The request (index in the plan) whose answer decided the verdict.
    pub request: usize,
}

/// What was found; the first of the worst verdict decides.
struct Findings {
    verdict: Verdict,
    rule: Option<RuleId>,
    request: usize,
    notes: Vec<String>,
}

impl Findings {
    /// Records that request `request` broke `rule` (its verdict is the rule's).
    fn found(&mut self, request: usize, rule: RuleId, note: String) {
        let verdict = rule.verdict();
        if verdict > self.verdict {
            self.verdict = verdict;
            self.rule = Some(rule);
            self.request = request;
        }
        self.notes.push(note);
    }
}

/// Everything the rules look at.
struct Case<'a> {
    plan: &'a Plan,
    ex: &'a Exchange,
    pages: Option<&'a Pages>,
    /// More requests may follow that the kit cannot count (a body it cannot frame).
    open_ended: bool,
    /// The requests of the plan the client sent (a later send is not made once a response
    /// announced the close).
    sent: usize,
}

/// Judges one connection against its plan. With `pages`, bodies must be the pages where
/// the expectations say so.
pub fn judge(plan: &Plan, ex: &Exchange, pages: Option<&Pages>) -> Judgement {
    let case = Case {
        plan,
        ex,
        pages,
        open_ended: plan.open_ended(),
        sent: ex.requests_sent(plan.requests.len()),
    };
    let mut found = Findings {
        verdict: Verdict::Pass,
        rule: None,
        request: 0,
        notes: Vec::new(),
    };
    let mut outcome = None;
    for (i, expectation) in plan.requests[..case.sent].iter().enumerate() {
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
    if ex.responses.len() >= case.sent {
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
    match m.head.minor_version {
        0 => found.found(
            i,
            StatusLineHttp10,
            format!("{at}the status line says HTTP/1.0, not HTTP/1.1"),
        ),
        1 => {}
        minor if e.named_version == Some((1, minor)) => found.found(
            i,
            StatusLineLaterMinor,
            format!(
                "{at}the status line echoes the request's HTTP/1.{minor}, a version no RFC defines; a server SHOULD send the highest version it conforms to, HTTP/1.1 ({})",
                cite("9110-6.2-highest")
            ),
        ),
        minor => found.found(
            i,
            StatusLineUnaskedMinor,
            format!(
                "{at}the status line says HTTP/1.{minor} to a request that did not name it: no RFC defines that version, and a server MUST NOT send a version it does not conform to ({}); curl and llhttp refuse the response",
                cite("9110-6.2-conformant")
            ),
        ),
    }
    let status = m.head.status;
    let entries = e.entries(Outcome::Status(status));
    if entries.is_empty() {
        found.found(
            i,
            StatusNotAllowed,
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
            Some(Grade::NonStrict) => found.found(
                i,
                StatusNonStrict,
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
        found.found(
            i,
            MissingContentLength,
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
            Because::Limit => "a limit the server chose, allowed at any size",
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
        (Page::RedirectToNormal, _, _) => match m.head.field("location") {
            // Judged as a redirect without a Location (non-strict) by `wrong_body`.
            None => false,
            Some(location) => e
                .normal_path
                .as_deref()
                .is_some_and(|path| location_path(location) == path),
        },
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
        let normal = String::from_utf8_lossy(e.normal_path.as_deref().unwrap_or_default());
        return match m.head.field("location") {
            None => found.found(
                i,
                RedirectWithoutLocation,
                format!(
                    "{at}a {status} without a Location, where a redirect to \"{normal}\" is allowed ({})",
                    cite("9110-15.4-location")
                ),
            ),
            Some(location) => found.found(
                i,
                RedirectElsewhere,
                format!(
                    "{at}a {status} to \"{}\", not to the normalised path \"{normal}\"",
                    String::from_utf8_lossy(location)
                ),
            ),
        };
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
    found.found(
        i,
        WrongPage,
        format!("{at}the {status} carried {got}, where {what} was expected"),
    );
}

/// The rules for a request that got no complete response.
fn unanswered(case: &Case<'_>, found: &mut Findings, i: usize, e: &Expectation) {
    let at = which(case, i);
    let ex = case.ex;
    let partial = i == ex.responses.len();
    if partial && ex.truncated {
        return found.found(
            i,
            BeyondKitLimits,
            format!(
                "{at}the response is larger than the kit reads: it stopped reading after {} bytes, so the rest is not judged",
                ex.received.len()
            ),
        );
    }
    match (&ex.rest, partial) {
        // Bytes after a complete answer that start no response: the answer before them was
        // longer than its framing said.
        (Next::Invalid(_), true) if i > 0 => return surplus_after(case, found, i - 1),
        (Next::Invalid(error), true) => return invalid_response(found, i, &at, e, error),
        (Next::Incomplete { head }, true) => {
            return incomplete(found, i, &at, head.is_some(), ex, e);
        }
        (Next::UntilClose(m), true) if ex.ending == Ending::Reset => {
            return reset_until_close(found, i, &at, m.head.status);
        }
        (Next::UntilClose(_), true) => {
            return found.found(
                i,
                UnframedResponseNeverEnds,
                format!(
                    "{at}no Content-Length, and the connection was not closed before the timeout"
                ),
            );
        }
        _ => {}
    }
    silent(case, found, i, &at, e);
}

/// Bytes that are not an HTTP/1.x response: a body without a status line is how servers
/// answer a request line without a version (HTTP/0.9); what passes the kit's limits is
/// not judged; anything else breaks the grammar.
fn invalid_response(found: &mut Findings, i: usize, at: &str, e: &Expectation, error: &ParseError) {
    let rule = match error {
        ParseError::NotHttp(_) if e.simple_request => Http09Answer,
        ParseError::TooManyFields | ParseError::TooManyInterim | ParseError::ChunkLineTooLong => {
            BeyondKitLimits
        }
        _ => MalformedResponse,
    };
    let why = match rule {
        Http09Answer => {
            " (the request line has no HTTP version: an HTTP/0.9 answer is what it asked for)"
        }
        BeyondKitLimits => " (beyond the kit's limits: not judged)",
        _ => "",
    };
    found.found(i, rule, format!("{at}{error}{why}"));
}

/// A body delimited by the close, ended by a reset: the client cannot tell it whole (RFC
/// 9112 section 8). For a page that is harm; for an error answer, whose status arrived, it
/// is only non-strict.
fn reset_until_close(found: &mut Findings, i: usize, at: &str, status: u16) {
    let text = format!(
        "{at}the body was to end with the close, but the connection was reset: a client cannot tell it from a truncated one"
    );
    if status >= 400 {
        found.found(i, ResetAfterResponse, text);
    } else {
        found.found(i, ResetBeforeResponse, text);
    }
}

/// Part of a response arrived. For an invalid request that only a SHOULD asks to answer,
/// a cut-off answer is no worse than none.
fn incomplete(
    found: &mut Findings,
    i: usize,
    at: &str,
    head_done: bool,
    ex: &Exchange,
    e: &Expectation,
) {
    let part = if head_done { "body" } else { "head" };
    let (rule, text) = match ex.ending {
        Ending::Reset => (
            ResetBeforeResponse,
            format!("{at}the connection was reset before the response {part} was complete"),
        ),
        Ending::Closed if head_done => (
            WrongContentLength,
            format!("{at}the connection closed before the body its framing announces was complete"),
        ),
        Ending::Closed => (
            MalformedResponse,
            format!("{at}the connection closed before the response head was complete"),
        ),
        Ending::TimedOut | Ending::KeptOpen => (
            NoResponseInTime,
            format!("{at}the response {part} was not complete before the timeout"),
        ),
    };
    match (e.invalid, ex.ending) {
        (Some(f), Ending::Reset | Ending::Closed) => found.found(
            i,
            NoAnswerToInvalidRequest,
            format!(
                "{text}, after an invalid request ({}: only a SHOULD asks for a 400)",
                f.name()
            ),
        ),
        _ => found.found(i, rule, text),
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
            let (rule, why) = silence_allowed_by(e);
            found.found(
                i,
                rule,
                format!("{at}the server closed without answering; expected {}{why}", e.describe()),
            );
        }
        (Ending::Reset, Some(_)) => found.found(
            i,
            ResetAfterResponse,
            format!("{at}the connection was reset instead of closed; expected {}", e.describe()),
        ),
        (Ending::Closed, None) => found.found(
            i,
            NoResponse,
            format!(
                "{at}the server closed the connection without answering; expected {}{}",
                e.describe(),
                owed_because(e)
            ),
        ),
        (Ending::KeptOpen, None) => found.found(
            i,
            NoResponse,
            format!(
                "{at}the server sent no response for this request and left the connection open; expected {}{}",
                e.describe(),
                owed_because(e)
            ),
        ),
        (Ending::Reset, None) => found.found(
            i,
            ResetBeforeResponse,
            format!(
                "{at}the connection was reset before any response; expected {}{}",
                e.describe(),
                owed_because(e)
            ),
        ),
        (Ending::TimedOut, Some(_)) if !e.complete && half_closed => found.found(
            i,
            IgnoresHalfClose,
            format!("{at}the client half-closed an incomplete request, and the server neither answered nor closed before the timeout"),
        ),
        // An incomplete request the client did not half-close: the server rightly waits.
        (Ending::TimedOut, _) if !e.complete && !half_closed => {}
        (Ending::TimedOut, _) if e.invalid.is_some() => found.found(
            i,
            NoAnswerToInvalidRequest,
            format!(
                "{at}the server neither answered nor closed before the timeout, after an invalid request ({}: only a SHOULD asks for a 400)",
                e.invalid.map_or("", |f| f.name())
            ),
        ),
        (Ending::TimedOut, _) => found.found(
            i,
            NoResponseInTime,
            format!("{at}no response before the timeout; expected {}", e.describe()),
        ),
        (Ending::KeptOpen, Some(_)) => {}
    }
}

/// The rule a silence falls under when it is allowed non-strictly, and why: the client's
/// half-close, another feature that allows a close (an incomplete request), or, failing
/// those, an invalid request that only a SHOULD asks to answer.
fn silence_allowed_by(e: &Expectation) -> (RuleId, String) {
    if e.features.contains(&FeatureId::HalfClosedAfter) {
        return (NoAnswerAfterHalfClose, String::new());
    }
    let only_invalid = e
        .entries(Outcome::SilentClose)
        .iter()
        .all(|a| matches!(a.because, Because::Feature(f) if Some(f) == e.invalid));
    match e.invalid.filter(|_| only_invalid) {
        Some(f) => (
            NoAnswerToInvalidRequest,
            format!(
                " (the request is invalid, {}: only a SHOULD asks for a 400, {})",
                f.name(),
                cite("9112-2.2-invalid")
            ),
        ),
        None => (StatusNonStrict, String::new()),
    }
}

/// ` (owed by RFC 9112 §3.2 MUST)`: what makes the answer owed, for a failure's detail.
fn owed_because(e: &Expectation) -> String {
    match e.owed_by {
        Some("contract-routes") | None => " (the contract answers every valid request)".into(),
        Some(id) => format!(" (an answer is owed: {})", cite(id)),
    }
}

/// Bytes after the last expected response.
fn surplus(case: &Case<'_>, found: &mut Findings) {
    let ex = case.ex;
    // A plan holds at least one request: an empty send is the `empty` request.
    let n = case.sent;
    let i = n - 1;
    let extra_responses = ex.responses.len() - n;
    if extra_responses > 0
        && case.plan.requests[i]
            .features
            .contains(&FeatureId::SpacedFramingField)
    {
        found.found(
            i,
            BodyAnsweredAsRequest,
            format!(
                "{extra_responses} response(s) more than the {n} request(s) sent: the body of a request whose framing field has whitespace before its colon was read as a request ({})",
                cite("9112-5.1-space")
            ),
        );
        return;
    }
    if extra_responses > 0 && !case.open_ended {
        found.found(
            i,
            UnrequestedResponse,
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
    if e.head_request && !next_response_may_follow(e, last, ex) {
        return found.found(
            i,
            BodyAfterHeadBeforeClose,
            format!(
                "{at}{after} bytes followed a response to HEAD where no further response could follow ({})",
                why_no_response_follows(last, ex)
            ),
        );
    }
    let (rule, what) = if e.head_request {
        (BodyAfterHead, "a response to HEAD")
    } else {
        (
            WrongContentLength,
            "a response framed by its Content-Length or chunked coding",
        )
    };
    found.found(i, rule, format!("{at}{after} bytes followed {what}"));
}

/// Whether a client could read bytes after this response as the next response: the request
/// was a well-formed HTTP/1.1 request that keeps the connection, the client had not
/// half-closed, and the response did not announce the close (RFC 9112 9.3 and 9.6).
fn next_response_may_follow(e: &Expectation, m: &Message, ex: &Exchange) -> bool {
    e.expects_persistence && !ex.delivery.half_close && m.head.persistent()
}

fn why_no_response_follows(m: &Message, ex: &Exchange) -> &'static str {
    if !m.head.persistent() {
        "the response announced the close"
    } else if ex.delivery.half_close {
        "the client had half-closed"
    } else {
        "the request ended the connection: HTTP/1.0, `Connection: close`, or refused"
    }
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
    let all_answered = ex.responses.len() >= case.sent;
    if ex.ending == Ending::Reset && all_answered {
        found.found(
            i,
            ResetAfterResponse,
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
        found.found(
            i,
            MissingConnectionClose,
            format!("{at}the server closed the connection after a response without Connection: close (RFC 9112 9.3)"),
        );
    }
}

#[cfg(test)]
mod tests;
