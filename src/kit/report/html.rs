//! The report as one self-contained HTML file: no network, no external script, font or
//! style, so it opens from a CI artifact, offline; readable without JavaScript (the little
//! script only adds a "failures only" switch) and in print.
//!
//! It shows the summary and verdict first, then each group with its checks; under every
//! check that did not pass, its evidence (request, response, ending, expected, rule,
//! replay) and a fuzz check's failure classes; and under every concurrency check, its
//! timeline drawn as an SVG: one row per request, a bar from its start to its end, marks
//! for "sent" and "first byte", the fast budget as a band, the fast requests that missed it
//! in the failure colour, and exact times on hover. A server that serializes requests draws
//! a staircase; a correct one, parallel bars.
//!
//! Every byte the server sent, and every other text, is escaped with `html-escape`: a
//! server's bytes never become HTML. Colours follow the Okabe-Ito palette, which
//! colour-blind readers tell apart, and every verdict is also written out in words.

use super::{CheckResult, Evidence, FailureClass, Report, TargetInfo, TimelineEntry, Verdict};
use crate::kit::verdict::RuleId;
use std::fmt::Write as _;
use std::time::Duration;

/// Text for an element's content: HTML-escaped, and no raw control character (only a
/// line end or a tab) reaches the page, whoever wrote the text.
fn text(s: &str) -> String {
    html_escape::encode_text(&visible(s)).into_owned()
}

/// Text for a double-quoted attribute, like [`text`].
fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(&visible(s)).into_owned()
}

