"""Webhook secrets sealed at rest.

A webhook's HMAC secret must be readable to sign each delivery, and a
database dump alone must not let anyone forge deliveries: it is stored
encrypted (Fernet) under a key derived from ``SECRET_KEY`` with HKDF-SHA256
(RFC 5869).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"docflow webhook secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_secret(secret: str, secret_key: str) -> str:
    """``secret`` encrypted under ``secret_key``, as stored in ``webhooks.secret``."""
    return str(_fernet(secret_key).encrypt(secret.encode()).decode())


def open_secret(sealed: str, secret_key: str) -> str | None:
    """The webhook secret, or None when SECRET_KEY changed since it was sealed."""
    try:
        return str(_fernet(secret_key).decrypt(sealed.encode()).decode())
    except InvalidToken:
        return None
