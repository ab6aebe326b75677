//! `hello-server`: the reference server of the unblocked kit. See `unblocked::server`.
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;
use unblocked::server::cli::{ServeArgs, serve};

/// The async Rust book's hello server, strict and robust: the yardstick of unblocked.
#[derive(Parser)]
#[command(name = "hello-server", version)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    serve(Cli::parse().serve)
}
