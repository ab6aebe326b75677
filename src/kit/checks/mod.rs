//! The check groups: the pages bodies are compared with ([`pages`]), the fixture cases
//! ([`fixtures`]), proptest fuzzing ([`fuzz`]) and the concurrency checks with surf clients
//! ([`concurrency`]). Each depends on the small shared context of a running check
//! ([`crate::kit::run::context`]), never on the runner that calls it.

pub mod concurrency;
pub mod fixtures;
pub mod fuzz;
pub mod pages;
