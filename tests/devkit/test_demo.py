"""`make demo` as a whole (about two and a half minutes): the morning ends, the staff console's pages are saved,
counter 1, worked from the console's page in a real browser, served citizens in its official's name, and a citizen
followed their ticket on a phone from its QR and rated there. The afternoon before, citizens booked the morning's
slots on the citizen web (one cancelled); in the morning they checked in at the kiosk by its keypad or its QR scanner
(but one, who never came), as did a citizen with a remote number, and their tickets say so on the paper."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
import subprocess
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from PIL import Image

from devkit import demo
from kiosk.config import load as load_kiosk
from kiosk.ticket_layout import PAPER_58MM, PAPER_80MM, TicketFonts, channel_lines
from protocol.booking_code import code_ok
from tests.kiosk.test_ticket_layout import band_line, find_block, make_ticket

STATES = {"keypad": "checked_in", "scan": "checked_in", "no_show": "no_show", "cancel": "cancelled"}


@pytest.mark.timeout(360)
def test_the_demo_morning_runs_with_counter_1_worked_from_the_console_and_booked_citizens_checking_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo-output"
    monkeypatch.setattr(demo, "OUT", out)
    assert demo.main() == 0
    printed = capsys.readouterr().out

    pages = sorted(path.name for path in (out / "screens").glob("console-*.png"))
    official = [name for name in pages if name.startswith(f"console-quay-{demo.BROWSER_COUNTER}-")]
    floor = [name for name in pages if name.startswith("console-san-")]
    assert len(official) == 3 and len(floor) == 3, pages
    admin = [name for name in pages if name.startswith(("console-quan-tri-", "console-lich-su-"))]
    assert len(admin) == 2, pages  # the administrator changed the boards' notice at 10:35
    for name in pages:
        with Image.open(out / "screens" / name) as image:
            assert image.format == "PNG" and image.width >= 1200 and image.height >= 600, (name, image.size)
    assert f"{len(pages)} ảnh console-*.png" in printed

    username = demo.OFFICIALS[demo.BROWSER_COUNTER][0]
    with sqlite3.connect(out / "center.db") as db:
        acts = [(kind, json.loads(detail).get("official")) for kind, detail in db.execute(
            "SELECT kind, detail FROM events WHERE counter_id = ? AND kind NOT IN ('seated', 'left')",
            (demo.BROWSER_COUNTER,))]
    served = [official for kind, official in acts if kind == "served"]
    assert len(served) >= 10, acts  # a quarter of the morning's citizens or so: dat-dai, shared with counter 2
    assert {official for _, official in acts} == {username}, acts  # she took the counter before her first call
    assert any(kind == "rated" for kind, _ in acts)  # the citizens still rate on the counter's terminal
    sheet = (out / "report" / "csv" / "can-bo.csv").read_text(encoding="utf-8-sig")
    assert f"{username},{demo.OFFICIALS[demo.BROWSER_COUNTER][1]},{len(served)}," in sheet

    phone = sorted(path.name for path in (out / "screens").glob("phone-*.png"))
    assert {"phone-2-goi.png", "phone-3-danh-gia.png", "phone-4-da-danh-gia.png"} <= set(phone), phone
    for name in phone:
        with Image.open(out / "screens" / name) as image:
            assert image.format == "PNG" and image.width == 720, (name, image.size)  # 360 CSS px at 2x
    assert f"{len(phone)} ảnh phone-*.png" in printed
    with sqlite3.connect(out / "center.db") as db:
        channels = dict(db.execute("SELECT channel, COUNT(*) FROM ratings GROUP BY channel").fetchall())
    assert channels.get("phone") == 1 and channels.get("buttons", 0) > 10, channels
    with sqlite3.connect(out / "center.db") as db:
        versions = db.execute("SELECT source, by_who FROM config_versions ORDER BY version").fetchall()
    assert versions == [("file", "center.toml"), ("console", demo.ADMIN[0])], versions

    booked_the_afternoon_before_and_checked_in(out, printed)
    filed_dossiers(out, printed, username)


def filed_dossiers(out: Path, printed: str, username: str) -> None:
    """Issue 19: the officials attached their dossiers at every counter (the browser's by the PC's scanner, the
    others by their terminal's), and the report's QĐ 766 sheet counts exactly the dossiers stored."""
    with sqlite3.connect(out / "center.db") as db:
        stored = [(ticket, counter, json.loads(text)) for ticket, counter, text in db.execute(
            "SELECT id, counter_id, dossiers FROM tickets WHERE dossiers IS NOT NULL")]
        refused = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'dossier_removed'").fetchone()[0]
    codes = [d[0] for _, _, dossiers in stored for d in dossiers]
    assert len(codes) == len(set(codes)) and len(codes) >= 40 and refused == 0, stored
    by_counter = Counter(d[3] for _, _, dossiers in stored for d in dossiers)
    assert set(by_counter) == {c for c, _, _ in demo.TRAFFIC.counters}, by_counter
    browser = [d for _, _, dossiers in stored for d in dossiers if d[3] == demo.BROWSER_COUNTER]
    assert browser and {d[2] for d in browser} == {username}, browser
    assert any(len(dossiers) == 2 for _, _, dossiers in stored)
    sheet = list(csv.DictReader((out / "report" / "csv" / "hai-long-766.csv").open(encoding="utf-8-sig")))
    center = next(row for row in sheet if row["Nhóm"] == "Toàn trung tâm")
    assert center["Hồ sơ tiếp nhận"] == str(len(codes)), center
    listed = list(csv.DictReader((out / "report" / "csv" / "ho-so-da-tiep-nhan.csv").open(encoding="utf-8-sig")))
    assert sorted(row["Mã hồ sơ"] for row in listed) == sorted(codes)
    assert (out / "report" / "charts" / "hai-long-766.png").exists()
    assert f"Hồ sơ: {len(codes)} hồ sơ gắn với phiếu" in printed and "tỷ lệ hài lòng theo QĐ 766: " in printed


def booked_the_afternoon_before_and_checked_in(out: Path, printed: str) -> None:
    """Issue 18: what the bookers did, as the server stored it, the tickets printed, the pages saved and the report."""
    with sqlite3.connect(out / "center.db") as db:
        rows = db.execute("SELECT code, channel, state, area, start_at, end_at, created_at, ticket_id, person "
                          "FROM bookings").fetchall()
        channels = dict(db.execute("SELECT id, channel FROM tickets WHERE channel != 'walk_in'").fetchall())
    bookers = [*demo.BOOKERS, demo.REMOTE]
    expected = Counter(("remote" if b is demo.REMOTE else "booked", STATES[b.then]) for b in bookers)
    assert Counter((channel, state) for _, channel, state, *_ in rows) == expected, rows
    assert not any(b.cccd in str(row) for b in bookers for row in rows), "no CCCD is kept, only its keyed hash"
    day = datetime.fromisoformat(next(row[4] for row in rows if row[4])).date()  # the morning's
    kiosk = load_kiosk(out / "kiosk.toml")
    paper = PAPER_58MM if kiosk.printer.paper == "58mm" else PAPER_80MM
    by_code: dict[str, tuple[str, str, str]] = {}
    for code, channel, state, area, start_at, end_at, created_at, ticket_id, _ in rows:
        booker = next(b for b in bookers if b.area == area and ("remote" if b is demo.REMOTE else "booked") == channel)
        created = datetime.fromisoformat(created_at)
        if channel == "booked":  # booked the afternoon before, each their own slot
            assert created.date() == day - timedelta(days=1) and time(15) <= created.time() < time(16), created_at
            start = datetime.fromisoformat(start_at)
            assert (start.date(), (start.hour, start.minute)) == (day, booker.start), start_at
        else:
            assert created.date() == day and time(7, 45) <= created.time() < time(8, 15), created_at
        if state != "checked_in":
            assert ticket_id is None, (code, state, ticket_id)
            continue
        assert channels.get(ticket_id) == channel, (code, ticket_id, channels)
        [ticket_png] = (out / "tickets").glob(f"{ticket_id}-*.png")
        slot_start, slot_end = (None, None) if start_at is None else (
            datetime.fromisoformat(start_at), datetime.fromisoformat(end_at))
        band, _ = channel_lines(dataclasses.replace(make_ticket(), channel=channel, booking=code,
                                                    slot_start=slot_start, slot_end=slot_end))
        assert band.startswith(("LỊCH HẸN — Khung", "SỐ LẤY TỪ XA")), band
        with Image.open(ticket_png) as image:  # the paper says it, white on black, as the layout prints it
            assert find_block(image, band_line(band, TicketFonts.default(), paper)) is not None, (ticket_png, band)
        by_code[code] = (channel, area, booker.then)
    scanned = {(channel, area): code for code, (channel, area, how) in by_code.items() if how == "scan"}
    assert sum(how == "keypad" for _, _, how in by_code.values()) >= 2 and len(scanned) == 2, by_code

    # The pages on the phone, and the QR on the confirmation: what the kiosk's scanner read
    web = sorted(path.name for path in (out / "screens").glob("web-*.png"))
    assert web == ["web-dat-lich-1-linh-vuc.png", "web-dat-lich-2-khung-gio.png", "web-dat-lich-3-mau.png",
                   "web-dat-lich-4-xong.png", "web-lich-hen-huy.png", "web-so-tu-xa.png"], web
    for name in web:
        with Image.open(out / "screens" / name) as image:
            assert image.format == "PNG" and image.width == 720, (name, image.size)
    for name, held in (("web-dat-lich-4-xong.png", ("booked", demo.BOOKERS[0].area)),
                       ("web-so-tu-xa.png", ("remote", demo.REMOTE.area))):
        read = subprocess.run(["zbarimg", "--raw", "-q", str(out / "screens" / name)], capture_output=True,
                              text=True, check=False).stdout.strip()
        assert code_ok(read) and read == scanned[held], (name, read, scanned)
    assert list((out / "screens").glob("kiosk-*-keypad.png")), "the kiosk's booking keypad"
    assert f"{len(web)} ảnh web-*.png" in printed

    # The report's channel sheet and chart, the line printed, and the notices to the citizens' phones
    sheet = list(csv.DictReader((out / "report" / "csv" / "theo-kenh.csv").open(encoding="utf-8-sig")))
    whole = {row["Kênh"]: row for row in sheet if row["Lĩnh vực"] == "Tất cả lĩnh vực"}
    slots = whole["Đặt lịch hẹn"]
    assert (slots["Lượt đặt trước"], slots["Đến đúng hẹn"], slots["Không đến"], slots["Đã huỷ"]) == (
        str(len(demo.BOOKERS)), str(expected["booked", "checked_in"]), "1", "1"), slots
    assert (whole["Lấy số từ xa"]["Lượt đặt trước"], whole["Lấy số từ xa"]["Đến đúng hẹn"]) == ("1", "1")
    assert (out / "report" / "charts" / "ket-qua-dat-truoc.png").exists()
    assert (f"Đặt trước: {len(demo.BOOKERS)} lịch hẹn ({expected['booked', 'checked_in']} đã đến lấy số, 1 không "
            "đến, 1 đã huỷ); 1 số từ xa (1 đã đến lấy số)") in printed
    notices = [json.loads(line) for line in (out / "tin-nhan.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = Counter(notice["kind"] for notice in notices)
    assert (kinds["confirmed"], kinds["remote"], kinds["cancelled"]) == (len(demo.BOOKERS), 1, 1), kinds
    assert not any(b.cccd in notice["text"] for b in bookers for notice in notices)
