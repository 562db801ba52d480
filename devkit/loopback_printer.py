"""An ESC/POS printer on 127.0.0.1 for tests and `make demo`: it records what it is sent and
answers DLE EOT status queries as a real receipt printer does, in the state the test sets."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from PIL import Image

from kiosk.model import PrinterStatus

# Answers to DLE EOT 1 (printer), 2 (offline cause), 4 (paper sensor); bits 1 and 4 are always set.
ANSWERS = {
    PrinterStatus.READY: (0x12, 0x12, 0x12),
    PrinterStatus.PAPER_LOW: (0x12, 0x12, 0x1E),
    PrinterStatus.PAPER_OUT: (0x1A, 0x32, 0x72),
    PrinterStatus.COVER_OPEN: (0x1A, 0x16, 0x12),
}
CUT = (b"\x1dV", b"\x1bi", b"\x1bm")


@dataclass
class Job:
    """What one connection printed up to a cut: raw bytes, raster images and plain text."""

    data: bytearray = field(default_factory=bytearray)
    images: list[Image.Image] = field(default_factory=list)
    raster: list[Image.Image | int] = field(default_factory=list)  # raster bands and dot feeds, in order
    text: bytearray = field(default_factory=bytearray)
    cut: bool = False

    def raster_paper(self, width: int) -> Image.Image:
        """The raster parts as they come out of the printer, feeds as white: one image."""
        height = sum(piece if isinstance(piece, int) else piece.height for piece in self.raster)
        paper = Image.new("1", (width, height), 1)
        top = 0
        for piece in self.raster:
            if isinstance(piece, int):
                top += piece
            else:
                paper.paste(piece, ((width - piece.width) // 2, top))  # raster is printed centred
                top += piece.height
        return paper


class LoopbackPrinter:
    def __init__(self, port: int = 0) -> None:
        self.state = PrinterStatus.READY  # OFFLINE: it keeps silent
        self._server = socket.create_server(("127.0.0.1", port))
        self._connections: list[socket.socket] = []
        self.port = int(self._server.getsockname()[1])
        self.jobs: list[Job] = []
        self._changed = threading.Condition()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="loopback-printer").start()

    @property
    def cut_jobs(self) -> list[Job]:
        with self._changed:
            return [job for job in self.jobs if job.cut]

    def wait_for_cuts(self, count: int, timeout_s: float = 10.0) -> list[Job]:
        """Block until `count` tickets were printed and cut; returns them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len([j for j in self.jobs if j.cut]) >= count, timeout_s):
                raise TimeoutError(f"{len([j for j in self.jobs if j.cut])} of {count} tickets printed")
            return [job for job in self.jobs if job.cut]

    def close(self) -> None:
        """Switch the printer off: nothing listens, open connections drop."""
        self._stopped = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone would not
        self._server.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        buffer = bytearray()
        job = self._new_job()
        with connection:
            while True:
                try:
                    chunk = connection.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                job = self._parse(buffer, job, connection)

    def _new_job(self) -> Job:
        job = Job()
        with self._changed:
            self.jobs.append(job)
        return job

    def _parse(self, buffer: bytearray, job: Job, connection: socket.socket) -> Job:
        """Consume complete commands from `buffer`; raster and 2D-code data are skipped whole."""
        while buffer:
            size = self._command_size(buffer)
            if size is None:
                return job  # wait for the rest of the command
            command = bytes(buffer[:size])
            del buffer[:size]
            if command.startswith(b"\x10\x04"):
                self._answer(command[2], connection)
                continue
            with self._changed:
                job.data += command
                if command.startswith(b"\x1dv0"):
                    job.images.append(_raster(command))
                    job.raster.append(job.images[-1])
                elif command.startswith(b"\x1bJ"):
                    job.raster.append(command[2])
                elif size == 1 and (command[0] >= 0x20 or command == b"\n"):
                    job.text += command
                if command.startswith(CUT):
                    job.cut = True
                    self._changed.notify_all()
            if job.cut:
                job = self._new_job()
        return job

    def _answer(self, which: int, connection: socket.socket) -> None:
        answers = ANSWERS.get(self.state)
        if answers is None:
            return
        byte = {1: answers[0], 2: answers[1], 4: answers[2]}.get(which, 0x12)
        connection.sendall(bytes([byte]))

    @staticmethod
    def _command_size(buffer: bytearray) -> int | None:
        """Bytes in the command at the start of `buffer`, or None until it is complete."""
        if buffer.startswith(b"\x10\x04"):
            return 3 if len(buffer) >= 3 else None
        if buffer.startswith(b"\x1dv0"):
            if len(buffer) < 8:
                return None
            size = 8 + (buffer[4] + 256 * buffer[5]) * (buffer[6] + 256 * buffer[7])
            return size if len(buffer) >= size else None
        if buffer.startswith(b"\x1d(k") or buffer.startswith(b"\x1d(L"):
            if len(buffer) < 5:
                return None
            size = 5 + buffer[3] + 256 * buffer[4]
            return size if len(buffer) >= size else None
        if buffer.startswith(b"\x1dV"):
            if len(buffer) < 3:
                return None
            return 4 if buffer[2] in (65, 66, 97, 98) else 3
        for prefix, width in ((b"\x1b!", 3), (b"\x1d!", 3), (b"\x1ba", 3), (b"\x1bE", 3), (b"\x1bM", 3),
                              (b"\x1b-", 3), (b"\x1bd", 3), (b"\x1bJ", 3), (b"\x1bt", 3), (b"\x1b@", 2),
                              (b"\x1bG", 3), (b"\x1bV", 3), (b"\x1b{", 3), (b"\x1dB", 3), (b"\x1b3", 3),
                              (b"\x1b2", 2)):
            if buffer.startswith(prefix):
                return width if len(buffer) >= width else None
        return 1


def _raster(command: bytes) -> Image.Image:
    """The 1-bit image of a GS v 0 raster command."""
    width_bytes = command[4] + 256 * command[5]
    height = command[6] + 256 * command[7]
    return Image.frombytes("1", (width_bytes * 8, height), bytes(command[8:])).point(lambda v: 255 - v)
