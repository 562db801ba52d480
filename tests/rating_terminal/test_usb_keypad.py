"""A USB numeric keypad read from Linux input events: here a FIFO stands in for /dev/input/event*."""

from __future__ import annotations

import contextlib
import os
import queue
import time
from pathlib import Path

import pytest

from rating_terminal.model import Key, KeyPressed
from rating_terminal.usb_keypad import DEFAULT_KEYS, EV_KEY, EVENT, KEY_CODES, PRESSED, RELEASED, REPEATED, UsbKeypad


def event(code: str | int, value: int, kind: int = EV_KEY, at: float = 100.0) -> bytes:
    """An input event as the kernel writes it, at time `at` (seconds)."""
    seconds, micros = int(at), round((at - int(at)) * 1e6)
    return EVENT.pack(seconds, micros, kind, KEY_CODES[code] if isinstance(code, str) else code, value)


def test_keys_become_commands_and_a_pulled_keypad_comes_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fifo = tmp_path / "event-kbd"
    os.mkfifo(fifo)
    pressed: queue.Queue[KeyPressed] = queue.Queue()
    keypad = UsbKeypad(fifo, DEFAULT_KEYS, pressed.put)
    try:
        with fifo.open("wb", buffering=0) as device:
            device.write(event("KPENTER", PRESSED) + event("KPENTER", REPEATED) + event("KPENTER", RELEASED))
            assert pressed.get(timeout=5) == KeyPressed(Key.NEXT)
            device.write(event("KP5", PRESSED) + event("KPENTER", PRESSED, kind=4))  # unmapped / not a key
            device.write(event("KPMINUS", PRESSED, at=101.0) + event("KPMINUS", RELEASED, at=101.3))
            assert pressed.get(timeout=5) == KeyPressed(Key.SKIP, long=False)
            device.write(event("KPMINUS", PRESSED, at=102.0) + event("KPMINUS", RELEASED, at=103.2))
            assert pressed.get(timeout=5) == KeyPressed(Key.SKIP, long=True)
        # the keypad was pulled out (the writer closed): plugged in again once the terminal has seen it go (a
        # writer opening while the old reader is still open would write into a pipe about to lose its reader)
        deadline = time.monotonic() + 10
        while not any("unavailable" in record.getMessage() for record in caplog.records):
            assert time.monotonic() < deadline, "the terminal never saw the keypad go"
            time.sleep(0.01)  # the keypad's thread logs it
        with fifo.open("wb", buffering=0) as device:
            device.write(event("KPSLASH", PRESSED))
            assert pressed.get(timeout=10) == KeyPressed(Key.PAUSE)
        assert pressed.empty()
    finally:
        keypad.close()
        with contextlib.suppress(OSError):  # wake a reader still waiting for the keypad (if any)
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
