"""MQTT 5.0 packets as bytes: the part of the protocol the server's link and the benchmarks' client speak.

Pure: no sockets, no threads. CONNECT (clean start, will, credentials), PUBLISH QoS 0/1 with Response
Topic, Correlation Data and Message Expiry, SUBSCRIBE, PUBACK, PINGREQ, DISCONNECT; and the reading of a
byte stream into whole packets. QoS 2, topic aliases and AUTH are not spoken (nothing here asks for them).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

# Control packet types (first byte, high nibble).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14

# Property identifiers used here.
PROP_MESSAGE_EXPIRY = 0x02
PROP_RESPONSE_TOPIC = 0x08
PROP_CORRELATION_DATA = 0x09
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_REASON_STRING = 0x1F
PROP_RECEIVE_MAXIMUM = 0x21
PROP_MAXIMUM_PACKET_SIZE = 0x27

# Value type of every MQTT 5 property (spec table 2-4, section 2.2.2.2).
_BYTE, _TWO, _FOUR, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
_PROPERTY_TYPES: dict[int, int] = {
    0x01: _BYTE,  # Payload Format Indicator
    0x02: _FOUR,  # Message Expiry Interval
    0x03: _UTF8,  # Content Type
    0x08: _UTF8,  # Response Topic
    0x09: _BINARY,  # Correlation Data
    0x0B: _VARINT,  # Subscription Identifier
    0x11: _FOUR,  # Session Expiry Interval
    0x12: _UTF8,  # Assigned Client Identifier
    0x13: _TWO,  # Server Keep Alive
    0x15: _UTF8,  # Authentication Method
    0x16: _BINARY,  # Authentication Data
    0x17: _BYTE,  # Request Problem Information
    0x18: _FOUR,  # Will Delay Interval
    0x19: _BYTE,  # Request Response Information
    0x1A: _UTF8,  # Response Information
    0x1C: _UTF8,  # Server Reference
    0x1F: _UTF8,  # Reason String
    0x21: _TWO,  # Receive Maximum
    0x22: _TWO,  # Topic Alias Maximum
    0x23: _TWO,  # Topic Alias
    0x24: _BYTE,  # Maximum QoS
    0x25: _BYTE,  # Retain Available
    0x26: _PAIR,  # User Property
    0x27: _FOUR,  # Maximum Packet Size
    0x28: _BYTE,  # Wildcard Subscription Available
    0x29: _BYTE,  # Subscription Identifier Available
    0x2A: _BYTE,  # Shared Subscription Available
}
_FIXED_WIDTH = {_BYTE: 1, _TWO: 2, _FOUR: 4}

PropertyValue = int | str | bytes | tuple[str, str]

MAX_VARINT = 268_435_455
U16 = struct.Struct("!H")
PINGREQ_PACKET = bytes((PINGREQ << 4, 0))
DISCONNECT_PACKET = bytes((DISCONNECT << 4, 0))  # normal disconnection: the broker does not send the will
WILL_DISCONNECT_PACKET = bytes((DISCONNECT << 4, 1, 0x04))  # "disconnect with will message": the broker sends it


class MqttError(Exception):
    """A negative acknowledgement (reason code >= 0x80) or a protocol violation."""

    def __init__(self, message: str, reason_code: int | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class Publish(NamedTuple):
    """An incoming PUBLISH, read. A named tuple: one is made per message a server takes, three times as fast as a
    frozen dataclass."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int  # 0 for QoS 0
    retain: bool
    response_topic: str | None
    correlation: bytes | None
    expiry_s: int | None  # what is left of the Message Expiry Interval, when it has one


# --------------------------------------------------------------------------- encoding


def encode_varint(value: int) -> bytes:
    """Encode a Variable Byte Integer (1 to 4 bytes, 7 bits per byte)."""
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"variable byte integer out of range: {value}")
    out = bytearray()
    while True:
        value, digit = value >> 7, value & 0x7F
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def utf8(text: str) -> bytes:
    return binary(text.encode("utf-8"))


