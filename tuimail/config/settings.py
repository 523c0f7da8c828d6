"""The settings file: one TOML file, read strictly, with one clear message per mistake."""

from __future__ import annotations

import enum
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from tuimail.config.paths import pop3_maildir
from tuimail.model.account import (
    DEFAULT_PORTS,
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.model.errors import ConfigError


class SecretStoreChoice(enum.StrEnum):
    """Where passwords are kept, as chosen in ``[secrets] store``."""

    AUTO = "auto"
    """The OS keyring when one answers, else the encrypted vault if it exists, else ask."""
    KEYRING = "keyring"
    VAULT = "vault"
    SESSION = "session"
    """Ask once per session and keep the password in memory only."""


@dataclass(frozen=True)
class Settings:
    """Everything read from the settings file."""

    path: Path
    accounts: tuple[Account, ...] = ()
    secret_store: SecretStoreChoice = SecretStoreChoice.AUTO
    keyring_timeout: float = 5.0
    keys: tuple[tuple[str, str], ...] = ()
    """The [keys] table: binding id -> keys ("inbox.delete" = "d,delete")."""
    """Seconds to wait for the OS keyring before treating it as unavailable."""

    def account(self, account_id: str | None) -> Account:
        """The account with this id, or the default account when ``account_id`` is None."""
        if account_id is None:
            for account in self.accounts:
                if account.default:
                    return account
            if self.accounts:
                return self.accounts[0]
            raise ConfigError(
                f"No account is configured in {self.path}. See 'Settings' in the README."
            )
        for account in self.accounts:
            if account.id == account_id:
                return account
        known = ", ".join(a.id for a in self.accounts) or "none"
        raise ConfigError(f"No account named {account_id!r} in {self.path} (accounts: {known}).")


_FINGERPRINT = re.compile(r"^(sha256:)?([0-9a-f]{2}:?){31}[0-9a-f]{2}$", re.IGNORECASE)


class _Reader:
    """Checks one table of the file and turns its values into Python values."""

    def __init__(self, path: Path, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        self.path = path
        self.where = where
        self.table = table
        for key in table:
            if key not in allowed:
                self.fail(
                    key, "is not a known setting; expected one of: " + ", ".join(sorted(allowed))
                )

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.path}: [{self.where}] {key} {problem}")

    def _get(self, key: str, kind: type | tuple[type, ...], expected: str, required: bool) -> Any:
        if key not in self.table:
            if required:
                self.fail(key, f"is missing; expected {expected}")
            return None
        value = self.table[key]
        if isinstance(value, bool) and kind is not bool:
            self.fail(key, f"must be {expected}, not {value!r}")
        if not isinstance(value, kind):
            self.fail(key, f"must be {expected}, not {value!r}")
        return value

    def string(self, key: str) -> str | None:
        value: str | None = self._get(key, str, "a string", False)
        if value is not None and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def required_string(self, key: str) -> str:
        value: str = self._get(key, str, "a string", True)
        if not value.strip():
            self.fail(key, "must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, bool, "true or false", False)
        return default if value is None else bool(value)

    def integer(self, key: str, low: int, high: int) -> int | None:
        value: int | None = self._get(key, int, f"a whole number from {low} to {high}", False)
        if value is not None and not low <= value <= high:
            self.fail(key, f"must be a whole number from {low} to {high}, not {value}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, (int, float), "a number of seconds", False)
        if value is None:
            return default
        if value <= 0:
            self.fail(key, f"must be a positive number of seconds, not {value}")
        return float(value)

    def choice(
        self,
        key: str,
        enum_type: type[enum.StrEnum],
        default: enum.StrEnum,
        allowed: tuple[enum.StrEnum, ...] | None = None,
    ) -> Any:
        members = allowed or tuple(enum_type)
        names = " | ".join(f'"{member.value}"' for member in members)
        value = self._get(key, str, names, False)
        if value is None:
            return default
        try:
            chosen = enum_type(value.lower())
        except ValueError:
            self.fail(key, f"must be one of {names}, not {value!r}")
        if chosen not in members:
            self.fail(key, f"must be one of {names}, not {value!r}")
        return chosen

    def table_at(self, key: str, *, required: bool = False) -> Mapping[str, Any] | None:
        value: Mapping[str, Any] | None = self._get(key, dict, "a table", required)
        return value


_ENDPOINT_KEYS = {
    "host",
    "port",
    "security",
    "username",
    "ca_file",
    "tls_fingerprint",
    "password_command",
    "allow_plaintext",
    "timeout",
}
_INCOMING_PROTOCOLS = (Protocol.IMAP, Protocol.POP3)


def _endpoint(
    path: Path, where: str, table: Mapping[str, Any], protocol: Protocol | None, email: str
) -> Endpoint:
    allowed = _ENDPOINT_KEYS | ({"protocol"} if protocol is None else set())
    reader = _Reader(path, where, table, allowed)
    if protocol is None:
        protocol = reader.choice("protocol", Protocol, Protocol.IMAP, _INCOMING_PROTOCOLS)
    assert protocol is not None  # noqa: S101 - for mypy: set on both branches
    host = reader.required_string("host").strip()
    if "/" in host or (host.count(":") == 1 and not host.startswith("[")):
        reader.fail(
            "host",
            f"must be a host name only, like mail.example.org, not {host!r}; put the port in port",
        )
    security: Security = reader.choice("security", Security, Security.TLS)
    port = reader.integer("port", 1, 65535) or DEFAULT_PORTS[(protocol, security)]
    ca_file = reader.string("ca_file")
    if ca_file is not None:
        ca_path = Path(ca_file).expanduser()
        if not ca_path.is_file():
            reader.fail("ca_file", f"names {str(ca_path)!r}, which is not a readable file")
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=ca_path)
        except (ssl.SSLError, OSError):
            reader.fail("ca_file", f"names {str(ca_path)!r}, which holds no PEM CA certificate")
        ca_file = str(ca_path)
    fingerprint = reader.string("tls_fingerprint")
    if fingerprint is not None:
        if not _FINGERPRINT.match(fingerprint.strip()):
            reader.fail("tls_fingerprint", "must be a SHA-256 fingerprint (64 hex digits)")
        fingerprint = normalise_fingerprint(fingerprint)
    return Endpoint(
        protocol=protocol,
        host=host.strip(),
        port=port,
        security=security,
        username=reader.string("username") or email,
        ca_file=ca_file,
        tls_fingerprint=fingerprint,
        password_command=reader.string("password_command"),
        allow_plaintext=reader.boolean("allow_plaintext", False),
        timeout=reader.number("timeout", 30.0),
    )


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as upper-case hex pairs joined by colons."""
    digits = re.sub(r"[^0-9a-fA-F]", "", text.lower().removeprefix("sha256:")).upper()
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


_ACCOUNT_KEYS = {
    "name",
    "email",
    "default",
    "incoming",
    "outgoing",
    "pop3",
    "sendmail",
    "save_sent",
}
_LOCAL_KEYS = {"protocol", "path"}
_LOCAL_FORMATS = {"maildir": LocalFormat.MAILDIR, "mbox": LocalFormat.MBOX}


def _local(path: Path, where: str, table: Mapping[str, Any]) -> LocalSource | None:
    """A Maildir or mbox incoming "server", or None when the table names a real server."""
    protocol = table.get("protocol")
    if not isinstance(protocol, str) or protocol.lower() not in _LOCAL_FORMATS:
        return None
    reader = _Reader(path, where, table, _LOCAL_KEYS)
    kind = _LOCAL_FORMATS[protocol.lower()]
    location = Path(reader.required_string("path")).expanduser()
    if kind is LocalFormat.MAILDIR and not (location / "cur").is_dir():
        reader.fail("path", f"names {str(location)!r}, which is not a Maildir (no cur/ inside)")
    if kind is LocalFormat.MBOX and location.exists() and not location.is_file():
        reader.fail("path", f"names {str(location)!r}, which is not an mbox file")
    return LocalSource(kind, str(location.resolve()))


_POP3_KEYS = {
    "leave_on_server",
    "delete_after_days",
    "delete_when_deleted_locally",
    "apop",
    "maildir",
}
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _account(path: Path, account_id: str, table: Any) -> Account:
    where = f"accounts.{account_id}"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [accounts] {account_id} must be a table ([{where}])")
    reader = _Reader(path, where, table, _ACCOUNT_KEYS)
    email = reader.required_string("email")
    if not _EMAIL.match(email):
        reader.fail("email", f"must be an address like alice@example.org, not {email!r}")
    incoming_table = reader.table_at("incoming", required=True) or {}
    local = _local(path, f"{where}.incoming", incoming_table)
    incoming = (
        None
        if local is not None
        else _endpoint(path, f"{where}.incoming", incoming_table, None, email)
    )
    outgoing_table = reader.table_at("outgoing")
    outgoing = (
        None
        if outgoing_table is None
        else _endpoint(path, f"{where}.outgoing", outgoing_table, Protocol.SMTP, email)
    )
    pop3 = Pop3Options()
    pop3_table = reader.table_at("pop3")
    if pop3_table is not None:
        pop3_reader = _Reader(path, f"{where}.pop3", pop3_table, _POP3_KEYS)
        pop3 = Pop3Options(
            leave_on_server=pop3_reader.boolean("leave_on_server", True),
            delete_after_days=pop3_reader.integer("delete_after_days", 0, 36500) or 0,
            delete_when_deleted_locally=pop3_reader.boolean("delete_when_deleted_locally", False),
            apop=pop3_reader.boolean("apop", False),
        )
    if incoming is not None and incoming.protocol is Protocol.POP3:
        # POP3 mail is downloaded into a Maildir of its own and read from there
        named = (
            _Reader(path, f"{where}.pop3", pop3_table, _POP3_KEYS).string("maildir")
            if pop3_table is not None
            else None
        )
        maildir = Path(named).expanduser() if named else pop3_maildir(account_id)
        local = LocalSource(LocalFormat.MAILDIR, str(maildir.absolute()))
    return Account(
        id=account_id,
        name=reader.string("name") or "",
        email=email,
        incoming=incoming,
        outgoing=outgoing,
        default=reader.boolean("default", False),
        pop3=pop3,
        local=local,
        sendmail=reader.string("sendmail"),
        save_sent=reader.boolean("save_sent", True),
    )


_TOP_KEYS = {"accounts", "secrets", "keys"}
_BINDING_ID = re.compile(r"^[a-z_]+\.[a-z_]+$")
_SECRETS_KEYS = {"store", "keyring_timeout"}


def parse_settings(path: Path, text: str) -> Settings:
    """Parse the settings file's text; raise ConfigError naming the file, the key and the fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    top = _Reader(path, "top level", data, _TOP_KEYS)
    accounts_table = top.table_at("accounts") or {}
    accounts = tuple(_account(path, key, value) for key, value in accounts_table.items())
    defaults = [account.id for account in accounts if account.default]
    if len(defaults) > 1:
        raise ConfigError(
            f"{path}: more than one account has default = true ({', '.join(defaults)}); keep one"
        )
    store = SecretStoreChoice.AUTO
    keyring_timeout = 5.0
    secrets_table = top.table_at("secrets")
    if secrets_table is not None:
        secrets_reader = _Reader(path, "secrets", secrets_table, _SECRETS_KEYS)
        store = secrets_reader.choice("store", SecretStoreChoice, SecretStoreChoice.AUTO)
        keyring_timeout = secrets_reader.number("keyring_timeout", 5.0)
    keys: list[tuple[str, str]] = []
    for binding, value in (top.table_at("keys") or {}).items():
        if not _BINDING_ID.match(binding) or not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{path}: [keys] {binding} must be a binding id like inbox.delete with keys as "
                'a string like "d,delete" (tuimail\'s help screen, ?, lists the ids)'
            )
        keys.append((binding, value.replace(" ", "")))
    return Settings(
        path=path,
        accounts=accounts,
        secret_store=store,
        keyring_timeout=keyring_timeout,
        keys=tuple(keys),
    )


def load_settings(path: Path, *, must_exist: bool = False) -> Settings:
    """Read the settings file; a missing file means no accounts yet, unless it was named."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"The settings file {path} does not exist.") from None
        return Settings(path=path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    return parse_settings(path, text)
