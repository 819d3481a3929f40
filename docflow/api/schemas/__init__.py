"""The request and answer models of the REST API, one module per area.

They validate what a route reads (``docflow.api.errors``: bodies, ``meta``
parts, query parameters) and are what ``docflow.api.openapi`` writes the
OpenAPI document from; ``docflow.api.serialize`` builds the answers' dicts
that these models describe.
"""

from docflow.api.schemas import (
    appeals,
    certificates,
    common,
    documents,
    events,
    hourly,
    hourly_analysis,
    payments,
    planned,
    powers,
    readings,
    service_orders,
    signatures,
)
from docflow.api.schemas.fields import COMPONENTS

__all__ = [
    "COMPONENTS",
    "appeals",
    "certificates",
    "common",
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
]
