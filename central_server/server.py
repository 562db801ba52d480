"""The server loop: this one thread owns the state, and polls the broker's link between its batches.

Inbound messages are taken in batches: one transaction (one fsync) makes a whole batch
durable before any of its replies or state messages go out. That group commit is what lets
a durable SQLite keep up with thousands of requests per second. On SQLite the commit's fsync runs in its
own thread while this one acts on the next batch; this one publishes what the batch caused once it is durable:
between the next batch's requests when the committer has said so, else before the next batch's commit or before
it waits for requests (`committer.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from central_server.broker_link import BrokerLink
from central_server.service import CenterService
from central_server.wire import Outbound
from protocol.agent import Watchdog, notify
from protocol.errors import BadMessage
from protocol.link import Message
from protocol.messages import Status

log = logging.getLogger(__name__)

MAX_BATCH = 256
TICK_S = 0.25
DRAIN_S = 5.0  # on SIGTERM, how long in-flight requests may take to finish
PUBACK_WAIT_S = 2.0  # shared instances: how long to wait for the broker to take a retained state
STORAGE_CHECK_S = 1.0  # how often free space is looked at (and, while storage cannot write, a write tried)
# The floor goes out after a batch that changed the center, at most this often: a lone change at once, a burst
# as one more at the end of the interval. Its day figures are kept as batches change them (`floor.DayCount`): a floor
# takes 0.2 ms at 100,000 tickets. The day's tickets are counted at start-up, before the server is online; the first
# floor after the day is loaded again (a failed commit, another instance's) counts every ticket (160 ms there). Should
# one take long, the interval grows so that floors take at most FLOOR_SHARE of the state thread.
FLOOR_EVERY_S = 0.5
FLOOR_SHARE = 0.1
TRIM_AFTER_S = 0.02  # a floor that took longer (a day loaded, counted afresh) freed enough to give back to the system
INBOX_BYTES = 16 * 1024 * 1024  # payloads waiting for the state thread, at most (one larger message passes)


class _Marker:
    """A moment in the link's life, queued in its place among the messages."""


CONNECTED = _Marker()  # the link is (re)connected and subscribed
LOST = _Marker()  # an established connection was lost: what follows comes on a new one
SAY_ONLINE = _Marker()  # shared instances: another instance's will said offline on the status all share
Item = Message | _Marker


class Inbox:
    """From the link to the state thread (which polls the link itself), bounded in bytes.

    Once full, the link reads no more from the broker until a batch has been taken: a flood then waits in the
    broker's queue for this client (bounded by its max_queued_messages), not in this process's memory.
    """

    def __init__(self, limit_bytes: int = INBOX_BYTES) -> None:
        self._items: deque[Item] = deque()
        self._bytes = 0
        self._limit = limit_bytes

    def put(self, item: Item) -> None:
        if isinstance(item, Message):
            self._bytes += len(item.payload)
        self._items.append(item)

    def has_room(self) -> bool:
        return self._bytes < self._limit

    def take(self, most: int) -> list[Item]:
        """Up to `most` items, the oldest first."""
        batch = [self._items.popleft() for _ in range(min(most, len(self._items)))]
        self._bytes -= sum(len(item.payload) for item in batch if isinstance(item, Message))
        return batch


