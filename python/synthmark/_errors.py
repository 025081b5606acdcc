"""The exceptions synthmark raises, and its one warning.

Every error derives from :class:`Error`. Messages say what went wrong and, where a keyword
argument changes the outcome, which one (``hint: ...``); none ever contains a private key, a PIN
or a database password.
"""


class Error(Exception):
    """Base class of every synthmark error."""


class IdentityError(Error):
    """The signing certificate or key cannot be used (unreadable, not PKCS#8, not matching, a
    certificate outside the C2PA signer profile, a key file other users can read)."""


class OptionsError(Error, ValueError):
    """An option has a value synthmark cannot use (a quality outside 1-100, an unknown visible
    label, ``cert=`` without ``key=``...)."""


class TrustAnchorError(Error):
    """A trust anchor file given to :class:`synthmark.Checker` cannot be used."""


class RegistryError(Error):
    """The registry cannot be opened, or it failed while logging a stamped output (the output is
    then not returned: nothing unlogged leaves the stamper)."""


class StampError(Error):
    """An image could not be stamped."""


class InputError(StampError):
    """The image itself is at fault: unreadable, not a supported format, corrupt, larger than the
    decoding limits, or one that a requested visible label cannot be drawn into."""


class TimestampError(StampError):
    """The time-stamping authority gave no timestamp (and ``tsa_optional`` was not set)."""


class DevelopmentIdentityWarning(UserWarning):
    """Stamping signs with this machine's development identity, which nothing else trusts."""
