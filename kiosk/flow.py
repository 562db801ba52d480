"""The kiosk's state machine: events in, effects out. Pure: no I/O, no clock, no MQTT.

The agent feeds it what happened (a touch, an answer, a printer check, the time) and carries
out what it returns (ask the server for a ticket, print it, report the printer's state).
`view()` is everything the screen shows.

The center's config may change at any moment (issue 17): the menu is made from the latest one at every
frame, whatever the screen. A ticket being asked for or printed goes on as it is (the server's refusal is
shown if it refuses); an area chosen just as it was closed or removed (a touch on the menu drawn before the
change, a GPIO button) asks for nothing: the kiosk says so, then shows the menu as it is now.

Check-in with a booking (issue 18): when the center takes bookings the menu offers "Tôi đã đặt lịch", which opens a
numeric keypad; a booking's QR read by a scanner on the menu or the keypad checks in at once. A code whose check
digit fails is said at once, without asking the server. A check-in is asked, retried, cancelled and answered
exactly as a ticket request is (the answer is a ticket, or the server's refusal in Vietnamese).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.model import (
    AREA_CLOSED,
    AREA_FULL,
    AREA_GONE,
    AREA_NOT_TAKING,
    AREA_OUT_OF_HOURS,
    AREA_UNKNOWN,
    ASK_STAFF,
    BACK_BUTTON,
    BOOKING_BUTTON,
    BUSY,
    CHECK_IN_BUSY,
    CHECK_IN_REFUSED,
    CHOOSE_ANOTHER,
    CODE_SHORT,
    CODE_WRONG,
    KEY_CANCEL,
    KEY_CONFIRM,
    KEY_DELETE,
    NO_BROKER,
    NO_SERVER,
    NOT_CHECKED_IN,
    NOT_ISSUED,
    PRINT_FAILED,
    PRINTER_MESSAGES,
    PRIORITY_BUTTON,
    SCAN_NOT_A_BOOKING,
    SCAN_WRONG,
    SLOW,
    AreaButton,
    IssuedTicket,
    KioskView,
    PrinterStatus,
    Screen,
)
from protocol.booking_code import CODE_DIGITS, code_ok
from protocol.hours import Closed, Hours, hours_of
from protocol.messages import PRIORITY_LABELS, CenterConfigMessage

BUSY_CODES = frozenset({"internal_error", "busy"})  # refusals that mean the server is busy, not "no"


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigReceived:
    center_name: str
    areas: tuple[AreaButton, ...]
    priority_categories: tuple[str, ...]
    hours: Hours | None = None  # the center's opening hours (None: any time)
    timezone: str = "Asia/Ho_Chi_Minh"
    public_url: str = ""  # the citizen web's address: the tickets' QR points under it
    quotas: tuple[tuple[str, int], ...] = ()  # each area's daily quota (0: none), when the server says them
    bookings: bool = False  # the center takes bookings: the kiosk offers check-in

    @classmethod
    def of(cls, config: CenterConfigMessage) -> ConfigReceived:
        areas = tuple(AreaButton(a.id, a.name, a.open, a.hours) for a in config.areas)
        return cls(config.center_name, areas, config.priority_categories, config.hours, config.timezone,
                   config.public_url or "", tuple((a.id, a.daily_quota) for a in config.areas),
                   config.bookings is not None)


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    online: bool  # the link is subscribed and the server says it is online
    broker: bool = True  # the broker is reached (when not online: is it the broker or the server that is away?)


@dataclass(frozen=True, slots=True)
class PrinterChecked:
    status: PrinterStatus


@dataclass(frozen=True, slots=True)
class Touched:
    target: str  # a touch target of the view (see kiosk.model)


@dataclass(frozen=True, slots=True)
class Pressed:
    """A physical area button (small commune kiosks without a screen)."""

    area: str
    priority: str = "none"


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a QR scanner read: a booking's code, maybe with whitespace, or anything else a citizen held to it."""

    text: str


@dataclass(frozen=True, slots=True)
class TicketAnswered:
    request_id: str
    ticket: IssuedTicket | None
    refusal: str = ""  # the server's Vietnamese message when it refused
    code: str = ""  # and its code


@dataclass(frozen=True, slots=True)
class TicketFailed:
    request_id: str  # no answer after every retry


@dataclass(frozen=True, slots=True)
class PrintDone:
    ticket_id: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Tick:
    now: datetime


Event = (ConfigReceived | ConnectionChanged | PrinterChecked | Touched | Pressed | Scanned | TicketAnswered
         | TicketFailed | PrintDone | Tick)


# --- effects --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestTicket:
    request_id: str  # made once per touch; every retry of this touch reuses it
    area: str
    priority: str


