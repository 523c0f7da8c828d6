"""The TLS policy of every protocol: verified certificates, pinned fingerprints, clear failures."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import ssl
from collections.abc import Callable

from cryptography import x509

from tuimail.backends.deadline import PacedSSLSocket, ReplyTooSlow
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint, Security
from tuimail.model.errors import AuthError, ConnectError, MailError, TlsError
from tuimail.model.report import TlsInfo


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as ``AB:CD:...``."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def client_context(endpoint: Endpoint) -> ssl.SSLContext:
    """A context that verifies the server: system CAs plus the account's ``ca_file``.

    With a pinned fingerprint the chain is not checked against CAs; instead the handshake itself
    fails unless the certificate has that fingerprint, before any byte is sent inside TLS.
    """
    context = verifying_context(endpoint.ca_file, endpoint.host)
    if endpoint.tls_fingerprint:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.sslsocket_class = _pinned_socket_class(endpoint)
    return context


def verifying_context(ca_file: str | None, host: str) -> ssl.SSLContext:
    """A context that verifies certificates and host names: system CAs plus ``ca_file``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = PacedSSLSocket
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"The CA file {ca_file} for {host} cannot be used: {exc}.") from None
    return context


def _pinned_socket_class(endpoint: Endpoint) -> type[ssl.SSLSocket]:
    class PinnedSSLSocket(PacedSSLSocket):
        """Checks the pinned fingerprint as the handshake completes, whoever wraps the socket."""

        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            try:
                check_pin(self, endpoint)
            except TlsError:
                self.close()
                raise

    return PinnedSSLSocket


def probe_context() -> ssl.SSLContext:
    """A context that accepts any certificate, only to read and show it; never used to log in."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.sslsocket_class = PacedSSLSocket
    return context


def check_pin(sock: ssl.SSLSocket, endpoint: Endpoint) -> None:
    """With a pinned fingerprint, refuse any other certificate."""
    if not endpoint.tls_fingerprint:
        return
    der = sock.getpeercert(binary_form=True)
    found = fingerprint_of(der) if der else "none"
    if found != endpoint.tls_fingerprint:
        raise TlsError(
            f"The certificate of {endpoint.address} does not match the pinned fingerprint.\n"
            f"  expected {endpoint.tls_fingerprint}\n  got      {found}",
            title="Certificate changed",
        )


def redact(text: str, password: str, username: str = "") -> str:
    """``text`` with the password hidden, also in the base64 forms SASL PLAIN and LOGIN send it.

    Servers sometimes quote what they were sent in an error; such text must not carry it on.
    """
    if not password:
        return text
    secret = password.encode("utf-8")
    forms = {password, base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")}
    for offset in range(3):  # base64 of the password at each alignment within a longer string
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        core = encoded[4 if offset else 0 : len(encoded) - 4]  # chars that hang on it alone
        forms.add(encoded)
        if len(core) >= 6:
            forms.add(core)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "****")
    return text


def _name(name: x509.Name) -> str:
    return safe_line(name.rfc4514_string())


def describe(sock: ssl.SSLSocket, endpoint: Endpoint) -> TlsInfo:
    """The negotiated TLS version, cipher and the server's certificate."""
    der = sock.getpeercert(binary_form=True) or b""
    cipher = sock.cipher()
    subject = issuer = not_after = "unknown"
    if der:
        cert = x509.load_der_x509_certificate(der)
        subject, issuer = _name(cert.subject), _name(cert.issuer)
        not_after = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    return TlsInfo(
        version=sock.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        subject=subject,
        issuer=issuer,
        fingerprint=fingerprint_of(der) if der else "unknown",
        not_after=not_after,
        pinned=bool(endpoint.tls_fingerprint),
    )


def certificate_summary(der: bytes) -> str:
    """Subject, issuer, expiry and fingerprint of a certificate, for an error message."""
    cert = x509.load_der_x509_certificate(der)
    return (
        f"  subject     {_name(cert.subject)}\n"
        f"  issuer      {_name(cert.issuer)}\n"
        f"  valid until {cert.not_valid_after_utc:%Y-%m-%d}\n"
        f"  SHA-256     {fingerprint_of(der)}"
    )


def refuse_plaintext_password(endpoint: Endpoint, encrypted: bool) -> None:
    """Stop before a password crosses an unencrypted connection, unless the account allows it."""
    if not encrypted and not endpoint.allow_plaintext:
        raise AuthError(
            f"Refusing to send the password for {endpoint.address} unencrypted. Use security = "
            '"tls" or "starttls", or set allow_plaintext = true for this server if you must.',
            title="Unencrypted login refused",
        )


def translate(
    exc: BaseException, endpoint: Endpoint, fetch_certificate: Callable[[], bytes] | None = None
) -> MailError:
    """Turn a socket or TLS exception into a MailError that says what went wrong and what to do.

    ``fetch_certificate`` reconnects without verification to show an untrusted certificate; it
    never logs in.
    """
    where = endpoint.address
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = ""
        if fetch_certificate is not None:
            with contextlib.suppress(Exception):  # the certificate is extra detail
                detail = "\n" + certificate_summary(fetch_certificate())
        code = exc.verify_code
        reason = safe_line(str(exc.verify_message or exc.reason or "verification failed"))
        if code in (62, 64) or "mismatch" in reason.lower():
            return TlsError(
                f"The certificate of {where} is not valid for the name {endpoint.host!r} "
                f"(hostname mismatch).{detail}",
                title="Certificate name mismatch",
            )
        if code == 10 or "expired" in reason.lower():
            return TlsError(f"The certificate of {where} has expired.{detail}")
        hint = (
            " If this is your own server, trust its CA with ca_file, or pin this fingerprint with "
            "tls_fingerprint in the account's settings."
        )
        return TlsError(
            f"The certificate of {where} is not trusted ({reason}).{detail}\n{hint.strip()}",
            title="Certificate not trusted",
        )
    if isinstance(exc, ssl.SSLError):
        reason = safe_line(exc.reason or str(exc))
        hint = ""
        if endpoint.security is Security.TLS and reason in (
            "WRONG_VERSION_NUMBER",
            "RECORD_LAYER_FAILURE",
            "PACKET_LENGTH_TOO_LONG",
        ):
            hint = (
                " The server did not answer with TLS: if this port starts unencrypted, set "
                'security = "starttls".'
            )
        return TlsError(f"TLS with {where} failed: {reason}.{hint}", title="TLS failed")
    if isinstance(exc, socket.gaierror):
        return ConnectError(
            f"Unknown host {endpoint.host!r}: the name does not resolve. Check the host name.",
            title="Unknown host",
        )
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError(
            f"{where} refused the connection. Is the port right, and is the server running?",
            title="Connection refused",
        )
    if isinstance(exc, ReplyTooSlow):
        return ConnectError(
            f"{where} answered too slowly: no complete line within {endpoint.timeout:g} s.",
            title="Connection timed out",
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        hint = (
            ' If this port expects TLS from the first byte, set security = "tls".'
            if endpoint.security is not Security.TLS
            else ""
        )
        return ConnectError(
            f"No answer from {where} within {endpoint.timeout:g} s.{hint}",
            title="Connection timed out",
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, EOFError)):
        return ConnectError(f"{where} closed the connection unexpectedly.", title="Connection lost")
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return ConnectError(f"Cannot reach {where}: {reason}.")
    return MailError(f"Unexpected error with {where}: {type(exc).__name__}.")
