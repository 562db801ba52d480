"""The LED displays' end of the hall board's RS-485 line, for the demo and the benchmarks: a pty whose frames
are decoded as the displays would decode them."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from contextlib import suppress

from display_board.led_display import STX, QmsFrameCodec


class LedBus:
    """`port` is the board's end; `shown` what each address shows now, `first_shown` when (CLOCK_MONOTONIC, the
    same clock in every process) each text was first shown. The board's end stays open while the board reopens
    it."""

    def __init__(self) -> None:
        self._controller, self._device = pty.openpty()
        tty.setraw(self._controller)
        tty.setraw(self._device)
        self.port = os.ttyname(self._device)
        self.shown: dict[int, str] = {}
        self.first_shown: dict[str, float] = {}
        threading.Thread(target=self._read, name="led-bus", daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._controller, 4096)
            except OSError:
                return
            now = time.monotonic()
            buffer += chunk
            while (start := buffer.find(bytes([STX]))) >= 0 and len(buffer) >= start + 4:
                end = start + buffer[start + 3] + 6
                if len(buffer) < end:
                    break
                try:
                    address, content = QmsFrameCodec.decode(buffer[start:end])
                except Exception:  # not a frame from here: look for the next STX
                    buffer = buffer[start + 1:]
                    continue
                self.shown[address] = content.text
                self.first_shown.setdefault(content.text.strip(), now)
                buffer = buffer[end:]

    def close(self) -> None:
        for descriptor in (self._controller, self._device):
            with suppress(OSError):
                os.close(descriptor)
