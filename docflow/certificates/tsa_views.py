"""The embedded time-stamping authority over HTTP (RFC 3161 §3.4): ``/tsa``
answers ``application/timestamp-query``, ``/tsa/root.crt`` gives its root, so
that ``openssl ts`` can ask and verify too. Only in the embedded mode:
production's authority is another service (``TSA_URL``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from docflow.certificates.tsa import root_certificate_pem
from docflow.context import settings, state
from docflow.extensions import csrf, limiter
from signing.tsa import MAX_REQUEST_SIZE, QUERY_MIME, REPLY_MIME

bp = Blueprint("tsa", __name__)


@bp.post("/tsa")
@limiter.limit("120 per minute")
def answer_time_stamp_request() -> Response:
    """Answer ``application/timestamp-query`` with ``application/timestamp-reply``
    (only in the embedded mode: production's authority is another service)."""
    st = state()
    if st.settings.signatures.tsa_url:
        abort(404)
    if request.mimetype != QUERY_MIME:
        abort(415)
    if (request.content_length or 0) > MAX_REQUEST_SIZE:
        abort(413)
    body = request.stream.read(MAX_REQUEST_SIZE + 1)
    return Response(
        st.runtime.timestamper.respond(body[: MAX_REQUEST_SIZE + 1]),
        mimetype=REPLY_MIME,
    )


# An RFC 3161 client posts a query, not a form, and holds no session cookie.
# Exempted by a call rather than as a decorator: Flask-WTF ships no
# annotations, and its decorator would leave the view untyped.
csrf.exempt(answer_time_stamp_request)


@bp.get("/tsa/root.crt")
def embedded_root() -> Response:
    """The embedded authority's root certificate (``openssl ts -verify -CAfile``)."""
    pem = root_certificate_pem(settings())
    if pem is None or settings().signatures.tsa_url:
        abort(404)
    return Response(pem, mimetype="application/x-pem-file")
