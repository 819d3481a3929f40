"""The moment a signature is validated for: a proof of existence, never a claim.

ETSI EN 319 102-1 §5.6.2.2: a signature is validated at the earliest moment it
is proven to have existed — a valid RFC 3161 time-stamp over it, else the
moment the service received it, else now. The signer's own signing-time (or a
PDF's /M) is reported as claimed and never believed: otherwise a stolen or
expired key could sign "in the past".
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from signing import _cms_asn1 as der
from signing import pki
from signing.cms import sign_cms, verify_cms
from signing.errors import SignatureFormatError
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority

CONTENT = "Акт ПРОМ10 № 7 за ноябрь 2026 г.".encode() * 40


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


def _stamped(
    issued: pki.Issued,
    authority: TimeStampAuthority,
    *,
    signing_time: dt.datetime | None = None,
    content: bytes = CONTENT,
    token_for: bytes | None = None,
) -> bytes:
    """A CAdES-T: a CAdES-BES with a signature-time-stamp over its value
    (or, with ``token_for``, over other bytes: a token that does not bind)."""
    signer = _signer(issued)
    template = signer.template_for("sha256")
    attrs = template.signed_attributes(
        hashlib.sha256(content).digest(), signing_time or dt.datetime.now(dt.UTC)
    )
    value = signer.sign_raw(attrs, "sha256")
    token = authority.timestamp(token_for if token_for is not None else value)
    return template.content_info(attrs, value, [der.time_stamp_attribute(token)])


def test_backdated_signature_by_an_expired_certificate_is_refused(
    signer_expired: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    # The certificate was valid until 35 days ago; the signer claims 40 days.
    claimed = pki_now - dt.timedelta(days=40)
    sig = sign_cms(CONTENT, _signer(signer_expired), signing_time=claimed)

    report = verify_cms(CONTENT, sig, trust_store, received_at=pki_now)

    (signer,) = report.signers
    assert report.verdict is Verdict.INVALID
    assert "expired" in signer.codes
    assert signer.poe_source == "receipt"
    assert signer.validation_time == pki_now
    assert signer.signing_time == claimed
    summary = report.summary_ru()
    assert "момент получения подписи сервисом" in summary
    assert "не подтверждено штампом времени" in summary


def test_backdated_signature_by_a_revoked_certificate_is_refused(
    signer_revoked: pki.Issued,
    signer_revoked_at: dt.datetime,
    trust_store: TrustStore,
    pki_now: dt.datetime,
) -> None:
    # Revoked a day ago (key compromise); the claim is ten days back.
    sig = sign_cms(
        CONTENT,
        _signer(signer_revoked),
        signing_time=pki_now - dt.timedelta(days=10),
    )

    report = verify_cms(CONTENT, sig, trust_store)

    assert report.verdict is Verdict.INVALID
    assert "revoked" in report.signers[0].codes
    assert report.signers[0].poe_source == "validation_time"


def test_a_valid_time_stamp_is_the_moment_of_validation(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> None:
    sig = _stamped(signer_rsa, tsa)

    report = verify_cms(
        CONTENT, sig, trust_store, at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )

    (signer,) = report.signers
    assert report.verdict is Verdict.VALID, report.summary_ru()
    assert signer.poe_source == "timestamp"
    (stamp,) = signer.timestamps
    assert stamp.is_valid
    assert stamp.kind == "signature"
    assert stamp.serial
    assert stamp.tsa == "Тестовая служба штампов времени"
    assert signer.validation_time == stamp.gen_time == signer.timestamp_time


def test_a_time_stamp_outranks_the_moment_of_receipt(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> None:
    sig = _stamped(signer_rsa, tsa)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)

    signer = verify_cms(CONTENT, sig, trust_store, received_at=later).signers[0]

    assert signer.poe_source == "timestamp"
    assert signer.validation_time < later


def test_a_time_stamp_proves_the_expiry_of_a_backdated_signature(
    signer_expired: pki.Issued,
    tsa: TimeStampAuthority,
    trust_store: TrustStore,
    pki_now: dt.datetime,
) -> None:
    # A stolen, expired key signs "40 days ago" and even gets a time-stamp:
    # the time-stamp says today.
    sig = _stamped(signer_expired, tsa, signing_time=pki_now - dt.timedelta(days=40))

    report = verify_cms(CONTENT, sig, trust_store)

    assert report.verdict is Verdict.INVALID
    assert "expired" in report.signers[0].codes
    assert report.signers[0].poe_source == "timestamp"


def test_a_time_stamp_over_other_data_is_invalid(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> None:
    sig = _stamped(signer_rsa, tsa, token_for=b"another signature value")

    report = verify_cms(CONTENT, sig, trust_store)

    signer = report.signers[0]
    assert report.verdict is Verdict.INVALID
    assert "timestamp_invalid" in signer.codes
    assert signer.poe_source == "validation_time"
    assert not signer.timestamps[0].imprint_matches


def test_an_untrusted_time_stamp_authority_proves_nothing(
    signer_rsa: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    foreign_root = pki.make_root_ca("Чужой УЦ")
    foreign_tsa = pki.make_tsa(foreign_root, "Чужая служба времени")
    authority = TimeStampAuthority(
        Pkcs12Signer(foreign_tsa.key, foreign_tsa.cert, foreign_tsa.chain),
        policy="2.25.2",
    )
    sig = _stamped(signer_rsa, authority)

    report = verify_cms(CONTENT, sig, trust_store, received_at=pki_now)

    signer = report.signers[0]
    assert report.verdict is Verdict.VALID  # the signature itself is fine
    assert signer.poe_source == "receipt"
    assert not signer.timestamps[0].is_valid
    assert any(r.code == "timestamp_invalid" and r.is_warning for r in signer.reasons)


def test_a_time_stamp_authority_needs_the_time_stamping_purpose(
    signer_rsa: pki.Issued,
    pki_intermediate: pki.Issued,
    trust_store: TrustStore,
) -> None:
    # A signature certificate posing as a time-stamping authority.
    impostor = pki.make_signer(pki_intermediate, surname="Самозванцев")
    authority = TimeStampAuthority(_signer(impostor), policy="2.25.3")
    sig = _stamped(signer_rsa, authority)

    signer = verify_cms(CONTENT, sig, trust_store).signers[0]

    assert signer.poe_source == "validation_time"
    assert "key_usage" in {r.code for r in signer.timestamps[0].reasons}


@pytest.mark.parametrize(
    ("offset", "why"),
    [
        (dt.timedelta(days=3), "в будущем"),
        (-dt.timedelta(days=3), "раньше, чем документ был зарегистрирован"),
    ],
)
def test_an_impossible_claimed_time_is_a_warning(
    signer_rsa: pki.Issued,
    trust_store: TrustStore,
    offset: dt.timedelta,
    why: str,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sig = sign_cms(CONTENT, _signer(signer_rsa), signing_time=now + offset)

    report = verify_cms(
        CONTENT, sig, trust_store, registered_at=now - dt.timedelta(hours=1)
    )

    (signer,) = report.signers
    assert report.verdict is Verdict.VALID
    (warning,) = [r for r in signer.reasons if r.code == "claimed_time_implausible"]
    assert warning.is_warning
    assert why in warning.message
    assert abs(signer.validation_time - now) < dt.timedelta(minutes=1)


def test_a_claimed_time_after_receipt_is_a_warning(
    signer_rsa: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    sig = sign_cms(
        CONTENT, _signer(signer_rsa), signing_time=pki_now + dt.timedelta(hours=2)
    )

    signer = verify_cms(CONTENT, sig, trust_store, received_at=pki_now).signers[0]

    assert "claimed_time_implausible" in {r.code for r in signer.reasons}
    assert signer.validation_time == pki_now


def test_a_what_if_moment_before_the_proof_is_honoured(
    signer_rsa: pki.Issued, tsa: TimeStampAuthority, trust_store: TrustStore
) -> None:
    # ``at`` is the caller's "now": nothing is validated later than it.
    sig = _stamped(signer_rsa, tsa)
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)

    signer = verify_cms(CONTENT, sig, trust_store, at=moment).signers[0]

    assert signer.validation_time == moment


def test_a_signature_padded_with_zero_bytes_is_read(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    # What a signature taken out of a PDF's /Contents looks like.
    sig = sign_cms(CONTENT, _signer(signer_rsa)) + bytes(4000)

    assert verify_cms(CONTENT, sig, trust_store).verdict is Verdict.VALID


@pytest.mark.parametrize("tail", [b"\x01", b"\x00\x00junk", b"\x30\x00"])
def test_other_trailing_data_is_refused(
    signer_rsa: pki.Issued, trust_store: TrustStore, tail: bytes
) -> None:
    sig = sign_cms(CONTENT, _signer(signer_rsa)) + tail

    with pytest.raises(SignatureFormatError):
        verify_cms(CONTENT, sig, trust_store)
