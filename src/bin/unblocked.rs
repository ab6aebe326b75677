//! `unblocked`: the kit's command line, a thin layer over `unblocked::kit::cli`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    unblocked::kit::cli::main()
}
