"""The vault database schema (SQLite, held in memory and stored encrypted)."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

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


# --- workspace flags (issue 15): additive tables, created on first use in older vaults ---
# Who read which tip and which sources are starred: triage state of the web workspace,
# kept apart so the schema's owner can fold it into the vault's upgrade path.
WORKSPACE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tip_reads (
    tip_id INTEGER PRIMARY KEY REFERENCES tips(tip_id),
    time TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_stars (
    source_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL
);
"""


def ensure_workspace_schema(db: sqlite3.Connection) -> None:
    """Add the workspace's flag tables if this vault predates them (idempotent)."""
    db.executescript(WORKSPACE_SCHEMA)


def create_schema(db: sqlite3.Connection) -> None:
    """Create every table of a fresh vault."""
    db.executescript(SCHEMA)
    ensure_workspace_schema(db)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
