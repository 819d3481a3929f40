"""The OpenAPI 3 description of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written by hand next to the routes (not generated from them): it is the
contract integrators code against, and ``tests/integration/
test_api_schemathesis.py`` checks every answer of the running API against it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from docflow.documents.models import DocStatus, DocType, FileRole

VERSION = "1.0.0"

#: The refusals about powers of attorney (МЧД): upload, registration of a
#: personal certificate and signing under an МЧД (``docflow.powers.services``).
POWER_CODES: tuple[tuple[str, str], ...] = (
    ("power_of_attorney_format", "422: не МЧД поддерживаемого формата (единый "
     "формат ФНС 002 или EMCHD_1), не проходит схему, содержит DOCTYPE/ENTITY"),
    ("power_of_attorney_signature", "422: подпись МЧД не проверяется (не CMS, "
     "не над этим файлом, недействительна)"),
    ("power_of_attorney_signer", "422: МЧД подписал не руководитель доверителя "
     "(не его ИНН ЮЛ, не лицо без доверенности, названное в МЧД)"),
    ("power_of_attorney_principal", "422: доверитель в МЧД — не организация, за "
     "которую подписывает ключ (или подписант)"),
    ("power_of_attorney_representative", "422: владелец сертификата не назван "
     "представителем в МЧД (СНИЛС, ИНН ФЛ)"),
    ("power_of_attorney_required", "422: личный сертификат без ИНН организации, "
     "а МЧД на его владельца не загружена (регистрация сертификата, подписание)"),
    ("power_of_attorney_expired", "422: МЧД не действует на дату загрузки или "
     "подписи"),
    ("power_of_attorney_revoked", "422: МЧД отозвана — в кабинете или в реестре "
     "ФНС"),
    ("power_of_attorney_not_registered", "422: реестр доверенностей ФНС не знает "
     "эту МЧД"),
    ("power_of_attorney_power", "422: в МЧД нет полномочия подписывать этот вид "
     "документа (`details.required` — подходящие коды)"),
    ("power_of_attorney_duplicate", "409: МЧД с тем же номером уже загружена с "
     "другим содержимым"),
    ("power_of_attorney_not_found", "404: МЧД нет или она не видна ключу"),
    ("power_of_attorney_registry_unavailable", "503: реестр доверенностей ФНС не "
     "ответил, статус МЧД неизвестен — повторите позже"),
)  # fmt: skip


def _power_codes_text() -> str:
    return "\n".join(f"- `{code}` — {text};" for code, text in POWER_CODES)[:-1] + "."


DESCRIPTION = (
    """\
REST API личного кабинета юридического лица: юридически значимый документооборот
для интеграций (биллинг поставщика, ERP клиента).

**Аутентификация.** Заголовок `Authorization: Bearer dfk_<префикс>_<секрет>`. Ключ
выдаёт администратор договора на странице «Ключи API» (для ключа поставщика —
администратор) или команда `docflow api-key create --org <ИНН> --scopes read,write,sign`.
Ключ показывается один раз. Области доступа: `read`, `write`, `sign`, `readings`
(`read` входит в любой ключ).

**Ошибки.** Тело `{"error": {"code", "message", "details"}}`; `code` стабилен:
`unauthorized` (401), `forbidden` (403), `not_found` (404), `document_state_conflict` (409),
`payload_too_large` (413), `unsupported_media_type` (415), `validation_error`,
`signature_invalid`, `certificate_not_registered`, `certificate_revoked`,
`certificate_expired`, `certificate_untrusted`, `certificate_invalid`,
`certificate_refused` (422), `rate_limited` (429), `invalid_json` (400).
`message` — по-русски, для человека.

**Машиночитаемые доверенности (МЧД).** Сотрудник с личным сертификатом (без ИНН
организации) подписывает за организацию по МЧД, загруженной в
`POST /powers-of-attorney`. Загрузка, регистрация сертификата и подписание
отказывают с кодом условия, которое не выполнено:

"""
    + _power_codes_text()
    + """

**Идемпотентность.** `POST /documents` с заголовком `Idempotency-Key` при повторе
возвращает тот же документ (200), а не дубликат.

