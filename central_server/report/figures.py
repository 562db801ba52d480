"""The figures a center publishes, computed from its stored tickets, calls and ratings (pure: no I/O).

One citizen is one chain of tickets: the ticket issued at the kiosk and the tickets that continued it
after transfers. A citizen counts in the area they chose at the kiosk. Their wait runs from the issue
time to their first call; the 90th percentile is the nearest-rank one (the smallest wait that at least
90 % of the waits do not exceed). Service runs from the call (or `start`) to finish.

By channel (issue 18: walk-in, booked slot, remote number; the sheet "Theo kênh"): a citizen counts in the channel
of the ticket they got at the kiosk (a booking checked in too late is a walk-in ticket), and a booked citizen's wait
runs from the later of their check-in and their slot's start, so an early arrival is not a wait the center caused.
Bookings count by the day of their appointment.

By dossier (issue 19, Quyết định 766/QĐ-TTg; the sheets "Hài lòng theo QĐ 766", "Hồ sơ không hài lòng", "Hồ sơ đã
tiếp nhận"): a dossier counts in the period by its ticket's day, in the area of the ticket it was attached to and
under the official who attached it. A citizen's rating (and what they wrote) is the rating of every dossier attached
to any ticket of their chain; a rating on a chain without a dossier counts toward no dossier. The satisfaction ratio
is (dossiers received − dossiers rated "không hài lòng" or complained about) / dossiers received.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from typing import Literal

from central_server.domain.dossiers import Dossier, default_dissatisfied
from protocol.messages import CRITERIA_LABELS, RATING_LABELS

Cell = str | int | float | date | None
Kind = Literal["count", "minutes", "share", "ratio", "text"]


@dataclass(frozen=True, slots=True)
class TicketRecord:
    id: str
    day: date
    area: str
    shown: str
    priority: str
    issued_at: datetime
    state: str
    counter_id: str | None
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    transferred_from: str | None
    transferred_to: str | None
    # How it came (issue 18): "walk_in", "booked" or "remote"; a booked slot's start (a remote number's taking); the
    # code of the booking it came from (a walk-in ticket has one when its booking was checked in too late)
    channel: str = "walk_in"
    since: datetime | None = None
    booking: str | None = None
    dossiers: tuple[Dossier, ...] = ()  # the dossiers received with it at the counter (issue 19)


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """A booking or a remote number (issue 18) as the report reads it: its appointment's day, its area, its channel
    ("booked" or "remote"), its state (booked, checked_in, cancelled, no_show, late) and when its check-in window
    closes (one still `booked` past it is a no-show the server has not marked yet: it was down meanwhile)."""

    code: str
    day: date
    area: str
    channel: str
    state: str
    closes: datetime


@dataclass(frozen=True, slots=True)
class RatingRow:
    counter_id: str
    ticket_id: str
    level: str
    late: bool = False  # received after its window: pressed in time, kept by a terminal that was cut off
    channel: str = "buttons"  # "buttons" (the counter's terminal) or "phone" (the citizen web)
    # From the phone only (issue 19): the criteria rated (criterion id -> level), what the citizen wrote
    criteria: tuple[tuple[str, str], ...] = ()
    comment: str | None = None
    dissatisfied: bool | None = None  # whether its level counted as "không hài lòng" when given (None: not known)


@dataclass(frozen=True, slots=True)
class ReportArea:
    id: str
    name: str
    target_wait_min: int


@dataclass(frozen=True, slots=True)
class ReportCounter:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ReportCenter:
    """What the report needs of the center config."""

    name: str
    zone: tzinfo
    areas: tuple[ReportArea, ...]
    counters: tuple[ReportCounter, ...]
    rating_levels: tuple[str, ...]
    former_scales: tuple[tuple[str, ...], ...] = ()  # the rating levels the center had before (issue 17)
    # Issue 19: today's levels counting as "không hài lòng" ([rating] dissatisfied; none given: the default), and
    # the criteria a phone asks besides the level ([rating] criteria)
    dissatisfied: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels ratings may carry: today's and those only a former scale had, best first (in the usual
        order of RATING_LABELS when every one is a usual level; else today's, then the others)."""
        known = tuple(dict.fromkeys(level for scale in (self.rating_levels, *self.former_scales) for level in scale))
        if all(level in RATING_LABELS for level in known):
            return tuple(sorted(known, key=list(RATING_LABELS).index))
        return known

    @property
    def satisfied_levels(self) -> frozenset[str]:
        """"Satisfied or better": every level up to `satisfied`, without one the better half, of today's scale;
        a level only a former scale had, as that scale judged it."""
        today = set(self.rating_levels)
        former = {level for scale in self.former_scales for level in _satisfied(scale) if level not in today}
        return frozenset({*_satisfied(self.rating_levels), *former})

    @property
    def dissatisfied_levels(self) -> frozenset[str]:
        """"Không hài lòng" (QĐ 766): today's levels as the center says; a level only a former scale had, as
        `default_dissatisfied` judges that scale."""
        today = set(self.rating_levels)
        former = {level for scale in self.former_scales for level in default_dissatisfied(scale) if level not in today}
        return frozenset({*(self.dissatisfied or default_dissatisfied(self.rating_levels)), *former})


