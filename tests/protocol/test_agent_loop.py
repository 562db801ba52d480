"""The main-loop helpers every agent shares."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import time
from pathlib import Path

from protocol.agent_loop import drain

ROOT = Path(__file__).resolve().parents[2]
# A main loop waiting in drain() while SIGTERM's handler takes longer than what is left of the wait
# (writing the log line on a busy machine did, once in CI, with a SimpleQueue).
SLOW_HANDLER = """
import queue, signal, threading, time
from protocol.agent_loop import drain
stop = threading.Event()
def handle(signum, frame):
    time.sleep(0.2)
    stop.set()
signal.signal(signal.SIGTERM, handle)
events = queue.{kind}()
print("ready", flush=True)
while not stop.is_set():
    {wait}
"""


def test_drain_takes_everything_waiting_and_waits_only_when_nothing_is() -> None:
    events: queue.Queue[int] = queue.Queue()
    for n in range(5):
        events.put(n)
    assert drain(events, 10.0) == [0, 1, 2, 3, 4]
    assert drain(events, 0.05) == []
    assert drain(events, 0) == []
    events.put(7)
    assert drain(events, 0) == [7], "no wait at all when asked for none"


def stops(kind: str, wait: str) -> bool:
    """Whether a main loop waiting like `wait` stops within 5 s of SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_HANDLER.format(kind=kind, wait=wait)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def test_a_main_loop_in_drain_stops_even_when_the_signal_handler_is_slow() -> None:
    assert stops("Queue", "drain(events, 0.05)")
