"""A deterministic demo mailbox: a few years of realistic mail for ``tuimail --demo``."""

# ruff: noqa: RUF001
# (the Greek, Cyrillic and other non-Latin letters in the demo text are meant to be there)

from __future__ import annotations

import functools
import html
import random
import re
import struct
import textwrap
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from string import Template

from tuimail.model.message import Flag

DEMO_NAME = "Robin Example"
"""The display name of the demo mailbox's owner."""
DEMO_ADDRESS = "robin@demo.example"
"""The address of the demo mailbox's owner."""
DEMO_NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
"""The moment the demo mailbox is generated at when the caller gives none (keeps it fixed)."""
DEMO_FOLDERS = (
    "INBOX",
    "Sent",
    "Drafts",
    "Archive",
    "Trash",
    "Lists/dev-announce",
    "Lists/rust-users",
    "Lists/hiking-club",
)
"""Every folder the demo mailbox may put messages in ("/" between levels)."""

_SPAN_DAYS = 3 * 365
_WIDTH = 72


@dataclass(frozen=True)
class DemoMessage:
    """One message of the demo mailbox, with the folder and flags it lives with."""

    folder: str
    """The folder, levels separated by ``/`` (``Lists/rust-users``)."""
    raw: bytes
    """The whole RFC 5322 message with LF line ends."""
    flags: frozenset[Flag]
    received: datetime
    """When it arrived (aware, UTC); its Date header is a little earlier."""


# People -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    name: str
    email: str
    short: str
    """How others greet them in English."""
    offset: float = 1.0
    """Hours east of UTC."""
    cte: str = "quoted-printable"
    """How their mailer encodes a body that is not ASCII."""
    charset: str = "utf-8"
    """The charset their mailer prefers (UTF-8 when the text does not fit)."""

    @property
    def zone(self) -> timezone:
        return timezone(timedelta(hours=self.offset))

    @functools.cached_property
    def address(self) -> str:
        return str(HeaderAddress(display_name=self.name, addr_spec=self.email))


ROBIN = _Person(DEMO_NAME, DEMO_ADDRESS, "Robin")

_PEOPLE = {
    "sam": _Person("Sam Okafor", "sam.okafor@demo.example", "Sam", 0.0),
    "alex": _Person("Alex Chen", "alex.chen@demo.example", "Alex", -8.0),
    "dana": _Person("Dana O'Neill", "dana.oneill@demo.example", "Dana", -5.0),
    "jurgen": _Person(
        "Jürgen Müller", "juergen.mueller@demo.example", "Jürgen", charset="iso-8859-1"
    ),
    "amelie": _Person("Amélie Dubois", "amelie.dubois@demo.example", "Amélie"),
    "nikos": _Person("Νίκος Παπαδόπουλος", "nikos.p@demo.example", "Nikos", 2.0),
    "anna": _Person("Анна Смирнова", "anna.smirnova@demo.example", "Anna", 3.0, cte="8bit"),
    "kenji": _Person("田中 健二", "kenji.tanaka@demo.example", "Kenji", 9.0, cte="base64"),
    "fang": _Person("王芳", "wang.fang@demo.example", "Fang", 8.0, cte="base64"),
    "priya": _Person("प्रिया शर्मा", "priya.sharma@demo.example", "Priya", 5.5, cte="base64"),
    # friends and family
    "jordan": _Person("Jordan Lee", "jordan.lee@mail.example", "Jordan", -5.0),
    "maria": _Person("María García", "maria.garcia@mail.example", "María", cte="8bit"),
    "leo": _Person("Léo Martin", "leo.martin@mail.example", "Léo"),
    "fatima": _Person("فاطمة الزهراء", "fatima.z@mail.example", "Fatima", 4.0, cte="base64"),
    "chris": _Person("Chris 🚴 Park", "chris.park@mail.example", "Chris", 0.0),
    "mum": _Person("Margaret Example", "margaret.example@mail.example", "Mum", 0.0),
    # rust-users
    "mateus": _Person("Mateus Silva", "mateus@silva.example", "Mateus", -3.0),
    "ingrid": _Person("Ingrid Johansson", "ingrid.j@fjord.example", "Ingrid"),
    "kwame": _Person("Kwame Mensah", "kwame@mensah.example", "Kwame", 0.0),
    "yuki": _Person("佐藤 由紀", "yuki.sato@sakura.example", "Yuki", 9.0, cte="base64"),
    "oleksandr": _Person(
        "Олександр Коваленко", "o.kovalenko@kyiv.example", "Oleksandr", 2.0, cte="8bit"
    ),
    "zoe": _Person("Zoë Brooks", "zoe@brooks.example", "Zoë", -5.0),
    "ayse": _Person("Ayşe Yılmaz", "ayse@yilmaz.example", "Ayşe", 3.0),
    # hiking-club
    "sabine": _Person(
        "Sabine Köhler", "sabine.koehler@bergfreunde.example", "Sabine", charset="iso-8859-1"
    ),
    "bjorn": _Person("Björn Weiß", "bjoern.weiss@bergfreunde.example", "Björn"),
    "grete": _Person("Grete Ålund", "grete@bergfreunde.example", "Grete"),
    # companies and machines
    "times": _Person("The Terminal Times", "newsletter@terminaltimes.example", "", -5.0),
    "cafe": _Person("Café Lumière", "bonjour@cafe-lumiere.example", ""),
    "trailhead": _Person("Trailhead Outfitters", "deals@trailhead.example", "", -7.0),
    "ci": _Person("Demo CI", "ci@build.demo.example", "", 0.0),
    "forge": _Person("Forge", "notifications@forge.demo.example", "", 0.0),
    "calendar": _Person("Calendar", "calendar@demo.example", ""),
    "parcel": _Person("Parcel Post", "noreply@parcelpost.example", ""),
    "bank": _Person("Example Bank", "statements@bank.example", ""),
    "landlord": _Person("Hausverwaltung Schäfer", "info@hv-schaefer.example", ""),
    "cloudberry": _Person("Cloudberry Hosting", "billing@cloudberry.example", "", 0.0),
    "stadtwerke": _Person("Stadtwerke Beispielstadt", "rechnung@stadtwerke.example", ""),
    "hr": _Person("People Team", "people@demo.example", ""),
    "cfp": _Person("Terminal & Tools Summit", "cfp@tools-summit.example", ""),
    "shop": _Person("Gadgetry", "no-reply@gadgetry.example", "", -5.0),
}

_COLLEAGUES = ("sam", "alex", "dana", "jurgen", "amelie", "nikos", "anna", "kenji", "fang", "priya")
_FRIENDS = ("jordan", "maria", "leo", "chris")
_RUSTACEANS = ("mateus", "ingrid", "kwame", "yuki", "oleksandr", "zoe", "ayse")
_HIKERS = ("sabine", "bjorn", "grete", "jordan")


@dataclass(frozen=True)
class _List:
    folder: str
    tag: str
    name: str
    post: str
    host: str

    def headers(self) -> list[tuple[str, str]]:
        local = self.post.split("@")[0]
        return [
            ("List-Id", f"{self.name} <{local}.{self.host}>"),
            (
                "List-Unsubscribe",
                f"<mailto:{local}-leave@{self.host}>, <https://{self.host}/unsubscribe/{local}>",
            ),
            ("List-Archive", f"<https://{self.host}/archive/{local}/>"),
            ("List-Post", f"<mailto:{self.post}>"),
            ("Precedence", "list"),
        ]


_DEV = _List(
    "Lists/dev-announce",
    "dev-announce",
    "Developer announcements",
    "dev-announce@lists.demo.example",
    "lists.demo.example",
)
_RUST = _List(
    "Lists/rust-users",
    "rust-users",
    "Rust users",
    "rust-users@lists.example.org",
    "lists.example.org",
)
_HIKE = _List(
    "Lists/hiking-club",
    "hiking-club",
    "Bergfreunde hiking club",
    "hiking-club@lists.bergfreunde.example",
    "lists.bergfreunde.example",
)

# Words the templates draw from -------------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_DE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
_CITIES = ("Porto", "Ljubljana", "Gdańsk", "Valencia", "Tallinn", "Thessaloniki", "Kraków")
_ROOMS = ("Lovelace", "Hopper", "Turing", "the big room on the third floor")
_FEATURES = (
    "retry logic for IMAP IDLE",
    "faster header parsing",
    "dark theme for the settings screen",
    "CSV export in a worker thread",
    "offline queue for flag changes",
    "threading by References",
    "smaller search index",
    "attachment preview",
)
_ROLES = ("backend engineer", "site reliability engineer", "product designer", "support lead")
_TESTS = (
    "test_sync_resumes_after_crash",
    "test_idle_reconnects",
    "test_search_accents",
    "test_outbox_survives_restart",
    "test_flags_round_trip",
)
_HEADLINES = (
    (
        "Why your shell starts slowly, and how to measure it",
        "slow-shell-startup",
        "We timed twenty setups and found the usual suspects, plus one surprise.",
    ),
    (
        "A gentle introduction to terminfo",
        "terminfo-intro",
        "It is older than most of us and still decides what your arrow keys send.",
    ),
    (
        "Five tiny tools we use every day",
        "five-tiny-tools",
        "Small programs that do one thing well, picked by readers over the last month.",
    ),
    (
        "Colour in the terminal: a short history",
        "terminal-colour-history",
        "From eight colours to sixteen million, and why some themes still look wrong.",
    ),
    (
        "Keeping dotfiles in git without tears",
        "dotfiles-in-git",
        "A setup that survives a new laptop, and the two mistakes we made first.",
    ),
    (
        "Unicode width is harder than you think",
        "unicode-width",
        "Emoji, combining accents and East Asian text walk into a fixed-width grid.",
    ),
    (
        "What really happens when you press Ctrl-C",
        "what-ctrl-c-does",
        "Signals, process groups and the terminal driver, explained with diagrams.",
    ),
    (
        "tmux, screen, or neither?",
        "tmux-screen-neither",
        "Three readers explain how they work, and why they will not switch.",
    ),
    (
        "The case for plain text",
        "plain-text",
        "Notes, mail and todo lists that will still open in thirty years.",
    ),
    (
        "SQLite as an application file format",
        "sqlite-file-format",
        "One file, transactions for free, and a query language when you need one.",
    ),
    (
        "Writing man pages people actually read",
        "man-pages",
        "Examples first, options second, and a section nobody expects: BUGS.",
    ),
    (
        "A week without a mouse",
        "week-without-mouse",
        "Our editor unplugged it on Monday. By Friday she did not want it back.",
    ),
)
_COFFEES = (
    ("Éthiopie Guji", "notes de jasmin, de pêche et de bergamote"),
    ("Colombie Huila", "notes de caramel, de pomme rouge et de cacao"),
    ("Kenya Nyeri", "notes de cassis, de pamplemousse et de sucre roux"),
    ("Guatemala Antigua", "notes de chocolat au lait, de noisette et d'orange"),
)
_DEALS = (
    ("Autumn sale: 20% off rain jackets 🧥", "rain jackets", "autumn-sale"),
    ("New in: lightweight tents for two ⛺", "lightweight tents", "new-tents"),
    ("Your boots deserve better socks 🧦", "merino hiking socks", "socks"),
    ("Last chance: winter gear at 30% off ❄️", "winter gear", "winter-sale"),
    ("Trail running shoes are back in stock 👟", "trail running shoes", "trail-shoes"),
)


