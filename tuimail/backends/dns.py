"""DNS for account discovery: SRV and MX records (dnspython), host addresses, connecting by name.

The standard library can resolve addresses but cannot ask for SRV or MX records; dnspython can,
with a time limit on every question. Addresses come from getaddrinfo (so /etc/hosts counts) unless
a test points discovery at its own DNS server.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from tuimail.model.discovery import DiscoveryNetwork

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_MIN_WAIT = 0.05


class LookupFailed(Exception):
    """A DNS question got no usable answer; the message is a few words for a person."""


@dataclass(frozen=True)
class SrvTarget:
    """One SRV record that offers the service."""

    host: str
    port: int
    priority: int
    weight: int


def valid_host(name: str) -> bool:
    """True for an IP address or a host name of letters, digits and hyphens (no trailing dot)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return True
    if not name or len(name) > 253:
        return False
    return all(_LABEL.fullmatch(label) for label in name.split("."))


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (a time.monotonic() value), never below a small minimum."""
    return max(_MIN_WAIT, deadline - time.monotonic())


def srv_order(records: list[SrvTarget]) -> list[SrvTarget]:
    """Lowest priority first, then the highest weight (RFC 2782, without the random draw)."""
    return sorted(records, key=lambda r: (r.priority, -r.weight))


class Dns:
    """Asks the DNS server of a discovery network, with a deadline on every question."""

    def __init__(self, network: DiscoveryNetwork) -> None:
        self.network = network

    def _resolver(self, deadline: float) -> dns.resolver.Resolver:
        try:
            resolver = dns.resolver.Resolver(configure=self.network.nameserver is None)
        except dns.resolver.NoResolverConfiguration:
            raise LookupFailed("no DNS resolver configured") from None
        if self.network.nameserver is not None:
            resolver.nameservers = [self.network.nameserver]
            resolver.port = self.network.nameserver_port
        wait = remaining(deadline)
        resolver.timeout = wait
        resolver.lifetime = wait
        return resolver

    def _ask(self, name: str, rdtype: str, deadline: float) -> dns.resolver.Answer:
        resolver = self._resolver(deadline)
        try:
            return resolver.resolve(
                name, rdtype, search=False, raise_on_no_answer=False, lifetime=remaining(deadline)
            )
        except dns.resolver.NXDOMAIN:
            raise LookupFailed("no such name") from None
        except dns.exception.Timeout:
            raise LookupFailed("no answer in time") from None
        except dns.resolver.NoNameservers:
            raise LookupFailed("the DNS server failed") from None
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"DNS error ({type(exc).__name__})") from None

    def srv(self, name: str, deadline: float) -> list[SrvTarget]:
        """The SRV targets of ``name`` in the order to try; LookupFailed when "." says "none"."""
        answer = self._ask(name, "SRV", deadline)
        records: list[SrvTarget] = []
        refused = False
        for rdata in answer:
            if rdata.rdtype != dns.rdatatype.SRV:
                continue
            if rdata.target == dns.name.root:
                refused = True
                continue
            host = rdata.target.to_text(omit_final_dot=True)
            if valid_host(host) and 0 < rdata.port < 65536:
                records.append(SrvTarget(host, rdata.port, rdata.priority, rdata.weight))
        if not records and refused:
            raise LookupFailed('not offered (target ".")')
        return srv_order(records)

    def mx(self, domain: str, deadline: float) -> list[str]:
        """The domain's mail exchangers, most preferred first."""
        answer = self._ask(domain, "MX", deadline)
        found = sorted(
            (rdata.preference, rdata.exchange.to_text(omit_final_dot=True).lower())
            for rdata in answer
            if rdata.rdtype == dns.rdatatype.MX and rdata.exchange != dns.name.root
        )
        return [host for _, host in found if valid_host(host)]

    def addresses(self, host: str, deadline: float) -> list[str]:
        """The IP addresses of ``host``; LookupFailed when it has none."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        if self.network.nameserver is None:
            try:
                infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError):
                raise LookupFailed("no such host") from None
            return list(dict.fromkeys(str(info[4][0]) for info in infos))
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = self._ask(host, rdtype, deadline)
            except LookupFailed:
                continue
            found.extend(rdata.address for rdata in answer if rdata.rdtype in (1, 28))
        if not found:
            raise LookupFailed("no such host")
        return found

    def connect(self, host: str, port: int, deadline: float) -> socket.socket:
        """A TCP connection to ``host`` on ``port`` (as the network maps it), by any address."""
        error: OSError = ConnectionRefusedError("no address")
        for address in self.addresses(host, deadline):
            if time.monotonic() >= deadline:
                raise TimeoutError("deadline passed")
            try:
                sock = socket.create_connection(
                    (address, self.network.port(port)), timeout=remaining(deadline)
                )
            except OSError as exc:
                error = exc
                continue
            sock.settimeout(remaining(deadline))
            return sock
        raise error
