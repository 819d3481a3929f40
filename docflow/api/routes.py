"""The API's route modules, all of them: each registers its operations on the
blueprint (:func:`docflow.api.base.operation`) when it is imported, so that
importing this module is what both the registration of the blueprint and the
generation of the OpenAPI document need."""

from docflow.api import (
    appeals,
    certificates,
    documents,
    events,
    hourly,  # hourly volumes (docflow.readings.hourly_*)
    hourly_analysis,  # «Почасовой анализ» (docflow.readings.hourly_analysis)
    payments,  # online payment (docflow.payments)
    planned,  # ППП (docflow.readings.planned_*)
    powers,
    readings,
    service_orders,
    signatures,
    verify,
)

__all__ = [
    "appeals",
    "certificates",
    "documents",
    "events",
    "hourly",
    "hourly_analysis",
    "payments",
    "planned",
    "powers",
    "readings",
    "service_orders",
    "signatures",
    "verify",
]
