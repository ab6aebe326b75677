//! Giving the report, so that nothing is lost or damaged: a file written as
//! [`crate::kit::files`] says (atomically, devices in place), checked before the run; the document on stdout when the file cannot
//! be written after all; stdout errors reported instead of panicking; and a document even
//! for a setup error.

use super::args::{Format, ReportArgs};
use crate::kit::report::TargetInfo;
use crate::kit::report::{Report, human, json, junit};
use std::io::{self, IsTerminal, Write};
use std::path::Path;

/// How giving the report failed; the exit code is 2 either way.
#[derive(Debug)]
pub enum Failure {
    /// Said on stderr already, or nothing to say (a closed pipe).
    Reported,
}

/// The report in the chosen format.
pub fn render(report: &Report, format: Format, verbose: bool) -> String {
    match format {
        Format::Human => human::render(report, &human::Style::plain_verbose(verbose)),
        Format::Json => json::to_string(report) + "\n",
        Format::Junit => junit::render(report),
        Format::Html => crate::kit::report::html::render(report),
    }
}

/// Fails unless `path` can be written ([`crate::kit::files::check_writable`]). Run before
/// any check, so a bad path loses nothing.
pub fn check_writable(path: &Path) -> Result<(), String> {
    crate::kit::files::check_writable(path).map_err(|e| format!("--output {e}"))
}

/// Writes a document where the user asked, without damage ([`crate::kit::files::write`]).
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    crate::kit::files::write(path, text.as_bytes())
}

/// Prints `text` on stdout. A closed pipe ends the run quietly, as Unix tools do; any other
/// error (a full disk, `/dev/full`) is said on stderr.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::Reported),
        Err(e) => {
            say(&format!("cannot write the report on stdout: {e}"));
            Err(Failure::Reported)
        }
    }
}

/// A line on stderr; a stderr that cannot be written is ignored (nowhere else to say it).
pub fn say(message: &str) {
    let _ = writeln!(io::stderr().lock(), "unblocked: {message}");
}

/// Gives the report as asked: the document in `--output` (and the human report on stdout),
/// or the document on stdout (and a summary line on stderr for a machine format).
pub fn deliver(report: &Report, args: &ReportArgs) -> Result<(), Failure> {
    let rendered = render(report, args.format, args.verbose);
    let terminal = human::render(report, &human::Style::detect(args.verbose));
    match &args.output {
        Some(path) => match write_atomically(path, &rendered) {
            Ok(()) => print(&terminal),
            Err(e) => {
                // The run's verdict must not be lost: the document goes to stdout instead.
                let _ = print(&rendered);
                say(&format!(
                    "cannot write {e}; the report is on stdout instead"
                ));
                Err(Failure::Reported)
            }
        },
        None if args.format == Format::Human => print(&terminal),
        None => {
            print(&rendered)?;
            if !io::stdout().is_terminal() {
                say(&summary_line(report));
            }
            Ok(())
        }
    }
}

/// For a setup error: a document that says why (JSON with the error, JUnit with one errored
/// test case), in `--output` or on stdout, so CI shows it; nothing more for a human report.
pub fn deliver_setup_error(message: &str, target: &TargetInfo, args: &ReportArgs) {
    let document = match args.format {
        Format::Human => return,
        Format::Json => json::error_document(target, message) + "\n",
        Format::Junit => junit::error_document(target, message),
        Format::Html => crate::kit::report::html::error_document(target, message),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = write_atomically(path, &document) {
                say(&format!("cannot write {e}"));
                let _ = print(&document);
            }
        }
        None => {
            let _ = print(&document);
        }
    }
}

/// `101 pass, 12 non-strict, 1 fail, 0 skip, 0 info: NOT conforming`.
pub fn summary_line(report: &Report) -> String {
    format!("{}: {}", report.summary().counts(), report.conclusion())
}
