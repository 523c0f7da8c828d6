"""The setup service's small parts: the discovery hook, names, forms, and `tuimail setup`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import Cli

from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import Discovery, Source
from tuimail.model.errors import ConfigError
from tuimail.services import setup


def test_the_wizard_uses_the_discovery_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a discover function given, the setup asks tuimail.services.discover.discover."""
    calls: list[tuple[str, float]] = []

    def discover(email: str, **options: object) -> Discovery:
        calls.append((email, float(options["timeout"])))  # type: ignore[arg-type]
        return Discovery(email, Source.GUESS, (), ())

    monkeypatch.setattr("tuimail.services.discover.discover", discover)
    paths = Paths(Path("/nonexistent/config.toml"), Path("/nonexistent"), Path("/nonexistent"))
    account_setup = setup.AccountSetup(
        paths, Secrets(paths.vault_file), cache_file=Path("/nonexistent/c"), discovery_timeout=3.0
    )
    found = account_setup.discover("a@example.org")
    assert found is not None
    assert found.source is Source.GUESS
    assert calls == [("a@example.org", 3.0)]


def test_account_names() -> None:
    assert setup.suggest_account_id("alice@example.test", []) == "example"
    assert setup.suggest_account_id("bob@example.test", ["example"]) == "example2"
    assert setup.suggest_account_id("a@gmail.com", ["gmail"]) == "gmail2"
    assert setup.suggest_account_id("a@localhost", []) == "localhost"


def test_server_form_checks_fields() -> None:
    form = setup.ServerForm(Protocol.IMAP, " mail.example.org ", "", Security.TLS, "alice")
    endpoint = form.endpoint("incoming")
    assert (endpoint.host, endpoint.port) == ("mail.example.org", 993)
    with pytest.raises(ConfigError, match="incoming port"):
        setup.ServerForm(Protocol.IMAP, "h", "70000", Security.TLS, "a").endpoint("incoming")
    with pytest.raises(ConfigError, match="host name"):
        setup.ServerForm(Protocol.IMAP, "a b", "1", Security.TLS, "a").endpoint("incoming")
    with pytest.raises(ConfigError, match="not an email address"):
        setup.check_email("alice")


def test_setup_without_a_terminal_says_what_to_do(tmp_path: Path) -> None:
    result = Cli(tmp_path).run("setup")
    assert result.returncode == 2
    assert "tuimail setup needs a terminal" in result.stderr
    no_account = Cli(tmp_path).run()
    assert "tuimail setup" in no_account.stdout
