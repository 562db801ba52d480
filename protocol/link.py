"""The link port: `Link`, what an agent needs of its connection; `MqttLink`, the one MQTT 5 connection each
agent and the server use; `FakeLink`, an in-process link for an agent's tests.

paho-mqtt 2.x with `connect_async()` + `loop_start()` (a plain `connect()` raises when the broker
is down at boot), TCP_NODELAY on every connection (Nagle costs ~88 ms per request/response),
the LWT on the device's status topic, online published on every (re)connect once every
subscription is acknowledged, offline published on a clean stop (a clean disconnect does not
fire the will), resubscription on reconnect, and `request()` with Response Topic and
Correlation Data. MqttLink runs handlers on paho's network thread (FakeLink on its caller's): they
must only enqueue.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocol import paho_properties
from protocol.config import MqttSettings
from protocol.errors import QmsError
from protocol.messages import OFFLINE, Status
from protocol.record import record

log = logging.getLogger(__name__)
paho_properties.install()
RECONNECT_S = 2  # at most this long between attempts: a device is back within 3 s of its broker


class RequestTimeout(QmsError):
    """No reply came in time (broker or server unreachable, or the reply was lost)."""


@record
class Message:
    topic: str
    payload: bytes
    response_topic: str | None = None
    correlation: bytes | None = None
    retained: bool = False  # delivered from the broker's store, not just published
    expires_at: float | None = None  # time.monotonic() past which its sender no longer waits (Message Expiry)


Handler = Callable[[Message], None]


class Link(Protocol):
    """A device's connection to the center: `MqttLink` in production, `FakeLink` in a test of an agent's logic."""

    connected: threading.Event  # the broker is reached
    ready: threading.Event  # ... and every subscription is in place
    broker_error: str  # why the broker cannot be reached, while it cannot

    def start(self) -> None: ...

    def stop(self, timeout_s: float = 3.0) -> None: ...

    def subscribe(self, topic_filter: str, handler: Handler) -> None: ...

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> object: ...

    def set_status(self, **extra: Any) -> None: ...

    def request(self, topic: str, payload: bytes, *, response_topic: str, timeout_s: float,
                expiry_s: int | None = None) -> Message: ...

    def expect_replies(self, response_topic: str) -> None: ...


def _delivered_as(topic_filter: str) -> str:
    """The filter messages arrive under: a shared subscription `$share/<group>/<filter>` delivers them
    under their own topics, which only `<filter>` matches."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


