"""The manager's live floor (the retained `floor`), built from the center's state: pure, no I/O.

Its day figures are the report's (`report/figures.py`): one citizen is one chain of tickets, the wait runs
from the issue to the first call, the share within target and the satisfied share are counted the same way.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime
from typing import cast

from central_server.domain.center import Center
from central_server.domain.counters import Counter
from central_server.domain.tickets import Ticket, TicketState
from central_server.report.figures import GroupTally, ReportCenter, TicketRecord
from protocol.messages import (
    MAX_PAYLOAD,
    FloorArea,
    FloorCounter,
    FloorDevice,
    FloorState,
    FloorToday,
    Official,
)


def floor_state(center: Center, report: ReportCenter, now: datetime) -> FloorState:
    """The floor as it is `now`. The first call of a ticket is its `called_at` until it is called again, then the
    one before (`Center.first_calls`). A citizen called again by number after a restart counts from the last call
    before it (the event log is not read for a live view): the first, unless they were called twice before."""
    targets = {a.id: a.target_wait_min for a in report.areas}
    everyone = GroupTally(targets, now)
    by_area = {area: GroupTally(targets, now) for area in center.areas}
    for first, last, first_call in _citizens(center):
        targets.setdefault(first.area, 30)
        # The live tickets themselves are the report's records: they have its fields (a state is a StrEnum, equal
        # to its value), and a copy of each (`record_of`) took 17 MB more at 100,000 tickets at every floor.
        channel = None if last.rating is None else "buttons"  # a live rating is the terminal's, never late
        for tally in (everyone, by_area.get(first.area)):
            if tally is not None:
                tally.add(cast("TicketRecord", first), cast("TicketRecord", last), first_call, last.rating, False,
                          channel)
    total = everyone.group(report)
    served = Tally(t.counter_id for t in center.tickets.values() if t.state is TicketState.SERVED)
    areas = []
    for area in center.areas.values():
        of_area = by_area[area.id].group(report)
        waiting, priority, oldest = center.queue_of(area.id)
        areas.append(FloorArea(area.id, area.name, waiting, priority, oldest, of_area.served, of_area.missed,
                               area.target_wait_min * 60, area.open))
    counters = tuple(FloorCounter(c.id, c.spec.name, c.status.value, _since(center, c), served[c.id],
                                  None if c.official is None else Official(c.official.username, c.official.name))
                     for c in center.counters.values())
    levels = Tally({level: 0 for level in report.levels})
    levels.update(total.ratings)
    figures = FloorToday(
        issued=total.issued, served=total.served, missed=total.missed,
        waiting=sum(center.waiting_counts().values()),
        mean_wait_s=None if total.mean_wait is None else round(total.mean_wait * 60),
        p90_wait_s=None if total.p90_wait is None else round(total.p90_wait * 60),
        within_target=total.within_target_share, ratings=dict(levels), satisfied=total.satisfied_share)
    # Offline devices and printers in trouble first: what the manager must see if the list has to be cut.
    devices = sorted((FloorDevice(device, online, center.device_since.get(device), printer)
                      for device, (online, printer) in center.devices.items()),
                     key=lambda d: (d.online, d.printer in (None, "ready", "paper_low"), d.id))
    floor = FloorState(now, counters, tuple(areas), tuple(devices), figures)
    while len(floor.devices) and len(floor.to_wire()) > MAX_PAYLOAD:  # bounded as every message is
        floor = FloorState(now, counters, tuple(areas), floor.devices[: len(floor.devices) * 3 // 4], figures)
    return floor


def _citizens(center: Center) -> Iterator[tuple[Ticket, Ticket, datetime | None]]:
    """Each citizen of the day as `report/figures.citizens` makes them of the tickets not voided (a chain of
    transfers, its first call the earliest of its tickets'), as (first ticket, last ticket, first call), without
    making a `Citizen` of each: in the order the tickets were issued, which is the report's unless the clock went
    back during the day."""
    tickets = center.tickets
    first_calls = center.first_calls

    def live(ticket_id: str | None) -> Ticket | None:
        found = None if ticket_id is None else tickets.get(ticket_id)
        return None if found is None or found.state is TicketState.VOIDED else found

    for ticket in tickets.values():
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


def _since(center: Center, counter: Counter) -> datetime | None:
    """When the counter's status began: its ticket's call while serving, else its pause, release or resume;
    None when that was not today."""
    since = counter.since
    if not counter.paused and counter.current is not None and counter.current.called_at is not None:
        since = counter.current.called_at
    return since if since is not None and center.day_of(since) == center.day else None
