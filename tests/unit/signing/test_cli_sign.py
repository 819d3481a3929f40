"""``python -m signing`` sign-cms / verify-cms / sign-pdf / verify-pdf: exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from signing import pki
from signing.cli import main
from signing.cms import sign_cms
from signing.signers import Pkcs12Signer
from tests.unit.signing.test_pades import build_act_pdf


@pytest.fixture
def files(
    tmp_path: Path,
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
) -> dict[str, Path]:
    paths = {
        "doc": tmp_path / "act.txt",
        "pdf": tmp_path / "act.pdf",
        "p12": tmp_path / "key.p12",
        "root": tmp_path / "root.pem",
        "inter": tmp_path / "inter.pem",
        "crl": tmp_path / "inter.crl",
        "other_root": tmp_path / "other.pem",
    }
    paths["doc"].write_bytes("Акт № 42".encode() * 100)
    paths["pdf"].write_bytes(build_act_pdf())
    paths["p12"].write_bytes(signer_rsa.pkcs12("пароль"))
    paths["root"].write_bytes(pki_root.pem)
    paths["inter"].write_bytes(pki_intermediate.pem)
    paths["crl"].write_bytes(crl_der)
    paths["other_root"].write_bytes(pki.make_root_ca("Чужой УЦ").pem)
    return paths


def _trust(files: dict[str, Path], root: str = "root") -> list[str]:
    return [
        "--trust", str(files[root]), "--intermediate", str(files["inter"]),
        "--crl", str(files["crl"]), "--offline",
    ]  # fmt: skip


def _key(files: dict[str, Path]) -> list[str]:
    return ["--p12", str(files["p12"]), "--password", "пароль"]


def test_sign_and_verify_cms(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sig = tmp_path / "act.txt.sig"

    assert (
        main(["sign-cms", str(files["doc"]), "-o", str(sig), *_key(files), "--json"])
        == 0
    )
    signed = json.loads(capsys.readouterr().out)
    assert signed["signer"]["owner"] == "Иванов Иван Иванович"

    assert main(["verify-cms", str(files["doc"]), str(sig), *_trust(files)]) == 0
    out = capsys.readouterr().out
    assert "Результат: подпись действительна" in out

    assert (
        main(["verify-cms", str(files["doc"]), str(sig), *_trust(files), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["verdict"] == "valid"

    files["doc"].write_bytes(files["doc"].read_bytes() + b".")
    assert main(["verify-cms", str(files["doc"]), str(sig), *_trust(files)]) == 1
    assert "[digest_mismatch]" in capsys.readouterr().out


def test_verify_cms_untrusted_is_indeterminate(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sig = tmp_path / "a.sig"
    assert (
        main(["sign-cms", str(files["doc"]), "-o", str(sig), *_key(files), "--pss"])
        == 0
    )

    code = main(
        ["verify-cms", str(files["doc"]), str(sig), *_trust(files, "other_root")]
    )

    assert code == 2
    assert "не установлена" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["verify-cms", "{doc}", "{doc}"],  # the document is not a signature
        ["verify-cms", "{doc}", "{missing}"],  # no such file
        ["verify-pdf", "{doc}"],  # not a PDF
    ],
)
def test_garbage_input_exits_3_with_a_message(
    argv: list[str],
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = {"doc": files["doc"], "missing": tmp_path / "missing.sig"}
    args = [a.format(**names) for a in argv]

    assert main([*args, *_trust(files)]) == 3

    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_wrong_password_and_missing_key_exit_3(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.sig")
    bad = ["--p12", str(files["p12"]), "--password", "wrong"]

    assert main(["sign-cms", str(files["doc"]), "-o", out, *bad]) == 3
    assert "wrong password" in capsys.readouterr().err
    assert main(["sign-cms", str(files["doc"]), "-o", out]) == 3
    assert "no key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(
            ["sign-cms", str(files["doc"]), "-o", out, *_key(files), "--digest", "sha1"]
        )
    assert exc.value.code == 3  # argparse refuses SHA-1 before anything is read


def test_sign_and_verify_pdf(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    once = tmp_path / "once.pdf"
    twice = tmp_path / "twice.pdf"

    assert (
        main(["sign-pdf", str(files["pdf"]), "-o", str(once), *_key(files), "--stamp"])
        == 0
    )
    assert (
        main(
            [
                "sign-pdf",
                str(once),
                "-o",
                str(twice),
                *_key(files),
                "--reason",
                "Согласовано",
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert main(["verify-pdf", str(twice), *_trust(files)]) == 0
    out = capsys.readouterr().out
    assert "Подпись «Signature1» действительна" in out
    assert "Подпись «Signature2» действительна" in out

    assert main(["verify-pdf", str(twice), *_trust(files), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["modification_level"] for s in report["signatures"]] == [
        "form_filling",
        "none",
    ]

    assert main(["verify-pdf", str(twice), *_trust(files, "other_root")]) == 2


def test_verify_pdf_without_signatures_and_tampered(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify-pdf", str(files["pdf"]), *_trust(files)]) == 1
    assert "не содержит электронных подписей" in capsys.readouterr().out

    signed = tmp_path / "signed.pdf"
    assert main(["sign-pdf", str(files["pdf"]), "-o", str(signed), *_key(files)]) == 0
    data = signed.read_bytes()
    signed.write_bytes(data.replace(b"/Type /Catalog", b"/Type /Catalof", 1))
    assert main(["verify-pdf", str(signed), *_trust(files)]) == 1


def test_verify_cms_refuses_a_revoked_key_that_claims_an_earlier_time(
    files: dict[str, Path],
    tmp_path: Path,
    signer_revoked: pki.Issued,
    pki_now: dt.datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Revoked a day ago (key compromise); the signature claims 10 days back:
    # the claim is not a proof, the certificate is checked for now.
    sig = tmp_path / "backdated.sig"
    sig.write_bytes(
        sign_cms(
            files["doc"].read_bytes(),
            Pkcs12Signer(signer_revoked.key, signer_revoked.cert, signer_revoked.chain),
            signing_time=pki_now - dt.timedelta(days=10),
        )
    )

    code = main(["verify-cms", str(files["doc"]), str(sig), *_trust(files)])

    out = capsys.readouterr().out
    assert code == 1
    assert "[revoked]" in out
    assert "заявленное время подписания" in out
    assert "не подтверждено штампом времени" in out
