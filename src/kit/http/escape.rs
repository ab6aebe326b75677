//! The kit's byte escape syntax, used by fixture files, reports and replay commands.
//!
//! TOML strings are Unicode and cannot hold arbitrary bytes, so requests in fixture files are
//! written in TOML *literal* strings and unescaped here: `\r` `\n` `\t` `\0` `\\` `\xHH`, and
//! `\{N:TEXT}` for TEXT repeated N times (TEXT may hold the other escapes; `\}` is a
//! literal `}` inside it). Any other backslash sequence is an error.

use std::fmt;

/// Largest expansion of one `\{N:TEXT}`, and of a whole escaped text, so that a typo (or
/// a hostile fixture file of a few hundred bytes) cannot ask for gigabytes: a request of the
/// kit is at most this long.
pub const MAX_REPEAT_BYTES: usize = 4 * 1024 * 1024;

/// An escape error, with the byte offset in the escaped text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for EscapeError {}

/// Turns escaped text into bytes.
pub fn unescape(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    unescape_into(text.as_bytes(), 0, true, &mut out)?;
    if out.len() > MAX_REPEAT_BYTES {
        return Err(EscapeError {
            offset: text.len(),
            message: format!("the text expands past {MAX_REPEAT_BYTES} bytes"),
        });
    }
    Ok(out)
}

fn unescape_into(
    s: &[u8],
    base: usize,
    allow_repeat: bool,
    out: &mut Vec<u8>,
) -> Result<(), EscapeError> {
    let err = |offset: usize, message: String| EscapeError {
        offset: base + offset,
        message,
    };
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let Some(&code) = s.get(i + 1) else {
            return Err(err(i, "a lone backslash at the end".into()));
        };
        match code {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'}' if !allow_repeat => out.push(b'}'),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| err(i, "\\x needs two hex digits".into()))?;
                out.push(byte);
                i += 4;
                continue;
            }
            b'{' if allow_repeat => {
                let body_start = i + 2;
                let colon = s[body_start..]
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or_else(|| err(i, "\\{N:TEXT} needs a colon".into()))?;
                let count: usize = std::str::from_utf8(&s[body_start..body_start + colon])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| err(i, "\\{N:TEXT} needs a whole number N".into()))?;
                let text_start = body_start + colon + 1;
                let mut end = text_start;
                while end < s.len() && s[end] != b'}' {
                    end += if s[end] == b'\\' { 2 } else { 1 };
                }
                if end >= s.len() {
                    return Err(err(i, "\\{N:TEXT} is not closed by }".into()));
                }
                let mut unit = Vec::new();
                unescape_into(&s[text_start..end], base + text_start, false, &mut unit)?;
                if unit.len().saturating_mul(count)
                    > MAX_REPEAT_BYTES - out.len().min(MAX_REPEAT_BYTES)
                {
                    return Err(err(
                        i,
                        format!("\\{{N:TEXT}} expands past {MAX_REPEAT_BYTES} bytes"),
                    ));
                }
                for _ in 0..count {
                    out.extend_from_slice(&unit);
                }
                i = end + 1;
                continue;
            }
            other => {
                return Err(err(
                    i,
                    format!("unknown escape \\{}", (other as char).escape_default()),
                ));
            }
        }
        i += 2;
    }
    Ok(())
}

/// Bytes as readable text in the syntax [`unescape`] reads back: printable ASCII kept,
/// the rest escaped (`\r`, `\n`, `\xff`...). A single quote is written `\x27`, so the
/// text also fits in a TOML literal string.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            0 => text.push_str("\\0"),
            b'\\' => text.push_str("\\\\"),
            b'\'' => text.push_str("\\x27"),
            0x20..=0x7e => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text
}

/// Untrusted text (a server's output line) made safe for a terminal, a log or a page:
/// printable characters kept, UTF-8 included, but control characters (C0, DEL, C1), the
/// bidirectional controls that reorder what a reader sees (U+202A-U+202E, U+2066-U+2069,
/// U+200E, U+200F, U+061C) and invalid UTF-8 escaped as in [`escape`] (`\x1b`, `\u{202e}`).
pub fn escape_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => text.push('\t'),
                '\\' => text.push_str("\\\\"),
                c if c.is_ascii_control() => text.push_str(&escape(&[c as u8])),
                c if c.is_control() || reorders(c) => {
                    text.push_str(&format!("\\u{{{:x}}}", c as u32));
                }
                c => text.push(c),
            }
        }
        text.push_str(&escape(chunk.invalid()));
    }
    text
}

