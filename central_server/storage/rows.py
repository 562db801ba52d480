"""Tickets, counters and ratings as stored rows, shared by the SQLite and PostgreSQL storages.

Times are stored as ISO 8601 text with their offset, in both, so a row reads back exactly.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson

from central_server.domain.bookings import Booking, BookingState, Channel
from central_server.domain.center import RatingRecord
from central_server.domain.counters import Counter, LastRating, Official
from central_server.domain.dossiers import Dossier
from central_server.domain.tickets import Ticket, TicketState
from central_server.live_config import canonical
from central_server.storage.port import StoredConfig
from protocol.messages import ConfigChange, ConfigVersion

TICKET_COLUMNS = (
    "id, day, seq, area, number, shown, priority, issued_at, state, kiosk_id, counter_id, calls, called_at,"
    " started_at, finished_at, transferred_from, transferred_to, rating_until, rating, place,"
    " channel, since, slot_end, booking, id_tail, dossiers"
)


# What changes in a ticket after it is issued; the rest (the day and sequence among them) never does.
MUTABLE_TICKET_COLUMNS = ("state", "counter_id", "calls", "called_at", "started_at", "finished_at",
                          "transferred_to", "rating_until", "rating", "dossiers")


def text_of(value: Any) -> str:
    """JSON text as stored: compact, UTF-8 kept as it is (orjson, as the messages are written)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def iso(moment: datetime | None) -> str | None:
    """As stored (to the microsecond). The last one is remembered: a batch's times are mostly one object."""
    global _last_iso
    last = _last_iso
    if moment is None or last[0] is moment:
        return None if moment is None else last[1]
    text = moment.isoformat()
    _last_iso = (moment, text)  # one assignment: a reader in another thread sees one pair or the other
    return text


_last_iso: tuple[datetime | None, str] = (None, "")


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


# The columns a ticket may leave empty (NULL), all of them text; most are, while it waits.
NULLABLE_TICKET_COLUMNS = ("kiosk_id", "counter_id", "called_at", "started_at", "finished_at", "transferred_from",
                           "transferred_to", "rating_until", "rating", "since", "slot_end", "booking", "id_tail",
                           "dossiers")


def ticket_row(t: Ticket, absent: Any = None) -> tuple[Any, ...]:
    """`absent`: what a column in NULLABLE_TICKET_COLUMNS holds when the ticket has nothing there (SQLite's
    statement binds 0 and makes it NULL: `sqlite.UPSERT_TICKET`)."""
    return (
        t.id, t.day.isoformat(), t.seq, t.area, t.number, t.shown, t.priority, iso(t.issued_at), t.state.value,
        absent if (kiosk := t.kiosk_id) is None else kiosk,
        absent if (counter := t.counter_id) is None else counter, t.calls,
        absent if (called := t.called_at) is None else iso(called),
        absent if (started := t.started_at) is None else iso(started),
        absent if (finished := t.finished_at) is None else iso(finished),
        absent if (source := t.transferred_from) is None else source,
        absent if (target := t.transferred_to) is None else target,
        absent if (until := t.rating_until) is None else iso(until),
        absent if (rating := t.rating) is None else rating, t.place, t.channel,
        absent if (since := t.since) is None else iso(since),
        absent if (slot_end := t.slot_end) is None else iso(slot_end),
        absent if (booking := t.booking) is None else booking,
        absent if (tail := t.id_tail) is None else tail,
        absent if (dossiers := _dossiers_text(t.dossiers)) is None else dossiers,
    )


def ticket_from_row(row: Sequence[Any]) -> Ticket:
    return TicketReader().ticket(row)


