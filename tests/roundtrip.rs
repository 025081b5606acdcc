//! Library round trips: stamp → check for every format, trust with and without the anchor,
//! tampering, stripping, edits and re-stamping.

mod common;

use common::*;
use synthmark::{
    source_types, CheckOptions, Checker, Finding, Format, Involvement, Report, SoftwareAgent,
    StampOptions, Stamper, Trust, Verdict,
};

fn stamper(options: StampOptions) -> Stamper {
    Stamper::new(&dev_identity().signing_identity().unwrap(), options).unwrap()
}

/// These tests are about the metadata layers and use tiny fixtures; the watermark layer has its
/// own tests (tests/watermark.rs).
fn default_stamper() -> Stamper {
    stamper(StampOptions {
        generator: SoftwareAgent::parse("TestDiffusion/3.1"),
        watermark: None,
        ..StampOptions::default()
    })
}

fn trusting_checker() -> Checker {
    Checker::new(&CheckOptions {
        trust_anchors_pem: dev_identity().ca_pem.clone(),
        ..CheckOptions::default()
    })
    .unwrap()
}

/// The AI source types the signed C2PA credentials declare.
fn ai_values(report: &Report) -> Vec<String> {
    report
        .evidence
        .iter()
        .filter(|e| e.signed && e.finding == Finding::AiSourceType)
        .filter_map(|e| e.value.clone())
        .collect()
}

