//! Talking HTTP/1.1 to the server under test: the raw client that sends exact bytes
//! ([`raw`]), the one response parser of the whole kit ([`response`]), the surf backend the
//! concurrency clients use ([`timed_client`]), and the byte escape syntax of fixtures,
//! reports and replay commands ([`escape`]).

pub mod escape;
pub mod raw;
pub mod response;
pub mod timed_client;
