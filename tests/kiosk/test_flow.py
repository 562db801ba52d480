"""The kiosk's state machine, with no I/O: touches, answers, printer states, time."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.flow import (
    ConfigReceived,
    ConnectionChanged,
    KioskFlow,
    Pressed,
    PrintDone,
    PrinterChecked,
    PrintTicket,
    ReportStatus,
    RequestTicket,
    Tick,
    TicketAnswered,
    TicketFailed,
    Touched,
)
from kiosk.model import (
    AREA_CLOSED,
    AREA_FULL,
    AREA_OUT_OF_HOURS,
    BACK_BUTTON,
    NO_BROKER,
    NO_SERVER,
    NOT_ISSUED,
    PRINT_FAILED,
    PRIORITY_BUTTON,
    SLOW,
    AreaButton,
    IssuedTicket,
    PrinterStatus,
    Screen,
    area_target,
    priority_target,
)
from protocol.hours import Hours, parse_sessions

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AREAS = (AreaButton("dat-dai", "Đất đai"), AreaButton("tu-phap", "Tư pháp – Hộ tịch"),
         AreaButton("dong", "Tài nguyên và Môi trường", open=False))


def ticket(number: str = "1001", ticket_id: str = "t1") -> IssuedTicket:
    return IssuedTicket(ticket_id, number, "dat-dai", "Đất đai", T0, 2, 600)


@pytest.fixture
def flow() -> KioskFlow:
    ids = (f"req-{n}" for n in itertools.count(1))
    kiosk = KioskFlow(lambda: next(ids), T0)
    kiosk.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly", "pregnant")))
    kiosk.handle(ConnectionChanged(True))
    kiosk.handle(PrinterChecked(PrinterStatus.READY))
    return kiosk


def test_starts_only_with_config_connection_and_a_printer_check() -> None:
    kiosk = KioskFlow(lambda: "r", T0)
    assert kiosk.view().screen is Screen.STARTING
    kiosk.handle(ConfigReceived("Trung tâm", AREAS, ()))
    kiosk.handle(PrinterChecked(PrinterStatus.READY))
    assert kiosk.view().screen is Screen.STARTING, "the first seconds: the server is still being reached"
    kiosk.handle(ConnectionChanged(True))
    assert kiosk.view().screen is Screen.MENU


def test_a_kiosk_that_cannot_reach_the_server_says_which_part_is_away_not_starting_for_ever() -> None:
    kiosk = KioskFlow(lambda: "r", T0)
    kiosk.handle(PrinterChecked(PrinterStatus.READY))
    kiosk.handle(Tick(T0 + timedelta(seconds=6)))  # no config: the server never published one
    view = kiosk.view()
    assert (view.screen, view.message) == (Screen.OFFLINE, NO_SERVER), "the broker answers, the server does not"
    kiosk.handle(ConnectionChanged(False, broker=False))
    assert (kiosk.view().screen, kiosk.view().message) == (Screen.OFFLINE, NO_BROKER)
    assert "đang bận" not in NO_BROKER + NO_SERVER, "busy is what the server says, not what the kiosk guesses"
    kiosk.handle(ConfigReceived("Trung tâm", AREAS, ()))
    kiosk.handle(ConnectionChanged(True))
    assert kiosk.view().screen is Screen.MENU


def test_a_touch_asks_once_and_a_double_tap_makes_no_second_request(flow: KioskFlow) -> None:
    effects = flow.handle(Touched(area_target("dat-dai")))
    assert effects == [RequestTicket("req-1", "dat-dai", "none")]
    assert flow.view().screen is Screen.WORKING
    assert flow.handle(Touched(area_target("dat-dai"))) == []
    assert flow.handle(Pressed("dat-dai")) == []


def test_the_answer_is_printed_and_shown_then_the_menu_returns(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    effects = flow.handle(TicketAnswered("req-1", ticket()))
    assert effects == [PrintTicket(ticket())]
    view = flow.view()
    assert view.screen is Screen.TICKET and view.ticket == ticket()
    assert flow.handle(PrintDone("t1", ok=True)) == []
    flow.handle(Tick(T0 + timedelta(seconds=5)))
    assert flow.view().screen is Screen.TICKET
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU


def test_an_answer_to_another_request_is_ignored(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    assert flow.handle(TicketAnswered("someone-else", ticket())) == []
    assert flow.view().screen is Screen.WORKING


def test_a_slow_answer_says_the_kiosk_waits_for_the_server_and_a_late_answer_still_prints(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(Tick(T0 + timedelta(seconds=2)))
    view = flow.view()
    assert view.screen is Screen.WORKING and view.message == SLOW
    assert flow.handle(TicketAnswered("req-1", ticket())) == [PrintTicket(ticket())]


def test_giving_up_says_no_number_was_issued(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketFailed("req-1"))
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, NOT_ISSUED)
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU


def test_a_refusal_shows_the_servers_vietnamese_message(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    assert flow.handle(TicketAnswered("req-1", None, "Lĩnh vực Đất đai đã hết số thứ tự", "area_full")) == []
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, "Lĩnh vực Đất đai đã hết số thứ tự")


def test_busy_is_said_only_when_the_server_says_it(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketAnswered("req-1", None, "Hệ thống đang bận, vui lòng thử lại sau.", "internal_error"))
    assert (flow.view().screen, flow.view().message) == (Screen.BUSY, "Hệ thống đang bận, vui lòng thử lại sau.")


def test_a_full_area_is_greyed_for_the_rest_of_the_day(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketAnswered("req-1", None, "Lĩnh vực Đất đai đã cấp đủ 80 phiếu hôm nay.", "quota_reached"))
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    land = flow.view().areas[0]
    assert (land.open, land.note) == (False, AREA_FULL)
    assert flow.handle(Touched(area_target("dat-dai"))) == []
    flow.handle(Tick(T0 + timedelta(days=1)))
    assert flow.view().areas[0].open, "a new day, a new quota"


def test_a_full_area_is_touchable_again_once_the_center_changes_its_quota(flow: KioskFlow) -> None:
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly", "pregnant"), quotas=(("dat-dai", 80),)))
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketAnswered("req-1", None, "Lĩnh vực Đất đai đã cấp đủ 80 phiếu hôm nay.", "quota_reached"))
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly", "pregnant"), quotas=(("dat-dai", 80),)))
    assert not flow.view().areas[0].open, "the same config again (a reconnect): still full"
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly", "pregnant"), quotas=(("dat-dai", 120),)))
    flow.handle(Tick(T0 + timedelta(seconds=8)))
    assert flow.view().areas[0].open, "the quota was raised on the console"
    assert flow.handle(Touched(area_target("dat-dai"))) != [], "a touch asks the server again"


def test_outside_the_centers_hours_the_kiosk_says_when_to_come_back(flow: KioskFlow) -> None:
    week = Hours((parse_sessions(["07:30-11:30", "13:30-17:00"]),) * 5 + ((), ()), last_ticket_min=15)
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly",), week))
    flow.handle(Tick(T0.replace(hour=11, minute=20)))  # a Monday, past the morning's last ticket
    view = flow.view()
    assert view.screen is Screen.CLOSED
    assert view.message == ("Bộ phận đã hết giờ nhận phiếu buổi sáng (nhận phiếu đến 11h15). "
                            "Mời công dân quay lại lúc 13h30.")
    assert flow.handle(Touched(area_target("dat-dai"))) == [] and flow.handle(Pressed("dat-dai")) == []
    flow.handle(Tick(T0.replace(hour=13, minute=30)))
    assert flow.view().screen is Screen.MENU


def test_an_area_outside_its_own_hours_is_greyed(flow: KioskFlow) -> None:
    mornings = Hours((parse_sessions(["07:30-11:30"]),) * 5 + ((), ()))
    areas = (AreaButton("dat-dai", "Đất đai"), AreaButton("bhxh", "Bảo hiểm xã hội", hours=mornings))
    flow.handle(ConfigReceived("Bộ phận Một cửa", areas, ()))
    flow.handle(Tick(T0.replace(hour=14)))
    assert [(a.open, a.note) for a in flow.view().areas] == [(True, ""), (False, AREA_OUT_OF_HOURS)]
    assert flow.handle(Touched(area_target("bhxh"))) == []


def test_a_failed_print_shows_the_number_large_and_reports_it(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketAnswered("req-1", ticket()))
    effects = flow.handle(PrintDone("t1", ok=False))
    assert effects == [ReportStatus(PrinterStatus.READY, ("t1",))]
    view = flow.view()
    assert view.screen is Screen.PRINT_FAILED and view.ticket == ticket() and view.message == PRINT_FAILED


@pytest.mark.parametrize("status", [PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE])
def test_a_printer_that_cannot_print_blocks_requests_and_is_reported(flow: KioskFlow,
                                                                    status: PrinterStatus) -> None:
    assert flow.handle(PrinterChecked(status)) == [ReportStatus(status, ())]
    view = flow.view()
    assert view.screen is Screen.PRINTER_PROBLEM and "liên hệ cán bộ hướng dẫn" in view.message
    assert flow.handle(Touched(area_target("dat-dai"))) == []
    assert flow.handle(Pressed("dat-dai")) == []
    assert flow.handle(PrinterChecked(status)) == [], "an unchanged state is reported once"


def test_paper_low_keeps_working_and_is_reported(flow: KioskFlow) -> None:
    assert flow.handle(PrinterChecked(PrinterStatus.PAPER_LOW)) == [ReportStatus(PrinterStatus.PAPER_LOW, ())]
    assert flow.view().screen is Screen.MENU
    assert flow.handle(Touched(area_target("dat-dai"))) == [RequestTicket("req-1", "dat-dai", "none")], (
        "a ticket is still issued on a low roll")


def test_the_connection_lost_blocks_requests(flow: KioskFlow) -> None:
    flow.handle(ConnectionChanged(False))
    assert flow.view().screen is Screen.OFFLINE
    assert flow.handle(Touched(area_target("dat-dai"))) == []


def test_closed_and_unknown_areas_make_no_request(flow: KioskFlow) -> None:
    assert flow.handle(Touched(area_target("dong"))) == []
    assert flow.handle(Touched(area_target("khong-co"))) == []
    assert flow.handle(Pressed("dong")) == []


def test_a_priority_citizen_chooses_the_category_then_the_area(flow: KioskFlow) -> None:
    flow.handle(Touched(PRIORITY_BUTTON))
    view = flow.view()
    assert view.screen is Screen.PRIORITY
    assert view.priorities == (("elderly", "Người cao tuổi"), ("pregnant", "Phụ nữ mang thai"))
    flow.handle(Touched(priority_target("pregnant")))
    assert flow.view().screen is Screen.MENU and flow.view().chosen_priority == "pregnant"
    assert flow.handle(Touched(area_target("tu-phap"))) == [RequestTicket("req-1", "tu-phap", "pregnant")]


def test_back_leaves_the_priority_choice(flow: KioskFlow) -> None:
    flow.handle(Touched(PRIORITY_BUTTON))
    flow.handle(Touched(BACK_BUTTON))
    assert flow.view().screen is Screen.MENU
    flow.handle(Touched(PRIORITY_BUTTON))
    flow.handle(Touched(priority_target("elderly")))
    flow.handle(Touched(BACK_BUTTON))
    assert flow.view().chosen_priority is None
    assert flow.handle(Touched(area_target("dat-dai"))) == [RequestTicket("req-1", "dat-dai", "none")]


def test_a_physical_button_asks_directly_with_its_priority(flow: KioskFlow) -> None:
    assert flow.handle(Pressed("dat-dai", "elderly")) == [RequestTicket("req-1", "dat-dai", "elderly")]


def test_a_touch_after_an_unanswered_one_is_a_new_request(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketFailed("req-1"))  # the agent cancels req-1 with the server
    flow.handle(Tick(T0 + timedelta(seconds=10)))
    assert flow.handle(Touched(area_target("dat-dai"))) == [RequestTicket("req-2", "dat-dai", "none")]


def test_an_area_open_while_the_center_is_closed_is_the_only_one_to_touch(flow: KioskFlow) -> None:
    weekdays = Hours((parse_sessions(["07:30-11:30"]),) * 5 + ((), ()))
    saturday = Hours(((),) * 5 + (parse_sessions(["07:30-11:30"]), ()))
    areas = (AreaButton("dat-dai", "Đất đai"), AreaButton("tu-phap", "Tư pháp – Hộ tịch", hours=saturday))
    flow.handle(ConfigReceived("Bộ phận Một cửa", areas, (), weekdays))
    flow.handle(Tick(T0 + timedelta(days=5, hours=1)))  # Saturday 9:00: the center's hours are closed
    view = flow.view()
    assert view.screen is Screen.MENU, "the server gives tu-phap tickets now: the kiosk must offer them"
    assert [(a.open, a.note) for a in view.areas] == [(False, AREA_OUT_OF_HOURS), (True, "")]
    assert flow.handle(Touched(area_target("tu-phap"))) == [RequestTicket("req-1", "tu-phap", "none")]


# --- the center's config changed while the kiosk runs (issue 17) -----------------------------------------------

CHANGED = (AreaButton("dat-dai", "Đất đai – Nhà ở", open=False), AreaButton("tu-phap", "Tư pháp – Hộ tịch"),
           AreaButton("xay-dung", "Xây dựng"))  # renamed and closed; kept; added; "dong" removed


def names(flow: KioskFlow) -> list[tuple[str, bool]]:
    return [(area.name, area.open) for area in flow.view().areas]


def test_the_menu_follows_a_changed_config_at_once(flow: KioskFlow) -> None:
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ("elderly", "pregnant")))
    assert flow.view().screen is Screen.MENU
    assert names(flow) == [("Đất đai – Nhà ở", False), ("Tư pháp – Hộ tịch", True), ("Xây dựng", True)]
    assert flow.view().areas[0].note == AREA_CLOSED, "a closed area shows as before: greyed, 'Tạm ngừng tiếp nhận'"
    assert flow.handle(Touched(area_target("xay-dung"))) == [RequestTicket("req-1", "xay-dung", "none")]


def test_an_area_touched_just_as_it_was_removed_asks_nothing_and_says_so(flow: KioskFlow) -> None:
    flow.handle(Touched(PRIORITY_BUTTON))
    flow.handle(Touched(priority_target("elderly")))
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ("elderly", "pregnant")))
    assert flow.view().chosen_priority == "elderly" and "dong" not in [a.id for a in flow.view().areas]
    assert flow.handle(Touched(area_target("dong"))) == [], "the menu drawn before the change: no request"
    view = flow.view()
    assert (view.screen, view.message) == (
        Screen.REFUSED, "Lĩnh vực Tài nguyên và Môi trường không còn tiếp nhận hồ sơ. Mời công dân chọn lĩnh vực khác.")
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    view = flow.view()
    assert view.screen is Screen.MENU and view.chosen_priority == "elderly", "the menu as it is now, still priority"
    assert flow.handle(Touched(area_target("tu-phap"))) == [RequestTicket("req-1", "tu-phap", "elderly")]


def test_an_area_touched_just_as_it_was_closed_asks_nothing_and_says_so(flow: KioskFlow) -> None:
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ("elderly",)))
    assert flow.handle(Touched(area_target("dat-dai"))) == []
    assert (flow.view().screen, flow.view().message) == (
        Screen.REFUSED, "Lĩnh vực Đất đai – Nhà ở hiện tạm ngừng tiếp nhận hồ sơ. Mời công dân chọn lĩnh vực khác.")


def test_with_no_area_open_any_more_the_citizen_is_sent_to_an_official(flow: KioskFlow) -> None:
    flow.handle(ConfigReceived("Bộ phận Một cửa", (AreaButton("dat-dai", "Đất đai", open=False),), ()))
    assert flow.handle(Pressed("dat-dai")) == []
    assert flow.view().message == ("Lĩnh vực Đất đai hiện tạm ngừng tiếp nhận hồ sơ. "
                                   "Mời công dân liên hệ cán bộ hướng dẫn.")


def test_a_gpio_button_whose_area_is_closed_or_gone_asks_nothing_and_says_why(flow: KioskFlow) -> None:
    assert flow.handle(Pressed("dong")) == []
    assert flow.view().message.startswith("Lĩnh vực Tài nguyên và Môi trường hiện tạm ngừng tiếp nhận hồ sơ.")
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.handle(Pressed("khong-co")) == [], "an area the center never had"
    assert flow.view().message == "Lĩnh vực này không tiếp nhận hồ sơ. Mời công dân chọn lĩnh vực khác."


def test_a_request_under_way_for_an_area_just_removed_ends_as_the_server_says(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED[1:], ()))
    assert flow.view().screen is Screen.WORKING, "already asked: the server decides"
    flow.handle(TicketAnswered("req-1", None, "Lĩnh vực này không có tại trung tâm.", "unknown_area"))
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, "Lĩnh vực này không có tại trung tâm.")


def test_a_ticket_being_printed_is_finished_as_it_is_then_the_new_menu(flow: KioskFlow) -> None:
    flow.handle(Touched(area_target("dat-dai")))
    flow.handle(TicketAnswered("req-1", ticket()))
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ()))
    view = flow.view()
    assert view.screen is Screen.TICKET and view.ticket == ticket(), "the number stays, under its old area name"
    assert flow.handle(PrintDone("t1", ok=True)) == []
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU
    assert names(flow) == [("Đất đai – Nhà ở", False), ("Tư pháp – Hộ tịch", True), ("Xây dựng", True)]


def test_the_priority_screen_follows_the_categories_and_leaves_when_there_are_none(flow: KioskFlow) -> None:
    flow.handle(Touched(PRIORITY_BUTTON))
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ("elderly", "veteran")))
    view = flow.view()
    assert view.screen is Screen.PRIORITY and view.priorities == (("elderly", "Người cao tuổi"),
                                                                  ("veteran", "Người có công với cách mạng"))
    assert flow.handle(Touched(priority_target("pregnant"))) == [] and flow.view().screen is Screen.PRIORITY
    flow.handle(ConfigReceived("Bộ phận Một cửa", CHANGED, ()))
    assert flow.view().screen is Screen.MENU and flow.view().chosen_priority is None
