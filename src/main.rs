//! The `hamlet` binary: parses the command line and runs one subcommand. See `cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A .env file is a local convenience; in production the environment is set by the platform.
    dotenvy::dotenv().ok();
    let cli = hamlet::cli::parse();
    match hamlet::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
