"""Two nodes share nothing but the database, the blob store and the broker
(issue 18, item 8): what is done on node A holds on node B at once.

The cluster (``cluster_harness``): two gunicorn nodes and two Celery workers on
one fresh PostgreSQL database, one S3 server, one Redis, every process with a
var/ and a TRUST_STORE of its own, and two beats.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from limits import parse

import signing
from docflow.accounts.views import LOGIN_LIMIT_PER_ACCOUNT
from notifications import verify_webhook
from signing import Pkcs12Signer, pki
from tests.functional.world import act_pdf
from tests.integration.cluster_harness import (
    ADMIN,
    CONTRACT,
    PASSWORD,
    Cluster,
    csrf_token,
    login,
    running_cluster,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("cluster")]

PEM = {"Content-Type": "application/x-pem-file"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@contextmanager
def admin_on(cluster: Cluster, node: str) -> Iterator[httpx.Client]:
    """The supplier's administrator, signed in on one node. (Every client is
    closed: a kept-alive connection would hold a node's shutdown.)"""
    with httpx.Client(timeout=60) as client:
        assert login(client, cluster.web[node], ADMIN, PASSWORD).status_code == 302
        yield client


def post_form(
    client: httpx.Client, base: str, path: str, files: dict[str, Any] | None = None
) -> httpx.Response:
    """A form of the trust page, posted as the browser posts it."""
    token = csrf_token(client.get(f"{base}/certificates/trust").text)
    return client.post(f"{base}{path}", data={"csrf_token": token}, files=files)


def trust_on_a(admin: httpx.Client, cluster: Cluster, ca: pki.Issued) -> httpx.Response:
    """The administrator adds a CA on node A's «Доверенные УЦ» page."""
    return post_form(
        admin,
        cluster.web["a"],
        "/certificates/trust",
        {"certificate": ("ca.crt", ca.pem, "application/x-x509-ca-cert")},
    )


def register(cluster: Cluster, node: str, cert: pki.Issued) -> httpx.Response:
    with cluster.api(node) as api:
        return api.post("/certificates", content=cert.pem, headers=PEM)


def signer_of_romashka(issuer: pki.Issued, **options: Any) -> pki.Issued:
    return pki.make_signer(
        issuer, organization="ООО «Ромашка»", inn_le="7701234567", **options
    )


def test_a_session_from_node_a_works_on_node_b(cluster: Cluster) -> None:
    with admin_on(cluster, "a") as browser:
        # The same cookie, the other node: signed in there too.
        page = browser.get(f"{cluster.web['b']}/certificates/trust")
    assert page.status_code == 200
    assert "Доверенные удостоверяющие центры" in page.text


def test_a_rate_limit_counts_across_nodes(cluster: Cluster) -> None:
    limit = parse(LOGIN_LIMIT_PER_ACCOUNT).amount
    answers = []
    with httpx.Client(timeout=60) as browser:
        for attempt in range(limit + 2):
            node = "ab"[attempt % 2]
            answers.append(
                login(
                    browser, cluster.web[node], "nobody@example.ru", "wrong"
                ).status_code
            )
    # Counted per process or per node, no attempt would have been refused.
    assert answers == [200] * limit + [429, 429]


def test_a_ca_trusted_on_node_a_is_used_on_node_b_at_once(cluster: Cluster) -> None:
    root = pki.make_root_ca("Кластерный УЦ")
    leaf = signer_of_romashka(root, surname="Кластерный")
    refused = register(cluster, "b", leaf)
    assert refused.status_code == 422  # and node B remembers that verdict
    assert refused.json()["error"]["code"] == "certificate_invalid"

    with admin_on(cluster, "a") as admin:
        added = trust_on_a(admin, cluster, root)
    assert added.status_code == 302

    assert register(cluster, "b", leaf).status_code == 201


