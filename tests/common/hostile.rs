//! Hostile files, built byte by byte: compression bombs, images whose header promises more
//! pixels than anyone should decode, containers that loop or hold junk, and images that are
//! structurally complete but do not decode. `scripts/hostile.sh` builds the full-size versions
//! of the same cases (with Python) and measures memory and time against a release build.

use std::io::Write;

/// A PNG chunk with a correct CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());
    chunk
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn ihdr(width: u32, height: u32, depth: u8, colour: u8) -> Vec<u8> {
    let mut data = width.to_be_bytes().to_vec();
    data.extend_from_slice(&height.to_be_bytes());
    data.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png_chunk(b"IHDR", &data)
}

/// A valid 1×1 grey PNG carrying `chunks` text chunks that each inflate to `inflated` bytes of
/// 0xFF (which doubles when Latin-1 becomes UTF-8): `itxt` chooses compressed iTXt over zTXt.
pub fn text_bomb(chunks: usize, inflated: usize, itxt: bool) -> Vec<u8> {
    let stream = zlib(&vec![0xFF; inflated]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(1, 1, 8, 0));
    for i in 0..chunks {
        let mut data = format!("bomb{i}\0").into_bytes();
        if itxt {
            data.extend_from_slice(&[1, 0, 0, 0]); // compressed, method, no language, no name
        } else {
            data.push(0); // compression method
        }
        data.extend_from_slice(&stream);
        png.extend(png_chunk(if itxt { b"iTXt" } else { b"zTXt" }, &data));
    }
    png.extend(png_chunk(b"IDAT", &zlib(&[0, 0])));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A PNG whose header says `width`×`height` (8-bit RGB, or 16-bit RGBA with `deep`) over a tiny
/// image stream: a decoder that trusts the header allocates gigabytes.
pub fn huge_png(width: u32, height: u32, deep: bool) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(if deep {
        ihdr(width, height, 16, 6)
    } else {
        ihdr(width, height, 8, 2)
    });
    png.extend(png_chunk(b"IDAT", &zlib(&vec![0; 4096])));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A PNG of 0×0 pixels, every chunk well formed.
pub fn zero_size_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(0, 0, 8, 2));
    png.extend(png_chunk(b"IDAT", &zlib(&[0])));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// An 8×8 PNG with a header and an end but no image data.
pub fn png_without_idat() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(8, 8, 8, 2));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A lossless WebP whose VP8L header is valid (64×64) but whose bitstream is noise.
pub fn corrupt_vp8l_webp() -> Vec<u8> {
    let (w, h) = (64u32 - 1, 64u32 - 1);
    let bits = w | (h << 14); // 14 bits each, no alpha, version 0
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend((0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
    webp.extend_from_slice(b"VP8L");
    webp.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    webp.extend_from_slice(&vp8l);
    if vp8l.len() % 2 == 1 {
        webp.push(0);
    }
    let riff_len = (webp.len() - 8) as u32;
    webp[4..8].copy_from_slice(&riff_len.to_le_bytes());
    webp
}

/// An 8×8 grey uncompressed TIFF whose IFD chain loops: the first IFD's next-IFD offset points
/// back at itself.
pub fn cyclic_ifd_tiff() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 3, 1, 8),   // width
        (257, 3, 1, 8),   // height
        (258, 3, 1, 8),   // bits per sample
        (259, 3, 1, 1),   // no compression
        (262, 3, 1, 1),   // black is zero
        (273, 4, 1, 200), // strip offset
        (278, 3, 1, 8),   // rows per strip
        (279, 4, 1, 64),  // strip byte count
    ];
    tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&8u32.to_le_bytes()); // next IFD: this one again
    tiff.resize(200, 0);
    tiff.extend((0..64u8).map(|i| i * 4));
    tiff
}

/// An ISO-BMFF file with the `brand` (`heic` or `avif`) whose `meta` and `mdat` boxes are junk.
pub fn junk_bmff(brand: &[u8; 4]) -> Vec<u8> {
    let bmff_box = |kind: &[u8; 4], data: &[u8]| {
        let mut b = ((data.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(data);
        b
    };
    let mut ftyp = brand.to_vec();
    ftyp.extend_from_slice(&[0, 0, 0, 0]);
    ftyp.extend_from_slice(b"mif1");
    ftyp.extend_from_slice(brand);
    let junk: Vec<u8> = (0..256u32).map(|i| (i * 37 % 251) as u8).collect();
    let mut file = bmff_box(b"ftyp", &ftyp);
    file.extend(bmff_box(b"meta", &junk));
    file.extend(bmff_box(b"mdat", &junk));
    file
}

/// `jpeg` with an APP11 segment that starts like a C2PA JUMBF box and then breaks off into junk.
pub fn broken_jumbf_jpeg(jpeg: &[u8]) -> Vec<u8> {
    let mut payload = b"JP\0\x01\0\0\0\x01".to_vec(); // common id, instance, sequence
    payload.extend_from_slice(&0x0000_0400u32.to_be_bytes()); // box length: 1 KiB (a lie)
    payload.extend_from_slice(b"jumb");
    payload.extend_from_slice(&0x0000_0020u32.to_be_bytes());
    payload.extend_from_slice(b"jumdc2pa\0\x11\0\x10\x80\0\0\xaa\0\x38\x9b\x71");
    payload.extend((0..64u32).map(|i| (i * 97 % 256) as u8));
    let mut segment = vec![0xFF, 0xEB];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&payload);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}