#[test]
fn every_format_round_trips_as_labelled_ai() {
    let stamper = default_stamper();
    let trusting = trusting_checker();
    let untrusting = Checker::new(&CheckOptions::default()).unwrap();
    for format in Format::ALL {
        let input = image_bytes(format);
        assert_eq!(
            untrusting.check_bytes(&input).verdict,
            Verdict::NoSignal,
            "{format} before"
        );

        let stamped = stamper.stamp_bytes(&input, "fixture").unwrap();
        assert_eq!(stamped.format, format);
        assert!(!stamped.kept_credentials);

        let report = trusting.check_bytes(&stamped.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{format}: {report:#?}");
        assert_eq!(report.trust, Some(Trust::Trusted), "{format}: {report:#?}");
        assert_eq!(report.rests_on, vec![synthmark::Layer::C2pa]);
        assert_eq!(
            ai_values(&report),
            vec![source_types::TRAINED_ALGORITHMIC_MEDIA]
        );
        let signer = report.signer.as_ref().unwrap();
        assert!(signer
            .common_name
            .as_deref()
            .unwrap()
            .contains("DEVELOPMENT"));
        let agent = report
            .evidence
            .iter()
            .find(|e| e.finding == Finding::AiSourceType)
            .unwrap();
        assert!(
            agent.detail.contains("TestDiffusion/3.1"),
            "{}",
            agent.detail
        );

        let report = untrusting.check_bytes(&stamped.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{format} untrusted");
        assert_eq!(report.trust, Some(Trust::Untrusted), "{format}");
    }
}

#[test]
fn a_flipped_pixel_byte_is_tampering() {
    let stamper = default_stamper();
    let checker = trusting_checker();
    for format in Format::ALL {
        let mut bytes = stamper
            .stamp_bytes(&image_bytes(format), "fixture")
            .unwrap()
            .bytes;
        flip_pixel_byte(format, &mut bytes);
        let report = checker.check_bytes(&bytes);
        assert_eq!(report.verdict, Verdict::Tampered, "{format}: {report:#?}");
        let codes: Vec<_> = report
            .evidence
            .iter()
            .filter_map(|e| e.code.as_deref())
            .collect();
        assert!(
            codes.iter().any(|c| c.ends_with("Hash.mismatch")),
            "{format}: {codes:?}"
        );
        // Tampering is an integrity finding; the signer is still the trusted one.
        assert_eq!(report.trust, Some(Trust::Trusted), "{format}");
    }
}

#[test]
fn stripped_credentials_leave_unsigned_xmp_or_nothing() {
    let stamper = default_stamper();
    let checker = trusting_checker();
    let jpeg = stamper
        .stamp_bytes(&image_bytes(Format::Jpeg), "a.jpg")
        .unwrap()
        .bytes;
    let stripped = strip_jpeg_app11(&jpeg);
    assert!(stripped.len() < jpeg.len());
    let report = checker.check_bytes(&stripped);
    // The signed label is gone; the unsigned IPTC source type in the XMP survives.
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:#?}");
    assert_eq!(report.rests_on, vec![synthmark::Layer::Xmp]);
    assert_eq!(report.trust, None);

    let png = stamper
        .stamp_bytes(&image_bytes(Format::Png), "a.png")
        .unwrap()
        .bytes;
    let reencoded = reencode(&png, image::ImageFormat::Png);
    assert_eq!(checker.check_bytes(&reencoded).verdict, Verdict::NoSignal);
}

#[test]
fn xmp_carries_the_source_type_inside_the_signed_range() {
    let stamper = default_stamper();
    for format in [Format::Jpeg, Format::Png, Format::Webp, Format::Gif] {
        let stamped = stamper
            .stamp_bytes(&image_bytes(format), "fixture")
            .unwrap();
        assert!(
            stamped.warnings.is_empty(),
            "{format}: {:?}",
            stamped.warnings
        );
        assert_eq!(
            synthmark::read_digital_source_type(format, &stamped.bytes).as_deref(),
            Some(source_types::TRAINED_ALGORITHMIC_MEDIA),
            "{format}"
        );
        // Still decodable, still the same picture size.
        let decoded = image::load_from_memory(&stamped.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (64, 48), "{format}");
    }
}

#[test]
fn an_edit_keeps_the_parent_credentials() {
    let generated = default_stamper()
        .stamp_bytes(&image_bytes(Format::Jpeg), "original.jpg")
        .unwrap()
        .bytes;
    let editor = stamper(StampOptions {
        involvement: Involvement::Edited,
        generator: SoftwareAgent::parse("InpaintModel/1"),
        ..StampOptions::default()
    });
    let edited = editor.stamp_bytes(&generated, "edited.jpg").unwrap();
    assert!(edited.kept_credentials);
    let report = trusting_checker().check_bytes(&edited.bytes);
    assert_eq!(report.verdict, Verdict::LabelledAi, "{report:#?}");
    assert_eq!(report.trust, Some(Trust::Trusted), "{report:#?}");
    let values = ai_values(&report);
    assert!(values.contains(&source_types::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA.to_string()));
    assert!(values.contains(&source_types::TRAINED_ALGORITHMIC_MEDIA.to_string()));
    let from_ingredient = report
        .evidence
        .iter()
        .find(|e| e.detail.contains("ingredient manifest"))
        .expect("the parent's declaration is found through the ingredient");
    assert_eq!(
        from_ingredient.value.as_deref(),
        Some(source_types::TRAINED_ALGORITHMIC_MEDIA)
    );
    assert!(
        !report
            .evidence
            .iter()
            .any(|e| e.finding == Finding::IngredientFailure),
        "{report:#?}"
    );
}

#[test]
fn an_edit_of_an_unlabelled_photo_declares_composite() {
    let editor = stamper(StampOptions {
        involvement: Involvement::Edited,
        ..StampOptions::default()
    });
    let edited = editor
        .stamp_bytes(&image_bytes(Format::Png), "photo.png")
        .unwrap();
    assert!(!edited.kept_credentials);
    let report = trusting_checker().check_bytes(&edited.bytes);
    assert_eq!(report.verdict, Verdict::LabelledAi);
    assert_eq!(
        ai_values(&report),
        vec![source_types::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA]
    );
}

#[test]
fn restamping_keeps_the_previous_manifest_as_an_ingredient() {
    let stamper = default_stamper();
    let checker = trusting_checker();
    for format in [Format::Jpeg, Format::Png, Format::Webp] {
        let once = stamper.stamp_bytes(&image_bytes(format), "a").unwrap();
        let twice = stamper.stamp_bytes(&once.bytes, "a").unwrap();
        assert!(twice.kept_credentials, "{format}");
        let report = checker.check_bytes(&twice.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{format}: {report:#?}");
        assert_eq!(report.trust, Some(Trust::Trusted), "{format}: {report:#?}");
        let manifests: std::collections::HashSet<_> = report
            .evidence
            .iter()
            .filter_map(|e| e.manifest.clone())
            .collect();
        assert!(
            manifests.len() >= 2,
            "{format}: both manifests are reported: {report:#?}"
        );
    }
}

#[test]
fn no_train_and_thumbnail_are_embedded_and_verify() {
    let stamper = stamper(StampOptions {
        no_train: true,
        thumbnail: true,
        watermark: None,
        ..StampOptions::default()
    });
    let plain = default_stamper()
        .stamp_bytes(&image_bytes(Format::Jpeg), "a.jpg")
        .unwrap();
    let stamped = stamper
        .stamp_bytes(&image_bytes(Format::Jpeg), "a.jpg")
        .unwrap();
    assert!(stamped.warnings.is_empty(), "{:?}", stamped.warnings);
    assert!(
        stamped.bytes.len() > plain.bytes.len(),
        "a thumbnail adds bytes"
    );
    let text = String::from_utf8_lossy(&stamped.bytes);
    assert!(text.contains("cawg.training-mining"));
    assert!(text.contains("notAllowed"));
    assert!(text.contains("c2pa.thumbnail.claim"));
    let report = trusting_checker().check_bytes(&stamped.bytes);
    assert_eq!(report.verdict, Verdict::LabelledAi);
    assert_eq!(report.trust, Some(Trust::Trusted));
}

#[test]
fn every_key_algorithm_signs_trusted_credentials() {
    for alg in [
        synthmark::KeyAlgorithm::Es384,
        synthmark::KeyAlgorithm::Ed25519,
    ] {
        let dev = synthmark::DevIdentity::generate(alg, "alg test").unwrap();
        let stamper =
            Stamper::new(&dev.signing_identity().unwrap(), StampOptions::default()).unwrap();
        let stamped = stamper
            .stamp_bytes(&image_bytes(Format::Png), "a.png")
            .unwrap();
        let checker = Checker::new(&CheckOptions {
            trust_anchors_pem: dev.ca_pem.clone(),
            ..CheckOptions::default()
        })
        .unwrap();
        let report = checker.check_bytes(&stamped.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{alg:?}");
        assert_eq!(report.trust, Some(Trust::Trusted), "{alg:?}");
    }
}

#[test]
fn bad_bytes_are_errors_with_reasons() {
    let stamper = default_stamper();
    let checker = trusting_checker();
    let mut truncated = image_bytes(Format::Jpeg);
    truncated.truncate(truncated.len() / 2);
    for (bytes, reason) in [
        (Vec::new(), "empty"),
        (b"just some text".to_vec(), "not a supported image"),
        (truncated, "truncated"),
    ] {
        let err = stamper.stamp_bytes(&bytes, "bad").unwrap_err().to_string();
        assert!(err.contains(reason), "{err}");
        let report = checker.check_bytes(&bytes);
        assert_eq!(report.verdict, Verdict::Error);
        assert!(
            report.error.as_deref().unwrap().contains(reason),
            "{report:?}"
        );
    }
}

#[test]
fn stamper_and_checker_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Stamper>();
    assert_send_sync::<Checker>();
    let stamper = default_stamper();
    let checker = trusting_checker();
    std::thread::scope(|scope| {
        for format in [Format::Jpeg, Format::Png, Format::Webp, Format::Gif] {
            let (stamper, checker) = (&stamper, &checker);
            scope.spawn(move || {
                let stamped = stamper.stamp_bytes(&image_bytes(format), "t").unwrap();
                assert_eq!(
                    checker.check_bytes(&stamped.bytes).verdict,
                    Verdict::LabelledAi
                );
            });
        }
    });
}

#[test]
fn a_meta_style_iptc_label_without_credentials_is_unlabelled_ai() {
    // Meta AI writes the IPTC namespace under the `iptcExt` prefix with a bare code.
    let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:iptcExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" iptcExt:DigitalSourceType="trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;
    let jpeg = image_bytes(Format::Jpeg);
    let mut payload = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    payload.extend_from_slice(packet.as_bytes());
    let mut tagged = jpeg[..2].to_vec();
    tagged.extend_from_slice(&[0xFF, 0xE1]);
    tagged.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    tagged.extend_from_slice(&payload);
    tagged.extend_from_slice(&jpeg[2..]);

    let report = trusting_checker().check_bytes(&tagged);
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:#?}");
    assert_eq!(report.rests_on, vec![synthmark::Layer::Xmp]);
    let evidence = &report.evidence[0];
    assert!(!evidence.signed);
    assert_eq!(evidence.value.as_deref(), Some("trainedAlgorithmicMedia"));
}

#[test]
fn a_bare_jpeg_xl_codestream_is_refused_with_what_to_do() {
    let err = default_stamper()
        .stamp_bytes(b"\xff\x0a\xfa\x1f\x01\x00\x00\x00", "bare")
        .unwrap_err();
    assert!(err.is_input_fault());
    assert!(err.to_string().contains("--container=1"), "{err}");
}

#[test]
fn a_time_stamping_anchor_does_not_vouch_for_a_signer() {
    // C2PA keeps the signers' trust list and the time-stamping authorities' apart: a root that
    // is only trusted to time-stamp (such as a public CA on the TSA list, which also issues
    // e-mail certificates) must not make a manifest signer trusted.
    let stamped = default_stamper()
        .stamp_bytes(&image_bytes(Format::Png), "fixture")
        .unwrap();
    let ca = dev_identity().ca_pem.clone();
    let tsa_only = Checker::new(&CheckOptions {
        tsa_trust_anchors_pem: ca.clone(),
        official_trust_lists: false,
        ..CheckOptions::default()
    })
    .unwrap();
    let report = tsa_only.check_bytes(&stamped.bytes);
    assert_eq!(report.trust, Some(Trust::Untrusted), "{report:#?}");
    assert_eq!(report.signer.as_ref().unwrap().trust_list, None);
    assert!(
        report
            .evidence
            .iter()
            .any(|e| e.code.as_deref() == Some("signingCredential.untrusted")
                && e.detail.contains("time-stamping authority")),
        "{report:#?}"
    );

    // A root on both lists is reported on the signers' one, in every checker (`c2pa` holds its
    // anchors in a hash set, whose order changes from one instance to the next).
    for _ in 0..8 {
        let both = Checker::new(&CheckOptions {
            trust_anchors_pem: ca.clone(),
            tsa_trust_anchors_pem: ca.clone(),
            official_trust_lists: false,
            ..CheckOptions::default()
        })
        .unwrap();
        let report = both.check_bytes(&stamped.bytes);
        assert_eq!(report.trust, Some(Trust::Trusted), "{report:#?}");
        assert_eq!(
            report.signer.as_ref().unwrap().trust_list.as_deref(),
            Some(synthmark::CONFIGURED_TRUST_URI)
        );
    }
}
