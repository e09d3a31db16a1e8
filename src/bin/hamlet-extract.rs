//! `hamlet-extract`: the child process that reads one upload for the server under limits
//! (`extract::sandbox`). A binary of its own, built from `src/extract/` alone rather than
//! from the library, so that it links no libtorch and starts in a millisecond or two (the
//! `hamlet` binary's start-up maps and relocates libtorch: ~250 ms and ~120 MB).

use std::process::ExitCode;

use clap::Parser;

#[allow(dead_code)] // the server's side of the sandbox is compiled here too, and unused
#[path = "../extract/mod.rs"]
mod extract;

/// Reads one file from stdin and writes its text as JSON on stdout, under limits (the
/// server's extraction child; not meant to be run by hand, but harmless).
#[derive(Debug, Parser)]
#[command(name = "hamlet-extract", version)]
struct Opts {
    /// Megabytes of heap the parser may allocate (beyond the process's own at start).
    #[arg(long, default_value_t = 512)]
    memory_mb: u64,
    /// CPU seconds before the process is stopped.
    #[arg(long, default_value_t = 20)]
    cpu_secs: u64,
    /// How many bytes the server sends (a hint: the buffer is allocated once).
    #[arg(long, default_value_t = 0)]
    size: usize,
    /// The uploaded file's name (its extension helps tell plain text from other formats).
    #[arg(long)]
    name: Option<String>,
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    match extract::sandbox::child(
        opts.memory_mb,
        opts.cpu_secs,
        opts.size,
        opts.name.as_deref(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hamlet-extract: {e}");
            ExitCode::FAILURE
        }
    }
}
