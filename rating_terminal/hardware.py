"""The counter terminal's hardware port: the official's keys, the citizen's rating buttons and LEDs, a
feedback LED and a buzzer; its gpiozero adapter and a fake.

Debounced here, on timestamps of the injected clock, because gpiozero's MockFactory ignores
`bounce_time` (and runs callbacks synchronously in the thread that drives the pin). An edge on a
pin counts only when the pin has been quiet for `debounce_s` since its previous edge (press or
release, counted or not), so a contact that bounces when pressed *or when released* gives one
event. Long presses are timed the same way, from the counted press to the counted release, not
with gpiozero's `hold_time`.

Callbacks run on gpiozero's threads and only hand a `KeyPressed` / `RatingPressed` to `on_event`
(in production `events.put`); the agent's main loop decides what a press means (armed or not,
online or not). The output methods (`arm`, `disarm`, `thank_you`, `signal`) are called from the
main loop; the blink patterns run on gpiozero's background threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpiozero import LED, Button, Buzzer, GPIOZeroError

from protocol.errors import QmsError
from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed, TerminalEvent

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05
LONG_PRESS_S = 1.0
LONG_PRESS_KEYS = frozenset({Key.SKIP, Key.TRANSFER})



class TerminalHardwareError(QmsError):
    """A pin of the terminal could not be opened (in use twice, no such pin, no GPIO access)."""


@dataclass(frozen=True, slots=True)
class Blink:
    on_s: float
    off_s: float
    n: int


@dataclass(frozen=True, slots=True)
class Patterns:
    """How long the lights and beeps last (tests shorten them so a whole pattern runs in milliseconds)."""

    thank_you: Blink = Blink(0.3, 0.3, 3)  # the chosen button's LED, the others off
    ok: Blink = Blink(0.2, 0.1, 1)  # one short blink
    failed: Blink = Blink(0.8, 0.4, 3)  # three long blinks
    ok_beep: Blink = Blink(0.1, 0.1, 1)
    failed_beep: Blink = Blink(0.4, 0.2, 3)


DEFAULT_PATTERNS = Patterns()


class GpiozeroTerminal:
    """TerminalHardware on gpiozero: buttons wired from the pin to ground (pull-up), LEDs and buzzer active high."""

    def __init__(
        self,
        keys: dict[Key, int],
        ratings: list[tuple[int, int]],  # (button, LED) per rating button, best first
        feedback_led: int | None,
        buzzer: int | None,
        on_event: Callable[[TerminalEvent], None],
        *,
        debounce_s: float = DEBOUNCE_S,
        long_press_s: float = LONG_PRESS_S,
        clock: Callable[[], float] = time.monotonic,
        long_press_keys: frozenset[Key] = LONG_PRESS_KEYS,
        patterns: Patterns = DEFAULT_PATTERNS,
    ) -> None:
        self._on_event = on_event
        self._debounce_s = debounce_s
        self._long_press_s = long_press_s
        self._clock = clock
        self._patterns = patterns
        self._last_edge: dict[int, float] = {}  # pin -> time of its last edge, counted or not
        self._down_since: dict[int, float] = {}  # pin -> time of its counted press, until its counted release
        self._devices: list[Any] = []  # everything to close, in the order opened
        self._rating_leds: list[Any] = []  # by position, best first
        self._feedback_led: Any = None
        self._buzzer: Any = None
        try:
            for key, pin in keys.items():
                if key in long_press_keys:
                    self._button(f"key {key.value}", pin, timed_key=key)
                else:
                    self._button(f"key {key.value}", pin, on_press=KeyPressed(key))
            for button, (button_pin, led_pin) in enumerate(ratings):
                self._button(f"rating button {button + 1}", button_pin, on_press=RatingPressed(button))
                self._rating_leds.append(self._open(f"rating LED {button + 1}", LED, led_pin))
            if feedback_led is not None:
                self._feedback_led = self._open("feedback LED", LED, feedback_led)
            if buzzer is not None:
                self._buzzer = self._open("buzzer", Buzzer, buzzer)
        except BaseException:
            self.close()
            raise

    def _open(self, what: str, kind: Callable[..., Any], pin: int, **kwargs: Any) -> Any:
        try:
            device = kind(pin, **kwargs)
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            raise TerminalHardwareError(f"{what} on GPIO {pin}: {exc}") from exc
        self._devices.append(device)
        return device

    def _button(
        self, what: str, pin: int, *, on_press: TerminalEvent | None = None, timed_key: Key | None = None
    ) -> None:
        """A button handing `on_press` on when pressed, or `KeyPressed(timed_key, long)` when released."""
        button = self._open(what, Button, pin, pull_up=True)

        def pressed() -> None:  # on gpiozero's thread: only hand the press on
            now = self._clock()
            if self._bouncing(pin, now):
                return
            self._down_since[pin] = now
            if on_press is not None:
                self._on_event(on_press)

        def released() -> None:
            now = self._clock()
            if self._bouncing(pin, now):
                return
            since = self._down_since.pop(pin, None)
            if timed_key is not None and since is not None:
                self._on_event(KeyPressed(timed_key, long=now - since >= self._long_press_s))

        button.when_pressed = pressed
        button.when_released = released

    def _bouncing(self, pin: int, now: float) -> bool:
        last = self._last_edge.get(pin)
        self._last_edge[pin] = now
        return last is not None and now - last < self._debounce_s

    def arm(self, meaning: list[str | None]) -> None:
        """Light the LEDs of the buttons that mean a level now (the citizen may press them), the others off."""
        if len(meaning) != len(self._rating_leds):
            log.warning("armed with %d rating buttons' levels on a terminal with %d", len(meaning),
                        len(self._rating_leds))
        for button, led in enumerate(self._rating_leds):
            if button < len(meaning) and meaning[button] is not None:
                led.on()
            else:
                led.off()

    def disarm(self) -> None:
        for led in self._rating_leds:
            led.off()

    def thank_you(self, button: int, level: str) -> None:
        """The chosen button's LED blinks, the others go off."""
        chosen = self._rating_leds[button] if 0 <= button < len(self._rating_leds) else None
        if chosen is None:
            log.warning("no rating LED %d (%s) on this terminal", button + 1, level)
        for led in self._rating_leds:
            if led is not chosen:
                led.off()
        if chosen is not None:
            self._blink(chosen, self._patterns.thank_you)

    def signal(self, feedback: Feedback) -> None:
        led, buzzer, patterns = self._feedback_led, self._buzzer, self._patterns
        if feedback is Feedback.BUSY:
            if led is not None:
                led.on()
            if buzzer is not None:
                buzzer.off()
            return
        ok = feedback is Feedback.OK
        if led is not None:
            self._blink(led, patterns.ok if ok else patterns.failed)
        if buzzer is not None:
            self._blink(buzzer, patterns.ok_beep if ok else patterns.failed_beep)

    @staticmethod
    def _blink(device: Any, pattern: Blink) -> None:
        device.blink(on_time=pattern.on_s, off_time=pattern.off_s, n=pattern.n, background=True)

    def close(self) -> None:
        """Turn every light and the buzzer off and close every device; safe to call twice."""
        devices, self._devices = self._devices, []
        for device in reversed(devices):
            try:
                if not isinstance(device, Button):
                    device.off()  # stops a blink; a closed pin may keep its level
                device.close()
            except Exception as exc:  # a hardware adapter: one device failing to close must not keep the others open
                log.error("closing %r failed: %s", device, exc)


class FakeTerminal:
    """In-memory TerminalHardware for the agent's tests and `make demo`."""

    def __init__(self, on_event: Callable[[TerminalEvent], None]) -> None:
        self.on_event = on_event
        self.armed: list[str | None] = []  # the level each button means while lit (None: dark); [] when not armed
        self.thanked: list[tuple[int, str]] = []  # every thank-you (button, level), in order
        self.signals: list[Feedback] = []  # every signal, in order
        self.closed = False

    def press(self, event: TerminalEvent) -> None:
        """What a (debounced) press of a real key or rating button would hand on."""
        self.on_event(event)

    def arm(self, meaning: list[str | None]) -> None:
        self.armed = list(meaning)

    def disarm(self) -> None:
        self.armed = []

    def thank_you(self, button: int, level: str) -> None:
        self.armed = []
        self.thanked.append((button, level))

    def signal(self, feedback: Feedback) -> None:
        self.signals.append(feedback)

    def close(self) -> None:
        self.closed = True
