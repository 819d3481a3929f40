"""Low-level CMS (RFC 5652) encoding, parsing and algorithm dispatch.

Private to the signing library. The encoders write DER by hand: a detached
CAdES-BES SignedData has a handful of fixed shapes, and writing them directly is
several times faster than building asn1crypto object trees. Parsing, where the
input is untrusted, goes through asn1crypto.

Signature algorithms are looked up in tables keyed by OID (verification) and by
public-key type (signing), so a new family is a new table entry, not a new
branch in every caller. GOST R 34.10-2012 with Streebog (:mod:`signing.gost`)
is one: cryptography knows neither, so its keys are :class:`~signing.gost.GostPublicKey`
objects read from the certificate's DER.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding

from signing import gost
from signing.errors import SignatureFormatError, SigningError, WeakAlgorithmError

# --------------------------------------------------------------------------
# DER primitives (X.690)
# --------------------------------------------------------------------------


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + der_length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def der_set(parts: Iterable[bytes]) -> bytes:
    # X.690 §11.6: the elements of a SET OF are sorted by their encodings.
    return tlv(0x31, b"".join(sorted(parts)))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def integer(value: int) -> bytes:
    length = value.bit_length() // 8 + 1  # room for the sign bit
    return tlv(0x02, value.to_bytes(length, "big", signed=True))


@lru_cache(maxsize=256)
def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray((40 * arcs[0] + arcs[1],))
    for arc in arcs[2:]:
        chunk = bytearray((arc & 0x7F,))
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        body += chunk
    return tlv(0x06, bytes(body))


NULL = b"\x05\x00"


def check_aware(moment: dt.datetime | None, name: str = "signing_time") -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (for example in UTC)")


def cms_time(value: dt.datetime) -> bytes:
    """RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise."""
    utc = value.astimezone(dt.UTC)
    if 1950 <= utc.year < 2050:
        return tlv(0x17, utc.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(0x18, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def implicit(tag_number: int, der: bytes, *, constructed: bool = True) -> bytes:
    """Re-tag an encoding as ``[n] IMPLICIT`` (context-specific)."""
    tag = 0xA0 if constructed else 0x80
    return bytes((tag | tag_number,)) + der[1:]


def explicit(tag_number: int, der: bytes) -> bytes:
    return tlv(0xA0 | tag_number, der)


def _header_length(der: bytes | memoryview) -> int:
    first = der[1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


# --------------------------------------------------------------------------
# Object identifiers
# --------------------------------------------------------------------------

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
OID_SIGNATURE_TIME_STAMP = "1.2.840.113549.1.9.16.2.14"
OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"

OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"
OID_MGF1 = "1.2.840.113549.1.1.8"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"


# --------------------------------------------------------------------------
# Digests
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSpec:
    name: str
    oid: str
    size: int
    weak: bool
    #: The cryptography hash (for RSA and ECDSA), if cryptography has it.
    factory: Callable[[], hashes.HashAlgorithm] | None
    #: A pure-Python digest function for hashes hashlib lacks (Streebog).
    compute: Callable[[bytes], bytes] | None = None

    @property
    def available(self) -> bool:
        """Whether this library can compute the digest."""
        return self.factory is not None or self.compute is not None

    @property
    def algorithm_identifier(self) -> bytes:
        if self.compute is not None:
            # GOST hashes carry NULL parameters, as RFC 4490 §2.1 asks and as
            # OpenSSL and the TK 26 CMS examples write them.
            return seq(oid(self.oid), NULL)
        # RFC 5754 §2: the parameters of the SHA-2 identifiers are absent.
        return seq(oid(self.oid))

    def new_hash(self) -> hashes.HashAlgorithm:
        if self.factory is None:
            raise UnsupportedAlgorithmError(self.name)
        return self.factory()

    def digest(self, data: bytes) -> bytes:
        if self.compute is not None:
            return self.compute(data)
        if self.factory is None:
            raise UnsupportedAlgorithmError(self.name)
        return hashlib.new(self.name, data).digest()


DIGESTS: dict[str, DigestSpec] = {
    spec.name: spec
    for spec in (
        DigestSpec("md5", "1.2.840.113549.2.5", 16, True, hashes.MD5),
        DigestSpec("sha1", "1.3.14.3.2.26", 20, True, hashes.SHA1),
        DigestSpec("sha224", "2.16.840.1.101.3.4.2.4", 28, False, hashes.SHA224),
        DigestSpec("sha256", "2.16.840.1.101.3.4.2.1", 32, False, hashes.SHA256),
        DigestSpec("sha384", "2.16.840.1.101.3.4.2.2", 48, False, hashes.SHA384),
        DigestSpec("sha512", "2.16.840.1.101.3.4.2.3", 64, False, hashes.SHA512),
        # GOST R 34.11-2012 (Streebog), pure Python (signing.gost).
        DigestSpec(
            "streebog256", gost.OID_STREEBOG256, 32, False, None, gost.streebog256
        ),
        DigestSpec(
            "streebog512", gost.OID_STREEBOG512, 64, False, None, gost.streebog512
        ),
        # GOST R 34.11-94 (RFC 5831): verified for GOST R 34.10-2001, weak
        # (obsolete since 2019), so never used to sign.
        DigestSpec(
            "gostr341194", gost.OID_GOST3411_94, 32, True, None, gost.gostr341194
        ),
    )
}
DIGESTS_BY_OID = {spec.oid: spec for spec in DIGESTS.values()}
SIGNING_DIGESTS = ("sha256", "sha384", "sha512", "streebog256", "streebog512")
#: Other spellings of the Streebog names (OpenSSL's, the standard's).
_DIGEST_ALIASES = {
    "mdgost12256": "streebog256",
    "mdgost12512": "streebog512",
    "gostr341112256": "streebog256",
    "gostr341112512": "streebog512",
    "gost3411201256": "streebog256",
    "gost3411201512": "streebog512",
}


def default_digest_for(certificate: x509.Certificate) -> str:
    """The digest a key signs with unless told otherwise: SHA-256, or for a
    GOST R 34.10-2012 key the Streebog of its size (RFC 9215 §3)."""
    key = public_key_of(certificate)
    if isinstance(key, gost.GostPublicKey):
        return f"streebog{key.bits}"
    return "sha256"


def digest_spec(name: str) -> DigestSpec:
    """The digest ``name`` (``sha256``, ``SHA-256``...) for *making* a signature."""
    key = name.lower().replace("-", "").replace("_", "").replace(".", "")
    spec = DIGESTS.get(_DIGEST_ALIASES.get(key, key))
    if spec is None:
        raise SigningError(
            f"unknown digest algorithm {name!r}: use " + ", ".join(SIGNING_DIGESTS)
        )
    if spec.weak:
        raise WeakAlgorithmError(
            f"{spec.name.upper()} is broken: no signature is made with it "
            "(use SHA-256 or stronger)"
        )
    if not spec.available:
        raise UnsupportedAlgorithmError(spec.name)
    return spec


class UnsupportedAlgorithmError(SigningError):
    """An algorithm the library recognises or not, but cannot compute."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the algorithm {name} is not supported")
        self.name = name