/// Unicode's bidirectional formatting characters.
fn reorders(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Like [`escape`], cut at a whole escape once it reaches `max` characters, with a
/// `... (N bytes)` marker giving the full length.
pub fn escape_truncated(bytes: &[u8], max: usize) -> String {
    let mut text = String::new();
    for &byte in bytes {
        let escaped = escape(&[byte]);
        if text.len() + escaped.len() > max {
            text.push_str(&format!("... ({} bytes)", bytes.len()));
            return text;
        }
        text.push_str(&escaped);
    }
    text
}

/// A shell command that sends `bytes` to `host:port` and prints the answer, for reports.
///
/// `printf '%b'` understands `\r`, `\n`, `\t`, `\\` and `\0NNN`; everything else
/// unprintable is written as octal. Single quotes cannot appear inside a single-quoted shell
/// word, so they are written as octal too.
pub fn replay_command(bytes: &[u8], host: &str, port: u16, half_close: bool) -> String {
    let mut arg = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'\r' => arg.push_str("\\r"),
            b'\n' => arg.push_str("\\n"),
            b'\t' => arg.push_str("\\t"),
            b'\\' => arg.push_str("\\\\"),
            b'\'' => arg.push_str("\\0047"),
            0x20..=0x7e => arg.push(b as char),
            _ => arg.push_str(&format!("\\0{b:03o}")),
        }
    }
    let close = if half_close { " -N" } else { "" };
    format!("printf '%b' '{arg}' | nc{close} -w 5 {host} {port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20 §13: a server's output went raw into the report and error messages.
    #[test]
    fn server_text_cannot_drive_a_terminal() {
        let hostile = "title\x1b]0;pwned\x07 clear\x1b[2J nul\0 \u{202e}txt.exe del\x7f c1\u{9b}";
        let safe = escape_text(hostile.as_bytes());
        assert!(
            !safe.chars().any(|c| c.is_control() || reorders(c)),
            "{safe:?}"
        );
        assert_eq!(
            safe,
            "title\\x1b]0;pwned\\x07 clear\\x1b[2J nul\\0 \\u{202e}txt.exe del\\x7f c1\\u{9b}"
        );
        // Readable text stays readable: UTF-8, tabs; a backslash is doubled, bad UTF-8 escaped.
        assert_eq!(
            escape_text("listening → 127.0.0.1\tok".as_bytes()),
            "listening → 127.0.0.1\tok"
        );
        assert_eq!(escape_text(b"a\\b \xff\xfe"), "a\\\\b \\xff\\xfe");
    }

    #[test]
    fn escapes_round_trip_through_unescape() {
        let bytes = b"GET /\xff\0 HTTP/1.1\r\n\tx\\y\r\n\r\n";
        assert_eq!(unescape(&escape(bytes)).unwrap(), bytes);
    }

    #[test]
    fn every_escape_is_understood() {
        assert_eq!(
            unescape(r"a\r\n\t\0\\\x41\xfF").unwrap(),
            b"a\r\n\t\0\\A\xff"
        );
        assert_eq!(unescape("caf\u{e9}").unwrap(), "caf\u{e9}".as_bytes());
    }

    #[test]
    fn repeats_expand_with_escapes_and_closing_braces() {
        assert_eq!(unescape(r"/\{3:ab}.").unwrap(), b"/ababab.");
        assert_eq!(unescape(r"\{2:x\r\n}").unwrap(), b"x\r\nx\r\n");
        assert_eq!(unescape(r"\{2:\}}").unwrap(), b"}}");
        assert_eq!(unescape(r"\{0:zz}").unwrap(), b"");
        assert_eq!(unescape(r"\{10240:a}").unwrap().len(), 10240);
    }

    #[test]
    fn mistakes_are_errors_with_a_position() {
        for (text, offset) in [
            (r"ab\q", 2),
            (r"\x4", 0),
            (r"x\xzz", 1),
            (r"end\", 3),
            (r"\{3ab}", 0),
            (r"\{n:ab}", 0),
            (r"\{3:ab", 0),
            (r"\{2:\{2:a}}", 4),
            (r"\{99999999:abc}", 0),
        ] {
            let e = unescape(text).expect_err(text);
            assert_eq!(e.offset, offset, "{text}: {e}");
        }
    }

    #[test]
    fn truncation_keeps_whole_escapes() {
        let s = escape_truncated(&[0xff; 100], 10);
        assert!(s.starts_with("\\xff\\xff"), "{s}");
        assert!(s.ends_with("(100 bytes)"), "{s}");
        assert_eq!(escape_truncated(b"short", 10), "short");
    }

    #[test]
    fn replay_commands_quote_safely() {
        let cmd = replay_command(b"GET /'\xff HTTP/1.1\r\n\r\n", "127.0.0.1", 8080, true);
        assert_eq!(
            cmd,
            r"printf '%b' 'GET /\0047\0377 HTTP/1.1\r\n\r\n' | nc -N -w 5 127.0.0.1 8080"
        );
    }
}
