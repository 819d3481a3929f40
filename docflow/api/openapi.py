"""The OpenAPI 3 description of ``/api/v1``, generated, served at
``/api/v1/openapi.json``.

Each route declares its contract where it is registered
(:func:`docflow.api.base.operation`: the pydantic models of its query, body and
answers, its refusals); apispec assembles the document from those
declarations through :class:`DocflowPlugin`, which turns a Flask rule into a
path template and a pydantic model into an OpenAPI 3.0 schema. What is written
here is prose: the introduction, the refusals' descriptions and the words for
path parameters.

The document is the contract integrators code against:
``tests/functional/test_openapi_contract.py`` holds it to the frozen
description of the API, and ``tests/integration/test_api_schemathesis.py``
checks every answer of the running API against it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from apispec import APISpec, BasePlugin
from pydantic import BaseModel

from docflow.api import routes  # noqa: F401 - importing registers the operations
from docflow.api.base import JSON, OPERATIONS, Answer, Body, Inline, Operation, Schema
from docflow.api.schemas import COMPONENTS

VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"

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

#: The refusals an operation names in ``errors``: status and description
#: (each a ``components/responses`` entry with the ``Error`` body).
ERRORS: dict[str, tuple[int, str]] = {
    "BadRequest": (
        400,
        "Тело не разобрать (invalid_json, json_too_deep, bad_request).",
    ),
    "Unauthorized": (401, "Нет ключа API, ключ неизвестен или отозван (unauthorized)."),
    "Forbidden": (403, "Ключу не выдана нужная область доступа (forbidden)."),
    "NotFound": (404, "Объекта нет или он не виден ключу (not_found)."),
    "PowerNotFound": (
        404,
        "МЧД нет или она не видна ключу (power_of_attorney_not_found).",
    ),
    "Conflict": (
        409,
        "Состояние документа не допускает действия (document_state_conflict).",
    ),
    "PowerConflict": (
        409,
        "МЧД с тем же номером уже загружена с другим содержимым "
        "(power_of_attorney_duplicate).",
    ),
    "PayloadTooLarge": (413, "Слишком большое тело или файл (payload_too_large)."),
    "UnsupportedMediaType": (
        415,
        "Неподдерживаемый тип содержимого (unsupported_media_type).",
    ),
    "Unprocessable": (
        422,
        "Данные не прошли проверку (validation_error и коды подписи, сертификата и "
        "МЧД — power_of_attorney_*).",
    ),
    "RateLimited": (429, "Превышен лимит запросов ключа (rate_limited)."),
    "Unavailable": (
        503,
        "Реестр доверенностей ФНС не ответил: статус МЧД неизвестен, повторите позже "
        "(power_of_attorney_registry_unavailable).",
    ),
}
#: Every operation may answer these (no key, a key without the scope, too many
#: requests).
ALWAYS = ("Unauthorized", "RateLimited", "Forbidden")

TAGS = (
    "Документы",
    "Подписание",
    "Сертификаты",
    "Доверенности (МЧД)",
    "Проверка",
    "События",
    "Показания",
    "Услуги",
    "Обращения",
    "Оплата онлайн",
)

UUID = {"type": "string", "format": "uuid"}
#: Path parameters by name: schema (a ``uuid`` converter gives a UUID) and words.
PATH_PARAMETERS: dict[str, tuple[Mapping[str, Any] | None, str]] = {
    "document_id": (None, "Идентификатор документа."),
    "file_id": (None, "Идентификатор файла."),
    "signature_id": (None, "Идентификатор подписи."),
    "certificate_id": (None, "Идентификатор сертификата."),
    "webhook_id": (None, "Идентификатор вебхука."),
    "power_id": (None, "Идентификатор МЧД в кабинете (id)."),
    "order_id": (None, "Идентификатор заказа."),
    "appeal_id": (None, "Идентификатор обращения."),
    "payment_id": (None, "Идентификатор платежа (OrderId)."),
    "upload_id": (None, "Идентификатор загрузки."),
    "number": ({"type": "string", "maxLength": 50}, "Номер договора."),
    "date": ({"type": "string", "format": "date"}, "Дата потребления."),
}

#: The areas in the order the document presents them (each area's operations
#: in the order its module registers them).
AREAS = (
    "docflow.api.documents",
    "docflow.api.signatures",
    "docflow.api.certificates",
    "docflow.api.verify",
    "docflow.api.events",
    "docflow.api.powers",
    "docflow.api.readings",
    "docflow.api.service_orders",
    "docflow.api.appeals",
    "docflow.api.payments",
    "docflow.api.hourly",
    "docflow.api.planned",
)

REF = "#/components/schemas/{model}"
_RULE_PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


# -- pydantic models as OpenAPI 3.0 schemas --------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model`` as an OpenAPI 3.0 schema: the models of :data:`COMPONENTS` it
    holds are ``$ref``s, any other model and every enum is written inline,
    ``X | None`` is ``nullable``, and titles are left out."""
    raw = model.model_json_schema(ref_template=REF)
    defs = raw.pop("$defs", {})
    converted: dict[str, Any] = _openapi30(raw, defs)
    return converted


