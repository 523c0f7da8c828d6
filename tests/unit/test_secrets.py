"""Passwords: password_command, a real keyring backend in a temp dir, the vault, memory."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from file_keyring import FileKeyring, HangingKeyring
from keyrings.alt.file import PlaintextKeyring

from tuimail.config.secrets import SERVICE, Secrets, run_password_command
from tuimail.config.settings import SecretStoreChoice
from tuimail.config.vault import Vault
from tuimail.model.account import Account, Endpoint, Protocol, Role, Security
from tuimail.model.errors import SecretError

SECRET = "correct horse battery staple"


def _account(command: str | None = None, out_command: str | None = None) -> Account:
    def endpoint(protocol: Protocol, cmd: str | None) -> Endpoint:
        return Endpoint(
            protocol, "mail.example.test", 993, Security.TLS, "alice", password_command=cmd
        )

    return Account(
        id="work",
        name="Alice",
        email="alice@example.test",
        incoming=endpoint(Protocol.IMAP, command),
        outgoing=endpoint(Protocol.SMTP, out_command),
    )


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[FileKeyring]:
    backend = FileKeyring(tmp_path / "keyring.json")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    yield
    keyring.set_keyring(previous)


class Prompter:
    """Answers prompts from a list and records what was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, prompt: str) -> str | None:
        self.asked.append(prompt)
        return self.answers.pop(0) if self.answers else None


# -- the vault ------------------------------------------------------------------------------


def test_vault_round_trip_is_encrypted_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "passwords.vault"
    vault = Vault.create(path, "passphrase")
    vault.set("work", SECRET)
    assert (path.stat().st_mode & 0o777) == 0o600
    raw = path.read_bytes()
    assert SECRET.encode() not in raw
    assert base64.b64encode(SECRET.encode()) not in raw
    assert Vault.open(path, "passphrase").get("work") == SECRET
    assert not list(path.parent.glob("*.tmp"))


def test_vault_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "v"
    Vault.create(path, "right").set("work", SECRET)
    with pytest.raises(SecretError, match="Wrong passphrase") as info:
        Vault.open(path, "wrong")
    assert SECRET not in str(info.value)


