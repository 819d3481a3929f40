"""Celery's ``shared_task``, typed.

Celery ships no annotations, so its decorator turns a task's function into
``Any``: a caller's ``.delay(...)`` with the wrong arguments goes unnoticed and
the strict check refuses the decorator. :func:`shared_task` here is Celery's
own, with a type: the task keeps its function's parameters for a direct call
and for ``delay``, and a bound task (``bind=True``) drops its ``self``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    Any,
    Concatenate,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
    overload,
)

from celery import shared_task as _celery_shared_task

_P = ParamSpec("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class TaskFunction(Protocol[_P, _R_co]):
    """What a Celery task is to its callers: called in the process, queued by
    ``delay``/``apply_async``, run eagerly by ``apply``. The results and the
    app are Celery's (untyped) objects."""

    name: str
    app: Any

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...

    def delay(self, *args: _P.args, **kwargs: _P.kwargs) -> Any: ...

    def apply_async(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any: ...

    def apply(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any: ...


@overload
def shared_task(
    *, name: str, bind: Literal[True], **options: Any
) -> Callable[[Callable[Concatenate[Any, _P], _R]], TaskFunction[_P, _R]]: ...


@overload
def shared_task(
    *, name: str, bind: Literal[False] = False, **options: Any
) -> Callable[[Callable[_P, _R]], TaskFunction[_P, _R]]: ...


def shared_task(
    *, name: str, bind: bool = False, **options: Any
) -> Callable[[Callable[..., Any]], TaskFunction[..., Any]]:
    """:func:`celery.shared_task` with an explicit name (STYLE.md §5).

    :param name: the task's name, e.g. ``"docflow.verify_document"``.
    :param bind: pass the task itself as the first argument (``self``).
    """
    # Celery's decorator returns a Task, which has the attributes of
    # TaskFunction; only the type is added here.
    decorator = _celery_shared_task(name=name, bind=bind, **options)
    return cast(Callable[[Callable[..., Any]], TaskFunction[..., Any]], decorator)