# --------------------------------------------------------------------------
# Signature mechanisms: making signatures
# --------------------------------------------------------------------------

_RSA_PKCS1_OIDS = {
    "sha256": "1.2.840.113549.1.1.11",
    "sha384": "1.2.840.113549.1.1.12",
    "sha512": "1.2.840.113549.1.1.13",
}
_ECDSA_OIDS = {
    "sha256": "1.2.840.10045.4.3.2",
    "sha384": "1.2.840.10045.4.3.3",
    "sha512": "1.2.840.10045.4.3.4",
}
_WEBCRYPTO_HASH = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


@dataclass(frozen=True)
class Mechanism:
    """How a raw signature is made: family, digest and its AlgorithmIdentifier."""

    family: str  # "rsa_pkcs1v15" | "rsa_pss" | "ecdsa" | "gost2012"
    digest: DigestSpec
    algorithm_identifier: bytes
    key_size: int

    @property
    def max_signature_size(self) -> int:
        n = (self.key_size + 7) // 8
        if self.family == "ecdsa":
            # SEQUENCE { INTEGER r, INTEGER s }, each with a possible sign octet.
            return 2 * (n + 3) + 4
        if self.family == "gost2012":
            return 2 * n  # s || r
        return n

    @property
    def pss_salt_length(self) -> int:
        return self.digest.size

    def webcrypto(self) -> dict[str, str | int]:
        """The WebCrypto ``sign()`` parameters that produce this signature.

        WebCrypto has no GOST: for a GOST key this names the algorithm the way
        the GOST-capable browser plug-ins do, for information only.
        """
        if self.family == "gost2012":
            return {
                "name": "GOST R 34.10-2012",
                "hash": f"GOST R 34.11-2012-{self.digest.size * 8}",
                "length": self.key_size,
            }
        hash_name = _WEBCRYPTO_HASH[self.digest.name]
        if self.family == "rsa_pss":
            return {
                "name": "RSA-PSS",
                "hash": hash_name,
                "saltLength": self.digest.size,
            }
        if self.family == "ecdsa":
            return {"name": "ECDSA", "hash": hash_name}
        return {"name": "RSASSA-PKCS1-v1_5", "hash": hash_name}

    def asn1_algorithm(self) -> str:
        return {
            "rsa_pkcs1v15": "RSA",
            "rsa_pss": "RSA-PSS",
            "ecdsa": "ECDSA",
            "gost2012": "GOST R 34.10-2012",
        }[self.family]


