"""Outgoing HTTP to public addresses only: the guard against SSRF.

A pure library (standard library and httpx), shared by :mod:`signing` (the
certificates, CRLs and OCSP responses fetched while validating a signature)
and :mod:`notifications` (webhook deliveries), so both apply one guard.


A signature's certificates name the URLs a validator is to fetch: the
issuer's certificate (AIA caIssuers), CRLs (CRL distribution points) and OCSP
responders (AIA OCSP). Whoever made the certificate chose them, so they must
not make this process talk to the supplier's own network: loopback, private
ranges (RFC 1918, unique local fc00::/7), link-local (169.254.0.0/16, where
cloud metadata services answer, and fe80::/10), shared address space (CGNAT,
RFC 6598), multicast, unspecified, documentation and other reserved ranges.
IPv6 can *wrap* an IPv4 address; the wrapped address is what counts:

* IPv4-mapped ``::ffff:a.b.c.d`` (RFC 4291 §2.5.5.2), the NAT64 well-known
  prefix ``64:ff9b::/96`` (RFC 6052; DNS64 networks give it to every IPv4-only
  host) and 6to4 ``2002::/16`` (RFC 3056): refused when the embedded IPv4
  address is;
* Teredo ``2001::/32`` (RFC 4380; the client address is stored inverted),
  IPv4-compatible ``::a.b.c.d`` (deprecated by RFC 4291 §2.5.5.1) and the
  local-use NAT64 prefix ``64:ff9b:1::/48`` (RFC 8215): always refused.

A name is resolved once per connection, *every* address it resolves to is
checked, and the socket is connected to a checked address: a second lookup
(DNS rebinding, a zero TTL) cannot slip an internal address in between the
check and the connection. TLS (SNI, certificate verification) and the Host
header still use the name from the URL; each redirect hop connects through
the same guard. :func:`fetch` adds a cap on the response size and an overall
deadline.

Where CAs live on internal addresses (a closed network) the operator allows
them explicitly (``TrustStore(..., allow_private_fetch=True)``).


"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import httpcore
import httpx

__all__ = [
    "MAX_CRL_BYTES",
    "MAX_RESPONSE_BYTES",
    "FetchError",
    "Fetched",
    "ForbiddenAddressError",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "fetch",
    "forbidden_reason",
    "resolve",
]

#: The largest CRL downloaded (a national CA's CRL runs to a few megabytes).
MAX_CRL_BYTES = 10 * 1024 * 1024
#: The largest OCSP response or issuer certificate (bundle) downloaded.
MAX_RESPONSE_BYTES = 1024 * 1024
#: Redirects followed (each hop is checked like the first).
MAX_REDIRECTS = 3

_PRIVATE_V4 = tuple(
    ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_SHARED_V4 = ip_network("100.64.0.0/10")
_GLOBAL_UNICAST_V6 = ip_network("2000::/3")
_IPV4_COMPATIBLE = ip_network("::/96")
_NAT64 = ip_network("64:ff9b::/96")
_NAT64_LOCAL = ip_network("64:ff9b:1::/48")
_UNIQUE_LOCAL = ip_network("fc00::/7")
_SITE_LOCAL = ip_network("fec0::/10")
_TEREDO = ip_network("2001::/32")
_DOCUMENTATION_V6 = (ip_network("2001:db8::/32"), ip_network("3fff::/20"))


class ForbiddenAddressError(Exception):
    """``host`` is, or resolves to, an address outside the public Internet."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(
            f"{host!r} resolves to a non-public address {address} ({reason})"
            if host != address
            else f"{address} is a non-public address ({reason})"
        )
        self.host = host
        self.address = address
        self.reason = reason


def _ipv4_reason(ip: IPv4Address) -> str | None:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED_V4:
        return "shared address space (CGNAT)"
    if any(ip in net for net in _PRIVATE_V4):
        return "private"
    if ip.is_reserved or ip.is_private or not ip.is_global:
        return "reserved"
    return None


def _wrapped(kind: str, inner: IPv4Address) -> str | None:
    reason = _ipv4_reason(inner)
    return None if reason is None else f"{reason} {inner} wrapped in {kind}"


