"""The demo world's catalogue of commercial services: four services a
legal-entity customer of an electricity supplier orders most, with the fields
each order needs, so that «Услуги» has something to order at once.

Idempotent: services are matched by their code; an existing one is left as
the administrator may have changed it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.service_orders.models import Service


def _f(
    key: str,
    label: str,
    kind: str,
    required: bool = True,
    choices: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "type": kind,
        "required": required,
        "choices": choices or [],
    }


ADDRESS = _f("f1", "Адрес объекта", "text")
METER = _f("f2", "Номер прибора учёта", "text", required=False)

# (code, name, description, price with VAT in kopecks, unit, fields)
SERVICES: list[tuple[str, str, str, int, str, list[dict[str, Any]]]] = [
    (
        "meter-replacement",
        "Замена прибора учёта",
        "Демонтаж неисправного или выработавшего срок прибора учёта, установка и "
        "программирование нового, опломбирование и оформление акта допуска в эксплуатацию.",
        1_850_000,
        "прибор",
        [
            ADDRESS,
            METER,
            _f(
                "f3",
                "Тип прибора",
                "choice",
                choices=[
                    "однофазный",
                    "трёхфазный прямого включения",
                    "трёхфазный трансформаторного включения",
                ],
            ),
            _f("f4", "Желаемая дата выезда", "date"),
        ],
    ),
    (
        "meter-check",
        "Проверка схемы подключения прибора учёта",
        "Выезд специалиста, инструментальная проверка схемы подключения и погрешности "
        "измерительного комплекса, протокол проверки.",
        650_000,
        "точка учёта",
        [
            ADDRESS,
            METER,
            _f("f3", "Желаемая дата выезда", "date"),
        ],
    ),
    (
        "document-copies",
        "Выдача копий документов",
        "Заверенные копии счетов, актов, договора и приложений к нему; срок подготовки — "
        "до пяти рабочих дней.",
        30_000,
        "лист",
        [
            _f("f1", "Какие документы нужны", "text"),
            _f("f2", "Период", "text", required=False),
            _f(
                "f3",
                "Способ получения",
                "choice",
                choices=["в офисе поставщика", "почтой", "электронная копия"],
            ),
        ],
    ),
    (
        "restriction-resume",
        "Установка ограничения / возобновление режима потребления",
        "Введение ограничения режима потребления по заявке потребителя или возобновление "
        "подачи электроэнергии после ограничения.",
        420_000,
        "операция",
        [
            ADDRESS,
            _f(
                "f2",
                "Действие",
                "choice",
                choices=["установка ограничения", "возобновление режима потребления"],
            ),
            _f("f3", "Желаемая дата", "date"),
            _f("f4", "Мощность после ограничения, кВт", "number", required=False),
        ],
    ),
]


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    """Add the demo services that are missing (called in a transaction)."""
    existing = set(session.scalars(select(Service.code)))
    for position, (code, name, description, price, unit, fields) in enumerate(SERVICES):
        if code in existing:
            continue
        session.add(
            Service(
                code=code,
                name=name,
                description=description,
                price_kopecks=price,
                vat_rate=20,
                unit=unit,
                fields=fields,
                is_active=True,
                position=(position + 1) * 10,
            )
        )
    session.flush()
    world["services"] = [name for _c, name, *_rest in SERVICES]
