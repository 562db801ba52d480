"""What the kiosk shows and prints: plain values shared by the flow, the view and the printer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from protocol.hours import Hours


class PrinterStatus(StrEnum):
    READY = "ready"
    PAPER_LOW = "paper_low"  # keeps working; reported to the center
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # the connection cannot tell (a printer that does not answer status queries)

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.READY, PrinterStatus.PAPER_LOW, PrinterStatus.UNKNOWN)


class Screen(StrEnum):
    STARTING = "starting"  # the first seconds: no center config or printer check yet
    MENU = "menu"  # one button per area; a separate priority button
    PRIORITY = "priority"  # choose the priority category, then the area
    KEYPAD = "keypad"  # "Tôi đã đặt lịch": the booking's code typed on a numeric keypad (issue 18)
    WORKING = "working"  # a touch was taken: the ticket is being made
    TICKET = "ticket"  # the number, very large; "Vui lòng nhận phiếu"
    PRINT_FAILED = "print_failed"  # the number was given but not printed: shown large instead
    BUSY = "busy"  # the server answered that it is busy
    REFUSED = "refused"  # the server refused the ticket (its message), or never answered
    OFFLINE = "offline"  # the broker or the server cannot be reached
    CLOSED = "closed"  # outside the center's opening hours
    PRINTER_PROBLEM = "printer_problem"  # paper out, cover open, printer offline


# What the kiosk says (the flow chooses, the view shows): formal, "công dân", true.
BUSY = "Hệ thống đang bận, mời công dân chọn lại lĩnh vực sau ít phút"  # only when the server says so
SLOW = "Đang chờ máy chủ trả lời…"
# Had the server made the ticket, the kiosk cancels it (it is voided): choosing the area again gives a new one.
NOT_ISSUED = "Máy chủ chưa trả lời. Mời công dân chọn lại lĩnh vực để nhận phiếu"
NO_BROKER = "Ki-ốt chưa kết nối được với máy chủ. Mời công dân liên hệ cán bộ hướng dẫn"
NO_SERVER = "Hệ thống cấp số đang tạm ngừng. Mời công dân chờ trong giây lát hoặc liên hệ cán bộ hướng dẫn"
PRINT_FAILED = "Máy in gặp sự cố. Mời công dân ghi nhớ số thứ tự và liên hệ cán bộ hướng dẫn"
PRINTER_MESSAGES = {
    PrinterStatus.PAPER_OUT: "Máy in hết giấy, vui lòng liên hệ cán bộ hướng dẫn",
    PrinterStatus.COVER_OPEN: "Nắp máy in đang mở, vui lòng liên hệ cán bộ hướng dẫn",
    PrinterStatus.OFFLINE: "Máy in chưa sẵn sàng, vui lòng liên hệ cán bộ hướng dẫn",
}
AREA_CLOSED = "Tạm ngừng tiếp nhận"  # why an area's button cannot be touched
AREA_OUT_OF_HOURS = "Ngoài giờ tiếp nhận"
AREA_FULL = "Hết lượt hôm nay"  # the area's daily quota is reached
# An area chosen just as the center closed or removed it (a touch on the menu drawn before the change, or a GPIO
# button): no request goes out, this is said instead, then the menu as it is now.
AREA_NOT_TAKING = {
    AREA_CLOSED: "Lĩnh vực {area} hiện tạm ngừng tiếp nhận hồ sơ.",
    AREA_OUT_OF_HOURS: "Lĩnh vực {area} hiện ngoài giờ tiếp nhận hồ sơ.",
    AREA_FULL: "Lĩnh vực {area} đã hết lượt nhận phiếu hôm nay.",
}
AREA_GONE = "Lĩnh vực {area} không còn tiếp nhận hồ sơ."  # removed from the center's config
AREA_UNKNOWN = "Lĩnh vực này không tiếp nhận hồ sơ."  # a button for an area the kiosk never heard of
CHOOSE_ANOTHER = "Mời công dân chọn lĩnh vực khác."
ASK_STAFF = "Mời công dân liên hệ cán bộ hướng dẫn."  # when no other area takes tickets now
# Check-in with a booking (issue 18). A code the check digit refuses is said at once, the server is not asked.
CODE_SHORT = "Mã đặt lịch gồm 8 chữ số. Mời công dân nhập đủ 8 chữ số."
CODE_WRONG = "Mã đặt lịch không đúng. Mời công dân kiểm tra lại từng chữ số."
SCAN_NOT_A_BOOKING = ("Mã vừa quét không phải mã đặt lịch. Mời công dân quét mã QR của lịch hẹn "
                      "hoặc nhập mã trên màn hình.")
SCAN_WRONG = "Mã đặt lịch vừa quét không hợp lệ. Mời công dân quét lại hoặc nhập mã trên màn hình."
# Had the server checked the booking in, the kiosk cancels it: the same code checks in again.
NOT_CHECKED_IN = "Máy chủ chưa trả lời. Mời công dân nhập hoặc quét lại mã đặt lịch."
CHECK_IN_BUSY = "Hệ thống đang bận, mời công dân xác nhận lại lịch hẹn sau ít phút"
CHECK_IN_REFUSED = "Chưa xác nhận được lịch hẹn. Mời công dân liên hệ cán bộ hướng dẫn."



@dataclass(frozen=True, slots=True)
class AreaButton:
    id: str
    name: str  # Vietnamese, full diacritics; long names are wrapped by the view
    open: bool = True
    hours: Hours | None = None  # the area's own opening hours
    note: str = ""  # why a button that is not open cannot be touched ("" : the view's usual note)


def wait_minutes(estimated_wait_s: int) -> int:
    """Minutes of an estimated wait as the screen and the paper both say it: rounded up, at least 1."""
    return max(1, math.ceil(max(0, estimated_wait_s) / 60))


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """A ticket the server allocated, with what the paper and the screen show of it."""

    id: str
    number: str  # as shown: "B001"
    area: str
    area_name: str
    issued_at: datetime
    waiting_ahead: int
    estimated_wait_s: int
    priority: str = "none"
    # What the estimate rests on (protocol.messages.WAIT_BASES): "free_counter" (called at once),
    # "estimate" (about `estimated_wait_s`) or "no_counter" (no counter serves the area now: no estimate).
    wait_basis: str = "estimate"
    token: str = ""  # the ticket's public token: its page on the citizen web (the QR), "" from an older server
    # How it came (issue 18): "walk_in", "booked" or "remote"; a booked slot's start and end (the center's time);
    # the booking's code when it came from one ("walk_in" with a code: checked in too late, made a walk-in).
    channel: str = "walk_in"
    slot_start: datetime | None = None
    slot_end: datetime | None = None
    booking: str = ""

    @property
    def late_booking(self) -> bool:
        """A booking checked in too late that the center made a walk-in ticket: the ticket says so."""
        return self.channel == "walk_in" and bool(self.booking)


@dataclass(frozen=True, slots=True)
class KioskView:
    """Everything the screen shows at one moment; `view.draw` draws exactly this."""

    screen: Screen
    center_name: str
    now: datetime
    areas: tuple[AreaButton, ...] = ()
    priorities: tuple[tuple[str, str], ...] = ()  # (category id, Vietnamese label)
    chosen_priority: str | None = None  # set while a priority citizen picks the area
    ticket: IssuedTicket | None = None
    message: str = ""  # the Vietnamese sentence of the notice screens, PRINT_FAILED, a slow WORKING, the keypad's
    bookings: bool = False  # the center takes bookings: the menu offers "Tôi đã đặt lịch"
    typed: str = ""  # the digits typed on the keypad so far
    scanner: bool = False  # a QR scanner is there: the keypad says a code may be scanned too


# Touch targets the view reports and the flow understands.
PRIORITY_BUTTON = "priority"  # the separate "Ưu tiên" button on the menu
BACK_BUTTON = "back"
BOOKING_BUTTON = "booking"  # "Tôi đã đặt lịch" on the menu: opens the keypad
KEY_DELETE = "key:delete"  # the keypad's "Xoá": the last digit
KEY_CANCEL = "key:cancel"  # "Huỷ": back to the menu
KEY_CONFIRM = "key:confirm"  # "Xác nhận"


def area_target(area_id: str) -> str:
    return f"area:{area_id}"


def priority_target(category: str) -> str:
    return f"priority:{category}"


def key_target(digit: str) -> str:
    """A digit key of the keypad: "key:0" to "key:9"."""
    return f"key:{digit}"
