"""The grid company's cabinet (ЛК ПАО «Россети Московский регион», МОЭСК):
the link made from ``GRID_CABINET_URL`` and the account number the contract's
administrator stores for the contract.

The manual's «Подключить учётную запись» opens the grid company's login page
in a new tab; the account number, when stored, goes into the link in place of
``{account}``, URL-encoded, so that the grid company's cabinet can link the
two accounts.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.access import Actor, require_grid_account_manager
from docflow.audit import record
from docflow.errors import ValidationError
from docflow.tours.models import GridAccount

MAX_ACCOUNT_LENGTH = 30
#: Digits, Latin and Cyrillic letters and dashes: what account numbers of the
#: grid company look like (for example 1234-567-890 or ЮЛ-000123).
ACCOUNT = re.compile(r"[0-9A-Za-zА-Яа-яЁё]+(?:-+[0-9A-Za-zА-Яа-яЁё]+)*")


def cabinet_link(template: str, account: str | None) -> str:
    """``template`` with ``{account}`` replaced by the URL-encoded ``account``
    (by nothing when there is none)."""
    return template.replace("{account}", quote(account or "", safe=""))


def clean_account(raw: str) -> str | None:
    """The account number as typed, trimmed; ``None`` for an empty field
    (clears the stored number).

    :raises ValidationError: other characters than digits, letters and
        dashes, or longer than :data:`MAX_ACCOUNT_LENGTH`.
    """
    value = raw.strip()
    if not value:
        return None
    if len(value) > MAX_ACCOUNT_LENGTH:
        raise ValidationError(
            f"Номер учётной записи ЛК МОЭСК — не длиннее {MAX_ACCOUNT_LENGTH} "
            "символов.",
            details={"field": "account"},
        )
    if not ACCOUNT.fullmatch(value):
        raise ValidationError(
            "Номер учётной записи ЛК МОЭСК может содержать только цифры, буквы и "
            "дефисы (например, 1234-567-890).",
            details={"field": "account"},
        )
    return value


def account_of(session: Session, contract_id: uuid.UUID) -> str | None:
    row = session.get(GridAccount, contract_id)
    return row.account if row else None


def set_account(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, raw: str
) -> str | None:
    """Store (or, given an empty value, clear) the contract's account number.

    :raises NotFoundError: the actor cannot see the contract.
    :raises PermissionDeniedError: the actor is not its administrator.
    :raises ValidationError: see :func:`clean_account`.
    """
    require_grid_account_manager(session, actor, contract_id)
    value = clean_account(raw)
    row = session.get(GridAccount, contract_id)
    before = row.account if row else None
    if value == before:
        return value
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        try:
            with session.begin_nested():  # two saves at once: the loser updates
                session.add(
                    GridAccount(
                        contract_id=contract_id,
                        account=value,
                        updated_by_id=actor.user_id,
                    )
                )
                session.flush()
        except IntegrityError:
            row = session.get(GridAccount, contract_id, populate_existing=True)
            if row is None:  # pragma: no cover - the winner's row vanished
                raise
    if row is not None and value is not None:
        row.account = value
        row.updated_by_id = actor.user_id
    session.flush()
    record(
        session,
        user=actor.user,
        action="contract.grid_account_set"
        if value
        else "contract.grid_account_cleared",
        object_type="contract",
        object_id=contract_id,
        details={"account": value, "previous": before},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return value
