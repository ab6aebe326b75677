//! The report for programs: a stable JSON document.
//!
//! # Schema (version 2)
//!
//! Fields appear in this order; fields marked "absent when ..." are left out, not `null`.
//!
//! ```text
//! {
//!   "schema_version": 2,
//!   "target": {"command": "<command line>"} | {"addr": "<host:port>"},
//!   "strict": bool,
//!   "conforming": bool,
//!   "interrupted": bool,                    (a SIGINT or SIGTERM: only finished checks)
//!   "duration_ms": number,
//!   "summary": {"pass": n, "non_strict": n, "fail": n, "skip": n, "info": n,
//!               "known": n, "fixed": n, "regressed": n},
//!   "notes": [str],                         (what the kit changed to fit the machine)
//!   "checks": [{
//!     "id": str, "group": str, "description": str,
//!     "verdict": "pass" | "non-strict" | "fail" | "skip" | "info"
//!                | "known" | "fixed" | "regressed",   (the last three with a baseline)
//!     "rule": str,                          (absent when the check has none)
//!     "duration_ms": number,
//!     "detail": str,
//!     "evidence": {                         (absent when the check has none)
//!       "request": str, "response": str | null,
//!       "ending": str, "expected": str, "replay": str
//!     },
//!     "timeline": [{                        (absent when empty)
//!       "label": str, "role": str,
//!       "start_ms": number | null, "connected_ms": number | null, "sent_ms": number | null,
//!       "first_byte_ms": number | null, "end_ms": number | null,
//!       "status": number | null, "waited": str | null
//!     }],
//!     "data": {...}                         (absent when empty; for a fuzz check it holds
//!                                            "cases" and "failure_classes": [{rule, kind,
//!                                            verdict, count, minimal_request, response,
//!                                            ending, expected, replay, shrunk, detail}])
//!   }],
//!   "server_output": [str]
//! }
//! ```
//!
//! A setup error (the server did not start, a bad fixture file) gives
//! `{"schema_version": 2, "target": ..., "conforming": false, "error": str, "checks": []}`.
//!
//! Verdicts and summary counts are after `--strict` ([`Report::verdict_of`]). Durations and
//! instants are milliseconds with microsecond precision. Byte strings (`request`,
//! `response`) are escaped in the kit's escape syntax ([`crate::kit::http::escape::escape`]),
//! which fixture files read back: printable ASCII as is, `\r`, `\n`, `\t`, `\0`, `\\`, and
//! `\xNN` for everything else (a single quote too).
//!
//! Version 2 (from 1): `interrupted`, `notes`, the baseline verdicts and counts, and the
//! fuzz checks' `failure_classes`.

use super::{CheckResult, Evidence, Report, Summary, TargetInfo, TimelineEntry};
use crate::kit::verdict::RuleId;
use serde::Serialize;
use std::time::Duration;

/// The version of the schema above; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// The report as a JSON value.
///
/// Note that a `serde_json::Value` object keeps its keys sorted; use [`to_string`] for the
/// documented field order.
pub fn render(report: &Report) -> serde_json::Value {
    serde_json::to_value(JsonReport::new(report)).expect("the report serializes to JSON")
}

