"""Every case of the hostile corpus through the mime layer: parse/render, reply, forward, build,
and attachment saving: no crash, no hang, no fetch, nothing unsafe out, no file outside."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest
from data.make_hostile import main as make_corpus
from helpers.hostile import (
    CASES,
    CORPUS,
    ME,
    Case,
    case_ids,
    check_built,
    check_draft,
    check_parsed,
    no_network,
    raw_case,
)

from tuimail.config.paths import Paths
from tuimail.mime.build import build_message
from tuimail.mime.parse import MAX_ADDRESSES, ParsedMessage, parse_message
from tuimail.mime.quote import attachments_of, forward_draft, reply_draft
from tuimail.model.errors import MailError
from tuimail.services.client import MailClient
from tuimail.services.mailbox import Message

HANG = 60.0
"""Seconds after which one step counts as hung (a guard, not a speed measurement)."""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the generated (too big to commit) cases are made, once per module."""
    return tmp_path_factory.mktemp("hostile")


def test_the_corpus_is_what_the_script_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = {path.name: path.read_bytes() for path in CORPUS.iterdir()}
    monkeypatch.setattr("data.make_hostile.CORPUS", tmp_path)
    make_corpus()
    made = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert made == committed, "run python tests/data/make_hostile.py and commit the result"
    assert len([case for case in CASES if not case.generated]) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def _shown(parsed: ParsedMessage) -> str:
    """What a reader shows: the header lines and the body (with its links)."""
    lines = [f"Subject: {parsed.subject}"]
    for field, addresses in (
        ("From", parsed.sender),
        ("To", parsed.to),
        ("Cc", parsed.cc),
        ("Reply-To", parsed.reply_to),
    ):
        lines.append(f"{field}: " + ", ".join(str(address) for address in addresses))
    lines.extend(f"{name}: {value}" for name, value in parsed.headers)
    lines.append(parsed.body.text)
    lines.extend(parsed.body.links)
    lines.extend(attachment.safe_name for attachment in parsed.body.attachments)
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=case_ids())
def test_parse_and_render(case: Case, scratch: Path) -> None:
    raw = raw_case(case, scratch)
    tracemalloc.start()
    try:
        with no_network() as network:
            started = time.monotonic()
            parsed = parse_message(raw)
            elapsed = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert network == []
    assert elapsed < HANG
    # the memory cap: parsing never needs more than a few copies of the message
    assert peak < 3 * len(raw) + 64 * 1024 * 1024, f"{peak / 1e6:.0f} MB"
    check_parsed(parsed)
    shown = _shown(parsed)
    for text in case.shows:
        assert text in shown
    for text in case.hides:
        assert text not in shown
    assert parsed.body.too_complex == case.too_complex
    if case.too_complex:
        assert "View the raw source" in parsed.body.text
    if case.attachments >= 0:
        assert len(parsed.body.attachments) == case.attachments
    if case.file_names:
        assert tuple(a.safe_name for a in parsed.body.attachments) == case.file_names


@pytest.mark.parametrize("case", CASES, ids=case_ids())
def test_reply_forward_and_build(case: Case, scratch: Path) -> None:
    raw = raw_case(case, scratch)
    with no_network() as network:
        started = time.monotonic()
        drafts = [
            reply_draft(raw, {ME.email}, account="home", reply_all=False),
            reply_draft(raw, {ME.email}, account="home", reply_all=True),
            forward_draft(raw, account="home", inline=True, keep_attachments=True),
            forward_draft(raw, account="home", inline=False),
        ]
        for draft in drafts:
            check_draft(draft)
            check_built(draft)
        elapsed = time.monotonic() - started
    assert network == []
    assert elapsed < 4 * HANG
    reply = drafts[0]
    assert not reply.subject.startswith("Re: Re:")
    assert all(ref.startswith("<") and ref.endswith(">") for ref in reply.references)


def test_encoded_line_breaks_inject_no_header() -> None:
    raw = (CORPUS / "rfc2047-crlf.eml").read_bytes()
    for reply_all in (False, True):
        draft = reply_draft(raw, {ME.email}, account="home", reply_all=reply_all)
        built = build_message(draft, ME, domain="example.test").as_bytes()
        assert b"\nBcc:" not in built
        assert b"\nX-Injected:" not in built
        assert b"injected" in built  # still there, in the (encoded) subject


def test_reply_all_to_a_hundred_thousand_recipients_is_capped(scratch: Path) -> None:
    raw = raw_case(next(c for c in CASES if c.name == "bomb-recipients"), scratch)
    draft = reply_draft(raw, {ME.email}, account="home", reply_all=True)
    assert len(draft.cc) == MAX_ADDRESSES
    assert all("[b]" in address.name or not address.name for address in draft.cc)


def _client(tmp_path: Path) -> MailClient:
    paths = Paths(tmp_path / "config.toml", tmp_path / "data", tmp_path / "cache")
    return MailClient(paths, [], passwords=lambda a, r: "", cache_file=tmp_path / "cache.db")


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.attachments != 0], ids=lambda case: case.name
)
def test_attachments_are_saved_inside_the_chosen_directory(
    case: Case, scratch: Path, tmp_path: Path
) -> None:
    raw = raw_case(case, scratch)
    parsed = parse_message(raw)
    outer = tmp_path / "outer"
    chosen = outer / "deep" / "chosen"
    chosen.mkdir(parents=True)
    bait = outer / "bait"
    bait.write_text("mine\n")
    # an attacker who can place a link in the directory still gets no write through it
    (chosen / "bashrc").symlink_to(bait)
    before = _files(outer)
    message = Message(None, parsed, raw)  # type: ignore[arg-type]  # save reads the raw bytes only
    found = attachments_of(raw, nested=True)
    assert [name for name, _kind, _data in found] == [
        attachment.safe_name for attachment in parsed.body.attachments
    ]
    saved: dict[Path, bytes] = {}
    for index, (_name, _kind, data) in enumerate(found):
        for overwrite in (False, True):
            try:
                path = _client(tmp_path).save_attachment(
                    message, index, chosen, overwrite=overwrite
                )
            except MailError:
                continue  # exists (asked first), or a link refused
            assert path.parent == chosen
            saved[path] = data
            break
    after = _files(outer)
    assert after - before == set(saved) - before
    for path in after - before:
        assert path.parent == chosen
        assert not path.is_symlink()
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    for path, data in saved.items():
        assert path.read_bytes() == data
    assert bait.read_text() == "mine\n"
    assert sorted(os.listdir(outer)) == ["bait", "deep"]
