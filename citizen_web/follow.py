"""What a citizen's phone shows of a ticket: pure, no I/O.

A ticket is first learnt from the server by its token (a look-up: `PublicTicket`); afterwards it is followed in
the retained `queue` the server publishes after every change: where it stands among its area's waiting tickets
(its index is how many are called before it), or at which counter it is being called. A ticket that left the
queue (served, missed, moved to another area) is looked up again (`needs_lookup`).

Every text is Vietnamese, in the "Ông/Bà" register, and true: a wait is the server's estimate from the day's
own pace, said as "khoảng", and no estimate is made up when no counter serves the area.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from protocol.messages import (
    PRIORITY_LABELS,
    RATING_LABELS,
    BookingInfo,
    CalledNow,
    PublicRating,
    PublicTicket,
    QueueSnapshot,
)

IN_PLAY = frozenset({"waiting", "called", "serving"})  # a ticket the queue speaks of
NOT_READY_VI = "Trang đang kết nối với trung tâm. Vui lòng thử lại sau giây lát."  # the center's config not come yet


@dataclass(frozen=True, slots=True)
class Names:
    """The center as the retained `config` names it."""

    center: str
    areas: Mapping[str, str]
    counters: Mapping[str, str]
    levels: tuple[str, ...]
    zone: ZoneInfo
    bookings: BookingInfo | None = None  # the center's appointments, when it takes them (issue 18)
    bookable: Mapping[str, str] = field(default_factory=dict)  # the areas that take bookings: id -> name, in order
    remote_areas: Mapping[str, str] = field(default_factory=dict)  # ... that give remote numbers (any open area)
    criteria: tuple[str, ...] = ()  # what a phone's rating asks besides the level, in order (issue 19)


@dataclass(frozen=True, slots=True)
class Queue:
    """The retained `queue`: each area's waiting tickets in call order, and the tickets at a counter now."""

    day: date
    at: datetime  # when it came (made by the server a moment before): its estimates count from then
    made_at: datetime  # when the server made it, on the center's clock: what the page says it is as of
    waiting: Mapping[int, tuple[str, int, int | None]]  # seq -> (area, how many before it, estimated wait s)
    cut: Mapping[str, int]  # area -> how many waiting were left off its list (a day gone wrong)
    lengths: Mapping[str, int]  # area -> how many its list holds
    called: Mapping[int, CalledNow] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: QueueSnapshot, received_at: datetime) -> Queue:
        """`received_at` on this machine's clock, which the countdowns are read on (the server's may differ)."""
        waiting: dict[int, tuple[str, int, int | None]] = {}
        for area, entries in snapshot.waiting.items():
            for ahead, (seq, estimate) in enumerate(entries):
                waiting[seq] = (area, ahead, estimate)
        return cls(snapshot.day, received_at, snapshot.at, waiting, dict(snapshot.truncated),
                   {area: len(entries) for area, entries in snapshot.waiting.items()},
                   {called.seq: called for called in snapshot.called})


def ticket_seq(ticket_id: str) -> tuple[date, int] | None:
    """`20261202-000003` -> (2026-12-02, 3); None for an id of another shape."""
    day, _, seq = ticket_id.partition("-")
    if len(day) != 8 or not day.isdigit() or not seq.isdigit():
        return None
    try:
        return date(int(day[:4]), int(day[4:6]), int(day[6:])), int(seq)
    except ValueError:
        return None


def needs_lookup(ticket: PublicTicket, queue: Queue | None) -> bool:
    """The queue no longer says where a ticket in play is: it was served, missed or moved; ask the server."""
    if queue is None or ticket.state not in IN_PLAY:
        return False
    place = ticket_seq(ticket.id)
    if place is None or place[0] != queue.day:
        return place is not None and place[0] < queue.day
    seq = place[1]
    return seq not in queue.waiting and seq not in queue.called and not queue.cut.get(ticket.area)


def view_of(ticket: PublicTicket, queue: Queue | None, names: Names, now: datetime,
            looked_up_at: datetime) -> dict[str, Any]:
    """The page's content at `now`: the number, the area, and the status box (`before`, `big`, `after`, `notes`),
    with `state` for the page's script (waiting, called, served, missed, voided) and the rating it may give.
    `looked_up_at`: when the server answered the look-up `ticket` is (its estimate counts from then)."""
    number, area, state = ticket.number, ticket.area, ticket.state
    area_name = names.areas.get(area) or ticket.area_name
    view: dict[str, Any] = {
        "number": number, "area_name": area_name, "priority": PRIORITY_LABELS.get(ticket.priority, ""),
        "issued": _clock(ticket.issued_at, names.zone), "ahead": None, "calls": 0, "rating": None,
    }
    if queue is not None:
        view["updated"] = queue.made_at.astimezone(names.zone).strftime("%H:%M:%S")
    place = ticket_seq(ticket.id)
    seq = place[1] if place is not None and queue is not None and place[0] == queue.day else None
    if seq is not None and queue is not None and state in IN_PLAY:
        if seq in queue.waiting:
            area, ahead, estimate = queue.waiting[seq]
            return {**view, **_waiting(ahead, _left(estimate, now - queue.at))}
        if seq in queue.called:
            called = queue.called[seq]
            return {**view, **_called(names.counters.get(called.counter_id, called.counter_id),
                                      _clock(called.called_at, names.zone), called.calls)}
        if queue.cut.get(area):
            return {**view, **_waiting(queue.lengths.get(area, 0), None, beyond=True)}
    if state == "waiting":
        return {**view, **_waiting(ticket.waiting_ahead or 0, _left(ticket.estimated_wait_s, now - looked_up_at))}
    counter = names.counters.get(ticket.counter_id or "", ticket.counter_name or "")
    if state in ("called", "serving"):
        return {**view, **_called(counter, _clock(ticket.called_at, names.zone), ticket.calls or 1)}
    if state == "served":
        return {**view, **_served(counter, ticket.rating, names)}
    if state == "missed":
        return {**view, "state": "missed", "before": f"Số {number} đã được gọi nhưng công dân không có mặt",
                "big": "Đã qua lượt", "after": "",
                "notes": [f"Mời Ông/Bà đến ngay bàn hướng dẫn hoặc quầy phục vụ lĩnh vực {area_name}: cán bộ có "
                          "thể gọi lại số này trong ngày hôm nay."]}
    return {**view, "state": "voided", "before": "", "big": "Phiếu đã huỷ", "after": "",
            "notes": ["Vui lòng liên hệ cán bộ hướng dẫn của trung tâm."]}