**События.** Вебхуки (`POST /webhooks`) получают события подписанными
(`X-Signature: sha256=<HMAC-SHA256 от "<X-Timestamp>.<тело>">`); пропущенное
забирается из `GET /events?after=<курсор>`.
"""
)

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _resp(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STR = {"type": "string"}
NSTR = _nullable(STR)
UUID = {"type": "string", "format": "uuid"}
NUUID = _nullable(UUID)
DATETIME = {"type": "string", "format": "date-time"}
NDATETIME = _nullable(DATETIME)
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
FREE = {"type": "object", "additionalProperties": True}
BINARY = {"type": "string", "format": "binary"}


def _object(
    properties: dict[str, Any], required: list[str] | None = None
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _schemas() -> dict[str, Any]:
    party = {"type": "string", "enum": ["customer", "supplier"]}
    return {
        "Error": _object(
            {
                "error": _object(
                    {
                        "code": {**STR, "example": "not_found"},
                        "message": {**STR, "example": "Документ не найден."},
                        "details": FREE,
                    }
                )
            }
        ),
        "File": _object(
            {
                "id": UUID,
                "role": {"type": "string", "enum": [r.value for r in FileRole]},
                "filename": STR,
                "content_type": STR,
                "size": INT,
                "sha256": STR,
                "revision": INT,
            }
        ),
        "RouteStep": _object(
            {
                "position": INT,
                "party": party,
                "status": {
                    "type": "string",
                    "enum": ["waiting", "current", "signed", "refused"],
                },
                "completed_at": NDATETIME,
            }
        ),
        "Signature": _object(
            {
                "id": UUID,
                "document_id": UUID,
                "party": party,
                "signer_name": STR,
                "signer_organisation": NSTR,
                "certificate_id": NUUID,
                "certificate_serial": STR,
                "certificate_not_before": DATETIME,
                "certificate_not_after": DATETIME,
                "signing_time": DATETIME,
                "signing_time_source": {
                    "type": "string",
                    "enum": ["timestamp", "receipt", "validation_time"],
                    "description": "What proves signing_time: the signature's "
                    "RFC 3161 time-stamp, else the moment the service received it. "
                    "Never the signer's own claim (claimed_time).",
                },
                "received_at": NDATETIME,
                "claimed_time": NDATETIME,
                "timestamp": {
                    "type": ["object", "null"],
                    "properties": {
                        "time": DATETIME,
                        "serial": STR,
                        "tsa": NSTR,
                    },
                    "required": ["time", "serial", "tsa"],
                },
                "evidence_level": NSTR,
                "archive_until": NDATETIME,
                "verdict": {
                    "type": "string",
                    "enum": ["valid", "invalid", "indeterminate"],
                },
                "has_pades": BOOL,
                "power_of_attorney": _nullable(
                    {
                        **_signature_power(),
                        "description": "МЧД, по которой подписал личный сертификат "
                        "(null — подпись сертификатом организации).",
                    }
                ),
                "created_at": DATETIME,
            }
        ),
        "SignatureWithReport": {
            "allOf": [
                _ref("Signature"),
                _object({"report": FREE}),
            ]
        },
        "Document": _object(
            {
                "id": UUID,
                "type": {"type": "string", "enum": [t.value for t in DocType]},
                "type_title": STR,
                "number": STR,
                "date": {"type": "string", "format": "date"},
                "title": STR,
                "comment": STR,
                "status": {"type": "string", "enum": [s.value for s in DocStatus]},
                "status_label": STR,
                "source": STR,
                "contract": _object({"id": UUID, "number": STR}),
                "organisation": _object({"id": UUID, "name": STR, "inn": STR}),
                "route": {"type": "array", "items": _ref("RouteStep")},
                "files": {"type": "array", "items": _ref("File")},
                "signatures": {"type": "array", "items": _ref("Signature")},
                "refusal_reason": NSTR,
                "revocation_reason": NSTR,
                "created_at": DATETIME,
                "updated_at": DATETIME,
                "completed_at": NDATETIME,
            }
        ),
        "DocumentList": _object(
            {
                "items": {"type": "array", "items": _ref("Document")},
                "next_cursor": {
                    **NSTR,
                    "description": "Передайте как `cursor` за следующей страницей; "
                    "null — страниц больше нет.",
                },
            }
        ),
        "DocumentMeta": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "number", "date", "title"],
            "properties": {
                "type": {"type": "string", "enum": [t.value for t in DocType]},
                "number": {"type": "string", "maxLength": 100, "example": "П-2026-10"},
                "date": {"type": "string", "format": "date", "example": "2026-10-31"},
                "contract_number": {
                    "type": "string",
                    "maxLength": 50,
                    "example": "77-0001-ЮЛ",
                    "description": "Номер договора (или `contract_id`).",
                },
                "contract_id": UUID,
                "title": {"type": "string", "maxLength": 500},
                "comment": {"type": "string", "maxLength": 5000},
                "route": {
                    "type": "array",
                    "items": party,
                    "description": "Кто подписывает и в каком порядке; по умолчанию "
                    '["customer", "supplier"].',
                },
            },
        },
        "SignedResult": _object(
            {"signature": _ref("SignatureWithReport"), "document": _ref("Document")}
        ),
        "SignatureList": _object(
            {"items": {"type": "array", "items": _ref("Signature")}}
        ),
        "FileList": _object({"items": {"type": "array", "items": _ref("File")}}),
        "SigningItem": _object(
            {
                "kind": {"type": "string", "enum": ["cms", "pades"]},
                "tbs": {
                    **STR,
                    "format": "byte",
                    "description": "Байты для подписи ключом (DER подписываемых "
                    "атрибутов), base64.",
                },
                "hash": {**STR, "example": "SHA-256"},
                "scheme": {**STR, "example": "pkcs1"},
                "algorithm": FREE,
            }
        ),
        "PreparedSigning": _object(
            {
                "session_id": UUID,
                "expires_at": NDATETIME,
                "items": {"type": "array", "items": _ref("SigningItem")},
            }
        ),
        "Certificate": _object(
            {
                "id": UUID,
                "organisation": _object({"id": UUID, "name": STR, "inn": STR}),
                "owner": STR,
                "organisation_name": NSTR,
                "title": NSTR,
                "inn": NSTR,
                "inn_le": NSTR,
                "ogrn": NSTR,
                "snils": NSTR,
                "serial": STR,
                "issuer": STR,
                "sha1": STR,
                "sha256": STR,
                "not_before": DATETIME,
                "not_after": DATETIME,
                "status": {"type": "string", "enum": ["active", "revoked"]},
                "verdict": STR,
                "registered_at": DATETIME,
                "revoked_at": NDATETIME,
            }
        ),
        "CertificateRegistration": _object(
            {"certificate": _ref("Certificate"), "validation": FREE}
        ),
        "CertificateList": _object(
            {"items": {"type": "array", "items": _ref("Certificate")}}
        ),
        "Webhook": _object(
            {
                "id": UUID,
                "url": STR,
                "events": {"type": "array", "items": STR},
                "description": STR,
                "created_at": DATETIME,
            }
        ),
        "WebhookCreated": {
            "allOf": [
                _ref("Webhook"),
                _object(
                    {
                        "secret": {
                            **STR,
                            "description": "Секрет подписи X-Signature; показывается "
                            "один раз.",
                        }
                    }
                ),
            ]
        },
        "WebhookList": _object({"items": {"type": "array", "items": _ref("Webhook")}}),
        "Event": _object(
            {
                "id": {**STR, "description": "Курсор события (возрастает)."},
                "kind": {**STR, "example": "document.signed"},
                "organisation_id": NUUID,
                "created_at": DATETIME,
                "data": FREE,
            }
        ),
        "EventList": _object(
            {
                "items": {"type": "array", "items": _ref("Event")},
                "next_cursor": STR,
                "has_more": BOOL,
            }
        ),
        "VerifyResult": _object(
            {
                "kind": {"type": "string", "enum": ["cms", "pdf"]},
                "verdict": {
                    "type": "string",
                    "enum": ["valid", "invalid", "indeterminate"],
                },
                "summary": STR,
                "report": FREE,
            }
        ),
        "Reason": _object(
            {"reason": {"type": "string", "minLength": 3, "maxLength": 2000}}
        ),
        "WebhookRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "maxLength": 1000,
                    "example": "https://erp.example.ru/hooks/docflow",
                },
                "events": {
                    "type": "array",
                    "items": STR,
                    "description": "Типы событий; пусто — все.",
                },
                "secret": {"type": "string", "minLength": 16, "maxLength": 200},
                "description": {"type": "string", "maxLength": 200},
            },
        },
        "PrepareRequest": {
            "type": "object",
            "required": ["certificate_id"],
            "properties": {
                "certificate_id": UUID,
                "pades": {
                    "type": "boolean",
                    "default": True,
                    "description": "Для PDF — ещё и подпись PAdES с видимым штампом.",
                },
            },
        },
        "CompleteRequest": {
            "type": "object",
            "required": ["session_id", "signatures"],
            "properties": {
                "session_id": UUID,
                "signatures": {
                    "type": "object",
                    "properties": {
                        "cms": {"type": "string", "format": "byte"},
                        "pades": {"type": "string", "format": "byte"},
                    },
                    "description": "Значения подписи (base64) для каждого `items[].kind`.",
                },
            },
        },
        "SignatureJson": {
            "type": "object",
            "required": ["signature"],
            "properties": {
                "signature": {
                    "type": "string",
                    "format": "byte",
                    "description": "Откреплённая подпись CMS (DER) в base64.",
                }
            },
        },
    }


_ERRORS = {
    "BadRequest": "Тело не разобрать (invalid_json, json_too_deep, bad_request).",
    "Unauthorized": "Нет ключа API, ключ неизвестен или отозван (unauthorized).",
    "Forbidden": "Ключу не выдана нужная область доступа (forbidden).",
    "NotFound": "Объекта нет или он не виден ключу (not_found).",
    "PowerNotFound": "МЧД нет или она не видна ключу (power_of_attorney_not_found).",
    "Conflict": "Состояние документа не допускает действия (document_state_conflict).",
    "PowerConflict": "МЧД с тем же номером уже загружена с другим содержимым "
    "(power_of_attorney_duplicate).",
    "PayloadTooLarge": "Слишком большое тело или файл (payload_too_large).",
    "UnsupportedMediaType": "Неподдерживаемый тип содержимого (unsupported_media_type).",
    "Unprocessable": "Данные не прошли проверку (validation_error и коды подписи, "
    "сертификата и МЧД — power_of_attorney_*).",
    "RateLimited": "Превышен лимит запросов ключа (rate_limited).",
    "Unavailable": "Реестр доверенностей ФНС не ответил: статус МЧД неизвестен, "
    "повторите позже (power_of_attorney_registry_unavailable).",
}


def _responses() -> dict[str, Any]:
    return {name: _json(_ref("Error"), text) for name, text in _ERRORS.items()}


def _errors(*names: str) -> dict[str, Any]:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "PowerNotFound": "404",
        "Conflict": "409",
        "PowerConflict": "409",
        "PayloadTooLarge": "413",
        "UnsupportedMediaType": "415",
        "Unprocessable": "422",
        "RateLimited": "429",
        "Unavailable": "503",
    }
    out = {"401": _resp("Unauthorized"), "429": _resp("RateLimited")}
    for name in names:
        out[codes[name]] = _resp(name)
    return out


BODY_ERRORS = ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Unprocessable")


def _op(
    op_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    scope: str | None,
    errors: tuple[str, ...] = (),
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "responses": {**responses, **_errors(*(("Forbidden",) + errors))},
    }
    if scope:
        op["x-required-scope"] = scope
        op["description"] = (description + "\n\n" if description else "") + (
            f"Область доступа: `{scope}`."
        )
    elif description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if parameters:
        op["parameters"] = parameters
    return op


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": UUID,
        "description": description,
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": "query", "required": False}
    out["schema"] = schema
    if description:
        out["description"] = description
    return out


DOC_ID = _path("document_id", "Идентификатор документа.")


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _paths() -> dict[str, Any]:
    doc_errors = ("NotFound",)
    transition_errors = ("NotFound", "Conflict", *BODY_ERRORS)
    search_params = [
        _query("q", {"type": "string", "maxLength": 200}, "Полнотекстовый поиск."),
        _query("number", {"type": "string", "maxLength": 100}, "Номер или его часть."),
        _query("type", {"type": "string", "enum": [t.value for t in DocType]}),
        _query(
            "doc_type",
            {"type": "string", "enum": [t.value for t in DocType]},
            "То же, что `type` (имя фильтра страницы «Документы»).",
        ),
        _query("status", {"type": "string", "enum": [s.value for s in DocStatus]}),
        _query("contract_id", UUID),
        _query(
            "contract_number",
            {"type": "string", "maxLength": 50},
            "Номер договора (или его начало), без учёта регистра.",
        ),
        _query(
            "counterparty_inn",
            {"type": "string", "pattern": "^[0-9]{1,12}$"},
            "ИНН организации-клиента (или его начало).",
        ),
        _query("date_from", {"type": "string", "format": "date"}),
        _query("date_to", {"type": "string", "format": "date"}),
        _query("signer", {"type": "string", "maxLength": 300}, "ФИО подписанта."),
        _query(
            "awaiting_me",
            {"type": "string", "enum": ["true", "false"]},
            "Только ожидающие подписи стороны ключа.",
        ),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        ),
        _query(
            "cursor",
            {"type": "string", "maxLength": 200},
            "`next_cursor` прошлого ответа.",
        ),
    ]
    blob = {
        "description": "Файл (потоком).",
        "headers": {
            "X-Content-SHA256": {
                "schema": STR,
                "description": "SHA-256 файла, записанный при регистрации.",
            }
        },
        "content": {"*/*": {"schema": BINARY}},
    }
    document_multipart = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "meta"],
                    "properties": {
                        "file": {
                            **BINARY,
                            "description": "Документ (PDF, DOCX, XLSX…).",
                        },
                        "attachments": {"type": "array", "items": BINARY},
                        "meta": _ref("DocumentMeta"),
                    },
                },
                "encoding": {"meta": {"contentType": JSON}},
            }
        },
    }
    certificate_body = {
        "required": True,
        "content": {
            "application/pkix-cert": {"schema": BINARY},
            "application/x-pem-file": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": BINARY},
                }
            },
        },
    }
    signature_body = {
        "required": True,
        "content": {
            "application/pkcs7-signature": {"schema": BINARY},
            JSON: {"schema": _ref("SignatureJson")},
        },
    }
    verify_body = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            **BINARY,
                            "description": "Подписанные данные или PDF.",
                        },
                        "signature": {**BINARY, "description": "Подпись CMS (.sig)."},
                    },
                }
            }
        },
    }
    document_ok = {"200": _json(_ref("Document"), "Документ.")}
    return {
        "/documents": {
            "get": _op(
                "listDocuments",
                "Поиск документов с постраничным курсором",
                "Документы",
                {"200": _json(_ref("DocumentList"), "Страница документов.")},
                scope="read",
                errors=("Unprocessable",),
                parameters=search_params,
                description="Новые сверху. Фильтры — как на странице «Документы».",
            ),
            "post": _op(
                "createDocument",
                "Регистрация документа на подпись",
                "Документы",
                {
                    "201": _json(_ref("Document"), "Документ зарегистрирован."),
                    "200": _json(
                        _ref("Document"),
                        "Повтор с тем же Idempotency-Key: прежний документ.",
                    ),
                },
                scope="write",
                errors=("NotFound", *BODY_ERRORS),
                body=document_multipart,
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "Повтор запроса с тем же ключом вернёт тот же "
                        "документ.",
                    }
                ],
            ),
        },
        "/documents/{document_id}": {
            "parameters": [DOC_ID],
            "get": _op(
                "getDocument",
                "Документ",
                "Документы",
                document_ok,
                scope="read",
                errors=doc_errors,
            ),
            "delete": _op(
                "deleteDocument",
                "Удаление документа, который никто не подписал",
                "Документы",
                {"204": {"description": "Удалён."}},
                scope="write",
                errors=("NotFound", "Conflict"),
            ),
        },
        "/documents/{document_id}/content": {
            "parameters": [DOC_ID],
            "get": _op(
                "getDocumentContent",
                "Оригинал документа (байт в байт)",
                "Документы",
                {"200": blob},
                scope="read",
                errors=doc_errors,
            ),
        },
        "/documents/{document_id}/files": {
            "parameters": [DOC_ID],
            "get": _op(
                "listDocumentFiles",
                "Файлы документа: оригинал, приложения, ревизии PDF, подписи",
                "Документы",
                {"200": _json(_ref("FileList"), "Файлы.")},
                scope="read",
                errors=doc_errors,
            ),
        },
        "/documents/{document_id}/files/{file_id}": {
            "parameters": [DOC_ID, _path("file_id", "Идентификатор файла.")],
            "get": _op(
                "getDocumentFile",
                "Один файл документа",
                "Документы",
                {"200": blob},
                scope="read",
                errors=doc_errors,
            ),
        },
        "/documents/{document_id}/package": {
            "parameters": [DOC_ID],
            "get": _op(
                "getDocumentPackage",
                "ZIP: документ, подписи, протокол проверки, печатная форма",
                "Документы",
                {
                    "200": {
                        "description": "Архив.",
                        "content": {"application/zip": {"schema": BINARY}},
                    }
                },
                scope="read",
                errors=doc_errors,
            ),
        },
        "/documents/{document_id}/refuse": {
            "parameters": [DOC_ID],
            "post": _op(
                "refuseDocument",
                "Отказ в подписании",
                "Подписание",
                document_ok,
                scope="sign",
                errors=transition_errors,
                body=_json_body(_ref("Reason")),
            ),
        },
        "/documents/{document_id}/revocation": {
            "parameters": [DOC_ID],
            "post": _op(
                "requestRevocation",
                "Предложить аннулировать подписанный документ",
                "Подписание",
                document_ok,
                scope="sign",
                errors=transition_errors,
                body=_json_body(_ref("Reason")),
            ),
        },
        "/documents/{document_id}/revocation/accept": {
            "parameters": [DOC_ID],
            "post": _op(
                "acceptRevocation",
                "Согласиться с аннулированием",
                "Подписание",
                document_ok,
                scope="sign",
                errors=("NotFound", "Conflict"),
            ),
        },
        "/documents/{document_id}/revocation/decline": {
            "parameters": [DOC_ID],
            "post": _op(
                "declineRevocation",
                "Отклонить аннулирование",
                "Подписание",
                document_ok,
                scope="sign",
                errors=("NotFound", "Conflict"),
            ),
        },
        "/documents/{document_id}/signatures": {
            "parameters": [DOC_ID],
            "get": _op(
                "listSignatures",
                "Подписи документа",
                "Подписание",
                {"200": _json(_ref("SignatureList"), "Подписи.")},
                scope="read",
                errors=doc_errors,
            ),
            "post": _op(
                "postSignature",
                "Откреплённая подпись CMS (CAdES-BES) над оригиналом",
                "Подписание",
                {"201": _json(_ref("SignedResult"), "Подпись проверена и принята.")},
                scope="sign",
                errors=(*transition_errors, "Unavailable"),
                body=signature_body,
                description="Подпись проверяется сразу: целостность, сертификат "
                "зарегистрирован для организации и действителен на время подписи, "
                "цепочка, отзыв. Отказ — 422 с кодом причины. " + POWER_SIGNING_NOTE,
            ),
        },
        "/documents/{document_id}/signatures/{signature_id}": {
            "parameters": [DOC_ID, _path("signature_id", "Идентификатор подписи.")],
            "get": _op(
                "getSignature",
                "Файл подписи .sig (или протокол проверки для Accept: application/json)",
                "Подписание",
                {
                    "200": {
                        "description": "Подпись.",
                        "content": {
                            "application/pkcs7-signature": {"schema": BINARY},
                            JSON: {"schema": _ref("SignatureWithReport")},
                        },
                    }
                },
                scope="read",
                errors=doc_errors,
            ),
        },
        "/documents/{document_id}/pades/prepare": {
            "parameters": [DOC_ID],
            "post": _op(
                "preparePades",
                "Двухфазная подпись: байты для подписи ключом",
                "Подписание",
                {"200": _json(_ref("PreparedSigning"), "Что подписать.")},
                scope="sign",
                errors=(*transition_errors, "Unavailable"),
                body=_json_body(_ref("PrepareRequest")),
                description="Для PDF — подпись CMS над оригиналом и PAdES с видимым "
                "штампом; закрытый ключ остаётся у подписанта. " + POWER_SIGNING_NOTE,
            ),
        },
        "/documents/{document_id}/pades/complete": {
            "parameters": [DOC_ID],
            "post": _op(
                "completePades",
                "Двухфазная подпись: значения подписи",
                "Подписание",
                {"201": _json(_ref("SignedResult"), "Новая ревизия подписана.")},
                scope="sign",
                errors=(*transition_errors, "Unavailable"),
                body=_json_body(_ref("CompleteRequest")),
                description=POWER_SIGNING_NOTE,
            ),
        },
        "/certificates": {
            "get": _op(
                "listCertificates",
                "Сертификаты организации ключа",
                "Сертификаты",
                {"200": _json(_ref("CertificateList"), "Сертификаты.")},
                scope="read",
            ),
            "post": _op(
                "registerCertificate",
                "Регистрация сертификата (DER, PEM или multipart file)",
                "Сертификаты",
                {
                    "201": _json(_ref("CertificateRegistration"), "Зарегистрирован."),
                    "200": _json(
                        _ref("CertificateRegistration"), "Уже был зарегистрирован."
                    ),
                },
                scope="sign",
                errors=(*BODY_ERRORS, "Unavailable"),
                body=certificate_body,
                description="422 `certificate_invalid` (не сертификат, цепочка, срок, "
                "отзыв) или `certificate_refused` (ИНН не организации ключа) — с "
                "причинами в `details.problems`. Личный сертификат сотрудника (без "
                "ИНН организации) регистрируется, только когда загружена МЧД, "
                "называющая его владельца представителем: иначе "
                "`power_of_attorney_required`, `power_of_attorney_representative` "
                "или `power_of_attorney_principal`.",
            ),
        },
        "/certificates/{certificate_id}": {
            "parameters": [_path("certificate_id", "Идентификатор сертификата.")],
            "get": _op(
                "getCertificate",
                "Сертификат",
                "Сертификаты",
                {"200": _json(_ref("Certificate"), "Сертификат.")},
                scope="read",
                errors=("NotFound",),
            ),
            "delete": _op(
                "revokeCertificate",
                "Отзыв регистрации сертификата",
                "Сертификаты",
                {"200": _json(_ref("Certificate"), "Регистрация отозвана.")},
                scope="sign",
                errors=("NotFound",),
            ),
        },
        "/verify": {
            "post": _op(
                "verify",
                "Проверка подписи без сохранения",
                "Проверка",
                {"200": _json(_ref("VerifyResult"), "Протокол проверки.")},
                scope="read",
                errors=BODY_ERRORS,
                body=verify_body,
                description="`file` + `signature` — откреплённая подпись; `file` — PDF со "
                "встроенными подписями; `signature` — присоединённая подпись. "
                "Недействительная подпись — тоже 200, с verdict.",
            ),
        },
        "/webhooks": {
            "get": _op(
                "listWebhooks",
                "Вебхуки организации",
                "События",
                {"200": _json(_ref("WebhookList"), "Вебхуки.")},
                scope="read",
            ),
            "post": _op(
                "createWebhook",
                "Регистрация вебхука",
                "События",
                {"201": _json(_ref("WebhookCreated"), "Вебхук и его секрет.")},
                scope="write",
                errors=BODY_ERRORS,
                body=_json_body(_ref("WebhookRequest")),
                description="Только http(s); адреса внутренних сетей и локального "
                "узла отклоняются (`webhook_url_forbidden`).",
            ),
        },
        "/webhooks/{webhook_id}": {
            "parameters": [_path("webhook_id", "Идентификатор вебхука.")],
            "delete": _op(
                "deleteWebhook",
                "Удаление вебхука",
                "События",
                {"204": {"description": "Удалён."}},
                scope="write",
                errors=("NotFound",),
            ),
        },
        "/events": {
            "get": _op(
                "listEvents",
                "Лента событий по порядку",
                "События",
                {"200": _json(_ref("EventList"), "События после курсора.")},
                scope="read",
                errors=("Unprocessable",),
                parameters=[
                    _query(
                        "after",
                        {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        "`next_cursor` прошлого ответа (0 — с начала).",
                    ),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 500,
                            "default": 100,
                        },
                    ),
                ],
            ),
        },
    }


POWER_SIGNING_NOTE = (
    "Личный сертификат (без ИНН организации) подписывает только по МЧД, "
    "загруженной в `POST /powers-of-attorney` и действующей на время подписи: "
    "иначе 422 `power_of_attorney_required`, `_representative`, `_principal`, "
    "`_expired`, `_revoked`, `_not_registered`, `_power` или 503 "
    "`power_of_attorney_registry_unavailable`. Принятая подпись называет МЧД в "
    "поле `power_of_attorney`."
)


def _person() -> dict[str, Any]:
    return _object(
        {
            "last_name": STR,
            "first_name": STR,
            "patronymic": NSTR,
            "snils": {**NSTR, "description": "СНИЛС, 11 цифр."},
            "inn": {**NSTR, "description": "ИНН физического лица."},
        }
    )


def _principal() -> dict[str, Any]:
    return _object({"name": STR, "inn": STR, "ogrn": NSTR, "kpp": NSTR})


def _power_signer() -> dict[str, Any]:
    return _object(
        {
            "name": STR,
            "serial": STR,
            "inn_le": NSTR,
            "qualified": {
                **BOOL,
                "description": "Квалифицированный сертификат (аккредитованный УЦ).",
            },
        }
    )


def _signature_power() -> dict[str, Any]:
    """What a signature's JSON shows of its МЧД (``signature_power``)."""
    return _object(
        {
            "id": UUID,
            "number": STR,
            "internal_number": NSTR,
            "label": STR,
            "issued_on": {"type": "string", "format": "date"},
            "valid_until": {"type": "string", "format": "date"},
            "principal": _principal(),
            "signer": _power_signer(),
            "xml_sha256": STR,
            "status_source": {
                **STR,
                "description": "Кто подтвердил статус МЧД при подписи.",
            },
            "status_checked_at": DATETIME,
            "valid_at": {
                **DATETIME,
                "description": "Момент подписи, на который проверена МЧД.",
            },
        }
    )


