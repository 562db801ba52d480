"""The citizen web's retained `queue`, built from the center's queue plan: pure, no I/O.

Each area's waiting tickets of the day in call order, `[seq, estimated_wait_s]` (an entry's index is how many
wait ahead of it), and the tickets called or served now. A phone page finds its own ticket in it by the seq
its look-up gave, so thousands of phones follow the queue from one retained message instead of asking.
"""

from __future__ import annotations

from central_server.domain.center import Center, QueuePlan
from central_server.domain.tickets import TicketState
from protocol.messages import MAX_PAYLOAD, CalledNow, QueueSnapshot

CUT_STEP = 0.9  # each try past MAX_PAYLOAD keeps this share of what the last one kept


def queue_snapshot(center: Center, plan: QueuePlan, limit: int = MAX_PAYLOAD) -> QueueSnapshot:
    """The snapshot of `plan` (made by `center.queue_plan`), at most `limit` bytes on the wire: past it each
    area's tail is cut in the same proportion, and `truncated` says how many each area left off."""
    waiting = {area: tuple((w.ticket.seq, w.seconds) for w in entries if w.ticket.day == center.day)
               for area, entries in plan.areas.items()}
    called = tuple(sorted(
        (CalledNow(t.seq, c.id, t.called_at, t.calls) for c in center.counters.values()
         if (t := c.current) is not None and t.day == center.day and t.called_at is not None
         and t.state in (TicketState.CALLED, TicketState.SERVING)),
        key=lambda call: (call.called_at, call.seq)))
    snapshot = QueueSnapshot(plan.at, center.day, waiting, called)
    size = len(snapshot.to_wire())
    share = limit / size if size else 1.0
    while size > limit and any(waiting.values()):
        share *= CUT_STEP
        kept = {area: entries[: int(len(entries) * share)] for area, entries in waiting.items()}
        truncated = {area: len(waiting[area]) - len(entries) for area, entries in kept.items()
                     if len(entries) < len(waiting[area])}
        snapshot = QueueSnapshot(plan.at, center.day, kept, called, truncated)
        size = len(snapshot.to_wire())
    return snapshot
