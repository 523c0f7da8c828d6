"""Discovery's pieces without the network: autoconfig parsing, SRV order, the provider table."""

from __future__ import annotations

import time

import pytest
from helpers.discovery import ENTITY_BOMB, config_xml, server_xml

from tuimail.backends import autoconfig
from tuimail.backends.dns import SrvTarget, srv_order, valid_host
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import ServerChoice, Source
from tuimail.model.errors import ConfigError
from tuimail.services import providers
from tuimail.services.discover import discover, registrable_domain

IMAP, POP3, SMTP = Protocol.IMAP, Protocol.POP3, Protocol.SMTP
TLS, STARTTLS = Security.TLS, Security.STARTTLS
EMAIL = "ann.lee@example.org"


def test_placeholders_are_filled() -> None:
    data = config_xml(
        server_xml("imap", "imap.%EMAILDOMAIN%", 993, "SSL", "%EMAILLOCALPART%"),
        server_xml("smtp", "smtp.example.org", 587, "STARTTLS", "%EMAILADDRESS%"),
    )
    config = autoconfig.parse(data, EMAIL)
    assert config.incoming == (ServerChoice(IMAP, "imap.example.org", 993, TLS, "ann.lee"),)
    assert config.outgoing == (ServerChoice(SMTP, "smtp.example.org", 587, STARTTLS, EMAIL),)
    assert config.provider == "Test Mail"


def test_order_imap_first_then_implicit_tls_and_plaintext_left_out() -> None:
    data = config_xml(
        server_xml("pop3", "pop.example.org", 995, "SSL", "u"),
        server_xml("imap", "imap.example.org", 143, "STARTTLS", "u"),
        server_xml("imap", "imap.example.org", 143, "plain", "u"),
        server_xml("imap", "imap.example.org", 993, "SSL", "u"),
        server_xml("smtp", "smtp.example.org", 25, "plain", "u"),
        server_xml("smtp", "smtp.example.org", 587, "STARTTLS", "u"),
        server_xml("smtp", "smtp.example.org", 465, "SSL", "u"),
    )
    config = autoconfig.parse(data, EMAIL)
    assert [(s.protocol, s.port) for s in config.incoming] == [
        (IMAP, 993),
        (IMAP, 143),
        (POP3, 995),
    ]
    assert [s.port for s in config.outgoing] == [465, 587]


