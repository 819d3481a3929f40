"""Signing in the browser: the PKCS#12 key is opened and used by WebCrypto in the page.

A stand (tests/e2e/harness/) serves the signing form under ``script-src 'self'``
with the real ``signing.js`` and a fake two-phase signer whose ``complete`` verifies
every signature with ``cryptography``. Every request the browser makes is recorded,
on both sides, to show that neither the key file nor its password ever leaves it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    PrivateFormat,
    pkcs12,
)
from playwright.sync_api import ConsoleMessage, Locator, Page, Request, expect

from signing.pki import Issued, make_root_ca, make_signer
from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.harness import HarnessState, Item, Registered, create_harness_app, verify
from tests.services import free_port

pytestmark = pytest.mark.e2e

PASSWORD = "Secr3t-пароль"  # non-ASCII: PBES2 takes it as UTF-8, the MAC as BMPString
NOT_PKCS12 = "не является файлом ключа PKCS#12"


@dataclass(frozen=True)
class Pki:
    rsa: Issued
    ec: Issued
    other: Issued
    expired: Issued
    p384: Issued


@dataclass(frozen=True)
class Harness:
    url: str
    state: HarnessState


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = make_root_ca()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return Pki(
        rsa=make_signer(root, key_type="rsa2048"),
        ec=make_signer(
            root, key_type="p256", surname="Петрова", given_name="Анна Сергеевна"
        ),
        other=make_signer(
            root, key_type="rsa2048", surname="Сидоров", given_name="Пётр"
        ),
        expired=make_signer(
            root,
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=10),
        ),
        p384=make_signer(root, key_type="p384"),
    )


@pytest.fixture(scope="module")
def harness_server(pki: Pki) -> Iterator[Harness]:
    registered = [
        Registered(
            "rsa", pki.rsa.cert, "Иванов Иван Иванович — ООО «Ромашка» (RSA 2048)"
        ),
        Registered(
            "ec", pki.ec.cert, "Петрова Анна Сергеевна — ООО «Ромашка» (ECDSA P-256)"
        ),
        Registered("expired", pki.expired.cert, "Иванов Иван Иванович (истёк)"),
    ]
    state = HarnessState(certificates={r.id: r for r in registered})
    server = LiveServer(create_harness_app(state), free_port())
    server.start()
    yield Harness(server.url, state)
    server.stop()


@pytest.fixture()
def harness(harness_server: Harness) -> Harness:
    harness_server.state.reset()
    return harness_server


@pytest.fixture()
def sent(page: Page) -> list[Request]:
    """Every request the page makes."""
    requests: list[Request] = []
    page.on("request", lambda req: requests.append(req))
    return requests


@pytest.fixture()
def console_errors(page: Page) -> list[str]:
    """Console errors (a CSP violation is one) and uncaught exceptions."""
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def p12_of(issued: Issued, password: str = PASSWORD) -> bytes:
    return issued.pkcs12(password)


def legacy_p12_of(issued: Issued, password: str) -> bytes:
    """3DES and a SHA-1 MAC, as older Windows and OpenSSL exports are."""
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password.encode())
    )
    return pkcs12.serialize_key_and_certificates(
        b"legacy", issued.key, issued.cert, list(issued.chain), encryption
    )


def der(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def gost_p12(*, gost_mac: bool) -> bytes:
    """A PKCS#12 with a GOST R 34.10-2012 key in a plain keyBag, or (``gost_mac``)
    protected by a GOST R 34.11-2012 MAC, as CryptoPro exports them."""
    private_key_info = der(
        0x30,
        core.Integer(0).dump(),
        der(
            0x30,
            oid("1.2.643.7.1.1.1.1"),
            der(0x30, oid("1.2.643.7.1.2.1.1.1"), oid("1.2.643.7.1.1.2.2")),
        ),
        der(0x04, der(0x04, os.urandom(32))),
    )
    safe_bag = der(0x30, oid("1.2.840.113549.1.12.10.1.1"), der(0xA0, private_key_info))
    data = oid("1.2.840.113549.1.7.1")
    auth_safe = der(0x30, der(0x30, data, der(0xA0, der(0x04, der(0x30, safe_bag)))))
    parts = [core.Integer(3).dump(), der(0x30, data, der(0xA0, der(0x04, auth_safe)))]
    if gost_mac:
        parts.append(
            der(
                0x30,
                der(0x30, der(0x30, oid("1.2.643.7.1.1.2.2")), der(0x04, bytes(32))),
                der(0x04, os.urandom(8)),
                core.Integer(2000).dump(),
            )
        )
    return der(0x30, *parts)


def open_sign_page(page: Page, harness: Harness) -> None:
    page.goto(harness.url + "/")
    expect(page.locator("form[data-docflow-sign-ready]")).to_have_count(1)
    expect(page.locator("button[type=submit]")).to_be_enabled()


def submit(page: Page, certificate_id: str, key_file: bytes, password: str) -> None:
    page.select_option("#certificate_id", certificate_id)
    page.set_input_files(
        "#key_file",
        files=[
            {"name": "key.p12", "mimeType": "application/x-pkcs12", "buffer": key_file}
        ],
    )
    page.fill("#key_password", password)
    page.click("button[type=submit]")


def assert_secrets_never_sent(
    harness: Harness, sent: list[Request], key_file: bytes, password: str
) -> None:
    secrets = [
        key_file,
        base64.b64encode(key_file),
        key_file[-64:],  # the MAC and its salt: no part of the file either
        password.encode(),
        json.dumps(password).encode(),  # JSON's \uXXXX form
    ]
    assert sent, "the page made no request at all"
    for req in sent:
        body = req.post_data_buffer or b""
        assert password not in req.url
        for secret in secrets:
            assert secret not in body, (
                f"{req.method} {req.url} carries the key or password"
            )
    for recorded in harness.state.requests:
        assert password not in recorded.path
        for secret in secrets:
            assert secret not in recorded.body, (
                f"the server received the key: {recorded.path}"
            )


def posts_to(sent: list[Request], path: str) -> list[Request]:
    return [r for r in sent if r.method == "POST" and r.url.endswith(path)]


def status(page: Page, kind: str = "error") -> Locator:
    return page.locator(f"[data-sign-status] [data-sign-message={kind}]")


@pytest.mark.parametrize(
    ("certificate_id", "scheme"),
    [("rsa", "pkcs1"), ("ec", "ecdsa")],
    ids=["rsa2048", "p256"],
)
def test_sign_succeeds_with_the_registered_key(
    page: Page,
    harness: Harness,
    pki: Pki,
    sent: list[Request],
    console_errors: list[str],
    certificate_id: str,
    scheme: str,
) -> None:
    issued = pki.rsa if certificate_id == "rsa" else pki.ec
    key_file = p12_of(issued)
    open_sign_page(page, harness)
    assert (
        "script-src 'self'"
        in (
            page.context.request.get(harness.url + "/").headers[
                "content-security-policy"
            ]
        )
    )

    submit(page, certificate_id, key_file, PASSWORD)

    expect(page).to_have_url(re.compile(r"/signed/[\w-]+$"))
    expect(page.locator("h1")).to_have_text("Документ подписан")
    [(cert_id, items)] = harness.state.verified.values()
    assert cert_id == certificate_id
    assert [(i.kind, i.scheme, i.hash) for i in items] == [
        ("cms", scheme, "SHA-256"),
        ("pades", scheme, "SHA-256"),
    ]
    assert (
        len(posts_to(sent, "/sign/prepare"))
        == len(posts_to(sent, "/sign/complete"))
        == 1
    )
    prepare = posts_to(sent, "/sign/prepare")[0]
    assert prepare.headers["x-csrftoken"] == harness.state.csrf_token
    assert json.loads(prepare.post_data_buffer or b"") == {
        "certificate_id": certificate_id
    }
    assert_secrets_never_sent(harness, sent, key_file, PASSWORD)
    assert console_errors == []
    screenshot(page, f"browser-signing-success-{certificate_id}")


def test_wrong_password_is_reported_and_nothing_is_sent(
    page: Page, harness: Harness, pki: Pki, sent: list[Request]
) -> None:
    key_file = p12_of(pki.rsa)
    open_sign_page(page, harness)

    submit(page, "rsa", key_file, "не тот пароль")

    expect(status(page)).to_have_text("Неверный пароль к файлу ключа")
    expect(page.locator("#key_password")).to_be_focused()
    expect(page.locator("button[type=submit]")).to_be_enabled()
    assert posts_to(sent, "/sign/prepare") == []
    assert_secrets_never_sent(harness, sent, key_file, "не тот пароль")
    screenshot(page, "browser-signing-wrong-password")

    # The signatory corrects the password in the same form.
    page.fill("#key_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/signed/"))
    assert_secrets_never_sent(harness, sent, key_file, PASSWORD)


def test_key_of_another_certificate_is_refused_before_prepare(
    page: Page, harness: Harness, pki: Pki, sent: list[Request]
) -> None:
    key_file = p12_of(pki.other)
    open_sign_page(page, harness)

    submit(page, "rsa", key_file, PASSWORD)

    expect(status(page)).to_have_text(
        "Файл ключа не соответствует выбранному сертификату"
    )
    assert posts_to(sent, "/sign/prepare") == []
    assert not any(r.path.startswith("/sign/") for r in harness.state.requests)
    assert_secrets_never_sent(harness, sent, key_file, PASSWORD)


@pytest.mark.parametrize(
    "key_file",
    [
        os.urandom(3000),
        b"0" + os.urandom(3000),  # starts like a DER SEQUENCE (0x30)
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        b"",
    ],
    ids=["random", "random-0x30", "pdf", "pem", "empty"],
)
def test_a_file_that_is_no_pkcs12_is_explained(
    page: Page, harness: Harness, sent: list[Request], key_file: bytes
) -> None:
    open_sign_page(page, harness)

    submit(page, "rsa", key_file, PASSWORD)

    expect(status(page)).to_contain_text(NOT_PKCS12)
    assert posts_to(sent, "/sign/prepare") == []


def test_truncated_key_file_is_explained(
    page: Page, harness: Harness, pki: Pki
) -> None:
    key_file = p12_of(pki.rsa)
    open_sign_page(page, harness)
    submit(page, "rsa", key_file[: len(key_file) // 2], PASSWORD)
    expect(status(page)).to_contain_text(NOT_PKCS12)


def test_file_with_certificates_only_says_there_is_no_key(
    page: Page, harness: Harness, pki: Pki
) -> None:
    key_file = pkcs12.serialize_key_and_certificates(
        b"certs", None, None, [pki.rsa.cert], BestAvailableEncryption(PASSWORD.encode())
    )
    open_sign_page(page, harness)
    submit(page, "rsa", key_file, PASSWORD)
    expect(status(page)).to_contain_text("В файле нет закрытого ключа")


@pytest.mark.parametrize("gost_mac", [False, True], ids=["gost-key", "gost-mac"])
def test_gost_key_points_to_cryptopro_plugin(
    page: Page, harness: Harness, sent: list[Request], gost_mac: bool
) -> None:
    open_sign_page(page, harness)
    submit(page, "rsa", gost_p12(gost_mac=gost_mac), PASSWORD)
    expect(status(page)).to_contain_text(
        "Ключи ГОСТ подписываются через КриптоПро ЭЦП Browser plug-in"
    )
    assert posts_to(sent, "/sign/prepare") == []


def test_server_error_message_is_shown(page: Page, harness: Harness, pki: Pki) -> None:
    """A 4xx answer's ``error.message`` reaches the signatory as it is."""
    open_sign_page(page, harness)
    page.route(
        "**/sign/complete",
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body=json.dumps(
                {
                    "error": {
                        "code": "invalid_transition",
                        "message": "Документ уже подписан другим сотрудником",
                        "details": {},
                    }
                }
            ),
        ),
    )
    submit(page, "rsa", p12_of(pki.rsa), PASSWORD)
    expect(status(page)).to_have_text("Документ уже подписан другим сотрудником")
    expect(page.locator("button[type=submit]")).to_be_enabled()


