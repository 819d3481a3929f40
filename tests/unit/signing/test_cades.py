"""CAdES -T, -LT and -LTA (archive-time-stamp-v3) augmentation.

The archive time-stamp imprint is re-computed here independently (asn1crypto,
hashlib) from ETSI EN 319 122-1 §5.5.2/§5.5.3, and ``openssl`` judges the
signature and the tokens from the outside.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from signing import _cms_asn1 as der
from signing import cades, pki
from signing.cms import sign_cms, verify_cms
from signing.errors import CertificateFormatError, SignatureFormatError, SigningError
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority, read_token

CONTENT = "Договор поставки № 7 от 1 марта 2027 г.".encode() * 40
SIG_TS = der.OID_SIGNATURE_TIME_STAMP
ATS_V3 = cades.OID_ARCHIVE_TIME_STAMP_V3

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command is not installed"
)


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


@pytest.fixture(scope="module")
def authority(pki_tsa: pki.Issued) -> TimeStampAuthority:
    return TimeStampAuthority(_signer(pki_tsa), policy="1.2.643.100.777.1")


@pytest.fixture(scope="module")
def ocsp_der(
    signer_rsa: pki.Issued,
    pki_intermediate: pki.Issued,
    pki_ocsp_responder: pki.Issued,
    pki_now: dt.datetime,
) -> bytes:
    """A successful OCSP response (RFC 6960): ``signer_rsa`` is good."""
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=signer_rsa.cert,
            issuer=pki_intermediate.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=pki_now - dt.timedelta(minutes=5),
            next_update=pki_now + dt.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, pki_ocsp_responder.cert)
        .certificates([pki_ocsp_responder.cert])
        .sign(pki_ocsp_responder.key, hashes.SHA256())
    )
    return response.public_bytes(Encoding.DER)


@dataclasses.dataclass(frozen=True)
class Stages:
    b: bytes
    t: bytes
    lt: bytes
    lta: bytes
    lta2: bytes


def _build_stages(
    signer: pki.Issued,
    authority: TimeStampAuthority,
    certificates: list[bytes],
    crls: list[bytes],
    ocsp_responses: list[bytes],
) -> Stages:
    """B → T → LT → LTA → LTA (renewal), each step from the previous one."""
    b = sign_cms(CONTENT, _signer(signer))
    t = cades.add_signature_timestamp(b, authority)
    lt = cades.add_validation_data(
        t, certificates=certificates, crls=crls, ocsp_responses=ocsp_responses
    )
    lta = cades.add_archive_timestamp(lt, CONTENT, authority)
    lta2 = cades.add_archive_timestamp(lta, CONTENT, authority)
    return Stages(b, t, lt, lta, lta2)


@pytest.fixture(scope="module")
def stages(
    signer_rsa: pki.Issued,
    pki_tsa: pki.Issued,
    pki_ocsp_responder: pki.Issued,
    pki_intermediate: pki.Issued,
    authority: TimeStampAuthority,
    crl_der: bytes,
    root_crl_der: bytes,
    ocsp_der: bytes,
) -> Stages:
    # The intermediate is there already: it is not added twice.
    certificates = [pki_tsa.der, pki_ocsp_responder.der, pki_intermediate.der]
    return _build_stages(
        signer_rsa, authority, certificates, [crl_der, root_crl_der], [ocsp_der]
    )


@pytest.fixture(scope="module")
def stages_crls_only(
    signer_rsa: pki.Issued,
    pki_tsa: pki.Issued,
    authority: TimeStampAuthority,
    crl_der: bytes,
    root_crl_der: bytes,
) -> Stages:
    return _build_stages(
        signer_rsa, authority, [pki_tsa.der], [crl_der, root_crl_der], []
    )


STAGES = ["b", "t", "lt", "lta", "lta2"]


def _signer_info(sig: bytes) -> asn1_cms.SignerInfo:
    return asn1_cms.ContentInfo.load(sig)["content"]["signer_infos"][0]


def _signed_fields(sig: bytes) -> bytes:
    """version .. signature of the SignerInfo, as encoded."""
    si = _signer_info(sig)
    names = ("version", "sid", "digest_algorithm", "signed_attrs")
    names += ("signature_algorithm", "signature")
    return b"".join(si[name].dump() for name in names)


# --------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------


def test_signature_timestamp_covers_signature_value(stages: Stages) -> None:
    (token,) = cades.signature_timestamp_tokens(stages.t)

    value = _signer_info(stages.t)["signature"].native
    info = read_token(token)
    assert info.imprint_algorithm == "sha256"
    assert info.imprint == hashlib.sha256(value).digest()
    assert cades.unsigned_attribute_types(stages.t) == [SIG_TS]
    assert cades.signature_timestamp_tokens(stages.b) == []
    assert cades.unsigned_attribute_types(stages.b) == []


@pytest.mark.parametrize("stage", STAGES[1:])
def test_augmentation_keeps_signed_fields_byte_identical(
    stages: Stages, stage: str
) -> None:
    original = _signer_info(stages.b)["signed_attrs"].dump()

    sig = getattr(stages, stage)

    assert _signed_fields(sig) == _signed_fields(stages.b)
    assert original in sig


@pytest.mark.parametrize("stage", STAGES)
def test_each_level_verifies(
    stages_crls_only: Stages, stage: str, trust_store: TrustStore
) -> None:
    report = verify_cms(CONTENT, getattr(stages_crls_only, stage), trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signer,) = report.signers
    assert signer.intact
    if stage != "b":
        assert signer.timestamp_time is not None


@pytest.mark.parametrize("stage", STAGES[2:])
def test_each_level_verifies_with_embedded_ocsp(
    stages: Stages, stage: str, trust_store: TrustStore
) -> None:
    report = verify_cms(CONTENT, getattr(stages, stage), trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()


def test_levels_carry_their_attributes(stages: Stages) -> None:
    types = cades.unsigned_attribute_types(stages.lta2)

    assert sorted(types) == sorted([SIG_TS, ATS_V3, ATS_V3])
    assert cades.unsigned_attribute_types(stages.lt) == [SIG_TS]
    assert cades.archive_timestamps(stages.lt, CONTENT) == []


def test_archive_timestamps_match_in_order(stages: Stages) -> None:
    (only,) = cades.archive_timestamps(stages.lta, CONTENT)
    first, second = cades.archive_timestamps(stages.lta2, CONTENT)

    assert only.imprint_matches
    assert first.imprint_matches and second.imprint_matches
    assert first.token == only.token
    assert first.gen_time is not None and second.gen_time is not None
    assert first.gen_time <= second.gen_time
    assert read_token(first.token).gen_time == first.gen_time


def test_archive_timestamp_digest_joins_digest_algorithms(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    sig = cades.add_archive_timestamp(stages.lt, CONTENT, authority, digest="sha512")

    algorithms = asn1_cms.ContentInfo.load(sig)["content"]["digest_algorithms"]
    assert {a["algorithm"].native for a in algorithms} == {"sha256", "sha512"}
    (ats,) = cades.archive_timestamps(sig, CONTENT)
    assert ats.imprint_matches
    assert read_token(ats.token).imprint_algorithm == "sha512"


# --------------------------------------------------------------------------
# The imprint, re-computed independently (EN 319 122-1 §5.5.2, §5.5.3)
# --------------------------------------------------------------------------


def _stored_index(token: bytes) -> bytes:
    si = _signer_info(token)
    (attr,) = [a for a in si["unsigned_attrs"] if a["type"].dotted == "0.4.0.19122.1.5"]
    (value,) = attr["values"]
    return bytes(value.dump())


def _independent_index(sig: bytes, *, with_algorithm: bool = True) -> bytes:
    signed_data = asn1_cms.ContentInfo.load(sig)["content"]
    si = signed_data["signer_infos"][0]

    def octets(items: list[bytes]) -> bytes:
        return der.seq(*(der.octet_string(hashlib.sha256(i).digest()) for i in items))

    certs = [c.dump() for c in signed_data["certificates"]]
    crls = [c.dump() for c in signed_data["crls"]] if signed_data["crls"] else []
    unsigned = si["unsigned_attrs"]
    attrs = (
        [a["type"].dump() + v.dump() for a in unsigned for v in a["values"]]
        if unsigned
        else []
    )
    algorithm = [der.seq(der.oid("2.16.840.1.101.3.4.2.1"))] if with_algorithm else []
    return der.seq(*algorithm, octets(certs), octets(crls), octets(attrs))


def _independent_imprint(sig: bytes, content: bytes, index: bytes) -> bytes:
    econtent_type = asn1_cms.ContentInfo.load(sig)["content"]["encap_content_info"][
        "content_type"
    ].dump()
    return hashlib.sha256(
        econtent_type + hashlib.sha256(content).digest() + _signed_fields(sig) + index
    ).digest()


def test_hash_index_and_imprint_follow_the_standard(stages: Stages) -> None:
    first, second = cades.archive_timestamps(stages.lta2, CONTENT)

    for before, ats in ((stages.lt, first), (stages.lta, second)):
        index = _stored_index(ats.token)
        assert index == _independent_index(before)
        assert read_token(ats.token).imprint == _independent_imprint(
            before, CONTENT, index
        )


# --------------------------------------------------------------------------
# What breaks the binding, and what does not
# --------------------------------------------------------------------------


def _edit(sig: bytes, **fields: object) -> bytes:
    info = asn1_cms.ContentInfo.load(sig)
    for name, value in fields.items():
        info["content"][name] = value
    return bytes(info.dump())


def _all_match(sig: bytes, content: bytes = CONTENT) -> list[bool]:
    return [a.imprint_matches for a in cades.archive_timestamps(sig, content)]


def test_changed_content_byte_breaks_archive_timestamps(stages: Stages) -> None:
    tampered = bytearray(CONTENT)
    tampered[10] ^= 0x01

    assert _all_match(stages.lta2, bytes(tampered)) == [False, False]


def test_removed_certificate_breaks_archive_timestamps(
    stages: Stages, pki_ocsp_responder: pki.Issued
) -> None:
    certs = asn1_cms.ContentInfo.load(stages.lta2)["content"]["certificates"]
    kept = [c for c in certs if c.chosen.dump() != pki_ocsp_responder.der]
    assert len(kept) == len(certs) - 1

    sig = _edit(stages.lta2, certificates=asn1_cms.CertificateSet(kept))

    assert _all_match(sig) == [False, False]


def test_removed_crl_breaks_archive_timestamps(stages: Stages, crl_der: bytes) -> None:
    crls = asn1_cms.ContentInfo.load(stages.lta2)["content"]["crls"]
    kept = [c for c in crls if c.chosen.dump() != crl_der]
    assert len(kept) == len(crls) - 1

    sig = _edit(stages.lta2, crls=asn1_cms.RevocationInfoChoices(kept))

    assert _all_match(sig) == [False, False]


def test_changed_signature_timestamp_breaks_archive_timestamps(stages: Stages) -> None:
    (token,) = cades.signature_timestamp_tokens(stages.lta2)
    changed = token[:-1] + bytes((token[-1] ^ 0x01,))

    sig = stages.lta2.replace(token, changed)

    assert cades.signature_timestamp_tokens(sig) == [changed]
    assert _all_match(sig) == [False, False]


def test_removed_earlier_archive_timestamp_breaks_the_renewal(stages: Stages) -> None:
    first, second = cades.archive_timestamps(stages.lta2, CONTENT)
    info = asn1_cms.ContentInfo.load(stages.lta2)
    si = info["content"]["signer_infos"][0]
    kept = [
        a
        for a in si["unsigned_attrs"]
        if a["type"].dotted != ATS_V3 or a["values"][0].dump() != first.token
    ]
    si["unsigned_attrs"] = asn1_cms.CMSAttributes(kept)

    (renewal,) = cades.archive_timestamps(info.dump(), CONTENT)

    assert renewal.token == second.token
    assert not renewal.imprint_matches


def test_validation_data_added_later_keeps_archive_timestamps(
    stages: Stages,
    signer_ec: pki.Issued,
    pki_intermediate: pki.Issued,
    pki_now: dt.datetime,
) -> None:
    newer_crl = pki.make_crl(
        pki_intermediate, this_update=pki_now - dt.timedelta(minutes=1), number=2
    )

    sig = cades.add_validation_data(
        stages.lta2, certificates=[signer_ec.der], crls=[newer_crl]
    )

    assert signer_ec.der in cades.validation_data(sig).certificates
    assert newer_crl in cades.validation_data(sig).crls
    assert _all_match(sig) == [True, True]


# --------------------------------------------------------------------------
# Long-term validation data
# --------------------------------------------------------------------------


def test_validation_data_is_embedded(
    stages: Stages,
    pki_tsa: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    ocsp_der: bytes,
) -> None:
    data = cades.validation_data(stages.lt)
    before = cades.validation_data(stages.t)

    assert set(before.certificates) < set(data.certificates)
    assert pki_tsa.der in data.certificates
    assert len(data.certificates) == len(set(data.certificates))
    assert sorted(data.crls) == sorted([crl_der, root_crl_der])
    assert data.ocsp_responses == (ocsp_der,)
    assert before.crls == before.ocsp_responses == ()


def test_ocsp_response_is_an_other_revocation_choice(stages: Stages) -> None:
    signed_data = asn1_cms.ContentInfo.load(stages.lt)["content"]

    (other,) = [c for c in signed_data["crls"] if c.name == "other"]

    assert other.chosen["other_rev_info_format"].dotted == "1.3.6.1.5.5.7.16.2"
    assert signed_data["version"].native == "v5"  # RFC 5652 §5.1


def test_other_revocation_formats_are_not_ocsp_responses(
    stages: Stages, ocsp_der: bytes
) -> None:
    # id-pkix-ocsp-basic, as some producers write a BasicOCSPResponse.
    basic = der.implicit(1, der.seq(der.oid("1.3.6.1.5.5.7.48.1.1"), der.seq()))
    crls = asn1_cms.ContentInfo.load(stages.lt)["content"]["crls"]
    choices = [c.dump() for c in crls] + [basic]

    sig = _rebuild(stages.lt, crls=der.implicit(1, der.der_set(choices)))

    assert cades.validation_data(sig).ocsp_responses == (ocsp_der,)


def test_add_validation_data_is_idempotent(
    stages: Stages, pki_tsa: pki.Issued, crl_der: bytes, ocsp_der: bytes
) -> None:
    again = cades.add_validation_data(
        stages.lt,
        certificates=[pki_tsa.der, pki_tsa.der],
        crls=[crl_der],
        ocsp_responses=[ocsp_der, ocsp_der],
    )

    assert again == stages.lt
    assert cades.add_validation_data(stages.t) == stages.t
    assert cades.add_validation_data(stages.b) == stages.b


def test_add_validation_data_keeps_signer_info(
    stages: Stages, root_crl_der: bytes
) -> None:
    sig = cades.add_validation_data(stages.t, crls=[root_crl_der])

    assert _signer_info(sig).dump() == _signer_info(stages.t).dump()
    assert cades.validation_data(sig).crls == (root_crl_der,)
    assert asn1_cms.ContentInfo.load(sig)["content"]["version"].native == "v1"


def test_add_validation_data_refuses_malformed_data(stages: Stages) -> None:
    with pytest.raises(CertificateFormatError):
        cades.add_validation_data(stages.t, certificates=[b"\x30\x03\x02\x01\x01"])
    with pytest.raises(SignatureFormatError, match="CRL"):
        cades.add_validation_data(stages.t, crls=[b"not a crl"])
    with pytest.raises(SignatureFormatError, match="OCSP"):
        cades.add_validation_data(stages.t, ocsp_responses=[b"\x30\x00"])
    unsuccessful = ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.TRY_LATER
    ).public_bytes(Encoding.DER)
    with pytest.raises(SignatureFormatError, match="try_later"):
        cades.add_validation_data(stages.t, ocsp_responses=[unsuccessful])


# --------------------------------------------------------------------------
# Content: detached, by digest, attached
# --------------------------------------------------------------------------


def test_archive_timestamp_from_content_digest(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    digest = hashlib.sha256(CONTENT).digest()

    sig = cades.add_archive_timestamp(stages.lt, None, authority, content_digest=digest)

    (ats,) = cades.archive_timestamps(
        sig, content_digest=lambda name: hashlib.new(name, CONTENT).digest()
    )
    assert ats.imprint_matches
    (unknown,) = cades.archive_timestamps(sig, content_digest=lambda name: None)
    assert not unknown.imprint_matches
    assert _all_match(sig) == [True]


def test_archive_timestamp_refuses_wrong_content(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    with pytest.raises(SignatureFormatError, match="not the content"):
        cades.add_archive_timestamp(stages.lt, CONTENT + b".", authority)
    with pytest.raises(SignatureFormatError, match="not the content"):
        cades.add_archive_timestamp(
            stages.lt, None, authority, content_digest=bytes(32)
        )


def test_archive_timestamp_needs_the_detached_content(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    with pytest.raises(SignatureFormatError, match="detached"):
        cades.add_archive_timestamp(stages.lt, None, authority)
    with pytest.raises(SignatureFormatError, match="detached"):
        cades.archive_timestamps(stages.lta)
    with pytest.raises(ValueError, match="not both"):
        cades.add_archive_timestamp(
            stages.lt, CONTENT, authority, content_digest=bytes(32)
        )
    with pytest.raises(SigningError, match="32 bytes"):
        cades.add_archive_timestamp(stages.lt, None, authority, content_digest=b"x")


def test_content_of_another_digest_is_checked_by_the_signers_digest(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    # The signer used SHA-256; a SHA-512 content digest cannot be compared
    # with its message-digest, so it is taken as given.
    wrong = hashlib.sha512(b"other").digest()
    sig = cades.add_archive_timestamp(
        stages.lt, None, authority, digest="sha512", content_digest=wrong
    )

    assert _all_match(sig) == [False]


def _attached(sig: bytes, content: bytes) -> bytes:
    info = asn1_cms.ContentInfo.load(sig)
    # asn1crypto types the field by the SignedData version (PKCS #7 for v1).
    kind = type(info["content"]["encap_content_info"])
    info["content"]["encap_content_info"] = kind(
        {"content_type": "data", "content": content}
    )
    return bytes(info.dump())


def test_attached_signature_uses_its_content(
    stages_crls_only: Stages, authority: TimeStampAuthority, trust_store: TrustStore
) -> None:
    attached = _attached(stages_crls_only.lt, CONTENT)

    sig = cades.add_archive_timestamp(attached, None, authority)

    assert verify_cms(None, sig, trust_store).verdict is Verdict.VALID
    (ats,) = cades.archive_timestamps(sig)
    assert ats.imprint_matches
    assert _all_match(sig, CONTENT + b"!") == [False]


def test_chunked_encapsulated_content_is_one_value(
    stages_crls_only: Stages, authority: TimeStampAuthority
) -> None:
    # BER constructed OCTET STRING (X.690 §8.7.3): the value is the chunks'.
    half = len(CONTENT) // 2
    chunks = der.octet_string(CONTENT[:half]) + der.octet_string(CONTENT[half:])
    econtent = b"\x24\x80" + chunks + b"\x00\x00"
    eci = der.seq(der.oid(der.OID_DATA), der.explicit(0, econtent))
    attached = _rebuild(stages_crls_only.lt, encap_content_info=eci)

    sig = cades.add_archive_timestamp(attached, None, authority)

    assert [a.imprint_matches for a in cades.archive_timestamps(sig)] == [True]


def test_signature_without_signed_attributes_is_not_content_checked(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    # RFC 5652 §5.3: signedAttrs is OPTIONAL (then the signature is over the
    # content itself); this one does not verify, which is not the point here.
    bare = _rebuild(stages.b, signer={"signed_attrs": b""})
    assert cades.unsigned_attribute_types(bare) == []

    sig = cades.add_archive_timestamp(bare, b"anything", authority)

    assert _all_match(sig, b"anything") == [True]


# --------------------------------------------------------------------------
# Hand-made archive time-stamps (other producers)
# --------------------------------------------------------------------------


def _with_ats(
    sig: bytes, authority: TimeStampAuthority, index: bytes | None, token: bytes = b""
) -> bytes:
    if not token:
        imprint = _independent_imprint(sig, CONTENT, index or b"")
        token = authority.timestamp_digest(imprint, "sha256")
        if index is not None:
            index_attr = der.seq(der.oid("0.4.0.19122.1.5"), der.der_set([index]))
            token = _add_unsigned(token, index_attr)
    return _add_unsigned(sig, der.seq(der.oid(ATS_V3), der.der_set([token])))


def _add_unsigned(sig: bytes, attribute: bytes) -> bytes:
    info = asn1_cms.ContentInfo.load(sig)
    si = info["content"]["signer_infos"][0]
    existing = list(si["unsigned_attrs"]) if si["unsigned_attrs"] else []
    si["unsigned_attrs"] = asn1_cms.CMSAttributes(
        [*existing, asn1_cms.CMSAttribute.load(attribute)]
    )
    return bytes(info.dump())


def test_hash_index_without_default_algorithm_is_sha256(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    # Strict DER omits hashIndAlgorithm when it is its DEFAULT (X.690 §11.5).
    index = _independent_index(stages.lt, with_algorithm=False)

    sig = _with_ats(stages.lt, authority, index)

    assert _all_match(sig) == [True]


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(None, id="no-hash-index"),
        pytest.param(
            der.seq(der.seq(der.oid("1.3.14.3.2.26")), *[der.seq()] * 3), id="sha1"
        ),
        pytest.param(der.seq(der.seq(), der.seq()), id="two-fields"),
        pytest.param(
            der.seq(der.seq(der.integer(1)), der.seq(), der.seq()), id="not-octets"
        ),
    ],
)
def test_unusable_hash_index_does_not_match(
    stages: Stages, authority: TimeStampAuthority, index: bytes | None
) -> None:
    sig = _with_ats(stages.lt, authority, index)

    (ats,) = cades.archive_timestamps(sig, CONTENT)
    assert not ats.imprint_matches
    assert ats.gen_time is not None


def test_unknown_imprint_algorithm_does_not_match(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    (ats,) = cades.archive_timestamps(stages.lta, CONTENT)
    tst_info = _tst_info_octets(ats.token)
    sha256 = der.oid("2.16.840.1.101.3.4.2.1")
    unknown = der.oid("2.16.840.1.101.3.4.2.99")  # as long as SHA-256's
    token = ats.token.replace(tst_info, tst_info.replace(sha256, unknown, 1))
    assert read_token(token).imprint_algorithm == "2.16.840.1.101.3.4.2.99"

    sig = _with_ats(stages.lt, authority, None, token=token)

    (found,) = cades.archive_timestamps(sig, CONTENT)
    assert not found.imprint_matches
    assert found.gen_time == ats.gen_time


def _tst_info_octets(token: bytes) -> bytes:
    """The TSTInfo octets of a token."""
    eci = asn1_cms.ContentInfo.load(token)["content"]["encap_content_info"]
    return bytes(eci["content"].contents)


def test_unreadable_archive_token_does_not_match(
    stages: Stages, authority: TimeStampAuthority
) -> None:
    garbage = der.seq(der.oid("1.2.3"))
    sig = _with_ats(stages.lta, authority, None, token=garbage)

    found = cades.archive_timestamps(sig, CONTENT)

    assert [(a.imprint_matches, a.gen_time is None) for a in found] == [
        (True, False),
        (False, True),
    ]
    assert found[1].token == garbage


# --------------------------------------------------------------------------
# Time-stamping authorities that misbehave
# --------------------------------------------------------------------------


@dataclasses.dataclass
class _BadTimestamper:
    inner: TimeStampAuthority
    answer: str
    name: str = "bad"

    def timestamp(self, data: bytes, *, digest: str = "sha256") -> bytes:
        return self.timestamp_digest(hashlib.new(digest, data).digest(), digest)

    def timestamp_digest(self, value: bytes, digest: str) -> bytes:
        if self.answer == "other":
            return self.inner.timestamp_digest(bytes(len(value)), digest)
        return b"\x30\x03\x02\x01\x01"


@pytest.mark.parametrize("answer", ["other", "garbage"])
def test_token_for_other_data_is_refused(
    stages: Stages, authority: TimeStampAuthority, answer: str
) -> None:
    bad = _BadTimestamper(authority, answer)

    with pytest.raises(SigningError, match="time-stamp") as excinfo:
        cades.add_signature_timestamp(stages.b, bad)
    assert not isinstance(excinfo.value, SignatureFormatError)
    with pytest.raises(SigningError, match="time-stamp"):
        cades.add_archive_timestamp(stages.lt, CONTENT, bad)


# --------------------------------------------------------------------------
# Input that is not a usable signature
# --------------------------------------------------------------------------


def _two_signers(sig: bytes) -> bytes:
    info = asn1_cms.ContentInfo.load(sig)
    signer_infos = info["content"]["signer_infos"]
    info["content"]["signer_infos"] = asn1_cms.SignerInfos(
        [signer_infos[0], signer_infos[0]]
    )
    return bytes(info.dump())


SIGNED_DATA_FIELDS = ("version", "digest_algorithms", "encap_content_info")
SIGNED_DATA_FIELDS += ("certificates", "crls", "signer_infos")
SIGNER_INFO_FIELDS = ("version", "sid", "digest_algorithm", "signed_attrs")
SIGNER_INFO_FIELDS += ("signature_algorithm", "signature", "unsigned_attrs")


def _rebuild(
    sig: bytes,
    *,
    extra: bytes = b"",
    signer: dict[str, bytes] | None = None,
    **fields: bytes,
) -> bytes:
    """The signature re-assembled by hand from its fields' encodings, some of
    them replaced (``b""`` drops a field); ``extra`` goes before signerInfos."""
    signed_data = asn1_cms.ContentInfo.load(sig)["content"]
    si = signed_data["signer_infos"][0]
    signer_fields = {n: si[n].dump() for n in SIGNER_INFO_FIELDS} | (signer or {})
    parts = {n: signed_data[n].dump() for n in SIGNED_DATA_FIELDS} | fields
    if signer is not None:
        parts["signer_infos"] = der.der_set([der.seq(*signer_fields.values())])
    body = b"".join(parts[n] for n in SIGNED_DATA_FIELDS[:-1])
    body += extra + parts["signer_infos"]
    return der.seq(der.oid(der.OID_SIGNED_DATA), der.explicit(0, der.seq(body)))


BAD_INPUTS = {
    "garbage": lambda sig: b"garbage that is not base64 !",
    "empty": lambda sig: b"",
    "truncated": lambda sig: sig[:-10],
    "trailing": lambda sig: sig + b"\x00",
    "not-signed-data": lambda sig: der.seq(
        der.oid(der.OID_DATA), der.explicit(0, der.octet_string(b"x"))
    ),
    "two-signers": _two_signers,
    "extra-signed-data-field": lambda sig: _rebuild(sig, extra=der.seq()),
    "short-signer-info": lambda sig: _rebuild(
        sig, signer={n: b"" for n in SIGNER_INFO_FIELDS[2:]}
    ),
    "signature-not-octets": lambda sig: _rebuild(
        sig, signer={"signature": der.integer(7)}
    ),
    "digest-algorithm-not-oid": lambda sig: _rebuild(
        sig, signer={"digest_algorithm": der.seq(der.integer(7))}
    ),
    "version-not-integer": lambda sig: _rebuild(sig, version=der.octet_string(b"1")),
    "digest-algorithms-not-set": lambda sig: _rebuild(sig, digest_algorithms=der.seq()),
    "attribute-type-not-oid": lambda sig: _rebuild(
        sig,
        signer={
            "unsigned_attrs": der.implicit(
                1, der.der_set([der.seq(der.integer(1), der.der_set([]))])
            )
        },
    ),
    "econtent-not-octets": lambda sig: _rebuild(
        sig,
        encap_content_info=der.seq(
            der.oid(der.OID_DATA), der.explicit(0, der.integer(1))
        ),
    ),
    "revocation-choice-not-other": lambda sig: _rebuild(
        sig, crls=der.implicit(1, der.der_set([der.explicit(2, der.seq())]))
    ),
    "indefinite-primitive": lambda sig: b"\x30\x80\x04\x80\x00\x00\x00\x00",
    "huge-length": lambda sig: b"\x30\x89" + bytes(9),
    "unterminated": lambda sig: b"\x30\x80\x02\x01\x01",
    "high-tag": lambda sig: b"\x30\x05\x1f\x81\x01\x01\x00",
    "truncated-high-tag": lambda sig: b"\x30\x02\x1f\x81",
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_unusable_input_raises_signature_format_error(
    stages: Stages, authority: TimeStampAuthority, kind: str
) -> None:
    sig = BAD_INPUTS[kind](stages.lt)

    for call in (
        lambda: cades.add_signature_timestamp(sig, authority),
        lambda: cades.add_validation_data(sig),
        lambda: cades.add_archive_timestamp(sig, CONTENT, authority),
        lambda: cades.archive_timestamps(sig, CONTENT),
        lambda: cades.signature_timestamp_tokens(sig),
        lambda: cades.validation_data(sig),
        lambda: cades.unsigned_attribute_types(sig),
    ):
        with pytest.raises(SignatureFormatError):
            call()


def _indefinite(sig: bytes) -> bytes:
    """The same signature in BER: indefinite lengths around SignedData and
    its certificates, inside a definite-length ContentInfo."""
    signed_data = asn1_cms.ContentInfo.load(sig)["content"]
    names = ("version", "digest_algorithms", "encap_content_info")
    fields = b"".join(signed_data[n].dump() for n in names)
    certificates = b"".join(c.dump() for c in signed_data["certificates"])
    fields += b"\xa0\x80" + certificates + b"\x00\x00"
    fields += signed_data["signer_infos"].dump()
    inner = b"\x30\x80" + fields + b"\x00\x00"
    return der.seq(der.oid(der.OID_SIGNED_DATA), b"\xa0\x80" + inner + bytes(2))


def test_ber_indefinite_lengths_are_accepted(
    stages: Stages, authority: TimeStampAuthority, trust_store: TrustStore
) -> None:
    ber = _indefinite(stages.b)
    assert ber != stages.b

    sig = cades.add_signature_timestamp(ber, authority)

    assert _signed_fields(sig) == _signed_fields(stages.b)
    assert verify_cms(CONTENT, sig, trust_store).verdict is Verdict.VALID


def test_pem_input_is_accepted(stages: Stages) -> None:
    pem = (
        b"-----BEGIN CMS-----\n"
        + base64.encodebytes(stages.lt)
        + b"-----END CMS-----\n"
    )

    assert cades.validation_data(pem) == cades.validation_data(stages.lt)


# --------------------------------------------------------------------------
# openssl, from the outside
# --------------------------------------------------------------------------


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed executable, test-made arguments
        ["openssl", *map(str, args)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def pem_files(
    tmp_path_factory: pytest.TempPathFactory,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("cades-openssl")
    root = directory / "root.pem"
    root.write_bytes(pki_root.pem)
    intermediate = directory / "intermediate.pem"
    intermediate.write_bytes(pki_intermediate.pem)
    content = directory / "original"
    content.write_bytes(CONTENT)
    return {"root": root, "intermediate": intermediate, "content": content}


@needs_openssl
@pytest.mark.parametrize("stage", STAGES)
def test_openssl_cms_verifies_each_level(
    stages: Stages, stage: str, pem_files: dict[str, Path], tmp_path: Path
) -> None:
    sig = tmp_path / f"{stage}.sig"
    sig.write_bytes(getattr(stages, stage))

    result = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", sig,
        "-content", pem_files["content"], "-CAfile", pem_files["root"],
        "-purpose", "any", "-out", tmp_path / "out",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "out").read_bytes() == CONTENT


def _openssl_ts_verify(
    token: bytes, imprint: bytes, pem_files: dict[str, Path], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{hashlib.sha256(token).hexdigest()}.tst"
    path.write_bytes(token)
    return _openssl(
        "ts", "-verify", "-digest", imprint.hex(), "-token_in", "-in", path,
        "-CAfile", pem_files["root"], "-untrusted", pem_files["intermediate"],
    )  # fmt: skip


@needs_openssl
def test_openssl_ts_verifies_signature_timestamp(
    stages: Stages, pem_files: dict[str, Path], tmp_path: Path
) -> None:
    (token,) = cades.signature_timestamp_tokens(stages.lta2)
    value = _signer_info(stages.lta2)["signature"].native

    ok = _openssl_ts_verify(token, hashlib.sha256(value).digest(), pem_files, tmp_path)
    wrong = _openssl_ts_verify(token, bytes(32), pem_files, tmp_path)

    assert ok.returncode == 0, ok.stderr
    assert "Verification: OK" in ok.stdout
    assert wrong.returncode != 0


@needs_openssl
def test_openssl_ts_verifies_archive_timestamps(
    stages: Stages, pem_files: dict[str, Path], tmp_path: Path
) -> None:
    first, second = cades.archive_timestamps(stages.lta2, CONTENT)

    for before, ats in ((stages.lt, first), (stages.lta, second)):
        imprint = _independent_imprint(before, CONTENT, _independent_index(before))
        result = _openssl_ts_verify(ats.token, imprint, pem_files, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Verification: OK" in result.stdout