def _pss_params(spec: DigestSpec) -> bytes:
    # RSASSA-PSS-params (RFC 4055 §3.1) with MGF1 over the same hash and a
    # salt as long as the digest; trailerField keeps its DEFAULT.
    hash_alg = spec.algorithm_identifier
    return seq(
        explicit(0, hash_alg),
        explicit(1, seq(oid(OID_MGF1), hash_alg)),
        explicit(2, integer(spec.size)),
    )


def _rsa_mechanism(key: rsa.RSAPublicKey, spec: DigestSpec, rsa_pss: bool) -> Mechanism:
    if key.key_size < MIN_RSA_BITS:
        raise WeakAlgorithmError(
            f"an RSA key of {key.key_size} bits is too short: no signature is made "
            f"(at least {MIN_RSA_BITS} bits)"
        )
    if rsa_pss:
        ident = seq(oid(OID_RSASSA_PSS), _pss_params(spec))
        return Mechanism("rsa_pss", spec, ident, key.key_size)
    ident = seq(oid(_RSA_PKCS1_OIDS[spec.name]), NULL)
    return Mechanism("rsa_pkcs1v15", spec, ident, key.key_size)


def _ec_mechanism(
    key: ec.EllipticCurvePublicKey, spec: DigestSpec, rsa_pss: bool
) -> Mechanism:
    if key.curve.key_size < MIN_EC_BITS:
        raise WeakAlgorithmError(
            f"the curve {key.curve.name} is too weak: no signature is made"
        )
    # RFC 5753 §2.1.1: ecdsa-with-SHAxxx, parameters absent.
    return Mechanism(
        "ecdsa", spec, seq(oid(_ECDSA_OIDS[spec.name])), key.curve.key_size
    )


def _gost_mechanism(
    key: gost.GostPublicKey, spec: DigestSpec, rsa_pss: bool
) -> Mechanism:
    # RFC 9215 §3 / TK 26: a 256-bit key signs Streebog-256, a 512-bit key
    # Streebog-512, nothing else.
    expected = f"streebog{key.bits}"
    if spec.name != expected:
        raise SigningError(
            f"a GOST R 34.10-2012 ({key.bits}-bit) key signs with {expected} "
            f"(GOST R 34.11-2012), not {spec.name}"
        )
    # SignerInfo.signatureAlgorithm: the key's OID with NULL parameters, as
    # OpenSSL and the TK 26 CMS examples write it (RFC 4490 §3.2 did the same
    # for GOST R 34.10-2001).
    return Mechanism("gost2012", spec, seq(oid(key.key_oid), NULL), key.bits)


_MECHANISMS_BY_KEY: Sequence[tuple[type, Callable[..., Mechanism]]] = (
    (rsa.RSAPublicKey, _rsa_mechanism),
    (ec.EllipticCurvePublicKey, _ec_mechanism),
    (gost.GostPublicKey, _gost_mechanism),
)


def public_key_of(certificate: x509.Certificate) -> object:
    """The certificate's public key: a cryptography key, a
    :class:`~signing.gost.GostPublicKey`, or ``None`` (an algorithm not
    implemented here, or a damaged key)."""
    try:
        return certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        pass
    oid_ = certificate.public_key_algorithm_oid.dotted_string
    if oid_ in gost.KEY_OIDS or oid_ == gost.OID_GOST2001:
        return _gost_key_of(certificate.public_bytes(Encoding.DER))
    return None


