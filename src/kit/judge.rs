//! The shared verifier: one exchange, one expectation, one verdict. Fixtures and fuzzing
//! both judge through [`judge`], so a rule is written once.

use crate::kit::expect::{Expectation, Outcome};
use crate::kit::raw::{Ending, Exchange, Framing, Response, frame};
use crate::kit::report::Verdict;
use crate::pages::Pages;

/// The verdict on one exchange, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Stable rule id (see [`RULES`]); `None` for a plain pass.
    pub rule: Option<&'static str>,
    pub detail: String,
    /// What the server did, when it answered.
    pub outcome: Option<Outcome>,
}

/// Every rule a response can break, with what it means: printed in the README.
pub const RULES: &[(&str, Verdict, &str)] = &[
    (
        "no-response",
        Verdict::Fail,
        "the server closed without answering a request that is owed an answer",
    ),
    (
        "no-response-in-time",
        Verdict::Fail,
        "no complete response before the timeout",
    ),
    (
        "reset-before-response",
        Verdict::Fail,
        "the connection was reset before the response was complete",
    ),
    (
        "malformed-response",
        Verdict::Fail,
        "the response is not a valid HTTP/1.x response (status line, fields or Content-Length)",
    ),
    (
        "wrong-version",
        Verdict::Fail,
        "the status line does not start with HTTP/1.1",
    ),
    (
        "status-not-allowed",
        Verdict::Fail,
        "the status is not one the expectations table allows for this request",
    ),
    (
        "wrong-content-length",
        Verdict::Fail,
        "the body is shorter or longer than its Content-Length",
    ),
    (
        "body-after-head",
        Verdict::Fail,
        "a response to HEAD carried a body",
    ),
    (
        "wrong-page",
        Verdict::Fail,
        "a 200 that is not the hello page, or a 404 that is not the 404 page",
    ),
    (
        "unframed-response-never-ends",
        Verdict::Fail,
        "no Content-Length and the connection never closes, so the body never ends",
    ),
    (
        "status-non-strict",
        Verdict::NonStrict,
        "an allowed status, but not the reference server's",
    ),
    (
        "missing-content-length",
        Verdict::NonStrict,
        "the body is ended by closing the connection (legal, but a client cannot tell a truncated body)",
    ),
    (
        "reset-after-response",
        Verdict::NonStrict,
        "a complete response, then a reset instead of a clean close (some clients lose the response)",
    ),
    (
        "ignores-half-close",
        Verdict::NonStrict,
        "after the client half-closed an incomplete request, the server neither answered nor closed",
    ),
    ("server-died", Verdict::Fail, "the server process exited"),
];

struct Findings {
    verdict: Verdict,
    rule: Option<&'static str>,
    notes: Vec<String>,
}

impl Findings {
    fn add(&mut self, verdict: Verdict, rule: &'static str, note: String) {
        if verdict > self.verdict {
            self.verdict = verdict;
            self.rule = Some(rule);
        }
        self.notes.push(note);
    }
}

