//! The tokenizer: any UTF-8 text, no panic, and every token is non-empty lower-case text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for token in hamlet::model::tokenize::tokenize(text) {
        assert!(!token.is_empty());
    }
});
