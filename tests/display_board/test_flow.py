"""The hall board's state machine: retained state, live calls, blinking, LEDs, the connection."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from display_board.flow import (
    Announce,
    BoardFlow,
    CallReceived,
    ConfigReceived,
    ConnectionChanged,
    CounterChanged,
    ShowOnLed,
    StateReceived,
    Tick,
    counter_number,
)
from display_board.model import WaitingLine
from protocol.messages import BoardState, Call, CounterStateMessage, TicketView

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AREAS = (("dat-dai", "Đất đai", True), ("tu-phap", "Tư pháp – Hộ tịch", True), ("dong", "Đóng", False))


def call(number: str, counter: str = "3", minute: int = 0, recall: bool = False) -> Call:
    return Call(number, counter, f"Quầy {counter}", "dat-dai", recall, T0 + timedelta(minutes=minute), "Đất đai",
                f"t-{number}")


def board() -> BoardFlow:
    flow = BoardFlow(now=T0, notice="Xin cảm ơn")
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS))
    return flow


def test_the_retained_state_is_shown_without_a_word() -> None:
    flow = board()
    effects = flow.handle(StateReceived(BoardState((call("1002", minute=1), call("1001")), {"dat-dai": 4})))
    assert effects == []
    view = flow.view()
    assert view.newest is not None and view.newest.number == "1002" and view.newest.counter_name == "Quầy 3"
    assert [line.number for line in view.recent] == ["1001"]
    assert [(w.area_name, w.waiting) for w in view.waiting] == [("Đất đai", 4), ("Tư pháp – Hộ tịch", 0)]
    assert not view.highlight


def test_a_live_call_is_announced_shown_first_and_blinks_for_ten_seconds() -> None:
    flow = board()
    flow.handle(StateReceived(BoardState((call("1001"),), {})))
    assert flow.handle(CallReceived(call("1005", minute=2))) == [Announce("1005", "3", False)]
    view = flow.view()
    assert view.newest is not None and view.newest.number == "1005" and view.highlight
    flow.handle(Tick(T0 + timedelta(milliseconds=600)))
    assert not flow.view().highlight
    flow.handle(Tick(T0 + timedelta(milliseconds=1100)))
    assert flow.view().highlight
    flow.handle(Tick(T0 + timedelta(seconds=11)))
    assert not flow.view().highlight


def test_the_state_after_a_call_does_not_show_it_twice() -> None:
    flow = board()
    flow.handle(CallReceived(call("1005")))
    flow.handle(StateReceived(BoardState((call("1005"), call("1001")), {})))
    view = flow.view()
    assert view.newest is not None and view.newest.number == "1005"
    assert [line.number for line in view.recent] == ["1001"]


def test_a_recall_is_announced_as_a_recall() -> None:
    assert board().handle(CallReceived(call("1005", recall=True))) == [Announce("1005", "3", True)]


def test_counter_states_light_the_led_displays() -> None:
    flow = board()
    ticket = TicketView("t", "B012", "tu-phap", "Tư pháp", T0, "none", "called")
    assert flow.handle(CounterChanged("3", CounterStateMessage("3", "Quầy 3", "serving", ticket))) == [
        ShowOnLed("3", "B012")]
    assert flow.handle(CounterChanged("3", CounterStateMessage("3", "Quầy 3", "idle", None))) == [ShowOnLed("3", "")]
    assert flow.handle(CounterChanged("3", CounterStateMessage("3", "Quầy 3", "paused", ticket))) == [
        ShowOnLed("3", "P")]


def test_the_connection_lost_keeps_the_last_state() -> None:
    flow = board()
    flow.handle(ConnectionChanged(True))
    flow.handle(StateReceived(BoardState((call("1001"),), {"dat-dai": 1})))
    flow.handle(ConnectionChanged(False))
    view = flow.view()
    assert not view.online and view.newest is not None and view.newest.number == "1001"


def test_the_notice_scrolls_with_time() -> None:
    flow = board()
    before = flow.view().notice_offset
    flow.handle(Tick(T0 + timedelta(seconds=2)))
    assert flow.view().notice_offset > before and flow.animating


def test_the_voice_reads_the_counters_number() -> None:
    assert counter_number("3", "Quầy 3") == "3"
    assert counter_number("quay-12", "Quầy 12") == "12"
    assert counter_number("a", "Quầy A") == "A"


def test_a_closed_area_stays_on_the_board_while_citizens_wait_for_it() -> None:
    flow = board()
    flow.handle(StateReceived(BoardState((), {"dat-dai": 1, "tu-phap": 0, "dong": 2})))
    assert flow.view().waiting == (WaitingLine("Đất đai", 1), WaitingLine("Tư pháp – Hộ tịch", 0),
                                   WaitingLine("Đóng", 2, closed=True)), "marked: it takes no new tickets"
    flow.handle(StateReceived(BoardState((), {"dat-dai": 1, "tu-phap": 0, "dong": 0})))
    assert [w.area_name for w in flow.view().waiting] == ["Đất đai", "Tư pháp – Hộ tịch"], "served: it goes"


def test_the_areas_follow_a_config_changed_while_the_board_runs() -> None:
    flow = board()
    flow.handle(StateReceived(BoardState((), {"dat-dai": 3, "tu-phap": 0, "dong": 0})))
    changed = (("dat-dai", "Đất đai – Nhà ở", False), ("xay-dung", "Xây dựng", True), ("dong", "Đóng", True))
    flow.handle(ConfigReceived("Bộ phận Một cửa", changed))  # renamed and closed; added; reopened; tu-phap removed
    assert flow.view().waiting == (WaitingLine("Đất đai – Nhà ở", 3, closed=True), WaitingLine("Xây dựng", 0),
                                   WaitingLine("Đóng", 0))
    flow.handle(StateReceived(BoardState((), {"dat-dai": 0, "xay-dung": 2, "dong": 0})))
    assert flow.view().waiting == (WaitingLine("Xây dựng", 2), WaitingLine("Đóng", 0)), "closed and served: gone"


def test_an_area_removed_while_citizens_wait_for_it_stays_under_its_last_name_until_they_are_served() -> None:
    flow = board()
    flow.handle(StateReceived(BoardState((), {"dat-dai": 1, "tu-phap": 2})))
    flow.handle(ConfigReceived("Bộ phận Một cửa", (("dat-dai", "Đất đai", True),)))
    assert flow.view().waiting == (WaitingLine("Đất đai", 1), WaitingLine("Tư pháp – Hộ tịch", 2, closed=True))
    flow.handle(StateReceived(BoardState((), {"dat-dai": 1, "tu-phap": 0, "la": 4})))
    assert flow.view().waiting == (WaitingLine("Đất đai", 1), WaitingLine("la", 4, closed=True)), (
        "never named: its id; served: gone")


def test_before_the_config_the_state_shows_its_areas_by_id() -> None:
    flow = BoardFlow(now=T0)
    flow.handle(StateReceived(BoardState((), {"dat-dai": 2})))
    assert flow.view().waiting == (WaitingLine("dat-dai", 2),)
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS))
    assert flow.view().waiting[0] == WaitingLine("Đất đai", 2)


def test_the_centers_notice_replaces_the_boards_own_and_restarts_the_scroll_when_it_changes() -> None:
    flow = board()
    assert flow.view().notice == "Xin cảm ơn", "the center sets none: the board's own"
    flow.handle(Tick(T0 + timedelta(seconds=30)))
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, "Chiều nay nghỉ làm việc"))
    view = flow.view()
    assert (view.notice, view.notice_offset) == ("Chiều nay nghỉ làm việc", 0.0), "from its start"
    flow.handle(Tick(T0 + timedelta(seconds=32)))
    moved = flow.view().notice_offset
    assert moved > 0
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, "Chiều nay nghỉ làm việc"))  # republished, unchanged
    assert flow.view().notice_offset == moved, "the same notice scrolls on"
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, ""))
    assert flow.view().notice == "" and not flow.animating, "the center says: no notice"
    flow.handle(ConfigReceived("Bộ phận Một cửa", AREAS, None))
    assert (flow.view().notice, flow.view().notice_offset) == ("Xin cảm ơn", 0.0), "an older server: the board's own"


def test_a_board_that_never_heard_from_the_center_knows_nothing_of_its_areas() -> None:
    flow = BoardFlow(now=T0)
    assert not flow.view().configured and not flow.view().online
    assert board().view().configured


def test_a_renamed_counter_is_shown_by_its_new_name_in_new_calls() -> None:
    flow = board()
    flow.handle(CallReceived(call("1001")))
    renamed = replace(call("1002", minute=1), counter_name="Quầy 3 – Hộ tịch")  # the server calls by its new name
    assert flow.handle(CallReceived(renamed)) == [Announce("1002", "3", False)], "its number is read as before"
    view = flow.view()
    assert view.newest is not None and view.newest.counter_name == "Quầy 3 – Hộ tịch"
    assert [line.counter_name for line in view.recent] == ["Quầy 3"], "an earlier call as it was called"
