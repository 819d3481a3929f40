"""Our PDFs as other validators see them: poppler's pdfsig and pyHanko's own
validation; the stamp placed where the act has no text (pdftotext -bbox)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from signing import pki
from signing.pades import sign_pdf
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from tests.services import require_command
from tests.unit.signing.test_pades import build_act_pdf

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def signed_pdfs(signer_rsa: pki.Issued, signer_ec: pki.Issued) -> dict[int, bytes]:
    once = sign_pdf(
        build_act_pdf(), Pkcs12Signer(signer_rsa.key, signer_rsa.cert, signer_rsa.chain)
    )
    twice = sign_pdf(once, Pkcs12Signer(signer_ec.key, signer_ec.cert, signer_ec.chain))
    return {1: once, 2: twice}


@pytest.fixture(scope="module")
def nss_db(
    tmp_path_factory: pytest.TempPathFactory,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
) -> str | None:
    """A temporary NSS database trusting the test root (certutil from libnss3-tools)."""
    certutil = shutil.which("certutil")
    if certutil is None:
        return None
    db = tmp_path_factory.mktemp("nss")
    subprocess.run([certutil, "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    for name, issued, trust in (
        ("root", pki_root, "CT,C,C"),
        ("inter", pki_intermediate, ",,"),
    ):
        pem = db / f"{name}.pem"
        pem.write_bytes(issued.pem)
        subprocess.run(
            [
                certutil,
                "-A",
                "-d",
                f"sql:{db}",
                "-n",
                name,
                "-t",
                trust,
                "-i",
                str(pem),
            ],
            check=True,
        )
    return f"sql:{db}"


@pytest.mark.parametrize("count", [1, 2])
def test_pdfsig_reports_valid_signatures(
    count: int, signed_pdfs: dict[int, bytes], nss_db: str | None, tmp_path: Path
) -> None:
    pdfsig = require_command("pdfsig")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdfs[count])
    args = [pdfsig, "-no-ocsp", *(["-nssdir", nss_db] if nss_db else []), str(path)]

    result = subprocess.run(
        args, capture_output=True, text=True, timeout=60, check=False
    )

    out = result.stdout
    assert out.count("Signature Validation: Signature is Valid.") == count, (
        out + result.stderr
    )
    trusted = out.count("Certificate Validation: Certificate is Trusted.")
    if nss_db:
        assert trusted == count, out
    else:
        assert out.count("Certificate issuer isn't Trusted.") + trusted == count, out
    assert out.count("Signature Type: ETSI.CAdES.detached") == count


@pytest.mark.parametrize("count", [1, 2])
def test_pyhanko_validates_our_signatures(
    count: int, signed_pdfs: dict[int, bytes], trust_store: TrustStore
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdfs[count]))
    context = trust_store.validation_context(revocation="soft")

    statuses = [validate_pdf_signature(s, context) for s in reader.embedded_signatures]

    assert len(statuses) == count
    for status in statuses:
        details = status.pretty_print_details()
        assert status.intact, details
        assert status.valid, details
        assert status.trusted, details
        assert status.docmdp_ok


def _text_boxes(pdf: bytes, tmp_path: Path) -> tuple[float, list[tuple[float, ...]]]:
    """Word boxes of page 1 in PDF coordinates (pdftotext -bbox is top-down)."""
    pdftotext = require_command("pdftotext")
    src = tmp_path / "act.pdf"
    src.write_bytes(pdf)
    html = subprocess.run(
        [pdftotext, "-bbox", "-f", "1", "-l", "1", str(src), "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    xhtml = re.sub(r'xmlns="[^"]+"', "", html)
    root = ET.fromstring(xhtml)  # noqa: S314 - our own tool's output
    page = root.find(".//page")
    assert page is not None
    height = float(page.attrib["height"])
    boxes = [
        (
            float(w.attrib["xMin"]),
            height - float(w.attrib["yMax"]),
            float(w.attrib["xMax"]),
            height - float(w.attrib["yMin"]),
        )
        for w in page.iter("word")
    ]
    return height, boxes


def test_stamps_cover_no_text(signed_pdfs: dict[int, bytes], tmp_path: Path) -> None:
    _, words = _text_boxes(build_act_pdf(), tmp_path)
    assert len(words) > 20
    reader = PdfFileReader(io.BytesIO(signed_pdfs[2]))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    stamps = [tuple(float(v) for v in a.get_object()["/Rect"]) for a in page["/Annots"]]

    assert len(stamps) == 2
    for sx1, sy1, sx2, sy2 in stamps:
        for wx1, wy1, wx2, wy2 in words:
            assert sx2 <= wx1 or wx2 <= sx1 or sy2 <= wy1 or wy2 <= sy1
