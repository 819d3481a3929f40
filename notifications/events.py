"""The kinds of events users and integrations are notified about.

The string values are stored in the database (outbox rows, subscriptions), sent
in the API and in webhook payloads (``"type"``): they are part of the public
contract and never change. A new kind gets a new value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class EventInfo:
    """What the UI and the renderer need to know about one event kind.

    :param title: the Russian title shown on the subscriptions page.
    :param is_mandatory: ``True`` for transactional messages a user cannot
        unsubscribe from (a confirmation link, a password reset, a phone code).
    :param required_fields: context keys every template of the kind uses; the
        renderer refuses a context that lacks one, naming all that are missing.
    """

    title: str
    is_mandatory: bool
    required_fields: frozenset[str]


class EventKind(StrEnum):
    """An event that produces a notification, an e-mail, an SMS or a webhook."""

    DOCUMENT_TO_SIGN = "document.to_sign"
    DOCUMENT_SIGNED = "document.signed"
    DOCUMENT_COMPLETED = "document.completed"
    DOCUMENT_REFUSED = "document.refused"
    DOCUMENT_REVOCATION_REQUESTED = "document.revocation_requested"
    DOCUMENT_REVOKED = "document.revoked"
    CERTIFICATE_EXPIRING = "certificate.expiring"
    APPEAL_ANSWERED = "appeal.answered"
    READINGS_WINDOW_OPEN = "readings.window_open"
    SURVEY_PUBLISHED = "survey.published"
    PAYMENT_RECEIPT = "payment.receipt"
    SERVICE_ORDER_STATUS = "service_order.status"
    PLANNED_REMINDER = "planned.reminder"  # ППП (docflow.readings.planned_*)
    ACCOUNT_CONFIRM_EMAIL = "account.confirm_email"
    # S105: an event name, not a password.
    ACCOUNT_PASSWORD_RESET = "account.password_reset"  # noqa: S105
    ACCOUNT_REGISTRATION_ATTEMPT = "account.registration_attempt"
    CONTRACT_INVITATION = "contract.invitation"
    CONTRACT_ACCESS_CHANGED = "contract.access_changed"
    PHONE_CONFIRM_CODE = "phone.confirm_code"

    @property
    def info(self) -> EventInfo:
        """The title, the subscription rule and the required context fields."""
        return _INFO[self]

    @property
    def label(self) -> str:
        """The Russian title for the UI (the subscriptions page, the inbox).

        Named ``label`` (as Django's ``TextChoices``) because ``title`` would
        shadow :meth:`str.title` on this ``str`` subclass.
        """
        return _INFO[self].title

    @property
    def is_mandatory(self) -> bool:
        """``True`` when users may not unsubscribe (transactional messages)."""
        return _INFO[self].is_mandatory

    @property
    def required_fields(self) -> frozenset[str]:
        """The context keys the templates of this kind need."""
        return _INFO[self].required_fields

    @classmethod
    def subscribable(cls) -> tuple[EventKind, ...]:
        """The kinds a user may switch on and off, in declaration order."""
        return tuple(kind for kind in cls if not kind.is_mandatory)


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names)


# Every document event names the document the way a clerk would find it in the
# registry: title, number and contract. ``url`` is the link into the cabinet.
_DOCUMENT = ("document_title", "document_number", "contract_number", "url")

_INFO: dict[EventKind, EventInfo] = {
    EventKind.DOCUMENT_TO_SIGN: EventInfo(
        "Документ ожидает подписи", False, _fields(*_DOCUMENT)
    ),
    EventKind.DOCUMENT_SIGNED: EventInfo(
        "Документ подписан стороной", False, _fields(*_DOCUMENT, "signer_name")
    ),
    EventKind.DOCUMENT_COMPLETED: EventInfo(
        "Документ подписан обеими сторонами", False, _fields(*_DOCUMENT)
    ),
    EventKind.DOCUMENT_REFUSED: EventInfo(
        "Отказ в подписании документа",
        False,
        _fields(*_DOCUMENT, "refused_by", "reason"),
    ),
    EventKind.DOCUMENT_REVOCATION_REQUESTED: EventInfo(
        "Предложение аннулировать документ",
        False,
        _fields(*_DOCUMENT, "requested_by", "reason"),
    ),
    EventKind.DOCUMENT_REVOKED: EventInfo(
        "Документ аннулирован", False, _fields(*_DOCUMENT)
    ),
    EventKind.CERTIFICATE_EXPIRING: EventInfo(
        "Истекает срок действия сертификата",
        False,
        _fields("certificate_owner", "certificate_serial", "valid_to", "url"),
    ),
    EventKind.APPEAL_ANSWERED: EventInfo(
        "Получен ответ на обращение", False, _fields("appeal_number", "url")
    ),
    EventKind.READINGS_WINDOW_OPEN: EventInfo(
        "Открыт приём показаний",
        False,
        _fields("contract_number", "period", "window_from", "window_to", "url"),
    ),
    EventKind.SURVEY_PUBLISHED: EventInfo(
        "Новая анкета", False, _fields("survey_title", "ends_on", "url")
    ),
    EventKind.PAYMENT_RECEIPT: EventInfo(
        "Квитанция об оплате онлайн",
        False,
        _fields("contract_number", "amount", "paid_at", "purpose", "url"),
    ),
    EventKind.PLANNED_REMINDER: EventInfo(
        "Напоминание о заявке на плановое почасовое потребление",
        False,
        _fields("contract_number", "day", "deadline", "url"),
    ),
    EventKind.SERVICE_ORDER_STATUS: EventInfo(
        "Изменился статус заказа услуги",
        False,
        _fields("order_number", "service", "contract_number", "status_title", "url"),
    ),
    EventKind.ACCOUNT_CONFIRM_EMAIL: EventInfo(
        "Подтверждение адреса электронной почты", True, _fields("url")
    ),
    EventKind.ACCOUNT_PASSWORD_RESET: EventInfo(
        "Восстановление пароля", True, _fields("url")
    ),
    EventKind.ACCOUNT_REGISTRATION_ATTEMPT: EventInfo(
        "Попытка регистрации с вашим адресом", True, _fields("url")
    ),
    EventKind.CONTRACT_INVITATION: EventInfo(
        "Приглашение к договору",
        False,
        _fields("contract_number", "organization_name", "invited_by", "url"),
    ),
    EventKind.CONTRACT_ACCESS_CHANGED: EventInfo(
        "Изменение прав доступа к договору",
        False,
        _fields("contract_number", "organization_name", "access", "url"),
    ),
    EventKind.PHONE_CONFIRM_CODE: EventInfo(
        "Код подтверждения телефона", True, _fields("code")
    ),
}
