"""T-Bank Internet Acquiring API v2: the token rule and the requests, against
the provider's documented example."""

from __future__ import annotations

import hashlib
import os
from typing import Any
from unittest import mock

import pytest

from docflow.config import ConfigError, Settings
from docflow.payments import tbank
from docflow.payments.gateway import active_provider

# The worked example of the provider's documentation (developer.tbank.ru,
# «Токен»): Amount, Description, OrderId, Password, TerminalKey sorted by key,
# values concatenated, SHA-256.
DOC_PARAMS = {
    "TerminalKey": "MerchantTerminalKey",
    "Amount": 19200,
    "OrderId": "21090",
    "Description": "Подарочная карта на 1000 рублей",
}
DOC_PASSWORD = "usaf8fw8fsw21g"  # noqa: S105 - the documentation's example
DOC_TOKEN = "0024a00af7c350a3a67ca168ce06502aa72772456662e38696d48b56ee9c97d9"


def test_token_matches_the_documented_example() -> None:
    assert tbank.make_token(DOC_PARAMS, DOC_PASSWORD) == DOC_TOKEN


def test_token_leaves_out_nested_objects_arrays_and_the_token_itself() -> None:
    with_extras = {
        **DOC_PARAMS,
        "Receipt": {"Email": "a@b.ru", "Items": [{"Price": 1}]},
        "DATA": {"Phone": "+7"},
        "Items": [1, 2],
        "Token": "whatever",
    }
    assert tbank.make_token(with_extras, DOC_PASSWORD) == DOC_TOKEN


def test_token_writes_booleans_as_json_does() -> None:
    params = {"Success": True, "Status": "CONFIRMED", "Amount": 100}
    expected = hashlib.sha256(b"100pwCONFIRMEDtrue").hexdigest()
    assert tbank.make_token(params, "pw") == expected
    assert tbank.make_token({**params, "Success": False}, "pw") != expected


def test_verify_token_accepts_the_right_one_and_refuses_any_change() -> None:
    body = tbank.signed(DOC_PARAMS, DOC_PASSWORD)
    assert body["Token"] == DOC_TOKEN
    assert tbank.verify_token(body, DOC_PASSWORD)
    assert not tbank.verify_token({**body, "Amount": 19201}, DOC_PASSWORD)
    assert not tbank.verify_token(body, "another password")
    assert not tbank.verify_token({**body, "Token": ""}, DOC_PASSWORD)
    assert not tbank.verify_token({**body, "Token": 5}, DOC_PASSWORD)
    assert not tbank.verify_token(DOC_PARAMS, DOC_PASSWORD)


def test_init_request_is_signed_and_carries_every_field() -> None:
    request = tbank.InitRequest(
        terminal_key="T",
        amount_kopecks=100_000,
        order_id="2f1c5a3e-0000-4000-8000-000000000001",
        description="Оплата электроэнергии " * 20,
        success_url="https://lk.example/payments/1?back=success",
        fail_url="https://lk.example/payments/1?back=fail",
        notification_url="https://lk.example/payments/notify/tbank",
    )
    body = request.body("secret")
    assert body["Amount"] == 100_000 and body["TerminalKey"] == "T"
    assert len(body["Description"]) == tbank.DESCRIPTION_MAX
    assert body["NotificationURL"].endswith("/payments/notify/tbank")
    assert tbank.verify_token(body, "secret")


@pytest.mark.parametrize(("amount", "order_id"), [(0, "1"), (-5, "1"), (100, "x" * 37)])
def test_init_request_refuses_bad_amounts_and_long_order_ids(
    amount: int, order_id: str
) -> None:
    request = tbank.InitRequest("T", amount, order_id, "d", "s", "f", "n")
    with pytest.raises(ValueError, match="Amount|OrderId"):
        request.body("secret")


def _client(answer: dict[str, Any], seen: list[tuple[str, dict[str, Any]]]) -> Any:
    def transport(path: str, body: dict[str, Any]) -> dict[str, Any]:
        seen.append((path, body))
        return answer

    return tbank.TBankClient("T", "secret", transport)


def test_client_init_posts_to_v2_init_and_reads_the_answer() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    client = _client(
        {
            "Success": True,
            "ErrorCode": "0",
            "Status": "NEW",
            "PaymentId": 3093639567,
            "Amount": 100_000,
            "PaymentURL": "https://securepay.tinkoff.ru/new/fU1ppgqa",
        },
        seen,
    )
    answer = client.init(
        amount_kopecks=100_000,
        order_id="o-1",
        description="d",
        success_url="s",
        fail_url="f",
        notification_url="n",
    )
    assert answer == tbank.InitAnswer(
        "3093639567", "https://securepay.tinkoff.ru/new/fU1ppgqa", "NEW"
    )
    assert seen[0][0] == "/v2/Init" and tbank.verify_token(seen[0][1], "secret")


