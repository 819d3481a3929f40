"""The ФНС distributed registry of powers of attorney, behind an adapter.

An МЧД takes effect once its principal has registered it in the ФНС
registry, and is revoked there. The cabinet asks the registry for the status
of an МЧД when it is uploaded and at every signature made under it, through
:class:`Registry` — one method, so that an operator can plug in whichever
gateway they use (the ФНС public API, an operator of ЭДО). Built in:

* :class:`HttpRegistry` (``MCHD_REGISTRY_URL=https://…``) — the documented
  HTTP contract below, which a gateway implements;
* :class:`FileRegistry` (``MCHD_REGISTRY_URL=embedded``, the default of the
  embedded mode) — the registry double: a JSON file under ``var/``, which
  ``docflow mchd registry publish|revoke`` edits as a principal would at
  m4d.nalog.gov.ru; :func:`double_app` serves it over HTTP in the
  contract below (for tests and for trying a gateway);
* none (``MCHD_REGISTRY_URL=off``, the default with PostgreSQL) — the status
  kept in the cabinet counts, and every report says so.

HTTP contract: ``GET {base}/poa/{number}?principal_inn={ИНН ЮЛ}`` answers
``200 {"number": …, "status": "active"|"revoked", "revoked_at": ISO-8601|null}``
or ``404`` when the registry has no such МЧД for that principal.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote

import httpx

from docflow.errors import DocflowError

_GUID = re.compile(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}")


class RegistryState(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class RegistryAnswer:
    state: RegistryState
    revoked_at: dt.datetime | None
    checked_at: dt.datetime
    #: Who answered, for the report: «реестр ФНС (https://…)».
    source: str


class RegistryUnavailableError(DocflowError):
    """The registry is connected but did not answer: nothing is accepted on
    an МЧД whose status is unknown (try again later)."""

    status = 503
    code = "power_of_attorney_registry_unavailable"


class Registry(Protocol):
    #: How reports name it.
    name: str

    def status(self, number: str, principal_inn: str) -> RegistryAnswer:
        """The registry's status of МЧД ``number`` of principal ``principal_inn``.

        :raises RegistryUnavailableError: no answer.
        """
        ...


def _parse(payload: Any, *, source: str) -> RegistryAnswer:
    now = dt.datetime.now(dt.UTC)
    if not isinstance(payload, dict) or payload.get("status") not in (
        "active",
        "revoked",
    ):
        raise RegistryUnavailableError(
            "Реестр доверенностей ФНС ответил в неизвестном формате; статус МЧД "
            "проверить не удалось. Повторите позже."
        )
    revoked_at = None
    if payload.get("revoked_at"):
        try:
            revoked_at = dt.datetime.fromisoformat(str(payload["revoked_at"]))
        except ValueError:
            revoked_at = now
        if revoked_at.tzinfo is None:
            revoked_at = revoked_at.replace(tzinfo=dt.UTC)
    return RegistryAnswer(RegistryState(payload["status"]), revoked_at, now, source)


class HttpRegistry:
    """A registry gateway over HTTP (the contract in the module's text)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.name = f"реестр доверенностей ФНС ({self.base_url})"

    def status(self, number: str, principal_inn: str) -> RegistryAnswer:
        url = f"{self.base_url}/poa/{quote(number, safe='')}"
        try:
            response = httpx.get(
                url,
                params={"principal_inn": principal_inn},
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                "Реестр доверенностей ФНС недоступен; статус МЧД проверить не "
                "удалось. Повторите позже.",
                details={"registry": self.base_url, "error": type(exc).__name__},
            ) from None
        if response.status_code == 404:
            return RegistryAnswer(
                RegistryState.NOT_FOUND, None, dt.datetime.now(dt.UTC), self.name
            )
        if response.status_code != 200 or len(response.content) > 64 * 1024:
            raise RegistryUnavailableError(
                f"Реестр доверенностей ФНС ответил ошибкой {response.status_code}; "
                "статус МЧД проверить не удалось. Повторите позже.",
                details={"registry": self.base_url, "status": response.status_code},
            )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return _parse(payload, source=self.name)


class FileRegistry:
    """The registry double: ``{"<number>": {"principal_inn", "status",
    "revoked_at"}}`` in a JSON file, written atomically."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = "встроенный реестр доверенностей (тестовый двойник реестра ФНС)"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise RegistryUnavailableError(
                f"Файл встроенного реестра доверенностей {self.path} повреждён."
            ) from None
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".mchd-registry-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)

    def status(self, number: str, principal_inn: str) -> RegistryAnswer:
        entry = self._load().get(number.lower())
        now = dt.datetime.now(dt.UTC)
        if not isinstance(entry, dict) or entry.get("principal_inn") != principal_inn:
            return RegistryAnswer(RegistryState.NOT_FOUND, None, now, self.name)
        return _parse(entry, source=self.name)

    def publish(self, number: str, principal_inn: str) -> None:
        """Register an МЧД (what its principal does before anyone relies on it)."""
        with self._lock:
            data = self._load()
            data[number.lower()] = {
                "principal_inn": principal_inn,
                "status": "active",
                "revoked_at": None,
            }
            self._save(data)

    def revoke(self, number: str, *, at: dt.datetime | None = None) -> bool:
        with self._lock:
            data = self._load()
            entry = data.get(number.lower())
            if not isinstance(entry, dict):
                return False
            entry["status"] = "revoked"
            entry["revoked_at"] = (at or dt.datetime.now(dt.UTC)).isoformat()
            self._save(data)
            return True


def double_app(registry: FileRegistry) -> Any:
    """A WSGI app serving ``registry`` in the HTTP contract (module text)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        inn = (query.get("principal_inn") or [""])[0]
        number = path.removeprefix("/poa/").lower()
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith("/poa/")
            or not _GUID.fullmatch(number)
        ):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not_found"}']
        answer = registry.status(number, inn)
        if answer.state is RegistryState.NOT_FOUND:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not_found"}']
        body = json.dumps(
            {
                "number": number,
                "status": answer.state.value,
                "revoked_at": answer.revoked_at.isoformat()
                if answer.revoked_at
                else None,
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return app


def open_registry(url: str | None, *, var_dir: Path) -> Registry | None:
    """The registry ``MCHD_REGISTRY_URL`` names; ``None`` for none."""
    if not url or url == "off":
        return None
    if url == "embedded":
        return FileRegistry(var_dir / "mchd-registry.json")
    return HttpRegistry(url)