def _satisfied(levels: tuple[str, ...]) -> tuple[str, ...]:
    if "satisfied" in levels:
        return levels[: levels.index("satisfied") + 1]
    return levels[: max(1, len(levels) // 2)]


@dataclass(frozen=True, slots=True)
class Officials:
    """Who did what (the events' detail.official): ticket id -> the username of the official sitting at the counter
    that served, missed or transferred it; and each official's full name."""

    closed_by: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    transferred: dict[str, int] = field(default_factory=dict)  # username ("": nobody) -> tickets moved to another area


@dataclass(frozen=True, slots=True)
class Citizen:
    """One chain of tickets."""

    first: TicketRecord
    last: TicketRecord
    first_call: datetime | None
    rating: str | None
    rating_late: bool = False
    rating_channel: str | None = None  # "buttons" or "phone", with `rating`
    criteria: tuple[tuple[str, str], ...] = ()  # with a phone `rating` (issue 19): the criteria rated
    comment: str | None = None  # with a phone `rating`: what the citizen wrote (phản ánh, kiến nghị)
    chain: tuple[TicketRecord, ...] = ()  # every ticket, `first` to `last`
    rating_dissatisfied: bool | None = None  # with `rating`: whether it counted as "không hài lòng" when given

    @property
    def dossiers(self) -> list[tuple[TicketRecord, Dossier]]:
        """The dossiers received from the citizen, each with the ticket it was attached to."""
        return [(ticket, dossier) for ticket in self.chain for dossier in ticket.dossiers]

    @property
    def wait_min(self) -> float | None:
        return None if self.first_call is None else (self.first_call - self.first.issued_at).total_seconds() / 60

    @property
    def channel(self) -> str:
        return self.first.channel

    @property
    def channel_wait_min(self) -> float | None:
        """The wait as the channels' sheet counts it: from the issue to the first call; for a booked slot, from the
        later of the check-in and the slot's start (called before the slot: no wait)."""
        if self.first_call is None:
            return None
        due = self.first.issued_at
        if self.first.channel == "booked" and self.first.since is not None:
            due = max(due, self.first.since)
        return max(0.0, (self.first_call - due).total_seconds() / 60)

    @property
    def slot_delay_min(self) -> float | None:
        """A booked citizen's first call less their slot's start, in minutes (negative: called before the slot)."""
        if self.first.channel != "booked" or self.first.since is None or self.first_call is None:
            return None
        return (self.first_call - self.first.since).total_seconds() / 60

    @property
    def service_min(self) -> float | None:
        begun = self.last.started_at or self.last.called_at
        if self.last.state != "served" or begun is None or self.last.finished_at is None:
            return None
        return (self.last.finished_at - begun).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet of the workbook and one CSV file."""

    title: str  # the sheet's Vietnamese name (at most 31 characters: an Excel limit)
    slug: str  # the CSV file's name
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    by_row: bool = False  # a key/value sheet: each row's first cell names the figure (and so its kind)

    def kinds(self, row: tuple[Cell, ...]) -> list[Kind]:
        """What each cell of `row` is: a count, minutes, a share, a ratio or text (dates are dates)."""
        if self.by_row:
            return ["text", *(kind_of(str(row[0])) for _ in row[1:])]
        return [kind_of(column) for column in self.columns]


@dataclass(frozen=True, slots=True)
class Group:
    """The figures of a set of citizens (a day, an area, a counter, the whole period)."""

    issued: int
    priority: int
    served: int
    missed: int
    unfinished: int
    waits: list[float]
    within_target: int
    judged: int  # citizens whose wait is known to be within or past their target (called, or waited past it)
    services: list[float]
    ratings: Counter[str]
    satisfied: int
    late_ratings: int = 0  # of `ratings`, those received after their window (a terminal cut off meanwhile)
    phone_ratings: int = 0  # of `ratings`, those given from the citizen's phone (the rest: the counter's buttons)

    @property
    def button_ratings(self) -> int:
        return self.rated - self.phone_ratings

    @property
    def mean_wait(self) -> float | None:
        return _mean(self.waits)

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 90)

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.judged if self.judged else None

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def ratings_per_served(self) -> float | None:
        return self.rated / self.served if self.served else None


def percentile(values: Sequence[float], rank: int) -> float | None:
    return percentile_of_sorted(sorted(values), rank)


def percentile_of_sorted(ordered: Sequence[float], rank: int) -> float | None:
    """`percentile` of values already in order (the live floor keeps the day's waits so)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def citizens(tickets: Iterable[TicketRecord], first_calls: dict[str, datetime],
             ratings: Iterable[RatingRow]) -> list[Citizen]:
    """Chains from the kiosk's ticket through every transfer; `first_calls` by ticket id (from the events)."""
    by_id = {t.id: t for t in tickets}
    rated = {r.ticket_id: r for r in ratings}
    chains = []
    for ticket in by_id.values():
        if ticket.transferred_from is not None and ticket.transferred_from in by_id:
            continue
        rating = rated.get(ticket.id)
        if rating is None and (ticket.transferred_to is None or ticket.transferred_to not in by_id):
            # most of a day: one ticket, not rated
            chains.append(Citizen(ticket, ticket, first_calls.get(ticket.id), None, chain=(ticket,)))
            continue
        chain = [ticket]
        while chain[-1].transferred_to is not None and chain[-1].transferred_to in by_id:
            chain.append(by_id[chain[-1].transferred_to])
        calls = [first_calls[t.id] for t in chain if t.id in first_calls]
        rating = rated.get(chain[-1].id)
        chains.append(Citizen(chain[0], chain[-1], min(calls) if calls else None,
                              None if rating is None else rating.level, rating is not None and rating.late,
                              None if rating is None else rating.channel, () if rating is None else rating.criteria,
                              None if rating is None else rating.comment, tuple(chain),
                              None if rating is None else rating.dissatisfied))
    return sorted(chains, key=lambda c: (c.first.issued_at, c.first.id))


def group(members: Sequence[Citizen], center: ReportCenter, targets: dict[str, int], as_of: datetime) -> Group:
    """The figures of `members`; a citizen not called by `as_of` counts against the target once past it (in one
    pass: a busy day's report counts 100,000s of citizens a few dozen times)."""
    waits: list[float] = []
    services: list[float] = []
    ratings: Counter[str] = Counter()
    within = overdue = priority = served = missed = late = phone = 0
    for citizen in members:
        first, last = citizen.first, citizen.last
        target = targets[first.area]
        if citizen.first_call is None:
            overdue += (as_of - first.issued_at).total_seconds() / 60 > target
        else:
            wait = (citizen.first_call - first.issued_at).total_seconds() / 60  # `Citizen.wait_min`
            waits.append(wait)
            within += wait <= target
        priority += first.priority != "none"
        if last.state == "served":
            served += 1
            if (service := citizen.service_min) is not None:
                services.append(service)
        elif last.state == "missed":
            missed += 1
        if citizen.rating is not None:
            ratings[citizen.rating] += 1
            late += citizen.rating_late
            phone += citizen.rating_channel == "phone"
    return Group(
        issued=len(members), priority=priority, served=served, missed=missed, unfinished=len(members) - served - missed,
        waits=waits, within_target=within, judged=len(waits) + overdue, services=services, ratings=ratings,
        satisfied=sum(n for level, n in ratings.items() if level in center.satisfied_levels),
        late_ratings=late, phone_ratings=phone,
    )


# A booked citizen first called no later than this many minutes after their slot's start (or before it) was called
# on time: within the 15 minutes a late booked citizen may still check in (`BookingRules.late_min`'s default), and
# short enough that a slot of 30 minutes is still mostly theirs.
PUNCTUAL_MIN = 10


@dataclass(frozen=True, slots=True)
class ChannelGroup:
    """The figures of one channel (or of all) over a set of citizens and of bookings (issue 18)."""

    issued: int
    served: int
    missed: int
    unfinished: int
    waits: list[float]  # `Citizen.channel_wait_min`
    booked: int  # bookings made for the days (remote numbers taken), cancelled ones included
    cancelled: int
    came: int  # checked in within their window, or before it and let wait
    came_late: int  # checked in after their window: the center made them walk-in tickets
    no_show: int  # not checked in by the end of their window
    pending: int  # not checked in, their window still open when the figures were taken
    delays: list[float]  # booked slots called: first call less the slot's start, in minutes
    punctual: int  # of the booked citizens judged, those called within PUNCTUAL_MIN of their slot's start
    judged: int  # booked citizens called, and those not called PUNCTUAL_MIN past their slot's start

    @property
    def mean_wait(self) -> float | None:
        return _mean(self.waits)

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 90)

    @property
    def no_show_share(self) -> float | None:
        """Of the bookings whose day came (neither cancelled nor still in their window), those nobody came for."""
        decided = self.booked - self.cancelled - self.pending
        return self.no_show / decided if decided else None

    @property
    def punctual_share(self) -> float | None:
        return self.punctual / self.judged if self.judged else None

    @property
    def mean_delay(self) -> float | None:
        return _mean(self.delays)

    @property
    def p90_delay(self) -> float | None:
        return percentile(self.delays, 90)

    @property
    def called_early(self) -> int:
        return sum(1 for d in self.delays if d < 0)


def channel_group(members: Sequence[Citizen], bookings: Sequence[BookingRecord], as_of: datetime) -> ChannelGroup:
    """The figures of `members` and `bookings`; a booked citizen not called by `as_of` counts against punctuality
    once PUNCTUAL_MIN past their slot's start, a booking not checked in counts as a no-show once its window closed."""
    delays = [d for c in members if (d := c.slot_delay_min) is not None]
    overdue = sum(1 for c in members if c.first.channel == "booked" and c.first.since is not None
                  and c.first_call is None and (as_of - c.first.since).total_seconds() / 60 > PUNCTUAL_MIN)
    waiting = [b for b in bookings if b.state == "booked"]
    return ChannelGroup(
        issued=len(members),
        served=sum(1 for c in members if c.last.state == "served"),
        missed=sum(1 for c in members if c.last.state == "missed"),
        unfinished=sum(1 for c in members if c.last.state not in ("served", "missed")),
        waits=[w for c in members if (w := c.channel_wait_min) is not None],
        booked=len(bookings),
        cancelled=sum(1 for b in bookings if b.state == "cancelled"),
        came=sum(1 for b in bookings if b.state == "checked_in"),
        came_late=sum(1 for b in bookings if b.state == "late"),
        no_show=sum(1 for b in bookings if b.state == "no_show") + sum(1 for b in waiting if b.closes <= as_of),
        pending=sum(1 for b in waiting if b.closes > as_of),
        delays=delays,
        punctual=sum(1 for d in delays if d <= PUNCTUAL_MIN),
        judged=len(delays) + overdue,
    )


@dataclass(frozen=True, slots=True)
class ReceivedDossier:
    """A dossier received in the period (issue 19): the ticket it was attached to, its citizen, and whether their
    rating counts it as "không hài lòng"."""

    dossier: Dossier
    ticket: TicketRecord
    citizen: Citizen
    dissatisfied: bool

    @property
    def complained(self) -> bool:
        """The citizen wrote something with their rating (phản ánh, kiến nghị)."""
        return self.citizen.comment is not None

    @property
    def against(self) -> bool:
        """Counted against the QĐ 766 ratio: rated "không hài lòng" or complained about, or both."""
        return self.dissatisfied or self.complained


@dataclass(frozen=True, slots=True)
class DossierGroup:
    """The QĐ 766 figures of a set of dossiers (issue 19), and of the citizens served without one."""

    received: int
    rated: int
    dissatisfied: int
    complained: int
    against: int  # rated "không hài lòng" or complained about: each dossier once
    served_without: int  # citizens served with no dossier attached to any of their tickets
    rated_without: int  # of those, the ones who rated: ratings that count toward no dossier

    @property
    def ratio(self) -> float | None:
        return (self.received - self.against) / self.received if self.received else None


def dossier_group(dossiers: Sequence[ReceivedDossier], citizens_served: Sequence[Citizen]) -> DossierGroup:
    """The figures of `dossiers`; `citizens_served` are counted when no dossier was attached to them."""
    without = [c for c in citizens_served if c.last.state == "served" and not c.dossiers]
    return DossierGroup(
        received=len(dossiers),
        rated=sum(1 for d in dossiers if d.citizen.rating is not None),
        dissatisfied=sum(1 for d in dossiers if d.dissatisfied),
        complained=sum(1 for d in dossiers if d.complained),
        against=sum(1 for d in dossiers if d.against),
        served_without=len(without),
        rated_without=sum(1 for c in without if c.rating is not None),
    )


def _mean(values: Sequence[float]) -> float | None:
    """The mean of the exact sum (`math.fsum`): the same in whatever order the values come, as the live floor,
    which keeps the day's waits summed exactly as they change, gives it."""
    return math.fsum(values) / len(values) if values else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


ISSUED = "Số phiếu đã cấp"
PRIORITY = "Phiếu ưu tiên"
SERVED = "Đã phục vụ"
MISSED = "Vắng mặt"
UNFINISHED = "Chưa xong"
MEAN_WAIT = "Chờ trung bình (phút)"
P90_WAIT = "90 % công dân chờ không quá (phút)"
WITHIN_TARGET = "Tỷ lệ gọi trong thời gian chờ mục tiêu"
MEAN_SERVICE = "Phục vụ trung bình (phút)"
RATED = "Lượt đánh giá"
SATISFIED = "Tỷ lệ hài lòng trở lên"
PER_SERVED = "Đánh giá trên mỗi lượt phục vụ"
TARGET = "Thời gian chờ mục tiêu (phút)"
GROUP_COLUMNS = (ISSUED, PRIORITY, SERVED, MISSED, UNFINISHED, MEAN_WAIT, P90_WAIT, WITHIN_TARGET, MEAN_SERVICE,
                 RATED, SATISFIED, PER_SERVED)
# The counters' sheet: a counter issues nothing; it serves the citizens whose last ticket it finished.
COUNTER_SERVED = "Số lượt phục vụ"
COUNTER_PRIORITY = "Trong đó ưu tiên"
COUNTER_MISSED = "Gọi nhưng vắng mặt"
COUNTER_OPEN = "Đã gọi, chưa xong"
COUNTER_COLUMNS = (COUNTER_SERVED, COUNTER_PRIORITY, COUNTER_MISSED, COUNTER_OPEN, MEAN_SERVICE, RATED, SATISFIED,
                   PER_SERVED)
# The channels' sheet (issue 18)
AREA = "Lĩnh vực"
CHANNEL = "Kênh"
CHANNEL_NAMES = {"walk_in": "Lấy số tại ki-ốt", "booked": "Đặt lịch hẹn", "remote": "Lấy số từ xa"}
EVERY_AREA = "Tất cả lĩnh vực"
EVERY_CHANNEL = "Tất cả các kênh"
BOOKINGS_MADE = "Lượt đặt trước"
CANCELLED = "Đã huỷ"
CAME = "Đến đúng hẹn"
CAME_LATE = "Đến muộn (nhận số thường)"
NO_SHOW = "Không đến"
PENDING = "Chưa đến, còn trong khung giờ"
NO_SHOW_SHARE = "Tỷ lệ không đến"
PUNCTUAL = f"Tỷ lệ gọi trong {PUNCTUAL_MIN} phút từ giờ hẹn"
MEAN_DELAY = "Gọi sau giờ hẹn trung bình (phút)"
P90_DELAY = "90 % được gọi sau giờ hẹn không quá (phút)"
CALLED_EARLY = "Gọi trước giờ hẹn"
CHANNEL_TICKET_COLUMNS = (ISSUED, SERVED, MISSED, UNFINISHED, MEAN_WAIT, P90_WAIT)
CHANNEL_BOOKING_COLUMNS = (BOOKINGS_MADE, CANCELLED, CAME, CAME_LATE, NO_SHOW, PENDING, NO_SHOW_SHARE)
CHANNEL_SLOT_COLUMNS = (PUNCTUAL, MEAN_DELAY, P90_DELAY, CALLED_EARLY)
# The dossiers' sheets (issue 19, Quyết định 766/QĐ-TTg)
RECEIVED = "Hồ sơ tiếp nhận"
DOSSIERS_RATED = "Hồ sơ được đánh giá"
DISSATISFIED = "Không hài lòng"
COMPLAINED = "Có phản ánh, kiến nghị"
AGAINST = "Không hài lòng hoặc có phản ánh"
RATIO_766 = "Tỷ lệ hài lòng (QĐ 766)"
SERVED_WITHOUT = "Lượt phục vụ không gắn hồ sơ"
RATED_WITHOUT = "Trong đó có đánh giá (không được tính)"
DOSSIER_COLUMNS = (RECEIVED, DOSSIERS_RATED, DISSATISFIED, COMPLAINED, AGAINST, RATIO_766, SERVED_WITHOUT,
                   RATED_WITHOUT)
CODE = "Mã hồ sơ"
RECEIVED_ON = "Ngày tiếp nhận"
LEVEL = "Mức đánh giá"
RATING_CHANNEL = "Kênh đánh giá"
RATING_CHANNELS = {"buttons": "Nút bấm tại quầy", "phone": "Điện thoại"}
COMMENT = "Phản ánh, kiến nghị"
YES, NO = "Có", "Không"
CENTER_GROUP = "Toàn trung tâm"
_KINDS: dict[str, Kind] = {MEAN_WAIT: "minutes", P90_WAIT: "minutes", MEAN_SERVICE: "minutes",
                           WITHIN_TARGET: "share", SATISFIED: "share", PER_SERVED: "ratio",
                           NO_SHOW_SHARE: "share", PUNCTUAL: "share",
                           MEAN_DELAY: "minutes", P90_DELAY: "minutes", RATIO_766: "share"}


VOIDED = "Phiếu đã huỷ (không tính trong các số trên)"
LATE = "Trong đó gửi muộn (quầy mất kết nối)"
BY_BUTTONS = "Đánh giá bằng nút bấm tại quầy"
BY_PHONE = "Đánh giá qua điện thoại"


def kind_of(column: str) -> Kind:
    """Minutes, shares and ratios are named above; every other number is a count."""
    return _KINDS.get(column, "count")


def group_cells(figures: Group) -> tuple[Cell, ...]:
    return (figures.issued, figures.priority, figures.served, figures.missed, figures.unfinished,
            _minutes(figures.mean_wait), _minutes(figures.p90_wait), _share(figures.within_target_share),
            _minutes(_mean(figures.services)), figures.rated, _share(figures.satisfied_share),
            _share(figures.ratings_per_served))


@dataclass(frozen=True, slots=True)
class Report:
    center: ReportCenter
    first_day: date
    last_day: date
    people: list[Citizen]
    total: Group
    by_area: dict[str, Group]
    by_counter: dict[str, Group]  # the citizens each counter served last (so `issued` there is `served`)
    tables: list[Sheet]
    as_of: datetime
    voided: int = 0  # tickets voided (a kiosk's flood, never printed): left out of every figure
    officials: Officials = field(default_factory=Officials)
    bookings: list[BookingRecord] = field(default_factory=list)  # of the period's days (issue 18)

    def channels(self) -> list[str]:
        """The channels the period saw, in CHANNEL_NAMES' order: walk-in always, the others when a ticket or a
        booking came through them."""
        seen = {p.channel for p in self.people} | {b.channel for b in self.bookings}
        return [c for c in CHANNEL_NAMES if c == "walk_in" or c in seen] + sorted(seen - set(CHANNEL_NAMES))

    def by_channel(self) -> dict[str, ChannelGroup]:
        """Channel -> its figures over the period and every area."""
        return {c: channel_group([p for p in self.people if p.channel == c],
                                 [b for b in self.bookings if b.channel == c], self.as_of) for c in self.channels()}

    def hourly_arrivals(self) -> dict[str, dict[int, int]]:
        """Area id -> hour of the day (local) -> citizens who took a ticket in that hour, over the period."""
        counts: dict[str, dict[int, int]] = {a.id: defaultdict(int) for a in self.center.areas}
        for person in self.people:
            counts.setdefault(person.first.area, defaultdict(int))[self.local(person.first.issued_at).hour] += 1
        return counts

    def hourly_served(self) -> dict[int, int]:
        """Hour of the day (local) -> citizens served, counted by the hour their service finished."""
        counts: dict[int, int] = defaultdict(int)
        for person in self.people:
            if person.last.state == "served" and person.last.finished_at is not None:
                counts[self.local(person.last.finished_at).hour] += 1
        return counts

    def hours(self) -> list[int]:
        """From the first to the last hour of the day in which a citizen arrived or was served."""
        seen = {self.local(p.first.issued_at).hour for p in self.people} | set(self.hourly_served())
        return list(range(min(seen), max(seen) + 1)) if seen else []

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.center.zone)

    def dossiers(self) -> list[ReceivedDossier]:
        """The dossiers received in the period, in the order they were attached.

        A rating counts as "không hài lòng" as the center's levels said when it was given (a rating stored before
        that was kept: as its scale says now). A dossier attached to a citizen who was then marked missed was never
        received. One brought again on a later day of the period (a citizen who came back with it) counts once,
        where it was first received, and against the ratio when any of its visits was rated so or complained of."""
        levels = self.center.dissatisfied_levels
        found = sorted((ReceivedDossier(dossier, ticket, person, person.rating in levels
                                        if person.rating_dissatisfied is None else person.rating_dissatisfied)
                        for person in self.people if person.last.state != "missed"
                        for ticket, dossier in person.dossiers), key=lambda d: (d.dossier.at, d.dossier.code))
        once: dict[str, ReceivedDossier] = {}
        for received in found:
            first = once.setdefault(received.dossier.code, received)
            if received is not first and received.against and not first.against:
                once[received.dossier.code] = replace(first, citizen=received.citizen,
                                                      dissatisfied=received.dissatisfied)
        return list(once.values())

    def criteria(self) -> list[str]:
        """The criteria the center asks and those the period's ratings carry (a former configuration's)."""
        seen = {name for person in self.people for name, _ in person.criteria} - set(self.center.criteria)
        return [*self.center.criteria, *(c for c in CRITERIA_LABELS if c in seen), *sorted(seen - set(CRITERIA_LABELS))]


