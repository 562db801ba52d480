"""`make bench` for the staff console: a state change on the broker -> the page updated, with 50 pages open; the
console's memory and idle CPU.

Everything is real and on 127.0.0.1: Mosquitto (`devkit.local_broker`), `python -m central_server`,
`python -m staff_console` and its accounts database (the library's default argon2 parameters, as in production),
made up front with one account per page. 50 pages are open, each its own sign-in through the sign-in form:

- 2 in real browsers (Debian's chromium, headless, through Selenium; one browser each, as two PCs): official
  `cb01` on counter 1's page (`/quay/1`) and manager `ql01` on the floor (`/san`). A MutationObserver in each page
  notes `Date.now()` when the DOM first shows a number (counter 1's `#so-hien-tai`, a row of `#cac-quay`);
- 48 raw HTTP/1.1 clients in this process (asyncio, one connection each, reading `text/event-stream` as the
  page's EventSource does): the pages of counters 2..40 (one official each) and 9 more managers' floors. Their
  time is when the event carrying the number has arrived whole. Chromium keeps at most 6 HTTP/1.1 connections to
  one host, so 50 tabs of one browser could not all hold their streams: the raw clients stand for the other PCs.

The change: a counter's `next` (its keypad's command through the server, `counter/<id>/command`), timed from
just before it is published to the page showing the called number. The counter's state is retained and sent at
once (the floor's figures are throttled to 2/s by the server, so the floor page is measured on its counters'
table, which follows the counter states). Counter 1 takes every other change, counters 2..40 the others in
turn; after each change the next one waits until every raw stream has shown it, then 150-350 ms more. The
browsers and this process read the same CLOCK_REALTIME (Date.now(), time.time()); the offset is checked with
round trips and printed.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from benchmarks.kiosk_bench import rss_mb
from benchmarks.server_bench import UNLIMITED, Server, percentiles, process_cpu_s, wait_online
from devkit.browser import chromium
from devkit.local_broker import LocalBroker, free_port
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink
from protocol.messages import Status
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
CENTER = "bench-console"
COUNTERS = 40  # a district center's counters; one official's page each
FLOORS = 10  # managers' floor pages
PAGES = COUNTERS + FLOORS
CHANGES = 200  # counter 1 (the browser's counter page) takes every other one
GAP_S = (0.15, 0.35)
IDLE_S = 15.0  # one PING_S of the console's streams: the idle window holds one keep-alive round
PASSWORD = "mật khẩu thử tải 2024"
TIMEOUT = 10.0
HOST = "127.0.0.1"


def center_toml(folder: Path, broker: LocalBroker, center: str = CENTER, counters: int = COUNTERS,
                more: str = "") -> Path:
    """One area (numbers 1-9999) served by `counters` counters, no rate limits; `more`: further tables."""
    tables = "".join(f'[[counters]]\nid = "{n}"\nname = "Quầy {n}"\nareas = ["dat-dai"]\n'
                     for n in range(1, counters + 1))
    path = folder / "center.toml"
    path.write_text(
        f'[center]\nid = "{center}"\nname = "Trung tâm Phục vụ hành chính công (thử tải)"\n'
        f'[mqtt]\nurl = "{broker.url}"\n[storage]\nurl = "sqlite:///{folder / "center.db"}"\n'
        '[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\n'
        f'{UNLIMITED}{more}[[areas]]\nid = "dat-dai"\nname = "Đất đai"\nfirst = 1\nlast = 9999\n{tables}',
        encoding="utf-8")
    return path


def officials() -> dict[str, tuple[str, str]]:
    """username -> (full name, role): cb01..cb40 at counters 1..40, ql01..ql10 managers."""
    users = {f"cb{n:02d}": (f"Cán bộ Quầy {n}", "official") for n in range(1, COUNTERS + 1)}
    users.update({f"ql{n:02d}": (f"Quản lý {n}", "manager") for n in range(1, FLOORS + 1)})
    return users


class Console:
    """`python -m staff_console` as a process, on a free loopback port, with an account per page."""

    def __init__(self, folder: Path, broker: LocalBroker) -> None:
        from staff_console.accounts import Accounts
        from staff_console.users import new_user

        self.port = free_port()
        self.config = folder / "console.toml"
        self.config.write_text(
            f'[console]\nid = "console-1"\ncenter = "{CENTER}"\naccounts = "console-accounts.db"\n'
            f'port = {self.port}\n[mqtt]\nurl = "{broker.url}"\n', encoding="utf-8")
        accounts = Accounts(folder / "console-accounts.db")  # the default argon2 parameters
        for username, (name, role) in officials().items():
            accounts.add(new_user(username, name, role), PASSWORD)
        accounts.close()
        self.log = folder / "console.log"
        self.broker = broker
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> float:
        """Seconds from start to the console's retained `online` (it listens and reads the center)."""
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "staff_console", "--config", str(self.config)],
                                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        online = threading.Event()
        watcher = MqttLink(MqttSettings(self.broker.host, self.broker.port), client_id=f"{CENTER}-watch",
                           status_topic=Topics(CENTER).device_status("watch"), announce_online=False)
        watcher.subscribe(Topics(CENTER).device_status("console-1"),
                          lambda m: online.set() if Status.from_wire(m.payload).online else None)
        watcher.start()
        try:
            if not online.wait(TIMEOUT):
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            ready_s = time.perf_counter() - started
        finally:
            watcher.stop()
        deadline = time.monotonic() + TIMEOUT
        while "staff_console: serving" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        return max(ready_s, time.perf_counter() - started)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(TIMEOUT)
            self.proc = None


