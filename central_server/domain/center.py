"""The center's state for one service day, and every operation the contract allows on it.

Each operation checks everything before it changes anything, so a refused request (a
`DomainError`) leaves the state untouched. What an operation changed is collected for the
storage adapter (`take_changes`), which makes it durable before any reply goes out.
"""

from __future__ import annotations

import heapq
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

from central_server.domain.areas import Area, service_day
from central_server.domain.bookings import Arrival, Booking, BookingRules
from central_server.domain.counters import Counter, CounterSpec, LastRating, Official
from central_server.domain.dossiers import Dossier, DossierError, DossierRules, normalize
from central_server.domain.errors import DomainError
from central_server.domain.estimate import (
    PLAY_LIMIT,
    Basis,
    Estimate,
    Forecast,
    Queued,
    ServiceTimes,
    StaffedCounter,
    rough_call_times,
)
from central_server.domain.policies import QueuePolicy
from central_server.domain.tickets import BOOKED, HOLDS_NUMBER, LANES, PRIORITY, REGULAR, Ticket, TicketState
from central_server.domain.tokens import ticket_id
from protocol.hours import Hours, hours_of
from protocol.record import record

RECENT_CALLS = 10
# The pace of the day: a counter's time per citizen of an area (call to release) and the pause between
# letting one citizen go and calling the next who was already waiting. A longer pause is no part of the
# pace (the official was away without pausing).
PACE_SAMPLES = 30
GAP_SAMPLES = 50
MAX_GAP = timedelta(minutes=10)
DEFAULT_GAP_S = 15.0
# The queue is played forward at most once a moment (the server takes one moment per batch): the new tickets
# of that moment are placed into it. It is played again at the next moment once a counter changed, and
# every 5 s in any case (the time passing shortens what is left of each counter's citizen).
FORECAST_FOR = timedelta(seconds=5)
# A rating pressed inside its window may arrive this much after it and still be on time: on its way through
# the broker and a batch, not held back by a terminal that could have sent it.
RATING_IN_TRANSIT = timedelta(seconds=10)
NOT_SEATED_VI = "Cán bộ không ngồi tại quầy này."
# The citizen web's queue is played forward ticket by ticket up to this many waiting tickets (a few ms); past it
# each ticket's call is estimated from the work ahead of it (`rough_call_times`).
QUEUE_PLAY_LIMIT = 3_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CenterRules:
    areas: tuple[Area, ...]
    counters: tuple[CounterSpec, ...]
    zone: tzinfo
    day_starts: time
    policy: QueuePolicy
    rating_levels: tuple[str, ...]
    rating_window: timedelta
    hours: Hours | None = None  # the center's opening hours; None: tickets at any time
    phone_window: timedelta = timedelta(seconds=1800)  # how long after "finish" a ticket may be rated from a phone
    bookings: BookingRules | None = None  # [bookings]: the center takes appointments (issue 18)
    # Issue 19: the levels that count as "không hài lòng" (the 766 figures), the criteria a phone may be asked,
    # and which dossier codes a counter may attach to a ticket
    dissatisfied: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    dossiers: DossierRules = field(default_factory=DossierRules)


@record
class CallRecord:
    ticket_id: str
    number: str
    counter_id: str
    area: str
    recall: bool
    called_at: datetime


@record
class Event:
    kind: str
    day: date
    at: datetime
    ticket_id: str | None = None
    counter_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RatingRecord:
    rating_id: str
    ticket_id: str
    counter_id: str
    level: str
    pressed_at: datetime
    received_at: datetime
    late: bool = False  # received after its window closed (pressed inside it, kept by a terminal that was cut off)
    channel: str = "buttons"  # "buttons" (the counter's terminal) or "phone" (the citizen web)
    # From the phone only (issue 19): the optional criteria the citizen rated, and what they wrote (phản ánh, kiến
    # nghị: its dossiers count as complained about)
    criteria: tuple[tuple[str, str], ...] = ()
    comment: str | None = None
    # Whether its level counted as "không hài lòng" when it was given (None: a level only a former scale had), so a
    # later change of `[rating] dissatisfied` does not change the figures of days already closed
    dissatisfied: bool | None = None


@dataclass(slots=True)
class Changes:
    """What to write, in one transaction, before anything is published."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    cursors: dict[tuple[date, str], int] = field(default_factory=dict)  # (day, area) -> last number handed out
    events: list[Event] = field(default_factory=list)
    ratings: list[RatingRecord] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    board_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.tickets or self.counters or self.cursors or self.events or self.ratings)


@dataclass(slots=True)
class DaySnapshot:
    """What storage hands back at start-up so the center resumes exactly where it stopped."""

    day: date
    tickets: list[Ticket]
    cursors: dict[str, int]
    recent_calls: list[CallRecord]  # newest first
    counters: list[Counter]
    next_seq: int
    # What each device last said of itself that day (online, printer), from the day's device events: with
    # several instances each hears only the statuses the broker deals it, and the estimate needs them all.
    devices: dict[str, tuple[bool, str | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A waiting ticket in the citizen web's queue: how many of its area are called before it, and when it is
    (seconds from the plan's moment; None when no staffed counter serves its area)."""

    ticket: Ticket
    ahead: int
    seconds: int | None
    basis: Basis


@dataclass(frozen=True, slots=True)
class QueuePlan:
    """Every area's waiting tickets in call order (priority first, then by issue: the order of the kiosk's
    `waiting_ahead`), each with its estimate, as the queue stood `at`."""

    at: datetime
    areas: dict[str, list[Waiting]]
    by_ticket: dict[str, Waiting]


@record
class Issued:
    ticket: Ticket
    waiting_ahead: int
    estimated_wait_s: int
    wait_basis: Basis = Basis.ESTIMATE


class _AreaQueue:
    """The waiting tickets of one area: a heap per lane (priority, booked, regular), with lazy removal."""

    def __init__(self) -> None:
        # (place key, seq, ticket): seq is unique, so ticket objects are never compared
        self._heaps: dict[str, list[tuple[datetime, int, int, Ticket]]] = {lane: [] for lane in LANES}
        self.counts: dict[str, int] = dict.fromkeys(LANES, 0)

    def push(self, ticket: Ticket) -> None:
        heapq.heappush(self._heaps[ticket.lane], (*ticket.queue_key, ticket.seq, ticket))
        self.counts[ticket.lane] += 1

    def left(self, ticket: Ticket) -> None:
        """A ticket stopped waiting here; its heap entry is dropped when it reaches the top."""
        self.counts[ticket.lane] -= 1

    def tickets(self, area_id: str) -> list[Ticket]:
        """The waiting tickets, in no particular order."""
        return [entry[3] for heap in self._heaps.values() for entry in heap
                if entry[3].state is TicketState.WAITING and entry[3].area == area_id]

    def head(self, lane: str, area_id: str) -> Ticket | None:
        heap = self._heaps[lane]
        while heap:
            ticket = heap[0][3]
            if ticket.state is TicketState.WAITING and ticket.area == area_id:
                return ticket
            heapq.heappop(heap)
        return None

    @property
    def waiting(self) -> int:
        return sum(self.counts.values())


