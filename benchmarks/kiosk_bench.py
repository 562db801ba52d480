"""`make bench` for the kiosk: press to paper, and the agent's idle footprint.

Press to paper: a simulated finger on the menu -> the last byte of the ticket at a loopback
ESC/POS printer, through a real Mosquitto and the real central server. Footprint: the real
`python -m kiosk` process (dummy video driver), idle on its menu: CPU share, RSS, time to ready.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame
from escpos.printer import Network

from benchmarks.server_bench import UNLIMITED, Server, percentiles, process_cpu_s, wait_online
from devkit.local_broker import LocalBroker
from devkit.loopback_printer import LoopbackPrinter
from kiosk.agent import KioskAgent
from kiosk.config import load
from kiosk.flow import Timings
from kiosk.journal import Journal
from kiosk.model import Screen, area_target
from kiosk.printer import EscposPrinter
from kiosk.screen import PygameDisplay
from kiosk.ticket_layout import TicketFonts
from protocol.link import MqttLink
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TICKETS = 200
TARGET = area_target("dat-dai")
CENTER = "bench-kiosk"
KIOSK_TOML = """[kiosk]\nid = "k1"\ncenter = "{center}"\n[mqtt]\nurl = "{url}"\n
[screen]\nwidth = 800\nheight = 480\nfullscreen = false\n
[printer]\nconnection = "network"\nhost = "127.0.0.1"\nport = {port}\npaper = "{paper}"\n
[ticket]\nqr = "https://dichvucong.example.vn/hang-doi?ve={{ticket_id}}"\n"""


def press_to_paper(folder: Path, broker: LocalBroker, paper: str) -> dict[str, Any]:
    printer = LoopbackPrinter()
    path = folder / f"kiosk-{paper}.toml"
    path.write_text(KIOSK_TOML.format(center=CENTER, url=broker.url, port=printer.port, paper=paper),
                    encoding="utf-8")
    config = load(path)
    display = PygameDisplay(800, 480, fullscreen=False)
    link = MqttLink(config.mqtt, client_id=f"bench-kiosk-{paper}", status_topic=Topics(CENTER).device_status("k1"))
    quick = Timings(ticket=timedelta(milliseconds=1), slow_after=timedelta(seconds=2))
    agent = KioskAgent(config, link, EscposPrinter(Network("127.0.0.1", printer.port, timeout=2),
                                                   can_query_status=True),
                       display=display, clock=lambda: datetime.now(ZONE), fonts=TicketFonts.default(),
                       journal=Journal(None), timings=quick)
    stop = threading.Event()
    latencies: list[float] = []
    sizes: list[int] = []

    def scenario() -> None:
        try:
            for count in range(1, TICKETS + 1):
                while agent.flow.view().screen is not Screen.MENU or display.target_centre(TARGET) is None:
                    time.sleep(0.002)  # until the menu is drawn again
                x, y = display.target_centre(TARGET) or (0, 0)
                started = time.perf_counter()
                pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=x / 800, y=y / 480, touch_id=0,
                                                     finger_id=0, dx=0, dy=0, pressure=1.0))
                job = printer.wait_for_cuts(count, timeout_s=30)[-1]
                latencies.append((time.perf_counter() - started) * 1000)
                sizes.append(len(job.data))
        finally:
            stop.set()

    threading.Thread(target=scenario, daemon=True).start()
    agent.run(stop)
    printer.close()
    return {"name": f"kiosk_press_to_paper_{paper}", "n": len(latencies), **percentiles(latencies),
            "ticket_bytes": round(sum(sizes) / max(1, len(sizes)))}


def idle_footprint(folder: Path, broker: LocalBroker) -> dict[str, Any]:
    printer = LoopbackPrinter()
    path = folder / "kiosk-idle.toml"
    path.write_text(KIOSK_TOML.format(center=CENTER, url=broker.url, port=printer.port, paper="80mm"),
                    encoding="utf-8")
    status = Topics(CENTER).device_status("k1")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(path)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready_s = wait_for_status(broker, status, started)
        time.sleep(2)  # settle: the first frames and status checks are behind it
        cpu_before, wall_before = process_cpu_s(process.pid), time.perf_counter()
        time.sleep(10)
        cpu = (process_cpu_s(process.pid) - cpu_before) / (time.perf_counter() - wall_before)
        rss = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)
        printer.close()
    return {"name": "kiosk_idle", "cpu_percent": round(cpu * 100, 2), "rss_mb": round(rss, 1),
            "ready_s": round(ready_s, 2), "targets": {"cpu_percent": 1, "rss_mb": 80, "ready_s": 3}}


def wait_for_status(broker: LocalBroker, topic: str, started: float) -> float:
    """Seconds from `started` until `topic` says online (the agent is subscribed and has its printer)."""
    import asyncio

    from benchmarks.mqtt5_client import Mqtt5Client

    async def wait() -> float:
        client = await Mqtt5Client.connect(broker.host, broker.port, "bench-kiosk-status")
        await client.subscribe(topic)
        while not json.loads((await client.next_message(timeout=30)).payload).get("online"):
            pass
        await client.close()
        return time.perf_counter() - started

    return asyncio.run(wait())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def center_toml(folder: Path, broker: LocalBroker, center: str = CENTER) -> Path:
    """A one-area, one-counter center for the agents' benchmarks."""
    path = folder / "center.toml"
    path.write_text(
        f'[center]\nid = "{center}"\nname = "Bộ phận Tiếp nhận và Trả kết quả"\n[mqtt]\nurl = "{broker.url}"\n'
        f'[storage]\nurl = "sqlite:///{folder / "center.db"}"\n'
        '[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\n'
        f"{UNLIMITED}"
        '[[areas]]\nid = "dat-dai"\nname = "Đất đai"\nfirst = 1\nlast = 9999\n'
        '[[counters]]\nid = "1"\nname = "Quầy 1"\nareas = ["dat-dai"]\n',
        encoding="utf-8",
    )
    return path


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qms-kiosk-bench-") as tmp, LocalBroker(Path(tmp)) as broker:
        folder = Path(tmp)
        server = Server(center_toml(folder, broker), broker)
        try:
            import asyncio

            asyncio.run(wait_online(broker, Topics(CENTER)))
            for paper in ("58mm", "80mm"):
                print(json.dumps(press_to_paper(folder, broker, paper)), flush=True)
            print(json.dumps(idle_footprint(folder, broker)), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
