"""One device with valid credentials cannot take the center: the real server process against floods of
valid requests from one kiosk and one counter, and a device flapping its status, while an honest kiosk
is served. The honest kiosk asks as the real one does, again with the same request_id until answered: the
broker drops what it holds for the server past its bound, whoever sent it."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import threading
import time
import uuid

from devkit.local_broker import LocalBroker
from kiosk.agent import REQUEST_TRY_S
from tests.harness import ServerProcess, device, until

FLOOD = 600
COMMANDS_PER_S = 240 / 60  # [limits] commands_per_minute's default


def counts(server: ServerProcess) -> dict[str, int]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("tickets", "replies", "events")}


def test_one_kiosk_flooding_priority_tickets_takes_a_few_and_an_honest_kiosk_is_served(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "thief") as thief, device(broker, center_id, "honest") as honest:
        topics = thief.topics
        thief.link.expect_replies(topics.ticket_response("thief"))
        started = time.monotonic()
        for n in range(FLOOD):  # as fast as it can publish: every one a valid elderly ticket request
            body = {"v": 1, "request_id": f"flood-{n}", "area": "tu-phap", "priority": "elderly"}
            thief.link.publish(topics.ticket_request("thief"), json.dumps(body).encode(),
                               response_topic=topics.ticket_response("thief"), correlation=b"x")
        flooded_s = time.monotonic() - started
        answer = honest.ticket_as_a_kiosk("tu-phap", kiosk="honest")
        assert answer["ok"] is True, answer
        issued = int(answer["ticket"]["number"].removeprefix("B"))
    stored = counts(server)
    assert flooded_s < 5, "the flood was a flood"
    assert issued <= 10 + 1 + 5, "the thief got ten priority tickets (and a few more as the minutes pass)"
    assert stored["replies"] <= 30 + 1 + 5, "answers refused for the rate are not kept"


def test_a_counter_flapping_pause_and_a_device_flapping_its_status_fill_nothing(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "counter-1") as counter, device(broker, center_id, "k1") as kiosk:
        topics = counter.topics
        counter.link.expect_replies(topics.counter_command_response("1"))
        before, started = counts(server), time.monotonic()
        for n in range(FLOOD):
            body = {"v": 1, "request_id": uuid.uuid4().hex, "action": "pause" if n % 2 == 0 else "resume"}
            counter.link.publish(topics.counter_command("1"), json.dumps(body).encode(),
                                 response_topic=topics.counter_command_response("1"), correlation=b"x")
            counter.link.publish(topics.device_status("k1"), json.dumps({"v": 1, "online": n % 2 == 0}).encode(),
                                 retain=True)
        assert kiosk.ticket_as_a_kiosk("dat-dai")["ok"] is True, "the kiosk is answered after the flood"
        after = counts(server)
        refilled = math.ceil(COMMANDS_PER_S * (time.monotonic() - started))  # what the flood's own time adds
    assert after["replies"] - before["replies"] <= 60 + refilled + 1, "a burst of commands, then four a second"
    assert after["events"] - before["events"] <= 60 + refilled + 6 + 3, "their events, and a few status changes"


def test_a_request_the_broker_drops_under_a_flood_is_answered_on_the_kiosks_retry(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    """The server stalls (stopped) while a counter floods: the broker holds 250 messages for it and drops the
    rest, the honest kiosk's first try among them (its log says so). The kiosk's retry is answered."""
    assert server.proc is not None
    with device(broker, center_id, "counter-1") as counter, device(broker, center_id, "k1") as kiosk:
        topics = counter.topics
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            for _ in range(FLOOD):
                body = {"v": 1, "request_id": uuid.uuid4().hex, "action": "pause"}
                counter.link.publish(topics.counter_command("1"), json.dumps(body).encode(),
                                     response_topic=topics.counter_command_response("1"), correlation=b"x")
            until(lambda: "Outgoing messages are being dropped" in broker.log.read_text(errors="replace"))
            resume = threading.Timer(REQUEST_TRY_S / 2, os.kill, (server.proc.pid, signal.SIGCONT))
            resume.start()
            started = time.monotonic()
            answer = kiosk.ticket_as_a_kiosk("dat-dai")
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
    assert answer["ok"] is True, answer
    assert time.monotonic() - started > REQUEST_TRY_S, "the first try was dropped: a retry was answered"
