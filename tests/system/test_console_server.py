"""The staff console's requests through the real server process and a real Mosquitto (issue 15)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from central_server.config import load
from central_server.storage.sqlite import SqliteReader
from devkit.local_broker import LocalBroker
from tests.harness import Device, ServerProcess, device, sqlite_file, watching

LAN = {"official": "lan.nt", "official_name": "Nguyễn Thị Lan"}


KINDS = ("called", "served", "missed", "transferred", "seated", "left", "paused", "resumed")


def acts(center_toml: Path) -> dict[str, int]:
    """How many events of each kind a counter's or an official's act records (devices' statuses aside)."""
    reader = SqliteReader(sqlite_file(load(center_toml)))
    try:
        return {kind: len(reader.events(kind)) for kind in KINDS}
    finally:
        reader.close()


def console(client: Device, counter: str, action: str, **extra: Any) -> dict[str, Any]:
    body = {"v": 1, "request_id": uuid.uuid4().hex, "counter": counter, "action": action, **LAN, **extra}
    return client.request(client.topics.console_request("console-1"), body,
                          client.topics.console_response("console-1"))


def test_a_console_seats_an_official_whose_page_and_keypad_are_both_theirs(
        server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path) -> None:
    with device(broker, center_id) as client, watching(broker, center_id, "floor", "counter/1/state") as seen:
        for _ in range(3):
            assert client.ticket("dat-dai")["ok"]
        seated = console(client, "1", "sit")
        assert seated["ok"] is True and seated["status"] == "idle"
        while True:  # the retained state shows who sits there
            _, state = seen.next("counter/1/state")
            if state.get("official") == {"username": "lan.nt", "name": "Nguyễn Thị Lan"}:
                break
        seen.drain()
        changed_at = time.monotonic()
        by_page = console(client, "1", "next")
        while True:  # the floor follows the change
            _, floor = seen.next("floor")
            counter = next(c for c in floor["counters"] if c["id"] == "1")
            if counter["status"] == "serving":
                break
        print(f"floor {time.monotonic() - changed_at:.3f} s after the console's request was sent")
        assert counter["official"] == {"username": "lan.nt", "name": "Nguyễn Thị Lan"}
        assert floor["today"]["issued"] == 3 and floor["today"]["waiting"] == 2
        by_keypad = client.command("1", "next")
        assert by_page["ok"] and by_keypad["ok"]
        assert by_keypad["ticket"]["number"] != by_page["ticket"]["number"]

        before = acts(center_toml)
        for body, code in [({"counter": "9"}, "unknown_counter"), ({"official": "Lan"}, "bad_request"),
                           ({"action": "cancel", "cancels": "x"}, "bad_request")]:
            refused = client.request(client.topics.console_request("console-1"),
                                     {"v": 1, "request_id": uuid.uuid4().hex, "counter": "1", "action": "next",
                                      **LAN, **body}, client.topics.console_response("console-1"))
            assert refused["ok"] is False and refused["error"]["code"] == code and refused["error"]["message"]
        left = client.request(client.topics.console_request("console-1"),
                              {"v": 1, "request_id": uuid.uuid4().hex, "counter": "1", "action": "leave",
                               "official": "binh.tt", "official_name": "Trần Thị Bình"},
                              client.topics.console_response("console-1"))
        assert left["error"] == {"code": "not_seated", "message": "Cán bộ không ngồi tại quầy này."}

    assert acts(center_toml) == before  # the refusals changed nothing
    reader = SqliteReader(sqlite_file(load(center_toml)))
    calls = reader.events("called")
    assert [(e.counter_id, e.detail["official"]) for e in calls] == [("1", "lan.nt"), ("1", "lan.nt")]
    assert [e.detail["official"] for e in reader.events("seated")] == ["lan.nt"]
    reader.close()
