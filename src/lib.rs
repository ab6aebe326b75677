//! unblocked: a conformance kit for the concurrent HTTP/1.1 server of the async Rust book.
//!
//! The book's server answers `GET /` with a hello page, `GET /sleep` with the same page
//! after a delay, and anything else with a 404 page; its point is that a slow request must
//! never delay a fast one. This crate holds a strict reference implementation of that
//! server and a kit that judges any implementation, as a black box, through a socket.
//!
//! # Layout
//! - [`pages`]: the hello and 404 pages, the only thing the server and the kit share.
//! - [`server`]: the reference server (`hello-server`, `unblocked serve`): parser, routes,
//!   one task per connection, clean close, graceful shutdown.
//! - [`kit`]: the conformance kit (`unblocked check`): targets, the expectations table,
//!   fixtures, fuzzing, concurrency checks and reports. It never imports `server`.
//! - `src/bin/`: thin command lines over the library; `broken-server` is a test fixture
//!   whose flaws prove that every check can fail.
#![deny(unsafe_code)]

pub mod kit;
pub mod pages;
pub mod server;

/// The README's Rust snippets, compiled by `cargo test` so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
