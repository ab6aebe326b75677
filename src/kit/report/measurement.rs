//! What a check measured, typed. The groups fill these in; the JSON report writes the one
//! of a check as its `data` object (the field names below are its keys, in the order the
//! JSON has always had them, alphabetical); baselines and the HTML report read the fields.

use serde::Serialize;
use std::time::Duration;

/// Milliseconds with microsecond precision, as every duration of the JSON report is written.
pub fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// The measurement of one check, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Measurement {
    /// A fixture case: the row of its request.
    Fixture { kind: String },
    /// `concurrency.sleep-is-slow`: S and the fast budget it gives.
    Calibration { budget_ms: f64, sleep_ms: f64 },
    /// A concurrency check: the load it put on the server and what it saw.
    Load(Box<Load>),
    /// `concurrency.capacity`: the search and its result.
    Capacity(Box<Capacity>),
    /// A fuzz family: the campaign's figures and its failure classes.
    Fuzz(Box<FuzzStats>),
}

impl Measurement {
    /// The measurement of a concurrency check, if this is one.
    pub fn load(&self) -> Option<&Load> {
        match self {
            Measurement::Load(load) => Some(load),
            _ => None,
        }
    }

    /// As a JSON object, for reports that list every figure.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// One slow request of a load: `[start, connected, sent, first_byte, end, status]`, the
/// instants in milliseconds from the check's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowMarks(
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<u16>,
);

/// What one attempt of a concurrency check measured (and, after a re-run, the check).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Load {
    /// When the fast phase began: every slow request sent, or the wait over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_sent_ms: Option<f64>,
    /// Attempts made: 2 after a re-run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_clients: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_empty: Option<usize>,
    #[serde(rename = "bad_non_UTF_8", skip_serializing_if = "Option::is_none")]
    pub bad_non_utf8: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_reset_mid_request: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_timeline_note: Option<String>,
    pub budget_ms: f64,
    /// Each fast request, start to end (`null`: no response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fast_ms: Option<Vec<Option<f64>>>,
    /// The first attempt's summary, after a re-run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_attempt_data: Option<Box<Load>>,
    pub k: usize,
    /// Why K was lowered to fit the open-file limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_limit_ms: Option<f64>,
    pub sleep_ms: f64,
    /// Every slow request, when the timeline shows only a sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_marks_ms: Option<Vec<SlowMarks>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowest_after_sent_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline_note: Option<String>,
    /// Raw connections not in place when the fast requests went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unready: Option<usize>,
    /// Slow requests not fully sent when the fast requests went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsent: Option<usize>,
    /// The `GET /sleep` sent after the aborted ones, from sent to end (`null`: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness_ms: Option<Option<f64>>,
}

impl Load {
    /// The figures every attempt reports.
    pub fn new(k: usize, sleep: Duration, budget: Duration) -> Load {
        Load {
            k,
            sleep_ms: ms(sleep),
            budget_ms: ms(budget),
            ..Load::default()
        }
    }
}

/// One step of the capacity search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityStep {
    pub attempts: usize,
    pub fast_ms: Option<Vec<Option<f64>>>,
    pub held: bool,
    pub k: usize,
}

/// What the capacity search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    pub budget_ms: f64,
    /// The largest K at which the fast requests met the budget.
    pub capacity: usize,
    /// The design it looks like (`sequential`, `pool-of-about-N`, ...).
    pub classification: String,
    pub max: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_note: Option<String>,
    pub sleep_ms: f64,
    pub steps: Vec<CapacityStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline_fast_ms: Option<Option<Vec<Option<f64>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline_k: Option<usize>,
}

/// A fuzz family's campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FuzzStats {
    /// Cases judged at once because their class was seen to hang.
    pub assumed_hangs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_p90_ms: Option<f64>,
    pub case_deadline_ms: u64,
    pub cases: u32,
    pub cases_per_second: f64,
    /// Every failure class, the worst first (the report's classes, as JSON).
    pub failure_classes: Vec<serde_json::Value>,
    /// What the generators drew, so that a seed's cases can be compared across versions.
    pub fingerprint: String,
    pub keeps_alive: bool,
    pub non_strict_cases: u32,
    pub restarts: u32,
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<Vec<String>>,
    pub seed: u64,
}
