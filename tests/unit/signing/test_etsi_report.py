"""ETSI TS 119 102-2 validation reports (XML) of verified CMS signatures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from urllib.parse import unquote

import pytest
from pyhanko.generated.etsi import ts_11910202 as vr
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from signing import _cms_asn1 as der
from signing import pki
from signing.cms import sign_cms, verify_cms
from signing.etsi_report import validation_report_xml
from signing.reports import LongTermData, Reason, Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority
from signing.verification import SignerReport

CONTENT = "Акт сверки № 12 за ноябрь 2026 г.".encode() * 40
URN = "urn:etsi:019102"
PASSED = f"{URN}:mainindication:total-passed"
FAILED = f"{URN}:mainindication:total-failed"
INDETERMINATE = f"{URN}:mainindication:indeterminate"
MAIN = {
    Verdict.VALID: PASSED,
    Verdict.INVALID: FAILED,
    Verdict.INDETERMINATE: INDETERMINATE,
}
CERTIFICATE = f"{URN}:validationObject:certificate"
TIMESTAMP = f"{URN}:validationObject:timestamp"


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


def _stamped(
    issued: pki.Issued,
    authority: TimeStampAuthority,
    *,
    signing_time: dt.datetime,
    token_for: bytes | None = None,
) -> bytes:
    """A CAdES-T: a CAdES-BES with a signature-time-stamp over its value (or,
    with ``token_for``, over other bytes)."""
    signer = _signer(issued)
    template = signer.template_for("sha256")
    attrs = template.signed_attributes(hashlib.sha256(CONTENT).digest(), signing_time)
    value = signer.sign_raw(attrs, "sha256")
    token = authority.timestamp(token_for if token_for is not None else value)
    return template.content_info(attrs, value, [der.time_stamp_attribute(token)])


def _verified(
    sig: bytes, trust: TrustStore, *, received_at: dt.datetime | None = None
) -> SignerReport:
    (signer,) = verify_cms(CONTENT, sig, trust, received_at=received_at).signers
    return signer


def _parse(xml: bytes) -> vr.ValidationReport:
    # pyHanko ships no XSD: a strict parse into the schema's bindings is the
    # check that the report has the standard's structure.
    parser = XmlParser(
        config=ParserConfig(
            fail_on_unknown_properties=True, fail_on_unknown_attributes=True
        )
    )
    return parser.from_bytes(xml, vr.ValidationReport)


def _report(
    signatures: Sequence[SignerReport], **kwargs: object
) -> vr.ValidationReport:
    xml = validation_report_xml(signatures, **kwargs)  # type: ignore[arg-type]
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<vr:ValidationReport" in xml
    return _parse(xml)


def _only(report: vr.ValidationReport) -> vr.SignatureValidationReportType:
    (single,) = report.signature_validation_report
    return single


def _objects(report: vr.ValidationReport) -> dict[str, vr.ValidationObjectType]:
    assert report.signature_validation_objects is not None
    objects = report.signature_validation_objects.validation_object
    by_id = {o.id: o for o in objects if o.id is not None}
    assert len(by_id) == len(objects)
    return by_id


def _digest(obj: vr.ValidationObjectType) -> bytes:
    representation = obj.validation_object_representation
    assert representation is not None
    assert representation.digest_alg_and_value is not None
    algorithm = representation.digest_alg_and_value.digest_method
    value = representation.digest_alg_and_value.digest_value
    assert algorithm is not None
    assert algorithm.algorithm == "http://www.w3.org/2001/04/xmlenc#sha256"
    assert value is not None
    assert value.value is not None
    return value.value


def _status(single: vr.SignatureValidationReportType) -> vr.ValidationStatusType:
    assert single.signature_validation_status is not None
    return single.signature_validation_status


def _report_data(status: vr.ValidationStatusType) -> dict[str, object]:
    return {
        str(item.type_value): item.value
        for data in status.associated_validation_report_data
        if data.additional_validation_report_data is not None
        for item in data.additional_validation_report_data.report_data
    }


def _when(value: object) -> dt.datetime:
    to_datetime = getattr(value, "to_datetime", None)
    assert to_datetime is not None
    moment = to_datetime()
    assert isinstance(moment, dt.datetime)
    return moment


def _process(single: vr.SignatureValidationReportType) -> str | None:
    assert single.signature_validation_process is not None
    return single.signature_validation_process.signature_validation_process_id


@pytest.fixture(scope="module")
def stamped(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> SignerReport:
    claimed = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)
    return _verified(_stamped(signer_rsa, tsa, signing_time=claimed), trust_store)


def test_valid_signature_is_total_passed(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    at = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)

    single = _only(_report([signer], validation_time=at))

    status = _status(single)
    assert status.main_indication == PASSED
    assert status.sub_indication == ()
    assert single.signature_identifier is not None
    assert single.signature_identifier.id == "sig-1"
    assert single.signature_identifier.hash_only is False
    assert single.signature_identifier.doc_hash_only is False
    assert _process(single) == f"{URN}:validationprocess:Basic"
    time_info = single.validation_time_info
    assert time_info is not None
    assert _when(time_info.validation_time) == at
    # No proof of existence: the moment the verification validated for.
    assert time_info.best_signature_time is not None
    assert time_info.best_signature_time.type_of_proof == f"{URN}:poetype:validation"
    assert _when(time_info.best_signature_time.poetime) == signer.validation_time
    assert single.signer_information is not None
    assert signer.certificate is not None
    assert single.signer_information.signer == signer.certificate.owner


def test_revoked_certificate_is_total_failed_with_revoked(
    signer_revoked: pki.Issued,
    signer_revoked_at: dt.datetime,
    trust_store: TrustStore,
) -> None:
    claimed = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signer = _verified(
        sign_cms(CONTENT, _signer(signer_revoked), signing_time=claimed), trust_store
    )

    report = _report([signer])

    single = _only(report)
    status = _status(single)
    assert status.main_indication == FAILED
    assert status.sub_indication == (f"{URN}:subindication:REVOKED",)
    data = _report_data(status)
    assert data["urn:docflow:reason:revoked"] == next(
        r.message for r in signer.reasons if r.code == "revoked"
    )
    # The claim ten days back is no proof of existence: the POE is now.
    time_info = single.validation_time_info
    assert time_info is not None
    assert time_info.best_signature_time is not None
    assert _when(time_info.best_signature_time.poetime) >= before
    (revocation,) = (
        d.revocation_status_information
        for d in status.associated_validation_report_data
        if d.revocation_status_information is not None
    )
    assert _when(revocation.revocation_time) == signer_revoked_at
    assert revocation.validation_object_id is not None
    (leaf_id,) = revocation.validation_object_id.voreference
    assert single.signer_information is not None
    assert single.signer_information.signer_certificate is not None
    assert single.signer_information.signer_certificate.voreference == (leaf_id,)
    assert signer.certificate is not None
    leaf_digest = hashlib.sha256(signer.certificate.der).digest()
    assert _digest(_objects(report)[leaf_id]) == leaf_digest


def test_time_stamp_is_the_best_signature_time(stamped: SignerReport) -> None:
    report = _report([stamped])

    single = _only(report)
    (stamp,) = stamped.timestamps
    assert stamp.gen_time is not None
    assert stamped.poe_source == "timestamp"
    assert _status(single).main_indication == PASSED
    assert _process(single) == f"{URN}:validationprocess:LTVM"
    time_info = single.validation_time_info
    assert time_info is not None
    best = time_info.best_signature_time
    assert best is not None
    assert _when(best.poetime) == stamp.gen_time
    assert best.type_of_proof == f"{URN}:poetype:validation"
    assert best.poeobject is not None
    (token_id,) = best.poeobject.voreference
    token = _objects(report)[token_id]
    assert token.object_type == TIMESTAMP
    assert stamp.token_sha256 is not None
    assert _digest(token) == bytes.fromhex(stamp.token_sha256)
    assert token.poe is not None
    assert _when(token.poe.poetime) == stamp.gen_time
    assert token.poe.type_of_proof == f"{URN}:poetype:validation"
    assert token.validation_report is not None
    assert _status(token.validation_report).main_indication == PASSED
    assert token.validation_report.signer_information is not None
    assert token.validation_report.signer_information.signer == stamp.tsa


def test_claimed_time_and_time_stamp_are_signature_attributes(
    stamped: SignerReport,
) -> None:
    single = _only(_report([stamped]))

    attributes = single.signature_attributes
    assert attributes is not None
    (signing_time,) = attributes.signing_time
    assert signing_time.signed is True
    assert _when(signing_time.time) == stamped.signing_time
    (signature_stamp,) = attributes.signature_time_stamp
    assert signature_stamp.signed is False
    assert _when(signature_stamp.time_stamp_value) == stamped.timestamps[0].gen_time
    (reference,) = signature_stamp.attribute_object
    assert reference.voreference[0].startswith("tst-")
    assert attributes.archive_time_stamp == ()


def test_every_chain_certificate_and_the_token_are_validation_objects(
    stamped: SignerReport,
) -> None:
    report = _report([stamped])

    objects = _objects(report)
    digests = {_digest(o): o.object_type for o in objects.values()}
    for cert in stamped.chain:
        assert digests[hashlib.sha256(cert.der).digest()] == CERTIFICATE
    assert stamped.timestamps[0].tsa_certificate is not None
    tsa_digest = hashlib.sha256(stamped.timestamps[0].tsa_certificate.der).digest()
    assert digests[tsa_digest] == CERTIFICATE
    assert list(digests.values()).count(TIMESTAMP) == 1
    for crl in stamped.validation_data.crls:
        assert digests[hashlib.sha256(crl).digest()] == f"{URN}:validationObject:CRL"
    (chain,) = (
        d.certificate_chain
        for d in _status(_only(report)).associated_validation_report_data
        if d.certificate_chain is not None
    )
    refs = [chain.signing_certificate, *chain.intermediate_certificate]
    refs.append(chain.trust_anchor)
    path = [_digest(objects[r.voreference[0]]) for r in refs if r is not None]
    assert path == [hashlib.sha256(cert.der).digest() for cert in stamped.chain]


def test_signatures_sharing_a_chain_share_its_objects(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    first = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    second = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)

    report = _report([first, second])

    identifiers = [s.signature_identifier for s in report.signature_validation_report]
    assert [i.id for i in identifiers if i is not None] == ["sig-1", "sig-2"]
    objects = _objects(report).values()
    certificates = [_digest(o) for o in objects if o.object_type == CERTIFICATE]
    assert len(certificates) == len(set(certificates))
    assert set(certificates) >= {hashlib.sha256(c.der).digest() for c in first.chain}
    references = {
        s.signer_information.signer_certificate.voreference
        for s in report.signature_validation_report
        if s.signer_information and s.signer_information.signer_certificate
    }
    assert len(references) == 1


def test_moment_of_receipt_is_a_provided_proof(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    received = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signer = _verified(
        sign_cms(CONTENT, _signer(signer_rsa)), trust_store, received_at=received
    )

    single = _only(_report([signer]))

    time_info = single.validation_time_info
    assert time_info is not None
    assert time_info.best_signature_time is not None
    assert time_info.best_signature_time.type_of_proof == f"{URN}:poetype:provided"
    assert _when(time_info.best_signature_time.poetime) == received


def test_time_stamp_over_other_data_is_a_hash_failure(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> None:
    sig = _stamped(
        signer_rsa,
        tsa,
        signing_time=dt.datetime.now(dt.UTC),
        token_for=b"another signature value",
    )
    signer = _verified(sig, trust_store)

    report = _report([signer])

    single = _only(report)
    status = _status(single)
    assert status.main_indication == FAILED
    assert status.sub_indication == (f"{URN}:subindication:HASH_FAILURE",)
    # A token that cannot be read for its time is not reported as an attribute.
    assert single.signature_attributes is not None
    assert single.signature_attributes.signature_time_stamp == ()
    assert TIMESTAMP not in {o.object_type for o in _objects(report).values()}


def test_document_time_stamp_is_an_archive_time_stamp(stamped: SignerReport) -> None:
    (stamp,) = stamped.timestamps
    document = dataclasses.replace(stamp, kind="document")
    signer = dataclasses.replace(stamped, timestamps=(stamp, document))

    single = _only(_report([signer]))

    assert _process(single) == f"{URN}:validationprocess:LTA"
    assert single.signature_attributes is not None
    (archive,) = single.signature_attributes.archive_time_stamp
    (signature,) = single.signature_attributes.signature_time_stamp
    # The same token twice is one validation object.
    assert archive.attribute_object == signature.attribute_object


def test_time_stamp_without_a_token_digest_has_no_object(
    stamped: SignerReport,
) -> None:
    (stamp,) = stamped.timestamps
    signer = dataclasses.replace(
        stamped, timestamps=(dataclasses.replace(stamp, token_sha256=None),)
    )

    single = _only(_report([signer]))

    assert single.signature_attributes is not None
    (attribute,) = single.signature_attributes.signature_time_stamp
    assert attribute.attribute_object == ()
    assert single.validation_time_info is not None
    assert single.validation_time_info.best_signature_time is not None
    assert single.validation_time_info.best_signature_time.poeobject is None


def test_unreadable_token_time_leaves_the_object_without_poe(
    stamped: SignerReport,
) -> None:
    (stamp,) = stamped.timestamps
    damaged = dataclasses.replace(
        stamp, gen_time=None, tsa_certificate=None, verdict=Verdict.INVALID
    )
    signer = dataclasses.replace(
        stamped,
        timestamps=(damaged,),
        poe_source="validation_time",
        signing_time=None,
    )

    report = _report([signer])

    (token,) = (o for o in _objects(report).values() if o.object_type == TIMESTAMP)
    assert token.poe is None
    assert token.validation_report is not None
    assert token.validation_report.signer_information is None
    assert _process(_only(report)) == f"{URN}:validationprocess:Basic"
    assert _only(report).signature_attributes is None


@pytest.mark.parametrize(
    ("verdict", "codes", "sub"),
    [
        (Verdict.INDETERMINATE, ("untrusted_root",), "NO_CERTIFICATE_CHAIN_FOUND"),
        # The first error leading to the verdict, not merely the first error.
        (
            Verdict.INVALID,
            ("revocation_unavailable", "expired"),
            "OUT_OF_BOUNDS_NO_POE",
        ),
        (
            Verdict.INDETERMINATE,
            ("weak_algorithm",),
            "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        ),
        (
            Verdict.INDETERMINATE,
            ("signer_certificate_missing",),
            "NO_SIGNING_CERTIFICATE_FOUND",
        ),
        (Verdict.INVALID, ("format",), "FORMAT_FAILURE"),
        (Verdict.INVALID, ("modified_after_signing",), "HASH_FAILURE"),
        (Verdict.INVALID, ("signature_invalid",), "SIG_CRYPTO_FAILURE"),
        (Verdict.INVALID, ("not_yet_valid",), "NOT_YET_VALID"),
        # No error leads to the verdict: the first error speaks.
        (Verdict.INVALID, ("revocation_unavailable",), "TRY_LATER"),
        # Not in the table: a main indication only.
        (Verdict.INVALID, ("key_usage",), None),
        (Verdict.INVALID, (), None),
    ],
)
def test_subindication_follows_the_decisive_reason(
    signer_rsa: pki.Issued,
    trust_store: TrustStore,
    verdict: Verdict,
    codes: tuple[str, ...],
    sub: str | None,
) -> None:
    valid = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    warning = Reason("claimed_time_implausible", "Предупреждение", is_warning=True)
    reasons = (warning, *(Reason(code, f"Причина {code}") for code in codes))
    signer = dataclasses.replace(valid, verdict=verdict, reasons=reasons)

    status = _status(_only(_report([signer])))

    assert status.main_indication == MAIN[verdict]
    assert status.sub_indication == ((f"{URN}:subindication:{sub}",) if sub else ())
    data = _report_data(status)
    assert data["urn:docflow:reason:claimed_time_implausible"] == "Предупреждение"
    for code in codes:
        assert data[f"urn:docflow:reason:{code}"] == f"Причина {code}"


def test_signature_without_a_certificate_has_no_signer_information(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    valid = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    signer = dataclasses.replace(
        valid,
        verdict=Verdict.INVALID,
        reasons=(Reason("format", "Подпись повреждена и не читается"),),
        certificate=None,
        certificate_validation=None,
    )

    report = _report([signer])

    single = _only(report)
    assert single.signer_information is None
    assert report.signature_validation_objects is None


def test_leaf_without_a_path_is_the_whole_chain(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    valid = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    assert valid.certificate_validation is not None
    leaf_only = dataclasses.replace(
        valid.certificate_validation,
        chain=(valid.certificate_validation.certificate,),
        evidence=None,
    )
    signer = dataclasses.replace(valid, certificate_validation=leaf_only)

    status = _status(_only(_report([signer])))

    (chain,) = (
        d.certificate_chain
        for d in status.associated_validation_report_data
        if d.certificate_chain is not None
    )
    assert chain.intermediate_certificate == ()
    assert chain.trust_anchor is None


def test_ocsp_responses_are_validation_objects(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    valid = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    assert valid.certificate_validation is not None
    response = b"0\x03\n\x01\x00"  # only its digest is reported
    validation = dataclasses.replace(
        valid.certificate_validation,
        evidence=LongTermData(ocsp_responses=(response,)),
    )
    signer = dataclasses.replace(valid, certificate_validation=validation)

    objects = _objects(_report([signer]))

    ocsp_type = f"{URN}:validationObject:OCSPResponse"
    (ocsp,) = (o for o in objects.values() if o.object_type == ocsp_type)
    assert _digest(ocsp) == hashlib.sha256(response).digest()


def test_revocation_without_a_time_is_not_reported(
    signer_revoked: pki.Issued, trust_store: TrustStore
) -> None:
    revoked = _verified(sign_cms(CONTENT, _signer(signer_revoked)), trust_store)
    assert revoked.certificate_validation is not None
    assert revoked.revocation is not None
    validation = dataclasses.replace(
        revoked.certificate_validation,
        revocation=dataclasses.replace(revoked.revocation, revoked_at=None),
    )
    signer = dataclasses.replace(revoked, certificate_validation=validation)

    status = _status(_only(_report([signer])))

    assert all(
        d.revocation_status_information is None
        for d in status.associated_validation_report_data
    )
    assert status.sub_indication == (f"{URN}:subindication:REVOKED",)


def test_signers_document_by_digest_and_name(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)
    digest = hashlib.sha256(CONTENT).hexdigest()

    report = _report(
        [signer], document_name="Акт сверки № 12.pdf", document_sha256=digest
    )

    document = _only(report).signers_document
    assert document is not None
    assert document.digest_alg_and_value is not None
    assert document.digest_alg_and_value.digest_value is not None
    assert document.digest_alg_and_value.digest_value.value == bytes.fromhex(digest)
    assert document.signers_document_ref is not None
    (ref,) = document.signers_document_ref.voreference
    obj = _objects(report)[ref]
    assert obj.object_type == f"{URN}:validationObject:signedData"
    assert obj.validation_object_representation is not None
    uri = obj.validation_object_representation.uri
    assert uri is not None
    assert uri.startswith("%D0%90%D0%BA%D1%82%20")  # «Акт », percent-encoded
    assert unquote(uri) == "Акт сверки № 12.pdf"


def test_signers_document_by_name_only(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)

    document = _only(_report([signer], document_name="act.pdf")).signers_document

    assert document is not None
    assert document.digest_alg_and_value is None
    (representation,) = document.signers_document_representation
    assert representation.voreference == ("signed-data",)


def test_signers_document_by_digest_only(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)

    report = _report([signer], document_sha256="00" * 32)

    document = _only(report).signers_document
    assert document is not None
    assert document.signers_document_ref is None
    assert "signed-data" not in _objects(report)


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("docflow", "CN=docflow"),
        ("", "CN="),
        ('ООО "Ромашка", ЭДО', 'CN=ООО \\"Ромашка\\"\\, ЭДО'),
        ("#1 ", "CN=\\#1\\ "),
    ],
)
def test_signature_validator_is_named(
    signer_rsa: pki.Issued, trust_store: TrustStore, name: str, subject: str
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)

    report = _report([signer], validator_name=name)

    assert report.signature_validator is not None
    (digital_id,) = report.signature_validator.digital_id
    assert digital_id.x509_subject_name == subject


@pytest.mark.parametrize(
    "kwargs",
    [
        # A naive moment: whose 12:00?
        {"validation_time": dt.datetime(2026, 12, 5, 12, 0)},
        {"document_sha256": "ab" * 20},
        {"document_sha256": "not hex"},
    ],
)
def test_bad_arguments_are_refused(
    signer_rsa: pki.Issued, trust_store: TrustStore, kwargs: dict[str, object]
) -> None:
    signer = _verified(sign_cms(CONTENT, _signer(signer_rsa)), trust_store)

    with pytest.raises(ValueError, match=r".+"):
        validation_report_xml([signer], **kwargs)  # type: ignore[arg-type]


def test_no_signatures_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one signature"):
        validation_report_xml([])
