"""Exceptions of the signing library.

Outcomes of verification are data (reports); these exceptions are for input that
cannot be used at all, and for refusals to *make* a signature.
"""

from __future__ import annotations


class SigningError(Exception):
    """Base class: a signature could not be made, or input could not be read."""


class CertificateFormatError(SigningError):
    """The bytes are not a certificate (neither DER nor PEM X.509)."""


class SignatureFormatError(SigningError):
    """The bytes are not a CMS/PKCS#7 SignedData, or a PDF has no usable signature."""


class DocumentFormatError(SigningError):
    """The document to sign cannot be read (for example a broken PDF)."""


class WeakAlgorithmError(SigningError):
    """Refusal to sign with MD5, SHA-1 or RSA keys under 2048 bits."""


class KeyLoadError(SigningError):
    """A PKCS#12 file, its password, or a PKCS#11 token/key could not be opened."""


class TrustStoreError(SigningError):
    """A trust anchor, intermediate or CRL file cannot be loaded."""


class TimestampError(SigningError):
    """A time-stamping authority could not be reached, refused, or answered with
    a token that is not for the request (RFC 3161)."""


class TslFormatError(SigningError):
    """The list of accredited certification centres (the Минцифры TSL) cannot
    be read, is too large, or is refused as hostile XML (a DTD or entities)."""


class MchdFormatError(SigningError):
    """A machine-readable power of attorney (МЧД) cannot be used: not XML, hostile
    XML (a DTD or entities), too large, an unsupported format version, or not
    valid against the ФНС schema."""
