"""The report's sheet per official ("Cán bộ", issue 15), from the events' detail.official."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from central_server.report.command import make_report, write_report
from tests.central_server.test_console import BINH, ConsoleRig
from tests.central_server.test_service import Clock


def test_each_official_has_their_own_row_of_served_missed_transferred_and_ratings(tmp_path: Path) -> None:
    rig = ConsoleRig(tmp_path, Clock())
    for _ in range(4):
        rig.ticket("dat-dai")
    rig.console("1", "next")  # Lan sits at counter 1
    rig.clock.advance(minutes=6)
    first = rig.console("1", "finish")["ticket"]
    rig.rate("1", first["id"], rig.clock.now)
    rig.command("1", "next")  # the keypad: still Lan's
    rig.clock.advance(minutes=4)
    rig.command("1", "finish")
    rig.console("2", "next", who=BINH)
    rig.command("2", "transfer", to_area="tu-phap")
    rig.command("2", "next")
    rig.command("2", "skip")
    report = make_report(rig.config, rig.clock.now.date(), rig.clock.now.date(), as_of=rig.clock.now)
    sheet = next(t for t in report.tables if t.slug == "can-bo")
    assert sheet.title == "Cán bộ"
    assert sheet.columns == ("Tên đăng nhập", "Cán bộ", "Số lượt phục vụ", "Gọi nhưng vắng mặt", "Chuyển lĩnh vực",
                             "Phục vụ trung bình (phút)", "Rất hài lòng", "Hài lòng", "Không hài lòng",
                             "Lượt đánh giá", "Tỷ lệ hài lòng trở lên")
    rows = {row[0]: row for row in sheet.rows}
    assert rows["lan.nt"] == ("lan.nt", "Nguyễn Thị Lan", 2, 0, 0, 5.0, 0, 1, 0, 1, 1.0)
    assert rows["binh.tt"] == ("binh.tt", "Trần Thị Bình", 0, 1, 1, None, 0, 0, 0, 0, None)
    out = write_report(report, tmp_path / "out")
    workbook = openpyxl.load_workbook(next(p for p in out if p.suffix == ".xlsx"))
    assert workbook["Cán bộ"]["B2"].value == "Nguyễn Thị Lan"
    with (tmp_path / "out" / "csv" / "can-bo.csv").open(encoding="utf-8-sig") as file:
        lines = list(csv.reader(file))
    assert lines[0][:2] == ["Tên đăng nhập", "Cán bộ"] and lines[1][:3] == ["lan.nt", "Nguyễn Thị Lan", "2"]
