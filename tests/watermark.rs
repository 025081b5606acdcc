//! The watermark layer end to end: stamped images keep their asset id through metadata
//! stripping, re-encoding, resizing and mirroring; the checker names it; the manifest records it
//! as a soft binding; the input's metadata survives the re-encode; and the layer is never
//! skipped silently.

mod common;

use std::io::Cursor;

use common::*;
use image::{DynamicImage, ImageFormat, RgbImage};
use synthmark::{CheckOptions, Checker, Finding, Layer, StampOptions, Stamper, Verdict};

fn stamper(options: StampOptions) -> Stamper {
    Stamper::new(&dev_identity().signing_identity().unwrap(), options).unwrap()
}

fn checker() -> Checker {
    Checker::new(&CheckOptions {
        trust_anchors_pem: dev_identity().ca_pem.clone(),
        ..CheckOptions::default()
    })
    .unwrap()
}

/// A textured 640×480 picture (generators' outputs are rarely flat).
fn textured() -> RgbImage {
    let base = picture(640, 480);
    let mut random = common::XorShift64::new(0x9e37_79b9_7f4a_7c15);
    RgbImage::from_fn(640, 480, |x, y| {
        let wave = 40.0 * ((x as f32 / 17.0).sin() + (y as f32 / 29.0).cos());
        let noise = (random.next_u64() >> 58) as f32;
        let p = base.get_pixel(x, y).0;
        image::Rgb(p.map(|c| (c as f32 * 0.6 + 60.0 + wave + noise).clamp(0.0, 255.0) as u8))
    })
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

#[test]
fn stamped_images_carry_the_id_and_keep_it_when_metadata_is_stripped() {
    let stamper = stamper(StampOptions::default());
    let checker = checker();
    let picture = DynamicImage::ImageRgb8(textured());
    let inputs = [
        ("jpeg", jpeg(&textured(), 90)),
        ("png", encode(&picture, ImageFormat::Png)),
        ("webp-lossless", encode(&picture, ImageFormat::WebP)),
        (
            "webp-lossy",
            webp::Encoder::from_rgb(picture.as_bytes(), 640, 480)
                .encode(90.0)
                .to_vec(),
        ),
        ("tiff", encode(&picture, ImageFormat::Tiff)),
    ];
    for (name, input) in inputs {
        let stamped = stamper.stamp_bytes(&input, "fixture").unwrap();
        let id = stamped
            .watermark
            .unwrap_or_else(|| panic!("{name}: no watermark: {:?}", stamped.warnings))
            .to_string();
        assert!(
            stamped.warnings.is_empty(),
            "{name}: {:?}",
            stamped.warnings
        );

        let report = checker.check_bytes(&stamped.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{name}: {report:#?}");
        assert_eq!(
            report.rests_on,
            vec![Layer::C2pa, Layer::Watermark],
            "{name}"
        );
        assert_eq!(watermark_ids(&report), vec![id.clone()], "{name}");
        assert!(
            !report
                .evidence
                .iter()
                .any(|e| e.finding == Finding::SoftBindingMismatch),
            "{name}: {report:#?}"
        );

        // Strip every piece of metadata by decoding and re-encoding (as a platform would).
        let stripped = reencode(&stamped.bytes, ImageFormat::Jpeg);
        let report = checker.check_bytes(&stripped);
        assert_eq!(report.verdict, Verdict::UnlabelledAi, "{name}: {report:#?}");
        assert_eq!(report.rests_on, vec![Layer::Watermark], "{name}");
        assert_eq!(watermark_ids(&report), vec![id.clone()], "{name}");
        assert!(report.explanation.contains(&id), "{}", report.explanation);
    }
}

#[test]
fn the_id_survives_halving_mirroring_and_recompression() {
    let stamped = stamper(StampOptions::default())
        .stamp_bytes(&jpeg(&textured(), 92), "fixture")
        .unwrap();
    let id = stamped.watermark.unwrap().to_string();
    let decoded = image::load_from_memory(&stamped.bytes).unwrap();
    let attacked = decoded
        .resize_exact(320, 240, image::imageops::FilterType::CatmullRom)
        .fliph()
        .into_rgb8();
    let report = checker().check_bytes(&jpeg(&attacked, 80));
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:#?}");
    assert_eq!(watermark_ids(&report), vec![id]);
    let detail = &report
        .evidence
        .iter()
        .find(|e| e.layer == Layer::Watermark)
        .unwrap()
        .detail;
    assert!(detail.contains("mirrored"), "{detail}");
}

#[test]
fn the_manifest_records_the_soft_binding_and_the_bound_action() {
    let stamped = stamper(StampOptions::default())
        .stamp_bytes(
            &encode(&DynamicImage::ImageRgb8(textured()), ImageFormat::Png),
            "x.png",
        )
        .unwrap();
    let id = stamped.watermark.unwrap();
    let reader = c2pa::Reader::from_context(c2pa::Context::new())
        .with_stream("image/png", Cursor::new(&stamped.bytes))
        .unwrap();
    let manifest = reader.active_manifest().unwrap();
    let binding = manifest
        .assertions()
        .iter()
        .find(|a| a.label().starts_with("c2pa.soft-binding"))
        .expect("a soft binding")
        .value()
        .unwrap();
    assert_eq!(binding["alg"], synthmark::watermark::ALGORITHM);
    let value: Vec<u8> = serde_json::from_value(binding["blocks"][0]["value"].clone()).unwrap();
    assert_eq!(value, synthmark::watermark::pack(id).to_be_bytes());
    let actions = manifest
        .assertions()
        .iter()
        .find(|a| a.label().starts_with("c2pa.actions"))
        .unwrap()
        .value()
        .unwrap();
    let names: Vec<&str> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(names, ["c2pa.created", "c2pa.watermarked.bound"]);
}

#[test]
fn re_encoding_keeps_the_inputs_metadata() {
    // A JPEG with EXIF (orientation 6), an ICC profile and a comment-like APP13 segment.
    let exif: Vec<u8> = [
        b"Exif\0\0II*\0".as_slice(),
        &[
            8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    ]
    .concat();
    let icc = b"fake icc profile bytes for the round trip".to_vec();
    let mut input = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut input, 85);
    encoder.add_app_segment(1, exif.clone()).unwrap();
    encoder.add_icc_profile(&icc).unwrap();
    encoder
        .add_app_segment(13, b"Photoshop 3.0\0test".to_vec())
        .unwrap();
    encoder
        .encode(textured().as_raw(), 640, 480, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let stamped = stamper(StampOptions::default())
        .stamp_bytes(&input, "x.jpg")
        .unwrap();
    assert!(stamped.watermark.is_some());
    let contains = |needle: &[u8]| stamped.bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&exif), "EXIF (with the orientation) was lost");
    assert!(contains(&icc), "the ICC profile was lost");
    assert!(contains(b"Photoshop 3.0\0test"), "APP13 was lost");

    // A PNG with a text chunk and a physical size keeps both.
    let png = encode(&DynamicImage::ImageRgb8(textured()), ImageFormat::Png);
    let mut with_text = png[..33].to_vec();
    for (kind, data) in [
        (&b"pHYs"[..], &[0, 0, 11, 19, 0, 0, 11, 19, 1][..]),
        (b"tEXt", b"Comment\0kept"),
    ] {
        with_text.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        with_text.extend_from_slice(&chunk);
        with_text.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    }
    with_text.extend_from_slice(&png[33..]);
    let stamped = stamper(StampOptions::default())
        .stamp_bytes(&with_text, "x.png")
        .unwrap();
    assert!(stamped.watermark.is_some());
    let contains = |needle: &[u8]| stamped.bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"tEXtComment\0kept"));
    assert!(contains(b"pHYs\0\0\x0b\x13"));
}

