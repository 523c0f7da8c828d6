"""Setting up an account: discovery, a real login test before anything is saved, and saving.

The setup wizard's use-cases, plain blocking Python: they run in the wizard's thread workers,
report through callbacks and stop on a ``threading.Event``.
"""

from __future__ import annotations

import enum
import getpass
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol as TypingProtocol

from tuimail.config import settings_file
from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets, StoreStatus, run_password_command
from tuimail.config.settings import Settings, load_settings
from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.account import (
    DEFAULT_PORTS,
    Account,
    Endpoint,
    LocalSource,
    Protocol,
    Role,
    Security,
)
from tuimail.model.discovery import Discovery
from tuimail.model.errors import AuthError, ConfigError, ConnectError, MailError, TlsError
from tuimail.model.report import ServerReport
from tuimail.services.check import probe_endpoint
from tuimail.services.client import MailClient
from tuimail.services.events import EventSink, ServerChecked, ServerCheckStarted, ignore_events

DISCOVERY_TIMEOUT = 10.0
"""Seconds discovery may take in all."""


class DiscoverFunction(TypingProtocol):
    """``discover(email, timeout=..., on_progress=..., cancel=...)``: what discovery looks like."""

    def __call__(
        self,
        email: str,
        *,
        timeout: float = ...,
        on_progress: Callable[[str], None] | None = ...,
        cancel: threading.Event | None = ...,
    ) -> Discovery | None: ...


