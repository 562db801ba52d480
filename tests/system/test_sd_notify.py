"""Under systemd: the server says READY=1 once online and pings the watchdog from its main loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from devkit.local_broker import LocalBroker
from tests.harness import ROOT


def test_ready_then_watchdog_pings_then_stopping(tmp_path: Path, broker: LocalBroker, center_toml: Path) -> None:
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(15)
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}  # ping every 0.2 s
    server = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(center_toml)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        said = [listener.recv(256).decode()]
        while "READY=1" not in said:
            said.append(listener.recv(256).decode())
        pings = 0
        while pings < 5:  # each recv waits at most 15 s: a loop that stopped pinging fails here
            if listener.recv(256).decode() == "WATCHDOG=1":
                pings += 1
        server.send_signal(signal.SIGTERM)
        while listener.recv(256).decode() != "STOPPING=1":
            pass
        assert server.wait(15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        listener.close()
