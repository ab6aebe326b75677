//! Fixture cases: requests with the row of the expectations table they belong to.
//!
//! The bundled cases (`fixtures/cases/*.toml`) are embedded in the binary; `--cases DIR`
//! adds the `*.toml` files of a directory, and a case with the id of a bundled one replaces
//! it. The format is documented in docs/fixtures.md:
//!
//! ```toml
//! [[case]]
//! id = "get-root"                       # stable: the check id is fixtures.get-root
//! description = "why the expectation holds"
//! kind = "hello"                        # a row of the expectations table
//! request = 'GET / HTTP/1.1\r\n\r\n'    # a literal string in the kit's escape syntax
//! # chunks = ['GE', 'T / HTTP/1.1\r\n\r\n']   instead of request
//! # chunk_size = 1                      # send request N bytes at a time
//! # pause = "10ms"                      # between pieces
//! # half_close = true                   # shut down the write side after sending
//! # later = ['GET /nope HTTP/1.1\r\n\r\n']   # sent on the same connection once the
//! #                                     # requests before each one are answered
//! # expect = { strict = [200], non_strict = [404, "close"] }   # overrides the first request's
//! ```
//!
//! Several requests in `request` are pipelined (sent at once); each string of `later` is
//! sent after the answers to every request before it. Each request is judged by its own
//! expectation, and a server may close instead of answering a request after the first.

use crate::kit::http::escape::{MAX_REPEAT_BYTES, unescape};
use crate::kit::http::raw::{self, Delivery, Later};
use crate::kit::report::replay;
use crate::kit::report::{CheckResult, Evidence, Excerpt, Measurement, Verdict};
use crate::kit::run::context::{CheckInfo, Context};
use crate::kit::verdict::RuleId;
use crate::kit::verdict::expect::{Expectation, Kind, Outcome, Plan, analyze};
use crate::kit::verdict::judge::judge;
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// The bundled case files, embedded. A unit test checks this list against the directory.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "connection.toml",
        include_str!("../../../fixtures/cases/connection.toml"),
    ),
    (
        "delivery.toml",
        include_str!("../../../fixtures/cases/delivery.toml"),
    ),
    (
        "framing.toml",
        include_str!("../../../fixtures/cases/framing.toml"),
    ),
    (
        "headers.toml",
        include_str!("../../../fixtures/cases/headers.toml"),
    ),
    (
        "limits.toml",
        include_str!("../../../fixtures/cases/limits.toml"),
    ),
    (
        "malformed.toml",
        include_str!("../../../fixtures/cases/malformed.toml"),
    ),
    (
        "methods.toml",
        include_str!("../../../fixtures/cases/methods.toml"),
    ),
    (
        "routes.toml",
        include_str!("../../../fixtures/cases/routes.toml"),
    ),
    (
        "targets.toml",
        include_str!("../../../fixtures/cases/targets.toml"),
    ),
    (
        "versions.toml",
        include_str!("../../../fixtures/cases/versions.toml"),
    ),
];

/// One fixture case, ready to send.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub description: String,
    /// The file it came from (`bundled:routes.toml` or a path).
    pub source: String,
    pub kind: Kind,
    pub delivery: Delivery,
    /// Every request of the case with its expectation.
    pub plan: Plan,
}

/// A fixture file that cannot be used; the message names the file and, for syntax errors,
/// the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fixture file {}: {}", self.file, self.message)
    }
}

impl std::error::Error for FixtureError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default, rename = "case")]
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    description: String,
    kind: Kind,
    request: Option<String>,
    chunks: Option<Vec<String>>,
    chunk_size: Option<usize>,
    pause: Option<String>,
    #[serde(default)]
    half_close: bool,
    #[serde(default)]
    later: Vec<String>,
    expect: Option<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    strict: Vec<RawOutcome>,
    #[serde(default)]
    non_strict: Vec<RawOutcome>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawOutcome {
    Status(u16),
    Word(String),
}

impl RawOutcome {
    fn outcome(&self) -> Result<Outcome, String> {
        match self {
            RawOutcome::Status(code @ 100..=599) => Ok(Outcome::Status(*code)),
            RawOutcome::Status(code) => Err(format!("{code} is not an HTTP status")),
            RawOutcome::Word(w) if w == "close" => Ok(Outcome::SilentClose),
            RawOutcome::Word(w) => Err(format!("unknown outcome {w:?} (a status or \"close\")")),
        }
    }
}

