//! Model files: a corrupt or hostile file (bad header, wrong shapes, huge claimed sizes) is an
//! error, never a panic or an unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hamlet::model::file::parse(data);
});
