//! XMP in TIFF tag 700 of the first IFD.
//!
//! Writing appends the packet and a copy of IFD0 (with tag 700 added or replaced) to the end of
//! the file and points the header at the new IFD; every other offset stays valid because no
//! existing byte moves.
use super::*;
use crate::container::tiff::{self, Ifd, Tiff};

const XMP_TAG: u16 = 700;

fn ifd0(image: &[u8]) -> Option<Ifd<'_>> {
    let tiff = Tiff::new(image)?;
    tiff.ifd(tiff.first_ifd().ok()?).ok()
}

pub(super) fn find(image: &[u8]) -> Option<&[u8]> {
    packet_in(&ifd0(image)?)
}

/// The packet tag 700 of `ifd` points at.
fn packet_in<'a>(ifd: &Ifd<'a>) -> Option<&'a [u8]> {
    let entry = ifd.find(XMP_TAG)?;
    if entry.count() <= 4 {
        return None; // stored inline: too short to be an XMP packet
    }
    entry.value()
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    let ifd = ifd0(image)
        .filter(Ifd::is_complete)
        .ok_or_else(|| malformed("the first TIFF IFD is cut off"))?;
    let order = ifd.order();
    let mut out = image.to_vec();
    // A replaced packet is blanked, so no stale XMP is left in the file for naive scanners.
    if let Some(old) = packet_in(&ifd) {
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
    if ifd_offset + 2 + (ifd.declared() + 1) * 12 + 4 > u32::MAX as usize {
        return Err(malformed("the TIFF would exceed 4 GiB"));
    }

    let mut entries: Vec<[u8; 12]> = ifd
        .entries()
        .filter(|e| e.tag() != XMP_TAG)
        .map(|e| e.raw)
        .collect();
    entries.push(tiff::entry(
        order,
        XMP_TAG,
        tiff::kind::BYTE,
        packet.len() as u32,
        order.put32(data_offset as u32),
    ));
    let next = ifd.next().unwrap_or(0) as u32;
    out.extend(tiff::directory(order, &entries, next));
    out[4..8].copy_from_slice(&order.put32(ifd_offset as u32));
    Ok(out)
}
