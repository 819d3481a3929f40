"""No 5xx, proven (issue 16, item 8): the whole cabinet, crawled.

1. Every GET route of the URL map (but static files and ``/api/v1``, which the
   schemathesis suite covers) is opened by every role — anonymous, a signatory
   and contract administrator of ООО «Ромашка» (A), a member of A with the view
   right only, a user of АО «Василёк» (B), a clerk and an administrator of the
   supplier — with the ids of A's objects and with random UUIDs, and the
   outcome is compared with :data:`GET_TABLE` / :data:`RANDOM_TABLE`. A route
   without an entry fails the test: every new route gets classified.
2. Every POST route is posted by the role that may use it, with bodies
   hypothesis makes hostile — empty, 100 kB strings, control characters, lone
   surrogates (as clients send them: UTF-8-encoded in a form, ``\\udXXX`` in
   JSON), JSON nested 2,000 deep, wrong types, huge numbers, random UUIDs, odd
   files — plus fixed bodies that are valid but for one NUL. Never a 5xx; a
   JSON route answers JSON, with ``{"error": {"code", "message", "details"}}``
   on a 4xx.

A 5xx is reported with the last line of the traceback the app logged.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from asn1crypto import tsp
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing import Rule

from docflow.access import Actor
from docflow.accounts.models import Role, TokenPurpose, User
from docflow.accounts.services import create_token
from docflow.api.services import create_api_key
from docflow.certificates.services import add_trust_anchor
from docflow.content import services as content_services
from docflow.context import current_runtime
from docflow.contracts.details import add_restriction
from docflow.contracts.invitations import invite
from docflow.contracts.models import ContractAccess, ContractAccessRequest
from docflow.db import transaction
from docflow.extensions import limiter
from docflow.outbox.services import notify_in_app
from docflow.payments.models import FakeAcquiringPayment, OnlinePayment
from docflow.powers.services import upload_power
from docflow.readings import services as rsvc
from signing import pki
from tests.factories import grant, make_user
from tests.functional.power_support import signed_power
from tests.functional.test_appeals import crawl_appeals
from tests.functional.test_document_flow import load
from tests.functional.test_hourly_analysis import crawl_control
from tests.functional.test_hourly_points import crawl_hourly
from tests.functional.test_planned import crawl_planned
from tests.functional.test_readings_world import (
    NOW,
    PERIOD,
    PERIOD_KEY,
    Readings,
    keys,
    readings,
    world,
    xlsx_bytes,
)
from tests.functional.test_service_orders import crawl_service_orders
from tests.functional.test_surveys import crawl_surveys
from tests.functional.world import (
    PASSWORD,
    World,
    act_pdf,
    new_document,
    register_cert,
)

__all__ = ["keys", "readings", "world"]

ROLES = ("anonymous", "signer_a", "viewer_a", "signer_b", "clerk", "admin")
SKIPPED_PREFIXES = ("/static/", "/api/v1/")  # files; the API has schemathesis

# -- the world ------------------------------------------------------------------------


@dataclass
class Site:
    """The readings world with something of every kind on A's contract."""

    w: World
    users: dict[str, User]
    ids: dict[str, Any] = field(default_factory=dict)
    #: Tokens are spent when used: a new one for every request.
    tokens: dict[str, Callable[[], str]] = field(default_factory=dict)
    #: The МЧД of A on file and its signature, to post again.
    power_files: tuple[bytes, bytes] = (b"", b"")

    @property
    def app(self) -> Flask:
        return self.w.app

    def client(self, who: str) -> FlaskClient:
        client = self.app.test_client()
        if who != "anonymous":
            resp = client.post(
                "/account/login",
                data={"email": self.users[who].email, "password": PASSWORD},
            )
            assert resp.status_code == 302, f"{who} could not log in"
        return client

    def document(self, by: str = "clerk") -> uuid.UUID:
        return new_document(self.w, by=self.users[by], title=f"Акт {by}")


def _token(site: Site, purpose: TokenPurpose, who: str | None, **payload: Any) -> str:
    with site.app.app_context():
        s = site.w.session()
        with transaction(s):
            user = s.merge(site.users[who]) if who else None
            raw = create_token(s, purpose=purpose, user=user, payload=payload)
        s.close()
    return raw


@pytest.fixture()
def site(readings: Readings) -> Site:
    """Besides the readings world: an administrator, a spare member of A (the
    target of access changes), a user who asked for access, news, a FAQ entry,
    a restriction, invitations, an API key, a trust anchor, a notification,
    an uploaded readings form, a signing session and an МЧД of A uploaded by
    its signatory."""

    w = readings.w
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            admin = make_user(
                s,
                email="admin@energosbyt.example",
                last_name="Кузнецов",
                first_name="Андрей",
                role=Role.ADMIN,
            )
            spare = make_user(
                s,
                email="spare@romashka.example",
                last_name="Орлова",
                first_name="Ольга",
            )
            requester = make_user(
                s,
                email="requester@romashka.example",
                last_name="Орлов",
                first_name="Олег",
            )
            grant(s, user=spare, contract=w.contract_a)
        s.expunge_all()
        s.close()
    users = {
        "signer_a": w.signer_a,
        "viewer_a": w.viewer_a,
        "signer_b": w.signer_b,
        "clerk": w.clerk,
        "admin": admin,
        "spare_a": spare,
        "requester": requester,
    }
    site = Site(w, users)
    doc_id = site.document()
    cert = register_cert(w, w.signer_a, w.keys.signer_a).certificate
    spare_cert = register_cert(w, w.signer_a, w.keys.signer_a_ec).certificate
    ids: dict[str, Any] = {
        "document_id": doc_id,
        "file_id": load(w, doc_id).main_file.id,
        "certificate_id": cert.id,
        "spare_certificate_id": spare_cert.id,
        "contract_id": w.contract_a.id,
        "meters": list(readings.meters.values()),
    }
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            admin = s.merge(admin)
            signer_a = s.merge(w.signer_a)
            contract = s.merge(w.contract_a)
            news = content_services.save_news(
                s,
                user=admin,
                news_id=None,
                title="Плановые работы",
                body="Текст",
                published_on=dt.date(2026, 11, 1),
                is_published=True,
            )
            faq = content_services.save_faq(
                s,
                user=admin,
                entry_id=None,
                question="Как подписать?",
                answer="Сертификатом.",
                position=1,
                is_published=True,
            )
            restriction = add_restriction(
                s,
                contract=contract,
                user=admin,
                date_from=dt.date(2026, 12, 1),
                date_to=dt.date(2026, 12, 2),
                time_from="09:00",
                time_to="18:00",
                limit_kw=100,
                reason="Ремонт подстанции",
            )
            invitations = {
                email: invite(
                    s,
                    contract=contract,
                    user=signer_a,
                    email=email,
                    rights={"can_view": True},
                    runtime=current_runtime().replace(base_url="http://localhost"),
                ).id
                for email in ("newcomer@romashka.example", requester.email)
            }
            request = ContractAccessRequest(
                contract_id=contract.id, user_id=requester.id
            )
            s.add(request)
            spare_access = s.scalar(
                select(ContractAccess).where(ContractAccess.user_id == spare.id)
            )
            made = create_api_key(
                s,
                user=signer_a,
                organisation=contract.organisation,
                name="1С",
                scopes=["read"],
            )
            anchor = add_trust_anchor(
                s, actor=Actor.for_user(admin), data=w.keys.foreign_root.der
            )
            notify_in_app(s, users=[signer_a], kind="test", title="Проверка")
            _, power_xml, power_sig = signed_power(w)
            power, _ = upload_power(
                s,
                actor=Actor.for_user(signer_a),
                xml=power_xml,
                signature=power_sig,
                runtime=current_runtime(),
            )
            upload = rsvc.upload_form(
                s,
                actor=Actor.for_user(signer_a),
                storage=w.storage,
                contract_id=contract.id,
                period=PERIOD,
                filename="форма.xlsx",
                data=xlsx_bytes([["не та форма"]]),
                now=NOW,
            )
            s.flush()
            assert spare_access is not None
            ids.update(
                news_id=news.id,
                entry_id=faq.id,
                restriction_id=restriction.id,
                invitation_id=invitations[requester.email],
                request_id=request.id,
                access_id=spare_access.id,
                key_id=made.key.id,
                sha1=anchor.sha1,
                upload_id=upload.id,
                power_id=power.id,
            )
        s.close()
    prepared = site.client("signer_a").post(
        f"/documents/{doc_id}/sign/prepare", json={"certificate_id": str(cert.id)}
    )
    assert prepared.status_code == 200, prepared.get_data(as_text=True)
    ids["session_id"] = prepared.json["session_id"]
    # surveys (docflow.surveys): one published to A's contract, a draft
    ids.update(crawl_surveys(w, admin))
    ids.update(_online_payment(site))  # online payment (docflow.payments)
    # appeals (docflow.appeals): topics and an appeal of A's signatory
    ids.update(crawl_appeals(w))
    # service orders (docflow.service_orders): a service, an order of A's signatory
    ids.update(crawl_service_orders(w))
    # ППП (docflow.readings.planned_*): a request of A's contract, submitted
    ids.update(crawl_planned(w))
    # hourly volumes (docflow.readings.hourly_*): a kept upload, an unmapped point
    ids.update(crawl_hourly(w))
    # hourly analysis: the latest control measurement of A, uploaded as a file
    crawl_control(readings)
    site.ids = ids
    site.power_files = (power_xml, power_sig)
    newcomer = str(invitations["newcomer@romashka.example"])
    invited = str(invitations[requester.email])
    site.tokens = {
        "confirm": lambda: _token(site, TokenPurpose.CONFIRM_EMAIL, "requester"),
        "reset": lambda: _token(site, TokenPurpose.RESET_PASSWORD, "requester"),
        "change": lambda: _token(
            site,
            TokenPurpose.CHANGE_EMAIL,
            "requester",
            email="requester2@romashka.example",
        ),
        "newcomer": lambda: _token(
            site, TokenPurpose.INVITATION, None, invitation_id=newcomer
        ),
        "invited": lambda: _token(
            site, TokenPurpose.INVITATION, "requester", invitation_id=invited
        ),
    }
    return site


