"""Access for pages: the supplier's pages and what a template may offer.

The same rule as :mod:`docflow.access.policy`: a customer does not learn that
the supplier's pages exist (404); a clerk sees the supplier's area but an
administrator's page answers 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort
from flask_login import current_user
from flask_login import login_required as _login_required

from docflow.access.policy import Action, is_admin, is_staff, may
from docflow.context import current_actor, db_session

_F = TypeVar("_F", bound=Callable[..., Any])


def login_required(view: _F) -> _F:
    """:func:`flask_login.login_required`, typed: Flask-Login ships no
    annotations, and its decorator (a ``functools.wraps`` wrapper that sends an
    anonymous visitor to the sign-in page) keeps the view's signature."""
    return cast(_F, _login_required(view))


def staff_required(view: _F) -> _F:
    """The supplier's clerks and administrators; 404 for anyone else."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_staff(current_user._get_current_object()):
            abort(404)
        return view(*args, **kwargs)

    return cast(_F, wrapper)


def admin_required(view: _F) -> _F:
    """The supplier's administrators; 404 for customers, 403 for clerks."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user._get_current_object()
        if not is_staff(user):
            abort(404)
        if not is_admin(user):
            abort(403)
        return view(*args, **kwargs)

    return cast(_F, wrapper)


def current_is_staff() -> bool:
    return bool(current_user.is_authenticated) and is_staff(
        current_user._get_current_object()
    )


def current_is_admin() -> bool:
    return bool(current_user.is_authenticated) and is_admin(
        current_user._get_current_object()
    )


def init_app(app: Flask) -> None:
    """Template helpers: ``is_staff``, ``is_admin`` and ``may(doc, 'sign')``."""

    @app.context_processor
    def _access() -> dict[str, Any]:
        def may_do(doc: Any, action: str) -> bool:
            if not current_user.is_authenticated:
                return False
            return may(db_session(), current_actor(), Action(action), doc)

        return {
            "is_staff": current_is_staff(),
            "is_admin": current_is_admin(),
            "may": may_do,
        }
