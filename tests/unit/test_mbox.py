"""The mbox backend on real files: quoting, growth, flags, stable keys, locks, failed rewrites."""

from __future__ import annotations

import errno
import mailbox
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuimail.backends.local import mbox as mbox_module
from tuimail.backends.local.base import LocalMailboxError
from tuimail.backends.local.mbox import INBOX, Mbox, quote, unquote
from tuimail.model.folder import FolderRole
from tuimail.model.message import Flag, MessageRef

FROM_LINE = b"From alice@example.org Tue Jan  2 10:30:00 2024\n"


def _message(number: int, body: bytes = b"", *, extra: bytes = b"") -> bytes:
    """A small message; its body defaults to a line naming it."""
    return (
        b"From: Alice <alice@example.org>\n"
        b"To: bob@example.org\n"
        + f"Subject: message {number}\n".encode()
        + f"Message-ID: <{number}@example.org>\n".encode()
        + extra
        + b"\n"
        + (body or f"This is message {number}.\n".encode())
    )


def _mbox_file(*messages: bytes) -> bytes:
    """Messages (already quoted as they should be stored) in an mbox file."""
    return b"".join(FROM_LINE + message + b"\n" for message in messages)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _keys(box: Mbox) -> list[str]:
    return [entry.key for entry in box.scan(INBOX)]


def _read_only(box: Mbox) -> bool:
    """The flag, read through a call (mypy would keep it narrowed across method calls)."""
    return box.read_only


def _leftovers(directory: Path, name: str) -> list[str]:
    """Files the backend may have left beside the mailbox (temporary files, lock files)."""
    return sorted(entry for entry in os.listdir(directory) if entry != name)


# -- reading ---------------------------------------------------------------------------------


