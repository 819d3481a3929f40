"""Two-phase (external) signing: the key never reaches the server.

``prepare_*`` returns a :class:`~signing.signers.PreparedSignature` whose
``to_be_signed`` bytes the client signs (for example with WebCrypto);
:meth:`ExternalSigner.complete` embeds the raw signature value and returns the
finished ``.sig`` or PDF. The state and the certificate-only signer live in
:mod:`signing.signers`, below the CMS and PAdES code; this front end sits above
both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from signing import cms, pades
from signing.errors import SignatureFormatError
from signing.signers import PreparedSignature, Signer, certificate_signer
from signing.stamp import Rect, StampInfo
from signing.tsa import Timestamper

__all__ = ["ExternalSigner"]


class ExternalSigner:
    """Two-phase signing for keys that never reach the server.

    :param certificate: the signer's certificate (object, DER or PEM).
    :param chain: certificates to embed beside it.
    :param rsa_pss: the client will sign with RSA-PSS (salt = digest length).
    """

    def __init__(
        self,
        certificate: x509.Certificate | bytes,
        chain: Sequence[x509.Certificate | bytes] = (),
        *,
        rsa_pss: bool = False,
    ) -> None:
        self.signer: Signer = certificate_signer(certificate, chain, rsa_pss=rsa_pss)

    @property
    def certificate(self) -> x509.Certificate:
        return self.signer.certificate

    def prepare_cms(
        self,
        content: bytes,
        *,
        digest: str | None = None,
        signing_time: dt.datetime | None = None,
    ) -> PreparedSignature:
        """Phase one of a detached CAdES-BES signature of ``content``.

        :param digest: by default the certificate's own: SHA-256, or for a GOST
            R 34.10-2012 key the Streebog of its size (RFC 9215 §3), as
            :meth:`prepare_pdf` does.
        """
        return cms.prepare_cms(
            content,
            self.signer,
            digest=digest or self.signer.default_digest,
            signing_time=signing_time,
        )

    def prepare_cms_digest(
        self,
        content_digest: bytes,
        digest_algorithm: str = "sha256",
        *,
        signing_time: dt.datetime | None = None,
    ) -> PreparedSignature:
        """Phase one, from the content's digest (the caller streamed the hash)."""
        return cms.prepare_cms_digest(
            content_digest, digest_algorithm, self.signer, signing_time=signing_time
        )

    def prepare_pdf(
        self,
        pdf: bytes,
        *,
        stamp: StampInfo | bool = True,
        field_name: str | None = None,
        reason: str | None = None,
        location: str | None = None,
        tsa_url: str | None = None,
        timestamper: Timestamper | None = None,
        page: int = -1,
        box: Rect | None = None,
        digest: str | None = None,
        signing_time: dt.datetime | None = None,
    ) -> PreparedSignature:
        """Phase one of a PAdES signature: the signature field, the visible stamp
        and the placeholder are written as an incremental update (kept in the
        state); the client signs the signed attributes."""
        return pades.prepare_pdf(
            pdf,
            self.signer,
            stamp=stamp,
            field_name=field_name,
            reason=reason,
            location=location,
            tsa_url=tsa_url,
            timestamper=timestamper,
            page=page,
            box=box,
            digest=digest,
            signing_time=signing_time,
        )

    @staticmethod
    def complete(
        state: PreparedSignature | str | bytes,
        signature_value: bytes,
        *,
        timestamper: Timestamper | None = None,
    ) -> bytes:
        """Phase two: embed the raw signature value.

        :param state: what ``prepare_*`` returned (or its JSON).
        :param timestamper: for a PDF prepared with a time-stamp source, the
            same source (the signature gets its time-stamp, PAdES B-T).
        :param signature_value: RSA PKCS#1 v1.5 / PSS, or ECDSA as DER or as
            WebCrypto's raw ``r || s``.
        :return: the DER ``.sig`` (CMS) or the signed PDF.
        :raises SigningError: the value does not verify with the certificate
            over the prepared attributes (wrong key, wrong data, garbage).
        """
        prepared = (
            state
            if isinstance(state, PreparedSignature)
            else PreparedSignature.from_json(state)
        )
        if prepared.kind == "cms":
            return cms.complete_cms(prepared, signature_value)
        if prepared.kind == "pdf":
            return pades.complete_pdf(
                prepared, signature_value, timestamper=timestamper
            )
        raise SignatureFormatError(f"unknown kind of signing state: {prepared.kind!r}")
