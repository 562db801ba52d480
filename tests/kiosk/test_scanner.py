"""The QR scanner port (issue 18): a keyboard-wedge scanner typing into the real pygame window (SDL's dummy
driver), a serial scanner on a pty pair, junk and partial lines refused without stopping anything."""

from __future__ import annotations

import logging
import os
import pty
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest

from devkit.scanner_keys import FakeScanner
from kiosk.scanner import (
    MAX_SCAN,
    CodeScanner,
    KeyboardWedgeScanner,
    KeyPress,
    ScanLines,
    SerialScanner,
)
from kiosk.screen import PygameDisplay

CODE = "12345671"


def test_every_scanner_is_a_code_scanner() -> None:
    scanners: list[type[CodeScanner]] = [KeyboardWedgeScanner, SerialScanner, FakeScanner]
    assert all(callable(getattr(kind, "scans", None)) and callable(getattr(kind, "close", None)) for kind in scanners)
    fake = FakeScanner()
    fake.scan(CODE)
    fake.scan(" 1234 5671 ")
    assert fake.scans() == [CODE, " 1234 5671 "] and fake.scans() == []


# --- a scanner that types as a keyboard -------------------------------------------------------------------------


def burst(text: str, start: float, step_s: float, *, enter: bool = True) -> list[KeyPress]:
    keys = [KeyPress(char, False, start + i * step_s) for i, char in enumerate(text)]
    return keys + ([KeyPress("", True, start + len(text) * step_s)] if enter else [])


def fed(keys: list[KeyPress], **settings: float) -> list[str]:
    scanner = KeyboardWedgeScanner(lambda: keys, **settings)  # type: ignore[arg-type]
    return scanner.scans()


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    assert fed(burst(CODE, 100.0, 0.005)) == [CODE]
    assert fed(burst("1234 5671", 100.0, 0.0)) == ["1234 5671"], "whitespace kept: the flow reads the code"


def test_keys_typed_by_hand_are_not_a_scan() -> None:
    assert fed(burst(CODE, 100.0, 0.25)) == [], "4 keys a second: a person"
    assert fed(burst(CODE, 100.0, 0.12)) == [], "8 keys a second: a fast typist, still too slow"


def test_a_pause_starts_a_new_burst_and_a_burst_without_enter_is_nothing() -> None:
    typed_then_scanned = burst("99", 100.0, 0.2, enter=False) + burst(CODE, 101.0, 0.01)
    assert fed(typed_then_scanned) == [CODE], "what a hand typed before the scan is not part of it"
    assert fed(burst(CODE, 100.0, 0.01, enter=False)) == []
    assert fed([KeyPress("", True, 100.0)]) == [], "Enter alone"


def test_keys_that_type_nothing_do_not_break_a_burst() -> None:
    keys = burst("AB", 100.0, 0.01, enter=False)
    keys.insert(1, KeyPress("", False, 100.005))  # Shift
    assert fed([*keys, KeyPress("", True, 100.03)]) == ["AB"]


def test_a_burst_too_long_is_refused_and_the_next_scan_is_read(caplog: pytest.LogCaptureFixture) -> None:
    keys = burst("x" * (MAX_SCAN + 5), 100.0, 0.001) + burst(CODE, 100.2, 0.001)
    with caplog.at_level(logging.WARNING, logger="kiosk.scanner"):
        assert fed(keys) == [CODE]
    assert "was refused" in caplog.text
    assert fed(burst("x" * MAX_SCAN, 100.0, 0.001)) == ["x" * MAX_SCAN]


@pytest.fixture
def display() -> Iterator[PygameDisplay]:
    screen = PygameDisplay(800, 480, fullscreen=False)
    yield screen
    screen.close()


def type_into(text: str, *, enter: bool = True) -> None:
    """What a keyboard-wedge scanner does: key presses into the focused window (here SDL's dummy one)."""
    for char in text:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(char), unicode=char, mod=0, scancode=0))
    if enter:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r", mod=0, scancode=0))


def test_a_scanner_typing_into_the_kiosks_window_is_read(display: PygameDisplay) -> None:
    scanner = KeyboardWedgeScanner(display.key_presses)
    type_into("1234 5671")
    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=0.5, y=0.5, touch_id=0, finger_id=0, dx=0, dy=0,
                                         pressure=1.0))
    assert display.touches() == [], "no target on a blank screen; the keys are kept for the scanner"
    assert scanner.scans() == ["1234 5671"]
    assert scanner.scans() == [] and display.key_presses() == []


