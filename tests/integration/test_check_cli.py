"""`tuimail check` and `tuimail password` as a user runs them, against real Dovecot + Postfix."""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from mailstack.stack import MailStack


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _set_password(cli: Cli, name: str, password: str) -> None:
    result = cli.run("password", "set", name, "--stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    assert "in the OS keyring (file_keyring.FileKeyring)" in result.stdout


def _no_leak(result: subprocess.CompletedProcess[str], password: str) -> None:
    assert password not in result.stdout
    assert password not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.mailstack
@pytest.mark.parametrize(
    ("protocol", "security"),
    [("imap", "tls"), ("imap", "starttls"), ("pop3", "tls"), ("pop3", "starttls")],
)
def test_check_passes(mailstack: MailStack, cli: Cli, protocol: str, security: str) -> None:
    cli.write_config(account(mailstack, "a", "alice", protocol=protocol, security=security))
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok: logged in") == 2
    assert "2 of 2 servers passed." in result.stdout
    assert "TLSv1.3" in result.stdout
    assert "(verified, valid until" in result.stdout
    assert "PLAIN" in result.stdout  # login methods listed
    assert "AUTH PLAIN LOGIN" in result.stdout  # EHLO extensions, one space apart
    if protocol == "imap":
        assert "IDLE" in result.stdout
    _no_leak(result, mailstack.password("alice"))


@pytest.mark.mailstack
def test_check_one_account_of_several(mailstack: MailStack, cli: Cli) -> None:
    cli.write_config(
        account(mailstack, "good", "alice") + account(mailstack, "other", "bob", incoming_port=1)
    )
    _set_password(cli, "good", mailstack.password("alice"))
    result = cli.run("check", "good")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "other" not in result.stdout


@pytest.mark.mailstack
def test_wrong_password(mailstack: MailStack, cli: Cli) -> None:
    wrong = "not-alices-password-0xC0FFEE"
    cli.write_config(account(mailstack, "a", "alice"))
    _set_password(cli, "a", wrong)
    result = cli.run("check")
    assert result.returncode == 1
    failures = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failures) == 2
    assert all("FAILED: Login failed:" in line for line in failures)
    assert "refused the login for 'alice'" in result.stdout
    assert "0 of 2 servers passed." in result.stdout
    _no_leak(result, wrong)


@pytest.mark.mailstack
def test_untrusted_certificate_shows_fingerprint(mailstack: MailStack, cli: Cli) -> None:
    cli.write_config(account(mailstack, "a", "alice", ca=False))
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check")
    assert result.returncode == 1
    pem = ssl.get_server_certificate(("127.0.0.1", mailstack.imaps))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    assert result.stdout.count("FAILED: Certificate not trusted:") == 2
    assert fingerprint in result.stdout
    assert "ok: logged in" not in result.stdout
    _no_leak(result, mailstack.password("alice"))


@pytest.mark.mailstack
def test_pinned_fingerprint_trusts_self_hosted(mailstack: MailStack, cli: Cli) -> None:
    pem = ssl.get_server_certificate(("127.0.0.1", mailstack.imaps))
    pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    cli.write_config(
        account(mailstack, "a", "alice", ca=False, extra=f'tls_fingerprint = "sha256:{pin}"')
    )
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check", "a")
    assert "pinned fingerprint" in result.stdout
    assert "ok: logged in" in result.stdout  # incoming pinned; outgoing has no pin and fails
    assert "FAILED: Certificate not trusted" in result.stdout
    assert result.returncode == 1


@pytest.mark.mailstack
def test_closed_port(mailstack: MailStack, cli: Cli) -> None:
    cli.write_config(account(mailstack, "a", "alice", incoming_port=1, outgoing_port=2))
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check")
    assert result.returncode == 1
    assert result.stdout.count("FAILED: Connection refused: localhost:") == 2
    _no_leak(result, mailstack.password("alice"))


