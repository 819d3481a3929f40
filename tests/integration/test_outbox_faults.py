"""The outbox against real parts and real faults.

A real Celery worker (prefork, one child) and a real ``celery beat`` with a
one-second sweep, both on the Redis broker; PostgreSQL; an aiosmtpd server on
loopback that the app's ``SMTP_URL`` points to. Each fault test ends with
every message received by the SMTP server exactly once, counted by its
``X-Docflow-Message-Id``, and every outbox row sent.

Webhooks: an endpoint registered like the API does (a sealed secret), a
receiver on loopback that checks every signature and answers 503 for a while;
each event is acknowledged (2xx) exactly once. Loopback is a private address,
so the worker runs with ``ALLOW_PRIVATE_WEBHOOKS``.

Back-off, grace and the sweep period are shrunk through the ``OUTBOX_*``
settings (``OutboxPolicy`` in ``docflow/config.py``), so the module runs in well under a
minute on two cores; most of it is the two worker starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.smtp import SMTP, Envelope, Session
from celery import _state
from flask import Flask
from sqlalchemy import select, text

from docflow.accounts.models import User
from docflow.app import create_app
from docflow.config import OutboxPolicy
from docflow.db import transaction
from docflow.outbox.models import (
    DeliveredMessage,
    Event,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Webhook,
)
from docflow.outbox.sealing import seal_secret
from docflow.outbox.services import publish, relay_message
from docflow.outbox.tasks import channel_for, outbox_policy
from docflow.outbox.webhooks import webhook_targets
from notifications import WebhookVerificationError, verify_webhook
from tests.appfixtures import (
    TEST_SECRET,
    build_app,
    empty_tables,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.integration.notifications.conftest import (
    RecordingHandler,
    SmtpServer,
    SmtpServers,
)
from tests.services import REDIS_URL, free_port, require_postgres, require_redis

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

POLICY = {
    "OUTBOX_BACKOFF_SECONDS": "0.3",
    "OUTBOX_MAX_BACKOFF_SECONDS": "2",
    "OUTBOX_MAX_ATTEMPTS": "10",
    "OUTBOX_SWEEP_GRACE_SECONDS": "1",
    "OUTBOX_SWEEP_INTERVAL_SECONDS": "1",
}
CONTEXT = {
    "document_title": "Акт сверки",
    "document_number": "А-7",
    "contract_number": "77-0001-ЮЛ",
    "url": "http://localhost/documents/7",
    "signer_name": "Иванов И. И.",
}


# --- an SMTP server that can be slow at the worst moments -----------------------


@dataclass
class FaultyHandler(RecordingHandler):
    """Records accepted messages; can stall in DATA (before accepting) or in
    QUIT (after accepting). A stalled coroutine is cancelled by aiosmtpd when
    the client goes away, so a message whose 250 was never sent is not kept:
    what a real server does with a transaction it did not acknowledge."""

    data_delay: float = 0.0
    quit_delay: float = 0.0
    in_data: threading.Event = field(default_factory=threading.Event)
    in_quit: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_delay:
            self.in_data.set()
            await asyncio.sleep(self.data_delay)
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.quit_delay:
            self.in_quit.set()
            await asyncio.sleep(self.quit_delay)
        return "221 Bye"

    def reset(self) -> None:
        self.received.clear()
        self.data_delay = self.quit_delay = 0.0
        self.in_data.clear()
        self.in_quit.clear()

    def counts(self) -> Counter[str]:
        return Counter(str(r.message["X-Docflow-Message-Id"]) for r in self.received)


@dataclass
class Smtp:
    servers: SmtpServers
    server: SmtpServer
    handler: FaultyHandler

    @property
    def url(self) -> str:
        sender = quote("Энергосбыт <noreply@energosbyt.example>")
        return f"smtp://127.0.0.1:{self.server.port}?from={sender}&timeout=10"

    @property
    def up(self) -> bool:
        return self.server.controller is not None

    def stop(self) -> None:
        if self.server.controller is not None:
            self.server.controller.stop()
            self.server.controller = None

    def start(self) -> None:
        if self.server.controller is None:
            self.servers.start(self.server)


@pytest.fixture(scope="module")
def smtp() -> Iterator[Smtp]:
    servers = SmtpServers()
    handler = FaultyHandler()
    server = SmtpServer(free_port(), handler)
    box = Smtp(servers, server, handler)
    box.start()
    yield box
    box.stop()


# --- the app, the worker and beat -------------------------------------------------


class Process:
    """A celery process in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole group: the worker and its pool child, no goodbyes."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _owns_connection_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds an established TCP connection to ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(fields[9])
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(link == f"socket:[{inode}]" for link in links for inode in inodes)