@lru_cache(maxsize=512)
def _gost_key_of(certificate_der: bytes) -> gost.GostPublicKey | None:
    try:
        return gost.public_key_from_spki(gost.certificate_spki(certificate_der) or b"")
    except gost.GostKeyError:  # an unknown parameter set, a point off the curve
        return None


def key_algorithm_name(certificate: x509.Certificate) -> str:
    return _KEY_ALGORITHM_NAMES.get(
        certificate.public_key_algorithm_oid.dotted_string,
        certificate.public_key_algorithm_oid.dotted_string,
    )


_KEY_ALGORITHM_NAMES = {
    OID_RSA_ENCRYPTION: "RSA",
    OID_RSASSA_PSS: "RSA-PSS",
    OID_EC_PUBLIC_KEY: "ECDSA",
    "1.2.643.7.1.1.1.1": "ГОСТ Р 34.10-2012 (256 бит)",
    "1.2.643.7.1.1.1.2": "ГОСТ Р 34.10-2012 (512 бит)",
    "1.2.643.2.2.19": "ГОСТ Р 34.10-2001",
}


def mechanism_for(
    certificate: x509.Certificate, digest: str, *, rsa_pss: bool
) -> Mechanism:
    """Choose the signature mechanism for the certificate's key.

    :raises WeakAlgorithmError: MD5/SHA-1 or a short key.
    :raises UnsupportedAlgorithmError: a key family without an implementation.
    """
    spec = digest_spec(digest)
    key = public_key_of(certificate)
    for key_type, factory in _MECHANISMS_BY_KEY:
        if isinstance(key, key_type):
            return factory(key, spec, rsa_pss)
    raise UnsupportedAlgorithmError(key_algorithm_name(certificate))


def sign_with_key(key: object, mechanism: Mechanism, data: bytes) -> bytes:
    """Make a raw signature with an in-memory private key."""
    if mechanism.family == "gost2012" and isinstance(key, gost.GostPrivateKey):
        return key.sign_digest(mechanism.digest.digest(data))
    hash_algorithm = mechanism.digest.new_hash()
    if mechanism.family == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hash_algorithm))
    if isinstance(key, rsa.RSAPrivateKey):
        if mechanism.family == "rsa_pss":
            pad: padding.AsymmetricPadding = padding.PSS(
                padding.MGF1(hash_algorithm), mechanism.pss_salt_length
            )
            return key.sign(data, pad, hash_algorithm)
        if mechanism.family == "rsa_pkcs1v15":
            return key.sign(data, padding.PKCS1v15(), hash_algorithm)
    raise UnsupportedAlgorithmError(mechanism.family)


def normalise_signature_value(mechanism: Mechanism, value: bytes) -> list[bytes]:
    """Candidate DER encodings of a signature value received from outside.

    WebCrypto returns ECDSA as ``r || s`` (IEEE P1363), CMS wants the DER
    ``ECDSA-Sig-Value`` (RFC 5753 §2.1.1); a 2n-byte value could in theory be
    either, so both are offered and the caller keeps the one that verifies.

    GOST R 34.10-2012: CMS carries ``s || r`` big-endian (RFC 4491 §2.2.2);
    CryptoAPI, and so CryptoPro's browser plug-in (``RawSignature.SignHash``),
    returns the same octets in reverse order (``r || s`` little-endian). Both
    are offered; only the right one verifies.
    """
    if mechanism.family == "gost2012":
        return [value, value[::-1]]
    if mechanism.family != "ecdsa":
        return [value]
    n = (mechanism.key_size + 7) // 8
    candidates = []
    if len(value) == 2 * n:
        r = int.from_bytes(value[:n], "big")
        s = int.from_bytes(value[n:], "big")
        candidates.append(utils.encode_dss_signature(r, s))
    if value[:1] == b"\x30":
        candidates.append(value)
    return candidates


