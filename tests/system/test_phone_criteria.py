"""The phone's rating with the center's optional criteria and a "phản ánh, kiến nghị" (issue 19), against the real
citizen web, server and Mosquitto, on the server's real SQLite file: a form as a browser without script sends it,
a form the page never makes (refused by the web, nothing reaches the server), and a real browser at a phone's size
(390 × 844) that fills the form and saves what it shows."""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from devkit.browser import PHONE_AGENT, chromium, left
from devkit.local_broker import LocalBroker
from devkit.phone_page import PhonePage
from tests.harness import TIMEOUT, Device, ServerProcess, WebProcess, device, until, watching, write_center_config

LEVELS = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]
CRITERIA = ["attitude", "guidance", "time"]
SCREENSHOT = Path("/tmp/web-criteria.png")  # kept for a person to look at


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    """A center with five levels and all three criteria, and its citizen web."""
    path = write_center_config(tmp_path, broker, center_id, web_url="https://hang-doi.example.gov.vn")
    text = path.read_text(encoding="utf-8")
    old = 'levels = ["very_satisfied", "satisfied", "dissatisfied"]\n'
    assert old in text
    path.write_text(text.replace(old, f"levels = {json.dumps(LEVELS)}\ncriteria = {json.dumps(CRITERIA)}\n"),
                    encoding="utf-8")
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
def tester(broker: LocalBroker, center_id: str) -> Iterator[Device]:
    with device(broker, center_id) as client:
        yield client


def served(tester: Device) -> dict[str, Any]:
    """A ticket issued, called and served at counter 1: its rating is open."""
    ticket: dict[str, Any] = tester.ticket("dat-dai")["ticket"]
    assert tester.command("1", "next")["ticket"]["id"] == ticket["id"]
    assert tester.command("1", "finish")["ok"]
    return ticket


def send(web: WebProcess, method: str, path: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    """A request as a phone's browser sends it through the reverse proxy (a plain form POST: no script)."""
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=TIMEOUT)
    headers = {"X-Forwarded-For": "198.51.100.7", "Host": f"127.0.0.1:{web.port}", "Origin": web.url}
    if fields is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, None if fields is None else urlencode(fields), headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def ratings(server: ServerProcess) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(server.config.parent / "center.db")) as db:
        return db.execute("SELECT ticket_id, level, channel, criteria, comment FROM ratings").fetchall()


def test_a_form_with_criteria_and_a_comment_is_stored_whole_and_a_forged_one_changes_nothing(
        web: WebProcess, server: ServerProcess, tester: Device, broker: LocalBroker, center_id: str) -> None:
    ticket = served(tester)
    page = f"/phieu/{ticket['token']}"
    until(lambda: "criterion.time" in send(web, "GET", page)[1])  # the web has the center's config and the ticket
    with watching(broker, center_id, "web/+/request") as asked:
        forged = {"level": "satisfied", "criterion.cleanliness": "satisfied", "comment": "Thử."}
        status, body = send(web, "POST", f"{page}/danh-gia", forged)
        assert status == 400 and "Tiêu chí đánh giá không hợp lệ (trang có thể đã cũ)." in body
        status, body = send(web, "POST", f"{page}/danh-gia", {"level": "satisfied", "comment": "x" * 501})
        assert status == 400 and "tối đa 500 ký tự" in body
        time.sleep(0.5)  # whatever the web would have sent has reached the watcher by now
        assert [b for _topic, b in asked.drain() if b.get("action") == "rate"] == []
    assert ratings(server) == []

    comment = unicodedata.normalize("NFD", "Thời gian chờ hơi lâu,\r\nnhưng cán bộ   hướng dẫn rất tận tình.")
    status, body = send(web, "POST", f"{page}/danh-gia", {
        "level": "satisfied", "criterion.time": "dissatisfied", "criterion.attitude": "very_satisfied",
        "comment": comment})
    assert status == 200 and "Ông/Bà đã đánh giá: Hài lòng. Trân trọng cảm ơn." in body
    assert "Phản ánh, kiến nghị của Ông/Bà đã được gửi đến trung tâm." in body
    [(ticket_id, level, channel, criteria, stored)] = ratings(server)
    assert (ticket_id, level, channel) == (ticket["id"], "satisfied", "phone")
    assert json.loads(criteria) == {"attitude": "very_satisfied", "time": "dissatisfied"}
    assert stored == "Thời gian chờ hơi lâu, nhưng cán bộ hướng dẫn rất tận tình."  # NFC, spaces collapsed


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    """A phone of 390 × 844 CSS pixels (devkit's is 360 × 780, set by chromedriver at every page: set here instead)."""
    with chromium(390, 844) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": PHONE_AGENT})
        yield driver


