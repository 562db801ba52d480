"""Clocks: the real one, and a simulated one that runs faster for `make demo`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from protocol.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SimulatedClock:
    """Time that started at `start` when the real clock showed `real_start`, running `speed` times faster.

    Every process of a demo gets the same three numbers, so they all agree on the simulated time.
    """

    start: datetime
    speed: float
    real_start: float

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.real_start) * self.speed)

    def to_arg(self) -> str:
        return f"{self.start.isoformat()},{self.speed:g},{self.real_start!r}"

    @classmethod
    def from_arg(cls, text: str, zone: tzinfo) -> SimulatedClock:
        """Parse `START_ISO,SPEED,REAL_UNIX_TIME` (the form `to_arg` writes)."""
        try:
            start_text, speed_text, real_text = text.split(",")
            start, speed, real_start = datetime.fromisoformat(start_text), float(speed_text), float(real_text)
        except ValueError:
            raise ConfigError(f"--simulated-clock {text!r}: expected START_ISO,SPEED,REAL_UNIX_TIME") from None
        if start.tzinfo is None or speed <= 0:
            raise ConfigError(f"--simulated-clock {text!r}: the start needs its offset and the speed must be > 0")
        return cls(start.astimezone(zone), speed, real_start)

