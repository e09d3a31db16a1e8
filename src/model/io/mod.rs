//! The model's files and tables: our safetensors model file (`file`), the word and output
//! tables at f32, f16 or i8 (`weights`), gensim's pickles read and written (`gensim`,
//! `pickle`), and synthetic models for benchmarks (`synth`).

pub mod file;
pub mod gensim;
pub mod pickle;
pub mod synth;
pub mod weights;
