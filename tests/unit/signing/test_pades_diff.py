"""The difference analysis after a signature: the fast path for the updates
the service writes (:mod:`signing.pdf_diff`) judges them as pyHanko's policy
does, and everything else still goes to pyHanko and is still refused."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import xmp_xml
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign import signers
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    DiffPolicy,
    DiffResult,
    ModificationLevel,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

import signing.pades
from signing import pki
from signing.pades import _SIGNATURES_ONLY, add_long_term_data, sign_pdf, verify_pdf
from signing.pdf_diff import DocumentDiffs, FastDiffPolicy
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority
from tests.unit.signing.test_pades import build_act_pdf

FORGED = b"BT /F1 12 Tf 60 780 Td (AKT No 43: 1 kWh, 0.01 RUB) Tj ET"


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=True)


def _verdict(result: object) -> object:
    if isinstance(result, DiffResult):
        return result.modification_level, sorted(result.changed_form_fields)
    return "suspicious"


def _signed_revisions(pdf: bytes) -> list[int]:
    reader = _reader(pdf)
    return sorted(
        {
            int(emb.signed_revision)
            for emb in reader.embedded_signatures
            if emb.signed_revision < reader.xrefs.total_revisions - 1
        }
    )


def _compare(pdf: bytes, fallback: DiffPolicy) -> list[tuple[object, object]]:
    """(fast, pyHanko) for every signed revision that later ones follow."""
    pairs = []
    for base in _signed_revisions(pdf):
        reader = _reader(pdf)
        fast = FastDiffPolicy(fallback, DocumentDiffs(reader, pdf))
        pairs.append(
            (
                _verdict(fast.review_file(reader, base)),
                _verdict(fallback.review_file(_reader(pdf), base)),
            )
        )
    return pairs


def _recognised(pdf: bytes) -> list[bool]:
    reader = _reader(pdf)
    diffs = DocumentDiffs(reader, pdf)
    return [diffs.result(k) is not None for k in range(1, reader.xrefs.total_revisions)]


def _lta(pdf: bytes, trust: TrustStore, tsa: TimeStampAuthority) -> bytes:
    data = verify_pdf(pdf, trust).signatures[-1].signer.validation_data
    return add_long_term_data(pdf, data, timestamper=tsa)


def _hanko_signer(issued: pki.Issued) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(issued.der),
        signing_key=keys.PrivateKeyInfo.load(
            issued.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [
                asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
                for c in issued.chain
            ]
        ),
    )


def _sign_with(writer: IncrementalPdfFileWriter, issued: pki.Issued) -> bytes:
    """pyHanko signs whatever else the writer holds in the same revision."""
    meta = signers.PdfSignatureMetadata(field_name="Signature2")
    out = signers.sign_pdf(writer, meta, signer=_hanko_signer(issued))
    return out.getvalue()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def signed_once(signer_rsa: pki.Issued) -> bytes:
    return sign_pdf(build_act_pdf(), _signer(signer_rsa))


# --------------------------------------------------------------------------
# The service's own updates: recognised, and judged as pyHanko judges them
# --------------------------------------------------------------------------

DOCUMENTS: dict[str, Callable[..., bytes]] = {
    "two-stamps": lambda once, rsa, ec, trust, tsa: sign_pdf(once, _signer(rsa)),
    "two-invisible": lambda once, rsa, ec, trust, tsa: sign_pdf(
        sign_pdf(build_act_pdf(), _signer(rsa), stamp=False), _signer(rsa), stamp=False
    ),
    # pyHanko writes XMP /Metadata and an ISO 32002 extension for ECDSA.
    "then-ecdsa": lambda once, rsa, ec, trust, tsa: sign_pdf(once, _signer(ec)),
    # The flow: B-T, DSS, document time-stamp; twice.
    "b-lta-twice": lambda once, rsa, ec, trust, tsa: _lta(
        sign_pdf(
            _lta(sign_pdf(build_act_pdf(), _signer(rsa), timestamper=tsa), trust, tsa),
            _signer(ec),
            timestamper=tsa,
        ),
        trust,
        tsa,
    ),
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_the_services_updates_are_recognised_and_judged_as_pyhanko_does(
    name: str,
    signed_once: bytes,
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    trust_store: TrustStore,
    tsa: TimeStampAuthority,
) -> None:
    pdf = DOCUMENTS[name](signed_once, signer_rsa, signer_ec, trust_store, tsa)

    assert all(_recognised(pdf)), _recognised(pdf)
    for policy in (DEFAULT_DIFF_POLICY, _SIGNATURES_ONLY):
        pairs = _compare(pdf, policy)
        assert pairs
        for fast, full in pairs:
            assert fast == full
    assert verify_pdf(pdf, trust_store).verdict is Verdict.VALID


def test_an_invisible_time_stamp_is_an_lta_update_and_a_stamp_form_filling(
    signer_rsa: pki.Issued, trust_store: TrustStore, tsa: TimeStampAuthority
) -> None:
    signed = sign_pdf(build_act_pdf(), _signer(signer_rsa), timestamper=tsa)
    archived = _lta(signed, trust_store, tsa)
    reader = _reader(archived)
    diffs = DocumentDiffs(reader, archived)

    signature, dss, stamp = (
        diffs.result(k) for k in range(1, reader.xrefs.total_revisions)
    )

    assert signature is not None and dss is not None and stamp is not None
    assert _verdict(signature) == (ModificationLevel.FORM_FILLING, ["Signature1"])
    assert _verdict(dss) == (ModificationLevel.LTA_UPDATES, [])
    assert _verdict(stamp) == (ModificationLevel.LTA_UPDATES, [])


def test_other_updates_go_to_pyhanko_and_get_its_verdict(
    signer_rsa: pki.Issued, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    # Cross-reference streams are left to pyHanko; the verdict is the same.
    reader = PdfFileReader(io.BytesIO(build_act_pdf()), strict=False)
    writer = copy_into_new_writer(reader, writer_kwargs={"stream_xrefs": True})
    out = io.BytesIO()
    writer.write(out)
    both = sign_pdf(sign_pdf(out.getvalue(), _signer(signer_rsa)), _signer(signer_ec))

    assert not any(_recognised(both))
    for fast, full in _compare(both, DEFAULT_DIFF_POLICY):
        assert fast == full
    assert verify_pdf(both, trust_store).verdict is Verdict.VALID


# --------------------------------------------------------------------------
# What a second revision must not do, however it comes
# --------------------------------------------------------------------------


def test_a_second_signature_that_also_changes_the_page_content_is_refused(
    signed_once: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_once), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=FORGED))
    writer.update_container(page)
    attack = _sign_with(writer, signer_ec)

    assert _recognised(attack) == [True, False]
    report = verify_pdf(attack, trust_store)

    first, second = report.signatures
    assert first.verdict is Verdict.INVALID
    assert "modified_after_signing" in first.codes
    assert first.modification_level == "other"
    assert second.intact
    assert report.verdict is Verdict.INVALID


def test_a_second_signature_that_rewrites_the_content_stream_is_refused(
    signed_once: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    # The same object number, new bytes: the page dictionary is untouched.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_once), strict=False)
    content = writer.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    writer.objects[(content.generation, content.idnum)] = generic.StreamObject(
        stream_data=FORGED
    )
    attack = _sign_with(writer, signer_ec)

    assert _recognised(attack) == [True, False]
    first, _ = verify_pdf(attack, trust_store).signatures
    assert first.verdict is Verdict.INVALID
    assert "modified_after_signing" in first.codes


def test_a_second_signature_with_another_annotation_is_not_valid(
    signed_once: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_once), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    note = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/FreeText"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.FloatObject(v) for v in (55, 590, 560, 640)
                ),
                pdf_name("/Contents"): generic.TextStringObject("1 кВт·ч"),
                pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
    )
    page["/Annots"] = generic.ArrayObject([*page["/Annots"], note])
    writer.update_container(page)
    attack = _sign_with(writer, signer_ec)

    assert _recognised(attack) == [True, False]
    first, _ = verify_pdf(attack, trust_store).signatures
    assert first.verdict is not Verdict.VALID


def test_an_update_that_defines_an_object_the_signed_revision_named_is_refused(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    # The signed page draws /Fm1, object 500, which does not exist when it is
    # signed (a reference to nothing reads as null). An update that only adds
    # object 500 changes the page without touching a signed object.
    writer = IncrementalPdfFileWriter(io.BytesIO(build_act_pdf()), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Resources"][pdf_name("/XObject")] = generic.DictionaryObject(
        {pdf_name("/Fm1"): generic.IndirectObject(500, 0, writer)}
    )
    draw = writer.add_object(generic.StreamObject(stream_data=b"q /Fm1 Do Q"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), draw])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    signed = sign_pdf(out.getvalue(), _signer(signer_rsa))
    assert verify_pdf(signed, trust_store).verdict is Verdict.VALID
    root = _reader(signed).trailer.raw_get("/Root").idnum
    body = (
        b"500 0 obj\n<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] "
        b"/Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(FORGED), FORGED)
    )
    prev = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", signed)[-1])
    attack = (
        signed
        + body
        + b"xref\n0 1\n0000000000 65535 f \n500 1\n%010d 00000 n \n" % len(signed)
        + b"trailer\n<< /Size 501 /Root %d 0 R /Prev %d >>\n" % (root, prev)
        + b"startxref\n%d\n%%%%EOF\n" % (len(signed) + len(body))
    )

    assert _recognised(attack)[-1] is False
    (sig,) = verify_pdf(attack, trust_store).signatures
    assert sig.verdict is Verdict.INVALID


# --------------------------------------------------------------------------
# Signature dictionaries read without pyHanko's per-digit hex reader
# --------------------------------------------------------------------------


def test_signature_dictionaries_are_read_as_pyhanko_reads_them(
    signed_once: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    both = sign_pdf(signed_once, _signer(signer_ec))
    reader = signing.pades._open_reader(both)
    ranges = signing.pades.pdf_structure.find_signed_ranges(both)

    signing.pades._preload_signature_dictionaries(reader, both, ranges)

    plain = _reader(both)
    preloaded = [e.sig_object for e in reader.embedded_signatures]
    assert len(preloaded) == 2
    for mine, theirs in zip(
        preloaded, (e.sig_object for e in plain.embedded_signatures), strict=True
    ):
        assert mine.keys() == theirs.keys()
        for key in theirs:
            assert mine.raw_get(key) == theirs.raw_get(key), key
        assert len(mine["/Contents"]) > 1000


def test_a_contents_string_with_a_comment_is_left_to_pyhanko(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    # "%" inside a hex string starts a comment for pyHanko's reader: such a
    # string is not decoded here (and the gap check refuses the signature).
    ((_, a, b, _),) = signing.pades.pdf_structure.find_signed_ranges(signed_once)
    damaged = signed_once[: b - 3] + b"%" + signed_once[b - 2 :]
    reader = signing.pades._open_reader(damaged)

    signing.pades._preload_signature_dictionaries(
        reader, damaged, signing.pades.pdf_structure.find_signed_ranges(damaged)
    )

    value = _reader(signed_once).embedded_signatures[0].sig_field.raw_get("/V")
    assert (value.generation, value.idnum) not in reader.resolved_objects
    assert verify_pdf(damaged, trust_store).verdict is Verdict.INVALID


def test_verifying_leaves_pyhankos_reader_as_shipped(
    signed_once: bytes, trust_store: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = generic.read_hex_string_from_stream
    seen = []
    verify_embedded = signing.pades._verify_embedded

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(generic.read_hex_string_from_stream)
        return verify_embedded(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(signing.pades, "_verify_embedded", spy)

    assert verify_pdf(signed_once, trust_store).verdict is Verdict.VALID
    assert seen == [shipped]
    assert generic.read_hex_string_from_stream is shipped


def _rewrite(pdf: bytes, number: int, data: bytes) -> bytes:
    """An update that writes new bytes into stream ``number`` and nothing
    else (as pyHanko's writer renews its XMP in every update)."""
    reader = _reader(pdf)
    body = (
        b"%d 0 obj\n<< /Type /Metadata /Subtype /XML /Length %d >>\n"
        b"stream\n%s\nendstream\nendobj\n" % (number, len(data), data)
    )
    prev = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", pdf)[-1])
    return (
        pdf
        + body
        + b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (number, len(pdf))
        + b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\n"
        % (int(reader.trailer["/Size"]), reader.trailer.raw_get("/Root").idnum, prev)
        + b"startxref\n%d\n%%%%EOF\n" % (len(pdf) + len(body))
    )


def test_xmp_rewritten_in_place_is_recognised_only_when_the_catalog_alone_names_it(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    xmp = xmp_xml.update_xmp_with_meta(DocumentMetadata(title="Акт № 42"))
    first = xmp_xml.MetadataStream.from_xmp(xmp)

    def signed(*, also_drawn: bool) -> tuple[bytes, int]:
        writer = IncrementalPdfFileWriter(io.BytesIO(build_act_pdf()), strict=False)
        ref = writer.add_object(first)
        writer.root["/Metadata"] = ref
        writer.update_root()
        if also_drawn:  # the same stream is a content stream of the page too
            page = writer.root["/Pages"]["/Kids"][0].get_object()
            page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), ref])
            writer.update_container(page)
        out = io.BytesIO()
        writer.write(out)
        # Invisible: placing a stamp reads the page's content streams, after
        # which pyHanko's writer no longer takes the stream for its XMP.
        return sign_pdf(out.getvalue(), _signer(signer_rsa), stamp=False), ref.idnum

    changed = first.data.replace("Акт № 42".encode(), "Акт № 43".encode())
    plain = _rewrite(*signed(also_drawn=False), changed)
    drawn = _rewrite(*signed(also_drawn=True), changed)

    assert _recognised(plain)[-1] is True
    assert _recognised(drawn)[-1] is False
    for pdf in (plain, drawn):
        pairs = _compare(pdf, DEFAULT_DIFF_POLICY)
        assert pairs
        for fast, full in pairs:
            assert fast == full
    assert verify_pdf(plain, trust_store).verdict is Verdict.VALID
    assert verify_pdf(drawn, trust_store).verdict is Verdict.INVALID
