"""Turning what a caller passes as an image into encoded bytes, for the inputs the compiled
module does not take directly (it reads ``bytes`` and paths itself).

A ``PIL.Image.Image`` is encoded with Pillow before it is stamped or checked:

- in ``image_format`` when given (``"png"``, ``"jpeg"``, ``"webp"`` or ``"tiff"``);
- else in the format Pillow read it from, if that is JPEG, PNG, WebP or TIFF (a JPEG with its own
  quantisation tables and subsampling, ``quality="keep"``, so no second generation of loss);
- else as PNG (lossless: the usual case, a generated image that was never a file).

The ICC profile and EXIF block the image carries are kept. JPEG has no alpha channel: an image
with one is refused rather than flattened (pass ``image_format="png"``). JPEGs made from
in-memory images use quality 95 with Pillow's 4:2:0 subsampling; WebP is lossy at quality 90.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any, Optional, Tuple

from ._errors import OptionsError

_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "tif": "TIFF"}
_KEPT = ("JPEG", "PNG", "WEBP", "TIFF")
_PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")


def coerce(data: Any, image_format: Optional[str]) -> Tuple[bytes, Optional[str]]:
    """``(encoded bytes, file name or None)`` for ``data``; ``TypeError`` for what is not an
    image."""
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(data, pil.Image):
        return _encode(data, image_format)
    if image_format is not None:
        raise OptionsError(
            "image_format= applies to PIL images only: bytes and files are stamped in their own format"
        )
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data), None
    kind = type(data)
    if kind.__module__ == "numpy" or hasattr(data, "__array_interface__"):
        raise TypeError(
            "a numpy array is pixels, not an encoded image: pass PIL.Image.fromarray(array) "
            "(uint8, HxWxC), or the encoded file's bytes"
        )
    raise TypeError(
        "expected an encoded image as bytes, bytearray or memoryview, a path (str or "
        f"os.PathLike), or a PIL.Image.Image; got {kind.__module__}.{kind.__qualname__}"
    )


def _encode(image: Any, image_format: Optional[str]) -> Tuple[bytes, Optional[str]]:
    filename = getattr(image, "filename", None)
    name = os.path.basename(filename) if isinstance(filename, str) and filename else None
    if image_format is None:
        target = image.format if image.format in _KEPT else "PNG"
    else:
        target = _FORMATS.get(str(image_format).lower())
        if target is None:
            raise OptionsError(
                f"image_format={image_format!r}: use 'png', 'jpeg', 'webp' or 'tiff'"
            )
    params: dict = {}
    for key in ("icc_profile", "exif"):
        value = image.info.get(key)
        if value and not (key == "exif" and target == "TIFF"):
            params[key] = value
    if target == "JPEG":
        if image.mode not in ("L", "RGB", "CMYK"):
            if "A" in image.mode or "transparency" in image.info:
                raise OptionsError(
                    f"a JPEG cannot keep the alpha channel of this {image.mode} image; pass "
                    "image_format='png', or convert it to RGB first"
                )
            image = image.convert("RGB")
        if image.format == "JPEG":
            params.update(quality="keep", subsampling="keep")
        else:
            params.update(quality=95)
    elif target == "WEBP":
        params.update(quality=90)
    elif target == "PNG" and image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=target, **params)
    return buffer.getvalue(), name
