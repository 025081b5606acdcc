//! XMP in TIFF tag 700 of the first IFD.
//!
//! Writing appends the packet and a copy of IFD0 (with tag 700 added or replaced) to the end of
//! the file and points the header at the new IFD; every other offset stays valid because no
//! existing byte moves.
use super::*;
use crate::byte_order::ByteOrder;

const XMP_TAG: u16 = 700;
const TYPE_BYTE: u16 = 1;

struct Ifd {
    endian: ByteOrder,
    entries: Vec<[u8; 12]>,
    next: [u8; 4],
}

fn read_ifd0(image: &[u8]) -> Option<(usize, Ifd)> {
    let endian = ByteOrder::of_tiff(image)?;
    let mut ifd = Ifd {
        endian,
        entries: Vec::new(),
        next: [0; 4],
    };
    let offset = endian.u32_at(image, 4)?;
    let count = endian.u16_at(image, offset)?;
    for i in 0..count {
        let at = offset + 2 + i * 12;
        ifd.entries.push(image.get(at..at + 12)?.try_into().ok()?);
    }
    let next_at = offset + 2 + count * 12;
    ifd.next = image.get(next_at..next_at + 4)?.try_into().ok()?;
    Some((offset, ifd))
}

pub(super) fn find(image: &[u8]) -> Option<&[u8]> {
    let (_, ifd) = read_ifd0(image)?;
    let endian = ifd.endian;
    let entry = ifd.entries.iter().find(|e| endian.tag(e) == XMP_TAG)?;
    let len = endian.u32(entry[4..8].try_into().ok()?) as usize;
    if len <= 4 {
        return None; // stored inline: too short to be an XMP packet
    }
    let offset = endian.u32(entry[8..12].try_into().ok()?) as usize;
    image.get(offset..offset.checked_add(len)?)
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    let (_, mut ifd) =
        read_ifd0(image).ok_or_else(|| malformed("the first TIFF IFD is cut off"))?;
    let mut out = image.to_vec();
    // A replaced packet is blanked, so no stale XMP is left in the file for naive scanners.
    if let Some(old) = find(image) {
        let start = old.as_ptr() as usize - image.as_ptr() as usize;
        out[start..start + old.len()].fill(b' ');
    }
    if out.len() % 2 == 1 {
        out.push(0); // TIFF offsets are word aligned
    }
    let data_offset = out.len();
    out.extend_from_slice(packet.as_bytes());
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let ifd_offset = out.len();
    if ifd_offset + 2 + (ifd.entries.len() + 1) * 12 + 4 > u32::MAX as usize {
        return Err(malformed("the TIFF would exceed 4 GiB"));
    }

    let endian = ifd.endian;
    let mut entry = [0u8; 12];
    entry[0..2].copy_from_slice(&endian.put16(XMP_TAG));
    entry[2..4].copy_from_slice(&endian.put16(TYPE_BYTE));
    entry[4..8].copy_from_slice(&endian.put32(packet.len() as u32));
    entry[8..12].copy_from_slice(&endian.put32(data_offset as u32));
    ifd.entries.retain(|e| endian.tag(e) != XMP_TAG);
    ifd.entries.push(entry);
    ifd.entries.sort_by_key(|e| endian.tag(e));

    out.extend_from_slice(&endian.put16(ifd.entries.len() as u16));
    for entry in &ifd.entries {
        out.extend_from_slice(entry);
    }
    out.extend_from_slice(&ifd.next);
    out[4..8].copy_from_slice(&endian.put32(ifd_offset as u32));
    Ok(out)
}