#[test]
fn the_layer_is_never_skipped_silently() {
    // Too small to carry the mark: stamped, with a warning that says so.
    let small = stamper(StampOptions::default())
        .stamp_bytes(&image_bytes(synthmark::Format::Png), "small.png")
        .unwrap();
    assert_eq!(small.watermark, None);
    assert!(
        small.warnings.iter().any(|w| matches!(
            w,
            synthmark::StampWarning::WatermarkSkipped { .. }
        ) && w.to_string().contains("watermark layer NOT applied")
            && w.to_string().contains("too small")),
        "{:?}",
        small.warnings
    );
    // GIF: palette images cannot carry it.
    let gif = encode(&DynamicImage::ImageRgb8(textured()), ImageFormat::Gif);
    let stamped = stamper(StampOptions::default())
        .stamp_bytes(&gif, "x.gif")
        .unwrap();
    assert_eq!(stamped.watermark, None);
    assert!(
        stamped
            .warnings
            .iter()
            .any(|w| w.to_string().contains("GIF")),
        "{:?}",
        stamped.warnings
    );

    // Switched off: no warning, no soft binding, the pixels untouched.
    let input = encode(&DynamicImage::ImageRgb8(textured()), ImageFormat::Png);
    let plain = stamper(StampOptions {
        watermark: None,
        ..StampOptions::default()
    })
    .stamp_bytes(&input, "x.png")
    .unwrap();
    assert_eq!(plain.watermark, None);
    assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);
    let before = image::load_from_memory(&input).unwrap().into_rgb8();
    let after = image::load_from_memory(&plain.bytes).unwrap().into_rgb8();
    assert_eq!(before, after);
    let report = checker().check_bytes(&plain.bytes);
    assert_eq!(report.rests_on, vec![Layer::C2pa]);
}

#[test]
fn unmarked_images_give_no_watermark_evidence() {
    let checker = checker();
    for input in [
        jpeg(&textured(), 85),
        encode(
            &DynamicImage::ImageRgb8(picture(800, 600)),
            ImageFormat::Png,
        ),
    ] {
        let report = checker.check_bytes(&input);
        assert_eq!(report.verdict, Verdict::NoSignal, "{report:#?}");
        assert!(watermark_ids(&report).is_empty());
    }
}
