"""The settings file: the documented schema parses; every mistake names the file, key and fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuimail.config.paths import default_paths
from tuimail.config.settings import SecretStoreChoice, load_settings, parse_settings
from tuimail.model.account import Protocol, Security
from tuimail.model.errors import ConfigError

README_EXAMPLE = """
[accounts.work]
name = "Alice Example"
email = "alice@example.test"
default = true
[accounts.work.incoming]
protocol = "imap"          # imap | pop3
host = "mail.example.test"
port = 993
security = "tls"           # tls (implicit) | starttls | none
username = "alice"
password_command = "pass show mail/work"   # optional
[accounts.work.outgoing]   # SMTP; same keys as incoming except protocol
host = "mail.example.test"
port = 465
security = "tls"
username = "alice"
[accounts.work.pop3]
leave_on_server = true
delete_after_days = 0      # 0: never delete from the server
"""

PATH = Path("/home/alice/.config/tuimail/config.toml")


def test_documented_schema_parses() -> None:
    settings = parse_settings(PATH, README_EXAMPLE)
    (account,) = settings.accounts
    assert account.id == "work"
    assert account.name == "Alice Example"
    assert account.default
    assert account.server().protocol is Protocol.IMAP
    assert account.server().security is Security.TLS
    assert account.server().port == 993
    assert account.server().password_command == "pass show mail/work"
    assert account.outgoing is not None
    assert account.outgoing.protocol is Protocol.SMTP
    assert account.outgoing.port == 465
    assert account.pop3.leave_on_server
    assert settings.account(None) is account


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "tls", 993),
        ("imap", "starttls", 143),
        ("pop3", "tls", 995),
        ("pop3", "starttls", 110),
    ],
)
def test_port_defaults_follow_protocol_and_security(
    protocol: str, security: str, port: int
) -> None:
    text = f"""
