"""PAdES signatures (ETSI EN 319 142-1): baseline B-B, and B-T with an RFC 3161
time-stamp server.

Signing: the signature field, the visible Russian stamp and the placeholder
are written by pyHanko (``PdfSigner.init_signing_session`` →
``prepare_tbs_document`` → ``digest_tbs_document``) as an incremental update,
so earlier signatures stay valid. The CMS is assembled here from the byte-range
digest (the same encoder as :mod:`signing.cms`, minus signing-time, which
PAdES forbids: the time is the dictionary's ``/M``). The placeholder size is
computed from the key size and the chain, so no dry-run signature is made.
The same path serves two-phase signing: :func:`prepare_pdf` stops before the
signature value and keeps the prepared update in the state.

Verification: :mod:`signing.pdf_structure` checks the file's structure
(each signed range ends where a well-formed revision ends, nothing but
``/Contents`` in the gap, only well-formed incremental updates after it: the
incremental-saving and signature-wrapping attacks); pyHanko checks coverage and
the difference analysis of later revisions — the updates this service writes
(a signature field, the DSS, a document time-stamp) recognised by
:mod:`signing.pdf_diff` without walking the whole document, anything else by
pyHanko's own policy; the CMS is checked by
:mod:`signing.cms` at the signature's proof of existence (its time-stamp or a
later document time-stamp, else receipt, else now), the certificate by the
cached :func:`signing.trust.validate_certificate` with the document security
store's certificates, CRLs and OCSP responses.

Policy on changes after a signature (pyHanko's ``ModificationLevel``):

* ``NONE``, ``LTA_UPDATES`` (DSS, document time-stamps) and further
  signatures with their fields and stamps: allowed. Filling or changing any
  other form field after signing (what the shadow "replace" attack does,
  which pyHanko's default policy lets pass as ``FORM_FILLING``): INVALID.
* ``ANNOTATIONS``: INDETERMINATE (``annotations_after_signing``): a comment
  or a shape may cover signed text; a person has to look. pyHanko's default
  policy does not whitelist annotations, so in practice an added
  FreeText/Square annotation is reported as ``OTHER``.
* ``OTHER``, or anything beyond the signature's DocMDP permission: INVALID
  (``modified_after_signing``).
"""

from __future__ import annotations

import binascii
import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import re
import secrets
from collections.abc import Sequence

from asn1crypto import algos
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic as pdf_generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    DiffPolicy,
    DiffResult,
    FormUpdatingRule,
    GenericFieldModificationRule,
    ModificationLevel,
    StandardDiffPolicy,
)
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError as HankoSigningError
from pyhanko.sign.signers import ExternalSigner as HankoExternalSigner
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper as HankoTimeStamper
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import extract_contents
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import _cms_asn1 as der
from signing import gost, pdf_structure
from signing.cms import Stamp, certificate_info, embedded_data, verify_signer_info
from signing.errors import DocumentFormatError, SignatureFormatError, SigningError
from signing.pdf_diff import DocumentDiffs, FastDiffPolicy
from signing.reports import LongTermData, Reason, Verdict, worst_verdict
from signing.revocation import RevocationMode
from signing.signers import (
    PreparedSignature,
    Signer,
    accept_signature_value,
    state_signer,
)
from signing.stamp import Rect, StampInfo, place, stamp_size, style_for
from signing.trust import TrustStore
from signing.tsa import HttpTimestamper, Timestamper, read_token
from signing.verification import (
    PdfReport,
    PdfSignatureReport,
    SignatureReasonCode,
    SignerReport,
    TimestampKind,
    verdict_of,
)

logger = logging.getLogger(__name__)

__all__ = ["Rect", "StampInfo", "add_long_term_data", "sign_pdf", "verify_pdf"]

#: Safety margin over the computed CMS size (octets).
_SLACK = 64
#: Reserved for a time-stamp token when the TSA's token size is not known yet.
_TST_FALLBACK = 12288


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    document: bytes
    reserved_region: tuple[int, int]
    signed_attributes: bytes
    template: der.SignerTemplate


def _open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        # Strict, as the verification reads it: a file that strict parsing
        # refuses (hybrid cross-references...) would give an unverifiable
        # signature.
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    except (
        PdfError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
    ) as exc:
        raise DocumentFormatError(f"not a readable PDF document: {exc}") from None
    if writer.prev.encrypted:
        raise DocumentFormatError("encrypted PDF documents cannot be signed here")
    return writer


def _field_name(writer: IncrementalPdfFileWriter, wanted: str | None) -> str:
    existing = {name for name, _, _ in enumerate_sig_fields(writer)}
    if wanted is not None:
        return wanted
    n = 1  # document time-stamp fields do not count: Signature1, Signature2…
    while f"Signature{n}" in existing:
        n += 1
    return f"Signature{n}"


def _stamp_info(
    stamp: StampInfo | bool, template: der.SignerTemplate, signing_time: dt.datetime
) -> StampInfo | None:
    if stamp is False:
        return None
    info = stamp if isinstance(stamp, StampInfo) else StampInfo()
    cert = certificate_info(template.certificate_der)
    defaults: dict[str, object] = {
        "serial": cert.serial_hex,
        "owner": cert.owner or cert.subject_cn,
        "organization": cert.organization,
        "valid_from": cert.not_before,
        "valid_to": cert.not_after,
        "signed_at": signing_time,
    }
    missing = {k: v for k, v in defaults.items() if getattr(info, k) is None}
    return dataclasses.replace(info, **missing)  # type: ignore[arg-type]


