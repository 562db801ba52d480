"""Minimal, fast asyncio MQTT 5.0 client for benchmark load generators.

paho-mqtt runs one network thread per client and does a fair amount of work per
message; a load generator that simulates hundreds of devices in one process is
better served by this small client built on asyncio streams.  It is used ONLY by
benchmarks, never by the product code.

Scope (deliberately small):

* CONNECT (protocol level 5, clean start, optional username/password), CONNACK;
* SUBSCRIBE / SUBACK (QoS 0 or 1);
* PUBLISH QoS 0 and 1 with the Response Topic and Correlation Data properties;
  QoS 1 publishes are matched to their PUBACK by packet id, so any number of
  tasks may have publishes in flight at once (bounded by the broker's Receive
  Maximum);
* incoming PUBLISH QoS 0/1 (PUBACK sent for QoS 1), delivered as `Message`
  through `next_message()` or, when set, the `on_message` callback;
* PINGREQ when nothing was sent for keepalive/2 seconds; DISCONNECT on close.

QoS 2, will messages, topic aliases, AUTH and session resumption are not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Message",
    "Mqtt5Client",
    "MqttConnectError",
    "MqttError",
    "decode_varint",
    "encode_varint",
    "parse_properties",
]

# Control packet types (first byte, high nibble).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14

# Property identifiers used here.
PROP_RESPONSE_TOPIC = 0x08
PROP_CORRELATION_DATA = 0x09
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_RECEIVE_MAXIMUM = 0x21

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

_MAX_VARINT = 268_435_455
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_PINGREQ_PACKET = bytes((PINGREQ << 4, 0))
_DISCONNECT_PACKET = bytes((DISCONNECT << 4, 0))


class MqttError(Exception):
    """A negative acknowledgement (reason code >= 0x80) or a protocol violation."""

    def __init__(self, message: str, reason_code: int | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class MqttConnectError(ConnectionError):
    """The broker refused the CONNECT; `reason_code` is the CONNACK reason code."""

    def __init__(self, reason_code: int) -> None:
        super().__init__(f"CONNECT refused: reason code 0x{reason_code:02x}")
        self.reason_code = reason_code


@dataclass(frozen=True, slots=True)
class Message:
    """An application message received from the broker."""

    topic: str
    payload: bytes
    correlation_data: bytes | None
    response_topic: str | None
    retain: bool


# --------------------------------------------------------------------------- encoding


def encode_varint(value: int) -> bytes:
    """Encode a Variable Byte Integer (1 to 4 bytes, 7 bits per byte)."""
    if not 0 <= value <= _MAX_VARINT:
        raise ValueError(f"variable byte integer out of range: {value}")
    out = bytearray()
    while True:
        value, digit = value >> 7, value & 0x7F
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def _utf8(text: str) -> bytes:
    return _binary(text.encode("utf-8"))


def _binary(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("string or binary data longer than 65535 bytes")
    return _U16.pack(len(data)) + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def _connect_packet(client_id: str, username: str | None, password: str | None, keepalive: int) -> bytes:
    flags = 0x02  # clean start
    payload = _utf8(client_id)
    if username is not None:
        flags |= 0x80
        payload += _utf8(username)
    if password is not None:
        flags |= 0x40
        payload += _binary(password.encode("utf-8"))
    header = _utf8("MQTT") + bytes((5, flags)) + _U16.pack(keepalive) + encode_varint(0)
    return _packet(CONNECT << 4, header + payload)


def _publish_packet(
    topic: str,
    payload: bytes,
    qos: int,
    retain: bool,
    packet_id: int,
    response_topic: str | None,
    correlation_data: bytes | None,
) -> bytes:
    props = b""
    if response_topic is not None:
        props += bytes((PROP_RESPONSE_TOPIC,)) + _utf8(response_topic)
    if correlation_data is not None:
        props += bytes((PROP_CORRELATION_DATA,)) + _binary(correlation_data)
    pid = _U16.pack(packet_id) if qos else b""
    body = b"".join((_utf8(topic), pid, encode_varint(len(props)), props, payload))
    return _packet((PUBLISH << 4) | (qos << 1) | int(retain), body)


def _subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = _U16.pack(packet_id) + encode_varint(0) + _utf8(topic_filter) + bytes((qos,))
    return _packet((SUBSCRIBE << 4) | 0x02, body)


# --------------------------------------------------------------------------- decoding


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
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


def _read_binary(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        raise MqttError("truncated length prefix")
    (length,) = _U16.unpack_from(data, pos)
    end = pos + 2 + length
    if end > len(data):
        raise MqttError("truncated string or binary data")
    return data[pos + 2 : end], end


def _read_utf8(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _read_binary(data, pos)
    return raw.decode("utf-8"), pos


def _read_property(data: bytes, pos: int, kind: int) -> tuple[PropertyValue, int]:
    if kind in _FIXED_WIDTH:
        end = pos + _FIXED_WIDTH[kind]
        if end > len(data):
            raise MqttError("truncated property")
        return int.from_bytes(data[pos:end], "big"), end
    if kind == _VARINT:
        return decode_varint(data, pos)
    if kind == _UTF8:
        return _read_utf8(data, pos)
    if kind == _BINARY:
        return _read_binary(data, pos)
    key, pos = _read_utf8(data, pos)
    value, pos = _read_utf8(data, pos)
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


def _parse_publish(flags: int, body: bytes) -> tuple[Message, int, int]:
    """Return (message, qos, packet id or 0) for a PUBLISH packet."""
    qos = (flags >> 1) & 0x03
    topic, pos = _read_utf8(body, 0)
    packet_id = 0
    if qos:
        (packet_id,) = _U16.unpack_from(body, pos)
        pos += 2
    props, pos = parse_properties(body, pos)
    response_topic = props.get(PROP_RESPONSE_TOPIC)
    correlation = props.get(PROP_CORRELATION_DATA)
    message = Message(
        topic=topic,
        payload=body[pos:],
        correlation_data=correlation if isinstance(correlation, bytes) else None,
        response_topic=response_topic if isinstance(response_topic, str) else None,
        retain=bool(flags & 0x01),
    )
    return message, qos, packet_id


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one control packet; return (first byte, body). readexactly handles partial reads."""
    first = (await reader.readexactly(1))[0]
    length = 0
    for shift in range(0, 28, 7):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    else:
        raise MqttError("malformed remaining length")
    body = await reader.readexactly(length) if length else b""
    return first, body


