//! The expectations table: for each kind of request, what the reference server answers
//! (strict) and what else a correct server may answer (non-strict), by RFC 9110/9112 and
//! the book. Fixtures name a row; fuzzing finds the row with [`analyze`]. Both judge the
//! answer with [`crate::kit::judge`]: one table, one verifier.
//!
//! The analyzer is the kit's own reading of the request grammar, written without the
//! reference server's parser: the two are checked against each other by fuzzing.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A request line that does not fit in this many bytes with its line end may get 414 (RFC
/// 9112 section 3 suggests a limit of at least 8000): a server whose 8 KiB buffer fills
/// before it sees the line end cannot tell how long the line is.
pub const LONG_REQUEST_LINE: usize = 8 * 1024;
/// A head that does not fit in this many bytes may get 431, for the same reason.
pub const LARGE_HEAD: usize = 16 * 1024;
/// More header fields than this may get 431.
pub const MANY_HEADERS: usize = 100;
/// A body longer than this may get 413.
pub const LARGE_BODY: u64 = 1024 * 1024;

/// A row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Hello,
    Slow,
    HeadHello,
    AbsoluteHello,
    NotFound,
    WithQuery,
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

impl Kind {
    pub fn name(self) -> &'static str {
        row(self).name
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a server does with a request, as far as the table cares.
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
            Outcome::SilentClose => f.write_str("silent close"),
        }
    }
}

use Outcome::{SilentClose as CLOSE, Status as S};

/// One row: the kind of input, its strict and its other allowed outcomes, and why.
#[derive(Debug)]
pub struct Row {
    pub kind: Kind,
    pub name: &'static str,
    pub input: &'static str,
    pub strict: &'static [Outcome],
    pub non_strict: &'static [Outcome],
    /// Whether the non-strict outcomes also include what the request would get if the
    /// server tolerated its defect (e.g. 200 for `GET  /  HTTP/1.1` parsed on whitespace).
    pub tolerant_route: bool,
    pub why: &'static str,
}

