"""Webhook endpoints of integrations: registered through the API, delivered
through the outbox.

Registration (:func:`create_webhook`, :func:`list_webhooks`,
:func:`delete_webhook`) checks the URL (:func:`check_webhook_url`: no
credentials, no address of the supplier's own network) and seals the
endpoint's secret (:mod:`docflow.outbox.sealing`).

Delivery: :func:`webhook_targets` names the endpoints an event goes to
(written as outbox rows by :func:`docflow.outbox.services.publish`);
:func:`webhook_channel` gives the relay the channel that signs and POSTs one
row. At each delivery the channel resolves the endpoint's host once, refuses
it when any of its addresses is internal (unless ``ALLOW_PRIVATE_WEBHOOKS``)
and connects to the address it checked (:mod:`netguard`): a name that
resolved to a public address at registration, or a moment ago, cannot later
be turned against the supplier's own services.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import socket
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, object_session

from docflow.access import Actor, acts_for_supplier
from docflow.audit import record
from docflow.errors import NotFoundError, ValidationError
from docflow.outbox.models import OutboxMessage, Webhook
from docflow.outbox.sealing import open_secret, seal_secret
from netguard import forbidden_reason
from notifications import EventKind, PermanentDeliveryError, WebhookChannel

# -- the address guard ------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """Whether ``address`` is on the public Internet, also after unwrapping an
    IPv4 address embedded in IPv6 (mapped, NAT64, 6to4, Teredo): see
    :func:`netguard.forbidden_reason`."""
    return forbidden_reason(address) is None


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]).split("%")[0] for info in infos})


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """A webhook URL fit to be called: ``http(s)://host[:port]/…`` without
    credentials, and (unless ``allow_private``) not pointing into the
    supplier's own network, loopback or link-local (metadata services), nor
    at an IPv6 address that wraps one of those (NAT64, 6to4, Teredo,
    IPv4-mapped). The delivery checks again, on the address it connects to.

    :raises ValidationError: codes ``validation_error`` or ``webhook_url_forbidden``.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or len(url) > 1000
        or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise ValidationError(
            "Адрес вебхука должен быть URL вида https://host/путь (до 1000 символов).",
            details={"field": "url"},
        )
    if parts.username or parts.password:
        raise ValidationError(
            "Адрес вебхука не должен содержать имя пользователя и пароль: "
            "подлинность запросов подтверждает подпись X-Signature.",
            details={"field": "url"},
        )
    if allow_private:
        return url
    host = parts.hostname
    if host in {"localhost", "localhost.localdomain"} or host.endswith(".localhost"):
        addresses = ["127.0.0.1"]
    else:
        try:
            addresses = resolve_host(host)
        except (OSError, UnicodeError):
            # Not resolvable now: the delivery checks again before each call.
            addresses = []
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        raise ValidationError(
            "Адрес вебхука указывает во внутреннюю сеть или на локальный узел "
            f"({', '.join(private)}): такие адреса не разрешены.",
            code="webhook_url_forbidden",
            details={"field": "url"},
        )
    return url


def allow_private_webhooks() -> bool:
    """``ALLOW_PRIVATE_WEBHOOKS`` of the current application."""
    return bool(current_app.config.get("ALLOW_PRIVATE_WEBHOOKS", False))


# -- registration -----------------------------------------------------------------


def _check_kinds(kinds: list[str]) -> list[str]:
    allowed = {k.value for k in EventKind if not k.is_mandatory}
    unknown = sorted(set(kinds) - allowed)
    if unknown:
        raise ValidationError(
            "Неизвестные типы событий: "
            + ", ".join(unknown)
            + ". Допустимы: "
            + ", ".join(sorted(allowed))
            + ".",
            details={"field": "events"},
        )
    return sorted(set(kinds))


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str


