"""Events that services report through their ``on_event`` callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tuimail.model.account import Endpoint, Role
from tuimail.model.report import ServerReport


@dataclass(frozen=True)
class Event:
    """Base of every service event."""


@dataclass(frozen=True)
class ServerCheckStarted(Event):
    """A connection test of one server began."""

    account: str
    role: Role
    endpoint: Endpoint


@dataclass(frozen=True)
class ServerChecked(Event):
    """A connection test of one server ended, well or not."""

    report: ServerReport


EventSink = Callable[[Event], None]
"""Where a service sends its events; called from the service's thread."""


def ignore_events(event: Event) -> None:
    """An event sink that drops everything."""
