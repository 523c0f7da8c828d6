"""The TLS policy of IMAP, POP3 and SMTP against a scripted fake server that records every byte."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakeserver.certs import CA, CertFiles, fingerprint_of_file, make_ca, self_signed
from fakeserver.server import (
    Conn,
    ScriptedServer,
    closed_port,
    imap_script,
    mail_script,
    secret_in,
    silent,
)

from tuimail.backends import pop3, smtp
from tuimail.backends.imap import connection as imap
from tuimail.config.settings import normalise_fingerprint
from tuimail.model.account import Endpoint, Protocol, Role, Security
from tuimail.model.errors import AuthError, ConnectError, TlsError
from tuimail.model.report import ServerReport

CANARY = "canary-7d1f0c2e9b-pw"
"""The password every test offers; it must only ever appear where the test expects it."""
USER = "alice"
HOST = "127.0.0.1"
TIMEOUT = 2.0
SILENT_TIMEOUT = 1.0
PROTOCOLS = [Protocol.IMAP, Protocol.POP3, Protocol.SMTP]
ENCRYPTED = [Security.TLS, Security.STARTTLS]

# the commands that would carry credentials, as the client sends them
LOGIN_COMMANDS: dict[Protocol, tuple[bytes, ...]] = {
    Protocol.IMAP: (b" LOGIN ", b" AUTHENTICATE "),
    Protocol.POP3: (b"USER ", b"PASS ", b"APOP ", b"AUTH "),
    Protocol.SMTP: (b"AUTH ",),
}
PROBES: dict[Protocol, Callable[[str, Role, Endpoint, str], ServerReport]] = {
    Protocol.IMAP: imap.probe,
    Protocol.POP3: pop3.probe,
    Protocol.SMTP: smtp.probe,
}


@pytest.fixture(autouse=True)
def _no_server_thread_left() -> Iterator[None]:
    """Every fake server this module starts is gone, threads and all, when its test ends."""
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("fakeserver")]
    assert left == []


# -- certificates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A test CA and the server certificates the tests present."""

    ca: CA
    server: CertFiles
    """For 127.0.0.1 and localhost, signed by ``ca``."""
    other_name: CertFiles
    """For other.example only, signed by ``ca``."""
    expired: CertFiles
    """For 127.0.0.1, signed by ``ca``, expired yesterday."""
    self_signed: CertFiles
    other_self_signed: CertFiles


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates made once for the module."""
    path = tmp_path_factory.mktemp("pki")
    ca = make_ca(path, "tuimail test CA")
    return Pki(
        ca=ca,
        server=ca.issue(path, [HOST, "localhost"]),
        other_name=ca.issue(path, ["other.example"]),
        expired=ca.issue(path, [HOST], expired=True),
        self_signed=self_signed(path, HOST),
        other_self_signed=self_signed(path, HOST),
    )


@pytest.mark.parametrize("name", ["server", "self_signed"])
def test_certificates_pass_strict_default_verification(pki: Pki, name: str) -> None:
    """The fixtures themselves: Python's default context in X509 strict mode accepts them.

    The self-signed certificate is checked by trusting it as its own anchor.
    """
    files: CertFiles = getattr(pki, name)
    trusted = pki.ca.cert_path if name == "server" else files.cert

    def script(conn: Conn) -> None:
        conn.start_tls(*files)
        conn.send_line("hello over TLS")
        conn.wait_closed()

    context = ssl.create_default_context(cafile=str(trusted))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with (
        ScriptedServer(script) as srv,
        socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        assert tls.recv(100) == b"hello over TLS\r\n"
        assert tls.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(files.cert.read_text())
    assert srv.errors == []


# -- helpers --------------------------------------------------------------------------------------


def endpoint(
    protocol: Protocol,
    port: int,
    security: Security,
    *,
    host: str = HOST,
    ca_file: Path | None = None,
    tls_fingerprint: str | None = None,
    allow_plaintext: bool = False,
    timeout: float = TIMEOUT,
) -> Endpoint:
    """An endpoint as the settings would build it, pointing at the fake server."""
    return Endpoint(
        protocol=protocol,
        host=host,
        port=port,
        security=security,
        username=USER,
        ca_file=str(ca_file) if ca_file else None,
        tls_fingerprint=tls_fingerprint,
        allow_plaintext=allow_plaintext,
        timeout=timeout,
    )


def connect(ep: Endpoint) -> Any:
    """The protocol's ``connect``; the session it returns."""
    if ep.protocol is Protocol.IMAP:
        return imap.connect(ep)
    if ep.protocol is Protocol.POP3:
        return pop3.connect(ep)
    return smtp.connect(ep)


