"""A Mosquitto on a free loopback port, for tests, `make demo` and `make bench`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

TUNING = Path(__file__).resolve().parents[1] / "firmware_configs" / "mosquitto" / "tuning.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise FileNotFoundError("mosquitto is not installed: run `make install` (apt-get install mosquitto)")
    return found


class LocalBroker:
    """Mosquitto with the shipped tuning, anonymous, without persistence; restartable on its port."""

    def __init__(self, workdir: Path, port: int | None = None, *, anonymous: bool = True) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        self.log = workdir / f"mosquitto-{self.port}.log"
        self.conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence false\nlog_dest stderr\n{TUNING.read_text()}"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection((self.host, self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)  # polling the port until the broker listens
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        else:
            self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
