"""The hall board's state machine: retained state and calls in; what to show, say and light out.

Pure: no I/O, no clock, no MQTT. `board/state` (retained) says what the board shows; each
`board/call` (not retained, so never replayed on a reconnect) is announced and blinks. The retained
`config` may change at any moment (issue 17): the areas, their names and the center's notice follow it
at the next frame; an area closed or removed while citizens still wait for it stays on the board,
marked as taking no new tickets, until they are served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from display_board.model import BoardView, CallLine, WaitingLine
from protocol.messages import BoardState, Call, CenterConfigMessage, CounterStateMessage

RECENT = 10
BLINK = timedelta(seconds=10)  # the newest call blinks this long
BLINK_PERIOD = timedelta(milliseconds=500)
NOTICE_SPEED = 120.0  # pixels per second at 1920 wide


@dataclass(frozen=True, slots=True)
class ConfigReceived:
    center_name: str
    areas: tuple[tuple[str, str, bool], ...]  # (id, name, open), in the config's order
    notice: str | None = None  # the center's notice ("": none); None: the center sets none, the board's own shows

    @classmethod
    def of(cls, config: CenterConfigMessage) -> ConfigReceived:
        return cls(config.center_name, tuple((a.id, a.name, a.open) for a in config.areas), config.notice)


@dataclass(frozen=True, slots=True)
class StateReceived:
    state: BoardState


@dataclass(frozen=True, slots=True)
class CallReceived:
    call: Call


@dataclass(frozen=True, slots=True)
class CounterChanged:
    counter_id: str
    state: CounterStateMessage


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    online: bool


@dataclass(frozen=True, slots=True)
class Tick:
    now: datetime


Event = ConfigReceived | StateReceived | CallReceived | CounterChanged | ConnectionChanged | Tick


@dataclass(frozen=True, slots=True)
class Announce:
    number: str
    counter_number: str  # what the voice reads after "quầy số"
    recall: bool


@dataclass(frozen=True, slots=True)
class ShowOnLed:
    counter_id: str
    text: str  # "1005" while serving, "" when idle, "P" when paused (the LED driver renders it)


Effect = Announce | ShowOnLed


@dataclass
class BoardFlow:
    now: datetime
    notice: str = ""  # the board's own notice ([screen] notice): shown unless the center sets one
    center_name: str = ""
    online: bool = False
    _areas: tuple[tuple[str, str, bool], ...] = ()
    _names: dict[str, str] = field(default_factory=dict)  # every area's latest name, also of areas since removed
    _center_notice: str | None = None
    _configured: bool = False
    _calls: list[Call] = field(default_factory=list)  # newest first
    _waiting: dict[str, int] = field(default_factory=dict)
    _blink_from: datetime | None = None
    _started: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.now  # the notice scrolls from here

    def handle(self, event: Event) -> list[Effect]:
        match event:
            case Tick(now):
                self.now = now
            case ConfigReceived(name, areas, notice):
                self._configured_as(name, areas, notice)
            case StateReceived(state):
                self._calls = list(state.recent_calls[:RECENT])
                self._waiting = dict(state.waiting)
            case CallReceived(call):
                return self._called(call)
            case CounterChanged(counter_id, state):
                return [ShowOnLed(counter_id, _led_text(state))]
            case ConnectionChanged(online):
                self.online = online
        return []

    def _configured_as(self, name: str, areas: tuple[tuple[str, str, bool], ...], notice: str | None) -> None:
        shown = self.shown_notice
        self.center_name, self._areas, self._center_notice, self._configured = name, areas, notice, True
        self._names.update((area_id, area_name) for area_id, area_name, _ in areas)
        if self.shown_notice != shown:
            self._started = self.now  # a new notice scrolls from its start

    @property
    def shown_notice(self) -> str:
        """The center's notice when its config carries one ("" included: none), else the board's own."""
        return self.notice if self._center_notice is None else self._center_notice

    def _called(self, call: Call) -> list[Effect]:
        if not self._calls or _key(self._calls[0]) != _key(call):
            self._calls = [call, *self._calls][:RECENT]
        self._blink_from = self.now
        return [Announce(call.number, counter_number(call.counter_id, call.counter_name), call.recall)]

    def view(self) -> BoardView:
        lines = [_line(c) for c in self._calls]
        blinking = self._blink_from is not None and self.now - self._blink_from < BLINK
        phase = int((self.now - (self._blink_from or self.now)) / BLINK_PERIOD) % 2 == 0
        notice = self.shown_notice
        return BoardView(
            center_name=self.center_name,
            now=self.now,
            newest=lines[0] if lines else None,
            highlight=blinking and phase,
            recent=tuple(lines[1:]),
            waiting=self._waiting_lines(),
            notice=notice,
            notice_offset=(self.now - self._started).total_seconds() * NOTICE_SPEED if notice else 0.0,
            online=self.online,
            configured=self._configured,
        )

    def _waiting_lines(self) -> tuple[WaitingLine, ...]:
        """The config's areas in its order, each open one and each closed one that citizens still wait for (they
        are still called), then the areas removed from the config while citizens still wait for them (under
        their last name): the closed and the removed marked as taking no new tickets."""
        if not self._configured:  # the state came first: its areas by id, until the config names them
            return tuple(WaitingLine(a, n) for a, n in self._waiting.items())
        listed = {area_id for area_id, _, _ in self._areas}
        lines = [WaitingLine(name, self._waiting.get(a, 0), closed=not is_open) for a, name, is_open in self._areas
                 if is_open or self._waiting.get(a, 0) > 0]
        lines += [WaitingLine(self._names.get(a, a), n, closed=True) for a, n in self._waiting.items()
                  if a not in listed and n > 0]
        return tuple(lines)

    @property
    def animating(self) -> bool:
        """Whether the picture changes by itself (blink, notice) and must be redrawn often."""
        return bool(self.shown_notice) or (self._blink_from is not None and self.now - self._blink_from < BLINK)


def counter_number(counter_id: str, counter_name: str) -> str:
    """What the voice reads after "quầy số": the counter's number ("3" of id "3" or of "Quầy 3")."""
    if re.fullmatch(r"[0-9]{1,4}", counter_id):
        return counter_id
    digits = re.findall(r"[0-9]{1,4}", counter_name)
    return digits[-1] if digits else counter_id.upper()


def _key(call: Call) -> tuple[str, str, datetime]:
    return (call.number, call.counter_id, call.called_at)


def _line(call: Call) -> CallLine:
    return CallLine(call.number, call.counter_name, call.area_name or call.area, call.called_at, call.recall)


def _led_text(state: CounterStateMessage) -> str:
    if state.status == "paused":
        return "P"
    return state.ticket.number if state.ticket is not None else ""
