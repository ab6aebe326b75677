//! `unblocked`: the kit's command line. See the crate documentation.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use unblocked::server::cli::{ServeArgs, serve};

/// A conformance kit for the concurrent HTTP/1.1 server of the async Rust book.
#[derive(Parser)]
#[command(name = "unblocked", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bundled reference server (the same server as `hello-server`).
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(Command::Serve(args)) => serve(args),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            ExitCode::SUCCESS
        }
    }
}