def login(ep: Endpoint, session: Any, password: str) -> None:
    """The protocol's ``login`` on a session from ``connect``."""
    if ep.protocol is Protocol.IMAP:
        imap.login(session, ep, password)
    elif ep.protocol is Protocol.POP3:
        pop3.login(session, ep, password)
    else:
        smtp.login(session.smtp, ep, password)


def _close(protocol: Protocol, session: Any) -> None:
    """Drop the connection without sending anything more (no LOGOUT, QUIT)."""
    with contextlib.suppress(Exception):
        if protocol is Protocol.IMAP:
            session.shutdown()
        elif protocol is Protocol.POP3:
            session.close()
        else:
            session.smtp.close()


@contextlib.contextmanager
def connected(ep: Endpoint) -> Iterator[Any]:
    """A connected session, closed at the end."""
    session = connect(ep)
    try:
        yield session
    finally:
        _close(ep.protocol, session)


def connect_and_login(ep: Endpoint, password: str) -> None:
    """What a sync does first: connect, secure, log in; then hang up."""
    with connected(ep) as session:
        login(ep, session, password)


def assert_no_canary(srv: ScriptedServer) -> None:
    """The password is nowhere in what the server received, raw or decrypted, plain or base64."""
    assert secret_in(srv.captured, CANARY) == [], srv.captured


def assert_never_mentions_canary(error: BaseException | None) -> None:
    """An error shown to a person never carries the password."""
    assert error is not None
    for text in (str(error), getattr(error, "message", ""), getattr(error, "title", "")):
        assert secret_in(text.encode(), CANARY) == [], text


# -- the secret finder is trustworthy -------------------------------------------------------------


