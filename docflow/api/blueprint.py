"""The ``api`` blueprint at ``/api/v1``: authentication by API key, scopes, the
rate limit per key, and the registration of its routes.

A request carries ``Authorization: Bearer dfk_<prefix>_<secret>``; the key
becomes an :class:`~docflow.access.Actor` (the key's organisation, or the
supplier) with the key's scopes, and every route calls the same services as the
web pages with it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter.util import get_remote_address

from docflow.access import Actor, require_scopes
from docflow.api.errors import UnauthorizedError
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.web import db_session, request_info, state

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")

# Reached without a key: the description of the API and its documentation page.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_json", "api.docs"})
DEFAULT_RATE_LIMIT = "1200/minute"
# Guessing keys: an address whose requests were refused 401 this often waits.
DEFAULT_AUTH_FAILURE_LIMIT = "120/minute"

F = TypeVar("F", bound=Callable[..., Any])


def api_actor() -> Actor:
    return g.api_actor  # type: ignore[no-any-return]


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


@bp.before_request
def _authenticate() -> None:
    """The key, read in the request's own transaction: one connection from
    the pool per request, and the route's commit is the only one. The mark
    of use (at most once a minute) is written beside, in a short transaction
    of its own, so that a read commits nothing and a write does not hold the
    key's row locked until its end."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    from docflow.api.services import actor_for_key, authenticate, mark_used, needs_mark

    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise UnauthorizedError(
            "Нужен заголовок Authorization: Bearer <ключ API>. Ключ выдаёт "
            "администратор договора на странице «Ключи API»."
        )
    key = authenticate(db_session(), raw)
    if key is None:
        raise UnauthorizedError("Ключ API неизвестен или отозван.")
    if needs_mark(key):
        with state().sessionmaker() as marking, transaction(marking):
            mark_used(marking, key.id)
    g.api_key = key
    g.api_actor = actor_for_key(key, request_info())


@bp.before_request
def _refuse_unknown_parameters() -> None:
    """A misspelt filter (``?stauts=signed``) must not silently widen a search:
    query parameters the description does not name are refused."""
    from docflow.api.openapi import query_parameters

    if (
        request.url_rule is None
        or not request.args
        or request.endpoint in PUBLIC_ENDPOINTS
    ):
        return
    allowed = query_parameters().get((request.url_rule.rule, request.method), set())
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise ValidationError(
            "Неизвестные параметры запроса: " + ", ".join(unknown[:10]) + ".",
            details={"unknown": unknown[:10], "allowed": sorted(allowed)},
        )


@bp.after_request
def _api_headers(response: Any) -> Any:
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="docflow"'
    if request.endpoint not in PUBLIC_ENDPOINTS:
        # Documents and keys of a company: never kept by a proxy or a browser.
        response.headers["Cache-Control"] = "no-store"
    return response


def rate_limit_key() -> str:
    """One bucket per API key: by a digest of the presented key, so that nobody
    who knows only a key's visible prefix can spend its allowance."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    if scheme.lower() == "bearer" and raw:
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
        return f"api-key:{digest[:32]}"
    return f"api-ip:{get_remote_address()}"


def _rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _auth_failure_limit() -> str:
    return str(current_app.config["API_AUTH_FAILURE_LIMIT"])


def _failed_auth(response: Any) -> bool:
    return bool(response.status_code == 401)


def _env_bool(name: str, default: bool) -> bool:
    # The API's two switches are read here, where the API is set up; a
    # malformed value stops the start like any other setting.
    from docflow.config import ConfigError

    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def register_api(app: Flask) -> None:
    """Register the blueprint, its rate limit and the key-management page."""
    from limits import parse_many

    from docflow.config import ConfigError
    from docflow.extensions import csrf, limiter

    settings = app.extensions["docflow"].settings
    app.config.setdefault(
        "ALLOW_PRIVATE_WEBHOOKS",
        bool(settings.extra.get("allow_private_webhooks"))
        or _env_bool("ALLOW_PRIVATE_WEBHOOKS", False),
    )
    rate = str(
        settings.extra.get("api_rate_limit")
        or os.environ.get("API_RATE_LIMIT")
        or DEFAULT_RATE_LIMIT
    )
    try:
        parse_many(rate)
    except ValueError:
        raise ConfigError(
            f"API_RATE_LIMIT={rate!r}: expected a limit such as 1200/minute"
        ) from None
    app.config.setdefault("API_RATE_LIMIT", rate)
    failures = str(
        settings.extra.get("api_auth_failure_limit")
        or os.environ.get("API_AUTH_FAILURE_LIMIT")
        or DEFAULT_AUTH_FAILURE_LIMIT
    )
    try:
        parse_many(failures)
    except ValueError:
        raise ConfigError(
            f"API_AUTH_FAILURE_LIMIT={failures!r}: expected a limit such as 120/minute"
        ) from None
    app.config.setdefault("API_AUTH_FAILURE_LIMIT", failures)

    # Import the route modules: they attach themselves to ``bp``.
    from docflow.api import (  # noqa: F401
        appeals,
        certificates,
        docs,
        documents,
        events,
        hourly,  # hourly volumes (docflow.readings.hourly_*)
        payments,  # online payment (docflow.payments)
        planned,  # ППП (docflow.readings.planned_*)
        powers,
        readings,
        service_orders,
        signatures,
        verify,
    )

    csrf.exempt(bp)  # token-authenticated: no cookies, nothing to forge
    if not getattr(bp, "_docflow_limited", False):
        # The limiter and the blueprint are module-level (one per process); a
        # second application (tests) must not add the limit twice.
        limiter.limit(_rate_limit, key_func=rate_limit_key, scope="api")(bp)
        limiter.limit(
            _auth_failure_limit,
            key_func=get_remote_address,
            scope="api-auth-failures",
            deduct_when=_failed_auth,
        )(bp)
        bp._docflow_limited = True  # type: ignore[attr-defined]
    if "api" not in app.blueprints:
        app.register_blueprint(bp)

    from docflow.api.keys_views import bp as keys_bp

    app.register_blueprint(keys_bp)
