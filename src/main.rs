//! The `bgpsieve` binary: parse the command line, set up logging, run, map errors to exit codes.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use bgpsieve::cli::{self, Cli, LogFormat};
use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

// Replay and the daemon allocate and free route attributes on different threads; mimalloc's
// per-thread heaps handle that far better than glibc's arenas (see benches/replay.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    bgpsieve::tune_allocator();
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("BGPSIEVE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,bgpkit_parser=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    if let Err(e) = cli::run(cli) {
        eprintln!("{e}");
        std::process::exit(e.exit_code());
    }
}
