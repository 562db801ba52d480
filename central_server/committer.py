"""A batch's commit off the state thread, while the state thread acts on the next batch (SQLite only).

The state thread writes a batch's rows (`TwoStepStorage.write`); the COMMIT, SQLite's writing of the WAL and the
fsync, done with the GIL released, runs in this thread beside the state thread's work on the next batch instead of
before it. One batch at a time is in flight. Besides, this thread only logs the batch's line: the state thread
publishes what the batch caused once it is durable (it asks between requests, `durable`, and waits for it before
the next commit, `settle`). The state thread lets go of the GIL for this one after a hand-over and now and then
between requests, or this one would wait for the next forced switch (5 ms). When this thread also wrote the rows
and published, it took the GIL from the busy state thread again and again (measured: 30 us more a request). A
failed commit publishes nothing: the state thread learns of it when it settles, undoes both batches (the next was
acted on over the failed one) and answers their requests as storage that cannot write answers them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from central_server.storage.port import StorageError
from central_server.wire import Outbound
from protocol.link import Message

log = logging.getLogger(__name__)

YIELD_EVERY = 8  # asks of `durable` between two lettings go of the GIL while a commit is in flight (4: no better)


@dataclass(frozen=True, slots=True)
class Commit:
    """One batch, written, to make durable, what to publish once it is, and what to log then."""

    outbound: list[Outbound]
    messages: list[Message]  # answered again (as unwritable) if the commit fails
    note: str  # the batch's line in the log, without the commit's time; empty: no line
    started: float  # when its writing began (time.perf_counter): the log's commit time runs from it


@dataclass(frozen=True, slots=True)
class Settled:
    """A commit that is over: durable when `error` is None."""

    commit: Commit
    error: StorageError | None


class Committer:
    """One commit in flight at a time, in its own thread."""

    def __init__(self, finish: Callable[[], None]) -> None:
        """`finish`: makes durable what the state thread wrote (`TwoStepStorage.finish`)."""
        self._finish = finish
        self._changed = threading.Condition()
        self._job: Commit | None = None  # in flight
        self._over: Settled | None = None  # over, not settled yet
        self._closing = False
        self._asked = 0  # calls of `durable` that found nothing
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def submit(self, commit: Commit) -> None:
        """Start committing; the previous commit must have been settled (what it caused goes out first)."""
        with self._changed:
            assert self._job is None and self._over is None, "a commit is still in flight or unsettled"
            self._job = commit
            self._changed.notify_all()
        # The GIL, let go of: this thread starts the COMMIT now, not at the caller's next forced switch (5 ms later,
        # longer than the fsync: the caller then waited for it at its next batch's end).
        time.sleep(0)

    def idle(self) -> None:
        """Wait until nothing is in flight: storage is the state thread's again (to read, or commit itself)."""
        with self._changed:
            self._changed.wait_for(lambda: self._job is None)

    def settle(self) -> Settled | None:
        """Wait for the commit in flight; the one that ended, once (None: none was in flight or unsettled)."""
        with self._changed:
            self._changed.wait_for(lambda: self._job is None)
            over, self._over = self._over, None
            return over

    def durable(self) -> Settled | None:
        """The commit in flight, when it has ended durable, taken (`settle` no longer returns it); None while it
        runs, and when it failed (`settle` says so). It does not wait: the state thread asks between requests, and
        every YIELD_EVERY asks while a commit runs it lets go of the GIL, so that this thread, past its fsync, can
        say it is over."""
        over = self._over
        if over is None or over.error is not None:
            self._asked += 1
            if self._job is not None and self._asked % YIELD_EVERY == 0:
                time.sleep(0)
            return None
        with self._changed:
            over, self._over = self._over, None
            return over

    def close(self) -> None:
        """Let what is in flight finish, and end the thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._job is not None or self._closing)
                job = self._job
            if job is None:
                return
            over = Settled(job, self._do())
            if over.error is None and job.note:  # here: this thread holds the GIL for it anyway
                log.info("%s; committed in %.1f ms", job.note, (time.perf_counter() - job.started) * 1000)
            with self._changed:
                self._job, self._over = None, over
                self._changed.notify_all()

    def _do(self) -> StorageError | None:
        try:
            self._finish()
        except StorageError as error:  # nothing of it happened: neither does anything it caused
            return error
        except Exception as error:  # a fault, not a refusal of storage: the batch is undone all the same
            log.exception("commit failed")
            return StorageError(f"commit failed: {error}")
        return None
