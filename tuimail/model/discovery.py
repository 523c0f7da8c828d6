"""What account discovery found for an email address: servers, where they came from, notes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from tuimail.model.account import Protocol, Security


class Source(enum.IntEnum):
    """Where a setting came from; a lower value is trusted more."""

    PROVIDER = 1
    """tuimail's built-in table of major providers."""
    AUTOCONFIG = 2
    """The domain's own autoconfig file (Thunderbird's format)."""
    SRV = 3
    """RFC 6186 SRV records of the domain."""
    MX = 4
    """The domain's MX host, looked up in the table and its autoconfig (hosted domains)."""
    GUESS = 5
    """Common host names probed over verified TLS."""

    @property
    def label(self) -> str:
        """How the source is named to a person."""
        return _LABELS[self]


_LABELS = {
    Source.PROVIDER: "tuimail's provider list",
    Source.AUTOCONFIG: "the provider's autoconfig file",
    Source.SRV: "DNS SRV records",
    Source.MX: "the domain's mail exchanger",
    Source.GUESS: "probing common server names",
}


class UsernameForm(enum.StrEnum):
    """What the server expects as the login name."""

    ADDRESS = "address"
    """The whole email address."""
    LOCAL_PART = "local-part"
    """The part before the @."""


@dataclass(frozen=True)
class ServerChoice:
    """One server that can be used for the account."""

    protocol: Protocol
    host: str
    port: int
    security: Security
    username: str
    """The login name, placeholders already filled."""


@dataclass(frozen=True)
class Discovery:
    """The settings found for an address, best choice first in each tuple."""

    email: str
    source: Source
    incoming: tuple[ServerChoice, ...]
    """IMAP and/or POP3 servers; IMAP first when both are offered."""
    outgoing: tuple[ServerChoice, ...]
    provider: str | None = None
    """The provider's name when known (``Fastmail``)."""
    notes: tuple[str, ...] = ()
    """Advice for the person, e.g. that an app password is needed."""
    needs_app_password: bool = False
    oauth2_only: bool = False
    """The provider accepts no password login (tuimail cannot log in to it yet)."""
    help_url: str | None = None
    """Where the provider explains app passwords or mail client settings."""
    tried: tuple[str, ...] = field(default=())
    """What was asked, in order, with the outcome of each (shown when nothing was found)."""

    @property
    def found(self) -> bool:
        """True when at least one incoming server was found.

        When nothing was found, ``source`` is GUESS (the last path asked), the server tuples are
        empty and ``tried`` says what was asked: the manual-entry screen shows it.
        """
        return bool(self.incoming)


@dataclass(frozen=True)
class DiscoveryNetwork:
    """Where discovery looks: the system's resolver and real ports by default.

    Tests point it at a DNS server, an HTTPS server and mail servers on loopback.
    """

    nameserver: str | None = None
    """IP address of the DNS server asked for SRV, MX and (when set) A/AAAA records; None: the
    system's resolver (resolv.conf for SRV/MX, getaddrinfo for addresses)."""
    nameserver_port: int = 53
    ca_file: str | None = None
    """A PEM file of CAs trusted, besides the system's, for autoconfig over HTTPS and probes."""
    ports: Mapping[int, int] = field(default_factory=dict)
    """Port actually connected to for a port discovery means (``{443: 8443, 993: 20993}``);
    the results still name the port asked for."""

    def port(self, port: int) -> int:
        """The port connected to when discovery means ``port``."""
        return self.ports.get(port, port)
