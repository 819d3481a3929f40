"""Parsing the channel URLs of the settings (``SMTP_URL``, ``SMS_GATEWAY_URL``)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import SplitResult, unquote, urlsplit

from notifications.errors import ConfigurationError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def redact(url: str) -> str:
    """``url`` with the password replaced by ``***``, for error messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def split(url: str, schemes: Collection[str]) -> SplitResult:
    """Split ``url`` and check its scheme, failing with a clear message."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - parsing the port raises ValueError on garbage
    except ValueError as exc:
        raise ConfigurationError(f"malformed URL {redact(url)!r}: {exc}") from None
    if parts.scheme.lower() not in schemes:
        raise ConfigurationError(
            f"URL {redact(url)!r} has scheme {parts.scheme or '(none)'!r}; "
            f"expected one of {', '.join(sorted(schemes))}"
        )
    return parts


def query_params(query: str, url: str) -> dict[str, str]:
    """The query of a settings URL as a dict.

    Only percent-escapes are decoded and ``+`` stays a plus: these are values
    typed into an environment variable (``from=noreply+docflow@example.ru``),
    not a submitted HTML form. A repeated name is an error, not a silent
    "last one wins".
    """
    params: dict[str, str] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote(name)
        if name in params:
            raise ConfigurationError(f"URL {redact(url)!r} repeats parameter {name!r}")
        params[name] = unquote(value)
    return params


def flag(params: dict[str, str], name: str, url: str, *, default: bool = False) -> bool:
    """A boolean parameter: 1/0, true/false, yes/no, on/off (or ``default``)."""
    if name not in params:
        return default
    value = params.pop(name).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(
        f"URL {redact(url)!r}: {name}={value!r} is not a boolean (use 1 or 0)"
    )


def number(params: dict[str, str], name: str, default: float, url: str) -> float:
    """A positive number parameter (a timeout in seconds)."""
    raw = params.pop(name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(
            f"URL {redact(url)!r}: {name}={raw!r} must be a positive number"
        )
    return value


def no_more(params: dict[str, str], url: str) -> None:
    """Refuse parameters left over: a typo (``starttl=1``) must not pass silently."""
    if params:
        raise ConfigurationError(
            f"URL {redact(url)!r} has unknown parameter(s): {', '.join(sorted(params))}"
        )