# --------------------------------------------------------------------------- client


class Mqtt5Client:
    """One MQTT 5.0 connection. Create it with `await Mqtt5Client.connect(...)`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keepalive: int,
        receive_maximum: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._keepalive = keepalive
        self._inflight = asyncio.Semaphore(receive_maximum)
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._ids = itertools.cycle(range(1, 0x10000))
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._error: BaseException | None = None
        self._last_sent = time.monotonic()
        self.on_message: Callable[[Message], None] | None = None
        self._reader_task = asyncio.create_task(self._read_loop())
        self._ping_task = asyncio.create_task(self._ping_loop()) if keepalive else None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        client_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 60,
        timeout: float = 10.0,
    ) -> Mqtt5Client:
        """Open TCP (TCP_NODELAY), send CONNECT and wait for a successful CONNACK."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            writer.write(_connect_packet(client_id, username, password, keepalive))
            await writer.drain()
            props = await asyncio.wait_for(cls._read_connack(reader), timeout)
        except BaseException:
            writer.close()
            raise
        server_keepalive = props.get(PROP_SERVER_KEEP_ALIVE, keepalive)
        receive_maximum = props.get(PROP_RECEIVE_MAXIMUM, 0xFFFF)
        assert isinstance(server_keepalive, int) and isinstance(receive_maximum, int)
        return cls(reader, writer, server_keepalive, receive_maximum)

    @staticmethod
    async def _read_connack(reader: asyncio.StreamReader) -> dict[int, PropertyValue]:
        try:
            first, body = await _read_packet(reader)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError("connection closed before CONNACK") from exc
        if first >> 4 != CONNACK or len(body) < 2:
            raise ConnectionError(f"expected CONNACK, got packet type {first >> 4}")
        reason = body[1]
        if reason >= 0x80:
            raise MqttConnectError(reason)
        props, _ = parse_properties(body, 2) if len(body) > 2 else ({}, 2)
        return props

    # ----------------------------------------------------------------- public API

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK; raise MqttError if the broker refuses."""
        if qos not in (0, 1):
            raise ValueError("only QoS 0 and 1 are supported")
        packet_id, future = self._new_request()
        await self._send(_subscribe_packet(packet_id, topic_filter, qos))
        reason = await future
        if reason >= 0x80:
            raise MqttError(f"SUBSCRIBE {topic_filter!r} refused: 0x{reason:02x}", reason)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> None:
        """Publish; for QoS 1 wait for the PUBACK (raise MqttError on a negative one)."""
        if qos == 0:
            packet = _publish_packet(topic, payload, 0, retain, 0, response_topic, correlation_data)
            await self._send(packet)
            return
        if qos != 1:
            raise ValueError("only QoS 0 and 1 are supported")
        async with self._inflight:
            packet_id, future = self._new_request()
            packet = _publish_packet(topic, payload, 1, retain, packet_id, response_topic, correlation_data)
            await self._send(packet)
            reason = await future
        if reason >= 0x80:
            raise MqttError(f"PUBLISH to {topic!r} refused: 0x{reason:02x}", reason)

    async def next_message(self, timeout: float | None = None) -> Message:
        """Return the next received message (TimeoutError after `timeout` seconds)."""
        if self._queue.empty() and self._error is not None:
            raise ConnectionError("connection lost") from self._error
        message = await asyncio.wait_for(self._queue.get(), timeout)
        if message is None:
            self._queue.put_nowait(None)  # wake any other waiter too
            raise ConnectionError("connection lost") from self._error
        return message

    async def close(self) -> None:
        """Send DISCONNECT (reason 0x00), stop the background tasks and close the socket."""
        if self._error is None and not self._writer.is_closing():
            with contextlib.suppress(ConnectionError):
                self._writer.write(_DISCONNECT_PACKET)
                await self._writer.drain()
        self._fail(ConnectionError("client closed"))
        for task in (self._reader_task, self._ping_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> Mqtt5Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- internals

    def _new_request(self) -> tuple[int, asyncio.Future[int]]:
        if self._error is not None:
            raise ConnectionError("connection lost") from self._error
        for _ in range(0xFFFF):
            packet_id = next(self._ids)
            if packet_id not in self._pending:
                future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                self._pending[packet_id] = future
                return packet_id, future
        raise MqttError("all 65535 packet identifiers are in use")

    async def _send(self, packet: bytes) -> None:
        if self._error is not None:
            raise ConnectionError("connection lost") from self._error
        self._writer.write(packet)
        self._last_sent = time.monotonic()
        await self._writer.drain()

    async def _read_loop(self) -> None:
        try:
            while True:
                first, body = await _read_packet(self._reader)
                self._dispatch(first, body)
        except asyncio.CancelledError:
            raise
        except (asyncio.IncompleteReadError, OSError) as exc:
            self._fail(ConnectionError(f"connection lost: {exc!r}"))
        except Exception as exc:
            self._fail(exc)
            self._writer.close()

    def _dispatch(self, first: int, body: bytes) -> None:
        kind = first >> 4
        if kind == PUBLISH:
            self._on_publish(first & 0x0F, body)
        elif kind in (PUBACK, SUBACK):
            self._on_ack(kind, body)
        elif kind == DISCONNECT:
            reason = body[0] if body else 0
            raise MqttError(f"broker sent DISCONNECT 0x{reason:02x}", reason)
        elif kind != PINGRESP:
            raise MqttError(f"unexpected packet type {kind}")

    def _on_publish(self, flags: int, body: bytes) -> None:
        message, qos, packet_id = _parse_publish(flags, body)
        if qos == 1:
            self._writer.write(bytes((PUBACK << 4, 2)) + _U16.pack(packet_id))
            self._last_sent = time.monotonic()
        elif qos != 0:
            raise MqttError("received a QoS 2 PUBLISH, which this client does not support")
        callback = self.on_message
        if callback is not None:
            callback(message)
        else:
            self._queue.put_nowait(message)

    def _on_ack(self, kind: int, body: bytes) -> None:
        (packet_id,) = _U16.unpack_from(body, 0)
        if kind == PUBACK:
            reason = body[2] if len(body) > 2 else 0  # remaining length 2 means success
        else:
            _, pos = parse_properties(body, 2)
            reason = body[pos]  # one reason code per filter; we send exactly one
        future = self._pending.pop(packet_id, None)
        if future is not None and not future.done():
            future.set_result(reason)

    async def _ping_loop(self) -> None:
        interval = self._keepalive / 2
        while self._error is None:
            idle = time.monotonic() - self._last_sent
            if idle >= interval:
                with contextlib.suppress(ConnectionError):
                    await self._send(_PINGREQ_PACKET)
                idle = 0.0
            await asyncio.sleep(interval - idle)

    def _fail(self, exc: BaseException) -> None:
        """Mark the connection dead, fail every pending request and wake next_message()."""
        if self._error is not None:
            return
        self._error = exc
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(str(exc)))
        self._pending.clear()
        self._queue.put_nowait(None)
