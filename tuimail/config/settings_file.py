"""Writing accounts into the settings file: added at its end, edited or removed in place.

Everything else in the file (other accounts, [secrets], [keys], comments, blank lines) is kept as
the person wrote it: tomlkit edits the document instead of rewriting it. Reading stays with
tomllib in settings.py; every write is parsed back with it before it replaces the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Comment, InlineTable, Table, Whitespace

from tuimail.config.paths import pop3_maildir
from tuimail.config.settings import Settings, parse_settings
from tuimail.model.account import Account, Endpoint, Protocol, Role
from tuimail.model.errors import ConfigError

_DEFAULT_TIMEOUT = 30.0


def endpoint_values(endpoint: Endpoint, role: Role) -> dict[str, Any]:
    """The settings of one server as they are written to the file (defaults left out)."""
    values: dict[str, Any] = {}
    if role is Role.INCOMING:
        values["protocol"] = endpoint.protocol.value
    values["host"] = endpoint.host
    values["port"] = endpoint.port
    values["security"] = endpoint.security.value
    values["username"] = endpoint.username
    if endpoint.ca_file:
        values["ca_file"] = endpoint.ca_file
    if endpoint.tls_fingerprint:
        values["tls_fingerprint"] = endpoint.tls_fingerprint
    if endpoint.password_command:
        values["password_command"] = endpoint.password_command
    if endpoint.allow_plaintext:
        values["allow_plaintext"] = True
    if endpoint.timeout != _DEFAULT_TIMEOUT:
        values["timeout"] = endpoint.timeout
    return values


def _pop3_values(account: Account) -> dict[str, Any]:
    options = account.pop3
    values: dict[str, Any] = {
        "leave_on_server": options.leave_on_server,
        "delete_after_days": options.delete_after_days,
        "delete_when_deleted_locally": options.delete_when_deleted_locally,
    }
    if options.apop:
        values["apop"] = True
    default_maildir = str(pop3_maildir(account.id).absolute())
    if account.local is not None and account.local.path != default_maildir:
        values["maildir"] = account.local.path
    return values


def account_values(account: Account) -> dict[str, Any]:
    """An account as nested tables of plain values, in the order they are written."""
    values: dict[str, Any] = {}
    if account.name:
        values["name"] = account.name
    values["email"] = account.email
    if account.default:
        values["default"] = True
    if not account.save_sent:
        values["save_sent"] = False
    if account.sendmail:
        values["sendmail"] = account.sendmail
    if account.incoming is not None:  # a POP3 account has a Maildir too: its server comes first
        values["incoming"] = endpoint_values(account.incoming, Role.INCOMING)
    elif account.local is not None:
        values["incoming"] = {"protocol": account.local.format.value, "path": account.local.path}
    else:
        raise ConfigError(f"Account {account.id!r} has neither a server nor local mail.")
    if account.outgoing is not None:
        values["outgoing"] = endpoint_values(account.outgoing, Role.OUTGOING)
    if account.incoming is not None and account.incoming.protocol is Protocol.POP3:
        values["pop3"] = _pop3_values(account)
    return values


def _table(values: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in values.items():
        table.add(key, _table(value) if isinstance(value, dict) else value)
    return table


def _inline(values: dict[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    for key, value in values.items():
        table[key] = _inline(value) if isinstance(value, dict) else value
    return table


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None


def _write(path: Path, text: str) -> Settings:
    """Check that ``text`` still reads as settings, then replace the file with it atomically."""
    settings = parse_settings(path, text)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"{path}: cannot be written ({exc.strerror}).") from None
    return settings


def _document(path: Path, text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _accounts(path: Path, document: tomlkit.TOMLDocument, account_id: str) -> Any:
    accounts = document.get("accounts")
    if accounts is None or account_id not in accounts:
        raise ConfigError(f"No account named {account_id!r} in {path}.")
    return accounts


def add_account(path: Path, account: Account) -> Settings:
    """Append the account at the end of the file (created when missing); the new settings."""
    text = _read(path)
    if account.id in {a.id for a in parse_settings(path, text).accounts}:
        raise ConfigError(f"{path} already has an account named {account.id!r}.")
    block = tomlkit.document()
    block.add("accounts", tomlkit.table(is_super_table=True))
    block["accounts"].add(account.id, _table(account_values(account)))
    addition = tomlkit.dumps(block)
    separator = (
        "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    )
    appended = text + separator + addition
    try:
        parse_settings(path, appended)
    except ConfigError:
        # e.g. accounts written as one inline table: edit the document instead of appending
        document = _document(path, text)
        accounts = document.setdefault("accounts", tomlkit.table(is_super_table=True))
        values = account_values(account)
        accounts[account.id] = _inline(values) if isinstance(accounts, InlineTable) else values
        appended = tomlkit.dumps(document)
    return _write(path, appended)


def _insert(table: Any, key: str, value: Any) -> None:
    """Add a plain value after the table's last value, before the comments that end it (in
    tomlkit they belong to the table, but they describe what follows in the file)."""
    body = table.value.body
    index = 0
    for position, (name, item) in enumerate(body):
        if name is not None and not isinstance(item, (Table, Comment, Whitespace)):
            index = position + 1
    if index >= len(body):  # nothing follows the last value: an ordinary append
        table[key] = value
        return
    try:
        table.value._insert_at(index, key, tomlkit.item(value))
    except (AttributeError, TOMLKitError, IndexError, ValueError):  # at the end: still valid
        table[key] = value


def _update(table: Any, values: dict[str, Any], path: tuple[str, ...], new: list[Any]) -> None:
    """Make ``table`` hold ``values``: keys changed in place, missing ones added, others removed.

    Lines that stay keep their comments. A sub-table the file lacks is put in ``new`` with its
    path, to be appended at the end of the file (never between a comment and what it describes).
    """
    for key in [k for k in table if k not in values]:
        del table[key]
    for key, value in values.items():
        if isinstance(value, dict):
            if key in table and isinstance(table[key], dict):
                _update(table[key], value, (*path, key), new)
            else:
                new.append(((*path, key), value))
        elif key not in table:
            _insert(table, key, value)
        elif table[key] != value:
            table[key] = value


def _append_tables(text: str, tables: list[Any]) -> str:
    for path, values in tables:
        block = tomlkit.document()
        container: Any = block
        for name in path[:-1]:
            container.add(name, tomlkit.table(is_super_table=True))
            container = container[name]
        container.add(path[-1], _table(values))
        separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        text += separator + tomlkit.dumps(block)
    return text


def replace_account(path: Path, account: Account) -> Settings:
    """Write the account's settings over those of the account with the same id."""
    text = _read(path)
    document = _document(path, text)
    accounts = _accounts(path, document, account.id)
    new: list[Any] = []
    _update(accounts[account.id], account_values(account), ("accounts", account.id), new)
    return _write(path, _append_tables(tomlkit.dumps(document), new))


