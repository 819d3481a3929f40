from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications import (
    ConfigurationError,
    HttpSmsChannel,
    InvalidPhoneNumberError,
    Message,
    PermanentDeliveryError,
    SmsGatewaySettings,
    TransientDeliveryError,
    fit_sms,
    normalize_phone,
    sms_segments,
)
from notifications.channels.sms import is_gsm7, prepare_sms

MessageFactory = Callable[..., Message]

# --- phone numbers -----------------------------------------------------------

national = st.integers(min_value=9_000_000_000, max_value=9_999_999_999).map(str)


def _formats(digits: str) -> list[str]:
    a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
    return [
        f"+7{digits}",
        f"8{digits}",
        f"7{digits}",
        digits,
        f"+7 ({a}) {b}-{c}-{d}",
        f"8 ({a}) {b}-{c}-{d}",
        f"8-{a}-{b}-{c}-{d}",
        f"+7 {a} {b} {c} {d}",
        f"+7\u00a0{a}\u00a0{b}\u2011{c}\u2011{d}",
        f"  +7.{a}.{b}.{c}.{d}  ",
    ]


@given(national, st.integers(min_value=0, max_value=9))
def test_normalize_phone_accepts_common_russian_forms(digits: str, form: int) -> None:
    assert normalize_phone(_formats(digits)[form]) == f"+7{digits}"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "not a Russian"),
        ("+7 916 123 45 6", "not a Russian"),  # nine digits
        ("+7 916 123 45 678", "not a Russian"),  # eleven
        ("+380 44 123 45 67", "not a Russian"),  # Ukraine
        ("+1 202 555 0143", "not a Russian"),
        ("9161234567x", "not a Russian"),
        ("+7 495 123-45-67", "not a mobile"),  # Moscow landline
        ("8 (800) 555-35-35", "not a mobile"),
        ("+7 ９１６ 123 45 67", "not a Russian"),  # full-width digits
        ("+7+9161234567", "not a Russian"),
    ],
)
def test_normalize_phone_refuses_others_clearly(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumberError, match=reason):
        normalize_phone(raw)


@given(st.text(alphabet="0123456789+ -()", max_size=20))
def test_normalize_phone_returns_e164_or_raises(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except InvalidPhoneNumberError:
        return
    assert len(result) == 12
    assert result.startswith("+79")
    assert result[1:].isdigit()


def test_invalid_phone_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a Russian"):
        normalize_phone("12345")


# --- length ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # two septets each
        ("€" * 81, 2),
        ("я" * 70, 1),
        ("я" * 71, 2),
        ("я" * 134, 2),
        ("я" * 135, 3),
        ("a" * 69 + "я", 1),  # one Cyrillic letter makes it all UCS-2
        ("a" * 70 + "я", 2),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_gsm7_detection() -> None:
    assert is_gsm7("Code: 123456 @ £$ {}")
    assert not is_gsm7("Код")
    assert not is_gsm7("…")


def test_fit_sms_keeps_a_text_that_fits() -> None:
    text = "Ж" * 402
    assert fit_sms(text, 6) == text


def test_fit_sms_truncates_cyrillic_with_an_ellipsis() -> None:
    fitted = fit_sms("Ж" * 403, 6)
    assert fitted == "Ж" * 401 + "…"
    assert sms_segments(fitted) == 6


def test_fit_sms_keeps_gsm_text_in_gsm() -> None:
    fitted = fit_sms("a" * 200, 1)
    assert fitted == "a" * 157 + "..."
    assert is_gsm7(fitted)


def test_fit_sms_does_not_split_a_two_septet_character() -> None:
    # 156 septets, then "€" (escape + character) would make 158 of the 157
    # left beside the "...": it must go whole.
    fitted = fit_sms("a" * 156 + "€" + "a" * 10, 1)
    assert fitted == "a" * 156 + "..."
    assert sms_segments(fitted) == 1


def test_fit_sms_refuses_zero_segments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fit_sms("text", 0)


@given(st.text(min_size=1, max_size=500), st.integers(min_value=1, max_value=8))
def test_fit_sms_always_fits_and_keeps_a_prefix(text: str, max_segments: int) -> None:
    fitted = fit_sms(text, max_segments)
    assert sms_segments(fitted) <= max_segments
    if sms_segments(text) <= max_segments:
        assert fitted == text
    else:
        ellipsis = "..." if is_gsm7(text) else "…"
        assert fitted.endswith(ellipsis)
        assert text.startswith(fitted.removesuffix(ellipsis))


def test_prepare_sms_flattens_lines_and_reports_truncation(
    make_message: MessageFactory,
) -> None:
    sms = prepare_sms(
        make_message(recipient="8 916 000-00-01", text="Код:\n 12345\n"), 6
    )
    assert (sms.phone, sms.text, sms.segments, sms.truncated) == (
        "+79160000001",
        "Код: 12345",
        1,
        False,
    )
    assert prepare_sms(
        make_message(recipient="+79160000001", text="ы" * 500), 2
    ).truncated


def test_prepare_sms_refuses_an_empty_text(make_message: MessageFactory) -> None:
    with pytest.raises(PermanentDeliveryError, match="no text"):
        prepare_sms(make_message(recipient="+79160000001", text=" \n"), 6)


# --- gateway URL -------------------------------------------------------------


def test_gateway_url_defaults() -> None:
    s = SmsGatewaySettings.from_url(
        "https://gw.example/send?login=acme&password=s%26cret&sender=Energo"
    )
    assert s.endpoint == "https://gw.example/send"
    assert s.params == {"login": "acme", "password": "s&cret", "sender": "Energo"}
    assert (s.json, s.phone_field, s.text_field, s.id_field) == (
        False,
        "phone",
        "text",
        None,
    )
    assert (s.phone_plus, s.max_segments, s.timeout, s.auth) == (True, 6, 10.0, None)


def test_gateway_url_adapter_parameters() -> None:
    s = SmsGatewaySettings.from_url(
        "http://user:p%40ss@127.0.0.1:8080/v1/sms?_format=json&_phone=phones&_text=mes"
        "&_id=client_id&_phone_plus=0&_max_segments=3&_timeout=2.5&key=k+1"
    )
    assert s.endpoint == "http://127.0.0.1:8080/v1/sms"
    assert s.params == {"key": "k+1"}  # "+" stays a plus
    assert (s.json, s.phone_field, s.text_field, s.id_field) == (
        True,
        "phones",
        "mes",
        "client_id",
    )
    assert (s.phone_plus, s.max_segments, s.timeout) == (False, 3, 2.5)
    assert s.auth == ("user", "p@ss")


def test_gateway_settings_repr_hides_secrets() -> None:
    s = SmsGatewaySettings.from_url("https://u:topsecret@gw.example/?password=hidden")
    assert "topsecret" not in repr(s)
    assert "hidden" not in repr(s)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://gw.example/", "scheme"),
        ("https:///send", "no host"),
        ("https://gw.example/?_format=xml", "_format"),
        ("https://gw.example/?_max_segments=0", "_max_segments"),
        ("https://gw.example/?_max_segments=two", "_max_segments"),
        ("https://gw.example/?_timeout=-1", "_timeout"),
        ("https://gw.example/?_phone_plus=maybe", "_phone_plus"),
        ("https://gw.example/?_fromat=json", "unknown parameter"),
        ("https://gw.example/?phone=1", "clashes"),
        ("https://gw.example/?_text=", "clashes"),
        ("https://gw.example/?a=1&a=2", "repeats"),
        ("https://gw.example:99999/", "malformed"),
    ],
)
def test_gateway_url_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SmsGatewaySettings.from_url(url)


