"""The demo world's appeals: the topics of the supplier's catalogue and, for
the first customer, one appeal already answered, so that the history, the
card with its answer and the clerk's queue have something to show at once.

Idempotent: topics are matched by title, and the sample appeal is filed only
when the organisation has no appeal yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.appeals import services as svc
from docflow.appeals.models import Appeal, AppealTopic
from docflow.context import current_runtime
from docflow.contracts.models import Contract, Organisation

# (title, description, legally significant, hours)
TOPICS: list[tuple[str, str, bool, int]] = [
    (
        "Претензия по объёму потребления",
        "Несогласие с объёмом электроэнергии, предъявленным к оплате.",
        True,
        72,
    ),
    (
        "Перерыв в электроснабжении",
        "Отключение или ограничение электроснабжения объекта.",
        False,
        4,
    ),
    ("Вопрос по счёту", "Начисления, оплата, сверка расчётов.", False, 48),
    (
        "Изменение контактных данных",
        "Новые реквизиты, адреса, ответственные лица организации.",
        True,
        120,
    ),
    ("Прочие вопросы", "Любой другой вопрос по договору энергоснабжения.", False, 72),
]

SAMPLE_TEXT = (
    "Просим разъяснить начисления в счёте за прошлый месяц: сумма выше обычной "
    "на 18 %, хотя объём потребления не изменился."
)
SAMPLE_ANSWER = (
    "Рост суммы связан с изменением нерегулируемой цены на электроэнергию в "
    "прошлом месяце. Объём потребления учтён по переданным показаниям; "
    "детализация цены приложена к счёту."
)


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    """Add the topics and the sample answered appeal (see the module)."""
    topics: dict[str, AppealTopic] = {}
    for position, (title, description, significant, hours) in enumerate(TOPICS):
        topic = session.scalar(select(AppealTopic).where(AppealTopic.title == title))
        if topic is None:
            topic = AppealTopic(
                title=title,
                description=description,
                is_significant=significant,
                answer_hours=hours,
                is_active=True,
                position=position,
            )
            session.add(topic)
        topics[title] = topic
    session.flush()
    _sample_appeal(session, world, topics["Вопрос по счёту"])


def _sample_appeal(session: Session, world: dict[str, Any], topic: AppealTopic) -> None:

    customer = next(
        (u for u in world.get("users", []) if u.get("role") == "customer"), None
    )
    clerk_row = next(
        (u for u in world.get("users", []) if u.get("role") == "clerk"), None
    )
    if customer is None or clerk_row is None:
        return
    user = session.scalar(select(User).where(User.email == customer["email"]))
    clerk = session.scalar(select(User).where(User.email == clerk_row["email"]))
    org = session.scalar(
        select(Organisation).where(Organisation.inn == customer.get("organisation_inn"))
    )
    if user is None or clerk is None or org is None:
        return
    if (
        session.scalar(
            select(Appeal.id).where(Appeal.organisation_id == org.id).limit(1)
        )
        is not None
    ):
        return
    contract = session.scalar(
        select(Contract)
        .where(Contract.organisation_id == org.id)
        .order_by(Contract.number)
        .limit(1)
    )
    if contract is None:
        return
    runtime = current_runtime()
    appeal = svc.file_appeal(
        session,
        actor=Actor.for_user(user),
        runtime=runtime,
        topic_id=topic.id,
        contract_id=contract.id,
        text=SAMPLE_TEXT,
        contact_name=user.full_name,
        contact_phone=user.phone or "+7 495 000-00-00",
        source="demo",
    )
    staff = Actor.for_user(clerk)
    svc.take_into_work(session, actor=staff, appeal_id=appeal.id, runtime=runtime)
    svc.answer_appeal(
        session,
        actor=staff,
        runtime=runtime,
        appeal_id=appeal.id,
        text=SAMPLE_ANSWER,
    )
