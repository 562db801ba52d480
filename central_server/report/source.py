"""Reads a period's tickets, first calls and ratings from the server's SQLite file, read-only.

Read-only and through WAL, so a report can be made while the server runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from central_server.report.figures import RatingRow, TicketRecord
from central_server.storage.url import PostgresDatabase, StorageUrl

_TICKETS = (
    "SELECT id, day, area, shown, priority, issued_at, state, counter_id, called_at, started_at, finished_at,"
    " transferred_from, transferred_to FROM tickets WHERE day BETWEEN ? AND ? ORDER BY day, seq"
)
_FIRST_CALLS = "SELECT ticket_id, at FROM events WHERE kind = 'called' AND day BETWEEN ? AND ?"
_RATINGS = (
    "SELECT r.counter_id, r.ticket_id, r.level, r.ack FROM ratings r JOIN tickets t ON t.id = r.ticket_id"
    " WHERE t.day BETWEEN ? AND ?"
)


class SourceError(Exception):
    """The database cannot be read: the message says why, in one line."""


def read_period(storage: StorageUrl, first: date,
                last: date) -> tuple[list[TicketRecord], dict[str, datetime], list[RatingRow]]:
    """From the center's SQLite file or PostgreSQL database."""
    if isinstance(storage, PostgresDatabase):
        return _read_postgres(storage.url, first, last)
    database = storage.path
    if not database.is_file():
        raise SourceError(f"no database at {database}: has the server run with this config?")
    try:
        db = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open {database}: {exc}") from None
    try:
        return _rows(lambda query: db.execute(query, (first.isoformat(), last.isoformat())).fetchall())
    except sqlite3.Error as exc:
        raise SourceError(f"cannot read {database}: {exc}") from None
    finally:
        db.close()


def _read_postgres(url: str, first: date, last: date) -> tuple[list[TicketRecord], dict[str, datetime],
                                                                 list[RatingRow]]:
    import psycopg  # only where a center keeps its data in PostgreSQL

    span = (first.isoformat(), last.isoformat())
    try:
        with psycopg.connect(url) as db:
            return _rows(lambda query: db.execute(query.replace("?", "%s"), span).fetchall())
    except psycopg.Error as exc:
        raise SourceError(f"cannot read the PostgreSQL database: {str(exc).strip().splitlines()[0]}") from None


def _rows(select: Callable[[str], list[Any]]) -> tuple[list[TicketRecord], dict[str, datetime], list[RatingRow]]:
    tickets = [_ticket(row) for row in select(_TICKETS)]
    first_calls: dict[str, datetime] = {}
    for ticket_id, at in select(_FIRST_CALLS):
        moment = datetime.fromisoformat(at)
        if ticket_id not in first_calls or moment < first_calls[ticket_id]:
            first_calls[ticket_id] = moment
    ratings = [RatingRow(counter, ticket, level, _late(ack)) for counter, ticket, level, ack in select(_RATINGS)]
    return tickets, first_calls, ratings


def _late(ack: bytes | memoryview) -> bool:
    """The server marks a rating received after its window (its terminal was cut off) in the ack it keeps."""
    try:
        return json.loads(bytes(ack)).get("late") is True
    except (ValueError, AttributeError):
        return False


def _ticket(row: tuple[str, ...]) -> TicketRecord:
    (ticket_id, day, area, shown, priority, issued_at, state, counter_id, called_at, started_at, finished_at,
     transferred_from, transferred_to) = row
    return TicketRecord(ticket_id, date.fromisoformat(day), area, shown, priority, datetime.fromisoformat(issued_at),
                        state, counter_id, _moment(called_at), _moment(started_at), _moment(finished_at),
                        transferred_from, transferred_to)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
