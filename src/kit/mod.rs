//! The conformance kit: it judges any server, the reference one too, as a black box
//! through a socket. Nothing here imports [`crate::server`]; the two share only
//! [`crate::pages`].
//!
//! - [`check`]: the run: which checks exist, selection, the library entry point.
//! - [`target`]: launching and reaching the server under test.
//! - [`fixtures`]: the fixture cases and their file format.
//! - [`fuzz`]: proptest generators and the fuzz checks.
//! - [`concurrency`]: the concurrency checks, with surf clients.
//! - [`expect`]: the expectations table and the request analyzer.
//! - [`raw`]: a raw TCP client that frames responses itself.
//! - [`judge`]: the shared verifier of one exchange against the table.
//! - [`escape`]: the byte escape syntax of fixtures, reports and replay commands.
//! - [`report`]: results as data, and the human, JSON and JUnit renderers.
//! - [`timed_client`]: a surf backend that records connect, sent and first-byte instants.

pub mod check;
pub mod concurrency;
pub mod escape;
pub mod expect;
pub mod fixtures;
pub mod fuzz;
pub mod judge;
pub mod raw;
pub mod report;
pub mod target;
pub mod timed_client;
