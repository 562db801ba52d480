"""The counter terminal's keys, rating buttons and lights on gpiozero's MockFactory, with a fake clock.

MockFactory runs button callbacks synchronously in the thread that drives the pin, so presses are
checked at once. Blinks run on gpiozero's background threads: the tests give them millisecond
patterns and wait until the pin's history holds the whole pattern, then compare it exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPin

from rating_terminal.hardware import (
    Blink,
    FakeTerminal,
    GpiozeroTerminal,
    Patterns,
    TerminalHardwareError,
)
from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed, TerminalEvent, TerminalHardware

KEYS = {Key.NEXT: 5, Key.RECALL: 6, Key.SKIP: 13, Key.FINISH: 19, Key.TRANSFER: 26, Key.PAUSE: 12}
RATINGS = [(17, 22), (27, 23), (4, 24)]  # (button, LED), best first
FEEDBACK_LED, BUZZER = 20, 21
FAST = Patterns(
    thank_you=Blink(0.001, 0.001, 3),
    ok=Blink(0.001, 0.001, 1),
    failed=Blink(0.001, 0.001, 3),
    ok_beep=Blink(0.001, 0.001, 1),
    failed_beep=Blink(0.001, 0.001, 3),
)


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    saved, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[TerminalEvent]:
    return []


@pytest.fixture
def keypad(mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]) -> Iterator[GpiozeroTerminal]:
    """The official's keys only (closing waits up to 0.1 s per button for gpiozero's hold thread)."""
    hardware = GpiozeroTerminal(KEYS, [], None, None, events.append, clock=clock)
    yield hardware
    hardware.close()


@pytest.fixture
def terminal(mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]) -> Iterator[GpiozeroTerminal]:
    """The citizen's rating buttons and LEDs, the feedback LED and the buzzer, with millisecond patterns."""
    hardware = GpiozeroTerminal({}, RATINGS, FEEDBACK_LED, BUZZER, events.append, clock=clock, patterns=FAST)
    yield hardware
    hardware.close()


def tap(pin: MockPin, clock: Clock, held_s: float = 0.1) -> None:
    pin.drive_low()  # pressed: the button connects the pulled-up pin to ground
    clock.advance(held_s)
    pin.drive_high()


def release(mock_pins: MockFactory, clock: Clock) -> None:
    """Let go of every button, so closing does not wait out gpiozero's hold timer of a held one."""
    clock.advance(1.0)
    for pin in [*KEYS.values(), *(button for button, _ in RATINGS)]:
        if mock_pins.pin(pin).function == "input":
            mock_pins.pin(pin).drive_high()


def history(pin: MockPin) -> list[bool]:
    return [bool(change.state) for change in pin.states]


def settled(pin: MockPin, changes: int) -> list[bool]:
    """The pin's history once a background pattern has made `changes` changes (or 5 s have passed)."""
    deadline = time.monotonic() + 5
    while len(pin.states) < 1 + changes and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.01)  # a pattern that went on past `changes` would show here
    return history(pin)


