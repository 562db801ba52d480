"""The counter terminal's state machine: keys, rating buttons, the counter's state."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from protocol.messages import CounterStateMessage, Rating, RatingWindow, TicketView
from rating_terminal.flow import (
    Arm,
    CommandAnswered,
    ConfigReceived,
    ConnectionChanged,
    Disarm,
    SendCommand,
    Signal,
    StateReceived,
    StoreRating,
    TerminalFlow,
    ThankYou,
    Tick,
)
from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed
from rating_terminal.outbox import Outbox

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LEVELS = ("very_satisfied", "satisfied", "dissatisfied")
FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")


@pytest.fixture
def flow() -> TerminalFlow:
    ids = (f"id-{n}" for n in itertools.count(1))
    terminal = TerminalFlow(lambda: next(ids), T0, buttons=3)
    terminal.handle(ConfigReceived(("dat-dai", "xay-dung", "tu-phap"), LEVELS))
    terminal.handle(ConnectionChanged(True))
    return terminal


def state(status: str = "serving", area: str = "dat-dai", rating_until: datetime | None = None,
          ticket_id: str = "t1") -> CounterStateMessage:
    ticket = TicketView("t2", "1002", area, "", T0, "none", "called") if status != "idle" else None
    window = RatingWindow(ticket_id, "1001", rating_until) if rating_until else None
    return CounterStateMessage("1", "Quầy 1", status, ticket, window)


def test_a_key_sends_one_command_and_the_answer_lights_the_feedback(flow: TerminalFlow) -> None:
    assert flow.handle(KeyPressed(Key.NEXT)) == [SendCommand("id-1", "next"), Signal(Feedback.BUSY)]
    assert flow.handle(KeyPressed(Key.NEXT)) == [Signal(Feedback.FAILED)], "one command at a time"
    assert flow.handle(CommandAnswered("id-1", ok=True)) == [Signal(Feedback.OK)]
    flow.handle(KeyPressed(Key.FINISH))
    assert flow.handle(CommandAnswered("id-2", ok=False)) == [Signal(Feedback.FAILED)]


def test_offline_a_key_fails_at_once_and_nothing_is_sent(flow: TerminalFlow) -> None:
    flow.handle(ConnectionChanged(False))
    assert flow.handle(KeyPressed(Key.NEXT)) == [Signal(Feedback.FAILED)]
    flow.handle(ConnectionChanged(True))
    assert flow.handle(KeyPressed(Key.RECALL)) == [SendCommand("id-1", "recall"), Signal(Feedback.BUSY)]


def test_skip_needs_a_long_press(flow: TerminalFlow) -> None:
    assert flow.handle(KeyPressed(Key.SKIP)) == [Signal(Feedback.FAILED)]
    assert flow.handle(KeyPressed(Key.SKIP, long=True))[0] == SendCommand("id-1", "skip")


def test_pause_toggles_with_the_counters_state(flow: TerminalFlow) -> None:
    assert flow.handle(KeyPressed(Key.PAUSE))[0] == SendCommand("id-1", "pause")
    flow.handle(CommandAnswered("id-1", ok=True))
    flow.handle(StateReceived(state("paused")))
    assert flow.handle(KeyPressed(Key.PAUSE))[0] == SendCommand("id-2", "resume")


def test_transfer_cycles_the_other_areas_then_sends_on_a_long_press(flow: TerminalFlow) -> None:
    flow.handle(StateReceived(state(area="dat-dai")))
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-1", "transfer", "xay-dung")
    flow.handle(CommandAnswered("id-1", ok=True))
    assert flow.handle(KeyPressed(Key.TRANSFER)) == [Signal(Feedback.OK)]
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-2", "transfer", "tu-phap")


def test_a_served_ticket_arms_the_buttons_and_the_first_press_wins(flow: TerminalFlow) -> None:
    assert flow.handle(RatingPressed(1)) == [], "not armed: nothing happens"
    assert flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == [Arm(LEVELS)]
    effects = flow.handle(RatingPressed(1))
    assert effects == [StoreRating("id-1", "t1", "satisfied", T0), ThankYou(1, "satisfied")], "stored before thanks"
    assert flow.handle(RatingPressed(2)) == []
    assert flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == [], \
        "the same window after the press does not arm again"


def test_the_window_ends_as_the_server_says(flow: TerminalFlow) -> None:
    flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2))))
    assert flow.handle(Tick(T0 + timedelta(minutes=1))) == []
    assert flow.handle(Tick(T0 + timedelta(minutes=3))) == [Disarm()]
    flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=5), ticket_id="t9")))
    assert flow.handle(StateReceived(state("serving"))) == [Disarm()], "the server closed the window"


def test_the_outbox_keeps_ratings_until_done_across_reopening(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.add(Rating("r1", "t1", "satisfied", T0))
    outbox.add(Rating("r1", "t1", "satisfied", T0))  # the same rating twice is stored once
    outbox.add(Rating("r2", "t2", "dissatisfied", T0 + timedelta(seconds=1)))
    outbox.sent("r1")
    outbox.close()
    reopened = Outbox(tmp_path / "outbox.db")
    assert [(o.rating.rating_id, o.attempts) for o in reopened.pending()] == [("r1", 1), ("r2", 0)]
    reopened.done("r1", "ok", T0)
    assert [o.rating.rating_id for o in reopened.pending()] == ["r2"]


def test_a_terminal_clock_far_off_still_arms_and_reports_the_press_on_the_servers_clock(flow: TerminalFlow) -> None:
    server_until = T0 - timedelta(hours=1) + timedelta(minutes=2)  # the server's clock is an hour behind ours
    assert flow.handle(StateReceived(state("idle", rating_until=server_until))) == [Arm(LEVELS)]
    flow.handle(Tick(T0 + timedelta(seconds=30)))
    stored = flow.handle(RatingPressed(1))[0]
    assert isinstance(stored, StoreRating)
    assert stored.pressed_at == server_until - timedelta(seconds=90), "30 s into the window, as the server sees it"


def test_a_ticket_rated_before_a_restart_is_not_armed_again() -> None:
    terminal = TerminalFlow(lambda: "r", T0, 3, rated={"t1"})
    terminal.handle(ConfigReceived(("dat-dai",), LEVELS))
    assert terminal.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == []


def test_levels_that_arrive_after_the_state_light_the_buttons() -> None:
    terminal = TerminalFlow(lambda: "r", T0, 3)
    window = StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))
    assert terminal.handle(window) == [Arm((None, None, None))], "no levels yet: every button dark"
    assert terminal.handle(RatingPressed(0)) == [], "a dark button does nothing"
    assert terminal.handle(ConfigReceived(("dat-dai",), LEVELS)) == [Arm(LEVELS)]


def test_a_button_sends_the_level_of_its_place_among_the_centers_levels() -> None:
    ids = (f"id-{n}" for n in itertools.count(1))
    terminal = TerminalFlow(lambda: next(ids), T0, 3)
    terminal.handle(ConfigReceived(("dat-dai",), FIVE))
    assert terminal.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == [
        Arm(("very_satisfied", "neutral", "very_dissatisfied"))]
    assert terminal.handle(RatingPressed(2)) == [StoreRating("id-1", "t1", "very_dissatisfied", T0),
                                                 ThankYou(2, "very_dissatisfied")]


def test_levels_that_change_while_armed_arm_again_and_the_press_sends_the_new_level() -> None:
    ids = (f"id-{n}" for n in itertools.count(1))
    terminal = TerminalFlow(lambda: next(ids), T0, 5)
    terminal.handle(ConfigReceived(("dat-dai",), FIVE))
    assert terminal.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == [Arm(FIVE)]
    assert terminal.handle(ConfigReceived(("dat-dai",), LEVELS)) == [
        Arm(("very_satisfied", None, "satisfied", None, "dissatisfied"))], "the lights follow the new levels"
    assert terminal.handle(ConfigReceived(("dat-dai", "tu-phap"), LEVELS)) == [], "the same levels: no change"
    assert terminal.handle(RatingPressed(1)) == [], "a dark button does nothing, and the citizen may still rate"
    assert terminal.handle(RatingPressed(4)) == [StoreRating("id-1", "t1", "dissatisfied", T0),
                                                 ThankYou(4, "dissatisfied")]
    assert terminal.handle(ConfigReceived(("dat-dai",), FIVE)) == [], "rated: nothing to light again"


def test_levels_that_change_while_not_armed_light_nothing(flow: TerminalFlow) -> None:
    assert flow.handle(ConfigReceived(("dat-dai",), FIVE)) == []
    assert flow.meaning == ("very_satisfied", "neutral", "very_dissatisfied")
    assert flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2)))) == [
        Arm(("very_satisfied", "neutral", "very_dissatisfied"))]


def test_a_button_the_terminal_does_not_have_does_nothing(flow: TerminalFlow) -> None:
    flow.handle(StateReceived(state("idle", rating_until=T0 + timedelta(minutes=2))))
    assert flow.handle(RatingPressed(3)) == []
    assert flow.handle(RatingPressed(-1)) == []
    assert flow.armed == "t1"


def test_a_transfer_choice_lasts_for_one_transfer_only(flow: TerminalFlow) -> None:
    flow.handle(StateReceived(state(area="dat-dai")))
    flow.handle(KeyPressed(Key.TRANSFER))
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-1", "transfer", "tu-phap")
    flow.handle(CommandAnswered("id-1", ok=True))
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-2", "transfer", "xay-dung")
    flow.handle(CommandAnswered("id-2", ok=True))
    flow.handle(KeyPressed(Key.TRANSFER))
    flow.handle(KeyPressed(Key.NEXT))
    flow.handle(CommandAnswered("id-3", ok=True))
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-4", "transfer", "xay-dung")
