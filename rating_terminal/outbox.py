"""The rating outbox: a rating is on disk before the citizen sees "thank you", and is sent again,
with the same rating_id, until the server acknowledges it (paho keeps in-flight messages in
memory only; a terminal may lose its network or its power between the press and the ack)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from protocol.messages import Rating


@dataclass(frozen=True, slots=True)
class Outgoing:
    rating: Rating
    attempts: int


class Outbox:
    def __init__(self, path: Path) -> None:
        # The main loop adds, the sender reads and marks done: one lock keeps them apart.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ratings (rating_id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL,"
            " level TEXT NOT NULL, pressed_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
            " done_at TEXT, outcome TEXT)"
        )

    def add(self, rating: Rating) -> None:
        """Durable when this returns (fsync): only then may the terminal thank the citizen."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO ratings (rating_id, ticket_id, level, pressed_at) VALUES (?, ?, ?, ?)",
                (rating.rating_id, rating.ticket_id, rating.level, rating.pressed_at.isoformat()),
            )

    def pending(self) -> list[Outgoing]:
        with self._lock:
            rows = self._db.execute(
                "SELECT rating_id, ticket_id, level, pressed_at, attempts FROM ratings WHERE done_at IS NULL"
                " ORDER BY rowid"
            ).fetchall()
        return [Outgoing(Rating(r, t, lv, datetime.fromisoformat(p)), a) for r, t, lv, p, a in rows]

    def sent(self, rating_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE ratings SET attempts = attempts + 1 WHERE rating_id = ?", (rating_id,))

    def done(self, rating_id: str, outcome: str, at: datetime) -> None:
        """The server answered (ok, or a refusal that no resend can change): stop sending it."""
        with self._lock:
            self._db.execute("UPDATE ratings SET done_at = ?, outcome = ? WHERE rating_id = ? AND done_at IS NULL",
                             (at.isoformat(), outcome, rating_id))

    def close(self) -> None:
        with self._lock:
            self._db.close()