def power_schemas() -> dict[str, Any]:
    date = {"type": "string", "format": "date"}
    return {
        "PowerOfAttorney": _object(
            {
                "id": UUID,
                "number": {
                    **STR,
                    "description": "Номер МЧД (GUID, НомДовер) в нижнем регистре.",
                },
                "internal_number": {**NSTR, "description": "Внутренний номер."},
                "label": {**STR, "example": "№ МЧД-7/2026 (4f1c…) от 15.01.2026"},
                "format_version": {**STR, "example": "EMCHD_1"},
                "issued_on": date,
                "valid_until": date,
                "principal": {
                    **_principal(),
                    "description": "Доверитель, как записан в МЧД.",
                },
                "organisation": _object({"id": UUID, "name": STR, "inn": STR}),
                "representatives": {"type": "array", "items": _person()},
                "powers": {
                    "type": "array",
                    "items": _object(
                        {
                            "code": {
                                **NSTR,
                                "description": "Код полномочия по классификатору "
                                "ФНС; null — текстовое полномочие.",
                            },
                            "text": STR,
                        }
                    ),
                },
                "redelegation": {
                    "type": "string",
                    "enum": ["1", "2", "3"],
                    "description": "1 — без права передоверия, 2 — однократное, "
                    "3 — последующее.",
                },
                "head": _nullable(
                    {**_person(), "description": "Лицо без доверенности."}
                ),
                "signer": _power_signer(),
                "status": {"type": "string", "enum": ["active", "revoked"]},
                "status_label": {**STR, "example": "действует"},
                "status_source": {
                    "type": "string",
                    "enum": ["registry", "local"],
                    "description": "registry — статус проверен в реестре ФНС, "
                    "local — реестр не подключён, статус кабинета.",
                },
                "status_checked_at": NDATETIME,
                "revoked_at": NDATETIME,
                "revocation_reason": NSTR,
                "certificate_id": {
                    **NUUID,
                    "description": "Сертификат, для которого загружена МЧД.",
                },
                "xml_sha256": STR,
                "created_at": DATETIME,
            }
        ),
        "PowerOfAttorneyList": _object(
            {"items": {"type": "array", "items": _ref("PowerOfAttorney")}}
        ),
        "PowerOfAttorneyUpload": {
            "type": "object",
            "required": ["xml", "signature"],
            "properties": {
                "xml": {
                    "type": "string",
                    "format": "byte",
                    "description": "Файл МЧД (XML) в base64, до 1 МБ.",
                },
                "signature": {
                    "type": "string",
                    "format": "byte",
                    "description": "Откреплённая подпись МЧД (.sig, CMS) в base64, "
                    "до 256 КБ.",
                },
                "certificate_id": {
                    **NUUID,
                    "description": "Зарегистрированный сертификат, владелец "
                    "которого — представитель в МЧД.",
                },
            },
        },
        "PowerRevocation": {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "maxLength": 500,
                    "nullable": True,
                    "example": "Сотрудник уволен",
                }
            },
        },
    }


