"""Signing with a key on a PKCS#11 token: SoftHSM2 in a temporary directory.

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when python-pkcs11 loads the module into
a process; the signing therefore runs in a child process (the CLI), which
keeps xdist workers independent of each other's tokens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signing import pki
from signing.cms import verify_cms
from signing.pades import verify_pdf
from signing.reports import Verdict
from signing.trust import TrustStore
from tests.services import require_command
from tests.unit.signing.test_pades import build_act_pdf

pytestmark = pytest.mark.integration

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


@pytest.fixture(scope="module")
def token(
    tmp_path_factory: pytest.TempPathFactory,
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    pki_intermediate: pki.Issued,
) -> dict[str, str]:
    """A token «docflow» with an RSA key «rsa» and a P-256 key «ec», their
    certificates and the intermediate CA; returns the child's environment."""
    softhsm = require_command("softhsm2-util")
    tool = require_command("pkcs11-tool")
    if not Path(MODULE).exists():
        pytest.skip(f"{MODULE} is missing")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}

    def run(*args: str) -> None:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"

    run(
        softhsm,
        "--init-token",
        "--free",
        "--label",
        "docflow",
        "--pin",
        PIN,
        "--so-pin",
        "5678",
    )
    objects = [
        ("rsa", "01", signer_rsa),
        ("ec", "02", signer_ec),
        ("ca", "03", pki_intermediate),
    ]
    for label, key_id, issued in objects:
        cert = root / f"{label}.der"
        cert.write_bytes(issued.der)
        if label != "ca":
            key = root / f"{label}.key"
            key.write_bytes(issued.key_pem)  # PKCS#8
            run(
                softhsm, "--import", str(key), "--token", "docflow",
                "--label", label, "--id", key_id, "--pin", PIN,
            )  # fmt: skip
        run(
            tool, "--module", MODULE, "--login", "--pin", PIN,
            "--token-label", "docflow", "--write-object", str(cert),
            "--type", "cert", "--id", key_id, "--label", label,
        )  # fmt: skip
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signing", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip


def _token_args(label: str, pin: str = PIN) -> list[str]:
    return [
        "--pkcs11-lib",
        MODULE,
        "--token",
        "docflow",
        "--pin",
        pin,
        "--key-label",
        label,
    ]


# One child process does all the library-level signing (each child pays for
# importing pyHanko); the tests below read what it wrote.
_CHILD = """
import json, sys
from pathlib import Path
from signing.cms import sign_cms
from signing.errors import SigningError
from signing.pades import sign_pdf
from signing.pkcs11 import Pkcs11Signer

module, pin, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
content = (out / "content.bin").read_bytes()
keys = (("rsa", "rsa", False), ("rsa-pss", "rsa", True), ("ec", "ec", False))
for name, label, pss in keys:
    with Pkcs11Signer(module, "docflow", pin, key_label=label, rsa_pss=pss) as signer:
        (out / f"{name}.sig").write_bytes(sign_cms(content, signer, digest="sha384"))
pdf = (out / "act.pdf").read_bytes()
with Pkcs11Signer(module, "docflow", pin, key_id=bytes([1])) as rsa:
    pdf = sign_pdf(pdf, rsa)
with Pkcs11Signer(module, "docflow", pin, key_label="ec") as ec:
    pdf = sign_pdf(pdf, ec)
(out / "signed.pdf").write_bytes(pdf)
errors = {}
for case, token, pin_, label in (
    ("pin", "docflow", "0000", "rsa"),
    ("key", "docflow", pin, "nope"),
    ("token", "absent", pin, "rsa"),
):
    try:
        Pkcs11Signer(module, token, pin_, key_label=label).close()
        errors[case] = None
    except SigningError as exc:
        errors[case] = [type(exc).__name__, str(exc)]
(out / "errors.json").write_text(json.dumps(errors))
"""


@pytest.fixture(scope="module")
def signed_on_token(
    token: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("signed")
    (out / "content.bin").write_bytes(CONTENT)
    (out / "act.pdf").write_bytes(build_act_pdf())
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, MODULE, PIN, str(out)],
        env=token, capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


CONTENT = "Акт сверки".encode() * 500


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [("rsa", "RSA PKCS#1 v1.5"), ("rsa-pss", "RSA-PSS"), ("ec", "ECDSA")],
)
def test_cms_signed_on_the_token_verifies(
    name: str, algorithm: str, signed_on_token: Path, trust_store: TrustStore
) -> None:
    report = verify_cms(
        CONTENT, (signed_on_token / f"{name}.sig").read_bytes(), trust_store
    )

    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signer,) = report.signers
    assert signer.signature_algorithm == algorithm
    assert signer.digest_algorithm == "sha384"
    assert len(signer.chain) == 3  # the intermediate came from the token


def test_pdf_signed_on_the_token_verifies(
    signed_on_token: Path, trust_store: TrustStore
) -> None:
    report = verify_pdf((signed_on_token / "signed.pdf").read_bytes(), trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    assert [
        s.certificate.public_key_algorithm for s in report.signatures if s.certificate
    ] == [
        "rsa",
        "ec",
    ]


def test_token_errors_are_key_load_errors(signed_on_token: Path) -> None:
    errors = json.loads((signed_on_token / "errors.json").read_text())

    assert errors["pin"] == ["KeyLoadError", "wrong PIN for the token 'docflow'"]
    assert errors["key"][0] == "KeyLoadError"
    assert "private key nope" in errors["key"][1]
    assert errors["token"][0] == "KeyLoadError"
    assert "cannot open the token 'absent'" in errors["token"][1]


def test_cli_signs_with_the_token(
    token: dict[str, str], tmp_path: Path, trust_store: TrustStore
) -> None:
    content = tmp_path / "act.txt"
    content.write_bytes(CONTENT)
    sig = tmp_path / "act.sig"

    done = _cli(token, "sign-cms", str(content), "-o", str(sig), *_token_args("ec"))
    bad = _cli(
        token, "sign-cms", str(content), "-o", str(sig), *_token_args("rsa", pin="0")
    )

    assert done.returncode == 0, done.stderr
    assert verify_cms(CONTENT, sig.read_bytes(), trust_store).verdict is Verdict.VALID
    assert bad.returncode == 3
    assert "wrong PIN" in bad.stderr
    assert "Traceback" not in bad.stderr
