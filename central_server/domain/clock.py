"""When to believe the wall clock: a pure rule. The caller reads the clocks and hands the readings in.

The service day, the opening hours, the rating windows and every stored time follow the wall clock,
and a wall clock can be wrong by hours or days: a Pi without a real-time clock boots at 1970 or at the
time it last saved and NTP steps it a minute later; someone types the wrong date; a time server lies.
The server reads the wall clock at least four times a second, each time with a clock nobody sets (the
time since boot), so between two readings it knows how much time really passed. `ClockJudge` turns
the readings into the time the center goes by:

- The wall clock is believed while it agrees, within `jump` (3 hours), with the time last believed
  plus the time elapsed since: NTP's steps of seconds or minutes are taken as they come, and a day
  that passes in small steps across `day_starts` begins the next service day as it always did.
- A jump of more than `jump`, forward or back, is a clock fault. The center keeps its own time (the
  time last believed plus the time elapsed), so no service day begins or ends on it, and the verdict
  is `suspect` until the fault ends.
- The fault ends when the clock comes back (agrees again), or when it has kept its new time steadily
  for `settle` (10 minutes): then it was the earlier time that was wrong, and the new one is believed
  (a day that begins then begins normally). Except when believing it would begin a later service day
  while the current one is in use (the caller says, through `may_settle`): a new day drops every
  waiting citizen from the queue, which no clock decides alone. The fault then lasts until the clock
  comes back or the server is restarted (a restart believes a clock ahead of the stored time).
- During the first `settle` after the machine booted the clock is still being set (NTP a minute after
  boot): a jump of the clock then is believed at once. Counted from the boot, not from the server's
  start: a server restarted in the middle of a day (a crash, an upgrade) gets no such grace.
- At start-up, a clock behind the last time stored by more than `jump` is a fault from the start: the
  center goes on from that stored time, so a restart never takes it back to an earlier day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


@dataclass(frozen=True, slots=True)
class ClockRule:
    jump: timedelta = timedelta(hours=3)  # a disagreement larger than this is a fault, not a correction
    settle: timedelta = timedelta(minutes=10)  # a jumped clock steady this long is believed; the grace after boot


class Change(Enum):
    """What a reading changed, for the log and the center's staff."""

    JUMPED = "jumped"  # a fault began: the center keeps its own time
    BACK = "back"  # the clock agrees again
    BELIEVED = "believed"  # the clock kept its new time for `settle`: it is believed
    SET = "set"  # the clock was set soon after boot: believed at once
    HELD = "held"  # the clock kept its new time for `settle`, but may not settle by itself: still suspect


@dataclass(frozen=True, slots=True)
class Verdict:
    time: datetime  # the time the center goes by
    suspect: bool  # the wall clock is not believed now
    change: Change | None = None
    off_by: timedelta = timedelta(0)  # the reading minus the time the center would have gone by


class ClockJudge:
    """Judges each reading of the wall clock against the time elapsed (seconds since the machine booted, of a
    clock nobody sets)."""

    def __init__(self, reading: datetime, elapsed_s: float, *, floor: datetime | None = None,
                 rule: ClockRule | None = None,
                 may_settle: Callable[[datetime, datetime], bool] = lambda own, reading: True) -> None:
        """`floor`: the last time the storage holds (None for a new center). `may_settle(own time, reading)`:
        whether a jumped clock that kept its new time for `settle` may be believed."""
        self.rule = rule or ClockRule()
        self._may_settle = may_settle
        self._held = False  # HELD was said for the current fault
        self._last_reading, self._last_elapsed = reading, elapsed_s
        self._believed = reading
        self._fault_since: float | None = None
        if floor is not None and reading < floor - self.rule.jump:
            self._believed, self._fault_since = floor, elapsed_s
        self.first = Verdict(self._believed, self.suspect, Change.JUMPED if self.suspect else None,
                             reading - self._believed)

    @property
    def suspect(self) -> bool:
        return self._fault_since is not None

    def observe(self, reading: datetime, elapsed_s: float) -> Verdict:
        rule = self.rule
        passed = timedelta(seconds=max(0.0, elapsed_s - self._last_elapsed))
        expected = self._believed + passed
        clock_jumped = abs(reading - self._last_reading - passed) > rule.jump  # the clock itself, since last time
        setting = elapsed_s < rule.settle.total_seconds()  # `elapsed_s` counts from the boot
        self._last_reading, self._last_elapsed = reading, elapsed_s
        change: Change | None = None
        if abs(reading - expected) <= rule.jump:
            change = Change.BACK if self.suspect else None
            self._believe(reading)
        elif setting and clock_jumped:
            change = Change.SET
            self._believe(reading)
        elif not self.suspect:
            change, self._fault_since, self._believed = Change.JUMPED, elapsed_s, expected
        else:
            if clock_jumped:  # jumped again: the wait starts again
                self._fault_since, self._held = elapsed_s, False
            assert self._fault_since is not None
            steady = elapsed_s - self._fault_since >= rule.settle.total_seconds()
            if steady and self._may_settle(expected, reading):
                change = Change.BELIEVED
                self._believe(reading)
            else:
                if steady and not self._held:
                    change, self._held = Change.HELD, True
                self._believed = expected
        return Verdict(self._believed, self.suspect, change, reading - expected)

    def _believe(self, reading: datetime) -> None:
        self._believed, self._fault_since, self._held = reading, None, False
