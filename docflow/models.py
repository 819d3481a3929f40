"""Every model, imported once so that ``Base.metadata`` is complete (Alembic,
the schema test)."""

from docflow.accounts.models import AccountToken, User
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import Base
from docflow.notify.models import DeliveredMessage, Event, Notification, OutboxMessage, Subscription

__all__ = [
    "AccountToken",
    "Base",
    "Contract",
    "ContractAccess",
    "DeliveredMessage",
    "Event",
    "Notification",
    "Organisation",
    "OutboxMessage",
    "Subscription",
    "User",
]
