"""Signatures that hold up later: PAdES B-LT/B-LTA verified after the signer's
certificate and the CRLs used have expired, from the embedded data alone.

A short-lived PKI of its own: the signer's certificate lives two days, the
CRLs one day; the time-stamping authority five years. The document is signed
(B-T), given its validation data (B-LT) and a document time-stamp (B-LTA)
today, then verified "ten days later" with a trust store that holds the root
only and may fetch nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing import pki
from signing.pades import add_long_term_data, sign_pdf, verify_pdf
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority
from tests.unit.signing.test_pades import build_act_pdf

CRL_URL = "http://crl.long-term.invalid/intermediate.crl"
ROOT_CRL_URL = "http://crl.long-term.invalid/root.crl"


class World:
    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.now = now
        self.root = pki.make_root_ca("Долгий УЦ")
        self.intermediate = pki.make_intermediate_ca(
            self.root, "Долгий подчинённый УЦ", crl_url=ROOT_CRL_URL
        )
        self.signer = pki.make_signer(
            self.intermediate,
            not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=2),
            crl_url=CRL_URL,
        )
        tsa = pki.make_tsa(self.intermediate, "Служба времени на пять лет")
        self.tsa = TimeStampAuthority(
            Pkcs12Signer(tsa.key, tsa.cert, tsa.chain), policy="2.25.77"
        )
        crl_window = {
            "this_update": now - dt.timedelta(hours=1),
            "next_update": now + dt.timedelta(days=1),
        }
        self.crls = [
            pki.make_crl(self.intermediate, **crl_window),
            pki.make_crl(self.root, **crl_window),
        ]

    def store(self, *, with_crls: bool) -> TrustStore:
        return TrustStore(
            roots=[self.root.der],
            crls=self.crls if with_crls else (),
            ocsp=False,
            fetch_crls=False,
            fetch_issuers=False,
        )


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def lta_pdf(world: World) -> bytes:
    signer = Pkcs12Signer(world.signer.key, world.signer.cert, world.signer.chain)
    signed = sign_pdf(build_act_pdf(), signer, timestamper=world.tsa)
    today = verify_pdf(signed, world.store(with_crls=True), revocation="require")
    assert today.verdict is Verdict.VALID, today.summary_ru()
    data = today.signatures[0].signer.validation_data
    assert data.crls, "the validation relied on the CRLs: they are the evidence"
    return add_long_term_data(signed, data, timestamper=world.tsa)


def test_today_the_document_is_b_lta_and_valid(world: World, lta_pdf: bytes) -> None:
    report = verify_pdf(lta_pdf, world.store(with_crls=False), revocation="require")

    (signature,) = report.signatures
    assert report.verdict is Verdict.VALID, report.summary_ru()
    kinds = [t.kind for t in signature.signer.timestamps]
    assert kinds == ["signature", "document"]
    assert all(t.is_valid for t in signature.signer.timestamps)
    assert signature.signer.embedded is not None
    assert len(signature.signer.embedded.crls) == 2


def test_valid_after_the_certificate_and_the_crls_expired(
    world: World, lta_pdf: bytes
) -> None:
    later = world.now + dt.timedelta(days=10)
    assert later > world.signer.cert.not_valid_after_utc

    report = verify_pdf(
        lta_pdf, world.store(with_crls=False), at=later, revocation="require"
    )

    (signature,) = report.signatures
    assert report.verdict is Verdict.VALID, report.summary_ru()
    assert signature.signer.poe_source == "timestamp"
    assert signature.signer.validation_time < world.signer.cert.not_valid_after_utc
    assert signature.signer.revocation is not None
    assert signature.signer.revocation.status == "good"


def test_without_the_long_term_data_it_cannot_be_validated_later(
    world: World,
) -> None:
    signer = Pkcs12Signer(world.signer.key, world.signer.cert, world.signer.chain)
    b_t = sign_pdf(build_act_pdf(), signer, timestamper=world.tsa)
    later = world.now + dt.timedelta(days=10)

    report = verify_pdf(
        b_t, world.store(with_crls=False), at=later, revocation="require"
    )

    assert report.verdict is not Verdict.VALID


def test_without_a_time_stamp_the_expired_certificate_is_refused_later(
    world: World,
) -> None:
    signer = Pkcs12Signer(world.signer.key, world.signer.cert, world.signer.chain)
    b_b = sign_pdf(build_act_pdf(), signer)
    later = world.now + dt.timedelta(days=10)

    report = verify_pdf(b_b, world.store(with_crls=True), at=later, revocation="soft")

    assert report.verdict is Verdict.INVALID
    assert "expired" in report.signatures[0].codes


@pytest.mark.parametrize("days_later", [0])
def test_pyhanko_validates_it_as_pades_lta_without_fetching(
    world: World, lta_pdf: bytes, days_later: int
) -> None:
    # pyHanko's own EN 319 102-1 §5.6.3 long-term validation, as an
    # independent implementation: the document time-stamp chain is the
    # evidence record; nothing may be fetched; revocation data required.
    reader = PdfFileReader(io.BytesIO(lta_pdf))
    require = RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    )
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(
            [asn1_x509.Certificate.load(world.root.der)]
        ),
        revinfo_policy=CertRevTrustPolicy(require),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    moment = world.now + dt.timedelta(days=days_later)

    result = asyncio.run(
        ades_lta_validation(
            reader.embedded_regular_signatures[0],
            spec,
            timing_info=ValidationTimingInfo(moment, moment, False),
        )
    )

    assert result.ades_subindic.status.name == "PASSED", (
        result.ades_subindic,
        result.failure_msg,
    )
