"""The demo's simulated clock: every process agrees on it, and agents know how fast it runs."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devkit.clock import SimulatedClock

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_clock_passed_as_an_argument_is_the_same_clock() -> None:
    clock = SimulatedClock(datetime(2026, 11, 23, 7, 25, tzinfo=HCM), 128.0, 1_000_000.0)
    again = SimulatedClock.from_arg(clock.to_arg(), HCM)
    assert (again.start, again.speed, again.real_start) == (clock.start, clock.speed, clock.real_start)


def test_ten_real_seconds_are_speed_times_ten_simulated_ones() -> None:
    start = datetime(2026, 11, 23, 7, 25, tzinfo=HCM)
    clock = SimulatedClock(start, 128.0, time.time() - 10)
    assert abs(clock.now() - (start + timedelta(seconds=1280))) < timedelta(seconds=128)  # within a real second

