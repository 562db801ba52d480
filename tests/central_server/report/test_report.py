"""`central_server report`: the figures of a day built by hand through the real service and SQLite file."""

from __future__ import annotations

import csv
import json
import logging
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from PIL import Image

from central_server.__main__ import main as server_main
from central_server.config import load
from central_server.report.command import make_report
from central_server.report.figures import percentile
from central_server.report.output import cell_text, header_chars, wrap
from central_server.service import CenterService
from central_server.storage.sqlite import SqliteStorage
from protocol.link import Message
from protocol.topics import Topics
from tests.harness import CENTER_TOML, sqlite_file

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 23)
EVENING = datetime(2026, 11, 23, 18, 0, tzinfo=HCM)  # the figures are taken after the day


class Day:
    """The real service on a real SQLite file, driven at chosen times of the day."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "center.toml"
        self.path.write_text(CENTER_TOML.format(center_id="bc", url="mqtt://127.0.0.1:1883", db=folder / "center.db",
                                                day_starts="00:00", window_s=120), encoding="utf-8")
        self.config = load(self.path)
        self.topics = Topics("bc")
        self.now = datetime(2026, 11, 23, 7, 0, tzinfo=HCM)
        self.storage = SqliteStorage(sqlite_file(self.config))
        self.service = CenterService(self.config, self.storage, lambda: self.now)

    def at(self, hhmm: str, day: date = DAY) -> Day:
        hours, minutes = map(int, hhmm.split(":"))
        self.now = datetime(day.year, day.month, day.day, hours, minutes, tzinfo=HCM)
        return self

    def _send(self, topic: str, body: dict[str, Any], response_topic: str) -> dict[str, Any]:
        out = self.service.handle_batch([Message(topic, json.dumps(body).encode(), response_topic, b"c")])
        reply: dict[str, Any] = json.loads(next(o.payload for o in out if o.topic == response_topic))
        assert reply["ok"] is True, reply
        return reply

    def ticket(self, area: str, **extra: str) -> str:
        body = {"v": 1, "request_id": uuid.uuid4().hex, "area": area, **extra}
        reply = self._send(self.topics.ticket_request("k1"), body, self.topics.ticket_response("k1"))
        return str(reply["ticket"]["id"])

    def command(self, counter: str, action: str, **extra: str) -> dict[str, Any]:
        body = {"v": 1, "request_id": uuid.uuid4().hex, "action": action, **extra}
        return self._send(self.topics.counter_command(counter), body, self.topics.counter_command_response(counter))

    def rate(self, counter: str, ticket_id: str, level: str) -> None:
        body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": ticket_id, "level": level,
                "pressed_at": self.now.isoformat()}
        self._send(self.topics.counter_rating(counter), body, self.topics.rating_ack(counter))

    def close(self) -> None:
        self.storage.close()


@pytest.fixture
def day(tmp_path: Path) -> Day:
    """The morning of 23/11/2026 written out in the module's test below; one more ticket the next day."""
    d = Day(tmp_path)
    a1 = d.at("07:30").ticket("dat-dai")
    d.at("07:40").ticket("dat-dai")  # A2: called, then a no-show
    d.at("07:45").ticket("tu-phap", priority="elderly")  # B1: transferred to dat-dai, served there
    d.at("08:05").ticket("dat-dai")  # A3
    assert d.at("08:10").command("1", "next")["ticket"]["id"] == a1  # A1 waited 40 min
    d.at("08:12").command("2", "next")  # B1, the priority ticket: waited 27 min
    d.at("08:20").command("1", "finish")  # A1 served in 10 min
    d.at("08:21").rate("1", a1, "very_satisfied")
    d.at("08:22").command("1", "next")  # A2 waited 42 min
    d.at("08:25").command("2", "transfer", to_area="dat-dai")
    b1_moved = d.at("08:26").command("2", "next")["ticket"]["id"]  # B1 again, first in dat-dai by priority
    d.at("08:30").command("1", "skip")  # A2 missed
    d.at("08:31").command("1", "next")  # A3 waited 26 min
    d.at("08:40").command("2", "finish")  # B1 served in 14 min
    d.at("08:41").rate("2", b1_moved, "dissatisfied")
    d.at("08:45").command("1", "finish")  # A3 served in 14 min, not rated
    n1 = d.at("09:05").ticket("nho")
    d.at("09:06").command("3", "next")  # N1 waited 1 min
    d.at("09:10").command("3", "start")
    d.at("09:16").command("3", "finish")  # N1 served in 6 min from its start
    d.at("09:17").rate("3", n1, "satisfied")
    d.at("09:20").ticket("dat-dai")  # A4: never called
    d.at("07:30", DAY + timedelta(days=1)).ticket("dat-dai")
    d.at("07:50", DAY + timedelta(days=1)).command("1", "next")
    d.at("08:00", DAY + timedelta(days=1)).command("1", "finish")
    d.close()
    return d


