"""A citizen books through the real booking pages (citizen_web) against the real server and Mosquitto, in a real
browser at a phone's size: an area, tomorrow, a slot, the CCCD and phone -> the code and its QR; the form sent again
books nothing twice; the per-person limit refused in Vietnamese; the booking looked up and cancelled; a remote number
for today. Screenshots are saved as PNG (phone-sized, 390 x 844)."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.webdriver import WebDriver

from devkit.booking_page import BookingPage
from devkit.browser import PHONE_AGENT, chromium
from devkit.local_broker import LocalBroker
from protocol.booking_code import code_ok
from tests.harness import TIMEOUT, ServerProcess, Watcher, WebProcess, until, watching, write_center_config

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CCCD = "001090123456"  # Hà Nội's code, born 1990
OTHER_CCCD = "079185000123"  # Hồ Chí Minh city's, born 1985
PHONE = "0912 345 678"
PHONE_SIZE = (390, 844)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
BOOKINGS = """
[hours]
weekdays = ["00:00-23:59"]
sat = ["00:00-23:59"]
sun = ["00:00-23:59"]
last_ticket_min = 0

[bookings]
slot_minutes = 30
capacity = 2
days_ahead = 7
per_person_per_day = 2
per_person_per_area = 1
check_in_early_minutes = 30
check_in_late_minutes = 15
remote = true
remote_minutes = 60
"""


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    """The tests' center, open every day all day, taking bookings (2 a slot) and giving remote numbers."""
    path = write_center_config(tmp_path, broker, center_id, web_url="https://hang-doi.example.gov.vn")
    path.write_text(path.read_text(encoding="utf-8") + BOOKINGS, encoding="utf-8")
    return path


@pytest.fixture
def web(tmp_path: Path, server: ServerProcess, broker: LocalBroker, center_id: str) -> Iterator[WebProcess]:
    process = WebProcess(tmp_path, broker, center_id)
    process.start()
    try:
        yield process
    finally:
        assert process.stop() == 0


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    """A phone's screen of 390 x 844 CSS pixels (a headless window is at least 500 wide: emulated instead)."""
    with chromium(*PHONE_SIZE) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE_SIZE[0], "height": PHONE_SIZE[1], "deviceScaleFactor": 2, "mobile": True})
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": PHONE_AGENT})
        yield driver


