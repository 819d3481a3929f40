"""The demo world's grid account: ООО «Ромашка»'s contract 77-0001-ЮЛ has its
account number in the grid company's cabinet (ЛК МОЭСК) stored, so the contract
card's «Подключить учётную запись» passes it at once. (The embedded mode's
GRID_CABINET_URL points to the grid company's public login page; see
docflow/config.py.) The tours need no data: each demo user sees them on first
visit.

Idempotent: a stored number (the demo's or one the user changed) is kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import Contract
from docflow.tours.models import GridAccount

CONTRACT = "77-0001-ЮЛ"
ACCOUNT = "7700-012-345"


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    contract = session.scalar(select(Contract).where(Contract.number == CONTRACT))
    if contract is None:
        return
    if session.get(GridAccount, contract.id) is None:
        session.add(GridAccount(contract_id=contract.id, account=ACCOUNT))
        session.flush()
    # The same world on every run, whether the account was stored now or before.
    world.setdefault("grid_accounts", []).append(
        {"contract": CONTRACT, "account": ACCOUNT}
    )