def test_expired_certificate_is_warned_about(
    page: Page, harness: Harness, pki: Pki
) -> None:
    open_sign_page(page, harness)
    # Stay on the page (no redirect) to see the warning next to the success.
    page.evaluate(
        "document.querySelector('form')"
        ".addEventListener('docflow:signed', e => e.preventDefault())"
    )
    submit(page, "expired", p12_of(pki.expired), PASSWORD)
    expect(status(page, "success")).to_have_text("Документ подписан")
    expect(status(page, "warning")).to_contain_text("Срок действия сертификата истёк")
    screenshot(page, "browser-signing-expired-warning")


# --- the JS API, called directly ------------------------------------------------

OPEN_JS = """async ([p12, password]) => {
  const bytes = Uint8Array.from(atob(p12), c => c.charCodeAt(0));
  try {
    const k = await DocflowSigning.openPkcs12(bytes, password);
    return {
      sha256: k.certificateSha256Hex, subject: k.subject, keyAlgorithm: k.keyAlgorithm,
      namedCurve: k.namedCurve ?? null, notAfter: k.notAfter.toISOString(),
      type: k.cryptoKey.type, extractable: k.cryptoKey.extractable,
      usages: k.cryptoKey.usages, chain: k.chain.length, warnings: k.warnings,
      der: btoa(String.fromCharCode(...k.certificateDer)),
    };
  } catch (e) {
    return {error: e.code, message: e.message};
  }
}"""

