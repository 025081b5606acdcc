//! The visible "AI" label: drawn into the pixels before the watermark and the signature, recorded
//! in the manifest, and refused (not silently skipped) where it cannot be drawn.

mod common;

use std::io::Cursor;

use image::ImageFormat;
use synthmark::{
    CheckOptions, Checker, Corner, Format, LabelKind, Layer, Quality, Reencoding, StampOptions,
    Stamper, Verdict, VisibleLabel,
};

use common::{dev_identity, image_bytes, textured_picture};

fn stamp(bytes: &[u8], label: VisibleLabel) -> Result<Vec<u8>, synthmark::StampError> {
    let options = StampOptions {
        visible_label: Some(label),
        ..StampOptions::default()
    };
    let stamper = Stamper::new(&dev_identity().signing_identity().unwrap(), options).unwrap();
    stamper.stamp_bytes(bytes, "labelled.png").map(|s| s.bytes)
}

#[test]
fn the_label_is_drawn_watermarked_signed_and_recorded() {
    let picture = textured_picture(900, 600, 4);
    let mut png = Cursor::new(Vec::new());
    picture.write_to(&mut png, ImageFormat::Png).unwrap();
    let label = VisibleLabel {
        kind: LabelKind::AiGenerated,
        corner: Corner::TopRight,
    };
    let stamped = stamp(png.get_ref(), label).unwrap();

    // The badge is in the top-right corner: dark pill and white text there, the opposite corner
    // only watermarked (changes of a few levels).
    let out = image::load_from_memory(&stamped).unwrap().to_rgb8();
    let changed = |x0: u32, y0: u32| {
        let mut max = 0u8;
        for y in y0..y0 + 40 {
            for x in x0..x0 + 120 {
                let (a, b) = (out.get_pixel(x, y), picture.get_pixel(x, y));
                for c in 0..3 {
                    max = max.max(a[c].abs_diff(b[c]));
                }
            }
        }
        max
    };
    assert!(changed(900 - 150, 20) > 100, "badge drawn top-right");
    assert!(changed(10, 600 - 50) < 40, "bottom-left only watermarked");

    let checker = Checker::new(&CheckOptions {
        trust_anchors_pem: dev_identity().ca_pem.clone(),
        ..CheckOptions::default()
    })
    .unwrap();
    let report = checker.check_bytes(&stamped);
    assert_eq!(report.verdict, Verdict::LabelledAi);
    assert!(
        report.rests_on.contains(&Layer::Watermark),
        "the watermark covers the label too"
    );

    let reader = c2pa::Reader::default()
        .with_stream("image/png", Cursor::new(&stamped))
        .unwrap();
    let manifest = reader.json();
    assert!(
        manifest.contains("org.synthmark.visible-label"),
        "{manifest}"
    );
    assert!(manifest.contains("\"ai-generated\"") && manifest.contains("top-right"));
    assert!(manifest.contains("c2pa.drawing"));
}

#[test]
fn where_the_label_cannot_be_drawn_the_stamp_fails_with_the_reason() {
    let label = VisibleLabel {
        kind: LabelKind::AiModified,
        corner: Corner::BottomLeft,
    };
    let gif = image_bytes(Format::Gif);
    let err = stamp(&gif, label).unwrap_err().to_string();
    assert!(
        err.contains("visible AI label cannot be drawn") && err.contains("GIF"),
        "{err}"
    );
    let mut tiny = Cursor::new(Vec::new());
    textured_picture(40, 30, 1)
        .write_to(&mut tiny, ImageFormat::Png)
        .unwrap();
    let err = stamp(tiny.get_ref(), label).unwrap_err().to_string();
    assert!(err.contains("40×30"), "{err}");
}

#[test]
fn restamping_our_own_output_keeps_its_watermark() {
    let picture = textured_picture(900, 600, 8);
    let mut png = Cursor::new(Vec::new());
    picture.write_to(&mut png, ImageFormat::Png).unwrap();
    let stamper = Stamper::new(
        &dev_identity().signing_identity().unwrap(),
        StampOptions::default(),
    )
    .unwrap();
    let first = stamper.stamp_bytes(png.get_ref(), "first.png").unwrap();
    // A deployer labels the provider's output: the visible label is drawn, the watermark kept.
    let options = StampOptions {
        involvement: synthmark::Involvement::Edited,
        visible_label: Some(VisibleLabel {
            kind: LabelKind::AiGenerated,
            corner: Corner::TopRight,
        }),
        ..StampOptions::default()
    };
    let second = stamper
        .stamp_bytes_with(&first.bytes, "second.png", &options)
        .unwrap();
    assert_eq!(second.watermark, first.watermark, "the same asset id");
    let checker = Checker::new(&CheckOptions::default()).unwrap();
    let stripped = common::reencode(&second.bytes, ImageFormat::Png);
    let report = checker.check_bytes(&stripped);
    let id = first.watermark.unwrap().to_string();
    assert!(
        report
            .evidence
            .iter()
            .any(|e| e.layer == Layer::Watermark && e.value.as_deref() == Some(id.as_str())),
        "{report:?}"
    );
}

#[test]
fn the_reencoding_quality_applies_to_a_labelled_image_without_a_watermark() {
    // Before the options were split, the quality lived in the watermark's options and a
    // label-only stamp silently re-encoded at the input's quality.
    let picture = textured_picture(900, 600, 9);
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&picture)
        .unwrap();
    let identity = dev_identity().signing_identity().unwrap();
    let size_at = |quality: u8| {
        let options = StampOptions {
            watermark: None,
            visible_label: Some(VisibleLabel {
                kind: LabelKind::AiGenerated,
                corner: Corner::TopRight,
            }),
            reencoding: Reencoding {
                quality: Some(Quality::new(quality).unwrap()),
            },
            ..StampOptions::default()
        };
        let stamped = Stamper::new(&identity, options)
            .unwrap()
            .stamp_bytes(jpeg.get_ref(), "a.jpg")
            .unwrap();
        assert_eq!(stamped.watermark, None);
        stamped.bytes.len()
    };
    let (low, high) = (size_at(20), size_at(95));
    assert!(low * 2 < high, "q20 {low} bytes, q95 {high} bytes");
}
