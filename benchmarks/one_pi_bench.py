"""`make bench`: one Raspberry Pi for a commune: the server, Mosquitto, the hall board and the kiosk on one machine
through the peak of a busy morning, each as its own OS process, as on the Pi.

What runs, and is counted (the Pi's figures):

- Mosquitto with the shipped tuning (`devkit/local_broker.py`);
- `python -m central_server` on SQLite, a commune center of 5 areas and 6 counters, with a notice on its boards;
- the hall board (`python -m devkit.run display_board --scripted`: the production agent, whose pygame screen
  (SDL's dummy video driver, 1920x1080) draws and flips every frame and says on stdout when it first drew each
  number, `devkit/scripted_board.py`); it speaks every call with the clips `make install` made (pygame.mixer on
  SDL's dummy audio driver, which plays them at real speed) and drives the 6 counters' LED displays on a serial
  line (a pty);
- the kiosk (`python -m devkit.run kiosk --scripted`: the production agent, 1920x1080 on the dummy video driver, or
  `--kiosk-screen 800x480`, touched by lines on stdin, `devkit/scripted_kiosk.py`), printing every ticket to a
  loopback ESC/POS printer on TCP (`devkit/loopback_printer.py`; the shipped example's 80 mm printer model).

In this benchmark's own process, not counted, because they are other hardware in a real center: the printer, the
LED displays' end of the serial line, and the 6 counters (on their own Pis): each a simulated terminal with its own
MQTT 5 connection (`benchmarks/mqtt5_client.py`) sending the contract's commands and ratings as the official of
`devkit/morning.py` presses them (next, recall, skip, transfer, dossier codes, finish; the citizen rates 3 of 4).

**The morning.** Since July 2025 a commune (xã, phường) center serves what two or three former communes did; a busy
one has about 6 counters and 200-250 citizens in a morning, about 90 of them in the peak hour (one every 40 s),
and an official calls a citizen every 4-5 minutes (about 80 calls an hour in all). Run at that pace, 3 minutes
would hold 2 tickets and 4 calls: no percentile. So the benchmark plays the peak in real time (nothing is
compressed: every process runs at its real pace, the board draws 10 frames a second, the voice speaks each call
for its real length) with more citizens and quicker officials, 4 to 6 times that load:

- 20 citizens already wait when the measured window starts (the morning so far: the kiosk printed the first 2, so
  that the window holds none of its first tickets of the day, and a second, simulated kiosk asked for the rest);
- the kiosk serves a queue at its own pace: each citizen touches an area 1-4 s after the previous ticket left the
  screen (the number stays 6 s), about one every 8-9 s (about 400 tickets an hour), areas by the center's shares;
- the 6 officials do what `devkit/morning.py`'s do, with every wait an eighth as long (a case of a median 5
  minutes takes 40 s): about 8-9 calls a minute in all (about 500 an hour), each announced twice. That is more
  than one voice can say (a new call takes it 11-13 s): it speaks all the time and its queue grows, as in a hall
  where every counter calls at once.

So the CPU figure is an upper bound for a real peak, and the 3-minute window (`WINDOW_S`) gives about 20 presses
and 30 calls. Before it, 15 s of the same set idle (the kiosk on its menu, the board scrolling its notice) are
measured apart, to show what the load adds.

**Figures** (one JSON line each): `one_pi_cpu_idle` and `one_pi_cpu` (each process's utime+stime from
/proc/<pid>/stat over the window, as % of one core, and their sum, target 35 %; beside them "machine", what the
whole machine used, of one core too), `one_pi_memory` (each process's VmRSS at the end and at the window's start,
its peak VmHWM and its PSS, and the sums, target 350 MB: the RSS sum counts shared libraries once per process,
the PSS sum shares them out), `one_pi_press_to_paper` (the touch line written to the kiosk -> the ticket's cut at
the loopback printer; target p95 150 ms) and `one_pi_call_to_board` (a counter's `next` published -> the board has
drawn the called number, and its LED frame on the serial line; target p95 100 ms). Every process reads the same
CLOCK_MONOTONIC, so times taken in the board's process are compared with this one's. `--keep DIR` keeps the logs,
a frame of the board, every sample and each process's RSS every 10 s.

The Pi runs nothing else. On a development machine busy with other work ("machine" well above "all"), the
latencies measure that work as much as the set: `--nice -10` (as root) runs the set and this process ahead of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from benchmarks.mqtt5_client import Message, Mqtt5Client
from benchmarks.server_bench import process_cpu_s
from central_server.config_text import replace_table, set_key, toml_string
from devkit.led_bus import LedBus
from devkit.local_broker import LocalBroker
from devkit.loopback_printer import LoopbackPrinter
from devkit.morning import Official, Press, Rate, Traffic, Wait, official
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "firmware_configs"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CENTER = "one-pi"
WINDOW_S = 180.0  # the measured peak
IDLE_S = 15.0  # the same set idle, measured before it
WAITING_AT_START = 20  # citizens already waiting when the window starts
WARM_UP_TICKETS = 2  # of them, from the kiosk: the rest from a second, simulated one
STEP_UP_S = (1.0, 4.0)  # a citizen reaches the kiosk this long after the previous ticket left its screen
PACE = 8.0  # the officials' waits are devkit/morning.py's divided by this
LATE_S = 5.0  # after the window: how long a call may still take to be drawn before it counts as missing
TARGETS = {"cpu_percent": 35, "memory_mb": 350, "press_to_paper_p95_ms": 150, "call_to_board_p95_ms": 100}

# A commune center after the 2025 merger: civil status and certified copies (tư pháp – hộ tịch) the busiest area.
AREAS = (("tu-phap", "Tư pháp – Hộ tịch", 1, 999, "B"), ("dat-dai", "Đất đai", 1001, 1999, ""),
         ("xay-dung", "Xây dựng", 2001, 2999, ""), ("kinh-doanh", "Hộ kinh doanh", 1, 999, "C"),
         ("ldtbxh", "Lao động – Thương binh và Xã hội", 1, 999, "D"))
COMMUNE = Traffic(
    name="one-pi-commune",
    counters=(("1", "Quầy 1", ("tu-phap",)), ("2", "Quầy 2", ("tu-phap", "ldtbxh")),
              ("3", "Quầy 3", ("dat-dai", "xay-dung")), ("4", "Quầy 4", ("dat-dai",)),
              ("5", "Quầy 5", ("kinh-doanh", "ldtbxh")), ("6", "Quầy 6", ("tu-phap", "kinh-doanh", "dat-dai"))),
    arrivals=250,
    share={"tu-phap": 0.40, "dat-dai": 0.25, "xay-dung": 0.08, "kinh-doanh": 0.12, "ldtbxh": 0.15},
    service_min={"tu-phap": 4, "dat-dai": 7, "xay-dung": 8, "kinh-doanh": 6, "ldtbxh": 5},
    transfers={"dat-dai": "xay-dung"},
)
NOTICE = "Trung tâm phục vụ hành chính công xã làm việc từ thứ Hai đến thứ Sáu, sáng 7h30–11h30. Xin cảm ơn!"


# --- reading /proc ------------------------------------------------------------------------------


def machine_busy_s(stat: str, ticks_per_s: int) -> float:
    """CPU time every process of the machine has used (all cores, not idle nor waiting for I/O), from /proc/stat."""
    # user nice system idle iowait irq softirq steal
    fields = [int(value) for value in stat.splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / ticks_per_s


def status_mb(status: str, key: str) -> float:
    """A `kB` field of /proc/<pid>/status or smaps_rollup (VmRSS, VmHWM, Pss), in MB; NaN when absent."""
    for line in status.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    """Each process's CPU seconds so far, and the whole machine's as "machine" (what else ran counts there)."""
    return {**{name: process_cpu_s(pid) for name, pid in pids.items()},
            "machine": machine_busy_s(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))}


def memory(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    try:
        pss = status_mb(Path(f"/proc/{pid}/smaps_rollup").read_text(), "Pss")
    except OSError:
        pss = float("nan")
    return {"rss_mb": round(status_mb(status, "VmRSS"), 1), "peak_rss_mb": round(status_mb(status, "VmHWM"), 1),
            "pss_mb": round(pss, 1)}


def cpu_percent(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    """Each process's CPU over `wall_s`, as % of one core, and their sum as "all" ("machine", when given, is the
    whole machine's, of one core too, and is not in "all")."""
    shares = {name: (after[name] - before[name]) / wall_s * 100 for name in before}
    machine = {"machine": round(shares.pop("machine"), 1)} if "machine" in shares else {}
    return {**{name: round(share, 2) for name, share in shares.items()}, "all": round(sum(shares.values()), 2),
            **machine}


