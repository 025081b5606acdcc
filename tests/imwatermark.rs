//! The invisible-watermark decoder against the reference Python package: the fixtures in
//! `tests/fixtures/imwatermark/` were marked by `imwatermark` 0.2.0 the way each generator's
//! reference code calls it, and `expected.json` holds the bits the package's own decoder reads
//! from them in each of the four decode variants (`scripts/make-imwatermark-fixtures.py`
//! regenerates both).

use std::path::{Path, PathBuf};

use synthmark::watermark::imwatermark::{
    decode, detect_generator, Method, Variant, KNOWN_MESSAGES,
};
use synthmark::{CheckOptions, Checker, Finding, Layer, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imwatermark")
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn variant(name: &str) -> Variant {
    let (order, domain) = name.split_once('-').unwrap();
    Variant {
        rgb_as_bgr: order == "rgb",
        float: domain == "float32",
    }
}

fn method(name: &str) -> Method {
    match name {
        "dwtDct" => Method::DwtDct,
        "dwtDctSvd" => Method::DwtDctSvd,
        other => panic!("unknown method {other}"),
    }
}

fn bit_string(bits: &[bool]) -> String {
    bits.iter().map(|&b| if b { '1' } else { '0' }).collect()
}

#[test]
fn decodes_exactly_what_the_reference_package_decodes() {
    let expected = expected();
    let mut compared = 0;
    for fixture in expected["fixtures"].as_array().unwrap() {
        let file = fixture["file"].as_str().unwrap();
        let image = image::open(fixtures().join(file)).unwrap().to_rgb8();
        let length = fixture["bits"].as_u64().unwrap() as usize;
        let own = fixture["method"].as_str().unwrap();
        let other = if own == "dwtDct" {
            "dwtDctSvd"
        } else {
            "dwtDct"
        };
        for (method_name, key) in [
            (own, "decoded".to_string()),
            (other, format!("decoded_{other}")),
        ] {
            for (name, bits) in fixture[&key].as_object().unwrap() {
                let ours = bit_string(
                    &decode(&image, method(method_name), variant(name), length).unwrap(),
                );
                let theirs = bits.as_str().unwrap();
                if file.ends_with(".png") {
                    assert_eq!(ours, theirs, "{file}: {method_name} {name}");
                } else {
                    // JPEG decoders (PIL's libjpeg, zune-jpeg here) may differ by ±1 in a
                    // pixel, which can flip a knife-edge vote: the pixels differ, not the decoder.
                    let differing = ours
                        .chars()
                        .zip(theirs.chars())
                        .filter(|(a, b)| a != b)
                        .count();
                    assert!(
                        differing <= 2,
                        "{file}: {method_name} {name}: {ours} vs {theirs}"
                    );
                }
                compared += 1;
            }
        }
    }
    // 7 fixtures × 2 methods × 4 variants.
    assert_eq!(compared, 56);
}

#[test]
fn recognises_each_generators_message() {
    let expected = expected();
    for fixture in expected["fixtures"].as_array().unwrap() {
        let file = fixture["file"].as_str().unwrap();
        let image = image::open(fixtures().join(file)).unwrap().to_rgb8();
        let found = detect_generator(&image);
        match fixture["generator"].as_str() {
            Some(generator) => {
                let mark = found.unwrap_or_else(|| panic!("{file}: no generator mark found"));
                assert_eq!(mark.message.generator, generator, "{file}");
                assert!(mark.matched >= mark.message.threshold);
                assert!(KNOWN_MESSAGES.iter().any(|m| m.generator == generator));
            }
            // The random 64-bit messages are nobody's generator.
            None => assert!(
                found.is_none(),
                "{file}: {:?}",
                found.map(|m| m.message.generator)
            ),
        }
    }
}

#[test]
fn the_checker_names_the_generator_watermark() {
    let checker = Checker::new(&CheckOptions::default()).unwrap();
    for (file, generator) in [
        ("sd1.png", "Stable Diffusion 1.x"),
        ("sdxl-diffusers.png", "SDXL"),
        ("flux.jpg", "FLUX.1"),
    ] {
        let report = checker.check_file(&fixtures().join(file));
        assert_eq!(report.verdict, Verdict::UnlabelledAi, "{file}: {report:?}");
        assert_eq!(report.rests_on, vec![Layer::Watermark], "{file}");
        let evidence = report
            .evidence
            .iter()
            .find(|e| e.layer == Layer::Watermark && e.finding == Finding::GeneratorTrace)
            .unwrap();
        assert!(
            evidence
                .detail
                .starts_with(&format!("generator watermark: {generator} ")),
            "{}",
            evidence.detail
        );
        assert!(
            report.explanation.contains(generator),
            "{}",
            report.explanation
        );
    }
    // Without pixel decoding the layer says nothing.
    let metadata_only = Checker::new(&CheckOptions {
        pixels: false,
        ..CheckOptions::default()
    })
    .unwrap();
    let report = metadata_only.check_file(&fixtures().join("sd1.png"));
    assert_eq!(report.verdict, Verdict::NoSignal);
}
