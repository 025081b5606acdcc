//! A JPEG's layout read from its markers, without decoding: whether it is sequential or
//! progressive and whether its first scan interleaves every component.
//!
//! It matters because `image`'s JPEG decoder (zune-jpeg 0.5) misplaces the subsampled chroma of
//! a *sequential* file written one component per scan (legal, and what `jpeg-encoder` writes
//! with optimised Huffman tables and libjpeg with a scan script): a 4:2:0 picture decodes at
//! about 6 dB PSNR, and a watermark checked in it is not found. [`crate::pixels`] sends such
//! files to `jpeg-decoder` instead.

use crate::container::jpeg;

/// What the frame header and the first scan header say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub progressive: bool,
    /// Components in the frame.
    pub components: u8,
    /// Components in the first scan.
    pub first_scan_components: u8,
}

impl Layout {
    /// A sequential (baseline or extended) file whose first scan does not hold every component.
    pub fn is_sequential_non_interleaved(&self) -> bool {
        !self.progressive && self.components > 1 && self.first_scan_components < self.components
    }
}

/// The layout, or `None` when the markers up to the first scan do not parse.
pub fn read(bytes: &[u8]) -> Option<Layout> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut frame: Option<(bool, u8)> = None;
    for segment in jpeg::segments(bytes) {
        let segment = segment.ok()?;
        let (marker, body) = (segment.marker, segment.data);
        match marker {
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                frame = Some((progressive, *body.get(5)?));
            }
            0xDA => {
                let (progressive, components) = frame?;
                return Some(Layout {
                    progressive,
                    components,
                    first_scan_components: *body.first()?,
                });
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, a SOF of `sof` with `n` components, and a SOS listing `in_scan` of them.
    fn jpeg(sof: u8, n: u8, in_scan: u8) -> Vec<u8> {
        let mut frame = vec![8, 0, 16, 0, 16, n];
        for c in 1..=n {
            frame.extend([c, if c == 1 { 0x22 } else { 0x11 }, u8::from(c > 1)]);
        }
        let mut scan = vec![in_scan];
        for c in 1..=in_scan {
            scan.extend([c, 0x00]);
        }
        scan.extend([0, 63, 0]);
        let mut out = vec![0xFF, 0xD8];
        for (marker, data) in [(0xE0, &[0u8, 0][..]), (sof, &frame), (jpeg::SOS, &scan)] {
            out.extend(jpeg::segment(marker, data).unwrap());
        }
        out
    }

    #[test]
    fn tells_interleaved_from_one_component_per_scan() {
        let interleaved = read(&jpeg(0xC0, 3, 3)).unwrap();
        assert!(!interleaved.is_sequential_non_interleaved());
        let separate = read(&jpeg(0xC0, 3, 1)).unwrap();
        assert!(separate.is_sequential_non_interleaved());
        assert_eq!(separate.first_scan_components, 1);
        // Progressive files always have per-component AC scans: not this case.
        assert!(!read(&jpeg(0xC2, 3, 1))
            .unwrap()
            .is_sequential_non_interleaved());
        // Greyscale has nothing to interleave.
        assert!(!read(&jpeg(0xC0, 1, 1))
            .unwrap()
            .is_sequential_non_interleaved());
        assert_eq!(read(b"\xFF\xD8\xFF\xDA"), None);
        assert_eq!(read(&jpeg(0xC0, 3, 3)[..20]), None);
    }
}
