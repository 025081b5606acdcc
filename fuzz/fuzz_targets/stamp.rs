//! Fuzzes the stamp pipeline end to end on arbitrary bytes: identify → structure check → decode
//! (within small limits) → watermark → re-encode → XMP → C2PA sign. Every input must give an
//! image or an error, never a panic, a hang or an allocation beyond the limits (run with
//! `-rss_limit_mb=1024`).
#![no_main]

use std::sync::LazyLock;

use synthmark::{DevIdentity, KeyAlgorithm, Limits, StampOptions, Stamper, StamperConfig};

static STAMPER: LazyLock<Stamper> = LazyLock::new(|| {
    let identity = DevIdentity::generate(KeyAlgorithm::Es256, "fuzz")
        .and_then(|dev| dev.signing_identity())
        .expect("a development identity");
    let config = StamperConfig {
        // Small limits keep each run fast; the limits themselves are what is being tested.
        limits: Limits {
            max_pixels: 4_000_000,
            max_decoded_bytes: 32 << 20,
            max_text_bytes: 1 << 20,
        },
        verify_after_sign: false,
        ..StamperConfig::default()
    };
    Stamper::with_config(&identity, config, StampOptions::default()).expect("a stamper")
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(stamped) = STAMPER.stamp_bytes(data, "fuzz") {
        // What we wrote must be an image we recognise.
        assert!(synthmark::Format::identify(&stamped.bytes).is_ok());
    }
});
