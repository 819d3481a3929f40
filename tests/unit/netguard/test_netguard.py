"""The address guard of outgoing requests (signing and notifications hold the
same one), and the validation fetchers behind it. No network: connections
are intercepted before any socket is opened."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpcore
import pytest
from asn1crypto import crl
from pyhanko_certvalidator.fetchers.api import CRLFetcher

import netguard
import signing.trust
from signing import TrustStore, Verdict, pki, revocation, validate_certificate

GUARDS = [netguard]
PUBLIC = "93.184.215.14"  # never connected to: every test intercepts connections

FORBIDDEN = [
    # row 12: IPv6 that wraps an internal IPv4 address
    "64:ff9b::7f00:1",  # NAT64 → 127.0.0.1
    "2002:7f00:1::",  # 6to4 → 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 → 169.254.169.254 (metadata)
    "64:ff9b::a00:1",  # NAT64 → 10.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64 prefix
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, any client
    "2002:c0a8:101::1",  # 6to4 → 192.168.1.1
    # plain internal addresses
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.0.10",
    "fc00::1",
    "fd12:3456::1",
    "169.254.169.254",
    "fe80::1",
    "100.64.0.1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "::",
    "192.0.2.1",
    "2001:db8::1",
    "3fff::1",
    "240.0.0.1",
    "255.255.255.255",
    "fec0::1",
    "100::1",
]
ALLOWED = [
    "8.8.8.8",
    PUBLIC,
    "2a00:1450:4010:c0e::64",
    "64:ff9b::808:808",  # NAT64 of a public address (DNS64 networks)
    "2002:808:808::1",  # 6to4 of a public address
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("guard", GUARDS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("address", FORBIDDEN)
def test_internal_or_wrapped_internal_address_is_forbidden(
    guard: ModuleType, address: str
) -> None:
    assert guard.forbidden_reason(address) is not None


@pytest.mark.parametrize("guard", GUARDS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("address", ALLOWED)
def test_public_address_is_allowed(guard: ModuleType, address: str) -> None:
    assert guard.forbidden_reason(address) is None


def test_wrapped_address_names_what_it_wraps() -> None:
    reason = netguard.forbidden_reason("64:ff9b::a9fe:a9fe")
    assert reason == "link-local 169.254.169.254 wrapped in NAT64"


class Resolver:
    """getaddrinfo answering from a script, one answer per lookup of a name."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        script = self.answers.get(host)
        addresses = script.pop(0) if script and len(script) > 1 else None
        if addresses is None:
            addresses = script[0] if script else [host]  # an IP literal is itself
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 0),
            )
            for a in addresses
        ]


@pytest.fixture()
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every TCP connection attempted, each refused before a socket exists."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(f"test: no connection to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts


