from __future__ import annotations

import pytest

from notifications import EventKind

# The values are stored in the database and sent to integrations: a rename
# here must fail a test, not silently orphan rows.
STABLE_VALUES = {
    "document.to_sign",
    "document.signed",
    "document.completed",
    "document.refused",
    "document.revocation_requested",
    "document.revoked",
    "certificate.expiring",
    "appeal.answered",
    "readings.window_open",
    "survey.published",
    "payment.receipt",
    "service_order.status",
    "planned.reminder",
    "account.confirm_email",
    "account.password_reset",
    "account.registration_attempt",
    "contract.invitation",
    "contract.access_changed",
    "phone.confirm_code",
}


def test_event_values_are_the_published_ones() -> None:
    assert {kind.value for kind in EventKind} == STABLE_VALUES


def test_event_kind_parses_from_its_string_value() -> None:
    assert EventKind("document.signed") is EventKind.DOCUMENT_SIGNED
    assert EventKind.DOCUMENT_SIGNED == "document.signed"


def test_every_kind_has_a_russian_label(kind: EventKind) -> None:
    assert kind.label
    assert any("а" <= char <= "я" for char in kind.label.lower())
    assert kind.info.title == kind.label


def test_labels_are_distinct() -> None:
    labels = [kind.label for kind in EventKind]
    assert len(labels) == len(set(labels))


def test_str_methods_are_not_shadowed() -> None:
    assert EventKind.DOCUMENT_SIGNED.title() == "Document.Signed"


def test_transactional_kinds_are_mandatory(kind: EventKind) -> None:
    transactional = (
        kind.value.startswith("account.") or kind is EventKind.PHONE_CONFIRM_CODE
    )
    assert kind.is_mandatory is transactional


def test_subscribable_lists_the_optional_kinds_only() -> None:
    subscribable = EventKind.subscribable()
    assert EventKind.DOCUMENT_TO_SIGN in subscribable
    assert EventKind.ACCOUNT_PASSWORD_RESET not in subscribable
    assert EventKind.ACCOUNT_REGISTRATION_ATTEMPT not in subscribable
    assert len(subscribable) == len(EventKind) - 4


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (EventKind.DOCUMENT_REFUSED, "reason"),
        (EventKind.DOCUMENT_SIGNED, "signer_name"),
        (EventKind.PHONE_CONFIRM_CODE, "code"),
        (EventKind.ACCOUNT_CONFIRM_EMAIL, "url"),
    ],
)
def test_required_fields_name_what_templates_need(kind: EventKind, field: str) -> None:
    assert field in kind.required_fields
