"""The scripted hall board of benchmarks/one_pi_bench.py: the real pygame screen says, once, when it first drew each
number, and saves a frame when asked on stdin."""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace
from pathlib import Path

from devkit.scripted_board import ScriptedBoardScreen
from display_board.model import CallLine
from tests.devkit.test_scripted_kiosk import Lines, said_at_last
from tests.display_board.test_view import NOW, VIEW

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def drawn_lines(sink: io.StringIO) -> list[tuple[str, float]]:
    return [(words[1], float(words[2])) for words in (line.split() for line in sink.getvalue().splitlines())
            if words[0] == "drawn"]


def test_each_number_is_said_once_with_the_time_just_after_its_frame(tmp_path: Path) -> None:
    source, sink = Lines(), io.StringIO()
    screen = ScriptedBoardScreen(1366, 768, fullscreen=False, source=source.source, sink=sink)
    try:
        before = time.monotonic()
        screen.show(VIEW)
        after = time.monotonic()
        first = drawn_lines(sink)
        shown = [VIEW.newest.number] + [call.number for call in VIEW.recent] if VIEW.newest else []
        assert [number for number, _ in first] == shown
        assert all(before <= at <= after for _, at in first)
        newest = CallLine("B017", "Quầy 2", "Tư pháp – Hộ tịch", NOW)
        screen.show(replace(VIEW, newest=newest, recent=(VIEW.newest, *VIEW.recent[:-1]) if VIEW.newest else ()))
        screen.show(replace(VIEW, newest=newest, highlight=True))  # a blink: nothing new
        assert [number for number, _ in drawn_lines(sink)] == [*shown, "B017"]
    finally:
        screen.close()


def test_a_save_line_saves_the_next_frame(tmp_path: Path) -> None:
    source, sink = Lines(), io.StringIO()
    screen = ScriptedBoardScreen(1366, 768, fullscreen=False, source=source.source, sink=sink)
    try:
        frame = tmp_path / "board.png"
        source.feed(f"save {frame}")
        source.feed("read")  # said back as unknown once every line before it was read
        said_at_last(sink, "unknown read")
        screen.show(VIEW)
        said_at_last(sink, f"saved {frame}")
        assert frame.stat().st_size > 10_000
    finally:
        screen.close()