# -- online payment (docflow.payments) ---------------------------------------------------


@pytest.fixture(autouse=True)
def _fake_acquirer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake acquirer on PostgreSQL too (there it needs PAYMENT_FAKE=1)."""

    state = app.extensions["docflow"]
    monkeypatch.setattr(
        state, "settings", state.settings.replace(payment_fake=True, payment_url=None)
    )


def _online_payment(site: Site) -> dict[str, Any]:
    """A payment of A's signatory sent to the fake acquirer: its id and the
    fake's page."""

    client = site.client("signer_a")
    page = client.get(f"/payments/new?contract={site.w.contract_a.id}")
    key = re.search(
        r'name="idempotency_key" type="hidden" value="([^"]+)"',
        page.get_data(as_text=True),
    )
    assert key, page.status_code
    resp = client.post(
        "/payments/new",
        data={
            "contract": str(site.w.contract_a.id),
            "amount": "1000",
            "idempotency_key": key.group(1),
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    with site.app.app_context():
        s = site.w.session()
        payment = s.scalars(select(OnlinePayment)).one()
        fake = s.scalars(select(FakeAcquiringPayment)).one()
        s.close()
    return {"payment_id": payment.id, "form_id": fake.page_token}


# -- finding a 5xx's cause ---------------------------------------------------------------


class ErrorLog(logging.Handler):
    """The app's «unhandled error» records (docflow.errors), with tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def last_line(self) -> str:
        """The exception of the last record and where it was raised."""
        for record in reversed(self.records):
            if record.exc_info and (exc := record.exc_info[1]) is not None:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                line = (
                    f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
                )
                return line[:400]
        return "(no traceback logged)"


@pytest.fixture()
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger("docflow.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def crawled_rules(app: Flask, method: str) -> list[Rule]:
    return [
        rule
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if method in (rule.methods or ())
        and not rule.rule.startswith(SKIPPED_PREFIXES)
        and rule.endpoint != "static"
    ]


def path_arguments(rule: Rule) -> set[str]:
    return set(rule.arguments) - set(rule.defaults or {})


def choices(rule: Rule, name: str) -> list[str]:
    """The values of an ``any(...)`` argument."""
    return sorted(rule._converters[name].items)  # type: ignore[attr-defined]


_ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")


def build_url(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's path with ``values`` percent-encoded in, whatever they hold
    (url_for refuses lone surrogates, and they are the point here)."""

    def encode(match: re.Match[str]) -> str:
        raw = str(values[match.group(1)])
        return quote(raw.encode("utf-8", "surrogatepass"), safe="")

    return _ARGUMENT.sub(encode, rule.rule)


# -- 1. every GET route, every role --------------------------------------------------------

LOGIN = "login"  # 302 to /account/login
HOME = "302:/"  # 302 to the main page
GONE = (LOGIN, 404, 404, 404, 404, 404)  # a random id: nobody finds it
BAD_TOKEN = (400,) * 6  # a link with an unknown token

# The outcome of a GET for each role, in the order of ROLES, with the ids of
# A's objects; "302:/path" is a redirect there, "302:/path*" one under it.
# Customers get 404 on the supplier's pages, clerks 403 on the administrator's.
# News, FAQ and contacts are public pages, so their editing is refused with 403
# to everyone but an administrator (docflow.content.views).
# fmt: off
GET_TABLE: dict[str, tuple[int | str, ...]] = {
    # endpoint                           anonymous signer_a viewer_a signer_b clerk admin
    "dashboard.index":                        (LOGIN, 200, 200, 200, 200, 200),
    "dashboard.healthz":                      (200, 200, 200, 200, 200, 200),
    "dashboard.set_language":                 (HOME, HOME, HOME, HOME, HOME, HOME),
    "dashboard.notifications":                (LOGIN, 200, 200, 200, 200, 200),
    "accounts.captcha_challenge":        (200, 200, 200, 200, 200, 200),
    "accounts.login":                    (200, HOME, HOME, HOME, HOME, HOME),
    "accounts.register":                 (200, HOME, HOME, HOME, HOME, HOME),
    "accounts.forgot_password":          (200, 200, 200, 200, 200, 200),
    "accounts.resend_confirmation":      (200, 200, 200, 200, 200, 200),
    "accounts.reset_password":           (200, 200, 200, 200, 200, 200),
    "accounts.confirm":                  (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "accounts.confirm_email_change":     (LOGIN, *("302:/account/profile",) * 5),
    "accounts.profile":                  (LOGIN, 200, 200, 200, 200, 200),
    "profile.subscriptions":             (LOGIN, 200, 200, 200, 200, 200),
    "api_keys.index":                    (LOGIN, 200, 200, 200, 200, 200),
    "content.news":                      (200, 200, 200, 200, 200, 200),
    "content.news_item":                 (200, 200, 200, 200, 200, 200),
    "content.faq":                       (200, 200, 200, 200, 200, 200),
    "content.contacts":                  (200, 200, 200, 200, 200, 200),
    "content.edit_news":                 (LOGIN, 403, 403, 403, 403, 200),
    "content.edit_faq":                  (LOGIN, 403, 403, 403, 403, 200),
    "content.edit_contacts":             (LOGIN, 403, 403, 403, 403, 200),
    # A person sees the certificates they registered; an administrator all.
    "certificates.list_certificates":    (LOGIN, 200, 200, 200, 200, 200),
    "certificates.card":                 (LOGIN, 200, 404, 404, 404, 200),
    "certificates.trust_store_page":     (LOGIN, 404, 404, 404, 200, 200),
    # МЧД: the uploader (A's signatory) and the supplier's people see A's; the
    # map of powers to documents is the administrator's page.
    "powers.index":                      (LOGIN, 200, 200, 200, 200, 200),
    "powers.card":                       (LOGIN, 200, 404, 404, 200, 200),
    "powers.download_xml":               (LOGIN, 200, 404, 404, 200, 200),
    "powers.download_signature":         (LOGIN, 200, 404, 404, 200, 200),
    "powers.rules":                      (LOGIN, 404, 404, 404, 403, 200),
    "tsa.embedded_root":                 (200, 200, 200, 200, 200, 200),
    # The customer's contract pages; the supplier's people have the registry.
    "contracts.index":                   (LOGIN, 200, 200, 200, "302:/supplier/contracts/", "302:/supplier/contracts/"),
    "contracts.bind":                    (LOGIN, 200, 200, 200, 403, 403),
    "contracts.card":                    (LOGIN, 200, 200, 404, 404, 404),
    "contracts.payments":                (LOGIN, 200, 200, 404, 404, 404),
    "contracts.schedule":                (LOGIN, 200, 200, 404, 404, 404),
    "contracts.access_page":             (LOGIN, 200, 403, 404, 404, 404),
    # Giving up one's own access needs only the view right.
    "contracts.unbind":                  (LOGIN, 200, 200, 404, 404, 404),
    # Whoever holds an invitation link reads it.
    "contracts.invitation":              (200, 200, 200, 200, 200, 200),
    "contracts.register_invited":        (200, *("302:/contracts/invitation/*",) * 5),
    "contracts_admin.registry":          (LOGIN, 404, 404, 404, 200, 200),
    "contracts_admin.registry_contract": (LOGIN, 404, 404, 404, 200, 200),
    "contracts_admin.import_page":       (LOGIN, 404, 404, 404, 403, 200),
    "contracts_admin.import_template":   (LOGIN, 404, 404, 404, 403, 200),
    "documents.index":                   (LOGIN, 200, 200, 200, 200, 200),
    "documents.export":                  (LOGIN, 200, 200, 200, 200, 200),
    # The view right alone registers nothing: no form, no button for the viewer.
    "documents.new":                     (LOGIN, 200, 403, 200, 200, 200),
    "documents.card":                    (LOGIN, 200, 200, 404, 200, 200),
    "documents.download_file":           (LOGIN, 200, 200, 404, 200, 200),
    "documents.printable":               (LOGIN, 200, 200, 404, 200, 200),
    "documents.package":                 (LOGIN, 200, 200, 404, 200, 200),
    # The customer's turn: the others are sent back to the card.
    "documents.sign_page":               (LOGIN, 200, "302:/documents/*", 404, "302:/documents/*", "302:/documents/*"),
    # Readings need the right to submit them: the viewer sees the contract (403).
    "readings.index":                    (LOGIN, "302:/readings/*", 403, 403, 200, 200),
    "readings.sheet":                    (LOGIN, 200, 403, 404, 200, 200),
    "readings.act":                      (LOGIN, 200, 403, 404, 200, 200),
    "readings.analysis":                 (LOGIN, 200, 403, 404, 200, 200),
    "readings.history":                  (LOGIN, 200, 403, 404, 200, 200),
    "readings.form_template":            (LOGIN, 200, 403, 404, 200, 200),
    "readings.download_upload":          (LOGIN, 200, 403, 404, 200, 200),
    "readings.admin":                    (LOGIN, 404, 404, 404, 200, 200),
    "readings.admin_template":           (LOGIN, 404, 404, 404, 200, 200),
    # hourly volumes (docflow.readings.hourly_*): the view right sees them
    "hourly.index":                      (LOGIN, 200, 200, 200, 200, 200),
    "hourly.template":                   (LOGIN, 200, 200, 404, 200, 200),
    "hourly.download_upload":            (LOGIN, 200, 200, 404, 200, 200),
    # the supplier maps the points; the customer sees the contract (403)
    "hourly.points":                     (LOGIN, 403, 403, 404, 200, 200),
    # ППП (docflow.readings.planned_*): the view right sees the requests; the
    # template without a contract and day goes back to the page; staff list
    "planned.index":                     (LOGIN, 200, 200, 200, 200, 200),
    "planned.template":                  (LOGIN, "302:/readings/planned/", "302:/readings/planned/", "302:/readings/planned/", "302:/readings/planned/", "302:/readings/planned/"),
    "planned.all_requests":              (LOGIN, 404, 404, 404, 200, 200),
    # hourly analysis (docflow.readings.hourly_analysis*): the hourly page's
    # rights; one contract opens at once; customers read the peak hours and
    # control days the supplier sets; the list of all control measurements is staff's
    "hourly_analysis.index":             (LOGIN, "302:/readings/hourly-analysis/*", "302:/readings/hourly-analysis/*", "302:/readings/hourly-analysis/*", 200, 200),
    "hourly_analysis.page":              (LOGIN, 200, 200, 404, 200, 200),
    "hourly_analysis.export":            (LOGIN, 200, 200, 404, 200, 200),
    "hourly_analysis.control":           (LOGIN, 200, 200, 404, 200, 200),
    "hourly_analysis.control_form":      (LOGIN, 200, 200, 404, 200, 200),
    "hourly_analysis.control_file":      (LOGIN, 200, 200, 404, 200, 200),
    "hourly_analysis.control_all":       (LOGIN, 404, 404, 404, 200, 200),
    "hourly_analysis.schedule":          (LOGIN, 200, 200, 200, 200, 200),
    "notify_admin.queue":                (LOGIN, 404, 404, 404, 200, 200),
    # online payment (docflow.payments): the view right pays, the supplier
    # sees every payment but does not pay; the fake acquirer's page is public
    # (a bank's page), its address unguessable
    "payments.index":                    (LOGIN, 200, 200, 200, 200, 200),
    "payments.new":                      (LOGIN, 200, 200, 200, 403, 403),
    "payments.show":                     (LOGIN, 200, 200, 404, 200, 200),
    "payments.all_payments":             (LOGIN, 404, 404, 404, 200, 200),
    "fake_acquiring.pay_page":           (200, 200, 200, 200, 200, 200),
    # surveys (docflow.surveys): A's members answer (the viewer sees it); the
    # supplier's people are sent to their pages, where a clerk only reads.
    "surveys.index":                     (LOGIN, 200, 200, 200, "302:/surveys/manage", "302:/surveys/manage"),
    "surveys.answer_page":               (LOGIN, 200, 200, 404, "302:/surveys/manage/*", "302:/surveys/manage/*"),
    "surveys.manage":                    (LOGIN, 404, 404, 404, 200, 200),
    "surveys.new":                       (LOGIN, 404, 404, 404, 403, 200),
    "surveys.card":                      (LOGIN, 404, 404, 404, 200, 200),
    "surveys.results":                   (LOGIN, 404, 404, 404, 200, 200),
    "surveys.results_export":            (LOGIN, 404, 404, 404, 200, 200),
    # appeals (docflow.appeals): customers file and read theirs; the supplier's
    # people have the queue; the administrator keeps the topics.
    "appeals.index":                     (LOGIN, 200, 200, 200, "302:/appeals/queue", "302:/appeals/queue"),
    "appeals.new":                       (LOGIN, 200, 200, 200, 403, 403),
    "appeals.card":                      (LOGIN, 200, 200, 404, 200, 200),
    "appeals.download":                  (LOGIN, 200, 200, 404, 200, 200),
    "appeals.queue":                     (LOGIN, 404, 404, 404, 200, 200),
    "appeals.topics":                    (LOGIN, 404, 404, 404, 200, 200),
    "appeals.topic":                     (LOGIN, 404, 404, 404, 403, 200),
    # service orders (docflow.service_orders): customers order on contracts they
    # may sign or manage and read the orders of contracts they see; the
    # supplier's people process all orders; its administrator keeps the catalogue.
    "service_orders.catalogue":          (LOGIN, 200, 200, 200, 200, 200),
    "service_orders.order":              (LOGIN, 200, 200, 200, 200, 200),
    "service_orders.history":            (LOGIN, 200, 200, 200, 200, 200),
    "service_orders.order_card":         (LOGIN, 200, 200, 404, 200, 200),
    "service_orders.staff_orders":       (LOGIN, 404, 404, 404, 200, 200),
    "service_orders.admin_catalogue":    (LOGIN, 404, 404, 404, 200, 200),
    "service_orders.admin_new":          (LOGIN, 404, 404, 404, 403, 200),
    "service_orders.admin_edit":         (LOGIN, 404, 404, 404, 403, 200),
}

# The routes with arguments, given a random UUID (an unknown token, language).
RANDOM_TABLE: dict[str, tuple[int | str, ...]] = {
    "dashboard.set_language":                 (HOME, HOME, HOME, HOME, HOME, HOME),
    "accounts.reset_password":           BAD_TOKEN,
    "accounts.confirm":                  BAD_TOKEN,
    "accounts.confirm_email_change":     BAD_TOKEN,
    "contracts.invitation":              BAD_TOKEN,
    "contracts.register_invited":        BAD_TOKEN,
    "content.news_item":                 (404, 404, 404, 404, 404, 404),
    "content.edit_news":                 (LOGIN, 403, 403, 403, 403, 404),
    "content.edit_faq":                  (LOGIN, 403, 403, 403, 403, 404),
    "certificates.card":                 GONE,
    "powers.card":                       GONE,
    "powers.download_xml":               GONE,
    "powers.download_signature":         GONE,
    "contracts.card":                    GONE,
    "contracts.payments":                GONE,
    "contracts.schedule":                GONE,
    "contracts.access_page":             GONE,
    "contracts.unbind":                  GONE,
    "contracts_admin.registry_contract": GONE,
    "documents.card":                    GONE,
    "documents.download_file":           GONE,
    "documents.printable":               GONE,
    "documents.package":                 GONE,
    "documents.sign_page":               GONE,
    "readings.sheet":                    GONE,
    "readings.act":                      GONE,
    "readings.analysis":                 GONE,
    "readings.history":                  GONE,
    "readings.form_template":            GONE,
    "readings.download_upload":          GONE,
    # hourly volumes (docflow.readings.hourly_*)
    "hourly.template":                   GONE,
    "hourly.download_upload":            GONE,
    "hourly.points":                     GONE,
    # hourly analysis (docflow.readings.hourly_analysis*)
    "hourly_analysis.page":              GONE,
    "hourly_analysis.export":            GONE,
    "hourly_analysis.control":           GONE,
    "hourly_analysis.control_form":      GONE,
    "hourly_analysis.control_file":      GONE,
    # online payment (docflow.payments)
    "payments.show":                     GONE,
    "fake_acquiring.pay_page":           (404, 404, 404, 404, 404, 404),
    # surveys (docflow.surveys)
    "surveys.answer_page":               (LOGIN, 404, 404, 404, "302:/surveys/manage/*", "302:/surveys/manage/*"),
    "surveys.card":                      GONE,
    "surveys.results":                   GONE,
    "surveys.results_export":            GONE,
    # appeals (docflow.appeals)
    "appeals.card":                      GONE,
    "appeals.download":                  GONE,
    "appeals.topic":                     (LOGIN, 404, 404, 404, 403, 404),
    # service orders (docflow.service_orders)
    "service_orders.order":              GONE,
    "service_orders.order_card":         GONE,
    "service_orders.admin_edit":         (LOGIN, 404, 404, 404, 403, 404),
}
# fmt: on

QUERY = {"readings.act": f"?period={PERIOD_KEY}", "documents.index": "?q=акт"}
TOKEN_OF = {
    "accounts.confirm": "confirm",
    "accounts.confirm_email_change": "change",
    "accounts.reset_password": "reset",
    "contracts.invitation": "newcomer",
    "contracts.register_invited": "newcomer",
}


def get_urls(site: Site, rule: Rule) -> Iterator[tuple[str, dict[str, Any]]]:
    """("own", values) with A's objects, then ("random", values) for a rule
    with ids or a token; for each value of an ``any(...)`` argument. A token
    is a callable: a fresh one is made for each request."""
    names = path_arguments(rule)
    fixed = (
        [{"kind": kind} for kind in choices(rule, "kind")] if "kind" in names else []
    )
    for base in fixed or [{}]:
        own: dict[str, Any] = dict(base)
        random: dict[str, Any] = dict(base)
        for name in names - set(base):
            if name == "token":
                own[name] = site.tokens[TOKEN_OF[rule.endpoint]]
                random[name] = "unknown-" + uuid.uuid4().hex
            elif name == "code":
                own[name], random[name] = "en", "xx"
            else:
                own[name], random[name] = site.ids[name], uuid.uuid4()
        yield "own", own
        if names - set(base):
            yield "random", random


def outcome(resp: Any) -> int | str:
    if resp.status_code in (301, 302, 303, 307, 308):
        path = urlsplit(resp.headers["Location"]).path
        return LOGIN if path == "/account/login" else f"{resp.status_code}:{path}"
    return int(resp.status_code)


def matches(expected: int | str, actual: int | str) -> bool:
    if isinstance(expected, str) and expected.endswith("*"):
        return isinstance(actual, str) and actual.startswith(expected[:-1])
    return expected == actual


def viewer_must_not_see(site: Site) -> list[str]:
    """The action forms and links of A's document and contract: a member with
    the view right only is offered none of them."""
    doc, contract = site.ids["document_id"], site.ids["contract_id"]
    actions = ("sign", "refuse", "revocation", "delete", "countersign")
    return [
        *(f'/documents/{doc}/{action}"' for action in actions),
        f'/contracts/{contract}/access"',
        f'/contracts/{contract}/access/invite"',
        'href="/documents/new"',  # the view right registers nothing
    ]


def test_every_get_route_answers_every_role_as_classified(
    site: Site, error_log: ErrorLog
) -> None:
    rules = crawled_rules(site.app, "GET")
    endpoints = {r.endpoint for r in rules}
    unclassified = sorted(endpoints - set(GET_TABLE)) + sorted(
        {r.endpoint for r in rules if path_arguments(r) - {"kind"}} - set(RANDOM_TABLE)
    )
    assert not unclassified, f"classify in GET_TABLE/RANDOM_TABLE: {unclassified}"
    stale = sorted((set(GET_TABLE) | set(RANDOM_TABLE)) - endpoints)
    assert not stale, f"routes gone, drop them from the tables: {stale}"

    clients = {who: site.client(who) for who in ROLES}
    hidden = viewer_must_not_see(site)
    # What B must never read about A (the holder of an invitation link may).
    secrets = ["Ромашка", str(site.ids["document_id"]), str(site.ids["contract_id"])]
    problems: list[str] = []
    pairs = 0
    for rule in rules:
        for variant, values in get_urls(site, rule):
            table = GET_TABLE if variant == "own" else RANDOM_TABLE
            for who, expected in zip(ROLES, table[rule.endpoint], strict=True):
                concrete = {k: v() if callable(v) else v for k, v in values.items()}
                url = build_url(rule, concrete) + QUERY.get(rule.endpoint, "")
                error_log.records.clear()
                resp = clients[who].get(url)
                pairs += 1
                got = outcome(resp)
                where = f"GET {rule.rule} ({variant}) as {who}"
                if resp.status_code >= 500:
                    problems.append(f"{where}: {got} — {error_log.last_line()}")
                elif not matches(expected, got):
                    problems.append(f"{where}: expected {expected}, got {got}")
                if got != 200 or resp.mimetype != "text/html":
                    continue
                page = resp.get_data(as_text=True)
                if who == "viewer_a" and (shown := [h for h in hidden if h in page]):
                    problems.append(f"{where}: offers {shown}")
                leaked = [m for m in secrets if m in page]
                if who == "signer_b" and leaked and "token" not in values:
                    problems.append(f"{where}: shows A's {leaked}")
    assert not problems, "\n".join(problems)
    assert pairs > 400  # the crawl did crawl


# -- 2. every POST route, hostile bodies ---------------------------------------------------


@dataclass(frozen=True)
class Post:
    """Who posts to a route and what: form ``fields`` (``{meter}``: each of
    A's meters), ``files``, a JSON body (``json``) or a raw one (``raw``, its
    media type). ``args`` names where a path argument comes from: a key of
    :attr:`Site.ids`, ``doc:<role>`` for a new document registered by that
    role (what one route does to it stays there), ``token:<kind>``."""

    role: str
    fields: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    json: bool = False
    answers_json: bool = False  # a script's route, asked with Accept: json
    raw: str | None = None
    args: dict[str, str] = field(default_factory=dict)


NAMES = ("last_name", "first_name", "middle_name")
RIGHTS = ("can_submit_readings", "can_sign", "can_manage")
DOC = {"document_id": "doc:clerk"}

# fmt: off
POST_TABLE: dict[str, Post] = {
    "accounts.login":               Post("anonymous", ("email", "password", "remember")),
    "accounts.logout":              Post("spare_a"),
    "accounts.register":            Post("anonymous", (*NAMES, "email", "password", "password2", "altcha")),
    "accounts.forgot_password":     Post("anonymous", ("email",)),
    "accounts.resend_confirmation": Post("anonymous", ("email",)),
    "accounts.reset_password":      Post("anonymous", ("password", "password2"), args={"token": "token:reset"}),
    "accounts.profile":             Post("spare_a", (*NAMES, "phone", "email")),
    "accounts.change_password":     Post("signer_a", ("pw-old_password", "pw-password", "pw-password2")),
    "api_keys.create":              Post("signer_a", ("organisation", "name", "scopes")),
    "api_keys.revoke":              Post("signer_a"),
    "certificates.register":        Post("signer_a", files=("certificate", "power_xml", "power_signature")),
    "certificates.revoke":          Post("signer_a", args={"certificate_id": "spare_certificate_id"}),
    "certificates.trust_add":       Post("admin", files=("certificate",)),
    "certificates.trust_add_crl":   Post("admin", files=("crl",)),
    "certificates.trust_refresh_crls": Post("admin"),
    "certificates.trust_check":     Post("clerk"),
    "certificates.trust_remove":    Post("admin"),
    "content.edit_news":            Post("admin", ("title", "body", "published_on", "is_published")),
    "content.delete_news":          Post("admin"),
    "content.edit_faq":             Post("admin", ("question", "answer", "position", "is_published")),
    "content.delete_faq":           Post("admin"),
    "content.edit_contacts":        Post("admin", ("organisation", "address", "phone", "email", "hours", "note")),
    "contracts.bind":               Post("signer_b", ("email", "inn", "number", "action")),
    "contracts.invite":             Post("signer_a", ("email", *RIGHTS)),
    "contracts.update_access":      Post("signer_a", ("prefix", *RIGHTS)),
    "contracts.revoke_access":      Post("signer_a"),
    "contracts.cancel_invitation":  Post("signer_a"),
    "contracts.decide_request":     Post("signer_a"),
    "contracts.unbind":             Post("viewer_a"),
    "contracts.accept_invitation":  Post("requester", args={"token": "token:invited"}),
    "contracts.register_invited":   Post("anonymous", (*NAMES, "password", "password2"), args={"token": "token:newcomer"}),
    "contracts_admin.save_contacts":      Post("admin", ("head_name", "branch_address", "phone", "fax", "curator_name", "curator_phone")),
    "contracts_admin.add_restriction":    Post("admin", ("date_from", "date_to", "time_from", "time_to", "limit_kw", "reason")),
    "contracts_admin.delete_restriction": Post("admin", args={"entry_id": "restriction_id"}),
    "contracts_admin.import_page":        Post("admin", ("kind",), files=("contracts-file", "payments-file")),
    "documents.new":                Post("signer_a", ("contract_id", "doc_type", "number", "doc_date", "title", "comment", "route"), files=("main_file", "attachments")),
    "documents.package_many":       Post("signer_a", ("ids",)),
    "documents.sign_prepare":       Post("signer_a", ("certificate_id",), json=True, answers_json=True, args=DOC),
    "documents.sign_complete":      Post("signer_a", ("session_id", "signatures", "cms", "pades"), json=True, answers_json=True, args=DOC),
    "documents.refuse":             Post("signer_a", ("reason",), args=DOC),
    "documents.revocation":         Post("signer_a", ("reason",), args=DOC),
    "documents.revocation_accept":  Post("signer_a", args=DOC),
    "documents.revocation_decline": Post("signer_a", args=DOC),
    "documents.delete":             Post("signer_a", args={"document_id": "doc:signer_a"}),
    "documents.countersign":        Post("clerk", args=DOC),
    "documents.reverify":           Post("signer_a", args=DOC),
    "dashboard.change_widget":           Post("signer_a", ("op",), answers_json=True),
    "dashboard.reorder_widgets":         Post("signer_a", ("order",), json=True, answers_json=True),
    "dashboard.reset_widgets":           Post("signer_a"),
    "dashboard.mark_read":               Post("signer_a", ("id", "next")),
    "dashboard.delete_notifications":    Post("signer_a", ("id",)),
    "notify_admin.retry":           Post("admin", ("id",)),
    "powers.upload":                Post("signer_a", files=("xml", "signature")),
    "powers.revoke":                Post("signer_a", ("reason",)),
    "powers.rules":                 Post("admin", ("prom10", "contract", "agreement", "invoice", "letter", "other")),
    "profile.save_subscriptions":   Post("signer_a", ("email:document.signed", "sms:document.signed", "email:readings.window_open")),
    "profile.send_code":            Post("signer_a", ("phone",)),
    "profile.confirm_code":         Post("signer_a", ("code",)),
    "readings.save_all":            Post("signer_a", ("period", "action", "calc", "start", "v-{meter}", "s-{meter}")),
    "readings.save_value":          Post("signer_a", ("meter_id", "kind", "period", "value"), json=True, answers_json=True),
    "readings.send":                Post("signer_a", ("period",)),
    "readings.send_act":            Post("signer_a", ("period",)),
    "readings.upload_form":         Post("signer_a", ("period",), files=("file",)),
    "readings.admin_import":        Post("clerk", ("kind",), files=("file",)),
    "readings.admin_decide":        Post("clerk", ("reading_id", "decision", "reason")),
    # hourly volumes (docflow.readings.hourly_*)
    "hourly.upload":                Post("signer_a", files=("file",)),
    "hourly.map_point":             Post("clerk", ("object", "meter", "name", "page", "unmapped")),
    # ППП (docflow.readings.planned_*)
    "planned.save":                 Post("signer_a", ("contract", "day", "action", "h1", "h2", "h24")),
    "planned.upload":               Post("signer_a", ("contract", "day"), files=("file",)),
    "planned.accept":               Post("clerk", ("next",)),
    # hourly analysis (docflow.readings.hourly_analysis*)
    "hourly_analysis.control_upload":  Post("signer_a", ("day",), files=("file",)),
    "hourly_analysis.control_fill":    Post("signer_a", ("day",)),
    "hourly_analysis.save_peak_hours": Post("clerk", ("month", "action", "cell", "hours")),
    "hourly_analysis.save_control_day": Post("clerk", ("month", "day")),
    "tsa.answer_time_stamp_request": Post("anonymous", raw="application/timestamp-query"),
    # online payment (docflow.payments)
    "payments.new":                 Post("signer_a", ("contract", "amount", "purpose", "idempotency_key")),
    "payments.notify_tbank":        Post("anonymous", ("TerminalKey", "OrderId", "Success", "Status", "PaymentId", "Amount", "Token"), json=True, answers_json=True),
    "fake_acquiring.api_init":      Post("anonymous", ("TerminalKey", "Amount", "OrderId", "Description", "SuccessURL", "FailURL", "NotificationURL", "Token"), json=True, answers_json=True),
    "fake_acquiring.api_get_state": Post("anonymous", ("TerminalKey", "PaymentId", "Token"), json=True, answers_json=True),
    "fake_acquiring.decide":        Post("signer_a", ("decision",)),
    # surveys (docflow.surveys)
    "surveys.submit":               Post("signer_a", ("organisation", "q-x")),
    "surveys.new":                  Post("admin", ("title", "description", "starts_on", "ends_on", "target", "contract_numbers")),
    "surveys.save":                 Post("admin", ("title", "description", "starts_on", "ends_on", "target", "contract_numbers")),
    "surveys.add_question":         Post("admin", ("kind", "text", "is_required", "options", "scale_max", "scale_min_label", "scale_max_label", "position"), args={"survey_id": "survey_draft_id"}),
    "surveys.delete_question":      Post("admin", args={"survey_id": "survey_draft_id"}),
    "surveys.change_state":         Post("admin", args={"survey_id": "survey_draft_id", "action": "survey_action"}),
    # appeals (docflow.appeals)
    "appeals.new":                  Post("signer_a", ("topic_id", "contract_id", "text", "contact_name", "contact_phone", "submission_key"), files=("attachments",)),
    "appeals.take":                 Post("clerk"),
    "appeals.answer":               Post("clerk", ("text",), files=("files",)),
    "appeals.close":                Post("clerk"),
    "appeals.withdraw":             Post("signer_a", ("reason",)),
    "appeals.topic":                Post("admin", ("title", "description", "answer_hours", "position", "is_significant", "is_active")),
    # service orders (docflow.service_orders)
    "service_orders.order":         Post("signer_a", ("contract", "f1", "f2", "f3", "f4", "quantity", "comment", "contact_name", "contact_phone", "token")),
    "service_orders.cancel":        Post("signer_a"),
    "service_orders.mark_paid":     Post("clerk", ("reference",)),
    "service_orders.mark_done":     Post("clerk"),
    "service_orders.retry_invoice": Post("clerk"),
    "service_orders.admin_new":     Post("admin", ("name", "description", "price", "vat_rate", "unit", "fields", "position", "is_active")),
    "service_orders.admin_edit":    Post("admin", ("name", "description", "price", "vat_rate", "unit", "fields", "position", "is_active")),
    # tours and the grid cabinet (docflow.tours): the page key comes as a widget's
    # name (path_values), an unknown tour: 404 JSON; the account goes on A's card
    "tours.seen":                   Post("signer_a", ("outcome",), json=True, answers_json=True),
    "tours.save_grid_account":      Post("signer_a", ("account",)),
}
# fmt: on

LONG = "x" * 100_000
LONG_CYRILLIC = "Я" * 50_000  # 100 kB in UTF-8
#: Values the routes take: they get past the first checks to the services.
PLAUSIBLE = (
    PERIOD_KEY, "2026-11-01", "2026-12-31", "12:00", "123500", "0", "1", "-1", "y",
    "on", "accept", "decline", "meters", "transit", "contracts", "payments", "send",
    "more", "bind", "customer,supplier", "customer", "letter", "prom10", "up",
    "collapse", "dock", "notifications", "+79161234567", "1234", "7701234567",
    "77-0001-ЮЛ", "office@romashka.example", "spare@romashka.example", "read",
    "write", "sign", "/documents/", "//evil.example", "cms", "pades", "end", "start",
)  # fmt: skip
ODD = (
    "1e999", "NaN", "-0", "9" * 5000, "0x10", "2026-13-45", "25:61", "../../etc/passwd",
    "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\u202e\u200b\ufeff", "true",
    "null", "[]", "{}", " ", "\t\r\n",
)  # fmt: skip
CONTROL = st.lists(st.integers(0, 0x1F).map(chr), min_size=1, max_size=4).map("".join)
SURROGATE = st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=3).map(
    "".join
)
HUGE = st.integers(min_value=-(10**40), max_value=10**40).map(str)
DEEP = b"[" * 2000 + b"]" * 2000
RAW_JSON = (
    b"", DEEP, b'{"a":' * 2000 + b"1" + b"}" * 2000, b'"\\ud800"',
    b'{"x": "\\udfff", "\\ud800": 1}', b'{"x": "\\u0000\\u001b"}', b"\xff\xfe\xfd",
    b"1" * 5000, b"1e999", b"NaN", b"-Infinity", b"{", b"null", b"[]", b"[1, 2]",
    b'"text"', b"true",
)  # fmt: skip
#: Every field holding one of these, in turn: the cases always tried.
FIXED_VALUES = (
    "", LONG, "\x00\x01\x1b", "\ud800", "\udfff\ud800", "9" * 5000, "-1",
    "00000000-0000-4000-8000-000000000000",
)  # fmt: skip


def hostile_text(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        # Picked, not sampled: hypothesis would print the 100 kB in its reprs.
        st.sampled_from([0, 1]).map(lambda i: (LONG, LONG_CYRILLIC)[i]),
        CONTROL,
        SURROGATE,
        st.builds(lambda a, b, c: a + b + c, st.text(max_size=5), SURROGATE, CONTROL),
        st.uuids().map(str),
        st.sampled_from(known),
        st.sampled_from(PLAUSIBLE),
        st.sampled_from(PLAUSIBLE),
        st.sampled_from(ODD),
        HUGE,
        st.text(max_size=40),
    )


class Body:
    """A request body, with a short repr (hypothesis prints failing examples)."""

    def __init__(self, content_type: str, data: bytes, label: str) -> None:
        self.content_type, self.data, self.label = content_type, data, label

    def __repr__(self) -> str:
        shown = self.data[:300] + (b"..." if len(self.data) > 300 else b"")
        return (
            f"Body({self.label}, {self.content_type!r}, {len(self.data)} B: {shown!r})"
        )


class PathValues:
    """The path arguments of a request, with a short repr as well."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={str(v)[:60]!r}" for k, v in self.values.items())
        return f"PathValues({shown})"


def _utf8(text: str) -> bytes:
    # What a client sends for a lone surrogate: its 3 bytes (WTF-8), not valid UTF-8.
    return text.encode("utf-8", "surrogatepass")


def _part_name(name: str) -> bytes:
    # HTML's multipart/form-data: a quote, CR and LF in a name are %-escaped.
    return _utf8(name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A"))


def form_body(pairs: list[tuple[str, str]]) -> Body:
    data = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")
    return Body("application/x-www-form-urlencoded", data, "form")


def multipart_body(
    pairs: list[tuple[str, str]], files: list[tuple[str, str, bytes]]
) -> Body:
    boundary = "----crawl" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in pairs:
        out.write(f"--{boundary}\r\n".encode())
        out.write(b'Content-Disposition: form-data; name="' + _part_name(name))
        out.write(b'"\r\n\r\n' + _utf8(value) + b"\r\n")
    for name, filename, content in files:
        out.write(f"--{boundary}\r\n".encode())
        out.write(b'Content-Disposition: form-data; name="' + _part_name(name))
        out.write(b'"; filename="' + _part_name(filename) + b'"\r\n')
        out.write(b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return Body(
        f"multipart/form-data; boundary={boundary}", out.getvalue(), "multipart"
    )


def json_body(data: bytes, label: str = "json") -> Body:
    return Body("application/json", data, label)


def dumps(value: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as \udXXX, as a script would send it.
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def sample_files(w: World) -> list[bytes]:
    """Files to upload: empty, real (PDF, .xlsx, certificates, an RFC 3161
    request), truncated, a CSV in cp1251, 100 kB of 0xFF."""

    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x00" * 32,
            },
            "cert_req": True,
        }
    ).dump()
    return [
        b"",
        act_pdf(),
        b"%PDF-1.4\n%%EOF\n",
        xlsx_bytes([["№", "Показание"], ["0001", "123500"], [None, "-1e999"]]),
        b"PK\x03\x04" + b"\x00" * 26,
        w.keys.signer_a.der,
        w.keys.signer_a.pem,
        w.keys.foreign_root.der,
        "номер;ИНН;сумма\n77-0001-ЮЛ;7701234567;-1e999\n".encode("cp1251"),
        b"\xff" * 100_000,
        request,
        request[:-3],
    ]


def body_strategy(
    spec: Post, fields: list[str], known: list[str], samples: list[bytes]
) -> st.SearchStrategy[Body]:
    """Bodies of the route's kind mostly, of the other kind sometimes."""
    text = hostile_text(known)
    name = (
        st.one_of(st.sampled_from(fields), st.sampled_from(fields), text)
        if fields
        else text
    )
    pairs = st.lists(st.tuples(name, text), max_size=2 * len(fields) + 2)
    files = st.lists(
        st.tuples(
            st.sampled_from(spec.files) if spec.files else st.nothing(),
            st.one_of(
                st.sampled_from(["act.pdf", "форма.xlsx", "cert.cer", "a.csv", "x"]),
                text.map(lambda t: t[:300] + ".pdf"),
            ),
            st.one_of(st.sampled_from(samples), st.binary(max_size=300)),
        ),
        max_size=3 if spec.files else 0,
    )
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**300), max_value=10**300),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    )
    value = st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(name, inner, max_size=3)
        ),
        max_leaves=8,
    )
    as_json = st.one_of(
        st.dictionaries(name, value, max_size=len(fields) + 1).map(dumps),
        value.map(dumps),
        st.sampled_from(RAW_JSON),
    ).map(json_body)
    multipart = st.builds(multipart_body, pairs, files)
    as_form = multipart if spec.files else st.one_of(pairs.map(form_body), multipart)
    if spec.raw:
        media = spec.raw
        raw = st.one_of(st.sampled_from(samples), st.binary(max_size=2000))
        return st.one_of(
            raw.map(lambda b: Body(media, b, "raw")),
            raw.map(lambda b: Body("application/octet-stream", b, "raw")),
            as_json,
        )
    if spec.json:
        return st.one_of(as_json, as_json, as_json, as_form)
    return st.one_of(as_form, as_form, as_form, as_json)


