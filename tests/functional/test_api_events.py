"""Webhooks registered through the API, delivered through the outbox to a
receiver on loopback and verified as a receiver would; the event feed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from docflow.outbox.models import Channel, OutboxMessage, OutboxStatus
from notifications import verify_webhook
from tests.functional.api_support import api_for, error_code
from tests.functional.world import World, keys, world

__all__ = ["keys", "world"]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/docflow?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture()
def private_allowed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(world.app.config, "ALLOW_PRIVATE_WEBHOOKS", True)


def _outbox(world: World) -> list[OutboxMessage]:
    with world.session() as s:
        return list(
            s.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == Channel.WEBHOOK)
            )
        )


@pytest.mark.usefixtures("private_allowed")
def test_a_webhook_is_delivered_signed_and_matches_the_event_feed(
    world: World, receiver: Receiver
) -> None:
    api = api_for(world, world.org_a)
    created = api.post(
        "/webhooks",
        json={
            "url": receiver.url,
            "events": ["document.to_sign"],
            "description": "ERP",
        },
    )
    assert created.status_code == 201, created.get_json()
    hook = created.get_json()
    secret = hook["secret"]
    assert len(secret) >= 32 and hook["events"] == ["document.to_sign"]
    listed = api.get("/webhooks").get_json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    doc = api.post_document().get_json()
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    event = verify_webhook(body, headers, secret)
    assert event.type == "document.to_sign"
    assert event.data["document_id"] == doc["id"]
    assert headers["X-Signature"].startswith("sha256=")
    with pytest.raises(Exception, match="signature"):
        verify_webhook(body, headers, "another-secret-of-enough-length")

    feed = api.get("/events").get_json()
    kinds = [e["kind"] for e in feed["items"]]
    assert kinds == ["document.to_sign"]
    assert feed["items"][0]["id"] == str(event.data["event_id"])
    assert feed["items"][0]["data"]["document_id"] == doc["id"]
    later = api.get(f"/events?after={feed['next_cursor']}").get_json()
    assert later["items"] == [] and later["next_cursor"] == feed["next_cursor"]
    assert later["has_more"] is False
    # A refusal is an event too; the webhook is not subscribed to it.
    api.post(f"/documents/{doc['id']}/refuse", json={"reason": "Не тот период"})
    assert len(receiver.requests) == 1
    newer = api.get(f"/events?after={feed['next_cursor']}").get_json()
    assert [e["kind"] for e in newer["items"]] == ["document.refused"]

    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    api.post_document()
    assert len(receiver.requests) == 1


def test_the_suppliers_webhook_gets_every_organisations_events(
    world: World, receiver: Receiver, private_allowed: None
) -> None:
    supplier = api_for(world, None)
    secret = supplier.post("/webhooks", json={"url": receiver.url}).get_json()["secret"]
    api_for(world, world.org_a).post_document()
    api_for(world, world.org_b).post_document(contract_number="50-0100-ЮЛ")
    document_ids = [
        verify_webhook(body, headers, secret).data["document_id"]
        for headers, body in receiver.requests
    ]
    assert len(set(document_ids)) == 2


def test_delivery_to_a_private_address_is_refused_at_send_time(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = api_for(world, world.org_a)
    monkeypatch.setitem(world.app.config, "ALLOW_PRIVATE_WEBHOOKS", True)
    assert api.post("/webhooks", json={"url": receiver.url}).status_code == 201
    # The setting is switched off later (or the name now resolves inward).
    monkeypatch.setitem(world.app.config, "ALLOW_PRIVATE_WEBHOOKS", False)
    api.post_document()
    assert receiver.requests == []
    rows = _outbox(world)
    assert [r.status for r in rows] == [OutboxStatus.FAILED]
    assert "non-public" in (rows[0].last_error or "")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "webhook_url_forbidden"),
        ("http://localhost/hook", "webhook_url_forbidden"),
        ("http://10.1.2.3/hook", "webhook_url_forbidden"),
        ("http://[::1]/hook", "webhook_url_forbidden"),
        ("http://169.254.169.254/latest/meta-data", "webhook_url_forbidden"),
        ("http://192.168.0.10:8443/", "webhook_url_forbidden"),
        ("ftp://files.example.ru/hook", "validation_error"),
        ("https://user:password@erp.example.ru/hook", "validation_error"),
        ("not a url", "validation_error"),
        ("https://erp.example.ru:99999/", "validation_error"),
    ],
)
def test_webhook_urls_are_checked(world: World, url: str, code: str) -> None:
    api = api_for(world, world.org_a)
    resp = api.post("/webhooks", json={"url": url})
    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == code


def test_webhook_requests_are_validated(world: World) -> None:
    api = api_for(world, world.org_a)
    for body, code in (
        (
            {"url": "https://erp.example.ru/h", "events": ["nonsense"]},
            "validation_error",
        ),
        (
            {"url": "https://erp.example.ru/h", "events": "document.signed"},
            "validation_error",
        ),
        ({"url": "https://erp.example.ru/h", "secret": "short"}, "validation_error"),
        ({"url": 42}, "validation_error"),
        ({}, "validation_error"),
    ):
        resp = api.post("/webhooks", json=body)
        assert resp.status_code == 422 and error_code(resp) == code, body
    given = api.post(
        "/webhooks",
        json={"url": "https://erp.example.ru/h", "secret": "s" * 24, "events": []},
    )
    assert given.status_code == 201 and given.get_json()["secret"] == "s" * 24
    other = api_for(world, world.org_b)
    assert other.delete(f"/webhooks/{given.get_json()['id']}").status_code == 404
    for bad in ("after=abc", "after=-1", "limit=0", "limit=501"):
        resp = api.get(f"/events?{bad}")
        assert resp.status_code == 422, bad
