"""Typed exceptions with the command line's messages and hints (never a key), the signer
choices, the development identity, timestamps and the registry."""

from __future__ import annotations

import os
import socket
import warnings

import pytest

import synthmark

from conftest import jpeg_420, picture


def test_every_exception_derives_from_synthmark_error():
    for cls in (
        synthmark.IdentityError,
        synthmark.OptionsError,
        synthmark.TrustAnchorError,
        synthmark.RegistryError,
        synthmark.StampError,
        synthmark.InputError,
        synthmark.TimestampError,
    ):
        assert issubclass(cls, synthmark.Error)
    assert issubclass(synthmark.InputError, synthmark.StampError)
    assert issubclass(synthmark.TimestampError, synthmark.StampError)
    assert issubclass(synthmark.OptionsError, ValueError)


def test_a_missing_certificate_names_the_files_and_the_way_out(tmp_path, identity):
    with pytest.raises(synthmark.IdentityError) as raised:
        synthmark.Stamper(cert=tmp_path / "nope.pem", key=identity.key)
    message = str(raised.value)
    assert f"cannot sign with {tmp_path / 'nope.pem'} and {identity.key}" in message
    assert "hint: synthmark.keygen(DIR)" in message


def test_a_key_readable_by_others_is_refused_unless_allowed(tmp_path):
    paths = synthmark.keygen(tmp_path / "id")
    paths.key.chmod(0o644)
    with pytest.raises(synthmark.IdentityError) as raised:
        synthmark.Stamper(cert=paths.cert, key=paths.key)
    message = str(raised.value)
    assert "can be read by other users (mode 0644)" in message
    assert f"chmod 600 {paths.key}" in message and "allow_readable_key=True" in message
    assert "PRIVATE KEY" not in message
    allowed = synthmark.Stamper(cert=paths.cert, key=paths.key, allow_readable_key=True)
    assert allowed.signer.subject.endswith("synthmark DEVELOPMENT signer") or "DEVELOPMENT" in allowed.signer.subject


def test_a_key_of_another_identity_is_refused_without_showing_it(tmp_path):
    a = synthmark.keygen(tmp_path / "a")
    b = synthmark.keygen(tmp_path / "b")
    with pytest.raises(synthmark.IdentityError, match="does not belong to the signing certificate") as raised:
        synthmark.Signer(a.cert, b.key)
    key_text = b.key.read_text()
    assert "PRIVATE KEY" not in str(raised.value)
    assert key_text.splitlines()[1] not in str(raised.value)
    with pytest.raises(synthmark.IdentityError, match="CA certificate"):
        synthmark.Signer.from_pem(a.ca.read_text(), a.key.read_bytes())


def test_a_signer_is_loaded_once_and_shared(tmp_path, identity, checker):
    signer = synthmark.Signer.from_pem(identity.cert.read_text(), identity.key.read_text())
    assert signer.alg == "es256"
    assert not signer.development_identity and signer.trust_anchor is None
    first = synthmark.Stamper(signer=signer, generator="A/1")
    second = synthmark.Stamper(signer=signer, no_train=True)
    assert first.signer is signer and second.signer is signer
    for stamper in (first, second):
        assert checker.check(stamper.stamp(jpeg_420(seed=30)).data)["verdict"] == "labelled-ai"
    with pytest.raises(synthmark.OptionsError, match="not both"):
        synthmark.Stamper(signer=signer, cert=identity.cert, key=identity.key)
    with pytest.raises(synthmark.OptionsError, match="cert= was given without its key"):
        synthmark.Stamper(cert=identity.cert)
    with pytest.raises(synthmark.OptionsError, match="a key was given without cert="):
        synthmark.Stamper(key=identity.key)


def test_keygen_mirrors_the_command_line(tmp_path):
    paths = synthmark.keygen(tmp_path / "id", alg="ed25519")
    assert [p.name for p in paths] == ["ca.pem", "cert.pem", "key.pem"]
    assert paths.key.stat().st_mode & 0o777 == 0o600
    assert synthmark.Signer(paths.cert, paths.key).alg == "ed25519"
    with pytest.raises(synthmark.IdentityError, match="pass force=True"):
        synthmark.keygen(tmp_path / "id")
    synthmark.keygen(tmp_path / "id", force=True)
    with pytest.raises(synthmark.OptionsError, match="es256"):
        synthmark.keygen(tmp_path / "other", alg="rsa")


def test_without_a_certificate_the_development_identity_signs_and_warns(private_data_home):
    with pytest.warns(synthmark.DevelopmentIdentityWarning, match="DEVELOPMENT identity") as caught:
        stamper = synthmark.Stamper()
    anchor = stamper.signer.trust_anchor
    assert stamper.signer.development_identity
    assert os.fspath(anchor) == os.fspath(private_data_home / "synthmark" / "dev-identity" / "ca.pem")
    assert str(anchor) in str(caught[0].message)
    with pytest.warns(synthmark.DevelopmentIdentityWarning) as again:
        same = synthmark.Signer.development()
    assert "created now" not in str(again[0].message)
    assert same.subject == stamper.signer.subject
    report = synthmark.Checker(trust=[anchor]).check(stamper.stamp(jpeg_420(seed=31)).data)
    assert (report["verdict"], report["trust"]) == ("labelled-ai", "trusted")
    # Nothing is logged by default: no registry file beside the identity.
    assert not (private_data_home / "synthmark" / "registry.sqlite").exists()


