"""One hierarchy of errors, each with a short title and a message a person can act on."""

from __future__ import annotations


class MailError(Exception):
    """Base of every error tuimail reports to a person.

    ``title`` is a few words for a notification heading; ``message`` says what happened and what to
    do. Neither ever contains a password.
    """

    title = "Mail error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ConfigError(MailError):
    """The settings file cannot be read or is wrong."""

    title = "Settings error"


class SecretError(MailError):
    """A password could not be found, asked for or stored."""

    title = "Password error"


class ConnectError(MailError):
    """The server could not be reached: unknown host, refused, timed out, dropped."""

    title = "Cannot connect"


class TlsError(MailError):
    """TLS failed: untrusted or mismatched certificate, STARTTLS missing or refused."""

    title = "Insecure connection refused"


class AuthError(MailError):
    """The server refused the login, or tuimail refused to send a password unencrypted."""

    title = "Login failed"


class ProtocolError(MailError):
    """The server answered something tuimail cannot use."""

    title = "Server error"


class SendError(MailError):
    """A message was not accepted for delivery."""

    title = "Not sent"
    temporary = False
    """True when the server said "try again later" (a 4xx reply): the outbox retries by itself."""
    uncertain = False
    """True when the connection broke after the whole message went out: it may have been
    accepted, so it is never sent again without the person saying so."""


class CacheError(MailError):
    """The local cache cannot be read or written."""

    title = "Cache error"