def test_empty_file_has_no_messages_and_takes_mail(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", b"")
    box = Mbox(path)

    assert box.scan(INBOX) == []
    assert not box.read_only
    key = box.deliver(INBOX, _message(1))

    assert _keys(box) == [key]
    assert box.read(INBOX, key) == _message(1)
    assert path.read_bytes().startswith(b"From alice@example.org ")


def test_missing_file_is_empty_and_created_on_delivery(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    box = Mbox(path)

    assert box.scan(INBOX) == []
    assert box.state(INBOX) == "absent"
    key = box.deliver(INBOX, _message(1))

    assert path.exists()
    assert box.read(INBOX, key) == _message(1)
    assert box.state(INBOX) != "absent"


def test_mboxrd_quoting_is_undone_on_read_and_kept_on_rewrite(tmp_path: Path) -> None:
    body = b"Hello\n\n>From the start\n>>From a quote\n>>>From deeper\nnot >From this\n"
    stored = _message(1, body)
    original = _mbox_file(stored, _message(2))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    first, second = _keys(box)

    assert box.read(INBOX, first) == _message(
        1, b"Hello\n\nFrom the start\n>From a quote\n>>From deeper\nnot >From this\n"
    )
    box.set_flags(INBOX, second, frozenset({Flag.SEEN}))

    assert path.read_bytes().startswith(FROM_LINE + stored + b"\n")
    box.set_flags(INBOX, second, frozenset())
    box.set_flags(INBOX, first, frozenset({Flag.FLAGGED}))
    assert b">From the start\n>>From a quote\n>>>From deeper\n" in path.read_bytes()


def test_mboxo_quoted_from_lines_read_as_from(tmp_path: Path) -> None:
    # an mboxo writer quotes "From " only, and may leave one not after a blank line alone
    body = b"Hi\n\n>From here on\nplain\nFrom the middle of a paragraph\n"
    original = _mbox_file(_message(1, body), _message(2))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    keys = _keys(box)
    unquoted = _message(1, b"Hi\n\nFrom here on\nplain\nFrom the middle of a paragraph\n")

    assert len(keys) == 2
    assert box.read(INBOX, keys[0]) == unquoted
    assert box.read(INBOX, keys[1]) == _message(2)
    # a change to either message leaves the first one's lines exactly as they were
    box.set_flags(INBOX, keys[1], frozenset({Flag.SEEN}))
    assert path.read_bytes().startswith(FROM_LINE + _message(1, body) + b"\n")
    assert box.set_flags(INBOX, keys[0], frozenset({Flag.SEEN})) == keys[0]
    assert box.read(INBOX, keys[0]) == unquoted.replace(b"\n\n", b"\nStatus: RO\n\n", 1)
    assert body in path.read_bytes()


def test_delivered_message_is_quoted_mboxrd_and_reads_back_exactly(tmp_path: Path) -> None:
    raw = _message(1, b"From me\n>From you\n>>From them\n\nFrom: not a header\n")
    path = tmp_path / "mbox"
    box = Mbox(path)
    key = box.deliver(INBOX, raw)

    stored = path.read_bytes()
    assert b"\n>From me\n>>From you\n>>>From them\n\nFrom: not a header\n\n" in stored
    assert stored.endswith(b"\n\n")
    assert box.read(INBOX, key) == raw
    assert Mbox(path).read(INBOX, key) == raw


def test_quote_and_unquote_are_inverse() -> None:
    text = b"From a\n>From b\nx From c\n>>From d\nFromage\n"
    assert quote(text) == b">From a\n>>From b\nx From c\n>>>From d\nFromage\n"
    assert unquote(quote(text)) == text


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.sampled_from(
            [b"From x", b">From y", b">>From z", b"", b"text", b"From", b"From: h", b" From w"]
        ),
        max_size=12,
    )
)
def test_any_body_round_trips_through_deliver(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "round-trip"
    path.unlink(missing_ok=True)
    raw = _message(1, b"\n".join([*lines, b"end"]) + b"\n")
    box = Mbox(path)
    first = box.deliver(INBOX, raw)
    second = box.deliver(INBOX, _message(2))

    fresh = Mbox(path)
    assert _keys(fresh) == [first, second]
    assert fresh.read(INBOX, first) == raw
    assert fresh.read(INBOX, second) == _message(2)


def test_last_message_without_trailing_newline(tmp_path: Path) -> None:
    data = _mbox_file(_message(1)) + FROM_LINE + _message(2, b"no newline at the end")
    path = _write(tmp_path / "mbox", data)
    box = Mbox(path)
    first, second = _keys(box)

    assert box.read(INBOX, second).endswith(b"\n\nno newline at the end")
    third = box.deliver(INBOX, _message(3))

    assert _keys(box) == [first, second, third]
    assert box.read(INBOX, second).endswith(b"\n\nno newline at the end\n")
    assert box.read(INBOX, third) == _message(3)
    assert _keys(Mbox(path)) == [first, second, third]


def test_flags_on_a_last_message_without_newline(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", FROM_LINE + b"Subject: only headers")
    box = Mbox(path)
    (key,) = _keys(box)

    assert box.set_flags(INBOX, key, frozenset({Flag.SEEN})) == key
    assert path.read_bytes() == FROM_LINE + b"Subject: only headers\nStatus: RO\n"
    assert Mbox(path).scan(INBOX)[0].flags == {Flag.SEEN}


def test_file_without_from_line_is_one_read_only_message(tmp_path: Path) -> None:
    data = b"Subject: not an mbox\n\nJust some text.\n"
    path = _write(tmp_path / "notes", data)
    box = Mbox(path)
    (key,) = _keys(box)

    assert box.read(INBOX, key) == data
    assert box.read_only
    assert "does not begin with a “From ” line" in box.notice
    with pytest.raises(LocalMailboxError, match="From"):
        box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    with pytest.raises(LocalMailboxError):
        box.deliver(INBOX, _message(1))
    assert path.read_bytes() == data


def test_blank_lines_before_the_first_message_are_kept(tmp_path: Path) -> None:
    data = b"\n" + _mbox_file(_message(1), _message(2))
    path = _write(tmp_path / "mbox", data)
    box = Mbox(path)
    first, second = _keys(box)

    assert not box.read_only
    box.delete(INBOX, [second])
    assert path.read_bytes() == b"\n" + _mbox_file(_message(1))
    assert _keys(Mbox(path)) == [first]


def test_content_length_does_not_split_messages(tmp_path: Path) -> None:
    lying = _message(1, b"First line\n\nsecond paragraph\n", extra=b"Content-Length: 5\n")
    path = _write(tmp_path / "mbox", _mbox_file(lying, _message(2)))
    box = Mbox(path)
    keys = _keys(box)

    assert len(keys) == 2
    assert box.read(INBOX, keys[0]) == lying


def test_only_from_lines_after_a_blank_line_start_messages(tmp_path: Path) -> None:
    body = b"line\nFrom inside the body\n"
    path = _write(tmp_path / "mbox", _mbox_file(_message(1, body)))
    (key,) = _keys(Mbox(path))
    assert Mbox(path).read(INBOX, key) == _message(1, body)


@pytest.mark.parametrize(
    ("line", "starts_a_message"),
    [
        (b"From the logs: all quiet", False),
        (b"From here on, Tuesday Jan 2 at 10:30 works", False),
        (b"From alice@example.org Tue Jan  2 10:30:00 2024", True),
        (b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200", True),
        (b"From - Mon Feb 18 10:20:31 2008", True),
        (b"From Tue Jan 2 10:30 2024", True),
    ],
)
def test_only_real_from_lines_after_a_blank_line_start_messages(
    tmp_path: Path, line: bytes, starts_a_message: bool
) -> None:
    # a writer that did not quote: mutt and Dovecot also check that the line looks like one
    data = FROM_LINE + _message(1, b"Hello\n\n" + line + b"\nmore\n") + b"\n"
    path = _write(tmp_path / "mbox", data)
    assert len(_keys(Mbox(path))) == (2 if starts_a_message else 1)


@pytest.mark.parametrize("chunk", [1, 7, 50, 64, 333])
def test_reading_in_small_chunks_finds_the_same_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    data = b"\n" + _mbox_file(
        _message(1, b"a\n\nFrom the logs\n>From x\n"),
        _message(2),
        _message(3, b"\n\n\n"),
        _message(4, b"From me\n"),
    )
    path = _write(tmp_path / "mbox", data)
    expected = Mbox(path).scan(INBOX)

    monkeypatch.setattr(mbox_module, "_CHUNK", chunk)
    box = Mbox(path)
    assert box.scan(INBOX) == expected
    assert [box.read(INBOX, entry.key) for entry in expected] == [
        _message(1, b"a\n\nFrom the logs\nFrom x\n"),
        _message(2),
        _message(3, b"\n\n\n"),
        _message(4, b"From me\n"),
    ]


def test_envelope_from_headers_and_from_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(7, extra=b"Status: RO\n")))
    box = Mbox(path)
    (entry,) = box.scan(INBOX)
    envelope = box.envelope(INBOX, entry, MessageRef("local", INBOX, 1))

    assert envelope.subject == "message 7"
    assert envelope.sender[0].email == "alice@example.org"
    assert envelope.message_id == "<7@example.org>"
    assert envelope.flags == {Flag.SEEN}
    assert envelope.size == entry.size == len(_message(7, extra=b"Status: RO\n"))
    local = datetime(2024, 1, 2, 10, 30).astimezone(UTC)
    assert envelope.arrived == local
    assert envelope.date == local  # no Date header: the delivery time stands in


def test_status_and_keywords_headers_become_flags(tmp_path: Path) -> None:
    messages = [
        _message(1),
        _message(2, extra=b"Status: O\n"),
        _message(3, extra=b"Status: RO\nX-Status: AF\n"),
        _message(4, extra=b"X-Status: TD\n"),
        _message(5, extra=b"X-Keywords: $Work, Later\n  $Urgent\n"),
    ]
    path = _write(tmp_path / "mbox", _mbox_file(*messages))
    entries = Mbox(path).scan(INBOX)

    assert [entry.flags for entry in entries] == [
        set(),
        set(),
        {Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED},
        {Flag.DRAFT, Flag.DELETED},
        set(),
    ]
    assert entries[4].keywords == {"$Work", "Later", "$Urgent"}


def test_one_folder_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1)))
    box = Mbox(path)
    (key,) = _keys(box)

    (folder,) = box.folders()
    assert (folder.name, folder.role, folder.total, folder.unread) == (
        "INBOX",
        FolderRole.INBOX,
        1,
        1,
    )
    with pytest.raises(LocalMailboxError, match="one folder"):
        box.scan("Archive")
    with pytest.raises(LocalMailboxError, match="one folder"):
        box.move(INBOX, [key], "Archive")
    with pytest.raises(LocalMailboxError, match="one folder"):
        box.copy(INBOX, [key], "Archive")
    box.move(INBOX, [key], "INBOX")
    assert _keys(box) == [key]


