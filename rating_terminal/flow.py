"""The counter terminal's state machine: keys, scanned dossier codes, rating buttons and the counter's state in;
commands, feedback and the rating buttons' lights out. Pure: no I/O, no clock, no MQTT."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from protocol.messages import CounterStateMessage
from rating_terminal.levels import Meaning, button_levels
from rating_terminal.model import Feedback, Key, KeyPressed, RatingPressed


@dataclass(frozen=True, slots=True)
class ConfigReceived:
    areas: tuple[str, ...]  # area ids, for transfer
    levels: tuple[str, ...]  # rating levels, best first
    window_s: int = 120  # how long a served ticket may be rated


@dataclass(frozen=True, slots=True)
class StateReceived:
    state: CounterStateMessage


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    online: bool


@dataclass(frozen=True, slots=True)
class CommandAnswered:
    request_id: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Tick:
    now: datetime


@dataclass(frozen=True, slots=True)
class Scanned:
    """A code read by the dossier scanner, as read: the server checks whether it is a dossier code."""

    text: str


@dataclass(frozen=True, slots=True)
class Signalled:
    """A late outcome to show: a command that timed out turned out to have been applied."""

    feedback: Feedback


Event = (ConfigReceived | StateReceived | ConnectionChanged | KeyPressed | Scanned | RatingPressed | CommandAnswered
         | Tick | Signalled)


@dataclass(frozen=True, slots=True)
class SendCommand:
    request_id: str
    action: str
    to_area: str | None = None
    code: str | None = None  # "dossier": the code scanned


@dataclass(frozen=True, slots=True)
class Signal:
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class Arm:
    meaning: Meaning  # per rating button, best first: the level it sends now; None: it stays dark


@dataclass(frozen=True, slots=True)
class Disarm:
    pass


@dataclass(frozen=True, slots=True)
class StoreRating:
    """Write to the outbox (durably) before the thank-you that follows it."""

    rating_id: str
    ticket_id: str
    level: str
    pressed_at: datetime


@dataclass(frozen=True, slots=True)
class ThankYou:
    button: int
    level: str


Effect = SendCommand | Signal | Arm | Disarm | StoreRating | ThankYou


@dataclass
class TerminalFlow:
    new_id: Callable[[], str]
    now: datetime
    buttons: int  # how many rating buttons the terminal has
    online: bool = False
    areas: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    meaning: Meaning = field(init=False)  # the level each rating button means now (the levels, by position)
    state: CounterStateMessage | None = None
    pending: str | None = None  # the request_id of the command on its way
    transfer_choice: int = 0  # which other area a transfer goes to (short presses cycle)
    armed: str | None = None  # the ticket the citizen may rate now
    window_s: int = 120
    rated: set[str] = field(default_factory=set)  # tickets rated here (seeded from the outbox at start)
    _armed_until: datetime | None = None  # on this terminal's clock: when the window closes
    _server_until: datetime | None = None  # on the server's clock

    def __post_init__(self) -> None:
        self.meaning = button_levels(self.buttons, self.levels)  # every button dark until the levels arrive

    def handle(self, event: Event) -> list[Effect]:
        match event:
            case Tick(now):
                self.now = now
                return self._expire()
            case ConfigReceived(areas, levels, window_s):
                self.areas, self.levels, self.window_s = areas, levels, window_s
                return self._remap()
            case StateReceived(state):
                self.state = state
                return self._arm_from_state()
            case ConnectionChanged(online):
                self.online = online
            case KeyPressed():
                return self._key(event)
            case Scanned(text):
                return self._scanned(text)
            case RatingPressed(button):
                return self._rate(button)
            case Signalled(feedback):
                return [Signal(feedback)]
            case CommandAnswered(request_id, ok):
                if request_id == self.pending:
                    self.pending = None
                    return [Signal(Feedback.OK if ok else Feedback.FAILED)]
        return []

    # --- the official's keys --------------------------------------------------------------------

    def _key(self, pressed: KeyPressed) -> list[Effect]:
        if not self._may_send():
            return [Signal(Feedback.FAILED)]
        key = pressed.key
        if key is not Key.TRANSFER:
            self.transfer_choice = 0  # a choice is for the transfer key pressed right after it
        if key is Key.SKIP and not pressed.long:
            return [Signal(Feedback.FAILED)]  # a no-show is marked only by holding the key
        if key is Key.TRANSFER:
            return self._transfer(pressed.long)
        if key is Key.PAUSE:
            action = "resume" if self.state is not None and self.state.status == "paused" else "pause"
            return self._send(action)
        return self._send(key.value)

    def _scanned(self, text: str) -> list[Effect]:
        """A dossier code goes to the counter's ticket (the server knows which), as a key's command does."""
        if not self._may_send():
            return [Signal(Feedback.FAILED)]
        self.transfer_choice = 0
        return self._send("dossier", code=text)

    def _may_send(self) -> bool:
        """Offline a command fails now, and is never sent later; one command at a time."""
        return self.online and self.pending is None

    def _transfer(self, send: bool) -> list[Effect]:
        targets = self._transfer_targets()
        if not targets:
            return [Signal(Feedback.FAILED)]
        if not send:
            self.transfer_choice = (self.transfer_choice + 1) % len(targets)
            return [Signal(Feedback.OK)]
        target, self.transfer_choice = targets[self.transfer_choice % len(targets)], 0
        return self._send("transfer", target)

    def _transfer_targets(self) -> list[str]:
        current = self.state.ticket.area if self.state is not None and self.state.ticket is not None else None
        return [area for area in self.areas if area != current]

    def _send(self, action: str, to_area: str | None = None, *, code: str | None = None) -> list[Effect]:
        self.pending = self.new_id()
        return [SendCommand(self.pending, action, to_area, code), Signal(Feedback.BUSY)]

    # --- the citizen's rating ---------------------------------------------------------------

    def _remap(self) -> list[Effect]:
        """The buttons take the center's levels by position; a citizen about to rate sees the new lights
        (the levels may also have come after the state that armed the terminal)."""
        was, self.meaning = self.meaning, button_levels(self.buttons, self.levels)
        return [Arm(self.meaning)] if self.armed is not None and self.meaning != was else []

    def _arm_from_state(self) -> list[Effect]:
        """Armed while the server's state shows the window: the terminal's clock may be wrong."""
        window = self.state.rating if self.state is not None else None
        if window is None or window.ticket_id in self.rated:
            return self._disarm()
        was = self.armed
        if was != window.ticket_id:
            self.armed, self._server_until = window.ticket_id, window.until
            # The window's own length on this terminal's clock, from now: it closes even if the
            # server's disarming state never arrives.
            self._armed_until = self.now + timedelta(seconds=self.window_s)
        return [] if was == window.ticket_id else [Arm(self.meaning)]

    def _expire(self) -> list[Effect]:
        if self.armed is not None and self._armed_until is not None and self.now > self._armed_until:
            return self._disarm()
        return []

    def _disarm(self) -> list[Effect]:
        if self.armed is None:
            return []
        self.armed = self._armed_until = self._server_until = None
        return [Disarm()]

    def _rate(self, button: int) -> list[Effect]:
        level = self.meaning[button] if 0 <= button < len(self.meaning) else None
        if self.armed is None or level is None:
            return []  # presses while not armed, and on a dark button, do nothing
        ticket_id = self.armed
        pressed_at = self._on_server_clock(self.now)
        self.rated.add(ticket_id)
        self.armed = self._armed_until = self._server_until = None
        return [StoreRating(self.new_id(), ticket_id, level, pressed_at), ThankYou(button, level)]

    def _on_server_clock(self, moment: datetime) -> datetime:
        """A moment of this terminal as the server's clock had it: a late rating from the outbox is
        judged by `pressed_at`, and a Pi without a real-time clock may be minutes off."""
        if self._armed_until is None or self._server_until is None:
            return moment
        return self._server_until - (self._armed_until - moment)