def fixed_bodies(spec: Post, fields: list[str]) -> list[Body]:
    """Every field with the same hostile value, and the JSON that sank parsers:
    the cases the brief names, tried whatever hypothesis draws."""
    bodies = [json_body(DEEP, "deep"), json_body(b'{"x": "\\ud800"}', "surrogate")]
    for v in FIXED_VALUES:
        pairs = [(f, v) for f in fields]
        if spec.json:
            bodies.append(json_body(dumps(dict(pairs)), f"json {v[:8]!r}"))
        elif spec.files:
            files = [(f, v[:300] + ".pdf", _utf8(v)) for f in spec.files]
            bodies.append(multipart_body(pairs, files))
        else:
            bodies.append(form_body(pairs))
    if spec.raw:
        bodies.append(Body(spec.raw, b"", "raw empty"))
        bodies.append(Body(spec.raw, b"\x30\x82\xff\xff" + b"\x00" * 100, "raw DER"))
    return bodies


def valid_values(site: Site) -> dict[str, str]:
    """A value each field takes, by name (``v-``, ``s-``, ``email:``, ``sms:``
    for the fields named after a meter or an event)."""
    ids = {k: str(v) for k, v in site.ids.items() if k != "meters"}
    return {
        "email": "someone@romashka.example", "password": "secret123x",
        "password2": "secret123x", "remember": "y", "altcha": "e30=",
        "last_name": "Петров", "first_name": "Пётр", "middle_name": "Петрович",
        "phone": "+79161234567", "pw-old_password": "wrong-pass1",
        "pw-password": "newpass123", "pw-password2": "newpass123",
        "organisation": str(site.w.org_a.id), "name": "Интеграция 1С",
        "scopes": "read", "title": "Заголовок", "body": "Текст",
        "published_on": "2026-11-01", "is_published": "y", "question": "Вопрос?",
        "answer": "Ответ.", "position": "1", "address": "г. Москва",
        "hours": "9:00–18:00", "note": "Примечание", "inn": "7701234567",
        "number": "77-0001-ЮЛ", "action": "bind", "can_submit_readings": "y",
        "can_sign": "y", "can_manage": "y", "prefix": "",
        "head_name": "Иванов И. И.", "branch_address": "г. Москва, ул. Энергетиков, 1",
        "fax": "+74950000000", "curator_name": "Петрова А. А.",
        "curator_phone": "+74950000001", "date_from": "2026-12-10",
        "date_to": "2026-12-11", "time_from": "09:00", "time_to": "18:00",
        "limit_kw": "50", "reason": "Не согласны с объёмом", "kind": "meters",
        "contract_id": ids["contract_id"], "doc_type": "letter",
        "doc_date": "2026-11-01", "comment": "Комментарий",
        "route": "customer,supplier", "ids": ids["document_id"],
        "certificate_id": ids["certificate_id"], "session_id": ids["session_id"],
        "signatures": "", "cms": "", "pades": "", "op": "collapse",
        "order": "notifications", "id": "", "next": "/documents/",
        "code": "123456", "period": PERIOD_KEY, "calc": "1", "start": "1",
        "meter_id": str(site.ids["meters"][0]), "value": "123500",
        "reading_id": str(uuid.uuid4()), "decision": "accept", "v-": "123500",
        "s-": "0", "email:": "on", "sms:": "on",
        # appeals (docflow.appeals)
        "topic_id": ids["topic_id"], "text": "Прошу проверить начисления по счёту.",
        "contact_name": "Иванов Иван", "contact_phone": "+7 495 123-45-67",
        "submission_key": uuid.uuid4().hex, "answer_hours": "48",
        "description": "Описание", "is_significant": "y", "is_active": "y",
    }  # fmt: skip


