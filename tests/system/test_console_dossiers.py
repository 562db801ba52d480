"""Dossier codes (mã hồ sơ, issue 19) at the staff console's counter page, in a real browser (Debian's chromium
through Selenium) against the real console, server and Mosquitto: a code typed into «Mã hồ sơ» is listed under
the ticket being served and kept in the counter's retained state; a code of the wrong form is refused in
Vietnamese and listed nowhere; a keyboard-wedge scanner's burst sent to the page, whatever has the focus,
attaches its code and none of its letters works as a shortcut (H: finish, N: call next), also when it pauses now
and then (its Enter presses no button) and when «Cho số», «Gọi số» or the area list has the focus (they keep what
the official put there); «Gỡ» takes one off; what is typed while a code is sent stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from devkit.browser import chromium, full_page_png, left
from devkit.console_page import ConsolePage
from devkit.local_broker import LocalBroker
from tests.harness import TIMEOUT, ConsoleProcess, ServerProcess, Watcher, device, until, watching, write_center_config

PASSWORD = "mật khẩu của cán bộ"
USERS = {"hoa": ("Nguyễn Thị Hoà", "official")}
# Yesterday on the center's clock (tests/harness.py's center): a code's day of receipt may not be after today, and
# yesterday stays so across a midnight during the test.
DAY = f"{datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')).date() - timedelta(days=1):%y%m%d}"
SCAN_GAP_MS = 50  # staff_console/static/console.js: keys further apart than this are a person's, not a scanner's
BURST_GAP_MS = 300  # ... unless a scan has begun: it may pause this long between two keys
# A center whose province prints codes of its own: they begin with letters that are the page's shortcuts.
OWN_CODES = '\n[dossiers]\nnational = false\npattern = "[A-Z]{2}-[0-9]{4}"\n'


@pytest.fixture
def center_toml(request: pytest.FixtureRequest, tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    """The harness's center; a test parametrized indirectly adds its own tables."""
    path = write_center_config(tmp_path, broker, center_id)
    path.write_text(path.read_text(encoding="utf-8") + getattr(request, "param", ""), encoding="utf-8")
    return path


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
    with chromium(1366, 900) as driver:
        yield driver


@pytest.fixture
def state(broker: LocalBroker, center_id: str) -> Iterator[Watcher]:
    """Counter 1's retained state, as its devices hear it."""
    with watching(broker, center_id, "counter/1/state") as watcher:
        yield watcher


def wait(browser: WebDriver, condition: Any, timeout_s: float = TIMEOUT) -> Any:
    return WebDriverWait(browser, timeout_s, poll_frequency=0.05).until(condition)


def listed(browser: WebDriver) -> list[str]:
    """The codes the page lists under «Hồ sơ của số …», read in one script (the list is redrawn on changes)."""
    codes = browser.execute_script("return [...document.querySelectorAll('#cac-ho-so li code')]"
                                   ".map((c) => c.textContent);")
    return [str(code) for code in codes]


def said(browser: WebDriver) -> tuple[str, str]:
    """The page's message line: (its class, its text)."""
    message = browser.find_element(By.ID, "thong-bao")
    return str(message.get_attribute("class")), str(message.text)


def quiet(browser: WebDriver) -> None:
    """Empty the message line, so the next one read is the next action's."""
    browser.execute_script("document.getElementById('thong-bao').textContent = '';")


def retained_codes(watcher: Watcher) -> list[str] | None:
    dossiers = (watcher.latest("counter/1/state") or {}).get("dossiers")
    return None if dossiers is None else list(dossiers["codes"])


def listen(browser: WebDriver) -> None:
    """From now on the page notes each keydown's time and target."""
    browser.execute_script("if (!window.qmsKeys) document.addEventListener('keydown', "
                           "(e) => window.qmsKeys.push([e.timeStamp, e.target.tagName]), { capture: true });"
                           "window.qmsKeys = [];")


def heard(browser: WebDriver) -> tuple[list[float], set[str]]:
    """The gaps between the keydowns noted since listen() (ms), and the elements they went to."""
    keys = browser.execute_script("return window.qmsKeys;")
    stamps = [float(at) for at, _ in keys]
    return [b - a for a, b in pairwise(stamps)], {str(tag) for _, tag in keys}


def scan(browser: WebDriver, code: str) -> tuple[float, set[str]]:
    """A keyboard-wedge scanner: the code and Enter, typed into whatever has the focus as fast as chromedriver
    types (its keys come a few ms apart, as a scanner's do). The longest gap between the page's keydowns (ms),
    and the elements they went to."""
    listen(browser)
    ActionChains(browser).send_keys(code + Keys.ENTER).perform()
    gaps, targets = heard(browser)
    return max(gaps), targets


