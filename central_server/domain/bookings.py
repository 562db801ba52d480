"""Appointments (issue 18): the slots a center offers on a day, and the booking codes a citizen types at the kiosk.

A slot is a stretch of one of the day's sessions, `slot_min` long; the last one ends where tickets stop being
given (the session's end, less the last-ticket cut-off), so a citizen booked in it is still served that session.
A booking's code (`protocol/booking_code.py`) is what the citizen types or scans at the kiosk.

Pure: no I/O (the random digits come from the caller).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from central_server.domain.errors import DomainError
from protocol.booking_code import code_ok, new_code
from protocol.hours import Hours


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    start: datetime
    end: datetime


def slots(hours: Hours, day: date, slot_min: int, zone: tzinfo) -> list[Slot]:
    """The day's slots, in order: none on a closed day or date."""
    found = []
    step = timedelta(minutes=slot_min)
    for session in hours.sessions_on(day):
        start = datetime.combine(day, session.start, zone)
        end = (datetime.combine(day + timedelta(days=1), time(0), zone) if session.end == time.max
               else datetime.combine(day, session.end, zone)) - timedelta(minutes=hours.last_ticket_min)
        while start + step <= end:
            found.append(Slot(start, start + step))
            start += step
    return found


class Channel(StrEnum):
    """How a ticket came."""

    WALK_IN = "walk_in"  # taken at the kiosk
    BOOKED = "booked"  # a slot booked ahead, checked in at the kiosk
    REMOTE = "remote"  # a number for today taken from the phone, checked in at the kiosk


class BookingState(StrEnum):
    BOOKED = "booked"  # not checked in yet
    CHECKED_IN = "checked_in"  # its ticket was printed at the kiosk
    CANCELLED = "cancelled"  # by its holder
    NO_SHOW = "no_show"  # not checked in by the end of its window
    LATE = "late"  # checked in after its window: the center made it a walk-in ticket


class Arrival(StrEnum):
    """What a check-in at the kiosk becomes."""

    ON_TIME = "on_time"  # within the window: called from its slot ahead of walk-ins (a remote number: by its time)
    EARLY = "early"  # before the window, and the center lets it wait: called from its slot all the same
    LATE = "late"  # after the window, and the center makes it a walk-in ticket


@dataclass(frozen=True, slots=True)
class BookingRules:
    """The center config's [bookings]."""

    slot_min: int = 30
    capacity: int = 2  # bookings per slot of an area, unless the area sets its own `booking_capacity`
    days_ahead: int = 14  # from tomorrow: today's remaining slots may be booked too
    per_person_per_day: int = 2
    per_person_per_area: int = 1  # a day
    early_min: int = 30  # a booked citizen checks in from this long before the slot's start
    late_min: int = 15  # ... to this long after it
    too_early: str = "wait"  # or "refuse": come back when the window opens
    too_late: str = "walk_in"  # or "refuse": take an ordinary ticket
    share_percent: int = 50  # of a counter's calls when both due bookings and walk-ins wait, the bookings' share
    retention_days: int = 30  # the keyed hash of a CCCD is erased this many days after the booking's day
    remind_min: int = 120  # a reminder this long before the slot (0: none)
    remote: bool = False  # remote numbers for today
    remote_per_area: int = 50  # a day
    remote_min: int = 60  # a remote number counts when checked in within this long after it was taken

    def window(self, booking: Booking) -> tuple[datetime, datetime]:
        """When the booking's holder may check in on time."""
        if booking.start is None:
            return booking.created_at, booking.created_at + timedelta(minutes=self.remote_min)
        return booking.start - timedelta(minutes=self.early_min), booking.start + timedelta(minutes=self.late_min)


