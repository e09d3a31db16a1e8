//! .pdf uploads: pdf-extract panics on many damaged files; `extract` catches those panics and
//! answers an error, which is what this checks (the hook below lets caught panics unwind
//! instead of aborting, as they do in the server; a panic that escapes still fails the run).
#![no_main]
use hamlet::extract::{extract, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let _ = extract(data, Some("draft.pdf"), &Limits::default());
    }
);