@pytest.mark.parametrize("guard", GUARDS, ids=lambda m: m.__name__)
def test_resolve_refuses_a_name_with_any_internal_address(
    guard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = Resolver({"mixed.example": [[PUBLIC, "10.0.0.7"]]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(guard.ForbiddenAddressError, match=r"10\.0\.0\.7 \(private\)"):
        guard.resolve("mixed.example", 443)
    assert guard.resolve("mixed.example", 443, allow_private=True) == [
        PUBLIC,
        "10.0.0.7",
    ]


@pytest.mark.parametrize("guard", GUARDS, ids=lambda m: m.__name__)
def test_backend_connects_to_the_address_it_checked(
    guard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Row 13: the second answer would point inward; there must be no second
    # lookup, and the socket goes to the checked literal.
    resolver = Resolver({"rebind.example": [[PUBLIC], ["127.0.0.1"]]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    connected: list[str] = []

    def connect(self: Any, host: str, port: int, *args: Any) -> Any:
        connected.append(host)
        raise httpcore.ConnectError("test: not connecting")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)
    with pytest.raises(httpcore.ConnectError):
        guard.GuardedNetworkBackend().connect_tcp("rebind.example", 80)
    assert connected == [PUBLIC]
    assert resolver.lookups == ["rebind.example"]


def test_fetch_refuses_an_internal_literal_without_connecting(
    connections: list[tuple[str, int]],
) -> None:
    with pytest.raises(netguard.ForbiddenAddressError, match="loopback"):
        netguard.fetch("http://[64:ff9b::7f00:1]/x.crl", timeout=1, max_bytes=1000)
    assert connections == []


def test_fetch_turns_a_malformed_url_into_a_fetch_error() -> None:
    # What asn1crypto makes of http://[64:ff9b::7f00:1]:9/ocsp in a certificate.
    with pytest.raises(netguard.FetchError, match="InvalidURL"):
        netguard.fetch("http://64:ff9b::7f00:1:9/ocsp", timeout=1, max_bytes=1)


@pytest.mark.parametrize("url", ["ldap://ldap.example/cn=CA", "file:///etc/passwd"])
def test_fetch_refuses_other_schemes(url: str) -> None:
    with pytest.raises(netguard.FetchError, match="only http"):
        netguard.fetch(url, timeout=1, max_bytes=1000)


# --- the trust store's fetchers -------------------------------------------------


@pytest.fixture(scope="module")
def loopback_pki() -> tuple[pki.Issued, pki.Issued]:
    root = pki.make_root_ca("УЦ с адресами на локальном узле")
    leaf = pki.make_signer(
        root,
        crl_url="http://127.0.0.1:9/root.crl",
        ocsp_url="http://localhost:9/ocsp",
    )
    return root, leaf


def test_default_store_fetches_nothing_internal_and_says_why(
    loopback_pki: tuple[pki.Issued, pki.Issued], connections: list[tuple[str, int]]
) -> None:
    root, leaf = loopback_pki
    result = validate_certificate(leaf.der, TrustStore([root.der]), revocation="soft")

    assert connections == []
    assert result.verdict is Verdict.VALID
    assert result.revocation is not None and result.revocation.status == "unchecked"
    blocked = [r for r in result.reasons if r.details.get("blocked")]
    assert len(blocked) == 1 and blocked[0].is_warning
    assert blocked[0].code == "revocation_unavailable"
    message = blocked[0].message
    assert (
        "адрес http://127.0.0.1:9/root.crl недоступен для проверки: внутренняя сеть"
        in (message)
    )
    assert "адрес http://localhost:9/ocsp недоступен для проверки" in message
    assert sorted(blocked[0].details["urls"]) == [  # type: ignore[call-overload]
        "http://127.0.0.1:9/root.crl",
        "http://localhost:9/ocsp",
    ]


def test_allow_private_fetch_lets_the_store_try_internal_addresses(
    loopback_pki: tuple[pki.Issued, pki.Issued], connections: list[tuple[str, int]]
) -> None:
    root, leaf = loopback_pki
    store = TrustStore([root.der], allow_private_fetch=True, ocsp=False)
    result = validate_certificate(leaf.der, store, revocation="soft")

    assert ("127.0.0.1", 9) in connections
    assert not [r for r in result.reasons if r.details.get("blocked")]


@pytest.mark.parametrize("allow_private_fetch", [False, True])
def test_revocation_off_builds_no_fetchers(
    loopback_pki: tuple[pki.Issued, pki.Issued],
    connections: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    allow_private_fetch: bool,
) -> None:
    built: list[object] = []
    real: Callable[..., object] = signing.trust.build_fetchers

    def spy(**kwargs: Any) -> object:
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(signing.trust, "build_fetchers", spy)
    root, leaf = loopback_pki
    store = TrustStore([root.der], allow_private_fetch=allow_private_fetch)

    result = validate_certificate(leaf.der, store, revocation="off")
    context = store.validation_context(revocation="off")

    assert built == [] and connections == []
    assert context.fetching_allowed is False
    assert result.verdict is Verdict.VALID


def test_fetchers_are_guarded_and_carry_the_switch() -> None:
    fetchers = revocation.build_fetchers(
        ocsp=True, crls=True, issuers=True, timeout=2.0, allow_private=True
    )
    assert fetchers is not None
    for fetcher in (fetchers.ocsp_fetcher, fetchers.crl_fetcher, fetchers.cert_fetcher):
        assert isinstance(fetcher, revocation._Guarded)
        assert fetcher.guard.allow_private is True
        assert fetcher.guard.timeout == 2.0
    assert (
        revocation.build_fetchers(ocsp=False, crls=False, issuers=False, timeout=2.0)
        is None
    )


class _ServedCRLs(CRLFetcher):
    """A CRL fetcher that hands out CRLs it holds: what an application sharing
    downloads between processes plugs in."""

    def __init__(self, crls: list[crl.CertificateList]) -> None:
        self.crls = crls

    async def fetch(
        self, cert: Any, *, use_deltas: Any = None
    ) -> list[crl.CertificateList]:
        return self.crls

    def fetched_crls(self) -> list[crl.CertificateList]:
        return self.crls

    def fetched_crls_for_cert(self, cert: Any) -> list[crl.CertificateList]:
        return self.crls


def test_a_crl_fetcher_factory_replaces_the_download_and_keeps_the_guard(
    loopback_pki: tuple[pki.Issued, pki.Issued], connections: list[tuple[str, int]]
) -> None:
    root, leaf = loopback_pki
    served = _ServedCRLs(
        [
            crl.CertificateList.load(
                pki.make_crl(
                    root,
                    [
                        pki.Revoked(
                            leaf.cert.serial_number, leaf.cert.not_valid_before_utc
                        )
                    ],
                )
            )
        ]
    )
    guards: list[revocation.FetchGuard] = []

    def factory(guard: revocation.FetchGuard) -> CRLFetcher:
        guards.append(guard)
        return served

    fetchers = revocation.build_fetchers(
        ocsp=True, crls=True, issuers=True, timeout=2.0, crl_fetcher_factory=factory
    )
    assert fetchers is not None and fetchers.crl_fetcher is served
    assert isinstance(fetchers.ocsp_fetcher, revocation._Guarded)
    assert guards == [fetchers.ocsp_fetcher.guard]
    # The switch still rules: no CRLs asked for, none fetched by the factory's.
    off = revocation.build_fetchers(
        ocsp=True, crls=False, issuers=False, timeout=2.0, crl_fetcher_factory=factory
    )
    assert off is not None and off.crl_fetcher is not served

    store = TrustStore([root.der], ocsp=False, crl_fetcher_factory=factory)
    result = validate_certificate(leaf.der, store, revocation="hard")
    assert connections == []
    assert result.verdict is Verdict.INVALID
    assert "revoked" in {r.code.value for r in result.reasons}