@dataclass
class Rig:
    app: Flask
    smtp: Smtp
    worker: Process
    beat: Process
    queue: str

    def session(self) -> Any:
        return self.app.extensions["docflow"].sessionmaker()

    def kill_pool_child(self) -> int:
        """SIGKILL the pool process that is talking to the SMTP server."""
        assert self.worker.proc is not None
        busy = [
            pid
            for pid in _children(self.worker.proc.pid)
            if _owns_connection_to(pid, self.smtp.server.port)
        ]
        assert len(busy) == 1, (busy, self.worker.tail())
        os.kill(busy[0], signal.SIGKILL)
        return busy[0]

    def rows(self) -> list[OutboxMessage]:
        with self.session() as s:
            return list(
                s.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
            )

    def wait(self, what: str, ok: Callable[[], bool], timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            time.sleep(0.1)
        rows = [(r.id, r.status.value, r.attempts, r.last_error) for r in self.rows()]
        raise AssertionError(
            f"timed out waiting for {what}: {rows}\n"
            f"worker:\n{self.worker.tail()}\nbeat:\n{self.beat.tail()}"
        )

    def wait_all_sent(self, ids: list[uuid.UUID], timeout: float = 45) -> None:
        def done() -> bool:
            rows = {r.id: r for r in self.rows()}
            return all(rows[i].status == OutboxStatus.SENT for i in ids)

        self.wait("every message sent", done, timeout)

    def assert_each_received_once(self, ids: list[uuid.UUID]) -> None:
        # A duplicate would arrive after the row was marked sent: give it time.
        time.sleep(1.5)
        assert self.smtp.handler.counts() == Counter({str(i): 1 for i in ids})
        assert {r.id: r.status for r in self.rows()} == {
            i: OutboxStatus.SENT for i in ids
        }


def _env(app: Flask, smtp: Smtp) -> dict[str, str]:
    s = app.extensions["docflow"].settings
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": s.database_url,
            "CELERY_BROKER_URL": s.celery.broker_url,
            "CELERY_QUEUE": s.celery.queue,
            "DOCFLOW_VAR_DIR": str(s.var_dir),
            "SECRET_KEY": TEST_SECRET,
            "SMTP_URL": smtp.url,
            "SMS_GATEWAY_URL": s.messages.sms_gateway_url,
            "STORAGE_URL": s.storage_url,
            "TRUST_STORE": s.signatures.trust_store,
            **POLICY,
            "RATELIMIT_STORAGE_URL": REDIS_URL,  # production refuses memory://
            "ALLOW_PRIVATE_WEBHOOKS": "1",
        }
    )
    return env


def _forget_queue(broker_url: str, queue: str) -> None:
    """Drop what kombu keeps in Redis for ``queue``: the list, and the messages a
    killed worker left unacknowledged (they would come back in an hour)."""

    client = redis.Redis.from_url(broker_url)
    try:
        for tag, raw in client.hscan_iter("unacked"):
            try:
                routing_key = json.loads(raw)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.delete(queue, f"_kombu.binding.{queue}")
    finally:
        client.close()