def test_secret_in_finds_plain_and_base64_at_every_offset() -> None:
    assert secret_in(b"PASS " + CANARY.encode(), CANARY) == ["plain"]
    for prefix in (b"", b"\0", b"\0alice\0", b"\0al\0"):
        encoded = base64.b64encode(prefix + CANARY.encode() + b"tail")
        assert secret_in(b"AUTH PLAIN " + encoded, CANARY) == ["base64"], prefix
    assert secret_in(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0other-password"), CANARY) == []


# -- PREAUTH --------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.NONE])
def test_imap_preauth_on_plain_connection_is_refused(pki: Pki, security: Security) -> None:
    script = imap_script(
        cert=pki.server,
        greeting="* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] already logged in",
        capabilities=["IMAP4rev1", "STARTTLS"],
    )
    with ScriptedServer(script) as srv:
        ep = endpoint(
            Protocol.IMAP, srv.port, security, ca_file=pki.ca.cert_path, allow_plaintext=True
        )
        with pytest.raises(TlsError, match="PREAUTH") as info:
            connect_and_login(ep, CANARY)
        report = imap.probe("work", Role.INCOMING, ep, CANARY)
    assert info.value.title == "Unencrypted session refused"
    assert not report.ok
    assert isinstance(report.error, TlsError)
    for command in (b" LOGIN ", b" SELECT ", b" EXAMINE ", b" STARTTLS"):
        assert command not in srv.captured.upper()
    assert_no_canary(srv)


# -- STARTTLS missing or refused ------------------------------------------------------------------

NOT_OFFERED = {
    Protocol.IMAP: "does not offer STARTTLS",
    Protocol.POP3: "does not offer STLS",  # POP3's name for the command
    Protocol.SMTP: "does not offer STARTTLS",
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_starttls_not_offered_is_refused(pki: Pki, protocol: Protocol) -> None:
    with ScriptedServer(mail_script(protocol, cert=pki.server, offer_starttls=False)) as srv:
        ep = endpoint(protocol, srv.port, Security.STARTTLS, ca_file=pki.ca.cert_path)
        with pytest.raises(TlsError) as info:
            connect_and_login(ep, CANARY)
    assert NOT_OFFERED[protocol] in info.value.message
    assert info.value.title == "STARTTLS not offered"
    assert srv.connections == 1
    assert_no_canary(srv)


@pytest.mark.parametrize(
    "protocol",
    [
        Protocol.IMAP,
        Protocol.POP3,
        Protocol.SMTP,
    ],
)
def test_starttls_refused_by_server_is_refused(pki: Pki, protocol: Protocol) -> None:
    with ScriptedServer(mail_script(protocol, cert=pki.server, refuse_starttls=True)) as srv:
        ep = endpoint(protocol, srv.port, Security.STARTTLS, ca_file=pki.ca.cert_path)
        with pytest.raises(TlsError, match="refused") as info:
            connect_and_login(ep, CANARY)
    assert ep.address in info.value.message
    assert srv.connections == 1
    assert b"STARTTLS" in srv.captured or b"STLS" in srv.captured  # it did ask
    assert_no_canary(srv)


# -- plaintext passwords --------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plaintext_login_refused_unless_allowed(protocol: Protocol) -> None:
    with ScriptedServer(mail_script(protocol, offer_starttls=False)) as srv:
        ep = endpoint(protocol, srv.port, Security.NONE, allow_plaintext=False)
        session = connect(ep)
        try:
            before = srv.captured  # the server answered everything sent so far: all recorded
            with pytest.raises(AuthError, match="unencrypted") as info:
                login(ep, session, CANARY)
        finally:
            _close(protocol, session)
    # the server has stopped and joined its threads: nothing more can arrive
    assert srv.captured == before, "login() sent something before refusing"
    assert info.value.title == "Unencrypted login refused"
    for command in LOGIN_COMMANDS[protocol]:
        assert command not in srv.captured.upper()
    assert_no_canary(srv)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plaintext_login_goes_through_when_allowed(protocol: Protocol) -> None:
    """The control for the test above: the fake server does see a password sent in clear."""
    with ScriptedServer(mail_script(protocol, offer_starttls=False)) as srv:
        ep = endpoint(protocol, srv.port, Security.NONE, allow_plaintext=True)
        connect_and_login(ep, CANARY)
    assert secret_in(srv.wire, CANARY) == (["base64"] if protocol is Protocol.SMTP else ["plain"])
    assert srv.errors == []


def test_imap_logindisabled_refuses_plaintext_even_when_allowed() -> None:
    script = imap_script(capabilities=["IMAP4rev1", "LOGINDISABLED", "AUTH=PLAIN"])
    with ScriptedServer(script) as srv:
        ep = endpoint(Protocol.IMAP, srv.port, Security.NONE, allow_plaintext=True)
        session = connect(ep)
        try:
            before = srv.captured
            with pytest.raises(AuthError, match="does not allow logging in without encryption"):
                login(ep, session, CANARY)
        finally:
            _close(Protocol.IMAP, session)
    assert srv.captured == before
    assert b" LOGIN " not in srv.captured.upper()
    assert_no_canary(srv)


# -- certificates ---------------------------------------------------------------------------------

tls_cases = pytest.mark.parametrize(
    ("protocol", "security"),
    [(protocol, security) for protocol in PROTOCOLS for security in ENCRYPTED],
)


@tls_cases
def test_certificate_from_unknown_ca_is_not_trusted(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.server, implicit_tls=security is Security.TLS)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security)  # no ca_file: only the system CAs
        with pytest.raises(TlsError) as info:
            connect_and_login(ep, CANARY)
    message = info.value.message
    assert "not trusted" in message
    assert fingerprint_of_file(pki.server.cert) in message, message
    assert info.value.title == "Certificate not trusted"
    assert_no_canary(srv)


@tls_cases
def test_certificate_trusted_through_ca_file(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.server, implicit_tls=security is Security.TLS)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security, ca_file=pki.ca.cert_path)
        connect_and_login(ep, CANARY)
    assert srv.errors == []
    # the password crossed the connection, but only inside TLS
    assert secret_in(srv.captured, CANARY) != []
    assert secret_in(srv.wire, CANARY) == []


