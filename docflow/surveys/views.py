"""«Анкеты»: the customer's list and answer form (``/surveys``), the main
page's widget, and the supplier's pages (``/surveys/manage``): writing a
survey, publishing, extending, closing, the results with charts and the Excel
export.

The moment a survey's period is judged at is the clock, or the app's
``SURVEYS_NOW`` config value (a datetime or a callable returning one), for
tests and demonstrations.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from flask import (
    Blueprint,
    current_app,
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

from docflow.access import Actor, answers_surveys, manages_surveys, reads_survey_results
from docflow.access.web import staff_required
from docflow.context import current_actor, current_runtime, db_session
from docflow.dashboard.widgets import register_widget
from docflow.db import transaction
from docflow.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from docflow.extensions import N_
from docflow.surveys import services as svc
from docflow.surveys.chart import render_bars
from docflow.surveys.excel import XLSX_TYPE, results_xlsx
from docflow.surveys.models import (
    QUESTION_KIND_TITLES,
    QuestionKind,
    SurveyStatus,
)

bp = Blueprint("surveys", __name__, url_prefix="/surveys", template_folder="templates")


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read by the views."""


def _now() -> dt.datetime | None:
    fixed = current_app.config.get("SURVEYS_NOW")
    return fixed() if callable(fixed) else fixed


def _check_csrf() -> None:
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFoundError(svc.SURVEY_NOT_FOUND) from None


# -- the customer's pages ------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> Any:
    actor = current_actor()
    if reads_survey_results(actor):
        return redirect(url_for("surveys.manage"))
    items = svc.invitations(db_session(), actor=actor, now=_now())
    return render_template(
        "surveys/index.html", items=items, is_open=lambda s: svc.is_open(s, _now())
    )


def _answer_page(
    survey_id: uuid.UUID,
    org_id: uuid.UUID | None,
    *,
    error: str | None = None,
    typed: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    s = db_session()
    survey, found = svc.invitation_for(
        s,
        actor=current_actor(),
        survey_id=survey_id,
        organisation_id=org_id,
        now=_now(),
    )
    chosen = found[0] if org_id is not None or len(found) == 1 else None
    answers: dict[uuid.UUID, str] = {}
    if chosen is not None and chosen.response is not None:
        given = svc.response_answers(chosen.response)
        answers = {q.id: svc.answer_text(q, given.get(q.id)) for q in survey.questions}
    return render_template(
        "surveys/answer.html",
        survey=survey,
        found=found,
        chosen=chosen,
        is_open=svc.is_open(survey, _now()),
        answers=answers,
        error=error,
        typed=typed or {},
        form=CsrfForm(),
        max_text=svc.MAX_ANSWER_TEXT,
    ), status


@bp.get("/<uuid:survey_id>")
@login_required
def answer_page(survey_id: uuid.UUID) -> Any:
    if reads_survey_results(current_actor()):
        return redirect(url_for("surveys.card", survey_id=survey_id))
    return _answer_page(survey_id, _uuid(request.args.get("org")))


@bp.post("/<uuid:survey_id>")
@login_required
def submit(survey_id: uuid.UUID) -> Any:
    _check_csrf()
    org_id = _uuid(request.form.get("organisation"))
    answers = {
        key[2:]: request.form.getlist(key)
        for key in request.form
        if key.startswith("q-")
    }
    s = db_session()
    try:
        with transaction(s):
            svc.submit_response(
                s,
                actor=current_actor(),
                survey_id=survey_id,
                organisation_id=org_id,
                answers=answers,
                now=_now(),
            )
    except (ValidationError, ConflictError, InvalidTransitionError) as exc:
        if isinstance(exc, ConflictError):
            flash(exc.message, "error")
            return redirect(
                url_for(
                    "surveys.answer_page",
                    survey_id=survey_id,
                    **({"org": str(org_id)} if org_id else {}),
                )
            )
        return _answer_page(
            survey_id, org_id, error=exc.message, typed=answers, status=exc.status
        )
    flash(gettext("Спасибо! Ответы вашей организации приняты."), "success")
    return redirect(
        url_for(
            "surveys.answer_page",
            survey_id=survey_id,
            **({"org": str(org_id)} if org_id else {}),
        )
    )


# -- the supplier's pages --------------------------------------------------------------


def _fields() -> svc.SurveyFields:
    f = request.form
    return svc.SurveyFields(
        title=f.get("title", ""),
        description=f.get("description", ""),
        starts_on=f.get("starts_on", ""),
        ends_on=f.get("ends_on", ""),
        target_all=f.get("target", "all") != "contracts",
        contract_numbers=f.get("contract_numbers", ""),
    )


@bp.get("/manage")
@staff_required
def manage() -> Any:
    rows = svc.list_surveys(db_session(), actor=current_actor())
    return render_template(
        "surveys/manage.html", rows=rows, may_edit=manages_surveys(current_actor())
    )


@bp.route("/manage/new", methods=["GET", "POST"])
@staff_required
def new() -> Any:
    actor = current_actor()
    svc.require_manager(actor)  # 403 with the reason for a clerk
    error = None
    if request.method == "POST":
        _check_csrf()
        s = db_session()
        try:
            with transaction(s):
                survey = svc.create_survey(s, actor=actor, fields=_fields(), now=_now())
        except ValidationError as exc:
            error = exc.message
        else:
            flash(
                gettext("Черновик анкеты создан: добавьте вопросы и опубликуйте."),
                "success",
            )
            return redirect(url_for("surveys.card", survey_id=survey.id))
    today = svc.today(_now())
    return render_template(
        "surveys/edit.html",
        survey=None,
        values=request.form
        if request.method == "POST"
        else {
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=30)).isoformat(),
            "target": "all",
        },
        error=error,
        form=CsrfForm(),
    ), (422 if error else 200)