/// The table, in the order the README prints it.
pub const TABLE: &[Row] = &[
    Row {
        kind: Kind::Hello,
        name: "hello",
        input: "`GET / HTTP/1.1`, with or without headers or a Content-Length body",
        strict: &[S(200)],
        non_strict: &[],
        tolerant_route: false,
        why: "the book's main route; the body must be the hello page",
    },
    Row {
        kind: Kind::Slow,
        name: "slow",
        input: "`GET /sleep HTTP/1.1`",
        strict: &[S(200)],
        non_strict: &[],
        tolerant_route: false,
        why: "the book's slow route: the hello page, after the server's delay",
    },
    Row {
        kind: Kind::HeadHello,
        name: "head-hello",
        input: "`HEAD / HTTP/1.1`",
        strict: &[S(200)],
        non_strict: &[S(404), S(405), S(501)],
        tolerant_route: false,
        why: "RFC 9110 9.3.2: HEAD is GET without a body; the book knows only GET",
    },
    Row {
        kind: Kind::AbsoluteHello,
        name: "absolute-hello",
        input: "`GET http://HOST/ HTTP/1.1` (absolute form)",
        strict: &[S(200)],
        non_strict: &[S(404)],
        tolerant_route: false,
        why: "RFC 9112 3.2.2: a server MUST accept the absolute form; the book matches the line",
    },
    Row {
        kind: Kind::NotFound,
        name: "not-found",
        input: "a well-formed request for another path (`/index.html`, `/sleep/`, `//`...)",
        strict: &[S(404)],
        non_strict: &[],
        tolerant_route: false,
        why: "the book's fallback; the body must be the 404 page",
    },
    Row {
        kind: Kind::WithQuery,
        name: "with-query",
        input: "`GET /?x=1 HTTP/1.1` or `GET /sleep?x HTTP/1.1`",
        strict: &[S(404)],
        non_strict: &[S(200)],
        tolerant_route: false,
        why: "the book matches the whole line (404); ignoring the query is reasonable too",
    },
    Row {
        kind: Kind::OtherMethod,
        name: "other-method",
        input: "a method other than GET and HEAD (`POST`, `DELETE`, lowercase `get`...)",
        strict: &[S(404)],
        non_strict: &[S(400), S(405), S(501)],
        tolerant_route: false,
        why: "the book answers 404; RFC 9110 allows 405 or 501; methods are case-sensitive, so a 200 is a bug",
    },
    Row {
        kind: Kind::OtherMinorVersion,
        name: "other-minor-version",
        input: "`GET / HTTP/1.0` (HTTP/1.x, x not 1)",
        strict: &[S(404)],
        non_strict: &[S(200)],
        tolerant_route: false,
        why: "the book matches `HTTP/1.1` exactly; RFC 9110 2.5 lets a 1.1 server serve 1.x",
    },
    Row {
        kind: Kind::UnsupportedVersion,
        name: "unsupported-version",
        input: "`HTTP/2.0`, `HTTP/3.0` (major version not 1)",
        strict: &[S(505)],
        non_strict: &[S(400), S(404)],
        tolerant_route: false,
        why: "RFC 9110 15.6.6: 505 names an unsupported major version",
    },
    Row {
        kind: Kind::BareLf,
        name: "bare-lf",
        input: "`GET / HTTP/1.1` with lines ended by a bare LF",
        strict: &[S(200), S(400), S(404)],
        non_strict: &[S(408), CLOSE],
        tolerant_route: false,
        why: "RFC 9112 2.2: a recipient MAY accept a bare LF; one that does not sees no complete head",
    },
    Row {
        kind: Kind::LongTarget,
        name: "long-target",
        input: "a request line over 8 KiB",
        strict: &[S(414)],
        non_strict: &[S(400), S(404)],
        tolerant_route: false,
        why: "RFC 9110 15.5.15: 414 for a target longer than the server will interpret",
    },
    Row {
        kind: Kind::HugeHead,
        name: "huge-head",
        input: "a head over 16 KiB or over 100 fields",
        strict: &[S(431)],
        non_strict: &[S(400)],
        tolerant_route: true,
        why: "RFC 6585 5: 431 for header fields too large; a server may also accept them",
    },
    Row {
        kind: Kind::Malformed,
        name: "malformed",
        input: "a request line or field line that breaks the grammar where RFC 9112 demands rejection (bad bytes, bad version, space before a colon)",
        strict: &[S(400)],
        non_strict: &[S(404)],
        tolerant_route: false,
        why: "RFC 9112 2.2: a server SHOULD answer 400; the book's servers answer 404 to what they do not recognise",
    },
    Row {
        kind: Kind::MalformedHeader,
        name: "malformed-header",
        input: "a field line a server may reject or repair (no colon, bad name, obs-fold, bad Content-Length)",
        strict: &[S(400)],
        non_strict: &[S(404)],
        tolerant_route: true,
        why: "RFC 9112 2.2 and 5.2: 400, or repair and serve the request",
    },
    Row {
        kind: Kind::LooseWhitespace,
        name: "loose-whitespace",
        input: "a request line with extra, leading, trailing or non-SP whitespace (`GET  / HTTP/1.1`, tabs, bare CR)",
        strict: &[S(400)],
        non_strict: &[S(404)],
        tolerant_route: true,
        why: "RFC 9112 3: a recipient MAY split the request line on any whitespace",
    },
    Row {
        kind: Kind::BadTarget,
        name: "bad-target",
        input: "a target neither origin form (`/...`) nor absolute form (`http://...`)",
        strict: &[S(400)],
        non_strict: &[S(404)],
        tolerant_route: false,
        why: "RFC 9112 3.2: only these forms are valid for GET",
    },
    Row {
        kind: Kind::Incomplete,
        name: "incomplete",
        input: "part of a head, then the client half-closes",
        strict: &[S(400), S(408), CLOSE],
        non_strict: &[S(404)],
        tolerant_route: true,
        why: "RFC 9112 8: an incomplete message; 400 or a close; the book's servers answer the request line alone",
    },
    Row {
        kind: Kind::Empty,
        name: "empty",
        input: "a connection that sends nothing and half-closes",
        strict: &[CLOSE],
        non_strict: &[S(400), S(408)],
        tolerant_route: false,
        why: "nothing was asked, so nothing is owed",
    },
];

/// The row of `kind`.
pub fn row(kind: Kind) -> &'static Row {
    TABLE
        .iter()
        .find(|r| r.kind == kind)
        .expect("every kind has a row")
}

