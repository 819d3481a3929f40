"""API keys: creating, finding, revoking (webhook endpoints are the outbox's:
:mod:`docflow.outbox.webhooks`).

A key is ``dfk_<prefix>_<secret>``: 8 hex characters that identify it in lists
and logs, then 256 random bits. Only its SHA-256 is stored; the key itself is
shown once, when it is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from docflow.access import (
    ALL_SCOPES,
    Actor,
    is_admin,
    is_supplier_organisation,
    supplier_organisation,
)
from docflow.accounts.models import User
from docflow.api.models import ApiKey
from docflow.audit import record
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import utcnow
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError

KEY_PREFIX = "dfk_"
#: The scopes by short names, for the list of keys («Доступ»).
SCOPE_NAMES = {
    "read": "чтение",
    "write": "регистрация документов",
    "sign": "подписание",
    "readings": "показания",
}
SCOPE_TITLES = {
    "read": "чтение документов, сертификатов и событий",
    "write": "регистрация и удаление документов, вебхуки",
    "sign": "подписание, отказ, аннулирование, сертификаты",
    "readings": "показания и акты ПРОМ10",
}
# Touching ``last_used_at`` on every request would turn each read into a
# write; once a minute says enough about whether a key is in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


# -- keys -----------------------------------------------------------------------


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(raw: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Scopes from ``"read,write"`` or a list. ``read`` is implied by every
    other scope: a key that may sign a document must be able to see it.

    :raises ValidationError: an unknown scope, or none.
    """
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = {s.strip().lower() for s in items if s and s.strip()}
    unknown = scopes - ALL_SCOPES
    if unknown:
        raise ValidationError(
            "Неизвестные области доступа: "
            + ", ".join(sorted(unknown))
            + ". Допустимы: "
            + ", ".join(sorted(ALL_SCOPES))
            + ".",
            details={"field": "scopes"},
        )
    if not scopes:
        raise ValidationError(
            "Выберите хотя бы одну область доступа.", details={"field": "scopes"}
        )
    return frozenset(scopes | {"read"})


def manageable_organisations(session: Session, user: User) -> list[Organisation]:
    """Organisations whose keys ``user`` may manage: those where they administer
    a contract, and the supplier for an administrator."""
    orgs = list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.id.in_(
                    select(Contract.organisation_id)
                    .join(ContractAccess, ContractAccess.contract_id == Contract.id)
                    .where(
                        ContractAccess.user_id == user.id,
                        ContractAccess.can_manage.is_(True),
                    )
                )
            )
            .order_by(Organisation.name)
        )
    )
    if is_admin(user):
        supplier = supplier_organisation(session)
        if supplier is not None:
            orgs.insert(0, supplier)
    return orgs


def _check_manager(
    session: Session, user: User | None, organisation: Organisation | None
) -> None:
    """``user`` None is the command line, which the operator runs."""
    if user is None:
        return
    if organisation is None or is_supplier_organisation(organisation):
        if not is_admin(user):
            raise PermissionDeniedError(
                "Ключи API поставщика создаёт и отзывает администратор."
            )
        return
    allowed = {o.id for o in manageable_organisations(session, user)}
    if organisation.id not in allowed:
        raise PermissionDeniedError(
            "Ключи API организации создаёт и отзывает администратор её договора."
        )


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key, shown once


