"""Procedure areas (lĩnh vực): number ranges, prefixes, shown numbers, the service day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from protocol.hours import Hours


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    name: str
    first: int
    last: int
    prefix: str = ""
    open: bool = True
    target_wait_min: int = 30  # the center's promise: the reports show the share called within it
    hours: Hours | None = None  # the area's own opening hours, instead of the center's
    daily_quota: int = 0  # tickets a day at most (0: no quota)
    booking_capacity: int | None = None  # bookings per slot (None: the center's [bookings].capacity; 0: none)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def shown(self, number: int) -> str:
        """The number as printed and called: prefix + zero-padded to the width of `last`."""
        return f"{self.prefix}{number:0{len(str(self.last))}d}"

    def after(self, number: int | None) -> int:
        """The candidate after `number`, wrapping from `last` to `first`."""
        if number is None or number >= self.last or number < self.first:
            return self.first
        return number + 1


def service_day(now: datetime, zone: tzinfo, day_starts: time) -> date:
    """The service day a moment belongs to: numbering restarts at `day_starts` local time."""
    local = now.astimezone(zone)
    shifted = local - timedelta(hours=day_starts.hour, minutes=day_starts.minute)
    return shifted.date()
