"""A small tmpfs to run out of space on: mounted for one test, filled, freed, unmounted."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class SmallDisk:
    """A mounted tmpfs of a few megabytes; ``fill()`` takes every free byte, ``free()`` gives
    them back."""

    root: Path

    @property
    def _filler(self) -> Path:
        return self.root / ".filler"

    def fill(self, leave: int = 0) -> None:
        """Write a file until the disk says ENOSPC, down to the last byte; then give ``leave``
        bytes back (room for a lock file, say)."""
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1):
                block = b"\0" * size
                while True:
                    try:
                        os.write(descriptor, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(descriptor)
        if leave:
            os.truncate(self._filler, self._filler.stat().st_size - leave)

    def free(self) -> None:
        """Give the filled space back."""
        self._filler.unlink(missing_ok=True)

    def available(self) -> int:
        """Bytes free."""
        info = os.statvfs(self.root)
        return info.f_bavail * info.f_frsize


@contextlib.contextmanager
def small_disk(where: Path, size: str = "4m") -> Iterator[SmallDisk]:
    """Mount a tmpfs of ``size`` at ``where`` (needs root, like the mail stack: fails otherwise)."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root (tests/run runs as root or through sudo)")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True
    )
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)  # even if a file is open
