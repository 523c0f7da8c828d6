"""Real servers on loopback for account discovery: dnsmasq, an HTTPS autoconfig server, fixtures.

``discovery_net`` is a DiscoveryNetwork under which ``alice@example.test`` (the mail stack's
domain) discovers the stack's Dovecot and Postfix through an autoconfig file: the hosts found are
``127.0.0.1`` and the stack's real ports, so a login test needs no network override, only the
CA (``discovery_net.ca_file`` trusts both the stack's and the autoconfig server's CA).

Test domains (all under .test, answered by dnsmasq; anything else under .test does not exist):

- example.test    autoconfig.example.test (autoconfig), mail/imap/smtp.example.test -> 127.0.0.1
                  (the stack's certificate is valid for mail.example.test only)
- wellknown.test  only https://wellknown.test/.well-known/autoconfig/mail/config-v1.1.xml
- srv.test        SRV records only
- hosted.test     MX mx1.mailhost.test; autoconfig.mailhost.test serves the file
- gsuite.test     MX aspmx.l.google.com (Gmail in the provider table)
- disagree.test   autoconfig, SRV and MX all answer, each with other hosts
- fallback.test   autoconfig serves an entity bomb; SRV records answer
- huge.test, bomb.test, wronghost.test, redirect.test: hostile or odd autoconfig servers
- slow.test       every name -> 127.0.0.1; with ``slow_net`` every port is a server that never
                  speaks
- nothing.test    no records at all
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.exception
import dns.resolver
import pytest
from fakeserver.certs import make_ca
from mailstack.stack import MailStack

from tuimail.model.discovery import DiscoveryNetwork

DNSMASQ = "/usr/sbin/dnsmasq"
LOOPBACK = "127.0.0.1"
_START_TIMEOUT = 10.0
_DNS_OFFSET, _HTTPS_OFFSET, _SILENT_OFFSET, _CLOSED_OFFSET = 53, 443, 444, 445

HTTPS_NAMES = [
    "autoconfig.example.test",
    "wellknown.test",
    "autoconfig.mailhost.test",
    "autoconfig.disagree.test",
    "autoconfig.fallback.test",
    "autoconfig.huge.test",
    "autoconfig.bomb.test",
    "autoconfig.redirect.test",
    "autoconfig.slow.test",
]
"""Names the autoconfig server's certificate is valid for (autoconfig.wronghost.test is not)."""

DNS_CONFIG = """\
local=/test/
host-record=autoconfig.example.test,127.0.0.1
host-record=mail.example.test,127.0.0.1
host-record=imap.example.test,127.0.0.1
host-record=smtp.example.test,127.0.0.1
host-record=wellknown.test,127.0.0.1
srv-host=_imaps._tcp.srv.test,imap-a.srv.test,993,10,5
srv-host=_imaps._tcp.srv.test,imap-b.srv.test,993,0,5
srv-host=_imaps._tcp.srv.test,imap-c.srv.test,993,0,50
srv-host=_imap._tcp.srv.test
srv-host=_pop3s._tcp.srv.test,pop.srv.test,995,0,0
srv-host=_submissions._tcp.srv.test,smtp.srv.test,465,0,0
srv-host=_submission._tcp.srv.test,smtp.srv.test,587,0,0
mx-host=hosted.test,mx1.mailhost.test,10
host-record=autoconfig.mailhost.test,127.0.0.1
mx-host=gsuite.test,aspmx.l.google.com,1
host-record=autoconfig.disagree.test,127.0.0.1
srv-host=_imaps._tcp.disagree.test,srv-imap.disagree.test,993,0,0
mx-host=disagree.test,aspmx.l.google.com,1
host-record=autoconfig.fallback.test,127.0.0.1
srv-host=_imaps._tcp.fallback.test,imap.fallback.test,993,0,0
srv-host=_submission._tcp.fallback.test,smtp.fallback.test,587,0,0
host-record=autoconfig.huge.test,127.0.0.1
host-record=autoconfig.bomb.test,127.0.0.1
host-record=autoconfig.wronghost.test,127.0.0.1
host-record=autoconfig.redirect.test,127.0.0.1
host-record=autoconfig.slow.test,127.0.0.1
host-record=slow.test,127.0.0.1
host-record=imap.slow.test,127.0.0.1
host-record=mail.slow.test,127.0.0.1
host-record=pop.slow.test,127.0.0.1
host-record=pop3.slow.test,127.0.0.1
host-record=smtp.slow.test,127.0.0.1
"""


