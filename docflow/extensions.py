"""Flask extensions, created unbound and bound in :func:`docflow.app.create_app`."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Keyed by request.remote_addr: the client's address once TRUSTED_PROXIES has been
# applied (docflow.app), so one counter per client, not one for the whole proxy.
# The counters live in RATELIMIT_STORAGE_URL, shared by every worker and node.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

LOCALES = ("ru", "en")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark a Russian message id for extraction (``pybabel extract`` knows
    ``N_``) where it is only stored — a menu label, a widget's or a section's
    title, a tour's step —; the page translates it when drawn (``_(label)``)."""
    return message


def select_locale() -> str:
    # The cabinet speaks Russian; English only on an explicit choice, since a
    # browser's Accept-Language says little about a Russian company's clerk.
    chosen = request.cookies.get("lang")
    return chosen if chosen in LOCALES else "ru"
