"""A cabinet of two nodes on loopback, run as the README's production recipe
runs it (issue 18, item 8).

One PostgreSQL database (made fresh for the run), one S3 server (moto, through
the real minio client as the cabinet uses it), one Redis as the Celery broker
and the rate limiter's store; node A and node B each run a gunicorn web server
and a Celery worker, and two beats are started. Every process has a var/
directory and a TRUST_STORE of its own, so nothing can pass from one to
another but through the shared services; they share the environment of the
recipe (the same SECRET_KEY above all). In the test process: the CA's CRL
distribution point and a webhook receiver.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from docflow.accounts.models import Role
from docflow.accounts.services import register_user
from docflow.api.services import create_api_key
from docflow.contracts.models import Contract, Organisation
from docflow.db import transaction
from tests.appfixtures import (
    build_app,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.integration.storage.backends import moto_server, new_bucket
from tests.services import (
    free_port,
    require_postgres,
    require_redis,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cluster-password-1"
ADMIN = "admin@energosbyt.example"
CUSTOMER_INN = "7701234567"
CONTRACT = "77-0001-ЮЛ"
#: How long the harness waits for a process to come up or a delivery to
#: arrive (an upper bound, not a measure: it returns as soon as it happens).
PATIENCE = 90.0


def wait_until(check: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Process:
    """A process of the cluster, its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        self.terminate()
        self.wait()

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()

    def wait(self) -> None:
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class CrlServer:
    """The CA's distribution point: serves :attr:`body`, counts downloads."""

    def __init__(self) -> None:
        self.body = b""
        self.gets = 0
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with lock:
                    outer.gets += 1
                    body = outer.body
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ca.crl"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


class HookReceiver:
    """An integration's webhook endpoint: keeps every delivery."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.deliveries.append(Delivery(dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Cluster:
    database_url: str
    api_key: str
    web: dict[str, str]  # node → base URL
    processes: dict[str, Process]
    crl: CrlServer
    hooks: HookReceiver
    env: dict[str, str] = field(repr=False)

    def api(self, node: str) -> httpx.Client:
        """An integration's API client on one node."""
        return httpx.Client(
            base_url=f"{self.web[node]}/api/v1",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=60,
        )


def csrf_token(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def login(client: httpx.Client, base: str, email: str, password: str) -> httpx.Response:
    """Sign in on the node at ``base`` as a browser does (CSRF token first)."""
    token = csrf_token(client.get(f"{base}/account/login").text)
    return client.post(
        f"{base}/account/login",
        data={"csrf_token": token, "email": email, "password": password},
    )


def _seed(database_url: str, var: Path) -> str:
    """The world, made with the services in this process: the supplier and its
    administrator, ООО «Ромашка» with a contract, and Ромашка's API key."""
    app = build_app(make_settings(var, database_url))
    try:
        with app.app_context():
            s = app.extensions["docflow"].sessionmaker()
            with transaction(s):
                s.add(
                    Organisation(
                        name="АО «Энергосбыт»", inn="7736520080", is_supplier=True
                    )
                )
                org = Organisation(name="ООО «Ромашка»", inn=CUSTOMER_INN)
                s.add(org)
                s.flush()
                s.add(Contract(number=CONTRACT, organisation_id=org.id))
                register_user(
                    s,
                    email=ADMIN,
                    password=PASSWORD,
                    last_name="Кузнецов",
                    first_name="Алексей",
                    role=Role.ADMIN,
                    confirmed=True,
                )
                made = create_api_key(
                    s,
                    user=None,
                    organisation=org,
                    name="cluster",
                    scopes="read,write,sign",
                )
                secret = made.secret
            s.close()
    finally:
        app.extensions["docflow"].engine.dispose()
    return str(secret)


def _start(
    args: list[str], *, name: str, env: dict[str, str], tmp: Path, node: str
) -> Process:
    var = tmp / name
    var.mkdir()
    log = tmp / f"{name}.log"
    own = {
        **env,
        "DOCFLOW_NODE": node,
        "DOCFLOW_VAR_DIR": str(var),
        "TRUST_STORE": str(var / "trust"),
    }
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, cwd=ROOT, env=own, stdout=out, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log)


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "wsgi:celery", *args]