def one_bad_field_bodies(
    spec: Post, fields: list[str], valid: dict[str, str], files: dict[str, bytes]
) -> list[Body]:
    """Valid bodies but for one field ending in NUL (PostgreSQL stores none):
    the hostile value gets past the forms to the services and the database."""

    def value(name: str) -> str:
        if name[:2] in ("v-", "s-"):
            return valid[name[:2]]
        return valid.get(name, valid.get(name.split(":")[0] + ":", "x"))

    uploads = [(f, f"{f}.bin", files[f]) for f in spec.files]
    bodies = []
    for bad in fields:
        pairs = [(f, value(f) + ("\x00" if f == bad else "")) for f in fields]
        if spec.json:
            bodies.append(json_body(dumps(dict(pairs)), f"json, NUL in {bad}"))
        elif spec.files:
            bodies.append(multipart_body(pairs, uploads))
        else:
            bodies.append(form_body(pairs))
    return bodies


def post_fields(spec: Post, site: Site) -> list[str]:
    return [
        name.format(meter=meter) if "{meter}" in name else name
        for name in spec.fields
        for meter in (site.ids["meters"] if "{meter}" in name else [None])
    ]


def path_values(site: Site, rule: Rule, spec: Post) -> dict[str, Any]:
    """The real values of the rule's path arguments (a token: FRESH_TOKEN)."""
    values: dict[str, Any] = {}
    for name in path_arguments(rule):
        source = spec.args.get(name, name)
        if source.startswith("doc:"):
            values[name] = site.document(by=source.removeprefix("doc:"))
        elif source.startswith("token:"):
            values[name] = FRESH_TOKEN
        elif name == "decision":
            values[name] = choices(rule, name)[0]
        elif name == "key":
            values[name] = "notifications"  # a widget
        else:
            values[name] = site.ids[source]
    return values


