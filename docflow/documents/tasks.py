"""Background work of the document flow."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

import signing
from docflow.access import Actor, is_staff
from docflow.accounts.models import User
from docflow.audit import RequestInfo
from docflow.context import current_runtime, settings, state
from docflow.db import transaction
from docflow.documents import signing_flow
from docflow.documents.archive import renew_due
from docflow.errors import InvalidTransitionError
from docflow.tasking import shared_task
from signing import gost
from signing.errors import KeyLoadError

log = logging.getLogger(__name__)


def supplier_signer() -> Any:
    """The supplier's key: a PKCS#11 token or a PKCS#12 file named in the settings."""
    st = settings()
    if st.supplier.pkcs11_lib:
        return signing.Pkcs11Signer(
            st.supplier.pkcs11_lib,
            st.supplier.pkcs11_token or "",
            st.supplier.pkcs11_pin or "",
            key_label=st.supplier.pkcs11_key,
        )
    if st.supplier.signer_key and st.supplier.signer_cert:
        return key_file_signer(
            Path(st.supplier.signer_key).read_bytes(),
            Path(st.supplier.signer_cert).read_bytes(),
            st.supplier.signer_password,
        )
    if st.supplier.signer_p12:
        return signing.Pkcs12Signer.load(
            Path(st.supplier.signer_p12).read_bytes(), st.supplier.signer_password or ""
        )
    raise RuntimeError(
        "the supplier's signing key is not configured "
        "(SUPPLIER_SIGNER_P12, SUPPLIER_SIGNER_KEY with SUPPLIER_SIGNER_CERT, "
        "or SUPPLIER_PKCS11_LIB)"
    )


def key_file_signer(key: bytes, certs_pem: bytes, password: str | None) -> Any:
    """A signer from a PEM key file and the PEM of its certificate, then its
    chain: a GOST R 34.10-2012 key (PKCS#8 as OpenSSL-gost writes it) by the
    GOST signer, any other by the PKCS#12 one, chosen by the certificate's key."""

    try:
        cert, *chain = x509.load_pem_x509_certificates(certs_pem)
    except ValueError as exc:
        raise KeyLoadError(
            f"SUPPLIER_SIGNER_CERT: not a PEM certificate: {exc}"
        ) from None
    if cert.public_key_algorithm_oid.dotted_string in gost.KEY_OIDS:
        return signing.GostSigner.load(key, cert, chain, password=password)
    try:
        private = load_pem_private_key(key, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"SUPPLIER_SIGNER_KEY: cannot load the key: {exc}") from None
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyLoadError("SUPPLIER_SIGNER_KEY: neither an RSA, EC nor GOST key")
    return signing.Pkcs12Signer(private, cert, chain)


@shared_task(name="docflow.countersign_document", acks_late=True, ignore_result=False)
def countersign_document(document_id: str, user_id: str | None = None) -> str:
    """Sign a document for the supplier. Idempotent: a document that is no longer
    waiting for the supplier is left as it is."""
    session = state().sessionmaker()
    try:
        user = session.get(User, uuid.UUID(user_id)) if user_id else None

        actor = (
            Actor.for_user(user, RequestInfo(via="task"))
            if user is not None and is_staff(user)
            else Actor.system()
        )
        with transaction(session):
            signing_flow.countersign(
                session,
                actor=actor,
                document_id=uuid.UUID(document_id),
                signer=supplier_signer(),
                runtime=current_runtime(),
            )
    except InvalidTransitionError as exc:
        log.info("countersign of %s skipped: %s", document_id, exc.message)
        return "skipped"
    finally:
        session.close()
    return "signed"


@shared_task(name="docflow.storage_gc", ignore_result=True)
def storage_gc() -> int:
    """Remove leftovers of interrupted uploads (temporary files, unfinished
    multipart uploads) older than a day."""
    removed = current_runtime().storage.gc()
    if removed:
        log.info("storage gc removed %d leftovers", len(removed))
    return len(removed)


@shared_task(name="docflow.archive_renew", acks_late=True, ignore_result=True)
def archive_renew() -> int:
    """Add archive time-stamps to the signatures whose newest one nears its end."""
    session = state().sessionmaker()
    try:
        return renew_due(
            session,
            runtime=current_runtime(),
            horizon_days=settings().signatures.archive_horizon_days,
        )
    finally:
        session.close()
