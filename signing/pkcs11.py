"""A key on a PKCS#11 token (a smart card, an HSM; SoftHSM2 in tests).

Kept apart from :mod:`signing.signers` because python-pkcs11 and pyHanko's
PKCS#11 layer (which loads pyHanko's signing modules) cost a third of a second
to import, which a process without a token should not pay:
``signing.Pkcs11Signer`` imports this module on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from asn1crypto import algos
from cryptography import x509
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11_errors
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import open_pkcs11_session, select_pkcs11_signing_params

from signing import _cms_asn1 as der
from signing import gost
from signing.errors import KeyLoadError, SigningError
from signing.signers import Signer

__all__ = [
    "CKM_GOSTR3410_WITH_GOSTR3411_12_256",
    "CKM_GOSTR3410_WITH_GOSTR3411_12_512",
    "Pkcs11Signer",
]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(
            cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        )
    except (x509.ExtensionNotFound, ValueError):
        return False


#: TK 26 PKCS#11 extensions (vendor-defined, NSSCK_VENDOR_PKCS11_RU_TEAM):
#: hash with GOST R 34.11-2012, then sign with GOST R 34.10-2012, on the token.
CKM_GOSTR3410_WITH_GOSTR3411_12_256 = 0xD4321008
CKM_GOSTR3410_WITH_GOSTR3411_12_512 = 0xD4321009


class Pkcs11Signer(Signer):
    """A key on a PKCS#11 token (a smart card, an HSM, SoftHSM2 in tests).

    The session is opened through pyHanko's PKCS#11 support (python-pkcs11) and
    kept open; close it with :meth:`close` or use the signer as a context
    manager. The certificate is read from the token (by ``cert_label`` or
    ``cert_id``, which default to the key's); the CA certificates on the token,
    and ``chain``, are embedded beside it.

    :param lib_path: the PKCS#11 module (``/usr/lib/softhsm/libsofthsm2.so``).
    :param token_label: the token's label.
    :param pin: the user PIN.
    :param key_label: the private key's ``CKA_LABEL``.
    :param key_id: or its ``CKA_ID``.
    :raises KeyLoadError: no such module, token, key or certificate; wrong PIN.
    """

    def __init__(
        self,
        lib_path: str,
        token_label: str,
        pin: str | None,
        *,
        key_label: str | None = None,
        key_id: bytes | None = None,
        cert_label: str | None = None,
        cert_id: bytes | None = None,
        chain: Sequence[x509.Certificate] = (),
        rsa_pss: bool = False,
    ) -> None:
        if key_label is None and key_id is None:
            raise KeyLoadError("give the key's label (key_label) or id (key_id)")
        self._lock = threading.Lock()
        try:
            self._session = open_pkcs11_session(
                lib_path, token_criteria=TokenCriteria(label=token_label), user_pin=pin
            )
        except p11_errors.PinIncorrect as exc:
            raise KeyLoadError(f"wrong PIN for the token {token_label!r}") from exc
        except (p11_errors.PKCS11Error, OSError, RuntimeError) as exc:
            raise KeyLoadError(
                f"cannot open the token {token_label!r} with {lib_path}: "
                f"{type(exc).__name__} {exc}".rstrip()
            ) from exc
        try:
            key_query: dict[Attribute, object] = {
                Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                Attribute.SIGN: True,
            }
            if key_label is not None:
                key_query[Attribute.LABEL] = key_label
            if key_id is not None:
                key_query[Attribute.ID] = key_id
            keys = list(self._session.get_objects(key_query))
            if len(keys) != 1:
                what = "not found" if not keys else "more than one found"
                raise KeyLoadError(
                    f"private key {key_label or (key_id or b'').hex()} on the token "
                    f"{token_label!r}: {what}"
                )
            self._key: Any = keys[0]  # a python-pkcs11 PrivateKey (SignMixin)
            cert_query: dict[Attribute, object] = {
                Attribute.CLASS: ObjectClass.CERTIFICATE
            }
            all_certs = [
                (obj[Attribute.LABEL], obj[Attribute.ID], bytes(obj[Attribute.VALUE]))
                for obj in self._session.get_objects(cert_query)
            ]
        except p11_errors.PKCS11Error as exc:
            self._session.close()
            raise KeyLoadError(f"token error: {type(exc).__name__} {exc}") from exc
        except KeyLoadError:
            self._session.close()
            raise

        want_label = cert_label if cert_label is not None else key_label
        want_id = cert_id if cert_id is not None else key_id
        mine = [
            value
            for label, id_, value in all_certs
            if (want_label is None or label == want_label)
            and (want_id is None or id_ == want_id)
        ]
        if len(mine) != 1:
            self._session.close()
            raise KeyLoadError(
                f"no certificate {want_label or (want_id or b'').hex()} on the token "
                f"{token_label!r}"
            )
        try:
            certificate = x509.load_der_x509_certificate(mine[0])
            # Only CA certificates: other people's certificates on the same
            # token have no place in this signer's signatures.
            others = [
                cert
                for cert in (
                    x509.load_der_x509_certificate(value)
                    for _, _, value in all_certs
                    if value != mine[0]
                )
                if _is_ca(cert)
            ]
        except ValueError as exc:
            self._session.close()
            raise KeyLoadError(f"a damaged certificate on the token: {exc}") from exc
        super().__init__(certificate, [*others, *chain], rsa_pss=rsa_pss)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.mechanism_for(digest_algorithm)
        if mechanism.family == "gost2012":
            return self._sign_gost(data, mechanism)
        spec = select_pkcs11_signing_params(
            algos.SignedDigestAlgorithm.load(mechanism.algorithm_identifier),
            mechanism.digest.name,
            # Tokens (SoftHSM2 among them) often lack CKM_ECDSA_SHA256: hash
            # here and use plain CKM_ECDSA.
            use_raw_mechanism=mechanism.family == "ecdsa",
            sign_kwargs={},
        )
        payload = spec.pre_sign_transform(data) if spec.pre_sign_transform else data
        try:
            with self._lock:
                signature = self._key.sign(payload, **spec.sign_kwargs)
        except p11_errors.PKCS11Error as exc:
            raise SigningError(
                f"the token refused to sign: {type(exc).__name__} {exc}"
            ) from exc
        if spec.post_sign_transform is not None:
            signature = spec.post_sign_transform(signature)
        return bytes(signature)

    def _sign_gost(self, data: bytes, mechanism: der.Mechanism) -> bytes:
        ckm = (
            CKM_GOSTR3410_WITH_GOSTR3411_12_256
            if mechanism.key_size == 256
            else CKM_GOSTR3410_WITH_GOSTR3411_12_512
        )
        try:
            with self._lock:
                value = bytes(self._key.sign(data, mechanism=ckm))
        except p11_errors.PKCS11Error as exc:
            raise SigningError(
                "the token refused to sign with GOST R 34.10-2012 "
                f"(CKM 0x{ckm:X}): {type(exc).__name__} {exc}"
            ) from exc
        # PKCS#11 gives s || r, as RFC 4491 §2.2.2 does; a token that returns
        # r || s is caught here: keep the order that verifies.
        public = der.public_key_of(self.certificate)
        digest = mechanism.digest.digest(data)
        half = len(value) // 2
        if isinstance(public, gost.GostPublicKey):
            for candidate in (value, value[half:] + value[:half]):
                if public.verify_digest(digest, candidate):
                    return candidate
        raise SigningError(
            "the token's GOST R 34.10-2012 signature does not verify with the "
            "certificate's key"
        )

    def close(self) -> None:
        """Close the PKCS#11 session."""
        self._session.close()

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
