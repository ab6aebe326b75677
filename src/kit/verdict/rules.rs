//! Every rule a check can report, keyed by [`RuleId`]: its stable name, the verdict it
//! gives, what it means, the requirements of the ledger it rests on
//! ([`super::requirements`]) and the harm an interoperating client suffers when it is
//! broken. A rule that fails a server rests on a MUST, a MUST NOT or the book's contract,
//! never on a SHOULD or a MAY (a unit test holds the table to it).
//!
//! The table is ordered by harm, the worst first: of several rules broken together, the
//! report names the first ([`RuleId::worse_than`]).

#[cfg(test)]
use super::requirements::requirement;
use super::requirements::{REQUIREMENTS, cite};
use crate::kit::report::Verdict;
use std::fmt;

/// The stable id of a rule; [`RuleId::name`] is what reports and baselines print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    ServerDied,
    StoppedAnswering,
    NoResponseInTime,
    NoResponse,
    ResetBeforeResponse,
    CapacityLost,
    FastRequestDelayed,
    FastRequestFailed,
    SlowRequestsSerialized,
    SlowRequestFailed,
    SleepNotSlow,
    WrongStatus,
    MalformedResponse,
    StatusLineUnaskedMinor,
    UnframedResponseNeverEnds,
    WrongContentLength,
    BodyAfterHead,
    BodyAnsweredAsRequest,
    UnrequestedResponse,
    StatusNotAllowed,
    WrongPage,
    RedirectElsewhere,
    BodyAfterHeadBeforeClose,
    RedirectWithoutLocation,
    NoAnswerToInvalidRequest,
    Http09Answer,
    BeyondKitLimits,
    StatusNonStrict,
    StatusLineHttp10,
    StatusLineLaterMinor,
    MissingContentLength,
    MissingConnectionClose,
    ResetAfterResponse,
    IgnoresHalfClose,
    NoAnswerAfterHalfClose,
    Regressed,
}

/// A rule: its id and name, its verdict, what it means, and why.
#[derive(Debug)]
pub struct Rule {
    pub id: RuleId,
    /// Stable kebab-case name, as reports and baselines print it.
    pub name: &'static str,
    pub verdict: Verdict,
    pub meaning: &'static str,
    /// Ids of the requirements it rests on ([`super::requirements::REQUIREMENTS`]).
    pub rests_on: &'static [&'static str],
    /// What an interoperating client suffers when the rule is broken.
    pub harm: &'static str,
}

