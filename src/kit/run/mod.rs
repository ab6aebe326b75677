//! Running a plan of checks against a target: the library entry point ([`check`]), the
//! settings that tune a run ([`settings`]), what a running check may use ([`context`]),
//! the schedule in order or in lanes on sibling instances ([`schedule`]), the server under
//! test ([`target`]) and the supervisor a started server runs under ([`supervise`]).

pub mod check;
pub mod context;
pub mod matrix;
pub mod schedule;
pub mod settings;
pub mod supervise;
pub mod target;
