"""The satisfaction ratio by dossier (issue 19, Quyết định 766/QĐ-TTg): a morning worked out on paper, made through the
real service and SQLite file (officials seated from the console, dossiers attached at the counters, ratings by the
counters' buttons and from phones, with criteria and a comment), gives exactly the figures of the sheets "Hài lòng theo
QĐ 766", "Hồ sơ không hài lòng", "Hồ sơ đã tiếp nhận" and "Tiêu chí đánh giá", their workbook, CSV files and chart."""

from __future__ import annotations

import csv
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image

from central_server.config import load
from central_server.report.command import make_report, write_report
from central_server.report.figures import NOBODY, ReportCenter, Sheet
from tests.central_server.report.test_report import assert_columns_fit
from tests.central_server.test_citizen_web import WebRig
from tests.central_server.test_console import BINH, LAN, ConsoleRig
from tests.central_server.test_service import Clock, reply_of

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 23)  # the rig's clock starts at 07:30 that day
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=HCM)
CENTER = "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm"
LAN_NAME, BINH_NAME = LAN["official_name"], BINH["official_name"]
A2_SAYS = "Cán bộ hướng dẫn chưa rõ, tôi phải bổ sung giấy tờ hai lần."
T_SAYS = "Chờ chuyển sang quầy Tư pháp quá lâu, không được giải thích lý do."


def code(n: int) -> str:
    """Dossier D<n>: the national form, received on 23/11/2026."""
    return f"000.00.04.H12-261123-{n:04d}"


class SatisfactionRig(WebRig, ConsoleRig):
    """The service on a real SQLite file, with a citizen web (phone ratings) and a console (seats), its [rating] table
    given `rating` besides the three levels."""

    def __init__(self, folder: Path, clock: Clock, rating: str) -> None:
        super().__init__(folder, clock)
        path = self.config.path
        path.write_text(path.read_text(encoding="utf-8").replace("[rating]\n", f"[rating]\n{rating}"),
                        encoding="utf-8")
        self.storage.close()
        self.config = load(path)
        self.restart()
        self.tokens: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # the ticket each citizen's rating goes to (after a transfer: the new one)

    def at(self, hh: int, mm: int) -> SatisfactionRig:
        self.clock.now = datetime(2026, 11, 23, hh, mm, tzinfo=HCM)
        return self

    def take(self, name: str, hh: int, mm: int, area: str) -> None:
        ticket = self.at(hh, mm).issued(area)
        self.tokens[name], self.numbers[name], self.ids[name] = ticket["token"], ticket["number"], ticket["id"]

    def call(self, counter: str, name: str, hh: int, mm: int) -> None:
        called = ok(self.at(hh, mm).command(counter, "next"))["ticket"]
        assert called["number"] == self.numbers[name], f"{hh:02d}:{mm:02d} counter {counter} called {called}"
        self.ids[name] = called["id"]

    def act(self, counter: str, action: str, hh: int, mm: int, **extra: Any) -> None:
        ok(self.at(hh, mm).command(counter, action, **extra))

    def attach(self, counter: str, n: int, hh: int, mm: int) -> None:
        self.act(counter, "dossier", hh, mm, code=code(n))

    def press(self, counter: str, name: str, level: str, hh: int, mm: int) -> None:
        """A button of the counter's rating terminal."""
        self.at(hh, mm)
        body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": self.ids[name], "level": level,
                "pressed_at": self.clock.now.isoformat()}
        ok(reply_of(self.send(self.topics.counter_rating(counter), body, None), self.topics.rating_ack(counter)))

    def phone(self, name: str, level: str, hh: int, mm: int, **extra: Any) -> None:
        ok(self.at(hh, mm).web("rate", self.tokens[name], level=level, **extra))


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ok"] is True, reply
    return reply


