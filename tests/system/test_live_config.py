"""The center changed while it works (issue 17): the real server process and Mosquitto, kiosks and counters busy,
changes by SIGHUP and by the console's requests; nothing lost or doubled, the retained config follows, bad
changes change nothing."""

from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

from central_server.config import load
from devkit.demo import kiosk_config
from devkit.local_broker import LocalBroker
from devkit.loopback_printer import LoopbackPrinter
from devkit.terminal_config import example_config
from protocol.link import RequestTimeout
from tests.harness import (
    ROOT,
    STARTUP_S,
    Device,
    ServerProcess,
    Watcher,
    ask_as_a_kiosk,
    device,
    sqlite_file,
    terminate,
    until,
    watching,
)

ADMIN = {"official": "an.nv", "official_name": "Nguyễn Văn An"}
CONSOLE = "console-1"


class Load:
    """Kiosks taking tickets and counters calling them, each on its own MQTT client, until stopped."""

    def __init__(self, broker: LocalBroker, center_id: str) -> None:
        self._broker, self._center_id = broker, center_id
        self.stop = threading.Event()
        self.issued: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.called: list[tuple[str, dict[str, Any]]] = []
        self._threads: list[threading.Thread] = []

    def kiosk(self, kiosk_id: str, areas: tuple[str, ...]) -> None:
        def work(client: Device) -> None:
            turn = 0
            while not self.stop.is_set():
                answer = ask_as_a_kiosk(client.link, client.topics, areas[turn % len(areas)], kiosk_id)
                if answer["ok"]:
                    self.issued.append(answer["ticket"])
                else:
                    self.refused.append(answer["error"]["code"])
                turn += 1
                time.sleep(0.2)

        self._run(kiosk_id, work)

    def counter(self, counter_id: str) -> None:
        def work(client: Device) -> None:
            while not self.stop.is_set():
                self.next(client, counter_id)
                time.sleep(0.3)

        self._run(f"counter-{counter_id}", work)

    def next(self, client: Device, counter_id: str) -> dict[str, Any] | None:
        """`next` at the counter, asked again with the same request_id until answered; the ticket called."""
        body = {"v": 1, "request_id": uuid.uuid4().hex, "action": "next"}
        for _ in range(5):
            try:
                answer = client.request(client.topics.counter_command(counter_id), body,
                                        client.topics.counter_command_response(counter_id))
            except RequestTimeout:
                continue
            assert answer["ok"] is True, answer
            ticket: dict[str, Any] | None = answer["ticket"]
            if ticket is not None:
                self.called.append((counter_id, ticket))
            return ticket
        raise AssertionError(f"counter {counter_id}: no answer to next")

    def _run(self, name: str, work: Callable[[Device], None]) -> None:
        def run() -> None:
            with device(self._broker, self._center_id, f"load-{name}") as client:
                work(client)

        thread = threading.Thread(target=run, name=name)
        thread.start()
        self._threads.append(thread)

    def end(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)
            assert not thread.is_alive()


def ask(admin: Device, action: str, **extra: Any) -> dict[str, Any]:
    body = {"v": 1, "request_id": uuid.uuid4().hex, "action": action, **ADMIN, **extra}
    return admin.request(admin.topics.console_request(CONSOLE), body, admin.topics.console_response(CONSOLE))


