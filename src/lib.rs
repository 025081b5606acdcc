//! synthmark: label AI-generated images so they are provably AI-generated, and find the ones that
//! are not labelled.
//!
//! EU AI Act Article 50(2) requires generative-AI outputs to be marked in a machine-readable,
//! detectable way. synthmark stamps images with signed C2PA credentials declaring them AI-generated
//! (plus the IPTC digital source type in the file's own XMP and an optional RFC 3161 timestamp),
//! and checks images: is there an intact signed label (`labelled-ai`), a broken one (`tampered`),
//! or AI evidence without a label (`unlabelled-ai`: unsigned IPTC metadata, generator metadata,
//! stealth metadata or a watermark in the pixels, a match in the provider's [`registry`])? Every
//! verdict lists its evidence and the layers it rests on.
//!
//! The pipelines (`stamp`, `check`, `import`), the floors modules stand on and the layer
//! contract are drawn once, in the repository's `ARCHITECTURE.md`.
//!
//! ```no_run
//! use synthmark::{CheckOptions, Checker, DevIdentity, KeyAlgorithm, StampOptions, Stamper, Verdict};
//!
//! let dev = DevIdentity::generate(KeyAlgorithm::Es256, "Example")?;
//! let stamper = Stamper::new(&dev.signing_identity()?, StampOptions::default())?;
//! let image = std::fs::read("generated.png")?;
//! let stamped = stamper.stamp_bytes(&image, "generated.png")?;
//!
//! let mut options = CheckOptions::default();
//! options.trust_anchors_pem = dev.ca_pem.clone();
//! let report = Checker::new(&options)?.check_bytes(&stamped.bytes);
//! assert_eq!(report.verdict, Verdict::LabelledAi);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod allocator;
mod atomic_file;
mod c2pa_status;
mod check;
mod container;
mod cpu;
mod explanation;
mod format;
mod hex;
mod identity;
pub mod import;
mod jpeg_layout;
mod layers;
mod limits;
mod pixels;
mod recode;
pub mod registry;
mod sample;
mod schema_version;
#[cfg(feature = "server")]
pub mod server;
mod source_type;
mod stamp;
#[cfg(test)]
mod test_random;
mod verdict;

pub use allocator::tune_for_images;
pub use atomic_file::{write as write_atomically, Existing};
/// The signature algorithm of a signing certificate (what [`ExternalSigner::sign`] is asked for).
pub use c2pa::SigningAlg;
pub use check::{CheckOptions, Checker, Report, TrustAnchorError};
pub use format::{read_image_file, Format, FormatError, MAX_IMAGE_BYTES};
pub use identity::{
    DevIdentity, ExternalSigner, IdentityError, IdentityPaths, KeyAlgorithm, KeyFilePermissions,
    KeySelector, KeySource, Pkcs11Config, Secret, SignerCommand, SigningIdentity, TokenSelector,
};
pub use layers::c2pa::detect::{SignerInfo, TimestampInfo};
pub use layers::c2pa::embed::{Involvement, SoftwareAgent};
pub use layers::c2pa::timestamp::TsaOptions;
pub use layers::c2pa::{
    C2paError, CONFIGURED_TRUST_URI, OFFICIAL_TRUST_LIST_URI, OFFICIAL_TSA_TRUST_LIST_URI,
};
pub use layers::fingerprint;
pub use layers::visible_label::{Corner, LabelError, LabelKind, VisibleLabel};
pub use layers::watermark;
pub use layers::xmp::{read_digital_source_type, XmpError};
pub use limits::{Limits, MAX_PIXELS};
pub use pixels::{decode as decode_image, probe, DecodeError, ImageInfo};
pub use registry::evidence::Recovered;
pub use schema_version::{SchemaVersion, SCHEMA_VERSION};
pub use stamp::{
    OptionsError, Quality, Reencoding, StaleFile, StampError, StampOptions, StampRecord,
    StampStatus, StampWarning, Stamped, Stamper, StamperConfig, WatermarkOptions, MAX_STRENGTH,
};
pub use verdict::{decide, Decision, Evidence, Finding, Layer, Trust, Verdict, REGISTRY_AMBIGUOUS};

/// IPTC digital source type URIs and the AI classification.
pub mod source_types {
    pub use crate::source_type::{
        code, is_ai, COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA,
    };
}

/// Entry points for `cargo fuzz` (see `fuzz/`); not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::format::Format;
    use crate::layers::{generator_metadata, xmp};

    /// Runs every metadata parser over `data`, as each format in turn.
    pub fn metadata(data: &[u8]) {
        let _ = Format::identify(data);
        for format in Format::ALL {
            let _ = format.check_structure(data);
            let input =
                crate::layers::Input::new(format, data, crate::limits::Limits::default(), true);
            let _ = xmp::detect::detect(&input);
            let _ = xmp::embed_digital_source_type(
                format,
                data,
                crate::source_type::TRAINED_ALGORITHMIC_MEDIA,
            );
            let _ = generator_metadata::detect(&input);
        }
    }

    /// Reads `data` as a baseline JPEG down to its DCT coefficients and, when it is one, writes
    /// it again twice: unchanged, which must read back to the very same coefficients, and with
    /// a mark-sized residual on its luma, which must be a JPEG that decodes to the frame's size.
    /// Panics when either does not hold (that is what the fuzzer looks for).
    pub fn jpeg_coefficients(data: &[u8]) {
        use crate::recode::coefficients::Frame;
        let limits = crate::limits::Limits {
            max_pixels: 4_000_000,
            max_decoded_bytes: 32 << 20,
            ..crate::limits::Limits::default()
        };
        let Ok(frame) = Frame::read(data, &limits) else {
            return;
        };
        let (width, height) = (frame.width, frame.height);
        let luma = frame.luma();
        assert_eq!(luma.len(), width * height);

        let unchanged = frame.write_with_luma(&vec![0.0; width * height], 1.0);
        let again = Frame::read(&unchanged, &limits).expect("a rewritten frame reads back");
        // (Not assert_eq!: a frame's Debug is every coefficient.)
        assert!(again == frame, "the rewrite changed the frame");

        // A ±6 checkerboard with the gain of a strong mark, beyond what any mark adds.
        let residual: Vec<f32> = (0..width * height)
            .map(|i| {
                if (i % width + i / width) % 2 == 0 {
                    6.0
                } else {
                    -6.0
                }
            })
            .collect();
        let marked = frame.write_with_luma(&residual, 1.5);
        let image =
            crate::pixels::decode(Format::Jpeg, &marked, &limits).expect("a marked frame decodes");
        assert_eq!(
            (image.width() as usize, image.height() as usize),
            (width, height)
        );
    }
}