/// What the request bytes are, as far as the table is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: Kind,
    /// The request's method (the first word of its request line, even a malformed or an
    /// incomplete one) is `HEAD`: a client frames the answer without a body.
    pub head_request: bool,
    /// A server may treat it as the slow route (after tolerating its defects).
    pub may_be_slow: bool,
    /// The row a tolerant server would serve, for rows with `tolerant_route`.
    pub tolerated_as: Option<Kind>,
    /// HTTP/1.1 without Host: RFC 9112 3.2 says 400; the book's clients never send it.
    pub missing_host: bool,
    /// Empty lines before the request line (a server SHOULD ignore at least one).
    pub leading_empty_lines: bool,
    /// A line ended by a bare LF.
    pub bare_lf: bool,
    /// Length of the (possibly incomplete) request line, without its line end.
    pub request_line_len: usize,
    /// Length of the head with its final empty line; for a head not complete yet, one
    /// more than was sent (what a server must hold to know it does not end there).
    pub head_len: usize,
    /// How many bytes a server must hold to see where the request line ends: the line and
    /// its line end, or, for a line not ended yet, one more than was sent. A server with a
    /// buffer of the limit's size that fills before it sees the end may refuse (414).
    pub request_line_span: usize,
    pub transfer_encoding: bool,
    pub large_body: bool,
    /// The target is in neither origin nor absolute form: a server may answer 400 before
    /// it looks at anything else (the version, say).
    pub bad_target: bool,
    /// The largest body length a tolerant server may read from a `Content-Length` the
    /// table calls malformed (`40\r`, `40, 40`, `40x` read as 40), when it exceeds the
    /// body sent: such a server waits for the rest, so the client half-closes, and a close
    /// without an answer is allowed (RFC 9112 8: an incomplete message).
    pub awaited_body: Option<u64>,
    /// The request line names a major version other than 1: a server may answer 505
    /// before it looks at anything else (a bad method or field line, say).
    pub unsupported_version: bool,
}

/// The outcomes allowed for one request, built from its row and its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub kind: Kind,
    pub strict: Vec<Outcome>,
    pub non_strict: Vec<Outcome>,
    pub head_request: bool,
    /// A `HEAD` request that a server may reject before it reads the method (a defective
    /// head, or empty lines first): the error page of a 4xx or 5xx may follow the head.
    pub error_body_allowed: bool,
    pub slow: bool,
}

impl Expectation {
    /// The expectation for a request of `kind` with these facts.
    pub fn new(kind: Kind, facts: &Facts) -> Self {
        let row = row(kind);
        let mut strict = row.strict.to_vec();
        let mut non_strict = row.non_strict.to_vec();
        if row.tolerant_route {
            let tolerated = facts.tolerated_as.unwrap_or(Kind::NotFound);
            let tolerated_row = self::row(tolerated);
            non_strict.extend(tolerated_row.strict.iter().chain(tolerated_row.non_strict));
        }
        if facts.missing_host {
            non_strict.push(S(400));
        }
        if facts.leading_empty_lines {
            // A server that does not skip it reads an empty request line.
            non_strict.extend([S(400), S(404)]);
        }
        if facts.bare_lf {
            // A server that does not accept a bare LF sees an incomplete head.
            strict.push(S(400));
            non_strict.extend([S(404), S(408), CLOSE]);
        }
        if facts.request_line_span > LONG_REQUEST_LINE {
            strict.push(S(414));
        }
        if facts.head_len > LARGE_HEAD {
            strict.push(S(431));
        }
        if facts.transfer_encoding {
            strict.push(S(501));
        }
        if facts.large_body {
            strict.push(S(413));
        }
        if facts.bad_target {
            strict.push(S(400));
        }
        if facts.unsupported_version {
            strict.push(S(505));
        }
        if let Some(length) = facts.awaited_body {
            non_strict.extend([S(400), S(408), CLOSE]);
            if length > LARGE_BODY {
                non_strict.push(S(413));
            }
        }
        strict.sort();
        strict.dedup();
        non_strict.sort();
        non_strict.dedup();
        non_strict.retain(|o| !strict.contains(o));
        Expectation {
            kind,
            strict,
            non_strict,
            head_request: facts.head_request,
            error_body_allowed: facts.head_request
                && (facts.leading_empty_lines
                    || !matches!(
                        kind,
                        Kind::HeadHello
                            | Kind::NotFound
                            | Kind::WithQuery
                            | Kind::AbsoluteHello
                            | Kind::OtherMinorVersion
                    )),
            slow: facts.may_be_slow || kind == Kind::Slow,
        }
    }

    /// The expectation of the row alone, for requests whose facts are unknown.
    pub fn of_kind(kind: Kind) -> Self {
        Self::new(kind, &Facts::plain(kind))
    }

    pub fn allows(&self, outcome: Outcome) -> bool {
        self.strict.contains(&outcome) || self.non_strict.contains(&outcome)
    }

