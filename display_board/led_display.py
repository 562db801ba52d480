"""The LedDisplay port: the number displays above the counters, on one serial / RS-485 bus, and a fake.

Several displays share one bus, each with its own address (set on the display, usually by DIP
switches). A display shows a :class:`LedContent`: the number being served ("1005", "B012"),
"----" when the counter is idle, "P---" when it is paused, optionally blinking. One codec per
bus turns it into bytes; the device config names the codec.

Text on a display of ``digits`` characters (QMS frame and Modbus RTU): upper-cased; every
character other than 0-9, A-Z, space and "-" becomes "-"; right-aligned and padded with spaces
on the left; a text longer than the display keeps its first ``digits`` characters ("P---" on a
3-digit display is "P--"), so give every counter a display as wide as its areas' numbers.

1. QMS frame (``codec = "qms"``), our own framing::

       STX  address  flags     length  payload        ETX  checksum
       02   01-F7    bit0=blink  n     n ASCII bytes  03   XOR of address .. ETX

   - address: 1-247 (0 is reserved);
   - flags: bit 0 = blink, other bits 0;
   - length: the number of payload bytes, the display's digit count (1-255);
   - payload: the text as above, so only the bytes 0x20, 0x2D, 0x30-0x39 and 0x41-0x5A;
   - checksum: XOR of every byte from the address through the ETX.

   "1005" to address 1, 4 digits, steady: ``02 01 00 04 31 30 30 35 03 02``. The length
   delimits the frame: a receiver must not scan for ETX, because the address, the flags, the
   length and the checksum can be 0x02 or 0x03. ``QmsFrameCodec.decode`` parses one frame.

2. Modbus RTU (``codec = "modbus-rtu"``), as DM36/DM56-style digit displays take: function
   0x10, "write multiple registers", one holding register per character position, left to
   right, from ``start_register`` (default 0), each holding the character's ASCII code (space
   0x0020, "-" 0x002D, "0" 0x0030 …, "B" 0x0042)::

       address  10  start(hi lo)  quantity(hi lo)  byte count  values (hi lo) ...  CRC (lo hi)

   - address: 1-247 (the Modbus slave id; 0, broadcast, is not used);
   - quantity: the digit count, plus 1 with ``blink_register``: then one more register after
     the characters holds 1 (blink) or 0 (steady); without it blinking is not sent;
   - CRC-16/MODBUS over every byte before it: polynomial 0xA001 (0x8005 reflected), initial
     value 0xFFFF, sent low byte first (``crc16_modbus``).

   "1005" to address 1, 4 digits, start register 0:
   ``01 10 00 00 00 04 08 00 31 00 30 00 30 00 35 16 A5``. The display answers with 8 bytes
   (address, 10, start, quantity, CRC); the driver waits for that answer (``reply_timeout_s``)
   before it sends anything else, as RS-485 is half duplex, and logs a WARNING once per
   address that does not answer. Displays that want one register per digit value rather than
   an ASCII code need a codec of their own.

3. Four-byte frame (``codec = "four-byte"``), the common frame of simple numeric displays::

       address  high  low  checksum = (address + high + low) & 0xFF

   - address: 0-255;
   - high, low: a 16-bit value, high byte first: the number 0-9999, or 0xFFFF for blank (idle)
     and 0xFFFE for paused (0x0000 would be the number 0). Such displays cannot show letters:
     the digits of the text are sent and any prefix letter is dropped ("B012" is 12); a number
     longer than the display keeps its last digits. Blinking is not sent.

   "1005" to address 1: ``01 03 ED F1``; idle: ``01 FF FF FF``; paused: ``01 FF FE FE``.

:class:`SerialLedDisplay` leaves 3.5 character times of silence on the bus after every frame (or
after the answer), so each display can tell where a frame ends. It survives the USB adapter
being unplugged: it closes the port (at the failed write, or at the next ``tick()`` when the
device file is gone or is another device), keeps the last content of every address, reopens the
device file at the next ``show()`` or ``tick()`` and then sends every address its last content
again, lowest address first. Name the adapter by its ``/dev/serial/by-id/...`` link, which comes
back with the same name.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Protocol

import serial

from protocol.errors import QmsError

log = logging.getLogger(__name__)

STX, ETX = 0x02, 0x03
BLINK = 0x01
IDLE_TEXT = "----"
PAUSED_TEXT = "P---"
ALLOWED = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -")
MAX_DIGITS = 255
WRITE_MULTIPLE_REGISTERS = 0x10
MAX_REGISTERS = 123  # a Modbus RTU frame carries at most 123 registers
FOUR_BYTE_BLANK = 0xFFFF
FOUR_BYTE_PAUSED = 0xFFFE


class BadFrame(QmsError):
    """Bytes that are not one well-formed frame."""


@dataclass(frozen=True, slots=True)
class LedContent:
    """What one counter display shows."""

    text: str
    blink: bool = False

    @classmethod
    def serving(cls, number: str, *, blink: bool = False) -> LedContent:
        return cls(number, blink)

    @classmethod
    def idle(cls) -> LedContent:
        return cls(IDLE_TEXT)

    @classmethod
    def paused(cls) -> LedContent:
        return cls(PAUSED_TEXT)

    @classmethod
    def for_counter(cls, status: str, number: str | None) -> LedContent:
        """The content for a counter's `status` ("idle", "serving", "paused") and its ticket number."""
        if status == "paused":
            return cls.paused()
        if status == "serving" and number:
            return cls.serving(number)
        return cls.idle()


