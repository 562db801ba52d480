"""End to end: a real Mosquitto and server, the real terminal agent as a process (keys and rating
buttons scripted on its stdin); ratings counted once, across a broker outage and a SIGKILL."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.local_broker import LocalBroker
from devkit.terminal_config import example_config
from tests.harness import ROOT, ServerProcess, device, watching


class Terminal:
    """The real terminal process of counter `counter`, reaching the broker at `url` (default: directly)."""

    def __init__(self, folder: Path, broker: LocalBroker, center_id: str, *, counter: str = "1",
                 url: str | None = None, clock: str | None = None) -> None:
        self.config = folder / "terminal.toml"
        self.outbox = folder / "outbox.db"
        self.log = folder / "terminal.log"
        self.config.write_text(example_config(counter, center_id, self.outbox, url or broker.url), encoding="utf-8")
        self.broker, self.center_id, self.counter = broker, center_id, counter
        self.extra = ["--simulated-clock", clock] if clock else []
        self.lines: queue.Queue[str] = queue.Queue()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with watching(self.broker, self.center_id, f"device/counter-{self.counter}/status") as status:
            with self.log.open("a") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "devkit.run", "rating_terminal", "--config", str(self.config), "--scripted",
                     *self.extra], cwd=ROOT,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
                    env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # a stop that hangs shows every thread
                )
            threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
            while status.next()[1].get("server") is not True:  # online, and it reaches the server
                pass

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, *wanted: str, timeout_s: float = 15) -> None:
        """Every `wanted` line, in any order (the counter's state comes before a command's answer)."""
        deadline = time.monotonic() + timeout_s
        missing, seen = list(wanted), list[str]()
        while missing:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                log = self.log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"no {missing}; the terminal said {seen}; its log:\n{log}") from None
            seen.append(line)
            missing = [w for w in missing if not line.startswith(w)]

    def press(self, key: str, expect: str = "signal ok") -> None:
        self.send(f"key {key}")
        self.expect(expect)

    def pending_in_outbox(self) -> int:
        with sqlite3.connect(self.outbox) as db:
            return int(db.execute("SELECT count(*) FROM ratings WHERE done_at IS NULL").fetchone()[0])

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # the fault handler writes every thread's stack to the log
            self.proc.wait(15)
            raise AssertionError(f"the terminal did not stop; its log:\n{self.log.read_text()[-6000:]}") from None
        finally:
            self.proc = None


@pytest.fixture
def terminal(tmp_path: Path, broker: LocalBroker, center_id: str, server: ServerProcess) -> Iterator[Terminal]:
    (tmp_path / "t").mkdir()
    terminal = Terminal(tmp_path / "t", broker, center_id)
    yield terminal
    if terminal.proc is not None:  # a test that failed before its own stop: no terminal outlives it
        terminal.stop(kill=True)


def ratings_at_server(server: ServerProcess, expected: int, timeout_s: float = 20) -> list[tuple[str, str]]:
    """The ratings the server stored (waiting until there are `expected`; then checking none more come)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sqlite3.connect(server.config.parent / "center.db") as db:
            rows = list(db.execute("SELECT rating_id, level FROM ratings"))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)  # polling the server's store from outside


def serve_one(terminal: Terminal, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id) as kiosk:
        kiosk.ticket("dat-dai")
    terminal.press("next")
    terminal.send("key finish")
    terminal.expect("signal ok", "armed very_satisfied satisfied dissatisfied")


def test_a_rating_after_finish_is_counted_once(terminal: Terminal, broker: LocalBroker, center_id: str,
                                               server: ServerProcess) -> None:
    terminal.start()
    serve_one(terminal, broker, center_id)
    terminal.send("rate satisfied")
    terminal.expect("thanks satisfied")
    terminal.send("rate dissatisfied")  # a second press: the terminal is no longer armed
    assert [level for _, level in ratings_at_server(server, 1)] == ["satisfied"]
    deadline = time.monotonic() + 10
    while terminal.pending_in_outbox():
        assert time.monotonic() < deadline, "the ack never reached the outbox"
        time.sleep(0.05)
    terminal.stop()
    assert len(ratings_at_server(server, 2, timeout_s=1)) == 1


def test_a_rating_pressed_while_the_broker_is_down_arrives_once_when_it_is_back(
    terminal: Terminal, broker: LocalBroker, center_id: str, server: ServerProcess
) -> None:
    terminal.start()
    serve_one(terminal, broker, center_id)
    broker.stop()
    terminal.send("rate very_satisfied")
    terminal.expect("thanks very_satisfied")
    assert terminal.pending_in_outbox() == 1
    terminal.press("next", expect="signal failed")  # a key while offline fails at once, is never replayed
    broker.start()
    assert [level for _, level in ratings_at_server(server, 1, timeout_s=40)] == ["very_satisfied"]
    terminal.stop()


def test_a_terminal_killed_between_press_and_ack_delivers_the_rating_once_after_restart(
    terminal: Terminal, broker: LocalBroker, center_id: str, server: ServerProcess
) -> None:
    terminal.start()
    serve_one(terminal, broker, center_id)
    broker.stop()
    terminal.send("rate dissatisfied")
    terminal.expect("thanks dissatisfied")
    terminal.stop(kill=True)
    broker.start()
    server_back = time.monotonic() + 40
    while True:  # the server reconnects by itself; the terminal is started again
        try:
            terminal.start()
            break
        except queue.Empty:
            assert time.monotonic() < server_back
    assert [level for _, level in ratings_at_server(server, 1, timeout_s=30)] == ["dissatisfied"]
    assert len(ratings_at_server(server, 2, timeout_s=3)) == 1
    terminal.stop()


def test_a_command_that_timed_out_is_resolved_and_its_true_outcome_shown(
    terminal: Terminal, broker: LocalBroker, center_id: str, server: ServerProcess
) -> None:
    terminal.start()
    with device(broker, center_id) as kiosk:
        kiosk.ticket("dat-dai")
        kiosk.ticket("dat-dai")
    terminal.press("next")
    broker.freeze(True)  # the broker hangs: the next is on its way, nobody answers
    try:
        terminal.send("key next")
        terminal.expect("signal failed")  # after the command's timeout
    finally:
        broker.freeze(False)
    terminal.expect("signal ok", timeout_s=30)  # it had reached the server: the terminal says so now
    with sqlite3.connect(server.config.parent / "center.db") as db:
        states = dict(db.execute("SELECT shown, state FROM tickets"))
    assert states == {"1001": "served", "1002": "called"}, "exactly one late next, no more"
    terminal.stop()