def power_paths() -> dict[str, Any]:
    power_id = _path("power_id", "Идентификатор МЧД в кабинете (id).")
    upload_body = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "signature"],
                    "properties": {
                        "file": {**BINARY, "description": "Файл МЧД (XML), до 1 МБ."},
                        "signature": {
                            **BINARY,
                            "description": "Откреплённая подпись МЧД (.sig), до "
                            "256 КБ.",
                        },
                        "certificate_id": {
                            **UUID,
                            "description": "Зарегистрированный сертификат, "
                            "владелец которого — представитель в МЧД.",
                        },
                    },
                }
            },
            JSON: {"schema": _ref("PowerOfAttorneyUpload")},
        },
    }
    tag = "Доверенности (МЧД)"
    return {
        "/powers-of-attorney": {
            "get": _op(
                "listPowersOfAttorney",
                "МЧД организации ключа",
                tag,
                {"200": _json(_ref("PowerOfAttorneyList"), "МЧД, новые сверху.")},
                scope="read",
            ),
            "post": _op(
                "uploadPowerOfAttorney",
                "Загрузка МЧД (XML и откреплённая подпись руководителя)",
                tag,
                {
                    "201": _json(_ref("PowerOfAttorney"), "МЧД проверена и принята."),
                    "200": _json(
                        _ref("PowerOfAttorney"), "Тот же файл уже загружен: он."
                    ),
                },
                scope="sign",
                errors=(*BODY_ERRORS, "PowerConflict", "Unavailable"),
                body=upload_body,
                description="МЧД в едином формате ФНС, подписанная руководителем "
                "организации-доверителя (ИНН ЮЛ в его сертификате; лицо без "
                "доверенности, названное в МЧД). Проверяются формат и схема, "
                "подпись, доверитель (организация ключа), срок и статус в реестре "
                "ФНС. Отказ — 422 с кодом `power_of_attorney_format`, "
                "`_signature`, `_signer`, `_principal`, `_representative` (при "
                "`certificate_id`), `_expired`, `_revoked`, `_not_registered`; "
                "409 `power_of_attorney_duplicate`; 503 "
                "`power_of_attorney_registry_unavailable`. Нет части — 422 "
                "`validation_error` с `details.field`; `certificate_id` не "
                "зарегистрирован — 422 `certificate_not_registered`.",
            ),
        },
        "/powers-of-attorney/{power_id}": {
            "parameters": [power_id],
            "get": _op(
                "getPowerOfAttorney",
                "МЧД (или её XML для Accept: application/xml)",
                tag,
                {
                    "200": {
                        "description": "МЧД.",
                        "headers": {
                            "X-Content-SHA256": {
                                "schema": STR,
                                "description": "SHA-256 файла XML (для XML).",
                            }
                        },
                        "content": {
                            JSON: {"schema": _ref("PowerOfAttorney")},
                            "application/xml": {"schema": BINARY},
                        },
                    }
                },
                scope="read",
                errors=("PowerNotFound",),
            ),
            "delete": _op(
                "revokePowerOfAttorney",
                "Отзыв МЧД в кабинете",
                tag,
                {"200": _json(_ref("PowerOfAttorney"), "МЧД отозвана.")},
                scope="sign",
                errors=("PowerNotFound", *BODY_ERRORS),
                body={
                    "required": False,
                    "content": {JSON: {"schema": _ref("PowerRevocation")}},
                },
                description="Подписи по отозванной МЧД больше не принимаются "
                "(`power_of_attorney_revoked`); принятые раньше остаются. Отозвать "
                "может ключ организации-доверителя; доверитель отзывает МЧД и в "
                "реестре ФНС.",
            ),
        },
        "/powers-of-attorney/{power_id}/signature": {
            "parameters": [power_id],
            "get": _op(
                "getPowerOfAttorneySignature",
                "Откреплённая подпись МЧД (.sig)",
                tag,
                {
                    "200": {
                        "description": "Подпись CMS, как загружена.",
                        "content": {"application/pkcs7-signature": {"schema": BINARY}},
                    }
                },
                scope="read",
                errors=("PowerNotFound",),
            ),
        },
    }


