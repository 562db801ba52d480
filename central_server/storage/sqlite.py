"""SQLite storage: WAL, synchronous=FULL, one transaction per batch, a versioned schema."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from central_server.storage.port import Batch
from central_server.storage.rows import (
    MUTABLE_TICKET_COLUMNS,
    TICKET_COLUMNS,
    counter_row,
    iso,
    ticket_row,
)
from central_server.storage.sql import SqlReads
from protocol.errors import QmsError

# Each entry migrates the schema from version i to i + 1. Never edit a released entry: append.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY, day TEXT NOT NULL, seq INTEGER NOT NULL, area TEXT NOT NULL,
        number INTEGER NOT NULL, shown TEXT NOT NULL, priority TEXT NOT NULL, issued_at TEXT NOT NULL,
        state TEXT NOT NULL, kiosk_id TEXT, counter_id TEXT, calls INTEGER NOT NULL,
        called_at TEXT, started_at TEXT, finished_at TEXT, transferred_from TEXT, transferred_to TEXT,
        rating_until TEXT, rating TEXT, place INTEGER NOT NULL
    );
    CREATE INDEX tickets_by_day ON tickets (day, seq);
    CREATE TABLE counters (
        id TEXT PRIMARY KEY, paused INTEGER NOT NULL, current_ticket TEXT, awaiting_rating_ticket TEXT,
        regular_since_priority INTEGER NOT NULL
    );
    CREATE TABLE cursors (
        day TEXT NOT NULL, area TEXT NOT NULL, last_number INTEGER NOT NULL, PRIMARY KEY (day, area)
    ) WITHOUT ROWID;
    CREATE TABLE replies (
        device TEXT NOT NULL, day TEXT NOT NULL, request_id TEXT NOT NULL, payload BLOB NOT NULL,
        PRIMARY KEY (device, day, request_id)
    ) WITHOUT ROWID;
    CREATE TABLE ratings (
        counter_id TEXT NOT NULL, rating_id TEXT NOT NULL, ticket_id TEXT NOT NULL UNIQUE,
        level TEXT NOT NULL, pressed_at TEXT NOT NULL, received_at TEXT NOT NULL, ack BLOB NOT NULL,
        PRIMARY KEY (counter_id, rating_id)
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY, day TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
        ticket_id TEXT, counter_id TEXT, detail TEXT NOT NULL
    );
    CREATE INDEX events_by_day_kind ON events (day, kind, seq);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# An update in place of the columns that change: REPLACE would delete and re-insert the row and
# every index entry, which costs more as the day's table grows.
UPSERT_TICKET = (
    f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join('?' * len(TICKET_COLUMNS.split(',')))})"
    " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_TICKET_COLUMNS)
)


class StorageError(QmsError):
    pass


class SqliteStorage(SqlReads):
    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {exc}") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"schema version {version} is newer than this release knows ({SCHEMA_VERSION})")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {target}")
            self._db.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _rows(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._db.execute(query, params).fetchall()

    # --- writing ---------------------------------------------------------------------------

    def commit(self, batch: Batch) -> None:
        changes = batch.changes
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                UPSERT_TICKET,
                [ticket_row(t) for t in changes.tickets.values()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?, ?, ?, ?, ?)",
                [counter_row(c) for c in changes.counters.values()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)",
                [(day.isoformat(), area, number) for (day, area), number in changes.cursors.items()],
            )
            db.executemany(
                "INSERT INTO events (day, at, kind, ticket_id, counter_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.day.isoformat(), iso(e.at), e.kind, e.ticket_id, e.counter_id,
                  json.dumps(e.detail, ensure_ascii=False)) for e in changes.events],
            )
            db.executemany(
                "INSERT OR IGNORE INTO replies VALUES (?, ?, ?, ?)",
                [(r.device, r.day.isoformat(), r.request_id, r.payload) for r in batch.replies],
            )
            db.executemany(  # a plain INSERT: a rating counted twice must fail loudly, never vanish
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.counter_id, r.rating_id, r.ticket_id, r.level, iso(r.pressed_at), iso(r.received_at),
                  batch.rating_acks[(r.counter_id, r.rating_id)]) for r in changes.ratings],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """One server owns a SQLite file: nobody else can have written."""
        yield False

    def close(self) -> None:
        self._db.close()