def _card(
    survey_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
    question_values: Any = None,
    values: Any = None,
) -> Any:
    s = db_session()
    actor = current_actor()
    survey = svc.get_survey(s, actor=actor, survey_id=survey_id)
    numbers = svc.target_numbers(s, survey)
    return render_template(
        "surveys/card.html",
        survey=survey,
        numbers=numbers,
        targeted=len(svc.targeted_organisation_ids(s, survey)),
        may_edit=manages_surveys(actor),
        error=error,
        form=CsrfForm(),
        kinds=QUESTION_KIND_TITLES,
        values=values
        or {
            "title": survey.title,
            "description": survey.description,
            "starts_on": survey.starts_on.isoformat(),
            "ends_on": survey.ends_on.isoformat(),
            "target": "all" if survey.target_all else "contracts",
            "contract_numbers": "\n".join(numbers),
        },
        qv=question_values or {"kind": "single", "scale_max": "5"},
        statuses=SurveyStatus,
        is_open=svc.is_open(survey, _now()),
    ), status


@bp.get("/manage/<uuid:survey_id>")
@staff_required
def card(survey_id: uuid.UUID) -> Any:
    return _card(survey_id)


@bp.post("/manage/<uuid:survey_id>")
@staff_required
def save(survey_id: uuid.UUID) -> Any:
    _check_csrf()
    s = db_session()
    try:
        with transaction(s):
            svc.update_survey(
                s,
                actor=current_actor(),
                survey_id=survey_id,
                fields=_fields(),
                now=_now(),
            )
    except (ValidationError, InvalidTransitionError) as exc:
        return _card(
            survey_id, error=exc.message, status=exc.status, values=request.form
        )
    flash(gettext("Анкета сохранена."), "success")
    return redirect(url_for("surveys.card", survey_id=survey_id))


