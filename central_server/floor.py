"""The manager's live floor (the retained `floor`), built from the center's state: pure, no I/O.

Its day figures are the report's (`report/figures.py`): one citizen is one chain of tickets, the wait runs
from the issue to the first call, the share within target and the satisfied share are counted the same way.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, insort
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from fractions import Fraction

from central_server.domain.center import Center
from central_server.domain.counters import Counter
from central_server.domain.tickets import Ticket, TicketState
from central_server.report.figures import ReportCenter, percentile_of_sorted
from protocol.messages import (
    MAX_PAYLOAD,
    FloorArea,
    FloorCounter,
    FloorDevice,
    FloorState,
    FloorToday,
    Official,
)

NAN = float("nan")
OTHER, SERVED, MISSED = 0, 1, 2  # what a citizen's chain came to
# A wait in minutes is a whole number of microseconds over 60,000,000, as a float whose last bit is worth at least
# 2**-78: times 2**80 it is an integer, so that the day's waits are summed exactly, by integers, in any order.
WAIT_SCALE = 2**80


def floor_state(center: Center, report: ReportCenter, now: datetime, count: DayCount | None = None) -> FloorState:
    """The floor as it is `now`. The first call of a ticket is its `called_at` until it is called again, then the
    one before (`Center.first_calls`). A citizen called again by number after a restart counts from the last call
    before it (the event log is not read for a live view): the first, unless they were called twice before.
    `count`: the day's figures kept since the last floor (None: counted here from every ticket)."""
    count = count or DayCount(report)
    count.follow(center)
    today = count.today(center, now, report)
    areas = tuple(FloorArea(area.id, area.name, *center.queue_of(area.id), *count.closed(area.id),
                            area.target_wait_min * 60, area.open) for area in center.areas.values())
    counters = tuple(FloorCounter(c.id, c.spec.name, c.status.value, _since(center, c), count.served_at(c.id),
                                  None if c.official is None else Official(c.official.username, c.official.name))
                     for c in center.counters.values())
    # Offline devices and printers in trouble first: what the manager must see if the list has to be cut.
    devices = sorted((FloorDevice(device, online, center.device_since.get(device), printer)
                      for device, (online, printer) in center.devices.items()),
                     key=lambda d: (d.online, d.printer in (None, "ready", "paper_low"), d.id))
    floor = FloorState(now, counters, areas, tuple(devices), today)
    while len(floor.devices) and len(floor.to_wire()) > MAX_PAYLOAD:  # bounded as every message is
        floor = FloorState(now, counters, areas, floor.devices[: len(floor.devices) * 3 // 4], today)
    return floor


class DayCount:
    """The floor's figures of the day, kept from one floor to the next: only the citizens whose tickets a batch
    changed are counted again. Counted afresh they took 2.4 us a ticket (240 ms at 100,000 tickets), and that
    stopped the state thread. The report's definitions (`report/figures.citizens`, `group`): one citizen per chain
    of transfers, their wait from the issue to the first call, a citizen not called counted against the target
    once past it. What is kept per ticket is 10 bytes, by its sequence number: a citizen's wait (NaN: none), what
    their chain came to, their rating. The waits are also kept in order (8 bytes more a citizen called), and their
    exact sum (so the mean is the report's, `math.fsum`): a floor neither sorts nor sums the day's waits again
    (that took 6.8 ms at 100,000 tickets)."""

    def __init__(self, report: ReportCenter) -> None:
        self._targets = {a.id: a.target_wait_min for a in report.areas}
        self._tickets: dict[str, Ticket] | None = None  # the day counted (a new dict: the day was loaded again)
        self._changed: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        self._wait = array("d")  # by the sequence of a citizen's first ticket: their wait in minutes, NaN if none
        self._waits_in_order = array("d")  # the waits that are not NaN, in order (but while the whole day is counted)
        self._whole_day = False  # being counted: its waits are sorted at the end
        self._wait_sum: int | Fraction = 0  # their exact sum, times WAIT_SCALE
        self._kind = bytearray()  # by that sequence: 0 not a citizen's first ticket, else 1 + what they came to
        self._rated = bytearray()  # by that sequence: 0 not rated, else 1 + the index of the level in `_levels`
        self._levels: list[str] = []
        self._counted = bytearray()  # by a ticket's sequence: 1 when it counts as served at its counter
        self._closed: Tally[tuple[str, int]] = Tally()  # (area, SERVED or MISSED) -> citizens
        self._served_at: Tally[str | None] = Tally()  # counter -> tickets served there
        self._ratings: Tally[str] = Tally()
        # The citizens not called yet, by the area of their first ticket, in order of issue: a floor counts those
        # past their area's target without going over all of them (a long queue's thousands took 10 ms a floor).
        self._uncalled: dict[str, Uncalled] = {}
        self._citizens = self._within = 0

    def changed(self, ticket_ids: Iterable[str]) -> None:
        """The tickets a batch changed (committed, or about to be: a failed commit loads the day again)."""
        self._changed.update(ticket_ids)

    def follow(self, center: Center) -> None:
        """Count again the citizens of the tickets changed since: all of them the first time, and after the day
        was loaded again."""
        tickets = center.tickets
        if tickets is not self._tickets:
            self._reset()
            self._tickets, self._changed = tickets, set()
            self._whole_day = True
            self._recount(center, sorted(tickets.values(), key=lambda t: t.seq))
            self._waits_in_order, self._whole_day = array("d", sorted(self._waits_in_order)), False
            return
        done: set[str] = set()  # the tickets of the chains counted again
        for ticket_id in self._changed:
            ticket = tickets.get(ticket_id)
            if ticket is None or ticket_id in done:
                continue
            if ticket.transferred_from is None and ticket.transferred_to is None:  # most are linked to none
                self._recount(center, [ticket])
            else:
                linked = _linked(tickets, ticket_id)
                done.update(t.id for t in linked)
                self._recount(center, sorted(linked, key=lambda t: t.seq))
        self._changed = set()

    def today(self, center: Center, now: datetime, report: ReportCenter) -> FloorToday:
        waits = self._waits_in_order
        overdue = sum(waiting.before((now - timedelta(minutes=self._target(area)), -1))
                      for area, waiting in self._uncalled.items())
        judged = len(waits) + overdue
        rated = sum(self._ratings.values())
        satisfied = sum(n for level, n in self._ratings.items() if level in report.satisfied_levels)
        levels = Tally({level: 0 for level in report.levels})
        levels.update({level: n for level, n in self._ratings.items() if n})  # a former level only while counted
        mean = float(self._wait_sum / WAIT_SCALE) / len(waits) if waits else None  # math.fsum's, as the report's
        p90 = percentile_of_sorted(waits, 90)
        return FloorToday(
            issued=self._citizens, served=sum(n for (_, kind), n in self._closed.items() if kind == SERVED),
            missed=sum(n for (_, kind), n in self._closed.items() if kind == MISSED),
            waiting=sum(center.waiting_counts().values()),
            mean_wait_s=None if mean is None else round(mean * 60), p90_wait_s=None if p90 is None else round(p90 * 60),
            within_target=self._within / judged if judged else None, ratings=dict(levels),
            satisfied=satisfied / rated if rated else None)

    def closed(self, area: str) -> tuple[int, int]:
        """The area's citizens served and missed (by the area of their first ticket)."""
        return self._closed[(area, SERVED)], self._closed[(area, MISSED)]

    def served_at(self, counter: str) -> int:
        return self._served_at[counter]

    def _target(self, area: str) -> int:
        return self._targets.get(area, 30)

    def _recount(self, center: Center, linked: list[Ticket]) -> None:
        """Count again the citizens of `linked` (whole chains, in order of sequence)."""
        for ticket in linked:
            self._grow(ticket.seq)
            if self._kind[ticket.seq]:
                self._take_out(ticket)
            served = ticket.state is TicketState.SERVED
            if served != bool(self._counted[ticket.seq]):
                self._served_at[ticket.counter_id] += 1 if served else -1
                self._counted[ticket.seq] = served
        for first, last, first_call in _chains(center, linked):
            self._count(first, last, first_call)

    def _count(self, first: Ticket, last: Ticket, first_call: datetime | None) -> None:
        seq = first.seq
        kind = SERVED if last.state is TicketState.SERVED else MISSED if last.state is TicketState.MISSED else OTHER
        self._kind[seq] = 1 + kind
        self._citizens += 1
        if kind != OTHER:
            self._closed[(first.area, kind)] += 1
        if first_call is None:
            self._uncalled.setdefault(first.area, Uncalled()).add((first.issued_at, seq))
        else:
            wait = self._wait[seq] = (first_call - first.issued_at).total_seconds() / 60
            if self._whole_day:
                self._waits_in_order.append(wait)
            else:
                insort(self._waits_in_order, wait)
            self._wait_sum += _scaled(wait)
            self._within += wait <= self._target(first.area)
        if last.rating is not None:
            if last.rating not in self._levels:
                self._levels.append(last.rating)
            self._rated[seq] = 1 + self._levels.index(last.rating)
            self._ratings[last.rating] += 1

    def _take_out(self, first: Ticket) -> None:
        """What was counted of the citizen whose first ticket this is."""
        seq = first.seq
        kind = self._kind[seq] - 1
        self._kind[seq] = 0
        self._citizens -= 1
        if kind != OTHER:
            self._closed[(first.area, kind)] -= 1
        wait = self._wait[seq]
        if wait == wait:
            self._wait[seq] = NAN
            del self._waits_in_order[bisect_left(self._waits_in_order, wait)]
            self._wait_sum -= _scaled(wait)
            self._within -= wait <= self._target(first.area)
        else:  # not called: in `_uncalled` (a first ticket's area and issue never change)
            self._uncalled[first.area].remove((first.issued_at, seq))
        if self._rated[seq]:
            self._ratings[self._levels[self._rated[seq] - 1]] -= 1
            self._rated[seq] = 0

    def _grow(self, seq: int) -> None:
        if seq >= len(self._kind):
            more = seq + 1 - len(self._kind) + 1024
            self._wait.extend([NAN] * more)
            for kept in (self._kind, self._rated, self._counted):
                kept.extend(bytes(more))


class Uncalled:
    """An area's citizens not called yet, as (issued_at, seq), in order. Most are called oldest first: one taken out
    at the head is stepped over, not moved out of the list (which moved the whole list, for each call, in a queue of
    thousands), and the list is cut once half of it is stepped over."""

    def __init__(self) -> None:
        self._keys: list[tuple[datetime, int]] = []
        self._head = 0  # the keys before it are taken out

    def add(self, key: tuple[datetime, int]) -> None:
        keys = self._keys
        if len(keys) == self._head or keys[-1] < key:  # a new citizen: the newest (one comparison, not a search)
            keys.append(key)
        else:
            insort(keys, key, lo=self._head)

    def remove(self, key: tuple[datetime, int]) -> None:
        """`key`, which is here."""
        head = self._head
        at = head if self._keys[head] == key else bisect_left(self._keys, key, lo=head)  # the oldest, most often
        if at > head:
            del self._keys[at]
            return
        self._head += 1
        if self._head > len(self._keys) // 2:
            del self._keys[: self._head]
            self._head = 0

    def before(self, key: tuple[datetime, int]) -> int:
        """How many come before `key`."""
        return bisect_left(self._keys, key, lo=self._head) - self._head


def _scaled(wait: float) -> int | Fraction:
    """`wait` times WAIT_SCALE, exactly (a Fraction for a wait finer than a microsecond, which no clock here gives)."""
    scaled = wait * WAIT_SCALE
    return int(scaled) if scaled.is_integer() else Fraction(wait) * WAIT_SCALE


def _chains(center: Center, tickets: Iterable[Ticket]) -> Iterator[tuple[Ticket, Ticket, datetime | None]]:
    """The citizens whose first ticket is among `tickets`, as `report/figures.citizens` makes them of the day's
    tickets not voided (a chain of transfers, its first call the earliest of its tickets'): (first ticket, last
    ticket, first call), in the order of `tickets`."""
    day, first_calls = center.tickets, center.first_calls

    def live(ticket_id: str | None) -> Ticket | None:
        found = None if ticket_id is None else day.get(ticket_id)
        return None if found is None or found.state is TicketState.VOIDED else found

    for ticket in tickets:
        if ticket.state is TicketState.VOIDED or live(ticket.transferred_from) is not None:
            continue
        first_call = first_calls.get(ticket.id, ticket.called_at)
        last = ticket
        while (step := live(last.transferred_to)) is not None:
            last = step
            call = first_calls.get(step.id, step.called_at)
            if call is not None and (first_call is None or call < first_call):
                first_call = call
        yield ticket, last, first_call


def _linked(tickets: dict[str, Ticket], ticket_id: str) -> list[Ticket]:
    """The ticket and every ticket linked to it by transfers, either way, whatever their state: a chain never
    leaves them."""
    found: dict[str, Ticket] = {}
    todo = [ticket_id]
    while todo:
        step = tickets.get(todo.pop())
        if step is None or step.id in found:
            continue
        found[step.id] = step
        todo.extend(link for link in (step.transferred_from, step.transferred_to) if link is not None)
    return list(found.values())


def _since(center: Center, counter: Counter) -> datetime | None:
    """When the counter's status began: its ticket's call while serving, else its pause, release or resume;
    None when that was not today."""
    since = counter.since
    if not counter.paused and counter.current is not None and counter.current.called_at is not None:
        since = counter.current.called_at
    return since if since is not None and center.day_of(since) == center.day else None
