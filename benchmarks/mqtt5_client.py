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
import time
from collections.abc import Callable
from dataclasses import dataclass

from protocol.mqtt5_codec import (
    CONNACK,
    DISCONNECT,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PINGRESP,
    PROP_RECEIVE_MAXIMUM,
    PROP_SERVER_KEEP_ALIVE,
    PUBACK,
    PUBLISH,
    SUBACK,
    U16,
    MqttError,
    PropertyValue,
    connect_packet,
    parse_properties,
    parse_publish,
    puback_packet,
    publish_packet,
    subscribe_packet,
)

__all__ = ["Message", "Mqtt5Client", "MqttConnectError"]


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
            writer.write(connect_packet(client_id, keepalive=keepalive, username=username, password=password))
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
        await self._send(subscribe_packet(packet_id, topic_filter, qos))
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
            packet = publish_packet(topic, payload, qos=0, retain=retain, response_topic=response_topic,
                                    correlation=correlation_data)
            await self._send(packet)
            return
        if qos != 1:
            raise ValueError("only QoS 0 and 1 are supported")
        async with self._inflight:
            packet_id, future = self._new_request()
            packet = publish_packet(topic, payload, retain=retain, packet_id=packet_id,
                                    response_topic=response_topic, correlation=correlation_data)
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
                self._writer.write(DISCONNECT_PACKET)
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
        read = parse_publish(flags, body)
        if read.qos == 1:
            self._writer.write(puback_packet(read.packet_id))
            self._last_sent = time.monotonic()
        message = Message(read.topic, read.payload, read.correlation, read.response_topic, read.retain)
        callback = self.on_message
        if callback is not None:
            callback(message)
        else:
            self._queue.put_nowait(message)

    def _on_ack(self, kind: int, body: bytes) -> None:
        (packet_id,) = U16.unpack_from(body, 0)
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
                    await self._send(PINGREQ_PACKET)
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
