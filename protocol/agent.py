"""What every process entry point shares: arguments, logging, stop signals, sd_notify."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)


def parse_args(prog: str, description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    parser.add_argument("--check", action="store_true", help="validate the config, print a summary, exit")
    parser.add_argument("--simulated-clock", metavar="START,SPEED,REAL", help=argparse.SUPPRESS)  # demos only
    return parser.parse_args(argv)


def setup_logging() -> None:
    """Log to stderr (journald adds the time under systemd) at QMS_LOG_LEVEL (default INFO)."""
    level_name = os.environ.get("QMS_LOG_LEVEL", "INFO").upper()
    level = logging.getLevelName(level_name)
    logging.basicConfig(
        level=level if isinstance(level, int) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paho").setLevel(max(logging.WARNING, logging.getLogger().level))
    if not isinstance(level, int):
        log.warning("QMS_LOG_LEVEL=%s is not a log level; using INFO", level_name)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT; the main loop checks it."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def notify(state: str) -> None:
    """Send one sd_notify message ("READY=1", "WATCHDOG=1", "STOPPING=1") when under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("sd_notify %s failed: %s", state, exc)


class Watchdog:
    """Pings systemd's watchdog from the main loop at half the configured interval."""

    def __init__(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        self._interval_s = int(usec) / 2_000_000 if usec.isdigit() and int(usec) > 0 else None
        self._last = 0.0

    def ping(self) -> None:
        if self._interval_s is None:
            return
        now = time.monotonic()
        if now - self._last >= self._interval_s:
            self._last = now
            notify("WATCHDOG=1")
