"""The server process and a clock that is wrong: a Pi without a real-time clock that boots at 1970 goes on
with the day it has stored, and tells the staff its clock is suspect (the simulated clock stands in for the
system's: the process judges it against its own time since boot all the same)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from devkit.clock import SimulatedClock
from devkit.local_broker import LocalBroker
from tests.harness import ServerProcess, device, watching

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_server_restarted_with_its_clock_at_1970_goes_on_with_the_stored_day(
        broker: LocalBroker, center_id: str, center_toml: Path) -> None:
    morning = SimulatedClock(datetime(2026, 11, 23, 8, 0, tzinfo=HCM), 1.0, time.time()).to_arg()
    server = ServerProcess(center_toml, broker, center_id, clock=morning)
    server.start()
    with device(broker, center_id) as client:
        first = client.ticket("dat-dai")["ticket"]
    assert server.stop() == 0

    booted = SimulatedClock(datetime(1970, 1, 1, 7, 0, tzinfo=HCM), 1.0, time.time()).to_arg()
    server = ServerProcess(center_toml, broker, center_id, clock=booted)
    server.start()
    try:
        with device(broker, center_id) as client, watching(broker, center_id, "server/status") as status:
            assert status.next("server/status")[1] == {"v": 1, "online": True, "clock": "suspect"}
            second = client.ticket("dat-dai")["ticket"]
    finally:
        assert server.stop() == 0
    assert second["number"] == "1002" and second["id"].startswith("20261123-"), (first, second)
    assert second["issued_at"].startswith("2026-11-23T08:00"), "the center's own time, from the stored one"
    assert "clock fault: the clock says 1970-01-01" in server.log_text()
