"""The citizen web's side of MQTT: the center's names (`config`) and its queue (`queue`), both retained, and what it
may ask the server (`web/<id>/request`, an extension of the contract): look a ticket up by its token, rate it from
the phone, and (issue 18) an area's free slots, a booking or a remote number, a booking looked up or cancelled. Its
broker user may do nothing else."""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from citizen_web.follow import Names, Queue
from protocol.errors import BadMessage
from protocol.link import Link, Message, RequestTimeout
from protocol.messages import (
    BookingAnswer,
    BookingView,
    CenterConfigMessage,
    PublicTicket,
    QueueSnapshot,
    Refusal,
    SlotsAnswer,
    Status,
    WebBook,
    WebBooking,
    WebLookup,
    WebRate,
    WebSlots,
    parse_object,
)
from protocol.topics import Topics

log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A", SlotsAnswer, BookingAnswer)

TRY_S = 1.5  # one attempt; then the same request again (the server answers a retried rating with its first answer)
GIVE_UP_S = 4.5  # the citizen is told the center did not answer; the request expires at the broker by then
BUSY_WAIT_S = 0.5  # before asking again when the server said the web asks too fast
NO_ANSWER_VI = "Trung tâm chưa trả lời. Vui lòng thử lại sau giây lát."
NOT_CONNECTED_VI = "Tạm thời không kết nối được với trung tâm. Vui lòng thử lại sau giây lát."
BAD_ANSWER_VI = "Trung tâm trả lời không hợp lệ. Vui lòng thử lại sau."


