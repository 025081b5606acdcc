"""Type stubs of synthmark (the compiled classes live in ``synthmark._synthmark``)."""

import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Literal, NamedTuple, Optional, Sequence, TypedDict, Union, final

from PIL.Image import Image as _PILImage

from ._errors import (
    DevelopmentIdentityWarning as DevelopmentIdentityWarning,
    Error as Error,
    IdentityError as IdentityError,
    InputError as InputError,
    OptionsError as OptionsError,
    RegistryError as RegistryError,
    StampError as StampError,
    TimestampError as TimestampError,
    TrustAnchorError as TrustAnchorError,
)

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

__version__: str
SCHEMA_VERSION: int
"""The ``schema_version`` every report and stamp record carries."""

_StrPath = Union[str, "os.PathLike[str]"]
_ImageData = Union[bytes, bytearray, memoryview, _StrPath, _PILImage]
"""An encoded image (``bytes``, ``bytearray``, ``memoryview``), a file path, or a PIL image.
A PIL image is encoded first: in ``image_format`` if given, else in the format Pillow read it
from (JPEG keeps its own tables: ``quality="keep"``), else as PNG; its ICC profile and EXIF are
kept. Images from memory get the manifest title ``"image"`` unless ``title=`` says otherwise."""
_VisibleLabel = Literal["ai-generated", "ai-modified"]
_Corner = Literal["top-right", "top-left", "bottom-right", "bottom-left"]
_ImageFormat = Literal["png", "jpeg", "jpg", "webp", "tiff", "tif"]
_Report = Dict[str, Any]
"""A check report: the schema of ``synthmark check --format json`` (see :func:`report_schema`):
``schema_version``, ``path`` (when known), ``verdict`` (``labelled-ai``, ``unlabelled-ai``,
``no-signal``, ``tampered``, ``error``), ``explanation``, ``trust`` (``trusted``, ``untrusted``,
``expired``, ``revoked`` or None), ``rests_on``, ``format``, ``sha256``, ``signer``,
``timestamp``, ``evidence`` (dicts with ``layer``, ``finding``, ``signed``, ``detail`` and where
relevant ``manifest``, ``code``, ``value``), ``recovered``, ``error``."""

class _Pkcs11Options(TypedDict, total=False):
    """``Stamper(pkcs11=...)``: the keyword arguments of :meth:`Signer.pkcs11`."""

    module: _StrPath
    token: str
    slot: int
    key_label: str
    key_id: Union[str, bytes]
    pin: str

class IdentityPaths(NamedTuple):
    ca: Path
    cert: Path
    key: Path

def keygen(
    out: _StrPath, *, alg: Literal["es256", "es384", "ed25519"] = "es256", org: str = ..., force: bool = False
) -> IdentityPaths:
    """Creates a development identity (``ca.pem``, ``cert.pem``, ``key.pem`` mode 0600) in
    ``out``, like ``synthmark keygen --out DIR``. Raises IdentityError if files exist and not
    ``force``."""

def report_schema() -> Dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a check report."""

def stamp_record_schema() -> Dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :meth:`Stamped.to_dict`."""