def sign_in(port: int, username: str) -> str:
    """The session cookie of a sign-in through the form (its CSRF cookie and field), as a browser does."""
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/dang-nhap")
        response = connection.getresponse()
        html = response.read().decode()
        form_cookie = _cookie(response, "qms_mau")
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None, "no CSRF field on the sign-in form"
        body = urlencode({"username": username, "password": PASSWORD, "csrf": csrf.group(1)})
        connection.request("POST", "/dang-nhap", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"qms_mau={form_cookie}",
            "Origin": f"http://{HOST}:{port}"})
        response = connection.getresponse()
        response.read()
        assert response.status == 303, f"sign-in of {username}: {response.status}"
        return _cookie(response, "qms_phien")
    finally:
        connection.close()


def _cookie(response: http.client.HTTPResponse, name: str) -> str:
    for header in response.headers.get_all("set-cookie") or []:
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie")


class Streams:
    """The raw clients: one asyncio loop on a thread, one HTTP/1.1 connection per page reading its event stream.

    `seen[key]` is when a number was first shown: key (counter, number), from a counter page of that counter or
    from a floor page (`page` tells which page saw it: one entry per page)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: dict[tuple[str, str, str], float] = {}  # (page, counter, number) -> time.time()
        self.pages: list[tuple[str, str]] = []  # (page name, what it shows: a counter id or "floor")
        self.events = 0
        self.bytes = 0
        self.changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sse-clients", daemon=True)
        self._thread.start()
        self._writers: list[asyncio.StreamWriter] = []

    def open(self, page: str, shows: str, path: str, token: str) -> None:
        opened = threading.Event()
        self.pages.append((page, shows))
        asyncio.run_coroutine_threadsafe(self._follow(page, shows, path, token, opened), self._loop)
        if not opened.wait(TIMEOUT):
            raise RuntimeError(f"{page}: no stream")

    async def _follow(self, page: str, shows: str, path: str, token: str, opened: threading.Event) -> None:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        self._writers.append(writer)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAccept: text/event-stream\r\n"
                     f"Cache-Control: no-cache\r\nCookie: qms_phien={token}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200") or b"chunked" not in head.lower():
            raise RuntimeError(f"{page}: {head[:200]!r}")
        buffer = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return
            buffer += chunk[:-2]
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                arrived = time.time()
                self._take(page, shows, event, arrived)
                opened.set()

    def _take(self, page: str, shows: str, event: bytes, arrived: float) -> None:
        data = b"".join(line[6:] for line in event.split(b"\n") if line.startswith(b"data: "))
        if not data:
            return  # a keep-alive comment
        view = json.loads(data)
        states = view["counters"] if shows == "floor" else {shows: view["state"]}
        with self.changed:
            self.events += 1
            self.bytes += len(event) + 2
            for counter_id, state in states.items():
                ticket = (state or {}).get("ticket")
                self.seen.setdefault((page, counter_id, ticket["number"] if ticket else "—"), arrived)
            self.changed.notify_all()

    def showing(self, counter_id: str, number: str) -> list[str]:
        """The pages that should show `number` at `counter_id`."""
        return [page for page, shows in self.pages if shows in ("floor", counter_id)]

    def wait_shown(self, counter_id: str, number: str, timeout_s: float = TIMEOUT) -> bool:
        pages = self.showing(counter_id, number)
        with self.changed:
            return self.changed.wait_for(lambda: all((p, counter_id, number) in self.seen for p in pages), timeout_s)

    def close(self) -> None:
        async def end() -> None:
            for writer in self._writers:
                writer.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(end(), self._loop).result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()


COUNTER_OBSERVER = """
window.__seen = {};
const target = document.getElementById("so-hien-tai");
const note = () => { const n = target.textContent; if (!(n in window.__seen)) window.__seen[n] = Date.now(); };
note();
new MutationObserver(note).observe(target, {childList: true, characterData: true, subtree: true});
"""
FLOOR_OBSERVER = """
window.__seen = {};
const body = document.getElementById("cac-quay");
const note = () => {
  for (const row of body.rows) {
    const key = row.cells[0].textContent + "|" + row.cells[3].textContent;
    if (!(key in window.__seen)) window.__seen[key] = Date.now();
  }
};
note();
new MutationObserver(note).observe(body, {childList: true, subtree: true, characterData: true});
"""


def open_in_browser(driver: WebDriver, port: int, username: str, path: str, ready_id: str, observer: str) -> None:
    driver.get(f"http://{HOST}:{port}/dang-nhap")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    WebDriverWait(driver, TIMEOUT, 0.05).until(lambda d: "/dang-nhap" not in d.current_url)
    driver.get(f"http://{HOST}:{port}{path}")
    WebDriverWait(driver, TIMEOUT, 0.05).until(lambda d: d.find_element(By.ID, ready_id).text != "")
    driver.execute_script(observer)


def clock_offset_ms(driver: WebDriver) -> tuple[float, float]:
    """The browser's Date.now() minus this process's time.time(), in ms, from the quickest of 20 round trips
    (offset, and half that round trip: the offset's uncertainty)."""
    best = (float("inf"), 0.0)
    for _ in range(20):
        before = time.time()
        browser_ms = float(driver.execute_script("return Date.now();"))
        after = time.time()
        best = min(best, ((after - before) * 1000, browser_ms - (before + after) * 500))
    return round(best[1], 2), round(best[0] / 2, 2)


def issue_tickets(link: MqttLink, topics: Topics, count: int) -> None:
    for _ in range(count):
        body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "area": "dat-dai"}).encode()
        link.request(topics.ticket_request("k1"), body, response_topic=topics.ticket_response("k1"), timeout_s=5)


