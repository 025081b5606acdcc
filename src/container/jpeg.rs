//! JPEG marker segments: the one reader ([`segments`], from SOI to the first start-of-scan,
//! every length checked; [`all_segments`], on through every scan to the end of the image). What
//! follows a scan header is entropy-coded data, which the reader skips and never interprets.

/// Start of scan: the last segment before the entropy-coded data.
pub const SOS: u8 = 0xDA;
/// End of image.
pub const EOI: u8 = 0xD9;

/// The most payload one segment holds (its length field counts itself).
pub const MAX_PAYLOAD: usize = 65_533;

/// Whether a metadata segment describes something that a rewrite of the image (new pixels or
/// new coefficients, then a new C2PA manifest) does not carry over, so the rewrite leaves it out:
/// - the old C2PA store (APP11), which the new manifest replaces;
/// - the Multi-Picture Format index (APP2 `MPF\0`, CIPA DC-007), which points at the secondary
///   images cameras store after the primary image's end of image (large previews, the other view
///   of a stereo pair). A rewrite ends the file at the primary image: those images are unmarked
///   copies of the picture and are not kept, so their index would point past the end of the file.
pub fn dropped_on_rewrite(marker: u8, body: &[u8]) -> bool {
    marker == 0xEB || (marker == 0xE2 && body.starts_with(b"MPF\0"))
}

/// A whole marker segment: marker, length and `data`; `None` when `data` is more than one
/// segment holds ([`MAX_PAYLOAD`]).
pub fn segment(marker: u8, data: &[u8]) -> Option<Vec<u8>> {
    if data.len() > MAX_PAYLOAD {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + 4);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
    Some(out)
}

/// One marker segment. Standalone markers (TEM, RSTn, a repeated SOI) have empty data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub marker: u8,
    /// The payload, after the two length bytes.
    pub data: &'a [u8],
    /// Where the segment starts (its `0xFF`) and ends.
    pub start: usize,
    pub end: usize,
}

/// Where the segments stop making sense before the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The file ends where a marker should be.
    CutOff,
    /// A byte other than `0xFF` where a marker should be.
    NotAMarker { at: usize },
    /// End of image before any scan.
    EndOfImage { at: usize },
    /// The length of the segment at `at` is cut off.
    HeaderCutOff { at: usize },
    /// The segment at `at` claims more bytes than the file has (or fewer than its length field).
    Overrun { marker: u8, at: usize },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::CutOff => f.write_str("the file ends before the image data"),
            Break::NotAMarker { at } => write!(f, "expected a marker at byte {at}"),
            Break::EndOfImage { .. } => f.write_str("end-of-image marker before any image data"),
            Break::HeaderCutOff { at } => write!(f, "segment header at byte {at} is cut off"),
            Break::Overrun { marker, at } => write!(
                f,
                "segment 0xFF{marker:02X} at byte {at} runs past the end of the file"
            ),
        }
    }
}

/// The segments of a JPEG file after its SOI, up to and including the first start of scan.
/// Fill bytes are skipped. Where the segments break, the iterator yields that [`Break`] and
/// stops.
pub fn segments(bytes: &[u8]) -> Segments<'_> {
    Segments {
        bytes,
        pos: 2,
        done: false,
        through_scans: false,
    }
}

/// The segments of a JPEG file after its SOI, through every scan (a progressive file has
/// several, with tables between them), skipping each scan's entropy-coded data, up to the end
/// of image, which ends the iteration. Breaks as [`segments`]; a file cut off after a scan
/// yields [`Break::CutOff`].
pub fn all_segments(bytes: &[u8]) -> Segments<'_> {
    Segments {
        through_scans: true,
        ..segments(bytes)
    }
}

/// See [`segments`] and [`all_segments`].
pub struct Segments<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
    /// Go on past a start of scan, to the end of image.
    through_scans: bool,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, Break>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let at = self.pos;
            let marker = match self.bytes.get(at..at.checked_add(2)?) {
                Some([0xFF, 0xFF]) => {
                    self.pos += 1; // a fill byte
                    continue;
                }
                Some([0xFF, marker]) => *marker,
                Some(_) => return self.stop(Break::NotAMarker { at }),
                None => return self.stop(Break::CutOff),
            };
            return match marker {
                0xD8 | 0x01 | 0xD0..=0xD7 => {
                    self.pos = at + 2;
                    Some(Ok(Segment {
                        marker,
                        data: &[],
                        start: at,
                        end: at + 2,
                    }))
                }
                EOI if self.through_scans => {
                    self.done = true;
                    None
                }
                EOI => self.stop(Break::EndOfImage { at }),
                _ => {
                    let Some(length) = self.bytes.get(at + 2..at + 4) else {
                        return self.stop(Break::HeaderCutOff { at });
                    };
                    let len = u16::from_be_bytes([length[0], length[1]]) as usize;
                    let end = at + 2 + len;
                    if len < 2 || end > self.bytes.len() {
                        return self.stop(Break::Overrun { marker, at });
                    }
                    self.pos = end;
                    if marker == SOS {
                        self.done = !self.through_scans;
                        self.pos = self.after_entropy_coded_data(end);
                    }
                    Some(Ok(Segment {
                        marker,
                        data: &self.bytes[at + 4..end],
                        start: at,
                        end,
                    }))
                }
            };
        }
    }
}

