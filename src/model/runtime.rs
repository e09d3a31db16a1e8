//! libtorch's process-wide settings: how many threads it uses, and which device it sees.
//!
//! Why one thread by default: on a shared 2-core machine, libtorch's OpenMP workers busy-wait
//! between parallel regions, and with 2 intra-op threads small tensor ops (the size of one
//! inference step) ran 10-200x slower than with 1. Request-level parallelism comes from
//! Rocket's workers instead. `benches/torch_threads.rs` measures both settings on this machine.

use std::sync::OnceLock;

/// What libtorch was configured with, for the boot log and `/health/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RuntimeInfo {
    /// Intra-op threads in use.
    pub threads: usize,
    /// Whether libtorch sees a CUDA device.
    pub cuda: bool,
}

static CONFIGURED: OnceLock<RuntimeInfo> = OnceLock::new();

/// Sets libtorch's thread counts once per process (later calls keep the first setting:
/// libtorch refuses to change inter-op threads after it has used them).
pub fn configure(threads: usize) -> RuntimeInfo {
    *CONFIGURED.get_or_init(|| {
        let n = i32::try_from(threads.max(1)).unwrap_or(1);
        tch::set_num_threads(n);
        tch::set_num_interop_threads(n);
        RuntimeInfo {
            threads: tch::get_num_threads().max(1) as usize,
            cuda: tch::Cuda::is_available(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configures_threads_once_and_computes() {
        let info = configure(1);
        assert_eq!(info.threads, 1);
        assert_eq!(configure(2), info, "a second call keeps the first setting");
        // libtorch really is linked and computes on the CPU.
        let t = tch::Tensor::from_slice(&[3.0f32, 4.0]);
        let norm = t.dot(&t).sqrt().double_value(&[]);
        assert!((norm - 5.0).abs() < 1e-6);
    }
}