def binary(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("string or binary data longer than 65535 bytes")
    return U16.pack(len(data)) + data


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def connect_packet(client_id: str, *, keepalive: int, username: str | None = None, password: str | None = None,
                   will: Will | None = None, maximum_packet_size: int | None = None) -> bytes:
    """CONNECT with clean start: nothing of an earlier session is resumed (DESIGN.md: resynchronise instead)."""
    flags = 0x02
    payload = utf8(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += encode_varint(0) + utf8(will.topic) + binary(will.payload)
    if username is not None:
        flags |= 0x80
        payload += utf8(username)
    if password is not None:
        flags |= 0x40
        payload += binary(password.encode("utf-8"))
    props = b"" if maximum_packet_size is None else bytes((PROP_MAXIMUM_PACKET_SIZE,)) + maximum_packet_size.to_bytes(
        4, "big")
    header = utf8("MQTT") + bytes((5, flags)) + U16.pack(keepalive) + encode_varint(len(props)) + props
    return packet(CONNECT << 4, header + payload)


def publish_packet(topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, packet_id: int = 0,
                   response_topic: str | None = None, correlation: bytes | None = None,
                   expiry_s: int | None = None) -> bytes:
    props = b""
    if expiry_s is not None:
        props += bytes((PROP_MESSAGE_EXPIRY,)) + expiry_s.to_bytes(4, "big")
    if response_topic is not None:
        props += bytes((PROP_RESPONSE_TOPIC,)) + utf8(response_topic)
    if correlation is not None:
        props += bytes((PROP_CORRELATION_DATA,)) + binary(correlation)
    pid = U16.pack(packet_id) if qos else b""
    body = b"".join((utf8(topic), pid, encode_varint(len(props)), props, payload))
    return packet((PUBLISH << 4) | (qos << 1) | int(retain), body)


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = U16.pack(packet_id) + encode_varint(0) + utf8(topic_filter) + bytes((qos,))
    return packet((SUBSCRIBE << 4) | 0x02, body)


def puback_packet(packet_id: int) -> bytes:
    return bytes((PUBACK << 4, 2)) + U16.pack(packet_id)  # remaining length 2: success, no properties


# --------------------------------------------------------------------------- decoding


def decode_varint(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a Variable Byte Integer at `pos`; return (value, position after it)."""
    value = 0
    for shift in range(0, 28, 7):
        if pos >= len(data):
            raise MqttError("truncated variable byte integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise MqttError("malformed variable byte integer (more than 4 bytes)")


def read_binary(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        raise MqttError("truncated length prefix")
    (length,) = U16.unpack_from(data, pos)
    end = pos + 2 + length
    if end > len(data):
        raise MqttError("truncated string or binary data")
    return data[pos + 2 : end], end


def read_utf8(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = read_binary(data, pos)
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError as exc:
        raise MqttError("a string that is not UTF-8") from exc


def _read_property(data: bytes, pos: int, kind: int) -> tuple[PropertyValue, int]:
    if kind in _FIXED_WIDTH:
        end = pos + _FIXED_WIDTH[kind]
        if end > len(data):
            raise MqttError("truncated property")
        return int.from_bytes(data[pos:end], "big"), end
    if kind == _VARINT:
        return decode_varint(data, pos)
    if kind == _UTF8:
        return read_utf8(data, pos)
    if kind == _BINARY:
        return read_binary(data, pos)
    key, pos = read_utf8(data, pos)
    value, pos = read_utf8(data, pos)
    return (key, value), pos


def parse_properties(data: bytes, pos: int) -> tuple[dict[int, PropertyValue], int]:
    """Parse a property block at `pos`; return ({identifier: value}, position after it).

    Repeatable properties (User Property, Subscription Identifier) keep their last value.
    """
    length, pos = decode_varint(data, pos)
    end = pos + length
    if end > len(data):
        raise MqttError("property length exceeds packet")
    props: dict[int, PropertyValue] = {}
    while pos < end:
        ident, pos = decode_varint(data, pos)
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            raise MqttError(f"unknown property identifier 0x{ident:02x}")
        props[ident], pos = _read_property(data, pos, kind)
    if pos != end:
        raise MqttError("property block overruns its length")
    return props, end


def parse_publish(flags: int, body: bytes) -> Publish:
    """Read a PUBLISH. The properties a request carries are read where they stand, the rest as
    `parse_properties` reads them: a server reads thousands a second."""
    qos = (flags >> 1) & 0x03
    if qos > 1:
        raise MqttError("a QoS 2 PUBLISH, which is never asked for")
    topic, pos = read_utf8(body, 0)
    size = len(body)
    packet_id = 0
    if qos:
        if pos + 2 > size:
            raise MqttError("truncated packet identifier")
        packet_id = (body[pos] << 8) | body[pos + 1]
        pos += 2
    response_topic: str | None = None
    correlation: bytes | None = None
    expiry: int | None = None
    if pos < size and body[pos] == 0:  # the usual case: no properties
        pos += 1
    else:
        length, pos = decode_varint(body, pos)
        end = pos + length
        if end > size:
            raise MqttError("property length exceeds packet")
        while pos < end:
            ident = body[pos]
            if ident == PROP_RESPONSE_TOPIC:
                response_topic, pos = read_utf8(body, pos + 1)
            elif ident == PROP_CORRELATION_DATA:
                correlation, pos = read_binary(body, pos + 1)
            elif ident == PROP_MESSAGE_EXPIRY:
                if pos + 5 > size:
                    raise MqttError("truncated property")
                expiry, pos = int.from_bytes(body[pos + 1 : pos + 5], "big"), pos + 5
            else:
                ident, pos = decode_varint(body, pos)
                kind = _PROPERTY_TYPES.get(ident)
                if kind is None:
                    raise MqttError(f"unknown property identifier 0x{ident:02x}")
                _, pos = _read_property(body, pos, kind)
        if pos != end:
            raise MqttError("property block overruns its length")
    return Publish(topic, body[pos:], qos, packet_id, bool(flags & 0x01), response_topic, correlation, expiry)


def take_packets(buffer: bytearray, most: int = MAX_VARINT) -> list[tuple[int, bytes]]:
    """The whole packets at the start of `buffer`, as (first byte, body), taken out of it; a packet not yet
    whole stays for the next read. A packet announcing a body over `most` bytes is refused at once."""
    packets: list[tuple[int, bytes]] = []
    pos, size = 0, len(buffer)
    while size - pos >= 2:
        length, body_at = 0, pos + 1
        for shift in range(0, 28, 7):
            if body_at >= size:
                break
            byte = buffer[body_at]
            body_at += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
        else:
            raise MqttError("malformed remaining length")
        if length > most:
            raise MqttError(f"a packet of {length} bytes, over the {most} this end takes")
        if buffer[body_at - 1] & 0x80 or body_at + length > size:  # the length or the body is still to come
            break
        packets.append((buffer[pos], bytes(buffer[body_at : body_at + length])))
        pos = body_at + length
    del buffer[:pos]
    return packets
