"""End to end: a real Mosquitto and server; the board agent with its screen (dummy video), a voice
that records what it says, and LED displays on a pty; a counter presses next."""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.local_broker import LocalBroker
from display_board.agent import BoardAgent
from display_board.config import load
from display_board.led_display import LedContent, QmsFrameCodec, SerialLedDisplay
from display_board.screen import PygameBoardScreen
from display_board.voice import PAUSE, FakeVoice
from protocol.link import MqttLink
from protocol.topics import Topics
from tests.harness import ServerProcess, device

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BOARD_TOML = """
[board]
id = "board-1"
center = "{center_id}"

[mqtt]
url = "{url}"

[screen]
width = 1366
height = 768
fullscreen = false
notice = "Xin cảm ơn quý công dân"

[leds]
port = "{port}"
protocol = "qms"
digits = 4
[[leds.displays]]
counter = "1"
address = 1
[[leds.displays]]
counter = "2"
address = 2
"""


@pytest.fixture
def bus() -> Iterator[tuple[str, int]]:
    controller, display = pty.openpty()
    tty.setraw(controller)
    tty.setraw(display)
    yield os.ttyname(display), controller
    os.close(controller)
    os.close(display)


def read_frames(fd: int, count: int, timeout_s: float = 10.0) -> list[tuple[int, LedContent]]:
    """`count` QMS frames from the bus, decoded."""
    data = b""
    frames: list[tuple[int, LedContent]] = []
    deadline = time.monotonic() + timeout_s
    while len(frames) < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"{len(frames)} of {count} LED frames")
        data += os.read(fd, 4096)
        while len(data) >= 4 and len(data) >= 6 + data[3]:
            size = 6 + data[3]
            frames.append(QmsFrameCodec.decode(data[:size]))
            data = data[size:]
    return frames


def test_next_shows_on_the_board_is_spoken_and_lights_the_counters_display(
    server: ServerProcess, broker: LocalBroker, center_id: str, bus: tuple[str, int], tmp_path: Path
) -> None:
    port, fd = bus
    path = tmp_path / "board.toml"
    path.write_text(BOARD_TOML.format(center_id=center_id, url=broker.url, port=port), encoding="utf-8")
    config = load(path)
    screen = PygameBoardScreen(1366, 768, fullscreen=False)
    voice = FakeVoice()
    agent = BoardAgent(config, MqttLink(config.mqtt, client_id=config.client_id,
                                        status_topic=Topics(center_id).device_status("board-1")),
                       screen=screen, voice=voice, leds=SerialLedDisplay(port, QmsFrameCodec()),
                       clock=lambda: datetime.now(ZONE))
    stop = threading.Event()
    seen: dict[str, Any] = {}
    failure: list[BaseException] = []

    def scenario() -> None:
        try:
            deadline = time.monotonic() + 15
            while not agent.flow.online:
                assert time.monotonic() < deadline, "the board never came online"
                time.sleep(0.02)  # polling the agent's state from beside its loop
            seen["before"] = read_frames(fd, 2)  # the retained state of both counters: idle
            with device(broker, center_id) as counter:
                counter.ticket("dat-dai")
                counter.command("1", "next")
            seen["after"] = read_frames(fd, 1)
            while not voice.said:
                assert time.monotonic() < deadline + 10, "nothing was said"
                time.sleep(0.02)
            seen["view"] = agent.flow.view()
            screen.save(tmp_path / "board.png")
        except BaseException as exc:
            failure.append(exc)
        finally:
            stop.set()

    threading.Thread(target=scenario, daemon=True).start()
    agent.run(stop)
    if failure:
        raise failure[0]
    assert sorted(seen["before"]) == [(1, LedContent.idle()), (2, LedContent.idle())]
    assert seen["after"] == [(1, LedContent.serving("1001"))]
    sentence = "mời công dân có số một nghìn không trăm linh một đến quầy số một"
    assert voice.said == [[*sentence.split(), PAUSE, *sentence.split()]], "a new call is said twice"
    view = seen["view"]
    assert view.newest.number == "1001" and view.newest.counter_name == "Quầy 1" and view.highlight
    assert (tmp_path / "board.png").stat().st_size > 10_000