@dataclass(slots=True)
class Booking:
    code: str
    day: date
    area: str
    channel: Channel  # BOOKED or REMOTE
    created_at: datetime
    start: datetime | None  # the slot (None: a remote number)
    end: datetime | None
    person: str | None  # the keyed hash of the CCCD (`identity.person_key`); erased after the retention
    phone: str | None  # for the notices; erased once the day is over
    state: BookingState = BookingState.BOOKED
    changed_at: datetime | None = None  # when its state last changed
    ticket_id: str | None = None  # its ticket, once checked in
    reminded: bool = False

    @property
    def active(self) -> bool:
        """It still takes a place (and counts against its holder's limits): anything but cancelled."""
        return self.state is not BookingState.CANCELLED


@dataclass(frozen=True, slots=True)
class BookableArea:
    """What the book needs of an area: its id and name, its opening hours (its own, else the center's) and how
    many bookings a slot takes (0: none)."""

    id: str
    name: str
    hours: Hours
    capacity: int


UNKNOWN_VI = ("Không tìm thấy lịch hẹn với mã này. Vui lòng kiểm tra lại mã trong tin nhắn hoặc trên trang đặt lịch, "
              "hoặc liên hệ cán bộ hướng dẫn.")
BAD_CODE_VI = "Mã đặt lịch có một chữ số bị gõ nhầm. Vui lòng kiểm tra và nhập lại mã."
CODE_TRIES = 50  # codes drawn before giving up (with a few thousand active among 10^7, one is nearly always enough)


