"""A batch's commit off the state thread, while the state thread acts on the next batch (SQLite only).

The state thread writes a batch's rows (`TwoStepStorage.write`); its COMMIT, SQLite's writing of the WAL and the
fsync, done with the GIL released, runs in this thread beside the state thread's work on the next batch instead of
before it. The rows are not written here: each row's step releases the GIL and takes it back, and the hand-overs
with a busy state thread cost more than the rows (measured: 30 us more a request). One batch at a time is in flight.
What a batch caused (its state and its replies) is published by this thread once, and only once, its commit is
durable. A failed commit publishes nothing: the state thread learns of it when it settles (`settle`) before its
next commit, undoes both batches (the next was acted on over the failed one) and answers their requests as
storage that cannot write answers them.
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


@dataclass(frozen=True, slots=True)
class Commit:
    """One batch, written, to make durable, what to publish once it is, and what to log then."""

    outbound: list[Outbound]
    messages: list[Message]  # answered again (as unwritable) if the commit fails
    note: str  # the batch's line in the log, without the commit's time; empty: no line
    started: float  # when its writing began (time.perf_counter): the log's commit time runs from it


@dataclass(frozen=True, slots=True)
class Failed:
    commit: Commit
    error: StorageError


class Committer:
    """One commit in flight at a time, in its own thread."""

    def __init__(self, finish: Callable[[], None], publish: Callable[[list[Outbound]], None]) -> None:
        """`finish`: makes durable what the state thread wrote (`TwoStepStorage.finish`)."""
        self._finish = finish
        self._publish = publish
        self._changed = threading.Condition()
        self._job: Commit | None = None  # in flight
        self._failed: Failed | None = None  # the last one failed, and the state thread has not settled yet
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def submit(self, commit: Commit) -> None:
        """Start committing; the previous commit must have been settled."""
        with self._changed:
            assert self._job is None and self._failed is None, "a commit is still in flight or unsettled"
            self._job = commit
            self._changed.notify_all()

    def idle(self) -> None:
        """Wait until nothing is in flight: storage is the state thread's again (to read, or commit itself)."""
        with self._changed:
            self._changed.wait_for(lambda: self._job is None)

    def settle(self) -> Failed | None:
        """Wait for the commit in flight; the failed one, once (None: it was durable and published, or none was)."""
        with self._changed:
            self._changed.wait_for(lambda: self._job is None)
            failed, self._failed = self._failed, None
            return failed

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
            failed = self._do(job)
            with self._changed:
                self._job, self._failed = None, failed
                self._changed.notify_all()

    def _do(self, job: Commit) -> Failed | None:
        try:
            self._finish()
        except StorageError as error:  # nothing of it happened: neither does anything it caused
            return Failed(job, error)
        except Exception as error:  # a fault, not a refusal of storage: the batch is undone all the same
            log.exception("commit failed")
            return Failed(job, StorageError(f"commit failed: {error}"))
        if job.note:
            log.info("%s; committed in %.1f ms", job.note, (time.perf_counter() - job.started) * 1000)
        try:
            self._publish(job.outbound)
        except Exception:  # the link says why; the batch is durable, and retries get its answers
            log.exception("publishing a committed batch failed")
        return None