_HEADER = re.compile(r"^[ \t]*\[\[?(?P<key>[^\[\]\n]*)\]\]?[ \t]*(#.*)?$")


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a ``[table]`` header line, or None for any other line."""
    match = _HEADER.match(line)
    if match is None:
        return None
    try:
        data: Any = tomllib.loads(f"[{match['key']}]")
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key = next(iter(data))
        path.append(key)
        data = data[key]
    return tuple(path)


def _without_account_text(text: str, account_id: str) -> str:
    """``text`` without the account's tables, found by their headers.

    Comment lines right above a removed header go with it; comments and blank lines at the end
    of its last table stay, as they describe what follows.
    """
    lines = text.splitlines(keepends=True)
    headers = [(i, _header_path(line)) for i, line in enumerate(lines)]
    starts = [(i, p) for i, p in headers if p is not None]
    drop: set[int] = set()
    for number, (index, header) in enumerate(starts):
        if header[:2] != ("accounts", account_id):
            continue
        end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
        while end > index + 1 and (
            not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
        ):
            end -= 1
        begin = index
        while begin > 0 and lines[begin - 1].lstrip().startswith("#") and begin - 1 not in drop:
            begin -= 1
        drop.update(range(begin, end))
    for index in sorted(drop):  # a blank line above a removed run: drop the blank lines below it
        if index + 1 in drop or (index + 1 < len(lines) and lines[index + 1].strip()):
            continue
        first = index
        while first - 1 in drop:
            first -= 1
        if first == 0 or not lines[first - 1].strip():
            after = index + 1
            while after < len(lines) and not lines[after].strip():
                drop.add(after)
                after += 1
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def _same_without(before: str, after: str, account_id: str) -> bool:
    """True when ``after`` holds exactly what ``before`` did, less the account."""
    try:
        old, new = tomllib.loads(before), tomllib.loads(after)
    except tomllib.TOMLDecodeError:
        return False
    accounts = dict(old.get("accounts", {}))
    accounts.pop(account_id, None)
    if accounts:
        old["accounts"] = accounts
    else:
        old.pop("accounts", None)
    if "accounts" in new and not new["accounts"]:
        new.pop("accounts")
    return bool(old == new)


def remove_account(path: Path, account_id: str) -> Settings:
    """Delete the account's tables from the file; the rest stays as it was, comments too."""
    text = _read(path)
    document = _document(path, text)
    _accounts(path, document, account_id)
    trimmed = _without_account_text(text, account_id)
    if not _same_without(text, trimmed, account_id):  # written in a way the lines do not show
        del document["accounts"][account_id]
        trimmed = tomlkit.dumps(document)
    return _write(path, trimmed)