FRESH_TOKEN = "<a fresh token>"


def path_strategy(
    rule: Rule, real: dict[str, Any], known: list[str]
) -> st.SearchStrategy[PathValues]:
    """The real value of each path argument, a random UUID for an id, and any
    hostile string for the others (a token, a thumbprint, a widget key)."""
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for name, value in real.items():
        if isinstance(value, uuid.UUID):
            drawn[name] = st.one_of(st.just(value), st.uuids())
        elif name == "decision":
            drawn[name] = st.sampled_from(choices(rule, name))
        else:
            hostile = hostile_text(known).filter(bool)
            drawn[name] = st.one_of(st.just(value), st.just(value), hostile)
    return st.fixed_dictionaries(drawn).map(PathValues)


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)


def check_answer(
    spec: Post, body: Body, resp: Any, where: str, error_log: ErrorLog, found: Findings
) -> None:
    """No 5xx but a known one; JSON from a script's route, with the error
    object on a 4xx."""
    assert resp.status_code < 500, (
        f"{where}: {resp.status_code} — {error_log.last_line()}"
    )
    # A redirect is no answer: the login page, or the router's own 308 for a
    # path with "//" in it (a key of "%2F%2F").
    if spec.answers_json and not 300 <= resp.status_code < 400:
        assert resp.is_json, f"{where}: {resp.status_code} {resp.mimetype}, not JSON"
        if 400 <= resp.status_code < 500:
            error = resp.get_json().get("error")
            assert isinstance(error, dict), f"{where}: no error object"
            assert {"code", "message", "details"} <= set(error), f"{where}: {error}"


