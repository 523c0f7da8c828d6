"""Real-server tests of the mail stack (send, fetch, refuse, TLS), standard library only."""

from __future__ import annotations

import email
import imaplib
import poplib
import re
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import pytest
from mailstack.stack import MailStack

pytestmark = pytest.mark.mailstack

TIMEOUT = 10.0  # every socket operation
DELIVERY_DEADLINE = 10.0  # how long a sent message may take to show up (measured: ~0.02 s)
POLL_INTERVAL = 0.05
OUTSIDE = "someone@example.org"
WRONG_PASSWORD = "not-the-password"
CLIENT_NAME = "client.example.test"


# ------------------------------------------------------------------------------------ helpers
def tls_context(stack: MailStack) -> ssl.SSLContext:
    """A verifying context that trusts only the stack's CA (hostname checks on)."""
    ctx = ssl.create_default_context(cafile=str(stack.ca_file))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default; keep the certs fit
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    return ctx


@dataclass(frozen=True)
class Probe:
    """A message with a unique Message-ID and token, to find it again."""

    msg: EmailMessage
    msgid: str
    token: str


def new_probe(stack: MailStack, sender: str, recipient: str, label: str) -> Probe:
    token = uuid.uuid4().hex
    msgid = make_msgid(idstring=token, domain="tests.example.test")
    msg = EmailMessage()
    msg["From"] = stack.address(sender)
    msg["To"] = recipient if "@" in recipient else stack.address(recipient)
    msg["Subject"] = f"mailstack {label} {token}"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = msgid
    msg.set_content(f"Hello from the mailstack tests.\n{token}\nÄÖÜ ✓\n")
    return Probe(msg, msgid, token)


@contextmanager
def imaps_login(stack: MailStack, user: str) -> Iterator[imaplib.IMAP4_SSL]:
    with imaplib.IMAP4_SSL(
        stack.host, stack.imaps, ssl_context=tls_context(stack), timeout=TIMEOUT
    ) as imap:
        imap.login(stack.address(user), stack.password(user))
        yield imap


@contextmanager
def pop3s_login(stack: MailStack, user: str) -> Iterator[poplib.POP3_SSL]:
    pop = poplib.POP3_SSL(stack.host, stack.pop3s, timeout=TIMEOUT, context=tls_context(stack))
    try:
        pop.user(stack.address(user))
        pop.pass_(stack.password(user))
        yield pop
    finally:
        with suppress(OSError, poplib.error_proto):
            pop.quit()  # also closes the socket


def search_msgid(imap: imaplib.IMAP4, msgid: str) -> list[bytes]:
    """UIDs of the messages with this Message-ID in the selected mailbox."""
    typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", f'"{msgid}"')
    assert typ == "OK", data
    first = data[0]
    assert isinstance(first, bytes), data
    return first.split()


def wait_for_imap(stack: MailStack, user: str, msgid: str) -> bytes:
    """Poll `user`'s INBOX over IMAPS until `msgid` is there; return that message."""
    deadline = time.monotonic() + DELIVERY_DEADLINE
    with imaps_login(stack, user) as imap:
        while True:
            typ, data = imap.select("INBOX", readonly=True)
            assert typ == "OK", data
            uids = search_msgid(imap, msgid)
            if uids:
                break
            if time.monotonic() >= deadline:
                pytest.fail(f"{msgid} not in {user}'s INBOX after {DELIVERY_DEADLINE} s")
            time.sleep(POLL_INTERVAL)
        assert len(uids) == 1, uids
        typ, fetched = imap.uid("FETCH", uids[0].decode(), "(BODY.PEEK[])")
        assert typ == "OK", fetched
        part = fetched[0]
        assert isinstance(part, tuple), fetched
        raw = part[1]
        assert isinstance(raw, bytes), fetched
        return raw


def pop3_fetch(stack: MailStack, user: str, msgid: str) -> bytes:
    """Find the message with `msgid` in `user`'s POP3 maildrop (POP3S) and RETR it."""
    with pop3s_login(stack, user) as pop:
        _, listing, _ = pop.list()
        for entry in listing:
            num = int(entry.split()[0])
            _, header_lines, _ = pop.top(num, 0)
            headers = email.message_from_bytes(b"\r\n".join(header_lines))
            if (headers["Message-ID"] or "").strip() == msgid:
                _, lines, _ = pop.retr(num)
                return b"\r\n".join(lines)
    pytest.fail(f"{msgid} not in {user}'s POP3 maildrop")


def send_via_submission(stack: MailStack, sender: str, msg: EmailMessage) -> None:
    """Port 587: STARTTLS, then AUTH, then send."""
    with smtplib.SMTP(stack.host, stack.submission, timeout=TIMEOUT) as smtp:
        smtp.ehlo(CLIENT_NAME)
        assert smtp.has_extn("starttls"), smtp.esmtp_features
        assert not smtp.has_extn("auth"), "AUTH offered before STARTTLS"
        smtp.starttls(context=tls_context(stack))
        smtp.ehlo(CLIENT_NAME)
        assert smtp.has_extn("auth"), smtp.esmtp_features
        smtp.login(stack.address(sender), stack.password(sender))
        assert smtp.send_message(msg) == {}


