"""The main loop every agent runs, written once.

One thread (the main loop) owns the agent's flow. The link's and the hardware's callbacks only decode and
enqueue events; workers do what may block (a request, a print) and enqueue what came of it. Each step
drains the events, adds a `ConnectionChanged` when the server's presence changed and a `Tick`, hands
them to the flow and carries out its effects. READY=1 goes to systemd once the agent is ready, the
watchdog is pinged while every worker lives, and on stop the workers finish, the link says offline and
the hardware is closed.
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from protocol.agent import Clock, Watchdog, notify
from protocol.errors import BadMessage
from protocol.link import Link, Message
from protocol.messages import Status
from protocol.topics import Topics

log = logging.getLogger(__name__)

E = TypeVar("E")  # the agent's flow's events
M = TypeVar("M")  # a decoded message
T = TypeVar("T")


class AgentLoop(ABC, Generic[E]):
    """The shared part of an agent; an agent fills in what differs (see each method)."""

    def __init__(self, link: Link, center_id: str, clock: Clock) -> None:
        self.events: queue.Queue[E] = queue.Queue()
        self.topics = Topics(center_id)
        self.link = link
        self.clock = clock
        self._presence = ServerPresence(link, self.topics)

    def subscribe(self, topic: str, decode: Callable[[bytes], M], to_event: Callable[[M], E | None]) -> None:
        """Decode each message on `topic` with `decode` and enqueue what `to_event` makes of it (None: nothing).

        A message that does not decode is dropped with one warning: a bad message never stops an agent.
        """

        def on_message(message: Message) -> None:  # the link's thread: decode and enqueue only
            try:
                decoded = decode(message.payload)
            except BadMessage as bad:
                log.warning("ignored a message on %s: %s", message.topic[:200], bad.reason)
                return
            event = to_event(decoded)
            if event is not None:
                self.events.put(event)

        self.link.subscribe(topic, on_message)

    def run(self, stop: threading.Event) -> int:
        workers = [threading.Thread(target=work, name=name, daemon=True) for name, work in self.workers(stop).items()]
        for worker in workers:
            worker.start()
        self.link.start()
        watchdog, announced = Watchdog(), False
        try:
            while not stop.is_set():
                self._step()
                self.after_step()
                if not announced and self.ready():
                    announced = True
                    notify("READY=1")
                if all(worker.is_alive() for worker in workers):
                    watchdog.ping()  # a dead worker leaves the agent useless: let systemd restart it
        finally:
            notify("STOPPING=1")
            stop.set()  # also when the loop failed: no worker may outlive what it writes to
            self.wake_workers()
            for worker in workers:  # in order: the ticket being printed is finished before the link goes
                worker.join(timeout=self.worker_grace_s)
            self.link.stop()
            self.close()
        return 0

    def _step(self) -> None:
        inputs = self.inputs()
        events = drain(self.events, 0 if inputs else self.wait_s())
        events.extend(self.connection_events(self._presence.change()))
        events.extend(inputs)
        events.append(self.tick(self.clock()))
        for event in events:
            self.handle(event)

    # --- what an agent fills in -------------------------------------------------------------

    worker_grace_s = 5.0  # how long each worker may take to finish on stop

    def workers(self, stop: threading.Event) -> dict[str, Callable[[], None]]:
        """The agent's worker threads, by name; each returns once `stop` is set and `wake_workers()` was called."""
        return {}

    def wake_workers(self) -> None:
        """Wake every worker that waits, so that it sees the stop."""

    @abstractmethod
    def wait_s(self) -> float:
        """How long a step waits for its first event."""

    def inputs(self) -> list[E]:
        """Events the loop polls for itself each step (a touch screen's touches); a step with some waits for none."""
        return []

    @abstractmethod
    def connection_events(self, server_online: bool | None) -> list[E]:
        """The flow's events for the server's presence: `server_online` is its new state when it changed, else None."""

    @abstractmethod
    def tick(self, now: datetime) -> E:
        """The flow's clock event."""

    @abstractmethod
    def handle(self, event: E) -> None:
        """Hand one event to the flow and carry out its effects."""

    def after_step(self) -> None:
        """What follows each step: drawing the screen, polling hardware."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the agent does its job now (READY=1 is sent the first time it does)."""

    def close(self) -> None:
        """Close the hardware, after the workers finished and the link stopped."""


def drain(events: queue.Queue[T], timeout_s: float) -> list[T]:
    """What a main loop has to do: wait up to `timeout_s` for the first event, then take every waiting one.

    A `queue.Queue`, not a `SimpleQueue`: on CPython 3.11 a timed `SimpleQueue.get()` in the main
    thread waits for ever when a signal handler (the SIGTERM one) outlasts what is left of its
    timeout (it recomputes a negative timeout, "for ever"), so a stopping agent would hang.
    """
    taken: list[T] = []
    try:
        taken.append(events.get(timeout=timeout_s) if timeout_s > 0 else events.get_nowait())
        while True:
            taken.append(events.get_nowait())
    except queue.Empty:
        pass
    return taken


class ServerPresence:
    """Whether a device reaches the central server: its link is subscribed and the retained
    `server/status` says online. The main loop polls `change()` and reacts to what changed."""

    def __init__(self, link: Link, topics: Topics) -> None:
        self._link = link
        self._server_online = False
        self._reported = False
        link.subscribe(topics.server_status(), self._on_status)

    def _on_status(self, message: Message) -> None:  # the link's thread: only a flag
        try:
            self._server_online = Status.from_wire(message.payload).online
        except BadMessage as bad:
            log.warning("ignored a server status: %s", bad.reason)

    def change(self) -> bool | None:
        """The new state when it changed since the last call, else None."""
        online = self._link.ready.is_set() and self._server_online
        if online == self._reported:
            return None
        self._reported = online
        return online
