//! The checker's rules for real-world files no named generator rule covers, each with a fixture
//! made from the rule and a trap it must not fire on: JSON generation parameters (diffusers,
//! Gradio, Hugging Face Spaces) in PNG text, EXIF and XMP; XMP inside AVIF and HEIC (written by
//! exiftool, as users do); JPEG XL; and `pixels: false`, which must decode nothing.

mod common;

use std::path::Path;

use common::hostile::{huge_png, png_chunk};
use common::*;
use synthmark::{CheckOptions, Checker, Format};

const HF_PARAMETERS: &str = r#"{"prompt": "a lighthouse at dusk", "negative_prompt": "blurry", "guidance_scale": 5.5, "num_inference_steps": 20, "seed": 1971450810, "sampler": "DPM++ 2M Karras", "Model": "example-sdxl"}"#;
/// JSON with a prompt key that is no generation: a UI's string table.
const UI_STRINGS: &str = r#"{"prompt": "Save changes?", "title": "Editor", "cancel": "Cancel"}"#;
const TRAINED: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

fn checker() -> Checker {
    Checker::new(&CheckOptions::default()).unwrap()
}

/// A real PNG with a `tEXt` chunk inserted after IHDR.
fn png_with_text(keyword: &str, text: &str) -> Vec<u8> {
    let png = image_bytes(Format::Png);
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut data = keyword.as_bytes().to_vec();
    data.push(0);
    data.extend_from_slice(text.as_bytes());
    let mut out = png[..ihdr_end].to_vec();
    out.extend(png_chunk(b"tEXt", &data));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

fn has_exiftool() -> bool {
    common::program("exiftool", "-ver", "libimage-exiftool-perl")
}

/// Writes `source` to a fresh file in `dir` with exiftool applying `args`, and returns its bytes.
fn exiftool(dir: &Path, source: &[u8], name: &str, args: &[&str]) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    let status = std::process::Command::new("exiftool")
        .args(["-q", "-q", "-overwrite_original"])
        .args(args)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "exiftool {args:?} on {name}");
    std::fs::read(&path).unwrap()
}

#[test]
fn json_generation_parameters_in_png_text_are_a_generator_trace() {
    let report = checker().check_bytes(&png_with_text("parameters", HF_PARAMETERS));
    assert_eq!(report.verdict.as_str(), "unlabelled-ai", "{report:#?}");
    assert!(report
        .evidence
        .iter()
        .any(|e| e.detail.contains("guidance_scale")));

    let trap = checker().check_bytes(&png_with_text("parameters", UI_STRINGS));
    assert_eq!(trap.verdict.as_str(), "no-signal", "{trap:#?}");
}

#[test]
fn json_generation_parameters_in_exif_and_xmp_written_by_exiftool() {
    if !has_exiftool() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let jpeg = image_bytes(Format::Jpeg);
    let comment = format!("-UserComment={HF_PARAMETERS}");
    let exif = exiftool(dir.path(), &jpeg, "exif.jpg", &[&comment]);
    assert_eq!(
        checker().check_bytes(&exif).verdict.as_str(),
        "unlabelled-ai"
    );
    let description = format!("-XMP-dc:Description={HF_PARAMETERS}");
    let xmp = exiftool(dir.path(), &jpeg, "xmp.jpg", &[&description]);
    assert_eq!(
        checker().check_bytes(&xmp).verdict.as_str(),
        "unlabelled-ai"
    );

    // Traps: a camera's and an editor's metadata, and JSON that is no generation.
    let camera = exiftool(
        dir.path(),
        &jpeg,
        "camera.jpg",
        &[
            "-Make=Canon",
            "-Model=Canon EOS R5",
            "-UserComment=Steps to the lighthouse, seed pods",
            "-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 13.0",
            "-XMP-dc:Description=A lighthouse at dusk",
        ],
    );
    assert_eq!(checker().check_bytes(&camera).verdict.as_str(), "no-signal");
    let ui = format!("-UserComment={UI_STRINGS}");
    let ui = exiftool(dir.path(), &jpeg, "ui.jpg", &[&ui]);
    assert_eq!(checker().check_bytes(&ui).verdict.as_str(), "no-signal");
}

