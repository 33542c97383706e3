"""Keeps callbacks off private networks: the address is judged when the connection is made.

A callback URL is checked when it is submitted, but DNS can change afterwards (or answer
differently to the worker), so the check that matters happens at connect time: `GuardedTransport`
resolves the host itself, drops every address that is not globally routable (loopback, private,
link-local, shared, reserved, multicast, IPv4-mapped forms of those) unless it lies in an
allow-listed network, and connects to a remaining address by number — no second lookup that DNS
could answer differently. TLS still verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(httpx.TransportError):
    """Every address the callback host resolves to is on a network callbacks may not reach."""


class AddressPolicy:
    def __init__(self, allow_networks: Iterable[str] = ()) -> None:
        self.allow: list[IPNetwork] = [ipaddress.ip_network(n, strict=False) for n in allow_networks]

    def allowed(self, ip: IPAddress) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allow):
            return True
        return ip.is_global and not ip.is_multicast

    def literal_refused(self, host: str) -> bool:
        """True when `host` is an IP literal that may not be reached (checked at submission)."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return not self.allowed(ip)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused: list[str] = []
        last_error: Exception | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0]).split("%", 1)[0]
            ip = ipaddress.ip_address(address)
            if not self.policy.allowed(ip):
                refused.append(address)
                continue
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is not None:
            raise last_error
        raise AddressRefused(
            f"{host} resolves only to addresses callbacks may not reach: {', '.join(refused)} "
            "(a deployment whose portal lives on such a network lists it in "
            "COURTDOC_CALLBACK_ALLOW_NETWORKS)"
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise AddressRefused("callbacks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the connect-time address check (no proxies, no env settings)."""

    def __init__(self, policy: AddressPolicy, *, retries: int = 0) -> None:
        super().__init__(trust_env=False, retries=retries)
        # httpx builds its httpcore pool without a way to pass a network backend; rebuild the
        # pool with the same TLS context and our backend (the test of a refused 127.0.0.1 and a
        # reached allow-listed 127.0.0.1 would fail if this ever stopped taking effect).
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            retries=retries,
            network_backend=_GuardedBackend(policy),
        )


def guarded_client(policy: AddressPolicy, timeout: float) -> httpx.Client:
    """An HTTP client that follows no redirects and reaches only allowed addresses."""
    return httpx.Client(
        transport=GuardedTransport(policy), timeout=timeout, follow_redirects=False, trust_env=False
    )


def host_of(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except (httpx.InvalidURL, TypeError):
        return None


def networks(values: Sequence[str]) -> list[str]:
    """Validate a list of CIDR strings (raises ValueError naming the bad one)."""
    for v in values:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ValueError(f"not a network: {v!r}") from None
    return list(values)