def percentiles(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 1), "p95_ms": round(cuts[94], 1), "max_ms": round(max(samples), 1)}


# --- the processes ------------------------------------------------------------------------------


class Child:
    """One process of the set; its stdout lines go to a queue (and to `on_line`), its stderr to a log file."""

    def __init__(self, name: str, argv: list[str], folder: Path, env: dict[str, str],
                 on_line: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._on_line = on_line
        self.log_path = folder / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        threading.Thread(target=self._read, name=f"{name}-out", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if self._on_line is not None:
                self._on_line(line.strip())
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def next_line(self, prefix: str, timeout_s: float) -> str | None:
        """The next line starting with `prefix` (the lines before it are dropped), None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line.startswith(prefix):
                return line
        return None

    def drain(self) -> None:
        with suppress(queue.Empty):
            while True:
                self.lines.get_nowait()

    def stop(self, grace_s: float = 40) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def clips_folder() -> Path:
    """The board's voice clips as `make install` made them for the venv that runs this benchmark."""
    for folder in (ROOT / ".venv" / "share" / "qms-voice", Path(sys.prefix) / "share" / "qms-voice"):
        if (folder / "chime.wav").exists():
            return folder
    raise SystemExit("one_pi_bench: no voice clips (.venv/share/qms-voice): run `make install` first")


def center_config(folder: Path, broker: LocalBroker) -> Path:
    areas = "".join(f'[[areas]]\nid = "{i}"\nname = "{n}"\nfirst = {f}\nlast = {last}\nprefix = "{p}"\n\n'
                    for i, n, f, last, p in AREAS)
    counters = "".join(f'[[counters]]\nid = "{c}"\nname = "{n}"\nareas = {json.dumps(list(a))}\n\n'
                       for c, n, a in COMMUNE.counters)
    path = folder / "center.toml"
    path.write_text(
        f'[center]\nid = "{CENTER}"\nname = "Trung tâm phục vụ hành chính công xã Tân Hiệp"\n'
        f'timezone = "Asia/Ho_Chi_Minh"\n\n[mqtt]\nurl = "{broker.url}"\n\n'
        f'[storage]\nurl = "sqlite:///{folder / "center.db"}"\n\n'
        '[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\nwindow_s = 120\n\n'
        f"[board]\nnotice = {toml_string(NOTICE)}\n\n{areas}{counters}",
        encoding="utf-8",
    )
    return path


def kiosk_config(folder: Path, broker: LocalBroker, printer: LoopbackPrinter, screen: tuple[int, int]) -> Path:
    """The shipped example kiosk (its 80 mm printer model), on this broker and the loopback printer."""
    text = (EXAMPLES / "kiosk.example.toml").read_text(encoding="utf-8")
    for key, value in (("id", '"k1"'), ("center", toml_string(CENTER)),
                       ("journal", toml_string(str(folder / "kiosk-journal.db")))):
        text = set_key(text, "kiosk", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    for key, value in (("width", str(screen[0])), ("height", str(screen[1])), ("fullscreen", "false")):
        text = set_key(text, "screen", key, value)
    for key, value in (("connection", '"network"'), ("host", '"127.0.0.1"'), ("port", str(printer.port))):
        text = set_key(text, "printer", key, value)
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def board_config(folder: Path, broker: LocalBroker, led_port: str) -> Path:
    """The shipped example board: 1920x1080, its voice from the clips, the counters' LED displays on `led_port`."""
    text = (EXAMPLES / "board.example.toml").read_text(encoding="utf-8")
    for key, value in (("id", '"board-1"'), ("center", toml_string(CENTER))):
        text = set_key(text, "board", key, value)
    text = replace_table(text, "mqtt", [f"url = {toml_string(broker.url)}"])
    for key, value in (("width", "1920"), ("height", "1080"), ("fullscreen", "false")):
        text = set_key(text, "screen", key, value)
    text = set_key(text, "voice", "clips", toml_string(str(clips_folder())))
    displays = "".join(f'[[leds.displays]]\ncounter = "{c}"\naddress = {n}\n'
                       for n, (c, _, _) in enumerate(COMMUNE.counters, start=1))
    text += f'\n[leds]\nport = "{led_port}"\nprotocol = "qms"\nbaudrate = 9600\ndigits = 4\n{displays}'
    path = folder / "board.toml"
    path.write_text(text, encoding="utf-8")
    return path


def child_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "ESCPOS_CAPABILITIES_PICKLE_DIR": str(folder), "QMS_LOG_LEVEL": "INFO"}


# --- the counters (other Pis: simulated here, not counted) ---------------------------------------


@dataclass
class Tally:
    presses: list[float] = field(default_factory=list)  # ms, touch -> cut
    calls: list[tuple[str, float]] = field(default_factory=list)  # (number, monotonic when `next` was published)
    commands: int = 0
    ratings: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # error code -> how many answers said ok:false

    def answer(self, body: dict[str, Any]) -> None:
        if body.get("ok") is not True:
            code = str((body.get("error") or {}).get("code", "?"))
            self.refused[code] = self.refused.get(code, 0) + 1


class Device:
    """One simulated kiosk or counter terminal on its own MQTT 5 connection: a request, then its answer."""

    def __init__(self, client: Mqtt5Client, response_topic: str) -> None:
        self.client, self.response_topic = client, response_topic
        self._waiting: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        client.on_message = self._on_message

    @classmethod
    async def connect(cls, broker: LocalBroker, client_id: str, response_topic: str,
                      *more: str) -> Device:
        client = await Mqtt5Client.connect(broker.host, broker.port, client_id)
        for topic in (response_topic, *more):
            await client.subscribe(topic)
        return cls(client, response_topic)

    def _on_message(self, message: Message) -> None:
        future = self._waiting.pop(message.correlation_data or b"", None)
        if future is not None and not future.done():
            future.set_result(json.loads(message.payload))

    async def request(self, topic: str, body: dict[str, Any], *, sent: Callable[[], None] | None = None
                      ) -> dict[str, Any]:
        correlation = uuid.uuid4().bytes
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[correlation] = future
        if sent is not None:
            sent()
        await self.client.publish(topic, json.dumps({"v": 1, **body}).encode(), response_topic=self.response_topic,
                                  correlation_data=correlation)
        return await asyncio.wait_for(future, 10)


async def counter(broker: LocalBroker, topics: Topics, counter_id: str, plan: Official, start_in_s: float,
                  until: float, tally: Tally) -> None:
    """The official of devkit/morning.py at counter `counter_id`, every wait divided by PACE, until `until`."""
    device = await Device.connect(broker, f"one-pi-counter-{counter_id}", topics.counter_command_response(counter_id),
                                  topics.rating_ack(counter_id))
    command_topic = topics.counter_command(counter_id)
    current: str | None = None  # the ticket id being served
    finished: str | None = None  # the ticket the citizen may rate
    await asyncio.sleep(start_in_s)
    answer: str | None = None
    try:
        while time.monotonic() < until:
            action = plan.send(answer)
            answer = None
            if isinstance(action, Wait):
                await asyncio.sleep(max(0.0, min(action.minutes * 60 / PACE, until - time.monotonic())))
            elif isinstance(action, Rate):
                if finished is not None:
                    body = await device.request(topics.counter_rating(counter_id), {
                        "rating_id": uuid.uuid4().hex, "ticket_id": finished, "level": action.level,
                        "pressed_at": datetime.now(ZONE).isoformat(timespec="seconds")})
                    tally.ratings += 1
                    tally.answer(body)
            else:
                answer, current, finished = await press(device, command_topic, action, current, finished, tally)
    finally:
        await device.client.close()


async def press(device: Device, topic: str, action: Press, current: str | None, finished: str | None,
                tally: Tally) -> tuple[str | None, str | None, str | None]:
    """One command; returns (the area a `next` called, the ticket now served, the ticket the citizen may rate)."""
    body: dict[str, Any] = {"request_id": uuid.uuid4().hex, "action": action.action}
    if action.to_area is not None:
        body["to_area"] = action.to_area
    if action.code is not None:
        body["code"] = action.code
    published: list[float] = []
    reply = await device.request(topic, body, sent=lambda: published.append(time.monotonic()))
    tally.commands += 1
    tally.answer(reply)
    ticket = reply.get("ticket") if reply.get("ok") is True else None
    if action.action == "next":
        if ticket:
            tally.calls.append((str(ticket["number"]), published[0]))
            return str(ticket["area"]), str(ticket["id"]), finished
        return None, None, finished
    if action.action == "finish" and reply.get("ok") is True:
        return None, None, current
    if action.action in ("skip", "transfer") and reply.get("ok") is True:
        return None, None, finished
    return None, current, finished


async def earlier_citizens(broker: LocalBroker, topics: Topics, rng: random.Random, tally: Tally) -> None:
    """The morning so far: WAITING_AT_START tickets, asked for by a second kiosk before the window."""
    device = await Device.connect(broker, "one-pi-earlier", topics.ticket_response("k0"))
    for area in rng.choices(list(COMMUNE.share), weights=list(COMMUNE.share.values()),
                            k=WAITING_AT_START - WARM_UP_TICKETS):
        tally.answer(await device.request(topics.ticket_request("k0"), {"request_id": uuid.uuid4().hex, "area": area}))
    await device.client.close()


async def wait_online(broker: LocalBroker, topic: str, timeout_s: float = 60) -> None:
    client = await Mqtt5Client.connect(broker.host, broker.port, f"one-pi-wait-{uuid.uuid4().hex[:8]}")
    await client.subscribe(topic)
    deadline = time.monotonic() + timeout_s
    while json.loads((await client.next_message(timeout=max(0.1, deadline - time.monotonic()))).payload).get(
            "online") is not True:
        pass
    await client.close()


# --- the citizens at the kiosk ------------------------------------------------------------------


def citizens(kiosk: Child, printer: LoopbackPrinter, rng: random.Random, until: float, tally: Tally,
             most: int | None = None) -> None:
    """A queue at the kiosk: each citizen touches an area 1-4 s after the previous ticket left the screen, until
    `until` (or after `most` citizens)."""
    areas, weights = list(COMMUNE.share), list(COMMUNE.share.values())
    printed = len(printer.cut_jobs)
    while most is None or len(tally.presses) < most:
        time.sleep(rng.uniform(*STEP_UP_S))
        if time.monotonic() >= until:
            return
        area = rng.choices(areas, weights=weights)[0]
        kiosk.drain()
        touched = time.monotonic()
        kiosk.send(f"touch area:{area}")
        printer.wait_for_cuts(printed + 1, timeout_s=30)
        tally.presses.append((time.monotonic() - touched) * 1000)
        printed += 1
        if kiosk.next_line("screen menu", 30) is None:
            raise RuntimeError(f"the kiosk did not come back to its menu; see {kiosk.log_path}")


# --- the run ------------------------------------------------------------------------------------


def run(folder: Path, keep: Path | None, window_s: float = WINDOW_S,
        kiosk_screen: tuple[int, int] = (1920, 1080)) -> list[dict[str, Any]]:
    rng = random.Random(20)
    tally = Tally()
    topics = Topics(CENTER)
    drawn: dict[str, float] = {}

    def board_line(line: str) -> None:
        match line.split():
            case ["drawn", number, at]:
                drawn.setdefault(number, float(at))
            case _:
                pass

    with ExitStack() as running:
        broker = LocalBroker(folder)
        broker.start()
        running.callback(broker.stop)
        env = child_env(folder)
        printer, bus = LoopbackPrinter(), LedBus()
        running.callback(printer.close)
        running.callback(bus.close)
        server = Child("server", ["-m", "central_server", "--config", str(center_config(folder, broker))], folder, env)
        running.callback(server.stop)
        asyncio.run(wait_online(broker, topics.server_status()))
        board = Child("board", ["-m", "devkit.run", "display_board", "--scripted", "--config",
                                str(board_config(folder, broker, bus.port))], folder, env, board_line)
        # After the figures: the board says every queued call before it stops (up to 15 s); nothing to wait for.
        running.callback(board.stop, 3)
        kiosk = Child("kiosk", ["-m", "devkit.run", "kiosk", "--scripted", "--config",
                                str(kiosk_config(folder, broker, printer, kiosk_screen))], folder, env)
        running.callback(kiosk.stop)
        asyncio.run(wait_online(broker, topics.device_status("board-1")))
        asyncio.run(wait_online(broker, topics.device_status("k1")))
        if kiosk.next_line("screen menu", 30) is None:
            raise RuntimeError(f"the kiosk did not show its menu; see {kiosk.log_path}")
        pids = {"server": server.pid, "mosquitto": broker.pid, "board": board.pid, "kiosk": kiosk.pid}
        # The kiosk's first tickets of the day (fonts, the ticket's layout, the printer's connection): before the peak.
        citizens(kiosk, printer, rng, time.monotonic() + 60, Tally(), most=WARM_UP_TICKETS)
        time.sleep(3)  # the first frames and status checks are behind them

        before, started = cpu_now(pids), time.monotonic()
        time.sleep(IDLE_S)
        idle = cpu_percent(before, cpu_now(pids), time.monotonic() - started)

        asyncio.run(earlier_citizens(broker, topics, rng, tally))
        at_start = {n: memory(p)["rss_mb"] for n, p in pids.items()}
        rss_every_10_s: list[dict[str, float]] = []
        before, started = cpu_now(pids), time.monotonic()
        until = started + window_s

        def watch_rss() -> None:
            while time.monotonic() < until:
                time.sleep(min(10.0, max(0.0, until - time.monotonic())))
                rss_every_10_s.append({n: memory(p)["rss_mb"] for n, p in pids.items()})

        threading.Thread(target=watch_rss, name="rss", daemon=True).start()
        failed: list[BaseException] = []

        def queue_at_kiosk() -> None:
            try:
                citizens(kiosk, printer, rng, until, tally)
            except Exception as exc:  # said after the window, with the kiosk's log
                failed.append(exc)

        kiosk_thread = threading.Thread(target=queue_at_kiosk, name="citizens", daemon=True)
        kiosk_thread.start()

        async def officials() -> None:
            day = datetime.now(ZONE)
            await asyncio.gather(*(
                counter(broker, topics, c, official(COMMUNE, c, day, lambda: datetime.now(ZONE), random.Random(n)),
                        start_in_s=rng.uniform(0, 20), until=until, tally=tally)
                for n, (c, _, _) in enumerate(COMMUNE.counters)))

        asyncio.run(officials())
        kiosk_thread.join(max(0.0, until - time.monotonic()) + 40)
        measured_s = time.monotonic() - started
        load = cpu_percent(before, cpu_now(pids), measured_s)
        if failed:
            raise RuntimeError(f"the citizens at the kiosk: {failed[0]!r}; see {kiosk.log_path}")
        held = {n: {**memory(p), "rss_at_window_start_mb": at_start[n]} for n, p in pids.items()}

        deadline = time.monotonic() + LATE_S
        while time.monotonic() < deadline and any(n not in drawn for n, _ in tally.calls):
            time.sleep(0.05)  # the last calls of the window are still being drawn
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            board.drain()
            board.send(f"save {keep / 'board.png'}")
            board.next_line("saved", 10)
    to_board = [(drawn[n] - t) * 1000 for n, t in tally.calls if n in drawn]
    to_led = [(bus.first_shown[n] - t) * 1000 for n, t in tally.calls if n in bus.first_shown]
    if keep is not None:
        for log in folder.glob("*.log"):
            shutil.copy(log, keep / log.name)
        (keep / "samples.json").write_text(json.dumps({
            "press_to_paper_ms": tally.presses, "call_to_board_ms": to_board, "call_to_led_ms": to_led,
            "calls": [[n, round(t - started, 3)] for n, t in tally.calls], "rss_mb_every_10_s": rss_every_10_s}),
            encoding="utf-8")
    load_line = {"presses": len(tally.presses), "calls": len(tally.calls), "commands": tally.commands,
                 "ratings": tally.ratings, "refused": tally.refused}
    return [
        {"name": "one_pi_cpu_idle", "window_s": round(IDLE_S, 1), "cpu_percent": idle},
        {"name": "one_pi_cpu", "window_s": round(measured_s, 1), "cpu_percent": load, "load": load_line,
         "target_percent": TARGETS["cpu_percent"]},
        {"name": "one_pi_memory", "processes": held,
         "total_rss_mb": round(sum(m["rss_mb"] for m in held.values()), 1),
         "total_peak_rss_mb": round(sum(m["peak_rss_mb"] for m in held.values()), 1),
         "total_pss_mb": round(sum(m["pss_mb"] for m in held.values()), 1), "target_mb": TARGETS["memory_mb"]},
        {"name": "one_pi_press_to_paper", "n": len(tally.presses), **percentiles(tally.presses),
         "kiosk_screen": "x".join(map(str, kiosk_screen)),
         "target_p95_ms": TARGETS["press_to_paper_p95_ms"]},
        {"name": "one_pi_call_to_board", "n": len(to_board), "missing": len(tally.calls) - len(to_board),
         **percentiles(to_board), "led": {"n": len(to_led), **percentiles(to_led)},
         "target_p95_ms": TARGETS["call_to_board_p95_ms"]},
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the processes' logs and a board frame there")
    parser.add_argument("--window-s", type=float, default=WINDOW_S, help="the measured peak's length (a shorter one "
                        "gives too few samples: for trying the benchmark out)")
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="run the set (and this process) N steps nicer (-N: ahead of the machine's other work; "
                             "needs root), as on a Pi that runs nothing else")
    parser.add_argument("--kiosk-screen", default="1920x1080", metavar="WxH", help="the kiosk's screen (1920x1080)")
    args = parser.parse_args(argv)
    width, _, height = args.kiosk_screen.partition("x")
    if args.nice:
        os.nice(args.nice)  # the processes started from here inherit it
    with tempfile.TemporaryDirectory(prefix="qms-one-pi-") as tmp:
        for line in run(Path(tmp), args.keep, args.window_s, (int(width), int(height))):
            print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
