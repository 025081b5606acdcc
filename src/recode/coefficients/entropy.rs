//! The entropy coding of a baseline scan (ITU T.81 Annex F and C): Huffman tables read from the
//! file for decoding, the typical tables of Annex K for writing, the bit reader and writer with
//! byte stuffing, and one block's coefficients each way.

use super::baseline::CoefficientError::{self, Corrupt, Unsupported};
use super::baseline::{DC_RANGE, ZIGZAG};

/// A decoding table (ITU T.81 F.2.2.3) with a 9-bit lookup for the short codes.
#[derive(Debug, Clone)]
pub(super) struct DecodeTable {
    /// `len << 8 | value` for the codes of at most [`LOOKUP_BITS`] bits, 0 elsewhere.
    lookup: Vec<u16>,
    maxcode: [i32; 17],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

const LOOKUP_BITS: u32 = 9;

impl DecodeTable {
    pub(super) fn new(bits: &[u8; 16], values: &[u8]) -> Result<Self, CoefficientError> {
        let mut table = DecodeTable {
            lookup: vec![0; 1 << LOOKUP_BITS],
            maxcode: [-1; 17],
            valptr: [0; 17],
            mincode: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut k) = (0i32, 0usize);
        for length in 1..=16usize {
            let count = usize::from(bits[length - 1]);
            if count > 0 {
                table.valptr[length] = k as i32;
                table.mincode[length] = code;
                for _ in 0..count {
                    if code >= 1 << length {
                        return Err(Corrupt("a Huffman table has more codes than fit"));
                    }
                    if length as u32 <= LOOKUP_BITS {
                        let shift = LOOKUP_BITS - length as u32;
                        let first = (code as usize) << shift;
                        let entry = (length as u16) << 8 | u16::from(values[k]);
                        table.lookup[first..first + (1 << shift)].fill(entry);
                    }
                    code += 1;
                    k += 1;
                }
                table.maxcode[length] = code - 1;
            }
            code <<= 1;
        }
        Ok(table)
    }
}

/// Reads entropy-coded bits: byte stuffing removed, stopping at a marker; past it (or past the
/// end) zero bits are supplied and counted, so reading into them is caught.
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    pub(super) pos: usize,
    acc: u64,
    count: u32,
    /// Zero bits supplied past the data, at the low end of `acc`.
    padding: u32,
    /// The marker the data stopped at (0 for the end of the file).
    marker: Option<u8>,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            count: 0,
            padding: 0,
            marker: None,
        }
    }

    #[inline]
    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = if self.marker.is_some() {
                self.padding += 8;
                0
            } else {
                match self.data.get(self.pos) {
                    None => {
                        self.marker = Some(0);
                        self.padding += 8;
                        0
                    }
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(0) => {
                            self.pos += 2;
                            0xFF
                        }
                        next => {
                            self.marker = Some(next.copied().unwrap_or(0));
                            self.padding += 8;
                            0
                        }
                    },
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn consume(&mut self, n: u32) -> Result<(), CoefficientError> {
        if self.count < n || self.count - n < self.padding {
            return Err(Corrupt("the image data ends early"));
        }
        self.acc <<= n;
        self.count -= n;
        Ok(())
    }

    #[inline]
    fn bits(&mut self, n: u32) -> Result<u32, CoefficientError> {
        if n == 0 {
            return Ok(0);
        }
        self.fill();
        let value = (self.acc >> (64 - n)) as u32;
        self.consume(n)?;
        Ok(value)
    }

    #[inline]
    fn decode(&mut self, table: &DecodeTable) -> Result<u8, CoefficientError> {
        self.fill();
        let entry = table.lookup[(self.acc >> (64 - LOOKUP_BITS)) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8))?;
            return Ok(entry as u8);
        }
        for length in LOOKUP_BITS as usize + 1..=16 {
            let code = (self.acc >> (64 - length)) as i32;
            if code <= table.maxcode[length] {
                self.consume(length as u32)?;
                let at = table.valptr[length] + code - table.mincode[length];
                return table
                    .values
                    .get(at as usize)
                    .copied()
                    .ok_or(Corrupt("a Huffman code has no value"));
            }
        }
        Err(Corrupt("an invalid Huffman code"))
    }

    /// A coefficient of `size` bits (T.81 F.2.2.1, EXTEND).
    #[inline]
    fn value(&mut self, size: u32) -> Result<i32, CoefficientError> {
        let bits = self.bits(size)? as i32;
        Ok(if size > 0 && bits < 1 << (size - 1) {
            bits - (1 << size) + 1
        } else {
            bits
        })
    }

    /// Moves past the restart marker `expected` (RST0–RST7), dropping the byte's fill bits.
    pub(super) fn restart(&mut self, expected: u8) -> Result<(), CoefficientError> {
        if self.marker.is_none() {
            // The reader stops at a marker as soon as it sees one; fill until it does.
            self.fill();
        }
        if self.marker != Some(expected) || self.count - self.padding >= 8 {
            return Err(Corrupt("a restart marker is missing or out of place"));
        }
        self.pos += 2;
        self.acc = 0;
        self.count = 0;
        self.padding = 0;
        self.marker = None;
        Ok(())
    }
}