# Threads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    role: str
    """``r`` is Robin; other letters are the people the story picked."""
    text: str
    """A ``string.Template``: $a, $b, $c, $me, $to and the story's own words."""
    parent: int = -1
    """The turn this one answers (index); -1 for the one before it."""


@dataclass(frozen=True)
class _Plan:
    subject: str
    turns: tuple[_Turn, ...]
    cast: tuple[str, ...] = ()
    """People fixed for roles a, b ...; the rest are picked from the pool."""


_WORK = (
    _Plan(
        "Notes from the weekly sync ($today)",
        (
            _Turn(
                "a",
                """Hi all,

Here are the notes from today's sync. Shout if I got something wrong.

- Sync engine: the batch size change is merged; memory stays flat on the 100k-message test folder.
- Search: $b is still chasing the slow query on accounts with many labels.
- Release: we aim to cut $version on $weekday if CI stays green.
- Robin to write up the on-call changes before the next sync.

Next sync is in $room as usual.

$me""",
            ),
            _Turn(
                "r",
                """Thanks $to. One correction: the on-call write-up is already in the wiki, I only
need to send the link round. I'll do that today.

Also, could we move the release cut to the morning? I'm out from 15:00 on $weekday.

Robin""",
            ),
            _Turn("a", "Sure, morning works. I've updated the notes.\n\n$me"),
            _Turn(
                "b",
                """Morning is fine for me too. I'll have the search fix up for review by then,
or I'll say so in the channel.

$me""",
            ),
        ),
    ),
    _Plan(
        "Review request: #$pr $feature",
        (
            _Turn(
                "a",
                """Hi Robin,

Could you take a look at #$pr when you have a moment? It's the $feature change we talked
about last week. The interesting part is in sync/worker.py; the rest is tests and renames.

No rush, but I'd like to merge it before the release branch is cut.

Thanks!
$me""",
            ),
            _Turn(
                "r",
                """Had a look. It reads well and the tests are thorough. A few things:

1. The retry loop sleeps without checking the stop event, so quitting can hang for up to
   30 seconds. Could you wait on the event instead?
2. The new setting needs a docstring; the settings page shows them.
3. Nit: fetch_batch returns a list in one branch and a tuple in the other.

Happy to approve once 1 is fixed; the other two can follow later.

Robin""",
            ),
            _Turn(
                "a",
                """Good catch on the stop event, that would have been annoying. Fixed in the
latest push, together with the docstring and the tuple.

$me""",
            ),
            _Turn("r", "Approved, thanks!\n\nRobin"),
        ),
    ),
    _Plan(
        "Offsite in $city: travel plans",
        (
            _Turn(
                "a",
                """Hi everyone,

The offsite is confirmed for the week of $date in $city. Please book your own travel by
the end of next week and send me the receipts afterwards.

Hotel: we have a block of rooms at the Hotel Miradouro, two minutes from the venue. Use the
code DEMO-OFFSITE when you book. Let me know if you need a visa letter.

$me""",
            ),
            _Turn(
                "r",
                """Thanks $to! I'll probably arrive the evening before and stay an extra night to
see a bit of the city.

Is the team dinner booked already? If not, I'm happy to look for a place that can take a
group of fourteen.

Robin""",
            ),
            _Turn(
                "a",
                """Dinner isn't booked yet, so please go ahead. The budget is about 45 EUR per
person including drinks.

$me""",
            ),
            _Turn(
                "b",
                """I'm staying the extra night too, happy to explore together. Robin, a friend
recommended a place near the river that takes groups; I'll forward you the details.

$me""",
            ),
        ),
    ),
    _Plan(
        "Q$quarter $year planning: first draft",
        (
            _Turn(
                "a",
                """Hi Robin, hi $b,

I've put the first draft of the Q$quarter priorities in the planning doc. In short:

1. Finish offline mode (queued actions, replay on reconnect).
2. Cut the cold start time in half.
3. An accessibility pass on the reader screen.

I left hiring out on purpose; that goes into a separate doc. Could you both add your
comments by $weekday?

$me""",
            ),
            _Turn(
                "r",
                """Looks sensible. I'd swap 2 and 3: the accessibility problems are reported by
real users, the start time mostly by us.

I also think offline mode needs two people, not one, if we want it done this quarter.

Robin""",
            ),
            _Turn(
                "b",
                """+1 to two people on offline mode. I'm less sure about the swap: the start
time is the first thing every new user sees. Can we talk it through on $weekday?

$me""",
            ),
            _Turn("a", "Let's. I've added 30 minutes to the sync.\n\n$me"),
        ),
    ),
    _Plan(
        "On-call handover, week $week",
        (
            _Turn(
                "a",
                """Handing over to you, Robin. A quiet week overall:

- Two pages on Tuesday night, both the disk alert on mx2. I cleared old logs and opened a
  ticket to fix the log rotation.
- One customer report about slow search; it turned out to be a 40 GB mailbox. Answered.
- Nothing open right now.

The runbook for the disk alert is updated. Have a calm week!

$me""",
            ),
            _Turn("r", "Thanks $to, got it. I'll keep an eye on mx2.\n\nRobin"),
        ),
    ),
    _Plan(
        "Interview loop for the $role role",
        (
            _Turn(
                "a",
                """Hi Robin,

We have a strong candidate for the $role role and would like to do the final loop on
$weekday. Could you take the system design interview (45 minutes, at 11:00)?

I'll send the CV and the notes from the first call separately.

$me""",
            ),
            _Turn(
                "r",
                """Yes, 11:00 works. Please send the CV when you can; I'd like to read it the day
before.

Robin""",
            ),
            _Turn("a", "Invitation sent. Thanks a lot!\n\n$me"),
            _Turn(
                "a",
                """A quick update: the candidate accepted our offer and starts on the first of
next month. Thanks for your part in it!

$me""",
            ),
        ),
    ),
    _Plan(
        "Release $version checklist",
        (
            _Turn(
                "a",
                """Release $version is planned for $weekday. Checklist:

- [x] changelog
- [x] version bump
- [ ] smoke test on macOS
- [ ] smoke test on Debian stable
- [ ] announcement draft

Robin, could you take the Debian smoke test?

$me""",
            ),
            _Turn(
                "r",
                """Done. Debian looks fine apart from one thing: the man page still gives the old
default for the cache size. Small fix, the PR is up.

Robin""",
            ),
            _Turn(
                "b",
                "The macOS smoke test is done too, nothing found. The announcement draft is in "
                "the shared folder.\n\n$me",
            ),
            _Turn("a", "Thanks both. Tagged and released. 🎉\n\n$me"),
        ),
    ),
    _Plan(
        "Conference budget for $year",
        (
            _Turn(
                "a",
                """Hi team,

The travel budget for $year is approved: each of us can go to one conference, or two if you
are giving a talk. Please send me your wishes by the end of the month (name, dates, rough
cost).

$me""",
            ),
            _Turn(
                "r",
                """I'd like to go to the Terminal & Tools Summit in $city in the autumn. I'm
submitting a talk about keeping big mailboxes fast. Rough cost: 1,100 EUR including the
ticket.

Robin""",
            ),
            _Turn("a", "Noted, that fits. Good luck with the submission!\n\n$me"),
        ),
    ),
    _Plan(
        "Lunch talk on $weekday?",
        (
            _Turn(
                "a",
                """Hi Robin,

Would you like to give the lunch talk on $weekday? Twenty minutes, about anything you find
interesting. Last time someone talked about sourdough and it was the best attended talk
of the year.

$me""",
            ),
            _Turn(
                "r",
                """Happy to! I'll talk about how mail clients thread conversations. It's more
interesting than it sounds, I promise.

Robin""",
            ),
            _Turn("a", "Perfect, it's in the calendar.\n\n$me"),
        ),
    ),
    _Plan(
        "Incident review: delayed outgoing mail on $today",
        (
            _Turn(
                "a",
                """Hi all,

A short summary before the review:

- What: between 09:12 and 10:05 UTC outgoing mail was delayed by up to 40 minutes.
- Cause: the queue runner lost its lock after the database failover and no other runner
  took over.
- Fix: the runner now takes the lock again on reconnect (deployed).
- Follow-up: an alert when the oldest queued message is older than 10 minutes.

Please add anything I missed.

$me""",
            ),
            _Turn(
                "r",
                """Thanks for the write-up. One more follow-up: the status page was updated 25
minutes late. Could the on-call checklist say "status page first"?

Robin""",
            ),
            _Turn("b", "Agreed on both. I can take the alert follow-up.\n\n$me"),
        ),
    ),
    _Plan(
        "Protokoll: Teamtreffen am $weekday_de",
        (
            _Turn(
                "a",
                """Hallo zusammen,

anbei kurz das Protokoll von heute:

- Die Umstellung auf den neuen Mailserver ist für nächste Woche geplant.
- Die Schulung in Köln war ein Erfolg, danke an alle, die mitgemacht haben.
- Offene Frage: Wer übernimmt die Rufbereitschaft über die Feiertage?

(Robin, short English version: the mail server switch is next week, the training in
Cologne went well, and we still need someone on call over the holidays.)

Viele Grüße
Jürgen""",
            ),
            _Turn(
                "r",
                """Danke, Jürgen! I can take the holiday on-call if someone swaps the week after
with me.

Robin""",
            ),
            _Turn(
                "a",
                """Super, danke! Ich tausche gern mit dir. I'll update the rota.

Jürgen""",
            ),
        ),
        cast=("jurgen",),
    ),
    _Plan(
        "Compte rendu : atelier « expérience utilisateur »",
        (
            _Turn(
                "a",
                """Bonjour à tous,

Voici le compte rendu de l'atelier de mercredi :

- Les nouveaux raccourcis clavier sont bien accueillis.
- La recherche doit être plus rapide sur les très grandes boîtes aux lettres.
- Prochaine étape : des tests avec cinq utilisateurs dans les semaines à venir.

Robin, en bref pour toi : the keyboard shortcuts went down well, search must get faster on
very big mailboxes, and we'll test with five users next.

Bonne journée,
Amélie""",
            ),
            _Turn(
                "r",
                """Merci Amélie ! Sounds good. For the user tests I can prepare a demo mailbox, so
nobody has to show their real mail.

Robin""",
            ),
            _Turn("a", "Excellente idée, merci !\n\nAmélie"),
        ),
        cast=("amelie",),
    ),
    _Plan(
        "Ταξίδι στην Αθήνα: επίσκεψη πελάτη",
        (
            _Turn(
                "a",
                """Γεια σου Robin,

Η συνάντηση με τον πελάτη στην Αθήνα επιβεβαιώθηκε. Θα σε περιμένω στο αεροδρόμιο.

(In English: the customer meeting in Athens is confirmed. I'll pick you up at the airport,
just send me your flight number. The weather should be lovely, bring sunglasses.)

Τα λέμε σύντομα,
Νίκος""",
            ),
            _Turn(
                "r",
                """Ευχαριστώ, Νίκο! My flight is A3 611, landing at 14:20. Looking forward to it.

Robin""",
            ),
            _Turn("a", "Τέλεια! See you at arrivals.\n\nΝίκος"),
        ),
        cast=("nikos",),
    ),
    _Plan(
        "Отчёт по инцидентам за $month_ru",
        (
            _Turn(
                "a",
                """Привет, Robin!

Отправляю краткий отчёт по инцидентам за прошлый месяц: всего три инцидента, все закрыты.
Самый серьёзный — задержка входящей почты на сорок минут.

(Short version in English: three incidents last month, all closed; the worst was a 40-minute
delay of incoming mail. The full report is in the wiki.)

С уважением,
Анна""",
            ),
            _Turn(
                "r",
                """Спасибо, Анна! Thanks for the summary. Could you add the timeline of the mail
delay to the report?

Robin""",
            ),
            _Turn("a", "Конечно, добавила. Done.\n\nАнна"),
        ),
        cast=("anna",),
    ),
    _Plan(
        "来週の打ち合わせについて",
        (
            _Turn(
                "a",
                """Robinさん

お疲れさまです。田中です。
来週の打ち合わせですが、火曜日の午後に変更してもよろしいでしょうか。
資料は前日までにお送りします。

(English: could we move next week's meeting to Tuesday afternoon? I'll send the slides the
day before.)

よろしくお願いいたします。
田中""",
            ),
            _Turn(
                "r",
                """田中さん, Tuesday afternoon works for me. 16:00 your time (8:00 for me) is
fine. Thanks for sending the slides ahead.

Robin""",
            ),
            _Turn("a", "ありがとうございます！ Tuesday 16:00 JST, confirmed.\n\n田中"),
        ),
        cast=("kenji",),
    ),
    _Plan(
        "项目进度更新：第$week周",
        (
            _Turn(
                "a",
                """Robin，你好！

本周进展：
- 同步模块的性能测试已经完成，速度提高了约三成。
- 搜索功能还有两个问题需要修复。
- 下周开始准备发布说明。

(English summary: the sync performance tests are done, about 30% faster; two search bugs
left; release notes next week.)

谢谢！
王芳""",
            ),
            _Turn(
                "r",
                """谢谢, Fang! Great progress on sync. Which two search bugs are left? I might be
able to help with one of them.

Robin""",
            ),
            _Turn(
                "a",
                """One is the accent-insensitive match (é against e), the other is the date filter
with time zones. 我把链接发给你了。

王芳""",
            ),
        ),
        cast=("fang",),
    ),
    _Plan(
        "दिवाली की शुभकामनाएँ 🪔",
        (
            _Turn(
                "a",
                """नमस्ते Robin,

आपको और आपके परिवार को दिवाली की हार्दिक शुभकामनाएँ!
मैं ऑफ़िस के लिए मिठाई लाई हूँ, रसोई में रखी है।

(Happy Diwali to you and your family! I brought sweets for the office, they're in the
kitchen.)

प्रिया""",
            ),
            _Turn(
                "r",
                """Thank you, Priya, and happy Diwali! The sweets are wonderful; the kaju katli
was gone by ten.

Robin""",
            ),
        ),
        cast=("priya",),
    ),
)

