"""Account discovery: from an email address to its servers, asking several places at once.

Order of trust, most trusted first, and why:

1. tuimail's provider table: written and checked by people, answers without the network, and
   carries what no protocol tells (an app password is needed, only OAuth2 works).
2. The domain's autoconfig file (Thunderbird's format) over verified HTTPS: published by the
   domain's owner, authenticated by the certificate, and it names the login form.
3. RFC 6186 SRV records: published by the domain's owner too, but plain DNS (spoofable without
   DNSSEC) and silent about the login name; the login test still verifies TLS against the
   target's name.
4. The MX host's provider (table, then its autoconfig): right for hosted domains, but an
   inference, not a statement by the domain.
5. Guessed names (imap., mail., pop., pop3., smtp.) that answered a real greeting and
   CAPABILITY/CAPA/EHLO over verified TLS: proof that a server is there, not that it is the
   domain's mail service for this address.

All paths start together under one deadline; only the probing of guessed names waits until the
others have finished or had a short head start, so that a quick answer costs no connections to
hosts that may not be mail servers at all. The answer is the most trusted path that found
servers, taken as soon as no more trusted path is still asking; at the deadline, the best found by
then. Implicit TLS comes before STARTTLS (RFC 8314); plaintext is never proposed.

When nothing answers, the result is a Discovery with no servers (``found`` is False) whose
``tried`` says what was asked; None only when the caller cancelled.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar, cast

from tuimail.backends import autoconfig
from tuimail.backends.dns import Dns, LookupFailed, valid_host
from tuimail.backends.handshake import handshake
from tuimail.backends.tls import verifying_context
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import Discovery, DiscoveryNetwork, ServerChoice, Source
from tuimail.model.errors import ConfigError, MailError
from tuimail.services.providers import Provider, by_domain, by_mx

T = TypeVar("T")
Rank = tuple[int, int]

_POLL = 0.1
"""Seconds between looks at the caller's cancel event while waiting."""
GUESS_HEAD_START = 0.15
"""The share of the time limit (at most 1.5 s) the other paths have before guessed names are
probed, unless they finish sooner."""
_SHORT = {
    Source.PROVIDER: "provider list",
    Source.AUTOCONFIG: "autoconfig",
    Source.SRV: "SRV",
    Source.MX: "MX",
    Source.GUESS: "probe",
}
_SRV_SERVICES = (
    ("_imaps._tcp", Protocol.IMAP, Security.TLS),
    ("_imap._tcp", Protocol.IMAP, Security.STARTTLS),
    ("_pop3s._tcp", Protocol.POP3, Security.TLS),
    ("_pop3._tcp", Protocol.POP3, Security.STARTTLS),
    ("_submissions._tcp", Protocol.SMTP, Security.TLS),
    ("_submission._tcp", Protocol.SMTP, Security.STARTTLS),
)
_GUESS_PORTS = {
    Protocol.IMAP: (("imap", "mail"), ((993, Security.TLS), (143, Security.STARTTLS))),
    Protocol.POP3: (("pop", "pop3", "mail"), ((995, Security.TLS), (110, Security.STARTTLS))),
    Protocol.SMTP: (("smtp", "mail"), ((465, Security.TLS), (587, Security.STARTTLS))),
}
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go"})


@dataclass(frozen=True)
class Found:
    """What one path found."""

    source: Source
    incoming: tuple[ServerChoice, ...]
    outgoing: tuple[ServerChoice, ...]
    provider: str | None = None
    notes: tuple[str, ...] = ()
    needs_app_password: bool = False
    oauth2_only: bool = False
    help_url: str | None = None

    @property
    def usable(self) -> bool:
        """An answer: servers, or the statement that only OAuth2 would work."""
        return bool(self.incoming) or self.oauth2_only


@dataclass
class _Run:
    """One discovery in progress: what every path shares."""

    email: str
    domain: str
    dns: Dns
    deadline: float
    """When the paths stop asking (a little before the caller's limit, to hand in results)."""
    context: ssl.SSLContext
    """One verifying TLS context for every probe and fetch (loading the CA store takes ~0.1 s)."""
    guess_after: float
    """When guessed names are probed even if other paths are still asking."""
    stop: threading.Event = field(default_factory=threading.Event)
    trusted_done: threading.Event = field(default_factory=threading.Event)
    """Set when every path but the guesses has finished."""
    events: queue.Queue[tuple[str, object]] = field(default_factory=queue.Queue)

    def progress(self, line: str) -> None:
        """Tell the caller (on its own thread) what is happening."""
        self.events.put(("progress", line))

    @property
    def stopped(self) -> bool:
        """True when the answer is decided or time is up: paths should not start more work."""
        return self.stop.is_set() or time.monotonic() >= self.deadline