@dataclass
class Crawl:
    site: Site
    error_log: ErrorLog
    found: Findings
    known_ids: list[str]
    samples: list[bytes]
    valid: dict[str, str]
    valid_files: dict[str, bytes]

    def route(self, rule: Rule) -> None:
        """The fixed bodies, then hypothesis's, posted to one route."""
        spec = POST_TABLE[rule.endpoint]
        fields = post_fields(spec, self.site)
        client = self.site.client(spec.role)
        token = spec.args.get("token", "").removeprefix("token:")
        headers = {"Accept": "application/json"} if spec.answers_json else {}
        real = path_values(self.site, rule, spec)

        def post(path: PathValues, body: Body) -> None:
            values = {
                k: self.site.tokens[token]() if v == FRESH_TOKEN else v
                for k, v in path.values.items()
            }
            url = build_url(rule, values)
            self.error_log.records.clear()
            resp = client.post(
                url, data=body.data, content_type=body.content_type, headers=headers
            )
            where = f"POST {rule.rule} as {spec.role} with {body!r} to {url[:120]}"
            check_answer(spec, body, resp, where, self.error_log, self.found)

        fixed = fixed_bodies(spec, fields) + one_bad_field_bodies(
            spec, fields, self.valid, self.valid_files
        )
        for body in fixed:
            try:
                post(PathValues(real), body)
            except AssertionError as exc:
                self.found.problems.append(str(exc).splitlines()[0])

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
            ],
        )
        @given(
            path=path_strategy(rule, real, self.known_ids),
            body=body_strategy(spec, fields, self.known_ids, self.samples),
        )
        def fuzz(path: PathValues, body: Body) -> None:
            post(path, body)

        try:
            fuzz()
        except AssertionError as exc:  # the shrunk example, posted last
            self.found.problems.append(str(exc).splitlines()[0])