_FRIENDLY = (
    _Plan(
        "Hiking on Saturday?",
        (
            _Turn(
                "a",
                """Hey Robin,

The forecast for Saturday looks great. Fancy the ridge trail? About 14 km and 700 m up.
I can drive: pick-up at 8:00 at yours?

Jordan""",
            ),
            _Turn(
                "r",
                "Yes please! 8:00 is fine. I'll bring sandwiches and the good coffee.\n\nRobin",
            ),
            _Turn(
                "a",
                "Deal. Pack the rain jacket anyway, it's the mountains.\n\nJordan",
            ),
            _Turn(
                "a",
                "What a day. My legs disagree, but I'd go again tomorrow. Photos soon!\n\nJ.",
            ),
        ),
        cast=("jordan",),
    ),
    _Plan(
        "¿Cena el viernes?",
        (
            _Turn(
                "a",
                """¡Hola Robin!

¿Te apetece venir a cenar el viernes? Hago paella. Vienen también Léo y Jordan.

(Dinner on Friday? I'm making paella. Léo and Jordan are coming too.)

Un abrazo,
María""",
            ),
            _Turn("r", "¡Sí, claro! I'll bring dessert. 20:00?\n\nRobin"),
            _Turn("a", "Perfecto, a las ocho. ¡Hasta el viernes!\n\nMaría"),
        ),
        cast=("maria",),
    ),
    _Plan(
        "Week-end à Lisbonne ✈️",
        (
            _Turn(
                "a",
                """Salut Robin !

Ça te dirait, un long week-end à Lisbonne ? J'ai vu des vols pas chers pour le mois
prochain.

(A long weekend in Lisbon? I found cheap flights for next month. We could rent a flat in
Alfama.)

À plus,
Léo""",
            ),
            _Turn(
                "r",
                "Carrément ! I'm in. Send me the flight options and I'll look for a flat.\n\nRobin",
            ),
            _Turn(
                "a",
                """Voilà : Friday 18:40 out, Monday 07:15 back, 89 EUR each. Book before
Wednesday, the price goes up after that.

Léo""",
            ),
            _Turn(
                "r",
                """Booked! I found a flat with a small terrace, three nights, 270 EUR in total.
Sending you the link.

Robin""",
            ),
        ),
        cast=("leo",),
    ),
    _Plan(
        "رمضان كريم 🌙",
        (
            _Turn(
                "a",
                """مرحباً روبن،

رمضان كريم! أتمنى لك ولعائلتك شهراً مليئاً بالخير والسلام.

(Ramadan Kareem! Wishing you and your family a month full of goodness and peace. Iftar at
ours next Saturday? Bring an appetite!)

مع أطيب التحيات،
فاطمة""",
            ),
            _Turn(
                "r",
                "Ramadan Kareem, Fatima! Thank you so much. Saturday works, what can I bring?\n\n"
                "Robin",
            ),
            _Turn(
                "a",
                "Just yourself! Maybe some dates from the market if you pass by 😊\n\nفاطمة",
            ),
        ),
        cast=("fatima",),
    ),
    _Plan(
        "Sunday call",
        (
            _Turn(
                "a",
                """Hello love,

Are we still on for the call on Sunday? Your father has finally worked out the camera on
the new tablet, so be prepared to see a lot of his forehead.

Love,
Mum""",
            ),
            _Turn(
                "r",
                """Yes, Sunday at 11 as usual. Tell Dad I'm looking forward to the forehead.

Robin""",
            ),
            _Turn("a", "Ha! Will do. Talk soon, love.\n\nMum"),
        ),
        cast=("mum",),
    ),
    _Plan(
        "Board games night ♟️",
        (
            _Turn(
                "a",
                """Hi Robin,

Board games at mine on $weekday, from 19:00? I finally bought the one with the trains.
Bring snacks if you like, I'll do drinks.

$me""",
            ),
            _Turn("r", "Count me in! I'll bring crisps and the cheese from the market.\n\nRobin"),
            _Turn("a", "Great, see you then!\n\n$me"),
        ),
    ),
)

