//! Everything that touches libtorch (tch). Nothing here imports rocket or sqlx; callers pass
//! and receive plain Rust values, never tensors.
//!
//! For now this is the libtorch runtime setup; the paragraph-vector model (train, infer,
//! evaluate) lands with the [engine] issue.

pub mod runtime;
