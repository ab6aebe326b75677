//! A strict parser for HTTP/1.1 request heads (RFC 9112 sections 2 and 3).
//!
//! The request line is parsed here, byte by byte, so that every rejection has its own
//! variant; header fields are parsed by `httparse`. Like httparse, the parser tells an
//! *incomplete* head (`Ok(None)`: read more) from an *invalid* one (`Err`), and it rejects
//! invalid bytes as soon as they arrive rather than waiting for the end of the line.

use crate::server::response::Status;

/// Longest request line accepted, CRLF excluded. Longer lines get 414: 8 KiB is the
/// minimum RFC 9112 section 3 recommends supporting, and far above any real page request.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Longest request head accepted (leading empty lines, request line and fields). Longer
/// heads get 431; 16 KiB leaves room for large cookies while bounding per-connection memory.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields accepted; more get 431. httparse needs a fixed-size slot array.
pub const MAX_HEADERS: usize = 100;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Vec<u8>,
    /// The path of the target (origin-form as sent; absolute-form reduced to its path).
    pub path: Vec<u8>,
    /// Whether the target carried a `?query`.
    pub has_query: bool,
    pub version: (u8, u8),
    /// The request line as received, for logs.
    pub request_line: Vec<u8>,
    /// Length of the declared body (0 when there is no `Content-Length`).
    pub content_length: u64,
    /// Bytes of the buffer taken by the head, blank line included.
    pub head_len: usize,
}

/// Why a head was rejected; each kind maps to exactly one status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("malformed request line: {0}")]
    MalformedRequestLine(&'static str),
    #[error("request target is neither origin-form nor absolute-form")]
    BadTarget,
    #[error("malformed header field")]
    MalformedHeader,
    #[error("invalid Content-Length")]
    BadContentLength,
    #[error("Transfer-Encoding is not supported")]
    TransferEncoding,
    #[error("request line longer than {MAX_REQUEST_LINE} bytes")]
    RequestLineTooLong,
    #[error("request head longer than {MAX_HEAD} bytes or more than {MAX_HEADERS} fields")]
    HeadTooLarge,
}

impl HeadError {
    pub fn status(&self) -> Status {
        match self {
            HeadError::MalformedRequestLine(_)
            | HeadError::BadTarget
            | HeadError::MalformedHeader
            | HeadError::BadContentLength => Status::BadRequest,
            HeadError::TransferEncoding => Status::NotImplemented,
            HeadError::RequestLineTooLong => Status::UriTooLong,
            HeadError::HeadTooLarge => Status::HeaderFieldsTooLarge,
        }
    }
}

/// Parses `buf`, the bytes received so far. `Ok(None)` means the head is incomplete.
pub fn parse(buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    // RFC 9112 section 2.2: a server SHOULD ignore empty lines received before the request line.
    let mut start = 0;
    loop {
        match &buf[start..] {
            [b'\r', b'\n', ..] => start += 2,
            [b'\n', ..] => start += 1,
            [b'\r'] | [] => return Ok(None),
            [b'\r', _, ..] => return Err(HeadError::MalformedRequestLine("bare CR")),
            _ => break,
        }
        if start > MAX_HEAD {
            return Err(HeadError::HeadTooLarge);
        }
    }
    let rest = &buf[start..];
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        // A final CR may be the first half of a CRLF still arriving.
        scan_request_line(rest.strip_suffix(b"\r").unwrap_or(rest), false)?;
        if rest.len() > MAX_REQUEST_LINE + 1 {
            return Err(HeadError::RequestLineTooLong);
        }
        return Ok(None);
    };
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let parts = scan_request_line(line, true)?;
    if line.len() > MAX_REQUEST_LINE {
        return Err(HeadError::RequestLineTooLong);
    }
    if !percent_encoding_valid(parts.target) {
        return Err(HeadError::MalformedRequestLine(
            "a % in the target not followed by two hex digits",
        ));
    }
    let fields_start = start + lf + 1;
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let (fields_len, headers) = match httparse::parse_headers(&buf[fields_start..], &mut slots) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(HeadError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::HeadTooLarge),
        Err(_) => return Err(HeadError::MalformedHeader),
    };
    let head_len = fields_start + fields_len;
    if head_len > MAX_HEAD {
        return Err(HeadError::HeadTooLarge);
    }
    let content_length = content_length(headers)?;
    let (path, has_query) = split_target(parts.method, parts.target)?;
    Ok(Some(RequestHead {
        method: parts.method.to_vec(),
        path: path.to_vec(),
        has_query,
        version: parts.version,
        request_line: line.to_vec(),
        content_length,
        head_len,
    }))
}

