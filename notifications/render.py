"""Rendering notifications from the Russian Jinja2 templates.

One template per event kind, ``templates/<kind>.j2`` (``document.to_sign.j2``),
with four blocks: ``subject``, ``text``, ``html`` and ``sms``. Keeping the four
variants of one event side by side keeps their wording consistent. The text and
HTML bodies are then wrapped in ``_layout.txt.j2`` / ``_layout.html.j2`` (the
greeting, the signature and the subscription footer).

Two environments load the same files: the HTML one autoescapes everything, the
text one escapes nothing. The ``html`` block is only ever rendered by the first
and the others only by the second, so escaping does not depend on a template
author remembering ``{% autoescape %}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
)
from markupsafe import Markup

from notifications.errors import RenderError
from notifications.events import EventKind
from notifications.message import ChannelKind, Message

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_SITE_NAME = "Личный кабинет клиента — юридического лица"
# Russia has had no daylight saving time since 2014, so a fixed offset is exact
# and does not depend on the tz database being installed on the host.
MSK = timezone(timedelta(hours=3), "МСК")  # noqa: RUF001 - Russian for users


@dataclass(frozen=True)
class Rendered:
    """The four renderings of one event.

    :param subject: one line, for the e-mail subject.
    :param text: the plain-text e-mail body.
    :param html: the HTML e-mail body (a complete document, values escaped).
    :param sms: a short text for SMS, not yet fitted to the segment limit
        (the SMS channel does that).
    """

    subject: str
    text: str
    html: str
    sms: str


def format_date(value: date | datetime | str, tz: tzinfo = MSK) -> str:
    """``dd.mm.yyyy`` for a date, ``dd.mm.yyyy HH:MM`` and the zone for a datetime.

    An aware datetime is shown in ``tz`` (Moscow time by default, the time of
    the supplier's documents); a naive one is shown as it is. A string is
    returned unchanged, so a caller may pass a ready-made period such as
    «март 2025».
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz)
            return f"{value:%d.%m.%Y %H:%M} {value.tzname()}"
        return f"{value:%d.%m.%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return str(value)


