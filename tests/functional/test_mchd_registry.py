"""The ФНС registry of powers of attorney behind its adapter: the HTTP
contract against the registry double served over real HTTP, and what the flow
does when the registry is connected but does not answer."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from docflow.access import Actor
from docflow.db import transaction
from docflow.errors import DocflowError
from docflow.powers import services as powers
from docflow.powers.registry import (
    FileRegistry,
    HttpRegistry,
    RegistryState,
    RegistryUnavailableError,
    double_app,
    open_registry,
)
from tests.functional.power_support import power_xml, sign_detached
from tests.functional.world import World, keys, world

__all__ = ["keys", "world"]

NUMBER = "0b3c9d2e-1f4a-4b5c-8d6e-7f8091a2b3c4"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[FileRegistry, str]]:
    """The registry double on a loopback port."""
    registry = FileRegistry(tmp_path / "registry.json")
    server = make_server("127.0.0.1", 0, double_app(registry))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_http_registry_reads_the_double_over_http(
    served: tuple[FileRegistry, str],
) -> None:
    double, url = served
    remote = HttpRegistry(url)
    assert remote.status(NUMBER, "7701234567").state is RegistryState.NOT_FOUND
    double.publish(NUMBER, "7701234567")
    answer = remote.status(NUMBER.upper(), "7701234567")
    assert answer.state is RegistryState.ACTIVE and answer.revoked_at is None
    assert url in answer.source
    # Another principal's number is not this one.
    assert remote.status(NUMBER, "5003012345").state is RegistryState.NOT_FOUND
    revoked_at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    double.revoke(NUMBER, at=revoked_at)
    answer = remote.status(NUMBER, "7701234567")
    assert answer.state is RegistryState.REVOKED and answer.revoked_at == revoked_at


def test_a_silent_or_garbled_registry_is_unavailable(tmp_path: Path) -> None:
    # Nothing listens on this port.
    with pytest.raises(RegistryUnavailableError) as caught:
        HttpRegistry("http://127.0.0.1:9", timeout=2).status(NUMBER, "7701234567")
    assert caught.value.status == 503
    assert caught.value.code == "power_of_attorney_registry_unavailable"

    def garbled(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status": "maybe"}']

    server = make_server("127.0.0.1", 0, garbled)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(RegistryUnavailableError):
            HttpRegistry(f"http://127.0.0.1:{server.server_port}").status(
                NUMBER, "7701234567"
            )
    finally:
        server.shutdown()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", "utf-8")
    with pytest.raises(RegistryUnavailableError):
        FileRegistry(broken).status(NUMBER, "7701234567")


def test_open_registry_by_setting(tmp_path: Path) -> None:
    assert open_registry(None, var_dir=tmp_path) is None
    assert open_registry("off", var_dir=tmp_path) is None
    embedded = open_registry("embedded", var_dir=tmp_path)
    assert isinstance(embedded, FileRegistry)
    assert embedded.path == tmp_path / "mchd-registry.json"
    assert isinstance(
        open_registry("https://gw.example/mchd", var_dir=tmp_path), HttpRegistry
    )


def _upload(world: World, registry: Any) -> Any:
    _, xml = power_xml(number=NUMBER)
    sig = sign_detached(world.keys.signer_a, xml)
    with world.app.app_context():
        s = world.session()
        try:
            with transaction(s):
                power, _ = powers.upload_power(
                    s, actor=Actor.for_user(s.merge(world.signer_a)), xml=xml,
                    signature=sig, runtime=world.runtime.replace(registry=registry),
                )  # fmt: skip
                return power.status_source
        finally:
            s.close()


def test_upload_asks_the_connected_registry(
    world: World, served: tuple[FileRegistry, str]
) -> None:
    double, url = served
    with pytest.raises(DocflowError) as caught:
        _upload(world, HttpRegistry(url))
    assert caught.value.code == "power_of_attorney_not_registered"
    double.publish(NUMBER, "7701234567")
    assert _upload(world, HttpRegistry(url)) == "registry"


def test_nothing_is_accepted_while_the_registry_is_down(world: World) -> None:
    with pytest.raises(DocflowError) as caught:
        _upload(world, HttpRegistry("http://127.0.0.1:9", timeout=2))
    assert caught.value.status == 503
    assert caught.value.code == "power_of_attorney_registry_unavailable"


def test_without_a_registry_the_local_status_counts(world: World) -> None:
    assert _upload(world, None) == "local"
