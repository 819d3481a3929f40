"""ППП — заявка на плановое почасовое потребление: the 24 values of a day, and
the requests of a period."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from docflow.api.schemas.fields import (
    QueryModel,
    RequestModel,
    ResponseModel,
    component,
)

DAY_SCHEMA = {"type": "string", "format": "date"}
HOURS_SCHEMA = {
    "type": "array",
    "minItems": 24,
    "maxItems": 24,
    "items": {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": 1000000},
            {"type": "string"},
        ]
    },
}


class PlannedHours(RequestModel):
    """The values are the service's to judge (``planned_services.submit``)."""

    hours: Annotated[Any, WithJsonSchema(HOURS_SCHEMA)] = Field(
        description="24 значения, кВт·ч: час 1 — 00:00–01:00 МСК; не меньше 0, до "
        "трёх знаков после запятой (строка «120,5» тоже принимается)."
    )


@component
class PlannedRequest(ResponseModel):
    contract: str = ""
    day: str
    status: Literal["draft", "submitted", "accepted", "overdue"]
    status_title: str = ""
    version: int = 0
    hours: list[str | None]
    total: str = ""
    deadline: str = ""
    submitted_at: str | None = None
    accepted_at: str | None = None
    created_version: bool = False


@component
class PlannedRequestList(ResponseModel):
    contract: str
    from_: str = Field(alias="from")
    to: str
    items: list[PlannedRequest]


class PlannedPeriod(QueryModel):
    """Read by the route (by default from today for 31 days)."""

    from_: Annotated[str, WithJsonSchema(DAY_SCHEMA)] = Field(
        "", alias="from", description="Первая дата."
    )
    to: Annotated[str, WithJsonSchema(DAY_SCHEMA)] = Field(
        "", description="Последняя дата."
    )
