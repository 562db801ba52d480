"""The wait estimate's forecast: the queue played forward on the staffed counters (pure)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from central_server.domain.estimate import PLAY_LIMIT, Basis, Forecast, Queued, ServiceTimes, StaffedCounter
from central_server.domain.policies import PriorityMode, QueuePolicy

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AREAS = ("a", "b", "c")
PACE = {"a": 300.0, "b": 420.0, "c": 180.0}


def queued(area: str, minute: int, priority: bool = False) -> Queued:
    return Queued(area, priority, (T0 + timedelta(minutes=minute), minute))


def reference(counters: list[StaffedCounter], waiting: list[Queued], policy: QueuePolicy,
              target: Queued) -> float | None:
    """The same rules, written the plain way: the counter free first calls the oldest ticket it may call."""
    left = sorted([*waiting, target], key=lambda q: q.key)
    clocks = {n: (max(c.free_in_s, 0.0), c.regular_since_priority) for n, c in enumerate(counters)}
    while clocks:
        n = min(clocks, key=lambda k: (clocks[k][0], k))
        at, since = clocks[n]
        mine = [q for q in left if q.area in counters[n].areas]
        oldest = {kind: next((q for q in mine if q.priority is kind), None) for kind in (True, False)}
        chosen = policy.choose(oldest[True], oldest[False], since)
        if chosen is None:
            del clocks[n]
            continue
        left.remove(chosen)
        if chosen is target:
            return at
        clocks[n] = (at + PACE[chosen.area], 0 if chosen.priority else since + 1)
    return None


counters_strategy = st.lists(
    st.builds(lambda areas, free, since: StaffedCounter("", tuple(sorted(areas)), free, since),
              st.sets(st.sampled_from(AREAS), min_size=1), st.sampled_from([0.0, 0.0, 60.0, 250.0, 600.0]),
              st.integers(0, 3)),
    min_size=1, max_size=4)
tickets_strategy = st.lists(st.tuples(st.sampled_from(AREAS), st.booleans()), max_size=25)


@settings(max_examples=300, deadline=None)
@given(counters_strategy, tickets_strategy, st.lists(st.tuples(st.sampled_from(AREAS), st.booleans()),
                                                    min_size=1, max_size=8),
       st.sampled_from([PriorityMode.STRICT, PriorityMode.INTERLEAVED]))
def test_each_new_ticket_is_called_when_the_plain_rules_say(counters: list[StaffedCounter],
                                                            waiting: list[tuple[str, bool]],
                                                            new: list[tuple[str, bool]], mode: PriorityMode) -> None:
    counters = [StaffedCounter(str(n), c.areas, c.free_in_s, c.regular_since_priority) for n, c in enumerate(counters)]
    policy = QueuePolicy(mode=mode, regular_per_priority=2)
    queue = [queued(area, minute, priority) for minute, (area, priority) in enumerate(waiting)]
    forecast = Forecast(counters, list(queue), PACE, policy)
    for offset, (area, priority) in enumerate(new):
        target = queued(area, len(waiting) + offset, priority)
        expected = reference(counters, queue, policy, target)
        estimate = forecast.place(area, priority)
        queue.append(target)
        if expected is None:
            assert estimate.basis is Basis.NO_COUNTER
        else:
            assert estimate.seconds == round(expected)
            free_now = any(area in c.areas and c.free_in_s <= 0 for c in counters)
            assert estimate.basis is (Basis.FREE_COUNTER if expected == 0 and free_now else Basis.ESTIMATE)


def test_a_counter_shares_its_time_between_its_areas_by_the_age_of_their_tickets() -> None:
    both = StaffedCounter("1", ("a", "b"), 0.0)
    only_a = StaffedCounter("2", ("a",), 120.0)
    forecast = Forecast([both, only_a], [queued("b", 0), queued("a", 1), queued("b", 2)], PACE, QueuePolicy())
    # Counter 1 calls b@0 now (free at 420); counter 2 frees at 120 and calls a@1 (free at 420);
    # counter 1 calls b@2 at 420 (free at 840): counter 2, free at 420, takes a new "a" ticket.
    assert forecast.place("a", False).seconds == 420
    assert forecast.place("b", False).seconds == 840, "only counter 1 serves b: after b@2"
    assert forecast.place("a", False).seconds == 720, "counter 2 again, after the first new one"


def test_no_staffed_counter_of_the_area_gives_no_estimate() -> None:
    forecast = Forecast([StaffedCounter("1", ("a",), 0.0)], [], PACE, QueuePolicy())
    assert forecast.place("b", False).basis is Basis.NO_COUNTER


def test_a_long_queue_is_counted_in_bulk() -> None:
    counters = [StaffedCounter("1", ("a",), 0.0), StaffedCounter("2", ("a", "b"), 0.0)]
    waiting = [queued("a" if n % 2 else "b", n) for n in range(PLAY_LIMIT + 2)]
    estimate = Forecast(counters, waiting, PACE, QueuePolicy()).place("a", False)
    work = sum(PACE[q.area] for q in waiting)
    assert estimate.seconds == round(work / 2), "all the waiting work of the two sharing counters, split in two"
    counts = {"a": sum(q.area == "a" for q in waiting), "b": sum(q.area == "b" for q in waiting)}
    by_counts = Forecast(counters, [], PACE, QueuePolicy(), bulk=counts).place("a", False)
    assert by_counts == estimate, "the center passes only the counts of a long queue"


def test_time_left_is_what_was_left_of_the_longer_services_of_the_day() -> None:
    assert ServiceTimes([400.0, 100.0, 200.0]).left(150.0, 0.0) == (50 + 250) / 2
    assert ServiceTimes([400.0, 100.0, 200.0]).left(200.0, 0.0) == 200.0, "a service as long as it is not longer"
    assert ServiceTimes([100.0, 200.0, 400.0]).left(500.0, 0.0) == 30.0, "longer than every one: a short while"
    assert ServiceTimes([100.0]).left(40.0, 250.0) == 210.0, "few samples: the mean service less the time so far"


@given(st.lists(st.sampled_from([0.0, 60.0, 300.0, 1799.5]) | st.floats(0, 1800), min_size=3, max_size=30),
       st.sampled_from([0.0, 60.0, 300.0]) | st.floats(0, 2000))
def test_time_left_by_bisection_is_the_mean_of_what_was_left_of_each_longer_service(samples: list[float],
                                                                                    elapsed: float) -> None:
    longer = [s - elapsed for s in samples if s > elapsed]
    expected = sum(longer) / len(longer) if longer else 30.0
    assert math.isclose(ServiceTimes(samples).left(elapsed, 0.0), expected, rel_tol=1e-9, abs_tol=1e-6)