    /// `strict: 404; also allowed: 405, 501`.
    pub fn describe(&self) -> String {
        let list = |v: &[Outcome]| {
            v.iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = format!("{} ({})", list(&self.strict), self.kind);
        if !self.non_strict.is_empty() {
            text.push_str(&format!("; non-strict: {}", list(&self.non_strict)));
        }
        text
    }
}

impl Facts {
    fn plain(kind: Kind) -> Self {
        Facts {
            kind,
            head_request: kind == Kind::HeadHello,
            may_be_slow: kind == Kind::Slow,
            tolerated_as: None,
            missing_host: false,
            leading_empty_lines: false,
            bare_lf: false,
            request_line_len: 0,
            head_len: 0,
            request_line_span: 0,
            transfer_encoding: false,
            large_body: false,
            bad_target: false,
            awaited_body: None,
            unsupported_version: kind == Kind::UnsupportedVersion,
        }
    }
}

/// Reads request bytes the way the table needs them: which row, and which modifiers.
pub fn analyze(bytes: &[u8]) -> Facts {
    let mut facts = analyze_head(bytes);
    facts.head_request = method_is_head(bytes);
    facts
}

/// Whether the first word of the first non-empty line is `HEAD`.
fn method_is_head(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let line = bytes[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    line.split(|&b| is_whitespace(b)).find(|w| !w.is_empty()) == Some(b"HEAD")
}

fn analyze_head(bytes: &[u8]) -> Facts {
    let mut facts = Facts::plain(Kind::Incomplete);
    if bytes.is_empty() {
        facts.kind = Kind::Empty;
        return facts;
    }
    // Leading empty lines (RFC 9112 2.2).
    let mut start = 0;
    loop {
        if bytes[start..].starts_with(b"\r\n") {
            start += 2;
        } else if bytes[start..].starts_with(b"\n") {
            start += 1;
        } else {
            break;
        }
    }
    facts.leading_empty_lines = start > 0;
    let mut lines = Lines {
        bytes,
        pos: start,
        bare_lf: false,
    };
    let Some(request_line) = lines.next() else {
        facts.request_line_len = bytes.len() - start;
        facts.request_line_span = facts.request_line_len + 1;
        facts.head_len = bytes.len() + 1;
        facts.may_be_slow = partial_may_be_slow(&bytes[start..]);
        // The client half-closed after it: a server reading lines (the book's
        // `BufRead::lines`) takes the end of the stream for the end of the line.
        facts.tolerated_as = parse_request_line(&bytes[start..])
            .filter(|l| l.defect.is_none())
            .map(|l| l.route);
        return facts;
    };
    facts.request_line_len = request_line.len();
    facts.request_line_span = lines.pos - start;
    let line = parse_request_line(request_line);

    // Field lines, up to the empty line that ends the head.
    let mut field_problem: Option<Kind> = None;
    let mut fields = 0;
    let mut content_lengths = Vec::new();
    // Every value a lenient server may take for a Content-Length, from valid lines or not.
    let mut lenient_lengths = Vec::new();
    let mut complete = false;
    let mut has_host = false;
    while let Some(field) = lines.next() {
        if field.is_empty() {
            complete = true;
            break;
        }
        fields += 1;
        if let Some(colon) = field.iter().position(|&b| b == b':') {
            let name = field[..colon].trim_ascii();
            let value = &field[colon + 1..];
            let valid = matches!(parse_field(field), Field::Ok { .. });
            if name.eq_ignore_ascii_case(b"content-length")
                && !(valid && strict_length(value).is_some())
            {
                lenient_lengths.extend(tolerant_length(value));
            }
        }
        match parse_field(field) {
            Field::Ok { name, value } => {
                has_host |= name.eq_ignore_ascii_case(b"host");
                if name.eq_ignore_ascii_case(b"content-length") {
                    content_lengths.push(value.trim_ascii().to_vec());
                }
                if name.eq_ignore_ascii_case(b"transfer-encoding") {
                    facts.transfer_encoding = true;
                }
            }
            Field::Invalid => {
                field_problem.get_or_insert(Kind::MalformedHeader);
            }
        }
    }
    facts.bare_lf = lines.bare_lf;
    facts.head_len = lines.pos;
    if !complete {
        // A server must hold one byte more to know the head does not end here.
        facts.head_len = bytes.len() + 1;
        if fields > MANY_HEADERS {
            // A server may refuse a head that already has too many fields (431).
            facts.head_len = facts.head_len.max(LARGE_HEAD + 1);
        }
        facts.bare_lf = false;
        facts.may_be_slow = line.as_ref().is_some_and(|l| l.slow);
        facts.tolerated_as = line
            .as_ref()
            .filter(|l| l.defect.is_none())
            .map(|l| l.route);
        return facts;
    }

    // Framing of the body.
    let body_len = (bytes.len() - lines.pos) as u64;
    let mut bad_length = false;
    let mut declared = None;
    for value in &content_lengths {
        match strict_length(value) {
            Some(n) if declared.is_none_or(|d| d == n) => declared = Some(n),
            _ => bad_length = true,
        }
    }
    if bad_length {
        field_problem.get_or_insert(Kind::MalformedHeader);
    }
    if field_problem.is_some() {
        facts.awaited_body = lenient_lengths.into_iter().max().filter(|&n| n > body_len);
    }
    facts.large_body = declared.is_some_and(|n| n > LARGE_BODY);
    if declared.is_some_and(|n| n > body_len) && !facts.large_body {
        // The body never fully arrives: the client half-closes.
        facts.kind = Kind::Incomplete;
        facts.may_be_slow = line.as_ref().is_some_and(|l| l.slow);
        facts.tolerated_as = line
            .as_ref()
            .filter(|l| l.defect.is_none())
            .map(|l| l.route);
        return facts;
    }

    let Some(line) = line else {
        facts.kind = Kind::Malformed;
        return facts;
    };
    facts.head_request = line.method == b"HEAD";
    facts.may_be_slow = line.slow;
    facts.bad_target = line.bad_target;
    facts.unsupported_version = line.version.is_some_and(|(major, _)| major != 1);
    facts.missing_host = line.version == Some((1, 1)) && !has_host;
    let route = line.route;
    facts.tolerated_as = Some(route);
    facts.kind = if let Some(defect) = line.defect {
        defect
    } else if let Some(problem) = field_problem {
        problem
    } else if fields > MANY_HEADERS || facts.head_len > LARGE_HEAD {
        Kind::HugeHead
    } else if facts.request_line_len > LONG_REQUEST_LINE {
        Kind::LongTarget
    } else if route == Kind::Hello && facts.bare_lf {
        facts.bare_lf = false;
        Kind::BareLf
    } else {
        route
    };
    if facts.kind == Kind::HugeHead {
        // Counted by field lines, not bytes: keep 431 strict even under 16 KiB.
        facts.head_len = facts.head_len.max(LARGE_HEAD + 1);
    }
    facts
}

/// The length a `Content-Length` value gives when it is valid: digits only, around them
/// only optional whitespace.
fn strict_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// What a lenient parser may make of a `Content-Length` value: whitespace trimmed (CR and
/// Unicode spaces included, as `str::trim` does), an optional `+` (as `u64::from_str`
/// accepts), then the leading digits (`atoi`), which also reads a list `40, 40` as 40.
fn tolerant_length(value: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim_start();
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text[..digits].parse().ok()
}

/// Splits on LF; a CR before the LF is dropped, and a line without one is a bare LF.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    bare_lf: bool,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        let lf = rest.iter().position(|&b| b == b'\n')?;
        self.pos += lf + 1;
        let line = &rest[..lf];
        match line.strip_suffix(b"\r") {
            Some(line) => Some(line),
            None => {
                self.bare_lf = true;
                Some(line)
            }
        }
    }
}

