"""End to end: a real Mosquitto, the real central server, the kiosk agent with a loopback printer
and the pygame screen (dummy video driver); a simulated finger touches an area."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pygame
import pytest
from escpos.printer import Network

from devkit.local_broker import LocalBroker
from devkit.loopback_printer import LoopbackPrinter
from kiosk.__main__ import open_scanner
from kiosk.agent import KioskAgent
from kiosk.config import load
from kiosk.journal import Journal
from kiosk.model import (
    NO_BROKER,
    NO_SERVER,
    NOT_ISSUED,
    PrinterStatus,
    Screen,
    area_target,
)
from kiosk.printer import EscposPrinter
from kiosk.screen import PygameDisplay
from kiosk.ticket_layout import TicketFonts
from protocol.link import MqttLink
from protocol.topics import Topics
from tests.harness import ServerProcess, device, watching

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
KIOSK_TOML = """
[kiosk]
id = "k1"
center = "{center_id}"

[mqtt]
url = "{url}"

[screen]
width = 800
height = 480
fullscreen = false

[printer]
connection = "network"
host = "127.0.0.1"
port = {port}
paper = "58mm"

[ticket]
qr = "https://dichvucong.example.vn/hang-doi?ve={{ticket_id}}"
save_dir = "{tickets}"
"""


@pytest.fixture
def printer() -> Iterator[LoopbackPrinter]:
    loopback = LoopbackPrinter()
    yield loopback
    loopback.close()


class Kiosk:
    """The agent on this (main) thread, as pygame wants; the scenario runs beside it."""

    def __init__(self, folder: Path, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, *,
                 extra_toml: str = "") -> None:
        """`extra_toml`: more of the kiosk's config (a [scanner]); its scanner is made as `python -m kiosk` makes it."""
        path = folder / "kiosk.toml"
        path.write_text(KIOSK_TOML.format(center_id=center_id, url=broker.url, port=printer.port,
                                          tickets=folder / "tickets") + extra_toml, encoding="utf-8")
        self.config = load(path)
        self.display = PygameDisplay(800, 480, fullscreen=False)
        self.scanner = open_scanner(self.config, self.display)
        link = MqttLink(self.config.mqtt, client_id=self.config.client_id,
                        status_topic=Topics(center_id).device_status("k1"))
        self.agent = KioskAgent(
            self.config, link, EscposPrinter(Network("127.0.0.1", printer.port, timeout=2), can_query_status=True),
            display=self.display, clock=lambda: datetime.now(ZONE), fonts=TicketFonts.default(),
            journal=Journal(folder / "journal.db"), scanner=self.scanner,
        )

    def run(self, scenario: Callable[[], None]) -> None:
        stop = threading.Event()
        failure: list[BaseException] = []

        def guarded() -> None:
            try:
                scenario()
            except BaseException as exc:
                failure.append(exc)
            finally:
                stop.set()

        threading.Thread(target=guarded, daemon=True).start()
        try:
            self.agent.run(stop)
        finally:
            if self.scanner is not None:
                self.scanner.close()
        if failure:
            raise failure[0]

    def wait_for(self, screen: Screen, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.agent.flow.view().screen is not screen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"screen is {self.agent.flow.view().screen}, not {screen}")
            time.sleep(0.02)  # polling the agent's state from the scenario thread

    def on_screen(self, target: str, timeout_s: float = 5.0) -> tuple[int, int]:
        """Where `target` is, once a frame shows it (a frame follows the flow's change of screen)."""
        deadline = time.monotonic() + timeout_s
        while (centre := self.display.target_centre(target)) is None:
            assert time.monotonic() < deadline, f"{target} is not on screen"
            time.sleep(0.01)  # polling the agent's frames from the scenario thread
        return centre

    def touch(self, target: str) -> None:
        self.touch_at(self.on_screen(target))

    def touch_at(self, centre: tuple[int, int]) -> None:
        width, height = self.display.size
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=centre[0] / width, y=centre[1] / height,
                                             touch_id=0, finger_id=0, dx=0, dy=0, pressure=1.0))


def stored_numbers(server: ServerProcess) -> list[tuple[str, str]]:
    database = server.config.parent / "center.db"
    with sqlite3.connect(database) as db:
        return list(db.execute("SELECT id, shown FROM tickets ORDER BY seq"))


def test_a_touch_prints_the_number_the_server_allocated(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, broker, center_id, printer)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        kiosk.touch(area_target("dat-dai"))
        seen["job"] = printer.wait_for_cuts(1)[0]
        kiosk.wait_for(Screen.TICKET)
        seen["view"] = kiosk.agent.flow.view()

    kiosk.run(scenario)
    [(ticket_id, number)] = stored_numbers(server)
    job = seen["job"]
    assert number == "1001" and number.encode() in bytes(job.text)
    assert f"ve={ticket_id}".encode() in bytes(job.data), "the QR names the ticket"
    assert seen["view"].ticket.number == number
    saved = list((tmp_path / "tickets").glob("*.png"))
    assert [p.name for p in saved] == [f"{ticket_id}-{number}.png"]