def next_at(link: MqttLink, topics: Topics, counter_id: str) -> tuple[float, float, str]:
    """A keypad's `next` at `counter_id`: when it was about to be published and when it was answered (time.time()),
    and the number called."""
    body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "action": "next"}).encode()
    published = time.time()
    reply = json.loads(link.request(topics.counter_command(counter_id), body,
                                    response_topic=topics.counter_command_response(counter_id), timeout_s=5).payload)
    if not reply.get("ok") or not reply.get("ticket"):
        raise RuntimeError(f"next at counter {counter_id}: {reply}")
    return published, time.time(), str(reply["ticket"]["number"])


@contextmanager
def device_link(broker: LocalBroker, topics: Topics, device_id: str,
                states: dict[tuple[str, str], float] | None = None) -> Iterator[MqttLink]:
    """A device's link; with `states`, it notes when each counter state first came from the broker."""
    link = MqttLink(MqttSettings(broker.host, broker.port), client_id=f"{CENTER}-{device_id}",
                    status_topic=topics.device_status(device_id))
    if states is not None:
        def note(message: Message) -> None:
            ticket = json.loads(message.payload).get("ticket")
            states.setdefault((message.topic.split("/")[-2], ticket["number"] if ticket else "—"), time.time())

        link.subscribe(topics.counter_state("+"), note)
    link.start()
    if not link.wait_ready(TIMEOUT):
        raise RuntimeError(f"{device_id} did not connect")
    try:
        yield link
    finally:
        link.stop()


