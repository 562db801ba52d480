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


def test_the_channels_are_the_hand_counted_morning(morning: Morning) -> None:
    sheet = table(morning.report(), "theo-kenh")
    print(sheet.columns)
    for row in sheet.rows:
        print(row)
    assert False
