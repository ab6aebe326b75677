//! The report for CI: JUnit XML, one `testsuite` per group and one `testcase` per check.
//!
//! - fail: a `failure` element; its message is the rule and the detail's first line, its type
//!   the rule, its text the detail, the evidence and the timeline chart;
//! - non-strict: a success with `non-strict: <rule>: <detail>` in `system-out` (a failure
//!   under `--strict`);
//! - skip: a `skipped` element whose message is the reason;
//! - info: a success with the detail in `system-out`;
//! - with a baseline: regressed is a failure; known and fixed are successes with the detail
//!   in `system-out`.
//!
//! A setup error is one test case of its own, errored ([`error_document`]).
//!
//! The server's last output lines go into the first suite's `system-err` when a check failed.

use super::human::{self, Style};
use super::{CheckResult, Report, Verdict};
use crate::kit::report::TargetInfo;
use crate::kit::verdict::RuleId;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("unblocked");
    junit.set_time(report.duration);
    junit.add_test_suites(suites(report, ""));
    junit
        .to_string()
        .expect("a JUnit report made of strings serializes")
}

/// A matrix as one JUnit document: the suites of every implementation, each named
/// `IMPLEMENTATION: GROUP`; an implementation that could not be checked is one errored
/// case of its own.
pub fn render_matrix(columns: &[(&str, Result<&Report, &str>)]) -> String {
    let mut junit = quick_junit::Report::new("unblocked matrix");
    for (name, outcome) in columns {
        match outcome {
            Ok(report) => {
                junit.add_test_suites(suites(report, &format!("{name}: ")));
            }
            Err(message) => {
                junit.add_test_suite(setup_suite(&format!("{name}: setup"), name, message));
            }
        }
    }
    junit
        .to_string()
        .expect("a JUnit report made of strings serializes")
}

/// One suite per group, named `prefix` and the group.
fn suites(report: &Report, prefix: &str) -> Vec<TestSuite> {
    let mut suites: Vec<TestSuite> = human::groups(report)
        .into_iter()
        .map(|(group, checks)| {
            let mut suite = TestSuite::new(format!("{prefix}{group}"));
            suite.set_time(checks.iter().map(|c| c.duration).sum::<Duration>());
            suite.add_test_cases(checks.into_iter().map(|check| test_case(report, check)));
            suite
        })
        .collect();

    if report.summary().fail > 0
        && !report.server_output.is_empty()
        && let Some(first) = suites.first_mut()
    {
        first.set_system_err(report.server_output.join("\n"));
    }
    suites
}

/// The document for a run that could not start: one errored test case that says why.
pub fn error_document(target: &TargetInfo, message: &str) -> String {
    let mut junit = quick_junit::Report::new("unblocked");
    junit.add_test_suite(setup_suite("setup", target.name(), message));
    junit
        .to_string()
        .expect("a JUnit report made of strings serializes")
}

/// A suite of one errored case: the run of `target` could not start, and why.
fn setup_suite(name: &str, target: &str, message: &str) -> TestSuite {
    let mut suite = TestSuite::new(name);
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(message.lines().next().unwrap_or_default());
    status.set_type("setup-error");
    status.set_description(format!("{target}: {message}"));
    let mut case = TestCase::new("unblocked.setup", status);
    case.set_classname("unblocked.setup");
    suite.add_test_case(case);
    suite
}

fn test_case(report: &Report, check: &CheckResult) -> TestCase {
    let rule = check.rule.map(RuleId::name);
    let status = match report.verdict_of(check) {
        Verdict::Fail | Verdict::Regressed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let first_line = check.detail.lines().next().unwrap_or("");
            let message = match rule {
                Some(rule) if !first_line.is_empty() => format!("{rule}: {first_line}"),
                Some(rule) => rule.to_string(),
                None => first_line.to_string(),
            };
            status.set_message(message);
            if let Some(rule) = rule {
                status.set_type(rule);
            }
            status.set_description(failure_text(check));
            status
        }
        Verdict::Skip => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(check.detail.as_str());
            status
        }
        Verdict::Pass | Verdict::NonStrict | Verdict::Info | Verdict::Known | Verdict::Fixed => {
            TestCaseStatus::success()
        }
    };

    let mut case = TestCase::new(check.id.as_str(), status);
    case.set_classname(format!("unblocked.{}", check.group));
    case.set_time(check.duration);
    match report.verdict_of(check) {
        Verdict::NonStrict => {
            let rule = rule.unwrap_or("unnamed-rule");
            case.set_system_out(format!("non-strict: {rule}: {}", check.detail));
        }
        Verdict::Known | Verdict::Fixed => {
            case.set_system_out(format!(
                "{}: {}",
                report.verdict_of(check).as_str(),
                check.detail
            ));
        }
        Verdict::Info if !check.detail.is_empty() => {
            case.set_system_out(check.detail.as_str());
        }
        _ => {}
    }
    case
}