def build(center: ReportCenter, first_day: date, last_day: date, people: list[Citizen], as_of: datetime,
          officials: Officials | None = None, bookings: Sequence[BookingRecord] = ()) -> Report:
    """`as_of`: when the figures are taken (a citizen still uncalled then may already be past the target).
    A voided ticket (nobody held it: a kiosk's flood, an answer never printed) counts in no figure; how
    many there were is said. `bookings`: those of the period's days (issue 18)."""
    voided = sum(1 for p in people if p.last.state == "voided")
    people = [p for p in people if p.last.state != "voided"]
    targets = {a.id: a.target_wait_min for a in center.areas}
    for person in people:
        targets.setdefault(person.first.area, 30)  # an area since removed from the config
    by_area = {a: group([p for p in people if p.first.area == a], center, targets, as_of) for a in targets}
    counter_ids = [c.id for c in center.counters] + sorted(
        {p.last.counter_id for p in people if p.last.counter_id} - {c.id for c in center.counters})
    by_counter = {c: group([p for p in people if p.last.counter_id == c and p.last.state == "served"], center,
                           targets, as_of) for c in counter_ids}
    total = group(people, center, targets, as_of)
    report = Report(center, first_day, last_day, people, total, by_area, by_counter, [], as_of, voided,
                    officials or Officials(), list(bookings))
    report.tables.extend([_summary(report), _areas(report), _counters(report), _days(report, targets),
                          _hours(report), _ratings(report), _officials(report, targets), _channels(report)])
    dossiers = report.dossiers()
    report.tables.extend([_satisfaction_766(report, dossiers), _follow_up(report, dossiers),
                          _received(report, dossiers)])
    if report.criteria():
        report.tables.append(_criteria(report))
    return report


