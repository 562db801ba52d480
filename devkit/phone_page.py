"""A citizen's phone on the ticket's page (citizen_web), in a real browser at a phone's size: open the QR's address,
read what the page says, wait for it to change, rate, save what it shows. Used by `make demo` and the tests."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from devkit.browser import full_page_png, left


class PhonePage:
    def __init__(self, driver: WebDriver, timeout_s: float = 10.0) -> None:
        self.driver = driver
        self.timeout_s = timeout_s

    def open(self, url: str) -> None:
        self.driver.get(url)

    def state(self) -> str:
        """waiting, called, served, missed, voided, expired; "" on a page that is no ticket's."""
        found = self.driver.find_elements(By.ID, "phieu")
        return str(found[0].get_attribute("class") or "") if found else ""

    def text(self, element_id: str) -> str:
        return str(self.driver.find_element(By.ID, element_id).text)

    def status(self) -> tuple[str, str, str]:
        """The status box: the line before the big one, the big one, the line after."""
        return self.text("truoc"), self.text("lon"), self.text("sau")

    def notes(self) -> list[str]:
        return [str(item.text) for item in self.driver.find_elements(By.CSS_SELECTOR, "#ghi-chu li")]

    def reminder(self) -> str:
        """The page's reminder once as few as the citizen chose are ahead ("" when hidden)."""
        found = self.driver.find_elements(By.ID, "nhac")
        return str(found[0].text) if found and found[0].is_displayed() else ""

    def message(self) -> str:
        found = self.driver.find_elements(By.CSS_SELECTOR, ".message")
        return str(found[0].text) if found else ""

    def following(self) -> bool:
        """The page's script has had the stream's first event."""
        return bool(self.driver.execute_script("return window.dangTheoDoi === true;"))

    def wait_for(self, state: str, timeout_s: float | None = None) -> None:
        WebDriverWait(self.driver, timeout_s or self.timeout_s, poll_frequency=0.05).until(
            lambda _d: self.state() == state)

    def wait_for_ahead(self, ahead: int, timeout_s: float | None = None) -> None:
        WebDriverWait(self.driver, timeout_s or self.timeout_s, poll_frequency=0.05).until(
            lambda _d: self.state() == "waiting" and self.text("lon") == str(ahead))

    def levels(self) -> list[str]:
        """The rating buttons shown (their labels), none while the form is hidden."""
        form = self.driver.find_elements(By.ID, "danh-gia")
        if not form or not form[0].is_displayed():
            return []
        return [str(button.text) for button in form[0].find_elements(By.TAG_NAME, "button")]

    def rate(self, level: str) -> None:
        """Press the level's button and wait for the page that comes back (the form posts: no script needed)."""
        button = self.driver.find_element(By.CSS_SELECTOR, f"#danh-gia button[value='{level}']")
        button.click()
        WebDriverWait(self.driver, self.timeout_s, poll_frequency=0.05).until(lambda _d: left(button))

    def choose_notice(self, ahead: int) -> None:
        Select(self.driver.find_element(By.ID, "con-lai")).select_by_value(str(ahead))

    def save(self, path: Path) -> Path:
        """The whole page as a PNG, as the phone shows it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(full_page_png(self.driver))
        return path
