//! The per-feature table: every feature the analyzer can find in a request, what the
//! reference server does about it, what else a correct server may answer because of it,
//! and the RFC section or book listing that says so. [`super::Expectation::derive`]
//! composes the features of a request into its allowed outcomes.

use super::Outcome::{self, SilentClose as CLOSE, Status as S};
use crate::kit::verdict::requirements::cite;

/// A feature of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureId {
    HeadMethod,
    OtherMethod,
    OptionsMethod,
    MalformedMethod,
    AbsoluteForm,
    ForeignScheme,
    AuthorityForm,
    BadTarget,
    MalformedTarget,
    Query,
    BadPercentInQuery,
    NonNormalPath,
    TrailingSlash,
    Http10,
    LaterMinorVersion,
    UnsupportedMajorVersion,
    MalformedVersion,
    ZeroMajorVersion,
    SimpleRequest,
    WrongWordCount,
    LooseWhitespace,
    BareLf,
    LeadingEmptyLines,
    MissingHost,
    InvalidHost,
    InvalidField,
    SpaceBeforeColon,
    ObsFold,
    InvalidContentLength,
    LenientContentLength,
    SpacedFramingField,
    TransferEncoding,
    LargeBody,
    LongRequestLine,
    OverlongRequestLine,
    BigHead,
    OversizedHead,
    ExpectField,
    IncompleteHead,
    LineEndedByClose,
    Empty,
    FollowsARequest,
    DataAfterClose,
    AfterConnectionClose,
    HalfClosedAfter,
}