def test_copy_within_inbox_adds_a_copy_with_its_flags(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1, extra=b"Status: RO\n")))
    box = Mbox(path)
    (key,) = _keys(box)

    box.copy(INBOX, [key], INBOX)
    entries = box.scan(INBOX)

    assert len(entries) == 2
    assert entries[1].flags == {Flag.SEEN}
    assert entries[1].key == key[:-1] + "1"  # the same message again: its twin
    assert box.read(INBOX, entries[1].key) == box.read(INBOX, key)
    assert path.read_bytes().count(FROM_LINE) == 2  # the delivery time is kept


def test_a_message_handed_over_with_its_from_line_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    box = Mbox(path)
    key = box.deliver(INBOX, FROM_LINE + _message(1).replace(b"\n", b"\r\n"))

    assert path.read_bytes() == _mbox_file(_message(1))
    assert box.read(INBOX, key) == _message(1)


# -- keys ------------------------------------------------------------------------------------


def test_keys_are_stable_across_processes_and_count_twins(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(1), _message(2)))
    keys = _keys(Mbox(path))

    assert len(set(keys)) == 3
    assert keys[0].rsplit("-", 1)[0] == keys[1].rsplit("-", 1)[0]
    script = (
        "import sys\n"
        "from tuimail.backends.local.mbox import Mbox\n"
        "print(' '.join(e.key for e in Mbox(sys.argv[1]).scan('INBOX')))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, check=True, text=True
    )
    assert other.stdout.split() == keys


