"""«Регистрация сертификата» and the administrator's trust store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from docflow.access.web import admin_required, staff_required
from docflow.certificates import services as svc
from docflow.certificates.forms import CertificateUploadForm, TrustAnchorForm
from docflow.db import transaction
from docflow.errors import DocflowError
from docflow.web import current_actor, db_session, settings, trust

bp = Blueprint(
    "certificates", __name__, url_prefix="/certificates", template_folder="templates"
)

MAX_CERT_BYTES = 256 * 1024

#: RFC 5280 §4.2.1.3 key usage bits (asn1crypto's names), as people read them.
KEY_USAGE_TITLES = {
    "digital_signature": "цифровая подпись",
    "non_repudiation": "неотрекаемость",
    "content_commitment": "неотрекаемость",
    "key_encipherment": "шифрование ключей",
    "data_encipherment": "шифрование данных",
    "key_agreement": "согласование ключей",
    "key_cert_sign": "подпись сертификатов",
    "crl_sign": "подпись списков отзыва",
    "encipher_only": "только зашифрование",
    "decipher_only": "только расшифрование",
}

#: Key algorithms (signing.CertificateInfo.public_key_algorithm) by their names.
KEY_ALGORITHM_TITLES = {
    "rsa": "RSA",
    "ec": "ECDSA",
    "ed25519": "Ed25519",
    "ed448": "Ed448",
    "dsa": "DSA",
    "gost2012-256": "ГОСТ Р 34.10-2012",
    "gost2012-512": "ГОСТ Р 34.10-2012",
    "gost2001": "ГОСТ Р 34.10-2001",
}

#: The outcome of the check made at registration (signing.Verdict values): a
#: fact about that moment, beside the certificate's status now.
VERDICT_TITLES = {
    "valid": "пройдена",
    "invalid": "не пройдена",
    "indeterminate": "не завершена",
}


@bp.app_template_filter("key_usage")
def key_usage_title(usage: Iterable[str]) -> str:
    """«цифровая подпись, неотрекаемость»; an unknown bit keeps its name."""
    return ", ".join(KEY_USAGE_TITLES.get(u, u) for u in usage) or "—"


@bp.app_template_filter("key_algorithm")
def key_algorithm_title(algorithm: str) -> str:
    return KEY_ALGORITHM_TITLES.get(algorithm, algorithm.upper())


@bp.app_template_filter("certificate_verdict")
def verdict_title(verdict: str) -> str:
    return VERDICT_TITLES.get(verdict, verdict)


@bp.get("/")
@login_required
def list_certificates() -> Any:
    s = db_session()
    certs = svc.list_certificates(s, actor=current_actor())
    return render_template(
        "certificates/list.html",
        certs=certs,
        form=CertificateUploadForm(),
        status_of=svc.status_of,
    )


@bp.post("/")
@login_required
def register() -> Any:
    form = CertificateUploadForm()
    s = db_session()
    if not form.validate_on_submit():
        certs = svc.list_certificates(s, actor=current_actor())
        return render_template(
            "certificates/list.html", certs=certs, form=form, status_of=svc.status_of
        ), 422
    data = form.certificate.data.read(MAX_CERT_BYTES + 1)
    if len(data) > MAX_CERT_BYTES:
        form.certificate.errors = ["Файл слишком велик для сертификата."]
        return render_template(
            "certificates/list.html", certs=[], form=form, status_of=svc.status_of
        ), 413
    try:
        with transaction(s):
            result = svc.register_certificate(
                s,
                actor=current_actor(),
                data=data,
                trust=trust(),
                revocation=settings().revocation_mode,
            )
    except DocflowError as exc:
        form.certificate.errors = [exc.message]
        certs = svc.list_certificates(s, actor=current_actor())
        return render_template(
            "certificates/list.html", certs=certs, form=form, status_of=svc.status_of
        ), 422
    if result.accepted:
        assert result.certificate is not None
        flash(
            "Сертификат зарегистрирован: им можно подписывать документы организации "
            f"{result.organisation.name if result.organisation else ''}.",
            "success",
        )
        return redirect(
            url_for("certificates.card", certificate_id=result.certificate.id)
        )
    return render_template("certificates/refused.html", result=result), 422


@bp.get("/<uuid:certificate_id>")
@login_required
def card(certificate_id: uuid.UUID) -> Any:
    s = db_session()
    cert = svc.get_certificate(s, actor=current_actor(), certificate_id=certificate_id)
    info = svc.inspect_upload(cert.der)
    return render_template(
        "certificates/card.html",
        cert=cert,
        info=info,
        status=svc.status_of(cert),
        qualified=svc.qualified_status(cert, trust=trust()),
    )


@bp.post("/<uuid:certificate_id>/revoke")
@login_required
def revoke(certificate_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        svc.revoke_certificate(s, actor=current_actor(), certificate_id=certificate_id)
    flash("Регистрация сертификата отозвана: подписывать им больше нельзя.", "info")
    return redirect(url_for("certificates.card", certificate_id=certificate_id))


def _trust_page() -> Any:
    """The trust store; after «Проверить доступность» (a POST) with the state of
    each CRL and OCSP endpoint."""
    anchors = svc.list_trust_anchors(db_session(), trust())
    endpoints = (
        svc.check_revocation_endpoints(anchors) if request.method == "POST" else None
    )
    return render_template(
        "certificates/trust.html",
        anchors=anchors,
        form=TrustAnchorForm(),
        revocation_mode=settings().revocation_mode,
        endpoints=endpoints,
    )


@bp.get("/trust")
@staff_required
def trust_store_page() -> Any:
    return _trust_page()


@bp.post("/trust/check")
@staff_required
def trust_check() -> Any:
    return _trust_page()


@bp.post("/trust")
@admin_required
def trust_add() -> Any:
    form = TrustAnchorForm()
    s = db_session()
    if form.validate_on_submit():
        try:
            with transaction(s):
                anchor = svc.add_trust_anchor(
                    s,
                    actor=current_actor(),
                    data=form.certificate.data.read(MAX_CERT_BYTES),
                )
        except DocflowError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Добавлен доверенный сертификат: {anchor.subject}", "success")
    else:
        for err in form.certificate.errors:
            flash(str(err), "error")
    return redirect(url_for("certificates.trust_store_page"))


@bp.post("/trust/<sha1>/remove")
@admin_required
def trust_remove(sha1: str) -> Any:
    s = db_session()
    with transaction(s):
        svc.remove_trust_anchor(s, actor=current_actor(), thumbprint=sha1)
    flash("Сертификат удалён из списка доверенных.", "info")
    return redirect(url_for("certificates.trust_store_page"))
