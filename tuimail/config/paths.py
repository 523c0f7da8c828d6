"""Where tuimail keeps its settings, data and cache (platformdirs; XDG variables respected)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "tuimail"
CONFIG_ENV = "TUIMAIL_CONFIG"


@dataclass(frozen=True)
class Paths:
    """The files and directories of one tuimail installation."""

    config_file: Path
    data_dir: Path
    """Durable data: the password vault, POP3 ledgers, local mail."""
    cache_dir: Path
    """Disposable data: the message cache, rebuilt from the servers when lost."""

    @property
    def outbox_file(self) -> Path:
        """Messages waiting to be sent: data, not cache (deleting the cache never loses them)."""
        return self.data_dir / "outbox.sqlite"

    @property
    def vault_file(self) -> Path:
        """The encrypted password vault."""
        return self.data_dir / "passwords.vault"

    def ensure_private_dirs(self) -> None:
        """Create the data and cache directories readable by the owner only."""
        for directory in (self.data_dir, self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)


def pop3_maildir(account: str) -> Path:
    """Where a POP3 account's mail is kept unless its settings name a Maildir."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "mail" / account


def default_paths(config_override: str | os.PathLike[str] | None = None) -> Paths:
    """Resolve paths: ``--config`` first, then ``$TUIMAIL_CONFIG``, then the XDG config dir."""
    if config_override is not None:
        config_file = Path(config_override).expanduser()
    elif os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV]).expanduser()
    else:
        config_file = Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
    return Paths(
        config_file=config_file,
        data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME)),
    )
