//! The server's warnings and errors, as the log would have them: every test in this binary
//! shares one global subscriber, so a test reads only the lines written after its `mark`.

use std::sync::{Mutex, OnceLock};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Writer;

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf).trim_end().to_string();
        LINES.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per process); returns where this test's lines begin.
pub fn mark() -> usize {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,hamlet=warn")
            .with_ansi(false)
            .with_writer(|| Writer)
            .try_init();
    });
    LINES.lock().unwrap_or_else(|p| p.into_inner()).len()
}

/// The lines written since `mark`.
pub fn since(mark: usize) -> String {
    let lines = LINES.lock().unwrap_or_else(|p| p.into_inner());
    lines.get(mark..).unwrap_or_default().join("\n")
}
