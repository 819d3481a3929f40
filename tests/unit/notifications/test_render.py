from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from notifications import (
    ChannelKind,
    EventKind,
    Renderer,
    RenderError,
    compose_message,
    render,
)
from notifications.render import format_date, plural_ru

Contexts = dict[EventKind, dict[str, object]]


def _printable(value: object) -> list[str]:
    """How a context value must appear in a text rendering."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, date):
        return [f"{value:%d.%m.%Y}"]
    return [str(value)]


def test_every_kind_renders_all_four_parts(kind: EventKind, contexts: Contexts) -> None:
    rendered = render(kind, contexts[kind])
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.text.strip()
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert '<html lang="ru">' in rendered.html
    assert rendered.sms
    assert "\n" not in rendered.sms


def test_text_contains_every_passed_value(kind: EventKind, contexts: Contexts) -> None:
    context = contexts[kind]
    rendered = render(kind, context)
    for value in context.values():
        for shown in _printable(value):
            assert shown in rendered.text, f"{shown!r} missing from the text of {kind}"


def test_html_contains_every_passed_value_escaped(
    kind: EventKind, contexts: Contexts
) -> None:
    context = contexts[kind]
    rendered = render(kind, context)
    for value in context.values():
        for shown in _printable(value):
            assert html.escape(shown, quote=False) in rendered.html, shown


def test_html_escapes_markup_in_values(contexts: Contexts) -> None:
    context = contexts[EventKind.DOCUMENT_REFUSED]
    context["reason"] = '<script>alert("x")</script>'
    rendered = render(EventKind.DOCUMENT_REFUSED, context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    # The URL's ampersand is escaped inside the href attribute.
    assert 'href="https://lk.example.ru/documents/42?tab=sign&amp;from=mail"' in (
        rendered.html
    )


def test_text_and_subject_are_not_html_escaped(contexts: Contexts) -> None:
    rendered = render(EventKind.DOCUMENT_TO_SIGN, contexts[EventKind.DOCUMENT_TO_SIGN])
    assert "Акт ПРОМ10 <за март> & «итоги»" in rendered.subject
    assert "Акт ПРОМ10 <за март> & «итоги»" in rendered.text
    assert "&amp;" not in rendered.text
    assert "?tab=sign&from=mail" in rendered.text


def test_cyrillic_is_intact(contexts: Contexts) -> None:
    rendered = render(EventKind.DOCUMENT_SIGNED, contexts[EventKind.DOCUMENT_SIGNED])
    assert rendered.subject.startswith("Документ подписан:")
    assert "Иванова Мария Петровна" in rendered.sms
    assert "Подписант: Иванова Мария Петровна" in rendered.text


def test_subject_collapses_newlines_from_values(contexts: Contexts) -> None:
    context = contexts[EventKind.DOCUMENT_TO_SIGN]
    context["document_title"] = "Акт\r\nBcc: evil@example.com"
    rendered = render(EventKind.DOCUMENT_TO_SIGN, context)
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject


def test_user_name_is_greeted_when_given(contexts: Contexts) -> None:
    context = contexts[EventKind.ACCOUNT_CONFIRM_EMAIL]
    assert (
        "Здравствуйте, Мария Петровна!"
        in render(EventKind.ACCOUNT_CONFIRM_EMAIL, context).text
    )
    del context["user_name"]
    assert "Здравствуйте!" in render(EventKind.ACCOUNT_CONFIRM_EMAIL, context).text


def test_optional_subscription_footer_only_for_optional_kinds(
    contexts: Contexts,
) -> None:
    optional = contexts[EventKind.DOCUMENT_COMPLETED]
    optional["subscriptions_url"] = "https://lk.example.ru/profile/subscriptions"
    text = render(EventKind.DOCUMENT_COMPLETED, optional).text
    assert "подписаны на уведомления «Документ подписан обеими сторонами»" in text
    assert "Изменить подписку: https://lk.example.ru/profile/subscriptions" in text
    mandatory = contexts[EventKind.ACCOUNT_PASSWORD_RESET]
    mandatory["subscriptions_url"] = "https://lk.example.ru/profile/subscriptions"
    assert (
        "Изменить подписку"
        not in render(EventKind.ACCOUNT_PASSWORD_RESET, mandatory).text
    )


def test_link_validity_defaults_to_72_hours(contexts: Contexts) -> None:
    context = contexts[EventKind.ACCOUNT_CONFIRM_EMAIL]
    assert (
        "действительна 72 часа" in render(EventKind.ACCOUNT_CONFIRM_EMAIL, context).text
    )
    context["valid_hours"] = 25
    assert (
        "действительна 25 часов"
        in render(EventKind.ACCOUNT_CONFIRM_EMAIL, context).text
    )


def test_withdrawn_access_says_access_is_closed(contexts: Contexts) -> None:
    context = contexts[EventKind.CONTRACT_ACCESS_CHANGED]
    context["access"] = []
    assert (
        "Доступ к договору закрыт"
        in render(EventKind.CONTRACT_ACCESS_CHANGED, context).text
    )


def test_missing_fields_are_all_named(contexts: Contexts) -> None:
    context = contexts[EventKind.DOCUMENT_REFUSED]
    del context["reason"]
    context["refused_by"] = None
    with pytest.raises(RenderError, match="lacks reason, refused_by"):
        render(EventKind.DOCUMENT_REFUSED, context)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown event kind"):
        render("document.lost", {})


def test_template_override_directory_wins(tmp_path: Path, contexts: Contexts) -> None:
    (tmp_path / "phone.confirm_code.j2").write_text(
        "{% block subject %}Ваш код {{ code }}{% endblock %}"
        "{% block text %}Код: {{ code }}{% endblock %}"
        "{% block html %}<b>{{ code }}</b>{% endblock %}"
        "{% block sms %}{{ code }} — код{% endblock %}",
        encoding="utf-8",
    )
    renderer = Renderer(template_dirs=[tmp_path], site_name="ЛКК Тест")
    rendered = renderer.render(
        EventKind.PHONE_CONFIRM_CODE, contexts[EventKind.PHONE_CONFIRM_CODE]
    )
    assert rendered.sms == "493817 — код"
    assert rendered.subject == "Ваш код 493817"
    assert "ЛКК Тест" in rendered.text


def test_template_without_a_block_is_a_render_error(
    tmp_path: Path, contexts: Contexts
) -> None:
    (tmp_path / "phone.confirm_code.j2").write_text(
        "{% block subject %}x{% endblock %}", encoding="utf-8"
    )
    renderer = Renderer(template_dirs=[tmp_path])
    with pytest.raises(RenderError, match="no block 'text'"):
        renderer.render(
            EventKind.PHONE_CONFIRM_CODE, contexts[EventKind.PHONE_CONFIRM_CODE]
        )


def test_undefined_variable_in_a_template_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "phone.confirm_code.j2").write_text(
        "{% block subject %}{{ nowhere }}{% endblock %}", encoding="utf-8"
    )
    with pytest.raises(RenderError, match="nowhere"):
        Renderer(template_dirs=[tmp_path]).render(
            EventKind.PHONE_CONFIRM_CODE, {"code": "1"}
        )


@pytest.mark.parametrize(
    ("number", "word"),
    [
        (1, "день"),
        (2, "дня"),
        (4, "дня"),
        (5, "дней"),
        (11, "дней"),
        (12, "дней"),
        (14, "дней"),
        (21, "день"),
        (22, "дня"),
        (25, "дней"),
        (101, "день"),
        (111, "дней"),
        (0, "дней"),
    ],
)
def test_plural_ru(number: int, word: str) -> None:
    assert plural_ru(number, "день", "дня", "дней") == word


def test_format_date_shows_moscow_time_for_aware_datetimes() -> None:
    assert format_date(date(2025, 3, 1)) == "01.03.2025"
    assert (
        format_date(datetime(2025, 3, 1, 21, 30, tzinfo=UTC)) == "02.03.2025 00:30 МСК"
    )
    assert format_date(datetime(2025, 3, 1, 21, 30)) == "01.03.2025 21:30"
    assert format_date("март 2025") == "март 2025"


def test_compose_email_message_carries_all_renderings(contexts: Contexts) -> None:
    context = contexts[EventKind.DOCUMENT_TO_SIGN]
    message = compose_message(
        id="row-1",
        kind="document.to_sign",
        channel="email",
        recipient="buh@romashka.ru",
        context=context,
    )
    rendered = render(EventKind.DOCUMENT_TO_SIGN, context)
    assert (message.subject, message.text, message.html) == (
        rendered.subject,
        rendered.text,
        rendered.html,
    )
    assert message.data == context


def test_compose_sms_message_uses_the_sms_text(contexts: Contexts) -> None:
    context = contexts[EventKind.PHONE_CONFIRM_CODE]
    message = compose_message(
        id="row-2",
        kind=EventKind.PHONE_CONFIRM_CODE,
        channel=ChannelKind.SMS,
        recipient="+79161234567",
        context=context,
    )
    assert message.text == "Код подтверждения: 493817. Никому не сообщайте его."
    assert message.html is None


def test_compose_webhook_message_renders_nothing() -> None:
    created = datetime(2025, 3, 1, tzinfo=UTC)
    # A context that could not be rendered (no required fields) is still a
    # valid webhook: integrations get the data as it is.
    message = compose_message(
        id="row-3",
        kind="document.signed",
        channel="webhook",
        recipient="https://erp.example/hook",
        context={"document_id": 7},
        created_at=created,
    )
    assert message.data == {"document_id": 7}
    assert message.text == ""
    assert message.created_at == created


def test_every_kind_has_its_own_template() -> None:
    template_dir = Path(__file__).parents[3] / "notifications" / "templates"
    names = {p.name for p in template_dir.glob("*.j2") if not p.name.startswith("_")}
    assert names == {f"{kind.value}.j2" for kind in EventKind}


def test_html_has_no_unrendered_jinja(kind: EventKind, contexts: Contexts) -> None:
    rendered = render(kind, contexts[kind])
    for part in (rendered.subject, rendered.text, rendered.html, rendered.sms):
        assert not re.search(r"\{[{%#]", part)