def _openapi30(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_openapi30(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in COMPONENTS:
            return ref(name)
        target = dict(defs[name])
        if "enum" in target:
            target.pop("description", None)  # an enum's docstring is a developer's
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _openapi30({**target, **siblings}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties":
            out[key] = {name: _openapi30(s, defs) for name, s in value.items()}
        elif key in ("anyOf", "oneOf") and {"type": "null"} in value:
            rest = [_openapi30(s, defs) for s in value if s != {"type": "null"}]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out.update(rest[0])
            elif len(rest) == 1:
                out["allOf"] = rest
            else:
                out[key] = rest
            out["nullable"] = True
        else:
            out[key] = _openapi30(value, defs)
    return out


def schema_of(schema: Schema) -> dict[str, Any]:
    """A body's or an answer's schema: a named model is a ``$ref``."""
    if isinstance(schema, Inline):
        return model_schema(schema.model)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        if COMPONENTS.get(schema.__name__) is not schema:
            raise RuntimeError(f"{schema.__name__} is not a component: use Inline")
        return ref(schema.__name__)
    return dict(schema)


# -- apispec ---------------------------------------------------------------------------


class DocflowPlugin(BasePlugin):
    """apispec's hooks for docflow: a component from a pydantic model
    (``spec.components.schema(name, model=...)``), a path from a Flask rule
    and its operations from their :class:`~docflow.api.base.Operation`
    (``spec.path(rule=..., api_operations=[...])``)."""

    def schema_helper(
        self, name: str, definition: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        model = kwargs.get("model")
        return None if model is None else model_schema(model)

    def path_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        parameters: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> str | None:
        rule: str | None = kwargs.get("rule")
        if rule is None or parameters is None:
            return None
        words: Mapping[str, str] = kwargs.get("path_words", {})
        for converter, name in _RULE_PART.findall(rule):
            schema, description = PATH_PARAMETERS[name]
            if converter == "uuid":
                schema = UUID
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": dict(schema or {"type": "string"}),
                    "description": words.get(name, description),
                }
            )
        return _RULE_PART.sub(r"{\2}", rule)

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        for op in kwargs.get("api_operations", ()):
            assert operations is not None
            operations[op.method.lower()] = _operation(op)


def _operation(op: Operation) -> dict[str, Any]:
    responses = {str(status): _answer(a) for status, a in op.answers.items()}
    for name in (*ALWAYS, *op.errors):
        status, _ = ERRORS[name]
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    scope = op.scopes[0] if op.scopes else None
    if scope:
        out["x-required-scope"] = scope
        out["description"] = (op.description + "\n\n" if op.description else "") + (
            f"Область доступа: `{scope}`."
        )
    elif op.description:
        out["description"] = op.description
    if op.body is not None:
        out["requestBody"] = _body(op.body)
    parameters = [*(dict(p) for p in op.parameters), *_query(op.query)]
    if parameters:
        out["parameters"] = parameters
    return out


def _answer(answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        out["headers"] = {
            name: {"schema": {"type": "string"}, "description": words}
            for name, words in answer.headers.items()
        }
    if answer.content:
        out["content"] = {
            media: {"schema": schema_of(s)} for media, s in answer.content.items()
        }
    return out


def _body(body: Body) -> dict[str, Any]:
    content = {}
    for media, schema in body.content.items():
        content[media] = {"schema": schema_of(schema)}
        if media in body.encoding:
            content[media]["encoding"] = dict(body.encoding[media])
    return {"required": body.required, "content": content}


def _query(model: type[BaseModel] | None) -> Iterator[dict[str, Any]]:
    if model is None:
        return
    schema = model_schema(model)
    required = set(schema.get("required", []))
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        yield parameter


def _components_used(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        target = document.get("$ref")
        if isinstance(target, str) and target.startswith("#/components/schemas/"):
            yield target.rsplit("/", 1)[1]
        for value in document.values():
            yield from _components_used(value)
    elif isinstance(document, list):
        for value in document:
            yield from _components_used(value)


def build_spec(*, server_url: str = "/api/v1", readings: bool = True) -> APISpec:
    """The document as apispec's :class:`~apispec.APISpec`: every operation the
    route modules (:mod:`docflow.api.routes`) registered, those of the readings
    module where it is built in, and the components their schemas reach."""
    spec = APISpec(
        title="docflow API",
        version=VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[DocflowPlugin()],
        info={"description": DESCRIPTION},
        servers=[{"url": server_url}],
        security=[{"bearerAuth": []}],
    )
    by_rule: dict[str, list[Operation]] = {}
    area = {name: i for i, name in enumerate(AREAS)}
    ordered = sorted(OPERATIONS.values(), key=lambda op: area.get(op.module, len(area)))
    for op in ordered:
        if op.optional == "readings" and not readings:
            continue
        by_rule.setdefault(op.rule, []).append(op)
    used = {op.tag for ops in by_rule.values() for op in ops}
    for tag in (*TAGS, *sorted(used - set(TAGS))):
        spec.tag({"name": tag})
    for rule, ops in by_rule.items():
        words = {k: v for op in ops for k, v in op.path.items()}
        spec.path(rule=rule, api_operations=ops, path_words=words)
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "bearerFormat": "dfk_<префикс>_<секрет>"},
    )
    for name, (_, text) in ERRORS.items():
        spec.components.response(
            name, {"description": text, "content": {JSON: {"schema": ref("Error")}}}
        )
    reached: set[str] = set()
    pending = ["Error", *_components_used(spec.to_dict()["paths"])]
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(_components_used(model_schema(COMPONENTS[name])))
    for name in sorted(reached):
        spec.components.schema(name, model=COMPONENTS[name])
    return spec


@functools.cache
def openapi_json(*, server_url: str = "/api/v1", readings: bool = True) -> str:
    """The document as JSON text, made once per process (it changes only with
    the code)."""
    document = build_spec(server_url=server_url, readings=readings).to_dict()
    # A path's own parameters before its operations, as a reader expects.
    document["paths"] = {
        path: {k: item[k] for k in sorted(item, key=lambda k: k != "parameters")}
        for path, item in document["paths"].items()
    }
    return json.dumps(document, ensure_ascii=False)


def openapi_spec(
    *, server_url: str = "/api/v1", readings: bool = True
) -> dict[str, Any]:
    """The description as a dict (a fresh one for each caller)."""
    return json.loads(openapi_json(server_url=server_url, readings=readings))  # type: ignore[no-any-return]


__all__ = [
    "DESCRIPTION",
    "ERRORS",
    "POWER_CODES",
    "build_spec",
    "model_schema",
    "openapi_json",
    "openapi_spec",
]
