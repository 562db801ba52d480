"""The dossier scanner port (issue 19): a barcode scanner on the counter reads a dossier's code (mã hồ sơ), which
the terminal attaches to the citizen's ticket.

Scanners type what they read as a keyboard does (HID keyboard wedge, most of them out of the box). On the Pi the
scanner is a Linux input device (/dev/input/by-id/usb-...-event-kbd), read here as `usb_keypad` reads the keypad:
native input events (24 bytes on 64-bit Linux, 16 on a 32-bit userland), no library. The terminal takes the device
for itself (EVIOCGRAB), so what it types does not also go to the console's login prompt. Keys are read as a US
keyboard types them: digits, letters (upper case with Shift), `.`, `-`, `_`, `/` and space; Enter (or keypad Enter)
ends a scan. A scan of over 64 characters, one with a key that types none of those, and a partial scan followed by
silence (a scanner pulled out mid-scan) are refused with a WARNING, and so is one the kernel dropped events of
(SYN_DROPPED: its reader fell behind; a code missing characters could be another dossier's). A device missing or
pulled out is opened again every few seconds. Nothing a scanner sends stops the terminal.

The shape of the port is the kiosk's QR scanner's (`kiosk/scanner.py`, `CodeScanner`): the main loop polls
`scans()` each frame. The scans are handed on as read: whether a text is a dossier code is the server's to say.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import queue
import select
import threading
import time
from pathlib import Path
from typing import Protocol

from protocol.messages import MAX_DOSSIER
from rating_terminal.usb_keypad import EV_KEY, EVENT, KEY_CODES, PRESSED, RELEASED, RETRY_S

log = logging.getLogger(__name__)

MAX_SCAN = MAX_DOSSIER  # characters of one scan: the most a dossier command carries (a dossier code has 25)
QUIET_S = 0.5  # a partial scan followed by this much silence is dropped; a scanner types a key every 1-20 ms
POLL_S = 0.1  # how often the reading thread looks at the clock (the silence) and at `close()`
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int): this reader alone receives the device's events

# US layout, by the key codes of <linux/input-event-codes.h>: (without Shift, with Shift); None: not in a code.
_ROWS = ((2, "1234567890"), (16, "qwertyuiop"), (30, "asdfghjkl"), (44, "zxcvbnm"))
CHARACTERS: dict[int, tuple[str, str | None]] = {
    **{first + n: (c, c.upper() if c.isalpha() else None) for first, row in _ROWS for n, c in enumerate(row)},
    12: ("-", "_"),  # KEY_MINUS
    52: (".", None),  # KEY_DOT
    53: ("/", None),  # KEY_SLASH
    57: (" ", " "),  # KEY_SPACE
    **{KEY_CODES[f"KP{n}"]: (str(n), None) for n in range(10)},  # scanners set to type on the numeric keypad
    KEY_CODES["KPDOT"]: (".", None),
    KEY_CODES["KPMINUS"]: ("-", None),
    KEY_CODES["KPSLASH"]: ("/", None),
}
SHIFTS = frozenset({42, 54})  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
EV_SYN, SYN_DROPPED = 0, 3
ENTERS = frozenset({28, KEY_CODES["KPENTER"]})  # KEY_ENTER, KEY_KPENTER


class CodeScanner(Protocol):
    """A barcode scanner: what was scanned since the last call, one text per scan; never blocks."""

    def scans(self) -> list[str]: ...

    def close(self) -> None: ...


class ScanKeys:
    """Key events -> scans: characters up to Enter, bounded, mapped keys only. Pure: the times are given."""

    def __init__(self, source: str, *, quiet_s: float = QUIET_S) -> None:
        self._source, self._quiet_s = source, quiet_s
        self._text: list[str] = []
        self._shifts: set[int] = set()
        self._too_long = False
        self._unmapped: str | None = None  # the first key of this scan that types nothing a code may hold
        self._dropped = False  # the kernel dropped events of this scan
        self._last = 0.0  # when the last key of this scan came

    def feed(self, kind: int, code: int, value: int, now: float) -> str | None:
        """One input event (read at `now`); the text of a scan when it ends one."""
        self.idle(now)
        if kind == EV_SYN and code == SYN_DROPPED:
            self._dropped, self._last = True, now  # which keys went is unknown, and whether Shift is still held
            self._shifts.clear()
            return None
        if kind != EV_KEY:
            return None  # the EV_SYN and EV_MSC events around each key
        if code in SHIFTS:
            if value == PRESSED:
                self._shifts.add(code)
            elif value == RELEASED:
                self._shifts.discard(code)
            return None
        if value != PRESSED:
            return None  # releases, and the repeats of a held key
        if code in ENTERS:
            return self._end()
        self._last = now
        plain, shifted = CHARACTERS.get(code, (None, None))
        character = shifted if self._shifts else plain
        if character is None:
            if self._unmapped is None:
                self._unmapped = f"{code} with Shift" if self._shifts else str(code)
        elif len(self._text) >= MAX_SCAN:
            self._too_long = True
        else:
            self._text.append(character)
        return None

    def idle(self, now: float) -> None:
        """Drop a partial scan that `now` has been silent too long."""
        if self._started() and now - self._last > self._quiet_s:
            log.warning("scanner %s: a partial scan of %d characters and then silence was refused", self._source,
                        len(self._text))
            self._reset()

    def _started(self) -> bool:
        return bool(self._text) or self._too_long or self._unmapped is not None or self._dropped

    def _end(self) -> str | None:
        text, too_long, unmapped, dropped = "".join(self._text), self._too_long, self._unmapped, self._dropped
        self._reset()
        if dropped:
            log.warning("scanner %s: the system dropped key events of a scan (its reader fell behind); refused",
                        self._source)
        elif too_long:
            log.warning("scanner %s: a scan of over %d characters was refused", self._source, MAX_SCAN)
        elif unmapped is not None:
            log.warning("scanner %s: a scan with key %s, which types nothing a dossier code holds, was refused",
                        self._source, unmapped)
        elif text:
            return text
        return None  # an Enter alone

    def _reset(self) -> None:
        self._text.clear()
        self._too_long, self._unmapped, self._dropped = False, None, False


class EvdevScanner:
    """CodeScanner for scanners that type as a keyboard, read from their Linux input device on a thread of its
    own."""

    def __init__(self, device: Path, *, retry_s: float = RETRY_S, quiet_s: float = QUIET_S) -> None:
        self._device, self._retry_s, self._quiet_s = device, retry_s, quiet_s
        self._scans: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dossier-scanner", daemon=True)
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
        self._thread.join(timeout=POLL_S + 1)

    def _run(self) -> None:
        down = False
        while not self._stop.is_set():
            try:
                fd = os.open(self._device, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO opens without a writer
            except OSError as exc:
                if not down:
                    log.error("scanner %s cannot be opened: %s; trying again every %.0f s", self._device, exc,
                              self._retry_s)
                    down = True
                self._stop.wait(self._retry_s)
                continue
            if down:
                log.info("scanner %s is back", self._device)
                down = False
            try:
                self._grab(fd)
                self._read(fd)
            except OSError as exc:
                log.error("scanner %s is gone: %s; reading again when it is back", self._device, exc)
                down = True
                self._stop.wait(self._retry_s)
            finally:
                os.close(fd)

    def _grab(self, fd: int) -> None:
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
        except OSError as exc:  # ENOTTY: not an input device (a test's FIFO); EBUSY: another reader has it
            if exc.errno != errno.ENOTTY:
                log.warning("scanner %s could not be taken for the terminal alone: %s; what it types also goes to "
                            "the console", self._device, exc)

    def _read(self, fd: int) -> None:
        keys = ScanKeys(str(self._device), quiet_s=self._quiet_s)
        pending = b""
        while not self._stop.is_set():
            readable, _, _ = select.select([fd], [], [], POLL_S)
            now = time.monotonic()
            if readable:
                data = os.read(fd, 64 * EVENT.size)
                if not data:
                    raise OSError("the device went away")
                pending += data
                whole = len(pending) - len(pending) % EVENT.size
                for offset in range(0, whole, EVENT.size):
                    _, _, kind, code, value = EVENT.unpack_from(pending, offset)
                    text = keys.feed(kind, code, value, now)
                    if text is not None:
                        log.info("scanner %s read %d characters", self._device, len(text))
                        self._scans.put(text)
                pending = pending[whole:]
            keys.idle(now)
