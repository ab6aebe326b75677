//! What a request may get: for every request, what the reference server answers (strict)
//! and what else a correct server may answer (non-strict), derived from *every* feature
//! the analyzer finds in it, so that tolerances compose.
//!
//! # Verdict policy
//!
//! A verdict is a claim about someone else's server. Every rule of the kit follows this
//! policy, and cites the RFC section or the book that applies it:
//!
//! - **fail**: (a) a breach of the book's contract that changes what a client gets: the
//!   hello page for a request that is not `GET`/`HEAD` of `/` or `/sleep` (up to the
//!   equivalences below), a wrong page, a wrong status for a valid request to a known
//!   route, a slow request delaying a fast one; (b) a breach of an RFC MUST or MUST NOT
//!   that harms an interoperating client: misframed bodies, a body after `HEAD`, a status
//!   line that is not `HTTP/1.x`, no response to a complete request that is owed one, a
//!   reset that destroys a response; (c) a crash or a hang.
//! - **non-strict**: any other departure from what the reference server does that an RFC
//!   SHOULD or MAY permits, that the book's own listings do harmlessly, or that a widely
//!   used stack deliberately ships.
//! - **pass**: what the reference server does.
//!
//! Serving the hello page is allowed (non-strict) under these equivalences only: the
//! absolute form; another HTTP/1.x minor version; a query the server ignores; a whitespace
//! split of the request line (RFC 9112 section 3, MAY); bare LF line ends; a request line
//! ended by the client's half-close; path normalisation that widely used servers apply
//! (merged slashes, dot segments, percent-decoded unreserved characters). Anything else
//! that gets 200 and the hello page fails: `get /`, `GET /nope`, `GET / HTTP/1.10`,
//! `G@T /`.
//!
//! # Derivation
//!
//! [`analyze`] finds the requests in the bytes and, for each, its features (the rows of
//! [`features::FEATURES`]) and its route (what a server that tolerates every tolerable
//! feature serves). [`Expectation::derive`] then composes, by one rule for all:
//! - **strict** is the reference's answer: the refusals of every feature the reference
//!   refuses (a server may check them in any order), else the book's 404 when a feature
//!   makes the exact request line differ, else the route's answer;
//! - **non-strict** is the union, over the features, of each one's refusals (and any 4xx
//!   where a stack's own error page is fine), the book's 404 page where the exact line
//!   differs, and the route's answer when *every* feature is one a server may tolerate.
//!
//! So two tolerated features allow what each allows alone, and a 200 is only ever allowed
//! through a route of `GET`/`HEAD` of `/` or `/sleep`.

mod analyze;
pub mod features;
pub mod grammar;

pub use analyze::{Analysis, RequestFacts, Route, analyze};
pub use features::{Duty, FEATURES, Feature, FeatureId, Reference, feature};

use crate::kit::http::raw::{Delivery, Owed};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The reference refuses a request line longer than this (without its line end) with 414:
/// 8 KiB, above the 8,000 octets RFC 9112 section 3 recommends supporting.
pub const LONG_REQUEST_LINE: usize = 8 * 1024;
/// RFC 9112 section 3 RECOMMENDS supporting request lines of at least this many octets;
/// the reference does.
pub const RECOMMENDED_LINE: usize = 8000;
/// A request line (with its line end) longer than this may be refused by any server, with
/// 414, 400 or 431, as its own limit: RFC 9112 section 3 only recommends supporting 8,000
/// octets, and widely used servers stop at about 2 KiB (WEBrick at 2,083 octets, Thin's
/// parser near 2 KiB). Shorter lines are not refused for their length (414 excepted, which
/// the RFC allows at any length).
pub const MIN_LINE_LIMIT: usize = 1024;
/// The reference refuses a head longer than this with 431.
pub const LARGE_HEAD: usize = 16 * 1024;
/// A head longer than this may get 431 from any server: widely used servers limit heads to
/// 8 KiB (nginx's `large_client_header_buffers`, Apache's `LimitRequestFieldSize`).
pub const SMALL_HEAD: usize = 8 * 1024;
/// The reference refuses more header fields than this with 431.
pub const MANY_FIELDS: usize = 100;
/// The reference refuses a body longer than this with 413.
pub const LARGE_BODY: u64 = 1024 * 1024;