_token_sizes: dict[tuple[str, str], int] = {}


def _token_size(timestamper: Timestamper, digest: str) -> int:
    """The size of a token from this authority (one dummy request per process
    and authority), with room for a longer chain or serial next time."""
    key = (timestamper.name, digest)
    size = _token_sizes.get(key)
    if size is None:
        try:
            size = len(timestamper.timestamp(b"", digest=digest)) + 1024
        except SigningError:  # the real request reports the error
            size = _TST_FALLBACK
        _token_sizes[key] = size
    return size


def _as_timestamper(
    timestamper: Timestamper | None, tsa_url: str | None
) -> Timestamper | None:
    if timestamper is not None:
        return timestamper
    return HttpTimestamper(tsa_url) if tsa_url else None


def _reserve(template: der.SignerTemplate, timestamper: Timestamper | None) -> int:
    """Hex digits to reserve for the CMS: twice its largest DER size."""
    mechanism = template.mechanism
    attrs = template.signed_attributes(bytes(mechanism.digest.size), None)
    size = len(template.content_info(attrs, bytes(mechanism.max_signature_size)))
    if timestamper is not None:
        # The token, with the attribute and SET headers around it.
        size += _token_size(timestamper, mechanism.digest.name) + 16
    return 2 * (size + _SLACK)


