"""`make demo`, first version: a simulated morning at a district center, through the real protocol.

Starts Mosquitto and the central server on free loopback ports, then simulated kiosks issue
tickets (some priority) and simulated counters call, recall, skip, transfer, finish and
collect ratings, each device on its own MQTT 5 connection. The server runs on a simulated
clock, so the four hours of a morning pass in about a minute and every wait in the report is
a real wait of the simulated day. Writes `demo-output/` and prints a summary per area.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # the kiosk's screen, off screen
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame
from escpos.printer import Network

from central_server.config import load
from kiosk.agent import KioskAgent
from kiosk.config import load as load_kiosk
from kiosk.flow import Timings
from kiosk.loopback_printer import LoopbackPrinter
from kiosk.model import PRIORITY_BUTTON, KioskView, Screen, area_target, priority_target
from kiosk.printer import EscposPrinter
from kiosk.screen import PygameDisplay
from kiosk.ticket_layout import TicketFonts
from protocol.agent import setup_logging
from protocol.clock import SimulatedClock
from protocol.config import MqttSettings
from protocol.link import MqttLink, RequestTimeout
from protocol.local_broker import LocalBroker
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-output"
EXAMPLE = ROOT / "firmware_configs" / "center.example.toml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SPEED = 240.0  # simulated seconds per real second: 07:30-11:30 in a minute
OPENS, LAST_ARRIVAL, CLOSES = (7, 30), (11, 15), (11, 45)
ARRIVALS = 150  # citizens in the morning
SHARE = {"dat-dai": 0.30, "tu-phap": 0.28, "kinh-doanh": 0.12, "xay-dung": 0.10, "ldtbxh": 0.10, "bhxh": 0.10}
SERVICE_MIN = {"dat-dai": 9, "xay-dung": 10, "tu-phap": 5, "kinh-doanh": 8, "ldtbxh": 7, "bhxh": 5}
PRIORITIES = ("elderly", "disabled", "pregnant", "veteran", "child_under_6")
PRIORITY_SHARE, NO_SHOW, TRANSFER, RATED = 0.08, 0.06, 0.05, 0.75
LEVELS = (("very_satisfied", 0.58), ("satisfied", 0.36), ("dissatisfied", 0.06))
TIMEOUT_S = 5.0
log = logging.getLogger("demo")


@dataclass(frozen=True)
class Demo:
    clock: SimulatedClock
    topics: Topics
    broker: LocalBroker
    rng_seed: int = 2026

    def at(self, hour: int, minute: int) -> datetime:
        return self.clock.start.replace(hour=hour, minute=minute, second=0)

    def sleep_until(self, moment: datetime, stop: threading.Event) -> None:
        wait = (moment - self.clock.now()).total_seconds() / self.clock.speed
        if wait > 0:
            stop.wait(wait)

    def link(self, device_id: str) -> MqttLink:
        link = MqttLink(MqttSettings(self.broker.host, self.broker.port), client_id=f"demo-{device_id}",
                        status_topic=self.topics.device_status(device_id))
        link.start()
        if not link.wait_ready(10):
            raise RuntimeError(f"{device_id} could not connect to the broker")
        return link


def request(link: MqttLink, topic: str, response_topic: str, body: dict[str, Any]) -> dict[str, Any]:
    """One request; retried with the same request_id, as a real device does, until answered."""
    payload = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, **body}, ensure_ascii=False).encode()
    for _attempt in range(3):
        try:
            reply: dict[str, Any] = json.loads(link.request(topic, payload, response_topic=response_topic,
                                                            timeout_s=TIMEOUT_S).payload)
            return reply
        except RequestTimeout:
            continue
    raise RuntimeError(f"no answer on {response_topic}")


def arrivals(demo: Demo, rng: random.Random) -> list[tuple[datetime, str, str]]:
    """Arrival times, areas and priorities: busiest between 08:30 and 10:00, as such centers see."""
    start, end = demo.at(*OPENS), demo.at(*LAST_ARRIVAL)
    span = (end - start).total_seconds()
    moments = sorted(start + timedelta(seconds=span * rng.betavariate(2.2, 3.0)) for _ in range(ARRIVALS))
    areas = rng.choices(list(SHARE), weights=list(SHARE.values()), k=ARRIVALS)
    return [(m, a, rng.choice(PRIORITIES) if rng.random() < PRIORITY_SHARE else "none")
            for m, a in zip(moments, areas, strict=True)]


class RecordingDisplay(PygameDisplay):
    """The kiosk's real screen (dummy video driver) that also saves the first sight of each screen."""

    def __init__(self, folder: Path) -> None:
        super().__init__(1920, 1080, fullscreen=False)
        self._folder = folder
        self._saved: set[str] = set()

    def show(self, view: KioskView) -> None:
        super().show(view)
        kind = f"{view.screen}{'-uu-tien' if view.chosen_priority else ''}"
        if kind not in self._saved and view.screen is not Screen.STARTING:
            self._saved.add(kind)
            self.save(self._folder / f"kiosk-{len(self._saved):02d}-{kind}.png")