def send_via_smtps(stack: MailStack, sender: str, msg: EmailMessage) -> None:
    """Port 465: implicit TLS, then AUTH, then send."""
    with smtplib.SMTP_SSL(
        stack.host, stack.smtps, context=tls_context(stack), timeout=TIMEOUT
    ) as smtp:
        smtp.login(stack.address(sender), stack.password(sender))
        assert smtp.send_message(msg) == {}


SENDERS: dict[str, Callable[[MailStack, str, EmailMessage], None]] = {
    "submission": send_via_submission,
    "smtps": send_via_smtps,
}


def port_of(stack: MailStack, service: str) -> int:
    return {
        "imap": stack.imap,
        "imaps": stack.imaps,
        "pop3": stack.pop3,
        "pop3s": stack.pop3s,
        "submission": stack.submission,
        "smtps": stack.smtps,
        "smtp": stack.smtp,
        "lmtp": stack.lmtp,
    }[service]


def read_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(512)
        if not chunk:
            break
        data += chunk
    return data


# -------------------------------------------------------------------------------- mail flow
@pytest.mark.parametrize("via", ["submission", "smtps"])
def test_alice_to_bob_arrives_over_imap_and_pop3(mailstack: MailStack, via: str) -> None:
    probe = new_probe(mailstack, "alice", "bob", via)
    SENDERS[via](mailstack, "alice", probe.msg)

    raw = wait_for_imap(mailstack, "bob", probe.msgid)
    assert probe.token.encode() in raw
    assert b"(Authenticated sender: alice@example.test)" in raw
    assert email.message_from_bytes(raw)["From"] == mailstack.address("alice")

    # IMAP saw it, so it is stored: POP3 needs no further waiting
    raw = pop3_fetch(mailstack, "bob", probe.msgid)
    assert probe.token.encode() in raw


def test_deliver_over_lmtp_is_immediately_visible(mailstack: MailStack) -> None:
    probe = new_probe(mailstack, "someone@example.org", "carol", "lmtp")
    mailstack.deliver("carol", probe.msg.as_bytes())

    with imaps_login(mailstack, "carol") as imap:
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK", data
        assert len(search_msgid(imap, probe.msgid)) == 1
    found = mailstack.doveadm(
        "search",
        "-u",
        mailstack.address("carol"),
        "mailbox",
        "INBOX",
        "header",
        "Message-ID",
        probe.msgid,
    )
    assert len(found.splitlines()) == 1, found


def test_seed_fills_a_folder(mailstack: MailStack) -> None:
    mailstack.seed("bob", 200, "Lists/dev")

    with imaps_login(mailstack, "bob") as imap:
        typ, data = imap.status('"Lists/dev"', "(MESSAGES)")
    assert typ == "OK", data
    first = data[0]
    assert isinstance(first, bytes), data
    assert re.search(rb"\(MESSAGES 200\)", first), first


# --------------------------------------------------------------------------------- refusals
def test_mx_port_refuses_relay_without_auth(mailstack: MailStack) -> None:
    with smtplib.SMTP(mailstack.host, mailstack.smtp, timeout=TIMEOUT) as mx:
        mx.ehlo("attacker.example.net")
        code, resp = mx.mail("spammer@example.net")
        assert code == 250, resp
        code, resp = mx.rcpt(OUTSIDE)
        assert code == 554, resp
        assert b"Relay access denied" in resp
        # ...while local recipients are accepted there, like on a real MX
        code, resp = mx.rcpt(mailstack.address("bob"))
        assert code == 250, resp
        mx.rset()


def test_submission_refuses_relay_without_auth(mailstack: MailStack) -> None:
    with smtplib.SMTP(mailstack.host, mailstack.submission, timeout=TIMEOUT) as smtp:
        smtp.ehlo(CLIENT_NAME)
        code, resp = smtp.mail(mailstack.address("alice"))
        assert code == 530, resp  # 5.7.0 Must issue a STARTTLS command first
        smtp.rset()
        smtp.starttls(context=tls_context(mailstack))
        smtp.ehlo(CLIENT_NAME)
        smtp.mail(mailstack.address("alice"))
        code, resp = smtp.rcpt(OUTSIDE)
        assert 500 <= code < 600, (code, resp)
        code, resp = smtp.rcpt(mailstack.address("bob"))
        assert 500 <= code < 600, (code, resp)  # submission needs AUTH for local mail too


