"""A citizen booking on the public web (citizen_web's /dat-lich, /so-tu-xa, /lich-hen) in a real browser: follow the
links a citizen taps, fill the form, read the confirmation, look the booking up and cancel it, save what the phone
shows. Used by the tests (and fit for `make demo`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from devkit.browser import full_page_png, left


class BookingPage:
    def __init__(self, driver: WebDriver, base_url: str, timeout_s: float = 10.0) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def choices(self) -> list[str]:
        """The lines of the page's list of choices (areas, days or slots), as shown: "08:00–08:30\nCòn 2 chỗ"."""
        return [str(item.text) for item in self.driver.find_elements(By.CSS_SELECTOR, "ul.choices li")]

    def choose(self, starting: str) -> None:
        """Tap the choice whose text starts with `starting` (an area's name, a day, a slot's times)."""
        for link in self.driver.find_elements(By.CSS_SELECTOR, "ul.choices a"):
            if str(link.text).startswith(starting):
                self._leave_by(link.click, link)
                return
        raise AssertionError(f"no choice starting {starting!r} among {self.choices()}")

    def fill(self, cccd: str, phone: str, *, consent: bool = True, area: str | None = None) -> None:
        """The identity form (a slot's, or a remote number's with its `area` id)."""
        if area is not None:
            self.driver.find_element(By.CSS_SELECTOR, f"input[name='linh_vuc'][value='{area}']").click()
        self._type("cccd", cccd)
        self._type("dien-thoai", phone)
        box = self.driver.find_element(By.ID, "dong-y")
        if box.is_selected() != consent:
            box.click()

    def submit(self) -> None:
        """Press the form's button and wait for the page the server answers with."""
        button = self.driver.find_element(By.CSS_SELECTOR, "form.fields button.go")
        self._leave_by(button.click, button)

    def double_tap(self) -> None:
        """The form sent twice at once, as an impatient thumb does (the browser keeps the second navigation)."""
        form = self.driver.find_element(By.CSS_SELECTOR, "form.fields")
        self._leave_by(lambda: self.driver.execute_script(
            "const f = arguments[0]; f.requestSubmit(); f.requestSubmit();", form), form)

    def look_up(self, code: str, cccd: str) -> None:
        self.open("/lich-hen")
        self._type("ma-dat", code)
        self._type("cccd", cccd)
        self.submit()

    def cancel(self, cccd: str) -> None:
        self._type("cccd-huy", cccd)
        button = self.driver.find_element(By.CSS_SELECTOR, "#huy button")
        self._leave_by(button.click, button)

    def text(self, element_id: str) -> str:
        found = self.driver.find_elements(By.ID, element_id)
        return str(found[0].text) if found else ""

    def code(self) -> str:
        """The booking code shown, grouped as shown ("1234 5678"); "" on a page without one."""
        return self.text("ma")

    def message(self) -> str:
        """The page's refusal or notice ("" when none)."""
        found = self.driver.find_elements(By.CSS_SELECTOR, ".message")
        return str(found[0].text) if found else ""

    def qr_loaded(self) -> bool:
        """The QR image is shown (loaded, not broken: the CSP lets it in)."""
        return bool(self.driver.execute_script(
            "const i = document.getElementById('qr'); return !!i && i.complete && i.naturalWidth > 0;"))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(full_page_png(self.driver))
        return path

    def _type(self, element_id: str, text: str) -> None:
        field = self.driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(text)

    def _leave_by(self, action: Callable[[], object], element: WebElement) -> None:
        """Do what leaves the page, and wait until the next one has loaded."""
        action()
        WebDriverWait(self.driver, self.timeout_s, poll_frequency=0.05).until(lambda _d: left(element))
        WebDriverWait(self.driver, self.timeout_s, poll_frequency=0.05).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
