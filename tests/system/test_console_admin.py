"""The administrator's pages in a real browser (Debian's chromium through Selenium) against the real console,
server and Mosquitto: an administrator renames an area, adds a counter, closes an area, changes the hall boards'
notice and the rating levels, each applied at once (the retained config, a kiosk's answer, an official's open
counter page), reads each change in the history in Vietnamese and puts the first version back; a refusal of the
server and a mistake in a field are said on the page; a manager and an official are refused the pages."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from devkit.browser import chromium, full_page_png
from devkit.console_page import ConsolePage
from devkit.local_broker import LocalBroker
from tests.harness import TIMEOUT, ConsoleProcess, ServerProcess, Watcher, device, until, watching

PASSWORD = "mật khẩu của quản trị"
USERS = {"an.nv": ("Nguyễn Văn An", "admin"), "lan": ("Trần Thị Lan", "manager"), "hoa": ("Nguyễn Thị Hoà", "official")}
NOTICE = "Trung tâm nghỉ Tết Nguyên đán từ 14/02/2027 đến hết 20/02/2027. Xin cảm ơn!"
FIVE = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]


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
    with chromium(1366, 768) as driver:
        yield driver


@pytest.fixture
def config(broker: LocalBroker, center_id: str) -> Iterator[Watcher]:
    """The retained `config`, as every device hears it."""
    with watching(broker, center_id, "config") as watcher:
        until(lambda: watcher.latest("config") is not None)
        yield watcher


def wait(browser: WebDriver, condition: Any, timeout_s: float = TIMEOUT) -> Any:
    return WebDriverWait(browser, timeout_s, poll_frequency=0.05).until(condition)


def sign_in(browser: WebDriver, console: ConsoleProcess, username: str) -> ConsolePage:
    page = ConsolePage(browser, console.url, TIMEOUT)
    page.sign_in(username, PASSWORD)
    return page


def css(browser: WebDriver, selector: str) -> Any:
    return browser.find_element(By.CSS_SELECTOR, selector)


def save(browser: WebDriver, selector: str) -> str:
    """Click the submit button `selector` and return what the next page says at its top (not the page before it,
    which may say "Đã áp dụng…" of the change before: the wait is for that page to be gone first)."""
    browser.execute_script("window.qmsPageBefore = true")  # a new page has a new window object
    css(browser, selector).click()
    WebDriverWait(browser, TIMEOUT, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script("return window.qmsPageBefore === undefined")
        and b.find_elements(By.CSS_SELECTOR, ".flash .notice"))
    return str(css(browser, ".flash").text)


def applied(said: str) -> int:
    found = re.search(r"Đã áp dụng phiên bản (\d+)\.", said)
    assert found is not None, said
    return int(found.group(1))


def shoot(browser: WebDriver, path: Path) -> None:
    """The whole page as PNG; nothing runs off the side of a 1366 x 768 screen."""
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    path.write_bytes(full_page_png(browser))


def retained(watcher: Watcher) -> dict[str, Any]:
    latest = watcher.latest("config")
    assert latest is not None
    return latest


def test_an_administrator_changes_the_center_sees_each_change_in_the_history_and_puts_the_first_version_back(
        console: ConsoleProcess, browser: WebDriver, config: Watcher, broker: LocalBroker, center_id: str,
        tmp_path: Path) -> None:
    with chromium() as official:
        sign_in(official, console, "hoa").open_counter("1")
        wait(official, lambda b: "Đất đai" in b.find_element(By.ID, "cac-linh-vuc").text)

        sign_in(browser, console, "an.nv")
        browser.find_element(By.LINK_TEXT, "Quản trị").click()
        wait(browser, lambda b: b.current_url.endswith("/quan-tri"))
        assert "Phiên bản đang dùng: số 1" in css(browser, ".admin-head").text
        assert "Tệp cấu hình center.toml" in css(browser, ".admin-head").text
        shoot(browser, tmp_path / "quan-tri.png")

        # An area renamed: the retained config, and the official's open page without a reload.
        name = css(browser, "input[form='sua-linh-vuc-dat-dai'][name=name]")
        name.clear()
        name.send_keys("Đất đai – Nhà ở")
        assert applied(save(browser, "#sua-linh-vuc-dat-dai button")) == 2
        assert css(browser, "#linh-vuc-dat-dai .done").text == "Đã áp dụng phiên bản 2."
        until(lambda: retained(config)["areas"][0]["name"] == "Đất đai – Nhà ở")
        wait(official, lambda b: "Đất đai – Nhà ở" in b.find_element(By.ID, "cac-linh-vuc").text)

        # A counter renamed: the official's page says its new name without a reload.
        name = css(browser, "input[form='sua-quay-1'][name=name]")
        name.clear()
        name.send_keys("Quầy 1A")
        assert applied(save(browser, "#sua-quay-1 button")) == 3
        wait(official, lambda b: b.find_element(By.ID, "ten-quay").text == "Quầy 1A")

        # A counter added: it is on the officials' list of counters.
        css(browser, "#them-quay input[name=id]").send_keys("9")
        css(browser, "#them-quay input[name=name]").send_keys("Quầy 9")
        css(browser, "#them-quay input[value=tu-phap]").click()
        assert applied(save(browser, "#them-quay button[type=submit]")) == 4
        until(lambda: any(c["id"] == "9" and c["areas"] == ["tu-phap"] for c in retained(config)["counters"]))
        official.get(f"{console.url}/quay")
        assert "Quầy 9" in official.find_element(By.ID, "ds-quay").text

        # An area closed: kiosks are refused it.
        assert css(browser, "#linh-vuc-nho .state").text == "Đang tiếp nhận"
        assert applied(save(browser, "#linh-vuc-nho .state-form button")) == 5
        assert css(browser, "#linh-vuc-nho .state").text == "Tạm ngừng"
        assert css(browser, "#linh-vuc-nho .state-form button").text == "Tiếp nhận trở lại"
        until(lambda: next(a for a in retained(config)["areas"] if a["id"] == "nho")["open"] is False)
        with device(broker, center_id, "k1") as kiosk:
            assert kiosk.ticket("nho")["error"]["code"] == "area_closed"

        # The hall boards' notice, and the rating levels.
        notice = css(browser, "#noi-dung-thong-bao")
        notice.clear()
        notice.send_keys(NOTICE)
        assert applied(save(browser, "#thong-bao button")) == 6
        until(lambda: retained(config).get("notice") == NOTICE)
        css(browser, "#danh-gia input[name=levels][value='5']").click()
        assert applied(save(browser, "#danh-gia button")) == 7
        until(lambda: retained(config)["rating_levels"] == FIVE)
        shoot(browser, tmp_path / "quan-tri-sau-thay-doi.png")

        # The history says each change, newest first, in Vietnamese with names.
        css(browser, ".links a[href='/quan-tri/lich-su']").click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".version"))
        shoot(browser, tmp_path / "lich-su.png")
        versions = [str(v.get_attribute("id")) for v in browser.find_elements(By.CSS_SELECTOR, ".version")]
        assert versions == [f"phien-ban-{n}" for n in range(7, 0, -1)]
        said = {n: css(browser, f"#phien-ban-{n}").text for n in range(1, 8)}
        assert "Lĩnh vực «Đất đai»: tên: «Đất đai» → «Đất đai – Nhà ở»" in said[2]
        assert "Quầy «Quầy 1»: tên: «Quầy 1» → «Quầy 1A»" in said[3]
        assert "Thêm quầy «Quầy 9» (lĩnh vực: Tư pháp – Hộ tịch)" in said[4]
        assert "Lĩnh vực «Lĩnh vực nhỏ»: tạm ngừng tiếp nhận" in said[5]
        assert f"Thông báo trên bảng gọi số: (không đặt) → «{NOTICE}»" in said[6]
        assert ("Mức đánh giá: Rất hài lòng, Hài lòng, Không hài lòng → Rất hài lòng, Hài lòng, Bình thường, "
                "Không hài lòng, Rất không hài lòng") in said[7]
        assert "Trang quản trị · Nguyễn Văn An (an.nv)" in said[7] and "Tệp cấu hình center.toml" in said[1]
        assert "đang dùng" in said[7] and "Khôi phục phiên bản này" not in said[7]

        # The first version put back, after a confirmation.
        css(browser, "#phien-ban-1 form button").click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".confirm"))
        assert "Khôi phục phiên bản 1?" in css(browser, ".confirm h1").text
        css(browser, ".confirm button").click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".flash .notice"))
        assert css(browser, ".flash").text == "Đã khôi phục phiên bản 1: đã áp dụng phiên bản 8."
        assert "Khôi phục phiên bản 1 · Nguyễn Văn An (an.nv)" in css(browser, "#phien-ban-8").text
        assert "Bỏ quầy «Quầy 9»" in css(browser, "#phien-ban-8").text
        until(lambda: retained(config)["areas"][0]["name"] == "Đất đai"
              and [c["id"] for c in retained(config)["counters"]] == ["1", "2", "3"]
              and retained(config)["rating_levels"] == FIVE[:2] + FIVE[3:4]
              and "notice" not in retained(config))
        official.get(f"{console.url}/quay/1")
        wait(official, lambda b: "Đất đai" in b.find_element(By.ID, "cac-linh-vuc").text
             and "Nhà ở" not in b.find_element(By.ID, "cac-linh-vuc").text)
        assert official.find_element(By.ID, "ten-quay").text == "Quầy 1"

        # The live part downloads as TOML that names the version.
        browser.get(f"{console.url}/quan-tri")
        cookie = browser.get_cookie("qms_phien")
        assert cookie is not None
        request = urllib.request.Request(f"{console.url}/quan-tri/tai-ve",
                                         headers={"Cookie": f"qms_phien={cookie['value']}"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            text = answer.read().decode()
            assert "attachment" in answer.headers["Content-Disposition"]
        assert "# Phiên bản 8," in text and 'name = "Đất đai"' in text


def test_a_refusal_of_the_server_and_a_wrong_field_are_said_on_the_page(
        console: ConsoleProcess, browser: WebDriver, config: Watcher) -> None:
    sign_in(browser, console, "an.nv")
    browser.get(f"{console.url}/quan-tri")
    # No counter serves "dong": the server refuses to open it, in Vietnamese, and nothing changes.
    said = save(browser, "#linh-vuc-dong .state-form button")
    assert "Chưa có quầy nào phục vụ lĩnh vực «Lĩnh vực tạm đóng» đang tiếp nhận" in said
    assert "Phiên bản đang dùng: số 1" in css(browser, ".admin-head").text
    assert next(a for a in retained(config)["areas"] if a["id"] == "dong")["open"] is False
    # A counter's id that the center could not use: said next to the field, what was typed kept.
    css(browser, "#them-quay input[name=id]").send_keys("Quầy 9")
    css(browser, "#them-quay input[name=name]").send_keys("Quầy chín")
    said = save(browser, "#them-quay button[type=submit]")
    assert "Chưa lưu" in said
    assert "Mã chỉ gồm chữ thường không dấu" in css(browser, "#them-quay .field-error").text
    assert css(browser, "#them-quay input[name=name]").get_attribute("value") == "Quầy chín"
    assert css(browser, "#them-quay input[name=id]").get_attribute("aria-invalid") == "true"
    assert [c["id"] for c in retained(config)["counters"]] == ["1", "2", "3"]


@pytest.mark.parametrize("username", ["lan", "hoa"])
def test_a_manager_and_an_official_are_refused_the_administrators_pages(
        console: ConsoleProcess, browser: WebDriver, username: str) -> None:
    sign_in(browser, console, username)
    assert not browser.find_elements(By.LINK_TEXT, "Quản trị")
    for path in ("/quan-tri", "/quan-tri/lich-su", "/quan-tri/tai-ve"):
        browser.get(f"{console.url}{path}")
        assert "Trang này dành cho quản trị viên của trung tâm." in browser.page_source, path
        assert not browser.find_elements(By.CSS_SELECTOR, "form[action^='/quan-tri']")
