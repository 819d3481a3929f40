"""What a route, a CLI command or a task reaches through Flask's application
context: the application's state, its :class:`~docflow.runtime.Runtime`, the
database session of the request (or command, or task) and who is asking.

Services never import this module: they are given a session, an actor and a
runtime. Routes call :func:`db_session`, :func:`current_runtime` and
:func:`current_actor`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from docflow.access import Actor
from docflow.audit import RequestInfo
from docflow.config import Settings
from docflow.runtime import Runtime, build_runtime

T = TypeVar("T")


class DocflowState:
    """What ``create_app`` builds once: the settings, the engine, and the
    runtime, built on first use. Changing the settings (tests do) drops the
    runtime; it is built again from the new ones."""

    def __init__(
        self, settings: Settings, engine: Engine, sessions: sessionmaker[Session]
    ) -> None:
        self._settings = settings
        self.engine = engine
        self.sessionmaker = sessions
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()
        self._backends: dict[str, Any] = {}

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        with self._lock:
            self._settings = value
            self._runtime = None

    @property
    def runtime(self) -> Runtime:
        runtime = self._runtime
        if runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = build_runtime(self._settings, self.sessionmaker)
                runtime = self._runtime
        return runtime

    @runtime.setter
    def runtime(self, value: Runtime | None) -> None:
        """Put a runtime in place (a test's), or ``None`` to build it again."""
        with self._lock:
            self._runtime = value

    def backend(self, name: str, factory: Callable[[], T]) -> T:
        """A connection kept for the process (an outbox channel and its pool),
        made by ``factory`` the first time ``name`` is asked for."""
        if name not in self._backends:
            self._backends[name] = factory()
        return self._backends[name]  # type: ignore[no-any-return]


def state() -> DocflowState:
    """The current application's state."""
    return current_app.extensions["docflow"]  # type: ignore[no-any-return]


def current_runtime() -> Runtime:
    """The current application's runtime."""
    return state().runtime


def settings() -> Settings:
    """The current application's settings."""
    return state().settings


def db_session() -> Session:
    """The session of the current request (or CLI command, or task)."""
    if "db_session" not in g:
        g.db_session = state().sessionmaker()
    return g.db_session  # type: ignore[no-any-return]


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def request_info() -> RequestInfo:
    """Who is asking, for the audit log: the client address and user agent."""
    return RequestInfo(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        via="api" if request.path.startswith("/api/") else "web",
    )


def current_actor() -> Actor:
    """The signed-in user as an :class:`docflow.access.Actor`."""
    return Actor.for_user(current_user._get_current_object(), request_info())
