"""Throughput and latency of the REST API in the production shape.

Starts, on loopback: a fresh PostgreSQL database, a moto S3 server (the blob
store), a real Celery worker on Redis (it relays the outbox: one webhook per
event to a receiver in this process), and gunicorn serving the cabinet. Then
16 clients (threads with httpx) post documents, sign them (a detached CMS over
the original, verified by the server each time) and read them back; beside
them, the same clients call a bare Flask endpoint returning a constant, served
by gunicorn with the same workers in the same run. The ratio to the bare
endpoint is the figure that matters: it says what the work costs, whatever the
machine. On a machine busy with other work it moves with that work, unevenly
between the phases; so each phase also counts the CPU time of every process
that serves it (the server's workers, the Celery worker relaying the phase's
events — the phase ends when they are all delivered —, the S3 server, the
run's PostgreSQL backends), per request and beside the bare endpoint's.

Beside each route: the SQL statements one request sends, counted after the
load, in this process, with the Flask test client against the same PostgreSQL,
S3 and broker (a ``before_cursor_execute`` listener, ``docflow.db.
count_statements``; the relay the request queues runs in the worker and is
not counted). Then the goals of issue #18, met or not: POST /documents ≥ 0.20
of the bare endpoint and ≤ 8 statements, a signature ≥ 0.15 and ≤ 12, GET
/documents/{id} ≥ 0.45 and ≤ 3; and every webhook delivered exactly once.

    python benchmarks/api.py [--clients 16] [--documents 400] [--workers 4]

Needs PostgreSQL (``DOCFLOW_TEST_DATABASE_URL``, default postgres@127.0.0.1)
and Redis (``DOCFLOW_TEST_REDIS_URL``, default 127.0.0.1:6379/0; db 15 is used).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Run as a script, this file's directory comes first on sys.path, and
# benchmarks/signing.py and benchmarks/storage.py would shadow the packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
ROOT = _HERE.parent

import httpx  # noqa: E402 -- after the sys.path repair above
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import signing  # noqa: E402
from docflow.access import Actor  # noqa: E402
from docflow.api.services import create_api_key  # noqa: E402
from docflow.app import create_app  # noqa: E402
from docflow.contracts.models import Contract, Organisation  # noqa: E402
from docflow.db import count_statements as counting  # noqa: E402
from docflow.db import transaction  # noqa: E402
from docflow.migrate import upgrade  # noqa: E402
from docflow.outbox.webhooks import create_webhook  # noqa: E402
from signing import Pkcs12Signer, pki  # noqa: E402

PG_ADMIN = os.environ.get(
    "DOCFLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("DOCFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
S3_KEY, S3_SECRET = "docflow-bench", "docflow-bench-secret"

BARE_APP = """
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})
"""

_MOTO = """
import logging, os, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import main
os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
main(sys.argv[1:])
"""


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def process(
    args: list[str],
    *,
    env: dict[str, str],
    log: Path,
    cwd: Path = ROOT,
    port: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        if port is not None:
            wait_for_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return -1, 0.0
    # After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICKS


class CpuMeter:
    """CPU seconds spent by the processes that serve a route, all of them:
    the server's workers, the Celery worker, the S3 server, and this run's
    PostgreSQL backends. Per request and beside the bare endpoint's, it is
    the figure a busy machine does not skew (the rates are: other work takes
    the same cores, unevenly between the phases)."""

    def __init__(self, admin_url: str, database_name: str) -> None:
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._database = database_name

    def _backends(self) -> list[int]:
        with self._admin.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                    {"name": self._database},
                )
            )

    def seconds(self, roots: list[int], *, database: bool) -> float:
        return sum(self.by_part(dict.fromkeys(map(str, roots)), database).values())

    def by_part(self, parts: dict[str, int | None], database: bool) -> dict[str, float]:
        """CPU seconds of each named root process and its descendants (and,
        with ``database``, of this run's PostgreSQL backends as ``database``)."""
        table = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                table[int(entry.name)] = _cpu_of(int(entry.name))
        out: dict[str, float] = {}
        for name, root in parts.items():
            wanted = {int(name) if root is None else root}
            grew = True
            while grew:  # the root and all its descendants
                more = {pid for pid, (ppid, _) in table.items() if ppid in wanted}
                grew = not more <= wanted
                wanted |= more
            out[name] = sum(table[pid][1] for pid in wanted if pid in table)
        if database:
            out["database"] = sum(
                table[pid][1] for pid in self._backends() if pid in table
            )
        return out

    def close(self) -> None:
        self._admin.dispose()


@contextmanager
def database(name: str) -> Iterator[str]:
    url = make_url(PG_ADMIN)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Receiver:
    """The integration's webhook endpoint: counts deliveries, and how many
    times each message (``X-Event-Id``, the outbox message) came."""

    def __init__(self) -> None:
        self.count = 0
        self.seen: Counter[str] = Counter()
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.count += 1
                    outer.seen[self.headers.get("X-Event-Id", "")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def make_pdf() -> bytes:
    font = ROOT / "signing" / "fonts" / "DejaVuSans.ttf"
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(font)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("DejaVuSans", 14)
    c.drawString(72, 760, "Акт снятия показаний расчётных приборов учёта (ПРОМ10)")
    c.showPage()
    c.save()
    return buf.getvalue()


@dataclass
class World:
    key: str
    signer: Any
    cert_der: bytes


@dataclass(frozen=True)
class Goal:
    ratio: float  # of the bare endpoint's rate, at least
    statements: int  # per request, at most


#: Issue #18.
GOALS = {
    "POST /documents": Goal(0.20, 8),
    "POST /documents/{id}/signatures": Goal(0.15, 12),
    "GET /documents/{id}": Goal(0.45, 3),
}


def build_world(env: dict[str, str], receiver_url: str) -> World:
    """Migrate, then a supplier, ООО «Ромашка» with a contract, a trusted test
    CA and its signatory, and an API key — with the services, in this process."""

    os.environ.update(env)

    upgrade(env["DATABASE_URL"])
    root = pki.make_root_ca("Бенчмарк УЦ")
    issued = pki.make_signer(
        root,
        surname="Иванов",
        given_name="Иван Иванович",
        organization="ООО «Ромашка»",
        inn_le="7701234567",
    )
    trust = Path(env["TRUST_STORE"])
    trust.mkdir(parents=True, exist_ok=True)
    (trust / "root.crt").write_bytes(root.pem)
    app = create_app()
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            s.add(
                Organisation(name="АО «Энергосбыт»", inn="7736520080", is_supplier=True)
            )
            org = Organisation(name="ООО «Ромашка»", inn="7701234567")
            s.add(org)
            s.flush()
            s.add(Contract(number="77-0001-ЮЛ", organisation_id=org.id))
            made = create_api_key(
                s, user=None, organisation=org, name="bench", scopes="read,write,sign"
            )

        actor = Actor(
            user=None,
            is_supplier=False,
            label="bench",
            organisation_id=org.id,
            api_key_id=made.key.id,
            scopes=frozenset({"read", "write"}),
        )
        with transaction(s):
            create_webhook(
                s,
                actor=actor,
                url=receiver_url,
                kinds=[],
                secret=None,
                description="bench",
                secret_key=env["SECRET_KEY"],
                allow_private=True,
            )
        s.close()
    app.extensions["docflow"].engine.dispose()
    signer = Pkcs12Signer.load(issued.pkcs12("pw"), "pw")
    return World(made.secret, signer, issued.cert.public_bytes(Encoding.DER))


@dataclass
class Result:
    name: str
    latencies: list[float]
    seconds: float
    errors: int
    route: str = ""
    cpu: float = 0.0  # CPU seconds of the serving processes during the phase
    parts: dict[str, float] | None = None  # the same, by process

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def load(
    name: str,
    clients: int,
    calls: list[Callable[[httpx.Client], Any]],
    base: str,
    headers: dict[str, str],
) -> tuple[Result, list[Any]]:
    """Run ``calls`` on ``clients`` threads (one connection each); time each."""
    latencies: list[float] = []
    outputs: list[Any] = []
    errors = 0
    lock = threading.Lock()
    queue = list(reversed(calls))

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    call = queue.pop()
                started = time.perf_counter()
                try:
                    out = call(client)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    with lock:
                        errors += 1
                        if errors <= 3:
                            print(f"  {name}: {exc}", file=sys.stderr)
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    outputs.append(out)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return Result(name, latencies, time.perf_counter() - started, errors), outputs


def count_statements(
    env: dict[str, str], key: str, pdf: bytes, meta: str, sig: bytes
) -> dict[str, int]:
    """SQL statements per request of each route, in this process: the same
    application, database, store and broker as the servers, one request each
    after one to warm up (the first of a process loads the trust store)."""
    os.environ.update(env)

    app = create_app()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}

    def post() -> Any:
        return client.post(
            "/api/v1/documents",
            headers=auth,
            data={"file": (io.BytesIO(pdf), "act.pdf"), "meta": meta},
            content_type="multipart/form-data",
        )

    def sign(doc_id: str) -> Any:
        return client.post(
            f"/api/v1/documents/{doc_id}/signatures",
            headers={**auth, "Content-Type": "application/pkcs7-signature"},
            data=sig,
        )

    counts: dict[str, int] = {}
    engine = app.extensions["docflow"].engine
    try:
        sign(post().get_json()["id"])  # warm up
        with counting(engine) as seen:
            doc_id = post().get_json()["id"]
        counts["POST /documents"] = len(seen)
        with counting(engine) as seen:
            signed = sign(doc_id)
        assert signed.status_code == 201, signed.get_json()
        counts["POST /documents/{id}/signatures"] = len(seen)
        with counting(engine) as seen:
            assert (
                client.get(f"/api/v1/documents/{doc_id}", headers=auth).status_code
                == 200
            )
        counts["GET /documents/{id}"] = len(seen)
    finally:
        engine.dispose()
    return counts


def expect(resp: httpx.Response, status: int) -> httpx.Response:
    if resp.status_code != status:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url.path}: "
            f"{resp.status_code} {resp.text[:200]}"
        )
    return resp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument(
        "--bare", type=int, default=4000, help="calls of the bare endpoint"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="docflow-bench-"))
    logs = tmp / "logs"
    logs.mkdir()
    receiver = Receiver()
    s3_port, app_port, bare_port = free_port(), free_port(), free_port()
    redis_db = REDIS.rsplit("/", 1)[0] + "/15"
    with (
        database(f"docflow_bench_{os.getpid()}") as db_url,
        process(
            [sys.executable, "-c", _MOTO, "-H", "127.0.0.1", "-p", str(s3_port)],
            env=dict(os.environ),
            log=logs / "moto.log",
            port=s3_port,
        ) as s3,
    ):
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "STORAGE_URL": f"s3://{S3_KEY}:{S3_SECRET}@127.0.0.1:{s3_port}/docflow-bench"
            "?secure=false",
            "CELERY_BROKER_URL": redis_db,
            # Production counts rate limits in a shared store (memory:// refused).
            "RATELIMIT_STORAGE_URL": redis_db,
            "CELERY_QUEUE": f"docflow-bench-{os.getpid()}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DOCFLOW_VAR_DIR": str(tmp / "var"),
            "TRUST_STORE": str(tmp / "var" / "trust"),
            "BASE_URL": f"http://127.0.0.1:{app_port}",
            "API_RATE_LIMIT": "100000000/minute",
            "ALLOW_PRIVATE_WEBHOOKS": "true",
            "REVOCATION_MODE": "soft",
        }
        world = build_world(env, receiver.url)
        (tmp / "bare_app.py").write_text(BARE_APP)
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gthread",
            "-w",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ]
        with (
            process(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "wsgi:celery",
                    "worker",
                    "-Q",
                    env["CELERY_QUEUE"],
                    "-c",
                    "2",
                    "--loglevel",
                    "WARNING",
                ],
                env=env,
                log=logs / "celery.log",
            ) as worker,
            process(
                [*gunicorn, "-b", f"127.0.0.1:{app_port}", "wsgi:app"],
                env=env,
                log=logs / "gunicorn.log",
                port=app_port,
            ) as server,
            process(
                [*gunicorn, "-b", f"127.0.0.1:{bare_port}", "bare_app:app"],
                env=env,
                log=logs / "bare.log",
                port=bare_port,
                cwd=tmp,
            ) as bare_server,
        ):
            auth = {"Authorization": f"Bearer {world.key}"}
            api = f"http://127.0.0.1:{app_port}/api/v1"
            with httpx.Client(base_url=api, headers=auth, timeout=60) as c:
                expect(
                    c.post(
                        "/certificates",
                        content=world.cert_der,
                        headers={"Content-Type": "application/pkix-cert"},
                    ),
                    201,
                )
            pdf = make_pdf()
            # One signature serves every document: they all have these bytes.
            # It is made here, as the client would; the server verifies each.
            sig = signing.sign_cms(pdf, world.signer)  # type: ignore[attr-defined]
            meta = json.dumps(
                {
                    "type": "prom10",
                    "number": "П-1",
                    "date": "2026-10-31",
                    "contract_number": "77-0001-ЮЛ",
                    "title": "Акт ПРОМ10",
                },
                ensure_ascii=False,
            )

            def post_document(c: httpx.Client) -> str:
                resp = c.post(
                    "/documents",
                    files={
                        "file": ("act.pdf", pdf, "application/pdf"),
                        "meta": (None, meta, "application/json"),
                    },
                )
                return str(expect(resp, 201).json()["id"])

            def signer_of(doc_id: str) -> Callable[[httpx.Client], Any]:
                def sign(c: httpx.Client) -> str:
                    resp = c.post(
                        f"/documents/{doc_id}/signatures",
                        content=sig,
                        headers={"Content-Type": "application/pkcs7-signature"},
                    )
                    body = expect(resp, 201).json()
                    assert body["signature"]["verdict"] == "valid"
                    return doc_id

                return sign

            def reader_of(doc_id: str) -> Callable[[httpx.Client], Any]:
                return lambda c: expect(c.get(f"/documents/{doc_id}"), 200)

            def ping(c: httpx.Client) -> None:
                expect(c.get("/ping"), 200)

            meter = CpuMeter(PG_ADMIN, f"docflow_bench_{os.getpid()}")
            serving = {"server": server.pid, "worker": worker.pid, "S3": s3.pid}

            def drained(count: int) -> float:
                """Seconds until the receiver has ``count`` webhooks (at most 120)."""
                start = time.monotonic()
                while receiver.count < count and time.monotonic() - start < 120:
                    time.sleep(0.2)
                return time.monotonic() - start

            def phase(
                name: str,
                route: str,
                calls: list[Callable[[httpx.Client], Any]],
                hooks: int,
            ) -> tuple[Result, list[Any]]:
                """One route under load; its CPU counted until the worker has
                relayed the phase's events too."""
                before = meter.by_part(serving, database=True)
                result, outputs = load(name, args.clients, calls, api, auth)
                drained(hooks)
                after = meter.by_part(serving, database=True)
                result.parts = {k: after[k] - before.get(k, 0.0) for k in after}
                result.cpu = sum(result.parts.values())
                result.route = route
                return result, outputs

            # Warm up every worker (imports, pools, the trust store's cache).
            load(
                "warm-up", args.clients, [post_document] * (args.clients * 2), api, auth
            )
            load(
                "warm-up",
                args.clients,
                [ping] * 200,
                f"http://127.0.0.1:{bare_port}",
                {},
            )
            drained(2 * args.clients)

            results = []
            before = meter.seconds([bare_server.pid], database=False)
            bare, _ = load(
                "bare Flask endpoint (constant JSON)",
                args.clients,
                [ping] * args.bare,
                f"http://127.0.0.1:{bare_port}",
                {},
            )
            bare.cpu = meter.seconds([bare_server.pid], database=False) - before
            results.append(bare)
            # Per document: «to sign» (customer), «signed», «to sign» (supplier);
            # the warm-up documents were only registered.
            warm = 2 * args.clients
            posted, ids = phase(
                "POST /documents (25 KB PDF → S3 + PostgreSQL)",
                "POST /documents",
                [post_document] * args.documents,
                warm + args.documents,
            )
            results.append(posted)
            signed, _ = phase(
                "POST /documents/{id}/signatures (CMS verified)",
                "POST /documents/{id}/signatures",
                [signer_of(i) for i in ids],
                warm + 3 * len(ids),
            )
            results.append(signed)
            read, _ = phase(
                "GET /documents/{id}",
                "GET /documents/{id}",
                [reader_of(i) for i in ids],
                warm + 3 * len(ids),
            )
            results.append(read)
            meter.close()

            expected = 3 * len(ids) + warm
            drain = drained(expected)
            delivered = receiver.count
            repeated = sum(n - 1 for n in receiver.seen.values() if n > 1)
            # After the count: these requests' events are not expected above.
            statements = count_statements(env, world.key, pdf, meta, sig)

    print()
    print(
        f"docflow API benchmark: {os.cpu_count()} CPUs, gunicorn {args.workers} workers × "
        f"{args.threads} threads (gthread), {args.clients} concurrent clients;"
    )
    print("PostgreSQL, S3 (moto), Celery worker on Redis relaying webhooks.")
    print()
    head = f"{'operation':<52} {'n':>6} {'err':>4} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8}"
    print(head + f" {'vs bare':>8} {'SQL/req':>8} {'CPU ms':>7} {'CPU vs':>7}")
    print("-" * (len(head) + 34))
    for r in results:
        ratio = r.rate / bare.rate if bare.rate else 0
        sql = str(statements[r.route]) if r.route else "-"
        cpu_ratio = bare.cpu_ms / r.cpu_ms if r.cpu_ms else 0
        print(
            f"{r.name:<52} {len(r.latencies):>6} {r.errors:>4} {r.rate:>9.1f} "
            f"{r.pct(0.5):>8.1f} {r.pct(0.95):>8.1f} {ratio:>8.3f} {sql:>8} "
            f"{r.cpu_ms:>7.2f} {cpu_ratio:>7.3f}"
        )
    print(
        "(CPU ms: CPU time per request of every process that serves it — the\n"
        " server's workers, the Celery worker relaying its events, the S3 server,\n"
        " the run's PostgreSQL backends; CPU vs: the bare endpoint's over it, the\n"
        " ratio an otherwise idle machine would give)"
    )
    print()
    print("CPU ms per request, by process:")
    for r in results[1:]:
        parts = r.parts or {}
        n = len(r.latencies) or 1
        print(
            f"  {r.route:<34} "
            + ", ".join(f"{k} {v / n * 1000:.2f}" for k, v in parts.items())
        )
    print()
    print("goals (issue #18): ratio to the bare endpoint, SQL statements per request")
    for r in results[1:]:
        goal = GOALS[r.route]
        ratio = r.rate / bare.rate if bare.rate else 0
        count = statements[r.route]
        print(
            f"  {r.route:<34} ratio {ratio:.3f} (≥ {goal.ratio:.2f}: "
            f"{'met' if ratio >= goal.ratio else 'NOT met'}), "
            f"{count} statements (≤ {goal.statements}: "
            f"{'met' if count <= goal.statements else 'NOT met'})"
        )
    print()
    exactly = delivered == expected and repeated == 0
    print(
        f"webhooks delivered by the worker: {delivered} of {expected} expected, "
        f"{repeated} twice ({'each once' if exactly else 'NOT each once'}; "
        f"{drain:.1f} s after the load to drain)"
    )
    mean_post = statistics.mean(posted.latencies) * 1000 if posted.latencies else 0
    print(f"mean POST /documents latency {mean_post:.1f} ms; logs in {logs}")
    failed = any(r.errors for r in results) or not exactly
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
