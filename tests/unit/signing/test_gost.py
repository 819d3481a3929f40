"""GOST R 34.11-2012 (Streebog) and GOST R 34.10-2012: known answers of the
standards, cross-checks with gostcrypto, key containers made by OpenSSL.

Vectors and their sources: tests/unit/signing/data/gost/README.md.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import gostcrypto
import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from gostcrypto import gostsignature

from signing import gost, pki
from signing._asn1 import load_certificate

DATA = Path(__file__).parent / "data" / "gost"
OPENSSL = DATA / "openssl"


def _json(name: str) -> dict[str, object]:
    return json.loads((DATA / name).read_text())  # type: ignore[no-any-return]


def _streebog_vectors() -> list[dict[str, str]]:
    return _json("streebog.json")["vectors"]  # type: ignore[return-value]


def _appendix_a() -> list[dict[str, object]]:
    return _json("gost3410_2012_appendix_a.json")["examples"]  # type: ignore[return-value]


def _curve_of(example: dict[str, object]) -> gost.GostCurve:
    values = [int(str(example[k]), 16) for k in ("p", "a", "b", "q", "px", "py")]
    return gost.GostCurve("appendix A", "test", *values)


def _cert(path: Path) -> asn1_x509.Certificate:
    return load_certificate(path.read_bytes())


# --- Streebog ------------------------------------------------------------------


@pytest.mark.parametrize("vector", _streebog_vectors(), ids=lambda v: v["name"])
@pytest.mark.parametrize("bits", [256, 512])
def test_streebog_known_answers_of_the_standard(
    vector: dict[str, str], bits: int
) -> None:
    message = bytes.fromhex(vector["message_hex"])
    function = gost.streebog256 if bits == 256 else gost.streebog512

    digest = function(message)

    assert digest.hex() == vector[f"streebog{bits}"]
    # The byte string is the standard's number, least significant byte first.
    assert digest[::-1].hex() == vector[f"streebog{bits}_standard"]


@pytest.mark.parametrize("bits", [256, 512])
def test_streebog_matches_the_tk26_digested_data(bits: int) -> None:
    info = asn1_cms.ContentInfo.load(
        (DATA / f"tk26_digested_data_{bits}.der").read_bytes()
    )
    digested = info["content"]
    content = digested["encap_content_info"]["content"].native

    assert gost.Streebog(bits // 8, content).digest() == digested["digest"].native


def test_streebog_streams_like_one_call() -> None:
    data = random.Random(7).randbytes(1000)
    one = gost.Streebog(64, data)
    streamed = gost.Streebog(64)
    for start, end in [(0, 1), (1, 63), (63, 64), (64, 200), (200, 1000)]:
        streamed.update(memoryview(data)[start:end])
    fork = streamed.copy()
    fork.update(b"more")

    assert streamed.digest() == one.digest()
    assert streamed.hexdigest() == one.hexdigest()
    assert fork.digest() == gost.streebog512(data + b"more")
    assert (one.name, one.digest_size, one.block_size) == ("streebog512", 64, 64)
    with pytest.raises(ValueError, match="32 or 64"):
        gost.Streebog(48)


@pytest.mark.parametrize("length", [0, 1, 55, 63, 64, 65, 127, 128, 129, 500])
def test_streebog_agrees_with_gostcrypto(length: int) -> None:
    data = random.Random(length).randbytes(length)
    for name, function in (
        ("streebog256", gost.streebog256),
        ("streebog512", gost.streebog512),
    ):
        reference = bytes(gostcrypto.gosthash.new(name, data=bytearray(data)).digest())

        assert function(data) == reference


# --- GOST R 34.10-2012: the standard's examples -----------------------------


@pytest.mark.parametrize("example", _appendix_a(), ids=lambda e: str(e["bits"]))
def test_appendix_a_examples(example: dict[str, object]) -> None:
    curve = _curve_of(example)
    number = {
        k: int(str(example[k]), 16) for k in ("d", "e", "k", "r", "s", "qx", "qy")
    }
    key = gost.GostPrivateKey(curve, number["d"])
    public = key.public_key()

    assert (public.x, public.y) == (number["qx"], number["qy"])
    assert curve.bits == example["bits"]
    r, s = gost._sign_with_nonce(curve, number["d"], number["e"], number["k"])
    assert (r, s) == (number["r"], number["s"])

    # The same numbers through the byte interface: digest little-endian,
    # signature s || r big-endian (RFC 4491 §2.2.2).
    digest = number["e"].to_bytes(curve.size, "little")
    signature = number["s"].to_bytes(curve.size, "big") + number["r"].to_bytes(
        curve.size, "big"
    )
    assert public.verify_digest(digest, signature)
    assert public.verify_digest(digest, key.sign_digest(digest))
    assert not public.verify_digest(
        digest, signature[curve.size :] + signature[: curve.size]
    )
    tampered = bytearray(digest)
    tampered[0] ^= 1
    assert not public.verify_digest(bytes(tampered), signature)


# --- every parameter set, and gostcrypto as a second implementation ----------

_GOSTCRYPTO_NAMES = {
    "1.2.643.7.1.2.1.1.1": "id-tc26-gost-3410-2012-256-paramSetA",
    "1.2.643.7.1.2.1.1.2": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.7.1.2.1.1.3": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.7.1.2.1.1.4": "id-tc26-gost-3410-2012-256-paramSetD",
    # CryptoPro A/B/C and XchA/XchB are the TC26 256 B/C/D curves (RFC 7836).
    "1.2.643.2.2.35.1": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.2.2.35.2": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.2.2.35.3": "id-tc26-gost-3410-2012-256-paramSetD",
    "1.2.643.2.2.36.0": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.2.2.36.1": "id-tc26-gost-3410-2012-256-paramSetD",
    "1.2.643.7.1.2.1.2.1": "id-tc26-gost-3410-12-512-paramSetA",
    "1.2.643.7.1.2.1.2.2": "id-tc26-gost-3410-12-512-paramSetB",
    "1.2.643.7.1.2.1.2.3": "id-tc26-gost-3410-2012-512-paramSetC",
}


def _gostcrypto(curve: gost.GostCurve) -> object:
    mode = gostsignature.MODE_256 if curve.bits == 256 else gostsignature.MODE_512
    return gostsignature.new(
        mode, gostsignature.CURVES_R_1323565_1_024_2019[_GOSTCRYPTO_NAMES[curve.oid]]
    )


def test_the_parameter_sets_are_those_of_the_standards() -> None:
    assert set(gost.CURVES) == set(_GOSTCRYPTO_NAMES)
    for oid, curve in gost.CURVES.items():
        reference = _gostcrypto(curve)
        values = tuple(getattr(reference, f"_{k}") for k in "pabqxy")

        assert (curve.p, curve.a, curve.b, curve.q, curve.x, curve.y) == values, oid
        assert curve.contains(curve.x, curve.y)
        assert gost.parameter_set_name(oid) == curve.name
    assert gost.parameter_set_name("1.2.3") == "1.2.3"
    with pytest.raises(gost.GostKeyError, match="unknown"):
        gost.curve_by_oid("1.2.3")


@pytest.mark.parametrize("oid", sorted(gost.CURVES))
def test_signatures_cross_check_with_gostcrypto(oid: str) -> None:
    curve = gost.CURVES[oid]
    key = gost.GostPrivateKey.generate(oid)
    public = key.public_key()
    digest = os.urandom(curve.size)
    reference = _gostcrypto(curve)
    size = curve.size
    # gostcrypto: numbers big-endian, the digest read as a big-endian number,
    # the signature r || s.
    their_public = bytearray(
        public.x.to_bytes(size, "big") + public.y.to_bytes(size, "big")
    )
    ours = key.sign_digest(digest)

    assert reference.verify(
        their_public, bytearray(digest[::-1]), bytearray(ours[size:] + ours[:size])
    )  # type: ignore[attr-defined]
    theirs = bytes(
        reference.sign(bytearray(key.d.to_bytes(size, "big")), bytearray(digest[::-1]))
    )  # type: ignore[attr-defined]
    assert public.verify_digest(digest, theirs[size:] + theirs[:size])
    assert bytes(
        reference.public_key_generate(bytearray(key.d.to_bytes(size, "big")))
    ) == bytes(their_public)  # type: ignore[attr-defined]
    assert public.verify(b"data", key.sign(b"data"))
    assert not public.verify(b"date", key.sign(b"data"))


def test_malformed_signatures_and_keys_are_refused() -> None:
    curve = gost.curve_by_oid("1.2.643.7.1.2.1.1.1")
    key = gost.GostPrivateKey.generate(curve)
    public = key.public_key()
    digest = bytes(range(32))
    q = curve.q.to_bytes(32, "big")

    assert not public.verify_digest(digest, b"\x01" * 63)
    assert not public.verify_digest(digest[:31], key.sign_digest(digest))
    assert not public.verify_digest(digest, q + b"\x00" * 31 + b"\x01")  # s = q
    assert not public.verify_digest(digest, b"\x00" * 63 + b"\x01" + bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        key.sign_digest(b"short")
    with pytest.raises(gost.GostKeyError, match="not a point"):
        gost.GostPublicKey(curve, 1, 2)
    with pytest.raises(gost.GostKeyError, match="out of range"):
        gost.GostPrivateKey(curve, curve.q)
    with pytest.raises(gost.GostKeyError, match="64 bytes"):
        gost.GostPublicKey.from_bytes(curve, b"\x00" * 10)
    assert str(key.d) not in repr(key)
    assert repr(curve) == "GostCurve('id-tc26-gost-3410-2012-256-paramSetA')"


def test_public_key_round_trips_through_spki() -> None:
    for oid in ("1.2.643.7.1.2.1.1.1", "1.2.643.2.2.35.1", "1.2.643.7.1.2.1.2.3"):
        public = gost.GostPrivateKey.generate(oid).public_key()
        spki = public.spki()

        assert gost.GostPublicKey.from_spki(spki) == public
        assert gost.key_parameters(spki) == (
            public.algorithm,
            public.bits,
            public.curve.name,
        )
    assert gost.key_parameters(b"\x30\x00") is None
    with pytest.raises(gost.GostKeyError):
        gost.GostPublicKey.from_spki(b"\x04\x00")


# --- certificates and CMS of TK 26 -------------------------------------------


@pytest.mark.parametrize("bits", [256, 512])
def test_tk26_certificates_verify(bits: int) -> None:
    tk26 = _json("tk26.json")[f"certificate_{bits}"]
    cert = _cert(DATA / tk26["file"])  # type: ignore[index]
    spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
    public = gost.GostPublicKey.from_spki(spki)
    private = gost.GostPrivateKey(public.curve, int(tk26["private_key"], 16))  # type: ignore[index]

    assert public.curve.name == tk26["parameter_set"]  # type: ignore[index]
    assert private.public_key() == public
    assert public.verify(cert["tbs_certificate"].dump(), cert["signature_value"].native)
    assert gost.certificate_public_key(cert.dump()) == public.encode()
    assert gost.certificate_spki(cert.dump()) == spki


# --- key containers ----------------------------------------------------------


@pytest.mark.parametrize("bits", [256, 512])
def test_openssl_keys_load_in_every_container(bits: int) -> None:
    pem = (OPENSSL / f"key{bits}.pem").read_bytes()
    key = gost.load_private_key(pem)
    cert = (OPENSSL / f"cert{bits}.pem").read_bytes()

    cert_der = load_certificate(cert).dump()

    assert key.public_key().encode() == gost.certificate_public_key(cert_der)
    assert key.bits == bits
    # What OpenSSL wrote is what we write.
    assert key.pem() == pem
    assert gost.load_private_key(key.pkcs8()) == key
    p12_key, p12_cert, others = gost.load_pkcs12(
        (OPENSSL / f"key{bits}.p12").read_bytes(), "secret"
    )
    assert (p12_key, p12_cert, others) == (key, cert_der, [])


def test_encrypted_pkcs8_needs_its_password() -> None:
    data = (OPENSSL / "key256_encrypted.pem").read_bytes()
    plain = gost.load_private_key((OPENSSL / "key256.pem").read_bytes())

    assert gost.load_private_key(data, "secret") == plain
    assert gost.load_private_key(data, b"secret") == plain
    with pytest.raises(gost.GostKeyError, match="wrong password|damaged"):
        gost.load_private_key(data, "wrong")


def test_pkcs12_with_a_wrong_password_is_refused() -> None:
    with pytest.raises(gost.GostKeyError, match="wrong password"):
        gost.load_pkcs12((OPENSSL / "key256.p12").read_bytes(), "wrong")
    with pytest.raises(gost.GostKeyError, match="PKCS#12"):
        gost.load_pkcs12(b"\x30\x03\x02\x01\x03", "secret")


def _pkcs8_with(key: gost.GostPrivateKey, private_key: bytes) -> bytes:
    der = key.pkcs8()
    raw = key.d.to_bytes(key.curve.size, "little")
    prefix = bytes((0x04, len(raw))) + raw
    assert der.endswith(prefix)
    body = der[2 : -len(prefix)] + gost._der(0x04, private_key)
    return gost._der(0x30, body)


def test_every_private_key_encoding_of_the_gost_engine_is_read() -> None:
    key = gost.GostPrivateKey.generate("1.2.643.2.2.35.1")
    size, q = key.curve.size, key.curve.q
    mask = 0x1234567890ABCDEF
    masked = key.d * pow(mask, -1, q) % q
    forms = {
        "octet string": gost._der(0x04, key.d.to_bytes(size, "little")),
        "integer": gost._der(0x02, key.d.to_bytes(size + 1, "big")),
        "masked": masked.to_bytes(size, "little") + mask.to_bytes(size, "little"),
    }
    for name, octets in forms.items():
        assert gost.load_private_key(_pkcs8_with(key, octets)) == key, name
    with pytest.raises(gost.GostKeyError, match="encoding"):
        gost.load_private_key(_pkcs8_with(key, b"\x01\x02\x03"))


def test_keys_of_other_algorithms_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(gost.GostKeyError, match="not a GOST"):
        gost.load_private_key(ec_key)
    legacy = gost._der(
        0x30,
        b"\x02\x01\x00"
        + gost._der(
            0x30,
            gost._der_oid(gost.OID_GOST2001)
            + gost._der(0x30, gost._der_oid("1.2.643.2.2.35.1")),
        )
        + gost._der(0x04, bytes(31) + b"\x01"),
    )
    with pytest.raises(gost.GostKeyError, match="2001.*obsolete"):
        gost.load_private_key(legacy)
    with pytest.raises(gost.GostKeyError, match="PRIVATE KEY"):
        gost.load_private_key(
            b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
        )


# --- edges of the arithmetic and of the encodings ------------------------------


def test_degenerate_sums_do_not_verify() -> None:
    curve = gost.curve_by_oid("1.2.643.2.2.35.1")
    key = gost.GostPrivateKey.generate(curve)
    public = key.public_key()
    q, e, r = curve.q, 12345, 67890
    # s = r·d makes z1·P + z2·Q the point at infinity; s = -r·d makes the
    # two terms equal (the doubling case of the addition).
    infinity_s = r * key.d % q
    doubling_s = -r * key.d % q

    assert not gost._verify_numbers(curve, public.x, public.y, e, r, infinity_s)
    assert not gost._verify_numbers(curve, public.x, public.y, e, r, doubling_s)
    point = (public.x, public.y, 1)
    assert gost._add(curve, gost._INFINITY, point) == point
    assert gost._add(curve, point, gost._INFINITY) == point


def _point_outside_the_subgroup(curve: gost.GostCurve) -> tuple[int, int]:
    rng = random.Random(1)
    p = curve.p
    assert p % 4 == 3
    while True:
        x = rng.randrange(p)
        rhs = (x * x * x + curve.a * x + curve.b) % p
        y = pow(rhs, (p + 1) // 4, p)
        if y * y % p == rhs and gost._multiply(curve, (x, y), curve.q)[2]:
            return x, y


@pytest.mark.parametrize("oid", ["1.2.643.7.1.2.1.1.1", "1.2.643.7.1.2.1.2.3"])
def test_points_outside_the_subgroup_are_refused(oid: str) -> None:
    curve = gost.curve_by_oid(oid)
    assert curve.cofactor == 4
    x, y = _point_outside_the_subgroup(curve)

    assert curve.contains(x, y)
    with pytest.raises(gost.GostKeyError, match="subgroup"):
        gost.GostPublicKey(curve, x, y)


def _spki(algorithm: bytes, bit_string: bytes) -> bytes:
    return gost._der(0x30, gost._der(0x30, algorithm) + gost._der(0x03, bit_string))


def test_malformed_public_keys_are_refused() -> None:
    public = gost.GostPrivateKey.generate("1.2.643.2.2.35.1").public_key()
    key_oid = gost._der_oid(gost.OID_GOST2012_256)
    params = gost._der(0x30, gost._der_oid("1.2.643.2.2.35.1"))
    octets = gost._der(0x04, public.encode())
    cases = {
        "not a SubjectPublicKeyInfo": b"\x04\x00",
        "BIT STRING": _spki(key_oid + params, b"\x01" + octets),
        "OCTET STRING": _spki(key_oid + params, b"\x00" + gost._der(0x02, b"\x01")),
        "512-bit key on the 256-bit": _spki(
            gost._der_oid(gost.OID_GOST2012_512) + params, b"\x00" + octets
        ),
        "truncated": public.spki()[:-3],
        "DER length": b"\x30\x85\x00\x00\x00\x00\x01",
        "malformed AlgorithmIdentifier": _spki(params, b"\x00" + octets),
        "no parameter set": _spki(key_oid, b"\x00" + octets),
        "no parameter set ": _spki(key_oid + b"\x05\x00", b"\x00" + octets),
        "no parameter set  ": _spki(key_oid + b"\x30\x00", b"\x00" + octets),
        "not a GOST R 34.10-2012 key": _spki(
            gost._der_oid("1.2.840.10045.2.1") + params, b"\x00" + octets
        ),
    }
    for message, der in cases.items():
        with pytest.raises(gost.GostKeyError, match=message.strip()):
            gost.GostPublicKey.from_spki(der)
    # A bare parameter-set OID (not RFC 9215, seen in the wild) is accepted.
    bare = _spki(key_oid + gost._der_oid("1.2.643.2.2.35.1"), b"\x00" + octets)
    assert gost.public_key_from_spki(bare) == public


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("key256_pbe_3des.pem", "pkcs12_sha1_tripledes_3key"),
        ("key256_scrypt.pem", "only PBES2 with PBKDF2"),
        ("key256_pbes2_des3.pem", "only AES-CBC"),
        ("key256_pbes2_gost89.pem", "not supported.*OpenSSL 3"),
    ],
)
def test_unsupported_key_encryptions_are_named(name: str, message: str) -> None:
    with pytest.raises(gost.GostKeyError, match=message):
        gost.load_private_key((OPENSSL / name).read_bytes(), "secret")


def test_damaged_private_keys_are_refused() -> None:
    encrypted = (OPENSSL / "key256_encrypted.pem").read_bytes()
    cases: dict[bytes, str] = {
        b"-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----\n": "PEM",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n"
        b"-----END ENCRYPTED PRIVATE KEY-----\n": "unreadable encrypted key",
        b"\x30\x03\x02\x01\x00": "PKCS#8",
        b"\x30\x03\x02\x01\x00\x00": "PKCS#8",
        b"\x31\x00": "PKCS#8",
        b"\x30\x05\x02\x01\x00\x04\x00": "PKCS#8",
        b"\x30\x02\x30": "truncated",
    }
    for data, message in cases.items():
        with pytest.raises(gost.GostKeyError, match=message):
            gost.load_private_key(data)
    with pytest.raises(gost.GostKeyError, match="wrong password"):
        gost.load_private_key(encrypted)  # no password at all
    assert not gost._looks_encrypted(b"\x30")


@pytest.mark.parametrize(
    ("name", "password"),
    [("key256_nopass.p12", ""), ("key256_nopass.p12", None)]
    + [("key256_nomac_plain.p12", p) for p in ("secret", None)],
)
def test_pkcs12_variants_openssl_writes(name: str, password: str | None) -> None:
    key, cert, others = gost.load_pkcs12((OPENSSL / name).read_bytes(), password)

    assert key == gost.load_private_key((OPENSSL / "key256.pem").read_bytes())
    assert gost.certificate_public_key(cert) == key.public_key().encode()
    assert others == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cert256_only.p12", "no single private key"),
        ("key256_only.p12", "no certificate for its key"),
        ("key256_gostmac.p12", "1.2.643.7.1.1.2.3 MAC.*TC26"),
    ],
)
def test_pkcs12_files_that_cannot_sign(name: str, message: str) -> None:
    with pytest.raises(gost.GostKeyError, match=message):
        gost.load_pkcs12((OPENSSL / name).read_bytes(), "secret")


def test_certificate_helpers_on_other_input() -> None:
    rsa = pki.make_root_ca("RSA").der

    assert gost.certificate_spki(rsa) is not None
    assert gost.certificate_public_key(rsa) is None
    assert gost.certificate_spki(b"\x30\x00") is None
    assert gost.certificate_public_key(b"garbage") is None
