"""SMS through an HTTP gateway.

``SMS_GATEWAY_URL`` is the gateway's endpoint with its own parameters; the
parameters whose names start with ``_`` configure this adapter and are not
sent::

    https://gw.example/send?login=acme&password=s3cret&sender=Energo
    https://smsc.example/sys/send.php?login=u&psw=p&_phone=phones&_text=mes&_phone_plus=0
    https://user:token@api.example/v1/sms?_format=json&_id=client_id

Every message is one POST to the URL without its query. The body holds the
gateway parameters (``login``, ``sender``…), the phone and the text, as a form
(``_format=form``, the default) or a JSON object (``_format=json``); keeping
credentials in the body keeps them out of proxy and access logs. A user and a
password in the URL become HTTP Basic authentication.

Adapter parameters: ``_phone`` / ``_text`` (field names, ``phone`` and ``text``
by default), ``_id`` (a field for the message id, for gateways that deduplicate;
not sent by default), ``_phone_plus`` (1: ``+79161234567``, the default; 0:
``79161234567``), ``_max_segments`` (6), ``_timeout`` (10 seconds).

**Length.** A text longer than ``_max_segments`` segments is *truncated* and
ends with an ellipsis, rather than refused: a notification that arrives cut
short, with the full text in the cabinet, beats one that never arrives. Cyrillic
is sent in UCS-2: 70 characters in one SMS, 67 per part of a longer one, so six
parts hold 402 characters; Latin text in GSM-7 holds 160 / 153.

A gateway that answers 200 with an error inside its body is taken at its word
(every gateway words that differently); such gateways need their own adapter.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import unquote

import httpx

from notifications.channels import _http, _url
from notifications.errors import (
    ConfigurationError,
    InvalidPhoneNumberError,
    PermanentDeliveryError,
)
from notifications.message import ChannelKind, Message

logger = logging.getLogger(__name__)

DEFAULT_MAX_SEGMENTS = 6
DEFAULT_TIMEOUT = 10.0

# 3GPP TS 23.038 §6.2.1: the GSM 7-bit default alphabet, and the characters of
# its extension table, which take two septets (an escape and the character).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

# Separators people type inside phone numbers: spaces (NBSP too), hyphens and
# dashes, parentheses, dots.
_PHONE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015().]")


def normalize_phone(raw: str) -> str:
    """Return a Russian mobile number in E.164: ``+7XXXXXXXXXX``.

    Accepts ``+7 (916) 123-45-67``, ``8 916 123 45 67``, ``79161234567`` and the
    bare ten digits ``9161234567``. The number after the country code must
    start with 9: SMS reach mobile numbers only.

    :raises InvalidPhoneNumberError: anything else, with the reason.
    """
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.startswith("+7"):
        national = compact[2:]
    elif len(compact) == 11 and compact[0] in "78":
        national = compact[1:]
    elif len(compact) == 10:
        national = compact
    else:
        raise InvalidPhoneNumberError(
            f"{raw!r} is not a Russian phone number (+7 and ten digits)"
        )
    if len(national) != 10 or not (national.isascii() and national.isdigit()):
        raise InvalidPhoneNumberError(
            f"{raw!r} is not a Russian phone number (+7 and ten digits)"
        )
    if national[0] != "9":
        raise InvalidPhoneNumberError(
            f"{raw!r} is not a mobile number (+7 9XX …): SMS cannot reach it"
        )
    return "+7" + national


def is_gsm7(text: str) -> bool:
    """``True`` when ``text`` fits the GSM 7-bit alphabet (no Cyrillic)."""
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text)


def _units(char: str, gsm: bool) -> int:
    if gsm:
        return 2 if char in _GSM7_EXTENDED else 1
    # UCS-2/UTF-16: a character outside the BMP (an emoji) takes two units.
    return 2 if ord(char) > 0xFFFF else 1


def _limits(gsm: bool) -> tuple[int, int]:
    # (one SMS, one part of a concatenated SMS): the 6-byte UDH of a part
    # (3GPP TS 23.040 §9.2.3.24.1) costs 7 septets or 3 UCS-2 characters.
    return (160, 153) if gsm else (70, 67)


def sms_segments(text: str) -> int:
    """How many SMS ``text`` takes (0 for an empty text)."""
    gsm = is_gsm7(text)
    units = sum(_units(c, gsm) for c in text)
    single, part = _limits(gsm)
    if units <= single:
        return 1 if units else 0
    return -(-units // part)


def fit_sms(text: str, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
    """``text`` itself if it fits ``max_segments`` SMS, else cut to fit with an
    ellipsis.

    The ellipsis keeps the encoding: ``...`` for GSM-7 text, since ``…`` is not
    in the GSM alphabet and would switch the whole text to UCS-2 and more than
    double its cost; ``…`` for Cyrillic. A surrogate pair or a two-septet
    character is never split.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if sms_segments(text) <= max_segments:
        return text
    gsm = is_gsm7(text)
    ellipsis = "..." if gsm else "…"
    single, part = _limits(gsm)
    budget = (single if max_segments == 1 else part * max_segments) - len(ellipsis)
    used = 0
    cut = 0
    for i, char in enumerate(text):
        used += _units(char, gsm)
        if used > budget:
            cut = i
            break
    return text[:cut].rstrip() + ellipsis