def citizens(demo: Demo, display: RecordingDisplay, agent: KioskAgent, plan: list[tuple[datetime, str, str]],
             stop: threading.Event) -> None:
    """Each citizen walks to the kiosk at the planned time and touches the screen as a person would."""
    for moment, area, priority in plan:
        demo.sleep_until(moment, stop)
        if stop.is_set():
            return
        if priority != "none":
            touch(display, agent, PRIORITY_BUTTON, stop)
            touch(display, agent, priority_target(priority), stop, screen=Screen.PRIORITY)
        touch(display, agent, area_target(area), stop)


def touch(display: RecordingDisplay, agent: KioskAgent, target: str, stop: threading.Event,
          screen: Screen = Screen.MENU) -> None:
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        centre = display.target_centre(target)
        before = agent.flow.view()
        if before.screen is screen and centre is not None:
            width, height = display.size
            pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=centre[0] / width, y=centre[1] / height,
                                                 touch_id=0, finger_id=0, dx=0, dy=0, pressure=1.0))
            taken = time.monotonic() + 2
            while _shows(agent, before) and time.monotonic() < taken and not stop.is_set():
                stop.wait(0.005)  # until the kiosk has taken this touch: the next citizen waits behind
            return
        stop.wait(0.01)  # the kiosk is still showing the previous citizen's ticket
    log.warning("the kiosk did not offer %s in time", target)


def _shows(agent: KioskAgent, view: KioskView) -> bool:
    now = agent.flow.view()
    return (now.screen, now.chosen_priority) == (view.screen, view.chosen_priority)


BOARD_TOML = """[board]
id = "board-1"
center = "{center}"

[mqtt]
url = "{url}"

[screen]
width = 1920
height = 1080
fullscreen = false
notice = "Trung tâm làm việc từ thứ Hai đến thứ Sáu, sáng 7h30–11h30, chiều 13h30–17h00. Xin cảm ơn!"
screenshots = "{screens}"
screenshot_every_s = 600

[voice]
enabled = false
"""


def start_board(demo: Demo, broker: LocalBroker, clock: SimulatedClock) -> subprocess.Popen[bytes]:
    """The real hall board agent, in its own process (pygame wants one display per process)."""
    path = OUT / "board.toml"
    path.write_text(BOARD_TOML.format(center=demo.topics.root.rsplit("/", 1)[1], url=broker.url,
                                      screens=OUT / "screens"), encoding="utf-8")
    with (OUT / "logs" / "board.log").open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "display_board", "--config", str(path), "--simulated-clock", clock.to_arg()],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
            env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"},
        )


def close_when_counters_are_done(counters: list[threading.Thread], stop: threading.Event) -> None:
    for thread in counters:
        thread.join()
    stop.set()


def kiosk_agent(demo: Demo, broker: LocalBroker, printer: LoopbackPrinter) -> tuple[KioskAgent, RecordingDisplay]:
    path = OUT / "kiosk.toml"
    path.write_text(KIOSK_TOML.format(center=demo.topics.root.rsplit("/", 1)[1], url=broker.url, port=printer.port,
                                      tickets=OUT / "tickets"), encoding="utf-8")
    config = load_kiosk(path)
    display = RecordingDisplay(OUT / "screens")
    link = MqttLink(config.mqtt, client_id="demo-kiosk-k1", status_topic=demo.topics.device_status("k1"))
    scale = demo.clock.speed  # the flow's timings run on the simulated clock
    timings = Timings(busy_after=timedelta(seconds=2 * scale), ticket=timedelta(seconds=0.15 * scale),
                      print_failed=timedelta(seconds=1 * scale), notice=timedelta(seconds=1 * scale))
    printer_port = EscposPrinter(Network("127.0.0.1", printer.port, timeout=2), can_query_status=True)
    agent = KioskAgent(config, link, printer_port, display=display, clock=demo.clock.now,
                       fonts=TicketFonts.default(), timings=timings)
    return agent, display


