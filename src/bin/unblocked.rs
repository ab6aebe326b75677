//! `unblocked`: the kit's command line, a thin layer over `unblocked::kit::cli`; it hands
//! the kit the reference server for `unblocked serve`, which the kit never imports.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    unblocked::kit::cli::main(unblocked::server::cli::serve_command_line)
}