/// The check id of a case: `fixtures.<id>`.
pub fn check_id(case: &Case) -> String {
    format!("fixtures.{}", case.id)
}

/// The check of a case.
pub fn info(case: &Case) -> CheckInfo {
    CheckInfo::new(check_id(case), "fixtures", case.description.clone())
}

/// Sends one case on a fresh connection and judges the answers.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo, case: &Case) -> CheckResult {
    let mut result = info.result();
    let addr = ctx.target.addr();
    let plan = &case.plan;
    let timing = ctx.timing(plan.slow());
    let request = Excerpt::of(&case.delivery.all_bytes());
    let replay = replay::command(&ctx.target.info(), addr, &case.delivery);
    let mut evidence = Evidence {
        request,
        response: None,
        ending: "no connection".into(),
        expected: plan.describe(),
        replay,
        closed_by_server: false,
    };
    result.data = Some(Measurement::Fixture {
        kind: case.kind.to_string(),
    });
    let gaps = u32::try_from(case.delivery.pieces.len().saturating_sub(1)).unwrap_or(u32::MAX);
    // Saturating: a long pause over many pieces cannot overflow (issue 20 §12).
    let pauses = case.delivery.pause.saturating_mul(gaps);
    if pauses >= timing.response {
        // The case could not be delivered before its own timeout: no server is to blame.
        result.verdict = Verdict::Skip;
        result.detail = format!(
            "the case pauses {} in all between its pieces, not less than the response timeout {}: shorten its pause or raise --timeout",
            humantime::format_duration(pauses),
            humantime::format_duration(timing.response)
        );
        return result;
    }
    match raw::send(addr, &case.delivery, &timing, &plan.owed()) {
        Err(e) => {
            result.verdict = Verdict::Fail;
            result.rule = Some(RuleId::NoResponse);
            result.detail = format!("cannot connect to {addr}: {e}");
        }
        Ok(exchange) => {
            let judgement = judge(plan, &exchange, ctx.pages.as_ref());
            result.verdict = judgement.verdict;
            result.rule = judgement.rule;
            result.detail = judgement.detail;
            evidence.response = exchange.answered().then(|| Excerpt::of(&exchange.received));
            evidence.closed_by_server =
                matches!(exchange.ending, raw::Ending::Closed | raw::Ending::Reset);
            evidence.ending = match exchange.ending {
                raw::Ending::TimedOut => format!(
                    "timed out after {}",
                    humantime::format_duration(timing.response)
                ),
                other => other.describe().to_string(),
            };
        }
    }
    result.evidence = Some(evidence);
    result
}

/// The bundled cases.
pub fn bundled() -> Result<Vec<Case>, FixtureError> {
    let mut cases = Vec::new();
    for (name, text) in BUNDLED {
        cases.extend(parse_file(&format!("bundled:{name}"), text)?);
    }
    check_unique(&cases)?;
    Ok(cases)
}

/// The cases of every `*.toml` file in `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, FixtureError> {
    let dir_error = |message: String| FixtureError {
        file: dir.display().to_string(),
        message,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| dir_error(format!("cannot read the directory: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(dir_error("no *.toml case files in it".into()));
    }
    let mut cases = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let text = crate::kit::files::read_text(&path, crate::kit::files::MAX_INPUT_FILE).map_err(
            |message| FixtureError {
                file: file.clone(),
                message,
            },
        )?;
        cases.extend(parse_file(&file, &text)?);
    }
    check_unique(&cases)?;
    Ok(cases)
}

/// `extra` cases replace bundled ones with the same id and add the others.
pub fn merge(mut bundled: Vec<Case>, extra: Vec<Case>) -> Vec<Case> {
    for case in extra {
        match bundled.iter_mut().find(|c| c.id == case.id) {
            Some(existing) => *existing = case,
            None => bundled.push(case),
        }
    }
    bundled
}

fn check_unique(cases: &[Case]) -> Result<(), FixtureError> {
    for (i, case) in cases.iter().enumerate() {
        if let Some(first) = cases[..i].iter().find(|c| c.id == case.id) {
            return Err(FixtureError {
                file: case.source.clone(),
                message: format!("case id {:?} is also used in {}", case.id, first.source),
            });
        }
    }
    Ok(())
}

