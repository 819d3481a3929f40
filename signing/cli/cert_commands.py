"""``inspect`` and ``validate-cert``; the trust options the verify commands share."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TypeVar

from signing.certificates import CertificateInfo, format_date_ru, inspect_certificate
from signing.errors import TrustStoreError
from signing.reports import CertificateValidation, Verdict
from signing.revocation import REVOCATION_MODES, RevocationMode
from signing.trust import TrustStore, validate_certificate

__all__ = [
    "EXIT_FOR_VERDICT",
    "add_trust_arguments",
    "parse_moment",
    "register",
    "trust_from_args",
]

EXIT_FOR_VERDICT = {Verdict.VALID: 0, Verdict.INVALID: 1, Verdict.INDETERMINATE: 2}

_VERDICT_RU = {
    Verdict.VALID: "действителен",
    Verdict.INVALID: "недействителен",
    Verdict.INDETERMINATE: "не установлен (недостаточно данных)",
}


_P = TypeVar("_P", bound=argparse.ArgumentParser)


def register(subparsers: argparse._SubParsersAction[_P]) -> None:
    """Add the certificate subcommands to ``python -m signing``."""
    inspect = subparsers.add_parser(
        "inspect",
        help="показать поля сертификата",
        description="Show what a certificate (DER or PEM) says: holder, issuer, dates.",
    )
    inspect.add_argument(
        "cert", metavar="CERT", type=Path, help="certificate file (DER or PEM)"
    )
    inspect.add_argument(
        "--json", action="store_true", help="print the stable JSON form"
    )
    inspect.set_defaults(handler=_inspect)

    validate = subparsers.add_parser(
        "validate-cert",
        help="проверить сертификат: цепочку, срок, отзыв",
        description=(
            "Validate a certificate against trust anchors. Exit status: 0 valid, "
            "1 invalid, 2 indeterminate, 3 unusable input."
        ),
    )
    validate.add_argument(
        "cert", metavar="CERT", type=Path, help="certificate file (DER or PEM)"
    )
    add_trust_arguments(validate)
    validate.add_argument(
        "--usage",
        choices=("signing", "any"),
        default="signing",
        help="'signing' (default) also requires digitalSignature or nonRepudiation",
    )
    validate.add_argument(
        "--json", action="store_true", help="print the stable JSON form"
    )
    validate.set_defaults(handler=_validate)


def add_trust_arguments(
    parser: argparse.ArgumentParser, *, required: bool = True
) -> None:
    """``--trust``, ``--intermediate``, ``--crl``, ``--revocation``, ``--at`` and the
    network switches; read them back with :func:`trust_from_args`.

    The path options take one or more values: put positional arguments first.
    """
    group = parser.add_argument_group("trust")
    group.add_argument(
        "--trust",
        metavar="PATH",
        nargs="+",
        action="extend",
        default=[],
        required=required,
        help="trust anchors: PEM bundle, DER, .p7b or a directory of them",
    )
    group.add_argument(
        "--intermediate",
        metavar="PATH",
        nargs="+",
        action="extend",
        default=[],
        help="intermediate CA certificates for path building (not trusted)",
    )
    group.add_argument(
        "--crl",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="CRL files (DER or PEM) or directories of .crl files",
    )
    group.add_argument(
        "--revocation",
        choices=REVOCATION_MODES,
        default="soft",
        help="off | soft (default: unreachable sources give a warning) | hard "
        "(unreachable declared sources make the result indeterminate) | require "
        "(every certificate of the path needs a CRL or OCSP answer)",
    )
    group.add_argument(
        "--at",
        metavar="ISO",
        type=parse_moment,
        default=None,
        help="validate for this moment (ISO 8601; UTC when no offset is given)",
    )
    group.add_argument(
        "--offline",
        action="store_true",
        help="do not download CRLs, OCSP answers or issuer certificates",
    )
    group.add_argument(
        "--allow-private-fetch",
        action="store_true",
        help="let those downloads reach loopback, private and link-local "
        "addresses (a closed network whose CAs live there); refused by default, "
        "since the URLs come from the certificates being checked",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="timeout of each HTTP request (default 5)",
    )
    group.add_argument(
        "--allow-weak-algorithms",
        action="store_true",
        help="accept SHA-1 and 1024-bit RSA/DSA in chains (old archives, test corpora)",
    )


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; a value without an offset is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2026-03-05T12:00:00+03:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def trust_from_args(
    args: argparse.Namespace,
) -> tuple[TrustStore, dt.datetime | None, RevocationMode]:
    """The :class:`TrustStore`, the moment and the revocation mode of the options.

    :raises TrustStoreError: no ``--trust`` was given, or a file cannot be used.
    """
    if not args.trust:
        raise TrustStoreError(
            "no trust anchors: give --trust PATH (a file or a directory)"
        )
    weak: dict[str, object] = (
        {
            "weak_hash_algorithms": {"md2", "md5"},
            "min_rsa_bits": 1024,
            "min_dsa_bits": 1024,
        }
        if args.allow_weak_algorithms
        else {}
    )
    store = TrustStore.from_paths(
        args.trust,
        args.intermediate,
        args.crl,
        ocsp=not args.offline,
        fetch_crls=not args.offline,
        fetch_issuers=not args.offline,
        timeout=args.timeout,
        allow_private_fetch=args.allow_private_fetch,
        **weak,
    )
    return store, args.at, args.revocation


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OSError(f"{path}: {exc.strerror or exc}") from None


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _certificate_lines(info: CertificateInfo, now: dt.datetime) -> list[str]:
    status = info.status_at(now)
    rows: list[tuple[str, str | None]] = [
        ("Владелец", info.owner),
        ("Организация", info.organization),
        ("Должность", info.title),
        ("Эл. почта", info.email),
        ("ИНН", info.inn),
        ("ИНН ЮЛ", info.inn_le),
        ("ОГРН", info.ogrn),
        ("ОГРНИП", info.ogrnip),
        ("СНИЛС", info.snils),
        ("Субъект", info.subject),
        ("Издатель", info.issuer),
        ("Серийный номер", info.serial_hex),
        (
            "Действует",
            f"с {format_date_ru(info.not_before)} по {format_date_ru(info.not_after)} "
            f"({status.message_ru})",
        ),
        (
            "Ключ",
            f"{info.public_key_algorithm}"
            + (f" {info.key_size} бит" if info.key_size else "")
            + (
                f", параметры {info.public_key_parameters}"
                if info.public_key_parameters
                else ""
            ),
        ),
        ("Алгоритм подписи", info.signature_algorithm),
        ("Использование ключа", ", ".join(info.key_usage) or None),
        ("Расширенное использование", ", ".join(info.extended_key_usage) or None),
        ("Политики", ", ".join(info.policies) or None),
        ("Сертификат УЦ", "да" if info.is_ca else "нет"),
        ("Отпечаток SHA-1", info.sha1),
        ("Отпечаток SHA-256", info.sha256),
    ]
    width = max(len(label) for label, _ in rows)
    return [f"{label + ':':<{width + 1}} {value}" for label, value in rows if value]


def _inspect(args: argparse.Namespace) -> int:
    info = inspect_certificate(_read_file(args.cert))
    if args.json:
        _print_json(info.to_json())
    else:
        print("\n".join(_certificate_lines(info, dt.datetime.now(dt.UTC))))
    return 0


def _revocation_line(result: CertificateValidation) -> str:
    rev = result.revocation
    if rev is None or rev.status == "unchecked":
        return "не проверялся"
    source = {"crl": "по списку отзыва (CRL)", "ocsp": "по OCSP"}.get(
        rev.source or "", ""
    )
    if rev.status == "good":
        return f"не отозван, проверено {source}"
    if rev.status == "revoked" and rev.revoked_at:
        return f"отозван {format_date_ru(rev.revoked_at)}, сведения {source}"
    return f"статус неизвестен, запрос {source}"


def _validate(args: argparse.Namespace) -> int:
    data = _read_file(args.cert)
    store, at, revocation = trust_from_args(args)
    result = validate_certificate(
        data, store, at=at, revocation=revocation, usage=args.usage
    )
    if args.json:
        _print_json(result.to_json())
        return EXIT_FOR_VERDICT[result.verdict]
    print(f"Результат: {_VERDICT_RU[result.verdict]}")
    print(result.summary_ru())
    if result.errors:
        print("Причины:")
        for reason in result.errors:
            print(f"  - [{reason.code}] {reason.message}")
    if result.warnings:
        print("Предупреждения:")
        for reason in result.warnings:
            print(f"  - [{reason.code}] {reason.message}")
    print("Цепочка:")
    for i, info in enumerate(result.chain, 1):
        print(
            f"  {i}. {info.subject_cn or info.subject} "
            f"(до {format_date_ru(info.not_after)})"
        )
    print(f"Отзыв: {_revocation_line(result)}")
    print(f"Проверено на: {result.validated_at.strftime('%d.%m.%Y %H:%M:%S')} UTC")
    return EXIT_FOR_VERDICT[result.verdict]
