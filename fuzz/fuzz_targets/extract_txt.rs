//! Text uploads: charset detection and decoding never panic, whatever the bytes.
#![no_main]
use hamlet::extract::{extract, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = extract(data, Some("draft.txt"), &Limits::default());
});
