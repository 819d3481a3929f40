"""The session's test PKI, shared by the signing tests (certificates, CMS, PAdES).

Built once per session (per xdist worker) with :mod:`signing.pki`:

    pki_root ── pki_intermediate ─┬─ signer_rsa, signer_ec (P-256)
                                  ├─ signer_expired, signer_not_yet_valid
                                  ├─ signer_revoked (listed in ``crl_der``)
                                  ├─ signer_no_usage (keyEncipherment only)
                                  └─ pki_tsa, pki_ocsp_responder

Every certificate names a CRL distribution point under ``.invalid`` (RFC 2606:
never resolves), so pyHanko's own soft/hard-fail modes look at the CRLs in
:func:`trust_store`; the store itself never touches the network. Validity is
relative to :func:`pki_now`, the moment the PKI was made: validate ``at=pki_now``
for a fixed-time test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from signing import TrustStore, pki
from signing.signers import Pkcs12Signer
from signing.tsa import TimeStampAuthority
from tests.unit.signing import gost_pki

ROOT_CRL_URL = "http://crl.docflow.invalid/root.crl"
INTERMEDIATE_CRL_URL = "http://crl.docflow.invalid/intermediate.crl"


@pytest.fixture(scope="session")
def pki_now() -> dt.datetime:
    """The moment the session PKI was issued (UTC, whole seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def pki_root(pki_now: dt.datetime) -> pki.Issued:
    return pki.make_root_ca(
        not_before=pki_now - dt.timedelta(days=3650),
        not_after=pki_now + dt.timedelta(days=3650),
    )


@pytest.fixture(scope="session")
def pki_intermediate(pki_root: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    return pki.make_intermediate_ca(
        pki_root,
        not_before=pki_now - dt.timedelta(days=1000),
        not_after=pki_now + dt.timedelta(days=1825),
        crl_url=ROOT_CRL_URL,
    )


def _signer(issuer: pki.Issued, **kwargs: object) -> pki.Issued:
    kwargs.setdefault("crl_url", INTERMEDIATE_CRL_URL)
    return pki.make_signer(issuer, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def signer_rsa(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    """RSA-2048, digitalSignature + nonRepudiation, valid a year from 30 days ago."""
    return _signer(pki_intermediate, not_before=pki_now - dt.timedelta(days=30))


@pytest.fixture(scope="session")
def signer_ec(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    """ECDSA P-256 signer."""
    return _signer(
        pki_intermediate,
        key_type="p256",
        surname="Петрова",
        given_name="Мария Сергеевна",
        email="petrova@example.ru",
        snils="12345678964",
        inn="771234567891",
        not_before=pki_now - dt.timedelta(days=30),
    )


@pytest.fixture(scope="session")
def signer_expired(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    """Valid from 400 to 35 days before ``pki_now``."""
    return _signer(
        pki_intermediate,
        not_before=pki_now - dt.timedelta(days=400),
        not_after=pki_now - dt.timedelta(days=35),
    )


@pytest.fixture(scope="session")
def signer_not_yet_valid(
    pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> pki.Issued:
    """Valid from 10 days after ``pki_now``."""
    return _signer(pki_intermediate, not_before=pki_now + dt.timedelta(days=10))


@pytest.fixture(scope="session")
def signer_revoked_at(pki_now: dt.datetime) -> dt.datetime:
    """When ``signer_revoked`` was revoked (key compromise): ``pki_now`` - 1 day."""
    return pki_now - dt.timedelta(days=1)


@pytest.fixture(scope="session")
def signer_revoked(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    """Valid from 30 days ago, revoked at ``signer_revoked_at`` in ``crl_der``."""
    return _signer(
        pki_intermediate,
        surname="Сидоров",
        given_name="Пётр Петрович",
        not_before=pki_now - dt.timedelta(days=30),
    )


@pytest.fixture(scope="session")
def signer_no_usage(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    """KeyUsage keyEncipherment only: not a signature certificate."""
    return _signer(
        pki_intermediate,
        key_usage=("key_encipherment",),
        not_before=pki_now - dt.timedelta(days=30),
    )


@pytest.fixture(scope="session")
def pki_tsa(pki_intermediate: pki.Issued) -> pki.Issued:
    """A time-stamping authority (critical EKU timeStamping)."""
    return pki.make_tsa(pki_intermediate)


@pytest.fixture(scope="session")
def tsa(pki_tsa: pki.Issued) -> TimeStampAuthority:
    """An RFC 3161 authority on ``pki_tsa``'s key, in process."""
    return TimeStampAuthority(
        Pkcs12Signer(pki_tsa.key, pki_tsa.cert, pki_tsa.chain), policy="2.25.1"
    )


@pytest.fixture(scope="session")
def pki_ocsp_responder(pki_intermediate: pki.Issued) -> pki.Issued:
    """The intermediate's delegated OCSP responder (OCSPSigning, ocsp-nocheck)."""
    return pki.make_ocsp_responder(pki_intermediate)


@pytest.fixture(scope="session")
def crl_der(
    pki_intermediate: pki.Issued,
    signer_revoked: pki.Issued,
    signer_revoked_at: dt.datetime,
    pki_now: dt.datetime,
) -> bytes:
    """The intermediate's CRL (DER): ``signer_revoked`` is on it."""
    return pki.make_crl(
        pki_intermediate,
        [pki.Revoked(signer_revoked.cert.serial_number, signer_revoked_at)],
        this_update=pki_now - dt.timedelta(hours=1),
        next_update=pki_now + dt.timedelta(days=30),
    )


@pytest.fixture(scope="session")
def root_crl_der(pki_root: pki.Issued, pki_now: dt.datetime) -> bytes:
    """The root's CRL (DER), empty: covers the intermediate."""
    return pki.make_crl(
        pki_root,
        this_update=pki_now - dt.timedelta(hours=1),
        next_update=pki_now + dt.timedelta(days=30),
    )


@pytest.fixture(scope="session")
def trust_store(
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
) -> TrustStore:
    """Root trusted, intermediate known, both CRLs loaded; no network at all.

    Shared by the session: do not mutate it (build your own to test ``add_*``).
    """
    return TrustStore(
        roots=[pki_root.der],
        intermediates=[pki_intermediate.der],
        crls=[crl_der, root_crl_der],
        ocsp=False,
        fetch_crls=False,
        fetch_issuers=False,
    )


@pytest.fixture(scope="session")
def gpki() -> gost_pki.GostPki:
    """A GOST R 34.10-2012 test PKI (root, intermediate, 256/512 signers, CRLs)."""
    return gost_pki.make_pki(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def gost_store(gpki: gost_pki.GostPki) -> TrustStore:
    """The GOST root trusted, its intermediate known, both CRLs; no network."""
    return TrustStore(
        [gpki.root.der],
        [gpki.intermediate.der],
        [gpki.root_crl, gpki.crl],
        **gost_pki.OFFLINE,
    )


@pytest.fixture
def gost_and_rsa_store(
    gpki: gost_pki.GostPki,
    pki_root: pki.Issued,
    pki_intermediate: pki.Issued,
    crl_der: bytes,
    root_crl_der: bytes,
) -> TrustStore:
    """The GOST root for signers, the RSA root for the time-stamping authority."""
    return TrustStore(
        [gpki.root.der, pki_root.der],
        [gpki.intermediate.der, pki_intermediate.der],
        [gpki.root_crl, gpki.crl, crl_der, root_crl_der],
        **gost_pki.OFFLINE,
    )