# --------------------------------------------------------------------------
# Signature mechanisms: verification
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking a raw signature with a public key."""

    ok: bool
    algorithm: str  # human name: "RSA PKCS#1 v1.5", "RSA-PSS", "ECDSA", ...
    hash_name: str | None
    supported: bool = True
    weak: tuple[str, ...] = ()


_RSA_PKCS1_VERIFY_OIDS = {
    OID_RSA_ENCRYPTION: None,
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.3.14.3.2.29": "sha1",
}
_ECDSA_VERIFY_OIDS = {
    OID_EC_PUBLIC_KEY: None,
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
#: The name of GOST R 34.10-2001 with GOST R 34.11-94 (RFC 4491): verified,
#: but obsolete for qualified signatures since 2019, so reported as weak.
GOST2001_NAME = "ГОСТ Р 34.10-2001 / ГОСТ Р 34.11-94 (устаревший алгоритм)"
#: The entry of SignatureCheck.weak that marks a GOST R 34.10-2001 signature.
GOST2001_WEAK = "ГОСТ Р 34.10-2001"
_GOST_SIGNATURE_OIDS = {
    "1.2.643.7.1.1.3.2": "ГОСТ Р 34.10-2012 (256 бит)",
    "1.2.643.7.1.1.3.3": "ГОСТ Р 34.10-2012 (512 бит)",
    "1.2.643.7.1.1.1.1": "ГОСТ Р 34.10-2012 (256 бит)",
    "1.2.643.7.1.1.1.2": "ГОСТ Р 34.10-2012 (512 бит)",
    "1.2.643.2.2.3": GOST2001_NAME,
    "1.2.643.2.2.19": GOST2001_NAME,
}


def _hash_of(name: str | None, fallback: DigestSpec) -> DigestSpec:
    if name is None:
        return fallback
    return DIGESTS[name]


def _key_weakness(key: object) -> tuple[str, ...]:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return (f"RSA-{key.key_size}",)
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return (key.curve.name,)
    return ()


def _verify_rsa_pkcs1(key, oid_, params, digest, signature, data, prehashed):  # type: ignore[no-untyped-def]
    spec = _hash_of(_RSA_PKCS1_VERIFY_OIDS[oid_], digest)
    weak = _key_weakness(key) + ((spec.name.upper(),) if spec.weak else ())
    if not isinstance(key, rsa.RSAPublicKey):
        return SignatureCheck(False, "RSA PKCS#1 v1.5", spec.name, weak=weak)
    algorithm = spec.new_hash()
    if prehashed:
        algorithm = utils.Prehashed(algorithm)  # type: ignore[assignment]
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    return SignatureCheck(ok, "RSA PKCS#1 v1.5", spec.name, weak=weak)


def _verify_rsa_pss(key, oid_, params, digest, signature, data, prehashed):  # type: ignore[no-untyped-def]
    spec, mgf_spec, salt = _parse_pss_params(params)
    weak = _key_weakness(key) + tuple(
        s.name.upper() for s in {spec, mgf_spec} if s.weak
    )
    if not isinstance(key, rsa.RSAPublicKey):
        return SignatureCheck(False, "RSA-PSS", spec.name, weak=weak)
    algorithm = spec.new_hash()
    pad = padding.PSS(padding.MGF1(mgf_spec.new_hash()), salt)
    if prehashed:
        algorithm = utils.Prehashed(algorithm)  # type: ignore[assignment]
    try:
        key.verify(signature, data, pad, algorithm)
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    return SignatureCheck(ok, "RSA-PSS", spec.name, weak=weak)


def _parse_pss_params(
    params: asn1_core.Asn1Value | None,
) -> tuple[DigestSpec, DigestSpec, int]:
    if params is None or isinstance(params, asn1_core.Void):
        # RFC 4055 defaults: SHA-1, MGF1-SHA-1, salt 20.
        return DIGESTS["sha1"], DIGESTS["sha1"], 20
    parsed = asn1_algos.RSASSAPSSParams.load(params.dump())
    hash_oid = parsed["hash_algorithm"]["algorithm"].dotted
    mgf = parsed["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != OID_MGF1:
        raise UnsupportedAlgorithmError(
            "RSA-PSS с функцией маски " + mgf["algorithm"].dotted
        )
    mgf_hash_oid = mgf["parameters"]["algorithm"].dotted
    spec = DIGESTS_BY_OID.get(hash_oid)
    mgf_spec = DIGESTS_BY_OID.get(mgf_hash_oid)
    if (
        spec is None
        or mgf_spec is None
        or spec.factory is None  # not `available`: RSA needs cryptography's
        or mgf_spec.factory is None
    ):
        raise UnsupportedAlgorithmError(f"RSA-PSS с хешем {hash_oid}")
    return spec, mgf_spec, int(parsed["salt_length"].native)


def _verify_ecdsa(key, oid_, params, digest, signature, data, prehashed):  # type: ignore[no-untyped-def]
    spec = _hash_of(_ECDSA_VERIFY_OIDS[oid_], digest)
    weak = _key_weakness(key) + ((spec.name.upper(),) if spec.weak else ())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return SignatureCheck(False, "ECDSA", spec.name, weak=weak)
    algorithm = spec.new_hash()
    if prehashed:
        algorithm = utils.Prehashed(algorithm)  # type: ignore[assignment]
    try:
        key.verify(signature, data, ec.ECDSA(algorithm))
        ok = True
    except (InvalidSignature, ValueError):
        ok = False
    return SignatureCheck(ok, "ECDSA", spec.name, weak=weak)


def _verify_gost(key, oid_, params, digest, signature, data, prehashed):  # type: ignore[no-untyped-def]
    bits = gost.SIGNATURE_OIDS[oid_]
    name = _GOST_SIGNATURE_OIDS[oid_]
    # The signature OIDs name their hash; with the key's OID in
    # signatureAlgorithm (TK 26, OpenSSL) the digestAlgorithm says it. Either
    # way RFC 9215 §3 allows only Streebog of the key's size.
    if (
        not isinstance(key, gost.GostPublicKey)
        or key.is_gost2001
        or key.bits != bits
        or digest.name != f"streebog{bits}"
    ):
        return SignatureCheck(False, name, digest.name)
    hashed = data if prehashed else digest.digest(data)
    return SignatureCheck(key.verify_digest(hashed, signature), name, digest.name)


def _verify_gost2001(key, oid_, params, digest, signature, data, prehashed):  # type: ignore[no-untyped-def]
    # RFC 4491 §2.2.2: a GOST R 34.10-2001 key signs GOST R 34.11-94 only. The
    # result is always marked weak: the algorithm is withdrawn (EN 319 102-1
    # §5.2.8 cryptographic constraints), whatever the signature's fate.
    weak = (GOST2001_WEAK,)
    if (
        not isinstance(key, gost.GostPublicKey)
        or not key.is_gost2001
        or digest.name != "gostr341194"
    ):
        return SignatureCheck(False, GOST2001_NAME, digest.name, weak=weak)
    hashed = data if prehashed else digest.digest(data)
    return SignatureCheck(
        key.verify_digest(hashed, signature), GOST2001_NAME, digest.name, weak=weak
    )


_VerifyFn = Callable[..., SignatureCheck]
_VERIFIERS: dict[str, _VerifyFn] = {
    **{o: _verify_rsa_pkcs1 for o in _RSA_PKCS1_VERIFY_OIDS},
    OID_RSASSA_PSS: _verify_rsa_pss,
    **{o: _verify_ecdsa for o in _ECDSA_VERIFY_OIDS},
    **{o: _verify_gost for o in gost.SIGNATURE_OIDS},
    **{o: _verify_gost2001 for o in gost.SIGNATURE_OIDS_2001},
}


def signature_algorithm_name(oid_: str) -> str:
    if oid_ in _RSA_PKCS1_VERIFY_OIDS:
        return "RSA PKCS#1 v1.5"
    if oid_ == OID_RSASSA_PSS:
        return "RSA-PSS"
    if oid_ in _ECDSA_VERIFY_OIDS:
        return "ECDSA"
    return _GOST_SIGNATURE_OIDS.get(oid_, oid_)


def verify_signature(
    key: object,
    algorithm_oid: str,
    algorithm_params: asn1_core.Asn1Value | None,
    digest: DigestSpec,
    signature: bytes,
    data: bytes,
    *,
    prehashed: bool = False,
) -> SignatureCheck:
    """Check ``signature`` over ``data`` (or over its digest, if ``prehashed``).

    Dispatches on the signature algorithm OID; an algorithm without an
    implementation (EdDSA, ...) gives ``supported=False``, never an exception.
    """
    verifier = _VERIFIERS.get(algorithm_oid)
    if verifier is None or key is None or not digest.available:
        return SignatureCheck(
            False, signature_algorithm_name(algorithm_oid), digest.name, supported=False
        )
    try:
        return verifier(
            key, algorithm_oid, algorithm_params, digest, signature, data, prehashed
        )
    except UnsupportedAlgorithmError as exc:
        return SignatureCheck(False, exc.name, digest.name, supported=False)
    except (ValueError, TypeError, KeyError):
        # Malformed algorithm parameters.
        return SignatureCheck(
            False, signature_algorithm_name(algorithm_oid), digest.name
        )


# --------------------------------------------------------------------------
# Building SignedData
# --------------------------------------------------------------------------


def _tbs_fields(certificate_der: bytes) -> tuple[bytes, bytes]:
    """The issuer Name and serialNumber INTEGER encodings, byte for byte."""
    tbs = asn1_x509.Certificate.load(certificate_der)["tbs_certificate"]
    return tbs["issuer"].dump(), tbs["serial_number"].dump()


@dataclass(frozen=True)
class SignerTemplate:
    """The parts of a SignedData that depend only on the signer and the digest.

    Computed once per signer and reused for every signature it makes.
    """

    certificate_der: bytes
    sid: bytes  # IssuerAndSerialNumber
    signing_certificate_v2: bytes  # the whole Attribute
    certificates: bytes  # [0] IMPLICIT CertificateSet
    mechanism: Mechanism

    @classmethod
    def build(
        cls,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        mechanism: Mechanism,
    ) -> SignerTemplate:
        der = certificate.public_bytes(Encoding.DER)
        issuer, serial = _tbs_fields(der)
        sid = seq(issuer, serial)
        # ESSCertIDv2 (RFC 5035 §3): hashAlgorithm is omitted when it is
        # SHA-256, its DEFAULT; a GOST signer names the certificate by its
        # Streebog hash, with hashAlgorithm present (TK 26 CAdES profile).
        # issuerSerial names the certificate as CAdES asks (ETSI EN 319 122-1
        # §5.2.2.3). GeneralNames holds one directoryName.
        issuer_serial = seq(seq(explicit(4, issuer)), serial)
        if mechanism.family == "gost2012":
            spec = mechanism.digest
            ess_cert_id = seq(
                spec.algorithm_identifier,
                octet_string(spec.digest(der)),
                issuer_serial,
            )
        else:
            ess_cert_id = seq(octet_string(hashlib.sha256(der).digest()), issuer_serial)
        attr = seq(oid(OID_SIGNING_CERTIFICATE_V2), der_set([seq(seq(ess_cert_id))]))
        seen = {der}
        cert_ders = [der]
        for extra in chain:
            extra_der = extra.public_bytes(Encoding.DER)
            if extra_der not in seen:
                seen.add(extra_der)
                cert_ders.append(extra_der)
        certificates = implicit(0, der_set(cert_ders))
        return cls(der, sid, attr, certificates, mechanism)

    def signed_attributes(
        self, message_digest: bytes, signing_time: dt.datetime | None
    ) -> bytes:
        """The signed attributes as DER ``SET OF Attribute`` (what is signed).

        CAdES-BES (ETSI EN 319 122-1 §5.1/5.2): content-type, message-digest,
        signing-certificate-v2 and, outside PAdES, signing-time.
        """
        attrs = [
            _CONTENT_TYPE_DATA_ATTR,
            seq(_MESSAGE_DIGEST_OID, der_set([octet_string(message_digest)])),
            self.signing_certificate_v2,
        ]
        if signing_time is not None:
            attrs.append(seq(_SIGNING_TIME_OID, der_set([cms_time(signing_time)])))
        return der_set(attrs)

    def content_info(
        self,
        signed_attributes: bytes,
        signature: bytes,
        unsigned_attributes: Sequence[bytes] = (),
    ) -> bytes:
        """A detached ``ContentInfo { signedData }`` with one SignerInfo."""
        digest_alg = self.mechanism.digest.algorithm_identifier
        signer_info = [
            _VERSION_1,
            self.sid,
            digest_alg,
            implicit(0, signed_attributes),
            self.mechanism.algorithm_identifier,
            octet_string(signature),
        ]
        if unsigned_attributes:
            signer_info.append(implicit(1, der_set(unsigned_attributes)))
        signed_data = seq(
            _VERSION_1,
            der_set([digest_alg]),
            _ENCAP_DATA_DETACHED,
            self.certificates,
            der_set([seq(*signer_info)]),
        )
        return seq(_SIGNED_DATA_OID, explicit(0, signed_data))


_VERSION_1 = integer(1)
_SIGNED_DATA_OID = oid(OID_SIGNED_DATA)
_ENCAP_DATA_DETACHED = seq(oid(OID_DATA))
_CONTENT_TYPE_DATA_ATTR = seq(oid(OID_CONTENT_TYPE), der_set([oid(OID_DATA)]))
_MESSAGE_DIGEST_OID = oid(OID_MESSAGE_DIGEST)
_SIGNING_TIME_OID = oid(OID_SIGNING_TIME)


def time_stamp_attribute(token_der: bytes) -> bytes:
    """The unsigned ``signature-time-stamp`` attribute (RFC 3161 appendix A)."""
    return seq(oid(OID_SIGNATURE_TIME_STAMP), der_set([token_der]))


def message_digest_of(signed_attributes: bytes) -> bytes | None:
    """The messageDigest value inside a DER SET OF Attribute we encoded."""
    try:
        attrs = asn1_cms.CMSAttributes.load(signed_attributes)
        for attr in attrs:
            if attr["type"].dotted == OID_MESSAGE_DIGEST:
                return bytes(attr["values"][0].native)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return None


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

_PEM_MARKERS = (
    b"-----BEGIN CMS-----",
    b"-----BEGIN PKCS7-----",
    b"-----BEGIN SIGNATURE-----",
)


def decode_signature_bytes(data: bytes) -> bytes:
    """DER from DER, PEM (``CMS``/``PKCS7``) or bare base64, as users hand them in."""
    if data[:1] == b"\x30":
        return bytes(data)
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        lines = [
            line
            for line in stripped.splitlines()
            if line and not line.startswith(b"-----") and b":" not in line
        ]
        stripped = b"".join(lines)
    try:
        decoded = base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureFormatError(
            "not a CMS/PKCS#7 signature (DER, PEM or base64 expected)"
        ) from None
    if decoded[:1] != b"\x30":
        raise SignatureFormatError("not a CMS/PKCS#7 signature")
    return decoded


def first_tlv(data: bytes) -> bytes:
    """The first complete DER TLV of ``data``, as EU DSS and OpenSSL read a
    signature taken out of a PDF's /Contents: what follows it must be zero
    bytes (the placeholder's padding); anything else is refused.

    :raises SignatureFormatError: not one DER value, or other trailing data.
    """
    if len(data) < 2 or data[0] != 0x30:
        raise SignatureFormatError("not a DER-encoded CMS structure")
    first = data[1]
    if first < 0x80:
        size, start = first, 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise SignatureFormatError("not a DER-encoded CMS structure")
        size, start = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    end = start + size
    if end > len(data):
        raise SignatureFormatError("the CMS structure is truncated")
    if data[end:].strip(b"\x00"):
        raise SignatureFormatError("unexpected data after the CMS structure")
    return bytes(data[:end])


def load_signed_data(data: bytes) -> asn1_cms.SignedData:
    """Parse a ContentInfo holding SignedData.

    :raises SignatureFormatError: anything else.
    """
    der = first_tlv(decode_signature_bytes(data))
    try:
        info = asn1_cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != OID_SIGNED_DATA:
            raise SignatureFormatError("the CMS structure is not SignedData")
        signed_data = info["content"]
        # Touch the parts every caller needs, so a malformed structure fails
        # here and not half-way through a verification.
        signer_infos = signed_data["signer_infos"]
        len(signer_infos)
        signed_data["encap_content_info"]["content_type"].dotted  # noqa: B018
    except SignatureFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise SignatureFormatError(f"damaged CMS signature: {exc}") from None
    return signed_data


def signed_attributes_for_verification(signer_info: asn1_cms.SignerInfo) -> bytes:
    """RFC 5652 §5.4: the signature covers the DER of the signed attributes
    with an explicit SET OF tag, not the ``[0] IMPLICIT`` one in SignerInfo.

    The original octets are kept (only the tag changes), so a signer that did
    not sort its SET OF still verifies.
    """
    raw: bytes = signer_info["signed_attrs"].contents
    return b"\x31" + der_length(len(raw)) + raw


def certificates_of(signed_data: asn1_cms.SignedData) -> list[bytes]:
    """DER of every X.509 certificate in SignedData (other choices are skipped)."""
    result: list[bytes] = []
    certs = signed_data["certificates"]
    if isinstance(certs, asn1_core.Void):
        return result
    for choice in certs:
        if choice.name == "certificate":
            result.append(choice.chosen.dump())
    return result


def load_certificate_der(der: bytes) -> x509.Certificate:
    return _load_certificate_cached(der)


@lru_cache(maxsize=512)
def _load_certificate_cached(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)
