"""The hall board agent: retained state and calls from MQTT to the screen, the voice and the LEDs.

One thread (protocol/agent_loop.py's main loop, which also owns pygame) owns the flow; the link's
callbacks only decode and enqueue. The voice plays on its own thread from a FIFO, so announcements never overlap.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from display_board.config import BoardConfig
from display_board.flow import (
    Announce,
    BoardFlow,
    CallReceived,
    ConfigReceived,
    ConnectionChanged,
    CounterChanged,
    Effect,
    Event,
    ShowOnLed,
    StateReceived,
    Tick,
)
from display_board.led_display import LedContent, LedDisplay
from display_board.model import BoardView
from display_board.voice import Voice, announce
from protocol.agent import Clock
from protocol.agent_loop import AgentLoop
from protocol.link import Link
from protocol.messages import BoardState, Call, CenterConfigMessage, CounterStateMessage

log = logging.getLogger(__name__)

FRAME_S = 0.1  # while something moves (a blinking call, the notice)
IDLE_S = 0.5


class BoardScreen(Protocol):
    def show(self, view: BoardView) -> None: ...

    def save(self, path: Path) -> None: ...

    def close(self) -> None: ...


class BoardAgent(AgentLoop[Event]):
    def __init__(
        self,
        config: BoardConfig,
        link: Link,
        *,
        screen: BoardScreen | None,
        voice: Voice | None,
        leds: LedDisplay | None,
        clock: Clock,
    ) -> None:
        super().__init__(link, config.center_id, clock)
        self.config = config
        self.flow = BoardFlow(now=clock(), notice=config.notice)
        self._screen, self._voice, self._leds = screen, voice, leds
        self._shown: BoardView | None = None
        self._center: ConfigReceived | None = None  # the center's config as last heard
        self._last_screenshot = -1
        self.subscribe(self.topics.config(), CenterConfigMessage.from_wire, ConfigReceived.of)
        self.subscribe(self.topics.board_state(), BoardState.from_wire, StateReceived)
        self.subscribe(self.topics.board_call(), Call.from_wire, _logged)
        if leds is not None and config.leds is not None:
            for counter_id in config.leds.addresses:
                self.subscribe(self.topics.counter_state(counter_id), CounterStateMessage.from_wire,
                               partial(CounterChanged, counter_id))

    # --- the main loop's parts ------------------------------------------------------------

    def wait_s(self) -> float:
        return FRAME_S if self.flow.animating else IDLE_S

    def connection_events(self, server_online: bool | None) -> list[Event]:
        return [] if server_online is None else [ConnectionChanged(server_online)]

    def tick(self, now: datetime) -> Event:
        return Tick(now)

    def handle(self, event: Event) -> None:
        if isinstance(event, ConfigReceived) and event != self._center:
            self._center = event
            _log_config(event)
        for effect in self.flow.handle(event):
            self._carry_out(effect)

    def after_step(self) -> None:
        view = self.flow.view()
        drawn = view if self.flow.animating else replace(view, now=view.now.replace(second=0, microsecond=0))
        if self._screen is not None and drawn != self._shown:
            self._show(view)
            self._shown = drawn
            self._keep_screenshot(view)
        if self._leds is not None and hasattr(self._leds, "tick"):
            self._leds.tick()  # an unplugged adapter comes back by itself

    def ready(self) -> bool:
        return self.flow.online

    def close(self) -> None:
        for part in (self._voice, self._leds, self._screen):
            if part is not None:
                part.close()

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Announce) and self._voice is not None:
            try:  # a new call is said twice, a recall once
                announce(self._voice, effect.number, effect.counter_number, effect.recall, self.config.reading)
            except ValueError as exc:
                log.warning("cannot read the call %s aloud: %s", effect.number, exc)
        elif isinstance(effect, ShowOnLed) and self._leds is not None and self.config.leds is not None:
            address = self.config.leds.addresses.get(effect.counter_id)
            if address is not None:
                content = {"": LedContent.idle(), "P": LedContent.paused()}.get(effect.text)
                self._leds.show(address, content or LedContent.serving(effect.text))

    def _keep_screenshot(self, view: BoardView) -> None:
        """Every `screenshot_every_s` of the board's clock, keep what it shows (for `make demo`)."""
        folder = self.config.screenshots
        if folder is None or self._screen is None:
            return
        slot = int(view.now.timestamp()) // self.config.screenshot_every_s
        if slot != self._last_screenshot:
            self._last_screenshot = slot
            self._screen.save(folder / f"board-{view.now:%H%M}.png")

    def _show(self, view: BoardView) -> None:
        assert self._screen is not None
        try:
            self._screen.show(view)
        except Exception:  # a hardware adapter: a bad frame must not stop the board
            log.exception("could not draw the board")


def _log_config(config: ConfigReceived) -> None:
    """One line per new center config (it may change while the board runs): what the board now follows."""
    notice = ("the board's own" if config.notice is None else "the center's" if config.notice
              else "none (the center's)")
    log.info("center config: %d areas, %d open; notice: %s", len(config.areas),
             sum(1 for _, _, is_open in config.areas if is_open), notice)


def _logged(call: Call) -> Event:
    log.info("call %s to %s", call.number, call.counter_name)
    return CallReceived(call)
