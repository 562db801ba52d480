"""The QR scanner port (issue 18): a booking's QR holds its 8-digit code, read at the kiosk to check in.

Two kinds of USB scanners are common, and each has its adapter here:

- `KeyboardWedgeScanner`: scanners that type what they read as a keyboard does (HID keyboard wedge, most of them
  out of the box). On the kiosk they type into the pygame window, so the display hands on its key presses
  (`PygameDisplay.key_presses`). A scan is a burst of keys ended by Enter (or Tab), far faster than any hand types;
  keys typed by a person on a real keyboard come too slowly and never make a scan.
- `SerialScanner`: scanners that speak serial (USB CDC-ACM, /dev/ttyACM0, or RS-232): one line per scan, read by
  pyserial on a thread of its own. A line too long, with bytes that are not printable ASCII, or cut short (a
  partial line followed by silence) is refused with a WARNING; a port that cannot be opened or goes away is opened
  again every few seconds. Nothing a scanner sends stops the kiosk.

Both hand on the text of a scan as read (whitespace and all): whether it is a booking's code is the flow's to say.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial

log = logging.getLogger(__name__)

MAX_SCAN = 64  # characters of one scan: a code is 8 digits; a longer QR (a web address) is still said to be no code
RETRY_S = 2.0  # a serial scanner that cannot be opened is tried again this often
QUIET_S = 0.5  # a partial serial line followed by this much silence is dropped (a scanner unplugged mid-scan)
# A keyboard scan: its keys from the first to Enter within BURST_S + KEY_S for each key, no gap over GAP_S. A
# scanner types a key every 1-20 ms; the kiosk reads its window every frame (about 50 ms, more while it draws), so
# the times are those of the frames. A hand types 3-8 keys a second: 9 keys take it over a second.
BURST_S = 0.3
KEY_S = 0.04
GAP_S = 0.3


class CodeScanner(Protocol):
    """A QR scanner: what was scanned since the last call, one text per scan; never blocks."""

    def scans(self) -> list[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class KeyPress:
    """One key pressed in the kiosk's window."""

    text: str  # the character it types ("" for a key that types none: Shift, an arrow)
    enter: bool  # Enter, keypad Enter or Tab: the end of a scan
    at: float  # when the kiosk read it (monotonic seconds)


class KeyboardWedgeScanner:
    """CodeScanner for scanners that type as a keyboard, from the key presses of the kiosk's pygame window."""

    def __init__(self, keys: Callable[[], list[KeyPress]], *, burst_s: float = BURST_S, key_s: float = KEY_S,
                 gap_s: float = GAP_S, max_length: int = MAX_SCAN) -> None:
        self._keys = keys
        self._burst_s, self._key_s, self._gap_s, self._max_length = burst_s, key_s, gap_s, max_length
        self._burst: list[KeyPress] = []
        self._too_long = False

    def scans(self) -> list[str]:
        return [text for key in self._keys() if (text := self.feed(key)) is not None]

    def feed(self, key: KeyPress) -> str | None:
        """One key; the text of a scan when it ends one."""
        if self._burst and key.at - self._burst[-1].at > self._gap_s:
            self._drop("a pause")  # typed by hand, or what came before was not a scan
        if key.enter:
            burst, too_long = self._burst, self._too_long
            self._burst, self._too_long = [], False
            if too_long:
                log.warning("a keyboard scan of over %d characters was refused", self._max_length)
                return None
            if not burst:
                return None
            if key.at - burst[0].at > self._burst_s + self._key_s * (len(burst) + 1):
                log.info("%d keys and Enter typed too slowly for a scanner: not a scan", len(burst))
                return None
            return "".join(k.text for k in burst)
        if not key.text:
            return None  # Shift before a capital letter, and the like: part of a burst, typing nothing
        if self._too_long or len(self._burst) >= self._max_length:
            self._too_long = True  # refused at its Enter; the last key is kept for its time (the gap rule)
            self._burst[-1] = key
        else:
            self._burst.append(key)
        return None

    def _drop(self, why: str) -> None:
        if len(self._burst) > 1:
            log.debug("%d keys dropped after %s", len(self._burst), why)
        self._burst, self._too_long = [], False

    def close(self) -> None:
        """Nothing of its own to close: the window is the display's."""


