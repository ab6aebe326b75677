//! The `pages` group: the pages later checks compare bodies with, given (`--pages`, the
//! bundled ones for the bundled server) or learned from the target (`pages.learned`).

use crate::kit::context::{CheckInfo, Context};
use crate::kit::raw::{self, Delivery};
use crate::kit::report::{CheckResult, Verdict};
use crate::pages::Pages;

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
fn fetch(ctx: &Context<'_>, path: &str) -> Result<(u16, Vec<u8>), String> {
    let addr = ctx.target.addr();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let ex = raw::send(
        addr,
        &Delivery::whole(request),
        &ctx.timing(false),
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

/// Finds the pages; with `given`, only reports on the pages the run already has.
pub fn run(ctx: &mut Context<'_>, info: &CheckInfo, given: bool) -> CheckResult {
    let mut result = info.result();
    let learned =
        fetch(ctx, "/").and_then(|hello| fetch(ctx, MISSING_PATH).map(|missing| (hello, missing)));
    let ((hello_status, hello), (missing_status, missing)) = match learned {
        Ok(learned) => learned,
        Err(e) => {
            result.verdict = Verdict::Fail;
            result.rule = Some("no-response".into());
            result.detail = format!("{e}; bodies will not be compared");
            return result;
        }
    };
    if given {
        result.verdict = Verdict::Info;
        result.detail = format!(
            "bodies are compared with the given pages (GET / answered {hello_status} with {} bytes)",
            hello.len()
        );
    } else if hello_status != 200 || missing_status != 404 {
        result.verdict = Verdict::Fail;
        result.rule = Some("status-not-allowed".into());
        result.detail = format!(
            "GET / answered {hello_status} and GET {MISSING_PATH} answered {missing_status}, not 200 and 404; bodies will not be compared"
        );
    } else if hello.is_empty() || hello == missing {
        result.verdict = Verdict::Fail;
        result.rule = Some("wrong-page".into());
        result.detail = "the hello and 404 pages must be non-empty and differ".into();
    } else {
        result.detail = format!(
            "learned a hello page of {} bytes and a 404 page of {} bytes",
            hello.len(),
            missing.len()
        );
        ctx.pages = Some(Pages {
            hello: hello.into(),
            not_found: missing.into(),
        });
    }
    result
}