def _summary(report: Report) -> Sheet:
    total = report.total
    rows: list[tuple[Cell, ...]] = [
        ("Trung tâm", report.center.name), ("Từ ngày", report.first_day), ("Đến ngày", report.last_day),
        *zip(GROUP_COLUMNS, group_cells(total), strict=True),
        (BY_BUTTONS, total.button_ratings), (BY_PHONE, total.phone_ratings),
        (VOIDED, report.voided),
    ]
    return Sheet("Tổng hợp", "tong-hop", ("Chỉ số", "Giá trị"), rows, by_row=True)


def _areas(report: Report) -> Sheet:
    names = {a.id: (a.name, a.target_wait_min) for a in report.center.areas}
    rows = [(area, *names.get(area, (area, 30)), *group_cells(figures)) for area, figures in report.by_area.items()]
    return Sheet("Theo lĩnh vực", "theo-linh-vuc", ("Mã", "Lĩnh vực", TARGET, *GROUP_COLUMNS), rows)


def _counters(report: Report) -> Sheet:
    """Per counter: the citizens it served last, and those it called last who did not come or are not done."""
    names = {c.id: c.name for c in report.center.counters}
    rows: list[tuple[Cell, ...]] = []
    for counter, served in report.by_counter.items():
        called = [p for p in report.people if p.last.counter_id == counter]
        missed = sum(1 for p in called if p.last.state == "missed")
        still_open = sum(1 for p in called if p.last.state not in ("served", "missed"))
        rows.append((counter, names.get(counter, counter), served.served, served.priority, missed, still_open,
                     _minutes(_mean(served.services)), served.rated, _share(served.satisfied_share),
                     _share(served.ratings_per_served)))
    return Sheet("Theo quầy", "theo-quay", ("Mã", "Quầy", *COUNTER_COLUMNS), rows)