def readings_paths() -> dict[str, Any]:
    number = {
        "name": "number",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 50},
        "description": "Номер договора.",
    }
    period = {
        "name": "period",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
        "description": "Период ГГГГ-ММ (по умолчанию — текущий).",
    }
    return {
        "/contracts/{number}/meters": {
            "parameters": [number],
            "get": _op(
                "listMeters",
                "Счётчики договора с прошлыми и текущими показаниями",
                "Показания",
                {"200": _json(_ref("MeterSheet"), "Счётчики.")},
                scope="readings",
                errors=("NotFound", "Unprocessable"),
                parameters=[period],
            ),
        },
        "/contracts/{number}/readings": {
            "parameters": [number],
            "post": _op(
                "submitReadings",
                "Передача показаний (построчные ошибки)",
                "Показания",
                {"200": _json(_ref("ReadingsResult"), "Итог по строкам.")},
                scope="readings",
                errors=("NotFound", *BODY_ERRORS),
                body=_json_body(_ref("ReadingsRequest")),
            ),
        },
        "/contracts/{number}/prom10": {
            "parameters": [number],
            "get": _op(
                "renderProm10",
                "Акт ПРОМ10 (PDF, DOCX или XLSX; бланк или заполненный)",
                "Показания",
                {
                    "200": {
                        "description": "Акт.",
                        "content": {
                            "application/pdf": {"schema": BINARY},
                            "application/vnd.openxmlformats-officedocument."
                            "wordprocessingml.document": {"schema": BINARY},
                            "application/vnd.openxmlformats-officedocument."
                            "spreadsheetml.sheet": {"schema": BINARY},
                        },
                    }
                },
                scope="readings",
                errors=("NotFound", "Unprocessable"),
                parameters=[
                    {**period, "required": True},
                    _query(
                        "format", {"type": "string", "enum": ["pdf", "docx", "xlsx"]}
                    ),
                    _query("filled", {"type": "string", "enum": ["true", "false"]}),
                ],
            ),
        },
        "/contracts/{number}/prom10/send": {
            "parameters": [number],
            "post": _op(
                "sendProm10",
                "Передать акт ПРОМ10 в документооборот (на подпись)",
                "Показания",
                {"201": _json(_ref("Document"), "Акт зарегистрирован как документ.")},
                scope="readings",
                description="Нужны области доступа `readings` и `write` (регистрация "
                "документа).",
                errors=("NotFound", "Conflict", "Unprocessable"),
                parameters=[{**period, "required": True}],
            ),
        },
    }