def _parallel(run: _Run, jobs: Sequence[Callable[[], T]]) -> list[T | BaseException | None]:
    """Run ``jobs`` in threads: each one's result, its exception, or None if still running."""
    results: list[T | BaseException | None] = [None] * len(jobs)
    done: queue.Queue[tuple[int, T | BaseException]] = queue.Queue()

    def work(index: int, job: Callable[[], T]) -> None:
        try:
            done.put((index, job()))
        except Exception as exc:  # reported to the caller as the job's result
            done.put((index, exc))

    for index, job in enumerate(jobs):
        threading.Thread(target=work, args=(index, job), daemon=True).start()
    received = 0
    while received < len(jobs) and not run.stopped:
        try:
            index, result = done.get(timeout=max(0.01, min(_POLL, run.deadline - time.monotonic())))
        except queue.Empty:
            continue
        results[index] = result
        received += 1
    return results


def _from_provider(provider: Provider, email: str, source: Source) -> Found:
    return Found(
        source=source,
        incoming=tuple(server.choice(email) for server in provider.incoming),
        outgoing=tuple(server.choice(email) for server in provider.outgoing),
        provider=provider.name,
        notes=provider.notes,
        needs_app_password=provider.needs_app_password,
        oauth2_only=provider.oauth2_only,
        help_url=provider.help_url,
    )


def _short_url(url: str) -> str:
    return url.partition("?")[0]


def _autoconfig(run: _Run, url: str, source: Source, tried: list[str]) -> Found | None:
    run.progress(f"Fetching {_short_url(url)}…")
    try:
        data = autoconfig.fetch(url, run.dns, run.deadline, context=run.context)
        config = autoconfig.parse(data, run.email)
    except autoconfig.AutoconfigError as exc:
        tried.append(f"autoconfig {_short_url(url)}: {exc}")
        return None
    tried.append(f"autoconfig {_short_url(url)}: found {_summary(config.incoming)}")
    notes: tuple[str, ...] = ()
    if config.oauth2_only:
        notes = ("This provider allows only OAuth2 logins, which tuimail cannot do yet.",)
    return Found(
        source=source,
        incoming=config.incoming,
        outgoing=config.outgoing,
        provider=config.provider,
        notes=notes,
        oauth2_only=config.oauth2_only,
        help_url=config.help_url,
    )


def _summary(servers: Sequence[ServerChoice]) -> str:
    if not servers:
        return "no usable server"
    first = servers[0]
    return f"{first.protocol.name} at {first.host}:{first.port}"


def _srv(run: _Run, tried: list[str]) -> Found | None:
    run.progress(f"Looking up SRV records for {run.domain}…")
    names = [f"{service}.{run.domain}" for service, _, _ in _SRV_SERVICES]
    answers = _parallel(run, [partial(run.dns.srv, name, run.deadline) for name in names])
    incoming: list[ServerChoice] = []
    outgoing: list[ServerChoice] = []
    for name, (_, protocol, security), answer in zip(names, _SRV_SERVICES, answers, strict=True):
        if answer is None:
            tried.append(f"SRV {name}: no answer in time")
        elif isinstance(answer, BaseException):
            tried.append(f"SRV {name}: {answer if isinstance(answer, LookupFailed) else 'error'}")
        elif not answer:
            tried.append(f"SRV {name}: no records")
        else:
            tried.append(f"SRV {name}: {', '.join(f'{r.host}:{r.port}' for r in answer)}")
            found = outgoing if protocol is Protocol.SMTP else incoming
            found.extend(
                ServerChoice(protocol, r.host, r.port, security, run.email) for r in answer
            )
    if not incoming:
        return None
    return Found(
        Source.SRV,
        tuple(incoming),
        tuple(outgoing),
        notes=("The login name is a guess: your whole address.",),
    )


def registrable_domain(host: str) -> str:
    """The part of ``host`` a company registers (``aspmx.l.google.com`` -> ``google.com``).

    A heuristic without the public suffix list: the last two labels, or three under a common
    two-letter country second level (``mx.example.co.uk`` -> ``example.co.uk``).
    """
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _mx(run: _Run, tried: list[str]) -> Found | None:
    run.progress(f"Looking up the mail exchanger (MX) of {run.domain}…")
    try:
        hosts = run.dns.mx(run.domain, run.deadline)
    except LookupFailed as exc:
        tried.append(f"MX {run.domain}: {exc}")
        return None
    if not hosts:
        tried.append(f"MX {run.domain}: no records")
        return None
    host = hosts[0]
    provider = by_mx(host)
    if provider is not None:
        tried.append(f"MX {run.domain}: {host}, run by {provider.name}")
        found = _from_provider(provider, run.email, Source.MX)
        note = f"{run.domain}'s mail is handled by {provider.name} (its MX is {host})."
        return replace(found, notes=(note, *found.notes))
    parent = registrable_domain(host)
    if parent == registrable_domain(run.domain):
        tried.append(f"MX {run.domain}: {host}, the domain's own (nothing more to ask)")
        return None
    tried.append(f"MX {run.domain}: {host}, asking {parent}")
    for url in autoconfig.urls(parent, run.email):
        if run.stopped:
            break
        found_at = _autoconfig(run, url, Source.MX, tried)
        if found_at is not None and found_at.usable:
            return found_at
    return None


