"""The service: wire message -> domain -> storage -> replies and retained state.

It does no MQTT itself. The server loop hands it batches of inbound messages; it applies
them to the domain, makes everything durable in one transaction, and returns what to publish:
first the state the batch changed (counter states, calls, the board), then the replies.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from central_server.config import CenterConfig, config_message
from central_server.domain.center import CallRecord, Center, Changes
from central_server.domain.counters import Counter
from central_server.domain.errors import DomainError
from central_server.domain.tickets import Ticket
from central_server.storage.port import Batch, Storage, StoredReply
from protocol.errors import BadMessage
from protocol.link import Message
from protocol.messages import (
    BoardState,
    Call,
    CounterCommand,
    CounterStateMessage,
    ErrorInfo,
    Rating,
    RatingWindow,
    Reply,
    Status,
    TicketRequest,
    TicketView,
    check_version,
    iso,
    parse_object,
    usable_id,
)
from protocol.topics import COUNTER, Inbound, Topics

log = logging.getLogger(__name__)

BAD_REQUEST_VI = "Yêu cầu không hợp lệ."
INTERNAL_VI = "Hệ thống đang bận, vui lòng thử lại sau."
CANCELLED_VI = "Lệnh đã được huỷ vì quầy không nhận được trả lời kịp thời."
# Refusals kept per day (and process) so that their retries get the same answer; a kiosk or a
# counter that works normally gets a few dozen a day. Past it a refusal is answered, not kept.
MAX_REFUSALS_KEPT = 20_000
PRINTER_STATE = re.compile(r"[a-z_]{1,32}")  # what a kiosk reports: ready, paper_low, paper_out, cover_open, ...
PRINTER_PROBLEMS = frozenset({"paper_out", "cover_open", "offline"})  # no ticket can be printed


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    payload: bytes
    retain: bool = False
    correlation: bytes | None = None


class CenterService:
    """Owns the center's state; call it from one thread only."""

    def __init__(self, config: CenterConfig, storage: Storage, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.topics = Topics(config.center_id)
        self._storage = storage
        self._clock = clock
        self._area_names = {a.id: a.name for a in config.rules.areas}
        self.center = Center(config.rules, clock())
        self.center.restore(
            storage.load_day(self.center.day, config.rules.counters, config.rules.policy.regular_per_priority)
        )
        self._answered = self._answered_hashes()
        self._refusals_kept = 0  # this day, by this process
        self._day_began = False
        self._clock_behind: date | None = None
        self._batch_replies: dict[tuple[str, str], bytes] = {}
        self._batch = Batch(Changes())
        self._replies: list[Outbound] = []

    # --- the batch loop --------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Around a batch and its publishing: alone among the center's server instances, and up to date
        with what the others committed (the day is read again when one of them has)."""
        with self._storage.exclusive() as stale:
            if stale:
                rules = self.config.rules
                self.center.restore(self._storage.load_day(self.center.day, rules.counters,
                                                           rules.policy.regular_per_priority))
                self._answered = self._answered_hashes()
            yield

    def handle_batch(self, messages: Iterable[Message]) -> list[Outbound]:
        """Apply messages, commit once, and return what to publish (state first, then replies)."""
        now = self._clock()
        self._follow_clock(now)
        for message in messages:
            try:
                self._handle(message, now)
            except Exception:
                log.exception("message on %s failed", message.topic[:200])
                failed = self.internal_error_reply(message)
                if failed is not None:
                    self._replies.append(failed)
        return self._commit()

    def tick(self) -> list[Outbound]:
        """Timers: the service day and the rating windows."""
        now = self._clock()
        self._follow_clock(now)
        for counter in self.center.close_rating_windows(now):
            log.info("rating window closed at counter %s", counter.id)
        return self._commit()

    def _follow_clock(self, now: datetime) -> None:
        """Begin a new service day from what storage holds for it (nothing, unless the clock was wrong).

        A clock that goes back across `day_starts` (a Pi without a real-time clock, corrected
        by NTP) does not take the center back to an earlier day.
        """
        day = self.center.day_of(now)
        if day < self.center.day:
            if self._clock_behind != day:
                log.warning("the clock says %s, before the service day %s; staying on %s", now, self.center.day,
                            self.center.day)
                self._clock_behind = day
            return
        if day == self.center.day:
            return
        rules = self.config.rules
        self.center.restore(self._storage.load_day(day, rules.counters, rules.policy.regular_per_priority))
        self._answered = self._answered_hashes()
        self._refusals_kept = 0
        self._day_began = True
        log.info("service day %s begins: %d tickets already stored for it", day, len(self.center.tickets))

    def _commit(self) -> list[Outbound]:
        changes = self.center.take_changes()
        self._batch.changes = changes
        if changes or self._batch.replies:
            self._storage.commit(self._batch)
        state = self._state_outbound(changes)
        if self._day_began:
            self._day_began = False
            state = [*self._day_state(), *state]
        replies, self._replies = self._replies, []
        self._batch = Batch(Changes())
        self._batch_replies = {}
        return state + replies

    # --- one message -------------------------------------------------------------------------

    def _handle(self, message: Message, now: datetime) -> None:
        inbound = self.topics.parse_inbound(message.topic)
        if inbound is None:
            log.warning("dropped a message on %s: not a topic the server serves", message.topic[:200])
        elif message.retained and inbound.kind != "status":
            # A request kept by the broker would be served again at every reconnect (and, the next
            # day, act again): ACLs cannot forbid the retain flag, so the server ignores it.
            log.warning("dropped a retained request on %s: requests are never retained", message.topic[:200])
        elif inbound.kind == "rating":
            self._handle_rating(inbound, message, now)
        elif inbound.kind == "status":
            self._handle_status(inbound.device_id, message.payload, now)
        elif message.response_topic is None:
            log.warning("dropped a request on %s: it has no Response Topic", message.topic[:200])
        elif not self.topics.response_allowed(inbound, message.response_topic):
            log.warning(
                "dropped a request on %s: Response Topic %r is outside the device's own subtree",
                message.topic[:200], message.response_topic[:200],
            )
        else:
            self._handle_request(inbound, message, message.response_topic, now)

    def _handle_request(self, inbound: Inbound, message: Message, response_topic: str, now: datetime) -> None:
        device = f"{inbound.device_kind}/{inbound.device_id}"
        body = _Body(message.payload)
        request_id = usable_id(body.fields, "request_id")
        if request_id is not None:
            earlier = self._earlier_reply(device, request_id)
            if earlier is not None:
                log.info("request %s from %s answered again (retry)", request_id, device)
                self._reply(response_topic, earlier, message.correlation)
                return
        reply = self._answer(inbound, body, request_id, now)
        payload = reply.to_wire()
        self._reply(response_topic, payload, message.correlation)
        # Every answer is kept: a retry must never act later than its refusal. Not for an unknown
        # counter, whose answer the config alone decides: made-up counters must not fill the disk;
        # nor refusals past a day's cap, so that a flood of bad requests cannot fill memory or disk.
        known = inbound.device_kind != COUNTER or inbound.device_id in self.center.counters
        if request_id is not None and known and (reply.ok or self._keep_refusal()):
            self._batch.replies.append(StoredReply(device, self.center.day, request_id, payload))
            self._batch_replies[(device, request_id)] = payload
            self._answered.add(hash((device, request_id)))

    def _keep_refusal(self) -> bool:
        if self._refusals_kept < MAX_REFUSALS_KEPT:
            self._refusals_kept += 1
            return True
        if self._refusals_kept == MAX_REFUSALS_KEPT:
            self._refusals_kept += 1
            log.warning("%d refusals kept today: later ones are answered but not kept", MAX_REFUSALS_KEPT)
        return False

    def _handle_status(self, device_id: str, payload: bytes, now: datetime) -> None:
        """A device's retained status (its LWT included): kept as an event when it changed; never answered."""
        try:
            status = Status.from_wire(payload)
        except BadMessage as bad:
            log.warning("ignored the status of %s: %s", device_id[:64], bad.reason)
            return
        printer = status.extra.get("printer")
        printer = printer if isinstance(printer, str) and PRINTER_STATE.fullmatch(printer) else None
        if not self.center.device_reported(device_id, status.online, printer, now):
            return
        if printer in PRINTER_PROBLEMS or not status.online:
            log.warning("device %s: %s", device_id, f"printer {printer}" if status.online else "offline")
        else:
            log.info("device %s: online%s", device_id, f", printer {printer}" if printer else "")

    def _answered_hashes(self) -> set[int]:
        """Hashes of the day's stored replies: a request id not among them needs no database look-up."""
        return {hash(key) for key in self._storage.reply_keys(self.center.day)}

    def _earlier_reply(self, device: str, request_id: str) -> bytes | None:
        pending = self._batch_replies.get((device, request_id))
        if pending is not None:
            return pending
        if hash((device, request_id)) not in self._answered:
            return None
        return self._storage.find_reply(device, self.center.day, request_id)

    def _answer(self, inbound: Inbound, body: _Body, request_id: str | None, now: datetime) -> Reply:
        try:
            if inbound.kind == "ticket_request":
                return self._issue(TicketRequest.from_body(body.checked()), inbound.device_id, now)
            return self._command(CounterCommand.from_body(body.checked()), inbound.device_id, now)
        except BadMessage as bad:
            log.warning("refused a request from %s/%s: %s", inbound.device_kind, inbound.device_id, bad.reason)
            return Reply(request_id, False, error=ErrorInfo(bad.code, BAD_REQUEST_VI, bad.reason))
        except DomainError as refused:
            log.warning("refused %s from %s/%s: %s", request_id, inbound.device_kind, inbound.device_id,
                        refused.code)
            return Reply(request_id, False, error=ErrorInfo(refused.code, refused.message))

    def _issue(self, request: TicketRequest, kiosk_id: str, now: datetime) -> Reply:
        issued = self.center.issue(request.area, request.priority, now, kiosk_id)
        ticket = issued.ticket
        log.info("ticket %s number %s area %s priority %s for kiosk %s (request %s)", ticket.id, ticket.shown,
                 ticket.area, ticket.priority, kiosk_id, request.request_id)
        view = self._view(ticket, waiting_ahead=issued.waiting_ahead, estimated_wait_s=issued.estimated_wait_s,
                          wait_basis=issued.wait_basis.value)
        return Reply(request.request_id, True, {"ticket": view.to_body()})

    def _command(self, command: CounterCommand, counter_id: str, now: datetime) -> Reply:
        center = self.center
        action = command.action
        ticket: Ticket | None
        if action == "cancel":
            return self._cancel(command, counter_id)
        if action == "next":
            ticket = center.next(counter_id, now)
        elif action == "call":
            ticket = center.call_number(counter_id, command.number or "", now)
        elif action == "transfer":
            ticket = center.transfer(counter_id, command.to_area or "", now)
        elif action in ("pause", "resume"):
            getattr(center, action)(counter_id, now)
            ticket = center.counters[counter_id].current
        else:  # recall, skip, finish, start
            ticket = getattr(center, action)(counter_id, now)
        counter = center.counters[counter_id]
        log.info("counter %s %s -> %s (request %s)", counter_id, action,
                 f"{ticket.shown} ({ticket.id}, {ticket.state})" if ticket else "nobody", command.request_id)
        fields = {"ticket": None if ticket is None else self._view(ticket).to_body(), "status": counter.status.value}
        return Reply(command.request_id, True, fields)

    def _cancel(self, command: CounterCommand, counter_id: str) -> Reply:
        """A terminal gave up waiting for a command's answer: make sure it never acts later.

        If the command was answered, the reply says so (with its answer). If not, its request_id
        is answered now with a refusal, so that the command, should it still arrive, changes nothing.
        """
        self.center.counter(counter_id)
        device, cancelled = f"counter/{counter_id}", command.cancels or ""
        earlier = self._earlier_reply(device, cancelled)
        if earlier is not None:
            log.info("counter %s: request %s was already answered; not cancelled", counter_id, cancelled)
            return Reply(command.request_id, True, {"cancelled": False, "answer": json.loads(earlier)})
        refusal = Reply(cancelled, False, error=ErrorInfo("cancelled", CANCELLED_VI)).to_wire()
        self._batch.replies.append(StoredReply(device, self.center.day, cancelled, refusal))
        self._batch_replies[(device, cancelled)] = refusal
        self._answered.add(hash((device, cancelled)))
        log.info("counter %s: request %s cancelled before it arrived", counter_id, cancelled)
        return Reply(command.request_id, True, {"cancelled": True})

    # --- ratings -----------------------------------------------------------------------------

    def _handle_rating(self, inbound: Inbound, message: Message, now: datetime) -> None:
        counter_id = inbound.device_id
        response_topic = message.response_topic
        correlation = message.correlation
        if response_topic is None or not self.topics.response_allowed(inbound, response_topic):
            response_topic, correlation = self.topics.rating_ack(counter_id), None
        body = _Body(message.payload)
        rating_id = usable_id(body.fields, "rating_id")
        if rating_id is not None:
            earlier = (self._batch.rating_acks.get((counter_id, rating_id))
                       or self._storage.find_rating_ack(counter_id, rating_id))
            if earlier is not None:
                log.info("rating %s from counter %s acknowledged again", rating_id, counter_id)
                self._reply(response_topic, earlier, correlation)
                return
        ack = self._rate(counter_id, body, rating_id, now)
        payload = ack.to_wire()
        if ack.ok and rating_id is not None:
            self._batch.rating_acks[(counter_id, rating_id)] = payload
        self._reply(response_topic, payload, correlation)

    def _rate(self, counter_id: str, body: _Body, rating_id: str | None, now: datetime) -> Reply:
        try:
            rating = Rating.from_body(body.checked())
            ticket = self.center.ticket(rating.ticket_id)
            if ticket is None:  # a late rating of an earlier day's ticket
                stored = self._storage.load_ticket(rating.ticket_id)
                ticket = None if stored is None else self.center.remember(stored)
            self.center.rate(counter_id, rating.rating_id, ticket, rating.level, rating.pressed_at, now)
        except BadMessage as bad:
            log.warning("refused a rating from counter %s: %s", counter_id, bad.reason)
            return Reply(rating_id, False, error=ErrorInfo(bad.code, BAD_REQUEST_VI, bad.reason),
                         id_name="rating_id")
        except DomainError as refused:
            log.warning("refused rating %s from counter %s: %s", rating_id, counter_id, refused.code)
            return Reply(rating_id, False, error=ErrorInfo(refused.code, refused.message), id_name="rating_id")
        log.info("rating %s of ticket %s at counter %s: %s", rating.rating_id, rating.ticket_id, counter_id,
                 rating.level)
        return Reply(rating.rating_id, True, {"ticket_id": rating.ticket_id, "level": rating.level},
                     id_name="rating_id")

    # --- what to publish ---------------------------------------------------------------------

    def _reply(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        self._replies.append(Outbound(topic, payload, correlation=correlation))

    def _state_outbound(self, changes: Changes) -> list[Outbound]:
        out = [self._counter_outbound(c) for c in changes.counters.values()]
        out.extend(Outbound(self.topics.board_call(), self._call(c).to_wire()) for c in changes.calls)
        if changes.board_changed or changes.calls:
            out.append(self.board_outbound())
        return out

    def retained_state(self) -> list[Outbound]:
        """Everything retained, for after every (re)connect."""
        return [self.config_outbound(), *self._day_state()]

    def _day_state(self) -> list[Outbound]:
        """The board and every counter, as they are now."""
        return [self.board_outbound(), *(self._counter_outbound(c) for c in self.center.counters.values())]

    def config_outbound(self) -> Outbound:
        return Outbound(self.topics.config(), config_message(self.config).to_wire(), retain=True)

    def board_outbound(self) -> Outbound:
        board = BoardState(tuple(self._call(c) for c in self.center.recent_calls), self.center.waiting_counts())
        return Outbound(self.topics.board_state(), board.to_wire(), retain=True)

    def _counter_outbound(self, counter: Counter) -> Outbound:
        awaiting = counter.awaiting_rating
        rating = None
        if awaiting is not None and awaiting.rating_until is not None:
            rating = RatingWindow(awaiting.id, awaiting.shown, iso(awaiting.rating_until))
        message = CounterStateMessage(
            counter_id=counter.id,
            counter_name=counter.spec.name,
            status=counter.status.value,
            ticket=None if counter.current is None else self._view(counter.current),
            rating=rating,
        )
        return Outbound(self.topics.counter_state(counter.id), message.to_wire(), retain=True)

    def _call(self, call: CallRecord) -> Call:
        counter = self.center.counters.get(call.counter_id)
        return Call(
            number=call.number,
            counter_id=call.counter_id,
            counter_name=counter.spec.name if counter else call.counter_id,
            area=call.area,
            recall=call.recall,
            called_at=iso(call.called_at),
            area_name=self._area_names.get(call.area, call.area),
            ticket_id=call.ticket_id,
        )

    def _view(self, ticket: Ticket, **extra: Any) -> TicketView:
        return TicketView(
            id=ticket.id, number=ticket.shown, area=ticket.area,
            area_name=self._area_names.get(ticket.area, ticket.area), issued_at=iso(ticket.issued_at),
            priority=ticket.priority, state=ticket.state.value, counter_id=ticket.counter_id, calls=ticket.calls,
            **extra,
        )

    def internal_error_reply(self, message: Message) -> Outbound | None:
        """A reply for a request the loop could not process at all, when a reply is allowed."""
        inbound = self.topics.parse_inbound(message.topic)
        if inbound is None or message.response_topic is None:
            return None
        if not self.topics.response_allowed(inbound, message.response_topic):
            return None
        reply = Reply(usable_id(_Body(message.payload).fields, "request_id"), False,
                      error=ErrorInfo("internal_error", INTERNAL_VI))
        return Outbound(message.response_topic, reply.to_wire(), correlation=message.correlation)


class _Body:
    """A payload parsed once: its fields (even when its version is wrong), or why it did not parse."""

    def __init__(self, payload: bytes) -> None:
        self.fields: dict[str, Any] | None = None
        self.error: BadMessage | None = None
        try:
            self.fields = parse_object(payload)
        except BadMessage as bad:
            self.error = bad

    def checked(self) -> dict[str, Any]:
        """The fields of a payload of the right version, or the reason it is refused."""
        if self.fields is None:
            raise self.error or BadMessage("bad_request", "payload is empty")
        return check_version(self.fields)
