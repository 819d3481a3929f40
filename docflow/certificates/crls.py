"""CRLs downloaded once for the whole cluster.

A certificate names where its CA publishes the CRL (its distribution points).
Left to pyhanko-certvalidator, every process of every node downloads each CRL
for itself, and keeps what it saw in its own memory. Here a downloaded CRL is
a row of ``crl_downloads`` (one per URL, with its bytes and its
``nextUpdate``), and the row's lock decides who downloads:

* a stored CRL before its refresh moment (80 % of its period) is used as it
  is — from the process's memory, else from the row;
* after it, while still valid, one process refreshes it
  (``SELECT … FOR UPDATE SKIP LOCKED``): the others skip the locked row and
  keep using the stored one;
* a missing or expired CRL is waited for (``SELECT … FOR UPDATE``): the first
  process downloads, the others find the fresh row when the lock is released.

A failed download is remembered for a minute (``attempted_at``, ``error``), so
that a dead distribution point is not asked by every process at every
validation. Downloads go through :class:`signing.revocation.FetchGuard` (public
addresses only, size caps), like every other fetch of a validation.

PostgreSQL only: the embedded mode (SQLite) is one process, which downloads
for itself as before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests
from asn1crypto import cms, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.errors import CRLFetchError
from pyhanko_certvalidator.fetchers.api import CRLFetcher
from pyhanko_certvalidator.fetchers.common_utils import enumerate_delivery_point_urls
from pyhanko_certvalidator.util import get_relevant_crl_dps, issuer_serial
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from docflow.certificates.models import CrlDownload
from docflow.db import utcnow
from signing.revocation import FetchGuard

log = logging.getLogger(__name__)

#: A stored CRL is refreshed after this share of its period (thisUpdate to
#: nextUpdate), while it is still valid.
REFRESH_SHARE = 0.8
#: A CRL without nextUpdate is refreshed after this long.
UNDATED_TTL = dt.timedelta(hours=1)
#: After a failed download the URL rests this long.
FAILURE_BACKOFF = dt.timedelta(minutes=1)
#: How long a process waits for another one's download of a missing CRL.
LOCK_WAIT_SECONDS = 20

CRL_MIME = "application/pkix-crl"
UNREACHABLE = "сервер не ответил или прислал не список отзыва"


class CrlUnavailableError(Exception):
    """No usable CRL could be had from a URL (the message says why)."""


def parse_crl(data: bytes) -> asn1_crl.CertificateList:
    """A CRL from DER or PEM bytes.

    :raises ValueError: not a CRL.
    """
    if pem.detect(data):
        _kind, _headers, data = pem.unarmor(data)
    parsed = asn1_crl.CertificateList.load(data)
    parsed.native  # noqa: B018 - asn1crypto parses lazily: read it all now
    return parsed


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Held:
    """A stored CRL, parsed, with the moments that matter."""

    crl: asn1_crl.CertificateList
    this_update: dt.datetime
    next_update: dt.datetime | None
    refresh_at: dt.datetime

    @classmethod
    def of(cls, der: bytes, fetched_at: dt.datetime) -> Held:
        crl = parse_crl(der)
        tbs = crl["tbs_cert_list"]
        this_update = _aware(tbs["this_update"].native) or fetched_at
        next_update = _aware(tbs["next_update"].native)
        if next_update is None or next_update <= this_update:
            refresh_at = fetched_at + UNDATED_TTL
        else:
            refresh_at = this_update + (next_update - this_update) * REFRESH_SHARE
        return cls(crl, this_update, next_update, refresh_at)

    def valid_at(self, now: dt.datetime) -> bool:
        return self.next_update is None or now < self.next_update


@dataclass(frozen=True)
class RefreshOutcome:
    url: str
    ok: bool
    detail: str


class SharedCrls:
    """The ``crl_downloads`` rows of one database, with this process's memory
    of them (thread-safe). Built anew with the trust store whenever the trust
    version changes, so an administrator's «Обновить списки отзыва» on one
    node drops what every other node remembered."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._memo: dict[str, Held] = {}
        self._lock = threading.Lock()

    def get(
        self, url: str, download: Callable[[str], bytes]
    ) -> asn1_crl.CertificateList:
        """The CRL published at ``url``, downloaded by at most one process.

        :raises CrlUnavailableError: nothing usable, stored or downloaded.
        """
        now = self._clock()
        with self._lock:
            held = self._memo.get(url)
        if held is not None and now < held.refresh_at:
            return held.crl
        held = self._stored(url)
        if held is not None and now < held.refresh_at:
            return held.crl
        if held is not None and held.valid_at(now):
            # Due for refresh but still valid: whoever gets the row refreshes,
            # the others go on with the stored one.
            fresh = self._refresh(url, download, wait=False)
            return (fresh or held).crl
        fresh = self._refresh(url, download, wait=True)
        if fresh is not None:
            return fresh.crl
        if held is not None:
            return held.crl  # expired: the validation reports it as such
        raise CrlUnavailableError(f"{url}: the CRL could not be downloaded")

    def refresh_all(self, download: Callable[[str], bytes]) -> list[RefreshOutcome]:
        """Download every known CRL now (the administrator's «Обновить списки
        отзыва»); a row another process is refreshing at this moment is left
        to it."""
        with self._sessions() as session:
            urls = list(
                session.scalars(select(CrlDownload.url).order_by(CrlDownload.url))
            )
        outcomes = []
        for url in urls:
            try:
                fresh = self._refresh(url, download, wait=False, force=True)
            except CrlUnavailableError:
                # What went wrong is in the log and the row; the page says it
                # in words.
                outcomes.append(RefreshOutcome(url, False, UNREACHABLE))
                continue
            if fresh is None:
                outcomes.append(
                    RefreshOutcome(url, True, "обновляется другим процессом")
                )
            else:
                outcomes.append(RefreshOutcome(url, True, _describe(fresh)))
        return outcomes

    # -- the rows --------------------------------------------------------------------

    def _remember(self, url: str, held: Held) -> Held:
        with self._lock:
            self._memo[url] = held
        return held

    def _stored(self, url: str) -> Held | None:
        with self._sessions() as session:
            row = session.execute(
                select(CrlDownload.der, CrlDownload.fetched_at).where(
                    CrlDownload.url == url
                )
            ).one_or_none()
        if row is None or row.der is None:
            return None
        return self._remember(
            url, Held.of(row.der, _aware(row.fetched_at) or self._clock())
        )

    def _ensure_row(self, session: Session, url: str) -> None:
        session.execute(
            pg_insert(CrlDownload)
            .values(id=uuid.uuid4(), url=url, created_at=self._clock())
            .on_conflict_do_nothing(index_elements=[CrlDownload.url])
        )

    def _refresh(
        self,
        url: str,
        download: Callable[[str], bytes],
        *,
        wait: bool,
        force: bool = False,
    ) -> Held | None:
        """Download ``url`` while holding its row's lock; ``None`` when another
        process holds it (``wait=False``) or held it too long, or when the
        download failed (the row says why).

        :raises CrlUnavailableError: with ``force``, the download failed.
        """
        with self._sessions() as session, session.begin():
            self._ensure_row(session, url)
        failure: str | None = None
        with self._sessions() as session, session.begin():
            if wait:
                session.execute(
                    text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'")
                )
            try:
                row = session.scalar(
                    select(CrlDownload)
                    .where(CrlDownload.url == url)
                    .with_for_update(skip_locked=not wait)
                )
            except OperationalError:  # lock_timeout: the other one hangs
                log.warning("CRL %s: another process held its download too long", url)
                return None
            if row is None:
                return None
            now = self._clock()
            held = (
                Held.of(row.der, _aware(row.fetched_at) or now)
                if row.der is not None
                else None
            )
            if not force and held is not None and now < held.refresh_at:
                return self._remember(url, held)  # refreshed while we waited
            attempted = _aware(row.attempted_at)
            if (
                not force
                and row.error
                and attempted is not None
                and now - attempted < FAILURE_BACKOFF
            ):
                return None
            row.attempted_at = now
            try:
                fresh = Held.of(download(url), now)
            except (CrlUnavailableError, requests.RequestException, ValueError) as exc:
                failure = row.error = f"{exc}"[:500] or "ошибка загрузки"
                log.warning("CRL %s could not be downloaded: %s", url, exc)
            else:
                row.der = fresh.crl.dump()
                row.sha256 = hashlib.sha256(row.der).hexdigest()
                row.this_update = fresh.this_update
                row.next_update = fresh.next_update
                row.fetched_at = now
                row.error = None
                return self._remember(url, fresh)
        if force:
            raise CrlUnavailableError(failure)
        return None


