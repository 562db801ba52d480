"""The staff console in a real browser (Debian's chromium through Selenium) against the real console, server
and Mosquitto: sign-in, the official's page driving counter 1 while the keypad drives it too, the board's
state and the counter's retained state agreeing with the page, refusals, and the broker restarting under an
open page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from devkit.browser import chromium
from devkit.console_page import ConsolePage
from devkit.local_broker import LocalBroker
from tests.harness import TIMEOUT, ConsoleProcess, ServerProcess, device, until, watching
from tests.rating_terminal.test_terminal_e2e import Terminal

PASSWORD = "mật khẩu của cán bộ"
USERS = {"hoa": ("Nguyễn Thị Hoà", "official"), "lan": ("Trần Thị Lan", "manager")}



@pytest.fixture
def console(tmp_path: Path, server: ServerProcess, broker: LocalBroker, center_id: str) -> Iterator[ConsoleProcess]:
    process = ConsoleProcess(tmp_path, broker, center_id, USERS, PASSWORD)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait(browser: WebDriver, condition: Any, timeout_s: float = TIMEOUT) -> Any:
    return WebDriverWait(browser, timeout_s, poll_frequency=0.05).until(condition)


def text_of(browser: WebDriver, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def sign_in(browser: WebDriver, console: ConsoleProcess, username: str) -> None:
    ConsolePage(browser, console.url, TIMEOUT).sign_in(username, PASSWORD)


def open_counter(browser: WebDriver, console: ConsoleProcess, counter_id: str) -> None:
    ConsolePage(browser, console.url, TIMEOUT).open_counter(counter_id)


def called(state: dict[str, Any] | None, number: str, official: str) -> bool:
    return bool(state and state["ticket"] and state["ticket"]["number"] == number
                and (state.get("official") or {}).get("username") == official)


def test_the_official_takes_a_counter_and_calls_from_the_page_as_the_board_and_the_terminal_see_it(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, tmp_path: Path) -> None:
    """The page and counter 1's real terminal (the agent as a process, its keys and rating buttons on scripted
    pins) drive one counter: each shows what the other did, and the board and the retained state agree."""
    (tmp_path / "terminal").mkdir()
    terminal = Terminal(tmp_path / "terminal", broker, center_id)
    terminal.start()
    try:
        with device(broker, center_id, "k1") as kiosk, watching(broker, center_id, "board/state",
                                                                 "counter/1/state") as watcher:
            first = kiosk.ticket("dat-dai")["ticket"]["number"]
            second = kiosk.ticket("dat-dai")["ticket"]
            sign_in(browser, console, "hoa")
            assert browser.current_url.endswith("/quay")
            open_counter(browser, console, "1")
            ConsolePage(browser, console.url, TIMEOUT).take_counter()
            browser.find_element(By.TAG_NAME, "body").send_keys("n")  # the keyboard shortcut for "Gọi tiếp"
            wait(browser, lambda b: text_of(b, "so-hien-tai") == first)
            assert "Đất đai" in text_of(browser, "chi-tiet") and "Đã gọi 1 lần" in text_of(browser, "chi-tiet")
            until(lambda: called(watcher.latest("counter/1/state"), first, "hoa"))
            until(lambda: (watcher.latest("board/state") or {}).get("recent_calls", [{}])[0].get("number") == first)
            terminal.press("next")  # the keypad: the page follows without a reload, and the call is hers
            wait(browser, lambda b: text_of(b, "so-hien-tai") == second["number"])
            until(lambda: called(watcher.latest("counter/1/state"), second["number"], "hoa"))
            browser.find_element(By.TAG_NAME, "body").send_keys("h")  # "Hoàn thành" on the page ...
            terminal.expect("armed")  # ... lights the terminal's rating buttons for that citizen
            terminal.send("rate satisfied")
            terminal.expect("thanks satisfied")
            wait(browser, lambda b: f"Số {second['number']}: công dân đánh giá «Hài lòng»." == text_of(b, "danh-gia"))
    finally:
        terminal.stop()


def test_a_refusal_is_said_on_the_page_in_vietnamese(console: ConsoleProcess, browser: WebDriver) -> None:
    sign_in(browser, console, "hoa")
    open_counter(browser, console, "1")
    browser.find_element(By.TAG_NAME, "body").send_keys("h")  # "Hoàn thành" before taking the counter
    wait(browser, lambda b: "chưa nhận quầy này" in text_of(b, "thong-bao"))
    ConsolePage(browser, console.url, TIMEOUT).take_counter()
    browser.find_element(By.TAG_NAME, "body").send_keys("h")  # nobody was called: the server refuses
    wait(browser, lambda b: "chưa nhận quầy này" not in text_of(b, "thong-bao")
         and "error" in b.find_element(By.ID, "thong-bao").get_attribute("class"))
    assert text_of(browser, "so-hien-tai") == "—"


def test_a_wrong_password_is_refused_and_opens_nothing(console: ConsoleProcess, browser: WebDriver) -> None:
    with pytest.raises(RuntimeError, match=re.escape("Tên đăng nhập hoặc mật khẩu không đúng.")):
        ConsolePage(browser, console.url, TIMEOUT).sign_in("hoa", "không phải mật khẩu")
    assert browser.find_element(By.CSS_SELECTOR, ".error").text == "Tên đăng nhập hoặc mật khẩu không đúng."
    browser.get(f"{console.url}/quay/1")
    assert browser.current_url.endswith("/dang-nhap")


def test_a_form_without_its_csrf_token_changes_nothing(console: ConsoleProcess, browser: WebDriver) -> None:
    sign_in(browser, console, "hoa")
    open_counter(browser, console, "1")
    browser.execute_script("document.querySelector('meta[name=csrf]').content = 'tampered-token';")
    browser.find_element(By.ID, "nut-ngoi").click()
    wait(browser, lambda b: "mã bảo vệ" in text_of(b, "thong-bao"))
    browser.refresh()
    wait(browser, lambda b: text_of(b, "ngoi") != "")
    assert text_of(browser, "ngoi") == "Chưa có cán bộ nhận quầy này."


def test_an_official_cannot_open_the_managers_floor_and_a_manager_can(console: ConsoleProcess,
                                                                      browser: WebDriver) -> None:
    sign_in(browser, console, "hoa")
    browser.get(f"{console.url}/san")
    assert "Trang này dành cho quản lý trung tâm." in browser.page_source
    assert not browser.find_elements(By.ID, "cac-quay")
    browser.delete_all_cookies()
    sign_in(browser, console, "lan")
    assert browser.current_url.endswith("/san")
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#cac-quay tr")) == 3)


def test_the_page_says_when_the_broker_is_lost_and_follows_again_once_it_is_back(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str) -> None:
    sign_in(browser, console, "hoa")
    open_counter(browser, console, "1")
    assert not browser.find_element(By.ID, "mat-ket-noi").is_displayed()
    broker.stop()
    wait(browser, lambda b: b.find_element(By.ID, "mat-ket-noi").is_displayed())
    broker.start()
    wait(browser, lambda b: not b.find_element(By.ID, "mat-ket-noi").is_displayed(), 30)
    with device(broker, center_id, "k1") as kiosk, device(broker, center_id, "counter-1") as keypad:
        kiosk.ticket("dat-dai")
        number = keypad.command("1", "next")["ticket"]["number"]
    wait(browser, lambda b: text_of(b, "so-hien-tai") == number)


def test_transfer_by_area_name_call_by_number_finish_and_the_citizens_rating_shows(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id, "k1") as kiosk, device(broker, center_id, "counter-1") as terminal:
        first = kiosk.ticket("dat-dai")["ticket"]
        second = kiosk.ticket("dat-dai")["ticket"]
        sign_in(browser, console, "hoa")
        open_counter(browser, console, "1")
        ConsolePage(browser, console.url, TIMEOUT).take_counter()
        browser.find_element(By.CSS_SELECTOR, "button[data-action=next]").click()
        wait(browser, lambda b: text_of(b, "so-hien-tai") == first["number"])
        Select(browser.find_element(By.ID, "linh-vuc-chuyen")).select_by_visible_text("Tư pháp – Hộ tịch")
        browser.find_element(By.CSS_SELECTOR, "#chuyen button").click()
        wait(browser, lambda b: text_of(b, "so-hien-tai") == "—")
        browser.find_element(By.ID, "so-can-goi").click()
        typing = ActionChains(browser)  # out of turn, by the number the citizen holds, typed by hand: chromedriver's
        for key in second["number"]:  # own send_keys types as fast as a barcode scanner, whose keys the page
            typing.send_keys(key).pause(0.1)  # sends to the dossier (tests/system/test_console_dossiers.py)
        typing.send_keys(Keys.ENTER).perform()
        wait(browser, lambda b: text_of(b, "so-hien-tai") == second["number"])
        browser.find_element(By.TAG_NAME, "body").send_keys("h")  # "Hoàn thành"
        wait(browser, lambda b: "đang chờ công dân đánh giá" in text_of(b, "danh-gia"))
        rating = {"v": 1, "rating_id": "r-1", "ticket_id": second["id"], "level": "satisfied",
                  "pressed_at": datetime.now(UTC).isoformat()}
        terminal.link.publish(terminal.topics.counter_rating("1"), json.dumps(rating).encode())
        wait(browser, lambda b: f"Số {second['number']}: công dân đánh giá «Hài lòng»." == text_of(b, "danh-gia"))
        assert kiosk.ticket("tu-phap")["ticket"]["waiting_ahead"] == 1, "the transferred citizen waits at Tư pháp"


def test_the_floor_warns_of_a_printer_out_of_paper_and_a_device_that_dropped(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str) -> None:
    sign_in(browser, console, "lan")
    with device(broker, center_id, "k1") as kiosk:
        kiosk.link.set_status(printer="paper_out")
        wait(browser, lambda b: "Máy in của k1: Hết giấy." in text_of(b, "canh-bao"))
    wait(browser, lambda b: "Thiết bị k1 mất kết nối" in text_of(b, "canh-bao"))
