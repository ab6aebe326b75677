//! The report for people: one line per check, details under the checks that need them, a text
//! chart of concurrency timelines, and a summary line.
//!
//! Every verdict shown here is the verdict under the report's strictness
//! ([`Report::verdict_of`]), so `--strict` turns non-strict lines into `FAIL` lines.

use super::{CheckResult, Evidence, Report, TargetInfo, TimelineEntry, Verdict};

use std::io::IsTerminal;
use std::time::Duration;

/// How to render: with ANSI colors or not, and with details under every check or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Color verdict tags and the summary with ANSI escape codes.
    pub color: bool,
    /// Show details, data and timelines under every check, not only under the bad ones.
    pub verbose: bool,
}

impl Style {
    /// No color, not verbose: for files, panics and tests.
    pub fn plain() -> Style {
        Style::plain_verbose(false)
    }

    /// No color: for files.
    pub fn plain_verbose(verbose: bool) -> Style {
        Style {
            color: false,
            verbose,
        }
    }

    /// The same, with color.
    pub fn colored(self) -> Style {
        Style {
            color: true,
            ..self
        }
    }

    /// The style for a report printed on stdout: color when stdout is a terminal and
    /// `NO_COLOR` is unset or empty.
    pub fn detect(verbose: bool) -> Style {
        Style::for_stream(std::io::stdout().is_terminal(), verbose)
    }

    /// The style for a stream whose terminal-ness the caller knows (e.g.
    /// `std::io::stderr().is_terminal()`): color when it is a terminal and `NO_COLOR` is unset
    /// or empty.
    pub fn for_stream(is_terminal: bool, verbose: bool) -> Style {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Style {
            color: color_allowed(
                is_terminal && !dumb,
                std::env::var_os("NO_COLOR").as_deref(),
            ),
            verbose,
        }
    }
}

/// <https://no-color.org>: any non-empty `NO_COLOR` turns color off (so does `TERM=dumb`).
fn color_allowed(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|value| value.is_empty())
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const CYAN: &str = "\x1b[36m";

/// Width of the verdict column: `NON-STRICT` is the longest tag.
const TAG_WIDTH: usize = 10;
/// Ids longer than this do not widen the id column.
const MAX_ID_WIDTH: usize = 48;
/// Escaped request bytes shown before truncation.
const REQUEST_CHARS: usize = 300;
/// Escaped response bytes shown before truncation.
const RESPONSE_CHARS: usize = 400;
/// Widest line of a timeline chart, with its indentation: an 80-column terminal.
const CHART_LINE: usize = 80;
/// Narrowest timeline bar.
const MIN_BAR: usize = 20;
/// Failure classes of a fuzz check shown in full (the others are counted).
const SHOWN_CLASSES: usize = 12;
/// Indentation of the lines under a check.
const DETAIL_INDENT: &str = "      ";

