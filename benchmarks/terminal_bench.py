"""`make bench` for the counter terminal: press to ack for `next` and for a rating, and the idle footprint.

The real `python -m rating_terminal` process with scripted keys (its stdin), a real Mosquitto and
the real central server. `next`: the key written -> the terminal signals ok (the server answered).
Rating: the button written -> the server's acknowledgement seen on `counter/1/rating/ack`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.kiosk_bench import center_toml, rss_mb
from benchmarks.server_bench import Server, percentiles, process_cpu_s, wait_online
from devkit.local_broker import LocalBroker
from devkit.scripted_terminal import PAUSE_S, PRESS_S
from devkit.terminal_config import example_config
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
CENTER = "bench-terminal"
ROUNDS = 100


class Terminal:
    def __init__(self, folder: Path, broker: LocalBroker) -> None:
        path = folder / "terminal.toml"
        path.write_text(example_config("1", CENTER, folder / "outbox.db", broker.url), encoding="utf-8")
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.proc = subprocess.Popen([sys.executable, "-m", "devkit.run", "rating_terminal", "--config", str(path),
                                      "--scripted"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.strip()))

    def send(self, line: str) -> float:
        assert self.proc.stdin is not None
        started = time.perf_counter()
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return started

    def until(self, *prefixes: str) -> float:
        """When the terminal has said every one of `prefixes` (in any order: a counter's state comes
        before the answer to the command that changed it)."""
        missing, seen, at = list(prefixes), list[str](), 0.0
        while missing:
            try:
                at, line = self.lines.get(timeout=15)
            except queue.Empty:
                raise TimeoutError(f"the terminal never said {missing}; it said {seen}") from None
            seen.append(line)
            missing = [p for p in missing if not line.startswith(p)]
        return at

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def measure(folder: Path, broker: LocalBroker) -> list[dict[str, Any]]:
    topics = Topics(CENTER)
    acks: queue.Queue[float] = queue.Queue()
    helper = MqttLink(MqttSettings(broker.host, broker.port), client_id="bench-helper",
                      status_topic=topics.device_status("bench-helper"))
    helper.subscribe(topics.rating_ack("1"), lambda _m: acks.put(time.perf_counter()))
    helper.subscribe(topics.device_status("counter-1"), lambda m: _note_ready(m, ready))
    ready = threading.Event()
    helper.start()
    helper.wait_ready(10)
    started = time.perf_counter()
    terminal = Terminal(folder, broker)
    ready.wait(30)
    ready_s = time.perf_counter() - started
    nexts: list[float] = []
    ratings: list[float] = []
    try:
        for n in range(ROUNDS):
            body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "area": "dat-dai"}).encode()
            helper.request(topics.ticket_request("k1"), body, response_topic=topics.ticket_response("k1"),
                           timeout_s=5)
            time.sleep(PRESS_S + PAUSE_S)  # a finger lets go of a key before it presses it again
            sent = terminal.send("key next")
            nexts.append((terminal.until("signal ok") - sent) * 1000)
            terminal.send("key finish")
            terminal.until("armed", "signal ok")
            sent = terminal.send("rate satisfied" if n % 5 else "rate dissatisfied")  # the levels of center_toml()
            ratings.append((acks.get(timeout=15) - sent) * 1000)
        time.sleep(2)
        cpu_before, wall_before = process_cpu_s(terminal.proc.pid), time.perf_counter()
        time.sleep(10)
        cpu = (process_cpu_s(terminal.proc.pid) - cpu_before) / (time.perf_counter() - wall_before)
        rss = rss_mb(terminal.proc.pid)
    finally:
        terminal.stop()
        helper.stop()
    return [
        {"name": "terminal_next_press_to_answer", "n": len(nexts), **percentiles(nexts)},
        {"name": "terminal_rating_press_to_ack", "n": len(ratings), **percentiles(ratings)},
        {"name": "terminal_idle", "cpu_percent": round(cpu * 100, 2), "rss_mb": round(rss, 1),
         "ready_s": round(ready_s, 2), "targets": {"cpu_percent": 1, "rss_mb": 60}},
    ]


def _note_ready(message: Message, ready: threading.Event) -> None:
    if json.loads(message.payload).get("server") is True:
        ready.set()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qms-terminal-bench-") as tmp, LocalBroker(Path(tmp)) as broker:
        folder = Path(tmp)
        server = Server(center_toml(folder, broker, CENTER), broker)
        try:
            import asyncio

            asyncio.run(wait_online(broker, Topics(CENTER)))
            for line in measure(folder, broker):
                print(json.dumps(line), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
