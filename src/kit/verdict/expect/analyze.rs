//! The request analyzer: request bytes in, the requests they hold out, each with every
//! feature of the per-feature table it has, the route a tolerant server would serve, and
//! its row. Several requests in one send are read one after another (pipelining, RFC 9112
//! section 9.3.2), as long as each one's framing is certain.

use super::Kind;
use super::features::FeatureId::{self, *};
use super::grammar::{self, Lines, TargetForm};
use super::{LARGE_BODY, LARGE_HEAD, LONG_REQUEST_LINE, MANY_FIELDS, MIN_LINE_LIMIT, SMALL_HEAD};

/// What a tolerant server serves a request as: the route of its method and normalised path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Hello,
    Slow,
    NotFound,
}

/// One request of a send, as the expectations need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub kind: Kind,
    /// Every feature found, sorted, each once.
    pub features: Vec<FeatureId>,
    /// The route a server that tolerates every tolerable feature serves.
    pub route: Route,
    /// The method is `HEAD`: the answer is framed without a body.
    pub head_request: bool,
    /// A server that decodes `%XX`, ignores case or strips slashes might take it for
    /// `/sleep`: it gets the slow route's timeout, and fuzzing never sends it.
    pub may_be_slow: bool,
    /// The head (and its declared body) is all there.
    pub complete: bool,
    /// Bytes of the send this request takes (from its first byte, leading empty lines
    /// included, to the end of its body).
    pub len: usize,
    /// Where the request ends is certain, so what follows is the next request.
    pub framing_known: bool,
    /// The normalised path, when it differs from the path sent (for a redirect's Location).
    pub normal_path: Option<Vec<u8>>,
    /// The request is HTTP/1.1: a server that closes after answering it should say so.
    pub http11: bool,
    /// The last word of the request line that is a valid HTTP/DIGIT.DIGIT, whatever the
    /// line's shape: the version a status line may echo.
    pub named_version: Option<(u8, u8)>,
    /// The request asked the server to close (`Connection: close`).
    pub asks_close: bool,
    /// The request line has no HTTP version: shaped like an HTTP/0.9 request.
    pub simple_request: bool,
    /// The head declares a body (`Content-Length` above 0, or `Transfer-Encoding`).
    pub body_declared: bool,
}

impl RequestFacts {
    pub fn has(&self, feature: FeatureId) -> bool {
        self.features.contains(&feature)
    }
}

/// The requests of one send, in order; the last may be incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub requests: Vec<RequestFacts>,
}

impl Analysis {
    /// The first request (every send has one, even an empty one).
    pub fn first(&self) -> &RequestFacts {
        &self.requests[0]
    }

    /// The last request.
    pub fn last(&self) -> &RequestFacts {
        self.requests.last().expect("at least one request")
    }
}

/// Reads the requests in `bytes`.
pub fn analyze(bytes: &[u8]) -> Analysis {
    let mut requests = vec![one(bytes, 0, false)];
    loop {
        let last = requests.last().expect("one at least");
        let end: usize = requests.iter().map(|r| r.len).sum();
        if !last.complete || !last.framing_known || end >= bytes.len() {
            return Analysis { requests };
        }
        let after_close = last.asks_close;
        let mut next = one(bytes, end, true);
        if after_close {
            next.features.push(AfterConnectionClose);
            next.features.sort();
        }
        requests.push(next);
    }
}

/// A request being read.
struct Reading {
    features: Vec<FeatureId>,
    route: Route,
    head_request: bool,
    may_be_slow: bool,
    normal_path: Option<Vec<u8>>,
    version: Option<(u8, u8)>,
    named_version: Option<(u8, u8)>,
    simple_request: bool,
    body_declared: bool,
}

impl Reading {
    fn add(&mut self, feature: FeatureId) {
        self.features.push(feature);
    }
}