def readings_schemas() -> dict[str, Any]:
    return {
        "Meter": _object(
            {
                "id": UUID,
                "number": STR,
                "object": STR,
                "digits": INT,
                "ratio": INT,
                "status": STR,
                "can_read": BOOL,
                "blocked_reason": STR,
                "previous": _nullable(INT),
                "current": _nullable(INT),
                "current_status": NSTR,
            }
        ),
        "MeterSheet": _object(
            {
                "contract": STR,
                "period": STR,
                "window_open": BOOL,
                "meters": {"type": "array", "items": _ref("Meter")},
            }
        ),
        "ReadingsRequest": {
            "type": "object",
            "required": ["rows"],
            "properties": {
                "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                "send": {
                    "type": "boolean",
                    "description": "Сразу «Передать показания в расчёт».",
                },
                "rows": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {
                        "type": "object",
                        "required": ["meter", "value"],
                        "properties": {
                            "meter": {
                                "type": "string",
                                "description": "Номер счётчика.",
                            },
                            "value": {
                                "oneOf": [
                                    {"type": "string", "maxLength": 20},
                                    {"type": "integer"},
                                ]
                            },
                            "kind": {"type": "string", "enum": ["end", "start"]},
                        },
                    },
                },
            },
        },
        "ReadingsResult": _object(
            {
                "period": STR,
                "saved": INT,
                "sent": INT,
                "rows": {
                    "type": "array",
                    "items": _object(
                        {
                            "index": INT,
                            "meter": NSTR,
                            "ok": BOOL,
                            "error": STR,
                            "note": STR,
                        }
                    ),
                },
            }
        ),
    }


# -- service orders (docflow/service_orders) -------------------------------------------


def service_orders_paths() -> dict[str, Any]:
    order_id = _path("order_id", "Идентификатор заказа.")
    day = {"type": "string", "format": "date"}
    return {
        "/services": {
            "get": _op(
                "listServices",
                "Каталог коммерческих услуг (цены с НДС, поля заказа)",
                "Услуги",
                {"200": _json(_ref("ServiceList"), "Опубликованные услуги.")},
                scope="read",
            ),
        },
        "/orders": {
            "get": _op(
                "listOrders",
                "Заказы услуг по видимым договорам (новые первыми)",
                "Услуги",
                {"200": _json(_ref("OrderList"), "Заказы.")},
                scope="read",
                errors=("NotFound", "Unprocessable"),
                parameters=[
                    _query(
                        "status",
                        {
                            "type": "string",
                            "enum": [
                                "ordered",
                                "awaiting_payment",
                                "paid",
                                "done",
                                "cancelled",
                            ],
                        },
                    ),
                    _query(
                        "contract",
                        {"type": "string", "maxLength": 50},
                        "Номер договора.",
                    ),
                    _query("from", day, "Оформлены не раньше (ГГГГ-ММ-ДД)."),
                    _query("to", day, "Оформлены не позже (ГГГГ-ММ-ДД)."),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                    _query("offset", {"type": "integer", "minimum": 0}),
                ],
            ),
            "post": _op(
                "createOrder",
                "Заказать услугу: номер заказа и оферта на подпись",
                "Услуги",
                {
                    "201": _json(_ref("Order"), "Заказ оформлен."),
                    "200": _json(
                        _ref("Order"), "Заказ с тем же idempotency_key уже оформлен."
                    ),
                },
                scope="write",
                description="Оферта регистрируется в документообороте с маршрутом "
                "клиент → поставщик; после подписания обеими сторонами выставляется "
                "счёт.",
                errors=("NotFound", *BODY_ERRORS),
                body=_json_body(_ref("OrderRequest")),
            ),
        },
        "/orders/{order_id}": {
            "parameters": [order_id],
            "get": _op(
                "getOrder",
                "Заказ услуги с документами",
                "Услуги",
                {"200": _json(_ref("Order"), "Заказ.")},
                scope="read",
                errors=("NotFound",),
            ),
        },
    }


def service_orders_schemas() -> dict[str, Any]:
    field = _object(
        {
            "key": STR,
            "label": STR,
            "type": {"type": "string", "enum": ["text", "number", "date", "choice"]},
            "required": BOOL,
            "choices": {"type": "array", "items": STR},
        }
    )
    service = _object(
        {
            "id": UUID,
            "name": STR,
            "description": STR,
            "unit": STR,
            "price_kopecks": INT,
            "vat_rate": INT,
            "vat_kopecks": INT,
            "price_without_vat_kopecks": INT,
            "fields": {"type": "array", "items": field},
        }
    )
    order = _object(
        {
            "id": UUID,
            "number": STR,
            "service_id": UUID,
            "service": STR,
            "contract": STR,
            "contract_id": UUID,
            "status": STR,
            "status_title": STR,
            "quantity": INT,
            "unit": STR,
            "price_kopecks": INT,
            "total_kopecks": INT,
            "vat_rate": INT,
            "vat_kopecks": INT,
            "fields": {
                "type": "array",
                "items": _object({"key": STR, "label": STR, "value": STR}),
            },
            "comment": STR,
            "offer_document_id": NUUID,
            "invoice_document_id": NUUID,
            "payment_reference": NSTR,
            "created_at": NDATETIME,
            "paid_at": NDATETIME,
            "done_at": NDATETIME,
            "documents": {
                "type": "array",
                "items": _object(
                    {"id": UUID, "type": STR, "number": STR, "status": STR}
                ),
            },
        }
    )
    return {
        "Service": service,
        "ServiceList": _object({"items": {"type": "array", "items": _ref("Service")}}),
        "Order": order,
        "OrderList": _object({"items": {"type": "array", "items": _ref("Order")}}),
        "OrderRequest": {
            "type": "object",
            "required": ["service_id", "fields"],
            "properties": {
                "service_id": UUID,
                "contract_number": {"type": "string", "maxLength": 50},
                "contract_id": UUID,
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": 500},
                    "description": "Значения полей услуги по ключу (или названию) "
                    "поля; даты — ГГГГ-ММ-ДД.",
                },
                "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                "comment": {"type": "string", "maxLength": 2000},
                "contact_name": {"type": "string", "maxLength": 200},
                "contact_phone": {"type": "string", "maxLength": 50},
                "idempotency_key": {
                    "type": "string",
                    "maxLength": 64,
                    "description": "Повтор с тем же ключом вернёт первый заказ.",
                },
            },
        },
    }


# -- appeals (docflow.appeals) --------------------------------------------------------


