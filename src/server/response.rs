//! Statuses the reference server answers and the bytes of its responses.

use crate::pages::Pages;
use std::sync::Arc;

/// Every status the reference server can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    RequestTimeout,
    ContentTooLarge,
    UriTooLong,
    HeaderFieldsTooLarge,
    NotImplemented,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::RequestTimeout => 408,
            Status::ContentTooLarge => 413,
            Status::UriTooLong => 414,
            Status::HeaderFieldsTooLarge => 431,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// The reason phrase; `NOT FOUND` is spelled as in the book.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "NOT FOUND",
            Status::RequestTimeout => "Request Timeout",
            Status::ContentTooLarge => "Content Too Large",
            Status::UriTooLong => "URI Too Long",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

/// A response encoded once: the head, then the body (left out for `HEAD`).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub status: Status,
    bytes: Arc<[u8]>,
    head_len: usize,
}

impl Encoded {
    pub fn new(status: Status, body: &[u8]) -> Self {
        let mut bytes = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n",
            status.code(),
            status.reason(),
            body.len()
        )
        .into_bytes();
        let head_len = bytes.len();
        bytes.extend_from_slice(body);
        Encoded {
            status,
            bytes: bytes.into(),
            head_len,
        }
    }

    /// A response whose body is a short HTML page naming the status (errors have no page).
    pub fn error(status: Status) -> Self {
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n  <head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\n  <body><h1>{code} {reason}</h1></body>\n</html>\n",
            code = status.code(),
            reason = status.reason()
        );
        Self::new(status, body.as_bytes())
    }

    /// The bytes to send: the whole response, or only its head for a `HEAD` request.
    pub fn bytes(&self, head_only: bool) -> &[u8] {
        if head_only {
            &self.bytes[..self.head_len]
        } else {
            &self.bytes
        }
    }
}

/// The two page responses, encoded at start so that serving them copies nothing.
#[derive(Debug, Clone)]
pub struct PageResponses {
    pub hello: Encoded,
    pub not_found: Encoded,
}

impl PageResponses {
    pub fn new(pages: &Pages) -> Self {
        PageResponses {
            hello: Encoded::new(Status::Ok, &pages.hello),
            not_found: Encoded::new(Status::NotFound, &pages.not_found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_exact_and_head_omits_the_body() {
        let r = Encoded::new(Status::NotFound, b"abc");
        assert_eq!(
            r.bytes(false),
            b"HTTP/1.1 404 NOT FOUND\r\nContent-Length: 3\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\nabc"
        );
        assert!(r.bytes(true).ends_with(b"\r\n\r\n"));
        assert_eq!(r.bytes(true).len() + 3, r.bytes(false).len());
    }

    #[test]
    fn error_pages_declare_their_length() {
        let r = Encoded::error(Status::UriTooLong);
        let text = String::from_utf8(r.bytes(false).to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
    }
}
