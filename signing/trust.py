"""Trust stores and certificate validation.

Path building and validation (RFC 5280 §6), CRL and OCSP processing are
pyhanko-certvalidator's; this module chooses its inputs (trust anchors,
intermediates, CRLs, revocation policy, algorithm policy), translates its
exceptions into stable reason codes with Russian messages, and caches results.
See :mod:`signing.revocation` for what the revocation modes mean.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from asn1crypto import algos as asn1_algos
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    CRLValidationError,
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    OCSPValidationError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    StaleRevinfoError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    RevocationCheckingPolicy,
)
from pyhanko_certvalidator.revinfo.validate_crl import verify_crl
from pyhanko_certvalidator.revinfo.validate_ocsp import verify_ocsp_response
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)
from pyhanko_certvalidator.util import get_declared_revinfo, get_ocsp_urls

from signing import _asn1, gost
from signing._asn1 import CertificateInput, to_asn1
from signing.certificates import CertificateInfo, format_date_ru, info_from_asn1
from signing.errors import CertificateFormatError, TrustStoreError
from signing.reports import (
    CertificateValidation,
    LongTermData,
    Reason,
    ReasonCode,
    RevocationInfo,
    worst_verdict,
)
from signing.revocation import (
    REVOCATION_TTL,
    CrlFetcherFactory,
    RevocationMode,
    blocked_fetch_reasons,
    build_fetchers,
    check_mode,
    crl_reason_ru,
    fallback_policy,
    ocsp_status_for,
    primary_policy,
    single_pass_policy,
)

__all__ = [
    "DEFAULT_WEAK_HASHES",
    "CacheInfo",
    "RevocationMode",
    "TrustStore",
    "Usage",
    "async_validate_certificate",
    "validate_certificate",
]

logger = logging.getLogger(__name__)

#: ``signing``: KeyUsage must allow signatures; ``timestamping``: also the
#: extended key usage id-kp-timeStamping (RFC 3161 §2.3); ``any``: neither.
Usage = Literal["signing", "timestamping", "any"]

#: Digests whose use in a certificate or CRL signature makes the result
#: INDETERMINATE (weak_algorithm): collisions are practical for all three.
DEFAULT_WEAK_HASHES = frozenset({"md2", "md5", "sha1"})

#: Results for moments in the same bucket share a cache entry (see
#: :class:`TrustStore`).
TIME_BUCKET = dt.timedelta(minutes=5)
#: Without revocation checking a cached result still expires after this.
OFFLINE_TTL = dt.timedelta(hours=1)

_CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".p7"}
_CRL_SUFFIXES = {".crl", ".pem", ".der"}

_T = TypeVar("_T")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class GostSignatureValidator(DefaultSignatureValidator):
    """pyhanko-certvalidator's signature check, plus GOST R 34.10-2012.

    pyhanko-certvalidator hands every signature of a path (certificates, CRLs,
    OCSP responses) to its validation context's ``SignatureValidator``; this
    one checks GOST R 34.10-2012 / GOST R 34.11-2012 signatures (RFC 9215 §3)
    with :mod:`signing.gost` and leaves every other algorithm to the default.
    GOST R 34.10-2001 with GOST R 34.11-94 (RFC 4491) is checked too; that it
    is obsolete is reported separately (:func:`_obsolete_algorithm_reasons`).
    """

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: asn1_keys.PublicKeyInfo,
        signature_algorithm: asn1_algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        oid = signature_algorithm["algorithm"].dotted
        is_2001 = oid in gost.SIGNATURE_OIDS_2001
        bits = 256 if is_2001 else gost.SIGNATURE_OIDS.get(oid)
        if bits is None:
            super().validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, context
            )
            return
        try:
            key = gost.public_key_from_spki(public_key_info.dump())
        except gost.GostKeyError as exc:
            raise InvalidSignature(f"no usable GOST public key: {exc}") from None
        if key.bits != bits or key.is_gost2001 != is_2001:
            raise InvalidSignature(
                f"a {oid} signature, a {key.algorithm} key ({key.bits} bits)"
            )
        ok = (
            key.verify_digest(signed_data, signature)
            if context.prehashed
            else key.verify(signed_data, signature)
        )
        if not ok:
            raise InvalidSignature(f"the {key.algorithm} signature does not verify")


_SIGNATURE_VALIDATOR = GostSignatureValidator()


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a trust store's validation cache."""

    hits: int
    misses: int
    size: int
    maxsize: int
    generation: int


@dataclass(frozen=True)
class _Entry:
    result: CertificateValidation
    #: The moment the result was computed for.
    at: dt.datetime
    #: Moments at which the outcome may change (validity bounds of the chain,
    #: revocation dates listed for its certificates).
    boundaries: tuple[dt.datetime, ...]
    #: time.monotonic() after which revocation data must be looked at again.
    expires: float

    def usable_for(self, at: dt.datetime, now_mono: float) -> bool:
        if now_mono >= self.expires:
            return False
        if at == self.at:
            return True
        low, high = min(at, self.at), max(at, self.at)
        return not any(low <= b <= high for b in self.boundaries)


