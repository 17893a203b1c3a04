"""The vault database schema (SQLCipher) and the steps that bring an older one up to date.

Version 1 was the first format (a secretbox-sealed SQLite image, vault.db.enc): only
`sealdrop-admin upgrade` reads it. Version 2 is the first SQLCipher schema: SCHEMA plus
INDEXES. A later change adds one entry to MIGRATIONS (version -> SQL that goes there from
the version before); every command applies what is missing when it opens the vault, in
the same transaction as the version bump, so a kill leaves the old or the new schema.
"""

from __future__ import annotations

import sqlite3

from .errors import AdminError

FIRST_SQLCIPHER_VERSION = 2

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY,
    instance_key TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE sources (
    source_id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(instance_id),
    reply_key TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE tips (
    tip_id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    received TEXT NOT NULL,
    language TEXT,
    narrative TEXT,
    answers TEXT NOT NULL DEFAULT '{}',
    imported TEXT NOT NULL
);
CREATE TABLE envelopes (
    envelope_id TEXT PRIMARY KEY,
    tip_id INTEGER NOT NULL REFERENCES tips(tip_id),
    kind TEXT NOT NULL,
    filename TEXT,
    content_type TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    received TEXT NOT NULL,
    imported TEXT NOT NULL
);
CREATE VIRTUAL TABLE tip_text USING fts5(tip_id UNINDEXED, field UNINDEXED, body,
                                         tokenize = 'trigram');
CREATE TABLE cases (
    case_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    closing_reason TEXT,
    reliability TEXT,
    credibility TEXT
);
CREATE TABLE case_tips (
    case_id INTEGER NOT NULL REFERENCES cases(case_id),
    tip_id INTEGER NOT NULL REFERENCES tips(tip_id),
    added TEXT NOT NULL,
    PRIMARY KEY (case_id, tip_id)
);
CREATE TABLE case_status_history (
    case_id INTEGER NOT NULL REFERENCES cases(case_id),
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE case_notes (
    case_id INTEGER NOT NULL REFERENCES cases(case_id),
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE case_tags (
    case_id INTEGER NOT NULL REFERENCES cases(case_id),
    tag TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE TABLE replies (
    reply_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources(source_id),
    created TEXT NOT NULL,
    text TEXT NOT NULL,
    statement BLOB NOT NULL,
    exported TEXT
);
CREATE TABLE custody (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    details TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""


# What makes every command's queries point lookups or short index walks (issue 13): without
# them `inbox` scanned envelopes and case_tips once per tip.
INDEXES = """
CREATE INDEX envelopes_by_tip ON envelopes(tip_id);
CREATE INDEX case_tips_by_tip ON case_tips(tip_id);
CREATE INDEX tips_by_source ON tips(source_id, tip_id);
CREATE INDEX custody_by_object ON custody(object, seq);
CREATE INDEX case_notes_by_case ON case_notes(case_id);
CREATE INDEX case_status_by_case ON case_status_history(case_id);
CREATE INDEX replies_unsent ON replies(exported) WHERE exported IS NULL;
CREATE INDEX replies_by_source ON replies(source_id);
"""

# --- workspace flags (issue 15): an additive step, kept apart for the schema's owner ---
# Who read which tip and which sources are starred: the web workspace's triage state;
# the index walks its inbox newest first, a page at a time.
WORKSPACE_FLAGS = """
CREATE TABLE tip_reads (
    tip_id INTEGER PRIMARY KEY REFERENCES tips(tip_id),
    time TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE TABLE source_stars (
    source_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX tips_by_received ON tips(received, tip_id);
CREATE INDEX tips_by_language ON tips(language, received, tip_id);
"""

# version -> the SQL that takes a database from version - 1 to it. Additive changes only
# (new tables, columns with defaults, indexes); e.g. 3: "CREATE TABLE tip_flags (...);".
MIGRATIONS: dict[int, str] = {3: WORKSPACE_FLAGS}

SCHEMA_VERSION = max([FIRST_SQLCIPHER_VERSION, *MIGRATIONS])


def create_schema(db: sqlite3.Connection) -> None:
    """Create every table of a fresh vault (at SCHEMA_VERSION)."""
    db.executescript(SCHEMA + INDEXES)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(FIRST_SQLCIPHER_VERSION),))
    _apply(db, FIRST_SQLCIPHER_VERSION)


def schema_version(db: sqlite3.Connection) -> int:
    """The version recorded in the meta table."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row is not None else 0


def migrate(db: sqlite3.Connection) -> None:
    """Bring an opened vault's schema to SCHEMA_VERSION, committing each step whole."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise AdminError(
            f"this vault has schema version {version}, newer than this sealdrop-admin "
            f"knows ({SCHEMA_VERSION}). Nothing was changed. Install the newer sealdrop-admin."
        )
    if version < SCHEMA_VERSION:
        _apply(db, version)
        db.commit()


def _apply(db: sqlite3.Connection, version: int) -> None:
    for step in range(version + 1, SCHEMA_VERSION + 1):
        # Statement by statement (executescript would commit between them); so a step's
        # SQL must not hold a ';' inside a string or trigger.
        for statement in MIGRATIONS[step].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(step),))
