"""SQLite storage: WAL, synchronous=FULL, one transaction per batch, a versioned schema, one server per file."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from central_server.storage.port import Batch, Space, StorageError, StorageFull, new_key, past_days
from central_server.storage.rows import (
    BOOKING_COLUMNS,
    CONFIG_COLUMNS,
    COUNTER_COLUMNS,
    MUTABLE_BOOKING_COLUMNS,
    MUTABLE_TICKET_COLUMNS,
    NULLABLE_TICKET_COLUMNS,
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

__all__ = ["DatabaseLock", "SqliteReader", "SqliteStorage", "StorageError", "StorageFull"]
log = logging.getLogger(__name__)
SQLITE_FULL = 13  # "database or disk is full": the primary result code of a write that found no room

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
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    """,    # 4: every version of the live configuration (issue 17): who made it, when, from where, what changed
    """
    CREATE TABLE config_versions (
        version INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL, by_who TEXT NOT NULL,
        by_name TEXT NOT NULL, restored_from INTEGER, document TEXT NOT NULL, file_digest TEXT, changes TEXT NOT NULL
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
    # 7: the answers kept for retries in the order they were made. Keyed by device first, each answer went to its
    # device's own leaf page: a commit of 85 requests rewrote 85 pages (10 KB of WAL a request, half the commit's
    # time). In order, they fill the last page; a retry (rare, and limited per device) reads the day's answers
    # from the newest back.
    """
    CREATE TABLE replies_in_order (
        seq INTEGER PRIMARY KEY, device TEXT NOT NULL, day TEXT NOT NULL, request_id TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    INSERT INTO replies_in_order (device, day, request_id, payload)
        SELECT device, day, request_id, payload FROM replies ORDER BY day;
    DROP TABLE replies;
    ALTER TABLE replies_in_order RENAME TO replies;
    CREATE INDEX replies_by_day ON replies (day);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# An update in place of the columns that change: REPLACE would delete and re-insert the row and
# every index entry, which costs more as the day's table grows.
UPSERT_BOOKING = (
    f"INSERT INTO bookings ({BOOKING_COLUMNS}) VALUES ({', '.join('?' * len(BOOKING_COLUMNS.split(',')))})"
    " ON CONFLICT (day, code) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_BOOKING_COLUMNS)
)
# A ticket's empty columns are bound as 0 and stored as NULL (`ticket_row(t, absent=0)`): sqlite3 binds None only
# after looking for an adapter for it, 0.17 us a value against 0.04 for an int, and a walk-in ticket waiting leaves 13
# of its 14 nullable columns empty. (A text is never equal to the integer 0 in SQLite, "0" included: only the stand-in
# becomes NULL.)
UPSERT_TICKET = (
    f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ("
    + ", ".join("NULLIF(?, 0)" if c.strip() in NULLABLE_TICKET_COLUMNS else "?" for c in TICKET_COLUMNS.split(","))
    + ") ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_TICKET_COLUMNS)
)


def failure(what: str, exc: sqlite3.Error, folder: Path) -> StorageError:
    """Our own error for SQLite's: StorageFull when it is the disk that is full. SQLite says so of a write
    ("database or disk is full"), not always of the rest: the shared-memory file of a WAL that cannot grow
    is a "disk I/O error". So any error on a file system with no room left is taken for a full disk."""
    full = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_FULL
    if not full:
        space = space_of(folder)
        full = space is not None and space.full
    return (StorageFull if full else StorageError)(f"{what}: {exc}")


def space_of(folder: Path) -> Space | None:
    try:
        found = os.statvfs(folder)
    except OSError:
        return None
    return Space(found.f_bavail * found.f_frsize, found.f_blocks * found.f_frsize)


class DatabaseLock:
    """One server per SQLite file: an exclusive `flock` on `<database>.lock` beside it, held while the server
    runs. Two servers on one file would each hand out the same numbers and ticket ids.

    The kernel lets go of the lock however the process ends (kill -9 and a power cut too), so a lock is
    never stale: a lock file left behind only holds the words of its last holder, which the next one
    replaces with its own (`pid … on <host> since …`: what a second server says when it is refused).
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "which one is not written yet"
            os.close(fd)
            if isinstance(exc, BlockingIOError):
                raise StorageError(f"{database} is in use by another server ({holder}): stop it first;"
                                   " one server per SQLite database") from None
            raise StorageError(f"cannot lock {self.path}: {exc.strerror}") from exc
        self._fd: int | None = fd
        words = f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (words + "\n").encode(), 0)
        except OSError as exc:  # a full disk: the lock holds all the same, only its words are missing
            log.warning("could not write who holds %s: %s", self.path, exc.strerror)

    def release(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # lets go of the lock
            self._fd = None


class SqliteStorage(SqlReads):
    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            # The server's committer thread commits on it, never while another thread uses it (`committer.py`)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise failure(f"cannot open {path}", exc, path.parent) from exc

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

    def _stream(self, query: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        return iter(self._db.execute(query, params))

    # --- writing ---------------------------------------------------------------------------

    def commit(self, batch: Batch) -> None:
        self.write(batch)
        self.finish()

    def write(self, batch: Batch) -> None:
        changes = batch.changes
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                UPSERT_TICKET,
                [ticket_row(t, absent=0) for t in changes.tickets.values()],
            )
            db.executemany(
                f"INSERT OR REPLACE INTO counters ({COUNTER_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                [counter_row(c) for c in changes.counters.values()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)",
                [(day.isoformat(), area, number) for (day, area), number in changes.cursors.items()],
            )
            db.executemany(
                "INSERT INTO events (day, at, kind, ticket_id, counter_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.day.isoformat(), iso(e.at), e.kind, e.ticket_id, e.counter_id,
                  text_of(e.detail)) for e in changes.events],
            )
            db.executemany(
                "INSERT INTO replies (device, day, request_id, payload) VALUES (?, ?, ?, ?)",
                [(r.device, r.day.isoformat(), r.request_id, r.payload) for r in batch.replies],
            )
            db.executemany(  # a plain INSERT: a rating counted twice must fail loudly, never vanish
                f"INSERT INTO ratings ({RATING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rating_row(r, batch.rating_acks[(r.counter_id, r.rating_id)]) for r in changes.ratings],
            )
            db.executemany(  # a plain INSERT: a version made twice fails loudly
                f"INSERT INTO config_versions ({CONFIG_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                [config_row(stored) for stored in batch.configs],
            )
            db.executemany(UPSERT_BOOKING, [booking_row(b) for b in batch.bookings])
            for statement, day in past_days(batch):
                db.execute(statement, (day,))
        except BaseException as exc:
            self._fail(exc)

    def finish(self) -> None:
        try:
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> NoReturn:
        """Nothing of the transaction stays; a refusal of SQLite's is told as storage's."""
        self._roll_back()
        if isinstance(exc, sqlite3.Error):
            raise failure(f"cannot write {self._path}", exc, self._path.parent) from exc
        raise exc

    def _roll_back(self) -> None:
        """After a failed write. SQLite has already rolled back by itself after some errors (a full disk among
        them): a ROLLBACK then would fail with "cannot rollback" and hide why."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("rollback of %s failed: %s", self._path, exc)

    def probe(self) -> None:
        """A committed write of the database header (one WAL frame and its fsync), as a batch writes. A write
        rolled back would prove nothing: SQLite writes nothing before COMMIT. Nor does this alone prove room:
        a WAL reused after a checkpoint is written over in place. `space()` tells the rest."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"PRAGMA user_version = {int(db.execute('PRAGMA user_version').fetchone()[0])}")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._roll_back()
            raise failure(f"cannot write {self._path}", exc, self._path.parent) from exc

    def space(self) -> Space | None:
        return space_of(self._path.parent)

    def find_reply(self, device: str, day: date, request_id: str) -> bytes | None:
        """The day's answers are kept in order (migration 7), not by device: read from the newest back, where a
        retry's answer most likely is."""
        row = self._row("SELECT payload FROM replies WHERE day = ? AND device = ? AND request_id = ?"
                        " ORDER BY seq DESC LIMIT 1", (day.isoformat(), device, request_id))
        return None if row is None else bytes(row[0])

    def secret(self, name: str) -> bytes:
        """A key made once (32 random bytes) and kept in the database."""
        try:
            self._db.execute("INSERT OR IGNORE INTO secrets VALUES (?, ?)", (name, new_key()))
            row = self._db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as exc:
            raise failure(f"cannot read the key {name} of {self._path}", exc, self._path.parent) from exc
        return bytes(row[0])

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """One server owns a SQLite file: nobody else can have written."""
        yield False

    def close(self) -> None:
        self._db.close()


class SqliteReader(SqlReads):
    """Reads a server's SQLite file without writing to it: never creates, migrates or locks it. Read-only and
    through WAL, so a report can be made while the server runs."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise StorageError(f"no database at {path}: has the server run with this config?")
        self._path = path
        try:
            self._db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {exc}") from None

    def _rows(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read {self._path}: {exc}") from None

    def tables(self) -> set[str]:
        return {name for (name,) in self._rows("SELECT name FROM sqlite_master WHERE type = 'table'", ())}

    def close(self) -> None:
        self._db.close()
