"""Test harness: center configs, the server as a real process, MQTT 5 devices on MqttLink, and an agent's own loop
on a FakeLink."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from central_server.config import CenterConfig
from central_server.storage.url import SqliteFile
from devkit.local_broker import LocalBroker, free_port
from kiosk.agent import REQUEST_GIVE_UP_S, REQUEST_TRY_S
from protocol.agent_loop import AgentLoop
from protocol.config import MqttSettings
from protocol.link import FakeLink, Message, MqttLink, RequestTimeout
from protocol.messages import Status
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10.0
STARTUP_S = 60.0  # a process's imports and first hash, on a machine busy with the rest of the suite

CENTER_TOML = """
[center]
id = "{center_id}"
name = "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm"
timezone = "Asia/Ho_Chi_Minh"
day_starts = "{day_starts}"

[mqtt]
url = "{url}"

[storage]
url = "sqlite:///{db}"

[rating]
levels = ["very_satisfied", "satisfied", "dissatisfied"]
window_s = {window_s}

[queue]
max_calls = 3

[[areas]]
id = "dat-dai"
name = "Đất đai"
first = 1001
last = 1999

[[areas]]
id = "tu-phap"
name = "Tư pháp – Hộ tịch"
first = 1
last = 999
prefix = "B"

[[areas]]
id = "nho"
name = "Lĩnh vực nhỏ"
first = 1
last = 2
prefix = "N"

[[areas]]
id = "dong"
name = "Lĩnh vực tạm đóng"
first = 1
last = 99
prefix = "C"
open = false

[[counters]]
id = "1"
name = "Quầy 1"
areas = ["dat-dai"]

[[counters]]
id = "2"
name = "Quầy 2"
areas = ["tu-phap", "dat-dai"]

[[counters]]
id = "3"
name = "Quầy 3"
areas = ["nho"]
"""


def until(condition: Callable[[], object], timeout_s: float = TIMEOUT) -> None:
    """Wait for `condition` to hold (polled every 10 ms); fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s"
        time.sleep(0.01)


@contextmanager
def looping(agent: AgentLoop[Any], link: FakeLink, *retained: tuple[str, bytes]) -> Iterator[None]:
    """`agent`'s own main loop on a thread, its server online and the `retained` (topic, payload) delivered;
    stopped at the end, and it must stop."""
    stop, ended = threading.Event(), list[object]()

    def run() -> None:
        try:
            ended.append(agent.run(stop))
        except BaseException as exc:  # the test fails on it below
            ended.append(exc)

    loop = threading.Thread(target=run, name="agent-loop")
    loop.start()
    try:
        for topic, payload in ((agent.topics.server_status(), Status(True).to_wire()), *retained):
            link.deliver(topic, payload, retained=True)
        until(lambda: agent.ready() or ended)
        yield
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive(), "the agent stops"
    assert ended == [0], f"its loop ended with {ended}"


def run_beside(agent: AgentLoop[Any], scenario: Callable[[], None]) -> None:
    """The agent's own main loop on this (main) thread, as pygame wants; `scenario` beside it, which stops it. A
    failure of the scenario (an assertion) is raised here once the agent has stopped."""
    stop, failure = threading.Event(), list[BaseException]()

    def guarded() -> None:
        try:
            scenario()
        except BaseException as exc:
            failure.append(exc)
        finally:
            stop.set()

    threading.Thread(target=guarded, daemon=True).start()
    agent.run(stop)
    if failure:
        raise failure[0]


