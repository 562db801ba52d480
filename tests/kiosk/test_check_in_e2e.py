"""Check-in with a booking, end to end (issue 18): a real Mosquitto, the real central server, citizens who booked
through the server's web requests, the kiosk agent with its pygame screen (dummy video driver), a loopback printer
and a serial QR scanner on a pty. One citizen types the code on the keypad, another holds the QR to the scanner;
the same QR held again is refused in the server's words."""

from __future__ import annotations

import os
import pty
import signal
import sqlite3
import tty
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from devkit.local_broker import LocalBroker
from devkit.loopback_printer import LoopbackPrinter
from kiosk.model import BOOKING_BUTTON, KEY_CONFIRM, NOT_CHECKED_IN, KioskView, Screen, key_target
from kiosk.scanner import SerialScanner
from kiosk.ticket_layout import PAPER_58MM, TicketFonts, channel_lines
from protocol.booking_code import grouped
from tests.harness import Device, ServerProcess, device, write_center_config
from tests.kiosk.test_kiosk_e2e import Kiosk, stored_numbers, wait_until
from tests.kiosk.test_ticket_layout import band_line, find_block

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BOOKINGS = """
[hours]
weekdays = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[bookings]
capacity = 4
days_ahead = 3

[citizen_web]
ids = ["web-1"]
"""
LOOK = Path("/tmp/kiosk-check-in")  # the tickets and screens of the last run, to be looked at


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    path = write_center_config(tmp_path, broker, center_id)
    path.write_text(path.read_text(encoding="utf-8") + BOOKINGS, encoding="utf-8")
    return path


@pytest.fixture
def printer() -> Iterator[LoopbackPrinter]:
    loopback = LoopbackPrinter()
    yield loopback
    loopback.close()


@pytest.fixture
def scanner_pty() -> Iterator[tuple[str, int]]:
    """(the scanner's device file for the kiosk's config, the fd the test writes what the scanner reads)."""
    controller, scanner = pty.openpty()
    tty.setraw(controller)
    tty.setraw(scanner)
    yield os.ttyname(scanner), controller
    os.close(controller)
    os.close(scanner)


def web(citizen: Device, action: str, **fields: Any) -> dict[str, Any]:
    """A request of the citizen web process, as citizen_web sends it."""
    topics = citizen.topics
    return citizen.request(topics.web_request("web-1"), {"v": 1, "request_id": uuid.uuid4().hex, "action": action,
                                                         **fields}, topics.web_response("web-1"))


def book_today(broker: LocalBroker, center_id: str, people: int) -> tuple[dict[str, Any], list[str]]:
    """Today's first free slot of Đất đai, booked by `people` citizens: the slot and their codes."""
    with device(broker, center_id, "web-1") as citizen:
        days = web(citizen, "slots", area="dat-dai")["days"]
        today = datetime.now(HCM).date().isoformat()
        if not days or days[0]["day"] != today:
            pytest.skip("no slot is left today (a run a few minutes before midnight)")
        slot = web(citizen, "slots", area="dat-dai", day=today)["slots"][0]
        codes = []
        for n in range(people):
            made = web(citizen, "book", area="dat-dai", start=slot["start"], cccd=f"001200{n + 1:06d}",
                       phone="0912 345 678")
            assert made["ok"] is True, made
            codes.append(made["booking"]["code"])
    return slot, codes


def booking_states(server: ServerProcess) -> dict[str, str]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return dict(db.execute("SELECT code, state FROM bookings"))


def drawn(kiosk: Kiosk, shows: Callable[[KioskView], bool]) -> None:
    """Wait until the screen shows what `shows` looks for (the frame follows the flow's change)."""
    wait_until(lambda: kiosk.display.shown is not None and shows(kiosk.display.shown), timeout_s=5)


