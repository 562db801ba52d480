"""Check-in with a booking in the kiosk's state machine (issue 18): the menu's button, the keypad, scans, answers."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.flow import (
    ConfigReceived,
    ConnectionChanged,
    KioskFlow,
    PrinterChecked,
    PrintTicket,
    RequestCheckIn,
    RequestTicket,
    Scanned,
    Tick,
    TicketAnswered,
    TicketFailed,
    Touched,
)
from kiosk.model import (
    BOOKING_BUTTON,
    CHECK_IN_BUSY,
    CHECK_IN_REFUSED,
    CODE_SHORT,
    CODE_WRONG,
    KEY_CANCEL,
    KEY_CONFIRM,
    KEY_DELETE,
    NOT_CHECKED_IN,
    PRIORITY_BUTTON,
    SCAN_NOT_A_BOOKING,
    SCAN_WRONG,
    AreaButton,
    IssuedTicket,
    PrinterStatus,
    Screen,
    area_target,
    key_target,
    priority_target,
)
from protocol.booking_code import check_digit, code_ok

T0 = datetime(2026, 11, 23, 8, 40, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AREAS = (AreaButton("dat-dai", "Đất đai"), AreaButton("tu-phap", "Tư pháp – Hộ tịch"))
CODE = "1234567" + check_digit("1234567")
MISTYPED = CODE[:3] + str((int(CODE[3]) + 1) % 10) + CODE[4:]  # one digit wrong: the check digit catches it
BOOKED = IssuedTicket("t1", "1012", "dat-dai", "Đất đai", T0, 2, 600, channel="booked",
                      slot_start=T0.replace(hour=9, minute=0), slot_end=T0.replace(hour=9, minute=30), booking=CODE)


def configured(*, bookings: bool = True, scanner: bool = False) -> KioskFlow:
    ids = (f"req-{n}" for n in itertools.count(1))
    kiosk = KioskFlow(lambda: next(ids), T0, scanner=scanner)
    kiosk.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly",), bookings=bookings))
    kiosk.handle(ConnectionChanged(True))
    kiosk.handle(PrinterChecked(PrinterStatus.READY))
    return kiosk


@pytest.fixture
def flow() -> KioskFlow:
    return configured()


def type_code(flow: KioskFlow, code: str) -> list[object]:
    effects: list[object] = []
    for digit in code:
        effects += flow.handle(Touched(key_target(digit)))
    return effects


def test_the_codes_of_these_tests_are_what_they_say() -> None:
    assert code_ok(CODE) and not code_ok(MISTYPED) and len(MISTYPED) == 8


def test_the_menu_offers_check_in_only_when_the_center_takes_bookings() -> None:
    assert configured(bookings=True).view().bookings
    without = configured(bookings=False)
    assert not without.view().bookings
    assert without.handle(Touched(BOOKING_BUTTON)) == []
    assert without.view().screen is Screen.MENU
    assert without.handle(Scanned(CODE)) == [], "a scan asks nothing of a center without bookings"
    assert without.view().screen is Screen.MENU


def test_the_keypad_shows_the_digits_as_typed_and_erases_the_last(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    view = flow.view()
    assert (view.screen, view.typed, view.message) == (Screen.KEYPAD, "", "")
    assert type_code(flow, "12345") == []
    assert flow.view().typed == "12345"
    flow.handle(Touched(KEY_DELETE))
    assert flow.view().typed == "1234"
    type_code(flow, "5678999")
    assert flow.view().typed == "12345678", "no ninth digit"
    flow.handle(Touched(area_target("dat-dai")))  # not a key: nothing
    assert flow.view().typed == "12345678"


def test_confirming_a_short_or_mistyped_code_says_so_without_asking_the_server(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, CODE[:7])
    assert flow.handle(Touched(KEY_CONFIRM)) == []
    assert (flow.view().screen, flow.view().message, flow.view().typed) == (Screen.KEYPAD, CODE_SHORT, CODE[:7])
    flow.handle(Touched(KEY_DELETE))
    assert flow.view().message == "", "typing again clears the message"
    for _ in range(6):
        flow.handle(Touched(KEY_DELETE))
    flow.handle(Touched(KEY_DELETE))  # nothing left to erase
    type_code(flow, MISTYPED)
    assert flow.view().typed == MISTYPED
    assert flow.handle(Touched(KEY_CONFIRM)) == []
    assert (flow.view().screen, flow.view().message) == (Screen.KEYPAD, CODE_WRONG)


def test_a_good_code_confirmed_checks_in_once_and_prints_the_ticket(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, CODE)
    assert flow.handle(Touched(KEY_CONFIRM)) == [RequestCheckIn("req-1", CODE)]
    assert flow.view().screen is Screen.WORKING
    assert flow.handle(Touched(KEY_CONFIRM)) == [], "a double tap asks nothing more"
    assert flow.handle(Scanned(CODE)) == []
    assert flow.handle(TicketAnswered("req-1", BOOKED)) == [PrintTicket(BOOKED)]
    view = flow.view()
    assert view.screen is Screen.TICKET and view.ticket == BOOKED
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU and flow.view().typed == ""


def test_cancel_and_an_untouched_keypad_go_back_to_the_menu(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, "12")
    flow.handle(Touched(KEY_CANCEL))
    assert flow.view().screen is Screen.MENU
    flow.handle(Touched(BOOKING_BUTTON))
    assert flow.view().typed == "", "the next citizen starts afresh"
    flow.handle(Tick(T0 + timedelta(seconds=20)))
    flow.handle(Touched(key_target("7")))  # a touch keeps it open
    flow.handle(Tick(T0 + timedelta(seconds=45)))
    assert (flow.view().screen, flow.view().typed) == (Screen.KEYPAD, "7")
    flow.handle(Tick(T0 + timedelta(seconds=51)))
    assert flow.view().screen is Screen.MENU


def test_no_check_in_while_a_priority_is_chosen_and_a_scan_forgets_it(flow: KioskFlow) -> None:
    flow.handle(Touched(PRIORITY_BUTTON))
    flow.handle(Touched(priority_target("elderly")))
    assert flow.view().chosen_priority == "elderly"
    assert flow.handle(Touched(BOOKING_BUTTON)) == [] and flow.view().screen is Screen.MENU
    assert flow.handle(Scanned(CODE)) == [RequestCheckIn("req-1", CODE)]
    flow.handle(TicketAnswered("req-1", BOOKED))
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().chosen_priority is None, "not carried over to the next citizen"


@pytest.mark.parametrize("text", [CODE, f" {CODE[:4]} {CODE[4:]}\t", f"{CODE}\n"])
def test_a_scan_on_the_menu_checks_in_at_once(flow: KioskFlow, text: str) -> None:
    assert flow.handle(Scanned(text)) == [RequestCheckIn("req-1", CODE)]
    assert flow.view().screen is Screen.WORKING


def test_a_scan_on_the_keypad_checks_in_whatever_was_typed(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, "99")
    assert flow.handle(Scanned(CODE)) == [RequestCheckIn("req-1", CODE)]
    flow.handle(TicketFailed("req-1"))
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU, "the keypad was closed by the scan"


@pytest.mark.parametrize(("text", "message"), [
    (MISTYPED, SCAN_WRONG),
    ("https://hcc.example.vn/phieu/abc", SCAN_NOT_A_BOOKING),
    ("1234567", SCAN_NOT_A_BOOKING),
    ("١٢٣٤٥٦٧٨", SCAN_NOT_A_BOOKING),  # digits, but not ASCII ones
])
def test_a_scan_that_is_no_good_code_is_said_and_asks_nothing(flow: KioskFlow, text: str, message: str) -> None:
    assert flow.handle(Scanned(text)) == []
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, message)
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, "12")
    assert flow.handle(Scanned(text)) == []
    view = flow.view()
    assert (view.screen, view.message, view.typed) == (Screen.KEYPAD, message, "12"), "said on the keypad"


def test_a_scan_is_not_taken_while_the_last_ticket_is_on_screen_or_the_printer_is_out(flow: KioskFlow) -> None:
    flow.handle(Scanned(CODE))
    flow.handle(TicketAnswered("req-1", BOOKED))
    assert flow.handle(Scanned(CODE)) == [], "the same QR held twice: the ticket stays on screen"
    assert flow.view().screen is Screen.TICKET
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    flow.handle(PrinterChecked(PrinterStatus.PAPER_OUT))
    assert flow.handle(Scanned(CODE)) == []
    assert flow.handle(Touched(BOOKING_BUTTON)) == []


def test_the_servers_refusal_is_shown_in_its_words_then_the_menu(flow: KioskFlow) -> None:
    flow.handle(Scanned(CODE))
    message = "Lịch hẹn này đã được xác nhận lúc 08:31. Mời công dân theo dõi số đã nhận."
    assert flow.handle(TicketAnswered("req-1", None, message, "already_checked_in")) == []
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, message)
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert flow.view().screen is Screen.MENU


def test_a_refusal_without_words_busy_or_no_answer_says_it_of_the_booking(flow: KioskFlow) -> None:
    flow.handle(Scanned(CODE))
    flow.handle(TicketAnswered("req-1", None, "", "too_early"))
    assert flow.view().message == CHECK_IN_REFUSED
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    flow.handle(Scanned(CODE))
    flow.handle(TicketAnswered("req-2", None, "", "busy"))
    assert (flow.view().screen, flow.view().message) == (Screen.BUSY, CHECK_IN_BUSY)
    flow.handle(Tick(T0 + timedelta(seconds=14)))
    flow.handle(Scanned(CODE))
    flow.handle(TicketFailed("req-3"))
    assert (flow.view().screen, flow.view().message) == (Screen.REFUSED, NOT_CHECKED_IN)


def test_a_quota_refusal_of_a_check_in_greys_no_area(flow: KioskFlow) -> None:
    flow.handle(Scanned(CODE))
    flow.handle(TicketAnswered("req-1", None, "Đã hết lượt.", "quota_reached"))
    flow.handle(Tick(T0 + timedelta(seconds=7)))
    assert all(area.open for area in flow.view().areas)
    assert flow.handle(Touched(area_target("dat-dai"))) == [RequestTicket("req-2", "dat-dai", "none")]


def test_a_center_that_stops_taking_bookings_closes_the_keypad(flow: KioskFlow) -> None:
    flow.handle(Touched(BOOKING_BUTTON))
    type_code(flow, "123")
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ("elderly",), bookings=False))
    view = flow.view()
    assert view.screen is Screen.MENU and not view.bookings


def test_the_keypad_says_a_scanner_is_there_only_when_one_is() -> None:
    assert configured(scanner=True).view().scanner
    assert not configured().view().scanner
