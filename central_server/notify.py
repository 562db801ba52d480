"""The notifier port (issue 18): a booking's confirmation, reminder and cancellation, sent to the citizen's phone.

No SMS gateway or Zalo account is reachable from here, so the port is small and documented, with two adapters:

- `OutboxNotifier` appends each notice as one JSON line to a file: the tests read it, and in production a separate
  sender (an SMS modem's spooler, a Zalo OA script) may take the lines from it (and must empty it: the lines hold
  phone numbers);
- `CommandNotifier` runs a program once per notice, its arguments given in `[notify] command` with `{phone}` and
  `{text}` replaced, e.g. `["gammu-smsd-inject", "TEXT", "{phone}", "-text", "{text}"]` for a USB SMS modem. No shell
  is involved: the text is one argument whatever it holds.

An adapter is anything with `send(notice)` that must not block: the service calls it on its one state thread, after
the batch that made the booking is committed. Both adapters hand the notice to a worker thread through a bounded
queue; when the queue is full (a gateway that hangs), notices are dropped and counted in the log, never waited for.
A notice lost that way loses nothing of the booking: the citizen has the code on the page.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from central_server.config import NotifySpec

log = logging.getLogger(__name__)

MAX_QUEUED = 1_000  # notices waiting for the worker; the day's bookings of a center are a few hundred
COMMAND_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # "confirmed", "remote", "reminder" or "cancelled"
    phone: str  # 10 digits, 0xxxxxxxxx
    text: str  # Vietnamese, one message (with diacritics, 2 to 4 SMS segments)
    code: str  # the booking's code


class Notifier(Protocol):
    def send(self, notice: Notice) -> None:
        """Hand the notice over without blocking."""

    def close(self) -> None: ...


class _Worker:
    """Delivers notices one by one on its own thread; a full queue drops (and counts) what comes."""

    def __init__(self, deliver: Callable[[Notice], None], name: str) -> None:
        self._deliver = deliver
        self._queue: queue.Queue[Notice | None] = queue.Queue(MAX_QUEUED)
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def send(self, notice: Notice) -> None:
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                log.error("notifier: %d notice(s) dropped, its queue of %d is full", self._dropped, MAX_QUEUED)

    def close(self) -> None:
        """Deliver what is queued (the worker stops after it)."""
        try:
            self._queue.put(None, timeout=1.0)
        except queue.Full:
            return
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            try:
                self._deliver(notice)
            except Exception as exc:  # one notice that fails stops nothing; its phone and text stay out of the log
                log.error("notifier: the %s notice of booking %s was not sent: %s", notice.kind, notice.code,
                          type(exc).__name__)


class OutboxNotifier:
    """Each notice as one JSON line appended to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._worker = _Worker(self._append, "notify-outbox")

    def send(self, notice: Notice) -> None:
        self._worker.send(notice)

    def close(self) -> None:
        self._worker.close()

    def _append(self, notice: Notice) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(notice), ensure_ascii=False) + "\n")


class CommandNotifier:
    """Runs `argv` once per notice, `{phone}` and `{text}` replaced in each argument."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = tuple(argv)
        self._worker = _Worker(self._run, "notify-command")

    def send(self, notice: Notice) -> None:
        self._worker.send(notice)

    def close(self) -> None:
        self._worker.close()

    def _run(self, notice: Notice) -> None:
        argv = [part.replace("{phone}", notice.phone).replace("{text}", notice.text) for part in self.argv]
        done = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
        if done.returncode != 0:  # what it said may name the phone: not logged
            log.error("notifier: %s exited %d for booking %s", argv[0], done.returncode, notice.code)


class NoNotifier:
    """A center that sends nothing: the citizen keeps the code the page shows."""

    def send(self, notice: Notice) -> None:
        log.debug("no notifier: the %s notice of booking %s is not sent", notice.kind, notice.code)

    def close(self) -> None:
        return None


def notifier_of(spec: NotifySpec | None) -> Notifier:
    """The adapter `[notify]` names (none: nothing is sent)."""
    if spec is None:
        return NoNotifier()
    if spec.kind == "outbox" and spec.path is not None:
        return OutboxNotifier(spec.path)
    return CommandNotifier(spec.command)
