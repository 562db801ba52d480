"""The counter terminal agent in-process on a `FakeLink`: keys become commands, a rating is stored before the
thank-you and sent until acknowledged, bad messages change nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devkit.terminal_config import example_config
from protocol.link import FakeLink, Message
from protocol.messages import (
    AreaInfo,
    CenterConfigMessage,
    CommandDone,
    CounterStateMessage,
    ErrorInfo,
    RatingRecorded,
    RatingWindow,
    Refusal,
    TicketView,
)
from rating_terminal.agent import TerminalAgent
from rating_terminal.config import load
from rating_terminal.hardware import FakeTerminal
from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed
from rating_terminal.outbox import Outbox
from tests.harness import looping, until

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LEVELS = ("very_satisfied", "satisfied", "dissatisfied")
FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
CONFIG = CenterConfigMessage("rach-gia", "Rạch Giá", (AreaInfo("dat-dai", "Đất đai", "", 1001, 1999),), (), LEVELS)


def terminal_on(link: FakeLink, tmp_path: Path) -> tuple[TerminalAgent, FakeTerminal]:
    path = tmp_path / "counter.toml"
    path.write_text(example_config("1", "rach-gia", tmp_path / "outbox.db", "mqtt://127.0.0.1:1883"), encoding="utf-8")
    config = load(path)
    holder: list[TerminalAgent] = []
    hardware = FakeTerminal(lambda event: holder[0].press(event))
    holder.append(TerminalAgent(config, link, hardware, Outbox(config.outbox), clock=lambda: datetime.now(ZONE)))
    return holder[0], hardware


@contextmanager
def terminal_running(terminal: TerminalAgent, link: FakeLink) -> Iterator[None]:
    with looping(terminal, link, (terminal.topics.config(), CONFIG.to_wire())):
        yield


def answer_commands(ok: bool) -> Callable[[Message], bytes]:
    def answer(request: Message) -> bytes:
        body = json.loads(request.payload)
        if ok:
            return CommandDone(body["request_id"], None, "idle").to_wire()
        return json.dumps({"v": 1, "request_id": body["request_id"], "ok": False,
                           "error": {"code": "nothing_waiting", "message": "Không có ai chờ"}}).encode()

    return answer


@pytest.mark.parametrize(("ok", "feedback"), [(True, Feedback.OK), (False, Feedback.FAILED)])
def test_a_key_is_sent_as_its_command_and_the_answer_is_signalled(tmp_path: Path, ok: bool, feedback: Feedback,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    link = FakeLink(answer_commands(ok))
    terminal, hardware = terminal_on(link, tmp_path)
    with caplog.at_level(logging.INFO, logger="rating_terminal.agent"), terminal_running(terminal, link):
        hardware.press(KeyPressed(Key.NEXT))
        until(lambda: feedback in hardware.signals)
    sent = [json.loads(m.payload) for m in link.sent(terminal.topics.counter_command("1"))]
    assert [body["action"] for body in sent] == ["next"]
    assert link.status.get("server") is True, "the center sees the terminal reach the server"
    assert ("next refused: nothing_waiting" in caplog.messages) is not ok, "a refusal, read as one"


def test_a_rating_is_on_disk_by_the_thank_you_sent_until_acknowledged_and_other_acks_change_nothing(
        tmp_path: Path) -> None:
    link = FakeLink()
    terminal, hardware = terminal_on(link, tmp_path)
    topic, acks = terminal.topics.counter_rating("1"), terminal.topics.rating_ack("1")
    with terminal_running(terminal, link):
        link.deliver(terminal.topics.counter_state("1"), rating_window().to_wire(), retained=True)
        until(lambda: hardware.armed == list(LEVELS))
        hardware.press(RatingPressed(1))
        until(lambda: hardware.thanked == [(1, "satisfied")])
        stored = terminal_pending(tmp_path)
        assert len(stored) == 1, "on disk by the thank-you"
        until(lambda: link.sent(topic))
        link.deliver(acks, RatingRecorded("another-rating", "t9", "satisfied").to_wire())
        link.deliver(acks, Refusal(None, ErrorInfo("bad_request", "Yêu cầu không hợp lệ"), "rating_id").to_wire())
        link.deliver(acks, b"[]")
        until(lambda: len(link.sent(topic)) == 2)  # sent again, after those acks were read
        assert terminal_pending(tmp_path) == stored
        sent = [json.loads(m.payload) for m in link.sent(topic)]
        assert [(b["rating_id"], b["ticket_id"], b["level"]) for b in sent] == [(stored[0], "t1", "satisfied")] * 2
        link.deliver(acks, RatingRecorded(stored[0], "t1", "satisfied").to_wire())
        until(lambda: not terminal_pending(tmp_path))


def rating_window() -> CounterStateMessage:
    """Counter 1's state once ticket t1 is done: its citizen may rate for two minutes."""
    until_s = datetime.now(ZONE) + timedelta(minutes=2)
    ticket = TicketView("t1", "1001", "dat-dai", "Đất đai", datetime(2026, 12, 2, 8, tzinfo=ZONE), "none", "done", "1")
    return CounterStateMessage("1", "Quầy 1", "idle", ticket, RatingWindow("t1", "1001", until_s))


