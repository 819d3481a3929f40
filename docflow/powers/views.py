"""«Доверенности»: the МЧД on file, their upload, cards and revocation, and the
supplier administrator's map of powers to types of documents."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required
from sqlalchemy import select

from docflow.access import (
    Actor,
    Right,
    acts_for_supplier,
    may_revoke_power,
    supplier_organisation,
    visible_certificates,
    visible_contract_ids,
    visible_powers,
)
from docflow.access.web import admin_required
from docflow.accounts.models import User
from docflow.certificates.models import Certificate
from docflow.context import current_actor, current_runtime, db_session
from docflow.contracts.models import Contract, Organisation
from docflow.db import transaction
from docflow.documents.models import DOC_TYPE_TITLES
from docflow.errors import DocflowError, PermissionDeniedError
from docflow.powers import services as svc
from docflow.powers.forms import (
    MAX_SIGNATURE_BYTES,
    MAX_XML_BYTES,
    SIGNATURE_TOO_LARGE,
    XML_TOO_LARGE,
    PowerUploadForm,
    RevokeForm,
    read_upload,
    rules_form,
    split_codes,
)
from docflow.powers.models import PowerOfAttorney

bp = Blueprint(
    "powers", __name__, url_prefix="/powers-of-attorney", template_folder="templates"
)

#: Where the status of an МЧД was last learnt (PowerOfAttorney.status_source).
STATUS_SOURCE_TITLES = {
    "registry": "реестр доверенностей ФНС",
    "local": "данные кабинета",
}


@bp.app_template_filter("power_status_source")
def status_source_title(source: str | None) -> str:
    return STATUS_SOURCE_TITLES.get(source or "", "данные кабинета")


#: The versions of the format (``ВерсФорм``), as people name them.
FORMAT_TITLES = {
    "EMCHD_1": "единый формат ФНС, версия 003",
    "002": "формат ФНС, версия 002",
}


@bp.app_template_filter("power_format")
def format_title(version: str | None) -> str:
    return FORMAT_TITLES.get(version or "", "формат ФНС")


@bp.app_template_filter("redelegation")
def redelegation_title(code: str | None) -> str:
    return svc.REDELEGATION_TITLES.get(code or "", "не указано")


@bp.app_template_filter("snils")
def snils_title(digits: str | None) -> str:
    """«123-456-789 64», as СНИЛС is written."""
    if not digits or len(digits) != 11 or not digits.isdigit():
        return digits or "—"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


@bp.app_template_filter("person_name")
def person_name(person: dict[str, Any] | None) -> str:
    if not person:
        return "—"
    parts = (
        person.get("last_name"),
        person.get("first_name"),
        person.get("patronymic"),
    )
    return " ".join(p for p in parts if p) or "—"


@bp.app_template_global("visible_power")
def visible_power(power_id: Any) -> bool:
    """Whether the signed-in user may open the card of an МЧД (a link on the
    document's card, else its name as plain text)."""
    try:
        ident = uuid.UUID(str(power_id))
    except ValueError:
        return False
    return (
        db_session().scalar(
            select(PowerOfAttorney.id).where(
                visible_powers(current_actor()), PowerOfAttorney.id == ident
            )
        )
        is not None
    )


def signed_for(actor: Actor) -> list[Organisation]:
    """The organisations whose МЧД the actor may file: those it signs for."""
    s = db_session()
    if acts_for_supplier(actor):
        supplier = supplier_organisation(s)
        return [supplier] if supplier is not None else []
    return list(
        s.scalars(
            select(Organisation)
            .where(
                Organisation.id.in_(
                    select(Contract.organisation_id).where(
                        Contract.id.in_(visible_contract_ids(actor, Right.SIGN))
                    )
                )
            )
            .order_by(Organisation.name)
        )
    )


def _list_page(form: PowerUploadForm, status: int = 200) -> Any:
    actor = current_actor()
    s = db_session()
    return render_template(
        "powers/list.html",
        powers=svc.list_powers(s, actor=actor),
        form=form,
        organisations=signed_for(actor),
        status_of=svc.status_of,
    ), status


@bp.get("/")
@login_required
def index() -> Any:
    return _list_page(PowerUploadForm())


@bp.post("/")
@login_required
def upload() -> Any:
    form = PowerUploadForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    xml, problem = read_upload(form.xml.data, MAX_XML_BYTES, XML_TOO_LARGE)
    if problem:
        form.xml.errors = [problem]
        return _list_page(form, 413)
    sig, problem = read_upload(
        form.signature.data, MAX_SIGNATURE_BYTES, SIGNATURE_TOO_LARGE
    )
    if problem:
        form.signature.errors = [problem]
        return _list_page(form, 413)
    assert xml is not None and sig is not None
    s = db_session()
    try:
        with transaction(s):
            power, created = svc.upload_power(
                s,
                actor=current_actor(),
                xml=xml,
                signature=sig,
                runtime=current_runtime(),
            )
            power_id = power.id
    except DocflowError as exc:
        field = form.signature if exc.code.endswith("_signature") else form.xml
        field.errors = [exc.message]
        return _list_page(form, 422)
    flash(
        "Доверенность проверена и загружена."
        if created
        else "Эта доверенность уже загружена.",
        "success" if created else "info",
    )
    return redirect(url_for("powers.card", power_id=power_id))


def _card_page(power: PowerOfAttorney, form: RevokeForm, status: int = 200) -> Any:
    s = db_session()
    actor = current_actor()
    uploader = s.get(User, power.uploaded_by_id) if power.uploaded_by_id else None
    revoker = s.get(User, power.revoked_by_id) if power.revoked_by_id else None
    certificate = (
        s.scalar(
            select(Certificate).where(
                visible_certificates(actor), Certificate.id == power.certificate_id
            )
        )
        if power.certificate_id
        else None
    )
    return render_template(
        "powers/card.html",
        power=power,
        status=svc.status_of(power),
        uploader=uploader,
        revoker=revoker,
        certificate=certificate,
        may_revoke=may_revoke_power(actor, power),
        form=form,
    ), status


@bp.get("/<uuid:power_id>")
@login_required
def card(power_id: uuid.UUID) -> Any:
    power = svc.get_power(db_session(), actor=current_actor(), power_id=power_id)
    return _card_page(power, RevokeForm())


@bp.get("/<uuid:power_id>/xml")
@login_required
def download_xml(power_id: uuid.UUID) -> Any:
    power = svc.get_power(db_session(), actor=current_actor(), power_id=power_id)
    return send_file(
        io.BytesIO(power.xml),
        mimetype="application/xml",
        as_attachment=True,
        download_name=f"mchd-{power.number}.xml",
        max_age=0,
    )


@bp.get("/<uuid:power_id>/signature")
@login_required
def download_signature(power_id: uuid.UUID) -> Any:
    power = svc.get_power(db_session(), actor=current_actor(), power_id=power_id)
    return send_file(
        io.BytesIO(power.signature),
        mimetype="application/pkcs7-signature",
        as_attachment=True,
        download_name=f"mchd-{power.number}.xml.sig",
        max_age=0,
    )


REVOKE_REFUSED = (
    "Отозвать доверенность может загрузивший её пользователь или администратор "
    "поставщика."
)


@bp.post("/<uuid:power_id>/revoke")
@login_required
def revoke(power_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    form = RevokeForm()
    if not form.validate_on_submit():
        power = svc.get_power(s, actor=actor, power_id=power_id)
        if not may_revoke_power(actor, power):
            raise PermissionDeniedError(REVOKE_REFUSED)
        return _card_page(power, form, 422)
    with transaction(s):
        svc.revoke_power(
            s, actor=actor, power_id=power_id, reason=form.reason.data or ""
        )
    flash(
        "Доверенность отозвана в кабинете: подписывать по ней больше нельзя. "
        "Отзовите её и в реестре доверенностей ФНС.",
        "info",
    )
    return redirect(url_for("powers.card", power_id=power_id))


@bp.route("/rules", methods=["GET", "POST"])
@admin_required
def rules() -> Any:
    s = db_session()
    current = {t.value: svc.power_codes(s, t.value) for t in DOC_TYPE_TITLES}
    form = rules_form(current)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _rules_page(form, 422)
        field = None
        try:
            with transaction(s):
                for doc_type in DOC_TYPE_TITLES:
                    field = form[doc_type.value]
                    codes = split_codes(field.data)
                    defaults = svc.DEFAULT_POWER_CODES.get(doc_type.value, ())
                    if set(codes or defaults) == set(current[doc_type.value]):
                        continue  # unchanged: no rows rewritten, no audit record
                    svc.set_power_codes(
                        s,
                        actor=current_actor(),
                        doc_type=doc_type.value,
                        # The defaults stay defaults (an empty list keeps no rows).
                        codes=[] if set(codes) == set(defaults) else codes,
                    )
        except DocflowError as exc:
            assert field is not None
            field.errors = [exc.message]
            return _rules_page(form, 422)
        flash("Полномочия для подписания документов сохранены.", "success")
        return redirect(url_for("powers.rules"))
    return _rules_page(form)


def _rules_page(form: Any, status: int = 200) -> Any:
    return render_template(
        "powers/rules.html",
        form=form,
        doc_types=[(t.value, title) for t, title in DOC_TYPE_TITLES.items()],
        defaults=svc.DEFAULT_POWER_CODES,
    ), status