def serving(browser: WebDriver, console: ConsoleProcess, center_id: str, broker: LocalBroker) -> list[str]:
    """Two citizens take numbers; the official signs in, takes counter 1 and calls the first (her N key)."""
    with device(broker, center_id, "k1") as kiosk:
        numbers = [kiosk.ticket("dat-dai")["ticket"]["number"] for _ in range(2)]
    page = ConsolePage(browser, console.url, TIMEOUT)
    page.sign_in("hoa", PASSWORD)
    page.open_counter("1")
    page.take_counter()
    assert page.act("next") is not None
    wait(browser, lambda b: b.find_element(By.ID, "so-hien-tai").text == numbers[0])
    wait(browser, lambda b: b.find_element(By.ID, "ho-so-cua-so").text == f"Số {numbers[0]} chưa có hồ sơ nào.")
    return numbers


def test_codes_typed_and_scanned_are_listed_a_bad_one_refused_and_one_removed(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher,
        tmp_path: Path) -> None:
    first, second = serving(browser, console, center_id, broker)
    typed = f"000.00.04.H12-{DAY}-0001"
    field = browser.find_element(By.ID, "ma-ho-so")
    field.send_keys(typed, Keys.ENTER)
    wait(browser, lambda b: listed(b) == [typed])
    assert browser.find_element(By.ID, "ho-so-cua-so").text == f"Hồ sơ của số {first}:"
    wait(browser, lambda b: said(b) == ("message ok", f"Đã gắn hồ sơ cho số {first}."))
    assert field.get_attribute("value") == "", "the field is emptied for the next code"
    until(lambda: retained_codes(state) == [typed])

    quiet(browser)
    field.send_keys("000.00.04.H12-1234", Keys.ENTER)  # cut short
    wait(browser, lambda b: said(b)[1] != "" and said(b)[1] != "Đang gửi…")
    kind, text = said(browser)
    assert kind == "message error" and text.startswith("Mã hồ sơ không đúng định dạng quốc gia")
    assert listed(browser) == [typed]

    # A scanner while «Gọi tiếp» has the focus (the official tabbed to it): H and N are in the codes, and the Enter
    # that ends each must not press the button.
    browser.execute_script("document.querySelector('button[data-action=next]').focus();")
    scanned = [f"000.00.04.H12-{DAY}-0002", f"000.00.04.N05-{DAY}-0003"]
    for code in scanned:
        quiet(browser)
        gap, targets = scan(browser, code)
        assert gap < SCAN_GAP_MS, f"chromedriver typed slower than a scanner: {gap:.1f} ms"
        assert targets == {"BUTTON"}, "the keys went to the focused button"
        wait(browser, lambda b, code=code: code in listed(b))
    assert listed(browser) == [typed, *scanned]
    until(lambda: retained_codes(state) == [typed, *scanned])
    ActionChains(browser).send_keys("b").perform()  # a person's shortcut still works: «Bắt đầu phục vụ»
    until(lambda: ((state.latest("counter/1/state") or {}).get("ticket") or {}).get("state") == "serving")
    now = state.latest("counter/1/state") or {}
    assert now["ticket"]["number"] == first and now["ticket"]["calls"] == 1, \
        f"a scanned letter or its Enter worked as a shortcut (finish, next, skip): {now}"
    assert browser.find_element(By.ID, "so-hien-tai").text == first

    (tmp_path / "console-dossiers.png").write_bytes(full_page_png(browser))

    removed = browser.find_element(By.CSS_SELECTOR, f"#cac-ho-so button[aria-label='Gỡ hồ sơ {scanned[0]}']")
    removed.click()
    wait(browser, lambda b: listed(b) == [typed, scanned[1]])
    wait(browser, lambda b: said(b) == ("message ok", f"Đã gỡ hồ sơ khỏi số {first}."))
    until(lambda: retained_codes(state) == [typed, scanned[1]])

    old = browser.find_element(By.ID, "cac-ho-so")
    browser.refresh()  # the list is the center's: a reload shows it again
    wait(browser, lambda b: left(old))
    wait(browser, lambda b: listed(b) == [typed, scanned[1]])
    now = state.latest("counter/1/state") or {}
    assert now["ticket"]["number"] == first and now["ticket"]["state"] == "serving"
    with device(broker, center_id, "k2") as kiosk:
        assert kiosk.ticket("dat-dai")["ticket"]["waiting_ahead"] == 1, f"{second} still waits: nobody called it"


