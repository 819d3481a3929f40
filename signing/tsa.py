"""RFC 3161 time-stamps: an authority of our own, clients, and reading tokens.

A time-stamp token is the only proof of existence this library trusts for the
moment of a signature (ETSI EN 319 102-1 §5.6.2.2): it is a CMS SignedData by a
time-stamping authority over a TSTInfo that binds the digest of some data (a
signature value, a whole CMS, a PDF byte range) to the authority's clock.

* :class:`TimeStampAuthority` is an RFC 3161 server without the transport:
  :meth:`~TimeStampAuthority.respond` turns a DER ``TimeStampReq`` into a
  ``TimeStampResp``; :meth:`~TimeStampAuthority.timestamp` gives a token for
  data directly. Its key is any :class:`~signing.signers.Signer` (a PKCS#12
  file, a PKCS#11 token), so the embedded mode of an application can run its
  own authority offline and an HTTP endpoint can serve the same object.
* :class:`HttpTimestamper` asks a remote authority over HTTP
  (``application/timestamp-query``, RFC 3161 §3.4) and checks the answer
  (status, nonce, message imprint) before handing the token back.
* :func:`read_token` reads what a token says, without judging it;
  :func:`signing.cms.verify_timestamp_token` judges it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import httpx
from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing import _cms_asn1 as der
from signing.errors import SignatureFormatError, SigningError, TimestampError
from signing.signers import Signer

__all__ = [
    "HttpTimestamper",
    "TimeStampAuthority",
    "Timestamper",
    "TimestampInfo",
    "read_token",
]

#: RFC 3161 §2.4.1: the MIME types of a request and of a response.
QUERY_MIME = "application/timestamp-query"
REPLY_MIME = "application/timestamp-reply"
#: A request larger than this is not a time-stamp request (a SHA-512 imprint,
#: a nonce, a policy and extensions fit in well under a kilobyte).
MAX_REQUEST_SIZE = 4096


class Timestamper(Protocol):
    """Anything that returns an RFC 3161 token (DER ``ContentInfo``) for data."""

    def timestamp(self, data: bytes, *, digest: str = "sha256") -> bytes:
        """A token whose message imprint is ``digest(data)``.

        :raises SigningError: the authority could not be reached or refused.
        """
        ...  # pragma: no cover - a protocol

    def timestamp_digest(self, value: bytes, digest: str) -> bytes:
        """A token over an already computed digest ``value``."""
        ...  # pragma: no cover - a protocol

    def respond(self, request: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``."""
        ...  # pragma: no cover - a protocol

    @property
    def name(self) -> str:
        """Where tokens come from, for reports (a URL or the authority's name)."""
        ...  # pragma: no cover - a protocol


@dataclass(frozen=True)
class TimestampInfo:
    """What a token states (RFC 3161 §2.4.2 TSTInfo), not yet judged."""

    gen_time: dt.datetime
    #: The token's serial number, as hex (RFC 3161: unique per authority).
    serial_hex: str
    policy: str
    imprint_algorithm: str
    imprint: bytes
    #: The authority as it names itself (the ``tsa`` field, else the signer's
    #: certificate subject).
    tsa_name: str
    #: DER of the authority's certificate when the token carries it.
    tsa_certificate: bytes | None = field(repr=False)
    accuracy_seconds: float | None
    token_sha256: str

    def to_json(self) -> dict[str, object]:
        return {
            "gen_time": self.gen_time.isoformat(),
            "serial": self.serial_hex,
            "policy": self.policy,
            "imprint_algorithm": self.imprint_algorithm,
            "tsa": self.tsa_name,
            "accuracy_seconds": self.accuracy_seconds,
            "token_sha256": self.token_sha256,
        }


def _digest_spec(name: str) -> der.DigestSpec:
    # der.digest_spec refuses broken hashes and those this library cannot
    # compute; Streebog (GOST R 34.11-2012, signing.gost) it can, so a GOST
    # signature is time-stamped with its own hash where an authority asks.
    return der.digest_spec(name)


def _digest_algorithm(spec: der.DigestSpec) -> asn1_algos.DigestAlgorithm:
    """The imprint's AlgorithmIdentifier, encoded as the CMS writes it (the
    SHA-2 ones without parameters, RFC 5754 §2; Streebog with NULL, RFC 4490
    §2.1): asn1crypto knows no Streebog name, so it is loaded from the DER."""
    return asn1_algos.DigestAlgorithm.load(spec.algorithm_identifier)


