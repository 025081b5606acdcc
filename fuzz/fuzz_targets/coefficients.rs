//! Fuzzes the baseline-JPEG coefficient path on its own (the stamp target reaches it too, but at
//! the cost of a whole stamp per input): the header and Huffman scan reader, the luma plane, and
//! the writer, whose unchanged rewrite must read back to the same frame and whose marked
//! rewrite must decode. Run with `-rss_limit_mb=1024`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synthmark::fuzzing::jpeg_coefficients(data);
});
