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

from central_server.domain.areas import service_day
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

    def window(self, start: datetime | None, created_at: datetime) -> tuple[datetime, datetime]:
        """When the holder of a booking made now may check in on time (kept with the booking: a later change of the
        rules never moves a window a citizen was told)."""
        if start is None:
            return created_at, created_at + timedelta(minutes=self.remote_min)
        return start - timedelta(minutes=self.early_min), start + timedelta(minutes=self.late_min)


@dataclass(slots=True)
class Booking:
    code: str
    day: date  # the service day of its slot (of its taking, for a remote number)
    area: str
    channel: Channel  # BOOKED or REMOTE
    created_at: datetime
    start: datetime | None  # the slot (None: a remote number)
    end: datetime | None
    opens: datetime  # when its holder may check in on time, as the citizen was told
    closes: datetime
    person: str | None  # the keyed hash of the CCCD (`identity.person_key`); erased after the retention
    tail: str | None  # the CCCD's last 4 digits, which the official compares with the card; erased with `person`
    phone: str | None  # for the notices; erased once the day is over, or the booking cancelled
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


@dataclass(frozen=True, slots=True)
class Person:
    """Who books: the keyed hash of the CCCD (all the limits need), its last 4 digits and the phone."""

    key: str
    tail: str
    phone: str


UNKNOWN_VI = ("Không tìm thấy lịch hẹn với mã này. Vui lòng kiểm tra lại mã trong tin nhắn hoặc trên trang đặt lịch, "
              "hoặc liên hệ cán bộ hướng dẫn.")
BAD_CODE_VI = "Mã đặt lịch không đúng: có chữ số bị gõ nhầm. Vui lòng kiểm tra và nhập lại mã."
CODE_TRIES = 50  # codes drawn before giving up (with a few thousand active among 10^7, one is nearly always enough)
# Bookings one person may cancel a day, beyond which booking again waits for the next day: a cycle of booking and
# cancelling would otherwise store rows and send notices without end.
CANCELS_PER_PERSON_PER_DAY = 3