impl<'a> Segments<'a> {
    /// The next marker at or after `from` that is not inside entropy-coded data: not a stuffed
    /// `0xFF00`, a restart marker or a fill byte. The end of the file when there is none.
    fn after_entropy_coded_data(&self, from: usize) -> usize {
        let bytes = self.bytes;
        let Some(data) = bytes.get(from..bytes.len().saturating_sub(1)) else {
            return bytes.len();
        };
        memchr::memchr_iter(0xFF, data)
            .map(|at| from + at)
            .find(|&at| !matches!(bytes[at + 1], 0x00 | 0xD0..=0xD7 | 0xFF))
            .unwrap_or(bytes.len())
    }

    fn stop(&mut self, broken: Break) -> Option<Result<Segment<'a>, Break>> {
        self.done = true;
        Some(Err(broken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        super::segment(marker, data).unwrap()
    }

    #[test]
    fn the_writer_refuses_what_one_segment_cannot_hold() {
        assert_eq!(
            super::segment(0xE1, b"ab"),
            Some(vec![0xFF, 0xE1, 0, 4, b'a', b'b'])
        );
        assert!(super::segment(0xE1, &[0; MAX_PAYLOAD]).is_some());
        assert_eq!(super::segment(0xE1, &[0; MAX_PAYLOAD + 1]), None);
    }

    #[test]
    fn reads_the_segments_up_to_the_scan_skipping_fill_bytes() {
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xE0, b"JFIF\0"));
        file.push(0xFF); // a fill byte
        file.extend(segment(0xE1, b"Exif\0\0"));
        file.extend(segment(SOS, &[1, 2, 3]));
        file.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, EOI]);
        let read: Vec<Segment> = segments(&file).map(Result::unwrap).collect();
        let markers: Vec<u8> = read.iter().map(|s| s.marker).collect();
        assert_eq!(markers, [0xE0, 0xE1, SOS]);
        assert_eq!(read[1].data, b"Exif\0\0");
        assert_eq!(read[1].start, 2 + 9 + 1);
        assert_eq!(&file[read[2].end..read[2].end + 2], &[0x12, 0xFF]);
    }

    #[test]
    fn all_segments_go_on_through_every_scan_to_the_end_of_image() {
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xC2, &[8, 0, 1, 0, 1, 1, 0, 0x11, 0]));
        file.extend(segment(SOS, &[1, 0, 0]));
        // Entropy-coded data with a stuffed 0xFF00, a restart marker and a fill byte.
        file.extend_from_slice(&[0x12, 0xFF, 0x00, 0xFF, 0xD0, 0x34, 0xFF]);
        file.extend(segment(0xC4, &[0x10, 0]));
        file.extend(segment(SOS, &[1, 0, 0]));
        file.extend_from_slice(&[0x56, 0xFF, EOI, b't', b'r', b'a', b'i', b'l']);
        let read: Vec<Segment> = all_segments(&file).map(Result::unwrap).collect();
        let markers: Vec<u8> = read.iter().map(|s| s.marker).collect();
        assert_eq!(markers, [0xC2, SOS, 0xC4, SOS]);
        assert_eq!(read[2].data, &[0x10, 0]);
        // Only the first scan for the plain reader.
        assert_eq!(segments(&file).count(), 2);
        // Cut off inside a scan.
        let cut = &file[..file.len() - 7];
        assert_eq!(all_segments(cut).last(), Some(Err(Break::CutOff)));
    }

    #[test]
    fn every_break_is_named_with_where_it_is() {
        let broken = |tail: &[u8]| {
            let mut file = vec![0xFF, 0xD8];
            file.extend_from_slice(tail);
            segments(&file).last().unwrap().unwrap_err()
        };
        assert_eq!(broken(b""), Break::CutOff);
        assert_eq!(broken(b"\x00\x00"), Break::NotAMarker { at: 2 });
        assert_eq!(broken(&[0xFF, EOI]), Break::EndOfImage { at: 2 });
        assert_eq!(broken(&[0xFF, 0xE1, 0x00]), Break::HeaderCutOff { at: 2 });
        assert_eq!(
            broken(&[0xFF, 0xE1, 0x00, 0x10, 1, 2]),
            Break::Overrun {
                marker: 0xE1,
                at: 2
            }
        );
        assert_eq!(
            Break::Overrun {
                marker: 0xE1,
                at: 2
            }
            .to_string(),
            "segment 0xFFE1 at byte 2 runs past the end of the file"
        );
        // A length below 2 cannot loop the reader in place.
        assert_eq!(
            broken(&[0xFF, 0xE1, 0x00, 0x00]),
            Break::Overrun {
                marker: 0xE1,
                at: 2
            }
        );
    }
}