/// Whether `line` (a request line without its line end) is well formed with the method
/// `HEAD`: the answer to it, even an error, must not carry a body (RFC 9110 section 9.3.2).
pub fn names_head(line: &[u8]) -> bool {
    scan_request_line(line, true).is_ok_and(|l| l.method == b"HEAD")
}

struct RequestLine<'a> {
    method: &'a [u8],
    target: &'a [u8],
    version: (u8, u8),
}

/// Checks `method SP request-target SP HTTP/DIGIT.DIGIT`. When `complete` is false, `line`
/// is a prefix of a line still arriving: only the bytes present are judged.
fn scan_request_line(line: &[u8], complete: bool) -> Result<RequestLine<'_>, HeadError> {
    use HeadError::MalformedRequestLine as Bad;
    let method_len = line.iter().take_while(|&&b| is_tchar(b)).count();
    let after_method = &line[method_len..];
    match after_method.first() {
        None if !complete => return Ok(partial()),
        None => return Err(Bad("no request target")),
        Some(b' ') if method_len == 0 => return Err(Bad("empty method")),
        Some(b' ') => {}
        Some(b'\r') => return Err(Bad("bare CR")),
        Some(_) => {
            return Err(Bad(
                "byte not allowed in method, or not a single space after it",
            ));
        }
    }
    let target_field = &after_method[1..];
    let target_len = target_field
        .iter()
        .take_while(|&&b| is_target_byte(b))
        .count();
    let after_target = &target_field[target_len..];
    match after_target.first() {
        None if !complete => return Ok(partial()),
        None => return Err(Bad("no HTTP version")),
        Some(b' ') if target_len == 0 => return Err(Bad("empty request target")),
        Some(b' ') => {}
        Some(b'\r') => return Err(Bad("bare CR")),
        Some(_) => return Err(Bad("byte not allowed in request target")),
    }
    let version = &after_target[1..];
    const PATTERN: &[u8] = b"HTTP/d.d";
    for (i, &b) in version.iter().enumerate() {
        let ok = match PATTERN.get(i) {
            Some(b'd') => b.is_ascii_digit(),
            Some(&expected) => b == expected,
            None => false,
        };
        if !ok {
            return Err(if b == b'\r' {
                Bad("bare CR")
            } else {
                Bad("HTTP version is not HTTP/DIGIT.DIGIT")
            });
        }
    }
    if version.len() < PATTERN.len() {
        return if complete {
            Err(Bad("HTTP version is not HTTP/DIGIT.DIGIT"))
        } else {
            Ok(partial())
        };
    }
    Ok(RequestLine {
        method: &line[..method_len],
        target: &target_field[..target_len],
        version: (version[5] - b'0', version[7] - b'0'),
    })
}

fn partial() -> RequestLine<'static> {
    RequestLine {
        method: b"",
        target: b"",
        version: (0, 0),
    }
}

/// RFC 3986 section 2.1: every `%` starts a percent-encoded octet, `%` and two hex digits.
fn percent_encoding_valid(target: &[u8]) -> bool {
    target.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || target
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// `tchar` of RFC 9110 section 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Bytes a request target may hold: visible ASCII (RFC 3986 characters, lenient on which).
fn is_target_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// Reduces origin-form and absolute-form targets to their path (RFC 9112 section 3.2).
/// The asterisk-form of `OPTIONS *` (section 3.2.4) is valid too, and names no page.
fn split_target<'a>(method: &[u8], target: &'a [u8]) -> Result<(&'a [u8], bool), HeadError> {
    if target == b"*" && method == b"OPTIONS" {
        return Ok((target, false));
    }
    let path_and_query = if target.starts_with(b"/") {
        target
    } else {
        let scheme_end = target
            .windows(3)
            .position(|w| w == b"://")
            .ok_or(HeadError::BadTarget)?;
        let scheme = &target[..scheme_end];
        if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
            return Err(HeadError::BadTarget);
        }
        let after_scheme = &target[scheme_end + 3..];
        let authority_len = after_scheme
            .iter()
            .position(|&b| b == b'/' || b == b'?' || b == b'#')
            .unwrap_or(after_scheme.len());
        if authority_len == 0 {
            return Err(HeadError::BadTarget);
        }
        match &after_scheme[authority_len..] {
            [] => b"/",
            rest => rest,
        }
    };
    match path_and_query.iter().position(|&b| b == b'?') {
        Some(0) => Ok((b"/", true)),
        Some(q) => Ok((&path_and_query[..q], true)),
        None => Ok((path_and_query, false)),
    }
}

