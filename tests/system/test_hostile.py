"""100,000 hostile messages on every inbound topic, hypothesis-generated, against the real server process:
it stays up, its memory stays bounded, and the state is exactly what the valid messages alone make."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from benchmarks.server_bench import UNLIMITED
from central_server.config import load
from central_server.service import CenterService
from central_server.storage.sqlite import SqliteStorage
from devkit.local_broker import LocalBroker
from protocol.errors import BadMessage
from protocol.link import Message
from protocol.messages import CounterCommand, TicketRequest
from protocol.topics import Topics
from tests.harness import ServerProcess, device, rss_mb, sqlite_file, write_center_config

TOTAL, CHUNK, DISTINCT = 100_000, 5_000, 2_000
AREAS = ("dat-dai", "tu-phap", "nho")
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
Hostile = tuple[str, bytes, str | None]  # topic (after the center root), payload, Response Topic

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
ids = st.one_of(st.text(max_size=20), st.just("x" * 129), st.integers(), st.none(), st.just(""))
broken_requests = st.fixed_dictionaries(
    {}, optional={"v": st.sampled_from([1, 2, "1", None]), "request_id": ids,
                  "area": st.sampled_from([*AREAS, "no-such-area", "", 5]), "priority": st.text(max_size=10),
                  "action": st.sampled_from(["next", "finish", "call", "transfer", "explode", ""]),
                  "number": st.text(max_size=6), "to_area": st.text(max_size=10), "rating_id": ids,
                  "ticket_id": ids, "level": st.text(max_size=15), "pressed_at": st.text(max_size=30),
                  "online": json_values},
)


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


payloads = st.one_of(
    st.binary(max_size=200),  # invalid UTF-8 and plain noise
    json_values.map(lambda value: json.dumps(value).encode()),
    broken_requests.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=10, max_value=5_000).map(deep),  # deep nesting
)
# A few, so that a quarter of a percent of the flood is this big: over the server's 64 KiB, under the broker's
# max_packet_size (200 KiB; a larger packet gets its sender cut off by the broker, never reaching the server).
HUGE: list[tuple[str, bytes, str | None]] = [
    ("kiosk/k1/ticket/request", b"x" * (150 * 1024), "OWN"),
    ("counter/1/command", json.dumps({"v": 1, "request_id": "r" * 70_000}).encode(), "OWN"),
    ("counter/1/rating", b"[" * 60_000 + b"]" * 60_000, None),
    ("kiosk/k2/ticket/request", json.dumps({"v": 1, "request_id": "big", "area": "é" * 40_000},
                                          ensure_ascii=False).encode(), "OWN"),
    ("device/k1/status", b"{" * 1024 * 150, None),
]
devices = st.sampled_from(["k1", "k2", "1", "2", "9", "counter-1", "a" * 100, "k 1", "bad/id", "ki\u1ebft", ""])
topics = st.builds(lambda kind, device: kind.format(device), st.sampled_from(
    ["kiosk/{}/ticket/request", "counter/{}/command", "counter/{}/rating", "device/{}/status", "kiosk/{}/other",
     "board/state", "config"]), devices)
# Response Topics a broker lets through (MQTT forbids wildcards and NUL in them: Mosquitto would
# disconnect the sender): none, the sender's own subtree, another center, a server topic, noise.
response_topics = st.one_of(
    st.none(), st.just("OWN"), st.just("qms/v1/elsewhere/x"), st.just("ROOT/counter/1/command"),
    st.text(max_size=30).filter(lambda t: not set(t) & {"+", "#", "\x00"} and t.isprintable()))
hostile_messages = st.tuples(topics, payloads, response_topics)


def corpus() -> list[Hostile]:
    """DISTINCT hostile messages drawn by hypothesis (generation only: nothing here can fail)."""
    drawn: list[Hostile] = []

    @settings(max_examples=DISTINCT, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hostile_messages)
    def collect(message: Hostile) -> None:
        drawn.append(message)

    collect()
    return drawn + HUGE


def acts(topic: str, payload: bytes) -> bool:
    """Whether this message is a valid request the server would act on (then it is no hostile one)."""
    parts = topic.split("/")
    try:
        if parts[0] == "kiosk" and parts[-1] == "request":
            return TicketRequest.from_wire(payload).area in AREAS
        if parts[0] == "counter" and parts[-1] == "command":
            return parts[1] in ("1", "2", "3") and CounterCommand.from_wire(payload).action != "cancel"
    except (BadMessage, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return False


class HostileClient:
    def __init__(self, broker: LocalBroker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, root: str, message: Hostile) -> mqtt.MQTTMessageInfo:
        topic, payload, response = message
        properties = None
        if response is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            own = f"{root}/{'/'.join(topic.split('/')[:2])}/r"
            properties.ResponseTopic = response.replace("OWN", own).replace("ROOT", root)
            properties.CorrelationData = b"h"
        return self.client.publish(f"{root}/{topic}", payload, qos=1, properties=properties)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


Script = list[tuple[str, str, dict[str, Any]]]  # (kind, device, body): the valid messages, in order


def valid_step(n: int) -> Script:
    """The well-behaved devices' part after chunk n: tickets, calls, a finish, a rating."""
    area = AREAS[n % 2]
    step: Script = [("ticket", "k1", {"v": 1, "request_id": f"ok-{n}-a", "area": area}),
                    ("ticket", "k2", {"v": 1, "request_id": f"ok-{n}-b", "area": "dat-dai", "priority": "elderly"})]
    step.append(("command", "1", {"v": 1, "request_id": f"ok-{n}-c", "action": "next"}))
    if n % 3 == 2:
        step.append(("command", "1", {"v": 1, "request_id": f"ok-{n}-d", "action": "finish"}))
    return step