def change(admin: Device, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    shown = ask(admin, "config_show")
    document = shown["document"]
    edit(document)
    return ask(admin, "config_change", base_version=shown["config"]["version"], document=document)


def config_where(watcher: Watcher, holds: Callable[[dict[str, Any]], bool], since: float) -> float:
    """Seconds from `since` until a retained config for which `holds` is true arrived."""
    while True:
        _, config = watcher.next("config")
        if holds(config):
            return time.monotonic() - since


def named(items: list[dict[str, Any]], item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in items if item["id"] == item_id)
    return found


def sighup(server: ServerProcess, toml: Path, text: str) -> float:
    toml.write_text(text, encoding="utf-8")
    assert server.proc is not None
    sent = time.monotonic()
    server.proc.send_signal(signal.SIGHUP)
    return sent


def test_changes_while_kiosks_and_counters_work_lose_nothing_and_the_config_follows(
        server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path) -> None:
    load_ = Load(broker, center_id)
    original = center_toml.read_text(encoding="utf-8")
    waits: dict[str, float] = {}
    with ExitStack() as stack:
        admin = stack.enter_context(device(broker, center_id, CONSOLE))
        seen = stack.enter_context(watching(broker, center_id, "config"))
        seen.next("config")  # the retained one
        load_.kiosk("k1", ("dat-dai", "tu-phap"))
        load_.kiosk("k2", ("tu-phap", "dat-dai"))
        for counter_id in ("1", "2"):
            load_.counter(counter_id)
        until(lambda: len(load_.issued) >= 6)

        renamed = original.replace('name = "Quầy 2"', 'name = "Quầy số 2"')
        sent = sighup(server, center_toml, renamed)
        waits["SIGHUP: a counter renamed"] = config_where(
            seen, lambda c: named(c["counters"], "2")["name"] == "Quầy số 2", sent)

        sent = sighup(server, center_toml, renamed.replace('areas = ["nho"]', 'areas = ["khong-co"]'))
        until(lambda: "unknown area 'khong-co'; nothing changed" in server.log_text())
        assert ask(admin, "config_show")["config"]["version"] == 2, "a bad file changes nothing"

        with_notice = renamed + '\n[board]\nnotice = "Chiều thứ Sáu Bộ phận tạm nghỉ để họp. Xin cảm ơn!"\n'
        sent = sighup(server, center_toml, with_notice)
        waits["SIGHUP: the notice"] = config_where(seen, lambda c: c.get("notice", "").startswith("Chiều"), sent)

        sent = time.monotonic()
        assert change(admin, lambda d: d["counters"].append(
            {"id": "9", "name": "Quầy 9", "areas": ["dat-dai"]}))["ok"] is True
        waits["console: a counter added"] = config_where(seen, lambda c: len(c["counters"]) == 4, sent)
        load_.counter("9")

        sent = time.monotonic()
        assert change(admin, lambda d: named(d["areas"], "tu-phap").update(open=False))["ok"] is True
        waits["console: an area closed"] = config_where(
            seen, lambda c: named(c["areas"], "tu-phap")["open"] is False, sent)
        closed_at = len(load_.issued)
        until(lambda: "area_closed" in load_.refused)  # a kiosk asked for the closed area, and was told

        invalid = change(admin, lambda d: named(d["counters"], "9").update(name="Quầy 1"))
        assert invalid["ok"] is False and invalid["error"]["code"] == "config_invalid"
        assert "Tên «Quầy 1» đã là tên của quầy mã «1»" in invalid["error"]["message"]

        five = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]
        sent = time.monotonic()
        assert change(admin, lambda d: d["rating"].update(levels=five))["ok"] is True
        waits["console: five rating levels"] = config_where(seen, lambda c: c["rating_levels"] == five, sent)

        def area_added(document: dict[str, Any]) -> None:
            document["areas"].append({"id": "moi", "name": "Đăng ký kinh doanh", "first": 1, "last": 999,
                                      "prefix": "K"})
            named(document["counters"], "1")["areas"] = ["dat-dai", "moi"]  # counter 1 serves it too

        sent = time.monotonic()
        assert change(admin, area_added)["ok"] is True
        waits["console: an area added, a counter given it"] = config_where(
            seen, lambda c: named(c["counters"], "1")["areas"] == ["dat-dai", "moi"], sent)

        def hours_quota_target(document: dict[str, Any]) -> None:
            named(document["areas"], "nho").update(name="Chứng thực", hours={"weekdays": ["07:30-11:30"]},
                                                   daily_quota=40, target_wait_min=20)

        sent = time.monotonic()
        assert change(admin, hours_quota_target)["ok"] is True
        waits["console: an area renamed, its hours, quota and target"] = config_where(
            seen, lambda c: named(c["areas"], "nho")["name"] == "Chứng thực" and "hours" in named(c["areas"], "nho"),
            sent)
        nho = named(ask(admin, "config_show")["document"]["areas"], "nho")
        assert (nho["daily_quota"], nho["target_wait_min"]) == (40, 20)

        sent = time.monotonic()
        assert change(admin, lambda d: named(d["areas"], "tu-phap").update(open=True))["ok"] is True
        waits["console: the area reopened"] = config_where(
            seen, lambda c: named(c["areas"], "tu-phap")["open"] is True, sent)
        until(lambda: len(load_.issued) >= closed_at + 6)
        load_.end()

        with device(broker, center_id, "drain") as drain:  # everyone still waiting is called, the closed area too
            for counter_id in ("2", "1", "9"):
                while load_.next(drain, counter_id) is not None:
                    pass
    for what, seconds in waits.items():
        print(f"{what}: the retained config {seconds * 1000:.0f} ms later")

    ids = [ticket["id"] for ticket in load_.issued]
    assert len(ids) == len(set(ids)), "no ticket made twice"
    called = [ticket["id"] for _, ticket in load_.called]
    assert len(called) == len(set(called)), "no ticket called twice"
    assert set(called) == set(ids), "every ticket issued was called: none lost in a change"
    assert set(load_.refused) <= {"area_closed"}, load_.refused
    assert any(counter_id == "9" for counter_id, _ in load_.called)
    with closing(sqlite3.connect(sqlite_file(load(center_toml)))) as db:
        stored = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
        versions = db.execute("SELECT version, source, by_who FROM config_versions ORDER BY version").fetchall()
        configured = db.execute("SELECT detail FROM events WHERE kind = 'configured' ORDER BY seq").fetchall()
    assert stored == len(ids)
    assert versions == [(1, "file", "center.toml"), (2, "file", "center.toml"), (3, "file", "center.toml"),
                        *((number, "console", "an.nv") for number in range(4, 10))]
    assert [json.loads(detail)["version"] for (detail,) in configured] == list(range(2, 10))


