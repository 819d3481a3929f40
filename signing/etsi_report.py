"""Validation reports in the structure of ETSI TS 119 102-2 (v1.2.1, XML).

:func:`validation_report_xml` turns the :class:`~signing.verification.SignerReport`
values of a verification into a ``vr:ValidationReport``: one
``SignatureValidationReport`` per signature, with the indications of
EN 319 102-1 §5.1.3, the proof of existence the signature was validated at, and
a ``SignatureValidationObjects`` list of every certificate, time-stamp token,
CRL and OCSP response the verification relied on, each once.

The document is built with pyHanko's xsdata bindings of the standard's schema
and serialised by xsdata; nothing here validates a signature again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

from pyhanko.generated.etsi import ts_119612, ts_11910202, xades
from pyhanko.generated.w3c import xmldsig_core
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDateTime

from signing.certificates import CertificateInfo
from signing.reports import LongTermData, Reason, Verdict
from signing.verification import (
    PoeSource,
    SignerReport,
    TimestampKind,
    TimestampReport,
    reason_verdict,
)

__all__ = ["validation_report_xml"]

#: Prefixes of the report's XML, as TS 119 102-2 and its examples write them.
NAMESPACES: Mapping[str, str] = {
    "vr": "http://uri.etsi.org/19102/v1.2.1#",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "XAdES": "http://uri.etsi.org/01903/v1.3.2#",
    "tsl": "http://uri.etsi.org/02231/v2#",
}

#: SHA-256 as XML Encryption names it (the URI XAdES and TS 119 102-2 use).
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"

_URN = "urn:etsi:019102"
_POE_VALIDATION = f"{_URN}:poetype:validation"
_POE_PROVIDED = f"{_URN}:poetype:provided"

#: The TS 119 102-2 validation object types used here.
_VO_CERTIFICATE = f"{_URN}:validationObject:certificate"
_VO_CRL = f"{_URN}:validationObject:CRL"
_VO_OCSP = f"{_URN}:validationObject:OCSPResponse"
_VO_TIMESTAMP = f"{_URN}:validationObject:timestamp"
_VO_SIGNED_DATA = f"{_URN}:validationObject:signedData"

_DOCUMENT_ID = "signed-data"

MAIN_INDICATION: Mapping[Verdict, str] = {
    Verdict.VALID: f"{_URN}:mainindication:total-passed",
    Verdict.INVALID: f"{_URN}:mainindication:total-failed",
    Verdict.INDETERMINATE: f"{_URN}:mainindication:indeterminate",
}

#: Our reason codes as EN 319 102-1 §5.1.3 Table 5 subindications. A code
#: missing here gives a main indication without a subindication (optional in
#: TS 119 102-2).
SUB_INDICATION: Mapping[str, str] = {
    "digest_mismatch": "HASH_FAILURE",
    "modified_after_signing": "HASH_FAILURE",
    # The token does not bind the signature it claims to cover.
    "timestamp_invalid": "HASH_FAILURE",
    "signature_invalid": "SIG_CRYPTO_FAILURE",
    "revoked": "REVOKED",
    "not_yet_valid": "NOT_YET_VALID",
    "format": "FORMAT_FAILURE",
    "untrusted_root": "NO_CERTIFICATE_CHAIN_FOUND",
    "no_path": "NO_CERTIFICATE_CHAIN_FOUND",
    "chain_incomplete": "NO_CERTIFICATE_CHAIN_FOUND",
    "revocation_unavailable": "TRY_LATER",
    "weak_algorithm": "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "signer_certificate_missing": "NO_SIGNING_CERTIFICATE_FOUND",
    # Table 5 lists OUT_OF_BOUNDS_NO_POE under INDETERMINATE (a proof of
    # existence before the expiry could still save the signature); our verdict
    # for an expired certificate is INVALID because the proof of existence was
    # already looked for, and the main indication keeps our verdict.
    "expired": "OUT_OF_BOUNDS_NO_POE",
}


#: One serialiser for the process: its context keeps the bindings' metadata,
#: which a new one would build again for every report (most of the cost).
_SERIALIZER = XmlSerializer(context=XmlContext(), config=SerializerConfig(indent="  "))


def _utc(moment: dt.datetime) -> XmlDateTime:
    return XmlDateTime.from_datetime(moment.astimezone(dt.UTC))


def _sha256_value(digest: bytes) -> xades.DigestAlgAndValueType:
    return xades.DigestAlgAndValueType(
        digest_method=xmldsig_core.DigestMethod(algorithm=SHA256_URI),
        digest_value=xmldsig_core.DigestValue(value=digest),
    )


def _ref(*ids: str) -> ts_11910202.VOReferenceType:
    return ts_11910202.VOReferenceType(voreference=ids)


def _signer_name(cert: CertificateInfo) -> str:
    return cert.owner or cert.subject_cn or cert.subject


class _ValidationObjects:
    """The report's ``SignatureValidationObjects``: one object per SHA-256
    digest, shared by every signature that refers to it."""

    def __init__(self) -> None:
        self._objects: dict[bytes, ts_11910202.ValidationObjectType] = {}
        self._document: list[ts_11910202.ValidationObjectType] = []

    def add(
        self,
        object_type: str,
        prefix: str,
        digest: bytes,
        *,
        poe: ts_11910202.POEType | None = None,
        report: ts_11910202.SignatureValidationReportType | None = None,
    ) -> str:
        """Register an object by its digest (once) and return its ``id``."""
        object_id = f"{prefix}-{digest.hex()}"
        if digest not in self._objects:
            self._objects[digest] = ts_11910202.ValidationObjectType(
                id=object_id,
                object_type=object_type,
                validation_object_representation=(
                    ts_11910202.ValidationObjectRepresentationType(
                        digest_alg_and_value=_sha256_value(digest)
                    )
                ),
                poe=poe,
                validation_report=report,
            )
        return object_id

    def certificate(self, cert: CertificateInfo) -> str:
        return self.add(_VO_CERTIFICATE, "cert", hashlib.sha256(cert.der).digest())

    def long_term_data(self, data: LongTermData) -> None:
        for der in data.certificates:
            self.add(_VO_CERTIFICATE, "cert", hashlib.sha256(der).digest())
        for der in data.crls:
            self.add(_VO_CRL, "crl", hashlib.sha256(der).digest())
        for der in data.ocsp_responses:
            self.add(_VO_OCSP, "ocsp", hashlib.sha256(der).digest())

    def document(
        self, *, name: str | None, sha256: bytes | None
    ) -> ts_11910202.SignersDocumentType | None:
        """The signed document: its digest in ``SignersDocument`` itself, its
        name as the URI of a ``signedData`` validation object."""
        if name is not None:
            # quote(): a file name, percent-encoded, is a relative URI reference
            # (RFC 3986 §4.2) whatever characters it holds.
            self._document = [
                ts_11910202.ValidationObjectType(
                    id=_DOCUMENT_ID,
                    object_type=_VO_SIGNED_DATA,
                    validation_object_representation=(
                        ts_11910202.ValidationObjectRepresentationType(
                            uri=quote(name, safe="")
                        )
                    ),
                )
            ]
        if sha256 is not None:
            return ts_11910202.SignersDocumentType(
                digest_alg_and_value=_sha256_value(sha256),
                signers_document_ref=_ref(_DOCUMENT_ID) if name is not None else None,
            )
        if name is not None:
            return ts_11910202.SignersDocumentType(
                signers_document_representation=(_ref(_DOCUMENT_ID),)
            )
        return None

    def as_list(self) -> ts_11910202.ValidationObjectListType | None:
        objects = (*self._document, *self._objects.values())
        if not objects:
            return None
        return ts_11910202.ValidationObjectListType(validation_object=objects)


def _sub_indication(verdict: Verdict, reasons: Sequence[Reason]) -> tuple[str, ...]:
    """The subindication of the first error that leads to the verdict (so the
    pair stays one of Table 5's), else of the first error at all."""
    if verdict is Verdict.VALID:
        return ()
    errors = [r for r in reasons if not r.is_warning]
    decisive = next((r for r in errors if reason_verdict(r) is verdict), None)
    if decisive is None and errors:
        decisive = errors[0]
    name = SUB_INDICATION.get(decisive.code) if decisive is not None else None
    return (f"{_URN}:subindication:{name}",) if name else ()


def _status(
    verdict: Verdict,
    reasons: Sequence[Reason],
    *,
    report_data: Iterable[ts_11910202.ValidationReportDataType] = (),
) -> ts_11910202.ValidationStatusType:
    data = list(report_data)
    if reasons:
        data.append(
            ts_11910202.ValidationReportDataType(
                additional_validation_report_data=(
                    ts_11910202.AdditionalValidationReportDataType(
                        report_data=tuple(
                            ts_11910202.TypedDataType(
                                type_value=f"urn:docflow:reason:{r.code}",
                                value=r.message,
                            )
                            for r in reasons
                        )
                    )
                )
            )
        )
    return ts_11910202.ValidationStatusType(
        main_indication=MAIN_INDICATION[verdict],
        sub_indication=_sub_indication(verdict, reasons),
        associated_validation_report_data=tuple(data),
    )


def _timestamp_object(
    stamp: TimestampReport, objects: _ValidationObjects
) -> str | None:
    """The token as a validation object (by the digest of its DER: the token
    itself is not in the report), with its own small validation report."""
    if stamp.token_sha256 is None:
        return None
    signer_information = None
    if stamp.tsa_certificate is not None:
        signer_information = ts_11910202.SignerInformationType(
            signer_certificate=_ref(objects.certificate(stamp.tsa_certificate)),
            signer=stamp.tsa or _signer_name(stamp.tsa_certificate),
        )
    return objects.add(
        _VO_TIMESTAMP,
        "tst",
        bytes.fromhex(stamp.token_sha256),
        poe=(
            ts_11910202.POEType(
                poetime=_utc(stamp.gen_time), type_of_proof=_POE_VALIDATION
            )
            if stamp.gen_time is not None
            else None
        ),
        report=ts_11910202.SignatureValidationReportType(
            signer_information=signer_information,
            signature_validation_status=_status(stamp.verdict, stamp.reasons),
        ),
    )


def _attributes(
    signer: SignerReport, stamp_ids: Mapping[int, str]
) -> ts_11910202.SignatureAttributesType | None:
    def stamp(index: int, value: dt.datetime) -> ts_11910202.SATimestampType:
        stamp_id = stamp_ids.get(index)
        return ts_11910202.SATimestampType(
            signed=False,
            time_stamp_value=_utc(value),
            attribute_object=(_ref(stamp_id),) if stamp_id else (),
        )

    signature_stamps: list[ts_11910202.SATimestampType] = []
    archive_stamps: list[ts_11910202.SATimestampType] = []
    for index, report in enumerate(signer.timestamps):
        if report.gen_time is None:
            # A token too damaged to read has no time to report; its error is
            # among the signature's reasons.
            continue
        if report.kind == TimestampKind.SIGNATURE:
            signature_stamps.append(stamp(index, report.gen_time))
        else:
            # A PAdES document time-stamp is PAdES's archive time-stamp
            # (EN 319 142-1, level B-LTA).
            archive_stamps.append(stamp(index, report.gen_time))
    signing_time = (
        (ts_11910202.SASigningTimeType(signed=True, time=_utc(signer.signing_time)),)
        if signer.signing_time is not None
        else ()
    )
    if not (signing_time or signature_stamps or archive_stamps):
        return None
    return ts_11910202.SignatureAttributesType(
        signing_time=signing_time,
        signature_time_stamp=tuple(signature_stamps),
        archive_time_stamp=tuple(archive_stamps),
    )


def _process(signer: SignerReport) -> str:
    kinds = {s.kind for s in signer.timestamps if s.is_valid}
    if kinds & {TimestampKind.ARCHIVE, TimestampKind.DOCUMENT}:
        process = "LTA"
    elif TimestampKind.SIGNATURE in kinds:
        process = "LTVM"
    else:
        process = "Basic"
    return f"{_URN}:validationprocess:{process}"


def _best_signature_time(
    signer: SignerReport, stamp_ids: Mapping[int, str]
) -> ts_11910202.POEType:
    """The proof of existence the signature was validated at (EN 319 102-1
    §5.6.2.2): a valid time-stamp, the service's record of receipt, or the
    moment of validation itself."""
    if signer.poe_source == PoeSource.TIMESTAMP:
        proof = next(
            (
                stamp_ids.get(i)
                for i, s in enumerate(signer.timestamps)
                if s.is_valid and s.gen_time == signer.validation_time
            ),
            None,
        )
        return ts_11910202.POEType(
            poetime=_utc(signer.validation_time),
            type_of_proof=_POE_VALIDATION,
            poeobject=_ref(proof) if proof else None,
        )
    if signer.poe_source == PoeSource.RECEIPT:
        return ts_11910202.POEType(
            poetime=_utc(signer.validation_time), type_of_proof=_POE_PROVIDED
        )
    return ts_11910202.POEType(
        poetime=_utc(signer.validation_time), type_of_proof=_POE_VALIDATION
    )


def _chain_data(
    signer: SignerReport, objects: _ValidationObjects
) -> list[ts_11910202.ValidationReportDataType]:
    """The certificate path (leaf first, trust anchor last) and, for a
    revoked certificate, when it was revoked."""
    chain = signer.chain
    if not chain:
        return []
    ids = [objects.certificate(cert) for cert in chain]
    data = [
        ts_11910202.ValidationReportDataType(
            certificate_chain=ts_11910202.CertificateChainType(
                signing_certificate=_ref(ids[0]),
                intermediate_certificate=tuple(_ref(i) for i in ids[1:-1]),
                trust_anchor=_ref(ids[-1]) if len(ids) > 1 else None,
            )
        )
    ]
    revocation = signer.revocation
    if (
        revocation is not None
        and revocation.status == "revoked"
        and revocation.revoked_at is not None
    ):
        data.append(
            ts_11910202.ValidationReportDataType(
                revocation_status_information=(
                    ts_11910202.RevocationStatusInformationType(
                        validation_object_id=_ref(ids[0]),
                        revocation_time=_utc(revocation.revoked_at),
                    )
                )
            )
        )
    return data


def _signature_report(
    number: int,
    signer: SignerReport,
    *,
    objects: _ValidationObjects,
    validation_time: dt.datetime,
    document: ts_11910202.SignersDocumentType | None,
) -> ts_11910202.SignatureValidationReportType:
    chain_data = _chain_data(signer, objects)
    stamp_ids: dict[int, str] = {}
    for index, stamp in enumerate(signer.timestamps):
        stamp_id = _timestamp_object(stamp, objects)
        if stamp_id is not None:
            stamp_ids[index] = stamp_id
    # The time-stamp authorities' chains and the revocation data.
    objects.long_term_data(signer.validation_data)
    signer_information = None
    if signer.certificate is not None:
        signer_information = ts_11910202.SignerInformationType(
            signer_certificate=_ref(objects.certificate(signer.certificate)),
            signer=_signer_name(signer.certificate),
        )
    return ts_11910202.SignatureValidationReportType(
        # Identified by position only: SignerReport carries neither the
        # signature value nor the digest of its data to be signed.
        signature_identifier=ts_11910202.SignatureIdentifierType(
            hash_only=False, doc_hash_only=False, id=f"sig-{number}"
        ),
        validation_time_info=ts_11910202.ValidationTimeInfoType(
            validation_time=_utc(validation_time),
            best_signature_time=_best_signature_time(signer, stamp_ids),
        ),
        signers_document=document,
        signature_attributes=_attributes(signer, stamp_ids),
        signer_information=signer_information,
        signature_validation_process=ts_11910202.SignatureValidationProcessType(
            signature_validation_process_id=_process(signer)
        ),
        signature_validation_status=_status(
            signer.verdict, signer.reasons, report_data=chain_data
        ),
    )


def _validator(name: str) -> ts_11910202.SignatureValidatorType:
    # RFC 4514 §2.4: escape the special characters of a DN string value.
    chars = [f"\\{c}" if c in '"+,;<>\\' else c for c in name]
    if chars and chars[0] in ("#", " "):
        chars[0] = "\\" + chars[0]
    if len(chars) > 1 and chars[-1] == " ":
        chars[-1] = "\\ "
    value = "".join(chars)
    return ts_11910202.SignatureValidatorType(
        digital_id=(ts_119612.DigitalIdentityType(x509_subject_name=f"CN={value}"),)
    )


def validation_report_xml(
    signatures: Sequence[SignerReport],
    *,
    document_name: str | None = None,
    document_sha256: str | None = None,
    validation_time: dt.datetime | None = None,
    validator_name: str = "docflow",
) -> bytes:
    """The verification of a document's signatures as an ETSI TS 119 102-2
    validation report (``vr:ValidationReport``, UTF-8 XML).

    Each signature is reported with its main indication and subindication
    (EN 319 102-1 §5.1.3), the reasons' Russian messages as
    ``urn:docflow:reason:<code>`` report data, and the proof of existence it
    was validated at as ``BestSignatureTime``. For a PDF signature pass a
    :class:`~signing.verification.SignerReport` that carries the
    :class:`~signing.verification.PdfSignatureReport`'s own verdict and
    reasons (changes after signing are judged there).

    :param signatures: one report per signature, in document order
        (``sig-1``, ``sig-2``...).
    :param document_name: the signed document's file name, reported as the
        URI of a ``signedData`` validation object.
    :param document_sha256: the signed document's SHA-256 (hex), reported as
        ``SignersDocument``.
    :param validation_time: when the validation was made (timezone-aware);
        now by default.
    :param validator_name: the common name of the validating service.
    :raises ValueError: no signatures, a naive ``validation_time`` or a
        ``document_sha256`` that is not 64 hex digits.
    """
    if not signatures:
        raise ValueError("a validation report needs at least one signature")
    if validation_time is None:
        validation_time = dt.datetime.now(dt.UTC)
    elif validation_time.tzinfo is None:
        raise ValueError("validation_time must be timezone-aware")
    digest: bytes | None = None
    if document_sha256 is not None:
        digest = bytes.fromhex(document_sha256)
        if len(digest) != hashlib.sha256().digest_size:
            raise ValueError("document_sha256 must be a SHA-256 digest in hex")
    objects = _ValidationObjects()
    document = objects.document(name=document_name, sha256=digest)
    reports = tuple(
        _signature_report(
            number,
            signer,
            objects=objects,
            validation_time=validation_time,
            document=document,
        )
        for number, signer in enumerate(signatures, start=1)
    )
    report = ts_11910202.ValidationReport(
        signature_validation_report=reports,
        signature_validation_objects=objects.as_list(),
        signature_validator=_validator(validator_name),
    )
    return _SERIALIZER.render(report, ns_map=dict(NAMESPACES)).encode()
