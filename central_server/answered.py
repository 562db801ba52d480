"""The day's kept answers, as the service checks each request against them: hashes of (device, request_id)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import chain

MIN_MERGE = 4096  # new hashes kept in a set before they join the sorted array (or an eighth of its size)


class AnsweredHashes:
    """A set of ints, small. A busy day keeps an answer per ticket and per call, 200,000 and more: as a set of
    int objects they took 70 bytes each (15 MB at 100,000 tickets); here a sorted array of 8 bytes each, and
    the newest in a set until they are an eighth of the array, merged then (so the merges cost O(1) each)."""

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self._sorted = array("q", sorted(hashes))  # stored answers: no two alike
        self._recent: set[int] = set()

    def add(self, key_hash: int, *, absent: bool = False) -> None:
        """`absent`: the caller found it not here, and nothing has added it since: the sorted array is not searched
        again (a bisection of a busy day's, 1 us)."""
        if not absent and key_hash in self:
            return
        self._recent.add(key_hash)
        if len(self._recent) >= max(MIN_MERGE, len(self._sorted) // 8):
            self._sorted = array("q", sorted(chain(self._sorted, self._recent)))
            self._recent = set()

    def __contains__(self, key_hash: object) -> bool:
        if key_hash in self._recent:
            return True
        if not isinstance(key_hash, int):
            return False
        at = bisect_left(self._sorted, key_hash)
        return at < len(self._sorted) and self._sorted[at] == key_hash

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)
