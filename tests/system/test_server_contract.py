"""The central server through a real Mosquitto, rule by rule of CONTRACT.md."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.local_broker import LocalBroker
from tests.harness import Device, ServerProcess, device, watching

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def client(server: ServerProcess, broker: LocalBroker, center_id: str) -> Any:
    with device(broker, center_id) as tester:
        yield tester


def number(reply: dict[str, Any]) -> str:
    assert reply["ok"] is True, reply
    return str(reply["ticket"]["number"])


def error_code(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    assert reply["error"]["message"], "the error must carry a message to show"
    return str(reply["error"]["code"])


def test_server_publishes_its_config_retained(client: Device, broker: LocalBroker, center_id: str) -> None:
    with watching(broker, center_id, "config", "server/status") as retained:
        config = retained.next("config")[1]
        status = retained.next("server/status")[1]
    assert status == {"v": 1, "online": True}
    assert config["center"]["id"] == center_id
    assert [a["id"] for a in config["areas"]] == ["dat-dai", "tu-phap", "nho", "dong"]
    assert config["areas"][1] == {"id": "tu-phap", "name": "Tư pháp – Hộ tịch", "prefix": "B", "first": 1,
                                  "last": 999, "open": True}
    assert config["counters"][1] == {"id": "2", "name": "Quầy 2", "areas": ["tu-phap", "dat-dai"]}
    assert config["rating_levels"] == ["very_satisfied", "satisfied", "dissatisfied"]


def test_ticket_reply_carries_every_contract_field(client: Device) -> None:
    first = client.ticket("dat-dai")
    second = client.ticket("dat-dai", priority="elderly")
    third = client.ticket("dat-dai")
    ticket = third["ticket"]
    assert set(ticket) >= {"id", "number", "area", "area_name", "issued_at", "waiting_ahead", "estimated_wait_s",
                           "priority"}
    assert (number(first), number(second), ticket["number"]) == ("1001", "1002", "1003")
    assert ticket["area_name"] == "Đất đai" and ticket["priority"] == "none"
    assert ticket["waiting_ahead"] == 2 and second["ticket"]["waiting_ahead"] == 0
    assert ticket["estimated_wait_s"] > 0
    issued = datetime.fromisoformat(ticket["issued_at"])
    assert issued.utcoffset() == timedelta(hours=7)
    assert number(client.ticket("tu-phap")) == "B001"


def test_a_retried_request_id_gets_the_same_answer_and_makes_no_second_ticket(client: Device) -> None:
    request_id = uuid.uuid4().hex
    first = client.ticket("dat-dai", request_id=request_id)
    again = client.ticket("dat-dai", request_id=request_id)
    assert again == first
    assert number(client.ticket("dat-dai")) == "1002"
    # another kiosk may use the same request_id: idempotency is per device
    assert number(client.ticket("dat-dai", kiosk="k2", request_id=request_id)) == "1003"


def test_ticket_refusals(client: Device) -> None:
    assert error_code(client.ticket("khong-co")) == "unknown_area"
    assert error_code(client.ticket("dong")) == "area_closed"
    assert error_code(client.ticket("dat-dai", priority="vip")) == "bad_request"
    assert number(client.ticket("nho")) == "N1"
    assert number(client.ticket("nho")) == "N2"
    assert error_code(client.ticket("nho")) == "area_full"
    assert number(client.ticket("dat-dai")) == "1001", "refusals changed the numbering"


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b'{"request_id": "r", "area": "dat-dai"}',
        b'{"v": 2, "request_id": "r", "area": "dat-dai"}',
        b'{"v": true, "request_id": "r", "area": "dat-dai"}',
        b'{"v": 1.0, "request_id": "r", "area": "dat-dai"}',
        b'{"v": 1, "request_id": "r"}',
        b'{"v": 1, "request_id": "r", "area": 7}',
        b'{"v": 1, "request_id": "r", "area": "dat-dai", "priority": true}',
        b'{"v": 1, "request_id": 5, "area": "dat-dai"}',
        json.dumps({"v": 1, "request_id": "x" * 129, "area": "dat-dai"}).encode(),
        json.dumps({"v": 1, "request_id": "r", "area": "dat-dai", "pad": "x" * 70_000}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"v": 1, "request_id": "\\ud800", "area": "dat-dai"}',
        b'{"v": 1, "request_id": "r", "area": "\\udfff"}',
    ],
)
def test_bad_ticket_requests_get_bad_request_and_change_nothing(client: Device, payload: bytes) -> None:
    reply = client.request(client.topics.ticket_request("k1"), payload, client.topics.ticket_response("k1"))
    assert error_code(reply) == "bad_request"
    assert reply["error"]["message"] == "Yêu cầu không hợp lệ." and reply["error"]["detail"]
    body_id = None
    try:
        body = json.loads(payload)
        body_id = body.get("request_id") if isinstance(body, dict) else None
    except (ValueError, RecursionError):
        pass
    usable = (isinstance(body_id, str) and 0 < len(body_id) <= 128 and len(payload) <= 65536
              and body_id.isprintable())
    assert reply["request_id"] == (body_id if usable else None)
    assert number(client.ticket("dat-dai")) == "1001"


def test_requests_without_an_allowed_response_topic_are_neither_acted_on_nor_answered(
    client: Device, broker: LocalBroker, center_id: str, server: ServerProcess
) -> None:
    topics = client.topics
    body = json.dumps({"v": 1, "request_id": "stray", "area": "dat-dai"}).encode()
    with watching(broker, center_id, "#") as everything:
        everything.drain()
        for response_topic in (
            None,
            topics.board_call(),
            topics.ticket_response("k10"),
            topics.counter_command_response("1"),
            topics.ticket_request("k1"),
            f"{topics.root}/kiosk/k1/+",
            f"{topics.root}/kiosk/k1/",
        ):
            client.link.publish(topics.ticket_request("k1"), body, response_topic=response_topic,
                                correlation=b"c")
        # Requests are handled in order: once this one is answered, the ones above were dropped.
        assert number(client.ticket("dat-dai")) == "1001"
        seen: list[str] = []
        while not seen or seen[-1] != "kiosk/k1/ticket/response":  # the watcher's copy of that answer
            seen.append(everything.next()[0])
        seen += [topic for topic, _ in everything.drain()]
    assert not any(topic.endswith("/response") and "k1/ticket/response" not in topic for topic in seen), seen
    assert seen.count("kiosk/k1/ticket/response") == 1, seen
    assert "Response Topic" in server.log_text()


def test_counter_commands_through_the_day(client: Device, broker: LocalBroker, center_id: str) -> None:
    regular = number(client.ticket("dat-dai"))
    priority = number(client.ticket("dat-dai", priority="pregnant"))
    civil = number(client.ticket("tu-phap"))
    with watching(broker, center_id, "board/call") as calls:
        called = client.command("2", "next")
        assert called["ticket"]["number"] == priority and called["status"] == "serving"
        assert calls.next()[1]["number"] == priority
        assert client.command("2", "recall")["ticket"]["calls"] == 2
        recall = calls.next()[1]
        assert recall["recall"] is True and recall["counter_name"] == "Quầy 2" and recall["area"] == "dat-dai"
    assert client.command("2", "next")["ticket"]["number"] == regular
    assert client.command("2", "skip")["ticket"]["state"] == "missed"
    assert client.command("2", "next")["ticket"]["number"] == civil
    assert client.command("2", "finish")["ticket"]["state"] == "served"
    nobody = client.command("2", "next")
    assert nobody["ok"] is True and nobody["ticket"] is None and nobody["status"] == "idle"
    back = client.command("1", "call", number=regular)
    assert back["ticket"]["number"] == regular and back["ticket"]["counter_id"] == "1"


def test_counter_command_refusals(client: Device) -> None:
    assert error_code(client.command("9", "next")) == "unknown_counter"
    assert error_code(client.command("1", "skip")) == "no_current_ticket"
    assert error_code(client.command("1", "recall")) == "no_current_ticket"
    assert error_code(client.command("1", "call", number="1234")) == "unknown_ticket"
    assert error_code(client.command("1", "launch")) == "bad_request"
    assert error_code(client.command("1", "call")) == "bad_request"
    assert error_code(client.command("1", "transfer")) == "bad_request"
    client.ticket("dat-dai")
    client.command("1", "next")
    assert error_code(client.command("1", "transfer", to_area="khong-co")) == "unknown_area"


def test_transfer_keeps_the_number_and_the_place(client: Device) -> None:
    first = number(client.ticket("dat-dai"))
    client.ticket("tu-phap")
    client.command("1", "next")
    moved = client.command("1", "transfer", to_area="tu-phap")
    assert moved["ticket"]["number"] == first and moved["ticket"]["area"] == "tu-phap"
    assert moved["status"] == "idle"
    assert client.command("2", "next")["ticket"]["number"] == first


def test_pause_keeps_the_ticket_and_refuses_calls_until_resume(
    client: Device, broker: LocalBroker, center_id: str
) -> None:
    client.ticket("dat-dai")
    client.ticket("dat-dai")
    current = client.command("1", "next")["ticket"]
    assert client.command("1", "pause")["status"] == "paused"
    with watching(broker, center_id, "counter/1/state") as state:
        paused = state.next()[1]
    assert paused["status"] == "paused" and paused["ticket"]["number"] == current["number"]
    assert error_code(client.command("1", "next")) == "counter_paused"
    assert error_code(client.command("1", "call", number="1002")) == "counter_paused"
    assert client.command("1", "resume")["status"] == "serving"
    assert client.command("1", "next")["ticket"]["number"] == "1002"


def test_max_calls_turns_an_unanswered_ticket_into_missed(client: Device) -> None:
    client.ticket("dat-dai")
    client.command("1", "next")
    client.command("1", "recall")
    client.command("1", "recall")
    missed = client.command("1", "recall")
    assert missed["ok"] is True and missed["ticket"]["state"] == "missed" and missed["status"] == "idle"


def test_state_is_published_before_the_response(client: Device, broker: LocalBroker, center_id: str) -> None:
    client.ticket("dat-dai")
    with watching(broker, center_id, "board/#", "counter/1/#") as everything:
        everything.drain()
        client.command("1", "next")
        order: list[str] = []
        while not order or order[-1] != "counter/1/command/response":
            order.append(everything.next()[0])
    assert order.index("counter/1/state") < order.index("counter/1/command/response")
    assert order.index("board/call") < order.index("counter/1/command/response")
    assert order.index("board/state") < order.index("counter/1/command/response")


def test_board_state_lists_recent_calls_newest_first_and_waiting_per_area(
    client: Device, broker: LocalBroker, center_id: str
) -> None:
    for _ in range(13):
        client.ticket("dat-dai")
    client.ticket("tu-phap")
    for _ in range(12):
        client.command("1", "next")
    with watching(broker, center_id, "board/state") as board:
        state = board.next()[1]
    assert [c["number"] for c in state["recent_calls"]] == [str(n) for n in range(1012, 1002, -1)]
    assert state["waiting"] == {"dat-dai": 1, "tu-phap": 1, "nho": 0, "dong": 0}
    call = state["recent_calls"][0]
    assert call["counter_id"] == "1" and call["counter_name"] == "Quầy 1" and call["recall"] is False
    assert datetime.fromisoformat(call["called_at"]).utcoffset() == timedelta(hours=7)


def served_ticket(client: Device, counter: str = "1") -> dict[str, Any]:
    client.ticket("dat-dai")
    client.command(counter, "next")
    finished: dict[str, Any] = client.command(counter, "finish")["ticket"]
    return finished


def rating(ticket_id: str, level: str = "satisfied", pressed_at: datetime | None = None, **extra: Any) -> bytes:
    body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": ticket_id, "level": level,
            "pressed_at": (pressed_at or datetime.now(HCM)).isoformat(timespec="seconds"), **extra}
    return json.dumps(body).encode()


def test_finish_opens_a_rating_window_in_the_counter_state(client: Device, broker: LocalBroker,
                                                           center_id: str) -> None:
    ticket = served_ticket(client)
    with watching(broker, center_id, "counter/1/state") as state:
        shown = state.next()[1]
    assert shown["status"] == "idle" and shown["ticket"] is None
    assert shown["rating"]["ticket_id"] == ticket["id"] and shown["rating"]["number"] == ticket["number"]
    until = datetime.fromisoformat(shown["rating"]["until"])
    assert timedelta(seconds=100) < until - datetime.now(HCM) <= timedelta(seconds=121)


def test_ratings_are_acknowledged_on_the_response_topic_and_counted_once(client: Device) -> None:
    ticket = served_ticket(client)
    topics = client.topics
    payload = rating(ticket["id"])
    ack = client.request(topics.counter_rating("1"), payload, f"{topics.root}/counter/1/rating/mine")
    assert ack["ok"] is True and ack["rating_id"] == json.loads(payload)["rating_id"]
    again = client.request(topics.counter_rating("1"), payload, f"{topics.root}/counter/1/rating/mine")
    assert again == ack
    second = client.request(topics.counter_rating("1"), rating(ticket["id"], "dissatisfied"),
                            f"{topics.root}/counter/1/rating/mine")
    assert error_code(second) == "already_rated"


def test_ratings_without_a_response_topic_are_acknowledged_on_rating_ack(
    client: Device, broker: LocalBroker, center_id: str
) -> None:
    ticket = served_ticket(client)
    other = served_ticket(client, counter="2")
    with watching(broker, center_id, "counter/+/rating/ack") as acks:
        client.link.publish(client.topics.counter_rating("1"), rating(ticket["id"]))
        topic, ack = acks.next()
        assert topic == "counter/1/rating/ack" and ack["ok"] is True
        client.link.publish(client.topics.counter_rating("1"), rating(other["id"]))
        assert error_code(acks.next()[1]) == "wrong_counter"
        client.link.publish(client.topics.counter_rating("1"), rating("khong-co-phieu"))
        assert error_code(acks.next()[1]) == "unknown_ticket"
        client.link.publish(client.topics.counter_rating("1"), rating(ticket["id"], "great"))
        assert error_code(acks.next()[1]) == "bad_request"
        client.link.publish(client.topics.counter_rating("1"), b"not json")
        nack = acks.next()[1]
        assert error_code(nack) == "bad_request" and nack["rating_id"] is None


def test_rating_a_ticket_still_being_served_is_refused(client: Device) -> None:
    client.ticket("dat-dai")
    ticket = client.command("1", "next")["ticket"]
    ack = client.request(client.topics.counter_rating("1"), rating(ticket["id"]), client.topics.rating_ack("1"))
    assert error_code(ack) == "not_served"


def test_server_restart_keeps_numbering_counters_and_idempotency(
    client: Device, server: ServerProcess, broker: LocalBroker, center_id: str
) -> None:
    request_id = uuid.uuid4().hex
    first = client.ticket("dat-dai", request_id=request_id)
    client.ticket("dat-dai", priority="elderly")
    client.ticket("tu-phap")
    client.command("2", "next")
    client.command("1", "pause")
    assert server.stop() == 0
    server.start()
    assert client.ticket("dat-dai", request_id=request_id) == first
    assert number(client.ticket("dat-dai")) == "1003"
    with watching(broker, center_id, "counter/+/state", "board/state") as retained:
        states = dict(retained.next() for _ in range(4))
    assert states["counter/2/state"]["ticket"]["number"] == "1002"
    assert states["counter/1/state"]["status"] == "paused"
    assert states["board/state"]["recent_calls"][0]["number"] == "1002"
    assert states["board/state"]["waiting"]["dat-dai"] == 2


def test_sigkill_fires_the_will_and_a_new_server_resumes(
    client: Device, server: ServerProcess, broker: LocalBroker, center_id: str
) -> None:
    client.ticket("dat-dai")
    server.kill()  # returns once server/status says online:false
    with watching(broker, center_id, "server/status") as status:
        assert status.next()[1] == {"v": 1, "online": False}
    server.start()
    assert number(client.ticket("dat-dai")) == "1002"


def test_sigterm_sets_offline_and_exits_zero(server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    assert server.stop() == 0
    with watching(broker, center_id, "server/status") as status:
        assert status.next()[1] == {"v": 1, "online": False}


def test_server_republishes_retained_state_after_the_broker_restarts(
    client: Device, server: ServerProcess, broker: LocalBroker, center_id: str
) -> None:
    client.ticket("dat-dai")
    client.command("1", "next")
    client.close()
    broker.stop()  # no persistence: every retained message is gone
    broker.start()
    with watching(broker, center_id, "server/status", "config", "board/state", "counter/1/state") as retained:
        seen: dict[str, Any] = {}
        while len(seen) < 4 or seen["server/status"].get("online") is not True:
            topic, body = retained.next(timeout_s=40)
            seen[topic] = body
    assert seen["counter/1/state"]["ticket"]["number"] == "1001"
    assert seen["board/state"]["recent_calls"][0]["number"] == "1001"
    with device(broker, center_id) as again:
        assert number(again.ticket("dat-dai")) == "1002"


def test_check_prints_a_summary_and_a_bad_config_exits_2_with_one_line(tmp_path: Path, center_toml: Path) -> None:
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "central_server", "--config", str(center_toml), "--check"],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "Tư pháp – Hộ tịch" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(center_toml.read_text(encoding="utf-8").replace("first = 1001", 'first = "1001"'),
                   encoding="utf-8")
    refused = subprocess.run([sys.executable, "-m", "central_server", "--config", str(bad)],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "central_server: bad.toml: [[areas]] #1.first: expected an integer, got '1001'"
    ]
