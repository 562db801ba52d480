"""The counter terminal's real GPIO adapter on gpiozero's MockFactory pins, pressed by lines on standard
input and showing its lights as lines on standard output: the fake at the hardware edge for tests and
`make demo`, which need the real agent in its own process (e.g. to kill it with SIGKILL between a
press and its ack).

A line `key next` drives the configured pin of the Next key low and high again, as a finger would;
`key skip long` holds it past the long-press time; `rate 3` presses the third rating button (best
first) and `rate satisfied` the button whose sticker says so (its `level` in the config), as a citizen
would: what it sends is the level that button means now. Everything after the pin (debounce,
long-press timing, the events) is the production adapter.
Output lines: `armed <the level of each button, best first; - for a dark one>`, `disarmed`,
`thanks <level>`, `signal <feedback>`, `closed`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from rating_terminal.config import TerminalConfig
from rating_terminal.hardware import DEBOUNCE_S, GpiozeroTerminal
from rating_terminal.model import Feedback, Key, TerminalEvent

PRESS_S = 0.08  # a short press: longer than the debounce
PAUSE_S = DEBOUNCE_S + 0.02  # between presses of one pin, so the next edge is not taken for a bounce


class ScriptedTerminal:
    def __init__(self, config: TerminalConfig, on_event: Callable[[TerminalEvent], None], *,
                 source: TextIO = sys.stdin, sink: TextIO = sys.stdout) -> None:
        self._factory = MockFactory()
        Device.pin_factory = self._factory
        self._keys = dict(config.keys)
        self._buttons = {**{r.label: r.button for r in config.ratings if r.label is not None},  # its sticker
                         **{str(n): r.button for n, r in enumerate(config.ratings, start=1)}}  # "3": the third
        self._long_s = config.long_press_s + 0.2
        self._free_at: dict[int, float] = {}  # pin -> when it may be pressed again
        self._hardware = GpiozeroTerminal(
            keys=config.keys, ratings=[(r.button, r.led) for r in config.ratings],
            feedback_led=config.feedback_led, buzzer=config.buzzer, on_event=on_event,
            long_press_s=config.long_press_s,
        )
        self._source, self._sink = source, sink
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="scripted-pins", daemon=True).start()

    def _read(self) -> None:
        for line in self._source:
            match line.split():
                case ["key", key, *rest] if Key._value2member_map_.get(key) in self._keys:
                    self._press(self._keys[Key(key)], self._long_s if rest == ["long"] else PRESS_S)
                case ["rate", button] if button in self._buttons:
                    self._press(self._buttons[button], PRESS_S)
                case _:
                    self._say(f"unknown {line.strip()[:60]}")

    def _press(self, pin: int, hold_s: float) -> None:
        """Wired between the pin and ground with the pull-up: pressed is low. The release comes on a
        timer, so the next line (another key) is not held up; the same pin waits for its own release."""
        wait = self._free_at.get(pin, 0.0) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        mock = self._factory.pin(pin)
        mock.drive_low()
        release = threading.Timer(hold_s, mock.drive_high)
        release.daemon = True
        release.start()
        self._free_at[pin] = time.monotonic() + hold_s + PAUSE_S

    def _say(self, line: str) -> None:
        with self._lock:
            self._sink.write(line + "\n")
            self._sink.flush()

    def arm(self, meaning: list[str | None]) -> None:
        self._hardware.arm(meaning)
        self._say("armed " + " ".join(level or "-" for level in meaning))

    def disarm(self) -> None:
        self._hardware.disarm()
        self._say("disarmed")

    def thank_you(self, button: int, level: str) -> None:
        self._hardware.thank_you(button, level)
        self._say(f"thanks {level}")

    def signal(self, feedback: Feedback) -> None:
        self._hardware.signal(feedback)
        self._say(f"signal {feedback.value}")

    def close(self) -> None:
        self._hardware.close()
        self._say("closed")

