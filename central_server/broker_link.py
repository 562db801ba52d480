"""The server's MQTT 5 connection, read and written by the thread that polls it: the server's state thread.

Why not paho, as the agents use: under load paho's read path (one `recv(1)` per byte of every fixed
header), its socketpair wake-up for every publish and the GIL hand-off with the state thread took about
half of the server's core (DESIGN.md). Here a poll reads 64 KiB at a time and cuts whole packets out of the
buffer (`protocol/mqtt5_codec.py`) and acknowledges them in one write. The server's state thread polls between
its batches and every few requests of one (`ServerLoop`), so that no GIL passes between two threads for each
read: with an I/O thread of its own the state thread waited for the GIL a quarter of its time at saturation.
Connecting (TCP, TLS, CONNECT and CONNACK) is done by a thread of its own, so that a poll never waits on the
network. Without a polling caller (`start()`), an I/O thread of the link's own polls.

What it keeps of a device's link (`protocol/link.py`): clean start and resynchronisation on every connect
(the server republishes its retained state when `on_ready` fires), the will on the server's status,
resubscription, reconnection within 2 s, TCP_NODELAY, TLS and credentials. It respects the broker's Receive
Maximum and Maximum Packet Size; publishes beyond the window wait in memory, bounded: past the bound the
connection is dropped and made again, and the state republished (an answer lost that way is asked again:
the requests carry their ids). It reads only while its owner has room (`read_while`): past that, what devices
send waits in the broker.
"""
from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from protocol.config import MqttSettings
from protocol.link import Handler, Message
from protocol.messages import OFFLINE
from protocol.mqtt5_codec import (
    CONNACK,
    DISCONNECT,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PINGRESP,
    PROP_MAXIMUM_PACKET_SIZE,
    PROP_REASON_STRING,
    PROP_RECEIVE_MAXIMUM,
    PROP_SERVER_KEEP_ALIVE,
    PUBACK,
    PUBLISH,
    SUBACK,
    U16,
    WILL_DISCONNECT_PACKET,
    MqttError,
    Will,
    connect_packet,
    parse_properties,
    parse_publish,
    puback_packet,
    publish_packet,
    subscribe_packet,
    take_packets,
)

log = logging.getLogger(__name__)

RECONNECT_S = 2.0  # at most this long between attempts, as the devices' links
CONNECT_TIMEOUT_S = 5.0
READ_BYTES = 65536
MAX_WAITING_BYTES = 32 * 1024 * 1024  # publishes waiting for the broker's window; past it the connection is made anew
# The largest packet taken from the broker (told it in CONNECT): the contract's requests are far smaller, and the
# shipped broker allows 200 KiB; a larger one would otherwise be buffered whole before it could be refused.
MAX_PACKET_IN = 256 * 1024
ROUTES_KEPT = 10_000  # topics whose handler is remembered (one per device and kind of request)


class Publishable(Protocol):
    """What `publish_many` sends (the server's `Outbound`)."""

    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def retain(self) -> bool: ...
    @property
    def correlation(self) -> bytes | None: ...


@dataclass(slots=True)
class Delivery:
    """A QoS 1 publish: `sent` when it was queued on a connection, `acked` at its PUBACK (`BrokerLink.wait`)."""

    sent: bool
    acked: bool = False
    connection: int = 0  # which connection it went out on: one later never acknowledges it


@dataclass(slots=True)
class _Waiting:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None
    delivery: Delivery


class _Lost(Exception):
    """The connection ended (closed by the broker, an error, a timeout, or dropped on purpose)."""


