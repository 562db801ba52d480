"""Property tests: random sequences of requests and commands keep the center's invariants."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from central_server.domain.areas import Area
from central_server.domain.center import Center, CenterRules
from central_server.domain.counters import CounterSpec
from central_server.domain.errors import DomainError
from central_server.domain.policies import QueuePolicy
from central_server.domain.tickets import HOLDS_NUMBER, Ticket, TicketState

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AREAS = (Area("a", "Đất đai", 1, 5), Area("b", "Hộ tịch", 1, 9, prefix="B"), Area("c", "Kinh doanh", 10, 14))
COUNTERS = (
    CounterSpec("1", "Quầy 1", ("a",)),
    CounterSpec("2", "Quầy 2", ("a", "b")),
    CounterSpec("3", "Quầy 3", ("b", "c")),
)
PRIORITIES = st.sampled_from(["none", "none", "none", "elderly", "disabled"])
AREA_IDS = st.sampled_from([a.id for a in AREAS])
COUNTER_IDS = st.sampled_from([c.id for c in COUNTERS])


def better(x: Ticket, y: Ticket) -> bool:
    """Under the strict policy x must be called before y."""
    return (x.is_priority, y.queue_key) > (y.is_priority, x.queue_key)


class CenterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 11, 23, 7, 30, tzinfo=HCM)
        rules = CenterRules(AREAS, COUNTERS, HCM, time(0), QueuePolicy(max_calls=2), ("ok", "bad"),
                            timedelta(seconds=120))
        self.center = Center(rules, self.now)

    def tick(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now

    def attempt(self, action: object) -> object:
        """Run a command; a refusal must leave no change behind."""
        self.center.take_changes()
        try:
            return action()  # type: ignore[operator]
        except DomainError as refused:
            assert refused.code and refused.message
            assert not self.center.take_changes(), f"refused {refused.code} but changed state"
            return None

    @rule(area=AREA_IDS, priority=PRIORITIES)
    def issue(self, area: str, priority: str) -> None:
        self.attempt(lambda: self.center.issue(area, priority, self.tick()))

    @rule(counter=COUNTER_IDS)
    def next(self, counter: str) -> None:
        spec = self.center.counters[counter].spec
        waiting = [t for t in self.center.tickets.values() if t.state is TicketState.WAITING and t.area in spec.areas]
        called = self.attempt(lambda: self.center.next(counter, self.tick()))
        if isinstance(called, Ticket):
            assert not any(better(t, called) for t in waiting if t is not called), "priority/FIFO order broken"
        elif not self.center.counters[counter].paused:
            assert not waiting

    @rule(counter=COUNTER_IDS, action=st.sampled_from(["recall", "skip", "finish", "start", "pause", "resume"]))
    def command(self, counter: str, action: str) -> None:
        self.attempt(lambda: getattr(self.center, action)(counter, self.tick()))

    @rule(counter=COUNTER_IDS, area=AREA_IDS)
    def transfer(self, counter: str, area: str) -> None:
        self.attempt(lambda: self.center.transfer(counter, area, self.tick()))

    @precondition(lambda self: bool(self.center.tickets))
    @rule(counter=COUNTER_IDS, data=st.data())
    def call_number(self, counter: str, data: st.DataObject) -> None:
        shown = data.draw(st.sampled_from(sorted({t.shown for t in self.center.tickets.values()})))
        self.attempt(lambda: self.center.call_number(counter, shown, self.tick()))

    @rule(counter=COUNTER_IDS, level=st.sampled_from(["ok", "bad"]), data=st.data())
    def rate(self, counter: str, level: str, data: st.DataObject) -> None:
        ids = sorted(self.center.tickets)
        ticket = self.center.ticket(data.draw(st.sampled_from(ids))) if ids else None
        now = self.tick()
        before = ticket.rating if ticket else None
        self.attempt(lambda: self.center.rate(counter, f"r{now.timestamp()}", ticket, level, now, now))
        if ticket is not None and before is not None:
            assert ticket.rating == before, "a ticket was rated twice"

    def areas_held(self, ticket: Ticket) -> set[str]:
        """Its own area and every area it was transferred from: the citizen holds the number there."""
        areas = set()
        step: Ticket | None = ticket
        while step is not None:
            areas.add(step.area)
            step = self.center.tickets.get(step.transferred_from) if step.transferred_from else None
        return areas

    @invariant()
    def no_two_tickets_holding_a_number_share_it_in_an_area(self) -> None:
        held = Tally(
            (area, t.shown)
            for t in self.center.tickets.values()
            if t.state in HOLDS_NUMBER
            for area in self.areas_held(t)
        )
        assert all(n == 1 for n in held.values()), held

    @invariant()
    def tickets_at_counters_match_the_counters(self) -> None:
        at_counters = {t.id for t in self.center.tickets.values() if t.state in (TicketState.CALLED,
                                                                                   TicketState.SERVING)}
        current = [c.current.id for c in self.center.counters.values() if c.current is not None]
        assert sorted(current) == sorted(at_counters)
        for counter in self.center.counters.values():
            if counter.current is not None:
                assert counter.current.counter_id == counter.id

    @invariant()
    def waiting_counts_match_the_waiting_tickets(self) -> None:
        waiting = Tally(t.area for t in self.center.tickets.values() if t.state is TicketState.WAITING)
        assert self.center.waiting_counts() == {a.id: waiting.get(a.id, 0) for a in AREAS}

    @invariant()
    def every_transfer_is_continued_by_exactly_one_ticket(self) -> None:
        for ticket in self.center.tickets.values():
            if ticket.state is TicketState.TRANSFERRED:
                assert ticket.transferred_to is not None
                follower = self.center.tickets[ticket.transferred_to]
                assert follower.transferred_from == ticket.id and follower.shown == ticket.shown

    @invariant()
    def every_ticket_is_in_a_known_state(self) -> None:
        assert all(isinstance(t.state, TicketState) for t in self.center.tickets.values())


CenterMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestCenterProperties = CenterMachine.TestCase