/// A row: what kind of request it is, for fixtures, fuzz classes and reports. Rows name
/// requests; what they may get comes from their features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Hello,
    Slow,
    HeadHello,
    HeadSlow,
    AbsoluteHello,
    NotFound,
    WithQuery,
    NormalizedPath,
    OtherMethod,
    OtherMinorVersion,
    UnsupportedVersion,
    BareLf,
    LongTarget,
    HugeHead,
    Malformed,
    MalformedHeader,
    LooseWhitespace,
    BadTarget,
    Incomplete,
    Empty,
}

/// One row: its name and what requests it holds.
#[derive(Debug)]
pub struct Row {
    pub kind: Kind,
    pub name: &'static str,
    pub input: &'static str,
}

/// The rows, in the order docs/policy.md prints them.
pub const ROWS: &[Row] = &[
    Row {
        kind: Kind::Hello,
        name: "hello",
        input: "`GET / HTTP/1.1`, with or without fields or a body",
    },
    Row {
        kind: Kind::Slow,
        name: "slow",
        input: "`GET /sleep HTTP/1.1`",
    },
    Row {
        kind: Kind::HeadHello,
        name: "head-hello",
        input: "`HEAD / HTTP/1.1`",
    },
    Row {
        kind: Kind::HeadSlow,
        name: "head-slow",
        input: "`HEAD /sleep HTTP/1.1`",
    },
    Row {
        kind: Kind::AbsoluteHello,
        name: "absolute-hello",
        input: "`GET http://HOST/ HTTP/1.1`",
    },
    Row {
        kind: Kind::NotFound,
        name: "not-found",
        input: "a well-formed request for another path (`/index.html`, `/sleep/`)",
    },
    Row {
        kind: Kind::WithQuery,
        name: "with-query",
        input: "`GET /?x=1 HTTP/1.1`",
    },
    Row {
        kind: Kind::NormalizedPath,
        name: "normalized-path",
        input: "a path that normalises to another (`//`, `/./`, `/%2e%2e/`)",
    },
    Row {
        kind: Kind::OtherMethod,
        name: "other-method",
        input: "a method other than GET and HEAD (`POST`, `OPTIONS *`, lowercase `get`)",
    },
    Row {
        kind: Kind::OtherMinorVersion,
        name: "other-minor-version",
        input: "`HTTP/1.0`, `HTTP/1.2`",
    },
    Row {
        kind: Kind::UnsupportedVersion,
        name: "unsupported-version",
        input: "`HTTP/2.0`, `HTTP/3.0`",
    },
    Row {
        kind: Kind::BareLf,
        name: "bare-lf",
        input: "`GET / HTTP/1.1` with lines ended by a bare LF",
    },
    Row {
        kind: Kind::LongTarget,
        name: "long-target",
        input: "a request line over 8 KiB",
    },
    Row {
        kind: Kind::HugeHead,
        name: "huge-head",
        input: "a head over 16 KiB or over 100 fields",
    },
    Row {
        kind: Kind::Malformed,
        name: "malformed",
        input: "a request line that breaks the grammar (bad bytes, bad version, a word missing)",
    },
    Row {
        kind: Kind::MalformedHeader,
        name: "malformed-header",
        input: "a field line or Content-Length that breaks the grammar",
    },
    Row {
        kind: Kind::LooseWhitespace,
        name: "loose-whitespace",
        input: "a request line with extra, leading, trailing or non-SP whitespace",
    },
    Row {
        kind: Kind::BadTarget,
        name: "bad-target",
        input: "a target in no form valid for its method",
    },
    Row {
        kind: Kind::Incomplete,
        name: "incomplete",
        input: "part of a request, then the client half-closes",
    },
    Row {
        kind: Kind::Empty,
        name: "empty",
        input: "a connection that sends nothing and half-closes",
    },
];

