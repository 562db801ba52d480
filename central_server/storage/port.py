"""The storage port: what the service needs to make state durable and to resume it."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from central_server.domain.center import Changes, DaySnapshot
from central_server.domain.counters import CounterSpec
from central_server.domain.tickets import Ticket


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The answer to a request that changed state, kept so a retry gets it again."""

    device: str  # "kiosk/<id>" or "counter/<id>"
    day: date
    request_id: str
    payload: bytes


@dataclass(slots=True)
class Batch:
    """Everything one transaction makes durable."""

    changes: Changes
    replies: list[StoredReply] = field(default_factory=list)
    rating_acks: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (counter, rating_id) -> ack


class Storage(Protocol):
    def load_day(self, day: date, counters: Iterable[CounterSpec], regular_per_priority: int) -> DaySnapshot: ...

    def load_ticket(self, ticket_id: str) -> Ticket | None: ...

    def find_reply(self, device: str, day: date, request_id: str) -> bytes | None: ...

    def reply_keys(self, day: date) -> Iterable[tuple[str, str]]:
        """(device, request_id) of every stored reply of the day."""
        ...

    def find_rating_ack(self, counter_id: str, rating_id: str) -> bytes | None: ...

    def commit(self, batch: Batch) -> None:
        """Write the batch in one transaction, durable (fsynced) when this returns."""
        ...

    def exclusive(self) -> AbstractContextManager[bool]:
        """Hold the center's data for one batch, its commit and its publishing, against other server
        instances; yields whether another instance has committed since this one last did (then the
        day must be read again before acting on it)."""
        ...

    def close(self) -> None: ...
