"""How many failed sign-ins an address and a username may have: a guesser is slowed to a few tries an hour.

Pure: the caller passes the time (monotonic seconds). Failures are counted per client address and per username
in a sliding window; past either limit every sign-in from that address, or for that username, is refused
until the oldest failure leaves the window, without a password being looked at (so a flood spends no
argon2 hash). A good sign-in clears the failures of its address and username. Memory is bounded: past
MAX_KEYS the least recently failed key is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

WINDOW_S = 15 * 60
PER_USERNAME = 5  # a person mistyping a password five times waits at most a quarter of an hour
PER_ADDRESS = 20  # a center's PCs may sit behind one address (a proxy): several people mistyping
MAX_KEYS = 10_000


@dataclass(slots=True)
class SignInThrottle:
    window_s: float = WINDOW_S
    per_username: int = PER_USERNAME
    per_address: int = PER_ADDRESS
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def wait_s(self, address: str, username: str, now: float) -> float:
        """0 when a sign-in may be tried now, else the seconds until it may."""
        waits = [self._wait(f"address:{address}", self.per_address, now),
                 self._wait(f"user:{username}", self.per_username, now)]
        return max(waits)

    def failed(self, address: str, username: str, now: float) -> None:
        for key in (f"address:{address}", f"user:{username}"):
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            while len(times) > max(self.per_address, self.per_username):
                times.popleft()
            self._failures[key] = times  # the most recently failed last
            if len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop(f"address:{address}", None)
        self._failures.pop(f"user:{username}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return self.window_s - (now - times[-limit])
