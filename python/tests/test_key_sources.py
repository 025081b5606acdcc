"""Keys that never touch disk unencrypted: an encrypted PKCS#8 key with its passphrase, a signing
command, a Python callable (a KMS SDK) and a key inside a SoftHSM2 token. Each signs a stamp
that reads labelled-ai / trusted, and no message shows a passphrase or a PIN."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import synthmark

from conftest import jpeg_420

PASSPHRASE = "correct horse battery staple"


def assert_trusted(checker, stamper, seed):
    report = checker.check(stamper.stamp(jpeg_420(seed=seed)).data)
    assert (report["verdict"], report["trust"]) == ("labelled-ai", "trusted"), report["explanation"]


def openssl_sign(key: Path, data: bytes) -> bytes:
    """An ECDSA P-256 signature (DER) by openssl, as a KMS would return it."""
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key)], input=data, capture_output=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def encrypted_key(identity, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("encrypted") / "key.enc.pem"
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(identity.key), "-out", str(path),
         "-passout", f"pass:{PASSPHRASE}"],
        check=True,
    )
    path.chmod(0o600)
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    return path


def test_an_encrypted_key_is_decrypted_in_memory_with_its_passphrase(identity, encrypted_key, checker):
    stamper = synthmark.Stamper(cert=identity.cert, key=encrypted_key, key_passphrase=PASSPHRASE)
    assert_trusted(checker, stamper, 40)
    signer = synthmark.Signer(identity.cert, encrypted_key, key_passphrase=PASSPHRASE)
    assert "redacted" in signer.key and PASSPHRASE not in repr(signer)
    from_pem = synthmark.Signer.from_pem(identity.cert.read_bytes(), encrypted_key.read_text(), key_passphrase=PASSPHRASE)
    assert from_pem.subject == signer.subject

    with pytest.raises(synthmark.IdentityError) as missing:
        synthmark.Stamper(cert=identity.cert, key=encrypted_key)
    assert "encrypted and no passphrase was given" in str(missing.value)
    assert "hint: pass key_passphrase=" in str(missing.value)
    with pytest.raises(synthmark.IdentityError) as wrong:
        synthmark.Signer(identity.cert, encrypted_key, key_passphrase="not it")
    assert str(encrypted_key) in str(wrong.value) and "not it" not in str(wrong.value)
    with pytest.raises(synthmark.IdentityError, match="not encrypted"):
        synthmark.Signer(identity.cert, identity.key, key_passphrase=PASSPHRASE)
    with pytest.raises(synthmark.OptionsError, match="give key= too"):
        synthmark.Stamper(cert=identity.cert, key_passphrase=PASSPHRASE)


def test_a_signing_command_signs_like_a_kms_client(identity, checker):
    words = ["openssl", "dgst", "-sha256", "-sign", str(identity.key)]
    stamper = synthmark.Stamper(cert=identity.cert, signer_cmd=words, signer_timeout=20)
    # The program is named, never its arguments (they may hold a token or a key alias).
    assert stamper.signer.key == "command `openssl`"
    assert str(identity.key) not in repr(stamper.signer) + stamper.signer.key
    assert_trusted(checker, stamper, 41)
    from_line = synthmark.Signer.command(identity.cert, " ".join(words))
    assert_trusted(checker, synthmark.Stamper(signer=from_line), 42)

    with pytest.raises(synthmark.IdentityError) as failing:
        synthmark.Stamper(cert=identity.cert, signer_cmd=["sh", "-c", "echo 'KMS says no' >&2; exit 3"])
    assert "exited with status 3" in str(failing.value) and "KMS says no" in str(failing.value)
    # The command is named once, by its program only.
    assert str(failing.value).count("command `sh`") == 1, str(failing.value)
    assert "exit 3" not in str(failing.value)
    # Sub-second timeouts are kept, not raised to a second.
    started = time.monotonic()
    with pytest.raises(synthmark.IdentityError, match=r"did not answer within 0\.3 s"):
        synthmark.Signer.command(identity.cert, ["sleep", "5"], timeout=0.3)
    assert time.monotonic() - started < 3
    with pytest.raises(synthmark.OptionsError, match="at least 0.01"):
        synthmark.Stamper(cert=identity.cert, signer_cmd=words, signer_timeout=0.001)
    with pytest.raises(synthmark.OptionsError, match="one key source"):
        synthmark.Stamper(cert=identity.cert, key=identity.key, signer_cmd=words)
    with pytest.raises(synthmark.OptionsError, match="give signer_cmd= too"):
        synthmark.Stamper(cert=identity.cert, key=identity.key, signer_timeout=5)


def test_a_python_callable_signs_from_stamping_threads(identity, checker):
    calls = []

    def kms_sign(data: bytes, alg: str) -> bytes:
        calls.append(alg)
        return openssl_sign(identity.key, data)

    signer = synthmark.Signer.external(identity.cert, kms_sign, description="example KMS key")
    assert signer.key == "example KMS key"
    stamper = synthmark.Stamper(signer=signer)
    with ThreadPoolExecutor(max_workers=3) as pool:
        outs = list(pool.map(lambda seed: stamper.stamp(jpeg_420(seed=seed)), range(43, 46)))
    for out in outs:
        assert checker.check(out.data)["verdict"] == "labelled-ai"
    # One probe when the signer was built, then one signature per image.
    assert calls == ["es256"] * 4

    # A KMS that fails after the probe: that stamp fails as the signer's fault, not the image's.
    outage = {"after_probe": False}

    def flaky(data: bytes, alg: str) -> bytes:
        if outage["after_probe"]:
            raise ConnectionError("KMS unreachable")
        outage["after_probe"] = True
        return openssl_sign(identity.key, data)

    flaky_stamper = synthmark.Stamper(signer=synthmark.Signer.external(identity.cert, flaky, description="kms key"))
    with pytest.raises(synthmark.StampError) as failed:
        flaky_stamper.stamp(jpeg_420(seed=46))
    assert not isinstance(failed.value, synthmark.InputError)
    assert "the signer kms key failed: ConnectionError: KMS unreachable" in str(failed.value)

    def refuses(data: bytes, alg: str) -> bytes:
        raise PermissionError("AccessDenied: kms:Sign")

    with pytest.raises(synthmark.IdentityError) as raised:
        synthmark.Signer.external(identity.cert, refuses)
    assert "PermissionError: AccessDenied: kms:Sign" in str(raised.value)
    assert "Python signer" in str(raised.value)
    with pytest.raises(synthmark.IdentityError, match="must return the signature as bytes"):
        synthmark.Signer.external(identity.cert, lambda data, alg: "text")
    with pytest.raises(TypeError, match="callable"):
        synthmark.Signer.external(identity.cert, b"not callable")


def softhsm_module():
    for candidate in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"):
        if os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def softhsm_token(identity, tmp_path_factory):
    """A SoftHSM2 token of its own (SOFTHSM2_CONF pointing at a temporary token directory)
    holding the test identity's key, imported with softhsm2-util."""
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("SoftHSM2 is not installed (Debian package softhsm2)")
        pytest.skip("SKIPPED: SoftHSM2 is not installed (Debian package softhsm2)")
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run = lambda *args: subprocess.run(["softhsm2-util", *args], check=True, capture_output=True)
    run("--init-token", "--free", "--label", "synthmark-py", "--pin", "4321", "--so-pin", "87654321")
    run("--import", str(identity.key), "--token", "synthmark-py", "--label", "signer", "--id", "01", "--pin", "4321")
    yield module
    if saved is None:
        del os.environ["SOFTHSM2_CONF"]
    else:
        os.environ["SOFTHSM2_CONF"] = saved


