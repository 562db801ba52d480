"""Counters (quầy): which areas they serve, whom they serve now, whether they are paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def status(self) -> CounterStatus:
        if self.paused:
            return CounterStatus.PAUSED
        return CounterStatus.SERVING if self.current is not None else CounterStatus.IDLE
