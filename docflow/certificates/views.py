"""«Регистрация сертификата» and the administrator's trust store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import and_, false, or_, select

from docflow.access import visible_powers
from docflow.access.web import admin_required, staff_required
from docflow.certificates import services as svc
from docflow.certificates import truststore
from docflow.certificates.forms import (
    CertificateUploadForm,
    CrlUploadForm,
    TrustAnchorForm,
)
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.db import transaction
from docflow.errors import DocflowError
from docflow.powers.forms import (
    MAX_SIGNATURE_BYTES,
    MAX_XML_BYTES,
    SIGNATURE_TOO_LARGE,
    XML_TOO_LARGE,
    read_upload,
)
from docflow.powers.models import PowerOfAttorney
from docflow.powers.services import Holder, upload_power
from docflow.powers.services import status_of as power_status

bp = Blueprint(
    "certificates", __name__, url_prefix="/certificates", template_folder="templates"
)

MAX_CERT_BYTES = 256 * 1024
#: A CRL of a large CA runs to tens of megabytes.
MAX_CRL_BYTES = 64 * 1024 * 1024

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


def _list_page(form: CertificateUploadForm, status: int) -> Any:
    certs = svc.list_certificates(db_session(), actor=current_actor())
    return render_template(
        "certificates/list.html", certs=certs, form=form, status_of=svc.status_of
    ), status


class _Refused(Exception):
    """A refused registration inside the transaction: nothing of it, nor of
    the МЧД uploaded with it, may stay."""

    def __init__(self, result: svc.Registration) -> None:
        super().__init__()
        self.result = result


@bp.post("/")
@login_required
def register() -> Any:
    form = CertificateUploadForm()
    s = db_session()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    data = form.certificate.data.read(MAX_CERT_BYTES + 1)
    if len(data) > MAX_CERT_BYTES:
        form.certificate.errors = ["Файл слишком велик для сертификата."]
        return _list_page(form, 413)
    power_files: tuple[bytes, bytes] | None = None
    if form.power_xml.data and form.power_signature.data:
        xml, problem = read_upload(form.power_xml.data, MAX_XML_BYTES, XML_TOO_LARGE)
        if problem:
            form.power_xml.errors = [problem]
            return _list_page(form, 413)
        sig, problem = read_upload(
            form.power_signature.data, MAX_SIGNATURE_BYTES, SIGNATURE_TOO_LARGE
        )
        if problem:
            form.power_signature.errors = [problem]
            return _list_page(form, 413)
        assert xml is not None and sig is not None
        power_files = (xml, sig)
    power_step = False
    try:
        with transaction(s):
            power = None
            if power_files is not None:
                info = svc.inspect_upload(data)
                power_step = True
                power, _ = upload_power(
                    s,
                    actor=current_actor(),
                    xml=power_files[0],
                    signature=power_files[1],
                    runtime=current_runtime(),
                    certificate=info,
                )
                power_step = False
            result = svc.register_certificate(
                s,
                actor=current_actor(),
                data=data,
                runtime=current_runtime(),
            )
            if not result.accepted:
                raise _Refused(result)  # rolls the МЧД back as well
            assert result.certificate is not None
            if power is not None and power.certificate_id is None:
                power.certificate_id = result.certificate.id
    except _Refused as refused:
        return render_template(
            "certificates/refused.html",
            result=refused.result,
            with_power=power_files is not None,
        ), 422
    except DocflowError as exc:
        if not power_step:
            form.certificate.errors = [exc.message]
        elif exc.code.endswith("_signature"):
            form.power_signature.errors = [exc.message]
        else:
            form.power_xml.errors = [exc.message]
        return _list_page(form, 422)
    assert result.certificate is not None
    flash(
        "Сертификат зарегистрирован: им можно подписывать документы организации "
        f"{result.organisation.name if result.organisation else ''}"
        + (" по доверенности." if power is not None else "."),
        "success",
    )
    return redirect(url_for("certificates.card", certificate_id=result.certificate.id))


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
        qualified=svc.qualified_status(
            cert, trust=current_runtime().trust(db_session())
        ),
        powers=_powers_of(cert),
        power_status=power_status,
    )


def _powers_of(cert: Any) -> list[PowerOfAttorney]:
    """The МЧД the user may see that were uploaded with this certificate or
    name its holder as a representative of its organisation."""
    holder = Holder.of(cert)
    naming = (
        and_(
            PowerOfAttorney.organisation_id == cert.organisation_id,
            holder.conditions(),
        )
        if holder.snils or holder.inn
        else false()
    )
    found = db_session().scalars(
        select(PowerOfAttorney)
        .where(
            visible_powers(current_actor()),
            or_(PowerOfAttorney.certificate_id == cert.id, naming),
        )
        .order_by(PowerOfAttorney.created_at.desc())
    )
    return [
        p
        for p in found
        if p.certificate_id == cert.id
        or any(holder.matches(r) for r in p.representatives)
    ]


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
    s = db_session()
    anchors = svc.list_trust_anchors(s, current_runtime().trust(db_session()))
    endpoints = (
        svc.check_revocation_endpoints(anchors) if request.method == "POST" else None
    )
    return render_template(
        "certificates/trust.html",
        anchors=anchors,
        crls=truststore.list_revocation_lists(s),
        downloads=truststore.list_crl_downloads(s),
        form=TrustAnchorForm(),
        crl_form=CrlUploadForm(),
        revocation_mode=settings().signatures.revocation_mode,
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


@bp.post("/trust/crl")
@admin_required
def trust_add_crl() -> Any:
    """Upload a CRL: every node uses it at its next validation."""
    form = CrlUploadForm()
    s = db_session()
    if not form.validate_on_submit():
        for err in form.crl.errors:
            flash(str(err), "error")
        return redirect(url_for("certificates.trust_store_page"))
    data = form.crl.data.read(MAX_CRL_BYTES + 1)
    if len(data) > MAX_CRL_BYTES:
        flash(gettext("Файл слишком велик для списка отзыва (больше 64 МБ)."), "error")
        return redirect(url_for("certificates.trust_store_page"))
    try:
        with transaction(s):
            added = truststore.add_revocation_list(s, actor=current_actor(), data=data)
            issuer, number = added.row.issuer, added.row.number or "—"
    except DocflowError as exc:
        flash(exc.message, "error")
    else:
        if added.added:
            flash(
                gettext(
                    "Добавлен список отзыва: %(issuer)s, № %(number)s.",
                    issuer=issuer,
                    number=number,
                ),
                "success",
            )
        else:
            flash(
                gettext(
                    "Такой или более новый список отзыва уже загружен: "
                    "%(issuer)s, № %(number)s.",
                    issuer=issuer,
                    number=number,
                ),
                "info",
            )
    return redirect(url_for("certificates.trust_store_page"))


@bp.post("/trust/crl/refresh")
@admin_required
def trust_refresh_crls() -> Any:
    """«Обновить списки отзыва»: download each CRL again now, once for the
    whole cluster."""
    s = db_session()
    with transaction(s):
        outcomes = truststore.refresh_downloaded_crls(
            s,
            actor=current_actor(),
            allow_private_fetch=settings().signatures.allow_private_fetch,
        )
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        flash(
            gettext(
                "Список отзыва %(url)s не загружен: %(reason)s",
                url=outcome.url,
                reason=outcome.detail,
            ),
            "error",
        )
    flash(
        gettext(
            "Списки отзыва обновлены: %(done)s из %(total)s.",
            done=len(outcomes) - len(failed),
            total=len(outcomes),
        )
        if outcomes
        else gettext(
            "Списки отзыва будут загружены заново при следующей проверке подписи."
        ),
        "success" if not failed else "info",
    )
    return redirect(url_for("certificates.trust_store_page"))


@bp.post("/trust/<sha1>/remove")
@admin_required
def trust_remove(sha1: str) -> Any:
    s = db_session()
    with transaction(s):
        svc.remove_trust_anchor(s, actor=current_actor(), thumbprint=sha1)
    flash("Сертификат удалён из списка доверенных.", "info")
    return redirect(url_for("certificates.trust_store_page"))