/// Reads one block's coefficients (coded in zig-zag order) into `block`, in natural order.
#[inline]
pub(super) fn read_block(
    reader: &mut BitReader,
    dc: &DecodeTable,
    ac: &DecodeTable,
    prediction: &mut i32,
    block: &mut [i16; 64],
) -> Result<(), CoefficientError> {
    let size = u32::from(reader.decode(dc)?);
    if size > 11 {
        return Err(Unsupported("a DC difference beyond 8-bit baseline"));
    }
    *prediction += reader.value(size)?;
    if !(DC_RANGE.0..=DC_RANGE.1).contains(prediction) {
        return Err(Unsupported("a DC value beyond 8-bit baseline"));
    }
    block[0] = *prediction as i16;
    let mut k = 1;
    while k < 64 {
        let symbol = reader.decode(ac)?;
        let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
        if size == 0 {
            if run == 15 {
                k += 16;
                continue;
            }
            break;
        }
        k += run;
        if k > 63 {
            return Err(Corrupt("a block has more than 64 coefficients"));
        }
        if size > 10 {
            return Err(Unsupported("an AC coefficient beyond 8-bit baseline"));
        }
        block[ZIGZAG[k]] = reader.value(size)? as i16;
        k += 1;
    }
    if k > 64 {
        return Err(Corrupt("a block has more than 64 coefficients"));
    }
    Ok(())
}