@dataclass(frozen=True)
class _Guess:
    protocol: Protocol
    host: str
    port: int
    security: Security


def _guess(run: _Run, tried: list[str]) -> Found | None:
    run.trusted_done.wait(max(0.0, run.guess_after - time.monotonic()))
    if run.stop.is_set():
        return None
    candidates = [
        _Guess(protocol, f"{prefix}.{run.domain}", port, security)
        for protocol, (prefixes, ports) in _GUESS_PORTS.items()
        for prefix in prefixes
        for port, security in ports
    ]
    hosts = list(dict.fromkeys(c.host for c in candidates))
    run.progress(f"Probing {', '.join(hosts)}…")
    addresses = _parallel(run, [partial(run.dns.addresses, host, run.deadline) for host in hosts])
    alive = set()
    for host, answer in zip(hosts, addresses, strict=True):
        if isinstance(answer, list):
            alive.add(host)
        else:
            reason = answer if isinstance(answer, LookupFailed) else "no answer in time"
            tried.append(f"probe {host}: {reason}")
    probes = [c for c in candidates if c.host in alive]
    outcomes = _parallel(
        run,
        [
            partial(
                handshake,
                c.protocol,
                c.host,
                c.port,
                c.security,
                dns=run.dns,
                deadline=run.deadline,
                context=run.context,
            )
            for c in probes
        ],
    )
    good: list[_Guess] = []
    for probe, outcome in zip(probes, outcomes, strict=True):
        where = f"probe {probe.protocol.name} {probe.host}:{probe.port} ({probe.security.value})"
        if outcome is None:
            tried.append(f"{where}: no answer in time")
        elif isinstance(outcome, MailError):
            tried.append(f"{where}: {outcome.title.lower()}")
        elif isinstance(outcome, BaseException):
            tried.append(f"{where}: failed ({type(outcome).__name__})")
        else:
            tried.append(f"{where}: answered")
            good.append(probe)
    order = list(_GUESS_PORTS)
    good.sort(key=lambda g: (order.index(g.protocol), g.security is not Security.TLS))
    choices = [ServerChoice(g.protocol, g.host, g.port, g.security, run.email) for g in good]
    incoming = tuple(c for c in choices if c.protocol is not Protocol.SMTP)
    if not incoming:
        return None
    return Found(
        Source.GUESS,
        incoming,
        tuple(c for c in choices if c.protocol is Protocol.SMTP),
        notes=(
            "These servers were found by trying common names; check them. The login name is "
            "a guess: your whole address.",
        ),
    )


def _domain_of(email: str) -> str:
    local, at, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    if not at or not local or "." not in ascii_domain or not valid_host(ascii_domain):
        raise ConfigError(f"{email!r} is not an email address (name@example.org).")
    return ascii_domain


def _found_line(found: Found) -> str:
    label = _SHORT[found.source]
    parts = [f"{s.protocol.name} at {s.host}:{s.port}" for s in found.incoming[:1]]
    parts += [f"SMTP at {s.host}:{s.port}" for s in found.outgoing[:1]]
    if not parts:
        return f"Found {found.provider or 'the provider'} ({label}): no password login possible"
    return f"Found {' and '.join(parts)} ({label})"


def _discovery(email: str, found: Found | None, tried: Sequence[str]) -> Discovery:
    if found is None:
        return Discovery(email, Source.GUESS, (), (), tried=tuple(tried))
    return Discovery(
        email=email,
        source=found.source,
        incoming=found.incoming,
        outgoing=found.outgoing,
        provider=found.provider,
        notes=found.notes,
        needs_app_password=found.needs_app_password,
        oauth2_only=found.oauth2_only,
        help_url=found.help_url,
        tried=tuple(tried),
    )