@final
class Signer:
    """A signing identity, validated when loaded (the certificate against the C2PA signer
    profile, a probe signature against the certificate); shareable by many stampers and threads.
    The certificate chain is always PEM (signing certificate first); the key comes from one of
    the constructors below. No message ever shows a key, a passphrase or a PIN."""

    def __new__(
        cls,
        cert: _StrPath,
        key: _StrPath,
        *,
        key_passphrase: Optional[str] = None,
        allow_readable_key: bool = False,
    ) -> "Signer":
        """A PKCS#8 PEM key file, decrypted in memory with ``key_passphrase`` when encrypted
        (``BEGIN ENCRYPTED PRIVATE KEY``). A key file readable by other users is refused unless
        ``allow_readable_key``. Raises IdentityError."""
    @classmethod
    def from_pem(
        cls, cert_pem: Union[str, bytes], key_pem: Union[str, bytes], *, key_passphrase: Optional[str] = None
    ) -> "Signer":
        """The same from PEM text held in memory (a secret store). Raises IdentityError."""
    @classmethod
    def command(
        cls, cert: _StrPath, signer_cmd: Union[str, Sequence[str]], *, timeout: Optional[float] = None
    ) -> "Signer":
        """Signs through a command (a KMS client): the bytes to sign on its standard input, the
        signature (ECDSA: DER or raw r||s) on its standard output. A command line is split like
        a shell would, but no shell runs it. ``timeout``: seconds per signature (default 30,
        at least 0.01). The command does not inherit ``SYNTHMARK_*``, ``PGPASSWORD``,
        ``PGPASSFILE`` or ``DATABASE_URL``; messages name its program, never its arguments.
        The command signs a probe now. Raises IdentityError, OptionsError."""
    @classmethod
    def pkcs11(
        cls,
        cert: _StrPath,
        *,
        module: _StrPath,
        token: Optional[str] = None,
        slot: Optional[int] = None,
        key_label: Optional[str] = None,
        key_id: Union[str, bytes, None] = None,
        pin: Optional[str] = None,
    ) -> "Signer":
        """A key inside a PKCS#11 token (an HSM, SoftHSM2): ``module`` is the vendor's library,
        the token is chosen by ``token`` (label) or ``slot``, the key by ``key_label`` and/or
        ``key_id`` (hex text such as ``"01"`` or ``"a1:b2"``, or bytes). The key never leaves
        the token. PKCS#11 keeps one login per process and token: once a signer of this process
        is logged in to a token, another signer on it is not checked against its ``pin``.
        Raises IdentityError, OptionsError."""
    @classmethod
    def external(
        cls, cert: _StrPath, sign: Callable[[bytes, str], bytes], *, description: Optional[str] = None
    ) -> "Signer":
        """Signs with a Python callable ``sign(data, alg) -> signature`` (a KMS SDK): ``alg`` is
        the certificate's (``"es256"``, ``"es384"``, ``"es512"``, ``"ps256"``, ``"ed25519"``),
        ``data`` the bytes to sign (not a digest); ECDSA signatures may be DER or raw r||s. It is
        called from stamping threads, with the GIL held only during the call; an exception it
        raises fails that stamp (IdentityError, or StampError while stamping)."""
    @classmethod
    def development(cls) -> "Signer":
        """This machine's development identity (the command line's, in
        ``$XDG_DATA_HOME/synthmark/dev-identity`` or ``~/.local/share/synthmark/dev-identity``),
        created on first use. Warns with DevelopmentIdentityWarning."""
    @property
    def subject(self) -> str: ...
    @property
    def alg(self) -> str:
        """The signature algorithm, e.g. ``"es256"``."""
    @property
    def key(self) -> str:
        """Where the key is ("a PKCS#8 key in memory", "PKCS#11 key ... on token ...", "command
        ..."): never a secret."""
    @property
    def development_identity(self) -> bool: ...
    @property
    def trust_anchor(self) -> Optional[Path]:
        """The development identity's root CA file (for ``Checker(trust=[...])``); None for
        other identities."""

@final
class Stamped:
    """A stamped image."""

    @property
    def data(self) -> bytes:
        """The stamped file, in the input's format."""
    @property
    def asset_id(self) -> Optional[str]:
        """The watermark's asset id (10 hex digits); None when not watermarked (see warnings)."""
    @property
    def sha256(self) -> str:
        """SHA-256 of ``data``, hex."""
    @property
    def format(self) -> str:
        """``"jpeg"``, ``"png"``, ``"webp"``, ``"tiff"``, ``"gif"``, ``"avif"`` or ``"heic"``."""
    @property
    def warnings(self) -> List[str]:
        """What did not happen as asked but did not stop the stamp."""
    @property
    def watermarked(self) -> bool: ...
    @property
    def timestamped(self) -> bool: ...
    @property
    def xmp_written(self) -> bool: ...
    @property
    def kept_credentials(self) -> bool:
        """The input's own C2PA credentials were kept as the parent ingredient."""
    @property
    def registry_entry(self) -> Optional[int]: ...
    def to_dict(self) -> Dict[str, Any]:
        """The record of ``synthmark stamp --format json`` (without the image bytes)."""
    def save(self, path: _StrPath, *, overwrite: bool = False) -> None:
        """Writes ``data`` atomically. Raises FileExistsError unless ``overwrite``; OSError."""
    def __bytes__(self) -> bytes: ...