def summary_of(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {str(row[0]): row[1] for row in rows}


def test_the_summary_is_the_hand_counted_day(day: Day) -> None:
    report = make_report(day.config, DAY, DAY, EVENING)
    summary = summary_of(report.tables[0].rows)
    assert (summary["Từ ngày"], summary["Đến ngày"]) == (DAY, DAY)
    assert summary["Số phiếu đã cấp"] == 6 and summary["Phiếu ưu tiên"] == 1
    assert summary["Đã phục vụ"] == 4 and summary["Vắng mặt"] == 1 and summary["Chưa xong"] == 1
    assert summary["Chờ trung bình (phút)"] == 27.2  # (40 + 27 + 42 + 26 + 1) / 5
    assert summary["90 % công dân chờ không quá (phút)"] == 42.0
    # 27, 26 and 1 minutes are within 30; 40 and 42 are not, nor A4, never called, waiting since 09:20
    assert summary["Tỷ lệ gọi trong thời gian chờ mục tiêu"] == 0.5
    assert summary["Phục vụ trung bình (phút)"] == 11.0  # (10 + 14 + 14 + 6) / 4
    assert summary["Lượt đánh giá"] == 3
    assert summary["Tỷ lệ hài lòng trở lên"] == 0.6667
    assert summary["Đánh giá trên mỗi lượt phục vụ"] == 0.75


def test_areas_counters_hours_and_ratings_are_the_hand_counted_day(day: Day) -> None:
    report = make_report(day.config, DAY, DAY, EVENING)
    tables = {t.slug: t for t in report.tables}
    areas = {row[0]: row for row in tables["theo-linh-vuc"].rows}
    #          issued prio served missed open mean  p90   within  service rated sat   per served
    assert areas["dat-dai"][3:] == (4, 0, 2, 1, 1, 36.0, 42.0, 0.25, 12.0, 1, 1.0, 0.5)
    assert areas["tu-phap"][3:] == (1, 1, 1, 0, 0, 27.0, 27.0, 1.0, 14.0, 1, 0.0, 1.0)
    assert areas["nho"][3:] == (1, 0, 1, 0, 0, 1.0, 1.0, 1.0, 6.0, 1, 1.0, 1.0)
    assert areas["dong"][3:] == (0, 0, 0, 0, 0, None, None, None, None, 0, None, None)
    assert areas["tu-phap"][1:3] == ("Tư pháp – Hộ tịch", 30)
    assert tables["theo-quay"].columns == ("Mã", "Quầy", "Số lượt phục vụ", "Trong đó ưu tiên", "Gọi nhưng vắng mặt",
                                           "Đã gọi, chưa xong", "Phục vụ trung bình (phút)", "Lượt đánh giá",
                                           "Tỷ lệ hài lòng trở lên", "Đánh giá trên mỗi lượt phục vụ")
    counters = {row[0]: row[2:] for row in tables["theo-quay"].rows}
    #                      served prio missed open service rated sat  per served
    assert counters["1"] == (2, 0, 1, 0, 12.0, 1, 1.0, 0.5)  # A1 and A3 served, A2 called there and missed
    assert counters["2"] == (1, 1, 0, 0, 14.0, 1, 0.0, 1.0)  # B1 after its transfer, not A2's counter
    assert counters["3"] == (1, 0, 0, 0, 6.0, 1, 1.0, 1.0)
    hours = tables["theo-gio"]
    assert hours.columns[1:] == ("Lượt đến – Đất đai", "Lượt đến – Tư pháp – Hộ tịch", "Lượt đến – Lĩnh vực nhỏ",
                                 "Lượt đến – Lĩnh vực tạm đóng", "Tổng số phiếu đã cấp", "Đã phục vụ")
    assert hours.rows == [("07:00–08:00", 2, 1, 0, 0, 3, 0), ("08:00–09:00", 1, 0, 0, 0, 1, 3),
                          ("09:00–10:00", 1, 0, 1, 0, 2, 1)]
    ratings = {(row[0], row[1]): row[2:] for row in tables["danh-gia"].rows}
    assert tables["danh-gia"].columns[2:5] == ("Rất hài lòng", "Hài lòng", "Không hài lòng")
    # each level, the total, of it by the buttons and by phone, the late ones among them (none: every terminal
    # delivered in time), the share
    assert tables["danh-gia"].columns[5:8] == ("Tổng", "Đánh giá bằng nút bấm tại quầy", "Đánh giá qua điện thoại")
    assert ratings[("Quầy", "Quầy 1")] == (1, 0, 0, 1, 1, 0, 0, 1.0)
    assert ratings[("Quầy", "Quầy 2")] == (0, 0, 1, 1, 1, 0, 0, 0.0)
    assert ratings[("Lĩnh vực", "Lĩnh vực nhỏ")] == (0, 1, 0, 1, 1, 0, 0, 1.0)
    assert ratings[("Toàn trung tâm", "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm")] == (
        1, 1, 1, 3, 3, 0, 0, 0.6667)


def test_a_center_without_bookings_has_one_channel_and_no_columns_of_bookings(day: Day) -> None:
    """Issue 18: with nobody booked, "Theo kênh" is the walk-ins' row, the summary's figures, and nothing empty."""
    report = make_report(day.config, DAY, DAY, EVENING)
    channels = next(t for t in report.tables if t.slug == "theo-kenh")
    assert channels.title == "Theo kênh"
    assert channels.columns == ("Lĩnh vực", "Kênh", "Số phiếu đã cấp", "Đã phục vụ", "Vắng mặt", "Chưa xong",
                                "Chờ trung bình (phút)", "90 % công dân chờ không quá (phút)")
    assert channels.rows == [("Tất cả lĩnh vực", "Lấy số tại ki-ốt", 6, 4, 1, 1, 27.2, 42.0)]


def test_a_period_takes_every_day_in_it(day: Day) -> None:
    two_days = make_report(day.config, DAY, DAY + timedelta(days=1), EVENING + timedelta(days=1))
    assert summary_of(two_days.tables[0].rows)["Số phiếu đã cấp"] == 7
    assert [row[0] for row in two_days.tables[3].rows] == [DAY, DAY + timedelta(days=1)]
    assert two_days.tables[3].rows[1][1:4] == (1, 0, 1)
    later = make_report(day.config, DAY + timedelta(days=2), DAY + timedelta(days=9), EVENING)
    assert summary_of(later.tables[0].rows)["Số phiếu đã cấp"] == 0


def test_a_citizen_still_uncalled_counts_against_the_target_only_once_past_it(day: Day) -> None:
    """A4 took a ticket at 09:20 and was never called: at 09:45 nothing is known yet, at 09:51 it is late."""
    share = "Tỷ lệ gọi trong thời gian chờ mục tiêu"
    early = summary_of(make_report(day.config, DAY, DAY, datetime(2026, 11, 23, 9, 45, tzinfo=HCM)).tables[0].rows)
    late = summary_of(make_report(day.config, DAY, DAY, datetime(2026, 11, 23, 9, 51, tzinfo=HCM)).tables[0].rows)
    assert (early[share], late[share]) == (0.6, 0.5)


def test_the_command_writes_a_workbook_csv_files_and_charts(day: Day, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "report"
    with caplog.at_level(logging.INFO):
        assert server_main(["report", "--config", str(day.path), "--from", "2026-11-23", "--to", "2026-11-23",
                            "--out", str(out)]) == 0
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]
    book = load_workbook(out / "bao-cao-2026-11-23_2026-11-23.xlsx")
    assert book.sheetnames == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo ngày", "Theo giờ", "Đánh giá",
                               "Cán bộ", "Theo kênh", "Hài lòng theo QĐ 766", "Hồ sơ không hài lòng",
                               "Hồ sơ đã tiếp nhận"]  # each issue's sheets after the others': they keep their place
    summary = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Số phiếu đã cấp"] == 6 and summary["Chờ trung bình (phút)"] == 27.2
    assert summary["Từ ngày"] == summary["Đến ngày"] == datetime(2026, 11, 23)  # a date cell (Excel has no plain date)
    formats = {row[0].value: row[1].number_format for row in book["Tổng hợp"].iter_rows(min_row=2)}
    assert formats["Tỷ lệ gọi trong thời gian chờ mục tiêu"] == "0.0 %" and formats["Tỷ lệ hài lòng trở lên"] == "0.0 %"
    assert formats["90 % công dân chờ không quá (phút)"] == "0.0" and formats["Số phiếu đã cấp"] == "General"
    assert formats["Từ ngày"] == formats["Đến ngày"] == "dd/mm/yyyy"
    days = book["Theo ngày"]
    assert days["A2"].value == datetime(2026, 11, 23) and days["A2"].number_format == "dd/mm/yyyy"
    assert days["I1"].value == "Tỷ lệ gọi trong thời gian chờ mục tiêu" and days["I2"].number_format == "0.0 %"
    with (out / "csv" / "theo-linh-vuc.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["Mã", "Lĩnh vực", "Thời gian chờ mục tiêu (phút)"]
    assert rows[1] == ["dat-dai", "Đất đai", "30", "4", "0", "2", "1", "1", "36,0", "42,0", "25,0 %", "12,0", "1",
                       "100,0 %", "0,50"]
    assert rows[4][3:8] == ["0", "0", "0", "0", "0"] and rows[4][8:] == ["", "", "", "", "0", "", ""]  # nobody came
    with (out / "csv" / "tong-hop.csv").open(encoding="utf-8-sig", newline="") as handle:
        csv_summary = dict(csv.reader(handle))
    assert csv_summary["Từ ngày"] == csv_summary["Đến ngày"] == "23/11/2026"
    assert csv_summary["Tỷ lệ gọi trong thời gian chờ mục tiêu"] == "50,0 %"
    assert csv_summary["Tỷ lệ hài lòng trở lên"] == "66,7 %"
    assert csv_summary["Chờ trung bình (phút)"] == "27,2" and csv_summary["Đánh giá trên mỗi lượt phục vụ"] == "0,75"
    with (out / "csv" / "theo-ngay.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["Ngày", "23/11/2026"]
    charts = sorted((out / "charts").glob("*.png"))
    assert [c.stem for c in charts] == sorted(["den-theo-gio", "phan-bo-thoi-gian-cho", "ty-le-trong-muc-tieu",
                                               "hai-long-theo-quay", "hai-long-theo-linh-vuc", "phieu-vang-mat"])
    for chart in charts:
        with Image.open(chart) as image:
            assert image.size == (1000, 550)
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
            assert len(colours) > 50, f"{chart.name} looks empty"


def test_every_column_is_as_wide_as_its_header_needs_and_no_wider_than_its_text(day: Day, tmp_path: Path) -> None:
    """No word of a header is cut, a header takes at most three lines, and no column is absurdly wide."""
    out = tmp_path / "report"
    assert server_main(["report", "--config", str(day.path), "--from", "2026-11-23", "--to", "2026-11-23",
                        "--out", str(out)]) == 0
    book = load_workbook(out / "bao-cao-2026-11-23_2026-11-23.xlsx")
    assert_columns_fit(book)
    areas = book["Theo lĩnh vực"]
    widths = {c.value: areas.column_dimensions[get_column_letter(i)].width for i, c in enumerate(areas[1], start=1)}
    assert widths["Tỷ lệ gọi trong thời gian chờ mục tiêu"] < len("Tỷ lệ gọi trong thời gian chờ mục tiêu")


def assert_columns_fit(book: Workbook) -> None:
    """Every sheet: no word of a header cut, a header on at most three lines, no column absurdly wide."""
    for sheet in book.worksheets:
        header = [str(cell.value) for cell in sheet[1]]
        lines = 1
        for index, text in enumerate(header, start=1):
            width = sheet.column_dimensions[get_column_letter(index)].width
            longest = max(len(word) for word in text.split())
            assert width >= longest + 1, f"{sheet.title}: {text!r} cut at width {width}"
            assert len(wrap(text, header_chars(width))) <= 3, f"{sheet.title}: {text!r} on more than three lines"
            cells = [len(str(c.value)) for c in sheet[get_column_letter(index)][1:] if c.value is not None]
            assert width <= max(24, len(text) / 2 + 4, 1.1 * max(cells, default=0) + 4), f"{sheet.title}: {text!r}"
            assert width <= 60
            lines = max(lines, len(wrap(text, header_chars(width))))
            assert sheet.cell(1, index).alignment.wrap_text
        assert sheet.row_dimensions[1].height >= 15 * lines, f"{sheet.title}: the header row is cut"


def test_cells_read_as_vietnamese_writes_them() -> None:
    assert cell_text("share", 0.625) == "62,5 %" and cell_text("share", 1.0) == "100,0 %"
    assert cell_text("minutes", 21.3) == "21,3" and cell_text("minutes", 21.3, unit=True) == "21,3 phút"
    assert cell_text("minutes", 7.0, unit=True) == "7,0 phút" and cell_text("ratio", 0.75) == "0,75"
    assert cell_text("count", 93) == "93" and cell_text("count", None) == "" and cell_text("share", None) == ""
    assert cell_text("text", "Quầy 1") == "Quầy 1" and cell_text("count", date(2026, 12, 2)) == "02/12/2026"


def test_the_hourly_sheet_has_every_hour_in_which_a_citizen_was_served(tmp_path: Path) -> None:
    """Served counts by the hour the service finished: 11:00-12:00 is a row though nobody arrived in it."""
    d = Day(tmp_path)
    d.at("09:40").ticket("dat-dai")
    d.at("10:50").ticket("tu-phap")
    d.at("10:55").command("1", "next")
    d.at("11:05").command("1", "finish")  # 09:40's citizen, served in the next-but-one hour
    d.at("11:06").command("2", "next")
    d.at("12:10").command("2", "finish")
    d.close()
    report = make_report(d.config, DAY, DAY, EVENING)
    tables = {t.slug: t for t in report.tables}
    assert tables["theo-gio"].rows == [("09:00–10:00", 1, 0, 0, 0, 1, 0), ("10:00–11:00", 0, 1, 0, 0, 1, 0),
                                       ("11:00–12:00", 0, 0, 0, 0, 0, 1), ("12:00–13:00", 0, 0, 0, 0, 0, 1)]
    assert summary_of(tables["tong-hop"].rows)["Đã phục vụ"] == 2


@pytest.mark.parametrize(("args", "says"), [
    (["--from", "2026-13-01", "--to", "2026-11-23"], "--from: expected a date YYYY-MM-DD"),
    (["--from", "2026-11-24", "--to", "2026-11-23"], "--to 2026-11-23 is before --from 2026-11-24"),
])
def test_wrong_dates_are_one_line_and_exit_2(day: Day, tmp_path: Path, args: list[str], says: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert server_main(["report", "--config", str(day.path), *args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_no_database_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "center.toml"
    config.write_text(CENTER_TOML.format(center_id="x", url="mqtt://127.0.0.1:1883", db=tmp_path / "none.db",
                                         day_starts="00:00", window_s=120), encoding="utf-8")
    assert server_main(["report", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23",
                        "--out", str(tmp_path / "r")]) == 2
    assert "no database at" in capsys.readouterr().err


def test_a_report_on_a_file_without_the_tables_says_so_and_leaves_it_empty(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, database = tmp_path / "center.toml", tmp_path / "empty.db"
    config.write_text(CENTER_TOML.format(center_id="x", url="mqtt://127.0.0.1:1883", db=database,
                                         day_starts="00:00", window_s=120), encoding="utf-8")
    database.touch()
    assert server_main(["report", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23",
                        "--out", str(tmp_path / "r")]) == 2
    assert f"cannot read {database}: no such table" in capsys.readouterr().err
    assert database.stat().st_size == 0, "read-only: no schema made"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 90) == 9.0
    assert percentile([float(v) for v in range(1, 12)], 90) == 10.0


def test_ratings_are_counted_by_channel_buttons_and_phone(tmp_path: Path) -> None:
    """Issue 16: a rating from the citizen's phone counts once, as a phone rating, beside the buttons'."""
    d = Day(tmp_path)
    by_phone = d.at("08:00")._send(d.topics.ticket_request("k1"), {"v": 1, "request_id": "t1", "area": "dat-dai"},
                                   d.topics.ticket_response("k1"))["ticket"]
    by_buttons = d.ticket("dat-dai")
    d.at("08:05").command("1", "next")
    d.at("08:10").command("1", "next")  # the first served, the second called
    d.at("08:20").command("1", "finish")
    d.at("08:21").rate("1", by_buttons, "dissatisfied")
    d.at("08:30")._send(d.topics.web_request("web-1"), {"v": 1, "request_id": "w1", "action": "rate",
                                                         "token": by_phone["token"], "level": "very_satisfied"},
                        d.topics.web_response("web-1"))
    d.close()
    report = make_report(d.config, DAY, DAY, EVENING)
    summary = summary_of(report.tables[0].rows)
    assert summary["Lượt đánh giá"] == 2
    assert (summary["Đánh giá bằng nút bấm tại quầy"], summary["Đánh giá qua điện thoại"]) == (1, 1)
    ratings = {(row[0], row[1]): row[2:] for row in next(t for t in report.tables if t.slug == "danh-gia").rows}
    #                                    levels   total buttons phone late share
    assert ratings[("Quầy", "Quầy 1")] == (1, 0, 1, 2, 1, 1, 0, 0.5)
    assert ratings[("Lĩnh vực", "Đất đai")] == (1, 0, 1, 2, 1, 1, 0, 0.5)
    out = tmp_path / "report"
    assert server_main(["report", "--config", str(d.path), "--from", "2026-11-23", "--to", "2026-11-23",
                        "--out", str(out)]) == 0
    with (out / "csv" / "danh-gia.csv").open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert "Đánh giá qua điện thoại" in header and "Đánh giá bằng nút bấm tại quầy" in header
