"""What the phone shows of a ticket, from its look-up and the queue (citizen_web/follow.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from citizen_web.follow import Names, Queue, expired_view, needs_lookup, ticket_seq, view_of, wait_text
from protocol.messages import CalledNow, PublicTicket

DAY = date(2026, 12, 2)
AT = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 09:00 at the center: when the server made the queue
NAMES = Names("Bộ phận Một cửa", {"dat-dai": "Đất đai", "tu-phap": "Tư pháp"}, {"3": "Quầy 3"},
              ("very_satisfied", "satisfied", "dissatisfied"), ZoneInfo("Asia/Ho_Chi_Minh"))


def ticket(**fields: Any) -> PublicTicket:
    """A look-up's answer, as the server sends it."""
    return PublicTicket.from_body({
        "id": "20261202-000007", "token": "t" * 27, "number": "1005", "area": "dat-dai", "area_name": "Đất đai",
        "priority": "none", "issued_at": "2026-12-02T08:10:00+07:00", "state": "waiting", "calls": 0,
        "rating": {"level": None, "until": None, "open": False}, **fields})


def queue(waiting: Mapping[int, tuple[str, int, int | None]] | None = None,
          called: dict[int, CalledNow] | None = None, cut: dict[str, int] | None = None) -> Queue:
    waiting = waiting or {}
    lengths: dict[str, int] = {}
    for area, _ahead, _estimate in waiting.values():
        lengths[area] = lengths.get(area, 0) + 1
    return Queue(DAY, AT, AT, waiting, cut or {}, lengths, called or {})


def test_a_waiting_ticket_shows_how_many_are_before_it_and_the_estimate() -> None:
    view = view_of(ticket(), queue({7: ("dat-dai", 3, 720)}), NAMES, AT, AT)
    assert (view["state"], view["ahead"], view["before"], view["big"], view["after"]) == (
        "waiting", 3, "Trước Ông/Bà còn", "3", "người đang chờ")
    assert view["notes"] == ["Thời gian chờ ước tính: khoảng 12 phút (theo nhịp làm việc hôm nay, có thể thay đổi)."]
    assert (view["number"], view["area_name"], view["issued"]) == ("1005", "Đất đai", "08:10")


def test_the_next_one_is_told_so_and_no_estimate_is_made_up_without_a_counter() -> None:
    view = view_of(ticket(), queue({7: ("dat-dai", 0, None)}), NAMES, AT, AT)
    assert (view["ahead"], view["big"]) == (0, "Sắp đến lượt")
    assert view["notes"] == ["Chưa có quầy nào đang phục vụ lĩnh vực này nên chưa ước tính được thời gian chờ."]


def test_a_called_ticket_names_its_counter_in_the_centers_clock() -> None:
    called = CalledNow(7, "3", datetime(2026, 12, 2, 2, 41, tzinfo=UTC), 2)
    view = view_of(ticket(), queue(called={7: called}), NAMES, AT, AT)
    assert (view["state"], view["before"], view["big"], view["after"], view["calls"]) == (
        "called", "Mời công dân đến", "Quầy 3", "Gọi lúc 09:41 (lần 2)", 2)


def test_a_ticket_the_queue_no_longer_holds_is_looked_up_again() -> None:
    assert needs_lookup(ticket(), queue({8: ("dat-dai", 0, 60)}))
    assert not needs_lookup(ticket(), queue({7: ("dat-dai", 0, 60)}))
    assert not needs_lookup(ticket(state="served"), queue())
    assert not needs_lookup(ticket(), queue(cut={"dat-dai": 40})), "a cut list says nothing of its tail"
    yesterday = Queue(date(2026, 12, 1), AT, AT, {}, {}, {})
    assert not needs_lookup(ticket(), yesterday), "the queue is older than the ticket: wait for the new one"
    tomorrow = Queue(date(2026, 12, 3), AT, AT, {}, {}, {})
    assert needs_lookup(ticket(), tomorrow)


def test_a_ticket_beyond_a_cut_list_says_more_than_the_list_holds() -> None:
    waiting = {n: ("dat-dai", n - 100, 60) for n in range(100, 140)}
    view = view_of(ticket(), queue(waiting, cut={"dat-dai": 500}), NAMES, AT, AT)
    assert (view["before"], view["big"]) == ("Trước Ông/Bà còn hơn", "40")


def test_served_offers_the_levels_until_the_window_ends_then_thanks() -> None:
    open_rating = {"open": True, "level": None, "until": "2026-12-02T03:15:00+00:00"}
    view = view_of(ticket(state="served", counter_id="3", rating=open_rating), queue(), NAMES, AT, AT)
    assert view["rating"]["open"] is True
    assert view["rating"]["levels"][0] == ["very_satisfied", "Rất hài lòng"]
    assert view["notes"] == ["Mời Ông/Bà đánh giá mức độ hài lòng (đến 10:15)."]
    assert (view["before"], view["big"]) == ("Đã phục vụ xong tại Quầy 3", "Cảm ơn Ông/Bà")
    rated = view_of(ticket(state="served", counter_id="3", rating={"open": False, "level": "satisfied"}), queue(),
                    NAMES, AT, AT)
    assert rated["rating"] == {"open": False, "level": "satisfied"}
    assert rated["notes"] == ["Ông/Bà đã đánh giá: Hài lòng. Trân trọng cảm ơn."]


def test_missed_says_what_to_do_and_voided_and_expired_say_so() -> None:
    missed = view_of(ticket(state="missed"), queue(), NAMES, AT, AT)
    assert missed["big"] == "Đã qua lượt"
    assert "gọi lại số này trong ngày hôm nay" in missed["notes"][0]
    assert view_of(ticket(state="voided"), queue(), NAMES, AT, AT)["big"] == "Phiếu đã huỷ"
    assert expired_view(date(2026, 12, 1))["notes"] == [
        "Phiếu này là của ngày 01/12/2026. Mỗi phiếu chỉ dùng được trong ngày cấp."]


def test_waits_are_said_as_a_person_says_them() -> None:
    assert [wait_text(s) for s in (20, 89, 720, 3600, 4800)] == [
        "khoảng 1 phút", "khoảng 1 phút", "khoảng 12 phút", "khoảng 1 giờ", "khoảng 1 giờ 20 phút"]


def test_ticket_ids_are_read_strictly() -> None:
    assert ticket_seq("20261202-000003") == (DAY, 3)
    assert ticket_seq("20261302-000003") is None
    assert ticket_seq("x-1") is None


def test_an_estimate_counts_down_from_when_the_server_made_it_and_says_when_it_passed() -> None:
    later = AT + timedelta(minutes=5)
    view = view_of(ticket(), queue({7: ("dat-dai", 3, 720)}), NAMES, later, AT)
    assert view["notes"] == ["Thời gian chờ ước tính: khoảng 7 phút (theo nhịp làm việc hôm nay, có thể thay đổi)."]
    passed = view_of(ticket(), queue({7: ("dat-dai", 3, 720)}), NAMES, AT + timedelta(minutes=13), AT)
    assert passed["notes"] == ["Đã quá thời gian chờ ước tính: Ông/Bà sắp được gọi, vui lòng chú ý màn hình và loa "
                               "gọi số."]
    looked_up = view_of(ticket(waiting_ahead=2, estimated_wait_s=600), None, NAMES, later, AT)
    assert looked_up["notes"][0].startswith("Thời gian chờ ước tính: khoảng 5 phút")
