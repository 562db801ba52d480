"""The main-loop helpers every agent shares."""

from __future__ import annotations

import queue

from protocol.agent import drain


def test_drain_takes_everything_waiting_and_waits_only_when_nothing_is() -> None:
    events: queue.SimpleQueue[int] = queue.SimpleQueue()
    for n in range(5):
        events.put(n)
    assert drain(events, 10.0) == [0, 1, 2, 3, 4]
    assert drain(events, 0.05) == []
    assert drain(events, 0) == []
    events.put(7)
    assert drain(events, 0) == [7], "no wait at all when asked for none"