class Center:
    def __init__(self, rules: CenterRules, now: datetime) -> None:
        self.rules = rules
        self.areas = {area.id: area for area in rules.areas}
        # A counter owes a priority ticket from its first call: nobody priority waits behind N regulars.
        self.counters = {
            spec.id: Counter(spec, regular_since_priority=rules.policy.regular_per_priority) for spec in rules.counters
        }
        self._changes = Changes()
        self.devices: dict[str, tuple[bool, str | None]] = {}  # device id -> (online, printer) last reported
        self._recorded_devices: dict[str, tuple[bool, str | None]] = {}  # the same, as last kept in storage
        # Since when this server has heard a device online without a break: a terminal online all along since
        # before a rating was pressed could have delivered it in time.
        self._online_since: dict[str, datetime] = {}
        self.device_since: dict[str, datetime] = {}  # when a device's online/offline state last changed (if seen)
        # Rating levels the center had before its levels changed (issue 17): a rating pressed then, and delivered
        # from a terminal's outbox or a phone's page afterwards, still counts with the level it was given.
        self.former_levels: set[str] = set()
        # Per counter, the day's calls of bookings and of walk-ins made when both waited (the bookings' share): kept by
        # this process across a reading of the same day (another instance committed), not across a restart.
        self._shared: dict[str, tuple[int, int]] = {}
        self._shared_day: date | None = None
        self._window_from: datetime | None = None  # the moment the last rating window opened (`_window_end`)
        self._window_rules: CenterRules | None = None
        self._window_until = datetime.min
        self._active_days: dict[str, tuple[datetime, date]] = {}  # counter -> its `active_at` and that one's day
        self._start_day(service_day(now, rules.zone, rules.day_starts), next_seq=1)

    def _start_day(self, day: date, next_seq: int) -> None:
        if day != self._shared_day:
            self._shared, self._shared_day = {}, day
        self.day = day
        self.tickets: dict[str, Ticket] = {}
        self._holders: dict[str, dict[str, Ticket]] = {area: {} for area in self.areas}
        self._queues = {area: _AreaQueue() for area in self.areas}
        self._cursors: dict[str, int] = {}
        self._issued = dict.fromkeys(self.areas, 0)  # tickets the kiosks took today, per area (for the quota)
        self._next_seq = next_seq
        self._remembered: dict[str, Ticket] = {}
        self._dossiers: dict[str, str] = {}  # the day's dossier codes -> the ticket carrying each
        # The first call of each of the day's tickets called more than once (a missed ticket called again): the
        # wait of the live floor runs to it, as the report's does to the first `called` event. A ticket called
        # once has none here: its `called_at` is its first call (a busy day's 100,000 entries took 5 MB).
        self.first_calls: dict[str, datetime] = {}
        self.recent_calls: deque[CallRecord] = deque(maxlen=RECENT_CALLS)
        self._occupancy = {area: deque[float](maxlen=PACE_SAMPLES) for area in self.areas}
        self._gaps = deque[float](maxlen=GAP_SAMPLES)
        self._forecast: tuple[datetime, Forecast] | None = None
        self._forecast_stale = False  # a counter changed since it was played

    # --- start-up and the day -------------------------------------------------------------

    def day_of(self, now: datetime) -> date:
        return service_day(now, self.rules.zone, self.rules.day_starts)

    def restore(self, snapshot: DaySnapshot) -> None:
        """Become the stored state of a service day (at start-up, and when a new day begins)."""
        self._start_day(snapshot.day, snapshot.next_seq)
        self._cursors = dict(snapshot.cursors)
        for ticket in sorted(snapshot.tickets, key=lambda t: t.seq):
            self._admit(ticket)
        self.recent_calls.extend(snapshot.recent_calls)
        for counter in snapshot.counters:
            if counter.id in self.counters:
                if counter.marked_day != snapshot.day:  # nobody sits, nothing rated yet, on a new service day
                    counter.official, counter.last_rating, counter.marked_day = None, None, None
                self.counters[counter.id] = counter
                if counter.current is not None:  # possibly a ticket of an earlier day: it keeps its number
                    self._hold(counter.current)  # and its dossiers' codes
                    self._dossiers.update((d.code, counter.current.id) for d in counter.current.dossiers)
        self._learn_pace(snapshot.tickets)
        self.devices.update(snapshot.devices)  # a new day has none stored yet: what was heard stays true
        self._recorded_devices.update(snapshot.devices)

    def reconfigure(self, rules: CenterRules, now: datetime, detail: dict[str, Any] | None = None, *,
                    check: bool = True) -> list[str]:
        """Go by new rules (the live configuration changed) between two batches, every ticket keeping its number
        and place and every counter its state; returns the ids of the counters removed.

        Refused (`config_refused`, nothing changed) when the day's state forbids it: an area removed that still
        has a ticket waiting, called, being served or missed (close it first: it stays callable until its
        citizens are served); an area with citizens waiting that no counter would serve; a counter removed while
        it has a citizen at it. `detail`: what the `configured` event of the change says (the version, who);
        `check=False` goes back to the rules storage holds, whatever the state (a change whose commit failed).
        """
        if check:
            self._check_reconfigure(rules)
        self.former_levels |= set(self.rules.rating_levels) - set(rules.rating_levels)
        self.rules = rules
        self._active_days = {}  # the zone or the day's start may have changed
        self.areas = {area.id: area for area in rules.areas}
        for area_id in self.areas:
            self._holders.setdefault(area_id, {})
            self._queues.setdefault(area_id, _AreaQueue())
            self._issued.setdefault(area_id, 0)
            self._occupancy.setdefault(area_id, deque(maxlen=PACE_SAMPLES))
        for gone in set(self._queues) - set(self.areas):  # nobody waits for it any more
            del self._queues[gone]  # its holders stay: tickets transferred out of it still hold their numbers
        removed = [counter_id for counter_id in self.counters if counter_id not in {c.id for c in rules.counters}]
        for counter_id in removed:
            counter = self.counters[counter_id]
            if counter.official is not None:
                self._unseat(counter, now, reason="removed")
            counter.awaiting_rating = None
        kept: dict[str, Counter] = {}
        for spec in rules.counters:
            known = self.counters.get(spec.id)
            if known is None:  # a new counter, idle; stored now so that a restart finds it
                known = Counter(spec, regular_since_priority=rules.policy.regular_per_priority, since=now)
                self._touch_counter(known)
            elif known.spec != spec:
                known.spec = spec
                self._touch_counter(known)
            kept[spec.id] = known
        self.counters = kept
        self._forecast, self._forecast_stale = None, True
        self._changes.board_changed = True
        if detail is not None:
            self._event("configured", now, detail=detail)
        return removed

    def _check_reconfigure(self, rules: CenterRules) -> None:
        areas = {area.id: area for area in rules.areas}
        for area_id, holders in self._holders.items():
            held = [t for t in holders.values() if t.area == area_id and t.state in HOLDS_NUMBER]
            if area_id not in areas and held:
                name = self.areas[area_id].name if area_id in self.areas else area_id
                raise DomainError("config_refused", f"Lĩnh vực «{name}» còn {len(held)} phiếu "
                                                    "chưa xong (đang chờ, đang gọi hoặc vắng mặt): hãy tạm ngừng tiếp "
                                                    "nhận lĩnh vực này và chỉ xoá sau khi đã phục vụ hết.")
        served = {area_id for spec in rules.counters for area_id in spec.areas}
        for area_id, queue in self._queues.items():
            if queue.waiting and area_id in areas and area_id not in served:
                raise DomainError("config_refused", f"Lĩnh vực «{areas[area_id].name}» còn {queue.waiting} công dân "
                                                    "đang chờ mà không quầy nào gọi được: hãy giữ ít nhất một quầy "
                                                    "phục vụ lĩnh vực này cho đến khi hết người chờ.")
        kept = {spec.id for spec in rules.counters}
        for counter in self.counters.values():
            if counter.id not in kept and counter.current is not None:
                raise DomainError("config_refused", f"Quầy «{counter.spec.name}» đang phục vụ số "
                                                    f"{counter.current.shown}: hãy hoàn tất hoặc chuyển số này trước "
                                                    "khi xoá quầy.")

    def device_seen(self, device_id: str, online: bool, printer: str | None, now: datetime) -> bool:
        """What a device says of itself (online, its printer's state), as it is now; whether it changed."""
        if not online:
            self._online_since.pop(device_id, None)
        elif device_id not in self._online_since:
            self._online_since[device_id] = now
        before = self.devices.get(device_id)
        if before == (online, printer):
            return False
        if before is not None and before[0] != online:
            self.device_since[device_id] = now
            if len(self.device_since) > len(self.devices) + 1:  # bounded as the devices are
                self.device_since.pop(next(iter(self.device_since)))
        self.devices[device_id] = (online, printer)
        self._forecast_stale = True  # a counter's terminal may have come or gone
        return True

    def forget_presence(self) -> None:
        """Each device counts as online only from when it is heard again."""
        self._online_since.clear()

    def record_device(self, device_id: str, now: datetime) -> bool:
        """Keep a device's state as an event when it differs from the last one kept (the caller decides how
        often: a device flapping its status must not fill the disk). The kiosks' printers matter to the
        center: paper out at the only kiosk stops the queue."""
        state = self.devices.get(device_id)
        if state is None or self._recorded_devices.get(device_id) == state:
            return False
        self._recorded_devices[device_id] = state
        online, printer = state
        detail: dict[str, Any] = {"device": device_id, "online": online}
        if printer is not None:
            detail["printer"] = printer
        self._event("device", now, detail=detail)
        return True

    def _admit(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket
        self._dossiers.update((d.code, ticket.id) for d in ticket.dossiers)
        if ticket.transferred_from is None and ticket.area in self._issued and ticket.state is not TicketState.VOIDED:
            self._issued[ticket.area] += 1
        if ticket.state in HOLDS_NUMBER:
            self._hold(ticket)
        if ticket.state is TicketState.WAITING and ticket.area in self.areas:
            self._queues[ticket.area].push(ticket)

    def _hold(self, ticket: Ticket) -> None:
        """The ticket holds its number in its area and in every area it was transferred from."""
        step: Ticket | None = ticket
        while step is not None:
            if step.area in self._holders:
                self._holders[step.area].setdefault(ticket.shown, ticket)
            step = self.tickets.get(step.transferred_from) if step.transferred_from else None

    def take_changes(self) -> Changes:
        changes, self._changes = self._changes, Changes()
        return changes

    # --- tickets ----------------------------------------------------------------------------

    def issue(self, area_id: str, priority: str, now: datetime, kiosk_id: str | None = None) -> Issued:
        area = self._area(area_id)
        self._check_open(area)
        if priority != "none" and priority not in self.rules.policy.priority_categories:
            raise DomainError("bad_request", "Đối tượng ưu tiên không hợp lệ.")
        self._check_hours(area, now)
        self._check_quota(area)
        queue = self._queues[area.id]
        ahead = queue.counts[PRIORITY] if priority != "none" else queue.waiting
        estimate = self._estimate(area.id, priority != "none", ahead, now)
        ticket = self._make(area, priority, now, kiosk_id)
        return Issued(ticket, ahead, estimate.seconds, estimate.basis)

    def check_in(self, booking: Booking, arrival: Arrival, now: datetime, kiosk_id: str | None = None) -> Issued:
        """The ticket of a booking checked in at the kiosk (`Book.arrive` said what it becomes). A booked slot waits
        in its area's booked lane from the slot's start; a remote number in the ordinary lane from when it was
        taken; a late one is an ordinary walk-in ticket (the hours and the quota a walk-in's)."""
        area = self._area(booking.area)
        self._check_open(area)
        if arrival is Arrival.LATE:
            self._check_hours(area, now)
            self._check_quota(area)
            ticket = self._make(area, "none", now, kiosk_id, booking=booking.code)
        else:
            ticket = self._make(area, "none", now, kiosk_id, channel=booking.channel.value,
                                since=booking.start or booking.created_at, slot_end=booking.end, booking=booking.code)
        ticket.id_tail = booking.tail
        queue = self._queues[area.id]
        ahead = [t for t in queue.tickets(area.id) if t is not ticket
                 and (t.lane == PRIORITY or (t.lane == ticket.lane and t.queue_key < ticket.queue_key))]
        estimate = self._estimate(area.id, False, len(ahead), now)
        seconds = estimate.seconds
        if ticket.lane == BOOKED:  # called from its slot's start: no sooner than that
            seconds = max(0, int((ticket.queue_key[0] - now).total_seconds()))
        elif queue.waiting > 1:  # a remote number has only part of the ordinary queue before it
            seconds = round(seconds * len(ahead) / (queue.waiting - 1))
        return Issued(ticket, len(ahead), seconds, estimate.basis)

    def _make(self, area: Area, priority: str, now: datetime, kiosk_id: str | None, *, channel: str = "walk_in",
              since: datetime | None = None, slot_end: datetime | None = None, booking: str | None = None) -> Ticket:
        number, shown = self._free_number(area)
        ticket = Ticket(
            id=ticket_id(self.day, self._next_seq), day=self.day, seq=self._next_seq, area=area.id,
            number=number, shown=shown, priority=sys.intern(priority), issued_at=now,
            kiosk_id=None if kiosk_id is None else sys.intern(kiosk_id),  # one copy of each for the whole day
            channel=channel, since=since, slot_end=slot_end, booking=booking,
        )
        self._next_seq += 1
        self._cursors[area.id] = number
        self._changes.cursors[(self.day, area.id)] = number
        self._admit(ticket)
        self._touch(ticket)
        detail: dict[str, Any] = {"area": area.id, "number": ticket.shown, "priority": priority}
        if booking is not None:
            detail.update(channel=channel, booking=booking)
        self._event("issued", now, ticket, detail=detail)
        self._changes.board_changed = True
        return ticket

    def _check_open(self, area: Area) -> None:
        if not area.open:
            raise DomainError("area_closed", f"Lĩnh vực {area.name} hiện tạm ngừng tiếp nhận hồ sơ.")

    def _check_quota(self, area: Area) -> None:
        if area.daily_quota and self._issued[area.id] >= area.daily_quota:
            raise DomainError("quota_reached", f"Lĩnh vực {area.name} đã cấp đủ {area.daily_quota} phiếu hôm nay. "
                                               "Mời công dân quay lại vào ngày làm việc tiếp theo.")

    def may_issue(self, area_id: str, now: datetime) -> Area:
        """The area, if a walk-in ticket of it may be given now (a remote number is taken only then); else the
        refusal a kiosk would get."""
        area = self._area(area_id)
        self._check_open(area)
        self._check_hours(area, now)
        self._check_quota(area)
        return area

    def _check_hours(self, area: Area, now: datetime) -> None:
        """Outside the area's hours (its own, or the center's), or past their last-ticket cut-off: refused."""
        hours = hours_of(area.hours, self.rules.hours)
        if hours is None:
            return
        local = now.astimezone(self.rules.zone)
        closed = hours.closed(local)
        if closed is not None:
            raise DomainError(closed.value, hours.refusal(local, closed, area.name if area.hours else None))

    def _free_number(self, area: Area) -> tuple[int, str]:
        """The next number after the area's cursor that no ticket still holds, wrapping at `last`, and as shown."""
        holders = self._holders[area.id]
        candidate = area.after(self._cursors.get(area.id))
        for _ in range(area.size):
            shown = area.shown(candidate)
            if shown not in holders:
                return candidate, shown
            candidate = area.after(candidate)
        raise DomainError(
            "area_full", f"Lĩnh vực {area.name} đã hết số thứ tự, vui lòng liên hệ cán bộ hướng dẫn."
        )

    # --- the wait estimate (central_server/domain/estimate.py) --------------------------------

    def _estimate(self, area_id: str, priority: bool, ahead: int, now: datetime) -> Estimate:
        """When a new ticket of the area would be called, from the queue and the pace of the day."""
        played = self._forecast
        if (played is None or not timedelta(0) <= now - played[0] <= FORECAST_FOR
                or (self._forecast_stale and now != played[0])):
            played, self._forecast_stale = (now, self._play_forward(now)), False
            self._forecast = played
        estimate = played[1].place(area_id, priority)
        if estimate.basis is Basis.NO_COUNTER:  # for clients that show only the figure: as if the counters came
            configured = sum(1 for c in self.counters.values() if area_id in c.spec.areas)
            return Estimate(round(ahead * self.pace_s(area_id) / max(1, configured)), Basis.NO_COUNTER)
        return estimate

    def _play_forward(self, now: datetime) -> Forecast:
        staffed, pace = self._counters_now(now)
        areas = {a for c in staffed for a in c.areas if a in self._queues}
        counts = {a: self._queues[a].waiting for a in areas}
        if sum(counts.values()) > PLAY_LIMIT:  # not worth listing ticket by ticket
            return Forecast(staffed, [], pace, self.rules.policy, bulk=counts)
        waiting = [Queued(t.area, t.is_priority, t.queue_key) for a in areas for t in self._queues[a].tickets(a)]
        return Forecast(staffed, waiting, pace, self.rules.policy)

    def queue_plan(self, now: datetime) -> QueuePlan:
        """Each area's waiting tickets in call order, with when each is called: the queue played forward on the
        staffed counters (as a new ticket's estimate is), every ticket at once."""
        staffed, pace = self._counters_now(now)
        ordered = {a: sorted(self._queues[a].tickets(a), key=lambda t: (not t.is_priority, t.queue_key))
                   for a in self.areas}
        served = {a for c in staffed for a in c.areas if a in ordered}
        queued = [Queued(t.area, t.is_priority, t.queue_key) for a in served for t in ordered[a]]
        if len(queued) <= QUEUE_PLAY_LIMIT:
            times = Forecast(staffed, queued, pace, self.rules.policy).call_times()
        else:
            times = rough_call_times(staffed, queued, pace)
        free = {a for c in staffed if c.free_in_s <= 0 and c.seen_today for a in c.areas}
        areas: dict[str, list[Waiting]] = {}
        by_ticket: dict[str, Waiting] = {}
        for area, tickets in ordered.items():
            plan = areas[area] = []
            for ahead, ticket in enumerate(tickets):
                seconds = times.get((area, ticket.queue_key))
                if seconds is not None and ticket.lane == BOOKED:  # never before its slot (unless nobody else waits)
                    seconds = max(seconds, (ticket.queue_key[0] - now).total_seconds())
                if seconds is None:
                    entry = Waiting(ticket, ahead, None, Basis.NO_COUNTER)
                elif seconds <= 0 and area in free:
                    entry = Waiting(ticket, ahead, 0, Basis.FREE_COUNTER)
                else:
                    entry = Waiting(ticket, ahead, round(max(seconds, 0.0)), Basis.ESTIMATE)
                plan.append(entry)
                by_ticket[ticket.id] = entry
        return QueuePlan(now, areas, by_ticket)

    def staffed(self, counter: Counter) -> bool:
        """Whether the counter calls citizens now: not paused, and its terminal online (a counter whose
        terminal never said: once its official pressed Next today)."""
        if counter.paused:
            return False
        reported = self.devices.get(f"counter-{counter.id}")
        if reported is not None:
            return reported[0]
        return self._active_today(counter)

    def _active_today(self, counter: Counter) -> bool:
        active_at = counter.active_at
        if active_at is None:
            return False
        known = self._active_days.get(counter.id)
        if known is None or known[0] is not active_at:  # the day of a moment, once: a forecast asks every counter
            known = self._active_days[counter.id] = (active_at, self.day_of(active_at))
        return known[1] == self.day

    def pace_s(self, area_id: str) -> float:
        """A counter's mean time per citizen of the area, the pause before the next call included; the
        center's `default_service_s` counts as one more sample (before the day has any, it is the pace)."""
        return self._service_s(area_id) + self._gap_s()

    def _service_s(self, area_id: str) -> float:
        samples = self._occupancy[area_id]
        return (sum(samples) + self.rules.policy.default_service_s) / (len(samples) + 1)

    def _gap_s(self) -> float:
        return sum(self._gaps) / len(self._gaps) if self._gaps else DEFAULT_GAP_S

    def _counters_now(self, now: datetime) -> tuple[list[StaffedCounter], dict[str, float]]:
        """The counters that call citizens now as the queue is played forward on them, and each area's pace (the
        day's means worked out once: every staffed counter asks them)."""
        service = {area: self._service_s(area) for area in self._occupancy}
        gap = self._gap_s()
        times: dict[str, ServiceTimes] = {}  # sorted for the counters serving a citizen of the area
        staffed = [StaffedCounter(c.id, c.spec.areas, self._time_left(c, now, service, gap, times),
                                  c.regular_since_priority, seen_today=self._active_today(c))
                   for c in self.counters.values() if self.staffed(c)]
        return staffed, {a: service[a] + gap for a in self.areas}  # `pace_s` of each

    def _time_left(self, counter: Counter, now: datetime, service: dict[str, float], gap: float,
                   times: dict[str, ServiceTimes]) -> float:
        """When the counter can call next: what is left of its citizen, or of its pause after the last one
        (`service`: each area's `_service_s`; `gap`: `_gap_s`; `times`: each area's, made here when first asked)."""
        ticket = counter.current
        if ticket is not None and ticket.called_at is not None:
            elapsed = (now - ticket.called_at).total_seconds()
            area = ticket.area if ticket.area in self._occupancy else next(iter(self._occupancy))
            if area not in times:
                times[area] = ServiceTimes(self._occupancy[area])
            return times[area].left(elapsed, service[area]) + gap
        if counter.released_at is not None:
            return max(0.0, gap - (now - counter.released_at).total_seconds())
        return 0.0

    def _learn_pace(self, tickets: Iterable[Ticket]) -> None:
        """The day's pace from stored tickets (after a restart): each counter's citizens in call order."""
        by_counter: dict[str, list[Ticket]] = {}
        for ticket in tickets:
            if ticket.day == self.day and ticket.counter_id is not None and ticket.called_at is not None:
                by_counter.setdefault(ticket.counter_id, []).append(ticket)
        for counter_id, served in by_counter.items():
            served.sort(key=lambda t: t.called_at or t.issued_at)
            for ticket, after in zip(served, [*served[1:], None], strict=True):
                self._record_occupancy(ticket)
                if after is not None and ticket.finished_at is not None and after.called_at is not None:
                    self._record_gap(after.called_at - max(ticket.finished_at, after.issued_at))
            counter = self.counters.get(counter_id)
            if counter is not None:
                counter.active_at = served[-1].called_at

    def _record_occupancy(self, ticket: Ticket) -> None:
        """A citizen let go (served, missed, transferred): the counter's time on them counts in the pace."""
        if ticket.day != self.day:  # a ticket left open overnight says nothing about today's pace
            return
        if ticket.called_at is not None and ticket.finished_at is not None and ticket.area in self._occupancy:
            seconds = (ticket.finished_at - ticket.called_at).total_seconds()
            if seconds >= 0:  # a clock set back between the call and the release says nothing
                self._occupancy[ticket.area].append(seconds)

    def _record_gap(self, gap: timedelta) -> None:
        if timedelta(0) <= gap <= MAX_GAP:
            self._gaps.append(gap.total_seconds())

    def waiting_counts(self) -> dict[str, int]:
        return {area: queue.waiting for area, queue in self._queues.items()}

    def queue_of(self, area_id: str) -> tuple[int, int, datetime | None]:
        """An area's waiting tickets, of them the priority ones, and the oldest issue time among them."""
        queue = self._queues[area_id]
        heads = [t for t in (queue.head(lane, area_id) for lane in LANES) if t is not None]
        return queue.waiting, queue.counts[PRIORITY], min((t.issued_at for t in heads), default=None)

    def ticket(self, ticket_id: str) -> Ticket | None:
        """Today's ticket, one a counter still holds, or one `remember`ed: always the same object."""
        found = self.tickets.get(ticket_id) or self._remembered.get(ticket_id)
        if found is not None:
            return found
        for counter in self.counters.values():
            for held in (counter.current, counter.awaiting_rating):
                if held is not None and held.id == ticket_id:
                    return self.remember(held)  # still found once the counter lets go of it
        return None

    def remember(self, ticket: Ticket) -> Ticket:
        """Keep a ticket of an earlier day that storage handed back, so every look-up finds this object."""
        return self._remembered.setdefault(ticket.id, ticket)

    # --- counter commands -----------------------------------------------------------------

    def next(self, counter_id: str, now: datetime) -> Ticket | None:
        counter = self._callable_counter(counter_id)
        chosen, contested = self._choose(counter, now)
        self._finish_current(counter, now)
        if chosen is None:
            counter.released_at, counter.active_at = None, now  # until somebody comes: no part of its pace
            self._touch_counter(counter)
            return None
        counter.regular_since_priority = 0 if chosen.is_priority else counter.regular_since_priority + 1
        if contested:
            booked, walked_in = self._shared.get(counter.id, (0, 0))
            self._shared[counter.id] = (booked + 1, walked_in) if chosen.lane == BOOKED else (booked, walked_in + 1)
        self._call(counter, chosen, now)
        return chosen

    def call_number(self, counter_id: str, shown: str, now: datetime) -> Ticket:
        counter = self._callable_counter(counter_id)
        chosen = self._find_callable(counter, shown)
        self._finish_current(counter, now)
        self._call(counter, chosen, now)
        return chosen

    def recall(self, counter_id: str, now: datetime) -> Ticket:
        counter = self._counter(counter_id)
        ticket = self._current(counter)
        max_calls = self.rules.policy.max_calls
        if max_calls and ticket.state is TicketState.CALLED and ticket.calls >= max_calls:
            self._miss(counter, ticket, now, reason="max_calls")
            return ticket
        ticket.calls += 1
        self._touch(ticket)
        self._announce(counter, ticket, now, recall=True)
        return ticket

    def start(self, counter_id: str, now: datetime) -> Ticket:
        counter = self._counter(counter_id)
        ticket = self._current(counter)
        if ticket.state is TicketState.CALLED:
            ticket.state = TicketState.SERVING
            ticket.started_at = now
            self._touch(ticket)
            self._touch_counter(counter)
            self._event("started", now, ticket, counter)
        return ticket

    def skip(self, counter_id: str, now: datetime) -> Ticket:
        counter = self._counter(counter_id)
        ticket = self._current(counter)
        self._miss(counter, ticket, now, reason="skip")
        return ticket

    def finish(self, counter_id: str, now: datetime) -> Ticket:
        counter = self._counter(counter_id)
        ticket = self._current(counter)
        self._finish_current(counter, now)
        return ticket

    def dossier(self, counter_id: str, typed: str, now: datetime, *, number: str | None = None,
                remove: bool = False) -> Ticket:
        """Attach a dossier received at the counter to its citizen's ticket (or, `remove`, take it off again).

        The ticket is `dossier_target`'s; `number` names another ticket of the day this counter called. A code is
        checked against the national form and the center's pattern, at most once in a day, at most `per_ticket` a
        ticket."""
        counter = self._counter(counter_id)
        ticket = self._dossier_ticket(counter, number)
        # The code's day may be the calendar's before the service day begins (`day_starts` after midnight); one
        # attached under earlier rules is still taken off.
        today = max(self.day, now.astimezone(self.rules.zone).date())
        try:
            code = normalize(typed) if remove else self.rules.dossiers.check(typed, today)
        except DossierError as exc:
            raise DomainError("bad_dossier", str(exc)) from None
        held = self._dossiers.get(code)
        if remove:
            if held != ticket.id:
                raise DomainError("unknown_dossier", f"Số {ticket.shown} không có hồ sơ {code}.")
            ticket.dossiers = tuple(d for d in ticket.dossiers if d.code != code)
            del self._dossiers[code]
        else:
            if held == ticket.id:
                return ticket  # scanned twice: kept once
            if held is not None:
                other = self.tickets.get(held)
                raise DomainError("dossier_taken", f"Hồ sơ {code} đã được gắn cho số "
                                                   f"{other.shown if other else held} trong ngày.")
            if len(ticket.dossiers) >= self.rules.dossiers.per_ticket:
                raise DomainError("too_many_dossiers", f"Mỗi số chỉ gắn được tối đa {self.rules.dossiers.per_ticket} "
                                                       "hồ sơ.")
            official = counter.official.username if counter.official is not None else None
            ticket.dossiers = (*ticket.dossiers, Dossier(code, now, official, counter.id))
            self._dossiers[code] = ticket.id
        self._touch(ticket)
        self._changes.counters[counter.id] = counter  # its state shows its ticket's dossiers (the queue is as it was)
        self._event("dossier_removed" if remove else "dossier_added", now, ticket, counter, {"code": code})
        return ticket

    def _dossier_ticket(self, counter: Counter, number: str | None) -> Ticket:
        if number is not None:
            mine = [t for t in self.tickets.values() if t.counter_id == counter.id and t.shown == number
                    and t.called_at is not None and t.state is not TicketState.VOIDED]
            if not mine:
                raise DomainError("unknown_ticket", f"Quầy chưa gọi số {number[:20]} trong ngày.")
            return max(mine, key=lambda t: t.called_at or t.issued_at)
        target = self.dossier_target(counter)
        if target is None:
            raise DomainError("no_current_ticket", "Quầy chưa có số nào đang phục vụ để gắn hồ sơ.")
        return target

    @staticmethod
    def dossier_target(counter: Counter) -> Ticket | None:
        """The ticket a dossier scanned at the counter goes to: its current one, else the one it served last, until
        it calls the next citizen (they may still be there, rating or not). Never a ticket rated later from a
        phone or a terminal's outbox: that citizen has gone."""
        if counter.current is not None:
            return counter.current
        return counter.awaiting_rating or counter.last_served

    def transfer(self, counter_id: str, to_area: str, now: datetime) -> Ticket:
        """Move the current ticket to another area: it keeps its number and its place by issue time."""
        counter = self._counter(counter_id)
        ticket = self._current(counter)
        target = self._area(to_area)
        if target.id == ticket.area:
            raise DomainError("bad_request", f"Số {ticket.shown} đã thuộc lĩnh vực {target.name}.")
        holder = self._holders[target.id].get(ticket.shown)
        if holder is not None and holder is not ticket:
            raise DomainError("bad_request", f"Lĩnh vực {target.name} đang có một phiếu khác cùng số {ticket.shown}.")
        moved = Ticket(
            id=ticket_id(self.day, self._next_seq), day=self.day, seq=self._next_seq, area=target.id,
            number=ticket.number, shown=ticket.shown, priority=ticket.priority, issued_at=ticket.issued_at,
            kiosk_id=ticket.kiosk_id, transferred_from=ticket.id, place=ticket.place, channel=ticket.channel,
            since=None if ticket.since is None else min(ticket.since, now),  # called already: due in its new area
            slot_end=ticket.slot_end, booking=ticket.booking, id_tail=ticket.id_tail,
        )
        self._next_seq += 1
        self._release(ticket, TicketState.TRANSFERRED, now)
        ticket.transferred_to = moved.id
        counter.current = None
        self._let_go(counter, ticket, now)
        self._admit(moved)
        self._holders[ticket.area].setdefault(ticket.shown, moved)  # also when `ticket` is of an earlier day
        self._touch(moved)
        self._touch_counter(counter)
        self._event("transferred", now, ticket, counter, {"to_area": target.id, "new_ticket_id": moved.id})
        self._changes.board_changed = True
        return moved

    def void(self, ticket: Ticket, now: datetime, by: str, reason: str) -> bool:
        """Take a ticket that was never meant out of the queue (waiting or missed: nobody is at a counter with
        it); its number is free again. Whether it was voided."""
        if ticket.day != self.day or ticket.state not in (TicketState.WAITING, TicketState.MISSED):
            return False
        self._release(ticket, TicketState.VOIDED, now)
        for dossier in ticket.dossiers:  # attached in error (nobody was served): the code is free again
            self._dossiers.pop(dossier.code, None)
            self._event("dossier_removed", now, ticket, detail={"code": dossier.code, "reason": "voided"})
        ticket.dossiers = ()
        if ticket.transferred_from is None and ticket.area in self._issued:
            self._issued[ticket.area] -= 1  # it takes nothing from the area's quota
        self._event("voided", now, ticket, detail={"by": by, "reason": reason, "number": ticket.shown})
        self._changes.board_changed = True
        return True

    def void_from(self, kiosk_id: str, start: datetime, end: datetime, now: datetime, by: str) -> list[Ticket]:
        """Void today's tickets of one kiosk issued from `start` to before `end` that are still waiting or
        missed: a flooded area recovers at once."""
        chosen = [t for t in self.tickets.values() if t.kiosk_id == kiosk_id and t.transferred_from is None
                  and start <= t.issued_at < end]
        return [t for t in chosen if self.void(t, now, by, f"kiosk {kiosk_id} {start:%H:%M}–{end:%H:%M}")]

    # --- who sits where (the staff console) ---------------------------------------------------

    def sit(self, counter_id: str, official: Official, now: datetime) -> None:
        """`official` takes the counter: whoever sat there leaves it, and so does the official any other counter
        (one seat at a time). Until `leave`, another official's `sit` or the end of the service day."""
        counter = self._counter(counter_id)
        if counter.official == official:
            return
        for other in self.counters.values():
            if other is not counter and other.official is not None and other.official.username == official.username:
                self._unseat(other, now, reason="moved")
        if counter.official is not None:
            self._unseat(counter, now, reason="replaced")
        counter.official, counter.marked_day = official, self.day
        self._touch_counter(counter)
        self._event("seated", now, counter=counter, detail={"name": official.name})

    def leave(self, counter_id: str, username: str, now: datetime) -> None:
        """Nobody sits at the counter any more; only the official sitting there may leave it."""
        counter = self._counter(counter_id)
        if counter.official is None or counter.official.username != username:
            raise DomainError("not_seated", NOT_SEATED_VI)
        self._unseat(counter, now, reason="left")

    def acting_as(self, counter_id: str, official: Official, now: datetime, act: Callable[[], T]) -> T:
        """`act` on the counter for `official`, who sits there first (when another, or nobody, did): its events
        name them. A refused act leaves the seats as they were too."""
        seats = {c.id: (c.official, c.marked_day) for c in self.counters.values()}
        touched, events = set(self._changes.counters), len(self._changes.events)
        self.sit(counter_id, official, now)
        try:
            return act()
        except DomainError:
            for counter in self.counters.values():
                counter.official, counter.marked_day = seats[counter.id]
            del self._changes.events[events:]
            for extra in set(self._changes.counters) - touched:
                del self._changes.counters[extra]
            raise

    def _unseat(self, counter: Counter, now: datetime, reason: str) -> None:
        self._event("left", now, counter=counter, detail={"reason": reason})
        counter.official = None
        self._touch_counter(counter)

    def pause(self, counter_id: str, now: datetime) -> None:
        self._set_paused(self._counter(counter_id), True, now)

    def resume(self, counter_id: str, now: datetime) -> None:
        self._set_paused(self._counter(counter_id), False, now)

    def _set_paused(self, counter: Counter, paused: bool, now: datetime) -> None:
        if counter.paused != paused:
            counter.paused = paused
            counter.since = now
            counter.released_at = None  # a break is no part of the pace
            self._touch_counter(counter)
            self._event("paused" if paused else "resumed", now, counter=counter)

    # --- ratings ----------------------------------------------------------------------------

    def rate(
        self, counter_id: str, rating_id: str, ticket: Ticket | None, level: str, pressed_at: datetime, now: datetime
    ) -> RatingRecord:
        """Record a citizen's rating of a ticket served at this counter within the rating window.

        The window is judged by `now`, except that a rating delivered late from a terminal's
        outbox counts when it was pressed inside the window and not in the future, and the terminal
        could not deliver it in time: a terminal this server heard online, without a break, from before
        the press until now could have, and its late rating is refused. Late ones are marked. A rating
        pressed inside the window that arrives within `RATING_IN_TRANSIT` after it is on time (it was on
        its way: the broker, a busy batch).
        """
        counter = self._counter(counter_id)
        if level not in self.rules.rating_levels and level not in self.former_levels:
            raise DomainError("bad_request", "Mức đánh giá không hợp lệ.")
        if ticket is None:
            raise DomainError("unknown_ticket", "Không tìm thấy phiếu cần đánh giá.")
        if ticket.counter_id != counter.id:
            raise DomainError("wrong_counter", f"Số {ticket.shown} không được phục vụ tại quầy này.")
        if ticket.state is not TicketState.SERVED or ticket.rating_until is None or ticket.finished_at is None:
            raise DomainError("not_served", f"Số {ticket.shown} chưa được phục vụ xong.")
        if ticket.rating is not None:
            raise DomainError("already_rated", f"Số {ticket.shown} đã được đánh giá.")
        pressed_in_window = ticket.finished_at <= pressed_at <= min(ticket.rating_until, now)
        late = now > ticket.rating_until + RATING_IN_TRANSIT
        since = self._online_since.get(f"counter-{counter.id}")
        could_have_sent = since is not None and since <= pressed_at
        if now > ticket.rating_until and (not pressed_in_window or (late and could_have_sent)):
            raise DomainError("rating_closed", f"Đã hết thời gian đánh giá cho số {ticket.shown}.")
        ticket.rating = level
        self._touch(ticket)
        if counter.awaiting_rating is ticket:
            counter.awaiting_rating = None
        counter.last_rating, counter.marked_day = LastRating(ticket.id, ticket.shown, level), self.day
        self._touch_counter(counter)
        record = RatingRecord(rating_id, ticket.id, counter.id, level, pressed_at, now, late,
                              dissatisfied=self._dissatisfied(level))
        self._changes.ratings.append(record)
        self._event("rated", now, ticket, counter, {"level": level, "rating_id": rating_id, "late": late})
        return record

    def chain_end(self, ticket: Ticket) -> Ticket:
        """The ticket that continues `ticket` now: itself, or the last of the tickets it was transferred to."""
        seen = 0
        while ticket.transferred_to is not None and seen < len(self.tickets):
            following = self.tickets.get(ticket.transferred_to)
            if following is None:
                break
            ticket, seen = following, seen + 1
        return ticket

    def rate_by_phone(self, ticket: Ticket, level: str, rating_id: str, now: datetime, *,
                      criteria: tuple[tuple[str, str], ...] = (), comment: str | None = None) -> RatingRecord:
        """A citizen rates a served ticket from the phone (the citizen web), within the phone's window after
        "finish". One rating per ticket whatever the channel: the counter's buttons then get `already_rated`,
        and the counter's terminal stops waiting for it, as after a press. `criteria`: the center's optional
        criteria the citizen rated too, each with a level of the same scale; `comment`: what they wrote."""
        known = (*self.rules.rating_levels, *self.former_levels)
        if level not in known:
            raise DomainError("bad_request", "Mức đánh giá không hợp lệ.")
        # A criterion the center no longer asks (changed while the page was open) is dropped, the rating kept
        criteria = tuple((c, v) for c, v in criteria if c in self.rules.criteria and v in known)
        if ticket.state is not TicketState.SERVED or ticket.finished_at is None:
            raise DomainError("not_served", f"Phiếu số {ticket.shown} chưa được phục vụ xong; Ông/Bà có thể đánh giá "
                                            "sau khi cán bộ hoàn tất hồ sơ.")
        if ticket.rating is not None:
            raise DomainError("already_rated", f"Phiếu số {ticket.shown} đã được đánh giá. Cảm ơn Ông/Bà.")
        if now > ticket.finished_at + self.rules.phone_window:
            raise DomainError("rating_closed", f"Đã hết thời gian đánh giá cho phiếu số {ticket.shown}.")
        ticket.rating = level
        self._touch(ticket)
        counter = self.counters.get(ticket.counter_id or "")
        if counter is not None:
            if counter.awaiting_rating is ticket:
                counter.awaiting_rating = None
            counter.last_rating, counter.marked_day = LastRating(ticket.id, ticket.shown, level), self.day
            self._touch_counter(counter)
        record = RatingRecord(rating_id, ticket.id, ticket.counter_id or "", level, now, now, channel="phone",
                              criteria=criteria, comment=comment, dissatisfied=self._dissatisfied(level))
        self._changes.ratings.append(record)
        self._event("rated", now, ticket, counter,
                    {"level": level, "rating_id": rating_id, "late": False, "channel": "phone",
                     **({"criteria": dict(criteria)} if criteria else {}), **({"comment": True} if comment else {})})
        return record

    def _dissatisfied(self, level: str) -> bool | None:
        return level in self.rules.dissatisfied if level in self.rules.rating_levels else None

    def close_rating_windows(self, now: datetime) -> list[Counter]:
        """Disarm the counters whose rating window has ended."""
        closed = []
        for counter in self.counters.values():
            ticket = counter.awaiting_rating
            if ticket is not None and ticket.rating_until is not None and now > ticket.rating_until:
                counter.awaiting_rating = None
                self._touch_counter(counter)
                closed.append(counter)
        return closed

    # --- internals --------------------------------------------------------------------------

    def _area(self, area_id: str) -> Area:
        area = self.areas.get(area_id)
        if area is None:
            raise DomainError("unknown_area", "Lĩnh vực này không có tại trung tâm.")
        return area

    def counter(self, counter_id: str) -> Counter:
        """The counter, or the `unknown_counter` refusal."""
        return self._counter(counter_id)

    def _counter(self, counter_id: str) -> Counter:
        counter = self.counters.get(counter_id)
        if counter is None:
            raise DomainError("unknown_counter", "Quầy này không có trong cấu hình của trung tâm.")
        return counter

    def _callable_counter(self, counter_id: str) -> Counter:
        counter = self._counter(counter_id)
        if counter.paused:
            raise DomainError("counter_paused", "Quầy đang tạm dừng; hãy tiếp tục trước khi gọi số.")
        return counter

    def _current(self, counter: Counter) -> Ticket:
        if counter.current is None:
            raise DomainError("no_current_ticket", "Quầy chưa có số nào đang phục vụ.")
        return counter.current

    def _choose(self, counter: Counter, now: datetime) -> tuple[Ticket | None, bool]:
        """The counter's next citizen, and whether a booking and a walk-in both could have been it.

        Priority citizens first, as the policy says (`policies.py`). Then a checked-in booking whose slot has begun
        goes before walk-ins, up to the center's share of the counter's calls while walk-ins wait too; a booking
        whose slot has not begun is called only when nobody else waits (no counter idles while someone waits)."""
        priority = self._oldest(counter.spec.areas, PRIORITY)
        regular = self._oldest(counter.spec.areas, REGULAR)
        booked = self._oldest(counter.spec.areas, BOOKED)
        due = booked if booked is not None and booked.queue_key[0] <= now else None
        contested = due is not None and regular is not None
        ordinary = (due if self._bookings_turn(counter) else regular) if contested else (due or regular)
        chosen = self.rules.policy.choose(priority, ordinary, counter.regular_since_priority)
        return (chosen if chosen is not None else booked), contested and chosen is ordinary

    def _bookings_turn(self, counter: Counter) -> bool:
        """Whether the counter's bookings are below the center's share of its calls where both kinds waited."""
        share = self.rules.bookings.share_percent if self.rules.bookings is not None else 100
        booked, walked_in = self._shared.get(counter.id, (0, 0))
        return booked * 100 < share * (booked + walked_in + 1)

    def _oldest(self, area_ids: Iterable[str], lane: str) -> Ticket | None:
        heads = [self._queues[a].head(lane, a) for a in area_ids if a in self._queues]
        return min((t for t in heads if t is not None), key=lambda t: t.queue_key, default=None)

    def _find_callable(self, counter: Counter, shown: str) -> Ticket:
        """The waiting or missed ticket showing `shown`, preferring the counter's own areas."""
        areas = list(counter.spec.areas) + [a for a in self.areas if a not in counter.spec.areas]
        for area_id in areas:
            ticket = self._holders[area_id].get(shown)
            if ticket is not None and ticket.state in (TicketState.WAITING, TicketState.MISSED):
                return ticket
        raise DomainError("unknown_ticket", f"Không có số {shown[:20]} đang chờ hoặc vắng mặt trong ngày.")

    def _call(self, counter: Counter, ticket: Ticket, now: datetime) -> None:
        if ticket.state is TicketState.WAITING:
            self._queues[ticket.area].left(ticket)
        if ticket.day == self.day and ticket.called_at is not None:  # called again: the first call stays
            self.first_calls.setdefault(ticket.id, ticket.called_at)
        ticket.state = TicketState.CALLED
        ticket.counter_id = counter.id
        ticket.calls = 1
        ticket.called_at = now
        counter.current = ticket
        counter.last_rating = counter.last_served = None
        counter.since = now
        if counter.released_at is not None:  # from when the citizen called was there to be called
            self._record_gap(now - max(counter.released_at, ticket.issued_at))
        counter.released_at, counter.active_at = None, now
        self._touch(ticket)
        self._touch_counter(counter)
        self._announce(counter, ticket, now, recall=False)

    def _announce(self, counter: Counter, ticket: Ticket, now: datetime, *, recall: bool) -> None:
        call = CallRecord(ticket.id, ticket.shown, counter.id, ticket.area, recall, now)
        self.recent_calls.appendleft(call)
        self._changes.calls.append(call)
        self._changes.board_changed = True
        self._event("recalled" if recall else "called", now, ticket, counter,
                    {"number": ticket.shown, "area": ticket.area, "calls": ticket.calls})

    def _window_end(self, now: datetime) -> datetime:
        """When a rating window opened `now` closes: one object for the tickets a batch finishes (a day's 100,000
        times took 5 MB)."""
        if self._window_from is not now or self._window_rules is not self.rules:
            self._window_from, self._window_rules = now, self.rules
            self._window_until = now + self.rules.rating_window
        return self._window_until

    def _finish_current(self, counter: Counter, now: datetime) -> None:
        ticket = counter.current
        if ticket is None:
            return
        self._release(ticket, TicketState.SERVED, now)
        ticket.rating_until = self._window_end(now)
        counter.current = None
        counter.awaiting_rating = counter.last_served = ticket
        self._let_go(counter, ticket, now)
        self._touch_counter(counter)
        self._event("served", now, ticket, counter)

    def _miss(self, counter: Counter, ticket: Ticket, now: datetime, reason: str) -> None:
        ticket.state = TicketState.MISSED
        ticket.finished_at = now
        counter.current = None
        self._let_go(counter, ticket, now)
        self._touch(ticket)
        self._touch_counter(counter)
        self._event("missed", now, ticket, counter, {"reason": reason})

    def _release(self, ticket: Ticket, state: TicketState, now: datetime) -> None:
        """Close a ticket for good: its number becomes free again in its area."""
        for holders in self._holders.values():
            if holders.get(ticket.shown) is ticket:
                del holders[ticket.shown]
        if ticket.state is TicketState.WAITING:
            self._queues[ticket.area].left(ticket)
        ticket.state = state
        ticket.finished_at = now
        self._touch(ticket)

    def _let_go(self, counter: Counter, ticket: Ticket, now: datetime) -> None:
        counter.released_at = now
        counter.since = now
        self._record_occupancy(ticket)

    def _touch(self, ticket: Ticket) -> None:
        self._changes.tickets[ticket.id] = ticket

    def _touch_counter(self, counter: Counter) -> None:
        self._changes.counters[counter.id] = counter
        self._forecast_stale = True  # the counters changed: the queue is played forward again, at the next moment

    def _event(
        self,
        kind: str,
        at: datetime,
        ticket: Ticket | None = None,
        counter: Counter | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An event; one about a counter names the official sitting there (`detail.official`, None: nobody)."""
        detail = dict(detail or {})
        if counter is not None:
            detail["official"] = counter.official.username if counter.official is not None else None
        self._changes.events.append(
            Event(kind, self.day, at, ticket.id if ticket else None, counter.id if counter else None, detail)
        )