class Book:
    """The bookings of today and of the days ahead: what they take of each slot, each person's, and what becomes
    of them at the kiosk. Every operation checks everything before it changes anything; what it changed is taken
    by `take_changes` for storage.

    Indexed by day and area, and by person and day, so that a look-up of free slots costs the bookings of that day
    and area, not all of them; cancelled bookings stay only in the person's index (they count against cancelling
    again) and under their code (a look-up by its holder says it was cancelled)."""

    def __init__(self, rules: BookingRules, zone: tzinfo, day_starts: time, random_below: Callable[[int], int]) -> None:
        self.rules = rules
        self.zone = zone
        self.day_starts = day_starts
        self._random_below = random_below
        self._by_code: dict[str, Booking] = {}
        self._by_place: dict[tuple[date, str], list[Booking]] = {}  # (day, area) -> its active bookings
        self._by_person: dict[tuple[str, date], list[Booking]] = {}  # (person, day) -> theirs, cancelled too
        self._changed: dict[str, Booking] = {}

    def restore(self, bookings: Iterable[Booking]) -> None:
        """Become what storage holds (today's bookings and those ahead)."""
        self._by_code, self._by_place, self._by_person, self._changed = {}, {}, {}, {}
        for booking in bookings:
            self._index(booking)

    def _index(self, booking: Booking) -> None:
        self._by_code[booking.code] = booking
        if booking.active:
            self._by_place.setdefault((booking.day, booking.area), []).append(booking)
        if booking.person is not None:
            self._by_person.setdefault((booking.person, booking.day), []).append(booking)

    def take_changes(self) -> list[Booking]:
        changed, self._changed = list(self._changed.values()), {}
        return changed

    def __len__(self) -> int:
        return len(self._by_code)

    def day_of(self, moment: datetime) -> date:
        return service_day(moment, self.zone, self.day_starts)

    # --- what is free ------------------------------------------------------------------------

    def free_slots(self, area: BookableArea, day: date, now: datetime) -> list[tuple[Slot, int]]:
        """The day's slots of the area that have not begun, each with its places still free (none past the days
        that may be booked)."""
        if area.capacity <= 0 or not self._bookable_day(day, now):
            return []
        taken = [(b.start, b.end) for b in self._by_place.get((day, area.id), ())
                 if b.start is not None and b.end is not None]
        found = []
        for slot in slots(area.hours, day, self.rules.slot_min, self.zone):
            if slot.start <= now:
                continue
            used = sum(1 for start, end in taken if start < slot.end and slot.start < end)
            found.append((slot, max(0, area.capacity - used)))
        return found

    def _bookable_day(self, day: date, now: datetime) -> bool:
        today = self.day_of(now)
        return today <= day <= today + timedelta(days=self.rules.days_ahead)

    def free_days(self, area: BookableArea, now: datetime) -> list[tuple[date, int]]:
        """Today and the days ahead that have slots not yet begun, each with its free places."""
        today = self.day_of(now)
        found = [(day, self.free_slots(area, day, now))
                 for day in (today + timedelta(days=n) for n in range(self.rules.days_ahead + 1))]
        return [(day, sum(free for _slot, free in offered)) for day, offered in found if offered]

    def remote_free(self, area_id: str, today: date) -> int:
        if not self.rules.remote:
            return 0
        taken = sum(1 for b in self._by_place.get((today, area_id), ()) if b.channel is Channel.REMOTE)
        return max(0, self.rules.remote_per_area - taken)

    # --- booking and cancelling ----------------------------------------------------------------

    def book(self, area: BookableArea, start: datetime, person: Person, now: datetime) -> Booking:
        """Book the area's slot beginning at `start`."""
        if not now <= start <= now + timedelta(days=self.rules.days_ahead + 1):
            raise DomainError("slot_unavailable", f"Chỉ đặt lịch được từ hôm nay đến {self.rules.days_ahead} ngày tới.")
        day = self.day_of(start)
        offered = {slot.start: (slot, free) for slot, free in self.free_slots(area, day, now)}
        if start not in offered:
            raise DomainError("slot_unavailable", "Khung giờ này không nhận đặt lịch (đã qua hoặc ngoài giờ làm việc). "
                                                  "Vui lòng chọn khung giờ khác.")
        slot, free = offered[start]
        if free <= 0:
            raise DomainError("slot_full", "Khung giờ này đã hết chỗ. Vui lòng chọn khung giờ khác.")
        self._check_person(person.key, day, area)
        opens, closes = self.rules.window(slot.start, now)
        return self._add(Booking(self._new_code(), day, area.id, Channel.BOOKED, now, slot.start, slot.end, opens,
                                 closes, person.key, person.tail, person.phone))

    def take_remote(self, area: BookableArea, person: Person, now: datetime) -> Booking:
        """A remote number for today (the caller has checked that the area gives numbers now)."""
        today = self.day_of(now)
        if not self.rules.remote:
            raise DomainError("remote_off", "Trung tâm chưa cấp số từ xa. Mời Ông/Bà đặt lịch hẹn hoặc lấy số tại "
                                            "ki-ốt.")
        if self.remote_free(area.id, today) <= 0:
            raise DomainError("remote_full", f"Lĩnh vực {area.name} đã hết số từ xa hôm nay. Mời Ông/Bà đặt lịch hẹn "
                                             "hoặc lấy số tại ki-ốt.")
        self._check_person(person.key, today, area)
        opens, closes = self.rules.window(None, now)
        return self._add(Booking(self._new_code(), today, area.id, Channel.REMOTE, now, None, None, opens, closes,
                                 person.key, person.tail, person.phone))

    def _check_person(self, person: str, day: date, area: BookableArea) -> None:
        theirs = self._by_person.get((person, day), [])
        held = [b for b in theirs if b.active]
        if len(held) >= self.rules.per_person_per_day:
            raise DomainError("person_limit", f"Mỗi công dân được đặt tối đa {self.rules.per_person_per_day} lịch "
                                              f"hẹn hoặc số từ xa trong một ngày; ngày {day:%d/%m/%Y} Ông/Bà đã đủ.")
        if sum(1 for b in held if b.area == area.id) >= self.rules.per_person_per_area:
            raise DomainError("person_limit", f"Mỗi công dân được đặt tối đa {self.rules.per_person_per_area} lịch "
                                              f"hẹn hoặc số từ xa cho lĩnh vực {area.name} trong một ngày; ngày "
                                              f"{day:%d/%m/%Y} Ông/Bà đã đủ.")
        if len(theirs) - len(held) >= CANCELS_PER_PERSON_PER_DAY:
            raise DomainError("person_limit", f"Ông/Bà đã huỷ {CANCELS_PER_PERSON_PER_DAY} lịch hẹn của ngày "
                                              f"{day:%d/%m/%Y}; không đặt thêm được cho ngày này.")

    def _new_code(self) -> str:
        for _ in range(CODE_TRIES):
            code = new_code(self._random_below)
            if code not in self._by_code:
                return code
        raise DomainError("busy", "Hệ thống đang bận, vui lòng thử lại sau.")

    def _add(self, booking: Booking) -> Booking:
        self._index(booking)
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
        self._by_place[(booking.day, booking.area)].remove(booking)  # its place is free
        booking.phone = None  # nothing more is sent to it
        return booking

    def _set(self, booking: Booking, state: BookingState, now: datetime) -> None:
        booking.state, booking.changed_at = state, now
        self._changed[booking.code] = booking

    # --- at the kiosk ----------------------------------------------------------------------------

    def arrive(self, code: str, now: datetime) -> tuple[Booking, Arrival]:
        """What a check-in with `code` becomes now (refused: a DomainError in Vietnamese). Changes nothing: the
        caller issues the ticket, then `checked_in`."""
        booking = self.find(code)
        if booking.state is BookingState.CANCELLED:
            raise DomainError("booking_cancelled", "Lịch hẹn này đã được huỷ. Mời công dân lấy số thường.")
        if booking.ticket_id is not None:
            raise DomainError("already_checked_in", "Mã này đã được dùng để lấy số.")
        today = self.day_of(now)
        if booking.day != today:
            raise DomainError("not_today", f"Lịch hẹn của Ông/Bà là ngày {booking.day:%d/%m/%Y}, không phải hôm nay.")
        if now < booking.opens:
            if self.rules.too_early == "refuse":
                raise DomainError("too_early", f"Ông/Bà đến sớm hơn giờ hẹn. Mời quay lại ki-ốt từ "
                                               f"{booking.opens.astimezone(self.zone):%H:%M} để lấy phiếu.")
            return booking, Arrival.EARLY
        if now > booking.closes or booking.state is BookingState.NO_SHOW:
            if self.rules.too_late == "refuse":
                raise DomainError("too_late", f"Đã quá giờ nhận phiếu của lịch hẹn (đến "
                                              f"{booking.closes.astimezone(self.zone):%H:%M}). Mời Ông/Bà lấy số "
                                              "thường.")
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
        """Today's bookings whose window ended with nobody checked in: no-shows (a booking of a later day cannot
        have ended yet)."""
        today = self.day_of(now)
        gone = [b for (day, _area), held in self._by_place.items() if day == today for b in held
                if b.state is BookingState.BOOKED and now > b.closes]
        for booking in gone:
            self._set(booking, BookingState.NO_SHOW, now)
        return gone

    def reminders(self, now: datetime) -> list[Booking]:
        """The bookings to remind now (once each): not checked in, their slot within `remind_min` (today's and the
        next day's: a reminder is at most a day ahead)."""
        if not self.rules.remind_min:
            return []
        ahead = timedelta(minutes=self.rules.remind_min)
        near = (self.day_of(now), self.day_of(now) + timedelta(days=1))
        due = [b for (day, _area), held in self._by_place.items() if day in near for b in held
               if b.state is BookingState.BOOKED and not b.reminded and b.phone is not None and b.start is not None
               and b.start - ahead <= now < b.start
               and b.created_at < b.start - ahead]  # booked well before: the confirmation says it all otherwise
        for booking in due:
            booking.reminded = True
            self._changed[booking.code] = booking
        return due

    def new_day(self, today: date) -> None:
        """The earlier days' bookings leave memory: storage makes those nobody checked in no-shows and erases their
        phones (`Batch.close_before`), also for days this server did not see end."""
        for booking in [b for b in self._by_code.values() if b.day < today]:
            del self._by_code[booking.code]
        for place in [place for place in self._by_place if place[0] < today]:
            del self._by_place[place]
        for whose in [whose for whose in self._by_person if whose[1] < today]:
            del self._by_person[whose]