impl RuleId {
    pub fn rule(self) -> &'static Rule {
        RULES
            .iter()
            .find(|r| r.id == self)
            .expect("every rule id has a row")
    }

    pub fn name(self) -> &'static str {
        self.rule().name
    }

    /// The verdict breaking this rule gives.
    pub fn verdict(self) -> Verdict {
        self.rule().verdict
    }

    /// The rule named `name`.
    pub fn parse(name: &str) -> Option<RuleId> {
        RULES.iter().find(|r| r.name == name).map(|r| r.id)
    }

    /// Whether this rule does more harm than `other`: a worse verdict, or the same verdict
    /// and earlier in the table.
    pub fn worse_than(self, other: RuleId) -> bool {
        (self.verdict(), std::cmp::Reverse(self)) > (other.verdict(), std::cmp::Reverse(other))
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule id equals its name, so tests and tools can compare it with one.
impl PartialEq<&str> for RuleId {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The meaning of a rule name, for reports.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

use RuleId::*;
use Verdict::{Fail, NonStrict};

/// Every rule, the worst first.
pub const RULES: &[Rule] = &[
    Rule {
        id: ServerDied,
        name: "server-died",
        verdict: Fail,
        meaning: "the server process exited",
        rests_on: &["contract-serves"],
        harm: "every later client gets nothing until someone restarts it",
    },
    Rule {
        id: StoppedAnswering,
        name: "stopped-answering",
        verdict: Fail,
        meaning: "the server process lives, but GET / no longer gets an answer",
        rests_on: &["contract-serves", "contract-routes"],
        harm: "every later client waits for nothing",
    },
    Rule {
        id: NoResponseInTime,
        name: "no-response-in-time",
        verdict: Fail,
        meaning: "no complete response before the timeout",
        rests_on: &["contract-routes", "contract-serves"],
        harm: "the client waits until its own timeout, holding its connection",
    },
    Rule {
        id: NoResponse,
        name: "no-response",
        verdict: Fail,
        meaning: "the server closed without answering a request that is owed an answer: a valid request (the contract routes it), or one a MUST says to answer (a missing or invalid Host, whitespace before a colon, an invalid Content-Length, a target or head too long)",
        rests_on: &[
            "contract-routes",
            "9112-3.2-host",
            "9112-5.1-space",
            "9112-5.2-obs-fold",
            "9112-6.3-invalid-length",
            "9112-3-414",
            "9110-5.4-too-large",
        ],
        harm: "the client gets nothing for its request, and can only retry or give up",
    },
    Rule {
        id: ResetBeforeResponse,
        name: "reset-before-response",
        verdict: Fail,
        meaning: "the connection was reset before the response to a request that is owed one was complete",
        rests_on: &["contract-routes", "contract-framing", "9112-9.6-reset"],
        harm: "the response is lost or cut short: the reset may erase what the client had not read yet",
    },
    Rule {
        id: CapacityLost,
        name: "capacity-lost",
        verdict: Fail,
        meaning: "after bad clients, a load the server carried before them delays fast requests: it lost capacity to them (workers that died with the jobs that panicked them)",
        rests_on: &["contract-concurrency", "contract-serves"],
        harm: "a few bad requests leave every later client waiting behind slow ones",
    },
    Rule {
        id: FastRequestDelayed,
        name: "fast-request-delayed",
        verdict: Fail,
        meaning: "a fast GET / missed its budget while slow requests (or idle clients) were in flight",
        rests_on: &["contract-concurrency"],
        harm: "a client waits for other clients' slow requests: the defect the book teaches to avoid",
    },
    Rule {
        id: FastRequestFailed,
        name: "fast-request-failed",
        verdict: Fail,
        meaning: "a fast GET / got an error, a wrong status or no connection while slow requests were in flight",
        rests_on: &["contract-concurrency", "contract-routes"],
        harm: "a client is refused because other clients' requests are slow",
    },
    Rule {
        id: SlowRequestsSerialized,
        name: "slow-requests-serialized",
        verdict: Fail,
        meaning: "concurrent GET /sleep requests were answered one after another or a few at a time",
        rests_on: &["contract-concurrency"],
        harm: "the last of K slow clients waits K times the sleep",
    },
    Rule {
        id: SlowRequestFailed,
        name: "slow-request-failed",
        verdict: Fail,
        meaning: "after clients left in the middle of GET /sleep, a new GET /sleep was not answered in time",
        rests_on: &["contract-routes", "contract-serves"],
        harm: "clients that hang up (every browser does) leave the server unable to serve others",
    },
    Rule {
        id: SleepNotSlow,
        name: "sleep-not-slow",
        verdict: Fail,
        meaning: "a lone GET /sleep answered in under 200 ms: the route does not sleep",
        rests_on: &["contract-routes"],
        harm: "the slow route is missing, so nothing about concurrency can be judged",
    },
    Rule {
        id: WrongStatus,
        name: "wrong-status",
        verdict: Fail,
        meaning: "a lone GET /sleep did not answer 200",
        rests_on: &["contract-routes"],
        harm: "the slow route answers something else than the hello page",
    },
    Rule {
        id: MalformedResponse,
        name: "malformed-response",
        verdict: Fail,
        meaning: "the response is not a valid HTTP/1.x response (status line, fields, Content-Length or chunked coding)",
        rests_on: &["9110-2.2-grammar", "9110-6.2-conformant"],
        harm: "no HTTP client can read it",
    },
    Rule {
        id: StatusLineUnaskedMinor,
        name: "status-line-later-minor-unasked",
        verdict: Fail,
        meaning: "the status line says HTTP/1.2 or later to a request that did not name that version: a version no RFC defines, so none the server conforms to",
        rests_on: &["9110-6.2-conformant"],
        harm: "curl (\"Unsupported HTTP version\") and Node's llhttp (HPE_INVALID_VERSION) refuse the response",
    },
    Rule {
        id: UnframedResponseNeverEnds,
        name: "unframed-response-never-ends",
        verdict: Fail,
        meaning: "no Content-Length or chunked coding, and the connection never closes, so the body never ends",
        rests_on: &["contract-framing", "contract-serves"],
        harm: "the client waits for the end of a body that never comes",
    },
    Rule {
        id: WrongContentLength,
        name: "wrong-content-length",
        verdict: Fail,
        meaning: "the body is shorter or longer than its framing says",
        rests_on: &["contract-framing", "9112-6.3-length", "9110-8.6-length"],
        harm: "a short body is a truncated page; a long one is read as the start of the next response",
    },
    Rule {
        id: BodyAfterHead,
        name: "body-after-head",
        verdict: Fail,
        meaning: "a response to a well-formed HTTP/1.1 HEAD that keeps the connection open carried a body",
        rests_on: &["9110-9.3.2-head"],
        harm: "on a connection that stays open, the client reads the body as the next response",
    },
    Rule {
        id: BodyAnsweredAsRequest,
        name: "body-answered-as-request",
        verdict: Fail,
        meaning: "the body announced by a framing field with whitespace before its colon was answered as a request of its own",
        rests_on: &["9112-5.1-space"],
        harm: "request smuggling: a front end that honours the field forwards the body as data, and this server runs it as a second request",
    },
    Rule {
        id: UnrequestedResponse,
        name: "unrequested-response",
        verdict: Fail,
        meaning: "more responses than requests sent",
        rests_on: &["contract-framing", "9110-15-one-final", "9112-9.3.2-order"],
        harm: "later responses are paired with the wrong requests (response splitting)",
    },
    Rule {
        id: StatusNotAllowed,
        name: "status-not-allowed",
        verdict: Fail,
        meaning: "the status is not one the request's features allow: a wrong status for a valid request, a success for one the contract does not serve, or not the status a MUST names",
        rests_on: &[
            "contract-routes",
            "9112-3.2-host",
            "9112-5.1-space",
            "9112-6.3-invalid-length",
        ],
        harm: "the client is told something else happened than what did",
    },
    Rule {
        id: WrongPage,
        name: "wrong-page",
        verdict: Fail,
        meaning: "a 200 that is not the hello page, a 404 that is not the 404 page, or the hello page where it is not allowed",
        rests_on: &["contract-routes"],
        harm: "the client gets another page than the one the contract promises",
    },
    Rule {
        id: RedirectElsewhere,
        name: "redirect-elsewhere",
        verdict: Fail,
        meaning: "a redirect whose Location names another path than the normalised one",
        rests_on: &["contract-routes", "3986-6.2.2-normal"],
        harm: "a client that follows it is served another resource (the hello page for an unknown path)",
    },
    Rule {
        id: BodyAfterHeadBeforeClose,
        name: "body-after-head-before-close",
        verdict: NonStrict,
        meaning: "a response to HEAD carried a body where no further response could follow: the request or the response ended the connection, or the client had half-closed, and the server closed",
        rests_on: &["9110-9.3.2-head", "9112-9.6-client-close"],
        harm: "none: no client reads a next response on a connection that ends",
    },
    Rule {
        id: RedirectWithoutLocation,
        name: "redirect-without-location",
        verdict: NonStrict,
        meaning: "an allowed redirect without a Location field",
        rests_on: &["9110-15.4-location"],
        harm: "the client cannot follow the redirect, and shows it as an error",
    },
    Rule {
        id: NoAnswerToInvalidRequest,
        name: "no-answer-to-invalid-request",
        verdict: NonStrict,
        meaning: "a request that breaks the grammar (the request line, a field line) got no answer: a close, a reset, or a wait",
        rests_on: &["9112-2.2-invalid", "9112-3.2-invalid"],
        harm: "the client of an invalid request gets no 400 telling it why",
    },
    Rule {
        id: Http09Answer,
        name: "http-0.9-answer",
        verdict: NonStrict,
        meaning: "a request line without an HTTP version was answered in the HTTP/0.9 form, a body without a status line",
        rests_on: &["9112-C.1-http09", "9112-2.2-invalid"],
        harm: "none for an HTTP/0.9 client; an HTTP/1.x client that sent a badly encoded target gets no status",
    },
    Rule {
        id: BeyondKitLimits,
        name: "beyond-kit-limits",
        verdict: NonStrict,
        meaning: "the response is larger than the kit reads (4 MiB, 128 fields, 16 interim responses, chunk-size lines of 4 KiB), so the rest of it is not judged",
        rests_on: &["kit-limits"],
        harm: "none known: a large page is not a defect of the contract",
    },
    Rule {
        id: StatusNonStrict,
        name: "status-non-strict",
        verdict: NonStrict,
        meaning: "an allowed status, but not the reference server's",
        rests_on: &["9112-2.2-invalid", "9110-9.1-501", "9110-6.2-505"],
        harm: "none: the feature that allows it is named in the detail",
    },
    Rule {
        id: StatusLineHttp10,
        name: "status-line-http-1.0",
        verdict: NonStrict,
        meaning: "the status line says HTTP/1.0",
        rests_on: &["9110-6.2-highest"],
        harm: "a client may not use HTTP/1.1 features (persistence, chunked) with the server",
    },
    Rule {
        id: StatusLineLaterMinor,
        name: "status-line-later-minor-version",
        verdict: NonStrict,
        meaning: "the status line echoes the HTTP/1.2 or later version the request named, a version no RFC defines",
        rests_on: &["9110-6.2-highest", "9110-6.2-conformant"],
        harm: "only a client that itself sent that version gets it, and curl and llhttp refuse such a response",
    },
    Rule {
        id: MissingContentLength,
        name: "missing-content-length",
        verdict: NonStrict,
        meaning: "the body is ended by closing the connection (legal, but a client cannot tell a truncated body)",
        rests_on: &["9112-6.3-until-close"],
        harm: "a truncated body cannot be told from a whole one",
    },
    Rule {
        id: MissingConnectionClose,
        name: "missing-connection-close",
        verdict: NonStrict,
        meaning: "the server closed after a response to a well-formed HTTP/1.1 request that did not say Connection: close",
        rests_on: &["9112-9.3-close"],
        harm: "slight: a MUST for a server that never keeps connections, but clients retry a request they could not send, and the book's listings omit it",
    },
    Rule {
        id: ResetAfterResponse,
        name: "reset-after-response",
        verdict: NonStrict,
        meaning: "complete responses (or an allowed silence), then a reset instead of a clean close",
        rests_on: &["9112-9.6-reset"],
        harm: "some clients lose the last response to the reset; this run received it whole",
    },
    Rule {
        id: IgnoresHalfClose,
        name: "ignores-half-close",
        verdict: NonStrict,
        meaning: "after the client half-closed an incomplete request, the server neither answered nor closed",
        rests_on: &["9112-9.6-half-close", "9112-8-incomplete"],
        harm: "none: a half-close does not end a request, so waiting on is allowed",
    },
    Rule {
        id: NoAnswerAfterHalfClose,
        name: "no-answer-after-half-close",
        verdict: NonStrict,
        meaning: "a complete request followed by the client's half-close was closed without an answer",
        rests_on: &["9112-9.5-any-time", "9112-9.6-half-close"],
        harm: "the client loses the answer it still waited for; widely used stacks close so",
    },
    Rule {
        id: Regressed,
        name: "regressed",
        verdict: Verdict::Regressed,
        meaning: "a measured figure is worse than the baseline's, beyond its noise margin",
        rests_on: &[],
        harm: "the server got slower or smaller than it was when the baseline was written",
    },
];

/// The rules as Markdown, for docs/policy.md (a test keeps it in step with this).
pub fn markdown_rules() -> String {
    let mut text = String::from(
        "| rule | verdict | meaning | rests on | harm |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in RULES {
        let cited: Vec<String> = r
            .rests_on
            .iter()
            .map(|id| format!("`{id}` ({})", cite(id)))
            .collect();
        text.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.name,
            r.verdict.as_str(),
            r.meaning,
            if cited.is_empty() {
                "the baseline".to_string()
            } else {
                cited.join(", ")
            },
            r.harm
        ));
    }
    text
}

