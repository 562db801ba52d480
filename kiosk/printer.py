"""The TicketPrinter port: a python-escpos adapter (USB, serial, network, file) and a fake.

Vietnamese lines arrive as 1-bit images (printer code pages cannot compose Vietnamese); the big
number and the QR go natively where the paper profile says so, which keeps a ticket small on a
slow serial line. Status is asked with DLE EOT directly and a short timeout: escpos's own
`paper_status()` says "paper OK" when the printer does not answer, and a serial query blocks
for the whole port timeout (DESIGN.md).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any, Protocol

from PIL import Image, ImageOps

from kiosk.model import PrinterStatus
from kiosk.ticket_layout import ImageSegment, NumberSegment, QrSegment, RenderedTicket
from protocol.errors import QmsError

# python-escpos writes a capabilities pickle to a new temporary folder at every import unless told where.
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", os.environ.get("CACHE_DIRECTORY", tempfile.gettempdir()))
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
GS_V0 = b"\x1dv0\x00"  # print a raster image, normal density
ESC_J = b"\x1bJ"  # feed n dots
MIN_FEED = 8  # blank runs at least this tall are fed, not sent as raster
MAX_BAND = 240  # raster rows per command, within every printer's buffer
PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR = 1, 2, 4
STATUS_TIMEOUT_S = 0.4


class PrinterError(QmsError):
    """Printing failed; the ticket was not (completely) printed."""


class TicketPrinter(Protocol):
    def status(self) -> PrinterStatus: ...

    def print_ticket(self, ticket: RenderedTicket) -> None: ...


def decode_status(online: int | None, cause: int | None, paper: int | None) -> PrinterStatus:
    """The answers to DLE EOT 1, 2 and 4 (None: no answer) as one status."""
    if online is None:
        return PrinterStatus.OFFLINE
    if cause is not None and cause & 0x04:
        return PrinterStatus.COVER_OPEN
    if (paper is not None and paper & 0x60) or (cause is not None and cause & 0x20):
        return PrinterStatus.PAPER_OUT
    if online & 0x08:
        return PrinterStatus.OFFLINE
    if paper is not None and paper & 0x0C:
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.READY


def raster_commands(image: Image.Image) -> Iterator[bytes]:
    """A 1-bit image as ESC/POS: GS v 0 bands for the inked rows, paper feeds (ESC J) for blank runs.

    Blank space costs 3 bytes instead of a row of raster, and each band leaves out the white it
    has on both sides (it is printed centred, so it lands where it was): a 58 mm ticket shrinks
    from ~25 KB to ~9 KB, which matters at 9,600 baud. Writing the raster ourselves also keeps
    escpos's `image()` from printing a warning to stdout every time.
    """
    width_bytes = image.width // 8
    ink = ImageOps.invert(image.convert("L")).convert("1").tobytes()  # 1 = a black dot, as ESC/POS wants
    rows = [ink[i * width_bytes : (i + 1) * width_bytes] for i in range(image.height)]
    start = 0
    while start < len(rows):
        blank = _blank_rows(rows, start)
        if blank >= MIN_FEED or (blank and start + blank == len(rows)):
            yield ESC_J + bytes([blank])
            start += blank
            continue
        end = start + 1
        while end < len(rows) and end - start < MAX_BAND and _blank_rows(rows, end) < MIN_FEED:
            end += 1
        band = rows[start:end]
        side = _white_sides(band, width_bytes)  # the band is centred: crop as much white from both sides
        cropped = width_bytes - 2 * side
        size = bytes([cropped & 0xFF, cropped >> 8, (end - start) & 0xFF, (end - start) >> 8])
        yield GS_V0 + size + b"".join(row[side : width_bytes - side] for row in band)
        start = end


def _white_sides(band: list[bytes], width_bytes: int) -> int:
    """Bytes of white that every row of the band has on both its left and its right."""
    side = width_bytes // 2
    for row in band:
        inked = [i for i, byte in enumerate(row) if byte]
        if inked:
            side = min(side, inked[0], width_bytes - 1 - inked[-1])
    return side


def _blank_rows(rows: list[bytes], start: int) -> int:
    """How many rows from `start` are white (at most 255, one feed command)."""
    count = 0
    while start + count < len(rows) and count < 255 and not any(rows[start + count]):
        count += 1
    return count


def _ask_socket(channel: socket.socket, command: bytes) -> int | None:
    previous = channel.gettimeout()
    try:
        channel.setblocking(False)
        while True:  # drop anything stale, so it cannot pass for the answer
            try:
                if not channel.recv(4096):
                    raise OSError("the printer closed the connection")
            except BlockingIOError:
                break
        channel.settimeout(STATUS_TIMEOUT_S)
        channel.sendall(command)
        try:
            answer = channel.recv(1)
        except TimeoutError:
            return None
        if not answer:
            raise OSError("the printer closed the connection")
        return answer[0]
    finally:
        channel.settimeout(previous)  # printing keeps the connection's own, longer timeout


class EscposPrinter:
    """TicketPrinter over a python-escpos device (Usb, Serial, Network, File, Dummy)."""

    def __init__(self, device: Escpos, *, can_query_status: bool, cut: bool = True) -> None:
        self._device = device
        self._can_query_status = can_query_status  # a Dummy, a File or a mute printer cannot answer
        self._cut = cut

    def status(self) -> PrinterStatus:
        if not self._can_query_status:
            return PrinterStatus.UNKNOWN
        try:
            answers = [self._ask(DLE_EOT + bytes([n])) for n in (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR)]
        except (OSError, EscposError) as exc:
            log.warning("printer status query failed: %s", exc)
            self._reset()
            return PrinterStatus.OFFLINE
        return decode_status(*answers)

    def _ask(self, command: bytes) -> int | None:
        """One status byte, or None when the printer says nothing within the timeout."""
        channel: Any = self._device.device
        if isinstance(channel, socket.socket):
            return _ask_socket(channel, command)
        if hasattr(channel, "read") and hasattr(channel, "reset_input_buffer"):  # pyserial
            previous = channel.timeout
            channel.flush()  # a ticket still going out at 9,600 baud would hold the question back
            channel.reset_input_buffer()  # nothing stale may pass for the answer
            channel.timeout = STATUS_TIMEOUT_S
            try:
                channel.write(command)
                data = channel.read(1)
            finally:
                channel.timeout = previous  # printing keeps the port's own, longer timeout
            return data[0] if data else None
        self._device._raw(command)
        data = self._device._read()
        return data[0] if data else None

    def print_ticket(self, ticket: RenderedTicket) -> None:
        device = self._device
        try:
            device.hw("INIT")
            for segment in ticket.segments:
                if isinstance(segment, ImageSegment):
                    device.set(align="center")
                    for command in raster_commands(segment.image):
                        device._raw(command)
                    device.set(align="left")
                elif isinstance(segment, NumberSegment):
                    device.set(align="center", bold=True, custom_size=True, width=segment.scale,
                               height=segment.scale)
                    device.textln(segment.text)
                    device.set(align="left", bold=False, normal_textsize=True)
                elif isinstance(segment, QrSegment):
                    device.set(align="center")
                    device.qr(segment.content, ec=QR_ECLEVEL_M, size=segment.module, native=True)
                    device.set(align="left")
            if self._cut:
                device.cut()
            else:
                device.print_and_feed(4)
        except (OSError, EscposError, ValueError) as exc:
            self._reset()
            raise PrinterError(f"printing failed: {exc}") from exc

    def _reset(self) -> None:
        """Drop a broken connection; the next use opens it again (a printer switched off and on)."""
        try:
            self._device.close()
        except (OSError, EscposError) as exc:
            log.debug("closing the printer connection: %s", exc)
        # escpos opens on first use only while the device is False; a failed open leaves None,
        # which would never be retried.
        self._device.device = False

    def close(self) -> None:
        self._reset()


class FakePrinter:
    """In-memory TicketPrinter for flow tests and simulations."""

    def __init__(self) -> None:
        self.printed: list[RenderedTicket] = []
        self.next_status = PrinterStatus.READY
        self.fail_next = False

    def status(self) -> PrinterStatus:
        return self.next_status

    def print_ticket(self, ticket: RenderedTicket) -> None:
        if self.fail_next or not self.next_status.can_print:
            self.fail_next = False
            raise PrinterError("the fake printer was told to fail")
        self.printed.append(ticket)
