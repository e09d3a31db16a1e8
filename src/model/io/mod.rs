//! The model's files: our safetensors model file (`file`), gensim's pickles read and written
//! (`gensim`, `pickle`), and synthetic models for benchmarks (`synth`). The tables they fill
//! (f32, f16 or i8) are `model::weights`'.

pub mod file;
pub mod gensim;
pub mod pickle;
pub mod synth;