def test_bad_images_raise_input_error(stamper, tmp_path):
    with pytest.raises(synthmark.InputError, match="not a supported image"):
        stamper.stamp(b"GIF89 no, just text")
    with pytest.raises(synthmark.InputError, match=r"cannot read .*missing\.png"):
        stamper.stamp(tmp_path / "missing.png")
    truncated = jpeg_420(seed=32)[:3000]
    with pytest.raises(synthmark.InputError):
        stamper.stamp(truncated)
    tiny = picture(width=40, height=40, seed=32)
    with pytest.raises(synthmark.InputError, match="visible AI label cannot be drawn"):
        stamper.stamp(tiny, visible_label="ai-generated")


def test_what_is_not_an_image_is_a_type_error(stamper, checker):
    import numpy as np

    with pytest.raises(TypeError, match="PIL.Image.fromarray"):
        stamper.stamp(np.zeros((8, 8, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="got builtins.int"):
        checker.check(42)


def test_trust_anchors_and_registries_are_checked_when_built(tmp_path):
    with pytest.raises(synthmark.TrustAnchorError, match="cannot read trust anchors"):
        synthmark.Checker(trust=[tmp_path / "missing.pem"])
    not_pem = tmp_path / "anchors.pem"
    not_pem.write_text("hello")
    with pytest.raises(synthmark.TrustAnchorError, match="contains no PEM certificate"):
        synthmark.Checker(trust=not_pem)
    with pytest.raises(TypeError, match="PEM file paths"):
        synthmark.Checker(trust=[42])
    with pytest.raises(synthmark.RegistryError, match="only postgres://") as raised:
        synthmark.Checker(registry="mysql://user:hunter2@db/registry")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(synthmark.RegistryError) as raised:
        synthmark.Stamper(cert=None, key=None, signer=synthmark.Signer.from_pem(*_dev_pems(tmp_path)),
                          registry="postgres://synthmark:hunter2@127.0.0.1:1/registry")
    assert "hunter2" not in str(raised.value) and "***" in str(raised.value)
    assert "leave registry= out" in str(raised.value)


def _dev_pems(tmp_path):
    paths = synthmark.keygen(tmp_path / "pems")
    return paths.cert.read_text(), paths.key.read_text()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failing_tsa_raises_timestamp_error_unless_optional(identity, checker):
    url = f"http://127.0.0.1:{_closed_port()}/tsa"
    strict = synthmark.Stamper(cert=identity.cert, key=identity.key, tsa_url=url, tsa_timeout=2)
    with pytest.raises(synthmark.TimestampError) as raised:
        strict.stamp(jpeg_420(seed=33))
    assert f"no timestamp from {url}" in str(raised.value)
    assert "tsa_optional=True" in str(raised.value)
    lenient = synthmark.Stamper(cert=identity.cert, key=identity.key, tsa_url=url, tsa_optional=True)
    out = lenient.stamp(jpeg_420(seed=33))
    assert not out.timestamped
    assert any("WITHOUT a timestamp" in w for w in out.warnings), out.warnings
    assert checker.check(out.data)["verdict"] == "labelled-ai"
    with pytest.raises(synthmark.OptionsError, match="needs tsa_url="):
        synthmark.Stamper(cert=identity.cert, key=identity.key, tsa_optional=True)
    with pytest.raises(synthmark.OptionsError, match="tsa_timeout"):
        synthmark.Stamper(cert=identity.cert, key=identity.key, tsa_url=url, tsa_timeout=0)


def test_with_a_registry_every_output_is_logged_and_recognised_after_stripping(identity, tmp_path):
    from io import BytesIO

    from PIL import Image

    location = tmp_path / "registry.sqlite"
    stamper = synthmark.Stamper(cert=identity.cert, key=identity.key, registry=location)
    assert stamper.registry == str(location)
    out = stamper.stamp(jpeg_420(seed=34))
    assert isinstance(out.registry_entry, int)
    assert out.to_dict()["registry_entry"] == out.registry_entry

    checker = synthmark.Checker(trust=[identity.ca], registry=str(location))
    stripped = BytesIO()
    Image.open(BytesIO(out.data)).save(stripped, format="PNG")
    report = checker.check(stripped.getvalue())
    assert report["verdict"] == "unlabelled-ai"
    assert "registry" in report["rests_on"]
    assert report["recovered"] is not None
    matches = [e for e in report["evidence"] if e["layer"] == "registry" and e["finding"] == "registry-match"]
    assert matches and matches[0]["value"] == out.asset_id


def test_stamping_without_a_registry_logs_nothing(stamper):
    assert stamper.registry is None
    assert stamper.stamp(jpeg_420(seed=35)).registry_entry is None


def test_no_warning_when_signing_with_a_certificate(identity):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthmark.Stamper(cert=identity.cert, key=identity.key)