def _days(report: Report, targets: dict[str, int]) -> Sheet:
    days = sorted({p.first.day for p in report.people})
    rows = [(day, *group_cells(group([p for p in report.people if p.first.day == day], report.center,
                                     targets, report.as_of))) for day in days]
    return Sheet("Theo ngày", "theo-ngay", ("Ngày", *GROUP_COLUMNS), rows)


def _hours(report: Report) -> Sheet:
    """Arrivals by the hour the ticket was issued; citizens served by the hour their service finished."""
    arrivals = report.hourly_arrivals()
    served = report.hourly_served()
    area_ids = list(arrivals)
    names = {a.id: a.name for a in report.center.areas}
    rows: list[tuple[Cell, ...]] = [(f"{hour:02d}:00–{hour + 1:02d}:00", *(arrivals[a][hour] for a in area_ids),
             sum(arrivals[a][hour] for a in area_ids), served[hour]) for hour in report.hours()]
    columns = ("Giờ", *(f"Lượt đến – {names.get(a, a)}" for a in area_ids), "Tổng số phiếu đã cấp", SERVED)
    return Sheet("Theo giờ", "theo-gio", columns, rows)


def _ratings(report: Report) -> Sheet:
    levels = report.center.levels
    counter_names = {c.id: c.name for c in report.center.counters}
    area_names = {a.id: a.name for a in report.center.areas}
    rows: list[tuple[Cell, ...]] = []
    for kind, groups, names in (("Quầy", report.by_counter, counter_names), ("Lĩnh vực", report.by_area, area_names)):
        for key, figures in groups.items():
            rows.append((kind, names.get(key, key), *(figures.ratings[level] for level in levels), figures.rated,
                         figures.button_ratings, figures.phone_ratings, figures.late_ratings,
                         _share(figures.satisfied_share)))
    total = report.total
    rows.append((CENTER_GROUP, report.center.name, *(total.ratings[level] for level in levels), total.rated,
                 total.button_ratings, total.phone_ratings, total.late_ratings, _share(total.satisfied_share)))
    return Sheet("Đánh giá", "danh-gia", ("Nhóm", "Tên", *level_names(levels), "Tổng", BY_BUTTONS, BY_PHONE, LATE,
                                          "Tỷ lệ hài lòng trở lên"), rows)


