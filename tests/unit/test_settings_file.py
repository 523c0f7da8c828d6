"""Accounts written into the settings file: added at the end, edited and removed in place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tuimail.config.settings import load_settings
from tuimail.config.settings_file import add_account, remove_account, replace_account
from tuimail.model.account import Account, Endpoint, Pop3Options, Protocol, Security
from tuimail.model.errors import ConfigError

COMMENTED = """\
# tuimail settings, written by hand
[secrets]
store = "auto"  # the keyring when it answers

# my work mail
[accounts.work]
name = "Work Me"   # shown in From
email = "me@work.example"
[accounts.work.incoming]
host = "imap.work.example"  # the office server
# 993 is the default anyway
port = 993
username = "me"

# keys I like
[keys]
"inbox.delete" = "x"
"""

PIN = ":".join(["AB"] * 32)


def _alice() -> Account:
    return Account(
        "alice",
        "Alice",
        "alice@example.test",
        Endpoint(Protocol.IMAP, "imap.example.test", 993, Security.TLS, "alice"),
        Endpoint(Protocol.SMTP, "smtp.example.test", 465, Security.TLS, "alice"),
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    return path


def test_add_appends_and_keeps_every_byte_before(config: Path) -> None:
    settings = add_account(config, _alice())
    text = config.read_text()
    assert text.startswith(COMMENTED)  # the file as written, untouched
    assert text.index("[accounts.alice]") > text.index('"inbox.delete" = "x"')
    assert [a.id for a in settings.accounts] == ["work", "alice"]
    alice = load_settings(config).account("alice")
    assert alice == _alice()


def test_add_creates_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    add_account(path, _alice())
    assert load_settings(path).accounts == (_alice(),)
    assert path.stat().st_mode & 0o777 == 0o600


def test_add_refuses_a_name_taken(config: Path) -> None:
    with pytest.raises(ConfigError, match="already has an account named 'work'"):
        add_account(config, replace(_alice(), id="work"))
    assert config.read_text() == COMMENTED


def test_edit_changes_values_in_place_and_keeps_comments(config: Path) -> None:
    work = load_settings(config).account("work")
    assert work.incoming is not None
    edited = replace(
        work,
        incoming=replace(work.incoming, host="mail.work.example", tls_fingerprint=PIN),
        outgoing=Endpoint(Protocol.SMTP, "smtp.work.example", 587, Security.STARTTLS, "me"),
    )
    replace_account(config, edited)
    text = config.read_text()
    for comment in (
        "# tuimail settings, written by hand",
        "# the keyring when it answers",
        "# my work mail",
        "# shown in From",
        "# the office server",
        "# 993 is the default anyway",
        "# keys I like",
    ):
        assert comment in text
    assert 'host = "mail.work.example"  # the office server' in text
    # a new key goes after the table's values, not under the comment that heads [keys]
    assert text.index("tls_fingerprint") < text.index("# keys I like")
    assert text.index("# keys I like") + len("# keys I like\n") == text.index("[keys]")
    assert load_settings(config).account("work") == edited
    assert load_settings(config).keys == (("inbox.delete", "x"),)


def test_edit_to_pop3_adds_its_options(config: Path) -> None:
    work = load_settings(config).account("work")
    assert work.incoming is not None
    pop3 = replace(
        work,
        incoming=replace(work.incoming, protocol=Protocol.POP3, port=995),
        pop3=Pop3Options(leave_on_server=True, delete_after_days=14),
    )
    replace_account(config, pop3)
    again = load_settings(config).account("work")
    assert again.local is not None  # POP3 mail is read from a Maildir of its own
    assert again == replace(pop3, local=again.local)
    assert "# keys I like\n[keys]" in config.read_text()


def test_remove_keeps_the_rest_and_its_comments(config: Path) -> None:
    add_account(config, _alice())
    remove_account(config, "work")
    text = config.read_text()
    assert "[accounts.work" not in text
    assert "me@work.example" not in text
    assert "# my work mail" not in text  # the comment right above it went with it
    assert text.startswith('# tuimail settings, written by hand\n[secrets]\nstore = "auto"')
    assert "# keys I like\n[keys]" in text
    assert "\n\n\n" not in text
    settings = load_settings(config)
    assert settings.accounts == (_alice(),)
    remove_account(config, "alice")
    assert load_settings(config).accounts == ()
    assert "# keys I like" in config.read_text()


def test_remove_unknown_account(config: Path) -> None:
    with pytest.raises(ConfigError, match="No account named 'nobody'"):
        remove_account(config, "nobody")
    assert config.read_text() == COMMENTED


def test_accounts_as_inline_tables_still_work(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '# inline\naccounts = { bob = { email = "bob@example.test", incoming = '
        '{ host = "imap.example.test" } } }\n'
    )
    add_account(path, _alice())
    assert [a.id for a in load_settings(path).accounts] == ["bob", "alice"]
    remove_account(path, "bob")
    assert [a.id for a in load_settings(path).accounts] == ["alice"]
    assert "# inline" in path.read_text()


def test_a_write_that_would_not_read_back_is_refused(config: Path) -> None:
    broken = replace(_alice(), incoming=replace(_alice().incoming, host="bad/host"))  # type: ignore[type-var]
    with pytest.raises(ConfigError, match="host"):
        add_account(config, broken)
    assert config.read_text() == COMMENTED


def test_a_pop3_account_keeps_its_server_apop_and_maildir(tmp_path: Path) -> None:
    """POP3 accounts read from a Maildir of their own: editing keeps the server, apop and it."""
    maildir = tmp_path / "pop-mail"
    path = tmp_path / "config.toml"
    path.write_text(
        '[accounts.pop]\nemail = "p@example.test"\n[accounts.pop.incoming]\nprotocol = "pop3"\n'
        'host = "pop.example.test"\nport = 995\n[accounts.pop.pop3]\napop = true  # old server\n'
        f'maildir = "{maildir}"\n'
    )
    pop = load_settings(path).account("pop")
    assert pop.incoming is not None
    assert pop.local is not None
    edited = replace(pop, pop3=replace(pop.pop3, delete_after_days=30))
    replace_account(path, edited)
    again = load_settings(path).account("pop")
    assert again == edited
    assert again.pop3.apop
    assert "apop = true  # old server" in path.read_text()