def test_a_phone_fills_the_criteria_and_a_comment_and_the_server_keeps_them(
        web: WebProcess, server: ServerProcess, tester: Device, phone: WebDriver, tmp_path: Path) -> None:
    ticket = served(tester)
    until(lambda: "criterion.time" in send(web, "GET", f"/phieu/{ticket['token']}")[1])
    page = PhonePage(phone, TIMEOUT)
    page.open(f"{web.url}/phieu/{ticket['token']}")
    page.wait_for("served")
    assert page.levels() == ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"]
    assert phone.execute_script("return innerWidth") == 390
    radios = phone.find_elements(By.CSS_SELECTOR, "#danh-gia input[type=radio]")
    assert len(radios) == 15 and not any(radio.is_selected() for radio in radios)  # none chosen for the citizen
    assert not radios[0].is_displayed()  # folded until the citizen opens it
    page.save(tmp_path / "phone-danh-gia.png")
    phone.find_element(By.CSS_SELECTOR, "#them summary").click()
    for criterion, level in (("attitude", "very_satisfied"), ("guidance", "neutral")):  # the time left unrated
        phone.find_element(By.CSS_SELECTOR, f"input[name='criterion.{criterion}'][value='{level}']").click()
    comment = "Đề nghị bố trí thêm ghế chờ ở khu vực đất đai."
    phone.find_element(By.ID, "phan-anh").send_keys(comment)
    assert phone.find_element(By.ID, "phan-anh").get_attribute("maxlength") == "500"
    shot = page.save(tmp_path / "phone-tieu-chi.png")
    shutil.copyfile(shot, SCREENSHOT)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Enter on a radio (a phone with a keyboard) sends the form by its default button: no level, so nothing is
    # rated ("Rất hài lòng" would be the first button's) and the form comes back as filled
    chosen = phone.find_element(By.CSS_SELECTOR, "input[name='criterion.guidance'][value='neutral']")
    chosen.send_keys(Keys.ENTER)
    WebDriverWait(phone, TIMEOUT, poll_frequency=0.05).until(lambda _d: left(chosen))
    assert page.message() == "Mời Ông/Bà bấm một mức hài lòng chung bên dưới để gửi đánh giá."
    assert ratings(server) == []
    assert phone.find_element(By.CSS_SELECTOR, "input[name='criterion.guidance'][value='neutral']").is_selected()
    assert phone.find_element(By.ID, "phan-anh").get_attribute("value") == comment
    page.save(tmp_path / "phone-tieu-chi-thieu-muc.png")

    page.rate("satisfied")
    assert page.message() == "Phản ánh, kiến nghị của Ông/Bà đã được gửi đến trung tâm."
    assert page.notes() == ["Ông/Bà đã đánh giá: Hài lòng. Trân trọng cảm ơn."] and page.levels() == []
    page.save(tmp_path / "phone-tieu-chi-da-gui.png")
    [(ticket_id, level, channel, criteria, stored)] = ratings(server)
    assert (ticket_id, level, channel, stored) == (ticket["id"], "satisfied", "phone", comment)
    assert json.loads(criteria) == {"attitude": "very_satisfied", "guidance": "neutral"}


def test_the_longest_form_a_phone_can_send_passes_the_body_limits(
        web: WebProcess, server: ServerProcess, tester: Device, phone: WebDriver) -> None:
    """Every criterion at the longest level and 500 letters of 3 bytes each (what `maxlength` lets through) go as
    Chromium encodes the form: under the web's and the reverse proxy's 4 KB."""
    ticket = served(tester)
    until(lambda: "criterion.time" in send(web, "GET", f"/phieu/{ticket['token']}")[1])
    page = PhonePage(phone, TIMEOUT)
    page.open(f"{web.url}/phieu/{ticket['token']}")
    page.wait_for("served")
    phone.find_element(By.CSS_SELECTOR, "#them summary").click()
    for criterion in CRITERIA:
        phone.find_element(By.CSS_SELECTOR, f"input[name='criterion.{criterion}'][value='very_dissatisfied']").click()
    longest = "ỗ" * 500
    assert len(longest.encode()) == 1500
    phone.execute_script("document.getElementById('phan-anh').value = arguments[0];", longest)
    page.rate("very_dissatisfied")
    assert page.notes() == ["Ông/Bà đã đánh giá: Rất không hài lòng. Trân trọng cảm ơn."]
    [(_ticket_id, level, _channel, criteria, stored)] = ratings(server)
    assert (level, stored, json.loads(criteria)) == ("very_dissatisfied", longest, dict.fromkeys(CRITERIA,
                                                                                               "very_dissatisfied"))