/// The report as pretty-printed JSON, fields in the documented order, without a trailing
/// newline.
pub fn to_string(report: &Report) -> String {
    serde_json::to_string_pretty(&JsonReport::new(report)).expect("the report serializes to JSON")
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    target: JsonTarget<'a>,
    strict: bool,
    conforming: bool,
    interrupted: bool,
    duration_ms: f64,
    summary: Summary,
    notes: &'a [String],
    checks: Vec<JsonCheck<'a>>,
    server_output: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum JsonTarget<'a> {
    Command(&'a str),
    Addr(&'a str),
}

impl<'a> JsonTarget<'a> {
    fn of(target: &'a TargetInfo) -> Self {
        match target {
            TargetInfo::Command(command) => JsonTarget::Command(command),
            TargetInfo::Addr(addr) => JsonTarget::Addr(addr),
        }
    }
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    id: &'a str,
    group: &'a str,
    description: &'a str,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    duration_ms: f64,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<JsonEvidence<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    timeline: Vec<JsonTimelineEntry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a crate::kit::report::Measurement>,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    request: String,
    response: Option<String>,
    /// The length of a request or response kept only in part.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_bytes: Option<usize>,
    ending: &'a str,
    expected: &'a str,
    replay: &'a str,
}

#[derive(Serialize)]
struct JsonTimelineEntry<'a> {
    label: &'a str,
    role: &'a str,
    start_ms: Option<f64>,
    connected_ms: Option<f64>,
    sent_ms: Option<f64>,
    first_byte_ms: Option<f64>,
    end_ms: Option<f64>,
    status: Option<u16>,
    waited: Option<&'a str>,
}

/// The document for a run that could not start: the error, and no checks.
pub fn error_document(target: &TargetInfo, message: &str) -> String {
    #[derive(Serialize)]
    struct ErrorDocument<'a> {
        schema_version: u32,
        target: JsonTarget<'a>,
        conforming: bool,
        error: &'a str,
        checks: [(); 0],
    }
    let document = ErrorDocument {
        schema_version: SCHEMA_VERSION,
        target: JsonTarget::of(target),
        conforming: false,
        error: message,
        checks: [],
    };
    serde_json::to_string_pretty(&document).expect("the document serializes")
}

