#!/usr/bin/env python3
"""Generate the hostile-input corpus used by scripts/hostile.sh.

Every case is small on disk but built to hurt a careless reader: decompression bombs in PNG text
chunks, images whose pixel buffers are hundreds of megabytes to gigabytes while the file is a few
hundred kilobytes, a TIFF whose IFD chain loops, containers that pass a top-level box walk but do
not decode, a truncated C2PA JUMBF, and plain broken files.

Standard library only (zlib, struct). Pillow is used, when installed, for nothing but the 16x16
JPEG that carries the broken JUMBF; without it a known-good 16x16 baseline JPEG embedded below is
used. The output is deterministic.

Usage: hostile_corpus.py --out DIR [--quick]
  --quick   only the small cases (skips huge-20000.png and the two 39.7 MP 16-bit PNGs)
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import random
import struct
import sys
import time
import zlib

MIB = 1 << 20

# A 16x16 baseline JPEG (Pillow, quality 90), used when Pillow is not installed.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQ"
    "ERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU"
    "FBQUFBQUFBQUFBQUFBT/wAARCAAQABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
    "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
    "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD4y8IfCbds/c/pXt3hD4Pbtn7j9K9j8D/C"
    "bd5f7n9K+gvA/wAHt3l/uP0r8qwuO/tXre53eHniFycnvn//2Q=="
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# ISO/IEC 19566-5 JUMBF description box type UUID for C2PA ("c2pa" + 0011-0010-8000-00AA00389B71).
C2PA_UUID = bytes.fromhex("6332706100110010800000aa00389b71")


# ---------------------------------------------------------------------------------------------
# PNG


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a valid CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(width: int, height: int, depth: int = 8, color: int = 2) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))


def tiny_png(extra_before_idat: list[bytes] = ()) -> bytes:
    """A valid 1x1 8-bit RGB PNG, with extra chunks before IDAT."""
    return (
        PNG_SIGNATURE
        + ihdr(1, 1)
        + b"".join(extra_before_idat)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00", 9))
        + chunk(b"IEND", b"")
    )


def deflate_repeated(unit: bytes, count: int) -> bytes:
    """A zlib stream of `unit` repeated `count` times, without ever holding the whole input.

    A full flush resets the deflate state, so compressing the same unit after a full flush yields
    the same bytes: compress the unit once, repeat its compressed form, append an empty final
    block and the Adler-32 of the whole (computed incrementally). Falls back to streaming
    compression if the shortcut ever does not hold.
    """
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = raw.compress(unit) + raw.flush(zlib.Z_FULL_FLUSH)
    second = raw.compress(unit) + raw.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(unit, adler)
    if first == second:
        final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # empty final block
        return b"\x78\xda" + first * count + final + struct.pack(">I", adler)
    stream = zlib.compressobj(9)
    parts = [stream.compress(unit) for _ in range(count)]
    parts.append(stream.flush())
    return b"".join(parts)


def blank_png(width: int, height: int, depth: int, color: int, channels: int) -> bytes:
    """A PNG of width x height all-zero pixels (filter 0), small on disk, built row-block-wise."""
    row = 1 + width * channels * depth // 8
    rows_per_unit = 1
    for candidate in range(1, height + 1):  # largest divisor of height keeping a unit <= 8 MiB
        if height % candidate == 0 and candidate * row <= 8 * MIB:
            rows_per_unit = candidate
    unit = bytes(row * rows_per_unit)
    idat = deflate_repeated(unit, height // rows_per_unit)
    # Split the IDAT into 1 MiB chunks, like an ordinary encoder.
    idats = [chunk(b"IDAT", idat[i : i + MIB]) for i in range(0, len(idat), MIB)]
    return PNG_SIGNATURE + ihdr(width, height, depth, color) + b"".join(idats) + chunk(b"IEND", b"")


def textured_png(size: int = 256) -> bytes:
    """A size x size 8-bit RGB PNG with gradients and noise (a 'real' image to stamp)."""
    rnd = random.Random(256)
    rows = bytearray()
    for y in range(size):
        rows.append(0)
        for x in range(size):
            noise = rnd.randrange(48)
            rows += bytes(
                (
                    (x * 255 // size + noise) & 255,
                    (y * 255 // size + noise) & 255,
                    (((x // 16) ^ (y // 16)) * 37 + noise) & 255,
                )
            )
    return (
        PNG_SIGNATURE
        + ihdr(size, size)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


KEYWORDS = [b"parameters", b"prompt", b"workflow", b"Comment", b"Description"]


def ztxt_bomb(count: int) -> bytes:
    """1x1 PNG with `count` zTXt chunks, each inflating to 16 MiB of 0xFF."""
    payload = zlib.compress(b"\xff" * (16 * MIB), 9)
    chunks = [
        chunk(b"zTXt", KEYWORDS[i % len(KEYWORDS)] + b"\x00\x00" + payload) for i in range(count)
    ]
    return tiny_png(chunks)


def itxt_bomb(count: int) -> bytes:
    """1x1 PNG with `count` compressed iTXt chunks, each inflating to 16 MiB of 'A' (valid UTF-8,
    so a reader does not stop at a decoding error)."""
    payload = zlib.compress(b"A" * (16 * MIB), 9)
    chunks = [
        chunk(
            b"iTXt",
            KEYWORDS[i % len(KEYWORDS)] + b"\x00" + b"\x01\x00" + b"en\x00" + b"\x00" + payload,
        )
        for i in range(count)
    ]
    return tiny_png(chunks)


def zero_size_png() -> bytes:
    return (
        PNG_SIGNATURE
        + ihdr(0, 0)
        + chunk(b"IDAT", zlib.compress(b"", 9))
        + chunk(b"IEND", b"")
    )


def no_idat_png() -> bytes:
    return PNG_SIGNATURE + ihdr(8, 8) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------
# TIFF


def cyclic_tiff() -> bytes:
    """Little-endian TIFF: IFD0 -> IFD1 -> IFD0 -> ... Both IFDs describe the same valid 8x8
    8-bit grey strip."""
    strip = bytes((x * 32 + y * 4) & 255 for y in range(8) for x in range(8))
    header = b"II*\x00" + struct.pack("<I", 8)
    n_entries = 9
    ifd_size = 2 + 12 * n_entries + 4
    ifd0 = 8
    ifd1 = ifd0 + ifd_size
    strip_offset = ifd1 + ifd_size

    def ifd(next_offset: int) -> bytes:
        entries = [  # (tag, type, count, value); SHORT = 3, LONG = 4; sorted by tag
            (256, 3, 1, 8),  # ImageWidth
            (257, 3, 1, 8),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # PhotometricInterpretation: BlackIsZero
            (273, 4, 1, strip_offset),  # StripOffsets
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 3, 1, 8),  # RowsPerStrip
            (279, 4, 1, len(strip)),  # StripByteCounts
        ]
        assert len(entries) == n_entries
        out = struct.pack("<H", n_entries)
        for tag, kind, cnt, value in entries:
            packed = struct.pack("<H", value) + b"\x00\x00" if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, cnt) + packed
        return out + struct.pack("<I", next_offset)

    return header + ifd(ifd1) + ifd(ifd0) + strip


# ---------------------------------------------------------------------------------------------
# ISO BMFF (HEIC / AVIF)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def junk_heif(brand: bytes, compatible: list[bytes], seed: int) -> bytes:
    """`ftyp` with the brand, a `meta` box whose inside is garbage (a plausible `hdlr` 'pict',
    then a child box claiming 2 GiB, then random bytes), and an `mdat` of random bytes. The
    top-level box walk is consistent; nothing inside decodes."""
    rnd = random.Random(seed)
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0) + b"".join(compatible))
    hdlr = box(b"hdlr", b"\x00\x00\x00\x00" + b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"junk\x00")
    lying_child = struct.pack(">I", 0x7FFFFFF0) + b"iinf" + rnd.randbytes(64)
    meta = box(b"meta", b"\x00\x00\x00\x00" + hdlr + lying_child + rnd.randbytes(512))
    mdat = box(b"mdat", rnd.randbytes(4096))
    return ftyp + meta + mdat


# ---------------------------------------------------------------------------------------------
# JPEG / WebP


def small_jpeg() -> bytes:
    try:
        from PIL import Image  # type: ignore
    except ImportError:
        return TINY_JPEG
    image = Image.new("RGB", (16, 16))
    pixels = image.load()
    for y in range(16):
        for x in range(16):
            pixels[x, y] = (x * 16, y * 16, (x * y) & 255)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, optimize=False, progressive=False)
    return out.getvalue()


def insert_after_app0(jpeg: bytes, segment: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":  # keep JFIF APP0 first
        pos = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:pos] + segment + jpeg[pos:]


def broken_jumbf_jpeg() -> bytes:
    """A 16x16 JPEG with an APP11 segment that starts like a C2PA JUMBF (common identifier 'JP',
    instance 1, sequence 1, a `jumb` superbox and the start of its C2PA `jumd` description) but
    whose boxes claim far more bytes than the segment holds and end in garbage."""
    rnd = random.Random(11)
    jumd_payload = C2PA_UUID + b"\x03" + b"c2pa\x00"
    jumd = struct.pack(">I", 8 + len(jumd_payload)) + b"jumd" + jumd_payload
    # Child superbox (a manifest) that says 1 MiB, then garbage.
    child = struct.pack(">I", MIB) + b"jumb" + struct.pack(">I", 0xFFFF) + b"jumd" + rnd.randbytes(40)
    jumb = struct.pack(">I", 0x00100000) + b"jumb" + jumd + child  # claims 1 MiB, holds ~100 B
    body = b"JP" + struct.pack(">H", 1) + struct.pack(">I", 1) + jumb
    segment = b"\xff\xeb" + struct.pack(">H", 2 + len(body)) + body
    return insert_after_app0(small_jpeg(), segment)


def corrupt_vp8l_webp() -> bytes:
    """RIFF/WEBP with a VP8L chunk: valid signature and 16x16 header, garbage bitstream."""
    rnd = random.Random(8)
    width, height = 16, 16
    bits = (width - 1) | ((height - 1) << 14) | (0 << 28) | (0 << 29)  # alpha 0, version 0
    payload = b"\x2f" + struct.pack("<I", bits) + rnd.randbytes(64)
    if len(payload) % 2:
        payload += b"\x00"
    vp8l = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(vp8l)) + b"WEBP" + vp8l


# ---------------------------------------------------------------------------------------------


def cases(quick: bool):
    """(file name, builder) in the order the harness runs them."""
    small = [
        ("control-256.png", textured_png),
        ("ztxt-bomb-40.png", lambda: ztxt_bomb(40)),
        ("ztxt-bomb-200.png", lambda: ztxt_bomb(200)),
        ("itxt-bomb-40.png", lambda: itxt_bomb(40)),
        ("cyclic-ifd.tiff", cyclic_tiff),
        ("junk.heic", lambda: junk_heif(b"heic", [b"mif1", b"heic"], 1)),
        ("junk.avif", lambda: junk_heif(b"avif", [b"mif1", b"avif", b"miaf"], 2)),
        ("broken-jumbf.jpg", broken_jumbf_jpeg),
        ("zero-size.png", zero_size_png),
        ("no-idat.png", no_idat_png),
        ("corrupt-vp8l.webp", corrupt_vp8l_webp),
        ("truncated.jpg", lambda: small_jpeg()[: len(small_jpeg()) * 2 // 3]),
        ("empty.jpg", lambda: b""),
        ("text.png", lambda: b"This is plain text, not a PNG image.\n"),
    ]
    big = [
        ("huge-20000.png", lambda: blank_png(20000, 20000, 8, 2, 3)),
        ("deep16-39.7mp.png", lambda: blank_png(7300, 5440, 16, 6, 4)),
        ("deep16rgb-39.7mp.png", lambda: blank_png(7300, 5440, 16, 2, 3)),
    ]
    return small if quick else small + big


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write the corpus into")
    parser.add_argument("--quick", action="store_true", help="small cases only")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, build in cases(args.quick):
        started = time.monotonic()
        data = build()
        path = os.path.join(args.out, name)
        with open(path, "wb") as f:
            f.write(data)
        print(f"  {name:24} {len(data):>10,} bytes  ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
