"""What the API's route modules share: the ``api`` blueprint, the key's actor,
the scope check, and :func:`operation` — a route registered together with its
contract (the models of its query, body and answers, its refusals), from which
:mod:`docflow.api.openapi` generates the OpenAPI document.

The route modules import this module; :mod:`docflow.api.blueprint` imports
the route modules to register them (no cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g
from pydantic import BaseModel
from sqlalchemy import select

from docflow.access import Actor, require_scopes
from docflow.context import db_session
from docflow.contracts.common import normalize_contract_number
from docflow.contracts.models import Contract
from docflow.errors import NotFoundError

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")

# Reached without a key: the description of the API and its documentation page.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_json", "api.docs"})

F = TypeVar("F", bound=Callable[..., Any])

#: The longest contract number (the column's length).
CONTRACT_NUMBER_MAX = 50


def api_actor() -> Actor:
    return g.api_actor  # type: ignore[no-any-return]


def contract_by_number(number: str) -> Contract:
    """The contract a route's ``{number}`` names, written any way the cabinet
    accepts (case, spaces, dashes); whether the key may see it is the route's
    check. A number longer than a contract number has is none.

    :raises NotFoundError: no such contract.
    """
    contract = (
        db_session().scalar(
            select(Contract).where(Contract.number == normalize_contract_number(number))
        )
        if len(number) <= CONTRACT_NUMBER_MAX
        else None
    )
    if contract is None:
        raise NotFoundError("Договор не найден.")
    return contract


def scope(*names: str) -> Callable[[F], F]:
    """The route needs the key to hold every scope of ``names`` (403 ``forbidden``
    naming the first one missing)."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_scopes(api_actor(), *names)
            return fn(*args, **kwargs)

        wrapper.required_scopes = names  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# -- the contract of an operation --------------------------------------------------------


@dataclass(frozen=True)
class Inline:
    """A model written out where it is used, not named in the components."""

    model: type[BaseModel]


#: What a body or an answer holds for one media type: a named model (a
#: ``$ref``), an :class:`Inline` model, or a schema written as a dict.
Schema = type[BaseModel] | Inline | Mapping[str, Any]

BINARY: Mapping[str, Any] = {"type": "string", "format": "binary"}
JSON = "application/json"
MULTIPART = "multipart/form-data"
#: The refusals of an operation that reads a body.
BODY_ERRORS = ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Unprocessable")


@dataclass(frozen=True)
class Body:
    """A request body, by media type. ``encoding`` is OpenAPI's, per media type
    (the JSON ``meta`` part of a multipart body)."""

    content: Mapping[str, Schema]
    required: bool = True
    encoding: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A success answer: its description, content by media type, and response
    headers (name → description; each a string)."""

    description: str
    content: Mapping[str, Schema] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


def json_request(model: Schema) -> Body:
    """A required ``application/json`` body."""
    return Body({JSON: model})


def json_answer(model: Schema, description: str) -> Answer:
    """An ``application/json`` answer."""
    return Answer(description, {JSON: model})


@dataclass(frozen=True)
class Operation:
    """One route and its contract. ``errors`` name the refusals it may answer
    beyond 401, 403 and 429 (``docflow.api.openapi.ERRORS``); ``path`` words
    its path parameters where the usual description does not fit;
    ``parameters`` are further (header) parameters as OpenAPI writes them;
    an operation of an ``optional`` module is described only where that
    module is built in."""

    method: str
    rule: str
    endpoint: str
    module: str
    operation_id: str
    summary: str
    tag: str
    scopes: tuple[str, ...]
    answers: Mapping[int, Answer]
    errors: tuple[str, ...] = ()
    query: type[BaseModel] | None = None
    body: Body | None = None
    parameters: tuple[Mapping[str, Any], ...] = ()
    path: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    optional: str | None = None

    @property
    def query_names(self) -> frozenset[str]:
        """The query parameters the operation takes (any other is refused)."""
        if self.query is None:
            return frozenset()
        return frozenset(f.alias or name for name, f in self.query.model_fields.items())


#: Every operation of the blueprint, by endpoint (``api.get_document``), in the
#: order the route modules registered them.
OPERATIONS: dict[str, Operation] = {}


def operation(
    method: str,
    rule: str,
    *,
    id: str,  # noqa: A002 - OpenAPI's operationId, the name integrators see
    summary: str,
    tag: str,
    scopes: tuple[str, ...],
    answers: Mapping[int, Answer],
    errors: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
    body: Body | None = None,
    parameters: tuple[Mapping[str, Any], ...] = (),
    path: Mapping[str, str] | None = None,
    description: str | None = None,
    optional: str | None = None,
) -> Callable[[F], F]:
    """Register the route ``method rule`` on :data:`bp`, behind the check of
    ``scopes``, with its contract (see :class:`Operation`)."""

    def decorate(fn: F) -> F:
        view = scope(*scopes)(fn)
        bp.add_url_rule(rule, view_func=view, methods=[method])
        endpoint = f"{bp.name}.{fn.__name__}"
        if endpoint in OPERATIONS:
            raise RuntimeError(f"{endpoint} is registered twice")
        OPERATIONS[endpoint] = Operation(
            method=method,
            rule=rule,
            endpoint=endpoint,
            module=fn.__module__,
            operation_id=id,
            summary=summary,
            tag=tag,
            scopes=scopes,
            answers=answers,
            errors=errors,
            query=query,
            body=body,
            parameters=parameters,
            path=path or {},
            description=description,
            optional=optional,
        )
        return view

    return decorate