class _ResultCache:
    """A small thread-safe LRU of validation results."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._data: OrderedDict[tuple[object, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[object, ...], at: dt.datetime) -> _Entry | None:
        now_mono = time.monotonic()
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and entry.usable_for(at, now_mono):
                self._data.move_to_end(key)
                self.hits += 1
                return entry
            if entry is not None and now_mono >= entry.expires:
                del self._data[key]
            self.misses += 1
            return None

    def put(self, key: tuple[object, ...], entry: _Entry) -> None:
        if self._maxsize <= 0:
            return
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def maxsize(self) -> int:
        return self._maxsize


def _as_certificate(item: CertificateInput, what: str) -> x509.Certificate:
    try:
        return to_asn1(item)
    except CertificateFormatError as exc:
        raise TrustStoreError(f"{what}: {exc}") from None


def _as_crls(
    item: bytes | asn1_crl.CertificateList, what: str
) -> list[asn1_crl.CertificateList]:
    if isinstance(item, asn1_crl.CertificateList):
        return [item]
    try:
        return _asn1.load_crls(bytes(item))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TrustStoreError(f"{what}: not a CRL (DER or PEM): {exc}") from None


def _files(path: Path, suffixes: set[str]) -> list[Path]:
    if path.is_dir():
        found = sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.suffix.lower() in suffixes
        )
        if not found:
            raise TrustStoreError(
                f"{path}: the directory holds no {'/'.join(sorted(suffixes))} file"
            )
        return found
    if not path.exists():
        raise TrustStoreError(f"{path}: no such file or directory")
    return [path]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustStoreError(
            f"{path}: cannot be read: {exc.strerror or exc}"
        ) from None


def _certs_from_path(path: str | Path) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for file in _files(Path(path), _CERT_SUFFIXES):
        try:
            certs.extend(_asn1.load_certificates(_read(file)))
        except CertificateFormatError as exc:
            raise TrustStoreError(f"{file}: {exc}") from None
    return certs


def _crls_from_path(path: str | Path) -> list[asn1_crl.CertificateList]:
    crls: list[asn1_crl.CertificateList] = []
    for file in _files(Path(path), _CRL_SUFFIXES):
        crls.extend(_as_crls(_read(file), str(file)))
    return crls


class TrustStore:
    """Trust anchors, known intermediates and CRLs, with validation settings.

    Mutating the store (``add_*``) bumps :attr:`generation`, which invalidates
    every cached validation result. Thread-safe.

    :param roots: trust anchors (DER/PEM bytes or certificate objects).
    :param intermediates: CA certificates that may be used to build paths;
        they are not trusted by themselves.
    :param crls: CRLs (DER/PEM bytes or asn1crypto objects) used before any
        download.
    :param ocsp: ask the OCSP responders named in certificates (AIA).
    :param fetch_crls: download CRLs from the certificates' distribution points.
    :param fetch_issuers: download missing issuer certificates (AIA caIssuers).
    :param timeout: seconds per HTTP request.
    :param allow_private_fetch: let downloads (issuer certificates, CRLs,
        OCSP) reach loopback, private and link-local addresses, for a closed
        network whose CAs live there. Off by default: the URLs come from the
        certificates, so from whoever made them (see :mod:`netguard`).
    :param weak_hash_algorithms: digests that make a chain or CRL signature weak
        (MD2, MD5 and SHA-1 by default). Only test corpora and archives of old
        documents have a reason to narrow it.
    :param min_rsa_bits: RSA keys below this are weak (issuer keys and the
        certificate's own key).
    :param min_dsa_bits: the same for DSA.
    :param cache_size: validation results kept (0 disables the cache).
    :param crl_fetcher_factory: builds each validation's CRL fetcher from its
        download guard, instead of downloading per validation (see
        :func:`signing.revocation.build_fetchers`).

    A CA certificate may be marked as belonging to a certification centre
    accredited by Минцифры (``add_root(cert, accredited="…")``): a chain
    through it makes a certificate with the sign-tool fields qualified (see
    :class:`~signing.certificates.QualifiedStatus`).
    """

    def __init__(
        self,
        roots: Iterable[CertificateInput] = (),
        intermediates: Iterable[CertificateInput] = (),
        crls: Iterable[bytes | asn1_crl.CertificateList] = (),
        *,
        ocsp: bool = True,
        fetch_crls: bool = True,
        fetch_issuers: bool = True,
        timeout: float = 5.0,
        allow_private_fetch: bool = False,
        weak_hash_algorithms: Iterable[str] = DEFAULT_WEAK_HASHES,
        min_rsa_bits: int = 2048,
        min_dsa_bits: int = 2048,
        cache_size: int = 4096,
        crl_fetcher_factory: CrlFetcherFactory | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self._lock = threading.RLock()
        self._token = uuid.uuid4().hex
        self._generation = 0
        self._roots: list[x509.Certificate] = []
        self._intermediates: list[x509.Certificate] = []
        self._crls: list[asn1_crl.CertificateList] = []
        self._revoked_index: dict[bytes, dict[int, dt.datetime]] = {}
        #: SHA-256 of a CA certificate → its accredited centre's name.
        self._accredited: dict[bytes, str] = {}
        self.ocsp = ocsp
        self.fetch_crls = fetch_crls
        self.fetch_issuers = fetch_issuers
        self.allow_private_fetch = allow_private_fetch
        self.timeout = float(timeout)
        self.weak_hash_algorithms = frozenset(a.lower() for a in weak_hash_algorithms)
        self.min_rsa_bits = min_rsa_bits
        self.min_dsa_bits = min_dsa_bits
        self.crl_fetcher_factory = crl_fetcher_factory
        self._cache = _ResultCache(cache_size)
        for i, root in enumerate(roots):
            self._add(self._roots, _as_certificate(root, f"trust anchor #{i + 1}"))
        for i, cert in enumerate(intermediates):
            self._add(
                self._intermediates, _as_certificate(cert, f"intermediate #{i + 1}")
            )
        for i, item in enumerate(crls):
            self._crls.extend(_as_crls(item, f"CRL #{i + 1}"))

    @classmethod
    def from_paths(
        cls,
        roots: Iterable[str | Path],
        intermediates: Iterable[str | Path] = (),
        crls: Iterable[str | Path] = (),
        **options: object,
    ) -> TrustStore:
        """Load a store from files or directories.

        A certificate path may be a PEM bundle, a DER certificate or a PKCS#7
        (.p7b) file, or a directory of those (``.pem .crt .cer .der .p7b``);
        a CRL path a DER/PEM CRL or a directory of ``.crl`` files. ``options``
        are the keyword arguments of :class:`TrustStore`.

        :raises TrustStoreError: a path is missing or holds no usable data
            (the message names the file).
        """
        root_certs = [c for p in roots for c in _certs_from_path(p)]
        inter_certs = [c for p in intermediates for c in _certs_from_path(p)]
        crl_list = [c for p in crls for c in _crls_from_path(p)]
        return cls(root_certs, inter_certs, crl_list, **options)  # type: ignore[arg-type]

    @staticmethod
    def _add(target: list[x509.Certificate], cert: x509.Certificate) -> bool:
        if any(c.sha256 == cert.sha256 for c in target):
            return False
        target.append(cert)
        return True

    def _bump(self) -> None:
        self._generation += 1
        self._cache.clear()

    def _mark(self, cert: x509.Certificate, accredited: str | None) -> bool:
        if accredited is None or self._accredited.get(cert.sha256) == accredited:
            return False
        self._accredited[cert.sha256] = accredited
        return True

    def add_root(
        self, cert: CertificateInput, *, accredited: str | None = None
    ) -> None:
        """Trust one more anchor.

        :param accredited: the name of the accredited certification centre
            this CA certificate belongs to (from the Минцифры list).
        """
        parsed = _as_certificate(cert, "trust anchor")
        with self._lock:
            added = self._add(self._roots, parsed)
            if self._mark(parsed, accredited) or added:
                self._bump()

    def add_intermediate(
        self, cert: CertificateInput, *, accredited: str | None = None
    ) -> None:
        """Make one more CA certificate available for path building (it is not
        trusted by itself; ``accredited`` as for :meth:`add_root`)."""
        parsed = _as_certificate(cert, "intermediate")
        with self._lock:
            added = self._add(self._intermediates, parsed)
            if self._mark(parsed, accredited) or added:
                self._bump()

    def accredited_centre(self, cert: CertificateInput) -> str | None:
        """The accredited centre a CA certificate was added for, if any."""
        parsed = _as_certificate(cert, "certificate")
        with self._lock:
            return self._accredited.get(parsed.sha256)

    def add_crl(self, data: bytes | asn1_crl.CertificateList) -> None:
        """Add a CRL (DER or PEM)."""
        parsed = _as_crls(data, "CRL")
        with self._lock:
            self._crls.extend(parsed)
            self._bump()

    @property
    def generation(self) -> int:
        """Incremented by every change of the store's content."""
        return self._generation

    @property
    def roots(self) -> list[CertificateInfo]:
        with self._lock:
            return [info_from_asn1(c) for c in self._roots]

    @property
    def intermediates(self) -> list[CertificateInfo]:
        with self._lock:
            return [info_from_asn1(c) for c in self._intermediates]

    @property
    def crls(self) -> list[asn1_crl.CertificateList]:
        with self._lock:
            return list(self._crls)

    def cache_info(self) -> CacheInfo:
        """Hit/miss counters and size of the validation cache."""
        return CacheInfo(
            hits=self._cache.hits,
            misses=self._cache.misses,
            size=len(self._cache),
            maxsize=self._cache.maxsize,
            generation=self._generation,
        )

    def cache_clear(self) -> None:
        self._cache.clear()

    def is_trusted_root(self, cert: x509.Certificate) -> bool:
        with self._lock:
            return any(r.sha256 == cert.sha256 for r in self._roots)

    def _algorithm_policy(self) -> DisallowWeakAlgorithmsPolicy:
        return DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
            weak_hash_algos=self.weak_hash_algorithms,
            rsa_key_size_threshold=self.min_rsa_bits,
            dsa_key_size_threshold=self.min_dsa_bits,
        )

    def _fetchers(self, revocation: RevocationMode) -> Fetchers | None:
        # Without revocation checking nothing is downloaded, not even an
        # issuer certificate: the caller asked for an offline check.
        if revocation == "off":
            return None
        return build_fetchers(
            ocsp=self.ocsp,
            crls=self.fetch_crls,
            issuers=self.fetch_issuers,
            timeout=self.timeout,
            allow_private=self.allow_private_fetch,
            crl_fetcher_factory=self.crl_fetcher_factory,
        )

    def _context(
        self,
        *,
        at: dt.datetime | None,
        policy: RevocationCheckingPolicy,
        fetchers: Fetchers | None,
        other_certs: Sequence[x509.Certificate] = (),
        crls: Sequence[asn1_crl.CertificateList] = (),
        ocsps: Sequence[asn1_ocsp.OCSPResponse] = (),
    ) -> ValidationContext:
        with self._lock:
            roots = list(self._roots)
            others = [*self._intermediates, *other_certs]
            crl_list = [*self._crls, *crls]
        return ValidationContext(
            trust_roots=roots,
            other_certs=others,
            moment=at,
            crls=crl_list,
            ocsps=list(ocsps),
            allow_fetching=fetchers is not None,
            fetchers=fetchers,
            # For a past moment, a CRL or OCSP response issued later is the
            # evidence that the certificate was not revoked *then*
            # (ETSI EN 319 102-1 §5.2.5); the caveat is certificateHold,
            # which Russian CAs do not use for qualified certificates.
            revinfo_policy=CertRevTrustPolicy(
                policy, retroactive_revinfo=at is not None
            ),
            algorithm_usage_policy=self._algorithm_policy(),
            signature_validator=_SIGNATURE_VALIDATOR,
        )

    def validation_context(
        self,
        *,
        at: dt.datetime | None = None,
        revocation: RevocationMode = "soft",
        other_certs: Iterable[CertificateInput] = (),
        crls: Iterable[bytes | asn1_crl.CertificateList] = (),
        ocsps: Iterable[bytes | asn1_ocsp.OCSPResponse] = (),
    ) -> ValidationContext:
        """A pyhanko-certvalidator context for pyHanko's own CMS/PDF validation.

        The revocation mode maps to the closest single pyHanko policy (``soft`` →
        ``soft-fail``, ``hard`` → ``hard-fail``, ``require`` → ``require``,
        ``off`` → none); :func:`validate_certificate` adds a first pass that
        also uses CRL files for certificates declaring no distribution point.

        :param at: validation moment (aware); ``None`` for the current time.
        :param other_certs: extra certificates (for example from a CMS).
        :param crls: extra CRLs (for example embedded in a PDF DSS).
        :param ocsps: OCSP responses (for example embedded in a PDF DSS).
        """
        _check_aware(at)
        return self._context(
            at=at,
            policy=single_pass_policy(check_mode(revocation)),
            fetchers=self._fetchers(check_mode(revocation)),
            other_certs=[_as_certificate(c, "certificate") for c in other_certs],
            crls=[c for item in crls for c in _as_crls(item, "CRL")],
            ocsps=[
                o
                if isinstance(o, asn1_ocsp.OCSPResponse)
                else asn1_ocsp.OCSPResponse.load(o)
                for o in ocsps
            ],
        )

    def revocation_dates(
        self, cert: x509.Certificate, crls: Iterable[asn1_crl.CertificateList] = ()
    ) -> list[dt.datetime]:
        """Revocation dates of ``cert`` listed in ``crls`` (default: the store's).

        The serial index of each of the store's own CRLs is kept, so that a
        large CRL is scanned once.
        """
        with self._lock:
            local = list(self._crls)
        own = {id(c) for c in local}
        dates = []
        for crl_ in crls or local:
            if crl_["tbs_cert_list"]["issuer"] != cert.issuer:
                continue
            index = self._revoked_index.get(crl_.sha256) if id(crl_) in own else None
            if index is None:
                index = {
                    entry["user_certificate"].native: entry["revocation_date"].native
                    for entry in crl_["tbs_cert_list"]["revoked_certificates"]
                }
                if id(crl_) in own:
                    self._revoked_index[crl_.sha256] = index
            if cert.serial_number in index:
                dates.append(index[cert.serial_number])
        return dates