def test_gateway_url_error_hides_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        SmsGatewaySettings.from_url("https://u:topsecret@gw.example/?_bad=1")
    assert "topsecret" not in str(info.value)


# --- the channel against a mock transport ------------------------------------


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text="ok" if self.status < 400 else "no")


def test_channel_posts_a_form_with_the_configured_names(
    make_message: MessageFactory,
) -> None:
    recorder = Recorder()
    url = "https://gw.example/send?login=acme&sender=Energo&_phone=to&_text=msg&_id=ext"
    with HttpSmsChannel.from_url(url, transport=httpx.MockTransport(recorder)) as ch:
        ch.send(make_message(recipient="8 (916) 123-45-67", text="Код: 1234"))
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://gw.example/send"
    form = parse_qs(request.content.decode())
    assert form == {
        "login": ["acme"],
        "sender": ["Energo"],
        "to": ["+79161234567"],
        "msg": ["Код: 1234"],
        "ext": ["0a1b2c3d-0000-4000-8000-000000000001"],
    }


def test_channel_posts_json_with_basic_auth(make_message: MessageFactory) -> None:
    recorder = Recorder()
    url = "https://api:tok@gw.example/sms?_format=json&_phone_plus=0"
    channel = HttpSmsChannel.from_url(url, transport=httpx.MockTransport(recorder))
    channel.send(make_message(recipient="+79161234567", text="Привет"))
    channel.close()
    (request,) = recorder.requests
    assert json.loads(request.content) == {"phone": "79161234567", "text": "Привет"}
    assert request.headers["Authorization"] == "Basic YXBpOnRvaw=="


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientDeliveryError),
        (502, TransientDeliveryError),
        (429, TransientDeliveryError),
        (408, TransientDeliveryError),
        (400, PermanentDeliveryError),
        (401, PermanentDeliveryError),
        (404, PermanentDeliveryError),
        (302, PermanentDeliveryError),
    ],
)
def test_channel_maps_statuses(
    make_message: MessageFactory, status: int, error: type[Exception]
) -> None:
    channel = HttpSmsChannel.from_url(
        "https://gw.example/send?password=hidden",
        transport=httpx.MockTransport(Recorder(status)),
    )
    with pytest.raises(error, match=str(status)) as info:
        channel.send(make_message(recipient="+79161234567", text="x"))
    assert "hidden" not in str(info.value)


def test_channel_maps_a_connection_failure_to_transient(
    make_message: MessageFactory,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    channel = HttpSmsChannel.from_url(
        "https://gw.example/send", transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(TransientDeliveryError, match="connection refused"):
        channel.send(make_message(recipient="+79161234567", text="x"))


def test_channel_refuses_a_bad_phone_without_calling_the_gateway(
    make_message: MessageFactory,
) -> None:
    recorder = Recorder()
    channel = HttpSmsChannel.from_url(
        "https://gw.example/send", transport=httpx.MockTransport(recorder)
    )
    with pytest.raises(PermanentDeliveryError, match="not a mobile"):
        channel.send(make_message(recipient="+7 495 123-45-67", text="x"))
    assert recorder.requests == []


def test_channel_truncates_a_long_text_and_logs_it(
    make_message: MessageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    channel = HttpSmsChannel.from_url(
        "https://gw.example/send?_max_segments=1",
        transport=httpx.MockTransport(recorder),
    )
    channel.send(make_message(recipient="+79161234567", text="Щ" * 100))
    sent = parse_qs(recorder.requests[0].content.decode())["text"][0]
    assert sent == "Щ" * 69 + "…"
    assert "cut to 1 segments" in caplog.text
