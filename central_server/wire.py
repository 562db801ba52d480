"""What the server publishes, built from the domain: the retained state (the config, the board, each counter),
the calls, and the ticket views its replies carry. No MQTT and no storage: the service sends what these make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from central_server.config import CenterConfig, config_message
from central_server.domain.center import CallRecord, Center, Changes
from central_server.domain.counters import Counter
from central_server.domain.tickets import Ticket
from central_server.floor import DayCount, floor_state
from central_server.report.source import center_of
from protocol.messages import (
    BoardState,
    Call,
    CounterStateMessage,
    DossierTarget,
    LastRating,
    Official,
    RatingWindow,
    TicketView,
)
from protocol.record import record
from protocol.topics import Topics


@record
class Outbound:
    topic: str
    payload: bytes
    retain: bool = False
    correlation: bytes | None = None


class Wire:
    def __init__(self, config: CenterConfig, former: Sequence[Mapping[str, Any]] = ()) -> None:
        """`former`: the live configuration's earlier documents, newest first: they name the areas and counters
        the center no longer has (a call made at a counter since removed) and the levels it had (the floor)."""
        self._config = config
        self._topics = Topics(config.center_id)
        self._report_center = center_of(config, former)
        self._area_names = {a.id: a.name for a in self._report_center.areas}
        self._counter_names = {c.id: c.name for c in self._report_center.counters}
        self.day_count = DayCount(self._report_center)  # the floor's, kept between floors: told what batches changed

    def config(self) -> Outbound:
        return Outbound(self._topics.config(), config_message(self._config).to_wire(), retain=True)

    def day_state(self, center: Center) -> list[Outbound]:
        """The board and every counter, as they are now."""
        return [self.board(center), *(self.counter(c, center.dossier_target(c)) for c in center.counters.values())]

    def changed(self, center: Center, changes: Changes) -> list[Outbound]:
        """What a batch changed: its counters, its calls, and the board when it changed."""
        out = [self.counter(c, center.dossier_target(c)) for c in changes.counters.values()]
        out.extend(Outbound(self._topics.board_call(), self.call(center, c).to_wire()) for c in changes.calls)
        if changes.board_changed or changes.calls:
            out.append(self.board(center))
        return out

    def floor(self, center: Center, now: datetime) -> Outbound:
        """The manager's live floor (an extension, retained)."""
        floor = floor_state(center, self._report_center, now, self.day_count)
        return Outbound(self._topics.floor(), floor.to_wire(), retain=True)

    def board(self, center: Center) -> Outbound:
        board = BoardState(tuple(self.call(center, c) for c in center.recent_calls), center.waiting_counts())
        return Outbound(self._topics.board_state(), board.to_wire(), retain=True)

    def counter(self, counter: Counter, dossier_target: Ticket | None = None) -> Outbound:
        """A counter's retained state; `dossier_target`: the ticket its `dossier` command attaches to."""
        awaiting = counter.awaiting_rating
        rating = None
        if awaiting is not None and awaiting.rating_until is not None:
            rating = RatingWindow(awaiting.id, awaiting.shown, awaiting.rating_until)
        message = CounterStateMessage(
            counter_id=counter.id,
            counter_name=counter.spec.name,
            status=counter.status.value,
            ticket=None if counter.current is None else self.view(counter.current, id_tail=counter.current.id_tail),
            rating=rating,
            official=None if counter.official is None else Official(counter.official.username, counter.official.name),
            last_rating=None if (last := counter.last_rating) is None else LastRating(last.ticket_id, last.number,
                                                                                      last.level),
            dossiers=None if dossier_target is None else DossierTarget(
                dossier_target.id, dossier_target.shown, tuple(d.code for d in dossier_target.dossiers)),
        )
        return Outbound(self._topics.counter_state(counter.id), message.to_wire(), retain=True)

    def call(self, center: Center, call: CallRecord) -> Call:
        counter = center.counters.get(call.counter_id)
        return Call(
            number=call.number,
            counter_id=call.counter_id,
            counter_name=counter.spec.name if counter else self._counter_names.get(call.counter_id, call.counter_id),
            area=call.area,
            recall=call.recall,
            called_at=call.called_at,
            area_name=self._area_names.get(call.area, call.area),
            ticket_id=call.ticket_id,
        )

    def view(self, ticket: Ticket, **extra: Any) -> TicketView:
        return TicketView(
            id=ticket.id, number=ticket.shown, area=ticket.area,
            area_name=self._area_names.get(ticket.area, ticket.area), issued_at=ticket.issued_at,
            priority=ticket.priority, state=ticket.state.value, counter_id=ticket.counter_id, calls=ticket.calls,
            channel=ticket.channel, slot_start=ticket.since if ticket.slot_end is not None else None,
            slot_end=ticket.slot_end, booking=ticket.booking, dossiers=tuple(d.code for d in ticket.dossiers), **extra,
        )
