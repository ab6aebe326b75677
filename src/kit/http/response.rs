//! The kit's one HTTP/1.x response parser: the raw client, the judge, the page learner and
//! the concurrency clients all read responses through it, so that a response one part of
//! the kit accepts is accepted by every other.
//!
//! It reads a *stream* of responses, as a client on a persistent connection must (RFC 9112
//! section 9.3): any number of interim `1xx` responses before each final one (RFC 9110
//! section 15.2: "A client MUST be able to parse one or more 1xx responses received prior
//! to a final response"), each final response framed by RFC 9112 section 6.3, and the next
//! response starting right after. Incomplete is distinct from invalid ([`Next`]); every way
//! to be invalid is its own [`ParseError`] variant.

use std::fmt;

/// Most header fields parsed in one response head; more is a [`ParseError::TooManyFields`].
/// Widely used stacks send about ten; a hundred leaves room for any framework's extras.
pub const MAX_FIELDS: usize = 128;
/// Most interim (`1xx`) responses accepted before a final one: a server that sends more is
/// taken to be looping.
pub const MAX_INTERIM: usize = 16;
/// Longest chunk-size line (hex digits and extensions): longer is not a real chunk.
const MAX_CHUNK_LINE: usize = 4096;

/// Why bytes are not a valid HTTP/1.x response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The bytes do not start like `HTTP/1.x`: quoted (escaped, cut) for the report.
    NotHttp(String),
    /// The status line or a field line breaks the grammar (httparse's reason).
    BadHead(String),
    /// More than [`MAX_FIELDS`] header fields.
    TooManyFields,
    /// A `Content-Length` that is not one decimal number (RFC 9112 section 6.3, item 5).
    BadContentLength(String),
    /// Two `Content-Length` fields with different values.
    ConflictingContentLength,
    /// A chunk-size line that is not hex digits with optional extensions (RFC 9112 7.1).
    BadChunkSize(String),
    /// Chunk data not followed by CRLF.
    ChunkNotTerminated,
    /// A trailer field line that breaks the grammar (RFC 9112 section 7.1.2).
    BadTrailer,
    /// More than [`MAX_INTERIM`] interim responses in a row.
    TooManyInterim,
    /// A chunk-size line longer than the kit reads.
    ChunkLineTooLong,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotHttp(start) => {
                write!(f, "not an HTTP/1.x response: it starts with \"{start}\"")
            }
            ParseError::BadHead(reason) => {
                write!(f, "not a valid HTTP/1.x response head: {reason}")
            }
            ParseError::TooManyFields => {
                write!(f, "more than {MAX_FIELDS} header fields in one response")
            }
            ParseError::BadContentLength(value) => {
                write!(f, "invalid Content-Length \"{value}\"")
            }
            ParseError::ConflictingContentLength => {
                f.write_str("two Content-Length fields with different values")
            }
            ParseError::BadChunkSize(line) => write!(f, "invalid chunk-size line \"{line}\""),
            ParseError::ChunkNotTerminated => f.write_str("chunk data not followed by CRLF"),
            ParseError::BadTrailer => f.write_str("an invalid trailer field line"),
            ParseError::ChunkLineTooLong => {
                write!(f, "a chunk-size line longer than {MAX_CHUNK_LINE} bytes")
            }
            ParseError::TooManyInterim => {
                write!(
                    f,
                    "more than {MAX_INTERIM} interim (1xx) responses in a row"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// A parsed response head (status line and fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// 1 for HTTP/1.1, 0 for HTTP/1.0 (2 to 9 for the later minor versions no RFC defines).
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub fields: Vec<(String, Vec<u8>)>,
    /// Length of the head, with its final empty line.
    pub len: usize,
}

impl Head {
    /// Parses a head at the start of `bytes`; `Ok(None)` while incomplete.
    pub fn parse(bytes: &[u8]) -> Result<Option<Head>, ParseError> {
        // httparse reads only HTTP/1.0 and HTTP/1.1; a later minor version is valid syntax
        // (RFC 9112 2.3), read here as 1.1 and recorded as it was sent.
        let later_minor = match bytes {
            [
                b'H',
                b'T',
                b'T',
                b'P',
                b'/',
                b'1',
                b'.',
                minor @ b'2'..=b'9',
                ..,
            ] => Some(*minor),
            _ => None,
        };
        let patched;
        let bytes = match later_minor {
            Some(_) => {
                patched = [b"HTTP/1.1", &bytes[8..]].concat();
                patched.as_slice()
            }
            None => bytes,
        };
        let mut slots = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut parsed = httparse::Response::new(&mut slots);
        let len = match parsed.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyFields),
            Err(httparse::Error::Version) if !looks_like_http(bytes) => {
                return Err(ParseError::NotHttp(quote(bytes)));
            }
            Err(e) => return Err(ParseError::BadHead(e.to_string())),
        };
        Ok(Some(Head {
            minor_version: later_minor.map_or(parsed.version.unwrap_or(0), |m| m - b'0'),
            status: parsed.code.unwrap_or(0),
            reason: parsed.reason.unwrap_or("").to_string(),
            fields: parsed
                .headers
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
            len,
        }))
    }

    /// The first field called `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of the fields called `name`, in order.
    pub fn fields_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether a list-valued field holds `token` (case-insensitive), e.g. `close` in
    /// `Connection: keep-alive, close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.fields_named(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// An interim response (`1xx`) other than `101 Switching Protocols`, which ends HTTP/1.1
    /// on the connection and so is final.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// `Connection: close` (RFC 9112 section 9.6).
    pub fn says_close(&self) -> bool {
        self.has_token("connection", "close")
    }

    /// Whether a client may keep using the connection after this response, by RFC 9112
    /// section 9.3: not after `close`; after HTTP/1.1; after HTTP/1.0 only with
    /// `keep-alive`.
    pub fn persistent(&self) -> bool {
        !self.says_close()
            && (self.minor_version >= 1 || self.has_token("connection", "keep-alive"))
    }

    /// The `Content-Length`, when present and valid.
    pub fn content_length(&self) -> Result<Option<u64>, ParseError> {
        let mut length = None;
        for value in self.fields_named("content-length") {
            let text = String::from_utf8_lossy(value);
            let trimmed = text.trim_matches([' ', '\t']);
            let this: u64 = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                trimmed
                    .parse()
                    .map_err(|_| ParseError::BadContentLength(text.to_string()))?
            } else {
                return Err(ParseError::BadContentLength(text.to_string()));
            };
            match length {
                Some(previous) if previous != this => {
                    return Err(ParseError::ConflictingContentLength);
                }
                _ => length = Some(this),
            }
        }
        Ok(length)
    }

    /// How the body of this response is delimited (RFC 9112 section 6.3), given whether it
    /// answers a `HEAD` request.
    pub fn body_framing(&self, head_request: bool) -> Result<BodyFraming, ParseError> {
        if head_request || self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(BodyFraming::Empty);
        }
        // Item 3: Transfer-Encoding overrides Content-Length; chunked only as the final
        // coding, otherwise the body runs until the connection closes.
        let codings: Vec<&[u8]> = self.fields_named("transfer-encoding").collect();
        if !codings.is_empty() {
            let last = codings
                .last()
                .and_then(|v| v.rsplit(|&b| b == b',').next())
                .map(<[u8]>::trim_ascii)
                .unwrap_or_default();
            return Ok(if last.eq_ignore_ascii_case(b"chunked") {
                BodyFraming::Chunked
            } else {
                BodyFraming::UntilClose
            });
        }
        Ok(match self.content_length()? {
            Some(n) => BodyFraming::Length(n),
            None => BodyFraming::UntilClose,
        })
    }
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// One final response, with the interim ones before it, located in the received stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Interim (`1xx`) responses received before the final one.
    pub interim: Vec<Head>,
    pub head: Head,
    /// Offset of the message's first byte (of its first interim response, if any).
    pub start: usize,
    /// Offset of the final head's first byte.
    pub head_start: usize,
    /// Offset one past the message's last byte.
    pub end: usize,
    pub framing: BodyFraming,
}