def fit_text(text: str, digits: int) -> str:
    """The text as a display of `digits` characters shows it (see the module docstring)."""
    shown = "".join(c if c in ALLOWED else "-" for c in text.upper())
    return shown[:digits].rjust(digits)


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS of `data`; it goes on the wire low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def _crc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def _check(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} {value} is not in {low}-{high}")


class LedCodec(Protocol):
    @property
    def reply_length(self) -> int:
        """Bytes a display answers to each frame (0: it does not answer)."""
        ...

    def encode(self, address: int, content: LedContent, digits: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class QmsFrameCodec:
    """Our own frame: STX, address, flags, length, ASCII payload, ETX, XOR checksum."""

    reply_length: int = 0

    def encode(self, address: int, content: LedContent, digits: int) -> bytes:
        _check("address", address, 1, 247)
        _check("digits", digits, 1, MAX_DIGITS)
        body = bytes([address, BLINK if content.blink else 0, digits]) + fit_text(content.text, digits).encode("ascii")
        body += bytes([ETX])
        return bytes([STX]) + body + bytes([_xor(body)])

    @staticmethod
    def decode(frame: bytes) -> tuple[int, LedContent]:
        """The address and the content of one frame; the text is exactly what the display shows."""
        if len(frame) < 7 or frame[0] != STX:
            raise BadFrame(f"not a QMS frame: {frame.hex(' ')}")
        address, flags, length = frame[1], frame[2], frame[3]
        if len(frame) != length + 6 or frame[-2] != ETX:
            raise BadFrame(f"length {length} does not match the frame: {frame.hex(' ')}")
        if _xor(frame[1:-1]) != frame[-1]:
            raise BadFrame(f"bad checksum: {frame.hex(' ')}")
        payload = frame[4:-2].decode("ascii", errors="replace")
        if not 1 <= address <= 247 or flags & ~BLINK or not set(payload) <= ALLOWED:
            raise BadFrame(f"bad address, flags or characters: {frame.hex(' ')}")
        return address, LedContent(payload, bool(flags & BLINK))


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


@dataclass(frozen=True, slots=True)
class ModbusRtuCodec:
    """Modbus RTU write multiple registers (0x10): one register per character, its ASCII code."""

    start_register: int = 0
    blink_register: bool = False
    reply_length: int = 8  # address, 0x10, start, quantity, CRC

    def encode(self, address: int, content: LedContent, digits: int) -> bytes:
        _check("address", address, 1, 247)
        values = [ord(c) for c in fit_text(content.text, digits)]
        if self.blink_register:
            values.append(1 if content.blink else 0)
        _check("register count", len(values), 1, MAX_REGISTERS)
        _check("last register", self.start_register + len(values) - 1, len(values) - 1, 0xFFFF)
        pdu = bytes([address, WRITE_MULTIPLE_REGISTERS])
        pdu += self.start_register.to_bytes(2, "big") + len(values).to_bytes(2, "big") + bytes([2 * len(values)])
        pdu += b"".join(v.to_bytes(2, "big") for v in values)
        return pdu + crc16_modbus(pdu).to_bytes(2, "little")


@dataclass(frozen=True, slots=True)
class FourByteCodec:
    """[address, high, low, additive checksum] for numeric displays: 0-9999, 0xFFFF blank, 0xFFFE paused."""

    reply_length: int = 0

    def encode(self, address: int, content: LedContent, digits: int) -> bytes:
        _check("address", address, 0, 255)
        _check("digits", digits, 1, MAX_DIGITS)
        numerals = "".join(c for c in content.text if "0" <= c <= "9")
        if numerals:
            value = int(numerals[-min(digits, 4) :])
        elif content.text.strip().upper().startswith("P"):
            value = FOUR_BYTE_PAUSED
        else:
            value = FOUR_BYTE_BLANK
        high, low = value >> 8, value & 0xFF
        return bytes([address, high, low, (address + high + low) & 0xFF])


CODECS: dict[str, type[QmsFrameCodec] | type[ModbusRtuCodec] | type[FourByteCodec]] = {
    "qms": QmsFrameCodec,
    "modbus-rtu": ModbusRtuCodec,
    "four-byte": FourByteCodec,
}


def codec_named(name: str, *, start_register: int = 0, blink_register: bool = False) -> LedCodec:
    """The codec a device config names ("qms", "modbus-rtu", "four-byte"); ValueError for another name."""
    if name == "modbus-rtu":
        return ModbusRtuCodec(start_register=start_register, blink_register=blink_register)
    if name in CODECS:
        return CODECS[name]()
    raise ValueError(f"unknown LED codec {name!r}: expected one of {', '.join(CODECS)}")


class LedDisplay(Protocol):
    def show(self, address: int, content: LedContent) -> None: ...

    def close(self) -> None: ...


class SerialLedDisplay:
    """LedDisplay over one serial / RS-485 bus (pyserial): several addressed displays, one codec.

    Never raises for a missing or failing adapter: it logs an ERROR once, keeps the last content
    of every address, and sends them all again when the device file opens again (at the next
    `show()` or `tick()`; call `tick()` about once a second). A bad address or digit count is a
    ValueError from the codec.
    """

    def __init__(
        self,
        path: str,
        codec: LedCodec,
        *,
        baudrate: int = 9600,
        digits: int = 4,
        parity: str = serial.PARITY_NONE,
        stopbits: float = serial.STOPBITS_ONE,
        reply_timeout_s: float = 0.2,
        write_timeout_s: float = 0.5,
    ) -> None:
        _check("digits", digits, 1, MAX_DIGITS)
        self._path = path
        self._codec = codec
        self._digits = digits
        self._settings = {"baudrate": baudrate, "parity": parity, "stopbits": stopbits}
        self._reply_timeout_s = reply_timeout_s
        self._write_timeout_s = write_timeout_s
        bits = 1 + 8 + (parity != serial.PARITY_NONE) + stopbits
        self._char_s = bits / baudrate
        self._port: serial.Serial | None = None
        self._identity: tuple[int, int, int] | None = None
        self._last: dict[int, LedContent] = {}
        self._silent: set[int] = set()  # addresses already warned about for not answering
        self._quiet_until = 0.0
        self._down = False  # the adapter is missing and an ERROR has said so
        self._closed = False
        self._reopen()

    @property
    def connected(self) -> bool:
        return self._port is not None

    def show(self, address: int, content: LedContent) -> None:
        frame = self._codec.encode(address, content, self._digits)
        self._last[address] = content
        if self._closed:
            return
        if self._port is None:
            self._reopen()  # sends every address, this one included
        elif not self._send(address, frame):
            self._reopen()  # the adapter may already be back under the same name

    def tick(self) -> None:
        """Notice an adapter that went away while nothing was sent, and reopen a missing one."""
        if self._closed:
            return
        if self._port is not None and self._identity != _identity_of(self._path):
            self._lose(OSError(f"{self._path} is gone or is another device now"))
        if self._port is None:
            self._reopen()

    def close(self) -> None:
        self._closed = True
        self._close_port()

    def _reopen(self) -> None:
        try:
            port = serial.Serial(
                self._path, timeout=self._reply_timeout_s, write_timeout=self._write_timeout_s, exclusive=True,
                **self._settings,
            )
        except (serial.SerialException, OSError) as exc:
            if not self._down:
                log.error("LED display adapter %s cannot be opened: %s; retrying", self._path, exc)
                self._down = True
            return
        self._port = port
        st = os.fstat(port.fileno())
        self._identity = st.st_dev, st.st_ino, st.st_rdev
        if self._down:
            log.info("LED display adapter %s is back; sending %d displays again", self._path, len(self._last))
            self._down = False
        for address in sorted(self._last):
            frame = self._codec.encode(address, self._last[address], self._digits)
            if not self._send(address, frame):
                return

    def _send(self, address: int, frame: bytes) -> bool:
        """Write one frame (and read the display's answer); on failure close the port and say False."""
        assert self._port is not None
        try:
            delay = self._quiet_until - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the silence between frames the bus protocol asks for
            reply_length = self._codec.reply_length
            if reply_length:
                self._port.reset_input_buffer()
            self._port.write(frame)
            if reply_length:
                self._check_reply(address, frame, self._port.read(reply_length))
                self._quiet_until = time.monotonic() + 3.5 * self._char_s
            else:
                self._quiet_until = time.monotonic() + (len(frame) + 3.5) * self._char_s
        except (serial.SerialException, OSError) as exc:
            self._lose(exc)
            return False
        return True

    def _check_reply(self, address: int, frame: bytes, reply: bytes) -> None:
        if len(reply) == self._codec.reply_length and reply[:2] == frame[:2]:
            if address in self._silent:
                log.info("LED display %d on %s answers again", address, self._path)
                self._silent.discard(address)
        elif address not in self._silent:
            log.warning("LED display %d on %s gave no valid answer (%s): check its address, wiring and baud rate",
                        address, self._path, reply.hex(" ") or "silence")
            self._silent.add(address)

    def _lose(self, exc: BaseException) -> None:
        self._close_port()
        if not self._down:
            log.error("LED display adapter %s is gone: %s; showing again when it is back", self._path, exc)
            self._down = True

    def _close_port(self) -> None:
        port, self._port, self._identity = self._port, None, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("closing %s: %s", self._path, exc)


def _identity_of(path: str) -> tuple[int, int, int] | None:
    """Which device file `path` names now (None: none), to tell a replugged adapter from the open one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_rdev


class FakeLedDisplay:
    """In-memory LedDisplay for the agent's tests and `make demo`."""

    def __init__(self) -> None:
        self.shown: dict[int, LedContent] = {}
        self.history: list[tuple[int, LedContent]] = []
        self.closed = False

    def show(self, address: int, content: LedContent) -> None:
        self.shown[address] = content
        self.history.append((address, content))

    def close(self) -> None:
        self.closed = True