/// Reads the request starting at `start`.
fn one(bytes: &[u8], start: usize, follows: bool) -> RequestFacts {
    let mut r = Reading {
        features: Vec::new(),
        route: Route::NotFound,
        head_request: false,
        may_be_slow: false,
        normal_path: None,
        version: None,
        named_version: None,
        simple_request: false,
        body_declared: false,
    };
    if follows {
        r.add(FollowsARequest);
    }
    let rest = &bytes[start..];
    if rest.is_empty() {
        r.add(Empty);
        return finish(r, 0, false, true, false);
    }
    let line_start = leading_empty_lines(rest);
    if line_start > 0 {
        r.add(LeadingEmptyLines);
    }
    r.head_request = first_word(&rest[line_start..]) == Some(b"HEAD");
    let mut lines = Lines::new(rest, line_start);
    let Some(line) = lines.next_line() else {
        // The request line is not ended: the half-close ends it, if anything.
        let partial = &rest[line_start..];
        if !partial.is_empty() {
            r.add(LineEndedByClose);
            read_request_line(&mut r, partial);
            r.may_be_slow |= partial_may_be_slow(partial);
        }
        r.add(IncompleteHead);
        sizes(&mut r, partial.len() + 1, false, rest.len(), 0);
        return finish(r, rest.len(), false, true, false);
    };
    read_request_line(&mut r, line);
    let head = read_fields(&mut lines);
    let bare_lf = lines.bare_lf;
    // The reference refuses a head once it holds more than its limit, ended or not.
    let head_len = if head.complete { lines.pos } else { rest.len() };
    sizes(&mut r, line.len(), true, head_len, head.fields);
    if !head.complete {
        r.add(IncompleteHead);
        return finish(r, rest.len(), false, true, head.asks_close);
    }
    if bare_lf {
        r.add(BareLf);
    }
    for feature in &head.features {
        r.add(*feature);
    }
    if !head.has_host && r.version == Some((1, 1)) {
        r.add(MissingHost);
    }
    let body_sent = (rest.len() - lines.pos) as u64;
    let (body_len, complete, framing_known) = body(&mut r, &head, body_sent);
    let len = lines.pos + body_len.min(body_sent) as usize;
    // A server that reads an invalid field line otherwise may see other request boundaries.
    let framing_known = framing_known && !malformed_field(&head.features);
    // HTTP/1.0 without keep-alive, or `Connection: close`: the connection ends here.
    let last_on_connection = head.asks_close || (r.version == Some((1, 0)) && !head.keep_alive);
    if last_on_connection && len < rest.len() {
        r.add(DataAfterClose);
    }
    finish(r, len, complete, framing_known, head.asks_close)
}

/// The row, features sorted, and the route's slowness.
fn finish(
    mut r: Reading,
    len: usize,
    complete: bool,
    framing_known: bool,
    asks_close: bool,
) -> RequestFacts {
    r.features.sort();
    r.features.dedup();
    let slow = r.route == Route::Slow;
    let kind = kind_of(&r.features, r.route);
    RequestFacts {
        kind,
        route: r.route,
        head_request: r.head_request,
        may_be_slow: r.may_be_slow || slow,
        complete,
        len,
        framing_known,
        normal_path: r.normal_path,
        http11: r.version == Some((1, 1)),
        named_version: r.named_version,
        asks_close,
        simple_request: r.simple_request,
        body_declared: r.body_declared,
        features: r.features,
    }
}

/// Bytes of empty lines (CRLF or LF) at the start.
fn leading_empty_lines(bytes: &[u8]) -> usize {
    let mut at = 0;
    loop {
        if bytes[at..].starts_with(b"\r\n") {
            at += 2;
        } else if bytes[at..].starts_with(b"\n") {
            at += 1;
        } else {
            return at;
        }
    }
}

/// The first whitespace-delimited word of the first line.
fn first_word(bytes: &[u8]) -> Option<&[u8]> {
    let line = bytes.split(|&b| b == b'\n').next()?;
    line.split(|&b| grammar::is_line_whitespace(b))
        .find(|w| !w.is_empty())
}