def summary(name: str, latencies: list[float], expected: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "n": len(latencies), "missed": expected - len(latencies), **percentiles(latencies),
            "max_ms": round(max(latencies), 2) if latencies else float("nan"), "target_p95_ms": 200, **extra}


def run(folder: Path) -> list[dict[str, Any]]:
    rng = random.Random(15)
    topics = Topics(CENTER)
    with ExitStack() as stack:
        broker = stack.enter_context(LocalBroker(folder))
        server = Server(center_toml(folder, broker), broker)
        stack.callback(server.stop)
        asyncio.run(wait_online(broker, topics))
        kiosk = stack.enter_context(device_link(broker, topics, "k1"))
        issue_tickets(kiosk, topics, CHANGES + 10)
        console = Console(folder, broker)
        stack.callback(console.stop)
        ready_s = console.start()
        time.sleep(3)  # the floor's last batch and the console's first second are behind it
        rss_started = rss_mb(console.pid)

        streams = Streams(console.port)
        stack.callback(streams.close)
        counter_page = stack.enter_context(chromium())
        floor_page = stack.enter_context(chromium())
        open_in_browser(counter_page, console.port, "cb01", "/quay/1", "trang-thai", COUNTER_OBSERVER)
        open_in_browser(floor_page, console.port, "ql01", "/san", "cac-quay", FLOOR_OBSERVER)
        for n in range(2, COUNTERS + 1):
            streams.open(f"quay-{n}", str(n), f"/quay/{n}/luong", sign_in(console.port, f"cb{n:02d}"))
        for n in range(2, FLOORS + 1):
            streams.open(f"san-{n}", "floor", "/san/luong", sign_in(console.port, f"ql{n:02d}"))
        offsets = [clock_offset_ms(counter_page), clock_offset_ms(floor_page)]
        time.sleep(2)
        rss_open = rss_mb(console.pid)

        keypads = {n: stack.enter_context(device_link(broker, topics, f"counter-{n}")) for n in range(1, COUNTERS + 1)}
        changes: list[tuple[str, float, str]] = []  # (counter, published, number)
        answered: list[float] = []  # ms from published to the keypad's answer
        on_broker: dict[tuple[str, str], float] = {}  # (counter, number) -> when its state came from the broker
        stack.enter_context(device_link(broker, topics, "state-watch", on_broker))
        cpu_before, wall_before = process_cpu_s(console.pid), time.perf_counter()
        others = 0
        for k in range(CHANGES):
            if k % 2 == 0:
                counter_id = "1"
            else:
                counter_id, others = str(2 + others % (COUNTERS - 1)), others + 1
            published, answer, number = next_at(keypads[int(counter_id)], topics, counter_id)
            changes.append((counter_id, published, number))
            answered.append((answer - published) * 1000)
            streams.wait_shown(counter_id, number)
            time.sleep(rng.uniform(*GAP_S))
        busy_cpu = (process_cpu_s(console.pid) - cpu_before) / (time.perf_counter() - wall_before)
        events = streams.events

        time.sleep(3)
        cpu_before, wall_before = process_cpu_s(console.pid), time.perf_counter()
        time.sleep(IDLE_S)
        idle_cpu = (process_cpu_s(console.pid) - cpu_before) / (time.perf_counter() - wall_before)
        rss_after = rss_mb(console.pid)

        counter_seen: dict[str, int] = counter_page.execute_script("return window.__seen;")
        floor_seen: dict[str, int] = floor_page.execute_script("return window.__seen;")

    browser_counter: list[float] = []
    browser_floor: list[float] = []
    raw_counter: list[float] = []
    raw_floor: list[float] = []
    from_broker: list[float] = []  # a page's time less its state's arrival at another MQTT client: the console's part
    expected_raw_counter = expected_raw_floor = 0

    def shown(into: list[float], counter_id: str, number: str, published: float, at: float) -> None:
        into.append((at - published) * 1000)
        if (counter_id, number) in on_broker:
            from_broker.append((at - on_broker[(counter_id, number)]) * 1000)

    for counter_id, published, number in changes:
        if counter_id == "1":
            if number in counter_seen:
                shown(browser_counter, counter_id, number, published, (counter_seen[number] - offsets[0][0]) / 1000)
        else:
            expected_raw_counter += 1
            key = (f"quay-{counter_id}", counter_id, number)
            if key in streams.seen:
                shown(raw_counter, counter_id, number, published, streams.seen[key])
        if f"Quầy {counter_id}|{number}" in floor_seen:
            shown(browser_floor, counter_id, number, published,
                  (floor_seen[f"Quầy {counter_id}|{number}"] - offsets[1][0]) / 1000)
        for page, shows in streams.pages:
            if shows == "floor":
                expected_raw_floor += 1
                if (page, counter_id, number) in streams.seen:
                    shown(raw_floor, counter_id, number, published, streams.seen[(page, counter_id, number)])
    to_broker = [(on_broker[(c, n)] - published) * 1000 for c, published, n in changes if (c, n) in on_broker]
    at_counter_1 = sum(1 for c, _, _ in changes if c == "1")
    setup = {"pages": PAGES, "browser_pages": 2, "raw_stream_pages": PAGES - 2, "counters": COUNTERS,
             "changes": len(changes), "change": "keypad next -> counter/<id>/state (retained, not throttled)"}
    return [
        summary("console_change_to_counter_page_browser", browser_counter, at_counter_1,
                page="/quay/1 in chromium (MutationObserver, Date.now())",
                clock_offset_ms=offsets[0][0], clock_uncertainty_ms=offsets[0][1], **setup),
        summary("console_change_to_floor_page_browser", browser_floor, len(changes),
                page="/san in chromium: the counter's row of #cac-quay",
                clock_offset_ms=offsets[1][0], clock_uncertainty_ms=offsets[1][1], **setup),
        summary("console_change_to_counter_page_stream", raw_counter, expected_raw_counter,
                page="/quay/<2..40>/luong, 39 raw clients: the event's arrival", **setup),
        summary("console_change_to_floor_page_stream", raw_floor, expected_raw_floor,
                page="/san/luong, 9 raw clients: the event's arrival", **setup),
        summary("console_change_server_answer", answered, len(changes),
                page="none: the keypad's answer (the server has stored the call and published the state)"),
        summary("console_change_state_from_broker", to_broker, len(changes),
                page="none: counter/<id>/state reaching another MQTT client of this process"),
        summary("console_change_broker_to_any_page", from_broker, len(from_broker),
                page="every page: its time less the state's arrival at another MQTT client (the console's part)"),
        summary("console_change_to_any_page", browser_counter + browser_floor + raw_counter + raw_floor,
                at_counter_1 + len(changes) + expected_raw_counter + expected_raw_floor, **setup),
        {"name": "console_footprint", "pages": PAGES, "ready_s": round(ready_s, 2),
         "rss_mb_idle_after_start": round(rss_started, 1), "rss_mb_50_pages_open": round(rss_open, 1),
         "rss_mb_50_pages_after_changes": round(rss_after, 1),
         "cpu_percent_idle_50_pages": round(idle_cpu * 100, 2), "idle_window_s": IDLE_S,
         "cpu_percent_during_changes": round(busy_cpu * 100, 1),
         "events_per_change_per_raw_stream": round(events / max(1, len(changes)) / (PAGES - 2), 2),
         "bytes_per_event": round(streams.bytes / max(1, streams.events)),
         "targets": {"cpu_percent": 1, "rss_mb": 80}},
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qms-console-bench-") as tmp:
        for line in run(Path(tmp)):
            print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
