"""synthmark: label AI-generated images with signed C2PA credentials and an imperceptible
watermark, and check images for AI labels.

    import synthmark

    stamper = synthmark.Stamper(cert="chain.pem", key="key.pem", generator="ExampleDiffusion/2.1")
    out = stamper.stamp(image)            # bytes, a path, or a PIL.Image.Image
    out.data, out.asset_id, out.sha256, out.format, out.warnings

    report = synthmark.Checker(trust=["anchors.pem"]).check(out.data)
    report["verdict"], report["trust"], report["evidence"]

The work is done by the Rust library (the same code as the ``synthmark`` command line), with the
GIL released; a ``Stamper`` or ``Checker`` is built once and can be shared by any number of
threads. Reports are dicts with exactly the schema of ``synthmark check --format json``
(:func:`report_schema` gives its JSON Schema). Without ``cert``/``key``/``signer``, a stamper
signs with this machine's development identity (the command line's) and warns with
:class:`DevelopmentIdentityWarning`. See ``synthmark/__init__.pyi`` for every option.

Building the first ``Stamper`` or ``Checker`` tunes glibc's allocator for large image buffers,
as the command line does at startup (mmap threshold 32 MiB, trim threshold 128 MiB): without
it, every image's planes are mapped and faulted in anew, which costs about a third of
stamping's time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Union

from ._errors import (
    DevelopmentIdentityWarning,
    Error,
    IdentityError,
    InputError,
    OptionsError,
    RegistryError,
    StampError,
    TimestampError,
    TrustAnchorError,
)
from ._synthmark import (
    SCHEMA_VERSION,
    Checker,
    Signer,
    Stamped,
    Stamper,
    __version__,
    report_schema,
    stamp_record_schema,
)
from ._synthmark import keygen as _keygen

__all__ = [
    "Checker",
    "DevelopmentIdentityWarning",
    "Error",
    "IdentityError",
    "IdentityPaths",
    "InputError",
    "OptionsError",
    "RegistryError",
    "SCHEMA_VERSION",
    "Signer",
    "StampError",
    "Stamped",
    "Stamper",
    "TimestampError",
    "TrustAnchorError",
    "__version__",
    "keygen",
    "report_schema",
    "stamp_record_schema",
]


class IdentityPaths(NamedTuple):
    """The files :func:`keygen` wrote."""

    ca: Path
    """The root CA: the trust anchor for ``Checker(trust=[...])``."""
    cert: Path
    """The signing certificate (valid one year)."""
    key: Path
    """Its PKCS#8 private key (mode 0600)."""


def keygen(
    out: Union[str, "os.PathLike[str]"],
    *,
    alg: str = "es256",
    org: str = "synthmark development",
    force: bool = False,
) -> IdentityPaths:
    """Creates a development signing identity in ``out``, as ``synthmark keygen --out DIR``
    does: ``ca.pem`` (root CA), ``cert.pem`` (signing certificate) and ``key.pem`` (mode 0600).
    For testing only: nothing outside this machine trusts the CA, and its key is not kept.
    ``alg`` is ``"es256"``, ``"es384"`` or ``"ed25519"``; existing files are replaced only with
    ``force=True``."""
    ca, cert, key = _keygen(out, alg=alg, org=org, force=force)
    return IdentityPaths(Path(ca), Path(cert), Path(key))