@dataclass(frozen=True, slots=True)
class RequestCheckIn:
    """Check in with a booking: answered like a ticket request (TicketAnswered / TicketFailed)."""

    request_id: str  # made once per confirmation or scan; every retry reuses it
    code: str  # 8 digits whose check digit holds


Ask = RequestTicket | RequestCheckIn  # what the agent asks the server, journals, retries and cancels alike


@dataclass(frozen=True, slots=True)
class PrintTicket:
    ticket: IssuedTicket


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """What `device/<id>/status` says besides online: the printer, and tickets given but not printed."""

    printer: PrinterStatus
    unprinted: tuple[str, ...]


Effect = RequestTicket | RequestCheckIn | PrintTicket | ReportStatus


@dataclass(frozen=True, slots=True)
class Timings:
    slow_after: timedelta = timedelta(seconds=1.5)  # a touch unanswered this long says it waits for the server
    starting: timedelta = timedelta(seconds=5)  # "starting" this long at most; then what is missing is said
    ticket: timedelta = timedelta(seconds=6)  # the number stays on screen
    print_failed: timedelta = timedelta(seconds=20)
    notice: timedelta = timedelta(seconds=6)  # a refusal or "not issued" stays on screen
    keypad: timedelta = timedelta(seconds=30)  # the keypad untouched this long: back to the menu


DEFAULT_TIMINGS = Timings()


@dataclass(frozen=True, slots=True)
class _Pending:
    request_id: str
    area: str  # "" for a check-in
    priority: str
    since: datetime
    booking: str = ""  # the code of a check-in


@dataclass(frozen=True, slots=True)
class _Keypad:
    typed: str
    touched: datetime  # the last touch: the keypad goes back to the menu `Timings.keypad` after it
    error: str = ""  # why the code typed was not taken (the check digit, too short)


@dataclass(frozen=True, slots=True)
class _Result:
    screen: Screen
    until: datetime
    ticket: IssuedTicket | None = None
    message: str = ""


