//! Runtime CPU dispatch for the hot pixel loops (the watermark's, and the JPEG re-encoder's
//! colour conversion). The crate is built for baseline x86-64, where the compiler vectorises
//! with SSE2, four `f32` lanes at a time; on a CPU with AVX2 the same Rust code, compiled a
//! second time with AVX2 enabled, runs eight. Both versions perform the same IEEE operations in
//! the same order in every lane (Rust never fuses a multiply and an add on its own), so their
//! results are bit-identical.

/// Whether this CPU has AVX2 (the standard library caches the answer).
pub(crate) fn has_avx2() -> bool {
    #[cfg(test)]
    if PORTABLE_ONLY.with(std::cell::Cell::get) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU has AVX-512F (the standard library caches the answer). Switched off with
/// the AVX2 versions in tests that compare against the baseline.
pub(crate) fn has_avx512() -> bool {
    #[cfg(test)]
    if PORTABLE_ONLY.with(std::cell::Cell::get) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines a function whose body runs compiled for AVX2 when the CPU has it and for the
/// baseline otherwise. Concrete signatures only (no generics); the body should be plain loops
/// over slices, which are inlined into both versions.
macro_rules! dispatch_avx2 {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::has_avx2() {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    portable($($arg),*)
                }
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe { avx2($($arg),*) };
            }
            portable($($arg),*)
        }
    };
}
pub(crate) use dispatch_avx2;

/// `f` of each item, in a vector whose memory is not cleared first. A
/// plane written by a loop into `vec![0.0; n]` has the allocator clear the memory it reuses
/// (`calloc`), a whole extra pass over it; `collect` over the same iterator avoids that but
/// does not vectorise the packed-pixel loops (measured: 2–3× their instructions), while a zip of
/// the vector's spare capacity with the items vectorises like the loop did.
#[inline(always)]
pub(crate) fn map_uncleared<I: ExactSizeIterator, T>(
    items: I,
    mut f: impl FnMut(I::Item) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    let mut written = 0;
    for (slot, item) in out.spare_capacity_mut().iter_mut().zip(items) {
        slot.write(f(item));
        written += 1;
    }
    // SAFETY: the loop initialised the first `written` slots (at most the capacity).
    unsafe { out.set_len(written) };
    out
}

#[cfg(test)]
thread_local! {
    static PORTABLE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on this thread with the AVX2 versions switched off, so tests can check that both
/// versions give the same bits (on a CPU without AVX2 both sides are the baseline).
#[cfg(test)]
pub(crate) fn portable_only<T>(f: impl FnOnce() -> T) -> T {
    PORTABLE_ONLY.with(|flag| flag.set(true));
    let out = f();
    PORTABLE_ONLY.with(|flag| flag.set(false));
    out
}

/// Deterministic test samples: `n` values in `0 .. 256`, with `seed` choosing the sequence.
#[cfg(test)]
pub(crate) fn test_samples(n: usize, seed: u64) -> Vec<f32> {
    let mut random = crate::test_random::XorShift64::new(seed | 1);
    (0..n).map(|_| 256.0 * random.unit()).collect()
}
