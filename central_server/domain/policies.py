"""Who is called next: priority first (strictly or interleaved), then the longest waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from protocol.messages import PRIORITY_CATEGORIES

T = TypeVar("T")


class PriorityMode(StrEnum):
    STRICT = "strict"  # every waiting priority ticket goes before every regular one
    INTERLEAVED = "interleaved"  # one priority ticket after every N regular ones at a counter


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    mode: PriorityMode = PriorityMode.STRICT
    regular_per_priority: int = 3
    # Calls (first + recalls) after which a recall marks an unanswered ticket missed instead.
    # 0, the default, keeps the contract's plain rule: a recall always calls again.
    max_calls: int = 0
    priority_categories: tuple[str, ...] = field(default=PRIORITY_CATEGORIES)
    default_service_s: int = 300  # the service time assumed before an area has data

    def choose(self, priority: T | None, regular: T | None, regular_since_priority: int) -> T | None:
        """The next ticket for a counter, given the oldest priority and oldest regular ticket it may call
        (tickets, or what stands for them in a forecast)."""
        if priority is None or regular is None:
            return priority or regular
        if self.mode is PriorityMode.STRICT or regular_since_priority >= self.regular_per_priority:
            return priority
        return regular
