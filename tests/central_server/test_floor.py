"""The live floor counts the day as the report does (`report/figures.citizens` and `group`), counted afresh and
kept from one floor to the next (`floor.DayCount`, told what each batch changed): through issues, calls, misses
and calls again, transfers, voids, ratings, the day loaded again and a restart."""

from __future__ import annotations

import json
import math
import random
import uuid
from bisect import bisect_left, insort
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from central_server.config import load
from central_server.domain.center import Center
from central_server.floor import WAIT_SCALE, DayCount, Uncalled, _scaled, floor_state
from central_server.report.figures import RatingRow, TicketRecord, citizens, group
from central_server.report.source import center_of
from devkit.local_broker import LocalBroker
from protocol.messages import FloorState, FloorToday
from tests.central_server.test_service import Clock, Rig
from tests.harness import write_center_config

AREAS = ("dat-dai", "tu-phap", "nho")  # and "dong", closed: it issues nothing
COUNTERS = ("1", "2", "3")


def act(rig: Rig, rng: random.Random) -> None:
    """One request a center might get, drawn at random, and sometimes what its counter does next at once."""
    choice = rng.random()
    counter = rng.choice(COUNTERS)
    if choice < 0.4:
        ticket = rig.ticket(rng.choice(AREAS), kiosk=rng.choice(("k1", "k2")))
        if ticket.get("ok") and rng.random() < 0.1:  # the kiosk never printed it: voided
            body = {"v": 1, "request_id": f"c-{uuid.uuid4().hex}", "cancels": ticket["request_id"],
                    "reason": "unprinted"}
            rig.send(rig.topics.ticket_request("k1"), json.dumps(body).encode(), rig.topics.ticket_response("k1"))
    elif choice < 0.85:
        rig.command(counter, "next")
        waiting = rig.service.center.counters[counter].awaiting_rating
        if waiting is not None and rng.random() < 0.5:  # the citizen just served presses a button
            body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": waiting.id,
                    "pressed_at": rig.clock().isoformat(),
                    "level": rng.choice(("very_satisfied", "satisfied", "dissatisfied"))}
            rig.send(rig.topics.counter_rating(counter), body, None)
        then = rng.random()
        if then < 0.15:
            rig.command(counter, "skip")
        elif then < 0.3:
            rig.command(counter, "transfer", to_area=rng.choice(AREAS))
        elif then < 0.45:
            rig.command(counter, rng.choice(("start", "recall", "finish")))
    elif choice < 0.88:
        missed = [t.shown for t in rig.service.center.tickets.values() if t.state.value == "missed"]
        if missed:  # called again by number
            rig.command(counter, "call", number=rng.choice(missed))
    else:
        rig.command(counter, rng.choice(("pause", "resume", "resume")))
    rig.clock.advance(seconds=rng.randint(5, 120))


def as_the_report_counts(rig: Rig) -> tuple[FloorToday, dict[str, tuple[int, int]]]:
    """The floor's day figures and each area's served and missed, by the report's own functions."""
    center, now = rig.service.center, rig.clock()
    report = center_of(rig.config, [])
    today = [t for t in center.tickets.values() if t.state.value != "voided"]
    first_calls = {t.id: first for t in today if (first := center.first_calls.get(t.id, t.called_at)) is not None}
    ratings = [RatingRow(t.counter_id or "", t.id, t.rating) for t in today if t.rating is not None]
    people = citizens(cast("list[TicketRecord]", today), first_calls, ratings)
    targets = {a.id: a.target_wait_min for a in report.areas}
    total = group(people, report, targets, now)
    levels = {level: 0 for level in report.levels} | dict(total.ratings)
    figures = FloorToday(
        issued=total.issued, served=total.served, missed=total.missed, waiting=sum(center.waiting_counts().values()),
        mean_wait_s=None if total.mean_wait is None else round(total.mean_wait * 60),
        p90_wait_s=None if total.p90_wait is None else round(total.p90_wait * 60),
        within_target=total.within_target_share, ratings=levels, satisfied=total.satisfied_share)
    by_area = {}
    for area in rig.service.center.areas:
        of_area = group([p for p in people if p.first.area == area], report, targets, now)
        by_area[area] = (of_area.served, of_area.missed)
    return figures, by_area


