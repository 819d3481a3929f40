"""The application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from docflow.access.web import current_is_staff
from docflow.access.web import init_app as init_access
from docflow.accounts.models import User
from docflow.accounts.services import load_user
from docflow.accounts.views import bp as accounts_bp
from docflow.api.blueprint import register_api
from docflow.appeals.views import bp as appeals_bp
from docflow.certificates.tsa_views import bp as tsa_bp
from docflow.certificates.views import bp as certificates_bp
from docflow.cluster import check_blob_directory_shared
from docflow.commands import register_commands
from docflow.config import Settings, check_production
from docflow.content.views import bp as content_bp
from docflow.context import DocflowState, close_db_session, db_session
from docflow.contracts.views import admin_bp as contracts_admin_bp
from docflow.contracts.views import bp as contracts_bp
from docflow.dashboard import bp as dashboard_bp
from docflow.db import make_engine, make_sessionmaker
from docflow.documents.views import bp as documents_bp
from docflow.errors import register_error_handlers
from docflow.extensions import (
    LOCALES,
    N_,
    babel,
    csrf,
    limiter,
    login_manager,
    select_locale,
)
from docflow.inputs import init_app as init_inputs
from docflow.outbox.services import connect_account_messages, unread_count
from docflow.outbox.views import bp as outbox_bp
from docflow.payments.fake import bp as fake_acquiring_bp
from docflow.payments.views import bp as payments_bp
from docflow.powers.views import bp as powers_bp
from docflow.profile.views import bp as profile_bp
from docflow.readings.hourly_analysis_views import bp as analysis_bp
from docflow.readings.hourly_views import bp as hourly_bp
from docflow.readings.planned_views import bp as planned_bp
from docflow.readings.views import bp as readings_bp
from docflow.service_orders.views import bp as service_orders_bp
from docflow.surveys.views import bp as surveys_bp
from docflow.tours import bp as tours_bp
from docflow.worker import make_celery

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    if settings.production:
        check_production(settings)  # before anything starts: a clear refusal
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.web.max_upload_mb * 1024 * 1024 + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.web.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="ru",
        BABEL_DEFAULT_TIMEZONE="Europe/Moscow",
        BABEL_TRANSLATION_DIRECTORIES="translations",
        RATELIMIT_STORAGE_URI=settings.web.ratelimit_storage_url,
        RATELIMIT_KEY_PREFIX=settings.web.ratelimit_key_prefix,
        RATELIMIT_ENABLED=True,
        TESTING=settings.testing,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if settings.web.trusted_proxies:
        # Only as many hops as there are proxies (TRUSTED_PROXIES): the limiter's
        # keys and the audit log then see the client, not the proxy, and a client
        # cannot pass itself off as someone else by sending X-Forwarded-For.
        hops = settings.web.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops
        )
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    if settings.production:
        check_blob_directory_shared(settings)
    engine = make_engine(settings.database_url)
    app.extensions["docflow"] = DocflowState(
        settings, engine, make_sessionmaker(engine)
    )
    app.teardown_appcontext(close_db_session)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Войдите, чтобы открыть эту страницу."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    def _load_user(user_id: str) -> User | None:
        return load_user(db_session(), user_id)

    # Registered by a call: Flask-Login ships no annotations, and its decorator
    # would leave the loader untyped.
    login_manager.user_loader(_load_user)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    app.extensions["celery"] = make_celery(app)
    connect_account_messages()  # accounts' e-mails go through the outbox

    register_error_handlers(app)
    init_inputs(app)  # JSON bodies: size, depth, Unicode (before any route reads)
    _register_blueprints(app)
    _register_template_globals(app)
    _register_security_headers(app)

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    init_access(app)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(contracts_admin_bp)
    app.register_blueprint(content_bp)
    app.register_blueprint(profile_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(tsa_bp)
    app.register_blueprint(powers_bp)
    register_api(app)
    app.register_blueprint(readings_bp)
    app.register_blueprint(hourly_bp)  # hourly volumes
    app.register_blueprint(planned_bp)  # ППП
    app.register_blueprint(analysis_bp)  # hourly analysis
    app.register_blueprint(appeals_bp)
    app.register_blueprint(service_orders_bp)  # services
    app.register_blueprint(outbox_bp)  # «Очередь уведомлений» (notify_admin.*)
    app.register_blueprint(surveys_bp)  # surveys (анкетирование)
    app.register_blueprint(tours_bp)  # tours, the grid cabinet link
    app.register_blueprint(payments_bp)  # online payment
    app.register_blueprint(fake_acquiring_bp)


def _register_template_globals(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        unread = 0
        if current_user.is_authenticated:
            unread = unread_count(db_session(), user=current_user)
        return {
            "registered_nav": lambda more=False: _visible_nav(app, more=more),
            "supplier_name": app.extensions["docflow"].settings.supplier.name,
            "unread_notifications": unread,
            "locales": LOCALES,
            "current_locale": select_locale(),
        }


# The labels are Russian message ids: marked with N_ for extraction, translated
# when the page is drawn (`_(label)` in base.html).


# Sections of the top navigation, added by each module's blueprint:
# (endpoint, label, who may see it: "all" | "customer" | "staff", whether it
# sits under «Ещё»). The bar keeps the daily work and must fit one line at
# 1366 px, the commonest office screen; settings-like pages go under «Ещё».
NAV: list[tuple[str, str, str, bool]] = [
    ("contracts.index", N_("Договоры"), "customer", False),
    ("contracts_admin.registry", N_("Договоры"), "staff", False),
    ("documents.index", N_("Документы"), "all", False),
    ("readings.index", N_("Показания"), "all", False),
    ("appeals.index", N_("Обращения"), "customer", False),
    ("appeals.queue", N_("Обращения"), "staff", False),
    # service orders (docflow.service_orders)
    ("service_orders.catalogue", N_("Услуги"), "customer", False),
    ("service_orders.staff_orders", N_("Услуги"), "staff", False),
    ("certificates.list_certificates", N_("Сертификаты"), "all", True),
    ("powers.index", N_("Доверенности"), "all", True),
    ("certificates.trust_store_page", N_("Доверенные УЦ"), "staff", True),
    ("content.contacts", N_("Контакты"), "customer", True),
    ("notify_admin.queue", N_("Очередь уведомлений"), "staff", True),
    ("surveys.manage", N_("Анкеты"), "staff", True),  # surveys
    ("surveys.index", N_("Анкеты"), "customer", True),  # surveys
    ("payments.index", N_("Оплата онлайн"), "customer", True),  # payments
    ("payments.all_payments", N_("Онлайн-платежи"), "staff", True),  # payments
    ("hourly.index", N_("Почасовые объёмы"), "all", True),  # hourly volumes
    ("planned.index", N_("Заявка ППП"), "customer", True),  # ППП
    ("planned.all_requests", N_("Заявки ППП"), "staff", True),  # ППП
    ("hourly_analysis.index", N_("Почасовой анализ"), "all", True),  # analysis
    ("hourly_analysis.control_all", N_("Контрольные замеры"), "staff", True),
    ("api_keys.index", N_("Ключи API"), "all", True),
]


def _visible_nav(app: Flask, *, more: bool = False) -> list[tuple[str, str]]:
    """The sections the current user may open: on the bar, or with ``more``
    under «Ещё»."""
    items = []
    for endpoint, label, audience, under_more in NAV:
        if under_more != more or endpoint.split(".")[0] not in app.blueprints:
            continue
        if audience == "staff" and not current_is_staff():
            continue
        if audience == "customer" and current_is_staff():
            continue
        items.append((endpoint, label))
    return items


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/v1/docs"):
            # Everything is served from this origin: no CDN, no inline scripts.
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
        if g.get("no_store"):
            response.headers["Cache-Control"] = "no-store"
        return response
