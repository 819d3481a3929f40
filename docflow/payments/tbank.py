"""T-Bank (Тинькофф) Internet Acquiring API v2: the protocol, nothing else.

No Flask, no database: requests are built as dicts, answers parsed from
dicts, and the transport (HTTP, or the embedded fake acquirer in-process) is
handed in. The rules follow the provider's documentation
(https://developer.tbank.ru/eacq/intro/developer/token and
…/notification):

* every request and every notification is signed with ``Token``: the
  root-level scalar parameters (nested objects and arrays such as ``Receipt``
  and ``DATA`` do not take part) plus ``Password``, sorted by key, their
  values concatenated into one string, SHA-256, lower-case hex;
* ``Amount`` is in kopecks; ``OrderId`` is the merchant's id (up to 36
  characters);
* the merchant answers an accepted notification with the plain body ``OK``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

#: Payment statuses (``Status``) that end the payment one way or the other.
PAID_STATUSES = frozenset({"CONFIRMED"})
FAILED_STATUSES = frozenset(
    {"REJECTED", "CANCELED", "DEADLINE_EXPIRED", "AUTH_FAIL", "REVERSED", "REFUNDED"}
)
#: The provider's limits on our fields.
ORDER_ID_MAX = 36
DESCRIPTION_MAX = 140

#: ``transport(path, body) -> answer``: POST ``body`` as JSON to ``{base}{path}``.
Transport = Callable[[str, dict[str, Any]], Mapping[str, Any]]


class TBankError(Exception):
    """The acquirer refused a request or could not be reached."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _scalar_text(value: Any) -> str:
    # JSON booleans take part as the words the provider signs ("true"/"false"),
    # not as Python's "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_token(params: Mapping[str, Any], password: str) -> str:
    """The ``Token`` of a request or a notification (see the module docstring).

    ``Token`` itself, ``None`` values, nested objects and arrays are left out.
    """
    pairs = {
        key: _scalar_text(value)
        for key, value in params.items()
        if key != "Token"
        and value is not None
        and not isinstance(value, dict | list | tuple)
    }
    pairs["Password"] = password
    joined = "".join(pairs[key] for key in sorted(pairs))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def verify_token(params: Mapping[str, Any], password: str) -> bool:
    """Whether ``params["Token"]`` is right, compared in constant time."""
    given = params.get("Token")
    if not isinstance(given, str) or not given:
        return False
    expected = make_token(params, password)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def signed(params: Mapping[str, Any], password: str) -> dict[str, Any]:
    """``params`` with its ``Token``."""
    body = {k: v for k, v in params.items() if v is not None}
    body["Token"] = make_token(body, password)
    return body


@dataclass(frozen=True)
class InitRequest:
    terminal_key: str
    amount_kopecks: int
    order_id: str
    description: str
    success_url: str
    fail_url: str
    notification_url: str

    def body(self, password: str) -> dict[str, Any]:
        if self.amount_kopecks <= 0:
            raise ValueError("Amount must be positive")
        if len(self.order_id) > ORDER_ID_MAX:
            raise ValueError("OrderId is longer than 36 characters")
        return signed(
            {
                "TerminalKey": self.terminal_key,
                "Amount": int(self.amount_kopecks),
                "OrderId": self.order_id,
                "Description": self.description[:DESCRIPTION_MAX],
                "SuccessURL": self.success_url,
                "FailURL": self.fail_url,
                "NotificationURL": self.notification_url,
            },
            password,
        )


@dataclass(frozen=True)
class InitAnswer:
    payment_id: str
    payment_url: str
    status: str


@dataclass(frozen=True)
class StateAnswer:
    payment_id: str
    order_id: str | None
    status: str
    amount_kopecks: int | None


def _check_success(answer: Mapping[str, Any]) -> None:
    if answer.get("Success") is not True or str(answer.get("ErrorCode", "0")) != "0":
        message = answer.get("Message") or answer.get("Details") or "ошибка эквайера"
        raise TBankError(str(message), code=str(answer.get("ErrorCode") or ""))


@dataclass(frozen=True)
class TBankClient:
    """The two calls the cabinet makes; ``transport`` does the HTTP."""

    terminal_key: str
    password: str
    transport: Transport

    def init(
        self,
        *,
        amount_kopecks: int,
        order_id: str,
        description: str,
        success_url: str,
        fail_url: str,
        notification_url: str,
    ) -> InitAnswer:
        request = InitRequest(
            self.terminal_key,
            amount_kopecks,
            order_id,
            description,
            success_url,
            fail_url,
            notification_url,
        )
        answer = self.transport("/v2/Init", request.body(self.password))
        _check_success(answer)
        payment_id, url = answer.get("PaymentId"), answer.get("PaymentURL")
        if not payment_id or not isinstance(url, str) or not url:
            raise TBankError("в ответе эквайера нет PaymentId или PaymentURL")
        if int(answer.get("Amount", amount_kopecks)) != amount_kopecks:
            raise TBankError("эквайер ответил на другую сумму")
        return InitAnswer(str(payment_id), url, str(answer.get("Status") or "NEW"))

    def get_state(self, payment_id: str) -> StateAnswer:
        body = signed(
            {"TerminalKey": self.terminal_key, "PaymentId": str(payment_id)},
            self.password,
        )
        answer = self.transport("/v2/GetState", body)
        _check_success(answer)
        amount = answer.get("Amount")
        return StateAnswer(
            payment_id=str(answer.get("PaymentId") or payment_id),
            order_id=str(answer["OrderId"]) if answer.get("OrderId") else None,
            status=str(answer.get("Status") or ""),
            amount_kopecks=int(amount) if amount is not None else None,
        )


@dataclass(frozen=True)
class Notification:
    """A verified notification's fields the cabinet acts on."""

    terminal_key: str
    order_id: str
    payment_id: str
    status: str
    amount_kopecks: int
    success: bool


class NotificationError(ValueError):
    """A notification that is not the acquirer's (bad token) or is malformed."""


def parse_notification(
    params: Mapping[str, Any], *, terminal_key: str, password: str
) -> Notification:
    """Check the ``Token`` and the terminal and return the notification.

    :raises NotificationError: a wrong token, another terminal, missing fields.
    """
    if not verify_token(params, password):
        raise NotificationError("bad token")
    if params.get("TerminalKey") != terminal_key:
        raise NotificationError("another terminal")
    try:
        amount = params["Amount"]
        if isinstance(amount, bool) or not isinstance(amount, int | str):
            raise TypeError
        return Notification(
            terminal_key=str(params["TerminalKey"]),
            order_id=str(params["OrderId"]),
            payment_id=str(params["PaymentId"]),
            status=str(params["Status"]),
            amount_kopecks=int(amount),
            success=params.get("Success") is True,
        )
    except (KeyError, TypeError, ValueError):
        raise NotificationError("malformed notification") from None


def http_transport(base_url: str, *, timeout: float = 20.0) -> Transport:
    """POST JSON to the acquirer with httpx."""

    def send(path: str, body: dict[str, Any]) -> Mapping[str, Any]:
        try:
            resp = httpx.post(base_url.rstrip("/") + path, json=body, timeout=timeout)
            resp.raise_for_status()
            answer = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TBankError(f"эквайер недоступен: {exc}") from exc
        if not isinstance(answer, dict):
            raise TBankError("эквайер прислал не JSON-объект")
        return answer

    return send