impl Message {
    /// Offset of the first body byte.
    pub fn body_start(&self) -> usize {
        self.head_start + self.head.len
    }

    /// The body, decoded when chunked.
    pub fn body(&self, stream: &[u8]) -> Vec<u8> {
        let raw = &stream[self.body_start().min(stream.len())..self.end.min(stream.len())];
        match self.framing {
            BodyFraming::Chunked => match chunked(raw) {
                Ok(Some(chunks)) => chunks.body,
                _ => Vec::new(),
            },
            _ => raw.to_vec(),
        }
    }
}

/// What the stream holds from some offset on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing (yet).
    Nothing,
    /// A complete response.
    Complete(Message),
    /// The start of a response: more bytes are needed. `head` is the final head once it is
    /// complete.
    Incomplete { head: Option<Head> },
    /// A response delimited by the close, whose connection is still open.
    UntilClose(Message),
    /// Not a valid response.
    Invalid(ParseError),
}

/// Reads the response that starts at `at` in `stream`. `closed` says the server has closed
/// the connection, which completes a body delimited by the close.
pub fn next(stream: &[u8], at: usize, head_request: bool, closed: bool) -> Next {
    let mut pos = at;
    let mut interim = Vec::new();
    loop {
        if pos >= stream.len() {
            return if interim.is_empty() {
                Next::Nothing
            } else {
                Next::Incomplete { head: None }
            };
        }
        let head = match Head::parse(&stream[pos..]) {
            Ok(Some(head)) => head,
            Ok(None) => return Next::Incomplete { head: None },
            Err(e) => return Next::Invalid(e),
        };
        if head.is_interim() {
            if interim.len() == MAX_INTERIM {
                return Next::Invalid(ParseError::TooManyInterim);
            }
            pos += head.len;
            interim.push(head);
            continue;
        }
        let framing = match head.body_framing(head_request) {
            Ok(framing) => framing,
            Err(e) => return Next::Invalid(e),
        };
        let body_start = pos + head.len;
        let message = |end: usize, head: Head| Message {
            interim: interim.clone(),
            head,
            start: at,
            head_start: pos,
            end,
            framing,
        };
        let available = &stream[body_start..];
        return match framing {
            BodyFraming::Empty => Next::Complete(message(body_start, head)),
            BodyFraming::Length(n) => match usize::try_from(n) {
                Ok(n) if available.len() >= n => Next::Complete(message(body_start + n, head)),
                _ => Next::Incomplete { head: Some(head) },
            },
            // Framing only: the body is decoded when asked for (`Message::body`), not at
            // every read of a long chunked stream.
            BodyFraming::Chunked => match chunks_end(available) {
                Ok(Some(used)) => Next::Complete(message(body_start + used, head)),
                Ok(None) => Next::Incomplete { head: Some(head) },
                Err(e) => Next::Invalid(e),
            },
            BodyFraming::UntilClose if closed => Next::Complete(message(stream.len(), head)),
            BodyFraming::UntilClose => Next::UntilClose(message(stream.len(), head)),
        };
    }
}