def appeals_paths() -> dict[str, Any]:
    appeal_id = _path("appeal_id", "Идентификатор обращения.")
    day = {"type": "string", "format": "date"}
    multipart = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["meta"],
                    "properties": {
                        "meta": _ref("AppealRequest"),
                        "attachments": {
                            "type": "array",
                            "maxItems": 5,
                            "items": BINARY,
                            "description": "До 5 файлов, каждый в пределах "
                            "ограничения на файлы документов.",
                        },
                    },
                },
                "encoding": {"meta": {"contentType": JSON}},
            }
        },
    }
    return {
        "/appeals/topics": {
            "get": _op(
                "listAppealTopics",
                "Тематики обращений (срок ответа, юридическая значимость)",
                "Обращения",
                {"200": _json(_ref("AppealTopicList"), "Доступные тематики.")},
                scope="read",
            ),
        },
        "/appeals": {
            "get": _op(
                "listAppeals",
                "Обращения по видимым договорам (новые первыми)",
                "Обращения",
                {"200": _json(_ref("AppealList"), "Обращения.")},
                scope="read",
                errors=("Unprocessable",),
                parameters=[
                    _query(
                        "q",
                        {"type": "string", "maxLength": 200},
                        "Номер или текст обращения.",
                    ),
                    _query(
                        "status",
                        {
                            "type": "string",
                            "enum": [
                                "awaiting_signature",
                                "registered",
                                "in_work",
                                "answered",
                                "closed",
                                "withdrawn",
                            ],
                        },
                    ),
                    _query("topic_id", UUID),
                    _query("contract_id", UUID),
                    _query(
                        "organisation",
                        {"type": "string", "maxLength": 300},
                        "Название или ИНН организации (для ключа поставщика).",
                    ),
                    _query("date_from", day, "Поданы не раньше (ГГГГ-ММ-ДД)."),
                    _query("date_to", day, "Поданы не позже (ГГГГ-ММ-ДД)."),
                    _query(
                        "overdue",
                        {"type": "string", "enum": ["true", "false"]},
                        "Только просроченные (срок ответа истёк).",
                    ),
                    _query("page", {"type": "integer", "minimum": 1}),
                ],
            ),
            "post": _op(
                "createAppeal",
                "Подать обращение: номер, PDF обращения и приложения в документообороте",
                "Обращения",
                {
                    "201": _json(_ref("Appeal"), "Обращение подано."),
                    "200": _json(
                        _ref("Appeal"), "Обращение с тем же Idempotency-Key уже подано."
                    ),
                },
                scope="write",
                description="Обращение по юридически значимой тематике регистрируется "
                "после подписи клиента: документ `document_id` подписывается через "
                "`POST /documents/{document_id}/signatures` (нужно право подписи). "
                "Заголовок `Idempotency-Key` (до 64 символов) защищает от повтора.",
                errors=("NotFound", "Conflict", *BODY_ERRORS),
                body=multipart,
            ),
        },
        "/appeals/{appeal_id}": {
            "parameters": [appeal_id],
            "get": _op(
                "getAppeal",
                "Обращение: текст, файлы, история статусов и ответ",
                "Обращения",
                {"200": _json(_ref("Appeal"), "Обращение.")},
                scope="read",
                errors=("NotFound",),
            ),
        },
        "/appeals/{appeal_id}/answer/files/{file_id}": {
            "parameters": [appeal_id, _path("file_id", "Идентификатор файла ответа.")],
            "get": _op(
                "getAppealAnswerFile",
                "Файл ответа на обращение (PDF ответа или приложение)",
                "Обращения",
                {
                    "200": {
                        "description": "Файл (потоком).",
                        "content": {"*/*": {"schema": BINARY}},
                    }
                },
                scope="read",
                errors=("NotFound",),
            ),
        },
    }


def appeals_schemas() -> dict[str, Any]:
    topic = _object(
        {
            "id": UUID,
            "title": STR,
            "description": STR,
            "legally_significant": BOOL,
            "answer_hours": INT,
        }
    )
    appeal = _object(
        {
            "id": UUID,
            "number": STR,
            "status": STR,
            "status_title": STR,
            "topic": _ref("AppealTopic"),
            "contract": _object({"id": UUID, "number": STR}),
            "organisation": _object({"id": UUID, "name": STR, "inn": STR}),
            "created_at": NDATETIME,
            "registered_at": NDATETIME,
            "due_at": NDATETIME,
            "overdue": BOOL,
            "document_id": NUUID,
            "answered_at": NDATETIME,
            "closed_at": NDATETIME,
            "withdrawn_at": NDATETIME,
            "text": STR,
            "contact": _object({"name": STR, "phone": STR}),
            "files": {"type": "array", "items": _ref("File")},
            "answer": _nullable(
                _object(
                    {
                        "text": NSTR,
                        "document_id": UUID,
                        "files": {"type": "array", "items": _ref("File")},
                    }
                )
            ),
            "history": {
                "type": "array",
                "items": _object(
                    {"status": STR, "at": NDATETIME, "by": STR, "note": STR}
                ),
            },
        }
    )
    return {
        "AppealTopic": topic,
        "AppealTopicList": _object(
            {"items": {"type": "array", "items": _ref("AppealTopic")}}
        ),
        "Appeal": appeal,
        "AppealList": _object(
            {
                "items": {"type": "array", "items": _ref("Appeal")},
                "total": INT,
                "page": INT,
                "pages": INT,
            }
        ),
        "AppealRequest": {
            "type": "object",
            "required": ["topic_id", "text", "contact_name", "contact_phone"],
            "properties": {
                "topic_id": UUID,
                "contract_number": {"type": "string", "maxLength": 50},
                "contract_id": UUID,
                "text": {"type": "string", "minLength": 10, "maxLength": 5000},
                "contact_name": {"type": "string", "maxLength": 300},
                "contact_phone": {"type": "string", "maxLength": 30},
            },
        },
    }


# -- online payment (docflow.payments) ---------------------------------------------------

PAYMENT_STATUSES = ["created", "pending", "paid", "rejected", "error"]


def payments_paths() -> dict[str, Any]:
    day = {"type": "string", "format": "date"}
    return {
        "/payments": {
            "get": _op(
                "listOnlinePayments",
                "Онлайн-платежи по видимым договорам (новые первыми)",
                "Оплата онлайн",
                {"200": _json(_ref("OnlinePaymentList"), "Платежи.")},
                scope="read",
                description="Платежи, которые представители потребителя внесли "
                "через эквайера; оплаченные (`paid`) добавлены в историю платежей "
                "договора. Оплата вносится в кабинете, не через API.",
                errors=("Unprocessable",),
                parameters=[
                    _query("status", {"type": "string", "enum": PAYMENT_STATUSES}),
                    _query(
                        "contract",
                        {"type": "string", "minLength": 1, "maxLength": 50},
                        "Номер договора (или его часть).",
                    ),
                    _query("from", day, "Созданы не раньше (ГГГГ-ММ-ДД, МСК)."),
                    _query("to", day, "Созданы не позже (ГГГГ-ММ-ДД, МСК)."),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                ],
            ),
        },
        "/payments/{payment_id}": {
            "parameters": [_path("payment_id", "Идентификатор платежа (OrderId).")],
            "get": _op(
                "getOnlinePayment",
                "Онлайн-платёж",
                "Оплата онлайн",
                {"200": _json(_ref("OnlinePayment"), "Платёж.")},
                scope="read",
                errors=("NotFound",),
            ),
        },
    }


def payments_schemas() -> dict[str, Any]:
    payment = _object(
        {
            "id": UUID,
            "contract_id": UUID,
            "contract_number": STR,
            "amount_kopecks": INT,
            "purpose": STR,
            "status": {"type": "string", "enum": PAYMENT_STATUSES},
            "status_title": STR,
            "provider": {"type": "string", "enum": ["tbank", "fake"]},
            "provider_payment_id": NSTR,
            "kind": NSTR,
            "reference": NSTR,
            "created_at": DATETIME,
            "paid_at": NDATETIME,
        }
    )
    return {
        "OnlinePayment": payment,
        "OnlinePaymentList": _object(
            {"items": {"type": "array", "items": _ref("OnlinePayment")}}
        ),
    }



# -- hourly volumes (docflow.api.hourly) ----------------------------------------------


