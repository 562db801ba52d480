"""What the booking pages say (issue 18): days, slots and bookings in Vietnamese, and what a form's request is
known by. Pure: no I/O, no clock of its own.

Dates are dd/mm/yyyy with the weekday, times HH:MM on the center's clock, the register "Ông/Bà". Nothing personal
is ever put in a view: a booking as the server answers it carries neither the CCCD nor the phone number.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from citizen_web.follow import Names
from protocol.booking_code import grouped
from protocol.messages import BookingView, FreeDay, FreeSlot

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
STATES_VI = {"booked": "Đã đặt", "checked_in": "Đã đến nhận phiếu", "cancelled": "Đã huỷ",
             "no_show": "Không đến", "late": "Đến muộn"}
KIOSK_STEPS_VI = "chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR"
NONCE = re.compile(r"[0-9a-f]{32}")  # a form's own request id (uuid4().hex), in a hidden field
HHMM = re.compile(r"([01][0-9]|2[0-3])([0-5][0-9])")  # a slot's start in a URL: 0830
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def site_context(names: Names | None) -> dict[str, Any]:
    """What every page's frame says: the center's name, and which booking pages it links to."""
    bookings = names.bookings if names is not None else None
    return {"center_name": names.center if names is not None else "", "lookup_on": bookings is not None,
            "booking_on": bookings is not None and bool(names and names.bookable),
            "remote_on": bookings is not None and bookings.remote and bool(names and names.remote_areas),
            "retention_days": bookings.retention_days if bookings is not None else 0}


def day_text(day: date) -> str:
    """Thứ Năm, 03/12/2026"""
    return f"{WEEKDAYS_VI[day.weekday()]}, {day:%d/%m/%Y}"


def day_note(day: date, today: date) -> str:
    """Hôm nay / Ngày mai / ""."""
    return {0: "Hôm nay", 1: "Ngày mai"}.get((day - today).days, "")


def clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def slot_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """08:30–09:00"""
    return f"{clock(start, zone)}–{clock(end, zone)}"


def free_text(free: int) -> str:
    return f"Còn {free} chỗ" if free > 0 else "Đã hết chỗ"


def hhmm(moment: datetime, zone: ZoneInfo) -> str:
    """A slot's start as its URL names it: 0830."""
    return moment.astimezone(zone).strftime("%H%M")


def day_of(text: str) -> date | None:
    """A day as a URL names it (2026-12-03), or None."""
    if not ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def slot_start(day: date, text: str, zone: ZoneInfo) -> datetime | None:
    """The slot's start a URL names (0830 on `day`, on the center's clock), or None."""
    found = HHMM.fullmatch(text)
    if found is None:
        return None
    return datetime.combine(day, time(int(found[1]), int(found[2])), zone)


def days_view(days: tuple[FreeDay, ...], today: date) -> list[dict[str, Any]]:
    return [{"iso": d.day.isoformat(), "text": day_text(d.day), "note": day_note(d.day, today), "free": d.free,
             "free_text": free_text(d.free)} for d in days]


def slots_view(slots: tuple[FreeSlot, ...], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [{"hhmm": hhmm(s.start, zone), "text": slot_text(s.start, s.end, zone), "free": s.free,
             "free_text": free_text(s.free)} for s in slots]


def check_in_text(booking: BookingView, zone: ZoneInfo) -> str:
    """When and how to check in at the kiosk: a slot's window, or a remote number's deadline."""
    if booking.channel == "remote":
        return f"Vui lòng đến ki-ốt trước {clock(booking.check_in_until, zone)}, {KIOSK_STEPS_VI}."
    return (f"Vui lòng đến ki-ốt từ {clock(booking.check_in_from, zone)} đến {clock(booking.check_in_until, zone)}, "
            f"{KIOSK_STEPS_VI}.")


def booking_view(booking: BookingView, zone: ZoneInfo, today: date | None = None) -> dict[str, Any]:
    """A booking as its pages show it: its code (grouped), area, day, slot, state and what the citizen does next
    (`today` on the center's clock: its day is named "Hôm nay" or "Ngày mai" when it is)."""
    remote = booking.channel == "remote"
    slot = ("" if booking.start is None or booking.end is None
            else slot_text(booking.start, booking.end, zone))
    notes: list[str] = []
    number = f"phiếu số {booking.number}" if booking.number else ""
    if booking.state == "booked":
        notes.append(check_in_text(booking, zone))
    elif booking.state == "checked_in":
        notes.append(f"Ông/Bà đã đến ki-ốt và nhận {number}." if number else "Ông/Bà đã đến ki-ốt và nhận phiếu.")
    elif booking.state == "late":
        notes.append(f"Ông/Bà đến sau giờ hẹn; trung tâm đã cấp {number} như người đến trực tiếp." if number
                     else "Ông/Bà đến sau giờ hẹn; trung tâm đã cấp số như người đến trực tiếp.")
    elif booking.state == "no_show":
        notes.append("Ông/Bà đã không đến ki-ốt nhận phiếu trong thời gian hẹn; lịch hẹn đã hết hiệu lực.")
    else:
        notes.append("Lịch hẹn này đã được huỷ.")
    state = STATES_VI.get(booking.state, booking.state)
    if booking.state in ("checked_in", "late") and booking.number:
        state = f"{state} (phiếu số {booking.number})"
    return {
        "code": booking.code, "code_grouped": grouped(booking.code), "remote": remote,
        "kind": "Số từ xa" if remote else "Lịch hẹn",
        "area_name": booking.area_name or booking.area, "day": _day_and_note(booking.day, today), "slot": slot,
        "state": booking.state, "state_text": state, "notes": notes, "cancellable": booking.state == "booked",
        "check_in": check_in_text(booking, zone),
    }


def _day_and_note(day: date, today: date | None) -> str:
    note = "" if today is None else day_note(day, today)
    return f"{day_text(day)} ({note})" if note else day_text(day)


def typed(text: str) -> str:
    """A CCCD or phone number as typed, without what the server ignores (spaces, dots, dashes; full-width
    digits read as digits): what tells one request of a form from another."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum() or ch == "+")


def request_id(nonce: str, *fields: str) -> str:
    """The request id a form's submission is sent with: its nonce and what was typed in it. The same form sent
    again (a reload, a double tap, a retry after no answer) is the same request, which the server answers with its
    first answer; the form corrected and sent again is a new one. The nonce is secret to the citizen's page, so
    the id tells the server nothing of what was typed."""
    return hashlib.sha256("\x1f".join((nonce, *fields)).encode()).hexdigest()[:32]


def code_typed(text: str) -> str:
    """A booking code as typed ("1234 5678", "1234-5678") as its 8 digits, or "" when it is not 8 digits."""
    digits = typed(text)
    return digits if len(digits) == 8 and digits.isascii() and digits.isdigit() else ""

