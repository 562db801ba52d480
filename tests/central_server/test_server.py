"""The server's inbox: bounded in bytes, so a flood waits in the broker, not in the server's memory."""

from __future__ import annotations

import threading

from central_server.server import CONNECTED, Inbox
from protocol.link import Message


def message(size: int) -> Message:
    return Message("qms/v1/c/kiosk/k1/ticket/request", b"x" * size)


def test_past_the_bound_a_put_waits_until_the_state_thread_takes() -> None:
    inbox = Inbox(limit_bytes=100)
    inbox.put(message(60))
    done = threading.Event()

    def paho() -> None:
        inbox.put(message(60))
        done.set()

    threading.Thread(target=paho, daemon=True).start()
    assert not done.wait(0.2)  # 120 bytes would be over the bound: paho's thread waits
    assert len(inbox.take(10, 0)) == 1
    assert done.wait(5)  # room again: it goes in
    assert [len(m.payload) for m in inbox.take(10, 0) if isinstance(m, Message)] == [60]


def test_one_message_larger_than_the_bound_still_passes_alone_and_markers_cost_nothing() -> None:
    inbox = Inbox(limit_bytes=100)
    inbox.put(message(1_000_000))  # refused later by the service, but it must not block for ever
    inbox.put(CONNECTED)
    batch = inbox.take(10, 0)
    assert len(batch) == 2 and batch[1] is CONNECTED


def test_take_waits_for_the_first_item_at_most_its_timeout() -> None:
    inbox = Inbox()
    assert inbox.take(10, 0.05) == []
    threading.Timer(0.05, inbox.put, args=(message(1),)).start()
    assert len(inbox.take(10, 5)) == 1
