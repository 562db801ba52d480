"""PostgreSQL storage (psycopg 3): the same tables as SQLite, one transaction per batch, a versioned schema.

For a province that runs its centers' servers on a database server rather than on each center's
mini-PC. A commit returns once PostgreSQL has made it durable (`synchronous_commit` on, its default).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from central_server.storage.port import Batch, Space, StorageError, StorageFull, new_key, past_days
from central_server.storage.rows import (
    BOOKING_COLUMNS,
    CONFIG_COLUMNS,
    COUNTER_COLUMNS,
    MUTABLE_BOOKING_COLUMNS,
    MUTABLE_TICKET_COLUMNS,
    RATING_COLUMNS,
    TICKET_COLUMNS,
    booking_row,
    config_row,
    counter_row,
    iso,
    rating_row,
    text_of,
    ticket_row,
)
from central_server.storage.sql import SqlReads

# Rows per chunk of a streamed query: libpq's chunked mode came with libpq 17; before it, one row at a time.
STREAM_ROWS = 1000 if psycopg.pq.version() >= 170000 else 1

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
    );
    CREATE TABLE replies (
        device TEXT NOT NULL, day TEXT NOT NULL, request_id TEXT NOT NULL, payload BYTEA NOT NULL,
        PRIMARY KEY (device, day, request_id)
    );
    CREATE TABLE ratings (
        counter_id TEXT NOT NULL, rating_id TEXT NOT NULL, ticket_id TEXT NOT NULL UNIQUE,
        level TEXT NOT NULL, pressed_at TEXT NOT NULL, received_at TEXT NOT NULL, ack BYTEA NOT NULL,
        PRIMARY KEY (counter_id, rating_id)
    );
    CREATE TABLE events (
        seq BIGSERIAL PRIMARY KEY, day TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
        ticket_id TEXT, counter_id TEXT, detail TEXT NOT NULL
    );
    CREATE INDEX events_by_day_kind ON events (day, kind, seq);
    CREATE TABLE revision (value BIGINT NOT NULL);
    INSERT INTO revision VALUES (0);
    """,
    # 2: who sits at each counter and its last rating (the staff console, issue 15), and since when the
    # counter has been in its status (the floor)
    """
    ALTER TABLE counters ADD COLUMN official TEXT;
    ALTER TABLE counters ADD COLUMN official_name TEXT;
    ALTER TABLE counters ADD COLUMN last_rating TEXT;
    ALTER TABLE counters ADD COLUMN marked_day TEXT;
    ALTER TABLE counters ADD COLUMN since TEXT;
    """,
    # 3: the citizen's phone (issue 16): a rating's channel, and the key that signs the tickets' public tokens
    """
    ALTER TABLE ratings ADD COLUMN channel TEXT NOT NULL DEFAULT 'buttons';
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
    """,    # 4: every version of the live configuration (issue 17): who made it, when, from where, what changed
    """
    CREATE TABLE config_versions (
        version BIGINT PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL, by_who TEXT NOT NULL,
        by_name TEXT NOT NULL, restored_from BIGINT, document TEXT NOT NULL, file_digest TEXT, changes TEXT NOT NULL
    );
    """,
    # 5: appointments and remote numbers (issue 18): how a ticket came, and every booking (its person only as a keyed
    # hash, erased after the center's retention; its phone until its day is over)
    """
    ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'walk_in';
    ALTER TABLE tickets ADD COLUMN since TEXT;
    ALTER TABLE tickets ADD COLUMN slot_end TEXT;
    ALTER TABLE tickets ADD COLUMN booking TEXT;
    ALTER TABLE tickets ADD COLUMN id_tail TEXT;
    CREATE TABLE bookings (
        code TEXT NOT NULL, day TEXT NOT NULL, area TEXT NOT NULL, channel TEXT NOT NULL, created_at TEXT NOT NULL,
        start_at TEXT, end_at TEXT, check_in_from TEXT NOT NULL, check_in_until TEXT NOT NULL, person TEXT,
        tail TEXT, phone TEXT, state TEXT NOT NULL, changed_at TEXT, ticket_id TEXT, reminded INTEGER NOT NULL,
        PRIMARY KEY (day, code)
    );
    """,
    # 6: the 2025 satisfaction figures (issue 19): the dossiers received with each ticket, and what a phone's rating
    # adds (the optional criteria, the citizen's feedback, whether its level counted as "không hài lòng" then), and the
    # ticket each counter finished last (a dossier scanned after "finish" goes to it)
    """
    ALTER TABLE tickets ADD COLUMN dossiers TEXT;
    ALTER TABLE ratings ADD COLUMN criteria TEXT;
    ALTER TABLE ratings ADD COLUMN comment TEXT;
    ALTER TABLE ratings ADD COLUMN dissatisfied INTEGER;
    ALTER TABLE counters ADD COLUMN last_served_ticket TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
LOCK_KEY = 0x716D73  # "qms": the advisory lock of a center's database
UPSERT_TICKET = (
    f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join(['%s'] * len(TICKET_COLUMNS.split(',')))})"
    " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_TICKET_COLUMNS)
)
UPSERT_BOOKING = (
    f"INSERT INTO bookings ({BOOKING_COLUMNS}) VALUES ({', '.join(['%s'] * len(BOOKING_COLUMNS.split(',')))})"
    " ON CONFLICT (day, code) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_BOOKING_COLUMNS)
)
UPSERT_COUNTER = (
    f"INSERT INTO counters ({COUNTER_COLUMNS}) VALUES ({', '.join(['%s'] * 11)}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in COUNTER_COLUMNS.split(",")[1:])
)
UPSERT_CURSOR = ("INSERT INTO cursors VALUES (%s, %s, %s)"
                 " ON CONFLICT (day, area) DO UPDATE SET last_number = excluded.last_number")


class PostgresStorage(SqlReads):
    def __init__(self, url: str) -> None:
        self._revision: int | None = None  # the revision this instance's state is at (None: not read yet)
        try:
            self._db = psycopg.connect(url, autocommit=True)
            self._migrate()
        except psycopg.Error as exc:
            raise StorageError(f"cannot open {_without_password(url)}: {str(exc).strip().splitlines()[0]}") from exc

    def _migrate(self) -> None:
        with self._db.transaction():
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            self._db.execute("LOCK TABLE schema_version")  # two servers starting at once migrate once
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise StorageError(f"schema version {version} is newer than this release knows ({SCHEMA_VERSION})")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute("DELETE FROM schema_version")
            self._db.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))

    def schema_version(self) -> int:
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _rows(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._db.execute(_placeholders(query), params).fetchall()

    def _stream(self, query: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """In chunks of STREAM_ROWS rows, never the whole result at once."""
        with self._db.cursor() as cursor:
            yield from cursor.stream(_placeholders(query), params, size=STREAM_ROWS)

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """A session advisory lock on the center's data: one instance at a time applies a batch, commits it
        and publishes what it caused, so retained state reaches the broker in the order it was made."""
        self._db.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            row = self._db.execute("SELECT value FROM revision").fetchone()
            current = int(row[0]) if row else 0
            # Never read under the lock yet: the day loaded at start-up may miss what another instance committed
            # since, so it is read again (two instances once both made ticket 100 that way).
            stale, self._revision = self._revision is None or current != self._revision, current
            yield stale
        finally:
            self._db.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def commit(self, batch: Batch) -> None:
        try:
            self._commit(batch)
        except psycopg.Error as exc:
            raise _failure("cannot write", exc) from exc

    def probe(self) -> None:
        """A committed write (a new version of one row, in PostgreSQL's WAL) that changes nothing."""
        try:
            with self._db.transaction():
                self._db.execute("UPDATE revision SET value = value")
        except psycopg.Error as exc:
            raise _failure("cannot write", exc) from exc

    def space(self) -> Space | None:
        return None  # the database server's disk: PostgreSQL says when it is full (disk_full)

    def secret(self, name: str) -> bytes:
        """A key made once (32 random bytes) by whichever instance comes first, and read by every instance."""
        try:
            with self._db.transaction():
                self._db.execute("INSERT INTO secrets VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                                 (name, new_key()))
                row = self._db.execute("SELECT value FROM secrets WHERE name = %s", (name,)).fetchone()
        except psycopg.Error as exc:
            raise _failure(f"cannot read the key {name}", exc) from exc
        assert row is not None
        return bytes(row[0])

    def _commit(self, batch: Batch) -> None:
        changes = batch.changes
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute("UPDATE revision SET value = value + 1 RETURNING value")
            row = cursor.fetchone()
            self._revision = int(row[0]) if row else None
            _many(cursor, UPSERT_TICKET, [ticket_row(t) for t in changes.tickets.values()])
            _many(cursor, UPSERT_COUNTER, [counter_row(c) for c in changes.counters.values()])
            _many(cursor, UPSERT_CURSOR,
                  [(day.isoformat(), area, number) for (day, area), number in changes.cursors.items()])
            _many(cursor, "INSERT INTO events (day, at, kind, ticket_id, counter_id, detail)"
                          " VALUES (%s, %s, %s, %s, %s, %s)",
                  [(e.day.isoformat(), iso(e.at), e.kind, e.ticket_id, e.counter_id,
                    text_of(e.detail)) for e in changes.events])
            _many(cursor, "INSERT INTO replies VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                  [(r.device, r.day.isoformat(), r.request_id, r.payload) for r in batch.replies])
            _many(cursor, f"INSERT INTO ratings ({RATING_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})",  # twice fails
                  [rating_row(r, batch.rating_acks[(r.counter_id, r.rating_id)]) for r in changes.ratings])
            _many(cursor, f"INSERT INTO config_versions ({CONFIG_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})",
                  [config_row(stored) for stored in batch.configs])  # two instances making one version: one fails
            _many(cursor, UPSERT_BOOKING, [booking_row(b) for b in batch.bookings])
            for statement, day in past_days(batch):
                cursor.execute(_placeholders(statement), (day,))

    def close(self) -> None:
        self._db.close()


class PostgresReader(SqlReads):
    """Reads a center's PostgreSQL database as it is: never creates or migrates its tables."""

    def __init__(self, url: str) -> None:
        try:
            self._db = psycopg.connect(url)
        except psycopg.Error as exc:
            raise _unreadable(exc) from None

    def _rows(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(_placeholders(query), params).fetchall()
        except psycopg.Error as exc:
            raise _unreadable(exc) from None

    def tables(self) -> set[str]:
        return {name for (name,) in self._rows("SELECT table_name FROM information_schema.tables"
                                                " WHERE table_schema = current_schema()", ())}

    def close(self) -> None:
        self._db.close()


def _placeholders(query: str) -> str:
    """psycopg's `%s` for the shared queries' `?`."""
    return query.replace("?", "%s")


def _unreadable(exc: psycopg.Error) -> StorageError:
    return StorageError(f"cannot read the PostgreSQL database: {str(exc).strip().splitlines()[0]}")


def _many(cursor: psycopg.Cursor[Any], statement: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        cursor.executemany(statement, rows)


def _failure(what: str, exc: psycopg.Error) -> StorageError:
    """Our own error for psycopg's: StorageFull when the database server's disk is full."""
    said = str(exc).strip().splitlines()
    return (StorageFull if isinstance(exc, psycopg.errors.DiskFull) else StorageError)(
        f"{what}: {said[0] if said else type(exc).__name__}")


def _without_password(url: str) -> str:
    """The URL as it may be shown in a log or an error: no password."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}@{host}" if at else url
