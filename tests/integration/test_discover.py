"""Account discovery end to end: dnsmasq, an HTTPS autoconfig server, Dovecot and Postfix."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from helpers.discovery import (
    ENTITY_BOMB,
    DiscoveryWorld,
    config_xml,
    endless,
    redirect,
    send,
    server_xml,
)
from mailstack.stack import MailStack

from tuimail.backends import autoconfig
from tuimail.backends.dns import Dns
from tuimail.backends.imap.connection import probe as imap_probe
from tuimail.backends.pop3 import probe as pop3_probe
from tuimail.backends.smtp import probe as smtp_probe
from tuimail.model.account import Endpoint, Protocol, Role, Security
from tuimail.model.discovery import DiscoveryNetwork, ServerChoice, Source
from tuimail.services.discover import discover

pytestmark = pytest.mark.mailstack

IMAP, POP3, SMTP = Protocol.IMAP, Protocol.POP3, Protocol.SMTP
TLS, STARTTLS = Security.TLS, Security.STARTTLS
XML_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN = "/.well-known/autoconfig/mail/config-v1.1.xml"


def guess_net(world: DiscoveryWorld, stack: MailStack) -> DiscoveryNetwork:
    """No autoconfig (443 refused); the mail ports lead to the stack."""
    return world.network(
        {
            443: world.closed_port,
            993: stack.imaps,
            143: stack.imap,
            995: stack.pop3s,
            110: stack.pop3,
            465: stack.smtps,
            587: stack.submission,
        }
    )


def test_autoconfig_finds_the_mail_stack(
    discovery_net: DiscoveryNetwork, discovery_world: DiscoveryWorld, mailstack: MailStack
) -> None:
    lines: list[str] = []
    found = discover(mailstack.address("alice"), network=discovery_net, on_progress=lines.append)
    assert found is not None
    assert found.source is Source.AUTOCONFIG
    alice = "alice@example.test"
    assert found.incoming == (
        ServerChoice(IMAP, "127.0.0.1", mailstack.imaps, TLS, alice),
        ServerChoice(IMAP, "127.0.0.1", mailstack.imap, STARTTLS, alice),
        ServerChoice(POP3, "127.0.0.1", mailstack.pop3s, TLS, alice),
    )
    assert found.outgoing == (
        ServerChoice(SMTP, "127.0.0.1", mailstack.smtps, TLS, alice),
        ServerChoice(SMTP, "127.0.0.1", mailstack.submission, STARTTLS, alice),
    )
    assert found.provider == "tuimail test stack"
    assert f"Found IMAP at 127.0.0.1:{mailstack.imaps} and SMTP at " in lines[-1]
    assert any(line.startswith("Fetching https://autoconfig.example.test/") for line in lines)
    assert (
        "autoconfig.example.test",
        f"{XML_PATH}?emailaddress=alice%40example.test",
    ) in discovery_world.https.requests


def test_what_discovery_net_finds_logs_in(
    discovery_net: DiscoveryNetwork, mailstack: MailStack
) -> None:
    """The wizard's starting point: every server found accepts alice's password over TLS."""
    found = discover(mailstack.address("alice"), network=discovery_net)
    assert found is not None
    probes = {IMAP: imap_probe, POP3: pop3_probe, SMTP: smtp_probe}
    for role, choices in ((Role.INCOMING, found.incoming), (Role.OUTGOING, found.outgoing)):
        for choice in choices:
            endpoint = Endpoint(
                choice.protocol,
                choice.host,
                choice.port,
                choice.security,
                choice.username,
                ca_file=discovery_net.ca_file,
                timeout=30,
            )
            report = probes[choice.protocol]("alice", role, endpoint, mailstack.password("alice"))
            assert report.ok, (choice, report.error)
            assert report.tls is not None


def test_well_known_autoconfig(discovery_world: DiscoveryWorld) -> None:
    discovery_world.https.routes[("wellknown.test", WELL_KNOWN)] = send(
        config_xml(
            server_xml("imap", "imap.%EMAILDOMAIN%", 993, "SSL", "%EMAILLOCALPART%"),
            server_xml("smtp", "smtp.wellknown.test", 465, "SSL", "%EMAILADDRESS%"),
        )
    )
    net = discovery_world.network({443: discovery_world.https.port})
    found = discover("bob@wellknown.test", network=net)
    assert found is not None
    assert found.source is Source.AUTOCONFIG
    assert found.incoming == (ServerChoice(IMAP, "imap.wellknown.test", 993, TLS, "bob"),)
    assert found.outgoing == (
        ServerChoice(SMTP, "smtp.wellknown.test", 465, TLS, "bob@wellknown.test"),
    )


def test_srv_records_in_priority_then_weight_order(discovery_world: DiscoveryWorld) -> None:
    net = discovery_world.network({443: discovery_world.closed_port})
    found = discover("carol@srv.test", network=net)
    assert found is not None
    assert found.source is Source.SRV
    who = "carol@srv.test"
    assert found.incoming == (
        ServerChoice(IMAP, "imap-c.srv.test", 993, TLS, who),  # priority 0, weight 50
        ServerChoice(IMAP, "imap-b.srv.test", 993, TLS, who),  # priority 0, weight 5
        ServerChoice(IMAP, "imap-a.srv.test", 993, TLS, who),  # priority 10
        ServerChoice(POP3, "pop.srv.test", 995, TLS, who),
    )
    assert found.outgoing == (
        ServerChoice(SMTP, "smtp.srv.test", 465, TLS, who),
        ServerChoice(SMTP, "smtp.srv.test", 587, STARTTLS, who),
    )
    assert 'SRV _imap._tcp.srv.test: not offered (target ".")' in found.tried


def test_mx_host_autoconfig_for_a_hosted_domain(discovery_world: DiscoveryWorld) -> None:
    discovery_world.https.routes[("autoconfig.mailhost.test", XML_PATH)] = send(
        config_xml(
            server_xml("imap", "imap.mailhost.test", 993, "SSL", "%EMAILADDRESS%"),
            server_xml("smtp", "smtp.mailhost.test", 587, "STARTTLS", "%EMAILADDRESS%"),
            name="Mailhost",
        )
    )
    net = discovery_world.network({443: discovery_world.https.port})
    found = discover("dave@hosted.test", network=net)
    assert found is not None
    assert found.source is Source.MX
    assert found.provider == "Mailhost"
    assert found.incoming == (
        ServerChoice(IMAP, "imap.mailhost.test", 993, TLS, "dave@hosted.test"),
    )
    assert "MX hosted.test: mx1.mailhost.test, asking mailhost.test" in found.tried


def test_mx_host_of_a_known_provider(discovery_world: DiscoveryWorld) -> None:
    net = discovery_world.network({443: discovery_world.closed_port})
    found = discover("erin@gsuite.test", network=net)
    assert found is not None
    assert found.source is Source.MX
    assert found.provider == "Gmail"
    assert found.incoming[0] == ServerChoice(IMAP, "imap.gmail.com", 993, TLS, "erin@gsuite.test")
    assert found.needs_app_password
    assert "gsuite.test's mail is handled by Gmail (its MX is aspmx.l.google.com)." in found.notes


def test_guessed_names_probed_on_the_real_servers(
    discovery_world: DiscoveryWorld, mailstack: MailStack
) -> None:
    found = discover("alice@example.test", network=guess_net(discovery_world, mailstack))
    assert found is not None
    assert found.source is Source.GUESS
    who = "alice@example.test"
    # only mail.example.test is in the stack's certificate: imap. and smtp. answer but fail TLS
    assert found.incoming == (
        ServerChoice(IMAP, "mail.example.test", 993, TLS, who),
        ServerChoice(IMAP, "mail.example.test", 143, STARTTLS, who),
        ServerChoice(POP3, "mail.example.test", 995, TLS, who),
        ServerChoice(POP3, "mail.example.test", 110, STARTTLS, who),
    )
    assert found.outgoing == (
        ServerChoice(SMTP, "mail.example.test", 465, TLS, who),
        ServerChoice(SMTP, "mail.example.test", 587, STARTTLS, who),
    )
    assert "probe IMAP imap.example.test:993 (tls): certificate name mismatch" in found.tried
    assert "probe SMTP smtp.example.test:587 (starttls): certificate name mismatch" in found.tried
    assert "probe pop.example.test: no such host" in found.tried


def test_a_guessed_port_that_speaks_another_protocol_is_not_proposed(
    discovery_world: DiscoveryWorld, mailstack: MailStack
) -> None:
    ports = {
        443: discovery_world.closed_port,
        993: mailstack.pop3s,  # POP3 where IMAP is expected
        143: discovery_world.closed_port,
        995: mailstack.imaps,  # and the other way round
        110: discovery_world.closed_port,
        465: mailstack.smtps,
        587: discovery_world.closed_port,
    }
    found = discover("alice@example.test", network=discovery_world.network(ports))
    assert found is not None
    assert not found.found
    assert "probe IMAP mail.example.test:993 (tls): not imap" in found.tried
    assert "probe POP3 mail.example.test:995 (tls): not pop3" in found.tried
    assert "probe IMAP mail.example.test:143 (starttls): connection refused" in found.tried


def test_when_paths_disagree_the_most_trusted_wins(discovery_world: DiscoveryWorld) -> None:
    # the autoconfig file is served only once SRV and MX have found their (other) servers
    others_found = threading.Event()
    seen: set[str] = set()

    def progress(line: str) -> None:
        if line.startswith("Found ") and line.endswith(("(SRV)", "(MX)")):
            seen.add(line.rpartition("(")[2])
        if len(seen) == 2:
            others_found.set()

    late_file = send(config_xml(server_xml("imap", "ac-imap.disagree.test", 993, "SSL", "x")))

    def late(handler: BaseHTTPRequestHandler) -> None:
        others_found.wait(timeout=8)
        late_file(handler)

    discovery_world.https.routes[("autoconfig.disagree.test", XML_PATH)] = late
    net = discovery_world.network({443: discovery_world.https.port})
    found = discover("frank@disagree.test", network=net, on_progress=progress)
    assert others_found.is_set()  # SRV and MX had answered before the autoconfig file came
    assert found is not None
    assert found.source is Source.AUTOCONFIG
    assert found.incoming == (ServerChoice(IMAP, "ac-imap.disagree.test", 993, TLS, "x"),)
    assert "SRV _imaps._tcp.disagree.test: srv-imap.disagree.test:993" in found.tried
    assert "MX disagree.test: aspmx.l.google.com, run by Gmail" in found.tried


def test_a_less_trusted_path_is_used_when_a_more_trusted_one_fails(
    discovery_world: DiscoveryWorld,
) -> None:
    discovery_world.https.routes[("autoconfig.fallback.test", XML_PATH)] = send(ENTITY_BOMB)
    net = discovery_world.network({443: discovery_world.https.port})
    found = discover("gina@fallback.test", network=net)
    assert found is not None
    assert found.source is Source.SRV
    assert found.incoming == (
        ServerChoice(IMAP, "imap.fallback.test", 993, TLS, "gina@fallback.test"),
    )
    assert (
        "autoconfig https://autoconfig.fallback.test/mail/config-v1.1.xml: the file declares a "
        "DTD or entities (refused)"
    ) in found.tried


def test_nothing_answers(discovery_world: DiscoveryWorld) -> None:
    net = discovery_world.network({443: discovery_world.closed_port})
    started = time.monotonic()
    found = discover("hal@nothing.test", timeout=5.0, network=net)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0 + 0.5
    assert found is not None
    assert not found.found
    assert found.incoming == found.outgoing == ()
    assert "MX nothing.test: no such name" in found.tried
    assert "probe imap.nothing.test: no such host" in found.tried
    assert "SRV _submission._tcp.nothing.test: no such name" in found.tried


def test_servers_that_never_answer_do_not_hold_discovery_past_its_limit(
    discovery_world: DiscoveryWorld,
) -> None:
    silent = discovery_world.silent_port
    net = discovery_world.network(dict.fromkeys((443, 993, 143, 995, 110, 465, 587), silent))
    lines: list[str] = []
    started = time.monotonic()
    found = discover("ivy@slow.test", timeout=2.0, network=net, on_progress=lines.append)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 0.5
    assert found is not None
    assert not found.found
    assert lines[-1] == "Nothing found for slow.test: enter the servers by hand."
    # what was asked is listed, whether it gave up by itself or was still waiting at the limit
    assert any(
        line.startswith("autoconfig https://autoconfig.slow.test/") and "time" in line
        for line in found.tried
    ), found.tried
    assert any(
        (line.startswith("probe IMAP mail.slow.test:993") and "time" in line)
        or line == "probes of slow.test: still asking when time ran out"
        for line in found.tried
    ), found.tried
    assert all(":" in line for line in found.tried)  # every line says what came of it


def test_cancel_returns_none_at_once(discovery_world: DiscoveryWorld) -> None:
    silent = discovery_world.silent_port
    net = discovery_world.network(dict.fromkeys((443, 993, 143, 995, 110, 465, 587), silent))
    cancel = threading.Event()
    cancel.set()
    started = time.monotonic()
    assert discover("ivy@slow.test", timeout=10.0, network=net, cancel=cancel) is None
    assert time.monotonic() - started < 1.0


class TestHostileAutoconfig:
    """A file from whoever answers for the domain is refused cleanly when it misbehaves."""

    def fetch(self, world: DiscoveryWorld, host: str, path: str = XML_PATH) -> bytes:
        net = world.network({443: world.https.port})
        deadline = time.monotonic() + 5
        return autoconfig.fetch(f"https://{host}{path}", Dns(net), deadline)

    def test_too_large_by_its_length(self, discovery_world: DiscoveryWorld) -> None:
        body = config_xml() + b"<!--" + b"x" * (autoconfig.MAX_BYTES + 1) + b"-->"
        discovery_world.https.routes[("autoconfig.huge.test", XML_PATH)] = send(body)
        with pytest.raises(autoconfig.AutoconfigError, match="too large"):
            self.fetch(discovery_world, "autoconfig.huge.test")

    def test_too_large_without_a_length(self, discovery_world: DiscoveryWorld) -> None:
        discovery_world.https.routes[("autoconfig.huge.test", "/endless")] = endless
        with pytest.raises(autoconfig.AutoconfigError, match="too large"):
            self.fetch(discovery_world, "autoconfig.huge.test", "/endless")

    def test_entity_bomb(self, discovery_world: DiscoveryWorld) -> None:
        discovery_world.https.routes[("autoconfig.bomb.test", XML_PATH)] = send(ENTITY_BOMB)
        net = discovery_world.network({443: discovery_world.https.port})
        found = discover("jo@bomb.test", network=net, timeout=3.0)
        assert found is not None
        assert not found.found
        assert (
            "autoconfig https://autoconfig.bomb.test/mail/config-v1.1.xml: the file declares a "
            "DTD or entities (refused)"
        ) in found.tried

    def test_certificate_for_another_host(self, discovery_world: DiscoveryWorld) -> None:
        discovery_world.https.routes[("autoconfig.wronghost.test", XML_PATH)] = send(
            config_xml(server_xml("imap", "evil.test", 993, "SSL", "x"))
        )
        with pytest.raises(autoconfig.AutoconfigError, match="certificate not valid for"):
            self.fetch(discovery_world, "autoconfig.wronghost.test")
        assert ("autoconfig.wronghost.test", XML_PATH) not in discovery_world.https.requests

    def test_certificate_of_an_unknown_ca(self, discovery_world: DiscoveryWorld) -> None:
        net = DiscoveryNetwork(
            nameserver="127.0.0.1",
            nameserver_port=discovery_world.dns_port,
            ports={443: discovery_world.https.port},
        )  # no ca_file: the test CA is not trusted
        with pytest.raises(autoconfig.AutoconfigError, match="certificate not trusted"):
            autoconfig.fetch(
                "https://autoconfig.example.test/mail/config-v1.1.xml",
                Dns(net),
                time.monotonic() + 5,
            )

    def test_redirect_to_https_is_followed_and_to_http_refused(
        self, discovery_world: DiscoveryWorld
    ) -> None:
        routes = discovery_world.https.routes
        target = config_xml(server_xml("imap", "imap.r.test", 993, "SSL", "x"))
        routes[("autoconfig.redirect.test", "/to-https")] = redirect("/final")
        routes[("autoconfig.redirect.test", "/final")] = send(target)
        routes[("autoconfig.redirect.test", "/to-http")] = redirect(
            "http://autoconfig.redirect.test/final"
        )
        assert self.fetch(discovery_world, "autoconfig.redirect.test", "/to-https") == target
        with pytest.raises(autoconfig.AutoconfigError, match="not HTTPS"):
            self.fetch(discovery_world, "autoconfig.redirect.test", "/to-http")