def _ipv6_reason(ip: IPv6Address) -> str | None:
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return _wrapped("IPv4-mapped IPv6", ip.ipv4_mapped)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip in _IPV4_COMPATIBLE:
        return f"IPv4-compatible IPv6 ({low32})"
    if ip in _NAT64:
        return _wrapped("NAT64", low32)
    if ip in _NAT64_LOCAL:
        return f"local-use NAT64 ({low32})"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _UNIQUE_LOCAL:
        return "private (unique local)"
    if ip in _SITE_LOCAL:
        return "site-local"
    if ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if ip.teredo is not None:
        client = ip.teredo[1]
        return f"Teredo (client {client}: {_ipv4_reason(client) or 'tunnelled'})"
    if ip.sixtofour is not None:
        return _wrapped("6to4", ip.sixtofour)
    if any(ip in net for net in _DOCUMENTATION_V6):
        return "documentation"
    if ip.is_private or not ip.is_global:
        return "reserved"
    return None


def forbidden_reason(address: str | IPv4Address | IPv6Address) -> str | None:
    """Why ``address`` is not a public Internet address, or None when it is.

    :raises ValueError: ``address`` is not an IP address.
    """
    ip = ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv4Address):
        return _ipv4_reason(ip)
    return _ipv6_reason(ip)


def resolve(host: str, port: int, *, allow_private: bool = False) -> list[str]:
    """The addresses of ``host`` to connect to, looked up once and all checked.

    One forbidden address refuses the name: a resolver that mixes public and
    internal answers is not to be trusted with the choice.

    :param allow_private: skip the check (closed networks, by the operator's
        explicit choice).
    :raises ForbiddenAddressError: an address is not public.
    :raises OSError: the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host!r} has no address")
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                raise ForbiddenAddressError(host, address, reason)
    return addresses


class GuardedNetworkBackend(httpcore.SyncBackend):
    """httpcore's socket backend that connects only to checked addresses.

    httpcore hands it the URL's host; TLS is started afterwards by httpcore
    with that same host as the SNI name and the name to verify.
    """

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, allow_private=self.allow_private)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                # An IP literal: the socket layer parses it, nothing is looked up.
                return super().connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() returns at least one address
        raise failure


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through :class:`GuardedNetworkBackend`.

    No proxy is used (a proxy would resolve the name itself, out of reach of
    the check); environment proxy variables are ignored for the same reason.

    :param allow_private: let connections reach internal addresses too.
    :param verify: as for :class:`httpx.HTTPTransport`.
    """

    def __init__(
        self, *, allow_private: bool = False, verify: ssl.SSLContext | bool = True
    ) -> None:
        context = httpx.create_ssl_context(verify=verify)
        super().__init__(verify=context)
        # httpx takes no network backend; its pool is replaced by the same
        # pool (httpx's default limits) around the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedNetworkBackend(allow_private=allow_private),
        )


class FetchError(Exception):
    """A download failed: no connection, a timeout, too big, too many redirects."""


@dataclass(frozen=True)
class Fetched:
    """A response read in full (within the size cap)."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes


def fetch(
    url: str,
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
    allow_private: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """Request ``url`` through the guard and read at most ``max_bytes``.

    :param timeout: seconds for connecting and for each read; the whole
        download must also end within four times as long (a server sending a
        byte at a time does not hold a worker for ever).
    :param allow_private: let the request reach internal addresses.
    :param transport: for tests; the default is a :class:`GuardedTransport`.
    :raises ForbiddenAddressError: the host (or a redirect's) is not public.
    :raises FetchError: not an http(s) URL, a malformed one, a transport
        error, a response larger than ``max_bytes``, too slow, too many
        redirects.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme not in {"http", "https"}:
        raise FetchError(f"{url}: only http and https URLs are fetched")
    deadline = time.monotonic() + 4 * timeout
    guarded = transport or GuardedTransport(allow_private=allow_private)
    try:
        with (
            httpx.Client(
                transport=guarded,
                timeout=timeout,
                follow_redirects=max_redirects > 0,
                max_redirects=max_redirects,
            ) as client,
            client.stream(method, url, content=content, headers=headers) as response,
        ):
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: {declared} bytes, more than {max_bytes}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url}: not read within {4 * timeout:g}s")
            return Fetched(
                str(response.url), response.status_code, response.headers, bytes(body)
            )
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, ValueError) as exc:
        # InvalidURL too: asn1crypto drops the brackets of an IPv6 literal in
        # a certificate's URL, and a certificate may hold any garbage.
        raise FetchError(f"{url}: {exc!r}") from exc
