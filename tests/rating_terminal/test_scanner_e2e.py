"""End to end: a real Mosquitto and server, the real terminal agent as a process with its real dossier scanner
adapter reading a FIFO that stands in for the scanner's /dev/input device: a scanned code reaches the citizen's
ticket; a bad one changes nothing and the official's LED says it was refused."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.local_broker import LocalBroker
from devkit.scanner_keys import FifoScanner
from tests.harness import TIMEOUT, ServerProcess, Watcher, device, watching
from tests.rating_terminal.test_terminal_e2e import Terminal


@pytest.fixture
def terminal(tmp_path: Path, broker: LocalBroker, center_id: str, server: ServerProcess) -> Iterator[Terminal]:
    (tmp_path / "t").mkdir()
    terminal = Terminal(tmp_path / "t", broker, center_id)
    fifo = tmp_path / "t" / "usb-Barcode_Scanner-event-kbd"
    os.mkfifo(fifo)
    with terminal.config.open("a", encoding="utf-8") as config:
        config.write(f'\n[scanner]\ndevice = "{fifo}"\n')
    terminal.start()
    yield terminal
    if terminal.proc is not None:
        terminal.stop(kill=True)


def dossier_code(n: int) -> str:
    """A dossier received today (the server's day, in the center's time zone), in the national form."""
    return f"000.00.04.H12-{datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')):%y%m%d}-{n:04d}"


def target(state: Watcher, codes: list[str]) -> dict[str, Any]:
    """The counter's retained state once it shows `codes` on the ticket a dossier goes to: that `dossiers`."""
    while True:
        _, body = state.next("counter/1/state")
        shown: dict[str, Any] = body.get("dossiers") or {}
        if shown.get("codes") == codes:
            return shown


def stored_dossiers(server: ServerProcess) -> dict[str, Any]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return {ticket: json.loads(text) for ticket, text in db.execute(
            "SELECT id, dossiers FROM tickets WHERE dossiers IS NOT NULL")}


def test_a_scanned_dossier_is_attached_to_the_called_citizens_ticket_and_a_bad_one_is_refused(
    terminal: Terminal, broker: LocalBroker, center_id: str, server: ServerProcess
) -> None:
    first, second = dossier_code(1), dossier_code(2)
    scanner = FifoScanner(terminal.config.parent / "usb-Barcode_Scanner-event-kbd", TIMEOUT)
    try:
        with device(broker, center_id) as kiosk:
            ticket = kiosk.ticket("dat-dai")["ticket"]
        with watching(broker, center_id, "counter/1/state") as state:
            terminal.press("next")  # the citizen is called to counter 1
            scanner.scan(first.lower())  # as a scanner set to lower case would type it: the server writes it upper
            terminal.expect("signal ok")
            assert target(state, [first])["ticket_id"] == ticket["id"]

            scanner.scan("HS-2025-ABC")  # a barcode that is no dossier code
            terminal.expect("signal failed")
            scanner.scan(first)  # the same dossier again: kept once
            terminal.expect("signal ok")

            terminal.send("key finish")  # served: the citizen may rate, and is still at the counter
            terminal.expect("signal ok", "armed very_satisfied satisfied dissatisfied")
            scanner.scan(second)
            terminal.expect("signal ok")
            assert target(state, [first, second])["ticket_id"] == ticket["id"], "the ticket awaiting its rating"
        stored = stored_dossiers(server)
        assert list(stored) == [ticket["id"]]
        assert [code for code, *_ in stored[ticket["id"]]] == [first, second], "the bad code changed nothing"
        log = terminal.log.read_text(errors="replace")
        assert "dossier 'HS-2025-ABC' refused: bad_dossier" in log
        assert f"dossier {first.lower()!r} attached to ticket {ticket['id']} ({ticket['number']}), which has 1" in log
    finally:
        scanner.close()
    terminal.stop()
