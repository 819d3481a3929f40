"""«Проверить заново»: the card and the package show the reports made when
each signature was received and verify nothing; the button on the card
verifies the stored evidence again, shows the result with its moment and
records it in the audit log — for the supplier's staff and the parties alike.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import signing
import signing.cms
import signing.pades
from docflow.audit.models import AuditRecord
from docflow.audit.services import verify_chain
from docflow.documents import evidence
from docflow.documents.evidence import RECHECK_ACTION
from docflow.documents.models import Document
from tests.functional.test_document_flow import countersign, sign_in_browser
from tests.functional.world import (
    PASSWORD,
    World,
    keys,
    new_document,
    register_cert,
    world,
)

__all__ = ["keys", "world"]


@dataclass
class Calls:
    """How often the verifiers ran and which stored blobs were read."""

    verify: Counter[str]
    reads: list[str]


@pytest.fixture()
def calls(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    counted = Calls(Counter(), [])

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted.verify[name] += 1
            return real(*args, **kwargs)

        return wrapper

    for name, module in (("verify_pdf", signing.pades), ("verify_cms", signing.cms)):
        real = getattr(module, name)
        wrapper = counting(name, real)
        for where in (module, signing, evidence):
            monkeypatch.setattr(where, name, wrapper, raising=False)
    store = world.storage.__class__
    for method in ("read_bytes", "open"):
        real_method = getattr(store, method)

        def reading(
            self: Any, key: str, *args: Any, _real: Any = real_method, **kw: Any
        ) -> Any:
            counted.reads.append(key)
            return _real(self, key, *args, **kw)

        monkeypatch.setattr(store, method, reading)
    yield counted


def _signed(world: World) -> uuid.UUID:
    """A PDF signed by the customer in the browser and countersigned by the
    supplier: two CMS signatures and two PAdES revisions."""
    cert = register_cert(world, world.signer_a, world.keys.signer_a).certificate
    register_cert(world, world.clerk, world.keys.supplier)
    doc_id = new_document(world)
    sign_in_browser(world, world.signer_a, doc_id, world.keys.signer_a, cert.id)
    countersign(world, doc_id)
    return doc_id


def _login(world: World, email: str) -> FlaskClient:
    client = world.app.test_client()
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def _rechecks(world: World, doc_id: uuid.UUID) -> list[AuditRecord]:
    with world.app.app_context():
        s = world.session()
        found = list(
            s.scalars(
                select(AuditRecord)
                .where(
                    AuditRecord.object_id == str(doc_id),
                    AuditRecord.action == RECHECK_ACTION,
                )
                .order_by(AuditRecord.id)
            )
        )
        s.expunge_all()
        s.close()
    return found


def test_opening_the_card_and_the_package_verifies_nothing(
    world: World, calls: Calls
) -> None:
    doc_id = _signed(world)
    calls.verify.clear()
    calls.reads.clear()

    for email in ("clerk@energosbyt.example", "signer@romashka.example"):
        client = _login(world, email)
        card = client.get(f"/documents/{doc_id}")
        assert card.status_code == 200
        page = card.get_data(as_text=True)
        # The verdicts recorded at receipt.
        assert page.count('pill--ok">Подпись действительна') == 2
        assert 'data-testid="reverify"' in page
        assert "Повторная проверка" not in page

    assert calls.verify == Counter()
    assert calls.reads == []  # not a byte of the evidence read for the card

    package = client.get(f"/documents/{doc_id}/package.zip")
    assert package.status_code == 200
    assert calls.verify == Counter()
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith("report.json")]
        report = json.loads(zf.read(name))
    assert [s["verdict"] for s in report["signatures"]] == ["valid", "valid"]
    assert report["rechecks"] == []


def test_the_button_verifies_again_shows_the_moment_and_records_it(
    world: World, calls: Calls
) -> None:
    doc_id = _signed(world)
    calls.verify.clear()
    client = _login(world, "signer@romashka.example")  # a party, not staff

    resp = client.post(f"/documents/{doc_id}/reverify")

    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/documents/{doc_id}#recheck")
    # Each signature's .sig once, the newest signed PDF once for both.
    assert calls.verify == Counter(verify_cms=2, verify_pdf=1)
    (rec,) = _rechecks(world, doc_id)
    assert rec.actor_label.startswith("Иванов Иван")
    assert rec.details["verdict"] == "valid"
    assert [s["party"] for s in rec.details["signatures"]] == ["customer", "supplier"]
    assert {s["verdict"] for s in rec.details["signatures"]} == {"valid"}
    assert {s["at_receipt"] for s in rec.details["signatures"]} == {"valid"}
    assert rec.details["via"] == "web"
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Подписи проверены заново" in page  # the flash and the history row
    assert "Повторная проверка" in page
    assert 'data-testid="recheck-result"' in page
    assert "Проверил: Иванов Иван" in page
    with world.app.app_context():
        s = world.session()
        try:
            assert verify_chain(s)[1] == []
        finally:
            s.close()


def test_staff_may_check_again_and_a_second_click_gets_the_same_result(
    world: World, calls: Calls
) -> None:
    doc_id = _signed(world)
    calls.verify.clear()
    clerk = _login(world, "clerk@energosbyt.example")
    viewer = _login(world, "viewer@romashka.example")  # the view right only

    assert clerk.post(f"/documents/{doc_id}/reverify").status_code == 302
    assert viewer.post(f"/documents/{doc_id}/reverify").status_code == 302

    # Within the cooldown the second request is answered with the first result.
    assert calls.verify == Counter(verify_cms=2, verify_pdf=1)
    (rec,) = _rechecks(world, doc_id)
    assert rec.actor_label.startswith("Смирнова Ольга")
    page = viewer.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Проверил: Смирнова Ольга" in page


def test_another_organisation_gets_404_and_an_anonymous_visitor_the_login(
    world: World, calls: Calls
) -> None:
    doc_id = _signed(world)
    calls.verify.clear()
    stranger = _login(world, "signer@vasilek.example")

    assert stranger.post(f"/documents/{doc_id}/reverify").status_code == 404
    assert stranger.post(f"/documents/{uuid.uuid4()}/reverify").status_code == 404
    anonymous = world.app.test_client().post(f"/documents/{doc_id}/reverify")
    assert anonymous.status_code == 302
    assert "/account/login" in anonymous.headers["Location"]
    assert calls.verify == Counter()
    assert _rechecks(world, doc_id) == []


def test_an_unsigned_document_has_nothing_to_check(world: World, calls: Calls) -> None:
    doc_id = new_document(world)
    client = _login(world, "clerk@energosbyt.example")

    resp = client.post(f"/documents/{doc_id}/reverify", follow_redirects=True)

    assert resp.status_code == 200
    assert "Документ ещё никто не подписал" in resp.get_data(as_text=True)
    assert 'data-testid="reverify"' not in resp.get_data(as_text=True)
    assert calls.verify == Counter()
    assert _rechecks(world, doc_id) == []


def test_a_stored_pdf_altered_in_storage_is_reported_invalid_not_a_500(
    world: World, calls: Calls
) -> None:
    doc_id = _signed(world)
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.latest_pdf is not None
        key = doc.latest_pdf.blob_key
        s.close()
    root = Path(urlsplit(world.app.extensions["docflow"].settings.storage_url).path)
    (path,) = root.glob(f"objects/**/{key}/data")
    path.chmod(0o644)
    data = path.read_bytes()
    path.write_bytes(data[:-10] + b"0" * 10)  # same size, other bytes
    client = _login(world, "clerk@energosbyt.example")

    resp = client.post(f"/documents/{doc_id}/reverify", follow_redirects=True)

    assert resp.status_code == 200
    assert "есть недействительные подписи" in resp.get_data(as_text=True)
    (rec,) = _rechecks(world, doc_id)
    assert rec.details["verdict"] == "invalid"
    supplier = rec.details["signatures"][1]
    assert supplier["verdict"] == "invalid" and supplier["at_receipt"] == "valid"
    assert "повреждён или отсутствует" in supplier["summary"]
    package = client.get(f"/documents/{doc_id}/package.zip")
    assert package.status_code == 500  # the package refuses an altered blob