@pytest.fixture(scope="module")
def rig(smtp: Smtp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    broker = require_redis()
    admin = require_postgres()
    previous_default = _state.default_app
    tmp = tmp_path_factory.mktemp("outbox-faults")
    queue = f"docflow-outbox-faults-{uuid.uuid4().hex[:8]}"
    with postgres_database(admin, f"{worker_database_name()}_outbox") as url:
        settings = make_settings(tmp, url, smtp_url=smtp.url).replace(
            celery_broker_url=broker,
            celery_queue=queue,
            outbox=OutboxPolicy.from_env(POLICY),
        )
        app = build_app(settings)
        env = _env(app, smtp)
        worker = Process(
            [
                CELERY,
                "-A",
                "wsgi:celery",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
                "-n",
                f"{queue}@%h",
            ],
            env,
            tmp / "worker.log",
        )
        beat = Process(
            [
                CELERY,
                "-A",
                "wsgi:celery",
                "beat",
                "-s",
                str(tmp / "beat-schedule"),
                "--max-interval",
                "1",
                "-l",
                "WARNING",
            ],
            env,
            tmp / "beat.log",
        )
        worker.start()
        beat.start()
        try:
            yield Rig(app, smtp, worker, beat, queue)
        finally:
            beat.kill()  # beat keeps no state worth a clean exit here
            worker.stop()
            app.extensions["docflow"].engine.dispose()
            _forget_queue(broker, queue)
            if previous_default is not None:
                previous_default.set_default()


@pytest.fixture()
def fresh(rig: Rig) -> Iterator[Rig]:
    rig.smtp.handler.reset()
    rig.smtp.start()
    yield rig
    rig.smtp.handler.reset()
    rig.smtp.start()
    empty_tables(rig.app)


def publish_emails(
    app: Flask, count: int, *, webhooks: bool = False
) -> list[uuid.UUID]:
    """One event for ``count`` new users, each subscribed to e-mail by default:
    the event, the in-app notifications and the outbox rows in one transaction."""

    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            users = []
            for _ in range(count):
                user = User(
                    email=f"u{uuid.uuid4().hex[:10]}@romashka.example",
                    password_hash="-",
                    last_name="Тестов",
                    first_name="Тест",
                    email_confirmed_at=dt.datetime.now(dt.UTC),
                )
                s.add(user)
                users.append(user)
            s.flush()
            targets = webhook_targets(s, None, "document.signed") if webhooks else []
            published = publish(
                s,
                kind="document.signed",
                users=users,
                context=CONTEXT,
                title="Документ подписан",
                webhooks=targets,
            )
        s.close()
    assert len(published.outbox_ids) == count + len(targets)
    return list(published.outbox_ids)


# --- the faults --------------------------------------------------------------------


def test_smtp_down_for_a_while_each_message_delivered_once(fresh: Rig) -> None:
    rig = fresh
    rig.smtp.stop()
    ids = publish_emails(rig.app, 3)

    rig.wait(
        "three failed attempts each", lambda: all(r.attempts >= 3 for r in rig.rows())
    )
    rows = rig.rows()
    assert {r.status for r in rows} == {OutboxStatus.PENDING}
    assert all("cannot connect to SMTP server" in (r.last_error or "") for r in rows)

    rig.smtp.start()
    rig.wait_all_sent(ids)
    rig.assert_each_received_once(ids)
    assert all(r.attempts >= 3 and r.last_error is None for r in rig.rows())


def test_worker_killed_mid_delivery_no_duplicate_no_loss(fresh: Rig) -> None:
    rig = fresh
    handler = rig.smtp.handler

    # 1. The pool child dies after the server accepted the message (it is
    #    stuck in QUIT), before the outbox row was committed. The parent gives
    #    the task back (reject_on_worker_lost); the next attempt finds the id in
    #    the sent registry and does not send it again.
    handler.quit_delay = 60
    [first] = publish_emails(rig.app, 1)
    assert handler.in_quit.wait(60), rig.worker.tail()
    assert handler.counts() == Counter({str(first): 1})
    with rig.session() as s:
        assert s.get(DeliveredMessage, str(first)) is not None  # committed on its own
        row = s.get(OutboxMessage, first)
        assert (
            row is not None and row.status == OutboxStatus.PENDING and row.attempts == 1
        )
    rig.kill_pool_child()
    handler.quit_delay = 0
    rig.wait_all_sent([first])

    # 2. The whole worker dies while the server is still reading the message
    #    (no 250 yet: not accepted). Restarted, it gets the row back from the
    #    sweep (beat) and sends it once.
    handler.data_delay = 60
    [second] = publish_emails(rig.app, 1)
    assert handler.in_data.wait(30), rig.worker.tail()
    rig.worker.kill()
    handler.data_delay = 0
    with rig.session() as s:
        assert s.get(DeliveredMessage, str(second)) is None
        row = s.get(OutboxMessage, second)
        assert (
            row is not None and row.status == OutboxStatus.PENDING and row.attempts == 1
        )
    rig.worker.start()
    rig.wait_all_sent([first, second])

    rig.assert_each_received_once([first, second])
    assert [r.attempts for r in rig.rows()] == [2, 2]


# --- a webhook endpoint on loopback --------------------------------------------------

WEBHOOK_SECRET = "webhook-secret-for-the-fault-tests"  # noqa: S105 - a test value


@dataclass
class Receiver:
    """Checks each POST's signature; answers 503 while ``down``. ``acked``
    holds the event ids it answered 2xx to, ``refused`` those it did not."""

    url: str = ""
    down: bool = False
    acked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                event = verify_webhook(body, dict(self.headers.items()), WEBHOOK_SECRET)
            except WebhookVerificationError as exc:
                box.forged.append(str(exc))
                status = 400
            else:
                status = 503 if box.down else 200
                (box.refused if box.down else box.acked).append(event.id)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/docflow"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield box
    server.shutdown()
    server.server_close()
    thread.join(5)


def register_webhook(app: Flask, url: str) -> None:
    """What ``POST /api/v1/webhooks`` stores for the supplier: every event."""

    secret_key = app.extensions["docflow"].settings.secret_key
    with app.extensions["docflow"].sessionmaker() as s, transaction(s):
        s.add(
            Webhook(
                organisation_id=None,
                url=url,
                kinds="",
                secret=seal_secret(WEBHOOK_SECRET, secret_key),
            )
        )


def test_webhook_endpoint_down_for_a_while_each_event_acknowledged_once(
    fresh: Rig,
    receiver: Receiver,
) -> None:
    rig = fresh
    register_webhook(rig.app, receiver.url)
    receiver.down = True
    ids = publish_emails(rig.app, 2, webhooks=True)
    with rig.session() as s:
        [hook_row] = s.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "webhook")
        )
    rig.wait(
        "two refused deliveries", lambda: receiver.refused.count(str(hook_row.id)) >= 2
    )

    receiver.down = False
    rig.wait_all_sent(ids)
    time.sleep(1.5)
    assert receiver.forged == []
    assert Counter(receiver.acked) == Counter({str(hook_row.id): 1})
    assert rig.smtp.handler.counts() == Counter(
        {str(i): 1 for i in ids if i != hook_row.id}
    )
    with rig.session() as s:
        row = s.get(OutboxMessage, hook_row.id)
        assert row is not None and row.attempts >= 3 and row.status == OutboxStatus.SENT


