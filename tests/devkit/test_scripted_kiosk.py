"""The scripted screen of `make demo`: a line on stdin becomes a finger on that button of the real
pygame screen, and the screen says what it shows."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from devkit.scripted_kiosk import ScriptedDisplay
from kiosk.model import KioskView, Screen
from kiosk.scanner import KeyboardWedgeScanner
from tests.kiosk.test_view import AREAS, CENTER, MENU, NOW, PRIORITIES

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


class Lines:
    """A real pipe as the display's stdin: the test writes lines, the display's reader waits on them."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.source: TextIO = os.fdopen(read_end, "r", encoding="utf-8")
        self._writer = os.fdopen(write_end, "w", encoding="utf-8")

    def feed(self, line: str) -> None:
        self._writer.write(line + "\n")
        self._writer.flush()


def touched(display: ScriptedDisplay, timeout_s: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = display.touches()
        if found:
            return found
        time.sleep(0.01)
    return []


def said_at_last(sink: io.StringIO, line: str, poll: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + 5
    while line not in sink.getvalue().splitlines():
        assert time.monotonic() < deadline, f"the display never said {line!r}"
        assert poll() in (None, [])
        time.sleep(0.01)


def test_a_touch_line_presses_that_button_once_it_is_on_screen(tmp_path: Path) -> None:
    source, sink = Lines(), io.StringIO()
    display = ScriptedDisplay(800, 480, screenshots=tmp_path, source=source.source, sink=sink)
    try:
        source.feed("touch priority:elderly")  # not on the menu: it waits
        source.feed("touch area:dat-dai")
        source.feed("read")  # said back as unknown once every line before it was read
        display.show(MENU)
        said_at_last(sink, "unknown read")
        assert display.touches() == []  # the first waiting touch is not on this screen
        display.show(KioskView(Screen.PRIORITY, CENTER, NOW, AREAS, PRIORITIES))
        assert touched(display) == ["priority:elderly"]
        display.show(MENU)
        assert touched(display) == ["area:dat-dai"]
        assert display.touches() == []
    finally:
        display.close()
    screens = [line for line in sink.getvalue().splitlines() if line.startswith("screen")]
    assert screens == ["screen menu", "screen priority", "screen menu"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["kiosk-01-menu.png", "kiosk-02-priority.png"]


def test_a_touch_that_never_finds_its_button_is_reported_missed() -> None:
    source, sink = Lines(), io.StringIO()
    display = ScriptedDisplay(800, 480, screenshots=None, patience_s=0.1, source=source.source, sink=sink)
    try:
        source.feed("touch area:nowhere")
        source.feed("hello")
        display.show(MENU)
        said_at_last(sink, "missed area:nowhere", poll=display.touches)  # its patience runs out in 0.1 s
    finally:
        display.close()
    said = sink.getvalue().splitlines()
    assert sorted(said[:2]) == ["screen menu", "unknown hello"] and said[2:] == ["missed area:nowhere"]


def test_a_scan_line_types_the_code_into_the_window_as_a_keyboard_scanner_does() -> None:
    source, sink = Lines(), io.StringIO()
    display = ScriptedDisplay(800, 480, screenshots=None, source=source.source, sink=sink)
    scanner = KeyboardWedgeScanner(display.key_presses)
    try:
        source.feed("scan 1234 5671")
        source.feed("read")
        display.show(KioskView(Screen.KEYPAD, CENTER, NOW, AREAS, PRIORITIES, bookings=True))
        said_at_last(sink, "unknown read")
        assert display.touches() == []
        assert scanner.scans() == ["1234 5671"]
    finally:
        display.close()
    assert "screen keypad" in sink.getvalue().splitlines()