fn visible(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Escaped request bytes shown before truncation.
const REQUEST_CHARS: usize = 2000;
/// Escaped response bytes shown before truncation.
const RESPONSE_CHARS: usize = 2000;
/// Rows of a timeline beyond which requests of a role are aggregated into one row.
pub const MAX_ROWS_PER_ROLE: usize = 24;
/// The timeline's drawing, in SVG units (pixels at 100 %).
const SVG_WIDTH: f64 = 820.0;
const LABEL_WIDTH: f64 = 150.0;
const STATUS_WIDTH: f64 = 50.0;
const ROW_HEIGHT: f64 = 18.0;
const AXIS_HEIGHT: f64 = 28.0;

const STYLE: &str = r#"
:root { --pass: #0072B2; --fail: #D55E00; --nonstrict: #E69F00; --skip: #999999;
  --info: #56B4E9; --known: #CC79A7; --fixed: #009E73; --ink: #222; --soft: #f4f4f4; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 1.5em auto; max-width: 70em; padding: 0 1em; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
code, pre, .mono { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--soft); padding: .5em .7em; overflow-x: auto; white-space: pre-wrap;
  word-break: break-all; margin: .3em 0; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .25em .5em; border-bottom: 1px solid #ddd; vertical-align: top; }
.badge { display: inline-block; min-width: 6.5em; text-align: center; font-weight: 600;
  border-radius: 3px; padding: 0 .4em; color: #fff; font-size: 12px; letter-spacing: .03em; }
.v-pass { background: var(--pass); } .v-fail, .v-regressed { background: var(--fail); }
.v-non-strict { background: var(--nonstrict); color: #000; } .v-skip { background: var(--skip); }
.v-info { background: var(--info); color: #000; } .v-known { background: var(--known); }
.v-fixed { background: var(--fixed); }
.verdict { font-size: 1.2em; font-weight: 700; } .ok { color: var(--pass); } .bad { color: var(--fail); }
details.check { margin: .4em 0 .8em 1.2em; } details.check > summary { cursor: pointer; }
dl.evidence { display: grid; grid-template-columns: 7em 1fr; gap: .1em .8em; margin: .3em 0; }
dl.evidence dt { font-weight: 600; } dl.evidence dd { margin: 0; }
svg.timeline { width: 100%; height: auto; max-width: 820px; display: block; margin: .5em 0; }
svg text { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: var(--ink); }
.note { color: #555; font-size: 13px; }
.banner { border: 2px solid var(--fail); padding: .4em .7em; margin: .6em 0; font-weight: 600; }
body.failures-only tr.passing, body.failures-only details.passing { display: none; }
@media print { details.check { display: block; } details > summary { list-style: none; }
  .badge { color: #000 !important; background: none !important; border: 1px solid #000; }
  #failures-only { display: none; } }
"#;

const SCRIPT: &str = r#"
document.getElementById('failures-only').addEventListener('change', function (e) {
  document.body.classList.toggle('failures-only', e.target.checked);
});
"#;

/// The whole page: `title`, the inline style, `body`, the inline script.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <label class=\"note\"><input type=\"checkbox\" id=\"failures-only\"> show failures only</label>\n\
         {body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        text(title)
    )
}

/// The report as one HTML document.
pub fn render(report: &Report) -> String {
    let title = format!(
        "unblocked {}: {}",
        report.command(),
        target_name(&report.target)
    );
    page(&title, &report_body(report, "c"))
}

/// The document for a run that could not start.
pub fn error_document(target: &TargetInfo, message: &str) -> String {
    let target = target.name();
    page(
        &format!("unblocked check: {target}"),
        &format!(
            "<h1>unblocked check: {}</h1>\n<p class=\"verdict bad\">setup error: not run</p>\n<pre>{}</pre>",
            text(target),
            text(message)
        ),
    )
}

pub fn target_name(target: &TargetInfo) -> &str {
    match target {
        TargetInfo::Command(command) => command,
        TargetInfo::Addr(addr) => addr,
    }
}

/// An `id` attribute for a check of the report with `prefix`.
pub fn anchor(prefix: &str, check_id: &str) -> String {
    format!("{prefix}-{check_id}")
}

/// A verdict as a badge: colour and word.
pub fn badge(verdict: Verdict) -> String {
    let word = verdict.as_str();
    format!(
        "<span class=\"badge v-{word}\">{}</span>",
        word.to_uppercase()
    )
}

/// The report's content; check anchors are `prefix-<check id>`.
pub fn report_body(report: &Report, prefix: &str) -> String {
    let mut out = String::new();
    let summary = report.summary();
    let class = if report.conforming() { "ok" } else { "bad" };
    let conclusion = report.conclusion();
    let _ = writeln!(
        out,
        "<h1>unblocked {}: <code>{}</code>{}</h1>",
        report.command(),
        text(target_name(&report.target)),
        if report.strict { " (strict)" } else { "" }
    );
    let _ = writeln!(out, "<p class=\"verdict {class}\">{conclusion}</p>");
    if report.interrupted {
        let _ = writeln!(
            out,
            "<p class=\"banner\">The run was interrupted: only the checks that finished are shown.</p>"
        );
    }
    let counts = format!("{} checks: {}", report.checks.len(), summary.counts());
    let _ = writeln!(
        out,
        "<p>{} in {:.1} s</p>",
        text(&counts),
        report.duration.as_secs_f64()
    );
    for note in &report.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", text(note));
    }
    for (group, checks) in super::human::groups(report) {
        let _ = writeln!(out, "<section id=\"{}\">", attr(&anchor(prefix, group)));
        let count = if checks.len() == 1 {
            "1 check".to_string()
        } else {
            format!("{} checks", checks.len())
        };
        let _ = writeln!(out, "<h2>{} ({count})</h2>", text(group));
        let _ = writeln!(out, "<table>");
        for check in checks {
            check_row(&mut out, report, check, prefix);
        }
        let _ = writeln!(out, "</table>\n</section>");
    }
    if !report.server_output.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Server output</h2>\n<details><summary>the last {} lines</summary><pre>{}</pre></details>",
            report.server_output.len(),
            text(&report.server_output.join("\n"))
        );
    }
    out
}

/// One check: its row, and under it (for anything but a plain pass) what it found.
fn check_row(out: &mut String, report: &Report, check: &CheckResult, prefix: &str) {
    let verdict = report.verdict_of(check);
    let passing = matches!(verdict, Verdict::Pass | Verdict::Info | Verdict::Fixed);
    let row_class = if passing { "passing" } else { "failing" };
    let rule = check.rule.map_or("", RuleId::name);
    let _ = writeln!(
        out,
        "<tr class=\"{row_class}\" id=\"{}\"><td>{}</td><td><code>{}</code></td><td class=\"mono\">{} ms</td><td><code>{}</code></td></tr>",
        attr(&anchor(prefix, &check.id)),
        badge(verdict),
        text(&check.id),
        check.duration.as_millis(),
        text(rule)
    );
    let worth_showing = !passing || !check.timeline.is_empty() || !check.classes.is_empty();
    if !worth_showing {
        return;
    }
    let open = if verdict == Verdict::Fail || verdict == Verdict::Regressed {
        " open"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<tr class=\"{row_class}\"><td></td><td colspan=\"3\"><details class=\"check {row_class}\" data-check=\"{}\"{open}><summary>{}</summary>",
        attr(&check.id),
        text(&check.description)
    );
    if !check.detail.is_empty() {
        let _ = writeln!(out, "<pre>{}</pre>", text(&check.detail));
    }
    if let Some(evidence) = &check.evidence {
        evidence_list(out, evidence, check.rule.map(RuleId::name));
    }
    if !check.classes.is_empty() {
        classes_table(out, &check.classes);
    }
    if !check.timeline.is_empty() {
        out.push_str(&timeline_svg(check));
    }
    let _ = writeln!(out, "</details></td></tr>");
}

fn evidence_list(out: &mut String, evidence: &Evidence, rule: Option<&str>) {
    let response = match &evidence.response {
        Some(bytes) if !bytes.is_empty() => bytes.escaped(RESPONSE_CHARS),
        _ => "(nothing)".into(),
    };
    let _ = writeln!(out, "<dl class=\"evidence\">");
    let mut item = |name: &str, value: &str, pre: bool| {
        if value.is_empty() {
            return;
        }
        let value = text(value);
        let value = if pre {
            format!("<pre>{value}</pre>")
        } else {
            value
        };
        let _ = writeln!(out, "<dt>{name}</dt><dd>{value}</dd>");
    };
    item("sent", &evidence.request.escaped(REQUEST_CHARS), true);
    item("received", &response, true);
    item("ending", &evidence.ending, false);
    item("expected", &evidence.expected, false);
    item("rule", rule.unwrap_or(""), false);
    item("replay", &evidence.replay, true);
    let _ = writeln!(out, "</dl>");
}

fn classes_table(out: &mut String, classes: &[FailureClass]) {
    let _ = writeln!(
        out,
        "<table class=\"classes\"><tr><th>verdict</th><th>class</th><th>cases</th><th>minimal input and what came back</th></tr>"
    );
    for class in classes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code> on <code>{}</code></td><td class=\"mono\">{}</td><td>",
            badge(class.verdict),
            text(class.rule.name()),
            text(&class.kind),
            class.count
        );
        evidence_list(out, &class.evidence, Some(class.rule.name()));
        if !class.detail.is_empty() {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", text(&class.detail));
        }
        let _ = writeln!(out, "</td></tr>");
    }
    let _ = writeln!(out, "</table>");
}

/// One row of the drawing: a request, or an aggregate of many.
struct Row<'a> {
    label: String,
    entry: Option<&'a TimelineEntry>,
    /// For an aggregate: the earliest start and the latest end.
    span: Option<(Duration, Duration)>,
    title: String,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The timeline of a concurrency check as an SVG.
pub fn timeline_svg(check: &CheckResult) -> String {
    let rows = timeline_rows(check);
    let max = check
        .timeline
        .iter()
        .flat_map(|e| [e.start, e.connected, e.sent, e.first_byte, e.end])
        .flatten()
        .chain(rows.iter().filter_map(|r| r.span.map(|s| s.1)))
        .max()
        .unwrap_or(Duration::from_millis(1))
        .max(Duration::from_millis(1));
    let budget = check
        .load()
        .map(|load| Duration::from_secs_f64(load.budget_ms / 1000.0));
    let chart = SVG_WIDTH - LABEL_WIDTH - STATUS_WIDTH;
    let x = |t: Duration| LABEL_WIDTH + chart * (t.as_secs_f64() / max.as_secs_f64()).min(1.0);
    let height = AXIS_HEIGHT + ROW_HEIGHT * rows.len() as f64 + 6.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"timeline\" viewBox=\"0 0 {SVG_WIDTH} {height}\" role=\"img\" aria-label=\"{}\">",
        attr(&format!("timeline of {}", check.id))
    );
    let _ = writeln!(
        svg,
        "<defs><pattern id=\"late\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" fill=\"#D55E00\"/></pattern></defs>"
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW_HEIGHT * i as f64;
        draw_row(&mut svg, row, y, budget, &x);
    }
    axis(&mut svg, max, 4.0 + ROW_HEIGHT * rows.len() as f64, &x);
    let _ = writeln!(svg, "</svg>");
    let legend = "bar: from the request's start to its end (light: connecting); | sent; ◆ first response byte; green band: the fast budget; hatched orange: a fast request that missed it";
    let mut notes = format!("<p class=\"note\">{}</p>", text(legend));
    let load = check.load();
    for note in [
        load.and_then(|l| l.timeline_note.as_deref()),
        load.and_then(|l| l.bad_timeline_note.as_deref()),
    ]
    .into_iter()
    .flatten()
    {
        let _ = write!(notes, "<p class=\"note\">{}</p>", text(note));
    }
    svg + &notes
}

/// The rows: every timeline entry, up to [`MAX_ROWS_PER_ROLE`] per role, then one
/// aggregate row per role for the rest (and for the slow requests the kit sampled).
fn timeline_rows(check: &CheckResult) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    let mut roles: Vec<&str> = Vec::new();
    for entry in &check.timeline {
        if !roles.contains(&entry.role.as_str()) {
            roles.push(&entry.role);
        }
    }
    for role in roles {
        let of_role: Vec<&TimelineEntry> =
            check.timeline.iter().filter(|e| e.role == role).collect();
        for entry in of_role.iter().take(MAX_ROWS_PER_ROLE) {
            rows.push(Row {
                label: entry.label.clone(),
                entry: Some(entry),
                span: None,
                title: entry_title(entry),
            });
        }
        let rest = &of_role[of_role.len().min(MAX_ROWS_PER_ROLE)..];
        if let Some(row) = aggregate(role, rest.iter().copied()) {
            rows.push(row);
        }
    }
    if let Some(marks) = check.load().and_then(|l| l.slow_marks_ms.as_ref()) {
        let start = marks.iter().filter_map(|m| m.0).fold(f64::MAX, f64::min);
        let end = marks.iter().filter_map(|m| m.4).fold(0.0, f64::max);
        if !marks.is_empty() && start <= end {
            let span = (
                Duration::from_secs_f64(start / 1e3),
                Duration::from_secs_f64(end / 1e3),
            );
            rows.push(Row {
                label: format!("all {} slow", marks.len()),
                entry: None,
                span: Some(span),
                title: format!(
                    "all {} slow requests, aggregated (the rows above are a sample): first start {start:.1} ms, last end {end:.1} ms",
                    marks.len()
                ),
            });
        }
    }
    rows
}

