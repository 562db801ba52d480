"""The staff console as staff use it, in a real browser: sign in, take a counter, act through the page's keyboard
shortcuts and forms, read the answer the page gives, save what the page shows. Used by `make demo`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from devkit.browser import full_page_png

# The counter page's keyboard shortcuts (staff_console/templates/counter.html): an official's hands are on a keyboard.
KEYS = {"next": "n", "recall": "l", "start": "b", "finish": "h", "skip": "v", "pause": "t", "resume": "t"}
SENDING = "Đang gửi…"  # what the page says while the center has not answered yet
NOBODY = "Không còn công dân nào đang chờ."
SEATED = "Ông/Bà đang nhận quầy này."


@dataclass(frozen=True, slots=True)
class Answer:
    """What the page said about an action: done or refused, in its own words."""

    ok: bool
    text: str


class ConsolePage:
    """One browser session on the console at `url` (one thread drives it: WebDriver is not thread-safe)."""

    def __init__(self, driver: WebDriver, url: str, timeout_s: float = 10.0) -> None:
        self.driver = driver
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _wait(self, condition: Callable[[WebDriver], object], timeout_s: float | None = None) -> object:
        return WebDriverWait(self.driver, timeout_s or self.timeout_s, poll_frequency=0.03).until(condition)

    def text(self, element_id: str) -> str:
        return str(self.driver.find_element(By.ID, element_id).text)

    def sign_in(self, username: str, password: str) -> None:
        self.driver.get(f"{self.url}/dang-nhap")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password, Keys.ENTER)
        self._wait(lambda d: "/dang-nhap" not in d.current_url or d.find_elements(By.CSS_SELECTOR, ".error"))
        if "/dang-nhap" in self.driver.current_url:
            refusal = self.driver.find_element(By.CSS_SELECTOR, ".error").text
            raise RuntimeError(f"{username} could not sign in: {refusal}")

    def sign_out(self) -> None:
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/dang-xuat'] button").click()
        self._wait(lambda d: d.current_url.endswith("/dang-nhap"))

    def open_counter(self, counter_id: str) -> None:
        self.driver.get(f"{self.url}/quay/{counter_id}")
        self._wait(lambda d: d.find_element(By.ID, "trang-thai").text != "")

    def take_counter(self) -> None:
        """«Nhận quầy này»: the official sits at the open counter page's counter."""
        if SEATED in self.text("ngoi"):
            return
        self.driver.find_element(By.ID, "nut-ngoi").click()
        self._wait(lambda d: SEATED in d.find_element(By.ID, "ngoi").text)

    def open_floor(self) -> None:
        self.driver.get(f"{self.url}/san")
        self._wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#hom-nay .figure"))

    def choose_transfer(self, area: str) -> None:
        Select(self.driver.find_element(By.ID, "linh-vuc-chuyen")).select_by_value(area)

    def act(self, action: str, to_area: str | None = None, code: str | None = None) -> Answer | None:
        """Do `action` as an official does (its key; a transfer through its form; a dossier's `code` read by the
        barcode scanner, which types it and Enter at a scanner's speed) and wait for the page's answer; None when
        the page said nothing within the timeout."""
        # The answer line is emptied first, so the line read below is this action's answer, not the last one's.
        self.driver.execute_script("document.getElementById('thong-bao').textContent = '';")
        if action == "transfer":
            if to_area is not None:
                self.choose_transfer(to_area)
            self.driver.find_element(By.CSS_SELECTOR, "form#chuyen button[type=submit]").click()
        elif action == "dossier" and code is not None:  # no field holds the focus (a select would take the keys)
            self.driver.execute_script("document.activeElement && document.activeElement.blur();")
            ActionChains(self.driver).send_keys(code, Keys.ENTER).perform()
        else:
            ActionChains(self.driver).send_keys(KEYS[action]).perform()
        try:
            said = self._wait(lambda d: d.execute_script(
                "const m = document.getElementById('thong-bao');"
                "return m.textContent && m.textContent !== arguments[0] ? [m.className, m.textContent] : null;",
                SENDING))
        except TimeoutException:
            return None
        kind, text = (str(part) for part in said)  # type: ignore[attr-defined]
        return Answer("error" not in kind, text)

    def wait_shows(self, element_id: str, text: str, timeout_s: float = 2.0, *, exact: bool = False) -> bool:
        """Until the element's text contains `text`, or is it (`exact`): the page follows the center by its stream."""
        def shows(driver: WebDriver) -> bool:
            shown = driver.find_element(By.ID, element_id).text
            return bool(shown == text if exact else text in shown)

        try:
            self._wait(shows, timeout_s)
        except TimeoutException:
            return False
        return True

    def figure(self, label: str) -> int | None:
        """A number of the floor's «Hôm nay» figures, by its label (None when absent or not a count). Read in one
        script: the page replaces its elements at every update."""
        value = self.driver.execute_script(
            "for (const f of document.querySelectorAll('#hom-nay .figure'))"
            "  if (f.querySelector('.label').textContent === arguments[0])"
            "    return f.querySelector('.value').textContent;"
            "return null;", label)
        digits = str(value or "").replace(".", "")
        return int(digits) if digits.isdigit() else None

    def alerts(self) -> list[str]:
        texts = self.driver.execute_script(
            "return [...document.querySelectorAll('#canh-bao .alert')].map((a) => a.textContent);")
        return [str(text) for text in texts or []]

    def change_notice(self, text: str) -> str:
        """On the administrator's page: the hall boards' notice saved; what the page then says at its top."""
        self.driver.get(f"{self.url}/quan-tri")
        field = self._wait(lambda d: d.find_elements(By.ID, "noi-dung-thong-bao"))
        assert isinstance(field, list)
        field[0].clear()
        field[0].send_keys(text)
        self.driver.find_element(By.CSS_SELECTOR, "#thong-bao button").click()
        self._wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash .notice"))
        return str(self.driver.find_element(By.CSS_SELECTOR, ".flash").text)

    def open_history(self) -> None:
        self.driver.get(f"{self.url}/quan-tri/lich-su")
        self._wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".version"))

    def screenshot(self) -> bytes:
        """The whole page as PNG, below the window's fold too (the floor is a long page)."""
        return full_page_png(self.driver)

    def save(self, path: Path) -> Path:
        path.write_bytes(self.screenshot())
        return path
