"""The kiosk's journal of ticket requests: on disk before a request goes out, so that no ticket is left
in the queue that nobody holds.

A request the kiosk gave up on, or one whose answer it never printed (it stopped, or lost its power, in
between), is cancelled with the server, which then never makes that ticket or voids it. What is printed,
or refused, or shown on screen after a failed print (the citizen can read the number), is done.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

ASKED, ANSWERED, TO_CANCEL, DONE = "asked", "answered", "to_cancel", "done"


@dataclass(frozen=True, slots=True)
class Cancel:
    request_id: str
    reason: str  # "unanswered" or "unprinted"


class Journal:
    def __init__(self, path: Path | None) -> None:
        """`path` None: in memory (a restart forgets; the kiosk config should name a file)."""
        self._lock = threading.Lock()  # the request worker, the printer worker and the canceller share it
        self._db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, state TEXT NOT NULL,"
                         " reason TEXT, ticket_id TEXT)")
        with self._lock:  # what a stop left behind: nobody holds those tickets
            self._db.execute(f"UPDATE requests SET state = '{TO_CANCEL}', reason = CASE state WHEN '{ASKED}'"
                             f" THEN 'unanswered' ELSE 'unprinted' END WHERE state IN ('{ASKED}', '{ANSWERED}')")
            self._db.execute(f"DELETE FROM requests WHERE state = '{DONE}'")

    def asked(self, request_id: str) -> None:
        """Durable before the request is sent (a retry of the same request changes nothing)."""
        self._set(request_id, ASKED, only_new=True)

    def answered(self, request_id: str, ticket_id: str) -> None:
        """A ticket was made for it and is about to be printed."""
        with self._lock:
            self._db.execute(f"UPDATE requests SET state = '{ANSWERED}', ticket_id = ? WHERE request_id = ?"
                             f" AND state = '{ASKED}'", (ticket_id, request_id))

    def done(self, request_id: str) -> None:
        """Printed, refused, or its number shown after a failed print: nothing to undo."""
        self._set(request_id, DONE)

    def done_ticket(self, ticket_id: str) -> None:
        with self._lock:
            self._db.execute(f"UPDATE requests SET state = '{DONE}' WHERE ticket_id = ?", (ticket_id,))

    def give_up(self, request_id: str) -> None:
        """No answer came: the server must never make that ticket (or void it if it did)."""
        with self._lock:
            self._db.execute(f"UPDATE requests SET state = '{TO_CANCEL}', reason = 'unanswered'"
                             f" WHERE request_id = ? AND state = '{ASKED}'", (request_id,))

    def to_cancel(self) -> list[Cancel]:
        with self._lock:
            rows = self._db.execute(f"SELECT request_id, reason FROM requests WHERE state = '{TO_CANCEL}'"
                                    " ORDER BY rowid").fetchall()
        return [Cancel(request_id, reason) for request_id, reason in rows]

    def state(self, request_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM requests WHERE request_id = ?", (request_id,)).fetchone()
        return None if row is None else str(row[0])

    def _set(self, request_id: str, state: str, *, only_new: bool = False) -> None:
        with self._lock:
            if only_new:
                self._db.execute("INSERT OR IGNORE INTO requests (request_id, state) VALUES (?, ?)",
                                 (request_id, state))
            else:
                self._db.execute("INSERT INTO requests (request_id, state) VALUES (?, ?) ON CONFLICT(request_id)"
                                 " DO UPDATE SET state = excluded.state", (request_id, state))

    def close(self) -> None:
        with self._lock:
            self._db.close()
