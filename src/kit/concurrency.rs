//! Concurrency checks with surf clients (issue 5): being written.

use crate::kit::check::{CheckInfo, Context};
use crate::kit::report::{CheckResult, Verdict};

/// Options of the concurrency group.
#[derive(Debug, Clone, Default)]
pub struct ConcurrencySettings {
    /// `--slow K`: concurrent slow requests (default: the larger of 16 and 4 x CPUs).
    pub slow: Option<usize>,
    /// `--fast-budget`: time a fast request may take (default: the larger of 50 ms and S/10).
    pub fast_budget: Option<std::time::Duration>,
    /// `--capacity`: also run the capacity search.
    pub capacity: bool,
    /// `--max`: the largest K the capacity search tries (default 1024 when `None`).
    pub max: Option<usize>,
}

pub fn checks(_settings: &ConcurrencySettings) -> Vec<CheckInfo> {
    Vec::new()
}

pub fn run(_ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = CheckResult::new(info.id.clone(), info.group, info.description.clone());
    result.verdict = Verdict::Skip;
    result
}
