"""GOST R 34.10-2012 signatures and GOST R 34.11-2012 (Streebog) digests.

Every Russian qualified electronic signature is GOST R 34.10-2012 with
Streebog. Neither cryptography nor asn1crypto implements them, so this module
does, in pure Python (no C extension to build, nothing but Python integers):

* Streebog-256/512 (GOST R 34.11-2012, RFC 6986) with the usual combined
  LPS tables, built once on first use;
* the elliptic-curve arithmetic of GOST R 34.10-2012 (RFC 7091) in Jacobian
  coordinates: a fixed-base window table for the base point (built once per
  curve) and a width-5 NAF for the public key, so a 256-bit verification costs
  about a millisecond;
* the parameter sets of RFC 4357 (CryptoPro A/B/C/XchA/XchB) and of
  R 1323565.1.024-2019 / RFC 7836 (TC26 256-A…D, 512-A…C);
* the encodings of RFC 9215 and TK 26: the public key is an OCTET STRING
  ``x || y`` (each little-endian) inside the BIT STRING, a digest is read as a
  little-endian integer, and the signature value is ``s || r`` (each
  big-endian, RFC 4491 §2.2.2);
* PKCS#8 private keys as the OpenSSL GOST engine writes them (plain or
  PBES2-encrypted, PEM or DER) and PKCS#12 files with PBES2 (what OpenSSL 3
  writes by default).

GOST R 34.10-2001 (RFC 4491) is verified too, for old documents: its curve
arithmetic is that of 2012-256 on the CryptoPro sets, its hash GOST R 34.11-94
(RFC 5831, built on GOST 28147-89 with the CryptoPro S-boxes of RFC 4357
§11.2) is implemented here. The algorithm has been withdrawn for qualified
signatures since 2019: callers report it as obsolete, and no 2001 key is
loaded for signing.

Scalar multiplication is not constant-time (Python integers are not): keys
held in memory here are for tests, demos and server-side seals; keys of real
people stay on their tokens (:class:`signing.pkcs11.Pkcs11Signer`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from asn1crypto import algos as asn1_algos
from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CURVES",
    "DIGEST_OIDS",
    "KEY_OIDS",
    "SIGNATURE_OIDS",
    "GostCurve",
    "GostKeyError",
    "GostPrivateKey",
    "GostPublicKey",
    "GostR341194",
    "Streebog",
    "curve_by_oid",
    "gostr341194",
    "load_pkcs12",
    "load_private_key",
    "streebog256",
    "streebog512",
]


class GostKeyError(ValueError):
    """A GOST key, its parameters or its container cannot be used."""


# --------------------------------------------------------------------------
# Object identifiers (RFC 9215 §2-3, RFC 4357, R 1323565.1.024-2019)
# --------------------------------------------------------------------------

OID_GOST2012_256 = "1.2.643.7.1.1.1.1"
OID_GOST2012_512 = "1.2.643.7.1.1.1.2"
OID_GOST2001 = "1.2.643.2.2.19"
OID_SIG_2012_256 = "1.2.643.7.1.1.3.2"
OID_SIG_2012_512 = "1.2.643.7.1.1.3.3"
OID_SIG_2001 = "1.2.643.2.2.3"
OID_STREEBOG256 = "1.2.643.7.1.1.2.2"
OID_STREEBOG512 = "1.2.643.7.1.1.2.3"
OID_GOST3411_94 = "1.2.643.2.2.9"
#: GOST R 34.11-94 hash parameter sets (RFC 4357 §10.2): S-boxes of GOST 28147.
OID_GOST3411_94_TEST_PARAMS = "1.2.643.2.2.30.0"
OID_GOST3411_94_CRYPTOPRO_PARAMS = "1.2.643.2.2.30.1"

#: Public-key algorithm OID → key size in bits (2012 only; 2001 is legacy).
KEY_OIDS = {OID_GOST2012_256: 256, OID_GOST2012_512: 512}
KEY_OIDS_BY_BITS = {256: OID_GOST2012_256, 512: OID_GOST2012_512}
#: Signature algorithm OIDs of GOST R 34.10-2012 → key size. CMS signers put the
#: key's OID in SignerInfo.signatureAlgorithm (TK 26, OpenSSL), so both count.
SIGNATURE_OIDS = {
    OID_SIG_2012_256: 256,
    OID_SIG_2012_512: 512,
    OID_GOST2012_256: 256,
    OID_GOST2012_512: 512,
}
#: GOST R 34.10-2001 / GOST R 34.11-94: verified, reported as obsolete.
LEGACY_OIDS = frozenset({OID_GOST2001, OID_SIG_2001, OID_GOST3411_94})
#: Signature OIDs of GOST R 34.10-2001 (RFC 4491 §2.2.2; CMS signers put the
#: key's OID in SignerInfo.signatureAlgorithm, RFC 4490 §3.2).
SIGNATURE_OIDS_2001 = frozenset({OID_SIG_2001, OID_GOST2001})
#: The parameter sets a GOST R 34.10-2001 key may name (RFC 4357 §11.4).
_CURVES_2001 = frozenset(
    {
        "1.2.643.2.2.35.1",
        "1.2.643.2.2.35.2",
        "1.2.643.2.2.35.3",
        "1.2.643.2.2.36.0",
        "1.2.643.2.2.36.1",
    }
)
#: Streebog digest OIDs → digest size in bytes.
DIGEST_OIDS = {OID_STREEBOG256: 32, OID_STREEBOG512: 64}


# --------------------------------------------------------------------------
# GOST R 34.11-2012 (Streebog), RFC 6986
# --------------------------------------------------------------------------


# The substitution π (RFC 6986 §6.2), the matrix A of the linear
# transformation l (§6.4) and the iteration constants C1..C12 (§6.5, read as
# numbers: the standard's most significant digit first).
_PI = bytes.fromhex(
    "fceedd11cf6e3116fbc4fada23c5044de977f0db932e99ba1736f1bb14cd5fc1"
    "f918655ae25cef21811c3c428b018e4f058402aee36a8fa0060bed987fd4d31f"
    "eb342c51eac848abf22a68a2fd3aceccb5700e56080c7612bf7213479cb75d87"
    "15a19629107b9ac7f391786f9d9eb2b13275193dff358a7e6d54c680c3bd0d57"
    "dff524a93ea843c9d779d6f67c22b903e00fecde7a94b0bcdce828504e330a4a"
    "a79760731e0062441ab83882649f2641ad454692275e552f8ca3a57d69d5953b"
    "0758b34086ac1df730376be488d9e789e11b83494c3ff8fe8d53aa90cad88561"
    "207167a42d2b095bcb9b25d0bee56c5259a674d2e6f4b4c0d166afc2394b63b6"
)
_A = tuple(
    int(word, 16)
    for word in """
    8e20faa72ba0b470 47107ddd9b505a38 ad08b0e0c3282d1c d8045870ef14980e
    6c022c38f90a4c07 3601161cf205268d 1b8e0b0e798c13c8 83478b07b2468764
    a011d380818e8f40 5086e740ce47c920 2843fd2067adea10 14aff010bdd87508
    0ad97808d06cb404 05e23c0468365a02 8c711e02341b2d01 46b60f011a83988e
    90dab52a387ae76f 486dd4151c3dfdb9 24b86a840e90f0d2 125c354207487869
    092e94218d243cba 8a174a9ec8121e5d 4585254f64090fa0 accc9ca9328a8950
    9d4df05d5f661451 c0a878a0a1330aa6 60543c50de970553 302a1e286fc58ca7
    18150f14b9ec46dd 0c84890ad27623e0 0642ca05693b9f70 0321658cba93c138
    86275df09ce8aaa8 439da0784e745554 afc0503c273aa42a d960281e9d1d5215
    e230140fc0802984 71180a8960409a42 b60c05ca30204d21 5b068c651810a89e
    456c34887a3805b9 ac361a443d1c8cd2 561b0d22900e4669 2b838811480723ba
    9bcf4486248d9f5d c3e9224312c8c1a0 effa11af0964ee50 f97d86d98a327728
    e4fa2054a80b329c 727d102a548b194e 39b008152acb8227 9258048415eb419d
    492c024284fbaec0 aa16012142f35760 550b8e9e21f7a530 a48b474f9ef5dc18
    70a6a56e2440598e 3853dc371220a247 1ca76e95091051ad 0edd37c48a08a6d8
    07e095624504536c 8d70c431ac02a736 c83862965601dd1b 641c314b2b8ee083
    """.split()
)
_C = tuple(
    int(constant, 16)
    for constant in (
        "b1085bda1ecadae9ebcb2f81c0657c1f2f6a76432e45d016714eb88d7585c4fc"
        "4b7ce09192676901a2422a08a460d31505767436cc744d23dd806559f2a64507",
        "6fa3b58aa99d2f1a4fe39d460f70b5d7f3feea720a232b9861d55e0f16b50131"
        "9ab5176b12d699585cb561c2db0aa7ca55dda21bd7cbcd56e679047021b19bb7",
        "f574dcac2bce2fc70a39fc286a3d843506f15e5f529c1f8bf2ea7514b1297b7b"
        "d3e20fe490359eb1c1c93a376062db09c2b6f443867adb31991e96f50aba0ab2",
        "ef1fdfb3e81566d2f948e1a05d71e4dd488e857e335c3c7d9d721cad685e353f"
        "a9d72c82ed03d675d8b71333935203be3453eaa193e837f1220cbebc84e3d12e",
        "4bea6bacad4747999a3f410c6ca923637f151c1f1686104a359e35d7800fffbd"
        "bfcd1747253af5a3dfff00b723271a167a56a27ea9ea63f5601758fd7c6cfe57",
        "ae4faeae1d3ad3d96fa4c33b7a3039c02d66c4f95142a46c187f9ab49af08ec6"
        "cffaa6b71c9ab7b40af21f66c2bec6b6bf71c57236904f35fa68407a46647d6e",
        "f4c70e16eeaac5ec51ac86febf240954399ec6c7e6bf87c9d3473e33197a93c9"
        "0992abc52d822c3706476983284a05043517454ca23c4af38886564d3a14d493",
        "9b1f5b424d93c9a703e7aa020c6e41414eb7f8719c36de1e89b4443b4ddbc49a"
        "f4892bcb929b069069d18d2bd1a5c42f36acc2355951a8d9a47f0dd4bf02e71e",
        "378f5a541631229b944c9ad8ec165fde3a7d3a1b258942243cd955b7e00d0984"
        "800a440bdbb2ceb17b2b8a9aa6079c540e38dc92cb1f2a607261445183235adb",
        "abbedea680056f52382ae548b2e4f3f38941e71cff8a78db1fffe18a1b336103"
        "9fe76702af69334b7a1e6c303b7652f43698fad1153bb6c374b4c7fb98459ced",
        "7bcd9ed0efc889fb3002c6cd635afe94d8fa6bbbebab07612001802114846679"
        "8a1d71efea48b9caefbacd1d7d476e98dea2594ac06fd85d6bcaa4cd81f32d1b",
        "378ee767f11631bad21380b00449b17acda43c32bcdf1d77f82012d430219f9b"
        "5d80ef9d1891cc86e71da4aa88e12852faf417d5d9b21b9948bc924af11bd720",
    )
)

_MASK512 = (1 << 512) - 1
#: The 256-bit variant starts from the vector 0x01 repeated (§8.1).
_IV256 = int.from_bytes(b"\x01" * 64, "little")


def _l(word: int) -> int:
    """l: the linear map of §6.4 on one 64-bit word (bit 63 ↔ A[0])."""
    result = 0
    for bit in range(64):
        if word >> bit & 1:
            result ^= _A[63 - bit]
    return result


def _build_tables() -> tuple[tuple[int, ...], ...]:
    # S, P and L folded into eight tables (the usual software form). The
    # state is a 512-bit little-endian number; its byte k = 8j + i is
    # substituted (S), moved by P (τ(k) = 8(k mod 8) + k div 8) to byte j of
    # word i, and mixed into that word by l: T[j][v] = l(π[v] << 8j).
    return tuple(
        tuple(_l(_PI[value] << (8 * j)) for value in range(256)) for j in range(8)
    )


_T = _build_tables()


def _lps(x: int) -> int:
    t0, t1, t2, t3, t4, t5, t6, t7 = _T
    b = x.to_bytes(64, "little")
    return (
        (t0[b[0]] ^ t1[b[8]] ^ t2[b[16]] ^ t3[b[24]] ^ t4[b[32]] ^ t5[b[40]] ^ t6[b[48]] ^ t7[b[56]])
        | (t0[b[1]] ^ t1[b[9]] ^ t2[b[17]] ^ t3[b[25]] ^ t4[b[33]] ^ t5[b[41]] ^ t6[b[49]] ^ t7[b[57]]) << 64
        | (t0[b[2]] ^ t1[b[10]] ^ t2[b[18]] ^ t3[b[26]] ^ t4[b[34]] ^ t5[b[42]] ^ t6[b[50]] ^ t7[b[58]]) << 128
        | (t0[b[3]] ^ t1[b[11]] ^ t2[b[19]] ^ t3[b[27]] ^ t4[b[35]] ^ t5[b[43]] ^ t6[b[51]] ^ t7[b[59]]) << 192
        | (t0[b[4]] ^ t1[b[12]] ^ t2[b[20]] ^ t3[b[28]] ^ t4[b[36]] ^ t5[b[44]] ^ t6[b[52]] ^ t7[b[60]]) << 256
        | (t0[b[5]] ^ t1[b[13]] ^ t2[b[21]] ^ t3[b[29]] ^ t4[b[37]] ^ t5[b[45]] ^ t6[b[53]] ^ t7[b[61]]) << 320
        | (t0[b[6]] ^ t1[b[14]] ^ t2[b[22]] ^ t3[b[30]] ^ t4[b[38]] ^ t5[b[46]] ^ t6[b[54]] ^ t7[b[62]]) << 384
        | (t0[b[7]] ^ t1[b[15]] ^ t2[b[23]] ^ t3[b[31]] ^ t4[b[39]] ^ t5[b[47]] ^ t6[b[55]] ^ t7[b[63]]) << 448
    )  # fmt: skip


def _g(n: int, h: int, m: int) -> int:
    """The compression function g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m (§7)."""
    lps = _lps
    key = lps(h ^ n)
    state = key ^ m
    for constant in _C:
        state = lps(state)
        key = lps(key ^ constant)
        state ^= key
    return state ^ h ^ m


class Streebog:
    """GOST R 34.11-2012 with a hashlib-like interface.

    The digest is the byte string the standard's vector is stored as (its
    least significant byte first), which is what CMS, X.509 and OpenSSL
    carry: Streebog-256 of the 63-byte ``b"0123...012"`` (the standard's M1)
    is ``9d151eef...57b5500``.

    :param digest_size: 32 (Streebog-256) or 64 (Streebog-512).
    """

    block_size = 64

    def __init__(self, digest_size: int = 64, data: bytes = b"") -> None:
        if digest_size not in (32, 64):
            raise ValueError("Streebog digests are 32 or 64 bytes long")
        self.digest_size = digest_size
        self.name = "streebog256" if digest_size == 32 else "streebog512"
        self._h = _IV256 if digest_size == 32 else 0
        self._n = 0
        self._sigma = 0
        self._buffer = b""
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        buffer = self._buffer + bytes(data)
        full = len(buffer) - len(buffer) % 64
        h, n, sigma = self._h, self._n, self._sigma
        from_bytes = int.from_bytes
        for offset in range(0, full, 64):
            m = from_bytes(buffer[offset : offset + 64], "little")
            h = _g(n, h, m)
            n = (n + 512) & _MASK512
            sigma = (sigma + m) & _MASK512
        self._h, self._n, self._sigma = h, n, sigma
        self._buffer = buffer[full:]

    def copy(self) -> Streebog:
        other = Streebog(self.digest_size)
        other._h, other._n, other._sigma = self._h, self._n, self._sigma
        other._buffer = self._buffer
        return other

    def digest(self) -> bytes:
        rest = self._buffer
        # §8.3: the last (partial) block is padded with one 1 bit, then zeros.
        m = int.from_bytes(rest, "little") | 1 << (8 * len(rest))
        h = _g(self._n, self._h, m)
        n = (self._n + 8 * len(rest)) & _MASK512
        sigma = (self._sigma + m) & _MASK512
        h = _g(0, h, n)
        h = _g(0, h, sigma)
        out = h.to_bytes(64, "little")
        return out[32:] if self.digest_size == 32 else out

    def hexdigest(self) -> str:
        return self.digest().hex()


def streebog256(data: bytes) -> bytes:
    """Streebog-256 of ``data`` (32 bytes, as CMS carries it)."""
    return Streebog(32, data).digest()


def streebog512(data: bytes) -> bytes:
    """Streebog-512 of ``data`` (64 bytes, as CMS carries it)."""
    return Streebog(64, data).digest()


def streebog_for_bits(bits: int) -> Streebog:
    """The Streebog a GOST R 34.10-2012 key of ``bits`` signs with (RFC 9215 §3)."""
    return Streebog(32 if bits == 256 else 64)


# --------------------------------------------------------------------------
# GOST R 34.11-94 (RFC 5831) on GOST 28147-89 (RFC 5830)
# --------------------------------------------------------------------------

_M32 = (1 << 32) - 1
_M64 = (1 << 64) - 1
_M256 = (1 << 256) - 1

#: The S-boxes K1..K8 of GOST 28147-89 by GOST R 34.11-94 parameter set:
#: id-GostR3411-94-TestParamSet (the standard's examples, RFC 5831 §7.3) and
#: id-GostR3411-94-CryptoProParamSet (RFC 4357 §11.2, what CMS uses).
GOST3411_94_SBOXES: dict[str, tuple[tuple[int, ...], ...]] = {
    OID_GOST3411_94_TEST_PARAMS: (
        (4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3),
        (14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9),
        (5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11),
        (7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3),
        (6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2),
        (4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14),
        (13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12),
        (1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 12),
    ),
    OID_GOST3411_94_CRYPTOPRO_PARAMS: (
        (10, 4, 5, 6, 8, 1, 3, 7, 13, 12, 14, 0, 9, 2, 11, 15),
        (5, 15, 4, 0, 2, 13, 11, 9, 1, 7, 6, 3, 12, 14, 10, 8),
        (7, 15, 12, 14, 9, 4, 1, 0, 3, 11, 5, 2, 6, 10, 8, 13),
        (4, 10, 7, 12, 0, 15, 2, 8, 14, 1, 6, 5, 13, 11, 9, 3),
        (7, 6, 4, 11, 9, 12, 2, 10, 1, 8, 0, 14, 15, 13, 3, 5),
        (7, 6, 2, 4, 13, 9, 15, 0, 10, 1, 5, 11, 8, 14, 12, 3),
        (13, 14, 4, 1, 7, 0, 5, 10, 3, 12, 8, 15, 6, 2, 9, 11),
        (1, 3, 10, 9, 5, 11, 4, 15, 8, 6, 7, 14, 13, 0, 2, 12),
    ),
}
#: The constant C3 of the key generation (RFC 5831 §6.1); C2 = C4 = 0.
_C3_94 = 0xFF00FFFF000000FFFF0000FF00FFFF0000FF00FF00FF00FFFF00FF00FF00FF00

_Gost28147Tables = tuple[tuple[int, ...], ...]


@lru_cache(maxsize=4)
def _gost28147_tables(params: str) -> _Gost28147Tables:
    # The round function of GOST 28147-89 (RFC 5830 §5.1) substitutes the
    # eight nibbles of a word (K1 on the lowest), then rotates it left by 11:
    # both folded into four byte tables, byte j using K(2j+1) and K(2j+2).
    rows = GOST3411_94_SBOXES[params]

    def substituted(j: int, value: int) -> int:
        word = (rows[2 * j + 1][value >> 4] << 4 | rows[2 * j][value & 15]) << 8 * j
        return (word << 11 | word >> 21) & _M32

    return tuple(tuple(substituted(j, v) for v in range(256)) for j in range(4))


def _gost28147_encrypt(tables: _Gost28147Tables, key: int, block: int) -> int:
    """One 64-bit block in simple substitution mode (RFC 5830 §6): the key's
    words K0..K7 three times forward, then backwards; no swap after round 32."""
    t0, t1, t2, t3 = tables
    words = [key >> 32 * i & _M32 for i in range(8)]
    n1, n2 = block & _M32, block >> 32
    for k in words * 3 + words[::-1]:
        x = (n1 + k) & _M32
        n1, n2 = (
            n2 ^ t0[x & 255] ^ t1[x >> 8 & 255] ^ t2[x >> 16 & 255] ^ t3[x >> 24],
            n1,
        )
    return n1 << 32 | n2


def _a94(y: int) -> int:
    """A(y4 || y3 || y2 || y1) = (y1 ⊕ y2) || y4 || y3 || y2 (64-bit words)."""
    return ((y ^ y >> 64) & _M64) << 192 | y >> 64


def _p94(y: int) -> int:
    """P: byte i + 1 + 4(k - 1) of the result is byte 8i + k of y."""
    b = y.to_bytes(32, "little")
    return int.from_bytes(
        bytes(b[8 * i + k] for k in range(8) for i in range(4)), "little"
    )


def _psi94(y: int, times: int) -> int:
    """ψ (16-bit words): y16..y1 → (y1 ⊕ y2 ⊕ y3 ⊕ y4 ⊕ y13 ⊕ y16) || y16..y2."""
    for _ in range(times):
        feedback = (y ^ y >> 16 ^ y >> 32 ^ y >> 48 ^ y >> 192 ^ y >> 240) & 0xFFFF
        y = y >> 16 | feedback << 240
    return y


def _step94(tables: _Gost28147Tables, h: int, m: int) -> int:
    """The step function f(H, M) of RFC 5831 §6: four GOST 28147 keys from H
    and M, each enciphers a 64-bit word of H, then the ψ shuffle."""
    u, v = h, m
    keys = [_p94(u ^ v)]
    for constant in (0, _C3_94, 0):
        u = _a94(u) ^ constant
        v = _a94(_a94(v))
        keys.append(_p94(u ^ v))
    s = 0
    for i, key in enumerate(keys):
        s |= _gost28147_encrypt(tables, key, h >> 64 * i & _M64) << 64 * i
    return _psi94(h ^ _psi94(m ^ _psi94(s, 12), 1), 61)


class GostR341194:
    """GOST R 34.11-94 with a hashlib-like interface (the legacy hash of GOST
    R 34.10-2001). The digest is the byte string CMS, X.509 and OpenSSL
    (``md_gost94``) carry.

    :param params: the hash parameter set OID: CryptoPro (the default, what
        every certificate and CMS uses) or the standard's test set.
    """

    block_size = 32
    digest_size = 32
    name = "gostr341194"

    def __init__(
        self, data: bytes = b"", params: str = OID_GOST3411_94_CRYPTOPRO_PARAMS
    ) -> None:
        if params not in GOST3411_94_SBOXES:
            raise ValueError(f"unknown GOST R 34.11-94 parameter set {params}")
        self.params = params
        self._tables = _gost28147_tables(params)
        self._h = 0
        self._length = 0
        self._sigma = 0
        self._buffer = b""
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        buffer = self._buffer + bytes(data)
        full = len(buffer) - len(buffer) % 32
        h, sigma, tables = self._h, self._sigma, self._tables
        for offset in range(0, full, 32):
            m = int.from_bytes(buffer[offset : offset + 32], "little")
            h = _step94(tables, h, m)
            sigma = (sigma + m) & _M256
        self._h, self._sigma = h, sigma
        self._length += 8 * full
        self._buffer = buffer[full:]

    def copy(self) -> GostR341194:
        other = GostR341194(params=self.params)
        other._h, other._length, other._sigma = self._h, self._length, self._sigma
        other._buffer = self._buffer
        return other

    def digest(self) -> bytes:
        h, sigma, length = self._h, self._sigma, self._length
        if self._buffer:
            # RFC 5831 §7.1: a last partial block is padded with zero bits.
            m = int.from_bytes(self._buffer, "little")
            h = _step94(self._tables, h, m)
            sigma = (sigma + m) & _M256
            length += 8 * len(self._buffer)
        h = _step94(self._tables, h, length & _M256)
        h = _step94(self._tables, h, sigma)
        return h.to_bytes(32, "little")

    def hexdigest(self) -> str:
        return self.digest().hex()


def gostr341194(data: bytes) -> bytes:
    """GOST R 34.11-94 of ``data`` with the CryptoPro parameters (32 bytes)."""
    return GostR341194(data).digest()


# --------------------------------------------------------------------------
# Curves: RFC 4357 §11.4 (CryptoPro), R 1323565.1.024-2019 / RFC 7836 (TC26)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GostCurve:
    """Short Weierstrass form y² = x³ + ax + b over GF(p), base point (x, y) of
    prime order q. The twisted Edwards sets of TC26 (256-A, 512-C) are given
    in their Weierstrass form, as R 1323565.1.024-2019 also lists them."""

    name: str
    oid: str
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int
    #: #E / q: 4 for the twisted Edwards sets (TC26 256-A, 512-C), else 1.
    cofactor: int = 1

    def __repr__(self) -> str:
        return f"GostCurve({self.name!r})"

    @property
    def bits(self) -> int:
        """256 or 512: the size of a key (and of each half of a signature)."""
        return 512 if self.p.bit_length() > 256 else 256

    @property
    def size(self) -> int:
        return self.bits // 8

    def contains(self, x: int, y: int) -> bool:
        p = self.p
        return (
            0 <= x < p
            and 0 <= y < p
            and (y * y - x * x * x - self.a * x - self.b) % p == 0
        )


def _curve(name: str, oid: str, *values: str, cofactor: int = 1) -> GostCurve:
    p, a, b, q, x, y = (int(v, 16) for v in values)
    return GostCurve(name, oid, p, a, b, q, x, y, cofactor)


_CRYPTOPRO_A = (
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97",
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd94",
    "a6",
    "ffffffffffffffffffffffffffffffff6c611070995ad10045841b09b761b893",
    "1",
    "8d91e471e0989cda27df505a453f2b7635294f2ddf23e3b122acc99c9e9f1e14",
)
_CRYPTOPRO_B = (
    "8000000000000000000000000000000000000000000000000000000000000c99",
    "8000000000000000000000000000000000000000000000000000000000000c96",
    "3e1af419a269a5f866a7d3c25c3df80ae979259373ff2b182f49d4ce7e1bbc8b",
    "800000000000000000000000000000015f700cfff1a624e5e497161bcc8a198f",
    "1",
    "3fa8124359f96680b83d1c3eb2c070e5c545c9858d03ecfb744bf8d717717efc",
)
_CRYPTOPRO_C = (
    "9b9f605f5a858107ab1ec85e6b41c8aacf846e86789051d37998f7b9022d759b",
    "9b9f605f5a858107ab1ec85e6b41c8aacf846e86789051d37998f7b9022d7598",
    "805a",
    "9b9f605f5a858107ab1ec85e6b41c8aa582ca3511eddfb74f02f3a6598980bb9",
    "0",
    "41ece55743711a8c3cbf3783cd08c0ee4d4dc440d4641a8f366e550dfdb3bb67",
)
_TC26_256_A = (
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97",
    "c2173f1513981673af4892c23035a27ce25e2013bf95aa33b22c656f277e7335",
    "295f9bae7428ed9ccc20e7c359a9d41a22fccd9108e17bf7ba9337a6f8ae9513",
    "400000000000000000000000000000000fd8cddfc87b6635c115af556c360c67",
    "91e38443a5e82c0d880923425712b2bb658b9196932e02c78b2582fe742daa28",
    "32879423ab1a0375895786c4bb46e9565fde0b5344766740af268adb32322e5c",
)
_TC26_512_A = (
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc7",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc4",
    "e8c2505dedfc86ddc1bd0b2b6667f1da34b82574761cb0e879bd081cfd0b6265"
    "ee3cb090f30d27614cb4574010da90dd862ef9d4ebee4761503190785a71c760",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "27e69532f48d89116ff22b8d4e0560609b4b38abfad2b85dcacdb1411f10b275",
    "3",
    "7503cfe87a836ae3a61b8816e25450e6ce5e1c93acf1abc1778064fdcbefa921"
    "df1626be4fd036e93d75e6a50e3a41e98028fe5fc235f5b889a589cb5215f2a4",
)
_TC26_512_B = (
    "8000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000006f",
    "8000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000006c",
    "687d1b459dc841457e3e06cf6f5e2517b97c7d614af138bcbf85dc806c4b289f"
    "3e965d2db1416d217f8b276fad1ab69c50f78bee1fa3106efb8ccbc7c5140116",
    "8000000000000000000000000000000000000000000000000000000000000001"
    "49a1ec142565a545acfdb77bd9d40cfa8b996712101bea0ec6346c54374f25bd",
    "2",
    "1a8f7eda389b094c2c071e3647a8940f3c123b697578c213be6dd9e6c8ec7335"
    "dcb228fd1edf4a39152cbcaaf8c0398828041055f94ceeec7e21340780fe41bd",
)
_TC26_512_C = (
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc7",
    "dc9203e514a721875485a529d2c722fb187bc8980eb866644de41c68e1430645"
    "46e861c0e2c9edd92ade71f46fcf50ff2ad97f951fda9f2a2eb6546f39689bd3",
    "b4c4ee28cebc6c2c8ac12952cf37f16ac7efb6a9f69f4b57ffda2e4f0de5ade0"
    "38cbc2fff719d2c18de0284b8bfef3b52b8cc7a5f5bf0a3c8d2319a5312557e1",
    "3fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "c98cdba46506ab004c33a9ff5147502cc8eda9e7a769a12694623cef47f023ed",
    "e2e31edfc23de7bdebe241ce593ef5de2295b7a9cbaef021d385f7074cea043a"
    "a27272a7ae602bf2a7b9033db9ed3610c6fb85487eae97aac5bc7928c1950148",
    "f5ce40d95b5eb899abbccff5911cb8577939804d6527378b8c108c3d2090ff9b"
    "e18e2d33e3021ed2ef32d85822423b6304f726aa854bae07d0396e9a9addc40f",
)

#: The parameter sets by OID. XchA/XchB (key exchange) and TC26 256-B…D reuse
#: the CryptoPro curves (RFC 4357 §11.4, RFC 7836 appendix), under their own
#: names so that a certificate is described as it says.
CURVES: dict[str, GostCurve] = {
    curve.oid: curve
    for curve in (
        _curve("id-GostR3410-2001-CryptoPro-A-ParamSet", "1.2.643.2.2.35.1", *_CRYPTOPRO_A),
        _curve("id-GostR3410-2001-CryptoPro-B-ParamSet", "1.2.643.2.2.35.2", *_CRYPTOPRO_B),
        _curve("id-GostR3410-2001-CryptoPro-C-ParamSet", "1.2.643.2.2.35.3", *_CRYPTOPRO_C),
        _curve("id-GostR3410-2001-CryptoPro-XchA-ParamSet", "1.2.643.2.2.36.0", *_CRYPTOPRO_A),
        _curve("id-GostR3410-2001-CryptoPro-XchB-ParamSet", "1.2.643.2.2.36.1", *_CRYPTOPRO_C),
        _curve("id-tc26-gost-3410-2012-256-paramSetA", "1.2.643.7.1.2.1.1.1", *_TC26_256_A, cofactor=4),
        _curve("id-tc26-gost-3410-2012-256-paramSetB", "1.2.643.7.1.2.1.1.2", *_CRYPTOPRO_A),
        _curve("id-tc26-gost-3410-2012-256-paramSetC", "1.2.643.7.1.2.1.1.3", *_CRYPTOPRO_B),
        _curve("id-tc26-gost-3410-2012-256-paramSetD", "1.2.643.7.1.2.1.1.4", *_CRYPTOPRO_C),
        _curve("id-tc26-gost-3410-12-512-paramSetA", "1.2.643.7.1.2.1.2.1", *_TC26_512_A),
        _curve("id-tc26-gost-3410-12-512-paramSetB", "1.2.643.7.1.2.1.2.2", *_TC26_512_B),
        _curve("id-tc26-gost-3410-2012-512-paramSetC", "1.2.643.7.1.2.1.2.3", *_TC26_512_C, cofactor=4),
    )
}  # fmt: skip


def curve_by_oid(oid: str) -> GostCurve:
    """:raises GostKeyError: not a GOST R 34.10 parameter set known here."""
    curve = CURVES.get(oid)
    if curve is None:
        raise GostKeyError(f"unknown GOST R 34.10 parameter set {oid}")
    return curve


def parameter_set_name(oid: str) -> str:
    """The RFC 4357 / TC26 name of a parameter set, or the OID itself."""
    curve = CURVES.get(oid)
    return curve.name if curve is not None else oid


# --------------------------------------------------------------------------
# Curve arithmetic (Jacobian coordinates: (X, Y, Z) is (X/Z², Y/Z³))
# --------------------------------------------------------------------------

_Jacobian = tuple[int, int, int]
_Affine = tuple[int, int]
_INFINITY: _Jacobian = (1, 1, 0)
#: Window of the base-point table: 2^5 - 1 points per 5 bits of the scalar.
_BASE_WINDOW = 5
#: Width of the NAF used for the public key.
_NAF_WIDTH = 5


def _double(curve: GostCurve, point: _Jacobian) -> _Jacobian:
    x1, y1, z1 = point
    if not z1 or not y1:
        return _INFINITY
    p = curve.p
    yy = y1 * y1 % p
    s = 4 * x1 * yy % p
    zz = z1 * z1 % p
    m = (3 * x1 * x1 + curve.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    return x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y1 * z1 % p


def _add_affine(curve: GostCurve, point: _Jacobian, other: _Affine) -> _Jacobian:
    """Mixed addition: a Jacobian point plus an affine one."""
    x1, y1, z1 = point
    x2, y2 = other
    if not z1:
        return x2, y2, 1
    p = curve.p
    z1z1 = z1 * z1 % p
    h = (x2 * z1z1 - x1) % p
    r = (y2 * z1 * z1z1 - y1) % p
    if not h:
        return _double(curve, point) if not r else _INFINITY
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p


def _add(curve: GostCurve, point: _Jacobian, other: _Jacobian) -> _Jacobian:
    x1, y1, z1 = point
    x2, y2, z2 = other
    if not z1:
        return other
    if not z2:
        return point
    p = curve.p
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    if not h:
        return _double(curve, point) if not r else _INFINITY
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - s1 * hhh) % p, z1 * z2 * h % p


def _to_affine(curve: GostCurve, point: _Jacobian) -> _Affine | None:
    x, y, z = point
    if not z:
        return None
    p = curve.p
    zinv = pow(z, -1, p)
    zinv2 = zinv * zinv % p
    return x * zinv2 % p, y * zinv2 * zinv % p


def _affine_multiples(curve: GostCurve, base: _Affine, count: int) -> list[_Affine]:
    """[base, 2·base, ..., count·base] (none of them infinity for count < q)."""
    result = [base]
    current: _Jacobian = (base[0], base[1], 1)
    for _ in range(count - 1):
        current = _add_affine(curve, current, base)
        affine = _to_affine(curve, current)
        assert affine is not None
        result.append(affine)
    return result


@lru_cache(maxsize=16)
def _base_table(curve: GostCurve) -> tuple[tuple[_Affine, ...], ...]:
    """row i holds j·2^(5i)·P for j = 1..31: k·P is one addition per 5 bits."""
    rows = []
    base: _Affine = (curve.x, curve.y)
    per_row = (1 << _BASE_WINDOW) - 1
    for _ in range((curve.q.bit_length() + _BASE_WINDOW - 1) // _BASE_WINDOW):
        row = _affine_multiples(curve, base, per_row)
        rows.append(tuple(row))
        # 2^5·base = 31·base + base
        nxt = _to_affine(curve, _add_affine(curve, (*row[-1], 1), base))
        assert nxt is not None
        base = nxt
    return tuple(rows)


def _multiply_base(curve: GostCurve, k: int) -> _Jacobian:
    result = _INFINITY
    mask = (1 << _BASE_WINDOW) - 1
    for row in _base_table(curve):
        digit = k & mask
        if digit:
            result = _add_affine(curve, result, row[digit - 1])
        k >>= _BASE_WINDOW
        if not k:
            break
    return result


def _naf(k: int, width: int) -> list[int]:
    digits = []
    modulus = 1 << width
    half = modulus >> 1
    while k:
        if k & 1:
            digit = k % modulus
            if digit >= half:
                digit -= modulus
            k -= digit
        else:
            digit = 0
        digits.append(digit)
        k >>= 1
    return digits


def _multiply(curve: GostCurve, point: _Affine, k: int) -> _Jacobian:
    """k·point for an arbitrary point (a public key): width-5 NAF."""
    odd = _affine_odd_multiples(curve, point)
    p = curve.p
    result = _INFINITY
    for digit in reversed(_naf(k, _NAF_WIDTH)):
        result = _double(curve, result)
        if digit > 0:
            result = _add_affine(curve, result, odd[digit >> 1])
        elif digit < 0:
            x, y = odd[(-digit) >> 1]
            result = _add_affine(curve, result, (x, p - y))
    return result


def _affine_odd_multiples(curve: GostCurve, point: _Affine) -> list[_Affine]:
    """[P, 3P, 5P, ..., 15P] for a width-5 NAF (P of order q: none is
    infinity)."""
    twice = _to_affine(curve, _double(curve, (point[0], point[1], 1)))
    assert twice is not None
    result = [point]
    current: _Jacobian = (point[0], point[1], 1)
    for _ in range((1 << (_NAF_WIDTH - 2)) - 1):
        current = _add_affine(curve, current, twice)
        affine = _to_affine(curve, current)
        assert affine is not None
        result.append(affine)
    return result


def _check_scalar_e(curve: GostCurve, digest: bytes) -> int:
    if len(digest) != curve.size:
        raise ValueError(
            f"a GOST R 34.10-2012 ({curve.bits}) digest is {curve.size} bytes, "
            f"got {len(digest)}"
        )
    # GOST R 34.10-2012 §6.1 step 2: α is the digest read as a number; the
    # byte string holds it least significant byte first (RFC 9215 §3).
    e = int.from_bytes(digest, "little") % curve.q
    return e or 1


def _sign_with_nonce(curve: GostCurve, d: int, e: int, k: int) -> tuple[int, int]:
    """§6.1 steps 4-6: (r, s) for nonce k, or (0, 0) if this k must be redrawn."""
    point = _to_affine(curve, _multiply_base(curve, k))
    assert point is not None  # 0 < k < q
    r = point[0] % curve.q
    s = (r * d + k * e) % curve.q
    return (r, s) if r and s else (0, 0)


def _verify_numbers(curve: GostCurve, qx: int, qy: int, e: int, r: int, s: int) -> bool:
    """§6.2: r and s in (0, q), C = z1·P + z2·Q, and x_C mod q == r."""
    q = curve.q
    if not (0 < r < q and 0 < s < q):
        return False
    v = pow(e, -1, q)
    z1 = s * v % q
    z2 = (q - r * v % q) % q
    point = _add(curve, _multiply_base(curve, z1), _multiply(curve, (qx, qy), z2))
    affine = _to_affine(curve, point)
    return affine is not None and affine[0] % q == r


def _encode_signature(curve: GostCurve, r: int, s: int) -> bytes:
    # RFC 4491 §2.2.2 (kept by RFC 9215): s then r, each big-endian.
    return s.to_bytes(curve.size, "big") + r.to_bytes(curve.size, "big")


def _decode_signature(curve: GostCurve, signature: bytes) -> tuple[int, int] | None:
    if len(signature) != 2 * curve.size:
        return None
    s = int.from_bytes(signature[: curve.size], "big")
    r = int.from_bytes(signature[curve.size :], "big")
    return r, s


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def _key_oid(bits: int) -> str:
    return KEY_OIDS_BY_BITS[bits]


def _default_digest_param(curve: GostCurve) -> str | None:
    # RFC 9215 §2.1: the digestParamSet is present only for 256-bit keys on the
    # CryptoPro curves (what older software expects); TC26 sets omit it.
    if curve.bits == 256 and curve.oid != "1.2.643.7.1.2.1.1.1":
        return OID_STREEBOG256
    return None


@dataclass(frozen=True)
class GostPublicKey:
    """A GOST R 34.10-2012 public key: the point (x, y) on ``curve``."""

    curve: GostCurve
    x: int
    y: int
    #: The digestParamSet the certificate names (informational).
    digest_param_set: str | None = field(default=None, compare=False)
    #: A GOST R 34.10-2001 key (RFC 4491): signs GOST R 34.11-94 digests.
    is_gost2001: bool = False

    def __post_init__(self) -> None:
        if self.is_gost2001 and self.curve.oid not in _CURVES_2001:
            raise GostKeyError("a GOST R 34.10-2001 key is on a CryptoPro curve")
        if not self.curve.contains(self.x, self.y):
            raise GostKeyError("the public key is not a point of its curve")
        # Q = d·P lies in the subgroup of order q; on the curves with a
        # cofactor a point outside it (of small order) would pass the curve
        # equation, so it is checked (once per key: see public_key_from_spki).
        if (
            self.curve.cofactor != 1
            and _multiply(self.curve, (self.x, self.y), self.curve.q)[2]
        ):
            raise GostKeyError("the public key is not in the subgroup of order q")

    @property
    def bits(self) -> int:
        return self.curve.bits

    @property
    def algorithm(self) -> str:
        """``gost2012-256``, ``gost2012-512`` or ``gost2001``."""
        return "gost2001" if self.is_gost2001 else f"gost2012-{self.bits}"

    @property
    def key_oid(self) -> str:
        return OID_GOST2001 if self.is_gost2001 else _key_oid(self.bits)

    def encode(self) -> bytes:
        """The key's octets as the certificate holds them: x || y, little-endian."""
        size = self.curve.size
        return self.x.to_bytes(size, "little") + self.y.to_bytes(size, "little")

    @classmethod
    def from_bytes(
        cls,
        curve: GostCurve,
        raw: bytes,
        digest_param_set: str | None = None,
        *,
        is_gost2001: bool = False,
    ) -> GostPublicKey:
        """The key from its octets x || y (each little-endian)."""
        if len(raw) != 2 * curve.size:
            raise GostKeyError(
                f"a {curve.bits}-bit GOST public key is {2 * curve.size} bytes, "
                f"got {len(raw)}"
            )
        x = int.from_bytes(raw[: curve.size], "little")
        y = int.from_bytes(raw[curve.size :], "little")
        return cls(curve, x, y, digest_param_set, is_gost2001)

    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo (RFC 9215 §2)."""
        octets = _der(0x04, self.encode())
        digest = self.digest_param_set
        if self.is_gost2001 and digest is None:
            digest = OID_GOST3411_94_CRYPTOPRO_PARAMS
        return _der(
            0x30,
            _algorithm_identifier(self.key_oid, self.curve, digest)
            + _der(0x03, b"\x00" + octets),
        )

    @classmethod
    def from_spki(cls, der: bytes) -> GostPublicKey:
        """Read a GOST R 34.10-2012 (or 2001, RFC 4491 §2.3.2)
        SubjectPublicKeyInfo.

        :raises GostKeyError: another algorithm, an unknown parameter set, a
            malformed key or a point off the curve.
        """
        try:
            tag, content, _end = _tlv(der)
            if tag != 0x30:
                raise GostKeyError("not a SubjectPublicKeyInfo")
            (alg_tag, alg), (bits_tag, bit_string) = _children(content)
            key_oid, curve, digest_param = _parse_algorithm(alg)
            if bits_tag != 0x03 or not bit_string or bit_string[0] != 0:
                raise GostKeyError("the public key is not a BIT STRING")
            octet_tag, octets, end = _tlv(bit_string, 1)
            if octet_tag != 0x04 or end != len(bit_string):
                raise GostKeyError("the public key is not an OCTET STRING (RFC 9215)")
        except ValueError as exc:  # GostKeyError is one too
            raise GostKeyError(f"unreadable GOST public key: {exc}") from None
        if key_oid == OID_GOST2001:
            return cls.from_bytes(curve, octets, digest_param, is_gost2001=True)
        if KEY_OIDS[key_oid] != curve.bits:
            raise GostKeyError(
                f"a {KEY_OIDS[key_oid]}-bit key on the {curve.bits}-bit {curve.name}"
            )
        return cls.from_bytes(curve, octets, digest_param)

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """Check ``signature`` (s || r) over a Streebog ``digest`` (GOST R
        34.11-94 for a 2001 key; CMS byte order, read little-endian as RFC
        4491 §2.2.2 and RFC 9215 §3 say)."""
        if len(digest) != self.curve.size:
            return False
        decoded = _decode_signature(self.curve, signature)
        if decoded is None:
            return False
        r, s = decoded
        e = _check_scalar_e(self.curve, digest)
        return _verify_numbers(self.curve, self.x, self.y, e, r, s)

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Hash ``data`` with the Streebog of the key's size (GOST R 34.11-94
        for a 2001 key), then check."""
        if self.is_gost2001:
            return self.verify_digest(gostr341194(data), signature)
        hasher = streebog_for_bits(self.bits)
        hasher.update(data)
        return self.verify_digest(hasher.digest(), signature)


@dataclass(frozen=True)
class GostPrivateKey:
    """A GOST R 34.10-2012 private key d (1 ≤ d < q) on ``curve``."""

    curve: GostCurve
    d: int = field(repr=False)
    digest_param_set: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.d < self.curve.q:
            raise GostKeyError("the private key is out of range for its curve")

    @classmethod
    def generate(cls, curve: GostCurve | str) -> GostPrivateKey:
        """A new random key (``curve`` an object or a parameter-set OID)."""
        chosen = curve_by_oid(curve) if isinstance(curve, str) else curve
        return cls(chosen, secrets.randbelow(chosen.q - 1) + 1)

    @property
    def bits(self) -> int:
        return self.curve.bits

    def public_key(self) -> GostPublicKey:
        point = _to_affine(self.curve, _multiply_base(self.curve, self.d))
        assert point is not None
        return GostPublicKey(self.curve, point[0], point[1], self.digest_param_set)

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a Streebog digest (CMS byte order); returns s || r."""
        e = _check_scalar_e(self.curve, digest)
        while True:
            k = secrets.randbelow(self.curve.q - 1) + 1
            r, s = _sign_with_nonce(self.curve, self.d, e, k)
            if r:
                return _encode_signature(self.curve, r, s)

    def sign(self, data: bytes) -> bytes:
        """Hash ``data`` with the Streebog of the key's size, then sign."""
        hasher = streebog_for_bits(self.bits)
        hasher.update(data)
        return self.sign_digest(hasher.digest())

    def pkcs8(self) -> bytes:
        """The DER PKCS#8 PrivateKeyInfo as the OpenSSL GOST engine writes it
        (privateKey: the raw little-endian number)."""
        return _der(
            0x30,
            b"\x02\x01\x00"
            + _algorithm_identifier(
                _key_oid(self.bits), self.curve, self.digest_param_set
            )
            + _der(0x04, self.d.to_bytes(self.curve.size, "little")),
        )

    def pem(self) -> bytes:
        body = base64.encodebytes(self.pkcs8()).replace(b"\n", b"")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return (
            b"-----BEGIN PRIVATE KEY-----\n"
            + b"\n".join(lines)
            + b"\n-----END PRIVATE KEY-----\n"
        )


# --------------------------------------------------------------------------
# DER reading and writing (just what the key formats need)
# --------------------------------------------------------------------------


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes((n,))
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes((0x80 | len(body),)) + body
    return bytes((tag,)) + length + content


def _der_oid(dotted: str) -> bytes:
    return asn1_core.ObjectIdentifier(dotted).dump()  # type: ignore[no-any-return]


def _tlv(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """(tag, content, end) of the DER value at ``pos`` (definite lengths only)."""
    if pos + 2 > len(data):
        raise GostKeyError("truncated DER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 0 < count <= 4 or pos + count > len(data):
            raise GostKeyError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise GostKeyError("truncated DER")
    return tag, data[pos:end], end


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items = []
    pos = 0
    while pos < len(content):
        tag, value, pos = _tlv(content, pos)
        items.append((tag, value))
    return items


def _oid_text(content: bytes) -> str:
    return str(asn1_core.ObjectIdentifier.load(_der(0x06, content)).dotted)


def _algorithm_identifier(key_oid: str, curve: GostCurve, digest: str | None) -> bytes:
    params = _der_oid(curve.oid)
    if digest is None:
        digest = _default_digest_param(curve)
    if digest is not None:
        params += _der_oid(digest)
    return _der(0x30, _der_oid(key_oid) + _der(0x30, params))


def _parse_algorithm(content: bytes) -> tuple[str, GostCurve, str | None]:
    """(key OID, curve, digest param) of a GOST key AlgorithmIdentifier."""
    parts = _children(content)
    if not parts or parts[0][0] != 0x06:
        raise GostKeyError("malformed AlgorithmIdentifier")
    key_oid = _oid_text(parts[0][1])
    if key_oid != OID_GOST2001 and key_oid not in KEY_OIDS:
        raise GostKeyError(f"not a GOST R 34.10-2012 key ({key_oid})")
    if len(parts) < 2:
        raise GostKeyError("the GOST key has no parameter set")
    tag, params = parts[1]
    if tag == 0x06:  # a bare OID: seen in the wild, not what RFC 9215 says
        return key_oid, curve_by_oid(_oid_text(params)), None
    if tag != 0x30:
        raise GostKeyError("the GOST key has no parameter set")
    oids = [_oid_text(value) for t, value in _children(params) if t == 0x06]
    if not oids:
        raise GostKeyError("the GOST key has no parameter set")
    if key_oid == OID_GOST2001:
        # RFC 4491 §2.3.2: a CryptoPro curve, the GOST R 34.11-94 parameters.
        if oids[0] not in _CURVES_2001:
            raise GostKeyError(
                f"a GOST R 34.10-2001 key on {parameter_set_name(oids[0])}: "
                "not a GOST R 34.10-2001 parameter set"
            )
        if len(oids) > 1 and oids[1] != OID_GOST3411_94_CRYPTOPRO_PARAMS:
            raise GostKeyError(
                f"a GOST R 34.10-2001 key with the hash parameters {oids[1]}: "
                "only id-GostR3411-94-CryptoProParamSet is supported"
            )
        return key_oid, curve_by_oid(oids[0]), OID_GOST3411_94_CRYPTOPRO_PARAMS
    digest = oids[1] if len(oids) > 1 and oids[1] in DIGEST_OIDS else None
    return key_oid, curve_by_oid(oids[0]), digest


@lru_cache(maxsize=1024)
def public_key_from_spki(der: bytes) -> GostPublicKey:
    """:meth:`GostPublicKey.from_spki`, remembered: a CA's key checks every
    certificate and CRL it signed.

    :raises GostKeyError: as ``from_spki``.
    """
    return GostPublicKey.from_spki(der)


def key_parameters(spki_der: bytes) -> tuple[str, int, str] | None:
    """(algorithm, bits, parameter set name) of a GOST SubjectPublicKeyInfo,
    without checking the point; ``None`` if it is not a GOST key this module
    verifies (2012, or 2001 on a CryptoPro set)."""
    try:
        _tag, content, _end = _tlv(spki_der)
        alg = _children(content)[0][1]
        key_oid, curve, _digest = _parse_algorithm(alg)
    except (ValueError, IndexError):
        return None
    if key_oid == OID_GOST2001:
        return "gost2001", 256, curve.name
    bits = KEY_OIDS[key_oid]
    return f"gost2012-{bits}", bits, curve.name


# --------------------------------------------------------------------------
# Private key containers: PKCS#8 (plain or PBES2) and PKCS#12 (PBES2)
# --------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL
)


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        body = b"".join(
            line
            for line in match.group(2).splitlines()
            if line.strip() and b":" not in line
        )
        try:
            blocks.append(
                (match.group(1).decode(), base64.b64decode(body, validate=True))
            )
        except ValueError:
            raise GostKeyError("a damaged PEM block") from None
    return blocks


def _secret(password: str | bytes | None) -> bytes:
    if password is None:
        return b""
    return password.encode("utf-8") if isinstance(password, str) else password


def _decrypt_pbes2(
    algorithm: asn1_algos.EncryptionAlgorithm, data: bytes, password: bytes
) -> bytes:
    """PKCS#5 PBES2 (RFC 8018 §6.2): PBKDF2 with HMAC-SHA-x, AES-CBC."""
    scheme = algorithm["algorithm"].native
    kdf = algorithm.kdf if scheme == "pbes2" else None
    if kdf != "pbkdf2":
        raise GostKeyError(
            f"the key is encrypted with {scheme} ({kdf or 'no PBKDF2'}): only "
            "PBES2 with PBKDF2 and AES-CBC is supported (what OpenSSL 3 writes)"
        )
    try:
        cipher_name = algorithm.encryption_cipher
        mode_name = algorithm.encryption_mode
        prf = algorithm.kdf_hmac
        key_length = algorithm.key_length
        salt = algorithm.kdf_salt
        iterations = algorithm.kdf_iterations
        iv = algorithm.encryption_iv
    except (ValueError, KeyError) as exc:
        # GOST 28147-89 / Kuznyechik encryption of TC26 PFX files lands here.
        raise GostKeyError(
            f"the key's encryption is not supported: {exc}; export the key "
            "with OpenSSL 3 (PBES2 with AES)"
        ) from None
    if cipher_name != "aes" or mode_name != "cbc":
        raise GostKeyError(
            f"the key is encrypted with {cipher_name}-{mode_name}: only AES-CBC "
            "is supported"
        )
    key = hashlib.pbkdf2_hmac(prf, password, salt, iterations, key_length)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1] if padded else 0
    if not 0 < pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise GostKeyError("wrong password or a damaged key")
    return padded[:-pad]


def _private_key_from_pkcs8(der: bytes) -> GostPrivateKey:
    try:
        tag, content, end = _tlv(der)
        if tag != 0x30 or end != len(der):
            raise GostKeyError("not a PKCS#8 PrivateKeyInfo")
        parts = _children(content)
        if len(parts) < 3 or parts[0][0] != 0x02 or parts[2][0] != 0x04:
            raise GostKeyError("not a PKCS#8 PrivateKeyInfo")
        key_oid, curve, digest = _parse_algorithm(parts[1][1])
        if key_oid == OID_GOST2001:
            # Verified for old documents, never used to sign (withdrawn 2019).
            raise GostKeyError(
                "a GOST R 34.10-2001 key: the algorithm is obsolete and not "
                "supported for signing"
            )
        d = _private_number(curve, parts[2][1])
    except GostKeyError:
        raise
    except (ValueError, IndexError) as exc:
        raise GostKeyError(f"unreadable GOST private key: {exc}") from None
    return GostPrivateKey(curve, d, digest)


def _private_number(curve: GostCurve, octets: bytes) -> int:
    """The number in PKCS#8 privateKey, in each form the GOST engine reads:
    raw little-endian (what it writes), a nested OCTET STRING (little-endian)
    or INTEGER (big-endian), or CryptoPro's masked form key || mask... whose
    pieces multiply to d modulo q."""
    size = curve.size
    if len(octets) == size:
        return int.from_bytes(octets, "little")
    if octets[:1] in (b"\x04", b"\x02"):
        tag, inner, end = _tlv(octets)
        if end == len(octets):
            if tag == 0x04 and len(inner) == size:
                return int.from_bytes(inner, "little")
            if tag == 0x02:
                return int.from_bytes(inner, "big")
    if len(octets) % size == 0:
        d = 1
        for offset in range(0, len(octets), size):
            d = d * int.from_bytes(octets[offset : offset + size], "little") % curve.q
        return d
    raise GostKeyError("unrecognised GOST private key encoding")


def load_private_key(
    data: bytes, password: str | bytes | None = None
) -> GostPrivateKey:
    """A GOST R 34.10-2012 private key from PKCS#8 (PEM or DER, plain or
    PBES2-encrypted), as ``openssl genpkey -engine gost`` writes it.

    :raises GostKeyError: not a GOST 2012 key, wrong password, an unsupported
        encryption.
    """
    raw = bytes(data)
    kind = "PRIVATE KEY"
    if raw.lstrip().startswith(b"-----BEGIN"):
        blocks = [b for b in _pem_blocks(raw) if b[0].endswith("PRIVATE KEY")]
        if not blocks:
            raise GostKeyError("no PRIVATE KEY block in the PEM file")
        kind, raw = blocks[0]
    if kind == "ENCRYPTED PRIVATE KEY" or _looks_encrypted(raw):
        try:
            info = asn1_keys.EncryptedPrivateKeyInfo.load(raw)
            algorithm = info["encryption_algorithm"]
            encrypted = info["encrypted_data"].native
        except (ValueError, KeyError, TypeError) as exc:
            raise GostKeyError(f"unreadable encrypted key: {exc}") from None
        raw = _decrypt_pbes2(algorithm, encrypted, _secret(password))
    return _private_key_from_pkcs8(raw)


def _looks_encrypted(der: bytes) -> bool:
    # EncryptedPrivateKeyInfo starts with a SEQUENCE (the algorithm), a plain
    # PrivateKeyInfo with the INTEGER version.
    try:
        _tag, content, _end = _tlv(der)
        return _children(content)[0][0] == 0x30
    except (ValueError, IndexError):
        return False


def _pkcs12_kdf(
    hash_name: str,
    password: bytes,
    salt: bytes,
    purpose: int,
    iterations: int,
    size: int,
) -> bytes:
    """RFC 7292 appendix B.2 (the MAC key of a PKCS#12 file)."""
    u = hashlib.new(hash_name).digest_size
    v = hashlib.new(hash_name).block_size
    diversifier = bytes((purpose,)) * v

    def fill(value: bytes) -> bytes:
        # Repeated to a whole number of v-byte blocks (nothing if empty).
        length = v * -(-len(value) // v)
        return (value * (length // max(len(value), 1) + 1))[:length]

    block = bytearray(fill(salt) + fill(password))
    out = b""
    while len(out) < size:
        a = hashlib.new(hash_name, diversifier + bytes(block)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for offset in range(0, len(block), v):
            chunk = int.from_bytes(block[offset : offset + v], "big") + b
            block[offset : offset + v] = (chunk & ((1 << (8 * v)) - 1)).to_bytes(
                v, "big"
            )
    return out[:size]


def _check_pkcs12_mac(pfx: asn1_pkcs12.Pfx, password: bytes) -> None:
    mac_data = pfx["mac_data"]
    if isinstance(mac_data, asn1_core.Void):
        return
    hash_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if hash_name not in {"sha1", "sha224", "sha256", "sha384", "sha512"}:
        raise GostKeyError(
            f"the PKCS#12 file is protected with a {hash_name} MAC (a TC26 "
            "GOST PFX): not supported; export the key with OpenSSL 3 instead"
        )
    # RFC 7292 B.1: the password as a BMPString with two zero bytes after it;
    # an empty password may also have been taken as no password at all (as
    # OpenSSL's PKCS12_verify_mac tries both).
    bmp = password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"
    candidates = [bmp] if password else [bmp, b""]
    content = pfx["auth_safe"]["content"].native
    for candidate in candidates:
        key = _pkcs12_kdf(
            hash_name,
            candidate,
            mac_data["mac_salt"].native,
            3,
            mac_data["iterations"].native or 1,
            hashlib.new(hash_name).digest_size,
        )
        expected = hmac.new(key, content, hash_name).digest()
        if hmac.compare_digest(expected, mac_data["mac"]["digest"].native):
            return
    raise GostKeyError("cannot open the PKCS#12 file: wrong password")


def _safe_bags(pfx: asn1_pkcs12.Pfx, password: bytes) -> Iterable[asn1_pkcs12.SafeBag]:
    for info in pfx.authenticated_safe:
        kind = info["content_type"].native
        if kind == "data":
            contents = asn1_pkcs12.SafeContents.load(info["content"].native)
        elif kind == "encrypted_data":
            eci = info["content"]["encrypted_content_info"]
            plain = _decrypt_pbes2(
                eci["content_encryption_algorithm"],
                eci["encrypted_content"].native,
                password,
            )
            contents = asn1_pkcs12.SafeContents.load(plain)
        else:
            # envelopedData (public-key privacy mode): not a password's.
            raise GostKeyError(f"a PKCS#12 part of type {kind} is not supported")
        yield from contents


def load_pkcs12(
    data: bytes, password: str | bytes | None
) -> tuple[GostPrivateKey, bytes, list[bytes]]:
    """The GOST key of a PKCS#12 file, its certificate (DER) and the other
    certificates in it. Reads what OpenSSL 3 writes (PBES2 with AES, an
    HMAC-SHA-2 MAC); TC26 "GOST PFX" files (GOST ciphers) are refused with a
    clear message.

    :raises GostKeyError: not a PKCS#12 file with a GOST 2012 key, a wrong
        password, an unsupported protection.
    """
    secret = _secret(password)
    try:
        pfx = asn1_pkcs12.Pfx.load(bytes(data))
        _check_pkcs12_mac(pfx, secret)
        keys: list[GostPrivateKey] = []
        certs: list[bytes] = []
        for bag in _safe_bags(pfx, secret):
            bag_id = bag["bag_id"].native
            value = bag["bag_value"]
            if bag_id == "pkcs8_shrouded_key_bag":
                plain = _decrypt_pbes2(
                    value["encryption_algorithm"],
                    value["encrypted_data"].native,
                    secret,
                )
                keys.append(_private_key_from_pkcs8(plain))
            elif bag_id == "key_bag":
                keys.append(_private_key_from_pkcs8(value.untag().dump()))
            elif bag_id == "cert_bag" and value["cert_id"].native == "x509":
                certs.append(value["cert_value"].parsed.dump())
    except GostKeyError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise GostKeyError(f"cannot read the PKCS#12 file: {exc}") from None
    if len(keys) != 1:
        raise GostKeyError("the PKCS#12 file holds no single private key")
    key = keys[0]
    public = key.public_key().encode()
    for cert in certs:
        if certificate_public_key(cert) == public:
            return key, cert, [c for c in certs if c != cert]
    raise GostKeyError("the PKCS#12 file holds no certificate for its key")


def certificate_public_key(cert_der: bytes) -> bytes | None:
    """The raw GOST public key octets (x || y) of a DER certificate, if any."""
    spki = certificate_spki(cert_der)
    if spki is None:
        return None
    try:
        return GostPublicKey.from_spki(spki).encode()
    except GostKeyError:
        return None


def certificate_spki(cert_der: bytes) -> bytes | None:
    """The DER SubjectPublicKeyInfo of a DER certificate."""
    try:
        _tag, cert, _end = _tlv(cert_der)
        _tag, tbs, _end = _tlv(cert)
        pos = 0
        fields: list[bytes] = []
        while pos < len(tbs):
            start = pos
            _t, _v, pos = _tlv(tbs, pos)
            fields.append(tbs[start:pos])
        # [0] version is optional: SPKI is the 7th (or 6th) field.
        index = 6 if fields[0][0] == 0xA0 else 5
        return fields[index]
    except (ValueError, IndexError):
        return None