SIGN_JS = """async ([p12, password, tbs, options]) => {
  const b = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
  const key = await DocflowSigning.openPkcs12(b(p12), password);
  const signature = await DocflowSigning.signBytes(key, b(tbs), options);
  return btoa(String.fromCharCode(...signature));
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("legacy", [False, True], ids=["pbes2-aes256", "legacy-3des"])
def test_open_pkcs12_returns_certificate_and_a_non_extractable_key(
    page: Page, harness: Harness, pki: Pki, legacy: bool
) -> None:
    key_file = legacy_p12_of(pki.rsa, PASSWORD) if legacy else p12_of(pki.rsa)
    open_sign_page(page, harness)

    key = page.evaluate(OPEN_JS, [b64(key_file), PASSWORD])

    assert key["sha256"] == pki.rsa.cert.fingerprint(hashes.SHA256()).hex().upper()
    assert base64.b64decode(key["der"]) == pki.rsa.der
    assert key["subject"]["CN"] == "ООО «Ромашка»"
    assert key["subject"]["O"] == "ООО «Ромашка»"
    assert key["subject"]["SN"] == "Иванов"
    assert key["subject"]["GN"] == "Иван Иванович"
    assert key["subject"]["INN"] == "500100732259"
    assert key["keyAlgorithm"] == "RSA"
    assert key["namedCurve"] is None
    assert (key["type"], key["extractable"], key["usages"]) == (
        "private",
        False,
        ["sign"],
    )
    assert key["chain"] == 1  # the root CA
    assert key["warnings"] == []
    assert key["notAfter"].startswith(
        pki.rsa.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M")
    )


def test_open_pkcs12_reads_p384_and_flags_an_expired_certificate(
    page: Page, harness: Harness, pki: Pki
) -> None:
    open_sign_page(page, harness)
    p384 = page.evaluate(OPEN_JS, [b64(p12_of(pki.p384)), PASSWORD])
    assert (p384["keyAlgorithm"], p384["namedCurve"]) == ("EC", "P-384")
    expired = page.evaluate(OPEN_JS, [b64(p12_of(pki.expired)), PASSWORD])
    assert len(expired["warnings"]) == 1
    assert "Срок действия сертификата истёк" in expired["warnings"][0]
    wrong = page.evaluate(OPEN_JS, [b64(p12_of(pki.p384)), "wrong"])
    assert wrong == {
        "error": "wrong_password",
        "message": "Неверный пароль к файлу ключа",
    }


@pytest.mark.parametrize(
    ("who", "scheme", "hash_name"),
    [
        ("rsa", "pkcs1", "SHA-384"),
        ("rsa", "pss", "SHA-256"),
        ("rsa", "pss", "SHA-512"),
        ("p384", "ecdsa", "SHA-384"),
    ],
)
def test_sign_bytes_makes_signatures_the_server_verifies(
    page: Page, harness: Harness, pki: Pki, who: str, scheme: str, hash_name: str
) -> None:
    issued: Issued = getattr(pki, who)
    tbs = os.urandom(300)
    open_sign_page(page, harness)

    signature = base64.b64decode(
        page.evaluate(
            SIGN_JS,
            [
                b64(p12_of(issued)),
                PASSWORD,
                b64(tbs),
                {"hash": hash_name, "scheme": scheme},
            ],
        )
    )

    if scheme == "ecdsa":
        assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
        assert len(signature) == 96  # raw r||s for P-384
    verify(issued.cert, Item("cms", tbs, hash_name, scheme), signature)