def state_of(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        tickets = db.execute("SELECT shown, area, priority, state, counter_id, kiosk_id FROM tickets ORDER BY seq")
        counters = db.execute("SELECT id, paused, current_ticket IS NOT NULL FROM counters ORDER BY id")
        return [*tickets.fetchall(), *counters.fetchall()]


def unlimited(config: Path) -> Path:
    """The hostile messages go out under the honest devices' own ids (k1, counter 1): per-device limits would
    refuse those devices' valid requests too, as they should (tests/system/test_device_limits.py). Here
    what is tested is that no hostile message changes anything, so the limits are lifted."""
    with config.open("a", encoding="utf-8") as text:
        text.write(UNLIMITED)
    return config


def reference_state(folder: Path, broker: LocalBroker, script: Script) -> list[tuple[Any, ...]]:
    """The same valid messages, alone, through the same service on a fresh database."""
    folder.mkdir()
    config = load(unlimited(write_center_config(folder, broker, "ref")))
    storage = SqliteStorage(sqlite_file(config))
    clock = datetime.now(HCM)
    service = CenterService(config, storage, lambda: clock)
    topics = Topics("ref")
    for kind, sender, body in script:
        clock += timedelta(seconds=1)
        topic = topics.ticket_request(sender) if kind == "ticket" else topics.counter_command(sender)
        response = topics.ticket_response(sender) if kind == "ticket" else topics.counter_command_response(sender)
        service.handle_batch([Message(topic, json.dumps(body).encode(), response, b"c")])
    storage.close()
    return state_of(sqlite_file(config))


@pytest.mark.timeout(600)
def test_100k_hostile_messages_change_nothing_stop_nothing_and_memory_stays_bounded(
        tmp_path: Path, broker: LocalBroker, center_id: str, center_toml: Path) -> None:
    drawn = [m for m in corpus() if not acts(m[0], m[1])]
    assert len(drawn) > DISTINCT // 2
    server = ServerProcess(unlimited(center_toml), broker, center_id)
    server.start()
    assert server.proc is not None
    root = Topics(center_id).root
    hostile, rng = HostileClient(broker), random.Random(6)
    script: Script = []
    baseline = peak = 0.0
    try:
        with device(broker, center_id, "k1") as k1, device(broker, center_id, "k2") as k2, \
                device(broker, center_id, "counter-1") as c1:
            links: dict[str, Callable[..., dict[str, Any]]] = {"k1": k1.request, "k2": k2.request,
                                                              "1": c1.request}
            for n in range(TOTAL // CHUNK):
                chunk = [rng.choice(drawn) for _ in range(CHUNK)]
                if n:  # a valid request's id, answered already, replayed with another body
                    replay = {"v": 1, "request_id": f"ok-{n - 1}-a", "area": "tu-phap"}
                    chunk.append(("kiosk/k1/ticket/request", json.dumps(replay).encode(), "OWN"))
                sent = [hostile.send(root, message) for message in chunk]
                sent[-1].wait_for_publish(60)  # the broker has them all: they reach the server before what follows
                for kind, sender, body in valid_step(n):  # also the barrier: it queues behind the chunk
                    topics = Topics(center_id)
                    if kind == "ticket":
                        reply = links[sender](topics.ticket_request(sender), body, topics.ticket_response(sender))
                    else:
                        reply = links[sender](topics.counter_command(sender), body,
                                              topics.counter_command_response(sender))
                    assert reply["request_id"] == body["request_id"]
                    script.append((kind, sender, body))
                memory = rss_mb(server.proc.pid)
                baseline = baseline or memory
                peak = max(peak, memory)
    except BaseException:
        server.stop()  # no server left running after a failure
        raise
    finally:
        hostile.close()
    assert server.proc.poll() is None, "the server died"
    assert server.stop() == 0
    assert peak - baseline < 60, f"the server grew from {baseline:.0f} to {peak:.0f} MB"
    assert state_of(tmp_path / "center.db") == reference_state(tmp_path / "ref", broker, script)
    dropped = server.log_text().count("dropped")
    assert dropped > 20_000, f"the flood did not reach the server: {dropped} messages dropped"
    print(f"server RSS {baseline:.0f} MB after the first chunk, at most {peak:.0f} MB; {dropped} dropped")
