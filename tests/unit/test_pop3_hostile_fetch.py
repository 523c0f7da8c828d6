"""A hostile POP3 server against the fetcher: each case ends with a clear error in time, with the
ledger and the Maildir consistent, and the password never on the wire unencrypted."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fakeserver.certs import CA, CertFiles, make_ca
from fakeserver.server import secret_in
from helpers.pop3_server import PASSWORD, Maildrop, serve

from tuimail.backends import pop3_mailbox
from tuimail.backends.local.maildir import Maildir
from tuimail.model.account import (
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.model.errors import MailError
from tuimail.services.pop3_fetch import FetchResult, fetch_pop3, ledger_file

TIMEOUT = 1.0
"""The account's timeout: small, so a case that hangs shows within seconds."""
GIVE_UP = 20.0
"""Every case must end well within this (a hang would take hours)."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CA, CertFiles]:
    path = tmp_path_factory.mktemp("pop3-pki")
    ca = make_ca(path, "pop3 hostile CA")
    return ca, ca.issue(path, ["127.0.0.1"])


def _msg(index: int) -> bytes:
    return (
        f"From: Someone <s@hostile.test>\nTo: pat@example.test\nSubject: message {index}\n"
        f"Message-ID: <h{index}@hostile.test>\nDate: Mon, 01 Jun 2026 10:00:0{index} +0000\n\n"
        f"Body {index}.\n"
    ).encode()


class Run:
    """Fetches from one scripted maildrop over implicit TLS and checks what every case needs."""

    def __init__(self, tmp_path: Path, pki: tuple[CA, CertFiles], count: int = 3) -> None:
        self.data = tmp_path / "data"
        self.maildir = tmp_path / "Mail"
        self.ca = pki[0]
        self.drop = Maildrop(tls=pki[1])
        for index in range(count):
            self.drop.add(_msg(index))
        self.originals = [_msg(index) for index in range(count)]

    def account(self, port: int) -> Account:
        endpoint = Endpoint(
            Protocol.POP3,
            "127.0.0.1",
            port,
            Security.TLS,
            "pat",
            ca_file=str(self.ca.cert_path),
            timeout=TIMEOUT,
        )
        return Account(
            "hostile",
            "Pat",
            "pat@example.test",
            endpoint,
            pop3=Pop3Options(),
            local=LocalSource(LocalFormat.MAILDIR, str(self.maildir)),
        )

    def fetch(self) -> FetchResult:
        with serve(self.drop) as server:
            started = time.monotonic()
            result = fetch_pop3(self.data, self.account(server.port), PASSWORD)
            elapsed = time.monotonic() - started
        assert elapsed < GIVE_UP, f"the fetch took {elapsed:.1f} s"
        assert secret_in(server.wire, PASSWORD) == [], "the password crossed the wire in clear"
        if server.decrypted:  # the canary is searchable: it is there inside TLS
            assert secret_in(server.decrypted, PASSWORD) == ["plain"]
        for error in result.errors:
            assert isinstance(error, MailError)
            assert PASSWORD not in error.message
        self.check_consistent()
        return result

    def stored(self) -> list[bytes]:
        if not self.maildir.exists():
            return []
        box = Maildir(self.maildir)
        return sorted(box.read("INBOX", e.key) for e in box.scan("INBOX"))

    def check_consistent(self) -> None:
        """Whole messages only, each once; the ledger's "stored" rows all have their file."""
        stored = self.stored()
        assert len(stored) == len(set(stored)), "a message was stored twice"
        assert all(raw in self.originals for raw in stored), "a half-written message"
        if self.maildir.exists():
            assert list((self.maildir / "tmp").iterdir()) == []
        path = ledger_file(self.data, "hostile")
        if not path.exists():
            return
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT state, local_name FROM message").fetchall()
        names = Maildir(self.maildir).uniques() if self.maildir.exists() else set()
        assert all(state != "writing" for state, _ in rows)
        assert {name for state, name in rows if state == "stored"} <= names
        assert len([1 for state, _ in rows if state == "stored"]) == len(stored)


@pytest.fixture
def run(tmp_path: Path, pki: tuple[CA, CertFiles]) -> Run:
    return Run(tmp_path, pki)


