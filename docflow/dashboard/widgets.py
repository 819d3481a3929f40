"""The main page's widgets: a registry the cabinet's modules add to, and each
user's layout (order, collapsed, moved to the bottom panel), kept on the server.

A module registers its widget once, when its blueprint is registered::

    from docflow.dashboard.widgets import register_widget

    register_widget(
        "documents", N_("Документы на подпись"), "documents/_widget.html",
        data=lambda session, user: {"documents": awaiting(session, user=user)},
        order=20, visible_for=lambda user: not is_staff(user),
    )

The template is included with the dict ``data`` returned (and ``widget``,
``current_user``); ``data`` is only called for a widget that is open on the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.dashboard.models import WidgetLayout
from docflow.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)

DataFn = Callable[[Session, User], dict[str, Any]]
VisibleFn = Callable[[User], bool]


@dataclass(frozen=True)
class Widget:
    key: str
    title: str
    template: str
    data: DataFn
    order: int
    visible_for: VisibleFn | None = None

    def is_visible_for(self, user: User) -> bool:
        return self.visible_for is None or bool(self.visible_for(user))


_REGISTRY: dict[str, Widget] = {}


def register_widget(
    key: str,
    title: str,
    template: str,
    data: DataFn,
    order: int,
    visible_for: VisibleFn | None = None,
) -> Widget:
    """Add (or replace: registering twice is harmless) a widget."""
    widget = Widget(key, title, template, data, order, visible_for)
    _REGISTRY[key] = widget
    return widget


def registered_widgets() -> list[Widget]:
    return sorted(_REGISTRY.values(), key=lambda w: (w.order, w.key))


class WidgetState(StrEnum):
    OPEN = "open"
    COLLAPSED = "collapsed"  # «Свернуть»: only the title bar stays
    DOCKED = (
        "docked"  # «Убрать с экрана»: in the bottom panel, «Раскрыть» brings it back
    )


@dataclass(frozen=True)
class PlacedWidget:
    widget: Widget
    state: WidgetState
    position: int  # among the widgets on the page (not the docked ones)
    is_first: bool = False
    is_last: bool = False


@dataclass(frozen=True)
class Arrangement:
    on_page: list[PlacedWidget]
    docked: list[PlacedWidget]


def _stored(session: Session, user: User) -> dict[str, Any]:
    row = session.get(WidgetLayout, user.id)
    return dict(row.layout) if row is not None else {}


def _ordered(
    session: Session, user: User
) -> tuple[list[Widget], dict[str, WidgetState]]:
    """Every widget the user may see, in the user's order, with its state.

    Widgets the user has never arranged (a module added later, say) take their
    registered place among the others, open.
    """
    visible = [w for w in registered_widgets() if w.is_visible_for(user)]
    layout = _stored(session, user)
    order = [k for k in layout.get("order", []) if isinstance(k, str)]
    raw_states = layout.get("state")
    states = raw_states if isinstance(raw_states, dict) else {}
    rank = {key: i for i, key in enumerate(order)}
    default_rank = {w.key: i for i, w in enumerate(visible)}

    def sort_key(w: Widget) -> float:
        if w.key in rank:
            return float(rank[w.key])
        # Before the first arranged widget that was registered after it.
        later = [
            rank[o.key]
            for o in visible
            if o.key in rank and default_rank[o.key] > default_rank[w.key]
        ]
        return min(later) - 0.5 if later else len(order) + default_rank[w.key]

    def state_of(key: str) -> WidgetState:
        try:
            return WidgetState(states.get(key, WidgetState.OPEN))
        except ValueError:
            return WidgetState.OPEN

    ordered = sorted(visible, key=sort_key)
    return ordered, {w.key: state_of(w.key) for w in ordered}


def arrange(session: Session, *, user: User) -> Arrangement:
    """The widgets on the page (in order, open or collapsed) and in the panel."""
    ordered, states = _ordered(session, user)
    page = [w for w in ordered if states[w.key] != WidgetState.DOCKED]
    docked = [w for w in ordered if states[w.key] == WidgetState.DOCKED]
    return Arrangement(
        on_page=[
            PlacedWidget(w, states[w.key], i, i == 0, i == len(page) - 1)
            for i, w in enumerate(page)
        ],
        docked=[PlacedWidget(w, WidgetState.DOCKED, -1) for w in docked],
    )


def _save(
    session: Session, user: User, order: list[str], states: dict[str, WidgetState]
) -> None:
    row = session.get(WidgetLayout, user.id)
    layout = {
        "order": order,
        "state": {k: v.value for k, v in states.items() if v != WidgetState.OPEN},
    }
    if row is None:
        session.add(WidgetLayout(user_id=user.id, layout=layout))
    else:
        row.layout = layout  # a new dict: JSON columns track assignment, not mutation
    session.flush()


def _current(session: Session, user: User) -> tuple[list[str], dict[str, WidgetState]]:
    ordered, states = _ordered(session, user)
    return [w.key for w in ordered], states


class LayoutAction(StrEnum):
    UP = "up"
    DOWN = "down"
    COLLAPSE = "collapse"
    EXPAND = "expand"
    DOCK = "dock"
    UNDOCK = "undock"


def change_layout(session: Session, *, user: User, key: str, action: str) -> None:
    """Apply one of :class:`LayoutAction` to one widget and keep the result.

    :raises NotFoundError: no such widget for this user.
    :raises ValidationError: an unknown action.
    """
    try:
        act = LayoutAction(action)
    except ValueError:
        raise ValidationError("Неизвестное действие с виджетом.") from None
    order, states = _current(session, user)
    if key not in order:
        raise NotFoundError("Виджет не найден.")
    if act in (LayoutAction.UP, LayoutAction.DOWN):
        # Swap with the neighbour on the page; docked widgets keep their slots.
        page = [k for k in order if states[k] != WidgetState.DOCKED]
        if key in page:
            i = page.index(key)
            j = i - 1 if act == LayoutAction.UP else i + 1
            if 0 <= j < len(page):
                a, b = order.index(page[i]), order.index(page[j])
                order[a], order[b] = order[b], order[a]
    elif act == LayoutAction.COLLAPSE:
        states[key] = WidgetState.COLLAPSED
    elif act == LayoutAction.DOCK:
        states[key] = WidgetState.DOCKED
    else:  # EXPAND, UNDOCK: open on the page again, at its place in the order
        states[key] = WidgetState.OPEN
    _save(session, user, order, states)


def reorder(session: Session, *, user: User, keys: list[str]) -> None:
    """Put the widgets on the page in the order given (drag and drop); keys
    not given keep their relative order after them."""
    order, states = _current(session, user)
    wanted = [k for k in dict.fromkeys(keys) if k in order]
    _save(session, user, wanted + [k for k in order if k not in wanted], states)


def reset_layout(session: Session, *, user: User) -> None:
    row = session.get(WidgetLayout, user.id)
    if row is not None:
        session.delete(row)
        session.flush()


def widget_data(session: Session, widget: Widget, user: User) -> dict[str, Any] | None:
    """The widget's data, or None when its module failed: one broken widget
    must not take the main page down with it."""
    try:
        return widget.data(session, user)
    except Exception:  # noqa: BLE001 - logged with the trace; the page shows a notice
        log.exception("widget %s failed for user %s", widget.key, user.id)
        session.rollback()
        return None
