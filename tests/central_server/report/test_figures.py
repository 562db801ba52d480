"""Property tests: on any day of random citizens, every sheet of the report adds up to "Tổng hợp".

Citizens come by any channel (issue 18): walk-in, a booked slot (its start before or after the check-in) or a
remote number (taken before the check-in); and the days have bookings in every state. A called ticket may carry
dossiers (issue 19), attached by an official or at a counter where nobody signed in; a phone rating may carry a comment.

The citizens are drawn as the service stores them (see central_server/domain/center.py): a called,
serving, served or missed ticket has the counter that called it, a waiting one has none; a transfer
closes the ticket (state `transferred`, its counter kept) and opens a waiting one in another area with
the same issue time; only a served ticket is rated, at the counter that served it.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from central_server.domain.dossiers import Dossier
from central_server.report.figures import (
    CHANNEL_NAMES,
    BookingRecord,
    Cell,
    RatingRow,
    Report,
    ReportArea,
    ReportCenter,
    ReportCounter,
    Sheet,
    TicketRecord,
    build,
    citizens,
    group,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_DAY = date(2026, 12, 1)
AREAS = (ReportArea("dat-dai", "Đất đai", 30), ReportArea("tu-phap", "Tư pháp – Hộ tịch", 20),
         ReportArea("bhxh", "Bảo hiểm xã hội", 45))
REMOVED_AREA = "cu"  # tickets of an area since taken out of the config
COUNTERS = (ReportCounter("1", "Quầy 1"), ReportCounter("2", "Quầy 2"), ReportCounter("3", "Quầy 3"))
REMOVED_COUNTER = "9"
LEVELS = (("very_satisfied", "satisfied", "dissatisfied"), ("good", "bad"),
          ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"))
COUNTED = ("Số phiếu đã cấp", "Phiếu ưu tiên", "Đã phục vụ", "Vắng mặt", "Chưa xong", "Lượt đánh giá")
ENDS = ("served", "served", "served", "missed", "waiting", "called", "serving")


@dataclass
class Drawn:
    """A random period: its tickets, first calls and ratings as the report reads them from the database."""

    days: int
    levels: tuple[str, ...]
    tickets: list[TicketRecord]
    first_calls: dict[str, datetime]
    ratings: list[RatingRow]
    as_of: datetime
    bookings: list[BookingRecord]


@st.composite
def periods(draw: st.DrawFn) -> Drawn:
    days = draw(st.integers(1, 3))
    levels = draw(st.sampled_from(LEVELS))
    stored_zone = draw(st.sampled_from([HCM, UTC]))  # the report must read hours in the center's zone either way
    area_ids = [a.id for a in AREAS] * 3 + [REMOVED_AREA]
    counters = st.sampled_from([c.id for c in COUNTERS] * 3 + [REMOVED_COUNTER])
    minutes = st.integers(0, 150)
    tickets: list[TicketRecord] = []
    first_calls: dict[str, datetime] = {}
    ratings: list[RatingRow] = []
    seq: dict[date, int] = Tally()

    def next_id(day: date) -> str:
        seq[day] += 1
        return f"{day:%Y%m%d}-{seq[day]:06d}"

    def dossiers(counter: str, called: datetime) -> tuple[Dossier, ...]:
        official = draw(st.sampled_from(["lan.nt", "binh.tt", None]))
        return tuple(Dossier(f"{called:%y%m%d}-{len(seq)}-{sum(seq.values())}-{n}", called, official, counter)
                     for n in range(draw(st.sampled_from([0, 0, 1, 2]))))

    for _ in range(draw(st.integers(0, 40))):
        day = FIRST_DAY + timedelta(days=draw(st.integers(0, days - 1)))
        # from 06:00 to 21:59, so a late citizen is now and then served after midnight
        issued = datetime(day.year, day.month, day.day, 6, tzinfo=HCM) + timedelta(minutes=draw(st.integers(0, 959)))
        priority = draw(st.sampled_from(["none", "none", "none", "elderly", "disabled"]))
        area = draw(st.sampled_from(area_ids))
        channel = draw(st.sampled_from(["walk_in", "walk_in", "walk_in", "booked", "remote"]))
        since = {"walk_in": None, "booked": issued + timedelta(minutes=draw(st.integers(-40, 40))),
                 "remote": issued - timedelta(minutes=draw(st.integers(0, 60)))}[channel]
        ticket_id, came_from, now = next_id(day), None, issued
        for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2]))):  # a transfer chain now and then
            called = now + timedelta(minutes=draw(minutes))
            moved_at = called + timedelta(minutes=draw(st.integers(1, 30)))
            moved_id = next_id(day)
            moved_by = draw(counters)
            tickets.append(_record(ticket_id, day, area, priority, issued, "transferred", moved_by, called,
                                   None, moved_at, stored_zone, transferred_to=moved_id, transferred_from=came_from,
                                   channel=channel, since=since, dossiers=dossiers(moved_by, called)))
            first_calls[ticket_id] = called
            area = draw(st.sampled_from([a for a in area_ids if a != area]))
            ticket_id, came_from, now = moved_id, ticket_id, moved_at
        end = draw(st.sampled_from(ENDS))
        if end == "waiting":
            tickets.append(_record(ticket_id, day, area, priority, issued, end, None, None, None, None, stored_zone,
                                   transferred_from=came_from, channel=channel, since=since))
            continue
        counter = draw(counters)
        called = now + timedelta(minutes=draw(minutes))
        first_calls[ticket_id] = called
        started = called + timedelta(minutes=draw(st.integers(0, 5))) if draw(st.booleans()) else None
        finished = (started or called) + timedelta(minutes=draw(st.integers(1, 90)))
        if end == "missed":
            started = None
        tickets.append(_record(ticket_id, day, area, priority, issued, end, counter, called, started,
                               finished if end in ("served", "missed") else None, stored_zone,
                               transferred_from=came_from, channel=channel, since=since,
                               dossiers=dossiers(counter, called)))
        if end == "served" and draw(st.booleans()):
            comment = draw(st.sampled_from([None, None, "Chờ lâu, không được hướng dẫn."]))
            ratings.append(RatingRow(counter, ticket_id, draw(st.sampled_from(levels)),
                                     channel="buttons" if comment is None else "phone", comment=comment))
    last_day = FIRST_DAY + timedelta(days=days - 1)
    as_of = datetime(last_day.year, last_day.month, last_day.day, 8, tzinfo=HCM) + timedelta(
        minutes=draw(st.integers(0, 24 * 60)))
    bookings = []
    for n in range(draw(st.sampled_from([0, 0, 5, 20]))):
        day = FIRST_DAY + timedelta(days=draw(st.integers(0, days - 1)))
        closes = datetime(day.year, day.month, day.day, 7, tzinfo=HCM) + timedelta(minutes=draw(st.integers(0, 900)))
        bookings.append(BookingRecord(f"{n:08d}", day, draw(st.sampled_from(area_ids)),
                                      draw(st.sampled_from(["booked", "remote"])),
                                      draw(st.sampled_from(["booked", "checked_in", "cancelled", "no_show", "late"])),
                                      closes.astimezone(stored_zone)))
    return Drawn(days, levels, tickets, first_calls, ratings, as_of, bookings)


def _record(ticket_id: str, day: date, area: str, priority: str, issued: datetime, state: str, counter: str | None,
            called: datetime | None, started: datetime | None, finished: datetime | None, zone: Any,
            transferred_to: str | None = None, transferred_from: str | None = None, channel: str = "walk_in",
            since: datetime | None = None, dossiers: tuple[Dossier, ...] = ()) -> TicketRecord:
    def stored(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(zone)

    return TicketRecord(ticket_id, day, area, ticket_id[-4:], priority, issued.astimezone(zone), state, counter,
                        stored(called), stored(started), stored(finished), transferred_from, transferred_to, channel,
                        stored(since), dossiers=dossiers)


def report_of(drawn: Drawn) -> Report:
    center = ReportCenter("Trung tâm thử", HCM, AREAS, COUNTERS, drawn.levels)
    people = citizens(drawn.tickets, drawn.first_calls, drawn.ratings)
    return build(center, FIRST_DAY, FIRST_DAY + timedelta(days=drawn.days - 1), people, drawn.as_of,
                 bookings=drawn.bookings)


def sheets(report: Report) -> dict[str, Sheet]:
    return {t.title: t for t in report.tables}


def column(table: Sheet, name: str) -> list[Cell]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def total(table: Sheet, name: str, rows: list[tuple[Cell, ...]] | None = None) -> int:
    index = table.columns.index(name)
    values = [row[index] for row in (table.rows if rows is None else rows)]
    assert all(isinstance(v, int) for v in values), (name, values)
    return sum(v for v in values if isinstance(v, int))


def summary(report: Report) -> dict[str, Cell]:
    return {str(row[0]): row[1] for row in sheets(report)["Tổng hợp"].rows}


@settings(max_examples=300, deadline=None)
@given(periods())
def test_the_areas_and_the_days_add_up_to_the_summary(drawn: Drawn) -> None:
    report = report_of(drawn)
    whole = summary(report)
    assert whole["Số phiếu đã cấp"] == len(report.people)
    assert whole["Đã phục vụ"] + whole["Vắng mặt"] + whole["Chưa xong"] == whole["Số phiếu đã cấp"]  # type: ignore[operator]
    for title in ("Theo lĩnh vực", "Theo ngày"):
        table = sheets(report)[title]
        for name in COUNTED:
            assert total(table, name) == whole[name], (title, name)
        for row in table.rows:
            cells = dict(zip(table.columns, row, strict=True))
            assert cells["Đã phục vụ"] + cells["Vắng mặt"] + cells["Chưa xong"] == cells["Số phiếu đã cấp"]  # type: ignore[operator]
    assert len(column(sheets(report)["Theo ngày"], "Ngày")) == len({p.first.day for p in report.people})


@settings(max_examples=300, deadline=None)
@given(periods())
def test_what_the_shares_and_minutes_rest_on_adds_up_too(drawn: Drawn) -> None:
    """Shares and means cannot be summed, but the waits, services and counts under them can."""
    report = report_of(drawn)
    whole = report.total
    targets = {a.id: a.target_wait_min for a in report.center.areas} | {REMOVED_AREA: 30}
    by_day = [group([p for p in report.people if p.first.day == day], report.center, targets, report.as_of)
              for day in sorted({p.first.day for p in report.people})]
    for parts in (list(report.by_area.values()), by_day):
        assert sorted(w for g in parts for w in g.waits) == sorted(whole.waits)
        assert sorted(s for g in parts for s in g.services) == sorted(whole.services)
        assert sum(g.within_target for g in parts) == whole.within_target
        assert sum(g.judged for g in parts) == whole.judged
        assert sum(g.satisfied for g in parts) == whole.satisfied
        assert sum((g.ratings for g in parts), Tally()) == whole.ratings
    # every served citizen was served at a counter: the counters' services are all of them
    assert sorted(s for g in report.by_counter.values() for s in g.services) == sorted(whole.services)
    assert sum(g.satisfied for g in report.by_counter.values()) == whole.satisfied


@settings(max_examples=300, deadline=None)
@given(periods())
def test_the_hours_hold_every_arrival_and_every_citizen_served(drawn: Drawn) -> None:
    report = report_of(drawn)
    whole = summary(report)
    hours = sheets(report)["Theo giờ"]
    areas = sheets(report)["Theo lĩnh vực"]
    assert total(hours, "Tổng số phiếu đã cấp") == whole["Số phiếu đã cấp"]
    assert total(hours, "Đã phục vụ") == whole["Đã phục vụ"]
    for row in hours.rows:
        assert sum(row[1:-2]) == row[-2]  # type: ignore[arg-type]
    for code, name in zip(column(areas, "Mã"), column(areas, "Lĩnh vực"), strict=True):
        area_issued = areas.rows[column(areas, "Mã").index(code)][areas.columns.index("Số phiếu đã cấp")]
        assert total(hours, f"Lượt đến – {name}") == area_issued, code
    labels = [str(h) for h in column(hours, "Giờ")]
    assert len(set(labels)) == len(labels)
    assert labels == sorted(labels)
    for person in report.people:
        assert f"{report.local(person.first.issued_at).hour:02d}:00" in {label[:5] for label in labels}
        if person.last.state == "served" and person.last.finished_at is not None:
            assert f"{report.local(person.last.finished_at).hour:02d}:00" in {label[:5] for label in labels}


@settings(max_examples=300, deadline=None)
@given(periods())
def test_the_counters_and_the_ratings_add_up_to_the_summary(drawn: Drawn) -> None:
    report = report_of(drawn)
    whole = summary(report)
    counters = sheets(report)["Theo quầy"]
    assert total(counters, "Số lượt phục vụ") == whole["Đã phục vụ"]
    assert total(counters, "Gọi nhưng vắng mặt") == whole["Vắng mặt"]  # a no-show was called at a counter
    assert total(counters, "Lượt đánh giá") == whole["Lượt đánh giá"]
    assert total(counters, "Trong đó ưu tiên") <= whole["Phiếu ưu tiên"]  # type: ignore[operator]
    assert total(counters, "Đã gọi, chưa xong") <= whole["Chưa xong"]  # type: ignore[operator]
    for row in counters.rows:
        cells = dict(zip(counters.columns, row, strict=True))
        assert cells["Trong đó ưu tiên"] <= cells["Số lượt phục vụ"]  # type: ignore[operator]
        assert cells["Lượt đánh giá"] <= cells["Số lượt phục vụ"]  # type: ignore[operator]
    ratings = sheets(report)["Đánh giá"]
    level_columns = ratings.columns[2:2 + len(drawn.levels)]
    center = [row for row in ratings.rows if row[0] == "Toàn trung tâm"]
    assert len(center) == 1
    assert total(ratings, "Tổng", center) == whole["Lượt đánh giá"] == len(drawn.ratings)
    for kind in ("Lĩnh vực", "Quầy"):
        rows = [row for row in ratings.rows if row[0] == kind]
        for name in (*level_columns, "Tổng"):
            assert total(ratings, name, rows) == total(ratings, name, center), (kind, name)
    for row in ratings.rows:
        assert sum(row[2:2 + len(drawn.levels)]) == row[2 + len(drawn.levels)]  # type: ignore[arg-type]


CHANNEL_COUNTED = ("Số phiếu đã cấp", "Đã phục vụ", "Vắng mặt", "Chưa xong")
BOOKING_COUNTED = ("Lượt đặt trước", "Đã huỷ", "Đến đúng hẹn", "Đến muộn (nhận số thường)", "Không đến",
                   "Chưa đến, còn trong khung giờ")


@settings(max_examples=300, deadline=None)
@given(periods())
def test_the_channels_add_up_to_the_summary_and_the_areas_to_their_channel(drawn: Drawn) -> None:
    report = report_of(drawn)
    whole = summary(report)
    channels = sheets(report)["Theo kênh"]
    center = [row for row in channels.rows if row[0] == "Tất cả lĩnh vực" and row[1] != "Tất cả các kênh"]
    assert center[0][1] == "Lấy số tại ki-ốt"
    used = {p.first.channel for p in report.people} | {b.channel for b in drawn.bookings}
    assert {row[1] for row in center} == {CHANNEL_NAMES[c] for c in used | {"walk_in"}}
    for name in CHANNEL_COUNTED:
        assert total(channels, name, center) == whole[name], name
    if used <= {"walk_in"}:  # nobody booked: the walk-ins' row and the tickets' columns, nothing more
        assert len(channels.rows) == 1 and len(channels.columns) == 8
        return
    every = [row for row in channels.rows if row[1] == "Tất cả các kênh"]
    assert len(every) == 1
    booking_rows = [row for row in center if row[1] != "Lấy số tại ki-ốt"]
    for name in BOOKING_COUNTED:
        assert total(channels, name, booking_rows) == total(channels, name, every), name
    assert total(channels, "Lượt đặt trước", every) == len(drawn.bookings)
    for row in channels.rows:
        cells = dict(zip(channels.columns, row, strict=True))
        assert cells["Đã phục vụ"] + cells["Vắng mặt"] + cells["Chưa xong"] == cells["Số phiếu đã cấp"]  # type: ignore[operator]
        if row[1] != "Lấy số tại ki-ốt":
            assert cells["Lượt đặt trước"] == sum(cells[n] for n in BOOKING_COUNTED[1:])  # type: ignore[misc]
    for channel_row in center:
        by_area = [row for row in channels.rows if row[0] != "Tất cả lĩnh vực" and row[1] == channel_row[1]]
        for name in CHANNEL_COUNTED + (BOOKING_COUNTED if channel_row[1] != "Lấy số tại ki-ốt" else ()):
            assert total(channels, name, by_area) == channel_row[channels.columns.index(name)], (channel_row[1], name)
    groups = report.by_channel()
    assert sorted(w for g in groups.values() for w in g.waits) == sorted(
        w for p in report.people if (w := p.channel_wait_min) is not None)
    assert all(w >= 0 for g in groups.values() for w in g.waits)
    for channel, figures in groups.items():  # only a booked slot is called against its start
        assert (figures.judged, figures.delays) == (0, []) or channel == "booked"
        assert figures.punctual <= len(figures.delays) <= figures.judged


DOSSIER_COUNTED = ("Hồ sơ tiếp nhận", "Hồ sơ được đánh giá", "Không hài lòng", "Có phản ánh, kiến nghị",
                   "Không hài lòng hoặc có phản ánh", "Lượt phục vụ không gắn hồ sơ",
                   "Trong đó có đánh giá (không được tính)")


@settings(max_examples=300, deadline=None)
@given(periods())
def test_the_dossiers_areas_and_officials_add_up_to_the_center_and_to_the_lists(drawn: Drawn) -> None:
    """Issue 19: each dossier counts once in its area and once under its official; the lists hold each dossier
    received (none of a citizen marked missed), and those rated "không hài lòng" or complained about; a served
    citizen either has a dossier or counts as served without one."""
    report = report_of(drawn)
    ratios = sheets(report)["Hài lòng theo QĐ 766"]
    center = [row for row in ratios.rows if row[0] == "Toàn trung tâm"]
    assert len(center) == 1
    for kind in ("Lĩnh vực", "Cán bộ"):
        rows = [row for row in ratios.rows if row[0] == kind]
        for name in DOSSIER_COUNTED:
            assert total(ratios, name, rows) == total(ratios, name, center), (kind, name)
    count = {name: total(ratios, name, center) for name in DOSSIER_COUNTED}
    # received: each code once, from citizens served or still at it (one marked missed was never received)
    received = {d.code for p in report.people if p.last.state != "missed" for _, d in p.dossiers}
    assert count["Hồ sơ tiếp nhận"] == len(received) == len(sheets(report)["Hồ sơ đã tiếp nhận"].rows)
    assert count["Không hài lòng hoặc có phản ánh"] == len(sheets(report)["Hồ sơ không hài lòng"].rows)
    assert max(count["Không hài lòng"], count["Có phản ánh, kiến nghị"]) <= count["Không hài lòng hoặc có phản ánh"]
    assert count["Không hài lòng hoặc có phản ánh"] <= count["Hồ sơ được đánh giá"] <= count["Hồ sơ tiếp nhận"]
    with_dossiers = sum(1 for p in report.people if p.last.state == "served" and p.dossiers)
    assert count["Lượt phục vụ không gắn hồ sơ"] + with_dossiers == summary(report)["Đã phục vụ"]
