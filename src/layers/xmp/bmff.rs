//! XMP in box-structured images: an HEIF item (AVIF, HEIC) and a JPEG XL `xml ` box.
//!
//! HEIF stores XMP as an item of type `mime` with content type `application/rdf+xml`, declared
//! in the `meta` box's item information (`iinf`/`infe`) and located by the item location box
//! (`iloc`), either in the file (construction method 0) or in the `meta` box's `idat` (method
//! 1). ComfyUI and phone cameras write DigitalSourceType and generation details there. A JPEG
//! XL container holds its XMP packet in a top-level `xml ` box. Read only; every offset and
//! length is checked against the file.

use crate::container::bmff;

/// The MIME content type of an XMP item.
const XMP_CONTENT_TYPE: &[u8] = b"application/rdf+xml";
/// At most this much XMP is gathered from an item's extents.
const MAX_XMP: usize = 4 << 20;

/// The XMP packet of an AVIF or HEIC file, if it has one.
pub fn find_heif(bytes: &[u8]) -> Option<Vec<u8>> {
    let top = bmff::all_boxes(bytes, 0, bytes.len()).ok()?;
    let meta = top.iter().find(|b| &b.kind == b"meta")?;
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let children = bmff::all_boxes(bytes, meta.body.start.checked_add(4)?, meta.body.end).ok()?;
    let body = |name: &[u8; 4]| {
        children
            .iter()
            .find(|b| &b.kind == name)
            .map(|b| &bytes[b.body.clone()])
    };
    let item = xmp_item_id(body(b"iinf")?)?;
    let location = locate(body(b"iloc")?, item)?;
    let source = match location.construction_method {
        0 => bytes,
        1 => body(b"idat")?,
        _ => return None,
    };
    let mut packet = Vec::new();
    for (offset, length) in location.extents {
        let start = location.base_offset.checked_add(offset)?;
        let end = if length == 0 {
            source.len()
        } else {
            start.checked_add(length)?
        };
        let extent = source.get(start..end)?;
        if packet.len() + extent.len() > MAX_XMP {
            return None;
        }
        packet.extend_from_slice(extent);
    }
    Some(packet)
}

/// The XMP packet of a JPEG XL container, if it has an (uncompressed) `xml ` box.
pub fn find_jxl(bytes: &[u8]) -> Option<Vec<u8>> {
    let boxes = bmff::all_boxes(bytes, 0, bytes.len()).ok()?;
    let xml = boxes.iter().find(|b| &b.kind == b"xml ")?;
    (xml.body.len() <= MAX_XMP).then(|| bytes[xml.body.clone()].to_vec())
}

/// A cursor over a box body that refuses to read past its end.
struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let field = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(field)
    }

    /// A big-endian unsigned integer of `n` bytes (0, 2, 4 or 8).
    fn uint(&mut self, n: usize) -> Option<usize> {
        let mut value = 0u64;
        for &b in self.take(n)? {
            value = (value << 8) | u64::from(b);
        }
        usize::try_from(value).ok()
    }

    /// A null-terminated string (without the terminator).
    fn c_string(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.pos..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        self.pos += len + 1;
        Some(&rest[..len])
    }
}

/// The id of the first `mime` item whose content type is XMP, from an `iinf` body.
fn xmp_item_id(iinf: &[u8]) -> Option<usize> {
    let mut fields = Fields::new(iinf);
    let version = fields.uint(1)?;
    fields.take(3)?;
    fields.uint(if version == 0 { 2 } else { 4 })?;
    for infe in bmff::all_boxes(iinf, fields.pos, iinf.len()).ok()? {
        if &infe.kind != b"infe" {
            continue;
        }
        let mut infe = Fields::new(&iinf[infe.body]);
        let version = infe.uint(1)?;
        infe.take(3)?;
        if version < 2 {
            continue; // versions 0 and 1 carry no item type
        }
        let id = infe.uint(if version == 2 { 2 } else { 4 })?;
        infe.take(2)?; // item_protection_index
        if infe.take(4)? != b"mime" {
            continue;
        }
        infe.c_string()?; // item_name
        if infe.c_string()? == XMP_CONTENT_TYPE {
            // A content encoding (e.g. deflate) would need decompressing: not read.
            let encoded = infe.c_string().is_some_and(|e| !e.is_empty());
            if !encoded {
                return Some(id);
            }
        }
    }
    None
}

/// Where an item's bytes are.
struct Location {
    construction_method: u8,
    base_offset: usize,
    /// (offset, length) pairs; a length of 0 means "to the end".
    extents: Vec<(usize, usize)>,
}

