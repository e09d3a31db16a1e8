//! A cache prefetch hint: the one place this crate uses `unsafe`.
//!
//! Training touches ~11 random 208-byte rows of tens of MB of tables per word, and waiting for
//! them was the largest single cost in profiles. The trainer draws the next word's targets one
//! step ahead and asks for their rows here, so the memory system fetches them while the current
//! word is computed.
#![expect(
    unsafe_code,
    reason = "the prefetch intrinsic is `unsafe` to call; see SAFETY below"
)]

/// Asks the CPU to bring the cache line holding `p` closer. Does nothing off x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86-64 baseline, so the instruction exists on every CPU this
    // build runs on; and a prefetch is only a hint: it never faults (not even on an invalid
    // address), never reads into the program, and never changes memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
