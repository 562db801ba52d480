"""The pure parts of benchmarks/one_pi_bench.py: reading /proc (with server_bench's `cpu_seconds`), the CPU shares
and the percentiles."""

from __future__ import annotations

import math
import os
from pathlib import Path

from benchmarks.one_pi_bench import COMMUNE, cpu_percent, machine_busy_s, percentiles, status_mb
from benchmarks.server_bench import cpu_seconds

# A real /proc/<pid>/stat line of a process whose name holds a space and a parenthesis: utime 1234, stime 567.
STAT = ("4242 (python -m (x)) S 1 4242 4242 0 -1 4194560 9001 0 12 0 1234 567 0 0 20 0 5 0 "
        "123456 456789012 12345 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 1 0 0 0 0 0")

STATUS = """Name:\tpython
VmPeak:\t  612000 kB
VmHWM:\t   81920 kB
VmRSS:\t   71680 kB
Threads:\t5
"""


def test_cpu_seconds_adds_user_and_system_time_after_the_name() -> None:
    assert cpu_seconds(STAT, 100) == (1234 + 567) / 100


def test_cpu_seconds_of_this_process_grows_with_work() -> None:
    stat = Path(f"/proc/{os.getpid()}/stat")
    ticks = os.sysconf("SC_CLK_TCK")
    before = cpu_seconds(stat.read_text(), ticks)
    sum(i * i for i in range(3_000_000))  # some CPU of this process
    assert cpu_seconds(stat.read_text(), ticks) > before


def test_status_reads_kilobyte_fields_in_megabytes() -> None:
    assert status_mb(STATUS, "VmRSS") == 70.0
    assert status_mb(STATUS, "VmHWM") == 80.0
    assert math.isnan(status_mb(STATUS, "Pss"))
    assert status_mb("Rss:  2048 kB\nPss:  1024 kB\n", "Pss") == 1.0


def test_cpu_percent_is_per_process_and_all_together_of_one_core() -> None:
    shares = cpu_percent({"server": 10.0, "board": 3.0}, {"server": 13.0, "board": 9.0}, 60.0)
    assert shares == {"server": 5.0, "board": 10.0, "all": 15.0}


def test_the_machine_is_busy_when_not_idle_nor_waiting_for_io() -> None:
    stat = "cpu  100 5 50 1000 40 3 2 0 0 0\ncpu0 50 2 25 500 20 1 1 0 0 0\n"
    assert machine_busy_s(stat, 100) == (100 + 5 + 50 + 3 + 2) / 100


def test_cpu_percent_keeps_the_machine_apart() -> None:
    shares = cpu_percent({"server": 0.0, "machine": 10.0}, {"server": 3.0, "machine": 70.0}, 60.0)
    assert shares == {"server": 5.0, "all": 5.0, "machine": 100.0}


def test_percentiles_of_few_samples_are_not_invented() -> None:
    assert all(math.isnan(v) for v in percentiles([12.0]).values())
    figures = percentiles([float(n) for n in range(1, 101)])
    assert figures["p50_ms"] == 50.5 and figures["max_ms"] == 100.0 and 95 <= figures["p95_ms"] <= 96


def test_the_commune_sends_every_area_to_some_counter() -> None:
    served = {area for _, _, areas in COMMUNE.counters for area in areas}
    assert served == set(COMMUNE.share) == set(COMMUNE.service_min)
    assert math.isclose(sum(COMMUNE.share.values()), 1.0)