/// The requirement ledger as Markdown, for docs/policy.md.
pub fn markdown_ledger() -> String {
    let mut text =
        String::from("| id | where | level | the sentence |\n| --- | --- | --- | --- |\n");
    for r in REQUIREMENTS {
        text.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.id,
            r.source,
            r.level.as_str(),
            r.text.replace('|', "\\|")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::verdict::requirements::Level;

    #[test]
    fn no_fail_rests_on_a_should_or_a_may() {
        for r in RULES.iter().filter(|r| r.verdict == Fail) {
            let levels: Vec<Level> = r.rests_on.iter().map(|id| requirement(id).level).collect();
            assert!(
                levels.iter().any(|l| l.can_fail()),
                "{} fails but rests on no MUST, MUST NOT or contract clause",
                r.name
            );
            assert!(
                levels.iter().all(|l| l.can_fail() || *l == Level::Defines),
                "{} fails but rests on a SHOULD or a MAY: {:?}",
                r.name,
                r.rests_on
            );
        }
    }

    #[test]
    fn every_id_has_one_row_and_names_parse_back() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(RULES[..i].iter().all(|o| o.id != r.id && o.name != r.name));
            assert_eq!(RuleId::parse(r.name), Some(r.id));
            assert_eq!(r.id.rule().name, r.name);
            for id in r.rests_on {
                requirement(id); // panics for an id not in the ledger
            }
        }
        assert_eq!(RuleId::parse("no-such-rule"), None);
    }

    #[test]
    fn the_worst_rule_is_the_worst_verdict_then_the_first_in_the_table() {
        assert!(ServerDied.worse_than(BodyAfterHead));
        assert!(BodyAfterHead.worse_than(BodyAfterHeadBeforeClose));
        assert!(!BodyAfterHead.worse_than(ServerDied));
        assert!(!NoResponse.worse_than(NoResponse));
        assert!(
            Regressed.worse_than(ServerDied),
            "a regression outranks everything"
        );
    }
}