NOBODY = "(không ghi nhận cán bộ)"
OFFICIAL_TRANSFERRED = "Chuyển lĩnh vực"


def _officials(report: Report, targets: dict[str, int]) -> Sheet:
    """Per official (who sat at the counter when it happened): the citizens they served last and those they called
    last who did not come, the tickets they moved to another area, the service time and the ratings of the
    citizens they served. Citizens closed at a counter where nobody had signed in count under NOBODY."""
    closed_by = report.officials.closed_by
    levels = report.center.levels
    mine: dict[str, list[Citizen]] = defaultdict(list)
    moved = report.officials.transferred
    for person in report.people:
        if person.last.state in ("served", "missed"):
            mine[closed_by.get(person.last.id, "")].append(person)
    officials = sorted(set(mine) | set(moved), key=lambda o: (o == "", report.officials.names.get(o, o)))
    rows: list[tuple[Cell, ...]] = []
    for official in officials:
        served = group([p for p in mine[official] if p.last.state == "served"], report.center, targets, report.as_of)
        missed = sum(1 for p in mine[official] if p.last.state == "missed")
        rows.append((official or "", report.officials.names.get(official, official) if official else NOBODY,
                     served.served, missed, moved.get(official, 0), _minutes(_mean(served.services)),
                     *(served.ratings[level] for level in levels), served.rated, _share(served.satisfied_share)))
    return Sheet("Cán bộ", "can-bo", ("Tên đăng nhập", "Cán bộ", COUNTER_SERVED, COUNTER_MISSED, OFFICIAL_TRANSFERRED,
                                      MEAN_SERVICE, *level_names(levels), RATED, SATISFIED), rows)


