//! The segments before the scan: what a baseline frame needs to be decoded (its size and
//! components, quantisation and Huffman tables, restart interval, the scan header) and which
//! segments the rewrite keeps as they are.

use super::baseline::CoefficientError::{self, Corrupt, Unsupported};
use super::baseline::ZIGZAG;
use super::entropy::DecodeTable;
use crate::container::jpeg;

/// A component as the frame header gives it.
pub(super) struct Spec {
    pub(super) id: u8,
    pub(super) h: usize,
    pub(super) v: usize,
    /// Its quantisation table's number.
    pub(super) quant: usize,
}

impl Spec {
    /// A component's three bytes in the frame header: id, sampling factors, table number.
    /// Decoders refuse what T.81 does not allow (a table number beyond 3, a sampling factor
    /// outside 1–4) rather than read it some other way; so does this path, even where it would
    /// not use the value (a one-component frame's sampling factors).
    fn parse(bytes: &[u8]) -> Result<Spec, CoefficientError> {
        let (h, v) = (bytes[1] >> 4, bytes[1] & 15);
        if bytes[2] > 3 {
            Err(Corrupt("a component names a quantisation table beyond 3"))
        } else if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            Err(Corrupt("a sampling factor outside 1-4"))
        } else if h == 3 || v == 3 {
            // T.81 allows it; zune-jpeg, which reads the stamped file back (and every file
            // `check` sees), does not.
            Err(Unsupported("a sampling factor of 3"))
        } else {
            Ok(Spec {
                id: bytes[0],
                h: usize::from(h),
                v: usize::from(v),
                quant: usize::from(bytes[2]),
            })
        }
    }
}

/// What the segments up to the start of scan say.
pub(super) struct Header<'a> {
    /// The segments kept as they are, in order (each from its `0xFF` to its end).
    pub(super) kept: Vec<&'a [u8]>,
    /// Quantisation tables by number, natural order.
    pub(super) quant: [Option<[u16; 64]>; 4],
    pub(super) dc: [Option<DecodeTable>; 4],
    pub(super) ac: [Option<DecodeTable>; 4],
    pub(super) restart_interval: usize,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) specs: Vec<Spec>,
    /// The scan header's body, and where the entropy-coded data after it starts.
    pub(super) scan: &'a [u8],
    pub(super) data_start: usize,
}

impl<'a> Header<'a> {
    /// Parses the segments of `bytes` through the first start of scan.
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, CoefficientError> {
        let mut kept = Vec::new();
        let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
        let mut dc: [Option<DecodeTable>; 4] = [None, None, None, None];
        let mut ac: [Option<DecodeTable>; 4] = [None, None, None, None];
        let mut restart_interval = 0usize;
        let mut frame: Option<(usize, usize, Vec<Spec>)> = None;
        let mut adobe_rgb = false;
        let mut scan = None;
        for segment in jpeg::segments(bytes) {
            let segment = segment.map_err(|_| Corrupt("the markers before the image data"))?;
            let (marker, body) = (segment.marker, segment.data);
            let whole = &bytes[segment.start..segment.end];
            match marker {
                0xC0 | 0xC1 => {
                    if frame.is_some() {
                        return Err(Unsupported("more than one frame"));
                    }
                    if body.first() != Some(&8) {
                        return Err(Unsupported("not 8-bit samples"));
                    }
                    let word = |at: usize| {
                        body.get(at..at + 2)
                            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    };
                    let (height, width) = (word(1), word(3));
                    let count = usize::from(*body.get(5).unwrap_or(&0));
                    let (Some(height), Some(width)) = (height, width) else {
                        return Err(Corrupt("the frame header is cut off"));
                    };
                    if height == 0 || width == 0 {
                        return Err(Unsupported("the height is given after the scan (DNL)"));
                    }
                    if count != 1 && count != 3 {
                        return Err(Unsupported("neither one nor three components"));
                    }
                    let specs = body
                        .get(6..6 + 3 * count)
                        .ok_or(Corrupt("the frame header is cut off"))?;
                    let components = specs
                        .chunks_exact(3)
                        .map(Spec::parse)
                        .collect::<Result<_, _>>()?;
                    frame = Some((width, height, components));
                    kept.push(whole);
                }
                0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                    return Err(Unsupported("progressive, lossless or arithmetic-coded"))
                }
                0xDB => {
                    let mut at = 0;
                    while at < body.len() {
                        let (precision, id) = (body[at] >> 4, usize::from(body[at] & 15));
                        if id > 3 {
                            return Err(Corrupt("a quantisation table numbered beyond 3"));
                        }
                        if precision != 0 {
                            return Err(Unsupported("16-bit quantisation tables"));
                        }
                        let values = body
                            .get(at + 1..at + 65)
                            .ok_or(Corrupt("a quantisation table is cut off"))?;
                        let mut table = [0u16; 64];
                        for (&position, &v) in ZIGZAG.iter().zip(values) {
                            table[position] = u16::from(v);
                        }
                        if table.contains(&0) {
                            return Err(Corrupt("a quantisation table holds a zero"));
                        }
                        quant[id] = Some(table);
                        at += 65;
                    }
                    kept.push(whole);
                }
                0xC4 => {
                    let mut at = 0;
                    while at < body.len() {
                        let (class, id) = (body[at] >> 4, usize::from(body[at] & 15));
                        if id > 3 {
                            return Err(Corrupt("a Huffman table numbered beyond 3"));
                        }
                        let bits: [u8; 16] = body
                            .get(at + 1..at + 17)
                            .and_then(|b| b.try_into().ok())
                            .ok_or(Corrupt("a Huffman table is cut off"))?;
                        let total: usize = bits.iter().map(|&b| usize::from(b)).sum();
                        let values = body
                            .get(at + 17..at + 17 + total)
                            .ok_or(Corrupt("a Huffman table is cut off"))?;
                        let table = DecodeTable::new(&bits, values)?;
                        match class {
                            0 => dc[id] = Some(table),
                            1 => ac[id] = Some(table),
                            _ => return Err(Corrupt("a Huffman table of no class")),
                        }
                        at += 17 + total;
                    }
                }
                0xDD => {
                    restart_interval = body
                        .get(..2)
                        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                        .ok_or(Corrupt("the restart interval is cut off"))?;
                }
                0xEE => {
                    // Adobe's transform flag 0 on three components: the samples are RGB.
                    if body.starts_with(b"Adobe") && body.get(11) == Some(&0) {
                        adobe_rgb = true;
                    }
                    kept.push(whole);
                }
                // The old C2PA store, the index of images after the end (see there).
                0xE0..=0xEF if jpeg::dropped_on_rewrite(marker, body) => {}
                0xE0..=0xEF | 0xFE => kept.push(whole),
                jpeg::SOS => {
                    scan = Some((body, segment.end));
                    break;
                }
                _ => return Err(Unsupported("a segment this path does not rewrite")),
            }
        }
        let (width, height, specs) = frame.ok_or(Corrupt("no frame header"))?;
        let (scan, data_start) = scan.ok_or(Corrupt("no image data"))?;
        if specs.len() == 3 && (adobe_rgb || specs.iter().map(|s| s.id).eq(*b"RGB")) {
            return Err(Unsupported("RGB samples, not YCbCr"));
        }
        Ok(Header {
            kept,
            quant,
            dc,
            ac,
            restart_interval,
            width,
            height,
            specs,
            scan,
            data_start,
        })
    }
}
