"""A GOST R 34.10-2012 test PKI: certificates, CRLs and OCSP responses.

cryptography cannot sign with GOST keys, so the structures are built with
asn1crypto and signed with :mod:`signing.gost`. Names come from
:func:`signing.pki._name`, so the subjects carry the Russian attributes (ИНН,
ИНН ЮЛ, ОГРН, СНИЛС) exactly as the RSA/ECDSA test PKI writes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from asn1crypto import core, keys, ocsp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing import gost, pki

SIGNATURE_OIDS = {256: gost.OID_SIG_2012_256, 512: gost.OID_SIG_2012_512}
TC26_256_A = "1.2.643.7.1.2.1.1.1"
CRYPTOPRO_A = "1.2.643.2.2.35.1"
TC26_512_A = "1.2.643.7.1.2.1.2.1"
TC26_512_C = "1.2.643.7.1.2.1.2.3"


#: A trust store that fetches nothing: tests run offline.
OFFLINE = {"ocsp": False, "fetch_crls": False, "fetch_issuers": False}


@dataclass(frozen=True)
class GostIssued:
    """A GOST certificate with its key and the chain above it (issuer first)."""

    key: gost.GostPrivateKey
    der: bytes
    chain: tuple[GostIssued, ...] = ()

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.der)

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(Encoding.PEM)

    @property
    def chain_certs(self) -> list[x509.Certificate]:
        return [c.cert for c in self.chain]

    @property
    def serial(self) -> int:
        return int(self.asn1.serial_number)


def _name(**fields: str | None) -> asn1_x509.Name:
    return asn1_x509.Name.load(pki._name(**fields).public_bytes())  # type: ignore[arg-type]


def _uri(url: str) -> asn1_x509.GeneralName:
    return asn1_x509.GeneralName(name="uniform_resource_identifier", value=url)


def _sign(key: gost.GostPrivateKey, tbs: bytes) -> bytes:
    return key.sign(tbs)


def issue(
    key: gost.GostPrivateKey,
    *,
    issuer: GostIssued | None,
    common_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int,
    ca: bool = False,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    key_usage: Iterable[str] | None = None,
    extended_key_usage: Sequence[str] = (),
    signer_key: gost.GostPrivateKey | None = None,
    signature_oid: str | None = None,
    **subject: str | None,
) -> GostIssued:
    """Issue a certificate for ``key`` (self-signed without ``issuer``)."""
    name = _name(common_name=common_name, **subject)
    issuer_name = issuer.asn1.subject if issuer else name
    signing_key = signer_key or (issuer.key if issuer else key)
    public = key.public_key()
    ski = hashlib.sha1(public.encode(), usedforsecurity=False).digest()
    aki = (
        hashlib.sha1(issuer.key.public_key().encode(), usedforsecurity=False).digest()
        if issuer
        else ski
    )
    if key_usage is None:
        key_usage = (
            {"digital_signature", "key_cert_sign", "crl_sign"}
            if ca
            else {"digital_signature", "non_repudiation"}
        )
    extensions: list[dict[str, object]] = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": ca},
        },
        {"extn_id": "key_usage", "critical": True, "extn_value": set(key_usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": aki},
        },
    ]
    if extended_key_usage:
        extensions.append(
            {
                "extn_id": "extended_key_usage",
                "critical": False,
                "extn_value": list(extended_key_usage),
            }
        )
    if crl_url:
        extensions.append(
            {
                "extn_id": "crl_distribution_points",
                "critical": False,
                "extn_value": [{"distribution_point": {"full_name": [_uri(crl_url)]}}],
            }
        )
    if ocsp_url:
        extensions.append(
            {
                "extn_id": "authority_information_access",
                "critical": False,
                "extn_value": [
                    {
                        "access_method": "ocsp",
                        "access_location": _uri(ocsp_url),
                    }
                ],
            }
        )
    algorithm = {"algorithm": signature_oid or SIGNATURE_OIDS[signing_key.bits]}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": algorithm,
            "issuer": issuer_name,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": not_before}),
                "not_after": asn1_x509.Time({"utc_time": not_after}),
            },
            "subject": name,
            "subject_public_key_info": keys.PublicKeyInfo.load(public.spki()),
            "extensions": extensions,
        }
    )
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algorithm,
            "signature_value": _sign(signing_key, tbs.dump()),
        }
    )
    chain = (issuer, *issuer.chain) if issuer else ()
    return GostIssued(key, cert.dump(), chain)


def make_crl(
    issuer: GostIssued,
    revoked: Iterable[tuple[int, dt.datetime]] = (),
    *,
    this_update: dt.datetime,
    next_update: dt.datetime,
    signer_key: gost.GostPrivateKey | None = None,
) -> bytes:
    """A DER CRL of ``issuer`` listing ``(serial, revoked_at)``."""
    key = signer_key or issuer.key
    algorithm = {"algorithm": SIGNATURE_OIDS[key.bits]}
    entries = [
        {
            "user_certificate": serial,
            "revocation_date": asn1_x509.Time({"utc_time": when}),
            "crl_entry_extensions": [
                {"extn_id": "crl_reason", "extn_value": "key_compromise"}
            ],
        }
        for serial, when in revoked
    ]
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": algorithm,
            "issuer": issuer.asn1.subject,
            "this_update": asn1_x509.Time({"utc_time": this_update}),
            "next_update": asn1_x509.Time({"utc_time": next_update}),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "extn_value": 1},
                {
                    "extn_id": "authority_key_identifier",
                    "extn_value": {
                        "key_identifier": hashlib.sha1(
                            issuer.key.public_key().encode(), usedforsecurity=False
                        ).digest()
                    },
                },
            ],
        }
    )
    return bytes(
        asn1_crl.CertificateList(
            {
                "tbs_cert_list": tbs,
                "signature_algorithm": algorithm,
                "signature": _sign(key, tbs.dump()),
            }
        ).dump()
    )


def make_ocsp_response(
    issuer: GostIssued,
    subject: GostIssued,
    *,
    produced_at: dt.datetime,
    revoked_at: dt.datetime | None = None,
    validity: dt.timedelta = dt.timedelta(days=1),
) -> bytes:
    """A DER OCSP response about ``subject``, signed by its CA (RFC 6960 §4.2.2.2
    allows the CA itself as the responder). CertID uses SHA-1, as OpenSSL's
    responder does by default."""
    ca = issuer.asn1
    status = (
        ocsp.CertStatus(name="good", value=core.Null())
        if revoked_at is None
        else ocsp.CertStatus(
            name="revoked",
            value={
                "revocation_time": revoked_at,
                "revocation_reason": "key_compromise",
            },
        )
    )
    tbs = ocsp.ResponseData(
        {
            "responder_id": ocsp.ResponderId(name="by_key", value=ca.public_key.sha1),
            "produced_at": produced_at,
            "responses": [
                {
                    "cert_id": {
                        "hash_algorithm": {"algorithm": "sha1"},
                        "issuer_name_hash": ca.subject.sha1,
                        "issuer_key_hash": ca.public_key.sha1,
                        "serial_number": subject.serial,
                    },
                    "cert_status": status,
                    "this_update": produced_at,
                    "next_update": produced_at + validity,
                }
            ],
        }
    )
    basic = ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": tbs,
            "signature_algorithm": {"algorithm": SIGNATURE_OIDS[issuer.key.bits]},
            "signature": _sign(issuer.key, tbs.dump()),
            "certs": [ca],
        }
    )
    return bytes(
        ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {
                    "response_type": "basic_ocsp_response",
                    "response": basic,
                },
            }
        ).dump()
    )


@dataclass(frozen=True)
class GostPki:
    """root (512-bit) ── intermediate (256-bit, TC26 A) ─┬─ signer_256
                                                        ├─ signer_512
                                                        └─ revoked
    and a foreign root with its own signer."""

    now: dt.datetime
    root: GostIssued
    intermediate: GostIssued
    signer_256: GostIssued
    signer_512: GostIssued
    revoked: GostIssued
    revoked_at: dt.datetime
    foreign_root: GostIssued
    foreign_signer: GostIssued
    root_crl: bytes
    crl: bytes


ROOT_CRL_URL = "http://crl.gost.invalid/root.crl"
CRL_URL = "http://crl.gost.invalid/intermediate.crl"
OCSP_URL = "http://ocsp.gost.invalid/"


def make_pki(now: dt.datetime) -> GostPki:
    day = dt.timedelta(days=1)
    root = issue(
        gost.GostPrivateKey.generate(TC26_512_A),
        issuer=None,
        common_name="Тестовый корневой УЦ ГОСТ",
        organization="АО «Тестовый УЦ»",
        inn_le="7700000001",
        ogrn="1027700000001",
        not_before=now - 3650 * day,
        not_after=now + 3650 * day,
        serial=1,
        ca=True,
    )
    intermediate = issue(
        gost.GostPrivateKey.generate(TC26_256_A),
        issuer=root,
        common_name="Тестовый УЦ ГОСТ",
        organization="АО «Тестовый УЦ»",
        inn_le="7700000001",
        ogrn="1027700000001",
        not_before=now - 1000 * day,
        not_after=now + 1825 * day,
        serial=2,
        ca=True,
        crl_url=ROOT_CRL_URL,
    )

    def signer(key_oid: str, serial: int, surname: str) -> GostIssued:
        return issue(
            gost.GostPrivateKey.generate(key_oid),
            issuer=intermediate,
            common_name="ООО «Ромашка»",
            organization="ООО «Ромашка»",
            surname=surname,
            given_name="Иван Иванович",
            title="Генеральный директор",
            inn="500100732259",
            inn_le="7701234567",
            ogrn="1027700132195",
            snils="11223344595",
            not_before=now - 30 * day,
            not_after=now + 335 * day,
            serial=serial,
            crl_url=CRL_URL,
            ocsp_url=OCSP_URL,
        )

    signer_256 = signer(CRYPTOPRO_A, 0x1001, "Иванов")
    signer_512 = signer(TC26_512_C, 0x1002, "Петров")
    revoked = signer(CRYPTOPRO_A, 0x1003, "Сидоров")
    revoked_at = now - 10 * day
    foreign_root = issue(
        gost.GostPrivateKey.generate(TC26_256_A),
        issuer=None,
        common_name="Тестовый корневой УЦ ГОСТ",  # the same name, another key
        organization="АО «Тестовый УЦ»",
        not_before=now - 3650 * day,
        not_after=now + 3650 * day,
        serial=1,
        ca=True,
    )
    foreign_signer = issue(
        gost.GostPrivateKey.generate(CRYPTOPRO_A),
        issuer=foreign_root,
        common_name="Чужой подписант",
        not_before=now - 30 * day,
        not_after=now + 335 * day,
        serial=0x2001,
    )
    return GostPki(
        now=now,
        root=root,
        intermediate=intermediate,
        signer_256=signer_256,
        signer_512=signer_512,
        revoked=revoked,
        revoked_at=revoked_at,
        foreign_root=foreign_root,
        foreign_signer=foreign_signer,
        root_crl=make_crl(root, this_update=now - day, next_update=now + 7 * day),
        crl=make_crl(
            intermediate,
            [(revoked.serial, revoked_at)],
            this_update=now - day,
            next_update=now + 7 * day,
        ),
    )
