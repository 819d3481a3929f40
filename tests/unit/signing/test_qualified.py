"""Qualified status (УКЭП): the sign-tool fields of Приказ ФСБ № 795 and a
chain to a centre the trust store knows as accredited."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from signing import TrustStore, inspect_certificate, pki, validate_certificate
from signing.certificates import QualifiedStatus

TOOL = "СКЗИ «КриптоПро CSP» (версия 5.0)"


def _qualified(issuer: pki.Issued, **kwargs: object) -> pki.Issued:
    return pki.make_signer(
        issuer,
        subject_sign_tool=TOOL,
        issuer_sign_tool=pki.ISSUER_SIGN_TOOL,
        **kwargs,  # type: ignore[arg-type]
    )


def _store(
    root: pki.Issued,
    intermediate: pki.Issued,
    *,
    root_centre: str | None = None,
    intermediate_centre: str | None = None,
) -> TrustStore:
    store = TrustStore(ocsp=False, fetch_crls=False, fetch_issuers=False)
    store.add_root(root.der, accredited=root_centre)
    store.add_intermediate(intermediate.der, accredited=intermediate_centre)
    return store


def test_inspect_reads_sign_tools_and_classes(pki_intermediate: pki.Issued) -> None:
    signer = _qualified(
        pki_intermediate, policies=("1.2.643.100.113.1", "1.2.643.100.113.2")
    )
    info = inspect_certificate(signer.der)
    assert info.subject_sign_tool == TOOL
    assert info.issuer_sign_tool == pki.ISSUER_SIGN_TOOL
    assert info.sign_tool_classes == ("КС1", "КС2")
    data = info.to_json()
    assert data["subject_sign_tool"] == TOOL
    assert data["issuer_sign_tool"] == list(pki.ISSUER_SIGN_TOOL)
    assert data["sign_tool_classes"] == ["КС1", "КС2"]


def test_plain_certificate_has_no_sign_tools(signer_rsa: pki.Issued) -> None:
    info = inspect_certificate(signer_rsa.der)
    assert info.subject_sign_tool is None and info.issuer_sign_tool is None
    status = info.qualified_status("УЦ")
    assert not status.is_qualified
    assert status.summary_ru() == (
        "Неквалифицированный: нет сведений о средстве ЭП владельца "
        "(subjectSignTool); нет сведений о средствах УЦ (issuerSignTool)"
    )


@pytest.mark.parametrize(
    ("subject_tool", "issuer_tool"),
    [
        # issuerSignTool with three names instead of four
        (TOOL, pki.ISSUER_SIGN_TOOL[:3]),
        # an empty subjectSignTool names no tool
        ("", pki.ISSUER_SIGN_TOOL),
    ],
)
def test_malformed_sign_tools_count_as_absent(
    pki_intermediate: pki.Issued, subject_tool: str, issuer_tool: tuple[str, ...]
) -> None:
    signer = pki.make_signer(
        pki_intermediate, subject_sign_tool=subject_tool, issuer_sign_tool=issuer_tool
    )
    status = inspect_certificate(signer.der).qualified_status("УЦ")
    assert not status.is_qualified
    assert len(status.missing) == 1


def test_subject_sign_tool_of_the_wrong_type_counts_as_absent(
    pki_intermediate: pki.Issued,
) -> None:
    # A PrintableString where the profile says UTF8String.
    signer = pki.make_signer(pki_intermediate, issuer_sign_tool=pki.ISSUER_SIGN_TOOL)
    builder = (
        x509.CertificateBuilder()
        .subject_name(signer.cert.subject)
        .issuer_name(signer.cert.issuer)
        .public_key(signer.key.public_key())
        .serial_number(7)
        .not_valid_before(signer.cert.not_valid_before_utc)
        .not_valid_after(signer.cert.not_valid_after_utc)
        .add_extension(
            x509.UnrecognizedExtension(
                pki.OID_SUBJECT_SIGN_TOOL, core.PrintableString("CSP").dump()
            ),
            critical=False,
        )
    )

    cert = builder.sign(pki_intermediate.key, hashes.SHA256())  # type: ignore[arg-type]
    assert (
        inspect_certificate(cert.public_bytes(Encoding.DER)).subject_sign_tool is None
    )


def test_no_class_policy_is_not_qualified(pki_intermediate: pki.Issued) -> None:
    signer = _qualified(pki_intermediate, policies=("1.2.643.100.113.99",))
    status = inspect_certificate(signer.der).qualified_status("УЦ")
    assert status.classes == ()
    assert status.missing == ("не указан класс средства ЭП (КС1–КС3, КВ, КА)",)


def test_qualified_when_the_chain_leads_to_an_accredited_centre(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    signer = _qualified(pki_intermediate)
    store = _store(pki_root, pki_intermediate, intermediate_centre="ООО «УЦ Тест»")
    result = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    assert result.is_valid
    assert result.qualified == QualifiedStatus(
        TOOL, pki.ISSUER_SIGN_TOOL, ("КС1",), "ООО «УЦ Тест»"
    )
    assert result.qualified.is_qualified
    data = result.to_json()["qualified"]
    assert isinstance(data, dict)
    assert data["summary"] == (
        "Квалифицированный сертификат: выдан аккредитованным УЦ «ООО «УЦ Тест»», "
        "класс средства КС1"
    )
    assert data["accredited_ca"] == "ООО «УЦ Тест»" and data["missing"] == []


def test_accredited_root_counts_too(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    signer = _qualified(pki_intermediate)
    store = _store(pki_root, pki_intermediate, root_centre="Минцифры России")
    result = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    assert result.qualified is not None
    assert result.qualified.accredited_ca == "Минцифры России"


def test_not_qualified_without_an_accredited_centre(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    signer = _qualified(pki_intermediate)
    store = _store(pki_root, pki_intermediate)
    result = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    assert result.qualified is not None and not result.qualified.is_qualified
    assert result.qualified.summary_ru() == (
        "Неквалифицированный: цепочка не ведёт к аккредитованному "
        "удостоверяющему центру"
    )


def test_marking_a_known_ca_later_invalidates_cached_results(
    pki_root: pki.Issued, pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    signer = _qualified(pki_intermediate)
    store = _store(pki_root, pki_intermediate)
    first = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    generation = store.generation
    store.add_intermediate(pki_intermediate.der, accredited="ООО «УЦ Тест»")
    assert store.generation == generation + 1
    store.add_intermediate(pki_intermediate.der, accredited="ООО «УЦ Тест»")
    assert store.generation == generation + 1  # the same mark changes nothing
    second = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    assert first.qualified is not None and not first.qualified.is_qualified
    assert second.qualified is not None and second.qualified.is_qualified
    assert store.accredited_centre(pki_intermediate.cert) == "ООО «УЦ Тест»"
    assert store.accredited_centre(pki_root.der) is None


def test_an_untrusted_chain_names_no_accredited_centre(
    pki_intermediate: pki.Issued, pki_now: dt.datetime
) -> None:
    # The accredited intermediate is known, but its root is not trusted.
    signer = _qualified(pki_intermediate)
    store = TrustStore(ocsp=False, fetch_crls=False, fetch_issuers=False)
    store.add_intermediate(pki_intermediate.der, accredited="ООО «УЦ Тест»")
    result = validate_certificate(signer.der, store, at=pki_now, revocation="off")
    assert not result.is_valid
    assert result.qualified is not None and result.qualified.accredited_ca is None
