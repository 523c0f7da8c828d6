"""Folders (IMAP mailboxes, Maildir folders) and their special-use roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FolderRole(enum.StrEnum):
    """The special use of a folder (RFC 6154), or none."""

    INBOX = "inbox"
    DRAFTS = "drafts"
    SENT = "sent"
    ARCHIVE = "archive"
    JUNK = "junk"
    TRASH = "trash"
    NONE = "none"


ROLE_ORDER: tuple[FolderRole, ...] = (
    FolderRole.INBOX,
    FolderRole.DRAFTS,
    FolderRole.SENT,
    FolderRole.ARCHIVE,
    FolderRole.JUNK,
    FolderRole.TRASH,
    FolderRole.NONE,
)
"""The order in which folders with roles are listed."""


# Names servers and other clients give these folders, in the languages people use them in;
# compared case-insensitively with the last level of the name.
ROLE_NAMES: dict[FolderRole, tuple[str, ...]] = {
    FolderRole.SENT: (
        "sent",
        "sent items",
        "sent mail",
        "sent messages",
        "gesendet",
        "gesendete objekte",
        "gesendete elemente",
        "envoyés",
        "éléments envoyés",
        "messages envoyés",
        "enviados",
        "elementos enviados",
        "inviata",
        "posta inviata",
        "verzonden",
        "verzonden items",
        "skickat",
        "skickade objekt",
        "sendt",
        "sendte elementer",
        "lähetetyt",
        "wysłane",
        "odeslané",
        "отправленные",
        "已发送",
        "已傳送",
        "送信済み",
        "보낸편지함",
    ),
    FolderRole.DRAFTS: (
        "drafts",
        "draft",
        "entwürfe",
        "brouillons",
        "borradores",
        "bozze",
        "concepten",
        "utkast",
        "kladder",
        "luonnokset",
        "kopie robocze",
        "koncepty",
        "черновики",
        "草稿",
        "下書き",
        "임시보관함",
    ),
    FolderRole.TRASH: (
        "trash",
        "bin",
        "deleted",
        "deleted items",
        "deleted messages",
        "papierkorb",
        "gelöschte objekte",
        "gelöschte elemente",
        "corbeille",
        "éléments supprimés",
        "papelera",
        "elementos eliminados",
        "cestino",
        "posta eliminata",
        "prullenbak",
        "verwijderde items",
        "papperskorgen",
        "borttagna objekt",
        "papirkurv",
        "roskakori",
        "kosz",
        "koš",
        "корзина",
        "удаленные",
        "已删除",
        "垃圾桶",
        "ゴミ箱",
        "휴지통",
    ),
    FolderRole.JUNK: (
        "junk",
        "spam",
        "junk e-mail",
        "junk email",
        "junk mail",
        "bulk mail",
        "spamverdacht",
        "courrier indésirable",
        "indésirables",
        "correo no deseado",
        "posta indesiderata",
        "ongewenste e-mail",
        "skräppost",
        "uønsket e-post",
        "roskaposti",
        "спам",
        "нежелательная почта",
        "垃圾邮件",
        "迷惑メール",
        "스팸메일함",
    ),
    FolderRole.ARCHIVE: (
        "archive",
        "archives",
        "archiv",
        "archivio",
        "archivo",
        "archief",
        "arkiv",
        "arkisto",
        "archiwum",
        "архив",
        "归档",
        "アーカイブ",
        "보관함",
    ),
}
_NAME_TO_ROLE = {name: role for role, names in ROLE_NAMES.items() for name in names}


def role_from_name(leaf: str) -> FolderRole:
    """The role a folder's last name level suggests ("Sent Items", "Papierkorb"...), or NONE."""
    return _NAME_TO_ROLE.get(leaf.strip().casefold(), FolderRole.NONE)


@dataclass(frozen=True)
class Folder:
    """A folder of one account."""

    account: str
    name: str
    """The folder's full name as the server knows it, already decoded from modified UTF-7."""
    delimiter: str = "/"
    role: FolderRole = FolderRole.NONE
    total: int = 0
    unread: int = 0
    selectable: bool = True

    @property
    def path(self) -> tuple[str, ...]:
        """The name split into its levels."""
        return tuple(self.name.split(self.delimiter)) if self.delimiter else (self.name,)