def discover(
    email: str,
    *,
    timeout: float = 10.0,
    on_progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    network: DiscoveryNetwork | None = None,
) -> Discovery | None:
    """The servers for ``email``, found within about ``timeout`` seconds (see the module doc).

    ``on_progress`` gets short lines for a person, always on the calling thread. Returns a
    Discovery whose ``found`` is False (and ``tried`` says why) when nothing answered, None when
    ``cancel`` was set. ConfigError when ``email`` is not an address.
    """
    started = time.monotonic()
    domain = _domain_of(email)
    email = email.strip()
    said: list[str] = []

    def report(line: str) -> None:
        said.append(line)
        if on_progress is not None:
            on_progress(line)

    provider = by_domain(domain)
    if provider is not None:
        found = _from_provider(provider, email, Source.PROVIDER)
        report(_found_line(found))
        return _discovery(email, found, [f"provider list: {domain} is {provider.name}"])
    network = network or DiscoveryNetwork()
    limit = started + timeout
    # the paths stop a little early so that what they found reaches the answer in time
    context = verifying_context(network.ca_file, domain)
    run = _Run(
        email,
        domain,
        Dns(network),
        deadline=limit - min(1.0, timeout * 0.2),
        context=context,
        guess_after=started + min(1.5, timeout * GUESS_HEAD_START),
    )
    url, well_known = autoconfig.urls(domain, email)
    paths: dict[Rank, Callable[[list[str]], Found | None]] = {
        (Source.AUTOCONFIG, 0): lambda tried: _autoconfig(run, url, Source.AUTOCONFIG, tried),
        (Source.AUTOCONFIG, 1): lambda tried: _autoconfig(
            run, well_known, Source.AUTOCONFIG, tried
        ),
        (Source.SRV, 0): lambda tried: _srv(run, tried),
        (Source.MX, 0): lambda tried: _mx(run, tried),
        (Source.GUESS, 0): lambda tried: _guess(run, tried),
    }
    names: dict[Rank, str] = {
        (Source.AUTOCONFIG, 0): f"autoconfig {_short_url(url)}",
        (Source.AUTOCONFIG, 1): f"autoconfig {_short_url(well_known)}",
        (Source.SRV, 0): f"SRV records of {domain}",
        (Source.MX, 0): f"MX {domain}",
        (Source.GUESS, 0): f"probes of {domain}",
    }
    tried: dict[Rank, list[str]] = {rank: [] for rank in paths}
    race = _race(run, paths, tried, limit=limit, cancel=cancel, report=report)
    if race is None:
        return None
    results, pending = race
    for rank in sorted(pending):
        tried[rank].append(f"{names[rank]}: still asking when time ran out")
    lines = [line for rank in sorted(tried) for line in list(tried[rank])]
    if not results:
        report(f"Nothing found for {domain}: enter the servers by hand.")
        return _discovery(email, None, lines)
    found = results[min(results)]
    if said[-1:] != [_found_line(found)]:  # another path's find was told last: say which won
        report(_found_line(found))
    return _discovery(email, found, lines)


def _race(
    run: _Run,
    paths: dict[Rank, Callable[[list[str]], Found | None]],
    tried: dict[Rank, list[str]],
    *,
    limit: float,
    cancel: threading.Event | None,
    report: Callable[[str], None],
) -> tuple[dict[Rank, Found], set[Rank]] | None:
    """Start every path; once no more trusted path is still asking, what was found and which
    paths had not finished. None when cancelled. Progress lines reach ``report`` on this thread.
    """

    def start(rank: Rank, path: Callable[[list[str]], Found | None]) -> None:
        try:
            found = path(tried[rank])
        except Exception as exc:  # a bug in one path must not end discovery
            tried[rank].append(f"{_SHORT[Source(rank[0])]}: failed ({type(exc).__name__})")
            found = None
        run.events.put(("done", (rank, found)))

    for rank, path in paths.items():
        threading.Thread(target=start, args=(rank, path), daemon=True).start()
    results: dict[Rank, Found] = {}
    pending = set(paths)
    try:
        while pending:
            best = min(results, default=None)
            if best is not None and all(rank > best for rank in pending):
                break
            if cancel is not None and cancel.is_set():
                return None
            wait = limit - time.monotonic()
            if wait <= 0:
                break
            try:
                kind, value = run.events.get(timeout=min(_POLL, wait))
            except queue.Empty:
                continue
            if kind == "progress":
                report(str(value))
                continue
            done_rank, answer = cast(tuple[Rank, Found | None], value)
            pending.discard(done_rank)
            if all(rank[0] == Source.GUESS for rank in pending):
                run.trusted_done.set()
            if answer is not None and answer.usable:
                results[done_rank] = answer
                report(_found_line(answer))
    finally:
        run.stop.set()
        run.trusted_done.set()  # a guess path still waiting for its turn ends now
    return results, pending
