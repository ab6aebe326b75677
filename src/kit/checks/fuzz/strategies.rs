//! The generators of the fuzz group: proptest strategies, composed from small named
//! pieces, used by `unblocked check` and by the tests alike.
//!
//! Every generator ends in an [`Input`]: request bytes and how they are delivered. Two
//! rules hold for every input, whatever generated it (see [`Input::from_bytes`]):
//! - it never asks for the slow route, even to a server that decodes `%XX`, ignores case,
//!   strips slashes or reads a partial line hopefully: such a request line is rewritten;
//! - an input whose head a server cannot see complete (incomplete per the analyzer, or
//!   ended by bare LFs that a strict server does not accept) is followed by the client's
//!   half-close, so that a server can answer at once instead of at its read timeout.
//!
//! Inputs a correct server may legitimately wait on are never produced: no
//! `Transfer-Encoding`, no `Expect`, no body announced over the 1 MiB limit, and the
//! grammar-aware generator's `Content-Length` always matches its body. Mutations may
//! still make a malformed `Content-Length` that a lenient server reads as a longer body
//! (`40\r`): those inputs are half-closed too, so that such a server stops waiting.

use crate::kit::http::escape::escape_truncated;
use crate::kit::http::raw::Delivery;
use crate::kit::verdict::expect::{Analysis, FeatureId, analyze};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::fmt;
use std::time::Duration;

/// The longest target the request-line generator writes: over the 8 KiB at which a server
/// may answer 414.
pub const MAX_TARGET: usize = 10 * 1024;
/// The longest byte-level input.
pub const MAX_BYTES: usize = 32 * 1024;
/// Most pieces the delivery generator splits a request into.
pub const MAX_PIECES: usize = 8;
/// Longest pause between two pieces, in milliseconds.
pub const MAX_PAUSE_MS: u64 = 5;

/// One generated input: the exact bytes and how they are sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Input {
    pub delivery: Delivery,
}

impl Input {
    /// The bytes sent at once; made safe for fuzzing (see the module documentation).
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input::split(bytes, &[], Duration::ZERO)
    }

    /// The bytes split before each of `cuts` (positions within the bytes; duplicates and
    /// the ends are ignored), with `pause` between pieces.
    pub fn split(bytes: Vec<u8>, cuts: &[Index], pause: Duration) -> Input {
        let bytes = defuse(bytes);
        let half_close = needs_half_close(&analyze(&bytes));
        let mut at: Vec<usize> = if bytes.len() > 1 {
            cuts.iter().map(|c| 1 + c.index(bytes.len() - 1)).collect()
        } else {
            Vec::new()
        };
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::with_capacity(at.len() + 1);
        let mut start = 0;
        for cut in at {
            pieces.push(bytes[start..cut].to_vec());
            start = cut;
        }
        pieces.push(bytes[start..].to_vec());
        let pause = if pieces.len() > 1 {
            pause
        } else {
            Duration::ZERO
        };
        Input {
            delivery: Delivery {
                pieces,
                pause,
                half_close,
                later: Vec::new(),
            },
        }
    }

    /// All the bytes, as one.
    pub fn bytes(&self) -> Vec<u8> {
        self.delivery.bytes()
    }

    pub fn len(&self) -> usize {
        self.delivery.pieces.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The requests the analyzer finds in the bytes.
    pub fn analysis(&self) -> Analysis {
        analyze(&self.bytes())
    }
}

impl fmt::Debug for Input {
    /// Escaped and cut at 300 characters, so that failure messages and the regression
    /// files stay readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Input(\"{}\"", escape_truncated(&self.bytes(), 300))?;
        if self.delivery.pieces.len() > 1 {
            let sizes: Vec<String> = self
                .delivery
                .pieces
                .iter()
                .map(|p| p.len().to_string())
                .collect();
            write!(f, " in pieces of {}", sizes.join("+"))?;
            if !self.delivery.pause.is_zero() {
                write!(f, " {}ms apart", self.delivery.pause.as_millis())?;
            }
        }
        if self.delivery.half_close {
            f.write_str(", then half-close")?;
        }
        f.write_str(")")
    }
}

