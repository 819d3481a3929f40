"""The session's test PKI (see tests/unit/signing/conftest.py), for the
integration tests of the signing library."""

from tests.unit.signing.conftest import (
    crl_der,
    pki_intermediate,
    pki_now,
    pki_ocsp_responder,
    pki_root,
    pki_tsa,
    root_crl_der,
    signer_ec,
    signer_expired,
    signer_no_usage,
    signer_not_yet_valid,
    signer_revoked,
    signer_revoked_at,
    signer_rsa,
    trust_store,
)

__all__ = [
    "crl_der",
    "pki_intermediate",
    "pki_now",
    "pki_ocsp_responder",
    "pki_root",
    "pki_tsa",
    "root_crl_der",
    "signer_ec",
    "signer_expired",
    "signer_no_usage",
    "signer_not_yet_valid",
    "signer_revoked",
    "signer_revoked_at",
    "signer_rsa",
    "trust_store",
]