def _prepare(
    pdf: bytes,
    signer: Signer,
    *,
    stamp: StampInfo | bool,
    field_name: str | None,
    reason: str | None,
    location: str | None,
    timestamper: Timestamper | None,
    page: int,
    box: Rect | None,
    digest: str | None,
    signing_time: dt.datetime | None,
) -> _Prepared:
    template = signer.template_for(digest or signer.default_digest)
    der.check_aware(signing_time)
    moment = signing_time or _now()
    writer = _open_writer(pdf)
    try:
        name = _field_name(writer, field_name)
        info = _stamp_info(stamp, template, moment)
        page_index = page
        if info is not None:
            total = int(writer.root["/Pages"]["/Count"])
            page_index = page if page >= 0 else total + page
            if not 0 <= page_index < total:
                raise SigningError(
                    f"the document has {total} pages; page {page} does not exist"
                )
            if box is None:
                width, height = stamp_size(info)
                page_obj = writer.find_page_for_modification(page_index)[0].get_object()
                box = place(page_obj, width, height)
        spec = SigFieldSpec(
            sig_field_name=name,
            on_page=page_index if info is not None else 0,
            box=box if info is not None else None,  # type: ignore[arg-type]
        )
        shim = _HankoShim(
            signing_cert=asn1_x509.Certificate.load(template.certificate_der),
            cert_registry=SimpleCertificateStore(),
            signature_mechanism=_sda(template),
        )
        shim.display_name = _display_name(template)
        meta = PdfSignatureMetadata(
            field_name=name,
            md_algorithm=_hanko_digest(template.mechanism.digest),
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        pdf_signer = PdfSigner(
            meta,
            shim,
            stamp_style=style_for(info) if info is not None else None,
            new_field_spec=spec,
        )
        session = pdf_signer.init_signing_session(writer)
        # /M is the signing time of a PAdES signature (EN 319 142-1 §5.3).
        session.system_time = moment
        tbs = session.prepare_tbs_document(
            validation_info=None, bytes_reserved=_reserve(template, timestamper)
        )
        prepared_digest, output = tbs.digest_tbs_document(output=io.BytesIO())
    except (HankoSigningError, PdfError, KeyError, TypeError, ValueError) as exc:
        raise SigningError(f"the PDF cannot be prepared for signing: {exc}") from exc
    document: bytes = output.getvalue()  # type: ignore[attr-defined]
    region = (
        prepared_digest.reserved_region_start,
        prepared_digest.reserved_region_end,
    )
    document_digest = prepared_digest.document_digest
    if template.mechanism.digest.compute is not None:
        # pyHanko hashed the byte range with its stand-in; the signer's own
        # hash (Streebog) is what message-digest must carry (RFC 5652 §11.2).
        document_digest = _region_digest(document, region, template.mechanism.digest)
    return _Prepared(
        document=document,
        reserved_region=region,
        signed_attributes=template.signed_attributes(document_digest, None),
        template=template,
    )


def _hanko_digest(spec: der.DigestSpec) -> str:
    """The hash pyHanko is told to use while writing the placeholder and the
    byte range. It knows hashlib's names only; for Streebog (GOST R
    34.11-2012) it gets SHA-256, whose digest is then not used: the byte-range
    digest is computed here (:func:`_region_digest`). pyHanko writes no
    digest algorithm into the signature dictionary, so nothing else depends
    on it."""
    return "sha256" if spec.compute is not None else spec.name


def _region_digest(
    document: bytes, region: tuple[int, int], spec: der.DigestSpec
) -> bytes:
    """The digest of everything but the reserved ``/Contents`` (ISO 32000-1
    §12.8.1: the byte range around it)."""
    start, end = region
    if spec.compute is not None:
        hasher = gost.Streebog(spec.size)
        hasher.update(memoryview(document)[:start])
        hasher.update(memoryview(document)[end:])
        return hasher.digest()
    digest = hashlib.new(spec.name)
    digest.update(document[:start])
    digest.update(document[end:])
    return digest.digest()


class _HankoShim(HankoExternalSigner):
    """What pyHanko's PdfSigner needs to know about the signer (certificate,
    mechanism, name); the signature itself is made outside pyHanko."""

    display_name: str | None = None

    @property
    def subject_name(self) -> str | None:
        # pyHanko's own computes the certificate's whole Name.native, twice
        # per signature; the answer is already known.
        return self.display_name


def _display_name(template: der.SignerTemplate) -> str | None:
    info = certificate_info(template.certificate_der)
    return info.subject_cn or info.owner


def _sda(template: der.SignerTemplate) -> object:
    return algos.SignedDigestAlgorithm.load(template.mechanism.algorithm_identifier)


def _finish(
    prepared: _Prepared, signature: bytes, timestamper: Timestamper | None
) -> bytes:
    template = prepared.template
    unsigned: list[bytes] = []
    if timestamper is not None:
        # PAdES B-T: a signature time-stamp over the signature value.
        token = timestamper.timestamp(signature, digest=template.mechanism.digest.name)
        unsigned.append(der.time_stamp_attribute(token))
    cms = template.content_info(prepared.signed_attributes, signature, unsigned)
    start, end = prepared.reserved_region
    if 2 * len(cms) > end - start - 2:
        raise SigningError(
            f"the signature ({len(cms)} bytes) does not fit the space reserved "
            "in the PDF"
        )
    buffer = bytearray(prepared.document)
    hex_value = cms.hex().upper().encode("ascii")
    buffer[start + 1 : start + 1 + len(hex_value)] = hex_value
    return bytes(buffer)


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    stamp: StampInfo | bool = True,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    tsa_url: str | None = None,
    timestamper: Timestamper | None = None,
    page: int = -1,
    box: Rect | None = None,
    digest: str | None = None,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Sign a PDF: PAdES B-B, or B-T with a time-stamp; an incremental update.

    :param pdf: the document.
    :param signer: the key and certificate.
    :param stamp: ``True`` for the Russian visible stamp built from the
        certificate, a :class:`StampInfo` to set its text, ``False`` for an
        invisible signature.
    :param field_name: the signature field (``SignatureN`` by default); an
        existing empty field of that name is filled.
    :param reason: ``/Reason`` («Согласовано»...).
    :param location: ``/Location``.
    :param tsa_url: an RFC 3161 time-stamp server: the signature gets a
        signature time-stamp (PAdES B-T).
    :param timestamper: the same from a :class:`~signing.tsa.Timestamper`
        (an authority in process, say); it wins over ``tsa_url``.
    :param page: the stamp's page (``-1``: the last one).
    :param box: the stamp's rectangle ``(x1, y1, x2, y2)`` in points; by
        default a free place at the bottom of the page.
    :param digest: ``sha256``, ``sha384`` or ``sha512``; ``streebog256`` or
        ``streebog512`` for a GOST R 34.10-2012 key (the one of its size).
        Default: the signer's (:attr:`~signing.signers.Signer.default_digest`).
    :param signing_time: ``/M`` and the stamp's date (aware); default now.
    :return: the signed document.
    :raises DocumentFormatError: not a readable (or an encrypted) PDF.
    :raises WeakAlgorithmError: MD5, SHA-1 or an RSA key under 2048 bits.
    :raises SigningError: anything else that stops the signature.
    """
    stamper = _as_timestamper(timestamper, tsa_url)
    prepared = _prepare(
        pdf,
        signer,
        stamp=stamp,
        field_name=field_name,
        reason=reason,
        location=location,
        timestamper=stamper,
        page=page,
        box=box,
        digest=digest,
        signing_time=signing_time,
    )
    signature = signer.sign_raw(
        prepared.signed_attributes, prepared.template.mechanism.digest.name
    )
    return _finish(prepared, signature, stamper)


def prepare_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    stamp: StampInfo | bool = True,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    tsa_url: str | None = None,
    timestamper: Timestamper | None = None,
    page: int = -1,
    box: Rect | None = None,
    digest: str | None = None,
    signing_time: dt.datetime | None = None,
) -> PreparedSignature:
    """Phase one of a two-phase PAdES signature (see
    :meth:`signing.external.ExternalSigner.prepare_pdf`). With a time-stamp
    source, room for its token is reserved; pass the same source to
    :func:`complete_pdf` (``tsa_url`` is kept in the state by itself)."""
    prepared = _prepare(
        pdf,
        signer,
        stamp=stamp,
        field_name=field_name,
        reason=reason,
        location=location,
        timestamper=_as_timestamper(timestamper, tsa_url),
        page=page,
        box=box,
        digest=digest,
        signing_time=signing_time,
    )
    mechanism = prepared.template.mechanism
    return PreparedSignature(
        kind="pdf",
        to_be_signed=prepared.signed_attributes,
        digest_algorithm=mechanism.digest.name,
        signature_algorithm=mechanism.webcrypto(),
        certificate=prepared.template.certificate_der,
        chain=tuple(c.public_bytes(Encoding.DER) for c in signer.chain),
        rsa_pss=signer.rsa_pss,
        document=prepared.document,
        reserved_region=prepared.reserved_region,
        tsa_url=tsa_url,
    )


def complete_pdf(
    prepared: PreparedSignature,
    signature_value: bytes,
    *,
    timestamper: Timestamper | None = None,
) -> bytes:
    """Phase two: the signed PDF (B-T when the state names a time-stamp
    server or ``timestamper`` is given).

    :raises SigningError: the value does not verify, or the prepared document
        no longer matches the digest it was prepared with.
    """
    signer = state_signer(prepared)
    template = signer.template_for(prepared.digest_algorithm)
    start, end = prepared.reserved_region
    document = prepared.document
    if not 0 < start < end <= len(document):
        raise SignatureFormatError("damaged signing state: bad reserved region")
    actual = _region_digest(document, (start, end), template.mechanism.digest)
    if der.message_digest_of(prepared.to_be_signed) != actual:
        raise SigningError(
            "the prepared document was changed after prepare(): its digest no longer "
            "matches the signed attributes"
        )
    value = accept_signature_value(
        signer, prepared.digest_algorithm, prepared.to_be_signed, signature_value
    )
    return _finish(
        _Prepared(document, (start, end), prepared.to_be_signed, template),
        value,
        _as_timestamper(timestamper, prepared.tsa_url),
    )


# --------------------------------------------------------------------------
# Long-term validation data and document time-stamps (B-LT, B-LTA)
# --------------------------------------------------------------------------


class _HankoTimestamper(HankoTimeStamper):
    """pyHanko's time-stamper interface over a :class:`~signing.tsa.Timestamper`."""

    def __init__(self, source: Timestamper) -> None:
        super().__init__()
        self._source = source

    async def async_request_tsa_response(
        self, req: asn1_tsp.TimeStampReq
    ) -> asn1_tsp.TimeStampResp:
        return asn1_tsp.TimeStampResp.load(self._source.respond(req.dump()))


def add_long_term_data(
    pdf: bytes,
    data: LongTermData,
    *,
    timestamper: Timestamper | None = None,
    digest: str = "sha256",
) -> bytes:
    """Make a signed PDF PAdES B-LT, and B-LTA with ``timestamper``.

    Adds the certificates, CRLs and OCSP responses of ``data`` to the document
    security store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4.2) in one
    incremental update; then, with a time-stamp source, a document time-stamp
    (/DocTimeStamp, §5.4.3) in the next, which proves that the signatures and
    their validation data existed at its time. Called again later with the
    data of the newest time-stamp's authority, it renews the archive chain.

    :raises DocumentFormatError: not a readable PDF.
    :raises SigningError: the time-stamp could not be made.
    """
    writer = _open_writer(pdf)
    try:
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            None,
            certs=[asn1_x509.Certificate.load(c) for c in data.certificates],
            crls=[asn1_crl.CertificateList.load(c) for c in data.crls],
            ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in data.ocsp_responses],
        )
        output = io.BytesIO()
        writer.write(output)
    except (PdfError, ValueError, TypeError, KeyError) as exc:
        raise SigningError(f"the long-term data cannot be added: {exc}") from exc
    if timestamper is None:
        return output.getvalue()
    writer = _open_writer(output.getvalue())
    existing = {name for name, _, _ in enumerate_sig_fields(writer)}
    n = 1
    while f"DocTimeStamp{n}" in existing:
        n += 1
    stamped = io.BytesIO()
    try:
        PdfTimeStamper(
            _HankoTimestamper(timestamper), field_name=f"DocTimeStamp{n}"
        ).timestamp_pdf(
            writer,
            digest,
            bytes_reserved=2 * (_token_size(timestamper, digest) + _SLACK),
            output=stamped,
        )
    except (HankoSigningError, PdfError, ValueError, OSError) as exc:
        raise SigningError(f"the document time-stamp failed: {exc}") from exc
    return stamped.getvalue()


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

