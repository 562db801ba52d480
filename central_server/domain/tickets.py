"""Tickets and their states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class TicketState(StrEnum):
    WAITING = "waiting"  # in its area's queue
    CALLED = "called"  # called to a counter, the citizen has not yet been seen there
    SERVING = "serving"  # the official started on the dossier
    SERVED = "served"  # finished; may be rated within the rating window
    MISSED = "missed"  # no-show; can be called again by number today
    TRANSFERRED = "transferred"  # moved to another area: a new ticket with the same number continues it
    VOIDED = "voided"  # never meant: a kiosk's flood, or never printed; out of the queue and of the reports


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

    def __post_init__(self) -> None:
        if not self.place:
            self.place = self.seq

    @property
    def is_priority(self) -> bool:
        return self.priority != "none"

    @property
    def queue_key(self) -> tuple[datetime, int]:
        return (self.issued_at, self.place)
