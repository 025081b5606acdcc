"""The PEP 517 build backend of synthmark: maturin's, with ``--ignore-rust-version``.

The ``c2pa`` crate declares ``rust-version = 1.96`` and builds and passes every test on 1.95
(see the README), so cargo must be told to ignore the declaration, and maturin has no
``[tool.maturin]`` key for that. This module adds the flag to maturin's build arguments (after
any given through ``--config-settings build-args=...`` or ``MATURIN_PEP517_ARGS``) and hands
everything else to maturin unchanged. With Rust 1.96 or newer the flag is harmless.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import maturin
from maturin import *  # noqa: F401,F403  (every hook this backend does not change)

_FLAG = "--ignore-rust-version"


def _with_flag(config_settings: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    settings = dict(config_settings or {})
    args = maturin.get_maturin_pep517_args(config_settings)
    if _FLAG not in args:
        args = [*args, _FLAG]
    settings.pop("maturin.build-args", None)
    settings["build-args"] = args
    return settings


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    return maturin.build_wheel(wheel_directory, _with_flag(config_settings), metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    return maturin.build_editable(wheel_directory, _with_flag(config_settings), metadata_directory)