def test_keys_ignore_status_headers_other_programs_write(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(2)))
    before = _keys(Mbox(path))
    # what another mail reader's rewrite looks like: status headers added or changed
    _write(
        path,
        _mbox_file(
            _message(1, extra=b"Status: RO\nX-Status: F\nContent-Length: 20\nLines: 1\n"),
            _message(2, extra=b"X-UID: 17\nX-Keywords: $Later\n"),
        ),
    )
    assert _keys(Mbox(path)) == before


# -- growth and other writers ----------------------------------------------------------------


def test_mail_appended_by_another_program_appears_and_keys_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(*(_message(number) for number in range(1, 6))))
    box = Mbox(path)
    before = _keys(box)
    token = box.state(INBOX)

    appended = _mbox_file(_message(6), _message(7))
    script = (
        "import sys\nwith open(sys.argv[1], 'ab') as f:\n    f.write(sys.stdin.buffer.read())\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], input=appended, check=True)
    parsed: list[bytes] = []
    real_parse = mbox_module._parse

    def counting(data: bytes) -> mbox_module._Parsed:
        parsed.append(data)
        return real_parse(data)

    monkeypatch.setattr(mbox_module, "_parse", counting)

    assert box.state(INBOX) != token
    after = _keys(box)
    assert after[:5] == before
    assert len(after) == 7
    assert box.read(INBOX, after[6]) == _message(7)
    # only the old last message (it might have grown) and the new ones were read again
    assert len(parsed) == 3
    assert after == _keys(Mbox(path))


def test_a_change_before_the_end_means_a_full_rescan(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(2), _message(3)))
    box = Mbox(path)
    before = _keys(box)

    data = path.read_bytes().replace(b"message 1.", b"message I.") + _mbox_file(_message(4))
    with path.open("r+b") as handle:  # in place: same inode, larger
        handle.write(data)
    after = _keys(box)

    assert len(after) == 4
    assert after[0] != before[0]
    assert after[1:3] == before[1:3]
    assert after == _keys(Mbox(path))