def start_beat(cluster: Cluster, name: str, node: str, tmp: Path) -> Process:
    process = _start(
        _celery("beat", "-l", "INFO"), name=name, env=cluster.env, tmp=tmp, node=node
    )
    cluster.processes[name] = process
    return process


@contextmanager
def running_cluster(tmp: Path) -> Iterator[Cluster]:
    """Start the cluster (see the module docstring); stop every process after."""
    redis_url = require_redis()
    admin = require_postgres()
    run = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        database_url = stack.enter_context(
            postgres_database(admin, f"{worker_database_name()}_cluster")
        )
        s3 = stack.enter_context(moto_server(tmp / "moto.log"))
        crl = CrlServer()
        stack.callback(crl.close)
        hooks = HookReceiver()
        stack.callback(hooks.close)
        api_key = _seed(database_url, tmp / "seed")
        ports = {"a": free_port(), "b": free_port()}
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "STORAGE_URL": s3.url(new_bucket()),
            "CELERY_BROKER_URL": redis_url,
            "CELERY_QUEUE": f"docflow-cluster-{run}",
            "RATELIMIT_STORAGE_URL": redis_url,
            "RATELIMIT_KEY_PREFIX": f"cluster-{run}",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "BASE_URL": f"http://127.0.0.1:{ports['a']}",
            "REVOCATION_MODE": "soft",
            # The CA and the webhook receiver of this test live on loopback.
            "ALLOW_PRIVATE_FETCH": "true",
            "ALLOW_PRIVATE_WEBHOOKS": "true",
        }
        env.pop("DOCFLOW_ENV", None)  # production, as PostgreSQL makes it
        cluster = Cluster(
            database_url=database_url,
            api_key=api_key,
            web={n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
            processes={},
            crl=crl,
            hooks=hooks,
            env=env,
        )
        stack.callback(_stop_all, cluster)
        for node, port in ports.items():
            cluster.processes[f"web-{node}"] = _start(
                [
                    sys.executable, "-m", "gunicorn", "--preload",
                    "-k", "gthread", "-w", "1", "--threads", "4",
                    "-b", f"127.0.0.1:{port}", "wsgi:app",
                ],
                name=f"web-{node}", env=env, tmp=tmp, node=node,
            )  # fmt: skip
            cluster.processes[f"worker-{node}"] = _start(
                _celery(
                    "worker", "-Q", env["CELERY_QUEUE"], "-n", f"worker-{node}@%h",
                    "--pool=threads", "-c", "2", "--without-heartbeat",
                    "--without-gossip", "--without-mingle", "-l", "INFO",
                ),
                name=f"worker-{node}", env=env, tmp=tmp, node=node,
            )  # fmt: skip
        for node in ports:
            start_beat(cluster, f"beat-{node}", node, tmp)
        for node, port in ports.items():
            web = cluster.processes[f"web-{node}"]
            try:
                wait_for_port("127.0.0.1", port, PATIENCE)
            except TimeoutError:
                raise AssertionError(
                    f"web-{node} did not start:\n{web.output()[-3000:]}"
                ) from None
        for node in ports:
            worker = cluster.processes[f"worker-{node}"]
            wait_until(_settled(worker), f"worker-{node} ready")
            assert worker.running(), worker.output()[-3000:]
        yield cluster


def _stop_all(cluster: Cluster) -> None:
    """Stop every process at once (each takes its time to shut down)."""
    for process in cluster.processes.values():
        process.terminate()
    for process in cluster.processes.values():
        process.wait()


def _settled(worker: Process) -> Callable[[], bool]:
    """Whether a Celery worker is ready (or gave up)."""
    return lambda: " ready." in worker.output() or not worker.running()
