//! Logs go to stdout through `tracing`, filtered by `RUST_LOG` (default `info`), as text
//! locally and as one JSON object per line on heroku and aws, where the platform adds the
//! timestamps. Never log secrets, database URLs or uploaded text.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,rocket=warn,rocket::server=off,_=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
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