fn content_length(headers: &[httparse::Header<'_>]) -> Result<u64, HeadError> {
    let mut length = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HeadError::TransferEncoding);
        }
        if !header.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = header.value.trim_ascii();
        if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
            return Err(HeadError::BadContentLength);
        }
        let parsed: u64 = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or(HeadError::BadContentLength)?;
        // RFC 9112 section 6.3: differing Content-Length values make the framing invalid.
        if length.is_some_and(|seen| seen != parsed) {
            return Err(HeadError::BadContentLength);
        }
        length = Some(parsed);
    }
    Ok(length.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &[u8]) -> RequestHead {
        parse(input)
            .unwrap_or_else(|e| panic!("{e} for {input:?}"))
            .unwrap_or_else(|| panic!("incomplete: {input:?}"))
    }

    fn err(input: &[u8]) -> HeadError {
        parse(input).expect_err(&format!("accepted {:?}", String::from_utf8_lossy(input)))
    }

    /// Regression: the reference sent its error page after the head of a 400 to a HEAD
    /// request whose line it had read (a bad field, a bad target): a body after HEAD.
    #[test]
    fn a_percent_sign_must_start_an_encoded_octet() {
        assert!(
            ok(b"GET /%41%2f HTTP/1.1\r\n\r\n")
                .path
                .starts_with(b"/%41")
        );
        for bad in [
            &b"GET /% HTTP/1.1\r\n\r\n"[..],
            b"GET /%4 HTTP/1.1\r\n\r\n",
            b"GET /%zz HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(err(bad), HeadError::MalformedRequestLine(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_well_formed_head_line_is_known_for_error_answers() {
        assert!(names_head(b"HEAD / HTTP/1.1"));
        assert!(names_head(b"HEAD index.html HTTP/2.0"));
        assert!(
            !names_head(b"HEAD  / HTTP/1.1"),
            "malformed: the method is not known"
        );
        assert!(!names_head(b"GET / HTTP/1.1"));
        assert!(!names_head(b""));
    }

    #[test]
    fn book_request_line_parses() {
        let head = ok(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(head.method, b"GET");
        assert_eq!(head.path, b"/");
        assert_eq!(head.version, (1, 1));
        assert_eq!(head.head_len, 18);
        assert!(!head.has_query);
    }

    #[test]
    fn headers_and_body_length_are_read() {
        let req = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
        let head = ok(req);
        assert_eq!(head.content_length, 5);
        assert_eq!(head.head_len, req.len() - 5);
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        for input in [
            &b""[..],
            b"\r",
            b"G",
            b"GET",
            b"GET ",
            b"GET /",
            b"GET / ",
            b"GET / HTTP/1.",
            b"GET / HTTP/1.1",
            b"GET / HTTP/1.1\r",
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            b"\r\nGET / HTTP/1.1\r\n",
        ] {
            assert_eq!(
                parse(input),
                Ok(None),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn bare_lf_and_leading_empty_lines_are_accepted() {
        assert_eq!(ok(b"GET / HTTP/1.1\n\n").path, b"/");
        assert_eq!(ok(b"\r\n\nGET /sleep HTTP/1.1\r\n\r\n").path, b"/sleep");
    }

    #[test]
    fn absolute_form_reduces_to_its_path() {
        assert_eq!(ok(b"GET http://localhost/ HTTP/1.1\r\n\r\n").path, b"/");
        assert_eq!(ok(b"GET HTTP://h:80 HTTP/1.1\r\n\r\n").path, b"/");
        assert_eq!(ok(b"GET http://h/sleep HTTP/1.1\r\n\r\n").path, b"/sleep");
        let q = ok(b"GET http://h/?a HTTP/1.1\r\n\r\n");
        assert_eq!((q.path.as_slice(), q.has_query), (&b"/"[..], true));
        assert_eq!(
            err(b"GET index.html HTTP/1.1\r\n\r\n"),
            HeadError::BadTarget
        );
        assert_eq!(err(b"GET http:/// HTTP/1.1\r\n\r\n"), HeadError::BadTarget);
        assert_eq!(err(b"GET ftp://h/ HTTP/1.1\r\n\r\n"), HeadError::BadTarget);
    }

    #[test]
    fn other_versions_are_well_formed() {
        assert_eq!(ok(b"GET / HTTP/1.0\r\n\r\n").version, (1, 0));
        assert_eq!(ok(b"GET / HTTP/2.0\r\n\r\n").version, (2, 0));
    }

    #[test]
    fn grammar_violations_are_rejected_early() {
        for input in [
            &b"GET / HTTP/1.10\r\n\r\n"[..],
            b"GET / HTTP/1.1x\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET /HTTP/1.1\r\n\r\n",
            b"GET\t/ HTTP/1.1\r\n\r\n",
            b" GET / HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET /\0 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\rX\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"\rGET / HTTP/1.1\r\n\r\n",
            // Incomplete, yet already wrong: no need to wait for the rest.
            b"G\xffT",
            b"GET /a\0",
            b"GET / HTTQ",
        ] {
            assert!(
                matches!(err(input), HeadError::MalformedRequestLine(_)),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn malformed_fields_are_rejected() {
        for input in [
            &b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nName : v\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\0c\r\n\r\n",
        ] {
            assert_eq!(err(input), HeadError::MalformedHeader);
        }
        // obs-text is allowed in field values (RFC 9110 section 5.5).
        ok(b"GET / HTTP/1.1\r\nX-Note: caf\xe9\r\n\r\n");
    }

    #[test]
    fn content_length_must_be_digits_and_agree() {
        for bad in [&b"abc"[..], b"-1", b"1 2", b"", b"99999999999999999999"] {
            let mut req = b"GET / HTTP/1.1\r\nContent-Length: ".to_vec();
            req.extend_from_slice(bad);
            req.extend_from_slice(b"\r\n\r\n");
            assert_eq!(err(&req), HeadError::BadContentLength);
        }
        let twice = b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(err(twice), HeadError::BadContentLength);
        let same = b"GET / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab";
        assert_eq!(ok(same).content_length, 2);
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(err(chunked), HeadError::TransferEncoding);
    }

    #[test]
    fn limits_map_to_their_statuses() {
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(err(long_line.as_bytes()), HeadError::RequestLineTooLong);
        // Still arriving, but already too long to ever fit.
        let long_partial = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(err(long_partial.as_bytes()), HeadError::RequestLineTooLong);
        let at_limit = format!(
            "GET /{} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE - 15)
        );
        ok(at_limit.as_bytes());

        let big_head = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X-Pad: aaaaaaaaaa\r\n".repeat(900)
        );
        assert_eq!(err(big_head.as_bytes()), HeadError::HeadTooLarge);
        let big_partial = format!("GET / HTTP/1.1\r\n{}", "X-Pad: aaaaaaaaaa\r\n".repeat(900));
        assert_eq!(err(big_partial.as_bytes()), HeadError::HeadTooLarge);
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(err(many.as_bytes()), HeadError::HeadTooLarge);
    }

    #[test]
    fn every_error_has_one_status() {
        assert_eq!(HeadError::BadTarget.status(), Status::BadRequest);
        assert_eq!(HeadError::RequestLineTooLong.status(), Status::UriTooLong);
        assert_eq!(
            HeadError::HeadTooLarge.status(),
            Status::HeaderFieldsTooLarge
        );
        assert_eq!(HeadError::TransferEncoding.status(), Status::NotImplemented);
    }
}
