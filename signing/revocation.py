"""Revocation checking: modes, fetchers and reading back what was checked.

Revocation modes of this library and how they map to pyhanko-certvalidator
(``RevocationCheckingPolicy``, ETSI TS 119 172-4 rule names):

``off``
    No check (``NO_CHECK``).
``soft``
    Check with every source at hand (CRL files, CRL distribution points,
    OCSP): first as ``require`` (``CRL_OR_OCSP_REQUIRED`` for every
    certificate, so that a CRL file is used even for a certificate that
    declares no distribution point). If that finds no usable information,
    validate again as pyHanko's ``soft-fail`` (``CHECK_IF_DECLARED_SOFT``):
    unreachable servers are tolerated, and the result stays VALID with a
    ``revocation_unavailable`` warning.
``hard``
    The same first pass; the fallback is pyHanko's ``hard-fail``
    (``CHECK_IF_DECLARED``): a certificate that declares a CRL or OCSP source
    which cannot be reached, or that answers ``unknown``, makes the result
    INDETERMINATE (``revocation_unavailable``). A certificate that declares no
    source at all and is in no CRL file passes with a warning.
``require``
    pyHanko's ``require`` (``CRL_OR_OCSP_REQUIRED``): every certificate of the
    path must have a usable CRL or OCSP response, otherwise INDETERMINATE.

In every mode a certificate found revoked (by any source) is INVALID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Iterable
from typing import Literal

from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    LEGACY_POLICY_MAP,
    NO_REVOCATION,
    REQUIRE_REVINFO,
    RevocationCheckingPolicy,
)

__all__ = [
    "REVOCATION_MODES",
    "RevocationMode",
    "build_fetchers",
    "crl_reason_ru",
    "fallback_policy",
    "primary_policy",
]

RevocationMode = Literal["off", "soft", "hard", "require"]
REVOCATION_MODES: tuple[RevocationMode, ...] = ("off", "soft", "hard", "require")

#: Cached validation results are trusted at most this long when revocation
#: was checked (shorter when a CRL used expires sooner).
REVOCATION_TTL = dt.timedelta(minutes=10)


def check_mode(mode: str) -> RevocationMode:
    if mode not in REVOCATION_MODES:
        raise ValueError(
            f"unknown revocation mode {mode!r}: "
            f"use one of {', '.join(REVOCATION_MODES)}"
        )
    return mode


def primary_policy(mode: RevocationMode) -> RevocationCheckingPolicy:
    """The policy of the first validation pass (see the module docstring)."""
    if mode == "off":
        return NO_REVOCATION
    return REQUIRE_REVINFO


def fallback_policy(mode: RevocationMode) -> RevocationCheckingPolicy | None:
    """The policy of the second pass when the first found no usable information."""
    if mode == "soft":
        return LEGACY_POLICY_MAP["soft-fail"]
    if mode == "hard":
        return LEGACY_POLICY_MAP["hard-fail"]
    return None


def single_pass_policy(mode: RevocationMode) -> RevocationCheckingPolicy:
    """The closest single pyHanko policy, for a context handed to pyHanko itself."""
    return {
        "off": NO_REVOCATION,
        "soft": LEGACY_POLICY_MAP["soft-fail"],
        "hard": LEGACY_POLICY_MAP["hard-fail"],
        "require": REQUIRE_REVINFO,
    }[mode]


class _DisabledOCSPFetcher(OCSPFetcher):
    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        raise OCSPFetchError("OCSP requests are disabled in the trust store settings")

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return ()

    def fetched_responses_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[ocsp.OCSPResponse]:
        return ()


class _DisabledCRLFetcher(CRLFetcher):
    async def fetch(
        self,
        cert: x509.Certificate | cms.AttributeCertificateV2,
        *,
        use_deltas: bool | None = None,
    ) -> Iterable[crl.CertificateList]:
        raise CRLFetchError("CRL downloads are disabled in the trust store settings")

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return ()

    def fetched_crls_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[crl.CertificateList]:
        raise KeyError("no fetch was made")


class _DisabledCertificateFetcher(CertificateFetcher):
    async def _nothing(self) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield  # makes this an (empty) async generator

    def fetch_cert_issuers(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> AsyncGenerator[x509.Certificate, None]:
        return self._nothing()

    def fetch_crl_issuers(
        self, certificate_list: crl.CertificateList
    ) -> AsyncGenerator[x509.Certificate, None]:
        return self._nothing()

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return ()


def build_fetchers(
    *, ocsp: bool, crls: bool, issuers: bool, timeout: float
) -> Fetchers | None:
    """Network fetchers for one validation (their caches live as long as it does).

    ``None`` when nothing may be fetched at all.
    """
    if not (ocsp or crls or issuers):
        return None
    real = RequestsFetcherBackend(per_request_timeout=timeout).get_fetchers()
    return Fetchers(
        ocsp_fetcher=real.ocsp_fetcher if ocsp else _DisabledOCSPFetcher(),
        crl_fetcher=real.crl_fetcher if crls else _DisabledCRLFetcher(),
        cert_fetcher=real.cert_fetcher if issuers else _DisabledCertificateFetcher(),
    )


_REASONS_RU = {
    "unspecified": "причина не указана",
    "key_compromise": "компрометация ключа",
    "ca_compromise": "компрометация ключа удостоверяющего центра",
    "affiliation_changed": "изменились сведения о владельце",
    "superseded": "сертификат заменён",
    "cessation_of_operation": "прекращение деятельности",
    "certificate_hold": "действие приостановлено",
    "remove_from_crl": "исключён из списка отзыва",
    "privilege_withdrawn": "полномочия отозваны",
    "aa_compromise": "компрометация ключа центра атрибутов",
}


def crl_reason_ru(reason: str | None) -> str:
    """Russian wording of an RFC 5280 §5.3.1 CRLReason name."""
    return _REASONS_RU.get(reason or "unspecified", reason or "причина не указана")


def ocsp_status_for(
    responses: Iterable[ocsp.OCSPResponse], cert: x509.Certificate
) -> tuple[str, dt.datetime | None, str | None] | None:
    """(status, revoked_at, reason) of ``cert`` in fetched OCSP responses, if any.

    Only used to *describe* an outcome pyHanko already reached (for instance an
    ``unknown`` answer); the responses' signatures were checked by pyHanko.
    """
    for response in responses:
        try:
            basic = response["response_bytes"]["response"].parsed
            singles = basic["tbs_response_data"]["responses"]
        except (KeyError, TypeError, ValueError):
            continue
        for single in singles:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != cert.serial_number:
                continue
            status = single["cert_status"]
            if status.name == "revoked":
                info = status.chosen
                reason = info["revocation_reason"].native
                return "revoked", info["revocation_time"].native, reason
            return status.name, None, None
    return None
