"""Appointments through the real server process and Mosquitto (issue 18): a web process with valid credentials that
floods bookings makes the server keep no more than its rate and the slots' capacity allow, and a booking
acknowledged survives a kill -9 of the server and is checked in afterwards."""

from __future__ import annotations

import json
import math
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from central_server.domain.limits import WEB_BOOKING_BURST, WEB_BOOKINGS_PER_S
from devkit.browser import chromium
from devkit.clock import SimulatedClock
from devkit.console_page import ConsolePage
from devkit.local_broker import LocalBroker
from protocol.link import RequestTimeout
from tests.harness import TIMEOUT, ConsoleProcess, Device, ServerProcess, device, write_center_config

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
FLOOD = 1_000
CAPACITY = 2
BOOKINGS = f"""
[hours]
weekdays = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[bookings]
capacity = {CAPACITY}
days_ahead = 3

[citizen_web]
ids = ["web-1"]
"""


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    path = write_center_config(tmp_path, broker, center_id)
    path.write_text(path.read_text(encoding="utf-8") + BOOKINGS, encoding="utf-8")
    return path


def booked(server: ServerProcess) -> list[tuple[str, str, str]]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return db.execute("SELECT area, start_at, person FROM bookings").fetchall()


def web(citizen: Device, action: str, **fields: Any) -> dict[str, Any]:
    topics = citizen.topics
    return citizen.request(topics.web_request("web-1"), {"v": 1, "request_id": uuid.uuid4().hex, "action": action,
                                                         **fields}, topics.web_response("web-1"))


def after_every_request_before(citizen: Device) -> None:
    """Returns once the server has acted on every request `citizen` sent before: a slots look-up sent after them
    on the same connection and topic is answered (in order). While the flood's thousand answers pass, the broker
    drops those past its queue for this client (250): a look-up left unanswered is sent again."""
    topics = citizen.topics
    body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "action": "slots", "area": "dat-dai"}).encode()
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            reply = citizen.link.request(topics.web_request("web-1"), body, response_topic=topics.web_response("web-1"),
                                         timeout_s=2.0)
        except RequestTimeout:
            assert time.monotonic() < deadline, "the server answers once the flood is over"
            continue
        assert "days" in json.loads(reply.payload)
        return


def cccd(n: int) -> str:
    """A well-formed CCCD number of someone born in Hà Nội in 2000 (n: the last six digits)."""
    return f"001200{n:06d}"


def test_a_web_process_flooding_bookings_keeps_no_more_than_its_rate_and_the_slots_allow(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "web-1") as flood, device(broker, center_id, "k1") as kiosk:
        days = web(flood, "slots", area="dat-dai")["days"]
        day = next(d["day"] for d in days if d["free"] > 0)
        starts = [s["start"] for s in web(flood, "slots", area="dat-dai", day=day)["slots"]]
        topics = flood.topics
        flood.link.expect_replies(topics.web_response("web-1"))
        started = time.monotonic()
        for n in range(FLOOD):  # every one a valid booking of another citizen, as fast as it can publish
            body = {"v": 1, "request_id": f"b{n}", "action": "book", "area": "dat-dai",
                    "start": starts[n % len(starts)], "cccd": cccd(n), "phone": "0912345678"}
            flood.link.publish(topics.web_request("web-1"), json.dumps(body).encode(),
                               response_topic=topics.web_response("web-1"), correlation=b"x")
        flooded_s = time.monotonic() - started
        assert kiosk.ticket_as_a_kiosk("dat-dai")["ok"] is True, "the kiosk is served after the flood"
        # The kiosk's answer may come before the server has acted on the whole flood, and its bucket refills
        # meanwhile: the refill is counted until then.
        after_every_request_before(flood)
        refilled = math.ceil(WEB_BOOKINGS_PER_S * (time.monotonic() - started))
    kept = booked(server)
    assert flooded_s < 5, "the flood was a flood"
    assert len(kept) <= WEB_BOOKING_BURST + refilled, "a burst, then five a second"
    assert max(Counter(start for _area, start, _p in kept).values()) <= CAPACITY, "no slot over its capacity"
    assert all(len(person) == 64 for _a, _s, person in kept), "only keyed hashes"
    log = server.log.read_text(encoding="utf-8")
    assert "refused" in log and "too_many_requests" in log


