"""Certificates of the key's organisation."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from docflow.api.schemas.common import OrganisationRef
from docflow.api.schemas.fields import (
    Binary,
    FreeObject,
    RequestModel,
    ResponseModel,
    component,
)


@component
class Certificate(ResponseModel):
    id: uuid.UUID
    organisation: OrganisationRef
    owner: str
    organisation_name: str | None
    title: str | None
    inn: str | None
    inn_le: str | None
    ogrn: str | None
    snils: str | None
    serial: str
    issuer: str
    sha1: str
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: Literal["active", "revoked"]
    verdict: str
    registered_at: dt.datetime
    revoked_at: dt.datetime | None


@component
class CertificateRegistration(ResponseModel):
    certificate: Certificate
    validation: FreeObject


@component
class CertificateList(ResponseModel):
    items: list[Certificate]


class CertificateFile(RequestModel):
    """A certificate as the part ``file`` of a multipart body."""

    file: Binary
