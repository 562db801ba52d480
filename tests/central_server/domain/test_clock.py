"""The clock rule on its own (central_server/domain/clock.py): readings of the wall clock and of the time
since boot go in, the time the center goes by comes out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from central_server.domain.clock import Change, ClockJudge, ClockRule

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=HCM)
RULE = ClockRule()  # a jump is more than 3 hours; 10 minutes steady believe it


class Machine:
    """A wall clock and a time since boot: `run` moves both, `set_clock` the wall clock alone."""

    def __init__(self, wall: datetime = MORNING, floor: datetime | None = None, boot_s: float = 40.0,
                 may_settle: Callable[[datetime, datetime], bool] = lambda own, reading: True) -> None:
        self.wall, self.elapsed = wall, boot_s
        self.judge = ClockJudge(wall, boot_s, floor=floor, rule=RULE, may_settle=may_settle)

    def run(self, **delta: float) -> datetime:
        """Time passes, read every `step` (a quarter of a second by default, as the server does)."""
        left = timedelta(**delta)
        step = timedelta(minutes=1)
        while left > timedelta(0):
            moved = min(step, left)
            self.wall += moved
            self.elapsed += moved.total_seconds()
            left -= moved
            self.judge.observe(self.wall, self.elapsed)
        return self.now()

    def set_clock(self, **delta: float) -> Change | None:
        self.wall += timedelta(**delta)
        return self.judge.observe(self.wall, self.elapsed).change

    def now(self) -> datetime:
        return self.judge.observe(self.wall, self.elapsed).time


def started(**options: Any) -> Machine:
    """A server that has run past the start-up grace."""
    machine = Machine(**options)
    machine.run(minutes=20)
    return machine


def test_time_passing_and_ntps_small_steps_are_believed() -> None:
    machine = started()
    assert machine.run(hours=20) == machine.wall, "a day passes in small steps, across midnight too"
    assert machine.set_clock(minutes=-2) is None and machine.now() == machine.wall  # NTP steps the clock back
    assert machine.set_clock(hours=2, minutes=59) is None and not machine.judge.suspect


def test_a_jump_of_a_day_is_a_fault_until_the_clock_comes_back() -> None:
    machine = started()
    before = machine.now()
    assert machine.set_clock(days=1) is Change.JUMPED
    assert machine.judge.suspect
    assert machine.run(minutes=5) == before + timedelta(minutes=5), "the center keeps its own time"
    assert machine.set_clock(days=-1) is Change.BACK
    assert not machine.judge.suspect and machine.now() == machine.wall == before + timedelta(minutes=5)


def test_a_jump_back_is_a_fault_too() -> None:
    machine = started()
    assert machine.set_clock(hours=-5) is Change.JUMPED
    assert machine.now() == machine.wall + timedelta(hours=5)


def test_a_jumped_clock_that_keeps_its_time_for_ten_minutes_is_believed() -> None:
    machine = started()
    assert machine.set_clock(hours=17) is Change.JUMPED
    machine.run(minutes=9)
    assert machine.judge.suspect
    assert machine.set_clock(hours=4) is None, "jumped again, still a fault: the wait starts again"
    machine.run(minutes=9)
    assert machine.judge.suspect
    machine.wall += timedelta(minutes=1)
    machine.elapsed += 60
    assert machine.judge.observe(machine.wall, machine.elapsed).change is Change.BELIEVED
    assert machine.now() == machine.wall


def test_a_jumped_clock_the_caller_will_not_let_settle_stays_a_fault_and_says_so_once() -> None:
    asked: list[tuple[datetime, datetime]] = []

    def may_settle(own: datetime, reading: datetime) -> bool:
        asked.append((own, reading))
        return False

    machine = started(may_settle=may_settle)
    assert machine.set_clock(days=1) is Change.JUMPED
    own = machine.run(minutes=9)
    assert asked == [], "not asked before the clock has kept its new time for ten minutes"
    changes = []
    for _ in range(60):  # an hour, a minute at a time
        machine.wall += timedelta(minutes=1)
        machine.elapsed += 60
        changes.append(machine.judge.observe(machine.wall, machine.elapsed).change)
    assert changes[0] is Change.HELD and changes[1:] == [None] * 59, "said once"
    assert machine.judge.suspect and machine.now() == own + timedelta(hours=1), "the center keeps its own time"
    assert asked[0] == (own + timedelta(minutes=1), own + timedelta(days=1, minutes=1))
    assert machine.set_clock(days=-1) is Change.BACK and not machine.judge.suspect, "the clock came back"


def test_a_server_restarted_long_after_boot_gets_no_grace() -> None:
    machine = Machine(boot_s=3 * 3600.0)  # restarted in the middle of the morning
    machine.run(minutes=1)
    assert machine.set_clock(days=1) is Change.JUMPED and machine.judge.suspect


def test_a_clock_set_soon_after_boot_is_believed_at_once() -> None:
    machine = Machine(wall=datetime(2026, 11, 22, 17, 30, tzinfo=HCM))  # the Pi's last saved time
    machine.run(minutes=1)
    assert machine.set_clock(hours=14) is Change.SET, "NTP a minute after boot"
    assert not machine.judge.suspect and machine.now() == machine.wall
    machine.run(minutes=15)
    assert machine.set_clock(hours=14) is Change.JUMPED, "past the grace, a jump is a fault again"


def test_a_clock_behind_what_is_stored_is_a_fault_from_the_start() -> None:
    floor = datetime(2026, 11, 22, 16, 45, tzinfo=HCM)
    machine = Machine(wall=datetime(1970, 1, 1, 7, 0, tzinfo=HCM), floor=floor)
    assert machine.judge.first.suspect and machine.judge.first.change is Change.JUMPED
    assert machine.judge.first.time == floor, "the center goes on from the last time it stored"
    assert machine.run(minutes=1) == floor + timedelta(minutes=1)
    assert machine.set_clock(days=20_414, hours=1) is Change.SET, "NTP sets it"
    assert machine.now() == machine.wall
    slightly_behind = Machine(wall=floor - timedelta(hours=1), floor=floor)  # a saved time an hour old
    assert not slightly_behind.judge.first.suspect


def test_a_server_that_was_frozen_for_hours_sees_no_fault() -> None:
    machine = started()
    machine.wall += timedelta(hours=6)
    machine.elapsed += 6 * 3600  # stopped (SIGSTOP, a paused VM): the time since boot went on too
    assert machine.judge.observe(machine.wall, machine.elapsed).change is None
