"""Where the private key lives: in memory (PKCS#12; a GOST key from PKCS#8 or
PKCS#12), on a token (PKCS#11), or with the user (external two-phase signing,
the key never reaches the server).

A :class:`Signer` holds a certificate, the chain to embed beside it, and makes
raw signatures (``sign_raw``) over the DER of the signed attributes. The CMS and
PAdES code above it is the same for every signer.

Two-phase signing (:class:`signing.external.ExternalSigner`): ``prepare_*``
returns a :class:`PreparedSignature` whose ``to_be_signed`` bytes the client
signs (for example with WebCrypto); ``complete`` embeds the raw signature value
and returns the finished ``.sig`` or PDF. The prepared state serialises to
JSON, so a web application can keep it between two requests. This module holds
the state and the certificate-only signer; the CMS and PAdES code builds on
them, and :mod:`signing.external` on that. A key on a token is
:class:`signing.pkcs11.Pkcs11Signer`.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import json
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

from signing import _cms_asn1 as der
from signing import gost
from signing.errors import (
    CertificateFormatError,
    KeyLoadError,
    SignatureFormatError,
    SigningError,
)

logger = logging.getLogger(__name__)

__all__ = [
    "GostSigner",
    "Pkcs12Signer",
    "PreparedSignature",
    "Signer",
]

_T = TypeVar("_T")


class Signer(abc.ABC):
    """A signing key with its certificate.

    :param certificate: the signer's certificate.
    :param chain: certificates to embed beside it (intermediates, root).
    :param rsa_pss: sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys only).
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        rsa_pss: bool = False,
    ) -> None:
        self.certificate = certificate
        self.chain: tuple[x509.Certificate, ...] = tuple(
            c for c in chain if c != certificate
        )
        self.rsa_pss = rsa_pss
        self._templates: dict[str, der.SignerTemplate] = {}

    def template_for(self, digest_algorithm: str) -> der.SignerTemplate:
        """The SignedData parts that depend on the signer and the digest only,
        computed once per digest (the CMS, PAdES and time-stamping code build
        every signature from them).

        :raises WeakAlgorithmError: MD5/SHA-1 or a key that is too short.
        """
        template = self._templates.get(digest_algorithm)
        if template is None:
            mechanism = der.mechanism_for(
                self.certificate, digest_algorithm, rsa_pss=self.rsa_pss
            )
            template = der.SignerTemplate.build(self.certificate, self.chain, mechanism)
            self._templates[digest_algorithm] = template
        return template

    def mechanism_for(self, digest_algorithm: str) -> der.Mechanism:
        """How this key signs with ``digest_algorithm`` (:meth:`template_for`)."""
        return self.template_for(digest_algorithm).mechanism

    @property
    def default_digest(self) -> str:
        """What the key signs with unless told otherwise: ``sha256``, or for a
        GOST R 34.10-2012 key ``streebog256``/``streebog512`` (RFC 9215 §3)."""
        return der.default_digest_for(self.certificate)

    @abc.abstractmethod
    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` (hash-then-sign with ``digest_algorithm``).

        :return: the raw signature value as CMS carries it (DER for ECDSA).
        :raises WeakAlgorithmError: MD5/SHA-1 or a key that is too short.
        """

    async def async_sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Asynchronous :meth:`sign_raw` (a thread, so a slow token does not
        block the event loop)."""
        return await asyncio.to_thread(self.sign_raw, data, digest_algorithm)


def _same_public_key(key: object, certificate: x509.Certificate) -> bool:
    if isinstance(key, gost.GostPrivateKey):
        return der.public_key_of(certificate) == key.public_key()
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return False
    try:
        cert_key = certificate.public_key()
    except (ValueError, TypeError):
        return False
    fmt = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return bool(key.public_key().public_bytes(*fmt) == cert_key.public_bytes(*fmt))


class Pkcs12Signer(Signer):
    """A key held in memory, usually loaded from a PKCS#12 (``.p12``/``.pfx``) file.

    The key is loaded (and checked) once; every signature reuses it.
    """

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        rsa_pss: bool = False,
    ) -> None:
        if not _same_public_key(key, certificate):
            raise KeyLoadError("the private key does not match the certificate")
        super().__init__(certificate, chain, rsa_pss=rsa_pss)
        self._key = key

    @classmethod
    def load(
        cls, data: bytes, password: str | bytes | None, *, rsa_pss: bool = False
    ) -> Pkcs12Signer:
        """Open a PKCS#12 file.

        :raises KeyLoadError: wrong password, a damaged file, or a file without
            a key and its certificate.
        """
        secret = password.encode("utf-8") if isinstance(password, str) else password
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, secret or None)
        except ValueError as exc:
            # cryptography says "Invalid password or PKCS12 data" for both.
            raise KeyLoadError(
                "cannot open the PKCS#12 file: wrong password or a damaged file"
            ) from exc
        except TypeError as exc:
            raise KeyLoadError(f"cannot open the PKCS#12 file: {exc}") from exc
        if key is None or cert is None:
            raise KeyLoadError(
                "the PKCS#12 file holds no private key with its certificate"
            )
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyLoadError(f"keys of type {type(key).__name__} cannot sign here")
        return cls(key, cert, list(extra), rsa_pss=rsa_pss)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        return der.sign_with_key(self._key, self.mechanism_for(digest_algorithm), data)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        # In-memory signing is fast; a thread would cost more than it saves.
        return self.sign_raw(data, digest_algorithm)


def _load_certificate_input(value: x509.Certificate | bytes) -> x509.Certificate:
    try:
        return _load_cert(value)
    except CertificateFormatError as exc:
        raise KeyLoadError(f"the certificate cannot be read: {exc}") from None


class GostSigner(Signer):
    """A GOST R 34.10-2012 key held in memory (:mod:`signing.gost`).

    For keys made by OpenSSL with the GOST engine (``openssl genpkey -engine
    gost -algorithm gost2012_256 -pkeyopt paramset:A``) and exported as PKCS#8
    or PKCS#12; a qualified person's key lives on a token
    (:class:`Pkcs11Signer`). It signs Streebog-256 (256-bit keys) or
    Streebog-512 (512-bit keys) and nothing else.

    :raises KeyLoadError: the key does not match the certificate.
    """

    def __init__(
        self,
        key: gost.GostPrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if not _same_public_key(key, certificate):
            raise KeyLoadError("the private key does not match the certificate")
        super().__init__(certificate, chain)
        self._key = key

    @classmethod
    def load(
        cls,
        key: bytes,
        certificate: x509.Certificate | bytes,
        chain: Sequence[x509.Certificate | bytes] = (),
        *,
        password: str | bytes | None = None,
    ) -> GostSigner:
        """A key from PKCS#8 (PEM or DER, plain or PBES2-encrypted) with its
        certificate (object, DER or PEM).

        :raises KeyLoadError: not a GOST R 34.10-2012 key, a wrong password, a
            certificate that cannot be read or does not match.
        """
        try:
            private = gost.load_private_key(key, password)
        except gost.GostKeyError as exc:
            raise KeyLoadError(f"cannot load the GOST key: {exc}") from None
        return cls(
            private,
            _load_certificate_input(certificate),
            [_load_certificate_input(c) for c in chain],
        )

    @classmethod
    def load_pkcs12(cls, data: bytes, password: str | bytes | None) -> GostSigner:
        """Open a PKCS#12 file with a GOST key, as OpenSSL 3 writes it
        (``openssl pkcs12 -export`` with the GOST engine: PBES2, AES-256).

        :raises KeyLoadError: wrong password, no GOST key, or a TC26 "GOST
            PFX" protected with GOST ciphers (not supported).
        """
        try:
            private, cert_der, others = gost.load_pkcs12(data, password)
        except gost.GostKeyError as exc:
            raise KeyLoadError(str(exc)) from None
        return cls(
            private,
            _load_certificate_input(cert_der),
            [_load_certificate_input(c) for c in others],
        )

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        return der.sign_with_key(self._key, self.mechanism_for(digest_algorithm), data)

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a Streebog digest computed elsewhere (GOST R 34.10-2012 signs a
        digest, not data: §6.1 step 1 is the caller's). The digest is the
        Streebog of the key's size, in CMS byte order.

        :return: the signature value as CMS carries it, ``s || r`` (RFC 4491
            §2.2.2).
        :raises SigningError: a digest of another length than the key's.
        """
        if len(digest) != self._key.curve.size:
            raise SigningError(
                f"a GOST R 34.10-2012 ({self._key.bits}) key signs a "
                f"{self._key.curve.size}-byte Streebog digest, got {len(digest)} bytes"
            )
        return self._key.sign_digest(digest)


# --------------------------------------------------------------------------
# Two-phase (external) signing
# --------------------------------------------------------------------------

_STATE_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureFormatError(f"damaged signing state: no field {name!r}")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise SignatureFormatError(f"damaged signing state: field {name!r}") from None


@dataclass(frozen=True)
class PreparedSignature:
    """The first half of a two-phase signature.

    Give ``to_be_signed`` to the signing party; keep the whole object (it is
    JSON-serialisable: :meth:`to_json`) until the signature value comes back,
    then call :meth:`ExternalSigner.complete`.

    Keep the state on the server (database, session store), not in the
    client: ``complete`` checks the signature value against the state's own
    certificate, and for PDFs that the prepared document still matches the
    signed digest, but it cannot tell a state the server made from one a
    client forged with its own certificate.
    """

    kind: str
    """``"cms"`` (a detached ``.sig``) or ``"pdf"`` (PAdES)."""

    to_be_signed: bytes
    """The DER of the signed attributes (``SET OF Attribute``): sign these bytes
    as they are (the signing algorithm hashes them)."""

    digest_algorithm: str
    """``sha256``, ``sha384`` or ``sha512``."""

    signature_algorithm: dict[str, str | int]
    """WebCrypto ``sign()`` parameters, e.g.
    ``{"name": "ECDSA", "hash": "SHA-256"}``."""

    certificate: bytes
    chain: tuple[bytes, ...]
    rsa_pss: bool
    document: bytes = b""
    """PDF only: the document with the signature placeholder (the prepared
    incremental update)."""

    reserved_region: tuple[int, int] = (0, 0)
    tsa_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def data_to_sign_digest(self) -> bytes:
        """The hash of :attr:`to_be_signed`, for signers that take a digest."""
        return der.DIGESTS[self.digest_algorithm].digest(self.to_be_signed)

    def to_json(self) -> str:
        """A JSON document that :meth:`from_json` turns back into this object."""
        return json.dumps(
            {
                "v": _STATE_VERSION,
                "kind": self.kind,
                "to_be_signed": _b64(self.to_be_signed),
                "digest_algorithm": self.digest_algorithm,
                "signature_algorithm": self.signature_algorithm,
                "certificate": _b64(self.certificate),
                "chain": [_b64(c) for c in self.chain],
                "rsa_pss": self.rsa_pss,
                "document": _b64(self.document),
                "reserved_region": list(self.reserved_region),
                "tsa_url": self.tsa_url,
                "extra": self.extra,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    def to_bytes(self) -> bytes:
        return self.to_json().encode("utf-8")

    @classmethod
    def from_json(cls, data: str | bytes) -> PreparedSignature:
        """:raises SignatureFormatError: not a state made by :meth:`to_json`."""
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise SignatureFormatError("damaged signing state (not JSON)") from None
        if not isinstance(obj, dict) or obj.get("v") != _STATE_VERSION:
            raise SignatureFormatError("unknown signing state version")
        try:
            region = obj["reserved_region"]
            return cls(
                kind=str(obj["kind"]),
                to_be_signed=_unb64(obj["to_be_signed"], "to_be_signed"),
                digest_algorithm=str(obj["digest_algorithm"]),
                signature_algorithm=dict(obj["signature_algorithm"]),
                certificate=_unb64(obj["certificate"], "certificate"),
                chain=tuple(_unb64(c, "chain") for c in obj["chain"]),
                rsa_pss=bool(obj["rsa_pss"]),
                document=_unb64(obj["document"], "document"),
                reserved_region=(int(region[0]), int(region[1])),
                tsa_url=None if obj["tsa_url"] is None else str(obj["tsa_url"]),
                extra={str(k): str(v) for k, v in dict(obj.get("extra", {})).items()},
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise SignatureFormatError("damaged signing state") from None

    from_bytes = from_json


def _load_cert(value: x509.Certificate | bytes) -> x509.Certificate:
    if isinstance(value, x509.Certificate):
        return value
    try:
        if value.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(value)
        return x509.load_der_x509_certificate(value)
    except ValueError:
        raise CertificateFormatError("not an X.509 certificate") from None


class _StateSigner(Signer):
    """A :class:`Signer` with a certificate and no key: what two-phase
    signing knows about the signer."""

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:  # pragma: no cover
        raise SigningError("the key is external: the client signs, then complete()")


def certificate_signer(
    certificate: x509.Certificate | bytes,
    chain: Sequence[x509.Certificate | bytes] = (),
    *,
    rsa_pss: bool = False,
) -> Signer:
    """A signer with a certificate and no key: what two-phase signing knows
    about the signer (:class:`signing.external.ExternalSigner`).

    :param certificate: the signer's certificate (object, DER or PEM).
    :param chain: certificates to embed beside it.
    :raises CertificateFormatError: a certificate that cannot be read.
    """
    return _StateSigner(
        _load_cert(certificate), [_load_cert(c) for c in chain], rsa_pss=rsa_pss
    )


def state_signer(prepared: PreparedSignature) -> Signer:
    """The certificate-only signer a prepared state describes."""
    return certificate_signer(
        prepared.certificate, prepared.chain, rsa_pss=prepared.rsa_pss
    )


def accept_signature_value(
    signer: Signer, digest_algorithm: str, to_be_signed: bytes, value: bytes
) -> bytes:
    """Check an external signature value; return it as CMS carries it.

    :raises SigningError: it does not verify over ``to_be_signed``.
    """
    mechanism = signer.mechanism_for(digest_algorithm)
    algorithm = algos.SignedDigestAlgorithm.load(mechanism.algorithm_identifier)
    key = der.public_key_of(signer.certificate)
    for candidate in der.normalise_signature_value(mechanism, value):
        check = der.verify_signature(
            key,
            algorithm["algorithm"].dotted,
            algorithm["parameters"],
            mechanism.digest,
            candidate,
            to_be_signed,
        )
        if check.ok:
            return candidate
    raise SigningError(
        "the signature value does not verify with the certificate's public key: "
        "other data, another key or another algorithm was used "
        f"(expected {mechanism.webcrypto()} over to_be_signed)"
    )


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[_T] = []
    error: list[BaseException] = []

    def _target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=_target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
