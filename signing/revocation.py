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

Fetching. The URLs come from the certificates, that is from whoever made
them: every download (issuer certificates, CRLs, OCSP) goes through
:mod:`netguard` — public addresses only unless the trust store allows
private ones, checked on the address actually connected to, with timeouts and
size caps. A refused address is reported (:func:`blocked_fetch_reasons`). In
``off`` mode nothing at all is fetched (:class:`signing.trust.TrustStore`
builds no fetchers).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Literal

import requests
from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    Fetchers,
    FetchLimits,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers.cert_fetch_client import (
    RequestsCertificateFetcher,
)
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import (
    RequestsCRLFetcher,
)
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import (
    RequestsOCSPFetcher,
)
from pyhanko_certvalidator.fetchers.requests_fetchers.util import (
    RequestsFetcherMixin,
)
from pyhanko_certvalidator.policy_decl import (
    LEGACY_POLICY_MAP,
    NO_REVOCATION,
    REQUIRE_REVINFO,
    RevocationCheckingPolicy,
)

import netguard
from signing.reports import Reason, ReasonCode

__all__ = [
    "REVOCATION_MODES",
    "BlockedFetch",
    "RevocationMode",
    "blocked_fetch_reasons",
    "build_fetchers",
    "crl_reason_ru",
    "fallback_policy",
    "primary_policy",
]

logger = logging.getLogger(__name__)

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


FetchKind = Literal["issuer", "crl", "ocsp"]


@dataclass(frozen=True)
class BlockedFetch:
    """A download refused because its address is not public."""

    kind: FetchKind
    url: str
    address: str
    reason: str