/// Whether the client must half-close after sending: the last request is incomplete (or
/// nothing is sent), lines end with a bare LF, which a server may not take as a line end,
/// or a lenient server may read a malformed `Content-Length` as a body still to come.
pub fn needs_half_close(analysis: &Analysis) -> bool {
    !analysis.last().complete
        || analysis.requests.iter().any(|r| {
            r.has(FeatureId::BareLf)
                || r.has(FeatureId::LenientContentLength)
                || r.has(FeatureId::InvalidContentLength)
        })
}

/// Whether an input may be sent at all: never the slow route, and nothing a correct
/// server may legitimately wait on (a chunked body, a body over the limit).
pub fn is_fuzzable(analysis: &Analysis) -> bool {
    analysis.requests.iter().all(|r| {
        !r.may_be_slow && !r.has(FeatureId::TransferEncoding) && !r.has(FeatureId::LargeBody)
    })
}

fn may_be_slow(bytes: &[u8]) -> bool {
    analyze(bytes).requests.iter().any(|r| r.may_be_slow)
}

/// Rewrites a request line that may mean `/sleep`: first its `%` signs become `_`, then,
/// if needed, its `s` and `S` become `z` and `Z`. A path without `%` and without `s`
/// cannot mean `/sleep` however a server decodes it.
fn defuse(mut bytes: Vec<u8>) -> Vec<u8> {
    if !may_be_slow(&bytes) {
        return bytes;
    }
    let mut start = 0;
    while let Some(rest) = bytes.get(start..) {
        if rest.starts_with(b"\r\n") {
            start += 2;
        } else if rest.starts_with(b"\n") {
            start += 1;
        } else {
            break;
        }
    }
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| start + i);
    for (from, to) in [(b'%', b'_'), (b's', b'z'), (b'S', b'Z')] {
        for b in &mut bytes[start..end] {
            if *b == from {
                *b = to;
            }
        }
        if !may_be_slow(&bytes) {
            return bytes;
        }
    }
    // A later request of a pipelined send may still mean it.
    for b in &mut bytes {
        match *b {
            b'%' => *b = b'_',
            b's' => *b = b'z',
            b'S' => *b = b'Z',
            _ => {}
        }
    }
    bytes
}

fn owned(s: &'static str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn one_of_strs(list: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    select(list).prop_map(owned)
}

fn one_of_bytes(list: &'static [u8]) -> impl Strategy<Value = u8> {
    select(list)
}

/// `tchar` of RFC 9110 5.6.2: the characters of a method or a field name.
const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
/// Characters a path may hold unescaped, the first ones first when shrinking.
const UNRESERVED: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
const SUB_DELIMS: &[u8] = b"!$&'()*+,;=:@/";
/// Bytes no target may hold: controls, space, and characters outside the URI grammar.
const NOT_IN_TARGETS: &[u8] = b"\x00\x01\x08\x1b\x7f \t\"<>\\^`{|}";
/// Text in several UTF-8 lengths.
const UNICODE: &[&str] = &[
    "\u{e9}",
    "\u{fc}ber",
    "\u{65e5}\u{672c}",
    "\u{1f600}",
    "\u{202e}",
    "\u{feff}",
];

/// A token of 1 to `max` `tchar`s.
pub fn token(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(one_of_bytes(TCHARS), 1..=max)
}

