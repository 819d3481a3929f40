"""The document flow's services without HTTP: registration, the route and
whose turn it is, every transition and the state it refuses."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.documents.models import DocStatus, Document, Party, StepStatus
from docflow.documents.services import (
    answer_revocation,
    clean_filename,
    delete_document,
    refuse,
    request_revocation,
    status_label,
    submit,
)
from docflow.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.runtime import Runtime
from storage import FilesystemBlobStorage
from tests import factories
from tests.unit.docflow.conftest import Cast


@pytest.fixture()
def register(
    session: Session, cast: Cast, store: FilesystemBlobStorage, runtime: Runtime
) -> Register:
    return Register(session, cast, store, runtime)


class Register:
    """Documents on the cast's contract, registered by the clerk by default
    (``runtime`` stores their files in ``store``)."""

    def __init__(
        self, s: Session, cast: Cast, store: FilesystemBlobStorage, runtime: Runtime
    ) -> None:
        self.s, self.cast, self.store, self.runtime = s, cast, store, runtime

    def __call__(self, by: User | None = None, **kw: object) -> Document:
        return factories.make_document(
            self.s,
            actor=Actor.for_user(by or self.cast.clerk),
            runtime=self.runtime,
            contract=self.cast.contract,
            **kw,  # type: ignore[arg-type]
        )

    def sign(self, doc: Document, by: User) -> None:
        factories.make_signature(
            self.s, doc=doc, actor=Actor.for_user(by), runtime=self.runtime
        )


def _steps(doc: Document) -> list[tuple[Party, StepStatus]]:
    return [(step.party, step.status) for step in doc.steps]


def _status(doc: Document) -> DocStatus:
    """Read afresh after a transition (a bare ``doc.status`` stays narrowed
    for the type checker by the previous assertion)."""
    return doc.status


# -- registration ------------------------------------------------------------------


def test_register_document_awaits_the_first_party_of_its_route(
    register: Register,
) -> None:
    data = factories.make_pdf(heading="Акт")
    doc = register(data=data)
    assert doc.status == DocStatus.AWAITING
    assert doc.created_by_party == Party.SUPPLIER
    assert _steps(doc) == [
        (Party.CUSTOMER, StepStatus.CURRENT),
        (Party.SUPPLIER, StepStatus.WAITING),
    ]
    assert doc.main_file.sha256 == hashlib.sha256(data).hexdigest()
    assert register.store.read_bytes(doc.main_file.blob_key) == data


def test_register_document_as_a_draft_has_nobody_to_sign(register: Register) -> None:
    doc = register(draft=True)
    assert doc.status == DocStatus.DRAFT
    assert doc.current_step is None
    assert {step.status for step in doc.steps} == {StepStatus.WAITING}


@pytest.mark.parametrize(
    "route", [("customer", "customer"), ("customer", "bank"), ()], ids=str
)
def test_register_document_refuses_a_malformed_route(
    register: Register, route: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as refused:
        register(route=route)
    assert refused.value.details == {"field": "route"}


def test_register_document_hides_a_contract_the_actor_cannot_see(
    register: Register,
) -> None:
    with pytest.raises(NotFoundError):
        register(by=register.cast.stranger)


def test_register_document_refuses_a_holder_of_the_view_right_alone(
    register: Register,
) -> None:
    with pytest.raises(PermissionDeniedError):
        register(by=register.cast.viewer)


def test_register_document_with_a_known_idempotency_key_returns_the_first(
    register: Register,
) -> None:
    first = register(number="A-1", idempotency_key="erp-42")
    again = register(number="A-2", idempotency_key="erp-42")
    assert again.id == first.id
    assert again.number == "A-1"


# -- the route -----------------------------------------------------------------------


def test_submit_sends_a_draft_on_its_route(
    session: Session, register: Register
) -> None:
    doc = register(draft=True)
    submit(
        session,
        actor=Actor.for_user(register.cast.clerk),
        document_id=doc.id,
        runtime=register.runtime,
    )
    assert doc.status == DocStatus.AWAITING
    assert _steps(doc)[0] == (Party.CUSTOMER, StepStatus.CURRENT)


def test_submit_refuses_a_document_on_its_route_already(
    session: Session, register: Register
) -> None:
    doc = register()
    with pytest.raises(InvalidTransitionError):
        submit(
            session,
            actor=Actor.for_user(register.cast.clerk),
            document_id=doc.id,
            runtime=register.runtime,
        )


def test_signatures_advance_the_route_until_it_is_signed(register: Register) -> None:
    doc = register()
    register.sign(doc, register.cast.signer)
    assert doc.status == DocStatus.PARTLY_SIGNED
    assert doc.completed_at is None
    assert _steps(doc) == [
        (Party.CUSTOMER, StepStatus.SIGNED),
        (Party.SUPPLIER, StepStatus.CURRENT),
    ]
    register.sign(doc, register.cast.clerk)
    assert _status(doc) == DocStatus.SIGNED
    assert doc.completed_at is not None
    assert doc.current_step is None


# -- refusal ---------------------------------------------------------------------------


def test_refuse_records_the_reason_and_the_refusing_party(
    session: Session, register: Register
) -> None:
    doc = register()
    refuse(
        session,
        actor=Actor.for_user(register.cast.signer),
        document_id=doc.id,
        reason="  Неверные показания  ",
        runtime=register.runtime,
    )
    assert doc.status == DocStatus.REFUSED
    assert doc.refused_by == Party.CUSTOMER
    assert doc.refusal_reason == "Неверные показания"
    assert _steps(doc)[0] == (Party.CUSTOMER, StepStatus.REFUSED)


def test_refuse_on_the_other_partys_turn_is_a_conflict(
    session: Session, register: Register
) -> None:
    doc = register()
    with pytest.raises(InvalidTransitionError, match="очередь подписи другой"):
        refuse(
            session,
            actor=Actor.for_user(register.cast.clerk),
            document_id=doc.id,
            reason="Не согласны",
            runtime=register.runtime,
        )


def test_refuse_needs_the_right_to_sign(session: Session, register: Register) -> None:
    doc = register()
    with pytest.raises(PermissionDeniedError):
        refuse(
            session,
            actor=Actor.for_user(register.cast.viewer),
            document_id=doc.id,
            reason="Не согласны",
            runtime=register.runtime,
        )


def test_refuse_needs_a_reason(session: Session, register: Register) -> None:
    doc = register()
    with pytest.raises(ValidationError):
        refuse(
            session,
            actor=Actor.for_user(register.cast.signer),
            document_id=doc.id,
            reason=" no ",
            runtime=register.runtime,
        )
    assert doc.status == DocStatus.AWAITING


def test_a_refused_document_is_refused_no_more(
    session: Session, register: Register
) -> None:
    doc = register()
    signer = Actor.for_user(register.cast.signer)
    refuse(
        session,
        actor=signer,
        document_id=doc.id,
        reason="Первый отказ",
        runtime=register.runtime,
    )
    with pytest.raises(InvalidTransitionError, match="Отказ в подписании"):
        refuse(
            session,
            actor=signer,
            document_id=doc.id,
            reason="Второй отказ",
            runtime=register.runtime,
        )


# -- revocation --------------------------------------------------------------------------


def test_request_revocation_needs_a_signature(
    session: Session, register: Register
) -> None:
    doc = register()
    with pytest.raises(InvalidTransitionError):
        request_revocation(
            session,
            actor=Actor.for_user(register.cast.signer),
            document_id=doc.id,
            reason="Ошибка в акте",
            runtime=register.runtime,
        )


def test_revocation_is_answered_by_the_other_party(
    session: Session, register: Register
) -> None:
    cast = register.cast
    doc = register()
    register.sign(doc, cast.signer)
    register.sign(doc, cast.clerk)
    customer, supplier = Actor.for_user(cast.signer), Actor.for_user(cast.clerk)
    request_revocation(
        session,
        actor=customer,
        document_id=doc.id,
        reason="Ошибка в акте",
        runtime=register.runtime,
    )
    assert doc.status == DocStatus.REVOCATION_REQUESTED
    assert doc.revocation_requested_by == Party.CUSTOMER
    with pytest.raises(InvalidTransitionError, match="другая сторона"):
        answer_revocation(
            session,
            actor=customer,
            document_id=doc.id,
            accept=True,
            runtime=register.runtime,
        )
    answer_revocation(
        session,
        actor=supplier,
        document_id=doc.id,
        accept=True,
        runtime=register.runtime,
    )
    assert _status(doc) == DocStatus.REVOKED


@pytest.mark.parametrize(
    ("signers", "back_to"),
    [(1, DocStatus.PARTLY_SIGNED), (2, DocStatus.SIGNED)],
)
def test_a_declined_revocation_restores_the_status(
    session: Session, register: Register, signers: int, back_to: DocStatus
) -> None:
    cast = register.cast
    doc = register()
    for user in (cast.signer, cast.clerk)[:signers]:
        register.sign(doc, user)
    request_revocation(
        session,
        actor=Actor.for_user(cast.signer),
        document_id=doc.id,
        reason="Ошибка в акте",
        runtime=register.runtime,
    )
    answer_revocation(
        session,
        actor=Actor.for_user(cast.clerk),
        document_id=doc.id,
        accept=False,
        runtime=register.runtime,
    )
    assert doc.status == back_to


# -- deletion -------------------------------------------------------------------------------


def test_delete_document_by_the_registering_party(
    session: Session, register: Register
) -> None:
    doc = register()
    clerk = Actor.for_user(register.cast.clerk)
    delete_document(session, actor=clerk, document_id=doc.id)
    assert doc.status == DocStatus.DELETED
    assert doc.deleted_at is not None
    with pytest.raises(NotFoundError):
        delete_document(session, actor=clerk, document_id=doc.id)


def test_delete_document_by_the_other_party_is_forbidden(
    session: Session, register: Register
) -> None:
    doc = register()
    with pytest.raises(PermissionDeniedError, match="зарегистрировала"):
        delete_document(
            session, actor=Actor.for_user(register.cast.signer), document_id=doc.id
        )


def test_delete_document_once_signed_is_a_conflict(
    session: Session, register: Register
) -> None:
    doc = register()
    register.sign(doc, register.cast.signer)
    with pytest.raises(InvalidTransitionError):
        delete_document(
            session, actor=Actor.for_user(register.cast.clerk), document_id=doc.id
        )
    assert doc.status == DocStatus.PARTLY_SIGNED


# -- labels and names ------------------------------------------------------------------------


def test_status_label_names_whose_signature_is_awaited(register: Register) -> None:
    cast = register.cast
    both = register()
    assert status_label(both) == "Ожидает подписи клиента"
    register.sign(both, cast.signer)
    assert status_label(both) == "Подписан клиентом, ожидает подписи поставщика"
    register.sign(both, cast.clerk)
    assert status_label(both) == "Подписан обеими сторонами"
    alone = register(route=("customer",))
    register.sign(alone, cast.signer)
    assert status_label(alone) == "Подписан клиентом"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("C:\\Users\\ivanov\\акт.pdf", "акт.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1f.pdf", "ab.pdf"),
        ("...", "файл"),
        ("я" * 300 + ".pdf", "я" * 196 + ".pdf"),
    ],
)
def test_clean_filename_keeps_a_bare_bounded_name(given: str, shown: str) -> None:
    assert clean_filename(given) == shown