def test_partly_written_last_message_is_read_again(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1)))
    box = Mbox(path)
    whole = FROM_LINE + _message(2) + b"\n"
    cut = len(FROM_LINE) + 20
    with path.open("ab") as handle:
        handle.write(whole[:cut])
    assert len(_keys(box)) == 2
    with path.open("ab") as handle:
        handle.write(whole[cut:])
    keys = _keys(box)

    assert box.read(INBOX, keys[1]) == _message(2)
    assert keys == _keys(Mbox(path))


def test_changes_apply_to_the_file_as_it_is_now(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(2)))
    box = Mbox(path)
    first, second = _keys(box)
    other = Mbox(path)
    third = other.deliver(INBOX, _message(3))
    other.set_flags(INBOX, first, frozenset({Flag.FLAGGED}))

    # box has not scanned since: its change is made to the current file, nothing is lost
    assert box.set_flags(INBOX, second, frozenset({Flag.SEEN})) == second
    entries = Mbox(path).scan(INBOX)
    assert [entry.key for entry in entries] == [first, second, third]
    assert [entry.flags for entry in entries] == [{Flag.FLAGGED}, {Flag.SEEN}, set()]


# -- flags and deletion ----------------------------------------------------------------------


def test_flags_are_written_as_status_headers_and_keys_stay(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(2, extra=b"Status: O\n")))
    box = Mbox(path)
    first, second = _keys(box)

    flags = frozenset({Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED})
    assert box.set_flags(INBOX, first, flags) == first
    assert box.set_flags(INBOX, second, frozenset({Flag.DRAFT})) == second

    data = path.read_bytes()
    assert b"Subject: message 1\nMessage-ID: <1@example.org>\nStatus: RO\nX-Status: AF\n\n" in data
    assert b"Message-ID: <2@example.org>\nStatus: O\nX-Status: T\n\n" in data
    again = Mbox(path)
    assert [(entry.key, entry.flags) for entry in again.scan(INBOX)] == [
        (first, flags),
        (second, {Flag.DRAFT}),
    ]
    assert again.set_flags(INBOX, first, frozenset()) == first
    assert b"Message-ID: <1@example.org>\nStatus: O\n\n" in path.read_bytes()
    assert box.scan(INBOX)[0].flags == set()


def test_new_status_headers_go_where_the_old_ones_were(tmp_path: Path) -> None:
    message = b"A: 1\nStatus: O\nB: 2\nX-Status: F\nC: 3\n\nbody\n"
    path = _write(tmp_path / "mbox", _mbox_file(message))
    box = Mbox(path)
    (key,) = _keys(box)

    assert box.set_flags(INBOX, key, frozenset({Flag.SEEN, Flag.ANSWERED})) == key
    assert box.read(INBOX, key) == b"A: 1\nStatus: RO\nX-Status: A\nB: 2\nC: 3\n\nbody\n"


def test_delivered_flags_replace_status_headers_in_the_message(tmp_path: Path) -> None:
    box = Mbox(tmp_path / "mbox")
    raw = _message(1, extra=b"Status: RO\nX-Status: F\n")

    fresh = box.deliver(INBOX, raw)
    answered = box.deliver(INBOX, raw, frozenset({Flag.ANSWERED}))
    entries = Mbox(tmp_path / "mbox").scan(INBOX)

    assert [(entry.key, entry.flags) for entry in entries] == [
        (fresh, frozenset()),
        (answered, frozenset({Flag.ANSWERED})),
    ]
    assert box.read(INBOX, fresh) == _message(1)
    assert box.read(INBOX, answered) == _message(1, extra=b"Status: O\nX-Status: A\n")


def test_messages_with_crlf_lines_keep_them(tmp_path: Path) -> None:
    message = b"Subject: windows\r\nStatus: O\r\n\r\nbody\r\n"
    path = _write(tmp_path / "mbox", _mbox_file(message, _message(2)))
    box = Mbox(path)
    first, second = _keys(box)

    assert box.set_flags(INBOX, first, frozenset({Flag.SEEN})) == first
    assert box.read(INBOX, first) == b"Subject: windows\r\nStatus: RO\r\n\r\nbody\r\n"
    assert box.scan(INBOX)[0].flags == {Flag.SEEN}
    assert box.read(INBOX, second) == _message(2)


