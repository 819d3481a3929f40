"""The OpenAPI description and the interactive documentation page."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template

from docflow.api.base import bp
from docflow.api.openapi import openapi_json as generated_document
from docflow.api.readings import readings_available

# The docs page is the one place that needs more than the app's strict policy:
# Swagger UI sets inline styles. Scripts stay same-origin only.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)


@bp.get("/openapi.json")
def openapi_json() -> Any:
    # Generated once per process from the routes and their models.
    response = Response(
        generated_document(server_url="/api/v1", readings=readings_available()),
        mimetype="application/json",
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/docs")
def docs() -> Any:
    response = render_template("api/docs.html")
    return response, 200, {"Content-Security-Policy": DOCS_CSP}