def test_vault_damaged_and_existing(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_text("{not json")
    with pytest.raises(SecretError, match="damaged"):
        Vault.open(path, "x")
    with pytest.raises(SecretError, match="already exists"):
        Vault.create(path, "x")


def test_vault_full_disk_keeps_old_file(tmp_path: Path) -> None:
    """A write that fails half-way (file size limit, as on a full disk) leaves the old vault."""
    path = tmp_path / "v"
    Vault.create(path, "p").set("work", "old")
    before = path.read_bytes()
    code = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from tuimail.config.vault import Vault\n"
        "from tuimail.model.errors import SecretError\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "vault = Vault.open(Path(sys.argv[1]), 'p')\n"
        "try:\n"
        "    vault.set('work', 'x' * 100_000)\n"
        "except SecretError as exc:\n"
        "    print(exc.message)\n"
        "    raise SystemExit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 3, result.stderr
    assert "Could not write the password vault" in result.stdout
    assert "Nothing was changed" in result.stdout
    assert path.read_bytes() == before
    assert Vault.open(path, "p").get("work") == "old"
    assert not [p for p in tmp_path.iterdir() if p.name != "v"]


# -- password_command -----------------------------------------------------------------------


def test_password_command_first_line() -> None:
    assert run_password_command(f"printf '{SECRET}\\nsecond line\\n'", "work") == SECRET


def test_password_command_failure_shows_stderr_not_stdout() -> None:
    with pytest.raises(SecretError) as info:
        run_password_command(
            f"echo {SECRET.split(maxsplit=1)[0]}; echo 'gpg: decryption failed' >&2; exit 3", "w"
        )
    message = info.value.message
    assert "exit status 3" in message
    assert "gpg: decryption failed" in message
    assert SECRET.split(maxsplit=1)[0] not in message


def test_password_command_empty() -> None:
    with pytest.raises(SecretError, match="printed no password"):
        run_password_command("true", "work")


def test_outgoing_uses_incoming_command(tmp_path: Path, no_keyring: None) -> None:
    secrets = Secrets(tmp_path / "v")
    account = _account(command=f"echo '{SECRET}'")
    assert secrets.password(account, Role.OUTGOING) == SECRET
    assert secrets.password(_account("echo in", "echo out"), Role.OUTGOING) == "out"


# -- the keyring ----------------------------------------------------------------------------


def test_keyring_store_find_forget(tmp_path: Path, file_keyring: FileKeyring) -> None:
    secrets = Secrets(tmp_path / "v")
    status = secrets.store("work", SECRET)
    assert status.kind == "keyring"
    assert "FileKeyring" in status.description
    assert file_keyring.get_password(SERVICE, "work") == SECRET
    assert Secrets(tmp_path / "v").password(_account(), Role.INCOMING) == SECRET
    assert Secrets(tmp_path / "v").password(_account(), Role.OUTGOING) == SECRET  # falls back
    assert not (tmp_path / "v").exists()
    removed = Secrets(tmp_path / "v").forget("work")
    assert removed == ["keyring (work)"]
    assert file_keyring.get_password(SERVICE, "work") is None


def test_separate_outgoing_password(tmp_path: Path, file_keyring: FileKeyring) -> None:
    secrets = Secrets(tmp_path / "v")
    secrets.store("work", "in-pass")
    secrets.store("work", "out-pass", Role.OUTGOING)
    fresh = Secrets(tmp_path / "v")
    assert fresh.password(_account(), Role.INCOMING) == "in-pass"
    assert fresh.password(_account(), Role.OUTGOING) == "out-pass"


def test_password_command_wins_over_keyring(tmp_path: Path, file_keyring: FileKeyring) -> None:
    Secrets(tmp_path / "v").store("work", "from-keyring")
    assert Secrets(tmp_path / "v").password(_account("echo from-command"), Role.INCOMING) == (
        "from-command"
    )


def test_plaintext_keyring_is_refused(tmp_path: Path) -> None:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "plain.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        secrets = Secrets(tmp_path / "v", ask_passphrase=Prompter("vault-pass", "vault-pass"))
        status = secrets.store("work", SECRET)
    finally:
        keyring.set_keyring(previous)
    assert status.kind == "vault"
    assert "keyrings.alt" in status.reason
    assert "not a safe store" in status.reason
    assert not (tmp_path / "plain.cfg").exists()


def test_hanging_keyring_times_out(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(HangingKeyring())  # type: ignore[no-untyped-call]
    try:
        started = time.monotonic()
        status = Secrets(tmp_path / "v", keyring_timeout=0.5).status()
        elapsed = time.monotonic() - started
    finally:
        keyring.set_keyring(previous)
    assert status.kind == "session"
    assert "did not answer within 0.5 s" in status.reason
    assert elapsed < 3


# -- no keyring: the vault, or memory -------------------------------------------------------


def test_over_ssh_without_keyring_says_so(tmp_path: Path, no_keyring: None) -> None:
    status = Secrets(tmp_path / "v").status()
    assert status.kind == "session"
    assert status.reason == "no keyring over this SSH session (no D-Bus session bus)"
    assert "tuimail password set" in status.description


def test_vault_used_when_no_keyring(tmp_path: Path, no_keyring: None) -> None:
    path = tmp_path / "v"
    setup = Prompter("vault-pass", "vault-pass")
    status = Secrets(path, ask_passphrase=setup).store("work", SECRET)
    assert status.kind == "vault"
    assert setup.asked[0].startswith("New passphrase")
    ask = Prompter("vault-pass")
    secrets = Secrets(path, ask_passphrase=ask)
    assert secrets.status().kind == "vault"
    assert secrets.password(_account(), Role.INCOMING) == SECRET
    assert secrets.password(_account(), Role.OUTGOING) == SECRET
    assert len(ask.asked) == 1  # the passphrase is asked once per session
    assert Secrets(path, ask_passphrase=Prompter("vault-pass")).forget("work") == ["vault (work)"]


def test_vault_locked_without_terminal(tmp_path: Path, no_keyring: None) -> None:
    Secrets(tmp_path / "v", ask_passphrase=Prompter("p", "p")).store("work", SECRET)
    with pytest.raises(SecretError, match="no terminal to ask"):
        Secrets(tmp_path / "v").password(_account(), Role.INCOMING)


def test_asked_once_and_kept_in_memory(tmp_path: Path, no_keyring: None) -> None:
    ask = Prompter(SECRET)
    secrets = Secrets(tmp_path / "v", ask_password=ask)
    assert secrets.password(_account(), Role.INCOMING) == SECRET
    assert secrets.password(_account(), Role.INCOMING) == SECRET
    assert len(ask.asked) == 1
    assert "alice@example.test" in ask.asked[0]
    assert not (tmp_path / "v").exists()


def test_nobody_to_ask(tmp_path: Path, no_keyring: None) -> None:
    with pytest.raises(SecretError, match="tuimail password set work"):
        Secrets(tmp_path / "v").password(_account(), Role.INCOMING)


def test_session_choice_stores_nothing(tmp_path: Path, file_keyring: FileKeyring) -> None:
    secrets = Secrets(tmp_path / "v", SecretStoreChoice.SESSION)
    with pytest.raises(SecretError, match="not stored"):
        secrets.store("work", SECRET)
    assert file_keyring.get_password(SERVICE, "work") is None


def test_secrets_repr_has_no_password(tmp_path: Path, no_keyring: None) -> None:
    secrets = Secrets(tmp_path / "v", ask_password=Prompter(SECRET))
    secrets.password(_account(), Role.INCOMING)
    assert SECRET not in repr(secrets)
    assert SECRET not in repr(Vault.create(tmp_path / "v2", "p"))


def test_new_vault_passphrase_must_be_repeated(tmp_path: Path, no_keyring: None) -> None:
    ask = Prompter("first", "second")
    with pytest.raises(SecretError, match="two passphrases differ"):
        Secrets(tmp_path / "v", ask_passphrase=ask).store("work", SECRET)
    assert ask.asked[1] == "Repeat the new passphrase: "
    assert not (tmp_path / "v").exists()
