"""Physical area buttons on GPIO (small commune kiosks without a screen), through gpiozero.

Debounced here, on timestamps: gpiozero's MockFactory ignores `bounce_time`, and a bouncing
contact must not ask for two tickets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gpiozero import Button

from kiosk.config import AreaPin

DEBOUNCE_S = 0.3


class GpiozeroButtons:
    def __init__(
        self,
        pins: tuple[AreaPin, ...],
        on_press: Callable[[str, str], None],
        *,
        debounce_s: float = DEBOUNCE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_press = on_press
        self._debounce_s = debounce_s
        self._clock = clock
        self._last: dict[int, float] = {}
        self._buttons = []
        for pin in pins:
            button = Button(pin.pin, pull_up=True)
            button.when_pressed = self._handler(pin)
            self._buttons.append(button)

    def _handler(self, pin: AreaPin) -> Callable[[], None]:
        def pressed() -> None:  # on gpiozero's thread: only hand the press on
            now = self._clock()
            if now - self._last.get(pin.pin, float("-inf")) < self._debounce_s:
                return
            self._last[pin.pin] = now
            self._on_press(pin.area, pin.priority)

        return pressed

    def close(self) -> None:
        for button in self._buttons:
            button.close()