/// The location of `item` from an `iloc` body.
fn locate(iloc: &[u8], item: usize) -> Option<Location> {
    let mut f = Fields::new(iloc);
    let version = f.uint(1)?;
    f.take(3)?;
    let sizes = f.take(2)?;
    let (offset_size, length_size) = ((sizes[0] >> 4) as usize, (sizes[0] & 15) as usize);
    let base_offset_size = (sizes[1] >> 4) as usize;
    let index_size = if version >= 1 {
        (sizes[1] & 15) as usize
    } else {
        0
    };
    let valid = |n: usize| matches!(n, 0 | 4 | 8);
    if !(valid(offset_size) && valid(length_size) && valid(base_offset_size) && valid(index_size)) {
        return None;
    }
    let count = f.uint(if version < 2 { 2 } else { 4 })?;
    for _ in 0..count {
        let id = f.uint(if version < 2 { 2 } else { 4 })?;
        let construction_method = if version >= 1 {
            (f.uint(2)? & 15) as u8
        } else {
            0
        };
        f.uint(2)?; // data_reference_index
        let base_offset = f.uint(base_offset_size)?;
        let extent_count = f.uint(2)?;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            f.uint(index_size)?;
            extents.push((f.uint(offset_size)?, f.uint(length_size)?));
        }
        if id == item {
            return Some(Location {
                construction_method,
                base_offset,
                extents,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::container::bmff::boxed;

    /// A minimal HEIF file whose item 2 is XMP, stored in the file (method 0) or in `idat`.
    fn heif(packet: &[u8], in_idat: bool) -> Vec<u8> {
        let ftyp = boxed(b"ftyp", b"avif\0\0\0\0avifmif1");
        let mut infe_body = vec![2, 0, 0, 0, 0, 2, 0, 0];
        infe_body.extend_from_slice(b"mime\0application/rdf+xml\0");
        let mut other = vec![2, 0, 0, 0, 0, 1, 0, 0];
        other.extend_from_slice(b"av01\0");
        let mut iinf_body = vec![0, 0, 0, 0, 0, 2];
        iinf_body.extend(boxed(b"infe", &other));
        iinf_body.extend(boxed(b"infe", &infe_body));
        let iinf = boxed(b"iinf", &iinf_body);
        let hdlr = boxed(b"hdlr", b"\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let iloc_len = 8 + 4 + 2 + 2 + 2 + 2 + 2 + 2 + 4 + 4;
        let idat = if in_idat {
            boxed(b"idat", packet)
        } else {
            Vec::new()
        };
        let meta_len = 8 + 4 + hdlr.len() + iinf.len() + iloc_len + idat.len();
        let offset = if in_idat {
            0
        } else {
            ftyp.len() + meta_len + 8
        };
        let mut iloc_body = vec![1, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 2];
        iloc_body.extend_from_slice(&[0, u8::from(in_idat)]); // construction method
        iloc_body.extend_from_slice(&[0, 0, 0, 1]); // data_reference_index, extent_count
        iloc_body.extend_from_slice(&(offset as u32).to_be_bytes());
        iloc_body.extend_from_slice(&(packet.len() as u32).to_be_bytes());
        let iloc = boxed(b"iloc", &iloc_body);
        assert_eq!(iloc.len(), iloc_len);
        let mut meta_body = vec![0, 0, 0, 0];
        meta_body.extend(hdlr);
        meta_body.extend(iinf);
        meta_body.extend(iloc);
        meta_body.extend(idat);
        let mut file = ftyp;
        file.extend(boxed(b"meta", &meta_body));
        file.extend(boxed(b"mdat", if in_idat { b"pixels" } else { packet }));
        file
    }

    #[test]
    fn finds_the_xmp_item_in_the_file_and_in_idat() {
        let packet = b"<x:xmpmeta>DigitalSourceType</x:xmpmeta>";
        assert_eq!(
            find_heif(&heif(packet, false)).as_deref(),
            Some(&packet[..])
        );
        assert_eq!(find_heif(&heif(packet, true)).as_deref(), Some(&packet[..]));
    }

    #[test]
    fn extents_outside_the_file_are_refused() {
        let mut file = heif(b"<x:xmpmeta/>", false);
        file.truncate(file.len() - 4); // the mdat box and the extent now run past the end
        assert_eq!(find_heif(&file), None);
    }

    #[test]
    fn an_item_larger_than_the_cap_is_not_copied() {
        let big = vec![b' '; MAX_XMP + 1];
        assert_eq!(find_heif(&heif(&big, false)), None);
        let fits = vec![b' '; 1000];
        assert_eq!(find_heif(&heif(&fits, false)).map(|p| p.len()), Some(1000));
    }

    #[test]
    fn finds_the_xml_box_of_a_jpeg_xl_container() {
        let mut file = b"\0\0\0\x0cJXL \r\n\x87\n".to_vec();
        file.extend(boxed(b"ftyp", b"jxl \0\0\0\0jxl "));
        file.extend(boxed(b"xml ", b"<x:xmpmeta/>"));
        file.extend(boxed(b"jxlc", b"\xff\x0a"));
        assert_eq!(find_jxl(&file).as_deref(), Some(&b"<x:xmpmeta/>"[..]));
    }
}