impl Kind {
    pub fn name(self) -> &'static str {
        ROWS.iter()
            .find(|r| r.kind == self)
            .expect("every kind has a row")
            .name
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a server does with a request, as far as the expectations care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Status(u16),
    /// The server closed the connection without answering.
    SilentClose,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(code) => write!(f, "{code}"),
            Outcome::SilentClose => f.write_str("close"),
        }
    }
}

use Outcome::{SilentClose as CLOSE, Status as S};

/// What the body of an allowed answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    /// The hello page (a 200 of the book's routes).
    Hello,
    /// The 404 page (the book's fallback).
    NotFound,
    /// Anything but the hello page (a 200 or 204 to `OPTIONS`).
    NotHello,
    /// A redirect whose `Location` names the normalised path.
    RedirectToNormal,
    /// Anything (an error page of the server's own).
    Any,
}

/// How an allowed outcome is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grade {
    Strict,
    NonStrict,
}

/// Why an outcome is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Because {
    /// The route a tolerant server serves.
    Route,
    /// A feature of the request.
    Feature(FeatureId),
    /// A fixture's explicit expectation.
    Fixture,
    /// A limit the server chose: a target, a head or a body larger than it wishes to
    /// process may be refused at any size (RFC 9112 3, RFC 9110 5.4 and 15.5.14).
    Limit,
}

/// One allowed outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub outcome: Outcome,
    pub grade: Grade,
    pub page: Page,
    pub because: Because,
}

/// What one request may get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub kind: Kind,
    pub features: Vec<FeatureId>,
    /// Every allowed outcome; an outcome may appear more than once, with other pages.
    pub allowed: Vec<Allowed>,
    /// Any 4xx is also allowed (non-strict, any page), because of this feature.
    pub any_client_error: Option<FeatureId>,
    /// The request is invalid, and only a SHOULD asks for an answer, because of this
    /// feature: any error status (4xx, 5xx) and a silent close are allowed non-strictly.
    pub invalid: Option<FeatureId>,
    /// The requirement that owes this request an answer (`contract-routes`, or the MUST of
    /// a feature); `None` when only a SHOULD asks for one.
    pub owed_by: Option<&'static str>,
    /// The request line has no HTTP version: an HTTP/0.9-shaped request.
    pub simple_request: bool,
    /// The version the request line names, when valid: a status line may echo it.
    pub named_version: Option<(u8, u8)>,
    pub head_request: bool,
    /// A `HEAD` request the server may refuse before reading its method (the request line
    /// itself is malformed): the error page may follow the head.
    pub error_body_allowed: bool,
    pub slow: bool,
    /// A complete request: a response (or, where allowed, a close) is owed.
    pub complete: bool,
    /// For a redirect: the path its `Location` must name.
    pub normal_path: Option<Vec<u8>>,
    /// A well-formed HTTP/1.1 request that did not ask to close, with the client still
    /// sending: a server that closes after answering it should say `Connection: close`.
    pub expects_persistence: bool,
    /// Where the request ends is certain; otherwise what follows cannot be counted.
    pub framing_known: bool,
}

