"""``examples/integration.py`` run as a newcomer runs it, against a live
server, while the supplier's billing system countersigns through the API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.api_support import make_key, sign_cms
from tests.functional.world import keys
from tests.integration.api_live import live_api

__all__ = ["keys"]

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _countersign_when_asked(
    url: str, key: str, issued: Any, stop: threading.Event
) -> None:
    """The supplier's side: read the event feed, countersign each document
    whose customer has signed."""
    auth = {"Authorization": f"Bearer {key}"}
    api = f"{url}/api/v1"
    requests.post(
        f"{api}/certificates",
        data=issued.der,
        headers={**auth, "Content-Type": "application/pkix-cert"},
        timeout=30,
    ).raise_for_status()
    cursor = "0"
    while not stop.is_set():
        feed = requests.get(
            f"{api}/events", params={"after": cursor}, headers=auth, timeout=30
        ).json()
        cursor = feed["next_cursor"]
        for event in feed["items"]:
            if event["kind"] == "document.to_sign" and event["data"]["status"] == (
                "partly_signed"
            ):
                doc_id = event["data"]["document_id"]
                original = requests.get(
                    f"{api}/documents/{doc_id}/content", headers=auth, timeout=30
                ).content
                requests.post(
                    f"{api}/documents/{doc_id}/signatures",
                    data=sign_cms(issued, original),
                    headers={**auth, "Content-Type": "application/pkcs7-signature"},
                    timeout=30,
                ).raise_for_status()
        time.sleep(0.3)


def test_the_example_integration_runs_against_a_live_server(
    tmp_path: Path, keys: Any
) -> None:
    with live_api(tmp_path / "var", keys, "example") as server:
        key = make_key(server.app, server.customer, "read,write,sign")
        supplier_key = make_key(server.app, None, "read,sign")
        p12 = tmp_path / "romashka-signer.p12"
        p12.write_bytes(keys.signer_a.pkcs12("demo1234"))
        stop = threading.Event()
        supplier = threading.Thread(
            target=_countersign_when_asked,
            args=(server.url, supplier_key, keys.supplier, stop),
            daemon=True,
        )
        supplier.start()
        try:
            run = subprocess.run(
                [
                    sys.executable,
                    "examples/integration.py",
                    "--base",
                    server.url,
                    "--key",
                    key,
                    "--p12",
                    str(p12),
                    "--password",
                    "demo1234",
                    "--out",
                    str(tmp_path / "out"),
                    "--wait",
                    "30",
                    "--json",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            stop.set()
            supplier.join(10)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert any("signature: valid" in line for line in lines), run.stdout
    outcome = json.loads(lines[-1])
    assert outcome["status"] == "signed", run.stdout
    assert outcome["signatures"] == ["valid", "valid"]
    names = zipfile.ZipFile(outcome["package"]).namelist()
    # Per party the sealed CAdES-LTA and the bytes as received.
    assert sum(n.endswith(".sig") and "/as-received/" not in n for n in names) == 2
    assert sum("/as-received/" in n for n in names) == 2

    # A wrong password is a clear error, not a traceback.
    bad = subprocess.run(
        [
            sys.executable,
            "examples/integration.py",
            "--base",
            "http://127.0.0.1:9",
            "--key",
            key,
            "--p12",
            str(p12),
            "--password",
            "wrong",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 3
    assert "wrong password" in bad.stderr and "Traceback" not in bad.stderr