def _name_text(name: asn1_x509.Name) -> str:
    try:
        common_name = name.native.get("common_name")
        if isinstance(common_name, str) and common_name:
            return common_name
        return str(name.human_friendly)
    except (ValueError, TypeError, KeyError):
        return str(name.sha256.hex())


def read_token(token: bytes) -> TimestampInfo:
    """Read a time-stamp token (DER ``ContentInfo`` with SignedData/TSTInfo).

    :raises SignatureFormatError: not a time-stamp token.
    """
    return _read_token(bytes(token))


# Sealing a signature reads each of its tokens several times (the signature's
# and the archive's, at every verification): the facts are immutable.
@lru_cache(maxsize=512)
def _read_token(token: bytes) -> TimestampInfo:
    signed_data = der.load_signed_data(token)
    try:
        eci = signed_data["encap_content_info"]
        if eci["content_type"].dotted != der.OID_TST_INFO:
            raise SignatureFormatError("the CMS structure is not a time-stamp token")
        tst = eci["content"].parsed
        if not isinstance(tst, asn1_tsp.TSTInfo):
            tst = asn1_tsp.TSTInfo.load(eci["content"].native)
        imprint = tst["message_imprint"]
        gen_time = tst["gen_time"].native
        if not isinstance(gen_time, dt.datetime):
            raise SignatureFormatError("the time-stamp token has no genTime")
        tsa_cert = _tsa_certificate(signed_data)
        tsa_field = tst["tsa"]
        if not isinstance(tsa_field, asn1_core.Void) and tsa_field.name == (
            "directory_name"
        ):
            tsa_name = _name_text(tsa_field.chosen)
        elif tsa_cert is not None:
            tsa_name = _name_text(asn1_x509.Certificate.load(tsa_cert).subject)
        else:
            tsa_name = ""
        accuracy = tst["accuracy"]
        seconds: float | None = None
        if not isinstance(accuracy, asn1_core.Void):
            seconds = float(accuracy["seconds"].native or 0) + (
                float(accuracy["millis"].native or 0) / 1000
                + float(accuracy["micros"].native or 0) / 1_000_000
            )
        algorithm = imprint["hash_algorithm"]["algorithm"]
        spec = der.DIGESTS_BY_OID.get(algorithm.dotted)
        return TimestampInfo(
            gen_time=gen_time.astimezone(dt.UTC),
            serial_hex=format(int(tst["serial_number"].native), "x"),
            policy=tst["policy"].dotted,
            imprint_algorithm=spec.name if spec else algorithm.dotted,
            imprint=bytes(imprint["hashed_message"].native),
            tsa_name=tsa_name,
            tsa_certificate=tsa_cert,
            accuracy_seconds=seconds,
            token_sha256=hashlib.sha256(der.decode_signature_bytes(token)).hexdigest(),
        )
    except SignatureFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise SignatureFormatError(f"damaged time-stamp token: {exc}") from None


def _tsa_certificate(signed_data: asn1_cms.SignedData) -> bytes | None:
    """The certificate that signed the token, when the token carries it."""
    certs = der.certificates_of(signed_data)
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        return None
    sid = signer_infos[0]["sid"]
    for cert_der in certs:
        cert = asn1_x509.Certificate.load(cert_der)
        if sid.name == "issuer_and_serial_number":
            chosen = sid.chosen
            # Bytes first: asn1crypto's Name equality normalises every string.
            if chosen["serial_number"].native == cert.serial_number and (
                chosen["issuer"].dump() == cert.issuer.dump()
                or chosen["issuer"] == cert.issuer
            ):
                return cert_der
        elif sid.chosen.native == cert.key_identifier:
            return cert_der
    return None


