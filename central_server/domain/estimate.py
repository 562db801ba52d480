"""When a new ticket will be called: the queue played forward on the counters that really serve it.

Pure: no I/O, no clock. The estimate plays the day forward from now with the day's own pace. Every
counter that is staffed and not paused finishes its current citizen (the time left is learnt from
the area's service times of the day: the mean of what is left of the services that lasted longer
than this one has so far), then keeps calling whom the next-ticket policy gives it (priority first,
then the oldest ticket of all the areas it serves), each taking the mean time of that area. A
counter's time is thus shared between its areas as it really is. The new ticket is called when the
first counter that serves its area reaches it. A free counter of the area means "at once"; no
staffed counter means no estimate at all.

A new regular ticket is the newest of the day, so (when priority tickets go strictly first) it changes
the call time of no ticket before it: `Forecast` plays the queue once and places each further regular
ticket of the same moment in O(counters). A priority ticket goes ahead of others, and with interleaved
priority a regular one may go ahead of older priority ones: those are played afresh.

Past `PLAY_LIMIT` waiting tickets (a day gone wrong, or a benchmark) the queue is not played ticket
by ticket: the work ahead in the areas the counters share is divided by those counters.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import accumulate

from central_server.domain.policies import PriorityMode, QueuePolicy
from protocol.record import record

PLAY_LIMIT = 300  # waiting tickets in the areas concerned, past which the queue is not played one by one
MIN_LEFT_S = 30.0  # what is left of a service already longer than every one of the day's


class Basis(StrEnum):
    FREE_COUNTER = "free_counter"  # a free counter of the area takes the ticket at once
    ESTIMATE = "estimate"
    NO_COUNTER = "no_counter"  # no staffed counter serves the area: no estimate


@record
class Estimate:
    seconds: int
    basis: Basis


@record
class Queued:
    """A waiting ticket as the forecast sees it: its area, kind and place in the queue."""

    area: str
    priority: bool
    key: tuple[datetime, int]


@dataclass(slots=True)
class StaffedCounter:
    """A counter that is staffed and not paused, as it is now."""

    id: str
    areas: tuple[str, ...]
    free_in_s: float  # 0 when it can call now; else what is left of its current citizen
    regular_since_priority: int = 0
    # Its official pressed Next today: a terminal left on overnight makes a counter "free" before anyone sits
    # down, so only a counter that has worked today may promise "at once".
    seen_today: bool = True


class ServiceTimes:
    """The day's service times of an area (`samples`), sorted once per forecast: what is left of a service that
    has lasted so long is then found by bisection, for each staffed counter. (Going over every sample for each
    counter, the staffed counters of a forecast took 85-94 us at 40 counters; this way 62-75 us. A forecast is
    made at each batch that follows a counter's change.)"""

    def __init__(self, samples: Iterable[float]) -> None:
        self._ordered = sorted(samples)
        self._tail_sums = list(accumulate(reversed(self._ordered), initial=0.0))  # [k]: the k longest, summed

    def left(self, elapsed_s: float, mean_s: float) -> float:
        """What is left of a service that has lasted `elapsed_s`: the mean of what was left of the day's
        services that lasted longer; while there are few, the mean service less the time so far."""
        count = len(self._ordered)
        if count >= 3:
            longer = count - bisect_right(self._ordered, elapsed_s)
            return (self._tail_sums[longer] - longer * elapsed_s) / longer if longer else MIN_LEFT_S
        return max(mean_s - elapsed_s, MIN_LEFT_S)


class Forecast:
    """The queue of one moment played forward; `place()` estimates each new ticket of that moment."""

    def __init__(self, counters: Sequence[StaffedCounter], waiting: Iterable[Queued], pace_s: Mapping[str, float],
                 policy: QueuePolicy, *, bulk: Mapping[str, int] | None = None) -> None:
        """`bulk`: instead of `waiting`, how many wait per area, for a queue too long to play."""
        self._counters = list(counters)
        self._pace = pace_s
        self._policy = policy
        self._bulk = bulk
        self._waiting = sorted(waiting, key=lambda q: q.key)
        self._played = False
        self._free_at: dict[str, float] = {}  # counter id -> when it has no older ticket left to call
        self._placed = 0  # new tickets so far: each comes after every ticket before it
        # area -> its counters, and their ids in the same order (each ticket of a batch asks)
        self._serving: dict[str, tuple[list[StaffedCounter], list[str]]] = {}

    def place(self, area: str, priority: bool) -> Estimate:
        """The new ticket's estimate; it is then part of the queue for the next ones."""
        if area not in self._serving:
            counters = [c for c in self._counters if area in c.areas]
            self._serving[area] = (counters, [c.id for c in counters])
        serving, ids = self._serving[area]
        if not serving:
            return Estimate(0, Basis.NO_COUNTER)
        self._placed += 1
        new = Queued(area, priority, (_END, self._placed))
        if priority or self._policy.mode is not PriorityMode.STRICT:  # it may go ahead of others: play it all
            seconds = self._play_with(new, serving)
            self._played = False
        else:
            if not self._played:
                self._free_at = self._play()
                self._played = True
            free_at = self._free_at
            chosen = min(ids, key=free_at.__getitem__)  # the first free, as the counters come
            seconds = free_at[chosen]
            free_at[chosen] = seconds + self._pace[area]
        self._waiting.append(new)
        if seconds <= 0 and any(c.free_in_s <= 0 and c.seen_today for c in serving):
            return Estimate(0, Basis.FREE_COUNTER)
        return Estimate(round(max(seconds, 0.0)), Basis.ESTIMATE)

    def _play(self) -> dict[str, float]:
        """Each counter's time when nothing older is left for it to call."""
        if self._in_bulk():
            return self._shared_work()
        free_at: dict[str, float] = {}
        self._run(lambda counter, at: free_at.__setitem__(counter.id, at), target=None)
        return free_at

    def _play_with(self, target: Queued, serving: list[StaffedCounter]) -> float:
        if self._in_bulk():
            return min(self._shared_work()[c.id] for c in serving)
        picked = self._run(lambda counter, at: None, target=target)
        return picked if picked is not None else 0.0

    def call_times(self) -> dict[tuple[str, tuple[datetime, int]], float]:
        """When each waiting ticket is called, in seconds from now, keyed by (area, key): the queue played forward
        once, ticket by ticket (however long it is). A ticket of an area no staffed counter serves is absent."""
        times: dict[tuple[str, tuple[datetime, int]], float] = {}
        self._run(lambda counter, at: None, target=None,
                  called=lambda ticket, at: times.__setitem__((ticket.area, ticket.key), at))
        return times

    def _run(self, done: Callable[[StaffedCounter, float], None], target: Queued | None,
             called: Callable[[Queued, float], None] | None = None) -> float | None:
        """Play the counters forward; return when `target` is called (None when it never is). `called` hears each
        ticket called, and when."""
        queues: dict[tuple[str, bool], list[Queued]] = {}
        tickets = self._waiting if target is None else sorted([*self._waiting, target], key=lambda q: q.key)
        for ticket in tickets:
            queues.setdefault((ticket.area, ticket.priority), []).append(ticket)
        heads = {key: 0 for key in queues}
        clock = [(max(c.free_in_s, 0.0), n, c.regular_since_priority) for n, c in enumerate(self._counters)]
        heapq.heapify(clock)
        while clock:
            at, n, since = heapq.heappop(clock)
            counter = self._counters[n]
            head = self._policy.choose(self._oldest(queues, heads, counter.areas, True),
                                       self._oldest(queues, heads, counter.areas, False), since)
            if head is None:
                done(counter, at)
                continue
            chosen = head[1]
            ticket = queues[chosen][heads[chosen]]
            heads[chosen] += 1
            if ticket is target:
                return at
            if called is not None:
                called(ticket, at)
            since = 0 if ticket.priority else since + 1
            heapq.heappush(clock, (at + self._pace[ticket.area], n, since))
        return None

    @staticmethod
    def _oldest(queues: dict[tuple[str, bool], list[Queued]], heads: dict[tuple[str, bool], int],
                areas: tuple[str, ...], priority: bool) -> tuple[tuple[datetime, int], tuple[str, bool]] | None:
        best: tuple[tuple[datetime, int], tuple[str, bool]] | None = None
        for area in areas:
            key = (area, priority)
            queue = queues.get(key)
            if queue is not None and heads[key] < len(queue):
                head = queue[heads[key]].key
                if best is None or head < best[0]:
                    best = (head, key)
        return best

    def _in_bulk(self) -> bool:
        return self._bulk is not None or len(self._waiting) > PLAY_LIMIT

    def _shared_work(self) -> dict[str, float]:
        """A long queue in bulk: the work waiting in the areas a counter serves, and the work of the counters
        sharing those areas, divided by those counters (every counter of a group frees at the same time)."""
        work = {area: count * self._pace[area] for area, count in (self._bulk or {}).items()}
        for ticket in self._waiting:
            work[ticket.area] = work.get(ticket.area, 0.0) + self._pace[ticket.area]
        serving: dict[str, list[StaffedCounter]] = {}
        for counter in self._counters:
            for area in counter.areas:
                serving.setdefault(area, []).append(counter)
        free_at = {}
        of_areas: dict[tuple[str, ...], float] = {}  # what a counter's share comes to depends on its areas alone
        for counter in self._counters:
            if counter.areas not in of_areas:
                group = {c.id: c for area in counter.areas for c in serving[area]}.values()
                areas = {a for c in group for a in c.areas}
                total = sum(work.get(a, 0.0) for a in areas) + sum(max(c.free_in_s, 0.0) for c in group)
                of_areas[counter.areas] = total / len(group)
            free_at[counter.id] = of_areas[counter.areas]
        return free_at


def rough_call_times(counters: Sequence[StaffedCounter], waiting: Iterable[Queued],
                     pace_s: Mapping[str, float]) -> dict[tuple[str, tuple[datetime, int]], float]:
    """`Forecast.call_times` for a queue too long to play ticket by ticket: the counters that serve a ticket's
    area share the work of the tickets before it (priority first, then by issue) in the areas they serve, and
    start on it when the first of them is free."""
    tickets = sorted(waiting, key=lambda q: (not q.priority, q.key))
    serving: dict[str, list[StaffedCounter]] = {}
    for counter in counters:
        for area in counter.areas:
            serving.setdefault(area, []).append(counter)
    times: dict[tuple[str, tuple[datetime, int]], float] = {}
    for area in {q.area for q in tickets if q.area in serving}:
        group = serving[area]
        areas = {a for c in group for a in c.areas}
        start = min(max(c.free_in_s, 0.0) for c in group)
        work = 0.0
        for ticket in tickets:
            if ticket.area not in areas:
                continue
            if ticket.area == area:
                times[(area, ticket.key)] = start + work / len(group)
            work += pace_s[ticket.area]
    return times


_END = datetime.max.replace(tzinfo=UTC)  # a new ticket's issue time in the forecast: after every other