def test_oauth2_only_servers_are_reported_not_proposed() -> None:
    data = (
        b'<clientConfig version="1.1"><emailProvider id="x">'
        b'<incomingServer type="imap"><hostname>imap.x.org</hostname><port>993</port>'
        b"<socketType>SSL</socketType><authentication>OAuth2</authentication>"
        b"</incomingServer></emailProvider></clientConfig>"
    )
    config = autoconfig.parse(data, EMAIL)
    assert config.incoming == ()
    assert config.oauth2_only


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (ENTITY_BOMB, "declares a DTD"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<clientConfig>&e;</clientConfig>",
            "declares a DTD",
        ),
        (b"<clientConfig>&undefined;</clientConfig>", "not well-formed"),
        (b"<clientConfig><emailProvider>", "not well-formed"),
        (b"<html><body>Hello</body></html>", "not an autoconfig file"),
        (config_xml(server_xml("imap", "bad host!", 993, "SSL", "u")), "no usable incoming"),
        (config_xml(server_xml("imap", "imap.x.org", 99999, "SSL", "u")), "no usable incoming"),
        (config_xml(server_xml("imap", "imap.x.org", 143, "plain", "u")), "no usable incoming"),
    ],
)
def test_unusable_files_are_refused(data: bytes, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(autoconfig.AutoconfigError, match=reason):
        autoconfig.parse(data, EMAIL)
    assert time.monotonic() - started < 1.0  # refused before anything is expanded


def test_control_characters_in_names_are_made_inert() -> None:
    # XML 1.0 forbids C0 controls such as ESC; C1 controls (CSI) and bidi overrides get through
    data = config_xml(
        server_xml("imap", "imap.x.org", 993, "SSL", "u&#x9b;2J\u202e"), name="Evil&#x9b;31m"
    )
    config = autoconfig.parse(data, EMAIL)
    assert "\x9b" not in (config.provider or "")
    assert "\x9b" not in config.incoming[0].username
    assert "\u202e" not in config.incoming[0].username


def test_urls() -> None:
    assert autoconfig.urls("example.org", "a+b@example.org") == (
        "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb%40example.org",
        "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml",
    )


def test_srv_order_is_priority_then_weight() -> None:
    records = [
        SrvTarget("c", 993, 10, 100),
        SrvTarget("b", 993, 0, 1),
        SrvTarget("a", 993, 0, 60),
    ]
    assert [r.host for r in srv_order(records)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("imap.example.org", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("-bad.example.org", False),
        ("bad_.example.org", False),
        ("a..b", False),
        ("", False),
        ("x" * 64 + ".org", False),
        ("evil.org\x1b[2J", False),
    ],
)
def test_valid_host(name: str, valid: bool) -> None:
    assert valid_host(name) is valid


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("aspmx.l.google.com", "google.com"),
        ("mx1.mailhost.test", "mailhost.test"),
        ("mx.example.co.uk", "example.co.uk"),
        ("mail.protection.outlook.com", "outlook.com"),
    ],
)
def test_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_provider_table_answers_without_the_network() -> None:
    lines: list[str] = []
    found = discover("someone@GMAIL.com", on_progress=lines.append)
    assert found is not None
    assert found.source is Source.PROVIDER
    assert found.provider == "Gmail"
    assert found.incoming[0] == ServerChoice(IMAP, "imap.gmail.com", 993, TLS, "someone@GMAIL.com")
    assert found.needs_app_password
    assert found.help_url
    assert lines == [
        "Found IMAP at imap.gmail.com:993 and SMTP at smtp.gmail.com:465 (provider list)"
    ]


def test_icloud_logs_in_to_imap_with_the_local_part() -> None:
    found = discover("jo@icloud.com")
    assert found is not None
    assert found.incoming == (ServerChoice(IMAP, "imap.mail.me.com", 993, TLS, "jo"),)
    assert found.outgoing == (
        ServerChoice(SMTP, "smtp.mail.me.com", 587, STARTTLS, "jo@icloud.com"),
    )


def test_outlook_is_oauth2_only() -> None:
    found = discover("jo@hotmail.co.uk")
    assert found is not None
    assert found.provider == "Outlook.com (Microsoft)"
    assert found.oauth2_only


def test_the_mx_of_a_provider_is_recognised() -> None:
    assert providers.by_mx("aspmx.l.google.com.") is providers.by_domain("gmail.com")
    assert providers.by_mx("in1-smtp.messagingengine.com") is providers.by_domain("fastmail.com")
    assert providers.by_mx("example-com.mail.protection.outlook.com") is providers.by_domain(
        "outlook.com"
    )
    assert providers.by_mx("mx.example.org") is None
    assert providers.by_mx("notgoogle.com") is None


def test_the_table_proposes_no_plaintext_and_says_what_it_needs() -> None:
    for provider in providers.PROVIDERS:
        for server in provider.servers:
            assert server.security is not Security.NONE, provider.name
            assert valid_host(server.host), provider.name
        for domain in provider.domains:
            assert providers.by_domain(domain) is provider, domain
        if provider.needs_app_password or provider.oauth2_only or not provider.servers:
            assert provider.notes, provider.name


@pytest.mark.parametrize(
    "email", ["", "no-at-sign", "@example.org", "a@", "a@localhost", "a@ex ample.org"]
)
def test_not_an_address(email: str) -> None:
    with pytest.raises(ConfigError):
        discover(email)