@pytest.mark.mailstack
def test_no_plaintext_password(remote_mailstack: MailStack, cli: Cli) -> None:
    """Against a server that looks remote, security = "none" never sends the password."""
    text = account(remote_mailstack, "a", "alice", security="none").replace(
        'host = "localhost"', f'host = "{remote_mailstack.host}"'
    )
    cli.write_config(text)
    _set_password(cli, "a", remote_mailstack.password("alice"))
    result = cli.run("check")
    assert result.returncode == 1
    assert "TLS           none: this connection is NOT encrypted" in result.stdout
    assert "FAILED: Unencrypted login refused: Refusing to send the password" in result.stdout


def test_check_without_accounts(cli: Cli) -> None:
    result = cli.run("check")
    assert result.returncode == 2
    assert "No account is configured in" in result.stderr
    assert str(cli.config) in result.stderr


def test_no_password_and_no_terminal(cli: Cli, tmp_path: Path) -> None:
    cli.write_config(
        '[accounts.a]\nemail = "a@example.test"\n[accounts.a.incoming]\nhost = "localhost"\n'
        "port = 1\n"
    )
    result = cli.run("check", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 1
    assert "FAILED: Password error: No password is stored for account 'a'" in result.stdout
    assert "tuimail password set a" in result.stdout


def test_password_where_over_ssh(cli: Cli) -> None:
    result = cli.run(
        "password",
        "where",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        SSH_CONNECTION="192.0.2.1 50000 192.0.2.2 22",
    )
    assert result.returncode == 0, result.stderr
    assert "no keyring over this SSH session" in result.stdout


def test_password_set_and_forget_in_keyring(cli: Cli) -> None:
    cli.write_config('[accounts.a]\nemail = "a@example.test"\n[accounts.a.incoming]\nhost = "h"\n')
    _set_password(cli, "a", "s3cret-pass")
    where = cli.run("password", "where")
    assert "Passwords: in the OS keyring (file_keyring.FileKeyring)" in where.stdout
    assert "s3cret-pass" in (cli.home / "keyring.json").read_text()
    assert not any((cli.home / "data").glob("**/*.vault"))
    forget = cli.run("password", "forget", "a")
    assert forget.returncode == 0
    assert "Removed from: keyring (a)." in forget.stdout
    assert "s3cret-pass" not in (cli.home / "keyring.json").read_text()


def test_password_set_without_terminal_needs_stdin(cli: Cli) -> None:
    cli.write_config('[accounts.a]\nemail = "a@example.test"\n[accounts.a.incoming]\nhost = "h"\n')
    result = cli.run("password", "set", "a")
    assert result.returncode == 1
    assert "use --stdin" in result.stderr


def test_version_and_help(cli: Cli) -> None:
    from tuimail import __version__  # noqa: PLC0415

    assert cli.run("--version").stdout.strip() == f"tuimail {__version__}"
    help_text = cli.run("--help").stdout
    for command in ("check", "password"):
        assert command in help_text


@pytest.mark.mailstack
def test_wrong_protocol_on_port_says_so(mailstack: MailStack, cli: Cli) -> None:
    cli.write_config(
        account(
            mailstack, "a", "alice", incoming_port=mailstack.pop3s, outgoing_port=mailstack.imaps
        )
    )
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check", "--config", str(cli.config))
    assert result.returncode == 1
    assert "does not answer like an IMAP server" in result.stdout
    assert "does not answer like an SMTP server" in result.stdout
    assert result.stdout.count("Is the port right?") == 2


@pytest.mark.mailstack
def test_tls_on_a_starttls_port_hints_at_starttls(mailstack: MailStack, cli: Cli) -> None:
    cli.write_config(account(mailstack, "a", "alice", incoming_port=mailstack.imap))
    _set_password(cli, "a", mailstack.password("alice"))
    result = cli.run("check")
    assert "FAILED: TLS failed:" in result.stdout
    assert 'set security = "starttls"' in result.stdout
