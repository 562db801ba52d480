"""The counter terminal agent: wires the flow to MQTT, the keypad, the dossier scanner, the rating buttons and the
outbox.

One thread (protocol/agent_loop.py's main loop) owns the flow; gpiozero's and the link's callbacks only
enqueue, and the dossier scanner is polled every frame. A command (a key's, or a scanned dossier's) is sent at
most once, and only while the link is up: a press while offline fails at once and is never replayed (a stale
"next" must never fire). A rating is stored in the outbox before the thank-you and resent with its rating_id
until the server acknowledges it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial

from protocol.agent import Clock
from protocol.agent_loop import AgentLoop, drain
from protocol.errors import BadMessage
from protocol.link import Link, RequestTimeout
from protocol.messages import (
    Cancellation,
    CenterConfigMessage,
    CommandDone,
    CounterCommand,
    CounterStateMessage,
    Rating,
    RatingRecorded,
    Refusal,
)
from rating_terminal.config import TerminalConfig
from rating_terminal.flow import (
    Arm,
    CommandAnswered,
    ConfigReceived,
    ConnectionChanged,
    Disarm,
    Effect,
    Event,
    Scanned,
    SendCommand,
    Signal,
    Signalled,
    StateReceived,
    StoreRating,
    TerminalFlow,
    ThankYou,
    Tick,
)
from rating_terminal.levels import explain
from rating_terminal.model import Feedback, TerminalHardware
from rating_terminal.outbox import Outbox
from rating_terminal.scanner import CodeScanner

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 3.0
RESEND_EVERY_S = 3.0
FRAME_S = 0.05


class TerminalAgent(AgentLoop[Event]):
    worker_grace_s = COMMAND_TIMEOUT_S + 1

    def __init__(self, config: TerminalConfig, link: Link, hardware: TerminalHardware, outbox: Outbox, *,
                 clock: Clock, scanner: CodeScanner | None = None) -> None:
        super().__init__(link, config.center_id, clock)
        self.config = config
        self.flow = TerminalFlow(lambda: uuid.uuid4().hex, clock(), len(config.ratings))
        self.flow.rated.update(o.rating.ticket_id for o in outbox.pending())  # never armed twice for one ticket
        self._hardware, self._outbox, self._scanner = hardware, outbox, scanner
        self._commands: queue.SimpleQueue[SendCommand | None] = queue.SimpleQueue()
        self._uncertain: list[str] = []  # commands sent whose answer never came (the command worker's)
        self._wake_sender = threading.Event()
        self._acks: queue.Queue[tuple[str, str]] = queue.Queue()
        self._levels_told: tuple[str, ...] | None = None  # the center's rating levels last logged with the buttons
        topics = self.topics
        self.subscribe(topics.config(), CenterConfigMessage.from_wire, self._config_received)
        self.subscribe(topics.counter_state(config.counter_id), CounterStateMessage.from_wire, StateReceived)
        self.subscribe(topics.rating_ack(config.counter_id), RatingRecorded.from_wire, self._acknowledged)
        link.expect_replies(topics.counter_command_response(config.counter_id))

    def press(self, event: Event) -> None:
        """For the hardware's callbacks: a key or a rating button."""
        self.events.put(event)

    # --- the link's thread: decoded messages to events ---------------------------------------

    def _config_received(self, config: CenterConfigMessage) -> Event:
        if config.rating_levels != self._levels_told:  # the retained config comes again on every reconnect
            self._levels_told = config.rating_levels
            for level, line in explain([r.label for r in self.config.ratings], config.rating_levels):
                log.log(level, "%s", line)
        return ConfigReceived(tuple(a.id for a in config.areas if a.open), config.rating_levels,
                              config.rating_window_s)

    def _acknowledged(self, ack: RatingRecorded | Refusal) -> None:
        rating_id = ack.request_id if isinstance(ack, Refusal) else ack.rating_id
        if rating_id is None:
            return
        outcome = ack.error.code if isinstance(ack, Refusal) else "ok"
        self._acks.put((rating_id, outcome))  # written by the sender: no fsync on the link's thread
        self._wake_sender.set()

    # --- the main loop's parts ------------------------------------------------------------

    def workers(self, stop: threading.Event) -> dict[str, Callable[[], None]]:
        return {"commands": self._command_worker, "ratings": partial(self._rating_sender, stop)}

    def wake_workers(self) -> None:
        self._commands.put(None)
        self._wake_sender.set()

    def wait_s(self) -> float:
        return FRAME_S

    def inputs(self) -> list[Event]:
        if self._scanner is None:
            return []
        try:
            return [Scanned(text) for text in self._scanner.scans()]
        except Exception:  # a hardware adapter: the terminal goes on without this frame's scans
            log.exception("reading the dossier scanner failed")
            return []

    def connection_events(self, server_online: bool | None) -> list[Event]:
        if server_online is None:
            return []
        self._wake_sender.set()
        self.link.set_status(server=server_online)  # the center sees whether this terminal reaches the server
        return [ConnectionChanged(server_online)]

    def tick(self, now: datetime) -> Event:
        return Tick(now)

    def handle(self, event: Event) -> None:
        for effect in self.flow.handle(event):
            self._carry_out(effect)

    def ready(self) -> bool:
        return self.flow.online

    def close(self) -> None:
        if self._scanner is not None:
            self._scanner.close()
        self._hardware.close()
        self._outbox.close()

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
            hardware.arm(list(effect.meaning))
        elif isinstance(effect, Disarm):
            hardware.disarm()
        elif isinstance(effect, StoreRating):
            self._outbox.add(Rating(effect.rating_id, effect.ticket_id, effect.level, effect.pressed_at))
            log.info("rating %s of ticket %s stored: %s", effect.rating_id, effect.ticket_id, effect.level)
            self._wake_sender.set()
        elif isinstance(effect, ThankYou):  # after StoreRating: the rating is on disk
            hardware.thank_you(effect.button, effect.level)

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
        while self._uncertain and self.link.ready.is_set():
            request_id = self._uncertain[0]
            payload = CounterCommand(uuid.uuid4().hex, "cancel", cancels=request_id).to_wire()
            try:
                reply = Cancellation.from_wire(self.link.request(
                    self.topics.counter_command(self.config.counter_id), payload,
                    response_topic=self.topics.counter_command_response(self.config.counter_id),
                    timeout_s=COMMAND_TIMEOUT_S).payload)
            except (RequestTimeout, BadMessage) as exc:
                log.warning("cancelling request %s: %s", request_id, exc)
                return
            self._uncertain.pop(0)
            applied = isinstance(reply, Cancellation) and not reply.cancelled
            log.warning("request %s %s", request_id, "had been applied after all" if applied else "cancelled")
            if applied:  # the official was told it failed: tell the truth now
                self.events.put(Signalled(Feedback.OK))

    def _send(self, command: SendCommand) -> bool:
        self._cancel_uncertain()
        if not self.link.ready.is_set() or self._uncertain:
            return False  # never queued for later, never after a command that may still act
        payload = CounterCommand(command.request_id, command.action, command.to_area, code=command.code).to_wire()
        what = command.action if command.code is None else f"dossier {command.code!r}"
        try:
            reply = self.link.request(self.topics.counter_command(self.config.counter_id), payload,
                                       response_topic=self.topics.counter_command_response(self.config.counter_id),
                                       timeout_s=COMMAND_TIMEOUT_S, expiry_s=round(COMMAND_TIMEOUT_S))
            answer = CommandDone.from_wire(reply.payload)
        except RequestTimeout as exc:
            log.warning("%s (request %s) got no answer: %s", what, command.request_id, exc)
            self._uncertain.append(command.request_id)
            return False
        except BadMessage as exc:
            log.warning("%s (request %s) failed: %s", what, command.request_id, exc)
            return False
        if isinstance(answer, Refusal):
            log.info("%s refused: %s", what, answer.error.code)
            return False
        if command.code is not None and answer.ticket is not None:
            log.info("dossier %r attached to ticket %s (%s), which has %d", command.code, answer.ticket.id,
                     answer.ticket.number, len(answer.ticket.dossiers))
        return True

    def _rating_sender(self, stop: threading.Event) -> None:
        last_sent: dict[str, float] = {}
        while not stop.is_set():
            self._wake_sender.wait(RESEND_EVERY_S)
            self._wake_sender.clear()
            for rating_id, outcome in drain(self._acks, 0):
                self._outbox.done(rating_id, outcome, self.clock())
                log.info("rating %s acknowledged: %s", rating_id, outcome)
            if not self.link.ready.is_set():
                continue
            for outgoing in self._outbox.pending():
                rating = outgoing.rating
                if time.monotonic() - last_sent.get(rating.rating_id, float("-inf")) < RESEND_EVERY_S:
                    continue
                last_sent[rating.rating_id] = time.monotonic()
                self.link.publish(self.topics.counter_rating(self.config.counter_id), rating.to_wire())
                self._outbox.sent(rating.rating_id)