@bp.post("/manage/<uuid:survey_id>/questions")
@staff_required
def add_question(survey_id: uuid.UUID) -> Any:
    _check_csrf()
    f = request.form
    fields = svc.QuestionFields(
        kind=f.get("kind", ""),
        text=f.get("text", ""),
        is_required=bool(f.get("is_required")),
        options=f.get("options", ""),
        scale_max=f.get("scale_max", "5"),
        scale_min_label=f.get("scale_min_label", ""),
        scale_max_label=f.get("scale_max_label", ""),
        position=f.get("position"),
    )
    s = db_session()
    try:
        with transaction(s):
            svc.add_question(
                s, actor=current_actor(), survey_id=survey_id, fields=fields
            )
    except (ValidationError, InvalidTransitionError) as exc:
        return _card(survey_id, error=exc.message, status=exc.status, question_values=f)
    flash(gettext("Вопрос добавлен."), "success")
    return redirect(url_for("surveys.card", survey_id=survey_id) + "#questions")


@bp.post("/manage/<uuid:survey_id>/questions/<uuid:question_id>/delete")
@staff_required
def delete_question(survey_id: uuid.UUID, question_id: uuid.UUID) -> Any:
    _check_csrf()
    s = db_session()
    with transaction(s):
        svc.delete_question(
            s, actor=current_actor(), survey_id=survey_id, question_id=question_id
        )
    flash(gettext("Вопрос удалён."), "success")
    return redirect(url_for("surveys.card", survey_id=survey_id) + "#questions")


@bp.post("/manage/<uuid:survey_id>/<any(publish, close, delete):action>")
@staff_required
def change_state(survey_id: uuid.UUID, action: str) -> Any:
    _check_csrf()
    s = db_session()
    actor = current_actor()
    try:
        with transaction(s):
            if action == "publish":
                svc.publish_survey(
                    s,
                    actor=actor,
                    survey_id=survey_id,
                    runtime=current_runtime(),
                    now=_now(),
                )
                message = gettext("Анкета опубликована: клиенты получили уведомление.")
            elif action == "close":
                svc.close_survey(s, actor=actor, survey_id=survey_id)
                message = gettext("Анкета закрыта: ответы больше не принимаются.")
            else:
                svc.delete_survey(s, actor=actor, survey_id=survey_id)
                flash(gettext("Черновик анкеты удалён."), "success")
                return redirect(url_for("surveys.manage"))
    except (ValidationError, InvalidTransitionError) as exc:
        return _card(survey_id, error=exc.message, status=exc.status)
    flash(message, "success")
    return redirect(url_for("surveys.card", survey_id=survey_id))


@bp.get("/manage/<uuid:survey_id>/results")
@staff_required
def results(survey_id: uuid.UUID) -> Any:
    res = svc.results(db_session(), actor=current_actor(), survey_id=survey_id)
    charts = {
        qr.question.id: render_bars(
            qr.bars,
            title=f"Вопрос {qr.question.position}: {qr.question.text}",
            element_id=f"chart-{qr.question.id}",
        )
        for qr in res.questions
        if qr.question.kind != QuestionKind.TEXT
    }
    return render_template("surveys/results.html", res=res, charts=charts)


@bp.get("/manage/<uuid:survey_id>/results.xlsx")
@staff_required
def results_export(survey_id: uuid.UUID) -> Any:
    res = svc.results(db_session(), actor=current_actor(), survey_id=survey_id)
    return send_file(
        io.BytesIO(results_xlsx(res)),
        mimetype=XLSX_TYPE,
        as_attachment=True,
        download_name=f"survey-results-{res.survey.published_at or res.survey.created_at:%Y%m%d}.xlsx",
    )


# -- the main page's widget -------------------------------------------------------------


def register_widgets() -> None:
    def surveys_data(s: Any, user: Any) -> dict[str, Any]:
        items = svc.invitations(s, actor=Actor.for_user(user), now=_now())
        shown = [i for i in items if svc.is_open(i.survey, _now())][:5]
        return {"items": shown, "open": svc.open_count(items, _now())}

    register_widget(
        "surveys",
        N_("Анкеты"),
        "surveys/_widget.html",
        surveys_data,
        order=55,
        visible_for=lambda user: answers_surveys(Actor.for_user(user)),
    )


@bp.record_once
def _on_register(_state: object) -> None:
    register_widgets()