def port_base() -> int:
    """This test process's port block (MAILSTACK_PORT_BASE, moved per xdist worker)."""
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    worker = int(match.group(1)) if match else 0
    return int(os.environ.get("MAILSTACK_PORT_BASE", "10000")) + 1000 * worker


def server_xml(kind: str, host: str, port: int, socket_type: str, user: str) -> str:
    """One <incomingServer> (``kind`` imap or pop3) or <outgoingServer> (smtp) element."""
    tag = "outgoingServer" if kind == "smtp" else "incomingServer"
    return (
        f'<{tag} type="{kind}"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket_type}</socketType><username>{user}</username>"
        f"<authentication>password-cleartext</authentication></{tag}>"
    )


def config_xml(*servers: str, name: str = "Test Mail") -> bytes:
    """A config-v1.1.xml file offering ``servers`` (made with server_xml)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">'
        f'<emailProvider id="test"><displayName>{name}</displayName>{"".join(servers)}'
        "</emailProvider></clientConfig>\n"
    ).encode()


ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<clientConfig version="1.1"><emailProvider id="x"><displayName>&lol9;</displayName>'
    b"</emailProvider></clientConfig>\n"
)
"""The "billion laughs": nine levels of ten entities each, 10^9 "lol"s if expanded."""


def _dns_ready(port: int) -> bool:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [LOOPBACK]
    resolver.port = port
    try:
        resolver.resolve("autoconfig.example.test", "A", lifetime=0.2)
    except dns.exception.DNSException:
        return False
    return True


@contextmanager
def running_dnsmasq(dir: Path, port: int, config: str) -> Iterator[int]:
    """dnsmasq in the foreground on 127.0.0.1:``port`` answering only from ``config``."""
    if not Path(DNSMASQ).exists():
        pytest.fail(f"{DNSMASQ} is missing: run `bash tests/mailstack/mailstack.sh install`")
    conf = dir / "dnsmasq.conf"
    conf.write_text(config, encoding="utf-8")
    log = (dir / "dnsmasq.log").open("wb")
    process = subprocess.Popen(
        [
            DNSMASQ,
            "--keep-in-foreground",
            f"--conf-file={conf}",
            f"--port={port}",
            f"--listen-address={LOOPBACK}",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--pid-file=",
            "--log-facility=-",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        give_up = time.monotonic() + _START_TIMEOUT
        while not _dns_ready(port):  # each try waits up to 0.2 s for an answer
            if process.poll() is not None or time.monotonic() > give_up:
                text = (dir / "dnsmasq.log").read_text(errors="replace")
                pytest.fail(f"dnsmasq did not start on port {port}:\n{text}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


Route = Callable[[BaseHTTPRequestHandler], None]


def send(body: bytes, status: int = 200, *, length: bool = True) -> Route:
    """A route that answers ``body`` (without Content-Length when ``length`` is False)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml")
        if length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A route that streams 8 MiB of XML comment without a Content-Length."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/xml")
    handler.end_headers()
    handler.wfile.write(b"<clientConfig><!--")
    chunk = b"x" * 65536
    for _ in range(128):
        handler.wfile.write(chunk)


def redirect(location: str) -> Route:
    """A route that answers 302 to ``location``."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


@dataclass
class AutoconfigServer:
    """An HTTPS server on loopback serving routes by (host, path); it records every request."""

    port: int
    ca_file: Path
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(Host, path with query) of every request, in order."""