def _channels(report: Report) -> Sheet:
    """Per channel, for the whole center, then per area and channel: the tickets, their waits (a booked slot's from
    the later of its check-in and its start), what became of the bookings, and how the booked slots were called
    against their start. A center that had no booking in the period gets the walk-ins' row and ticket columns only;
    the slots' columns come only with booked slots."""
    channels = report.channels()
    with_bookings = len(channels) > 1
    with_slots = "booked" in channels
    columns = (AREA, CHANNEL, *CHANNEL_TICKET_COLUMNS, *(CHANNEL_BOOKING_COLUMNS if with_bookings else ()),
               *(CHANNEL_SLOT_COLUMNS if with_slots else ()))

    def row(area: str, channel: str | None, g: ChannelGroup) -> tuple[Cell, ...]:
        cells: list[Cell] = [area, CHANNEL_NAMES.get(channel, channel) if channel else EVERY_CHANNEL,
                             g.issued, g.served, g.missed, g.unfinished, _minutes(g.mean_wait), _minutes(g.p90_wait)]
        if with_bookings:
            cells += ([None] * len(CHANNEL_BOOKING_COLUMNS) if channel == "walk_in" else
                      [g.booked, g.cancelled, g.came, g.came_late, g.no_show, g.pending, _share(g.no_show_share)])
        if with_slots:
            cells += ([None] * len(CHANNEL_SLOT_COLUMNS) if channel not in ("booked", None) else
                      [_share(g.punctual_share), _minutes(g.mean_delay), _minutes(g.p90_delay), g.called_early])
        return tuple(cells)

    rows = [row(EVERY_AREA, channel, figures) for channel, figures in report.by_channel().items()]
    if with_bookings:
        rows.append(row(EVERY_AREA, None, channel_group(report.people, report.bookings, report.as_of)))
        names = {a.id: a.name for a in report.center.areas}
        seen = {p.first.area for p in report.people} | {b.area for b in report.bookings}
        for area in [*(a for a in names if a in seen), *sorted(seen - set(names))]:
            for channel in channels:
                people = [p for p in report.people if p.first.area == area and p.channel == channel]
                bookings = [b for b in report.bookings if b.area == area and b.channel == channel]
                if people or bookings:
                    rows.append(row(names.get(area, area), channel, channel_group(people, bookings, report.as_of)))
    return Sheet("Theo kênh", "theo-kenh", columns, rows)