def create_webhook(
    session: Session,
    *,
    actor: Actor,
    url: str,
    kinds: list[str],
    secret: str | None,
    description: str,
    secret_key: str,
    allow_private: bool,
) -> NewWebhook:
    """Register an endpoint for the actor's organisation (every organisation,
    for the supplier). A secret is generated when none is given.

    :raises ValidationError: a bad URL, unknown kinds, a short secret.
    """
    url = check_webhook_url(url, allow_private=allow_private)
    kinds = _check_kinds(kinds)
    if secret is None:
        secret = secrets.token_urlsafe(32)
    elif not 16 <= len(secret) <= 200 or not secret.isprintable():
        raise ValidationError(
            "Секрет вебхука: от 16 до 200 печатных символов.",
            details={"field": "secret"},
        )
    description = " ".join(description.split())[:200]
    hook = Webhook(
        organisation_id=actor.organisation_id,
        api_key_id=actor.api_key_id,
        url=url,
        secret=seal_secret(secret, secret_key),
        kinds=",".join(kinds),
        description=description,
    )
    session.add(hook)
    session.flush()
    record(
        session,
        user=actor.user,
        action="webhook.create",
        object_type="webhook",
        object_id=hook.id,
        details={"url": url.split("?", 1)[0], "events": kinds},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return NewWebhook(hook, secret)


def _visible_webhooks(actor: Actor) -> Any:
    stmt = select(Webhook)
    if acts_for_supplier(actor):
        return stmt.where(Webhook.organisation_id.is_(None))
    return stmt.where(Webhook.organisation_id == actor.organisation_id)


def list_webhooks(session: Session, *, actor: Actor) -> list[Webhook]:
    return list(session.scalars(_visible_webhooks(actor).order_by(Webhook.created_at)))


def delete_webhook(session: Session, *, actor: Actor, webhook_id: uuid.UUID) -> None:
    hook = session.scalar(_visible_webhooks(actor).where(Webhook.id == webhook_id))
    if hook is None:
        raise NotFoundError("Вебхук не найден.")
    record(
        session,
        user=actor.user,
        action="webhook.delete",
        object_type="webhook",
        object_id=hook.id,
        details={"url": hook.url.split("?", 1)[0]},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    session.delete(hook)
    session.flush()


# -- delivery ---------------------------------------------------------------------


def webhook_targets(
    session: Session, organisation_id: uuid.UUID | None, kind: str
) -> list[tuple[uuid.UUID, str]]:
    """(endpoint id, URL) of the webhooks subscribed to ``kind`` for an
    organisation: its own endpoints and the supplier's (which get every event)."""
    owners: list[ColumnElement[bool]] = [Webhook.organisation_id.is_(None)]
    if organisation_id is not None:
        owners.append(Webhook.organisation_id == organisation_id)
    hooks = session.scalars(
        select(Webhook).where(or_(*owners)).order_by(Webhook.created_at)
    )
    return [(h.id, h.url) for h in hooks if not h.kind_list or kind in h.kind_list]


def webhook_channel(row: OutboxMessage) -> Any:
    """The channel for one outbox row: signed with its endpoint's secret."""
    session = object_session(row)
    hook = session.get(Webhook, row.webhook_id) if session and row.webhook_id else None
    if hook is None:
        raise PermanentDeliveryError(
            f"webhook endpoint {row.webhook_id} no longer exists"
        )
    state = current_app.extensions["docflow"]
    secret = open_secret(hook.secret, state.settings.secret_key)
    if secret is None:
        raise PermanentDeliveryError(
            f"webhook endpoint {hook.id}: its secret cannot be read (SECRET_KEY changed)"
        )
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:16]
    allow_private = allow_private_webhooks()
    # One channel (and its HTTP connection pool) per endpoint, secret and
    # network policy; the channel itself refuses internal addresses.
    return state.backend(
        f"webhook:{hook.id}:{fingerprint}:{int(allow_private)}",
        lambda: WebhookChannel(secret, allow_private=allow_private),
    )
