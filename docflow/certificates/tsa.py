"""The time-stamping authority every accepted signature is stamped by.

Production names an accredited RFC 3161 authority (``TSA_URL``, optionally
with ``TSA_USERNAME``/``TSA_PASSWORD`` for HTTP basic authentication). The
embedded mode runs an authority of its own, so that the two commands of a
newcomer stay offline: a key and certificate made once under ``var/tsa/``,
issued by a root of its own which becomes a trust anchor (so its tokens verify
like any other): in the embedded mode through the ``TRUST_STORE`` directory,
in production straight into the database (:func:`trust_embedded_root`), where
every node finds it. The same authority answers RFC 3161 requests over HTTP at
``/tsa`` (``application/timestamp-query``, :mod:`docflow.certificates.tsa_views`),
so ``openssl ts`` can ask it too.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from docflow.certificates.truststore import ensure_trust_anchor
from docflow.config import Settings
from signing import pki
from signing.signers import Pkcs12Signer
from signing.tsa import HttpTimestamper, TimeStampAuthority, Timestamper

#: The embedded authority's policy: an OID under the UUID arc (ITU-T X.667),
#: which needs no registration and collides with nobody's.
EMBEDDED_POLICY = "2.25.318040425624829786411962766183093150743"
ROOT_NAME = "docflow-tsa-root.crt"
_PASSWORD = b"docflow-embedded-tsa"
_lock = threading.Lock()


def _make(directory: Path, trust_dir: Path | None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    root = pki.make_root_ca(
        "Служба времени docflow (корень)",
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=365 * 20),
    )
    authority = pki.make_tsa(root, "Служба штампов времени docflow")
    p12 = directory / "tsa.p12"
    tmp = directory / "tsa.p12.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(authority.pkcs12(_PASSWORD.decode()))
    (directory / "tsa-root.crt").write_bytes(root.pem)
    os.replace(tmp, p12)
    if trust_dir is not None:
        trust_dir.mkdir(parents=True, exist_ok=True)
        (trust_dir / ROOT_NAME).write_bytes(root.pem)


def embedded_authority(var_dir: Path, trust_dir: Path | None) -> TimeStampAuthority:
    """The authority of the embedded mode, made on first use.

    Its root is (re)written into ``trust_dir`` (the embedded mode's
    ``TRUST_STORE``, imported from there) each time, so a trust directory laid
    anew still trusts the tokens already issued; production passes ``None``
    and trusts the root with :func:`trust_embedded_root`.
    """
    directory = var_dir / "tsa"
    p12 = directory / "tsa.p12"
    with _lock:
        if not p12.exists():
            _make(directory, trust_dir)
        root_pem = (directory / "tsa-root.crt").read_bytes()
        target = trust_dir / ROOT_NAME if trust_dir is not None else None
        if target is not None and (
            not target.exists() or target.read_bytes() != root_pem
        ):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(root_pem)
    key, cert, extra = pkcs12.load_key_and_certificates(p12.read_bytes(), _PASSWORD)
    assert key is not None and cert is not None
    root = x509.load_pem_x509_certificate(root_pem)
    chain = [c for c in extra or [] if c != cert] or [root]
    return TimeStampAuthority(
        Pkcs12Signer(key, cert, chain),  # type: ignore[arg-type]
        policy=EMBEDDED_POLICY,
    )


def open_timestamper(settings: Settings) -> Timestamper:
    """The time-stamp source the settings name (see the module docstring)."""
    if settings.signatures.tsa_url:
        headers = {}
        if settings.signatures.tsa_username:
            pair = f"{settings.signatures.tsa_username}:{settings.signatures.tsa_password or ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(
                pair.encode()
            ).decode("ascii")
        return HttpTimestamper(settings.signatures.tsa_url, headers=headers)
    return embedded_authority_for(settings)


def embedded_authority_for(settings: Settings) -> TimeStampAuthority:
    """The embedded authority, its root left where the settings want it."""
    return embedded_authority(settings.var_dir, _trust_dir(settings))


def _trust_dir(settings: Settings) -> Path | None:
    """Where the embedded authority leaves its root to be imported: the
    embedded mode's ``TRUST_STORE``; production has no such directory to rely
    on (see :func:`trust_embedded_root`)."""
    return None if settings.production else Path(settings.signatures.trust_store)


def trust_embedded_root(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Production without ``TSA_URL``: make the root of this node's embedded
    authority a trust anchor in the database, so that every node verifies the
    tokens it issues. Idempotent; its own transaction (called when the
    authority is first opened, whatever the caller is doing)."""
    root = settings.var_dir / "tsa" / "tsa-root.crt"
    if settings.signatures.tsa_url or not root.exists():
        return
    der = x509.load_pem_x509_certificate(root.read_bytes()).public_bytes(Encoding.DER)
    try:
        with sessions() as session, session.begin():
            ensure_trust_anchor(session, der=der, source="tsa")
    except IntegrityError:
        pass  # another process of this node trusted it at the same moment


def root_certificate_pem(settings: Settings) -> bytes | None:
    """The embedded authority's root (PEM), for people who verify offline."""
    path = settings.var_dir / "tsa" / "tsa-root.crt"
    return path.read_bytes() if path.exists() else None
