//! The frame: a baseline JPEG read down to its quantised coefficients, its luma plane, and the
//! file written again with a residual added to its luma.

use super::baseline::CoefficientError::{self, Corrupt, Unsupported};
use super::baseline::Component;
use super::entropy::{
    read_block, write_block, write_typical_tables, BitReader, BitWriter, DecodeTable, TypicalTables,
};
use super::header::Header;
use super::transform::{luma_plane, marked_luma};
use crate::container::jpeg;
use crate::limits::Limits;

/// A baseline JPEG read down to its coefficients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub width: usize,
    pub height: usize,
    components: Vec<Component>,
    mcus_x: usize,
    mcus_y: usize,
    /// The segments kept as they are, in order (each from its `0xFF` to its end).
    kept: Vec<&'a [u8]>,
}

impl<'a> Frame<'a> {
    /// Reads `bytes` down to its coefficients.
    pub fn read(bytes: &'a [u8], limits: &Limits) -> Result<Self, CoefficientError> {
        let Header {
            kept,
            quant,
            dc,
            ac,
            restart_interval,
            width,
            height,
            specs,
            scan: header,
            data_start,
        } = Header::parse(bytes)?;
        if (width * height) as u64 > limits.max_pixels {
            return Err(Unsupported("more pixels than the limits allow"));
        }
        // The scan: every component, in frame order, the whole spectrum in one pass.
        let count = usize::from(*header.first().unwrap_or(&0));
        let selectors = header
            .get(1..1 + 2 * count)
            .ok_or(Corrupt("the scan header is cut off"))?;
        let spectral = header.get(1 + 2 * count..4 + 2 * count);
        if count != specs.len()
            || spectral != Some(&[0, 63, 0][..])
            || !selectors
                .chunks_exact(2)
                .zip(&specs)
                .all(|(s, c)| s[0] == c.id)
        {
            return Err(Unsupported(
                "the scan does not hold every component at once",
            ));
        }
        let interleaved = specs.len() > 1;
        let (hmax, vmax) = if interleaved {
            (
                specs.iter().map(|s| s.h).max().unwrap_or(1),
                specs.iter().map(|s| s.v).max().unwrap_or(1),
            )
        } else {
            (1, 1)
        };
        if interleaved
            && (specs
                .iter()
                .any(|s| !(1..=2).contains(&s.h) || !(1..=2).contains(&s.v))
                || specs[0].h != hmax
                || specs[0].v != vmax)
        {
            return Err(Unsupported(
                "sampling factors beyond 2, or chroma sampled more densely than luma",
            ));
        }
        let (mcus_x, mcus_y) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
        let blocks: usize = if interleaved {
            specs.iter().map(|s| mcus_x * s.h * mcus_y * s.v).sum()
        } else {
            mcus_x * mcus_y
        };
        if (blocks as u64) * 128 > limits.max_decoded_bytes {
            return Err(Unsupported("more coefficients than the limits allow"));
        }
        let mut components = Vec::with_capacity(specs.len());
        // Each component's decoding tables, found once.
        let mut tables = Vec::with_capacity(specs.len());
        for (spec, selector) in specs.iter().zip(selectors.chunks_exact(2)) {
            let (h, v) = if interleaved {
                (spec.h, spec.v)
            } else {
                (1, 1)
            };
            let (dc_table, ac_table) =
                (usize::from(selector[1] >> 4), usize::from(selector[1] & 15));
            match (defined(&dc, dc_table), defined(&ac, ac_table)) {
                (Some(dc), Some(ac)) => tables.push((dc, ac)),
                _ => {
                    return Err(Corrupt(
                        "the scan names a Huffman table that is not defined",
                    ))
                }
            }
            components.push(Component {
                id: spec.id,
                h,
                v,
                quant: quant[spec.quant]
                    .ok_or(Corrupt("a component's quantisation table is missing"))?,
                blocks_w: mcus_x * h,
                blocks: vec![[0; 64]; mcus_x * h * mcus_y * v],
            });
        }
        let mut frame = Frame {
            width,
            height,
            components,
            mcus_x,
            mcus_y,
            kept,
        };
        let data = &bytes[data_start..];
        let mut reader = BitReader::new(data);
        let mut predictions = [0i32; 3];
        let mut restarts = 0u8;
        let mut mcu = 0;
        for place in frame.scan_order() {
            if place.mcu != mcu {
                mcu = place.mcu;
                if restart_interval > 0 && mcu % restart_interval == 0 {
                    reader.restart(0xD0 + restarts)?;
                    restarts = (restarts + 1) % 8;
                    predictions = [0; 3];
                }
            }
            let (dc, ac) = tables[place.component];
            read_block(
                &mut reader,
                dc,
                ac,
                &mut predictions[place.component],
                &mut frame.components[place.component].blocks[place.block],
            )?;
        }
        // The scan must be the file's only one: what follows is the end of the image.
        let rest = &data[reader.pos.min(data.len())..];
        let next_marker = rest
            .windows(2)
            .find(|w| w[0] == 0xFF && w[1] != 0 && !(0xD0..=0xD7).contains(&w[1]))
            .map(|w| w[1]);
        if next_marker != Some(jpeg::EOI) {
            return Err(Unsupported("more than one scan"));
        }
        Ok(frame)
    }

