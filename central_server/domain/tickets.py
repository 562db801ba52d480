"""Tickets and their states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from central_server.domain.dossiers import Dossier


class TicketState(StrEnum):
    WAITING = "waiting"  # in its area's queue
    CALLED = "called"  # called to a counter, the citizen has not yet been seen there
    SERVING = "serving"  # the official started on the dossier
    SERVED = "served"  # finished; may be rated within the rating window
    MISSED = "missed"  # no-show; can be called again by number today
    TRANSFERRED = "transferred"  # moved to another area: a new ticket with the same number continues it
    VOIDED = "voided"  # never meant: a kiosk's flood, or never printed; out of the queue and of the reports


PRIORITY, BOOKED, REGULAR = "priority", "booked", "regular"  # the lanes of an area's queue
LANES = (PRIORITY, BOOKED, REGULAR)

# A ticket in one of these states holds its number: the area never hands that number out again.
HOLDS_NUMBER = frozenset({TicketState.WAITING, TicketState.CALLED, TicketState.SERVING, TicketState.MISSED})


@dataclass(slots=True)
class Ticket:
    id: str
    day: date
    seq: int  # order of issue within the day; makes the id
    area: str
    number: int
    shown: str
    priority: str
    issued_at: datetime  # for a transferred ticket: the original issue time, so it keeps its place
    state: TicketState = TicketState.WAITING
    kiosk_id: str | None = None
    counter_id: str | None = None
    calls: int = 0  # calls in the current calling round (first call + recalls)
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    transferred_from: str | None = None
    transferred_to: str | None = None
    rating_until: datetime | None = None
    rating: str | None = None
    place: int = 0  # breaks ties between equal issue times; a transferred ticket keeps its original's
    # How it came (issue 18): "walk_in", "booked" or "remote" (bookings.Channel); where its place in the queue counts
    # from when not from its issue (a booked slot's start, a remote number's taking); a booked slot's end; and the
    # code of the booking it came from.
    channel: str = "walk_in"
    since: datetime | None = None
    slot_end: datetime | None = None
    booking: str | None = None
    id_tail: str | None = None  # the booking's CCCD's last 4 digits, for the official to compare with the card
    dossiers: tuple[Dossier, ...] = ()  # the dossiers received from this citizen at the counter (issue 19)

    def __post_init__(self) -> None:
        if not self.place:
            self.place = self.seq

    @property
    def is_priority(self) -> bool:
        return self.priority != "none"

    @property
    def queue_key(self) -> tuple[datetime, int]:
        return (self.since or self.issued_at, self.place)

    @property
    def lane(self) -> str:
        """Which of its area's queues it waits in: priority citizens', booked slots', everyone else's."""
        if self.priority != "none":
            return PRIORITY
        return BOOKED if self.channel == BOOKED else REGULAR
