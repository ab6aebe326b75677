//! The requirement ledger: every sentence a verdict rests on, quoted from RFC 9110, RFC
//! 9112, RFC 6585 and RFC 3986 (checked against the RFC text), or a clause of the book's
//! contract, each with its level. A rule may `fail` a server only on a MUST, a MUST NOT or
//! the contract ([`Level::can_fail`]); what rests on a SHOULD, a RECOMMENDED or a MAY is
//! `non-strict` ([`super::rules`] holds the rules and a test holds them to this).

/// How binding a requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// An RFC MUST (RFC 2119).
    Must,
    /// An RFC MUST NOT.
    MustNot,
    /// A clause of the book's contract (the routes, the concurrency, the framing, serving).
    Contract,
    /// An RFC SHOULD or SHOULD NOT.
    Should,
    /// An RFC RECOMMENDED (the same level as SHOULD).
    Recommended,
    /// An RFC MAY: what a server is free to do.
    May,
    /// A definition, with no keyword: what a message means, not what a server must do.
    Defines,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::MustNot => "MUST NOT",
            Level::Contract => "contract",
            Level::Should => "SHOULD",
            Level::Recommended => "RECOMMENDED",
            Level::May => "MAY",
            Level::Defines => "definition",
        }
    }

    /// Whether breaking it may fail a server: a MUST, a MUST NOT or the contract.
    pub fn can_fail(self) -> bool {
        matches!(self, Level::Must | Level::MustNot | Level::Contract)
    }
}

/// One sentence a verdict rests on.
#[derive(Debug)]
pub struct Requirement {
    /// Stable id, cited by rules and features: `9112-3.2-host`, `contract-routes`.
    pub id: &'static str,
    /// Where it is written: `RFC 9112 §3.2`, `the book's contract`.
    pub source: &'static str,
    pub level: Level,
    /// The sentence, exactly as written (for the contract, the clause in the kit's words).
    pub text: &'static str,
}

/// The requirement of `id`.
pub fn requirement(id: &str) -> &'static Requirement {
    REQUIREMENTS
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no requirement {id} in the ledger"))
}

/// `RFC 9112 §3.2 MUST`: where a requirement is written, and its level.
pub fn cite(id: &str) -> String {
    let r = requirement(id);
    format!("{} {}", r.source, r.level.as_str())
}

const BOOK: &str = "the book's contract";