@dataclass(frozen=True)
class SmsGatewaySettings:
    """An HTTP SMS gateway; see the module docstring and :meth:`from_url`."""

    endpoint: str
    params: dict[str, str] = field(default_factory=dict, repr=False)
    json: bool = False
    phone_field: str = "phone"
    text_field: str = "text"
    id_field: str | None = None
    phone_plus: bool = True
    max_segments: int = DEFAULT_MAX_SEGMENTS
    timeout: float = DEFAULT_TIMEOUT
    auth: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmsGatewaySettings:
        """Parse ``SMS_GATEWAY_URL``.

        :raises ConfigurationError: not http(s), no host, a bad adapter
            parameter or an unknown ``_`` parameter.
        """
        parts = _url.split(url, {"http", "https"})
        if not parts.hostname:
            raise ConfigurationError(
                f"SMS gateway URL {_url.redact(url)!r} has no host"
            )
        params = _url.query_params(parts.query, url)
        adapter = {k: params.pop(k) for k in list(params) if k.startswith("_")}
        body_format = adapter.pop("_format", "form").lower()
        if body_format not in {"form", "json"}:
            raise ConfigurationError(
                f"SMS gateway URL {_url.redact(url)!r}: _format must be form or json"
            )
        raw_segments = adapter.pop("_max_segments", str(DEFAULT_MAX_SEGMENTS))
        if (
            not (raw_segments.isascii() and raw_segments.isdigit())
            or int(raw_segments) < 1
        ):
            raise ConfigurationError(
                f"SMS gateway URL {_url.redact(url)!r}: _max_segments={raw_segments!r} "
                "must be a positive integer"
            )
        phone_plus = _url.flag(adapter, "_phone_plus", url, default=True)
        timeout = _url.number(adapter, "_timeout", DEFAULT_TIMEOUT, url)
        names = {
            "phone_field": adapter.pop("_phone", "phone"),
            "text_field": adapter.pop("_text", "text"),
        }
        id_field = adapter.pop("_id", None) or None
        _url.no_more(adapter, url)
        for value in (*names.values(), id_field):
            if value is not None and (not value or value in params):
                raise ConfigurationError(
                    f"SMS gateway URL {_url.redact(url)!r}: field name {value!r} is "
                    "empty or clashes with a gateway parameter"
                )
        auth = None
        if parts.username is not None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        # The credentials go into Basic auth, the query into the body.
        netloc = parts.netloc.rpartition("@")[2]
        return cls(
            endpoint=parts._replace(netloc=netloc, query="", fragment="").geturl(),
            params=params,
            json=body_format == "json",
            id_field=id_field,
            phone_plus=phone_plus,
            max_segments=int(raw_segments),
            timeout=timeout,
            auth=auth,
            **names,
        )


@dataclass(frozen=True)
class SmsText:
    """An SMS ready to go: the normalised phone and the fitted text."""

    phone: str
    text: str
    segments: int
    truncated: bool


def prepare_sms(message: Message, max_segments: int = DEFAULT_MAX_SEGMENTS) -> SmsText:
    """Validate the phone and fit the text of ``message``.

    :raises PermanentDeliveryError: an invalid phone or an empty text.
    """
    try:
        phone = normalize_phone(message.recipient)
    except InvalidPhoneNumberError as exc:
        raise PermanentDeliveryError(str(exc)) from exc
    # An SMS is one paragraph: line breaks from a template only cost characters.
    text = " ".join(message.text.split())
    if not text:
        raise PermanentDeliveryError(f"SMS {message.id} has no text")
    fitted = fit_sms(text, max_segments)
    return SmsText(
        phone=phone,
        text=fitted,
        segments=sms_segments(fitted),
        truncated=fitted != text,
    )


class HttpSmsChannel:
    """Sends :class:`Message` objects as SMS through an HTTP gateway.

    The recipient is normalised with :func:`normalize_phone`, the text fitted
    with :func:`fit_sms`. HTTP connections are reused; :meth:`close` (or a
    ``with`` block) releases them.

    :param settings: see :meth:`SmsGatewaySettings.from_url`.
    :param transport: an httpx transport (a proxy, client certificates, or
        ``httpx.MockTransport`` in tests); the default opens connections.
    """

    kind = ChannelKind.SMS

    def __init__(
        self,
        settings: SmsGatewaySettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._client = _http.LazyClient(settings.timeout, transport)

    @classmethod
    def from_url(
        cls, url: str, *, transport: httpx.BaseTransport | None = None
    ) -> HttpSmsChannel:
        """Build a channel from ``SMS_GATEWAY_URL``.

        :raises ConfigurationError: see :meth:`SmsGatewaySettings.from_url`.
        """
        return cls(SmsGatewaySettings.from_url(url), transport=transport)

    def send(self, message: Message) -> None:
        """POST the SMS to the gateway.

        :raises TransientDeliveryError: no connection, a timeout, 408/425/429, 5xx.
        :raises PermanentDeliveryError: an invalid phone, an empty text, 4xx.
        """
        s = self.settings
        sms = prepare_sms(message, s.max_segments)
        if sms.truncated:
            logger.warning(
                "SMS %s cut to %d segments (%d characters)",
                message.id,
                s.max_segments,
                len(sms.text),
            )
        fields = dict(s.params)
        fields[s.phone_field] = sms.phone if s.phone_plus else sms.phone.lstrip("+")
        fields[s.text_field] = sms.text
        if s.id_field:
            fields[s.id_field] = message.id
        _http.post(
            self._client.get(),
            s.endpoint,
            what="SMS gateway",
            json=fields if s.json else None,
            data=None if s.json else fields,
            auth=s.auth,
        )
        logger.info("SMS %s (%s) sent to %s", message.id, message.kind.value, sms.phone)

    def close(self) -> None:
        """Close the HTTP connections (the channel can still be used after)."""
        self._client.close()

    def __enter__(self) -> HttpSmsChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
