//! Deterministic pseudo-random test data: Marsaglia's xorshift64 (13, 7, 17), the same sequence
//! on every machine and without a dependency. The unit tests use it as `crate::test_random`, the
//! integration tests through `tests/common`, which includes this file. Test data only, never
//! keys, ids or anything a user sees.

/// The generator's state; any seed but 0 (xorshift's fixed point).
pub(crate) struct XorShift64(u64);

impl XorShift64 {
    pub(crate) fn new(seed: u64) -> Self {
        assert_ne!(seed, 0, "xorshift64 stays at 0 forever");
        XorShift64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0.0 .. 1.0` from the top 24 bits: every value is an exact `f32`, so
    /// power-of-two scalings and offsets of it are exact too.
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A byte from the top 8 bits.
    pub(crate) fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}
