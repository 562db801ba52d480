"""Under systemd (Type=notify, WatchdogSec=): each agent says READY=1 only once it reaches the server,
pings the watchdog from its main loop (and keeps its start alive until READY=1 while that loop runs),
says STOPPING=1 on SIGTERM; and when its main loop hangs in a hardware call, the pings stop.

The real agents run as processes with fake hardware at the edge (the kiosk prints to a loopback
printer, the screens use SDL's dummy driver, the counter's keys are scripted) and a datagram socket of
the test in place of systemd's. The hang tests run an agent's loop in a thread of the test, with a
hardware adapter whose call blocks, as a wedged serial adapter, printer or screen driver does.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.local_broker import LocalBroker
from protocol.link import MqttLink
from protocol.topics import Topics
from tests.harness import ROOT, ServerProcess, device, watching

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WATCHDOG_USEC = 400_000  # a ping every 0.2 s
TIMEOUT = 15.0


class NotifySocket:
    """What systemd listens on: a bound AF_UNIX datagram socket; every message is kept, in order."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="qms-notify-")  # short: AF_UNIX paths end at 108 bytes
        self.path = os.path.join(self._folder, "notify")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self.seen: list[str] = []

    def next(self, timeout_s: float = TIMEOUT) -> str:
        self._socket.settimeout(timeout_s)
        message = self._socket.recv(4096).decode()
        self.seen.append(message)
        return message

    def wait_for(self, wanted: str, timeout_s: float = TIMEOUT) -> list[str]:
        """The messages up to and including `wanted`."""
        deadline = time.monotonic() + timeout_s
        got: list[str] = []
        while not got or got[-1] != wanted:
            try:
                got.append(self.next(max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                raise AssertionError(f"no {wanted} within {timeout_s} s; got {got}") from None
        return got

    def pings(self, count: int) -> None:
        for _ in range(count):
            self.wait_for("WATCHDOG=1")

    def drain(self) -> list[str]:
        got = []
        self._socket.setblocking(False)
        try:
            while True:
                got.append(self._socket.recv(4096).decode())
        except BlockingIOError:
            pass
        self.seen.extend(got)
        return got

    def silent(self, for_s: float) -> bool:
        """Nothing at all arrives for `for_s` seconds (many ping intervals)."""
        try:
            message = self.next(for_s)
        except TimeoutError:
            return True
        raise AssertionError(f"{message!r} arrived while the main loop should be stuck")

    def close(self) -> None:
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    listener = NotifySocket()
    yield listener
    listener.close()


# --- the real agents as processes -------------------------------------------------------------------

AGENTS = {  # module, its device status id, its config (the printer's port and a folder filled in)
    "kiosk": ("kiosk", "k1", """
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
port = {printer_port}
paper = "58mm"
"""),
    "board": ("display_board", "board-1", """
[board]
id = "board-1"
center = "{center_id}"

[mqtt]
url = "{url}"

[screen]
width = 800
height = 480
fullscreen = false

[voice]
enabled = false
"""),
    "counter": ("rating_terminal", "counter-1", """
[terminal]
counter = "1"
center = "{center_id}"
outbox = "{folder}/outbox.db"

[mqtt]
url = "{url}"
"""),
}


@pytest.fixture
def printer_port() -> Iterator[int]:
    from devkit.loopback_printer import LoopbackPrinter

    printer = LoopbackPrinter()
    yield printer.port
    printer.close()


@pytest.mark.parametrize("agent", list(AGENTS))
def test_agent_is_ready_once_it_reaches_the_server_pings_and_says_stopping(
    agent: str, tmp_path: Path, broker: LocalBroker, center_id: str, center_toml: Path, printer_port: int,
    notify_socket: NotifySocket,
) -> None:
    module, status_id, template = AGENTS[agent]
    config = tmp_path / f"{agent}.toml"
    config.write_text(template.format(center_id=center_id, url=broker.url, printer_port=printer_port,
                                      folder=tmp_path), encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    log = tmp_path / f"{agent}.log"
    with watching(broker, center_id, f"device/{status_id}/status") as status, log.open("wb") as log_file:
        # The counter's pins are pressed by lines on stdin, through the development runner (its GPIO is mocked).
        command = ["-m", "devkit.run", module, "--scripted"] if agent == "counter" else ["-m", module]
        process = subprocess.Popen([sys.executable, *command, "--config", str(config)], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file)
        server = ServerProcess(center_toml, broker, center_id)
        try:
            while status.next(f"device/{status_id}/status")[1].get("online") is not True:
                pass
            # Its link is up, the server is not: the agent is still starting, and its loop keeps the
            # start alive (EXTEND_TIMEOUT_USEC) with every ping.
            notify_socket.wait_for(f"EXTEND_TIMEOUT_USEC={WATCHDOG_USEC}")
            assert "WATCHDOG=1" in notify_socket.seen
            assert "READY=1" not in notify_socket.seen
            server.start()
            notify_socket.wait_for("READY=1")
            notify_socket.pings(2)
            process.send_signal(signal.SIGTERM)
            notify_socket.wait_for("STOPPING=1")
            assert process.wait(TIMEOUT) == 0, log.read_text(errors="replace")[-2000:]
        finally:
            server.stop()
            if process.poll() is None:
                process.kill()
                process.wait()


# --- the main loop stuck in a hardware call ---------------------------------------------------------


class Wedge:
    """A hardware call that blocks once `jam()` was called, as a wedged device's driver does."""

    def __init__(self) -> None:
        self._jammed = threading.Event()
        self.stuck = threading.Event()  # the main loop is inside the call
        self._freed = threading.Event()

    def jam(self) -> None:
        self._jammed.set()

    def free(self) -> None:
        self._jammed.clear()
        self._freed.set()

    def call(self) -> None:
        if self._jammed.is_set():
            self.stuck.set()
            self._freed.wait(60)


class WedgedScreen:  # the kiosk's Display and the board's BoardScreen
    def __init__(self, wedge: Wedge) -> None:
        self._wedge = wedge

    def show(self, view: object) -> None:
        self._wedge.call()

    def touches(self) -> list[str]:
        return []

    def save(self, path: Path) -> None:
        pass

    def close(self) -> None:
        pass


class WedgedLeds:  # the board's LedDisplay: a USB serial adapter whose write never returns
    def __init__(self, wedge: Wedge) -> None:
        self._wedge = wedge

    def show(self, address: int, content: object) -> None:
        self._wedge.call()

    def close(self) -> None:
        pass


class WedgedTerminal:  # the counter's TerminalHardware: LEDs on a GPIO expander that hangs
    def __init__(self, wedge: Wedge) -> None:
        self._wedge = wedge

    def arm(self, meaning: list[str | None]) -> None:
        self._wedge.call()

    def disarm(self) -> None:
        self._wedge.call()

    def thank_you(self, button: int, level: str) -> None:
        self._wedge.call()

    def signal(self, feedback: object) -> None:
        self._wedge.call()

    def close(self) -> None:
        pass


def link_for(config: Any, status_id: str) -> MqttLink:
    return MqttLink(config.mqtt, client_id=config.client_id,
                    status_topic=Topics(config.center_id).device_status(status_id))


def now() -> datetime:
    return datetime.now(ZONE)


def run_until_stuck_and_freed(
    agent: Any, wedge: Wedge, notify_socket: NotifySocket, jam_it: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    stop = threading.Event()
    ended: list[int] = []
    loop = threading.Thread(target=lambda: ended.append(agent.run(stop)), name="main-loop", daemon=True)
    loop.start()
    try:
        notify_socket.wait_for("READY=1")
        notify_socket.pings(2)
        wedge.jam()
        jam_it()
        assert wedge.stuck.wait(TIMEOUT), "the main loop never reached the hardware call"
        notify_socket.drain()  # what was sent before the call
        assert notify_socket.silent(for_s=1.0)  # ten ping intervals: systemd would now see it stuck
        wedge.free()
        notify_socket.pings(2)  # the loop goes on
    finally:
        wedge.free()
        stop.set()
        loop.join(TIMEOUT)
    assert not loop.is_alive() and ended == [0]
    assert notify_socket.seen[-1] == "STOPPING=1" or "STOPPING=1" in notify_socket.drain()


def test_kiosk_stops_pinging_while_its_screen_hangs(
    tmp_path: Path, broker: LocalBroker, center_id: str, server: ServerProcess, notify_socket: NotifySocket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kiosk.agent import KioskAgent
    from kiosk.config import load
    from kiosk.journal import Journal
    from kiosk.printer import FakePrinter
    from kiosk.ticket_layout import TicketFonts

    path = tmp_path / "kiosk.toml"
    path.write_text(AGENTS["kiosk"][2].format(center_id=center_id, url=broker.url, printer_port=9100), "utf-8")
    config = load(path)
    wedge = Wedge()
    agent = KioskAgent(config, link_for(config, "k1"), FakePrinter(), display=WedgedScreen(wedge), clock=now,
                       fonts=TicketFonts.default(), journal=Journal(None))
    # The server goes away: the kiosk draws its "no connection" screen, and the draw never returns.
    run_until_stuck_and_freed(agent, wedge, notify_socket, server.stop, monkeypatch)


def test_board_stops_pinging_while_its_led_bus_hangs(
    tmp_path: Path, broker: LocalBroker, center_id: str, server: ServerProcess, notify_socket: NotifySocket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from display_board.agent import BoardAgent
    from display_board.config import load

    path = tmp_path / "board.toml"
    path.write_text(AGENTS["board"][2].format(center_id=center_id, url=broker.url)
                    + '\n[leds]\nport = "/dev/ttyUSB-test"\n[[leds.displays]]\ncounter = "1"\naddress = 1\n', "utf-8")
    config = load(path)
    wedge = Wedge()
    agent = BoardAgent(config, link_for(config, "board-1"), screen=None, voice=None, leds=WedgedLeds(wedge),
                       clock=now)

    def call_next() -> None:  # counter 1's state changes: its LED display is written, and the write hangs
        with device(broker, center_id) as counter:
            counter.ticket("dat-dai")
            counter.command("1", "next")

    run_until_stuck_and_freed(agent, wedge, notify_socket, call_next, monkeypatch)


def test_counter_stops_pinging_while_its_leds_hang(
    tmp_path: Path, broker: LocalBroker, center_id: str, server: ServerProcess, notify_socket: NotifySocket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rating_terminal.agent import TerminalAgent
    from rating_terminal.config import load
    from rating_terminal.model import Key, KeyPressed
    from rating_terminal.outbox import Outbox

    path = tmp_path / "counter.toml"
    path.write_text(AGENTS["counter"][2].format(center_id=center_id, url=broker.url, folder=tmp_path), "utf-8")
    config = load(path)
    wedge = Wedge()
    agent = TerminalAgent(config, link_for(config, "counter-1"), WedgedTerminal(wedge), Outbox(config.outbox),
                          clock=now)
    # The official presses Next: the answer comes, and the feedback LED's write hangs.
    run_until_stuck_and_freed(agent, wedge, notify_socket, lambda: agent.press(KeyPressed(Key.NEXT)), monkeypatch)


# The two web processes: their module, their status id and their config (the port filled in).
WEB_PROCESSES = {
    "staff_console": ("console-1", '[console]\nid = "console-1"\ncenter = "{center_id}"\naccounts = "accounts.db"\n'
                                   'port = {port}\n[mqtt]\nurl = "{url}"\n'),
    "citizen_web": ("web-1", '[web]\nid = "web-1"\ncenter = "{center_id}"\nport = {port}\n[mqtt]\nurl = "{url}"\n'),
}


@pytest.mark.parametrize("module", list(WEB_PROCESSES))
def test_a_web_process_is_ready_once_it_serves_pings_and_says_stopping(
    tmp_path: Path, broker: LocalBroker, center_id: str, notify_socket: NotifySocket, module: str,
) -> None:
    """The staff console and the citizen web serve their pages without the server (they say the center is not
    reached): READY=1 once the socket listens, pings from the event loop, STOPPING=1 on SIGTERM, exit 0, the
    status offline."""
    from devkit.local_broker import free_port

    port = free_port()
    device_id, text = WEB_PROCESSES[module]
    config = tmp_path / f"{module}.toml"
    config.write_text(text.format(center_id=center_id, port=port, url=broker.url), encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    log = tmp_path / f"{module}.log"
    with watching(broker, center_id, f"device/{device_id}/status") as status, log.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", module, "--config", str(config)], cwd=ROOT,
                                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_file,
                                   text=True)
        try:
            try:
                notify_socket.wait_for("READY=1")
            except AssertionError as no_ready:
                raise AssertionError(f"{no_ready}; its log: {log.read_text(errors='replace')[-1500:]}") from None
            assert process.stdout is not None
            assert process.stdout.readline() == f"{module}: serving http://127.0.0.1:{port}/\n"
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
                pass  # it listens
            notify_socket.pings(2)
            while status.next(f"device/{device_id}/status")[1].get("online") is not True:
                pass
            process.send_signal(signal.SIGTERM)
            notify_socket.wait_for("STOPPING=1")
            assert process.wait(TIMEOUT) == 0
            while status.next(f"device/{device_id}/status")[1].get("online") is not False:
                pass
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
