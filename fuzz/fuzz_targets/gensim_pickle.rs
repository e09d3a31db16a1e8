//! gensim models (`hamlet model import-gensim`): a corrupt or hostile pickle or .npy file is an
//! error, never a panic, a stack overflow or an unbounded allocation.
#![no_main]
use hamlet::model::{gensim, pickle::Array};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Side files are looked for beside a path that has none.
    let _ = gensim::from_pickle(data, std::path::Path::new("/nonexistent/fuzz.model"));
    if let Ok(a) = Array::from_npy(data) {
        let _ = (a.to_f32(), a.to_u64());
    }
});
