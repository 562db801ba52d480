"""Opening hours: the sessions of each weekday, the dates a center is closed, the last-ticket cut-off.

Shared by the server (which refuses tickets outside them) and the kiosk (which shows them). Pure. On
the wire (the retained `config`, an extension of the contract) hours are
`{"week": [[["07:30", "11:30"], ["13:30", "17:00"]], ... seven days, Monday first],
"closed_dates": ["2027-02-16", ...], "last_ticket_min": 15}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from protocol.errors import BadMessage

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")  # in a sentence
HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")  # a time of day, 24 h
_END = re.compile(rf"{HH_MM.pattern}|24:00")  # a session may end at midnight
SESSION = re.compile(rf"(?P<start>{HH_MM.pattern})-(?P<end>{_END.pattern})")
LOOK_AHEAD_DAYS = 21  # how far the next opening is looked for (Tết closes a center for about a week)


@dataclass(frozen=True, slots=True, order=True)
class Session:
    """One opening period of a day, e.g. 07:30–11:30."""

    start: time
    end: time  # time.max stands for 24:00

    def __str__(self) -> str:
        return f"{spoken(self.start)}–{spoken(self.end)}"


class Closed(StrEnum):
    """Why no ticket is given now."""

    OUTSIDE_HOURS = "outside_hours"  # a closed day, before opening, the noon break, after closing
    LAST_TICKET_PASSED = "last_ticket_passed"  # within the last minutes of a session


@dataclass(frozen=True, slots=True)
class Hours:
    week: tuple[tuple[Session, ...], ...]  # seven days, Monday first; no session: closed that day
    closed_dates: frozenset[date] = field(default_factory=frozenset)
    last_ticket_min: int = 0  # no ticket in the last N minutes of each session

    def closed(self, local: datetime) -> Closed | None:
        """Why no ticket may be given at `local` (the center's local time), or None when it may."""
        for session in self.sessions_on(local.date()):
            start, end = _at(local.date(), session.start, local), _at(local.date(), session.end, local)
            if start <= local < end:
                if local >= end - timedelta(minutes=self.last_ticket_min):
                    return Closed.LAST_TICKET_PASSED
                return None
        return Closed.OUTSIDE_HOURS

    def next_opening(self, local: datetime) -> datetime | None:
        """The next moment tickets are given, after `local` (within three weeks), or None."""
        for offset in range(LOOK_AHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            for session in self.sessions_on(day):
                start = _at(day, session.start, local)
                end = _at(day, session.end, local) - timedelta(minutes=self.last_ticket_min)
                if start > local and start < end:
                    return start
        return None

    def sessions_on(self, day: date) -> tuple[Session, ...]:
        """The sessions of `day`: none on a closed date."""
        return () if day in self.closed_dates else self.week[day.weekday()]

    def describe(self) -> str:
        """The week in Vietnamese: "từ thứ Hai đến thứ Sáu, 7h30–11h30 và 13h30–17h00; thứ Bảy, 7h30–11h30"."""
        parts: list[str] = []
        index = 0
        while index < 7:
            sessions = self.week[index]
            last = index
            while last + 1 < 7 and self.week[last + 1] == sessions:
                last += 1
            if sessions:
                days = (WEEKDAY_NAMES[index] if last == index else "hằng ngày" if last - index == 6
                        else f"từ {WEEKDAY_NAMES[index]} đến {WEEKDAY_NAMES[last]}")
                times = [str(s) for s in sessions]
                spoken_times = times[0] if len(times) == 1 else f"{', '.join(times[:-1])} và {times[-1]}"
                parts.append(f"{days}, {spoken_times}")
            index = last + 1
        return "; ".join(parts) or "không có buổi làm việc nào"

    def refusal(self, local: datetime, why: Closed, area_name: str | None = None) -> str:
        """Why no ticket now and when to come back, in Vietnamese; `area_name` when these are an area's hours."""
        opening = self.next_opening(local)
        back = "" if opening is None else f" Mời công dân quay lại lúc {when_text(opening, local)}."
        subject = f"Lĩnh vực {area_name}" if area_name else "Bộ phận"
        if why is Closed.LAST_TICKET_PASSED:
            session = next(s for s in self.sessions_on(local.date())
                           if _at(local.date(), s.start, local) <= local < _at(local.date(), s.end, local))
            last = _at(local.date(), session.end, local) - timedelta(minutes=self.last_ticket_min)
            return (f"{subject} đã hết giờ nhận phiếu {part_of_day(session)} "
                    f"(nhận phiếu đến {spoken(last.time())}).{back}")
        return f"{subject} đang ngoài giờ tiếp nhận hồ sơ.{back} Giờ tiếp nhận: {self.describe()}."

    def to_body(self) -> dict[str, Any]:
        return {"week": [[[_text(s.start), _text(s.end)] for s in day] for day in self.week],
                "closed_dates": sorted(d.isoformat() for d in self.closed_dates),
                "last_ticket_min": self.last_ticket_min}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Hours:
        week = body.get("week")
        if type(week) is not list or len(week) != 7:
            raise BadMessage("bad_request", "hours: 'week' must list seven days")
        days = tuple(tuple(_session_of(s) for s in _list(day)) for day in week)
        dates = body.get("closed_dates", [])
        minutes = body.get("last_ticket_min", 0)
        if type(minutes) is not int or minutes < 0:
            raise BadMessage("bad_request", "hours: 'last_ticket_min' must be a whole number of minutes")
        try:
            closed = frozenset(date.fromisoformat(d) for d in _list(dates) if type(d) is str)
        except ValueError:
            raise BadMessage("bad_request", "hours: 'closed_dates' must list YYYY-MM-DD dates") from None
        return cls(days, closed, minutes)


def hours_of(area: Hours | None, center: Hours | None) -> Hours | None:
    """The hours an area keeps, on the server and the kiosk alike: its own (the center config gives them the
    center's closed dates and cut-off), else the center's; None: tickets at any time."""
    return area if area is not None else center


def parse_sessions(values: Sequence[str]) -> tuple[Session, ...]:
    """"07:30-11:30" strings as sessions, sorted; ValueError names the first that is wrong or overlaps."""
    sessions = []
    for value in values:
        match = SESSION.fullmatch(value.replace("–", "-").replace(" ", ""))
        if match is None:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM")
        start, end = _clock(match["start"]), _clock(match["end"])
        if end <= start:
            raise ValueError(f"{value!r} ends before it starts")
        sessions.append(Session(start, end))
    sessions.sort()
    for one, after in pairwise(sessions):
        if after.start < one.end:
            raise ValueError(f"{after} overlaps {one}")
    return tuple(sessions)


def part_of_day(session: Session) -> str:
    """"buổi sáng", "buổi chiều", "buổi tối" or, for a session across them, "buổi này"."""
    if session.end <= time(12, 30):
        return "buổi sáng"
    if session.start >= time(17, 30):
        return "buổi tối"
    if session.start >= time(12, 0) and session.end <= time(19, 0):
        return "buổi chiều"
    return "buổi này"


def spoken(moment: time) -> str:
    """7h30, 13h00, 24h00: how hours are written in Vietnamese notices."""
    return "24h00" if moment == time.max else f"{moment.hour}h{moment.minute:02d}"


def when_text(moment: datetime, now: datetime) -> str:
    """"13h30", "7h30 ngày mai", "7h30 Thứ Hai, 07/12/2026"."""
    days = (moment.date() - now.date()).days
    if days == 0:
        return spoken(moment.time())
    if days == 1:
        return f"{spoken(moment.time())} ngày mai"
    return f"{spoken(moment.time())} {WEEKDAY_NAMES[moment.weekday()]}, {moment:%d/%m/%Y}"


def _at(day: date, moment: time, like: datetime) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), like.tzinfo)
    return datetime.combine(day, moment, like.tzinfo)


def _clock(text: str) -> time:
    if text == "24:00":
        return time.max
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _text(moment: time) -> str:
    return "24:00" if moment == time.max else f"{moment:%H:%M}"


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise BadMessage("bad_request", "hours: expected a list")
    return value


def _session_of(value: Any) -> Session:
    pair = _list(value)
    if len(pair) != 2 or not all(type(p) is str and _END.fullmatch(p) for p in pair):
        raise BadMessage("bad_request", "hours: a session is [\"HH:MM\", \"HH:MM\"]")
    start, end = _clock(pair[0]), _clock(pair[1])
    if end <= start:
        raise BadMessage("bad_request", "hours: a session ends before it starts")
    return Session(start, end)
