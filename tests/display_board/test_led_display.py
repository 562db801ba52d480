"""The counter LED displays: each codec's bytes, CRC-16/MODBUS, the serial driver over pty pairs, unplug included."""

from __future__ import annotations

import logging
import os
import pty
import select
import threading
import tty
from collections.abc import Callable, Iterator
from functools import reduce
from pathlib import Path

import pytest

from display_board.led_display import (
    BadFrame,
    FakeLedDisplay,
    FourByteCodec,
    LedContent,
    ModbusRtuCodec,
    QmsFrameCodec,
    SerialLedDisplay,
    codec_named,
    crc16_modbus,
    fit_text,
)

LOGGER = "display_board.led_display"
END = b"<end of what the driver wrote>"  # written by the test on the driver's side, after the driver's bytes


class Pty:
    """A pty pair: the driver opens `path`, the test reads `controller` and may write on `device` too."""

    def __init__(self) -> None:
        self.controller, self.device = pty.openpty()
        tty.setraw(self.controller)
        tty.setraw(self.device)
        self.path = os.ttyname(self.device)

    def unplug(self) -> None:
        os.close(self.controller)
        self.controller = -1

    def close(self) -> None:
        for fd in (self.controller, self.device):
            if fd >= 0:
                os.close(fd)

    def written(self, timeout_s: float = 2.0) -> bytes:
        """Everything the driver has written so far: the test's marker queues behind it on the same tty."""
        os.write(self.device, END)
        data = b""
        while not data.endswith(END):
            ready, _, _ = select.select([self.controller], [], [], timeout_s)
            assert ready, f"timed out; got {data!r}"
            data += os.read(self.controller, 4096)
        return data[: -len(END)]

    def read_exactly(self, count: int, timeout_s: float = 2.0) -> bytes:
        data = b""
        while len(data) < count:
            ready, _, _ = select.select([self.controller], [], [], timeout_s)
            assert ready, f"timed out; got {data!r}"
            data += os.read(self.controller, count - len(data))
        return data


@pytest.fixture
def new_pty() -> Iterator[Callable[[], Pty]]:
    opened: list[Pty] = []

    def make() -> Pty:
        opened.append(Pty())
        return opened[-1]

    yield make
    for pair in opened:
        pair.close()


@pytest.fixture
def pty_pair(new_pty: Callable[[], Pty]) -> Pty:
    return new_pty()


