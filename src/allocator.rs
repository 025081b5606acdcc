//! The C allocator's settings for image work.
//!
//! glibc serves every allocation above its mmap threshold (128 KiB until frees raise it) with a
//! fresh `mmap`, and hands memory at the top of its heap back to the kernel above its trim
//! threshold. A pipeline that allocates and frees megabyte-sized planes for every image then
//! pays a page fault per 4 KiB page, every time: on this project's 2-core machine that was a
//! third of stamping's wall time and a fifth of checking's. Raising both thresholds lets freed
//! planes be reused. Peak memory does not grow with the batch: it is set by the images in
//! flight, and what is kept for reuse is bounded by the trim threshold.

/// Allocations up to this size come from the heap, where freed memory is reused.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of the heap up to this size is kept for reuse.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Tunes glibc's allocator for many large, short-lived buffers (a no-op on other platforms).
/// Call once, early, in a process that handles many images; the `synthmark` binary does.
pub fn tune_for_images() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, which glibc allows at any time, from any
    // thread; it reads and writes no memory of ours.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