@pytest.mark.parametrize("center_toml", [OWN_CODES], indirect=True)
def test_a_scanned_code_that_begins_with_shortcut_letters_works_no_shortcut(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher) -> None:
    """The center's own codes begin with letters: "HN-0042" would be «Hoàn thành» then «Gọi tiếp» if the page took
    its first key for a shortcut; a scan is told from a person by its speed."""
    first, second = serving(browser, console, center_id, broker)
    gap, _ = scan(browser, "hn-0042")  # a scanner set to lower case: the server keeps the code upper case
    assert gap < SCAN_GAP_MS, f"chromedriver typed slower than a scanner: {gap:.1f} ms"
    wait(browser, lambda b: listed(b) == ["HN-0042"])
    until(lambda: retained_codes(state) == ["HN-0042"])
    now = state.latest("counter/1/state") or {}
    assert (now.get("ticket") or {}).get("number") == first and now["ticket"]["calls"] == 1, \
        f"a scanned letter worked as a shortcut (H: finish, N: next): {now}"
    ActionChains(browser).send_keys("h").perform()  # «Hoàn thành», by hand: the citizen is asked to rate ...
    wait(browser, lambda b: "đang chờ công dân đánh giá" in b.find_element(By.ID, "danh-gia").text)
    assert browser.find_element(By.ID, "ho-so-cua-so").text == f"Hồ sơ của số {first}:"  # ... still theirs
    assert listed(browser) == ["HN-0042"]
    quiet(browser)
    scan(browser, "NV-0043")  # while they rate, a second dossier of theirs
    wait(browser, lambda b: listed(b) == ["HN-0042", "NV-0043"])
    assert (state.latest("counter/1/state") or {})["ticket"] is None, "N, V: nobody called, nobody skipped"
    with device(broker, center_id, "k2") as kiosk:
        assert kiosk.ticket("dat-dai")["ticket"]["waiting_ahead"] == 1, f"{second} still waits"


def slow_scan(browser: WebDriver, code: str, pauses: dict[int, float]) -> None:
    """A scanner that pauses now and then (a wireless one, or one set with a delay between characters): before the
    code's character at each index of `pauses`, that many seconds; the rest as fast as chromedriver types."""
    listen(browser)
    chain = ActionChains(browser)
    start = 0
    for index in sorted(pauses):
        chain.send_keys(code[start:index]).pause(pauses[index])
        start = index
    chain.send_keys(code[start:] + Keys.ENTER).perform()
    gaps, _ = heard(browser)
    slow = sorted(gaps)[-len(pauses):]
    assert all(SCAN_GAP_MS < gap < BURST_GAP_MS for gap in slow), f"the pauses were not as meant: {slow} ms"
    assert all(gap < SCAN_GAP_MS for gap in sorted(gaps)[:-len(pauses)]), f"chromedriver typed slowly: {gaps}"


def by_hand(browser: WebDriver, text: str) -> None:
    """A person typing into whatever has the focus, a key every 100 ms (chromedriver's own keys come as fast as a
    scanner's)."""
    chain = ActionChains(browser)
    for key in text:
        chain.send_keys(key).pause(0.1)
    chain.perform()


def test_a_scan_with_pauses_presses_no_button_and_loses_no_part_of_its_code(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher) -> None:
    """A pause of 80–250 ms inside a scan (over the 50 ms that starts one) neither cuts the code in two nor lets its
    Enter press the focused «Gọi tiếp»; a burst too short for a code is said, and presses nothing either."""
    first, second = serving(browser, console, center_id, broker)
    browser.execute_script("document.querySelector('button[data-action=next]').focus();")
    codes = [f"000.00.04.H12-{DAY}-0008", f"000.00.04.H12-{DAY}-0009", f"000.00.04.N05-{DAY}-0010"]
    for code, pauses in zip(codes, [{len(codes[0]) - 2: 0.08}, {20: 0.25}, {10: 0.12, 11: 0.12, 24: 0.15}],
                            strict=True):
        quiet(browser)
        slow_scan(browser, code, pauses)
        wait(browser, lambda b, code=code: code in listed(b))
        wait(browser, lambda b: said(b) == ("message ok", f"Đã gắn hồ sơ cho số {first}."))
    assert listed(browser) == codes
    until(lambda: retained_codes(state) == codes)
    quiet(browser)
    ActionChains(browser).send_keys("12" + Keys.ENTER).perform()  # a scan cut short: 2 keys, then Enter
    wait(browser, lambda b: said(b) == ("message error", "Quét chưa trọn mã, vui lòng quét lại."))
    ActionChains(browser).send_keys("b").perform()  # a person's shortcut still works: «Bắt đầu phục vụ»
    until(lambda: ((state.latest("counter/1/state") or {}).get("ticket") or {}).get("state") == "serving")
    now = state.latest("counter/1/state") or {}
    assert now["ticket"]["number"] == first and now["ticket"]["calls"] == 1, \
        f"a scan's Enter or letter worked as a button or shortcut: {now}"
    assert listed(browser) == codes
    with device(broker, center_id, "k2") as kiosk:
        assert kiosk.ticket("dat-dai")["ticket"]["waiting_ahead"] == 1, f"{second} still waits: nobody called it"