[accounts.a]
email = "a@example.test"
[accounts.a.incoming]
protocol = "{protocol}"
host = "h"
security = "{security}"
[accounts.a.outgoing]
host = "h"
security = "{security}"
"""
    account = parse_settings(PATH, text).accounts[0]
    assert account.server().port == port
    assert account.outgoing is not None
    assert account.outgoing.port == (465 if security == "tls" else 587)
    assert account.server().username == "a@example.test"  # the address when no username is set


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings(PATH, text)
    message = info.value.message
    assert message.startswith(str(PATH))
    assert "\n" not in message
    return message


def test_bad_toml_names_line() -> None:
    message = _error("[accounts.work\nemail = 1")
    assert "not valid TOML" in message
    assert "line 1" in message


def test_unknown_key_lists_known_ones() -> None:
    message = _error('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhots = "x"\n')
    assert "[accounts.w.incoming] hots is not a known setting" in message
    assert "host" in message


def test_wrong_type() -> None:
    message = _error('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\nport="993"\n')
    assert "[accounts.w.incoming] port must be a whole number from 1 to 65535" in message


def test_port_out_of_range() -> None:
    message = _error('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\nport=70000\n')
    assert "port must be a whole number from 1 to 65535, not 70000" in message


def test_missing_host() -> None:
    message = _error('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nport=993\n')
    assert "[accounts.w.incoming] host is missing" in message


def test_missing_incoming() -> None:
    assert "[accounts.w] incoming is missing" in _error('[accounts.w]\nemail="a@b.c"\n')


def test_bad_security_choice() -> None:
    message = _error(
        '[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\nsecurity="ssl"\n'
    )
    assert 'security must be one of "tls" | "starttls" | "none"' in message


def test_boolean_is_not_a_number() -> None:
    message = _error('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\nport=true\n')
    assert "port must be a whole number" in message


def test_outgoing_has_no_protocol_key() -> None:
    text = '[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\n'
    text += '[accounts.w.outgoing]\nhost="h"\nprotocol="smtp"\n'
    assert "[accounts.w.outgoing] protocol is not a known setting" in _error(text)


def test_bad_email_and_two_defaults() -> None:
    assert "email must be an address" in _error(
        '[accounts.w]\nemail="alice"\n[accounts.w.incoming]\nhost="h"\n'
    )
    one = '[accounts.{0}]\nemail="a@b.c"\ndefault=true\n[accounts.{0}.incoming]\nhost="h"\n'
    assert "more than one account has default = true" in _error(one.format("a") + one.format("b"))


def test_missing_ca_file(tmp_path: Path) -> None:
    text = '[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\n'
    text += f'ca_file="{tmp_path}/no.pem"\n'
    assert "ca_file names" in _error(text)


def test_fingerprint_normalised() -> None:
    pin = "sha256:" + "ab" * 32
    text = (
        f'[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\ntls_fingerprint="{pin}"\n'
    )
    endpoint = parse_settings(PATH, text).accounts[0].server()
    assert endpoint.tls_fingerprint == ":".join(["AB"] * 32)
    assert "tls_fingerprint must be a SHA-256" in _error(text.replace("ab" * 32, "ab" * 20))


def test_secrets_table() -> None:
    settings = parse_settings(PATH, '[secrets]\nstore = "vault"\nkeyring_timeout = 2\n')
    assert settings.secret_store is SecretStoreChoice.VAULT
    assert settings.keyring_timeout == 2.0
    assert "[top level] colour is not a known setting" in _error('colour = "blue"\n')


def test_missing_file_means_no_accounts(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml")
    assert settings.accounts == ()
    with pytest.raises(ConfigError, match="No account is configured"):
        settings.account(None)


def test_unknown_account_named() -> None:
    settings = parse_settings(PATH, README_EXAMPLE)
    with pytest.raises(ConfigError, match=r"No account named 'home'.*accounts: work"):
        settings.account("home")


def test_paths_follow_xdg_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TUIMAIL_CONFIG", raising=False)
    paths = default_paths()
    assert paths.config_file == tmp_path / "cfg" / "tuimail" / "config.toml"
    assert paths.data_dir == tmp_path / "data" / "tuimail"
    assert paths.cache_dir == tmp_path / "cache" / "tuimail"
    monkeypatch.setenv("TUIMAIL_CONFIG", str(tmp_path / "env.toml"))
    assert default_paths().config_file == tmp_path / "env.toml"
    assert default_paths(tmp_path / "arg.toml").config_file == tmp_path / "arg.toml"
    paths.ensure_private_dirs()
    assert (paths.data_dir.stat().st_mode & 0o777) == 0o700


def test_cli_reports_config_error_with_status_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhots="x"\n')
    result = subprocess.run(
        [sys.executable, "-m", "tuimail", "--config", str(config), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{config}: [accounts.w.incoming] hots is not a known setting" in result.stderr
    assert "Traceback" not in result.stderr


def test_protocol_choices_are_the_incoming_ones() -> None:
    base = '[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\nprotocol="{}"\n'
    for wrong in ("imaps", "smtp"):
        message = _error(base.format(wrong))
        assert f'protocol must be one of "imap" | "pop3", not {wrong!r}' in message


@pytest.mark.parametrize("host", ["localhost:993", "imaps://mail.example.test"])
def test_host_with_port_or_scheme(host: str) -> None:
    message = _error(f'[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="{host}"\n')
    assert "host must be a host name only" in message
    assert "put the port in port" in message


def test_ca_file_that_is_not_pem(tmp_path: Path) -> None:
    not_pem = tmp_path / "hostname"
    not_pem.write_text("myhost\n")
    text = '[accounts.w]\nemail="a@b.c"\n[accounts.w.incoming]\nhost="h"\n'
    text += f'ca_file="{not_pem}"\n'
    assert "holds no PEM CA certificate" in _error(text)


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo.toml"
    for args, env in (
        (["--config", str(missing), "check"], {}),
        (["check", "--config", str(missing)], {}),
        (["check"], {"TUIMAIL_CONFIG": str(missing)}),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tuimail", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        assert result.returncode == 2, args
        assert f"The settings file {missing} does not exist." in result.stderr


def test_pop3_account_keeps_its_mail_in_a_maildir_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    text = """
[accounts.home]
email = "pat@example.org"
[accounts.home.incoming]
protocol = "pop3"
host = "pop.example.org"
[accounts.office]
email = "pat@example.com"
[accounts.office.incoming]
protocol = "pop3"
host = "pop.example.com"
[accounts.office.pop3]
leave_on_server = false
apop = true
maildir = "~/Mail/office"
"""
    settings = parse_settings(Path("x.toml"), text)
    home, office = settings.accounts
    assert home.local is not None
    assert office.local is not None
    assert home.local.path == str(tmp_path / "data" / "tuimail" / "mail" / "home")
    assert office.local.path == str(Path("~/Mail/office").expanduser())
    assert office.pop3.apop
    assert not office.pop3.leave_on_server
    assert home.incoming is not None
    assert home.incoming.protocol is Protocol.POP3
