"""The hall board's real pygame screen, saying on standard output which calls it has drawn: the fake at the
hardware edge for benchmarks that need the real board agent in its own process (`benchmarks/one_pi_bench.py`).

Every frame is drawn and flipped by the production screen; after a frame that shows a number for the first time
(as the newest call or in the list of calls before it), a line `drawn <number> <time.monotonic()>` is written, the
time taken just after the flip. `time.monotonic()` is the system's CLOCK_MONOTONIC, the same in every process of
the machine, so another process can subtract its own readings from it. A line `save PATH` on standard input saves
the next frame drawn as a PNG there, then says `saved PATH`.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from display_board.model import BoardView
from display_board.screen import PygameBoardScreen


class ScriptedBoardScreen(PygameBoardScreen):
    def __init__(self, width: int, height: int, *, fullscreen: bool, source: TextIO = sys.stdin,
                 sink: TextIO = sys.stdout) -> None:
        super().__init__(width, height, fullscreen=fullscreen)
        self._source, self._sink = source, sink
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._saves: list[Path] = []
        threading.Thread(target=self._read, name="scripted-board", daemon=True).start()

    def _read(self) -> None:
        for line in self._source:
            match line.split(maxsplit=1):
                case ["save", path]:
                    with self._lock:
                        self._saves.append(Path(path.strip()))
                case _:
                    self._say(f"unknown {line.strip()[:60]}")

    def _say(self, line: str) -> None:
        self._sink.write(line + "\n")
        self._sink.flush()

    def show(self, view: BoardView) -> None:
        super().show(view)
        drawn_at = time.monotonic()
        shown = ([view.newest] if view.newest is not None else []) + list(view.recent)
        for call in shown:
            if call.number not in self._seen:
                self._seen.add(call.number)
                self._say(f"drawn {call.number} {drawn_at:.6f}")
        with self._lock:
            saves, self._saves = self._saves, []
        for path in saves:
            self.save(path)
            self._say(f"saved {path}")
