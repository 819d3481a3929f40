"""Where a user-supplied ``next`` may send the browser: a path on this site only.

An open redirect after login (or after any form) lends this site's name to a
phishing page. Browsers are lenient with what follows ``Location:``: they drop
tabs and newlines (the WHATWG URL parser strips ASCII tab and newline anywhere
and C0 controls and spaces at both ends), so ``/\\t/evil.example`` turns into
``//evil.example``, a scheme-relative URL to another host; and they read ``\\``
as ``/`` in http(s) URLs, so ``/\\evil.example`` does the same. The check
therefore refuses any control character, whitespace or backslash outright
instead of cleaning it away, and then lets through only a path that starts
with exactly one ``/`` and that ``urllib.parse`` also sees without a scheme or
a host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# C0 controls and DEL; whitespace (space and the Unicode kinds) is caught by
# str.isspace, which also covers \t \n \v \f \r.
_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def is_safe_redirect_target(target: str | None) -> bool:
    """True when ``target`` is a relative path on this site (``/documents/?page=2``).

    :param target: the untrusted value, as decoded from the query or the form.
    """
    if not target or not target.startswith("/"):
        return False
    if any(ch in _CONTROL or ch.isspace() or ch == "\\" for ch in target):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and parts.path.startswith("/")


def safe_redirect_target(target: str | None, *, default: str) -> str:
    """``target`` when it is safe to redirect to (:func:`is_safe_redirect_target`),
    else ``default`` (a URL the application built itself)."""
    return target if target is not None and is_safe_redirect_target(target) else default
