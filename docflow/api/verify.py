"""Verification of any signed content, without storing anything."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

import signing
from docflow.api.base import (
    BODY_ERRORS,
    MULTIPART,
    Body,
    Inline,
    json_answer,
    operation,
)
from docflow.api.errors import UnsupportedMediaTypeError
from docflow.api.schemas import signatures as out
from docflow.context import current_runtime, db_session
from docflow.errors import PayloadTooLargeError, ValidationError

MAX_SIGNATURE_BYTES = 1024 * 1024


def _part(name: str, limit: int | None = None) -> bytes | None:
    upload = request.files.get(name)
    if upload is None:
        return None
    data = upload.stream.read() if limit is None else upload.stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise PayloadTooLargeError(
            f"Часть «{name}» больше {limit} байт.", details={"max_bytes": limit}
        )
    return data


@operation(
    "POST",
    "/verify",
    id="verify",
    summary="Проверка подписи без сохранения",
    tag="Проверка",
    scopes=("read",),
    answers={200: json_answer(out.VerifyResult, "Протокол проверки.")},
    errors=BODY_ERRORS,
    body=Body({MULTIPART: Inline(out.VerifyParts)}),
    description="`file` + `signature` — откреплённая подпись; `file` — PDF со "
    "встроенными подписями; `signature` — присоединённая подпись. "
    "Недействительная подпись — тоже 200, с verdict.",
)
def verify() -> Any:
    """``file`` + ``signature``: a detached CMS over the file; ``file`` alone: a
    signed PDF; ``signature`` alone: an attached CMS. Answers 200 with the
    report whatever the verdict: an invalid signature is a result, not an error."""
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaTypeError(
            "Ожидается multipart/form-data с частями file и/или signature.",
            details={"content_type": request.mimetype or None},
        )
    content = _part("file")
    sig = _part("signature", MAX_SIGNATURE_BYTES)
    runtime = current_runtime()
    store = runtime.trust(db_session())
    mode = runtime.revocation
    # The service receives the signature now: that is its proof of existence
    # unless it carries a time-stamp (never its own claimed time).
    received = runtime.now()
    report: signing.CmsReport | signing.PdfReport
    try:
        if sig:
            report = signing.verify_cms(
                content, sig, store, received_at=received, revocation=mode
            )
            kind = "cms"
        elif content:
            if not content.startswith(b"%PDF-"):
                raise ValidationError(
                    "Без подписи проверяется только PDF со встроенными подписями; "
                    "для другого файла приложите подпись в части «signature».",
                    details={"field": "signature"},
                )
            report = signing.verify_pdf(
                content, store, received_at=received, revocation=mode
            )
            kind = "pdf"
        else:
            raise ValidationError(
                "Приложите файл (часть «file») и/или подпись (часть «signature»).",
                details={"field": "file"},
            )
    except signing.SignatureFormatError as exc:
        raise ValidationError(
            f"Подпись не читается как CMS/PKCS#7: {exc}", code="signature_format"
        ) from None
    except signing.DocumentFormatError as exc:
        raise ValidationError(
            f"Файл не читается как PDF: {exc}", code="document_format"
        ) from None
    return jsonify(
        {
            "kind": kind,
            "verdict": report.verdict.value,
            "summary": report.summary_ru(),
            "report": report.to_json(),
        }
    )
