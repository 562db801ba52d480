"""The report by channel (issue 18): a morning of walk-ins, booked slots and remote numbers, worked out on paper, made
through the real service and SQLite file; the sheet "Theo kênh", its workbook and CSV file, and its chart."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image

from central_server.__main__ import main as server_main
from central_server.report.command import make_report
from central_server.report.figures import Report, Sheet
from tests.central_server.report.test_report import assert_columns_fit
from tests.central_server.test_bookings_service import BookingRig, at
from tests.central_server.test_service import Clock

DAY = date(2026, 11, 23)  # a Monday; the rig's clock starts at 07:30
NOON = at(23, 12, 0)


def cccd(n: int) -> str:
    """A valid CCCD number: Hồ Chí Minh, a man born in 1985, serial n."""
    return f"079185{n:06d}"


class Morning:
    """The morning below, at counter 1 (Đất đai) and counter 3 (Lĩnh vực nhỏ); every call's number is checked."""

    def __init__(self, folder: Path) -> None:
        self.rig = rig = BookingRig(folder, Clock(), "remote = true\n")  # windows: 30 min before to 15 after a slot
        self.codes: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        self.at(7, 30)
        for name, slot in (("B1", at(23, 8, 0)), ("B2", at(23, 8, 30)), ("B3", at(23, 8, 30)), ("B4", at(23, 9, 0)),
                           ("B5", at(23, 9, 0)), ("B6", at(23, 9, 30))):
            self.codes[name] = self.ok(rig.book(slot, cccd=cccd(int(name[1]))))["booking"]["code"]
        self.walk_in("W1", 7, 31)
        self.at(7, 35)
        self.codes["R1"] = self.ok(rig.web("remote", area="dat-dai", cccd=cccd(7), phone="0912345678"))["booking"][
            "code"]
        self.check_in("B2", 7, 40)  # early: its window opens at 08:00; it waits, due from 08:30
        self.walk_in("W2", 7, 45)
        self.check_in("B1", 7, 50)  # on time for 08:00
        self.call("1", "W1", 7, 55)  # B1 is not due before 08:00: the oldest walk-in
        self.at(8, 0).command("1", "finish")
        self.ok(rig.web("cancel_booking", code=self.codes["B5"], cccd=cccd(5)))
        self.codes["R2"] = self.ok(rig.web("remote", area="tu-phap", cccd=cccd(8), phone="0912345678"))["booking"][
            "code"]  # never checked in: a no-show at 09:00
        self.walk_in("N1", 8, 0, area="nho")
        self.check_in("R1", 8, 2)  # within its hour: counts from 07:35, ahead of W2
        self.call("3", "N1", 8, 4)
        self.call("1", "B1", 8, 5)  # due since 08:00, ahead of the walk-ins
        self.at(8, 10).command("3", "finish")
        self.at(8, 10).command("1", "finish")
        self.call("1", "R1", 8, 10)
        self.at(8, 15).command("1", "finish")
        self.call("1", "W2", 8, 15)
        self.at(8, 18).command("1", "skip")  # W2 does not come
        self.call("1", "B2", 8, 20)  # nobody else waits: called ten minutes before its slot
        self.at(8, 30).command("1", "finish")
        self.numbers["W3"] = self.check_in("B3", 8, 50)  # too late for 08:30: a walk-in ticket
        self.call("1", "W3", 8, 55)
        self.at(9, 5).command("1", "finish")
        self.walk_in("W4", 9, 10)
        self.at(9, 20)
        rig.service.tick()  # B4's window closed at 09:15, R2's at 08:35: no-shows
        self.check_in("B6", 9, 20)  # on time for 09:30
        self.call("1", "W4", 9, 25)  # B6 is not due before 09:30
        self.at(9, 40).command("1", "finish")
        self.call("1", "B6", 9, 45)  # fifteen minutes after its slot
        self.walk_in("W5", 9, 50)  # never called
        self.at(9, 55).command("1", "finish")
        rig.storage.close()

    def at(self, hh: int, mm: int) -> BookingRig:
        self.rig.clock.now = at(23, hh, mm)
        return self.rig

    @staticmethod
    def ok(reply: dict[str, Any]) -> dict[str, Any]:
        assert reply["ok"] is True, reply
        return reply

    def walk_in(self, name: str, hh: int, mm: int, area: str = "dat-dai") -> None:
        self.numbers[name] = self.ok(self.at(hh, mm).ticket(area))["ticket"]["number"]

    def check_in(self, name: str, hh: int, mm: int) -> str:
        ticket = self.ok(self.at(hh, mm).check_in(self.codes[name]))["ticket"]
        self.numbers[name] = ticket["number"]
        return str(ticket["number"])

    def call(self, counter: str, name: str, hh: int, mm: int) -> None:
        called = self.ok(self.at(hh, mm).command(counter, "next"))["ticket"]["number"]
        assert called == self.numbers[name], f"{hh:02d}:{mm:02d} counter {counter} called {called}, not {name}"

    def report(self, as_of: datetime = NOON) -> Report:
        return make_report(self.rig.config, DAY, DAY, as_of)


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Morning:
    return Morning(tmp_path_factory.mktemp("channels"))