def test_paper_out_is_shown_reported_and_no_number_is_requested(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    printer.state = PrinterStatus.PAPER_OUT
    kiosk = Kiosk(tmp_path, broker, center_id, printer)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        with watching(broker, center_id, "device/k1/status") as status:
            kiosk.wait_for(Screen.PRINTER_PROBLEM)
            while (body := status.next()[1]).get("printer") != "paper_out":
                pass
            seen["status"] = body
        seen["message"] = kiosk.agent.flow.view().message

    kiosk.run(scenario)
    assert seen["status"]["online"] is True
    assert seen["message"] == "Máy in hết giấy, vui lòng liên hệ cán bộ hướng dẫn"
    assert stored_numbers(server) == []


def printer_events(server: ServerProcess) -> list[tuple[bool, str | None]]:
    """What the server recorded of kiosk k1 (online, its printer's state), oldest first.

    A kiosk may announce itself online before its first printer query returns (its state then unknown):
    such a status says nothing of the printer and is left out."""
    with sqlite3.connect(server.config.parent / "center.db") as db:
        details = [json.loads(d) for (d,) in db.execute("SELECT detail FROM events WHERE kind = 'device' ORDER BY seq")]
    return [(d["online"], d.get("printer")) for d in details if d["device"] == "k1" and "printer" in d]


def wait_until(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # polling another process's database


def test_paper_running_out_mid_morning_hands_out_no_unprinted_number_and_the_server_knows(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, broker, center_id, printer)

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        kiosk.touch(area_target("dat-dai"))
        printer.wait_for_cuts(1)
        kiosk.wait_for(Screen.MENU, timeout_s=20)
        button = kiosk.on_screen(area_target("dat-dai"))
        printer.state = PrinterStatus.PAPER_OUT  # the roll ends between two citizens
        kiosk.wait_for(Screen.PRINTER_PROBLEM, timeout_s=15)
        wait_until(lambda: kiosk.display.target_centre(area_target("dat-dai")) is None, timeout_s=5)  # drawn
        kiosk.touch_at(button)
        wait_until(lambda: printer_events(server)[-1:] == [(True, "paper_out")])
        printer.state = PrinterStatus.READY  # a new roll
        kiosk.wait_for(Screen.MENU, timeout_s=15)
        kiosk.touch(area_target("dat-dai"))
        printer.wait_for_cuts(2)
        wait_until(lambda: printer_events(server)[-1:] == [(True, "ready")])

    kiosk.run(scenario)
    printed = [bytes(job.text) for job in printer.wait_for_cuts(2)]
    numbers = [number for _, number in stored_numbers(server)]
    assert numbers == ["1001", "1002"]  # the touch where the button was, while the paper was out, made none
    assert all(number.encode() in text for number, text in zip(numbers, printed, strict=True))
    assert printer_events(server)[:3] == [(True, "ready"), (True, "paper_out"), (True, "ready")]


def test_the_broker_gone_is_said_and_the_kiosk_comes_back_by_itself(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, broker, center_id, printer)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        broker.stop()
        kiosk.wait_for(Screen.OFFLINE, timeout_s=2)
        wait_until(lambda: kiosk.agent.flow.view().message == NO_BROKER, timeout_s=5)
        broker.start()
        kiosk.wait_for(Screen.MENU, timeout_s=30)  # reconnected, and the server's state is back
        kiosk.touch(area_target("tu-phap"))
        seen["job"] = printer.wait_for_cuts(1)[0]

    kiosk.run(scenario)
    assert b"B001" in bytes(seen["job"].text)


def test_a_kiosk_without_a_server_says_the_server_is_away_and_why_in_its_log(
    broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = Kiosk(tmp_path, broker, center_id, printer)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.OFFLINE, timeout_s=15)  # after the first seconds, not "starting" for ever
        seen["view"] = kiosk.agent.flow.view()

    with caplog.at_level(logging.INFO, logger="kiosk.agent"):
        kiosk.run(scenario)
    assert seen["view"].message == NO_SERVER
    assert "the broker is reached but the server is not online" in caplog.text


def ticket_states(server: ServerProcess) -> list[tuple[str, str]]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return list(db.execute("SELECT shown, state FROM tickets ORDER BY seq"))


def test_a_ticket_answered_but_never_printed_before_a_stop_is_voided_when_the_kiosk_comes_back(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.db")  # what a kiosk killed between the answer and the print left
    journal.asked("lost")
    with device(broker, center_id, "k1-before") as before:
        made = before.ticket("dat-dai", kiosk="k1", request_id="lost")["ticket"]
    journal.answered("lost", made["id"])
    journal.close()
    kiosk = Kiosk(tmp_path, broker, center_id, printer)  # the same journal file
    kiosk.run(lambda: wait_until(lambda: ticket_states(server) == [("1001", "voided")], timeout_s=20))
    assert printer.cut_jobs == [], "nothing was printed: the citizen had left"


def test_a_request_given_up_while_the_server_was_frozen_leaves_no_ticket_nobody_holds(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, broker, center_id, printer)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)  # frozen: the request waits (in the broker or the socket)
        try:
            kiosk.touch(area_target("dat-dai"))
            kiosk.wait_for(Screen.REFUSED, timeout_s=15)  # the kiosk gave up after 8 s
            seen["message"] = kiosk.agent.flow.view().message
        finally:
            server.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: settled(server), timeout_s=20)
        time.sleep(1.0)  # a late request would have been acted on by now
        seen["states"] = ticket_states(server)

    def settled(server: ServerProcess) -> bool:
        """The kiosk's cancel was acted on: either it came first (the request expired in the broker or the
        server, or comes after it and is refused), or the ticket the late request made is voided."""
        states = ticket_states(server)
        if states:
            return all(state == "voided" for _, state in states)
        return "cancelled before it arrived" in server.log.read_text(encoding="utf-8")

    kiosk.run(scenario)
    assert seen["message"] == NOT_ISSUED
    assert all(state == "voided" for _, state in seen["states"]), seen["states"]
    assert settled(server)
    assert printer.cut_jobs == []