# The morning on paper (23/11/2026; [rating] levels very_satisfied, satisfied, dissatisfied: "không hài lòng" is
# `dissatisfied`; criteria attitude and time). Lan sits at counter 1 (Đất đai), Bình at counter 2 (Tư pháp – Hộ tịch
# and Đất đai); nobody signs in at counter 3 (Lĩnh vực nhỏ). D<n> is dossier code(n).
#   A1 1001 Đất đai   c1 Lan    D1, D2            buttons  "Không hài lòng"                 → D1, D2 dissatisfied
#   B1 B001 Tư pháp   c2 Bình   D5                phone    "Rất hài lòng" (attitude very_satisfied, time satisfied)
#   A2 1002 Đất đai   c1 Lan    D3                phone    "Hài lòng" with a comment (attitude satisfied, time
#                                                          dissatisfied)                     → D3 complained about
#   A3 1003 Đất đai   c1 Lan    D4                not rated
#   T  1004 Đất đai   c1 Lan    D6, then transferred to Tư pháp:
#           Tư pháp   c2 Bình   D7                phone    "Không hài lòng" with a comment (attitude satisfied,
#                                                          time dissatisfied)  → D6 and D7 both, each counted once
#   N1 N1   Nhỏ       c3 nobody D8                buttons  "Hài lòng"
#   A4 1005 Đất đai   c1 Lan    no dossier        buttons  "Rất hài lòng"   → served and rated, counts toward nothing
#   B3 B002 Tư pháp   c2 Bình   no dossier        not rated                 → served without a dossier
#   A5 1006 Đất đai   c1 Lan    skipped (missed): not served, nothing to count
#   A6 1007 Đất đai   c2 Bình   D9                buttons  "Hài lòng"
#
# The center: 9 dossiers received; 8 rated (all but D4); "không hài lòng" D1, D2, D6, D7 = 4; complained about D3,
#   D6, D7 = 3; either D1, D2, D3, D6, D7 = 5 (D6 and D7 once each); ratio (9 - 5) / 9 = 44.44 %. Served 9 citizens
#   (A1-A4, A6, B1, B3, T, N1), 2 without a dossier (A4, B3), 1 of them rated (A4).
# Đất đai (where each dossier was received: D6 with T's first ticket): D1, D2, D3, D4, D6, D9 = 6; rated 5;
#   dissatisfied 3; complained 2; either 4; ratio 2 / 6 = 33.33 %; served there last A1-A4, A6: A4 without (rated).
# Tư pháp: D5, D7 = 2; rated 2; 1; 1; 1; ratio 50 %; served there last B1, T, B3: B3 without (not rated).
# Nhỏ: D8: 1; 1; 0; 0; 0; 100 %.  Tạm đóng: nothing, no ratio.
# Lan (who attached): D1, D2, D3, D4, D6 = 5; rated 4; 3; 2; 4; 20 %; served A1-A4: A4 without (rated).
# Bình: D5, D7, D9 = 3; rated 3; 1; 1; 1; 66.67 %; served B1, T, B3, A6: B3 without.
# Nobody signed in: D8: 1; 1; 0; 0; 0; 100 %; served N1.
# Criteria (per rating): attitude very_satisfied 1 (B1), satisfied 2 (A2, T): 3 rated, 100 % satisfied or better;
#   time satisfied 1 (B1), dissatisfied 2 (A2, T): 3 rated, 33.33 %.
class Morning:
    def __init__(self, folder: Path) -> None:
        self.rig = rig = SatisfactionRig(folder, Clock(), 'criteria = ["attitude", "time"]\n')
        ok(rig.at(7, 30).console("1", "sit"))
        ok(rig.console("2", "sit", who=BINH))
        rig.take("A1", 7, 30, "dat-dai")
        rig.call("1", "A1", 7, 31)
        rig.attach("1", 1, 7, 33)
        rig.attach("1", 2, 7, 34)
        rig.take("B1", 7, 35, "tu-phap")
        rig.call("2", "B1", 7, 36)
        rig.attach("2", 5, 7, 38)
        rig.act("1", "finish", 7, 40)
        rig.press("1", "A1", "dissatisfied", 7, 41)
        rig.take("A2", 7, 42, "dat-dai")
        rig.call("1", "A2", 7, 43)
        rig.attach("1", 3, 7, 45)
        rig.act("2", "finish", 7, 45)
        rig.phone("B1", "very_satisfied", 7, 47, criteria={"attitude": "very_satisfied", "time": "satisfied"})
        rig.act("1", "finish", 7, 50)
        rig.phone("A2", "satisfied", 7, 52, criteria={"attitude": "satisfied", "time": "dissatisfied"}, comment=A2_SAYS)
        rig.take("A3", 7, 53, "dat-dai")
        rig.call("1", "A3", 7, 54)
        rig.attach("1", 4, 7, 56)
        rig.act("1", "finish", 8, 0)  # nobody rates it
        rig.take("T", 8, 1, "dat-dai")
        rig.call("1", "T", 8, 2)
        rig.attach("1", 6, 8, 4)
        rig.take("N1", 8, 5, "nho")
        rig.act("1", "transfer", 8, 6, to_area="tu-phap")
        rig.call("3", "N1", 8, 6)
        rig.call("2", "T", 8, 7)  # keeps its number
        rig.attach("3", 8, 8, 7)
        rig.attach("2", 7, 8, 9)
        rig.act("3", "finish", 8, 10)
        rig.press("3", "N1", "satisfied", 8, 11)
        rig.act("2", "finish", 8, 15)
        rig.take("A4", 8, 16, "dat-dai")
        rig.call("1", "A4", 8, 17)
        rig.phone("T", "dissatisfied", 8, 20, criteria={"attitude": "satisfied", "time": "dissatisfied"},
                  comment=T_SAYS)
        rig.act("1", "finish", 8, 20)
        rig.press("1", "A4", "very_satisfied", 8, 21)
        rig.take("B3", 8, 22, "tu-phap")
        rig.call("2", "B3", 8, 23)
        rig.take("A5", 8, 25, "dat-dai")
        rig.call("1", "A5", 8, 26)
        rig.act("1", "skip", 8, 28)
        rig.act("2", "finish", 8, 30)
        rig.take("A6", 8, 31, "dat-dai")
        rig.call("2", "A6", 8, 32)
        rig.attach("2", 9, 8, 33)
        rig.act("2", "finish", 8, 40)
        rig.press("2", "A6", "satisfied", 8, 41)
        rig.storage.close()


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Morning:
    return Morning(tmp_path_factory.mktemp("satisfaction"))