def test_a_press_of_next_fires_once_on_press(
    keypad: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    pin = mock_pins.pin(KEYS[Key.NEXT])
    pin.drive_low()
    assert events == [KeyPressed(Key.NEXT)]  # at the press, not the release
    clock.advance(2.0)  # held long: NEXT is not a long-press key
    pin.drive_high()
    assert events == [KeyPressed(Key.NEXT)]
    clock.advance(0.5)
    tap(mock_pins.pin(KEYS[Key.PAUSE]), clock)
    assert events == [KeyPressed(Key.NEXT), KeyPressed(Key.PAUSE)]


def test_a_bouncing_contact_is_one_press(
    keypad: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    pin = mock_pins.pin(KEYS[Key.NEXT])
    pin.drive_low()
    clock.advance(0.01)
    pin.drive_high()  # bounces on the way down
    clock.advance(0.01)
    pin.drive_low()
    clock.advance(0.3)
    pin.drive_high()  # released ...
    clock.advance(0.02)
    pin.drive_low()  # ... and bounces on the way up
    clock.advance(0.02)
    pin.drive_high()
    assert events == [KeyPressed(Key.NEXT)]
    clock.advance(0.1)  # quiet for longer than the debounce time: the next press counts
    pin.drive_low()
    assert events == [KeyPressed(Key.NEXT), KeyPressed(Key.NEXT)]
    release(mock_pins, clock)


def test_debounce_is_per_pin(
    keypad: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    mock_pins.pin(KEYS[Key.NEXT]).drive_low()
    mock_pins.pin(KEYS[Key.RECALL]).drive_low()  # same instant, another key
    assert events == [KeyPressed(Key.NEXT), KeyPressed(Key.RECALL)]
    release(mock_pins, clock)


@pytest.mark.parametrize("key", [Key.SKIP, Key.TRANSFER])
def test_a_long_press_key_fires_on_release_and_says_how_long_it_was_held(
    keypad: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent], key: Key
) -> None:
    pin = mock_pins.pin(KEYS[key])
    pin.drive_low()
    clock.advance(0.3)
    assert events == []  # nothing until the key is let go
    pin.drive_high()
    assert events == [KeyPressed(key, long=False)]
    clock.advance(1.0)
    pin.drive_low()
    clock.advance(1.2)
    pin.drive_high()
    assert events == [KeyPressed(key, long=False), KeyPressed(key, long=True)]
    clock.advance(1.0)
    tap(pin, clock, held_s=1.0)  # exactly the long-press time counts as long
    assert events[-1] == KeyPressed(key, long=True)


def test_a_long_press_is_timed_from_the_counted_press_through_bounces(
    keypad: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    pin = mock_pins.pin(KEYS[Key.SKIP])
    pin.drive_low()
    clock.advance(0.01)
    pin.drive_high()  # a bounce, not a release
    clock.advance(0.01)
    pin.drive_low()
    clock.advance(1.18)
    pin.drive_high()  # 1.2 s after the counted press
    clock.advance(0.01)
    pin.drive_low()  # release bounce: not a new press
    clock.advance(0.01)
    pin.drive_high()
    assert events == [KeyPressed(Key.SKIP, long=True)]


def test_long_press_keys_and_time_are_configurable(
    mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    hardware = GpiozeroTerminal(
        {Key.SKIP: 13, Key.FINISH: 19},
        [],
        None,
        None,
        events.append,
        clock=clock,
        long_press_s=2.0,
        long_press_keys=frozenset({Key.FINISH}),
    )
    mock_pins.pin(13).drive_low()
    tap(mock_pins.pin(19), clock, held_s=1.5)
    clock.advance(1.0)
    tap(mock_pins.pin(19), clock, held_s=2.0)
    assert events == [KeyPressed(Key.SKIP), KeyPressed(Key.FINISH, long=False), KeyPressed(Key.FINISH, long=True)]
    release(mock_pins, clock)
    hardware.close()


def test_a_rating_press_fires_its_button_position_once(
    terminal: GpiozeroTerminal, mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    pin = mock_pins.pin(27)
    pin.drive_low()
    assert events == [RatingPressed(1)]
    clock.advance(0.02)
    pin.drive_high()
    clock.advance(0.02)
    pin.drive_low()  # bounce
    assert events == [RatingPressed(1)]
    clock.advance(1.0)
    tap(mock_pins.pin(4), clock)
    assert events == [RatingPressed(1), RatingPressed(2)]
    release(mock_pins, clock)


def test_arm_lights_exactly_the_buttons_that_mean_a_level_and_disarm_turns_them_off(
    terminal: GpiozeroTerminal, mock_pins: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    leds = [mock_pins.pin(led) for _, led in RATINGS]
    assert [pin.state for pin in leds] == [False, False, False]
    terminal.arm(["very_satisfied", None, "dissatisfied"])
    assert [pin.state for pin in leds] == [True, False, True]
    with caplog.at_level(logging.WARNING):
        terminal.arm([None, "satisfied"])  # fewer buttons than this terminal has: the others dark
    assert [pin.state for pin in leds] == [False, True, False]
    assert "armed with 2 rating buttons' levels on a terminal with 3" in caplog.text
    terminal.disarm()
    assert [pin.state for pin in leds] == [False, False, False]
    assert not mock_pins.pin(FEEDBACK_LED).state
    assert not mock_pins.pin(BUZZER).state


def test_thank_you_blinks_only_the_chosen_button(terminal: GpiozeroTerminal, mock_pins: MockFactory) -> None:
    best, middle, worst = (mock_pins.pin(led) for _, led in RATINGS)
    terminal.arm(["very_satisfied", "neutral", "very_dissatisfied"])
    for pin in (best, middle, worst):
        pin.clear_states()
    terminal.thank_you(1, "neutral")
    assert not best.state
    assert not worst.state
    # on from arm(), then three blinks; off at the end
    assert settled(middle, 5) == [True, False, True, False, True, False]
    assert history(best) == [True, False]
    assert history(worst) == [True, False]


def test_thank_you_with_the_real_pattern_is_blinking_and_stops_when_disarmed(
    mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    hardware = GpiozeroTerminal({}, RATINGS, FEEDBACK_LED, BUZZER, events.append, clock=clock)
    chosen = mock_pins.pin(22)
    hardware.thank_you(0, "very_satisfied")
    deadline = time.monotonic() + 5
    while len(chosen.states) < 2 and time.monotonic() < deadline:  # the blink thread's first write
        time.sleep(0.001)
    hardware.disarm()  # stops the blink (joins its thread) and turns it off
    assert history(chosen)[:2] == [False, True]
    assert not chosen.state
    changes = len(chosen.states)
    time.sleep(0.7)  # longer than one on + off of the real pattern
    assert len(chosen.states) == changes
    assert not mock_pins.pin(23).state and not mock_pins.pin(24).state
    hardware.close()


def test_thank_you_for_a_button_the_terminal_does_not_have_turns_the_leds_off(
    terminal: GpiozeroTerminal, mock_pins: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    terminal.arm(["very_satisfied", None, None])
    with caplog.at_level(logging.WARNING):
        terminal.thank_you(3, "very_dissatisfied")
    assert not mock_pins.pin(22).state
    assert "no rating LED 4 (very_dissatisfied)" in caplog.text


def test_signal_ok_is_one_blink_and_one_beep(terminal: GpiozeroTerminal, mock_pins: MockFactory) -> None:
    terminal.signal(Feedback.OK)
    assert settled(mock_pins.pin(FEEDBACK_LED), 2) == [False, True, False]
    assert settled(mock_pins.pin(BUZZER), 2) == [False, True, False]


def test_signal_failed_is_three_blinks_and_three_beeps(terminal: GpiozeroTerminal, mock_pins: MockFactory) -> None:
    terminal.signal(Feedback.FAILED)
    assert settled(mock_pins.pin(FEEDBACK_LED), 6) == [False, True, False, True, False, True, False]
    assert settled(mock_pins.pin(BUZZER), 6) == [False, True, False, True, False, True, False]


def test_signal_busy_holds_the_led_on_and_the_buzzer_quiet(terminal: GpiozeroTerminal, mock_pins: MockFactory) -> None:
    terminal.signal(Feedback.BUSY)
    assert mock_pins.pin(FEEDBACK_LED).state
    assert not mock_pins.pin(BUZZER).state
    terminal.signal(Feedback.OK)  # the answer ends the busy light with its own pattern
    assert settled(mock_pins.pin(FEEDBACK_LED), 2) == [False, True, False]


def test_signal_without_feedback_led_or_buzzer_does_nothing(
    mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    hardware = GpiozeroTerminal({}, RATINGS, None, None, events.append, clock=clock, patterns=FAST)
    for feedback in Feedback:
        hardware.signal(feedback)
    assert [mock_pins.pin(led).state for _, led in RATINGS] == [False, False, False]
    hardware.close()


def test_close_releases_every_pin(mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]) -> None:
    first = GpiozeroTerminal(KEYS, RATINGS, FEEDBACK_LED, BUZZER, events.append, clock=clock, patterns=FAST)
    first.arm(["very_satisfied", None, None])
    first.close()
    first.close()  # twice is fine
    assert not mock_pins.pin(22).state
    second = GpiozeroTerminal(KEYS, RATINGS, FEEDBACK_LED, BUZZER, events.append, clock=clock, patterns=FAST)
    mock_pins.pin(KEYS[Key.NEXT]).drive_low()
    assert events == [KeyPressed(Key.NEXT)]
    release(mock_pins, clock)
    second.close()


def test_a_pin_used_twice_is_our_error_and_nothing_stays_open(
    mock_pins: MockFactory, clock: Clock, events: list[TerminalEvent]
) -> None:
    with pytest.raises(TerminalHardwareError, match="GPIO 22"):
        GpiozeroTerminal(KEYS, [*RATINGS, (16, 22)], FEEDBACK_LED, BUZZER, events.append, clock=clock)
    hardware = GpiozeroTerminal(KEYS, RATINGS, FEEDBACK_LED, BUZZER, events.append, clock=clock)  # all were closed
    hardware.close()


def test_the_fake_records_what_the_agent_shows_and_hands_presses_on() -> None:
    events: list[TerminalEvent] = []
    fake = FakeTerminal(events.append)
    hardware: TerminalHardware = fake
    fake.press(KeyPressed(Key.NEXT))
    fake.press(RatingPressed(0))
    hardware.arm(["very_satisfied", None, "dissatisfied"])
    assert fake.armed == ["very_satisfied", None, "dissatisfied"]
    hardware.thank_you(0, "very_satisfied")
    assert fake.armed == []
    hardware.arm(["very_satisfied", None, "dissatisfied"])
    hardware.disarm()
    hardware.signal(Feedback.BUSY)
    hardware.signal(Feedback.OK)
    hardware.close()
    assert events == [KeyPressed(Key.NEXT), RatingPressed(0)]
    assert fake.armed == []
    assert fake.thanked == [(0, "very_satisfied")]
    assert fake.signals == [Feedback.BUSY, Feedback.OK]
    assert fake.closed
