//! `--format html`: one self-contained page, read back with an HTML parser: a server's
//! bytes never become markup, nothing is fetched from elsewhere, and every concurrency
//! check has its timeline drawn, one row per request.

mod common;

use assert_cmd::Command;
use common::bin_command;
use scraper::{Html, Selector};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use unblocked::kit::report::html::{self, MAX_ROWS_PER_ROLE};
use unblocked::kit::report::{CheckResult, Report, TargetInfo, TimelineEntry, Verdict};
use unblocked::kit::run::check::{Check, Settings};

fn select(text: &str) -> Selector {
    Selector::parse(text).unwrap()
}

/// A server that answers everything with a page that is a script.
fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let _ = stream.read(&mut [0; 4096]);
            let body = "<script>alert('pwned')</script>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Note: </pre><img src=x>\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn a_servers_bytes_never_become_markup_and_nothing_is_fetched() {
    let addr = hostile_server();
    let output = Command::cargo_bin("unblocked")
        .unwrap()
        .args(["check", "--addr", &addr, "--format", "html"])
        .args(["--only", "fixtures.get-nope,fixtures.post-root-body"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = String::from_utf8(output.stdout).unwrap();
    let doc = Html::parse_document(&page);
    // The kit's own script only, and no image the server slipped in.
    let scripts: Vec<_> = doc.select(&select("script")).collect();
    assert_eq!(scripts.len(), 1, "{page}");
    assert!(!scripts[0].inner_html().contains("pwned"));
    assert_eq!(doc.select(&select("img")).count(), 0, "{page}");
    // What the server sent is shown as text.
    let shown: String = doc.root_element().text().collect();
    assert!(shown.contains("<script>alert("), "{shown}");
    // Self-contained: no stylesheet, script, image or font from anywhere else.
    assert_eq!(doc.select(&select("link, [src]")).count(), 0);
    for link in doc.select(&select("[href]")) {
        let href = link.value().attr("href").unwrap();
        assert!(href.starts_with('#'), "{href}");
    }
    assert!(
        !page.contains("http://") || !page.contains("<link"),
        "external resource"
    );
}

#[test]
fn every_concurrency_check_has_one_svg_with_a_row_per_request() {
    let mut settings = Settings::default();
    settings.concurrency.slow = Some(4);
    settings.only = vec!["concurrency".into()];
    let report = Check::server(&bin_command(
        "hello-server",
        "--bind 127.0.0.1:{port} --sleep 300ms --quiet",
    ))
    .settings(settings)
    .run()
    .unwrap();
    let doc = Html::parse_document(&html::render(&report));
    let mut drawn = 0;
    for check in report.checks.iter().filter(|c| !c.timeline.is_empty()) {
        let section = select(&format!("details[data-check=\"{}\"]", check.id));
        let section = doc
            .select(&section)
            .next()
            .unwrap_or_else(|| panic!("{}", check.id));
        let svgs: Vec<_> = section.select(&select("svg.timeline")).collect();
        assert_eq!(svgs.len(), 1, "{}", check.id);
        // Every request (K = 4, so no role is aggregated), and the slow ones' summary row.
        let summary = usize::from(check.load().is_some_and(|l| l.slow_marks_ms.is_some()));
        let rows = svgs[0].select(&select("g.row")).count();
        assert_eq!(rows, check.timeline.len() + summary, "{}", check.id);
        drawn += 1;
    }
    assert!(drawn >= 5, "{drawn} timelines");
}

fn entry(role: &str, n: usize, start_ms: u64, end_ms: u64) -> TimelineEntry {
    TimelineEntry {
        label: format!("{role} {n}"),
        role: role.into(),
        start: Some(Duration::from_millis(start_ms)),
        connected: Some(Duration::from_millis(start_ms + 1)),
        sent: Some(Duration::from_millis(start_ms + 2)),
        first_byte: Some(Duration::from_millis(end_ms - 1)),
        end: Some(Duration::from_millis(end_ms)),
        status: Some(200),
        waited: None,
    }
}

/// A concurrency check with 1,000 slow requests and one late fast request.
fn big_check() -> CheckResult {
    let mut check = CheckResult::new(
        "concurrency.slow-does-not-delay-fast",
        "concurrency",
        "a slow request does not delay a fast one",
    );
    check.verdict = Verdict::Fail;
    check.rule = Some(unblocked::kit::verdict::RuleId::FastRequestDelayed);
    check.detail = "fast 1 took 1003 ms; the budget is 100 ms".into();
    check.timeline = (1..=1000)
        .map(|n| entry("slow", n, n as u64 % 50, 1000))
        .collect();
    let mut late = entry("fast", 1, 50, 1003);
    late.waited = Some("waiting for the first response byte".into());
    check.timeline.push(late);
    check.data = Some(unblocked::kit::report::Measurement::Load(Box::new(
        unblocked::kit::report::Load::new(4, Duration::from_secs(1), Duration::from_millis(100)),
    )));
    check.duration = Duration::from_millis(1010);
    check
}

fn small_report() -> Report {
    Report {
        target: TargetInfo::Command("my-server --port {port}".into()),
        strict: false,
        checks: vec![
            {
                let mut pass =
                    CheckResult::new("fixtures.get-root", "fixtures", "GET / is the hello page");
                pass.duration = Duration::from_millis(1);
                pass
            },
            big_check(),
        ],
        server_output: vec!["listening".into()],
        duration: Duration::from_millis(1200),
        interrupted: false,
        notes: Vec::new(),
    }
}

#[test]
fn a_thousand_slow_requests_are_aggregated_and_a_late_one_is_marked() {
    let doc = Html::parse_document(&html::render(&small_report()));
    let rows: Vec<_> = doc.select(&select("svg.timeline g.row")).collect();
    // 24 slow rows, one row for the 976 others, and the fast one.
    assert_eq!(rows.len(), MAX_ROWS_PER_ROLE + 2);
    let titles: Vec<String> = rows
        .iter()
        .map(|r| r.select(&select("title")).next().unwrap().inner_html())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("976 more slow requests")),
        "{titles:?}"
    );
    let late = titles.iter().find(|t| t.starts_with("fast 1")).unwrap();
    assert!(
        late.contains("late: waited waiting for the first response byte"),
        "{late}"
    );
    assert!(
        doc.select(&select("svg.timeline [fill=\"url(#late)\"]"))
            .count()
            >= 1
    );
}

/// The page of a small report, byte for byte: `UPDATE_SNAPSHOTS=1 cargo test --test html`
/// rewrites it after a deliberate change (review the diff).
#[test]
fn a_small_report_renders_as_its_snapshot() {
    let page = html::render(&small_report());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/report.html");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        page == expected,
        "the page differs from {}: UPDATE_SNAPSHOTS=1 rewrites it",
        path.display()
    );
}

/// Issue 20 §13: whatever a check's text or a user's command holds, no raw control
/// character but a line end or a tab reaches the page.
#[test]
fn no_raw_control_character_reaches_the_page() {
    let mut report = small_report();
    report.target = TargetInfo::Command("my-server\u{1b}[2J --port {port}".into());
    report.checks[1].detail = "bell\u{7} nul\u{0} escape\u{1b}]0;title\u{7} c1\u{9b}".into();
    report.server_output = vec!["\u{1b}[31mred\u{1b}[0m\u{8}".into()];
    let page = html::render(&report);
    let raw: Vec<char> = page
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect();
    assert!(raw.is_empty(), "raw control characters: {raw:?}");
    assert!(
        page.contains("escape\\u{1b}]0;title\\u{7}"),
        "shown, escaped"
    );
}
