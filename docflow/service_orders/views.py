"""«Услуги»: the catalogue, the order wizard, the orders' history and card for
the customer; all orders, payment and completion marks, and the catalogue's
administration for the supplier.

Registering the blueprint also registers the module with the core: the hook the
document flow calls after a signature of an offer, the payment handler of the
payments module (when it is installed) and the main page's widget.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
    contract_rights,
    is_staff,
    may_edit_service_catalogue,
    may_process_service_orders,
    require_service_order,
)
from docflow.access.web import admin_required, staff_required
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.contracts.sections import ContractSection, register_section
from docflow.dashboard.widgets import register_widget
from docflow.db import enqueue_after_commit, transaction
from docflow.documents.models import DocStatus, DocType, Document, Party, RouteStep
from docflow.documents.services import on_signature, status_label
from docflow.documents.tasks import countersign_document
from docflow.errors import DocflowError, NotFoundError, ValidationError
from docflow.extensions import N_
from docflow.payments import services as payments
from docflow.runtime import Runtime
from docflow.service_orders import fields as fieldspec
from docflow.service_orders import services as svc
from docflow.service_orders.models import ORDER_STATUS_TITLES, OrderStatus, vat_of

log = logging.getLogger(__name__)

bp = Blueprint(
    "service_orders", __name__, url_prefix="/services", template_folder="templates"
)


class CsrfForm(FlaskForm):
    """Only the CSRF token: the wizard's fields are the service's own."""


def _check_csrf() -> None:
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")


@bp.app_template_filter("vat_of")
def _vat_of(kopecks: int, rate: int) -> int:
    return vat_of(kopecks, rate)


@bp.app_template_global("order_field_value")
def _order_field_value(item: dict[str, Any]) -> str:
    return fieldspec.display_value(item)


def _payment_url(order_id: uuid.UUID) -> str | None:
    """«Оплатить онлайн»: the payments module's page, when it is installed."""
    if "payments.new" not in current_app.view_functions:
        return None
    try:
        return url_for("payments.new", kind=svc.PAYMENT_KIND, reference=str(order_id))
    except Exception:  # noqa: BLE001 - a route of another module with other arguments
        return None


def _uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


def _filter() -> svc.OrderFilter:
    raw = request.args.get("status", "")
    status = OrderStatus(raw) if raw in OrderStatus._value2member_map_ else None
    return svc.OrderFilter(
        contract_id=_uuid_arg("contract"),
        status=status,
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
    )


# -- the customer's pages ----------------------------------------------------------------


@bp.get("/")
@login_required
def catalogue() -> Any:
    s = db_session()
    actor = current_actor()
    return render_template(
        "service_orders/catalogue.html",
        services=svc.list_services(s),
        contracts=svc.contracts_for_ordering(s, actor=actor),
        may_process=may_process_service_orders(actor),
        may_edit=may_edit_service_catalogue(actor),
    )


def _wizard_contract(contracts: list[Any]) -> Any:
    wanted = request.values.get("contract", "").strip()
    if wanted:
        for c in contracts:
            if str(c.id) == wanted:
                return c
        return None
    return contracts[0] if len(contracts) == 1 else None


