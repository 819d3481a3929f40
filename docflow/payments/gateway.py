"""Which acquirer takes the money, decided from the settings.

* ``PAYMENT_PROVIDER=tbank`` (or a T-Bank terminal key given): T-Bank over
  HTTP at ``TBANK_API_URL``;
* ``PAYMENT_PROVIDER=fake``, or nothing configured in the embedded mode: the
  fake acquirer (:mod:`docflow.payments.fake_acquirer`), spoken to in-process through
  the same protocol code (requests signed, answers parsed);
* nothing configured in production (PostgreSQL) — or only the old external
  ``PAYMENT_URL`` link — no online payment by the cabinet: the page keeps the
  external link, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from docflow.payments.fake_acquirer import in_process_transport
from docflow.payments.tbank import TBankClient, Transport, http_transport

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from docflow.config import Settings

#: The fake acquirer's terminal, unless TBANK_TERMINAL_KEY/TBANK_PASSWORD are set.
FAKE_TERMINAL_KEY = "DocflowDemoTerminal"
FAKE_PASSWORD = "docflow-fake-acquirer"  # noqa: S105 - the demo terminal's, public


def _production(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


def active_provider(settings: Settings) -> str | None:
    """``"tbank"``, ``"fake"`` or ``None`` (no online payment by the cabinet)."""
    if settings.payments.provider == "tbank":
        return "tbank"
    fake_allowed = not _production(settings) or settings.payments.fake
    if settings.payments.provider == "fake":
        return "fake" if fake_allowed else None
    if settings.payments.tbank_terminal_key and settings.payments.tbank_password:
        return "tbank"
    if settings.payments.url:
        return None  # the operator's external payment page stays
    return "fake" if fake_allowed else None


def credentials(settings: Settings, provider: str) -> tuple[str, str]:
    if settings.payments.tbank_terminal_key and settings.payments.tbank_password:
        return settings.payments.tbank_terminal_key, settings.payments.tbank_password
    if provider == "fake":
        return FAKE_TERMINAL_KEY, FAKE_PASSWORD
    raise RuntimeError("T-Bank terminal is not configured")


@dataclass(frozen=True)
class Gateway:
    """The acquirer of this request: its name, terminal and client."""

    provider: str
    terminal_key: str
    password: str
    client: TBankClient
    base_url: str  # where the acquirer sends the payer back and notifies

    @property
    def title(self) -> str:
        return "Т-Банк" if self.provider == "tbank" else "тестовый эквайер"


def open_gateway(
    settings: Settings, session: Session, *, transport: Transport | None = None
) -> Gateway | None:
    """The gateway, or ``None`` when online payment is off."""
    provider = active_provider(settings)
    if provider is None:
        return None
    key, password = credentials(settings, provider)
    if transport is None:
        if provider == "tbank":
            transport = http_transport(settings.payments.tbank_api_url)
        else:
            transport = in_process_transport(
                session, key=key, password=password, base_url=settings.base_url
            )
    return Gateway(
        provider,
        key,
        password,
        TBankClient(key, password, transport),
        settings.base_url,
    )