def _one_error(result: FetchResult) -> MailError:
    assert len(result.errors) == 1, [e.message for e in result.errors]
    return result.errors[0]


def test_a_clean_fetch_over_tls_for_comparison(run: Run) -> None:
    result = run.fetch()
    assert not result.errors, [e.message for e in result.errors]
    assert result.downloaded == 3
    assert run.stored() == sorted(run.originals)


def test_connection_dropped_mid_retr_stores_nothing_half_and_next_fetch_gets_it(
    run: Run,
) -> None:
    run.drop.retr = {2: "drop"}
    error = _one_error(run.fetch())
    assert "closed the connection" in error.message
    assert "RETR" in error.message
    assert len(run.drop.messages) == 3  # nothing deleted on the server
    run.drop.retr = {}
    again = run.fetch()
    assert not again.errors, [e.message for e in again.errors]
    assert run.stored() == sorted(run.originals)
    assert run.fetch().downloaded == 0


def test_slow_drip_inside_retr_ends_within_the_timeout(run: Run) -> None:
    run.drop.retr = {1: "drip"}
    error = _one_error(run.fetch())
    assert "too slowly" in error.message
    run.drop.retr = {}
    assert run.fetch().downloaded == 3


def test_slow_drip_behind_a_4_gb_list_size_still_ends(run: Run) -> None:
    """The server's own size claim must not buy it hours of dripping."""
    run.drop.retr = {1: "drip"}
    run.drop.list_lines = lambda current: b"".join(
        b"%d 4294967296\r\n" % (i + 1) for i in range(len(current))
    )
    error = _one_error(run.fetch())
    assert "too slowly" in error.message


def test_retr_answer_that_never_ends_is_cut_at_the_size_cap(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pop3_mailbox, "MAX_MESSAGE", 2 * 1024 * 1024)
    run.drop.retr = {3: "endless"}
    error = _one_error(run.fetch())
    assert "more than 2,097,152 bytes" in error.message
    assert len(run.drop.messages) == 3


def test_list_claiming_4_gb_and_absurd_sizes(run: Run) -> None:
    sizes = [b"4294967296", b"99999999999999999999999999", b"-5"]
    run.drop.list_lines = lambda current: b"".join(
        b"%d %s\r\n" % (i + 1, sizes[i]) for i in range(len(current))
    )
    result = run.fetch()
    assert not result.errors, [e.message for e in result.errors]
    assert run.stored() == sorted(run.originals)
    run.drop.list_lines = None
    assert run.fetch().downloaded == 0


def test_uidl_numbers_out_of_range_and_repeated(run: Run) -> None:
    run.drop.uidl_lines = lambda current: (
        b"1 first\r\n2 second\r\n3 third\r\n1 again-first\r\n99 ghost\r\n0 zero\r\n"
    )
    result = run.fetch()
    assert not result.errors, [e.message for e in result.errors]
    assert run.stored() == sorted(run.originals)  # each exactly once
    assert any("does not have; tuimail ignored them" in n for n in result.notices)
    assert any("repeated unique id" in n for n in result.notices)
    again = run.fetch()
    assert again.downloaded == 0
    assert run.stored() == sorted(run.originals)


def test_err_to_retr_of_one_message_stores_the_others_and_retries_it(run: Run) -> None:
    run.drop.retr = {2: "err"}
    error = _one_error(run.fetch())
    assert "refused message 2" in error.message
    assert "locked by another session" in error.message
    assert run.stored() == sorted([run.originals[0], run.originals[2]])
    run.drop.retr = {}
    again = run.fetch()
    assert not again.errors
    assert again.downloaded == 1
    assert run.stored() == sorted(run.originals)


def test_garbage_instead_of_a_greeting(run: Run) -> None:
    run.drop.greeting = b"HTTP/1.1 400 Bad Request"
    error = _one_error(run.fetch())
    assert "does not answer like a POP3 server" in error.message
    assert run.stored() == []
    assert "PASS" not in run.drop.commands


def test_garbage_instead_of_ok_to_retr(run: Run) -> None:
    run.drop.retr = {1: "garbage"}
    error = _one_error(run.fetch())
    assert "refused message 1" in error.message
    assert run.stored() == sorted(run.originals[1:])
