"""The check report reads well at 80 columns: wrapped, indented, fingerprints never split."""

from __future__ import annotations

import io

import pytest

from tuimail.cli import _print_report
from tuimail.model.account import Protocol, Role, Security
from tuimail.model.errors import TlsError
from tuimail.model.report import ServerReport

FINGERPRINT = ":".join(["5B"] * 32)


def test_report_wraps_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    error = TlsError(
        "The certificate of mail.example.test:993 is not trusted (self-signed certificate in "
        f"certificate chain).\n  SHA-256     {FINGERPRINT}\nIf this is your own server, trust "
        "its CA with ca_file, or pin this fingerprint with tls_fingerprint.",
        title="Certificate not trusted",
    )
    report = ServerReport(
        account="work",
        role=Role.INCOMING,
        protocol=Protocol.IMAP,
        address="mail.example.test:993",
        security=Security.TLS,
        greeting="* OK " + " ".join(f"CAPABILITY-{n}" for n in range(30)),
        error=error,
    )
    out = io.StringIO()
    _print_report(report, out)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if len(line) > 79 and FINGERPRINT not in line] == []
    assert sum(FINGERPRINT in line for line in lines) == 1
    assert lines[0].startswith("  greeting      * OK")
    assert all(line.startswith(" " * 16) for line in lines[1:3])
    assert any(
        line.startswith("  FAILED: Certificate not trusted: The certificate") for line in lines
    )
