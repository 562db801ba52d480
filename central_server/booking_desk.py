"""The service's appointments (issue 18): the citizen web's booking requests, the kiosk's check-in, and what time
does to bookings (no-shows, reminders, the retention of people's data).

The rules are the domain's (`domain/bookings.py`, `Center.check_in`); this is where they meet the wire, the
identity checks and the notifier. Called on the service's one state thread; notices go out only once the batch
that made them is committed (`sent`), and are dropped with a batch that failed (`restore`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from central_server.config import CenterConfig, booking_capacity
from central_server.domain.bookings import Book, BookableArea, Booking, BookingRules, BookingState, Person
from central_server.domain.center import Center, Issued
from central_server.domain.errors import DomainError
from central_server.domain.identity import IdentityRefused, check_cccd, check_phone, person_key
from central_server.domain.tickets import Ticket
from central_server.notify import Notice, Notifier
from central_server.storage.port import IDENTITY_KEY, Storage
from protocol.booking_code import grouped
from protocol.hours import hours_of
from protocol.messages import (
    BookingAnswer,
    BookingView,
    CheckIn,
    FreeDay,
    FreeSlot,
    SlotsAnswer,
    WebBook,
    WebBooking,
    WebSlots,
)

log = logging.getLogger(__name__)

OFF_VI = "Trung tâm chưa nhận đặt lịch hẹn. Mời công dân lấy số tại ki-ốt."
# Notices to one phone a day (a confirmation, a reminder, a cancellation, for a booking or two): a phone typed into
# others' bookings is not flooded with messages.
NOTICES_PER_PHONE = 6
NOT_BOOKABLE_VI = "Lĩnh vực này không nhận đặt lịch hẹn. Mời công dân lấy số tại ki-ốt."


class BookingDesk:
    def __init__(self, config: CenterConfig, storage: Storage, today: date, notifier: Notifier) -> None:
        self._storage = storage
        self._notifier = notifier
        key_file = config.identity_key_file
        self._key = storage.secret(IDENTITY_KEY) if key_file is None else key_file.read_bytes()
        self._notices: list[Notice] = []  # made by this batch: sent once it is committed
        self.config = config
        self.book = Book(config.rules.bookings or BookingRules(), config.rules.zone, config.rules.day_starts,
                         secrets.randbelow)
        self.book.restore(storage.load_bookings(today))
        self._notices_to: dict[str, int] = {}  # notices sent to each phone this service day, by this process

    def follow(self, config: CenterConfig) -> None:
        """The live configuration changed: the bookings made stay as their holders were told (their windows are
        kept with them), new ones go by the new rules. Without [bookings] any more, no new booking is taken, and
        those made are still looked up, cancelled and checked in by the last rules."""
        self.config = config
        self.book.rules = config.rules.bookings or self.book.rules

    def restore(self, today: date) -> None:
        """Back to what storage holds (a failed commit, another instance's, a new service day or the clock set
        back): this batch's notices are not sent."""
        self.book.restore(self._storage.load_bookings(today))
        self._notices = []

    def take_changes(self) -> list[Booking]:
        return self.book.take_changes()

    @property
    def notifying(self) -> bool:
        """Whether the batch has notices to send once it is committed."""
        return bool(self._notices)

    def sent(self) -> None:
        """The batch is committed: its notices go out, at most NOTICES_PER_PHONE a day to one phone."""
        for notice in self._notices:
            sent = self._notices_to.get(notice.phone, 0)
            if sent >= NOTICES_PER_PHONE:
                log.warning("booking %s: its %s notice is not sent: %d already went to its phone today",
                            notice.code, notice.kind, sent)
                continue
            self._notices_to[notice.phone] = sent + 1
            self._notifier.send(notice)
        self._notices = []

    # --- the citizen web ------------------------------------------------------------------------

    def slots(self, request: WebSlots, center: Center, now: datetime) -> SlotsAnswer:
        rules = self._rules()
        area = self._bookable(request.area, center, remote=rules.remote)
        today = center.day
        days = tuple(FreeDay(day, free) for day, free in self.book.free_days(area, now))
        found: tuple[FreeSlot, ...] = ()
        if request.day is not None:
            found = tuple(FreeSlot(slot.start, slot.end, free)
                          for slot, free in self.book.free_slots(area, request.day, now))
        return SlotsAnswer(request.request_id, area.id, days, found, self.book.remote_free(area.id, today))

    def book_slot(self, request: WebBook, center: Center, now: datetime) -> BookingAnswer:
        """A slot booked, or a remote number for today taken (`request.start` None)."""
        person = self._identity(request.cccd, request.phone, center.day)
        area = self._bookable(request.area, center, remote=request.start is None)
        if request.start is None:
            center.may_issue(area.id, now)  # a remote number only while the kiosk would give one
            booking = self.book.take_remote(area, person, now)
        else:
            booking = self.book.book(area, request.start, person, now)
        view = self.view(booking, center)
        log.info("booking %s: %s of area %s for %s", booking.code, booking.channel.value, booking.area,
                 f"{booking.start:%Y-%m-%d %H:%M}" if booking.start else "today")
        self._notify(booking, "remote" if booking.start is None else "confirmed", view)
        return BookingAnswer(request.request_id, view)

    def booking(self, request: WebBooking, center: Center, now: datetime) -> BookingAnswer:
        """A booking looked up, or cancelled, by its holder (its code and the CCCD that made it)."""
        person = self._person(request.cccd, center.day).key
        booking = self.book.owned(request.code, person)
        if request.cancel and booking.state is not BookingState.CANCELLED:
            phone = booking.phone  # erased with the cancellation: the notice says it once more
            self.book.cancel(request.code, person, now)
            log.info("booking %s cancelled by its holder", booking.code)
            if phone is not None:
                self._notices.append(Notice("cancelled", phone, self._text("cancelled", self.view(booking, center)),
                                            booking.code))
        return BookingAnswer(request.request_id, self.view(booking, center))

    def _identity(self, cccd: str, phone: str, today: date) -> Person:
        person = self._person(cccd, today)
        try:
            return Person(person.key, person.tail, check_phone(phone))
        except IdentityRefused as refused:
            raise DomainError("bad_identity", refused.message) from None

    def _person(self, cccd: str, today: date) -> Person:
        try:
            checked = check_cccd(cccd, today)
        except IdentityRefused as refused:
            raise DomainError("bad_identity", refused.message) from None
        return Person(person_key(self._key, checked), checked.number[-4:], "")

    def _rules(self) -> BookingRules:
        rules = self.config.rules.bookings
        if rules is None:
            raise DomainError("bookings_off", OFF_VI)
        return rules

    def _bookable(self, area_id: str, center: Center, *, remote: bool = False) -> BookableArea:
        rules = self._rules()
        area = center.areas.get(area_id)
        if area is None:
            raise DomainError("unknown_area", "Lĩnh vực này không có tại trung tâm.")
        if not area.open:
            raise DomainError("area_closed", f"Lĩnh vực {area.name} hiện tạm ngừng tiếp nhận hồ sơ, không nhận đặt "
                                             "lịch.")
        hours = hours_of(area.hours, center.rules.hours)
        capacity = booking_capacity(center.rules, area)
        if hours is None or (capacity <= 0 and not (remote and rules.remote)):
            raise DomainError("not_bookable", NOT_BOOKABLE_VI)
        return BookableArea(area.id, area.name, hours, capacity)

    # --- the kiosk --------------------------------------------------------------------------------

    def check_in(self, request: CheckIn, center: Center, kiosk_id: str, now: datetime) -> Issued:
        booking = self.book.find(request.code)
        if booking.ticket_id is not None:
            ticket = center.ticket(booking.ticket_id)
            number = f" số {ticket.shown}" if ticket is not None else ""
            when = f" lúc {booking.changed_at.astimezone(self.book.zone):%H:%M}" if booking.changed_at else ""
            raise DomainError("already_checked_in", f"Mã này đã được dùng để lấy{number or ' số'}{when}. Nếu Ông/Bà "
                                                    "bị mất phiếu, vui lòng liên hệ cán bộ hướng dẫn.")
        booking, arrival = self.book.arrive(request.code, now)
        issued = center.check_in(booking, arrival, now, kiosk_id)
        self.book.checked_in(booking, arrival, issued.ticket.id, now)
        log.info("booking %s checked in at kiosk %s (%s): ticket %s number %s", booking.code, kiosk_id,
                 arrival.value, issued.ticket.id, issued.ticket.shown)
        return issued

    def released(self, tickets: Iterable[Ticket], now: datetime) -> None:
        """Tickets voided (a kiosk that never printed one, a manager's void): their bookings may check in again."""
        for ticket in tickets:
            if ticket.booking is not None:
                self.book.release(ticket.booking, ticket.id, now)

    # --- as time passes ---------------------------------------------------------------------------

    def tick(self, center: Center, now: datetime) -> None:
        """No-shows, and the reminders due."""
        for booking in self.book.expire(now):
            log.info("booking %s: nobody checked in (no-show)", booking.code)
        for booking in self.book.reminders(now):
            self._notify(booking, "reminder", self.view(booking, center))

    def new_day(self, today: date) -> date:
        """A new service day (or the first this process sees): the earlier days' bookings leave memory, and storage
        closes them (`Batch.close_before`). Returns the day before which bookings lose their person's keyed hash
        and CCCD digits (the retention)."""
        self.book.new_day(today)
        self._notices_to = {}
        return today - timedelta(days=self.book.rules.retention_days)

    # --- what the citizen sees ----------------------------------------------------------------------

    def view(self, booking: Booking, center: Center) -> BookingView:
        area = center.areas.get(booking.area)
        ticket = None if booking.ticket_id is None else center.ticket(booking.ticket_id)
        return BookingView(booking.code, booking.area, area.name if area else booking.area, booking.day,
                           booking.channel.value, booking.state.value, booking.created_at, booking.opens,
                           booking.closes,
                           booking.start, booking.end, None if ticket is None else ticket.shown)

    def _notify(self, booking: Booking, kind: str, view: BookingView) -> None:
        if booking.phone is None:
            return
        self._notices.append(Notice(kind, booking.phone, self._text(kind, view), booking.code))

    def _text(self, kind: str, view: BookingView) -> str:
        zone = self.book.zone
        center = self.config.name
        code = grouped(view.code)
        until = f"{view.check_in_until.astimezone(zone):%H:%M}"
        if kind == "cancelled":
            return f"{center}: lịch hẹn mã {code} đã được huỷ theo yêu cầu của Ông/Bà."
        if view.start is None:
            return (f"{center}: Ông/Bà đã lấy số từ xa lĩnh vực {view.area_name} hôm nay, mã {code}. Vui lòng đến "
                    f"ki-ốt trước {until}, chọn «Tôi đã đặt lịch» và nhập mã để nhận phiếu.")
        slot = f"{view.start.astimezone(zone):%H:%M} ngày {view.start.astimezone(zone):%d/%m/%Y}"
        opens = f"{view.check_in_from.astimezone(zone):%H:%M}"
        if kind == "reminder":
            return (f"{center} nhắc lịch hẹn lĩnh vực {view.area_name} lúc {slot}, mã {code}. Vui lòng đến ki-ốt từ "
                    f"{opens} đến {until}.")
        return (f"{center}: Ông/Bà đã đặt lịch lĩnh vực {view.area_name} lúc {slot}, mã {code}. Vui lòng đến ki-ốt "
                f"từ {opens} đến {until}, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR.")

