//! `unblocked matrix FILE`: loads the file, runs every implementation
//! ([`crate::kit::run::matrix`]), and gives the table ([`crate::kit::report::matrix`]).

use crate::kit::cli::args::{Format, MatrixArgs};
use crate::kit::cli::{Ended, output};
use crate::kit::report::matrix::{render_html, render_human, render_json};
use crate::kit::run::matrix::{MatrixFile, run};
use crate::kit::run::settings::{FuzzSettings, Settings};
use crate::kit::run::target::TargetOptions;

/// `unblocked matrix FILE`: exit 0 when every implementation conforms, 1 otherwise, 2 for
/// a file that cannot be used.
pub fn run_cli(args: &MatrixArgs) -> Ended {
    if args.report.format == Format::Junit {
        // One JUnit document per implementation would be several files.
        return Ended::Setup("--format junit is not available for matrix: use json or html".into());
    }
    let file = match MatrixFile::load(&args.file) {
        Ok(file) => file,
        Err(message) => return Ended::Setup(message),
    };
    if let Some(path) = &args.report.output
        && let Err(message) = output::check_writable(path)
    {
        return Ended::Setup(message);
    }
    let seed = args
        .seed
        .unwrap_or_else(crate::kit::checks::fuzz::random_seed);
    let base = Settings {
        strict: args.report.strict,
        timeout: args.timeout,
        only: args.selection.only.clone(),
        skip: args.selection.skip.clone(),
        target: TargetOptions {
            startup_timeout: args.startup_timeout,
            ..TargetOptions::default()
        },
        fuzz: FuzzSettings {
            cases: args.fuzz_cases,
            seed: Some(seed),
            save_failures: None,
        },
        ..Settings::default()
    };
    for implementation in &file.implementations {
        if let Err(message) = implementation.check(&base) {
            return Ended::Setup(format!("matrix file {}: {message}", args.file.display()));
        }
    }
    output::say(&format!(
        "fuzz seed: {seed}, the same for every implementation"
    ));
    let total = file.implementations.len();
    let mut done = 0;
    let matrix = run(&file, &base, |column| {
        done += 1;
        let status = match &column.outcome {
            Ok(report) => output::summary_line(report),
            Err(e) => format!(
                "could not be checked: {}",
                e.lines().next().unwrap_or_default()
            ),
        };
        output::say(&format!("[{done}/{total}] {}: {status}", column.name));
    });
    let rendered = match args.report.format {
        Format::Human => render_human(&matrix),
        Format::Json | Format::Junit => render_json(&matrix),
        Format::Html => render_html(&matrix),
    };
    let delivered = match &args.report.output {
        Some(path) => match output::write_atomically(path, &rendered) {
            Ok(()) => output::print(&render_human(&matrix)),
            Err(e) => {
                let _ = output::print(&rendered);
                output::say(&format!(
                    "cannot write {e}; the matrix is on stdout instead"
                ));
                return Ended::Reported;
            }
        },
        None => output::print(&rendered),
    };
    if let Err(failure) = delivered {
        return failure.into();
    }
    if matrix.conforming() {
        Ended::Conforming
    } else {
        Ended::NotConforming
    }
}
