"""The "Stamp AI label and save" node: ComfyUI IMAGE batches in, stamped PNG files out.

A ComfyUI IMAGE is a tensor of shape [batch, height, width, channels] with floats in [0, 1]
(torch in ComfyUI; a numpy array works the same, which is how the tests drive the node without
ComfyUI). Each image is converted to 8-bit like ComfyUI's own SaveImage, encoded as PNG with the
same "prompt" and "workflow" text chunks SaveImage writes, stamped (C2PA manifest naming the
generator, IPTC XMP, watermark), and written atomically as PREFIX_00001_.png, ... in ComfyUI's
output directory. The UI gets the saved files, as from SaveImage, plus each asset id.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import synthmark

_stampers: Dict[Tuple[Optional[str], Optional[str]], synthmark.Stamper] = {}
_lock = threading.Lock()


def _stamper() -> synthmark.Stamper:
    """One stamper per signing identity, built on first use and shared by every run."""
    cert, key = os.environ.get("SYNTHMARK_CERT"), os.environ.get("SYNTHMARK_KEY")
    if not (cert and key):
        cert = key = None
    with _lock:
        if (cert, key) not in _stampers:
            _stampers[(cert, key)] = synthmark.Stamper(cert=cert, key=key)
        return _stampers[(cert, key)]


def _output_directory() -> Path:
    try:
        import folder_paths  # ComfyUI's module

        return Path(folder_paths.get_output_directory())
    except ImportError:
        return Path(os.environ.get("SYNTHMARK_COMFYUI_OUTPUT", "output"))


def to_uint8(image: Any) -> np.ndarray:
    """One HxWxC image of the batch as 8-bit pixels, as ComfyUI's SaveImage converts it."""
    if hasattr(image, "cpu"):  # a torch tensor
        image = image.cpu().numpy()
    return np.clip(255.0 * np.asarray(image, dtype=np.float32), 0, 255).astype(np.uint8)


class SynthmarkStampAndSave:
    """Stamps each image as AI-generated and saves it as PNG."""

    @classmethod
    def INPUT_TYPES(cls) -> Dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE",),
                "filename_prefix": ("STRING", {"default": "synthmark"}),
                "generator": ("STRING", {"default": "ComfyUI"}),
            },
            "optional": {
                "no_train": ("BOOLEAN", {"default": False}),
                "visible_label": (["none", "ai-generated", "ai-modified"], {"default": "none"}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "stamp_and_save"
    OUTPUT_NODE = True
    CATEGORY = "image/provenance"
    DESCRIPTION = "Stamps images with signed C2PA credentials declaring them AI-generated, and an imperceptible watermark, then saves them as PNG."

    def __init__(self, output_dir: Optional[os.PathLike] = None) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None

    def stamp_and_save(
        self,
        images: Any,
        filename_prefix: str = "synthmark",
        generator: str = "ComfyUI",
        no_train: bool = False,
        visible_label: str = "none",
        prompt: Optional[dict] = None,
        extra_pnginfo: Optional[dict] = None,
    ) -> Dict[str, Any]:
        stamper = _stamper()
        directory = self.output_dir or _output_directory()
        folder = directory / os.path.dirname(filename_prefix)
        prefix = os.path.basename(filename_prefix) or "synthmark"
        folder.mkdir(parents=True, exist_ok=True)
        counter = _next_counter(folder, prefix)
        saved: List[Dict[str, Any]] = []
        for image in images:
            png = _png_with_graph(to_uint8(image), prompt, extra_pnginfo)
            out = stamper.stamp(
                png,
                title=f"{prefix}_{counter:05}_.png",
                generator=generator or None,
                no_train=no_train,
                visible_label=None if visible_label == "none" else visible_label,
            )
            while True:
                name = f"{prefix}_{counter:05}_.png"
                counter += 1
                try:
                    out.save(folder / name)
                    break
                except FileExistsError:
                    continue
            saved.append(
                {
                    "filename": name,
                    "subfolder": os.path.dirname(filename_prefix),
                    "type": "output",
                    "asset_id": out.asset_id,
                    "sha256": out.sha256,
                    "warnings": out.warnings,
                }
            )
        return {"ui": {"images": saved}}


def _png_with_graph(pixels: np.ndarray, prompt: Optional[dict], extra_pnginfo: Optional[dict]) -> bytes:
    """The PNG ComfyUI's SaveImage would write: the pixels and the graph as text chunks."""
    info = PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    for key, value in (extra_pnginfo or {}).items():
        info.add_text(key, json.dumps(value))
    if pixels.shape[-1] == 1:  # a mask-like grey image
        pixels = pixels[..., 0]
    buffer = io.BytesIO()
    # Pillow reads the mode from the array: L, RGB or RGBA.
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info, compress_level=4)
    return buffer.getvalue()


def _next_counter(folder: Path, prefix: str) -> int:
    taken = [
        int(p.name[len(prefix) + 1 : len(prefix) + 6])
        for p in folder.glob(f"{prefix}_?????_.png")
        if p.name[len(prefix) + 1 : len(prefix) + 6].isdigit()
    ]
    return max(taken, default=0) + 1


NODE_CLASS_MAPPINGS = {"SynthmarkStampAndSave": SynthmarkStampAndSave}
NODE_DISPLAY_NAME_MAPPINGS = {"SynthmarkStampAndSave": "Stamp AI label and save (synthmark)"}