def table(sheets: list[Sheet], slug: str) -> Sheet:
    return next(t for t in sheets if t.slug == slug)


COLUMNS_766 = ("Nhóm", "Tên", "Hồ sơ tiếp nhận", "Hồ sơ được đánh giá", "Không hài lòng", "Có phản ánh, kiến nghị",
               "Không hài lòng hoặc có phản ánh", "Tỷ lệ hài lòng (QĐ 766)", "Lượt phục vụ không gắn hồ sơ",
               "Trong đó có đánh giá (không được tính)")


def test_the_766_ratio_is_the_hand_counted_morning(morning: Morning) -> None:
    sheet = table(make_report(morning.rig.config, DAY, DAY, NOON).tables, "hai-long-766")
    assert (sheet.title, sheet.columns) == ("Hài lòng theo QĐ 766", COLUMNS_766)
    assert sheet.rows == [
        ("Toàn trung tâm", CENTER, 9, 8, 4, 3, 5, 0.4444, 2, 1),
        ("Lĩnh vực", "Đất đai", 6, 5, 3, 2, 4, 0.3333, 1, 1),
        ("Lĩnh vực", "Tư pháp – Hộ tịch", 2, 2, 1, 1, 1, 0.5, 1, 0),
        ("Lĩnh vực", "Lĩnh vực nhỏ", 1, 1, 0, 0, 0, 1.0, 0, 0),
        ("Lĩnh vực", "Lĩnh vực tạm đóng", 0, 0, 0, 0, 0, None, 0, 0),
        ("Cán bộ", LAN_NAME, 5, 4, 3, 2, 4, 0.2, 1, 1),
        ("Cán bộ", BINH_NAME, 3, 3, 1, 1, 1, 0.6667, 1, 0),
        ("Cán bộ", NOBODY, 1, 1, 0, 0, 0, 1.0, 0, 0),
    ]