#[test]
fn xmp_inside_avif_and_heic_is_read() {
    if !has_exiftool() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_type = format!("-XMP-iptcExt:DigitalSourceType={TRAINED}");
    let description = format!("-XMP-dc:Description={HF_PARAMETERS}");
    for format in [Format::Avif, Format::Heic] {
        let plain = image_bytes(format);
        assert_eq!(checker().check_bytes(&plain).verdict.as_str(), "no-signal");
        let name = format!("dst.{}", format.extensions()[0]);
        let declared = exiftool(dir.path(), &plain, &name, &[&source_type]);
        let report = checker().check_bytes(&declared);
        assert_eq!(
            report.verdict.as_str(),
            "unlabelled-ai",
            "{format}: {report:#?}"
        );
        assert_eq!(report.rests_on[0].as_str(), "xmp", "{format}");
        let name = format!("parameters.{}", format.extensions()[0]);
        let parameters = exiftool(dir.path(), &plain, &name, &[&description]);
        let report = checker().check_bytes(&parameters);
        assert_eq!(
            report.verdict.as_str(),
            "unlabelled-ai",
            "{format}: {report:#?}"
        );
        // A description that is no generation parameters is not a trace.
        let name = format!("caption.{}", format.extensions()[0]);
        let caption = exiftool(dir.path(), &plain, &name, &["-XMP-dc:Description=Harbour"]);
        assert_eq!(
            checker().check_bytes(&caption).verdict.as_str(),
            "no-signal"
        );
    }
}

fn jxl_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

#[test]
fn jpeg_xl_is_checked_for_metadata_and_its_pixels_are_said_to_be_out_of_reach() {
    let codestream = b"\xff\x0a\xfa\x1f\x01\x00\x00\x00";
    let bare = checker().check_bytes(codestream);
    assert_eq!(bare.verdict.as_str(), "no-signal", "{bare:#?}");
    assert_eq!(bare.format, Some(Format::Jxl));

    let packet = format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="{TRAINED}"/></rdf:RDF></x:xmpmeta>"#
    );
    let mut container = b"\0\0\0\x0cJXL \r\n\x87\n".to_vec();
    container.extend(jxl_box(b"ftyp", b"jxl \0\0\0\0jxl "));
    container.extend(jxl_box(b"xml ", packet.as_bytes()));
    container.extend(jxl_box(b"jxlc", codestream));
    let report = checker().check_bytes(&container);
    assert_eq!(report.verdict.as_str(), "unlabelled-ai", "{report:#?}");

    // A container without a codestream is refused with a reason.
    let mut broken = b"\0\0\0\x0cJXL \r\n\x87\n".to_vec();
    broken.extend(jxl_box(b"ftyp", b"jxl \0\0\0\0jxl "));
    let report = checker().check_bytes(&broken);
    assert_eq!(report.verdict.as_str(), "error");
    assert!(report.error.unwrap().contains("codestream"));
}

#[test]
fn without_pixels_nothing_is_decoded() {
    // A PNG whose header promises 30,000 × 30,000 pixels: over the decoding limits.
    let png = huge_png(30_000, 30_000, false);
    let with_pixels = checker().check_bytes(&png);
    assert_eq!(with_pixels.verdict.as_str(), "error", "{with_pixels:#?}");
    let metadata_only = Checker::new(&CheckOptions {
        pixels: false,
        ..CheckOptions::default()
    })
    .unwrap()
    .check_bytes(&png);
    assert_eq!(
        metadata_only.verdict.as_str(),
        "no-signal",
        "{metadata_only:#?}"
    );
}
