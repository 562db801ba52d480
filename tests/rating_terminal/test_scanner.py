"""The dossier scanner: a keyboard-wedge barcode scanner read from Linux input events; here a FIFO stands in for
/dev/input/by-id/...-event-kbd."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.scanner_keys import KPENTER, LEFTSHIFT, TAB, US, event, key, typed
from rating_terminal.scanner import EV_SYN, MAX_SCAN, SYN_DROPPED, EvdevScanner, ScanKeys
from rating_terminal.usb_keypad import EV_KEY, EVENT, PRESSED, REPEATED

CODE = "000.00.04.H12-261202-0001"
TIMEOUT_S = 10.0


def feed(keys: ScanKeys, data: bytes, now: float = 0.0) -> list[str]:
    scans = []
    for offset in range(0, len(data), EVENT.size):
        _, _, kind, code, value = EVENT.unpack_from(data, offset)
        if (text := keys.feed(kind, code, value, now)) is not None:
            scans.append(text)
    return scans


def test_keys_make_the_text_a_us_keyboard_types_and_enter_ends_it() -> None:
    keys = ScanKeys("test")
    assert feed(keys, typed(CODE)) == [CODE]
    assert feed(keys, typed("Ab_c-d/e .9", end=KPENTER)) == ["Ab_c-d/e .9"]
    assert feed(keys, b"".join(key(code) for code in (79, 80, 83, 74, 98)) + key(KPENTER)) == ["12.-/"], "keypad"
    assert feed(keys, key(28)) == [], "an Enter alone is no scan"


def test_a_held_shift_and_repeats_and_other_events_type_nothing_more() -> None:
    keys = ScanKeys("test")
    h, _ = US["h"]
    held = (event(EV_KEY, LEFTSHIFT, PRESSED) + event(EV_KEY, h, PRESSED) + event(EV_KEY, LEFTSHIFT, REPEATED)
            + event(EV_KEY, h, REPEATED) + event(EV_KEY, 2, PRESSED) + event(EV_KEY, LEFTSHIFT, 0))
    assert feed(keys, held + typed("2")) == [], "Shift and 1 type '!', in no code"
    assert feed(keys, event(EV_KEY, LEFTSHIFT, PRESSED) + event(EV_KEY, h, PRESSED)
                + event(EV_KEY, LEFTSHIFT, 0) + typed("1")) == ["H1"]


def test_refused_scans_are_warned_of_and_the_next_one_is_whole(caplog: pytest.LogCaptureFixture) -> None:
    keys = ScanKeys("test", quiet_s=0.5)
    with caplog.at_level(logging.WARNING, logger="rating_terminal.scanner"):
        assert feed(keys, typed("x" * (MAX_SCAN + 1))) == []
        assert feed(keys, typed("x" * MAX_SCAN)) == ["x" * MAX_SCAN]
        assert feed(keys, typed("ab", end=None) + key(TAB) + typed("c")) == []
        assert feed(keys, typed("ab!")) == []
        assert feed(keys, typed("000.00", end=None), now=1.0) == []
        keys.idle(1.4)
        assert feed(keys, typed(".04", end=None), now=1.4) == [], "not silent long enough"
        keys.idle(2.0)
        assert feed(keys, typed(CODE), now=2.1) == [CODE], "the partial scan was dropped"
    assert [r.getMessage() for r in caplog.records] == [
        f"scanner test: a scan of over {MAX_SCAN} characters was refused",
        "scanner test: a scan with key 15, which types nothing a dossier code holds, was refused",
        "scanner test: a scan with key 2 with Shift, which types nothing a dossier code holds, was refused",
        "scanner test: a partial scan of 9 characters and then silence was refused",
    ]


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "usb-Scanner-event-kbd"
    yield path
    with contextlib.suppress(OSError):  # a writer still blocked in open (a failed test) is let go
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))


def scanned(scanner: EvdevScanner, count: int = 1) -> list[str]:
    """The next `count` scans (waiting for them), and then no more."""
    deadline, scans = time.monotonic() + TIMEOUT_S, list[str]()
    while len(scans) < count:
        assert time.monotonic() < deadline, f"only {scans} scanned"
        scans += scanner.scans()
        time.sleep(0.01)  # polled, as the terminal's main loop polls it each frame
    return scans


def logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Wait for a log line of the scanner's thread containing `text`."""
    deadline = time.monotonic() + TIMEOUT_S
    while not any(text in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, f"never logged {text!r}: {caplog.messages}"
        time.sleep(0.01)


def test_the_device_is_read_as_the_scanner_types_it(fifo: Path, caplog: pytest.LogCaptureFixture) -> None:
    os.mkfifo(fifo)
    scanner = EvdevScanner(fifo, quiet_s=0.3)
    try:
        with caplog.at_level(logging.INFO, logger="rating_terminal.scanner"), fifo.open("wb", buffering=0) as device:
            device.write(typed(CODE))
            assert scanned(scanner) == [CODE]
            data = typed("x" * (MAX_SCAN + 5)) + typed("a", end=None) + key(TAB) + key(28) + typed("Ok_1")
            for at in range(0, len(data), 1000):  # in pieces that cut events in two
                device.write(data[at : at + 1000])
            assert scanned(scanner) == ["Ok_1"]
            device.write(typed("000.00.04", end=None))  # and then nothing: a scan cut short
            logged(caplog, "a partial scan of 9 characters and then silence was refused")
            device.write(typed(CODE))
            assert scanned(scanner) == [CODE]
        assert [r.levelname for r in caplog.records if "refused" in r.getMessage()] == ["WARNING"] * 3
    finally:
        scanner.close()


def test_a_missing_or_pulled_out_scanner_is_read_again_when_it_is_back(fifo: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="rating_terminal.scanner"):
        scanner = EvdevScanner(fifo, retry_s=0.1)  # not plugged in yet
        try:
            logged(caplog, "cannot be opened")
            os.mkfifo(fifo)
            with fifo.open("wb", buffering=0) as device:
                device.write(typed("A1"))
                assert scanned(scanner) == ["A1"]
                device.write(typed("half", end=None))
            # pulled out mid-scan (the writer closed): plugged in again once the terminal has seen it go (a writer
            # opening while the old reader is still open would write into a pipe about to lose its reader)
            logged(caplog, "is gone")
            with fifo.open("wb", buffering=0) as device:
                device.write(typed("B2"))
                assert scanned(scanner) == ["B2"], "the half scan is not glued to the next"
            assert "is back" in caplog.text
            assert [r.levelname for r in caplog.records if "cannot be opened" in r.getMessage()] == ["ERROR"], \
                "said once, not at every try"
        finally:
            scanner.close()
        assert not scanner._thread.is_alive(), "closing stops its thread"


def test_a_scan_the_kernel_dropped_events_of_is_refused_and_shift_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    """SYN_DROPPED: the reader fell behind and the kernel's buffer overflowed; the keys lost are unknown (a code
    missing characters could be another dossier's), and so is whether Shift is still down."""
    keys = ScanKeys("test")
    lost = event(EV_SYN, SYN_DROPPED, 0)
    with caplog.at_level(logging.WARNING, logger="rating_terminal.scanner"):
        assert feed(keys, typed("000.0", end=None) + lost + typed("-251202-0001")) == []
        assert feed(keys, event(EV_KEY, LEFTSHIFT, PRESSED) + lost + typed(CODE)) == []
        assert feed(keys, typed(CODE)) == [CODE]
    assert [r.getMessage() for r in caplog.records] == [
        "scanner test: the system dropped key events of a scan (its reader fell behind); refused"] * 2
