"""A morning at a one-stop shop: who comes when, for what, and how the officials work.

Shared by `make demo` (which plays it on the real processes in simulated real time) and
`benchmarks/estimate_accuracy.py` (which plays it on the real service, event by event), so the two
see the same citizens and the same officials. An official is a generator of actions: it yields what
it does (press a key, wait, let the citizen rate) and is sent back what a `next` called.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PRIORITIES = ("elderly", "disabled", "pregnant", "veteran", "child_under_6")
LEVELS = (("very_satisfied", 0.58), ("satisfied", 0.36), ("dissatisfied", 0.06))


@dataclass(frozen=True, slots=True)
class Traffic:
    """A center's morning: its counters, its citizens and how long their cases take."""

    name: str
    counters: tuple[tuple[str, str, tuple[str, ...]], ...]  # (id, name, areas)
    arrivals: int
    share: dict[str, float]  # area -> share of the citizens
    service_min: dict[str, float]  # area -> median minutes at the counter
    opens: tuple[int, int] = (7, 30)
    last_arrival: tuple[int, int] = (11, 15)
    closes: tuple[int, int] = (11, 45)
    breaks: dict[str, tuple[int, int]] = field(default_factory=dict)  # counter id -> when it pauses 15 minutes
    transfers: dict[str, str] = field(default_factory=dict)  # area -> where a case of it is sometimes sent
    priority_share: float = 0.08
    no_show: float = 0.05
    transfer: float = 0.04
    rated: float = 0.75

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(self.share)


# The demo's district center: land and civil status the busiest areas, three of four counters shared.
DISTRICT = Traffic(
    name="district",
    counters=(("1", "Quầy 1", ("dat-dai",)), ("2", "Quầy 2", ("dat-dai", "xay-dung")),
              ("3", "Quầy 3", ("tu-phap", "kinh-doanh")), ("4", "Quầy 4", ("tu-phap", "ldtbxh", "bhxh"))),
    arrivals=96,
    share={"dat-dai": 0.32, "tu-phap": 0.28, "kinh-doanh": 0.10, "xay-dung": 0.10, "ldtbxh": 0.10, "bhxh": 0.10},
    service_min={"dat-dai": 6, "xay-dung": 8, "tu-phap": 5, "kinh-doanh": 6, "ldtbxh": 5, "bhxh": 4},
    breaks={"3": (9, 45)},
    transfers={"dat-dai": "tu-phap"},
)
# A busier center where nearly every counter serves several areas, two of them taking a break.
SHARED = Traffic(
    name="shared",
    counters=(("1", "Quầy 1", ("dat-dai", "xay-dung")), ("2", "Quầy 2", ("dat-dai", "tu-phap")),
              ("3", "Quầy 3", ("tu-phap", "kinh-doanh", "bhxh")), ("4", "Quầy 4", ("xay-dung", "ldtbxh")),
              ("5", "Quầy 5", ("ldtbxh", "bhxh", "kinh-doanh")), ("6", "Quầy 6", ("dat-dai",))),
    arrivals=150,
    share={"dat-dai": 0.30, "tu-phap": 0.25, "kinh-doanh": 0.10, "xay-dung": 0.12, "ldtbxh": 0.12, "bhxh": 0.11},
    service_min={"dat-dai": 7, "xay-dung": 9, "tu-phap": 5, "kinh-doanh": 6, "ldtbxh": 5, "bhxh": 4},
    breaks={"2": (9, 30), "5": (10, 0)},
    transfers={"dat-dai": "xay-dung", "tu-phap": "ldtbxh"},
)
# A commune: two officials, each receiving every area.
COMMUNE = Traffic(
    name="commune",
    counters=(("1", "Quầy 1", ("dat-dai", "tu-phap", "ldtbxh", "bhxh")),
              ("2", "Quầy 2", ("dat-dai", "tu-phap", "ldtbxh", "bhxh"))),
    arrivals=45,
    share={"dat-dai": 0.35, "tu-phap": 0.40, "ldtbxh": 0.15, "bhxh": 0.10},
    service_min={"dat-dai": 8, "tu-phap": 5, "ldtbxh": 6, "bhxh": 5},
    breaks={"2": (9, 0)},
    transfers={"dat-dai": "tu-phap"},
)


def at(day: datetime, hour_minute: tuple[int, int]) -> datetime:
    return day.replace(hour=hour_minute[0], minute=hour_minute[1], second=0, microsecond=0)


def arrivals(traffic: Traffic, day: datetime, rng: random.Random) -> list[tuple[datetime, str, str]]:
    """(time, area, priority) of every citizen: busiest in the middle of the morning."""
    start, end = at(day, traffic.opens), at(day, traffic.last_arrival)
    span = (end - start).total_seconds()
    moments = sorted(start + timedelta(seconds=span * rng.betavariate(2.2, 3.0)) for _ in range(traffic.arrivals))
    areas = rng.choices(list(traffic.share), weights=list(traffic.share.values()), k=traffic.arrivals)
    return [(m, a, rng.choice(PRIORITIES) if rng.random() < traffic.priority_share else "none")
            for m, a in zip(moments, areas, strict=True)]


# --- what an official does ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Press:
    action: str  # next, recall, skip, finish, pause, resume, transfer, dossier
    to_area: str | None = None  # transfer
    code: str | None = None  # dossier: the code the official types or scans (issue 19)


@dataclass(frozen=True, slots=True)
class Wait:
    minutes: float


@dataclass(frozen=True, slots=True)
class Rate:
    level: str


Action = Press | Wait | Rate
# Sent back after each action: the area of the ticket a `next` called, None otherwise (or nobody).
Official = Generator[Action, str | None, None]


def official(traffic: Traffic, counter_id: str, day: datetime, now: Callable[[], datetime],
             rng: random.Random) -> Official:
    """Calls, serves, sometimes recalls and skips a no-show or transfers the case, takes the center's break;
    the citizen rates most services. Runs until the driver stops asking.

    Each case served leaves its dossiers at the counter (issue 19): most one, every fifth two, every seventh none
    (a question, not a filing). Counted, not drawn: the morning's random draws are those it always had."""
    break_at = at(day, traffic.breaks[counter_id]) if counter_id in traffic.breaks else None
    served = filed = 0
    while True:
        if break_at is not None and now() >= break_at:
            break_at = None
            yield Press("pause")
            yield Wait(15)
            yield Press("resume")
        area = yield Press("next")
        if area is None:  # nobody waits
            yield Wait(1)
            continue
        if rng.random() < traffic.no_show:
            yield Wait(1.5)
            yield Press("recall")
            yield Wait(1.5)
            yield Press("skip")
            continue
        yield Wait(max(1.0, rng.lognormvariate(math.log(traffic.service_min[area]), 0.45)))
        if area in traffic.transfers and rng.random() < traffic.transfer:
            yield Press("transfer", traffic.transfers[area])
            continue
        served += 1
        for _ in range(0 if served % 7 == 0 else 2 if served % 5 == 0 else 1):
            filed += 1
            yield Press("dossier", code=dossier_code(day, counter_id, filed))
        yield Press("finish")
        if rng.random() < traffic.rated:
            yield Wait(0.2)
            yield Rate(rng.choices([level for level, _ in LEVELS], weights=[w for _, w in LEVELS])[0])


def dossier_code(day: datetime, counter_id: str, filed: int) -> str:
    """A dossier of the national form that the center's one-stop system would have printed that day: the district's
    unit code, the day, and a number of the day unique to the counter (its id, then its own count)."""
    return f"000.00.31.H12-{day:%y%m%d}-{counter_id}{filed:03d}"