class Refused(Exception):
    """The server said no (`code` is its error code), or could not be asked; `message` is for the citizen."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Bridge:
    def __init__(self, link: Link, topics: Topics, web_id: str, woken: Callable[[], None]) -> None:
        self._link = link
        self._topics = topics
        self._request_topic = topics.web_request(web_id)
        self._response_topic = topics.web_response(web_id)
        self._woken = woken
        self._lock = threading.Lock()
        self._names: Names | None = None
        self._queue: Queue | None = None
        self._server_online = False
        self._connected = False
        self.version = 0  # grows with every change the pages may show
        link.subscribe(topics.config(), self._on_config)
        link.subscribe(topics.queue(), self._on_queue)
        link.subscribe(topics.server_status(), self._on_server_status)
        link.expect_replies(self._response_topic)

    def start(self) -> None:
        self._link.start()

    def stop(self) -> None:
        self._link.stop()

    # --- what the center publishes (paho's thread) -----------------------------------------

    def _on_config(self, message: Message) -> None:
        try:
            config = CenterConfigMessage.from_wire(message.payload)
            bookings = config.bookings
            names = Names(config.center_name, {a.id: a.name for a in config.areas},
                          {c.id: c.name for c in config.counters}, config.rating_levels, ZoneInfo(config.timezone),
                          bookings,
                          {a.id: a.name for a in config.areas if bookings and a.booking_capacity > 0 and a.open},
                          {a.id: a.name for a in config.areas if bookings and bookings.remote and a.open},
                          config.rating_criteria)
        except (BadMessage, ValueError, KeyError) as bad:
            log.warning("ignored the center's config: %s", bad)
            return
        self._changed(lambda: setattr(self, "_names", names))

    def _on_queue(self, message: Message) -> None:
        try:
            queue = Queue.of(QueueSnapshot.from_wire(message.payload), datetime.now(UTC))
        except BadMessage as bad:
            log.warning("ignored the queue: %s", bad.reason)
            return
        self._changed(lambda: setattr(self, "_queue", queue))

    def _on_server_status(self, message: Message) -> None:
        try:
            online = Status.from_wire(message.payload).online
        except BadMessage:
            return
        self._changed(lambda: setattr(self, "_server_online", online))

    def _changed(self, change: Callable[[], None]) -> None:
        with self._lock:
            change()
            self.version += 1
        self._woken()

    def follow_connection(self) -> None:
        """Called every few tenths of a second: the pages say when the web has lost the center."""
        connected = self._link.ready.is_set()
        if connected != self._connected:
            self._changed(lambda: setattr(self, "_connected", connected))

    # --- what the pages read --------------------------------------------------------------

    def picture(self) -> tuple[Names | None, Queue | None, bool]:
        """The center's names, its queue, and whether the center is reached now."""
        with self._lock:
            return self._names, self._queue, self._connected and self._server_online

    # --- what the web asks (worker threads) -----------------------------------------------

    def ask(self, request: WebLookup | WebRate) -> PublicTicket:
        """The server's `ticket` for a look-up or a rating, or Refused with why not (blocking: `call`)."""
        return self.call(request.action, request.to_wire(), _ticket)

    def slots(self, area: str, day: date | None = None) -> SlotsAnswer:
        """The area's bookable days (and `day`'s slots), or Refused (issue 18; read-only, so a fresh request_id)."""
        return self.call("slots", WebSlots(uuid.uuid4().hex, area, day).to_wire(), _slots)

    def book(self, request: WebBook) -> BookingView:
        """A booking made (a slot, or a remote number for today), or Refused. The caller's `request_id` is the
        form's: the same form sent again is a retry, answered with the first answer."""
        return self.call(request.action, request.to_wire(), _booking)

    def booking(self, request: WebBooking) -> BookingView:
        """A booking looked up, or cancelled, by its code and the CCCD that made it; or Refused."""
        return self.call(request.action, request.to_wire(), _booking)

    def call(self, action: str, payload: bytes, read: Callable[[bytes], T]) -> T:
        """The server's answer to `payload`, read by `read` (which raises Refused for a refusal).

        Blocking: tried again with the same request_id every TRY_S until GIVE_UP_S; each try expires at the broker
        by the time the web gives up, and none is sent while the broker is not reached."""
        give_up = time.monotonic() + GIVE_UP_S
        while (left := give_up - time.monotonic()) >= 1:
            if not self._link.ready.is_set():
                raise Refused("not_connected", NOT_CONNECTED_VI)
            try:
                reply = self._link.request(self._request_topic, payload, response_topic=self._response_topic,
                                           timeout_s=min(TRY_S, left), expiry_s=math.floor(left))
                return read(reply.payload)
            except RequestTimeout:
                continue
            except Refused as refused:  # over the web's rate at the server (a crowd of phones at once): a moment later
                if refused.code != "too_many_requests" or give_up - time.monotonic() < 1 + BUSY_WAIT_S:
                    raise
                time.sleep(BUSY_WAIT_S)
        log.warning("%s: no answer from the server within %g s", action, GIVE_UP_S)
        raise Refused("no_answer", NO_ANSWER_VI)


def _ticket(payload: bytes) -> PublicTicket:
    try:
        answer = parse_object(payload)
        ticket = answer.get("ticket")
        if answer.get("ok") is True and isinstance(ticket, dict):
            return PublicTicket.from_body(ticket)
    except BadMessage:
        raise Refused("bad_answer", BAD_ANSWER_VI) from None
    error = answer.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    raise Refused(str(code or "bad_answer"), message if isinstance(message, str) and message else BAD_ANSWER_VI)


def _slots(payload: bytes) -> SlotsAnswer:
    return _answered(payload, SlotsAnswer.from_wire)


def _booking(payload: bytes) -> BookingView:
    return _answered(payload, BookingAnswer.from_wire).booking


def _answered(payload: bytes, read: Callable[[bytes], A | Refusal]) -> A:
    """The server's answer, or Refused with its code and its Vietnamese message."""
    try:
        answer = read(payload)
    except (BadMessage, ValueError):
        log.warning("an answer of the server did not read")
        raise Refused("bad_answer", BAD_ANSWER_VI) from None
    if isinstance(answer, Refusal):
        raise Refused(answer.error.code, answer.error.message or BAD_ANSWER_VI)
    return answer
