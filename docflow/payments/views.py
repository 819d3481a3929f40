"""«Оплата онлайн»: the payment form, the return page, the payer's list, the
supplier's registry, and the acquirer's notification endpoint.

A contract the user cannot see answers 404, as everywhere; the supplier's
people see every payment (``/payments/all``) but do not pay (403).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from docflow.access import (
    Actor,
    is_staff,
    may_pay_online,
    require_pay_online,
    sees_all_online_payments,
)
from docflow.access.policy import PAY_REFUSED
from docflow.access.web import staff_required
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.contracts.models import Contract
from docflow.dashboard.widgets import register_widget
from docflow.db import transaction
from docflow.errors import (
    DocflowError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.extensions import N_, csrf
from docflow.inputs import json_route
from docflow.payments import services as svc
from docflow.payments.forms import PaymentForm
from docflow.payments.gateway import Gateway, active_provider, open_gateway
from docflow.payments.models import STATUS_TITLES, OnlinePaymentStatus

log = logging.getLogger(__name__)

bp = Blueprint(
    "payments", __name__, url_prefix="/payments", template_folder="templates"
)

OFF_MESSAGE = "Оплата онлайн не подключена: оплатите по реквизитам из счёта."


def _gateway() -> Gateway | None:
    return open_gateway(settings(), db_session())


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw and len(raw) <= 40 else None
    except ValueError:
        return None


def _text(raw: str | None, limit: int) -> str:
    return "".join(ch for ch in (raw or "") if ch.isprintable())[:limit]


@bp.app_context_processor
def _payment_globals() -> dict[str, Any]:
    def online_payment_link(contract: Contract) -> str | None:
        """«Оплатить онлайн» for the contract, when the cabinet takes payments
        and the current user may pay for it."""
        if not current_user.is_authenticated or active_provider(settings()) is None:
            return None
        if not may_pay_online(db_session(), current_actor(), contract.id):
            return None
        return url_for("payments.new", contract=contract.id)

    return {"online_payment_link": online_payment_link}


@bp.get("/")
@login_required
def index() -> Any:
    s = db_session()
    actor = current_actor()
    contract_id = _uuid(request.args.get("contract"))
    return render_template(
        "payments/index.html",
        payments=svc.list_payments(s, actor=actor, contract_id=contract_id),
        contracts=svc.payable_contracts(s, actor=actor),
        enabled=active_provider(settings()) is not None,
        sees_all=sees_all_online_payments(actor),
    )


def _fixed_order(s: Any, actor: Any) -> tuple[str, str, uuid.UUID, int, str] | None:
    """(kind, reference, contract, amount, purpose) of ``?kind=&reference=``."""
    kind = _text(request.values.get("kind"), 40)
    if not kind:
        return None
    reference = _text(request.values.get("reference"), 100)
    contract_id, amount, purpose = svc.resolve_amount(
        s, actor=actor, kind=kind, reference=reference
    )
    return kind, reference, contract_id, amount, purpose


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    s = db_session()
    actor = current_actor()
    gateway = _gateway()
    if gateway is None:
        raise NotFoundError(OFF_MESSAGE)
    order = _fixed_order(s, actor)
    wanted = _uuid(request.values.get("contract"))
    if order is not None:
        wanted = order[2]
    if wanted is not None:
        require_pay_online(s, actor, wanted)  # 404 unseen, 403 the supplier
    contracts = svc.payable_contracts(s, actor=actor)
    if order is not None:
        contracts = [c for c in contracts if c.id == order[2]]
    if not contracts:
        if sees_all_online_payments(actor):
            raise PermissionDeniedError(PAY_REFUSED)
        raise NotFoundError("Нет привязанных договоров, по которым можно оплатить.")
    form = PaymentForm()
    form.contract.choices = [
        (str(c.id), f"№ {c.number} — {c.organisation.name}") for c in contracts
    ]
    if request.method == "GET":
        form.idempotency_key.data = svc.new_idempotency_key()
        form.contract.data = str(wanted) if wanted else str(contracts[0].id)
        if order is not None:
            form.contract.data = str(order[2])
    else:
        try:
            return _submit(s, actor, gateway, form, contracts, order)
        except ValidationError as exc:
            field = getattr(form, str(exc.details.get("field", "")), None)
            if field is not None:
                field.errors = [exc.message]
            else:
                flash(exc.message, "error")
    chosen = next(
        (c for c in contracts if str(c.id) == form.contract.data), contracts[0]
    )
    return render_template(
        "payments/new.html",
        form=form,
        contracts=contracts,
        contract=chosen,
        order=order,
        gateway=gateway,
        default_purpose=svc.default_purpose(chosen),
    ), (200 if not form.errors and request.method == "GET" else 422)


def _submit(
    s: Any,
    actor: Any,
    gateway: Gateway,
    form: PaymentForm,
    contracts: list[Contract],
    order: tuple[str, str, uuid.UUID, int, str] | None,
) -> Any:
    if not form.validate_on_submit():
        raise ValidationError("Страница устарела: откройте форму оплаты заново.")
    chosen = _uuid(form.contract.data)
    contract = next((c for c in contracts if c.id == chosen), None)
    if contract is None:
        raise ValidationError(
            "Выберите договор из списка.", details={"field": "contract"}
        )
    if order is not None:
        kind, reference, _cid, amount, purpose = order
    else:
        kind = reference = None
        amount = svc.parse_amount(form.amount.data)
        purpose = svc.clean_purpose(form.purpose.data, contract)
    key = _text(form.idempotency_key.data, 64)
    with transaction(s):  # our row first: it exists whatever the acquirer does
        payment = svc.create_payment(
            s,
            actor=actor,
            contract_id=contract.id,
            amount_kopecks=amount,
            purpose=purpose,
            idempotency_key=key,
            provider=gateway.provider,
            kind=kind,
            reference=reference,
        )
        payment_id = payment.id
    with transaction(s):
        payment = svc.send_to_acquirer(
            s, actor=actor, payment_id=payment_id, gateway=gateway
        )
    if payment.payment_url and payment.status == OnlinePaymentStatus.PENDING:
        return redirect(payment.payment_url, code=303)
    return redirect(url_for("payments.show", payment_id=payment_id), code=303)


@bp.get("/<uuid:payment_id>")
@login_required
def show(payment_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    payment = svc.get_payment(s, actor=actor, payment_id=payment_id)
    gateway = _gateway()
    if payment.status == OnlinePaymentStatus.PENDING and gateway is not None:
        with transaction(s):
            svc.refresh_state(
                s, payment_id=payment.id, gateway=gateway, runtime=current_runtime()
            )
        payment = svc.get_payment(s, actor=actor, payment_id=payment_id)
    g.no_store = True
    return render_template(
        "payments/show.html",
        payment=payment,
        back=request.args.get("back"),
        may_pay=may_pay_online(s, actor, payment.contract_id),
    )


@bp.get("/all")
@staff_required
def all_payments() -> Any:
    s = db_session()
    raw_status = request.args.get("status") or ""
    status = next((st for st in OnlinePaymentStatus if st.value == raw_status), None)
    number = _text(request.args.get("contract"), 50).strip()
    date_from = _date(request.args.get("from"))
    date_to = _date(request.args.get("to"))
    items = svc.list_payments(
        s,
        actor=current_actor(),
        status=status,
        contract_number=number or None,
        date_from=date_from,
        date_to=date_to,
    )
    return render_template(
        "payments/all.html",
        payments=items,
        statuses=STATUS_TITLES,
        status=status,
        number=number,
        date_from=date_from,
        date_to=date_to,
        total=sum(
            p.amount_kopecks for p in items if p.status == OnlinePaymentStatus.PAID
        ),
    )


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


# -- the acquirer's notification ---------------------------------------------------------


def accept_notification(body: Any) -> None:
    """Apply a notification in a transaction of its own (the endpoint and the
    fake acquirer both come here). Raises a :class:`DocflowError` to refuse."""
    s = db_session()
    gateway = _gateway()
    if gateway is None:
        raise NotFoundError("Оплата онлайн не подключена.")
    if not isinstance(body, dict):
        raise svc.NotificationRefused("Ожидается JSON-объект уведомления.")
    try:
        with transaction(s):
            svc.handle_notification(s, body, gateway=gateway, runtime=current_runtime())
    except svc.AmountMismatch:
        # The refusal is audited: that entry is kept.
        with transaction(s):
            svc.audit_amount_mismatch(s, body)
        raise


@bp.post("/notify/tbank")
@csrf.exempt
@json_route
def notify_tbank() -> Any:
    """T-Bank's notification: plain ``OK`` when accepted, an error otherwise."""
    try:
        accept_notification(request.get_json(silent=True))
    except DocflowError as exc:
        log.warning("payment notification refused: %s", exc.message)
        raise
    return Response("OK", mimetype="text/plain")


# -- the main page's widget --------------------------------------------------------------


def register_widgets() -> None:
    def data(s: Any, user: Any) -> dict[str, Any]:
        actor = Actor.for_user(user)
        return {
            "contracts": svc.payable_contracts(s, actor=actor)[:5],
            "payments": svc.list_payments(s, actor=actor, limit=3),
            "enabled": active_provider(settings()) is not None,
        }

    register_widget(
        "payments",
        N_("Оплата"),
        "payments/_widget.html",
        data,
        order=25,
        visible_for=lambda user: not is_staff(user),
    )


@bp.record_once
def _on_register(_state: object) -> None:
    register_widgets()