def rss_mb(pid: int) -> float:
    """A process's resident memory, as the kernel counts it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def sqlite_file(config: CenterConfig) -> Path:
    """The test center's SQLite file (the tests' configs use SQLite)."""
    assert isinstance(config.storage, SqliteFile), "a PostgreSQL config"
    return config.storage.path


def write_center_config(
    folder: Path, broker: LocalBroker, center_id: str, *, day_starts: str = "00:00", window_s: int = 120,
    web_url: str | None = None,
) -> Path:
    """`web_url`: the center has a citizen web there (`web-1`), and the server publishes its `queue`."""
    text = CENTER_TOML.format(center_id=center_id, url=broker.url, db=folder / "center.db", day_starts=day_starts,
                              window_s=window_s)
    if web_url is not None:
        text += f'\n[citizen_web]\nurl = "{web_url}"\nids = ["web-1"]\n'
    path = folder / "center.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ask_as_a_kiosk(link: MqttLink, topics: Topics, area: str, kiosk: str) -> dict[str, Any]:
    """Ask for a ticket as kiosk/agent.py does: the same request_id again every REQUEST_TRY_S until
    REQUEST_GIVE_UP_S. Under another device's flood the broker drops what it holds for the server past
    max_queued_messages (firmware_configs/mosquitto/tuning.conf), an honest kiosk's request among them: the
    retry is what gets it its answer."""
    payload = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "area": area}).encode()
    give_up = time.monotonic() + REQUEST_GIVE_UP_S
    while (left := give_up - time.monotonic()) > 0:
        try:
            reply = link.request(topics.ticket_request(kiosk), payload, response_topic=topics.ticket_response(kiosk),
                                 timeout_s=min(REQUEST_TRY_S, left))
        except RequestTimeout:
            continue
        decoded: dict[str, Any] = json.loads(reply.payload)
        return decoded
    raise RequestTimeout(f"no answer to a ticket request from {kiosk} within {REQUEST_GIVE_UP_S:g} s")


class Device:
    """An MQTT 5 client speaking the contract through the project's own MqttLink."""

    def __init__(self, broker: LocalBroker, center_id: str, device_id: str) -> None:
        self.topics = Topics(center_id)
        self.id = device_id
        self.link = MqttLink(
            MqttSettings(broker.host, broker.port), client_id=f"{center_id}-{device_id}",
            status_topic=self.topics.device_status(device_id),
        )
        self.link.start()
        assert self.link.wait_ready(TIMEOUT), "device did not connect"

    def close(self) -> None:
        self.link.stop()

    def request(self, topic: str, body: dict[str, Any] | bytes, response_topic: str) -> dict[str, Any]:
        payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        reply = self.link.request(topic, payload, response_topic=response_topic, timeout_s=TIMEOUT)
        decoded: dict[str, Any] = json.loads(reply.payload)
        return decoded

    def ticket(self, area: str, kiosk: str = "k1", request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "area": area, **extra}
        return self.request(self.topics.ticket_request(kiosk), body, self.topics.ticket_response(kiosk))

    def ticket_as_a_kiosk(self, area: str, kiosk: str = "k1") -> dict[str, Any]:
        return ask_as_a_kiosk(self.link, self.topics, area, kiosk)

    def command(self, counter: str, action: str, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, **extra}
        return self.request(self.topics.counter_command(counter), body, self.topics.counter_command_response(counter))


class Watcher:
    """Collects every message on some topics, in arrival order, on one queue."""

    def __init__(self, broker: LocalBroker, center_id: str, *filters: str) -> None:
        self.topics = Topics(center_id)
        self.messages: queue.Queue[Message] = queue.Queue()
        self._latest: dict[str, dict[str, Any]] = {}
        self.link = MqttLink(
            MqttSettings(broker.host, broker.port), client_id=f"{center_id}-watch-{uuid.uuid4().hex[:8]}",
            status_topic=self.topics.device_status("watcher"), announce_online=False,
        )
        for topic_filter in filters:
            self.link.subscribe(f"{self.topics.root}/{topic_filter}", self.messages.put)
        self.link.start()
        assert self.link.wait_ready(TIMEOUT), "watcher did not connect"

    def next(self, topic: str | None = None, timeout_s: float = TIMEOUT) -> tuple[str, dict[str, Any]]:
        """The next message (on `topic`, relative to the center root, when given)."""
        while True:
            message = self.messages.get(timeout=timeout_s)
            relative = message.topic[len(self.topics.root) + 1 :]
            if topic is None or relative == topic:
                return relative, json.loads(message.payload)

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                return out
            out.append((message.topic[len(self.topics.root) + 1 :], json.loads(message.payload)))

    def latest(self, topic: str) -> dict[str, Any] | None:
        """The last message on `topic` (relative to the center root) heard so far, or None; takes the queue."""
        for relative, body in self.drain():
            self._latest[relative] = body
        return self._latest.get(topic)

    def close(self) -> None:
        self.link.stop()