def test_a_person_typing_slowly_into_the_kiosks_window_is_ignored(display: PygameDisplay) -> None:
    scanner = KeyboardWedgeScanner(display.key_presses)
    for char in CODE:  # a key a frame or two apart, as a hand types
        type_into(char, enter=False)
        display.touches()
        assert scanner.scans() == []
        time.sleep(0.2)  # the typing speed is what this test is about
    type_into("", enter=True)
    display.touches()
    assert scanner.scans() == []


def test_the_windows_keys_are_bounded_when_no_scanner_reads_them(display: PygameDisplay) -> None:
    for _ in range(20):
        type_into("x" * 50)
        display.touches()
    assert len(display.key_presses()) <= 4 * MAX_SCAN


# --- a scanner that speaks serial ------------------------------------------------------------------------------


def test_lines_are_split_bounded_and_checked() -> None:
    lines = ScanLines(max_length=16, quiet_s=0.5)
    assert lines.feed(b"1234 5671\r\n", 1.0) == ["1234 5671"]
    assert lines.feed(b"1234", 1.1) + lines.feed(b"5671\r", 1.2) == [CODE], "a line in two reads"
    assert lines.feed(b"\n\n", 1.3) == [], "the LF of CRLF, an empty line"
    assert lines.feed(b"a\nb\rc\r\n", 1.4) == ["a", "b", "c"]
    assert lines.feed(b"x" * 40 + b"\r\n" + CODE.encode() + b"\n", 1.5) == [CODE], "too long refused, next read"
    assert lines.feed(b"12\xff\x0034\n" + CODE.encode() + b"\n", 1.6) == [CODE], "junk refused, next read"
    assert lines.feed("12345 Đ\n".encode(), 1.7) == [], "not ASCII"
    assert lines.feed(b"9999", 2.0) == [] and lines.feed(b"", 2.6) == [], "a partial line, then silence"
    assert lines.feed(CODE.encode() + b"\n", 2.7) == [CODE], "the partial line was dropped, not prefixed"
    assert lines.feed(b"9999", 3.0) + lines.feed(CODE.encode() + b"\n", 3.8) == [CODE], "silence noticed late"


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, int]]:
    """(path for the scanner adapter, fd for the test: what the scanner sends is written to it)."""
    controller, device = pty.openpty()
    tty.setraw(controller)
    tty.setraw(device)
    yield os.ttyname(device), controller
    os.close(controller)
    os.close(device)


def read_scans(scanner: SerialScanner, count: int, timeout_s: float = 5.0) -> list[str]:
    found: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < count and time.monotonic() < deadline:
        found += scanner.scans()
        time.sleep(0.02)  # the scanner's thread reads the pty
    return found


def test_a_serial_scanner_reads_one_scan_a_line_and_refuses_junk(pty_pair: tuple[str, int],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path, fd = pty_pair
    scanner = SerialScanner(path, 9600, quiet_s=0.3)
    try:
        assert scanner.opened.wait(5)
        with caplog.at_level(logging.WARNING, logger="kiosk.scanner"):
            os.write(fd, b"1234 5671\r\n")
            assert read_scans(scanner, 1) == ["1234 5671"]
            os.write(fd, b"\x00\xfe\xff garbage \x07\r\n" + b"9" * 500 + b"\r\n")
            os.write(fd, b"8765")  # a scan cut short (the cable pulled mid-scan)
            time.sleep(0.6)  # the silence after it is what makes it partial
            os.write(fd, CODE.encode() + b"\r\n")
            assert read_scans(scanner, 1) == [CODE]
        assert caplog.text.count("was refused") == 3, caplog.text
    finally:
        scanner.close()


def test_a_serial_scanner_plugged_in_later_is_read(tmp_path: Path, pty_pair: tuple[str, int],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    device, fd = pty_pair
    link = tmp_path / "ttyACM-scanner"  # as /dev/serial/by-id/... names it once it is plugged in
    with caplog.at_level(logging.INFO, logger="kiosk.scanner"):
        scanner = SerialScanner(str(link), 9600, retry_s=0.1)
        try:
            deadline = time.monotonic() + 5
            while "cannot be opened" not in caplog.text:
                assert time.monotonic() < deadline
                time.sleep(0.02)  # the adapter's first try
            assert scanner.scans() == []
            link.symlink_to(device)
            assert scanner.opened.wait(5)
            os.write(fd, CODE.encode() + b"\n")
            assert read_scans(scanner, 1) == [CODE]
        finally:
            scanner.close()
    assert caplog.text.count("cannot be opened") == 1, "said once, not at every try"
    assert "is back" in caplog.text
