//! What a verdict rests on: the rules a check can report ([`rules`]) and the requirement
//! ledger they cite ([`requirements`]).

pub mod requirements;
pub mod rules;

pub use rules::{Rule, RuleId};
