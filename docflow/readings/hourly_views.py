"""«Почасовые объёмы»: choose a contract, a metering point and a channel;
upload a file (XML 80020, Excel, CSV); see the uploads with their errors (and
download each file as it was sent) and a month of hourly values as days ×
hours with totals; download the Excel template of an object; see how the
points are mapped to objects and meters. The supplier's people map them on
«Точки измерений» (``/readings/hourly/<contract>/points``)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

from docflow.access import hourly_contract_ids, hourly_rights, require_hourly_upload
from docflow.access.policy import maps_hourly_points, require_hourly_mapping
from docflow.context import current_actor, current_runtime, db_session
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.readings import hourly_formats as fmt
from docflow.readings import hourly_points as hp
from docflow.readings import hourly_services as hs
from docflow.readings.forms import CsrfForm
from docflow.readings.hourly_models import (
    CHANNEL_TITLES,
    CHANNEL_UNITS,
    Channel,
)
from docflow.readings.models import SupplyObject

bp = Blueprint(
    "hourly", __name__, url_prefix="/readings/hourly", template_folder="templates"
)


class HourlyUploadForm(FlaskForm):
    file = FileField(
        "Файл XML 80020, Excel (.xlsx) или CSV",
        validators=[FileRequired("Выберите файл.")],
    )


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw[:40])
    except ValueError:
        raise NotFoundError("Не найдено.") from None


def _month(raw: str | None) -> dt.date:
    if raw:
        try:
            return dt.datetime.strptime(raw[:7], "%Y-%m").date()
        except ValueError:
            raise ValidationError(
                "Месяц указан неверно: ожидается ГГГГ-ММ.", details={"field": "month"}
            ) from None
    today = dt.date.today()
    return today.replace(day=1)


def num(value: Any) -> str:
    """A value as a Russian reads it: «1 234,5» (no trailing «,0»)."""
    if value is None:
        return ""
    text = f"{float(value):,.1f}".replace(",", "\u00a0").replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


def _contract(contract_id: uuid.UUID | None) -> Contract | None:
    if contract_id is None:
        return None
    s = db_session()
    hourly_rights(s, current_actor(), contract_id)
    return s.get(Contract, contract_id)


@bp.get("/")
@login_required
def index() -> Any:
    s = db_session()
    actor = current_actor()
    contracts = list(
        s.scalars(
            select(Contract)
            .where(Contract.id.in_(hourly_contract_ids(actor)))
            .order_by(Contract.number)
            .limit(500)
        )
    )
    contract = _contract(_uuid(request.args.get("contract")))
    if contract is None and len(contracts) == 1:
        contract = contracts[0]
    month = _month(request.args.get("month"))
    channel = fmt.channel_of(request.args.get("channel") or "A+") or Channel.AP
    ctx: dict[str, Any] = {
        "contracts": contracts,
        "contract": contract,
        "month": month,
        "channel": channel,
        "channels": list(Channel),
        "channel_titles": CHANNEL_TITLES,
        "units": CHANNEL_UNITS[channel],
        "form": HourlyUploadForm(),
        "num": num,
        "formats": fmt.FORMAT_TITLES,
        "prev_month": (month - dt.timedelta(days=1)).replace(day=1),
        "next_month": (month + dt.timedelta(days=32)).replace(day=1),
    }
    if contract is not None:
        rights = hourly_rights(s, actor, contract.id)
        points = hs.contract_points(s, contract.id)
        point_id = _uuid(request.args.get("point"))
        point = next((p for p in points if p.id == point_id), None)
        if point_id is not None and point is None:
            raise NotFoundError("Точка измерений не найдена.")
        if point is None and points:
            point = points[0]
        objects = list(
            s.scalars(
                select(SupplyObject)
                .where(SupplyObject.contract_id == contract.id)
                .order_by(SupplyObject.position, SupplyObject.name)
            )
        )
        upload_id = _uuid(request.args.get("upload"))
        ups = hs.uploads(s, contract.id)
        mapping = hp.mapping_summary(s, contract.id)
        ctx.update(
            mapping=mapping,
            unmapped=sum(
                1 for p, _o, _m in mapping if hp.state_of(p) == hp.MappingState.UNMAPPED
            ),
            state_of=hp.state_of,
            state_titles=hp.STATE_TITLES,
            may_map=maps_hourly_points(actor),
            points=points,
            point=point,
            objects=objects,
            uploads=ups,
            may_upload=rights.submit_readings,
            shown_upload=next((u for u in ups if u.id == upload_id), None),
            table=hs.month_table(s, point.id, channel, month) if point else None,
        )
    return render_template("readings/hourly.html", **ctx)


@bp.post("/<uuid:contract_id>/upload")
@login_required
def upload(contract_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    require_hourly_upload(s, actor, contract_id)
    contract = s.get(Contract, contract_id)
    if contract is None:
        abort(404)
    form = HourlyUploadForm()
    back = url_for("hourly.index", contract=contract_id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(back + "#upload")
    file = form.file.data
    data = file.read(fmt.MAX_FILE_BYTES + 1)
    with transaction(s):
        up = hs.take_file(
            s,
            contract,
            file.filename or "",
            data,
            storage=current_runtime().storage,
            user=actor.user,
            source="web",
            request_info=actor.request_info,
        )
    if up.is_accepted:
        flash(
            gettext(
                "Файл принят: почасовых значений — %(count)s.", count=up.values_taken
            ),
            "success",
        )
    else:
        flash(
            gettext("Файл не принят: исправьте ошибки и загрузите его снова."), "error"
        )
    return redirect(
        url_for("hourly.index", contract=contract_id, upload=up.id) + "#upload"
    )


@bp.get("/<uuid:contract_id>/template.xlsx")
@login_required
def template(contract_id: uuid.UUID) -> Any:
    s = db_session()
    hourly_rights(s, current_actor(), contract_id)
    object_id = _uuid(request.args.get("object"))
    objects = list(
        s.scalars(
            select(SupplyObject)
            .where(SupplyObject.contract_id == contract_id)
            .order_by(SupplyObject.position, SupplyObject.name)
        )
    )
    if object_id is not None:
        objects = [o for o in objects if o.id == object_id]
        if not objects:
            raise NotFoundError("Объект не найден.")
    month = _month(request.args.get("month"))
    sheets = [sheet for o in objects for sheet in hs.template_sheets(s, o)]
    data = fmt.write_xlsx(month, sheets)
    label = objects[0].code if object_id is not None else "договор"
    return send_file(
        io.BytesIO(data),
        mimetype=fmt.XLSX_TYPE,
        as_attachment=True,
        download_name=f"Почасовые объёмы {label} {month:%Y-%m}.xlsx",
        max_age=0,
    )


@bp.get("/<uuid:contract_id>/uploads/<uuid:hourly_upload_id>/file")
@login_required
def download_upload(contract_id: uuid.UUID, hourly_upload_id: uuid.UUID) -> Any:
    """The file of an upload as it was sent (accepted or not)."""
    s = db_session()
    hourly_rights(s, current_actor(), contract_id)
    upload = hs.get_upload(s, contract_id, hourly_upload_id)
    reader = current_runtime().storage.open(upload.blob_key)
    return send_file(
        reader,
        mimetype=reader.info.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=upload.filename,
        max_age=0,
    )


# -- the supplier: the points of a contract and their mapping ------------------------


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int((raw or "1")[:6]))
    except ValueError:
        return 1


@bp.get("/<uuid:contract_id>/points")
@login_required
def points(contract_id: uuid.UUID) -> Any:
    s = db_session()
    require_hourly_mapping(s, current_actor(), contract_id)
    contract = s.get(Contract, contract_id)
    only_unmapped = request.args.get("unmapped") == "1"
    page = hp.point_page(
        s,
        contract_id,
        only_unmapped=only_unmapped,
        page=_page_number(request.args.get("page")),
    )
    objects, meters = hp.contract_choices(s, contract_id)
    return render_template(
        "readings/hourly_points.html",
        contract=contract,
        page=page,
        only_unmapped=only_unmapped,
        objects=objects,
        meters=meters,
        object_names={o.id: o.name for o in objects},
        state_titles=hp.STATE_TITLES,
        form=CsrfForm(),
    )


@bp.post("/<uuid:contract_id>/points/<uuid:hourly_point_id>")
@login_required
def map_point(contract_id: uuid.UUID, hourly_point_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    require_hourly_mapping(s, actor, contract_id)
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")
    back = url_for(
        "hourly.points",
        contract_id=contract_id,
        page=_page_number(request.form.get("page")),
        unmapped="1" if request.form.get("unmapped") == "1" else None,
    )
    try:
        with transaction(s):
            point = hp.map_point(
                s,
                actor=actor,
                contract_id=contract_id,
                point_id=hourly_point_id,
                object_id=_choice(request.form.get("object")),
                meter_id=_choice(request.form.get("meter")),
                name=(request.form.get("name") or "")[: hp.MAX_NAME + 1],
            )
            code = point.code
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(back + f"#point-{hourly_point_id}")
    flash(gettext("Точка %(code)s сохранена.", code=code), "success")
    return redirect(back + f"#point-{hourly_point_id}")


def _choice(raw: str | None) -> uuid.UUID | None:
    """A select's value: empty for none; anything but a UUID is no object."""
    if not raw:
        return None
    try:
        return uuid.UUID(raw[:40])
    except ValueError:
        raise ValidationError("Выберите значение из списка.") from None