@contextmanager
def watching(broker: LocalBroker, center_id: str, *filters: str) -> Iterator[Watcher]:
    watcher = Watcher(broker, center_id, *filters)
    try:
        yield watcher
    finally:
        watcher.close()


@contextmanager
def device(broker: LocalBroker, center_id: str, device_id: str = "tester") -> Iterator[Device]:
    client = Device(broker, center_id, device_id)
    try:
        yield client
    finally:
        client.close()


def terminate(proc: subprocess.Popen[Any] | None) -> int | None:
    """SIGTERM, then wait (killed past TIMEOUT); the exit code, None when there was no process."""
    if proc is None:
        return None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class ServerProcess:
    """`python -m central_server --config FILE` as a real process."""

    def __init__(self, config: Path, broker: LocalBroker, center_id: str, *, clock: str | None = None) -> None:
        self.config = config
        # On a simulated clock through the development runner, which hands it to the server's main().
        self.command = (["-m", "devkit.run", "central_server", "--simulated-clock", clock] if clock
                        else ["-m", "central_server"])
        self.broker = broker
        self.center_id = center_id
        self.log = config.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with watching(self.broker, self.center_id, "server/status") as status:
            with self.log.open("ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, *self.command, "--config", str(self.config)],
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "QMS_LOG_LEVEL": "INFO"},
                )
            while True:
                _, body = status.next("server/status", timeout_s=TIMEOUT)
                if body.get("online") is True:
                    return

    def stop(self) -> int | None:
        """SIGTERM, then wait; returns the exit code."""
        code, self.proc = terminate(self.proc), None
        return code

    def kill(self) -> None:
        """SIGKILL; returns once the broker has published the will (online:false)."""
        assert self.proc is not None
        with watching(self.broker, self.center_id, "server/status") as status:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            while status.next("server/status")[1].get("online") is not False:
                pass

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class WebServing:
    """A web process (`python -m <module> --config FILE`) as a real process, on a free port; started once it
    serves (it prints its address)."""

    module = ""
    port: int  # chosen by the subclass before its config is written

    def __init__(self, folder: Path, config_text: str) -> None:
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / f"{self.module}.toml"
        self.config.write_text(config_text, encoding="utf-8")
        self.log = folder / f"{self.module}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module, "--config", str(self.config)],
                                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        until(lambda: f"{self.module}: serving" in self.log.read_text(errors="replace")
              or self.proc is None or self.proc.poll() is not None, STARTUP_S)
        assert self.proc.poll() is None, self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> int | None:
        """SIGTERM, then wait; returns the exit code."""
        code, self.proc = terminate(self.proc), None
        return code


class ConsoleProcess(WebServing):
    """The staff console, with its accounts."""

    module = "staff_console"

    def __init__(self, folder: Path, broker: LocalBroker, center_id: str, users: dict[str, tuple[str, str]],
                 password: str) -> None:
        """`users`: username -> (full name, role), each with `password`."""
        from argon2 import PasswordHasher

        from staff_console.accounts import Accounts
        from staff_console.users import new_user

        self.port = free_port()
        super().__init__(folder, f'[console]\nid = "console-1"\ncenter = "{center_id}"\n'
                                 f'accounts = "console-accounts.db"\nport = {self.port}\n'
                                 f'[mqtt]\nurl = "{broker.url}"\n')
        accounts = Accounts(folder / "console-accounts.db", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        for username, (name, role) in users.items():
            accounts.add(new_user(username, name, role), password)
        accounts.close()


class WebProcess(WebServing):
    """The citizen web."""

    module = "citizen_web"

    def __init__(self, folder: Path, broker: LocalBroker, center_id: str, web_id: str = "web-1",
                 max_phones: int = 3000) -> None:
        self.port = free_port()
        super().__init__(folder, f'[web]\nid = "{web_id}"\ncenter = "{center_id}"\nport = {self.port}\n'
                                 f'max_phones = {max_phones}\n[mqtt]\nurl = "{broker.url}"\n')