def test_a_scan_while_another_field_has_the_focus_goes_to_the_dossier(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher) -> None:
    """«Cho số» and «Gọi số» keep what the official typed there; the scanned code goes to the dossier, for the number
    in «Cho số» when one is typed, and calls nobody."""
    first, second = serving(browser, console, center_id, broker)
    number = browser.find_element(By.ID, "ho-so-cho-so")
    code_field = browser.find_element(By.ID, "ma-ho-so")
    number.click()
    by_hand(browser, first)  # «Cho số», then the scanner, "không cần bấm vào ô"
    codes = [f"000.00.04.H12-{DAY}-0011", f"000.00.04.H12-{DAY}-0012"]
    quiet(browser)
    gap, targets = scan(browser, codes[0])
    assert gap < SCAN_GAP_MS and targets == {"INPUT"}
    wait(browser, lambda b: listed(b) == codes[:1])
    wait(browser, lambda b: said(b) == ("message ok", f"Đã gắn hồ sơ cho số {first}."))
    assert number.get_attribute("value") == "", "«Cho số» is emptied as the form's «Gắn hồ sơ» empties it"
    assert code_field.get_attribute("value") == ""

    call = browser.find_element(By.ID, "so-can-goi")
    call.click()
    by_hand(browser, "B0")  # the official began a number to call
    quiet(browser)
    slow_scan(browser, codes[1], {20: 0.1})
    wait(browser, lambda b: listed(b) == codes[:2])
    assert call.get_attribute("value") == "B0", "the scan typed nothing into «Gọi số»"
    assert browser.execute_script("return document.activeElement.id") == "so-can-goi"

    until(lambda: retained_codes(state) == codes)
    now = state.latest("counter/1/state") or {}
    assert now["ticket"]["number"] == first and now["ticket"]["calls"] == 1, f"a scan called or moved: {now}"
    with device(broker, center_id, "k2") as kiosk:
        assert kiosk.ticket("dat-dai")["ticket"]["waiting_ahead"] == 1, f"{second} still waits: nobody called it"


@pytest.mark.parametrize("center_toml", [OWN_CODES], indirect=True)
def test_a_scan_while_the_area_list_has_the_focus_goes_to_the_dossier(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher) -> None:
    """After C (the area to transfer to) a scan is not lost, and its L picks no «Lĩnh vực nhỏ» in the list."""
    first, _ = serving(browser, console, center_id, broker)
    ActionChains(browser).send_keys("c").perform()
    wait(browser, lambda b: b.execute_script("return document.activeElement.id") == "linh-vuc-chuyen")
    chosen = browser.execute_script("return document.getElementById('linh-vuc-chuyen').value")
    areas = browser.execute_script("return [...document.getElementById('linh-vuc-chuyen').options].map((o) => o.value)")
    assert chosen != "nho" and "nho" in areas, "the list's type-ahead would pick «Lĩnh vực nhỏ» on an L"
    code = "LV-0042"
    quiet(browser)
    gap, targets = scan(browser, code)
    assert gap < SCAN_GAP_MS and targets == {"SELECT"}
    wait(browser, lambda b: listed(b) == [code])
    wait(browser, lambda b: said(b) == ("message ok", f"Đã gắn hồ sơ cho số {first}."))
    assert browser.execute_script("return document.getElementById('linh-vuc-chuyen').value") == chosen
    until(lambda: retained_codes(state) == [code])
    now = state.latest("counter/1/state") or {}
    assert now["ticket"]["number"] == first and now["ticket"]["area"] == "dat-dai", f"moved: {now}"


def test_what_is_typed_while_a_code_is_sent_is_kept(
        console: ConsoleProcess, browser: WebDriver, broker: LocalBroker, center_id: str, state: Watcher) -> None:
    """«Gắn hồ sơ» empties only the fields that still hold what it sent: the next code, begun meanwhile, stays."""
    first, _ = serving(browser, console, center_id, broker)
    field = browser.find_element(By.ID, "ma-ho-so")
    sent = f"000.00.04.H12-{DAY}-0014"
    field.send_keys(sent, Keys.ENTER, "000.00.04.H12-")  # the next code begun while the first is on its way
    wait(browser, lambda b: listed(b) == [sent])
    wait(browser, lambda b: said(b) == ("message ok", f"Đã gắn hồ sơ cho số {first}."))
    assert field.get_attribute("value") == "000.00.04.H12-"
