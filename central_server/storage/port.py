"""The storage port: what the service needs to make state durable and to resume it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from central_server.domain.bookings import Booking
from central_server.domain.center import Changes, DaySnapshot, RatingRecord
from central_server.domain.counters import CounterSpec
from central_server.domain.tickets import Ticket
from central_server.domain.tokens import KEY_BYTES
from protocol.errors import QmsError
from protocol.messages import ConfigVersion
from protocol.record import record

MIB = 1024 * 1024
LOW_SPACE = 100 * MIB  # free space below which the staff are warned (or a tenth of a small file system)
FULL_SPACE = 1 * MIB  # below which nothing more is written (or a fiftieth); writing resumes at twice as much
TOKEN_KEY = "ticket_token_key"  # its name in the `secrets` table
IDENTITY_KEY = "identity_key"  # the key of the CCCD numbers' keyed hashes (issue 18), in the `secrets` table


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


# What a batch's `close_before` and `forget_before` do (issue 18), in this order, after its bookings are written
CLOSE_DAYS = ("UPDATE bookings SET state = 'no_show', changed_at = check_in_until WHERE day < ? AND state = 'booked'",
              "UPDATE bookings SET phone = NULL WHERE day < ? AND phone IS NOT NULL")
FORGET_PEOPLE = ("UPDATE bookings SET person = NULL, tail = NULL WHERE day < ? AND person IS NOT NULL",
                 "UPDATE tickets SET id_tail = NULL WHERE day < ? AND id_tail IS NOT NULL")


def past_days(batch: Batch) -> list[tuple[str, str]]:
    """The statements, with their day, that a batch's `close_before` and `forget_before` run."""
    return [(statement, day.isoformat()) for day, statements in ((batch.close_before, CLOSE_DAYS),
                                                                 (batch.forget_before, FORGET_PEOPLE))
            if day is not None for statement in statements]


class StorageError(QmsError):
    """The storage cannot be opened, read or written."""


class StorageFull(StorageError):
    """A write failed for want of space: the disk (or the database server's disk) is full."""


@dataclass(frozen=True, slots=True)
class Space:
    """Free and total bytes of the file system that holds the data, as the server's user may use them."""

    free: int
    total: int

    @property
    def low_mark(self) -> int:
        return min(LOW_SPACE, self.total // 10)

    @property
    def full_mark(self) -> int:
        return min(FULL_SPACE, self.total // 50)

    @property
    def low(self) -> bool:
        return self.free < self.low_mark

    @property
    def ample(self) -> bool:
        """Well above the low mark again (a quarter more: a disk at the edge does not flap the warning)."""
        return self.free >= self.low_mark * 5 // 4

    @property
    def full(self) -> bool:
        """Too little left to write a batch safely: the server stops writing before the disk does."""
        return self.free < self.full_mark

    @property
    def roomy(self) -> bool:
        """Enough room again, after `full`, to write (twice the `full` mark: no flapping at the edge)."""
        return self.free >= 2 * self.full_mark


@record
class StoredReply:
    """The answer to a request that changed state, kept so a retry gets it again."""

    device: str  # "kiosk/<id>" or "counter/<id>"
    day: date
    request_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """A version of the live configuration as kept (`central_server/live_config.py`): the version, its document,
    and the digest of the file's live part it took into account, if any (the file's own version, or a console's
    change that came before a file waiting for a new day): what tells a file changed since."""

    version: ConfigVersion
    document: dict[str, Any]
    file_digest: str | None = None


@dataclass(slots=True)
class Batch:
    """Everything one transaction makes durable."""

    changes: Changes
    replies: list[StoredReply] = field(default_factory=list)
    rating_acks: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (counter, rating_id) -> ack
    configs: list[StoredConfig] = field(default_factory=list)  # new versions of the live configuration
    bookings: list[Booking] = field(default_factory=list)  # bookings made or changed (issue 18)
    # The bookings of days before `close_before` that nobody checked in become no-shows and lose their phone (a
    # day over, also one the server did not see end); those before `forget_before` lose their person's keyed hash
    # and CCCD digits, and so do the tickets of those days (the center's retention).
    close_before: date | None = None
    forget_before: date | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """What the stored days of a period hold for a report: their tickets (by day, in order of issue), the time each
    ticket was first called, the ratings of those tickets, and the bookings of those days (issue 18)."""

    tickets: list[Ticket]
    first_calls: dict[str, datetime]  # ticket id -> its first call
    ratings: list[RatingRecord]
    # ticket id -> the official (username) sitting at the counter that served, missed or transferred it, from the
    # events' detail.official; and each official's full name as they last sat down
    closed_by: dict[str, str] = field(default_factory=dict)
    official_names: dict[str, str] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)  # by the day of their appointment


@dataclass(frozen=True, slots=True)
class Totals:
    """How many tickets, events, ratings and stored answers the storage holds, every day together."""

    tickets: int
    events: int
    ratings: int
    replies: int


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

    def probe(self) -> None:
        """Make a small write durable, as a batch would (StorageFull, or StorageError, when it cannot)."""
        ...

    def space(self) -> Space | None:
        """The room left for the data; None when the data lies elsewhere (a database server)."""
        ...

    def latest_time(self) -> datetime | None:
        """The time of the newest event stored (None when there is none): a time the center has seen."""
        ...

    def live_config(self) -> StoredConfig | None:
        """The newest version of the live configuration (None before the first)."""
        ...

    def config_version(self, version: int) -> StoredConfig | None: ...

    def config_history(self, most: int) -> list[ConfigVersion]:
        """The newest `most` versions of the live configuration, newest first."""
        ...

    def config_documents(self, most: int = 1_000_000) -> list[dict[str, Any]]:
        """The newest `most` versions' documents, newest first."""
        ...

    def applied_file_digest(self) -> str | None:
        """The digest of the file's live part as a version last took it into account: the file's version, or a
        console's change that came before a file waiting for a new day (None: none did)."""
        ...

    def secret(self, name: str) -> bytes:
        """A key kept in the database (TOKEN_KEY: the one that signs the tickets' public tokens; IDENTITY_KEY: the
        one of the CCCD numbers' keyed hashes), made at the first call: every instance of the center, before and
        after a restart, reads the same."""
        ...

    def load_bookings(self, first: date) -> list[Booking]:
        """The bookings of `first` and the days after it."""
        ...

    def exclusive(self) -> AbstractContextManager[bool]:
        """Hold the center's data for one batch, its commit and its publishing, against other server
        instances; yields whether another instance has committed since this one last did (then the
        day must be read again before acting on it)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TwoStepStorage(Storage, Protocol):
    """A storage whose commit is split in two: the state thread writes a batch, and the committer makes it durable
    while the state thread acts on the next (`committer.py`). SQLite's: its fsync is long, and a write of many
    rows in the committer's thread would take the GIL back from the state thread at every row."""

    def write(self, batch: Batch) -> None:
        """Write the batch in a transaction left open: nothing of it is durable, nor read, before `finish`. When it
        fails (StorageError) nothing of it was written."""
        ...

    def finish(self) -> None:
        """Commit what `write` wrote, durable (fsynced) when this returns; when it fails, nothing of it was."""
        ...
