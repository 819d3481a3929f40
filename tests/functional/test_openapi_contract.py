"""The API's contract with integrators, frozen: the served OpenAPI document
keeps the paths, methods, parameters, status codes, media types and schemas
of ``tests/data/openapi_v1_before.json`` (the hand-written description as it
stood when the document began to be generated from the routes and models).

The comparison is structural. Descriptions, examples and titles may be worded
differently; ``$ref`` is followed wherever it points (a sub-object may become
a named component or stop being one); ``nullable: true`` and a ``"null"`` in
``type`` say the same thing, as do ``allOf`` of objects and the one merged
object. Everything else — property names, types, formats, enums, ``required``,
lengths, bounds, patterns, defaults — must be equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from docflow.api.errors import validated
from docflow.api.schemas import documents as docs
from docflow.api.schemas import events, payments, powers, signatures
from docflow.errors import DocflowError

FROZEN = Path(__file__).resolve().parents[1] / "data" / "openapi_v1_before.json"
METHODS = ("get", "put", "post", "delete", "patch")
#: Wording, not contract.
PROSE = frozenset({"description", "example", "examples", "title", "summary"})


@pytest.fixture(scope="module")
def documents(sqlite_app: Flask) -> tuple[dict[str, Any], dict[str, Any]]:
    served = sqlite_app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/json")
    return json.loads(FROZEN.read_text(encoding="utf-8")), served.get_json()


class Normalizer:
    """Schemas of one document in a form where equal contracts compare equal."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document.get("components", {})

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = set()
        while "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/components/"), ref
            assert ref not in seen, f"a $ref cycle through {ref}"
            seen.add(ref)
            kind, name = ref.removeprefix("#/components/").split("/", 1)
            assert name in self.components.get(kind, {}), f"dangling {ref}"
            node = {
                **self.components[kind][name],
                **{k: v for k, v in node.items() if k != "$ref"},
            }
        return node

    def schema(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        node = self.resolve(node)
        out: dict[str, Any] = {}
        types: set[str] = set()
        for key, value in node.items():
            if key in PROSE:
                continue
            if key == "nullable":
                if value:
                    types.add("null")
            elif key == "type":
                types.update([value] if isinstance(value, str) else value)
            elif key == "properties":
                out[key] = {name: self.schema(s) for name, s in value.items()}
            elif key in ("items", "additionalProperties", "not"):
                out[key] = self.schema(value)
            elif key in ("oneOf", "anyOf"):
                members = [self.schema(s) for s in value]
                nulls = [m for m in members if m == {"type": ["null"]}]
                rest = [m for m in members if m != {"type": ["null"]}]
                if nulls and len(rest) == 1:
                    types.add("null")
                    out = _merge(out, rest[0])
                else:
                    out[key] = members
            elif key == "allOf":
                for member in value:
                    out = _merge(out, self.schema(member))
            elif key == "required":
                out[key] = sorted(value)
            else:
                out[key] = value
        if types:
            existing = set(out.get("type", []))
            out["type"] = sorted(existing | types)
        if out.get("type") == ["null"] and len(out) > 1:
            out.pop("type")  # only "nullable" was said of a merged schema
        return out

    def parameters(self, item: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
            p = self.resolve(raw)
            out[(p["name"], p["in"])] = {
                "required": bool(p.get("required", False)),
                "schema": self.schema(p.get("schema", {})),
            }
        return out

    def content(self, holder: dict[str, Any]) -> dict[str, Any]:
        return {
            media: {
                "schema": self.schema(body.get("schema", {})),
                "encoding": body.get("encoding"),
            }
            for media, body in holder.get("content", {}).items()
        }

    def operation(self, item: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
        body = self.resolve(op["requestBody"]) if "requestBody" in op else None
        responses = {}
        for status, raw in op["responses"].items():
            response = self.resolve(raw)
            responses[status] = {
                "content": self.content(response),
                "headers": sorted(response.get("headers", {})),
            }
        return {
            "operationId": op.get("operationId"),
            "tags": op.get("tags"),
            "x-required-scope": op.get("x-required-scope"),
            "security": op.get("security"),
            "parameters": self.parameters(item, op),
            "requestBody": None
            if body is None
            else {"required": body.get("required", False), **self.content(body)},
            "responses": responses,
        }


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    out = {**left}
    for key, value in right.items():
        if key == "properties":
            out[key] = {**out.get(key, {}), **value}
        elif key == "required":
            out[key] = sorted({*out.get(key, []), *value})
        elif key == "type" and key in out:
            mine = set(out[key])
            theirs = set(value)
            # {"type": ["null"]} beside an object only says "nullable".
            out[key] = sorted(mine | theirs)
        else:
            out[key] = value
    return out


def _differences(old: Any, new: Any, where: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key not in new:
                yield f"{where}/{key}: missing (was {json.dumps(old[key])[:200]})"
            elif key not in old:
                yield f"{where}/{key}: added ({json.dumps(new[key])[:200]})"
            else:
                yield from _differences(old[key], new[key], f"{where}/{key}")
    elif old != new:
        yield f"{where}: was {json.dumps(old)[:200]}, now {json.dumps(new)[:200]}"


def _assert_same(old: Any, new: Any, what: str) -> None:
    diffs = list(_differences(old, new))
    assert not diffs, f"{what}:\n" + "\n".join(diffs[:40])


def test_the_document_keeps_its_header_and_security(documents: Any) -> None:
    old, new = documents
    assert new["openapi"] == old["openapi"]
    assert new["info"]["title"] == old["info"]["title"]
    assert new["info"]["version"] == old["info"]["version"]
    assert new["servers"] == old["servers"]
    assert new["security"] == old["security"]
    assert new["components"]["securitySchemes"] == old["components"]["securitySchemes"]
    assert {t["name"] for t in new["tags"]} >= {t["name"] for t in old["tags"]}


def test_the_same_paths_and_methods(documents: Any) -> None:
    old, new = documents
    assert sorted(new["paths"]) == sorted(old["paths"])
    for path, item in old["paths"].items():
        assert sorted(m for m in new["paths"][path] if m in METHODS) == sorted(
            m for m in item if m in METHODS
        ), path


def test_every_operation_keeps_its_parameters_bodies_and_answers(
    documents: Any,
) -> None:
    old, new = documents
    before, after = Normalizer(old), Normalizer(new)
    for path, item in old["paths"].items():
        for method in (m for m in item if m in METHODS):
            _assert_same(
                before.operation(item, item[method]),
                after.operation(new["paths"][path], new["paths"][path][method]),
                f"{method.upper()} {path}",
            )


def test_every_named_schema_and_response_is_still_there_and_the_same(
    documents: Any,
) -> None:
    old, new = documents
    before, after = Normalizer(old), Normalizer(new)
    for kind in ("schemas", "responses"):
        missing = set(old["components"][kind]) - set(new["components"][kind])
        assert not missing, f"components/{kind} lost {sorted(missing)}"
    for name, schema in old["components"]["schemas"].items():
        _assert_same(
            before.schema(schema),
            after.schema(new["components"]["schemas"][name]),
            f"components/schemas/{name}",
        )
    for name, response in old["components"]["responses"].items():
        _assert_same(
            before.content(response),
            after.content(new["components"]["responses"][name]),
            f"components/responses/{name}",
        )


def test_the_normalizer_sees_a_changed_contract(documents: Any) -> None:
    """The comparison is not blind: a lost property, a changed type, a dropped
    status code or a dropped required field is a difference."""
    old, _ = documents
    norm = Normalizer(old)
    document = old["components"]["schemas"]["Document"]
    changed = json.loads(json.dumps(document))
    changed["properties"].pop("title")
    assert list(_differences(norm.schema(document), norm.schema(changed)))
    changed = json.loads(json.dumps(document))
    changed["properties"]["number"] = {"type": "integer"}
    assert list(_differences(norm.schema(document), norm.schema(changed)))
    changed = json.loads(json.dumps(document))
    changed["required"].remove("id")
    assert list(_differences(norm.schema(document), norm.schema(changed)))
    item = old["paths"]["/documents"]
    op = json.loads(json.dumps(item["get"]))
    op["responses"].pop("422")
    assert list(
        _differences(norm.operation(item, item["get"]), norm.operation(item, op))
    )
    # Saying "nullable" either way is the same contract.
    assert norm.schema({"type": "string", "nullable": True}) == norm.schema(
        {"anyOf": [{"type": "string"}, {"type": "null"}]}
    )


def test_the_served_document_is_valid_openapi_3_0(documents: Any) -> None:
    # The hand-written one was not quite: a "type" list is OpenAPI 3.1.
    _, new = documents
    validate(new)


UUID = "6c531a7e-e501-42d5-9308-6a4f8684c65a"
META = {"type": "act", "number": "1", "title": "t", "date": "2026-01-01"}


@pytest.mark.parametrize(
    ("model", "data", "refusal"),
    [
        (docs.Reason, {}, (422, "validation_error", "Поле «reason» обязательно.")),
        (
            docs.Reason,
            {"reason": 5},
            (422, "validation_error", "Поле «reason» должно быть строкой."),
        ),
        (
            docs.Reason,
            {"reason": "x" * 2001},
            (422, "validation_error", "Поле «reason» длиннее 2000 символов."),
        ),
        (
            signatures.PrepareRequest,
            {"certificate_id": UUID, "pades": None},
            (422, "validation_error", "Поле «pades» должно быть true или false."),
        ),
        (
            signatures.CompleteRequest,
            {"session_id": UUID, "signatures": {"cms": "@@"}},
            (
                422,
                "validation_error",
                "Поле «signatures.cms» не является корректным base64.",
            ),
        ),
        (
            docs.DocumentMeta,
            {**META, "number": 5, "title": None},  # the first in the old order
            (422, "validation_error", "Поле «number» должно быть строкой."),
        ),
        (
            docs.DocumentMeta,
            META,
            (422, "validation_error", "Поле «contract_number» обязательно."),
        ),
        (
            docs.DocumentSearch,
            {"limit": "0", "cursor": "x" * 201},
            (422, "invalid_cursor", "Параметр «cursor» длиннее 200 символов."),
        ),
        (
            events.EventFeed,
            {"limit": "--5"},
            (422, "validation_error", "Параметр «limit»: целое число от 1 до 500."),
        ),
        (
            payments.PaymentFilters,
            {"from": "2026-13-01"},
            (422, "validation_error", "Поле «from» должно быть датой ГГГГ-ММ-ДД."),
        ),
        (
            powers.PowerRevocation,
            {"reason": "x" * 501},
            (422, "validation_error", "Поле «reason» длиннее 500 символов."),
        ),
        (
            powers.PowerOfAttorneyUpload,
            {"xml": "A" * (2 * 1024 * 1024), "signature": "AAAA"},
            (413, "payload_too_large", "Файл МЧД (XML) больше 1024 КБ."),
        ),
    ],
)
def test_a_model_refuses_in_the_api_s_words(
    model: Any, data: dict[str, Any], refusal: tuple[int, str, str]
) -> None:
    """The error envelope integrators rely on: the models answer the first
    mistake with the status, code and Russian message the hand-written checks
    gave, and ``details.field`` naming the field."""
    with pytest.raises(DocflowError) as caught:
        validated(model, data)
    error = caught.value
    assert (error.status, error.code, error.message) == refusal
    assert "field" in error.details