_COVERAGE = {
    SignatureCoverageLevel.UNCLEAR: "unclear",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "contiguous_block_from_start",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
}
_MODIFICATION = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta_updates",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


def _open_reader(pdf: bytes) -> PdfFileReader:
    try:
        # Strict mode: pyHanko then refuses hybrid-reference files, in which
        # a reader and a validator may see different documents.
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        reader.root  # noqa: B018 - fail here on a broken trailer
    except (
        PdfError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
    ) as exc:
        raise DocumentFormatError(f"not a readable PDF document: {exc}") from None
    if reader.encrypted:
        raise DocumentFormatError("encrypted PDF documents are not supported")
    return reader


def _signatures_only_policy() -> StandardDiffPolicy:
    """pyHanko's default policy without its rule for other form fields."""
    default_form = DEFAULT_DIFF_POLICY.form_rule
    assert default_form is not None
    return StandardDiffPolicy(
        global_rules=DEFAULT_DIFF_POLICY.global_rules,
        form_rule=FormUpdatingRule(
            field_rules=[
                rule
                for rule in default_form.field_rules
                if not isinstance(rule, GenericFieldModificationRule)
            ],
            ignored_acroform_keys=default_form.ignored_acroform_keys,
        ),
    )


_SIGNATURES_ONLY = _signatures_only_policy()