def test_client_raises_the_acquirers_refusal() -> None:
    client = _client(
        {"Success": False, "ErrorCode": "204", "Message": "Неверный токен"}, []
    )
    with pytest.raises(tbank.TBankError, match="Неверный токен") as info:
        client.get_state("1")
    assert info.value.code == "204"


def test_client_get_state_signs_the_payment_id() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    client = _client(
        {
            "Success": True,
            "ErrorCode": "0",
            "Status": "CONFIRMED",
            "PaymentId": "7",
            "OrderId": "o-1",
            "Amount": 500,
        },
        seen,
    )
    state = client.get_state("7")
    assert state == tbank.StateAnswer("7", "o-1", "CONFIRMED", 500)
    path, body = seen[0]
    assert path == "/v2/GetState" and body["PaymentId"] == "7"
    assert tbank.verify_token(body, "secret")


def _notification(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TerminalKey": "T",
        "OrderId": "o-1",
        "Success": True,
        "Status": "CONFIRMED",
        "PaymentId": 13660,
        "ErrorCode": "0",
        "Amount": 100_000,
        "CardId": 5,
        "Pan": "430000******0777",
        "ExpDate": "1230",
    }
    params.update(changes)
    return tbank.signed(params, "secret")


def test_parse_notification_reads_a_signed_one() -> None:
    note = tbank.parse_notification(
        _notification(), terminal_key="T", password="secret"
    )
    assert note == tbank.Notification("T", "o-1", "13660", "CONFIRMED", 100_000, True)


def test_parse_notification_refuses_forgeries_and_other_terminals() -> None:
    forged = {**_notification(), "Amount": 1}
    with pytest.raises(tbank.NotificationError, match="bad token"):
        tbank.parse_notification(forged, terminal_key="T", password="secret")
    with pytest.raises(tbank.NotificationError, match="another terminal"):
        tbank.parse_notification(
            _notification(TerminalKey="X"), terminal_key="T", password="secret"
        )
    broken = tbank.signed({"TerminalKey": "T", "Status": "CONFIRMED"}, "secret")
    with pytest.raises(tbank.NotificationError, match="malformed"):
        tbank.parse_notification(broken, terminal_key="T", password="secret")


# -- which acquirer (docflow.payments.gateway) and its settings ---------------------------


def _settings(**env: str) -> Any:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAYMENT", "TBANK"))
    }
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        return Settings.from_env(secret_key="x" * 32, var_dir="/tmp/docflow-tbank-test")


PG = "postgresql://u@localhost/db"


def test_the_fake_is_the_embedded_default_and_off_in_production() -> None:
    assert active_provider(_settings()) == "fake"
    production = _settings(DATABASE_URL=PG, RATELIMIT_STORAGE_URL="redis://r:6379/1")
    assert active_provider(production) is None
    staging = _settings(
        DATABASE_URL=PG, RATELIMIT_STORAGE_URL="redis://r:6379/1", PAYMENT_FAKE="1"
    )
    assert active_provider(staging) == "fake"
    # The old external link stays when nothing else is configured.
    assert active_provider(_settings(PAYMENT_URL="https://pay.example/")) is None


def test_tbank_is_chosen_by_its_key_or_by_name() -> None:
    given = {"TBANK_TERMINAL_KEY": "T", "TBANK_PASSWORD": "p"}
    assert active_provider(_settings(**given)) == "tbank"
    named = _settings(PAYMENT_PROVIDER="tbank", **given)
    assert active_provider(named) == "tbank"
    assert named.payments.tbank_api_url == "https://securepay.tinkoff.ru"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYMENT_PROVIDER": "sber"}, "expected tbank or fake"),
        ({"PAYMENT_PROVIDER": "tbank"}, "needs TBANK_TERMINAL_KEY"),
        ({"TBANK_TERMINAL_KEY": "T"}, "go together"),
        ({"TBANK_API_URL": "ftp://x"}, "TBANK_API_URL"),
        (
            {
                "PAYMENT_PROVIDER": "fake",
                "DATABASE_URL": PG,
                "RATELIMIT_STORAGE_URL": "redis://r:6379/1",
            },
            "PAYMENT_FAKE=1",
        ),
    ],
)
def test_bad_payment_settings_fail_fast(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings(**env)