/// Parses one file's text.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Case>, FixtureError> {
    let error = |message: String| FixtureError {
        file: file.to_string(),
        message,
    };
    let parsed: CaseFile =
        toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
    parsed
        .cases
        .into_iter()
        .map(|raw| {
            let id = raw.id.clone();
            to_case(file, raw).map_err(|message| error(format!("case {id:?}: {message}")))
        })
        .collect()
}

fn to_case(file: &str, raw: RawCase) -> Result<Case, String> {
    if raw.id.is_empty()
        || !raw
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("id must be kebab-case: lowercase letters, digits and '-'".into());
    }
    let pause = match &raw.pause {
        Some(p) => {
            crate::kit::run::settings::parse_pause(p).map_err(|e| format!("pause {p:?}: {e}"))?
        }
        None => Duration::ZERO,
    };
    let pieces = match (&raw.request, &raw.chunks) {
        (Some(request), None) => {
            let bytes = unescape(request).map_err(|e| format!("request {e}"))?;
            match raw.chunk_size {
                Some(0) => return Err("chunk_size must be at least 1".into()),
                Some(size) => bytes.chunks(size).map(<[u8]>::to_vec).collect(),
                None => vec![bytes],
            }
        }
        (None, Some(chunks)) if raw.chunk_size.is_none() => {
            let mut pieces = Vec::with_capacity(chunks.len());
            let mut size = 0;
            for (i, c) in chunks.iter().enumerate() {
                let piece = unescape(c).map_err(|e| format!("chunk {i} {e}"))?;
                size = within_case_limit(size, piece.len())?;
                pieces.push(piece);
            }
            pieces
        }
        (None, Some(_)) => return Err("chunk_size goes with request, not chunks".into()),
        _ => return Err("give exactly one of request and chunks".into()),
    };
    let first_send = pieces.concat();
    let mut sent = first_send.len();
    let first = analyze(&first_send);
    let mut answered_before = first.requests.len();
    let mut asked_close = first.last().asks_close;
    let mut later = Vec::with_capacity(raw.later.len());
    for (i, text) in raw.later.iter().enumerate() {
        if asked_close {
            return Err(format!(
                "later[{i}] follows a request that says Connection: close: a client MUST NOT send it (RFC 9112 section 9.6)"
            ));
        }
        let bytes = unescape(text).map_err(|e| format!("later[{i}] {e}"))?;
        sent = within_case_limit(sent, bytes.len())?;
        let analysis = analyze(&bytes);
        asked_close = analysis.last().asks_close;
        let requests = analysis.requests.len();
        later.push(Later {
            after_responses: answered_before,
            bytes,
        });
        answered_before += requests;
    }
    let delivery = Delivery {
        pieces,
        pause,
        half_close: raw.half_close,
        later,
    };
    let mut plan = Plan::of(&delivery);
    let found = plan.first().kind;
    if found != raw.kind {
        return Err(format!(
            "kind is \"{}\", but the analyzer reads the first request as \"{found}\" ({})",
            raw.kind,
            plan.first().feature_names()
        ));
    }
    if let Some(expect) = raw.expect {
        let outcomes = |list: &[RawOutcome]| {
            list.iter()
                .map(RawOutcome::outcome)
                .collect::<Result<Vec<_>, _>>()
        };
        let strict = outcomes(&expect.strict)?;
        if strict.is_empty() {
            return Err("expect.strict needs at least one outcome".into());
        }
        plan.requests[0] =
            Expectation::explicit(plan.first(), &strict, &outcomes(&expect.non_strict)?);
    }
    Ok(Case {
        id: raw.id,
        description: raw.description,
        source: file.to_string(),
        kind: raw.kind,
        delivery,
        plan,
    })
}

/// The bytes a case sends so far, with `more`: refused past the kit's largest request, so that
/// a short file cannot expand into a memory bomb.
fn within_case_limit(sent: usize, more: usize) -> Result<usize, String> {
    let total = sent + more;
    if total > MAX_REPEAT_BYTES {
        return Err(format!(
            "the case expands past {MAX_REPEAT_BYTES} bytes, the most a case may send"
        ));
    }
    Ok(total)
}