def test_broker_down_when_the_event_is_written(fresh: Rig) -> None:
    rig = fresh
    settings = rig.app.extensions["docflow"].settings
    closed = f"redis://127.0.0.1:{free_port()}/0"
    publisher = create_app(settings.replace(celery_broker_url=closed))
    try:
        started = time.monotonic()
        ids = publish_emails(publisher, 3)
        # One failed connection, not one per message: the request stays quick.
        assert time.monotonic() - started < 5
    finally:
        publisher.extensions["docflow"].engine.dispose()
    with rig.session() as s:
        assert s.scalar(select(Event.id)) is not None
        assert len(s.scalars(select(Notification)).all()) == 3

    # Nothing was queued; beat's sweep finds the rows once the grace is over.
    rig.wait_all_sent(ids)
    rig.assert_each_received_once(ids)
    assert all(r.attempts == 1 for r in rig.rows())


# --- the relay in-process, against the real SMTP server and PostgreSQL ------------


@pytest.fixture()
def eager_app(fresh: Rig) -> Iterator[Flask]:
    """The same database, Celery eager (no broker, as in the embedded mode),
    and only two attempts: the rows never reach the worker."""
    settings = fresh.app.extensions["docflow"].settings
    policy = OutboxPolicy.from_env({**POLICY, "OUTBOX_MAX_ATTEMPTS": "2"})
    app = create_app(settings.replace(celery_broker_url="memory://", outbox=policy))
    yield app
    app.extensions["docflow"].engine.dispose()


