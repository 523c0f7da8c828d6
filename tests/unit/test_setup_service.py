"""The setup service's small parts: the discovery hook, names, forms, and `tuimail setup`."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from helpers.cli import Cli

from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import Discovery, Source
from tuimail.model.errors import ConfigError
from tuimail.services import setup


def test_discovery_is_found_by_name_when_first_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wizard calls tuimail.services.discover.discover once that module exists."""
    calls: list[tuple[str, float]] = []
    module = types.ModuleType(setup.DISCOVERY_MODULE)

    def discover(email: str, **options: object) -> Discovery:
        calls.append((email, float(options["timeout"])))  # type: ignore[arg-type]
        return Discovery(email, Source.GUESS, (), ())

    module.discover = discover  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, setup.DISCOVERY_MODULE, module)
    found = setup.default_discover("a@example.org", timeout=3.0)
    assert found is not None
    assert found.source is Source.GUESS
    assert calls == [("a@example.org", 3.0)]


def test_without_discovery_nothing_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, setup.DISCOVERY_MODULE, None)  # import fails
    said: list[str] = []
    assert setup.default_discover("a@example.org", on_progress=said.append) is None
    assert said == ["Automatic discovery is not available in this tuimail."]
    assert importlib.util.find_spec("tuimail.services.setup") is not None


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
