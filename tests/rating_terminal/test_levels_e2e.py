"""The center changes its rating levels while a citizen is about to rate: a real Mosquitto, the real agent in
this process with its real GPIO adapter on gpiozero's MockFactory; the test plays the center (its retained
`config`, `server/status` and counter state, and the rating's ack). A three-button terminal whose center
goes from three levels to five sends `very_dissatisfied` from its third button, with no edit of its file."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from devkit.local_broker import LocalBroker
from devkit.terminal_config import example_config
from protocol.link import Message, MqttLink
from protocol.messages import (
    AreaInfo,
    CenterConfigMessage,
    CounterStateMessage,
    RatingRecorded,
    RatingWindow,
    Status,
    TicketView,
)
from protocol.topics import Topics
from rating_terminal.agent import TerminalAgent
from rating_terminal.config import load
from rating_terminal.hardware import Blink, GpiozeroTerminal, Patterns
from rating_terminal.outbox import Outbox
from tests.harness import TIMEOUT, device

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
THREE = ("very_satisfied", "satisfied", "dissatisfied")
FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
FAST = Patterns(thank_you=Blink(0.01, 0.01, 3))


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    saved, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved


def wait(condition: Callable[[], object], what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)  # polling pins and the flow from beside the agent's loop


def center_config(center_id: str, levels: tuple[str, ...]) -> bytes:
    return CenterConfigMessage(center_id, "Rạch Giá", (AreaInfo("dat-dai", "Đất đai", "", 1001, 1999),), (),
                               levels).to_wire()


def rating_window() -> bytes:
    """Counter 1's state once ticket t1 is done: its citizen may rate for two minutes."""
    now = datetime.now(ZONE)
    ticket = TicketView("t1", "1001", "dat-dai", "Đất đai", now - timedelta(minutes=5), "none", "done", "1")
    return CounterStateMessage("1", "Quầy 1", "idle", ticket, RatingWindow("t1", "1001", now + timedelta(minutes=2))
                               ).to_wire()


def pending(path: Path) -> int:
    """How many ratings the outbox on disk still has to send (read as a restarted terminal would)."""
    outbox = Outbox(path)
    try:
        return len(outbox.pending())
    finally:
        outbox.close()


def test_a_three_button_terminal_follows_the_center_from_three_levels_to_five(
    mock_pins: MockFactory, broker: LocalBroker, center_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "counter.toml"
    path.write_text(example_config("1", center_id, tmp_path / "outbox.db", broker.url), encoding="utf-8")
    config = load(path)  # the shipped example: three buttons labelled very_satisfied, satisfied, dissatisfied
    topics = Topics(center_id)
    holder: list[TerminalAgent] = []
    hardware = GpiozeroTerminal(config.keys, [(r.button, r.led) for r in config.ratings], config.feedback_led,
                                config.buzzer, lambda event: holder[0].press(event), patterns=FAST)
    link = MqttLink(config.mqtt, client_id=config.client_id, status_topic=topics.device_status(config.device_id))
    agent = TerminalAgent(config, link, hardware, Outbox(config.outbox), clock=lambda: datetime.now(ZONE))
    holder.append(agent)
    leds = [mock_pins.pin(r.led) for r in config.ratings]
    ratings: queue.Queue[Message] = queue.Queue()
    stop = threading.Event()
    failure: list[BaseException] = []

    def scenario() -> None:
        try:
            with device(broker, center_id, "center") as center:
                center.link.subscribe(topics.counter_rating("1"), ratings.put)
                for topic, payload in ((topics.config(), center_config(center_id, THREE)),
                                       (topics.server_status(), Status(True).to_wire()),
                                       (topics.counter_state("1"), rating_window())):
                    center.link.publish(topic, payload, retain=True)
                wait(lambda: agent.flow.meaning == THREE and all(led.state for led in leds),
                     "the three levels did not light the three buttons")
                center.link.publish(topics.config(), center_config(center_id, FIVE), retain=True)  # the center changes
                wait(lambda: agent.flow.meaning == ("very_satisfied", "neutral", "very_dissatisfied"),
                     "the five levels did not reach the buttons")
                assert agent.flow.armed == "t1" and all(led.state for led in leds), "still armed: every button lit"
                button = mock_pins.pin(config.ratings[2].button)  # the third button, labelled "dissatisfied"
                button.drive_low()
                time.sleep(0.06)  # a finger on the button longer than the debounce
                button.drive_high()
                sent = json.loads(ratings.get(timeout=TIMEOUT).payload)
                assert (sent["ticket_id"], sent["level"]) == ("t1", "very_dissatisfied")
                center.link.publish(topics.rating_ack("1"),
                                    RatingRecorded(sent["rating_id"], "t1", "very_dissatisfied").to_wire())
                wait(lambda: not pending(config.outbox), "the acknowledged rating stayed in the outbox")
                wait(lambda: not any(led.state for led in leds) and len(leds[2].states) >= 7,
                     "the third button's thank-you did not blink")
                assert [len(led.states) for led in leds[:2]] == [3, 3], "the others: off, on, off"
        except BaseException as exc:
            failure.append(exc)
        finally:
            stop.set()

    threading.Thread(target=scenario, daemon=True).start()
    with caplog.at_level(logging.INFO, logger="rating_terminal.agent"):
        agent.run(stop)
    if failure:
        raise failure[0]
    said = [f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.name == "rating_terminal.agent"]
    assert "INFO buttons 1..3 -> very_satisfied, satisfied, dissatisfied" in said
    assert "INFO buttons 1..3 -> very_satisfied, neutral, very_dissatisfied" in said
    assert ("WARNING button 3 is labelled 'dissatisfied' but now means 'very_dissatisfied': change its sticker "
            "(to \"Rất không hài lòng\")") in said