@final
class Stamper:
    """Stamps images with signed C2PA credentials declaring them AI-generated, the IPTC digital
    source type in their XMP, and the imperceptible watermark. Build once, share across
    threads; every call releases the GIL."""

    def __new__(
        cls,
        *,
        cert: Optional[_StrPath] = None,
        key: Optional[_StrPath] = None,
        signer: Optional[Signer] = None,
        key_passphrase: Optional[str] = None,
        allow_readable_key: bool = False,
        signer_cmd: Union[str, Sequence[str], None] = None,
        signer_timeout: Optional[float] = None,
        pkcs11: Optional[_Pkcs11Options] = None,
        generator: Optional[str] = None,
        edited: bool = False,
        no_train: bool = False,
        thumbnail: bool = False,
        watermark: bool = True,
        quality: Optional[int] = None,
        visible_label: Optional[_VisibleLabel] = None,
        corner: Optional[_Corner] = None,
        tsa_url: Optional[str] = None,
        tsa_optional: bool = False,
        tsa_timeout: float = 10.0,
        registry: Optional[_StrPath] = None,
    ) -> "Stamper":
        """Signs with ``signer``, or ``cert`` and one key source (``key`` with
        ``key_passphrase`` when encrypted, ``signer_cmd`` with ``signer_timeout``, or ``pkcs11``:
        see :class:`Signer`), or, with none of them, the development identity and a
        DevelopmentIdentityWarning. The stamping options are the defaults of every
        :meth:`stamp` and mirror ``synthmark stamp``'s flags: ``generator`` ("Name/version",
        the action's softwareAgent), ``edited`` (an AI edit of an existing image: kept as the
        parent ingredient), ``no_train`` (cawg.training-mining: notAllowed), ``thumbnail``,
        ``watermark``, ``quality`` (JPEG/WebP re-encoding, 1-100; default the input's own),
        ``visible_label`` and ``corner``. ``tsa_url`` timestamps every signature (RFC 3161;
        ``tsa_optional`` signs without one when the TSA fails; ``tsa_timeout`` seconds per
        attempt). ``registry`` (an SQLite path or a postgres:// URL) logs every output before it
        is returned; without it nothing is logged. Raises IdentityError, OptionsError,
        RegistryError."""
    def stamp(
        self,
        data: _ImageData,
        *,
        title: Optional[str] = None,
        image_format: Optional[_ImageFormat] = None,
        generator: Optional[str] = None,
        edited: Optional[bool] = None,
        no_train: Optional[bool] = None,
        thumbnail: Optional[bool] = None,
        watermark: Optional[bool] = None,
        quality: Optional[int] = None,
        visible_label: Optional[_VisibleLabel] = None,
        corner: Optional[_Corner] = None,
    ) -> Stamped:
        """Stamps one image; options left at None keep the stamper's. ``title`` names the asset
        in the manifest (default: the file name, else ``"image"``). ``image_format`` applies to
        PIL images only. Raises InputError (the image is at fault), TimestampError,
        RegistryError, OptionsError, StampError."""
    @property
    def signer(self) -> Signer: ...
    @property
    def registry(self) -> Optional[str]:
        """Where outputs are logged (a PostgreSQL password shown as ``***``)."""

@final
class Checker:
    """Checks images for AI labels and their integrity. Build once, share across threads; every
    call releases the GIL. Checking never raises for a bad image: its report reads ``error``."""

    def __new__(
        cls,
        *,
        trust: Union[_StrPath, Iterable[_StrPath], None] = None,
        trust_tsa: Union[_StrPath, Iterable[_StrPath], None] = None,
        default_trust: bool = True,
        pixels: bool = True,
        registry: Optional[_StrPath] = None,
    ) -> "Checker":
        """``trust``/``trust_tsa``: PEM files of signer / time-stamping authority anchors, added
        to the bundled official C2PA trust lists unless ``default_trust=False``. ``pixels=False``
        decodes no pixel (metadata and credentials only: faster, but a stripped label goes
        unnoticed). ``registry`` is consulted for every image. Raises TrustAnchorError,
        RegistryError."""
    def check(self, data: _ImageData, *, name: Optional[str] = None) -> _Report:
        """The report of one image (``name`` is reported as ``path`` for in-memory data). A PIL
        image is checked as encoded by Pillow (PNG unless it was read from a file): decoded
        pixels carry no credentials, so pass the file or its bytes to check those."""
    @property
    def registry(self) -> Optional[str]: ...