def _matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching, for the filters the server subscribes to (`+` and a final `#`)."""
    parts, levels = topic_filter.split("/"), topic.split("/")
    for index, part in enumerate(parts):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(parts) == len(levels)


def _call(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("a link callback failed")


def _delivered_as(topic_filter: str) -> str:
    """A shared subscription `$share/<group>/<filter>` delivers under the topics `<filter>` matches."""
    return topic_filter.split("/", 2)[2] if topic_filter.startswith("$share/") else topic_filter


@dataclass(slots=True)
class _Session:
    """One connection, as `poll` drives it."""

    sock: socket.socket
    buffer: bytearray  # read, not yet cut into packets
    unsent: bytearray = field(default_factory=bytearray)
    last_sent: float = field(default_factory=time.monotonic)
    ping_sent: float | None = None


class BrokerLink:
    """The central server's session with its broker.

    Two ways to run it. `start()`: an I/O thread of its own polls, and handlers and callbacks run on it and must
    only enqueue. `start(polled=True)`: the caller's thread (the server's state thread) calls `poll` between its
    batches, and handlers and callbacks run in it: no GIL passes between two threads for each read (measured:
    the state thread waited for the GIL a quarter of its time at saturation). Either way a thread of its own
    connects, so that no caller waits on the network; `publish` is safe from any thread."""

    def __init__(self, settings: MqttSettings, *, client_id: str, status_topic: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._will = Will(status_topic, OFFLINE)
        self._filters: list[tuple[str, str, Handler]] = []  # (filter, filter delivered as, handler)
        self._routes: dict[str, Handler | None] = {}
        self._ready_callbacks: list[Callable[[], None]] = []
        self._lost_callbacks: list[Callable[[], None]] = []
        self._may_read: Callable[[], bool] = lambda: True
        self.connected = threading.Event()
        self.ready = threading.Event()
        self.broker_error = ""
        self._lock = threading.Lock()  # what the threads share: the queues below, the window, the ids
        self._acks = threading.Condition(self._lock)  # notified at each PUBACK
        self._out: deque[bytes] = deque()  # whole packets for the polling thread to write
        self._waiting: deque[_Waiting] = deque()  # publishes beyond the broker's Receive Maximum
        self._waiting_bytes = 0
        self._inflight: dict[int, Delivery] = {}
        self._next_id = 1
        self._window = 0xFFFF  # the broker's Receive Maximum
        self._max_packet = 268_435_460
        self._keepalive = settings.keepalive_s
        self._pending_subs: dict[int, str] = {}  # SUBSCRIBE packet id -> its filter, until the SUBACK
        self._connection = 0  # counts the connections made
        self._refused_subs = False  # a subscription of this connection was refused: it is never ready
        self._offline_said: Delivery | None = None  # the offline status stop() queued on the connection
        self._live = False  # a connection is up (under the lock: publishes are queued, not refused)
        self._drop_reason = ""  # set to make the polling thread drop the connection
        self._fresh: _Session | None = None  # connected by the connector, not yet taken by `poll` (under the lock)
        self._session: _Session | None = None  # the polling thread's
        self._over = threading.Event()  # the polling thread ended the session (or the link stops)
        self._lost_why = ""
        self._poller = 0  # the polling thread's ident: it writes what it publishes itself, without a wake-up
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._connector = threading.Thread(target=self._connect_forever, name="broker-connect", daemon=True)
        self._thread: threading.Thread | None = None  # the I/O thread, unless polled

    # --- the caller's side ----------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Before `start`: every connection subscribes to each filter, and is ready once all are acknowledged."""
        self._filters.append((topic_filter, _delivered_as(topic_filter), handler))

    def on_ready(self, callback: Callable[[], None]) -> None:
        self._ready_callbacks.append(callback)

    def on_lost(self, callback: Callable[[], None]) -> None:
        self._lost_callbacks.append(callback)

    def read_while(self, may_read: Callable[[], bool]) -> None:
        """Before `start`: read from the broker only while `may_read()` (a polled link's bound: the state thread's
        inbox has room). Unread, a flood waits in the broker's queue for this client, not in this process."""
        self._may_read = may_read

    def start(self, *, polled: bool = False) -> None:
        """Connect, now and whenever the connection is lost. `polled`: the calling thread calls `poll`."""
        self._connector.start()
        if polled:
            self._poller = threading.get_ident()
        else:
            self._thread = threading.Thread(target=self._poll_forever, name="broker-link", daemon=True)
            self._thread.start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                correlation: bytes | None = None) -> Delivery:
        """Queue a QoS 1 publish; not sent (`sent` False) while there is no connection, when it cannot be encoded,
        and past MAX_WAITING_BYTES (the connection is then made again)."""
        with self._lock:
            delivery = self._queue(topic, payload, retain, correlation)
            self._admit()
        self._flush()
        return delivery

    def publish_many(self, messages: Sequence[Publishable]) -> list[Delivery]:
        """`publish` each, in order, under one taking of the lock (a batch's state and replies)."""
        with self._lock:
            deliveries = [self._queue(m.topic, m.payload, m.retain, m.correlation) for m in messages]
            self._admit()
        self._flush()
        return deliveries

    def _queue(self, topic: str, payload: bytes, retain: bool, correlation: bytes | None) -> Delivery:
        """Under the lock: one publish, waiting for the window (`_admit` sends it)."""
        too_long = len(topic) > 0x3FFF and len(topic.encode()) > 0xFFFF  # 16,383 characters always fit
        if too_long or (correlation is not None and len(correlation) > 0xFFFF):
            log.error("not published: a topic or correlation over 65535 bytes (%s)", topic[:200])
            return Delivery(sent=False)
        if not self._live or self._drop_reason:
            return Delivery(sent=False)
        if self._waiting_bytes > MAX_WAITING_BYTES:
            self._drop_reason = f"over {MAX_WAITING_BYTES} bytes wait for the broker to acknowledge"
            self._wake()
            return Delivery(sent=False)
        delivery = Delivery(sent=True, connection=self._connection)
        self._waiting.append(_Waiting(topic, payload, retain, correlation, delivery))
        self._waiting_bytes += len(payload) + len(topic)
        return delivery

    def wait(self, delivery: Delivery, timeout_s: float) -> bool:
        """Wait until the broker acknowledged `delivery` (False: not sent, or not acknowledged in time). The polling
        thread polls meanwhile (handlers run)."""
        def settled() -> bool:
            return (delivery.acked or not delivery.sent or not self._live
                    or delivery.connection != self._connection)

        if not delivery.sent:
            return False
        if self._polling_here():
            deadline = time.monotonic() + timeout_s
            while not settled() and (left := deadline - time.monotonic()) > 0:
                self.poll(left)
            return delivery.acked
        with self._acks:
            return self._acks.wait_for(settled, timeout_s) and delivery.acked

    def stop(self, timeout_s: float = 3.0) -> None:
        """Say offline (a clean disconnect fires no will), disconnect and end the link's threads. A polled link is
        stopped by the thread that polls it."""
        if self._thread is None and self._poller and not self._polling_here():
            raise RuntimeError("a polled link is stopped by the thread that polls it")
        self.ready.clear()
        offline = self.publish(self._will.topic, OFFLINE, retain=True)
        self._offline_said = offline if offline.sent else None
        if offline.sent and not self.wait(offline, timeout_s):
            log.warning("offline status not acknowledged by the broker within %g s", timeout_s)
        self._stopping.set()
        self._over.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout_s + CONNECT_TIMEOUT_S)
        if self._connector.ident is not None:
            self._connector.join(CONNECT_TIMEOUT_S + 1)
        with self._lock:
            session = self._session or self._fresh  # a connection made while stopping is said goodbye on too
            self._session = self._fresh = None
        if session is not None:
            self._goodbye(session)
            self._end(session.sock)
        self._wake_r.close()
        self._wake_w.close()

    # --- shared, under the lock -----------------------------------------------------------

    def _admit(self) -> None:
        """Move waiting publishes into the broker's window, as packets for the polling thread (under the lock)."""
        was_idle = not self._out
        while self._waiting and len(self._inflight) < self._window:
            item = self._waiting.popleft()
            self._waiting_bytes -= len(item.payload) + len(item.topic)
            packet_id = self._packet_id()
            packet = publish_packet(item.topic, item.payload, retain=item.retain, packet_id=packet_id,
                                    correlation=item.correlation)
            if len(packet) > self._max_packet:
                log.error("not published: %d bytes on %s, over the broker's maximum packet size %d", len(packet),
                          item.topic[:200], self._max_packet)
                item.delivery.sent = False
                self._acks.notify_all()
                continue
            self._inflight[packet_id] = item.delivery
            self._out.append(packet)
        if was_idle and self._out and not self._polling_here():
            self._wake()

    def _packet_id(self) -> int:
        while self._next_id in self._inflight:
            self._next_id = self._next_id % 0xFFFF + 1
        packet_id, self._next_id = self._next_id, self._next_id % 0xFFFF + 1
        return packet_id

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake-up is already pending (or the link is stopped)
            self._wake_w.send(b"\0")

    def _polling_here(self) -> bool:
        return self._poller == threading.get_ident()

    # --- the polling thread ---------------------------------------------------------------

    def poll(self, timeout_s: float) -> None:
        """Write what is queued, read what came (its handlers run here), keep the connection alive; wait at most
        `timeout_s` for something to read. From the polling thread only."""
        self._take_fresh()
        session = self._session
        if session is None:
            if not self._stopping.is_set():
                select.select([self._wake_r], [], [], timeout_s)
                self._drain_wakes()
                self._take_fresh()
            return
        try:
            self._turn(session, timeout_s)
        except Exception as exc:  # a broken packet (struct.error, IndexError, ...) as a lost connection
            if not isinstance(exc, (_Lost, OSError, MqttError)):
                log.exception("a packet from the broker could not be read; connecting again")
            self._session = None
            self._end(session.sock)
            if not self._stopping.is_set():
                _call(self._lost_callbacks)
            self._lost_why = str(exc) or type(exc).__name__
            self._over.set()

    def _poll_forever(self) -> None:
        self._poller = threading.get_ident()
        while not self._stopping.is_set():
            self.poll(self._tick())

    def _tick(self) -> float:
        """How long a poll waits at most: a ping is looked at at least this often."""
        return max(0.5, self._keepalive / 4)

    def _take_fresh(self) -> None:
        if self._fresh is None:
            return
        with self._lock:
            self._session, self._fresh = self._fresh, None
        if not self._filters:
            self._became_ready()

    def _turn(self, session: _Session, timeout_s: float) -> None:
        sock = session.sock
        self._send(session)
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        reading = self._may_read()
        readable, _, _ = select.select([sock, self._wake_r] if reading else [self._wake_r],
                                       [sock] if session.unsent else [], [],
                                       0 if pending and reading else min(timeout_s, self._tick()))
        if self._wake_r in readable:
            self._drain_wakes()
        if reading and (sock in readable or pending):
            self._read(session)
        now = time.monotonic()
        if not reading and session.ping_sent is not None:  # its answer is unread: awaited from when reading again
            session.ping_sent = now
        if session.ping_sent is not None and now - session.ping_sent > self._keepalive:
            raise _Lost(f"no answer to a ping within {self._keepalive} s")
        if session.ping_sent is None and self._keepalive and now - session.last_sent >= self._keepalive / 2:
            session.unsent += PINGREQ_PACKET
            session.ping_sent = now
        self._send(session)

    def _drain_wakes(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096)

    def _flush(self) -> None:
        """The polling thread writes what it queued at once (another thread's publish wakes it instead)."""
        session = self._session
        if session is not None and self._polling_here():
            with contextlib.suppress(OSError, _Lost):  # the next `poll` finds the connection broken, or drops it
                self._send(session)

    def _send(self, session: _Session) -> None:
        with self._lock:
            if self._drop_reason:
                raise _Lost(self._drop_reason)
            while self._out:
                session.unsent += self._out.popleft()
        if not session.unsent:
            return
        try:
            sent = session.sock.send(session.unsent)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        del session.unsent[:sent]
        if sent:
            session.last_sent = time.monotonic()

    def _read(self, session: _Session) -> None:
        try:
            data = session.sock.recv(READ_BYTES)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        if not data:
            raise _Lost("closed by the broker")
        session.buffer += data
        acked: list[bytes] = []  # PUBACKs, taken together at the end of the read
        for first, body in take_packets(session.buffer, MAX_PACKET_IN):
            if first >> 4 == PUBACK:
                acked.append(body)
            elif first >> 4 == PINGRESP:
                session.ping_sent = None
            else:
                session.unsent += self._on_packet(first, body)
        if acked:
            self._on_pubacks(acked)

    def _goodbye(self, session: _Session) -> None:
        """Stopping: what is queued (the offline status) goes first, then DISCONNECT; one that asks the broker for
        the will (offline) when the offline status was not acknowledged (it may still wait for the broker's
        window: the broker busy, or this link not reading)."""
        if not self.connected.is_set():
            return
        offline = self._offline_said
        goodbye = DISCONNECT_PACKET if offline is None or offline.acked else WILL_DISCONNECT_PACKET
        with self._lock:
            while self._out:
                session.unsent += self._out.popleft()
            if offline is None:  # stopped while connecting: the DISCONNECT must not leave it online
                session.unsent += publish_packet(self._will.topic, OFFLINE, retain=True, packet_id=self._packet_id())
                goodbye = DISCONNECT_PACKET  # the broker takes the offline status before it
        try:
            session.sock.setblocking(True)
            session.sock.settimeout(1.0)
            session.sock.sendall(bytes(session.unsent) + goodbye)
        except OSError as exc:
            log.warning("could not say goodbye to the broker: %s", exc)

    # --- the connecting thread ------------------------------------------------------------

    def _connect_forever(self) -> None:
        outage_since: float | None = None
        while not self._stopping.is_set():
            try:
                session = self._connect()
            except (OSError, MqttError, ValueError) as exc:
                why = str(exc) or type(exc).__name__
                if outage_since is None:
                    log.warning("cannot reach the broker at %s: %s; trying again every %g s",
                                self._settings.summary(), why, RECONNECT_S)
                    outage_since = time.monotonic()
                self.broker_error = why
                self._stopping.wait(RECONNECT_S)
                continue
            if outage_since is None:
                log.info("connected to %s", self._settings.summary())
            else:
                log.info("connected to %s, %.0f s after the first failed attempt", self._settings.summary(),
                         time.monotonic() - outage_since)
            outage_since, self.broker_error = None, ""
            with self._lock:
                too_late = self._stopping.is_set()  # `stop` may be done: nobody would take it
                if not too_late:
                    self._over.clear()
                    self._fresh = session
            if too_late:  # closed without DISCONNECT: the broker sends the will (offline)
                self._end(session.sock)
                return
            self._wake()
            if self._stopping.is_set():  # `stop` takes the connection (it may have set `_over` before the clear)
                return
            self._over.wait()
            if self._stopping.is_set():
                return
            log.warning("disconnected from the broker (%s); trying again every %g s", self._lost_why, RECONNECT_S)
            outage_since, self.broker_error = time.monotonic(), f"disconnected ({self._lost_why})"
            self._stopping.wait(1.0)

    def _connect(self) -> _Session:
        settings = self._settings
        sock = socket.create_connection((settings.host, settings.port), timeout=CONNECT_TIMEOUT_S)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if settings.tls:
                sock = self._tls().wrap_socket(sock, server_hostname=settings.host)
            sock.sendall(connect_packet(self._client_id, keepalive=settings.keepalive_s, username=settings.username,
                                        password=settings.password, will=self._will,
                                        maximum_packet_size=MAX_PACKET_IN))
            buffer = bytearray()
            while not (packets := take_packets(buffer, MAX_PACKET_IN)):
                data = sock.recv(READ_BYTES)
                if not data:
                    raise MqttError("the broker closed the connection before its CONNACK")
                buffer += data
            first, body = packets.pop(0)
            if packets:
                raise MqttError("the broker sent packets before its CONNACK was read")
            if first >> 4 != CONNACK or len(body) < 2:
                raise MqttError(f"expected CONNACK, got packet type {first >> 4}")
            if body[1] >= 0x80:
                raise MqttError(f"the broker refused the connection: reason code 0x{body[1]:02x}", body[1])
            props = parse_properties(body, 2)[0] if len(body) > 2 else {}
        except BaseException:
            sock.close()
            raise
        window = int(props.get(PROP_RECEIVE_MAXIMUM, 0xFFFF))  # type: ignore[arg-type]
        if window == 0:
            sock.close()
            raise MqttError("the broker's CONNACK says Receive Maximum 0, a protocol error")
        self._keepalive = int(props.get(PROP_SERVER_KEEP_ALIVE, settings.keepalive_s))  # type: ignore[arg-type]
        with self._lock:
            self._window = window
            self._connection += 1
            self._refused_subs = False
            self._max_packet = int(props.get(PROP_MAXIMUM_PACKET_SIZE, self._max_packet))  # type: ignore[arg-type]
            self._live, self._drop_reason = True, ""
            self._pending_subs = {}
            for topic_filter, _, _ in self._filters:
                packet_id = self._packet_id()
                self._inflight[packet_id] = Delivery(sent=True)  # keeps the id from a publish until its SUBACK
                self._pending_subs[packet_id] = topic_filter
                self._out.append(subscribe_packet(packet_id, topic_filter, 1))
        sock.setblocking(False)
        self.connected.set()
        return _Session(sock, buffer)

    def _tls(self) -> ssl.SSLContext:
        settings = self._settings
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        if settings.cert_file:
            context.load_cert_chain(str(settings.cert_file), str(settings.key_file) if settings.key_file else None)
        return context

    # --- what the broker sent (the polling thread) ------------------------------------------

    def _on_packet(self, first: int, body: bytes) -> bytes:
        """Act on one packet from the broker; what to write back."""
        kind = first >> 4
        if kind == PUBLISH:
            read = parse_publish(first & 0x0F, body)
            self._deliver(Message(read.topic, read.payload, read.response_topic, read.correlation, read.retain,
                                  time.monotonic() + read.expiry_s if read.expiry_s is not None else None))
            return puback_packet(read.packet_id) if read.qos else b""
        if kind == PUBACK:
            self._on_pubacks([body])
        elif kind == SUBACK:
            self._on_suback(body)
        elif kind == DISCONNECT:
            reason = body[0] if body else 0
            said = (parse_properties(body, 1)[0] if len(body) > 1 else {}).get(PROP_REASON_STRING)
            raise _Lost(f"the broker disconnected: reason code 0x{reason:02x}"
                        + (f" ({said})" if isinstance(said, str) else ""))
        else:
            raise MqttError(f"unexpected packet type {kind}")
        return b""

    def _on_pubacks(self, bodies: list[bytes]) -> None:
        """The broker took these publishes: their window is free (under one taking of the lock)."""
        with self._lock:
            for body in bodies:
                delivery = self._inflight.pop(U16.unpack_from(body, 0)[0], None)
                if delivery is not None:
                    delivery.acked = True
            self._acks.notify_all()
            self._admit()
        for body in bodies:
            if len(body) > 2 and body[2] >= 0x80:
                log.error("the broker refused a publish: reason code 0x%02x", body[2])

    def _on_suback(self, body: bytes) -> None:
        """Ready once every filter is acknowledged; never, on this connection, when one was refused."""
        (packet_id,) = U16.unpack_from(body, 0)
        reason = body[parse_properties(body, 2)[1]]
        with self._lock:
            self._inflight.pop(packet_id, None)
            topic_filter = self._pending_subs.pop(packet_id, None)
            if topic_filter is not None and reason >= 0x80:
                self._refused_subs = True
            ready = topic_filter is not None and not self._pending_subs and not self._refused_subs
        if topic_filter is not None and reason >= 0x80:
            log.error("broker refused subscription to %s: reason code 0x%02x", topic_filter, reason)
        if ready:
            self._became_ready()

    def _became_ready(self) -> None:
        self.ready.set()
        _call(self._ready_callbacks)

    def _deliver(self, message: Message) -> None:
        handler = self._routes.get(message.topic, ...)
        if handler is ...:
            handler = next((h for _, delivered, h in self._filters if _matches(delivered, message.topic)), None)
            if len(self._routes) >= ROUTES_KEPT:
                self._routes.clear()
            self._routes[message.topic] = handler
        if handler is None:
            log.debug("message on %s matched no handler", message.topic[:200])
            return
        try:
            handler(message)
        except Exception:
            log.exception("handler for %s failed", message.topic[:200])

    def _end(self, sock: socket.socket) -> None:
        """The connection is over: what was in flight or waiting on it is not resent (the next connection
        republishes the state)."""
        self.connected.clear()
        self.ready.clear()
        with self._lock:
            self._live = False
            self._acks.notify_all()
            self._out.clear()
            self._waiting.clear()
            self._waiting_bytes = 0
            self._inflight.clear()
        with contextlib.suppress(OSError):
            sock.close()