def _check_aware(at: dt.datetime | None) -> None:
    if at is not None and at.utcoffset() is None:
        raise ValueError(
            "'at' must be an aware datetime (for example datetime.now(UTC))"
        )


# --------------------------------------------------------------------------
# Translating pyhanko-certvalidator's outcome


def _label(info: CertificateInfo) -> str:
    return info.subject_cn or info.subject


def _whose(info: CertificateInfo, is_leaf: bool) -> str:
    return "сертификата" if is_leaf else f"сертификата УЦ «{_label(info)}»"


def _cert_details(info: CertificateInfo) -> dict[str, object]:
    return {
        "certificate": info.subject,
        "serial": info.serial_hex,
        "sha256": info.sha256,
    }


_POSITION = re.compile(r"intermediate certificate (\d+)")


def _failing_cert(err: PathValidationError) -> tuple[x509.Certificate | None, bool]:
    """The certificate an error is about and whether it is the end entity."""
    path = err.original_path
    if err.is_side_validation:
        return None, False
    match = _POSITION.search(str(err))
    try:
        if match:
            return path[int(match.group(1))], False
        if "trust anchor" in str(err):
            return path[0], False
    except (IndexError, LookupError):
        return None, False
    return path.get_ee_cert_safe(), True


def _is_unsupported_algorithm(cert: x509.Certificate) -> bool:
    """The certificate's signature or key is of an algorithm this library
    cannot check: a GOST key on a parameter set it does not know (or a 2001
    key on a TC26 set), or an algorithm asn1crypto does not know."""
    sig_oid = cert["signature_algorithm"]["algorithm"]
    spki = cert["tbs_certificate"]["subject_public_key_info"]
    key_oid = spki["algorithm"]["algorithm"].dotted
    is_gost_key = key_oid in gost.KEY_OIDS or key_oid == gost.OID_GOST2001
    if is_gost_key and gost.key_parameters(spki.dump()) is None:
        return True
    if sig_oid.dotted in gost.SIGNATURE_OIDS or sig_oid.dotted in gost.LEGACY_OIDS:
        return False
    return bool(sig_oid.native == sig_oid.dotted)


