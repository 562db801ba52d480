"""Appointments and remote numbers through the real service and SQLite (issue 18): the web books and cancels, the
kiosk checks in, the queue calls booked citizens at their slot, time makes no-shows, reminders and forgets people."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central_server.config import load
from central_server.domain.identity import check_cccd, person_key
from central_server.notify import OutboxNotifier
from central_server.service import CenterService
from central_server.storage.sqlite import SqliteStorage
from protocol.booking_code import check_digit
from protocol.link import Message
from protocol.messages import BookingAnswer, CenterConfigMessage, SlotsAnswer, TicketIssued
from tests.central_server.test_service import HCM, Clock, Rig, reply_of
from tests.harness import sqlite_file

CCCD, OTHER = "079203001234", "001185004321"  # Hồ Chí Minh, born 2003; Hà Nội, born 1985
PHONE = "0912 345 678"
HOURS = """[hours]
weekdays = ["07:30-11:30", "13:30-17:00"]
last_ticket_min = 15

"""


class BookingRig(Rig):
    """The test center with hours, [bookings] as given, a citizen web and the outbox notifier."""

    def __init__(self, folder: Path, clock: Clock, bookings: str = "") -> None:
        super().__init__(folder, clock)
        self.outbox = folder / "notices.jsonl"
        path = folder / "center.toml"
        text = path.read_text(encoding="utf-8").replace("[queue]\n", HOURS + "[bookings]\n" + bookings + "\n"
                                                        f'[notify]\nkind = "outbox"\npath = "{self.outbox}"\n\n'
                                                        '[citizen_web]\nids = ["web-1"]\n\n[queue]\n')
        path.write_text(text, encoding="utf-8")
        self.storage.close()
        self.config = load(path)
        self.restart()

    def restart(self) -> None:
        self.storage.close()
        self.storage = SqliteStorage(sqlite_file(self.config))
        self.notifier = OutboxNotifier(self.folder / "notices.jsonl")
        self.service = CenterService(self.config, self.storage, self.clock, notifier=self.notifier)

    def web(self, action: str, request_id: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, **fields}
        return reply_of(self.send(self.topics.web_request("web-1"), body, self.topics.web_response("web-1")),
                        self.topics.web_response("web-1"))

    def book(self, start: datetime, area: str = "dat-dai", cccd: str = CCCD, **extra: Any) -> dict[str, Any]:
        return self.web("book", area=area, start=start.isoformat(), cccd=cccd, phone=PHONE, **extra)

    def check_in(self, code: str, request_id: str | None = None) -> dict[str, Any]:
        out = self.send(self.topics.ticket_request("k1"), {"v": 1, "request_id": request_id or uuid.uuid4().hex,
                                                           "booking": code}, self.topics.ticket_response("k1"))
        return reply_of(out, self.topics.ticket_response("k1"))

    def notices(self) -> list[dict[str, Any]]:
        self.notifier.close()  # what it was handed is written
        notices = [json.loads(line) for line in self.outbox.read_text(encoding="utf-8").splitlines()]
        self.notifier = OutboxNotifier(self.outbox)
        self.service._desk._notifier = self.notifier  # the service goes on with a fresh worker
        return notices

    def rows(self) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(sqlite_file(self.config))) as db:
            return db.execute("SELECT code, day, area, channel, start_at, person, phone, state, ticket_id"
                              " FROM bookings ORDER BY created_at, code").fetchall()


def at(day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=HCM)


@pytest.fixture
def rig(tmp_path: Path) -> BookingRig:
    return BookingRig(tmp_path, Clock())  # Monday 23/11/2026, 07:30


def test_a_citizen_books_a_slot_and_only_a_keyed_hash_of_the_cccd_is_kept(rig: BookingRig) -> None:
    days = SlotsAnswer.from_wire(json.dumps(rig.web("slots", area="dat-dai")).encode())
    assert isinstance(days, SlotsAnswer) and days.days[0].day == at(23, 0, 0).date()
    assert len(days.days) == 11  # today and 14 days ahead, their weekdays (no weekend)
    tuesday = rig.web("slots", area="dat-dai", day="2026-11-24")["slots"]
    assert [(s["start"][11:16], s["free"]) for s in tuesday[:2]] == [("07:30", 2), ("08:00", 2)] and len(tuesday) == 13
    booked = rig.book(at(24, 9, 0), request_id="b1")
    answer = BookingAnswer.from_wire(json.dumps(booked).encode())
    assert isinstance(answer, BookingAnswer)
    view = answer.booking
    assert (view.area_name, view.channel, view.state, view.start, view.end) == ("Đất đai", "booked", "booked",
                                                                                at(24, 9, 0), at(24, 9, 30))
    assert (view.check_in_from, view.check_in_until) == (at(24, 8, 30), at(24, 9, 15))
    assert check_digit(view.code) == "0" and CCCD not in json.dumps(booked) and "0912" not in json.dumps(booked)
    assert rig.book(at(24, 9, 0), request_id="b1") == booked, "a retry gets its first answer, and books nothing"
    nine = [s for s in rig.web("slots", area="dat-dai", day="2026-11-24")["slots"] if s["start"][11:16] == "09:00"]
    assert nine[0]["free"] == 1
    ((code, day, area, channel, start, person, phone, state, ticket),) = rig.rows()
    assert (code, day, area, channel, state, ticket, phone) == (view.code, "2026-11-24", "dat-dai", "booked",
                                                                "booked", None, "0912345678")
    assert len(person) == 64 and CCCD not in person and start.startswith("2026-11-24T09:00")
    (notice,) = rig.notices()
    assert notice["kind"] == "confirmed" and notice["phone"] == "0912345678"
    assert notice["text"] == ("Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm: Ông/Bà đã đặt lịch lĩnh vực Đất đai "
                              f"lúc 09:00 ngày 24/11/2026, mã {view.code[:4]} {view.code[4:]}. Vui lòng đến ki-ốt từ "
                              "08:30 đến 09:15, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR.")
    config = CenterConfigMessage.from_wire(rig.service.retained_state()[0].payload)
    assert config.bookings is not None and config.bookings.slot_minutes == 30
    assert [a.booking_capacity for a in config.areas][:2] == [2, 2]


def test_a_full_slot_a_past_one_and_a_far_day_are_refused_and_nothing_is_kept(rig: BookingRig) -> None:
    rig.book(at(24, 9, 0))
    rig.book(at(24, 9, 0), cccd=OTHER)
    full = rig.book(at(24, 9, 0), cccd="079185000001")
    assert full["error"]["code"] == "slot_full" and full["error"]["message"].startswith("Khung giờ này đã hết chỗ")
    assert rig.book(at(23, 7, 30))["error"]["code"] == "slot_unavailable"  # begun
    assert rig.book(at(24, 9, 10))["error"]["code"] == "slot_unavailable"  # no slot starts then
    assert rig.book(at(28, 9, 0))["error"]["code"] == "slot_unavailable"  # a Saturday
    assert rig.book(at(24, 9, 0) + timedelta(days=15))["error"]["code"] == "slot_unavailable"
    assert rig.book(at(24, 11, 0))["error"]["code"] == "slot_unavailable"  # ends after the last ticket (11:15)
    assert rig.web("book", area="nope", start=at(24, 9, 0).isoformat(), cccd=CCCD, phone=PHONE)["error"][
        "code"] == "unknown_area"
    assert len(rig.rows()) == 2


@pytest.mark.parametrize(("cccd", "phone", "says"), [
    ("07920300123", PHONE, "gồm đúng 12 chữ số"),
    ("999203001234", PHONE, "không phải mã tỉnh"),
    ("079403001234", PHONE, "Năm sinh"),  # born in 2103
    ("079950001234", PHONE, "Năm sinh"),  # in 2350
    (CCCD, "0212345678", "Số điện thoại di động"),
])
def test_a_wrong_cccd_or_phone_is_said_in_vietnamese_and_books_nothing(rig: BookingRig, cccd: str, phone: str,
                                                                       says: str) -> None:
    refused = rig.web("book", area="dat-dai", start=at(24, 9, 0).isoformat(), cccd=cccd, phone=phone)
    assert refused["error"]["code"] == "bad_identity" and says in refused["error"]["message"]
    assert rig.rows() == []


def test_the_per_person_limits_a_day_and_an_area(rig: BookingRig) -> None:
    assert rig.book(at(24, 9, 0))["ok"]
    same_area = rig.book(at(24, 14, 0))
    assert same_area["error"]["code"] == "person_limit"
    assert same_area["error"]["message"] == ("Mỗi công dân được đặt tối đa 1 lịch hẹn hoặc số từ xa cho lĩnh vực Đất "
                                             "đai trong một ngày; ngày 24/11/2026 Ông/Bà đã đủ.")
    assert rig.book(at(24, 9, 0), area="tu-phap")["ok"]
    third = rig.book(at(24, 10, 0), area="nho")
    assert third["error"]["code"] == "person_limit" and "tối đa 2 lịch hẹn" in third["error"]["message"]
    assert rig.book(at(25, 9, 0))["ok"], "another day is another day"
    assert rig.book(at(24, 14, 0), cccd="  079-203.001 234 ")["error"]["code"] == "person_limit", "typed otherwise"


def test_only_its_holder_cancels_a_booking_and_its_place_is_free_again(rig: BookingRig) -> None:
    code = rig.book(at(24, 9, 0))["booking"]["code"]
    rig.book(at(24, 9, 0), cccd=OTHER)
    stranger = rig.web("cancel_booking", code=code, cccd=OTHER)
    assert stranger["error"]["code"] == "unknown_booking"
    assert rig.web("booking", code=code, cccd=OTHER)["error"]["code"] == "unknown_booking"
    typo = code[:7] + str((int(code[7]) + 1) % 10)
    assert rig.web("booking", code=typo, cccd=CCCD)["error"]["code"] == "bad_code"
    assert rig.web("booking", code=code, cccd=CCCD)["booking"]["state"] == "booked"
    cancelled = rig.web("cancel_booking", request_id="c1", code=code, cccd=CCCD)
    assert cancelled["booking"]["state"] == "cancelled"
    assert rig.web("cancel_booking", request_id="c1", code=code, cccd=CCCD) == cancelled
    assert rig.book(at(24, 9, 0), cccd="079185000001")["ok"], "the place it held is free"
    assert rig.book(at(24, 14, 0))["ok"], "and it counts no more against its holder"
    kinds = [n["kind"] for n in rig.notices()]
    assert kinds == ["confirmed", "confirmed", "cancelled", "confirmed", "confirmed"]
    assert rig.check_in(code)["error"]["code"] == "booking_cancelled"


def test_a_booked_citizen_checks_in_and_is_called_at_the_slot_ahead_of_walk_ins(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    other = rig.book(at(23, 9, 30), cccd=OTHER)["booking"]["code"]
    walk_ins = [rig.ticket("dat-dai")["ticket"]["number"] for _ in range(3)]
    rig.clock.now = at(23, 8, 40)
    early = rig.check_in(other)  # 09:30's window opens at 09:00: the center lets it wait ("wait" by default)
    checked = rig.check_in(code, request_id="ci1")
    ticket = TicketIssued.from_wire(json.dumps(checked).encode())
    assert isinstance(ticket, TicketIssued)
    view = ticket.ticket
    assert (view.channel, view.slot_start, view.slot_end, view.booking) == ("booked", at(23, 9, 0), at(23, 9, 30),
                                                                            code)
    assert view.estimated_wait_s == 20 * 60 and view.waiting_ahead == 0
    assert rig.check_in(code, request_id="ci1") == checked, "a retry: the same ticket"
    again = rig.check_in(code)
    assert again["error"]["code"] == "already_checked_in"
    assert again["error"]["message"].startswith(f"Mã này đã được dùng để lấy số {view.number} lúc 08:40.")
    assert early["ticket"]["channel"] == "booked"
    called = [rig.command("1", "next")["ticket"]["number"]]  # 08:40: the slot has not begun
    rig.clock.now = at(23, 9, 0)
    called += [rig.command("1", "next")["ticket"]["number"] for _ in range(4)]
    # due at 09:00: the booking first, then half the calls while walk-ins wait (the default share, 50 %)
    assert called == [walk_ins[0], view.number, walk_ins[1], walk_ins[2], early["ticket"]["number"]]
    assert [r[7] for r in rig.rows()] == ["checked_in", "checked_in"]


def test_a_booking_is_called_before_its_slot_only_when_nobody_else_waits(rig: BookingRig) -> None:
    code = rig.book(at(23, 10, 0))["booking"]["code"]
    rig.clock.now = at(23, 9, 0)
    number = rig.check_in(code)["ticket"]["number"]
    assert rig.command("1", "next")["ticket"]["number"] == number, "no counter idles while someone waits"


def test_the_share_of_calls_the_center_gives_bookings(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock(), "share_percent = 100\ncapacity = 5\nper_person_per_area = 3\n"
                                        "per_person_per_day = 3\n")
    codes = [rig.book(at(23, 9, 0), cccd=c)["booking"]["code"] for c in (CCCD, OTHER, "079185000001")]
    walk_in = rig.ticket("dat-dai")["ticket"]["number"]
    rig.clock.now = at(23, 9, 0)
    booked = [rig.check_in(c)["ticket"]["number"] for c in codes]
    priority = rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "p", "area": "dat-dai",
                                                          "priority": "elderly"}, rig.topics.ticket_response("k1"))
    elderly = reply_of(priority, rig.topics.ticket_response("k1"))["ticket"]["number"]
    called = [rig.command("1", "next")["ticket"]["number"] for _ in range(5)]
    assert called == [elderly, *booked, walk_in], "priority keeps its right; bookings take every call at 100 %"


def test_too_early_and_too_late_go_by_the_centers_choice(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock(), 'too_early = "refuse"\ntoo_late = "walk_in"\n')
    code = rig.book(at(23, 10, 0))["booking"]["code"]
    rig.clock.now = at(23, 9, 20)
    early = rig.check_in(code)
    assert early["error"] == {"code": "too_early",
                              "message": "Ông/Bà đến sớm hơn giờ hẹn. Mời quay lại ki-ốt từ 09:30 để lấy phiếu."}
    rig.clock.now = at(23, 10, 20)
    rig.service.tick()
    assert rig.rows()[0][7] == "no_show"
    late = rig.check_in(code)["ticket"]
    assert "channel" not in late and late["booking"] == code and "slot_start" not in late  # a walk-in's
    assert rig.rows()[0][7] == "late"
    (tmp_path / "r").mkdir()
    refusing = BookingRig(tmp_path / "r", Clock(), 'too_late = "refuse"\n')
    other = refusing.book(at(23, 10, 0))["booking"]["code"]
    refusing.clock.now = at(23, 10, 16)
    said = refusing.check_in(other)["error"]
    assert said == {"code": "too_late",
                    "message": "Đã quá giờ nhận phiếu của lịch hẹn (đến 10:15). Mời Ông/Bà lấy số thường."}


def test_a_check_in_on_another_day_or_with_an_unknown_code_is_refused(rig: BookingRig) -> None:
    code = rig.book(at(24, 9, 0))["booking"]["code"]
    assert rig.check_in(code)["error"] == {"code": "not_today", "message": "Lịch hẹn của Ông/Bà là ngày 24/11/2026, "
                                                                           "không phải hôm nay."}
    unknown = "1234567" + check_digit("1234567")
    assert rig.check_in(unknown)["error"]["code"] == "unknown_booking"
    assert rig.check_in("12345678" if unknown != "12345678" else "12345679")["error"]["code"] == "bad_code"
    bad = rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "x", "booking": "1234"},
                   rig.topics.ticket_response("k1"))
    assert reply_of(bad, rig.topics.ticket_response("k1"))["error"]["code"] == "bad_request"


def test_a_remote_number_counts_from_when_it_was_taken_once_checked_in(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock(), "remote = true\nremote_minutes = 60\n")
    rig.clock.now = at(23, 8, 0)
    before = rig.ticket("dat-dai")["ticket"]["number"]
    remote = rig.web("remote", area="dat-dai", cccd=CCCD, phone=PHONE)["booking"]
    assert (remote["channel"], remote["check_in_until"][11:16], "start" in remote) == ("remote", "09:00", False)
    forgotten = rig.web("remote", area="tu-phap", cccd=OTHER, phone=PHONE)["booking"]["code"]
    rig.clock.now = at(23, 8, 30)
    after = rig.ticket("dat-dai")["ticket"]["number"]
    checked = rig.check_in(remote["code"])["ticket"]
    assert checked["channel"] == "remote" and checked["waiting_ahead"] == 1
    called = [rig.command("1", "next")["ticket"]["number"] for _ in range(3)]
    assert called == [before, checked["number"], after], "its place is from 08:00, ahead of 08:30's walk-in"
    rig.clock.now = at(23, 9, 1)
    rig.service.tick()
    assert {r[0]: r[7] for r in rig.rows()}[forgotten] == "no_show"
    assert rig.web("slots", area="dat-dai")["remote_free"] == 49
    texts = [n["text"] for n in rig.notices()]
    assert "đã lấy số từ xa lĩnh vực Đất đai hôm nay" in texts[0] and "trước 09:00" in texts[0]


def test_remote_numbers_only_when_the_center_gives_them_and_the_area_is_open(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock())
    assert rig.web("remote", area="dat-dai", cccd=CCCD, phone=PHONE)["error"]["code"] == "remote_off"
    (tmp_path / "o").mkdir()
    open_rig = BookingRig(tmp_path / "o", Clock(), "remote = true\n")
    open_rig.clock.now = at(23, 11, 20)  # past the morning's last ticket
    assert open_rig.web("remote", area="dat-dai", cccd=CCCD, phone=PHONE)["error"]["code"] == "last_ticket_passed"


def test_bookings_survive_a_restart_and_an_unprinted_check_in_frees_its_booking(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    rig.restart()
    rig.clock.now = at(23, 8, 45)
    first = rig.check_in(code, request_id="ci1")["ticket"]
    cancel = rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "cx", "cancels": "ci1",
                                                        "reason": "unprinted"}, rig.topics.ticket_response("k1"))
    assert reply_of(cancel, rig.topics.ticket_response("k1"))["voided"] is True
    again = rig.check_in(code)["ticket"]
    assert again["id"] != first["id"] and again["booking"] == code
    rig.restart()
    assert rig.check_in(code)["error"]["code"] == "already_checked_in"


def test_a_reminder_goes_once_and_people_are_forgotten_after_the_retention(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock(), "retention_days = 2\nremind_minutes = 120\n")
    code = rig.book(at(24, 9, 0))["booking"]["code"]
    rig.clock.now = at(24, 7, 0)
    rig.service.tick()
    rig.service.tick()
    rig.restart()
    rig.service.tick()
    kinds = [n["kind"] for n in rig.notices()]
    assert kinds == ["confirmed", "reminder"]
    rig.clock.now = at(25, 7, 0)
    rig.service.tick()
    row = rig.rows()[0]
    assert row[0] == code and row[7] == "no_show" and row[6] is None and row[5] is not None, "the phone goes first"
    rig.clock.now = at(27, 7, 0)
    rig.service.tick()
    assert rig.rows()[0][5:7] == (None, None), "then the keyed hash, after the retention"


def test_the_phone_never_says_a_booked_citizen_is_called_before_the_slot(rig: BookingRig) -> None:
    code = rig.book(at(23, 10, 0))["booking"]["code"]
    rig.service.handle_batch([Message(rig.topics.device_status("counter-1"), b'{"v":1,"online":true}', None, None,
                                      retained=True)])
    rig.clock.now = at(23, 9, 0)
    ticket = rig.check_in(code)["ticket"]
    walk_in = rig.ticket("dat-dai")["ticket"]
    plan = rig.service.queue_plan(rig.clock.now, fresh=True)
    assert plan.by_ticket[ticket["id"]].seconds == 3600, "from its slot"
    assert plan.by_ticket[walk_in["id"]].seconds == 0, "the walk-in goes first meanwhile"


# --- what a review found ---------------------------------------------------------------------------------------


def test_a_booking_of_a_day_the_server_never_saw_end_is_a_no_show_without_its_phone(rig: BookingRig) -> None:
    rig.book(at(23, 9, 0))
    rig.clock.now = at(25, 7, 0)  # stopped on the 23rd, started again on the 25th
    rig.restart()
    rig.service.tick()
    ((_code, _day, _area, _channel, _start, person, phone, state, _ticket),) = rig.rows()
    assert (state, phone) == ("no_show", None) and person is not None


def test_a_clock_set_back_to_the_day_before_finds_that_days_bookings(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    rig.clock.now = at(24, 8, 0)  # a clock a day ahead at boot, and nothing happened on that day
    rig.restart()
    rig.clock.now = at(23, 8, 50)  # NTP sets it right
    assert rig.check_in(code)["ticket"]["channel"] == "booked"


def test_the_bookings_share_holds_across_a_reading_of_the_same_day(tmp_path: Path) -> None:
    """With PostgreSQL instances, the day is read again whenever another instance committed: the share stays."""
    rig = BookingRig(tmp_path, Clock(), "capacity = 4\nper_person_per_area = 2\nper_person_per_day = 2\n")
    codes = [rig.book(at(23, 9, 0), cccd=c)["booking"]["code"] for c in (CCCD, CCCD, OTHER, OTHER)]
    walk_ins = [rig.ticket("dat-dai")["ticket"]["number"] for _ in range(4)]
    rig.clock.now = at(23, 9, 0)
    booked = [rig.check_in(c)["ticket"]["number"] for c in codes]
    called = []
    for _ in range(8):
        center = rig.service.center
        center.restore(rig.storage.load_day(center.day, rig.config.rules.counters, 3))  # as `exclusive` does
        called.append(rig.command("1", "next")["ticket"]["number"])
    assert called == [x for pair in zip(booked, walk_ins, strict=True) for x in pair]


def test_booking_and_cancelling_again_and_again_stops_and_a_phone_gets_at_most_six_notices(rig: BookingRig) -> None:
    for _ in range(3):
        code = rig.book(at(24, 9, 0))["booking"]["code"]
        assert rig.web("cancel_booking", code=code, cccd=CCCD)["booking"]["state"] == "cancelled"
    again = rig.book(at(24, 9, 0))
    assert again["error"] == {"code": "person_limit", "message": "Ông/Bà đã huỷ 3 lịch hẹn của ngày 24/11/2026; "
                                                                 "không đặt thêm được cho ngày này."}
    assert [r[6] for r in rig.rows()] == [None, None, None], "a cancelled booking keeps no phone"
    assert rig.book(at(25, 9, 0))["ok"]
    assert len(rig.notices()) == 6, "3 confirmations and 3 cancellations, then the phone's day is full"


def test_a_window_the_citizen_was_told_holds_when_the_center_changes_its_rules(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    path = rig.config.path
    path.write_text(path.read_text(encoding="utf-8").replace("[bookings]\n", "[bookings]\ncheck_in_late_minutes = 0\n"),
                    encoding="utf-8")
    rig.service.reload_file()
    rig.clock.now = at(23, 9, 10)
    assert rig.check_in(code)["ticket"]["channel"] == "booked", "told: until 09:15"


def test_a_booked_citizen_called_early_and_transferred_is_due_in_the_new_area(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    rig.clock.now = at(23, 8, 0)
    number = rig.check_in(code)["ticket"]["number"]
    assert rig.command("1", "next")["ticket"]["number"] == number
    rig.clock.now = at(23, 8, 5)
    later = rig.ticket("tu-phap")["ticket"]["number"]
    rig.clock.now = at(23, 8, 10)
    rig.command("1", "transfer", to_area="tu-phap")
    assert rig.command("2", "next")["ticket"]["number"] == number, f"ahead of {later}, who came after its call"


def test_an_area_that_gives_only_remote_numbers_says_how_many_are_left(tmp_path: Path) -> None:
    rig = BookingRig(tmp_path, Clock(), "capacity = 0\nremote = true\n")
    rig.clock.now = at(23, 8, 0)
    answer = rig.web("slots", area="dat-dai")
    assert (answer["days"], answer["remote_free"]) == ([], 50)


@pytest.mark.parametrize("start", ["9999-12-31T23:30:00-23:59", "0001-01-01T00:00:00+23:59",
                                   "2026-11-24T09:00:00+23:59"])
def test_a_start_at_the_edge_of_time_is_refused_not_crashed_on(rig: BookingRig, start: str) -> None:
    refused = rig.web("book", area="dat-dai", start=start, cccd=CCCD, phone=PHONE)
    assert refused["error"]["code"] == "slot_unavailable"
    assert rig.web("slots", area="dat-dai", day="9999-12-31")["slots"] == []


def test_the_counter_is_told_the_cccds_last_digits_and_the_kiosk_is_not(rig: BookingRig) -> None:
    code = rig.book(at(23, 9, 0))["booking"]["code"]
    rig.clock.now = at(23, 8, 50)
    printed = rig.check_in(code)["ticket"]
    assert "id_tail" not in printed
    called = rig.command("1", "next")["ticket"]
    assert called["id_tail"] == CCCD[-4:]
    state = json.loads({o.topic: o.payload for o in rig.service.retained_state()}[rig.topics.counter_state("1")])
    assert state["ticket"]["id_tail"] == CCCD[-4:]
    board = {o.topic: o.payload for o in rig.service.retained_state()}[rig.topics.board_state()]
    assert CCCD[-4:].encode() not in board


def test_the_key_of_the_hashes_may_live_outside_the_database(tmp_path: Path) -> None:
    key = tmp_path / "identity.key"
    key.write_bytes(bytes(range(32)))
    rig = BookingRig(tmp_path, Clock())
    path = rig.config.path
    keyed = f'[storage]\nidentity_key_file = "{key}"\n'
    path.write_text(path.read_text(encoding="utf-8").replace("[storage]\n", keyed), encoding="utf-8")
    rig.storage.close()
    rig.config = load(path)
    rig.restart()
    rig.book(at(24, 9, 0))
    cccd = check_cccd(CCCD, at(23, 0, 0).date())
    with closing(sqlite3.connect(sqlite_file(rig.config))) as db:
        inside = bytes(db.execute("SELECT value FROM secrets WHERE name = 'identity_key'").fetchone()[0])
    assert rig.rows()[0][5] == person_key(bytes(range(32)), cccd) != person_key(inside, cccd)


def test_a_closed_area_takes_no_booking(rig: BookingRig) -> None:
    refused = rig.book(at(24, 9, 0), area="dong")
    assert refused["error"] == {"code": "area_closed", "message": "Lĩnh vực Lĩnh vực tạm đóng hiện tạm ngừng tiếp nhận "
                                                                  "hồ sơ, không nhận đặt lịch."}