/// Judges `exchange` against `expectation`. With `pages`, bodies of 200 and 404 answers
/// must be those pages byte for byte.
pub fn judge(expectation: &Expectation, exchange: &Exchange, pages: Option<&Pages>) -> Judgement {
    let mut found = Findings {
        verdict: Verdict::Pass,
        rule: None,
        notes: Vec::new(),
    };
    let received = &exchange.received;
    if received.is_empty() {
        let outcome = Outcome::SilentClose;
        match exchange.ending {
            Ending::Closed | Ending::Reset if expectation.allows(outcome) => {
                let strict = expectation.strict.contains(&outcome) && exchange.ending == Ending::Closed;
                if !strict {
                    found.add(
                        Verdict::NonStrict,
                        if exchange.ending == Ending::Reset { "reset-after-response" } else { "status-non-strict" },
                        format!("the server {} without answering; expected {}", exchange.ending.describe(), expectation.describe()),
                    );
                }
                return finish(found, Some(outcome));
            }
            Ending::Closed | Ending::KeptOpen => found.add(
                Verdict::Fail,
                "no-response",
                format!("the server closed the connection without answering; expected {}", expectation.describe()),
            ),
            Ending::Reset => found.add(
                Verdict::Fail,
                "reset-before-response",
                format!("the connection was reset before any response; expected {}", expectation.describe()),
            ),
            Ending::TimedOut if exchange.delivery.half_close && expectation.allows(outcome) => found.add(
                Verdict::NonStrict,
                "ignores-half-close",
                "the client half-closed an incomplete request, and the server neither answered nor closed before the timeout".into(),
            ),
            Ending::TimedOut => found.add(
                Verdict::Fail,
                "no-response-in-time",
                format!("no response before the timeout; expected {}", expectation.describe()),
            ),
        }
        return finish(found, None);
    }

    let head = match Response::parse(received) {
        Ok(Some(head)) => head,
        Ok(None) => {
            let (rule, what) = match exchange.ending {
                Ending::Reset => ("reset-before-response", "the connection was reset"),
                Ending::TimedOut => ("no-response-in-time", "the timeout passed"),
                _ => ("malformed-response", "the connection closed"),
            };
            found.add(
                Verdict::Fail,
                rule,
                format!("{what} before the response head was complete"),
            );
            return finish(found, None);
        }
        Err(e) => {
            found.add(Verdict::Fail, "malformed-response", e);
            return finish(found, None);
        }
    };
    let outcome = Outcome::Status(head.status);
    if head.minor_version != 1 {
        found.add(
            Verdict::Fail,
            "wrong-version",
            format!(
                "the status line says HTTP/1.{}, not HTTP/1.1",
                head.minor_version
            ),
        );
    }
    if expectation.strict.contains(&outcome) {
    } else if expectation.non_strict.contains(&outcome) {
        found.add(
            Verdict::NonStrict,
            "status-non-strict",
            format!(
                "status {} is allowed, but the reference answers {}",
                head.status,
                expectation.describe()
            ),
        );
    } else {
        found.add(
            Verdict::Fail,
            "status-not-allowed",
            format!(
                "status {} is not allowed; expected {}",
                head.status,
                expectation.describe()
            ),
        );
    }

    // Framing and how the connection ended.
    let framing = frame(received, expectation.head_request);
    match (&framing, exchange.complete) {
        (Framing::Invalid(e), _) => found.add(Verdict::Fail, "malformed-response", e.clone()),
        (_, Some(complete)) => {
            let extra = received.len() - complete;
            // A server that rejects a defective request may not have read its method: an
            // error page after the head of an answer to a `HEAD` is fine when the
            // response's Content-Length frames it exactly.
            let rejected_head = expectation.error_body_allowed
                && head.status >= 400
                && frame(received, false) == Framing::Complete(received.len());
            if extra > 0 && !rejected_head {
                let (rule, what) = if expectation.head_request {
                    ("body-after-head", "a response to HEAD")
                } else {
                    ("wrong-content-length", "the response framed by its Content-Length")
                };
                found.add(Verdict::Fail, rule, format!("{extra} bytes followed {what}"));
            }
            if exchange.ending == Ending::Reset {
                found.add(
                    Verdict::NonStrict,
                    "reset-after-response",
                    "the connection was reset after a complete response instead of closed cleanly".into(),
                );
            }
            if head.content_length.is_none() && !head.chunked && !expectation.head_request {
                found.add(
                    Verdict::NonStrict,
                    "missing-content-length",
                    "no Content-Length: the body is ended by closing the connection".into(),
                );
            }
        }
        (_, None) => match exchange.ending {
            Ending::Reset => found.add(
                Verdict::Fail,
                "reset-before-response",
                format!("the connection was reset after {} bytes, before the response was complete", received.len()),
            ),
            Ending::TimedOut if framing == Framing::UntilClose => found.add(
                Verdict::Fail,
                "unframed-response-never-ends",
                "no Content-Length, and the connection was not closed before the timeout".into(),
            ),
            Ending::TimedOut => found.add(
                Verdict::Fail,
                "no-response-in-time",
                "the body declared by Content-Length did not all arrive before the timeout".into(),
            ),
            Ending::Closed | Ending::KeptOpen => found.add(
                Verdict::Fail,
                "wrong-content-length",
                format!(
                    "the connection closed after {} body bytes, fewer than the Content-Length of {}",
                    received.len() - head.head_len,
                    head.content_length.and_then(Result::ok).unwrap_or(0)
                ),
            ),
        },
    }

    // The pages.
    if let (Some(pages), Some(complete)) = (pages, exchange.complete)
        && !expectation.head_request
    {
        let body = head.body(received, complete);
        let page = match head.status {
            200 => Some(("hello", &pages.hello)),
            404 => Some(("404", &pages.not_found)),
            _ => None,
        };
        if let Some((name, page)) = page
            && body != page.as_ref()
        {
            found.add(
                Verdict::Fail,
                "wrong-page",
                format!(
                    "the {} body ({} bytes) is not the {name} page ({} bytes)",
                    head.status,
                    body.len(),
                    page.len()
                ),
            );
        }
    }
    finish(found, Some(outcome))
}