/// Every complete response in `stream`, in order, the `i`-th framed as the answer to a
/// `HEAD` request when `head_requests[i]` says so (requests beyond the list are taken for
/// not `HEAD`); then what follows the last one.
pub fn all(stream: &[u8], head_requests: &[bool], closed: bool) -> (Vec<Message>, Next) {
    let mut messages = Vec::new();
    let mut at = 0;
    loop {
        let head_request = head_requests.get(messages.len()).copied().unwrap_or(false);
        match next(stream, at, head_request, closed) {
            Next::Complete(message) => {
                at = message.end;
                messages.push(message);
            }
            rest => return (messages, rest),
        }
    }
}

/// A decoded chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    pub body: Vec<u8>,
    /// Bytes of the stream the coding used, trailer section included.
    pub used: usize,
}

/// Decodes a chunked body strictly (RFC 9112 section 7.1): hex sizes, CRLF line ends,
/// chunk extensions allowed and ignored, trailer fields checked and ignored. `Ok(None)`
/// while incomplete.
pub fn chunked(bytes: &[u8]) -> Result<Option<Chunks>, ParseError> {
    let mut body = Vec::new();
    let used = walk_chunks(bytes, |data| body.extend_from_slice(data))?;
    Ok(used.map(|used| Chunks { body, used }))
}

/// Where a chunked body ends (the bytes it uses, trailer section included), checked as
/// strictly as [`chunked`], without copying its data.
pub fn chunks_end(bytes: &[u8]) -> Result<Option<usize>, ParseError> {
    walk_chunks(bytes, |_| {})
}