def test_changes_to_a_vanished_mailbox_say_so(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1)))
    box = Mbox(path)
    (key,) = _keys(box)
    path.unlink()

    with pytest.raises(LocalMailboxError, match="No such file"):
        box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    assert not box.read_only
    assert box.scan(INBOX) == []
    assert _leftovers(tmp_path, "mbox") == []


def test_setting_the_same_flags_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1, extra=b"Status: RO\n")))
    box = Mbox(path)
    (key,) = _keys(box)
    inode = path.stat().st_ino

    box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    assert path.stat().st_ino == inode


def test_flags_of_a_message_that_is_gone(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1)))
    with pytest.raises(LocalMailboxError, match="no longer"):
        Mbox(path).set_flags(INBOX, "0123-0", frozenset({Flag.SEEN}))
    with pytest.raises(LocalMailboxError, match="no longer"):
        Mbox(path).read(INBOX, "0123-0")


def test_delete_keeps_every_other_message_byte_identical(tmp_path: Path) -> None:
    spans = [
        FROM_LINE + _message(1) + b"\n",
        FROM_LINE + _message(2, b"Hi\n>From quoted\n", extra=b"Status: RO\n") + b"\n",
        FROM_LINE + _message(3) + b"\n",
        b"From x@y Wed Feb  3 01:02:03 2021\n" + _message(4, b"last, no blank line\n"),
    ]
    path = _write(tmp_path / "mbox", b"".join(spans))
    box = Mbox(path)
    keys = _keys(box)

    box.delete(INBOX, [keys[2], "not-a-key"])
    assert path.read_bytes() == spans[0] + spans[1] + spans[3]
    assert _keys(box) == [keys[0], keys[1], keys[3]]
    box.delete(INBOX, [keys[3]])
    assert path.read_bytes() == spans[0] + spans[1]
    assert _keys(Mbox(path)) == [keys[0], keys[1]]
    box.delete(INBOX, [keys[0], keys[1]])
    assert path.read_bytes() == b""
    assert _leftovers(tmp_path, "mbox") == []


def test_deleting_one_of_twins_keeps_the_other(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(1)))
    box = Mbox(path)
    first, _second = _keys(box)

    box.delete(INBOX, [first])
    assert _keys(box) == [first]  # the survivor is now the first of its kind
    assert len(Mbox(path).scan(INBOX)) == 1


def test_mode_and_owner_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1), _message(2)))
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 4321, 4321)
    box = Mbox(path)
    first, _second = _keys(box)

    box.set_flags(INBOX, first, frozenset({Flag.SEEN}))
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (4321, 4321)


def test_symlinked_mailbox_stays_a_symlink(tmp_path: Path) -> None:
    target = _write(tmp_path / "real", _mbox_file(_message(1)))
    link = tmp_path / "link"
    link.symlink_to(target)
    box = Mbox(link)
    (key,) = _keys(box)

    box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    assert link.is_symlink()
    assert b"Status: RO" in target.read_bytes()


# -- locks -----------------------------------------------------------------------------------

_HOLDER = """
import fcntl, os, sys
path, how = sys.argv[1], sys.argv[2]
if how == "dotlock":
    fd = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
else:
    fd = os.open(path, os.O_RDWR)
    if how == "fcntl":
        fcntl.lockf(fd, fcntl.LOCK_EX)
    else:
        fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
if how == "dotlock":
    os.unlink(path + ".lock")
"""


