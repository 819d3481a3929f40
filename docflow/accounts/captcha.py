"""«Я не робот»: an ALTCHA proof of work, self-hosted, no external service.

The browser widget (vendored under ``static/vendor/altcha``) fetches a
challenge from ``/account/captcha``, spends a little CPU on it (PBKDF2 until
the derived key starts with a zero byte) and posts the solution with the form
as the ``altcha`` field. There is no answer to read off the page: the work is
the proof.

The challenge is HMAC-signed with a key derived from ``SECRET_KEY``, so the
server keeps nothing while it is outstanding; it expires after
:data:`CHALLENGE_TTL`; and a solved challenge is spent by its first use
(:class:`~docflow.accounts.models.UsedCaptchaChallenge`, pruned after expiry).
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
from typing import Any

import altcha
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from docflow.accounts.models import UsedCaptchaChallenge
from docflow.db import utcnow

ALGORITHM = "PBKDF2/SHA-256"
# PBKDF2 iterations per attempt; about 256 attempts are needed on average
# (the default key prefix is one zero byte): a fraction of a second in a
# browser's WebCrypto, a real cost for a script posting forms by the thousand.
COST = 5000
CHALLENGE_TTL = dt.timedelta(minutes=10)
# A genuine payload is about 600 bytes; anything much longer is not parsed.
MAX_PAYLOAD_LENGTH = 4096
_KEY_LABEL = b"docflow.accounts.captcha:altcha-challenge-hmac:v1"


def hmac_key(secret_key: str) -> str:
    """The challenge-signing key: derived from ``SECRET_KEY`` (never the key
    itself), so that a signature made here is worth nothing elsewhere."""
    return hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).hexdigest()


def new_challenge(secret_key: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A fresh signed challenge, as the widget expects it (JSON-ready)."""
    expires = (now or utcnow()) + CHALLENGE_TTL
    challenge = altcha.create_challenge(
        ALGORITHM, COST, expires_at=expires, hmac_secret=hmac_key(secret_key)
    )
    result: dict[str, Any] = challenge.to_dict()
    return result


def use_solution(session: Session, *, secret_key: str, payload: str | None) -> bool:
    """Check a posted solution and spend its challenge.

    True only for a correct solution of an unexpired challenge signed by this
    site that has not been used before. The caller commits at once, in a
    transaction of its own, so that a challenge is spent even when the rest of
    the form is then refused.

    :raises sqlalchemy.exc.IntegrityError: when a concurrent request spent the
        same challenge first (the unique index settles the race): the caller
        rolls back and treats it as a refusal.
    """
    if not payload or len(payload) > MAX_PAYLOAD_LENGTH:
        return False
    try:
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        return False
    params = parsed.challenge.parameters
    # Only what this site issues: anything else is refused before any work.
    if (
        params.algorithm != ALGORITHM
        or params.cost != COST
        or type(params.expires_at) is not int
        or not isinstance(parsed.challenge.signature, str)
    ):
        return False
    result = altcha.verify_solution(parsed, hmac_key(secret_key))
    if not result.verified:
        return False
    return _spend(
        session,
        signature=parsed.challenge.signature,
        expires_at=dt.datetime.fromtimestamp(params.expires_at, dt.UTC),
    )


def _spend(session: Session, *, signature: str, expires_at: dt.datetime) -> bool:
    now = utcnow()
    session.execute(
        delete(UsedCaptchaChallenge).where(UsedCaptchaChallenge.expires_at < now)
    )
    digest = hashlib.sha256(signature.encode()).hexdigest()
    if session.scalar(
        select(UsedCaptchaChallenge.id).where(
            UsedCaptchaChallenge.signature_hash == digest
        )
    ):
        return False
    session.add(UsedCaptchaChallenge(signature_hash=digest, expires_at=expires_at))
    session.flush()
    return True