def crc_bitwise(data: bytes) -> int:
    """CRC-16/MODBUS bit by bit, independent of the table the module uses."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def xor(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


# --- what a display shows


def test_the_helpers_say_serving_idle_and_paused() -> None:
    assert LedContent.serving("1005") == LedContent("1005")
    assert LedContent.serving("B012", blink=True) == LedContent("B012", blink=True)
    assert LedContent.idle() == LedContent("----")
    assert LedContent.paused().text.startswith("P")
    assert LedContent.for_counter("serving", "A001") == LedContent("A001")
    assert LedContent.for_counter("paused", "A001") == LedContent.paused()
    assert LedContent.for_counter("idle", None) == LedContent.idle()
    assert LedContent.for_counter("serving", None) == LedContent.idle()


@pytest.mark.parametrize(
    ("text", "digits", "shown"),
    [("1005", 4, "1005"), ("b12", 4, " B12"), ("Đ7", 3, " -7"), ("A_1", 4, " A-1"), ("12345", 4, "1234"),
     ("P---", 3, "P--"), ("----", 5, " ----"), ("", 2, "  ")],
)
def test_text_is_upper_cased_restricted_right_aligned_and_cut_to_the_display(
    text: str, digits: int, shown: str
) -> None:
    assert fit_text(text, digits) == shown


# --- QMS frame


def test_qms_frame_of_a_number_is_stx_address_flags_length_ascii_etx_xor() -> None:
    assert QmsFrameCodec().encode(1, LedContent("1005"), 4) == bytes.fromhex("02 01 00 04 31 30 30 35 03 02")


def test_qms_frame_blinks_pads_and_checksums_from_address_through_etx() -> None:
    frame = QmsFrameCodec().encode(2, LedContent("b012", blink=True), 6)
    assert frame == bytes.fromhex("02 02 01 06 20 20 42 30 31 32 03 77")
    assert frame[-1] == xor(frame[1:-1])


@pytest.mark.parametrize(
    ("content", "payload"), [(LedContent.idle(), b"----"), (LedContent.paused(), b"P---"), (LedContent("Ư9"), b"  -9")]
)
def test_qms_frame_of_idle_paused_and_foreign_letters(content: LedContent, payload: bytes) -> None:
    body = bytes([247, 0, 4]) + payload + b"\x03"
    assert QmsFrameCodec().encode(247, content, 4) == b"\x02" + body + bytes([xor(body)])


@pytest.mark.parametrize("content", [LedContent("1005"), LedContent("B012", blink=True), LedContent.idle(),
                                     LedContent.paused(), LedContent("x")])
@pytest.mark.parametrize("address", [1, 2, 3, 247])
def test_qms_frame_decodes_to_what_the_display_shows(content: LedContent, address: int) -> None:
    frame = QmsFrameCodec().encode(address, content, 5)
    assert QmsFrameCodec.decode(frame) == (address, LedContent(fit_text(content.text, 5), content.blink))


@pytest.mark.parametrize(
    "frame",
    ["02 01 00 04 31 30 30 35 03 03",  # checksum
     "03 01 00 04 31 30 30 35 03 02",  # no STX
     "02 01 00 05 31 30 30 35 03 03",  # length
     "02 01 00 04 31 30 30 35 03",  # cut short
     "02 01 00 04 31 30 30 61 03 56",  # a lower-case letter
     "02 00 00 04 31 30 30 35 03 03"],  # address 0
)
def test_qms_decode_refuses_a_broken_frame(frame: str) -> None:
    with pytest.raises(BadFrame):
        QmsFrameCodec.decode(bytes.fromhex(frame))


@pytest.mark.parametrize("address", [0, 248, -1])
def test_qms_frame_refuses_an_address_outside_1_to_247(address: int) -> None:
    with pytest.raises(ValueError, match="address"):
        QmsFrameCodec().encode(address, LedContent("1"), 4)


# --- Modbus RTU


@pytest.mark.parametrize(
    ("data", "wire"),
    [("0103000A0001", "A408"),  # read one holding register at 10 (the usual documentation example)
     ("010600010003", "980B"),  # write register 1 = 3
     ("01030000000A", "C5CD")],
)
def test_crc16_modbus_known_frames(data: str, wire: str) -> None:
    assert crc16_modbus(bytes.fromhex(data)).to_bytes(2, "little") == bytes.fromhex(wire)


def test_crc16_modbus_check_value_and_bitwise_agreement() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37  # the CRC catalogue's check value for CRC-16/MODBUS
    assert crc16_modbus(b"") == 0xFFFF
    for length in range(64):
        data = bytes((i * 37 + length) & 0xFF for i in range(length))
        assert crc16_modbus(data) == crc_bitwise(data)


def test_modbus_writes_one_ascii_register_per_digit_from_register_0() -> None:
    assert ModbusRtuCodec().encode(1, LedContent("1005"), 4) == bytes.fromhex(
        "01 10 0000 0004 08 0031 0030 0030 0035 16A5"
    )


def test_modbus_with_a_start_register_and_a_blink_register() -> None:
    frame = ModbusRtuCodec(start_register=0x10, blink_register=True).encode(0x11, LedContent("b12", blink=True), 4)
    pdu = bytes.fromhex("11 10 0010 0005 0A 0020 0042 0031 0032 0001")
    assert frame == pdu + crc_bitwise(pdu).to_bytes(2, "little")
    steady = ModbusRtuCodec(start_register=0x10, blink_register=True).encode(0x11, LedContent("b12"), 4)
    assert steady[-4:-2] == b"\x00\x00"


def test_modbus_idle_and_paused_are_dashes_and_p() -> None:
    idle = ModbusRtuCodec().encode(7, LedContent.idle(), 4)
    assert idle[7:-2] == bytes.fromhex("002D 002D 002D 002D")
    paused = ModbusRtuCodec().encode(7, LedContent.paused(), 4)
    assert paused[7:-2] == bytes.fromhex("0050 002D 002D 002D")
    assert paused[-2:] == crc_bitwise(paused[:-2]).to_bytes(2, "little")


@pytest.mark.parametrize("address", [0, 248])
def test_modbus_refuses_broadcast_and_addresses_above_247(address: int) -> None:
    with pytest.raises(ValueError, match="address"):
        ModbusRtuCodec().encode(address, LedContent("1"), 4)


# --- four-byte frame


@pytest.mark.parametrize(
    ("address", "content", "digits", "frame"),
    [(1, LedContent("1005"), 4, "01 03 ED F1"),
     (5, LedContent("B012"), 4, "05 00 0C 11"),  # letters cannot be shown: 12
     (200, LedContent("9999", blink=True), 4, "C8 27 0F FE"),  # blinking cannot be sent either
     (0, LedContent("0"), 4, "00 00 00 00"),
     (1, LedContent.idle(), 4, "01 FF FF FF"),
     (1, LedContent.paused(), 4, "01 FF FE FE"),
     (1, LedContent("12345"), 4, "01 09 29 33"),  # 2345: the last digits
     (1, LedContent("1005"), 3, "01 00 05 06")],  # 005 on a 3-digit display
)
def test_four_byte_frame_is_address_high_low_additive_checksum(
    address: int, content: LedContent, digits: int, frame: str
) -> None:
    assert FourByteCodec().encode(address, content, digits) == bytes.fromhex(frame)


def test_codecs_are_named_by_the_config() -> None:
    assert codec_named("qms") == QmsFrameCodec()
    assert codec_named("four-byte") == FourByteCodec()
    assert codec_named("modbus-rtu", start_register=3) == ModbusRtuCodec(start_register=3)
    with pytest.raises(ValueError, match="unknown LED codec"):
        codec_named("dm56")


# --- the serial driver on pty pairs


def test_two_displays_on_one_bus_get_their_exact_frames(pty_pair: Pty) -> None:
    display = SerialLedDisplay(pty_pair.path, QmsFrameCodec(), baudrate=19200, digits=4)
    display.show(1, LedContent("1005"))
    display.show(2, LedContent("B012", blink=True))
    display.show(1, LedContent.idle())
    codec = QmsFrameCodec()
    assert pty_pair.written() == (
        codec.encode(1, LedContent("1005"), 4) + codec.encode(2, LedContent("B012", blink=True), 4)
        + codec.encode(1, LedContent.idle(), 4)
    )
    display.close()


def test_four_byte_displays_over_serial(pty_pair: Pty) -> None:
    display = SerialLedDisplay(pty_pair.path, FourByteCodec())
    display.show(1, LedContent("1005"))
    display.show(2, LedContent.paused())
    assert pty_pair.written() == bytes.fromhex("01 03 ED F1 02 FF FE FF")
    display.close()


def test_modbus_waits_for_each_display_to_answer_before_the_next_frame(
    pty_pair: Pty, caplog: pytest.LogCaptureFixture
) -> None:
    requests: list[bytes] = []

    def slave() -> None:  # two displays answering like Modbus slaves
        for _ in range(2):
            request = pty_pair.read_exactly(17)
            requests.append(request)
            reply = request[:6]
            os.write(pty_pair.controller, reply + crc_bitwise(reply).to_bytes(2, "little"))

    thread = threading.Thread(target=slave)
    thread.start()
    display = SerialLedDisplay(pty_pair.path, ModbusRtuCodec(), reply_timeout_s=2.0)
    with caplog.at_level(logging.WARNING, LOGGER):
        display.show(3, LedContent("1005"))
        display.show(4, LedContent("A001"))
    thread.join(5)
    assert requests == [ModbusRtuCodec().encode(3, LedContent("1005"), 4),
                        ModbusRtuCodec().encode(4, LedContent("A001"), 4)]
    assert not caplog.records
    display.close()


def test_a_silent_modbus_display_is_warned_about_once(pty_pair: Pty, caplog: pytest.LogCaptureFixture) -> None:
    display = SerialLedDisplay(pty_pair.path, ModbusRtuCodec(), reply_timeout_s=0.05)
    with caplog.at_level(logging.WARNING, LOGGER):
        display.show(9, LedContent("1"))
        display.show(9, LedContent("2"))
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "9" in caplog.records[0].getMessage()
    assert pty_pair.written() == (ModbusRtuCodec().encode(9, LedContent("1"), 4)
                                  + ModbusRtuCodec().encode(9, LedContent("2"), 4))
    display.close()


def test_an_unplugged_adapter_is_reopened_and_every_display_shown_again(
    tmp_path: Path, new_pty: Callable[[], Pty], caplog: pytest.LogCaptureFixture
) -> None:
    codec = QmsFrameCodec()
    link = tmp_path / "ttyUSB-led"  # as /dev/serial/by-id/... comes and goes with the adapter
    first = new_pty()
    link.symlink_to(first.path)
    display = SerialLedDisplay(str(link), codec)
    display.show(1, LedContent("1005"))
    display.show(2, LedContent("B012"))
    assert first.written() == codec.encode(1, LedContent("1005"), 4) + codec.encode(2, LedContent("B012"), 4)

    link.unlink()  # the adapter is pulled out
    first.unplug()
    with caplog.at_level(logging.INFO, LOGGER):
        display.show(1, LedContent("1006"))  # the write fails, the reopen too: no exception
        display.show(2, LedContent.paused())  # closed: remembered
        display.tick()
        assert not display.connected
        assert [r.levelno for r in caplog.records] == [logging.ERROR]

        second = new_pty()  # plugged back in
        link.symlink_to(second.path)
        display.tick()
    assert display.connected
    assert second.written() == codec.encode(1, LedContent("1006"), 4) + codec.encode(2, LedContent.paused(), 4)
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]
    display.show(2, LedContent("B013"))
    assert second.written() == codec.encode(2, LedContent("B013"), 4)
    display.close()


def test_an_adapter_pulled_while_nothing_is_sent_is_noticed_by_tick_and_back_at_the_next_show(
    tmp_path: Path, new_pty: Callable[[], Pty], caplog: pytest.LogCaptureFixture
) -> None:
    codec = FourByteCodec()
    link = tmp_path / "ttyUSB-led"
    first = new_pty()
    link.symlink_to(first.path)
    display = SerialLedDisplay(str(link), codec)
    display.show(2, LedContent("1005"))
    display.show(1, LedContent("7"))
    first.written()

    link.unlink()
    with caplog.at_level(logging.INFO, LOGGER):
        display.tick()  # the device file is gone: the port is closed at once, so a replug gets the same name
        assert not display.connected
        second = new_pty()
        link.symlink_to(second.path)
        display.show(3, LedContent.idle())
    assert second.written() == bytes.fromhex("01 00 07 08  02 03 ED F2  03 FF FF 01")  # by address
    assert first.written() == b""
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]
    display.close()


def test_an_adapter_missing_at_start_is_waited_for(
    tmp_path: Path, new_pty: Callable[[], Pty], caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "not-yet"
    with caplog.at_level(logging.INFO, LOGGER):
        display = SerialLedDisplay(str(link), QmsFrameCodec(), digits=3)
        display.show(5, LedContent("42"))
        display.tick()
        assert not display.connected
        later = new_pty()
        link.symlink_to(later.path)
        display.tick()
    assert later.written() == QmsFrameCodec().encode(5, LedContent("42"), 3)
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]
    display.close()


def test_a_closed_display_writes_nothing_more(pty_pair: Pty) -> None:
    display = SerialLedDisplay(pty_pair.path, FourByteCodec())
    display.close()
    display.show(1, LedContent("1"))
    display.tick()
    assert not display.connected
    assert pty_pair.written() == b""


def test_a_bad_address_is_a_value_error_not_a_lost_adapter(pty_pair: Pty) -> None:
    display = SerialLedDisplay(pty_pair.path, QmsFrameCodec())
    with pytest.raises(ValueError):
        display.show(0, LedContent("1"))
    assert display.connected
    display.close()


def test_the_fake_records_what_each_display_shows() -> None:
    fake = FakeLedDisplay()
    fake.show(1, LedContent("1005"))
    fake.show(2, LedContent.idle())
    fake.show(1, LedContent.paused())
    assert fake.shown == {1: LedContent.paused(), 2: LedContent.idle()}
    assert fake.history == [(1, LedContent("1005")), (2, LedContent.idle()), (1, LedContent.paused())]
    fake.close()
    assert fake.closed
