"""`make bench`: how soon an agent started before its broker is online once the broker comes up.

A real `python -m display_board` (no screen, no voice) is started against a port where no broker
listens; a real Mosquitto starts there a few seconds later (at a random moment of the agent's
retry cycle); the time from the broker listening to the agent's retained `online` is measured.
Target: within 3 s.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from devkit.local_broker import LocalBroker, free_port
from protocol.config import MqttSettings
from protocol.link import MqttLink
from protocol.messages import Status
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 6
BOARD = """
[board]
id = "board-early"
center = "do-ket-noi"

[mqtt]
url = "mqtt://127.0.0.1:{port}"

[screen]
enabled = false

[voice]
enabled = false
"""


def one_round(folder: Path, rng: random.Random) -> float:
    port = free_port()
    config = folder / f"board-{port}.toml"
    config.write_text(BOARD.format(port=port), encoding="utf-8")
    board = subprocess.Popen([sys.executable, "-m", "display_board", "--config", str(config)], cwd=ROOT,
                             stderr=subprocess.DEVNULL, env={**os.environ, "QMS_LOG_LEVEL": "WARNING"})
    broker = LocalBroker(folder, port)
    online = threading.Event()
    topics = Topics("do-ket-noi")
    try:
        time.sleep(3.0 + rng.uniform(0, 2.0))
        broker.start()
        listening = time.monotonic()
        watcher = MqttLink(MqttSettings(broker.host, broker.port), client_id="watcher",
                           status_topic=topics.device_status("watcher"), announce_online=False)
        watcher.subscribe(topics.device_status("board-early"),
                          lambda m: online.set() if Status.from_wire(m.payload).online else None)
        watcher.start()
        if not online.wait(30):
            raise RuntimeError("the board never came online")
        joined = time.monotonic() - listening
        watcher.stop()
        return joined
    finally:
        board.send_signal(signal.SIGTERM)
        board.wait(20)
        broker.stop()


def main() -> int:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="qms-reconnect-") as folder:
        times = [one_round(Path(folder), rng) for _ in range(ROUNDS)]
    print(json.dumps({"name": "agent_online_after_broker_starts", "rounds": ROUNDS,
                      "p50_s": round(statistics.median(times), 2), "max_s": round(max(times), 2),
                      "target_s": 3.0}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
