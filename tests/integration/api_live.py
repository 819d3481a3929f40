"""A live cabinet (PostgreSQL, a server thread) for tests that call the API
over HTTP: a supplier and ООО «Ромашка» with contract 77-0001-ЮЛ, and the test
root CA trusted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from docflow.contracts.models import Contract, Organisation
from docflow.db import transaction
from tests.appfixtures import (
    build_app,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.services import free_port, require_postgres


@dataclass
class LiveApi:
    app: Flask
    url: str
    customer: Organisation


@contextmanager
def live_api(var: Path, keys: Any, name: str) -> Iterator[LiveApi]:
    admin = require_postgres()
    with postgres_database(admin, f"{worker_database_name()}_{name}") as db_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        app = build_app(make_settings(var, db_url, base_url=url))
        app.config["API_RATE_LIMIT"] = "1000000/minute"
        app.config["API_AUTH_FAILURE_LIMIT"] = "1000000/minute"
        trust = Path(app.extensions["docflow"].settings.signatures.trust_store)
        trust.mkdir(parents=True, exist_ok=True)
        (trust / "test-root.crt").write_bytes(keys.root.pem)
        with app.app_context():
            s = app.extensions["docflow"].sessionmaker()
            with transaction(s):
                s.add(
                    Organisation(
                        name="АО «Энергосбыт»", inn="7736520080", is_supplier=True
                    )
                )
                org = Organisation(name="ООО «Ромашка»", inn="7701234567")
                s.add(org)
                s.flush()
                s.add(Contract(number="77-0001-ЮЛ", organisation_id=org.id))
            s.close()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LiveApi(app, url, org)
        finally:
            server.shutdown()
            thread.join(5)
            app.extensions["docflow"].engine.dispose()