class MqttLink:
    """One device's MQTT 5 session; thread-safe for publish and request."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        status_topic: str | None,
        announce_online: bool = True,
        max_inflight: int = 100,
    ) -> None:
        self._settings = settings
        self._status_topic = status_topic
        self._announce_online = announce_online
        self._status_extra: dict[str, Any] = {}
        self._handlers: dict[str, Handler] = {}
        self._acked: dict[str, threading.Event] = {}
        self._pending_mids: dict[int, str] = {}
        self._ready_callbacks: list[Callable[[], None]] = []
        self._lost_callbacks: list[Callable[[], None]] = []
        self._replies: dict[bytes, Future[Message]] = {}
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.ready = threading.Event()
        self._stopping = False
        self._status_lock = threading.Lock()
        self._outage_since: float | None = None  # the first failed attempt of an outage (one log line each)
        self.broker_error = ""  # why the broker cannot be reached, while it cannot
        self._client = self._make_client(client_id, max_inflight)

    def _make_client(self, client_id: str, max_inflight: int) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if self._settings.username is not None:
            client.username_pw_set(self._settings.username, self._settings.password)
        if self._settings.tls:
            client.tls_set(
                ca_certs=str(self._settings.ca_file) if self._settings.ca_file else None,
                certfile=str(self._settings.cert_file) if self._settings.cert_file else None,
                keyfile=str(self._settings.key_file) if self._settings.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if self._status_topic is not None:  # None: a tool, not a device (no status, no will)
            client.will_set(self._status_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_S)
        client.max_inflight_messages_set(max_inflight)
        paho_log = logging.getLogger(f"paho.{client_id}")
        paho_log.addFilter(_not_connected_is_ours)
        client.enable_logger(paho_log)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_unrouted
        return client

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho retries until the broker answers."""
        self._client.connect_async(
            self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s, clean_start=True
        )
        self._client.loop_start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Publish offline ourselves, then disconnect (a clean disconnect fires no will)."""
        with self._status_lock:  # no online may follow the offline
            self._stopping = True
            self.ready.clear()
        if self.connected.is_set() and self._status_topic is not None:
            info = self._client.publish(self._status_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not delivered: %s", exc)
        self.connected.clear()
        self._client.disconnect()
        self._client.loop_stop()

    def wait_ready(self, timeout_s: float) -> bool:
        return self.ready.wait(timeout_s)

    def on_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on paho's thread) each time every subscription is acknowledged."""
        self._ready_callbacks.append(callback)

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on paho's thread) each time an established connection is lost: what comes after it
        comes on a new connection."""
        self._lost_callbacks.append(callback)

    # --- subscribing and publishing -------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        with self._lock:
            # `_acked` first: `_ensure_reply_route` reads `_handlers` without the lock, then `_acked`.
            self._acked.setdefault(topic_filter, threading.Event())
            self._handlers[topic_filter] = handler
        self._client.message_callback_add(_delivered_as(topic_filter), self._dispatch(handler))
        if self.connected.is_set():
            self._send_subscribe(topic_filter)

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        correlation: bytes | None = None,
        response_topic: str | None = None,
        expiry_s: int | None = None,
    ) -> mqtt.MQTTMessageInfo:
        """`expiry_s`: MQTT 5 Message Expiry Interval: the broker drops the message when it was not delivered
        within that many seconds, and tells the receiver how many are left."""
        properties = None
        if correlation is not None or response_topic is not None or expiry_s is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if response_topic is not None:
                properties.ResponseTopic = response_topic
            if correlation is not None:
                properties.CorrelationData = correlation
            if expiry_s is not None:
                properties.MessageExpiryInterval = max(1, expiry_s)
        return self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)

    def announce_online(self) -> None:
        """Publish the retained online status (with any extra fields set by `set_status`).

        Only while ready (subscribed) and not stopping: online must mean "requests are heard".
        """
        with self._status_lock:
            if self.ready.is_set() and not self._stopping and self._status_topic is not None:
                payload = Status(True, self._status_extra).to_wire()
                self._client.publish(self._status_topic, payload, qos=1, retain=True)

    def set_status(self, **extra: Any) -> None:
        """Add fields to the retained online status (e.g. a printer state) and republish it."""
        with self._status_lock:
            self._status_extra = {**self._status_extra, **extra}  # a new dict: paho's thread may be reading the old
        self.announce_online()  # when not ready yet, it goes out once every subscription is in place

    def request(self, topic: str, payload: bytes, *, response_topic: str, timeout_s: float,
                expiry_s: int | None = None) -> Message:
        """Publish a request and wait for the reply carrying its Correlation Data.

        Never call it from a handler: the reply arrives on the thread a handler runs on.
        `timeout_s` bounds the whole call, the wait for the reply route's SUBACK included. `expiry_s`: how
        long the request may wait to be delivered and acted on (the asker gives up after that).
        """
        deadline = time.monotonic() + timeout_s
        self._ensure_reply_route(response_topic, timeout_s)
        correlation = uuid.uuid4().bytes
        future: Future[Message] = Future()
        with self._lock:
            self._replies[correlation] = future
        try:
            self.publish(topic, payload, qos=1, correlation=correlation, response_topic=response_topic,
                         expiry_s=expiry_s)
            return future.result(max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise RequestTimeout(f"no reply on {response_topic} within {timeout_s:g} s") from None
        finally:
            with self._lock:
                self._replies.pop(correlation, None)

    def expect_replies(self, response_topic: str) -> None:
        """Subscribe to a response topic up front, so `ready` includes it (before the first request)."""
        if response_topic not in self._handlers:
            self.subscribe(response_topic, self._on_reply)

    def _ensure_reply_route(self, response_topic: str, timeout_s: float) -> None:
        self.expect_replies(response_topic)
        if not self._acked[response_topic].wait(timeout_s):
            raise RequestTimeout(f"not subscribed to {response_topic} within {timeout_s:g} s")

    def _on_reply(self, message: Message) -> None:
        if message.correlation is None:
            return
        with self._lock:
            future = self._replies.pop(message.correlation, None)
        if future is not None and not future.done():
            future.set_result(message)

    # --- paho callbacks (network thread) --------------------------------------------------

    def _dispatch(self, handler: Handler) -> Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]:
        def on_message(_client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
            properties = msg.properties
            response_topic = getattr(properties, "ResponseTopic", None) if properties else None
            correlation = getattr(properties, "CorrelationData", None) if properties else None
            expiry = getattr(properties, "MessageExpiryInterval", None) if properties else None
            expires_at = time.monotonic() + expiry if isinstance(expiry, int) else None
            try:
                handler(Message(msg.topic, bytes(msg.payload), response_topic, correlation, bool(msg.retain),
                                expires_at))
            except Exception:
                log.exception("handler for %s failed", msg.topic)

        return on_message

    def _on_unrouted(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        log.debug("message on %s matched no handler", msg.topic)

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any
    ) -> None:
        if reason_code.is_failure:
            self._failed(f"the broker refused the connection: {reason_code}")
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._outage_since is None:
            log.info("connected to %s", self._settings.summary())
        else:
            log.info("connected to %s, %.0f s after the first failed attempt", self._settings.summary(),
                     time.monotonic() - self._outage_since)
        self._outage_since, self.broker_error = None, ""
        self.connected.set()
        with self._lock:
            filters = list(self._handlers)
            for event in self._acked.values():
                event.clear()
        if not filters:
            self._became_ready()
        for topic_filter in filters:
            self._send_subscribe(topic_filter)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        """paho calls this inside its `except OSError` around the connection attempt."""
        error = sys.exc_info()[1]
        self._failed(f"{error.strerror or error}" if isinstance(error, OSError) else "connection failed")

    def _failed(self, why: str) -> None:
        """One line per outage: paho tries again every RECONNECT_S seconds."""
        if self._outage_since is None:
            log.warning("cannot reach the broker at %s: %s; trying again every %d s", self._settings.summary(),
                        why, RECONNECT_S)
            self._outage_since = time.monotonic()
        self.broker_error = why

    def _send_subscribe(self, topic_filter: str) -> None:
        with self._lock:
            result, mid = self._client.subscribe(topic_filter, qos=1)
            if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._pending_mids[mid] = topic_filter

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reason_codes: list[Any], _properties: Any
    ) -> None:
        with self._lock:
            topic_filter = self._pending_mids.pop(mid, None)
            if topic_filter is None:
                return
            if any(code.is_failure for code in reason_codes):
                log.error("broker refused subscription to %s: %s", topic_filter, reason_codes)
                return
            self._acked[topic_filter].set()
            all_acked = all(event.is_set() for event in self._acked.values())
        if all_acked and not self.ready.is_set():
            self._became_ready()

    def _became_ready(self) -> None:
        self.ready.set()
        for callback in self._ready_callbacks:
            callback()
        if self._announce_online:
            self.announce_online()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any
    ) -> None:
        if self.connected.is_set() and not self._stopping:
            log.warning("disconnected from the broker (%s); trying again every %d s", reason_code, RECONNECT_S)
            self._outage_since, self.broker_error = time.monotonic(), f"disconnected ({reason_code})"
            for callback in self._lost_callbacks:
                callback()
        self.connected.clear()
        self.ready.clear()


def _not_connected_is_ours(record: logging.LogRecord) -> bool:
    """paho logs "Client is not connected" at every attempt while the broker is away (and once more after
    `disconnect()`): the link says it once per outage instead."""
    return not record.getMessage().startswith("Client is not connected")


Answer = Callable[[Message], bytes | None]


class FakeLink:
    """A link without a broker, for testing an agent in-process: the test delivers messages to its subscriptions,
    answers its requests with `answer` (None: no reply, the request times out) and reads what it published.

    Connected and ready from `start()` to `stop()`; `lose()` and `start()` again play a lost connection.
    """

    def __init__(self, answer: Answer | None = None) -> None:
        self.connected = threading.Event()
        self.ready = threading.Event()
        self.broker_error = ""
        self.answer = answer
        self.status: dict[str, Any] = {}  # the retained online status' extra fields, as last set
        self._handlers: dict[str, Handler] = {}
        self._sent: list[Message] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        self.broker_error = ""
        self.connected.set()
        self.ready.set()

    def stop(self, timeout_s: float = 3.0) -> None:
        self.lose("stopped")

    def lose(self, why: str = "disconnected") -> None:
        self.broker_error = why
        self.ready.clear()
        self.connected.clear()

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        with self._lock:
            self._handlers[topic_filter] = handler

    def expect_replies(self, response_topic: str) -> None:
        """Nothing to do: `answer` replies to each request directly."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        with self._lock:
            self._sent.append(Message(topic, payload, retained=retain))

    def set_status(self, **extra: Any) -> None:
        with self._lock:
            self.status = {**self.status, **extra}

    def request(self, topic: str, payload: bytes, *, response_topic: str, timeout_s: float,
                expiry_s: int | None = None) -> Message:
        asked = Message(topic, payload, response_topic, uuid.uuid4().bytes)
        with self._lock:
            self._sent.append(asked)
        reply = self.answer(asked) if self.answer is not None and self.ready.is_set() else None
        if reply is None:
            time.sleep(timeout_s)  # as long as a real request waits for its reply
            raise RequestTimeout(f"no reply on {response_topic} within {timeout_s:g} s")
        return Message(response_topic, reply, correlation=asked.correlation)

    def deliver(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """What the broker would hand to the agent's subscriptions (on the caller's thread, as paho's would)."""
        with self._lock:
            handlers = [h for f, h in self._handlers.items() if mqtt.topic_matches_sub(_delivered_as(f), topic)]
        for handler in handlers:
            handler(Message(topic, payload, retained=retained))

    def hears(self, topic: str) -> bool:
        """Whether a message on `topic` would reach one of the agent's subscriptions."""
        with self._lock:
            return any(mqtt.topic_matches_sub(_delivered_as(f), topic) for f in self._handlers)

    def sent(self, topic: str) -> list[Message]:
        """What the agent published or asked on `topic`, in order."""
        with self._lock:
            return [message for message in self._sent if message.topic == topic]
