"""The registration of the ``api`` blueprint at ``/api/v1``: authentication by
API key, the refusal of unknown query parameters, the rate limit per key, and
its route modules.

A request carries ``Authorization: Bearer dfk_<prefix>_<secret>``; the key
becomes an :class:`~docflow.access.Actor` (the key's organisation, or the
supplier) with the key's scopes, and every route calls the same services as the
web pages with it. The blueprint itself, the actor and the scope check are in
:mod:`docflow.api.base`, which the route modules import; this module imports
the route modules.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter.util import get_remote_address

# The route modules attach themselves to ``bp`` when imported.
from docflow.api import docs, routes  # noqa: F401 - importing registers the routes
from docflow.api.base import OPERATIONS, PUBLIC_ENDPOINTS, bp
from docflow.api.errors import UnauthorizedError
from docflow.api.keys_views import bp as keys_bp
from docflow.api.services import actor_for_key, authenticate, mark_used, needs_mark
from docflow.context import db_session, request_info, state
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.extensions import csrf, limiter


@bp.before_request
def _authenticate() -> None:
    """The key, read in the request's own transaction: one connection from
    the pool per request, and the route's commit is the only one. The mark
    of use (at most once a minute) is written beside, in a short transaction
    of its own, so that a read commits nothing and a write does not hold the
    key's row locked until its end."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
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
    query parameters the operation's query model does not name are refused."""
    if (
        request.url_rule is None
        or not request.args
        or request.endpoint in PUBLIC_ENDPOINTS
    ):
        return
    declared = OPERATIONS.get(request.endpoint or "")
    allowed = declared.query_names if declared is not None else frozenset()
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


def register_api(app: Flask) -> None:
    """Register the blueprint, its rate limit and the key-management page."""
    # The settings seed the live switches, which tests may turn per app.
    settings = app.extensions["docflow"].settings
    app.config.setdefault("ALLOW_PRIVATE_WEBHOOKS", settings.api.allow_private_webhooks)
    app.config.setdefault("API_RATE_LIMIT", settings.api.rate_limit)
    app.config.setdefault("API_AUTH_FAILURE_LIMIT", settings.api.auth_failure_limit)

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
    app.register_blueprint(keys_bp)