/// `GET` in every mix of upper and lower case (`get`, `Get`, `gET`...).
pub fn get_in_any_case() -> impl Strategy<Value = Vec<u8>> {
    proptest::array::uniform3(any::<bool>()).prop_map(|upper| {
        b"get"
            .iter()
            .zip(upper)
            .map(|(&c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// A method: mostly `GET`, also `HEAD`, case variants of `GET`, other real methods,
/// random tokens, and nothing at all. (`OPTIONS`, `TRACE` and `CONNECT` are left out: a
/// correct server may well answer them 200.)
pub fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => Just(owned("GET")),
        2 => Just(owned("HEAD")),
        2 => get_in_any_case(),
        2 => one_of_strs(&["POST", "PUT", "DELETE", "PATCH"]),
        1 => token(10),
        1 => Just(Vec::new()),
    ]
}

/// `%XX` with any byte.
pub fn percent_escape() -> impl Strategy<Value = Vec<u8>> {
    any::<u8>().prop_map(|b| format!("%{b:02X}").into_bytes())
}

/// One piece of a path: a plain character first (for shrinking), then sub-delimiters,
/// `%`-escapes valid and not, `..`, unicode, bytes that are not UTF-8, and bytes no
/// target may hold.
pub fn path_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => one_of_bytes(UNRESERVED).prop_map(|b| vec![b]),
        2 => one_of_bytes(SUB_DELIMS).prop_map(|b| vec![b]),
        2 => percent_escape(),
        1 => one_of_strs(&["%", "%g", "%4", "%zz", "%%"]),
        1 => one_of_strs(&["..", "../", "./", "//"]),
        1 => one_of_strs(UNICODE),
        1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        1 => one_of_bytes(NOT_IN_TARGETS).prop_map(|b| vec![b]),
    ]
}

/// `/` followed by 1 to 7 path pieces.
pub fn path() -> impl Strategy<Value = Vec<u8>> {
    vec(path_piece(), 1..8).prop_map(|pieces| {
        let mut path = vec![b'/'];
        path.extend(pieces.concat());
        path
    })
}

/// A path that looks like `/sleep` but is not it: one letter of `sleep` deleted, changed
/// or doubled, or a byte inserted, sometimes with a suffix. (An edit that gives `sleep`
/// back is undone by [`Input::from_bytes`].)
pub fn sleep_lookalike() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..4,
        any::<Index>(),
        one_of_bytes(b"abcdefghijklmnopqrstuvwxyz0123456789-_.E"),
        one_of_strs(&["", "", "", "/x", "?", "?x=1", ".html", "#"]),
    )
        .prop_map(|(edit, at, byte, suffix)| {
            let mut word = b"sleep".to_vec();
            let i = at.index(word.len());
            match edit {
                0 => {
                    word.remove(i);
                }
                1 => word[i] = byte,
                2 => word.insert(i + 1, word[i]),
                _ => word.insert(i + 1, byte),
            }
            let mut path = vec![b'/'];
            path.extend(word);
            path.extend(suffix);
            path
        })
}

/// A path with a query.
pub fn with_query() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![3 => Just(owned("/")), 1 => path()],
        vec(one_of_bytes(b"abcxyz019=&%+/?"), 0..12),
    )
        .prop_map(|(mut path, query)| {
            path.push(b'?');
            path.extend(query);
            path
        })
}

/// An absolute-form target: `http://HOST` and a path, with near-miss schemes and hosts.
pub fn absolute_target() -> impl Strategy<Value = Vec<u8>> {
    (
        one_of_strs(&["http", "https", "HTTP", "ftp", "http:"]),
        one_of_strs(&["localhost", "127.0.0.1", "example.com:8080", "", "[::1]"]),
        prop_oneof![
            Just(owned("/")),
            Just(Vec::new()),
            path(),
            sleep_lookalike(),
            with_query()
        ],
    )
        .prop_map(|(scheme, host, path)| [scheme, owned("://"), host, path].concat())
}

/// `/` and a long run of one character, often right around the 8 KiB line limit.
pub fn long_target() -> impl Strategy<Value = Vec<u8>> {
    (
        one_of_bytes(b"abcxyz019-._~"),
        prop_oneof![1usize..=MAX_TARGET, 8170usize..=8200],
    )
        .prop_map(|(c, len)| {
            let mut target = vec![b'/'];
            target.extend(std::iter::repeat_n(c, len));
            target
        })
}

/// Targets in neither origin nor absolute form.
pub fn bad_target() -> impl Strategy<Value = Vec<u8>> {
    one_of_strs(&[
        "index.html",
        "*",
        "?x",
        "a/b",
        "localhost/",
        "http:/",
        "\\",
        "%2F",
        "~",
        "",
    ])
}

/// A request target: `/` most often, then paths, `/sleep` look-alikes, queries, the
/// absolute form, very long targets and invalid ones.
pub fn target() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => Just(owned("/")),
        6 => path(),
        3 => sleep_lookalike(),
        1 => with_query(),
        1 => absolute_target(),
        1 => long_target(),
        1 => bad_target(),
    ]
}

/// A version: `HTTP/1.1` most often, `HTTP/1.0`, other majors, near misses, junk, none.
pub fn version() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => Just(owned("HTTP/1.1")),
        2 => Just(owned("HTTP/1.0")),
        2 => one_of_strs(&["HTTP/2", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9"]),
        3 => one_of_strs(&[
            "http/1.1", "HTTP/11", "HTTP/1.10", "HTTP/1.", "HTTP/1,1", "HTTPS/1.1", "HTP/1.1",
            "HTTP/01.1", "HTTP/1.1.1", "HTTP\\1.1", "HTTP /1.1", "HTTP/ 1.1", "HTTP/1.1\x00", "Http/1.1",
        ]),
        1 => token(10),
        1 => Just(Vec::new()),
    ]
}