/// The ledger, contract first, then by RFC and section.
pub const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        id: "contract-routes",
        source: BOOK,
        level: Level::Contract,
        text: "GET / answers the hello page, GET /sleep answers the hello page after a delay, and anything else answers the 404 page (the async book's server and the Rust book's listings it builds on)",
    },
    Requirement {
        id: "contract-concurrency",
        source: BOOK,
        level: Level::Contract,
        text: "a slow request must never delay a fast one: the async book's point (\"An HTTP server should be able to serve multiple clients concurrently\"), against the server where \"one slow request will block any other incoming requests\"",
    },
    Requirement {
        id: "contract-framing",
        source: BOOK,
        level: Level::Contract,
        text: "each answer is one HTTP/1.1 response whose Content-Length is the length of the page it carries (the book's listings send `Content-Length: {length}`)",
    },
    Requirement {
        id: "contract-serves",
        source: BOOK,
        level: Level::Contract,
        text: "the server keeps serving: its accept loop answers every connection it accepts, so a crash or a hang leaves every later client without an answer",
    },
    Requirement {
        id: "9112-2.2-invalid",
        source: "RFC 9112 §2.2",
        level: Level::Should,
        text: "When a server listening only for HTTP request messages, or processing what appears from the start-line to be an HTTP request message, receives a sequence of octets that does not match the HTTP-message grammar aside from the robustness exceptions listed above, the server SHOULD respond with a 400 (Bad Request) response and close the connection.",
    },
    Requirement {
        id: "9112-2.2-bare-lf",
        source: "RFC 9112 §2.2",
        level: Level::May,
        text: "Although the line terminator for the start-line and fields is the sequence CRLF, a recipient MAY recognize a single LF as a line terminator and ignore any preceding CR.",
    },
    Requirement {
        id: "9112-2.2-empty-lines",
        source: "RFC 9112 §2.2",
        level: Level::Should,
        text: "In the interest of robustness, a server that is expecting to receive and parse a request-line SHOULD ignore at least one empty line (CRLF) received prior to the request-line.",
    },
    Requirement {
        id: "9112-2.3-version",
        source: "RFC 9112 §2.3",
        level: Level::Defines,
        text: "The version of an HTTP/1.x message is indicated by an HTTP-version field in the start-line.  HTTP-version is case-sensitive. (HTTP-version = HTTP-name \"/\" DIGIT \".\" DIGIT)",
    },
    Requirement {
        id: "9112-3-whitespace",
        source: "RFC 9112 §3",
        level: Level::May,
        text: "Although the request-line grammar rule requires that each of the component elements be separated by a single SP octet, recipients MAY instead parse on whitespace-delimited word boundaries and, aside from the CRLF terminator, treat any form of whitespace as the SP separator while ignoring preceding or trailing whitespace; such whitespace includes one or more of the following octets: SP, HTAB, VT (%x0B), FF (%x0C), or bare CR.",
    },
    Requirement {
        id: "9112-3-414",
        source: "RFC 9112 §3",
        level: Level::Must,
        text: "A server that receives a request-target longer than any URI it wishes to parse MUST respond with a 414 (URI Too Long) status code (see Section 15.5.15 of [HTTP]).",
    },
    Requirement {
        id: "9112-3-8000",
        source: "RFC 9112 §3",
        level: Level::Recommended,
        text: "It is RECOMMENDED that all HTTP senders and recipients support, at a minimum, request-line lengths of 8000 octets.",
    },
    Requirement {
        id: "9112-3.2-invalid",
        source: "RFC 9112 §3.2",
        level: Level::Should,
        text: "Recipients of an invalid request-line SHOULD respond with either a 400 (Bad Request) error or a 301 (Moved Permanently) redirect with the request-target properly encoded.",
    },
    Requirement {
        id: "9112-3.2-host",
        source: "RFC 9112 §3.2",
        level: Level::Must,
        text: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that lacks a Host header field and to any request message that contains more than one Host header field line or a Host header field with an invalid field value.",
    },
    Requirement {
        id: "9112-3.2.2-absolute",
        source: "RFC 9112 §3.2.2",
        level: Level::Must,
        text: "A server MUST accept the absolute-form in requests even though most HTTP/1.1 clients will only send the absolute-form to a proxy.",
    },
    Requirement {
        id: "9112-5.1-space",
        source: "RFC 9112 §5.1",
        level: Level::Must,
        text: "A server MUST reject, with a response status code of 400 (Bad Request), any received request message that contains whitespace between a header field name and colon.",
    },
    Requirement {
        id: "9112-5.2-obs-fold",
        source: "RFC 9112 §5.2",
        level: Level::Must,
        text: "A server that receives an obs-fold in a request message that is not within a \"message/http\" container MUST either reject the message by sending a 400 (Bad Request), preferably with a representation explaining that obsolete line folding is unacceptable, or replace each received obs-fold with one or more SP octets prior to interpreting the field value or forwarding the message downstream.",
    },
    Requirement {
        id: "9112-6.1-chunked",
        source: "RFC 9112 §6.1",
        level: Level::Must,
        text: "A recipient MUST be able to parse the chunked transfer coding (Section 7.1) because it plays a crucial role in framing messages when the content size is not known in advance.",
    },
    Requirement {
        id: "9112-6.3-invalid-length",
        source: "RFC 9112 §6.3",
        level: Level::Must,
        text: "If the unrecoverable error is in a request message, the server MUST respond with a 400 (Bad Request) status code and then close the connection.",
    },
    Requirement {
        id: "9112-6.3-length",
        source: "RFC 9112 §6.3",
        level: Level::Defines,
        text: "If a valid Content-Length header field is present without Transfer-Encoding, its decimal value defines the expected message body length in octets.",
    },
    Requirement {
        id: "9112-6.3-until-close",
        source: "RFC 9112 §6.3",
        level: Level::Should,
        text: "Since there is no way to distinguish a successfully completed, close-delimited response message from a partially received message interrupted by network failure, a server SHOULD generate encoding or length-delimited messages whenever possible.",
    },
    Requirement {
        id: "9112-8-incomplete",
        source: "RFC 9112 §8",
        level: Level::May,
        text: "A server that receives an incomplete request message, usually due to a canceled request or a triggered timeout exception, MAY send an error response prior to closing the connection.",
    },
    Requirement {
        id: "9112-9.3-close",
        source: "RFC 9112 §9.3",
        level: Level::Must,
        text: "A server that does not support persistent connections MUST send the \"close\" connection option in every response message that does not have a 1xx (Informational) status code.",
    },
    Requirement {
        id: "9112-9.3.2-order",
        source: "RFC 9112 §9.3.2",
        level: Level::Must,
        text: "A server MAY process a sequence of pipelined requests in parallel if they all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding responses in the same order that the requests were received.",
    },
    Requirement {
        id: "9112-9.5-any-time",
        source: "RFC 9112 §9.5",
        level: Level::May,
        text: "A client, server, or proxy MAY close the transport connection at any time.",
    },
    Requirement {
        id: "9112-9.6-client-close",
        source: "RFC 9112 §9.6",
        level: Level::MustNot,
        text: "A client that sends a \"close\" connection option MUST NOT send further requests on that connection (after the one containing the \"close\") and MUST close the connection after reading the final response message corresponding to this request.",
    },
    Requirement {
        id: "9112-9.6-server-close",
        source: "RFC 9112 §9.6",
        level: Level::MustNot,
        text: "The server MUST NOT process any further requests received on that connection.",
    },
    Requirement {
        id: "9112-9.6-reset",
        source: "RFC 9112 §9.6",
        level: Level::Defines,
        text: "If a server performs an immediate close of a TCP connection, there is a significant risk that the client will not be able to read the last HTTP response.",
    },
    Requirement {
        id: "9112-9.6-half-close",
        source: "RFC 9112 §9.6",
        level: Level::Defines,
        text: "Note that a TCP connection that is half-closed by the client does not delimit a request message, nor does it imply that the client is no longer interested in a response.",
    },
    Requirement {
        id: "9112-C.1-http09",
        source: "RFC 9112 §C.1",
        level: Level::Defines,
        text: "Any server that implements name-based virtual hosts ought to disable support for HTTP/0.9.  Most requests that appear to be HTTP/0.9 are, in fact, badly constructed HTTP/1.x requests caused by a client failing to properly encode the request-target.",
    },
    Requirement {
        id: "9110-2.2-grammar",
        source: "RFC 9110 §2.2",
        level: Level::MustNot,
        text: "A sender MUST NOT generate protocol elements that do not match the grammar defined by the corresponding ABNF rules.",
    },
    Requirement {
        id: "9110-4.2.3-normalize",
        source: "RFC 9110 §4.2.3",
        level: Level::May,
        text: "Two HTTP URIs that are equivalent after normalization (using any method) can be assumed to identify the same resource, and any HTTP component MAY perform normalization.",
    },
    Requirement {
        id: "9110-5.4-too-large",
        source: "RFC 9110 §5.4",
        level: Level::Must,
        text: "A server that receives a request header field line, field value, or set of fields larger than it wishes to process MUST respond with an appropriate 4xx (Client Error) status code.",
    },
    Requirement {
        id: "9110-6.2-highest",
        source: "RFC 9110 §6.2",
        level: Level::Should,
        text: "A server SHOULD send a response version equal to the highest version to which the server is conformant that has a major version less than or equal to the one received in the request.",
    },
    Requirement {
        id: "9110-6.2-conformant",
        source: "RFC 9110 §6.2",
        level: Level::MustNot,
        text: "A server MUST NOT send a version to which it is not conformant.",
    },
    Requirement {
        id: "9110-6.2-505",
        source: "RFC 9110 §6.2",
        level: Level::May,
        text: "A server can send a 505 (HTTP Version Not Supported) response if it wishes, for any reason, to refuse service of the client's major protocol version.",
    },
    Requirement {
        id: "9110-6.2-minor",
        source: "RFC 9110 §6.2",
        level: Level::Should,
        text: "A recipient that receives a message with a major version number that it implements and a minor version number higher than what it implements SHOULD process the message as if it were in the highest minor version within that major version to which the recipient is conformant.",
    },
    Requirement {
        id: "9110-8.6-length",
        source: "RFC 9110 §8.6",
        level: Level::Defines,
        text: "When transferring a representation as content, Content-Length refers specifically to the amount of data enclosed so that it can be used to delimit framing (e.g., Section 6.2 of [HTTP/1.1]).",
    },
    Requirement {
        id: "9110-9.1-case",
        source: "RFC 9110 §9.1",
        level: Level::Defines,
        text: "The method token is case-sensitive because it might be used as a gateway to object-based systems with case-sensitive method names.",
    },
    Requirement {
        id: "9110-9.1-501",
        source: "RFC 9110 §9.1",
        level: Level::Should,
        text: "An origin server that receives a request method that is unrecognized or not implemented SHOULD respond with the 501 (Not Implemented) status code.",
    },
    Requirement {
        id: "9110-9.3.2-head",
        source: "RFC 9110 §9.3.2",
        level: Level::MustNot,
        text: "The HEAD method is identical to GET except that the server MUST NOT send content in the response.",
    },
    Requirement {
        id: "9110-10.1.1-continue",
        source: "RFC 9110 §10.1.1",
        level: Level::Must,
        text: "Upon receiving an HTTP/1.1 (or later) request that has a method, target URI, and complete header section that contains a 100-continue expectation and an indication that request content will follow, an origin server MUST send either: an immediate response with a final status code, if that status can be determined by examining just the method, target URI, and header fields, or an immediate 100 (Continue) response to encourage the client to send the request content.",
    },
    Requirement {
        id: "9110-15-one-final",
        source: "RFC 9110 §15",
        level: Level::Defines,
        text: "A single request can have multiple associated responses: zero or more \"interim\" (non-final) responses with status codes in the \"informational\" (1xx) range, followed by exactly one \"final\" response with a status code in one of the other ranges.",
    },
    Requirement {
        id: "9110-15.4-location",
        source: "RFC 9110 §15.4.2",
        level: Level::Should,
        text: "The server SHOULD generate a Location header field in the response containing a preferred URI reference for the new permanent URI.",
    },
    Requirement {
        id: "9110-15.5.14-413",
        source: "RFC 9110 §15.5.14",
        level: Level::May,
        text: "The 413 (Content Too Large) status code indicates that the server is refusing to process a request because the request content is larger than the server is willing or able to process. The server MAY terminate the request, if the protocol version in use allows it; otherwise, the server MAY close the connection.",
    },
    Requirement {
        id: "6585-5-431",
        source: "RFC 6585 §5",
        level: Level::Defines,
        text: "The 431 status code indicates that the server is unwilling to process the request because its header fields are too large.",
    },
    Requirement {
        id: "3986-6.2.2-normal",
        source: "RFC 3986 §6.2.2",
        level: Level::Defines,
        text: "Syntax-based normalization includes such techniques as case normalization, percent-encoding normalization, and removal of dot-segments.",
    },
    Requirement {
        id: "kit-limits",
        source: "the kit's own limits",
        level: Level::Defines,
        text: "the kit reads at most 4 MiB of a connection, 128 fields of a response head, 16 interim responses and chunk-size lines of 4 KiB: what goes beyond them it cannot judge",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_texts_carry_their_keyword() {
        for (i, r) in REQUIREMENTS.iter().enumerate() {
            assert!(
                REQUIREMENTS[..i].iter().all(|o| o.id != r.id),
                "{} twice",
                r.id
            );
            let keyword = match r.level {
                Level::Must => Some("MUST"),
                Level::MustNot => Some("MUST NOT"),
                Level::Should => Some("SHOULD"),
                Level::Recommended => Some("RECOMMENDED"),
                Level::May => Some("MAY"),
                Level::Contract | Level::Defines => None,
            };
            if let Some(keyword) = keyword
                && r.source.starts_with("RFC")
                && r.id != "9110-6.2-505"
            {
                assert!(r.text.contains(keyword), "{}: {keyword}?", r.id);
            }
            if r.source.starts_with("RFC") && !matches!(r.level, Level::Must | Level::MustNot) {
                assert!(!r.text.contains("MUST"), "{} is quoted as below MUST", r.id);
            }
        }
    }
}
