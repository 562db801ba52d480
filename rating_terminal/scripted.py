"""A terminal whose keys and rating buttons are lines on standard input, and whose lights are
lines on standard output: the fake at the hardware edge for tests and `make demo` that need the
real agent in its own process (e.g. to kill it with SIGKILL between a press and its ack).

Input lines: `key next`, `key skip long`, `rate satisfied`. Output lines: `armed <levels>`,
`disarmed`, `thanks <level>`, `signal <feedback>`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed


class ScriptedTerminal:
    def __init__(self, on_event: Callable[[KeyPressed | RatingPressed], None], *, source: TextIO = sys.stdin,
                 sink: TextIO = sys.stdout) -> None:
        self._on_event, self._source, self._sink = on_event, source, sink
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="scripted-keys", daemon=True).start()

    def _read(self) -> None:
        for line in self._source:
            match line.split():
                case ["key", key, *rest] if key in Key._value2member_map_:
                    self._on_event(KeyPressed(Key(key), long=rest == ["long"]))
                case ["rate", level]:
                    self._on_event(RatingPressed(level))
                case _:
                    self._say(f"unknown {line.strip()[:60]}")

    def _say(self, line: str) -> None:
        with self._lock:
            self._sink.write(line + "\n")
            self._sink.flush()

    def arm(self, levels: list[str]) -> None:
        self._say("armed " + " ".join(levels))

    def disarm(self) -> None:
        self._say("disarmed")

    def thank_you(self, level: str) -> None:
        self._say(f"thanks {level}")

    def signal(self, feedback: Feedback) -> None:
        self._say(f"signal {feedback.value}")

    def close(self) -> None:
        self._say("closed")
