"""The signing library: certificates, trust and revocation, CMS/CAdES, PAdES.

A pure library (no Flask, no database). Outcomes of verification are frozen
report values (:mod:`signing.reports`); exceptions (:mod:`signing.errors`) are
for input that cannot be used at all.
"""

import importlib
from typing import TYPE_CHECKING

from signing.certificates import (
    CertificateInfo,
    QualifiedStatus,
    ValidityStatus,
    inspect_certificate,
    load_certificate,
    load_certificates,
)
from signing.errors import (
    CertificateFormatError,
    DocumentFormatError,
    KeyLoadError,
    MchdFormatError,
    SignatureFormatError,
    SigningError,
    TimestampError,
    TrustStoreError,
    WeakAlgorithmError,
)
from signing.reports import (
    CertificateValidation,
    Reason,
    ReasonCode,
    RevocationInfo,
    Verdict,
)
from signing.revocation import RevocationMode
from signing.trust import (
    CacheInfo,
    TrustStore,
    async_validate_certificate,
    validate_certificate,
)

__all__ = [
    "CacheInfo",
    "CertificateFormatError",
    "CertificateInfo",
    "CertificateValidation",
    "DocumentFormatError",
    "KeyLoadError",
    "MchdFormatError",
    "QualifiedStatus",
    "Reason",
    "ReasonCode",
    "RevocationInfo",
    "RevocationMode",
    "SignatureFormatError",
    "SigningError",
    "TimestampError",
    "TrustStore",
    "TrustStoreError",
    "ValidityStatus",
    "Verdict",
    "WeakAlgorithmError",
    "async_validate_certificate",
    "inspect_certificate",
    "load_certificate",
    "load_certificates",
    "validate_certificate",
]

# --- Signatures: signers, CMS/CAdES, PAdES and their reports ----------------
# Imported on first use: pyHanko's signing modules take about a second to
# import, which a process that only validates certificates should not pay.
_LAZY_SIGNATURE_NAMES = {
    "ExternalSigner": "signing.external",
    "GostSigner": "signing.signers",
    "Pkcs11Signer": "signing.pkcs11",
    "Pkcs12Signer": "signing.signers",
    "PreparedSignature": "signing.signers",
    "Signer": "signing.signers",
    "cms_signer_certificates": "signing.cms",
    "signature_der": "signing.cms",
    "signer_digest_algorithm": "signing.cms",
    "sign_cms": "signing.cms",
    "sign_cms_digest": "signing.cms",
    "verify_cms": "signing.cms",
    "verify_cms_digest": "signing.cms",
    "StampInfo": "signing.pades",
    "PowerOfAttorney": "signing.mchd",
    "read_power_of_attorney": "signing.mchd",
    "write_power_of_attorney": "signing.mchd",
    "sign_pdf": "signing.pades",
    "verify_pdf": "signing.pades",
    "CmsReport": "signing.verification",
    "PdfReport": "signing.verification",
    "PdfSignatureReport": "signing.verification",
    "SignatureReasonCode": "signing.verification",
    "SignerReport": "signing.verification",
}


if TYPE_CHECKING:  # what __getattr__ below resolves, for type checkers
    from signing.cms import (
        cms_signer_certificates as cms_signer_certificates,
    )
    from signing.cms import (
        sign_cms as sign_cms,
    )
    from signing.cms import (
        sign_cms_digest as sign_cms_digest,
    )
    from signing.cms import (
        signature_der as signature_der,
    )
    from signing.cms import (
        signer_digest_algorithm as signer_digest_algorithm,
    )
    from signing.cms import (
        verify_cms as verify_cms,
    )
    from signing.cms import (
        verify_cms_digest as verify_cms_digest,
    )
    from signing.external import (
        ExternalSigner as ExternalSigner,
    )
    from signing.mchd import (
        PowerOfAttorney as PowerOfAttorney,
    )
    from signing.mchd import (
        read_power_of_attorney as read_power_of_attorney,
    )
    from signing.mchd import (
        write_power_of_attorney as write_power_of_attorney,
    )
    from signing.pades import (
        StampInfo as StampInfo,
    )
    from signing.pades import (
        sign_pdf as sign_pdf,
    )
    from signing.pades import (
        verify_pdf as verify_pdf,
    )
    from signing.pkcs11 import (
        Pkcs11Signer as Pkcs11Signer,
    )
    from signing.signers import (
        GostSigner as GostSigner,
    )
    from signing.signers import (
        Pkcs12Signer as Pkcs12Signer,
    )
    from signing.signers import (
        PreparedSignature as PreparedSignature,
    )
    from signing.signers import (
        Signer as Signer,
    )
    from signing.verification import (
        CmsReport as CmsReport,
    )
    from signing.verification import (
        PdfReport as PdfReport,
    )
    from signing.verification import (
        PdfSignatureReport as PdfSignatureReport,
    )
    from signing.verification import (
        SignatureReasonCode as SignatureReasonCode,
    )
    from signing.verification import (
        SignerReport as SignerReport,
    )


def __getattr__(name: str) -> object:
    module_name = _LAZY_SIGNATURE_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


__all__ += list(_LAZY_SIGNATURE_NAMES)  # resolved by __getattr__ above