/// What the reference server does with a request that has the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// Serves the request as if the feature were not there.
    Serves,
    /// Answers the book's 404 page: the book matches the exact request line, and the
    /// reference follows the book.
    NotFound,
    /// Refuses the request with one of these.
    Refuses(&'static [Outcome]),
    /// Serves the request, and refusing it with one of these is as strict: a MUST asks
    /// for the refusal, where the book serves the request.
    ServesOrRefuses(&'static [Outcome]),
}

/// What obliges a server to answer a request with the feature, as the requirement ledger
/// ([`crate::kit::verdict::requirements`]) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// A valid request: the contract routes it, and the row says what else it may get.
    Contract,
    /// The feature makes the request invalid, and a MUST names the answer (cited): silence
    /// fails.
    Must(&'static str),
    /// The feature makes the request invalid, and only a SHOULD asks for an answer (cited):
    /// silence, and any error status, are non-strict.
    Should(&'static str),
}

/// One row of the per-feature table.
#[derive(Debug)]
pub struct Feature {
    pub id: FeatureId,
    /// Stable kebab-case name, used in reports and docs/policy.md.
    pub name: &'static str,
    pub example: &'static str,
    pub reference: Reference,
    /// Outcomes a server that refuses the request because of the feature may answer.
    pub refusals: &'static [Outcome],
    /// A refusing server may also answer any 4xx, with its own error page.
    pub any_client_error: bool,
    /// A server may serve the request's route as if the feature were not there.
    pub served: bool,
    /// A server that matches the exact request line, as the book does, answers its 404
    /// page.
    pub misroute: bool,
    /// What obliges a server to answer.
    pub owed: Duty,
    /// Why, citing the RFC section or the book.
    pub why: &'static str,
}

/// The table, in the order docs/policy.md prints it.
pub const FEATURES: &[Feature] = &[
    Feature {
        id: FeatureId::HeadMethod,
        name: "head-method",
        example: "`HEAD / HTTP/1.1`",
        reference: Reference::Serves,
        refusals: &[S(405), S(501)],
        any_client_error: false,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9110 9.3.2: HEAD is GET without content, and the response MUST NOT have a body; the book knows only GET (404); 405 or 501 from a server that does not implement it (RFC 9110 9.1 asks a general-purpose server to support HEAD; the book's is not one)",
    },
    Feature {
        id: FeatureId::OtherMethod,
        name: "other-method",
        example: "`POST /`, `DELETE /`, `get /` (methods are case-sensitive)",
        reference: Reference::NotFound,
        refusals: &[S(400), S(405), S(501)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Contract,
        why: "the book serves pages only to GET; RFC 9110 9.1: method names are case-sensitive, and an unknown method SHOULD get 501 (a known one 405), or the stack's own 4xx; never the hello page",
    },
    Feature {
        id: FeatureId::OptionsMethod,
        name: "options-method",
        example: "`OPTIONS * HTTP/1.1`, `OPTIONS / HTTP/1.1`",
        reference: Reference::NotFound,
        refusals: &[S(200), S(204), S(400), S(405), S(501)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9110 9.3.7: a server may describe its options in a 200 or 204 (not the hello page); RFC 9112 3.2.4: `*` is a valid target for OPTIONS",
    },
    Feature {
        id: FeatureId::MalformedMethod,
        name: "malformed-method",
        example: "`G@T /`, an empty method",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(405), S(501)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Should("9112-3.2-invalid"),
        why: "RFC 9110 9.1 and 5.6.2: a method is a token; RFC 9112 3.2: an invalid request line SHOULD get 400, so silence or another error is non-strict; 405 or 501 from a server that reads it as an unknown method",
    },
    Feature {
        id: FeatureId::AbsoluteForm,
        name: "absolute-form",
        example: "`GET http://localhost/ HTTP/1.1`",
        reference: Reference::Serves,
        refusals: &[S(400)],
        any_client_error: false,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 3.2.2: a server MUST accept the absolute-form; the book matches the line (404)",
    },
    Feature {
        id: FeatureId::ForeignScheme,
        name: "foreign-scheme",
        example: "`GET ftp://localhost/ HTTP/1.1`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(421)],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 3.2.2: the absolute-form is any absolute URI; a server not authoritative for the scheme refuses it (421, RFC 9110 15.5.20), and widely used stacks serve its path",
    },
    Feature {
        id: FeatureId::AuthorityForm,
        name: "authority-form",
        example: "`CONNECT example.com:443 HTTP/1.1`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(405), S(501)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 3.2.3: the authority-form is only for CONNECT, which a page server need not support (RFC 9110 9.3.6: 405 or 501)",
    },
    Feature {
        id: FeatureId::BadTarget,
        name: "bad-target",
        example: "`GET index.html`, `GET *`, `GET ftp://h/`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(301), S(302), S(307), S(308)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Should("9112-3.2-invalid"),
        why: "RFC 9112 3.2: a GET target is in origin-form or absolute-form, and an invalid request line SHOULD get 400 or a 301 redirect (frameworks also send 302, 307 and 308); silence or another error is non-strict",
    },
    Feature {
        id: FeatureId::MalformedTarget,
        name: "malformed-target",
        example: "a target with a byte outside visible ASCII (`GET /\\xff`)",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(301)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Should("9112-3.2-invalid"),
        why: "RFC 3986 2 and RFC 9112 3.2: a target holds only visible ASCII, and an invalid request line SHOULD get 400 or a 301 redirect; silence or another error is non-strict",
    },
    Feature {
        id: FeatureId::Query,
        name: "query",
        example: "`GET /?x=1`, `GET /sleep?x`",
        reference: Reference::NotFound,
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 3.2.1: the query is part of the target and the book matches the whole line (404); a server that ignores the query serves the path",
    },
    Feature {
        id: FeatureId::BadPercentInQuery,
        name: "bad-percent-in-query",
        example: "`GET /?% HTTP/1.1`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Should("9112-3.2-invalid"),
        why: "RFC 3986 2.1: a `%` starts an encoded octet, so the target is invalid and SHOULD get 400 (RFC 9112 3.2); a server that ignores the query serves the path",
    },
    Feature {
        id: FeatureId::NonNormalPath,
        name: "non-normal-path",
        example: "`GET //`, `GET /./`, `GET /%2e%2e/`, `GET /%73leep`",
        reference: Reference::NotFound,
        refusals: &[S(301), S(308), S(400)],
        any_client_error: false,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 3986 6.2.2 and RFC 9110 4.2.3: any component MAY normalise a URI, and equivalent URIs identify the same resource (widely used servers also merge slashes); a server serves the normalised path, or redirects to it (301/308 with its Location)",
    },
    Feature {
        id: FeatureId::TrailingSlash,
        name: "trailing-slash",
        example: "`GET /sleep/`, `GET /nope/`",
        reference: Reference::NotFound,
        refusals: &[S(301), S(302), S(307), S(308)],
        any_client_error: false,
        served: false,
        misroute: true,
        owed: Duty::Contract,
        why: "`/sleep/` is another path than `/sleep` (no normalisation of RFC 3986 6.2.2 removes the slash): 404, never the hello page; frameworks redirect it to the path without the slash by default (Starlette's redirect_slashes)",
    },
    Feature {
        id: FeatureId::Http10,
        name: "http-1.0",
        example: "`GET / HTTP/1.0`",
        reference: Reference::NotFound,
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9110 6.2: a server answers an HTTP/1.0 request, with the highest version it conforms to (SHOULD); the book matches `HTTP/1.1` exactly (404)",
    },
    Feature {
        id: FeatureId::LaterMinorVersion,
        name: "later-minor-version",
        example: "`GET / HTTP/1.2`",
        reference: Reference::NotFound,
        refusals: &[S(400), S(505)],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9110 6.2: a recipient SHOULD process a later 1.x request as the highest 1.x it conforms to (1.1); servers also refuse it (400, 505)",
    },
    Feature {
        id: FeatureId::UnsupportedMajorVersion,
        name: "unsupported-major-version",
        example: "`GET / HTTP/2.0`, `GET / HTTP/3.0`",
        reference: Reference::Refuses(&[S(505)]),
        refusals: &[S(400)],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9110 6.2: a server can send 505 to refuse a major version; answering as 1.1, or 400, is also seen",
    },
    Feature {
        id: FeatureId::MalformedVersion,
        name: "malformed-version",
        example: "`HTTP/1.10`, `http/1.1`, `HTTP/1`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(505)],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Should("9112-2.2-invalid"),
        why: "RFC 9112 2.3: HTTP-version is case-sensitive `HTTP/DIGIT.DIGIT`; RFC 9112 2.2: a request that breaks the grammar SHOULD get 400, so silence or another error is non-strict",
    },
    Feature {
        id: FeatureId::ZeroMajorVersion,
        name: "http-0.x-version",
        example: "`GET / HTTP/0.9`",
        reference: Reference::Refuses(&[S(505)]),
        refusals: &[S(400)],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Should("9110-6.2-highest"),
        why: "RFC 9110 6.2: a server answers with the highest version it conforms to whose major is not above the request's, so an HTTP/0.9 server answers in the 0.9 form (a body, or nothing to a HEAD); one that does not speak it refuses it (505, 400)",
    },
    Feature {
        id: FeatureId::SimpleRequest,
        name: "simple-request",
        example: "`GET /` (GET and a target, no version)",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Should("9112-2.2-invalid"),
        why: "the HTTP/0.9 Simple-Request (RFC 1945 4.1): RFC 9112 2.2 asks for 400 (SHOULD), and C.1 says servers ought to drop HTTP/0.9, but widely used servers still serve it, in the 0.9 form or with a status line; only GET, only the route",
    },
    Feature {
        id: FeatureId::WrongWordCount,
        name: "wrong-word-count",
        example: "`GET /`, `GET`, `GET / HTTP/1.1 x`",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: false,
        misroute: true,
        owed: Duty::Should("9112-2.2-invalid"),
        why: "RFC 9112 3: a request line is method, target and version, and RFC 9112 2.2: one that breaks the grammar SHOULD get 400; without a version it is shaped like HTTP/0.9, which servers may answer in kind (RFC 9112 C.1)",
    },
    Feature {
        id: FeatureId::LooseWhitespace,
        name: "loose-whitespace",
        example: "`GET  / HTTP/1.1`, tabs, leading or trailing whitespace, a bare CR",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Should("9112-2.2-invalid"),
        why: "RFC 9112 3: a recipient MAY split the request line on any whitespace (SP, HTAB, VT, FF, bare CR); one that does not sees an invalid line, which SHOULD get 400 (RFC 9112 2.2: a bare CR is invalid or read as SP)",
    },
    Feature {
        id: FeatureId::BareLf,
        name: "bare-lf",
        example: "`GET / HTTP/1.1\\n\\n`",
        reference: Reference::Serves,
        refusals: &[S(400), S(408), CLOSE],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 2.2: a recipient MAY accept a bare LF as a line end; one that does not sees no complete head (400, 408 or a close once the client half-closes), or one long request line (404)",
    },
    Feature {
        id: FeatureId::LeadingEmptyLines,
        name: "leading-empty-lines",
        example: "`\\r\\nGET / HTTP/1.1`",
        reference: Reference::Serves,
        refusals: &[S(400)],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Should("9112-2.2-empty-lines"),
        why: "RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line; one that does not reads an empty request line, which SHOULD get 400",
    },
    Feature {
        id: FeatureId::MissingHost,
        name: "missing-host",
        example: "`GET / HTTP/1.1` with no Host field",
        reference: Reference::ServesOrRefuses(&[S(400)]),
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-3.2-host"),
        why: "RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host; as strict as serving it, which the book does (its clients never send it)",
    },
    Feature {
        id: FeatureId::InvalidHost,
        name: "invalid-host",
        example: "`Host: a b`, two Host fields",
        reference: Reference::ServesOrRefuses(&[S(400)]),
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-3.2-host"),
        why: "RFC 9112 3.2: a server MUST answer 400 to more than one Host field or an invalid Host value; as strict as serving it, which the book does (it never reads fields)",
    },
    Feature {
        id: FeatureId::InvalidField,
        name: "invalid-field",
        example: "a field line without a colon, with a bad name, a space before the colon, obs-fold",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Should("9112-2.2-invalid"),
        why: "RFC 9112 5.1: a field line is a token, a colon and a value, and RFC 9112 2.2: one that breaks the grammar SHOULD get 400; the book's servers never read fields and serve the request",
    },
    Feature {
        id: FeatureId::SpaceBeforeColon,
        name: "space-before-colon",
        example: "`Host : x`, whitespace between a field name and its colon",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-5.1-space"),
        why: "RFC 9112 5.1: a server MUST reject it with 400, and silence fails; the book's servers never read fields and serve the request (non-strict)",
    },
    Feature {
        id: FeatureId::ObsFold,
        name: "obs-fold",
        example: "a field line that starts with SP or HTAB (obsolete line folding)",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-5.2-obs-fold"),
        why: "RFC 9112 5.2: a server MUST either refuse it with 400 or replace the fold with spaces (and serve the request); silence fails",
    },
    Feature {
        id: FeatureId::InvalidContentLength,
        name: "invalid-content-length",
        example: "`Content-Length: x`, two different lengths",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-6.3-invalid-length"),
        why: "RFC 9112 6.3 item 5: a server MUST answer 400 and close; the book's servers never read the length and serve the request",
    },
    Feature {
        id: FeatureId::LenientContentLength,
        name: "lenient-content-length",
        example: "`Content-Length: 40\\r` or `+40` with a shorter body, then the half-close",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(408), CLOSE],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-6.3-invalid-length"),
        why: "RFC 9112 8: a lenient server reads a longer body than was sent and waits for it; once the client half-closes, the message is incomplete (408 or a close); the book's servers never read it",
    },
    Feature {
        id: FeatureId::SpacedFramingField,
        name: "spaced-framing-field",
        example: "`Content-Length : 18` or `Transfer-Encoding : chunked`, whitespace before the colon of a field that frames the body",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-5.1-space"),
        why: "RFC 9112 5.1: a server MUST reject it with 400, since servers that honour and ignore the field disagree on where the body ends; answering the body as a request fails (`body-answered-as-request`), serving the request once is non-strict",
    },
    Feature {
        id: FeatureId::TransferEncoding,
        name: "transfer-encoding",
        example: "`Transfer-Encoding: chunked`",
        reference: Reference::Refuses(&[S(501)]),
        refusals: &[S(400), S(411)],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 6.1: a recipient MUST be able to parse chunked, and SHOULD answer 501 to a coding it does not understand (the reference implements none: its 501 to chunked is a deviation); 400 and 411 are also seen",
    },
    Feature {
        id: FeatureId::LargeBody,
        name: "large-body",
        example: "`Content-Length` over 1 MiB",
        reference: Reference::Refuses(&[S(413)]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9110 15.5.14: 413 for content larger than the server is willing to process, which MAY also close the connection; a server may read it",
    },
    Feature {
        id: FeatureId::LongRequestLine,
        name: "long-request-line",
        example: "a request line of 1,025 to 8,192 octets",
        reference: Reference::Serves,
        refusals: &[S(414), S(400), S(431)],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 3: it is RECOMMENDED to support request lines of at least 8,000 octets, and a server MUST answer 414 to a target longer than it wishes to parse; above 1 KiB a 400 or 431 is read as the same limit (widely used servers stop at about 2 KiB)",
    },
    Feature {
        id: FeatureId::OverlongRequestLine,
        name: "overlong-request-line",
        example: "a request line over 8 KiB (the reference's limit)",
        reference: Reference::Refuses(&[S(414)]),
        refusals: &[S(400), S(431)],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Must("9112-3-414"),
        why: "RFC 9112 3: a server MUST answer 414 to a target longer than it wishes to parse (400 and 431 are seen and tolerated); a server that parses it serves the request",
    },
    Feature {
        id: FeatureId::BigHead,
        name: "big-head",
        example: "a head of 8 to 16 KiB",
        reference: Reference::Serves,
        refusals: &[S(431), S(400)],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9110 5.4: a server MUST answer a 4xx to fields larger than it wishes to process (431, RFC 6585 5); widely used servers limit heads to 8 KiB",
    },
    Feature {
        id: FeatureId::OversizedHead,
        name: "oversized-head",
        example: "a head over 16 KiB or over 100 fields",
        reference: Reference::Refuses(&[S(431)]),
        refusals: &[S(400)],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Must("9110-5.4-too-large"),
        why: "RFC 9110 5.4: a server MUST answer a 4xx to fields larger than it wishes to process (431, RFC 6585 5); a server with larger limits serves the request",
    },
    Feature {
        id: FeatureId::ExpectField,
        name: "expect-field",
        example: "`Expect: 100-continue`",
        reference: Reference::Serves,
        refusals: &[S(417)],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9110 10.1.1: a server MUST send a final status or 100 (Continue) at once; 417 to an expectation it does not meet",
    },
    Feature {
        id: FeatureId::IncompleteHead,
        name: "incomplete-head",
        example: "part of a head, then the client's half-close",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(408), CLOSE],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 8: an incomplete message; a server MAY answer an error before closing, or close; the book's servers read only the request line and answer it",
    },
    Feature {
        id: FeatureId::LineEndedByClose,
        name: "line-ended-by-close",
        example: "`GET / HTTP/1.1` then the half-close, with no line end",
        reference: Reference::Refuses(&[S(400)]),
        refusals: &[S(408), CLOSE],
        any_client_error: true,
        served: true,
        misroute: true,
        owed: Duty::Contract,
        why: "RFC 9112 8: an incomplete message; the book's `BufRead::lines` takes the end of the stream for a line end and serves the line",
    },
    Feature {
        id: FeatureId::Empty,
        name: "empty",
        example: "a connection that sends nothing and half-closes",
        reference: Reference::Refuses(&[CLOSE]),
        refusals: &[S(400), S(404), S(408)],
        any_client_error: true,
        served: false,
        misroute: false,
        owed: Duty::Contract,
        why: "nothing was asked, so nothing is owed; some servers answer an error (the async book's answer 404)",
    },
    Feature {
        id: FeatureId::FollowsARequest,
        name: "follows-a-request",
        example: "a second request on the connection, pipelined or after the first answer",
        reference: Reference::Serves,
        refusals: &[CLOSE],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 9.3.2: answers come in order, and RFC 9112 9.5: a server MAY close at any time, so it may close after any response (the reference closes after the first)",
    },
    Feature {
        id: FeatureId::DataAfterClose,
        name: "data-after-close",
        example: "more bytes after an HTTP/1.0 request or one that says `Connection: close`",
        reference: Reference::Serves,
        refusals: &[S(400)],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 9.6: a client that sends close MUST NOT send more, and an HTTP/1.0 request's connection ends with its answer (RFC 9112 9.3); a server may refuse the request that more bytes follow",
    },
    Feature {
        id: FeatureId::AfterConnectionClose,
        name: "after-connection-close",
        example: "a request sent after one that said `Connection: close`",
        reference: Reference::Refuses(&[CLOSE]),
        refusals: &[],
        any_client_error: true,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 9.6: the server MUST NOT process it (a close is strict); serving it is non-strict, since the client broke its own MUST NOT first",
    },
    Feature {
        id: FeatureId::HalfClosedAfter,
        name: "half-closed-after",
        example: "a complete request, then the client's half-close",
        reference: Reference::Serves,
        refusals: &[CLOSE],
        any_client_error: false,
        served: true,
        misroute: false,
        owed: Duty::Contract,
        why: "RFC 9112 9.5: a server MAY close at any time, and widely used stacks close once the client has half-closed (`no-answer-after-half-close`), though RFC 9112 9.6 says a half-close does not mean the client lost interest in the answer",
    },
];

/// The row of `id`.
pub fn feature(id: FeatureId) -> &'static Feature {
    FEATURES
        .iter()
        .find(|f| f.id == id)
        .expect("every feature has a row")
}

impl FeatureId {
    pub fn name(self) -> &'static str {
        feature(self).name
    }
}

/// The table as Markdown, for docs/policy.md (a test keeps it in step with this).
pub fn markdown_table() -> String {
    let list = |v: &[Outcome]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(Outcome::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut text = String::from(
        "| feature | example | reference | also allowed | served as its route | an answer is owed by | why |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for f in FEATURES {
        let reference = match f.reference {
            Reference::Serves => "serves it".to_string(),
            Reference::NotFound => "404 (the book)".to_string(),
            Reference::Refuses(list) => list
                .iter()
                .map(Outcome::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Reference::ServesOrRefuses(list) => format!(
                "serves it, or {}",
                list.iter()
                    .map(Outcome::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut also = list(f.refusals);
        if f.misroute {
            also = if also == "-" {
                "404".into()
            } else {
                format!("{also}, 404")
            };
        }
        if f.any_client_error {
            also.push_str(", any 4xx");
        }
        let owed = match f.owed {
            Duty::Contract => "the contract".to_string(),
            Duty::Must(id) => format!("`{id}` ({})", cite(id)),
            Duty::Should(id) => format!("only `{id}` ({}): silence is non-strict", cite(id)),
        };
        text.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            f.name,
            f.example,
            reference,
            also,
            if f.served { "yes" } else { "no" },
            owed,
            f.why
        ));
    }
    text
}