def test_attempts_run_out_then_an_administrator_retries(
    fresh: Rig, eager_app: Flask
) -> None:
    fresh.smtp.stop()
    [mid] = publish_emails(eager_app, 1)  # attempt 1, inline after the commit
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    with eager_app.app_context():
        s = eager_app.extensions["docflow"].sessionmaker()
        with transaction(s):
            outcome, _ = relay_message(
                s, mid, channel_for=channel_for, now=later, policy=outbox_policy()
            )
        s.close()
    assert outcome == "failed"
    status = eager_app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "failed=1" in status.output and str(mid) in status.output
    assert "cannot connect to SMTP server" in status.output

    fresh.smtp.start()
    out = eager_app.test_cli_runner().invoke(args=["outbox", "retry-failed"])
    assert "queued 1 failed" in out.output, out.output
    [row] = fresh.rows()
    assert row.status == OutboxStatus.SENT and row.attempts == 1  # counted from zero
    fresh.assert_each_received_once([mid])


def test_relay_skips_a_locked_row_and_bounds_a_message_that_kills_workers(
    fresh: Rig,
    eager_app: Flask,
) -> None:
    fresh.smtp.stop()  # anything that gets through would be retried, not sent
    policy = OutboxPolicy(max_attempts=2)
    with eager_app.app_context():
        sm = eager_app.extensions["docflow"].sessionmaker
        # Dated ahead, so that beat's sweep leaves these rows to this test.
        future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        with sm() as s, transaction(s):
            row = OutboxMessage(
                kind="document.signed",
                channel="email",
                recipient="x@romashka.example",
                context=CONTEXT,
                created_at=future,
            )
            s.add(row)
        # Another worker holds the row: this one gives up without sending.
        with sm() as holder:
            holder.execute(
                text("SELECT id FROM outbox WHERE id = :id FOR UPDATE"), {"id": row.id}
            )
            with sm() as s, transaction(s):
                assert relay_message(
                    s, row.id, channel_for=channel_for, policy=policy
                ) == ("busy", None)
            holder.rollback()
        # Two claimed attempts that never reported back (their workers died).
        with sm() as s, transaction(s):
            s.execute(
                text("UPDATE outbox SET attempts = 2, last_error = 'x' WHERE id = :id"),
                {"id": row.id},
            )
        with sm() as s, transaction(s):
            assert relay_message(s, row.id, channel_for=channel_for, policy=policy) == (
                "failed",
                None,
            )
        with sm() as s:
            failed = s.get(OutboxMessage, row.id)
            assert failed is not None and failed.status == OutboxStatus.FAILED
            assert "did not finish" in (failed.last_error or "")
        # The same, but the last attempt had got the e-mail accepted: sent.
        with sm() as s, transaction(s):
            delivered = OutboxMessage(
                kind="document.signed",
                channel="email",
                recipient="y@romashka.example",
                context=CONTEXT,
                attempts=2,
                created_at=future,
            )
            s.add(delivered)
            s.flush()
            s.add(DeliveredMessage(message_id=str(delivered.id)))
        with sm() as s, transaction(s):
            assert relay_message(
                s, delivered.id, channel_for=channel_for, policy=policy
            ) == ("sent", None)
    assert fresh.smtp.handler.counts() == Counter()