@pytest.fixture()
def no_rate_limits() -> Iterator[None]:
    """The limits have tests of their own; here they would only hide the
    routes behind a 429 after a few examples."""
    limiter.enabled = False
    yield
    limiter.enabled = True


def test_every_post_route_survives_hostile_bodies(
    site: Site, error_log: ErrorLog, no_rate_limits: None
) -> None:
    rules = crawled_rules(site.app, "POST")
    endpoints = {r.endpoint for r in rules}
    unclassified = sorted(endpoints - set(POST_TABLE))
    assert not unclassified, f"classify these routes in POST_TABLE: {unclassified}"
    stale = sorted(set(POST_TABLE) - endpoints)
    assert not stale, f"routes gone, drop them from POST_TABLE: {stale}"

    crawl = Crawl(
        site,
        error_log,
        Findings(),
        known_ids=[str(v) for k, v in site.ids.items() if k != "meters"]
        + [str(m) for m in site.ids["meters"]],
        samples=sample_files(site.w),
        valid=valid_values(site),
        valid_files={
            "certificate": site.w.keys.signer_a.der,
            "crl": pki.make_crl(site.w.keys.root),  # the trust page's CRL upload
            **dict.fromkeys(("xml", "power_xml"), site.power_files[0]),
            **dict.fromkeys(("signature", "power_signature"), site.power_files[1]),
            "main_file": act_pdf(),
            "attachments": act_pdf(),
            "files": act_pdf(),  # appeals (docflow.appeals): the answer's files
            **dict.fromkeys(
                ("file", "contracts-file", "payments-file"),
                xlsx_bytes([["№", "Показание"], ["0001", "123500"]]),
            ),
        },
    )
    for rule in rules:
        crawl.route(rule)
    found = crawl.found
    assert not found.problems, "\n\n".join(found.problems)