class TimeStampAuthority:
    """An RFC 3161 time-stamping authority around a signing key.

    :param signer: the authority's key and certificate; the certificate must
        carry the critical extended key usage id-kp-timeStamping only
        (RFC 3161 §2.3), which :meth:`respond` does not re-check.
    :param policy: the TSA policy OID put into every token (§2.4.2).
    :param digest: the digest the authority signs its tokens with.
    :param accuracy: the stated accuracy of the clock.
    :param clock: the time source (aware UTC); the system clock by default.
    """

    def __init__(
        self,
        signer: Signer,
        *,
        policy: str,
        digest: str = "sha256",
        accuracy: dt.timedelta = dt.timedelta(seconds=1),
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.signer = signer
        self.policy = policy
        self.digest = _digest_spec(digest).name
        self.accuracy = accuracy
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._last = 0
        subject = asn1_x509.Certificate.load(
            signer.certificate.public_bytes(Encoding.DER)
        ).subject
        self._tsa_name = asn1_x509.GeneralName(name="directory_name", value=subject)
        self.name = _name_text(subject)

    def _serial(self) -> int:
        """A unique serial: 64 random bits above a per-process counter, so two
        tokens of one process never share one and processes do not collide."""
        with self._lock:
            self._last += 1
            counter = self._last
        return (secrets.randbits(64) << 32) | (counter & 0xFFFFFFFF)

    def timestamp(self, data: bytes, *, digest: str = "sha256") -> bytes:
        spec = _digest_spec(digest)
        return self.timestamp_digest(spec.digest(data), spec.name)

    def timestamp_digest(self, value: bytes, digest: str) -> bytes:
        spec = _digest_spec(digest)
        if len(value) != spec.size:
            raise SigningError(
                f"a {spec.name} digest is {spec.size} bytes long, got {len(value)}"
            )
        imprint = asn1_tsp.MessageImprint(
            {
                "hash_algorithm": _digest_algorithm(spec),
                "hashed_message": value,
            }
        )
        return self._token(imprint, nonce=None, cert_req=True, policy=None)

    def _token(
        self,
        imprint: asn1_tsp.MessageImprint,
        *,
        nonce: int | None,
        cert_req: bool,
        policy: str | None,
    ) -> bytes:
        now = self._clock().astimezone(dt.UTC)
        accuracy_ms = int(self.accuracy.total_seconds() * 1000)
        fields: dict[str, object] = {
            "version": "v1",
            "policy": policy or self.policy,
            "message_imprint": imprint,
            "serial_number": self._serial(),
            # GeneralizedTime with a fraction when the clock has one (§2.4.2).
            "gen_time": now,
            "accuracy": {
                "seconds": accuracy_ms // 1000 or None,
                "millis": accuracy_ms % 1000 or None,
            },
            "ordering": False,
            "tsa": self._tsa_name,
        }
        if nonce is not None:
            fields["nonce"] = nonce
        tst_der = asn1_tsp.TSTInfo(fields).dump()
        template = self.signer.template_for(self.digest)
        spec = template.mechanism.digest
        attrs = der.der_set(
            [
                der.seq(
                    der.oid(der.OID_CONTENT_TYPE),
                    der.der_set([der.oid(der.OID_TST_INFO)]),
                ),
                der.seq(
                    der.oid(der.OID_SIGNING_TIME), der.der_set([der.cms_time(now)])
                ),
                der.seq(
                    der.oid(der.OID_MESSAGE_DIGEST),
                    der.der_set([der.octet_string(spec.digest(tst_der))]),
                ),
                # RFC 5816: ESSCertIDv2 identifies the TSA's certificate.
                template.signing_certificate_v2,
            ]
        )
        signature = self.signer.sign_raw(attrs, spec.name)
        signer_info = der.seq(
            der.integer(1),
            template.sid,
            spec.algorithm_identifier,
            der.implicit(0, attrs),
            template.mechanism.algorithm_identifier,
            der.octet_string(signature),
        )
        signed_data = der.seq(
            der.integer(3),  # eContentType is not id-data (RFC 5652 §5.1)
            der.der_set([spec.algorithm_identifier]),
            der.seq(
                der.oid(der.OID_TST_INFO),
                der.explicit(0, der.octet_string(tst_der)),
            ),
            *([template.certificates] if cert_req else []),
            der.der_set([signer_info]),
        )
        return der.seq(der.oid(der.OID_SIGNED_DATA), der.explicit(0, signed_data))

    def respond(self, request: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``.

        A malformed request, an unknown digest, a policy other than ours or
        extensions (none are supported) are answered with status
        ``rejection`` and the failure bit of RFC 3161 §2.4.2, never an
        exception, as a server must.
        """

        def reject(failure: str, text: str) -> bytes:
            # TimeStampResp with the status alone: asn1crypto's model makes
            # timeStampToken mandatory, RFC 3161 §2.4.2 makes it OPTIONAL.
            status = asn1_tsp.PKIStatusInfo(
                {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": asn1_tsp.PKIFailureInfo({failure}),
                }
            )
            return der.seq(bytes(status.dump()))

        if len(request) > MAX_REQUEST_SIZE:
            return reject("bad_request", "request too large")
        try:
            req = asn1_tsp.TimeStampReq.load(request, strict=True)
            imprint = req["message_imprint"]
            oid_ = imprint["hash_algorithm"]["algorithm"].dotted
            value = bytes(imprint["hashed_message"].native)
            policy = req["req_policy"].dotted if req["req_policy"].native else None
            nonce = req["nonce"].native
            cert_req = bool(req["cert_req"].native)
            has_extensions = bool(req["extensions"].native)
            version = req["version"].native
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return reject("bad_data_format", "malformed TimeStampReq")
        if version != "v1":
            return reject("bad_request", "unsupported version")
        spec = der.DIGESTS_BY_OID.get(oid_)
        if spec is None or not spec.available or spec.weak:
            return reject("bad_alg", "unsupported or weak hash algorithm")
        if len(value) != spec.size:
            return reject("bad_data_format", "imprint length does not match")
        if policy is not None and policy != self.policy:
            return reject("unaccepted_policy", "policy not supported")
        if has_extensions:
            return reject("unaccepted_extension", "extensions not supported")
        token = self._token(imprint, nonce=nonce, cert_req=cert_req, policy=policy)
        return bytes(
            asn1_tsp.TimeStampResp(
                {
                    "status": {"status": "granted"},
                    "time_stamp_token": asn1_cms.ContentInfo.load(token),
                }
            ).dump()
        )


class HttpTimestamper:
    """A client of a remote RFC 3161 authority over HTTP(S).

    :param url: the authority's address.
    :param timeout: seconds for the whole exchange.
    :param headers: extra headers (for example ``Authorization``).
    :param max_size: the largest answer accepted, in bytes.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        max_size: int = 1 << 20,
    ) -> None:
        self.url = url
        self.name = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.max_size = max_size

    def timestamp(self, data: bytes, *, digest: str = "sha256") -> bytes:
        spec = _digest_spec(digest)
        return self.timestamp_digest(spec.digest(data), spec.name)

    def timestamp_digest(self, value: bytes, digest: str) -> bytes:
        spec = _digest_spec(digest)
        nonce = secrets.randbits(63)
        request = asn1_tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": _digest_algorithm(spec),
                    "hashed_message": value,
                },
                "nonce": nonce,
                "cert_req": True,
            }
        ).dump()
        return check_response(self.respond(request), value, spec, nonce)

    def respond(self, request: bytes) -> bytes:
        """Post a DER ``TimeStampReq``; the DER ``TimeStampResp`` unchecked.

        :raises SigningError: the server is unreachable or answers badly.
        """
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                with client.stream(
                    "POST",
                    self.url,
                    content=request,
                    headers={"Content-Type": QUERY_MIME, **self.headers},
                ) as response:
                    if response.status_code != 200:
                        raise TimestampError(
                            f"the time-stamp server {self.url} answered HTTP "
                            f"{response.status_code}"
                        )
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > self.max_size:
                            raise TimestampError(
                                f"the time-stamp server {self.url} answered with "
                                "more than allowed"
                            )
        except httpx.HTTPError as exc:
            raise TimestampError(
                f"the time-stamp server {self.url} is unavailable: {exc}"
            ) from exc
        return bytes(body)


