"""``sign-cms``, ``verify-cms``, ``sign-pdf`` and ``verify-pdf``.

Exit status: 0 valid (or signed), 1 invalid, 2 indeterminate, 3 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from signing.certificates import load_certificates
from signing.cli.cert_commands import (
    EXIT_FOR_VERDICT,
    add_trust_arguments,
    trust_from_args,
)
from signing.cms import certificate_info, sign_cms, verify_cms
from signing.errors import KeyLoadError
from signing.reports import Reason, Verdict
from signing.signers import GostSigner, Pkcs12Signer, Signer
from signing.verification import CmsReport, PdfReport, SignerReport

__all__ = ["register"]

# pyHanko's signing modules (behind signing.pades and signing.pkcs11) take up
# to a second to import and print a cryptography deprecation warning: the PDF
# and token code paths import them when they run, so that `inspect`,
# `validate-cert` and the CMS commands start without them, as `import signing`
# does (signing/__init__.py).

_VERDICT_RU = {
    Verdict.VALID: "подпись действительна",
    Verdict.INVALID: "подпись недействительна",
    Verdict.INDETERMINATE: "действительность не установлена (недостаточно данных)",
}

_DIGESTS = ("sha256", "sha384", "sha512", "streebog256", "streebog512")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the signature subcommands to ``python -m signing``."""
    sign_cms = subparsers.add_parser(
        "sign-cms",
        help="подписать файл: отсоединённая подпись CMS (CAdES-BES)",
        description="Make a detached CAdES-BES signature (DER .sig) of FILE.",
    )
    sign_cms.add_argument("file", metavar="FILE", type=Path, help="the file to sign")
    sign_cms.add_argument(
        "-o", "--output", type=Path, required=True, help="the .sig to write"
    )
    _add_key_arguments(sign_cms)
    sign_cms.add_argument(
        "--json", action="store_true", help="print the result as JSON"
    )
    sign_cms.set_defaults(handler=_sign_cms)

    verify_cms = subparsers.add_parser(
        "verify-cms",
        help="проверить подпись CMS файла",
        description=(
            "Verify a CMS signature of FILE. Exit status: 0 valid, 1 invalid, "
            "2 indeterminate, 3 unusable input."
        ),
    )
    verify_cms.add_argument("file", metavar="FILE", type=Path, help="the signed file")
    verify_cms.add_argument(
        "sig", metavar="SIG", type=Path, help="the signature (DER/PEM/base64)"
    )
    add_trust_arguments(verify_cms)
    verify_cms.add_argument(
        "--signer-cert",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="the signer's certificate (PEM/DER), for a signature that carries "
        "none (repeatable)",
    )
    verify_cms.add_argument(
        "--json", action="store_true", help="print the stable JSON form"
    )
    verify_cms.set_defaults(handler=_verify_cms)

    sign_pdf = subparsers.add_parser(
        "sign-pdf",
        help="подписать PDF (PAdES B-B, с --tsa B-T)",
        description="Sign a PDF (PAdES) as an incremental update.",
    )
    sign_pdf.add_argument("file", metavar="IN", type=Path, help="the PDF to sign")
    sign_pdf.add_argument(
        "-o", "--output", type=Path, required=True, help="the signed PDF"
    )
    _add_key_arguments(sign_pdf)
    sign_pdf.add_argument(
        "--stamp",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="draw the visible stamp «Документ подписан электронной подписью»",
    )
    sign_pdf.add_argument(
        "--page", type=int, default=-1, help="the stamp's page (-1: last)"
    )
    sign_pdf.add_argument(
        "--tsa", metavar="URL", help="RFC 3161 time-stamp server (PAdES B-T)"
    )
    sign_pdf.add_argument("--field", metavar="NAME", help="signature field name")
    sign_pdf.add_argument("--reason", help="reason for signing (/Reason)")
    sign_pdf.add_argument("--location", help="place of signing (/Location)")
    sign_pdf.add_argument(
        "--json", action="store_true", help="print the result as JSON"
    )
    sign_pdf.set_defaults(handler=_sign_pdf)

    verify_pdf = subparsers.add_parser(
        "verify-pdf",
        help="проверить подписи PDF",
        description=(
            "Verify every signature of a PDF. Exit status: 0 valid, 1 invalid, "
            "2 indeterminate, 3 unusable input."
        ),
    )
    verify_pdf.add_argument("file", metavar="IN", type=Path, help="the signed PDF")
    add_trust_arguments(verify_pdf)
    verify_pdf.add_argument(
        "--json", action="store_true", help="print the stable JSON form"
    )
    verify_pdf.set_defaults(handler=_verify_pdf)


