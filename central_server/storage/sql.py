"""What the SQLite and PostgreSQL storages read the same way: a day, a ticket, stored answers, a period.

The queries are written with `?` placeholders; an adapter's `_rows` runs them its own way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from central_server.domain.bookings import Booking
from central_server.domain.center import CallRecord, DaySnapshot, Event
from central_server.domain.counters import Counter, CounterSpec
from central_server.domain.tickets import Ticket
from central_server.storage.port import Period, StoredConfig, Totals
from central_server.storage.rows import (
    BOOKING_COLUMNS,
    CONFIG_COLUMNS,
    COUNTER_MARKS,
    TICKET_COLUMNS,
    VERSION_COLUMNS,
    TicketReader,
    booking_from_row,
    config_from_row,
    counter_marks,
    rating_from_row,
    ticket_from_row,
    version_from_row,
)
from protocol.messages import ConfigVersion


class SqlReads:
    def _rows(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _stream(self, query: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """The rows one at a time, as the database hands them over: read them all before the next query. (An
        adapter that cannot stream reads them all first.)"""
        return iter(self._rows(query, params))

    def _row(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        found = self._rows(query, params)
        return found[0] if found else None

    def load_day(self, day: date, counters: Iterable[CounterSpec], regular_per_priority: int) -> DaySnapshot:
        when = (day.isoformat(),)
        # Streamed: the rows of a busy day, all at once, would take more memory than its tickets, and the
        # server's memory stays at its peak.
        reader = TicketReader()
        tickets = [reader.ticket(row) for row in
                   self._stream(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE day = ? ORDER BY seq", when)]
        by_id = {t.id: t for t in tickets}
        cursors = {area: number for area, number in
                   self._rows("SELECT area, last_number FROM cursors WHERE day = ?", when)}
        calls = [
            CallRecord(ticket_id, json.loads(detail)["number"], counter_id, json.loads(detail)["area"],
                       kind == "recalled", datetime.fromisoformat(at))
            for ticket_id, counter_id, kind, at, detail in self._rows(
                "SELECT ticket_id, counter_id, kind, at, detail FROM events"
                " WHERE day = ? AND kind IN ('called', 'recalled') ORDER BY seq DESC LIMIT 10", when)
        ]
        devices: dict[str, tuple[bool, str | None]] = {}
        for (detail,) in self._rows("SELECT detail FROM events WHERE day = ? AND kind = 'device' ORDER BY seq", when):
            said = json.loads(detail)
            devices[said["device"]] = (bool(said["online"]), said.get("printer"))
        return DaySnapshot(
            day=day,
            tickets=tickets,
            cursors=cursors,
            recent_calls=calls,
            counters=[self._counter(spec, by_id, regular_per_priority) for spec in counters],
            next_seq=max((t.seq for t in tickets), default=0) + 1,
            devices=devices,
        )

    def _counter(self, spec: CounterSpec, today: dict[str, Ticket], regular_per_priority: int) -> Counter:
        row = self._row("SELECT paused, current_ticket, awaiting_rating_ticket, regular_since_priority,"
                        f" {COUNTER_MARKS}, last_served_ticket FROM counters WHERE id = ?", (spec.id,))
        if row is None:
            return Counter(spec, regular_since_priority=regular_per_priority)
        paused, current, awaiting, since = row[:4]
        last_served = today.get(row[-1]) if row[-1] is not None else None  # today's only: its citizen may be there

        def resolve(ticket_id: str | None) -> Ticket | None:
            if ticket_id is None:
                return None
            return today.get(ticket_id) or self.load_ticket(ticket_id)

        return Counter(spec, resolve(current), resolve(awaiting), bool(paused), since, **counter_marks(row[4:-1]),
                       last_served=last_served)

    def load_ticket(self, ticket_id: str) -> Ticket | None:
        row = self._row(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else ticket_from_row(row)

    def find_reply(self, device: str, day: date, request_id: str) -> bytes | None:
        row = self._row("SELECT payload FROM replies WHERE device = ? AND day = ? AND request_id = ?",
                        (device, day.isoformat(), request_id))
        return None if row is None else bytes(row[0])

    def reply_keys(self, day: date) -> Iterator[tuple[str, str]]:
        """Streamed (a busy day has one per ticket and command): read them all before the next query."""
        return self._stream("SELECT device, request_id FROM replies WHERE day = ?", (day.isoformat(),))

    def latest_time(self) -> datetime | None:
        row = self._row("SELECT at FROM events ORDER BY seq DESC LIMIT 1", ())
        return None if row is None else datetime.fromisoformat(row[0])

    def find_rating_ack(self, counter_id: str, rating_id: str) -> bytes | None:
        row = self._row("SELECT ack FROM ratings WHERE counter_id = ? AND rating_id = ?", (counter_id, rating_id))
        return None if row is None else bytes(row[0])

    def load_bookings(self, first: date) -> list[Booking]:
        return [booking_from_row(row) for row in
                self._rows(f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE day >= ?", (first.isoformat(),))]

    def bookings_of(self, first: date, last: date) -> list[Booking]:
        """The bookings of the days from `first` to `last` (a report's)."""
        return [booking_from_row(row) for row in self._rows(
            f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE day BETWEEN ? AND ?", (first.isoformat(), last.isoformat()))]

    def live_config(self) -> StoredConfig | None:
        row = self._row(f"SELECT {CONFIG_COLUMNS} FROM config_versions ORDER BY version DESC LIMIT 1", ())
        return None if row is None else config_from_row(row)

    def config_version(self, version: int) -> StoredConfig | None:
        row = self._row(f"SELECT {CONFIG_COLUMNS} FROM config_versions WHERE version = ?", (version,))
        return None if row is None else config_from_row(row)

    def config_history(self, most: int) -> list[ConfigVersion]:
        return [version_from_row(row) for row in self._rows(
            f"SELECT {VERSION_COLUMNS} FROM config_versions ORDER BY version DESC LIMIT ?", (most,))]

    def config_documents(self, most: int = 1_000_000) -> list[dict[str, Any]]:
        """The newest `most` versions' documents of the live configuration, newest first."""
        return [json.loads(document) for (document,) in
                self._rows("SELECT document FROM config_versions ORDER BY version DESC LIMIT ?", (most,))]

    def applied_file_digest(self) -> str | None:
        row = self._row("SELECT file_digest FROM config_versions WHERE file_digest IS NOT NULL"
                        " ORDER BY version DESC LIMIT 1", ())
        return None if row is None else str(row[0])

    def period(self, first: date, last: date) -> Period:
        """The service days from `first` to `last`, both included."""
        span = (first.isoformat(), last.isoformat())
        tickets = [ticket_from_row(row) for row in self._rows(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE day BETWEEN ? AND ? ORDER BY day, seq", span)]
        ratings = [rating_from_row(row) for row in self._rows(
            "SELECT r.counter_id, r.rating_id, r.ticket_id, r.level, r.pressed_at, r.received_at, r.ack, r.channel,"
            " r.criteria, r.comment, r.dissatisfied FROM ratings r JOIN tickets t ON t.id = r.ticket_id"
            " WHERE t.day BETWEEN ? AND ?", span)]
        closed_by: dict[str, str] = {}
        names: dict[str, str] = {}
        for kind, ticket_id, detail in self._rows(
                "SELECT kind, ticket_id, detail FROM events WHERE kind IN ('served', 'missed', 'transferred', 'seated')"
                " AND day BETWEEN ? AND ? ORDER BY seq", span):
            said = json.loads(detail)
            official = said.get("official")
            if kind == "seated":
                if isinstance(official, str):
                    names[official] = str(said.get("name") or official)
            elif ticket_id is not None:  # the last close counts: closed where nobody sat, it is nobody's
                closed_by[ticket_id] = official if isinstance(official, str) else ""
        return Period(tickets, self._first_calls(span), ratings, closed_by, names, self.bookings_of(first, last))

    def _first_calls(self, span: tuple[str, str]) -> dict[str, datetime]:
        first_calls: dict[str, datetime] = {}
        for ticket_id, at in self._rows("SELECT ticket_id, at FROM events WHERE kind = 'called'"
                                        " AND day BETWEEN ? AND ?", span):
            moment = datetime.fromisoformat(at)
            if ticket_id not in first_calls or moment < first_calls[ticket_id]:
                first_calls[ticket_id] = moment
        return first_calls

    def events(self, kind: str) -> list[Event]:
        """Every stored event of one kind (`called`, `voided`, `device`, ...), oldest first."""
        return [Event(kind, date.fromisoformat(day), datetime.fromisoformat(at), ticket_id, counter_id,
                      json.loads(detail))
                for day, at, ticket_id, counter_id, detail in self._rows(
                    "SELECT day, at, ticket_id, counter_id, detail FROM events WHERE kind = ? ORDER BY seq", (kind,))]

    def totals(self) -> Totals:
        row = self._row("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM events),"
                        " (SELECT count(*) FROM ratings), (SELECT count(*) FROM replies)", ())
        assert row is not None  # a SELECT without FROM returns one row
        return Totals(*(int(count) for count in row))