def test_levels_that_change_while_a_citizen_rates_relight_the_buttons_and_a_press_sends_its_new_level(
        tmp_path: Path) -> None:
    link = FakeLink()
    terminal, hardware = terminal_on(link, tmp_path)
    with terminal_running(terminal, link):
        link.deliver(terminal.topics.counter_state("1"), rating_window().to_wire(), retained=True)
        until(lambda: hardware.armed == list(LEVELS))
        five = CenterConfigMessage("rach-gia", "Rạch Giá", CONFIG.areas, (), FIVE)
        link.deliver(terminal.topics.config(), five.to_wire(), retained=True)
        until(lambda: hardware.armed == ["very_satisfied", "neutral", "very_dissatisfied"])
        hardware.press(RatingPressed(2))  # the third button, labelled "dissatisfied" in the example
        until(lambda: hardware.thanked == [(2, "very_dissatisfied")])
        until(lambda: link.sent(terminal.topics.counter_rating("1")))
    sent = json.loads(link.sent(terminal.topics.counter_rating("1"))[0].payload)
    assert (sent["ticket_id"], sent["level"]) == ("t1", "very_dissatisfied")


def test_the_centers_levels_are_logged_with_the_buttons_each_time_they_change(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    link = FakeLink()
    terminal, _ = terminal_on(link, tmp_path)

    def receive(levels: tuple[str, ...], area: str = "dat-dai") -> list[str]:
        caplog.clear()
        message = CenterConfigMessage("rach-gia", "Rạch Giá", (AreaInfo(area, area, "", 1, 9),), (), levels)
        link.deliver(terminal.topics.config(), message.to_wire(), retained=True)
        return [f"{r.levelname} {r.getMessage()}" for r in caplog.records]

    with caplog.at_level(logging.INFO, logger="rating_terminal.agent"):
        assert receive(LEVELS) == ["INFO buttons 1..3 -> very_satisfied, satisfied, dissatisfied"]
        assert receive(LEVELS) == [], "the same config again (every reconnect)"
        assert receive(LEVELS, area="tu-phap") == [], "the same levels"
        assert receive(FIVE) == [
            "INFO buttons 1..3 -> very_satisfied, neutral, very_dissatisfied",
            "WARNING 3 rating buttons for the center's 5 levels: satisfied, dissatisfied cannot be given here "
            "(fit 5 buttons to offer them all)",
            "WARNING button 2 is labelled 'satisfied' but now means 'neutral': change its sticker (to \"Bình thường\")",
            "WARNING button 3 is labelled 'dissatisfied' but now means 'very_dissatisfied': change its sticker "
            "(to \"Rất không hài lòng\")"]
        assert receive(FIVE) == []
        assert receive(LEVELS) == ["INFO buttons 1..3 -> very_satisfied, satisfied, dissatisfied"], \
            "back to the levels of the stickers: said again, with no warning"
    assert terminal.events.qsize() == 6, "each config still reaches the flow"
    terminal.close()


def terminal_pending(tmp_path: Path) -> list[str]:
    """The ratings the outbox on disk still has to send (read as a restarted terminal would)."""
    outbox = Outbox(tmp_path / "outbox.db")
    try:
        return [o.rating.rating_id for o in outbox.pending()]
    finally:
        outbox.close()
