"""A late rating against the real server process and a real Mosquitto: the server knows which terminals it
heard online all along, from its start and across its own link's cuts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devkit.clock import SimulatedClock
from devkit.local_broker import LocalBroker
from protocol.messages import iso
from tests.harness import TIMEOUT, Device, ServerProcess, device, watching, write_center_config

SPEED = 10.0  # the window (10 s) and the time a rating may spend on its way (10 s) pass in two seconds
WINDOW_S = 10
OTHER_DEVICES = 100  # a center's retained statuses, heard by the server as it subscribes


@contextmanager
def center(tmp_path: Path, broker: LocalBroker, center_id: str) -> Iterator[tuple[ServerProcess, SimulatedClock]]:
    """A server started after the center's devices said they are online."""
    with device(broker, center_id, "others") as others:
        for n in range(OTHER_DEVICES):
            others.link.publish(others.topics.device_status(f"k{n}"), b'{"v":1,"online":true}', qos=1,
                                retain=True).wait_for_publish(TIMEOUT)
    clock = SimulatedClock(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")), SPEED, time.time())
    server = ServerProcess(write_center_config(tmp_path, broker, center_id, window_s=WINDOW_S), broker, center_id,
                           clock=clock.to_arg())
    server.start()
    try:
        yield server, clock
    finally:
        server.stop()


def serve_and_press(terminal: Device, clock: SimulatedClock) -> tuple[str, datetime]:
    """A citizen served at counter 1 presses a button a second later, well inside the window (`pressed_at` goes
    in whole seconds); the rating stays in the terminal's outbox."""
    terminal.ticket("dat-dai")
    terminal.command("1", "next")
    served = terminal.command("1", "finish")["ticket"]
    return served["id"], clock.now().replace(microsecond=0) + timedelta(seconds=2)


def send_rating(terminal: Device, ticket_id: str, pressed_at: datetime) -> dict[str, Any]:
    body = {"v": 1, "rating_id": "r1", "ticket_id": ticket_id, "level": "satisfied", "pressed_at": iso(pressed_at)}
    reply = terminal.link.request(terminal.topics.counter_rating("1"), json.dumps(body).encode(),
                                  response_topic=terminal.topics.rating_ack("1"), timeout_s=TIMEOUT)
    answer: dict[str, Any] = json.loads(reply.payload)
    return answer


def after_the_time_in_transit(clock: SimulatedClock, pressed_at: datetime) -> None:
    while clock.now() < pressed_at + timedelta(seconds=WINDOW_S + 10 + 3):  # the window, the time in transit,
        time.sleep(0.05)  # a margin; the simulated clock runs on the real one


def test_a_terminal_heard_online_since_before_the_server_started_could_have_sent_in_time(
        tmp_path: Path, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "counter-1") as terminal, center(tmp_path, broker, center_id) as (_, clock):
        ticket_id, pressed_at = serve_and_press(terminal, clock)
        after_the_time_in_transit(clock, pressed_at)
        answer = send_rating(terminal, ticket_id, pressed_at)
    assert answer["ok"] is False and answer["error"]["code"] == "rating_closed"


def test_after_the_broker_restarted_the_server_cannot_know_the_terminal_stayed_online(
        tmp_path: Path, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "counter-1") as terminal, center(tmp_path, broker, center_id) as (_, clock):
        ticket_id, pressed_at = serve_and_press(terminal, clock)
        broker.stop(kill=True)  # no device's will is published: the broker itself went away
        broker.start()
        with watching(broker, center_id, "server/status") as status:
            while status.next("server/status")[1].get("online") is not True:
                pass  # the server is back, subscribed
        assert terminal.link.wait_ready(TIMEOUT), "the terminal is back"
        after_the_time_in_transit(clock, pressed_at)
        answer = send_rating(terminal, ticket_id, pressed_at)
    assert answer["ok"] is True and answer["late"] is True
