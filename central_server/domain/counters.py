"""Counters (quầy): which areas they serve, whom they serve now, whether they are paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from central_server.domain.tickets import Ticket


class CounterStatus(StrEnum):
    IDLE = "idle"
    SERVING = "serving"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class CounterSpec:
    id: str
    name: str
    areas: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Official:
    """The official sitting at a counter: the staff username and the full name."""

    username: str
    name: str


@dataclass(frozen=True, slots=True)
class LastRating:
    """The last rating recorded for a ticket the counter served, shown to its official until the next call."""

    ticket_id: str
    number: str
    level: str


@dataclass(slots=True)
class Counter:
    spec: CounterSpec
    current: Ticket | None = None
    awaiting_rating: Ticket | None = None  # the last served ticket while its rating window is open
    paused: bool = False
    regular_since_priority: int = 0  # for the interleaved policy
    # Not stored, for the wait estimate: when the counter last let a citizen go (None once it paused or
    # found nobody waiting: what follows is no part of its pace), and when its official last pressed Next
    # or called someone (someone is at the counter).
    released_at: datetime | None = None
    active_at: datetime | None = None
    # Stored: who sits here and the last rating, both for `marked_day` only (a new service day clears them),
    # and since when the counter has been in its status (the pause, or the last release or resume when idle;
    # a serving counter's is its ticket's call).
    official: Official | None = None
    last_rating: LastRating | None = None
    # Not stored: the ticket it finished last, until its next call (the citizen may still be at the counter, their
    # dossier not yet attached: issue 19)
    last_served: Ticket | None = None
    marked_day: date | None = None
    since: datetime | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def status(self) -> CounterStatus:
        if self.paused:
            return CounterStatus.PAUSED
        return CounterStatus.SERVING if self.current is not None else CounterStatus.IDLE