def table(report: Report, slug: str) -> Sheet:
    return next(t for t in report.tables if t.slug == slug)


def rows_of(sheet: Sheet) -> dict[tuple[Any, Any], dict[str, Any]]:
    return {(row[0], row[1]): dict(zip(sheet.columns, row, strict=True)) for row in sheet.rows}


# The morning on paper (23/11/2026; a minute after the first call is "→ 08:05"):
#   walk-ins (Đất đai, counter 1): W1 07:31 → 07:55 (24 min), served; W2 07:45 → 08:15 (30), missed;
#     W3 is B3 checked in at 08:50, too late for its 08:30 slot → 08:55 (5), served; W4 09:10 → 09:25 (15), served;
#     W5 09:50, never called; and N1 (Lĩnh vực nhỏ, counter 3) 08:00 → 08:04 (4), served.
#     6 issued, 4 served, 1 missed, 1 not done; waits 24, 30, 5, 15, 4: mean 78 / 5 = 15.6, p90 the 5th of 5 = 30.
#     Đất đai alone: 5, 3, 1, 1; waits 24, 30, 5, 15: mean 18.5, p90 30.
#   booked slots (Đất đai), the wait from the later of check-in and slot, the call against the slot:
#     B1 08:00, in at 07:50, called 08:05: waits 5, +5;  B2 08:30, in at 07:40 (early), called 08:20 as nobody else
#     waited: waits 0, -10 (before its slot);  B6 09:30, in at 09:20, called 09:45: waits 15, +15.
#     3 issued, 3 served; waits mean 20 / 3 = 6.7, p90 15; within 10 min of the slot 2 of 3 = 66.67 %;
#     against the slot mean (5 - 10 + 15) / 3 = 3.3, p90 15; 1 called before its slot.
#     Bookings: 6 made; B5 cancelled; B1, B2, B6 came; B3 came late; B4 never came: no-shows 1 of 6 - 1 = 20 %.
#   remote numbers: R1 (Đất đai) taken 07:35, in at 08:02, called 08:10: waits 8, served; R2 (Tư pháp) taken 08:00,
#     never checked in: a no-show. 2 made, 1 came, 1 no-show: 50 %.
#   every channel: 10 issued, 8 served, 1 missed, 1 not done; waits 24, 30, 5, 15, 4, 5, 0, 15, 8: mean 106 / 9 =
#     11.8, p90 the 9th of 9 = 30; bookings 8 made, 1 cancelled, 4 came, 1 late, 2 no-shows of 7 = 28.57 %.
TICKETS = ("Số phiếu đã cấp", "Đã phục vụ", "Vắng mặt", "Chưa xong", "Chờ trung bình (phút)",
           "90 % công dân chờ không quá (phút)")
BOOKINGS = ("Lượt đặt trước", "Đã huỷ", "Đến đúng hẹn", "Đến muộn (nhận số thường)", "Không đến",
            "Chưa đến, còn trong khung giờ", "Tỷ lệ không đến")
SLOTS = ("Tỷ lệ gọi trong 10 phút từ giờ hẹn", "Gọi sau giờ hẹn trung bình (phút)",
         "90 % được gọi sau giờ hẹn không quá (phút)", "Gọi trước giờ hẹn")
NO_BOOKINGS = (None,) * len(BOOKINGS)
NO_SLOTS = (None,) * len(SLOTS)
ALL = "Tất cả lĩnh vực"
WALK_IN, BOOKED, REMOTE, EVERY = "Lấy số tại ki-ốt", "Đặt lịch hẹn", "Lấy số từ xa", "Tất cả các kênh"