def _add_key_arguments(parser: argparse.ArgumentParser) -> None:
    key = parser.add_argument_group(
        "key (a PKCS#12 file, a PKCS#8 key with its certificate, or a PKCS#11 token)"
    )
    key.add_argument(
        "--p12", metavar="FILE", type=Path, help="PKCS#12 (.p12/.pfx) file"
    )
    key.add_argument(
        "--key",
        metavar="FILE",
        type=Path,
        help="a GOST R 34.10-2012 private key, PKCS#8 PEM or DER "
        "(openssl genpkey -engine gost); needs --cert",
    )
    key.add_argument(
        "--cert",
        metavar="FILE",
        type=Path,
        help="the certificate of --key (PEM or DER); more PEM certificates in "
        "the same file are embedded as its chain",
    )
    key.add_argument("--password", help="PKCS#12 (or encrypted --key) password")
    key.add_argument(
        "--password-file",
        metavar="FILE",
        type=Path,
        help="read the password from a file (first line)",
    )
    key.add_argument("--pkcs11-lib", metavar="LIB", help="PKCS#11 module (.so)")
    key.add_argument("--token", metavar="LABEL", help="PKCS#11 token label")
    key.add_argument("--pin", help="PKCS#11 user PIN")
    key.add_argument("--key-label", metavar="LABEL", help="PKCS#11 key label")
    key.add_argument("--key-id", metavar="HEX", help="PKCS#11 key id (hex)")
    parser.add_argument(
        "--digest",
        choices=_DIGESTS,
        default=None,
        help="digest algorithm (default: sha256; streebog256/512 for GOST keys)",
    )
    parser.add_argument(
        "--pss",
        action="store_true",
        help="RSA keys: sign with RSASSA-PSS instead of PKCS#1 v1.5",
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OSError(f"{path}: {exc.strerror or exc}") from None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise OSError(f"{path}: {exc.strerror or exc}") from None


def _password(args: argparse.Namespace) -> str | None:
    password: str | None = args.password
    if args.password_file is not None:
        lines = _read(args.password_file).decode("utf-8").splitlines()
        password = lines[0] if lines else ""
    return password


def _load_p12(data: bytes, args: argparse.Namespace) -> Signer:
    password = _password(args)
    try:
        return Pkcs12Signer.load(data, password, rsa_pss=args.pss)
    except KeyLoadError as first:
        # cryptography cannot open a PKCS#12 with a GOST key: try ours; if the
        # file is not that either, the first error is the one to show.
        try:
            return GostSigner.load_pkcs12(data, password)
        except KeyLoadError as second:
            if "GOST" in str(second) or "wrong password" in str(second):
                raise second from None
            raise first from None


def _load_key(args: argparse.Namespace) -> Signer:
    if args.cert is None:
        raise KeyLoadError("--key needs --cert FILE (the key's certificate)")
    certs = [c.dump() for c in load_certificates(_read(args.cert))]
    return GostSigner.load(
        _read(args.key), certs[0], certs[1:], password=_password(args)
    )


def _signer_from_args(args: argparse.Namespace) -> Signer:
    given = [
        name
        for name, value in (
            ("--p12", args.p12),
            ("--key", args.key),
            ("--pkcs11-lib", args.pkcs11_lib),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise KeyLoadError(f"give one of --p12, --key or --pkcs11-lib, not {given}")
    if args.p12 is not None:
        return _load_p12(_read(args.p12), args)
    if args.key is not None:
        return _load_key(args)
    if args.pkcs11_lib is not None:
        if not args.token:
            raise KeyLoadError("--pkcs11-lib needs --token LABEL")
        try:
            key_id = bytes.fromhex(args.key_id) if args.key_id else None
        except ValueError:
            raise KeyLoadError(f"--key-id {args.key_id!r} is not hexadecimal") from None
        from signing.pkcs11 import Pkcs11Signer  # noqa: PLC0415 - pyHanko: see the note at the top

        return Pkcs11Signer(
            args.pkcs11_lib,
            args.token,
            args.pin,
            key_label=args.key_label,
            key_id=key_id,
            rsa_pss=args.pss,
        )
    raise KeyLoadError(
        "no key: give --p12 FILE --password PW, --key FILE --cert FILE, "
        "or --pkcs11-lib LIB --token ..."
    )


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _signed(args: argparse.Namespace, signer: Signer, size: int) -> int:
    info = certificate_info(signer.certificate.public_bytes(Encoding.DER))
    if args.json:
        _print_json(
            {"output": str(args.output), "size": size, "signer": info.to_json()}
        )
    else:
        print(
            f"Подписано: {info.owner or info.subject_cn} → {args.output} ({size} байт)"
        )
    return 0


def _release(signer: Signer) -> None:
    """Close a token's session (a key held in memory has none)."""
    close = getattr(signer, "close", None)
    if callable(close):
        close()


def _sign_cms(args: argparse.Namespace) -> int:
    content = _read(args.file)
    signer = _signer_from_args(args)
    try:
        sig = sign_cms(content, signer, digest=args.digest)
    finally:
        _release(signer)
    _write(args.output, sig)
    return _signed(args, signer, len(sig))


def _sign_pdf(args: argparse.Namespace) -> int:
    from signing.pades import sign_pdf  # noqa: PLC0415 - pyHanko: see the note at the top

    pdf = _read(args.file)
    signer = _signer_from_args(args)
    try:
        signed = sign_pdf(
            pdf,
            signer,
            stamp=args.stamp,
            page=args.page,
            tsa_url=args.tsa,
            field_name=args.field,
            reason=args.reason,
            location=args.location,
            digest=args.digest,  # None: the key's own (Streebog for GOST)
        )
    finally:
        _release(signer)
    _write(args.output, signed)
    return _signed(args, signer, len(signed))


def _print_reasons(reasons: tuple[Reason, ...], indent: str) -> None:
    errors = [r for r in reasons if not r.is_warning]
    warnings = [r for r in reasons if r.is_warning]
    if errors:
        print(f"{indent}Причины:")
        for reason in errors:
            print(f"{indent}  - [{reason.code}] {reason.message}")
    if warnings:
        print(f"{indent}Предупреждения:")
        for code, message in dict.fromkeys((r.code, r.message) for r in warnings):
            print(f"{indent}  - [{code}] {message}")


def _print_stamps(signer: SignerReport, indent: str) -> None:
    """The time-stamps over a signature and the long-term data it carries."""
    for stamp in signer.timestamps:
        print(f"{indent}{stamp.summary_ru()}")
    if signer.embedded is not None and (
        signer.embedded.crls or signer.embedded.ocsp_responses
    ):
        print(
            f"{indent}Данные для долгосрочной проверки: сертификатов "
            f"{len(signer.embedded.certificates)}, списков отзыва "
            f"{len(signer.embedded.crls)}, ответов OCSP "
            f"{len(signer.embedded.ocsp_responses)}"
        )


def _verify_cms(args: argparse.Namespace) -> int:
    content = _read(args.file)
    sig = _read(args.sig)
    store, at, revocation = trust_from_args(args)
    signer_certs = [
        c for path in args.signer_cert for c in load_certificates(_read(path))
    ]
    report: CmsReport = verify_cms(
        content, sig, store, at=at, revocation=revocation, certificates=signer_certs
    )
    if args.json:
        _print_json(report.to_json())
        return EXIT_FOR_VERDICT[report.verdict]
    print(f"Результат: {_VERDICT_RU[report.verdict]}")
    for i, signer in enumerate(report.signers, 1):
        print(f"{i}. {signer.summary_ru()}")
        print(
            f"   Целостность: {'да' if signer.intact else 'нет'}; алгоритм: "
            f"{signer.signature_algorithm} / {signer.digest_algorithm}"
        )
        _print_stamps(signer, "   ")
        _print_reasons(signer.reasons, "   ")
    return EXIT_FOR_VERDICT[report.verdict]


def _verify_pdf(args: argparse.Namespace) -> int:
    from signing.pades import verify_pdf  # noqa: PLC0415 - pyHanko: see the note at the top

    pdf = _read(args.file)
    store, at, revocation = trust_from_args(args)
    report: PdfReport = verify_pdf(pdf, store, at=at, revocation=revocation)
    if args.json:
        _print_json(report.to_json())
        return EXIT_FOR_VERDICT[report.verdict]
    if not report.signatures:
        print("Результат: подписей нет")
        print(report.summary_ru())
        return EXIT_FOR_VERDICT[report.verdict]
    print(f"Результат: {_VERDICT_RU[report.verdict]}")
    for i, sig in enumerate(report.signatures, 1):
        print(f"{i}. {sig.summary_ru()}")
        print(
            f"   Целостность: {'да' if sig.intact else 'нет'}; охват: {sig.coverage}; "
            f"изменения после подписи: {sig.modification_level}"
        )
        _print_stamps(sig.signer, "   ")
        _print_reasons(sig.reasons, "   ")
    return EXIT_FOR_VERDICT[report.verdict]