KIOSK_TOML = """[kiosk]
id = "k1"
center = "{center}"

[mqtt]
url = "{url}"

[screen]
width = 1920
height = 1080
fullscreen = false

[printer]
connection = "network"
host = "127.0.0.1"
port = {port}
paper = "80mm"

[ticket]
qr = "https://dichvucong.rachgia.example.vn/hang-doi?ve={{ticket_id}}"
save_dir = "{tickets}"
"""


def counter(demo: Demo, counter_id: str, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)
    link = demo.link(f"counter-{counter_id}")
    topics = demo.topics

    def command(action: str, **extra: Any) -> dict[str, Any]:
        return request(link, topics.counter_command(counter_id), topics.counter_command_response(counter_id),
                       {"action": action, **extra})

    def wait(minutes: float) -> None:
        demo.sleep_until(demo.clock.now() + timedelta(minutes=minutes), stop)

    paused = False
    try:
        while not stop.is_set() and demo.clock.now() < demo.at(*CLOSES):
            if counter_id == "3" and not paused and demo.clock.now() >= demo.at(9, 45):
                paused = True  # a short break: the counter keeps nobody waiting on it meanwhile
                command("pause")
                wait(15)
                command("resume")
            called = command("next").get("ticket")
            if called is None:
                wait(1)
                continue
            if rng.random() < NO_SHOW:
                wait(1.5)
                command("recall")
                wait(1.5)
                command("skip")
                continue
            wait(max(1.0, rng.lognormvariate(math.log(SERVICE_MIN[called["area"]]), 0.45)))
            if called["area"] == "dat-dai" and rng.random() < TRANSFER:
                command("transfer", to_area="xay-dung")
                continue
            command("finish")
            if rng.random() < RATED:
                wait(0.3)
                rate(link, topics, counter_id, called["id"], demo.clock.now(), rng)
    finally:
        link.stop()


def rate(link: MqttLink, topics: Topics, counter_id: str, ticket_id: str, pressed: datetime,
         rng: random.Random) -> None:
    level = rng.choices([lv for lv, _ in LEVELS], weights=[w for _, w in LEVELS])[0]
    body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": ticket_id, "level": level,
            "pressed_at": pressed.isoformat(timespec="seconds")}
    link.request(topics.counter_rating(counter_id), json.dumps(body).encode(),
                 response_topic=topics.rating_ack(counter_id), timeout_s=TIMEOUT_S)


def write_config(broker: LocalBroker, database: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r'url = "mqtt://[^"]*"', f'url = "{broker.url}"', text)
    text = re.sub(r'url = "sqlite://[^"]*"', f'url = "sqlite:///{database}"', text)
    path = OUT / "center.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_server(
    config: Path, clock: SimulatedClock, demo_topics: Topics, broker: LocalBroker
) -> subprocess.Popen[bytes]:
    online = threading.Event()
    watcher = MqttLink(MqttSettings(broker.host, broker.port), client_id="demo-watch",
                       status_topic=demo_topics.device_status("demo-watch"), announce_online=False)
    watcher.subscribe(demo_topics.server_status(),
                      lambda m: online.set() if json.loads(m.payload).get("online") else None)
    watcher.start()
    with (OUT / "logs" / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "central_server", "--config", str(config), "--simulated-clock", clock.to_arg()],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    ready = online.wait(20)
    watcher.stop()
    if not ready:
        raise RuntimeError(f"the server did not come online; see {OUT / 'logs' / 'server.log'}")
    return server


def progress(demo: Demo, stop: threading.Event) -> None:
    """A progress bar in simulated time; on a terminal it redraws in place."""
    opens, closes = demo.at(*OPENS), demo.at(*CLOSES)
    live = sys.stdout.isatty()
    while not stop.wait(1.0 if live else 7.5):
        now = demo.clock.now()
        done = min(1.0, max(0.0, (now - opens) / (closes - opens)))
        bar = "█" * int(done * 30) + "·" * (30 - int(done * 30))
        line = f"  {now:%H:%M} [{bar}] {done:4.0%}"
        print("\r" + line if live else line, end="" if live else "\n", flush=True)
    if live:
        print()