/// The features of the request line, and the route a tolerant server reads from it. A
/// line with another number of words than three is read as far as its words go, so that
/// its method, target and version count too; a `GET target` line is a Simple-Request, ended
/// or cut off by the half-close (as a three-word line cut off so is still read as one: the
/// book's `lines()` takes the end of the stream for a line end).
fn read_request_line(r: &mut Reading, line: &[u8]) {
    r.named_version = line
        .split(|&b| grammar::is_line_whitespace(b))
        .filter_map(grammar::parse_version)
        .next_back();
    let Some(words) = grammar::words(line) else {
        r.add(WrongWordCount);
        return;
    };
    r.simple_request = !words.names_a_version;
    if words.count == 2 && words.method == b"GET" {
        r.add(SimpleRequest);
    } else if words.count != 3 {
        r.add(WrongWordCount);
    } else if !words.single_spaces {
        r.add(LooseWhitespace);
    }
    let method_ok = words.method.iter().all(|&b| grammar::is_tchar(b));
    if !method_ok {
        r.add(MalformedMethod);
    }
    if let Some(version) = words.version {
        read_version(r, version);
    }
    let get_or_head = words.method == b"GET" || words.method == b"HEAD";
    if method_ok && !get_or_head {
        r.add(if words.method == b"OPTIONS" {
            OptionsMethod
        } else {
            OtherMethod
        });
    }
    if words.method == b"HEAD" {
        r.add(HeadMethod);
    }
    if let Some(target) = words.target {
        read_target(r, words.method, target, get_or_head);
    }
}

fn read_version(r: &mut Reading, version: &[u8]) {
    r.version = grammar::parse_version(version);
    match r.version {
        None => r.add(MalformedVersion),
        Some((1, 1)) => {}
        Some((1, 0)) => r.add(Http10),
        Some((1, _)) => r.add(LaterMinorVersion),
        Some((0, _)) => {
            r.add(ZeroMajorVersion);
            r.simple_request = true;
        }
        Some(_) => r.add(UnsupportedMajorVersion),
    }
}

/// The target's features, and the route of its path.
fn read_target(r: &mut Reading, method: &[u8], target: &[u8], get_or_head: bool) {
    // A bad `%` in the query alone leaves the path to serve (see `BadPercentInQuery`).
    let query_start = target.iter().position(|&b| b == b'?');
    let before_query = &target[..query_start.unwrap_or(target.len())];
    let target_ok = target.iter().all(|&b| (0x21..=0x7e).contains(&b))
        && grammar::percent_encoding_valid(before_query);
    if target_ok && !grammar::percent_encoding_valid(target) {
        r.add(BadPercentInQuery);
    }
    if !target_ok {
        r.add(MalformedTarget);
    }
    let path = match grammar::target_form(target) {
        TargetForm::Origin { path, query } => Some((path, query)),
        TargetForm::Absolute {
            path,
            query,
            foreign,
        } => {
            r.add(if foreign { ForeignScheme } else { AbsoluteForm });
            Some((path, query))
        }
        TargetForm::Asterisk if method == b"OPTIONS" => None,
        TargetForm::Authority if method == b"CONNECT" => {
            r.add(AuthorityForm);
            None
        }
        _ => {
            r.add(BadTarget);
            None
        }
    };
    let Some((path, query)) = path else {
        return;
    };
    if query {
        r.add(Query);
    }
    r.may_be_slow = may_mean_sleep(&path);
    let normal = grammar::normalize_path(&path);
    if normal != path {
        r.add(NonNormalPath);
        r.normal_path = Some(normal.clone());
    } else if normal.len() > 1 && normal.ends_with(b"/") {
        r.add(TrailingSlash);
        r.normal_path = Some(normal[..normal.len() - 1].to_vec());
    }
    r.route = match normal.as_slice() {
        b"/" if get_or_head => Route::Hello,
        b"/sleep" if get_or_head => Route::Slow,
        _ => Route::NotFound,
    };
}

