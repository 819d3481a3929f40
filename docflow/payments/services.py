"""Online payment: our payment row first, then the acquirer, then its
notification records the money in the contract's payment history.

1. :func:`create_payment` writes an :class:`OnlinePayment` («создан») under
   the form's idempotency key (a double submit finds the same row);
2. :func:`send_to_acquirer` calls ``Init`` (``OrderId`` = our id) and keeps
   ``PaymentURL`` and ``PaymentId`` («ожидает оплаты»);
3. :func:`handle_notification` — the acquirer's signed notification —
   checks the token, the terminal and the amount, and on ``CONFIRMED`` adds
   ONE row to the contract's payments (``contracts.Payment``), marks ours
   «оплачен», runs the paid handler of the payment's kind (a service order,
   say) and sends the receipt, all in the caller's transaction; a duplicate
   changes nothing (the row is locked, and its link to the contract payment
   is unique);
4. :func:`refresh_state` asks ``GetState`` when the payer is back before
   the notification, and applies the same confirmation.

Other modules: :func:`register_paid_handler`, :func:`register_amount_resolver`
and :func:`start_payment`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Actor,
    may_pay_online,
    online_payment_filter,
    require_pay_online,
    visible_contract_ids,
)
from docflow.accounts.models import User
from docflow.audit import record
from docflow.context import settings
from docflow.contracts.models import Contract, Payment
from docflow.db import utcnow
from docflow.errors import (
    DocflowError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.outbox.services import publish
from docflow.payments.gateway import Gateway, open_gateway
from docflow.payments.models import OnlinePayment, OnlinePaymentStatus
from docflow.payments.tbank import (
    FAILED_STATUSES,
    PAID_STATUSES,
    NotificationError,
    TBankError,
    parse_notification,
)
from docflow.runtime import Runtime

log = logging.getLogger(__name__)
MSK = ZoneInfo("Europe/Moscow")

#: The largest single online payment (the acquirer's terminals have limits too).
MAX_AMOUNT_KOPECKS = 1_000_000_000  # 10 000 000,00 ₽
PURPOSE_MAX = 210
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

PaidHandler = Callable[[Session, str, int, str], None]
AmountResolver = Callable[[Session, Actor, str], tuple[uuid.UUID, int, str]]
_PAID_HANDLERS: dict[str, PaidHandler] = {}
_AMOUNT_RESOLVERS: dict[str, AmountResolver] = {}


class NotificationRefused(DocflowError):
    """A notification we do not accept: the answer is not ``OK``."""

    status = 400
    code = "notification_refused"


class AmountMismatch(NotificationRefused):
    """The notified amount is not ours: refused, but the audit entry stays."""

    code = "amount_mismatch"


def register_paid_handler(kind: str, handler: PaidHandler) -> None:
    """Run ``handler(session, reference, amount_kopecks, payment_id)`` inside
    the transaction that confirms a payment of ``kind`` (registering again
    replaces it)."""
    _PAID_HANDLERS[kind] = handler


def register_amount_resolver(kind: str, resolver: AmountResolver) -> None:
    """``resolver(session, actor, reference) -> (contract_id, amount_kopecks,
    purpose)`` for ``/payments/new?kind=…&reference=…``: the amount of an
    order comes from its module, never from the browser. It raises
    :class:`NotFoundError` for a reference the actor may not see."""
    _AMOUNT_RESOLVERS[kind] = resolver


def resolve_amount(
    session: Session, *, actor: Actor, kind: str, reference: str
) -> tuple[uuid.UUID, int, str]:
    resolver = _AMOUNT_RESOLVERS.get(kind)
    if resolver is None or not reference or len(reference) > 100:
        raise NotFoundError("Оплачиваемый заказ не найден.")
    contract_id, amount, purpose = resolver(session, actor, reference)
    return contract_id, int(amount), purpose


# -- input -------------------------------------------------------------------------------


def parse_amount(raw: str | None) -> int:
    """«1 000,50», «1000.5», «1000» → kopecks; a clear message otherwise."""
    text = (raw or "").strip().replace("\u00a0", "").replace("\u202f", "")
    text = text.replace(" ", "").replace("₽", "").replace(",", ".")
    if not text or len(text) > 20 or not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        raise ValidationError(
            "Укажите сумму в рублях, например 1000 или 1000,50.",
            details={"field": "amount"},
        )
    try:
        kopecks = int(Decimal(text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits decimals only
        raise ValidationError(
            "Сумма указана неверно.", details={"field": "amount"}
        ) from None
    return check_amount(kopecks)


def check_amount(kopecks: int) -> int:
    if kopecks < 100:
        raise ValidationError(
            "Сумма платежа — не меньше 1,00 ₽.", details={"field": "amount"}
        )
    if kopecks > MAX_AMOUNT_KOPECKS:
        raise ValidationError(
            "Сумма платежа — не больше 10 000 000,00 ₽ за один раз.",
            details={"field": "amount"},
        )
    return kopecks


def clean_purpose(raw: str | None, contract: Contract) -> str:
    """The payer's note, printable characters only, or the standard purpose."""
    text = "".join(ch for ch in (raw or "") if ch.isprintable()).strip()
    if len(text) > PURPOSE_MAX:
        raise ValidationError(
            f"Назначение платежа — не длиннее {PURPOSE_MAX} символов.",
            details={"field": "purpose"},
        )
    return text or default_purpose(contract)


