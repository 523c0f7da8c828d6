"""Finding and keeping account passwords: password_command, OS keyring, encrypted vault, or memory.

The only module that imports keyring. Passwords never go into a message, a log or the settings file.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tuimail.config.settings import SecretStoreChoice
from tuimail.config.vault import Vault
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Account, Role
from tuimail.model.errors import SecretError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "tuimail"
"""The keyring service name under which passwords are stored."""

Prompt = Callable[[str], str | None]
"""Asks a person for a secret; returns None when they cancel or nobody can be asked."""

_REFUSED_BACKENDS = (
    "keyring.backends.fail",  # raises on every call: no keyring at all
    "keyring.backends.null",  # stores nothing
    "keyrings.alt",  # plaintext or base64 files, or getpass() prompts that block a TUI
    "keyrings.cryptfile",  # getpass() on the terminal when chosen automatically
)

T = TypeVar("T")


class _Timeout(Exception):
    pass


def _call_with_timeout(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` in a daemon thread; raise _Timeout when it does not return in time.

    A locked desktop keyring may wait forever for a GUI unlock; a daemon thread left waiting does
    not keep tuimail from exiting.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="tuimail-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _Timeout
    if failure:
        raise failure[0]
    return outcome[0]


@dataclass(frozen=True)
class StoreStatus:
    """Where passwords go on this machine now, and why."""

    kind: str
    """``keyring``, ``vault`` or ``session``."""
    description: str
    reason: str


def _backend_name(backend: object) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _refused(backend: object) -> bool:
    inner = getattr(backend, "backends", None)
    if isinstance(inner, list):  # keyring's ChainerBackend
        return not inner or any(_refused(b) for b in inner)
    return _backend_name(backend).startswith(_REFUSED_BACKENDS)


def _no_keyring_reason() -> str:
    over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
    no_bus = not os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if over_ssh and no_bus:
        return "no keyring over this SSH session (no D-Bus session bus)"
    if no_bus:
        return "no keyring service answers (no D-Bus session bus)"
    return "no keyring service answers"


def account_key(account_id: str, role: Role) -> str:
    """The key a password is stored under: the account id, plus ``/outgoing`` for a separate
    SMTP password."""
    return account_id if role is Role.INCOMING else f"{account_id}/{role.value}"


def run_password_command(command: str, account_id: str, timeout: float = 60.0) -> str:
    """The first line of the command's output.

    A failure is reported with the command's stderr, never its stdout (which may hold the password).
    """
    try:
        result = subprocess.run(  # noqa: S602 - the user's own shell command from their settings
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"password_command of account {account_id!r} did not finish within {timeout:.0f} s."
        ) from None
    except OSError as exc:
        raise SecretError(
            f"password_command of account {account_id!r} could not run: {exc.strerror}."
        ) from None
    if result.returncode != 0:
        stderr = safe_line(result.stderr.decode("utf-8", "replace").strip())[:500]
        detail = f": {stderr}" if stderr else ""
        raise SecretError(
            f"password_command of account {account_id!r} failed "
            f"(exit status {result.returncode}){detail}"
        )
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise SecretError(f"password_command of account {account_id!r} printed no password.")
    return password


class Secrets:
    """Finds an account's password in order: password_command, memory, keyring, vault, asking.

    ``ask_password`` asks for an account's password; ``ask_passphrase`` for the vault's passphrase
    (its prompt says whether the vault is new). Either may be None where nobody can be asked.
    """

    def __init__(
        self,
        vault_path: Path,
        choice: SecretStoreChoice = SecretStoreChoice.AUTO,
        keyring_timeout: float = 5.0,
        ask_password: Prompt | None = None,
        ask_passphrase: Prompt | None = None,
    ) -> None:
        self.vault_path = vault_path
        self.choice = choice
        self.keyring_timeout = keyring_timeout
        self.ask_password = ask_password
        self.ask_passphrase = ask_passphrase
        self._memory: dict[str, str] = {}
        self._vault: Vault | None = None
        self._keyring_checked = False
        self._keyring: KeyringBackend | None = None
        self._keyring_problem = ""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Secrets(choice={self.choice.value!r}, vault={str(self.vault_path)!r})"

    # -- the OS keyring ---------------------------------------------------------------------

    def _keyring_backend(self) -> KeyringBackend | None:
        """The usable keyring backend, probed once with a timeout, or None with a reason kept."""
        if self._keyring_checked:
            return self._keyring
        self._keyring_checked = True

        def probe() -> KeyringBackend:
            import keyring  # noqa: PLC0415 - imported only when needed: it may be slow to load

            backend = keyring.get_keyring()
            if _refused(backend):
                return backend
            backend.get_password(SERVICE, "__tuimail_probe__")
            return backend

        try:
            backend = _call_with_timeout(probe, self.keyring_timeout)
        except _Timeout:
            self._keyring_problem = (
                f"the keyring did not answer within {self.keyring_timeout:g} s (is it locked?)"
            )
            return None
        except Exception as exc:  # keyring raises many kinds; any of them means "unusable"
            self._keyring_problem = f"{_no_keyring_reason()} ({type(exc).__name__})"
            return None
        if _refused(backend):
            name = _backend_name(backend)
            if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
                self._keyring_problem = _no_keyring_reason()
            else:
                self._keyring_problem = f"the keyring found ({name}) is not a safe store"
            return None
        self._keyring = backend
        return backend

    def _keyring_call(self, what: str, function: Callable[[], T]) -> T:
        try:
            return _call_with_timeout(function, self.keyring_timeout)
        except _Timeout:
            raise SecretError(
                f"The keyring did not answer within {self.keyring_timeout:g} s while trying to "
                f"{what}."
            ) from None
        except Exception as exc:
            raise SecretError(f"The keyring failed to {what} ({type(exc).__name__}).") from None

    # -- the vault ----------------------------------------------------------------------------

    def _open_vault(self, create: bool) -> Vault:
        if self._vault is not None:
            return self._vault
        new = not Vault.exists(self.vault_path)
        if new and not create:
            raise SecretError(f"There is no password vault at {self.vault_path}.")
        if self.ask_passphrase is None:
            raise SecretError(
                "The password vault is locked and there is no terminal to ask for its passphrase."
            )
        prompt = (
            f"New passphrase for the password vault {self.vault_path}: "
            if new
            else f"Passphrase for the password vault {self.vault_path}: "
        )
        passphrase = self.ask_passphrase(prompt)
        if passphrase is None:
            raise SecretError(
                "The password vault is locked and there is no terminal to ask for its passphrase."
            )
        if not passphrase:
            raise SecretError("No passphrase given; the password vault stays locked.")
        if new and self.ask_passphrase("Repeat the new passphrase: ") != passphrase:
            raise SecretError("The two passphrases differ; no vault was created.")
        self._vault = (
            Vault.create(self.vault_path, passphrase)
            if new
            else Vault.open(self.vault_path, passphrase)
        )
        return self._vault

    # -- public -------------------------------------------------------------------------------

    def status(self) -> StoreStatus:
        """Which store holds passwords here, and why that one."""
        vault_exists = Vault.exists(self.vault_path)
        if self.choice is SecretStoreChoice.SESSION:
            return StoreStatus(
                "session",
                "asked once per session and kept in memory only",
                'the settings say [secrets] store = "session"',
            )
        if self.choice is SecretStoreChoice.VAULT:
            return StoreStatus(
                "vault",
                f"in the encrypted vault {self.vault_path}",
                'the settings say [secrets] store = "vault"',
            )
        backend = self._keyring_backend()
        if backend is not None:
            return StoreStatus(
                "keyring", f"in the OS keyring ({_backend_name(backend)})", "a keyring answered"
            )
        if self.choice is SecretStoreChoice.KEYRING:
            return StoreStatus(
                "session",
                "not stored: the keyring is unavailable, so they are asked once per session",
                f'the settings say [secrets] store = "keyring", but {self._keyring_problem}',
            )
        if vault_exists:
            return StoreStatus(
                "vault", f"in the encrypted vault {self.vault_path}", self._keyring_problem
            )
        return StoreStatus(
            "session",
            "asked once per session and kept in memory only "
            "(`tuimail password set ACCOUNT` creates an encrypted vault)",
            self._keyring_problem,
        )

    def password(self, account: Account, role: Role) -> str:
        """The password for one of the account's servers."""
        endpoint = account.outgoing if role is Role.OUTGOING else account.incoming
        if endpoint is None:
            raise SecretError(f"Account {account.id!r} has no {role.value} server.")
        command = endpoint.password_command
        if command is None and role is Role.OUTGOING and account.incoming is not None:
            command = account.incoming.password_command
        if command is not None:
            return run_password_command(command, account.id)
        keys = [account_key(account.id, role)]
        if role is Role.OUTGOING:
            keys.append(account_key(account.id, Role.INCOMING))
        with self._lock:
            return self._find(account, keys)

    def _find(self, account: Account, keys: list[str]) -> str:
        """Look for the first key in every store before falling back to the next key."""
        if keys[0] in self._memory:
            return self._memory[keys[0]]
        status = self.status()
        backend = self._keyring
        for key in keys:
            found: str | None = None
            if status.kind == "keyring" and backend is not None:
                found = self._keyring_call(
                    "read a password", partial(backend.get_password, SERVICE, key)
                )
            elif status.kind == "vault" and Vault.exists(self.vault_path):
                found = self._open_vault(create=False).get(key)
            found = found or self._memory.get(key)
            if found:
                self._memory[keys[0]] = found
                return found
        answer = None
        if self.ask_password is not None:
            answer = self.ask_password(f"Password for {account.email} (account {account.id}): ")
        if answer is None:
            raise SecretError(
                f"No password is stored for account {account.id!r}. "
                f"Store one with: tuimail password set {account.id}"
            )
        if not answer:
            raise SecretError(f"No password given for account {account.id!r}.")
        self._memory[keys[0]] = answer
        return answer

    def store(self, account_id: str, password: str, role: Role = Role.INCOMING) -> StoreStatus:
        """Keep a password in the keyring, else in the vault (created on first use)."""
        if not password:
            raise SecretError("An empty password is not stored.")
        key = account_key(account_id, role)
        with self._lock:
            status = self.status()
            backend = self._keyring
            if status.kind == "keyring" and backend is not None:
                self._keyring_call(
                    "store the password",
                    partial(backend.set_password, SERVICE, key, password),
                )
            elif self.choice in (SecretStoreChoice.AUTO, SecretStoreChoice.VAULT):
                self._open_vault(create=True).set(key, password)
                status = StoreStatus(
                    "vault", f"in the encrypted vault {self.vault_path}", status.reason
                )
            else:
                raise SecretError(f"Passwords are not stored: {status.reason}.")
            self._memory[key] = password
            return status

    def store_in_vault(
        self,
        account_id: str,
        password: str,
        passphrase: str | None,
        role: Role = Role.INCOMING,
    ) -> StoreStatus:
        """Keep a password in the vault, whatever the keyring: the vault is opened (or created)
        with ``passphrase`` unless it is open already; nobody is asked."""
        if not password:
            raise SecretError("An empty password is not stored.")
        key = account_key(account_id, role)
        with self._lock:
            if self._vault is None:
                if not passphrase:
                    raise SecretError("Type the vault's passphrase.")
                self._vault = (
                    Vault.open(self.vault_path, passphrase)
                    if Vault.exists(self.vault_path)
                    else Vault.create(self.vault_path, passphrase)
                )
            self._vault.set(key, password)
            self._memory[key] = password
        return StoreStatus("vault", f"in the encrypted vault {self.vault_path}", "")

    def remember(self, account_id: str, password: str, role: Role = Role.INCOMING) -> None:
        """Keep a password in memory only, for this session (nothing is written anywhere)."""
        with self._lock:
            self._memory[account_key(account_id, role)] = password

    def unlock_vault(self) -> None:
        """Open the existing vault now (asking its passphrase), so later reads need no prompt."""
        with self._lock:
            self._open_vault(create=False)

    def forget(self, account_id: str) -> list[str]:
        """Remove the account's passwords from every store; return where they were removed."""
        removed: list[str] = []
        keys = [account_key(account_id, role) for role in Role]
        with self._lock:
            for key in keys:
                if self._memory.pop(key, None) is not None:
                    removed.append(f"memory ({key})")
            backend = (
                self._keyring_backend() if self.choice is not SecretStoreChoice.VAULT else None
            )
            if backend is not None:
                for key in keys:
                    if self._keyring_call(
                        "read a password",
                        partial(backend.get_password, SERVICE, key),
                    ):
                        self._keyring_call(
                            "delete the password",
                            partial(backend.delete_password, SERVICE, key),
                        )
                        removed.append(f"keyring ({key})")
            if Vault.exists(self.vault_path):
                vault = self._open_vault(create=False)
                for key in keys:
                    if vault.delete(key):
                        removed.append(f"vault ({key})")
        return removed