/// What the field lines say.
struct FieldLines {
    complete: bool,
    fields: usize,
    has_host: bool,
    asks_close: bool,
    keep_alive: bool,
    /// Valid `Content-Length` values, as sent.
    lengths: Vec<Vec<u8>>,
    /// Every length a lenient server may read from a malformed `Content-Length` line.
    lenient_lengths: Vec<u64>,
    features: Vec<FeatureId>,
}

/// Reads field lines up to the empty line that ends the head.
fn read_fields(lines: &mut Lines<'_>) -> FieldLines {
    let mut head = FieldLines {
        complete: false,
        fields: 0,
        has_host: false,
        asks_close: false,
        keep_alive: false,
        lengths: Vec::new(),
        lenient_lengths: Vec::new(),
        features: Vec::new(),
    };
    while let Some(line) = lines.next_line() {
        if line.is_empty() {
            head.complete = true;
            break;
        }
        head.fields += 1;
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            // RFC 9112 5.2: obs-fold (or, first, whitespace before the first field line).
            head.features.push(ObsFold);
            continue;
        }
        let Some((name, value)) = grammar::field(line) else {
            malformed_line(&mut head, line);
            continue;
        };
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("host") {
            if head.has_host || !grammar::host_valid(value) {
                head.features.push(InvalidHost);
            }
            head.has_host = true;
        } else if is("content-length") {
            head.lengths.push(value.trim_ascii().to_vec());
            if grammar::strict_length(value).is_none() {
                head.lenient_lengths.extend(grammar::tolerant_length(value));
            }
        } else if is("transfer-encoding") {
            head.features.push(TransferEncoding);
        } else if is("expect") {
            head.features.push(ExpectField);
        } else if is("connection") {
            let has = |token: &[u8]| {
                value
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
            };
            head.asks_close |= has(b"close");
            head.keep_alive |= has(b"keep-alive");
        }
    }
    head
}

/// A field line that is not `name: value`: what a lenient server may read from it.
fn malformed_line(head: &mut FieldLines, line: &[u8]) {
    let spaced = space_before_colon(line);
    head.features.push(if spaced {
        SpaceBeforeColon
    } else {
        InvalidField
    });
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return;
    };
    let name = line[..colon].trim_ascii();
    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
    if is(b"content-length") {
        head.lenient_lengths
            .extend(grammar::tolerant_length(&line[colon + 1..]));
    }
    if spaced && (is(b"content-length") || is(b"transfer-encoding")) {
        head.features.push(SpacedFramingField);
    }
}

/// `name SP: value`: a field name, then whitespace before its colon (RFC 9112 5.1).
fn space_before_colon(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line[..colon].trim_ascii_end();
    name.len() < colon && !name.is_empty() && name.iter().all(|&b| grammar::is_tchar(b))
}

/// A field line that breaks the grammar: a server may read it, and the lengths in it, in
/// more than one way.
fn malformed_field(features: &[FeatureId]) -> bool {
    features
        .iter()
        .any(|f| matches!(f, InvalidField | SpaceBeforeColon | ObsFold))
}

/// The size features: the request line (its length without the line end, and whether it
/// is complete) and the head.
fn sizes(r: &mut Reading, line_len: usize, line_complete: bool, head_len: usize, fields: usize) {
    // The reference refuses a complete line longer than its limit, and a line still
    // arriving once it holds more than the limit and a CR.
    let overlong = if line_complete {
        line_len > LONG_REQUEST_LINE
    } else {
        line_len > LONG_REQUEST_LINE + 2
    };
    if overlong {
        r.add(OverlongRequestLine);
    } else if line_len + 2 > MIN_LINE_LIMIT {
        r.add(LongRequestLine);
    }
    if head_len > LARGE_HEAD || fields > MANY_FIELDS {
        r.add(OversizedHead);
    } else if head_len > SMALL_HEAD {
        r.add(BigHead);
    }
}