class TicketReader:
    """Builds tickets from stored rows, one row at a time, sharing what repeats between them: a busy day loads
    100,000 tickets and holds them all day. The times a batch gave several tickets (issued, called, finished in
    one moment) become one object again, as they were in the server that made them; a number is the same int
    object as the sequence of that value, and a place equal to its ticket's sequence is that object."""

    def __init__(self) -> None:
        # Per offset: equal times of two offsets (07:00+07:00, 00:00+00:00) are equal, and each must read back as kept
        self._times: dict[timedelta, dict[datetime, datetime]] = {}
        self._ints: dict[int, int] = {}

    def ticket(self, row: Sequence[Any]) -> Ticket:
        (id_, day, seq, area, number, shown, priority, issued_at, state, kiosk_id, counter_id, calls, called_at,
         started_at, finished_at, transferred_from, transferred_to, rating_until, rating, place,
         channel, since, slot_end, booking, id_tail, dossiers) = row
        ints, time = self._ints, self._time
        seq = ints.setdefault(seq, seq)
        issued = time(issued_at)
        assert issued is not None
        return Ticket(
            id=id_, day=_day(day), seq=seq, area=sys.intern(area), number=ints.setdefault(number, number),
            shown=shown, priority=sys.intern(priority), issued_at=issued, state=TicketState(state),
            kiosk_id=_name(kiosk_id), counter_id=_name(counter_id), calls=calls, called_at=time(called_at),
            started_at=time(started_at), finished_at=time(finished_at), transferred_from=transferred_from,
            transferred_to=transferred_to, rating_until=time(rating_until), rating=_name(rating),
            place=seq if place == seq else place, channel=sys.intern(channel), since=time(since),
            slot_end=time(slot_end), booking=booking, id_tail=id_tail, dossiers=_dossiers_of(dossiers),
        )

    def _time(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        moment = datetime.fromisoformat(text)
        offset = moment.utcoffset()
        assert offset is not None, f"stored time {text!r} has no offset"
        times = self._times.get(offset)
        if times is None:
            times = self._times[offset] = {}
        kept = times.get(moment)
        if kept is None:
            kept = moment.replace(tzinfo=_zone_of(offset))
            times[kept] = kept  # not `moment`, which holds a timezone object of its own
        return kept


def _dossiers_text(dossiers: tuple[Dossier, ...]) -> str | None:
    """A ticket's dossiers as kept: a JSON list of [code, attached at, official, counter]."""
    if not dossiers:
        return None
    return text_of([[d.code, iso(d.at), d.official, d.counter_id] for d in dossiers])


def _dossiers_of(text: str | None) -> tuple[Dossier, ...]:
    if not text:
        return ()
    dossiers = []
    for code, at, official, counter_id in json.loads(text):
        moment = _time(at)
        assert moment is not None
        dossiers.append(Dossier(code, moment, official, counter_id))
    return tuple(dossiers)


COUNTER_COLUMNS = ("id, paused, current_ticket, awaiting_rating_ticket, regular_since_priority,"
                   " official, official_name, last_rating, marked_day, since, last_served_ticket")
# What `load_day` reads back of a counter beyond its tickets (the columns of the second migration).
COUNTER_MARKS = "official, official_name, last_rating, marked_day, since"


def counter_row(c: Counter) -> tuple[Any, ...]:
    last = c.last_rating
    return (
        c.id, int(c.paused), c.current.id if c.current else None,
        c.awaiting_rating.id if c.awaiting_rating else None, c.regular_since_priority,
        c.official.username if c.official else None, c.official.name if c.official else None,
        None if last is None else text_of([last.ticket_id, last.number, last.level]),
        None if c.marked_day is None else c.marked_day.isoformat(), iso(c.since),
        c.last_served.id if c.last_served else None,
    )


def counter_marks(row: Sequence[Any]) -> dict[str, Any]:
    """The Counter fields of the stored columns COUNTER_MARKS."""
    username, name, last_rating, marked_day, since = row
    return {
        "official": None if username is None else Official(username, name or username),
        "last_rating": None if last_rating is None else LastRating(*json.loads(last_rating)),
        "marked_day": None if marked_day is None else _day(marked_day),
        "since": _time(since),
    }


RATING_COLUMNS = ("counter_id, rating_id, ticket_id, level, pressed_at, received_at, ack, channel, criteria, comment,"
                  " dissatisfied")


def rating_row(r: RatingRecord, ack: bytes) -> tuple[Any, ...]:
    return (r.counter_id, r.rating_id, r.ticket_id, r.level, iso(r.pressed_at), iso(r.received_at), ack, r.channel,
            text_of(dict(r.criteria)) if r.criteria else None, r.comment,
            None if r.dissatisfied is None else int(r.dissatisfied))


def rating_from_row(row: Sequence[Any]) -> RatingRecord:
    counter_id, rating_id, ticket_id, level, pressed_at, received_at, ack, channel, criteria, comment, against = row
    pressed, received = _time(pressed_at), _time(received_at)
    assert pressed is not None and received is not None
    return RatingRecord(rating_id, ticket_id, counter_id, level, pressed, received, _late(ack), channel,
                        tuple(json.loads(criteria).items()) if criteria else (), comment,
                        None if against is None else bool(against))


def _late(ack: bytes | memoryview) -> bool:
    """The server marks a rating received after its window (its terminal was cut off) in the ack it keeps."""
    try:
        return json.loads(bytes(ack)).get("late") is True
    except (ValueError, AttributeError):
        return False


CONFIG_COLUMNS = "version, at, source, by_who, by_name, restored_from, document, file_digest, changes"


def config_row(stored: StoredConfig) -> tuple[Any, ...]:
    v = stored.version
    return (v.version, iso(v.at), v.source, v.by, v.by_name, v.restored_from, canonical(stored.document),
            stored.file_digest, text_of([c.to_body() for c in v.changes]))


VERSION_COLUMNS = "version, at, source, by_who, by_name, restored_from, changes"  # a version without its document


def version_from_row(row: Sequence[Any]) -> ConfigVersion:
    version, at, source, by, by_name, restored_from, changes = row
    moment = _time(at)
    assert moment is not None
    return ConfigVersion(int(version), moment, source, by, by_name,
                         tuple(ConfigChange.from_body(c) for c in json.loads(changes)),
                         None if restored_from is None else int(restored_from))


def config_from_row(row: Sequence[Any]) -> StoredConfig:
    version, at, source, by, by_name, restored_from, document, file_digest, changes = row
    kept = version_from_row((version, at, source, by, by_name, restored_from, changes))
    return StoredConfig(kept, json.loads(document), file_digest)


BOOKING_COLUMNS = ("code, day, area, channel, created_at, start_at, end_at, check_in_from, check_in_until, person,"
                   " tail, phone, state, changed_at, ticket_id, reminded")
# What changes in a booking once made: its state, its ticket, its reminder; the phone (erased once cancelled).
MUTABLE_BOOKING_COLUMNS = ("phone", "state", "changed_at", "ticket_id", "reminded")


def booking_row(b: Booking) -> tuple[Any, ...]:
    return (b.code, b.day.isoformat(), b.area, b.channel.value, iso(b.created_at), iso(b.start), iso(b.end),
            iso(b.opens), iso(b.closes), b.person, b.tail, b.phone, b.state.value, iso(b.changed_at), b.ticket_id,
            int(b.reminded))


def booking_from_row(row: Sequence[Any]) -> Booking:
    (code, day, area, channel, created_at, start, end, opens, closes, person, tail, phone, state, changed_at,
     ticket_id, reminded) = row
    created, since, until = _time(created_at), _time(opens), _time(closes)
    assert created is not None and since is not None and until is not None
    return Booking(code, _day(day), area, Channel(channel), created, _time(start), _time(end), since, until, person,
                   tail, phone, BookingState(state), _time(changed_at), ticket_id, bool(reminded))