def check_response(
    body: bytes, value: bytes, spec: der.DigestSpec, nonce: int | None
) -> bytes:
    """The token of a ``TimeStampResp`` after RFC 3161 §2.4.2 checks.

    :raises SigningError: refused, or the token is not for this request.
    """
    try:
        resp = asn1_tsp.TimeStampResp.load(body, strict=True)
        status = resp["status"]["status"].native
        text = "; ".join(resp["status"]["status_string"].native or [])
    except (ValueError, TypeError, KeyError):
        raise TimestampError("the time-stamp server sent a malformed answer") from None
    if status not in ("granted", "granted_with_mods"):
        raise TimestampError(f"the time-stamp server refused: {status} {text}".strip())
    try:
        token = resp["time_stamp_token"]
    except (ValueError, TypeError, KeyError):
        token = asn1_core.Void()
    if isinstance(token, asn1_core.Void):
        raise TimestampError("the time-stamp server granted, but sent no token")
    token_der = bytes(token.dump())
    try:
        info = read_token(token_der)
        tst = token["content"]["encap_content_info"]["content"].parsed
        token_nonce = tst["nonce"].native
    except (SignatureFormatError, ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the time-stamp token is damaged: {exc}") from None
    if info.imprint != value or info.imprint_algorithm != spec.name:
        raise TimestampError("the time-stamp token is for other data")
    if nonce is not None and token_nonce != nonce:
        raise TimestampError("the time-stamp token answers another request (nonce)")
    return token_der