def default_discover(
    email: str,
    *,
    timeout: float = DISCOVERY_TIMEOUT,
    on_progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Discovery | None:
    """tuimail's discovery engine (``tuimail.services.discover.discover``), loaded on first use."""
    from tuimail.services.discover import discover  # noqa: PLC0415 - dnspython loads when used

    return discover(email, timeout=timeout, on_progress=on_progress, cancel=cancel)


# -- the form ----------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


def check_email(email: str) -> str:
    """The address trimmed; ConfigError when it does not look like one."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise ConfigError(
            f"{safe_line(email)!r} is not an email address like alice@example.org.",
            title="Check the address",
        )
    return email


@dataclass(frozen=True)
class ServerForm:
    """One server as typed in the wizard: strings, checked by ``endpoint``."""

    protocol: Protocol
    host: str
    port: str
    security: Security
    username: str

    def endpoint(self, what: str, base: Endpoint | None = None) -> Endpoint:
        """The Endpoint; ConfigError naming the field when one is wrong.

        ``base`` carries what the form does not show (ca_file, pinned fingerprint, timeout...);
        a pinned fingerprint is kept only while host and port stay the same.
        """
        host = self.host.strip()
        if not host or not _HOST.match(host):
            raise ConfigError(f"The {what} server needs a host name like mail.example.org.")
        port_text = self.port.strip() or str(DEFAULT_PORTS[(self.protocol, self.security)])
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"The {what} port must be a number from 1 to 65535.")
        username = self.username.strip()
        if not username:
            raise ConfigError(f"The {what} server needs a user name (often the whole address).")
        endpoint = Endpoint(self.protocol, host, int(port_text), self.security, username)
        if base is not None:
            same_server = (base.host, base.port) == (endpoint.host, endpoint.port)
            endpoint = replace(
                base,
                protocol=endpoint.protocol,
                host=endpoint.host,
                port=endpoint.port,
                security=endpoint.security,
                username=endpoint.username,
                tls_fingerprint=base.tls_fingerprint if same_server else None,
            )
        return endpoint


def suggest_account_id(email: str, taken: Sequence[str]) -> str:
    """A short name for the settings file: the address's domain name (``example``), made unique."""
    domain = email.rpartition("@")[2].lower()
    labels = [label for label in domain.split(".") if label]
    base = labels[-2] if len(labels) >= 2 else (labels[0] if labels else "mail")
    base = re.sub(r"[^a-z0-9_-]+", "-", base).strip("-") or "mail"
    name, number = base, 2
    while name in taken:
        name = f"{base}{number}"
        number += 1
    return name


# -- the login test ----------------------------------------------------------------------------


class Problem(enum.StrEnum):
    """Why a login test failed, in the terms the wizard explains."""

    WRONG_PASSWORD = "wrong-password"  # noqa: S105 - a name, not a password
    APP_PASSWORD = "app-password"  # noqa: S105 - a name, not a password
    UNREACHABLE = "unreachable"
    UNTRUSTED_CERTIFICATE = "untrusted-certificate"
    NO_COMMON_MECHANISM = "no-common-mechanism"
    OAUTH2_REQUIRED = "oauth2-required"
    TLS = "tls"
    OTHER = "other"


@dataclass(frozen=True)
class LoginFailure:
    """One server's failed login test, said so that a person knows what to do."""

    role: Role
    endpoint: Endpoint
    problem: Problem
    title: str
    advice: str
    """tuimail's own words: what happened and what to do."""
    detail: str
    """What the server or the connection said (hostile text: show it as plain text)."""
    fingerprint: str | None = None
    """The untrusted certificate's SHA-256, which the person may choose to trust."""
    help_url: str | None = None


@dataclass(frozen=True)
class LoginTest:
    """The outcome of testing every server of an account."""

    reports: tuple[ServerReport, ...]
    failures: tuple[LoginFailure, ...]
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """True when every server accepted the login."""
        return not self.cancelled and not self.failures and bool(self.reports)


_OAUTH_MECHANISMS = {"XOAUTH2", "OAUTHBEARER", "XOAUTH"}
_APP_PASSWORD_TEXT = re.compile(
    r"app(lication)?[- ]?(specific )?password|app passwords?|web login required",
    re.IGNORECASE,
)
NO_COMMON_METHOD = "No common login method"
"""The title the protocol backends give a login that no shared method allows."""


def _server_name(endpoint: Endpoint, hints: Discovery | None) -> str:
    return hints.provider if hints is not None and hints.provider else endpoint.host


def classify(
    report: ServerReport, role: Role, endpoint: Endpoint, hints: Discovery | None = None
) -> LoginFailure:
    """The failure of a login test as one of the problems the wizard explains."""
    error = report.error or MailError("The server did not accept the login.")
    detail = safe_text(error.message)
    where = endpoint.address
    name = _server_name(endpoint, hints)
    help_url = hints.help_url if hints is not None else None

    def failure(
        problem: Problem, title: str, advice: str, fingerprint: str | None = None
    ) -> LoginFailure:
        return LoginFailure(role, endpoint, problem, title, advice, detail, fingerprint, help_url)

    if isinstance(error, ConnectError):
        return failure(
            Problem.UNREACHABLE,
            "Server unreachable",
            f"tuimail could not reach {where}. Check the host name and the port, and that this "
            "network lets mail connections out.",
        )
    if isinstance(error, TlsError):
        if error.fingerprint:
            return failure(
                Problem.UNTRUSTED_CERTIFICATE,
                "Certificate not trusted",
                f"The certificate of {where} is not signed by an authority this computer "
                "trusts. If this is your own or your organisation's server and the fingerprint "
                "below is the one its administrator gives, trust it for this account: tuimail "
                "then accepts this certificate, and only this one, from this server.",
                error.fingerprint,
            )
        return failure(Problem.TLS, error.title, "A secure connection could not be made.")
    if isinstance(error, AuthError):
        mechanisms = set(report.auth_mechanisms)
        oauth_only = bool(mechanisms) and mechanisms <= _OAUTH_MECHANISMS
        if (hints is not None and hints.oauth2_only) or (
            error.title == NO_COMMON_METHOD and oauth_only
        ):
            return failure(
                Problem.OAUTH2_REQUIRED,
                "OAuth2 sign-in required",
                f"{name} accepts only OAuth2 (a sign-in through a web browser), not a password, "
                "and tuimail cannot sign in that way yet. If the provider offers app passwords, "
                "make one and use it here.",
            )
        if error.title == NO_COMMON_METHOD:
            offered = " ".join(sorted(mechanisms)) or "none"
            return failure(
                Problem.NO_COMMON_MECHANISM,
                "No common login method",
                f"{where} offers no login method tuimail can use with a password (it offers: "
                f"{offered}). Try the other security setting or port, or ask the provider.",
            )
        if (hints is not None and hints.needs_app_password) or _APP_PASSWORD_TEXT.search(
            error.message
        ):
            notes = " ".join(hints.notes) if hints is not None else ""
            return failure(
                Problem.APP_PASSWORD,
                "App password needed",
                f"{name} wants an app password here: a separate password made for mail "
                "programs in your account's security settings, not the one you sign in with."
                + (f" {notes}" if notes else ""),
            )
        return failure(
            Problem.WRONG_PASSWORD,
            "Wrong user name or password",
            f"{where} refused the login for {endpoint.username!r}. Check the password, and "
            "the user name (often the whole address).",
        )
    return failure(Problem.OTHER, safe_line(error.title), "The test did not pass.")


def try_login(
    account: Account,
    password: str,
    hints: Discovery | None = None,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> LoginTest:
    """Log in to the incoming and the outgoing server for real, incoming first."""
    reports: list[ServerReport] = []
    failures: list[LoginFailure] = []
    for role, endpoint in account.endpoints:
        if cancel is not None and cancel.is_set():
            return LoginTest(tuple(reports), tuple(failures), cancelled=True)
        on_event(ServerCheckStarted(account.id, role, endpoint))
        report = probe_endpoint(account.id, role, endpoint, password)
        reports.append(report)
        on_event(ServerChecked(report))
        if not report.ok:
            failures.append(classify(report, role, endpoint, hints))
    return LoginTest(tuple(reports), tuple(failures))


def trust(account: Account, failures: Sequence[LoginFailure]) -> Account:
    """The account with each refused certificate of these failures pinned on its server."""
    pins = {f.endpoint.address: f.fingerprint for f in failures if f.fingerprint}

    def pinned(endpoint: Endpoint | None) -> Endpoint | None:
        if endpoint is None or endpoint.address not in pins:
            return endpoint
        return replace(endpoint, tls_fingerprint=pins[endpoint.address])

    return replace(account, incoming=pinned(account.incoming), outgoing=pinned(account.outgoing))


# -- saving ------------------------------------------------------------------------------------


class PasswordPlace(enum.StrEnum):
    """Where the wizard puts the password."""

    AUTOMATIC = "automatic"
    """The OS keyring (or the vault that already exists), as the settings say."""
    VAULT = "vault"
    """tuimail's encrypted vault, created with a passphrase when new."""
    COMMAND = "command"
    """Nothing stored: a command prints it when needed (written as password_command)."""
    SESSION = "session"
    """Nothing stored: kept in memory until tuimail quits."""
    KEEP = "keep"
    """Editing without a new password: the stored one stays."""


@dataclass(frozen=True)
class Saved:
    """What saving did."""

    account: Account
    settings: Settings
    password_note: str
    """One sentence: where the password went and why."""


class AccountSetup:
    """Discovery, the login test and saving for the wizard, over one settings file."""

    def __init__(
        self,
        paths: Paths,
        secrets: Secrets,
        *,
        cache_file: Path,
        discover: DiscoverFunction | None = None,
        discovery_timeout: float = DISCOVERY_TIMEOUT,
    ) -> None:
        self.paths = paths
        self.secrets = secrets
        self.cache_file = cache_file
        self._discover = discover
        self.discovery_timeout = discovery_timeout

    @property
    def config_file(self) -> Path:
        """The settings file accounts are written to."""
        return self.paths.config_file

    def settings(self) -> Settings:
        """The settings file as it is now."""
        return load_settings(self.config_file)

    def discover(
        self,
        email: str,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Discovery | None:
        """The settings found for the address, or None (then the person types them)."""
        function = self._discover or default_discover
        return function(
            email, timeout=self.discovery_timeout, on_progress=on_progress, cancel=cancel
        )

    def try_login(
        self,
        account: Account,
        password: str,
        hints: Discovery | None = None,
        on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None,
    ) -> LoginTest:
        """Log in to each server of the account with this password (nothing is saved)."""
        return try_login(account, password, hints, on_event, cancel)

    def stored_password(self, account: Account) -> str:
        """The password already kept for an account being edited."""
        return self.secrets.password(account, Role.INCOMING)

    def password_status(self) -> StoreStatus:
        """Where a password would go without a choice, and why (the keyring is probed once)."""
        return self.secrets.status()

    def save(
        self,
        account: Account,
        password: str,
        place: PasswordPlace = PasswordPlace.AUTOMATIC,
        *,
        passphrase: str | None = None,
        command: str | None = None,
        editing: bool = False,
    ) -> Saved:
        """Keep the password as chosen, then write the account into the settings file."""
        if place is PasswordPlace.COMMAND:
            if not command or not command.strip():
                raise ConfigError("Type the command that prints the password.")
            if run_password_command(command, account.id) != password:
                raise ConfigError(
                    "That command does not print the password that was just tested.",
                    title="Command not used",
                )
            assert account.incoming is not None  # noqa: S101 - the wizard makes server accounts
            account = replace(
                account, incoming=replace(account.incoming, password_command=command.strip())
            )
        note = self._keep_password(account, password, place, passphrase)
        try:
            if editing:
                settings = settings_file.replace_account(self.config_file, account)
            else:
                settings = settings_file.add_account(self.config_file, account)
        except MailError:
            if place in (PasswordPlace.AUTOMATIC, PasswordPlace.VAULT) and not editing:
                self.secrets.forget(account.id)
            raise
        return Saved(settings.account(account.id), settings, note)

    def _keep_password(
        self, account: Account, password: str, place: PasswordPlace, passphrase: str | None
    ) -> str:
        if place is PasswordPlace.KEEP:
            return "The password stays where it was kept."
        if place is PasswordPlace.COMMAND:
            self.secrets.remember(account.id, password)
            return (
                "The password is not stored by tuimail: its command prints it when needed, "
                "because you chose a password command."
            )
        if place is PasswordPlace.SESSION:
            self.secrets.remember(account.id, password)
            return (
                "The password is kept in memory only until tuimail quits, because you chose "
                f"not to store it; store it later with: tuimail password set {account.id}"
            )
        if place is PasswordPlace.VAULT:
            status = self.secrets.store_in_vault(account.id, password, passphrase)
            return (
                f"The password is stored {status.description}, because no keyring answers here "
                "and you chose the vault; tuimail asks for its passphrase when it starts."
            )
        status = self.secrets.store(account.id, password)
        return f"The password is stored {status.description}, because {status.reason}."

    def local_sources(self) -> list[LocalSource]:
        """Mail already on this machine ($MAIL, /var/mail/$USER, ~/Maildir) not yet configured."""
        from tuimail.services.local import discover_local  # noqa: PLC0415

        try:
            known = {a.local.path for a in self.settings().accounts if a.local is not None}
        except MailError:
            known = set()
        return [source for source in discover_local() if source.path not in known]

    def add_local(self, sources: Sequence[LocalSource]) -> Saved:
        """Accounts reading these local mailboxes, appended to the settings file."""
        user = getpass.getuser()
        address = f"{user}@{socket.getfqdn()}"
        settings = self.settings()
        taken = [a.id for a in settings.accounts]
        added: list[Account] = []
        for source in sources:
            name = "local"
            number = 2
            while name in taken:
                name = f"local{number}"
                number += 1
            taken.append(name)
            account = Account(name, "", address, None, local=source)
            settings = settings_file.add_account(self.config_file, account)
            added.append(settings.account(name))
        if not added:
            raise ConfigError("No mail was found on this machine.")
        return Saved(
            added[0],
            settings,
            "No password is needed: tuimail reads the files on this machine directly.",
        )

    def remove(self, account_id: str) -> tuple[Settings, int]:
        """Take the account out of the settings, forget its passwords and drop its cached mail.

        Returns the new settings and how many cached messages went (the server keeps its mail).
        """
        settings = settings_file.remove_account(self.config_file, account_id)
        self.secrets.forget(account_id)
        dropped = 0
        if self.cache_file.exists():
            from tuimail.services.mailbox import Mailbox  # noqa: PLC0415

            with Mailbox(self.cache_file) as mailbox:
                dropped = mailbox.forget_account(account_id)
        return settings, dropped

    def client(self, accounts: Sequence[Account]) -> MailClient:
        """A MailClient over these accounts, reading passwords where this setup keeps them."""
        return MailClient(self.paths, accounts, self.secrets.password, cache_file=self.cache_file)


__all__ = [
    "AccountSetup",
    "DiscoverFunction",
    "LoginFailure",
    "LoginTest",
    "PasswordPlace",
    "Problem",
    "Saved",
    "ServerForm",
    "StoreStatus",
    "check_email",
    "classify",
    "suggest_account_id",
    "trust",
    "try_login",
]
