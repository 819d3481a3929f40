"""Reaching the real services the tests run against.

A service that cannot be reached skips its tests with a clear reason on a
developer's machine and fails them in CI (``CI=true``), where a missing service
is a broken machine, not an excuse.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

POSTGRES_URL = os.environ.get(
    "DOCFLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("DOCFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BROKER_URL = os.environ.get(
    "DOCFLOW_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
)


def unavailable(service: str, reason: str) -> None:
    """Skip (locally) or fail (in CI) the current test for a missing service."""
    message = f"{service} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)")
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with closing(socket.create_connection((host, port), timeout=timeout)):
            return True
    except OSError:
        return False


def require_tcp(service: str, url: str, default_port: int) -> None:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    if not port_open(host, port):
        unavailable(service, f"nothing listens on {host}:{port}")


def require_postgres() -> str:
    require_tcp("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


def require_redis() -> str:
    require_tcp("Redis", REDIS_URL, 6379)
    return REDIS_URL


def require_rabbitmq() -> str:
    require_tcp("RabbitMQ", BROKER_URL, 5672)
    return BROKER_URL


def require_command(name: str) -> str:
    """The path of a system tool the tests drive (chromium, pdfsig, softhsm2-util)."""
    path = shutil.which(name)
    if path is None:
        unavailable(
            name, "not installed (make test installs it: scripts/bootstrap-system.sh)"
        )
    assert path is not None
    return path


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open within {timeout}s")


@contextmanager
def background_process(
    args: list[str],
    *,
    port: int,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process on a loopback port, wait until it listens, stop it after.

    The server's stderr goes to a temporary file, not a pipe: a chatty server
    would block once a pipe nobody reads is full.
    """
    with tempfile.TemporaryFile() as errfile:
        proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=errfile
        )
        try:
            try:
                wait_for_port("127.0.0.1", port, timeout)
            except TimeoutError:
                proc.kill()
                errfile.seek(0)
                err = errfile.read().decode(errors="replace")
                raise RuntimeError(f"{args[0]} did not start: {err[-2000:]}") from None
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


PYTHON = sys.executable
