"""Appointments (issue 18): a day's slots and the booking codes typed at the kiosk."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from central_server.domain.bookings import slots
from protocol.hours import Hours, parse_sessions

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK = Hours((parse_sessions(["07:30-11:30", "13:30-17:00"]),) * 5 + ((), ()),
             closed_dates=frozenset({date(2027, 1, 1)}), last_ticket_min=15)


def test_a_days_slots_run_through_each_session_and_stop_before_the_last_ticket() -> None:
    day = slots(WEEK, date(2026, 12, 2), 30, HCM)  # a Wednesday
    shown = [f"{s.start:%H:%M}-{s.end:%H:%M}" for s in day]
    assert shown[:2] == ["07:30-08:00", "08:00-08:30"] and shown[6] == "10:30-11:00"
    assert "11:00-11:30" not in shown, "it would end after 11:15, when the morning's last ticket is given"
    assert shown[7:9] == ["13:30-14:00", "14:00-14:30"] and shown[-1] == "16:00-16:30"
    assert len(day) == 7 + 6 and all(s.start.tzinfo is HCM for s in day)


def test_no_slot_on_a_closed_day_or_date() -> None:
    assert slots(WEEK, date(2026, 12, 5), 30, HCM) == []  # a Saturday
    assert slots(WEEK, date(2027, 1, 1), 30, HCM) == []  # a holiday


def test_a_session_to_midnight_has_its_last_slot() -> None:
    late = Hours((parse_sessions(["22:00-24:00"]),) * 7)
    assert [f"{s.start:%H:%M}" for s in slots(late, date(2026, 12, 2), 60, HCM)] == ["22:00", "23:00"]