def test_a_key_inside_a_pkcs11_token_signs(identity, softhsm_token, checker):
    # A wrong PIN first: once a session of this process is logged in, PKCS#11 keeps the token
    # logged in for the whole process, whatever PIN later logins give.
    with pytest.raises(synthmark.IdentityError) as wrong_pin:
        synthmark.Signer.pkcs11(identity.cert, module=softhsm_token, token="synthmark-py", key_label="signer", pin="9999")
    assert "PKCS#11" in str(wrong_pin.value) and "9999" not in str(wrong_pin.value)

    stamper = synthmark.Stamper(
        cert=identity.cert,
        pkcs11=dict(module=softhsm_token, token="synthmark-py", key_label="signer", pin="4321"),
    )
    assert "PKCS#11" in stamper.signer.key and "4321" not in stamper.signer.key
    assert_trusted(checker, stamper, 46)
    by_id = synthmark.Signer.pkcs11(identity.cert, module=softhsm_token, token="synthmark-py", key_id="01", pin="4321")
    assert_trusted(checker, synthmark.Stamper(signer=by_id), 47)

    with pytest.raises(synthmark.OptionsError, match='unknown key "label"'):
        synthmark.Stamper(cert=identity.cert, pkcs11=dict(module=softhsm_token, token="t", label="signer"))
    with pytest.raises(synthmark.OptionsError, match="token= .* or slot="):
        synthmark.Stamper(cert=identity.cert, pkcs11=dict(module=softhsm_token, key_label="signer"))
    with pytest.raises(synthmark.OptionsError, match="not hex"):
        synthmark.Signer.pkcs11(identity.cert, module=softhsm_token, token="t", key_id="zz")
    # Key ids are read like the command line's --pkcs11-key-id: colons and 0x are accepted.
    by_prefixed_id = synthmark.Signer.pkcs11(identity.cert, module=softhsm_token, token="synthmark-py", key_id="0x01", pin="4321")
    assert by_prefixed_id.subject == by_id.subject