/// A fixture file holding one case, in the format [`parse_file`] reads: what
/// `--save-failures` writes for each minimal failing fuzz input.
pub fn case_file(
    id: &str,
    description: &str,
    kind: Kind,
    request: &[u8],
    half_close: bool,
) -> String {
    let toml_string = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!(
        "[[case]]\nid = {}\ndescription = {}\nkind = \"{kind}\"\nrequest = '{}'\n",
        toml_string(id),
        toml_string(description),
        crate::kit::http::escape::escape(request),
    );
    if half_close {
        text.push_str("half_close = true\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_case_loads() {
        let cases = bundled().unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases");
        let written: usize = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .map(|text| text.lines().filter(|l| l.trim() == "[[case]]").count())
            .sum();
        assert_eq!(cases.len(), written);
        // The suite as documented in docs/fixtures.md; fewer means cases were lost.
        assert!(cases.len() >= 100, "{}", cases.len());
    }

    #[test]
    fn the_bundled_list_matches_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn a_case_in_another_row_than_the_analyzer_finds_is_refused() {
        let text = "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"hello\"\nrequest = 'GET /nope HTTP/1.1\\r\\n\\r\\n'\n";
        let e = parse_file("f.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("reads the first request as \"not-found\""),
            "{e}"
        );
    }

    #[test]
    fn incomplete_cases_half_close() {
        let mut incomplete = 0;
        for case in bundled().unwrap() {
            if !case.plan.requests.last().unwrap().complete {
                incomplete += 1;
                assert!(case.delivery.half_close, "{} must half-close", case.id);
            }
        }
        assert!(incomplete >= 5, "{incomplete} incomplete cases");
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let e = parse_file("x.toml", "[[case]]\nid = \"a\"\ndescription = oops\n").unwrap_err();
        assert_eq!(e.file, "x.toml");
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn bad_cases_are_explained() {
        for (text, needle) in [
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"nope\"\nrequest = ''\n",
                "unknown variant",
            ),
            (
                "[[case]]\nid = \"A B\"\ndescription = \"d\"\nkind = \"empty\"\nrequest = ''\n",
                "kebab-case",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"hello\"\n",
                "exactly one of request",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"hello\"\nrequest = '\\q'\n",
                "unknown escape",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"empty\"\nrequest = ''\nspeed = 3\n",
                "unknown field",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"empty\"\nrequest = ''\npause = \"soon\"\n",
                "pause",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"empty\"\nrequest = ''\npause = \"500000000000years\"\n",
                "longest duration",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"empty\"\nrequest = ''\nexpect = { strict = [\"maybe\"] }\n",
                "unknown outcome",
            ),
            (
                "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"hello\"\nrequest = 'GET / HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n'\nlater = ['GET / HTTP/1.1\\r\\n\\r\\n']\n",
                "MUST NOT send it",
            ),
        ] {
            let e = parse_file("f.toml", text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
    }

    #[test]
    fn explicit_expectations_and_deliveries_apply() {
        let text = "[[case]]\nid = \"a\"\ndescription = \"d\"\nkind = \"hello\"\nrequest = 'GET / HTTP/1.1\\r\\n\\r\\n'\nchunk_size = 4\npause = \"5ms\"\nexpect = { strict = [200, \"close\"], non_strict = [404] }\n";
        let case = &parse_file("f.toml", text).unwrap()[0];
        assert_eq!(case.delivery.pieces.len(), 5);
        assert_eq!(case.delivery.pause, Duration::from_millis(5));
        assert_eq!(
            case.plan.first().strict(),
            [Outcome::Status(200), Outcome::SilentClose]
        );
        assert_eq!(case.plan.first().non_strict(), [Outcome::Status(404)]);
    }

    #[test]
    fn saved_failures_read_back_as_the_same_bytes() {
        let request = b"GET /'\xff\\ HTTP/1.1\r\n\r\n";
        let text = case_file(
            "fuzz-1",
            "a \"minimal\" input",
            Kind::Malformed,
            request,
            true,
        );
        let case = &parse_file("saved.toml", &text).unwrap()[0];
        assert_eq!(case.delivery.bytes(), request);
        assert!(case.delivery.half_close);
        assert_eq!(case.description, "a \"minimal\" input");
    }

    #[test]
    fn extra_cases_replace_bundled_ones_by_id() {
        let a = parse_file(
            "a",
            "[[case]]\nid = \"x\"\ndescription = \"1\"\nkind = \"empty\"\nrequest = ''\n",
        )
        .unwrap();
        let b = parse_file("b", "[[case]]\nid = \"x\"\ndescription = \"2\"\nkind = \"empty\"\nrequest = ''\n[[case]]\nid = \"y\"\ndescription = \"3\"\nkind = \"empty\"\nrequest = ''\n").unwrap();
        let merged = merge(a, b);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].description, "2");
    }
}