def test_the_channels_are_the_hand_counted_morning(morning: Morning) -> None:
    report = morning.report()
    sheet = table(report, "theo-kenh")
    assert (sheet.title, sheet.columns) == ("Theo kênh", ("Lĩnh vực", "Kênh", *TICKETS, *BOOKINGS, *SLOTS))
    assert [row[:2] for row in sheet.rows] == [
        (ALL, WALK_IN), (ALL, BOOKED), (ALL, REMOTE), (ALL, EVERY),
        ("Đất đai", WALK_IN), ("Đất đai", BOOKED), ("Đất đai", REMOTE), ("Tư pháp – Hộ tịch", REMOTE),
        ("Lĩnh vực nhỏ", WALK_IN)]
    rows = {row[:2]: row[2:] for row in sheet.rows}
    assert rows[(ALL, WALK_IN)] == (6, 4, 1, 1, 15.6, 30.0, *NO_BOOKINGS, *NO_SLOTS)
    assert rows[(ALL, BOOKED)] == (3, 3, 0, 0, 6.7, 15.0, 6, 1, 3, 1, 1, 0, 0.2, 0.6667, 3.3, 15.0, 1)
    assert rows[(ALL, REMOTE)] == (1, 1, 0, 0, 8.0, 8.0, 2, 0, 1, 0, 1, 0, 0.5, *NO_SLOTS)
    assert rows[(ALL, EVERY)] == (10, 8, 1, 1, 11.8, 30.0, 8, 1, 4, 1, 2, 0, 0.2857, 0.6667, 3.3, 15.0, 1)
    assert rows[("Đất đai", WALK_IN)] == (5, 3, 1, 1, 18.5, 30.0, *NO_BOOKINGS, *NO_SLOTS)
    assert rows[("Đất đai", BOOKED)] == rows[(ALL, BOOKED)]
    assert rows[("Đất đai", REMOTE)] == (1, 1, 0, 0, 8.0, 8.0, 1, 0, 1, 0, 0, 0, 0.0, *NO_SLOTS)
    assert rows[("Tư pháp – Hộ tịch", REMOTE)] == (0, 0, 0, 0, None, None, 1, 0, 0, 0, 1, 0, 1.0, *NO_SLOTS)
    assert rows[("Lĩnh vực nhỏ", WALK_IN)] == (1, 1, 0, 0, 4.0, 4.0, *NO_BOOKINGS, *NO_SLOTS)


def test_the_other_sheets_count_every_channel_as_they_always_did(morning: Morning) -> None:
    """The summary's wait runs from the issue (a booked citizen's check-in) as before: B1 15, B2 40, B6 25 minutes,
    with the walk-ins' 24, 30, 5, 15, 4 and R1's 8: 166 / 9 = 18.4."""
    report = morning.report()
    summary = {str(row[0]): row[1] for row in table(report, "tong-hop").rows}
    assert (summary["Số phiếu đã cấp"], summary["Đã phục vụ"], summary["Vắng mặt"], summary["Chưa xong"]) == (
        10, 8, 1, 1)
    assert (summary["Chờ trung bình (phút)"], summary["90 % công dân chờ không quá (phút)"]) == (18.4, 40.0)
    assert [t.title for t in report.tables] == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo ngày", "Theo giờ",
                                                "Đánh giá", "Cán bộ", "Theo kênh", "Hài lòng theo QĐ 766",
                                                "Hồ sơ không hài lòng", "Hồ sơ đã tiếp nhận"]


