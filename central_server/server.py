"""The server loop: paho's thread only enqueues; this one thread owns the state and publishes.

Inbound messages are taken in batches: one transaction (one fsync) makes a whole batch
durable before any of its replies or state messages go out. That group commit is what lets
a durable SQLite keep up with thousands of requests per second.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from central_server.service import CenterService, Outbound
from protocol.agent import Watchdog, notify
from protocol.link import Message, MqttLink

log = logging.getLogger(__name__)

MAX_BATCH = 256
TICK_S = 0.25
DRAIN_S = 5.0  # on SIGTERM, how long in-flight requests may take to finish


class _Connected:
    """Marker queued each time the link is (re)connected and subscribed."""


CONNECTED = _Connected()


class ServerLoop:
    def __init__(self, service: CenterService, link: MqttLink, stop: threading.Event) -> None:
        self._service = service
        self._link = link
        self._stop = stop
        self._inbox: queue.SimpleQueue[Message | _Connected] = queue.SimpleQueue()
        self._watchdog = Watchdog()
        self._announced = False
        for topic_filter in service.topics.server_subscriptions():
            link.subscribe(topic_filter, self._inbox.put)
        link.on_ready(lambda: self._inbox.put(CONNECTED))

    def run(self) -> int:
        self._link.start()
        last_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                self._step(block=True)
                if time.monotonic() - last_tick >= TICK_S:
                    self._publish(self._service.tick())
                    last_tick = time.monotonic()
                self._watchdog.ping()
            notify("STOPPING=1")
            self._drain()
        finally:
            self._link.stop()
            log.info("server stopped")
        return 0

    def _step(self, *, block: bool) -> bool:
        """Process one batch; False when there was nothing to do."""
        batch = self._take(block)
        if not batch:
            return False
        messages = [item for item in batch if isinstance(item, Message)]
        connected = len(messages) < len(batch)
        if connected:
            self._publish(self._service.retained_state())
        if messages:
            self._publish(self._service.handle_batch(messages))
        if connected:
            self._link.announce_online()
            if not self._announced:
                self._announced = True
                notify("READY=1")
            log.info("server online: retained state republished, requests accepted")
        return True

    def _take(self, block: bool) -> list[Message | _Connected]:
        try:
            first = self._inbox.get(timeout=TICK_S) if block else self._inbox.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _drain(self) -> None:
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline and self._step(block=False):
            pass

    def _publish(self, outbound: list[Outbound]) -> None:
        for item in outbound:
            self._link.publish(item.topic, item.payload, qos=1, retain=item.retain, correlation=item.correlation)