def _unsupported_reason(info: CertificateInfo, is_leaf: bool) -> Reason:
    algo = (
        info.public_key_algorithm
        if info.public_key_algorithm.startswith("gost")
        else info.signature_algorithm
    )
    if algo == "gost2001":
        message = (
            f"Алгоритм ГОСТ Р 34.10-2001 {_whose(info, is_leaf)} устарел "
            "(не применяется для квалифицированной подписи с 2019 г.), а его "
            f"ключ на параметрах {info.public_key_parameters or 'нет'} не "
            "поддерживается; проверить сертификат не удалось"
        )
    else:
        message = (
            f"Алгоритм {algo} {_whose(info, is_leaf)} не поддерживается "
            f"(параметры ключа: {info.public_key_parameters or 'нет'}); "
            "проверить сертификат не удалось"
        )
    return Reason(
        ReasonCode.UNSUPPORTED_ALGORITHM,
        message,
        {**_cert_details(info), "algorithm": algo},
    )


#: Why a GOST R 34.10-2001 signature is not plainly valid (EN 319 102-1
#: §5.2.8: the algorithm fails the cryptographic constraints; without a proof
#: of existence from before its withdrawal, CRYPTO_CONSTRAINTS_FAILURE_NO_POE).
GOST2001_OBSOLETE_MESSAGE = (
    "Подпись сделана устаревшим алгоритмом ГОСТ Р 34.10-2001 "
    "(выведен из употребления с 2019 года)"
)


def _obsolete_algorithm_reasons(chain: Sequence[x509.Certificate]) -> list[Reason]:
    """WEAK_ALGORITHM for each GOST R 34.10-2001 signature the path relies on
    (a certificate's, except the trust anchor's own) and for a 2001 leaf key:
    they verify, but the algorithm is withdrawn."""
    reasons = []
    for index, cert in enumerate(chain):
        sig_oid = cert["signature_algorithm"]["algorithm"].dotted
        key_oid = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"][
            "algorithm"
        ].dotted
        is_anchor = index == len(chain) - 1 and index > 0
        signed_2001 = sig_oid in gost.SIGNATURE_OIDS_2001 and not is_anchor
        if signed_2001 or (index == 0 and key_oid == gost.OID_GOST2001):
            info = info_from_asn1(cert)
            what = "Подпись" if signed_2001 else "Ключ"
            reasons.append(
                Reason(
                    ReasonCode.WEAK_ALGORITHM,
                    f"{what} {_whose(info, index == 0)}: "
                    + GOST2001_OBSOLETE_MESSAGE[0].lower()
                    + GOST2001_OBSOLETE_MESSAGE[1:],
                    {**_cert_details(info), "algorithm": "gost2001"},
                )
            )
    return reasons