fn aggregate<'a>(role: &str, rest: impl Iterator<Item = &'a TimelineEntry>) -> Option<Row<'a>> {
    let rest: Vec<&TimelineEntry> = rest.collect();
    let start = rest.iter().filter_map(|e| e.start).min()?;
    let end = rest.iter().filter_map(|e| e.end).max().unwrap_or(start);
    Some(Row {
        label: format!("{role} ×{} more", rest.len()),
        entry: None,
        span: Some((start, end)),
        title: format!(
            "{} more {role} requests, aggregated: first start {} ms, last end {} ms",
            rest.len(),
            ms(start),
            ms(end)
        ),
    })
}

fn entry_title(e: &TimelineEntry) -> String {
    let at = |name: &str, t: Option<Duration>| t.map(|t| format!("{name} {} ms", ms(t)));
    let mut parts: Vec<String> = [
        at("start", e.start),
        at("connected", e.connected),
        at("sent", e.sent),
        at("first byte", e.first_byte),
        at("end", e.end),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.push(match e.status {
        Some(status) => format!("status {status}"),
        None => "no status".into(),
    });
    if let Some(waited) = &e.waited {
        parts.push(format!("late: waited {waited}"));
    }
    format!("{}: {}", e.label, parts.join(", "))
}

fn draw_row(
    svg: &mut String,
    row: &Row<'_>,
    y: f64,
    budget: Option<Duration>,
    x: &impl Fn(Duration) -> f64,
) {
    let mid = y + ROW_HEIGHT / 2.0;
    let _ = writeln!(svg, "<g class=\"row\"><title>{}</title>", text(&row.title));
    let _ = writeln!(
        svg,
        "<text x=\"4\" y=\"{:.1}\">{}</text>",
        mid + 4.0,
        text(&row.label)
    );
    if let Some((start, end)) = row.span {
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#999999\" opacity=\"0.5\"/>",
            x(start),
            y + 3.0,
            (x(end) - x(start)).max(1.0),
            ROW_HEIGHT - 6.0
        );
    }
    if let Some(e) = row.entry {
        draw_entry(svg, e, y, budget, x);
    }
    let _ = writeln!(svg, "</g>");
}

