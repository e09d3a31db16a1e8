//! Logs go through `tracing`, filtered by `RUST_LOG` (default `DEFAULT_FILTER`), as text locally and as
//! one JSON object per line on heroku and aws, where the platform adds the timestamps: to
//! stdout from the server (the stream the platform collects), to stderr from every other
//! command, whose stdout is its output (`--json`, `model info`), which a log line would
//! corrupt. Never log secrets, database URLs or uploaded text.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter without `RUST_LOG`. Rocket logs its "Rocket has launched from ..." line at WARN
/// (target `rocket::launch`), so a healthy start looked like a warning (issue 26): that target
/// is off, and `lib.rs` logs "hamlet is listening" at INFO on liftoff instead.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,rocket=warn,rocket::launch=off,rocket::server=off,_=off";

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(format: LogFormat, sink: Sink) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || -> Box<dyn std::io::Write> {
            match sink {
                Sink::Stdout => Box::new(std::io::stdout()),
                Sink::Stderr => Box::new(std::io::stderr()),
            }
        });
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .without_time()
            .with_current_span(false)
            .try_init(),
    };
}