def test_the_dossiers_to_follow_up_are_those_rated_dissatisfied_or_complained_about(morning: Morning) -> None:
    sheet = table(make_report(morning.rig.config, DAY, DAY, NOON).tables, "ho-so-khong-hai-long")
    assert (sheet.title, sheet.columns) == ("Hồ sơ không hài lòng", (
        "Mã hồ sơ", "Ngày tiếp nhận", "Giờ", "Lĩnh vực", "Quầy", "Cán bộ", "Số phiếu", "Mức đánh giá",
        "Kênh đánh giá", "Phản ánh, kiến nghị", "Thái độ của cán bộ", "Thời gian giải quyết"))
    by_phone = ("Điện thoại", T_SAYS, "Hài lòng", "Không hài lòng")
    assert sheet.rows == [
        (code(1), DAY, "07:33", "Đất đai", "Quầy 1", LAN_NAME, "1001", "Không hài lòng", "Nút bấm tại quầy", None,
         None, None),
        (code(2), DAY, "07:34", "Đất đai", "Quầy 1", LAN_NAME, "1001", "Không hài lòng", "Nút bấm tại quầy", None,
         None, None),
        (code(3), DAY, "07:45", "Đất đai", "Quầy 1", LAN_NAME, "1002", "Hài lòng", "Điện thoại", A2_SAYS, "Hài lòng",
         "Không hài lòng"),
        (code(6), DAY, "08:04", "Đất đai", "Quầy 1", LAN_NAME, "1004", "Không hài lòng", *by_phone),
        (code(7), DAY, "08:09", "Tư pháp – Hộ tịch", "Quầy 2", BINH_NAME, "1004", "Không hài lòng", *by_phone),
    ]


def test_every_dossier_received_is_listed_for_the_provinces_system(morning: Morning) -> None:
    sheet = table(make_report(morning.rig.config, DAY, DAY, NOON).tables, "ho-so-da-tiep-nhan")
    assert (sheet.title, sheet.columns) == ("Hồ sơ đã tiếp nhận", (
        "Mã hồ sơ", "Ngày tiếp nhận", "Giờ gắn", "Lĩnh vực", "Quầy", "Cán bộ tiếp nhận", "Tên đăng nhập", "Số phiếu",
        "Mức đánh giá", "Không hài lòng", "Có phản ánh"))
    lan = ("Quầy 1", LAN_NAME, "lan.nt")
    binh = ("Quầy 2", BINH_NAME, "binh.tt")
    assert sheet.rows == [
        (code(1), DAY, "07:33", "Đất đai", *lan, "1001", "Không hài lòng", "Có", "Không"),
        (code(2), DAY, "07:34", "Đất đai", *lan, "1001", "Không hài lòng", "Có", "Không"),
        (code(5), DAY, "07:38", "Tư pháp – Hộ tịch", *binh, "B001", "Rất hài lòng", "Không", "Không"),
        (code(3), DAY, "07:45", "Đất đai", *lan, "1002", "Hài lòng", "Không", "Có"),
        (code(4), DAY, "07:56", "Đất đai", *lan, "1003", None, "Không", "Không"),
        (code(6), DAY, "08:04", "Đất đai", *lan, "1004", "Không hài lòng", "Có", "Có"),
        (code(8), DAY, "08:07", "Lĩnh vực nhỏ", "Quầy 3", NOBODY, "", "N1", "Hài lòng", "Không", "Không"),
        (code(7), DAY, "08:09", "Tư pháp – Hộ tịch", *binh, "1004", "Không hài lòng", "Có", "Có"),
        (code(9), DAY, "08:33", "Đất đai", *binh, "1007", "Hài lòng", "Không", "Không"),
    ]


