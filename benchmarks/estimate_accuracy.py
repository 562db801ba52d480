"""`make bench`: how true the wait printed on each ticket is, against the wait that followed.

Several mornings (the demo's traffic, several seeds) at three centers: the demo's district center
(three of its four counters serve several areas), a busier one where nearly every counter is
shared, and a commune of two officials who receive everything; with breaks, no-shows and transfers.
Each morning is played event by event on the real `CenterService` (its domain and a real SQLite file),
on a simulated clock, with the same citizens and officials as `make demo` (devkit/morning.py):
every ticket's estimate is the server's reply, as the kiosk prints it (whole minutes, or "ngay"), and
its real wait runs from the issue to the first call.

One JSON line per center: the median absolute error in minutes, the median absolute percentage error
(errors relative to the real wait, a wait under 5 minutes counted as 5, so that "about 2 minutes"
for a 30-second wait is not a 300 % lie; the same over the waits of 5 minutes and more is printed too),
the bias (the printed minutes summed against the waited minutes summed) and the share within ±5
minutes. Target: median absolute percentage error ≤ 25 % and bias within ±10 % at every center.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from central_server.config import load
from central_server.service import CenterService
from central_server.storage import open_storage
from devkit import morning
from devkit.morning import Official, Press, Rate, Traffic, Wait
from kiosk.model import wait_minutes
from protocol.link import Message
from protocol.messages import WAIT_FREE_COUNTER, WAIT_NO_COUNTER, CounterCommand, Rating, Status, TicketRequest
from protocol.topics import Topics

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2026, 12, 2, 7, 25, tzinfo=ZONE)  # a Wednesday
PRESS_S = 3.0  # a key press to the server and back, as the demo's terminals take (simulated seconds)
FLOOR_MIN = 5.0  # waits shorter than this count as this long in the percentage error
SEEDS = 6
AREA_NAMES = {"dat-dai": "Đất đai", "xay-dung": "Xây dựng", "tu-phap": "Tư pháp – Hộ tịch",
              "kinh-doanh": "Đăng ký kinh doanh", "ldtbxh": "Lao động – Thương binh và Xã hội",
              "bhxh": "Bảo hiểm xã hội"}
PREFIXES = {"dat-dai": ("", 1001, 1999), "xay-dung": ("", 2001, 2999), "tu-phap": ("B", 1, 999),
            "kinh-doanh": ("C", 1, 999), "ldtbxh": ("D", 1, 999), "bhxh": ("E", 1, 999)}


def center_toml(folder: Path, traffic: Traffic) -> Path:
    areas = "".join(f'[[areas]]\nid = "{a}"\nname = "{AREA_NAMES[a]}"\nprefix = "{PREFIXES[a][0]}"\n'
                    f"first = {PREFIXES[a][1]}\nlast = {PREFIXES[a][2]}\n\n" for a in traffic.areas)
    counters = "".join(f'[[counters]]\nid = "{c}"\nname = "{name}"\nareas = {json.dumps(list(served))}\n\n'
                       for c, name, served in traffic.counters)
    path = folder / "center.toml"
    path.write_text(
        f'[center]\nid = "do-chinh-xac"\nname = "Bộ phận một cửa ({traffic.name})"\n\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:1"\n\n[storage]\nurl = "sqlite:///{folder / "center.db"}"\n\n'
        f'[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\n\n{areas}{counters}',
        encoding="utf-8")
    return path


@dataclass
class Printed:
    """One ticket as the kiosk printed it, and when it was first called."""

    issued_at: datetime
    minutes: int | None  # None: no estimate was printed (no counter served the area)
    called_at: datetime | None = None


@dataclass
class Morning:
    """One morning at one center, played event by event on the real service."""

    traffic: Traffic
    seed: int
    folder: Path
    now: datetime = DAY
    printed: dict[str, Printed] = field(default_factory=dict)
    _queue: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    _order: int = 0

    def __post_init__(self) -> None:
        config = load(center_toml(self.folder, self.traffic))
        self.service = CenterService(config, open_storage(config), lambda: self.now)
        self.topics = Topics(config.center_id)
        self._ids = (f"{n:08d}" for n in range(10**8))
        self._last_served: dict[str, str] = {}
        self._closes = morning.at(DAY, self.traffic.closes)

    def play(self) -> None:
        rng = random.Random(self.seed)
        for counter_id, _, _ in self.traffic.counters:  # every terminal is online from the start
            status = Status(True, {"server": True}).to_wire()
            self._send(self.topics.device_status(f"counter-{counter_id}"), status, None, retained=True)
            plan = morning.official(self.traffic, counter_id, DAY, lambda: self.now, random.Random(rng.random()))
            self._at(DAY, "official", (counter_id, plan, None))
        for moment, area, priority in morning.arrivals(self.traffic, DAY, random.Random(rng.random())):
            self._at(moment, "citizen", (area, priority))
        while self._queue:
            self.now, _, kind, what = heapq.heappop(self._queue)
            if kind == "citizen":
                self._take_ticket(*what)
            elif self.now < self._closes:
                self._step(*what)

    def _at(self, moment: datetime, kind: str, what: Any) -> None:
        self._order += 1
        heapq.heappush(self._queue, (moment, self._order, kind, what))

    def _take_ticket(self, area: str, priority: str) -> None:
        reply = self._request(self.topics.ticket_request("k1"), TicketRequest(next(self._ids), area, priority))
        ticket = reply["ticket"]
        basis = ticket.get("wait_basis")
        minutes = (None if basis == WAIT_NO_COUNTER else 0 if basis == WAIT_FREE_COUNTER
                   else wait_minutes(ticket["estimated_wait_s"]))
        self.printed[ticket["id"]] = Printed(self.now, minutes)

    def _step(self, counter_id: str, plan: Official, answer: str | None) -> None:
        action = plan.send(answer)  # a new plan takes None as its first `next`
        if isinstance(action, Wait):
            self._at(self.now + timedelta(minutes=action.minutes), "official", (counter_id, plan, None))
            return
        if isinstance(action, Press) and action.action == "dossier":  # typed while the case is handled: no time
            self._press(counter_id, action)
            self._at(self.now, "official", (counter_id, plan, None))
            return
        self.now += timedelta(seconds=PRESS_S)
        if isinstance(action, Rate):
            rating = Rating(next(self._ids), self._last_served[counter_id], action.level, self.now)
            self._send(self.topics.counter_rating(counter_id), rating.to_wire(), None)
            self._at(self.now, "official", (counter_id, plan, None))
            return
        self._at(self.now, "official", (counter_id, plan, self._press(counter_id, action)))

    def _press(self, counter_id: str, press: Press) -> str | None:
        command = CounterCommand(next(self._ids), press.action, to_area=press.to_area, code=press.code)
        reply = self._request(self.topics.counter_command(counter_id), command)
        ticket = reply.get("ticket")
        if not reply["ok"] or ticket is None:
            return None
        if press.action == "finish":
            self._last_served[counter_id] = ticket["id"]
        if press.action != "next":
            return None
        called = self.printed.get(ticket["id"])
        if called is not None and called.called_at is None:
            called.called_at = self.now
        return str(ticket["area"])

    def _request(self, topic: str, request: TicketRequest | CounterCommand) -> dict[str, Any]:
        response = topic.rsplit("/", 1)[0] + "/response"
        reply: dict[str, Any] = json.loads(self._send(topic, request.to_wire(), response)[0])
        return reply

    def _send(self, topic: str, payload: bytes, response: str | None, *, retained: bool = False) -> list[bytes]:
        out = self.service.handle_batch([Message(topic, payload, response, b"c" if response else None, retained)])
        return [o.payload for o in out if response is not None and o.topic == response]


def figures(printed: list[Printed]) -> dict[str, Any]:
    judged = [(p.minutes, (p.called_at - p.issued_at).total_seconds() / 60) for p in printed
              if p.minutes is not None and p.called_at is not None]
    errors = [shown - real for shown, real in judged]
    waited = sum(real for _, real in judged)
    long_waits = [abs(shown - real) / real for shown, real in judged if real >= FLOOR_MIN]
    return {
        "tickets": len(printed),
        "judged": len(judged),
        "no_estimate": sum(1 for p in printed if p.minutes is None),
        "never_called": sum(1 for p in printed if p.called_at is None),
        "median_abs_error_min": round(statistics.median(abs(e) for e in errors), 2),
        "median_abs_pct_error": round(100 * statistics.median(abs(s - r) / max(r, FLOOR_MIN) for s, r in judged), 1),
        "median_abs_pct_error_waits_over_5_min": round(100 * statistics.median(long_waits), 1) if long_waits else None,
        "bias_pct": round(100 * sum(errors) / waited, 1) if waited else 0.0,
        "mean_error_min": round(statistics.fmean(errors), 2),
        "within_5_min": round(sum(1 for e in errors if abs(e) <= 5) / len(errors), 3),
        "mean_wait_min": round(waited / len(judged), 1),
    }


def mornings(traffic: Traffic, seeds: int) -> Iterator[list[Printed]]:
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(prefix="qms-estimate-") as folder:
            day = Morning(traffic, 1000 * seed + 7, Path(folder))
            day.play()
            yield list(day.printed.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    args = parser.parse_args(argv)
    for traffic in (morning.DISTRICT, morning.SHARED, morning.COMMUNE):
        printed = [ticket for day in mornings(traffic, args.seeds) for ticket in day]
        result = {"name": f"estimate_accuracy_{traffic.name}", "mornings": args.seeds,
                  "counters": len(traffic.counters),
                  "shared_counters": sum(1 for _, _, areas in traffic.counters if len(areas) > 1),
                  **figures(printed), "target_pct_error": 25, "target_bias_pct": 10}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