def test_smtps_refuses_relay_without_auth(mailstack: MailStack) -> None:
    with smtplib.SMTP_SSL(
        mailstack.host, mailstack.smtps, context=tls_context(mailstack), timeout=TIMEOUT
    ) as smtp:
        smtp.ehlo(CLIENT_NAME)
        smtp.mail(mailstack.address("alice"))
        code, resp = smtp.rcpt(OUTSIDE)
        assert 500 <= code < 600, (code, resp)


def test_wrong_password_refused_imaps(mailstack: MailStack) -> None:
    with imaplib.IMAP4_SSL(
        mailstack.host, mailstack.imaps, ssl_context=tls_context(mailstack), timeout=TIMEOUT
    ) as imap:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(mailstack.address("alice"), WRONG_PASSWORD)
        # the same connection then accepts the right password: it was the password
        imap.login(mailstack.address("alice"), mailstack.password("alice"))
        assert imap.state == "AUTH"


def test_wrong_password_refused_imap_starttls(mailstack: MailStack) -> None:
    with imaplib.IMAP4(mailstack.host, mailstack.imap, timeout=TIMEOUT) as imap:
        imap.starttls(ssl_context=tls_context(mailstack))
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(mailstack.address("alice"), WRONG_PASSWORD)


def test_wrong_password_refused_pop3s(mailstack: MailStack) -> None:
    pop = poplib.POP3_SSL(
        mailstack.host, mailstack.pop3s, timeout=TIMEOUT, context=tls_context(mailstack)
    )
    try:
        pop.user(mailstack.address("alice"))
        with pytest.raises(poplib.error_proto, match="Authentication failed"):
            pop.pass_(WRONG_PASSWORD)
    finally:
        pop.quit()


def test_wrong_password_refused_smtp_auth(mailstack: MailStack) -> None:
    with smtplib.SMTP(mailstack.host, mailstack.submission, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=tls_context(mailstack))
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(mailstack.address("alice"), WRONG_PASSWORD)
        assert refused.value.smtp_code == 535


# -------------------------------------------------------------------------------------- TLS
GREETINGS = {"imaps": b"* OK", "pop3s": b"+OK", "smtps": b"220"}


@pytest.mark.parametrize("service", sorted(GREETINGS))
def test_implicit_tls_verifies_against_the_stack_ca(mailstack: MailStack, service: str) -> None:
    address = (mailstack.host, port_of(mailstack, service))

    system_store_only = ssl.create_default_context()
    with (
        socket.create_connection(address, timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"),
    ):
        system_store_only.wrap_socket(raw, server_hostname=mailstack.host)

    for name in (mailstack.host, "localhost", f"mail.{mailstack.domain}"):
        with (
            socket.create_connection(address, timeout=TIMEOUT) as raw,
            tls_context(mailstack).wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert read_line(tls).startswith(GREETINGS[service])

    with (
        socket.create_connection(address, timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        tls_context(mailstack).wrap_socket(raw, server_hostname="wrong.example.com")


def test_starttls_verifies_against_the_stack_ca(mailstack: MailStack) -> None:
    system_store_only = ssl.create_default_context()
    imap = imaplib.IMAP4(mailstack.host, mailstack.imap, timeout=TIMEOUT)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            imap.starttls(ssl_context=system_store_only)
    finally:
        # the failed handshake left imaplib with a dead socket: no LOGOUT possible
        with suppress(OSError):
            imap.shutdown()
    with (
        smtplib.SMTP(mailstack.host, mailstack.submission, timeout=TIMEOUT) as smtp,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        smtp.starttls(context=system_store_only)
    pop = poplib.POP3(mailstack.host, mailstack.pop3, timeout=TIMEOUT)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            pop.stls(context=system_store_only)
    finally:
        with suppress(OSError):  # dead socket after the failed handshake
            pop.close()

    with imaplib.IMAP4(mailstack.host, mailstack.imap, timeout=TIMEOUT) as imap:
        imap.starttls(ssl_context=tls_context(mailstack))
        imap.login(mailstack.address("alice"), mailstack.password("alice"))
    pop = poplib.POP3(mailstack.host, mailstack.pop3, timeout=TIMEOUT)
    try:
        pop.stls(context=tls_context(mailstack))
        pop.user(mailstack.address("alice"))
        pop.pass_(mailstack.password("alice"))
    finally:
        pop.quit()


def test_remote_imap_advertises_logindisabled_until_starttls(
    remote_mailstack: MailStack,
) -> None:
    stack = remote_mailstack
    with imaplib.IMAP4(stack.host, stack.imap, timeout=TIMEOUT) as imap:
        assert "STARTTLS" in imap.capabilities, imap.capabilities
        assert "LOGINDISABLED" in imap.capabilities, imap.capabilities
        with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
            imap.login(stack.address("alice"), stack.password("alice"))

        imap.starttls(ssl_context=tls_context(stack))
        assert "LOGINDISABLED" not in imap.capabilities, imap.capabilities
        imap.login(stack.address("alice"), stack.password("alice"))
        assert imap.state == "AUTH"
