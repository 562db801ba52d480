"""Counters (quầy): which areas they serve, whom they serve now, whether they are paused."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def status(self) -> CounterStatus:
        if self.paused:
            return CounterStatus.PAUSED
        return CounterStatus.SERVING if self.current is not None else CounterStatus.IDLE