/// Between the parts of the request line: one space most often, several spaces, tabs,
/// other whitespace, or nothing.
pub fn separator() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        16 => Just(owned(" ")),
        1 => (2usize..5).prop_map(|n| vec![b' '; n]),
        1 => Just(owned("\t")),
        1 => one_of_strs(&[" \t", "\t ", "\x0b", "\x0c", "\r"]),
        1 => Just(Vec::new()),
    ]
}

/// A line ending: CRLF most often, bare LF, bare CR, or none at all.
pub fn line_ending() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        14 => Just(owned("\r\n")),
        2 => Just(owned("\n")),
        1 => Just(owned("\r")),
        1 => Just(Vec::new()),
    ]
}

/// Empty lines before the request line, rarely (RFC 9112 2.2 says to ignore them).
pub fn leading_empty_lines() -> impl Strategy<Value = Vec<u8>> {
    option::weighted(0.03, one_of_strs(&["\r\n", "\n", "\r\n\r\n"]))
        .prop_map(Option::unwrap_or_default)
}

/// Whitespace before the method or after the version, rarely.
pub fn padding() -> impl Strategy<Value = Vec<u8>> {
    option::weighted(0.03, one_of_strs(&[" ", "\t", "  "])).prop_map(Option::unwrap_or_default)
}

prop_compose! {
    /// A request line without its ending: method, separator, target, separator, version.
    pub fn request_line()(
        lead in padding(),
        method in method(),
        sep1 in separator(),
        target in target(),
        sep2 in separator(),
        version in version(),
        trail in padding(),
    ) -> Vec<u8> {
        [lead, method, sep1, target, sep2, version, trail].concat()
    }
}

/// A field name: common ones first, then any token. Never `Transfer-Encoding`,
/// `Content-Length` or `Expect`, which change how a server reads the rest.
pub fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => one_of_strs(&[
            "Host", "User-Agent", "Accept", "Accept-Language", "Accept-Encoding", "Cache-Control",
            "Cookie", "Connection", "Referer", "X-Request-Id", "If-None-Match", "Range",
        ]),
        1 => token(20),
    ]
}

/// Bytes of field values: visible characters, space and tab, some obs-text (over 0x7f).
const FIELD_BYTES: &[u8] = b"abcxyz0129 -_.,;=/*()\"'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&+:<>?@[]^`{|}~\\\t\x80\xa0\xc3\xe9\xff";

/// A field value: visible characters, spaces and tabs, and bytes over 0x7f (obs-text).
pub fn field_value() -> impl Strategy<Value = Vec<u8>> {
    vec(one_of_bytes(FIELD_BYTES), 0..40)
}

prop_compose! {
    /// A well-formed field line, without its ending.
    pub fn valid_header()(name in field_name(), space in one_of_strs(&[" ", "", "  "]), value in field_value()) -> Vec<u8> {
        [name, owned(":"), space, value].concat()
    }
}

/// A field line that breaks the grammar: no colon, whitespace before the colon, an
/// empty or invalid name, an obs-fold, a control byte in the value, a bad
/// `Content-Length` (never one a lenient server could read as a positive length).
pub fn malformed_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        token(20),
        one_of_strs(&[
            "Host : x",
            "Host\t: x",
            ": x",
            "Ho st: x",
            "Ho\x01st: x",
            "H\u{f6}st: x",
            "(x): y",
            " folded",
            "\tfolded",
            "X: a\x00b",
            "X: a\x7fb",
            "X: a\x1bb",
            "X: a\rb",
            " ",
        ]),
        one_of_strs(&[
            "Content-Length: x",
            "Content-Length:",
            "Content-Length: -1",
            "Content-Length: 0, 0",
            "Content-Length: 0 0",
            "Content-Length: +0",
            "Content-Length: 0x0",
        ]),
        (field_name(), vec(any::<u8>(), 0..20)).prop_map(|(name, value)| [
            name,
            owned(": "),
            value
        ]
        .concat()),
    ]
}

/// A field line too large for many servers: up to 20 KiB, often around 16 KiB.
pub fn huge_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1usize..20 * 1024, 16_000usize..16_600].prop_map(|n| {
        let mut line = owned("X-Big: ");
        line.extend(std::iter::repeat_n(b'x', n));
        line
    })
}