    /// The luma plane (the first component), `width × height` samples on the 0–255 scale, as a
    /// decoder's inverse DCT gives it before any colour conversion (unrounded, clamped).
    pub fn luma(&self) -> Vec<f32> {
        luma_plane(&self.components[0], self.width, self.height)
    }

    /// The file again with `residual × gain` (`width × height` luma steps) added to its luma:
    /// each luma block's coefficients move by the residual's DCT, quantised on the block's own
    /// grid; every other coefficient is written as it was read.
    pub fn write_with_luma(&self, residual: &[f32], gain: f32) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.kept.iter().map(|s| s.len()).sum::<usize>() + 4096);
        out.extend_from_slice(&[0xFF, 0xD8]);
        for segment in &self.kept {
            out.extend_from_slice(segment);
        }
        write_typical_tables(&mut out, self.components.len() > 1);
        // The scan header: each component with its tables (luma 0, chroma 1), the whole spectrum.
        let count = self.components.len() as u8;
        out.extend_from_slice(&[0xFF, jpeg::SOS, 0, 6 + 2 * count, count]);
        for (c, component) in self.components.iter().enumerate() {
            out.extend_from_slice(&[component.id, if c == 0 { 0x00 } else { 0x11 }]);
        }
        out.extend_from_slice(&[0, 63, 0]);
        let tables = [TypicalTables::luma(), TypicalTables::chroma()];
        let luma = marked_luma(&self.components[0], self.width, self.height, residual, gain);
        let mut writer = BitWriter::new(out);
        let mut predictions = [0i32; 3];
        for place in self.scan_order() {
            let c = place.component;
            let blocks = if c == 0 {
                &luma
            } else {
                &self.components[c].blocks
            };
            let table = &tables[usize::from(c > 0)];
            write_block(
                &mut writer,
                table,
                &mut predictions[c],
                &blocks[place.block],
            );
        }
        let mut out = writer.finish();
        out.extend_from_slice(&[0xFF, jpeg::EOI]);
        out
    }
}

