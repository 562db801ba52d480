"""The terminal with its real GPIO adapter on gpiozero's MockFactory, the real agent in this
process, a real Mosquitto and server: a finger on the Next pin calls a ticket; the rating LEDs
light; a finger on a rating button is counted."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from devkit.local_broker import LocalBroker
from protocol.link import MqttLink
from protocol.topics import Topics
from rating_terminal.agent import TerminalAgent
from rating_terminal.config import load
from rating_terminal.hardware import GpiozeroTerminal
from rating_terminal.model import Key
from rating_terminal.outbox import Outbox
from tests.harness import ServerProcess, device

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TOML = """
[terminal]
counter = "1"
center = "{center_id}"
outbox = "{outbox}"

[mqtt]
url = "{url}"

[keys]
next = 5
finish = 19

[pins]
feedback_led = 20

[[ratings]]
level = "very_satisfied"
button = 17
led = 4

[[ratings]]
level = "satisfied"
button = 27
led = 23

[[ratings]]
level = "dissatisfied"
button = 22
led = 24
"""


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    saved, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved


def wait(condition: object, what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)  # polling hardware pins and the store from beside the agent's loop


def tap(pins: MockFactory, pin: int) -> None:
    pins.pin(pin).drive_low()
    time.sleep(0.06)  # a finger on the button longer than the debounce
    pins.pin(pin).drive_high()


def test_keys_and_rating_buttons_on_gpio(mock_pins: MockFactory, server: ServerProcess, broker: LocalBroker,
                                         center_id: str, tmp_path: Path) -> None:
    path = tmp_path / "counter.toml"
    path.write_text(TOML.format(center_id=center_id, outbox=tmp_path / "outbox.db", url=broker.url),
                    encoding="utf-8")
    config = load(path)
    holder: list[TerminalAgent] = []
    hardware = GpiozeroTerminal(config.keys, [(r.button, r.led) for r in config.ratings],
                                config.feedback_led, None, lambda event: holder[0].press(event))
    link = MqttLink(config.mqtt, client_id=config.client_id, status_topic=Topics(center_id).device_status("c1"))
    agent = TerminalAgent(config, link, hardware, Outbox(config.outbox), clock=lambda: datetime.now(ZONE))
    holder.append(agent)
    stop = threading.Event()
    failure: list[BaseException] = []
    database = server.config.parent / "center.db"

    def ticket_states() -> list[tuple[str, str]]:
        with sqlite3.connect(database) as db:
            return list(db.execute("SELECT shown, state FROM tickets ORDER BY seq"))

    def scenario() -> None:
        try:
            wait(lambda: agent.flow.online, "the terminal never reached the server")
            with device(broker, center_id) as kiosk:
                kiosk.ticket("dat-dai")
            tap(mock_pins, config.keys[Key.NEXT])
            wait(lambda: ticket_states() == [("1001", "called")], "next did not call the ticket")
            tap(mock_pins, config.keys[Key.FINISH])
            leds = [mock_pins.pin(r.led) for r in config.ratings]
            wait(lambda: all(led.state for led in leds), "the rating LEDs did not light")
            tap(mock_pins, 27)  # "satisfied"
            with sqlite3.connect(database) as db:
                wait(lambda: db.execute("SELECT level FROM ratings").fetchall() == [("satisfied",)],
                     "the rating was not counted")
        except BaseException as exc:
            failure.append(exc)
        finally:
            stop.set()

    threading.Thread(target=scenario, daemon=True).start()
    agent.run(stop)
    if failure:
        raise failure[0]