class FetchGuard:
    """The network settings shared by one validation's fetchers, and the
    downloads they refused."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self._blocked: list[BlockedFetch] = []
        self._lock = threading.Lock()

    @property
    def blocked(self) -> list[BlockedFetch]:
        with self._lock:
            return list(self._blocked)

    def fetch(
        self,
        kind: FetchKind,
        url: str,
        *,
        method: str,
        headers: dict[str, str],
        content: bytes | None = None,
    ) -> requests.Response:
        """One download, as pyhanko-certvalidator's fetchers expect it: a 200
        response, or ``requests.RequestException`` (which they turn into
        their fetch errors and the validation into "unavailable")."""
        limit = netguard.MAX_CRL_BYTES if kind == "crl" else netguard.MAX_RESPONSE_BYTES
        try:
            fetched = netguard.fetch(
                url,
                method=method,
                content=content,
                headers=headers,
                timeout=self.timeout,
                max_bytes=limit,
                allow_private=self.allow_private,
            )
        except netguard.ForbiddenAddressError as exc:
            logger.warning("refused to fetch %s %s: %s", kind, url, exc)
            with self._lock:
                self._blocked.append(BlockedFetch(kind, url, exc.address, exc.reason))
            raise requests.RequestException(str(exc)) from exc
        except netguard.FetchError as exc:
            raise requests.RequestException(str(exc)) from exc
        if fetched.status_code != 200:
            raise requests.RequestException(f"{url}: status code {fetched.status_code}")
        # What the fetchers read (.content, .headers): a response already in full.
        response = requests.Response()
        response.status_code = fetched.status_code
        response.url = fetched.url
        response.headers = requests.structures.CaseInsensitiveDict(fetched.headers)
        response._content = fetched.content
        return response


class _Guarded(RequestsFetcherMixin):
    """pyhanko-certvalidator's requests fetchers with their two network calls
    (``requests.get``/``post``, which follow any redirect and read any size)
    replaced by :meth:`FetchGuard.fetch`."""

    kind: ClassVar[FetchKind]
    guard: FetchGuard

    def _get(
        self, url: str, *, acceptable_content_types: Iterable[str]
    ) -> Awaitable[requests.Response]:
        headers = {
            "Accept": ",".join(acceptable_content_types),
            "User-Agent": str(self.user_agent),
        }
        return asyncio.to_thread(
            self.guard.fetch, self.kind, url, method="GET", headers=headers
        )

    def _post(
        self,
        url: str,
        data: bytes,
        *,
        content_type: str,
        acceptable_content_types: Iterable[str],
    ) -> Awaitable[requests.Response]:
        headers = {
            "Accept": ",".join(acceptable_content_types),
            "User-Agent": str(self.user_agent),
            "Content-Type": content_type,
        }
        return asyncio.to_thread(
            self.guard.fetch,
            self.kind,
            url,
            method="POST",
            headers=headers,
            content=data,
        )


class _GuardedOCSPFetcher(_Guarded, RequestsOCSPFetcher):
    kind = "ocsp"


class _GuardedCRLFetcher(_Guarded, RequestsCRLFetcher):
    kind = "crl"


class _GuardedCertificateFetcher(_Guarded, RequestsCertificateFetcher):
    kind = "issuer"


#: Builds a validation's CRL fetcher from its guard (see :func:`build_fetchers`).
CrlFetcherFactory = Callable[["FetchGuard"], CRLFetcher]


def build_fetchers(
    *,
    ocsp: bool,
    crls: bool,
    issuers: bool,
    timeout: float,
    allow_private: bool = False,
    crl_fetcher_factory: CrlFetcherFactory | None = None,
) -> Fetchers | None:
    """Network fetchers for one validation (their caches live as long as it does).

    ``None`` when nothing may be fetched at all.

    :param allow_private: let downloads reach internal addresses (CAs inside
        a closed network); refused by default, see :mod:`netguard`.
    :param crl_fetcher_factory: builds the CRL fetcher instead of the default
        download-per-validation one (an application sharing CRLs between
        processes); it gets this validation's guard, so its downloads stay
        public-only and refused ones are reported with the others.
    """
    if not (ocsp or crls or issuers):
        return None
    guard = FetchGuard(timeout=timeout, allow_private=allow_private)
    # One budget for the three, as pyhanko-certvalidator's own backend does.
    budget = FetchBudget(FetchLimits())
    ocsp_fetcher = _GuardedOCSPFetcher(per_request_timeout=timeout, budget=budget)
    # RequestsCRLFetcher.__init__ takes untyped **kwargs.
    crl_fetcher = _GuardedCRLFetcher(  # type: ignore[no-untyped-call]
        per_request_timeout=timeout, budget=budget
    )
    cert_fetcher = _GuardedCertificateFetcher(
        per_request_timeout=timeout, budget=budget
    )
    for fetcher in (ocsp_fetcher, crl_fetcher, cert_fetcher):
        fetcher.guard = guard
    chosen_crl_fetcher: CRLFetcher = (
        crl_fetcher_factory(guard) if crl_fetcher_factory is not None else crl_fetcher
    )
    return Fetchers(
        ocsp_fetcher=ocsp_fetcher if ocsp else _DisabledOCSPFetcher(),
        crl_fetcher=chosen_crl_fetcher if crls else _DisabledCRLFetcher(),
        cert_fetcher=cert_fetcher if issuers else _DisabledCertificateFetcher(),
    )


def _blocked_fetches(fetchers: Fetchers | None) -> list[BlockedFetch]:
    if fetchers is None:
        return []
    guards = {
        id(f.guard): f.guard
        for f in (fetchers.ocsp_fetcher, fetchers.crl_fetcher, fetchers.cert_fetcher)
        if isinstance(f, _Guarded)
    }
    seen: dict[tuple[str, str], BlockedFetch] = {}
    for guard in guards.values():
        for item in guard.blocked:
            seen.setdefault((item.kind, item.url), item)
    return list(seen.values())


def _refused(items: list[BlockedFetch]) -> str:
    return "; ".join(
        f"адрес {b.url} недоступен для проверки: внутренняя сеть ({b.address})"
        for b in items
    )


def _blocked_details(items: list[BlockedFetch]) -> dict[str, object]:
    return {
        "blocked": "internal_network",
        "urls": [b.url for b in items],
        "addresses": [
            {"url": b.url, "address": b.address, "reason": b.reason} for b in items
        ],
    }


def blocked_fetch_reasons(fetchers: Fetchers | None) -> list[Reason]:
    """Warnings naming the downloads refused as internal during a validation.

    They explain the outcome pyhanko-certvalidator reached without that data
    (revocation unavailable, a chain not built); they never change a verdict.
    """
    blocked = _blocked_fetches(fetchers)
    reasons = []
    revinfo = [b for b in blocked if b.kind != "issuer"]
    if revinfo:
        reasons.append(
            Reason(
                ReasonCode.REVOCATION_UNAVAILABLE,
                "Сведения об отзыве не запрашивались: " + _refused(revinfo),
                _blocked_details(revinfo),
                is_warning=True,
            )
        )
    issuers = [b for b in blocked if b.kind == "issuer"]
    if issuers:
        reasons.append(
            Reason(
                ReasonCode.CHAIN_INCOMPLETE,
                "Сертификат издателя не загружен: " + _refused(issuers),
                _blocked_details(issuers),
                is_warning=True,
            )
        )
    return reasons


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
