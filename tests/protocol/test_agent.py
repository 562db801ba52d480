"""A process asked to stop always stops: a hung one dumps its threads and exits 1 after its grace time."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUNG = """
import threading
from protocol.agent import stop_on_signals
stop = stop_on_signals(grace_s=0.5)
print("ready", flush=True)
threading.Event().wait()  # a main loop stuck where it never looks at `stop`
"""
WELL = """
from protocol.agent import stop_on_signals
stop = stop_on_signals(grace_s=0.5)
print("ready", flush=True)
stop.wait()
"""


def run_and_stop(code: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_hung_process_dumps_its_threads_and_exits_1_after_its_grace() -> None:
    done = run_and_stop(HUNG)
    assert done.returncode == 1
    assert "still running 0.5 s after the stop signal" in done.stderr
    assert "most recent call first" in done.stderr and "<string>" in done.stderr  # the stuck line is shown


def test_a_process_that_stops_in_time_exits_0_without_a_dump() -> None:
    done = run_and_stop(WELL)
    assert done.returncode == 0 and "still running" not in done.stderr
