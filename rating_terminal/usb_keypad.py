"""A USB numeric keypad as the official's keys, read from Linux input events (/dev/input/event*).

No library: an input event is 24 bytes (a timeval, then type, code and value). Keys mapped to
Skip and Transfer act on release with how long they were held, as the GPIO keys do. A keypad
pulled out is opened again when it comes back.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from rating_terminal.model import Key, KeyPressed

log = logging.getLogger(__name__)

EVENT = struct.Struct("llHHi")  # struct input_event, native: tv_sec, tv_usec (24 bytes on 64-bit, 16 on 32-bit)
EV_KEY = 1
RELEASED, PRESSED, REPEATED = 0, 1, 2
KEY_CODES = {  # the keypad's keys by their names in <linux/input-event-codes.h>, without KEY_
    "KPENTER": 96, "KPPLUS": 78, "KPMINUS": 74, "KPDOT": 83, "KPASTERISK": 55, "KPSLASH": 98,
    "KP0": 82, "KP1": 79, "KP2": 80, "KP3": 81, "KP4": 75, "KP5": 76, "KP6": 77, "KP7": 71, "KP8": 72,
    "KP9": 73, "NUMLOCK": 69, "BACKSPACE": 14,
}
DEFAULT_KEYS = {Key.NEXT: "KPENTER", Key.RECALL: "KPPLUS", Key.SKIP: "KPMINUS", Key.FINISH: "KPDOT",
                Key.TRANSFER: "KPASTERISK", Key.PAUSE: "KPSLASH"}
LONG_PRESS_KEYS = frozenset({Key.SKIP, Key.TRANSFER})
RETRY_S = 2.0


class UsbKeypad:
    def __init__(self, device: Path, keys: dict[Key, str], on_event: Callable[[KeyPressed], None], *,
                 long_press_s: float = 1.0) -> None:
        self._device = device
        self._keys = {KEY_CODES[name]: key for key, name in keys.items()}
        self._on_event, self._long_press_s = on_event, long_press_s
        self._down: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usb-keypad", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lost = False
        while not self._stop.is_set():
            try:
                with self._device.open("rb", buffering=0) as source:
                    if lost:
                        log.info("USB keypad %s is back", self._device)
                    lost = False
                    self._read(source)
            except OSError as exc:
                if not lost:
                    log.error("USB keypad %s unavailable: %s", self._device, exc)
                lost = True
            self._stop.wait(RETRY_S)

    def _read(self, source: object) -> None:
        read = source.read  # type: ignore[attr-defined]
        while not self._stop.is_set():
            data = read(EVENT.size)
            if not data:
                raise OSError("the keypad went away")
            if len(data) == EVENT.size:
                seconds, micros, kind, code, value = EVENT.unpack(data)
                self.handle(seconds + micros / 1e6, kind, code, value)

    def handle(self, at: float, kind: int, code: int, value: int) -> None:
        """One input event; `at` is the kernel's time of it, which times a held key exactly."""
        key = self._keys.get(code)
        if kind != EV_KEY or key is None or value == REPEATED:
            return
        now = at
        if key not in LONG_PRESS_KEYS:
            if value == PRESSED:
                self._on_event(KeyPressed(key))
        elif value == PRESSED:
            self._down[code] = now
        elif code in self._down:
            held = now - self._down.pop(code)
            self._on_event(KeyPressed(key, long=held >= self._long_press_s))

    def close(self) -> None:
        self._stop.set()