/// The body's framing: `(declared length, complete, framing known)`.
fn body(r: &mut Reading, head: &FieldLines, sent: u64) -> (u64, bool, bool) {
    if head.features.contains(&TransferEncoding) || head.features.contains(&SpacedFramingField) {
        // Where a chunked body ends is not the analyzer's business: nothing after it is
        // judged.
        r.body_declared = true;
        return (sent, true, false);
    }
    let mut declared = None;
    let mut invalid = false;
    for value in &head.lengths {
        match grammar::strict_length(value) {
            Some(n) if declared.is_none_or(|d| d == n) => declared = Some(n),
            _ => invalid = true,
        }
    }
    let lenient = head.lenient_lengths.iter().copied().max();
    if invalid || malformed_field(&head.features) && lenient.is_some() {
        if invalid {
            r.add(InvalidContentLength);
        }
        if lenient.is_some_and(|n| n > sent) {
            r.add(LenientContentLength);
        }
        return (sent, true, false);
    }
    if declared.is_some_and(|n| n > LARGE_BODY) {
        r.add(LargeBody);
    }
    r.body_declared = declared.is_some_and(|n| n > 0);
    match declared {
        Some(n) if n > sent => {
            // The reference refuses a large body at once; a server that reads it waits
            // for the rest, which the client never sends.
            r.add(IncompleteHead);
            (n, false, true)
        }
        Some(n) => (n, true, true),
        None => (0, true, true),
    }
}

/// The row of a request: its most telling feature, or its route.
fn kind_of(features: &[FeatureId], route: Route) -> Kind {
    let has = |f: FeatureId| features.contains(&f);
    let any = |list: &[FeatureId]| list.iter().any(|&f| has(f));
    if has(Empty) {
        Kind::Empty
    } else if any(&[IncompleteHead, LineEndedByClose]) {
        Kind::Incomplete
    } else if any(&[
        MalformedMethod,
        MalformedTarget,
        MalformedVersion,
        WrongWordCount,
        SimpleRequest,
    ]) {
        Kind::Malformed
    } else if has(LooseWhitespace) {
        Kind::LooseWhitespace
    } else if any(&[BadTarget, AuthorityForm]) {
        Kind::BadTarget
    } else if any(&[UnsupportedMajorVersion, ZeroMajorVersion]) {
        Kind::UnsupportedVersion
    } else if any(&[
        InvalidField,
        SpaceBeforeColon,
        ObsFold,
        InvalidContentLength,
        LenientContentLength,
    ]) {
        Kind::MalformedHeader
    } else if has(OversizedHead) {
        Kind::HugeHead
    } else if has(OverlongRequestLine) {
        Kind::LongTarget
    } else if any(&[OtherMethod, OptionsMethod]) {
        Kind::OtherMethod
    } else if has(Query) {
        Kind::WithQuery
    } else if any(&[Http10, LaterMinorVersion]) {
        Kind::OtherMinorVersion
    } else if has(NonNormalPath) {
        Kind::NormalizedPath
    } else {
        match route {
            Route::Hello if has(HeadMethod) => Kind::HeadHello,
            Route::Slow if has(HeadMethod) => Kind::HeadSlow,
            Route::Hello if has(AbsoluteForm) => Kind::AbsoluteHello,
            Route::Hello if has(BareLf) => Kind::BareLf,
            Route::Hello => Kind::Hello,
            Route::Slow => Kind::Slow,
            Route::NotFound => Kind::NotFound,
        }
    }
}

/// Whether a server that decodes `%XX`, ignores case or strips slashes could take this path
/// for `/sleep`. Errs on the side of yes: it only keeps slow requests out of fuzzing and
/// picks the longer timeout.
fn may_mean_sleep(path: &[u8]) -> bool {
    let mut decoded = grammar::percent_decode(path, |_| true);
    decoded.make_ascii_lowercase();
    decoded.retain(|&b| b != b'/');
    decoded.windows(5).any(|w| w == b"sleep")
}

/// For a request line still arriving: could it be heading for `/sleep`?
fn partial_may_be_slow(partial: &[u8]) -> bool {
    partial
        .to_ascii_lowercase()
        .windows(5)
        .any(|w| w == b"sleep")
        || partial.contains(&b'%')
}