class KioskFlow:
    def __init__(self, new_id: Callable[[], str], now: datetime, timings: Timings = DEFAULT_TIMINGS, *,
                 scanner: bool = False) -> None:
        """`scanner`: a QR scanner is there (the keypad says a code may be scanned too)."""
        self._new_id = new_id
        self._scanner = scanner
        self._timings = timings
        self._now = now
        self._started = now
        self._center_name = ""
        self._areas: tuple[AreaButton, ...] = ()
        self._names: dict[str, str] = {}  # every area's latest name, also of areas since removed
        self._categories: tuple[str, ...] = ()
        self._hours: Hours | None = None
        self._zone = ZoneInfo("Asia/Ho_Chi_Minh")
        self._full: dict[str, date] = {}  # area -> the local day on which the server said its quota is reached
        self._quotas: tuple[tuple[str, int], ...] = ()  # as the last config said them
        self._configured = False
        self._online = False
        self._was_online = False  # the first seconds say "starting"; once it was online, a loss is said at once
        self._broker = True
        self._printer: PrinterStatus | None = None
        self._unprinted: tuple[str, ...] = ()
        self._choosing_priority = False
        self._chosen_priority: str | None = None
        self._pending: _Pending | None = None
        self._result: _Result | None = None
        self._bookings = False  # the center takes bookings
        self._keypad: _Keypad | None = None  # open while the citizen types a booking's code

    # --- events ---------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Effect]:
        match event:
            case Tick(now):
                self._now = now
                if self._result is not None and now >= self._result.until:
                    self._result = None
                if self._keypad is not None and now - self._keypad.touched >= self._timings.keypad:
                    self._keypad = None  # nobody is typing: the next citizen finds the menu
            case ConfigReceived():
                self._configured_as(event)
            case ConnectionChanged(online, broker):
                self._online, self._broker = online, broker
                self._was_online = self._was_online or online
            case PrinterChecked(status):
                return self._printer_checked(status)
            case Touched(target):
                return self._touched(target)
            case Pressed(area, priority):
                return self._request(area, priority) if self.view().screen is Screen.MENU else []
            case Scanned(text):
                return self._scanned(text)
            case TicketAnswered():
                return self._answered(event)
            case TicketFailed(request_id):
                if self._pending is not None and self._pending.request_id == request_id:
                    message = NOT_CHECKED_IN if self._pending.booking else NOT_ISSUED
                    self._pending = None  # the agent cancels it with the server: nobody will hold that ticket
                    self._show(Screen.REFUSED, self._timings.notice, message=message)
            case PrintDone(ticket_id, ok):
                return self._printed(ticket_id, ok)
        return []

    def _configured_as(self, config: ConfigReceived) -> None:
        """The center's config, the first or a changed one: the menu follows it from the next frame. An area whose
        quota was reached is touchable again once its quota changed (the server says again if it is still full)."""
        before, now = dict(self._quotas), dict(config.quotas)
        self._full = {area: day for area, day in self._full.items() if before.get(area) == now.get(area)}
        self._quotas = config.quotas
        self._center_name, self._areas = config.center_name, config.areas
        self._categories, self._hours = config.priority_categories, config.hours
        self._names.update((area.id, area.name) for area in config.areas)
        self._zone = _zone(config.timezone, self._zone)
        self._configured = True
        if self._chosen_priority not in (None, *config.priority_categories):
            self._chosen_priority = None
        if not config.priority_categories:
            self._choosing_priority = False  # no priority screen without categories: the menu
        self._bookings = config.bookings
        if not config.bookings:
            self._keypad = None  # the center stopped taking bookings: the menu

    def _printer_checked(self, status: PrinterStatus) -> list[Effect]:
        changed = status != self._printer
        self._printer = status
        return [ReportStatus(status, self._unprinted)] if changed else []

    def _touched(self, target: str) -> list[Effect]:
        screen = self.view().screen
        if screen is Screen.PRIORITY:
            if target == BACK_BUTTON:
                self._choosing_priority = False
            elif target.startswith("priority:") and target[len("priority:"):] in self._categories:
                self._chosen_priority = target[len("priority:"):]
                self._choosing_priority = False
        elif screen is Screen.KEYPAD:
            return self._keypad_touched(target)
        elif screen is Screen.MENU:
            if target == PRIORITY_BUTTON:
                self._choosing_priority = True
            elif target == BOOKING_BUTTON and self._bookings and not self._chosen_priority:
                self._keypad = _Keypad("", self._now)
            elif target == BACK_BUTTON:
                self._chosen_priority = None
            elif target.startswith("area:"):
                effects = self._request(target[len("area:"):], self._chosen_priority or "none")
                if effects:  # else the priority chosen stays for another area
                    self._chosen_priority = None
                return effects
        return []  # any other screen takes no touch: no second ticket from a double tap

    def _request(self, area_id: str, priority: str) -> list[Effect]:
        buttons = self._buttons()
        area = next((a for a in buttons if a.id == area_id), None)
        if area is None or not area.open:  # closed or removed since the menu was drawn, or a button's
            self._show(Screen.REFUSED, self._timings.notice, message=self._not_taking(area_id, area, buttons))
            return []
        request_id = self._new_id()
        self._pending = _Pending(request_id, area.id, priority, self._now)
        return [RequestTicket(request_id, area.id, priority)]

    def _keypad_touched(self, target: str) -> list[Effect]:
        keypad = self._keypad
        assert keypad is not None
        typed, error = keypad.typed, ""
        if target == KEY_CANCEL:
            self._keypad = None
            return []
        if target == KEY_CONFIRM:
            if len(typed) < CODE_DIGITS:
                error = CODE_SHORT
            elif not code_ok(typed):
                error = CODE_WRONG  # a mistyped digit or two swapped: said at once, the server is not asked
            else:
                self._keypad = None
                return self._check_in(typed)
        elif target == KEY_DELETE:
            typed = typed[:-1]
        elif target.startswith("key:") and (digit := target[len("key:"):]) in "0123456789" and len(digit) == 1:
            typed = typed + digit if len(typed) < CODE_DIGITS else typed
        else:
            return []
        self._keypad = _Keypad(typed, self._now, error)
        return []

    def _scanned(self, text: str) -> list[Effect]:
        """A scan on the menu or the keypad checks in at once; anywhere else it is not for this moment."""
        screen = self.view().screen
        if not self._bookings or screen not in (Screen.MENU, Screen.KEYPAD):
            return []
        code = "".join(text.split())
        error = ""
        if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
            error = SCAN_NOT_A_BOOKING
        elif not code_ok(code):
            error = SCAN_WRONG
        if not error:
            self._keypad = None
            return self._check_in(code)
        if self._keypad is not None:  # said on the keypad: what was typed stays
            self._keypad = replace(self._keypad, touched=self._now, error=error)
        else:
            self._show(Screen.REFUSED, self._timings.notice, message=error)
        return []

    def _check_in(self, code: str) -> list[Effect]:
        request_id = self._new_id()
        self._chosen_priority, self._choosing_priority = None, False  # not for the citizen after this one
        self._pending = _Pending(request_id, "", "none", self._now, booking=code)
        return [RequestCheckIn(request_id, code)]

    def _not_taking(self, area_id: str, area: AreaButton | None, buttons: tuple[AreaButton, ...]) -> str:
        """Why `area_id` gives no ticket now, and what to do instead."""
        if area is not None:
            why = AREA_NOT_TAKING.get(area.note, AREA_NOT_TAKING[AREA_CLOSED]).format(area=area.name)
        elif area_id in self._names:
            why = AREA_GONE.format(area=self._names[area_id])
        else:
            why = AREA_UNKNOWN
        return f"{why} {CHOOSE_ANOTHER if any(a.open for a in buttons) else ASK_STAFF}"

    def _answered(self, answer: TicketAnswered) -> list[Effect]:
        pending = self._pending
        if pending is None or pending.request_id != answer.request_id:
            return []
        self._pending = None
        if answer.ticket is None:
            if answer.code == "quota_reached" and pending.area:
                self._full[pending.area] = self._local().date()
            checking_in = bool(pending.booking)
            if answer.code in BUSY_CODES:
                busy = CHECK_IN_BUSY if checking_in else BUSY
                self._show(Screen.BUSY, self._timings.notice, message=answer.refusal or busy)
            else:
                refused = CHECK_IN_REFUSED if checking_in else NOT_ISSUED
                self._show(Screen.REFUSED, self._timings.notice, message=answer.refusal or refused)
            return []
        self._show(Screen.TICKET, self._timings.ticket, ticket=answer.ticket)
        return [PrintTicket(answer.ticket)]

    def _printed(self, ticket_id: str, ok: bool) -> list[Effect]:
        if ok:
            return []
        self._unprinted = (*self._unprinted, ticket_id)[-20:]
        shown = self._result.ticket if self._result is not None else None
        if shown is not None and shown.id == ticket_id:
            self._show(Screen.PRINT_FAILED, self._timings.print_failed, ticket=shown, message=PRINT_FAILED)
        return [ReportStatus(self._printer or PrinterStatus.UNKNOWN, self._unprinted)]

    def _show(self, screen: Screen, duration: timedelta, *, ticket: IssuedTicket | None = None,
              message: str = "") -> None:
        self._result = _Result(screen, self._now + duration, ticket, message)

    # --- what the screen shows ------------------------------------------------------------

    def view(self) -> KioskView:
        base = KioskView(
            screen=Screen.MENU, center_name=self._center_name, now=self._now, areas=self._buttons(),
            priorities=tuple((c, PRIORITY_LABELS.get(c, c)) for c in self._categories),
            chosen_priority=self._chosen_priority, bookings=self._bookings, scanner=self._scanner,
        )
        if self._pending is not None:
            slow = self._now - self._pending.since >= self._timings.slow_after
            return replace(base, screen=Screen.WORKING, message=SLOW if slow else "")
        if self._result is not None:
            return replace(base, screen=self._result.screen, ticket=self._result.ticket,
                           message=self._result.message)
        starting = not self._was_online and self._now - self._started < self._timings.starting
        if not self._online and not starting:
            return replace(base, screen=Screen.OFFLINE, message=NO_SERVER if self._broker else NO_BROKER)
        if not self._configured or self._printer is None or not self._online:
            return replace(base, screen=Screen.STARTING)
        if not self._printer.can_print:
            return replace(base, screen=Screen.PRINTER_PROBLEM, message=PRINTER_MESSAGES[self._printer])
        closed = self._closed_now()
        if closed:
            return replace(base, screen=Screen.CLOSED, message=closed)
        if self._keypad is not None:
            return replace(base, screen=Screen.KEYPAD, typed=self._keypad.typed, message=self._keypad.error)
        if self._choosing_priority:
            return replace(base, screen=Screen.PRIORITY)
        return base

    def _local(self) -> datetime:
        return self._now.astimezone(self._zone)

    def _closed_now(self) -> str:
        """When no open area takes tickets at this hour: why and when to come back (the center's sentence, or
        an area's when the center itself is open), else ""."""
        local = self._local()
        shut = [(area, hours) for area in self._areas if area.open
                if (hours := hours_of(area.hours, self._hours)) is not None and hours.closed(local) is not None]
        if not shut or len(shut) < sum(1 for area in self._areas if area.open):
            return ""
        if self._hours is not None and (closed := self._hours.closed(local)) is not None:
            return self._hours.refusal(local, closed)
        area, hours = shut[0]
        return hours.refusal(local, hours.closed(local) or Closed.OUTSIDE_HOURS, area.name)

    def _buttons(self) -> tuple[AreaButton, ...]:
        """The areas as the menu shows them now: closed, outside their own hours or full for today greyed."""
        local = self._local()
        buttons = []
        for area in self._areas:
            note = ""
            if not area.open:
                note = AREA_CLOSED
            elif (hours := hours_of(area.hours, self._hours)) is not None and hours.closed(local) is not None:
                note = AREA_OUT_OF_HOURS
            elif self._full.get(area.id) == local.date():
                note = AREA_FULL
            buttons.append(replace(area, open=False, note=note) if note else area)
        return tuple(buttons)

    @property
    def printer(self) -> PrinterStatus | None:
        return self._printer

    @property
    def online(self) -> bool:
        return self._online


def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError: keep the zone we had
        return fallback
