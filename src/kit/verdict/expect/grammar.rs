//! The request grammar as the analyzer reads it (RFC 9112 sections 2 to 7, RFC 3986 for
//! paths): small, independent readers with no opinion on verdicts. Written without the
//! reference server's parser: the two are checked against each other by fuzzing.

/// `tchar` of RFC 9110 section 5.6.2.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The whitespace RFC 9112 section 3 lets a recipient split a request line on: SP, HTAB, VT,
/// FF and bare CR.
pub fn is_line_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0b | 0x0c | b'\r')
}

/// `HTTP/DIGIT.DIGIT` (RFC 9112 section 2.3): `(major, minor)`.
pub fn parse_version(v: &[u8]) -> Option<(u8, u8)> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// Lines split on LF; a CR before the LF is dropped, and a line without one is a bare LF.
pub struct Lines<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
    pub bare_lf: bool,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8], pos: usize) -> Self {
        Lines {
            bytes,
            pos,
            bare_lf: false,
        }
    }

    /// The next complete line, without its line end; `None` when no LF follows.
    pub fn next_line(&mut self) -> Option<&'a [u8]> {
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

/// A request line split on whitespace, as a tolerant recipient reads it: the method, and
/// the target and version when there are words for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words<'a> {
    pub method: &'a [u8],
    pub target: Option<&'a [u8]>,
    pub version: Option<&'a [u8]>,
    /// How many words the line has (a request line has three).
    pub count: usize,
    /// The line is exactly `method SP target SP version`.
    pub single_spaces: bool,
    /// A word after the target looks like an HTTP version (`HTTP/...`, in any case): the
    /// client meant HTTP/1.x, not HTTP/0.9.
    pub names_a_version: bool,
}

/// The words of a request line; `None` for a line of whitespace only.
pub fn words(line: &[u8]) -> Option<Words<'_>> {
    let words: Vec<&[u8]> = line
        .split(|&b| is_line_whitespace(b))
        .filter(|w| !w.is_empty())
        .collect();
    let (&method, rest) = words.split_first()?;
    let (target, version) = (rest.first().copied(), rest.get(1).copied());
    let single_spaces = match (target, version) {
        (Some(target), Some(version)) if words.len() == 3 => {
            line.len() == method.len() + target.len() + version.len() + 2
                && line.starts_with(method)
                && line[method.len()] == b' '
                && line[method.len() + 1 + target.len()] == b' '
        }
        _ => false,
    };
    let names_a_version = words
        .iter()
        .skip(2)
        .any(|w| w.len() >= 5 && w[..5].eq_ignore_ascii_case(b"HTTP/"));
    Some(Words {
        method,
        target,
        version,
        count: words.len(),
        single_spaces,
        names_a_version,
    })
}

/// The form of a request target (RFC 9112 section 3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`.
    Origin { path: Vec<u8>, query: bool },
    /// `http://host/path?query` (or `https`); `foreign` for another scheme.
    Absolute {
        path: Vec<u8>,
        query: bool,
        foreign: bool,
    },
    /// `*`.
    Asterisk,
    /// `host:port`.
    Authority,
    /// None of these.
    Invalid,
}

/// Reads the target's form, and its path and query.
pub fn target_form(target: &[u8]) -> TargetForm {
    let split = |path_and_query: &[u8]| match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => (path_and_query[..q].to_vec(), true),
        None => (path_and_query.to_vec(), false),
    };
    if target.starts_with(b"/") {
        let (path, query) = split(target);
        return TargetForm::Origin { path, query };
    }
    if target == b"*" {
        return TargetForm::Asterisk;
    }
    if let Some(sep) = target.windows(3).position(|w| w == b"://") {
        let scheme = &target[..sep];
        if !is_scheme(scheme) {
            return TargetForm::Invalid;
        }
        let foreign =
            !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https");
        let rest = &target[sep + 3..];
        let authority = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?' || b == b'#')
            .unwrap_or(rest.len());
        if authority == 0 {
            return TargetForm::Invalid;
        }
        let (path, query) = match &rest[authority..] {
            [] => (b"/".to_vec(), false),
            [b'?', ..] => (b"/".to_vec(), true),
            more => split(more),
        };
        return TargetForm::Absolute {
            path,
            query,
            foreign,
        };
    }
    if is_authority(target) {
        return TargetForm::Authority;
    }
    TargetForm::Invalid
}

/// `scheme` of RFC 3986 section 3.1: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(scheme: &[u8]) -> bool {
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Every `%` is followed by two hex digits (RFC 3986 section 2.1).
pub fn percent_encoding_valid(target: &[u8]) -> bool {
    target.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || target
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// A `Host` value RFC 9112 section 3.2 accepts: `uri-host [ ":" port ]`, where a host is
/// an IP literal in brackets or unreserved, percent-encoded and sub-delim characters, and
/// the port digits; empty is valid (a target with no authority).
pub fn host_valid(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    let (host, port) = match value.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => return false,
        },
        None => match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &b""[..]),
        },
    };
    let host_ok = host
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:".contains(&b))
        && percent_encoding_valid(host);
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    host_ok && port_ok
}

/// `host:port` (RFC 9112 section 3.2.3): a host of name characters and a decimal port.
fn is_authority(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
}

