"""Contract pages: the user's contracts, binding, the contract card, access
management, invitations; and the supplier's registry (staff) with its loaders.

A contract the user has no access to answers 404 on every route — the same as
a contract that does not exist — so nobody learns which contracts exist.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from docflow import spreadsheets
from docflow.access import is_staff
from docflow.access.web import admin_required, current_is_staff, staff_required
from docflow.accounts.services import PASSWORD_RULE
from docflow.context import current_runtime, db_session, request_info, settings
from docflow.contracts import (
    access_requests,
    binding,
    common,
    details,
    importer,
    invitations,
    lookup,
    rights,
)
from docflow.contracts import registry as supplier_registry
from docflow.contracts.forms import (
    BindForm,
    ConfirmForm,
    ContactsForm,
    ImportForm,
    InvitationRegisterForm,
    InviteForm,
    RestrictionForm,
    RightsForm,
)
from docflow.contracts.models import RIGHTS, Contract
from docflow.contracts.sections import (
    ContractSection,
    fill_sections,
    register_section,
)
from docflow.dashboard.widgets import register_widget
from docflow.db import transaction
from docflow.documents.models import Document
from docflow.documents.services import list_documents_for_contract, status_label
from docflow.errors import DocflowError, ValidationError
from docflow.extensions import N_, limiter

bp = Blueprint(
    "contracts", __name__, url_prefix="/contracts", template_folder="templates"
)
admin_bp = Blueprint("contracts_admin", __name__, url_prefix="/supplier/contracts")

BIND_LIMIT_PER_USER = "5 per 15 minutes"
BIND_LIMIT_PER_ADDRESS = "30 per hour"


def _user() -> Any:
    return current_user._get_current_object()


def _form_error(form: Any, exc: DocflowError) -> None:
    field = getattr(form, str(exc.details.get("field", "")), None)
    if field is not None:
        field.errors = [exc.message]
    else:
        flash(exc.message, "error")


def _document_url(document: Document) -> str:
    return url_for("documents.card", document_id=document.id)


def payment_link(contract: Contract) -> str | None:
    """The online payment page for the contract, when a provider is configured."""
    base = settings().payments.url
    if not base:
        return None
    params = urlencode({"contract": contract.number, "inn": contract.organisation.inn})
    return f"{base}{'&' if '?' in base else '?'}{params}"


@bp.app_template_filter("money")
def _money(kopecks: int | None) -> str:
    """«125 000,50 ₽»: thin spaces between thousands, a comma before kopecks."""
    if kopecks is None:
        return "—"
    sign = "−" if kopecks < 0 else ""
    rub, kop = divmod(abs(int(kopecks)), 100)
    return f"{sign}{rub:,}".replace(",", "\u202f") + f",{kop:02d}\u00a0₽"


@bp.app_template_filter("rudate")
def _rudate(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


@bp.app_context_processor
def _contract_globals() -> dict[str, Any]:
    def profile_contracts() -> list[Any]:
        if not current_user.is_authenticated or current_is_staff():
            return []
        return lookup.list_user_contracts(db_session(), user=current_user)

    return {"profile_contracts": profile_contracts, "right_labels": common.right_labels}


# -- the user's contracts ------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> Any:
    if current_is_staff():
        return redirect(url_for("contracts_admin.registry"))
    accesses = lookup.list_user_contracts(db_session(), user=current_user)
    return render_template("contracts/index.html", accesses=accesses)


def _bind_failed(_response: Response) -> bool:
    # Only wrong combinations count against the limit, not successful binds.
    return bool(g.get("bind_failed"))


def _bind_key() -> str:
    return f"bind-user:{current_user.get_id()}"


@bp.route("/bind", methods=["GET", "POST"])
@login_required
@limiter.limit(BIND_LIMIT_PER_ADDRESS, methods=["POST"], deduct_when=_bind_failed)
@limiter.limit(
    BIND_LIMIT_PER_USER, key_func=_bind_key, methods=["POST"], deduct_when=_bind_failed
)
def bind() -> Any:
    if current_is_staff():
        abort(403)
    form = BindForm()
    status = 200
    if form.validate_on_submit():
        s = db_session()
        more = bool(form.more.data)
        try:
            with transaction(s):
                result = binding.bind_contract(
                    s,
                    user=_user(),
                    email=form.email.data or "",
                    inn=form.inn.data or "",
                    number=form.number.data or "",
                    request_info=request_info(),
                )
        except ValidationError as exc:
            g.bind_failed = True
            flash(exc.message, "error")
            status = 422
        else:
            number = result.contract.number
            if result.outcome == binding.BindOutcome.BOUND:
                flash(
                    f"Договор № {number} привязан. Вы — его администратор: вы можете "
                    "предоставлять доступ к нему другим пользователям.",
                    "success",
                )
            elif result.outcome == binding.BindOutcome.ALREADY_BOUND:
                flash(
                    f"Договор № {number} уже привязан к вашей учётной записи.", "info"
                )
            else:
                flash(
                    f"Договор № {number} уже привязан администратором организации. "
                    "Мы отправили ему ваш запрос на доступ; когда администратор его "
                    "одобрит, договор появится в списке. Вы также можете попросить "
                    "администратора договора пригласить вас.",
                    "info",
                )
            if not more:
                return redirect(url_for("contracts.index"))
            # «Привязать ещё один договор»: the same organisation, the next number.
            form.number.data = ""
    elif request.method == "POST":
        status = 422
    return render_template("contracts/bind.html", form=form), status


def _contract(contract_id: uuid.UUID, right: str = "can_view") -> tuple[Any, Any]:
    return lookup.get_contract_for(
        db_session(), contract_id=contract_id, user=current_user, right=right
    )


@bp.get("/<uuid:contract_id>")
@login_required
def card(contract_id: uuid.UUID) -> Any:
    s = db_session()
    contract, access = _contract(contract_id)
    # Each registered section's rows go to the template under its key as well.
    sections = fill_sections(s, contract_id=contract.id, user=current_user)
    today = dt.date.today()
    return render_template(
        "contracts/card.html",
        **{filled.section.key: filled.rows for filled in sections},
        contract=contract,
        access=access,
        document_url=_document_url,
        document_status=status_label,
        contacts=details.contacts_of(s, contract.id),
        payments=details.list_payments(s, contract_id=contract.id, limit=5),
        paid_this_year=details.payments_total(
            s, contract_id=contract.id, year=today.year
        ),
        restrictions=details.list_restrictions(
            s, contract_id=contract.id, from_date=today
        )[:3],
        payment_url=payment_link(contract),
        sections=sections,
        year=today.year,
    )


@bp.get("/<uuid:contract_id>/payments")
@login_required
def payments(contract_id: uuid.UUID) -> Any:
    contract, access = _contract(contract_id)
    items = details.list_payments(db_session(), contract_id=contract.id)
    return render_template(
        "contracts/payments.html",
        contract=contract,
        access=access,
        payments=items,
        payment_url=payment_link(contract),
    )


@bp.get("/<uuid:contract_id>/schedule")
@login_required
def schedule(contract_id: uuid.UUID) -> Any:
    contract, access = _contract(contract_id)
    entries = details.list_restrictions(db_session(), contract_id=contract.id)
    return render_template(
        "contracts/schedule.html",
        contract=contract,
        access=access,
        entries=entries,
        today=dt.date.today(),
    )


# -- access management ------------------------------------------------------------------


def _render_access(
    contract: Any, access: Any, invite_form: InviteForm | None = None, status: int = 200
) -> Any:
    overview = rights.access_overview(db_session(), contract=contract)
    forms = {}
    for a in overview.accesses:
        f = RightsForm(prefix=f"a{a.id.hex[:8]}", formdata=None, obj=a)
        forms[a.id] = f
    return render_template(
        "contracts/access.html",
        contract=contract,
        access=access,
        overview=overview,
        invite_form=invite_form or InviteForm(formdata=None),
        rights_forms=forms,
        confirm=ConfirmForm(),
        rights=RIGHTS,
    ), status


@bp.get("/<uuid:contract_id>/access")
@login_required
def access_page(contract_id: uuid.UUID) -> Any:
    contract, access = _contract(contract_id, "can_manage")
    return _render_access(contract, access)


@bp.post("/<uuid:contract_id>/access/invite")
@login_required
@limiter.limit("30 per hour", key_func=lambda: f"invite:{current_user.get_id()}")
def invite(contract_id: uuid.UUID) -> Any:
    contract, access = _contract(contract_id, "can_manage")
    form = InviteForm()
    if not form.validate_on_submit():
        return _render_access(contract, access, form, 422)
    s = db_session()
    try:
        with transaction(s):
            inv = invitations.invite(
                s,
                contract=contract,
                user=_user(),
                email=form.email.data or "",
                rights=form.rights(),
                runtime=current_runtime(),
                request_info=request_info(),
            )
    except ValidationError as exc:
        _form_error(form, exc)
        return _render_access(contract, access, form, 422)
    flash(
        f"Приглашение отправлено на {inv.email}. Ссылка действует 72 часа.", "success"
    )
    return redirect(url_for("contracts.access_page", contract_id=contract.id))


@bp.post("/<uuid:contract_id>/access/<uuid:access_id>")
@login_required
def update_access(contract_id: uuid.UUID, access_id: uuid.UUID) -> Any:
    contract, _access = _contract(contract_id, "can_manage")
    form = RightsForm(prefix=request.form.get("prefix", ""))
    if not form.validate_on_submit():
        abort(400)
    s = db_session()
    try:
        with transaction(s):
            changed = rights.set_rights(
                s,
                contract=contract,
                user=_user(),
                access_id=access_id,
                rights=form.rights(),
                runtime=current_runtime(),
                request_info=request_info(),
            )
    except ValidationError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Права пользователя {changed.user.full_name} сохранены.", "success")
    return _after_access_change(contract.id)


def _after_access_change(contract_id: uuid.UUID) -> Any:
    # The administrator may have taken their own right to manage away.
    try:
        _contract(contract_id, "can_manage")
    except DocflowError:
        return redirect(url_for("contracts.index"))
    return redirect(url_for("contracts.access_page", contract_id=contract_id))


@bp.post("/<uuid:contract_id>/access/<uuid:access_id>/revoke")
@login_required
def revoke_access(contract_id: uuid.UUID, access_id: uuid.UUID) -> Any:
    contract, _access = _contract(contract_id, "can_manage")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    try:
        with transaction(s):
            rights.revoke_access(
                s,
                contract=contract,
                user=_user(),
                access_id=access_id,
                runtime=current_runtime(),
                request_info=request_info(),
            )
    except ValidationError as exc:
        flash(exc.message, "error")
    else:
        flash("Доступ пользователя к договору отозван.", "success")
    return _after_access_change(contract.id)


@bp.post("/<uuid:contract_id>/invitations/<uuid:invitation_id>/cancel")
@login_required
def cancel_invitation(contract_id: uuid.UUID, invitation_id: uuid.UUID) -> Any:
    contract, _access = _contract(contract_id, "can_manage")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        invitations.cancel_invitation(
            s,
            contract=contract,
            user=_user(),
            invitation_id=invitation_id,
            request_info=request_info(),
        )
    flash("Приглашение отменено: ссылка из письма больше не действует.", "info")
    return redirect(url_for("contracts.access_page", contract_id=contract.id))


@bp.post(
    "/<uuid:contract_id>/requests/<uuid:request_id>/<any(approve, decline):decision>"
)
@login_required
def decide_request(contract_id: uuid.UUID, request_id: uuid.UUID, decision: str) -> Any:
    contract, _access = _contract(contract_id, "can_manage")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        access_requests.decide_request(
            s,
            contract=contract,
            user=_user(),
            request_id=request_id,
            approve=decision == "approve",
            runtime=current_runtime(),
            request_info=request_info(),
        )
    flash(
        "Доступ на просмотр предоставлен: при необходимости расширьте права."
        if decision == "approve"
        else "Запрос доступа отклонён.",
        "info",
    )
    return redirect(url_for("contracts.access_page", contract_id=contract.id))


# -- unbinding -------------------------------------------------------------------------


@bp.route("/<uuid:contract_id>/unbind", methods=["GET", "POST"])
@login_required
def unbind(contract_id: uuid.UUID) -> Any:
    contract, access = _contract(contract_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        s = db_session()
        try:
            with transaction(s):
                binding.unbind_contract(
                    s, contract=contract, user=_user(), request_info=request_info()
                )
        except ValidationError as exc:
            flash(exc.message, "error")
            return render_template(
                "contracts/unbind.html", contract=contract, access=access, form=form
            ), 422
        flash(
            f"Договор № {contract.number} отвязан от вашей учётной записи. Документы "
            "по договору остаются у организации.",
            "success",
        )
        return redirect(url_for("contracts.index"))
    return render_template(
        "contracts/unbind.html", contract=contract, access=access, form=form
    )


# -- invitations (the link from the e-mail) ------------------------------------------------


def _token_problem(exc: ValidationError) -> Any:
    return render_template("accounts/token_problem.html", message=exc.message), 400


@bp.get("/invitation/<token>")
def invitation(token: str) -> Any:
    g.no_store = True
    try:
        view = invitations.open_invitation(db_session(), token)
    except ValidationError as exc:
        return _token_problem(exc)
    return render_template(
        "contracts/invitation.html",
        view=view,
        token=token,
        form=ConfirmForm(),
        rights=RIGHTS,
    )


@bp.post("/invitation/<token>/accept")
@login_required
def accept_invitation(token: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    try:
        with transaction(s):
            contract = invitations.accept_invitation(
                s,
                raw=token,
                user=_user(),
                runtime=current_runtime(),
                request_info=request_info(),
            )
    except ValidationError as exc:
        return _token_problem(exc)
    flash(
        f"Приглашение принято: договор № {contract.number} добавлен в ваш кабинет.",
        "success",
    )
    return redirect(url_for("contracts.card", contract_id=contract.id))


@bp.route("/invitation/<token>/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register_invited(token: str) -> Any:
    g.no_store = True
    s = db_session()
    try:
        view = invitations.open_invitation(s, token)
    except ValidationError as exc:
        return _token_problem(exc)
    if current_user.is_authenticated or view.has_account:
        return redirect(url_for("contracts.invitation", token=token))
    form = InvitationRegisterForm()
    if form.validate_on_submit():
        try:
            with transaction(s):
                user, contract = invitations.register_through_invitation(
                    s,
                    raw=token,
                    password=form.password.data or "",
                    last_name=form.last_name.data or "",
                    first_name=form.first_name.data or "",
                    middle_name=form.middle_name.data or "",
                    runtime=current_runtime(),
                    request_info=request_info(),
                )
        except ValidationError as exc:
            if exc.code.startswith("token"):
                return _token_problem(exc)
            target = getattr(form, str(exc.details.get("field", "")), None)
            (target or form.password).errors = [exc.message]
        else:
            session.clear()
            login_user(user)
            flash(
                f"Добро пожаловать! Договор № {contract.number} уже в вашем кабинете.",
                "success",
            )
            return redirect(url_for("contracts.card", contract_id=contract.id))
    return render_template(
        "contracts/invitation_register.html",
        view=view,
        form=form,
        token=token,
        password_rule=PASSWORD_RULE,
    )


# -- the supplier's registry (staff; changes by administrators only) ------------------------


@admin_bp.get("/")
@staff_required
def registry() -> Any:
    q = request.args.get("q", "")
    rows = supplier_registry.search_registry(db_session(), query=q)
    return render_template("contracts/admin/registry.html", rows=rows, q=q)


def _render_admin_contract(
    contract_id: uuid.UUID,
    *,
    contacts_form: Any = None,
    restriction_form: Any = None,
    status: int = 200,
) -> Any:
    s = db_session()
    contract = supplier_registry.get_registry_contract(s, contract_id)
    contacts = details.contacts_of(s, contract.id)
    return render_template(
        "contracts/admin/contract.html",
        contract=contract,
        users=supplier_registry.registry_users(s, contract.id),
        contacts_form=contacts_form or ContactsForm(formdata=None, obj=contacts),
        restriction_form=restriction_form or RestrictionForm(formdata=None),
        restrictions=details.list_restrictions(s, contract_id=contract.id),
        payments=details.list_payments(s, contract_id=contract.id, limit=50),
        confirm=ConfirmForm(),
    ), status


@admin_bp.get("/<uuid:contract_id>")
@staff_required
def registry_contract(contract_id: uuid.UUID) -> Any:
    return _render_admin_contract(contract_id)


@admin_bp.post("/<uuid:contract_id>/contacts")
@admin_required
def save_contacts(contract_id: uuid.UUID) -> Any:
    form = ContactsForm()
    if not form.validate_on_submit():
        return _render_admin_contract(contract_id, contacts_form=form, status=422)
    s = db_session()
    with transaction(s):
        contract = supplier_registry.get_registry_contract(s, contract_id)
        details.save_contacts(
            s,
            contract=contract,
            user=_user(),
            values=form.data,
            request_info=request_info(),
        )
    flash("Контакты по договору сохранены.", "success")
    return redirect(
        url_for("contracts_admin.registry_contract", contract_id=contract_id)
    )


def _hhmm(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


@admin_bp.post("/<uuid:contract_id>/schedule")
@admin_required
def add_restriction(contract_id: uuid.UUID) -> Any:
    form = RestrictionForm()
    if not form.validate_on_submit():
        return _render_admin_contract(contract_id, restriction_form=form, status=422)
    s = db_session()
    try:
        with transaction(s):
            contract = supplier_registry.get_registry_contract(s, contract_id)
            details.add_restriction(
                s,
                contract=contract,
                user=_user(),
                date_from=form.date_from.data,
                date_to=form.date_to.data,
                time_from=_hhmm(form.time_from.data),
                time_to=_hhmm(form.time_to.data),
                limit_kw=form.limit_kw.data,
                reason=form.reason.data or "",
                request_info=request_info(),
            )
    except ValidationError as exc:
        _form_error(form, exc)
        return _render_admin_contract(contract_id, restriction_form=form, status=422)
    flash("Запись добавлена в график ограничений.", "success")
    return redirect(
        url_for("contracts_admin.registry_contract", contract_id=contract_id)
    )


@admin_bp.post("/<uuid:contract_id>/schedule/<uuid:entry_id>/delete")
@admin_required
def delete_restriction(contract_id: uuid.UUID, entry_id: uuid.UUID) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        contract = supplier_registry.get_registry_contract(s, contract_id)
        details.delete_restriction(
            s,
            contract=contract,
            user=_user(),
            entry_id=entry_id,
            request_info=request_info(),
        )
    flash("Запись удалена из графика ограничений.", "info")
    return redirect(
        url_for("contracts_admin.registry_contract", contract_id=contract_id)
    )


IMPORT_KINDS = {
    "contracts": (
        "Договоры и организации",
        importer.CONTRACT_COLUMNS,
        importer.CONTRACTS_EXAMPLE,
        importer.import_contracts,
    ),
    "payments": (
        "Платежи",
        importer.PAYMENT_COLUMNS,
        importer.PAYMENTS_EXAMPLE,
        importer.import_payments,
    ),
}


@admin_bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_page() -> Any:
    forms = {kind: ImportForm(prefix=kind) for kind in IMPORT_KINDS}
    problems: list[spreadsheets.ImportProblem] = []
    failed_kind = None
    status = 200
    kind = request.form.get("kind", "")
    if request.method == "POST":
        form = forms.get(kind)
        if form is None:
            abort(400)
        if form.validate_on_submit():
            upload = form.file.data
            s = db_session()
            _title, _columns, _example, run = IMPORT_KINDS[kind]
            try:
                with transaction(s):
                    summary = run(
                        s,
                        filename=upload.filename or "",
                        data=upload.read(),
                        user=_user(),
                        request_info=request_info(),
                    )
            except spreadsheets.ImportFailed as exc:
                problems, failed_kind, status = exc.problems, kind, 422
                flash(exc.message, "error")
            else:
                flash(f"Файл «{upload.filename}» загружен: {summary}.", "success")
                return redirect(url_for("contracts_admin.import_page"))
        else:
            status = 422
    return render_template(
        "contracts/admin/import.html",
        forms=forms,
        kinds=IMPORT_KINDS,
        problems=problems,
        failed_kind=failed_kind,
    ), status


@admin_bp.get("/import/template/<any(contracts, payments):kind>.xlsx")
@admin_required
def import_template(kind: str) -> Any:
    _title, columns, example, _run = IMPORT_KINDS[kind]
    data = spreadsheets.template_xlsx(columns, example)
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"{kind}-template.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def register_widgets() -> None:
    """The main page's «Договоры» widget."""

    def data(s: Any, user: Any) -> dict[str, Any]:
        return {"accesses": lookup.list_user_contracts(s, user=user)}

    register_widget(
        "contracts",
        N_("Договоры"),
        "contracts/_widget.html",
        data,
        order=10,
        visible_for=lambda user: not is_staff(user),
    )


def register_sections() -> None:
    """The card's «Документы по договору». Documents are the core, which knows
    nothing of contract cards: the contracts module draws them itself."""
    register_section(
        ContractSection(
            key="documents",
            title=N_("Документы по договору"),
            template="contracts/_documents.html",
            rows=partial(list_documents_for_contract, limit=10),
            order=10,
        )
    )


@bp.record_once
def _on_register(_state: object) -> None:
    register_widgets()
    register_sections()