@tls_cases
def test_certificate_for_another_name_is_refused(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.other_name, implicit_tls=security is Security.TLS)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security, ca_file=pki.ca.cert_path)
        with pytest.raises(TlsError, match="mismatch") as info:
            connect_and_login(ep, CANARY)
    assert HOST in info.value.message
    assert_no_canary(srv)


@tls_cases
def test_expired_certificate_is_refused(pki: Pki, protocol: Protocol, security: Security) -> None:
    script = mail_script(protocol, cert=pki.expired, implicit_tls=security is Security.TLS)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security, ca_file=pki.ca.cert_path)
        with pytest.raises(TlsError, match="expired"):
            connect_and_login(ep, CANARY)
    assert_no_canary(srv)


@tls_cases
def test_pinned_fingerprint_trusts_self_signed_certificate(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.self_signed, implicit_tls=security is Security.TLS)
    with ScriptedServer(script) as srv:
        pin = fingerprint_of_file(pki.self_signed.cert)
        ep = endpoint(protocol, srv.port, security, tls_fingerprint=pin)
        connect_and_login(ep, CANARY)
    assert srv.errors == []
    assert secret_in(srv.captured, CANARY) != []
    assert secret_in(srv.wire, CANARY) == []


@tls_cases
def test_other_fingerprint_than_pinned_is_refused(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.self_signed, implicit_tls=security is Security.TLS)
    pin = fingerprint_of_file(pki.other_self_signed.cert)
    assert pin != fingerprint_of_file(pki.self_signed.cert)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security, tls_fingerprint=pin)
        with pytest.raises(TlsError, match="does not match the pinned fingerprint") as info:
            connect_and_login(ep, CANARY)
    assert fingerprint_of_file(pki.self_signed.cert) in info.value.message  # what was found
    assert_no_canary(srv)


@pytest.mark.parametrize(
    ("protocol", "security"),
    [pytest.param(protocol, security) for protocol in PROTOCOLS for security in ENCRYPTED],
)
def test_nothing_is_sent_inside_tls_before_the_pin_is_checked(
    pki: Pki, protocol: Protocol, security: Security
) -> None:
    script = mail_script(protocol, cert=pki.self_signed, implicit_tls=security is Security.TLS)
    pin = fingerprint_of_file(pki.other_self_signed.cert)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, security, tls_fingerprint=pin)
        with pytest.raises(TlsError, match="pinned"):
            connect(ep)
    assert srv.decrypted == b""


def test_pin_is_in_the_form_settings_produce(pki: Pki) -> None:
    """The pin the tests use is what normalise_fingerprint makes of a pasted fingerprint."""
    pin = fingerprint_of_file(pki.self_signed.cert)
    assert normalise_fingerprint("sha256:" + pin.replace(":", "").lower()) == pin