struct RequestLine<'a> {
    method: &'a [u8],
    version: Option<(u8, u8)>,
    /// The row the request belongs to if its line is read tolerantly.
    route: Kind,
    /// Set when the line breaks the strict grammar.
    defect: Option<Kind>,
    slow: bool,
    bad_target: bool,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0b | 0x0c | b'\r')
}

fn parse_version(v: &[u8]) -> Option<(u8, u8)> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// Parses a complete request line, strictly, and also tolerantly (RFC 9112 3: split on
/// whitespace), to know what a tolerant server would do with it.
fn parse_request_line(line: &[u8]) -> Option<RequestLine<'_>> {
    let words: Vec<&[u8]> = line
        .split(|&b| is_whitespace(b))
        .filter(|w| !w.is_empty())
        .collect();
    let [method, target, version] = words[..] else {
        return None;
    };
    let strict_shape = line.len() == method.len() + target.len() + version.len() + 2
        && line.starts_with(method)
        && line[method.len()] == b' '
        && line[method.len() + 1 + target.len()] == b' ';
    let method_ok = method.iter().all(|&b| is_tchar(b));
    let target_ok = target.iter().all(|&b| (0x21..=0x7e).contains(&b));
    let parsed_version = parse_version(version);
    let path = target_path(target);
    let slow = path.as_ref().is_some_and(|(p, _)| may_mean_sleep(p));
    let route = match (parsed_version, &path) {
        (Some((major, _)), _) if major != 1 => Kind::UnsupportedVersion,
        (_, None) => Kind::BadTarget,
        (version, Some((path, query))) => route(method, version, target, path, *query),
    };
    let defect = if !method_ok || !target_ok || parsed_version.is_none() {
        Some(Kind::Malformed)
    } else if !strict_shape {
        Some(Kind::LooseWhitespace)
    } else {
        None
    };
    Some(RequestLine {
        method,
        version: parsed_version,
        route,
        defect,
        slow,
        bad_target: path.is_none(),
    })
}

