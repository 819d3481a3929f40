"""A real Celery worker process relays the outbox through a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from docflow.accounts import services as svc
from docflow.context import current_runtime
from docflow.db import transaction
from docflow.outbox.models import OutboxMessage, OutboxStatus
from tests.appfixtures import (
    TEST_SECRET,
    build_app,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.services import (
    REDIS_URL,
    require_postgres,
    require_rabbitmq,
    require_redis,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def worker_env(app: Flask) -> dict[str, str]:
    s = app.extensions["docflow"].settings
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": s.database_url,
            # Production (PostgreSQL) refuses per-process rate limits; the worker
            # never counts any, so the URL is only named, not reached.
            "RATELIMIT_STORAGE_URL": REDIS_URL,
            "CELERY_BROKER_URL": s.celery.broker_url,
            "CELERY_QUEUE": s.celery.queue,
            "DOCFLOW_VAR_DIR": str(s.var_dir),
            "SECRET_KEY": TEST_SECRET,
            "SMTP_URL": s.messages.smtp_url,
            "SMS_GATEWAY_URL": s.messages.sms_gateway_url,
            "STORAGE_URL": s.storage_url,
            "TRUST_STORE": s.signatures.trust_store,
        }
    )
    return env


def start_worker(app: Flask) -> subprocess.Popen[bytes]:
    celery = str(Path(sys.executable).with_name("celery"))
    return subprocess.Popen(
        [
            celery,
            "-A",
            "wsgi:celery",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=worker_env(app),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    broker = require_redis() if request.param == "redis" else require_rabbitmq()
    admin = require_postgres()
    with postgres_database(
        admin, f"{worker_database_name()}_worker_{request.param}"
    ) as url:
        settings = make_settings(tmp_path, url).replace(
            celery_broker_url=broker,
            celery_queue=f"docflow-test-{uuid.uuid4().hex[:8]}",
        )
        app = build_app(settings)
        yield app
        app.extensions["docflow"].engine.dispose()


def wait_for_status(
    app: Flask, status: OutboxStatus, timeout: float = 60
) -> list[OutboxMessage]:
    deadline = time.monotonic() + timeout
    rows: list[OutboxMessage] = []
    while time.monotonic() < deadline:
        with app.extensions["docflow"].sessionmaker() as s:
            rows = list(s.scalars(select(OutboxMessage)))
            if rows and all(r.status == status for r in rows):
                return rows
        time.sleep(0.2)
    raise AssertionError(
        f"outbox did not reach {status}: {[(r.status, r.last_error) for r in rows]}"
    )


def test_real_worker_relays_a_confirmation_email(broker_app: Flask) -> None:
    worker = start_worker(broker_app)
    try:
        with broker_app.app_context():
            s = broker_app.extensions["docflow"].sessionmaker()
            with transaction(s):
                user = svc.register_user(
                    s,
                    email="worker@example.ru",
                    password="secret123",
                    last_name="Рабочий",
                    first_name="Процесс",
                )
                svc.send_confirmation(
                    s,
                    user=user,
                    runtime=current_runtime().replace(base_url="http://localhost"),
                )
            s.close()
        rows = wait_for_status(broker_app, OutboxStatus.SENT)
        assert len(rows) == 1 and rows[0].attempts == 1
        mails = list(
            (
                Path(broker_app.extensions["docflow"].settings.var_dir)
                / "outbox"
                / "email"
            ).glob("*.eml")
        )
        assert len(mails) == 1
        assert str(rows[0].id) in mails[0].name
    finally:
        log = stop(worker)
    assert "Traceback" not in log, log
