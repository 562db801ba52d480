"""Scanners for the tests and `make demo`: what a keyboard-wedge barcode scanner writes to its Linux input device,
as bytes, and a FIFO standing in for /dev/input/by-id/...-event-kbd (the counter terminals read their scanner from
it); and the fake of the scanner port the kiosk and the counter terminal share in shape (`scans()`, `close()`)."""

from __future__ import annotations

import errno
import os
import queue
import time
from pathlib import Path

from rating_terminal.usb_keypad import EV_KEY, EVENT, PRESSED, RELEASED

EV_SYN, EV_MSC = 0, 4
LEFTSHIFT, ENTER, KPENTER, TAB = 42, 28, 96, 15
US = {**{c: (2 + n, False) for n, c in enumerate("1234567890")},
      **{c: (16 + n, False) for n, c in enumerate("qwertyuiop")},
      **{c: (30 + n, False) for n, c in enumerate("asdfghjkl")},
      **{c: (44 + n, False) for n, c in enumerate("zxcvbnm")},
      "-": (12, False), ".": (52, False), "/": (53, False), " ": (57, False), "_": (12, True), "!": (2, True)}
US.update({c.upper(): (code, True) for c, (code, _) in list(US.items()) if c.isalpha()})


def event(kind: int, code: int, value: int) -> bytes:
    return EVENT.pack(100, 0, kind, code, value)


def key(code: int, shift: bool = False) -> bytes:
    """One key typed as a USB keyboard reports it: each press and release with its scan code and a SYN."""

    def edge(code: int, value: int) -> bytes:
        return event(EV_MSC, 4, 0x70000 + code) + event(EV_KEY, code, value) + event(EV_SYN, 0, 0)

    typed = edge(code, PRESSED) + edge(code, RELEASED)
    return edge(LEFTSHIFT, PRESSED) + typed + edge(LEFTSHIFT, RELEASED) if shift else typed


def typed(text: str, end: int | None = ENTER) -> bytes:
    """`text` typed on a US layout (Shift for capitals and `_`), then `end` (None: no end, a partial scan)."""
    keys = b"".join(key(*US[c]) for c in text)
    return keys if end is None else keys + key(end)


class FifoScanner:
    """The writing end of a scanner's device: what a USB barcode scanner would type. Opened once the terminal has
    opened its end (it does at start), never blocking on a terminal that did not: OSError after `timeout_s`."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                return
            except OSError as exc:
                if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def scan(self, text: str) -> None:
        os.write(self._fd, typed(text))

    def close(self) -> None:
        os.close(self._fd)


class FakeScanner:
    """The scanner port in memory: `scan(text)` is a citizen holding a QR to the kiosk's scanner, or an official
    scanning a dossier at the counter terminal."""

    def __init__(self) -> None:
        self._scans: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.closed = False

    def scan(self, text: str) -> None:
        self._scans.put(text)

    def scans(self) -> list[str]:
        taken = []
        while not self._scans.empty():
            taken.append(self._scans.get_nowait())
        return taken

    def close(self) -> None:
        self.closed = True