class Book:
    """The bookings of today and of the days ahead: what they take of each slot, each person's, and what becomes
    of them at the kiosk. Every operation checks everything before it changes anything; what it changed is taken
    by `take_changes` for storage."""

    def __init__(self, rules: BookingRules, zone: tzinfo, random_below: Callable[[int], int]) -> None:
        self.rules = rules
        self.zone = zone
        self._random_below = random_below
        self._by_code: dict[str, Booking] = {}
        self._changed: dict[str, Booking] = {}

    def restore(self, bookings: Iterable[Booking]) -> None:
        """Become what storage holds (today's bookings and those ahead)."""
        self._by_code = {b.code: b for b in bookings}
        self._changed = {}

    def take_changes(self) -> list[Booking]:
        changed, self._changed = list(self._changed.values()), {}
        return changed

    def __len__(self) -> int:
        return len(self._by_code)

    def bookings(self) -> list[Booking]:
        return list(self._by_code.values())

    # --- what is free ------------------------------------------------------------------------

    def free_slots(self, area: BookableArea, day: date, now: datetime) -> list[tuple[Slot, int]]:
        """The day's slots of the area that have not begun, each with its places still free."""
        if area.capacity <= 0:
            return []
        taken = [(b.start, b.end) for b in self._by_code.values() if b.area == area.id and b.day == day and b.active
                 and b.start is not None and b.end is not None]
        found = []
        for slot in slots(area.hours, day, self.rules.slot_min, self.zone):
            if slot.start <= now:
                continue
            used = sum(1 for start, end in taken if start < slot.end and slot.start < end)
            found.append((slot, max(0, area.capacity - used)))
        return found

    def free_days(self, area: BookableArea, today: date, now: datetime) -> list[tuple[date, int]]:
        """Today and the days ahead that have slots, each with its free places."""
        days = (today + timedelta(days=n) for n in range(self.rules.days_ahead + 1))
        found = [(day, sum(free for _slot, free in self.free_slots(area, day, now))) for day in days]
        return [(day, free) for day, free in found if area.capacity > 0 and self._has_slots(area, day, now)]

    def _has_slots(self, area: BookableArea, day: date, now: datetime) -> bool:
        return any(slot.start > now for slot in slots(area.hours, day, self.rules.slot_min, self.zone))

    def remote_free(self, area_id: str, today: date) -> int:
        if not self.rules.remote:
            return 0
        taken = sum(1 for b in self._by_code.values()
                    if b.area == area_id and b.day == today and b.channel is Channel.REMOTE and b.active)
        return max(0, self.rules.remote_per_area - taken)

    # --- booking and cancelling ----------------------------------------------------------------

    def book(self, area: BookableArea, start: datetime, person: str, phone: str, now: datetime,
             today: date) -> Booking:
        """Book the area's slot beginning at `start` for `person` (a keyed hash)."""
        day = start.astimezone(self.zone).date()
        if not today <= day <= today + timedelta(days=self.rules.days_ahead):
            raise DomainError("slot_unavailable", f"Chỉ đặt lịch được từ hôm nay đến {self.rules.days_ahead} ngày tới.")
        offered = {slot.start: (slot, free) for slot, free in self.free_slots(area, day, now)}
        if start not in offered:
            raise DomainError("slot_unavailable", "Khung giờ này không nhận đặt lịch (đã qua hoặc ngoài giờ làm việc). "
                                                  "Vui lòng chọn khung giờ khác.")
        slot, free = offered[start]
        if free <= 0:
            raise DomainError("slot_full", "Khung giờ này đã hết chỗ. Vui lòng chọn khung giờ khác.")
        self._check_person(person, day, area)
        return self._add(Booking(self._new_code(), day, area.id, Channel.BOOKED, now, slot.start, slot.end, person,
                                 phone))

    def take_remote(self, area: BookableArea, person: str, phone: str, now: datetime, today: date) -> Booking:
        """A remote number for today (the caller has checked that the area gives numbers now)."""
        if not self.rules.remote:
            raise DomainError("remote_off", "Trung tâm chưa cấp số từ xa. Mời Ông/Bà đặt lịch hẹn hoặc lấy số tại "
                                            "ki-ốt.")
        if self.remote_free(area.id, today) <= 0:
            raise DomainError("remote_full", f"Lĩnh vực {area.name} đã hết số từ xa hôm nay. Mời Ông/Bà đặt lịch hẹn "
                                             "hoặc lấy số tại ki-ốt.")
        self._check_person(person, today, area)
        return self._add(Booking(self._new_code(), today, area.id, Channel.REMOTE, now, None, None, person, phone))

    def _check_person(self, person: str, day: date, area: BookableArea) -> None:
        held = [b for b in self._by_code.values() if b.person == person and b.day == day and b.active]
        if len(held) >= self.rules.per_person_per_day:
            raise DomainError("person_limit", f"Mỗi công dân được đặt tối đa {self.rules.per_person_per_day} lịch "
                                              f"hẹn hoặc số từ xa trong một ngày; ngày {day:%d/%m/%Y} Ông/Bà đã đủ.")
        if sum(1 for b in held if b.area == area.id) >= self.rules.per_person_per_area:
            raise DomainError("person_limit", f"Mỗi công dân được đặt tối đa {self.rules.per_person_per_area} lịch "
                                              f"hẹn hoặc số từ xa cho lĩnh vực {area.name} trong một ngày; ngày "
                                              f"{day:%d/%m/%Y} Ông/Bà đã đủ.")

    def _new_code(self) -> str:
        for _ in range(CODE_TRIES):
            code = new_code(self._random_below)
            if code not in self._by_code:
                return code
        raise DomainError("busy", "Hệ thống đang bận, vui lòng thử lại sau.")

    def _add(self, booking: Booking) -> Booking:
        self._by_code[booking.code] = booking
        self._changed[booking.code] = booking
        return booking

    def owned(self, code: str, person: str) -> Booking:
        """The booking of `code` made with this CCCD; another's is answered as unknown (nothing to learn)."""
        booking = self.find(code)
        if booking.person != person:
            raise DomainError("unknown_booking", UNKNOWN_VI)
        return booking

    def find(self, code: str) -> Booking:
        if not code_ok(code):
            raise DomainError("bad_code", BAD_CODE_VI)
        booking = self._by_code.get(code)
        if booking is None:
            raise DomainError("unknown_booking", UNKNOWN_VI)
        return booking

    def cancel(self, code: str, person: str, now: datetime) -> Booking:
        booking = self.owned(code, person)
        if booking.state is BookingState.CANCELLED:
            return booking
        if booking.state is not BookingState.BOOKED:
            raise DomainError("not_cancellable", "Lịch hẹn này đã được sử dụng hoặc đã hết hạn, không huỷ được nữa.")
        self._set(booking, BookingState.CANCELLED, now)
        return booking

    def _set(self, booking: Booking, state: BookingState, now: datetime) -> None:
        booking.state, booking.changed_at = state, now
        self._changed[booking.code] = booking

    # --- at the kiosk ----------------------------------------------------------------------------

    def arrive(self, code: str, now: datetime, today: date) -> tuple[Booking, Arrival]:
        """What a check-in with `code` becomes now (refused: a DomainError in Vietnamese). Changes nothing: the
        caller issues the ticket, then `checked_in`."""
        booking = self.find(code)
        if booking.state is BookingState.CANCELLED:
            raise DomainError("booking_cancelled", "Lịch hẹn này đã được huỷ. Mời công dân lấy số thường.")
        if booking.ticket_id is not None:
            raise DomainError("already_checked_in", "Mã này đã được dùng để lấy số.")
        if booking.day != today:
            when = "đã qua" if booking.day < today else "chưa đến"
            raise DomainError("not_today", f"Lịch hẹn của Ông/Bà là ngày {booking.day:%d/%m/%Y} ({when}), không phải "
                                           "hôm nay.")
        opens, closes = self.rules.window(booking)
        if now < opens:
            if self.rules.too_early == "refuse":
                raise DomainError("too_early", f"Ông/Bà đến sớm hơn giờ hẹn. Mời quay lại ki-ốt từ "
                                               f"{opens.astimezone(self.zone):%H:%M}.")
            return booking, Arrival.EARLY
        if now > closes or booking.state is BookingState.NO_SHOW:
            if self.rules.too_late == "refuse":
                raise DomainError("too_late", f"Đã quá giờ làm thủ tục của lịch hẹn (đến "
                                              f"{closes.astimezone(self.zone):%H:%M}). Mời Ông/Bà lấy số thường.")
            return booking, Arrival.LATE
        return booking, Arrival.ON_TIME

    def checked_in(self, booking: Booking, arrival: Arrival, ticket_id: str, now: datetime) -> None:
        booking.ticket_id = ticket_id
        self._set(booking, BookingState.LATE if arrival is Arrival.LATE else BookingState.CHECKED_IN, now)

    def release(self, code: str, ticket_id: str, now: datetime) -> None:
        """The ticket its check-in made was voided (never printed, a manager's void): the booking may check in
        again (a no-show, once its window has passed)."""
        booking = self._by_code.get(code)
        if booking is not None and booking.ticket_id == ticket_id:
            booking.ticket_id = None
            self._set(booking, BookingState.BOOKED, now)

    # --- as time passes ----------------------------------------------------------------------------

    def expire(self, now: datetime) -> list[Booking]:
        """The bookings whose window ended with nobody checked in: no-shows."""
        gone = [b for b in self._by_code.values()
                if b.state is BookingState.BOOKED and now > self.rules.window(b)[1]]
        for booking in gone:
            self._set(booking, BookingState.NO_SHOW, now)
        return gone

    def reminders(self, now: datetime) -> list[Booking]:
        """The bookings to remind now (once each): not checked in, their slot within `remind_min`."""
        if not self.rules.remind_min:
            return []
        ahead = timedelta(minutes=self.rules.remind_min)
        due = [b for b in self._by_code.values() if b.state is BookingState.BOOKED and not b.reminded
               and b.phone is not None and b.start is not None and b.start - ahead <= now < b.start
               and b.created_at < b.start - ahead]  # booked well before: the confirmation says it all otherwise
        for booking in due:
            booking.reminded = True
            self._changed[booking.code] = booking
        return due

    def new_day(self, today: date) -> None:
        """The earlier days' bookings leave memory (storage keeps them): those nobody checked in are no-shows (the
        server may have been down when their window ended), and their phone numbers are erased."""
        for booking in [b for b in self._by_code.values() if b.day < today]:
            if booking.state is BookingState.BOOKED:
                self._set(booking, BookingState.NO_SHOW, self.rules.window(booking)[1])
            if booking.phone is not None:
                booking.phone = None
                self._changed[booking.code] = booking
            del self._by_code[booking.code]
