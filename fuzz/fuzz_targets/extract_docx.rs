//! .docx uploads: the zip reader and the streaming XML reader never panic, and the limits
//! (decompressed size, entries) hold for hostile archives.
#![no_main]
use hamlet::extract::{extract, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_unzipped_bytes: 8 << 20,
        ..Limits::default()
    };
    let _ = extract(data, Some("draft.docx"), &limits);
});
