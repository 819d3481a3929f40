"""Sample data for the notifications unit tests: one context per event kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from notifications import EventKind, Message

# Values that show up only if the template really prints them, with Cyrillic,
# HTML metacharacters and an ampersand in a URL.
DOCUMENT = {
    "document_title": "Акт ПРОМ10 <за март> & «итоги»",
    "document_number": "П10-0417",
    "contract_number": "77-001/Э",
    "url": "https://lk.example.ru/documents/42?tab=sign&from=mail",
}

CONTEXTS: dict[EventKind, dict[str, object]] = {
    EventKind.DOCUMENT_TO_SIGN: {**DOCUMENT, "deadline": date(2025, 3, 31)},
    EventKind.DOCUMENT_SIGNED: {**DOCUMENT, "signer_name": "Иванова Мария Петровна"},
    EventKind.DOCUMENT_COMPLETED: {**DOCUMENT},
    EventKind.DOCUMENT_REFUSED: {
        **DOCUMENT,
        "refused_by": "ООО «Ромашка»",
        "reason": "Неверные показания ПУ № 5 <см. письмо>",
    },
    EventKind.DOCUMENT_REVOCATION_REQUESTED: {
        **DOCUMENT,
        "requested_by": "ПАО «Энергосбыт»",
        "reason": "Ошибка в тарифной зоне",
    },
    EventKind.DOCUMENT_REVOKED: {**DOCUMENT, "reason": "Соглашение сторон № 3"},
    EventKind.CERTIFICATE_EXPIRING: {
        "certificate_owner": "Петров Пётр Петрович",
        "certificate_serial": "01D9A3F2",
        "valid_to": date(2025, 4, 30),
        "days_left": 21,
        "url": "https://lk.example.ru/certificates?new=1&x=<y>",
    },
    EventKind.APPEAL_ANSWERED: {
        "appeal_number": "ОБ-2025-117",
        "answer_excerpt": "Перерасчёт выполнен <в марте>",
        "url": "https://lk.example.ru/appeals/117",
    },
    EventKind.READINGS_WINDOW_OPEN: {
        "contract_number": "77-001/Э",
        "period": "март 2025",
        "window_from": date(2025, 3, 15),
        "window_to": date(2025, 3, 26),
        "url": "https://lk.example.ru/readings",
    },
    EventKind.SURVEY_PUBLISHED: {
        "survey_title": "Оценка <качества> & «сервиса»",
        "ends_on": date(2025, 3, 31),
        "url": "https://lk.example.ru/surveys/5?from=mail&x=<y>",
    },
    EventKind.PAYMENT_RECEIPT: {
        "contract_number": "77-0001-ЮЛ <&>",
        "amount": "1 000,00 ₽",
        "paid_at": "05.12.2026 21:40",
        "purpose": "Оплата электроэнергии «онлайн»",
        "url": "https://lk.example.ru/payments/5?from=mail&x=<y>",
    },
    EventKind.PLANNED_REMINDER: {
        "contract_number": "77-0001-ЮЛ <&>",
        "day": date(2026, 12, 9),
        "deadline": "07.12.2026 12:00",
        "url": "https://lk.example.ru/readings/planned?from=mail&x=<y>",
    },
    EventKind.SERVICE_ORDER_STATUS: {
        "order_number": "ЗУ-2026-000045",
        "service": "Замена прибора учёта <&>",
        "contract_number": "77-0001-ЮЛ",
        "status_title": "Ожидает оплаты",
        "url": "https://lk.example.ru/services/orders/5?from=mail&x=<y>",
    },
    EventKind.ACCOUNT_CONFIRM_EMAIL: {
        "user_name": "Мария Петровна",
        "url": "https://lk.example.ru/confirm/abc?t=1&u=2",
    },
    EventKind.ACCOUNT_PASSWORD_RESET: {
        "user_name": "Мария Петровна",
        "url": "https://lk.example.ru/reset/xyz",
    },
    EventKind.ACCOUNT_REGISTRATION_ATTEMPT: {
        "user_name": "Мария Петровна",
        "url": "https://lk.example.ru/account/forgot?from=mail&x=<y>",
    },
    EventKind.CONTRACT_INVITATION: {
        "contract_number": "77-001/Э",
        "organization_name": "ООО «Ромашка & Ко»",
        "invited_by": "Сидоров Семён",
        "access": ["просмотр", "подписание"],
        "url": "https://lk.example.ru/contracts/7",
    },
    EventKind.CONTRACT_ACCESS_CHANGED: {
        "contract_number": "77-001/Э",
        "organization_name": "ООО «Ромашка & Ко»",
        "access": "передача показаний",
        "url": "https://lk.example.ru/contracts/7",
    },
    EventKind.PHONE_CONFIRM_CODE: {"code": "493817"},
}

CREATED_AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


MessageFactory = Callable[..., Message]


@pytest.fixture(params=list(EventKind), ids=str)
def kind(request: pytest.FixtureRequest) -> EventKind:
    """Each event kind in turn."""
    return EventKind(request.param)


@pytest.fixture
def contexts() -> dict[EventKind, dict[str, object]]:
    """A complete template context for every kind (a fresh copy per test)."""
    return {kind: dict(context) for kind, context in CONTEXTS.items()}


@pytest.fixture
def make_message() -> MessageFactory:
    """Build a Message with sensible defaults; keyword arguments override."""
    return _make_message


def _make_message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "id": "0a1b2c3d-0000-4000-8000-000000000001",
        "kind": EventKind.DOCUMENT_TO_SIGN,
        "recipient": "buh@romashka.ru",
        "subject": "Документ ожидает подписи: Акт № 17",
        "text": "Документ ожидает подписи: https://lk.example.ru/d/17",
        "html": "<p>Документ ожидает подписи</p>",
        "data": {"url": "https://lk.example.ru/d/17"},
        "created_at": CREATED_AT,
    }
    fields.update(overrides)
    return Message(**fields)  # type: ignore[arg-type]
