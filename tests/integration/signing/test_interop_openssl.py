"""CMS interoperability with OpenSSL: its signatures verify here, ours verify there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from signing import pki
from signing.cms import sign_cms, verify_cms
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from tests.services import require_command

pytestmark = pytest.mark.integration

_PEM = Encoding.PEM
CONTENT = "Счёт-фактура № 17 от 31.10.2026\n".encode() * 2000


@pytest.fixture
def workdir(tmp_path: Path, pki_root: pki.Issued, pki_intermediate: pki.Issued) -> Path:
    (tmp_path / "content.bin").write_bytes(CONTENT)
    (tmp_path / "ca.pem").write_bytes(pki_root.pem + pki_intermediate.pem)
    return tmp_path


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_command("openssl"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("cades", [False, True], ids=["cms", "cades"])
@pytest.mark.parametrize("key", ["signer_rsa", "signer_ec"])
def test_openssl_signature_verifies(
    key: str,
    cades: bool,
    workdir: Path,
    request: pytest.FixtureRequest,
    trust_store: TrustStore,
) -> None:
    issued: pki.Issued = request.getfixturevalue(key)
    (workdir / "signer.pem").write_bytes(issued.pem)
    (workdir / "signer.key").write_bytes(issued.key_pem)
    (workdir / "chain.pem").write_bytes(
        b"".join(c.public_bytes(_PEM) for c in issued.chain)
    )
    sig = workdir / "content.sig"

    result = _openssl(
        "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
        "-in", str(workdir / "content.bin"), "-signer", str(workdir / "signer.pem"),
        "-inkey", str(workdir / "signer.key"), "-certfile", str(workdir / "chain.pem"),
        "-out", str(sig), *(["-cades"] if cades else []),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    report = verify_cms(CONTENT, sig.read_bytes(), trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    signer = report.signers[0]
    assert signer.signing_certificate_attribute == ("match" if cades else "absent")
    assert signer.signing_time is not None  # OpenSSL adds signingTime
    assert (
        verify_cms(CONTENT + b"x", sig.read_bytes(), trust_store).verdict
        is Verdict.INVALID
    )


@pytest.mark.parametrize(
    ("key", "rsa_pss", "digest"),
    [
        ("signer_rsa", False, "sha256"),
        ("signer_rsa", True, "sha512"),
        ("signer_ec", False, "sha384"),
    ],
)
def test_our_signature_verifies_with_openssl(
    key: str, rsa_pss: bool, digest: str, workdir: Path, request: pytest.FixtureRequest
) -> None:
    issued: pki.Issued = request.getfixturevalue(key)
    signer = Pkcs12Signer(issued.key, issued.cert, issued.chain, rsa_pss=rsa_pss)
    sig = workdir / "ours.sig"
    sig.write_bytes(sign_cms(CONTENT, signer, digest=digest))

    result = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig),
        "-content", str(workdir / "content.bin"), "-CAfile", str(workdir / "ca.pem"),
        "-purpose", "any", "-out", str(workdir / "out.bin"),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    (workdir / "content.bin").write_bytes(CONTENT + b"x")
    tampered = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig),
        "-content", str(workdir / "content.bin"), "-CAfile", str(workdir / "ca.pem"),
        "-purpose", "any", "-out", str(workdir / "out.bin"),
    )  # fmt: skip
    assert tampered.returncode != 0
