//! What is right: the expectations of every request, derived feature by feature
//! ([`expect`]), the shared verifier of one exchange ([`judge`]), the rules a check can
//! report ([`rules`]) and the requirement ledger they cite ([`requirements`]).

pub mod expect;
pub mod judge;
pub mod requirements;
pub mod rules;

pub use rules::{Rule, RuleId};