/// The text of a `failure` element: the requirement, the detail, the evidence in full and
/// the timeline chart.
fn failure_text(check: &CheckResult) -> String {
    let mut lines = vec![format!("requirement: {}", check.description)];
    lines.extend(check.detail.lines().map(str::to_string));
    if let Some(evidence) = &check.evidence {
        lines.extend(human::evidence_lines(evidence, false));
    }
    if !check.timeline.is_empty() {
        lines.push(String::new());
        lines.extend(human::timeline_chart(&check.timeline, &Style::plain()));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::report::human::tests::sample;

    fn case<'a>(junit: &'a quick_junit::Report, name: &str) -> &'a TestCase {
        junit
            .test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no test case {name}"))
    }

    #[test]
    fn has_the_expected_elements() {
        let xml = render(&sample());
        assert!(xml.contains("<testsuites"), "{xml}");
        assert!(xml.contains("name=\"unblocked\""), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
        assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 1, "{xml}");
        assert!(xml.contains("classname=\"unblocked.concurrency\""), "{xml}");
    }

    #[test]
    fn round_trips_through_quick_junit() {
        let xml = render(&sample());
        let junit = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        assert_eq!(junit.name.as_str(), "unblocked");
        assert_eq!(junit.tests, 4);
        assert_eq!(junit.failures, 1);
        let suites: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(suites, ["fixtures", "concurrency", "pages"]);
        assert_eq!(
            junit.test_suites[0].system_err.as_ref().map(|s| s.as_str()),
            Some("listening on 127.0.0.1:7878\npanic!")
        );

        let fail = case(&junit, "concurrency.slow-does-not-block");
        assert_eq!(
            fail.classname.as_ref().map(|c| c.as_str()),
            Some("unblocked.concurrency")
        );
        assert_eq!(fail.time, Some(Duration::from_millis(3012)));
        match &fail.status {
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                ty,
                description,
                ..
            } => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    "fast-request-delayed: fast 1 took 2006 ms; the budget is 500 ms"
                );
                assert_eq!(ty.as_ref().unwrap().as_str(), "fast-request-delayed");
                let description = description.as_ref().unwrap().as_str();
                assert!(description.contains(r"sent:     GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
                assert!(
                    description.contains("^ late: waiting for the first response byte"),
                    "{description}"
                );
            }
            other => panic!("not a failure: {other:?}"),
        }

        let lenient = case(&junit, "fixtures.bare-lf");
        assert!(matches!(lenient.status, TestCaseStatus::Success { .. }));
        assert_eq!(
            lenient.system_out.as_ref().unwrap().as_str(),
            "non-strict: status-non-strict: the server accepted a bare LF as a line ending"
        );

        let skip = case(&junit, "pages.favicon");
        match &skip.status {
            TestCaseStatus::Skipped { message, .. } => assert_eq!(
                message.as_ref().unwrap().as_str(),
                "no favicon in the book's server"
            ),
            other => panic!("not skipped: {other:?}"),
        }
        assert!(matches!(
            case(&junit, "fixtures.get-root").status,
            TestCaseStatus::Success { .. }
        ));
    }

    #[test]
    fn strict_makes_non_strict_a_failure() {
        let mut report = sample();
        report.strict = true;
        let xml = render(&report);
        assert_eq!(xml.matches("<failure").count(), 2, "{xml}");
        let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(junit.failures, 2);
        assert!(matches!(
            case(&junit, "fixtures.bare-lf").status,
            TestCaseStatus::NonSuccess { .. }
        ));
    }

    #[test]
    fn no_server_output_when_conforming() {
        let mut report = sample();
        report.checks.retain(|c| c.verdict != Verdict::Fail);
        let xml = render(&report);
        assert!(!xml.contains("<system-err"), "{xml}");
        assert!(!xml.contains("<failure"), "{xml}");
    }
}