def test_a_revocation_seen_on_node_a_is_refused_on_node_b_at_once(
    cluster: Cluster,
) -> None:
    root = pki.make_root_ca("УЦ со списком отзыва")
    leaf = signer_of_romashka(root, surname="Отзываемый", crl_url=cluster.crl.url)
    cluster.crl.body = pki.make_crl(root, number=1)
    with admin_on(cluster, "a") as admin:
        trust_on_a(admin, cluster, root)
        assert register(cluster, "b", leaf).status_code == 201
        assert register(cluster, "a", leaf).status_code == 200  # known, valid
        assert cluster.crl.gets == 1  # downloaded once, for both nodes

        # The CA revokes it; the administrator on node A downloads the CRLs anew.
        cluster.crl.body = pki.make_crl(
            root,
            [pki.Revoked(leaf.cert.serial_number, dt.datetime.now(dt.UTC))],
            number=2,
        )
        refreshed = post_form(
            admin, cluster.web["a"], "/certificates/trust/crl/refresh"
        )
    assert refreshed.status_code == 302
    assert cluster.crl.gets == 2

    refused = register(cluster, "b", leaf)
    assert refused.status_code == 422
    assert "revoked" in {
        r["code"] for r in refused.json()["error"]["details"]["validation"]["reasons"]
    }
    assert cluster.crl.gets == 2  # node B used what node A downloaded


def _post_document(api: httpx.Client) -> str:
    meta = {
        "type": "prom10",
        "number": "П-1",
        "date": "2026-10-31",
        "contract_number": CONTRACT,
        "title": "Акт ПРОМ10",
    }
    resp = api.post(
        "/documents",
        files={
            "file": ("act.pdf", act_pdf(), "application/pdf"),
            "meta": (None, json.dumps(meta, ensure_ascii=False), "application/json"),
        },
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_a_registration_revoked_on_node_a_is_refused_on_node_b_at_once(
    cluster: Cluster,
) -> None:
    root = pki.make_root_ca("УЦ подписанта")
    leaf = signer_of_romashka(root, surname="Подписант")
    with admin_on(cluster, "a") as admin:
        trust_on_a(admin, cluster, root)
    signer = Pkcs12Signer.load(leaf.pkcs12("pw"), "pw")
    with cluster.api("a") as on_a, cluster.api("b") as on_b:
        registered = on_a.post("/certificates", content=leaf.pem, headers=PEM)
        assert registered.status_code == 201
        first, second = _post_document(on_a), _post_document(on_a)
        pdf = on_b.get(f"/documents/{first}/content").content  # from the shared S3
        signed = on_b.post(
            f"/documents/{first}/signatures",
            content=signing.sign_cms(pdf, signer),  # type: ignore[attr-defined]
            headers={"Content-Type": "application/pkcs7-signature"},
        )
        assert signed.status_code == 201, signed.text

        cert_id = registered.json()["certificate"]["id"]
        assert on_a.delete(f"/certificates/{cert_id}").status_code == 200
        pdf = on_b.get(f"/documents/{second}/content").content
        refused = on_b.post(
            f"/documents/{second}/signatures",
            content=signing.sign_cms(pdf, signer),  # type: ignore[attr-defined]
            headers={"Content-Type": "application/pkcs7-signature"},
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "certificate_not_registered"


def test_a_webhook_secret_sealed_on_node_a_is_opened_by_node_bs_worker(
    cluster: Cluster,
) -> None:
    # Only node B's worker runs: whatever is delivered, it delivered.
    cluster.processes["worker-a"].stop()
    with cluster.api("a") as on_a:
        hook = on_a.post("/webhooks", json={"url": cluster.hooks.url, "events": []})
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]
    before = len(cluster.hooks.deliveries)
    with cluster.api("b") as on_b:
        _post_document(on_b)
    wait_until(
        lambda: len(cluster.hooks.deliveries) > before, "a webhook from node B's worker"
    )
    delivery = cluster.hooks.deliveries[before]
    event = verify_webhook(delivery.body, delivery.headers, secret)
    assert event.type.startswith("document.")
    assert "Task docflow." in cluster.processes["worker-b"].output()


def test_beat_runs_once_of_two_started(cluster: Cluster) -> None:
    beats = [cluster.processes["beat-a"], cluster.processes["beat-b"]]
    wait_until(
        lambda: all("beat lock" in b.output() for b in beats), "both beats at the lock"
    )
    holding = [b for b in beats if "this beat holds the beat lock" in b.output()]
    waiting = [b for b in beats if "another beat holds the beat lock" in b.output()]
    assert len(holding) == 1 and len(waiting) == 1, [b.output()[-2000:] for b in beats]
    # The one holding the lock stops: the other takes over.
    holding[0].stop()
    wait_until(
        lambda: "this beat now holds the beat lock" in waiting[0].output(),
        "the waiting beat taking over",
    )