def _handler_class(server: AutoconfigServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            server.requests.append((host, self.path))
            route = server.routes.get((host, self.path.partition("?")[0]))
            try:
                if route is None:
                    send(b"not here\n", 404)(self)
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client stopped reading: what a refused answer looks like

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _QuietHTTPSServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that refused the certificate is what some tests are about: no traceback."""


@contextmanager
def running_autoconfig_server(dir: Path, port: int) -> Iterator[AutoconfigServer]:
    """The HTTPS server with a certificate from its own throw-away CA for HTTPS_NAMES."""
    ca = make_ca(dir, "discovery test CA")
    cert, key = ca.issue(dir, HTTPS_NAMES)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = AutoconfigServer(port, ca.cert_path)
    httpd = _QuietHTTPSServer((LOOPBACK, port), _handler_class(state))
    httpd.socket = context.wrap_socket(
        httpd.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@contextmanager
def silent_server(port: int) -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(256)
    try:
        yield port
    finally:
        sock.close()


@contextmanager
def closed_port(port: int) -> Iterator[int]:
    """A port held (bound, not listening) so that connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, port))
    try:
        yield port
    finally:
        sock.close()


@dataclass(frozen=True)
class DiscoveryWorld:
    """Everything the discovery tests share."""

    dns_port: int
    https: AutoconfigServer
    ca_file: Path
    """The autoconfig server's CA and the mail stack's, in one file."""
    silent_port: int
    closed_port: int

    def network(self, ports: dict[int, int]) -> DiscoveryNetwork:
        """A DiscoveryNetwork with the test DNS and CAs and this port map."""
        return DiscoveryNetwork(
            nameserver=LOOPBACK,
            nameserver_port=self.dns_port,
            ca_file=str(self.ca_file),
            ports=ports,
        )


@contextmanager
def discovery_servers(dir: Path, stack: MailStack, base: int) -> Iterator[DiscoveryWorld]:
    """dnsmasq, the autoconfig HTTPS server, a silent port and a closed port, from ``base`` on."""
    bundle = dir / "ca-bundle.pem"
    with (
        running_dnsmasq(dir, base + _DNS_OFFSET, DNS_CONFIG) as dns_port,
        running_autoconfig_server(dir, base + _HTTPS_OFFSET) as https,
        silent_server(base + _SILENT_OFFSET) as silent,
        closed_port(base + _CLOSED_OFFSET) as closed,
    ):
        with bundle.open("wb") as out:
            for source in (https.ca_file, stack.ca_file):
                with source.open("rb") as pem:
                    shutil.copyfileobj(pem, out)
        https.routes[("autoconfig.example.test", "/mail/config-v1.1.xml")] = send(
            stack_config(stack)
        )
        yield DiscoveryWorld(dns_port, https, bundle, silent, closed)


@pytest.fixture(scope="session")
def discovery_world(
    tmp_path_factory: pytest.TempPathFactory, mailstack: MailStack
) -> Iterator[DiscoveryWorld]:
    """The discovery servers beside the session's mail stack."""
    with discovery_servers(tmp_path_factory.mktemp("discovery"), mailstack, port_base()) as world:
        yield world


def stack_config(stack: MailStack) -> bytes:
    """The autoconfig file of the mail stack: 127.0.0.1 and its real ports."""
    user = "%EMAILADDRESS%"
    return config_xml(
        server_xml("imap", stack.host, stack.imaps, "SSL", user),
        server_xml("imap", stack.host, stack.imap, "STARTTLS", user),
        server_xml("pop3", stack.host, stack.pop3s, "SSL", user),
        server_xml("smtp", stack.host, stack.smtps, "SSL", user),
        server_xml("smtp", stack.host, stack.submission, "STARTTLS", user),
        name="tuimail test stack",
    )


@pytest.fixture(scope="session")
def discovery_net(discovery_world: DiscoveryWorld) -> DiscoveryNetwork:
    """Under this network ``alice@example.test`` discovers the mail stack (see the module doc)."""
    return discovery_world.network({443: discovery_world.https.port})
