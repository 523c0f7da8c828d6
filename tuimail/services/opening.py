"""Which command opens an attachment: the [open] table of the settings, then the desktop's."""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import sys
from collections.abc import Sequence


def configured_command(
    rules: Sequence[tuple[str, str]], content_type: str, filename: str, path: str
) -> list[str] | None:
    """The argv of the first [open] rule that fits, the file's path in place of ``%s`` (or last).

    A rule with a ``/`` matches the MIME type (``image/*`` fits every image); any other matches
    the file's name (``*.odt``), case-insensitively. The path is one argument, never given to a
    shell.
    """
    kind = content_type.lower()
    name = filename.lower()
    for pattern, command in rules:
        subject = kind if "/" in pattern else name
        if not fnmatch.fnmatchcase(subject, pattern):
            continue
        words = shlex.split(command)
        if "%s" in words:
            return [path if word == "%s" else word for word in words]
        return [*words, path]
    return None


def desktop_opener() -> tuple[str | None, str]:
    """The desktop's opener (xdg-open, or open on macOS), or None with the reason in words."""
    if sys.platform != "darwin" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return None, "There is no display to open it on, and no [open] command fits it"
    name = "open" if sys.platform == "darwin" else "xdg-open"
    found = shutil.which(name)
    if found is None:
        return None, f"{name} is not installed, and no [open] command fits it"
    return found, ""
