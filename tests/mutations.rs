//! Every metadata parser over mutated real files: the stable-toolchain cousin of the `cargo fuzz`
//! targets in `fuzz/` (which need nightly). Files made by Pillow, libjpeg and by hand (TIFF
//! directories, BMFF boxes) are corrupted where their structure lives (headers, lengths,
//! offsets, chunk and segment boundaries) with a fixed seed, and each variant goes through the
//! format checks, the XMP readers and the generator-metadata readers as every format in turn.
//! A panic fails the test and prints the seed and the mutation, so it can be replayed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use synthmark::{read_digital_source_type, Format};

/// A small deterministic generator (xorshift64*), so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One corruption of `file`, described for the failure message.
fn mutate(file: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut out = file.to_vec();
    // Structure lives near the start (headers, IFD0, the segments before the scan) and at
    // boundaries; aim most mutations at the first 4 KiB.
    let span = if rng.below(4) == 0 {
        out.len()
    } else {
        out.len().min(4096)
    };
    let at = rng.below(span);
    let what = match rng.below(6) {
        0 => {
            out.truncate(at);
            format!("truncated at {at}")
        }
        1 => {
            out[at] ^= 1 << rng.below(8);
            format!("bit flipped at {at}")
        }
        2 => {
            // A length or offset field made huge, zero or off by a little.
            let value: u32 = match rng.below(4) {
                0 => u32::MAX,
                1 => 0,
                2 => out.len() as u32 + rng.below(64) as u32,
                _ => rng.below(64) as u32,
            };
            let end = (at + 4).min(out.len());
            let bytes = if rng.below(2) == 0 {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            out[at..end].copy_from_slice(&bytes[..end - at]);
            format!("word {value:#x} written at {at}")
        }
        3 => {
            let len = rng.below(64).min(out.len() - at);
            let copy = out[at..at + len].to_vec();
            let to = rng.below(out.len());
            out.splice(to..to, copy);
            format!("{len} bytes from {at} duplicated at {to}")
        }
        4 => {
            let len = rng.below(256).min(out.len() - at);
            out.drain(at..at + len);
            format!("{len} bytes removed at {at}")
        }
        _ => {
            out[at] = 0xFF;
            format!("0xFF written at {at}")
        }
    };
    (out, what)
}

/// A little-endian TIFF with an EXIF-style IFD0 (text tags, an XMP packet, a pointer to a
/// second IFD) and a second IFD in the chain: offsets everywhere for the mutations to break.
fn tiff_with_directories() -> Vec<u8> {
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    let xmp = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;
    let software = b"ComfyUI\0";
    let ifd0_entries = 5u16;
    let ifd0_end = 8 + 2 + 12 * ifd0_entries as usize + 4;
    let software_at = ifd0_end as u32;
    let xmp_at = software_at + software.len() as u32;
    let ifd1_at = (xmp_at + xmp.len() as u32 + 1) & !1;
    let entries: [(u16, u16, u32, u32); 5] = [
        (256, 3, 1, 1),
        (257, 3, 1, 1),
        (305, 2, software.len() as u32, software_at),
        (700, 1, xmp.len() as u32, xmp_at),
        (0x8769, 4, 1, ifd1_at),
    ];
    out.extend_from_slice(&ifd0_entries.to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&ifd1_at.to_le_bytes()); // next IFD
    out.extend_from_slice(software);
    out.extend_from_slice(xmp);
    out.resize(ifd1_at as usize, 0);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0x9286u16.to_le_bytes());
    out.extend_from_slice(&7u16.to_le_bytes());
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&(ifd1_at + 18).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(b"ASCII\0\0\0Steps: 2");
    out
}

/// An AVIF-shaped file: `ftyp`, a `meta` box with a handler, an XMP item in `iinf` located by
/// `iloc` inside `idat`, and `mdat`.
fn bmff_with_xmp_item() -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }
    let packet = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;
    let mut infe = vec![2, 0, 0, 0, 0, 1, 0, 0];
    infe.extend_from_slice(b"mime");
    infe.extend_from_slice(b"\0application/rdf+xml\0");
    let mut iinf = vec![0, 0, 0, 0, 0, 1];
    iinf.extend(boxed(b"infe", &infe));
    // iloc version 1: offset, length and base-offset sizes 4, 4, 0; one item, method 1 (idat).
    let mut iloc = vec![1, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1];
    iloc.extend_from_slice(&0u32.to_be_bytes());
    iloc.extend_from_slice(&(packet.len() as u32).to_be_bytes());
    let mut meta = vec![0, 0, 0, 0];
    meta.extend(boxed(
        b"hdlr",
        b"\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0",
    ));
    meta.extend(boxed(b"iinf", &iinf));
    meta.extend(boxed(b"iloc", &iloc));
    meta.extend(boxed(b"idat", packet));
    let mut out = boxed(b"ftyp", b"avif\0\0\0\0avifmif1");
    out.extend(boxed(b"meta", &meta));
    out.extend(boxed(b"mdat", &[0; 32]));
    out
}

#[test]
fn metadata_parsers_survive_corrupted_real_files() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inputs");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "the input fixtures are missing");
    seeds.push(("tiff-with-directories".into(), tiff_with_directories()));
    seeds.push(("bmff-with-xmp-item".into(), bmff_with_xmp_item()));
    // The hand-made seeds parse, so the mutations start from files the readers understand.
    let ai = Some("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia");
    let (tiff, bmff) = (&seeds[seeds.len() - 2].1, &seeds[seeds.len() - 1].1);
    assert!(Format::identify(tiff).is_ok());
    assert_eq!(read_digital_source_type(Format::Tiff, tiff).as_deref(), ai);
    assert_eq!(Format::identify(bmff).ok(), Some(Format::Avif));
    assert_eq!(read_digital_source_type(Format::Avif, bmff).as_deref(), ai);

    let rounds: usize = std::env::var("SYNTHMARK_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let mut failures = Vec::new();
    for (index, (name, file)) in seeds.iter().enumerate() {
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1);
        let mut rng = Rng(seed);
        for round in 0..rounds {
            let (mutated, what) = mutate(file, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| synthmark::fuzzing::metadata(&mutated)));
            if outcome.is_err() {
                failures.push(format!("{name} (seed {seed:#x}, round {round}): {what}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "parsers panicked on:\n{}",
        failures.join("\n")
    );
}
