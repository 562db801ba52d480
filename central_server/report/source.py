"""Reads a period's tickets, first calls, ratings and bookings through the center's storage, read-only.

The storage never creates or migrates the database it reads for a report, and lets its server run meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from central_server.config import CenterConfig
from central_server.domain.bookings import Booking
from central_server.domain.tickets import Ticket
from central_server.report.figures import (
    BookingRecord,
    Officials,
    RatingRow,
    ReportArea,
    ReportCenter,
    ReportCounter,
    TicketRecord,
)
from central_server.storage import stored_documents, stored_period
from central_server.storage.port import StorageError
from central_server.storage.url import StorageUrl


class SourceError(Exception):
    """The database cannot be read: the message says why, in one line."""


def read_period(storage: StorageUrl, first: date, last: date,
                ) -> tuple[list[TicketRecord], dict[str, datetime], list[RatingRow], Officials, list[BookingRecord]]:
    """From the center's SQLite file or PostgreSQL database."""
    try:
        period = stored_period(storage, first, last)
    except StorageError as exc:
        raise SourceError(str(exc)) from None
    ratings = [RatingRow(r.counter_id, r.ticket_id, r.level, r.late, r.channel, r.criteria, r.comment,
                         r.dissatisfied)
               for r in period.ratings]
    transferred: dict[str, int] = {}
    for ticket in period.tickets:
        if ticket.state.value == "transferred":
            official = period.closed_by.get(ticket.id, "")
            transferred[official] = transferred.get(official, 0) + 1
    officials = Officials(period.closed_by, period.official_names, transferred)
    bookings = [booking_record(b) for b in period.bookings]
    return [record_of(t) for t in period.tickets], period.first_calls, ratings, officials, bookings


def stored_configs(storage: StorageUrl) -> list[dict[str, Any]]:
    """The versions of the live configuration, newest first (SourceError when the database cannot be read)."""
    try:
        return stored_documents(storage)
    except StorageError as exc:
        raise SourceError(str(exc)) from None


def center_of(config: CenterConfig, former: Sequence[Mapping[str, Any]] = ()) -> ReportCenter:
    """What the report's figures need of the center config (the report's and the live floor's). `former`: earlier
    versions of the live configuration, newest first, which name the areas and counters it no longer has."""
    rules = config.rules
    areas = [ReportArea(a.id, a.name, a.target_wait_min) for a in rules.areas]
    counters = [ReportCounter(c.id, c.name) for c in rules.counters]
    for document in former:
        known = {a.id for a in areas}
        areas += [ReportArea(str(a["id"]), str(a["name"]), int(a.get("target_wait_min", 30)))
                  for a in document.get("areas", ()) if a.get("id") not in known]
        known = {c.id for c in counters}
        counters += [ReportCounter(str(c["id"]), str(c["name"])) for c in document.get("counters", ())
                     if c.get("id") not in known]
    scales = tuple(dict.fromkeys(tuple(levels) for document in former
                                 if isinstance(levels := document.get("rating", {}).get("levels"), list)))
    return ReportCenter(config.name, rules.zone, tuple(areas), tuple(counters), rules.rating_levels,
                        tuple(scale for scale in scales if scale != rules.rating_levels), rules.dissatisfied,
                        rules.criteria)


def record_of(t: Ticket) -> TicketRecord:
    """A stored or live ticket as the report's figures read it."""
    return TicketRecord(t.id, t.day, t.area, t.shown, t.priority, t.issued_at, t.state.value, t.counter_id,
                        t.called_at, t.started_at, t.finished_at, t.transferred_from, t.transferred_to, t.channel,
                        t.since, t.booking, t.dossiers)


def booking_record(b: Booking) -> BookingRecord:
    """A stored booking as the report's figures read it (its window's end says when one nobody checked in became a
    no-show)."""
    return BookingRecord(b.code, b.day, b.area, b.channel.value, b.state.value, b.closes)
