"""How many sign-ins an address and a username may try: a guesser is slowed to a few tries an hour.

Pure: the caller passes the time (monotonic seconds). Every try is counted when it is let through, before its
password is looked at, so parallel tries are counted too; a good sign-in takes its own try back out (so a center's
PCs behind one address all sign in in the morning), a wrong one stays counted. Past a limit in the sliding window, a
try is refused without a password being looked at (so a flood spends no argon2 hash) until the oldest try leaves the
window. Three keys: the address and username together (a person mistyping), the address (one guesser trying many
usernames; a center's PCs behind one proxy share it unless the proxy sends X-Forwarded-For), and the username from
anywhere (a guesser with many addresses), the last set higher so that nobody can lock a colleague out with a few
wrong guesses. Memory is bounded: past MAX_KEYS the least recently tried key is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

WINDOW_S = 15 * 60
PER_PERSON = 5  # one address and one username: a person mistyping five times waits at most a quarter of an hour
PER_ADDRESS = 20  # one address, any usernames
PER_USERNAME = 50  # one username, any addresses
MAX_KEYS = 10_000


@dataclass(slots=True)
class SignInThrottle:
    window_s: float = WINDOW_S
    _tries: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def attempt(self, address: str, username: str, now: float) -> float:
        """0 when the try may go on (it is counted now), else the seconds until one may."""
        keys = self._keys(address, username)
        wait = max(self._wait(key, limit, now) for key, limit in keys)
        if wait > 0:
            return wait
        for key, limit in keys:
            times = self._tries.pop(key, None) or deque(maxlen=limit)
            times.append(now)
            self._tries[key] = times  # the most recently tried last
            if len(self._tries) > MAX_KEYS:
                self._tries.popitem(last=False)
        return 0.0

    def succeeded(self, address: str, username: str, tried_at: float) -> None:
        """The try let through at `tried_at` was a good sign-in: it no longer counts."""
        for key, _ in self._keys(address, username):
            times = self._tries.get(key)
            if times is not None and tried_at in times:
                times.remove(tried_at)

    @staticmethod
    def _keys(address: str, username: str) -> tuple[tuple[str, int], ...]:
        return ((f"person:{address}\x00{username}", PER_PERSON), (f"address:{address}", PER_ADDRESS),
                (f"user:{username}", PER_USERNAME))

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._tries.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return self.window_s - (now - times[-limit])