@contextmanager
def _held(path: Path, how: str) -> Iterator[None]:
    """Another process holding the mailbox locked the given way until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


@pytest.mark.parametrize("how", ["fcntl", "flock", "dotlock"])
def test_mailbox_locked_by_another_process_is_read_only(tmp_path: Path, how: str) -> None:
    original = _mbox_file(_message(1), _message(2))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path, lock_timeout=0.3)
    first, second = _keys(box)

    with _held(path, how):
        started = time.monotonic()
        with pytest.raises(LocalMailboxError, match="in use by another program"):
            box.set_flags(INBOX, first, frozenset({Flag.SEEN}))
        assert time.monotonic() - started < 5
        assert box.read_only
        assert "in use by another program" in box.notice
        assert "read-only" in box.notice
        with pytest.raises(LocalMailboxError):
            box.delete(INBOX, [second])
        with pytest.raises(LocalMailboxError):
            box.deliver(INBOX, _message(3))
        assert path.read_bytes() == original
        assert box.read(INBOX, first) == _message(1)
        assert box.scan(INBOX)  # reading goes on
        assert box.read_only
        expected = ["mbox.lock"] if how == "dotlock" else []
        assert _leftovers(tmp_path, "mbox") == expected

    box.state(INBOX)  # notices that the lock is gone
    assert not _read_only(box)
    assert box.notice == ""
    box.set_flags(INBOX, first, frozenset({Flag.SEEN}))
    assert Mbox(path).scan(INBOX)[0].flags == {Flag.SEEN}
    assert _leftovers(tmp_path, "mbox") == []


def test_a_stale_dotlock_is_taken_over(tmp_path: Path) -> None:
    path = _write(tmp_path / "mbox", _mbox_file(_message(1)))
    lock = _write(tmp_path / "mbox.lock", b"12345\n")
    old = time.time() - 600
    os.utime(lock, (old, old))
    box = Mbox(path, lock_timeout=0.3)
    (key,) = _keys(box)

    box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    assert not lock.exists()
    assert not box.read_only


def test_a_dotlock_that_cannot_be_made_means_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _mbox_file(_message(1))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    (key,) = _keys(box)
    real_open = os.open

    def refuse_lock(file: str, flags: int, mode: int = 0o777) -> int:
        if str(file).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied", file)
        return real_open(file, flags, mode)

    monkeypatch.setattr(os, "open", refuse_lock)
    with pytest.raises(LocalMailboxError, match="cannot create the lock file"):
        box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
    assert box.read_only
    assert "Permission denied" in box.notice
    assert path.read_bytes() == original


def test_unwritable_directory_means_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()
    original = _mbox_file(_message(1))
    path = _write(directory / "me", original)
    directory.chmod(0o555)
    if os.geteuid() == 0:  # root may write anywhere: make the check see what a user would
        real_access = os.access

        def access(where: str | os.PathLike[str], mode: int) -> bool:
            return Path(where) != directory and real_access(where, mode)

        monkeypatch.setattr(os, "access", access)
    try:
        box = Mbox(path)
        (key,) = _keys(box)
        assert box.read_only
        assert "cannot write there" in box.notice
        with pytest.raises(LocalMailboxError, match="cannot write there"):
            box.set_flags(INBOX, key, frozenset({Flag.SEEN}))
        with pytest.raises(LocalMailboxError, match="cannot write there"):
            box.deliver(INBOX, _message(2))
        assert path.read_bytes() == original
    finally:
        directory.chmod(0o755)
    assert _leftovers(directory, "me") == []


# -- failures --------------------------------------------------------------------------------


def _failing(after: int) -> Callable[..., int]:
    """An os.write that writes ``after`` bytes in all, then fails as on a full disk."""
    real_write = os.write
    left = [after]

    def write(descriptor: int, data: bytes) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        done = real_write(descriptor, bytes(data)[: left[0]])
        left[0] -= done
        return done

    return write


def test_full_disk_during_rewrite_leaves_the_mailbox_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _mbox_file(*(_message(number) for number in range(1, 20)))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    keys = _keys(box)

    monkeypatch.setattr(os, "write", _failing(len(original) // 2))
    with pytest.raises(LocalMailboxError, match="No space left on device"):
        box.delete(INBOX, [keys[3]])
    monkeypatch.undo()

    assert path.read_bytes() == original
    assert _leftovers(tmp_path, "mbox") == []
    assert _keys(box) == keys
    box.delete(INBOX, [keys[3]])
    assert _keys(Mbox(path)) == keys[:3] + keys[4:]


def test_failed_fsync_leaves_the_mailbox_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _mbox_file(_message(1), _message(2))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    first, _second = _keys(box)

    def fail(descriptor: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(LocalMailboxError, match="left as it was"):
        box.set_flags(INBOX, first, frozenset({Flag.SEEN}))
    with pytest.raises(LocalMailboxError, match="left as it was"):
        box.deliver(INBOX, _message(3))
    monkeypatch.undo()

    assert path.read_bytes() == original
    assert _leftovers(tmp_path, "mbox") == []
    assert not box.read_only


def test_full_disk_during_delivery_cuts_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _mbox_file(_message(1))
    path = _write(tmp_path / "mbox", original)
    box = Mbox(path)
    real_pwrite = os.pwrite

    def pwrite(descriptor: int, data: bytes, offset: int) -> int:
        if len(data) > 10:
            real_pwrite(descriptor, bytes(data)[:10], offset)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(descriptor, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    with pytest.raises(LocalMailboxError, match="No space left"):
        box.deliver(INBOX, _message(2))
    monkeypatch.undo()

    assert path.read_bytes() == original
    assert _leftovers(tmp_path, "mbox") == []


# -- other readers ---------------------------------------------------------------------------


def test_python_mailbox_reads_what_tuimail_writes(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    box = Mbox(path)
    raws = [
        _message(1),
        _message(2, b"Dear all,\n\nFrom now on we meet on Tuesdays.\n>From the minutes\n"),
        _message(3, b"No newline at the end"),
        _message(4),
    ]
    keys = [box.deliver(INBOX, raw) for raw in raws]
    box.set_flags(INBOX, keys[0], frozenset({Flag.SEEN, Flag.FLAGGED}))
    box.delete(INBOX, [keys[3]])

    other = mailbox.mbox(path, create=False)
    try:
        messages = [other.get_bytes(key) for key in other.iterkeys()]
        flags = [other.get_message(key).get_flags() for key in other.iterkeys()]
    finally:
        other.close()
    ours = [box.read(INBOX, key) for key in keys[:3]]

    assert len(messages) == 3
    # Python's reader keeps the mboxrd quoting; without it, it is the same message
    assert [unquote(message) for message in messages] == ours
    assert messages[1] == quote(ours[1])
    assert ours[2] == raws[2] + b"\n"
    assert set(flags[0]) == {"R", "O", "F"}
    assert flags[1] == ""


def test_tuimail_reads_what_python_mailbox_writes(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    other = mailbox.mbox(path)
    try:
        first = mailbox.mboxMessage(_message(1, b"From me\nHello\n"))
        first.set_flags("RA")
        other.add(first)
        other.add(mailbox.mboxMessage(_message(2)))
        other.flush()
    finally:
        other.close()

    entries = Mbox(path).scan(INBOX)
    assert [entry.flags for entry in entries] == [{Flag.SEEN, Flag.ANSWERED}, set()]
    assert Mbox(path).read(INBOX, entries[1].key) == _message(2)
    assert b"\n\nFrom me\nHello\n" in Mbox(path).read(INBOX, entries[0].key)


# -- size ------------------------------------------------------------------------------------


def test_a_big_mailbox_scans_quickly(tmp_path: Path) -> None:
    body = b"".join(f"Line {number} of a longish message body.\n".encode() for number in range(100))
    one = FROM_LINE + _message(0, body) + b"\n"
    count = 50 * 1024 * 1024 // len(one)
    path = tmp_path / "big"
    with path.open("wb") as handle:
        for number in range(count):
            handle.write(one.replace(b"message 0", f"message {number}".encode()))
    box = Mbox(path)

    started = time.monotonic()
    entries = box.scan(INBOX)
    elapsed = time.monotonic() - started

    assert len(entries) == count
    assert elapsed < 5, f"scanning 50 MB took {elapsed:.1f}s"
    started = time.monotonic()
    box.set_flags(INBOX, entries[count // 2].key, frozenset({Flag.SEEN}))
    assert time.monotonic() - started < 5
    assert len(box.scan(INBOX)) == count