class ServerLoop:
    """The server's one state thread. `shared`: one of several instances of a center's server (on
    PostgreSQL); they take the requests in turns through an MQTT 5 shared subscription, and each
    batch runs under the storage's lock until the broker has what it caused."""

    def __init__(self, service: CenterService, link: BrokerLink, stop: threading.Event, *,
                 shared: bool = False, reload: threading.Event | None = None,
                 trim: Callable[[], object] | None = None) -> None:
        """`reload`: set (by SIGHUP) when the config file is to be read again, between two batches. `trim`: gives
        freed memory back to the system (glibc's malloc_trim), after a floor that took long to build."""
        self._trim = trim
        self._service = service
        self._link = link
        self._stop = stop
        self._reload = reload or threading.Event()
        self._shared = shared
        self._inbox = Inbox()
        self._watchdog = Watchdog()
        self._announced = False
        self._held_back = False  # subscribed, but not online: storage could not write at start-up
        self._health: dict[str, str] = {}  # what server/status said of storage and the clock
        self._floor_at = -FLOOR_EVERY_S  # when the floor last went out (monotonic)
        self._floor_every_s = FLOOR_EVERY_S  # the interval, grown with what the last floor took to build
        group = f"$share/qms-server-{service.topics.root.rsplit('/', 1)[-1]}/" if shared else ""
        for topic_filter in service.topics.server_subscriptions():
            link.subscribe(group + topic_filter, self._inbox.put)
        if shared:  # an instance that dies leaves its will (online:false) on the shared status: say otherwise
            link.subscribe(service.topics.server_status(), self._on_server_status)
        link.on_ready(lambda: self._inbox.put(CONNECTED))
        link.on_lost(lambda: self._inbox.put(LOST))
        link.read_while(self._inbox.has_room)
        if not shared:  # its own SQLite file: a batch commits while the next is acted on (`committer.py`)
            service.pipeline(self._publish, lambda: link.poll(0))

    def _on_server_status(self, message: Message) -> None:  # while polling the link: only enqueues
        try:
            online = Status.from_wire(message.payload).online
        except BadMessage:
            return
        if not online:
            self._inbox.put(SAY_ONLINE)

    def run(self) -> int:
        self._link.start(polled=True)
        last_tick = last_check = time.monotonic()
        try:
            while not self._stop.is_set():
                self._step(block=True)
                if self._reload.is_set():
                    self._reload.clear()
                    with self._service.exclusive():
                        self._settle()
                        self._publish(self._service.reload_file())
                        self._floor()
                if time.monotonic() - last_tick >= TICK_S:
                    with self._service.exclusive():
                        self._settle()
                        if self._service.writable:  # timers write; they wait while storage cannot
                            self._publish(self._service.tick())
                        if time.monotonic() - last_check >= STORAGE_CHECK_S:
                            self._publish(self._service.check_storage())
                            last_check = time.monotonic()
                        self._floor()
                    self._report()
                    last_tick = time.monotonic()
                self._watchdog.ping()
            notify("STOPPING=1")
            self._drain()
        finally:
            self._settle()  # what the last batch caused goes out before the link says offline
            self._link.stop()
            self._service.close()
            log.info("server stopped")
        return 0

    def _step(self, *, block: bool) -> bool:
        """Process one batch; False when there was nothing to do."""
        batch = self._take(block)
        if not batch:
            if self._service.floor_due:
                with self._service.exclusive():
                    self._floor()
            return False
        messages = [item for item in batch if isinstance(item, Message)]
        connected = any(item is CONNECTED for item in batch)
        with self._service.exclusive():
            if len(messages) < len(batch):  # the link's moments: after all that came before them
                self._settle()
            if any(item is LOST for item in batch):
                self._service.link_lost()
            if connected:
                self._publish(self._service.retained_state())
                self._floor_at = time.monotonic()
                self._publish(self._service.check_storage(probe=True))  # a write, before saying online
            if messages:
                self._publish(self._service.handle_batch(messages))
            self._floor()
        if connected:
            self._come_online()
        elif self._announced and any(item is SAY_ONLINE for item in batch):
            self._say(online=True)
        return True

    def _come_online(self) -> None:
        """online:true (and READY=1 the first time), with what the staff should know of storage and the clock.

        Not before storage has shown it writes: a server started on a full disk stays subscribed but
        offline (`{"online":false,"storage":"full"}`), refusing requests with `storage_full`, and comes
        online by itself once it can write. Once online, it stays so and says `storage` in its status.
        """
        self._health = self._service.health()
        if not self._announced and not self._service.writable:
            if not self._held_back:
                log.error("not online: storage cannot write (%s); trying again every %g s", self._health["storage"],
                          STORAGE_CHECK_S)
            self._held_back = True
            if not self._shared:  # another instance may be online: its status is not this one's to say
                self._say(online=False)
            return
        self._held_back = False
        self._say(online=True)
        if not self._announced:
            self._announced = True
            notify("READY=1")
        log.info("server online: retained state republished, requests accepted")

    def _report(self) -> None:
        """A change in storage or the clock goes to server/status; a server held back comes online once it writes."""
        if self._held_back and self._service.writable:
            self._come_online()
        elif self._service.health() != self._health:
            if self._held_back:
                self._come_online()  # still held back: says why again
            elif self._announced:
                self._health = self._service.health()
                self._say(online=True)

    def _say(self, *, online: bool) -> None:
        """The retained server/status, with only what is not ok of storage and the clock: a center where all is
        well reads `{"v":1,"online":true}` as the contract shows, one in trouble e.g. `"storage":"low_space"`.
        (From the state thread, which alone stops the link: no online can follow the offline of a stop.)"""
        if online and not self._link.ready.is_set():
            return  # not subscribed: the next connect says it
        said = {key: value for key, value in self._health.items() if value != "ok"}
        self._link.publish(self._service.topics.server_status(), Status(online, said).to_wire(), retain=True)

    def _floor(self) -> None:
        """The floor, when the center changed and the last one is old enough (else at a later step: the loop
        wakes up for it)."""
        if self._service.floor_due and time.monotonic() - self._floor_at >= self._floor_every_s:
            self._settle()  # the floor shows only what is durable
            started = time.monotonic()
            self._publish([self._service.floor(), *([self._service.queue()] if self._service.queue_due else [])])
            self._floor_at = time.monotonic()
            took = self._floor_at - started
            self._floor_every_s = max(FLOOR_EVERY_S, took / FLOOR_SHARE)
            if self._trim is not None and took > TRIM_AFTER_S:  # a busy day's floor: MBs of lists and citizens
                self._trim()

    def _take(self, block: bool) -> list[Item]:
        self._link.poll(0)
        batch = self._inbox.take(MAX_BATCH)
        if batch or not block:
            return batch
        self._settle()  # nothing to act on meanwhile: the batch in flight goes out before this thread waits
        wait = TICK_S
        if self._service.floor_due:  # wake up when the floor is due
            wait = min(wait, max(0.0, self._floor_at + self._floor_every_s - time.monotonic()))
        self._link.poll(wait)
        return self._inbox.take(MAX_BATCH)

    def _drain(self) -> None:
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline and self._step(block=False):
            pass

    def _settle(self) -> None:
        """Wait for the batch in flight and publish what it caused (when its commit failed, the answers of its
        undoing)."""
        self._publish(self._service.settle())

    def _publish(self, outbound: list[Outbound]) -> None:
        sent = self._link.publish_many(outbound)
        if self._shared:  # the broker has the retained state before another instance may change it
            for delivery, item in zip(sent, outbound, strict=True):
                if item.retain and delivery.sent:
                    self._link.wait(delivery, PUBACK_WAIT_S)