impl Expectation {
    /// Composes the expectation of one request from its features and route.
    /// `half_closed_after`: the client half-closes right after this request.
    pub fn derive(facts: &RequestFacts, half_closed_after: bool) -> Self {
        let mut features = facts.features.clone();
        if half_closed_after && facts.complete {
            features.push(FeatureId::HalfClosedAfter);
            features.sort();
        }
        let rows: Vec<&Feature> = features.iter().map(|&f| feature(f)).collect();
        let mut allowed = Vec::new();
        let mut add = |outcome, grade, page, because| {
            allowed.push(Allowed {
                outcome,
                grade,
                page,
                because,
            })
        };
        let route = route_outcome(facts);
        // Strict: the reference's answer.
        let refused: Vec<&&Feature> = rows
            .iter()
            .filter(|f| matches!(f.reference, Reference::Refuses(_)))
            .collect();
        if !refused.is_empty() {
            for f in &refused {
                if let Reference::Refuses(list) = f.reference {
                    for &o in list {
                        add(o, Grade::Strict, page_of(o, f.id), Because::Feature(f.id));
                    }
                }
            }
        } else if let Some(f) = rows.iter().find(|f| f.reference == Reference::NotFound) {
            add(
                S(404),
                Grade::Strict,
                Page::NotFound,
                Because::Feature(f.id),
            );
        } else if let Some((outcome, page)) = route {
            add(outcome, Grade::Strict, page, Because::Route);
        }
        for f in &rows {
            if let Reference::ServesOrRefuses(list) = f.reference {
                for &o in list {
                    add(o, Grade::Strict, page_of(o, f.id), Because::Feature(f.id));
                }
            }
        }
        // Non-strict: what any feature allows, and the route when all are tolerated.
        let mut any_client_error = None;
        for f in &rows {
            for &o in f.refusals {
                add(
                    o,
                    Grade::NonStrict,
                    page_of(o, f.id),
                    Because::Feature(f.id),
                );
            }
            if f.misroute {
                add(
                    S(404),
                    Grade::NonStrict,
                    Page::NotFound,
                    Because::Feature(f.id),
                );
            }
            if f.any_client_error && any_client_error.is_none() {
                any_client_error = Some(f.id);
            }
        }
        if let Some((outcome, page)) = route
            && rows.iter().all(|f| f.served)
        {
            add(outcome, Grade::NonStrict, page, Because::Route);
        }
        if facts.features.contains(&FeatureId::FollowsARequest) {
            // The reference closes after its first answer: a close is its answer here.
            add(
                CLOSE,
                Grade::Strict,
                Page::Any,
                Because::Feature(FeatureId::FollowsARequest),
            );
        }
        let invalid = rows
            .iter()
            .find(|f| matches!(f.owed, Duty::Should(_)))
            .map(|f| f.id);
        if let Some(f) = invalid {
            add(CLOSE, Grade::NonStrict, Page::Any, Because::Feature(f));
        }
        if !facts.features.contains(&FeatureId::Empty) {
            // RFC 9112 3 and RFC 9110 5.4 set no size below which these are wrong.
            let mut limits = vec![S(414), S(431)];
            if facts.body_declared {
                limits.push(S(413));
            }
            for o in limits {
                add(o, Grade::NonStrict, Page::Any, Because::Limit);
            }
        }
        let owed_by = match invalid {
            Some(_) => None,
            None => Some(
                rows.iter()
                    .find_map(|f| match f.owed {
                        Duty::Must(id) => Some(id),
                        _ => None,
                    })
                    .unwrap_or("contract-routes"),
            ),
        };
        // RFC 9112 3: these make the request line invalid as a whole.
        let malformed_line = features.iter().any(|f| {
            matches!(
                f,
                FeatureId::MalformedMethod
                    | FeatureId::MalformedTarget
                    | FeatureId::MalformedVersion
                    | FeatureId::WrongWordCount
                    | FeatureId::SimpleRequest
                    | FeatureId::ZeroMajorVersion
                    | FeatureId::LooseWhitespace
                    | FeatureId::LeadingEmptyLines
                    | FeatureId::LineEndedByClose
                    | FeatureId::BadTarget
                    | FeatureId::AuthorityForm
            )
        });
        let mut expectation = Expectation {
            kind: facts.kind,
            allowed: Vec::new(),
            any_client_error,
            invalid,
            owed_by,
            simple_request: facts.simple_request,
            named_version: facts.named_version,
            head_request: facts.head_request,
            error_body_allowed: facts.head_request && malformed_line,
            slow: facts.may_be_slow,
            complete: facts.complete,
            normal_path: facts.normal_path.clone(),
            expects_persistence: facts.http11
                && !facts.asks_close
                && refused.is_empty()
                && !features.contains(&FeatureId::HalfClosedAfter),
            framing_known: facts.framing_known,
            features,
        };
        expectation.set_allowed(allowed);
        expectation
    }