def test_bookings_still_open_wait_and_those_past_their_window_are_no_shows(tmp_path: Path) -> None:
    """At 10:20, the server down since 09:25 (no tick marked anything): the 10:00 slot's window closed at 10:15,
    nobody came: a no-show; the 10:30 slot's is open: still to come. The 09:30 slot checked in at 09:25, never
    called, 50 minutes past its slot: late against it, and not yet waiting at all by the channel's count."""
    rig = BookingRig(tmp_path, Clock())
    codes = [rig.book(at(23, hh, mm), cccd=cccd(n))["booking"]["code"] for n, (hh, mm) in
             enumerate(((9, 30), (10, 0), (10, 30)), start=1)]
    rig.clock.now = at(23, 9, 25)
    assert rig.check_in(codes[0])["ok"]
    rig.storage.close()
    report = make_report(rig.config, DAY, DAY, at(23, 10, 20))
    rows = {row[:2]: row[2:] for row in table(report, "theo-kenh").rows}
    assert rows[(ALL, WALK_IN)] == (0, 0, 0, 0, None, None, *NO_BOOKINGS, *NO_SLOTS)
    #                             tickets                  made cancelled came late no-show open share
    assert rows[(ALL, BOOKED)] == (1, 0, 0, 1, None, None, 3, 0, 1, 0, 1, 1, 0.5,
                                   0.0, None, None, 0)  # judged: 1 (past its slot by 50 min), called: none
    early = make_report(rig.config, DAY, DAY, at(23, 9, 35))
    assert {row[:2]: row[2:] for row in table(early, "theo-kenh").rows}[(ALL, BOOKED)] == (
        1, 0, 0, 1, None, None, 3, 0, 1, 0, 0, 2, 0.0, None, None, None, 0), "at 09:35 only the one that came is known"


def test_the_workbook_and_the_csv_file_of_the_channels(morning: Morning, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert server_main(["report", "--config", str(morning.rig.folder / "center.toml"), "--from", "2026-11-23",
                        "--to", "2026-11-23", "--out", str(out)]) == 0
    book = load_workbook(out / "bao-cao-2026-11-23_2026-11-23.xlsx")
    assert book.sheetnames[7] == "Theo kênh"  # after the first seven, before the dossiers' (issue 19)
    assert_columns_fit(book)
    sheet = book["Theo kênh"]
    header = [c.value for c in sheet[1]]
    assert header == ["Lĩnh vực", "Kênh", *TICKETS, *BOOKINGS, *SLOTS]
    booked = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == BOOKED)
    cells = {name: cell for name, cell in zip(header, booked, strict=True)}
    assert cells["Tỷ lệ gọi trong 10 phút từ giờ hẹn"].value == 0.6667
    assert cells["Tỷ lệ gọi trong 10 phút từ giờ hẹn"].number_format == "0.0 %"
    assert cells["Tỷ lệ không đến"].number_format == "0.0 %"
    assert cells["Gọi sau giờ hẹn trung bình (phút)"].number_format == "0.0"
    assert cells["Chờ trung bình (phút)"].number_format == "0.0"
    assert cells["Lượt đặt trước"].number_format == "General" and cells["Gọi trước giờ hẹn"].value == 1
    with (out / "csv" / "theo-kenh.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == header
    assert rows[1] == [ALL, WALK_IN, "6", "4", "1", "1", "15,6", "30,0", *[""] * (len(BOOKINGS) + len(SLOTS))]
    assert rows[2] == [ALL, BOOKED, "3", "3", "0", "0", "6,7", "15,0", "6", "1", "3", "1", "1", "0", "20,0 %",
                       "66,7 %", "3,3", "15,0", "1"]
    assert rows[4][-11:] == ["8", "1", "4", "1", "2", "0", "28,6 %", "66,7 %", "3,3", "15,0", "1"]
    charts = sorted(c.stem for c in (out / "charts").glob("*.png"))
    assert "ket-qua-dat-truoc" in charts and len(charts) == 7
    with Image.open(out / "charts" / "ket-qua-dat-truoc.png") as image:
        assert image.size == (1000, 550)
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 50


def test_a_slot_called_early_reads_as_a_negative_delay_in_the_csv(tmp_path: Path) -> None:
    """One booked citizen, called ten minutes before their slot: -10,0 against it, no wait."""
    rig = BookingRig(tmp_path, Clock())
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    rig.clock.now = at(23, 8, 40)
    number = rig.check_in(code)["ticket"]["number"]
    rig.clock.now = at(23, 8, 50)
    assert rig.command("1", "next")["ticket"]["number"] == number
    rig.storage.close()
    out = tmp_path / "report"
    assert server_main(["report", "--config", str(tmp_path / "center.toml"), "--from", "2026-11-23", "--to",
                        "2026-11-23", "--out", str(out)]) == 0
    with (out / "csv" / "theo-kenh.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {tuple(row[:2]): row[2:] for row in csv.reader(handle)}
    assert rows[(ALL, BOOKED)] == ["1", "0", "0", "1", "0,0", "0,0", "1", "0", "1", "0", "0", "0", "0,0 %",
                                   "100,0 %", "-10,0", "-10,0", "1"]
    assert (ALL, REMOTE) not in rows, "no remote number was taken: no row of them"