class ScanLines:
    """Serial bytes -> scans: lines ended by CR, LF or CRLF, bounded, printable ASCII only. Pure: the times are
    given."""

    def __init__(self, *, max_length: int = MAX_SCAN, quiet_s: float = QUIET_S, source: str = "serial") -> None:
        self._max_length, self._quiet_s, self._source = max_length, quiet_s, source
        self._line = bytearray()
        self._too_long = False
        self._last = 0.0  # when the last byte came

    def feed(self, data: bytes, now: float) -> list[str]:
        """What `data` (read at `now`; b"" when a read timed out) completes."""
        if (self._line or self._too_long) and now - self._last > self._quiet_s:
            self._refuse(f"a partial line of {len(self._line)} bytes and then silence")
        if data:
            self._last = now
        lines = []
        for byte in data:
            if byte in b"\r\n":
                line = self._end()
                if line is not None:
                    lines.append(line)
            elif len(self._line) >= self._max_length:
                self._too_long = True
            else:
                self._line.append(byte)
        return lines

    def _end(self) -> str | None:
        line, too_long = bytes(self._line), self._too_long
        self._line.clear()
        self._too_long = False
        if too_long:
            log.warning("%s scanner: a line of over %d bytes was refused", self._source, self._max_length)
            return None
        if not line:
            return None  # the LF of a CRLF, or an empty line
        if not all(0x20 <= byte <= 0x7E for byte in line):
            log.warning("%s scanner: a line with bytes that are not printable ASCII was refused: %s", self._source,
                        line[:MAX_SCAN].hex(" "))
            return None
        return line.decode("ascii")

    def _refuse(self, why: str) -> None:
        log.warning("%s scanner: %s was refused", self._source, why)
        self._line.clear()
        self._too_long = False


class SerialScanner:
    """CodeScanner for scanners that speak serial (pyserial), read on a thread of its own."""

    def __init__(self, port: str, baudrate: int = 9600, *, retry_s: float = RETRY_S, quiet_s: float = QUIET_S,
                 read_timeout_s: float = 0.1) -> None:
        self._port, self._baudrate = port, baudrate
        self._retry_s, self._quiet_s, self._read_timeout_s = retry_s, quiet_s, read_timeout_s
        self._scans: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.opened = threading.Event()  # set while the port is open (tests wait on it)
        self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)
        self._thread.start()

    def scans(self) -> list[str]:
        taken = []
        while True:
            try:
                taken.append(self._scans.get_nowait())
            except queue.Empty:
                return taken

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * self._read_timeout_s + 1)

    def _run(self) -> None:
        down = False
        while not self._stop.is_set():
            try:
                port = serial.Serial(self._port, self._baudrate, timeout=self._read_timeout_s, exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                if not down:
                    log.error("QR scanner %s cannot be opened: %s; trying again every %.0f s", self._port, exc,
                              self._retry_s)
                    down = True
                self._stop.wait(self._retry_s)
                continue
            if down:
                log.info("QR scanner %s is back", self._port)
                down = False
            self.opened.set()
            try:
                self._read(port)
            except (serial.SerialException, OSError) as exc:
                log.error("QR scanner %s is gone: %s; reading again when it is back", self._port, exc)
                down = True
                self._stop.wait(self._retry_s)
            finally:
                self.opened.clear()
                try:
                    port.close()
                except (serial.SerialException, OSError) as exc:
                    log.debug("closing %s: %s", self._port, exc)

    def _read(self, port: serial.Serial) -> None:
        lines = ScanLines(quiet_s=self._quiet_s, source=f"QR {self._port}")
        while not self._stop.is_set():
            data = port.read(256)  # what came within the read timeout
            for line in lines.feed(data, time.monotonic()):
                log.info("QR scanner %s read %d characters", self._port, len(line))
                self._scans.put(line)
