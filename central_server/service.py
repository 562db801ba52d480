"""The service: wire message -> domain -> storage -> replies and retained state (built by `wire.py`).

It does no MQTT itself. The server loop hands it batches of inbound messages; it applies
them to the domain, makes everything durable in one transaction, and returns what to publish:
first the state the batch changed (counter states, calls, the board), then the replies.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from central_server.answered import AnsweredHashes
from central_server.booking_desk import BookingDesk
from central_server.committer import Commit, Committer, Settled
from central_server.config import CenterConfig, load, restart_only, with_document
from central_server.domain.center import FORECAST_FOR, Center, Changes, QueuePlan
from central_server.domain.clock import Change, ClockJudge, ClockRule, Verdict
from central_server.domain.counters import Official
from central_server.domain.errors import DomainError
from central_server.domain.limits import (
    MAX_DEVICES,
    TOO_MANY_CHECK_INS,
    TOO_MANY_PRIORITY,
    DeviceLimits,
    over_budget,
    too_many,
)
from central_server.domain.tickets import Ticket, TicketState
from central_server.domain.tokens import make_token, read_token
from central_server.live_config import canonical, changes, digest
from central_server.notify import NoNotifier, Notifier
from central_server.queue_snapshot import queue_snapshot
from central_server.storage.port import (
    TOKEN_KEY,
    Batch,
    Storage,
    StorageError,
    StorageFull,
    StoredConfig,
    StoredReply,
    TwoStepStorage,
)
from central_server.wire import Outbound, Wire
from protocol.errors import BadMessage, ConfigError
from protocol.link import Message
from protocol.messages import (
    MAX_PAYLOAD,
    SEAT_ACTIONS,
    Cancellation,
    CheckIn,
    CommandDone,
    ConfigAnswer,
    ConfigChange,
    ConfigRequest,
    ConfigVersion,
    ConsoleRequest,
    CounterCommand,
    ErrorInfo,
    PublicRating,
    PublicTicket,
    Rating,
    RatingRecorded,
    Refusal,
    Reply,
    Request,
    Status,
    TicketCancel,
    TicketFound,
    TicketIssued,
    TicketRequest,
    TicketsVoided,
    Unreadable,
    VoidedTicket,
    VoidTickets,
    WebBook,
    WebBooking,
    WebLookup,
    WebRate,
    WebSlots,
    decode_request,
    iso,
    usable_id,
)
from protocol.topics import COUNTER, WEB, Inbound, Topics

log = logging.getLogger(__name__)

BAD_REQUEST_VI = "Yêu cầu không hợp lệ."
INTERNAL_VI = "Hệ thống đang bận, vui lòng thử lại sau."
CANCELLED_VI = "Lệnh đã được huỷ vì quầy không nhận được trả lời kịp thời."
CANCELLED_TICKET_VI = "Yêu cầu lấy số đã được huỷ vì ki-ốt không nhận được trả lời kịp thời."
UNKNOWN_TOKEN_VI = "Không tìm thấy phiếu. Vui lòng quét lại mã QR trên phiếu."
STORAGE_FULL_VI = ("Hệ thống tạm ngừng tiếp nhận vì bộ nhớ của máy chủ đã đầy; yêu cầu chưa được ghi nhận. "
                   "Xin vui lòng chờ trong giây lát, cán bộ đang khắc phục.")
CONFLICT_VI = ("Cấu hình vừa được thay đổi (nay là phiên bản {version}) sau khi Ông/Bà mở trang: thay đổi của "
               "Ông/Bà chưa được áp dụng. Vui lòng tải lại trang và làm lại.")
INVALID_VI = "Cấu hình mới không hợp lệ; chưa có gì thay đổi."
READ_ONLY_CONFIG = ("config_show", "config_history")  # answered, never kept
# Versions the console may make a day: a center changes its configuration a few times a week; a console gone wrong
# could otherwise keep 64 KiB documents at the rate of its commands. SIGHUP (root's) is not counted.
MAX_CHANGES_PER_DAY = 200
FORMER_KEPT = 50  # earlier versions of the live configuration kept in memory (their names and rating levels)
HISTORY_ASKED = 200  # versions read for the history page, before they are cut to what one answer carries
READ_EVERY = 16  # requests of a pipelined batch between two reads from the broker (`pipeline`)
MAX_HELD_STATUSES = 1_000  # device statuses kept while storage cannot write, to be applied once it can
# Refusals kept per day (and process) so that their retries get the same answer; a kiosk or a
# counter that works normally gets a few dozen a day. Past it a refusal is answered, not kept.
MAX_REFUSALS_KEPT = 20_000
# What an answer echoes from its request. Every agent sends a Response Topic of well under 100 bytes and
# 16 bytes of Correlation Data; MQTT allows 64 KiB of each, and an answer echoing both could exceed the
# broker's max_packet_size, which would cut the server off at every resend. A request over these bounds
# is neither acted on nor answered (its Response Topic is not usable, CONTRACT.md section 3).
MAX_RESPONSE_TOPIC_BYTES = 512
MAX_CORRELATION_BYTES = 256
PRINTER_STATE = re.compile(r"[a-z_]{1,32}")  # what a kiosk reports: ready, paper_low, paper_out, cover_open, ...
PRINTER_PROBLEMS = frozenset({"paper_out", "cover_open", "offline"})  # no ticket can be printed


Act = Callable[[Center, CounterCommand, str, datetime], Ticket | None]  # what a counter's command does


@dataclass(frozen=True, slots=True)
class Undo:
    """What a batch's changes of configuration undo when its commit fails: the state before the first of them."""

    config: CenterConfig
    version: int
    former_levels: set[str]
    changes_today: int
    file_config: CenterConfig
    file_waits: CenterConfig | None


def _paused(paused: bool) -> Act:
    def act(center: Center, command: CounterCommand, counter_id: str, now: datetime) -> Ticket | None:
        (center.pause if paused else center.resume)(counter_id, now)
        return center.counters[counter_id].current  # a break keeps the citizen being served, if any

    return act


# Each action of the contract but `cancel` (which acts on an earlier command), and the ticket it answers with.
ACTS: dict[str, Act] = {
    "next": lambda center, command, counter_id, now: center.next(counter_id, now),
    "call": lambda center, command, counter_id, now: center.call_number(counter_id, command.number or "", now),
    "recall": lambda center, command, counter_id, now: center.recall(counter_id, now),
    "start": lambda center, command, counter_id, now: center.start(counter_id, now),
    "skip": lambda center, command, counter_id, now: center.skip(counter_id, now),
    "finish": lambda center, command, counter_id, now: center.finish(counter_id, now),
    "transfer": lambda center, command, counter_id, now: center.transfer(counter_id, command.to_area or "", now),
    "pause": _paused(True),
    "resume": _paused(False),
    "dossier": lambda center, command, counter_id, now: center.dossier(counter_id, command.code or "", now,
                                                                      number=command.number, remove=command.remove),
}


