"""The printer port: escpos Dummy bytes, a loopback TCP printer that answers status, a serial pty."""

from __future__ import annotations

import os
import pty
import tty
from collections.abc import Iterator

import pytest
from escpos.printer import Dummy, Network, Serial
from PIL import Image, ImageDraw

from devkit.loopback_printer import LoopbackPrinter
from kiosk.model import PrinterStatus
from kiosk.printer import EscposPrinter, PrinterError, decode_status
from kiosk.ticket_layout import ImageSegment, NumberSegment, QrSegment, RenderedTicket


def ticket() -> RenderedTicket:
    banner = Image.new("1", (384, 48), 1)
    ImageDraw.Draw(banner).rectangle((10, 10, 200, 30), fill=0)
    segments = (ImageSegment(banner), NumberSegment("B001", 4), QrSegment("https://x.vn/t/20261123-000001", 6))
    return RenderedTicket(segments, banner)


@pytest.fixture
def loopback() -> Iterator[LoopbackPrinter]:
    printer = LoopbackPrinter()
    yield printer
    printer.close()


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, int]]:
    controller, device = pty.openpty()
    tty.setraw(controller)
    tty.setraw(device)
    yield os.ttyname(device), controller
    os.close(controller)
    os.close(device)


def test_dummy_gets_the_image_the_native_number_the_native_qr_and_a_cut() -> None:
    dummy = Dummy()
    EscposPrinter(dummy, can_query_status=False).print_ticket(ticket())
    data = dummy.output
    assert data.startswith(b"\x1b@")
    assert b"\x1dv0" in data  # the Vietnamese lines as a raster image
    assert b"\x1d!\x33" in data and b"B001" in data  # the number at 4x4 in the printer's own font
    assert b"\x1d(k" in data and b"https://x.vn/t/20261123-000001" in data  # the QR natively
    assert b"\x1dV" in data  # the cut
    assert data.index(b"\x1dv0") < data.index(b"B001") < data.index(b"\x1d(k") < data.index(b"\x1dV")


def test_a_printer_that_cannot_answer_reports_unknown_and_still_prints() -> None:
    assert EscposPrinter(Dummy(), can_query_status=False).status() is PrinterStatus.UNKNOWN


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ((0x12, 0x12, 0x12), PrinterStatus.READY),
        ((0x12, 0x12, 0x1E), PrinterStatus.PAPER_LOW),
        ((0x1A, 0x32, 0x72), PrinterStatus.PAPER_OUT),
        ((0x1A, 0x16, 0x12), PrinterStatus.COVER_OPEN),
        ((0x1A, 0x12, 0x12), PrinterStatus.OFFLINE),
        ((None, None, None), PrinterStatus.OFFLINE),
    ],
)
def test_dle_eot_answers_decode(answers: tuple[int | None, int | None, int | None], status: PrinterStatus) -> None:
    assert decode_status(*answers) is status


@pytest.mark.parametrize("state", [PrinterStatus.READY, PrinterStatus.PAPER_LOW, PrinterStatus.PAPER_OUT,
                                   PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE])
def test_the_loopback_printer_reports_each_state_over_tcp(loopback: LoopbackPrinter, state: PrinterStatus) -> None:
    loopback.state = state
    printer = EscposPrinter(Network("127.0.0.1", loopback.port, timeout=2), can_query_status=True)
    assert printer.status() is state
    printer.close()


def test_a_ticket_over_tcp_arrives_whole_and_the_printer_answers_after_it(loopback: LoopbackPrinter) -> None:
    printer = EscposPrinter(Network("127.0.0.1", loopback.port, timeout=2), can_query_status=True)
    printer.print_ticket(ticket())
    job = loopback.wait_for_cuts(1)[0]
    dummy = Dummy()
    EscposPrinter(dummy, can_query_status=False).print_ticket(ticket())
    assert bytes(job.data) == dummy.output
    assert b"B001" in job.text
    banner = ticket().segments[0]
    assert isinstance(banner, ImageSegment)
    assert job.raster_paper(384).tobytes() == banner.image.tobytes(), "the paper shows the image as rendered"
    assert len(job.images) == 1 and job.images[0].size == (48 * 8 - 2 * 8, 21), "only inked rows, cropped"
    assert printer.status() is PrinterStatus.READY
    printer.close()


def test_a_printer_switched_off_is_offline_and_back_on_it_prints_again(loopback: LoopbackPrinter) -> None:
    printer = EscposPrinter(Network("127.0.0.1", loopback.port, timeout=2), can_query_status=True)
    assert printer.status() is PrinterStatus.READY
    loopback.close()
    assert printer.status() is PrinterStatus.OFFLINE
    with pytest.raises(PrinterError):
        printer.print_ticket(ticket())
    switched_on = LoopbackPrinter(port=loopback.port)
    try:
        assert printer.status() is PrinterStatus.READY
        printer.print_ticket(ticket())  # the same adapter connects again by itself
        assert b"B001" in switched_on.wait_for_cuts(1)[0].text
    finally:
        printer.close()
        switched_on.close()


def test_a_serial_printer_gets_the_same_bytes_as_dummy(pty_pair: tuple[str, int]) -> None:
    path, fd = pty_pair
    dummy = Dummy()
    EscposPrinter(dummy, can_query_status=False).print_ticket(ticket())
    serial = Serial(devfile=path, baudrate=19200, timeout=1, dsrdtr=False)
    EscposPrinter(serial, can_query_status=False).print_ticket(ticket())
    serial.close()
    received = b""
    while len(received) < len(dummy.output):
        received += os.read(fd, 65536)
    assert received == dummy.output


def test_a_serial_status_query_waits_briefly_and_silence_means_offline(pty_pair: tuple[str, int]) -> None:
    path, fd = pty_pair
    serial = Serial(devfile=path, baudrate=19200, timeout=5, dsrdtr=False)
    printer = EscposPrinter(serial, can_query_status=True)
    assert printer.status() is PrinterStatus.OFFLINE  # nobody answers on the other end
    assert os.read(fd, 64) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    printer.close()


def test_the_paper_shows_exactly_the_png_of_the_ticket(loopback: LoopbackPrinter) -> None:
    from dataclasses import replace
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kiosk.model import IssuedTicket
    from kiosk.ticket_layout import PAPER_58MM, TicketFonts, TicketText, render_ticket

    issued = IssuedTicket("20261123-000007", "1007", "dat-dai", "Đất đai",
                          datetime(2026, 11, 23, 9, 41, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), 3, 900)
    raster_only = replace(PAPER_58MM, native_digits=False, native_qr=False)
    rendered = render_ticket(issued, TicketText("Bộ phận Một cửa huyện Châu Thành", qr_content="{ticket_id}"),
                             raster_only, TicketFonts.default())
    printer = EscposPrinter(Network("127.0.0.1", loopback.port, timeout=2), can_query_status=True)
    printer.print_ticket(rendered)
    job = loopback.wait_for_cuts(1)[0]
    printer.close()
    assert job.raster_paper(384).tobytes() == rendered.preview.convert("1").tobytes()
    assert len(job.data) < 384 // 8 * rendered.preview.height * 0.6, "white space is fed, not sent"