    /// Replaces the allowed outcomes, sorted, without exact duplicates.
    fn set_allowed(&mut self, mut allowed: Vec<Allowed>) {
        allowed.sort_by_key(|a| (a.outcome, a.grade));
        allowed.dedup_by(|a, b| a.outcome == b.outcome && a.grade == b.grade && a.page == b.page);
        self.allowed = allowed;
    }

    /// An expectation given outright (a fixture's `expect`), for a request of `kind`.
    pub fn explicit(base: &Expectation, strict: &[Outcome], non_strict: &[Outcome]) -> Self {
        let page = |o: Outcome| match o {
            S(200) if !base.head_request => Page::Hello,
            S(404) if !base.head_request => Page::NotFound,
            _ => Page::Any,
        };
        let mut explicit = Expectation {
            any_client_error: None,
            invalid: None,
            ..base.clone()
        };
        let allowed = strict
            .iter()
            .map(|&o| (o, Grade::Strict))
            .chain(non_strict.iter().map(|&o| (o, Grade::NonStrict)))
            .map(|(outcome, grade)| Allowed {
                outcome,
                grade,
                page: page(outcome),
                because: Because::Fixture,
            })
            .collect();
        explicit.set_allowed(allowed);
        explicit
    }

    /// The entries allowing `outcome` (a 4xx allowed as any client error included).
    pub fn entries(&self, outcome: Outcome) -> Vec<Allowed> {
        let mut entries: Vec<Allowed> = self
            .allowed
            .iter()
            .filter(|a| a.outcome == outcome)
            .copied()
            .collect();
        let error = match (self.invalid, self.any_client_error, outcome) {
            (Some(f), _, S(400..=599)) | (None, Some(f), S(400..=499)) => Some(f),
            _ => None,
        };
        if let Some(f) = error {
            entries.push(Allowed {
                outcome,
                grade: Grade::NonStrict,
                page: Page::Any,
                because: Because::Feature(f),
            });
        }
        entries
    }

    pub fn allows(&self, outcome: Outcome) -> bool {
        !self.entries(outcome).is_empty()
    }

    /// The best grade `outcome` gets, whatever the body.
    pub fn grade(&self, outcome: Outcome) -> Option<Grade> {
        self.entries(outcome).iter().map(|a| a.grade).min()
    }

    /// The strict outcomes, each once.
    pub fn strict(&self) -> Vec<Outcome> {
        self.outcomes(Grade::Strict)
    }

    /// The outcomes allowed only non-strictly, each once.
    pub fn non_strict(&self) -> Vec<Outcome> {
        let strict = self.strict();
        let mut list = self.outcomes(Grade::NonStrict);
        list.retain(|o| !strict.contains(o));
        list
    }

    /// The outcomes of `grade`, each once; a refusal any server may make for a limit of its
    /// own (414, 431, 413) only where a feature or the route allows it too.
    fn outcomes(&self, grade: Grade) -> Vec<Outcome> {
        let mut list: Vec<Outcome> = self
            .allowed
            .iter()
            .filter(|a| a.grade == grade && a.because != Because::Limit)
            .map(|a| a.outcome)
            .collect();
        list.dedup();
        list
    }

