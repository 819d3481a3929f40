"""The contract card's sections that other modules add: a registry.

The card shows the contract's own details (requisites, contacts, payments, the
schedule of restrictions) and, below them, one section per module that has
something to show for a contract — its documents, the service orders, the
objects and meters. A module registers its section once, when its blueprint
is registered::

    from docflow.contracts.sections import ContractSection, register_section
    from docflow.extensions import N_

    register_section(
        ContractSection(
            key="orders",
            title=N_("Заказанные услуги"),
            template="service_orders/_contract_orders.html",
            rows=functools.partial(list_orders_for_contract, limit=10),
            order=20,
        )
    )

``rows(session, contract_id=…, user=…)`` is called for each card shown; the
template is included with what it returned under the name ``key`` (besides
the card's own variables: ``contract``, ``access``…). A module that is not
installed registers nothing, and the card has no section for it. A section
that fails is logged and shown as «temporarily unavailable»: one module must
not take the card down with it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from docflow.accounts.models import User

log = logging.getLogger(__name__)

#: The contract card's own template variables: a section's key may not hide one.
CARD_VARIABLES = frozenset(
    {
        "contract",
        "access",
        "document_url",
        "document_status",
        "contacts",
        "payments",
        "paid_this_year",
        "restrictions",
        "payment_url",
        "sections",
        "year",
    }
)


class SectionRows(Protocol):
    """What a section shows for one contract to one user (who sees the contract)."""

    def __call__(
        self, session: Session, *, contract_id: uuid.UUID, user: User
    ) -> object: ...


@dataclass(frozen=True)
class ContractSection:
    """One section of the contract card.

    :param key: names the section (``data-testid="contract-<key>"``) and the
        variable its template reads the rows from.
    :param title: the heading, a Russian message id (marked with :func:`N_`).
    :param template: the template that draws the rows.
    :param rows: fetches the rows for a contract and a user.
    :param order: sections are shown by it, then by key.
    """

    key: str
    title: str
    template: str
    rows: SectionRows
    order: int = 100


@dataclass(frozen=True)
class FilledSection:
    """A section with its rows for one card; ``failed`` when fetching them raised."""

    section: ContractSection
    rows: object
    failed: bool = False


_REGISTRY: dict[str, ContractSection] = {}


def register_section(section: ContractSection) -> ContractSection:
    """Add (or replace: registering twice is harmless) a section.

    :raises ValueError: the key is not a name a template can read, or it is one
        of the card's own variables.
    """
    if not section.key.isidentifier() or section.key in CARD_VARIABLES:
        raise ValueError(f"contract card section key {section.key!r} is not usable")
    _REGISTRY[section.key] = section
    return section


def registered_sections() -> list[ContractSection]:
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.key))


def fill_sections(
    session: Session, *, contract_id: uuid.UUID, user: User
) -> list[FilledSection]:
    """Every registered section with its rows for this contract and user."""
    filled = []
    for section in registered_sections():
        try:
            rows = section.rows(session, contract_id=contract_id, user=user)
        except Exception:  # noqa: BLE001 - another module's section must not take the card down
            log.exception(
                "contract card section %s failed for %s", section.key, contract_id
            )
            session.rollback()
            filled.append(FilledSection(section, None, failed=True))
        else:
            filled.append(FilledSection(section, rows))
    return filled
