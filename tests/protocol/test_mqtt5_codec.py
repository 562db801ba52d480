"""protocol/mqtt5_codec.py: variable byte integers, property blocks, a byte stream cut into packets, PUBLISH read."""

from __future__ import annotations

import pytest

from protocol.mqtt5_codec import (
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PUBACK,
    PUBLISH,
    MqttError,
    Publish,
    decode_varint,
    encode_varint,
    packet,
    parse_properties,
    parse_publish,
    puback_packet,
    publish_packet,
    take_packets,
)

PINGRESP_PACKET = b"\xd0\x00"


# --- variable byte integers and properties (moved from tests/benchmarks/test_mqtt5_client.py) -----


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_151, b"\xff\xff\x7f"),
        (2_097_152, b"\x80\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_variable_byte_integer_boundaries(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(b"\xaa" + encoded, 1) == (value, 1 + len(encoded))


def test_parse_properties_skips_every_property_type() -> None:
    block = (
        b"\x01\x01"  # Payload Format Indicator (byte)
        + b"\x02\x00\x00\x00\x3c"  # Message Expiry Interval (four bytes)
        + b"\x23\x00\x05"  # Topic Alias (two bytes)
        + b"\x0b\x80\x01"  # Subscription Identifier (variable byte integer 128)
        + b"\x03\x00\x04json"  # Content Type (UTF-8)
        + b"\x09\x00\x02\xca\xfe"  # Correlation Data (binary)
        + b"\x26\x00\x01k\x00\x01v"  # User Property (string pair)
        + b"\x08\x00\x03r/t"  # Response Topic (UTF-8)
    )
    data = encode_varint(len(block)) + block + b"payload"
    props, end = parse_properties(data, 0)
    assert data[end:] == b"payload"
    assert props == {
        0x01: 1,
        0x02: 60,
        0x23: 5,
        0x0B: 128,
        0x03: "json",
        0x09: b"\xca\xfe",
        0x26: ("k", "v"),
        0x08: "r/t",
    }


def test_a_variable_byte_integer_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_varint(268_435_456)
    with pytest.raises(MqttError):
        decode_varint(b"\xff\xff\xff\xff\x01", 0)
    with pytest.raises(MqttError):
        decode_varint(b"\x80", 0)


# --- take_packets -------------------------------------------------------------------------------


def fed(stream: bytes, sizes: list[int]) -> list[tuple[int, bytes]]:
    """`stream` read in pieces of `sizes` (the rest in one), cut as the link does after each read."""
    buffer, packets, pos = bytearray(), [], 0
    for size in [*sizes, len(stream)]:
        buffer += stream[pos : pos + size]
        pos += size
        packets += take_packets(buffer)
    assert not buffer
    return packets


def test_several_packets_in_one_read() -> None:
    stream = publish_packet("a", b"1", packet_id=1) + PINGRESP_PACKET + puback_packet(7) + publish_packet("b", b"")
    buffer = bytearray(stream)
    packets = take_packets(buffer)
    assert [first >> 4 for first, _ in packets] == [PUBLISH, 13, PUBACK, PUBLISH]
    assert packets[1] == (0xD0, b"")
    assert packets[2] == (PUBACK << 4, b"\x00\x07")
    assert buffer == bytearray()


def test_zero_length_packets() -> None:
    assert take_packets(bytearray(PINGRESP_PACKET)) == [(0xD0, b"")]
    assert take_packets(bytearray(PINGRESP_PACKET * 3)) == [(0xD0, b"")] * 3
    assert take_packets(bytearray(PINGREQ_PACKET + DISCONNECT_PACKET)) == [(0xC0, b""), (0xE0, b"")]


def test_a_partial_fixed_header_waits_for_the_next_read() -> None:
    buffer = bytearray(b"\xd0")
    assert take_packets(buffer) == [] and buffer == bytearray(b"\xd0")
    buffer += b"\x00\x30"
    assert take_packets(buffer) == [(0xD0, b"")] and buffer == bytearray(b"\x30")


@pytest.mark.parametrize("body_size", [0, 1, 127, 128, 16_383, 16_384, 70_000])
def test_every_split_of_a_packet_gives_it_once_whole(body_size: int) -> None:
    whole = packet(0x30, bytes(range(256)) * (body_size // 256) + bytes(body_size % 256))
    header = len(whole) - body_size
    for split in sorted({1, 2, header - 1, header, header + 1, len(whole) - 1} - {0, len(whole)}):
        if 0 < split < len(whole):
            assert fed(whole + PINGRESP_PACKET, [split]) == [(0x30, whole[header:]), (0xD0, b"")]
    assert fed(whole, [1] * min(len(whole) - 1, 8)) == [(0x30, whole[header:])]


def test_a_multi_byte_remaining_length_split_across_reads() -> None:
    whole = packet(0x30, bytes(2_097_152))  # a 4-byte remaining length
    assert whole[1:5] == b"\x80\x80\x80\x01"
    buffer = bytearray()
    for piece in (whole[:2], whole[2:3], whole[3:4], whole[4:5]):
        buffer += piece
        assert take_packets(buffer) == []
    buffer += whole[5:]
    assert take_packets(buffer) == [(0x30, whole[5:])]


def test_a_remaining_length_of_five_bytes_is_malformed() -> None:
    with pytest.raises(MqttError):
        take_packets(bytearray(b"\x30\xff\xff\xff\xff\x01" + bytes(16)))
    with pytest.raises(MqttError):  # also when it comes after a good packet, and before the rest is read
        take_packets(bytearray(PINGRESP_PACKET + b"\x30\x80\x80\x80\x80"))


def test_a_packet_not_yet_whole_stays_behind_the_whole_ones() -> None:
    first, second = publish_packet("t", b"x" * 300, packet_id=3), publish_packet("u", b"y" * 300, packet_id=4)
    buffer = bytearray(first + second[:100])
    assert take_packets(buffer) == [(first[0], first[3:])]
    assert buffer == bytearray(second[:100])


# --- parse_publish ------------------------------------------------------------------------------


def read(data: bytes) -> Publish:
    ((first, body),) = take_packets(bytearray(data))
    assert first >> 4 == PUBLISH
    return parse_publish(first & 0x0F, body)


def test_qos_0_publish() -> None:
    message = read(publish_packet("qms/v1/c/x", b"payload", qos=0))
    assert (message.topic, message.payload, message.qos, message.packet_id, message.retain) == (
        "qms/v1/c/x", b"payload", 0, 0, False)
    assert (message.response_topic, message.correlation, message.expiry_s) == (None, None, None)


def test_qos_1_publish_with_properties_and_retain() -> None:
    message = read(publish_packet("qms/v1/c/kiosk/k1/ticket/request", "Đất đai".encode(), qos=1, retain=True,
                                  packet_id=65535, response_topic="qms/v1/c/kiosk/k1/ticket/response",
                                  correlation=b"\x00\xffid", expiry_s=30))
    assert (message.qos, message.packet_id, message.retain) == (1, 65535, True)
    assert message.payload.decode() == "Đất đai"
    assert message.response_topic == "qms/v1/c/kiosk/k1/ticket/response"
    assert message.correlation == b"\x00\xffid"
    assert message.expiry_s == 30


def test_a_publish_with_other_properties_keeps_its_payload() -> None:
    props = b"\x01\x01" + b"\x03\x00\x04json" + b"\x26\x00\x01k\x00\x01v" + b"\x0b\x05"
    body = b"\x00\x01t" + b"\x00\x09" + encode_varint(len(props)) + props + b"\x00body"
    message = parse_publish(0x02, body)
    assert (message.topic, message.packet_id, message.payload) == ("t", 9, b"\x00body")


def test_an_empty_payload_and_a_publish_with_no_property_block() -> None:
    assert read(publish_packet("t", b"", packet_id=1)).payload == b""
    with pytest.raises(MqttError):  # MQTT 5 always has the property length
        parse_publish(0x00, b"\x00\x01t")


def test_qos_2_is_refused() -> None:
    with pytest.raises(MqttError, match="QoS 2"):
        parse_publish(0x04, b"\x00\x01t\x00\x01\x00")
    with pytest.raises(MqttError):
        parse_publish(0x06, b"\x00\x01t\x00\x01\x00")  # QoS 3: malformed


@pytest.mark.parametrize("body", [
    b"", b"\x00", b"\x00\x05ab", b"\x00\x01\xff\x00", b"\x00\x01t\x00", b"\x00\x01t\x00\x01\x05\x08\x00",
    b"\x00\x01t\x00\x01\x02\x7f\x00", b"\x00\x01t\x00\x01\x03\x09\x00\x05",
])
def test_a_truncated_or_malformed_publish_raises_mqtt_error_only(body: bytes) -> None:
    with pytest.raises(MqttError):
        parse_publish(0x02, body)