class CenterService:
    """Owns the center's state; call it from one thread only."""

    def __init__(self, config: CenterConfig, storage: Storage, clock: Callable[[], datetime], *,
                 elapsed: Callable[[], float] | None = None, clock_rule: ClockRule | None = None,
                 notifier: Notifier | None = None) -> None:
        """`elapsed`: seconds of a clock nobody sets (the server's time since boot). With it a jump of `clock`
        is told from time passing, and not believed at once (`domain/clock.py`); without it (tests and tools
        that move the clock by hand) `clock` is always believed. `notifier`: where booking notices go."""
        self.topics = Topics(config.center_id)
        self._store = storage
        self._committer: Committer | None = None  # commits off the state thread (`pipeline`); None: in it
        self._two_step: TwoStepStorage | None = None  # the storage, when it has a committer
        self._publish_durable: Callable[[list[Outbound]], None] = lambda outbound: None  # `pipeline` says how
        self._read_more: Callable[[], None] = lambda: None
        self._clock_verdict: Verdict | None = None  # the last verdict on the clock, when it is judged
        self._clock = clock if elapsed is None else self._judged(clock, elapsed, clock_rule)
        # The live configuration (issue 17): the file as last read (what changes only at a restart, and the file's
        # live part), and the configuration the center goes by, of `self.version` (`live_config.py`).
        self._file_config = config
        config, self.version, pending, file_changed = self._live_at_start(config)
        self.config = config
        self._config_changed = False  # in this batch: the retained config and state go out again
        self._removed_counters: list[str] = []  # in this batch: their retained state is cleared
        self._start_versions = list(pending)  # read from the file at start-up: kept until a commit succeeds
        self._undo: Undo | None = None  # what this batch's changes of configuration undo if its commit fails
        # A file read (at start-up, by SIGHUP) whose live part the day's state refused: it becomes the next version
        # when a new service day begins, unless a later change (the console's, another instance's) came first.
        self._file_waits: CenterConfig | None = None
        self._unwritable: StorageError | None = None  # why storage cannot write now (None: it can)
        self._space_low = False
        self._held_statuses: dict[str, Message] = {}  # device statuses heard while storage could not write
        # The newest versions' documents, newest first: they name what the center no longer has (a call made at a
        # counter since removed) and the rating levels it had.
        self._documents = storage.config_documents(FORMER_KEPT)
        if config.document not in self._documents[:1]:  # the first version, or the file's not yet kept
            self._documents.insert(0, config.document)
        self._wire = Wire(config, self._documents)
        self.center = Center(config.rules, self._clock())
        self.center.restore(
            storage.load_day(self.center.day, config.rules.counters, config.rules.policy.regular_per_priority)
        )
        # The floor's figures of the day loaded, counted before any request can wait behind them (160 ms at
        # 100,000 tickets): the first floor then counts only what changed since.
        self._wire.day_count.follow(self.center)
        self._limits = DeviceLimits(config.limits)
        # Appointments (issue 18): today's bookings and those ahead, and what they send to the citizens' phones.
        self._desk = BookingDesk(config, storage, self.center.day, notifier or NoNotifier())
        self._unkept: dict[str, tuple[int, datetime | None]] = {}  # device -> refusals not yet logged, since
        self._status_due: dict[str, None] = {}  # devices whose changed status is not recorded yet (in order)
        self._answered = self._answered_hashes()
        self._refusals_kept = 0  # this day, by this process
        self._changes_today = 0  # versions the console made this day, in this process (at most MAX_CHANGES_PER_DAY)
        self._day_began = False
        self._clock_behind: date | None = None
        self._batch_replies: dict[tuple[str, str], bytes] = {}
        self._batch = Batch(Changes(), configs=pending)  # a version read from the file is kept with the first commit
        # Earlier days' bookings closed, and the retention, once a day and at start-up
        self._batch.close_before, self._batch.forget_before = self.center.day, self._desk.new_day(self.center.day)
        self._replies: list[Outbound] = []
        self._acts: list[tuple[str, str]] = []  # what this batch did (kind, text), for its one line in the log
        self.floor_due = True  # the center changed since the floor was last built
        # The citizen web (issue 16): the key of the tickets' public tokens, and the queue played forward for its
        # look-ups and its retained `queue` (made again once the center changed, or FORECAST_FOR after it was).
        self._token_key = storage.secret(TOKEN_KEY)
        self._queue_plan: QueuePlan | None = None
        self._plan_of: object = None  # the day's tickets the plan was made of
        self.queue_due = config.citizen_web is not None  # the `queue` is published only for a citizen web
        self.center.former_levels = {level for document in self._documents
                                     for level in document.get("rating", {}).get("levels", ())
                                     if level not in self.config.rules.rating_levels}
        if file_changed:  # as SIGHUP would, now that the day is loaded: its state may refuse it
            self._apply_file(self._file_config, "changed since it last gave a version")
            self._start_versions, self._undo = list(self._batch.configs), None  # kept until a commit succeeds

    # --- the batch loop --------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Around a batch and its publishing: alone among the center's server instances, and up to date
        with what the others committed (the day is read again when one of them has). It does not wait for a
        commit in flight: only a service that owns its storage alone (SQLite) has a committer."""
        with self._store.exclusive() as stale:
            if stale:
                self._follow_stored_config()
                rules = self.config.rules
                self.center.restore(self._storage.load_day(self.center.day, rules.counters,
                                                           rules.policy.regular_per_priority))
                self._desk.restore(self.center.day)
                self._answered = self._answered_hashes()
            yield

    @property
    def _storage(self) -> Storage:
        """Storage, once no commit is in flight: a read, a probe or a commit never meets the committer's."""
        if self._committer is not None:
            self._committer.idle()
        return self._store

    def pipeline(self, publish: Callable[[list[Outbound]], None], read: Callable[[], None]) -> None:
        """From now on a batch of requests is made durable off the calling thread (`committer.py`): `handle_batch`
        returns before its batch is durable. What the batch caused is given to `publish` (in the calling thread,
        between the next batch's requests) once it is durable, or else returned by the next `settle` (which
        `handle_batch` itself calls before it commits). The caller settles before anything else it asks of the
        service, and publishes what that returns; and before it waits for requests, so that none waits for an
        answer. `read` is called every READ_EVERY requests of a batch: the server reads from its broker meanwhile
        (what it reads waits for the next batch), so that the broker need not wait for the batch's end to send
        more."""
        store = self._store
        if not isinstance(store, TwoStepStorage):
            raise TypeError(f"{type(store).__name__} cannot commit in two steps")
        self._committer = Committer(store.finish)
        self._two_step = store
        self._publish_durable = publish
        self._read_more = read

    def settle(self) -> list[Outbound]:
        """Wait for the batch in flight and return what it caused, once it is durable. When its commit failed,
        nothing of it (nor of what was acted on since) happened: the state goes back to what storage holds, and
        its requests get the answers of storage that cannot write."""
        settled = None if self._committer is None else self._committer.settle()
        return [] if settled is None else self._settled(settled)

    def _settled(self, settled: Settled) -> list[Outbound]:
        commit = settled.commit
        if settled.error is not None:
            self._cannot_write(settled.error)
            return self._answer_unwritable(commit.messages)
        return commit.outbound

    def close(self) -> None:
        """The last batch in flight is settled first (`settle`); ends the committer's thread."""
        if self._committer is not None:
            self._committer.close()

    def handle_batch(self, messages: Iterable[Message]) -> list[Outbound]:
        """Apply messages, commit once, and return what to publish (state first, then replies); pipelined
        (`pipeline`), what may be published now: what the batch before it caused, now durable.

        While storage cannot write nothing is acted on (`_answer_unwritable`); a batch whose commit fails is
        undone and answered that way, each request once."""
        now = self._clock()
        if self._unwritable is not None:
            return self._answer_unwritable(messages)
        messages = list(messages)  # answered again if the commit fails
        self._follow_clock(now)
        self._acts = []
        for handled, message in enumerate(messages, 1):
            try:
                self._handle(message, now)
            except Exception:
                log.exception("message on %s failed", message.topic[:200])
                failed = self.internal_error_reply(message)
                if failed is not None:
                    self._replies.append(failed)
            if self._committer is not None:
                if (durable := self._committer.durable()) is not None:
                    self._publish_durable(self._settled(durable))  # the batch before: its answers wait no longer
                if handled % READ_EVERY == 0:
                    self._read_more()
        earlier = self.settle()  # the batch in flight (this one was acted on over it), or its undoing's answers
        if self._unwritable is not None:
            return earlier + self._answer_unwritable(messages)
        note = f"{len(messages)} message(s): {_summary(self._acts)}" if self._acts else ""
        published = self._commit(messages=messages, note=note)
        if self._unwritable is not None:
            return earlier + self._answer_unwritable(messages)
        return earlier + published

    def tick(self) -> list[Outbound]:
        """Timers: the service day and the rating windows."""
        now = self._clock()
        self._follow_clock(now)
        for counter in self.center.close_rating_windows(now):
            log.info("rating window closed at counter %s", counter.id)
        self._desk.tick(self.center, now)
        self._record_statuses(now)
        return self._commit()

    def _follow_clock(self, now: datetime) -> None:
        """Begin a new service day from what storage holds for it (nothing, unless the clock was wrong).

        `now` is the time the center goes by: in the server a jump of the wall clock is not believed at
        once (`domain/clock.py`), so no day begins on one. A clock that goes back across `day_starts` (a
        Pi without a real-time clock, corrected by NTP) takes the center back to the earlier day only
        when nothing has happened on the later one yet (no ticket, no answer: a day begun on a clock set
        wrong at boot); otherwise the center stays on the later day, where its tickets are stored.
        """
        day = self.center.day_of(now)
        if day == self.center.day:
            return
        if day < self.center.day:
            if self._day_in_use():
                if self._clock_behind != day:
                    log.warning("the clock says %s, before the service day %s; staying on %s", now,
                                self.center.day, self.center.day)
                    self._clock_behind = day
                return
            log.warning("the clock says %s, before the service day %s, on which nothing has happened yet:"
                        " back to %s", now, self.center.day, day)
        rules = self.config.rules
        self.center.restore(self._storage.load_day(day, rules.counters, rules.policy.regular_per_priority))
        self._answered = self._answered_hashes()
        self._refusals_kept = self._changes_today = 0
        self._batch.close_before, self._batch.forget_before = day, self._desk.new_day(day)
        self._desk.restore(day)  # the day's bookings as storage holds them (the clock set back: that day's too)
        self._day_began = True
        log.info("service day %s begins: %d tickets already stored for it", day, len(self.center.tickets))
        if self._file_waits is not None:
            self._apply_file(self._file_waits, "waited for a new service day")

    def _commit(self, *, messages: list[Message] | None = None, note: str = "") -> list[Outbound]:
        """Make the batch durable and return what it caused (`note`: the batch's line in the log). The batch of
        `messages` (requests), when there is a committer (`pipeline`), is written here and handed to it, and what
        it caused is returned by `settle` once it is durable."""
        changes = self.center.take_changes()
        self._wire.day_count.changed(changes.tickets)
        self._batch.changes = changes
        self._batch.bookings = self._desk.take_changes()
        batch = self._batch
        handed = messages is not None and self._two_step is not None and self._plain(batch)
        started = time.perf_counter()
        if changes or batch.replies or batch.configs or batch.bookings or batch.close_before or batch.forget_before:
            try:
                if handed:  # written here, made durable by the committer
                    assert self._two_step is not None and self._committer is not None
                    self._committer.idle()
                    self._two_step.write(batch)
                else:
                    self._storage.commit(batch)
            except StorageError as failed:  # nothing of it happened: neither does anything it caused
                self._cannot_write(failed)
                return []
            if not handed:
                self._undo, self._start_versions = None, []
                self._desk.sent()
                if note:
                    log.info("%s; committed in %.1f ms", note, (time.perf_counter() - started) * 1000)
        else:
            handed = False  # nothing to write: what it caused goes out now (the batch before it is published)
        state = self._wire.changed(self.center, changes)
        if self._config_changed:  # everything retained goes out again, as the new configuration names it
            self._config_changed = False
            cleared = [Outbound(self.topics.counter_state(c), b"", retain=True) for c in self._removed_counters]
            self._removed_counters = []
            state = [self._wire.config(), *self._wire.day_state(self.center), *state, *cleared]
        if changes or state:
            self.floor_due = True
        if changes.tickets or changes.counters or self._batch.configs:
            self._queue_plan = None
            self.queue_due = self.config.citizen_web is not None
        if self._day_began:
            self._day_began = False
            state = [*self._wire.day_state(self.center), *state]
        replies, self._replies = self._replies, []
        self._batch = Batch(Changes())
        self._batch_replies = {}
        if handed:
            assert self._committer is not None and messages is not None
            self._committer.submit(Commit(state + replies, messages, note, started))
            return []
        return state + replies

    def _plain(self, batch: Batch) -> bool:
        """Whether the batch only acts on the day's tickets, counters and ratings, which a failed commit undoes by
        loading the day again. One that changes the configuration or bookings, sends notices or begins a day is
        committed in the state thread: its undo and its notices are kept for one batch at a time."""
        return not (batch.configs or batch.bookings or batch.close_before or batch.forget_before
                    or self._undo is not None or self._start_versions or self._config_changed or self._day_began
                    or self._desk.notifying)

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
        elif not _echo_fits(message):
            log.warning("dropped a request on %s: its Response Topic or Correlation Data is too long to echo",
                        message.topic[:200])
        elif message.expires_at is not None and time.monotonic() > message.expires_at:
            # Its asker gave up (MQTT 5 Message Expiry): acting now would make a ticket nobody holds.
            log.warning("dropped a request on %s: it expired before it could be served", message.topic[:200])
        elif not self.topics.response_allowed(inbound, message.response_topic):
            log.warning(
                "dropped a request on %s: Response Topic %r is outside the device's own subtree",
                message.topic[:200], message.response_topic[:200],
            )
        else:
            self._handle_request(inbound, message, message.response_topic, now)

    def _handle_request(self, inbound: Inbound, message: Message, response_topic: str, now: datetime) -> None:
        device = f"{inbound.device_kind}/{inbound.device_id}"
        request: Request | Unreadable
        try:
            request = decode_request(inbound.kind, message.payload)
        except BadMessage as bad:  # answered below, after the device's rate and budget are judged
            request = Unreadable.of(bad, message.payload)
        request_id = request.request_id
        # What the device's rates and day's budget are kept for: the device, but a console's are kept per counter
        # it acts for (it may do what their keypads may, and no more for any one of them). Its answers are kept
        # per console, as any device's.
        limited = device
        if isinstance(request, ConsoleRequest) and request.counter in self.center.counters:  # made-up ids: one bucket
            limited = f"{device}/{request.counter}"
        answered = request_id is not None and self._may_have_answered(device, request_id)
        if answered and request_id is not None:
            # A retry gets its first answer, past the rate of new requests (the contract); at most a few a
            # second of them are looked up, the rest get no answer (and their asker asks again).
            if not self._limits.allow(limited, "retry", now):
                self._log_unkept(limited, "too_many_retries", now)
                return
            earlier = self._earlier_reply(device, request_id)
            if earlier is not None:
                self._acts.append(("answer again", f"{device} answered again"))
                self._reply(response_topic, earlier, message.correlation)
                return
        kind = _rate_of(inbound, request)
        if not self._limits.allow(limited, kind, now):  # neither acted on nor kept: a flood fills nothing
            self._refuse_unkept(limited, request_id, response_topic, message, too_many(limited), now)
            return
        # Of the citizen web's, only a rating's answer is kept: a look-up (and a request that is neither) changes
        # nothing, so it is answered the same way again without being stored, and takes nothing from a budget.
        known = ((inbound.device_kind != COUNTER or inbound.device_id in self.center.counters)
                 and (not isinstance(request, ConsoleRequest) or request.counter in self.center.counters)
                 and (inbound.device_kind != WEB or _changes_something(request))
                 and not (isinstance(request, ConfigRequest) and request.action in READ_ONLY_CONFIG))
        if request_id is not None and known and not self._limits.keep(limited, self.center.day):
            self._refuse_unkept(limited, request_id, response_topic, message, over_budget(limited), now)
            return
        reply = self._answer(inbound, request, now)
        payload = reply.to_wire()
        self._reply(response_topic, payload, message.correlation)
        # Every answer is kept: a retry must never act later than its refusal. Not for an unknown
        # counter, whose answer the config alone decides: made-up counters must not fill the disk;
        # nor refusals past a day's cap, so that a flood of bad requests cannot fill memory or disk.
        if request_id is not None and known and (not isinstance(reply, Refusal) or self._keep_refusal()):
            # Still absent from the day's answers unless acting on it added it (a request that cancels itself)
            absent = not answered and (device, request_id) not in self._batch_replies
            self._batch.replies.append(StoredReply(device, self.center.day, request_id, payload))
            self._batch_replies[(device, request_id)] = payload
            self._answered.add(hash((device, request_id)), absent=absent)

    def _refuse_unkept(self, device: str, request_id: str | None, response_topic: str, message: Message,
                       refusal: DomainError, now: datetime) -> None:
        """A device over its rate or its day's budget: told so, nothing acted on, nothing kept."""
        reply = Refusal(request_id, ErrorInfo(refusal.code, refusal.message))
        self._reply(response_topic, reply.to_wire(), message.correlation)
        self._log_unkept(device, refusal.code, now)

    def _log_unkept(self, device: str, code: str, now: datetime) -> None:
        """Once a minute per device, with how many were refused meanwhile (a flood must not flood the log)."""
        count, since = self._unkept.get(device, (0, None))
        if since is None or (now - since).total_seconds() >= 60:
            log.warning("refused %d request(s) from %s: %s", count + 1, device, code)
            self._unkept[device] = (0, now)
            if len(self._unkept) > MAX_DEVICES:
                self._unkept.pop(next(iter(self._unkept)))
        else:
            self._unkept[device] = (count + 1, since)

    def _keep_refusal(self) -> bool:
        if self._refusals_kept < MAX_REFUSALS_KEPT:
            self._refusals_kept += 1
            return True
        if self._refusals_kept == MAX_REFUSALS_KEPT:
            self._refusals_kept += 1
            log.warning("%d refusals kept today: later ones are answered but not kept", MAX_REFUSALS_KEPT)
        return False

    def _handle_status(self, device_id: str, payload: bytes, now: datetime) -> None:
        """A device's retained status (its LWT included): known at once, kept as an event when it changed
        (at most about once a minute per device: see `_record_statuses`); never answered."""
        try:
            status = Status.from_wire(payload)
        except BadMessage as bad:
            log.warning("ignored the status of %s: %s", device_id[:64], bad.reason)
            return
        printer = status.extra.get("printer")
        printer = printer if isinstance(printer, str) and PRINTER_STATE.fullmatch(printer) else None
        if self.center.device_seen(device_id, status.online, printer, now):
            self.floor_due = True
            self._status_due[device_id] = None
            if len(self._status_due) > MAX_DEVICES:
                self._status_due.pop(next(iter(self._status_due)))
            self._record_statuses(now)

    def _record_statuses(self, now: datetime) -> None:
        """Keep the changed statuses whose device may be recorded again; the others wait for a later tick."""
        for device_id in list(self._status_due):
            if not self._limits.allow(f"device/{device_id}", "status", now):
                continue
            del self._status_due[device_id]
            if not self.center.record_device(device_id, now):
                continue
            online, printer = self.center.devices[device_id]
            if printer in PRINTER_PROBLEMS or not online:
                log.warning("device %s: %s", device_id, f"printer {printer}" if online else "offline")
            else:
                log.info("device %s: online%s", device_id, f", printer {printer}" if printer else "")

    def _answered_hashes(self) -> AnsweredHashes:
        """Hashes of the day's stored replies: a request id not among them needs no database look-up.
        (Each device's count of them goes to its daily budget.)"""
        kept = Tally[str]()

        def hashes() -> Iterator[int]:
            for key in self._storage.reply_keys(self.center.day):  # one at a time: a busy day has 100,000s
                kept[key[0]] += 1
                yield hash(key)

        answered = AnsweredHashes(hashes())
        self._limits.already_kept(self.center.day, dict(kept))
        return answered

    def _may_have_answered(self, device: str, request_id: str) -> bool:
        return (device, request_id) in self._batch_replies or hash((device, request_id)) in self._answered

    def _earlier_reply(self, device: str, request_id: str) -> bytes | None:
        pending = self._batch_replies.get((device, request_id))
        if pending is not None:
            return pending
        if hash((device, request_id)) not in self._answered:
            return None
        return self._storage.find_reply(device, self.center.day, request_id)

    def _answer(self, inbound: Inbound, request: Request | Unreadable, now: datetime) -> Reply:
        request_id = request.request_id
        if isinstance(request, Unreadable):
            bad = request.error
            log.warning("refused a request from %s/%s: %s", inbound.device_kind, inbound.device_id, bad.reason)
            return Refusal(request_id, ErrorInfo(bad.code, BAD_REQUEST_VI, bad.reason))
        try:
            if isinstance(request, VoidTickets):
                return self._void(request, inbound.device_id, now)
            if isinstance(request, TicketCancel):
                return self._cancel_ticket(request, inbound.device_id, now)
            if isinstance(request, TicketRequest):
                return self._issue(request, inbound.device_id, now)
            if isinstance(request, CheckIn):
                return self._check_in(request, inbound.device_id, now)
            if isinstance(request, WebSlots):
                return self._desk.slots(request, self.center, now)
            if isinstance(request, WebBook):
                return self._desk.book_slot(request, self.center, now)
            if isinstance(request, WebBooking):
                return self._desk.booking(request, self.center, now)
            if isinstance(request, ConsoleRequest):
                return self._console(request, inbound.device_id, now)
            if isinstance(request, ConfigRequest):
                return self._configure(request, inbound.device_id, now)
            if isinstance(request, WebLookup):
                return self._lookup(request, now)
            if isinstance(request, WebRate):
                return self._phone_rating(request, inbound.device_id, now)
            return self._command(request, inbound.device_id, now)
        except DomainError as refused:
            log.warning("refused %s from %s/%s: %s", request_id, inbound.device_kind, inbound.device_id,
                        refused.code)
            return Refusal(request_id, ErrorInfo(refused.code, refused.message, refused.detail))

    def _issue(self, request: TicketRequest, kiosk_id: str, now: datetime) -> TicketIssued:
        if request.priority != "none":
            self._limits.check(f"kiosk/{kiosk_id}", "priority", now, TOO_MANY_PRIORITY)
        issued = self.center.issue(request.area, request.priority, now, kiosk_id)
        ticket = issued.ticket
        self._acts.append(("ticket", f"ticket {ticket.shown} for kiosk {kiosk_id}"))
        view = self._wire.view(ticket, waiting_ahead=issued.waiting_ahead, estimated_wait_s=issued.estimated_wait_s,
                               wait_basis=issued.wait_basis.value,
                               token=make_token(self._token_key, self.config.center_id, ticket.day, ticket.seq))
        return TicketIssued(request.request_id, view)

    def _check_in(self, request: CheckIn, kiosk_id: str, now: datetime) -> TicketIssued:
        """A citizen checks in at the kiosk with a booking's code: its ticket, as a ticket request's answer."""
        self._limits.check(f"kiosk/{kiosk_id}", "check_in", now, TOO_MANY_CHECK_INS)
        issued = self._desk.check_in(request, self.center, kiosk_id, now)
        ticket = issued.ticket
        view = self._wire.view(ticket, waiting_ahead=issued.waiting_ahead, estimated_wait_s=issued.estimated_wait_s,
                               wait_basis=issued.wait_basis.value,
                               token=make_token(self._token_key, self.config.center_id, ticket.day, ticket.seq))
        return TicketIssued(request.request_id, view)

    def _command(self, command: CounterCommand, counter_id: str, now: datetime,
                 official: Official | None = None) -> CommandDone | Cancellation:
        """A counter's command, from its keypad or (with the `official` it acts for) from the staff console."""
        action = command.action
        if action == "cancel":
            return self._cancel(command, counter_id)
        if official is None:
            ticket = ACTS[action](self.center, command, counter_id, now)
        else:  # the official sits there first (unless they do already): the events name them
            ticket = self.center.acting_as(counter_id, official, now,
                                           lambda: ACTS[action](self.center, command, counter_id, now))
        counter = self.center.counters[counter_id]
        self._acts.append((action, f"counter {counter_id} {action} {ticket.shown if ticket else 'nobody'}"
                           + ("" if official is None else f" ({official.username})")))
        view = None if ticket is None else self._wire.view(ticket, id_tail=ticket.id_tail)
        return CommandDone(command.request_id, view, counter.status.value)

    def _console(self, request: ConsoleRequest, console_id: str, now: datetime) -> CommandDone | Cancellation:
        """The staff console acts for a counter: a counter's command (the same code as a keypad's), or an
        official taking (`sit`) or leaving (`leave`) the counter. Answered as a counter command is."""
        official = Official(request.official, request.official_name)
        if request.action not in SEAT_ACTIONS:
            return self._command(request.command(), request.counter, now, official)
        if request.action == "sit":
            self.center.sit(request.counter, official, now)
        else:
            self.center.leave(request.counter, request.official, now)
        counter = self.center.counters[request.counter]
        self._acts.append((request.action, f"counter {request.counter} {request.action} ({request.official}, console "
                                           f"{console_id})"))
        view = None if counter.current is None else self._wire.view(counter.current, id_tail=counter.current.id_tail)
        return CommandDone(request.request_id, view, counter.status.value)

    def _cancel(self, command: CounterCommand, counter_id: str) -> Cancellation:
        """A terminal gave up waiting for a command's answer: make sure it never acts later.

        If the command was answered, the reply says so (with its answer). If not, its request_id
        is answered now with a refusal, so that the command, should it still arrive, changes nothing.
        """
        self.center.counter(counter_id)
        device, cancelled = f"counter/{counter_id}", command.cancels or ""
        earlier = self._earlier_reply(device, cancelled)
        if earlier is not None:
            log.info("counter %s: request %s was already answered; not cancelled", counter_id, cancelled)
            return Cancellation(command.request_id, False, answer=json.loads(earlier))
        self._answer_cancelled(device, cancelled, CANCELLED_VI)
        return Cancellation(command.request_id, True)

    def _cancel_ticket(self, cancel: TicketCancel, kiosk_id: str, now: datetime) -> Cancellation:
        """A kiosk gave up on a ticket request, or restarted before it printed the answer: no citizen holds
        that ticket. Unanswered, the request is answered now with a refusal (it can never act later);
        answered with a ticket still waiting, the ticket is voided; a ticket already called stays."""
        device = f"kiosk/{kiosk_id}"
        earlier = self._earlier_reply(device, cancel.cancels)
        if earlier is None:
            self._answer_cancelled(device, cancel.cancels, CANCELLED_TICKET_VI)
            return Cancellation(cancel.request_id, True)
        made = _ticket_made(earlier)
        ticket = None if made is None else self.center.ticket(made)
        voided = ticket is not None and self.center.void(ticket, now, by=device, reason=cancel.reason)
        if voided and ticket is not None:
            self._desk.released([ticket], now)
        log.info("kiosk %s: request %s was answered; ticket %s %s", kiosk_id, cancel.cancels, made,
                 "voided" if voided else "kept")
        return Cancellation(cancel.request_id, False, answer=json.loads(earlier), voided=voided)

    def _void(self, void: VoidTickets, admin_id: str, now: datetime) -> TicketsVoided:
        """The manager voids a kiosk's flood: its tickets of a time range that still wait leave the queue."""
        voided = self.center.void_from(void.kiosk, void.start, void.end, now, by=f"{void.by} (admin/{admin_id})")
        self._desk.released(voided, now)
        log.warning("%s (admin %s) voided %d ticket(s) of kiosk %s from %s to %s", void.by, admin_id, len(voided),
                    void.kiosk, iso(void.start), iso(void.end))
        return TicketsVoided(void.request_id, tuple(VoidedTicket(t.id, t.shown, t.area) for t in voided))

    def _answer_cancelled(self, device: str, cancelled: str, message: str) -> None:
        refusal = Refusal(cancelled, ErrorInfo("cancelled", message)).to_wire()
        self._batch.replies.append(StoredReply(device, self.center.day, cancelled, refusal))
        self._batch_replies[(device, cancelled)] = refusal
        self._answered.add(hash((device, cancelled)))
        log.info("%s: request %s cancelled before it arrived", device, cancelled)

    # --- the live configuration (issue 17) -----------------------------------------------------

    def _live_at_start(self, file: CenterConfig) -> tuple[CenterConfig, int, list[StoredConfig], bool]:
        """The configuration to start with, its version, the version to keep for it (the first), and whether the
        file's live part is then to be applied (`_apply_file`, once the day is loaded).

        The database holds the live configuration; the file seeds it, and its live part becomes the next version
        whenever it differs from what the file last gave (an edit of the file, then a restart), as SIGHUP would
        make it: unless the day's state refuses it. A file as it was leaves the live configuration as the
        database has it (changed on the console, say)."""
        stored = self._storage.live_config()
        document = file.document
        if stored is None:
            log.info("live configuration: version 1 from %s", file.path.name)
            return file, 1, [StoredConfig(ConfigVersion(1, self._clock(), "file", file.path.name, ""), document,
                                          digest(document))], False
        number = stored.version.version
        try:
            live = with_document(file, stored.document)
        except ConfigError as exc:  # a rule of this release refuses what an older one let in
            log.error("live configuration version %d is refused (%s): going by %s", number, exc, file.path.name)
            return file, number + 1, [StoredConfig(ConfigVersion(number + 1, self._clock(), "file", file.path.name, "",
                                                                 changes(stored.document, document)),
                                                   document, digest(document))], False
        log.info("live configuration: version %d (%s by %s, %s)", number, stored.version.source, stored.version.by,
                 iso(stored.version.at))
        return live, number, [], self._storage.applied_file_digest() != digest(document)

    def _apply_file(self, read: CenterConfig, why: str) -> None:
        """The file's live part as the next version (a file whose live part is the live configuration already is
        kept as a version all the same, with no change: it says the file and the database agree). Refused by the
        day's state, it waits for the next service day (or a SIGHUP)."""
        try:
            self._change(read, "file", read.path.name, "", self._clock(), file_digest=digest(read.document))
        except DomainError as refused:
            self._file_waits = read
            log.error("%s %s, but is not applied (%s): %s; version %d stays live until the next service day or "
                      "SIGHUP", read.path.name, why, refused.code, refused.message, self.version)
            return
        self._file_waits = None
        self._file_config = read

    def reload_file(self) -> list[Outbound]:
        """SIGHUP: the file is read again and its live part applied, as a new version, between two batches. A file
        `--check` would refuse, or one changing what takes a restart, changes nothing (one line in the log)."""
        path = self._file_config.path
        if self._unwritable is not None:
            log.error("SIGHUP: %s not applied: storage cannot write (%s); send SIGHUP again once it can", path.name,
                      self._unwritable)
            return []
        try:
            read = load(path)
        except ConfigError as exc:
            log.error("SIGHUP: %s; nothing changed", exc)
            return []
        part = restart_only(self._file_config, read)
        if part is not None:
            log.error("SIGHUP: %s: %s changed, which only a restart of the server applies; nothing changed",
                      path.name, part)
            return []
        if (canonical(read.document) == canonical(self.config.document)
                and self._storage.applied_file_digest() == digest(read.document)):
            log.info("SIGHUP: %s read again: its live part is version %d's already", path.name, self.version)
            self._file_config, self._file_waits = read, None
            return []
        for warning in read.warnings:
            log.warning("%s", warning)
        self._apply_file(read, "was read again (SIGHUP)")
        return self._commit()

    def _configure(self, request: ConfigRequest, console_id: str, now: datetime) -> ConfigAnswer:
        """An administrator at the staff console reads, changes or restores the live configuration."""
        if request.action == "config_show":
            shown = ConfigAnswer(request.request_id, self._current_version(), self.config.document)
            if len(shown.to_wire()) > MAX_PAYLOAD:  # the console could not read it, nor send it back changed
                raise DomainError("config_too_large", "Cấu hình của trung tâm quá lớn để xem và sửa trên trang quản "
                                                      "trị; vui lòng sửa tệp cấu hình center.toml.")
            return shown
        if request.action == "config_history":
            return self._history(request.request_id)
        if request.base_version != self.version:
            raise DomainError("config_conflict", CONFLICT_VI.format(version=self.version))
        if self._changes_today >= MAX_CHANGES_PER_DAY:
            raise DomainError("too_many_changes", f"Đã có {MAX_CHANGES_PER_DAY} lần thay đổi cấu hình trong ngày; "
                                                  "vui lòng thay đổi tiếp vào ngày mai hoặc sửa tệp cấu hình.")
        restored_from = request.version if request.action == "config_restore" else None
        document = request.document
        if restored_from is not None:
            stored = self._storage.config_version(restored_from)
            if stored is None:
                raise DomainError("unknown_version", f"Không có phiên bản cấu hình số {restored_from}.")
            document = stored.document
        assert document is not None
        try:
            config = with_document(self._file_config, document)
        except ConfigError as exc:
            raise DomainError("config_invalid", exc.vietnamese or INVALID_VI, str(exc)) from None
        known = {(one.id, other.id) for one, other in self.config.overlaps}  # a file's: `--check` only warns
        made = [(one, other) for one, other in config.overlaps if (one.id, other.id) not in known]
        if made:  # a page that makes two areas share numbers is told
            one, other = made[0]
            raise DomainError("config_invalid", f"Lĩnh vực «{one.name}» và «{other.name}» có cùng tiền tố và dãy số "
                                                "chồng lên nhau: công dân của hai lĩnh vực có thể cầm cùng một số. Hãy "
                                                "đổi tiền tố hoặc dãy số.",
                                  f"areas {one.id!r} and {other.id!r} would share prefix {one.prefix!r} and numbers")
        if canonical(config.document) == canonical(self.config.document):
            raise DomainError("no_change", "Không có gì khác với cấu hình đang dùng.")
        waiting = self._file_waits  # the file that waits for a new day: this later change comes first
        version = self._change(config, "restore" if restored_from is not None else "console", request.official,
                               request.official_name, now, restored_from=restored_from,
                               file_digest=None if waiting is None else digest(waiting.document))
        self._changes_today += 1
        if waiting is not None:
            log.warning("%s, which waited for a new service day, will not be applied: version %d came later",
                        waiting.path.name, version.version)
            self._file_waits = None
        log.info("console %s: %s (%s) made configuration version %d", console_id, request.official,
                 request.action, version.version)
        return ConfigAnswer(request.request_id, replace(version, changes=()), config.document)

    def _change(self, config: CenterConfig, source: str, by: str, by_name: str, now: datetime, *,
                file_digest: str | None = None, restored_from: int | None = None) -> ConfigVersion:
        """Go by `config` as the next version (DomainError, nothing changed, when the day's state forbids it)."""
        number = self.version + 1
        found = changes(self.config.document, config.document)
        before = Undo(self.config, self.version, set(self.center.former_levels), self._changes_today,
                      self._file_config, self._file_waits)
        self._go_by(config, number, now, {"version": number, "source": source, "by": by})
        self._undo = self._undo or before
        version = ConfigVersion(number, now, source, by, by_name, found, restored_from)
        self._batch.configs.append(StoredConfig(version, config.document, file_digest))
        log.info("configuration version %d (%s, %s): %s", number, source, by, _paths(found))
        return version

    def _go_by(self, config: CenterConfig, version: int, now: datetime, detail: dict[str, Any] | None = None, *,
               check: bool = True) -> None:
        removed = self.center.reconfigure(config.rules, now, detail, check=check)
        if config.document not in self._documents[:1]:
            self._documents = [config.document, *self._documents[: FORMER_KEPT - 1]]
        self.config, self.version = config, version
        self._desk.follow(config)
        self._wire = Wire(config, self._documents)
        self._limits.follow(config.limits)
        self._config_changed = True
        self._removed_counters.extend(removed)
        self._queue_plan, self.floor_due = None, True

    def _follow_stored_config(self) -> None:
        """Another instance of the center (PostgreSQL) made a new version: this one goes by it too."""
        stored = self._storage.live_config()
        if stored is None or stored.version.version < self.version:  # this one's start-up version is not kept yet
            return
        if stored.version.version == self.version and not self._start_versions:
            return
        self._file_waits = None  # a later version, made by another instance, comes first
        # Another instance kept a version of this number (the file's, started at the same time) or a later one.
        if self._start_versions:
            log.warning("another instance kept version %d first: this one's version from %s is not kept",
                        stored.version.version, self._file_config.path.name)
        self._batch.configs = [s for s in self._batch.configs if s not in self._start_versions]
        self._start_versions = []
        try:
            config = with_document(self._file_config, stored.document)
        except ConfigError as exc:
            log.error("live configuration version %d is refused here (%s)", stored.version.version, exc)
            return
        self._go_by(config, stored.version.version, self._clock(), check=False)
        self.center.take_changes()  # what that change did is stored already

    def _current_version(self) -> ConfigVersion:
        stored = self._storage.live_config()
        if stored is not None and stored.version.version == self.version:
            return replace(stored.version, changes=())
        return ConfigVersion(self.version, self._clock(), "file", self._file_config.path.name, "")  # not kept yet

    def _history(self, request_id: str) -> ConfigAnswer:
        """The versions, newest first, as many as fit in one answer (devices decode at most MAX_PAYLOAD)."""
        history = tuple(self._storage.config_history(HISTORY_ASKED))
        answer = ConfigAnswer(request_id, self._current_version(), history=history)
        newest = history[:1]
        while history and len(answer.to_wire()) > MAX_PAYLOAD - 1024:  # the oldest go first
            history = history[: len(history) * 3 // 4]
            answer = ConfigAnswer(request_id, answer.current, history=history)
        if newest and not history:  # one version alone too large: its first changes, as many as fit
            changed = newest[0].changes
            while True:
                changed = changed[: len(changed) * 3 // 4]
                answer = ConfigAnswer(request_id, answer.current, history=(replace(newest[0], changes=changed),))
                if not changed or len(answer.to_wire()) <= MAX_PAYLOAD - 1024:
                    return answer
        return answer

    # --- the citizen web (issue 16) -------------------------------------------------------------

    def _lookup(self, request: WebLookup, now: datetime) -> TicketFound:
        """A phone asks after its ticket: read-only, answered from memory."""
        ticket = self._token_ticket(request.token)
        return TicketFound(request.request_id, self._public(ticket, request.token, now))

    def _phone_rating(self, request: WebRate, web_id: str, now: datetime) -> TicketFound:
        """A citizen rates the ticket from the phone: one rating per ticket, whatever the channel."""
        ticket = self._token_ticket(request.token)
        record = self.center.rate_by_phone(ticket, request.level, f"phone-{request.request_id}", now,
                                           criteria=request.criteria, comment=request.comment)
        reply = TicketFound(request.request_id, self._public(ticket, request.token, now))
        self._batch.rating_acks[(record.counter_id, record.rating_id)] = reply.to_wire()
        self._acts.append(("rating", f"rating {record.level} of {ticket.shown} at counter {record.counter_id} "
                                     f"(phone, web {web_id})"))
        return reply

    def _token_ticket(self, token: str) -> Ticket:
        """The ticket that continues the one `token` was given for (a transferred ticket's continuation); refused
        as `unknown_token` when the token is none of this center's, `expired_token` when its day is over."""
        named = read_token(self._token_key, self.config.center_id, token)
        if named is None:
            raise DomainError("unknown_token", UNKNOWN_TOKEN_VI)
        if named.day != self.center.day:
            raise DomainError("expired_token", f"Phiếu này là của ngày {named.day:%d/%m/%Y}, đã hết hiệu lực.")
        ticket = self.center.tickets.get(named.ticket_id)
        if ticket is None:  # a key's genuine token of today, but no such ticket (a database emptied since)
            raise DomainError("unknown_token", UNKNOWN_TOKEN_VI)
        return self.center.chain_end(ticket)

    def _public(self, ticket: Ticket, token: str, now: datetime) -> PublicTicket:
        ahead = wait = basis = None
        if ticket.state is TicketState.WAITING:
            plan = self.queue_plan(now)
            entry = plan.by_ticket.get(ticket.id)
            if entry is None:  # a ticket issued in this batch, after the plan was made
                plan = self.queue_plan(now, fresh=True)
                entry = plan.by_ticket.get(ticket.id)
            if entry is not None:
                ahead, basis = entry.ahead, entry.basis.value
                passed = (now - plan.at).total_seconds()
                wait = None if entry.seconds is None else max(0, round(entry.seconds - passed))
        counter = self.center.counters.get(ticket.counter_id) if ticket.counter_id is not None else None
        until = (ticket.finished_at + self.config.rules.phone_window
                 if ticket.state is TicketState.SERVED and ticket.finished_at is not None else None)
        rating = PublicRating(ticket.rating, until, ticket.rating is None and until is not None and now <= until)
        view = self._wire.view(ticket)
        return PublicTicket(
            id=ticket.id, token=token, number=view.number, area=view.area, area_name=view.area_name,
            priority=ticket.priority, issued_at=ticket.issued_at, state=ticket.state.value,
            counter_id=ticket.counter_id, counter_name=None if counter is None else counter.spec.name,
            called_at=ticket.called_at, calls=ticket.calls, waiting_ahead=ahead, estimated_wait_s=wait,
            wait_basis=basis, finished_at=ticket.finished_at, rating=rating,
        )

    def queue_plan(self, now: datetime, *, fresh: bool = False) -> QueuePlan:
        """The queue played forward: kept until the center changes, or for FORECAST_FOR (its figures count from
        its moment, `at`)."""
        plan = self._queue_plan
        if (fresh or plan is None or not timedelta(0) <= now - plan.at <= FORECAST_FOR
                or self._plan_of is not self.center.tickets):  # the day was read again (restore): new tickets
            plan = self._queue_plan = self.center.queue_plan(now)
            self._plan_of = self.center.tickets
        return plan

    def queue(self) -> Outbound:
        """The citizen web's retained `queue` as it is now (the server loop decides how often, as for the floor)."""
        self.queue_due = False
        snapshot = queue_snapshot(self.center, self.queue_plan(self._clock(), fresh=True))
        return Outbound(self.topics.queue(), snapshot.to_wire(), retain=True)

    # --- ratings -----------------------------------------------------------------------------

    def _handle_rating(self, inbound: Inbound, message: Message, now: datetime) -> None:
        counter_id = inbound.device_id
        response_topic, correlation = self._rating_answer_to(inbound, message)
        if not self._limits.allow(f"{inbound.device_kind}/{counter_id}", "rating", now):
            # Not even looked up: no answer, so its terminal keeps it in its outbox and sends it again later.
            self._log_unkept(f"{inbound.device_kind}/{counter_id}", "too_many_ratings", now)
            return
        rating: Rating | BadMessage
        try:
            rating = Rating.from_wire(message.payload)
            rating_id: str | None = rating.rating_id
        except BadMessage as bad:  # acknowledged below, unless it was recorded before
            rating, rating_id = bad, usable_id(message.payload, "rating_id")
        if rating_id is not None:
            earlier = (self._batch.rating_acks.get((counter_id, rating_id))
                       or self._storage.find_rating_ack(counter_id, rating_id))
            if earlier is not None:
                log.info("rating %s from counter %s acknowledged again", rating_id, counter_id)
                self._reply(response_topic, earlier, correlation)
                return
        ack = self._rate(counter_id, rating, rating_id, now)
        payload = ack.to_wire()
        if isinstance(ack, RatingRecorded):
            self._batch.rating_acks[(counter_id, ack.rating_id)] = payload
        self._reply(response_topic, payload, correlation)

    def _rating_answer_to(self, inbound: Inbound, message: Message) -> tuple[str, bytes | None]:
        """Where a rating's acknowledgement goes: its own Response Topic when usable, else the counter's ack topic."""
        if self._answerable(inbound, message):
            assert message.response_topic is not None
            return message.response_topic, message.correlation
        return self.topics.rating_ack(inbound.device_id), None

    def _answerable(self, inbound: Inbound, message: Message) -> bool:
        return (message.response_topic is not None and _echo_fits(message)
                and self.topics.response_allowed(inbound, message.response_topic))

    def _rate(self, counter_id: str, rating: Rating | BadMessage, rating_id: str | None,
              now: datetime) -> RatingRecorded | Refusal:
        if isinstance(rating, BadMessage):
            log.warning("refused a rating from counter %s: %s", counter_id, rating.reason)
            return Refusal(rating_id, ErrorInfo(rating.code, BAD_REQUEST_VI, rating.reason), id_name="rating_id")
        try:
            ticket = self.center.ticket(rating.ticket_id)
            if ticket is None:  # a late rating of an earlier day's ticket
                stored = self._storage.load_ticket(rating.ticket_id)
                ticket = None if stored is None else self.center.remember(stored)
            record = self.center.rate(counter_id, rating.rating_id, ticket, rating.level, rating.pressed_at, now)
        except DomainError as refused:
            log.warning("refused rating %s from counter %s: %s", rating_id, counter_id, refused.code)
            return Refusal(rating_id, ErrorInfo(refused.code, refused.message), id_name="rating_id")
        self._acts.append(("rating", f"rating {rating.level} of {ticket.shown if ticket else rating.ticket_id} "
                                     f"at counter {counter_id}"))
        # `late` is kept with the rating (its stored ack): the report counts late ones
        return RatingRecorded(rating.rating_id, rating.ticket_id, rating.level, late=record.late)

    # --- what to publish ---------------------------------------------------------------------

    def _reply(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        self._replies.append(Outbound(topic, payload, correlation=correlation))

    def link_lost(self) -> None:
        """The link to the broker was cut: who stayed online meanwhile is unknown (a broker restart fires no
        device's will), so each device counts as online from when it is heard again."""
        self.center.forget_presence()

    def retained_state(self) -> list[Outbound]:
        """Everything retained, for after every (re)connect."""
        web = [self.queue()] if self.config.citizen_web is not None else []
        return [self._wire.config(), *self._wire.day_state(self.center), self.floor(), *web]

    def floor(self) -> Outbound:
        """The manager's live floor as it is now (the server loop decides how often: see `ServerLoop`)."""
        self.floor_due = False
        return self._wire.floor(self.center, self._clock())

    def internal_error_reply(self, message: Message) -> Outbound | None:
        """A reply for a request the loop could not process at all, when a reply is allowed."""
        inbound = self.topics.parse_inbound(message.topic)
        if inbound is None or message.response_topic is None or not self._answerable(inbound, message):
            return None
        reply = Refusal(usable_id(message.payload, "request_id"), ErrorInfo("internal_error", INTERNAL_VI))
        return Outbound(message.response_topic, reply.to_wire(), correlation=message.correlation)

    # --- a storage that cannot write, a clock that jumps ---------------------------------------

    @property
    def writable(self) -> bool:
        """Whether storage writes (as far as the service knows): requests are acted on."""
        return self._unwritable is None

    def health(self) -> dict[str, str]:
        """What `server/status` adds for the center's staff (an extension of the contract): `storage` is
        `ok`, `low_space`, `full` (nothing is acted on) or `error` (it cannot write for another reason);
        `clock` is `ok` or `suspect` (the wall clock jumped: the center keeps its own time)."""
        if self._unwritable is not None:
            storage = "full" if isinstance(self._unwritable, StorageFull) else "error"
        else:
            storage = "low_space" if self._space_low else "ok"
        suspect = self._clock_verdict is not None and self._clock_verdict.suspect
        return {"storage": storage, "clock": "suspect" if suspect else "ok"}

    def check_storage(self, *, probe: bool = False) -> list[Outbound]:
        """Look at storage (the server loop does, about once a second, and with `probe` before it says it is
        online): warn when space runs low; stop writing when it is nearly gone; once there is room again
        and a write succeeds, act again (the device statuses heard meanwhile first). Returns what to publish."""
        space = self._storage.space()
        if space is not None:
            if space.low and not self._space_low:
                log.warning("low disk space: %s free on the disk of the database (the warning starts below %s)",
                            _size(space.free), _size(space.low_mark))
            elif self._space_low and space.ample:
                log.info("disk space: %s free again", _size(space.free))
            self._space_low = space.low or (self._space_low and not space.ample)
        if self._unwritable is None:
            if space is not None and space.full:
                self._unwritable = StorageFull(f"{_size(space.free)} free on the disk of the database")
                log.error("disk full: %s; nothing is acted on until space is freed (requests get storage_full)",
                          self._unwritable)
                return []
            if not probe:
                return []
        elif space is not None and not space.roomy:
            return []
        try:
            self._storage.probe()
        except StorageError as failed:
            if self._unwritable is None:
                log.error("%s%s; nothing is acted on until it can write", _disk_full(failed), failed)
            self._unwritable = failed
            return []
        if self._unwritable is None:
            return []
        log.warning("storage writes again (%s free): requests are acted on again",
                    "?" if space is None else _size(space.free))
        self._unwritable = None
        held, self._held_statuses = list(self._held_statuses.values()), {}
        return self.handle_batch(held) if held else []

    def _cannot_write(self, failed: StorageError) -> None:
        """A commit failed, so nothing of its batch happened: the state goes back to what storage holds, and
        nothing is acted on until storage writes again (`check_storage`)."""
        if self._unwritable is None:
            log.error("%s%s; nothing is acted on until it can write", _disk_full(failed), failed)
        self._unwritable = failed
        # a version the file gave at start-up waits for the next commit; one a change made is undone with it
        self._batch = Batch(Changes(), configs=[s for s in self._batch.configs if s in self._start_versions],
                            close_before=self._batch.close_before, forget_before=self._batch.forget_before)
        self._batch_replies, self._replies = {}, []
        if self._undo is not None:  # nothing of the changes was published either
            undo, self._undo = self._undo, None
            self._go_by(undo.config, undo.version, self._clock(), check=False)
            self.center.take_changes()
            self.center.former_levels, self._changes_today = undo.former_levels, undo.changes_today
            self._file_config, self._file_waits = undo.file_config, undo.file_waits
            self._config_changed, self._removed_counters = False, []
        rules = self.config.rules
        self.center.restore(self._storage.load_day(self.center.day, rules.counters, rules.policy.regular_per_priority))
        self._desk.restore(self.center.day)
        self._answered = self._answered_hashes()

    def _answer_unwritable(self, messages: Iterable[Message]) -> list[Outbound]:
        """While storage cannot write nothing is acted on, and each request is answered once: with its earlier
        answer when it had one, else refused (`storage_full`, or `internal_error` for another fault). The
        refusal is kept nowhere (it cannot be), so a retry once storage writes is acted on. A rating gets no
        answer: its terminal keeps it in its outbox and sends it again. A device's status is kept for later."""
        code, text = (("storage_full", STORAGE_FULL_VI) if isinstance(self._unwritable, StorageFull)
                      else ("internal_error", INTERNAL_VI))
        out: list[Outbound] = []
        for message in messages:
            inbound = self.topics.parse_inbound(message.topic)
            if inbound is None or (message.retained and inbound.kind != "status"):
                continue
            if inbound.kind == "status":
                self._held_statuses.pop(message.topic, None)  # the newest last
                if len(self._held_statuses) < MAX_HELD_STATUSES:
                    self._held_statuses[message.topic] = message
                continue
            if inbound.kind == "rating":
                rating_id = usable_id(message.payload, "rating_id")
                ack = None if rating_id is None else self._storage.find_rating_ack(inbound.device_id, rating_id)
                if ack is not None:  # recorded before: acknowledged again, as always
                    topic, correlation = self._rating_answer_to(inbound, message)
                    out.append(Outbound(topic, ack, correlation=correlation))
                continue
            if message.response_topic is None or not self._answerable(inbound, message):
                continue
            request_id = usable_id(message.payload, "request_id")
            device = f"{inbound.device_kind}/{inbound.device_id}"
            earlier = None if request_id is None else self._earlier_reply(device, request_id)
            payload = earlier or Refusal(request_id, ErrorInfo(code, text)).to_wire()
            out.append(Outbound(message.response_topic, payload, correlation=message.correlation))
        return out

    def _judged(self, wall: Callable[[], datetime], elapsed: Callable[[], float],
                rule: ClockRule | None) -> Callable[[], datetime]:
        """The clock the service goes by: the wall clock as `ClockJudge` believes it, each verdict kept for
        `health` and its changes logged."""
        judge: ClockJudge | None = None

        def now() -> datetime:
            nonlocal judge
            reading, since = wall(), elapsed()
            if judge is None:
                judge = ClockJudge(reading, since, floor=self._storage.latest_time(), rule=rule,
                                   may_settle=self._may_settle)
                verdict = judge.first
            else:
                verdict = judge.observe(reading, since)
            self._clock_verdict = verdict
            if verdict.change is not None:
                self._log_clock(verdict, reading, judge.rule)
            return verdict.time

        return now

    def _may_settle(self, own: datetime, reading: datetime) -> bool:
        """A jumped clock may begin a later service day by itself only while nothing has happened on this
        one: a new day takes every waiting citizen out of the queue."""
        return self.center.day_of(reading) <= self.center.day_of(own) or not self._day_in_use()

    def _day_in_use(self) -> bool:
        return bool(self.center.tickets or self._answered)

    def _log_clock(self, verdict: Verdict, reading: datetime, rule: ClockRule) -> None:
        off = _span(verdict.off_by)
        if verdict.change is Change.JUMPED:
            log.warning("clock fault: the clock says %s, %s from the center's time %s; the center keeps its own"
                        " time (no service day begins or ends on it) until the clock comes back, or keeps its"
                        " new time for %s", iso(reading), off, iso(verdict.time), _span(rule.settle, sign=False))
        elif verdict.change is Change.BACK:
            log.warning("the clock is back (%s): the center goes by it again", iso(reading))
        elif verdict.change is Change.HELD:
            log.error("the clock has kept its new time %s for %s, but believing it would begin the service day"
                      " %s while %s has tickets or answers (a new day empties the queue): the center keeps its"
                      " own time %s until the clock comes back; if the clock is right, restart the server (after"
                      " the last citizen) to go by it", iso(reading), _span(rule.settle, sign=False),
                      self.center.day_of(reading), self.center.day, iso(verdict.time))
        elif verdict.change is Change.BELIEVED:
            log.warning("the clock has kept its new time for %s: believed, %s (%s from the center's time)",
                        _span(rule.settle, sign=False), iso(reading), off)
        else:
            log.warning("the clock was set soon after boot (%s): believed, %s", off, iso(reading))


def _paths(found: tuple[ConfigChange, ...], most: int = 8) -> str:
    """What a change of configuration changed, for the log: its first paths."""
    if not found:
        return "no change"
    more = f" and {len(found) - most} more" if len(found) > most else ""
    return ", ".join(change.path for change in found[:most]) + more


def _ticket_made(answer: bytes) -> str | None:
    """The id of the ticket an earlier answer to a kiosk's request made, if it made one (a cancel's own answer,
    cancelled again, made none)."""
    try:
        reply = TicketIssued.from_wire(answer)
    except BadMessage:
        return None
    return None if isinstance(reply, Refusal) else reply.ticket.id


def _echo_fits(message: Message) -> bool:
    topic = message.response_topic or ""
    return (len(topic.encode()) <= MAX_RESPONSE_TOPIC_BYTES
            and len(message.correlation or b"") <= MAX_CORRELATION_BYTES)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def _span(span: timedelta, *, sign: bool = True) -> str:
    """`+25h00m`, `-3h10m`, `10m`, `-20415d01h`: a clock's jump as a person reads it."""
    minutes = round(abs(span).total_seconds() / 60)
    hours = minutes // 60
    text = (f"{hours // 24}d{hours % 24:02d}h" if hours >= 48 else f"{hours}h{minutes % 60:02d}m" if hours
            else f"{minutes}m")
    return ("-" if span < timedelta(0) else "+") + text if sign else text


def _disk_full(failed: StorageError) -> str:
    return "disk full: " if isinstance(failed, StorageFull) else ""


def _rate_of(inbound: Inbound, request: Request | Unreadable) -> str:
    """Which of the device's rates a request draws on (a cancel that did not decode is still a cancel)."""
    if inbound.kind == "web":
        if isinstance(request, WebRate):
            return "phone_rating"
        if isinstance(request, WebSlots):
            return "slots"
        return "booking" if _changes_something(request) else "lookup"
    if inbound.kind != "ticket_request":
        return "command"
    if isinstance(request, CheckIn):
        return "ticket"
    cancel = isinstance(request, TicketCancel) or (isinstance(request, Unreadable) and request.cancel)
    return "cancel" if cancel else "ticket"


def _changes_something(request: Request | Unreadable) -> bool:
    """Of the citizen web's requests, those whose answer is kept (a retry gets it again): a rating, a booking made or
    cancelled. A look-up changes nothing and is answered afresh."""
    return isinstance(request, WebRate | WebBook) or (isinstance(request, WebBooking) and request.cancel)


def _summary(acts: list[tuple[str, str]], most: int = 5) -> str:
    """A batch's acts (kind, text) for the log: each, when there are a few; else how many of each kind."""
    if len(acts) <= most:
        return "; ".join(text for _, text in acts)
    return ", ".join(f"{count} × {kind}" for kind, count in Tally(kind for kind, _ in acts).most_common())
