"""`make demo`: a morning at a district one-stop-shop, the real system on one machine.

Every part is the real program in its own process, with only its hardware swapped for the fake of
its port: Mosquitto, the central server, one kiosk (its pygame screen on SDL's dummy driver, touched
through scripted lines; a loopback TCP ESC/POS printer), one hall board (dummy video; its voice
written to a WAV; the four counter LED displays on a pty), and four counter terminals (the real
gpiozero adapter on MockFactory pins, pressed through scripted lines), the staff console and the citizen web.
A traffic driver plays the citizens at the kiosk and the officials at the counters: counter 1's official works
from the console's page in a real Chromium (devkit/console_page.py), the others from their terminals' keys after
taking their counters on the console, and a manager follows the floor in a second browser. One citizen scans
their ticket's QR and follows their turn on a phone (a third Chromium at a phone's size), and rates there. All processes
share one simulated clock, so 07:30-11:45 passes in about two minutes and every wait in the report is a wait
of the simulated day.

The afternoon before (issue 18), on the same broker and database, the server and the citizen web run on that day's
clock from 15:00 while six citizens book the morning's slots on the web in the phone's Chromium; one of them cancels.
In the morning they check in at the kiosk a few minutes before their slots ("Tôi đã đặt lịch", then the code on the
keypad or their phone's QR held to a scanner that types as a keyboard), but one, who never comes; another citizen
takes a remote number on the phone at 07:45 and checks in at 08:15.

Writes `demo-output/` (tickets, screens, the console's and the citizen web's pages, the announcements, the notices
sent to the bookers' phones, the report, logs) and prints where.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from central_server.config import CenterConfig, load
from central_server.config_text import replace_table, set_key, toml_string
from central_server.report.command import make_report, write_report
from central_server.report.figures import (
    AGAINST,
    CENTER_GROUP,
    RATIO_766,
    RECEIVED,
    SERVED_WITHOUT,
    BookingRecord,
    Report,
)
from citizen_web.booking_view import day_text
from devkit.booking_page import BookingPage
from devkit.browser import chromium
from devkit.clock import SimulatedClock
from devkit.console_page import NOBODY, ConsolePage
from devkit.led_bus import LedBus
from devkit.local_broker import LocalBroker, free_port
from devkit.loopback_printer import LoopbackPrinter
from devkit.morning import DISTRICT, Press, Rate, Wait
from devkit.morning import arrivals as morning_arrivals
from devkit.morning import official as official_plan
from devkit.phone_page import PhonePage
from devkit.scanner_keys import FifoScanner
from devkit.terminal_config import example_config
from kiosk.model import BOOKING_BUTTON, KEY_CONFIRM, key_target
from protocol.agent import setup_logging
from protocol.booking_code import code_ok
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-output"
EXAMPLES = ROOT / "firmware_configs"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SPEED = 128.0  # simulated seconds per real second: 07:25-11:45 in about two minutes
TRAFFIC = DISTRICT  # the citizens and the officials (devkit/morning.py)
OPENS, LAST_ARRIVAL, CLOSES = TRAFFIC.opens, TRAFFIC.last_arrival, TRAFFIC.closes
ARRIVALS = TRAFFIC.arrivals
COUNTERS = TRAFFIC.counters
DONE = ("signal ok", "signal failed")  # a terminal's last light for a key: "signal busy" comes first
LONG_PRESS_MS = 300  # the terminals' long press, shortened: a real second is two simulated minutes here
# The staff console's accounts: an official per counter (each takes their counter on the console; counter 1's
# works from its page, the others from their terminals' keys) and the center's manager, who follows the floor.
BROWSER_COUNTER = "1"
OFFICIALS = {"1": ("ha.nguyen", "Nguyễn Thị Thu Hà"), "2": ("minh.tran", "Trần Văn Minh"),
             "3": ("thao.le", "Lê Thị Phương Thảo"), "4": ("huy.pham", "Phạm Quốc Huy")}
MANAGER = ("lan.do", "Đỗ Thị Lan")
# The center's administrator changes the hall boards' notice on the console at 10:35 (issue 17: the boards follow
# at once, the history keeps who and when).
ADMIN = ("an.nguyen", "Nguyễn Văn An")
AFTERNOON_NOTICE = ("Chiều nay Bộ phận Tiếp nhận và Trả kết quả làm việc đến 16h00 để họp giao ban. "
                    "Mong công dân thông cảm. Xin cảm ơn!")
PASSWORD = "một cửa buổi sáng"  # every demo account's: the console stops with the demo
PHONE_TICKET = 30  # the morning's 30th ticket (about 08:40, queues building) is followed on the phone


@dataclass(frozen=True)
class Booker:
    """A citizen who books ahead on the citizen web (issue 18): a CCCD number and a mobile phone, both well formed (a
    province's code, then the century and sex and a year of birth that has come; 10 digits from 03/05/07/08/09), the
    area, the slot's start (a remote number: when it is taken) and what they do: check in by the kiosk's `keypad` or
    `scan` their phone's QR, or `no_show`, or `cancel` on the web."""

    cccd: str
    phone: str
    area: str
    start: tuple[int, int]
    then: str


# The first one's pages are saved, and it is their confirmation's QR that the kiosk's scanner reads in the morning.
BOOKERS = (Booker("091192007351", "0389 615 204", "tu-phap", (8, 30), "scan"),
           Booker("091085004217", "0913 274 518", "dat-dai", (8, 0), "keypad"),
           Booker("079088013562", "0708 552 931", "kinh-doanh", (9, 0), "keypad"),
           Booker("091301000489", "0867 410 396", "xay-dung", (9, 30), "no_show"),
           Booker("001175028830", "0979 138 620", "bhxh", (10, 0), "keypad"),
           Booker("091196021754", "0356 907 184", "ldtbxh", (10, 30), "cancel"))
REMOTE = Booker("091079003318", "0837 246 159", "tu-phap", (7, 45), "scan")  # a remote number for today, at 07:45
REMOTE_CHECK_IN = (8, 15)
CHECK_IN_EARLY_MIN = 4  # a booked citizen is at the kiosk this long before their slot
AFTERNOON = (15, 0)  # the bookers' afternoon, the day before the morning
log = logging.getLogger("demo")


# --- the processes ------------------------------------------------------------------------------

def scripted(module: str) -> list[str]:
    """What the development runner gives an agent besides the simulated clock: the kiosk's screen touched and the
    terminals' pins pressed by lines on stdin (the board and the console need nothing: they work unattended)."""
    return {"kiosk": ["--scripted", "--screenshots", str(OUT / "screens")],
            "rating_terminal": ["--scripted"]}.get(module, [])


class Agent:
    """One agent process whose stdin takes scripted lines and whose stdout lines are kept in a queue."""

    def __init__(self, name: str, module: str, config: Path, clock: SimulatedClock, env: dict[str, str]) -> None:
        self.name = name
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.armed = threading.Event()  # a counter terminal's rating buttons are lit (its "armed" lines)
        self.serving = threading.Event()  # the console serves its pages
        self._log = (OUT / "logs" / f"{name}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devkit.run", module, "--config", str(config), "--simulated-clock", clock.to_arg(),
             *scripted(module)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env={**os.environ, **env},
            text=True, bufsize=1,
        )
        threading.Thread(target=self._read, name=f"{name}-out", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("armed"):
                self.armed.set()
            elif line.startswith("staff_console: serving"):
                self.serving.set()
            elif line.startswith(("thanks", "disarmed")):
                self.armed.clear()
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            log.warning("%s is gone; %r not sent", self.name, line)

    def wait_for(self, prefix: str | tuple[str, ...], timeout_s: float) -> bool:
        """Until a line starting with `prefix` (or one of them); the lines before it are dropped."""
        return self.next_line(prefix, timeout_s) is not None

    def next_line(self, prefix: str | tuple[str, ...], timeout_s: float) -> str | None:
        """The next line starting with `prefix` (or one of them), None after `timeout_s`; the lines before it are
        dropped."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        return None

    def drain(self) -> None:
        """Drop the lines said so far."""
        with suppress(queue.Empty):
            while True:
                self.lines.get_nowait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def center_config(broker: LocalBroker, web_url: str) -> Path:
    """The shipped example center, with the demo's four counters, this broker, a fresh database and its citizen web
    at `web_url` (the tickets' QR points there)."""
    text = (EXAMPLES / "center.example.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[\[counters\]\].*?(?=^\[|\Z)", "", text).rstrip() + "\n"
    for counter_id, name, areas in COUNTERS:
        text += (f"\n[[counters]]\nid = {toml_string(counter_id)}\nname = {toml_string(name)}\n"
                 f"areas = {json.dumps(areas)}\n")
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    text = set_key(text, "storage", "url", toml_string(f"sqlite:///{OUT / 'center.db'}"))
    text += f'\n[citizen_web]\nurl = {toml_string(web_url)}\nids = ["web-1"]\n'
    # The bookings' SMS (confirmation, reminder, cancellation) as the notifier's outbox: one JSON line each.
    text += f'\n[notify]\nkind = "outbox"\npath = {toml_string(str(OUT / "tin-nhan.jsonl"))}\n'
    parsed = tomllib.loads(text)  # the example's hours, on whatever day the demo runs
    own = next(area["hours"] for area in parsed["areas"] if "hours" in area)
    for table, hours in (("hours", parsed["hours"]), ("areas.hours", own)):
        for day in ("sat", "sun"):
            text = set_key(text, table, day, json.dumps(hours["weekdays"]))
        text = set_key(text, table, "closed_dates", "[]")
    path = OUT / "center.toml"
    path.write_text(text, encoding="utf-8")
    return path


def kiosk_config(center_id: str, broker: LocalBroker, printer: LoopbackPrinter, folder: Path | None = None, *,
                 scanner: bool = False) -> Path:
    """The shipped example kiosk on `broker` and the loopback `printer`, its files in `folder` (the demo's output);
    `scanner`: with a QR scanner that types as a keyboard (the scripted screen's `scan` lines)."""
    folder = folder or OUT
    text = (EXAMPLES / "kiosk.example.toml").read_text(encoding="utf-8")
    for key, value in (("id", '"k1"'), ("center", toml_string(center_id)),
                       ("journal", toml_string(str(folder / "kiosk-journal.db")))):
        text = set_key(text, "kiosk", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    for key, value in (("width", "1920"), ("height", "1080"), ("fullscreen", "false")):
        text = set_key(text, "screen", key, value)
    for key, value in (("connection", '"network"'), ("host", '"127.0.0.1"'), ("port", str(printer.port))):
        text = set_key(text, "printer", key, value)
    text = set_key(text, "ticket", "save_dir", toml_string(str(folder / "tickets")))
    if scanner:
        text += '\n[scanner]\nkind = "keyboard"\n'
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


BOARD_LEDS = """
[leds]
port = "{port}"
protocol = "qms"
baudrate = 9600
digits = 4
{displays}"""


def board_config(center_id: str, broker: LocalBroker, led_port: str) -> Path:
    text = (EXAMPLES / "board.example.toml").read_text(encoding="utf-8")
    for key, value in (("id", '"board-1"'), ("center", toml_string(center_id))):
        text = set_key(text, "board", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    for key, value in (("width", "1920"), ("height", "1080"), ("fullscreen", "false"),
                       ("screenshots", toml_string(str(OUT / "screens"))), ("screenshot_every_s", "900")):
        text = set_key(text, "screen", key, value)
    text = set_key(text, "voice", "record", toml_string(str(OUT / "announcements" / "goi-so.wav")))
    text = set_key(text, "voice", "record_max_s", "300")  # five minutes of calls to listen to; the list has all
    displays = "".join(f"[[leds.displays]]\ncounter = \"{c}\"\naddress = {n}\n"
                       for n, (c, _, _) in enumerate(COUNTERS, start=1))
    text += BOARD_LEDS.format(port=led_port, displays=displays)
    path = OUT / "board.toml"
    path.write_text(text, encoding="utf-8")
    return path


def terminal_config(center_id: str, counter_id: str, broker: LocalBroker) -> Path:
    """The example terminal's config, with a FIFO standing in for its dossier scanner's input device."""
    text = example_config(counter_id, center_id, OUT / f"outbox-{counter_id}.db", broker.url)
    text = set_key(text, "terminal", "long_press_ms", str(LONG_PRESS_MS))
    scanner = scanner_device(counter_id)
    scanner.unlink(missing_ok=True)
    os.mkfifo(scanner)
    text += f"\n[scanner]\ndevice = {toml_string(str(scanner))}\n"
    path = OUT / f"counter-{counter_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def scanner_device(counter_id: str) -> Path:
    return OUT / f"scanner-{counter_id}-event-kbd"


def console_accounts() -> Path:
    """The console's accounts database with the demo's officials and manager (argon2 at a low cost: they live for one
    morning; the console hashes each password again at its first sign-in, at its own cost)."""
    from argon2 import PasswordHasher  # here: only the console's accounts need them

    from staff_console.accounts import Accounts
    from staff_console.users import new_user

    path = OUT / "console-accounts.db"
    accounts = Accounts(path, PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    try:
        for username, name in OFFICIALS.values():
            accounts.add(new_user(username, name, "official"), PASSWORD)
        accounts.add(new_user(*MANAGER, "manager"), PASSWORD)
        accounts.add(new_user(*ADMIN, "admin"), PASSWORD)
    finally:
        accounts.close()
    return path


def console_config(center_id: str, broker: LocalBroker, center: Path, accounts_path: Path) -> tuple[Path, str]:
    """The shipped example console on a free loopback port, with the demo's accounts; its address."""
    port = free_port()
    text = (EXAMPLES / "staff_console.example.toml").read_text(encoding="utf-8")
    for key, value in (("center", toml_string(center_id)), ("accounts", toml_string(str(accounts_path))),
                       ("listen", '"127.0.0.1"'), ("port", str(port))):
        text = set_key(text, "console", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    text += f"\n[report]\ncenter_config = {toml_string(str(center))}\n"
    path = OUT / "console.toml"
    path.write_text(text, encoding="utf-8")
    return path, f"http://127.0.0.1:{port}"


def web_config(center_id: str, broker: LocalBroker, port: int) -> Path:
    """The shipped example citizen web on a free loopback port (a phone reaches it through no proxy here)."""
    text = (EXAMPLES / "citizen_web.example.toml").read_text(encoding="utf-8")
    for key, value in (("center", toml_string(center_id)), ("port", str(port))):
        text = set_key(text, "web", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    path = OUT / "citizen_web.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_server(config: Path, clock: SimulatedClock, topics: Topics, broker: LocalBroker,
                 name: str = "server") -> subprocess.Popen[bytes]:
    """The central server on `clock`, once it says it is online; its log is logs/<name>.log."""
    online = threading.Event()
    # A tool, not a device: no status of its own (an offline "device" would stay on the manager's floor all day).
    watcher = MqttLink(MqttSettings(broker.host, broker.port), client_id="demo-watch", status_topic=None)
    watcher.subscribe(topics.server_status(), lambda m: online.set() if json.loads(m.payload).get("online") else None)
    watcher.start()
    with (OUT / "logs" / f"{name}.log").open("wb") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "devkit.run", "central_server", "--config", str(config),
             "--simulated-clock", clock.to_arg()],
            cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT,
        )
    ready = online.wait(20)
    watcher.stop()
    if not ready:
        raise RuntimeError(f"the server did not come online; see {OUT / 'logs' / f'{name}.log'}")
    return server


# --- the traffic ----------------------------------------------------------------------------------


@dataclass
class Morning:
    clock: SimulatedClock
    web_url: str = ""  # the citizen web's address, as a phone reaches it
    codes: dict[Booker, str] = field(default_factory=dict)  # what each booker checks in with (REMOTE's from 07:45)
    stop: threading.Event = field(default_factory=threading.Event)
    issued: int = 0
    called: int = 0
    on_phone: set[str] = field(default_factory=set)  # tickets whose citizen rates on the phone, not the buttons

    def at(self, hour: int, minute: int) -> datetime:
        return self.clock.start.replace(hour=hour, minute=minute, second=0)

    def sleep_until(self, moment: datetime) -> None:
        wait = (moment - self.clock.now()).total_seconds() / self.clock.speed
        if wait > 0:
            self.stop.wait(wait)

    def wait_minutes(self, minutes: float) -> None:
        self.sleep_until(self.clock.now() + timedelta(minutes=minutes))

    def open(self) -> bool:
        return not self.stop.is_set() and self.clock.now() < self.at(*CLOSES)


def citizens(morning: Morning, kiosk: Agent, plan: list[tuple[datetime, str, str]]) -> None:
    """Each citizen walks up to the kiosk at their time and touches its screen: those who take a number, and those who
    booked a slot or took a remote number, who check in. One at a time, as at the real kiosk: each citizen's touches
    are sent once the previous citizen's ticket has left the screen (the kiosk is back on its menu)."""
    if not kiosk.wait_for("screen menu", 30):
        log.error("the kiosk did not show its menu; see its log")
        return
    walk_away_from_keypad(kiosk)
    visits: list[tuple[datetime, Callable[[], None]]] = [
        (moment, partial(walk_in, morning, kiosk, area, priority)) for moment, area, priority in plan]
    booked = [(morning.at(*booker.start) - timedelta(minutes=CHECK_IN_EARLY_MIN), booker)
              for booker in BOOKERS if booker.then in ("keypad", "scan")]
    visits += [(moment, partial(check_in, morning, kiosk, booker))
               for moment, booker in [*booked, (morning.at(*REMOTE_CHECK_IN), REMOTE)]]
    for moment, visit in sorted(visits, key=lambda v: v[0]):
        morning.sleep_until(moment)
        if morning.stop.is_set():
            return
        visit()


# The kiosk's screens last their simulated time, so a quarter of a real second closes the booking keypad (30
# simulated seconds untouched), and the kiosk times a touch by the frame before it: a frame held up (the first sight
# of a screen saved as a PNG, a busy CPU) can close the keypad as it opens or under a citizen's typing. Hence the
# keypad's first sight taken while nobody types, an opening seen before the code is typed, and each citizen's
# touches sent only to a kiosk back on its menu (a `touch booking` sent again is then never left waiting).
KEYPAD_OPENS_S = 2.0  # real seconds for the keypad to show after its button, on a kiosk idle on its menu
KEYPAD_TRIES = 3


def walk_in(morning: Morning, kiosk: Agent, area: str, priority: str) -> None:
    kiosk.drain()
    if priority != "none":
        kiosk.send("touch priority")
        kiosk.send(f"touch priority:{priority}")
    kiosk.send(f"touch area:{area}")
    morning.issued += 1
    served(kiosk, f"a walk-in for {area}")


def served(kiosk: Agent, who: str) -> None:
    """Until the kiosk has asked the server ("working") and is back on its menu: the ticket or the refusal shows for
    a few simulated seconds, a frame or none at this speed. A touch on a button no longer shown is "missed"."""
    said = kiosk.next_line(("screen working", "missed"), 35)
    if said == "screen working":
        said = kiosk.next_line(("screen menu", "screen closed"), 30)
    if said is None or said.startswith("missed"):
        log.error("%s: the kiosk said %s", who, said or "nothing")


def open_keypad(kiosk: Agent) -> bool:
    """Touch "Tôi đã đặt lịch" on the kiosk's menu until the keypad shows (see above)."""
    for _ in range(KEYPAD_TRIES):
        kiosk.drain()
        kiosk.send(f"touch {BOOKING_BUTTON}")
        if kiosk.wait_for("screen keypad", KEYPAD_OPENS_S):
            return True
    log.error("the kiosk's booking keypad did not open; see its log")
    return False


def walk_away_from_keypad(kiosk: Agent) -> None:
    """Someone opens the booking keypad and walks away: it goes back to the menu by itself (and its first sight is
    saved)."""
    if open_keypad(kiosk) and not kiosk.wait_for("screen menu", 30):
        log.warning("the kiosk's booking keypad did not go back to the menu; see its log")


def check_in(morning: Morning, kiosk: Agent, booker: Booker) -> None:
    """A citizen who booked (or took a remote number) holds their phone's QR to the scanner on the kiosk's menu, or
    touches "Tôi đã đặt lịch" and types their code on the keypad."""
    code = morning.codes.get(booker)
    if code is None:
        log.error("the citizen of the %s %s has no code to check in with", booker.area,
                  "remote number" if booker is REMOTE else "booking")
        return
    if booker.then == "scan":
        for _ in range(KEYPAD_TRIES):  # a scan the screen does not take (it is not on its menu) is lost
            kiosk.drain()
            kiosk.send(f"scan {code}")
            if kiosk.wait_for("screen working", KEYPAD_OPENS_S):
                break
        else:
            log.error("the kiosk took no scan of %s; see its log", code)
            return
    else:
        if not open_keypad(kiosk):
            return
        for digit in code:
            kiosk.send(f"touch {key_target(digit)}")
        kiosk.send(f"touch {KEY_CONFIRM}")
        if kiosk.next_line(("screen working", "screen menu", "missed"), 35) != "screen working":
            log.error("checking in %s by keypad: the keypad closed under the citizen's typing", code)
            return
    morning.issued += 1
    if kiosk.next_line("screen menu", 30) is not None:
        log.info("checked in %s by %s at %s", code, booker.then, f"{morning.clock.now():%H:%M}")


class CounterView:
    """What an official sees of their counter: its retained state (the current ticket and its area)."""

    def __init__(self, broker: LocalBroker, topics: Topics, counter_ids: list[str]) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.ready: set[str] = set()  # terminals that are online and reach the server
        self._changed = threading.Condition()
        self._link = MqttLink(MqttSettings(broker.host, broker.port), client_id="demo-officials", status_topic=None)
        for counter_id in counter_ids:
            self._link.subscribe(topics.counter_state(counter_id), self._on_state)
            self._link.subscribe(topics.device_status(f"counter-{counter_id}"), self._on_terminal)
        self._link.start()
        self._link.wait_ready(10)

    def _on_state(self, message: Message) -> None:
        counter_id = message.topic.split("/")[-2]
        with self._changed:
            self.states[counter_id] = json.loads(message.payload)
            self._changed.notify_all()

    def _on_terminal(self, message: Message) -> None:
        counter_id = message.topic.split("/")[-2].removeprefix("counter-")
        with self._changed:
            if json.loads(message.payload).get("server") is True:
                self.ready.add(counter_id)
            self._changed.notify_all()

    def wait_ready(self, counter_id: str, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: counter_id in self.ready, timeout_s)

    def wait_for(self, counter_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        """The counter's state once `done` holds for it, or as it is after `timeout_s`."""
        with self._changed:
            self._changed.wait_for(lambda: done(self.states.get(counter_id) or {}), timeout_s)
            return dict(self.states.get(counter_id) or {})

    def close(self) -> None:
        self._link.stop()


def official(morning: Morning, counter_id: str, terminal: Agent, view: CounterView, seed: int,
             areas: tuple[str, ...]) -> None:
    """The official of devkit/morning.py at the real terminal: keys pressed on its pins, waits in
    simulated time; the citizen rates on its buttons. `areas`: the open areas, as the terminal lists them."""
    if not view.wait_ready(counter_id, 30):
        log.error("counter %s's terminal did not come up; see its log", counter_id)
        return
    # They take their counter on the console first, unless that takes past 07:50 (the first citizens come soon).
    seat_by = (morning.at(7, 50) - morning.clock.now()).total_seconds() / morning.clock.speed
    if not seated(view.wait_for(counter_id, seated, max(0.0, seat_by))):
        log.warning("counter %s: nobody has taken it on the console yet; its keys are nobody's", counter_id)
    plan = official_plan(TRAFFIC, counter_id, morning.clock.start, morning.clock.now, random.Random(seed))
    answer: str | None = None
    scanner = FifoScanner(scanner_device(counter_id), 10)
    try:
        while morning.open():
            action = plan.send(answer)
            answer = None
            if isinstance(action, Wait):
                morning.wait_minutes(action.minutes)
            elif isinstance(action, Rate):
                if terminal.armed.wait(5) and not rates_on_phone(morning, view, counter_id):
                    terminal.send(f"rate {action.level}")
                    terminal.wait_for("thanks", 5)
            elif action.action == "dossier" and action.code is not None:
                scan(scanner, action.code, counter_id, terminal, view)
            else:
                answer = carry_out(action, counter_id, terminal, view, areas)
                if answer is not None:
                    morning.called += 1
    finally:
        scanner.close()


def scan(scanner: FifoScanner, code: str, counter_id: str, terminal: Agent, view: CounterView) -> None:
    """The official scans a dossier's code at the terminal; waits for its light, then for the counter's state to
    list the code."""
    scanner.scan(code)
    if not terminal.wait_for(DONE, 10):
        log.warning("counter %s: no feedback after scanning %s", counter_id, code)
    view.wait_for(counter_id, lambda s: code in ((s.get("dossiers") or {}).get("codes") or ()), 1.0)


def carry_out(action: Press, counter_id: str, terminal: Agent, view: CounterView, areas: tuple[str, ...]) -> str | None:
    """One key of the official's plan on the terminal; for `next`, the area of the ticket it called."""
    if action.action == "next":
        previous = ticket_id(view.states.get(counter_id) or {})
        state = press(terminal, view, counter_id, "key next", called_other_than(previous))
        ticket = state.get("ticket")
        return str(ticket["area"]) if ticket and ticket_id(state) != previous else None
    if action.action in ("pause", "resume"):
        paused = action.action == "pause"
        press(terminal, view, counter_id, "key pause", lambda s: (s.get("status") == "paused") == paused)
    elif action.action == "transfer":  # each short press moves the choice to the next of the other areas
        current = (view.states.get(counter_id) or {}).get("ticket") or {}
        targets = [area for area in areas if area != current.get("area")]
        for _ in range(targets.index(action.to_area) if action.to_area in targets else 0):
            terminal.send("key transfer")
            terminal.wait_for(DONE, 10)
        press(terminal, view, counter_id, "key transfer long", lambda s: s.get("ticket") is None)
    elif action.action == "skip":
        press(terminal, view, counter_id, "key skip long", lambda s: s.get("ticket") is None)
    elif action.action == "finish":
        press(terminal, view, counter_id, "key finish", lambda s: s.get("ticket") is None)
    else:
        press(terminal, view, counter_id, f"key {action.action}")
    return None


def press(terminal: Agent, view: CounterView, counter_id: str, line: str,
          done: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Press a key and wait for the terminal's feedback light saying how it ended (a key pressed before that
    would fail: one command at a time), then for the counter's state to show what the key did (`done`; by
    default any change); returns that state."""
    before = dict(view.states.get(counter_id) or {})
    terminal.send(line)
    if not terminal.wait_for(DONE, 10):
        log.warning("counter %s: no feedback after %r", counter_id, line)
    return view.wait_for(counter_id, done or (lambda state: state != before), 1.0)


def seated(state: dict[str, Any]) -> bool:
    return bool(state.get("official"))


def called_other_than(previous: str | None) -> Callable[[dict[str, Any]], bool]:
    return lambda state: ticket_id(state) not in (None, previous)


def ticket_id(state: dict[str, Any]) -> str | None:
    ticket = state.get("ticket")
    return str(ticket["id"]) if ticket else None


def no_ticket(state: dict[str, Any]) -> bool:
    return state.get("ticket") is None


# --- the staff console, in real browsers ------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """The console's address, and the two browsers: counter 1's official's and the manager's."""

    url: str
    official: WebDriver
    manager: WebDriver


def open_browsers(running: ExitStack, count: int) -> list[WebDriver]:
    """`count` Chromiums started at once, each closed by `running`."""
    contexts = [chromium() for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        started = [pool.submit(context.__enter__) for context in contexts]
    for context, future in zip(contexts, started, strict=True):
        if future.exception() is None:
            running.push(context)
    return [future.result() for future in started]  # the first failure raises; the started ones are closed


def browser_official(morning: Morning, counter_id: str, terminal: Agent, view: CounterView, seed: int,
                     console: Agent, staff: Staff) -> None:
    """The official of devkit/morning.py (the same plan as at a terminal) on the console's counter page in a real
    Chromium, by its keyboard shortcuts and its transfer form; the citizen still rates on the terminal's buttons."""
    if not console.serving.wait(30) or not view.wait_ready(counter_id, 30):
        log.error("counter %s: the console or the terminal did not come up; see their logs", counter_id)
        return
    page = ConsolePage(staff.official, staff.url)
    try:
        page.sign_in(OFFICIALS[counter_id][0], PASSWORD)
        page.open_counter(counter_id)
        page.take_counter()
        work_on_page(morning, counter_id, terminal, view, seed, page)
    except (WebDriverException, RuntimeError) as exc:
        log.error("counter %s: the browser failed, its official stops: %s", counter_id, exc)
    finally:
        leave_page(page)


def leave_page(page: ConsolePage) -> None:
    """The page's stream closed before the console stops (it would wait for open streams)."""
    with suppress(WebDriverException):
        page.driver.get("about:blank")


def work_on_page(morning: Morning, counter_id: str, terminal: Agent, view: CounterView, seed: int,
                 page: ConsolePage) -> None:
    """The plan, and the page saved at three moments: the first call from 08:00 (during the service that follows),
    the first transfer (its target chosen, before it is sent; a call from 10:00 if there was none by then) and the
    first rating the page shows from 10:15."""
    plan = official_plan(TRAFFIC, counter_id, morning.clock.start, morning.clock.now, random.Random(seed))
    taken: set[str] = set()

    def shoot(moment: str) -> None:
        taken.add(moment)
        save_screen(page, morning, f"quay-{counter_id}")

    def before_transfer() -> None:
        if "transfer" not in taken:
            shoot("transfer")

    answer: str | None = None
    pressed: datetime | None = None
    while morning.open():
        action = plan.send(answer)
        called, answer = answer, None
        now = morning.clock.now()
        if isinstance(action, Wait):
            # Counted from the official's key, as their own wait would be: the page's answer and WebDriver's round
            # trips after it, a tenth of a second that the simulated clock makes half a minute, are not the
            # official's time. A screenshot is taken out of the wait too, not added to it.
            until = (pressed or now) + timedelta(minutes=action.minutes)
            pressed = None
            if called is not None and "call" not in taken and now >= morning.at(8, 0):
                shoot("call")
            elif called is not None and "transfer" not in taken and now >= morning.at(10, 0):
                shoot("transfer")
            morning.sleep_until(until)
        elif isinstance(action, Rate):
            if terminal.armed.wait(5) and not rates_on_phone(morning, view, counter_id):
                terminal.send(f"rate {action.level}")
                if (terminal.wait_for("thanks", 5) and "rating" not in taken and now >= morning.at(10, 15)
                        and page.wait_shows("danh-gia", "công dân đánh giá")):
                    shoot("rating")
        else:
            pressed = now
            answer = on_page(action, counter_id, page, view, before_transfer)
            if answer is not None:
                morning.called += 1


def on_page(action: Press, counter_id: str, page: ConsolePage, view: CounterView,
            before_transfer: Callable[[], None]) -> str | None:
    """One action of the plan on the page, as `carry_out` does it on the terminal: the page's answer, then the
    counter's retained state and the page showing what it did; for `next`, the area of the ticket it called."""
    before = dict(view.states.get(counter_id) or {})
    previous = ticket_id(before)
    if action.action == "transfer" and action.to_area is not None:
        page.choose_transfer(action.to_area)
        before_transfer()
    answer = page.act(action.action, action.to_area, action.code)
    if answer is None or not answer.ok:
        log.warning("counter %s: %s on the page: %s", counter_id, action.action,
                    "no answer" if answer is None else answer.text)
        return None
    if answer.text == NOBODY:
        return None
    done: Callable[[dict[str, Any]], bool] = {
        "next": called_other_than(previous), "pause": lambda s: s.get("status") == "paused",
        "resume": lambda s: s.get("status") != "paused", "transfer": no_ticket, "skip": no_ticket,
        "finish": no_ticket,
        "dossier": lambda s: action.code in ((s.get("dossiers") or {}).get("codes") or ()),
    }.get(action.action, lambda state: state != before)
    state = view.wait_for(counter_id, done, 1.0)
    ticket = state.get("ticket")
    page.wait_shows("so-hien-tai", str(ticket["number"]) if ticket else "—", exact=True)
    return str(ticket["area"]) if action.action == "next" and ticket and ticket_id(state) != previous else None


def rates_on_phone(morning: Morning, view: CounterView, counter_id: str) -> bool:
    """The citizen whose rating the terminal waits for rates on their phone instead."""
    rating = (view.states.get(counter_id) or {}).get("rating") or {}
    return rating.get("ticket_id") in morning.on_phone


# --- a citizen's phone -------------------------------------------------------------------------------

def phone_citizen(morning: Morning, phone: WebDriver) -> None:
    """First, at 07:45, a citizen takes a remote number on the phone (`remote_number`). Then a citizen who has to
    wait scans their ticket's QR (read back from its PNG, as a phone's camera would) and follows their turn on the
    phone: saved waiting, called, asked to rate, and after rating. From the morning's
    PHONE_TICKET-th ticket on, the first whose page says it waits is the one (a citizen called at once would not
    follow anything); should they miss their call (the morning has no-shows), the next who waits does it."""
    remote_number(morning, phone)
    page = PhonePage(phone, 10)
    for nth in range(PHONE_TICKET, PHONE_TICKET + 40):
        ticket = printed_ticket(morning, nth)
        if ticket is None:
            return
        ticket_id = ticket.name[:15]  # "20261202-000030-1009.png"
        morning.on_phone.add(ticket_id)  # its citizen rates on the phone, not on the counter's buttons
        address = read_qr(ticket)
        if not address.startswith("http"):
            log.error("the QR of %s could not be read: %s", ticket.name, address)
            return
        page.open(address)
        try:
            WebDriverWait(phone, 10, poll_frequency=0.05).until(lambda _d: page.following())
            if page.state() != "waiting":
                morning.on_phone.discard(ticket_id)
                continue
            if follow_on_phone(morning, page):
                return
        except (TimeoutException, WebDriverException) as failed:
            log.error("the phone's page of %s: %s (at %s)", ticket.name, failed.msg, page.state() or "no ticket")
            return
        log.info("the citizen of %s missed their call; the next who waits follows theirs on the phone", ticket.name)


def read_qr(image: Path) -> str:
    """What the QR code in `image` holds, as a phone's camera or a scanner reads it (zbarimg); else why not."""
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True, check=False)
    return scanned.stdout.strip() if scanned.returncode == 0 else scanned.stderr.strip() or "no QR code found"


def remote_number(morning: Morning, phone: WebDriver) -> None:
    """At 07:45 a citizen takes a remote number for today on the citizen web (the page with its code and QR saved):
    it counts once they check in at the kiosk, at 08:15, their QR held to the scanner."""
    morning.sleep_until(morning.at(*REMOTE.start))
    if not morning.open():
        return
    page = BookingPage(phone, morning.web_url)
    try:
        page.open("/")
        page.choose("Lấy số từ xa")
        page.fill(REMOTE.cccd, REMOTE.phone, area=REMOTE.area)
        page.submit()
        code = page.code().replace(" ", "")
        if not code_ok(code):
            log.error("no remote number: %s", page.message() or "the page shows no code")
            return
        WebDriverWait(phone, 10, poll_frequency=0.05).until(lambda _d: page.qr_loaded())
        shot = page.save(OUT / "screens" / "web-so-tu-xa.png")
    except (TimeoutException, WebDriverException, AssertionError) as failed:
        log.error("the remote number on the phone: %s", failed)
        return
    morning.codes[REMOTE] = qr_code(shot, code)
    log.info("a remote number for %s taken on the phone at %s", REMOTE.area, f"{morning.clock.now():%H:%M}")


def qr_code(shot: Path, code: str) -> str:
    """What the scanner will read from the booking's QR on the phone's screen `shot` (which shows `code`)."""
    held = read_qr(shot)
    if held != code:
        log.error("the QR on %s reads %r, not the code %s it shows; the scanner is given the code", shot.name, held,
                  code)
        return code
    return held


def printed_ticket(morning: Morning, nth: int) -> Path | None:
    """The morning's `nth` printed ticket, once it is printed; None when the morning ends first."""
    tickets = OUT / "tickets"
    while morning.open() and len(list(tickets.glob("*.png"))) < nth:
        morning.stop.wait(0.2)
    printed = sorted(tickets.glob("*.png"))
    return printed[nth - 1] if len(printed) >= nth else None


def follow_on_phone(morning: Morning, page: PhonePage) -> bool:
    """Saved at each moment of the ticket; True once rated on the phone, False when its citizen missed the call."""
    shown = {"waiting": "1-cho", "called": "2-goi", "served": "3-danh-gia"}
    saved: set[str] = set()
    while morning.open():
        state = page.state()
        if state == "missed":
            return False
        if state in shown and state not in saved and page.following():
            if state == "served":
                WebDriverWait(page.driver, 10, poll_frequency=0.05).until(lambda _d: page.levels())
            saved.add(state)
            page.save(OUT / "screens" / f"phone-{shown[state]}.png")
            if state == "served":
                page.rate("very_satisfied")
                page.save(OUT / "screens" / "phone-4-da-danh-gia.png")
                return True
        morning.stop.wait(0.05)
    return False


def manager(morning: Morning, console: Agent, staff: Staff) -> None:
    """First the other officials take their counters on the console (from then on their keys are theirs); then the
    manager follows the floor in a second browser, saved at 08:30, at the longest queue of 09:00-10:30 (one with
    an alert on the page first) and at 11:40 with the morning's figures."""
    if not console.serving.wait(30):
        log.error("the console did not come up; see its log")
        return
    page = ConsolePage(staff.manager, staff.url)
    try:
        for counter_id, (username, _) in OFFICIALS.items():
            if counter_id != BROWSER_COUNTER:
                page.sign_in(username, PASSWORD)
                page.open_counter(counter_id)
                page.take_counter()
                page.sign_out()
        page.sign_in(MANAGER[0], PASSWORD)
        page.open_floor()
        follow_floor(morning, page)
    except (WebDriverException, RuntimeError) as exc:
        log.error("the manager's browser failed: %s", exc)
    finally:
        leave_page(page)


def follow_floor(morning: Morning, page: ConsolePage) -> None:
    morning.sleep_until(morning.at(8, 30))
    if not morning.open():
        return
    save_screen(page, morning, "san")
    morning.sleep_until(morning.at(9, 0))
    best: tuple[tuple[bool, int], datetime, bytes] | None = None
    while morning.open() and morning.clock.now() < morning.at(10, 30):
        score = (bool(page.alerts()), page.figure("Đang chờ") or 0)
        if best is None or score > best[0]:
            best = (score, morning.clock.now(), page.screenshot())
        morning.stop.wait(2.0)
    if best is not None:
        screen_path("san", best[1]).write_bytes(best[2])
    morning.sleep_until(morning.at(10, 35))
    if morning.open():
        change_notice(morning, page)
    morning.sleep_until(morning.at(11, 40))
    if morning.open():
        save_screen(page, morning, "san")


def change_notice(morning: Morning, page: ConsolePage) -> None:
    """The administrator, at the manager's PC, changes the hall boards' notice; the page and the history saved."""
    page.sign_out()
    page.sign_in(ADMIN[0], PASSWORD)
    said = page.change_notice(AFTERNOON_NOTICE)
    log.info("the administrator changed the boards' notice: %s", said.splitlines()[0] if said else "?")
    save_screen(page, morning, "quan-tri")
    page.open_history()
    save_screen(page, morning, "lich-su")
    page.sign_out()
    page.sign_in(MANAGER[0], PASSWORD)
    page.open_floor()


def screen_path(name: str, moment: datetime) -> Path:
    """console-<page>-<HHMM of the simulated day>.png: each page's screenshots sort in time."""
    return OUT / "screens" / f"console-{name}-{moment:%H%M}.png"


def save_screen(page: ConsolePage, morning: Morning, name: str) -> None:
    page.save(screen_path(name, morning.clock.now()))


def progress(morning: Morning, bus: LedBus) -> None:
    """A progress bar in simulated time, with what the counters' LED displays show."""
    opens, closes = morning.at(*OPENS), morning.at(*CLOSES)
    live = sys.stdout.isatty()
    while not morning.stop.wait(1.0 if live else 10.0):
        now = morning.clock.now()
        done = min(1.0, max(0.0, (now - opens) / (closes - opens)))
        bar = "█" * int(done * 24) + "·" * (24 - int(done * 24))
        leds = " ".join(f"Q{n}:{bus.shown.get(n, '----'):>4}" for n in range(1, len(COUNTERS) + 1))
        line = f"  {now:%H:%M} [{bar}] {done:4.0%}  {morning.issued:3d} công dân  {morning.called:3d} lượt gọi  {leds}"
        print("\r" + line if live else line, end="" if live else "\n", flush=True)
    if live:
        print()


# --- the whole morning --------------------------------------------------------------------------


def screen_env() -> dict[str, str]:
    """Live windows with QMS_DEMO_WINDOWS=1 (SDL picks X11, Wayland or KMS/DRM) or, unset, on a desktop
    (DISPLAY or WAYLAND_DISPLAY); QMS_DEMO_WINDOWS=0 or neither: SDL's dummy video driver."""
    wanted = os.environ.get("QMS_DEMO_WINDOWS")
    live = wanted == "1" or (wanted is None and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")))
    return {"SDL_AUDIODRIVER": "dummy", **({} if live else {"SDL_VIDEODRIVER": "dummy"})}


def main() -> int:
    setup_logging()
    shutil.rmtree(OUT, ignore_errors=True)
    for folder in ("logs", "report", "tickets", "screens", "announcements"):
        (OUT / folder).mkdir(parents=True)
    print(f"Một buổi sáng tại bộ phận một cửa: {ARRIVALS} công dân, 4 quầy, mô phỏng nhanh gấp {SPEED:g} lần")
    with ExitStack() as running:  # whatever started is stopped, in reverse order, however the morning ends
        # Before the clock starts: Chromium takes seconds to start on a busy machine, and the morning would wait.
        browsers = open_browsers(running, 2)
        phone = running.enter_context(chromium(phone=True))
        accounts = console_accounts()
        start = datetime.now(ZONE).replace(hour=OPENS[0], minute=OPENS[1] - 5, second=0, microsecond=0)
        broker = LocalBroker(OUT / "logs")
        broker.start()
        running.callback(broker.stop)
        web_port = free_port()
        web_url = f"http://127.0.0.1:{web_port}"
        config = load(center_config(broker, web_url))
        topics = Topics(config.center_id)
        web_path = web_config(config.center_id, broker, web_port)
        codes = afternoon_before(config, topics, broker, web_path, BookingPage(phone, web_url), start)
        print(f"Buổi sáng ({start:%d/%m/%Y}):")
        clock = SimulatedClock(start, SPEED, time.time())
        console_path, url = console_config(config.center_id, broker, config.path, accounts)
        console = Agent("console", "staff_console", console_path, clock, {})  # first: it takes longest to start
        running.callback(console.stop)
        web = Agent("web", "citizen_web", web_path, clock, {})
        running.callback(web.stop)
        server = start_server(config.path, clock, topics, broker)
        running.callback(stop_server, server)
        printer, bus = LoopbackPrinter(), LedBus()
        running.callback(printer.close)
        running.callback(bus.close)
        env = screen_env()
        agents = [Agent("board", "display_board", board_config(config.center_id, broker, bus.port), clock, env),
                  Agent("kiosk", "kiosk", kiosk_config(config.center_id, broker, printer, scanner=True), clock, env)]
        terminals = {c: Agent(f"counter-{c}", "rating_terminal", terminal_config(config.center_id, c, broker),
                              clock, {}) for c, _, _ in COUNTERS}
        agents += terminals.values()
        for agent in agents:
            running.callback(agent.stop)
        view = CounterView(broker, topics, list(terminals))
        running.callback(view.close)
        morning = Morning(clock, web_url, codes)
        running.callback(morning.stop.set)
        try:
            play(morning, agents[1], terminals, view, bus, tuple(a.id for a in config.rules.areas if a.open),
                 console, Staff(url, *browsers), phone)
        except KeyboardInterrupt:
            print("\ndừng lại theo yêu cầu")
            return 130
        dead = [agent.name for agent in (*agents, console, web) if agent.proc.poll() is not None]
    if dead:
        print(f"\n{', '.join(dead)} stopped during the morning: see {OUT / 'logs'}", file=sys.stderr)
        return 1
    return finish(config.path, clock)


def afternoon_before(config: CenterConfig, topics: Topics, broker: LocalBroker, web_path: Path, page: BookingPage,
                     morning: datetime) -> dict[Booker, str]:
    """The afternoon before `morning`, from 15:00 on that day's clock: the server and the citizen web run (on the
    broker and the database of the morning), and BOOKERS book their slots of the morning on the web on a phone, one
    after the other (the first one's pages saved as web-dat-lich-*.png); the last one then cancels on /lich-hen.
    Returns what each will check in with: their code as the confirmation's QR holds it. Any day will do: the demo's
    center works every day (`center_config`)."""
    clock = SimulatedClock(morning.replace(hour=AFTERNOON[0], minute=AFTERNOON[1]) - timedelta(days=1), SPEED,
                           time.time())
    print(f"Chiều hôm trước ({clock.start:%d/%m/%Y}): {len(BOOKERS)} công dân đặt lịch hẹn cho sáng mai trên điện "
          "thoại, một người huỷ")
    names = {area.id: area.name for area in config.rules.areas}
    codes: dict[Booker, str] = {}
    with ExitStack() as running:
        web = Agent("web-afternoon", "citizen_web", web_path, clock, {})
        running.callback(web.stop)
        running.callback(stop_server, start_server(config.path, clock, topics, broker, "server-afternoon"))
        if not web_serves(page.base_url + "/dat-lich", 30):
            raise RuntimeError(f"the citizen web did not serve its booking pages; see {OUT / 'logs'}")
        try:
            for n, booker in enumerate(BOOKERS):
                codes[booker] = book_slot(page, booker, names[booker.area], morning.date(), saved=n == 0)
            for booker in BOOKERS:
                if booker.then == "cancel":
                    cancel_booking(page, booker, codes.pop(booker))
        except (TimeoutException, WebDriverException, AssertionError) as failed:
            raise RuntimeError(f"booking on the citizen web failed: {failed}") from failed
        log.info("booked the afternoon before, %s-%s: %s", f"{clock.start:%H:%M}", f"{clock.now():%H:%M}",
                 ", ".join(f"{b.area} {b.start[0]:02d}:{b.start[1]:02d}" for b in BOOKERS))
    return codes


def web_serves(address: str, timeout_s: float) -> bool:
    """Whether `address` answers 200 within `timeout_s` (the citizen web has the center's config). Asked four times a
    second: every request counts against the client's rate, the browser's too."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with suppress(OSError), urllib.request.urlopen(address, timeout=2) as answer:
            if answer.status == 200:
                return True
        time.sleep(0.25)
    return False


def book_slot(page: BookingPage, booker: Booker, area_name: str, day: date, *, saved: bool) -> str:
    """`booker` books their slot of `day` as a citizen does: the booking link, the area, the day, the slot, the form;
    returns their code (what the confirmation's QR holds). `saved`: each page saved on the way."""
    start = f"{booker.start[0]:02d}:{booker.start[1]:02d}"

    def save(name: str) -> None:
        if saved:
            page.save(OUT / "screens" / f"web-dat-lich-{name}.png")

    page.open("/")
    page.choose("Đặt lịch hẹn")
    save("1-linh-vuc")
    page.choose(area_name)
    page.choose(day_text(day))
    save("2-khung-gio")
    page.choose(start)
    page.fill(booker.cccd, booker.phone)
    save("3-mau")
    page.submit()
    code = page.code().replace(" ", "")
    if not code_ok(code):
        raise AssertionError(f"{booker.area} at {start}: {page.message() or 'the page shows no code'}")
    WebDriverWait(page.driver, 10, poll_frequency=0.05).until(lambda _d: page.qr_loaded())
    if not saved:
        return code
    shot = OUT / "screens" / "web-dat-lich-4-xong.png"
    save("4-xong")
    return qr_code(shot, code)


def cancel_booking(page: BookingPage, booker: Booker, code: str) -> None:
    """`booker` will not come after all: they look their booking up by its code and their CCCD, and cancel it."""
    page.look_up(code, booker.cccd)
    page.cancel(booker.cccd)
    if page.text("tinh-trang") != "Đã huỷ":
        raise AssertionError(f"cancelling {code}: {page.message() or page.text('tinh-trang') or 'no answer'}")
    page.save(OUT / "screens" / "web-lich-hen-huy.png")


def play(morning: Morning, kiosk: Agent, terminals: dict[str, Agent], view: CounterView, bus: LedBus,
         areas: tuple[str, ...], console: Agent, staff: Staff, phone: WebDriver) -> None:
    """The citizens (one of them on the phone), the officials (counter 1's on the console's page) and the manager,
    with the progress bar, until the center closes."""
    plan = morning_arrivals(TRAFFIC, morning.clock.start, random.Random(2026))
    workers = [threading.Thread(target=citizens, args=(morning, kiosk, plan)),
               *(threading.Thread(target=browser_official, args=(morning, c, t, view, 100 + n, console, staff))
                 if c == BROWSER_COUNTER else threading.Thread(target=official, args=(morning, c, t, view, 100 + n,
                                                                                      areas))
                 for n, (c, t) in enumerate(terminals.items())),
               threading.Thread(target=manager, args=(morning, console, staff)),
               threading.Thread(target=phone_citizen, args=(morning, phone))]
    bar = threading.Thread(target=progress, args=(morning, bus), daemon=True)
    bar.start()
    for worker in workers:
        worker.daemon = True
        worker.start()
    try:
        for worker in workers:
            worker.join()
    finally:  # interrupted too: the browsers are closed by their own threads, which end once the morning stops
        morning.stop.set()
        for worker in workers:
            worker.join(15)
        bar.join()


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def bookings_line(bookings: list[BookingRecord]) -> str:
    """What became of the day's bookings and remote numbers, in one line."""
    states = Counter((b.channel, b.state) for b in bookings)
    words = {"checked_in": "đã đến lấy số", "late": "đến muộn, nhận số thường", "no_show": "không đến",
             "cancelled": "đã huỷ", "booked": "chưa đến"}
    parts = []
    for channel, name in (("booked", "lịch hẹn"), ("remote", "số từ xa")):
        made = sum(n for (c, _), n in states.items() if c == channel)
        what = ", ".join(f"{states[channel, state]} {word}" for state, word in words.items() if states[channel, state])
        parts.append(f"{made} {name}" + (f" ({what})" if what else ""))
    return "Đặt trước: " + "; ".join(parts)


def dossiers_line(report: Report) -> str:
    """The center's satisfaction by dossier (Quyết định 766), from the report's sheet, in one line."""
    from central_server.report.output import cell_text  # here: the rest of this module is not the report's

    sheet = next(t for t in report.tables if t.slug == "hai-long-766")
    center = dict(zip(sheet.columns, next(r for r in sheet.rows if r[0] == CENTER_GROUP), strict=True))
    return (f"Hồ sơ: {center[RECEIVED]} hồ sơ gắn với phiếu, {center[AGAINST]} không hài lòng hoặc có phản ánh; "
            f"tỷ lệ hài lòng theo QĐ 766: {cell_text('share', center[RATIO_766], unit=True)}; "
            f"{center[SERVED_WITHOUT]} lượt phục vụ không gắn hồ sơ")


def finish(config_path: Path, clock: SimulatedClock) -> int:
    config = load(config_path)
    day = clock.start.date()
    report = make_report(config, day, day, as_of=clock.now())
    written = write_report(report, OUT / "report")
    from central_server.report.output import cell_text  # here: the rest of this module is not the report's

    summary = report.tables[0]
    for row in summary.rows[3:]:
        label, kind = str(row[0]).removesuffix(" (phút)"), summary.kinds(row)[1]
        print(f"  {label}: {cell_text(kind, row[1], unit=True)}")
    print(f"  {bookings_line(report.bookings)}")
    print(f"  {dossiers_line(report)}")
    tickets = sorted((OUT / "tickets").glob("*.png"))
    screens = sorted(path for path in (OUT / "screens").glob("*.png")
                     if not path.name.startswith(("console-", "phone-", "web-")))
    pages = sorted((OUT / "screens").glob("console-*.png"))
    phones = sorted((OUT / "screens").glob("phone-*.png"))
    webs = sorted((OUT / "screens").glob("web-*.png"))
    print(f"\nBáo cáo:     {written[0]} (và {OUT / 'report' / 'csv'}, biểu đồ trong {OUT / 'report' / 'charts'})")
    print(f"Phiếu in:    {OUT / 'tickets'} ({len(tickets)} ảnh PNG, đúng như trên giấy)")
    print(f"Màn hình:    {OUT / 'screens'} ({len(screens)} ảnh: ki-ốt lấy số và bảng gọi số; {len(pages)} ảnh "
          f"console-*.png: trang của cán bộ quầy {BROWSER_COUNTER}, làm việc trên trình duyệt, trang toàn trung "
          f"tâm của quản lý, trang quản trị và lịch sử thay đổi cấu hình; {len(phones)} ảnh phone-*.png: trang theo "
          "dõi lượt trên điện thoại của một công dân, mở bằng mã QR trên phiếu; "
          f"{len(webs)} ảnh web-*.png: đặt lịch hẹn, huỷ lịch hẹn và lấy số từ xa trên điện thoại)")
    print(f"Tin nhắn:    {OUT / 'tin-nhan.jsonl'} (tin nhắn xác nhận, nhắc hẹn và huỷ gửi tới công dân)")
    print(f"Lời gọi số:  {OUT / 'announcements' / 'goi-so.wav'} (5 phút đầu; mọi lời gọi: goi-so.txt)")
    print(f"Nhật ký:     {OUT / 'logs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
