"""What the counter terminal's hardware reports and shows: plain values shared by its parts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Key(StrEnum):
    """The official's keys; each sends one contract command (TRANSFER cycles through the areas first)."""

    NEXT = "next"
    RECALL = "recall"
    SKIP = "skip"  # a long press: a no-show must not be marked by a slip of the finger
    FINISH = "finish"
    TRANSFER = "transfer"  # press to choose the area (cycles), long press to send
    PAUSE = "pause"  # toggles pause / resume


class Feedback(StrEnum):
    """What the official's LED (or buzzer) signals after a key."""

    OK = "ok"  # a short green blink / one beep
    FAILED = "failed"  # a long red blink / three beeps: refused, or offline (never replayed later)
    BUSY = "busy"  # the command is on its way


@dataclass(frozen=True, slots=True)
class KeyPressed:
    key: Key
    long: bool = False  # held at least the long-press time


@dataclass(frozen=True, slots=True)
class RatingPressed:
    button: int  # the rating button's position, 0 the best (the flow knows which level it means now)


TerminalEvent = KeyPressed | RatingPressed  # what the hardware reports, through the `on_event` it was given


class TerminalHardware(Protocol):
    """What the counter terminal's main loop drives (its port: `hardware.GpiozeroTerminal` on the pins,
    `hardware.FakeTerminal` in memory); presses arrive through the `on_event` given to the adapter."""

    def arm(self, meaning: list[str | None]) -> None: ...  # per button, best first: its level now, None: dark
    def disarm(self) -> None: ...
    def thank_you(self, button: int, level: str) -> None: ...
    def signal(self, feedback: Feedback) -> None: ...
    def close(self) -> None: ...