    /// `404 (other-method); non-strict: 400, 405, 501, any 4xx`.
    pub fn describe(&self) -> String {
        let list = |v: &[Outcome]| {
            v.iter()
                .map(Outcome::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = format!("{} ({})", list(&self.strict()), self.kind);
        let mut non_strict = list(&self.non_strict());
        let any = if self.invalid.is_some() {
            Some("any 4xx or 5xx")
        } else {
            self.any_client_error.map(|_| "any 4xx")
        };
        if let Some(any) = any {
            if !non_strict.is_empty() {
                non_strict.push_str(", ");
            }
            non_strict.push_str(any);
        }
        if !non_strict.is_empty() {
            text.push_str(&format!("; non-strict: {non_strict}"));
        }
        text
    }

    /// The feature names, for reports: `head-method, http-1.0`.
    pub fn feature_names(&self) -> String {
        self.features
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The route's answer: the hello page for `GET` of `/` or `/sleep` (its head for `HEAD`),
/// the 404 page for another path. `None` when nothing can be served (an empty request).
fn route_outcome(facts: &RequestFacts) -> Option<(Outcome, Page)> {
    if facts.features.contains(&FeatureId::Empty) {
        return None;
    }
    Some(match facts.route {
        Route::Hello | Route::Slow => (S(200), Page::Hello),
        Route::NotFound => (S(404), Page::NotFound),
    })
}

/// The body rule of a refusal: a 2xx (an `OPTIONS` answer) must not be the hello page; a
/// redirect must name the normalised path (the path without its trailing slash), except
/// the 301 RFC 9112 section 3 allows for an invalid request line; an error may carry any
/// page.
fn page_of(outcome: Outcome, feature: FeatureId) -> Page {
    match (outcome, feature) {
        (S(200..=299), _) => Page::NotHello,
        (S(300..=399), FeatureId::NonNormalPath | FeatureId::TrailingSlash) => {
            Page::RedirectToNormal
        }
        _ => Page::Any,
    }
}

/// What one connection's send holds: the requests in order, each with its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub requests: Vec<Expectation>,
}

impl Plan {
    /// The plan of a delivery: the requests in its first pieces, then each later request.
    pub fn of(delivery: &Delivery) -> Plan {
        let mut sends = vec![delivery.bytes()];
        sends.extend(delivery.later.iter().map(|l| l.bytes.clone()));
        let mut requests = Vec::new();
        let last_send = sends.len() - 1;
        let mut asked_close = false;
        for (i, bytes) in sends.iter().enumerate() {
            let analysis = analyze(bytes);
            for (j, facts) in analysis.requests.iter().enumerate() {
                let mut facts = facts.clone();
                if i > 0 && j == 0 {
                    for f in [FeatureId::FollowsARequest, FeatureId::AfterConnectionClose] {
                        if !facts.has(f) && (f == FeatureId::FollowsARequest || asked_close) {
                            facts.features.push(f);
                        }
                    }
                    facts.features.sort();
                }
                asked_close = facts.asks_close;
                // The client half-closes after the last send: after every request in it.
                let half_closed = delivery.half_close && i == last_send;
                requests.push(Expectation::derive(&facts, half_closed));
            }
        }
        Plan { requests }
    }

    /// The first request's expectation.
    pub fn first(&self) -> &Expectation {
        &self.requests[0]
    }

    /// For each request, whether it is `HEAD` (what the answers are framed by).
    pub fn heads(&self) -> Vec<bool> {
        self.requests.iter().map(|e| e.head_request).collect()
    }

    /// The answers the raw client waits for: one per complete request.
    pub fn owed(&self) -> Owed {
        Owed {
            heads: self.heads(),
            count: self.requests.iter().take_while(|e| e.complete).count(),
        }
    }

    /// More requests may follow that the kit cannot count: a request's framing is not
    /// certain (a chunked or malformed body), so answers after it are not judged.
    pub fn open_ended(&self) -> bool {
        self.requests.iter().any(|e| !e.framing_known)
    }

    /// Whether any request may be the slow route.
    pub fn slow(&self) -> bool {
        self.requests.iter().any(|e| e.slow)
    }

    pub fn describe(&self) -> String {
        match &self.requests[..] {
            [one] => one.describe(),
            many => many
                .iter()
                .enumerate()
                .map(|(i, e)| format!("#{}: {}", i + 1, e.describe()))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// The rows as Markdown, for docs/policy.md (a test keeps it in step with this).
pub fn markdown_rows() -> String {
    let mut text = String::from("| row | requests |\n| --- | --- |\n");
    for row in ROWS {
        text.push_str(&format!("| `{}` | {} |\n", row.name, row.input));
    }
    text
}

#[cfg(test)]
mod tests;
