"""Fixtures of the Python package's tests: a test identity made with ``synthmark.keygen`` (the
command line's ``keygen``), one stamper and one checker shared by the tests (as a pipeline
shares them), and procedural images encoded by Pillow.

The development identity and registry live in a temporary ``XDG_DATA_HOME`` for the whole
session, so no test touches the user's own.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image

import synthmark

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory of the session's own for the development identity."""
    home = tmp_path_factory.mktemp("data-home")
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(home)
    yield home
    if saved is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(scope="session")
def identity(tmp_path_factory: pytest.TempPathFactory) -> synthmark.IdentityPaths:
    return synthmark.keygen(tmp_path_factory.mktemp("identity") / "id", org="synthmark tests")


@pytest.fixture(scope="session")
def stamper(identity: synthmark.IdentityPaths) -> synthmark.Stamper:
    return synthmark.Stamper(cert=identity.cert, key=identity.key, generator="TestDiffusion/1.0")


@pytest.fixture(scope="session")
def checker(identity: synthmark.IdentityPaths) -> synthmark.Checker:
    return synthmark.Checker(trust=[identity.ca])


def picture(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth shapes, edges and grain (the watermark hides in texture,
    as it does in real renders)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for c in range(3):
        fx, fy, phase = rng.uniform(0.005, 0.04), rng.uniform(0.005, 0.04), rng.uniform(0, 6.3)
        base = 120 + 60 * np.sin(x * fx + phase) * np.cos(y * fy - phase)
        blobs = 40 * (((x - width * rng.uniform(0.2, 0.8)) ** 2 + (y - height * 0.5) ** 2) < (height / 4) ** 2)
        channels.append(base + blobs + rng.normal(0, 12, (height, width)))
    pixels = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def jpeg_420(seed: int = 0, width: int = 640, height: int = 480) -> bytes:
    """A JPEG as generators and Pillow write them: quality 90, 4:2:0 chroma subsampling."""
    return encode(picture(width, height, seed), "JPEG", quality=90, subsampling="4:2:0")


def synthmark_binary() -> Optional[Path]:
    """The command-line binary, for comparisons: SYNTHMARK_BIN, else the cargo target
    directory's debug or release build."""
    named = os.environ.get("SYNTHMARK_BIN")
    if named:
        return Path(named)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "synthmark"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("synthmark")
    return Path(found) if found else None
