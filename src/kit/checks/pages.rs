//! The `pages` group: the pages later checks compare bodies with, given (`--pages`, the
//! bundled ones for the bundled server) or learned from the target (`pages.learned`).

use crate::kit::http::raw::{self, Delivery, Timing};
use crate::kit::report::{CheckResult, Verdict};
use crate::kit::run::context::{CheckInfo, Context};
use crate::kit::verdict::RuleId;
use crate::pages::Pages;
use std::net::SocketAddr;

/// The path asked for to learn the 404 page: no server has it.
pub const MISSING_PATH: &str = "/unblocked-no-such-page";

pub fn info() -> CheckInfo {
    CheckInfo::new(
        "pages.learned",
        "pages",
        "GET / answers a hello page and an unknown path a different 404 page; later checks compare bodies with them",
    )
}

/// `GET path` on a fresh connection: the status and the (decoded) body.
fn fetch(addr: SocketAddr, timing: &Timing, path: &str) -> Result<(u16, Vec<u8>), String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let ex = raw::send(
        addr,
        &Delivery::whole(request),
        timing,
        &raw::Owed::one_get(),
    )
    .map_err(|e| format!("cannot connect: {e}"))?;
    let message = ex.responses.first().ok_or_else(|| {
        format!(
            "no complete response to GET {path} ({})",
            ex.ending.describe()
        )
    })?;
    Ok((message.head.status, message.body(&ex.received)))
}

/// Why no pages could be learned: the rule broken and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLearned {
    pub rule: RuleId,
    pub detail: String,
}

/// The hello page (`GET /`, 200) and the 404 page (an unknown path, 404) of the server at
/// `addr`; they must be non-empty and differ, or no body can be told apart by them.
pub fn learn_pages(addr: SocketAddr, timing: &Timing) -> Result<Pages, NotLearned> {
    let ((hello_status, hello), (missing_status, missing)) = fetch(addr, timing, "/")
        .and_then(|hello| fetch(addr, timing, MISSING_PATH).map(|missing| (hello, missing)))
        .map_err(|e| NotLearned {
            rule: RuleId::NoResponse,
            detail: format!("{e}; bodies will not be compared"),
        })?;
    if hello_status != 200 || missing_status != 404 {
        return Err(NotLearned {
            rule: RuleId::StatusNotAllowed,
            detail: format!(
                "GET / answered {hello_status} and GET {MISSING_PATH} answered {missing_status}, not 200 and 404; bodies will not be compared"
            ),
        });
    }
    if hello.is_empty() || hello == missing {
        return Err(NotLearned {
            rule: RuleId::WrongPage,
            detail: "the hello and 404 pages must be non-empty and differ".into(),
        });
    }
    Ok(Pages {
        hello: hello.into(),
        not_found: missing.into(),
    })
}

/// Finds the pages; with `given`, only reports on the pages the run already has.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo, given: bool) -> CheckResult {
    let mut result = info.result();
    let addr = ctx.target.addr();
    let timing = ctx.timing(false);
    if given {
        // Only whether the target answers: its bodies are judged against the given pages.
        match fetch(addr, &timing, "/") {
            Ok((status, hello)) => {
                result.verdict = Verdict::Info;
                result.detail = format!(
                    "bodies are compared with the given pages (GET / answered {status} with {} bytes)",
                    hello.len()
                );
            }
            Err(e) => {
                result.verdict = Verdict::Fail;
                result.rule = Some(RuleId::NoResponse);
                result.detail = format!("{e}; bodies will not be compared");
            }
        }
        return result;
    }
    match learn_pages(addr, &timing) {
        Ok(pages) => {
            result.detail = format!(
                "learned a hello page of {} bytes and a 404 page of {} bytes",
                pages.hello.len(),
                pages.not_found.len()
            );
            ctx.pages = Some(pages);
        }
        Err(not) => {
            result.verdict = Verdict::Fail;
            result.rule = Some(not.rule);
            result.detail = not.detail;
        }
    }
    result
}
