"""The demo world's online payments: nothing to seed.

The demo works at once with the fake acquirer (the embedded mode needs no
configuration): a customer opens «Оплатить онлайн» on a contract's payments
page or on the main page's «Оплата» widget, pays on the fake acquirer's page,
and the payment appears in the contract's payment history. Seeding past
online payments would only duplicate the billing history the base world has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    """Idempotent by construction: it adds nothing."""
    del session, world
