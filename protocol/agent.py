"""What every process entry point shares: arguments, logging, stop signals, sd_notify."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from protocol.errors import ConfigError

log = logging.getLogger(__name__)


def parse_args(prog: str, description: str, argv: Sequence[str] | None, *,
               epilog: str | None = None) -> argparse.Namespace:
    """`--config FILE [--check]`; `epilog` is printed as written after the options in `--help`."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter if epilog
                                     else argparse.HelpFormatter)
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    parser.add_argument("--check", action="store_true", help="validate the config, print a summary, exit")
    return parser.parse_args(argv)


AGENT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the devices' clock: every center is in Vietnam


class _Summarised(Protocol):
    def summary(self) -> str: ...


C = TypeVar("C", bound=_Summarised)


Clock = Callable[[], datetime]


def start_agent(
    prog: str, description: str, load: Callable[[Path], C], argv: Sequence[str] | None, clock: Clock | None = None
) -> tuple[C, Clock] | int:
    """What every agent's main() does first: arguments, logging, the config and the clock (the real one unless
    `clock` is given: the development tools run agents on a simulated one, `devkit/run.py`).

    Returns the exit code when the agent is done already: 2 (one line) for a wrong config,
    0 after `--check` printed the summary.
    """
    args = parse_args(prog, description, argv)
    setup_logging()
    try:
        config = load(Path(args.config))
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(config.summary())
        return 0
    return config, clock or (lambda: datetime.now(AGENT_ZONE))


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


def stop_on_signals(grace_s: float = 15.0) -> threading.Event:
    """An event set by SIGTERM or SIGINT; the main loop checks it.

    A process asked to stop always stops: if it is still running `grace_s` later (a hung hardware
    call, a deadlock), every thread's stack goes to stderr (the journal) and it exits with 1. What
    must not be lost is durable by then (the outbox, the database), so this loses nothing.
    """
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        if not stop.is_set():
            threading.Thread(target=_exit_after, args=(grace_s,), name="stop-grace", daemon=True).start()
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def reload_on_hangup() -> threading.Event:
    """An event set by SIGHUP (read the config again); the main loop checks it and clears it."""
    reload = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s: the config file is read again", signal.Signals(signum).name)
        reload.set()

    signal.signal(signal.SIGHUP, handle)
    return reload


def _exit_after(grace_s: float) -> None:
    time.sleep(grace_s)
    print(f"still running {grace_s:g} s after the stop signal: the threads' stacks, then exit 1", file=sys.stderr,
          flush=True)
    faulthandler.dump_traceback(all_threads=True)
    os._exit(1)


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
    """Pings systemd's watchdog from the main loop at half the configured interval.

    Each ping is followed by EXTEND_TIMEOUT_USEC=<the watchdog interval>. Before READY=1 systemd
    applies it to the start timeout: an agent waiting for its broker or server keeps starting
    while its loop is alive, and is still killed when the loop is stuck. After READY=1 it only
    moves the watchdog's deadline as far as the ping itself does (the units set no RuntimeMaxSec=).
    """

    def __init__(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        self._usec = int(usec) if usec.isdigit() and int(usec) > 0 else None
        self._interval_s = self._usec / 2_000_000 if self._usec is not None else None
        self._last = 0.0

    def ping(self) -> None:
        if self._interval_s is None:
            return
        now = time.monotonic()
        if now - self._last >= self._interval_s:
            self._last = now
            notify("WATCHDOG=1")
            notify(f"EXTEND_TIMEOUT_USEC={self._usec}")
