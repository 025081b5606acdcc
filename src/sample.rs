//! Sample values between the floating point that pixel arithmetic works in and the 8-bit levels
//! images store: one rounding, shared by the watermark's embedder and the JPEG re-encoder's
//! chroma, so both write the same level for the same value.

/// A sample value rounded to the nearest 8-bit level: clamped to 0–255, plus ½, truncated
/// (`round()` would be a libm call per sample on baseline x86-64). NaN gives 0, as `as u8` does.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` keeps a NaN, which the unchecked conversion must not see
pub(crate) fn round_to_u8(v: f32) -> u8 {
    // `max` and `min` return the other operand for a NaN, so the value is always in
    // 0.5..=255.5 here, where the unchecked conversion is defined. A checked `as` conversion
    // gives the same integers but is not vectorised: one scalar conversion, NaN test and byte
    // insert per sample, the embedder's most expensive step at 1 MP.
    let v = v.max(0.0).min(255.0) + 0.5;
    // SAFETY: `v` is finite and in 0.5..=255.5 (see above), inside `i32`'s range.
    unsafe { v.to_int_unchecked::<i32>() as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_as_the_checked_conversion_of_the_clamped_value_does() {
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.499_999_97,
            0.5,
            254.5,
            254.499_98,
            255.0,
            255.5,
            f32::MAX,
            f32::MIN,
        ];
        let grid = (-40_000..100_000).map(|i| i as f32 / 128.0);
        for v in specials.into_iter().chain(grid) {
            let checked = (v.clamp(0.0, 255.0) + 0.5) as u8;
            assert_eq!(round_to_u8(v), checked, "{v}");
        }
    }
}
