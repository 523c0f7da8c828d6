"""An encrypted password vault in one file: scrypt-derived key, AES-256-GCM, written atomically."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from tuimail.model.errors import SecretError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT = "tuimail-vault-1"
_AAD = _FORMAT.encode()
_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**27, dklen=32
    )


# cryptography loads when a vault is opened or written, not with every start of the app


def _aesgcm(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    return AESGCM(key)


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415

    return InvalidTag


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Vault:
    """Passwords by key, kept encrypted on disk under a passphrase that is never stored."""

    def __init__(self, path: Path, key: bytes, salt: bytes, entries: dict[str, str]) -> None:
        self.path = path
        self._key = key
        self._salt = salt
        self._entries = entries

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r}, {len(self._entries)} entries)"

    @classmethod
    def exists(cls, path: Path) -> bool:
        """True when a vault file is there."""
        return path.is_file()

    @classmethod
    def create(cls, path: Path, passphrase: str) -> Vault:
        """Make a new, empty vault file; refuse to overwrite one that exists."""
        if not passphrase:
            raise SecretError("The vault passphrase must not be empty.")
        if path.exists():
            raise SecretError(f"A password vault already exists at {path}.")
        salt = secrets.token_bytes(16)
        vault = cls(path, _derive(passphrase, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P), salt, {})
        vault._write()
        return vault

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Vault:
        """Read and decrypt the vault; a wrong passphrase raises SecretError."""
        try:
            document = json.loads(path.read_text(encoding="ascii"))
            if document.get("format") != _FORMAT:
                raise ValueError("unknown format")
            kdf = document["kdf"]
            salt = base64.b64decode(kdf["salt"])
            nonce = base64.b64decode(document["nonce"])
            ciphertext = base64.b64decode(document["ciphertext"])
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        except FileNotFoundError:
            raise SecretError(f"There is no password vault at {path}.") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SecretError(f"The password vault {path} is damaged ({exc}).") from None
        key = _derive(passphrase, salt, n, r, p)
        try:
            plaintext = _aesgcm(key).decrypt(nonce, ciphertext, _AAD)
        except _invalid_tag():
            raise SecretError(
                f"Wrong passphrase for the password vault {path}.", title="Vault locked"
            ) from None
        entries = json.loads(plaintext)
        if not isinstance(entries, dict):
            raise SecretError(f"The password vault {path} is damaged.")
        return cls(path, key, salt, {str(k): str(v) for k, v in entries.items()})

    def get(self, key: str) -> str | None:
        """The password stored under ``key``, if any."""
        return self._entries.get(key)

    def keys(self) -> list[str]:
        """The keys that have a password."""
        return sorted(self._entries)

    def set(self, key: str, password: str) -> None:
        """Store a password and write the vault."""
        self._entries[key] = password
        self._write()

    def delete(self, key: str) -> bool:
        """Remove a password; True when there was one."""
        if key not in self._entries:
            return False
        del self._entries[key]
        self._write()
        return True

    def _write(self) -> None:
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(self._entries).encode("utf-8")
        document = {
            "format": _FORMAT,
            "kdf": {
                "name": "scrypt",
                "salt": _b64(self._salt),
                "n": _SCRYPT_N,
                "r": _SCRYPT_R,
                "p": _SCRYPT_P,
            },
            "cipher": "AES-256-GCM",
            "nonce": _b64(nonce),
            "ciphertext": _b64(_aesgcm(self._key).encrypt(nonce, plaintext, _AAD)),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SecretError(
                f"Could not write the password vault {self.path}: {exc.strerror}. "
                "Nothing was changed."
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