@dataclasses.dataclass(frozen=True)
class _Policies:
    """The two difference policies a document is reviewed with, sharing what
    :mod:`signing.pdf_diff` learns of its updates."""

    default: DiffPolicy
    signatures_only: DiffPolicy

    @classmethod
    def of(cls, reader: PdfFileReader, data: bytes) -> _Policies:
        diffs = DocumentDiffs(reader, data)
        return cls(
            FastDiffPolicy(DEFAULT_DIFF_POLICY, diffs),
            FastDiffPolicy(_SIGNATURES_ONLY, diffs),
        )


#: A ``/Contents`` hex string: hex digits and PDF white space only (pyHanko's
#: ``PDF_WHITESPACE``; a comment or any other byte is left to pyHanko).
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\x00\t\n\x0c\r ]*>")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_OBJECT_HEADER = re.compile(rb"(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj\Z")
#: Room for "n g obj" with white space between its tokens.
_HEADER_SPAN = 64
#: How far after its ``/Contents`` a signature dictionary may end.
_OBJECT_TAIL = 65536
#: How far before its ``/Contents`` a signature dictionary's header is looked for.
_HEADER_WINDOW = 4096
_SENTINEL_BYTES = 8


def _header_before(pdf: bytes, offset: int) -> re.Match[bytes] | None:
    """The last ``n g obj`` header before ``offset`` (within a window)."""
    lowest = max(0, offset - _HEADER_WINDOW)
    end = offset
    while (found := pdf.rfind(b"obj", lowest, end)) >= 0:
        header = _OBJECT_HEADER.search(pdf, max(0, found - _HEADER_SPAN), found + 3)
        if header is not None:
            return header
        end = found
    return None


def _hex_value(token: bytes) -> bytes:
    """A hex string's bytes as pyHanko's reader makes them (ISO 32000-1
    §7.3.4.3: white space ignored, an odd last digit followed by 0)."""
    digits = token[1:-1].translate(None, _PDF_WHITESPACE)
    return binascii.unhexlify(digits + b"0" * (len(digits) % 2))


class _Window(io.BytesIO):
    """A part of a file that answers to the file's offsets: what pyHanko's
    reader needs to read one object that lies in it. Reading outside the
    part fails (seeking before it) or finds the end of the data."""

    def __init__(self, part: bytes, origin: int, size: int) -> None:
        super().__init__(part)
        self._origin = origin
        self._file_size = size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            offset, whence = self._file_size + offset, io.SEEK_SET
        if whence == io.SEEK_SET:
            offset -= self._origin
        return super().seek(offset, whence) + self._origin

    def tell(self) -> int:
        return super().tell() + self._origin


def _preload_signature_dictionaries(
    reader: PdfFileReader,
    pdf: bytes,
    ranges: Sequence[tuple[int, int, int, int]],
) -> None:
    """Put each signature dictionary into ``reader``'s cache with its
    ``/Contents`` decoded here rather than by pyHanko.

    pyHanko reads a hex string one digit at a time through its tokenizer; a
    signature's ``/Contents`` has 8-30 thousand digits, and reading them was
    most of the cost of verifying a small signed PDF. So pyHanko reads each
    signature dictionary itself (its own parser, header and ``endobj``
    checks) from the part of the file in which that ``/Contents`` is a short
    random sentinel, and the dictionary then gets the real value, decoded as
    pyHanko decodes a hex string made of digits and white space. It is cached
    only if its ``/Contents`` is that sentinel and its cross-reference entry
    points at the header found; anything else (a dictionary that does not end
    within 64 KiB of its ``/Contents``, say) is left for pyHanko to read as
    usual. Only this reader is affected (an earlier version replaced pyHanko's
    hex reader in the whole process for the duration of a call).
    """
    stream = reader.stream
    last = reader.xrefs.total_revisions - 1
    try:
        for _, a, b, _ in ranges:
            if not _HEX_STRING.fullmatch(pdf, a, b):
                continue
            header = _header_before(pdf, a)
            if header is None:
                continue
            ref = pdf_generic.Reference(int(header[1]), int(header[2]), reader)
            sentinel = secrets.token_bytes(_SENTINEL_BYTES)
            origin = header.start()
            reader.stream = _Window(
                pdf[origin : a + 1]
                + sentinel.hex().encode("ascii")
                + pdf[b - 1 : b - 1 + _OBJECT_TAIL],
                origin,
                len(pdf) - (b - a - 2 - 2 * _SENTINEL_BYTES),
            )
            try:
                if reader.xrefs[ref] != header.start():
                    continue
                # With a revision pyHanko reads past its cache, without filling it.
                obj = reader.get_object(ref, revision=last)
                value = obj.raw_get("/Contents")
            except _READ_ERRORS:
                continue
            if (
                isinstance(
                    value, pdf_generic.ByteStringObject | pdf_generic.TextStringObject
                )
                and value.original_bytes == sentinel
            ):
                obj["/Contents"] = pdf_generic.pdf_string(_hex_value(pdf[a:b]))
                reader.cache_indirect_object(ref.generation, ref.idnum, obj)
    finally:
        reader.stream = stream


def _pdf_reasons(
    coverage: SignatureCoverageLevel | None,
    level: ModificationLevel,
    docmdp_ok: bool | None,
    emb: EmbeddedPdfSignature,
    policies: _Policies,
) -> list[Reason]:
    """The PDF-specific reasons of a signature: coverage and later changes.

    pyHanko's default policy accepts a changed value, appearance or flag of any
    form field as FORM_FILLING; this flow allows, after a signature, only the
    fields of the signatures and document time-stamps made after it. So the
    changes are reviewed again without the rule for other fields: whatever
    that leaves unexplained is how the shadow "replace" attack and the
    form-overlay "hide" attack work (Mainka, Mladenov, Rohlmann, Schwenk,
    "Shadow Attacks", NDSS 2021). pyHanko's ``changed_form_fields`` alone
    would not do: it also names untouched fields whose appearance stream
    predates the signed revision.
    """
    reasons = []
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reasons.append(
            Reason(
                SignatureReasonCode.PARTIAL_COVERAGE,
                "Подпись охватывает не всю редакцию документа",
            )
        )
    if level is ModificationLevel.OTHER or docmdp_ok is False:
        reasons.append(
            Reason(
                SignatureReasonCode.MODIFIED_AFTER_SIGNING,
                "Документ изменён после подписания (содержимое, страницы или "
                "объекты, не разрешённые подписью)",
                {"modification_level": _MODIFICATION[level]},
            )
        )
        return reasons
    if level is ModificationLevel.ANNOTATIONS:
        reasons.append(
            Reason(
                SignatureReasonCode.ANNOTATIONS_AFTER_SIGNING,
                "После подписания в документ добавлены аннотации: они могут закрывать "
                "подписанный текст",
                {"modification_level": "annotations"},
            )
        )
    diff = emb.diff_result
    if not isinstance(diff, DiffResult) or level < ModificationLevel.FORM_FILLING:
        return reasons
    if isinstance(emb.evaluate_modifications(policies.signatures_only), DiffResult):
        return reasons
    signed_later = {
        str(name)
        for name, _, field in enumerate_sig_fields(emb.reader, filled_status=True)
        if _revision_of(emb.reader, field.get_object().raw_get("/V"))
        > emb.signed_revision
    }
    fields = sorted(str(name) for name in diff.changed_form_fields - signed_later)
    named = f": «{'», «'.join(fields)}»" if fields else ""
    reasons.append(
        Reason(
            SignatureReasonCode.MODIFIED_AFTER_SIGNING,
            f"После подписания изменены поля формы{named} (значение, внешний вид "
            "или свойства); после подписи допускаются только новые подписи и "
            "штампы времени",
            {"modification_level": _MODIFICATION[level], "form_fields": fields},
        )
    )
    return reasons


def _verify_embedded(
    emb: EmbeddedPdfSignature,
    trust: TrustStore,
    at: dt.datetime | None,
    revocation: RevocationMode,
    *,
    times: _Times,
    dss: LongTermData,
    later_stamps: Sequence[Stamp],
    policies: _Policies,
) -> PdfSignatureReport:
    signer_spec = der.DIGESTS_BY_OID.get(
        emb.signer_info["digest_algorithm"]["algorithm"].dotted
    )
    if signer_spec is not None and signer_spec.compute is not None:
        # pyHanko's integrity check hashes the byte range with the signer's
        # algorithm under asn1crypto's name for it (the dotted OID for
        # Streebog, which hashlib lacks): give it the digest it would compute.
        emb.external_digests[emb.external_md_algorithm] = _range_digest(
            emb, signer_spec
        )
    emb.compute_integrity_info(diff_policy=policies.default)
    status = emb.summarise_integrity_info()
    coverage: SignatureCoverageLevel | None = status["coverage"]
    diff = status["diff_result"]
    level = (
        diff.modification_level
        if isinstance(diff, DiffResult)
        else ModificationLevel.OTHER
    )
    if diff is None and coverage == SignatureCoverageLevel.ENTIRE_FILE:
        level = ModificationLevel.NONE
    docmdp_ok = status["docmdp_ok"]

    def digest_of(spec: der.DigestSpec) -> bytes:
        return _range_digest(emb, spec)

    embedded = embedded_data(emb.signed_data) + dss
    signer = verify_signer_info(
        emb.signed_data,
        emb.signer_info,
        content_digest=digest_of,
        certs=list(embedded.certificates),
        trust=trust,
        at=at,
        revocation=revocation,
        claimed_time=_pdf_time(emb),
        received_at=times.received_at,
        registered_at=times.registered_at,
        embedded=embedded,
        later_stamps=later_stamps,
    )
    reasons = [
        *signer.reasons,
        *_pdf_reasons(coverage, level, docmdp_ok, emb, policies),
    ]
    return PdfSignatureReport(
        field_name=str(emb.field_name),
        verdict=worst_verdict(signer.verdict, verdict_of(reasons)),
        reasons=tuple(reasons),
        intact=signer.intact,
        certificate=signer.certificate,
        signing_time=signer.signing_time,
        timestamp_time=signer.timestamp_time,
        coverage=_COVERAGE[coverage] if coverage is not None else "unclear",
        modification_level=_MODIFICATION[level],
        docmdp_ok=docmdp_ok,
        revision=int(emb.signed_revision),
        signer=signer,
    )


def _range_digest(emb: EmbeddedPdfSignature, spec: der.DigestSpec) -> bytes:
    """The ``/ByteRange`` digest with ``spec``. pyHanko's ``compute_digest``
    knows hashlib's names only; Streebog is computed here over the same
    ranges (any offsets and lengths, as pyHanko allows: the coverage is
    judged separately) and cached where pyHanko keeps its digests."""
    if spec.compute is None:
        return bytes(emb.compute_digest(spec.name))
    cached: bytes | None = emb.external_digests.get(spec.name)
    if cached is None:
        hasher = gost.Streebog(spec.size)
        stream = emb.reader.stream
        values = [int(v) for v in emb.byte_range]
        for offset, length in zip(values[::2], values[1::2], strict=True):
            stream.seek(offset)
            hasher.update(stream.read(length))
        cached = hasher.digest()
        emb.external_digests[spec.name] = cached
    return cached


def _pdf_time(emb: object) -> dt.datetime | None:
    try:
        moment = emb.self_reported_timestamp  # type: ignore[attr-defined]
    except (PdfError, ValueError, TypeError, KeyError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True)
class _Times:
    received_at: dt.datetime | None = None
    registered_at: dt.datetime | None = None


def verify_pdf(
    pdf: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
) -> PdfReport:
    """Verify every signature in a PDF document.

    Each signer's certificate is validated at the signature's proof of
    existence: its earliest valid time-stamp (the signature time-stamp, or a
    document time-stamp added after it), else ``received_at``, else ``at``
    (now); ``/M`` is the signer's claim, reported only. Certificates, CRLs and
    OCSP responses of the document security store (PAdES B-LT) are used, so a
    B-LTA document validates after its certificates and CRLs have expired.

    :param pdf: the document.
    :param trust: trust anchors, intermediates and CRLs.
    :param at: the validation time (default now), a what-if moment.
    :param received_at: when the service received the newest signature
        (the proof of existence of a signature without a time-stamp).
    :param registered_at: when the document came to exist.
    :param revocation: ``off``, ``soft``, ``hard`` or ``require``.
    :return: a :class:`~signing.verification.PdfReport`; a document without
        signatures gives a report with none (verdict INVALID, ``no_signatures``);
        a signature whose dictionary or CMS cannot be read is reported INVALID
        (``format``) beside the others.
    :raises DocumentFormatError: not a readable PDF.
    :raises SignatureFormatError: the form (AcroForm) cannot be read at all.
    """
    return _verify_pdf(pdf, trust, at, revocation, _Times(received_at, registered_at))


_READ_ERRORS = (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _revision_of(reader: PdfFileReader, ref: object) -> int:
    try:
        return int(reader.xrefs.get_last_change(ref.reference))  # type: ignore[attr-defined]
    except _READ_ERRORS:
        return reader.xrefs.total_revisions  # type: ignore[no-any-return]


def _damaged(field_name: str, exc: Exception, revision: int) -> PdfSignatureReport:
    """The report of a signature whose dictionary or CMS cannot be read."""
    reason = Reason(
        SignatureReasonCode.FORMAT,
        "Подпись повреждена и не читается",
        {"error": str(exc)},
    )
    signer = SignerReport(
        verdict=Verdict.INVALID,
        reasons=(reason,),
        intact=False,
        digest_matches=False,
        signature_verified=False,
        certificate=None,
        signing_time=None,
        timestamp_time=None,
        validation_time=_now(),
        digest_algorithm="",
        signature_algorithm="",
        weak_algorithms=(),
        signing_certificate_attribute="absent",
        certificate_validation=None,
    )
    return PdfSignatureReport(
        field_name=field_name,
        verdict=Verdict.INVALID,
        reasons=(reason,),
        intact=False,
        certificate=None,
        signing_time=None,
        timestamp_time=None,
        coverage="unclear",
        modification_level="other",
        docmdp_ok=None,
        revision=revision,
        signer=signer,
    )


def _dss_data(reader: PdfFileReader) -> LongTermData:
    """Certificates, CRLs and OCSP responses of the document security store
    (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4.2)."""
    try:
        dss = reader.root["/DSS"]
    except (KeyError, *_READ_ERRORS):
        return LongTermData()

    def streams(key: str) -> tuple[bytes, ...]:
        try:
            return tuple(ref.get_object().data for ref in dss.get(key, ()))
        except _READ_ERRORS:
            return ()

    return LongTermData(
        certificates=streams("/Certs"),
        crls=streams("/CRLs"),
        ocsp_responses=streams("/OCSPs"),
    )


def _document_stamp(reader: PdfFileReader, field_ref: object, name: str) -> Stamp:
    """A document time-stamp (/DocTimeStamp): the token and whether its
    imprint is the digest of the byte range it signs."""
    try:
        emb = EmbeddedPdfSignature(reader, field_ref, name)  # type: ignore[arg-type]
        token = der.first_tlv(bytes(emb.sig_object["/Contents"]))
        info = read_token(token)
        spec = der.DIGESTS.get(info.imprint_algorithm)
        matches = (
            spec is not None
            and spec.available
            and _range_digest(emb, spec) == info.imprint
        )
    except (SignatureFormatError, *_READ_ERRORS):
        return Stamp(TimestampKind.DOCUMENT, b"", False)
    return Stamp(TimestampKind.DOCUMENT, token, matches)


def _verify_pdf(
    pdf: bytes,
    trust: TrustStore,
    at: dt.datetime | None,
    revocation: RevocationMode,
    times: _Times,
) -> PdfReport:
    document: list[Reason] = []
    ranges = pdf_structure.find_signed_ranges(pdf)
    data = pdf
    try:
        reader = _open_reader(pdf)
    except (DocumentFormatError, NotImplementedError) as exc:
        # A broken tail (incremental saving attack) must not hide the
        # signatures before it: the longest prefix that ends where a signed
        # revision ends is verified, and each signature then fails the check of
        # what follows it below. (pyHanko raises NotImplementedError on a
        # cross-reference stream it cannot decode.)
        prefix: PdfFileReader | None = None
        for _, _, start, length in sorted(ranges, key=lambda r: -r[2] - r[3]):
            with contextlib.suppress(DocumentFormatError, NotImplementedError):
                data = pdf[: start + length]
                prefix = _open_reader(data)
                break
        if prefix is None:
            if isinstance(exc, DocumentFormatError):
                raise
            raise DocumentFormatError(f"not a readable PDF document: {exc}") from None
        reader = prefix
        document.append(
            Reason(
                SignatureReasonCode.STRUCTURE,
                "Файл после подписанной части повреждён и целиком не читается: "
                "проверены подписи читаемой части",
                {"error": str(exc)},
            )
        )
    _preload_signature_dictionaries(
        reader, data, [r for r in ranges if r[2] + r[3] <= len(data)]
    )
    policies = _Policies.of(reader, data)
    try:
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except _READ_ERRORS as exc:
        raise SignatureFormatError(
            f"the PDF's signature fields cannot be read: {exc}"
        ) from None
    found: list[tuple[int, PdfSignatureReport]] = []
    dss = _dss_data(reader)
    # Document time-stamps (PAdES B-LTA) are no signatures: each is a proof of
    # existence of every signature in the revisions before it.
    doc_stamps: list[tuple[int, Stamp]] = []
    signature_fields = []
    for name, sig_obj_ref, field_ref in fields:
        try:
            is_stamp = sig_obj_ref.get_object().get("/Type") == "/DocTimeStamp"
        except _READ_ERRORS:
            is_stamp = False
        if is_stamp:
            doc_stamps.append(
                (
                    _revision_of(reader, sig_obj_ref),
                    _document_stamp(reader, field_ref, str(name)),
                )
            )
        else:
            signature_fields.append((name, sig_obj_ref, field_ref))
    doc_stamps.sort(key=lambda item: item[0])
    for name, sig_obj_ref, field_ref in signature_fields:
        try:
            emb = EmbeddedPdfSignature(reader, field_ref, name)
        except _READ_ERRORS as exc:
            # One damaged signature must not hide the others: it is reported.
            revision = _revision_of(reader, sig_obj_ref)
            found.append((revision, _damaged(str(name), exc, revision)))
            continue
        later = [s for rev, s in doc_stamps if rev > emb.signed_revision]
        try:
            found.append(
                (
                    emb.signed_revision,
                    _verify_embedded(
                        emb,
                        trust,
                        at,
                        revocation,
                        times=times,
                        dss=dss,
                        later_stamps=later,
                        policies=policies,
                    ),
                )
            )
        except _READ_ERRORS as exc:
            found.append(
                (emb.signed_revision, _damaged(str(name), exc, emb.signed_revision))
            )
    # What pyHanko does not check (signature wrapping, incremental saving and
    # shadow attacks): the bytes around and after each signed range, over the
    # whole file even when only a prefix could be read.
    seen: set[tuple[int, ...]] = set()
    structure: dict[str, tuple[pdf_structure.Problem, ...]] = {}
    for name, sig_obj_ref, _ in fields:
        try:
            sig_obj = sig_obj_ref.get_object()
            byte_range = sig_obj.raw_get("/ByteRange")
            seen.add(tuple(int(v) for v in byte_range))
            contents = extract_contents(sig_obj)
        except _READ_ERRORS:
            continue  # a damaged signature: reported as such above
        structure[str(name)] = pdf_structure.check_signed_range(
            pdf, byte_range, contents
        )
    document.extend(
        Reason(
            SignatureReasonCode.STRUCTURE,
            "В файле есть подпись, которой не видно в документе: последующие "
            "изменения скрыли или удалили её",
            {
                "byte_range": list(hidden),
                "structure": [
                    p.kind.value
                    for p in pdf_structure.check_signed_range(pdf, hidden, None)
                ],
            },
        )
        for hidden in ranges
        if hidden not in seen
    )

    def checked(report: PdfSignatureReport) -> PdfSignatureReport:
        extra = [
            Reason(
                SignatureReasonCode.MODIFIED_AFTER_SIGNING
                if problem.after_signing
                else SignatureReasonCode.STRUCTURE,
                problem.message,
                {"structure": problem.kind.value, "offset": problem.offset},
            )
            for problem in structure.get(report.field_name, ())
        ]
        if not extra:
            return report
        return dataclasses.replace(
            report,
            reasons=(*report.reasons, *extra),
            verdict=worst_verdict(report.verdict, verdict_of(extra)),
        )

    reports = [checked(report) for _, report in sorted(found, key=lambda i: i[0])]
    reasons: tuple[Reason, ...] = tuple(document)
    if not reports:
        reasons = (
            Reason(
                SignatureReasonCode.NO_SIGNATURES,
                "Документ не содержит электронных подписей",
            ),
            *document,
        )
        verdict = Verdict.INVALID
    else:
        verdict = worst_verdict(*(r.verdict for r in reports), verdict_of(document))
    return PdfReport(
        verdict=verdict,
        signatures=tuple(reports),
        reasons=reasons,
        revisions=int(reader.xrefs.total_revisions),
    )
