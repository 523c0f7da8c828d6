"""Checking accounts: connect to each server, verify TLS, log in, report what was found."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from tuimail.backends import pop3, smtp
from tuimail.backends.imap import connection as imap
from tuimail.config.secrets import Secrets
from tuimail.model.account import Account, Endpoint, Protocol, Role
from tuimail.model.errors import MailError
from tuimail.model.report import ServerReport
from tuimail.services.events import EventSink, ServerChecked, ServerCheckStarted, ignore_events

_PROBES: dict[Protocol, Callable[[str, Role, Endpoint, str], ServerReport]] = {
    Protocol.IMAP: imap.probe,
    Protocol.POP3: pop3.probe,
    Protocol.SMTP: smtp.probe,
}


def probe_endpoint(account_id: str, role: Role, endpoint: Endpoint, password: str) -> ServerReport:
    """Connect to one server, check TLS and log in with this password; the report says how."""
    return _PROBES[endpoint.protocol](account_id, role, endpoint, password)


def check_server(
    account: Account, role: Role, endpoint: Endpoint, secrets: Secrets
) -> ServerReport:
    """Test one server of an account; a missing password is reported like any other failure."""
    try:
        password = secrets.password(account, role)
    except MailError as exc:
        return ServerReport(
            account=account.id,
            role=role,
            protocol=endpoint.protocol,
            address=endpoint.address,
            security=endpoint.security,
            error=exc,
        )
    return probe_endpoint(account.id, role, endpoint, password)


def check_accounts(
    accounts: Iterable[Account],
    secrets: Secrets,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> list[ServerReport]:
    """Test every server of the given accounts in turn, incoming before outgoing."""
    reports: list[ServerReport] = []
    for account in accounts:
        for role, endpoint in account.endpoints:
            if cancel is not None and cancel.is_set():
                return reports
            on_event(ServerCheckStarted(account.id, role, endpoint))
            report = check_server(account, role, endpoint, secrets)
            reports.append(report)
            on_event(ServerChecked(report))
    return reports
