"""The board agent in-process on a `FakeLink`: calls are said, LEDs follow their counters, bad messages change
nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from display_board.agent import BoardAgent
from display_board.config import load
from display_board.led_display import FakeLedDisplay, LedContent
from display_board.voice import FakeVoice, announce
from protocol.link import FakeLink
from protocol.messages import Call, CounterStateMessage, TicketView
from tests.harness import looping, until

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "board.example.toml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LEDS = """
[leds]
port = "/dev/null"
model = "qms-4digit"
[[leds.displays]]
counter = "1"
address = 7
"""


def board_on(link: FakeLink, tmp_path: Path) -> tuple[BoardAgent, FakeVoice, FakeLedDisplay]:
    config = tmp_path / "board.toml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8").replace("enabled = true", "enabled = false", 1) + LEDS,
                      encoding="utf-8")
    voice, leds = FakeVoice(), FakeLedDisplay()
    board = BoardAgent(load(config), link, screen=None, voice=voice, leds=leds, clock=lambda: datetime.now(ZONE))
    return board, voice, leds


def call(number: str) -> bytes:
    return Call(number, "1", "Quầy 1", "dat-dai", False, datetime(2026, 12, 2, 8, tzinfo=ZONE)).to_wire()


def test_a_call_is_said_and_a_bad_one_between_changes_nothing(tmp_path: Path) -> None:
    link = FakeLink()
    board, voice, _ = board_on(link, tmp_path)
    with looping(board, link):
        link.deliver(board.topics.board_call(), b"{not json")
        link.deliver(board.topics.board_call(), call("1002").replace(b"+07:00", b""))  # no offset
        link.deliver(board.topics.board_call(), call("1001"))
        until(lambda: len(voice.said) == 1)  # in order: what came before it was handled before it
    expected = FakeVoice()
    announce(expected, "1001", "1", False, board.config.reading)
    assert voice.said == expected.said
    assert voice.closed, "the voice is closed on stop"


def test_the_led_of_a_counter_with_a_display_follows_its_state_and_others_are_not_heard(tmp_path: Path) -> None:
    link = FakeLink()
    board, _, leds = board_on(link, tmp_path)
    ticket = TicketView("t1", "1005", "dat-dai", "Đất đai", datetime(2026, 12, 2, 8, tzinfo=ZONE), "none", "serving",
                        "1")
    with looping(board, link):
        for counter in ("2", "1"):
            state = CounterStateMessage(counter, f"Quầy {counter}", "serving", ticket)
            link.deliver(board.topics.counter_state(counter), state.to_wire())
        until(lambda: 7 in leds.shown)
    assert leds.history == [(7, LedContent.serving("1005"))]
    assert link.hears(board.topics.counter_state("1")) and not link.hears(board.topics.counter_state("2"))