def create_api_key(
    session: Session,
    *,
    user: User | None,
    organisation: Organisation | None,
    name: str,
    scopes: frozenset[str] | str | list[str],
    label: str | None = None,
    request_info: Any = None,
) -> NewKey:
    """Make a key for ``organisation`` (``None`` or the supplier's organisation:
    a supplier key, which sees every customer's documents).

    :param user: who asks (``None`` for the command line).
    :raises PermissionDeniedError: ``user`` does not administer the organisation.
    :raises ValidationError: no name, unknown scopes.
    """
    _check_manager(session, user, organisation)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValidationError(
            "Укажите название ключа (до 200 символов), например «1С: ERP».",
            details={"field": "name"},
        )
    scope_set = (
        parse_scopes(sorted(scopes))
        if not isinstance(scopes, str)
        else parse_scopes(scopes)
    )
    for _ in range(5):
        prefix = secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        organisation_id=None
        if organisation is None or is_supplier_organisation(organisation)
        else organisation.id,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scopes=",".join(sorted(scope_set)),
        created_by_id=user.id if user else None,
    )
    session.add(key)
    session.flush()
    record(
        session,
        user=user,
        action="api_key.create",
        object_type="api_key",
        object_id=key.id,
        details={
            "prefix": prefix,
            "name": name,
            "scopes": sorted(scope_set),
            "organisation_inn": organisation.inn if organisation else None,
        },
        request_info=request_info,
        actor_label=label or (user.email if user else "командная строка"),
    )
    return NewKey(key, raw)


def find_api_key(session: Session, reference: str) -> ApiKey:
    """A key by its id, its prefix, or the key itself.

    :raises NotFoundError: no such key.
    """
    reference = reference.strip()
    key = None
    if reference.startswith(KEY_PREFIX) and reference.count("_") >= 2:
        key = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_key(reference))
        )
        if key is None:
            reference = reference.split("_")[1]
    if key is None:
        try:
            key = session.get(ApiKey, uuid.UUID(reference))
        except ValueError:
            key = session.scalar(select(ApiKey).where(ApiKey.prefix == reference))
    if key is None:
        raise NotFoundError("Ключ API не найден.")
    return key


def revoke_api_key(
    session: Session,
    *,
    user: User | None,
    key_id: uuid.UUID,
    label: str | None = None,
    request_info: Any = None,
) -> ApiKey:
    """Revoke a key: from now on it is answered 401."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError("Ключ API не найден.")
    try:
        _check_manager(session, user, key.organisation)
    except PermissionDeniedError:
        raise NotFoundError("Ключ API не найден.") from None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        record(
            session,
            user=user,
            action="api_key.revoke",
            object_type="api_key",
            object_id=key.id,
            details={"prefix": key.prefix, "name": key.name},
            request_info=request_info,
            actor_label=label or (user.email if user else "командная строка"),
        )
    return key


def list_api_keys(
    session: Session, *, user: User | None, organisation: Organisation | None = None
) -> list[ApiKey]:
    """Keys ``user`` may manage (all, for the command line), newest first."""
    stmt = select(ApiKey).order_by(ApiKey.created_at.desc())
    if organisation is not None:
        stmt = stmt.where(
            ApiKey.organisation_id.is_(None)
            if is_supplier_organisation(organisation)
            else ApiKey.organisation_id == organisation.id
        )
    if user is not None:
        orgs = manageable_organisations(session, user)
        ids = [o.id for o in orgs if not is_supplier_organisation(o)]
        conditions = [ApiKey.organisation_id.in_(ids)]
        if is_admin(user):
            conditions.append(ApiKey.organisation_id.is_(None))
        stmt = stmt.where(or_(*conditions))
    return list(session.scalars(stmt))


def authenticate(session: Session, raw: str) -> ApiKey | None:
    """The active key ``raw`` names, or None. Reads only: :func:`mark_used`
    records the use."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def needs_mark(key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Whether the key's last use is older than :data:`LAST_USED_RESOLUTION`."""
    last = key.last_used_at
    if last is None:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return (now or utcnow()) - last > LAST_USED_RESOLUTION


def mark_used(
    session: Session, key_id: uuid.UUID, now: dt.datetime | None = None
) -> None:
    """Record that the key was used now, unless a request at the same moment
    already did (so many at once write it once)."""
    now = now or utcnow()
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def actor_for_key(key: ApiKey, request_info: Any) -> Actor:
    return Actor.for_api_key(key, request_info)