fn route(
    method: &[u8],
    version: Option<(u8, u8)>,
    target: &[u8],
    path: &[u8],
    query: bool,
) -> Kind {
    let get = method == b"GET";
    let head = method == b"HEAD";
    if !get && !head {
        return Kind::OtherMethod;
    }
    let root = path == b"/";
    let sleep = path == b"/sleep";
    match version {
        Some((1, 1)) if query && (root || sleep) => Kind::WithQuery,
        Some((1, 1)) if root && head => Kind::HeadHello,
        Some((1, 1)) if root && !target.starts_with(b"/") => Kind::AbsoluteHello,
        Some((1, 1)) if root => Kind::Hello,
        Some((1, 1)) if sleep => Kind::Slow,
        Some((1, _)) if root && get && !query => Kind::OtherMinorVersion,
        _ => Kind::NotFound,
    }
}

/// The path and whether a query follows, for origin-form and absolute-form targets.
fn target_path(target: &[u8]) -> Option<(Vec<u8>, bool)> {
    let path_and_query: &[u8] = if target.starts_with(b"/") {
        target
    } else {
        let sep = target.windows(3).position(|w| w == b"://")?;
        let scheme = &target[..sep];
        if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
            return None;
        }
        let rest = &target[sep + 3..];
        let authority = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?' || b == b'#')
            .unwrap_or(rest.len());
        if authority == 0 {
            return None;
        }
        match &rest[authority..] {
            [] => b"/",
            [b'?', ..] => return Some((b"/".to_vec(), true)),
            more => more,
        }
    };
    Some(match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => (path_and_query[..q].to_vec(), true),
        None => (path_and_query.to_vec(), false),
    })
}

/// Whether a server that decodes `%XX`, ignores case or strips a trailing slash could take
/// this path for `/sleep`. Errs on the side of yes: it only keeps slow requests out of
/// fuzzing and picks the longer timeout.
fn may_mean_sleep(path: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%'
            && let Some(byte) = path
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            decoded.push(byte);
            i += 3;
            continue;
        }
        decoded.push(path[i]);
        i += 1;
    }
    let lower = decoded.to_ascii_lowercase();
    let trimmed: Vec<u8> = lower.into_iter().filter(|&b| b != b'/').collect();
    trimmed.starts_with(b"sleep") || trimmed.windows(5).any(|w| w == b"sleep")
}

/// For a request line still arriving: could it be heading for `/sleep`?
fn partial_may_be_slow(partial: &[u8]) -> bool {
    partial
        .to_ascii_lowercase()
        .windows(5)
        .any(|w| w == b"sleep")
        || partial.contains(&b'%')
}

enum Field<'a> {
    Ok {
        name: &'a [u8],
        value: &'a [u8],
    },
    /// A server SHOULD answer 400 (RFC 9112 2.2; for whitespace before the colon, 5.1 even
    /// says MUST), but the book's servers never read fields, so ignoring them is tolerated.
    Invalid,
}

fn parse_field(line: &[u8]) -> Field<'_> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Field::Invalid;
    };
    let name = &line[..colon];
    let value = &line[colon + 1..];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Field::Invalid;
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
    {
        return Field::Invalid;
    }
    Field::Ok { name, value }
}

