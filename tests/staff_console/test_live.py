from __future__ import annotations

import json

from protocol.topics import Topics
from staff_console.live import MAX_DEVICES, Live
from tests.staff_console.test_web import CONFIG

ROOT = "qms/v1/rach-gia"


def state(number: str | None, status: str = "serving") -> bytes:
    ticket = None if number is None else {"id": "20261202-000001", "number": number, "area": "dat-dai",
                                          "area_name": "Đất đai", "issued_at": "2026-12-02T08:00:00+07:00",
                                          "priority": "elderly", "state": "called", "counter_id": "1", "calls": 1}
    body = {"v": 1, "status": status, "ticket": ticket, "counter_id": "1", "counter_name": "Quầy 1"}
    return json.dumps(body).encode()


def test_what_the_center_says_reaches_the_views_and_a_repeat_changes_nothing() -> None:
    live = Live(Topics("rach-gia"))
    assert live.take(f"{ROOT}/config", json.dumps(CONFIG).encode())
    assert live.take(f"{ROOT}/counter/1/state", state("1001"))
    version = live.version
    assert not live.take(f"{ROOT}/counter/1/state", state("1001")) and live.version == version
    view = live.counter_view("1")
    assert view["known"] and view["state"]["ticket"]["number"] == "1001"
    assert view["names"]["priorities"]["elderly"] == "Người cao tuổi"
    assert live.floor_view()["counters"]["1"]["status"] == "serving"
    assert not live.counter_view("2")["known"]


def test_a_message_that_does_not_decode_changes_nothing() -> None:
    live = Live(Topics("rach-gia"))
    live.take(f"{ROOT}/counter/1/state", state("1001"))
    for topic, payload in ((f"{ROOT}/counter/1/state", b"{not json"), (f"{ROOT}/counter/1/state", b'{"v":2}'),
                           (f"{ROOT}/config", b'{"v":1}'), (f"{ROOT}/server/status", b"[]"),
                           (f"{ROOT}/device/k1/status", b'{"v":1}'), ("qms/v1/other/counter/1/state", state("9"))):
        assert not live.take(topic, payload), (topic, payload)
    assert live.counters["1"]["ticket"]["number"] == "1001"


def test_device_statuses_are_bounded() -> None:
    live = Live(Topics("rach-gia"))
    for n in range(MAX_DEVICES + 5):
        live.take(f"{ROOT}/device/d{n}/status", b'{"v":1,"online":true}')
    assert len(live.devices) == MAX_DEVICES
    assert live.take(f"{ROOT}/device/d0/status", b'{"v":1,"online":false}'), "a known device still changes"


def test_a_changed_config_renames_and_adds_on_the_pages_at_once() -> None:
    """An administrator's change (issue 17) is a new retained config: the counter pages and the floor follow it."""
    live = Live(Topics("rach-gia"))
    live.take(f"{ROOT}/config", json.dumps(CONFIG).encode())
    version = live.version
    changed = json.loads(json.dumps(CONFIG))
    changed["areas"][0]["name"] = "Đất đai – Nhà ở"
    changed["areas"].append({"id": "dong", "name": "Tạm đóng", "prefix": "C", "first": 1, "last": 9, "open": False})
    changed["counters"][0]["name"] = "Quầy 1A"
    changed["counters"].append({"id": "9", "name": "Quầy 9", "areas": ["dat-dai"]})
    assert live.take(f"{ROOT}/config", json.dumps(changed).encode()) and live.version > version
    view = live.counter_view("1")
    assert view["names"]["counters"]["1"] == "Quầy 1A"
    assert [area["name"] for area in view["areas"]] == ["Đất đai – Nhà ở"]
    assert view["transfer_to"] == [["dat-dai", "Đất đai – Nhà ở"]], "a closed area takes no transfer"
    assert live.counter_view("9")["known"]
    assert list(live.floor_view()["counters"]) == ["1", "9"]
    assert live.names()["counters"] == {"1": "Quầy 1A", "9": "Quầy 9"}