def fetch(web: WebProcess, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=TIMEOUT)
    try:
        connection.request("GET", path, headers={"X-Forwarded-For": "198.51.100.7"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get(web: WebProcess, path: str) -> tuple[int, str]:
    status, body = fetch(web, path)
    return status, body.decode()


def bookings_held(center_toml: Path) -> list[tuple[str, str]]:
    """What the server stored: each booking's code and state."""
    with sqlite3.connect(center_toml.parent / "center.db") as db:
        return [(str(code), str(state)) for code, state in db.execute("SELECT code, state FROM bookings")]


def joined(text: str) -> str:
    return " ".join(text.split())


def booked_requests(watcher: Watcher, seen: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The web's "book" requests heard so far (added to `seen`, which is returned)."""
    seen = [] if seen is None else seen
    seen.extend(body for _topic, body in watcher.drain() if body.get("action") == "book")
    return seen


def test_a_citizen_books_a_slot_sees_the_code_is_limited_looks_it_up_and_cancels(
        web: WebProcess, phone: WebDriver, center_toml: Path, tmp_path: Path, broker: LocalBroker,
        center_id: str) -> None:
    with watching(broker, center_id, "web/+/request") as asked:
        booking_scenario(web, phone, center_toml, tmp_path, asked)


def booking_scenario(web: WebProcess, phone: WebDriver, center_toml: Path, tmp_path: Path, asked: Watcher) -> None:
    until(lambda: get(web, "/dat-lich")[0] == 200)  # the web has the center's config
    page = BookingPage(phone, web.url, TIMEOUT)
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    shots = []

    page.open("/")
    assert phone.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]") == [
        PHONE_SIZE[0], PHONE_SIZE[0]], "the page fits the phone's width"
    assert "Đặt lịch hẹn" in page.choices()[0] and any("Lấy số từ xa" in c for c in page.choices())
    page.choose("Đặt lịch hẹn")
    assert page.choices()[:2] == ["Đất đai", "Tư pháp – Hộ tịch"]
    page.choose("Đất đai")
    day = f"{WEEKDAYS_VI[tomorrow.weekday()]}, {tomorrow:%d/%m/%Y} (Ngày mai)"
    assert f"{day}\nCòn 94 chỗ" in page.choices()  # 47 slots of 30 minutes from 00:00 to 23:30, 2 places each
    page.choose(day)
    assert "09:00–09:30\nCòn 2 chỗ" in page.choices()
    shots.append(page.save(tmp_path / "dat-lich-khung-gio.png"))
    page.choose("09:00–09:30")
    page.fill(CCCD, PHONE)
    shots.append(page.save(tmp_path / "dat-lich-mau.png"))
    page.submit()

    # the confirmation: the code, its QR, the slot and the window at the kiosk; never the CCCD or the phone
    code = page.code().replace(" ", "")
    assert code_ok(code) and page.code() == f"{code[:4]} {code[4:]}", page.driver.page_source[:2000]
    shown = joined(str(phone.find_element("tag name", "main").text))
    assert "Đặt lịch hẹn thành công" in shown and "Đất đai" in shown and day.split(" (")[0] in shown
    assert "09:00–09:30" in shown
    assert ("Vui lòng đến ki-ốt từ 08:30 đến 09:15, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR." in shown)
    assert CCCD not in phone.page_source and "345 678" not in phone.page_source and "912345678" not in phone.page_source
    until(page.qr_loaded)
    shots.append(page.save(tmp_path / "dat-lich-xong.png"))
    assert bookings_held(center_toml) == [(code, "booked")]
    if shutil.which("zbarimg"):  # the QR on the page is the code the kiosk's scanner must read
        status, png = fetch(web, f"/ma-qr/{code}.png")
        assert status == 200
        qr = tmp_path / "qr.png"
        qr.write_bytes(png)
        read = subprocess.run(["zbarimg", "--raw", "-q", str(qr)], capture_output=True, text=True, check=False)
        assert read.stdout.strip() == code

    # a reload sends the form again: the same request (its request_id), answered with the same booking
    first = booked_requests(asked)
    assert len(first) == 1
    phone.refresh()
    with contextlib.suppress(NoAlertPresentException):
        phone.switch_to.alert.accept()  # "confirm form resubmission", where the browser asks
    until(lambda: len(booked_requests(asked, first)) == 2)
    until(lambda: page.code() != "")
    assert page.code().replace(" ", "") == code
    assert {body["request_id"] for body in first} == {first[0]["request_id"]}, "the reload was a retry"
    assert bookings_held(center_toml) == [(code, "booked")]

    # another citizen's form, tapped twice at once: one booking
    page.open(f"/dat-lich/dat-dai/{tomorrow.isoformat()}/1100")
    page.fill(OTHER_CCCD, "0987654321")
    page.double_tap()
    until(lambda: page.code() != "")
    other = page.code().replace(" ", "")
    tapped = booked_requests(asked, first)[2:]
    assert tapped and {body["request_id"] for body in tapped} == {tapped[0]["request_id"]}, tapped
    print(f"a double tap reached the server as {len(tapped)} request(s)")
    assert sorted(bookings_held(center_toml)) == sorted([(code, "booked"), (other, "booked")])

    # another slot of the same area and day: the per-person limit, in the server's Vietnamese words
    page.open(f"/dat-lich/dat-dai/{tomorrow.isoformat()}")
    assert "09:00–09:30\nCòn 1 chỗ" in page.choices()
    page.choose("10:00–10:30")
    page.fill(CCCD, PHONE)
    page.submit()
    refused = joined(page.message())
    assert refused.startswith("Mỗi công dân được đặt tối đa 1 lịch hẹn") and "Đất đai" in refused, refused
    assert f"ngày {tomorrow:%d/%m/%Y} Ông/Bà đã đủ" in refused
    assert phone.find_element("id", "cccd").get_attribute("value") == ""  # the form is shown empty again
    shots.append(page.save(tmp_path / "dat-lich-gioi-han.png"))
    assert len(bookings_held(center_toml)) == 2

    # looked up by its code and the CCCD, then cancelled
    page.look_up(f"{code[:4]} {code[4:]}", CCCD)
    assert page.text("tinh-trang") == "Đã đặt"
    assert "Vui lòng đến ki-ốt từ 08:30 đến 09:15" in page.text("ghi-chu")
    shots.append(page.save(tmp_path / "lich-hen.png"))
    page.cancel(OTHER_CCCD)  # someone else's CCCD cancels nothing
    assert "không khớp" in page.message()
    assert dict(bookings_held(center_toml)) == {code: "booked", other: "booked"}
    page.look_up(code, CCCD)
    page.cancel(CCCD)
    assert page.text("tinh-trang") == "Đã huỷ" and "Đã huỷ lịch hẹn" in page.text("da-huy")
    shots.append(page.save(tmp_path / "lich-hen-huy.png"))
    assert dict(bookings_held(center_toml)) == {code: "cancelled", other: "booked"}
    page.open(f"/dat-lich/dat-dai/{tomorrow.isoformat()}")
    assert "09:00–09:30\nCòn 2 chỗ" in page.choices()  # its place is free again
    assert all(shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for shot in shots)


def test_a_remote_number_for_today_and_a_wrong_identity(
        web: WebProcess, phone: WebDriver, center_toml: Path, tmp_path: Path) -> None:
    until(lambda: get(web, "/so-tu-xa")[0] == 200)
    page = BookingPage(phone, web.url, TIMEOUT)
    page.open("/so-tu-xa")
    page.fill("001 090 12345", PHONE, area="tu-phap")  # 11 digits
    page.submit()
    assert page.message().startswith("Số căn cước công dân gồm đúng 12 chữ số")
    page.fill("001.090.123.456", "+84 912 345 678", area="tu-phap")
    page.submit()
    code = page.code().replace(" ", "")
    assert code_ok(code) and "Đã nhận số từ xa" in phone.page_source
    until(page.qr_loaded)
    window = joined(page.text("den-ki-ot"))
    assert window.startswith("Vui lòng đến ki-ốt trước ") and window.endswith(
        ", chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR.")
    page.save(tmp_path / "so-tu-xa.png")
    assert bookings_held(center_toml) == [(code, "booked")]
