"""The cache schema, one migration per version; PRAGMA user_version records how far a file is."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: folders, envelopes keyed by folder and UID, cached bodies, full-text index, action queue.
    """
    CREATE TABLE folder (
        id             INTEGER PRIMARY KEY,
        account        TEXT    NOT NULL,
        name           TEXT    NOT NULL,
        delimiter      TEXT    NOT NULL DEFAULT '/',
        role           TEXT    NOT NULL DEFAULT 'none',
        attributes     TEXT    NOT NULL DEFAULT '',
        uidvalidity    INTEGER NOT NULL DEFAULT 0,
        uidnext        INTEGER NOT NULL DEFAULT 0,
        highestmodseq  INTEGER NOT NULL DEFAULT 0,
        fetched_uid    INTEGER NOT NULL DEFAULT 0,
        total          INTEGER NOT NULL DEFAULT 0,
        unread         INTEGER NOT NULL DEFAULT 0,
        synced_at      REAL,
        UNIQUE (account, name)
    );
    CREATE TABLE message (
        id               INTEGER PRIMARY KEY,
        folder_id        INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
        uid              INTEGER NOT NULL,
        message_id       TEXT    NOT NULL DEFAULT '',
        date             INTEGER,
        subject          TEXT    NOT NULL DEFAULT '',
        sender           TEXT    NOT NULL DEFAULT '',
        recipients       TEXT    NOT NULL DEFAULT '',
        cc               TEXT    NOT NULL DEFAULT '',
        reply_to         TEXT    NOT NULL DEFAULT '',
        in_reply_to      TEXT    NOT NULL DEFAULT '',
        refs             TEXT    NOT NULL DEFAULT '',
        flags            INTEGER NOT NULL DEFAULT 0,
        keywords         TEXT    NOT NULL DEFAULT '',
        size             INTEGER NOT NULL DEFAULT 0,
        has_attachments  INTEGER NOT NULL DEFAULT 0,
        modseq           INTEGER NOT NULL DEFAULT 0,
        UNIQUE (folder_id, uid)
    );
    CREATE INDEX message_by_date ON message (folder_id, date DESC);
    CREATE INDEX message_by_message_id ON message (message_id);
    CREATE TABLE body (
        message  INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
        raw      BLOB    NOT NULL,
        size     INTEGER NOT NULL,
        used_at  REAL    NOT NULL
    );
    CREATE VIRTUAL TABLE message_text USING fts5 (
        subject, addresses, body, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER message_text_gone AFTER DELETE ON message BEGIN
        DELETE FROM message_text WHERE rowid = old.id;
    END;
    CREATE TABLE pending_action (
        id           INTEGER PRIMARY KEY,
        account      TEXT    NOT NULL,
        folder_id    INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
        uidvalidity  INTEGER NOT NULL,
        uids         TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        argument     TEXT    NOT NULL DEFAULT '',
        created_at   REAL    NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT    NOT NULL DEFAULT ''
    );
    """,
    # 2: sort keys and arrival time on messages; selectable folders; the full-text index split
    # into sender and recipients so that from: and to: can be told apart.
    """
    ALTER TABLE message ADD COLUMN arrived INTEGER;
    ALTER TABLE message ADD COLUMN sender_sort TEXT NOT NULL DEFAULT '';
    ALTER TABLE message ADD COLUMN subject_sort TEXT NOT NULL DEFAULT '';
    ALTER TABLE folder ADD COLUMN selectable INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE folder ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;
    DROP TRIGGER message_text_gone;
    DROP TABLE message_text;
    CREATE VIRTUAL TABLE message_text USING fts5 (
        subject, sender, recipients, body, tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO message_text (rowid, subject, sender, recipients)
        SELECT id, subject, sender, recipients || ' ' || cc FROM message;
    CREATE TRIGGER message_text_gone AFTER DELETE ON message BEGIN
        DELETE FROM message_text WHERE rowid = old.id;
    END;
    ALTER TABLE pending_action ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX pending_action_by_account ON pending_action (account, id);
    """,
    # 3: messages of local mailboxes: where each one lives (a Maildir unique name, an mbox key),
    # and a token per folder telling whether the files changed since the last scan.
    """
    ALTER TABLE message ADD COLUMN location TEXT NOT NULL DEFAULT '';
    ALTER TABLE folder ADD COLUMN local_state TEXT NOT NULL DEFAULT '';
    """,
    # 4: message ids are never handed out twice (an undo or a list holding an old id must not
    # reach a newer message), and queued actions are claimed while they are being sent.
    """
    CREATE TABLE id_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO id_counter (name, value) SELECT 'message', coalesce(max(id), 0) FROM message;
    ALTER TABLE pending_action ADD COLUMN claimed_at REAL;
    ALTER TABLE pending_action ADD COLUMN locations TEXT NOT NULL DEFAULT '';
    """,
)
"""Each entry moves a database from version ``index`` to ``index + 1``; never edit a shipped one."""

SCHEMA_VERSION = len(MIGRATIONS)