/// One field line, without its ending.
pub fn header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => valid_header(),
        2 => malformed_header(),
        1 => huge_header(),
    ]
}

/// About a hundred short field lines, the count from which a server may refuse a head.
pub fn many_headers() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (90usize..110).prop_map(|n| {
        (0..n)
            .map(|i| format!("X-Field-{i}: {i}").into_bytes())
            .collect()
    })
}

/// Zero or more field lines; rarely about a hundred.
pub fn headers() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        20 => vec(header(), 0..4),
        1 => many_headers(),
    ]
}

/// An optional body, sent with a matching `Content-Length`.
pub fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    option::weighted(0.15, vec(any::<u8>(), 0..64))
}

/// Puts a head together; every line ends with `ending`. Without a line ending there is
/// only the request line. An `incomplete` head lacks its final empty line (and body).
pub fn assemble(
    leading: &[u8],
    line: &[u8],
    ending: &[u8],
    headers: &[Vec<u8>],
    body: Option<&[u8]>,
    complete: bool,
) -> Vec<u8> {
    let mut bytes = [leading, line, ending].concat();
    if ending.is_empty() {
        return bytes;
    }
    for header in headers {
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(ending);
    }
    if let Some(body) = body {
        bytes.extend_from_slice(format!("Content-Length: {}", body.len()).as_bytes());
        bytes.extend_from_slice(ending);
    }
    if complete {
        bytes.extend_from_slice(ending);
        bytes.extend_from_slice(body.unwrap_or_default());
    }
    bytes
}

prop_compose! {
    /// A whole request from the grammar: leading empty lines (rarely), a request line, a
    /// line ending, field lines, the empty line (missing now and then) and a body.
    pub fn grammar_request()(
        leading in leading_empty_lines(),
        line in request_line(),
        ending in line_ending(),
        headers in headers(),
        body in body(),
        complete in proptest::bool::weighted(0.95),
    ) -> Vec<u8> {
        assemble(&leading, &line, &ending, &headers, body.as_deref(), complete)
    }
}

prop_compose! {
    /// A well-formed request: `GET / HTTP/1.1` and a few other common ones, with valid
    /// field lines and an optional body. Shrinks to `GET / HTTP/1.1\r\n\r\n`.
    pub fn valid_request()(
        method in prop_oneof![6 => Just("GET"), 1 => Just("HEAD"), 1 => Just("POST"), 1 => Just("DELETE")],
        target in prop_oneof![
            6 => Just("/"),
            2 => select(&["/a", "/index.html", "/a/b", "/?q=1", "/favicon.ico", "http://localhost/", "/sleeq", "/%41"][..]),
        ],
        version in prop_oneof![6 => Just("HTTP/1.1"), 1 => Just("HTTP/1.0")],
        headers in vec(valid_header(), 0..3),
        body in body(),
    ) -> Vec<u8> {
        let line = format!("{method} {target} {version}");
        assemble(b"", line.as_bytes(), b"\r\n", &headers, body.as_deref(), true)
    }
}

/// One edit of request bytes; positions are [`Index`]es, so they fit any length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Insert these bytes before the position.
    Insert(Index, Vec<u8>),
    /// Delete up to this many bytes from the position.
    Delete(Index, usize),
    /// Flip one bit of the byte at the position.
    Flip(Index, u8),
    /// Repeat up to this many bytes from the position right after them.
    Duplicate(Index, usize),
    /// Replace the byte at the position.
    Replace(Index, u8),
}

/// Bytes worth inserting: line ends, whitespace, NUL, separators, non-UTF-8.
const INTERESTING: &[u8] = b"\r\n \t\x00:/%?.\x7f\xff\x80\xc3";

/// Bytes to insert or write: interesting ones most often, any byte otherwise.
pub fn mutation_byte() -> impl Strategy<Value = u8> {
    prop_oneof![3 => one_of_bytes(INTERESTING), 2 => any::<u8>()]
}

/// One random edit.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), vec(mutation_byte(), 1..4)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<Index>(), 1usize..8).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<Index>(), 1usize..16).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        (any::<Index>(), mutation_byte()).prop_map(|(at, b)| Mutation::Replace(at, b)),
    ]
}

