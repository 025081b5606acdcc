//! PDQ against Meta's reference implementation: hashes, quality scores and dihedral variants
//! computed by the reference C++ (through the `pdqhash` Python binding, see
//! scripts/make-pdq-fixtures.py) for the project's own images.

use std::path::Path;

use synthmark::fingerprint::{pdq_dihedral, PdqHash};

#[test]
fn pdq_matches_the_reference_implementation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = std::fs::read_to_string(root.join("tests/fixtures/pdq/expected.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (file, quality) = (fields[0], fields[1].parse::<u8>().unwrap());
        let reference: Vec<PdqHash> = fields[2..]
            .iter()
            .map(|h| PdqHash::from_hex(h).unwrap())
            .collect();
        assert_eq!(reference.len(), 8, "{file}");
        let image = image::open(root.join(file)).unwrap().to_rgb8();
        let (w, h) = (image.width() as usize, image.height() as usize);
        let ours = pdq_dihedral(image.as_raw(), w, h, 3).unwrap();
        let ours_all: Vec<PdqHash> = std::iter::once(ours.original.hash)
            .chain(ours.variants)
            .collect();
        // A JPEG decodes to slightly different pixels in libjpeg (the reference's Pillow) and
        // zune-jpeg (the image crate): allow a few bits there, nothing for lossless files.
        let lossy = file.ends_with(".jpg");
        let allowed = if lossy { 6 } else { 0 };
        for (variant, (a, b)) in ours_all.iter().zip(&reference).enumerate() {
            let distance = a.distance(b);
            assert!(
                distance <= allowed,
                "{file} variant {variant}: ours {a} reference {b} ({distance} bits apart)"
            );
        }
        let quality_slack = if lossy { 1 } else { 0 };
        assert!(
            ours.original.quality.abs_diff(quality) <= quality_slack,
            "{file}: quality {} vs reference {quality}",
            ours.original.quality
        );
        checked += 1;
    }
    assert_eq!(checked, 7);
}
