//! Giving freed heap memory back to the system (glibc's `malloc_trim`), after the big one-off
//! allocations and frees of loading a model: without it the freed pages stay resident.
#![allow(unsafe_code, reason = "malloc_trim is a C function; see SAFETY below")]

/// Returns free heap pages to the system; does nothing off glibc.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases memory the allocator holds as free; it takes no
        // pointers, and glibc documents it as safe to call at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}
