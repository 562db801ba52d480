"""`python -m central_server --config FILE [--check]` (the central server), and `... provision`, `... report`
and `... void`."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from central_server.broker_link import BrokerLink
from central_server.config import CenterConfig, load
from central_server.notify import notifier_of
from central_server.server import ServerLoop
from central_server.service import CenterService
from central_server.storage import open_storage
from central_server.storage.port import Storage, StorageFull
from central_server.storage.sqlite import DatabaseLock, StorageError
from central_server.storage.url import PostgresDatabase, SqliteFile
from protocol.agent import Clock, Watchdog, parse_args, reload_on_hangup, setup_logging, stop_on_signals
from protocol.errors import ConfigError
from protocol.topics import Topics

log = logging.getLogger("central_server")
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
# New objects between two collections of the youngest generation (Python's default: 700). A batch's objects mostly
# die with it: collected less often, fewer of them are found alive, moved to the older generations and scanned again.
YOUNG_COLLECTION_AT = 10_000
STORAGE_RETRY_S = 2.0  # how often a server that cannot open its storage on a full disk tries again
SUB_COMMANDS = """\
sub-commands (each with its own --help):
  report     the center's report for a period: XLSX, CSV and PNG charts
             python -m central_server report --config FILE ...
  provision  write device configs, passwords and the broker's files for a center
             python -m central_server provision --config FILE ...
  void       void a kiosk's tickets of a time range that still wait (a flood), through the running server
             python -m central_server void --config FILE --kiosk ID --from HH:MM --to HH:MM --by NAME
  live-config  print the live configuration (the database's newest version) as TOML, to paste into the file
             python -m central_server live-config --config FILE"""


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None, speed: float = 1.0) -> int:
    """`clock`, and how many times faster than real time it runs: the real one unless given (`devkit/run.py`
    gives a simulated one)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["provision"]:  # imported here: the server itself needs neither (nor matplotlib)
        from central_server import provision

        return provision.main(arguments[1:])
    if arguments[:1] == ["void"]:
        from central_server import void

        return void.main(arguments[1:])
    if arguments[:1] == ["live-config"]:
        from central_server import live_command

        return live_command.main(arguments[1:])
    if arguments[:1] == ["report"]:
        from central_server.report import command

        return command.main(arguments[1:])
    args = parse_args("central_server", "The queue system's central server.", argv, epilog=SUB_COMMANDS)
    setup_logging()
    try:
        config = load(Path(args.config))
    except ConfigError as exc:
        print(f"central_server: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(config.summary())
        return 0
    for warning in config.warnings:
        log.warning("%s", warning)
    stop, reload = stop_on_signals(), reload_on_hangup()
    try:
        # One server per SQLite file, before anything is touched (its MQTT client id would throw the first off).
        lock = DatabaseLock(config.storage.path) if isinstance(config.storage, SqliteFile) else None
    except StorageError as exc:
        print(f"central_server: {exc}", file=sys.stderr)
        return 1
    try:
        storage = _open_storage(config, stop)
        if storage is None:  # stopped while waiting for space
            return 0
        try:
            zone = config.rules.zone
            return _serve(config, storage, clock or (lambda: datetime.now(zone)), speed, stop, reload)
        finally:
            storage.close()
    except StorageError as exc:
        print(f"central_server: {exc}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()


def _serve(config: CenterConfig, storage: Storage, clock: Clock, speed: float, stop: threading.Event,
           reload: threading.Event) -> int:
    # The state thread shares the GIL with the committer (and the link's connecting thread). With the default 5 ms
    # switch interval a busy state thread would keep the committer waiting for it 5 ms past its fsync.
    sys.setswitchinterval(0.0005)
    shared = isinstance(config.storage, PostgresDatabase)  # on PostgreSQL, several instances serve the center
    notifier = notifier_of(config.notify)
    libc = _libc()
    if libc is not None:  # blocks of 128 KiB and more are mapped on their own, returned to the system when freed
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        # One heap for the threads (state, committer, the link's connecting one): the GIL lets one allocate at a
        # time, and a heap per thread kept what each had freed (103 MB settled at 100,000 tickets, against 99: one
        # run of each)
        libc.mallopt(M_ARENA_MAX, 1)
    service = CenterService(config, storage, clock, elapsed=_elapsed(speed), notifier=notifier)
    gc.collect()
    gc.freeze()  # the day loaded so far stays put: later collections need not scan it again
    gc.set_threshold(YOUNG_COLLECTION_AT)
    if libc is not None:
        libc.malloc_trim(0)  # what loading the day freed goes back to the system
    link = BrokerLink(
        config.mqtt,
        client_id=config.mqtt.client_id or (f"{config.client_id}-{socket.gethostname()}-{os.getpid()}" if shared
                                            else config.client_id),  # instances of one center: one id each
        status_topic=Topics(config.center_id).server_status(),
    )
    where = config.storage.path if isinstance(config.storage, SqliteFile) else "PostgreSQL"
    log.info("central server for %s starting; storage %s", config.center_id, where)
    try:
        return ServerLoop(service, link, stop, shared=shared, reload=reload,
                          trim=None if libc is None else lambda: libc.malloc_trim(0)).run()
    finally:
        notifier.close()


def _open_storage(config: CenterConfig, stop: threading.Event) -> Storage | None:
    """The storage, once it opens: on a full disk (a new database, or one whose WAL cannot be made) it waits
    for space, alive for the watchdog, rather than exit and be restarted in a loop. None when asked to stop."""
    watchdog, said = Watchdog(), False
    while True:
        try:
            return open_storage(config)
        except StorageFull as exc:
            if not said:
                log.error("disk full: %s; waiting for space", exc)
                said = True
        watchdog.ping()
        if stop.wait(STORAGE_RETRY_S):
            return None


def _libc() -> ctypes.CDLL | None:
    """glibc, to return freed memory to the system: without it the server's RSS stays at its peaks (loading a day
    of 100,000 tickets, building the floor of such a day: tens of MB). glibc raises its threshold for mapping a
    block on its own each time such a block is freed, so that later big blocks (a dict of 100,000 tickets, the
    floor's lists) come from the heap, which it keeps; a fixed threshold stops that. None elsewhere (musl, macOS)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018  # both, or neither is used
    except (OSError, AttributeError):
        return None
    return libc


def _elapsed(speed: float) -> Callable[[], float]:
    """Seconds of a clock nobody sets (the time since boot), at the pace of the center's clock (a simulated one
    runs `speed` times faster): what tells the service a jump of the wall clock from time passing."""
    boot = getattr(time, "CLOCK_BOOTTIME", None)  # Linux: counts a suspend too, as the wall clock does
    if boot is None:
        return lambda: time.monotonic() * speed
    return lambda: time.clock_gettime(boot) * speed


if __name__ == "__main__":
    sys.exit(main())
