//! `unblocked matrix FILE`: loads the file, runs every implementation
//! ([`crate::kit::run::matrix`]), and gives the table ([`crate::kit::report::matrix`]).

use crate::kit::cli::args::{Format, MatrixArgs};
use crate::kit::cli::{Ended, output};
use crate::kit::report::matrix::{render_html, render_human, render_json};
use crate::kit::run::matrix::{Column, Matrix, MatrixFile, run};
use crate::kit::run::settings::{FuzzSettings, Settings};
use crate::kit::run::target::TargetOptions;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// `unblocked matrix FILE`: exit 0 when every implementation conforms, 1 otherwise, 2 for
/// a file that cannot be used.
pub fn run_cli(args: &MatrixArgs) -> Ended {
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
    let finished: Arc<Mutex<Vec<Column>>> = Arc::default();
    let delivering = Arc::new(AtomicBool::new(false));
    let on_signal = {
        let (finished, delivering, args) = (finished.clone(), delivering.clone(), args.clone());
        move |_signal| deliver_partial(&finished, &delivering, &args)
    };
    if let Err(e) = crate::kit::run::target::install_signal_teardown(on_signal) {
        return Ended::Setup(format!("cannot install signal handlers: {e}"));
    }
    let mut done = 0;
    let matrix = run(&file, &base, |column| {
        lock(&finished).push(column.clone());
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
    if delivering.swap(true, Ordering::SeqCst) {
        // A signal came first: its partial matrix is being given, and the process ends.
        std::thread::park();
    }
    let delivered = give(&matrix, args);
    if let Err(failure) = delivered {
        return failure;
    }
    if matrix.conforming() {
        Ended::Conforming
    } else {
        Ended::NotConforming
    }
}

/// On a signal: the matrix of the implementations that finished, marked interrupted, given
/// as asked (unless the whole matrix is already being given).
fn deliver_partial(finished: &Mutex<Vec<Column>>, delivering: &AtomicBool, args: &MatrixArgs) {
    if delivering.swap(true, Ordering::SeqCst) {
        // The final matrix is being given: the exit that follows waits for it.
        while !GIVEN.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10)); // polls the main thread's write
        }
        return;
    }
    let matrix = Matrix::of(lock(finished).clone(), true);
    let _ = give(&matrix, args);
}

/// Set once the final matrix is given.
static GIVEN: AtomicBool = AtomicBool::new(false);

/// Renders the matrix as asked and writes it; the human table goes to the terminal too
/// when the document goes to a file.
fn give(matrix: &Matrix, args: &MatrixArgs) -> Result<(), Ended> {
    let given = write(matrix, args);
    GIVEN.store(true, Ordering::SeqCst);
    given
}

fn write(matrix: &Matrix, args: &MatrixArgs) -> Result<(), Ended> {
    let rendered = match args.report.format {
        Format::Human => render_human(matrix),
        Format::Json => render_json(matrix),
        Format::Junit => crate::kit::report::junit::render_matrix(
            &matrix
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.outcome.as_ref().map_err(String::as_str)))
                .collect::<Vec<_>>(),
        ),
        Format::Html => render_html(matrix),
    };
    let delivered = match &args.report.output {
        Some(path) => match output::write_atomically(path, &rendered) {
            Ok(()) => output::print(&render_human(matrix)),
            Err(e) => {
                let _ = output::print(&rendered);
                output::say(&format!(
                    "cannot write {e}; the matrix is on stdout instead"
                ));
                return Err(Ended::Reported);
            }
        },
        None => output::print(&rendered),
    };
    delivered.map_err(Into::into)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