impl Style {
    fn paint(&self, codes: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{codes}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

fn tag(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "PASS",
        Verdict::NonStrict => "NON-STRICT",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "SKIP",
        Verdict::Info => "INFO",
        Verdict::Known => "KNOWN",
        Verdict::Fixed => "FIXED",
        Verdict::Regressed => "REGRESSED",
    }
}

fn tag_color(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass | Verdict::Fixed => GREEN,
        Verdict::NonStrict | Verdict::Known => YELLOW,
        Verdict::Fail | Verdict::Regressed => RED,
        Verdict::Skip => BLUE,
        Verdict::Info => CYAN,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Renders the whole report as text, ending with a newline.
pub fn render(report: &Report, style: &Style) -> String {
    let mut out = Vec::<String>::new();

    let target = match &report.target {
        TargetInfo::Command(command) => command,
        TargetInfo::Addr(addr) => addr,
    };
    let strict = if report.strict { " (strict)" } else { "" };
    let command = report.command();
    out.push(style.paint(BOLD, &format!("unblocked {command}: {target}{strict}")));
    if report.interrupted {
        out.push(style.paint(
            &format!("{BOLD}{RED}"),
            "interrupted: only the checks that finished are reported",
        ));
    }
    for note in &report.notes {
        out.push(format!("note: {note}"));
    }

    let id_width = report
        .checks
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_ID_WIDTH);

    for (group, checks) in groups(report) {
        out.push(String::new());
        out.push(style.paint(
            BOLD,
            &format!("{group} ({})", plural(checks.len(), "check", "checks")),
        ));
        let mut i = 0;
        while i < checks.len() {
            render_check(&mut out, report, checks[i], style, id_width);
            let same = skipped_alike(report, &checks[i..]);
            if same > 1 && !style.verbose {
                // One reason, once: a server gone at one check skips all the rest.
                let tag = style.paint(tag_color(Verdict::Skip), &format!("{:<TAG_WIDTH$}", "SKIP"));
                out.push(format!(
                    "  {tag}  and {} after it, for the same reason ({} to {})",
                    plural(same - 1, "check", "checks"),
                    checks[i + 1].id,
                    checks[i + same - 1].id
                ));
                i += same;
            } else {
                i += 1;
            }
        }
    }

    let summary = report.summary();
    if summary.fail > 0 && !report.server_output.is_empty() {
        out.push(String::new());
        out.push(style.paint(
            BOLD,
            &format!("server output (last {} lines):", report.server_output.len()),
        ));
        for line in &report.server_output {
            out.push(format!("  {line}"));
        }
    }

    out.push(String::new());
    let counts = format!(
        "{}: {} in {:.1}s",
        plural(report.checks.len(), "check", "checks"),
        summary.counts(),
        report.duration.as_secs_f64()
    );
    let colour = if report.conforming() { GREEN } else { RED };
    let conclusion = style.paint(
        &format!("{BOLD}{colour}"),
        &format!("— {}", report.conclusion()),
    );
    out.push(format!("{counts} {conclusion}"));

    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// How many checks from the first are skipped with the same detail (0 if it is not skipped).
fn skipped_alike(report: &Report, checks: &[&CheckResult]) -> usize {
    let Some(first) = checks.first() else {
        return 0;
    };
    if report.verdict_of(first) != Verdict::Skip {
        return 0;
    }
    checks
        .iter()
        .take_while(|c| report.verdict_of(c) == Verdict::Skip && c.detail == first.detail)
        .count()
}

/// The checks grouped by `group`, groups in order of first appearance.
pub(crate) fn groups(report: &Report) -> Vec<(&str, Vec<&CheckResult>)> {
    let mut groups: Vec<(&str, Vec<&CheckResult>)> = Vec::new();
    for check in &report.checks {
        match groups.iter_mut().find(|(name, _)| *name == check.group) {
            Some((_, checks)) => checks.push(check),
            None => groups.push((&check.group, vec![check])),
        }
    }
    groups
}

fn render_check(
    out: &mut Vec<String>,
    report: &Report,
    check: &CheckResult,
    style: &Style,
    id_width: usize,
) {
    let verdict = report.verdict_of(check);
    let tag = style.paint(tag_color(verdict), &format!("{:<TAG_WIDTH$}", tag(verdict)));
    let ms = check.duration.as_millis();
    let mut line = format!("  {tag}  {:<id_width$}  {ms:>6} ms", check.id);
    if verdict != Verdict::Pass
        && let Some(rule) = &check.rule
    {
        line.push_str(&format!("  [{rule}]"));
    }
    out.push(line);

    let indent = |text: &str| format!("{DETAIL_INDENT}{text}");
    let full = style.verbose || matches!(verdict, Verdict::Fail | Verdict::Regressed);
    let retried = check.load().and_then(|l| l.attempts) == Some(2);
    let show_detail = full
        || retried
        || matches!(
            verdict,
            Verdict::NonStrict | Verdict::Skip | Verdict::Info | Verdict::Known | Verdict::Fixed
        );
    if retried && verdict == Verdict::Pass {
        out.push(indent("pass, after a retry:"));
    }
    if show_detail {
        for detail_line in check.detail.lines().filter(|l| !l.trim().is_empty()) {
            out.push(indent(detail_line));
        }
    }
    if full && let Some(evidence) = &check.evidence {
        for evidence_line in evidence_lines(evidence, true) {
            out.push(indent(&evidence_line));
        }
    }
    if full && !check.classes.is_empty() {
        for line in class_lines(check, report.strict, style.verbose) {
            out.push(indent(&line));
        }
    }
    if style.verbose {
        for (key, value) in &check.data_json() {
            // Arrays and objects belong in the JSON report.
            if value.is_array() || value.is_object() {
                continue;
            }
            let value = serde_json::to_string(value).unwrap_or_else(|_| value.to_string());
            out.push(indent(&style.paint(DIM, &format!("{key}: {value}"))));
        }
    }
    if full && !check.timeline.is_empty() {
        for chart_line in timeline_chart(&check.timeline, style) {
            out.push(indent(&chart_line));
        }
    }
}

/// The failure classes of a fuzz check: each failing one (and, when verbose or strict, each
/// non-strict one) with its count, minimal input, answer and replay; the rest counted.
fn class_lines(check: &CheckResult, strict: bool, verbose: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let shown: Vec<_> = check
        .classes
        .iter()
        .filter(|c| verbose || c.verdict.under(strict) == Verdict::Fail)
        .take(SHOWN_CLASSES)
        .collect();
    for class in &shown {
        lines.push(format!(
            "class {} on {} ({}, {}){}:",
            class.rule,
            class.kind,
            class.verdict.under(strict).as_str(),
            plural(class.count as usize, "case", "cases"),
            if class.shrunk { ", shrunk" } else { "" }
        ));
        for line in evidence_lines(&class.evidence, true) {
            lines.push(format!("  {line}"));
        }
    }
    let hidden = check.classes.len() - shown.len();
    if hidden > 0 {
        lines.push(format!(
            "and {} more (in the JSON report, or with -v)",
            plural(hidden, "class", "classes")
        ));
    }
    lines
}

/// The evidence in labelled lines (`sent:`, `received:`, `ending:`, `expected:`, `replay:`),
/// with the bytes escaped; `truncate` shortens long requests and responses.
pub(crate) fn evidence_lines(evidence: &Evidence, truncate: bool) -> Vec<String> {
    let limit = |chars: usize| if truncate { chars } else { usize::MAX };
    let mut lines = vec![format!(
        "sent:     {}",
        evidence.request.escaped(limit(REQUEST_CHARS))
    )];
    let received = match &evidence.response {
        Some(bytes) if !bytes.is_empty() => bytes.escaped(limit(RESPONSE_CHARS)),
        _ => "(nothing)".to_string(),
    };
    lines.push(format!("received: {received}"));
    if !evidence.ending.is_empty() {
        lines.push(format!("ending:   {}", evidence.ending));
    }
    if !evidence.expected.is_empty() {
        lines.push(format!("expected: {}", evidence.expected));
    }
    if !evidence.replay.is_empty() {
        lines.push(format!("replay:   {}", evidence.replay));
    }
    lines
}

/// A text chart of a concurrency timeline within 80 columns: one row per request with when
/// it started and how long it took, a scale and a legend.
pub(crate) fn timeline_chart(entries: &[TimelineEntry], style: &Style) -> Vec<String> {
    let max = entries
        .iter()
        .flat_map(|e| [e.start, e.connected, e.sent, e.first_byte, e.end])
        .flatten()
        .max()
        .unwrap_or(Duration::ZERO);
    let label_width = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0)
        .min(14);
    let timing = |e: &TimelineEntry| -> String {
        let status = e
            .status
            .map_or_else(|| "---".to_string(), |s| s.to_string());
        match (e.start, e.end) {
            (Some(start), Some(end)) => format!(
                "{status} +{}ms {}ms",
                start.as_millis(),
                end.saturating_sub(start).as_millis()
            ),
            (Some(start), None) => format!("{status} +{}ms no end", start.as_millis()),
            _ => status,
        }
    };
    let timing_width = entries.iter().map(|e| timing(e).len()).max().unwrap_or(0);
    let width = CHART_LINE
        .saturating_sub(DETAIL_INDENT.len() + label_width + 4 + timing_width)
        .max(MIN_BAR);

    let mut lines = Vec::new();
    for entry in entries {
        let bar = timeline_bar(entry, max, width);
        let label: String = entry.label.chars().take(label_width).collect();
        lines.push(format!("{label:<label_width$} |{bar}| {}", timing(entry)));
        // On a line of its own, under the row, so the chart keeps within 80 columns.
        if let Some(waited) = &entry.waited {
            let note = format!("{:<label_width$}  ^ late: {waited}", "");
            lines.push(style.paint(&format!("{BOLD}{RED}"), &note));
        }
    }
    let max_label = format!("{} ms", max.as_millis());
    let gap = width.saturating_sub("0 ms".len() + max_label.len());
    lines.push(format!(
        "{:<label_width$}  0 ms{}{max_label}",
        "",
        " ".repeat(gap)
    ));
    lines.push(style.paint(
        DIM,
        "c connecting  s sending  - connected, silent  w waiting  = receiving; +start, duration",
    ));
    lines
}

/// One row of the chart: `.` before the start, then the phases, blank after the end; a
/// request that never ended runs to the right edge. A connection that sends nothing is `-`.
fn timeline_bar(entry: &TimelineEntry, max: Duration, width: usize) -> String {
    let Some(start) = entry.start else {
        return format!("{:<width$}", "(not started)");
    };
    let column = |t: Duration| -> usize {
        if max.is_zero() {
            0
        } else {
            let ratio = t.as_secs_f64() / max.as_secs_f64();
            ((ratio * width as f64).round() as usize).min(width)
        }
    };
    let first = column(start).min(width - 1);
    let last = entry.end.map_or(width, column).max(first + 1).min(width);
    let mut cells = vec![' '; width];
    cells[..first].fill('.');
    let silent = entry.role == "idle" && entry.sent.is_none();
    let phases = [
        (Some(start), 'c'),
        (entry.connected, if silent { '-' } else { 's' }),
        (entry.sent, 'w'),
        (entry.first_byte, '='),
    ];
    // Later phases overwrite the tail, so a phase too short for its own column still shows
    // at the end of the bar.
    for (instant, mark) in phases {
        if let Some(instant) = instant {
            let from = column(instant).clamp(first, last - 1);
            cells[from..last].fill(mark);
        }
    }
    cells.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kit::http::escape::escape_truncated;
    use crate::kit::report::{CheckResult, Evidence, Excerpt, TimelineEntry};
    use crate::kit::verdict::RuleId;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    pub(crate) fn sample() -> Report {
        let mut pass = CheckResult::new("fixtures.get-root", "fixtures", "GET / answers 200");
        pass.duration = Duration::from_millis(3);
        pass.detail = "200 OK with the hello page".into();

        let mut lenient = CheckResult::new(
            "fixtures.bare-lf",
            "fixtures",
            "a bare LF line ending is rejected",
        );
        lenient.verdict = Verdict::NonStrict;
        lenient.rule = Some(RuleId::StatusNonStrict);
        lenient.detail = "the server accepted a bare LF as a line ending".into();
        lenient.duration = Duration::from_millis(4);

        let mut fail = CheckResult::new(
            "concurrency.slow-does-not-block",
            "concurrency",
            "a slow request does not delay a fast one",
        );
        fail.verdict = Verdict::Fail;
        fail.rule = Some(RuleId::FastRequestDelayed);
        fail.detail = "fast 1 took 2006 ms; the budget is 500 ms".into();
        fail.duration = Duration::from_millis(3012);
        fail.evidence = Some(Evidence {
            request: Excerpt::of(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            response: Some(Excerpt::of(b"HTTP/1.1 200 OK\r\n\r\n\xff")),
            ending: "closed by the server".into(),
            expected: "a 200 within 500 ms".into(),
            replay: "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 7878".into(),
            closed_by_server: true,
        });
        fail.timeline = vec![
            TimelineEntry {
                label: "slow 1".into(),
                role: "slow".into(),
                start: ms(0),
                connected: ms(1),
                sent: ms(2),
                first_byte: ms(3000),
                end: ms(3001),
                status: Some(200),
                waited: None,
            },
            TimelineEntry {
                label: "fast 1".into(),
                role: "fast".into(),
                start: ms(100),
                connected: ms(101),
                sent: ms(102),
                first_byte: ms(2005),
                end: ms(2006),
                status: Some(200),
                waited: Some("waiting for the first response byte".into()),
            },
        ];
        fail.data = Some(crate::kit::report::Measurement::Calibration {
            budget_ms: 500.0,
            sleep_ms: 1000.0,
        });

        let mut skip = CheckResult::new("pages.favicon", "pages", "the favicon is served");
        skip.verdict = Verdict::Skip;
        skip.detail = "no favicon in the book's server".into();

        Report {
            target: TargetInfo::Command("target/debug/hello-server".into()),
            strict: false,
            checks: vec![pass, lenient, fail, skip],
            server_output: vec!["listening on 127.0.0.1:7878".into(), "panic!".into()],
            duration: Duration::from_millis(3456),
            interrupted: false,
            notes: Vec::new(),
        }
    }

    fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    }

    #[test]
    fn plain_report_shows_failure_details() {
        let text = render(&sample(), &Style::plain());
        assert!(text.starts_with("unblocked check: target/debug/hello-server\n"));
        let fail = line_with(&text, "concurrency.slow-does-not-block");
        assert!(fail.trim_start().starts_with("FAIL "), "{fail}");
        assert!(fail.contains("[fast-request-delayed]"), "{fail}");
        assert!(fail.contains(" 3012 ms"), "{fail}");
        assert!(
            text.contains(r"sent:     GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "{text}"
        );
        assert!(
            text.contains(r"received: HTTP/1.1 200 OK\r\n\r\n\xff"),
            "{text}"
        );
        assert!(text.contains("replay:   printf"), "{text}");
        assert!(text.contains("c connecting  s sending"), "{text}");
        // The scale spans the bar exactly.
        let slow = line_with(&text, "slow 1 |");
        let scale = line_with(&text, " 0 ms ");
        assert_eq!(scale.find("0 ms"), slow.find('|').map(|i| i + 1), "{text}");
        assert!(scale.ends_with("3001 ms"), "{scale}");
        assert_eq!(scale.len(), slow.rfind('|').unwrap(), "{text}");
        let late = line_with(&text, "fast 1 |");
        assert!(
            text.contains(&format!(
                "{}  ^ late: waiting for the first response byte",
                " ".repeat(6)
            )),
            "{text}"
        );
        assert!(late.contains('='), "{late}");
        // Each row says when it started and how long it took; the chart fits 80 columns.
        assert!(slow.ends_with("| 200 +0ms 3001ms"), "{slow}");
        assert!(late.contains("| 200 +100ms 1906ms"), "{late}");
        for line in text
            .lines()
            .filter(|l| l.contains(" |") || l.contains("0 ms "))
        {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        assert!(
            text.contains("server output (last 2 lines):\n  listening"),
            "{text}"
        );
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with("4 checks: 1 pass, 1 non-strict, 1 fail, 1 skip, 0 info in 3.5s"),
            "{last}"
        );
        assert!(last.ends_with("— NOT conforming"), "{last}");
        // Groups in order of first appearance.
        let fixtures = text.find("fixtures (2 checks)").unwrap();
        let concurrency = text.find("concurrency (1 check)").unwrap();
        let pages = text.find("pages (1 check)").unwrap();
        assert!(fixtures < concurrency && concurrency < pages);
        // Data only when verbose; pass lines have no details.
        assert!(!text.contains("budget_ms"));
        assert!(!text.contains("200 OK with the hello page"));
    }

    #[test]
    fn non_strict_and_skip_show_their_reason() {
        let text = render(&sample(), &Style::plain());
        let lenient = line_with(&text, "fixtures.bare-lf");
        assert!(lenient.trim_start().starts_with("NON-STRICT "), "{lenient}");
        assert!(lenient.contains("[status-non-strict]"));
        assert!(text.contains("\n      the server accepted a bare LF"));
        let skip = line_with(&text, "pages.favicon");
        assert!(skip.trim_start().starts_with("SKIP "), "{skip}");
        assert!(text.contains("\n      no favicon in the book's server"));
        let pass = line_with(&text, "fixtures.get-root");
        assert!(!pass.contains('['), "{pass}");
    }

    #[test]
    fn strict_turns_non_strict_into_fail() {
        let mut report = sample();
        report.strict = true;
        let text = render(&report, &Style::plain());
        assert!(text.starts_with("unblocked check: target/debug/hello-server (strict)\n"));
        let lenient = line_with(&text, "fixtures.bare-lf");
        assert!(lenient.trim_start().starts_with("FAIL "), "{lenient}");
        assert!(!text.contains("NON-STRICT"));
        assert!(text.contains("2 fail"));
    }

    #[test]
    fn conforming_report() {
        let mut report = sample();
        report.checks.retain(|c| c.verdict != Verdict::Fail);
        let text = render(&report, &Style::plain());
        assert!(text.trim_end().ends_with("— conforming"), "{text}");
        assert!(!text.contains("server output"), "{text}");
    }

    #[test]
    fn color_only_when_asked() {
        let report = sample();
        let plain = render(&report, &Style::plain());
        assert!(!plain.contains('\x1b'));
        let colored = render(&report, &Style::plain_verbose(false).colored());
        assert!(
            colored.contains(&format!("{RED}FAIL      {RESET}")),
            "{colored}"
        );
        assert!(colored.contains(GREEN));
        assert!(colored.contains(YELLOW));
        assert!(colored.contains(BLUE));
    }

    #[test]
    fn verbose_shows_everything() {
        let text = render(
            &sample(),
            &Style {
                color: false,
                verbose: true,
            },
        );
        assert!(text.contains("budget_ms: 500"), "{text}");
        assert!(
            text.contains("\n      200 OK with the hello page\n"),
            "{text}"
        );
    }

    #[test]
    fn color_detection_follows_no_color() {
        use std::ffi::OsStr;
        assert!(color_allowed(true, None));
        assert!(color_allowed(true, Some(OsStr::new(""))));
        assert!(!color_allowed(true, Some(OsStr::new("1"))));
        assert!(!color_allowed(false, None));
        assert!(!Style::for_stream(false, true).color);
        assert!(Style::for_stream(false, true).verbose);
    }

    #[test]
    fn long_bytes_are_truncated_at_a_whole_escape() {
        let bytes = vec![0xffu8; 200];
        let text = escape_truncated(&bytes, 300);
        assert!(text.ends_with("... (200 bytes)"), "{text}");
        let shown = text.trim_end_matches("... (200 bytes)");
        assert_eq!(shown.len(), 300 / 4 * 4);
        assert!(shown.ends_with(r"\xff"));
        assert_eq!(escape_truncated(b"ab\n", 300), r"ab\n");
    }

    #[test]
    fn bar_marks_each_phase() {
        let entry = TimelineEntry {
            label: "x".into(),
            start: ms(10),
            connected: ms(20),
            sent: ms(30),
            first_byte: ms(40),
            end: ms(50),
            ..TimelineEntry::default()
        };
        let bar = timeline_bar(&entry, Duration::from_millis(60), 60);
        assert_eq!(bar.len(), 60);
        assert_eq!(
            bar,
            format!(
                "{}{}{}{}{}{}",
                ".".repeat(10),
                "c".repeat(10),
                "s".repeat(10),
                "w".repeat(10),
                "=".repeat(10),
                " ".repeat(10)
            )
        );
        let never = TimelineEntry::default();
        assert!(timeline_bar(&never, Duration::from_millis(60), 60).contains("not started"));
        // A connection that never sends is drawn silent, not as sending.
        let idle = TimelineEntry {
            role: "idle".into(),
            start: ms(0),
            connected: ms(10),
            end: ms(60),
            ..TimelineEntry::default()
        };
        assert_eq!(timeline_bar(&idle, Duration::from_millis(60), 6), "c-----");
    }

    #[test]
    fn counts_are_singular_for_one_and_arrays_stay_in_json() {
        let mut report = sample();
        report.checks.truncate(1);
        report.checks[0].data = Some(crate::kit::report::Measurement::Load(Box::new(
            crate::kit::report::Load {
                fast_ms: Some(vec![Some(1.0), Some(2.0)]),
                ..Default::default()
            },
        )));
        let text = render(&report, &Style::plain_verbose(true));
        assert!(
            text.lines().last().unwrap().starts_with("1 check: 1 pass"),
            "{text}"
        );
        assert!(!text.contains("fast_ms"), "{text}");
    }
}