@bp.route("/<uuid:service_id>/order", methods=["GET", "POST"])
@login_required
def order(service_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    service = svc.get_service(s, service_id)
    contracts = svc.contracts_for_ordering(s, actor=actor)
    contract = _wizard_contract(contracts)
    if request.values.get("contract") and contract is None:
        # Another organisation's contract, or one without the right: the same
        # answer as for a contract that does not exist (or 403 when seen).
        try:
            wanted = uuid.UUID(request.values["contract"].strip())
        except ValueError:
            raise NotFoundError("Договор не найден.") from None

        require_service_order(s, actor, wanted, ordering=True)
        raise NotFoundError("Договор не найден.")
    errors: dict[str, str] = {}
    status = 200
    form: dict[str, Any] = {
        "quantity": "1",
        "comment": "",
        "contact_name": current_user.full_name
        if hasattr(current_user, "full_name")
        else "",
        "contact_phone": getattr(current_user, "phone", "") or "",
        "token": uuid.uuid4().hex,
    }
    if request.method == "POST" and contract is not None:
        _check_csrf()
        form = {
            k: request.form.get(k, "")
            for k in ("quantity", "comment", "contact_name", "contact_phone", "token")
        }
        form.update(
            {f["key"]: request.form.get(f["key"], "") for f in service.fields or []}
        )
        data = svc.OrderInput(
            values={
                f["key"]: request.form.get(f["key"], "") for f in service.fields or []
            },
            quantity=form["quantity"],
            comment=form["comment"],
            contact_name=form["contact_name"],
            contact_phone=form["contact_phone"],
            submit_token=form["token"][:64] or None,
        )
        try:
            with transaction(s):
                placed, created = svc.place_order(
                    s,
                    actor=actor,
                    runtime=current_runtime(),
                    service_id=service.id,
                    contract_id=contract.id,
                    data=data,
                    supplier_name=settings().supplier.name,
                )
                order_id, number = placed.id, placed.number
        except svc.OrderFormError as exc:
            errors = dict(exc.details.get("fields", {}))
            flash(exc.message, "error")
            status = 422
        else:
            if created:
                flash(
                    gettext(
                        "Номер заказа – %(number)s. С Вами свяжутся для подтверждения "
                        "и уточнения заказа! Подпишите оферту, чтобы мы выставили счёт.",
                        number=number,
                    ),
                    "success",
                )
            else:
                flash(
                    gettext("Заказ № %(number)s уже оформлен.", number=number), "info"
                )
            return redirect(url_for("service_orders.order_card", order_id=order_id))
    return render_template(
        "service_orders/wizard.html",
        service=service,
        contracts=contracts,
        contract=contract,
        form=form,
        errors=errors,
        csrf_form=CsrfForm(),
    ), status


@bp.get("/orders")
@login_required
def history() -> Any:
    s = db_session()
    actor = current_actor()
    flt = _filter()
    orders = svc.list_orders(s, actor=actor, flt=flt, limit=200)
    contracts = (
        svc.visible_contracts(s, actor=actor)
        if not may_process_service_orders(actor)
        else []
    )
    return render_template(
        "service_orders/history.html",
        orders=orders,
        flt=flt,
        contracts=contracts,
        statuses=ORDER_STATUS_TITLES,
        staff_view=False,
    )


@bp.get("/orders/<uuid:order_id>")
@login_required
def order_card(order_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    found = svc.get_order(s, actor=actor, order_id=order_id)

    documents = svc.order_documents(s, found)
    may_process = may_process_service_orders(actor)
    offer = next((d for d in documents if d.id == found.offer_document_id), None)
    return render_template(
        "service_orders/card.html",
        order=found,
        documents=documents,
        status_label=status_label,
        offer=offer,
        may_cancel=svc.may_cancel(s, actor, found),
        may_process=may_process,
        rights=contract_rights(s, actor, found.contract_id),
        payment_url=(
            _payment_url(found.id)
            if found.status == OrderStatus.AWAITING_PAYMENT and not may_process
            else None
        ),
        csrf_form=CsrfForm(),
    )


def _transition(order_id: uuid.UUID, what: str) -> Any:
    s = db_session()
    actor = current_actor()
    _check_csrf()
    messages = {
        "cancel": gettext("Заказ отменён."),
        "paid": gettext("Оплата отмечена."),
        "done": gettext("Заказ отмечен выполненным."),
        "invoice": gettext("Счёт выставлен."),
    }
    try:
        with transaction(s):
            if what == "cancel":
                svc.cancel_order(
                    s, actor=actor, order_id=order_id, runtime=current_runtime()
                )
            elif what == "paid":
                svc.mark_paid(
                    s,
                    actor=actor,
                    order_id=order_id,
                    reference=request.form.get("reference", ""),
                    runtime=current_runtime(),
                )
            elif what == "done":
                svc.mark_done(
                    s, actor=actor, order_id=order_id, runtime=current_runtime()
                )
            else:
                svc.retry_invoice(
                    s,
                    actor=actor,
                    order_id=order_id,
                    runtime=current_runtime(),
                    supplier_name=settings().supplier.name,
                )
    except NotFoundError:
        raise
    except DocflowError as exc:
        if exc.status == 403:
            raise
        flash(exc.message, "error")
    else:
        flash(messages[what], "success")
    return redirect(url_for("service_orders.order_card", order_id=order_id))


@bp.post("/orders/<uuid:order_id>/cancel")
@login_required
def cancel(order_id: uuid.UUID) -> Any:
    return _transition(order_id, "cancel")


@bp.post("/orders/<uuid:order_id>/paid")
@staff_required
def mark_paid(order_id: uuid.UUID) -> Any:
    return _transition(order_id, "paid")


@bp.post("/orders/<uuid:order_id>/done")
@staff_required
def mark_done(order_id: uuid.UUID) -> Any:
    return _transition(order_id, "done")


@bp.post("/orders/<uuid:order_id>/invoice")
@staff_required
def retry_invoice(order_id: uuid.UUID) -> Any:
    return _transition(order_id, "invoice")


# -- the supplier's pages ----------------------------------------------------------------


@bp.get("/admin/orders")
@staff_required
def staff_orders() -> Any:
    s = db_session()
    flt = _filter()
    orders = svc.list_orders(s, actor=current_actor(), flt=flt, limit=300)
    return render_template(
        "service_orders/history.html",
        orders=orders,
        flt=flt,
        contracts=[],
        statuses=ORDER_STATUS_TITLES,
        staff_view=True,
    )


@bp.get("/admin/catalogue")
@staff_required
def admin_catalogue() -> Any:
    return render_template(
        "service_orders/admin_catalogue.html",
        services=svc.list_services(db_session(), active_only=False),
        may_edit=may_edit_service_catalogue(current_actor()),
    )


@bp.route("/admin/catalogue/new", methods=["GET", "POST"])
@admin_required
def admin_new() -> Any:
    return _edit(None)


@bp.route("/admin/catalogue/<uuid:service_id>", methods=["GET", "POST"])
@admin_required
def admin_edit(service_id: uuid.UUID) -> Any:
    return _edit(service_id)


def _edit(service_id: uuid.UUID | None) -> Any:
    s = db_session()
    service = svc.get_service(s, service_id, active_only=False) if service_id else None
    form = {
        "name": service.name if service else "",
        "description": service.description if service else "",
        "price": (
            f"{service.price_kopecks // 100},{service.price_kopecks % 100:02d}"
            if service
            else ""
        ),
        "vat_rate": str(service.vat_rate) if service else "20",
        "unit": service.unit if service else "услуга",
        "fields": fieldspec.spec_text(service.fields or []) if service else "",
        "is_active": service.is_active if service else True,
        "position": str(service.position) if service else "0",
    }
    status = 200
    if request.method == "POST":
        _check_csrf()
        form = {
            k: request.form.get(k, "")
            for k in (
                "name",
                "description",
                "price",
                "vat_rate",
                "unit",
                "fields",
                "position",
            )
        }
        form["is_active"] = request.form.get("is_active") == "on"
        try:
            with transaction(s):
                svc.save_service(
                    s,
                    actor=current_actor(),
                    data=svc.ServiceInput(**form),
                    service_id=service_id,
                )
        except ValidationError as exc:
            flash(exc.message, "error")
            status = 422
        else:
            flash(gettext("Услуга сохранена."), "success")
            return redirect(url_for("service_orders.admin_catalogue"))
    return render_template(
        "service_orders/admin_edit.html",
        service=service,
        form=form,
        field_types=fieldspec.FIELD_TYPES,
        csrf_form=CsrfForm(),
    ), status


# -- registration with the core ------------------------------------------------------------


def _supplier_key_configured() -> bool:
    st = settings()
    return bool(
        st.supplier.signer_p12 or st.supplier.signer_key or st.supplier.pkcs11_lib
    )


def _countersign_later(session: Any, document_id: uuid.UUID) -> None:
    """The supplier's key signs the offer once the customer's signature is
    committed (the flow's Celery task: eager in the embedded mode)."""

    def send() -> None:
        try:
            countersign_document.delay(str(document_id))
        except Exception:  # noqa: BLE001 - the clerk countersigns from the document card
            log.exception("could not queue the countersignature of %s", document_id)

    enqueue_after_commit(session, send)


def offer_signed(
    session: Session, doc: Document, step: RouteStep, runtime: Runtime
) -> None:
    """The document core's hook after a signature of an offer (or an invoice)."""
    current = doc.current_step
    if (
        doc.status == DocStatus.PARTLY_SIGNED
        and current is not None
        and current.party == Party.SUPPLIER
        and _supplier_key_configured()
        and svc.order_of_offer(session, doc.id) is not None
    ):
        _countersign_later(session, doc.id)
        return

    try:
        order = svc.on_offer_signature(
            session,
            doc,
            runtime=runtime,
            supplier_name=settings().supplier.name,
        )
    except SQLAlchemyError:
        raise  # the transaction is broken: nothing to keep
    except Exception:  # noqa: BLE001 - the signature stays; a clerk issues the invoice
        # The PDF or the blob store failed before anything was written: the
        # order stays «оформлен» and its card offers the clerk «Выставить счёт».
        log.exception("the invoice of the offer %s was not issued", doc.id)
        return
    if (
        order is not None
        and order.invoice_document_id is not None
        and _supplier_key_configured()
    ):
        _countersign_later(session, order.invoice_document_id)


def _register_payment_handler() -> None:
    payments.register_paid_handler(svc.PAYMENT_KIND, svc.on_payment)
    payments.register_amount_resolver(svc.PAYMENT_KIND, svc.payment_amount)


def _register_widget() -> None:
    def data(session: Any, user: Any) -> dict[str, Any]:
        actor = Actor.for_user(user)
        return {
            "services": svc.list_services(session)[:4],
            "orders": svc.list_orders(session, actor=actor, limit=3),
        }

    register_widget(
        "services",
        N_("Услуги"),
        "service_orders/_widget.html",
        data,
        order=45,
        visible_for=lambda user: not is_staff(user),
    )


@bp.record_once
def _on_register(_state: object) -> None:
    on_signature(DocType.SERVICE_OFFER, offer_signed)
    _register_payment_handler()
    _register_widget()
    register_section(
        ContractSection(
            key="orders",
            title=N_("Заказанные услуги"),
            template="service_orders/_contract_orders.html",
            rows=partial(svc.list_orders_for_contract, limit=10),
            order=20,
        )
    )
