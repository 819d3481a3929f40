"""signing.trust: validating certificates against a trust store (no network)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError

from signing import (
    CertificateFormatError,
    TrustStore,
    TrustStoreError,
    Verdict,
    async_validate_certificate,
    load_certificate,
    pki,
    validate_certificate,
)
from signing.certificates import format_date_ru
from signing.trust import TIME_BUCKET
from tests.unit.signing.test_certificates import _gost_certificate

OFFLINE = {"ocsp": False, "fetch_crls": False, "fetch_issuers": False}


def _store(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, *crls: bytes, **options: object
) -> TrustStore:
    return TrustStore(
        [pki_root.der], [pki_intermediate.der], list(crls), **{**OFFLINE, **options}
    )


def _resigned_with_sha1(cert_der: bytes, issuer: pki.Issued) -> bytes:
    """The certificate signed again by ``issuer`` with sha1WithRSAEncryption.

    cryptography no longer signs certificates with SHA-1, so the TBS is signed
    with the primitive and the certificate reassembled with asn1crypto.
    """

    assert isinstance(issuer.key, rsa.RSAPrivateKey)
    cert = asn1_x509.Certificate.load(cert_der)
    tbs = cert["tbs_certificate"]
    tbs["signature"] = {"algorithm": "sha1_rsa"}
    tbs_der = tbs.dump(force=True)
    # S303: a SHA-1 signature is what this helper exists to make.
    signature = issuer.key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    return asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": {"algorithm": "sha1_rsa"},
            "signature_value": signature,
        }
    ).dump()


def _flip_signature_byte(der: bytes) -> bytes:
    # The signature value is the last field: flipping a bit near the end
    # leaves the DER well-formed and the signature wrong.
    tampered = bytearray(der)
    tampered[-5] ^= 0x01
    return bytes(tampered)


# --- the verdicts -----------------------------------------------------------


@pytest.mark.parametrize("signer", ["signer_rsa", "signer_ec"])
def test_valid_chain_is_valid(
    signer: str,
    trust_store: TrustStore,
    request: pytest.FixtureRequest,
    pki_now: dt.datetime,
) -> None:
    issued: pki.Issued = request.getfixturevalue(signer)

    result = validate_certificate(issued.der, trust_store, at=pki_now)

    assert result.verdict is Verdict.VALID, result.reasons
    assert result.reasons == ()
    assert [c.subject_cn for c in result.chain] == [
        result.certificate.subject_cn,
        "Тестовый подчинённый УЦ docflow",
        "Тестовый УЦ docflow",
    ]
    assert result.revocation is not None
    assert (result.revocation.status, result.revocation.source) == ("good", "crl")
    assert result.validated_at == pki_now
    assert result.summary_ru().startswith("Сертификат действителен: ")


def test_accepts_cryptography_and_asn1crypto_certificates(
    signer_rsa: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    for cert in (signer_rsa.cert, load_certificate(signer_rsa.pem), signer_rsa.pem):
        assert (
            validate_certificate(cert, trust_store, at=pki_now).verdict is Verdict.VALID
        )


def test_expired_is_invalid(
    signer_expired: pki.Issued, trust_store: TrustStore
) -> None:
    result = validate_certificate(signer_expired.der, trust_store)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"expired"}
    day = format_date_ru(signer_expired.cert.not_valid_after_utc)
    assert result.reasons[0].message == f"Срок действия сертификата истёк {day}"
    assert result.reasons[0].details["not_after"] == (
        signer_expired.cert.not_valid_after_utc.isoformat()
    )
    assert "Сертификат недействителен" in result.summary_ru()


def test_not_yet_valid_is_invalid(
    signer_not_yet_valid: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    result = validate_certificate(signer_not_yet_valid.der, trust_store, at=pki_now)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"not_yet_valid"}
    assert "ещё не начался" in result.reasons[0].message


def test_expired_certificate_is_valid_at_a_past_moment(
    signer_expired: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    # CRLs issued after that moment are accepted as evidence (retroactive).
    result = validate_certificate(
        signer_expired.der, trust_store, at=pki_now - dt.timedelta(days=100)
    )

    assert result.verdict is Verdict.VALID, result.reasons
    assert result.revocation is not None
    assert result.revocation.status == "good"


def test_root_known_but_not_trusted_is_untrusted_root(
    signer_rsa: pki.Issued, pki_root: pki.Issued, pki_intermediate: pki.Issued
) -> None:
    other_root = pki.make_root_ca("Чужой УЦ")
    store = TrustStore(
        [other_root.der], [pki_intermediate.der, pki_root.der], **OFFLINE
    )

    result = validate_certificate(signer_rsa.der, store)

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"untrusted_root"}
    assert result.reasons[0].message == (
        "Корневой сертификат «Тестовый УЦ docflow» не входит в список доверенных"
    )
    assert len(result.chain) == 3


def test_missing_issuer_is_chain_incomplete(
    signer_rsa: pki.Issued, pki_root: pki.Issued
) -> None:
    store = TrustStore([pki_root.der], **OFFLINE)

    result = validate_certificate(signer_rsa.der, store)

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"chain_incomplete"}
    assert "Тестовый подчинённый УЦ docflow" in result.reasons[0].message
    assert [c.subject_cn for c in result.chain] == ["ООО «Ромашка»"]


def test_intermediates_given_per_call_complete_the_chain(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
) -> None:
    store = TrustStore([pki_root.der], crls=[crl_der, root_crl_der], **OFFLINE)

    result = validate_certificate(
        signer_rsa.der, store, intermediates=[pki_intermediate.cert]
    )

    assert result.verdict is Verdict.VALID, result.reasons


def test_self_signed_certificate_is_untrusted_root(trust_store: TrustStore) -> None:
    stranger = pki.make_root_ca("Самоподписанный")

    result = validate_certificate(stranger.der, trust_store, usage="any")

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"untrusted_root"}


def test_tampered_intermediate_signature_is_bad_chain_signature(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
) -> None:
    store = TrustStore(
        [pki_root.der],
        [_flip_signature_byte(pki_intermediate.der)],
        [crl_der, root_crl_der],
        **OFFLINE,
    )

    result = validate_certificate(signer_rsa.der, store)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"bad_chain_signature"}
    assert "Тестовый подчинённый УЦ docflow" in result.reasons[0].message


def test_missing_signature_key_usage_is_invalid(
    signer_no_usage: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    result = validate_certificate(signer_no_usage.der, trust_store, at=pki_now)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"key_usage"}
    assert result.reasons[0].details["key_usage"] == ["key_encipherment"]
    assert (
        validate_certificate(
            signer_no_usage.der, trust_store, at=pki_now, usage="any"
        ).verdict
        is Verdict.VALID
    )


def test_revoked_by_crl_file_is_invalid(
    signer_revoked: pki.Issued,
    signer_revoked_at: dt.datetime,
    trust_store: TrustStore,
    pki_now: dt.datetime,
) -> None:
    result = validate_certificate(signer_revoked.der, trust_store, at=pki_now)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"revoked"}
    reason = result.reasons[0]
    assert reason.message == (
        f"Сертификат отозван {format_date_ru(signer_revoked_at)} (компрометация ключа)"
    )
    assert reason.details["revoked_at"] == signer_revoked_at.isoformat()
    assert reason.details["reason"] == "key_compromise"
    assert result.revocation is not None
    assert result.revocation.status == "revoked"
    assert result.revocation.source == "crl"
    assert result.revocation.revoked_at == signer_revoked_at


def test_revoked_certificate_is_valid_before_its_revocation(
    signer_revoked: pki.Issued, signer_revoked_at: dt.datetime, trust_store: TrustStore
) -> None:
    result = validate_certificate(
        signer_revoked.der, trust_store, at=signer_revoked_at - dt.timedelta(hours=1)
    )

    assert result.verdict is Verdict.VALID, result.reasons


@pytest.mark.parametrize("mode", ["soft", "hard", "require", "off"])
def test_revoked_in_a_crl_file_is_found_even_without_a_distribution_point(
    mode: str,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    no_cdp = pki.make_signer(
        pki_intermediate, not_before=pki_now - dt.timedelta(days=1)
    )
    crl = pki.make_crl(
        pki_intermediate,
        [pki.Revoked(no_cdp.cert.serial_number, pki_now - dt.timedelta(minutes=30))],
        this_update=pki_now - dt.timedelta(minutes=10),
    )
    store = _store(pki_root, pki_intermediate, root_crl_der, crl)

    result = validate_certificate(no_cdp.der, store, at=pki_now, revocation=mode)  # type: ignore[arg-type]

    expected = Verdict.VALID if mode == "off" else Verdict.INVALID
    assert result.verdict is expected


def test_revoked_intermediate_is_reported_as_a_revoked_ca(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    root_crl = pki.make_crl(
        pki_root,
        [
            pki.Revoked(
                pki_intermediate.cert.serial_number,
                pki_now - dt.timedelta(days=2),
                pki.x509.ReasonFlags.ca_compromise,
            )
        ],
        this_update=pki_now - dt.timedelta(hours=1),
    )
    store = _store(pki_root, pki_intermediate, crl_der, root_crl)

    result = validate_certificate(signer_rsa.der, store, at=pki_now)

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"revoked"}
    assert result.reasons[0].message.startswith(
        "Сертификат УЦ «Тестовый подчинённый УЦ docflow» отозван"
    )
    assert "компрометация ключа удостоверяющего центра" in result.reasons[0].message


def test_non_ca_issuer_is_ca_not_allowed(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    pki_now: dt.datetime,
) -> None:
    leaf = pki.make_signer(signer_rsa, not_before=pki_now - dt.timedelta(days=1))
    store = TrustStore(
        [pki_root.der], [pki_intermediate.der, signer_rsa.der], **OFFLINE
    )

    result = validate_certificate(leaf.der, store, at=pki_now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"ca_not_allowed"}


def test_too_long_path_is_path_length(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    sub = pki.make_intermediate_ca(
        pki_intermediate, "Третий уровень", not_before=pki_now - dt.timedelta(days=2)
    )
    leaf = pki.make_signer(sub, not_before=pki_now - dt.timedelta(days=1))
    store = TrustStore([pki_root.der], [pki_intermediate.der, sub.der], **OFFLINE)

    result = validate_certificate(leaf.der, store, at=pki_now, revocation="off")

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"path_length"}


# --- weak and unsupported algorithms ------------------------------------------


def test_sha1_signed_certificate_is_weak(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    leaf = pki.make_signer(pki_intermediate, not_before=pki_now - dt.timedelta(days=1))
    sha1_leaf = _resigned_with_sha1(leaf.der, pki_intermediate)

    result = validate_certificate(
        sha1_leaf, _store(pki_root, pki_intermediate, crl_der, root_crl_der), at=pki_now
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"weak_algorithm"}
    assert "sha1" in result.reasons[0].message


def test_rsa_1024_leaf_is_weak(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    leaf = pki.make_signer(
        pki_intermediate, key_type="rsa1024", not_before=pki_now - dt.timedelta(days=1)
    )

    result = validate_certificate(
        leaf.der, _store(pki_root, pki_intermediate, crl_der, root_crl_der), at=pki_now
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"weak_algorithm"}
    assert result.reasons[0].details["key_size"] == 1024
    assert "RSA 1024 бит" in result.reasons[0].message


def test_weak_algorithms_pass_when_the_store_allows_them(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    leaf = pki.make_signer(
        pki_intermediate, key_type="rsa1024", not_before=pki_now - dt.timedelta(days=1)
    )
    store = _store(
        pki_root,
        pki_intermediate,
        crl_der,
        root_crl_der,
        weak_hash_algorithms={"md5"},
        min_rsa_bits=1024,
    )

    result = validate_certificate(
        _resigned_with_sha1(leaf.der, pki_intermediate), store, at=pki_now
    )

    assert result.verdict is Verdict.VALID, result.reasons


def test_gost2001_certificate_is_indeterminate_not_a_crash(
    trust_store: TrustStore,
) -> None:
    # GOST R 34.10-2012 chains are validated (test_gost_trust.py); a GOST R
    # 34.10-2001 key cannot be, its hash GOST R 34.11-94 is not implemented.
    result = validate_certificate(
        _gost_certificate("1.2.643.2.2.19"),
        trust_store,
        at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        usage="any",
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"unsupported_algorithm"}
    assert "34.10-2001" in result.reasons[0].message
    assert "устарел" in result.reasons[0].message
    assert result.certificate.public_key_algorithm == "gost2001"


# --- revocation modes without any source --------------------------------------


def test_revocation_modes_without_revocation_data(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    pki_now: dt.datetime,
) -> None:
    store = _store(pki_root, pki_intermediate)  # no CRL, downloads disabled

    off = validate_certificate(signer_rsa.der, store, at=pki_now, revocation="off")
    soft = validate_certificate(signer_rsa.der, store, at=pki_now, revocation="soft")
    hard = validate_certificate(signer_rsa.der, store, at=pki_now, revocation="hard")
    require = validate_certificate(
        signer_rsa.der, store, at=pki_now, revocation="require"
    )

    assert (off.verdict, off.reasons) == (Verdict.VALID, ())
    assert off.revocation is not None
    assert off.revocation.status == "unchecked"
    assert soft.verdict is Verdict.VALID
    assert soft.codes == {"revocation_unavailable"}
    assert all(r.is_warning for r in soft.reasons)
    # The certificates name CRL distribution points that cannot be reached.
    assert hard.verdict is Verdict.INDETERMINATE
    assert hard.codes == {"revocation_unavailable"}
    assert require.verdict is Verdict.INDETERMINATE
    assert require.codes == {"revocation_unavailable"}


def test_stale_crl_is_crl_expired_in_require_mode(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    stale = pki.make_crl(
        pki_intermediate,
        this_update=pki_now - dt.timedelta(days=20),
        next_update=pki_now - dt.timedelta(days=13),
    )
    store = _store(pki_root, pki_intermediate, root_crl_der, stale)

    result = validate_certificate(
        signer_rsa.der, store, at=pki_now, revocation="require"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"crl_expired"}


def test_crl_with_a_bad_signature_is_crl_invalid(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    impostor = pki.Issued(pki_intermediate.cert, pki.generate_key())
    forged = pki.make_crl(impostor, this_update=pki_now - dt.timedelta(hours=1))
    store = _store(pki_root, pki_intermediate, root_crl_der, forged)

    result = validate_certificate(
        signer_rsa.der, store, at=pki_now, revocation="require"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes <= {"crl_invalid", "revocation_unavailable"}


# --- input errors ---------------------------------------------------------------


def test_garbage_certificate_raises(trust_store: TrustStore) -> None:
    with pytest.raises(CertificateFormatError):
        validate_certificate(b"garbage", trust_store)


def test_bad_arguments_raise_value_error(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    with pytest.raises(ValueError, match="aware"):
        validate_certificate(signer_rsa.der, trust_store, at=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="revocation mode"):
        validate_certificate(signer_rsa.der, trust_store, revocation="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="usage"):
        validate_certificate(signer_rsa.der, trust_store, usage="tls")  # type: ignore[arg-type]


# --- the cache -------------------------------------------------------------------


def test_second_validation_is_a_cache_hit(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
) -> None:
    store = _store(pki_root, pki_intermediate, crl_der, root_crl_der)

    first = validate_certificate(signer_rsa.der, store)
    second = validate_certificate(signer_rsa.der, store)

    info = store.cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)
    assert second.verdict is first.verdict is Verdict.VALID
    assert second.reasons == first.reasons


def test_cache_is_keyed_by_mode_and_usage(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    store = _store(pki_root, pki_intermediate, crl_der, root_crl_der)

    for mode in ("soft", "hard", "off"):
        validate_certificate(signer_rsa.der, store, at=pki_now, revocation=mode)  # type: ignore[arg-type]
    validate_certificate(signer_rsa.der, store, at=pki_now, usage="any")

    assert (store.cache_info().misses, store.cache_info().hits) == (4, 0)
    validate_certificate(signer_rsa.der, store, at=pki_now, revocation="hard")
    assert (store.cache_info().misses, store.cache_info().hits) == (4, 1)


def test_trust_store_change_invalidates_the_cache(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    store = TrustStore([], [pki_intermediate.der], [crl_der, root_crl_der], **OFFLINE)
    assert validate_certificate(signer_rsa.der, store, at=pki_now).verdict is (
        Verdict.INDETERMINATE
    )
    generation = store.generation

    store.add_root(pki_root.pem)

    assert store.generation == generation + 1
    assert store.cache_info().size == 0
    assert (
        validate_certificate(signer_rsa.der, store, at=pki_now).verdict is Verdict.VALID
    )
    store.add_root(pki_root.der)  # already there: nothing changes
    assert store.generation == generation + 1
    store.add_crl(crl_der)
    assert store.generation == generation + 2


def test_cached_valid_result_does_not_outlive_not_after(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    bucket = int(TIME_BUCKET.total_seconds())
    # notAfter in the middle of a cache time bucket, so that a moment just
    # before and one just after it fall into the same bucket.
    base = int((pki_now + dt.timedelta(days=2)).timestamp()) // bucket * bucket
    not_after = dt.datetime.fromtimestamp(base + bucket // 2, dt.UTC)
    leaf = pki.make_signer(
        pki_intermediate, not_before=pki_now - dt.timedelta(days=1), not_after=not_after
    )
    store = _store(pki_root, pki_intermediate, crl_der, root_crl_der)

    before = validate_certificate(
        leaf.der, store, at=not_after - dt.timedelta(seconds=30)
    )
    after = validate_certificate(
        leaf.der, store, at=not_after + dt.timedelta(seconds=30)
    )
    again = validate_certificate(
        leaf.der, store, at=not_after - dt.timedelta(seconds=10)
    )

    assert before.verdict is Verdict.VALID
    assert after.verdict is Verdict.INVALID
    assert after.codes == {"expired"}
    assert again.verdict is Verdict.VALID
    assert again.validated_at == not_after - dt.timedelta(seconds=10)


def test_cached_valid_result_does_not_outlive_a_revocation(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    bucket = int(TIME_BUCKET.total_seconds())
    base = int((pki_now - dt.timedelta(days=1)).timestamp()) // bucket * bucket
    revoked_at = dt.datetime.fromtimestamp(base + bucket // 2, dt.UTC)
    leaf = pki.make_signer(pki_intermediate, not_before=pki_now - dt.timedelta(days=5))
    crl = pki.make_crl(
        pki_intermediate,
        [pki.Revoked(leaf.cert.serial_number, revoked_at)],
        this_update=pki_now - dt.timedelta(hours=1),
    )
    store = _store(pki_root, pki_intermediate, root_crl_der, crl)

    before = validate_certificate(
        leaf.der, store, at=revoked_at - dt.timedelta(seconds=20)
    )
    after = validate_certificate(
        leaf.der, store, at=revoked_at + dt.timedelta(seconds=20)
    )

    assert before.verdict is Verdict.VALID
    assert after.verdict is Verdict.INVALID
    assert after.codes == {"revoked"}


def test_cache_is_thread_safe(
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    signer_revoked: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    store = _store(pki_root, pki_intermediate, crl_der, root_crl_der, cache_size=2)
    certs = [signer_rsa.der, signer_ec.der, signer_revoked.der] * 20
    expected = [Verdict.VALID, Verdict.VALID, Verdict.INVALID] * 20

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(
            pool.map(
                lambda der: validate_certificate(der, store, at=pki_now).verdict, certs
            )
        )

    assert verdicts == expected
    info = store.cache_info()
    assert info.hits + info.misses == len(certs)
    assert info.size <= 2


def test_cache_can_be_disabled(
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
) -> None:
    store = _store(pki_root, pki_intermediate, cache_size=0)

    validate_certificate(signer_rsa.der, store, revocation="off")
    validate_certificate(signer_rsa.der, store, revocation="off")

    assert (store.cache_info().hits, store.cache_info().size) == (0, 0)


# --- async use, pyHanko contexts, reports ------------------------------------------


def test_validate_certificate_works_inside_a_running_event_loop(
    signer_rsa: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    async def both() -> tuple[Verdict, Verdict]:
        sync = validate_certificate(
            signer_rsa.der, trust_store, at=pki_now, usage="any"
        )
        native = await async_validate_certificate(
            signer_rsa.der, trust_store, at=pki_now
        )
        return sync.verdict, native.verdict

    assert asyncio.run(both()) == (Verdict.VALID, Verdict.VALID)


def test_validation_context_drives_pyhanko(
    signer_rsa: pki.Issued,
    signer_revoked: pki.Issued,
    trust_store: TrustStore,
    pki_now: dt.datetime,
) -> None:
    context = trust_store.validation_context(at=pki_now, revocation="hard")
    assert isinstance(context, ValidationContext)
    path = asyncio.run(
        CertificateValidator(
            load_certificate(signer_rsa.der), validation_context=context
        ).async_validate_usage({"non_repudiation"})
    )
    assert len(path) == 3

    context = trust_store.validation_context(at=pki_now, revocation="soft")
    with pytest.raises(RevokedError):
        asyncio.run(
            CertificateValidator(
                load_certificate(signer_revoked.der), validation_context=context
            ).async_validate_path()
        )


def test_report_to_json_is_serialisable(
    signer_revoked: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    result = validate_certificate(signer_revoked.der, trust_store, at=pki_now)

    data = json.loads(json.dumps(result.to_json(), ensure_ascii=False))

    assert data["verdict"] == "invalid"
    assert data["reasons"][0]["code"] == "revoked"
    assert data["reasons"][0]["severity"] == "error"
    assert data["revocation"]["status"] == "revoked"
    assert data["certificate"]["owner"] == "Сидоров Пётр Петрович"
    assert len(data["chain"]) == 3
    assert data["summary"] == result.summary_ru()
    assert data["validated_at"] == pki_now.isoformat()


# --- loading trust stores ------------------------------------------------------------


def test_from_paths_reads_files_directories_and_p7b(
    tmp_path: Path,
    signer_rsa: pki.Issued,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
    pki_now: dt.datetime,
) -> None:
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "root.cer").write_bytes(pki_root.der)
    (roots / "README.txt").write_text("ignored")
    chain = tmp_path / "chain.p7b"
    chain.write_bytes(
        pkcs7.serialize_certificates(
            [pki_intermediate.cert], serialization.Encoding.DER
        )
    )
    crls = tmp_path / "crls"
    crls.mkdir()
    (crls / "intermediate.crl").write_bytes(crl_der)
    (crls / "root.crl").write_bytes(root_crl_der)

    store = TrustStore.from_paths([roots], [chain], [crls], **OFFLINE)

    assert [r.subject_cn for r in store.roots] == ["Тестовый УЦ docflow"]
    assert [i.subject_cn for i in store.intermediates] == [
        "Тестовый подчинённый УЦ docflow"
    ]
    assert len(store.crls) == 2
    assert (
        validate_certificate(signer_rsa.der, store, at=pki_now).verdict is Verdict.VALID
    )


def test_from_paths_reads_a_pem_bundle(
    tmp_path: Path, pki_root: pki.Issued, pki_intermediate: pki.Issued
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki_root.pem + pki_intermediate.pem)

    store = TrustStore.from_paths([bundle])

    assert len(store.roots) == 2


def test_from_paths_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match=r"nowhere\.pem"):
        TrustStore.from_paths([tmp_path / "nowhere.pem"])


def test_from_paths_names_the_garbage_file(
    tmp_path: Path, pki_root: pki.Issued
) -> None:
    junk = tmp_path / "junk.crt"
    junk.write_bytes(b"junk")
    crl = tmp_path / "junk.crl"
    crl.write_bytes(b"junk")
    root = tmp_path / "root.pem"
    root.write_bytes(pki_root.pem)

    with pytest.raises(TrustStoreError, match=r"junk\.crt"):
        TrustStore.from_paths([junk])
    with pytest.raises(TrustStoreError, match=r"junk\.crl"):
        TrustStore.from_paths([root], crls=[crl])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrustStoreError, match="holds no"):
        TrustStore.from_paths([empty])


def test_constructor_rejects_garbage_with_a_trust_store_error() -> None:
    with pytest.raises(TrustStoreError, match="trust anchor #1"):
        TrustStore([b"junk"])
    with pytest.raises(TrustStoreError, match="CRL #1"):
        TrustStore(crls=[b"junk"])


def test_soft_mode_still_finds_a_revoked_leaf_when_the_ca_has_no_revocation_data(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    # The first (strict) pass stops at the CA, which has no CRL here; the
    # relaxed pass must keep the end entity strict, or the CRL file that
    # revokes it (the leaf names no distribution point) would go unread.
    leaf = pki.make_signer(pki_intermediate, not_before=pki_now - dt.timedelta(days=1))
    crl = pki.make_crl(
        pki_intermediate,
        [pki.Revoked(leaf.cert.serial_number, pki_now - dt.timedelta(minutes=30))],
        this_update=pki_now - dt.timedelta(minutes=10),
    )
    store = _store(pki_root, pki_intermediate, crl)

    soft = validate_certificate(leaf.der, store, at=pki_now, revocation="soft")
    good = pki.make_signer(pki_intermediate, not_before=pki_now - dt.timedelta(days=1))
    good_soft = validate_certificate(good.der, store, at=pki_now, revocation="soft")

    assert soft.verdict is Verdict.INVALID
    assert "revoked" in soft.codes
    assert good_soft.verdict is Verdict.VALID
    assert good_soft.codes == {"revocation_unavailable"}
    assert good_soft.revocation is not None
    assert good_soft.revocation.status == "good"
