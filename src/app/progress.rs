//! What a long job tells whoever watches it: `cli` draws it as bars on stderr; tests, the
//! benchmarks and the server pass `&Quiet`.

/// Progress of a job made of stages, each counted in units (documents, words, records) when
/// its length is known, or a spinner when not.
pub trait Progress: Send + Sync {
    /// A stage begins: `total` units when known.
    fn start(&self, _stage: &str, _total: Option<u64>) {}
    /// The current stage's length, once known.
    fn set_total(&self, _total: u64) {}
    /// `done` units of the current stage are done.
    fn set(&self, _done: u64) {}
    /// One more unit is done.
    fn inc(&self) {}
    /// A short note beside the bar (an epoch, a record being fetched).
    fn note(&self, _text: &str) {}
    /// The current stage ended.
    fn finish(&self) {}
}

/// Progress nobody watches.
pub struct Quiet;

impl Progress for Quiet {}
