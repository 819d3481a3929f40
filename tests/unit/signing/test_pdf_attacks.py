"""The published attacks on PDF signatures (pdf-insecurity.org), refused.

Every attack file is built here from a document signed with ``sign_pdf``:

* ISA, incremental saving (Mladenov et al., CCS 2019): content appended after
  the signed range, as a proper update, as trailing bytes, with a broken
  cross-reference or with a ``/Prev`` that does not chain;
* SWA, signature wrapping (same paper): objects moved into the gap of the
  byte range; a signed range that does not end at ``%%EOF``;
* USF, universal signature forgery (same paper): a damaged ``/ByteRange`` or
  ``/Contents``;
* shadow attacks hide / replace / hide-and-replace (Mainka et al., NDSS 2021):
  overlays, form values and whole object sets changed after signing.

Each is INVALID with its reason code; the legitimate flow (two signatures with
stamps, B-T, a DSS and a document time-stamp) stays VALID.
"""

from __future__ import annotations

import binascii
import io
import re
import zlib

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
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import DummyTimeStamper

from signing import pki
from signing.cms import sign_cms
from signing.pades import add_long_term_data, sign_pdf, verify_pdf
from signing.pdf_structure import (
    ProblemKind,
    check_signed_range,
    find_signed_ranges,
)
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority
from signing.verification import PdfReport
from tests.unit.signing.test_pades import build_act_pdf

FORGED = b"BT /F1 12 Tf 60 780 Td (AKT No 43: 1 kWh, 0.01 RUB) Tj ET"


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _startxref(pdf: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", pdf)[-1])


def _rect(*values: float) -> generic.ArrayObject:
    return generic.ArrayObject(generic.FloatObject(v) for v in values)


def _appearance(
    writer: IncrementalPdfFileWriter, text: bytes, *, opaque: bool = False
) -> generic.IndirectObject:
    ops = b"1 1 1 rg 0 0 200 30 re f " if opaque else b""
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): _rect(0, 0, 200, 30),
        },
        stream_data=ops + b"BT /Helv 12 Tf 2 10 Td (" + text + b") Tj ET",
    )
    return writer.add_object(stream)


def _with_text_field(pdf: bytes) -> bytes:
    """The act with a text field «amount» holding the sum (before signing)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    field = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/FT"): pdf_name("/Tx"),
                pdf_name("/T"): generic.TextStringObject("amount"),
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/Rect"): _rect(300, 600, 500, 630),
                pdf_name("/F"): generic.NumberObject(4),
                pdf_name("/P"): page_ref,
                pdf_name("/V"): generic.TextStringObject("98 765,43"),
                pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
                pdf_name("/AP"): generic.DictionaryObject(
                    {pdf_name("/N"): _appearance(writer, b"98 765,43")}
                ),
            }
        )
    )
    page["/Annots"] = generic.ArrayObject([field])
    writer.update_container(page)
    writer.root["/AcroForm"] = generic.DictionaryObject(
        {pdf_name("/Fields"): generic.ArrayObject([field])}
    )
    writer.update_root()
    return _write(writer)


def _change_field(pdf: bytes, *, value: bytes | None, opaque: bool = False) -> bytes:
    """Fill «amount» with ``value`` (replace), or only give it a new opaque
    appearance (hide: a form overlay over the signed text)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field["/T"] == "amount":
            if value is not None:
                field["/V"] = generic.TextStringObject(value.decode())
            field["/AP"] = generic.DictionaryObject(
                {pdf_name("/N"): _appearance(writer, value or b"", opaque=opaque)}
            )
            writer.update_container(field)
    return _write(writer)


def _replace_content(pdf: bytes) -> bytes:
    """A proper incremental update that gives the page a new content stream."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=FORGED))
    writer.update_container(page)
    return _write(writer)


def _overlay(pdf: bytes) -> bytes:
    """Shadow hide: a new XObject drawn over the act's figures, with new text."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    xobject = writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): _rect(0, 0, 595, 842),
            },
            stream_data=b"1 1 1 rg 55 590 505 50 re f 0 g " + FORGED,
        )
    )
    resources = page["/Resources"]
    resources[pdf_name("/XObject")] = generic.DictionaryObject(
        {pdf_name("/Shadow"): xobject}
    )
    draw = writer.add_object(generic.StreamObject(stream_data=b"q /Shadow Do Q"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), draw])
    writer.update_container(page)
    return _write(writer)


def _root(pdf: bytes) -> bytes:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return b"%d 0 R" % reader.trailer.raw_get("/Root").idnum


def _update_section(
    pdf: bytes,
    entries: dict[int, int],
    *,
    root: bytes,
    size: int = 64,
    prev: int | None = None,
    free: tuple[int, ...] = (),
) -> bytes:
    """A hand-written incremental update without a body: a cross-reference
    table with ``entries`` (object → offset) and ``free`` objects, a trailer."""
    start = len(pdf)
    table = b"xref\n0 1\n0000000000 65535 f \n"
    for num in free:
        table += b"%d 1\n0000000000 00001 f \n" % num
    for num, offset in sorted(entries.items()):
        table += b"%d 1\n%010d 00000 n \n" % (num, offset)
    prev_entry = b"" if prev is None else b" /Prev %d" % prev
    return (
        pdf
        + table
        + b"trailer\n<< /Size %d /Root %s%s >>\n" % (size, root, prev_entry)
        + b"startxref\n%d\n%%%%EOF\n" % start
    )