/// A path as widely used servers normalise it before routing: percent-encoded unreserved
/// characters decoded (RFC 3986 section 6.2.2.2), dot segments removed (section 5.2.4,
/// encoded dots included), and runs of slashes merged (not an RFC 3986 normalisation, but
/// nginx's `merge_slashes` and Go's path cleaning apply it).
pub fn normalize_path(path: &[u8]) -> Vec<u8> {
    let decoded = decode_unreserved(path);
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in decoded.split(|&b| b == b'/').skip(1) {
        trailing_slash = false;
        match segment {
            b"" => trailing_slash = true,
            b"." => trailing_slash = true,
            b".." => {
                segments.pop();
                trailing_slash = true;
            }
            other => segments.push(other),
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if segments.is_empty() || trailing_slash {
        out.push(b'/');
    }
    out
}

/// `%XX` of an unreserved character (ALPHA, DIGIT, `-`, `.`, `_`, `~`) decoded; every other
/// escape kept as it is.
fn decode_unreserved(path: &[u8]) -> Vec<u8> {
    percent_decode(path, |byte| {
        byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)
    })
}

/// `path` with each valid `%XX` whose byte `decode` accepts replaced by that byte; every
/// other byte, and every other escape, kept as it is.
pub fn percent_decode(path: &[u8], decode: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%'
            && let Some(byte) = path
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            && decode(byte)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(path[i]);
        i += 1;
    }
    out
}

/// A field line (RFC 9112 section 5): `Ok((name, value))` when it follows the grammar.
pub fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    let value_ok = value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80);
    (!name.is_empty() && name.iter().all(|&b| is_tchar(b)) && value_ok).then_some((name, value))
}

/// The length a `Content-Length` value gives when it is valid: digits only, around them
/// only optional whitespace.
pub fn strict_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// What a lenient parser may make of a `Content-Length` value: whitespace trimmed (CR and
/// Unicode spaces included, as `str::trim` does), an optional `+` (as `u64::from_str`
/// accepts), then the leading digits (`atoi`), which also reads a list `40, 40` as 40.
pub fn tolerant_length(value: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim_start();
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_as_widely_used_servers_do() {
        for (path, normal) in [
            (&b"/"[..], &b"/"[..]),
            (b"//", b"/"),
            (b"/./", b"/"),
            (b"/%2e%2e/", b"/"),
            (b"/..", b"/"),
            (b"/a/../sleep", b"/sleep"),
            (b"//sleep", b"/sleep"),
            (b"/%73leep", b"/sleep"),
            (b"/sleep/", b"/sleep/"),
            (b"/sleep/.", b"/sleep/"),
            (b"/%2Fsleep", b"/%2Fsleep"),
            (b"/SLEEP", b"/SLEEP"),
        ] {
            assert_eq!(
                normalize_path(path),
                normal,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn target_forms_are_told_apart() {
        assert_eq!(
            target_form(b"/x?y"),
            TargetForm::Origin {
                path: b"/x".to_vec(),
                query: true
            }
        );
        assert_eq!(
            target_form(b"http://h"),
            TargetForm::Absolute {
                path: b"/".to_vec(),
                query: false,
                foreign: false
            }
        );
        assert_eq!(
            target_form(b"HTTP://h?q"),
            TargetForm::Absolute {
                path: b"/".to_vec(),
                query: true,
                foreign: false
            }
        );
        assert!(matches!(
            target_form(b"ftp://h/"),
            TargetForm::Absolute { foreign: true, .. }
        ));
        assert_eq!(target_form(b"*"), TargetForm::Asterisk);
        assert_eq!(target_form(b"example.com:443"), TargetForm::Authority);
        for invalid in [
            &b"index.html"[..],
            b"1ttp://h/",
            b"http:///",
            b"%2F",
            b"h:x",
        ] {
            assert_eq!(target_form(invalid), TargetForm::Invalid);
        }
    }

    #[test]
    fn hosts_and_percent_signs_are_checked() {
        for valid in [
            &b""[..],
            b"localhost",
            b"localhost:7878",
            b"127.0.0.1:1",
            b"[::1]:80",
            b"a%41",
        ] {
            assert!(host_valid(valid), "{:?}", String::from_utf8_lossy(valid));
        }
        for invalid in [&b"\xc3"[..], b">", b"{", b"a b", b"h:x", b"[::1", b"a%4"] {
            assert!(
                !host_valid(invalid),
                "{:?}",
                String::from_utf8_lossy(invalid)
            );
        }
        assert!(percent_encoding_valid(b"/%41/%2f"));
        assert!(!percent_encoding_valid(b"/%"));
        assert!(!percent_encoding_valid(b"/%4g"));
    }

    #[test]
    fn lengths_are_read_strictly_and_leniently() {
        assert_eq!(strict_length(b" 40 "), Some(40));
        assert_eq!(strict_length(b"+40"), None);
        assert_eq!(tolerant_length(b"+40"), Some(40));
        assert_eq!(tolerant_length(b"40, 40"), Some(40));
        assert_eq!(tolerant_length("\u{a0}40".as_bytes()), Some(40));
        assert_eq!(tolerant_length(b"x"), None);
    }
}
