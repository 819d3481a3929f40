"""The appeals API: filing with attachments (multipart), the list with
filters, one appeal, the answer's files; keys of another organisation, keys
without the scope, hostile bodies."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

from sqlalchemy import func, select

from docflow.access import Actor
from docflow.appeals import services as svc
from docflow.appeals.models import Appeal, AppealTopic
from docflow.context import current_runtime
from docflow.db import transaction
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.world import World, act_pdf, keys, world

__all__ = ["keys", "world"]

TEXT = "Прошу проверить начисления по счёту за октябрь 2026 года."


def topics(w: World) -> dict[str, str]:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            claim = AppealTopic(
                title="Претензия по объёму потребления",
                is_significant=True,
                answer_hours=72,
                description="",
            )
            bill = AppealTopic(title="Вопрос по счёту", answer_hours=48, description="")
            s.add_all([claim, bill])
        s.close()
    return {"claim": str(claim.id), "bill": str(bill.id)}


def post(
    api: Api,
    meta: dict[str, Any],
    files: tuple[tuple[str, bytes], ...] = (),
    headers: dict[str, str] | None = None,
) -> Any:
    data: dict[str, Any] = {"meta": json.dumps(meta, ensure_ascii=False)}
    if files:
        data["attachments"] = [(io.BytesIO(b), n) for n, b in files]
    return api.post(
        "/appeals", data=data, content_type="multipart/form-data", headers=headers
    )


def meta(topic: str, **extra: Any) -> dict[str, Any]:
    return {
        "topic_id": topic,
        "contract_number": "77-0001-ЮЛ",
        "text": TEXT,
        "contact_name": "Иванов Иван",
        "contact_phone": "+7 495 123-45-67",
        **extra,
    }


def count(w: World) -> int:
    with w.app.app_context():
        s = w.session()
        n = s.scalar(select(func.count()).select_from(Appeal)) or 0
        s.close()
    return int(n)


def answer(w: World, appeal_id: str) -> None:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            svc.answer_appeal(
                s,
                actor=Actor.for_user(s.merge(w.clerk)),
                runtime=current_runtime(),
                appeal_id=uuid.UUID(appeal_id),
                text="Ответ: счёт верен, см. расчёт.",
                files=[svc.Upload.from_bytes("расчёт.pdf", act_pdf("Расчёт"))],
            )
        s.close()


def test_file_list_get_and_download_the_answer(world: World) -> None:
    t = topics(world)
    api = api_for(world, world.org_a)
    listed = api.get("/appeals/topics")
    assert listed.status_code == 200
    assert {x["title"] for x in listed.get_json()["items"]} == {
        "Претензия по объёму потребления",
        "Вопрос по счёту",
    }
    resp = post(
        api,
        meta(t["bill"]),
        files=(("письмо.pdf", act_pdf()),),
        headers={"Idempotency-Key": "erp-42"},
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "registered" and body["number"].startswith("ОБР-")
    assert [f["filename"] for f in body["files"]][1:] == ["письмо.pdf"]
    assert resp.headers["Location"].endswith(f"/api/v1/appeals/{body['id']}")
    again = post(api, meta(t["bill"]), headers={"Idempotency-Key": "erp-42"})
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert count(world) == 1
    page = api.get("/appeals?status=registered&q=" + body["number"])
    assert page.status_code == 200 and page.get_json()["total"] == 1
    assert api.get("/appeals?status=answered").get_json()["total"] == 0
    answer(world, body["id"])
    one = api.get(f"/appeals/{body['id']}").get_json()
    assert one["status"] == "answered" and one["answer"]["text"].startswith("Ответ")
    [pdf_file, extra] = one["answer"]["files"]
    got = api.get(f"/appeals/{body['id']}/answer/files/{extra['id']}")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    # The appeal's own files are not «answer files».
    own = one["files"][0]["id"]
    assert api.get(f"/appeals/{body['id']}/answer/files/{own}").status_code == 404
    # Another organisation's key: nothing is there.
    other = api_for(world, world.org_b)
    assert other.get(f"/appeals/{body['id']}").status_code == 404
    assert (
        other.get(f"/appeals/{body['id']}/answer/files/{extra['id']}").status_code
        == 404
    )
    assert other.get("/appeals").get_json()["total"] == 0
    # The supplier's key sees every appeal and filters by organisation.
    supplier = api_for(world, None, "read")
    assert supplier.get("/appeals?organisation=7701234567").get_json()["total"] == 1


def test_significant_appeal_needs_the_sign_scope(world: World) -> None:
    t = topics(world)
    no_sign = api_for(world, world.org_a, "read,write")
    resp = post(no_sign, meta(t["claim"]))
    assert resp.status_code == 403 and error_code(resp) == "forbidden"
    signer = api_for(world, world.org_a)
    resp = post(signer, meta(t["claim"]))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "awaiting_signature" and body["due_at"] is None
    assert body["document_id"]


def test_scopes_and_foreign_contracts(world: World) -> None:
    t = topics(world)
    read_only = api_for(world, world.org_a, "read")
    assert post(read_only, meta(t["bill"])).status_code == 403
    other = api_for(world, world.org_b)
    resp = post(other, meta(t["bill"]))
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    # Every key reads (``read`` is implied by every scope), only its own.
    readings_key = api_for(world, world.org_a, "readings")
    assert readings_key.get("/appeals").status_code == 200
    assert post(readings_key, meta(t["bill"])).status_code == 403
    supplier = api_for(world, None)
    assert post(supplier, meta(t["bill"])).status_code == 403
    assert count(world) == 0


def test_hostile_bodies_get_json_errors(world: World) -> None:
    t = topics(world)
    api = api_for(world, world.org_a)
    cases = [
        meta(t["bill"], text="NUL \x00 в тексте обращения"),
        meta(t["bill"], text="я" * 100_000),
        meta(t["bill"], contact_phone="звоните"),
        meta(t["bill"], topic_id="not-a-uuid"),
        meta(str(uuid.uuid4())),
        meta(t["bill"], extra="поле"),
        meta(t["bill"], text=12345),
    ]
    for body in cases:
        resp = post(api, body)
        assert resp.status_code in (400, 404, 413, 422), (body, resp.status_code)
        error_code(resp)
    resp = api.post(
        "/appeals", data={"meta": "{не json"}, content_type="multipart/form-data"
    )
    assert resp.status_code == 400 and error_code(resp) == "invalid_json"
    resp = api.post("/appeals", json=meta(t["bill"]))
    assert resp.status_code == 415
    six = tuple((f"{i}.pdf", act_pdf()) for i in range(6))
    resp = post(api, meta(t["bill"]), files=six)
    assert resp.status_code == 422 and error_code(resp) == "too_many_files"
    resp = post(api, meta(t["bill"]), files=(("x.exe", b"MZ\x90"),))
    assert resp.status_code in (415, 422)
    for query in (
        "?status=нет",
        "?date_from=вчера",
        "?overdue=maybe",
        "?page=0",
        "?topic_id=x",
        "?unknown=1",
        "?q=" + "я" * 300,
    ):
        resp = api.get("/appeals" + query)
        assert resp.status_code == 422, query
        error_code(resp)
    assert api.get(f"/appeals/{uuid.uuid4()}").status_code == 404
    assert count(world) == 0
