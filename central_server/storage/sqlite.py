"""SQLite storage: WAL, synchronous=FULL, one transaction per batch, a versioned schema."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from central_server.domain.center import CallRecord, DaySnapshot
from central_server.domain.counters import Counter, CounterSpec
from central_server.domain.tickets import Ticket, TicketState
from central_server.storage.port import Batch
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

TICKET_COLUMNS = (
    "id, day, seq, area, number, shown, priority, issued_at, state, kiosk_id, counter_id, calls, called_at,"
    " started_at, finished_at, transferred_from, transferred_to, rating_until, rating, place"
)


# What changes in a ticket after it is issued; the rest (the day and sequence among them) never does.
MUTABLE_TICKET_COLUMNS = ("state", "counter_id", "calls", "called_at", "started_at", "finished_at",
                          "transferred_to", "rating_until", "rating")
# An update in place of the columns that change: REPLACE would delete and re-insert the row and
# every index entry, which costs more as the day's table grows.
UPSERT_TICKET = (
    f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join('?' * len(TICKET_COLUMNS.split(',')))})"
    " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in MUTABLE_TICKET_COLUMNS)
)


class StorageError(QmsError):
    pass


class SqliteStorage:
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

    # --- reading ---------------------------------------------------------------------------

    def load_day(self, day: date, counters: Iterable[CounterSpec], regular_per_priority: int) -> DaySnapshot:
        rows = self._db.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE day = ? ORDER BY seq", (day.isoformat(),))
        tickets = [_ticket(row) for row in rows]
        by_id = {t.id: t for t in tickets}
        cursors = dict(self._db.execute("SELECT area, last_number FROM cursors WHERE day = ?", (day.isoformat(),)))
        calls = [
            CallRecord(ticket_id, json.loads(detail)["number"], counter_id, json.loads(detail)["area"],
                       kind == "recalled", datetime.fromisoformat(at))
            for ticket_id, counter_id, kind, at, detail in self._db.execute(
                "SELECT ticket_id, counter_id, kind, at, detail FROM events"
                " WHERE day = ? AND kind IN ('called', 'recalled') ORDER BY seq DESC LIMIT 10",
                (day.isoformat(),),
            )
        ]
        return DaySnapshot(
            day=day,
            tickets=tickets,
            cursors=cursors,
            recent_calls=calls,
            counters=[self._counter(spec, by_id, regular_per_priority) for spec in counters],
            next_seq=max((t.seq for t in tickets), default=0) + 1,
        )

    def _counter(self, spec: CounterSpec, today: dict[str, Ticket], regular_per_priority: int) -> Counter:
        row = self._db.execute(
            "SELECT paused, current_ticket, awaiting_rating_ticket, regular_since_priority FROM counters WHERE id = ?",
            (spec.id,),
        ).fetchone()
        if row is None:
            return Counter(spec, regular_since_priority=regular_per_priority)
        paused, current, awaiting, since = row

        def resolve(ticket_id: str | None) -> Ticket | None:
            if ticket_id is None:
                return None
            return today.get(ticket_id) or self.load_ticket(ticket_id)

        return Counter(spec, resolve(current), resolve(awaiting), bool(paused), since)

    def load_ticket(self, ticket_id: str) -> Ticket | None:
        row = self._db.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else _ticket(row)

    def find_reply(self, device: str, day: date, request_id: str) -> bytes | None:
        row = self._db.execute(
            "SELECT payload FROM replies WHERE device = ? AND day = ? AND request_id = ?",
            (device, day.isoformat(), request_id),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def reply_keys(self, day: date) -> Iterable[tuple[str, str]]:
        return self._db.execute("SELECT device, request_id FROM replies WHERE day = ?", (day.isoformat(),))

    def find_rating_ack(self, counter_id: str, rating_id: str) -> bytes | None:
        row = self._db.execute(
            "SELECT ack FROM ratings WHERE counter_id = ? AND rating_id = ?", (counter_id, rating_id)
        ).fetchone()
        return None if row is None else bytes(row[0])

    # --- writing ---------------------------------------------------------------------------

    def commit(self, batch: Batch) -> None:
        changes = batch.changes
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                UPSERT_TICKET,
                [_ticket_row(t) for t in changes.tickets.values()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?, ?, ?, ?, ?)",
                [_counter_row(c) for c in changes.counters.values()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)",
                [(day.isoformat(), area, number) for (day, area), number in changes.cursors.items()],
            )
            db.executemany(
                "INSERT INTO events (day, at, kind, ticket_id, counter_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.day.isoformat(), _iso(e.at), e.kind, e.ticket_id, e.counter_id,
                  json.dumps(e.detail, ensure_ascii=False)) for e in changes.events],
            )
            db.executemany(
                "INSERT OR IGNORE INTO replies VALUES (?, ?, ?, ?)",
                [(r.device, r.day.isoformat(), r.request_id, r.payload) for r in batch.replies],
            )
            db.executemany(  # a plain INSERT: a rating counted twice must fail loudly, never vanish
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.counter_id, r.rating_id, r.ticket_id, r.level, _iso(r.pressed_at), _iso(r.received_at),
                  batch.rating_acks[(r.counter_id, r.rating_id)]) for r in changes.ratings],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    """A stored time, sharing one tzinfo per offset: a busy day loads hundreds of thousands."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    offset = moment.utcoffset()
    assert offset is not None, f"stored time {text!r} has no offset"
    return moment.replace(tzinfo=_zone_of(offset))


@functools.cache
def _zone_of(offset: timedelta) -> timezone:
    return timezone(offset)


@functools.cache
def _day(text: str) -> date:
    return date.fromisoformat(text)


def _name(text: str | None) -> str | None:
    """Ids and names repeat across a day's tickets: keep one copy of each."""
    return None if text is None else sys.intern(text)


def _ticket_row(t: Ticket) -> tuple[Any, ...]:
    return (
        t.id, t.day.isoformat(), t.seq, t.area, t.number, t.shown, t.priority, _iso(t.issued_at), t.state.value,
        t.kiosk_id, t.counter_id, t.calls, _iso(t.called_at), _iso(t.started_at), _iso(t.finished_at),
        t.transferred_from, t.transferred_to, _iso(t.rating_until), t.rating, t.place,
    )


def _ticket(row: Sequence[Any]) -> Ticket:
    (id_, day, seq, area, number, shown, priority, issued_at, state, kiosk_id, counter_id, calls, called_at,
     started_at, finished_at, transferred_from, transferred_to, rating_until, rating, place) = row
    issued = _time(issued_at)
    assert issued is not None
    return Ticket(
        id=id_, day=_day(day), seq=seq, area=sys.intern(area), number=number, shown=shown,
        priority=sys.intern(priority), issued_at=issued, state=TicketState(state), kiosk_id=_name(kiosk_id),
        counter_id=_name(counter_id), calls=calls, called_at=_time(called_at), started_at=_time(started_at),
        finished_at=_time(finished_at), transferred_from=transferred_from, transferred_to=transferred_to,
        rating_until=_time(rating_until), rating=_name(rating), place=place,
    )


def _counter_row(c: Counter) -> tuple[Any, ...]:
    return (
        c.id, int(c.paused), c.current.id if c.current else None,
        c.awaiting_rating.id if c.awaiting_rating else None, c.regular_since_priority,
    )
