"""The hall board agent: retained state and calls from MQTT to the screen, the voice and the LEDs.

One thread (the main loop, which also owns pygame) owns the flow; paho's callbacks only decode
and enqueue. The voice plays on its own thread from a FIFO, so announcements never overlap.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

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
from protocol.agent import ServerPresence, Watchdog, drain, notify
from protocol.errors import BadMessage
from protocol.link import Message, MqttLink
from protocol.messages import BoardState, Call, CenterConfigMessage, CounterStateMessage
from protocol.topics import Topics

log = logging.getLogger(__name__)
T = TypeVar("T")

FRAME_S = 0.1  # while something moves (a blinking call, the notice)
IDLE_S = 0.5


class BoardScreen(Protocol):
    def show(self, view: BoardView) -> None: ...

    def save(self, path: Path) -> None: ...

    def close(self) -> None: ...


class BoardAgent:
    def __init__(
        self,
        config: BoardConfig,
        link: MqttLink,
        *,
        screen: BoardScreen | None,
        voice: Voice | None,
        leds: LedDisplay | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.events: queue.Queue[Event] = queue.Queue()
        self.flow = BoardFlow(now=clock(), notice=config.notice)
        self._link, self._screen, self._voice, self._leds, self._clock = link, screen, voice, leds, clock
        self._presence = ServerPresence(link, Topics(config.center_id))
        self._last_screenshot = -1
        self.topics = Topics(config.center_id)
        link.subscribe(self.topics.config(), self._on_config)
        link.subscribe(self.topics.board_state(), self._on_state)
        link.subscribe(self.topics.board_call(), self._on_call)
        if leds is not None:
            link.subscribe(self.topics.counter_state("+"), self._on_counter)

    # --- paho's thread: decode and enqueue ------------------------------------------------

    def _on_config(self, message: Message) -> None:
        decoded = _decode(message, CenterConfigMessage.from_wire)
        if decoded is not None:
            areas = tuple((a.id, a.name, a.open) for a in decoded.areas)
            self.events.put(ConfigReceived(decoded.center_name, areas))

    def _on_state(self, message: Message) -> None:
        decoded = _decode(message, BoardState.from_wire)
        if decoded is not None and all(_valid_time(c.called_at) for c in decoded.recent_calls):
            self.events.put(StateReceived(decoded))

    def _on_call(self, message: Message) -> None:
        decoded = _decode(message, Call.from_wire)
        if decoded is not None and _valid_time(decoded.called_at):
            log.info("call %s to %s", decoded.number, decoded.counter_name)
            self.events.put(CallReceived(decoded))

    def _on_counter(self, message: Message) -> None:
        counter_id = message.topic.split("/")[-2]
        decoded = _decode(message, CounterStateMessage.from_wire)
        if decoded is not None:
            self.events.put(CounterChanged(counter_id, decoded))

    # --- the main loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        self._link.start()
        watchdog, announced = Watchdog(), False
        shown: BoardView | None = None
        try:
            while not stop.is_set():
                self._step()
                view = self.flow.view()
                drawn = view if self.flow.animating else replace(view, now=view.now.replace(second=0, microsecond=0))
                if self._screen is not None and drawn != shown:
                    self._show(view)
                    shown = drawn
                    self._keep_screenshot(view)
                if not announced and self.flow.online:
                    announced = True
                    notify("READY=1")
                if self._leds is not None and hasattr(self._leds, "tick"):
                    self._leds.tick()  # an unplugged adapter comes back by itself
                watchdog.ping()
        finally:
            notify("STOPPING=1")
            self._link.stop()
            for part in (self._voice, self._leds, self._screen):
                if part is not None:
                    part.close()
        return 0

    def _step(self) -> None:
        events = drain(self.events, FRAME_S if self.flow.animating else IDLE_S)
        online = self._presence.change()
        if online is not None:
            events.append(ConnectionChanged(online))
        events.append(Tick(self._clock()))
        for event in events:
            for effect in self.flow.handle(event):
                self._carry_out(effect)

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


def _decode(message: Message, parse: Callable[[bytes], T]) -> T | None:
    try:
        return parse(message.payload)
    except BadMessage as bad:
        log.warning("ignored a message on %s: %s", message.topic[:200], bad.reason)
        return None


def _valid_time(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        log.warning("ignored a call with the time %r", text[:40])
        return False