def _walk_to_anchor(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """The chain as far as issuer names lead (for explaining a missing path)."""
    chain = [leaf]
    current = leaf
    while current.self_signed not in {"yes", "maybe"} and len(chain) < 16:
        issuers = [c for c in pool if c.subject == current.issuer and c not in chain]
        if current.authority_key_identifier:
            by_key = [
                c
                for c in issuers
                if c.key_identifier == current.authority_key_identifier
            ]
            issuers = by_key or issuers
        if not issuers:
            break
        current = issuers[0]
        chain.append(current)
    return chain


def _path_building_reason(
    leaf: x509.Certificate, trust: TrustStore, extra: Sequence[x509.Certificate]
) -> tuple[Reason, list[x509.Certificate]]:
    with trust._lock:
        pool = [*trust._roots, *trust._intermediates, *extra]
    chain = _walk_to_anchor(leaf, pool)
    top = chain[-1]
    top_info = info_from_asn1(top)
    if top.self_signed in {"yes", "maybe"} and not trust.is_trusted_root(top):
        return (
            Reason(
                ReasonCode.UNTRUSTED_ROOT,
                f"Корневой сертификат «{_label(top_info)}» "
                "не входит в список доверенных",
                _cert_details(top_info),
            ),
            chain,
        )
    if top.self_signed not in {"yes", "maybe"}:
        missing = _asn1.readable_name(top.issuer)
        return (
            Reason(
                ReasonCode.CHAIN_INCOMPLETE,
                f"Цепочка не построена: нет сертификата издателя «{missing}»",
                {"missing_issuer": missing, **_cert_details(top_info)},
            ),
            chain,
        )
    return (
        Reason(
            ReasonCode.NO_PATH,
            "Не удалось построить цепочку до доверенного корневого сертификата",
            _cert_details(top_info),
        ),
        chain,
    )


def _reasons_from_error(
    err: Exception,
    *,
    leaf_info: CertificateInfo,
    trust: TrustStore,
    extra: Sequence[x509.Certificate],
    leaf: x509.Certificate,
    as_warning: bool = False,
) -> tuple[list[Reason], list[x509.Certificate] | None]:
    """Reasons for a pyhanko-certvalidator exception, and the chain it concerns."""
    text = str(err)
    if isinstance(err, PathBuildingError):
        reason, chain = _path_building_reason(leaf, trust, extra)
        return [reason], chain
    if isinstance(err, InvalidCertificateError):
        # find_valid_path: a self-signed certificate that is no trust anchor.
        if "self-signed" in text:
            return [
                Reason(
                    ReasonCode.UNTRUSTED_ROOT,
                    "Сертификат самоподписанный и не входит в список доверенных",
                    _cert_details(leaf_info),
                )
            ], [leaf]
        return [
            Reason(ReasonCode.OTHER, f"Сертификат не прошёл проверку: {text}", {})
        ], None
    if not isinstance(err, PathValidationError):
        return [
            Reason(ReasonCode.OTHER, f"Сертификат не прошёл проверку: {text}", {})
        ], None

    chain = list(reversed(list(err.original_path.iter_certs(include_root=True))))
    failing, is_leaf = _failing_cert(err)
    info = info_from_asn1(failing) if failing is not None else leaf_info
    whose = _whose(info, is_leaf)
    details = {**_cert_details(info), "error": text}

    if isinstance(err, RevokedError):
        revoked_at = err.revocation_dt
        reason_name = err.reason.native or "unspecified"
        subject = "Сертификат" if is_leaf else f"Сертификат УЦ «{_label(info)}»"
        return [
            Reason(
                ReasonCode.REVOKED,
                f"{subject} отозван {format_date_ru(revoked_at)} "
                f"({crl_reason_ru(reason_name)})",
                {
                    **details,
                    "revoked_at": revoked_at.isoformat(),
                    "reason": reason_name,
                    "source": "ocsp" if "OCSP" in text else "crl",
                },
            )
        ], chain
    if isinstance(err, ExpiredError):
        return [
            Reason(
                ReasonCode.EXPIRED,
                f"Срок действия {whose} истёк {format_date_ru(err.expired_dt)}",
                {**details, "not_after": err.expired_dt.isoformat()},
            )
        ], chain
    if isinstance(err, NotYetValidError):
        return [
            Reason(
                ReasonCode.NOT_YET_VALID,
                f"Срок действия {whose} ещё не начался "
                f"(начнётся {format_date_ru(err.valid_from)})",
                {**details, "not_before": err.valid_from.isoformat()},
            )
        ], chain
    if isinstance(err, DisallowedAlgorithmError):
        return [
            Reason(
                ReasonCode.WEAK_ALGORITHM,
                f"Подпись {whose} сделана ненадёжным алгоритмом "
                f"({info.signature_algorithm})",
                {**details, "algorithm": info.signature_algorithm},
                is_warning=as_warning,
            )
        ], chain
    if isinstance(err, StaleRevinfoError):
        return [
            Reason(
                ReasonCode.CRL_EXPIRED,
                f"Сведения об отзыве {whose} устарели "
                "(истёк срок действия СОС или ответа OCSP)",
                details,
                is_warning=as_warning,
            )
        ], chain
    if isinstance(err, InsufficientRevinfoError):
        if re.search(
            r"signature|not authori[sz]ed|responder", text, re.IGNORECASE
        ) and ("could not be found" not in text):
            return [
                Reason(
                    ReasonCode.CRL_INVALID,
                    f"Сведения об отзыве {whose} недействительны "
                    "(неверная подпись СОС или ответа OCSP)",
                    details,
                    is_warning=as_warning,
                )
            ], chain
        return [
            Reason(
                ReasonCode.REVOCATION_UNAVAILABLE,
                f"Не удалось получить сведения об отзыве {whose}",
                details,
                is_warning=as_warning,
            )
        ], chain
    if re.search(r"signature .*could not be verified|signature parameters", text):
        if failing is not None and _is_unsupported_algorithm(failing):
            return [_unsupported_reason(info, is_leaf)], chain
        return [
            Reason(
                ReasonCode.BAD_CHAIN_SIGNATURE,
                f"Подпись {whose} неверна: цепочка повреждена или подделана",
                details,
            )
        ], chain
    patterns: list[tuple[str, str, str]] = [
        (
            "issuer name could not be matched",
            ReasonCode.NO_PATH,
            f"Издатель {whose} не совпадает с владельцем сертификата УЦ",
        ),
        (
            "namespace",
            ReasonCode.NAME_CONSTRAINTS,
            f"Имя {whose} нарушает ограничения имён (name constraints) УЦ",
        ),
        (
            "polic",
            ReasonCode.POLICY,
            f"Политики применения {whose} не удовлетворяют требованиям цепочки",
        ),
        (
            "is not a CA",
            ReasonCode.CA_NOT_ALLOWED,
            f"Сертификат «{_label(info)}» не является сертификатом УЦ, "
            "но выпустил сертификат",
        ),
        (
            "not allowed to sign certificates",
            ReasonCode.CA_NOT_ALLOWED,
            f"Ключ {whose} не предназначен для подписи сертификатов (keyCertSign)",
        ),
        (
            "maximum path length",
            ReasonCode.PATH_LENGTH,
            "Цепочка длиннее, чем разрешает ограничение pathLenConstraint УЦ",
        ),
        (
            "critical extension",
            ReasonCode.UNSUPPORTED_EXTENSION,
            f"В {whose[:-1]}е есть неизвестное критическое расширение",
        ),
    ]
    for needle, code, message in patterns:
        if needle in text:
            return [Reason(code, message, details)], chain
    return [
        Reason(ReasonCode.OTHER, f"Сертификат не прошёл проверку: {text}", details)
    ], chain


def _leaf_reasons(
    leaf: x509.Certificate,
    info: CertificateInfo,
    *,
    at: dt.datetime,
    usage: Usage,
    trust: TrustStore,
) -> list[Reason]:
    """Checks of the certificate itself, made whatever happens to its path."""
    reasons: list[Reason] = []
    details = _cert_details(info)
    if at < info.not_before:
        reasons.append(
            Reason(
                ReasonCode.NOT_YET_VALID,
                "Срок действия сертификата ещё не начался "
                f"(начнётся {format_date_ru(info.not_before)})",
                {**details, "not_before": info.not_before.isoformat()},
            )
        )
    elif at > info.not_after:
        reasons.append(
            Reason(
                ReasonCode.EXPIRED,
                f"Срок действия сертификата истёк {format_date_ru(info.not_after)}",
                {**details, "not_after": info.not_after.isoformat()},
            )
        )
    # RFC 5280 §4.2.1.3: a signature key needs digitalSignature or
    # nonRepudiation (contentCommitment); no KeyUsage means no restriction.
    if (
        usage in ("signing", "timestamping")
        and info.key_usage
        and not ({"digital_signature", "non_repudiation"} & set(info.key_usage))
    ):
        reasons.append(
            Reason(
                ReasonCode.KEY_USAGE,
                "Ключ сертификата не предназначен для электронной подписи "
                "(нет digitalSignature/nonRepudiation в KeyUsage)",
                {**details, "key_usage": list(info.key_usage)},
            )
        )
    if usage == "timestamping" and "time_stamping" not in info.extended_key_usage:
        reasons.append(
            Reason(
                ReasonCode.KEY_USAGE,
                "Сертификат не выдан службе штампов времени (нет назначения "
                "id-kp-timeStamping в ExtendedKeyUsage)",
                {**details, "extended_key_usage": list(info.extended_key_usage)},
            )
        )
    minimum = {"rsa": trust.min_rsa_bits, "dsa": trust.min_dsa_bits}.get(
        info.public_key_algorithm
    )
    if minimum and info.key_size is not None and info.key_size < minimum:
        reasons.append(
            Reason(
                ReasonCode.WEAK_ALGORITHM,
                "Ключ сертификата слишком короткий: "
                f"{info.public_key_algorithm.upper()} "
                f"{info.key_size} бит (нужно не менее {minimum})",
                {
                    **details,
                    "algorithm": info.public_key_algorithm,
                    "key_size": info.key_size,
                },
            )
        )
    try:
        hash_algo = leaf["signature_algorithm"].hash_algo
    except ValueError:
        hash_algo = None
    if hash_algo in trust.weak_hash_algorithms:
        reasons.append(
            Reason(
                ReasonCode.WEAK_ALGORITHM,
                "Подпись сертификата сделана ненадёжным алгоритмом "
                f"({info.signature_algorithm})",
                {**details, "algorithm": info.signature_algorithm},
            )
        )
    if _is_unsupported_algorithm(leaf):
        reasons.append(_unsupported_reason(info, True))
    return reasons


def _merge(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    """Drop repeats (the same code about the same certificate); errors first."""
    seen: set[tuple[object, ...]] = set()
    merged = []
    for reason in sorted(reasons, key=lambda r: r.is_warning):
        key = (
            reason.code,
            reason.details.get("certificate"),
            reason.code == "weak_algorithm" and reason.details.get("algorithm"),
        )
        if key in seen:
            continue
        seen.add(key)
        merged.append(reason)
    return tuple(merged)


@dataclass(frozen=True)
class _Revinfo:
    """Revocation data handed in by the caller (embedded in a signature)."""

    crls: tuple[asn1_crl.CertificateList, ...]
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...]
    key: str

    @classmethod
    def of(
        cls,
        crls: Iterable[bytes | asn1_crl.CertificateList],
        ocsps: Iterable[bytes | asn1_ocsp.OCSPResponse],
    ) -> _Revinfo:
        crl_list = tuple(c for item in crls for c in _as_crls(item, "CRL"))
        try:
            ocsp_list = tuple(
                o
                if isinstance(o, asn1_ocsp.OCSPResponse)
                else asn1_ocsp.OCSPResponse.load(o)
                for o in ocsps
            )
        except (ValueError, TypeError) as exc:
            raise CertificateFormatError(f"unreadable OCSP response: {exc}") from None
        digest = hashlib.sha256()
        for item in sorted(
            hashlib.sha256(c.dump()).digest() for c in (*crl_list, *ocsp_list)
        ):
            digest.update(item)
        return cls(
            crl_list, ocsp_list, digest.hexdigest() if crl_list or ocsp_list else ""
        )


def _evidence(
    chain: Sequence[x509.Certificate], outcome: _PathOutcome | None
) -> LongTermData:
    """The certificates and revocation data a validation relied on, to embed
    in a signature as its long-term validation data (ETSI EN 319 122-1 §5.5,
    EN 319 142-1 §5.4): the chain, the CRLs its issuers published and the OCSP
    responses about its members."""
    certs = tuple(c.dump() for c in chain)
    if outcome is None or outcome.context is None or outcome.path is None:
        return LongTermData(certificates=certs)
    manager = outcome.context.revinfo_manager
    issuers = {c.issuer.dump() for c in chain}
    crls = []
    for item in manager.crls:
        if item["tbs_cert_list"]["issuer"].dump() in issuers:
            crls.append(item.dump())
    ocsps = []
    for response in manager.ocsps:
        status = ocsp_status_for([response], chain[0])
        if status is not None or any(
            ocsp_status_for([response], c) is not None for c in chain[1:]
        ):
            ocsps.append(response.dump())
    return LongTermData(
        certificates=certs,
        crls=tuple(dict.fromkeys(crls)),
        ocsp_responses=tuple(dict.fromkeys(ocsps)),
    )


@dataclass
class _PathOutcome:
    context: ValidationContext | None
    path: ValidationPath | None
    error: Exception | None
    tolerated: list[Exception]


async def _validate_path(
    leaf: x509.Certificate,
    trust: TrustStore,
    *,
    at: dt.datetime | None,
    mode: RevocationMode,
    extra: Sequence[x509.Certificate],
    fetchers: Fetchers | None,
    revinfo: _Revinfo,
) -> _PathOutcome:
    async def attempt(policy: RevocationCheckingPolicy) -> _PathOutcome:
        context = trust._context(
            at=at,
            policy=policy,
            fetchers=fetchers,
            other_certs=extra,
            crls=revinfo.crls,
            ocsps=revinfo.ocsps,
        )
        validator = CertificateValidator(leaf, validation_context=context)
        try:
            path = await validator.async_validate_path()
        except (ValidationError, PathBuildingError) as exc:
            return _PathOutcome(context, None, exc, [])
        return _PathOutcome(context, path, None, [])

    strict = primary_policy(mode)
    outcome = await attempt(strict)
    fallback = fallback_policy(mode)
    if fallback is None:
        return outcome
    tolerated: list[Exception] = []
    # Relax the rule first for the CA certificates, then for the end entity
    # (pyHanko distinguishes only these two), so that a revocation found in a
    # CRL file for the end entity is never lost because a CA lacked data.
    ee_rule, ca_rule = strict.ee_certificate_rule, strict.intermediate_ca_cert_rule
    for _ in range(2):
        err = outcome.error
        if not isinstance(err, InsufficientRevinfoError):
            break
        if err.is_ee_cert and not err.is_side_validation:
            ee_rule = fallback.ee_certificate_rule
        elif ca_rule != fallback.intermediate_ca_cert_rule:
            ca_rule = fallback.intermediate_ca_cert_rule
        else:
            ee_rule = fallback.ee_certificate_rule
        tolerated.append(err)
        outcome = await attempt(RevocationCheckingPolicy(ee_rule, ca_rule))
    outcome.tolerated = tolerated if outcome.error is None else []
    return outcome


async def _leaf_revocation(
    outcome: _PathOutcome,
    leaf: x509.Certificate,
    mode: RevocationMode,
    fetchers: Fetchers | None,
) -> RevocationInfo:
    """What pyHanko's successful check relied on for the end entity."""
    if mode == "off" or outcome.context is None or outcome.path is None:
        return RevocationInfo("unchecked")
    context, path = outcome.context, outcome.path
    if get_ocsp_urls(leaf) or context.ocsps:
        try:
            await verify_ocsp_response(leaf, path, context)
            return RevocationInfo("good", "ocsp")
        except (OCSPValidationError, ValidationError, ValueError):
            pass
    has_crl, _has_ocsp = get_declared_revinfo(leaf)
    if context.crls or has_crl:
        try:
            await verify_crl(leaf, path, context)
            return RevocationInfo("good", "crl")
        except (CRLValidationError, ValidationError, ValueError):
            pass
    return RevocationInfo("unchecked")


def _failed_revocation(
    reasons: Sequence[Reason],
    leaf: x509.Certificate,
    fetchers: Fetchers | None,
    leaf_info: CertificateInfo,
) -> RevocationInfo | None:
    for reason in reasons:
        if (
            reason.code == ReasonCode.REVOKED
            and reason.details.get("sha256") == leaf_info.sha256
        ):
            return RevocationInfo(
                "revoked",
                reason.details.get("source"),  # type: ignore[arg-type]
                dt.datetime.fromisoformat(str(reason.details["revoked_at"])),
                str(reason.details.get("reason")),
            )
    if fetchers is not None:
        status = ocsp_status_for(
            fetchers.ocsp_fetcher.fetched_responses_for_cert(leaf), leaf
        )
        if status is not None and status[0] == "unknown":
            return RevocationInfo("unknown", "ocsp")
    return None


def _ocsp_unknown_reason(leaf_info: CertificateInfo) -> Reason:
    return Reason(
        ReasonCode.REVOCATION_UNAVAILABLE,
        "Служба OCSP не знает этот сертификат (статус unknown)",
        {**_cert_details(leaf_info), "ocsp_status": "unknown"},
    )


def _ttl(
    trust: TrustStore,
    mode: RevocationMode,
    chain: Sequence[x509.Certificate],
    outcome: _PathOutcome | None,
    now: dt.datetime,
) -> float:
    ttl = OFFLINE_TTL if mode == "off" else REVOCATION_TTL
    if mode != "off":
        crls = trust.crls
        if outcome is not None and outcome.context is not None:
            crls = [
                c.crl_data
                for c in outcome.context.revinfo_manager.currently_available_crls()
            ]
        issuers = {c.issuer.dump() for c in chain}
        for crl_ in crls:
            if crl_["tbs_cert_list"]["issuer"].dump() not in issuers:
                continue
            next_update = crl_["tbs_cert_list"]["next_update"].native
            if next_update is not None:
                ttl = min(ttl, max(next_update - now, dt.timedelta(0)))
    return ttl.total_seconds()


def _boundaries(
    trust: TrustStore,
    chain: Sequence[x509.Certificate],
    outcome: _PathOutcome | None,
) -> tuple[dt.datetime, ...]:
    bounds: set[dt.datetime] = set()
    # The CRLs the validation could see: the store's and those downloaded.
    crls = (
        [c.crl_data for c in outcome.context.revinfo_manager.currently_available_crls()]
        if outcome is not None and outcome.context is not None
        else trust.crls
    )
    for cert in chain:
        validity = cert["tbs_certificate"]["validity"]
        bounds.add(validity["not_before"].native)
        bounds.add(validity["not_after"].native)
        bounds.update(trust.revocation_dates(cert, crls))
    return tuple(sorted(bounds))


async def async_validate_certificate(
    cert: CertificateInput,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
    usage: Usage = "signing",
    intermediates: Iterable[CertificateInput] = (),
    crls: Iterable[bytes | asn1_crl.CertificateList] = (),
    ocsps: Iterable[bytes | asn1_ocsp.OCSPResponse] = (),
) -> CertificateValidation:
    """Asynchronous twin of :func:`validate_certificate` (same arguments)."""
    leaf = to_asn1(cert)
    mode = check_mode(revocation)
    if usage not in ("signing", "any", "timestamping"):
        raise ValueError(
            f"usage must be 'signing', 'timestamping' or 'any', not {usage!r}"
        )
    _check_aware(at)
    extra = [to_asn1(c) for c in intermediates]
    revinfo = _Revinfo.of(crls, ocsps)
    moment = (at or _utcnow()).astimezone(dt.UTC)
    key = (
        leaf.sha256,
        trust.generation,
        mode,
        usage,
        tuple(sorted(c.sha256 for c in extra)),
        revinfo.key,
        # "Now" moves on: one entry per certificate, reused until its TTL or
        # the next validity/revocation boundary. An explicit moment shares an
        # entry with the moments of its 5-minute bucket.
        None if at is None else int(moment.timestamp() // TIME_BUCKET.total_seconds()),
    )
    entry = trust._cache.get(key, moment)
    if entry is not None:
        return dataclasses.replace(entry.result, validated_at=moment)

    generation = trust.generation
    result, chain, outcome = await _validate_uncached(
        leaf,
        trust,
        at=at,
        moment=moment,
        mode=mode,
        usage=usage,
        extra=extra,
        revinfo=revinfo,
    )
    if trust.generation == generation:
        trust._cache.put(
            key,
            _Entry(
                result=result,
                at=moment,
                boundaries=_boundaries(trust, chain, outcome),
                expires=time.monotonic() + _ttl(trust, mode, chain, outcome, _utcnow()),
            ),
        )
    return result


async def _validate_uncached(
    leaf: x509.Certificate,
    trust: TrustStore,
    *,
    at: dt.datetime | None,
    moment: dt.datetime,
    mode: RevocationMode,
    usage: Usage,
    extra: Sequence[x509.Certificate],
    revinfo: _Revinfo,
) -> tuple[CertificateValidation, list[x509.Certificate], _PathOutcome | None]:
    leaf_info = info_from_asn1(leaf)
    reasons = _leaf_reasons(leaf, leaf_info, at=moment, usage=usage, trust=trust)
    if _is_unsupported_algorithm(leaf):
        # GOST R 34.10-2001 and unknown algorithms cannot be checked: report
        # the certificate's own findings and stop, rather than claim a bad
        # chain.
        chain = [leaf]
        result = CertificateValidation(
            verdict=worst_verdict(*(r.verdict for r in reasons)),
            reasons=_merge(reasons),
            certificate=leaf_info,
            chain=(leaf_info,),
            revocation=None,
            validated_at=moment,
            qualified=leaf_info.qualified_status(None),
        )
        return result, chain, None

    fetchers = trust._fetchers(mode)
    outcome = await _validate_path(
        leaf,
        trust,
        at=at,
        mode=mode,
        extra=extra,
        fetchers=fetchers,
        revinfo=revinfo,
    )
    revocation: RevocationInfo | None
    if outcome.error is None and outcome.path is not None:
        chain = list(reversed(list(outcome.path.iter_certs(include_root=True))))
        for err in outcome.tolerated:
            found, _ = _reasons_from_error(
                err,
                leaf_info=leaf_info,
                trust=trust,
                extra=extra,
                leaf=leaf,
                as_warning=True,
            )
            reasons.extend(found)
        revocation = await _leaf_revocation(outcome, leaf, mode, fetchers)
        if mode != "off" and revocation.status == "unchecked" and not outcome.tolerated:
            reasons.append(
                Reason(
                    ReasonCode.REVOCATION_UNAVAILABLE,
                    "Сведения об отзыве сертификата не проверялись: "
                    "сертификат не указывает "
                    "источников (CRL, OCSP), списка отзыва нет",
                    _cert_details(leaf_info),
                    is_warning=True,
                )
            )
    else:
        assert outcome.error is not None
        found, path_chain = _reasons_from_error(
            outcome.error, leaf_info=leaf_info, trust=trust, extra=extra, leaf=leaf
        )
        reasons.extend(found)
        chain = path_chain or [leaf]
        revocation = _failed_revocation(reasons, leaf, fetchers, leaf_info)
        if revocation is not None and revocation.status == "unknown":
            reasons = [
                r for r in reasons if r.code != ReasonCode.REVOCATION_UNAVAILABLE
            ]
            reasons.append(_ocsp_unknown_reason(leaf_info))
        if revocation is None:
            revocation = RevocationInfo("unchecked") if mode == "off" else None
    if chain[0].sha256 != leaf.sha256:
        chain.insert(0, leaf)
    reasons.extend(_obsolete_algorithm_reasons(chain))
    merged = _merge([*reasons, *blocked_fetch_reasons(fetchers)])
    result = CertificateValidation(
        verdict=worst_verdict(*(r.verdict for r in merged)),
        reasons=merged,
        certificate=leaf_info,
        chain=tuple(info_from_asn1(c) for c in chain),
        revocation=revocation,
        validated_at=moment,
        evidence=_evidence(chain, outcome),
        qualified=leaf_info.qualified_status(_accredited_ca(trust, chain, merged)),
    )
    return result, chain, outcome


def _accredited_ca(
    trust: TrustStore, chain: Sequence[x509.Certificate], reasons: Sequence[Reason]
) -> str | None:
    """The accredited centre of the nearest CA in the chain, unless the chain
    is broken (a bad signature, or no path to a trust anchor): then nothing
    shows the certificate was issued by that centre."""
    broken = {
        ReasonCode.BAD_CHAIN_SIGNATURE,
        ReasonCode.NO_PATH,
        ReasonCode.UNTRUSTED_ROOT,
        ReasonCode.CHAIN_INCOMPLETE,
    }
    if any(r.code in broken and not r.is_warning for r in reasons):
        return None
    for cert in chain[1:]:
        name = trust.accredited_centre(cert)
        if name is not None:
            return name
    return None


def _run_sync(factory: Callable[[], Coroutine[object, object, _T]]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # Called from inside an event loop (for example pyHanko's async
    # validation): run on a private loop in a worker thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def validate_certificate(
    cert: CertificateInput,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
    usage: Usage = "signing",
    intermediates: Iterable[CertificateInput] = (),
    crls: Iterable[bytes | asn1_crl.CertificateList] = (),
    ocsps: Iterable[bytes | asn1_ocsp.OCSPResponse] = (),
) -> CertificateValidation:
    """Validate a certificate's path to a trust anchor, its validity and status.

    :param cert: the certificate (DER/PEM bytes, a cryptography or an
        asn1crypto certificate).
    :param trust: the trust anchors, intermediates, CRLs and network settings.
    :param at: the moment to validate for (aware datetime); ``None`` is now.
        For a past moment, revocation data issued later is accepted as
        evidence.
    :param revocation: ``off``, ``soft`` (default), ``hard`` or ``require``;
        see :mod:`signing.revocation`.
    :param usage: ``signing`` also requires digitalSignature or nonRepudiation
        in KeyUsage; ``any`` does not look at KeyUsage.
    :param intermediates: more certificates for path building (for example
        those embedded in a signature); they are not trusted by themselves.
    :param crls: more CRLs, for example the long-term validation data embedded
        in a signature (CAdES -LT, a PDF's DSS).
    :param ocsps: OCSP responses, likewise.
    :return: a :class:`~signing.reports.CertificateValidation`; problems with
        the certificate are data in it, never exceptions.
    :raises CertificateFormatError: ``cert`` or an intermediate cannot be read.
    :raises ValueError: an unknown mode or usage, or a naive ``at``.
    """
    intermediates = list(intermediates)
    crl_list, ocsp_list = list(crls), list(ocsps)
    return _run_sync(
        lambda: async_validate_certificate(
            cert,
            trust,
            at=at,
            revocation=revocation,
            usage=usage,
            intermediates=intermediates,
            crls=crl_list,
            ocsps=ocsp_list,
        )
    )