def _describe(held: Held) -> str:
    revoked = len(held.crl["tbs_cert_list"]["revoked_certificates"])
    until = (
        f"до {held.next_update:%d.%m.%Y %H:%M} UTC" if held.next_update else "без срока"
    )
    return f"загружен: {revoked} отозванных, действует {until}"


def guarded_download(guard: FetchGuard) -> Callable[[str], bytes]:
    """A download through ``guard`` (public addresses only, size caps)."""

    def download(url: str) -> bytes:
        response = guard.fetch(
            "crl",
            url,
            method="GET",
            headers={"Accept": CRL_MIME, "User-Agent": "docflow"},
        )
        return bytes(response.content)

    return download


class SharedCRLFetcher(CRLFetcher):
    """pyhanko-certvalidator's CRL fetcher for one validation, reading through
    :class:`SharedCrls` instead of downloading for itself."""

    def __init__(self, shared: SharedCrls, guard: FetchGuard) -> None:
        self._shared = shared
        self._download = guarded_download(guard)
        self._by_cert: dict[bytes, list[asn1_crl.CertificateList]] = {}

    async def fetch(
        self,
        cert: asn1_x509.Certificate | cms.AttributeCertificateV2,
        *,
        use_deltas: bool | None = None,
    ) -> Iterable[asn1_crl.CertificateList]:
        key = issuer_serial(cert)
        if key in self._by_cert:
            return self._by_cert[key]
        results: list[asn1_crl.CertificateList] = []
        failure: Exception | None = None
        for point in get_relevant_crl_dps(cert, use_deltas=use_deltas is not False):
            for url in enumerate_delivery_point_urls(point):
                try:
                    results.append(
                        await asyncio.to_thread(self._shared.get, url, self._download)
                    )
                except CrlUnavailableError as exc:
                    failure = exc
        if not results and failure is not None:
            raise CRLFetchError(str(failure))
        self._by_cert[key] = results
        return results

    def fetched_crls(self) -> Iterable[asn1_crl.CertificateList]:
        seen: dict[int, asn1_crl.CertificateList] = {}
        for crls in self._by_cert.values():
            for item in crls:
                seen.setdefault(id(item), item)
        return list(seen.values())

    def fetched_crls_for_cert(
        self, cert: asn1_x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[asn1_crl.CertificateList]:
        return self._by_cert[issuer_serial(cert)]