fn draw_entry(
    svg: &mut String,
    e: &TimelineEntry,
    y: f64,
    budget: Option<Duration>,
    x: &impl Fn(Duration) -> f64,
) {
    let Some(start) = e.start else {
        return;
    };
    let late = e.waited.is_some();
    let color = match e.role.as_str() {
        "slow" => "#0072B2",
        "fast" => "#009E73",
        _ => "#777777",
    };
    // A request that never ended was still in flight when the check gave up: to the edge.
    let end = e.end.unwrap_or(Duration::MAX);
    let (top, h) = (y + 3.0, ROW_HEIGHT - 6.0);
    if e.role == "fast"
        && let Some(budget) = budget
    {
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#009E73\" opacity=\"0.18\"/>",
            x(start),
            y + 1.0,
            (x(start + budget) - x(start)).max(1.0),
            ROW_HEIGHT - 2.0
        );
    }
    let connected = e.connected.unwrap_or(end);
    let _ = writeln!(
        svg,
        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\" opacity=\"0.35\"/>",
        x(start),
        (x(connected) - x(start)).max(0.5)
    );
    let fill = if late { "url(#late)" } else { color };
    let _ = writeln!(
        svg,
        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"{}/>",
        x(connected),
        (x(end) - x(connected)).max(1.0),
        if late { " stroke=\"#D55E00\"" } else { "" }
    );
    if let Some(sent) = e.sent {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#000\" stroke-width=\"1.5\"/>",
            x(sent),
            y + 1.0,
            y + ROW_HEIGHT - 1.0
        );
    }
    if let Some(first) = e.first_byte {
        let (cx, cy) = (x(first), y + ROW_HEIGHT / 2.0);
        let _ = writeln!(
            svg,
            "<path d=\"M{:.1} {:.1} l4 4 l-4 4 l-4 -4 z\" fill=\"#000\"/>",
            cx,
            cy - 4.0
        );
    }
    let status = e.status.map_or("---".to_string(), |s| s.to_string());
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\"{}>{}</text>",
        SVG_WIDTH - STATUS_WIDTH + 6.0,
        y + ROW_HEIGHT / 2.0 + 4.0,
        if late {
            " fill=\"#D55E00\" font-weight=\"bold\""
        } else {
            ""
        },
        text(&status)
    );
}

/// The time axis under the rows, with a few round ticks.
fn axis(svg: &mut String, max: Duration, y: f64, x: &impl Fn(Duration) -> f64) {
    let total = max.as_secs_f64() * 1000.0;
    let step = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
    ]
    .into_iter()
    .find(|s| total / s <= 8.0)
    .unwrap_or(20000.0);
    let _ = writeln!(
        svg,
        "<line x1=\"{LABEL_WIDTH}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#444\"/>",
        x(max)
    );
    let mut t = 0.0;
    while t <= total + 1e-9 {
        let at = x(Duration::from_secs_f64(t / 1000.0));
        let _ = writeln!(
            svg,
            "<line x1=\"{at:.1}\" x2=\"{at:.1}\" y1=\"{y:.1}\" y2=\"{:.1}\" stroke=\"#444\"/><text x=\"{at:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t} ms</text>",
            y + 4.0,
            y + 16.0
        );
        t += step;
    }
}