def default_purpose(contract: Contract) -> str:
    return f"Оплата электроэнергии по договору № {contract.number}"


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


# -- reading -----------------------------------------------------------------------------


def payable_contracts(session: Session, *, actor: Actor) -> list[Contract]:
    """The contracts ``actor`` may pay for (see ``docflow.access.may_pay_online``)."""
    stmt = (
        select(Contract)
        .where(Contract.id.in_(visible_contract_ids(actor)))
        .options(selectinload(Contract.organisation))
        .order_by(Contract.number)
    )
    return [c for c in session.scalars(stmt) if may_pay_online(session, actor, c.id)]


def _visible(actor: Actor) -> Select[OnlinePayment]:
    return select(OnlinePayment).where(
        online_payment_filter(actor, OnlinePayment.contract_id)
    )


def get_payment(
    session: Session, *, actor: Actor, payment_id: uuid.UUID
) -> OnlinePayment:
    """The payment, or 404 for one the actor may not see."""
    payment = session.scalar(
        _visible(actor)
        .where(OnlinePayment.id == payment_id)
        .options(
            selectinload(OnlinePayment.contract).selectinload(Contract.organisation)
        )
    )
    if payment is None:
        raise NotFoundError("Платёж не найден.")
    return payment


def list_payments(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID | None = None,
    status: OnlinePaymentStatus | None = None,
    contract_number: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = 200,
) -> list[OnlinePayment]:
    stmt = _visible(actor).options(
        selectinload(OnlinePayment.contract).selectinload(Contract.organisation)
    )
    if contract_id is not None:
        stmt = stmt.where(OnlinePayment.contract_id == contract_id)
    if status is not None:
        stmt = stmt.where(OnlinePayment.status == status)
    if contract_number:
        stmt = stmt.join(Contract, Contract.id == OnlinePayment.contract_id).where(
            Contract.number.contains(contract_number, autoescape=True)
        )
    if date_from is not None:
        stmt = stmt.where(OnlinePayment.created_at >= _msk_midnight(date_from))
    if date_to is not None:
        stmt = stmt.where(
            OnlinePayment.created_at < _msk_midnight(date_to + dt.timedelta(days=1))
        )
    stmt = stmt.order_by(OnlinePayment.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def _msk_midnight(day: dt.date) -> dt.datetime:
    # In UTC: SQLite keeps the UTC clock reading and compares it without the
    # offset, so a bound in another zone would be off by three hours.
    return dt.datetime.combine(day, dt.time(), tzinfo=MSK).astimezone(dt.UTC)


# -- creating and sending ----------------------------------------------------------------


def _audit(
    session: Session,
    actor: Actor | None,
    action: str,
    payment: OnlinePayment,
    **details: Any,
) -> None:
    record(
        session,
        user=actor.user if actor else None,
        action=action,
        object_type="online_payment",
        object_id=payment.id,
        details={
            "contract_id": str(payment.contract_id),
            "amount_kopecks": payment.amount_kopecks,
            "status": payment.status.value,
            **details,
        },
        request_info=actor.request_info if actor else None,
        actor_label=actor.label if actor else "эквайер (уведомление о платеже)",
    )


def create_payment(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    amount_kopecks: int,
    purpose: str,
    idempotency_key: str,
    provider: str,
    kind: str | None = None,
    reference: str | None = None,
    return_url: str | None = None,
) -> OnlinePayment:
    """Our payment row («создан»), or the one this idempotency key made already.

    :raises NotFoundError: a contract the actor cannot see.
    :raises PermissionDeniedError: the supplier's people, API keys.
    :raises ValidationError: a bad amount or key.
    """
    require_pay_online(session, actor, contract_id)
    if not KEY_PATTERN.fullmatch(idempotency_key or ""):
        raise ValidationError("Страница устарела: откройте форму оплаты заново.")
    check_amount(amount_kopecks)
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_request(existing, actor)
    payment = OnlinePayment(
        idempotency_key=idempotency_key,
        contract_id=contract_id,
        user_id=actor.user_id,
        payer_email=actor.user.email if actor.user else None,
        amount_kopecks=amount_kopecks,
        purpose=purpose[:500],
        kind=kind,
        reference=reference,
        return_url=return_url,
        provider=provider,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # The same form submitted twice at once: the other request won.
        existing = _by_key(session, idempotency_key)
        if existing is None:
            raise
        return _same_request(existing, actor)
    _audit(session, actor, "payment.created", payment, kind=kind, reference=reference)
    return payment


def _by_key(session: Session, key: str) -> OnlinePayment | None:
    return session.scalar(
        select(OnlinePayment).where(OnlinePayment.idempotency_key == key)
    )


def _same_request(existing: OnlinePayment, actor: Actor) -> OnlinePayment:
    if existing.user_id != actor.user_id:
        raise ValidationError("Страница устарела: откройте форму оплаты заново.")
    return existing


def lock_payment(session: Session, payment_id: uuid.UUID) -> OnlinePayment | None:
    """The row, locked until the transaction ends: PostgreSQL ``FOR UPDATE``;
    SQLite takes its database write lock with a no-op update first, so the
    read after it is current."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(OnlinePayment).where(OnlinePayment.id == payment_id)
        return session.scalar(
            stmt.with_for_update().execution_options(populate_existing=True)
        )
    session.execute(
        update(OnlinePayment)
        .where(OnlinePayment.id == payment_id)
        .values(updated_at=OnlinePayment.updated_at)
    )
    return session.scalar(
        select(OnlinePayment)
        .where(OnlinePayment.id == payment_id)
        .execution_options(populate_existing=True)
    )


def payment_urls(gateway: Gateway, payment: OnlinePayment) -> dict[str, str]:
    base = gateway.base_url
    return {
        "success_url": f"{base}/payments/{payment.id}?back=success",
        "fail_url": f"{base}/payments/{payment.id}?back=fail",
        "notification_url": f"{base}/payments/notify/tbank",
    }


def send_to_acquirer(
    session: Session, *, actor: Actor, payment_id: uuid.UUID, gateway: Gateway
) -> OnlinePayment:
    """``Init`` once per payment: the payment page's address, or the reason
    the acquirer gave («ошибка»). A second call returns the first answer."""
    payment = lock_payment(session, payment_id)
    if payment is None:
        raise NotFoundError("Платёж не найден.")
    if payment.status != OnlinePaymentStatus.CREATED:
        return payment
    contract = session.get(Contract, payment.contract_id)
    try:
        answer = gateway.client.init(
            amount_kopecks=payment.amount_kopecks,
            order_id=str(payment.id),
            description=_description(payment, contract),
            **payment_urls(gateway, payment),
        )
    except (TBankError, ValueError) as exc:
        log.warning("acquirer Init failed for %s: %s", payment.id, exc)
        payment.status = OnlinePaymentStatus.ERROR
        payment.error_message = str(exc)[:500]
        _audit(session, actor, "payment.init_failed", payment, error=str(exc)[:300])
        return payment
    payment.status = OnlinePaymentStatus.PENDING
    payment.provider_payment_id = answer.payment_id
    payment.provider_status = answer.status[:40]
    payment.payment_url = answer.payment_url[:1000]
    _audit(
        session,
        actor,
        "payment.sent",
        payment,
        provider=gateway.provider,
        provider_payment_id=answer.payment_id,
    )
    return payment


def _local_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


def _description(payment: OnlinePayment, contract: Contract | None) -> str:
    """What the payer reads on the bank's page: the purpose, with the contract."""
    if contract is None or contract.number in payment.purpose:
        return payment.purpose
    return f"Договор № {contract.number}: {payment.purpose}"


def start_payment(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    amount_kopecks: int,
    purpose: str,
    kind: str | None = None,
    reference: str | None = None,
    return_url: str | None = None,
    gateway: Gateway | None = None,
) -> str:
    """For other modules: create a payment and open it at the acquirer, in
    the caller's transaction; returns the payment page's address.

    :param return_url: a path on this site the payment's page links back to.
    :param gateway: the acquirer; by default the application's (this needs
        the application context, as a request or a task has).
    :raises ValidationError: the acquirer refused (the message says why), or
        online payment is off.
    """
    if gateway is None:
        gateway = open_gateway(settings(), session)
        if gateway is None:
            raise ValidationError("Оплата онлайн не подключена.")
    if return_url is not None and not _local_path(return_url):
        raise ValidationError("Адрес возврата должен быть путём на этом сайте.")
    payment = create_payment(
        session,
        actor=actor,
        contract_id=contract_id,
        amount_kopecks=amount_kopecks,
        purpose=purpose,
        idempotency_key=new_idempotency_key(),
        provider=gateway.provider,
        kind=kind,
        reference=reference,
        return_url=return_url,
    )
    payment = send_to_acquirer(
        session, actor=actor, payment_id=payment.id, gateway=gateway
    )
    if payment.payment_url is None:
        raise ValidationError(
            f"Эквайер не принял платёж: {payment.error_message or 'ошибка'}."
        )
    return payment.payment_url


# -- the acquirer's answer ---------------------------------------------------------------


def handle_notification(
    session: Session, params: Mapping[str, Any], *, gateway: Gateway, runtime: Runtime
) -> OnlinePayment:
    """Apply the acquirer's notification (see the module docstring).

    :raises PermissionDeniedError: a wrong token or another terminal (403).
    :raises NotificationRefused: an unknown order, another acquirer payment,
        a different amount (400; nothing changes, the mismatch is audited).
    """
    try:
        note = parse_notification(
            params, terminal_key=gateway.terminal_key, password=gateway.password
        )
    except NotificationError as exc:
        if str(exc) == "malformed notification":
            raise NotificationRefused("Уведомление без обязательных полей.") from None
        raise PermissionDeniedError("Подпись уведомления неверна.") from None
    try:
        order_id = uuid.UUID(note.order_id)
    except ValueError:
        raise NotificationRefused("Неизвестный заказ.") from None
    payment = lock_payment(session, order_id)
    if payment is None:
        raise NotificationRefused("Неизвестный заказ.")
    if payment.provider_payment_id and payment.provider_payment_id != note.payment_id:
        raise NotificationRefused("Уведомление о другом платеже эквайера.")
    if note.amount_kopecks != payment.amount_kopecks:
        raise AmountMismatch("Сумма в уведомлении не совпадает с суммой платежа.")
    apply_status(
        session,
        payment,
        note.status,
        note.payment_id,
        via="notification",
        runtime=runtime,
    )
    return payment


def audit_amount_mismatch(session: Session, params: Mapping[str, Any]) -> None:
    """Record a refused notification whose amount was not ours (called after
    :class:`AmountMismatch` rolled the notification's transaction back)."""
    payment = lock_payment(session, uuid.UUID(str(params["OrderId"])))
    if payment is not None:
        _audit(
            session,
            None,
            "payment.amount_mismatch",
            payment,
            notified_amount=str(params.get("Amount"))[:30],
            provider_status=str(params.get("Status"))[:40],
        )


def apply_status(
    session: Session,
    payment: OnlinePayment,
    status: str,
    provider_payment_id: str | None,
    *,
    via: str,
    runtime: Runtime,
) -> None:
    """Move ``payment`` (locked) by the acquirer's ``status``; idempotent."""
    if payment.status == OnlinePaymentStatus.PAID:
        return  # a duplicate: the money is recorded once
    if provider_payment_id and not payment.provider_payment_id:
        payment.provider_payment_id = provider_payment_id[:50]
    payment.provider_status = status[:40]
    if status in PAID_STATUSES:
        _confirm(session, payment, via=via, base_url=runtime.base_url)
    elif status in FAILED_STATUSES and payment.status != OnlinePaymentStatus.REJECTED:
        payment.status = OnlinePaymentStatus.REJECTED
        _audit(
            session, None, "payment.rejected", payment, provider_status=status, via=via
        )


def _confirm(
    session: Session, payment: OnlinePayment, *, via: str, base_url: str
) -> None:
    now = utcnow()
    contract = session.get(Contract, payment.contract_id)
    row = Payment(
        contract_id=payment.contract_id,
        paid_on=now.astimezone(MSK).date(),
        amount_kopecks=payment.amount_kopecks,
        document_number=None,
        purpose=f"Оплата онлайн: {payment.purpose}"[:500],
    )
    session.add(row)
    session.flush()
    payment.status = OnlinePaymentStatus.PAID
    payment.paid_at = now
    payment.contract_payment_id = row.id
    session.flush()  # the unique link: a concurrent confirmation fails here
    if payment.kind:
        handler = _PAID_HANDLERS.get(payment.kind)
        if handler is None:
            log.error(
                "no paid handler for kind %s (payment %s)", payment.kind, payment.id
            )
        else:
            handler(
                session,
                payment.reference or "",
                payment.amount_kopecks,
                str(payment.id),
            )
    _audit(
        session,
        None,
        "payment.paid",
        payment,
        contract_payment_id=str(row.id),
        provider_payment_id=payment.provider_payment_id,
        via=via,
    )
    _send_receipt(session, payment, contract, base_url)


RECEIPT_KIND = "payment.receipt"


def _send_receipt(
    session: Session, payment: OnlinePayment, contract: Contract | None, base_url: str
) -> None:
    """The receipt to the payer (in the cabinet, and by e-mail through the outbox)."""
    payer = session.get(User, payment.user_id) if payment.user_id else None
    if payer is None or contract is None:
        return
    rub, kop = divmod(payment.amount_kopecks, 100)
    amount = f"{rub:,}".replace(",", " ") + f",{kop:02d} ₽"
    paid_at = (payment.paid_at or utcnow()).astimezone(MSK)
    context = {
        "payment_id": str(payment.id),
        "provider_payment_id": payment.provider_payment_id,
        "contract_number": contract.number,
        "amount": amount,
        "amount_kopecks": payment.amount_kopecks,
        "purpose": payment.purpose,
        "paid_at": paid_at.strftime("%d.%m.%Y %H:%M"),
        "url": f"{base_url}/payments/{payment.id}",
    }
    publish(
        session,
        kind=RECEIPT_KIND,
        users=[payer],
        context=context,
        title=f"Платёж {amount} по договору № {contract.number} оплачен",
        body=(
            f"Оплата онлайн {paid_at:%d.%m.%Y %H:%M} (МСК), платёж эквайера "
            f"№ {payment.provider_payment_id or '—'}. {payment.purpose}"
        ),
        link=f"/payments/{payment.id}",
        organisation_id=contract.organisation_id,
    )


def refresh_state(
    session: Session, *, payment_id: uuid.UUID, gateway: Gateway, runtime: Runtime
) -> OnlinePayment | None:
    """Ask ``GetState`` for a payment still pending (the payer came back before
    the notification); the answer is applied like a notification, amount
    checked. Returns the payment, or None when it is not there."""
    payment = lock_payment(session, payment_id)
    if payment is None:
        return None
    if payment.status != OnlinePaymentStatus.PENDING or not payment.provider_payment_id:
        return payment
    if payment.provider != gateway.provider:
        return payment
    try:
        state = gateway.client.get_state(payment.provider_payment_id)
    except TBankError as exc:
        log.info("GetState for %s failed: %s", payment.id, exc)
        return payment
    if state.order_id not in (None, str(payment.id)):
        return payment
    if (
        state.amount_kopecks is not None
        and state.amount_kopecks != payment.amount_kopecks
    ):
        return payment
    apply_status(
        session,
        payment,
        state.status,
        state.payment_id,
        via="get_state",
        runtime=runtime,
    )
    return payment