def hourly_paths() -> dict[str, Any]:
    number = {
        "name": "number",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 50},
        "description": "Номер договора.",
    }
    day = {"type": "string", "format": "date"}
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            **BINARY,
                            "description": "XML 80020 (windows-1251), Excel (.xlsx: "
                            "дни × 24 часа по точке и каналу) или CSV "
                            "«Точка;Канал;Дата;Час;Значение;Статус», до 20 МБ.",
                        }
                    },
                }
            }
        },
    }
    return {
        "/contracts/{number}/hourly": {
            "parameters": [number],
            "post": _op(
                "uploadHourly",
                "Загрузка почасовых объёмов (80020, Excel или CSV)",
                "Показания",
                {"201": _json(_ref("HourlyUpload"), "Файл принят.")},
                scope="readings",
                description="Файл принимается целиком или не принимается совсем: при "
                "ошибках — 422 с кодом `hourly_file_refused` и ошибками по файлу, "
                "строке и точке в `details.errors`. Повторная загрузка периода "
                "сохраняется как новая версия значений.",
                errors=("NotFound", *BODY_ERRORS),
                body=upload,
            ),
            "get": _op(
                "readHourly",
                "Почасовые значения точки измерений за период (или список точек)",
                "Показания",
                {"200": _json(_ref("HourlyValues"), "Значения (последние версии).")},
                scope="readings",
                description="Без параметра `point` — список точек измерений договора. "
                "Период — не больше 93 дней.",
                errors=("NotFound", "Unprocessable"),
                parameters=[
                    _query("point", {"type": "string", "maxLength": 30}, "Код точки."),
                    _query(
                        "channel",
                        {"type": "string", "enum": ["A+", "A-", "R+", "R-"]},
                        "Канал (по умолчанию A+).",
                    ),
                    _query("from", day, "Первый день периода."),
                    _query("to", day, "Последний день периода."),
                ],
            ),
        },
        "/contracts/{number}/hourly/uploads": {
            "parameters": [number],
            "get": _op(
                "listHourlyUploads",
                "Загрузки почасовых объёмов по договору (последние 100)",
                "Показания",
                {"200": _json(_ref("HourlyUploadList"), "Загрузки, новые первыми.")},
                scope="readings",
                description="Принятые и не принятые файлы с их ошибками; "
                "`file_kept` — сохранён ли сам файл.",
                errors=("NotFound",),
            ),
        },
        "/contracts/{number}/hourly/uploads/{upload_id}/file": {
            "parameters": [number, _path("upload_id", "Идентификатор загрузки.")],
            "get": _op(
                "getHourlyUploadFile",
                "Файл загрузки почасовых объёмов — как он был отправлен",
                "Показания",
                {
                    "200": {
                        "description": "Файл (потоком).",
                        "headers": {
                            "X-Content-SHA256": {
                                "schema": STR,
                                "description": "SHA-256 файла, записанный при загрузке.",
                            }
                        },
                        "content": {"*/*": {"schema": BINARY}},
                    }
                },
                scope="readings",
                errors=("NotFound",),
            ),
        },
    }


def hourly_schemas() -> dict[str, Any]:
    error = _object({"file": STR, "row": INT, "point": STR, "message": STR})
    return {
        "HourlyUpload": _object(
            {
                "id": UUID,
                "filename": STR,
                "format": STR,
                "accepted": BOOL,
                "values": INT,
                "points": INT,
                "first_day": NSTR,
                "last_day": NSTR,
                "errors": {"type": "array", "items": error},
                "created_at": NSTR,
                "sha256": STR,
                "file_kept": BOOL,
            }
        ),
        "HourlyUploadList": _object(
            {"items": {"type": "array", "items": _ref("HourlyUpload")}}
        ),
        "HourlyValues": _object(
            {
                "contract": STR,
                "point": STR,
                "channel": STR,
                "from": STR,
                "to": STR,
                "values": {
                    "type": "array",
                    "items": _object(
                        {
                            "day": STR,
                            "hour": INT,
                            "value": STR,
                            "status": INT,
                            "version": INT,
                        }
                    ),
                },
                "points": {
                    "type": "array",
                    "items": _object({"code": STR, "name": STR, "meter_id": NSTR}),
                },
            },
            required=["contract"],
        ),
    }


# -- ППП, planned hourly consumption (docflow.api.planned) ------------------------------


def planned_paths() -> dict[str, Any]:
    number = {
        "name": "number",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 50},
        "description": "Номер договора.",
    }
    day = {"type": "string", "format": "date"}
    hours = {
        "type": "array",
        "minItems": 24,
        "maxItems": 24,
        "items": {"oneOf": [{"type": "number", "minimum": 0, "maximum": 1000000}, STR]},
        "description": "24 значения, кВт·ч: час 1 — 00:00–01:00 МСК; не меньше 0, "
        "до трёх знаков после запятой (строка «120,5» тоже принимается).",
    }
    return {
        "/contracts/{number}/planned/{date}": {
            "parameters": [
                number,
                {
                    "name": "date",
                    "in": "path",
                    "required": True,
                    "schema": day,
                    "description": "Дата потребления.",
                },
            ],
            "put": _op(
                "submitPlanned",
                "Подача заявки на плановое почасовое потребление (ППП) на дату",
                "Показания",
                {
                    "200": _json(_ref("PlannedRequest"), "Те же значения уже поданы."),
                    "201": _json(_ref("PlannedRequest"), "Подана новая версия заявки."),
                },
                scope="readings",
                description="Заявка на дату D принимается до 12:00 МСК за двое суток "
                "до D (PPP_DEADLINE_HOUR, PPP_DAYS_AHEAD); позже — 422 с кодом "
                "`planned_deadline_passed`. Повторная подача до срока заменяет "
                "значения, прежние сохраняются как версия. Принятую поставщиком "
                "заявку изменить нельзя (409, `planned_accepted`).",
                errors=("NotFound", "Conflict", *BODY_ERRORS),
                body=_json_body(_object({"hours": hours}, required=["hours"])),
            ),
        },
        "/contracts/{number}/planned": {
            "parameters": [number],
            "get": _op(
                "listPlanned",
                "Заявки ППП договора за период",
                "Показания",
                {"200": _json(_ref("PlannedRequestList"), "Заявки по датам.")},
                scope="readings",
                description="По умолчанию — с сегодняшнего дня на 31 день; период "
                "не больше 366 дней.",
                errors=("NotFound", "Unprocessable"),
                parameters=[
                    _query("from", day, "Первая дата."),
                    _query("to", day, "Последняя дата."),
                ],
            ),
        },
    }


def planned_schemas() -> dict[str, Any]:
    request = _object(
        {
            "contract": STR,
            "day": STR,
            "status": {
                "type": "string",
                "enum": ["draft", "submitted", "accepted", "overdue"],
            },
            "status_title": STR,
            "version": INT,
            "hours": {"type": "array", "items": NSTR},
            "total": STR,
            "deadline": STR,
            "submitted_at": NSTR,
            "accepted_at": NSTR,
            "created_version": BOOL,
        },
        required=["day", "status", "hours"],
    )
    return {
        "PlannedRequest": request,
        "PlannedRequestList": _object(
            {
                "contract": STR,
                "from": STR,
                "to": STR,
                "items": {"type": "array", "items": _ref("PlannedRequest")},
            }
        ),
    }


def openapi_spec(
    *, server_url: str = "/api/v1", readings: bool = True
) -> dict[str, Any]:
    """The description as a dict (served as JSON)."""
    paths = {**_paths(), **power_paths()}
    schemas = {**_schemas(), **power_schemas()}
    if readings:
        paths.update(readings_paths())
        schemas.update(readings_schemas())
    paths.update(service_orders_paths())  # service orders
    schemas.update(service_orders_schemas())  # service orders
    paths.update(appeals_paths())  # appeals
    schemas.update(appeals_schemas())  # appeals
    paths.update(payments_paths())  # online payment
    schemas.update(payments_schemas())  # online payment
    paths.update(hourly_paths())  # hourly volumes
    schemas.update(hourly_schemas())  # hourly volumes
    paths.update(planned_paths())  # ППП
    schemas.update(planned_schemas())  # ППП
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "docflow API",
            "version": VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "Документы"},
            {"name": "Подписание"},
            {"name": "Сертификаты"},
            {"name": "Доверенности (МЧД)"},
            {"name": "Проверка"},
            {"name": "События"},
            {"name": "Показания"},
            {"name": "Услуги"},  # service orders
            {"name": "Обращения"},  # appeals
            {"name": "Оплата онлайн"},  # online payment
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "dfk_<префикс>_<секрет>",
                }
            },
            "schemas": schemas,
            "responses": _responses(),
        },
    }


@functools.cache
def query_parameters() -> dict[tuple[str, str], set[str]]:
    """{(Flask rule, METHOD): the query parameters the description names}."""
    spec = openapi_spec(readings=True)
    out: dict[tuple[str, str], set[str]] = {}
    for path, item in spec["paths"].items():
        common = item.get("parameters", [])
        rule = "/api/v1" + re.sub(
            r"\{(\w+)\}",
            lambda m: (
                f"<{m.group(1)}>" if m.group(1) == "number" else f"<uuid:{m.group(1)}>"
            ),
            path,
        )
        for method, op in item.items():
            if method == "parameters":
                continue
            names = {
                p["name"]
                for p in [*common, *op.get("parameters", [])]
                if p["in"] == "query"
            }
            out[(rule, method.upper())] = names
    return out