_RUST_THREADS = (
    _Plan(
        "Lifetime error when returning an iterator from a method",
        (
            _Turn(
                "a",
                """Hi all,

I'm trying to return an iterator over the names in a struct:

    impl Registry {
        fn names(&self) -> impl Iterator<Item = &str> {
            self.entries.iter().map(|e| e.name.as_str())
        }
    }

This compiles, but as soon as I add a filter that uses a local variable, I get "borrowed
value does not live long enough". What's the idiomatic fix?

Thanks,
$me""",
            ),
            _Turn(
                "b",
                """The closure borrows the local variable, but the iterator you return outlives
the function. Make it a `move` closure so it owns the value; if the value is a String, take
it by value as a parameter.

$me""",
            ),
            _Turn(
                "c",
                """To add to that: writing `impl Iterator<Item = &str> + '_` makes it explicit
that the iterator borrows from self, which gives clearer errors.

$me""",
                0,
            ),
            _Turn("a", "`move` did it. Thanks both!\n\n$me"),
        ),
    ),
    _Plan(
        "Best way to share a config struct between threads?",
        (
            _Turn(
                "a",
                """I have a Config that is loaded once at start-up and then read by a dozen
worker threads. Right now it's an Arc<Mutex<Config>>, but the threads never write to it.
Is the mutex pointless?

$me""",
            ),
            _Turn(
                "b",
                """Yes: if nothing writes after start-up, Arc<Config> is enough. Shared
references are fine across threads as long as Config is Sync. If you need to reload it
later, look at swapping the Arc atomically.

$me""",
            ),
            _Turn(
                "c",
                "Or a OnceLock<Config> in a static, if you don't mind global state.\n\n$me",
                0,
            ),
            _Turn(
                "a",
                "Arc<Config> it is. Removing the lock also removed a surprising amount of code."
                "\n\n$me",
            ),
        ),
    ),
    _Plan(
        "Cargo workspace: one Cargo.lock or many?",
        (
            _Turn(
                "a",
                """We're moving four crates into one repository. Should the workspace have a
single Cargo.lock at the root, or should each crate keep its own?

$me""",
            ),
            _Turn(
                "b",
                """A workspace always has one Cargo.lock at the root; that's the point: every
member builds against the same versions. The per-crate lock files will be ignored.

$me""",
            ),
            _Turn("a", "That settles it, thanks. One less thing to argue about.\n\n$me"),
        ),
    ),
    _Plan(
        "serde: rename a field only when serializing",
        (
            _Turn(
                "a",
                """Is there a way to rename a field in the JSON output but accept the old name
when reading? The API we talk to changed `userName` to `username` last week.

$me""",
            ),
            _Turn(
                "b",
                """Yes: `#[serde(rename(serialize = "username"), alias = "userName")]`. The
alias is only used when deserializing, so both names are accepted on input.

$me""",
            ),
            _Turn("a", "Exactly what I needed, thank you!\n\n$me"),
        ),
    ),
    _Plan(
        "Cross-compiling to aarch64 from x86_64 Linux",
        (
            _Turn(
                "a",
                """Hello,

I added the aarch64-unknown-linux-gnu target with rustup, but linking fails with a long
list of "file in wrong format" errors. What am I missing?

$me""",
            ),
            _Turn(
                "b",
                """You need a linker for the target too. Install the cross gcc from your
distribution and tell cargo about it in .cargo/config.toml:

    [target.aarch64-unknown-linux-gnu]
    linker = "aarch64-linux-gnu-gcc"

$me""",
            ),
            _Turn(
                "c",
                "If you depend on C libraries, building in a container for the target is often "
                "less painful than juggling sysroots.\n\n$me",
                0,
            ),
            _Turn("a", "The linker setting fixed it. Thanks!\n\n$me"),
        ),
    ),
    _Plan(
        "Why does this borrow last until the end of the loop?",
        (
            _Turn(
                "a",
                """This doesn't compile and I don't understand why:

    let mut cache = HashMap::new();
    for key in keys {
        let value = cache.entry(key).or_insert_with(load);
        if value.is_stale() {
            cache.remove(&key);
        }
    }

The error says `cache` is still mutably borrowed at the remove. But I'm done with `value`
by then?

$me""",
            ),
            _Turn(
                "b",
                """You are done with it, but `key` was moved into `entry`, so `&key` afterwards
is a use of a moved value, and the error you see comes first. Clone the key before calling
entry, or check staleness in a separate step. Posting the full error helps, by the way:
there are usually two.

$me""",
            ),
            _Turn("a", "You're right, there were two errors. Cloning the key fixed both.\n\n$me"),
        ),
    ),
    _Plan(
        "[ANN] tinyini 0.$n: a small INI parser with no dependencies",
        (
            _Turn(
                "a",
                """Hi everyone,

I've released tinyini 0.$n. It parses INI files into a simple map, keeps comments when
writing back, and has no dependencies. New in this version: line numbers in every error.

Feedback and bug reports welcome.

$me""",
            ),
            _Turn(
                "b",
                "Nice! Keeping comments on write-back is exactly what I was missing elsewhere. "
                "Does it keep the order of keys too?\n\n$me",
            ),
            _Turn("a", "It does, the order of sections and keys is preserved.\n\n$me"),
        ),
    ),
    _Plan(
        "Meetup in $city next month?",
        (
            _Turn(
                "a",
                """Is anyone on the list based in or near $city? We're thinking of starting a
small meetup: one talk, then food. First one next month if at least five people are
interested.

$me""",
            ),
            _Turn("b", "Count me in. I can ask whether my office can host.\n\n$me"),
            _Turn("c", "Interested too! Happy to give a short talk on embedded Rust.\n\n$me", 0),
        ),
    ),
)

_HIKE_THREADS = (
    _Plan(
        "Tour am Sonntag: Herzogstand – Heimgarten",
        (
            _Turn(
                "a",
                """Liebe Bergfreunde,

am Sonntag geht es auf den Herzogstand und über den Grat zum Heimgarten. Treffpunkt ist um
7:30 am Bahnhof. Bitte an Trittsicherheit, Wasser und Brotzeit denken.

(English: Sunday we hike Herzogstand and along the ridge to Heimgarten. We meet at 7:30 at
the station; sure feet, water and a packed lunch needed.)

Bis Sonntag!
$me""",
            ),
            _Turn("b", "Ich bin dabei und bringe zwei Gäste mit, wenn das passt.\n\n$me"),
            _Turn("a", "Klar, gerne! Je mehr, desto lustiger.\n\n$me"),
        ),
    ),
    _Plan(
        "Mitfahrgelegenheit gesucht / ride share to the trailhead",
        (
            _Turn(
                "a",
                """Hallo zusammen,

hat jemand am Samstag noch einen Platz im Auto frei? Ich wohne in der Nähe vom Südbahnhof.

(Anyone with a free seat on Saturday? I live near the south station.)

Danke!
$me""",
            ),
            _Turn(
                "b",
                """Ich habe noch zwei Plätze frei und fahre um 7:00 am Südbahnhof vorbei.

$me""",
            ),
        ),
    ),
    _Plan(
        "Jahreshauptversammlung am $date_de",
        (
            _Turn(
                "a",
                """Liebe Mitglieder,

die Jahreshauptversammlung findet am $date_de um 19:00 Uhr im Gasthaus zur Post statt.
Auf der Tagesordnung: Tourenprogramm, Kassenbericht, Wahl des Vorstands.

(Annual general meeting on $date at 19:00 at the Gasthaus zur Post: tour programme,
treasurer's report, election of the board.)

Herzliche Grüße
$me""",
            ),
        ),
    ),
    _Plan(
        "Fotos vom Ausflug 📸",
        (
            _Turn(
                "a",
                """Hallo ihr Lieben,

die Fotos vom letzten Ausflug sind im Vereinsalbum. Danke an alle fürs Mitkommen, das Wetter
hätte nicht besser sein können!

$me""",
            ),
            _Turn("b", "Wunderschöne Bilder, danke fürs Teilen! 😍\n\n$me"),
            _Turn("c", "Thank you! The one from the summit cross is going on my wall.\n\n$me", 0),
        ),
    ),
)

_ANNOUNCEMENTS = (
    (
        "Planned maintenance: database failover test on $date",
        """Hi all,

On $date between 06:00 and 07:00 UTC we will test the database failover in production.
Expect up to two minutes of failed requests while the replica takes over. No action needed;
please don't deploy during the window.

$me""",
    ),
    (
        "CI runners moved to the new build cluster",
        """Hi all,

All CI jobs now run on the new build cluster. Builds should be about twice as fast. If a
job fails in a way it didn't before, please reply to this mail with a link to the run.

$me""",
    ),
    (
        "Release $version is out 🎉",
        """Hi all,

Version $version is out. Highlights: $feature, faster start-up on big mailboxes and a long
list of small fixes. The full changelog is in the repository.

Thanks to everyone who tested the release candidates!

$me""",
    ),
    (
        "Reminder: security training due by $date",
        """Hi all,

A friendly reminder that this year's security training is due by $date. It takes about 40
minutes. If you've already done it, thank you, and please ignore this mail.

$me""",
    ),
    (
        "New on-call rotation from $date",
        """Hi all,

The new on-call rotation starts on $date: shifts are one week, handover on Monday at
10:00. The schedule is in the wiki; please check your weeks and swap directly with each
other if needed.

$me""",
    ),
    (
        "Office closed on $date",
        """Hi all,

The office is closed on $date for the public holiday. The on-call rota runs as usual.

$me""",
    ),
    (
        "Welcome to the platform team, Ayo!",
        """Hi all,

Please welcome Ayo, who joins the platform team today as a $role. Ayo comes from a
background in mail infrastructure, so expect sharp questions about DKIM.

$me""",
    ),
)

_NOTES = (
    ("jordan", "Your spare keys", "Left your spare keys with the neighbour at no. 12.\n\nJ."),
    ("sam", "Printer on the 2nd floor", "FYI: the printer on the second floor works again.\n\nSam"),
    (
        "dana",
        "Slides from today",
        "The slides from today's demo are in the shared drive under Demos/$year.\n\nDana",
    ),
    ("maria", "Receta 🥘", "The paella recipe you asked for: the secret is the sofrito.\n\nMaría"),
    ("alex", "Coffee?", "Coffee at 3? I need to get away from this migration for ten minutes."),
    ("chris", "Ride on Sunday 🚴", "Sunday ride: 60 km, easy pace, cake stop guaranteed.\n\nChris"),
)

_DRAFTS = (
    (
        "sam",
        "Feedback on the Q$quarter plan",
        """Hi Sam,

Some thoughts on the plan before the meeting:

1. Offline mode needs two people.
2. """,
    ),
    (
        "hr",
        "Question about parental leave",
        """Hello,

I wanted to ask how parental leave works when""",
    ),
    ("mum", "Thank you!", "Hi Mum,\n\nThank you so much for the parcel, the scarf is"),
    (
        "cfp",
        "Talk proposal: keeping big mailboxes fast",
        """Title: Keeping big mailboxes fast

Abstract: A folder with 100,000 messages should open as fast as one with ten. This talk
shows how a terminal mail client""",
    ),
    ("jordan", "Book for the train", "Jordan, which was the book you mentioned? The one about"),
)


# Small binary files ---------------------------------------------------------------------------


