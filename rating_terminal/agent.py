"""The counter terminal agent: wires the flow to MQTT, the keypad, the rating buttons and the outbox.

One thread (the main loop) owns the flow; gpiozero's and paho's callbacks only enqueue. A
command is sent at most once, and only while the link is up: a press while offline fails at
once and is never replayed (a stale "next" must never fire). A rating is stored in the outbox
before the thank-you and resent with its rating_id until the server acknowledges it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from protocol.agent import ServerPresence, Watchdog, drain, notify
from protocol.errors import BadMessage
from protocol.link import Message, MqttLink, RequestTimeout
from protocol.messages import CenterConfigMessage, CounterCommand, CounterStateMessage, Rating, Reply, time_of
from protocol.topics import Topics
from rating_terminal.config import TerminalConfig, levels_problem
from rating_terminal.flow import (
    Arm,
    CommandAnswered,
    ConfigReceived,
    ConnectionChanged,
    Disarm,
    Effect,
    Event,
    SendCommand,
    Signal,
    Signalled,
    StateReceived,
    StoreRating,
    TerminalFlow,
    ThankYou,
    Tick,
)
from rating_terminal.model import Feedback, TerminalHardware
from rating_terminal.outbox import Outbox

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 3.0
RESEND_EVERY_S = 3.0
FRAME_S = 0.05


class TerminalAgent:
    def __init__(self, config: TerminalConfig, link: MqttLink, hardware: TerminalHardware, outbox: Outbox, *,
                 clock: Callable[[], datetime]) -> None:
        self.config = config
        self.events: queue.Queue[Event] = queue.Queue()
        self.flow = TerminalFlow(lambda: uuid.uuid4().hex, clock())
        self.flow.rated.update(o.rating.ticket_id for o in outbox.pending())  # never armed twice for one ticket
        self._link, self._hardware, self._outbox, self._clock = link, hardware, outbox, clock
        self._commands: queue.SimpleQueue[SendCommand | None] = queue.SimpleQueue()
        self._uncertain: list[str] = []  # commands sent whose answer never came (the command worker's)
        self._wake_sender = threading.Event()
        self._acks: queue.Queue[tuple[str, str]] = queue.Queue()
        self._presence = ServerPresence(link, Topics(config.center_id))
        self._levels_seen: set[tuple[str, ...]] = set()  # the center's rating levels checked against ours
        topics = self.topics = Topics(config.center_id)
        link.subscribe(topics.config(), self._on_config)
        link.subscribe(topics.counter_state(config.counter_id), self._on_state)
        link.subscribe(topics.rating_ack(config.counter_id), self._on_ack)
        link.expect_replies(topics.counter_command_response(config.counter_id))

    # --- paho's and gpiozero's threads: decode and enqueue -----------------------------------

    def press(self, event: Event) -> None:
        """For the hardware's callbacks: a key or a rating button."""
        self.events.put(event)

    def _on_config(self, message: Message) -> None:
        try:
            config = CenterConfigMessage.from_wire(message.payload)
        except BadMessage as bad:
            log.warning("ignored a center config: %s", bad.reason)
            return
        if config.rating_levels not in self._levels_seen:  # the retained config comes again on every reconnect
            self._levels_seen.add(config.rating_levels)
            problem = levels_problem(self.config, config.rating_levels, "the center's rating")
            if problem is not None:
                log.error("%s: its button never lights", problem)
        self.events.put(ConfigReceived(tuple(a.id for a in config.areas if a.open), config.rating_levels,
                                       config.rating_window_s))

    def _on_state(self, message: Message) -> None:
        try:
            state = CounterStateMessage.from_wire(message.payload)
            if state.rating is not None:
                time_of({"until": state.rating.until}, "until")  # an ISO time with its offset
        except BadMessage as exc:
            log.warning("ignored a counter state: %s", exc)
            return
        self.events.put(StateReceived(state))

    def _on_ack(self, message: Message) -> None:
        try:
            ack = Reply.from_wire(message.payload, id_name="rating_id")
        except BadMessage as bad:
            log.warning("ignored a rating acknowledgement: %s", bad.reason)
            return
        if ack.request_id is None:
            return
        outcome = "ok" if ack.ok else (ack.error.code if ack.error else "refused")
        self._acks.put((ack.request_id, outcome))  # written by the sender: no fsync on paho's thread
        self._wake_sender.set()

    # --- the main loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        workers = [threading.Thread(target=self._command_worker, name="commands", daemon=True),
                   threading.Thread(target=self._rating_sender, args=(stop,), name="ratings", daemon=True)]
        for worker in workers:
            worker.start()
        self._link.start()
        watchdog, announced = Watchdog(), False
        try:
            while not stop.is_set():
                self._step()
                if not announced and self.flow.online:
                    announced = True
                    notify("READY=1")
                if all(worker.is_alive() for worker in workers):
                    watchdog.ping()
        finally:
            notify("STOPPING=1")
            stop.set()  # also when the loop failed: the sender must not outlive the outbox
            self._commands.put(None)
            self._wake_sender.set()
            for worker in workers:
                worker.join(timeout=COMMAND_TIMEOUT_S + 1)
            self._link.stop()
            self._hardware.close()
            self._outbox.close()
        return 0

    def _step(self) -> None:
        events = drain(self.events, FRAME_S)
        online = self._presence.change()
        if online is not None:
            events.append(ConnectionChanged(online))
            self._wake_sender.set()
            self._link.set_status(server=online)  # the center sees whether this terminal reaches the server
        events.append(Tick(self._clock()))
        for event in events:
            for effect in self.flow.handle(event):
                self._carry_out(effect)

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, (SendCommand, StoreRating)):
            self._do(effect)  # a failing outbox must stop the terminal: no thank-you without the rating
            return
        try:
            self._do(effect)
        except Exception:  # a hardware adapter: a dead LED must not stop the terminal
            log.exception("the terminal's hardware failed on %s", effect)

    def _do(self, effect: Effect) -> None:
        hardware = self._hardware
        if isinstance(effect, SendCommand):
            self._commands.put(effect)
        elif isinstance(effect, Signal):
            hardware.signal(effect.feedback)
        elif isinstance(effect, Arm):
            hardware.arm(list(effect.levels))
        elif isinstance(effect, Disarm):
            hardware.disarm()
        elif isinstance(effect, StoreRating):
            self._outbox.add(Rating(effect.rating_id, effect.ticket_id, effect.level, effect.pressed_at))
            log.info("rating %s of ticket %s stored: %s", effect.rating_id, effect.ticket_id, effect.level)
            self._wake_sender.set()
        elif isinstance(effect, ThankYou):  # after StoreRating: the rating is on disk
            hardware.thank_you(effect.level)

    # --- workers ------------------------------------------------------------------------------

    def _command_worker(self) -> None:
        while True:
            try:
                command = self._commands.get(timeout=1.0)
            except queue.Empty:
                self._cancel_uncertain()
                continue
            if command is None:
                return
            self.events.put(CommandAnswered(command.request_id, self._send(command)))

    def _cancel_uncertain(self) -> None:
        """Commands whose answer never came may still be in flight (paho resends them after a
        reconnect): cancel each, so that none acts late, before any new command goes out."""
        while self._uncertain and self._link.ready.is_set():
            request_id = self._uncertain[0]
            payload = CounterCommand(uuid.uuid4().hex, "cancel", cancels=request_id).to_wire()
            try:
                reply = Reply.from_wire(self._link.request(
                    self.topics.counter_command(self.config.counter_id), payload,
                    response_topic=self.topics.counter_command_response(self.config.counter_id),
                    timeout_s=COMMAND_TIMEOUT_S).payload)
            except (RequestTimeout, BadMessage) as exc:
                log.warning("cancelling request %s: %s", request_id, exc)
                return
            self._uncertain.pop(0)
            applied = reply.fields.get("cancelled") is False
            log.warning("request %s %s", request_id, "had been applied after all" if applied else "cancelled")
            if applied:  # the official was told it failed: tell the truth now
                self.events.put(Signalled(Feedback.OK))

    def _send(self, command: SendCommand) -> bool:
        self._cancel_uncertain()
        if not self._link.ready.is_set() or self._uncertain:
            return False  # never queued for later, never after a command that may still act
        payload = CounterCommand(command.request_id, command.action, command.to_area).to_wire()
        try:
            reply = self._link.request(self.topics.counter_command(self.config.counter_id), payload,
                                       response_topic=self.topics.counter_command_response(self.config.counter_id),
                                       timeout_s=COMMAND_TIMEOUT_S, expiry_s=round(COMMAND_TIMEOUT_S))
            answer = Reply.from_wire(reply.payload)
        except RequestTimeout as exc:
            log.warning("%s (request %s) got no answer: %s", command.action, command.request_id, exc)
            self._uncertain.append(command.request_id)
            return False
        except BadMessage as exc:
            log.warning("%s (request %s) failed: %s", command.action, command.request_id, exc)
            return False
        if not answer.ok:
            log.info("%s refused: %s", command.action, answer.error.code if answer.error else "?")
        return answer.ok

    def _rating_sender(self, stop: threading.Event) -> None:
        last_sent: dict[str, float] = {}
        while not stop.is_set():
            self._wake_sender.wait(RESEND_EVERY_S)
            self._wake_sender.clear()
            for rating_id, outcome in drain(self._acks, 0):
                self._outbox.done(rating_id, outcome, self._clock())
                log.info("rating %s acknowledged: %s", rating_id, outcome)
            if not self._link.ready.is_set():
                continue
            for outgoing in self._outbox.pending():
                rating = outgoing.rating
                if time.monotonic() - last_sent.get(rating.rating_id, float("-inf")) < RESEND_EVERY_S:
                    continue
                last_sent[rating.rating_id] = time.monotonic()
                self._link.publish(self.topics.counter_rating(self.config.counter_id), rating.to_wire())
                self._outbox.sent(rating.rating_id)
