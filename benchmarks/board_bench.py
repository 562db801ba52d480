"""`make bench` for the hall board: call to board, and the agent's footprint.

Call to board: a counter's `next` sent -> the board has drawn the call and the counter's LED
frame is on the serial line, through a real Mosquitto and the real central server. Footprint:
the real `python -m display_board` (dummy video and audio drivers) showing a blinking call and
the scrolling notice: CPU share and RSS.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import threading
import time
import tty
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from benchmarks.kiosk_bench import rss_mb, wait_for_status
from benchmarks.server_bench import Server, percentiles, process_cpu_s, wait_online
from devkit.local_broker import LocalBroker
from display_board.agent import BoardAgent
from display_board.config import load
from display_board.led_display import QmsFrameCodec, SerialLedDisplay
from display_board.model import BoardView
from display_board.screen import PygameBoardScreen
from display_board.voice import FakeVoice
from protocol.config import MqttSettings
from protocol.link import MqttLink
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CENTER = "bench-board"
CALLS = 200
BOARD_TOML = """[board]\nid = "board-1"\ncenter = "{center}"\n[mqtt]\nurl = "{url}"\n
[screen]\nwidth = 1920\nheight = 1080\nfullscreen = false\nnotice = "Xin cảm ơn quý công dân đã đến Trung tâm."\n
[voice]\nenabled = {voice}\n
[leds]\nport = "{port}"\nprotocol = "qms"\n[[leds.displays]]\ncounter = "1"\naddress = 1\n"""


class TimedScreen(PygameBoardScreen):
    """The real screen, noting when a number was first drawn as the newest call."""

    def __init__(self) -> None:
        super().__init__(1920, 1080, fullscreen=False)
        self.drawn: dict[str, float] = {}

    def show(self, view: BoardView) -> None:
        super().show(view)
        if view.newest is not None:
            self.drawn.setdefault(view.newest.number, time.perf_counter())


def call_to_board(folder: Path, broker: LocalBroker) -> dict[str, Any]:
    controller, display = pty.openpty()
    tty.setraw(controller)
    tty.setraw(display)
    path = folder / "board.toml"
    path.write_text(BOARD_TOML.format(center=CENTER, url=broker.url, port=os.ttyname(display), voice="false"),
                    encoding="utf-8")
    config = load(path)
    screen = TimedScreen()
    agent = BoardAgent(config, MqttLink(config.mqtt, client_id="bench-board", status_topic="x/board/status"),
                       screen=screen, voice=FakeVoice(), leds=SerialLedDisplay(os.ttyname(display), QmsFrameCodec()),
                       clock=lambda: datetime.now(ZONE))
    stop = threading.Event()
    latencies: list[float] = []
    led_latencies: list[float] = []

    def scenario() -> None:
        try:
            topics = Topics(CENTER)
            counter = MqttLink(MqttSettings(broker.host, broker.port), client_id="bench-counter",
                               status_topic=topics.device_status("bench-counter"))
            counter.start()
            counter.wait_ready(10)
            for n in range(CALLS):
                body = json.dumps({"v": 1, "request_id": f"t{n}", "area": "dat-dai"}).encode()
                counter.request(topics.ticket_request("k1"), body, response_topic=topics.ticket_response("k1"),
                                timeout_s=5)
            while not agent.flow.online:
                time.sleep(0.01)  # the board subscribes before the calls start
            _drain(controller)
            for n in range(CALLS):
                number = f"{n + 1:04d}"  # dat-dai runs 1..9999: shown as 0001
                started = time.perf_counter()
                body = json.dumps({"v": 1, "request_id": f"n{n}", "action": "next"}).encode()
                counter.publish(topics.counter_command("1"), body, correlation=b"c",
                                response_topic=topics.counter_command_response("1"))
                _read_led(controller, number)
                led_latencies.append((time.perf_counter() - started) * 1000)
                while number not in screen.drawn:
                    time.sleep(0.0005)  # the frame follows the LED within one loop
                latencies.append((screen.drawn[number] - started) * 1000)
            counter.stop()
        finally:
            stop.set()

    threading.Thread(target=scenario, daemon=True).start()
    agent.run(stop)
    os.close(controller)
    os.close(display)
    return {"name": "board_call_to_board", "n": len(latencies), **percentiles(latencies),
            "led": percentiles(led_latencies), "target_p95_ms": 100}


def _drain(fd: int) -> None:
    while select.select([fd], [], [], 0.2)[0]:
        os.read(fd, 4096)


def _read_led(fd: int, number: str) -> None:
    data = b""
    while number.encode() not in data:
        if not select.select([fd], [], [], 10)[0]:
            raise TimeoutError(f"no LED frame for {number}")
        data += os.read(fd, 4096)


def footprint(folder: Path, broker: LocalBroker) -> dict[str, Any]:
    controller, display = pty.openpty()
    tty.setraw(controller)
    path = folder / "board-idle.toml"
    path.write_text(BOARD_TOML.format(center=CENTER, url=broker.url, port=os.ttyname(display), voice="false"),
                    encoding="utf-8")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "display_board", "--config", str(path)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready_s = wait_for_status(broker, Topics(CENTER).device_status("board-1"), started)
        time.sleep(2)
        cpu_before, wall_before = process_cpu_s(process.pid), time.perf_counter()
        time.sleep(10)
        cpu = (process_cpu_s(process.pid) - cpu_before) / (time.perf_counter() - wall_before)
        rss = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)
        os.close(controller)
        os.close(display)
    return {"name": "board_footprint_scrolling_notice", "cpu_percent": round(cpu * 100, 2), "rss_mb": round(rss, 1),
            "ready_s": round(ready_s, 2), "targets": {"cpu_percent": 5, "rss_mb": 120}}


def main() -> None:
    from benchmarks.kiosk_bench import center_toml

    with tempfile.TemporaryDirectory(prefix="qms-board-bench-") as tmp, LocalBroker(Path(tmp)) as broker:
        folder = Path(tmp)
        server = Server(center_toml(folder, broker, CENTER), broker)
        try:
            import asyncio

            asyncio.run(wait_online(broker, Topics(CENTER)))
            print(json.dumps(call_to_board(folder, broker)), flush=True)
            print(json.dumps(footprint(folder, broker)), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
