"""A stand for the browser-signing test: the signing form and a fake two-phase signer.

The page carries the markup of a docflow signing form (``form[data-docflow-sign]``)
under ``Content-Security-Policy: script-src 'self'`` and loads the real
``docflow/static/js/signing.js``. ``prepare`` hands out a DER SET OF signed
attributes per item (as the CAdES and PAdES signers would), ``complete`` verifies
every signature with ``cryptography`` against the registered certificate's public
key, as the server's external-signer flow does before embedding it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

STATIC = Path(__file__).resolve().parents[3] / "docflow" / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA-256": hashes.SHA256,
    "SHA-384": hashes.SHA384,
    "SHA-512": hashes.SHA512,
}
KINDS = ("cms", "pades")


@dataclass(frozen=True)
class Registered:
    """A certificate registered in the cabinet, as the signing page lists it."""

    id: str
    cert: x509.Certificate
    label: str

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: bytes


@dataclass(frozen=True)
class Item:
    kind: str
    tbs: bytes
    hash: str
    scheme: str


@dataclass
class HarnessState:
    certificates: dict[str, Registered]
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    rsa_scheme: str = "pkcs1"
    rsa_hash: str = "SHA-256"
    sessions: dict[str, tuple[str, list[Item]]] = field(default_factory=dict)
    verified: dict[str, tuple[str, list[Item]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)

    def reset(self) -> None:
        self.rsa_scheme, self.rsa_hash = "pkcs1", "SHA-256"
        self.sessions.clear()
        self.verified.clear()
        self.requests.clear()


def signed_attributes(document: bytes) -> bytes:
    """The DER of a CMS SET OF signed attributes (RFC 5652 §5.4) over ``document``."""
    return cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute(
                {
                    "type": "signing_time",
                    "values": [cms.Time({"utc_time": dt.datetime.now(dt.UTC)})],
                }
            ),
            cms.CMSAttribute(
                {
                    "type": "message_digest",
                    "values": [hashlib.sha256(document).digest()],
                }
            ),
        ]
    ).dump()


def verify(cert: x509.Certificate, item: Item, signature: bytes) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` signs ``item.tbs``."""
    key = cert.public_key()
    algorithm = HASHES[item.hash]()
    if isinstance(key, rsa.RSAPublicKey):
        pad: padding.AsymmetricPadding = (
            padding.PSS(padding.MGF1(algorithm), algorithm.digest_size)
            if item.scheme == "pss"
            else padding.PKCS1v15()
        )
        key.verify(signature, item.tbs, pad, algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        size = (key.curve.key_size + 7) // 8
        if len(signature) == 2 * size:  # WebCrypto's raw r||s (IEEE P1363)
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            signature = encode_dss_signature(r, s)
        key.verify(signature, item.tbs, ec.ECDSA(algorithm))
    else:  # pragma: no cover - the stand registers RSA and EC certificates only
        raise InvalidSignature("unsupported key")


def error(
    status: int, code: str, message: str, **details: object
) -> ResponseReturnValue:
    return jsonify(
        {"error": {"code": code, "message": message, "details": details}}
    ), status


def create_harness_app(state: HarnessState) -> Flask:
    app = Flask(
        __name__,
        static_folder=str(STATIC),
        static_url_path="/static",
        template_folder=str(Path(__file__).parent / "templates"),
    )

    @app.before_request
    def record() -> None:
        state.requests.append(
            RecordedRequest(
                request.method, request.full_path, request.get_data(cache=True)
            )
        )

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def sign_page() -> str:
        return render_template(
            "sign.html",
            certificates=list(state.certificates.values()),
            csrf_token=state.csrf_token,
        )

    @app.post("/sign/prepare")
    def prepare() -> ResponseReturnValue:
        if request.headers.get("X-CSRFToken") != state.csrf_token:
            return error(400, "csrf", "Сессия устарела: обновите страницу")
        payload = request.get_json(silent=True) or {}
        registered = state.certificates.get(str(payload.get("certificate_id")))
        if registered is None:
            return error(404, "not_found", "Сертификат не найден")
        is_rsa = isinstance(registered.cert.public_key(), rsa.RSAPublicKey)
        scheme, hash_name = (
            (state.rsa_scheme, state.rsa_hash) if is_rsa else ("ecdsa", "SHA-256")
        )
        items = [
            Item(kind, signed_attributes(secrets.token_bytes(64)), hash_name, scheme)
            for kind in KINDS
        ]
        session_id = secrets.token_urlsafe(12)
        state.sessions[session_id] = (registered.id, items)
        return jsonify(
            {
                "session_id": session_id,
                "items": [
                    {
                        "kind": i.kind,
                        "tbs": base64.b64encode(i.tbs).decode(),
                        "hash": i.hash,
                        "scheme": i.scheme,
                    }
                    for i in items
                ],
            }
        )

    @app.post("/sign/complete")
    def complete() -> ResponseReturnValue:
        if request.headers.get("X-CSRFToken") != state.csrf_token:
            return error(400, "csrf", "Сессия устарела: обновите страницу")
        payload = request.get_json(silent=True) or {}
        session = state.sessions.pop(str(payload.get("session_id")), None)
        if session is None:
            return error(409, "session_expired", "Сеанс подписи истёк: начните заново")
        cert = state.certificates[session[0]].cert
        signatures = payload.get("signatures") or {}
        for item in session[1]:
            try:
                verify(
                    cert,
                    item,
                    base64.b64decode(signatures.get(item.kind, ""), validate=True),
                )
            except (InvalidSignature, ValueError):
                return error(
                    422,
                    "invalid_signature",
                    "Подпись не прошла проверку на сервере",
                    kind=item.kind,
                )
        state.verified[str(payload["session_id"])] = session
        return jsonify(
            {
                "ok": True,
                "status": "signed",
                "message": "Документ подписан",
                "redirect": f"/signed/{payload['session_id']}",
            }
        )

    @app.get("/signed/<session_id>")
    def signed(session_id: str) -> str:
        if session_id not in state.verified:
            abort(404)
        cert_id, items = state.verified[session_id]
        return render_template(
            "signed.html", certificate=state.certificates[cert_id], items=items
        )

    return app
