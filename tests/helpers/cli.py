"""Running tuimail as a user would: a subprocess with its own XDG dirs and a file keyring."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mailstack.stack import MailStack

TESTS = Path(__file__).resolve().parents[1]


@dataclass
class Cli:
    """Runs tuimail in a subprocess with its own XDG dirs and a file keyring in a temp dir."""

    home: Path

    @property
    def config(self) -> Path:
        return self.home / "config" / "tuimail" / "config.toml"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TUIMAIL_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            PYTHONPATH=str(TESTS),
            PYTHON_KEYRING_BACKEND="file_keyring.FileKeyring",
            TUIMAIL_TEST_KEYRING_FILE=str(self.home / "keyring.json"),
            COLUMNS="200",  # the assertions read content, not the wrapping at 80 columns
        )
        env.update(extra)
        return env

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tuimail", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(**env),
            timeout=120,
            check=False,
        )

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)


def account(
    stack: MailStack,
    name: str,
    user: str,
    *,
    protocol: str = "imap",
    security: str = "tls",
    incoming_port: int | None = None,
    outgoing_port: int | None = None,
    ca: bool = True,
    extra: str = "",
) -> str:
    """One [accounts.NAME] block for a user of the stack."""
    ports = {
        ("imap", "tls"): stack.imaps,
        ("imap", "starttls"): stack.imap,
        ("imap", "none"): stack.imap,
        ("pop3", "tls"): stack.pop3s,
        ("pop3", "starttls"): stack.pop3,
    }
    ca_line = f'ca_file = "{stack.ca_file}"\n' if ca else ""
    text = f"""
[accounts.{name}]
name = "{user.title()}"
email = "{stack.address(user)}"
[accounts.{name}.incoming]
protocol = "{protocol}"
host = "localhost"
port = {incoming_port or ports[(protocol, security)]}
security = "{security}"
username = "{user}"
timeout = 10
{ca_line}{extra}
"""
    if outgoing_port is not None or security != "none":
        smtp_port = outgoing_port or (stack.smtps if security == "tls" else stack.submission)
        text += f"""
[accounts.{name}.outgoing]
host = "localhost"
port = {smtp_port}
security = "{security}"
username = "{user}"
timeout = 10
{ca_line}"""
    return text
