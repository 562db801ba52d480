"""What the booking pages say (citizen_web/booking_view.py): dates, slots, states, and what tells a form's
requests apart."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from citizen_web.booking_view import (
    booking_view,
    code_typed,
    day_note,
    day_of,
    day_text,
    request_id,
    slot_start,
    slot_text,
    typed,
)
from protocol.messages import BookingView

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(("day", "said"), [
    (date(2026, 11, 30), "Thứ Hai, 30/11/2026"), (date(2026, 12, 2), "Thứ Tư, 02/12/2026"),
    (date(2026, 12, 5), "Thứ Bảy, 05/12/2026"), (date(2026, 12, 6), "Chủ Nhật, 06/12/2026"),
])
def test_a_day_is_its_vietnamese_weekday_and_dd_mm_yyyy(day: date, said: str) -> None:
    assert day_text(day) == said


def test_today_and_tomorrow_are_named() -> None:
    today = date(2026, 12, 31)
    assert [day_note(date(2026, 12, 31), today), day_note(date(2027, 1, 1), today), day_note(date(2027, 1, 2), today)
            ] == ["Hôm nay", "Ngày mai", ""]


def test_a_slot_is_said_on_the_centers_clock_and_named_in_its_url() -> None:
    start = slot_start(date(2026, 12, 3), "0830", ZONE)
    assert start == datetime(2026, 12, 3, 8, 30, tzinfo=ZONE)
    end = datetime(2026, 12, 3, 2, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 at the center
    assert slot_text(start, end, ZONE) == "08:30–09:00"
    assert [slot_start(date(2026, 12, 3), text, ZONE) for text in ("2400", "0860", "830", "08:30")] == [None] * 4
    assert [day_of(text) for text in ("2026-12-03", "2026-02-30", "03/12/2026", "20261203")] == [
        date(2026, 12, 3), None, None, None]


def test_codes_and_numbers_as_typed() -> None:
    texts = ("1234 5678", "1234-5678", " 12345678 ", "１２３４５６７８", "1234567", "abcdefgh")
    assert [code_typed(text) for text in texts] == ["12345678"] * 4 + ["", ""]
    assert typed("001.090 123-456") == "001090123456" and typed("+84 912 345 678") == "+84912345678"


def test_a_forms_request_id_is_its_nonce_and_what_was_typed() -> None:
    nonce = "0" * 32
    same = request_id(nonce, "dat-dai", "remote", typed("001 090 123 456"), typed("0912 345 678"))
    assert same == request_id(nonce, "dat-dai", "remote", typed("001090123456"), typed("0912345678"))
    assert same != request_id(nonce, "dat-dai", "remote", "001090123456", "0912345679")
    assert same != request_id("1" * 32, "dat-dai", "remote", "001090123456", "0912345678")
    assert len(same) == 32 and "001090123456" not in same


def test_a_booking_view_says_its_window_and_nothing_personal() -> None:
    booking = BookingView("12345671", "dat-dai", "Đất đai", date(2026, 12, 3), "booked", "booked",
                          datetime(2026, 12, 2, 18, 0, tzinfo=ZONE), datetime(2026, 12, 3, 8, 30, tzinfo=ZONE),
                          datetime(2026, 12, 3, 9, 15, tzinfo=ZONE), datetime(2026, 12, 3, 9, 0, tzinfo=ZONE),
                          datetime(2026, 12, 3, 9, 30, tzinfo=ZONE))
    view = booking_view(booking, ZONE)
    assert (view["code_grouped"], view["day"], view["slot"], view["state_text"], view["cancellable"]) == (
        "1234 5671", "Thứ Năm, 03/12/2026", "09:00–09:30", "Đã đặt", True)
    assert view["notes"] == ["Vui lòng đến ki-ốt từ 08:30 đến 09:15, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét "
                             "mã QR."]
    remote = BookingView("12345671", "dat-dai", "Đất đai", date(2026, 12, 3), "remote", "booked",
                         datetime(2026, 12, 3, 9, 45, tzinfo=ZONE), datetime(2026, 12, 3, 9, 45, tzinfo=ZONE),
                         datetime(2026, 12, 3, 10, 45, tzinfo=ZONE))
    view = booking_view(remote, ZONE)
    assert (view["kind"], view["slot"]) == ("Số từ xa", "")
    assert view["check_in"] == "Vui lòng đến ki-ốt trước 10:45, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR."
