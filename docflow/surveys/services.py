"""Surveys: writing them (the supplier's administrator), publishing and
closing, answering (a customer, once per organisation), and the results.

Rules:

* a draft is edited freely; a published survey keeps its questions and
  target (answers would lose their meaning) — only its period may be extended,
  or it is closed; a closed survey changes no more;
* a survey is open for answers while published and today (Moscow) lies in its
  period;
* a customer sees a survey addressed to an organisation through a contract it
  holds the view right on, and answers for that organisation through a
  contract it may sign or manage; one response per organisation and survey
  (a unique constraint: two submissions at once give one response and a clear
  message for the other);
* every answer is checked here: the options among the question's, the scale
  in its range, the text within its limit and free of control characters, the
  required questions answered.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Actor,
    answers_surveys,
    customer_organisations,
    manages_surveys,
    reads_survey_results,
    survey_answer_contract_ids,
    survey_contract_ids,
)
from docflow.accounts.models import User
from docflow.audit import record
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import is_postgres, utcnow
from docflow.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.outbox.services import publish
from docflow.runtime import Runtime
from docflow.surveys.models import (
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
    SurveyTarget,
)

MSK = ZoneInfo("Europe/Moscow")
EVENT_KIND = "survey.published"

MAX_TITLE = 300
MAX_DESCRIPTION = 5000
MAX_QUESTION = 1000
MAX_OPTIONS = 20
MAX_OPTION = 200
MAX_LABEL = 100
MAX_QUESTIONS = 50
MAX_ANSWER_TEXT = 2000
MAX_TARGETS = 1000
SCALES = (5, 10)

SURVEY_NOT_FOUND = "Анкета не найдена."
ALREADY_ANSWERED = (
    "Ваша организация уже ответила на эту анкету: ответ принимается один раз. "
    "Спасибо за участие!"
)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def today(now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(MSK).date()


# -- checking text ----------------------------------------------------------------


def _text(
    value: Any,
    label: str,
    limit: int,
    *,
    multiline: bool = False,
    required: bool = True,
) -> str:
    """A trimmed text field, or a ValidationError naming it."""
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(f"Заполните поле «{label}».", details={"field": label})
    if len(text) > limit:
        raise ValidationError(
            f"Поле «{label}» длиннее {limit} символов.", details={"field": label}
        )
    pattern = _CONTROL if multiline else _CONTROL_LINE
    if pattern.search(text):
        raise ValidationError(
            f"Поле «{label}» содержит недопустимые управляющие символы: удалите их.",
            details={"field": label},
        )
    return text


def _date(value: Any, label: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    raw = value.strip() if isinstance(value, str) else ""
    try:
        parsed = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            f"Дата «{label}» указана неверно: ожидается ДД.ММ.ГГГГ.",
            details={"field": label},
        ) from None
    if not 2000 <= parsed.year <= 2100:
        raise ValidationError(
            f"Дата «{label}» вне допустимого диапазона.", details={"field": label}
        )
    return parsed


# -- who sees what -----------------------------------------------------------------


def require_manager(actor: Actor) -> None:
    if not reads_survey_results(actor):
        raise NotFoundError(SURVEY_NOT_FOUND)
    if not manages_surveys(actor):
        raise PermissionDeniedError(
            "Анкеты составляет и публикует администратор поставщика."
        )


def _require_reader(actor: Actor) -> None:
    if not reads_survey_results(actor):
        raise NotFoundError(SURVEY_NOT_FOUND)


def _lock(session: Session, survey_id: uuid.UUID) -> Survey:
    stmt = select(Survey).where(Survey.id == survey_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    survey = session.scalar(stmt.execution_options(populate_existing=True))
    if survey is None:
        raise NotFoundError(SURVEY_NOT_FOUND)
    return survey


def _targeted_contracts(survey: Survey) -> Select[uuid.UUID]:
    """The contracts a survey is addressed to."""
    if survey.target_all:
        return (
            select(Contract.id)
            .join(Organisation, Organisation.id == Contract.organisation_id)
            .where(customer_organisations())
        )
    return select(SurveyTarget.contract_id).where(SurveyTarget.survey_id == survey.id)


def targeted_organisation_ids(session: Session, survey: Survey) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(Contract.organisation_id).where(
                Contract.id.in_(_targeted_contracts(survey))
            )
        )
    )


# -- the administrator's side ------------------------------------------------------


@dataclass(frozen=True)
class SurveyFields:
    title: str
    description: str
    starts_on: Any
    ends_on: Any
    target_all: bool
    contract_numbers: str = ""  # one per line (or comma), when not to everyone


def _contracts_by_numbers(session: Session, raw: str) -> list[Contract]:
    numbers = [
        n.strip()
        for n in re.split(r"[\n,;]+", raw if isinstance(raw, str) else "")
        if n.strip()
    ]
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        raise ValidationError(
            "Укажите номера договоров, которым адресована анкета, или выберите "
            "«всем клиентам».",
            details={"field": "contract_numbers"},
        )
    if len(numbers) > MAX_TARGETS:
        raise ValidationError(
            f"Не больше {MAX_TARGETS} договоров в одной анкете.",
            details={"field": "contract_numbers"},
        )
    for n in numbers:
        _text(n, "Договоры", 50)
    found = list(
        session.scalars(
            select(Contract)
            .join(Organisation, Organisation.id == Contract.organisation_id)
            .where(Contract.number.in_(numbers), customer_organisations())
        )
    )
    missing = sorted(set(numbers) - {c.number for c in found})
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ValidationError(
            f"Договоры не найдены: {shown}.",
            details={"field": "contract_numbers", "missing": missing[:50]},
        )
    return found


def _apply_fields(
    session: Session, survey: Survey, fields: SurveyFields, *, now: dt.datetime | None
) -> None:
    title = _text(fields.title, "Название", MAX_TITLE)
    description = _text(
        fields.description, "Описание", MAX_DESCRIPTION, multiline=True, required=False
    )
    starts_on = _date(fields.starts_on, "Начало")
    ends_on = _date(fields.ends_on, "Окончание")
    if ends_on < starts_on:
        raise ValidationError(
            "Окончание анкетирования раньше его начала.", details={"field": "ends_on"}
        )
    targets: list[Contract] = []
    if not fields.target_all:
        targets = _contracts_by_numbers(session, fields.contract_numbers)
    survey.title, survey.description = title, description
    survey.starts_on, survey.ends_on = starts_on, ends_on
    survey.target_all = bool(fields.target_all)
    wanted = {c.id for c in targets}
    survey.targets = [t for t in survey.targets if t.contract_id in wanted] + [
        SurveyTarget(contract_id=cid)
        for cid in wanted - {t.contract_id for t in survey.targets}
    ]


def create_survey(
    session: Session,
    *,
    actor: Actor,
    fields: SurveyFields,
    now: dt.datetime | None = None,
) -> Survey:
    """A new draft.

    :raises PermissionDeniedError: not the supplier's administrator.
    :raises ValidationError: a field is wrong.
    """
    require_manager(actor)
    survey = Survey(created_by_id=actor.user_id, status=SurveyStatus.DRAFT)
    _apply_fields(session, survey, fields, now=now)
    session.add(survey)
    session.flush()
    _audit(session, actor, "survey.create", survey)
    return survey


def update_survey(
    session: Session,
    *,
    actor: Actor,
    survey_id: uuid.UUID,
    fields: SurveyFields,
    now: dt.datetime | None = None,
) -> Survey:
    """Change a draft; of a published survey only extend its period.

    :raises InvalidTransitionError: a closed survey, or a published one whose
        questions, target or start would change, or whose end would come earlier.
    """
    require_manager(actor)
    survey = _lock(session, survey_id)
    if survey.status == SurveyStatus.CLOSED:
        raise InvalidTransitionError(
            "Анкета закрыта и больше не изменяется.", code="survey_closed"
        )
    if survey.status == SurveyStatus.PUBLISHED:
        ends_on = _date(fields.ends_on, "Окончание")
        if ends_on < survey.ends_on:
            raise InvalidTransitionError(
                "Опубликованную анкету можно только продлить: новая дата окончания "
                "не может быть раньше прежней. Чтобы прекратить приём ответов, "
                "закройте анкету.",
                code="survey_published",
            )
        if ends_on != survey.ends_on:
            old = survey.ends_on
            survey.ends_on = ends_on
            session.flush()
            _audit(
                session,
                actor,
                "survey.extend",
                survey,
                {"from": old.isoformat(), "to": ends_on.isoformat()},
            )
        return survey
    _apply_fields(session, survey, fields, now=now)
    session.flush()
    _audit(session, actor, "survey.update", survey)
    return survey


@dataclass(frozen=True)
class QuestionFields:
    kind: str
    text: str
    is_required: bool = False
    options: str | Sequence[str] = ""  # one per line
    scale_max: Any = 5
    scale_min_label: str = ""
    scale_max_label: str = ""
    position: Any = None


def _require_draft(survey: Survey) -> None:
    if survey.status != SurveyStatus.DRAFT:
        raise InvalidTransitionError(
            "Вопросы опубликованной или закрытой анкеты не меняются: ответы "
            "потеряли бы смысл. Можно только продлить срок или закрыть анкету.",
            code="survey_published",
        )


def add_question(
    session: Session, *, actor: Actor, survey_id: uuid.UUID, fields: QuestionFields
) -> SurveyQuestion:
    """Add a question to a draft.

    :raises InvalidTransitionError: the survey is not a draft.
    :raises ValidationError: a field is wrong.
    """
    require_manager(actor)
    survey = _lock(session, survey_id)
    _require_draft(survey)
    if len(survey.questions) >= MAX_QUESTIONS:
        raise ValidationError(
            f"В анкете не может быть больше {MAX_QUESTIONS} вопросов."
        )
    try:
        kind = QuestionKind(fields.kind)
    except ValueError:
        raise ValidationError(
            "Выберите вид вопроса.", details={"field": "kind"}
        ) from None
    text = _text(fields.text, "Вопрос", MAX_QUESTION, multiline=True)
    question = SurveyQuestion(
        survey_id=survey.id, kind=kind, text=text, is_required=bool(fields.is_required)
    )
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        raw = fields.options
        lines = raw.splitlines() if isinstance(raw, str) else list(raw)
        options = [
            _text(o, "Варианты ответа", MAX_OPTION) for o in lines if str(o).strip()
        ]
        if len(options) < 2:
            raise ValidationError(
                "У вопроса с выбором должно быть не меньше двух вариантов ответа "
                "(по одному в строке).",
                details={"field": "options"},
            )
        if len(options) > MAX_OPTIONS:
            raise ValidationError(
                f"Не больше {MAX_OPTIONS} вариантов ответа.",
                details={"field": "options"},
            )
        if len(set(options)) != len(options):
            raise ValidationError(
                "Варианты ответа повторяются.", details={"field": "options"}
            )
        question.options = options
    elif kind == QuestionKind.SCALE:
        try:
            scale_max = int(str(fields.scale_max).strip())
        except ValueError:
            scale_max = 0
        if scale_max not in SCALES:
            raise ValidationError(
                "Шкала бывает от 1 до 5 или от 1 до 10.", details={"field": "scale_max"}
            )
        question.scale_max = scale_max
        question.scale_min_label = (
            _text(fields.scale_min_label, "Подпись к 1", MAX_LABEL, required=False)
            or None
        )
        question.scale_max_label = (
            _text(
                fields.scale_max_label,
                f"Подпись к {scale_max}",
                MAX_LABEL,
                required=False,
            )
            or None
        )
    positions = [q.position for q in survey.questions]
    position = _position(fields.position, default=max(positions, default=0) + 1)
    question.position = position
    session.add(question)
    session.flush()
    session.expire(survey, ["questions"])
    _audit(
        session, actor, "survey.question_add", survey, {"question": str(question.id)}
    )
    return question


def _position(raw: Any, *, default: int) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError(
            "Порядковый номер вопроса — целое число от 1 до 999.",
            details={"field": "position"},
        ) from None
    if not 1 <= value <= 999:
        raise ValidationError(
            "Порядковый номер вопроса — целое число от 1 до 999.",
            details={"field": "position"},
        )
    return value


def delete_question(
    session: Session, *, actor: Actor, survey_id: uuid.UUID, question_id: uuid.UUID
) -> None:
    require_manager(actor)
    survey = _lock(session, survey_id)
    _require_draft(survey)
    question = session.get(SurveyQuestion, question_id)
    if question is None or question.survey_id != survey.id:
        raise NotFoundError("Вопрос не найден.")
    session.delete(question)
    session.flush()
    session.expire(survey, ["questions"])
    _audit(
        session, actor, "survey.question_delete", survey, {"question": str(question_id)}
    )


def publish_survey(
    session: Session,
    *,
    actor: Actor,
    survey_id: uuid.UUID,
    runtime: Runtime,
    now: dt.datetime | None = None,
) -> Survey:
    """Publish a draft and tell the targeted customers (in the cabinet and by
    e-mail, as each subscribed).

    :raises InvalidTransitionError: not a draft.
    :raises ValidationError: no questions, a choice question without options,
        a period already over, nobody targeted.
    """
    require_manager(actor)
    survey = _lock(session, survey_id)
    if survey.status != SurveyStatus.DRAFT:
        raise InvalidTransitionError(
            "Анкета уже опубликована или закрыта.", code="survey_not_draft"
        )
    if not survey.questions:
        raise ValidationError("Добавьте в анкету хотя бы один вопрос.")
    if survey.ends_on < today(now):
        raise ValidationError(
            "Срок анкетирования уже прошёл: измените дату окончания.",
            details={"field": "ends_on"},
        )
    if not targeted_organisation_ids(session, survey):
        raise ValidationError(
            "Анкета никому не адресована: нет ни одного договора клиента."
        )
    survey.status = SurveyStatus.PUBLISHED
    survey.published_at = utcnow()
    session.flush()
    _audit(session, actor, "survey.publish", survey)
    notify_published(session, survey, runtime=runtime)
    return survey


def notify_published(session: Session, survey: Survey, *, runtime: Runtime) -> None:
    """Tell the users of the targeted contracts (view right) that the survey
    is published: in the cabinet, and by e-mail and SMS as each subscribed."""
    users = list(
        session.scalars(
            select(User)
            .join(ContractAccess, ContractAccess.user_id == User.id)
            .where(
                ContractAccess.contract_id.in_(_targeted_contracts(survey)),
                ContractAccess.can_view,
            )
            .distinct()
        )
    )
    link = f"/surveys/{survey.id}"
    publish(
        session,
        kind=EVENT_KIND,
        users=users,
        context={
            "survey_title": survey.title,
            "ends_on": f"{survey.ends_on:%d.%m.%Y}",
            "url": runtime.base_url.rstrip("/") + link,
        },
        title=f"Новая анкета: «{survey.title}»",
        body=f"Ответы принимаются по {survey.ends_on:%d.%m.%Y}.",
        link=link,
        payload={"survey_id": str(survey.id), "title": survey.title},
    )


def close_survey(session: Session, *, actor: Actor, survey_id: uuid.UUID) -> Survey:
    """Stop taking answers.

    :raises InvalidTransitionError: a draft (delete it instead) or closed already.
    """
    require_manager(actor)
    survey = _lock(session, survey_id)
    if survey.status != SurveyStatus.PUBLISHED:
        raise InvalidTransitionError(
            "Закрыть можно только опубликованную анкету.", code="survey_not_published"
        )
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = utcnow()
    session.flush()
    _audit(session, actor, "survey.close", survey)
    return survey


def delete_survey(session: Session, *, actor: Actor, survey_id: uuid.UUID) -> None:
    """Delete a draft (a published survey has answers to keep)."""
    require_manager(actor)
    survey = _lock(session, survey_id)
    if survey.status != SurveyStatus.DRAFT:
        raise InvalidTransitionError(
            "Удалить можно только черновик: ответы на опубликованную анкету "
            "сохраняются. Закройте её.",
            code="survey_not_draft",
        )
    _audit(session, actor, "survey.delete", survey)
    session.delete(survey)
    session.flush()


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    survey: Survey,
    details: dict[str, Any] | None = None,
) -> None:
    record(
        session,
        user=actor.user,
        action=action,
        object_type="survey",
        object_id=survey.id,
        details={"title": survey.title, **(details or {})},
        request_info=actor.request_info,
        actor_label=actor.label,
    )


@dataclass(frozen=True)
class SurveyRow:
    survey: Survey
    respondents: int
    targeted: int


def list_surveys(session: Session, *, actor: Actor) -> list[SurveyRow]:
    """Every survey, newest first, with the number of organisations that
    answered and that were asked (the supplier's people)."""
    _require_reader(actor)
    surveys = list(
        session.scalars(
            select(Survey).order_by(Survey.created_at.desc(), Survey.id).limit(500)
        )
    )
    counts = dict(
        session.execute(
            select(SurveyResponse.survey_id, func.count()).group_by(
                SurveyResponse.survey_id
            )
        ).all()
    )
    return [
        SurveyRow(
            s, int(counts.get(s.id, 0)), len(targeted_organisation_ids(session, s))
        )
        for s in surveys
    ]


def get_survey(session: Session, *, actor: Actor, survey_id: uuid.UUID) -> Survey:
    """A survey for the supplier's people (404 for anyone else)."""
    _require_reader(actor)
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFoundError(SURVEY_NOT_FOUND)
    return survey


def target_numbers(session: Session, survey: Survey) -> list[str]:
    return list(
        session.scalars(
            select(Contract.number)
            .join(SurveyTarget, SurveyTarget.contract_id == Contract.id)
            .where(SurveyTarget.survey_id == survey.id)
            .order_by(Contract.number)
        )
    )


# -- the customer's side -------------------------------------------------------------


def is_open(survey: Survey, now: dt.datetime | None = None) -> bool:
    return (
        survey.status == SurveyStatus.PUBLISHED
        and survey.starts_on <= today(now) <= survey.ends_on
    )


@dataclass(frozen=True)
class Invitation:
    """One survey for one of the actor's organisations."""

    survey: Survey
    organisation: Organisation
    may_answer: bool  # the actor speaks for the organisation
    response: SurveyResponse | None

    @property
    def is_answered(self) -> bool:
        return self.response is not None


def _addressed(survey: Survey) -> Any:
    """A condition on contracts: addressed by ``survey``."""
    return Contract.id.in_(_targeted_contracts(survey))


def invitations(
    session: Session,
    *,
    actor: Actor,
    survey_id: uuid.UUID | None = None,
    only_open: bool = False,
    now: dt.datetime | None = None,
) -> list[Invitation]:
    """The published (and closed) surveys addressed to the actor's
    organisations, one entry per survey and organisation, open ones first."""
    if not answers_surveys(actor):
        return []
    stmt = select(Survey).where(Survey.status != SurveyStatus.DRAFT)
    if survey_id is not None:
        stmt = stmt.where(Survey.id == survey_id)
    if only_open:
        day = today(now)
        stmt = stmt.where(
            Survey.status == SurveyStatus.PUBLISHED,
            Survey.starts_on <= day,
            Survey.ends_on >= day,
        )
    else:
        # What has not started yet is not shown to customers.
        stmt = stmt.where(Survey.starts_on <= today(now))
    surveys = list(session.scalars(stmt.order_by(Survey.ends_on.desc()).limit(200)))
    visible = set(session.scalars(survey_contract_ids(actor)))
    speaking = set(session.scalars(survey_answer_contract_ids(actor)))
    if not visible:
        return []
    contracts = list(session.scalars(select(Contract).where(Contract.id.in_(visible))))
    out: list[Invitation] = []
    for survey in surveys:
        addressed = set(
            session.scalars(
                select(Contract.id).where(_addressed(survey), Contract.id.in_(visible))
            )
        )
        orgs: dict[uuid.UUID, bool] = {}
        for c in contracts:
            if c.id in addressed:
                orgs[c.organisation_id] = orgs.get(c.organisation_id, False) or (
                    c.id in speaking
                )
        for org_id, may in orgs.items():
            org = session.get(Organisation, org_id)
            assert org is not None
            response = session.scalar(
                select(SurveyResponse).where(
                    SurveyResponse.survey_id == survey.id,
                    SurveyResponse.organisation_id == org_id,
                )
            )
            out.append(Invitation(survey, org, may, response))
    out.sort(
        key=lambda i: (not is_open(i.survey, now), i.is_answered, i.survey.ends_on)
    )
    return out


def invitation_for(
    session: Session,
    *,
    actor: Actor,
    survey_id: uuid.UUID,
    organisation_id: uuid.UUID | None,
    now: dt.datetime | None = None,
) -> tuple[Survey, list[Invitation]]:
    """The survey as the actor sees it and its organisations (404 when the
    survey is not addressed to any of them)."""
    found = invitations(session, actor=actor, survey_id=survey_id, now=now)
    if organisation_id is not None:
        found = [i for i in found if i.organisation.id == organisation_id]
    if not found:
        raise NotFoundError(SURVEY_NOT_FOUND)
    return found[0].survey, found


def _answer_of(question: SurveyQuestion, raw: list[str]) -> SurveyAnswer | None:
    """Check one question's submitted values; None when left blank."""
    values = [v.strip() for v in raw if isinstance(v, str) and v.strip()]
    label = f"Вопрос {question.position}"
    if question.kind == QuestionKind.TEXT:
        text = "\n".join(v for v in raw if isinstance(v, str)).strip()
        if not text:
            return None
        return SurveyAnswer(
            question_id=question.id,
            text=_text(text, label, MAX_ANSWER_TEXT, multiline=True),
        )
    if not values:
        return None
    if question.kind == QuestionKind.SCALE:
        if (
            len(values) != 1
            or not values[0].isdigit()
            or not (1 <= int(values[0]) <= (question.scale_max or 0))
        ):
            raise ValidationError(
                f"{label}: оценка — целое число от 1 до {question.scale_max}.",
                details={"question": str(question.id)},
            )
        return SurveyAnswer(question_id=question.id, scale=int(values[0]))
    indices: list[int] = []
    for v in values:
        if not v.isdigit() or not 0 <= int(v) < len(question.options):
            raise ValidationError(
                f"{label}: выбран вариант, которого нет среди предложенных.",
                details={"question": str(question.id)},
            )
        indices.append(int(v))
    indices = sorted(set(indices))
    if question.kind == QuestionKind.SINGLE and len(indices) != 1:
        raise ValidationError(
            f"{label}: выберите один вариант.", details={"question": str(question.id)}
        )
    return SurveyAnswer(question_id=question.id, choices=indices)


def submit_response(
    session: Session,
    *,
    actor: Actor,
    survey_id: uuid.UUID,
    organisation_id: uuid.UUID | None,
    answers: Mapping[str, list[str]],
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Record the organisation's answers (``answers``: question id → the
    values submitted).

    :raises NotFoundError: the survey is not addressed to the actor's organisation.
    :raises PermissionDeniedError: the actor may not speak for the organisation.
    :raises InvalidTransitionError: the survey is not open for answers.
    :raises ConflictError: the organisation answered already.
    :raises ValidationError: an answer is wrong or a required one missing.
    """
    survey, found = invitation_for(
        session,
        actor=actor,
        survey_id=survey_id,
        organisation_id=organisation_id,
        now=now,
    )
    if organisation_id is None and len({i.organisation.id for i in found}) > 1:
        raise ValidationError(
            "Выберите организацию, от имени которой вы отвечаете.",
            details={"field": "organisation"},
        )
    invitation = found[0]
    if invitation.is_answered:
        raise ConflictError(ALREADY_ANSWERED, code="survey_already_answered")
    if not invitation.may_answer:
        raise PermissionDeniedError(
            "Отвечать на анкету от имени организации может пользователь с правом "
            "подписи или управления доступом по её договору."
        )
    if not is_open(survey, now):
        raise InvalidTransitionError(
            "Анкета не принимает ответы: срок анкетирования истёк или анкета закрыта.",
            code="survey_not_open",
        )
    known = {str(q.id) for q in survey.questions}
    stray = [k for k in answers if k not in known]
    if stray:
        raise ValidationError(
            "В ответе есть вопросы, которых нет в анкете: обновите страницу.",
            details={"questions": stray[:10]},
        )
    rows: list[SurveyAnswer] = []
    missing: list[str] = []
    for question in survey.questions:
        answer = _answer_of(question, list(answers.get(str(question.id), [])))
        if answer is None:
            if question.is_required:
                missing.append(str(question.position))
            continue
        rows.append(answer)
    if missing:
        raise ValidationError(
            "Ответьте на обязательные вопросы: " + ", ".join(missing) + ".",
            details={"missing": missing},
        )
    if not rows:
        raise ValidationError("Ответьте хотя бы на один вопрос.")
    response = SurveyResponse(
        survey_id=survey.id,
        organisation_id=invitation.organisation.id,
        user_id=actor.user_id,
    )
    response.answers = rows
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        # Another submission for the organisation committed first.
        raise ConflictError(ALREADY_ANSWERED, code="survey_already_answered") from None
    _audit(
        session,
        actor,
        "survey.answer",
        survey,
        {"organisation": str(invitation.organisation.id)},
    )
    return response


# -- results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: float  # of the respondents who answered the question


@dataclass(frozen=True)
class TextAnswer:
    organisation: str
    at: dt.datetime
    text: str


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int = 0
    bars: list[Bar] = field(default_factory=list)
    texts: list[TextAnswer] = field(default_factory=list)
    average: float | None = None


@dataclass
class Results:
    survey: Survey
    respondents: int
    targeted: int
    questions: list[QuestionResult]
    responses: list[SurveyResponse]
    organisations: dict[uuid.UUID, Organisation]
    users: dict[uuid.UUID, User]

    @property
    def response_rate(self) -> float:
        return 100.0 * self.respondents / self.targeted if self.targeted else 0.0


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def results(session: Session, *, actor: Actor, survey_id: uuid.UUID) -> Results:
    """Per question: the count and share of each option or scale value (the
    share of the organisations that answered the question), the average of a
    scale, the free-text answers; the respondents against the targeted."""
    survey = get_survey(session, actor=actor, survey_id=survey_id)
    responses = list(
        session.scalars(
            select(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id)
            .options(selectinload(SurveyResponse.answers))
            .order_by(SurveyResponse.created_at, SurveyResponse.id)
        )
    )
    org_ids = {r.organisation_id for r in responses}
    organisations = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_(org_ids))
        )
    }
    user_ids = {r.user_id for r in responses if r.user_id}
    users = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    by_question: dict[uuid.UUID, list[tuple[SurveyResponse, SurveyAnswer]]] = {}
    for r in responses:
        for a in r.answers:
            by_question.setdefault(a.question_id, []).append((r, a))
    out: list[QuestionResult] = []
    for q in survey.questions:
        given = by_question.get(q.id, [])
        result = QuestionResult(q, answered=len(given))
        if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            counts = [0] * len(q.options)
            for _, a in given:
                for i in a.choices or []:
                    if 0 <= i < len(counts):
                        counts[i] += 1
            result.bars = [
                Bar(o, c, _percent(c, len(given)))
                for o, c in zip(q.options, counts, strict=True)
            ]
        elif q.kind == QuestionKind.SCALE:
            counts = [0] * (q.scale_max or 0)
            for _, a in given:
                if a.scale and 1 <= a.scale <= len(counts):
                    counts[a.scale - 1] += 1
            result.bars = [
                Bar(str(i + 1), c, _percent(c, len(given)))
                for i, c in enumerate(counts)
            ]
            scores = [a.scale for _, a in given if a.scale]
            result.average = round(sum(scores) / len(scores), 2) if scores else None
        else:
            result.texts = [
                TextAnswer(
                    organisations[r.organisation_id].name
                    if r.organisation_id in organisations
                    else "",
                    r.created_at,
                    a.text or "",
                )
                for r, a in given
            ]
        out.append(result)
    return Results(
        survey,
        len(responses),
        len(targeted_organisation_ids(session, survey)),
        out,
        responses,
        organisations,
        users,
    )


def answer_text(question: SurveyQuestion, answer: SurveyAnswer | None) -> str:
    """An answer as a person reads it (the Excel sheet, the customer's copy)."""
    if answer is None:
        return ""
    if question.kind == QuestionKind.TEXT:
        return answer.text or ""
    if question.kind == QuestionKind.SCALE:
        return str(answer.scale) if answer.scale is not None else ""
    return "; ".join(
        question.options[i]
        for i in answer.choices or []
        if 0 <= i < len(question.options)
    )


def response_answers(response: SurveyResponse) -> dict[uuid.UUID, SurveyAnswer]:
    return {a.question_id: a for a in response.answers}


def open_count(
    invitations_: Iterable[Invitation], now: dt.datetime | None = None
) -> int:
    return sum(1 for i in invitations_ if is_open(i.survey, now) and not i.is_answered)
