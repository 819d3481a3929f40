"""Settings from the environment, with embedded defaults.

Every setting comes from one environment variable; unset, it falls back to the
embedded mode of the README's run command (SQLite and files under ``var/``,
Celery eager, e-mail and SMS written to ``var/outbox/``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from limits import parse_many

from signing.revocation import RevocationMode

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The common name of the demo world's certification authority
#: (``docflow demo``): a supplier key it issued is a demo key.
DEMO_CA_NAME = "Демо УЦ docflow"


class ConfigError(ValueError):
    """A malformed setting: the message names the variable and what is wrong."""


def _var_dir() -> Path:
    return Path(os.environ.get("DOCFLOW_VAR_DIR", PROJECT_ROOT / "var")).resolve()


def _production(database_url: str) -> bool:
    """DOCFLOW_ENV=production, or, unset, a PostgreSQL database: what runs on
    PostgreSQL runs as several processes (and nodes) and gets the checks of
    :func:`check_production`. The embedded mode (SQLite, ``make run``, the
    tests' applications) is one process on one machine."""
    value = os.environ.get("DOCFLOW_ENV", "").strip().lower()
    if value not in {"", "production", "embedded"}:
        raise ConfigError(
            f"DOCFLOW_ENV={value!r}: expected production or embedded (unset: "
            "production with a PostgreSQL DATABASE_URL, embedded with SQLite)"
        )
    if value == "embedded" and not database_url.startswith("sqlite"):
        raise ConfigError(
            "DOCFLOW_ENV=embedded: the embedded mode runs on SQLite; a PostgreSQL "
            "DATABASE_URL is production"
        )
    return value == "production" or (
        not value and database_url.startswith("postgresql")
    )


def _secret_key(var_dir: Path, production: bool) -> str:
    """The key from ``SECRET_KEY``, else, in the embedded mode, one generated
    once and kept in ``var/``. Production never generates one: each node would
    have its own (:func:`check_production` refuses the empty key).

    Never hard-coded: a key in the source would let anyone forge sessions.
    """
    given = os.environ.get("SECRET_KEY")
    if given:
        if len(given) < 16:
            raise ConfigError("SECRET_KEY: must be at least 16 characters")
        return given
    if production:
        return ""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _demo_key(var_dir: Path) -> str | None:
    """In the embedded mode the demo world's supplier key countersigns, so that
    the whole flow can be tried at once; production names its own key."""
    path = var_dir / "demo" / "supplier-signer.p12"
    return str(path) if path.exists() else None


def _mchd_registry(database_url: str) -> str | None:
    value = os.environ.get("MCHD_REGISTRY_URL", "").strip()
    if not value:
        return "embedded" if database_url.startswith("sqlite") else None
    if value in ("off", "embedded"):
        return None if value == "off" else value
    return _check_url("MCHD_REGISTRY_URL", value, {"http", "https"})


# -- the grid company's cabinet (docflow.tours) ------------------------------------
#: The embedded mode's default: the public login page of ПАО «Россети Московский
#: регион» (МОЭСК), so that a newcomer sees the menu item; ``account`` is the
#: parameter agreed with the grid company for the account number.
EMBEDDED_GRID_CABINET_URL = "https://lk.rossetimr.ru/?account={account}"


def _grid_cabinet_url(database_url: str) -> str | None:
    """GRID_CABINET_URL: an http(s) URL, ``{account}`` standing for the
    customer's account number (URL-encoded when the link is made); "off" or,
    with PostgreSQL, unset: no link."""
    value = os.environ.get("GRID_CABINET_URL", "").strip()
    if not value:
        return EMBEDDED_GRID_CABINET_URL if database_url.startswith("sqlite") else None
    if value == "off":
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # "https://[::1" and the like
        parts = urlsplit("")
    rest = value.replace("{account}", "")
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "{" in parts.netloc
        or any(c in rest for c in '{}<>"\\ ')
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise ConfigError(
            f"GRID_CABINET_URL={value!r}: expected an http(s) URL such as "
            "https://lk.rossetimr.ru/?account={account} ({account} is replaced "
            "by the customer's account number), or off"
        )
    return value


def _embedded_base_url() -> str:
    """Where ``make run`` serves (``HOST``/``PORT``, exported by the Makefile):
    the embedded mode's e-mails link there unless ``BASE_URL`` says otherwise.
    A wildcard bind address is no address to visit: the loopback stands in."""
    host = os.environ.get("HOST") or "127.0.0.1"
    if host in {"0.0.0.0", "::", "[::]"}:  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal (RFC 3986 §3.2.2)
    port = _int("PORT", 8000)
    if not 0 < port < 65536:
        raise ConfigError(f"PORT={port}: expected a TCP port, 1 to 65535")
    return f"http://{host}:{port}"


def _check_url(name: str, value: str, schemes: set[str]) -> str:
    scheme = urlsplit(value).scheme.split("+")[0]
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(f"{name}={value!r}: the scheme must be one of {allowed}")
    return value


def _local_path(name: str, value: str) -> str | None:
    """A same-origin absolute path (``/static/…``), or None when unset."""
    if not value:
        return None
    parts = urlsplit(value)
    # "//host/…" and "/\\host/…" would leave the origin (browsers read a
    # backslash as a slash).
    if parts.scheme or parts.netloc or not value.startswith("/") or "\\" in value:
        raise ConfigError(
            f"{name}={value!r}: expected a path on this site starting with /, such "
            "as /static/vendor/cadesplugin/cadesplugin_api.js (pages allow scripts "
            "from this origin only)"
        )
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _choice(name: str, default: str, allowed: set[str]) -> str:
    raw = os.environ.get(name) or default
    if raw not in allowed:
        raise ConfigError(
            f"{name}={raw!r}: expected one of {', '.join(sorted(allowed))}"
        )
    return raw


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None


def _check_payments(settings: Settings) -> None:
    """PAYMENT_PROVIDER and what it needs (docflow.payments)."""
    provider = settings.payments.provider
    if provider not in (None, "tbank", "fake"):
        raise ConfigError(f"PAYMENT_PROVIDER={provider!r}: expected tbank or fake")
    if provider == "tbank" and not (
        settings.payments.tbank_terminal_key and settings.payments.tbank_password
    ):
        raise ConfigError(
            "PAYMENT_PROVIDER=tbank needs TBANK_TERMINAL_KEY and TBANK_PASSWORD "
            "(the terminal's key and password from the acquiring cabinet)"
        )
    if bool(settings.payments.tbank_terminal_key) != bool(
        settings.payments.tbank_password
    ):
        raise ConfigError("TBANK_TERMINAL_KEY and TBANK_PASSWORD go together")
    if (
        provider == "fake"
        and settings.database_url.startswith("postgresql")
        and not settings.payments.fake
    ):
        raise ConfigError(
            "PAYMENT_PROVIDER=fake: production (a PostgreSQL DATABASE_URL) takes no "
            "money through the fake acquirer; set PAYMENT_FAKE=1 for a test stand"
        )


# -- the outbox relay's retries: the OUTBOX_* variables -----------------------------
#
# ====================================  =========  ==================================
# ``OUTBOX_MAX_ATTEMPTS``               8          attempts before a row is failed
# ``OUTBOX_BACKOFF_SECONDS``            30         first retry delay, doubled each time
# ``OUTBOX_MAX_BACKOFF_SECONDS``        7200       cap of the delay
# ``OUTBOX_SWEEP_GRACE_SECONDS``        120        how late a relay may be before the
#                                                  sweep re-queues it
# ``OUTBOX_SWEEP_INTERVAL_SECONDS``     60         the Celery beat period of the sweep
# ====================================  =========  ==================================

# A retry further away than this is not handed to the broker as a countdown:
# Redis redelivers an unacknowledged ETA task after its visibility timeout (one
# hour by default) and a worker keeps every ETA task in memory. The sweep picks
# such rows up when they are due.
MAX_COUNTDOWN = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class OutboxPolicy:
    """Retry and sweep parameters of the outbox relay."""

    max_attempts: int = 8
    backoff: dt.timedelta = dt.timedelta(seconds=30)
    max_backoff: dt.timedelta = dt.timedelta(hours=2)
    sweep_grace: dt.timedelta = dt.timedelta(minutes=2)
    sweep_interval: dt.timedelta = dt.timedelta(seconds=60)

    def delay(self, attempts: int) -> dt.timedelta:
        """Exponential back-off after the ``attempts``-th failure: 30 s, 1 min,
        2 min, ... capped at :attr:`max_backoff`."""
        # The exponent is capped: timedelta overflows long before 2**64.
        return min(
            self.backoff * (1 << min(max(attempts - 1, 0), 32)), self.max_backoff
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OutboxPolicy:
        """Read the ``OUTBOX_*`` variables (of ``environ``, else the process's).

        :raises ConfigError: a value that is not a positive number.
        """
        env = os.environ if environ is None else environ

        def raw(name: str) -> str | None:
            value = env.get(name)
            return None if value is None or value == "" else str(value)

        def seconds(name: str, default: dt.timedelta) -> dt.timedelta:
            value = raw(name)
            if value is None:
                return default
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{name}={value!r}: expected seconds") from None
            if not number > 0:
                raise ConfigError(f"{name}={value!r}: must be positive")
            return dt.timedelta(seconds=number)

        attempts = raw("OUTBOX_MAX_ATTEMPTS")
        if attempts is not None and not (attempts.isdigit() and int(attempts) >= 1):
            raise ConfigError(
                f"OUTBOX_MAX_ATTEMPTS={attempts!r}: expected a positive integer"
            )
        policy = cls(
            max_attempts=int(attempts) if attempts else cls.max_attempts,
            backoff=seconds("OUTBOX_BACKOFF_SECONDS", cls.backoff),
            max_backoff=seconds("OUTBOX_MAX_BACKOFF_SECONDS", cls.max_backoff),
            sweep_grace=seconds("OUTBOX_SWEEP_GRACE_SECONDS", cls.sweep_grace),
            sweep_interval=seconds("OUTBOX_SWEEP_INTERVAL_SECONDS", cls.sweep_interval),
        )
        if policy.max_backoff < policy.backoff:
            raise ConfigError(
                "OUTBOX_MAX_BACKOFF_SECONDS must not be below OUTBOX_BACKOFF_SECONDS"
            )
        return policy


DEFAULT_POLICY = OutboxPolicy()

#: The REST API's limits per key and per address (API_RATE_LIMIT,
#: API_AUTH_FAILURE_LIMIT): guessing keys, an address refused 401 this often waits.
DEFAULT_RATE_LIMIT = "1200/minute"
DEFAULT_AUTH_FAILURE_LIMIT = "120/minute"


def _limit(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name}={value!r}: expected a limit such as {default}"
        ) from None
    return value


#: Where each grouped variable lands: ``CELERY_BROKER_URL`` is
#: ``settings.celery.broker_url``. The rest (``DATABASE_URL``, ``STORAGE_URL``,
#: ``BASE_URL``, ``SECRET_KEY``, ``DOCFLOW_VAR_DIR``, ``DOCFLOW_ENV``,
#: ``DOCFLOW_NODE``) are top-level fields, the ``OUTBOX_*`` ones are
#: ``settings.outbox`` (:class:`OutboxPolicy`).
GROUPED: dict[str, tuple[str, str]] = {
    "celery_broker_url": ("celery", "broker_url"),
    "celery_result_backend": ("celery", "result_backend"),
    "celery_queue": ("celery", "queue"),
    "smtp_url": ("messages", "smtp_url"),
    "sms_gateway_url": ("messages", "sms_gateway_url"),
    "session_cookie_secure": ("web", "session_cookie_secure"),
    "max_upload_mb": ("web", "max_upload_mb"),
    "trusted_proxies": ("web", "trusted_proxies"),
    "ratelimit_storage_url": ("web", "ratelimit_storage_url"),
    "ratelimit_key_prefix": ("web", "ratelimit_key_prefix"),
    "cadesplugin_api_url": ("web", "cadesplugin_api_url"),
    "tours_autostart": ("web", "tours_autostart"),
    "grid_cabinet_url": ("web", "grid_cabinet_url"),
    "grid_cabinet_title": ("web", "grid_cabinet_title"),
    "api_rate_limit": ("api", "rate_limit"),
    "api_auth_failure_limit": ("api", "auth_failure_limit"),
    "allow_private_webhooks": ("api", "allow_private_webhooks"),
    "trust_store": ("signatures", "trust_store"),
    "revocation_mode": ("signatures", "revocation_mode"),
    "allow_private_fetch": ("signatures", "allow_private_fetch"),
    "tsa_url": ("signatures", "tsa_url"),
    "tsa_username": ("signatures", "tsa_username"),
    "tsa_password": ("signatures", "tsa_password"),
    "mchd_registry_url": ("signatures", "mchd_registry_url"),
    "archive_horizon_days": ("signatures", "archive_horizon_days"),
    "claimed_time_skew_minutes": ("signatures", "claimed_time_skew_minutes"),
    "supplier_name": ("supplier", "name"),
    "supplier_inn": ("supplier", "inn"),
    "supplier_signer_p12": ("supplier", "signer_p12"),
    "supplier_signer_password": ("supplier", "signer_password"),
    "supplier_signer_key": ("supplier", "signer_key"),
    "supplier_signer_cert": ("supplier", "signer_cert"),
    "supplier_pkcs11_lib": ("supplier", "pkcs11_lib"),
    "supplier_pkcs11_token": ("supplier", "pkcs11_token"),
    "supplier_pkcs11_pin": ("supplier", "pkcs11_pin"),
    "supplier_pkcs11_key": ("supplier", "pkcs11_key"),
    "payment_provider": ("payments", "provider"),
    "payment_url": ("payments", "url"),
    "tbank_api_url": ("payments", "tbank_api_url"),
    "tbank_terminal_key": ("payments", "tbank_terminal_key"),
    "tbank_password": ("payments", "tbank_password"),
    "payment_fake": ("payments", "fake"),
    "readings_window_start": ("readings", "window_start"),
    "readings_window_end": ("readings", "window_end"),
    "ppp_deadline_hour": ("readings", "ppp_deadline_hour"),
    "ppp_days_ahead": ("readings", "ppp_days_ahead"),
}


@dataclass(frozen=True)
class CelerySettings:
    """The task queue (CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_QUEUE)."""

    broker_url: str = "memory://"
    result_backend: str | None = None
    queue: str = "docflow"

    @property
    def eager(self) -> bool:
        """Tasks run in the calling process (the embedded mode)."""
        return self.broker_url in {"", "memory://", "eager://"}


@dataclass(frozen=True)
class MessageSettings:
    """Where e-mail and SMS go (SMTP_URL, SMS_GATEWAY_URL): a server, or
    ``file://`` directories in the embedded mode."""

    smtp_url: str
    sms_gateway_url: str


@dataclass(frozen=True)
class WebSettings:
    """The web front: cookies, uploads, proxies, rate limits and the pages'
    optional parts."""

    # Where rate limits count (RATELIMIT_STORAGE_URL): a store every process
    # shares, so that "5 failed logins per 15 minutes" means 5 in total, not 5
    # per gunicorn worker or per node. Production (PostgreSQL) must name one:
    # redis://, rediss://, redis+sentinel://, redis+cluster:// (valkey alike), or
    # memcached:// (needs pymemcache). memory:// counts inside one process and is
    # for the embedded mode only, which `make run` serves from a single gunicorn
    # process with threads for exactly that reason.
    ratelimit_storage_url: str = "memory://"
    # RATELIMIT_KEY_PREFIX: put before every rate-limit key, so that deployments
    # sharing one Redis (staging and production, parallel test runs) keep
    # separate counters.
    ratelimit_key_prefix: str = ""
    max_upload_mb: int = 50
    session_cookie_secure: bool = False
    # TRUSTED_PROXIES: how many reverse proxies stand in front of the cabinet.
    # With N > 0 the client's address is the N-th entry from the right of
    # X-Forwarded-For (each proxy appends the address it saw; anything further
    # left is what the client claimed) and the scheme comes from
    # X-Forwarded-Proto. It feeds the rate limits and the audit log. 0 (the
    # default, and right when gunicorn faces the clients) ignores those headers
    # altogether: otherwise a client could forge its address. A larger N than
    # the real number of proxies lets clients forge it too; and with N > 0 the
    # cabinet must be reachable only through the proxies. The Host header is
    # taken as the proxy passes it (nginx: proxy_set_header Host $host);
    # X-Forwarded-Host is not trusted, as links in e-mails use BASE_URL.
    trusted_proxies: int = 0
    # CADESPLUGIN_API_URL: where this site serves CryptoPro's cadesplugin_api.js,
    # which the operator places there (docflow does not ship it: CryptoPro gives
    # no licence to redistribute it). A same-origin path, as the pages run under
    # ``script-src 'self'``. Unset: the signing page offers only the key file.
    cadesplugin_api_url: str | None = None
    # TOURS_AUTOSTART: a page's guided tour starts by itself on the user's first
    # visit (docflow.tours). Unset: on, except in the test harness (TESTING),
    # whose browser tests drive the pages and would have their clicks caught by
    # the tour's overlay; the «?» button works either way.
    tours_autostart: bool | None = None
    # GRID_CABINET_URL / GRID_CABINET_TITLE: the link to the grid company's
    # cabinet (ЛК МОЭСК) in the menu and on the contract card (docflow.tours);
    # None hides it. See _grid_cabinet_url.
    grid_cabinet_url: str | None = None
    grid_cabinet_title: str = "Личный кабинет ПАО «Россети Московский регион» (МОЭСК)"


@dataclass(frozen=True)
class ApiSettings:
    """The REST API: requests per key, 401s per address (API_RATE_LIMIT,
    API_AUTH_FAILURE_LIMIT), and webhooks to private addresses
    (ALLOW_PRIVATE_WEBHOOKS: a test bench or an integration inside the network)."""

    rate_limit: str = DEFAULT_RATE_LIMIT
    auth_failure_limit: str = DEFAULT_AUTH_FAILURE_LIMIT
    allow_private_webhooks: bool = False


@dataclass(frozen=True)
class SignatureSettings:
    """How signatures are checked and kept: trust, revocation, time-stamps,
    powers of attorney, archive renewal."""

    # TRUST_STORE: a directory whose CA certificates and CRLs are imported into
    # the database (where every node reads the trust store from) when a
    # process finds them there; `docflow trust import DIR` does it by hand.
    trust_store: str
    revocation_mode: RevocationMode = "soft"
    # ALLOW_PRIVATE_FETCH: let signature validation download issuer
    # certificates, CRLs and OCSP answers from loopback, private (RFC 1918,
    # fc00::/7) and link-local addresses. Off by default: those URLs come from
    # the certificates, that is from whoever made the signature, and /verify
    # checks anyone's; refused downloads are reported ("внутренняя сеть").
    # Only for a closed network whose CAs live on internal addresses.
    allow_private_fetch: bool = False
    # RFC 3161 time-stamps for every accepted signature: a remote authority
    # (TSA_URL), else the authority built into the embedded mode, whose key and
    # certificate live under var/tsa/ (its root is put into TRUST_STORE).
    tsa_url: str | None = None
    tsa_username: str | None = None
    tsa_password: str | None = None
    # MCHD_REGISTRY_URL: where the status of a power of attorney (МЧД) is
    # asked — an HTTP gateway to the ФНС registry (https://…, the contract in
    # docflow/powers/registry.py), "embedded" (the registry double in
    # var/mchd-registry.json, the default of the embedded mode) or "off" (no
    # registry: the cabinet's own status counts; the default with PostgreSQL).
    mchd_registry_url: str | None = None
    # Archive renewal: a new archive time-stamp is added this many days before
    # the newest one stops proving anything.
    archive_horizon_days: int = 90


@dataclass(frozen=True)
class SupplierSettings:
    """The supplier and the key it countersigns with: a PKCS#12 file, a key
    file with its certificate, or a PKCS#11 token (SUPPLIER_*)."""

    name: str = "АО «Энергосбыт»"
    inn: str = "7736520080"
    signer_p12: str | None = None
    signer_password: str | None = None
    # A key file and its certificate (PEM: the certificate first, then its
    # chain), the alternative to a PKCS#12 file: how OpenSSL with the GOST
    # engine keeps a GOST R 34.10-2012 key. The key may be encrypted
    # (SUPPLIER_SIGNER_PASSWORD).
    signer_key: str | None = None
    signer_cert: str | None = None
    pkcs11_lib: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: str | None = None
    pkcs11_key: str | None = None


@dataclass(frozen=True)
class PaymentSettings:
    """Paying bills: PAYMENT_URL (the supplier's own payment page) and online
    payment (docflow.payments). PAYMENT_PROVIDER "tbank" (T-Bank Internet
    Acquiring API v2 at TBANK_API_URL with TBANK_TERMINAL_KEY and
    TBANK_PASSWORD) or "fake" (the embedded fake acquirer at
    /_fake-acquiring/). Unset: T-Bank when its key is given, else the fake in
    the embedded mode (SQLite); production (PostgreSQL) refuses the fake unless
    PAYMENT_FAKE=1 says it is wanted (a staging stand)."""

    url: str | None = None
    provider: str | None = None
    tbank_api_url: str = "https://securepay.tinkoff.ru"
    tbank_terminal_key: str | None = None
    tbank_password: str | None = None
    fake: bool = False


@dataclass(frozen=True)
class ReadingsSettings:
    """When readings and ППП are taken (Moscow time)."""

    # The days of the month when readings may be submitted.
    window_start: int = 15
    window_end: int = 26
    # ППП (planned hourly consumption): a request for day D is filed until
    # PPP_DEADLINE_HOUR:00 PPP_DAYS_AHEAD days before D.
    ppp_deadline_hour: int = 12
    ppp_days_ahead: int = 2


@dataclass(frozen=True)
class Settings:
    """The cabinet's configuration, by concern. Build with :meth:`from_env`;
    change with :meth:`replace`."""

    var_dir: Path
    secret_key: str
    database_url: str
    storage_url: str
    base_url: str
    celery: CelerySettings
    messages: MessageSettings
    signatures: SignatureSettings
    web: WebSettings = WebSettings()
    api: ApiSettings = ApiSettings()
    supplier: SupplierSettings = SupplierSettings()
    payments: PaymentSettings = PaymentSettings()
    readings: ReadingsSettings = ReadingsSettings()
    # The outbox relay's attempts, back-off and sweep (OUTBOX_*).
    outbox: OutboxPolicy = OutboxPolicy()
    # DOCFLOW_ENV (see _production): production gets check_production at start.
    production: bool = False
    # DOCFLOW_NODE: this machine's name among the cabinet's nodes (the host name
    # by default); the processes of one node share its disk (docflow.cluster).
    node_name: str = ""
    testing: bool = False

    def replace(self, **changes: object) -> Settings:
        """These settings with some changed, each named as its variable in
        lower case (``celery_broker_url="memory://"``, ``testing=True``).

        :raises TypeError: a name that is no setting.
        """
        top: dict[str, object] = {}
        groups: dict[str, dict[str, object]] = {}
        for name, value in changes.items():
            if name in GROUPED:
                group, field_name = GROUPED[name]
                groups.setdefault(group, {})[field_name] = value
            elif name in _TOP_LEVEL:
                top[name] = value
            else:
                raise TypeError(f"no setting {name!r}")
        for group, values in groups.items():
            top[group] = replace(getattr(self, group), **values)
        return replace(self, **top)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read the environment. ``overrides`` (as :meth:`replace` takes them)
        stand for variables: ``var_dir`` also moves the defaults under it."""
        var_dir = Path(str(overrides.pop("var_dir", _var_dir())))
        database_url = os.environ.get(
            "DATABASE_URL", f"sqlite:///{var_dir / 'docflow.sqlite3'}"
        )
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = (
                "postgresql+psycopg://" + database_url[len("postgresql://") :]
            )
        key_file = os.environ.get("SUPPLIER_SIGNER_KEY") or None
        cert_file = os.environ.get("SUPPLIER_SIGNER_CERT") or None
        production = _production(database_url)
        settings = cls(
            var_dir=var_dir,
            production=production,
            node_name=(
                os.environ.get("DOCFLOW_NODE", "").strip() or socket.gethostname()
            )[:200],
            secret_key=str(overrides.pop("secret_key", ""))
            or _secret_key(var_dir, production),
            database_url=_check_url(
                "DATABASE_URL", database_url, {"sqlite", "postgresql"}
            ),
            storage_url=_check_url(
                "STORAGE_URL",
                os.environ.get("STORAGE_URL", (var_dir / "blobs").as_uri()),
                {"file", "s3"},
            ),
            base_url=(
                os.environ.get("BASE_URL")
                or (
                    _embedded_base_url()
                    if database_url.startswith("sqlite")
                    else "http://127.0.0.1:8000"
                )
            ).rstrip("/"),
            celery=CelerySettings(
                broker_url=_check_url(
                    "CELERY_BROKER_URL",
                    os.environ.get("CELERY_BROKER_URL", "memory://"),
                    {"memory", "eager", "redis", "rediss", "amqp", "amqps", "pyamqp"},
                ),
                result_backend=os.environ.get("CELERY_RESULT_BACKEND") or None,
                queue=os.environ.get("CELERY_QUEUE", "docflow"),
            ),
            messages=MessageSettings(
                smtp_url=_check_url(
                    "SMTP_URL",
                    os.environ.get("SMTP_URL", (var_dir / "outbox" / "email").as_uri()),
                    {"smtp", "smtps", "file"},
                ),
                sms_gateway_url=_check_url(
                    "SMS_GATEWAY_URL",
                    os.environ.get(
                        "SMS_GATEWAY_URL", (var_dir / "outbox" / "sms").as_uri()
                    ),
                    {"http", "https", "file"},
                ),
            ),
            web=WebSettings(
                ratelimit_storage_url=_check_url(
                    "RATELIMIT_STORAGE_URL",
                    os.environ.get("RATELIMIT_STORAGE_URL") or "memory://",
                    {"memory", "redis", "rediss", "valkey", "valkeys", "memcached"},
                ),
                ratelimit_key_prefix=os.environ.get("RATELIMIT_KEY_PREFIX", ""),
                trusted_proxies=_int("TRUSTED_PROXIES", WebSettings.trusted_proxies),
                max_upload_mb=_int("MAX_UPLOAD_MB", WebSettings.max_upload_mb),
                session_cookie_secure=_bool("SESSION_COOKIE_SECURE", False),
                cadesplugin_api_url=_local_path(
                    "CADESPLUGIN_API_URL", os.environ.get("CADESPLUGIN_API_URL", "")
                ),
                tours_autostart=(
                    _bool("TOURS_AUTOSTART", True)
                    if os.environ.get("TOURS_AUTOSTART")
                    else None
                ),
                grid_cabinet_url=_grid_cabinet_url(database_url),
                grid_cabinet_title=(
                    os.environ.get("GRID_CABINET_TITLE", "").strip()[:200]
                    or WebSettings.grid_cabinet_title
                ),
            ),
            api=ApiSettings(
                rate_limit=_limit("API_RATE_LIMIT", DEFAULT_RATE_LIMIT),
                auth_failure_limit=_limit(
                    "API_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT
                ),
                allow_private_webhooks=_bool("ALLOW_PRIVATE_WEBHOOKS", False),
            ),
            signatures=SignatureSettings(
                trust_store=os.environ.get("TRUST_STORE", str(var_dir / "trust")),
                revocation_mode=cast(
                    RevocationMode,
                    _choice(
                        "REVOCATION_MODE", "soft", {"off", "soft", "hard", "require"}
                    ),
                ),
                allow_private_fetch=_bool("ALLOW_PRIVATE_FETCH", False),
                tsa_url=(
                    _check_url("TSA_URL", os.environ["TSA_URL"], {"http", "https"})
                    if os.environ.get("TSA_URL")
                    else None
                ),
                tsa_username=os.environ.get("TSA_USERNAME") or None,
                tsa_password=os.environ.get("TSA_PASSWORD") or None,
                mchd_registry_url=_mchd_registry(database_url),
                archive_horizon_days=_int(
                    "ARCHIVE_HORIZON_DAYS", SignatureSettings.archive_horizon_days
                ),
            ),
            supplier=SupplierSettings(
                name=os.environ.get("SUPPLIER_NAME", SupplierSettings.name),
                inn=os.environ.get("SUPPLIER_INN", SupplierSettings.inn),
                signer_p12=os.environ.get("SUPPLIER_SIGNER_P12")
                or (None if key_file else _demo_key(var_dir)),
                signer_password=os.environ.get("SUPPLIER_SIGNER_PASSWORD")
                or ("demo1234" if _demo_key(var_dir) and not key_file else None),
                signer_key=key_file,
                signer_cert=cert_file,
                pkcs11_lib=os.environ.get("SUPPLIER_PKCS11_LIB") or None,
                pkcs11_token=os.environ.get("SUPPLIER_PKCS11_TOKEN") or None,
                pkcs11_pin=os.environ.get("SUPPLIER_PKCS11_PIN") or None,
                pkcs11_key=os.environ.get("SUPPLIER_PKCS11_KEY") or None,
            ),
            payments=PaymentSettings(
                url=os.environ.get("PAYMENT_URL") or None,
                provider=os.environ.get("PAYMENT_PROVIDER") or None,
                tbank_api_url=_check_url(
                    "TBANK_API_URL",
                    os.environ.get("TBANK_API_URL") or PaymentSettings.tbank_api_url,
                    {"http", "https"},
                ).rstrip("/"),
                tbank_terminal_key=os.environ.get("TBANK_TERMINAL_KEY") or None,
                tbank_password=os.environ.get("TBANK_PASSWORD") or None,
                fake=_bool("PAYMENT_FAKE", False),
            ),
            readings=ReadingsSettings(
                window_start=_int(
                    "READINGS_WINDOW_START", ReadingsSettings.window_start
                ),
                window_end=_int("READINGS_WINDOW_END", ReadingsSettings.window_end),
                ppp_deadline_hour=_int(  # ППП
                    "PPP_DEADLINE_HOUR", ReadingsSettings.ppp_deadline_hour
                ),
                ppp_days_ahead=_int("PPP_DAYS_AHEAD", ReadingsSettings.ppp_days_ahead),
            ),
            outbox=OutboxPolicy.from_env(),
        )
        if bool(key_file) != bool(cert_file):
            raise ConfigError(
                "SUPPLIER_SIGNER_KEY and SUPPLIER_SIGNER_CERT go together: the key "
                "file and the PEM file of its certificate (and chain)"
            )
        if settings.web.trusted_proxies < 0:
            raise ConfigError(
                f"TRUSTED_PROXIES={settings.web.trusted_proxies}: expected the "
                "number of reverse proxies in front of the cabinet, 0 or more"
            )
        if (
            settings.production
            and urlsplit(settings.web.ratelimit_storage_url).scheme == "memory"
        ):
            # Production runs several workers and nodes: counters kept in each
            # process's memory would multiply every limit by their number.
            raise ConfigError(
                "RATELIMIT_STORAGE_URL: production (a PostgreSQL DATABASE_URL or "
                "DOCFLOW_ENV=production) needs a store shared by all web workers and "
                "nodes, such as redis://redis:6379/1; memory:// counts in each "
                "process alone"
            )
        _check_payments(settings)
        if settings.signatures.archive_horizon_days < 1:
            raise ConfigError(
                "ARCHIVE_HORIZON_DAYS: expected a positive number of days"
            )
        readings = settings.readings
        if not 1 <= readings.window_start <= readings.window_end <= 31:
            raise ConfigError(
                "READINGS_WINDOW_START/READINGS_WINDOW_END: expected days of the month "
                "with 1 <= start <= end <= 31"
            )
        if not (
            0 <= readings.ppp_deadline_hour <= 23 and 0 <= readings.ppp_days_ahead <= 31
        ):
            raise ConfigError(  # ППП
                "PPP_DEADLINE_HOUR/PPP_DAYS_AHEAD: expected an hour 0..23 and 0..31 days"
            )
        return settings.replace(**overrides)


#: The fields :meth:`Settings.replace` takes by their own name (``outbox``
#: takes a whole :class:`OutboxPolicy`).
_TOP_LEVEL = frozenset(f.name for f in fields(Settings)) - {
    group for group, _ in GROUPED.values()
}


def _issuer_name(cert: x509.Certificate) -> str | None:
    names = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _supplier_certificate(settings: Settings) -> x509.Certificate | None:
    """The supplier key's certificate, when it can be read without the key
    (a PEM file) or with the password the settings give (a PKCS#12 file)."""
    try:
        if settings.supplier.signer_cert:
            pem = Path(settings.supplier.signer_cert).read_bytes()
            return x509.load_pem_x509_certificates(pem)[0]
        if settings.supplier.signer_p12:
            password = settings.supplier.signer_password
            _key, cert, _extra = pkcs12.load_key_and_certificates(
                Path(settings.supplier.signer_p12).read_bytes(),
                password.encode() if password else None,
            )
            return cert
    except (OSError, ValueError, TypeError, IndexError, UnsupportedAlgorithm):
        return None  # an unreadable key fails where it is used, with its reason
    return None


def _demo_supplier_key(settings: Settings) -> bool:
    """Whether the supplier would countersign with the demo world's key: the
    file ``docflow demo`` made (or a copy of it), or any key the demo CA issued."""
    demo = settings.var_dir / "demo" / "supplier-signer.p12"
    given = settings.supplier.signer_p12
    if given and demo.exists():
        path = Path(given)
        try:
            if path.resolve() == demo.resolve() or (
                path.read_bytes() == demo.read_bytes()
            ):
                return True
        except OSError:
            pass
    cert = _supplier_certificate(settings)
    return cert is not None and _issuer_name(cert) == DEMO_CA_NAME


def production_problems(settings: Settings) -> list[str]:
    """What production must not start with, each naming its variable.

    The rate limiter's store is checked in :meth:`Settings.from_env`; the
    filesystem blob store, which needs the database to compare nodes, in
    :func:`docflow.cluster.check_blob_directory_shared`.
    """
    problems = []
    if not settings.secret_key:
        problems.append(
            "SECRET_KEY: production needs one long random secret, the same on every "
            "web node and worker; a key generated into each node's var/ would differ "
            "from node to node — a session from one node would not open on another, "
            "and webhook secrets sealed on one could not be opened on another"
        )
    if _demo_supplier_key(settings):
        problems.append(
            "SUPPLIER_SIGNER_P12: production would countersign with the demo world's "
            f"key ({settings.supplier.signer_p12 or settings.supplier.signer_cert}, "
            f"issued by «{DEMO_CA_NAME}»); name the supplier's own key "
            "(SUPPLIER_SIGNER_P12, SUPPLIER_SIGNER_KEY/SUPPLIER_SIGNER_CERT or "
            "SUPPLIER_PKCS11_*)"
        )
    return problems


def check_production(settings: Settings) -> None:
    """Refuse to start production with settings that only work on one node
    or only for a demo.

    :raises ConfigError: listing every problem, each with its variable.
    """
    problems = production_problems(settings)
    if problems:
        raise ConfigError("production refuses to start: " + "; ".join(problems))
