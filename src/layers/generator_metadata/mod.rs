//! The generator-metadata layer: traces AI image generators leave in PNG text chunks and EXIF
//! (AUTOMATIC1111 infotext, ComfyUI graphs, SwarmUI, Fooocus, InvokeAI, NovelAI, FLUX, ...).
//!
//! [`fields`] reads the fields; [`RULES`] is the catalogue, one line per trace, each naming the
//! tool it identifies, so adding a generator is a few lines. Beside it, [`parameters`] scores
//! JSON generation parameters from tools no rule names (diffusers, Gradio, Hugging Face Spaces)
//! in any field read here, XMP included. None of this is signed.

mod fields;
pub(crate) mod novelai;
mod parameters;

use serde_json::Value;

use crate::layers::Input;
use crate::verdict::{Evidence, Finding, Layer};
use fields::{ExifTag, Field};

/// Which field a rule reads.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A PNG text chunk, by keyword (case-insensitive).
    PngText(&'static str),
    /// An EXIF tag.
    Exif(ExifTag),
}

/// What the value must look like.
#[derive(Debug, Clone, Copy)]
enum Test {
    /// Any non-empty value.
    Present,
    /// Equal, ignoring ASCII case and surrounding space.
    Equals(&'static str),
    StartsWith(&'static str),
    Contains(&'static str),
    /// AUTOMATIC1111-style infotext: `Steps: N` with `Sampler:` or `Seed:`.
    Infotext,
    /// JSON (after an optional `prefix`) holding a ComfyUI API graph: an object of nodes with
    /// `class_type`, or an object whose `prompt` is one.
    ComfyGraph {
        prefix: &'static str,
    },
}

/// One trace: where to look, what to match, which tool it identifies.
struct Rule {
    tool: &'static str,
    source: Source,
    test: Test,
}

const fn rule(tool: &'static str, source: Source, test: Test) -> Rule {
    Rule { tool, source, test }
}

use ExifTag::*;
use Source::{Exif, PngText};
use Test::*;

/// The catalogue (see `generator-traces.md` in the project's shared docs for the evidence).
/// Traps kept out on purpose: a ComfyUI `workflow` chunk alone (UI exports and screenshots carry
/// it), a UserComment that is not infotext (macOS writes "Screenshot"), `xmp:CreatorTool`.
const RULES: &[Rule] = &[
    rule(
        "AUTOMATIC1111-compatible (A1111, Forge, SD.Next, Civitai)",
        PngText("parameters"),
        Infotext,
    ),
    rule(
        "AUTOMATIC1111-compatible (A1111, Forge, SD.Next, Civitai)",
        Exif(UserComment),
        Infotext,
    ),
    rule("ComfyUI", PngText("prompt"), ComfyGraph { prefix: "" }),
    rule("ComfyUI", Exif(Model), ComfyGraph { prefix: "prompt:" }),
    rule("ComfyUI", Exif(Make), ComfyGraph { prefix: "Prompt:" }),
    rule("ComfyUI", Exif(UserComment), ComfyGraph { prefix: "" }),
    rule(
        "SwarmUI",
        PngText("parameters"),
        Contains("\"sui_image_params\""),
    ),
    rule(
        "SwarmUI",
        Exif(UserComment),
        Contains("\"sui_image_params\""),
    ),
    rule("SwarmUI", Exif(Model), Contains("\"sui_image_params\"")),
    rule("Fooocus", PngText("fooocus_scheme"), Present),
    rule("Fooocus", Exif(Software), StartsWith("Fooocus v")),
    rule(
        "RuinedFooocus",
        PngText("parameters"),
        Contains("RuinedFooocus"),
    ),
    rule("InvokeAI", PngText("invokeai_metadata"), Present),
    rule("InvokeAI", PngText("invokeai_graph"), Present),
    rule(
        "InvokeAI (legacy)",
        PngText("sd-metadata"),
        Contains("invoke-ai"),
    ),
    rule("InvokeAI (legacy dream)", PngText("Dream"), Present),
    rule("NovelAI", PngText("Software"), Equals("NovelAI")),
    rule(
        "NovelAI",
        PngText("Title"),
        Equals("NovelAI generated image"),
    ),
    rule("NovelAI", PngText("Title"), Equals("AI generated image")),
    rule("NovelAI", Exif(Software), StartsWith("NovelAI Diffusion")),
    rule(
        "NovelAI",
        Exif(DocumentName),
        Equals("NovelAI generated image"),
    ),
    rule(
        "FLUX reference code",
        Exif(Software),
        StartsWith("AI generated;"),
    ),
    rule(
        "FLUX reference code",
        Exif(Make),
        Equals("Black Forest Labs"),
    ),
    rule("Midjourney", PngText("Description"), Contains("Job ID:")),
    rule(
        "Easy Diffusion",
        PngText("use_stable_diffusion_model"),
        Present,
    ),
    rule("Stability Matrix", PngText("smproj"), Present),
    rule("Stability Matrix", PngText("parameters-json"), Present),
];

/// Evidence from the generator metadata of an image, reading at most the limits' text budget;
/// the pixels are decoded only to verify a NovelAI signature.
pub fn detect(input: &Input) -> Vec<Evidence> {
    let pixels = &input.pixels;
    let fields = fields::read(input.format, input.bytes, &input.limits);
    let mut evidence = Vec::new();
    for (field, value) in &fields {
        if let Field::PngText(keyword) = field {
            if keyword.eq_ignore_ascii_case("AIGC") {
                evidence.push(crate::layers::xmp::detect::aigc_evidence(
                    Layer::GeneratorMetadata,
                    value,
                ));
            }
        }
        let before = evidence.len();
        for rule in RULES.iter().filter(|r| reads(r.source, field)) {
            if matches(rule.test, value) {
                evidence.push(
                    Evidence::new(
                        Layer::GeneratorMetadata,
                        Finding::GeneratorTrace,
                        format!(
                            "{field} carries {} generation metadata{}",
                            rule.tool,
                            detail(value)
                        ),
                    )
                    .with_value(rule.tool),
                );
            }
        }
        if evidence.len() == before {
            evidence.extend(parameters_evidence(&field.to_string(), value));
        }
    }
    if let Some(packet) = &crate::layers::xmp::read_packet(input.format, input.bytes) {
        match draw_things(packet) {
            Some(trace) => evidence.push(trace),
            None => evidence.extend(xmp_parameters(packet)),
        }
    }
    if let Some(comment) = fields.iter().find_map(|(field, value)| {
        let comment = matches!(field, Field::PngText(k) if k == "Comment")
            || *field == Field::Exif(UserComment);
        (comment && novelai::is_signed(value)).then_some(value)
    }) {
        if let Some(pixels) = pixels.rgba() {
            evidence.extend(novelai_evidence(Layer::GeneratorMetadata, pixels, comment));
        }
    }
    evidence.dedup_by(|a, b| a.detail == b.detail);
    evidence
}

/// The XMP namespace of `exif:UserComment`.
const EXIF_NS: &str = "http://ns.adobe.com/exif/1.0/";
/// The XMP namespace of `dc:description`.
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

/// Evidence when `value` (read from `field`) holds JSON generation parameters.
fn parameters_evidence(field: &str, value: &str) -> Option<Evidence> {
    let keys = parameters::generation_parameters(value)?;
    Some(
        Evidence::new(
            Layer::GeneratorMetadata,
            Finding::GeneratorTrace,
            format!(
                "{field} holds image-generation parameters as JSON ({}): a diffusers-style pipeline, Gradio app or Hugging Face Space",
                keys.join(", ")
            ),
        )
        .with_value("generation parameters (JSON)"),
    )
}

/// JSON generation parameters in the XMP `exif:UserComment` or `dc:description`.
fn xmp_parameters(packet: &str) -> Option<Evidence> {
    [
        (EXIF_NS, "exif", "UserComment", "XMP exif:UserComment"),
        (DC_NS, "dc", "description", "XMP dc:description"),
    ]
    .into_iter()
    .find_map(|(namespace, prefix, local, field)| {
        let value = crate::layers::xmp::find_property(packet, namespace, prefix, local)?;
        parameters_evidence(field, &value)
    })
}

/// Draw Things writes its parameters as JSON (`c` prompt, `sampler`, `steps`, …) into the XMP
/// `exif:UserComment`.
fn draw_things(packet: &str) -> Option<Evidence> {
    let comment = crate::layers::xmp::find_property(packet, EXIF_NS, "exif", "UserComment")?;
    let json: Value = serde_json::from_str(&comment).ok()?;
    let parameters = json.as_object()?;
    let generated = parameters.contains_key("c")
        && parameters.contains_key("sampler")
        && parameters.contains_key("steps");
    generated.then(|| {
        Evidence::new(
            Layer::GeneratorMetadata,
            Finding::GeneratorTrace,
            "XMP exif:UserComment carries Draw Things generation metadata",
        )
        .with_value("Draw Things")
    })
}

/// The result of checking NovelAI's signature, as evidence (signed when it verifies).
pub(crate) fn novelai_evidence(
    layer: Layer,
    pixels: &image::RgbaImage,
    comment: &str,
) -> Option<Evidence> {
    let verified = novelai::verify(pixels, comment)?;
    let mut evidence = if verified {
        Evidence::new(
            layer,
            Finding::GeneratorTrace,
            "NovelAI's Ed25519 signature (signed_hash, NovelAI's published key) verifies over these pixels and parameters",
        )
    } else {
        Evidence::new(
            layer,
            Finding::SourceType,
            "a NovelAI signed_hash is present but does not verify: the pixels or the parameters changed after generation",
        )
    };
    evidence.signed = verified;
    Some(evidence.with_value("NovelAI"))
}

fn reads(source: Source, field: &Field) -> bool {
    match (source, field) {
        (PngText(keyword), Field::PngText(found)) => found.eq_ignore_ascii_case(keyword),
        (Exif(tag), Field::Exif(found)) => tag == *found,
        _ => false,
    }
}

fn matches(test: Test, value: &str) -> bool {
    let value = value.trim();
    match test {
        Present => !value.is_empty(),
        Equals(expected) => value.eq_ignore_ascii_case(expected),
        StartsWith(prefix) => value.starts_with(prefix),
        Contains(needle) => value.contains(needle),
        Infotext => {
            value.contains("Steps: ") && (value.contains("Sampler: ") || value.contains("Seed: "))
        }
        ComfyGraph { prefix } => value
            .strip_prefix(prefix)
            .and_then(|json| serde_json::from_str::<Value>(json.trim()).ok())
            .is_some_and(|graph| is_comfy_graph(&graph) || is_comfy_graph(&graph["prompt"])),
    }
}

/// An API graph: an object of nodes, each an object with a `class_type`.
fn is_comfy_graph(graph: &Value) -> bool {
    graph.as_object().is_some_and(|nodes| {
        !nodes.is_empty()
            && nodes
                .values()
                .any(|node| node.get("class_type").is_some_and(Value::is_string))
    })
}

/// A short hint from the value, e.g. the infotext's `Version:` or the model.
fn detail(value: &str) -> String {
    for key in ["Version: ", "App: ", "Model: "] {
        if let Some(at) = value.rfind(key) {
            let rest = &value[at + key.len()..];
            let end = rest.find([',', '\n']).unwrap_or(rest.len()).min(60);
            if let Some(found) = rest.get(..end).filter(|s| !s.trim().is_empty()) {
                return format!(" ({}{})", key, found.trim());
            }
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::fields::tests::exif_block;
    use super::*;
    use crate::container::png::chunk as png_chunk;
    use crate::format::Format;
    use crate::limits::Limits;

    /// The layer as the checker runs it, pixels decoded on demand.
    fn detect(format: Format, image: &[u8]) -> Vec<Evidence> {
        super::detect(&Input::new(format, image, Limits::default(), true))
    }

    fn png_with(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &[0; 13]));
        for (kind, data) in chunks {
            png.extend(png_chunk(kind, data));
        }
        png.extend(png_chunk(b"IEND", &[]));
        png
    }

    fn tools(evidence: &[Evidence]) -> Vec<String> {
        evidence.iter().filter_map(|e| e.value.clone()).collect()
    }

    const INFOTEXT: &[u8] = b"parameters\0a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Version: f2.0.1v1.10.1";

    #[test]
    fn a1111_infotext_in_png_and_exif() {
        let found = detect(Format::Png, &png_with(&[(b"tEXt", INFOTEXT)]));
        assert_eq!(
            tools(&found),
            vec!["AUTOMATIC1111-compatible (A1111, Forge, SD.Next, Civitai)"]
        );
        assert!(
            found[0].detail.contains("Version: f2.0.1v1.10.1"),
            "{}",
            found[0].detail
        );
        assert!(!found[0].signed);

        let mut comment = b"UNICODE\0".to_vec();
        comment.extend(
            "cat\nSteps: 30, Sampler: DPM++, Seed: 5"
                .encode_utf16()
                .flat_map(|u| u.to_be_bytes()),
        );
        let mut jpeg = vec![0xFF, 0xD8];
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(exif_block(&[], Some(&comment)));
        jpeg.extend(crate::container::jpeg::segment(0xE1, &app1).unwrap());
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(detect(Format::Jpeg, &jpeg).len(), 1);
    }

    #[test]
    fn comfyui_graph_counts_but_a_workflow_alone_does_not() {
        let text_chunk = |keyword: &str, value: &str| format!("{keyword}\0{value}").into_bytes();
        let prompt_chunk = text_chunk(
            "prompt",
            r#"{"3":{"inputs":{"seed":1},"class_type":"KSampler"}}"#,
        );
        let workflow_chunk = text_chunk("workflow", r#"{"last_node_id":9,"nodes":[]}"#);
        let generated = detect(
            Format::Png,
            &png_with(&[(b"tEXt", &prompt_chunk), (b"tEXt", &workflow_chunk)]),
        );
        assert_eq!(tools(&generated), vec!["ComfyUI"]);
        let ui_export = detect(Format::Png, &png_with(&[(b"tEXt", &workflow_chunk)]));
        assert!(
            ui_export.is_empty(),
            "a workflow chunk alone is not generated content"
        );
        let broken = detect(Format::Png, &png_with(&[(b"tEXt", b"prompt\0{not json")]));
        assert!(broken.is_empty());
    }

    #[test]
    fn comfyui_webp_exif_and_flux_and_fooocus() {
        let make = br#"workflow:{"nodes":[]}"#;
        let model = br#"prompt:{"1":{"class_type":"SaveAnimatedWEBP","inputs":{}}}"#;
        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        let exif = exif_block(&[(0x010F, make), (0x0110, model)], None);
        webp.extend_from_slice(b"EXIF");
        webp.extend_from_slice(&(exif.len() as u32).to_le_bytes());
        webp.extend_from_slice(&exif);
        assert_eq!(tools(&detect(Format::Webp, &webp)), vec!["ComfyUI"]);

        let flux = exif_block(
            &[
                (0x0131, b"AI generated;txt2img;flux\0"),
                (0x010F, b"Black Forest Labs\0"),
            ],
            None,
        );
        assert_eq!(
            tools(&detect(Format::Tiff, &flux)),
            vec!["FLUX reference code", "FLUX reference code"]
        );
        let fooocus = exif_block(&[(0x0131, b"Fooocus v2.5.5\0")], None);
        assert_eq!(tools(&detect(Format::Tiff, &fooocus)), vec!["Fooocus"]);
    }

    /// A value that satisfies `test`.
    fn sample(test: Test) -> String {
        match test {
            Present => "1".to_string(),
            Equals(value) => value.to_string(),
            StartsWith(prefix) => format!("{prefix}2.0"),
            Contains(needle) => format!("{{{needle}: 1}}"),
            Infotext => "a cat\nSteps: 20, Sampler: Euler a, Seed: 7".to_string(),
            ComfyGraph { prefix } => format!(r#"{prefix}{{"1":{{"class_type":"KSampler"}}}}"#),
        }
    }

    #[test]
    fn every_rule_fires_on_a_fixture_built_from_it() {
        for rule in RULES {
            let value = sample(rule.test);
            let (format, image) = match rule.source {
                PngText(keyword) => {
                    let chunk = format!("{keyword}\0{value}").into_bytes();
                    (Format::Png, png_with(&[(b"tEXt", &chunk)]))
                }
                Exif(UserComment) => {
                    let comment = [b"ASCII\0\0\0".as_slice(), value.as_bytes()].concat();
                    (Format::Tiff, exif_block(&[], Some(&comment)))
                }
                Exif(tag) => {
                    let id = match tag {
                        DocumentName => 0x010D,
                        ImageDescription => 0x010E,
                        Make => 0x010F,
                        Model => 0x0110,
                        Software => 0x0131,
                        UserComment => unreachable!(),
                    };
                    let value = format!("{value}\0");
                    (Format::Tiff, exif_block(&[(id, value.as_bytes())], None))
                }
            };
            let found = tools(&detect(format, &image));
            assert!(
                found.contains(&rule.tool.to_string()),
                "{}: {found:?}",
                rule.tool
            );
        }
    }

    #[test]
    fn draw_things_parameters_in_xmp() {
        let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{&quot;c&quot;:&quot;a cat&quot;,&quot;sampler&quot;:&quot;DPM++ 2M Karras&quot;,&quot;steps&quot;:20,&quot;seed&quot;:1}</rdf:li></rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
        itxt.extend_from_slice(packet.as_bytes());
        let found = detect(Format::Png, &png_with(&[(b"iTXt", &itxt)]));
        assert_eq!(tools(&found), vec!["Draw Things"]);
        let note = packet.replace("sampler", "lens");
        let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
        itxt.extend_from_slice(note.as_bytes());
        assert!(detect(Format::Png, &png_with(&[(b"iTXt", &itxt)])).is_empty());
    }

    #[test]
    fn hostile_values_are_refused_quickly() {
        // Deeply nested JSON: serde_json's recursion limit refuses it, no stack overflow.
        let deep = format!("prompt\0{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(detect(Format::Png, &png_with(&[(b"tEXt", deep.as_bytes())])).is_empty());
        // A zTXt decompression bomb: 64 MiB of zeros in a few KiB; inflation stops at the cap.
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 64 << 20]).unwrap();
        let mut bomb = b"parameters\0\0".to_vec();
        bomb.extend(z.finish().unwrap());
        assert!(detect(Format::Png, &png_with(&[(b"zTXt", &bomb)])).is_empty());
        // A huge plain chunk of text that is not infotext.
        let big = format!("parameters\0{}", "x".repeat(8 << 20));
        assert!(detect(Format::Png, &png_with(&[(b"tEXt", big.as_bytes())])).is_empty());
    }

    #[test]
    fn traps_are_not_traces() {
        let mut screenshot = b"UNICODE\0".to_vec();
        screenshot.extend("Screenshot".encode_utf16().flat_map(|u| u.to_le_bytes()));
        let exif = exif_block(&[(0x0131, b"Adobe Photoshop 25.0\0")], Some(&screenshot));
        assert!(detect(Format::Tiff, &exif).is_empty());
        let camera = png_with(&[
            (b"tEXt", b"Software\0GIMP 2.10"),
            (b"tEXt", b"Comment\0Created with GIMP"),
        ]);
        assert!(detect(Format::Png, &camera).is_empty());
    }

    #[test]
    fn aigc_png_label() {
        let found = detect(
            Format::Png,
            &png_with(&[(
                b"tEXt",
                br#"AIGC{"Label":"1","ContentProducer":"liblibai.com"}"#,
            )]),
        );
        assert!(
            found.is_empty(),
            "keyword and value are separated by NUL in a real chunk"
        );
        let mut chunk = br#"AIGC {"Label":"1","ContentProducer":"liblibai.com"}"#.to_vec();
        chunk[4] = 0;
        let found = detect(Format::Png, &png_with(&[(b"tEXt", &chunk)]));
        assert_eq!(found[0].finding, Finding::AiDeclaration);
        assert_eq!(found[0].layer, Layer::GeneratorMetadata);
    }
}