impl Frame<'_> {
    /// The blocks in the order the scan codes them: MCU by MCU, each component's `h × v`
    /// blocks in turn (one block per MCU in a one-component scan). The iterator holds a copy of
    /// the layout, not the frame, so the blocks can be filled while it runs.
    fn scan_order(&self) -> impl Iterator<Item = ScanPlace> {
        let mut layout = [(0, 0, 0); 3];
        for (slot, c) in layout.iter_mut().zip(&self.components) {
            *slot = (c.h, c.v, c.blocks_w);
        }
        let (count, mcus_x) = (self.components.len(), self.mcus_x);
        (0..self.mcus_x * self.mcus_y).flat_map(move |mcu| {
            let (mx, my) = (mcu % mcus_x, mcu / mcus_x);
            (0..count).flat_map(move |component| {
                let (h, v, blocks_w) = layout[component];
                (0..v * h).map(move |i| ScanPlace {
                    mcu,
                    component,
                    block: (my * v + i / h) * blocks_w + mx * h + i % h,
                })
            })
        })
    }
}

/// A block's place in the scan: its MCU, its component and its index among that component's
/// blocks.
#[derive(Debug, Clone, Copy)]
struct ScanPlace {
    mcu: usize,
    component: usize,
    block: usize,
}

/// The table numbered `at`, if the file defined it.
fn defined(tables: &[Option<DecodeTable>; 4], at: usize) -> Option<&DecodeTable> {
    tables.get(at).and_then(Option::as_ref)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::pixels;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/inputs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect(name)
    }

    fn decoded(bytes: &[u8]) -> image::RgbImage {
        pixels::decode(Format::Jpeg, bytes, &Limits::default())
            .expect("decodes")
            .into_rgb8()
    }

    /// Baseline files from Pillow (libjpeg) and cjpeg: 4:2:0, an odd size, 4:2:2, 4:4:4, grey
    /// and restart markers.
    const BASELINE: [&str; 7] = [
        "pillow-420-q95.jpg",
        "pillow-420-odd-size.jpg",
        "pillow-422-q90.jpg",
        "pillow-444-q95.jpg",
        "pillow-gray.jpg",
        "cjpeg-420-restart.jpg",
        "cjpeg-422.jpg",
    ];

    #[test]
    fn a_rewrite_without_a_residual_decodes_to_the_very_same_pixels() {
        for name in BASELINE {
            let input = fixture(name);
            let frame = Frame::read(&input, &Limits::default()).expect(name);
            let residual = vec![0.0; frame.width * frame.height];
            let output = frame.write_with_luma(&residual, 1.0);
            assert_eq!(decoded(&output), decoded(&input), "{name}");
            // The metadata and the quantisation tables are the input's, byte for byte.
            for segment in jpeg::segments(&input).map_while(Result::ok) {
                if matches!(segment.marker, 0xDB | 0xE0..=0xEA | 0xEC..=0xEF | 0xFE) {
                    let bytes = &input[segment.start..segment.end];
                    assert!(output.windows(bytes.len()).any(|w| w == bytes), "{name}");
                }
            }
        }
    }

    #[test]
    fn the_luma_plane_is_the_decoders() {
        for name in BASELINE {
            let input = fixture(name);
            let frame = Frame::read(&input, &Limits::default()).expect(name);
            let luma = frame.luma();
            let rgb = decoded(&input);
            // The decoder rounds, converts to RGB and clamps; a plane of the same pixels.
            let worst = rgb
                .pixels()
                .zip(&luma)
                .map(|(p, &y)| {
                    let [r, g, b] = p.0.map(f32::from);
                    (0.299 * r + 0.587 * g + 0.114 * b - y).abs()
                })
                .fold(0.0f32, f32::max);
            assert!(worst < 3.0, "{name}: {worst}");
        }
    }

    #[test]
    fn a_residual_lands_in_luma_and_leaves_chroma_alone() {
        let input = fixture("pillow-444-q95.jpg");
        let frame = Frame::read(&input, &Limits::default()).unwrap();
        // +6 luma steps on the left half, −6 on the right.
        let residual: Vec<f32> = (0..frame.width * frame.height)
            .map(|i| {
                if i % frame.width < frame.width / 2 {
                    6.0
                } else {
                    -6.0
                }
            })
            .collect();
        let output = frame.write_with_luma(&residual, 1.0);
        let (before, after) = (decoded(&input), decoded(&output));
        let mean_change = |x0: u32, x1: u32| {
            let mut sum = 0.0f64;
            let mut count = 0.0;
            for y in 0..before.height() {
                for x in x0..x1 {
                    let luma = |p: &image::Rgb<u8>| {
                        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
                    };
                    sum += luma(after.get_pixel(x, y)) - luma(before.get_pixel(x, y));
                    count += 1.0;
                }
            }
            sum / count
        };
        let w = before.width();
        // Away from the step and the clamped extremes, the mean moves by the residual.
        assert!((mean_change(8, w / 2 - 16) - 6.0).abs() < 1.0);
        assert!((mean_change(w / 2 + 16, w - 8) + 6.0).abs() < 1.0);
        // Chroma coefficients are untouched: the rewrite differs from the input only in luma.
        let chroma_before = Frame::read(&input, &Limits::default()).unwrap().components;
        let chroma_after = Frame::read(&output, &Limits::default()).unwrap().components;
        assert_eq!(chroma_before[1].blocks, chroma_after[1].blocks);
        assert_eq!(chroma_before[2].blocks, chroma_after[2].blocks);
        assert_ne!(chroma_before[0].blocks, chroma_after[0].blocks);
    }

    #[test]
    fn progressive_and_one_component_per_scan_files_are_left_to_the_pixel_path() {
        for name in [
            "pillow-420-progressive.jpg",
            "cjpeg-420-progressive.jpg",
            "cjpeg-420-non-interleaved.jpg",
        ] {
            assert!(
                matches!(
                    Frame::read(&fixture(name), &Limits::default()),
                    Err(Unsupported(_))
                ),
                "{name}"
            );
        }
        // And the pixel limits hold before any block is allocated.
        let limits = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        assert!(matches!(
            Frame::read(&fixture("pillow-420-q95.jpg"), &limits),
            Err(Unsupported(_))
        ));
    }

    #[test]
    fn damaged_data_is_an_error_never_a_panic() {
        for name in BASELINE {
            let input = fixture(name);
            let scan = jpeg::segments(&input)
                .map_while(Result::ok)
                .find(|s| s.marker == jpeg::SOS)
                .unwrap()
                .end;
            // Cut anywhere in the headers or the image data.
            for cut in (0..input.len()).step_by(97) {
                let result = Frame::read(&input[..cut], &Limits::default());
                assert!(result.is_err(), "{name} cut at {cut} read as whole");
            }
            // Bytes changed in the headers (tables, frame and scan headers) or in the image
            // data: an error, or a frame whose rewrite reads back as the same frame and whose
            // marked rewrite decodes (the fuzz target's checks, which panic otherwise).
            crate::fuzzing::jpeg_coefficients(&input);
            let mut state = 0x2545_f491_4f6c_dd1du64;
            for trial in 0..400 {
                let mut damaged = input.clone();
                let (from, to) = if trial % 2 == 0 {
                    (2, scan)
                } else {
                    (scan, input.len() - 2)
                };
                for _ in 0..3 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let at = from + (state as usize) % (to - from);
                    damaged[at] = (state >> 32) as u8;
                }
                crate::fuzzing::jpeg_coefficients(&damaged);
            }
        }
    }

    /// Inputs the `coefficients` fuzz target failed on (`tests/fixtures/fuzz-coefficients`), each
    /// through the target's checks again.
    #[test]
    fn what_the_fuzzer_found_stays_fixed() {
        let folder = format!(
            "{}/tests/fixtures/fuzz-coefficients",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut seen = 0;
        for entry in std::fs::read_dir(&folder).expect(&folder) {
            let path = entry.unwrap().path();
            crate::fuzzing::jpeg_coefficients(&std::fs::read(&path).unwrap());
            seen += 1;
        }
        assert!(seen > 0, "no files in {folder}");
    }
}