def expired_view(day: date) -> dict[str, Any]:
    return ended_view(f"Phiếu này là của ngày {day:%d/%m/%Y}. Mỗi phiếu chỉ dùng được trong ngày cấp.")


def ended_view(note: str) -> dict[str, Any]:
    """A page whose token names no ticket of today any more: `note` says why."""
    return {"state": "expired", "number": "", "area_name": "", "priority": "", "issued": "", "ahead": None,
            "calls": 0, "rating": None, "before": "", "big": "Hết hiệu lực", "after": "", "notes": [note]}


def is_final(view: Mapping[str, Any]) -> bool:
    """Nothing more will change on this page: no ticket any more, or served and its rating given or closed."""
    rating = view.get("rating") or {}
    return view["state"] in ("expired", "voided") or (view["state"] == "served" and not rating.get("open"))


def wait_text(seconds: int) -> str:
    """`seconds` as a person says a wait: "khoảng 12 phút", "khoảng 1 giờ 20 phút"."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"khoảng {minutes} phút"
    hours, rest = divmod(minutes, 60)
    return f"khoảng {hours} giờ {rest} phút" if rest else f"khoảng {hours} giờ"


def _left(estimate_s: int | None, since: timedelta) -> float | None:
    """What is left of an estimate made `since` ago."""
    return None if estimate_s is None else estimate_s - since.total_seconds()


def _waiting(ahead: int, estimate_s: float | None, *, beyond: bool = False) -> dict[str, Any]:
    """`estimate_s`: what is left of the server's estimate (below 0 once it passed)."""
    if beyond:
        return {"state": "waiting", "ahead": ahead, "before": "Trước Ông/Bà còn hơn", "big": f"{ahead}",
                "after": "người đang chờ", "notes": ["Hàng chờ hôm nay rất đông; số người phía trước sẽ hiện khi "
                                                     "Ông/Bà đến gần lượt."]}
    if estimate_s is None:
        note = "Chưa có quầy nào đang phục vụ lĩnh vực này nên chưa ước tính được thời gian chờ."
    elif estimate_s <= 0:
        note = "Đã quá thời gian chờ ước tính: Ông/Bà sắp được gọi, vui lòng chú ý màn hình và loa gọi số."
    elif estimate_s < 60:
        note = "Thời gian chờ ước tính: dưới 1 phút."
    else:
        note = (f"Thời gian chờ ước tính: {wait_text(round(estimate_s))} (theo nhịp làm việc hôm nay, có thể "
                "thay đổi).")
    if ahead == 0:
        return {"state": "waiting", "ahead": 0, "before": "Ông/Bà là người tiếp theo", "big": "Sắp đến lượt",
                "after": "Mời Ông/Bà chú ý màn hình và loa gọi số.", "notes": [note]}
    return {"state": "waiting", "ahead": ahead, "before": "Trước Ông/Bà còn", "big": f"{ahead}",
            "after": "người đang chờ", "notes": [note]}


def _called(counter: str, at: str, calls: int) -> dict[str, Any]:
    again = f" (lần {calls})" if calls > 1 else ""
    return {"state": "called", "calls": calls, "before": "Mời công dân đến", "big": counter or "Quầy",
            "after": f"Gọi lúc {at}{again}", "notes": []}


def _served(counter: str, rating: PublicRating, names: Names) -> dict[str, Any]:
    level = rating.level
    view: dict[str, Any] = {"state": "served", "before": f"Đã phục vụ xong tại {counter}" if counter else
                            "Đã phục vụ xong", "big": "Cảm ơn Ông/Bà", "after": "", "notes": []}
    if level is not None:
        view["notes"] = [f"Ông/Bà đã đánh giá: {RATING_LABELS.get(level, level)}. Trân trọng cảm ơn."]
        view["rating"] = {"open": False, "level": level}
    elif rating.open:
        until = _clock(rating.until, names.zone)
        view["rating"] = {"open": True, "level": None,
                          "levels": [[level_id, RATING_LABELS.get(level_id, level_id)] for level_id in names.levels],
                          "until": until}
        view["notes"] = [f"Mời Ông/Bà đánh giá mức độ hài lòng (đến {until})."]
    else:
        view["rating"] = {"open": False, "level": None}
    return view


def _clock(moment: datetime | None, zone: ZoneInfo) -> str:
    """A time as the center's clock shows it: "09:41"; "" for none."""
    return "" if moment is None else moment.astimezone(zone).strftime("%H:%M")