def plural_ru(number: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``number``: 1 день, 2 дня, 5 дней, 21 день."""
    n = abs(number) % 100
    if 11 <= n <= 14:
        return many
    n %= 10
    if n == 1:
        return one
    if 2 <= n <= 4:
        return few
    return many


def _one_line(value: str) -> str:
    # A subject is a header: a newline in it would start a new header.
    return " ".join(value.split())


def _tidy_text(value: str) -> str:
    lines = [line.rstrip() for line in value.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


class Renderer:
    """Renders event kinds from templates.

    :param site_name: the cabinet's name in the greeting and signature.
    :param template_dirs: directories searched before the bundled templates, so
        a deployment can reword a message by placing a file of the same name.
    :param tz: the timezone dates are shown in (Moscow time by default).
    """

    def __init__(
        self,
        *,
        site_name: str = DEFAULT_SITE_NAME,
        template_dirs: Iterable[Path] = (),
        tz: tzinfo = MSK,
    ) -> None:
        self.site_name = site_name
        loader = FileSystemLoader([*template_dirs, TEMPLATE_DIR])
        self._text_env = self._environment(loader, autoescape=False, tz=tz)
        self._html_env = self._environment(loader, autoescape=True, tz=tz)

    @staticmethod
    def _environment(
        loader: FileSystemLoader, *, autoescape: bool, tz: tzinfo
    ) -> Environment:
        env = Environment(
            loader=loader,
            # S701: the text env must not escape; the HTML one does (docstring).
            autoescape=autoescape,  # noqa: S701
            # A missing value fails loudly instead of printing an empty link.
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["ru_date"] = lambda value: format_date(value, tz)
        env.filters["plural"] = plural_ru
        return env

    def render(self, kind: EventKind | str, context: Mapping[str, object]) -> Rendered:
        """Render the subject, text, HTML and SMS of ``kind``.

        :param kind: the event kind (or its string value).
        :param context: the template values; must contain
            ``EventKind.required_fields``. Optional everywhere: ``user_name``
            (the greeting), ``subscriptions_url`` (the unsubscribe link).
        :raises RenderError: unknown kind, missing field, or a template error.
        """
        try:
            kind = EventKind(kind)
        except ValueError:
            raise RenderError(f"unknown event kind {kind!r}") from None
        # None counts as missing (it would print "None"); an empty list does not
        # (contract.access_changed with no rights left is meaningful).
        present = {key for key, value in context.items() if value is not None}
        missing = sorted(kind.required_fields - present)
        if missing:
            raise RenderError(f"context for {kind.value} lacks {', '.join(missing)}")
        values: dict[str, object] = {
            "site_name": self.site_name,
            "user_name": None,
            "subscriptions_url": None,
            **context,
            "kind": kind,
            "event_label": kind.label,
            "is_mandatory": kind.is_mandatory,
        }
        try:
            text_tmpl = self._text_env.get_template(f"{kind.value}.j2")
            html_tmpl = self._html_env.get_template(f"{kind.value}.j2")
            subject = _one_line(self._block(text_tmpl, "subject", values))
            text_body = self._block(text_tmpl, "text", values)
            html_body = self._block(html_tmpl, "html", values)
            sms = _one_line(self._block(text_tmpl, "sms", values))
            layout_values = {**values, "subject": subject}
            text = self._text_env.get_template("_layout.txt.j2").render(
                layout_values, body=text_body.strip()
            )
            # The block output is already escaped by the HTML environment.
            html = self._html_env.get_template("_layout.html.j2").render(
                layout_values,
                body=Markup(html_body.strip()),  # noqa: S704 - escaped above
            )
        except TemplateError as exc:
            raise RenderError(f"cannot render {kind.value}: {exc}") from exc
        return Rendered(subject=subject, text=_tidy_text(text), html=html, sms=sms)

    @staticmethod
    def _block(template: Template, name: str, values: Mapping[str, object]) -> str:
        if name not in template.blocks:
            raise RenderError(f"template {template.name} has no block {name!r}")
        return "".join(template.blocks[name](template.new_context(dict(values))))


@cache
def _default_renderer() -> Renderer:
    # Built on first use: nothing is loaded at import time.
    return Renderer()


def render(kind: EventKind | str, context: Mapping[str, object]) -> Rendered:
    """Render ``kind`` with the bundled templates and the default site name.

    See :meth:`Renderer.render`.
    """
    return _default_renderer().render(kind, context)


def compose_message(
    *,
    id: str,
    kind: EventKind | str,
    channel: ChannelKind | str,
    recipient: str,
    context: Mapping[str, object],
    created_at: datetime | None = None,
    renderer: Renderer | None = None,
) -> Message:
    """Build the :class:`Message` the outbox relay hands to a channel.

    E-mail gets the subject, text and HTML; SMS gets the ``sms`` rendering as
    its text; a webhook carries only ``context`` as its ``data`` (integrations
    want data, not prose), so nothing is rendered for it.

    :raises RenderError: see :meth:`Renderer.render`.
    :raises ValueError: a malformed id, unknown channel or naive ``created_at``.
    """
    channel = ChannelKind(channel)
    created = created_at or datetime.now(UTC)
    if channel is ChannelKind.WEBHOOK:
        return Message(
            id=id,
            kind=EventKind(kind),
            recipient=recipient,
            data=context,
            created_at=created,
        )
    rendered = (renderer.render if renderer else render)(kind, context)
    if channel is ChannelKind.SMS:
        return Message(
            id=id,
            kind=EventKind(kind),
            recipient=recipient,
            subject=rendered.subject,
            text=rendered.sms,
            data=context,
            created_at=created,
        )
    return Message(
        id=id,
        kind=EventKind(kind),
        recipient=recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        data=context,
        created_at=created,
    )