def _satisfaction_766(report: Report, dossiers: Sequence[ReceivedDossier]) -> Sheet:
    """Quyết định 766/QĐ-TTg's satisfaction ratio by dossier, for the center, each area (where the dossier was
    received) and each official (who attached it; NOBODY when nobody had signed in at the counter); beside it, the
    citizens served with no dossier attached, whose ratings count toward none."""
    served = [p for p in report.people if p.last.state == "served"]
    closed_by = report.officials.closed_by
    names = {a.id: a.name for a in report.center.areas}
    seen = {d.ticket.area for d in dossiers} | {p.last.area for p in served}
    areas = [*report.by_area, *sorted(seen - set(report.by_area))]
    officials = sorted({d.dossier.official or "" for d in dossiers} | {closed_by.get(p.last.id, "") for p in served},
                       key=lambda o: (o == "", report.officials.names.get(o, o)))

    def row(kind: str, name: str, g: DossierGroup) -> tuple[Cell, ...]:
        return (kind, name, g.received, g.rated, g.dissatisfied, g.complained, g.against, _share(g.ratio),
                g.served_without, g.rated_without)

    rows = [row(CENTER_GROUP, report.center.name, dossier_group(dossiers, served))]
    rows += [row(AREA, names.get(area, area), dossier_group([d for d in dossiers if d.ticket.area == area],
                                                             [p for p in served if p.last.area == area]))
             for area in areas]
    rows += [row("Cán bộ", report.officials.names.get(official, official) if official else NOBODY,
                 dossier_group([d for d in dossiers if (d.dossier.official or "") == official],
                               [p for p in served if closed_by.get(p.last.id, "") == official]))
             for official in officials]
    return Sheet("Hài lòng theo QĐ 766", "hai-long-766", ("Nhóm", "Tên", *DOSSIER_COLUMNS), rows)


def _follow_up(report: Report, dossiers: Sequence[ReceivedDossier]) -> Sheet:
    """One row per dossier rated "không hài lòng" or complained about, to follow up: with what the citizen wrote and
    the criteria they rated."""
    criteria = report.criteria()
    rows: list[tuple[Cell, ...]] = []
    for d in dossiers:
        if d.against:
            person, rated = d.citizen, dict(d.citizen.criteria)
            rows.append((*_received_cells(report, d), d.ticket.shown, _level_of(d),
                         RATING_CHANNELS.get(person.rating_channel or ""), person.comment,
                         *(level_name(rated[c]) if c in rated else None for c in criteria)))
    columns = (CODE, RECEIVED_ON, "Giờ", AREA, "Quầy", "Cán bộ", "Số phiếu", LEVEL, RATING_CHANNEL, COMMENT,
               *(CRITERIA_LABELS.get(c, c) for c in criteria))
    return Sheet("Hồ sơ không hài lòng", "ho-so-khong-hai-long", columns, rows)


def _received(report: Report, dossiers: Sequence[ReceivedDossier]) -> Sheet:
    """One row per dossier received, to reconcile with the province's one-stop system."""
    rows: list[tuple[Cell, ...]] = [
        (*_received_cells(report, d), d.dossier.official or "", d.ticket.shown, _level_of(d),
         YES if d.dissatisfied else NO, YES if d.complained else NO) for d in dossiers]
    columns = (CODE, RECEIVED_ON, "Giờ gắn", AREA, "Quầy", "Cán bộ tiếp nhận", "Tên đăng nhập", "Số phiếu", LEVEL,
               DISSATISFIED, "Có phản ánh")
    return Sheet("Hồ sơ đã tiếp nhận", "ho-so-da-tiep-nhan", columns, rows)


def _received_cells(report: Report, d: ReceivedDossier) -> tuple[Cell, ...]:
    """Its code, day, time attached, area, counter and official (full name)."""
    official = d.dossier.official
    return (d.dossier.code, d.ticket.day, f"{report.local(d.dossier.at):%H:%M}",
            next((a.name for a in report.center.areas if a.id == d.ticket.area), d.ticket.area),
            next((c.name for c in report.center.counters if c.id == d.dossier.counter_id), d.dossier.counter_id),
            NOBODY if official is None else report.officials.names.get(official, official))


def _level_of(d: ReceivedDossier) -> str | None:
    return None if d.citizen.rating is None else level_name(d.citizen.rating)


def _criteria(report: Report) -> Sheet:
    """Per criterion a phone asked (issue 19): the citizens' ratings of it by level, and the share satisfied or
    better, judged as the overall rating is."""
    levels = report.center.levels
    satisfied = report.center.satisfied_levels
    rows: list[tuple[Cell, ...]] = []
    for criterion in report.criteria():
        counts = Counter(level for person in report.people for name, level in person.criteria if name == criterion)
        rated = sum(counts.values())
        rows.append((CRITERIA_LABELS.get(criterion, criterion), *(counts[level] for level in levels), rated,
                     _share(sum(counts[level] for level in satisfied) / rated if rated else None)))
    return Sheet("Tiêu chí đánh giá", "tieu-chi-danh-gia", ("Tiêu chí", *level_names(levels), RATED, SATISFIED),
                 rows)


def level_name(level: str) -> str:
    """The Vietnamese name of a usual rating level; a center's own level shows by its id."""
    return RATING_LABELS.get(level, level)


def level_names(levels: Sequence[str]) -> list[str]:
    return [level_name(level) for level in levels]
