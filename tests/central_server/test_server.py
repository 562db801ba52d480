"""The server's inbox: bounded in bytes, so that the link stops reading and a flood waits in the broker, not in the
server's memory (`BrokerLink.read_while`; a real link that stops reading: test_broker_link.py)."""

from __future__ import annotations

from central_server.server import CONNECTED, LOST, Inbox
from protocol.link import Message


def message(size: int) -> Message:
    return Message("qms/v1/c/kiosk/k1/ticket/request", b"x" * size)


def test_past_the_bound_it_has_no_room_until_a_batch_is_taken() -> None:
    inbox = Inbox(limit_bytes=100)
    inbox.put(message(60))
    assert inbox.has_room()
    inbox.put(message(60))  # what a read brought in goes in whole
    assert not inbox.has_room()
    assert [len(m.payload) for m in inbox.take(1) if isinstance(m, Message)] == [60]
    assert inbox.has_room()
    assert len(inbox.take(10)) == 1 and inbox.take(10) == []


def test_one_message_larger_than_the_bound_passes_alone_and_markers_cost_nothing() -> None:
    inbox = Inbox(limit_bytes=100)
    inbox.put(message(1_000_000))  # refused later by the service
    inbox.put(CONNECTED)
    assert not inbox.has_room()
    batch = inbox.take(10)
    assert len(batch) == 2 and batch[1] is CONNECTED
    for _ in range(1000):
        inbox.put(LOST)
    assert inbox.has_room()


def test_take_gives_the_oldest_first_and_at_most_what_is_asked() -> None:
    inbox = Inbox()
    for size in range(1, 6):
        inbox.put(message(size))
    assert [len(m.payload) for m in inbox.take(3) if isinstance(m, Message)] == [1, 2, 3]
    assert [len(m.payload) for m in inbox.take(3) if isinstance(m, Message)] == [4, 5]