@pytest.mark.parametrize("seed", range(6))
def test_the_floor_counts_the_day_as_the_reports_functions_do(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    rig = Rig(tmp_path, Clock())
    for step in range(300):
        act(rig, rng)
        if step % rng.choice((1, 7, 19)) == 0 or step == 299:
            kept = FloorState.from_wire(rig.service.floor().payload)  # the service's own, kept between floors
            afresh = floor_state(rig.service.center, center_of(rig.config, []), rig.clock())
            figures, by_area = as_the_report_counts(rig)
            for floor in (kept, afresh):
                assert floor.today == figures, f"seed {seed}, step {step}"
                assert {a.id: (a.served, a.missed) for a in floor.areas} == by_area, f"seed {seed}, step {step}"
            assert kept.counters == afresh.counters
        if step == 100:  # the day loaded again in the same service (as after a failed commit)
            center = rig.service.center
            center.restore(rig.storage.load_day(center.day, rig.config.rules.counters,
                                                rig.config.rules.policy.regular_per_priority))
        if step == 200:
            rig.restart()
    transferred = [t for t in rig.service.center.tickets.values() if t.transferred_from is not None]
    assert figures.issued > 50 and figures.served > 5 and figures.missed > 0
    assert all(n > 0 for n in figures.ratings.values()), figures.ratings
    assert transferred, "no transfer made a chain of tickets"


def test_the_waits_kept_summed_exactly_give_the_reports_mean_in_any_order() -> None:
    """The floor adds and takes out waits as citizens are called and recounted; the report sums the day's waits at
    once (`math.fsum`). Both must say the same mean to the last bit, whatever the order."""
    rng = random.Random(7)
    waits = [rng.randrange(0, 4 * 3600 * 10**6) / 10**6 / 60 for _ in range(5000)]  # to the microsecond, as kept
    waits += [1 / 60e6, 0.0, -2.5]  # the finest wait, none, and one of a clock set back
    total = sum(_scaled(w) for w in waits)
    assert isinstance(total, int)
    assert float(total / WAIT_SCALE) == math.fsum(waits)
    taken_out = rng.sample(waits, 1000)
    total -= sum(_scaled(w) for w in taken_out)
    kept = list(waits)
    for wait in taken_out:
        kept.remove(wait)
    assert float(total / WAIT_SCALE) == math.fsum(kept)
    finer = 1e-12  # finer than a microsecond: no clock here gives it, and it is still summed exactly
    assert isinstance(_scaled(finer), Fraction)
    assert float((total + _scaled(finer)) / WAIT_SCALE) == math.fsum([*kept, finer])


def test_the_citizens_not_called_are_counted_before_a_moment_as_a_sorted_list_counts_them() -> None:
    """Most are called oldest first (stepped over at the head); some out of turn (priority, cancelled)."""
    rng = random.Random(11)
    day = datetime(2026, 12, 3, 7, 30)
    uncalled, reference = Uncalled(), list[tuple[datetime, int]]()
    for seq in range(3000):
        if reference and rng.random() < 0.45:
            key = reference[0] if rng.random() < 0.8 else rng.choice(reference)
            uncalled.remove(key)
            reference.remove(key)
        else:
            key = (day + timedelta(seconds=seq * 7 - rng.randrange(0, 30)), seq)  # a clock set back now and then
            uncalled.add(key)
            insort(reference, key)
        cut = (day + timedelta(seconds=rng.randrange(0, 21_000)), -1)
        assert uncalled.before(cut) == bisect_left(reference, cut)
    end = (datetime.max, -1)
    assert uncalled.before(end) == len(reference) > 100
    for key in list(reference):
        uncalled.remove(key)
    assert uncalled.before(end) == 0



def test_a_wait_counted_again_is_kept_or_replaced_in_order(tmp_path: Path) -> None:
    """A citizen counted again takes their wait out of the day's ordered waits and puts it back: one served after
    their call keeps it, one whose chain's first call changed (set here by hand) gets the new one in its place. The
    figures kept equal those counted afresh."""
    config = load(write_center_config(tmp_path, LocalBroker(tmp_path), "waits"))
    report = center_of(config, [])
    start = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    center = Center(config.rules, start)
    kept = DayCount(report)
    tickets = [center.issue("dat-dai", "none", start, "k1").ticket for _ in range(3)]
    for minutes, counter in ((10, "1"), (20, "2"), (30, "1")):
        center.next(counter, start + timedelta(minutes=minutes))
    kept.follow(center)
    later = start + timedelta(hours=1)

    def afresh() -> FloorToday:
        fresh = DayCount(report)
        fresh.follow(center)
        return fresh.today(center, later, report)

    assert kept.today(center, later, report) == afresh()
    center.finish("2", later)  # the second served: counted again, its wait as it was
    kept.changed([tickets[1].id])
    kept.follow(center)
    assert kept.today(center, later, report) == afresh()
    center.first_calls[tickets[0].id] = start + timedelta(minutes=50)  # the first's wait, 10 minutes, now 50
    kept.changed([tickets[0].id])
    kept.follow(center)
    today = kept.today(center, later, report)
    assert today == afresh() and today.mean_wait_s == round((50 + 20 + 30) / 3 * 60)