def summary(database: Path, names: dict[str, str]) -> list[dict[str, Any]]:
    db = sqlite3.connect(database)
    rows = []
    for area, name in names.items():
        tickets = db.execute(
            "SELECT state, issued_at, called_at, rating, transferred_to FROM tickets WHERE area = ?", (area,)
        ).fetchall()
        waits = [(datetime.fromisoformat(c) - datetime.fromisoformat(i)).total_seconds() / 60
                 for _, i, c, _, _ in tickets if c is not None]
        ratings = [r for *_, r, _ in tickets if r is not None]
        rows.append({
            "area": name,
            "issued": len(tickets),
            "served": sum(1 for s, *_ in tickets if s == "served"),
            "missed": sum(1 for s, *_ in tickets if s == "missed"),
            "transferred": sum(1 for s, *_ in tickets if s == "transferred"),
            "waiting": sum(1 for s, *_ in tickets if s in ("waiting", "called", "serving")),
            "mean_wait_min": round(sum(waits) / len(waits), 1) if waits else 0.0,
            "max_wait_min": round(max(waits), 1) if waits else 0.0,
            "ratings": len(ratings),
            "satisfied_pct": round(100 * sum(r != "dissatisfied" for r in ratings) / len(ratings), 1)
            if ratings else 0.0,
        })
    db.close()
    return rows


HEADERS = {
    "area": "Lĩnh vực", "issued": "Cấp số", "served": "Đã giải quyết", "missed": "Vắng mặt",
    "transferred": "Chuyển", "waiting": "Còn chờ", "mean_wait_min": "Chờ TB (phút)",
    "max_wait_min": "Chờ lâu nhất", "ratings": "Đánh giá", "satisfied_pct": "Hài lòng (%)",
}


def write_report(rows: list[dict[str, Any]]) -> str:
    report = OUT / "report"
    with (report / "summary.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(HEADERS))
        writer.writerow(HEADERS)
        writer.writerows(rows)
    widths = {k: max(len(HEADERS[k]), *(len(str(r[k])) for r in rows)) for k in HEADERS}
    lines = ["  ".join(HEADERS[k].ljust(widths[k]) for k in HEADERS)]
    lines += ["  ".join(str(r[k]).ljust(widths[k]) for k in HEADERS) for r in rows]
    table = "\n".join(lines)
    (report / "summary.txt").write_text(table + "\n", encoding="utf-8")
    return table


def main() -> int:
    setup_logging()
    shutil.rmtree(OUT, ignore_errors=True)
    for folder in ("logs", "report", "tickets", "screens"):
        (OUT / folder).mkdir(parents=True)
    database = OUT / "center.db"
    broker = LocalBroker(OUT / "logs")
    broker.start()
    start = datetime.now(ZONE).replace(hour=OPENS[0], minute=OPENS[1] - 5, second=0, microsecond=0)
    clock = SimulatedClock(start, SPEED, time.time())
    config = write_config(broker, database)
    center = load(config)
    rules = center.rules
    topics = Topics(center.center_id)
    demo = Demo(clock, topics, broker)
    print(f"Một buổi sáng tại bộ phận một cửa, {ARRIVALS} công dân, mô phỏng nhanh gấp {SPEED:g} lần")
    server = start_server(config, clock, topics, broker)
    board = start_board(demo, broker, clock)
    stop = threading.Event()
    rng = random.Random(demo.rng_seed)
    printer = LoopbackPrinter()
    agent, display = kiosk_agent(demo, broker, printer)
    workers = [
        threading.Thread(target=citizens, args=(demo, display, agent, arrivals(demo, rng), stop)),
        *(threading.Thread(target=counter, args=(demo, c.id, 100 + n, stop)) for n, c in enumerate(rules.counters)),
    ]
    bar = threading.Thread(target=progress, args=(demo, stop))
    closing = threading.Thread(target=close_when_counters_are_done, args=(workers[1:], stop))
    try:
        bar.start()
        for worker in workers:
            worker.start()
        closing.start()
        agent.run(stop)  # the kiosk's screen lives on this (main) thread, as pygame wants
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        bar.join()
        printer.close()
        board.send_signal(signal.SIGTERM)
        board.wait(15)
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        broker.stop()
    print(write_report(summary(database, {a.id: a.name for a in rules.areas if a.open})))
    print(f"\nBáo cáo:   {OUT / 'report' / 'summary.txt'} (và summary.csv)")
    print(f"Phiếu in:  {OUT / 'tickets'} ({len(list((OUT / 'tickets').glob('*.png')))} ảnh PNG, đúng như trên giấy)")
    print(f"Màn hình:  {OUT / 'screens'} (ki-ốt lấy số, và bảng gọi số cứ mỗi 10 phút)")
    print(f"Nhật ký:   {OUT / 'logs' / 'server.log'}")
    print(f"Dữ liệu:   {database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