def test_a_booking_checks_in_by_keypad_and_by_serial_scanner_and_the_ticket_says_its_slot(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter,
    scanner_pty: tuple[str, int], tmp_path: Path,
) -> None:
    slot, (typed, scanned) = book_today(broker, center_id, 2)
    port, scanner = scanner_pty
    kiosk = Kiosk(tmp_path, broker, center_id, printer,
                  extra_toml=f'\n[scanner]\nkind = "serial"\nport = "{port}"\nbaudrate = 9600\n')
    serial_scanner = kiosk.scanner
    assert isinstance(serial_scanner, SerialScanner)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        kiosk.touch(BOOKING_BUTTON)  # on the menu once the retained config says the center takes bookings
        kiosk.wait_for(Screen.KEYPAD)
        for digit in typed:
            kiosk.touch(key_target(digit))
        drawn(kiosk, lambda view: view.typed == typed)
        kiosk.display.save(LOOK / "keypad.png")
        kiosk.touch(KEY_CONFIRM)
        seen["jobs"] = printer.wait_for_cuts(1)
        kiosk.wait_for(Screen.TICKET)
        seen["typed"] = kiosk.agent.flow.view().ticket
        drawn(kiosk, lambda view: view.screen is Screen.TICKET)
        kiosk.display.save(LOOK / "ticket-typed.png")
        kiosk.wait_for(Screen.MENU, timeout_s=20)
        assert serial_scanner.opened.wait(10)
        os.write(scanner, f"{grouped(scanned)}\r\n".encode())  # the booking's QR, as the scanner reads it
        seen["jobs"] = printer.wait_for_cuts(2)
        kiosk.wait_for(Screen.TICKET)
        seen["scanned"] = kiosk.agent.flow.view().ticket
        kiosk.wait_for(Screen.MENU, timeout_s=20)
        os.write(scanner, f"{scanned}\n".encode())  # the same QR again
        kiosk.wait_for(Screen.REFUSED)
        seen["again"] = kiosk.agent.flow.view().message
        drawn(kiosk, lambda view: view.screen is Screen.REFUSED)
        kiosk.display.save(LOOK / "refused-again.png")

    kiosk.run(scenario)
    numbers = [number for _, number in stored_numbers(server)]
    assert numbers == ["1001", "1002"], "one ticket each: the QR held again made none"
    for ticket, number, code in ((seen["typed"], "1001", typed), (seen["scanned"], "1002", scanned)):
        assert (ticket.number, ticket.channel, ticket.booking) == (number, "booked", code)
        assert ticket.slot_start.isoformat() == slot["start"] and ticket.slot_end.isoformat() == slot["end"]
    jobs = seen["jobs"]
    assert [number.encode() in bytes(job.text) for number, job in zip(numbers, jobs, strict=True)] == [True, True]
    assert not any(code.encode() in bytes(job.data) for job in jobs for code in (typed, scanned)), "no code printed"
    assert seen["again"].startswith("Mã này đã được dùng để lấy số 1002"), seen["again"]
    assert booking_states(server) == {typed: "checked_in", scanned: "checked_in"}
    # The paper says it is a booked appointment and its slot: the band as the layout prints it, on the very PNG.
    band, _ = channel_lines(seen["typed"])
    start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
    assert band.replace("\u00a0", " ") == f"LỊCH HẸN — Khung giờ {start:%H:%M}–{end:%H:%M}"
    LOOK.mkdir(parents=True, exist_ok=True)
    for ticket in (seen["typed"], seen["scanned"]):
        [saved] = (tmp_path / "tickets").glob(f"{ticket.id}-*.png")
        preview = Image.open(saved)
        preview.save(LOOK / saved.name)
        assert find_block(preview, band_line(band, TicketFonts.default(), PAPER_58MM)) is not None, saved


def ticket_states(server: ServerProcess) -> list[tuple[str, str]]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return list(db.execute("SELECT shown, state FROM tickets ORDER BY seq"))


def test_a_check_in_given_up_while_the_server_was_frozen_leaves_the_booking_free_to_check_in_again(
    server: ServerProcess, broker: LocalBroker, center_id: str, printer: LoopbackPrinter,
    scanner_pty: tuple[str, int], tmp_path: Path,
) -> None:
    _, [code] = book_today(broker, center_id, 1)
    port, scanner = scanner_pty
    kiosk = Kiosk(tmp_path, broker, center_id, printer, extra_toml=f'\n[scanner]\nkind = "serial"\nport = "{port}"\n')
    serial_scanner = kiosk.scanner
    assert isinstance(serial_scanner, SerialScanner)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        kiosk.wait_for(Screen.MENU)
        assert serial_scanner.opened.wait(10) and server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)  # frozen: the check-in waits (in the broker or the socket)
        try:
            os.write(scanner, f"{code}\r\n".encode())
            kiosk.wait_for(Screen.REFUSED, timeout_s=15)  # the kiosk gave up after 8 s
            seen["message"] = kiosk.agent.flow.view().message
        finally:
            server.proc.send_signal(signal.SIGCONT)
        # The kiosk's cancel is acted on: the check-in never happened, or its ticket is voided and the booking freed.
        wait_until(lambda: booking_states(server) == {code: "booked"}
                   and all(state == "voided" for _, state in ticket_states(server)), timeout_s=20)
        kiosk.wait_for(Screen.MENU, timeout_s=20)
        os.write(scanner, f"{code}\r\n".encode())  # the citizen holds the QR again
        seen["job"] = printer.wait_for_cuts(1)[0]
        kiosk.wait_for(Screen.TICKET)
        seen["ticket"] = kiosk.agent.flow.view().ticket

    kiosk.run(scenario)
    assert seen["message"] == NOT_CHECKED_IN
    ticket = seen["ticket"]
    assert (ticket.channel, ticket.booking) == ("booked", code)
    assert ticket.number.encode() in bytes(seen["job"].text)
    assert booking_states(server) == {code: "checked_in"}
    assert [state for _, state in ticket_states(server)][-1] == "waiting"
