"""Shapes shared by several areas: the error envelope, a stored file, and the
short references to a contract and an organisation inside an answer."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from docflow.api.schemas.fields import FreeObject, ResponseModel, component
from docflow.documents.models import FileRole


def example(value: Any) -> dict[str, Any]:
    """``Field(json_schema_extra=example(...))``: OpenAPI 3.0's ``example``."""
    return {"example": value}


class ErrorBody(ResponseModel):
    code: str = Field(json_schema_extra=example("not_found"))
    message: str = Field(json_schema_extra=example("Документ не найден."))
    details: FreeObject


@component
class Error(ResponseModel):
    """Every refusal: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


@component
class File(ResponseModel):
    id: uuid.UUID
    role: FileRole
    filename: str
    content_type: str
    size: int
    sha256: str
    revision: int


class ContractRef(ResponseModel):
    id: uuid.UUID
    number: str


class OrganisationRef(ResponseModel):
    id: uuid.UUID
    name: str
    inn: str