def test_an_acknowledged_booking_survives_a_kill_and_is_checked_in(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "web-1") as citizen:
        today = datetime.now(HCM).date()
        days = web(citizen, "slots", area="dat-dai")["days"]
        assert days and all(d["free"] > 0 for d in days)
        day = days[0]["day"]
        slot = web(citizen, "slots", area="dat-dai", day=day)["slots"][0]
        made = web(citizen, "book", area="dat-dai", start=slot["start"], cccd=cccd(1), phone="0912 345 678")
        assert made["ok"] is True, made
    server.kill()
    server.start()
    with device(broker, center_id, "web-1") as citizen, device(broker, center_id, "k1") as kiosk:
        code = made["booking"]["code"]
        looked = web(citizen, "booking", code=code, cccd=cccd(1))
        assert looked["booking"]["state"] == "booked" and looked["booking"]["start"] == made["booking"]["start"]
        topics = kiosk.topics
        checked = kiosk.request(topics.ticket_request("k1"), {"v": 1, "request_id": "ci", "booking": code},
                                topics.ticket_response("k1"))
        if day == today.isoformat():  # early or on time: the center lets it wait for its slot (the default)
            assert checked["ok"] is True and checked["ticket"]["channel"] == "booked", checked
            assert checked["ticket"]["slot_start"] == slot["start"]
        else:
            assert checked["error"]["code"] == "not_today", checked


@pytest.fixture
def console(tmp_path: Path, center_toml: Path, broker: LocalBroker, center_id: str) -> Iterator[ConsoleProcess]:
    """The console beside a server whose clock says Monday 23/11/2026, 08:00."""
    morning = SimulatedClock(datetime(2026, 11, 23, 8, 0, tzinfo=HCM), 1.0, time.time()).to_arg()
    server = ServerProcess(center_toml, broker, center_id, clock=morning)
    server.start()
    process = ConsoleProcess(tmp_path, broker, center_id, {"hoa": ("Nguyễn Thị Hoà", "official")},
                             "mật khẩu của cán bộ")
    process.start()
    try:
        yield process
    finally:
        process.stop()
        server.stop()


def test_the_official_sees_that_the_citizen_called_has_booked_and_for_which_slot(
        console: ConsoleProcess, broker: LocalBroker, center_id: str, tmp_path: Path) -> None:
    with device(broker, center_id, "web-1") as citizen, device(broker, center_id, "k1") as kiosk:
        slot = web(citizen, "slots", area="dat-dai", day="2026-11-23")["slots"][0]
        assert (slot["start"], slot["end"]) == ("2026-11-23T08:30:00+07:00", "2026-11-23T09:00:00+07:00")
        code = web(citizen, "book", area="dat-dai", start=slot["start"], cccd=cccd(7), phone="0912345678")[
            "booking"]["code"]
        topics = kiosk.topics
        ticket = kiosk.request(topics.ticket_request("k1"), {"v": 1, "request_id": "ci", "booking": code},
                               topics.ticket_response("k1"))["ticket"]
    with chromium() as browser:
        page = ConsolePage(browser, console.url, TIMEOUT)
        page.sign_in("hoa", "mật khẩu của cán bộ")
        page.open_counter("1")
        page.take_counter()
        browser.find_element(By.TAG_NAME, "body").send_keys("n")  # nobody else waits: called before its slot
        WebDriverWait(browser, TIMEOUT).until(lambda b: b.find_element(By.ID, "so-hien-tai").text == ticket["number"])
        details = browser.find_element(By.ID, "chi-tiet").text
        browser.save_screenshot(str(tmp_path / "console-booked.png"))
    assert "Lịch hẹn 08:30–09:00 · đối chiếu CCCD có 4 số cuối 0007" in details, details
