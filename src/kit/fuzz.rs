//! Property-based fuzzing of requests with proptest (issue 4): being written.

use crate::kit::check::{CheckInfo, Context};
use crate::kit::report::{CheckResult, Verdict};
use std::path::PathBuf;

/// Options of the fuzz group.
#[derive(Debug, Clone, Default)]
pub struct FuzzSettings {
    /// Cases per generator family.
    pub cases: u32,
    /// Seed of the run; a random one is chosen (and printed) when `None`.
    pub seed: Option<u64>,
    /// Write each minimal failing input as a fixture file here.
    pub save_failures: Option<PathBuf>,
}

pub fn checks(_settings: &FuzzSettings) -> Vec<CheckInfo> {
    Vec::new()
}

pub fn run(_ctx: &mut Context<'_>, info: &CheckInfo) -> CheckResult {
    let mut result = CheckResult::new(info.id.clone(), info.group, info.description.clone());
    result.verdict = Verdict::Skip;
    result
}
