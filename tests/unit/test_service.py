"""The service on a real SQLite file with a controlled clock: replay, windows, days, restarts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central_server.config import CenterConfig, load
from central_server.service import CenterService, Outbound
from central_server.storage.sqlite import SqliteStorage
from protocol.link import Message
from protocol.local_broker import LocalBroker
from protocol.topics import Topics
from tests.harness import write_center_config

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 7, 30, tzinfo=HCM)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Rig:
    """A service over a real SQLite file; messages go in as they would come from MQTT."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.config: CenterConfig = load(write_center_config(folder, LocalBroker(folder), "svc"))
        self.topics = Topics("svc")
        self.clock = clock
        self.storage = SqliteStorage(self.config.database)
        self.service = CenterService(self.config, self.storage, clock)

    def restart(self) -> None:
        self.storage.close()
        self.storage = SqliteStorage(self.config.database)
        self.service = CenterService(self.config, self.storage, self.clock)

    def send(self, topic: str, body: dict[str, Any] | bytes, response_topic: str | None) -> list[Outbound]:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.service.handle_batch([Message(topic, payload, response_topic, b"corr")])

    def ticket(self, area: str, request_id: str | None = None, kiosk: str = "k1") -> dict[str, Any]:
        out = self.send(self.topics.ticket_request(kiosk),
                        {"v": 1, "request_id": request_id or uuid.uuid4().hex, "area": area},
                        self.topics.ticket_response(kiosk))
        return reply_of(out, self.topics.ticket_response(kiosk))

    def command(self, counter: str, action: str, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        out = self.send(self.topics.counter_command(counter),
                        {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, **extra},
                        self.topics.counter_command_response(counter))
        return reply_of(out, self.topics.counter_command_response(counter))

    def rate(self, counter: str, ticket_id: str, pressed_at: datetime, rating_id: str = "r1") -> dict[str, Any]:
        body = {"v": 1, "rating_id": rating_id, "ticket_id": ticket_id, "level": "satisfied",
                "pressed_at": pressed_at.isoformat()}
        return reply_of(self.send(self.topics.counter_rating(counter), body, None), self.topics.rating_ack(counter))

    def count(self, table: str) -> int:
        return int(self.storage._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def reply_of(out: list[Outbound], topic: str) -> dict[str, Any]:
    replies = [o for o in out if o.topic == topic]
    assert len(replies) == 1, out
    decoded: dict[str, Any] = json.loads(replies[0].payload)
    return decoded


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path, Clock())


def test_replies_go_out_after_the_state_they_caused(rig: Rig) -> None:
    rig.ticket("dat-dai")
    out = rig.send(rig.topics.counter_command("1"), {"v": 1, "request_id": "n1", "action": "next"},
                   rig.topics.counter_command_response("1"))
    topics = [o.topic.removeprefix(rig.topics.root + "/") for o in out]
    assert topics == ["counter/1/state", "board/call", "board/state", "counter/1/command/response"]
    assert [o.retain for o in out] == [True, False, True, False]
    assert out[-1].correlation == b"corr"


def test_rating_window_closes_and_the_counter_state_says_so(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    rig.clock.advance(seconds=119)
    assert rig.service.tick() == []
    rig.clock.advance(seconds=2)
    out = rig.service.tick()
    assert [o.topic for o in out] == [rig.topics.counter_state("1")]
    assert "rating" not in json.loads(out[0].payload)
    late = rig.rate("1", served["id"], rig.clock.now)
    assert late["ok"] is False and late["error"]["code"] == "rating_closed"


def test_a_rating_from_an_outbox_counts_when_pressed_inside_the_window(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    pressed = rig.clock.now + timedelta(seconds=30)
    rig.clock.advance(hours=1)
    rig.service.tick()
    assert rig.rate("1", served["id"], pressed)["ok"] is True
    assert rig.count("ratings") == 1


def test_numbering_and_idempotency_restart_with_the_service_day(rig: Rig) -> None:
    first = rig.ticket("dat-dai", request_id="same")
    assert first["ticket"]["number"] == "1001"
    rig.ticket("dat-dai")
    rig.clock.advance(days=1)
    next_day = rig.ticket("dat-dai", request_id="same")
    assert next_day["ticket"]["number"] == "1001" and next_day["ticket"]["id"] != first["ticket"]["id"]
    rig.restart()
    assert rig.ticket("dat-dai", request_id="same") == next_day
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1002"


def test_a_restart_resumes_queues_counters_and_the_board(rig: Rig) -> None:
    for area in ("dat-dai", "dat-dai", "tu-phap"):
        rig.ticket(area)
    rig.ticket("dat-dai")
    called = rig.command("2", "next")["ticket"]
    rig.command("2", "transfer", to_area="tu-phap")
    before = {o.topic: o.payload for o in rig.service.retained_state()}
    rig.restart()
    after = {o.topic: o.payload for o in rig.service.retained_state()}
    assert after == before
    assert rig.command("2", "next")["ticket"]["number"] == called["number"]  # kept its place by issue time


def test_the_schema_is_versioned_and_a_newer_one_is_refused(rig: Rig) -> None:
    assert rig.storage.schema_version() == 1
    rig.storage._db.execute("PRAGMA user_version = 99")
    rig.storage.close()
    with pytest.raises(Exception, match="newer than this release"):
        SqliteStorage(rig.config.database)


REQUEST_IDS = st.sampled_from([f"r{i}" for i in range(6)])
DEVICES = st.sampled_from(["k1", "k2"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("ticket"), DEVICES, REQUEST_IDS, st.sampled_from(["dat-dai", "tu-phap", "nho", "x"])),
        st.tuples(st.just("command"), st.sampled_from(["1", "2", "3"]), REQUEST_IDS,
                  st.sampled_from(["next", "finish", "skip", "recall", "pause", "resume"])),
        st.tuples(st.just("clock"), st.just(""), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_a_replayed_request_id_gets_the_first_answer_and_changes_nothing(tmp_path_factory: Any,
                                                                        steps: list[tuple[str, ...]]) -> None:
    rig = Rig(tmp_path_factory.mktemp("replay"), Clock())
    answers: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind, device, request_id, arg in steps:
        if kind == "clock":
            rig.clock.advance(minutes=5)
            continue
        key = (kind, device, request_id)
        before = (rig.count("tickets"), rig.count("events"), rig.service.retained_state())
        reply = rig.ticket(arg, request_id, device) if kind == "ticket" else rig.command(device, arg, request_id)
        if key in answers:
            assert reply == answers[key]
            assert (rig.count("tickets"), rig.count("events"), rig.service.retained_state()) == before
        else:
            answers[key] = reply
    rig.restart()
    for (kind, device, request_id), first in answers.items():
        again = (rig.ticket("dat-dai", request_id, device) if kind == "ticket"
                 else rig.command(device, "next", request_id))
        if first["ok"]:
            assert again == first, "a stored answer changed across a restart"