# -- unreachable servers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "security"),
    [
        (Protocol.IMAP, Security.TLS),
        (Protocol.IMAP, Security.STARTTLS),
        (Protocol.POP3, Security.TLS),
        (Protocol.POP3, Security.STARTTLS),
        (Protocol.SMTP, Security.TLS),
        pytest.param(Protocol.SMTP, Security.STARTTLS),
    ],
)
def test_silent_server_times_out(protocol: Protocol, security: Security) -> None:
    with ScriptedServer(silent) as srv:
        ep = endpoint(protocol, srv.port, security, timeout=SILENT_TIMEOUT)
        started = time.monotonic()
        with pytest.raises(ConnectError, match="No answer") as info:
            connect(ep)
        elapsed = time.monotonic() - started
    assert SILENT_TIMEOUT * 0.8 <= elapsed < SILENT_TIMEOUT + 3, elapsed
    assert info.value.title == "Connection timed out"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_closed_port_is_refused(protocol: Protocol) -> None:
    with closed_port(HOST) as port:
        ep = endpoint(protocol, port, Security.TLS)
        with pytest.raises(ConnectError, match="refused") as info:
            connect(ep)
    assert info.value.title == "Connection refused"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_host(protocol: Protocol) -> None:
    ep = endpoint(protocol, 993, Security.TLS, host="nonexistent.invalid")
    with pytest.raises(ConnectError, match="Unknown host") as info:
        connect(ep)
    assert "nonexistent.invalid" in info.value.message


# -- probe ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_probe_reports_starttls_missing_without_raising(pki: Pki, protocol: Protocol) -> None:
    with ScriptedServer(mail_script(protocol, cert=pki.server, offer_starttls=False)) as srv:
        ep = endpoint(protocol, srv.port, Security.STARTTLS, ca_file=pki.ca.cert_path)
        report = PROBES[protocol]("work", Role.INCOMING, ep, CANARY)
    assert not report.ok
    assert isinstance(report.error, TlsError)
    assert not report.logged_in
    assert_never_mentions_canary(report.error)
    assert_no_canary(srv)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_probe_reports_refused_login(pki: Pki, protocol: Protocol) -> None:
    script = mail_script(protocol, cert=pki.server, implicit_tls=True, login_ok=False)
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, Security.TLS, ca_file=pki.ca.cert_path)
        report = PROBES[protocol]("work", Role.INCOMING, ep, CANARY)
    assert not report.ok
    assert isinstance(report.error, AuthError)
    assert report.tls is not None
    assert report.tls.fingerprint == fingerprint_of_file(pki.server.cert)
    assert_never_mentions_canary(report.error)
    assert secret_in(srv.wire, CANARY) == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_probe_error_never_contains_password_a_server_echoes(pki: Pki, protocol: Protocol) -> None:
    script = mail_script(
        protocol, cert=pki.server, implicit_tls=True, login_ok=False, echo_password=True
    )
    with ScriptedServer(script) as srv:
        ep = endpoint(protocol, srv.port, Security.TLS, ca_file=pki.ca.cert_path)
        report = PROBES[protocol]("work", Role.INCOMING, ep, CANARY)
    assert not report.ok
    assert isinstance(report.error, AuthError)
    assert_never_mentions_canary(report.error)


# -- the fake server itself -----------------------------------------------------------------------


def test_fake_server_stops_with_client_still_connected() -> None:
    """Leaving the block wakes a script waiting on a connected client and joins its thread."""
    got_line = threading.Event()

    def script(conn: Conn) -> None:
        conn.read_line()
        got_line.set()
        conn.wait_closed()  # until the client hangs up, or the server stops

    client = None
    try:
        with ScriptedServer(script) as srv:
            client = socket.create_connection((srv.host, srv.port), timeout=TIMEOUT)
            client.sendall(b"hello\r\n")
            assert got_line.wait(TIMEOUT)
            started = time.monotonic()
        elapsed = time.monotonic() - started  # stop() raises if a thread is left behind
        assert client.recv(16) == b""  # the server closed its end
    finally:
        if client is not None:
            client.close()
    assert elapsed < 1.0
    assert srv.captured == b"hello\r\n"
    assert srv.connections == 1
    assert srv.errors == []