/// Walks the chunks, handing each chunk's data to `data`; the bytes used, or `Ok(None)`
/// while incomplete.
fn walk_chunks(bytes: &[u8], mut data: impl FnMut(&[u8])) -> Result<Option<usize>, ParseError> {
    let mut pos = 0;
    loop {
        let Some(line) = crlf_line(&bytes[pos..], MAX_CHUNK_LINE)? else {
            return Ok(None);
        };
        let size = chunk_size(line)?;
        pos += line.len() + 2;
        if size == 0 {
            return trailer(bytes, pos);
        }
        let size = usize::try_from(size).map_err(|_| ParseError::BadChunkSize(quote(line)))?;
        let Some(data_end) = pos.checked_add(size) else {
            return Err(ParseError::BadChunkSize(quote(line)));
        };
        if bytes.len() < data_end + 2 {
            // The data, or its CRLF, is not all here yet; a wrong byte already here is an
            // error now.
            let here = &bytes[data_end.min(bytes.len())..];
            if !b"\r\n".starts_with(here) {
                return Err(ParseError::ChunkNotTerminated);
            }
            return Ok(None);
        }
        if &bytes[data_end..data_end + 2] != b"\r\n" {
            return Err(ParseError::ChunkNotTerminated);
        }
        data(&bytes[pos..data_end]);
        pos = data_end + 2;
    }
}

/// The line at the start of `bytes`, without its CRLF; `Ok(None)` while incomplete. A bare
/// LF, or a CR not followed by LF, is an error: chunk lines end in CRLF.
fn crlf_line(bytes: &[u8], max: usize) -> Result<Option<&[u8]>, ParseError> {
    let Some(lf) = bytes.iter().take(max + 2).position(|&b| b == b'\n') else {
        return if bytes.len() > max + 1 {
            Err(ParseError::ChunkLineTooLong)
        } else {
            Ok(None)
        };
    };
    match bytes[..lf].strip_suffix(b"\r") {
        Some(line) if !line.contains(&b'\r') => Ok(Some(line)),
        _ => Err(ParseError::BadChunkSize(quote(&bytes[..lf]))),
    }
}

/// `chunk-size [ chunk-ext ]`: one or more hex digits, then nothing, or `;` extensions
/// after optional whitespace (BWS).
fn chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let bad = || ParseError::BadChunkSize(quote(line));
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(bad());
    }
    let rest = line[digits..].trim_ascii_start();
    if !rest.is_empty() && !rest.starts_with(b";") {
        return Err(bad());
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| bad())?;
    let text = text.trim_start_matches('0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 16).map_err(|_| bad())
}