class ScriptedAgent:
    """An agent's real process through the development runner, its screen or pins driven by lines on stdin."""

    def __init__(self, module: str, config: Path, log: Path) -> None:
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._log = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "devkit.run", module, "--config", str(config),
                                      "--scripted"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, prefix: str) -> str:
        deadline = time.monotonic() + STARTUP_S
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        terminate(self.proc)
        self._log.close()


def test_the_kiosk_and_a_terminal_follow_an_area_added_and_five_levels(
        server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path, tmp_path: Path) -> None:
    terminal_toml = tmp_path / "counter-3.toml"
    terminal_toml.write_text(example_config("3", center_id, tmp_path / "outbox.db", broker.url), encoding="utf-8")
    with ExitStack() as stack:
        printer = LoopbackPrinter()
        stack.callback(printer.close)
        kiosk = ScriptedAgent("kiosk", kiosk_config(center_id, broker, printer, tmp_path), tmp_path / "kiosk.log")
        stack.callback(kiosk.stop)
        terminal = ScriptedAgent("rating_terminal", terminal_toml, tmp_path / "terminal.log")
        stack.callback(terminal.stop)
        admin = stack.enter_context(device(broker, center_id, CONSOLE))
        kiosk.wait_for("screen menu")

        def new_area(document: dict[str, Any]) -> None:
            document["areas"].append({"id": "moi", "name": "Đăng ký kinh doanh", "first": 1, "last": 999,
                                      "prefix": "K"})
            named(document["counters"], "3")["areas"] = ["nho", "moi"]
            document["rating"]["levels"] = ["very_satisfied", "satisfied", "neutral", "dissatisfied",
                                            "very_dissatisfied"]

        assert change(admin, new_area)["ok"] is True
        kiosk.send("touch area:moi")  # the new area's button, on the real kiosk's screen
        kiosk.wait_for("screen ticket")
        with device(broker, center_id, "officials") as officials:
            called = officials.command("3", "next")
            assert called["ticket"]["number"] == "K001" and called["ticket"]["area_name"] == "Đăng ký kinh doanh"
            assert officials.command("3", "finish")["ok"] is True
        armed = terminal.wait_for("armed")
        assert armed == "armed very_satisfied neutral very_dissatisfied", "three buttons on five levels, by position"
        terminal.send("rate 3")
        assert terminal.wait_for("thanks") == "thanks very_dissatisfied"
        until(lambda: stored_ratings(center_toml) == [("K001", "very_dissatisfied")])


def stored_ratings(center_toml: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(sqlite_file(load(center_toml)))) as db:
        return [(shown, level) for shown, level in db.execute(
            "SELECT t.shown, r.level FROM ratings r JOIN tickets t ON t.id = r.ticket_id")]
