"""Reads a period's tickets, first calls and ratings from the server's SQLite file, read-only.

Read-only and through WAL, so a report can be made while the server runs.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

from central_server.report.figures import RatingRecord, TicketRecord

_TICKETS = (
    "SELECT id, day, area, shown, priority, issued_at, state, counter_id, called_at, started_at, finished_at,"
    " transferred_from, transferred_to FROM tickets WHERE day BETWEEN ? AND ? ORDER BY day, seq"
)
_FIRST_CALLS = "SELECT ticket_id, at FROM events WHERE kind = 'called' AND day BETWEEN ? AND ?"
_RATINGS = (
    "SELECT r.counter_id, r.ticket_id, r.level FROM ratings r JOIN tickets t ON t.id = r.ticket_id"
    " WHERE t.day BETWEEN ? AND ?"
)


class SourceError(Exception):
    """The database cannot be read: the message says why, in one line."""


def read_period(database: Path, first: date, last: date) -> tuple[list[TicketRecord], dict[str, datetime],
                                                                   list[RatingRecord]]:
    if not database.is_file():
        raise SourceError(f"no database at {database}: has the server run with this config?")
    try:
        plain = "/" + str(database.resolve()).lstrip("/")  # "//x" is a URI authority, not a path
        db = sqlite3.connect(f"file:{quote(plain)}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open {database}: {exc}") from None
    span = (first.isoformat(), last.isoformat())
    try:
        tickets = [_ticket(row) for row in db.execute(_TICKETS, span)]
        first_calls: dict[str, datetime] = {}
        for ticket_id, at in db.execute(_FIRST_CALLS, span):
            moment = datetime.fromisoformat(at)
            if ticket_id not in first_calls or moment < first_calls[ticket_id]:
                first_calls[ticket_id] = moment
        ratings = [RatingRecord(*row) for row in db.execute(_RATINGS, span)]
    except sqlite3.Error as exc:
        raise SourceError(f"cannot read {database}: {exc}") from None
    finally:
        db.close()
    return tickets, first_calls, ratings


def _ticket(row: tuple[str, ...]) -> TicketRecord:
    (ticket_id, day, area, shown, priority, issued_at, state, counter_id, called_at, started_at, finished_at,
     transferred_from, transferred_to) = row
    return TicketRecord(ticket_id, date.fromisoformat(day), area, shown, priority, datetime.fromisoformat(issued_at),
                        state, counter_id, _moment(called_at), _moment(started_at), _moment(finished_at),
                        transferred_from, transferred_to)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