/// Milliseconds, to the microsecond.
fn millis(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

impl<'a> JsonReport<'a> {
    fn new(report: &'a Report) -> Self {
        JsonReport {
            schema_version: SCHEMA_VERSION,
            target: JsonTarget::of(&report.target),
            strict: report.strict,
            conforming: report.conforming(),
            interrupted: report.interrupted,
            duration_ms: millis(report.duration),
            summary: report.summary(),
            notes: &report.notes,
            checks: report
                .checks
                .iter()
                .map(|check| JsonCheck::new(report, check))
                .collect(),
            server_output: &report.server_output,
        }
    }
}

impl<'a> JsonCheck<'a> {
    fn new(report: &Report, check: &'a CheckResult) -> Self {
        JsonCheck {
            id: &check.id,
            group: &check.group,
            description: &check.description,
            verdict: report.verdict_of(check).as_str(),
            rule: check.rule.map(RuleId::name),
            duration_ms: millis(check.duration),
            detail: &check.detail,
            evidence: check.evidence.as_ref().map(JsonEvidence::new),
            timeline: check.timeline.iter().map(JsonTimelineEntry::new).collect(),
            data: check.data.as_ref(),
        }
    }
}

impl<'a> JsonEvidence<'a> {
    fn new(evidence: &'a Evidence) -> Self {
        JsonEvidence {
            request: evidence.request.escaped(usize::MAX),
            response: evidence.response.as_ref().map(|r| r.escaped(usize::MAX)),
            request_bytes: (!evidence.request.is_whole()).then_some(evidence.request.len),
            response_bytes: evidence
                .response
                .as_ref()
                .filter(|r| !r.is_whole())
                .map(|r| r.len),
            ending: &evidence.ending,
            expected: &evidence.expected,
            replay: &evidence.replay,
        }
    }
}

impl<'a> JsonTimelineEntry<'a> {
    fn new(entry: &'a TimelineEntry) -> Self {
        JsonTimelineEntry {
            label: &entry.label,
            role: &entry.role,
            start_ms: entry.start.map(millis),
            connected_ms: entry.connected.map(millis),
            sent_ms: entry.sent.map(millis),
            first_byte_ms: entry.first_byte.map(millis),
            end_ms: entry.end.map(millis),
            status: entry.status,
            waited: entry.waited.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::report::Verdict;
    use crate::kit::report::human::tests::sample;
    use serde_json::{Value, json};

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn parses_back_with_the_documented_shape() {
        let text = to_string(&sample());
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["schema_version"], json!(2));
        assert_eq!(value["interrupted"], json!(false));
        assert_eq!(
            value["target"],
            json!({"command": "target/debug/hello-server"})
        );
        assert_eq!(value["strict"], json!(false));
        assert_eq!(value["conforming"], json!(false));
        assert_eq!(value["duration_ms"], json!(3456.0));
        let mut summary = keys(&value["summary"]);
        summary.sort_unstable();
        assert_eq!(
            summary,
            [
                "fail",
                "fixed",
                "info",
                "known",
                "non_strict",
                "pass",
                "regressed",
                "skip"
            ]
        );
        assert_eq!(
            value["summary"],
            json!({"pass": 1, "non_strict": 1, "fail": 1, "skip": 1, "info": 0, "known": 0, "fixed": 0, "regressed": 0})
        );
        let checks = value["checks"].as_array().unwrap();
        let verdicts: Vec<&str> = checks
            .iter()
            .map(|c| c["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(verdicts, ["pass", "non-strict", "fail", "skip"]);
        assert_eq!(value["server_output"][1], json!("panic!"));

        let pass = &checks[0];
        assert!(pass.get("rule").is_none());
        assert!(pass.get("evidence").is_none());
        assert!(pass.get("timeline").is_none());
        assert!(pass.get("data").is_none());
        assert_eq!(pass["duration_ms"], json!(3.0));

        let fail = &checks[2];
        assert_eq!(fail["rule"], json!("fast-request-delayed"));
        assert_eq!(
            fail["evidence"]["request"],
            json!(r"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        );
        assert_eq!(
            fail["evidence"]["response"],
            json!(r"HTTP/1.1 200 OK\r\n\r\n\xff")
        );
        assert_eq!(
            fail["data"],
            json!({"budget_ms": 500.0, "sleep_ms": 1000.0})
        );
        let fast = &fail["timeline"][1];
        assert_eq!(fast["first_byte_ms"], json!(2005.0));
        assert_eq!(fast["status"], json!(200));
        assert_eq!(fast["waited"], json!("waiting for the first response byte"));
        assert_eq!(fail["timeline"][0]["waited"], Value::Null);
    }

    #[test]
    fn fields_keep_the_documented_order() {
        let text = to_string(&sample());
        let order = [
            "\"schema_version\"",
            "\"target\"",
            "\"strict\"",
            "\"conforming\"",
            "\"interrupted\"",
            "\"duration_ms\"",
            "\"summary\"",
            "\"notes\"",
            "\"checks\"",
            "\"server_output\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.is_sorted(), "{text}");
        let check = text.split("\"id\"").nth(3).unwrap();
        let order = [
            "\"group\"",
            "\"description\"",
            "\"verdict\"",
            "\"rule\"",
            "\"duration_ms\"",
            "\"detail\"",
            "\"evidence\"",
            "\"timeline\"",
            "\"data\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| check.find(k).unwrap()).collect();
        assert!(positions.is_sorted(), "{check}");
    }

    #[test]
    fn strict_and_missing_values() {
        let mut report = sample();
        report.strict = true;
        report.target = TargetInfo::Addr("127.0.0.1:7878".into());
        report.checks[2].evidence.as_mut().unwrap().response = None;
        report.checks[2].timeline[0].end = None;
        report.checks[2].timeline[0].status = None;
        let value = render(&report);
        assert_eq!(value["target"], json!({"addr": "127.0.0.1:7878"}));
        assert_eq!(value["checks"][1]["verdict"], json!("fail"));
        assert_eq!(value["checks"][1]["rule"], json!("status-non-strict"));
        assert_eq!(value["summary"]["fail"], json!(2));
        assert_eq!(value["summary"]["non_strict"], json!(0));
        assert_eq!(value["checks"][2]["evidence"]["response"], Value::Null);
        assert_eq!(value["checks"][2]["timeline"][0]["end_ms"], Value::Null);
        assert_eq!(value["checks"][2]["timeline"][0]["status"], Value::Null);
        assert_eq!(report.checks[1].verdict, Verdict::NonStrict);
    }

    #[test]
    fn a_setup_error_is_a_document_too() {
        let value: Value = serde_json::from_str(&error_document(
            &TargetInfo::Command("srv {port}".into()),
            "it died",
        ))
        .unwrap();
        assert_eq!(value["error"], json!("it died"));
        assert_eq!(value["conforming"], json!(false));
        assert_eq!(value["schema_version"], json!(SCHEMA_VERSION));
    }

    #[test]
    fn every_verdict_has_its_string() {
        let mut report = sample();
        report.checks[0].verdict = Verdict::Info;
        let value = render(&report);
        assert_eq!(value["checks"][0]["verdict"], json!("info"));
        assert_eq!(value["summary"]["info"], json!(1));
        assert!(value["checks"][3].get("rule").is_none());
    }
}