def _structure_kinds(report: PdfReport) -> set[str]:
    kinds = set()
    for reason in (*report.reasons, *(r for s in report.signatures for r in s.reasons)):
        value = reason.details.get("structure")
        if isinstance(value, str):
            kinds.add(value)
        elif isinstance(value, list):
            kinds.update(str(v) for v in value)
    return kinds


@pytest.fixture(scope="module")
def signed_once(signer_rsa: pki.Issued) -> bytes:
    return sign_pdf(build_act_pdf(), _signer(signer_rsa), reason="Согласовано")


@pytest.fixture(scope="module")
def signed_twice(signed_once: bytes, signer_ec: pki.Issued) -> bytes:
    return sign_pdf(signed_once, _signer(signer_ec), location="Москва")


@pytest.fixture(scope="module")
def signed_form(signer_rsa: pki.Issued) -> bytes:
    return sign_pdf(_with_text_field(build_act_pdf()), _signer(signer_rsa))


# --------------------------------------------------------------------------
# The legitimate flow stays valid
# --------------------------------------------------------------------------


def test_two_signatures_dss_and_document_time_stamp_stay_valid(
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    pki_tsa: pki.Issued,
    pki_intermediate: pki.Issued,
    tsa: TimeStampAuthority,
    trust_store: TrustStore,
) -> None:
    customer = sign_pdf(build_act_pdf(), _signer(signer_rsa), timestamper=tsa)
    both = sign_pdf(customer, _signer(signer_ec), location="Москва")
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki_tsa.der),
        tsa_key=keys.PrivateKeyInfo.load(
            pki_tsa.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        certs_to_embed=[asn1_x509.Certificate.load(pki_intermediate.der)],
    )
    archived = PdfTimeStamper(stamper).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(both)),
        "sha256",
        validation_context=trust_store.validation_context(),
    )
    document = archived.getvalue()
    reader = PdfFileReader(io.BytesIO(document))
    assert "/DSS" in reader.root
    assert len(find_signed_ranges(document)) == 3  # two signatures, one stamp

    report = verify_pdf(document, trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    customer_sig, supplier_sig = report.signatures
    assert customer_sig.timestamp_time is not None  # PAdES B-T
    assert customer_sig.modification_level == "form_filling"  # the next stamp
    assert supplier_sig.modification_level == "lta_updates"  # DSS, time-stamp
    assert report.reasons == ()


def test_the_services_own_b_lta_update_stays_valid(
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    tsa: TimeStampAuthority,
    trust_store: TrustStore,
) -> None:
    customer = sign_pdf(build_act_pdf(), _signer(signer_rsa), timestamper=tsa)
    both = sign_pdf(customer, _signer(signer_ec), timestamper=tsa)
    data = verify_pdf(both, trust_store).signatures[0].signer.validation_data

    archived = add_long_term_data(both, data, timestamper=tsa)  # DSS, time-stamp

    report = verify_pdf(archived, trust_store)
    assert report.verdict is Verdict.VALID, report.summary_ru()
    assert len(report.signatures) == 2


def test_signatures_over_cross_reference_streams_stay_valid(
    signer_rsa: pki.Issued, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    # A PDF 1.5 file with a cross-reference stream: its updates are
    # cross-reference streams too, which the structure check decodes.
    reader = PdfFileReader(io.BytesIO(build_act_pdf()), strict=False)
    writer = copy_into_new_writer(reader, writer_kwargs={"stream_xrefs": True})
    out = io.BytesIO()
    writer.write(out)
    signed = sign_pdf(out.getvalue(), _signer(signer_rsa))
    both = sign_pdf(signed, _signer(signer_ec))
    assert b"/Type /XRef" in both[len(signed) :]

    assert verify_pdf(both, trust_store).verdict is Verdict.VALID
    # ... and the same checks refuse the same attacks there.
    report = verify_pdf(_replace_content(both), trust_store)
    assert report.verdict is Verdict.INVALID
    assert verify_pdf(both + b"garbage", trust_store).verdict is Verdict.INVALID


def test_a_second_signature_on_a_form_keeps_the_first_valid(
    signed_form: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    report = verify_pdf(sign_pdf(signed_form, _signer(signer_ec)), trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()


# --------------------------------------------------------------------------
# ISA: incremental saving attacks
# --------------------------------------------------------------------------


def test_isa_content_update_is_invalid(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    report = verify_pdf(_replace_content(signed_once), trust_store)

    (sig,) = report.signatures
    assert sig.intact  # the signed bytes themselves are untouched
    assert "modified_after_signing" in sig.codes
    assert report.verdict is Verdict.INVALID


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        (b"garbage\n", "trailing_data"),
        (b"%comment after the end\n", "trailing_data"),
        # Objects appended without a cross-reference: readers that rebuild the
        # file from its objects show them, pyHanko alone ignores them.
        (
            b"11 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n"
            % (len(FORGED), FORGED),
            "broken_update",
        ),
        # A cross-reference and trailer without startxref / %%EOF.
        (b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 30 >>\n", "broken_update"),
    ],
    ids=["garbage", "comment", "objects-without-xref", "no-eof"],
)
def test_isa_trailing_data_is_invalid(
    tail: bytes, kind: str, signed_twice: bytes, trust_store: TrustStore
) -> None:
    report = verify_pdf(signed_twice + tail, trust_store)

    assert report.verdict is Verdict.INVALID
    assert len(report.signatures) == 2
    for sig in report.signatures:  # both signatures were made before the tail
        assert sig.verdict is Verdict.INVALID
        assert "modified_after_signing" in sig.codes
    assert kind in _structure_kinds(report)
    assert "После подписания" in report.summary_ru()


def test_trailing_white_space_is_tolerated(
    signed_twice: bytes, trust_store: TrustStore
) -> None:
    assert verify_pdf(signed_twice + b"\r\n\n", trust_store).verdict is Verdict.VALID


def test_isa_broken_cross_reference_after_signing_is_invalid(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    update = _replace_content(signed_once)
    tail = update[len(signed_once) :]
    # An entry one byte off: some readers repair the file and show the object.
    entry = re.search(rb"(\d{10}) 00000 n", tail)
    assert entry is not None
    shifted = b"%010d" % (int(entry.group(1)) + 1)
    broken_entry = signed_once + tail.replace(entry.group(1), shifted, 1)
    # startxref pointing nowhere: pyHanko cannot read the file at all.
    xref_at = _startxref(update)
    broken_startxref = update[: update.rindex(b"%d\n%%%%EOF" % xref_at)] + (
        b"%d\n%%%%EOF\n" % (xref_at + 7)
    )

    reports = [verify_pdf(a, trust_store) for a in (broken_entry, broken_startxref)]

    for report in reports:
        (sig,) = report.signatures  # still reported, not an exception
        assert sig.verdict is Verdict.INVALID
        assert "modified_after_signing" in sig.codes
        assert "broken_update" in _structure_kinds(report)
    # The unreadable one is verified on its signed prefix, and says so.
    assert "pdf_structure" in {str(r.code) for r in reports[1].reasons}


def test_isa_prev_that_skips_the_signature_is_invalid(
    signed_twice: bytes, trust_store: TrustStore
) -> None:
    # Revision 0 is the act, 1 the first signature, 2 the second. An update
    # whose /Prev points at revision 1 makes readers skip the second
    # signature's revision: the second signature disappears.
    reader = PdfFileReader(io.BytesIO(signed_twice), strict=False)
    revision_1 = reader.xrefs.get_startxref_for_revision(1)
    attack = _update_section(
        signed_twice, {}, root=_root(signed_twice), prev=revision_1
    )

    report = verify_pdf(attack, trust_store)

    assert report.verdict is Verdict.INVALID
    (first,) = report.signatures  # the second is hidden from the reader
    assert "modified_after_signing" in first.codes
    assert "prev_chain" in _structure_kinds(report)
    hidden = [r for r in report.reasons if r.code == "pdf_structure"]
    assert hidden and "не видно в документе" in hidden[0].message


@pytest.mark.parametrize("prev", ["revision-0", "missing", "nowhere"])
def test_isa_prev_that_does_not_chain_is_invalid(
    prev: str, signed_once: bytes, trust_store: TrustStore
) -> None:
    update = _replace_content(signed_once)
    tail = update[len(signed_once) :]
    entry = b"/Prev %d" % _startxref(signed_once)
    reader = PdfFileReader(io.BytesIO(signed_once), strict=False)
    replacement = {
        "revision-0": b"/Prev %d" % reader.xrefs.get_startxref_for_revision(0),
        "missing": b"",
        "nowhere": b"/Prev 17",
    }[prev]
    attack = signed_once + tail.replace(entry, replacement.ljust(len(entry)))

    report = verify_pdf(attack, trust_store)

    assert report.verdict is Verdict.INVALID
    assert "prev_chain" in _structure_kinds(report)
    if prev == "revision-0":
        # Readers see the unsigned act only: the signature is reported hidden.
        assert report.signatures == ()
        assert "не видно в документе" in report.summary_ru()
    else:
        # pyHanko cannot read the file: its signed prefix is verified.
        (sig,) = report.signatures
        assert sig.verdict is Verdict.INVALID
        assert "целиком не читается" in report.summary_ru()


# --------------------------------------------------------------------------
# SWA: signature wrapping
# --------------------------------------------------------------------------


def _table(text: bytes) -> dict[int, int]:
    """The in-use entries (object → offset) of a cross-reference table."""
    entries = {}
    for first, rows in re.findall(
        rb"(\d+) \d+\r?\n((?:\d{10} \d{5} [nf] ?\r?\n)+)", text
    ):
        for i, (offset, kind) in enumerate(re.findall(rb"(\d{10}) \d{5} ([nf])", rows)):
            if kind == b"n":
                entries[int(first) + i] = int(offset)
    return entries


def _wrap(signed: bytes, pad: int = 1024) -> bytes:
    """Signature wrapping against a byte-range check that compares lengths.

    The signed bytes stay where the digest expects them, but the file's own
    ``startxref`` (in the signed tail) now lands in the gap, where a new
    cross-reference points the signature dictionary at a copy whose
    ``/Contents`` is a *literal* string: half as long in the file as its hex
    form, so the gap has the length pyHanko expects and room for a forged
    page content stream.
    """
    ((_, a, b, c),) = find_signed_ranges(signed)
    assert b + c == len(signed)
    tail = signed[b:]
    xref_at = _startxref(signed)
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    field = reader.root["/AcroForm"]["/Fields"][0].get_object()
    sig_num = field.raw_get("/V").idnum
    content_num = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    cms = binascii.unhexlify(signed[a + 1 : b - 1]) + bytes(pad)
    literal = re.sub(rb"([()\\])", rb"\\\1", cms).replace(b"\r", b"\\r")
    gap_length = 2 * len(cms) + 2
    sig_dict = tail[: tail.index(b"endobj") + len(b"endobj")]
    sig_dict = re.sub(
        rb"/ByteRange \[[^\]]*\]",
        b"/ByteRange [0 %d %d %d]" % (a, a + gap_length, c),
        sig_dict,
    )
    gap = b" "
    sig_at = a + len(gap)
    gap += b"%d 0 obj\n<<\n/Contents (" % sig_num + literal + b")" + sig_dict + b"\n"
    content_at = a + len(gap)
    gap += b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        content_num.idnum,
        len(FORGED),
        FORGED,
    )
    assert a + len(gap) <= xref_at
    gap = gap.ljust(xref_at - a)
    entries = _table(tail[tail.index(b"xref") : tail.index(b"trailer")])
    entries[sig_num] = sig_at
    entries[content_num.idnum] = content_at
    table = b"xref\n0 1\n0000000000 65535 f \n" + b"".join(
        b"%d 1\n%010d 00000 n \n" % item for item in sorted(entries.items())
    )
    trailer = tail[tail.index(b"trailer") : tail.rindex(b"startxref")]
    gap += table + trailer
    assert len(gap) <= gap_length
    return signed[:a] + gap.ljust(gap_length) + tail


def test_swa_objects_in_the_gap_are_invalid(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signed = sign_pdf(build_act_pdf(), _signer(signer_rsa), stamp=False)
    attack = _wrap(signed)
    forged = PdfFileReader(io.BytesIO(attack), strict=False)
    page = forged.root["/Pages"]["/Kids"][0].get_object()
    assert page["/Contents"].get_object().data == FORGED  # what a reader shows

    report = verify_pdf(attack, trust_store)

    (sig,) = report.signatures
    assert sig.intact  # every signed byte is still there ...
    assert sig.coverage == "entire_file"  # ... and pyHanko sees no gap problem
    assert sig.verdict is Verdict.INVALID
    assert "pdf_structure" in sig.codes
    assert "gap" in _structure_kinds(report)
    assert "промежуток" in report.summary_ru()


def _resign(pdf: bytes, signer: Pkcs12Signer, end_shift: int) -> bytes:
    """The last signature re-made by a careless signer over a range that ends
    ``end_shift`` bytes away from its revision's end."""
    *_, (_, a, b, c) = find_signed_ranges(pdf)
    match = re.search(rb"/ByteRange \[0 %d %d %d\] *" % (a, b, c), pdf)
    assert match is not None
    entry = b"/ByteRange [0 %d %d %d]" % (a, b, c + end_shift)
    data = bytearray(
        pdf[: match.start()] + entry.ljust(len(match.group())) + pdf[match.end() :]
    )
    cms = sign_cms(bytes(data[:a] + data[b : b + c + end_shift]), signer)
    data[a + 1 : b - 1] = cms.hex().upper().encode().ljust(b - a - 2, b"0")
    return bytes(data)


def test_swa_signed_range_not_ending_at_eof_is_invalid(
    signed_once: bytes, signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    # A range that stops inside "%%EOF", and one that runs into the next
    # update (which pyHanko alone takes for a whole revision).
    short = _resign(signed_once, _signer(signer_rsa), -4)
    followed = _update_section(
        signed_once, {}, root=_root(signed_once), prev=_startxref(signed_once)
    )
    long = _resign(followed, _signer(signer_rsa), 12)

    for attack, coverage in (
        (short, "contiguous_block_from_start"),
        (long, "entire_revision"),  # pyHanko alone: a whole revision
    ):
        report = verify_pdf(attack, trust_store)

        (sig,) = report.signatures
        assert sig.intact
        assert sig.coverage == coverage
        assert sig.verdict is Verdict.INVALID
        assert "pdf_structure" in sig.codes
        assert "range_end" in _structure_kinds(report)


# --------------------------------------------------------------------------
# USF: universal signature forgery
# --------------------------------------------------------------------------


def _damage(pdf: bytes, key: bytes, value: bytes) -> bytes:
    """Replace the last signature's ``key`` entry in place (same length)."""
    if key == b"/ByteRange":
        match = list(re.finditer(rb"/ByteRange \[[^\]]*\] *", pdf))[-1]
    else:
        match = list(re.finditer(rb"/Contents <[0-9A-Fa-f]*>", pdf))[-1]
    assert len(value) <= len(match.group())
    return pdf[: match.start()] + value.ljust(len(match.group())) + pdf[match.end() :]


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        (b"/ByteRange", b"/ByteRangX [0 1 2 3]", "format"),  # missing
        (b"/ByteRange", b"/ByteRange null", "format"),
        (b"/ByteRange", b"/ByteRange [0 1 2]", "format"),  # wrong length
        (b"/ByteRange", b"/ByteRange [0 1.0 2 3]", "format"),  # not integers
        (b"/ByteRange", b"/ByteRange [0 -5 65763 710]", "pdf_structure"),
        (b"/ByteRange", b"/ByteRange [0 900 800 710]", "pdf_structure"),  # overlap
        (b"/ByteRange", b"/ByteRange [0 100 200 9999999]", "pdf_structure"),
        (b"/Contents", b"/Contentz <00>", "format"),  # missing
        (b"/Contents", b"/Contents null", "format"),
        (b"/Contents", b"/Contents ()", "format"),  # empty
        (b"/Contents", b"/Contents <>", "format"),
        (b"/Contents", b"/Contents 0", "format"),  # not a string
    ],
)
def test_usf_damaged_signature_is_invalid_and_hides_nothing(
    key: bytes,
    value: bytes,
    code: str,
    signed_twice: bytes,
    trust_store: TrustStore,
) -> None:
    report = verify_pdf(_damage(signed_twice, key, value), trust_store)

    first, second = report.signatures  # never an exception, nothing hidden
    assert first.verdict is Verdict.VALID, first.summary_ru()
    assert second.field_name == "Signature2"
    assert second.verdict is Verdict.INVALID
    assert code in second.codes
    assert report.verdict is Verdict.INVALID


def test_usf_literal_contents_is_invalid(
    signed_twice: bytes, trust_store: TrustStore
) -> None:
    # /Contents as a literal string instead of the hex string in the gap.
    match = list(re.finditer(rb"(?<=/Contents )<([0-9A-Fa-f]+)>", signed_twice))[-1]
    cms = binascii.unhexlify(match.group(1)).rstrip(b"\0")
    escaped = re.sub(rb"([()\\])", rb"\\\1", cms).replace(b"\r", b"\\r")
    literal = b"(" + escaped + b")"
    attack = (
        signed_twice[: match.start()]
        + literal.ljust(len(match.group()))
        + signed_twice[match.end() :]
    )

    report = verify_pdf(attack, trust_store)

    first, second = report.signatures
    assert first.verdict is Verdict.VALID
    assert second.verdict is Verdict.INVALID
    assert "pdf_structure" in second.codes


# --------------------------------------------------------------------------
# Shadow attacks
# --------------------------------------------------------------------------


def test_shadow_hide_by_overlay_is_invalid(
    signed_once: bytes, signed_form: bytes, trust_store: TrustStore
) -> None:
    # A new XObject drawn over the figures; an existing text field given an
    # opaque appearance (pyHanko alone accepts this one as form filling).
    for attack in (
        _overlay(signed_once),
        _change_field(signed_form, value=None, opaque=True),
    ):
        report = verify_pdf(attack, trust_store)

        (sig,) = report.signatures
        assert sig.verdict is Verdict.INVALID
        assert "modified_after_signing" in sig.codes


def test_shadow_hide_by_freeing_an_object_is_invalid(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_once), strict=False)
    content = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    attack = _update_section(
        signed_once,
        {},
        root=_root(signed_once),
        free=(content.idnum,),
        prev=_startxref(signed_once),
    )

    report = verify_pdf(attack, trust_store)

    (sig,) = report.signatures
    assert sig.verdict is Verdict.INVALID
    assert "broken_update" in _structure_kinds(report)


def test_shadow_replace_form_value_is_invalid(
    signed_form: bytes, trust_store: TrustStore
) -> None:
    report = verify_pdf(_change_field(signed_form, value=b"1,00"), trust_store)

    (sig,) = report.signatures
    assert sig.modification_level == "form_filling"  # pyHanko alone accepts it
    assert sig.verdict is Verdict.INVALID
    (reason,) = [r for r in sig.reasons if r.code == "modified_after_signing"]
    assert reason.details["form_fields"] == ["amount"]
    assert "«amount»" in report.summary_ru()


def test_shadow_replace_after_a_second_signature_is_invalid_for_both(
    signed_form: bytes, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    both = sign_pdf(signed_form, _signer(signer_ec))

    report = verify_pdf(_change_field(both, value=b"1,00"), trust_store)

    assert [s.verdict for s in report.signatures] == [Verdict.INVALID] * 2


def _shadowed(pdf: bytes) -> tuple[bytes, int, int]:
    """The act with a shadow copy of its content stream hidden in an update
    before signing: same object number, listed in no cross-reference."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    content = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    shadow = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        content.idnum,
        len(FORGED),
        FORGED,
    )
    shadowed = _update_section(
        pdf + shadow,
        {},
        root=b"%d 0 R" % reader.trailer.raw_get("/Root").idnum,
        size=int(reader.trailer["/Size"]),
        prev=_startxref(pdf),
    )
    return shadowed, content.idnum, len(pdf)


def test_shadow_hide_and_replace_is_invalid(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    shadowed, content_num, shadow_at = _shadowed(build_act_pdf())
    signed = sign_pdf(shadowed, _signer(signer_rsa))
    assert verify_pdf(signed, trust_store).verdict is Verdict.VALID
    root = PdfFileReader(io.BytesIO(signed)).trailer.raw_get("/Root").idnum
    # Variant 1: an update of a cross-reference only, pointing the content
    # stream back at the shadow copy inside the signed bytes.
    redirect = _update_section(
        signed,
        {content_num: shadow_at},
        root=b"%d 0 R" % root,
        prev=_startxref(signed),
    )
    # Variant 2: a whole new set of objects (catalog, page tree, page, content)
    # replacing the signed ones.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    old_page = writer.root["/Pages"]["/Kids"][0].get_object()
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): old_page["/MediaBox"],
            pdf_name("/Resources"): old_page["/Resources"],
            pdf_name("/Contents"): writer.add_object(
                generic.StreamObject(stream_data=FORGED)
            ),
        }
    )
    page_ref = writer.add_object(page)
    pages = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Pages"),
                pdf_name("/Kids"): generic.ArrayObject([page_ref]),
                pdf_name("/Count"): generic.NumberObject(1),
            }
        )
    )
    page[pdf_name("/Parent")] = pages
    writer.root["/Pages"] = pages
    writer.update_root()
    replaced = _write(writer)

    for attack, kind in ((redirect, "broken_update"), (replaced, None)):
        forged = PdfFileReader(io.BytesIO(attack), strict=False)
        shown = forged.root["/Pages"]["/Kids"][0].get_object()["/Contents"]
        assert shown.get_object().data == FORGED

        report = verify_pdf(attack, trust_store)

        (sig,) = report.signatures
        assert sig.verdict is Verdict.INVALID
        assert "modified_after_signing" in sig.codes
        if kind is not None:
            assert kind in _structure_kinds(report)


# --------------------------------------------------------------------------
# The structure check itself
# --------------------------------------------------------------------------


def test_structure_of_legitimate_updates_has_no_problems(signed_twice: bytes) -> None:
    for byte_range in find_signed_ranges(signed_twice):
        assert check_signed_range(signed_twice, list(byte_range), None) == ()


@pytest.mark.parametrize(
    "byte_range",
    [None, [0, 1, 2], [1, 2, 3, 4], [0, 5, 5, 1], [0, 1, 2, -1], [0, True, 2, 3]],
)
def test_structure_refuses_malformed_byte_ranges(
    byte_range: object, signed_once: bytes
) -> None:
    (problem,) = check_signed_range(signed_once, byte_range, None)

    assert problem.kind is ProblemKind.BYTE_RANGE
    assert not problem.after_signing


def _tail(
    signed: bytes,
    objects: list[bytes],
    *,
    listed: list[int] | None = None,
    generation: int = 0,
    trailer: bytes = b"",
    xref_shift: int = 0,
) -> bytes:
    """``signed`` plus one hand-written update: ``objects`` (``n 0 obj ...
    endobj``), a table listing those at ``listed`` (all by default), a trailer
    with the right /Prev plus ``trailer``, startxref (moved by ``xref_shift``)."""
    start = len(signed)
    body = b""
    entries = b"xref\n0 1\n0000000000 65535 f \n"
    for index, obj in enumerate(objects):
        if listed is None or index in listed:
            num = int(obj.split()[0])
            entries += b"%d 1\n%010d %05d n \n" % (num, start + len(body), generation)
        body += obj
    return (
        signed
        + body
        + entries
        + b"trailer\n<< /Size 99 /Root %s /Prev %d%s >>\n"
        % (_root(signed), _startxref(signed), trailer)
        + b"startxref\n%d\n%%%%EOF\n" % (start + len(body) + xref_shift)
    )


_OBJ = b"90 0 obj\n<< /Type /Test >>\nendobj\n"


@pytest.mark.parametrize(
    ("objects", "options", "kind"),
    [
        # A body of every kind of value: all well-formed.
        (
            [
                b"90 0 obj\n<< /A [1 -2 +3 4.5 -.5 true false null] /B (a (nested)"
                b" \\) string) /C <41 42> /D /Na#6De /E 91 0 R /F << >> >>\nendobj\n",
                b"91 0 obj\n<< /Length 3 >>\nstream\r\nabc\r\nendstream\nendobj\n",
                b"92 0 obj\n<< /Length 91 0 R >>\nstream\nabc\nendstream\nendobj\n",
                b"93 0 obj 7 endobj\n%a comment between objects\n",
            ],
            {},
            None,
        ),
        ([_OBJ], {"generation": 1}, "broken_update"),
        ([_OBJ, _OBJ.replace(b"90", b"91")], {"listed": [0]}, "broken_update"),
        ([_OBJ, _OBJ], {}, "broken_update"),
        ([b"90 0 obj\n<< /A 1 /A 2 >>\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< 1 2 >>\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< /A 1 0 Q >>\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< /A <4G> >>\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< /A ) >>\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n" + b"[" * 70 + b"]" * 70 + b"\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n[ 1 2 \nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n1 stream\nabc\nendstream\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< >> stream\rabc\nendstream\nendobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< >> stream\nabc endobj\n"], {}, "broken_update"),
        ([b"90 0 obj\n<< >>\n"], {}, "broken_update"),
        ([b"90 0 R\n"], {}, "broken_update"),
        ([b"90 x obj 1 endobj\n"], {}, "broken_update"),
        ([_OBJ], {"trailer": b" /XRefStm 0"}, "broken_update"),
        ([_OBJ], {"xref_shift": 3}, "broken_update"),
    ],
    ids=[
        "well-formed",
        "generation",
        "unlisted-object",
        "object-twice",
        "repeated-key",
        "key-not-a-name",
        "unknown-keyword",
        "bad-hex",
        "stray-bracket",
        "too-deep",
        "unclosed-array",
        "stream-without-dictionary",
        "stream-after-cr",
        "no-endstream",
        "no-endobj",
        "not-an-object",
        "bad-generation",
        "hybrid",
        "startxref-elsewhere",
    ],
)
def test_structure_of_hand_written_updates(
    objects: list[bytes],
    options: dict[str, object],
    kind: str | None,
    signed_once: bytes,
) -> None:
    pdf = _tail(signed_once, objects, **options)  # type: ignore[arg-type]
    ((_, a, b, c),) = find_signed_ranges(signed_once)

    problems = check_signed_range(pdf, [0, a, b, c], None)

    assert [p.kind.value for p in problems] == ([kind] if kind else [])
    assert all(p.after_signing for p in problems)


@pytest.mark.parametrize(
    ("trailer", "kind"),
    [
        (b"<< /Size 99 /Root 8 0 R >>", "prev_chain"),
        (b"<< /Size 99 /Root 8 0 R /Prev true >>", "prev_chain"),
        (b"<< /Size 99 >>", "broken_update"),
        (b"<< /Size 1 /Root 8 0 R >>", "broken_update"),
        (b"[ ]", "broken_update"),
    ],
)
def test_structure_refuses_bad_trailers(
    trailer: bytes, kind: str, signed_once: bytes
) -> None:
    start = len(signed_once)
    body = b"9 0 obj 1 endobj\n"
    pdf = (
        signed_once
        + body
        + b"xref\n9 1\n%010d 00000 n \ntrailer\n%s\n" % (start, trailer)
        + b"startxref\n%d\n%%%%EOF\n" % (start + len(body))
    )
    ((_, a, b, c),) = find_signed_ranges(signed_once)

    (problem,) = check_signed_range(pdf, [0, a, b, c], None)

    assert problem.kind.value == kind


_TRAILER = b"trailer\n<< /Size 99 /Root %(root)s /Prev %(prev)d >>\n"
_TABLE = b"xref\n9 1\n%(start)010d 00000 n \n"


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        (
            b"9 0 obj 1 endobj\n"
            + _TABLE
            + _TRAILER
            + b"startxref\n%(xref)d\n%%%%EOF\r\n",
            None,
        ),
        (
            b"9 0 obj 1 endobj\n"
            + _TABLE
            + _TRAILER
            + b"startxref\n%(xref)d\n%%%%EOF\r",
            None,
        ),
        (b"xref\n0 1\n00000 65535 f\ntrailer<<>>", "broken_update"),
        (b"xref\n0 x\n", "broken_update"),
        (b"9 0 obj 1 endobj\n", "broken_update"),
        (b"9 0 obj\n", "broken_update"),
        (b"9 0 obj [1 2", "broken_update"),
        (b"9 0 obj (abc", "broken_update"),
        (b"9 0 obj 1 endobj\n" + _TABLE + _TABLE[5:] + _TRAILER, "broken_update"),
        (b"9 0 obj 1 endobj\n" + _TABLE + _TRAILER + b"%%%%EOF\n", "broken_update"),
        (
            b"9 0 obj 1 endobj\n" + _TABLE + _TRAILER + b"startxref\n%(xref)d\n",
            "broken_update",
        ),
        (b"startxref\n%(start)d\n%%%%EOF\n", "trailing_data"),
        (b"9 0 obj << >> endobj\nstartxref\n%(start)d\n%%%%EOF\n", "broken_update"),
        (
            b"9 0 obj << /Length 1 >> stream\nx\nendstream endobj\n"
            b"startxref\n%(start)d\n%%%%EOF\n",
            "broken_update",
        ),
    ],
    ids=[
        "crlf-after-eof",
        "cr-after-eof",
        "short-entry",
        "bad-subsection",
        "no-cross-reference",
        "end-in-object",
        "end-in-array",
        "end-in-string",
        "entry-twice",
        "no-startxref",
        "no-eof",
        "stream-reference-without-objects",
        "stream-reference-to-a-dictionary",
        "stream-reference-to-another-stream",
    ],
)
def test_structure_of_update_sections(
    tail: bytes, kind: str | None, signed_once: bytes
) -> None:
    start = len(signed_once)
    values = {
        b"start": start,
        b"xref": start + len(b"9 0 obj 1 endobj\n"),
        b"prev": _startxref(signed_once),
        b"root": _root(signed_once),
    }
    ((_, a, b, c),) = find_signed_ranges(signed_once)

    problems = check_signed_range(signed_once + tail % values, [0, a, b, c], None)

    assert [p.kind.value for p in problems] == ([kind] if kind else [])


def _png(rows: list[bytes], kinds: list[int]) -> bytes:
    """PNG-predict ``rows`` (ISO 32000-1 §7.4.4.4): a filter type a row,
    0 None, 1 Sub, 2 Up (any other type is written unencoded)."""
    out = b""
    previous = bytes(len(rows[0]))
    for row, kind in zip(rows, kinds, strict=True):
        encoded = row
        if kind == 1:
            encoded = bytes(
                (v - (row[i - 1] if i else 0)) & 0xFF for i, v in enumerate(row)
            )
        elif kind == 2:
            encoded = bytes((v - previous[i]) & 0xFF for i, v in enumerate(row))
        out += bytes([kind]) + encoded
        previous = row
    return out


def _stream_update(
    signed: bytes,
    *,
    kinds: list[int] | None = None,
    filter_: bytes = b"/FlateDecode",
    params: bytes | None = None,
    widths: tuple[int, int, int] = (1, 4, 1),
    object_stream: bytes = b"/Type /ObjStm /N 2 /First 10",
    compressed_index: int = 1,
    extra_rows: tuple[bytes, ...] = (),
    data: bytes | None = None,
    widths_entry: bytes | None = None,
    index_entry: bytes | None = None,
) -> bytes:
    """``signed`` plus an update whose cross-reference is a stream: an object
    stream (object 90) holding objects 91 and 92, and the stream itself (93)."""
    start = len(signed)
    objects = b"91 0 92 6 << >> << >>"
    body = b"90 0 obj\n<< %s /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        object_stream,
        len(objects),
        objects,
    )
    xref_at = start + len(body)

    def row(kind: int, second: int, third: int) -> bytes:
        return (
            kind.to_bytes(widths[0], "big")
            + second.to_bytes(widths[1], "big")
            + third.to_bytes(widths[2], "big")
        )

    rows = [
        row(0, 0, 255),  # object 0, free
        row(1, start, 0),  # 90: the object stream
        row(2, 90, 0),  # 91, 92: inside it
        row(2, 90, compressed_index),
        row(1, xref_at, 0),  # 93: this stream
        *extra_rows,  # 94...
    ]
    raw = b"".join(rows)
    columns = sum(widths)
    if kinds is not None:
        raw = _png(rows, kinds)
        params = params or b"<< /Predictor 12 /Columns %d >>" % columns
    if data is None:
        data = zlib.compress(raw) if b"/FlateDecode" in filter_ else raw
    dictionary = b"/Type /XRef /Size 99 /Root %s /Prev %d %s %s /Length %d" % (
        _root(signed),
        _startxref(signed),
        index_entry or b"/Index [0 1 90 %d]" % (len(rows) - 1),
        widths_entry or b"/W [%d %d %d]" % widths,
        len(data),
    )
    if filter_:
        dictionary += b" /Filter " + filter_
    if params:
        dictionary += b" /DecodeParms " + params
    return (
        signed
        + body
        + b"93 0 obj\n<< %s >>\nstream\n%s\nendstream\nendobj\n" % (dictionary, data)
        + b"startxref\n%d\n%%%%EOF\n" % xref_at
    )


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({}, None),
        ({"kinds": [2, 2, 2, 2, 2]}, None),
        ({"filter_": b"[/FlateDecode]", "kinds": [2] * 5}, None),
        ({"filter_": b""}, None),
        ({"extra_rows": (b"\x07\x00\x00\x00\x00\x00",)}, None),  # unknown type
        ({"filter_": b"/LZWDecode"}, "broken_update"),
        ({"data": b"not zlib"}, "broken_update"),
        ({"kinds": [2, 0, 2, 2, 2]}, "broken_update"),
        ({"kinds": [2, 2, 1, 2, 2]}, "broken_update"),
        ({"kinds": [2, 2, 2, 3, 2]}, "broken_update"),
        ({"kinds": [2] * 5, "params": b"<< /Predictor 2 >>"}, "broken_update"),
        (
            {"kinds": [2] * 5, "params": b"<< /Predictor 12 /Columns 3 >>"},
            "broken_update",
        ),
        ({"params": b"<< /Predictor 12 /Columns 6 >>"}, "broken_update"),
        ({"data": zlib.compress(b"\x01")}, "broken_update"),
        ({"widths_entry": b"/W [1 4]"}, "broken_update"),
        ({"widths_entry": b"/W [1 -4 1]"}, "broken_update"),
        ({"widths_entry": b"/W 6"}, "broken_update"),
        ({"index_entry": b"/Index [0 1 0 4]"}, "broken_update"),
        ({"index_entry": b"/Index [0 1 90]"}, "broken_update"),
        ({"compressed_index": 5}, "broken_update"),
        ({"object_stream": b"/Type /XObject /N 2"}, "broken_update"),
        ({"extra_rows": (b"\x01\x00\x00\x00\x00\x00",)}, "broken_update"),
    ],
    ids=[
        "plain",
        "png-up",
        "filter-array",
        "unfiltered",
        "unknown-entry-type",
        "unsupported-filter",
        "not-deflate",
        "png-none",
        "png-sub",
        "png-average",
        "tiff-predictor",
        "wrong-columns",
        "rows-not-whole",
        "too-short",
        "widths-short",
        "widths-negative",
        "widths-not-array",
        "index-overlapping",
        "index-odd",
        "index-outside-object-stream",
        "not-an-object-stream",
        "entry-outside-update",
    ],
)
def test_structure_of_cross_reference_stream_updates(
    options: dict[str, object], kind: str | None, signed_once: bytes
) -> None:
    pdf = _stream_update(signed_once, **options)  # type: ignore[arg-type]
    ((_, a, b, c),) = find_signed_ranges(signed_once)

    problems = check_signed_range(pdf, [0, a, b, c], None)

    assert [p.kind.value for p in problems] == ([kind] if kind else [])


def test_an_undecodable_cross_reference_stream_is_a_report(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    # pyHanko cannot decode a PNG "Average" row (NotImplementedError): the
    # signed prefix is verified instead of the verification failing.
    report = verify_pdf(_stream_update(signed_once, kinds=[2, 2, 2, 3, 2]), trust_store)

    (sig,) = report.signatures
    assert sig.verdict is Verdict.INVALID
    assert "modified_after_signing" in sig.codes
    assert "pdf_structure" in {str(r.code) for r in report.reasons}


def test_an_object_stream_update_reads_the_same_in_pyhanko(
    signed_once: bytes,
) -> None:
    pdf = _stream_update(signed_once, kinds=[2] * 5)
    reader = PdfFileReader(io.BytesIO(pdf))

    assert reader.xrefs.total_revisions == 3
    assert reader.get_object(generic.Reference(92, 0)) == generic.DictionaryObject()


def test_find_signed_ranges_skips_implausible_ones(signed_once: bytes) -> None:
    ((_, a, b, c),) = find_signed_ranges(signed_once)
    decoys = b"%% /ByteRange [0 1 2 3] /ByteRange [0 %d %d %d]\n" % (a, b, c + 999)

    assert find_signed_ranges(signed_once + decoys) == ((0, a, b, c),)
