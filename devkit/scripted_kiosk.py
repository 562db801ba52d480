"""The kiosk's real pygame screen, touched by lines on standard input: the fake at the hardware edge
for `make demo` and tests that need the real kiosk agent in its own process.

A line `touch area:dat-dai` (any target id of the screen: `priority`, `priority:elderly`, `back`)
becomes a finger on the centre of that button, posted into pygame's event queue as the touch
screen's driver would; everything after (hit-testing, the flow) is the production path. A target
not on screen yet (the kiosk still shows the previous citizen's ticket) waits until it is, up to
`patience_s`. A line `scan 1234 5674` is a QR scanner that types as a keyboard (kiosk.scanner, `[scanner]
kind = "keyboard"`): its text and Enter become key presses in the window, in one burst, at the next frame (a
booking is checked in with `touch booking`, then `touch key:1` ... `touch key:confirm`, or with `scan CODE`).
Output lines: `screen <name>` whenever what is shown changes (`menu`, `priority`, `keypad`, `ticket`, ...), and
`missed <target>` for a touch that found no such button in time. With `screenshots`, the first sight of each
screen is saved there as a PNG.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import pygame

from kiosk.model import KioskView
from kiosk.screen import PygameDisplay


class ScriptedDisplay(PygameDisplay):
    def __init__(self, width: int, height: int, *, screenshots: Path | None, patience_s: float = 30.0,
                 source: TextIO = sys.stdin, sink: TextIO = sys.stdout) -> None:
        super().__init__(width, height, fullscreen=False)
        self._screenshots, self._patience_s = screenshots, patience_s
        self._source, self._sink = source, sink
        self._lock = threading.Lock()
        self._pending: list[tuple[str, float]] = []  # target, give up at (monotonic)
        self._scans: list[str] = []  # texts a keyboard scanner is to type
        self._shown = ""
        self._saved: set[str] = set()
        threading.Thread(target=self._read, name="scripted-touches", daemon=True).start()

    def _read(self) -> None:
        for line in self._source:
            match line.split():
                case ["touch", target]:
                    with self._lock:
                        self._pending.append((target, time.monotonic() + self._patience_s))
                case ["scan", *words] if words:
                    with self._lock:
                        self._scans.append(line.strip()[len("scan"):].strip())
                case _:
                    self._say(f"unknown {line.strip()[:60]}")

    def _say(self, line: str) -> None:
        self._sink.write(line + "\n")
        self._sink.flush()

    def show(self, view: KioskView) -> None:
        super().show(view)
        kind = f"{view.screen}{'-priority' if view.chosen_priority else ''}"
        if kind != self._shown:
            self._shown = kind
            self._say(f"screen {kind}")
        if self._screenshots is not None and kind not in self._saved:
            self._saved.add(kind)
            self.save(self._screenshots / f"kiosk-{len(self._saved):02d}-{kind}.png")

    def touches(self) -> list[str]:
        """One waiting touch at a time, and only on a button the screen shows now; a scan types at once."""
        with self._lock:
            for text in self._scans:
                for char in text:
                    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(char), unicode=char, mod=0,
                                                         scancode=0))
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r", mod=0,
                                                     scancode=0))
            self._scans.clear()
            if self._pending:
                target, give_up_at = self._pending[0]
                centre = self.target_centre(target)
                if centre is not None:
                    self._pending.pop(0)
                    width, height = self.size
                    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=centre[0] / width,
                                                         y=centre[1] / height, touch_id=0, finger_id=0, dx=0, dy=0,
                                                         pressure=1.0))
                elif time.monotonic() > give_up_at:
                    self._pending.pop(0)
                    self._say(f"missed {target}")
        return super().touches()
