"""Opening hours, the last-ticket cut-off, closed dates and daily quotas: the rules and their refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from central_server.config import config_message, load
from central_server.domain.areas import Area
from central_server.domain.center import Center, CenterRules, DaySnapshot
from central_server.domain.counters import CounterSpec
from central_server.domain.errors import DomainError
from central_server.domain.policies import QueuePolicy
from protocol.errors import ConfigError
from protocol.hours import Closed, Hours, parse_sessions, when_text
from protocol.messages import CenterConfigMessage

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
WORKDAY = parse_sessions(["07:30-11:30", "13:30-17:00"])
# Monday to Friday, Saturday morning; closed on Sunday and on 2 September (Quốc khánh).
WEEK = Hours((WORKDAY,) * 5 + (parse_sessions(["07:30-11:30"]), ()), frozenset({date(2026, 9, 2)}), 15)
WEDNESDAY = datetime(2026, 12, 2, tzinfo=HCM)


def on(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.mark.parametrize(("hour", "minute", "expected"), [
    (7, 29, Closed.OUTSIDE_HOURS), (7, 30, None), (11, 14, None), (11, 15, Closed.LAST_TICKET_PASSED),
    (11, 30, Closed.OUTSIDE_HOURS), (12, 0, Closed.OUTSIDE_HOURS), (13, 30, None), (16, 44, None),
    (16, 45, Closed.LAST_TICKET_PASSED), (17, 0, Closed.OUTSIDE_HOURS), (22, 0, Closed.OUTSIDE_HOURS),
])
def test_a_working_day_opens_twice_and_stops_taking_tickets_15_minutes_before_each_close(
        hour: int, minute: int, expected: Closed | None) -> None:
    assert WEEK.closed(on(WEDNESDAY, hour, minute)) is expected


def test_closed_days_and_dates() -> None:
    saturday, sunday = WEDNESDAY + timedelta(days=3), WEDNESDAY + timedelta(days=4)
    assert WEEK.closed(on(saturday, 9)) is None and WEEK.closed(on(saturday, 14)) is Closed.OUTSIDE_HOURS
    assert WEEK.closed(on(sunday, 9)) is Closed.OUTSIDE_HOURS
    assert WEEK.closed(datetime(2026, 9, 2, 9, tzinfo=HCM)) is Closed.OUTSIDE_HOURS, "a holiday"


def test_the_next_opening_skips_breaks_weekends_and_holidays() -> None:
    assert WEEK.next_opening(on(WEDNESDAY, 11, 20)) == on(WEDNESDAY, 13, 30)
    assert WEEK.next_opening(on(WEDNESDAY, 18)) == on(WEDNESDAY + timedelta(days=1), 7, 30)
    saturday = WEDNESDAY + timedelta(days=3)
    assert WEEK.next_opening(on(saturday, 12)) == on(saturday + timedelta(days=2), 7, 30), "Monday"
    assert WEEK.next_opening(datetime(2026, 9, 1, 18, tzinfo=HCM)) == datetime(2026, 9, 3, 7, 30, tzinfo=HCM)


def test_hours_in_vietnamese() -> None:
    assert WEEK.describe() == "từ thứ Hai đến thứ Sáu, 7h30–11h30 và 13h30–17h00; thứ Bảy, 7h30–11h30"
    assert when_text(on(WEDNESDAY, 13, 30), on(WEDNESDAY, 12)) == "13h30"
    assert when_text(on(WEDNESDAY + timedelta(days=1), 7, 30), on(WEDNESDAY, 18)) == "7h30 ngày mai"
    assert when_text(on(WEDNESDAY + timedelta(days=5), 7, 30), on(WEDNESDAY, 18)) == "7h30 thứ Hai, 07/12/2026"
    assert WEEK.refusal(on(WEDNESDAY, 11, 20), Closed.LAST_TICKET_PASSED) == (
        "Bộ phận đã hết giờ nhận phiếu buổi sáng (nhận phiếu đến 11h15). Mời công dân quay lại lúc 13h30.")
    assert WEEK.refusal(on(WEDNESDAY, 12), Closed.OUTSIDE_HOURS, "Đất đai") == (
        "Lĩnh vực Đất đai đang ngoài giờ tiếp nhận hồ sơ. Mời công dân quay lại lúc 13h30. "
        "Giờ tiếp nhận: từ thứ Hai đến thứ Sáu, 7h30–11h30 và 13h30–17h00; thứ Bảy, 7h30–11h30.")


def test_every_day_alike_reads_hang_ngay() -> None:
    assert Hours((WORKDAY,) * 7).describe() == "hằng ngày, 7h30–11h30 và 13h30–17h00"


def test_hours_go_over_the_wire_and_come_back_the_same() -> None:
    assert Hours.from_body(WEEK.to_body()) == WEEK


@pytest.mark.parametrize("sessions", [["7:30-11:30"], ["07:30-11:30", "11:00-12:00"], ["13:00-12:00"], ["morning"]])
def test_wrong_sessions_are_refused(sessions: list[str]) -> None:
    with pytest.raises(ValueError):
        parse_sessions(sessions)


def rules(area_hours: Hours | None = None, quota: int = 0) -> CenterRules:
    return CenterRules(
        areas=(Area("dat-dai", "Đất đai", 1001, 1999), Area("bhxh", "Bảo hiểm xã hội", 1, 99, prefix="E",
                                                             hours=area_hours, daily_quota=quota)),
        counters=(CounterSpec("1", "Quầy 1", ("dat-dai", "bhxh")),), zone=HCM, day_starts=time(0, 0),
        policy=QueuePolicy(), rating_levels=("satisfied", "dissatisfied"), rating_window=timedelta(seconds=60),
        hours=WEEK)


def test_the_server_refuses_tickets_outside_hours_with_a_precise_code_and_changes_nothing() -> None:
    center = Center(rules(), on(WEDNESDAY, 7))
    for moment, code in ((on(WEDNESDAY, 7), "outside_hours"), (on(WEDNESDAY, 11, 20), "last_ticket_passed"),
                         (on(WEDNESDAY, 12), "outside_hours")):
        with pytest.raises(DomainError) as refused:
            center.issue("dat-dai", "none", moment)
        assert refused.value.code == code
        assert not center.take_changes() and not center.tickets
    assert center.issue("dat-dai", "none", on(WEDNESDAY, 13, 30)).ticket.shown == "1001"


def test_an_area_with_its_own_hours_follows_them() -> None:
    mornings = Hours((parse_sessions(["07:30-11:30"]),) * 5 + ((), ()))
    center = Center(rules(area_hours=mornings), on(WEDNESDAY, 7))
    assert center.issue("dat-dai", "none", on(WEDNESDAY, 14)).ticket.shown == "1001"
    with pytest.raises(DomainError) as refused:
        center.issue("bhxh", "none", on(WEDNESDAY, 14))
    assert refused.value.code == "outside_hours" and refused.value.message.startswith("Lĩnh vực Bảo hiểm xã hội")


def test_a_daily_quota_counts_the_kiosks_tickets_not_transfers_and_restarts_each_day() -> None:
    center = Center(rules(quota=2), on(WEDNESDAY, 8))
    land = center.issue("dat-dai", "none", on(WEDNESDAY, 8)).ticket
    center.next("1", on(WEDNESDAY, 8))
    moved = center.transfer("1", "bhxh", on(WEDNESDAY, 8))  # a citizen sent on, no new one: not counted
    center.issue("bhxh", "none", on(WEDNESDAY, 8))
    center.issue("bhxh", "elderly", on(WEDNESDAY, 8))  # the second of the day: the quota is 2
    with pytest.raises(DomainError) as refused:
        center.issue("bhxh", "none", on(WEDNESDAY, 8))
    assert refused.value.code == "quota_reached" and moved.transferred_from == land.id
    assert refused.value.message == ("Lĩnh vực Bảo hiểm xã hội đã cấp đủ 2 phiếu hôm nay. "
                                     "Mời công dân quay lại vào ngày làm việc tiếp theo.")
    snapshot = _snapshot_of(center)
    restarted = Center(rules(quota=2), on(WEDNESDAY, 9))  # after a restart the day's tickets still count
    restarted.restore(snapshot)
    with pytest.raises(DomainError):
        restarted.issue("bhxh", "none", on(WEDNESDAY, 9))
    thursday = WEDNESDAY + timedelta(days=1)  # the service day changes: a new quota
    restarted.restore(DaySnapshot(thursday.date(), [], {}, [], [], 1))
    assert restarted.issue("bhxh", "none", on(thursday, 8)).ticket.shown == "E01"


def test_closing_an_area_leaves_its_waiting_citizens_callable() -> None:
    center = Center(rules(), on(WEDNESDAY, 8))
    waiting = center.issue("bhxh", "none", on(WEDNESDAY, 8)).ticket
    closed = Center(replace(rules(), areas=(rules().areas[0], replace(rules().areas[1], open=False))),
                    on(WEDNESDAY, 9))
    closed.restore(_snapshot_of(center))
    assert closed.waiting_counts()["bhxh"] == 1
    assert closed.next("1", on(WEDNESDAY, 9)) is not None and closed.counters["1"].current is not None
    assert closed.counters["1"].current.id == waiting.id


def _snapshot_of(center: Center) -> DaySnapshot:
    return DaySnapshot(center.day, list(center.tickets.values()), {}, [], [], len(center.tickets) + 1)


# --- the center config and the retained message -----------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "center.example.toml"


def config_with(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace("/tmp/qms-center.db", str(tmp_path / "center.db"))
    assert old in text, old
    path = tmp_path / "center.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_example_centers_hours_reach_the_devices_in_the_retained_config(tmp_path: Path) -> None:
    config = load(config_with(tmp_path, "", ""))
    assert config.rules.hours is not None and config.rules.hours.last_ticket_min == 15
    assert config.rules.hours.week[5] == () and date(2027, 9, 2) in config.rules.hours.closed_dates
    bhxh = next(a for a in config.rules.areas if a.id == "bhxh")
    assert bhxh.daily_quota == 80 and bhxh.hours is not None
    assert bhxh.hours.describe() == "từ thứ Hai đến thứ Sáu, 7h30–11h30"
    seen = CenterConfigMessage.from_wire(config_message(config).to_wire())
    assert seen.hours == config.rules.hours
    assert next(a for a in seen.areas if a.id == "bhxh").hours == bhxh.hours


@pytest.mark.parametrize(("old", "new", "said"), [
    ('weekdays = ["07:30-11:30", "13:30-17:00"]', 'weekdays = ["07:30-11:30", "11:00-17:00"]',
     "center.toml: [hours].weekdays: 11h00–17h00 overlaps 7h30–11h30; expected a list of"),
    ('weekdays = ["07:30-11:30", "13:30-17:00"]', 'weekdays = ["7h30-11h30"]',
     "center.toml: [hours].weekdays: '7h30-11h30' is not HH:MM-HH:MM"),
    ("last_ticket_min = 15\n\n", "last_ticket_min = 240\n\n",
     "center.toml: [hours].last_ticket_min: 240 minutes leaves no time to take a ticket in 13h30–17h00"),
    ('closed_dates = ["2027-01-01"', 'closed_dates = ["01/01/2027"', "center.toml: [hours].closed_dates: '01/01/2027'"),
    ('weekdays = ["07:30-11:30", "13:30-17:00"]', 'wednesday = ["07:30-11:30"]',
     "center.toml: [hours].wednesday: unknown key"),
    ("daily_quota = 80", "daily_quota = -1", "center.toml: [[areas]] #6.daily_quota: must be at least 0"),
])
def test_wrong_hours_are_one_line_naming_the_file_and_the_key(tmp_path: Path, old: str, new: str, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(config_with(tmp_path, old, new))
    assert str(refused.value).startswith(said), refused.value
    assert "\n" not in str(refused.value)


def test_an_areas_own_hours_keep_the_centers_closed_dates_and_cut_off(tmp_path: Path) -> None:
    config = load(config_with(tmp_path, "", ""))
    bhxh = next(a for a in config.rules.areas if a.id == "bhxh")
    assert bhxh.hours is not None and bhxh.hours.last_ticket_min == 15
    holiday = datetime(2027, 9, 2, 9, 0, tzinfo=HCM)  # a Thursday, Quốc khánh: in the center's closed_dates
    center = Center(config.rules, holiday)
    with pytest.raises(DomainError) as refused:
        center.issue("bhxh", "none", holiday)
    assert refused.value.code == "outside_hours"


def test_an_evening_session_is_called_buoi_toi() -> None:
    evening = Hours((parse_sessions(["07:30-11:30", "18:00-21:00"]),) * 7, last_ticket_min=30)
    assert evening.refusal(on(WEDNESDAY, 20, 40), Closed.LAST_TICKET_PASSED) == (
        "Bộ phận đã hết giờ nhận phiếu buổi tối (nhận phiếu đến 20h30). Mời công dân quay lại lúc 7h30 ngày mai.")