fn finish(found: Findings, outcome: Option<Outcome>) -> Judgement {
    Judgement {
        verdict: found.verdict,
        rule: found.rule,
        detail: found.notes.join("; "),
        outcome,
    }
}

/// The rules as Markdown, for the README (a test keeps the README in step with it).
pub fn markdown_rules() -> String {
    let mut text = String::from("| rule | verdict | meaning |\n| --- | --- | --- |\n");
    for (id, verdict, meaning) in RULES {
        text.push_str(&format!("| `{id}` | {} | {meaning} |\n", verdict.as_str()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::expect::{Expectation, Kind};
    use crate::kit::raw::Delivery;
    use std::time::Duration;

    fn exchange(received: &[u8], ending: Ending, head_request: bool) -> Exchange {
        let complete = match frame(received, head_request) {
            Framing::Complete(n) => Some(n),
            Framing::UntilClose if ending == Ending::Closed => Some(received.len()),
            _ => None,
        };
        Exchange {
            delivery: Delivery::whole(&b"x"[..]),
            written: 1,
            received: received.to_vec(),
            ending,
            complete,
            elapsed: Duration::ZERO,
            first_byte: None,
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

    fn verdict(kind: Kind, ex: &Exchange) -> (Verdict, Option<&'static str>) {
        let j = judge(&Expectation::of_kind(kind), ex, Some(&pages()));
        (j.verdict, j.rule)
    }

    #[test]
    fn the_reference_answer_passes() {
        let ok = exchange(
            &response("200 OK", &pages().hello, true),
            Ending::Closed,
            false,
        );
        assert_eq!(verdict(Kind::Hello, &ok), (Verdict::Pass, None));
        let kept_open = exchange(
            &response("200 OK", &pages().hello, true),
            Ending::KeptOpen,
            false,
        );
        assert_eq!(
            verdict(Kind::Hello, &kept_open).0,
            Verdict::Pass,
            "keep-alive is legal"
        );
    }

    #[test]
    fn each_rule_can_fire() {
        let hello = pages().hello;
        let cases: Vec<(Kind, Exchange, Verdict, &str)> = vec![
            (
                Kind::NotFound,
                exchange(&response("200 OK", &hello, true), Ending::Closed, false),
                Verdict::Fail,
                "status-not-allowed",
            ),
            (
                Kind::Hello,
                exchange(&response("200 OK", b"other", true), Ending::Closed, false),
                Verdict::Fail,
                "wrong-page",
            ),
            (
                Kind::Hello,
                exchange(b"", Ending::Closed, false),
                Verdict::Fail,
                "no-response",
            ),
            (
                Kind::Hello,
                exchange(b"", Ending::Reset, false),
                Verdict::Fail,
                "reset-before-response",
            ),
            (
                Kind::Hello,
                exchange(b"", Ending::TimedOut, false),
                Verdict::Fail,
                "no-response-in-time",
            ),
            (
                Kind::Hello,
                exchange(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc",
                    Ending::Closed,
                    false,
                ),
                Verdict::Fail,
                "wrong-content-length",
            ),
            (
                Kind::Hello,
                exchange(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc",
                    Ending::Reset,
                    false,
                ),
                Verdict::Fail,
                "reset-before-response",
            ),
            (
                Kind::Hello,
                exchange(
                    b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                    Ending::Closed,
                    false,
                ),
                Verdict::Fail,
                "wrong-version",
            ),
            (
                Kind::Hello,
                exchange(b"hello", Ending::Closed, false),
                Verdict::Fail,
                "malformed-response",
            ),
            (
                Kind::Hello,
                exchange(&response("200 OK", &hello, false), Ending::TimedOut, false),
                Verdict::Fail,
                "unframed-response-never-ends",
            ),
            (
                Kind::Hello,
                exchange(&response("200 OK", &hello, false), Ending::Closed, false),
                Verdict::NonStrict,
                "missing-content-length",
            ),
            (
                Kind::Hello,
                exchange(&response("200 OK", &hello, true), Ending::Reset, false),
                Verdict::NonStrict,
                "reset-after-response",
            ),
            (
                Kind::HeadHello,
                exchange(
                    &response("404 NOT FOUND", &pages().not_found, true),
                    Ending::Closed,
                    true,
                ),
                Verdict::Fail,
                "body-after-head",
            ),
            (
                Kind::HeadHello,
                exchange(
                    &response("405 Method Not Allowed", b"", true),
                    Ending::Closed,
                    true,
                ),
                Verdict::NonStrict,
                "status-non-strict",
            ),
            (
                Kind::Incomplete,
                exchange(b"", Ending::Closed, false),
                Verdict::Pass,
                "",
            ),
            (
                Kind::Empty,
                exchange(b"", Ending::Closed, false),
                Verdict::Pass,
                "",
            ),
        ];
        for (kind, ex, expected_verdict, expected_rule) in cases {
            let (v, rule) = verdict(kind, &ex);
            assert_eq!(
                v,
                expected_verdict,
                "{kind} {:?}",
                String::from_utf8_lossy(&ex.received)
            );
            assert_eq!(
                rule.unwrap_or(""),
                expected_rule,
                "{kind} {:?}",
                String::from_utf8_lossy(&ex.received)
            );
            if let Some(rule) = rule {
                assert!(
                    RULES.iter().any(|(id, _, _)| *id == rule),
                    "{rule} is documented"
                );
            }
        }
    }

    #[test]
    fn an_error_page_for_a_defective_head_request_may_carry_its_body() {
        let bytes = b"HEAD  / HTTP/1.1\r\n\r\n";
        let facts = crate::kit::expect::analyze(bytes);
        let expectation = Expectation::new(facts.kind, &facts);
        assert!(expectation.head_request);
        assert!(expectation.error_body_allowed);
        let with_body = exchange(
            &response("400 Bad Request", b"<p>bad</p>", true),
            Ending::Closed,
            true,
        );
        assert_eq!(judge(&expectation, &with_body, None).verdict, Verdict::Pass);
        let without = exchange(
            &response("400 Bad Request", b"", true),
            Ending::Closed,
            true,
        );
        assert_eq!(judge(&expectation, &without, None).verdict, Verdict::Pass);
        let longer = exchange(
            &[
                response("400 Bad Request", b"<p>bad</p>", true),
                b"x".to_vec(),
            ]
            .concat(),
            Ending::Closed,
            true,
        );
        assert_eq!(
            judge(&expectation, &longer, None).rule,
            Some("body-after-head")
        );
        // After empty lines, a server may have answered an empty request line.
        let after_empty_line = crate::kit::expect::analyze(b"\r\nHEAD / HTTP/1.1\r\n\r\n");
        assert!(Expectation::new(after_empty_line.kind, &after_empty_line).error_body_allowed);
        // A clean HEAD gets no body, error or not.
        let clean = crate::kit::expect::analyze(b"HEAD /nope HTTP/1.1\r\n\r\n");
        assert!(!Expectation::new(clean.kind, &clean).error_body_allowed);
    }

    #[test]
    fn a_half_closed_request_left_hanging_is_only_non_strict() {
        let mut ex = exchange(b"", Ending::TimedOut, false);
        ex.delivery.half_close = true;
        assert_eq!(
            verdict(Kind::Incomplete, &ex),
            (Verdict::NonStrict, Some("ignores-half-close"))
        );
        assert_eq!(verdict(Kind::Hello, &ex).0, Verdict::Fail);
    }
}
