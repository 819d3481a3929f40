"""«Ключи API» in the cabinet and ``docflow api-key`` on the command line."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from docflow.accounts.models import Role
from docflow.api.models import ApiKey
from docflow.db import transaction
from tests.factories import make_user
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "world"]


def _login(client: FlaskClient, email: str) -> None:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _key_on_page(html: str) -> str:
    m = re.search(r'data-testid="api-key-value">(dfk_[0-9a-f]{8}_[\w-]+)<', html)
    assert m, "the new key is shown"
    return m.group(1)


def test_a_contract_administrator_makes_a_key_sees_it_once_and_revokes_it(
    world: World,
) -> None:
    client = world.app.test_client()
    _login(client, "signer@romashka.example")
    page = client.get("/api-keys/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ООО «Ромашка»" in html and "АО «Василёк»" not in html
    assert str(world.supplier.id) not in html  # not offered to a customer
    made = client.post(
        "/api-keys/",
        data={
            "organisation": str(world.org_a.id),
            "name": "1С:ERP",
            "scopes": ["write", "sign"],
        },
    )
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    key = _key_on_page(made.get_data(as_text=True))
    listed = client.get("/api-keys/").get_data(as_text=True)
    assert key not in listed and f"dfk_{key.split('_')[1]}_…" in listed

    api = world.app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/v1/documents", headers=auth).status_code == 200
    with world.session() as s:
        stored = s.scalar(select(ApiKey).where(ApiKey.prefix == key.split("_")[1]))
        assert stored is not None and key not in (stored.key_hash, stored.prefix)
        assert stored.scope_set == {"read", "write", "sign"}
        assert stored.last_used_at is not None
        key_id = stored.id
    revoked = client.post(f"/api-keys/{key_id}/revoke", follow_redirects=True)
    assert "отозван" in revoked.get_data(as_text=True)
    assert api.get("/api/v1/documents", headers=auth).status_code == 401


def test_who_may_make_keys(world: World) -> None:
    viewer = world.app.test_client()
    _login(viewer, "viewer@romashka.example")
    page = viewer.get("/api-keys/").get_data(as_text=True)
    assert "администратор её договора" in page
    refused = viewer.post(
        "/api-keys/",
        data={"organisation": str(world.org_a.id), "name": "x", "scopes": ["read"]},
    )
    assert refused.status_code == 422
    assert "dfk_" not in refused.get_data(as_text=True)

    clerk = world.app.test_client()
    _login(clerk, "clerk@energosbyt.example")
    assert str(world.supplier.id) not in clerk.get("/api-keys/").get_data(as_text=True)
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            make_user(
                s,
                email="admin@energosbyt.example",
                last_name="Кузнецов",
                first_name="Алексей",
                role=Role.ADMIN,
            )
        s.close()
    admin = world.app.test_client()
    _login(admin, "admin@energosbyt.example")
    made = admin.post(
        "/api-keys/",
        data={
            "organisation": str(world.supplier.id),
            "name": "Биллинг",
            "scopes": ["read", "sign"],
        },
    )
    assert made.status_code == 201
    key = _key_on_page(made.get_data(as_text=True))
    # The supplier's key sees documents of every customer.
    resp = world.app.test_client().get(
        "/api/v1/documents", headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 200
    # Another organisation's administrator cannot revoke it.
    other = world.app.test_client()
    _login(other, "signer@vasilek.example")
    with world.session() as s:
        key_id = s.scalar(select(ApiKey.id).where(ApiKey.prefix == key.split("_")[1]))
    other.post(f"/api-keys/{key_id}/revoke")
    assert (
        world.app.test_client()
        .get("/api/v1/documents", headers={"Authorization": f"Bearer {key}"})
        .status_code
        == 200
    )


def test_the_command_line_makes_lists_and_revokes_keys(world: World) -> None:
    runner = world.app.test_cli_runner()
    made = runner.invoke(
        args=[
            "api-key",
            "create",
            "--org",
            "7701234567",
            "--scopes",
            "read,write,sign",
            "--name",
            "ERP",
        ]
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    assert re.fullmatch(r"dfk_[0-9a-f]{8}_[\w-]{40,}", key)
    supplier = runner.invoke(
        args=["api-key", "create", "--supplier", "--scopes", "read"]
    )
    assert supplier.exit_code == 0, supplier.output
    listed = runner.invoke(args=["api-key", "list"])
    assert key.split("_")[1] in listed.output and "supplier" in listed.output
    assert key not in listed.output
    assert (
        runner.invoke(args=["api-key", "create", "--org", "0000000000"]).exit_code != 0
    )
    assert (
        runner.invoke(
            args=["api-key", "create", "--org", "7701234567", "--scopes", "root"]
        ).exit_code
        != 0
    )
    assert runner.invoke(args=["api-key", "create"]).exit_code != 0
    revoked = runner.invoke(args=["api-key", "revoke", key])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert (
        "revoked"
        in runner.invoke(args=["api-key", "list", "--org", "7701234567"]).output
    )
    resp = world.app.test_client().get(
        "/api/v1/documents", headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 401