/// The table as Markdown, for the README (a test keeps the README in step with it).
pub fn markdown_table() -> String {
    let list = |v: &[Outcome]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut text = String::from(
        "| row | request | strict | also allowed (non-strict) | why |\n| --- | --- | --- | --- | --- |\n",
    );
    for row in TABLE {
        let tolerated = if row.tolerant_route {
            " + what a tolerant server answers"
        } else {
            ""
        };
        text.push_str(&format!(
            "| `{}` | {} | {} | {}{} | {} |\n",
            row.name,
            row.input,
            list(row.strict),
            list(row.non_strict),
            tolerated,
            row.why
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> Kind {
        analyze(bytes).kind
    }

    #[test]
    fn every_kind_has_exactly_one_row() {
        for r in TABLE {
            assert_eq!(TABLE.iter().filter(|o| o.kind == r.kind).count(), 1);
            let json = serde_json::to_string(&r.kind).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", r.name),
                "serde name matches the row name"
            );
            assert!(!r.strict.is_empty());
            assert!(r.non_strict.iter().all(|o| !r.strict.contains(o)));
        }
    }

    #[test]
    fn the_issue_examples_come_out_right() {
        let e = |b: &[u8]| Expectation::new(kind(b), &analyze(b));
        let get = e(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            (get.strict.as_slice(), get.non_strict.as_slice()),
            (&[S(200)][..], &[][..])
        );
        // No Host: RFC 9112 says 400; the book says 200. Both allowed, 200 strict.
        let no_host = e(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(no_host.strict, [S(200)]);
        assert_eq!(no_host.non_strict, [S(400)]);
        assert!(!e(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").allows(S(200)));
        assert!(!e(b"get / HTTP/1.1\r\nHost: x\r\n\r\n").allows(S(200)));
        let head = e(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(head.head_request && head.strict == [S(200)] && head.allows(S(405)));
        let absolute = e(b"GET http://localhost/ HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            (absolute.strict.as_slice(), absolute.non_strict.as_slice()),
            (&[S(200)][..], &[S(404)][..])
        );
        let v2 = e(b"GET / HTTP/2.0\r\n\r\n");
        assert_eq!(v2.strict, [S(505)]);
        assert!(v2.allows(S(400)) && v2.allows(S(404)) && !v2.allows(S(200)));
        let lf = e(b"GET / HTTP/1.1\n\n");
        assert!([200, 400, 404].iter().all(|&c| lf.strict.contains(&S(c))));
        let long = e(format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(10240)).as_bytes());
        assert_eq!(long.strict, [S(414)]);
        assert!(long.allows(S(404)));
        let bad = e(b"GET /\xff HTTP/1.1\r\n\r\n");
        assert_eq!(bad.strict, [S(400)]);
        assert!(bad.allows(S(404)) && !bad.allows(S(200)));
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
            (
                b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
                Kind::OtherMethod,
            ),
            (b"get / HTTP/1.1\r\n\r\n", Kind::OtherMethod),
            (b"GET / HTTP/1.0\r\n\r\n", Kind::OtherMinorVersion),
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

    /// Regression: the book's server reads `GET / HTTP/1.1` then the end of the stream as
    /// a request line and answers 200; the kit called that a failure.
    #[test]
    fn a_request_line_ended_by_the_half_close_may_get_its_route() {
        for (bytes, route) in [
            (&b"GET / HTTP/1.1"[..], S(200)),
            (b"GET /nope HTTP/1.1", S(404)),
            (b"\r\nGET / HTTP/1.1", S(200)),
        ] {
            let e = Expectation::new(kind(bytes), &analyze(bytes));
            assert_eq!(e.kind, Kind::Incomplete);
            assert!(e.non_strict.contains(&route), "{e:?}");
        }
        for cut in [
            &b"GET / HTTP/1."[..],
            b"GET / HTTP/1.1\r",
            b"G@T / HTTP/1.1",
        ] {
            assert!(!Expectation::new(kind(cut), &analyze(cut)).allows(S(200)));
        }
    }

    /// Regression: a server with a 16 KiB head buffer answered 431 to an unfinished head of
    /// exactly 16 KiB, and the kit called that a failure.
    #[test]
    fn a_full_buffer_may_be_refused_at_the_limit() {
        let line = [b"GET /".as_slice(), &vec![b'a'; LONG_REQUEST_LINE - 5]].concat();
        assert!(
            Expectation::new(kind(&line), &analyze(&line))
                .strict
                .contains(&S(414))
        );
        let shorter = &line[..LONG_REQUEST_LINE - 1];
        assert!(!Expectation::new(kind(shorter), &analyze(shorter)).allows(S(414)));
        // A complete line counts with its line end: 8191 characters and CRLF do not fit.
        let complete = |len: usize| {
            let target = "a".repeat(len - "GET / HTTP/1.1".len());
            format!("GET /{target} HTTP/1.1\r\n\r\n").into_bytes()
        };
        let over = complete(LONG_REQUEST_LINE - 1);
        assert!(
            Expectation::new(kind(&over), &analyze(&over))
                .strict
                .contains(&S(414))
        );
        let fits = complete(LONG_REQUEST_LINE - 2);
        assert!(!Expectation::new(kind(&fits), &analyze(&fits)).allows(S(414)));
        let head = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &vec![b'a'; LARGE_HEAD]].concat();
        let head = &head[..LARGE_HEAD];
        assert!(
            Expectation::new(kind(head), &analyze(head))
                .strict
                .contains(&S(431))
        );
        let shorter = &head[..LARGE_HEAD - 1];
        assert!(!Expectation::new(kind(shorter), &analyze(shorter)).allows(S(431)));
    }

    /// Regression: a server that read `Content-Length: 40\r` as 40 waited for a body the
    /// client never finished, and the kit, which neither half-closed nor allowed a close,
    /// called the wait a failure.
    #[test]
    fn a_malformed_length_that_a_lenient_server_may_wait_on_is_half_closed() {
        let short = b"HEAD / HTTP/1.1\r\nContent-Length: 40\r\r\n\r\nabc";
        let facts = analyze(short);
        assert_eq!(facts.kind, Kind::MalformedHeader);
        assert_eq!(facts.awaited_body, Some(40));
        let e = Expectation::new(facts.kind, &facts);
        assert_eq!(e.strict, [S(400)]);
        assert!(e.allows(CLOSE) && e.allows(S(408)) && !e.allows(S(413)));
        for enough in [
            &b"GET / HTTP/1.1\r\nContent-Length: 3\r\r\n\r\nabc"[..],
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        ] {
            let facts = analyze(enough);
            assert_eq!(facts.awaited_body, None);
            assert!(!Expectation::new(facts.kind, &facts).allows(CLOSE));
        }
        let huge = b"GET / HTTP/1.1\r\nContent-Length: 9999999, 9999999\r\n\r\n";
        assert!(Expectation::new(kind(huge), &analyze(huge)).allows(S(413)));
        // What Rust's `str::trim` and `u64::from_str` accept (the book's kind of server).
        for lenient in [&b"+40"[..], b"\xc2\xa040", b"40\x0b"] {
            let request = [
                b"GET / HTTP/1.1\r\nContent-Length: ".as_slice(),
                lenient,
                b"\r\n\r\nabc",
            ]
            .concat();
            let facts = analyze(&request);
            assert_eq!(facts.awaited_body, Some(40), "{lenient:?}");
        }
        // A valid length is not a lenient reading, even next to another malformed field.
        let valid = b"GET / HTTP/1.1\r\nContent-Length: 3\r\nNo Colon\r\n\r\nabc";
        assert_eq!(analyze(valid).awaited_body, None);
    }

    #[test]
    fn tolerant_rows_allow_what_a_tolerant_server_answers() {
        let ws = b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n";
        let e = Expectation::new(kind(ws), &analyze(ws));
        assert_eq!(e.strict, [S(400)]);
        assert!(e.allows(S(200)) && e.allows(S(404)));
        let ws_nope = b"GET  /nope HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(!Expectation::new(kind(ws_nope), &analyze(ws_nope)).allows(S(200)));
        let big = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n".repeat(800)
        );
        let e = Expectation::new(kind(big.as_bytes()), &analyze(big.as_bytes()));
        assert_eq!(e.kind, Kind::HugeHead);
        assert!(e.strict.contains(&S(431)) && e.allows(S(200)) && e.allows(S(400)));
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
                analyze(bytes).may_be_slow,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(!analyze(b"GET /nope HTTP/1.1\r\n\r\n").may_be_slow);
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
                analyze(bytes).head_request,
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
                !analyze(bytes).head_request,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn requests_with_two_defects_allow_either_answer() {
        // A bad target and an unsupported version: 400 or 505, whichever is checked first.
        let e = Expectation::new(
            kind(b"GET %2F HTTP/9.9\r\n\r\n"),
            &analyze(b"GET %2F HTTP/9.9\r\n\r\n"),
        );
        assert_eq!(e.kind, Kind::UnsupportedVersion);
        assert_eq!(e.strict, [S(400), S(505)]);
        // A defect and an unsupported version: 505 from a server that checks it first.
        for (request, defect) in [
            (&b"G@T / HTTP/2.0\r\n\r\n"[..], Kind::Malformed),
            (b"GET / HTTP/3.0\r\nNo Colon\r\n\r\n", Kind::MalformedHeader),
        ] {
            let e = Expectation::new(kind(request), &analyze(request));
            assert_eq!(e.kind, defect);
            assert_eq!(e.strict, [S(400), S(505)]);
        }
        let e = Expectation::new(
            kind(b"G@T / HTTP/1.1\r\n\r\n"),
            &analyze(b"G@T / HTTP/1.1\r\n\r\n"),
        );
        assert!(!e.allows(S(505)));
        // Too many fields before the head is complete: 431 is as good as 400.
        let many = format!(
            "GET /x HTTP/1.1\r\n{}",
            "X-F: 1\r\n".repeat(MANY_HEADERS + 1)
        );
        let e = Expectation::new(kind(many.as_bytes()), &analyze(many.as_bytes()));
        assert_eq!(e.kind, Kind::Incomplete);
        assert!(e.strict.contains(&S(431)) && e.strict.contains(&S(400)));
        let few = format!("GET /x HTTP/1.1\r\n{}", "X-F: 1\r\n".repeat(MANY_HEADERS));
        assert!(!Expectation::new(Kind::Incomplete, &analyze(few.as_bytes())).allows(S(431)));
    }

    #[test]
    fn modifiers_widen_but_never_allow_a_wrong_200() {
        let e = Expectation::new(Kind::NotFound, &analyze(b"GET /nope HTTP/1.1\n\n"));
        assert!(e.strict.contains(&S(400)) && e.allows(S(404)) && !e.allows(S(200)));
        let partial_long = format!("GET /{}", "a".repeat(9000));
        let e = Expectation::new(Kind::Incomplete, &analyze(partial_long.as_bytes()));
        assert!(e.strict.contains(&S(414)));
    }
}
