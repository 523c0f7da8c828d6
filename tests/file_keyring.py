"""A real keyring backend that keeps its entries in a JSON file in a test's temp dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_ENV = "TUIMAIL_TEST_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    """Stores passwords in the file named by ``$TUIMAIL_TEST_KEYRING_FILE`` (tests only)."""

    priority = -1  # never chosen unless named: tests set it

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or Path(os.environ[FILE_ENV])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, str]) -> None:
        self.path.write_text(json.dumps(data))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError(username)
        self._save(data)


class HangingKeyring(KeyringBackend):
    """A keyring that never answers, like a locked desktop keyring waiting for a GUI unlock."""

    priority = -1

    def get_password(self, service: str, username: str) -> str | None:
        import threading  # noqa: PLC0415

        threading.Event().wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("never reached")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("never reached")