def test_the_criteria_are_counted_per_rating(morning: Morning) -> None:
    sheet = table(make_report(morning.rig.config, DAY, DAY, NOON).tables, "tieu-chi-danh-gia")
    assert (sheet.title, sheet.columns) == ("Tiêu chí đánh giá", (
        "Tiêu chí", "Rất hài lòng", "Hài lòng", "Không hài lòng", "Lượt đánh giá", "Tỷ lệ hài lòng trở lên"))
    assert sheet.rows == [("Thái độ của cán bộ", 1, 2, 0, 3, 1.0), ("Thời gian giải quyết", 0, 1, 2, 3, 0.3333)]


def test_the_workbook_the_csv_files_and_the_chart_of_the_dossiers(morning: Morning, tmp_path: Path) -> None:
    out = tmp_path / "report"
    written = write_report(make_report(morning.rig.config, DAY, DAY, NOON), out)
    book = load_workbook(out / "bao-cao-2026-11-23_2026-11-23.xlsx")
    assert book.sheetnames[-4:] == ["Hài lòng theo QĐ 766", "Hồ sơ không hài lòng", "Hồ sơ đã tiếp nhận",
                                    "Tiêu chí đánh giá"]
    assert_columns_fit(book)
    ratios = book["Hài lòng theo QĐ 766"]
    assert [c.value for c in ratios[1]] == list(COLUMNS_766)
    assert (ratios["H2"].value, ratios["H2"].number_format) == (0.4444, "0.0 %")
    assert ratios["C2"].number_format == "General" and ratios["H6"].value is None
    received = book["Hồ sơ đã tiếp nhận"]
    assert received["B2"].value == datetime(2026, 11, 23) and received["B2"].number_format == "dd/mm/yyyy"
    with (out / "csv" / "hai-long-766.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == ["Toàn trung tâm", CENTER, "9", "8", "4", "3", "5", "44,4 %", "2", "1"]
    assert rows[5] == ["Lĩnh vực", "Lĩnh vực tạm đóng", "0", "0", "0", "0", "0", "", "0", "0"]
    with (out / "csv" / "ho-so-khong-hai-long.csv").open(encoding="utf-8-sig", newline="") as handle:
        follow_up = list(csv.reader(handle))
    assert follow_up[3] == [code(3), "23/11/2026", "07:45", "Đất đai", "Quầy 1", LAN_NAME, "1002", "Hài lòng",
                            "Điện thoại", A2_SAYS, "Hài lòng", "Không hài lòng"]
    with (out / "csv" / "tieu-chi-danh-gia.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[2] == ["Thời gian giải quyết", "0", "1", "2", "3", "33,3 %"]
    chart = out / "charts" / "hai-long-766.png"
    assert chart in written
    with Image.open(chart) as image:
        assert image.size == (1000, 550)
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 50


def test_a_center_that_attaches_no_dossier_gets_empty_lists_and_no_chart_of_them(tmp_path: Path) -> None:
    """Two citizens served and rated, no dossier: no ratio, both ratings count toward nothing; no criteria asked or
    given, so no criteria sheet."""
    rig = SatisfactionRig(tmp_path, Clock(), "")
    for n, level in enumerate(("satisfied", "dissatisfied"), start=1):
        rig.take(f"A{n}", 7, 30 + n, "dat-dai")
        rig.call("1", f"A{n}", 7, 40 + n)
        rig.act("1", "finish", 7, 50 + n)
        rig.press("1", f"A{n}", level, 7, 50 + n)
    rig.storage.close()
    report = make_report(rig.config, DAY, DAY, NOON)
    assert table(report.tables, "hai-long-766").rows[0] == ("Toàn trung tâm", CENTER, 0, 0, 0, 0, 0, None, 2, 2)
    assert table(report.tables, "ho-so-khong-hai-long").rows == table(report.tables, "ho-so-da-tiep-nhan").rows == []
    assert "tieu-chi-danh-gia" not in {t.slug for t in report.tables}
    written = write_report(report, tmp_path / "out")
    assert (tmp_path / "out" / "csv" / "hai-long-766.csv") in written
    assert not [p for p in written if p.suffix == ".png" and p.stem == "hai-long-766"]


FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")


def test_a_center_that_counts_neutral_as_dissatisfied_on_five_levels(tmp_path: Path) -> None:
    """[rating] dissatisfied = neutral and below: of three dossiers rated neutral, very dissatisfied and satisfied,
    two count against the ratio (1 / 3 = 33.33 %); the default would count only the very dissatisfied one."""
    rig = SatisfactionRig(tmp_path, Clock(), "")
    path = rig.config.path
    path.write_text(path.read_text(encoding="utf-8").replace(
        '["very_satisfied", "satisfied", "dissatisfied"]',
        f'{list(FIVE)}\ndissatisfied = ["neutral", "dissatisfied", "very_dissatisfied"]'.replace("'", '"')),
        encoding="utf-8")
    rig.storage.close()
    rig.config = load(path)
    rig.restart()
    for n, level in enumerate(("neutral", "very_dissatisfied", "satisfied"), start=1):
        rig.take(f"A{n}", 7, 30 + n, "dat-dai")
        rig.call("1", f"A{n}", 7, 40 + n)
        rig.attach("1", n, 7, 40 + n)
        rig.act("1", "finish", 7, 50 + n)
        rig.press("1", f"A{n}", level, 7, 50 + n)
    rig.storage.close()
    report = make_report(rig.config, DAY, DAY, NOON)
    assert table(report.tables, "hai-long-766").rows[0] == ("Toàn trung tâm", CENTER, 3, 3, 2, 0, 2, 0.3333, 0, 0)
    assert [(row[0], row[-3:]) for row in table(report.tables, "ho-so-da-tiep-nhan").rows] == [
        (code(1), ("Bình thường", "Có", "Không")), (code(2), ("Rất không hài lòng", "Có", "Không")),
        (code(3), ("Hài lòng", "Không", "Không"))]
    assert ReportCenter(CENTER, HCM, (), (), FIVE).dissatisfied_levels == {"dissatisfied", "very_dissatisfied"}


def test_a_former_scales_levels_count_as_that_scale_judged_them() -> None:
    """Today's scale as the center says (only its worst level); "bad", only a former two-level scale had, is that
    scale's worst; "dissatisfied", the worst of a former scale too, is judged by today's scale: not counted."""
    center = ReportCenter(CENTER, HCM, (), (), FIVE, (("good", "bad"), ("very_satisfied", "dissatisfied")),
                          dissatisfied=("very_dissatisfied",))
    assert center.dissatisfied_levels == {"very_dissatisfied", "bad"}


# --- what a review found -----------------------------------------------------------------------------------------

def served_with(rig: SatisfactionRig, name: str, n: int, hh: int, mm: int, level: str | None = None) -> None:
    """`name` takes a ticket, is called at counter 1, leaves dossier D<n>, is served and (with `level`) rates."""
    rig.take(name, hh, mm, "dat-dai")
    rig.call("1", name, hh, mm + 1)
    rig.attach("1", n, hh, mm + 2)
    rig.act("1", "finish", hh, mm + 3)
    if level is not None:
        rig.press("1", name, level, hh, mm + 3)


def test_a_dossier_of_a_citizen_then_marked_missed_was_never_received(tmp_path: Path) -> None:
    rig = SatisfactionRig(tmp_path, Clock(), "")
    served_with(rig, "A1", 1, 7, 30, "satisfied")
    rig.take("A2", 7, 40, "dat-dai")
    rig.call("1", "A2", 7, 41)
    rig.attach("1", 2, 7, 42)  # scanned from the wrong pile, then the official finds nobody there
    rig.act("1", "skip", 7, 43)
    rig.storage.close()
    report = make_report(rig.config, DAY, DAY, NOON)
    assert table(report.tables, "hai-long-766").rows[0][2:7] == (1, 1, 0, 0, 0)
    assert [row[0] for row in table(report.tables, "ho-so-da-tiep-nhan").rows] == [code(1)]


def test_a_dossier_brought_again_on_a_later_day_counts_once_and_against_when_any_visit_was(tmp_path: Path) -> None:
    """D1 received on 23/11 and rated "Hài lòng"; the citizen comes back with it on 24/11 and rates "Không hài lòng":
    one dossier received (on 23/11), counted against the ratio."""
    rig = SatisfactionRig(tmp_path, Clock(), "")
    served_with(rig, "A1", 1, 7, 30, "satisfied")
    rig.clock.now = datetime(2026, 11, 24, 7, 30, tzinfo=HCM)
    ticket = rig.issued("dat-dai")
    ok(rig.command("1", "next"))
    ok(rig.command("1", "dossier", code=code(1)))  # the code's day is 23/11: still a dossier of today's national form
    ok(rig.command("1", "finish"))
    body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": ticket["id"], "level": "dissatisfied",
            "pressed_at": rig.clock.now.isoformat()}
    ok(reply_of(rig.send(rig.topics.counter_rating("1"), body, None), rig.topics.rating_ack("1")))
    rig.storage.close()
    report = make_report(rig.config, DAY, date(2026, 11, 24), datetime(2026, 11, 24, 12, tzinfo=HCM))
    assert table(report.tables, "hai-long-766").rows[0][2:8] == (1, 1, 1, 0, 1, 0.0)
    [received] = table(report.tables, "ho-so-da-tiep-nhan").rows
    assert received[:2] == (code(1), DAY) and received[-3:] == ("Không hài lòng", "Có", "Không")


def test_a_rating_counts_as_the_levels_said_when_it_was_given(tmp_path: Path) -> None:
    """Five levels, the default counting dissatisfied and very_dissatisfied: D1 rated neutral is satisfied. The center
    then counts neutral too: D1's figures, of a day already closed, do not change; D2 rated neutral after it counts."""
    rig = SatisfactionRig(tmp_path, Clock(), "")
    path = rig.config.path
    five = path.read_text(encoding="utf-8").replace('["very_satisfied", "satisfied", "dissatisfied"]',
                                                    '["very_satisfied", "satisfied", "neutral", "dissatisfied", '
                                                    '"very_dissatisfied"]')
    path.write_text(five, encoding="utf-8")
    rig.storage.close()
    rig.config = load(path)
    rig.restart()
    served_with(rig, "A1", 1, 7, 30, "neutral")
    path.write_text(five.replace("[rating]\n", '[rating]\ndissatisfied = ["neutral", "dissatisfied", '
                                               '"very_dissatisfied"]\n'), encoding="utf-8")
    rig.storage.close()
    rig.config = load(path)
    rig.restart()
    served_with(rig, "A2", 2, 8, 0, "neutral")
    rig.storage.close()
    report = make_report(rig.config, DAY, DAY, NOON)
    assert [(row[0], row[-2]) for row in table(report.tables, "ho-so-da-tiep-nhan").rows] == [
        (code(1), "Không"), (code(2), "Có")]


def test_a_comment_that_looks_like_a_formula_stays_text_in_the_workbook_and_the_csv(tmp_path: Path) -> None:
    rig = SatisfactionRig(tmp_path, Clock(), "")
    served_with(rig, "A1", 1, 7, 30)
    said = '=HYPERLINK("http://example.invalid/x","Xem chi tiết")'
    rig.phone("A1", "satisfied", 7, 34, comment=said)
    rig.storage.close()
    write_report(make_report(rig.config, DAY, DAY, NOON), tmp_path / "out")
    [workbook] = (tmp_path / "out").glob("*.xlsx")
    sheet = load_workbook(workbook)["Hồ sơ không hài lòng"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value == said]
    assert cells and all(cell.data_type == "s" for cell in cells)
    text = (tmp_path / "out" / "csv" / "ho-so-khong-hai-long.csv").read_text(encoding="utf-8-sig")
    assert f"'{said}" in next(csv.reader([line for line in text.splitlines() if "HYPERLINK" in line]))
