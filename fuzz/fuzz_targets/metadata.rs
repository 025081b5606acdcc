//! Fuzzes the metadata parsers: format sniffing and structure checks, XMP reading and editing,
//! PNG text chunks (incl. compressed), EXIF, and the generator-trace rules, on arbitrary bytes
//! presented as every format. None may panic, hang, or take more than linear time.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    synthmark::fuzzing::metadata(data);
});
