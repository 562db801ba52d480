"""The staff console's requests through the service on a real SQLite file: seats, attribution, limits, the floor."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from central_server.domain.limits import Limits
from central_server.report.command import make_report
from central_server.storage.sqlite import MIGRATIONS, SqliteStorage
from protocol.messages import FloorState
from tests.central_server.test_service import Clock, Rig, reply_of
from tests.harness import sqlite_file

LAN = {"official": "lan.nt", "official_name": "Nguyễn Thị Lan"}
BINH = {"official": "binh.tt", "official_name": "Trần Thị Bình"}


class ConsoleRig(Rig):
    def console(self, counter: str, action: str, who: dict[str, str] = LAN, console: str = "c1",
                request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "counter": counter, "action": action,
                **who, **extra}
        out = self.send(self.topics.console_request(console), body, self.topics.console_response(console))
        return reply_of(out, self.topics.console_response(console))

    def state(self, counter: str) -> dict[str, Any]:
        retained = {o.topic: o.payload for o in self.service.retained_state()}
        decoded: dict[str, Any] = json.loads(retained[self.topics.counter_state(counter)])
        return decoded

    def events(self, kind: str) -> list[tuple[str | None, dict[str, Any]]]:
        return [(e.counter_id, e.detail) for e in self.storage.events(kind)]


@pytest.fixture
def rig(tmp_path: Path) -> ConsoleRig:
    return ConsoleRig(tmp_path, Clock())


def test_a_console_seats_an_official_and_both_the_page_and_the_keypad_act_in_their_name(rig: ConsoleRig) -> None:
    for _ in range(3):
        rig.ticket("dat-dai")
    seated = rig.console("1", "sit")
    assert seated == {"v": 1, "request_id": seated["request_id"], "ok": True, "ticket": None, "status": "idle"}
    assert rig.state("1")["official"] == {"username": "lan.nt", "name": "Nguyễn Thị Lan"}
    by_page = rig.console("1", "next")
    by_keypad = rig.command("1", "next")
    assert by_page["ok"] and by_keypad["ok"]
    assert [(c, d["official"]) for c, d in rig.events("called")] == [("1", "lan.nt"), ("1", "lan.nt")]
    assert [d["official"] for _, d in rig.events("served")] == ["lan.nt"]
    assert rig.events("seated") == [("1", {"name": "Nguyễn Thị Lan", "official": "lan.nt"})]


def test_a_keypad_with_nobody_seated_names_nobody(rig: ConsoleRig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    assert [d["official"] for _, d in rig.events("called")] == [None]
    assert "official" not in rig.state("1")


def test_a_counter_action_from_the_console_seats_its_official_and_another_takes_over(rig: ConsoleRig) -> None:
    rig.ticket("dat-dai")
    rig.console("1", "sit")
    rig.console("1", "next", who=BINH)
    assert rig.state("1")["official"]["username"] == "binh.tt"
    assert [(d["official"], d["reason"]) for _, d in rig.events("left")] == [("lan.nt", "replaced")]
    assert [d["official"] for _, d in rig.events("called")] == ["binh.tt"]


def test_an_official_sits_at_one_counter_at_a_time(rig: ConsoleRig) -> None:
    rig.console("1", "sit")
    rig.console("2", "sit")
    assert "official" not in rig.state("1")
    assert rig.state("2")["official"]["username"] == "lan.nt"
    assert [(c, d["reason"]) for c, d in rig.events("left")] == [("1", "moved")]


def test_only_the_official_sitting_there_may_leave(rig: ConsoleRig) -> None:
    assert rig.console("1", "leave")["error"]["code"] == "not_seated"
    rig.console("1", "sit")
    refused = rig.console("1", "leave", who=BINH)
    assert refused["ok"] is False and refused["error"] == {"code": "not_seated",
                                                           "message": "Cán bộ không ngồi tại quầy này."}
    assert rig.state("1")["official"]["username"] == "lan.nt"
    assert rig.console("1", "leave")["ok"] is True
    assert "official" not in rig.state("1")


def test_a_refused_console_action_changes_no_seat_and_records_nothing(rig: ConsoleRig) -> None:
    rig.console("1", "pause", who=BINH)
    before = rig.storage.totals().events
    refused = rig.console("1", "next")  # paused: refused, and Lan does not take the seat meanwhile
    assert refused["error"]["code"] == "counter_paused"
    assert rig.state("1")["official"]["username"] == "binh.tt"
    assert rig.storage.totals().events == before


@pytest.mark.parametrize(
    ("change", "code"),
    [({"counter": "9"}, "unknown_counter"), ({"official": "X"}, "bad_request"), ({"official_name": ""}, "bad_request"),
     ({"action": "cancel", "cancels": "r1"}, "bad_request"), ({"action": "transfer"}, "bad_request"),
     ({"action": "transfer", "to_area": "khong-co"}, "no_current_ticket")],
)
def test_bad_console_requests_are_refused_and_change_nothing(rig: ConsoleRig, change: dict[str, Any],
                                                             code: str) -> None:
    rig.ticket("dat-dai")
    before = rig.storage.totals().events
    body = {"v": 1, "request_id": uuid.uuid4().hex, "counter": "1", "action": "next", **LAN, **change}
    out = rig.send(rig.topics.console_request("c1"), body, rig.topics.console_response("c1"))
    reply = reply_of(out, rig.topics.console_response("c1"))
    assert reply["ok"] is False and reply["error"]["code"] == code
    assert rig.storage.totals().events == before
    assert "official" not in rig.state("1")


def test_a_console_reply_goes_only_under_its_own_subtree(rig: ConsoleRig) -> None:
    body = {"v": 1, "request_id": "q1", "counter": "1", "action": "sit", **LAN}
    assert rig.send(rig.topics.console_request("c1"), body, rig.topics.console_response("c2")) == []
    assert rig.send(rig.topics.console_request("c1"), body, rig.topics.counter_command_response("1")) == []
    assert "official" not in rig.state("1")


def test_a_retried_console_request_gets_its_first_answer_and_acts_once(rig: ConsoleRig) -> None:
    rig.ticket("dat-dai")
    rig.ticket("dat-dai")
    first = rig.console("1", "next", request_id="same")
    assert rig.console("1", "next", request_id="same") == first
    assert len(rig.events("called")) == 1
    other_console = rig.console("1", "next", console="c2", request_id="same")  # idempotency is per console
    assert other_console["ticket"]["number"] != first["ticket"]["number"]


def test_a_console_is_limited_per_counter_as_a_keypad_is(rig: ConsoleRig) -> None:
    burst = int(max(10, Limits().commands_per_minute / 4))
    answers = [rig.console("1", "pause" if i % 2 else "resume") for i in range(burst + 1)]
    assert [a["ok"] for a in answers[:burst]] == [True] * burst
    assert answers[burst]["error"]["code"] == "too_many_requests"
    assert rig.console("2", "pause")["ok"] is True  # another counter of the same console has its own


def test_the_seat_and_the_last_rating_survive_a_restart_and_end_with_the_day(rig: ConsoleRig) -> None:
    rig.ticket("dat-dai")
    rig.console("1", "next")
    served = rig.console("1", "finish")["ticket"]
    assert rig.rate("1", served["id"], rig.clock.now)["ok"] is True
    state = rig.state("1")
    assert state["last_rating"] == {"ticket_id": served["id"], "number": served["number"], "level": "satisfied"}
    rig.restart()
    assert rig.state("1") == state
    rig.ticket("dat-dai")
    rig.command("1", "next")
    assert "last_rating" not in rig.state("1")  # gone with the next call
    rig.clock.advance(days=1)
    rig.service.tick()
    assert "official" not in rig.state("1")
    rig.restart()
    assert "official" not in rig.state("1")


def test_a_database_of_the_first_schema_is_migrated_and_keeps_its_counters(tmp_path: Path) -> None:
    rig = ConsoleRig(tmp_path, Clock())
    rig.storage.close()
    path = sqlite_file(rig.config)
    path.unlink()
    with closing(sqlite3.connect(path)) as db:  # what the release before this one left
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO counters VALUES ('1', 1, NULL, NULL, 2)")
        db.execute("PRAGMA user_version = 1")
        db.commit()
    rig.restart()
    assert isinstance(rig.storage, SqliteStorage) and rig.storage.schema_version() == 7
    assert rig.state("1")["status"] == "paused" and "official" not in rig.state("1")


def test_the_floor_counts_the_day_as_the_report_does(rig: ConsoleRig) -> None:
    for _ in range(3):
        rig.ticket("dat-dai")
    rig.ticket("dat-dai", kiosk="k2")
    rig.command("2", "pause")
    rig.console("1", "sit")
    rig.clock.advance(minutes=10)
    rig.command("1", "next")
    rig.clock.advance(minutes=5)
    served = rig.command("1", "next")  # serves the first, calls the second
    rig.rate("1", rig.storage.events("served")[0].ticket_id or "", rig.clock.now)
    rig.command("1", "skip")
    assert served["ok"]
    floor = FloorState.from_wire(rig.service.floor().payload)
    today = floor.today
    assert (today.issued, today.served, today.missed, today.waiting) == (4, 1, 1, 2)
    assert today.mean_wait_s == (10 * 60 + 15 * 60) // 2
    assert today.ratings == {"very_satisfied": 0, "satisfied": 1, "dissatisfied": 0} and today.satisfied == 1.0
    assert today.within_target == 1.0
    one, two = floor.counters[0], floor.counters[1]
    assert (one.status, one.served, one.official and one.official.username, one.since) == ("idle", 1, "lan.nt",
                                                                                          rig.clock.now)
    assert (two.status, two.since) == ("paused", rig.clock.now - timedelta(minutes=15))
    area = next(a for a in floor.areas if a.id == "dat-dai")
    assert (area.waiting, area.served, area.missed, area.target_wait_s) == (2, 1, 1, 30 * 60)
    assert area.oldest_issued_at is not None


def test_a_citizen_closed_where_nobody_sits_is_nobodys_in_the_officials_sheet(tmp_path: Path) -> None:
    """Lan marks a citizen missed and leaves; the keypad of a counter nobody signed in to calls them back and
    serves them: the service is nobody's, not Lan's (the last close counts)."""
    rig = ConsoleRig(tmp_path, Clock())
    ticket = rig.ticket("dat-dai")
    rig.console("1", "next")
    rig.console("1", "skip")
    rig.console("1", "leave")
    rig.clock.advance(minutes=3)
    assert rig.command("2", "call", number=ticket["ticket"]["number"])["ok"] is True
    rig.clock.advance(minutes=7)
    rig.command("2", "finish")
    today = rig.clock.now.date()
    report = make_report(rig.config, today, today, as_of=rig.clock.now)
    rows = {row[0]: row for row in next(sheet for sheet in report.tables if sheet.slug == "can-bo").rows}
    assert "lan.nt" not in rows or rows["lan.nt"][2] == 0, rows
    assert rows[""][2] == 1, "served where nobody sat"


def test_made_up_counter_ids_share_the_consoles_one_bucket(tmp_path: Path) -> None:
    rig = ConsoleRig(tmp_path, Clock())
    burst = int(max(10, Limits().commands_per_minute / 4))
    codes = []
    for n in range(burst * 2):
        body = {"v": 1, "request_id": uuid.uuid4().hex, "counter": f"x{n}", "action": "sit", **LAN}
        out = rig.send(rig.topics.console_request("c1"), body, rig.topics.console_response("c1"))
        codes.append(reply_of(out, rig.topics.console_response("c1"))["error"]["code"])
    assert codes[:burst] == ["unknown_counter"] * burst
    assert set(codes[burst:]) == {"too_many_requests"}, "each made-up id must not get a fresh burst"