/// The trailer section from `pos`: field lines, then an empty line. `Ok(Some(end))`.
fn trailer(bytes: &[u8], mut pos: usize) -> Result<Option<usize>, ParseError> {
    loop {
        let Some(line) =
            crlf_line(&bytes[pos..], MAX_CHUNK_LINE).map_err(|_| ParseError::BadTrailer)?
        else {
            return Ok(None);
        };
        pos += line.len() + 2;
        if line.is_empty() {
            return Ok(Some(pos));
        }
        let colon = line.iter().position(|&b| b == b':');
        let name_ok = colon.is_some_and(|c| c > 0 && line[..c].iter().all(|&b| is_tchar(b)));
        if !name_ok {
            return Err(ParseError::BadTrailer);
        }
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether the bytes start like an HTTP/1 status line, as far as they go.
fn looks_like_http(bytes: &[u8]) -> bool {
    let n = bytes.len().min(5);
    bytes[..n] == b"HTTP/"[..n]
}

/// The first bytes, escaped and cut, to quote in a message.
fn quote(bytes: &[u8]) -> String {
    crate::kit::http::escape::escape_truncated(bytes, 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(stream: &[u8], head: bool) -> Message {
        match next(stream, 0, head, false) {
            Next::Complete(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_length_chunked_and_close_frame_a_response() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(complete(full, false).end, full.len());
        assert_eq!(complete(full, true).end, full.len() - 3);
        assert!(matches!(
            next(&full[..full.len() - 1], 0, false, false),
            Next::Incomplete { head: Some(_) }
        ));
        assert_eq!(
            next(&full[..10], 0, false, false),
            Next::Incomplete { head: None }
        );
        let close = b"HTTP/1.1 404 NOT FOUND\r\n\r\nx";
        assert!(matches!(next(close, 0, false, false), Next::UntilClose(_)));
        assert_eq!(complete_closed(close).body(close), b"x");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n";
        let m = complete(chunked, false);
        assert_eq!((m.end, m.body(chunked)), (chunked.len(), b"abc".to_vec()));
        let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(complete(no_content, false).end, no_content.len());
    }

    fn complete_closed(stream: &[u8]) -> Message {
        match next(stream, 0, false, true) {
            Next::Complete(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn interim_responses_come_before_the_final_one() {
        let stream = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let m = complete(stream, false);
        assert_eq!(m.interim.len(), 2);
        assert_eq!((m.head.status, m.start, m.end), (200, 0, stream.len()));
        assert_eq!(m.body(stream), b"ok");
        let only_interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert_eq!(
            next(only_interim, 0, false, false),
            Next::Incomplete { head: None }
        );
        let switching = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
        assert_eq!(complete(switching, false).head.status, 101);
    }

    #[test]
    fn a_second_response_is_never_read_as_the_body_of_the_first() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 404 Not Found\r\nContent-Length: 1\r\n\r\nx";
        let (messages, rest) = all(two, &[], false);
        assert_eq!(rest, Next::Nothing);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].head.status, 404);
        assert_eq!(messages[1].head.minor_version, 0);
        assert_eq!(messages[1].body(two), b"x");
        // The first answers a HEAD: its Content-Length frames no body.
        let head_then_get = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let (messages, _) = all(head_then_get, &[true, false], false);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].body(head_then_get), b"hello");
    }

    #[test]
    fn every_invalid_response_has_its_own_error() {
        let invalid = |stream: &[u8]| match next(stream, 0, false, false) {
            Next::Invalid(e) => e,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(stream)),
        };
        assert!(
            matches!(invalid(b"SSH-2.0-OpenSSH_9.6\r\n"), ParseError::NotHttp(s) if s.starts_with("SSH-2.0"))
        );
        assert!(matches!(invalid(b"<html>"), ParseError::NotHttp(_)));
        assert!(matches!(
            invalid(b"HTTP/2 200\r\n\r\n"),
            ParseError::BadHead(_)
        ));
        assert_eq!(
            invalid(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            ParseError::BadContentLength("x".into())
        );
        assert_eq!(
            invalid(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            ParseError::ConflictingContentLength
        );
        let chunk = |body: &[u8]| {
            [
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".as_slice(),
                body,
            ]
            .concat()
        };
        assert!(matches!(
            invalid(&chunk(b"zz\r\n")),
            ParseError::BadChunkSize(_)
        ));
        assert!(matches!(
            invalid(&chunk(b"3\nabc\r\n")),
            ParseError::BadChunkSize(_)
        ));
        assert!(matches!(
            invalid(&chunk(b"3 x\r\nabc\r\n")),
            ParseError::BadChunkSize(_)
        ));
        assert!(matches!(
            invalid(&chunk(b"ffffffffffffffffffff\r\n")),
            ParseError::BadChunkSize(_)
        ));
        assert_eq!(
            invalid(&chunk(b"3\r\nabcd")),
            ParseError::ChunkNotTerminated
        );
        assert_eq!(
            invalid(&chunk(b"0\r\nno colon\r\n\r\n")),
            ParseError::BadTrailer
        );
        let many = [
            b"HTTP/1.1 200 OK\r\n".as_slice(),
            &b"X: y\r\n".repeat(MAX_FIELDS + 1),
            b"\r\n",
        ]
        .concat();
        assert_eq!(invalid(&many), ParseError::TooManyFields);
        let loop_ = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1);
        assert_eq!(invalid(&loop_), ParseError::TooManyInterim);
    }

    #[test]
    fn a_chunked_body_is_incomplete_until_its_last_crlf() {
        let body = b"3\r\nabc\r\n0\r\n\r\n";
        for cut in 0..body.len() {
            assert_eq!(chunked(&body[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(chunked(body).unwrap().unwrap().used, body.len());
        assert_eq!(
            chunked(b"00;ext\r\n\r\n").unwrap().unwrap(),
            Chunks {
                body: Vec::new(),
                used: 10
            }
        );
    }

    #[test]
    fn persistence_follows_the_version_and_connection() {
        let head = |text: &str| Head::parse(text.as_bytes()).unwrap().unwrap();
        assert!(head("HTTP/1.1 200 OK\r\n\r\n").persistent());
        assert!(!head("HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n").persistent());
        assert!(!head("HTTP/1.0 200 OK\r\n\r\n").persistent());
        assert!(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").persistent());
        assert!(head("HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\n\r\n").says_close());
    }
}