/// The typical Huffman tables of T.81 Annex K.3 (code lengths, then values).
const LUMA_DC: ([u8; 16], &[u8]) = (
    [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const CHROMA_DC: ([u8; 16], &[u8]) = (
    [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const LUMA_AC: ([u8; 16], &[u8]) = (
    [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D],
    &[
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52,
        0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6,
        0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3,
        0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8,
        0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
    ],
);
const CHROMA_AC: ([u8; 16], &[u8]) = (
    [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    &[
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33,
        0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18,
        0x19, 0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4,
        0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA,
        0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7,
        0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
    ],
);

/// Writes the DHT segment of the typical tables: luma as tables 0, chroma (when there is any)
/// as tables 1.
pub(super) fn write_typical_tables(out: &mut Vec<u8>, chroma: bool) {
    let mut tables = vec![(0x00, LUMA_DC), (0x10, LUMA_AC)];
    if chroma {
        tables.extend([(0x01, CHROMA_DC), (0x11, CHROMA_AC)]);
    }
    let length: usize = 2 + tables.iter().map(|(_, (_, v))| 17 + v.len()).sum::<usize>();
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    for (class_id, (bits, values)) in tables {
        out.push(class_id);
        out.extend_from_slice(&bits);
        out.extend_from_slice(values);
    }
}

/// Codes and lengths per symbol for one DC and one AC table.
pub(super) struct TypicalTables {
    dc: [(u16, u8); 256],
    ac: [(u16, u8); 256],
}

impl TypicalTables {
    pub(super) fn luma() -> Self {
        TypicalTables {
            dc: codes(LUMA_DC),
            ac: codes(LUMA_AC),
        }
    }

    pub(super) fn chroma() -> Self {
        TypicalTables {
            dc: codes(CHROMA_DC),
            ac: codes(CHROMA_AC),
        }
    }
}

/// The canonical code of each symbol of a table (T.81 C.2).
fn codes((bits, values): ([u8; 16], &[u8])) -> [(u16, u8); 256] {
    let mut table = [(0u16, 0u8); 256];
    let (mut code, mut k) = (0u16, 0usize);
    for (length, &count) in (1u8..).zip(&bits) {
        for _ in 0..count {
            table[usize::from(values[k])] = (code, length);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    table
}

/// Writes entropy-coded bits with byte stuffing, 32 bits at a time.
pub(super) struct BitWriter {
    out: Vec<u8>,
    /// The pending bits are the low `count` bits.
    acc: u64,
    count: u32,
}

impl BitWriter {
    pub(super) fn new(out: Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            count: 0,
        }
    }

    /// Appends the low `length` bits of `code` (at most 16; the bits above must be 0).
    #[inline(always)]
    fn put(&mut self, code: u32, length: u32) {
        self.acc = (self.acc << length) | u64::from(code);
        self.count += length;
        if self.count >= 32 {
            self.count -= 32;
            let word = (self.acc >> self.count) as u32;
            // A byte 0xFF is followed by a stuffed 0; most words have none.
            let has_ff = (!word).wrapping_sub(0x0101_0101) & word & 0x8080_8080 != 0;
            if has_ff {
                for byte in word.to_be_bytes() {
                    self.out.push(byte);
                    if byte == 0xFF {
                        self.out.push(0);
                    }
                }
            } else {
                self.out.extend_from_slice(&word.to_be_bytes());
            }
        }
    }

    /// The bytes, the last one padded with one bits.
    pub(super) fn finish(mut self) -> Vec<u8> {
        let fill = (8 - self.count % 8) % 8;
        self.acc = (self.acc << fill) | ((1 << fill) - 1);
        self.count += fill;
        while self.count > 0 {
            self.count -= 8;
            let byte = (self.acc >> self.count) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

/// Bits of a coefficient's magnitude (its category).
#[inline]
fn category(value: i32) -> u32 {
    32 - value.unsigned_abs().leading_zeros()
}

#[inline(always)]
fn write_value(writer: &mut BitWriter, value: i32, size: u32) {
    if size > 0 {
        let bits = if value < 0 { value - 1 } else { value };
        writer.put(bits as u32 & ((1 << size) - 1), size);
    }
}

pub(super) fn write_block(
    writer: &mut BitWriter,
    tables: &TypicalTables,
    prediction: &mut i32,
    block: &[i16; 64],
) {
    let block: [i16; 64] = std::array::from_fn(|k| block[ZIGZAG[k]]);
    let dc = i32::from(block[0]);
    let difference = dc - *prediction;
    *prediction = dc;
    let size = category(difference);
    let (code, length) = tables.dc[size as usize];
    writer.put(u32::from(code), u32::from(length));
    write_value(writer, difference, size);
    // The non-zero AC coefficients as bits of a word, visited lowest first: the runs of zeros
    // between them are the gaps.
    let mut nonzero = 0u64;
    for (k, &value) in block.iter().enumerate().skip(1) {
        nonzero |= u64::from(value != 0) << k;
    }
    let mut last = 0u32;
    while nonzero != 0 {
        let k = nonzero.trailing_zeros();
        nonzero &= nonzero - 1;
        let mut run = k - last - 1;
        while run > 15 {
            let (code, length) = tables.ac[0xF0];
            writer.put(u32::from(code), u32::from(length));
            run -= 16;
        }
        let value = i32::from(block[k as usize]);
        let size = category(value);
        let (code, length) = tables.ac[((run << 4) | size) as usize];
        writer.put(u32::from(code), u32::from(length));
        write_value(writer, value, size);
        last = k;
    }
    if last != 63 {
        let (code, length) = tables.ac[0x00];
        writer.put(u32::from(code), u32::from(length));
    }
}
