"""GOST R 34.10-2012 certificates: inspection and chain validation (RFC 5280
path rules, CRLs and OCSP responses signed with GOST), on a test PKI made with
:mod:`tests.unit.signing.gost_pki`, at a fixed time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from signing import TrustStore, gost, inspect_certificate, validate_certificate
from signing.reports import Verdict
from tests.unit.signing import gost_pki
from tests.unit.signing.test_certificates import _gost_certificate

DATA = Path(__file__).parent / "data" / "gost"


@pytest.fixture
def store(gost_store: TrustStore) -> TrustStore:
    return gost_store


def test_inspect_reports_the_gost_key(gpki: gost_pki.GostPki) -> None:
    info = inspect_certificate(gpki.signer_256.pem)
    big = inspect_certificate(gpki.signer_512.der)
    root = inspect_certificate(gpki.root.der)

    assert (info.public_key_algorithm, info.key_size) == ("gost2012-256", 256)
    assert info.public_key_parameters == "id-GostR3410-2001-CryptoPro-A-ParamSet"
    assert info.signature_algorithm == "gost2012-256-streebog256"
    assert (big.public_key_algorithm, big.key_size) == ("gost2012-512", 512)
    assert big.public_key_parameters == "id-tc26-gost-3410-2012-512-paramSetC"
    assert root.signature_algorithm == "gost2012-512-streebog512"
    assert (info.inn_le, info.ogrn, info.snils, info.inn) == (
        "7701234567",
        "1027700132195",
        "11223344595",
        "500100732259",
    )
    data = info.to_json()
    assert data["public_key_parameters"] == "id-GostR3410-2001-CryptoPro-A-ParamSet"
    json.dumps(data, ensure_ascii=False)


def test_inspect_names_the_parameters_of_keys_it_cannot_use() -> None:
    legacy = inspect_certificate(_gost_certificate("1.2.643.2.2.19"))

    assert legacy.public_key_algorithm == "gost2001"
    assert legacy.public_key_parameters == "id-tc26-gost-3410-2012-256-paramSetA"
    fake = inspect_certificate(_gost_certificate("1.2.643.7.1.1.1.1"))
    assert fake.public_key_parameters == "id-tc26-gost-3410-2012-256-paramSetA"


@pytest.mark.parametrize("mode", ["off", "soft", "hard", "require"])
@pytest.mark.parametrize("who", ["signer_256", "signer_512"])
def test_gost_chain_is_valid(
    who: str, mode: str, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    result = validate_certificate(
        getattr(gpki, who).der,
        store,
        at=gpki.now,
        revocation=mode,  # type: ignore[arg-type]
    )

    assert result.verdict is Verdict.VALID, result.reasons
    assert [c.subject_cn for c in result.chain] == [
        "ООО «Ромашка»",
        "Тестовый УЦ ГОСТ",
        "Тестовый корневой УЦ ГОСТ",
    ]
    if mode != "off":
        assert result.revocation is not None
        assert (result.revocation.status, result.revocation.source) == ("good", "crl")
        assert gpki.crl in result.evidence.crls


def test_revoked_gost_certificate_is_invalid(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    result = validate_certificate(gpki.revoked.der, store, at=gpki.now)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"revoked"}
    assert result.revocation is not None
    assert result.revocation.revoked_at == gpki.revoked_at


def test_revocation_is_not_claimed_before_it_happened(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    before = gpki.revoked_at - dt.timedelta(days=1)

    assert validate_certificate(gpki.revoked.der, store, at=before).verdict is (
        Verdict.VALID
    )


def test_forged_gost_signature_breaks_the_chain(gpki: gost_pki.GostPki) -> None:
    # Names and key identifiers say «Тестовый УЦ ГОСТ»; the signature is by
    # another key.
    forged = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.CRYPTOPRO_A),
        issuer=gpki.intermediate,
        signer_key=gpki.foreign_signer.key,
        common_name="Подделка",
        not_before=gpki.now - dt.timedelta(days=1),
        not_after=gpki.now + dt.timedelta(days=30),
        serial=0x6666,
    )
    store = TrustStore([gpki.root.der], [gpki.intermediate.der], **gost_pki.OFFLINE)

    result = validate_certificate(forged.der, store, at=gpki.now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"bad_chain_signature"}


def test_foreign_gost_root_is_not_trusted(gpki: gost_pki.GostPki) -> None:
    store = TrustStore([gpki.root.der], [gpki.foreign_root.der], **gost_pki.OFFLINE)

    result = validate_certificate(
        gpki.foreign_signer.der, store, at=gpki.now, revocation="off"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"untrusted_root"}


def test_expired_gost_certificate(gpki: gost_pki.GostPki, store: TrustStore) -> None:
    later = gpki.now + dt.timedelta(days=400)

    result = validate_certificate(
        gpki.signer_256.der, store, at=later, revocation="off"
    )

    assert result.verdict is Verdict.INVALID
    assert "expired" in result.codes


def test_crl_with_a_forged_gost_signature_is_not_evidence(
    gpki: gost_pki.GostPki,
) -> None:
    forged = gost_pki.make_crl(
        gpki.intermediate,
        this_update=gpki.now - dt.timedelta(days=1),
        next_update=gpki.now + dt.timedelta(days=7),
        signer_key=gpki.foreign_signer.key,
    )
    store = TrustStore(
        [gpki.root.der],
        [gpki.intermediate.der],
        [gpki.root_crl, forged],
        **gost_pki.OFFLINE,
    )

    result = validate_certificate(
        gpki.signer_256.der, store, at=gpki.now, revocation="require"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes & {"crl_invalid", "revocation_unavailable"}


@pytest.mark.parametrize("revoked", [False, True], ids=["good", "revoked"])
def test_gost_signed_ocsp_response(revoked: bool, gpki: gost_pki.GostPki) -> None:
    subject = gpki.revoked if revoked else gpki.signer_256
    response = gost_pki.make_ocsp_response(
        gpki.intermediate,
        subject,
        produced_at=gpki.now - dt.timedelta(hours=1),
        revoked_at=gpki.revoked_at if revoked else None,
    )
    # The intermediate's status comes from the root's CRL; the end entity's
    # only from the OCSP response.
    store = TrustStore(
        [gpki.root.der], [gpki.intermediate.der], [gpki.root_crl], **gost_pki.OFFLINE
    )

    result = validate_certificate(
        subject.der, store, at=gpki.now, revocation="require", ocsps=[response]
    )

    assert result.revocation is not None
    assert result.revocation.source == "ocsp"
    if revoked:
        assert result.verdict is Verdict.INVALID
        assert result.codes == {"revoked"}
    else:
        assert result.verdict is Verdict.VALID, result.reasons
        assert result.revocation.status == "good"


def test_ocsp_response_signed_by_another_gost_key_is_refused(
    gpki: gost_pki.GostPki,
) -> None:
    impostor = gost_pki.GostIssued(gpki.foreign_signer.key, gpki.intermediate.der)
    response = gost_pki.make_ocsp_response(
        impostor, gpki.signer_256, produced_at=gpki.now - dt.timedelta(hours=1)
    )
    store = TrustStore(
        [gpki.root.der], [gpki.intermediate.der], [gpki.root_crl], **gost_pki.OFFLINE
    )

    result = validate_certificate(
        gpki.signer_256.der, store, at=gpki.now, revocation="require", ocsps=[response]
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes & {"crl_invalid", "revocation_unavailable"}


@pytest.mark.parametrize("bits", [256, 512])
def test_tk26_example_certificates_validate(bits: int) -> None:
    pem = (DATA / f"tk26_certificate_{bits}.pem").read_bytes()
    store = TrustStore([pem], **gost_pki.OFFLINE)

    result = validate_certificate(
        pem, store, at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), revocation="off"
    )

    assert result.verdict is Verdict.VALID, result.reasons
    assert result.certificate.key_size == bits


def test_gost_root_signing_a_tampered_certificate_is_caught(
    gpki: gost_pki.GostPki,
) -> None:
    der = bytearray(gpki.signer_256.der)
    index = der.find("Иванов".encode())
    der[index] ^= 0x01  # the surname changed after signing
    store = TrustStore([gpki.root.der], [gpki.intermediate.der], **gost_pki.OFFLINE)

    result = validate_certificate(bytes(der), store, at=gpki.now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"bad_chain_signature"}


def _ca_signed_with(
    gpki: gost_pki.GostPki, signature_oid: str
) -> tuple[gost_pki.GostIssued, TrustStore]:
    """A CA under the root whose certificate claims ``signature_oid``, and a
    signer under it."""
    ca = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.TC26_256_A),
        issuer=gpki.root,
        signature_oid=signature_oid,
        common_name="УЦ со странной подписью",
        not_before=gpki.now - dt.timedelta(days=10),
        not_after=gpki.now + dt.timedelta(days=100),
        serial=0x7777,
        ca=True,
    )
    leaf = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.CRYPTOPRO_A),
        issuer=ca,
        common_name="Подписант",
        not_before=gpki.now - dt.timedelta(days=1),
        not_after=gpki.now + dt.timedelta(days=30),
        serial=0x7778,
    )
    return leaf, TrustStore([gpki.root.der], [ca.der], **gost_pki.OFFLINE)


def test_gost2001_signature_by_a_2012_key_in_the_chain_is_bad(
    gpki: gost_pki.GostPki,
) -> None:
    # The root's key is GOST 2012-512: it cannot have made a 2001 signature.
    leaf, store = _ca_signed_with(gpki, gost.OID_SIG_2001)

    result = validate_certificate(leaf.der, store, at=gpki.now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert "bad_chain_signature" in result.codes
    assert "unsupported_algorithm" not in result.codes


def test_signature_claiming_the_wrong_key_size_is_bad(gpki: gost_pki.GostPki) -> None:
    # The root's key is 512 bits; the CA certificate says 256.
    leaf, store = _ca_signed_with(gpki, gost.OID_SIG_2012_256)

    result = validate_certificate(leaf.der, store, at=gpki.now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"bad_chain_signature"}


def test_unknown_parameter_set_is_unsupported() -> None:
    trust_store = TrustStore(**gost_pki.OFFLINE)
    der = _gost_certificate()
    # id-tc26-gost-3410-2012-256-paramSetA → an OID of the same length no
    # standard defines.
    tc26_a = gost._der_oid(gost_pki.TC26_256_A)
    unknown = tc26_a[:-1] + b"\x09"
    assert der.count(tc26_a) == 1
    cert = der.replace(tc26_a, unknown)

    info = inspect_certificate(cert)
    result = validate_certificate(
        cert, trust_store, at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), usage="any"
    )

    assert info.public_key_parameters == "1.2.643.7.1.2.1.1.9"
    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"unsupported_algorithm"}
    assert "1.2.643.7.1.2.1.1.9" in result.reasons[0].message