def make_pdf(lines: Sequence[str]) -> bytes:
    """A minimal valid one-page PDF (A4) showing ``lines`` of ASCII text in Helvetica."""

    def escaped(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 12 Tf", "16 TL", "72 770 Td"]
    ops += [f"({escaped(line)}) Tj T*" for line in lines]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """A valid 8-bit RGB PNG whose colour at (x, y) is ``pixel(x, y)``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(pixel(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _landscape(x: int, y: int) -> tuple[int, int, int]:
    ridge = 18 + abs(x - 30) // 2 - (6 if 40 < x < 52 else 0)
    if y > 36:
        return (70, 120 + (x * 3) % 20, 60)
    if y > ridge:
        snow = y < ridge + 3 and abs(x - 30) < 8
        return (235, 235, 240) if snow else (110, 105, 120)
    return (120 + y * 2, 170 + y, 230)


def _screenshot(x: int, y: int) -> tuple[int, int, int]:
    if y < 6:
        return (50, 50, 60) if x > 5 else (230, 80, 70)
    if x < 16:
        return (38, 40, 48) if y % 6 else (90, 140, 220)
    if y % 5 == 2 and 20 < x < 20 + (y * 7) % 40:
        return (200, 200, 190)
    return (28, 28, 32)


@functools.cache
def _photo() -> bytes:
    return make_png(64, 44, _landscape)


@functools.cache
def _screen() -> bytes:
    return make_png(72, 46, _screenshot)


# Building messages ----------------------------------------------------------------------------

_PREFORMATTED = re.compile(r"[ \t>]")
_BULLET = re.compile(r"(?:[-*] (?:\[[ x]\] )?|\d+[.)] )")
_WIDE = re.compile("[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _wrap(text: str) -> str:
    """Prose paragraphs refilled to 72 columns; lists wrapped per item; code kept as it is."""
    out = []
    for paragraph in text.strip("\n").split("\n\n"):
        lines = paragraph.split("\n")
        if _WIDE.search(paragraph) or all(_PREFORMATTED.match(line) for line in lines):
            out.append(paragraph)
            continue
        if all(len(line) <= _WIDTH for line in lines) and not any(
            _BULLET.match(line) for line in lines
        ):
            out.append(paragraph)
            continue
        items: list[list[str]] = []
        for line in lines:
            if not items or _BULLET.match(line) or not _BULLET.match(items[-1][0]):
                if items and not _BULLET.match(line) and not _BULLET.match(items[-1][0]):
                    items[-1].append(line.strip())
                    continue
                items.append([line])
            else:
                items[-1].append(line.strip())
        filled = []
        for item in items:
            joined = " ".join(part for part in item if part)
            marker = _BULLET.match(joined)
            indent = " " * (marker.end() if marker else 0)
            filled.append(
                textwrap.fill(
                    joined,
                    _WIDTH,
                    subsequent_indent=indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        out.append("\n".join(filled))
    return "\n\n".join(out) + "\n"


def _quote(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join(">" + line if line.startswith(">") else f"> {line}".rstrip() for line in lines)


def _attribution(when: datetime, person: _Person, zone: timezone) -> str:
    local = when.astimezone(zone)
    day = _DAYS[local.weekday()][:3]
    stamp = f"{day}, {local.day} {_MONTHS[local.month - 1][:3]} {local.year} at {local:%H:%M}"
    return f"On {stamp}, {person.name} wrote:"


class _MemoHeaders(HeaderRegistry):
    """The standard header classes; each distinct header is parsed and folded only once.

    The demo repeats the same names, content types and list headers hundreds of times, and
    parsing and folding them is most of the time it takes to build the mailbox.
    """

    def __init__(self) -> None:
        super().__init__()
        self.made: dict[tuple[str, str], BaseHeader] = {}
        self.folded: dict[tuple[str, str], bytes] = {}
        self.classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        """The header class for ``name``, made once (the registry makes a new one each call)."""
        key = name.lower()
        kind = self.classes.get(key)
        if kind is None:
            kind = self.classes[key] = super().__getitem__(name)
        return kind

    def __call__(self, name: str, value: object) -> BaseHeader:
        """The header object for ``name: value``, the same object for the same text."""
        if not isinstance(value, str):
            return super().__call__(name, value)
        key = (name.lower(), value)
        header = self.made.get(key)
        if header is None:
            header = self.made[key] = super().__call__(name, value)
        return header


class _DemoPolicy(EmailPolicy):
    """``email.policy.default`` with folded headers remembered (see :class:`_MemoHeaders`)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        """The header folded for the wire, as the default policy would fold it."""
        memo = self.header_factory
        if not isinstance(memo, _MemoHeaders):
            return super().fold_binary(name, value)
        key = (name, str(value))
        folded = memo.folded.get(key)
        if folded is None:
            folded = super().fold_binary(name, value)
            if folded.startswith(f"{name}:\n".encode()) and str(value).isascii():
                folded = _fold_words(name, str(value))
            memo.folded[key] = folded
        return folded


def _fold_words(name: str, value: str) -> bytes:
    """An ASCII header folded between words, its value starting on the first line.

    The stdlib puts a long ASCII subject on the second line, which readers then see with a
    leading space.
    """
    lines = textwrap.wrap(
        f"{name}: {value}",
        78,
        subsequent_indent=" ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return ("\n".join(lines) + "\n").encode("ascii")


@dataclass(frozen=True)
class _File:
    data: bytes | str
    mime: str
    name: str


@dataclass
class _Item:
    folder: str
    raw: bytes
    received: datetime
    date: datetime
    message_id: str
    references: tuple[str, ...]
    sender: _Person
    subject: str
    own: str
    """What the sender wrote, without the quote."""
    text: str
    """The whole plain body."""
    kind: str
    serial: int
    flags: set[Flag] = field(default_factory=set)


class _Builder:
    """Writes the stories of the demo mailbox one message at a time."""

    def __init__(self, seed: int, now: datetime, count: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo content, not security
        self.now = now.astimezone(UTC)
        self.count = count
        self.items: list[_Item] = []
        self.used: dict[str, list[int]] = {}
        self.policy = _DemoPolicy(header_factory=_MemoHeaders())

    @property
    def left(self) -> int:
        return self.count - len(self.items)

    # choosing --------------------------------------------------------------------------------

    def pick(self, kind: str, size: int) -> int:
        """An index into a list of ``size`` options, least used first."""
        used = self.used.setdefault(kind, [0] * size)
        least = min(used)
        index = self.rng.choice([i for i, n in enumerate(used) if n == least])
        used[index] += 1
        return index

    def start(
        self, person: _Person, *, days: float = _SPAN_DAYS, hours: range = range(7, 22)
    ) -> datetime:
        """A moment in the last ``days`` days at a plausible hour of ``person``'s day."""
        back = timedelta(days=days * self.rng.random() ** 1.25)
        local = (self.now - back).astimezone(person.zone)
        local = local.replace(
            hour=self.rng.choice(hours),
            minute=self.rng.randrange(60),
            second=self.rng.randrange(60),
        )
        when = local.astimezone(UTC).replace(microsecond=0)
        while when > self.now - timedelta(minutes=10):
            when -= timedelta(days=1)
        return when

    def gap(self, kind: str) -> timedelta:
        """How long an answer takes."""
        if kind == "list":
            return timedelta(minutes=self.rng.randint(20, 3 * 24 * 60))
        quick = self.rng.random() < 0.6
        minutes = self.rng.randint(4, 120) if quick else self.rng.randint(120, 36 * 60)
        return timedelta(minutes=minutes)

    def slots(self, when: datetime) -> dict[str, str]:
        """The words a template may use, made to fit the moment of the story."""
        rng = self.rng
        later = when + timedelta(days=rng.randint(2, 20))
        if later.weekday() > 4:
            later += timedelta(days=7 - later.weekday())
        year = when.year
        return {
            "weekday": _DAYS[later.weekday()],
            "weekday_de": _DAYS_DE[later.weekday()],
            "today": f"{when.day} {_MONTHS[when.month - 1]}",
            "date": f"{later.day} {_MONTHS[later.month - 1]}",
            "date_de": f"{later.day}. {_MONTHS_DE[later.month - 1]}",
            "month": _MONTHS[when.month - 1],
            "month_de": _MONTHS_DE[when.month - 1],
            "month_ru": (
                "январь",
                "февраль",
                "март",
                "апрель",
                "май",
                "июнь",
                "июль",
                "август",
                "сентябрь",
                "октябрь",
                "ноябрь",
                "декабрь",
            )[when.month - 1],
            "year": str(year),
            "quarter": str((when.month - 1) // 3 + 1),
            "week": str(when.isocalendar()[1]),
            "version": f"{year - 2021}.{when.month}.{rng.randrange(4)}",
            "pr": str(200 + (when - (self.now - timedelta(days=_SPAN_DAYS))).days * 2),
            "feature": rng.choice(_FEATURES),
            "city": rng.choice(_CITIES),
            "room": rng.choice(_ROOMS),
            "role": rng.choice(_ROLES),
            "n": str(rng.randint(2, 9)),
            "amount": f"{rng.randint(18, 240)}.{rng.randrange(100):02d}",
        }

    # writing ---------------------------------------------------------------------------------

    def emit(
        self,
        *,
        folder: str,
        kind: str,
        sender: _Person,
        to: Sequence[_Person],
        subject: str,
        own: str,
        received: datetime,
        cc: Sequence[_Person] = (),
        parent: _Item | None = None,
        top_post: bool = True,
        html_body: str | None = None,
        files: Sequence[_File] = (),
        headers: Iterable[tuple[str, str]] = (),
        to_list: _List | None = None,
    ) -> _Item:
        """Build one message, add it to the mailbox and return it."""
        serial = len(self.items)
        if kind != "newsletter":
            own = _wrap(own)
        text = own
        if parent is not None:
            reader_zone = sender.zone
            said = _attribution(parent.date, parent.sender, reader_zone)
            if top_post:
                text = f"{own}\n{said}\n{_quote(parent.text)}\n"
            else:
                text = f"{said}\n{_quote(parent.own)}\n\n{own}"
        from_robin = sender is ROBIN
        delay = self.rng.randint(1, 40) if from_robin else self.rng.randint(30, 420)
        date = (received - timedelta(seconds=delay)).astimezone(sender.zone)
        domain = sender.email.split("@")[1]
        message_id = f"<{date:%Y%m%d%H%M%S}.{serial:04d}.{self.rng.getrandbits(40):010x}@{domain}>"
        references: tuple[str, ...] = ()
        if parent is not None:
            references = (*parent.references, parent.message_id)[-12:]

        message = EmailMessage(policy=self.policy)
        if not from_robin and kind != "draft":
            message["Received"] = self._trace(domain, received)
        message["From"] = sender.address
        if to_list is not None:
            message["To"] = to_list.post
        else:
            message["To"] = ", ".join(person.address for person in to)
        if cc:
            message["Cc"] = ", ".join(person.address for person in cc)
        message["Subject"] = subject
        message["Date"] = date
        message["Message-ID"] = message_id
        if parent is not None:
            message["In-Reply-To"] = parent.message_id
            message["References"] = " ".join(references)
        list_headers = to_list.headers() if to_list is not None and not from_robin else []
        for name, value in (*headers, *list_headers):
            message[name] = value
        self._body(message, sender, text, html_body)
        for file in files:
            self._attach(message, file)
        self._seal(message, serial)
        flags = {Flag.SEEN}
        if kind == "draft":
            flags.add(Flag.DRAFT)
        item = _Item(
            folder=folder if not from_robin or kind == "draft" else "Sent",
            raw=message.as_bytes(),
            received=received,
            date=date,
            message_id=message_id,
            references=references,
            sender=sender,
            subject=subject,
            own=own,
            text=text,
            kind=kind,
            serial=serial,
            flags=flags,
        )
        if from_robin and parent is not None and parent.sender is not ROBIN:
            parent.flags.add(Flag.ANSWERED)
        self.items.append(item)
        return item

    def _trace(self, domain: str, received: datetime) -> str:
        """A Received header as the demo's own mail server would write it."""
        relay = self.rng.randrange(1, 250)
        host = f"mx{relay % 3 + 1}.{domain}"
        return (
            f"from {host} ({host} [192.0.2.{relay}]) by mail.demo.example with ESMTPS "
            f"id {self.rng.getrandbits(48):012X} for <{DEMO_ADDRESS}>; {format_datetime(received)}"
        )

    def _seal(self, message: EmailMessage, serial: int) -> None:
        """Fixed MIME boundaries (the generator would pick random ones)."""
        number = 0
        for part in message.walk():
            if part.is_multipart():
                number += 1
                part.set_boundary(f"=_demo_{serial:04d}_{number}_{self.rng.getrandbits(32):08x}")

    @staticmethod
    def _body(message: EmailMessage, sender: _Person, text: str, html_body: str | None) -> None:
        if html_body is not None and not text:
            message.set_content(html_body, subtype="html", cte="quoted-printable")
            return
        charset = sender.charset
        try:
            text.encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
        cte = None if text.isascii() else sender.cte
        message.set_content(text, charset=charset, cte=cte)
        if html_body is not None:
            message.add_alternative(html_body, subtype="html", cte="quoted-printable")

    @staticmethod
    def _attach(message: EmailMessage, file: _File) -> None:
        maintype, subtype = file.mime.split("/")
        if isinstance(file.data, str):
            cte = None if file.data.isascii() else "quoted-printable"
            message.add_attachment(file.data, subtype=subtype, filename=file.name, cte=cte)
        else:
            message.add_attachment(file.data, maintype, subtype, filename=file.name)

    def thread(
        self,
        plan: _Plan,
        *,
        pool: Sequence[str],
        folder: str,
        kind: str,
        robin: str = "r",
        to_list: _List | None = None,
    ) -> None:
        """Play a plan: each turn answers an earlier one, until the budget or ``now`` ends it."""
        cast = {"r": ROBIN}
        choices = [key for key in pool if key not in plan.cast]
        self.rng.shuffle(choices)
        for role, key in zip("abc", (*plan.cast, *choices), strict=False):
            cast[role] = _PEOPLE[key]
        if robin != "r":
            cast[robin] = ROBIN
        opener = cast[plan.turns[0].role]
        when = self.start(opener)
        words = self.slots(when)
        words |= {role: person.short for role, person in cast.items()}
        subject = Template(plan.subject).substitute(words)
        if to_list is not None:
            subject = f"[{to_list.tag}] {subject}"
        wanted = len(plan.turns)
        if self.rng.random() < 0.3:
            wanted = self.rng.randint(1, wanted)
        done: list[_Item] = []
        roles = sorted({turn.role for turn in plan.turns}, key=lambda role: role != "r")
        heard: dict[str, _Person] = {}
        for turn in plan.turns[:wanted]:
            if self.left <= 0:
                break
            sender = cast[turn.role]
            parent = done[turn.parent] if done and turn.parent < len(done) else None
            if parent is not None:
                when = max(when, parent.received) + self.gap(kind)
                if when > self.now - timedelta(minutes=2):
                    break
            if parent is None:
                to = [cast[role] for role in roles if cast[role] is not sender] or [ROBIN]
            else:
                to = [parent.sender] if parent.sender is not sender else [ROBIN]
            cc = [p for p in heard.values() if p is not sender and p not in to]
            for person in (sender, *to):
                heard.setdefault(person.email, person)
            text = Template(turn.text).substitute(
                words, me=sender.short or sender.name, to=to[0].short
            )
            done.append(
                self.emit(
                    folder=folder,
                    kind=kind,
                    sender=sender,
                    to=to,
                    cc=cc if to_list is None else (),
                    subject=subject if parent is None else f"Re: {subject}",
                    own=text,
                    received=when,
                    parent=parent,
                    top_post=to_list is None,
                    to_list=to_list,
                )
            )
        self._maybe_archive(done)

    def _maybe_archive(self, done: list[_Item]) -> None:
        """Old finished conversations are sometimes moved to Archive."""
        if not done or done[-1].received > self.now - timedelta(days=300):
            return
        if self.rng.random() < 0.35:
            for item in done:
                if item.folder == "INBOX":
                    item.folder = "Archive"

    # stories ---------------------------------------------------------------------------------

    def work(self, index: int | None = None) -> None:
        """A conversation among colleagues."""
        plan = _WORK[self.pick("work", len(_WORK)) if index is None else index]
        self.thread(plan, pool=_COLLEAGUES, folder="INBOX", kind="work")

    def friends(self, index: int | None = None) -> None:
        """A conversation with friends or family."""
        plan = _FRIENDLY[self.pick("friends", len(_FRIENDLY)) if index is None else index]
        self.thread(plan, pool=_FRIENDS, folder="INBOX", kind="friend")

    def rust(self) -> None:
        """A question and its answers on the rust-users list; Robin takes part now and then."""
        plan = _RUST_THREADS[self.pick("rust", len(_RUST_THREADS))]
        roll = self.rng.random()
        robin = "a" if roll < 0.12 else "b" if roll < 0.3 else "r"
        self.thread(
            plan, pool=_RUSTACEANS, folder=_RUST.folder, kind="list", robin=robin, to_list=_RUST
        )

    def hike(self) -> None:
        """A conversation on the hiking club's list."""
        plan = _HIKE_THREADS[self.pick("hike", len(_HIKE_THREADS))]
        self.thread(plan, pool=_HIKERS, folder=_HIKE.folder, kind="list", to_list=_HIKE)

    def announce(self) -> None:
        """An announcement on dev-announce, sometimes with a question and its answer."""
        subject, text = _ANNOUNCEMENTS[self.pick("announce", len(_ANNOUNCEMENTS))]
        turns = [_Turn("a", text)]
        if self.rng.random() < 0.25:
            turns.append(_Turn("b", "Thanks! Does this affect the staging environment too?\n\n$me"))
            turns.append(_Turn("a", "No, staging is unaffected.\n\n$me"))
        plan = _Plan(subject, tuple(turns))
        self.thread(plan, pool=_COLLEAGUES, folder=_DEV.folder, kind="list", to_list=_DEV)

    def times(self, folder: str = "INBOX") -> None:
        """An issue of a weekly newsletter: text and HTML alternatives."""
        sender = _PEOPLE["times"]
        when = self.start(sender, hours=range(6, 8))
        issue = 40 + (when - (self.now - timedelta(days=_SPAN_DAYS))).days // 7
        stories = [
            (title, blurb, f"https://terminaltimes.example/{when.year}/{slug}?utm_source=mail")
            for title, slug, blurb in self.rng.sample(_HEADLINES, 3)
        ]
        unsubscribe = f"https://terminaltimes.example/unsubscribe?u=rb{issue:04d}"
        intro = "Hello Robin, here is what we read, wrote and argued about this week."
        text = "\n\n".join(
            [
                f"THE TERMINAL TIMES · Issue #{issue}",
                intro,
                *(f"{title}\n{blurb}\nRead more: {url}" for title, blurb, url in stories),
                "You get this because you subscribed at terminaltimes.example.\n"
                f"Unsubscribe: {unsubscribe}",
            ]
        )
        page = _newsletter_html(
            title=f"The Terminal Times #{issue}",
            logo="https://cdn.terminaltimes.example/img/logo-600.png",
            logo_alt="The Terminal Times",
            intro=intro,
            stories=stories,
            unsubscribe=unsubscribe,
            pixel=f"https://t.terminaltimes.example/open/{issue}/rb.gif",
        )
        self.emit(
            folder=folder,
            kind="newsletter",
            sender=sender,
            to=[ROBIN],
            subject=f"The Terminal Times #{issue}: {stories[0][0]}",
            own=text + "\n",
            received=when,
            html_body=page,
            headers=_newsletter_headers("weekly.terminaltimes.example", unsubscribe),
        )

    def cafe(self) -> None:
        """A French coffee roaster's newsletter: text and HTML alternatives."""
        sender = _PEOPLE["cafe"]
        when = self.start(sender, hours=range(8, 11))
        name, notes = _COFFEES[self.pick("cafe", len(_COFFEES))]
        slug = name.split()[0].lower().replace("é", "e")
        url = f"https://cafe-lumiere.example/boutique/{slug}"
        unsubscribe = "https://cafe-lumiere.example/desabonnement?c=4471"
        intro = (
            f"Notre nouveau café de saison est arrivé : {name}, avec des {notes}. "
            "Torréfié chaque mardi à Lyon, livré en 48 heures."
        )
        text = (
            f"Bonjour Robin,\n\n{textwrap.fill(intro, _WIDTH)}\n\nDécouvrir : {url}\n\n"
            f"Se désabonner : {unsubscribe}\n"
        )
        page = _newsletter_html(
            title=f"Café Lumière · {name}",
            logo=f"https://images.cafe-lumiere.example/sachets/{slug}.jpg",
            logo_alt=f"Un sachet de {name}",
            intro=intro,
            stories=[(f"Découvrir le {name}", "250 g, grains ou moulu.", url)],
            unsubscribe=unsubscribe,
            pixel="https://images.cafe-lumiere.example/o.gif?c=4471",
            lang="fr",
        )
        self.emit(
            folder="INBOX",
            kind="newsletter",
            sender=sender,
            to=[ROBIN],
            subject=f"Nouveautés de saison : {name} ☕",
            own=text,
            received=when,
            html_body=page,
            headers=_newsletter_headers("news.cafe-lumiere.example", unsubscribe),
        )

    def deal(self, folder: str = "INBOX") -> None:
        """A shop's promotion, HTML only (as many are)."""
        sender = _PEOPLE["trailhead"]
        when = self.start(sender, hours=range(5, 9))
        subject, thing, slug = _DEALS[self.pick("deal", len(_DEALS))]
        url = f"https://trailhead.example/{slug}?utm_campaign={when:%Y%m}"
        unsubscribe = "https://trailhead.example/email/unsubscribe?id=9f2c"
        page = _newsletter_html(
            title=subject,
            logo=f"https://img.trailhead.example/campaigns/{slug}.jpg",
            logo_alt=f"Photo: {thing} on a misty trail",
            intro=(
                f"Hi Robin, our {thing} are ready for the next trip. Members get free "
                "returns for 60 days."
            ),
            stories=[
                (f"Shop {thing}", "Limited sizes left in the most popular colours.", url),
                (
                    "Find a store near you",
                    "Try before you buy.",
                    "https://trailhead.example/stores",
                ),
            ],
            unsubscribe=unsubscribe,
            pixel=f"https://t.trailhead.example/p/{slug}.gif",
        )
        self.emit(
            folder=folder,
            kind="newsletter",
            sender=sender,
            to=[ROBIN],
            subject=subject,
            own="",
            received=when,
            html_body=page,
            headers=_newsletter_headers("promo.trailhead.example", unsubscribe),
        )

    def notice(self, folder: str = "INBOX", which: int | None = None) -> None:
        """A machine-written notification: CI, calendar, parcel, bank, landlord, forge."""
        makers: tuple[Callable[[str], None], ...] = (
            self._ci,
            self._calendar,
            self._parcel,
            self._statement,
            self._landlord,
            self._forge,
            self._code,
        )
        index = self.pick("notice", len(makers)) if which is None else which
        makers[index](folder)

    def _simple(
        self,
        folder: str,
        key: str,
        subject: str,
        text: str,
        *,
        kind: str = "notice",
        hours: range = range(0, 24),
        days: float = _SPAN_DAYS,
    ) -> None:
        sender = _PEOPLE[key]
        when = self.start(sender, hours=hours, days=days)
        words = self.slots(when) | {"me": sender.short or sender.name}
        self.emit(
            folder=folder,
            kind=kind,
            sender=sender,
            to=[ROBIN],
            subject=Template(subject).substitute(words),
            own=Template(text).substitute(words),
            received=when,
        )

    def _ci(self, folder: str) -> None:
        failed = self.rng.random() < 0.6
        test = self.rng.choice(_TESTS)
        run = self.rng.randint(1200, 9800)
        if failed:
            subject = f"[CI] main #{run} failed: {test}"
            text = f"""Build #{run} of main failed.

Commit:   {self.rng.getrandbits(28):07x} "$feature"
Failed:   tests/integration/{test.split("_")[1]}.py::{test}
Duration: {self.rng.randint(4, 19)}m {self.rng.randint(0, 59)}s

    AssertionError: expected 3 messages in INBOX, found 2

Logs: https://build.demo.example/runs/{run}
"""
        else:
            subject = f"[CI] main #{run} passed"
            text = f"Build #{run} of main passed in {self.rng.randint(4, 19)} minutes.\n"
            text += f"\nLogs: https://build.demo.example/runs/{run}\n"
        self._simple(folder, "ci", subject, text)

    def _calendar(self, folder: str) -> None:
        host = _PEOPLE[self.rng.choice(_COLLEAGUES)]
        event = self.rng.choice(("Design review", "1:1", "Sprint planning", "Retro"))
        text = f"""{host.name} has invited you to "{event}".

When:  $weekday, $date, 14:00 to 15:00
Where: $room
Who:   {host.name}, {DEMO_NAME}

Accept, decline or propose a new time in your calendar.
"""
        self._simple(folder, "calendar", f"Invitation: {event} @ $weekday $date 14:00", text)

    def _parcel(self, folder: str) -> None:
        code = f"PP{self.rng.randrange(10**9):09d}DE"
        text = f"""Hello Robin Example,

Your parcel from Gadgetry is on its way and should arrive on $weekday between 10:00 and
14:00. Tracking number: {code}

Track it here: https://parcelpost.example/track/{code}

Not at home? You can choose a neighbour or a parcel shop on the tracking page.
"""
        self._simple(folder, "parcel", f"Your parcel is on its way ({code})", text)

    def _statement(self, folder: str) -> None:
        text = """Dear Robin Example,

Your account statement for $month $year is ready. For your security we do not send
statements by email: please sign in to online banking to read it.

This is an automatic message; replies are not read.
"""
        self._simple(folder, "bank", "Your statement for $month $year is ready", text)

    def _landlord(self, folder: str) -> None:
        text = """Sehr geehrte Mieterinnen und Mieter,

am $weekday_de, den $date_de, wird zwischen 8:00 und 12:00 Uhr die Heizungsanlage gewartet.
In dieser Zeit gibt es kein warmes Wasser. Wir bitten um Ihr Verständnis.

(English: heating maintenance on $date, 8:00 to 12:00; no hot water during that time.)

Mit freundlichen Grüßen
Hausverwaltung Schäfer
"""
        self._simple(folder, "landlord", "Wartung der Heizungsanlage am $date_de", text)

    def _forge(self, folder: str) -> None:
        person = _PEOPLE[self.rng.choice(_COLLEAGUES)]
        handle = person.email.split("@")[0].split(".")[0]
        text = f"""@{handle} commented on pull request #$pr:

> @robin could you double-check the migration? It touches the flags table and I'd like a
> second pair of eyes before we merge.

View it on Forge: https://forge.demo.example/platform/sync/pull/$pr

You are receiving this because you were mentioned.
"""
        self._simple(folder, "forge", "[platform/sync] $feature (#$pr)", text)

    def _code(self, folder: str) -> None:
        code = f"{self.rng.randrange(10**6):06d}"
        text = f"""Your Gadgetry sign-in code is {code}.

It expires in 10 minutes. If you did not try to sign in, you can ignore this message.
"""
        self._simple(folder, "shop", f"Your sign-in code: {code}", text)

    def note(self) -> None:
        """A short personal note."""
        key, subject, text = _NOTES[self.pick("note", len(_NOTES))]
        self._simple("INBOX", key, subject, text, kind="friend", hours=range(8, 22))

    def invoice(self) -> None:
        """A hosting invoice with a PDF."""
        sender = _PEOPLE["cloudberry"]
        when = self.start(sender, hours=range(3, 6))
        number = f"CB-{when.year}-{self.rng.randint(1000, 9999)}"
        amount = f"{self.rng.randint(18, 90)}.{self.rng.randrange(100):02d}"
        month = _MONTHS[when.month - 1]
        pdf = make_pdf(
            [
                "Cloudberry Hosting Ltd.",
                f"Invoice {number}",
                f"Billed to: {DEMO_NAME}",
                f"Period: {month} {when.year}",
                f"VPS small (2 vCPU, 4 GB): EUR {amount}",
                f"Total due: EUR {amount}",
                "Paid by card on file. Thank you!",
            ]
        )
        text = f"""Hello {DEMO_NAME},

Your invoice {number} for {month} {when.year} is attached. The amount of EUR {amount} will
be charged to your card on file; there is nothing you need to do.

Cloudberry Hosting
"""
        self.emit(
            folder="INBOX",
            kind="attachment",
            sender=sender,
            to=[ROBIN],
            subject=f"Invoice {number} for {month} {when.year}",
            own=text,
            received=when,
            files=[_File(pdf, "application/pdf", f"invoice-{number}.pdf")],
        )

    def rechnung(self) -> None:
        """A German utility bill with a PDF whose file name needs RFC 2231."""
        sender = _PEOPLE["stadtwerke"]
        when = self.start(sender, hours=range(6, 18))
        month = _MONTHS_DE[when.month - 1]
        amount = f"{self.rng.randint(40, 140)},{self.rng.randrange(100):02d}"
        pdf = make_pdf(
            [
                "Stadtwerke Beispielstadt",
                f"Rechnung Strom {when.month:02d}/{when.year}",
                f"Kunde: {DEMO_NAME}",
                f"Abschlag: {amount} EUR",
                "Der Betrag wird per Lastschrift eingezogen.",
            ]
        )
        text = f"""Guten Tag {DEMO_NAME},

anbei erhalten Sie Ihre Rechnung für {month} {when.year}. Der Betrag von {amount} EUR wird
wie gewohnt per Lastschrift eingezogen.

Mit freundlichen Grüßen
Ihre Stadtwerke Beispielstadt
"""
        self.emit(
            folder="INBOX",
            kind="attachment",
            sender=sender,
            to=[ROBIN],
            subject=f"Ihre Rechnung für {month} {when.year}",
            own=text,
            received=when,
            files=[_File(pdf, "application/pdf", f"Rechnung_{month}_{when.year}.pdf")],
        )

    def photos(self) -> None:
        """A friend's photo (PNG) and Robin's thanks."""
        chris = _PEOPLE["chris"]
        when = self.start(chris, hours=range(17, 23))
        item = self.emit(
            folder="INBOX",
            kind="attachment",
            sender=chris,
            to=[ROBIN],
            subject="Photos from the weekend 📷",
            own="Hi Robin,\n\nHere's the view from the top. Worth every step!\n\nChris\n",
            received=when,
            files=[_File(_photo(), "image/png", "summit.png")],
        )
        answer = when + self.gap("friend")
        if self.left > 0 and answer < self.now:
            self.emit(
                folder="Sent",
                kind="friend",
                sender=ROBIN,
                to=[chris],
                subject="Re: Photos from the weekend 📷",
                own="Wow, that light! Can I use it as my desktop background?\n\nRobin\n",
                received=answer,
                parent=item,
            )

    def screenshot(self) -> None:
        """A colleague's bug report with a screenshot whose name is Japanese."""
        kenji = _PEOPLE["kenji"]
        when = self.start(kenji, hours=range(9, 19))
        text = """Robinさん

The message list draws the subject one column too far when the sender's name has
double-width characters. Screenshot attached (look at the third row).

田中
"""
        self.emit(
            folder="INBOX",
            kind="attachment",
            sender=kenji,
            to=[ROBIN],
            subject="Rendering bug with wide characters / 全角文字の表示バグ",
            own=text,
            received=when,
            files=[_File(_screen(), "image/png", "スクリーンショット.png")],
        )

    def minutes(self) -> None:
        """Meeting notes as a .txt attachment."""
        sam = _PEOPLE["sam"]
        when = self.start(sam, hours=range(10, 18))
        notes = f"""Architecture session, {when.day} {_MONTHS[when.month - 1]} {when.year}
Present: Sam, Robin, Alex, Dana

1. Cache format
   - Keep SQLite; add a migration table instead of rebuilding on upgrade.
   - Robin to measure the size of the FTS index on the 100k test mailbox.
2. Sync
   - Batches of 500 UIDs; commit after each batch.
   - Alex to check what happens when UIDVALIDITY changes mid-sync.
3. Next session in two weeks.
"""
        self.emit(
            folder="INBOX",
            kind="attachment",
            sender=sam,
            to=[ROBIN, _PEOPLE["alex"], _PEOPLE["dana"]],
            subject="Notes from the architecture session",
            own="Hi all,\n\nNotes from today attached as a text file. Corrections welcome.\n\n"
            "Sam\n",
            received=when,
            files=[_File(notes, "text/plain", "architecture-notes.txt")],
        )

    def expenses(self) -> None:
        """Robin sends an expense report (.csv) and gets an answer."""
        when = self.start(ROBIN, hours=range(9, 18))
        dana = _PEOPLE["dana"]
        month = _MONTHS[when.month - 1]
        city = self.rng.choice(_CITIES)
        rows = [
            "date,category,description,amount_eur",
            f"{when:%Y-%m}-03,travel,Train to the airport,12.40",
            f"{when:%Y-%m}-03,travel,Flight to {city} (economy),186.00",
            f"{when:%Y-%m}-04,lodging,Hotel Miradouro – 2 nights,238.00",
            f'{when:%Y-%m}-05,meals,"Team dinner, 14 people",612.50',
            f"{when:%Y-%m}-06,travel,Taxi to the airport,31.20",
        ]
        item = self.emit(
            folder="Sent",
            kind="sent",
            sender=ROBIN,
            to=[dana],
            subject=f"Expenses for {month} {when.year}",
            own=f"Hi Dana,\n\nMy expenses from the trip to {city} are attached. The receipts are "
            "in the\nusual folder.\n\nThanks!\nRobin\n",
            received=when,
            files=[_File("\n".join(rows) + "\n", "text/csv", f"expenses-{when:%Y-%m}.csv")],
        )
        answer = when + self.gap("work")
        if self.left > 0 and answer < self.now:
            self.emit(
                folder="INBOX",
                kind="work",
                sender=dana,
                to=[ROBIN],
                subject=f"Re: Expenses for {month} {when.year}",
                own="Thanks Robin, approved. It'll be paid out with the next salary.\n\nDana\n",
                received=answer,
                parent=item,
            )

    def sent(self) -> None:
        """A message Robin wrote that nobody has answered (yet)."""
        choices = (
            (
                "landlord",
                "Kaputtes Fenster im Treppenhaus / broken window",
                """Guten Tag,

im Treppenhaus (2. Stock) ist ein Fenster gesprungen. Könnten Sie bitte jemanden vorbeischicken?

Vielen Dank und freundliche Grüße
Robin Example""",
            ),
            (
                "jordan",
                "That book I mentioned",
                """Hi Jordan,

The book I mentioned on Saturday is "The Overstory". Start it on a long train ride, it pulls
you in.

Robin""",
            ),
            (
                "mum",
                "Arrived safely",
                """Hi Mum,

Just landed, all fine. The hotel is lovely and the weather is much better than at home.
I'll call on Sunday.

Love,
Robin""",
            ),
            (
                "alex",
                "Slides for $weekday",
                """Hi Alex,

Here's the outline for $weekday's talk, in case you want to add anything:

- Why threading by subject fails
- References and In-Reply-To
- What we do when both are missing

Robin""",
            ),
        )
        key, subject, text = choices[self.pick("sent", len(choices))]
        when = self.start(ROBIN, hours=range(8, 23))
        words = self.slots(when)
        self.emit(
            folder="Sent",
            kind="sent",
            sender=ROBIN,
            to=[_PEOPLE[key]],
            subject=Template(subject).substitute(words),
            own=Template(text).substitute(words),
            received=when,
        )

    def draft(self) -> None:
        """An unfinished message in Drafts."""
        key, subject, text = _DRAFTS[self.pick("draft", len(_DRAFTS))]
        when = self.start(ROBIN, days=45, hours=range(8, 23))
        words = self.slots(when)
        self.emit(
            folder="Drafts",
            kind="draft",
            sender=ROBIN,
            to=[_PEOPLE[key]],
            subject=Template(subject).substitute(words),
            own=Template(text).substitute(words),
            received=when,
        )

    # the mailbox -----------------------------------------------------------------------------

    def fill(self) -> None:
        """Tell stories until the mailbox holds ``count`` messages."""
        first: list[Callable[[], None]] = [
            self.invoice,
            self.photos,
            self.minutes,
            self.expenses,
            self.screenshot,
            self.rechnung,
            self.times,
            self.deal,
            self.draft,
            self.draft,
            self.draft,
            self.draft,
            lambda: self.deal("Trash"),
            lambda: self.notice("Trash", 0),
            lambda: self.notice("Trash", 6),
        ]
        first += [functools.partial(self.work, index) for index in range(10, len(_WORK))]
        first += [functools.partial(self.friends, index) for index in range(len(_FRIENDLY))]
        stories: tuple[tuple[Callable[[], None], float], ...] = (
            (self.work, 9.0),
            (self.friends, 2.5),
            (self.rust, 4.5),
            (self.hike, 2.5),
            (self.announce, 5.5),
            (self.times, 5.0),
            (self.cafe, 2.0),
            (self.deal, 2.5),
            (self.notice, 12.0),
            (self.note, 2.0),
            (self.invoice, 1.2),
            (self.rechnung, 0.6),
            (self.photos, 0.5),
            (self.screenshot, 0.3),
            (self.minutes, 0.5),
            (self.expenses, 0.6),
            (self.sent, 2.5),
        )
        tellers = [teller for teller, _ in stories]
        weights = [weight for _, weight in stories]
        for teller in first:
            if self.left <= 0:
                return
            teller()
        while self.left > 0:
            self.rng.choices(tellers, weights)[0]()

    def finish(self) -> list[DemoMessage]:
        """Mark recent mail unread and some flagged; the messages in the order they arrived."""
        items = sorted(self.items, key=lambda item: (item.received, item.serial))
        incoming = [
            item
            for item in items
            if item.sender is not ROBIN
            and (item.folder == "INBOX" or item.folder.startswith("Lists/"))
            and Flag.ANSWERED not in item.flags
        ]
        unread = round(self.count * 0.10)
        for item in reversed(incoming):
            if unread <= 0:
                break
            if self.rng.random() < (0.6 if item.folder.startswith("Lists/") else 0.45):
                item.flags.discard(Flag.SEEN)
                unread -= 1
        worth = [
            item
            for item in items
            if item.folder in ("INBOX", "Archive")
            and item.kind in ("work", "friend", "attachment")
            and item.sender is not ROBIN
        ]
        for item in self.rng.sample(worth, min(len(worth), round(self.count * 0.05))):
            item.flags.add(Flag.FLAGGED)
        return [
            DemoMessage(item.folder, item.raw, frozenset(item.flags), item.received)
            for item in items
        ]


def _newsletter_headers(list_id: str, unsubscribe: str) -> list[tuple[str, str]]:
    host = list_id.split(".", 1)[1]
    return [
        ("List-Id", f"<{list_id}>"),
        ("List-Unsubscribe", f"<{unsubscribe}>, <mailto:unsubscribe@{host}?subject=unsubscribe>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
    ]


def _newsletter_html(
    *,
    title: str,
    logo: str,
    logo_alt: str,
    intro: str,
    stories: Sequence[tuple[str, str, str]],
    unsubscribe: str,
    pixel: str,
    lang: str = "en",
) -> str:
    """An HTML newsletter: a remote logo, linked stories, a footer and a tracking pixel."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body { font-family: Georgia, serif; color: #222; } a { color: #0b5cad; }</style>",
        "</head>",
        '<body style="margin:0;background:#f4f1ea">',
        '<table role="presentation" width="600" align="center" cellpadding="16">',
        f'<tr><td><img src="{e(logo)}" width="600" height="120" alt="{e(logo_alt)}"></td></tr>',
        f"<tr><td><h1>{e(title)}</h1>",
        f"<p>{e(intro)}</p>",
    ]
    for headline, blurb, url in stories:
        parts += [
            f'<h2><a href="{e(url)}">{e(headline)}</a></h2>',
            f'<p>{e(blurb)} <a href="{e(url)}">Read more</a></p>',
        ]
    parts += [
        "</td></tr>",
        '<tr><td style="font-size:12px;color:#777">',
        f'<p>You get this because you subscribed. <a href="{e(unsubscribe)}">Unsubscribe</a></p>',
        "</td></tr>",
        "</table>",
        f'<img src="{e(pixel)}" width="1" height="1" alt="">',
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def demo_messages(
    *, seed: int = 2026, now: datetime | None = None, count: int = 500
) -> list[DemoMessage]:
    """``count`` realistic messages from about three years before ``now``, oldest first.

    The same seed and ``now`` give the same bytes every time; ``now`` defaults to
    :data:`DEMO_NOW`. Threads refer only to messages in the result.
    """
    when = DEMO_NOW if now is None else now
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    builder = _Builder(seed, when, max(0, count))
    builder.fill()
    return builder.finish()
