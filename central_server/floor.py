"""The manager's live floor (the retained `floor`), built from the center's state: pure, no I/O.

Its day figures are the report's (`report/figures.py`): one citizen is one chain of tickets, the wait runs
from the issue to the first call, the share within target and the satisfied share are counted the same way.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections import defaultdict
from datetime import datetime
from typing import cast

from central_server.domain.center import Center
from central_server.domain.counters import Counter
from central_server.domain.tickets import TicketState
from central_server.report.figures import Citizen, RatingRow, ReportCenter, TicketRecord, citizens, group
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
    today = [t for t in center.tickets.values() if t.state is not TicketState.VOIDED]
    first_calls = {t.id: first for t in today if (first := center.first_calls.get(t.id, t.called_at)) is not None}
    ratings = [RatingRow(t.counter_id or "", t.id, t.rating) for t in today if t.rating is not None]
    # The live tickets themselves as the report's records: they have its fields (a state is a StrEnum, equal to
    # its value), and a copy of each (`record_of`) took 17 MB more at 100,000 tickets each time the floor was built.
    people = citizens(cast("list[TicketRecord]", today), first_calls, ratings)
    targets = {a.id: a.target_wait_min for a in report.areas}
    for person in people:
        targets.setdefault(person.first.area, 30)
    total = group(people, report, targets, now)
    served = Tally(t.counter_id for t in today if t.state is TicketState.SERVED)
    by_area: dict[str, list[Citizen]] = defaultdict(list)
    for person in people:
        by_area[person.first.area].append(person)
    areas = []
    for area in center.areas.values():
        of_area = group(by_area[area.id], report, targets, now)
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


def _since(center: Center, counter: Counter) -> datetime | None:
    """When the counter's status began: its ticket's call while serving, else its pause, release or resume;
    None when that was not today."""
    since = counter.since
    if not counter.paused and counter.current is not None and counter.current.called_at is not None:
        since = counter.current.called_at
    return since if since is not None and center.day_of(since) == center.day else None