impl Mutation {
    /// Applies the edit; positions wrap to the current length.
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Mutation::Insert(at, new) => {
                let i = at.index(len + 1);
                bytes.splice(i..i, new.iter().copied());
            }
            _ if len == 0 => {}
            Mutation::Delete(at, n) => {
                let i = at.index(len);
                bytes.drain(i..(i + n).min(len));
            }
            Mutation::Flip(at, bit) => bytes[at.index(len)] ^= 1 << (bit % 8),
            Mutation::Duplicate(at, n) => {
                let i = at.index(len);
                let copy = bytes[i..(i + n).min(len)].to_vec();
                let end = i + copy.len();
                bytes.splice(end..end, copy);
            }
            Mutation::Replace(at, b) => bytes[at.index(len)] = *b,
        }
    }
}

/// A valid request with one to three edits.
pub fn mutated_request() -> impl Strategy<Value = Vec<u8>> {
    (valid_request(), vec(mutation(), 1..4)).prop_map(|(mut bytes, edits)| {
        for edit in &edits {
            edit.apply(&mut bytes);
        }
        bytes
    })
}

/// A run of bytes: random ones, or one byte repeated (cheap to shrink by whole runs).
pub fn byte_run() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 1..32),
        1 => (any::<u8>(), 1usize..2048).prop_map(|(b, n)| vec![b; n]),
    ]
}

/// What ends noise: often the empty line that completes a head, sometimes nothing.
pub fn head_end() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![2 => one_of_strs(&["\r\n\r\n", "\n\n", "\r\n\n"]), 1 => Just(Vec::new())]
}

/// Arbitrary bytes: short noise, long noise in runs (up to [`MAX_BYTES`]), a start of an
/// HTTP request followed by noise, noise ended like a head, and text thick with controls,
/// CR, LF and NUL.
pub fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..64),
        2 => vec(byte_run(), 1..48).prop_map(|runs| {
            let mut bytes = runs.concat();
            bytes.truncate(MAX_BYTES);
            bytes
        }),
        2 => (
            one_of_strs(&["GET /", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: x\r\n", "get /", "POST / HTTP/1.1\r\n"]),
            vec(any::<u8>(), 0..48),
            head_end(),
        )
            .prop_map(|(start, noise, end)| [start, noise, end].concat()),
        2 => (vec(any::<u8>(), 0..64), head_end()).prop_map(|(noise, end)| [noise, end].concat()),
        1 => vec(one_of_bytes(b"\x00\x01\x1b\x7f\r\n\t GET/HTP1.:\xff"), 0..256),
    ]
}

/// A pause between pieces: none most often, one time in twenty a few milliseconds.
pub fn pause() -> impl Strategy<Value = Duration> {
    prop_oneof![
        19 => Just(Duration::ZERO),
        1 => (1..=MAX_PAUSE_MS).prop_map(Duration::from_millis),
    ]
}

/// The inputs of `fuzz.request-line`: requests from the grammar, sent whole.
pub fn request_line_input() -> impl Strategy<Value = Input> {
    grammar_request()
        .prop_map(Input::from_bytes)
        .prop_filter("not fuzzable", |i| is_fuzzable(&i.analysis()))
}

/// The inputs of `fuzz.bytes`: arbitrary bytes, sent whole.
pub fn bytes_input() -> impl Strategy<Value = Input> {
    arbitrary_bytes()
        .prop_map(Input::from_bytes)
        .prop_filter("not fuzzable", |i| is_fuzzable(&i.analysis()))
}

/// The inputs of `fuzz.mutation`: edited valid requests, sent whole.
pub fn mutation_input() -> impl Strategy<Value = Input> {
    mutated_request()
        .prop_map(Input::from_bytes)
        .prop_filter("not fuzzable", |i| is_fuzzable(&i.analysis()))
}

/// The inputs of `fuzz.delivery`: requests of the other generators split into 2 to
/// [`MAX_PIECES`] pieces, now and then a few milliseconds apart.
pub fn delivery_input() -> impl Strategy<Value = Input> {
    (
        prop_oneof![3 => valid_request(), 2 => grammar_request(), 1 => mutated_request()],
        vec(any::<Index>(), 1..MAX_PIECES),
        pause(),
    )
        .prop_map(|(bytes, cuts, pause)| Input::split(bytes, &cuts, pause))
        .prop_filter("not fuzzable", |i| is_fuzzable(&i.analysis()))
}
